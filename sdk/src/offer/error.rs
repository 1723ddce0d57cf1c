//! Why a requirement could not be evaluated at all (as opposed to an offer
//! that does not fit, which is an [`super::OfferOutcome`]).

use crate::placement::PlacementError;
use crate::spec::env::TaskEnvError;

/// A requirement the evaluator cannot work with, whatever the offers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// The requirement names a pod type the spec does not have.
    #[error("pod type '{0}' is not in the service spec")]
    UnknownPod(String),
    /// A task to launch is not a task of the pod.
    #[error("pod '{pod}' has no task '{task}': tasks to launch must be task names of the pod")]
    UnknownTask {
        /// Pod type.
        pod: String,
        /// The task name as requested.
        task: String,
    },
    /// A task names a `resource-set` the pod does not declare.
    #[error(
        "task '{task}' of pod '{pod}' uses resource set '{set}', which the pod does not declare under resource-sets"
    )]
    UnknownResourceSet {
        /// Pod type.
        pod: String,
        /// Task name.
        task: String,
        /// Resource set id.
        set: String,
    },
    /// Two tasks sharing a resource set were asked to launch together.
    #[error(
        "tasks '{first}' and '{second}' of pod '{pod}' share resource set '{set}' and cannot run at the same time: launch them in separate steps"
    )]
    SharedResourceSet {
        /// Pod type.
        pod: String,
        /// Resource set id.
        set: String,
        /// One task.
        first: String,
        /// The other.
        second: String,
    },
    /// The pod's `placement:` does not parse.
    #[error("placement of pod '{pod}' is invalid: {source}")]
    InvalidPlacement {
        /// Pod type.
        pod: String,
        /// Why.
        #[source]
        source: PlacementError,
    },
    /// The task environment could not be built.
    #[error("environment of task '{task}': {source}")]
    TaskEnvironment {
        /// Task name.
        task: String,
        /// Why.
        #[source]
        source: TaskEnvError,
    },
}
