//! Config updates: comparing a new [`ServiceSpec`] with the target
//! configuration, validating the transition, and the dry run an operator
//! reads before applying it.
//!
//! This module owns:
//!
//! * [`diff`]: per pod type, what was added, removed or changed — resources,
//!   env, cmd, config templates, count, placement, volumes… — and whether
//!   the change relaunches the pod ([`PodDiff::needs_restart`]): as in
//!   dcos-commons, a pod equal but for its count, placement,
//!   `allow-decommission` or role keeps running;
//! * [`validate`] / [`validate_with`]: dcos-commons' default config
//!   validators (pods cannot shrink without `allow-decommission`, volumes,
//!   user, pre-reserved role, network regime and region cannot change,
//!   placement must parse, service name rules) plus "the service name cannot
//!   change";
//! * [`dry_run`]: validators, the pods that would restart in the order the
//!   deploy (or `update`) plan rolls them, instances launched and
//!   decommissioned — printable as text ([`std::fmt::Display`]) and JSON;
//! * [`apply_update`] (with [`decide_update`] and [`relabel_kept_tasks`]):
//!   what a starting scheduler does with a changed spec — a new target, or
//!   the old one kept with the errors shown on the deploy plan — and the
//!   TaskInfos of unchanged pods relabelled with the new target so they are
//!   not relaunched;
//! * [`stale_tasks`]: the live tasks a rolling step must kill before it
//!   relaunches its pod instance on the new config;
//! * [`read_target`]: the stored target configuration, read straight from a
//!   state backend (no scheduler needed).
//!
//! Everything but [`read_target`] and [`apply_update`] is pure.
//!
//! # Example
//! ```
//! use std::collections::BTreeMap;
//! use plinth::config::{dry_run, validate};
//! use plinth::spec::load_str;
//!
//! let yaml = "name: svc\npods:\n  hello:\n    count: {{N}}\n    tasks:\n      server:\n        goal: RUNNING\n        cmd: sleep {{S}}\n        cpus: 0.1\n        memory: 32\n";
//! let load = |n: &str, s: &str| {
//!     let env = BTreeMap::from([("N".to_owned(), n.to_owned()), ("S".to_owned(), s.to_owned())]);
//!     load_str(yaml, &env, None).unwrap().spec
//! };
//! let (old, new) = (load("2", "10"), load("2", "20"));
//! let run = dry_run(&old, &new, false);
//! assert!(run.accepted);
//! assert_eq!(run.restarts[0].steps, ["hello-0:[server]", "hello-1:[server]"]);
//! let shrink = validate(Some(&old), &load("1", "10"));
//! assert!(shrink[0].to_string().contains("PodSpec named 'hello' has 1 tasks, expected >=2 tasks"));
//! ```

mod diff;
mod dry_run;
mod rolling;
mod update;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use plinth_proto::v1::{Label, Labels, TaskInfo};

pub use diff::{Change, ChangeKind, ConfigDiff, PodDiff, PodStatus, diff};
pub use dry_run::{DryRun, PodChanges, PodInstances, PodRestart, dry_run, dry_run_with};
pub use rolling::stale_tasks;
pub use update::{StartTarget, apply_update};
pub use validate::{
    MAX_SERVICE_NAME_LENGTH, ValidationContext, ValidationError, validate, validate_with,
};

use crate::offer::labels;
use crate::spec::{LoadError, ServiceSpec};
use crate::state::{AnyPersister, BackendConfig, ConfigStore, PROPERTIES_NODE, Persister as _};

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The stored `service_yml` does not load as a spec.
    #[error("the stored target configuration {id} does not load as a service spec: {source}")]
    ParseStored {
        /// Configuration id.
        id: String,
        /// Why.
        #[source]
        source: LoadError,
    },
    /// The state backend failed.
    #[error("reading the target configuration: {0}")]
    State(#[from] crate::state::Error),
    /// A first configuration fails the validators of a configuration alone.
    #[error("the service spec is invalid: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// Every reason.
        errors: Vec<ValidationError>,
    },
    /// `file:DIR` names a directory that does not exist.
    #[error("no state at {dir}: the directory does not exist (check --state)")]
    NoStateDir {
        /// The directory.
        dir: String,
    },
}

/// The spec of a stored configuration (`StoredConfig::service_yml`: the
/// resolved spec as YAML, no variables left).
///
/// # Errors
/// [`ConfigError::ParseStored`] naming `id`.
pub fn spec_from_stored(id: &str, service_yml: &str) -> Result<ServiceSpec, ConfigError> {
    crate::spec::load_str(
        service_yml,
        &BTreeMap::new(),
        Some(&format!("target config {id}")),
    )
    .map(|loaded| loaded.spec)
    .map_err(|source| ConfigError::ParseStored {
        id: id.to_owned(),
        source,
    })
}

