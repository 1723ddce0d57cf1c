//! Crash-loop backoff: how long a task that keeps failing waits before it is
//! relaunched — exponential, capped, and reset once the task has run
//! healthily for a while. Pure: time comes in as [`Instant`]s.
//!
//! ```text
//! failure n (consecutive)   1     2     3     4     5 …
//! delay (defaults)          0     5s    10s   20s   40s … ≤ 5 min
//! ```
//!
//! The scheduler core feeds it every task status and applies the answer to
//! the plans ([`crate::plan::Plan::delay_task`] puts the task's steps in
//! `DELAYED` until the instant; `tick` makes them `PENDING` again):
//!
//! ```
//! use std::time::{Duration, Instant};
//! use plinth::recovery::backoff::{Backoff, BackoffPolicy};
//!
//! let mut backoff = Backoff::new(BackoffPolicy::default());
//! let t0 = Instant::now();
//! backoff.on_running("hello-0-server", t0);
//! assert_eq!(backoff.on_failure("hello-0-server", t0 + Duration::from_secs(1)), None); // first: at once
//! backoff.on_running("hello-0-server", t0 + Duration::from_secs(2));
//! let until = backoff.on_failure("hello-0-server", t0 + Duration::from_secs(3)).unwrap();
//! assert_eq!(until, t0 + Duration::from_secs(3 + 5));
//! ```
//!
//! # Guarantees
//! * Delays never decrease while a task keeps failing, never exceed
//!   [`BackoffPolicy::max`], and never overflow (arithmetic saturates).
//! * A task that ran for [`BackoffPolicy::healthy_after`] before failing
//!   starts over (its next failure is free again).
//!
//! # Caveats
//! Like dcos-commons' `ExponentialBackoff`, the state is in memory: a
//! restarted scheduler forgets it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The shape of the backoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// Consecutive failures relaunched at once before backing off.
    pub free_failures: u32,
    /// Delay after the first failure that is not free.
    pub initial: Duration,
    /// Multiplier per further failure (≥ 1; smaller values count as 1).
    pub factor: f64,
    /// Largest delay.
    pub max: Duration,
    /// A task that ran this long before failing is healthy: its count resets.
    pub healthy_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            free_failures: 1,
            initial: Duration::from_secs(5),
            factor: 2.0,
            max: Duration::from_secs(300),
            healthy_after: Duration::from_secs(60),
        }
    }
}

impl BackoffPolicy {
    /// dcos-commons' hello-world settings: 60 s, ×1.15, at most 300 s, from
    /// the first failure.
    #[must_use]
    pub fn dcos_commons() -> Self {
        BackoffPolicy {
            free_failures: 0,
            initial: Duration::from_secs(60),
            factor: 1.15,
            max: Duration::from_secs(300),
            healthy_after: Duration::from_secs(60),
        }
    }

