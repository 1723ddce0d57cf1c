//! Operator commands the shell carries out itself, around the core.
//!
//! * **Config update** (`PUT /v1/configurations/target`): the core is
//!   rebuilt from the state and the new spec ([`generation::build`]), exactly
//!   as a scheduler restarted with that spec would be, while leadership, the
//!   Mesos subscription and the API stay up. The new core reconciles like
//!   after a restart; accepted changes roll by the plan's strategy, a refused
//!   change keeps the old target and shows every reason on the deploy plan.
//!   What lives only in memory starts over, as on a restart: crash-loop
//!   backoff counts, unreachable timers, recovery phases in progress.
//! * **Uninstall** (`POST /v1/uninstall`): the state is marked
//!   `uninstalling` before the answer goes out (a crash then resumes the
//!   uninstall, not the service); the loop then ends and the scheduler hands
//!   over to [`crate::uninstall`].

use plinth_proto::v1::FrameworkId;

use super::generation;
use super::{SchedulerError, Shell};
use crate::api::LoadedState;
use crate::scheduler::core::Input;
use crate::scheduler::{CommandError, CommandReply, CommandResult};
use crate::uninstall::UNINSTALLING_PROPERTY;

// === impl Shell (day 2) ===

impl Shell {
    /// Makes `service_yml` the target, as a restart with it would.
    pub(super) async fn update_config(
        &mut self,
        service_yml: &str,
    ) -> Result<CommandResult, SchedulerError> {
        let spec = match crate::config::spec_from_stored("from the API", service_yml) {
            Ok(spec) => spec,
            Err(e) => return Ok(Err(CommandError::ConfigRefused(vec![e.to_string()]))),
        };
        let generation =
            generation::build(&self.store, &self.configs, &spec, &self.settings).await?;
        let refused = generation.refused;
        let framework_id = self.core.context().framework_id.clone();
        let subscribed = self.core.is_subscribed();
        self.core = generation.core;
        self.deploy_recorded = generation.update_completed;
        let loaded = LoadedState::load(&self.store, &self.configs).await?;
        self.api.reload(&self.core, loaded);
        if refused.is_empty() {
            tracing::info!(target = %self.core.context().target_config_id, "config update through the API: new target");
        } else {
            tracing::warn!(errors = ?refused, "config update through the API refused: the target stays");
        }
        if subscribed && !framework_id.is_empty() {
            // Reconcile like after a restart: the new core knows nothing live yet.
            self.step(vec![Input::Subscribed(FrameworkId {
                value: framework_id,
            })])
            .await?;
        } else {
            self.api.publish(&mut self.core);
        }
        Ok(if refused.is_empty() {
            Ok(CommandReply::ConfigUpdated {
                target_id: self.core.context().target_config_id.clone(),
            })
        } else {
            Err(CommandError::ConfigRefused(refused))
        })
    }

    /// Marks the state `uninstalling`; the loop ends after the answer.
    pub(super) async fn begin_uninstall(&mut self) -> Result<CommandResult, SchedulerError> {
        self.store
            .store_property(UNINSTALLING_PROPERTY, "true")
            .await?;
        self.api.set_property(UNINSTALLING_PROPERTY, "true");
        tracing::warn!("uninstall requested through the API: the service stops and is removed");
        Ok(Ok(CommandReply::Uninstalling))
    }
}