/// The target configuration as stored by a scheduler.
#[derive(Debug, Clone)]
pub struct StoredTarget {
    /// Its id (the `target_configuration` task label).
    pub id: String,
    /// The spec.
    pub spec: ServiceSpec,
    /// The property `last-completed-update-type` is `DEPLOY`.
    pub update_completed: bool,
}

/// Reads the target configuration from a state backend, without taking the
/// leader lock and without writing anything. `Ok(None)` when no scheduler
/// stored one yet.
///
/// # Errors
/// The backend's errors; [`ConfigError::NoStateDir`] for a missing
/// `file:` directory (opening it would create it);
/// [`ConfigError::ParseStored`].
pub async fn read_target(backend: &BackendConfig) -> Result<Option<StoredTarget>, ConfigError> {
    if let BackendConfig::File { dir } = backend
        && !dir.is_dir()
    {
        return Err(ConfigError::NoStateDir {
            dir: dir.display().to_string(),
        });
    }
    let persister = AnyPersister::open(backend).await?;
    let configs: ConfigStore<crate::scheduler::StoredConfig, AnyPersister> =
        ConfigStore::new(persister.clone());
    let Some((id, stored)) = configs.fetch_target().await? else {
        return Ok(None);
    };
    let id = id.to_string();
    let spec = spec_from_stored(&id, &stored.service_yml)?;
    let property = format!(
        "{PROPERTIES_NODE}/{}",
        crate::scheduler::runner::LAST_COMPLETED_UPDATE_TYPE
    );
    let update_completed = persister
        .get(&property)
        .await?
        .is_some_and(|v| v.as_ref() == b"DEPLOY");
    Ok(Some(StoredTarget {
        id,
        spec,
        update_completed,
    }))
}

/// What a scheduler does with the spec it was started with, given the
/// stored target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateDecision {
    /// No target yet: store the spec as the first target.
    FirstDeployment {
        /// Errors of the new configuration alone (name rules, placement).
        errors: Vec<ValidationError>,
    },
    /// The spec equals the target: nothing to do.
    Unchanged,
    /// Store the spec as the new target; relabel the tasks of
    /// [`ConfigDiff::kept_pods`] (see [`relabel_kept_tasks`]); the plans
    /// relaunch the other pods by their strategy.
    Accepted {
        /// What changed.
        diff: ConfigDiff,
    },
    /// Keep the current target; the deploy plan shows these errors
    /// ([`crate::plan::PlanInputs::deploy_errors`]) and nothing restarts.
    Rejected {
        /// Every validator failure.
        errors: Vec<ValidationError>,
    },
}

/// Decides what to do with `new` given the current target `old`.
#[must_use]
pub fn decide_update(
    old: Option<&ServiceSpec>,
    new: &ServiceSpec,
    ctx: &ValidationContext,
) -> UpdateDecision {
    let errors = validate_with(old, new, ctx);
    let Some(old) = old else {
        return UpdateDecision::FirstDeployment { errors };
    };
    if !errors.is_empty() {
        return UpdateDecision::Rejected { errors };
    }
    let d = diff(old, new);
    if d.is_empty() {
        UpdateDecision::Unchanged
    } else {
        UpdateDecision::Accepted { diff: d }
    }
}

/// The stored TaskInfos of `kept_pods` whose `target_configuration` label is
/// not `target` yet, with the label set to `target` — to be stored before the
/// plans are built, so their steps start COMPLETE and nothing relaunches them
/// (dcos-commons relabels tasks of unchanged pods the same way). Tasks of
/// other pods are left out: their steps relaunch them.
#[must_use]
pub fn relabel_kept_tasks<'a>(
    tasks: impl IntoIterator<Item = &'a TaskInfo>,
    kept_pods: &[&str],
    target: &str,
) -> Vec<TaskInfo> {
    tasks
        .into_iter()
        .filter(|info| {
            labels::task_label(info, labels::TASK_TYPE).is_some_and(|pod| kept_pods.contains(&pod))
        })
        .filter(|info| labels::task_label(info, labels::TARGET_CONFIGURATION) != Some(target))
        .map(|info| {
            let mut info = info.clone();
            let list = info.labels.get_or_insert_with(Labels::default);
            match list
                .labels
                .iter_mut()
                .find(|l| l.key == labels::TARGET_CONFIGURATION)
            {
                Some(label) => label.value = Some(target.to_owned()),
                None => list.labels.push(Label {
                    key: labels::TARGET_CONFIGURATION.to_owned(),
                    value: Some(target.to_owned()),
                }),
            }
            info
        })
        .collect()
}
