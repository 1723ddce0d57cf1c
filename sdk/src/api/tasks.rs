//! The stored tasks of a [`ServiceSnapshot`](super::ServiceSnapshot),
//! shared between snapshots.
//!
//! A decoded TaskInfo is tens of kilobytes, and the loop publishes a
//! snapshot after every batch of events: copying every task each time made
//! publishing cost as much as the work it reports. [`Tasks`] holds each task
//! behind an [`Arc`], so a new snapshot shares every task that did not
//! change with the one before it, and snapshots kept by readers (or queued
//! for `WatchPlan` streams) cost a pointer per task.

use std::ops::{Index, IndexMut};
use std::sync::Arc;

use super::TaskView;

/// Every stored task, by name (as the scheduler publishes them).
///
/// Reads like a slice of [`TaskView`]s (`iter`, `len`, indexing, `for task
/// in &tasks`); writes (`tasks[i].info = ...`, `for task in &mut tasks`)
/// copy the task first if another snapshot shares it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tasks(Vec<Arc<TaskView>>);

// === impl Tasks ===

impl Tasks {
    /// Tasks from shared views (in the order given).
    #[must_use]
    pub(crate) fn from_shared(tasks: Vec<Arc<TaskView>>) -> Self {
        Self(tasks)
    }

    /// The shared views, to build the next snapshot from.
    pub(crate) fn shared(&self) -> &[Arc<TaskView>] {
        &self.0
    }

    /// The tasks in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TaskView> + ExactSizeIterator {
        self.0.iter().map(|task| &**task)
    }

    /// The tasks in order, each copied first if another snapshot shares it.
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut TaskView> + ExactSizeIterator {
        self.0.iter_mut().map(Arc::make_mut)
    }

    /// How many tasks there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The task at `index`.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&TaskView> {
        self.0.get(index).map(|task| &**task)
    }
}

impl Index<usize> for Tasks {
    type Output = TaskView;

    fn index(&self, index: usize) -> &TaskView {
        &self.0[index]
    }
}

impl IndexMut<usize> for Tasks {
    fn index_mut(&mut self, index: usize) -> &mut TaskView {
        Arc::make_mut(&mut self.0[index])
    }
}

impl FromIterator<TaskView> for Tasks {
    fn from_iter<I: IntoIterator<Item = TaskView>>(iter: I) -> Self {
        Self(iter.into_iter().map(Arc::new).collect())
    }
}

impl From<Vec<TaskView>> for Tasks {
    fn from(tasks: Vec<TaskView>) -> Self {
        tasks.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Tasks {
    type Item = &'a TaskView;
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, Arc<TaskView>>, fn(&Arc<TaskView>) -> &TaskView>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|task| &**task)
    }
}

impl<'a> IntoIterator for &'a mut Tasks {
    type Item = &'a mut TaskView;
    type IntoIter = std::iter::Map<
        std::slice::IterMut<'a, Arc<TaskView>>,
        fn(&mut Arc<TaskView>) -> &mut TaskView,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut().map(Arc::make_mut)
    }
}

#[cfg(test)]
mod tests {
    use plinth_proto::v1::TaskInfo;

    use super::*;

    fn view(name: &str) -> TaskView {
        TaskView {
            info: TaskInfo {
                name: name.into(),
                ..Default::default()
            }
            .into(),
            status: None,
        }
    }

    #[test]
    fn a_write_copies_only_the_task_written() {
        let first: Tasks = vec![view("a"), view("b")].into();
        let mut second = first.clone();
        std::sync::Arc::make_mut(&mut second[1].info).name = "c".into();
        assert!(Arc::ptr_eq(&first.shared()[0], &second.shared()[0]));
        assert_eq!(first[1].info.name, "b");
        assert_eq!(second[1].info.name, "c");
        let names: Vec<&str> = second.iter().map(|t| t.info.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
    }
}
