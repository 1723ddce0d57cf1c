//! What the scheduler loop publishes for the API: a [`ServiceSnapshot`]
//! after every change (`watch`), and the step status changes with the
//! snapshot they led to (`broadcast`, for `WatchPlan`).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{broadcast, watch};

use super::{ConfigsView, Metrics, ServiceSnapshot, TaskView};
use crate::plan::StepChange;
use crate::scheduler::{SchedulerCore, StoredConfig};
use crate::state::{ConfigStore, Persister, StateStore};

/// Plan updates buffered per `WatchPlan` stream before it counts as lagging
/// (it then gets a fresh snapshot instead).
pub const PLAN_EVENTS: usize = 1024;

/// One published change: the step status changes since the previous one,
/// and the snapshot after them.
#[derive(Debug, Clone)]
pub struct PlanUpdate {
    /// Step status changes, in the order they happened.
    pub changes: Vec<StepChange>,
    /// The snapshot after them.
    pub snapshot: Arc<ServiceSnapshot>,
}

/// State the API serves that the core does not hold, read at start.
#[derive(Debug, Clone, Default)]
pub struct LoadedState {
    /// Every stored property.
    pub properties: BTreeMap<String, Bytes>,
    /// Every stored configuration.
    pub configs: ConfigsView,
}

impl LoadedState {
    /// Reads properties and configurations.
    ///
    /// # Errors
    /// The state store failed.
    pub async fn load<P: Persister>(
        store: &StateStore<P>,
        configs: &ConfigStore<StoredConfig, P>,
    ) -> Result<Self, crate::state::Error> {
        let mut properties = BTreeMap::new();
        for key in store.fetch_property_keys().await? {
            if let Some(value) = store.fetch_property(&key).await? {
                properties.insert(key, value);
            }
        }
        let mut view = ConfigsView {
            target_id: configs.target_id().await?.map(|id| id.to_string()),
            ..Default::default()
        };
        for id in configs.list().await? {
            if let Some(config) = configs.fetch(id).await? {
                view.by_id.insert(id.to_string(), config_json(&config));
            }
        }
        Ok(Self {
            properties,
            configs: view,
        })
    }
}

/// A stored configuration as JSON: its YAML as a JSON tree (or the text
/// when it does not parse).
#[must_use]
pub fn config_json(config: &StoredConfig) -> serde_json::Value {
    // The YAML tree for people and scripts, plus the exact text: JSON objects
    // lose the order of pods and phases, which `plinth config diff` needs.
    let mut json = serde_saphyr::from_str::<serde_json::Value>(&config.service_yml)
        .unwrap_or_else(|_| serde_json::json!({}));
    if let Some(object) = json.as_object_mut() {
        object.insert(
            "service_yml".into(),
            serde_json::Value::String(config.service_yml.clone()),
        );
    } else {
        json = serde_json::json!({ "service_yml": config.service_yml });
    }
    json
}

/// Publishes snapshots and plan updates; owned by the scheduler loop.
#[derive(Debug)]
pub struct Publisher {
    snapshot: watch::Sender<Arc<ServiceSnapshot>>,
    events: broadcast::Sender<Arc<PlanUpdate>>,
    metrics: Arc<Metrics>,
    properties: Arc<BTreeMap<String, Bytes>>,
    configs: Arc<ConfigsView>,
}

impl Publisher {
    /// A publisher with the core's current state as the first snapshot.
    #[must_use]
    pub fn new(
        core: &SchedulerCore,
        loaded: LoadedState,
    ) -> (Self, watch::Receiver<Arc<ServiceSnapshot>>) {
        let properties = Arc::new(loaded.properties);
        let configs = Arc::new(loaded.configs);
        let first = build(core, 1, &properties, &configs);
        let (snapshot, receiver) = watch::channel(Arc::new(first));
        let (events, _) = broadcast::channel(PLAN_EVENTS);
        let metrics = Arc::new(Metrics::new());
        (
            Self {
                snapshot,
                events,
                metrics,
                properties,
                configs,
            },
            receiver,
        )
    }

    /// Where plan updates are broadcast.
    #[must_use]
    pub fn events(&self) -> broadcast::Sender<Arc<PlanUpdate>> {
        self.events.clone()
    }

    /// The scheduler's metrics.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Records a property the loop stored.
    pub fn set_property(&mut self, key: &str, value: impl Into<Bytes>) {
        Arc::make_mut(&mut self.properties).insert(key.to_string(), value.into());
    }

    /// Publishes the core's state if anything the API shows changed, and
    /// broadcasts the step changes since the last call.
    pub fn publish(&mut self, core: &mut SchedulerCore) {
        let changes = core.take_step_changes();
        let current = Arc::clone(&self.snapshot.borrow());
        // Compare in place first: building a snapshot clones every task.
        let framework_id = Some(core.context().framework_id.as_str()).filter(|f| !f.is_empty());
        let changed = current.plans.as_slice() != core.plans()
            || current.outcomes.as_slice() != core.outcomes()
            || current.framework_id.as_deref() != framework_id
            || !Arc::ptr_eq(&self.properties, &current.properties)
            || current.tasks.len() != core.tasks().count()
            || !current
                .tasks
                .iter()
                .zip(core.tasks())
                .all(|(t, (info, status))| t.info == *info && t.status.as_ref() == status);
        if !changed && changes.is_empty() {
            return;
        }
        let next = Arc::new(build(
            core,
            current.version + 1,
            &self.properties,
            &self.configs,
        ));
        self.snapshot.send_replace(Arc::clone(&next));
        // No receivers is fine: nobody watches a plan right now.
        let _ = self.events.send(Arc::new(PlanUpdate {
            changes,
            snapshot: next,
        }));
    }
}

fn build(
    core: &SchedulerCore,
    version: u64,
    properties: &Arc<BTreeMap<String, Bytes>>,
    configs: &Arc<ConfigsView>,
) -> ServiceSnapshot {
    let ctx = core.context();
    ServiceSnapshot {
        version,
        service: ctx.spec.name.clone(),
        plans: core.plans().to_vec(),
        framework_id: Some(ctx.framework_id.clone()).filter(|f| !f.is_empty()),
        tasks: core
            .tasks()
            .map(|(info, status)| TaskView {
                info: info.clone(),
                status: status.cloned(),
            })
            .collect(),
        outcomes: core.outcomes().to_vec(),
        configs: Arc::clone(configs),
        properties: Arc::clone(properties),
    }
}
