//! Rolling updates: which running tasks a deploy step must kill before it
//! relaunches its pod instance on the new target configuration.

use plinth_proto::v1::{TaskInfo, TaskStatus};

use crate::offer::labels;
use crate::scheduler::observe;

/// The tasks among `task_names` (task instance names, `world-0-server`)
/// that are live — launched, with no terminal status — and were launched
/// with a configuration other than `target`. A rolling step kills them and
/// relaunches the pod instance in place once they are gone (their
/// reservations are only offered back then).
#[must_use]
pub fn stale_tasks<'a>(
    tasks: impl IntoIterator<Item = (&'a TaskInfo, Option<&'a TaskStatus>)>,
    task_names: &[String],
    target: &str,
) -> Vec<&'a TaskInfo> {
    tasks
        .into_iter()
        .filter(|(info, _)| task_names.contains(&info.name))
        .filter(|(info, _)| !info.task_id.value.is_empty())
        .filter(|(_, status)| status.is_none_or(|s| !observe::is_terminal(s.state)))
        .filter(|(info, _)| labels::task_label(info, labels::TARGET_CONFIGURATION) != Some(target))
        .map(|(info, _)| info)
        .collect()
}

#[cfg(test)]
mod tests {
    use plinth_proto::v1::{Label, Labels, TaskId, TaskState};

    use super::*;

    fn info(name: &str, id: &str, config: &str) -> TaskInfo {
        TaskInfo {
            name: name.into(),
            task_id: TaskId { value: id.into() },
            labels: Some(Labels {
                labels: vec![Label {
                    key: "target_configuration".into(),
                    value: Some(config.into()),
                }],
            }),
            ..Default::default()
        }
    }

    fn status(state: TaskState) -> TaskStatus {
        TaskStatus {
            state: state as i32,
            ..Default::default()
        }
    }

    #[test]
    fn only_live_tasks_of_the_step_on_another_config_are_stale() {
        let on_old = info("world-0-server", "w0", "old");
        let on_new = info("world-1-server", "w1", "new");
        let dead = info("world-2-server", "w2", "old");
        let other_step = info("hello-0-server", "h0", "old");
        let not_launched = info("world-3-server", "", "old");
        let staging = info("world-4-server", "w4", "old");
        let running = status(TaskState::TaskRunning);
        let killed = status(TaskState::TaskKilled);
        let tasks = [
            (&on_old, Some(&running)),
            (&on_new, Some(&running)),
            (&dead, Some(&killed)),
            (&other_step, Some(&running)),
            (&not_launched, None),
            (&staging, None),
        ];
        let names: Vec<String> = (0..5).map(|i| format!("world-{i}-server")).collect();
        let stale: Vec<&str> = stale_tasks(tasks, &names, "new")
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(stale, ["world-0-server", "world-4-server"]);
    }
}
