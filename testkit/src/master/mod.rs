//! The fake master's async shell: an HTTP server around [`Cluster`].
//!
//! One `std::sync::Mutex` guards the model and the table of open
//! subscription streams. Every handler locks it, calls one synchronous model
//! method, dispatches the model's outputs (events go into the streams'
//! bounded channels with `try_send`, so ordering is the model's and no lock
//! is ever held across an `.await`), and unlocks. A driver task fires the
//! model's timers and allocation runs at the deadlines the model asks for.
//! Time is tokio time, so tests may pause it.
//!
//! Endpoints: `POST /api/v1/scheduler` (module `http`), `GET /version`,
//! `GET /master/state` (and `/state`, `/master/state.json`, `/state.json`),
//! `POST /testkit/faults` (a [`Fault`] as JSON), `GET /testkit/stats`.

mod control;
mod http;
mod stream;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use plinth_proto::v1::scheduler::Event;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::agent::{self, ProcessAgents};
use crate::cluster::{AgentMode, AgentSpec, Cluster, ClusterConfig, Output, Stats};
use crate::faults::{Fault, FaultError, Leader};

/// Why the master could not start.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Creating the process agents' work directory failed.
    #[error("cannot create the work directory {path}")]
    WorkDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is unusable.
    #[error("invalid master configuration: {0}")]
    Config(String),
}

/// How to start a [`TestMaster`].
#[derive(Debug, Clone)]
pub struct MasterConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How many agents register at start.
    pub agents: usize,
    /// What each agent looks like.
    pub agent: AgentSpec,
    /// Simulated or process agents.
    pub mode: AgentMode,
    /// HEARTBEAT interval (Mesos: 15 s).
    pub heartbeat_interval: Duration,
    /// Minimum time between allocation runs (Mesos: 1 s).
    pub allocation_interval: Duration,
    /// Resend interval of unacknowledged status updates (Mesos: 10 s, growing).
    pub update_retry_interval: Duration,
    /// Simulated tasks reach STARTING and RUNNING after this long.
    pub task_start_delay: Duration,
    /// Seed of ids and uuids (`None`: random).
    pub seed: Option<u64>,
    /// Sandboxes and volumes of process agents (`None`: a temporary directory).
    pub work_dir: Option<PathBuf>,
    /// HTTP Basic framework credentials (principal → secret); empty means
    /// authentication is off.
    pub credentials: BTreeMap<String, String>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Events buffered per subscription before it counts as too slow and is closed.
    pub stream_buffer: usize,
    /// Bound on reading one request body.
    pub request_timeout: Duration,
}

impl Default for MasterConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            agents: 3,
            agent: AgentSpec::default(),
            mode: AgentMode::Simulated,
            heartbeat_interval: Duration::from_secs(15),
            allocation_interval: Duration::from_millis(100),
            update_retry_interval: Duration::from_secs(10),
            task_start_delay: Duration::from_millis(10),
            seed: None,
            work_dir: None,
            credentials: BTreeMap::new(),
            max_body_bytes: 16 * 1024 * 1024,
            stream_buffer: 10_000,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What one subscription stream is fed with.
type StreamSender = mpsc::Sender<Box<Event>>;

/// The model and the open streams, under one lock.
struct Inner {
    cluster: Cluster,
    streams: HashMap<String, StreamSender>,
    leader: Leader,
}

/// Everything the handlers share.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    notify: Notify,
    config: MasterConfig,
    process: Option<ProcessAgents>,
}

