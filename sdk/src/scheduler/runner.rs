//! The async shell around [`SchedulerCore`]: state, leadership, the Mesos
//! subscription, the API server, and a clock.
//!
//! # Flow
//! 1. Open the state backend and wait for the leader lock: two schedulers of
//!    one service never act at once; losing the lock (ZooKeeper session loss)
//!    ends the scheduler with [`SchedulerError::LeadershipLost`].
//! 2. Store the target config, read the FrameworkID and every stored task,
//!    and build the plans (`generation.rs`): steps whose tasks already run on
//!    the target config start COMPLETE, so a restart relaunches nothing.
//! 3. Serve the API, subscribe (re-using the FrameworkID), and feed every
//!    event and a one-second tick to the core. Events already buffered are
//!    taken as one batch; its effects are carried out by `batch.rs`: stores
//!    coalesced into few transactions, calls sent as soon as the stores
//!    before them are committed — so TaskInfos are persisted before the
//!    ACCEPT that launches them and statuses before their acknowledgement —
//!    and still going out while the next batch is taken.
//! 4. Config updates and uninstalls asked for through the API are carried
//!    out around the core (`day2.rs`): the core is rebuilt from the state and
//!    the new spec exactly as at start (`generation.rs`), or the loop ends and
//!    hands over to [`crate::uninstall`] ([`Stopped::Uninstalled`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use plinth_proto::codec::Encoding;
use plinth_proto::v1::scheduler::event;
use plinth_proto::v1::{FrameworkInfo, framework_info};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use self::batch::{BatchIo, Outbox};
use super::command::{Command, CommandId, CommandResult};
use super::core::{Effect, Input, SchedulerCore};
use super::observe;
use crate::api::{
    ApiOptions, ApiServer, ApiState, CommandRequest, LoadedState, Publisher, ServiceSnapshot,
};
use crate::mesos::{Caller, ClientConfig, ClientEvent, Credentials, MesosError, SchedulerClient};
use crate::offer::ServiceContext;
use crate::plan::DEPLOY_PLAN;
use crate::spec::ServiceSpec;
use crate::state::{
    AnyPersister, BackendConfig, ConfigStore, LeadershipLost, Persister as _, StateStore,
};

/// The property dcos-commons sets once a deploy completed (it switches the
/// `update` plan on).
pub const LAST_COMPLETED_UPDATE_TYPE: &str = "last-completed-update-type";

/// Most events the loop takes in one batch (those already buffered).
const MAX_BATCH_INPUTS: usize = 1024;

mod batch;
mod day2;
mod generation;

use self::generation::CoreSettings;

/// Two weeks, dcos-commons' framework failover timeout.
pub const DEFAULT_FAILOVER_TIMEOUT: Duration = Duration::from_secs(14 * 24 * 3600);

/// How to run a service.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// The service.
    pub spec: ServiceSpec,
    /// The Mesos master (`http://host:port`).
    pub master: String,
    /// Where state lives.
    pub state: BackendConfig,
    /// Where the operator API listens (port 0 picks one).
    pub api_listen: SocketAddr,
    /// Operator API auth and TLS.
    pub api: ApiOptions,
    /// Role override (default `<name>-role`).
    pub role: Option<String>,
    /// Principal override (default `<name>-principal`).
    pub principal: Option<String>,
    /// Secret for HTTP Basic framework authentication.
    pub secret: Option<String>,
    /// Protobuf or JSON towards the master.
    pub encoding: Encoding,
    /// How long the master keeps our tasks while we are away.
    pub failover_timeout: Duration,
    /// Seed for generated ids.
    pub seed: u64,
    /// Crash-loop backoff and when an unreachable task is replaced.
    pub recovery: crate::recovery::RecoveryPolicy,
}

impl SchedulerOptions {
    /// Options with defaults for `spec` against `master`, state in `state`.
    #[must_use]
    pub fn new(spec: ServiceSpec, master: impl Into<String>, state: BackendConfig) -> Self {
        Self {
            spec,
            master: master.into(),
            state,
            api_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api: ApiOptions::default(),
            role: None,
            principal: None,
            secret: None,
            encoding: Encoding::Protobuf,
            failover_timeout: DEFAULT_FAILOVER_TIMEOUT,
            seed: rand::random(),
            recovery: crate::recovery::RecoveryPolicy::default(),
        }
    }
}

