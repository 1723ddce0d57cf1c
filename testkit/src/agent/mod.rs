//! Agents of the testkit master: how launched tasks run.
//!
//! - *Simulated* agents live entirely in the model ([`crate::cluster`]):
//!   tasks go STAGING → STARTING → RUNNING after `task_start_delay`, and a
//!   test decides when they finish, fail or get lost ([`crate::Fault`]).
//! - *Process* agents run each task's command as a local process through
//!   [`process::ProcessRuntime`] (owned by another module). [`ProcessAgents`]
//!   is the bridge: it turns the model's launch/kill/destroy orders into
//!   runtime calls, and runtime updates into agent reports for the model.

pub mod process;

use std::path::PathBuf;

use plinth_proto::v1::task_status;
use tokio::sync::mpsc;

pub use crate::cluster::{AgentMode, AgentSpec};
use crate::cluster::{AgentReport, LaunchOrder};
use process::{LaunchSpec, ProcessRuntime, ProcessUpdate, VolumeMount};

/// Capacity of the channel from the process runtime to the master.
pub const UPDATE_BUFFER: usize = 1024;

/// The master's handle on its process agents.
#[derive(Debug, Clone)]
pub struct ProcessAgents {
    runtime: ProcessRuntime,
    updates: mpsc::Sender<ProcessUpdate>,
}

// === impl ProcessAgents ===

impl ProcessAgents {
    /// A runtime keeping sandboxes and volumes under `work_dir`; its updates
    /// arrive on the returned receiver.
    #[must_use]
    pub fn new(work_dir: PathBuf) -> (Self, mpsc::Receiver<ProcessUpdate>) {
        let (tx, rx) = mpsc::channel(UPDATE_BUFFER);
        let runtime = ProcessRuntime::new(work_dir, tx.clone());
        (
            Self {
                runtime,
                updates: tx,
            },
            rx,
        )
    }

    /// The runtime (for volume paths and the like).
    #[must_use]
    pub fn runtime(&self) -> &ProcessRuntime {
        &self.runtime
    }

    /// Starts a launch. The task is registered with the runtime before this
    /// returns (so a kill right after finds it); the process starts in a
    /// spawned task, and a failure to start comes back as an update.
    pub fn launch(&self, order: LaunchOrder) {
        let task_id = order.task.task_id.value.clone();
        let spec = LaunchSpec {
            agent_id: order.agent_id,
            framework_id: order.framework_id,
            task: order.task,
            executor: order.executor,
            volumes: order
                .volumes
                .into_iter()
                .map(|(persistence_id, container_path)| VolumeMount {
                    persistence_id,
                    container_path,
                })
                .collect(),
        };
        let launching = self.runtime.launch(spec);
        let updates = self.updates.clone();
        spawn_detached(async move {
            if let Err(error) = launching.await {
                tracing::info!(task = %task_id, %error, "process launch failed");
                // Bounded wait: the master drains this channel continuously.
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    updates.send(error.to_update(&task_id)),
                )
                .await;
            }
        });
    }

    /// Kills a task's process (SIGTERM, SIGKILL after `grace`).
    pub fn kill(&self, task_id: String, grace: Option<std::time::Duration>) {
        let runtime = self.runtime.clone();
        spawn_detached(async move { runtime.kill(&task_id, grace).await });
    }

    /// Deletes a persistent volume's directory.
    pub fn destroy_volume(&self, agent_id: String, persistence_id: String) {
        let runtime = self.runtime.clone();
        spawn_detached(async move {
            if let Err(error) = runtime.destroy_volume(&agent_id, &persistence_id).await {
                tracing::warn!(%agent_id, %persistence_id, %error, "could not delete persistent volume");
            }
        });
    }

    /// Kills every process and waits for them.
    pub async fn shutdown(&self) {
        self.runtime.shutdown().await;
    }
}

/// What the model makes of a runtime update (the agent's view of the task).
#[must_use]
pub fn report_of(update: &ProcessUpdate) -> AgentReport {
    AgentReport {
        state: update.state,
        source: task_status::Source::Executor,
        message: update.message.clone(),
        reason: update.reason,
        healthy: update.healthy,
        check_status: update.check_status,
    }
}

/// Spawns on the current runtime, if there is one (drops may run outside it).
pub(crate) fn spawn_detached<F>(future: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(future);
    }
}
