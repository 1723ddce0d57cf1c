//! The async shell around [`UninstallCore`]: state, leadership, the Mesos
//! subscription, TEARDOWN and the deletion of the state root.

use std::time::Duration;

use futures::StreamExt as _;
use plinth_proto::codec::Encoding;
use plinth_proto::v1::scheduler::event;
use plinth_proto::v1::{FrameworkId, FrameworkInfo, TaskState, framework_info};
use tokio::time::Instant;

use super::core::{Action, Input, KnownTask, Timings, UninstallCore};
use crate::mesos::{
    Caller, ClientConfig, ClientEvent, Credentials, MesosError, SchedulerClient, calls,
};
use crate::spec::ServiceSpec;
use crate::state::{
    AnyPersister, BackendConfig, LeaderLock, LeadershipLost, Persister as _, StateStore,
};

/// The property marking a service as being uninstalled. Set before anything
/// else is done; a scheduler that finds it set resumes the uninstall.
pub const UNINSTALLING_PROPERTY: &str = "uninstalling";

/// Bound on one call to the master.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the core sees the clock.
const TICK: Duration = Duration::from_millis(250);
/// TEARDOWN attempts.
const TEARDOWN_ATTEMPTS: u32 = 3;

/// Where a test may make the uninstaller stop as if it crashed.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Once every task is gone (reservations may remain).
    TasksGone,
    /// After TEARDOWN, before the state root is deleted.
    AfterTeardown,
}

/// How to uninstall a service.
#[derive(Debug, Clone)]
pub struct UninstallOptions {
    /// The service (its name, role, principal and user name the framework).
    pub spec: ServiceSpec,
    /// The Mesos master (`http://host:port`).
    pub master: String,
    /// Where the service's state lives.
    pub state: BackendConfig,
    /// Role override (default `<name>-role`), as the scheduler used.
    pub role: Option<String>,
    /// Principal override (default `<name>-principal`).
    pub principal: Option<String>,
    /// Secret for HTTP Basic framework authentication.
    pub secret: Option<String>,
    /// Protobuf or JSON towards the master.
    pub encoding: Encoding,
    /// Failover timeout sent when re-subscribing the stored framework.
    pub failover_timeout: Duration,
    /// Quiet period, kill and reconcile intervals.
    pub timings: Timings,
    /// Give up after this long (`None`: never).
    pub deadline: Option<Duration>,
    #[doc(hidden)]
    pub crash_at: Option<CrashPoint>,
}

impl UninstallOptions {
    /// Options with defaults for `spec` against `master`, state in `state`.
    #[must_use]
    pub fn new(spec: ServiceSpec, master: impl Into<String>, state: BackendConfig) -> Self {
        UninstallOptions {
            spec,
            master: master.into(),
            state,
            role: None,
            principal: None,
            secret: None,
            encoding: Encoding::Protobuf,
            failover_timeout: crate::scheduler::runner::DEFAULT_FAILOVER_TIMEOUT,
            timings: Timings::default(),
            deadline: None,
            crash_at: None,
        }
    }
}

/// What an uninstall did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UninstallReport {
    /// The property was already set: this run resumed an earlier one.
    pub resumed: bool,
    /// The FrameworkIDs whose reservations were released (empty when the
    /// service never registered).
    pub framework_ids: Vec<String>,
    /// KILL calls sent.
    pub kills: u64,
    /// Reserved resources given back (by `resource_id`).
    pub resources_released: usize,
    /// Persistent volumes destroyed.
    pub volumes_destroyed: u64,
    /// TEARDOWN was accepted by the master.
    pub torn_down: bool,
}

