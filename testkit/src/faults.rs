//! Fault injection: one [`Fault`] type used by the Rust API
//! ([`TestMaster::inject`](crate::TestMaster::inject)) and by the HTTP
//! control endpoint `POST /testkit/faults` (the JSON form is the serde form
//! below, tagged by `"fault"`).
//!
//! ```json
//! {"fault": "fail_task", "task_id": "web-0", "message": "exit 1"}
//! {"fault": "lose_agent", "agent_id": "<id>", "gone_after_secs": 5}
//! {"fault": "leader", "leader": {"mode": "redirect", "url": "http://127.0.0.1:5051"}}
//! {"fault": "update_faults", "delay_secs": 1.5, "duplicate": true}
//! ```
//!
//! Task faults act like the agent: the update carries a uuid and must be
//! acknowledged. Agent loss acts like the master: TASK_UNREACHABLE (or
//! TASK_LOST) without uuid, then TASK_GONE_BY_OPERATOR when the agent is gone.

use serde::{Deserialize, Serialize};

use crate::cluster::AgentSpec;

/// Who leads, as schedulers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Leader {
    /// This master leads and serves the scheduler API.
    #[default]
    Leading,
    /// Another master leads: answer 307 with a `Location` pointing there.
    Redirect {
        /// The leader's base URL (`http://host:port`).
        url: String,
    },
    /// No leader is elected: answer 503.
    None,
}

/// A fault to inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The task exits 0: TASK_FINISHED.
    FinishTask {
        /// Task.
        task_id: String,
        /// Framework, when task ids are ambiguous.
        framework_id: Option<String>,
        /// Status message.
        message: Option<String>,
    },
    /// The task fails: TASK_FAILED.
    FailTask {
        /// Task.
        task_id: String,
        /// Framework, when task ids are ambiguous.
        framework_id: Option<String>,
        /// Status message.
        message: Option<String>,
    },
    /// The agent kills the task: TASK_KILLED.
    KillTask {
        /// Task.
        task_id: String,
        /// Framework, when task ids are ambiguous.
        framework_id: Option<String>,
        /// Status message.
        message: Option<String>,
    },
    /// The executor disappears: TASK_LOST (TASK_GONE if PARTITION_AWARE).
    LoseTask {
        /// Task.
        task_id: String,
        /// Framework, when task ids are ambiguous.
        framework_id: Option<String>,
        /// Status message.
        message: Option<String>,
    },
    /// A health check result: TASK_RUNNING with `healthy`.
    SetHealth {
        /// Task.
        task_id: String,
        /// Framework, when task ids are ambiguous.
        framework_id: Option<String>,
        /// The result.
        healthy: bool,
    },
    /// The agent becomes unreachable, and gone after `gone_after_secs` if set.
    LoseAgent {
        /// Agent.
        agent_id: String,
        /// Seconds until it is marked gone.
        gone_after_secs: Option<f64>,
    },
    /// An unreachable (or active) agent is marked gone.
    AgentGone {
        /// Agent.
        agent_id: String,
    },
    /// A new agent registers.
    AddAgent {
        /// Its shape (the master's default agent if unset).
        spec: Option<AgentSpec>,
    },
    /// The operator removes an agent (same as gone).
    RemoveAgent {
        /// Agent.
        agent_id: String,
    },
    /// Rescind one offer, or all (optionally of one framework).
    RescindOffers {
        /// One offer.
        offer_id: Option<String>,
        /// Only this framework's.
        framework_id: Option<String>,
    },
    /// Break the subscription stream of one framework (or all).
    DropConnection {
        /// Framework.
        framework_id: Option<String>,
    },
    /// Change who leads (307 / 503 to scheduler calls).
    Leader {
        /// The new situation.
        leader: Leader,
    },
    /// This master fails over to itself: every stream breaks, offers and
    /// failover timeouts are forgotten, tasks survive.
    MasterFailover,
    /// Delay, duplicate or reorder the UPDATE events of one framework (or all).
    UpdateFaults {
        /// Framework.
        framework_id: Option<String>,
        /// Deliver each update this many seconds late.
        delay_secs: Option<f64>,
        /// Deliver each update twice.
        #[serde(default)]
        duplicate: bool,
        /// Hold updates this many seconds, then deliver them in reverse order.
        reorder_window_secs: Option<f64>,
    },
}

/// Why a fault could not be injected.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The model refused it (unknown task, agent, ...).
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The JSON body of the control endpoint is not a fault.
    #[error("invalid fault JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A number in the fault is out of range.
    #[error("invalid fault: {0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms_parse() {
        let f: Fault = serde_json::from_str(r#"{"fault":"fail_task","task_id":"t1"}"#).unwrap();
        assert!(matches!(f, Fault::FailTask { ref task_id, .. } if task_id == "t1"));
        let f: Fault = serde_json::from_str(
            r#"{"fault":"leader","leader":{"mode":"redirect","url":"http://x:1"}}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            Fault::Leader {
                leader: Leader::Redirect {
                    url: "http://x:1".into()
                }
            }
        );
        let f: Fault = serde_json::from_str(r#"{"fault":"master_failover"}"#).unwrap();
        assert_eq!(f, Fault::MasterFailover);
        assert!(serde_json::from_str::<Fault>(r#"{"fault":"explode"}"#).is_err());
    }
}
