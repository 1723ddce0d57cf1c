//! Element statuses and the rule that folds children's statuses into a parent's.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Status of a plan, phase or step, spelled as dcos-commons spells it on the wire.
///
/// Steps are only ever *set* to `PENDING`, `PREPARED`, `STARTING`, `STARTED`,
/// `COMPLETE`, `DELAYED` or `ERROR`. `WAITING` is displayed for an interrupted
/// step that has not started yet, and `IN_PROGRESS` is only ever computed for a
/// phase or plan (see [`aggregate_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The element cannot proceed: it carries errors (e.g. an invalid config update).
    Error,
    /// Interrupted: waiting for an operator's `continue`.
    Waiting,
    /// Waiting for offers.
    Pending,
    /// Offer evaluation has started for the step.
    Prepared,
    /// Launch accepted; waiting for the tasks to run.
    Starting,
    /// Tasks are running but not yet at their goal (readiness check pending).
    Started,
    /// Every task reached its goal (or an operator forced completion).
    Complete,
    /// Computed for parents only: some children done, some still to do.
    InProgress,
    /// Crash-loop backoff: the step may not launch again before an instant.
    Delayed,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 9] = [
        Status::Error,
        Status::Waiting,
        Status::Pending,
        Status::Prepared,
        Status::Starting,
        Status::Started,
        Status::Complete,
        Status::InProgress,
        Status::Delayed,
    ];

    /// The wire spelling (`IN_PROGRESS`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Error => "ERROR",
            Status::Waiting => "WAITING",
            Status::Pending => "PENDING",
            Status::Prepared => "PREPARED",
            Status::Starting => "STARTING",
            Status::Started => "STARTED",
            Status::Complete => "COMPLETE",
            Status::InProgress => "IN_PROGRESS",
            Status::Delayed => "DELAYED",
        }
    }

    /// dcos-commons' `isRunning`: the element still has work under way or to do
    /// and is not held back (`PENDING`, `PREPARED`, `STARTING`, `STARTED`,
    /// `IN_PROGRESS`). Used by the `continue` operation to report "already running".
    pub fn is_running(self) -> bool {
        matches!(
            self,
            Status::Pending
                | Status::Prepared
                | Status::Starting
                | Status::Started
                | Status::InProgress
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of a parent (phase or plan) from its children, as dcos-commons'
/// `PlanUtils.getAggregateStatus` computes it. The first matching rule wins:
///
/// | # | condition | result |
/// |---|---|---|
/// | 1 | the parent or any descendant has errors, or any child is `ERROR` | `ERROR` |
/// | 2 | every child is `COMPLETE` (also: no children) | `COMPLETE` |
/// | 3 | every candidate and every child is `DELAYED` | `DELAYED` |
/// | 4 | the parent is interrupted | `WAITING` |
/// | 5 | any child is `PREPARED` | `IN_PROGRESS` |
/// | 6 | any candidate is `WAITING` | `WAITING` |
/// | 7 | any candidate is `IN_PROGRESS` | `IN_PROGRESS` |
/// | 8 | any child `COMPLETE` and any candidate `PENDING`, `STARTING` or `STARTED` | `IN_PROGRESS` |
/// | 9 | any candidate is `PENDING` | `PENDING` |
/// | 10 | any child is `WAITING` | `WAITING` |
/// | 11 | any candidate is `STARTING` | `STARTING` |
/// | 12 | any candidate is `STARTED` | `STARTED` |
/// | 13 | *(Plinth)* any candidate is `DELAYED` | `DELAYED` |
/// | 14 | *(Plinth)* any child is `STARTING`, `STARTED` or `IN_PROGRESS` | `IN_PROGRESS` |
/// | 15 | *(Plinth)* any child is `DELAYED` | `DELAYED` |
/// | 16 | otherwise | `ERROR` |
///
/// *Candidates* are the children the parent's strategy would hand out now,
/// ignoring which pods other plans are working on. Rules 13 to 15 are Plinth's:
/// dcos-commons falls through to `ERROR` ("unexpected state") there, e.g. for a
/// serial phase whose current step is `DELAYED` while later steps are `PENDING`,
/// or a serial plan whose current phase is interrupted while its step is
/// `DELAYED`. Without errors, rule 16 is unreachable for plans built by this
/// module (checked by a property test).
#[allow(clippy::if_same_then_else)] // one branch per rule of the table above, in order
pub fn aggregate_status(
    children: &[Status],
    candidates: &[Status],
    has_errors: bool,
    interrupted: bool,
) -> Status {
    let any = |set: &[Status], s: Status| set.contains(&s);
    let all = |set: &[Status], s: Status| set.iter().all(|c| *c == s);

    if has_errors || any(children, Status::Error) {
        Status::Error
    } else if all(children, Status::Complete) {
        Status::Complete
    } else if all(candidates, Status::Delayed) && all(children, Status::Delayed) {
        Status::Delayed
    } else if interrupted {
        Status::Waiting
    } else if any(children, Status::Prepared) {
        Status::InProgress
    } else if any(candidates, Status::Waiting) {
        Status::Waiting
    } else if any(candidates, Status::InProgress) {
        Status::InProgress
    } else if any(children, Status::Complete)
        && (any(candidates, Status::Pending)
            || any(candidates, Status::Starting)
            || any(candidates, Status::Started))
    {
        Status::InProgress
    } else if any(candidates, Status::Pending) {
        Status::Pending
    } else if any(children, Status::Waiting) {
        Status::Waiting
    } else if any(candidates, Status::Starting) {
        Status::Starting
    } else if any(candidates, Status::Started) {
        Status::Started
    } else if any(candidates, Status::Delayed) {
        Status::Delayed
    } else if children
        .iter()
        .any(|c| matches!(c, Status::Starting | Status::Started | Status::InProgress))
    {
        Status::InProgress
    } else if any(children, Status::Delayed) {
        Status::Delayed
    } else {
        Status::Error
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    fn agg(children: &[Status], candidates: &[Status], errors: bool, interrupted: bool) -> Status {
        aggregate_status(children, candidates, errors, interrupted)
    }

    #[test]
    fn serializes_screaming_snake() {
        assert_eq!(
            serde_json::to_string(&InProgress).unwrap(),
            "\"IN_PROGRESS\""
        );
        for s in Status::ALL {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
            let back: Status = serde_json::from_str(&format!("\"{}\"", s.as_str())).unwrap();
            assert_eq!(back, s);
        }
    }

    // The table from dcos-commons' PlanUtilsTest, plus the rows Plinth adds.
    #[test]
    fn aggregation_table() {
        // (children, candidates, has errors, interrupted, expected)
        type Row = (&'static [Status], &'static [Status], bool, bool, Status);
        let rows: &[Row] = &[
            // errors
            (&[], &[], true, false, Error),
            (&[Error], &[], false, false, Error),
            (&[Complete, Error], &[], false, true, Error),
            // complete
            (&[], &[], false, false, Complete),
            (&[Complete, Complete], &[], false, false, Complete),
            (&[Complete], &[], false, true, Complete),
            // waiting
            (&[Complete, Pending], &[], false, true, Waiting),
            (&[Complete, Waiting], &[], false, false, Waiting),
            (&[Complete, Waiting], &[Waiting], false, false, Waiting),
            // in progress
            (&[Prepared, Waiting], &[], false, false, InProgress),
            (
                &[Complete, InProgress],
                &[InProgress],
                false,
                false,
                InProgress,
            ),
            (&[Complete, Pending], &[Pending], false, false, InProgress),
            (&[Complete, Starting], &[Starting], false, false, InProgress),
            (&[Complete, Started], &[Started], false, false, InProgress),
            // pending, starting, started
            (&[Pending, Pending], &[Pending], false, false, Pending),
            (&[Starting, Pending], &[Starting], false, false, Starting),
            (&[Started, Pending], &[Started], false, false, Started),
            // delayed
            (&[Delayed], &[Delayed], false, false, Delayed),
            (&[Delayed, Delayed], &[], false, false, Delayed),
            (&[Delayed], &[Delayed], false, true, Delayed),
            // Plinth's rows where dcos-commons says ERROR
            (&[Delayed, Pending], &[Delayed], false, false, Delayed),
            (
                &[Complete, Delayed, Pending],
                &[Delayed],
                false,
                false,
                Delayed,
            ),
            (&[Starting, Pending], &[], false, false, InProgress),
            (&[Delayed, Pending], &[], false, false, Delayed),
            (&[Pending], &[], false, false, Error),
        ];
        for (i, (children, candidates, errors, interrupted, want)) in rows.iter().enumerate() {
            assert_eq!(
                agg(children, candidates, *errors, *interrupted),
                *want,
                "row {i}: children={children:?} candidates={candidates:?}"
            );
        }
    }

    #[test]
    fn running_statuses() {
        let running: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_running()).collect();
        assert_eq!(running, [Pending, Prepared, Starting, Started, InProgress]);
    }
}
