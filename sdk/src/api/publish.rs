//! What the scheduler loop publishes for the API: a [`ServiceSnapshot`]
//! after every change (`watch`), and the step status changes with the
//! snapshot they led to (`broadcast`, for `WatchPlan`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use plinth_proto::v1::{TaskInfo, TaskStatus};
use tokio::sync::{broadcast, watch};

use super::{ConfigsView, Metrics, ServiceSnapshot, Shared, TaskView, Tasks};
use crate::plan::StepChange;
use crate::scheduler::{Effect, SchedulerCore, StoredConfig};
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
///
/// The loop tells it which tasks its effects touched ([`Publisher::note`]);
/// a new snapshot copies those and shares every other task with the one
/// before it, so publishing costs what changed, not what is stored.
#[derive(Debug)]
pub struct Publisher {
    snapshot: watch::Sender<Arc<ServiceSnapshot>>,
    events: broadcast::Sender<Arc<PlanUpdate>>,
    metrics: Arc<Metrics>,
    properties: Arc<BTreeMap<String, Bytes>>,
    configs: Arc<ConfigsView>,
    /// Names of the tasks stored, updated or erased since the last publish.
    touched: BTreeSet<String>,
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
        let first = ServiceSnapshot {
            version: 1,
            service: core.context().spec.name.clone(),
            plans: core.plans().to_vec().into(),
            framework_id: framework_id(core).map(str::to_string),
            tasks: core.shared_tasks().map(view).collect(),
            outcomes: core.outcomes().to_vec().into(),
            configs: Arc::clone(&configs),
            properties: Arc::clone(&properties),
        };
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
                touched: BTreeSet::new(),
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

    /// The loop rebuilt its core (a config update through the API): every
    /// task counts as touched, and the stored configurations and properties
    /// are the ones read anew.
    pub fn reload(&mut self, core: &SchedulerCore, loaded: LoadedState) {
        self.properties = Arc::new(loaded.properties);
        self.configs = Arc::new(loaded.configs);
        let previous = Arc::clone(&self.snapshot.borrow());
        self.touched
            .extend(previous.tasks.iter().map(|t| t.info.name.clone()));
        self.touched
            .extend(core.tasks().map(|(info, _)| info.name.clone()));
    }

    /// Notes which task an effect of the core touches. The core changes a
    /// task only together with the effect that persists the change, so
    /// these are the only tasks the next snapshot has to copy.
    pub fn note(&mut self, effect: &Effect) {
        match effect {
            Effect::StoreTasks(infos) => {
                self.touched.extend(infos.iter().map(|i| i.name.clone()));
            }
            Effect::StoreStatus(name, _) | Effect::EraseTask(name) => {
                self.touched.insert(name.clone());
            }
            _ => {}
        }
    }

    /// Publishes the core's state if anything the API shows changed, and
    /// broadcasts the step changes since the last call.
    pub fn publish(&mut self, core: &mut SchedulerCore) {
        let changes = core.take_step_changes();
        let touched = std::mem::take(&mut self.touched);
        let current = Arc::clone(&self.snapshot.borrow());
        let tasks = next_tasks(&current.tasks, core, &touched);
        debug_assert!(
            tasks
                .as_ref()
                .unwrap_or(&current.tasks)
                .iter()
                .map(|t| (&*t.info, t.status.as_ref()))
                .eq(core.tasks()),
            "a task changed without an effect that stores it"
        );
        let plans = (current.plans.as_slice() != core.plans()).then(|| core.plans().to_vec());
        let outcomes =
            (current.outcomes.as_slice() != core.outcomes()).then(|| core.outcomes().to_vec());
        let framework_id = framework_id(core);
        let changed = tasks.is_some()
            || plans.is_some()
            || outcomes.is_some()
            || current.framework_id.as_deref() != framework_id
            || !Arc::ptr_eq(&self.properties, &current.properties)
            || !Arc::ptr_eq(&self.configs, &current.configs);
        if !changed && changes.is_empty() {
            return;
        }
        let next = Arc::new(ServiceSnapshot {
            version: current.version + 1,
            service: current.service.clone(),
            plans: plans.map_or_else(|| current.plans.clone(), Shared::from),
            framework_id: framework_id.map(str::to_string),
            tasks: tasks.unwrap_or_else(|| current.tasks.clone()),
            outcomes: outcomes.map_or_else(|| current.outcomes.clone(), Shared::from),
            configs: Arc::clone(&self.configs),
            properties: Arc::clone(&self.properties),
        });
        self.snapshot.send_replace(Arc::clone(&next));
        // No receivers is fine: nobody watches a plan right now.
        let _ = self.events.send(Arc::new(PlanUpdate {
            changes,
            snapshot: next,
        }));
    }
}

fn framework_id(core: &SchedulerCore) -> Option<&str> {
    Some(core.context().framework_id.as_str()).filter(|f| !f.is_empty())
}

fn view((info, status): (&Arc<TaskInfo>, Option<&TaskStatus>)) -> TaskView {
    TaskView {
        info: Arc::clone(info),
        status: status.cloned(),
    }
}

/// The core's tasks, sharing with `previous` every task not `touched` (and
/// every touched one that is unchanged); `None` when they equal `previous`.
fn next_tasks(previous: &Tasks, core: &SchedulerCore, touched: &BTreeSet<String>) -> Option<Tasks> {
    if touched.is_empty() {
        return None;
    }
    // Both sides are sorted by task name: one merge pass.
    let mut old = previous.shared().iter().peekable();
    let mut changed = false;
    let mut next = Vec::with_capacity(previous.len());
    for (info, status) in core.shared_tasks() {
        while old.next_if(|t| t.info.name < info.name).is_some() {
            changed = true; // erased
        }
        let same = old.next_if(|t| t.info.name == info.name).filter(|t| {
            !touched.contains(&info.name) || (t.info == *info && t.status.as_ref() == status)
        });
        match same {
            Some(task) => next.push(Arc::clone(task)),
            None => {
                changed = true;
                next.push(Arc::new(view((info, status))));
            }
        }
    }
    changed |= old.next().is_some();
    changed.then(|| Tasks::from_shared(next))
}