    /// The delay after `failures` consecutive failures (1-based).
    #[must_use]
    pub fn delay(&self, failures: u32) -> Duration {
        if failures <= self.free_failures {
            return Duration::ZERO;
        }
        let exponent = failures - self.free_failures - 1;
        let factor = if self.factor.is_finite() && self.factor > 1.0 {
            self.factor
        } else {
            1.0
        };
        let scaled =
            self.initial.as_secs_f64() * factor.powi(i32::try_from(exponent).unwrap_or(i32::MAX));
        let capped = scaled.min(self.max.as_secs_f64());
        if capped.is_finite() && capped >= 0.0 {
            Duration::try_from_secs_f64(capped)
                .unwrap_or(self.max)
                .min(self.max)
        } else {
            self.max
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TaskBackoff {
    failures: u32,
    running_since: Option<Instant>,
    delayed_until: Option<Instant>,
}

/// Per-task crash-loop state.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    tasks: BTreeMap<String, TaskBackoff>,
}

impl Backoff {
    /// Empty state with `policy`.
    #[must_use]
    pub fn new(policy: BackoffPolicy) -> Self {
        Backoff {
            policy,
            tasks: BTreeMap::new(),
        }
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &BackoffPolicy {
        &self.policy
    }

    /// Task instance `task` (`hello-0-server`) is RUNNING at `now` (a
    /// repeated RUNNING keeps the first instant).
    pub fn on_running(&mut self, task: &str, now: Instant) {
        let entry = self.tasks.entry(task.to_owned()).or_default();
        if entry.running_since.is_none() {
            entry.running_since = Some(now);
        }
        entry.delayed_until = None;
    }

    /// Task `task` failed (FAILED, ERROR, KILLED outside the scheduler, LOST…)
    /// at `now`. Returns the instant before which it must not be relaunched,
    /// or `None` to relaunch at once. A task that had run for
    /// [`BackoffPolicy::healthy_after`] starts a fresh count.
    pub fn on_failure(&mut self, task: &str, now: Instant) -> Option<Instant> {
        let healthy_after = self.policy.healthy_after;
        let entry = self.tasks.entry(task.to_owned()).or_default();
        if entry
            .running_since
            .is_some_and(|since| now.saturating_duration_since(since) >= healthy_after)
        {
            entry.failures = 0;
        }
        entry.running_since = None;
        entry.failures = entry.failures.saturating_add(1);
        let delay = self.policy.delay(entry.failures);
        if delay.is_zero() {
            entry.delayed_until = None;
            return None;
        }
        let until = now.checked_add(delay).unwrap_or(now);
        entry.delayed_until = Some(until);
        Some(until)
    }

    /// Forgets `task` (operator restart or replace, decommission, a task that
    /// finished its goal): its next failure is free again.
    pub fn reset(&mut self, task: &str) {
        self.tasks.remove(task);
    }

    /// Consecutive failures of `task` so far.
    #[must_use]
    pub fn failures(&self, task: &str) -> u32 {
        self.tasks.get(task).map_or(0, |t| t.failures)
    }

    /// When `task` may be relaunched, if it is backing off at `now`.
    #[must_use]
    pub fn delayed_until(&self, task: &str, now: Instant) -> Option<Instant> {
        self.tasks
            .get(task)
            .and_then(|t| t.delayed_until)
            .filter(|until| *until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn delays_grow_exponentially_and_are_capped() {
        let p = BackoffPolicy::default();
        let delays: Vec<u64> = (1..=10).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(delays, [0, 5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(p.delay(u32::MAX), p.max, "no overflow");
    }

    #[test]
    fn the_dcos_commons_shape() {
        let p = BackoffPolicy::dcos_commons();
        assert_eq!(p.delay(1), secs(60));
        assert!(
            (p.delay(2).as_secs_f64() - 69.0).abs() < 1e-6,
            "{:?}",
            p.delay(2)
        );
        assert_eq!(p.delay(20), secs(300));
    }

    #[test]
    fn silly_policies_stay_sane() {
        let p = BackoffPolicy {
            factor: f64::NAN,
            ..BackoffPolicy::default()
        };
        assert_eq!(p.delay(5), secs(5), "a bad factor counts as 1");
        let p = BackoffPolicy {
            factor: 0.5,
            ..BackoffPolicy::default()
        };
        assert_eq!(p.delay(5), secs(5));
        let p = BackoffPolicy {
            initial: secs(1000),
            ..BackoffPolicy::default()
        };
        assert_eq!(p.delay(2), p.max);
        let p = BackoffPolicy {
            factor: f64::INFINITY,
            ..BackoffPolicy::default()
        };
        assert_eq!(p.delay(3), secs(5), "infinity is not a factor either");
    }

    #[test]
    fn a_crash_loop_backs_off_with_growing_delays() {
        let mut b = Backoff::new(BackoffPolicy::default());
        let t0 = Instant::now();
        let mut now = t0;
        let mut delays = Vec::new();
        for _ in 0..6 {
            b.on_running("t", now);
            now += secs(1); // crashes a second after starting
            let until = b.on_failure("t", now);
            let delay = until.map_or(Duration::ZERO, |u| u - now);
            delays.push(delay.as_secs());
            now = until.unwrap_or(now);
        }
        assert_eq!(delays, [0, 5, 10, 20, 40, 80]);
        assert_eq!(b.failures("t"), 6);
        assert_eq!(b.delayed_until("t", now - secs(1)), Some(now));
        assert_eq!(
            b.delayed_until("t", now),
            None,
            "over once the instant is reached"
        );
    }

    #[test]
    fn a_healthy_run_resets_the_count() {
        let mut b = Backoff::new(BackoffPolicy::default());
        let t0 = Instant::now();
        b.on_running("t", t0);
        b.on_failure("t", t0 + secs(1));
        b.on_running("t", t0 + secs(2));
        assert!(
            b.on_failure("t", t0 + secs(3)).is_some(),
            "second quick failure backs off"
        );
        b.on_running("t", t0 + secs(10));
        // Ran 59 s: not yet healthy.
        assert_eq!(b.on_failure("t", t0 + secs(69)), Some(t0 + secs(69 + 10)));
        b.on_running("t", t0 + secs(100));
        // Ran 60 s: healthy, the failure is free again.
        assert_eq!(b.on_failure("t", t0 + secs(160)), None);
        assert_eq!(b.failures("t"), 1);
    }

    #[test]
    fn repeated_running_keeps_the_first_instant_and_tasks_are_independent() {
        let mut b = Backoff::new(BackoffPolicy::default());
        let t0 = Instant::now();
        b.on_running("a", t0);
        b.on_running("a", t0 + secs(59)); // a second RUNNING (e.g. a health update)
        assert_eq!(
            b.on_failure("a", t0 + secs(60)),
            None,
            "ran 60 s since the first RUNNING"
        );
        b.on_failure("b", t0);
        assert!(b.on_failure("b", t0 + secs(1)).is_some());
        assert_eq!(b.failures("a"), 1);
        b.reset("b");
        assert_eq!(b.failures("b"), 0);
        assert_eq!(b.on_failure("b", t0 + secs(2)), None);
    }
}