/// Why the scheduler stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// The state store failed.
    #[error("state store: {0}")]
    State(#[from] crate::state::Error),
    /// Another scheduler took over, or the ZooKeeper session ended.
    #[error("lost leadership: {0:?}")]
    LeadershipLost(LeadershipLost),
    /// The plans could not be built from the spec.
    #[error("building plans: {0}")]
    Plan(#[from] crate::plan::PlanError),
    /// The spec could not be stored as a config.
    #[error("serialising the service spec: {0}")]
    Spec(String),
    /// The config update could not be applied.
    #[error("config update: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// The operator API could not listen.
    #[error("operator API on {addr}: {source}")]
    Api {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The master ended the subscription for good.
    #[error("Mesos: {0}")]
    Mesos(#[from] MesosError),
    /// The uninstall asked for through the API stopped before finishing
    /// (the state stays marked: a restarted scheduler resumes it).
    #[error("uninstall: {0}")]
    Uninstall(#[from] crate::uninstall::UninstallError),
}

/// A target configuration as stored in the ConfigStore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConfig {
    /// The resolved spec as YAML (no template variables left).
    pub service_yml: String,
}

/// A scheduler that is running: its API address and its published state.
#[derive(Debug)]
pub struct Scheduler {
    api_addr: SocketAddr,
    snapshot: watch::Receiver<Arc<ServiceSnapshot>>,
    task: tokio::task::JoinHandle<Result<Stopped, SchedulerError>>,
}

/// How a scheduler ended without error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stopped {
    /// Its shutdown signal fired, or the master ended the subscription.
    Shutdown,
    /// It uninstalled the service, as asked through the API.
    Uninstalled(crate::uninstall::UninstallReport),
}

/// How the loop ended.
enum Exit {
    Shutdown,
    Uninstall,
}

impl Scheduler {
    /// Starts a scheduler; returns once it is the leader and its API listens.
    pub async fn start(
        options: SchedulerOptions,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Self, SchedulerError> {
        let persister = AnyPersister::open(&options.state).await?;
        tracing::info!(state = %persister.location(""), "waiting for leadership");
        let lock = persister.leader_lock().await?;
        tracing::info!("leader; loading state");
        let store = StateStore::open(persister.clone()).await?;
        let configs: ConfigStore<StoredConfig, AnyPersister> = ConfigStore::new(persister.clone());
        let listener = tokio::net::TcpListener::bind(options.api_listen)
            .await
            .map_err(|source| SchedulerError::Api {
                addr: options.api_listen,
                source,
            })?;
        let api_addr = listener
            .local_addr()
            .map_err(|source| SchedulerError::Api {
                addr: options.api_listen,
                source,
            })?;
        let settings = CoreSettings {
            role: options.role.clone(),
            principal: options.principal.clone(),
            api_port: api_addr.port(),
            seed: options.seed,
            recovery: options.recovery,
        };
        let generation = generation::build(&store, &configs, &options.spec, &settings).await?;
        let (core, update_completed) = (generation.core, generation.update_completed);
        let framework_id = Some(core.context().framework_id.clone())
            .filter(|id| !id.is_empty())
            .map(|value| plinth_proto::v1::FrameworkId { value });
        let framework = framework_info(
            core.context(),
            &generation.spec,
            framework_id,
            options.failover_timeout,
            api_addr,
        );

        let loaded = LoadedState::load(&store, &configs).await?;
        let (api, snapshot) = Publisher::new(&core, loaded);
        let (command_tx, commands) = mpsc::channel::<CommandRequest>(crate::api::COMMAND_QUEUE);
        let api_state = ApiState::new(snapshot.clone())
            .with_commands(command_tx)
            .with_events(api.events())
            .with_metrics(Arc::clone(api.metrics()));
        let server = ApiServer::new(api_state, &options.api).map_err(|e| SchedulerError::Api {
            addr: api_addr,
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        })?;
        let tls = server.is_tls();
        let (api_stop, api_stopped) = oneshot::channel::<()>();
        tokio::spawn(server.serve(listener, async {
            let _ = api_stopped.await;
        }));
        tracing::info!(api = %api_addr, tls, auth = options.api.token.is_some(), "operator API listening");

        let mut client_config = ClientConfig::new(&options.master, framework)?;
        client_config.encoding = options.encoding;
        client_config.credentials = options.secret.clone().map(|secret| Credentials {
            principal: core.context().principal.clone(),
            secret,
        });
        let client = SchedulerClient::new(client_config);
        let uninstall = uninstall_options(&options, &generation.spec);
        let shell = Shell {
            core,
            store,
            configs,
            settings,
            caller: client.caller(),
            outbox: Outbox::new(client.caller()),
            api,
            commands,
            replies: BTreeMap::new(),
            next_command: 0,
            deploy_recorded: update_completed,
        };
        let task = tokio::spawn(async move {
            let result = shell.run(client, lock, shutdown).await;
            let _ = api_stop.send(());
            match result? {
                Exit::Shutdown => Ok(Stopped::Shutdown),
                // Asked for through the API; the state is marked already.
                Exit::Uninstall => {
                    let report = crate::uninstall::uninstall_on(uninstall, persister).await?;
                    tracing::info!(?report, "uninstalled");
                    Ok(Stopped::Uninstalled(report))
                }
            }
        });
        Ok(Self {
            api_addr,
            snapshot,
            task,
        })
    }

    /// Where the operator API listens.
    #[must_use]
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The state the scheduler publishes after every change.
    #[must_use]
    pub fn snapshot(&self) -> watch::Receiver<Arc<ServiceSnapshot>> {
        self.snapshot.clone()
    }

    /// Waits until the scheduler stops (shutdown, lost leadership, fatal error).
    pub async fn wait(self) -> Result<(), SchedulerError> {
        self.stopped().await.map(|_| ())
    }

    /// Waits until the scheduler stops, and says how: after a shutdown, or
    /// after uninstalling the service (`POST /v1/uninstall`).
    pub async fn stopped(self) -> Result<Stopped, SchedulerError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => {
                tracing::error!(error = %e, "scheduler task panicked");
                Ok(Stopped::Shutdown)
            }
        }
    }
}

/// The uninstall a scheduler hands over to when asked through the API.
fn uninstall_options(
    options: &SchedulerOptions,
    spec: &ServiceSpec,
) -> crate::uninstall::UninstallOptions {
    let mut out = crate::uninstall::UninstallOptions::new(
        spec.clone(),
        options.master.clone(),
        options.state.clone(),
    );
    out.role.clone_from(&options.role);
    out.principal.clone_from(&options.principal);
    out.secret.clone_from(&options.secret);
    out.encoding = options.encoding;
    out.failover_timeout = options.failover_timeout;
    out
}

fn framework_info(
    ctx: &ServiceContext,
    spec: &ServiceSpec,
    id: Option<plinth_proto::v1::FrameworkId>,
    failover_timeout: Duration,
    api_addr: SocketAddr,
) -> FrameworkInfo {
    use framework_info::capability::Type;
    let capability = |t: Type| framework_info::Capability {
        r#type: Some(t as i32),
    };
    FrameworkInfo {
        user: ctx.user.clone(),
        name: spec.name.clone(),
        id,
        failover_timeout: Some(failover_timeout.as_secs_f64()),
        checkpoint: Some(true),
        roles: vec![ctx.role.clone()],
        principal: Some(ctx.principal.clone()),
        webui_url: Some(
            spec.web_url
                .clone()
                .unwrap_or_else(|| format!("http://{api_addr}")),
        ),
        capabilities: vec![
            capability(Type::MultiRole),
            capability(Type::ReservationRefinement),
            capability(Type::PartitionAware),
        ],
        ..Default::default()
    }
}

/// The event loop: the core plus the IO it asks for.
struct Shell {
    core: SchedulerCore,
    store: StateStore<AnyPersister>,
    configs: ConfigStore<StoredConfig, AnyPersister>,
    /// What the core is rebuilt with on a config update.
    settings: CoreSettings,
    caller: Caller,
    /// Sends the calls of every batch.
    outbox: Outbox,
    /// Publishes snapshots, plan changes and metrics for the API.
    api: Publisher,
    /// Operator commands from the API.
    commands: mpsc::Receiver<CommandRequest>,
    /// Where to answer the commands in flight.
    replies: BTreeMap<CommandId, oneshot::Sender<CommandResult>>,
    next_command: CommandId,
    deploy_recorded: bool,
}

impl Shell {
    async fn run(
        mut self,
        client: SchedulerClient,
        lock: crate::state::LeaderLock,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<Exit, SchedulerError> {
        // A reader task keeps pulling the subscription while the loop does
        // IO, so events queue up here and the loop takes them in batches.
        let (event_tx, mut events) = mpsc::channel(MAX_BATCH_INPUTS);
        let reader = tokio::spawn(async move {
            let mut subscription = client.subscribe();
            while let Some(event) = subscription.next().await {
                let fatal = event.is_err();
                if event_tx.send(event).await.is_err() || fatal {
                    break;
                }
            }
        });
        let lost = lock.lost();
        tokio::pin!(lost, shutdown);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            let input = tokio::select! {
                biased;
                reason = &mut lost => break Err(SchedulerError::LeadershipLost(reason)),
                () = &mut shutdown => break Ok(Exit::Shutdown),
                event = events.recv() => match event {
                    None => break Ok(Exit::Shutdown),
                    Some(Err(e)) => break Err(SchedulerError::Mesos(e)),
                    Some(Ok(event)) => match input_of(event) {
                        Some(input) => input,
                        None => continue,
                    },
                },
                Some(request) = self.commands.recv() => match request.command {
                    // Carried out by the shell around the core (see `day2`).
                    Command::UpdateConfig { service_yml } => {
                        match self.update_config(&service_yml).await {
                            Ok(result) => {
                                let _ = request.reply.send(result);
                                continue;
                            }
                            Err(e) => break Err(e),
                        }
                    }
                    Command::Uninstall => match self.begin_uninstall().await {
                        Ok(result) => {
                            let _ = request.reply.send(result);
                            break Ok(Exit::Uninstall);
                        }
                        Err(e) => break Err(e),
                    },
                    command => {
                        self.next_command = self.next_command.wrapping_add(1);
                        self.replies.insert(self.next_command, request.reply);
                        Input::Command(self.next_command, command)
                    }
                },
                _ = tick.tick() => Input::Tick,
            };
            // Take the events that are already buffered too, so one round of
            // IO (one ZooKeeper transaction, pipelined calls) serves them all.
            let mut inputs = vec![input];
            let mut end = None;
            while inputs.len() < MAX_BATCH_INPUTS {
                match events.try_recv() {
                    Ok(Ok(event)) => inputs.extend(input_of(event)),
                    Ok(Err(e)) => {
                        end = Some(Err(SchedulerError::Mesos(e)));
                        break;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        end = Some(Ok(Exit::Shutdown));
                        break;
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                }
            }
            if let Err(e) = self.step(inputs).await {
                break Err(e);
            }
            if let Some(end) = end {
                break end;
            }
        };
        // Ends the subscription, and sends nothing more.
        reader.abort();
        self.outbox.abort();
        if let Err(e) = lock.release().await {
            tracing::debug!(error = %e, "releasing the leader lock");
        }
        result
    }

    /// Feeds `inputs` to the core and carries out their effects as one
    /// [`BatchIo`]: stores coalesced into few transactions, each call sent
    /// by the [`Outbox`] once the stores before it are committed (TaskInfos
    /// before their ACCEPT, statuses before their acknowledgement), so one
    /// round of IO serves a whole batch of events. Returns once the stores
    /// are committed; the calls may still be going out (except when a
    /// command is answered: after its effects).
    async fn step(&mut self, inputs: Vec<Input>) -> Result<(), SchedulerError> {
        let now = tokio::time::Instant::now().into_std();
        let mut effects = Vec::new();
        for input in inputs {
            let metrics = Arc::clone(self.api.metrics());
            metrics.observe_input(&input);
            let offers = matches!(input, Input::Offers(_));
            let started = std::time::Instant::now();
            let out = self.core.handle_in_batch(input, now);
            if offers {
                metrics.observe_evaluation(started.elapsed());
            }
            metrics.observe_effects(&out);
            effects.extend(out);
        }
        let out = self.core.finish_batch();
        self.api.metrics().observe_effects(&out);
        effects.extend(out);
        let mut replies: Vec<(CommandId, CommandResult)> = Vec::new();
        let mut io = BatchIo::default();
        for effect in effects {
            self.api.note(&effect);
            match effect {
                Effect::StoreTasks(infos) => io.store_tasks(infos),
                Effect::StoreStatus(name, status) => io.store_status(name, status),
                Effect::StoreProperty(key, value) => {
                    self.api.set_property(&key, value.clone());
                    io.store_property(key, value);
                }
                Effect::Call(call) => io.call(*call),
                Effect::Reply(id, result) => replies.push((id, result)),
                other => {
                    // Anything else is carried out in order, after what came before it.
                    std::mem::take(&mut io)
                        .run(&self.store, &mut self.outbox)
                        .await?;
                    self.outbox.flush().await;
                    self.carry_out(other).await?;
                }
            }
        }
        io.run(&self.store, &mut self.outbox).await?;
        if !replies.is_empty() {
            // An operator's command is answered once its effects are carried out.
            self.outbox.flush().await;
        }
        for (id, result) in replies {
            if let Some(reply) = self.replies.remove(&id) {
                // The caller may have given up waiting.
                let _ = reply.send(result);
            }
        }
        let deploy_complete = self
            .core
            .plans()
            .iter()
            .any(|p| p.name() == DEPLOY_PLAN && p.is_complete());
        if deploy_complete && !self.deploy_recorded {
            self.store
                .store_property(LAST_COMPLETED_UPDATE_TYPE, "DEPLOY")
                .await?;
            self.api.set_property(LAST_COMPLETED_UPDATE_TYPE, "DEPLOY");
            self.deploy_recorded = true;
            tracing::info!("deploy plan complete");
        }
        self.api.publish(&mut self.core);
        Ok(())
    }
}

// === impl Shell: batched IO ===

impl Shell {
    /// Carries out one effect on its own.
    async fn carry_out(&mut self, effect: Effect) -> Result<(), SchedulerError> {
        match effect {
            Effect::StoreFrameworkId(id) => self.store.store_framework_id(&id).await?,
            Effect::StoreTasks(tasks) => self.store.store_tasks(&tasks).await?,
            Effect::StoreStatus(name, status) => self.store.store_status(&name, &status).await?,
            Effect::StoreProperty(key, value) => {
                self.store.store_property(&key, value.clone()).await?;
                self.api.set_property(&key, value);
            }
            Effect::EraseTask(name) => self.store.delete_task(&name).await?,
            Effect::Call(call) => batch::send(&self.caller, *call).await,
            Effect::Reply(id, _) => {
                tracing::warn!(id, "operator command reply: no caller is waiting")
            }
        }
        Ok(())
    }
}

fn input_of(event: ClientEvent) -> Option<Input> {
    match event {
        ClientEvent::Subscribed { framework_id, .. } => Some(Input::Subscribed(framework_id)),
        ClientEvent::Disconnected { .. } => Some(Input::Disconnected),
        ClientEvent::Event(event) => {
            let kind = event.r#type.and_then(|t| event::Type::try_from(t).ok());
            match kind {
                Some(event::Type::Offers) => event.offers.map(|o| Input::Offers(o.offers)),
                Some(event::Type::Update) => event.update.map(|u| Input::Update(u.status)),
                _ => None,
            }
        }
    }
}