// === impl Shared ===

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock would be a bug; keep serving anyway.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the model, then carries out its outputs, under the lock.
    pub(crate) fn with_cluster<T>(
        &self,
        f: impl FnOnce(&mut Cluster, std::time::Instant) -> T,
    ) -> T {
        let now = now();
        let mut inner = self.lock();
        let out = f(&mut inner.cluster, now);
        self.flush(&mut inner, now);
        drop(inner);
        self.notify.notify_one();
        out
    }

    /// Dispatches the model's outputs until there are none.
    fn flush(&self, inner: &mut Inner, now: std::time::Instant) {
        loop {
            let outputs = inner.cluster.take_outputs();
            if outputs.is_empty() {
                return;
            }
            for output in outputs {
                match output {
                    Output::Send { stream_id, event } => {
                        let Some(tx) = inner.streams.get(&stream_id) else {
                            continue;
                        };
                        if tx.try_send(event).is_err() {
                            tracing::warn!(%stream_id, "subscriber too slow (or gone); closing its stream");
                            inner.streams.remove(&stream_id);
                            inner.cluster.stream_closed(&stream_id, now);
                        }
                    }
                    Output::Close { stream_id } => {
                        // Dropping the sender ends the stream after what is queued.
                        inner.streams.remove(&stream_id);
                    }
                    Output::Launch(order) => match &self.process {
                        Some(p) => p.launch(*order),
                        None => tracing::error!("process launch ordered without process agents"),
                    },
                    Output::Kill { task_id, grace, .. } => {
                        if let Some(p) = &self.process {
                            p.kill(task_id, grace);
                        }
                    }
                    Output::DestroyVolume {
                        agent_id,
                        persistence_id,
                    } => {
                        if let Some(p) = &self.process {
                            p.destroy_volume(agent_id, persistence_id);
                        }
                    }
                }
            }
        }
    }

    /// A subscription stream ended (its body was dropped).
    pub(crate) fn stream_gone(&self, stream_id: &str) {
        let now = now();
        let mut inner = self.lock();
        inner.streams.remove(stream_id);
        inner.cluster.stream_closed(stream_id, now);
        self.flush(&mut inner, now);
        drop(inner);
        self.notify.notify_one();
    }

    pub(crate) fn leader(&self) -> Leader {
        self.lock().leader.clone()
    }

    fn inject(&self, fault: &Fault) -> Result<serde_json::Value, FaultError> {
        if let Fault::Leader { leader } = fault {
            let now = now();
            let mut inner = self.lock();
            let leading = *leader == Leader::Leading;
            inner.leader = leader.clone();
            if !leading {
                // A master that loses leadership drops every scheduler connection.
                inner.cluster.master_failover();
                self.flush(&mut inner, now);
            }
            drop(inner);
            self.notify.notify_one();
            return Ok(serde_json::json!({"leader": leader}));
        }
        let default_agent = self.config.agent.clone();
        Ok(self.with_cluster(|c, now| c.inject(fault, &default_agent, now))?)
    }
}

