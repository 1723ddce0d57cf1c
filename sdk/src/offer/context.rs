//! What the evaluator needs to know about the service and the framework.

use std::sync::Arc;

use crate::spec::ServiceSpec;
use crate::spec::env::{TaskEnvContext, TaskEnvRouter};

/// Resources the DEFAULT executor of each pod instance reserves on top of its
/// tasks (dcos-commons `EXECUTOR_CPUS`, `EXECUTOR_MEM_MB`, `EXECUTOR_DISK_MB`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExecutorOverhead {
    /// CPU shares (default 0.1).
    pub cpus: f64,
    /// Memory in MB (default 32).
    pub mem_mb: f64,
    /// Sandbox disk in MB (default 256).
    pub disk_mb: f64,
}

impl Default for ExecutorOverhead {
    fn default() -> Self {
        Self {
            cpus: 0.1,
            mem_mb: 32.0,
            disk_mb: 256.0,
        }
    }
}

/// The service and framework facts every evaluation shares.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// The target ServiceSpec.
    pub spec: Arc<ServiceSpec>,
    /// Our FrameworkID: the `framework_id` reservation label and
    /// `ExecutorInfo.framework_id`.
    pub framework_id: String,
    /// Reservation role (default [`ServiceSpec::role`]). Pods with a
    /// `pre-reserved-role` P reserve for `P/<role>`.
    pub role: String,
    /// Reservation and volume principal (default [`ServiceSpec::principal`]).
    pub principal: String,
    /// Unix user of every task (default [`ServiceSpec::user`]).
    pub user: String,
    /// Id of the target configuration: the `target_configuration` task label
    /// and part of config-template URLs.
    pub target_config_id: String,
    /// `TASKCFG_*` routing of the scheduler's environment.
    pub env_router: TaskEnvRouter,
    /// Cluster DNS facts for the injected env (`FRAMEWORK_HOST`, …).
    pub env_context: TaskEnvContext,
    /// Executor overhead per pod instance.
    pub executor: ExecutorOverhead,
}

impl ServiceContext {
    /// A context with dcos-commons defaults for role, principal, user, env
    /// routing and executor overhead.
    pub fn new(
        spec: Arc<ServiceSpec>,
        framework_id: impl Into<String>,
        target_config_id: impl Into<String>,
    ) -> Self {
        Self {
            role: spec.role(),
            principal: spec.principal(),
            user: spec.user(),
            spec,
            framework_id: framework_id.into(),
            target_config_id: target_config_id.into(),
            env_router: TaskEnvRouter::default(),
            env_context: TaskEnvContext::default(),
            executor: ExecutorOverhead::default(),
        }
    }

    /// The role reservations of a pod with pre-reserved role `base` are made
    /// for: the service role, or `<base>/<role>` under a pre-reserved role.
    pub(crate) fn reservation_role(&self, base: &str) -> String {
        if base == "*" {
            self.role.clone()
        } else {
            format!("{base}/{}", self.role)
        }
    }

    /// True when `role` is one we reserve for.
    pub(crate) fn is_our_role(&self, role: &str) -> bool {
        role == self.role
            || role
                .strip_suffix(self.role.as_str())
                .is_some_and(|p| p.ends_with('/'))
    }
}