/// Why an uninstall stopped before finishing. Running it again resumes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UninstallError {
    /// The state store failed.
    #[error("state store: {0}")]
    State(#[from] crate::state::Error),
    /// Another scheduler took over, or the ZooKeeper session ended.
    #[error("lost leadership: {0:?}")]
    LeadershipLost(LeadershipLost),
    /// The master ended the subscription for good.
    #[error("Mesos: {0}")]
    Mesos(#[from] MesosError),
    /// The deadline passed.
    #[error(
        "uninstall not finished after {after:?}; tasks not gone yet: {tasks_left:?} (run it again to resume)"
    )]
    DeadlineExceeded {
        /// The deadline.
        after: Duration,
        /// Tasks still not gone.
        tasks_left: Vec<String>,
    },
    /// A test-injected crash.
    #[doc(hidden)]
    #[error("injected crash at {0:?}")]
    InjectedCrash(CrashPoint),
}

/// Whether the state at `backend` is marked as being uninstalled (a
/// scheduler started on it must resume the uninstall). Reads only.
///
/// # Errors
/// The backend's errors.
pub async fn is_uninstalling(backend: &BackendConfig) -> Result<bool, crate::state::Error> {
    match backend {
        BackendConfig::Memory => return Ok(false),
        BackendConfig::File { dir } if !dir.is_dir() => return Ok(false),
        _ => {}
    }
    let persister = AnyPersister::open(backend).await?;
    let node = format!("{}/{UNINSTALLING_PROPERTY}", crate::state::PROPERTIES_NODE);
    Ok(persister.get(&node).await?.is_some())
}

/// Uninstalls the service: marks the state `uninstalling`, kills every task,
/// destroys every volume and unreserves every resource the framework
/// reserved, tears the framework down and deletes the state root.
///
/// # Guarantees
/// * Idempotent and resumable: after a crash at any point, running it again
///   finishes the job. A framework the master already removed (a crash after
///   TEARDOWN) is replaced by a throwaway one (failover timeout 0) that
///   releases what is left under the same role.
/// * Only reservations labelled with this service's FrameworkID are touched.
/// * Waits for the leader lock: never runs beside the service's scheduler.
///
/// # Errors
/// [`UninstallError`]; the state root is only deleted on success.
pub async fn uninstall(options: UninstallOptions) -> Result<UninstallReport, UninstallError> {
    let persister = AnyPersister::open(&options.state).await?;
    uninstall_on(options, persister).await
}

/// [`uninstall`] on an already open persister (`options.state` is not
/// opened again): a scheduler handing over to the uninstall in process
/// keeps its backend, which also makes the in-memory one work.
///
/// # Errors
/// As [`uninstall`].
pub async fn uninstall_on(
    options: UninstallOptions,
    persister: AnyPersister,
) -> Result<UninstallReport, UninstallError> {
    let deadline = options.deadline.map(|d| (Instant::now() + d, d));
    tracing::info!(state = %persister.location(""), "uninstall: waiting for leadership");
    let lock = match deadline {
        Some((at, after)) => tokio::time::timeout_at(at, persister.leader_lock())
            .await
            .map_err(|_| UninstallError::DeadlineExceeded {
                after,
                tasks_left: Vec::new(),
            })??,
        None => persister.leader_lock().await?,
    };
    let result = run(&options, persister, &lock, deadline).await;
    if let Err(e) = lock.release().await {
        tracing::debug!(error = %e, "releasing the leader lock");
    }
    result
}

