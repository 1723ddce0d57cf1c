//! The model's side of fault injection ([`crate::faults::Fault`]).

use std::time::{Duration, Instant};

use plinth_proto::v1::{TaskState, task_status};
use serde_json::{Value, json};

use super::{AgentReport, AgentSpec, Cluster, ClusterError, Output, UpdateFaults};
use crate::faults::Fault;

fn secs(value: Option<f64>, what: &str) -> Result<Option<Duration>, ClusterError> {
    match value {
        None => Ok(None),
        Some(s) if s.is_finite() && (0.0..1.0e9).contains(&s) => {
            Ok(Some(Duration::from_secs_f64(s)))
        }
        Some(s) => Err(ClusterError::InvalidFault(format!(
            "{what} must be a non-negative number of seconds, not {s}"
        ))),
    }
}

impl Cluster {
    /// Applies a fault (all but [`Fault::Leader`], which the shell owns).
    /// `default_agent` is the shape of agents added without a spec.
    pub fn inject(
        &mut self,
        fault: &Fault,
        default_agent: &AgentSpec,
        now: Instant,
    ) -> Result<Value, ClusterError> {
        match fault {
            Fault::FinishTask {
                task_id,
                framework_id,
                message,
            } => self.task_fault(
                task_id,
                framework_id.as_deref(),
                TaskState::TaskFinished,
                None,
                message,
                now,
            ),
            Fault::FailTask {
                task_id,
                framework_id,
                message,
            } => self.task_fault(
                task_id,
                framework_id.as_deref(),
                TaskState::TaskFailed,
                Some(task_status::Reason::CommandExecutorFailed),
                message,
                now,
            ),
            Fault::KillTask {
                task_id,
                framework_id,
                message,
            } => self.task_fault(
                task_id,
                framework_id.as_deref(),
                TaskState::TaskKilled,
                None,
                message,
                now,
            ),
            Fault::LoseTask {
                task_id,
                framework_id,
                message,
            } => {
                let fid = self.task_owner(task_id, framework_id.as_deref())?;
                let pa = self
                    .frameworks
                    .get(&fid)
                    .is_some_and(|f| f.partition_aware());
                let state = if pa {
                    TaskState::TaskGone
                } else {
                    TaskState::TaskLost
                };
                self.task_fault(
                    task_id,
                    Some(&fid),
                    state,
                    Some(task_status::Reason::ExecutorTerminated),
                    message,
                    now,
                )
            }
            Fault::SetHealth {
                task_id,
                framework_id,
                healthy,
            } => {
                let fid = self.task_owner(task_id, framework_id.as_deref())?;
                let mut report =
                    AgentReport::new(TaskState::TaskRunning, task_status::Source::Executor);
                report.healthy = Some(*healthy);
                report.reason = Some(task_status::Reason::TaskHealthCheckStatusUpdated);
                self.agent_update(&fid, task_id, report, now);
                Ok(json!({"framework_id": fid, "task_id": task_id}))
            }
            Fault::LoseAgent {
                agent_id,
                gone_after_secs,
            } => {
                let after = secs(*gone_after_secs, "gone_after_secs")?;
                self.mark_agent_unreachable(agent_id, after, now)?;
                Ok(json!({"agent_id": agent_id}))
            }
            Fault::AgentGone { agent_id } | Fault::RemoveAgent { agent_id } => {
                if !self.agents.contains_key(agent_id) {
                    return Err(ClusterError::NotFound {
                        what: "agent",
                        id: agent_id.clone(),
                    });
                }
                self.mark_agent_gone(agent_id, now);
                Ok(json!({"agent_id": agent_id}))
            }
            Fault::AddAgent { spec } => {
                let id = self.add_agent(spec.as_ref().unwrap_or(default_agent), now);
                Ok(json!({"agent_id": id}))
            }
            Fault::RescindOffers {
                offer_id,
                framework_id,
            } => {
                if let Some(id) = offer_id
                    && !self.offers.contains_key(id)
                {
                    return Err(ClusterError::NotFound {
                        what: "offer",
                        id: id.clone(),
                    });
                }
                let n = self.rescind_offers_where(|o| {
                    framework_id.as_ref().is_none_or(|f| &o.framework_id == f)
                });
                Ok(json!({"rescinded": n}))
            }
            Fault::DropConnection { framework_id } => {
                let streams: Vec<String> = self
                    .frameworks
                    .values()
                    .filter(|f| framework_id.as_ref().is_none_or(|id| &f.id == id))
                    .filter_map(|f| f.stream.clone())
                    .collect();
                if let (Some(id), true) = (framework_id, streams.is_empty()) {
                    return Err(ClusterError::InvalidFault(format!(
                        "framework {id} is not connected"
                    )));
                }
                for stream_id in &streams {
                    self.stream_closed(stream_id, now);
                    self.outputs.push(Output::Close {
                        stream_id: stream_id.clone(),
                    });
                }
                Ok(json!({"dropped": streams.len()}))
            }
            Fault::Leader { .. } => Err(ClusterError::InvalidFault(
                "leadership is the shell's business".into(),
            )),
            Fault::MasterFailover => {
                self.master_failover();
                Ok(json!({"failed_over": true}))
            }
            Fault::UpdateFaults {
                framework_id,
                delay_secs,
                duplicate,
                reorder_window_secs,
            } => {
                let faults = UpdateFaults {
                    delay: secs(*delay_secs, "delay_secs")?,
                    duplicate: *duplicate,
                    reorder_window: secs(*reorder_window_secs, "reorder_window_secs")?,
                };
                let mut n = 0;
                for fw in self.frameworks.values_mut() {
                    if framework_id.as_ref().is_none_or(|id| &fw.id == id) {
                        fw.faults = faults.clone();
                        n += 1;
                    }
                }
                if n == 0 {
                    return Err(ClusterError::NotFound {
                        what: "framework",
                        id: framework_id.clone().unwrap_or_default(),
                    });
                }
                Ok(json!({"frameworks": n}))
            }
        }
    }

    fn task_owner(
        &self,
        task_id: &str,
        framework_id: Option<&str>,
    ) -> Result<String, ClusterError> {
        let owner = match framework_id {
            Some(f) => self
                .frameworks
                .get(f)
                .filter(|fw| fw.tasks.contains_key(task_id))
                .map(|fw| fw.id.clone()),
            None => self.find_task(task_id),
        };
        owner.ok_or_else(|| ClusterError::NotFound {
            what: "task",
            id: task_id.to_owned(),
        })
    }

    fn task_fault(
        &mut self,
        task_id: &str,
        framework_id: Option<&str>,
        state: TaskState,
        reason: Option<task_status::Reason>,
        message: &Option<String>,
        now: Instant,
    ) -> Result<Value, ClusterError> {
        let fid = self.task_owner(task_id, framework_id)?;
        let live = self
            .frameworks
            .get(&fid)
            .and_then(|f| f.tasks.get(task_id))
            .is_some_and(|t| !super::is_terminal(t.state));
        if !live {
            return Err(ClusterError::InvalidFault(format!(
                "task {task_id} is already terminal"
            )));
        }
        let mut report = AgentReport::new(state, task_status::Source::Executor);
        report.reason = reason;
        report.message.clone_from(message);
        self.agent_update(&fid, task_id, report, now);
        Ok(json!({"framework_id": fid, "task_id": task_id, "state": state.as_str_name()}))
    }
}