/// The model's notion of now (tokio time, so paused-time tests work).
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// A running fake master. Dropping it stops the server (abruptly);
/// [`TestMaster::shutdown`] stops it cleanly and kills every process.
pub struct TestMaster {
    url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: Option<JoinHandle<()>>,
    _work_dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for TestMaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestMaster")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

// === impl TestMaster ===

impl TestMaster {
    /// Binds, registers the agents and starts serving.
    ///
    /// # Errors
    /// The listen address cannot be bound, or the work directory cannot be created.
    pub async fn start(config: MasterConfig) -> Result<Self, MasterError> {
        if config.heartbeat_interval.is_zero() {
            return Err(MasterError::Config(
                "heartbeat interval must be positive".into(),
            ));
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| MasterError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| MasterError::Bind {
            addr: config.listen,
            source,
        })?;
        let (process, updates, work_dir) = match config.mode {
            AgentMode::Simulated => (None, None, None),
            AgentMode::Process => {
                let (dir, keep) = match &config.work_dir {
                    Some(d) => (d.clone(), None),
                    None => {
                        let tmp = tempfile::Builder::new()
                            .prefix("plinth-testkit-")
                            .tempdir()
                            .map_err(|source| MasterError::WorkDir {
                                path: std::env::temp_dir(),
                                source,
                            })?;
                        (tmp.path().to_path_buf(), Some(tmp))
                    }
                };
                std::fs::create_dir_all(&dir).map_err(|source| MasterError::WorkDir {
                    path: dir.clone(),
                    source,
                })?;
                let (agents, rx) = ProcessAgents::new(dir);
                (Some(agents), Some(rx), keep)
            }
        };
        let seed = config.seed.unwrap_or_else(rand::random);
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let mut cc = ClusterConfig::new(now(), wall, seed);
        cc.hostname = addr.ip().to_string();
        cc.ip = addr.ip().to_string();
        cc.port = addr.port();
        cc.heartbeat_interval = config.heartbeat_interval;
        cc.allocation_interval = config.allocation_interval;
        cc.update_retry_interval = config.update_retry_interval;
        cc.task_start_delay = config.task_start_delay;
        cc.mode = config.mode;
        let mut cluster = Cluster::new(cc);
        for _ in 0..config.agents {
            cluster.add_agent(&config.agent, now());
        }
        tracing::info!(master = %cluster.master_id(), %addr, seed, agents = config.agents, mode = ?config.mode, "testkit master starting");
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                cluster,
                streams: HashMap::new(),
                leader: Leader::Leading,
            }),
            notify: Notify::new(),
            config,
            process,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(drive(
            Arc::clone(&shared),
            shutdown_rx.clone(),
        ))];
        if let Some(rx) = updates {
            tasks.push(tokio::spawn(pump_process_updates(Arc::clone(&shared), rx)));
        }
        let router = http::router(Arc::clone(&shared));
        let mut stop = shutdown_rx;
        let server = tokio::spawn(async move {
            let result = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(error) = result {
                tracing::error!(%error, "testkit master server failed");
            }
        });
        Ok(Self {
            url: format!("http://{addr}"),
            addr,
            shared,
            shutdown,
            tasks,
            server: Some(server),
            _work_dir: work_dir,
        })
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Injects a fault; the answer says what it did (e.g. a new agent's id).
    ///
    /// # Errors
    /// The fault names something that does not exist, or cannot apply now.
    pub fn inject(&self, fault: Fault) -> Result<serde_json::Value, FaultError> {
        self.shared.inject(&fault)
    }

    /// The `/master/state` document.
    #[must_use]
    pub fn state(&self) -> serde_json::Value {
        self.shared.with_cluster(|c, now| c.state_json(now))
    }

    /// Counters (offers, launches, updates, acks).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.with_cluster(|c, _| c.stats())
    }

    /// Reads the model directly (ids, tasks, resources).
    pub fn inspect<T>(&self, f: impl FnOnce(&Cluster) -> T) -> T {
        self.shared.with_cluster(|c, _| f(c))
    }

    /// The process agents, in process mode.
    #[must_use]
    pub fn process_agents(&self) -> Option<&ProcessAgents> {
        self.shared.process.as_ref()
    }

    /// Stops serving: ends every stream, stops the server, kills every process.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        self.shared.lock().streams.clear();
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(3), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        if let Some(p) = &self.shared.process {
            p.shutdown().await;
        }
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for TestMaster {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            server.abort();
        }
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if let Some(p) = self.shared.process.clone() {
            agent::spawn_detached(async move { p.shutdown().await });
        }
    }
}

/// Fires timers and allocation runs when the model says they are due.
async fn drive(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let deadline = shared.lock().cluster.next_deadline();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            () = shared.notify.notified() => {}
            () = sleep => {}
        }
        let now = now();
        let mut inner = shared.lock();
        inner.cluster.tick(now);
        shared.flush(&mut inner, now);
    }
}

/// Feeds process-runtime updates into the model as agent reports.
async fn pump_process_updates(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<agent::process::ProcessUpdate>,
) {
    while let Some(update) = rx.recv().await {
        let report = agent::report_of(&update);
        shared.with_cluster(|c, now| {
            if let Some(fid) = c.find_task(&update.task_id) {
                c.agent_update(&fid, &update.task_id, report, now);
            } else {
                tracing::debug!(task = %update.task_id, "update for a task the master no longer knows");
            }
        });
    }
}