async fn run(
    options: &UninstallOptions,
    persister: AnyPersister,
    lock: &LeaderLock,
    deadline: Option<(Instant, Duration)>,
) -> Result<UninstallReport, UninstallError> {
    let store = StateStore::open(persister.clone()).await?;
    let mut report = UninstallReport {
        resumed: store.fetch_property(UNINSTALLING_PROPERTY).await?.is_some(),
        ..UninstallReport::default()
    };
    store.store_property(UNINSTALLING_PROPERTY, "true").await?;
    tracing::info!(
        resumed = report.resumed,
        "uninstall: marked the state 'uninstalling'"
    );

    let Some(framework_id) = store.fetch_framework_id().await? else {
        tracing::info!("uninstall: the service never registered; deleting its state");
        persister.delete_root().await?;
        return Ok(report);
    };
    let tasks: Vec<KnownTask> = store
        .fetch_all_tasks()
        .await?
        .into_values()
        .filter_map(|stored| {
            let info = stored.info?;
            Some(KnownTask {
                name: info.name.clone(),
                task_id: info.task_id.value.clone(),
                agent_id: Some(info.agent_id.clone()).filter(|a| !a.value.is_empty()),
                state: stored
                    .status
                    .and_then(|s| TaskState::try_from(s.state).ok()),
            })
        })
        .collect();
    let role = options.role.clone().unwrap_or_else(|| options.spec.role());
    let mut core = UninstallCore::new(
        role.clone(),
        [framework_id.value.clone()],
        tasks,
        options.timings,
    );

    let mut fresh = false;
    loop {
        let id = if fresh {
            None
        } else {
            Some(framework_id.clone())
        };
        match drive(options, &role, id, &mut core, lock, deadline).await {
            Ok(torn_down) => {
                report.torn_down = torn_down;
                break;
            }
            Err(Drive::FrameworkRemoved(message)) if !fresh => {
                tracing::warn!(%message, "uninstall: the framework was removed already; releasing what is left with a throwaway framework");
                fresh = true;
            }
            Err(Drive::FrameworkRemoved(message)) => {
                return Err(UninstallError::Mesos(MesosError::Subscription { message }));
            }
            Err(Drive::Fatal(e)) => return Err(e),
        }
    }
    if options.crash_at == Some(CrashPoint::AfterTeardown) {
        return Err(UninstallError::InjectedCrash(CrashPoint::AfterTeardown));
    }
    persister.delete_root().await?;
    let progress = core.progress();
    report.framework_ids = core.framework_ids().iter().cloned().collect();
    report.kills = progress.kills;
    report.resources_released = progress.released.len();
    report.volumes_destroyed = progress.volumes_destroyed;
    tracing::info!(?report, "uninstall complete: state root deleted");
    Ok(report)
}

enum Drive {
    /// The master refused the FrameworkID: the framework was torn down.
    FrameworkRemoved(String),
    Fatal(UninstallError),
}

impl From<UninstallError> for Drive {
    fn from(e: UninstallError) -> Self {
        Drive::Fatal(e)
    }
}

fn framework(options: &UninstallOptions, role: &str, id: Option<FrameworkId>) -> FrameworkInfo {
    use framework_info::capability::Type;
    let capability = |t: Type| framework_info::Capability {
        r#type: Some(t as i32),
    };
    let failover = if id.is_some() {
        options.failover_timeout
    } else {
        Duration::ZERO
    };
    FrameworkInfo {
        user: options.spec.user(),
        name: options.spec.name.clone(),
        id,
        failover_timeout: Some(failover.as_secs_f64()),
        checkpoint: Some(true),
        roles: vec![role.to_owned()],
        principal: Some(
            options
                .principal
                .clone()
                .unwrap_or_else(|| options.spec.principal()),
        ),
        capabilities: vec![
            capability(Type::MultiRole),
            capability(Type::ReservationRefinement),
            capability(Type::PartitionAware),
        ],
        ..Default::default()
    }
}

