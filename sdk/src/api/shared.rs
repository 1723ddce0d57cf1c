//! [`Shared`]: a part of a [`ServiceSnapshot`](super::ServiceSnapshot) that
//! consecutive snapshots share while it does not change.
//!
//! The loop publishes a snapshot after every batch of events; plans of
//! thousands of steps and the last offer cycle's outcomes rarely change
//! between two of them, and copying them every time made publishing cost
//! more than the work it reports.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A value shared between snapshots: cloning it copies a pointer; writing
/// to it (tests building snapshots do) copies the value first if another
/// snapshot holds it.
#[derive(Debug, Default, PartialEq)]
pub struct Shared<T>(Arc<T>);

// === impl Shared ===

impl<T> Shared<T> {
    /// Whether both are the same value (not merely equal ones).
    #[must_use]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Self(Arc::new(value))
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<'a, T> IntoIterator for &'a Shared<Vec<T>> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, T: Clone> IntoIterator for &'a mut Shared<Vec<T>> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        Arc::make_mut(&mut self.0).iter_mut()
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_copies_only_when_shared() {
        let first = Shared::from(vec![1, 2]);
        let mut second = first.clone();
        assert!(Shared::ptr_eq(&first, &second));
        for n in &mut second {
            *n += 1;
        }
        assert_eq!(*first, [1, 2]);
        assert_eq!(*second, [2, 3]);
        assert!(!Shared::ptr_eq(&first, &second));
    }
}