/// One subscription: feeds the core until it finishes (then TEARDOWN);
/// returns whether TEARDOWN was accepted.
async fn drive(
    options: &UninstallOptions,
    role: &str,
    id: Option<FrameworkId>,
    core: &mut UninstallCore,
    lock: &LeaderLock,
    deadline: Option<(Instant, Duration)>,
) -> Result<bool, Drive> {
    let info = framework(options, role, id);
    let principal = info.principal.clone().unwrap_or_default();
    let mut config = ClientConfig::new(&options.master, info).map_err(UninstallError::from)?;
    config.encoding = options.encoding;
    config.credentials = options
        .secret
        .clone()
        .map(|secret| Credentials { principal, secret });
    let client = SchedulerClient::new(config);
    let caller = client.caller();
    let mut events = client.subscribe();
    let lost = lock.lost();
    tokio::pin!(lost);
    let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    let until = tokio::time::sleep_until(deadline.map_or(far, |(at, _)| at));
    tokio::pin!(until);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut subscribed_once = false;
    loop {
        let input = tokio::select! {
            biased;
            reason = &mut lost => return Err(UninstallError::LeadershipLost(reason).into()),
            () = &mut until => {
                let after = deadline.map_or(Duration::ZERO, |(_, d)| d);
                let tasks_left = core.tasks_left().into_iter().map(str::to_owned).collect();
                return Err(UninstallError::DeadlineExceeded { after, tasks_left }.into());
            }
            event = events.next() => match event {
                None => return Err(UninstallError::Mesos(MesosError::Subscription {
                    message: "the subscription ended".into(),
                }).into()),
                Some(Err(MesosError::Subscription { message }))
                    if !subscribed_once && message.to_ascii_lowercase().contains("removed") =>
                {
                    return Err(Drive::FrameworkRemoved(message));
                }
                Some(Err(e)) => return Err(UninstallError::Mesos(e).into()),
                Some(Ok(event)) => match input_of(event) {
                    Some(input) => input,
                    None => continue,
                },
            },
            _ = tick.tick() => Input::Tick,
        };
        if matches!(input, Input::Subscribed(_)) {
            subscribed_once = true;
            tracing::info!(tasks = ?core.tasks_left(), "uninstall: subscribed; killing tasks and releasing reservations");
        }
        let now = Instant::now().into_std();
        let actions = core.handle(input, now);
        for action in actions {
            match action {
                Action::Call(call) => send(&caller, *call).await,
                Action::Finish => {
                    let progress = core.progress();
                    tracing::info!(
                        released = progress.released.len(),
                        volumes = progress.volumes_destroyed,
                        "uninstall: tasks gone, reservations released; tearing the framework down"
                    );
                    teardown(&caller).await.map_err(UninstallError::from)?;
                    return Ok(true);
                }
            }
        }
        if options.crash_at == Some(CrashPoint::TasksGone)
            && subscribed_once
            && core.tasks_left().is_empty()
        {
            return Err(UninstallError::InjectedCrash(CrashPoint::TasksGone).into());
        }
    }
}

async fn send(caller: &Caller, call: plinth_proto::v1::scheduler::Call) {
    match tokio::time::timeout(CALL_TIMEOUT, caller.call(call)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "uninstall: call to the master failed"),
        Err(_) => tracing::warn!(after = ?CALL_TIMEOUT, "uninstall: call to the master timed out"),
    }
}

/// TEARDOWN, a few times. On failure the state is kept, so running the
/// uninstall again (which finds nothing left to release) retries it.
async fn teardown(caller: &Caller) -> Result<(), MesosError> {
    let mut last = None;
    for attempt in 1..=TEARDOWN_ATTEMPTS {
        match tokio::time::timeout(CALL_TIMEOUT, caller.call(calls::teardown())).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, attempt, "uninstall: TEARDOWN failed");
                last = Some(e);
            }
            Err(_) => {
                tracing::warn!(attempt, "uninstall: TEARDOWN timed out");
                last = Some(MesosError::Timeout {
                    operation: "TEARDOWN call".into(),
                    after: CALL_TIMEOUT,
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last.unwrap_or(MesosError::NotSubscribed {
        operation: "TEARDOWN call".into(),
    }))
}

fn input_of(event: ClientEvent) -> Option<Input> {
    match event {
        ClientEvent::Subscribed { framework_id, .. } => Some(Input::Subscribed(framework_id)),
        ClientEvent::Disconnected { .. } => Some(Input::Disconnected),
        ClientEvent::Event(event) => {
            let kind = event.r#type.and_then(|t| event::Type::try_from(t).ok());
            match kind {
                Some(event::Type::Offers) => event.offers.map(|o| Input::Offers(o.offers)),
                Some(event::Type::Update) => {
                    event.update.map(|u| Input::Update(Box::new(u.status)))
                }
                _ => None,
            }
        }
    }
}
