//! [`ProcessRuntime`]: the handle the master holds, and the registry of the
//! tasks it runs.
//!
//! A task is registered as soon as [`ProcessRuntime::launch`] is called, so a
//! kill sent right after is never lost; while it is being prepared (sandbox,
//! volumes, URIs) the launch itself listens for that kill, and once its
//! process is spawned a [`super::supervisor`] owns it until it is reaped.
//! Spawning happens under the registry lock after checking for shutdown, so
//! [`ProcessRuntime::shutdown`] sees every process that was ever started.

use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::checks::{self, Plan};
use super::command::{self, Env, Invocation};
use super::exit::KillCause;
use super::supervisor::{self, Running};
use super::{LaunchSpec, ProcessError, ProcessUpdate, fetch, sandbox};

/// Kill requests a task may have queued; more are redundant.
const CONTROL_CAPACITY: usize = 4;

/// How long [`ProcessRuntime::shutdown`] waits for supervisors after their
/// kill grace before it aborts them (which SIGKILLs their groups).
const SHUTDOWN_SLACK: Duration = Duration::from_secs(5);

/// Runs the tasks of the testkit's process agents as local processes.
///
/// Cheap to clone: clones share the same tasks. See the [module
/// docs](super) for what a launch does and what is reported.
#[derive(Debug, Clone)]
pub struct ProcessRuntime {
    inner: Arc<Inner>,
}

/// State shared by the handle, the launches and the supervisors.
#[derive(Debug)]
pub(crate) struct Inner {
    work_dir: PathBuf,
    pub(crate) updates: mpsc::Sender<ProcessUpdate>,
    pub(crate) shutdown: watch::Sender<bool>,
    registry: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    shutting_down: bool,
    next_generation: u64,
    tasks: HashMap<String, Entry>,
}

/// A live task: being prepared (`supervisor` is `None`) or running.
#[derive(Debug)]
struct Entry {
    /// Tells this launch apart from earlier and later ones of the same id.
    generation: u64,
    control: mpsc::Sender<Kill>,
    supervisor: Option<JoinHandle<()>>,
}

/// A kill request for one task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kill {
    pub(crate) cause: KillCause,
    pub(crate) grace: Option<Duration>,
}

// === impl ProcessRuntime ===

impl ProcessRuntime {
    /// A runtime keeping sandboxes and volumes under `work_dir` (made
    /// absolute, so volume symlinks resolve from any sandbox) and reporting
    /// task status changes on `updates`.
    #[must_use]
    pub fn new(work_dir: PathBuf, updates: mpsc::Sender<ProcessUpdate>) -> Self {
        let work_dir = std::path::absolute(&work_dir).unwrap_or(work_dir);
        let inner = Inner {
            work_dir,
            updates,
            shutdown: watch::Sender::new(false),
            registry: Mutex::new(Registry::default()),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Starts the task's command (`task.command`; for a task of a task group
    /// with the DEFAULT executor, also the task's own command) in a fresh
    /// sandbox, then reports `TASK_STARTING`, `TASK_RUNNING` and eventually the
    /// terminal state on the updates channel.
    ///
    /// The task is registered when this is *called*, so the returned future
    /// may be spawned and a [`kill`](Self::kill) issued at once. It resolves
    /// once the process runs, after fetching every URI (each HTTP fetch is
    /// bounded by a timeout), so callers on a hot path should spawn it.
    ///
    /// # Errors
    ///
    /// Any failure before the process runs; no update has been emitted for
    /// the task then (see [`ProcessError::to_update`]).
    pub fn launch(
        &self,
        launch: LaunchSpec,
    ) -> impl Future<Output = Result<(), ProcessError>> + Send + 'static {
        let registered = self.register(&launch.task.task_id.value);
        let inner = Arc::clone(&self.inner);
        // Boxed: prost messages are large (a TaskInfo is kilobytes) and
        // launch futures are often awaited inline.
        let launch = Box::new(launch);
        async move {
            let (registration, control) = registered?;
            start(inner, launch, registration, control).await
        }
    }

    /// Kills the task: SIGTERM to its process group, SIGKILL after `grace`
    /// (default: the task's `kill_policy.grace_period`, else 3 s); the task
    /// then ends as `TASK_KILLED`. A second kill may shorten the grace. Returns
    /// once the request is queued, without waiting for the task to end.
    /// Unknown or finished tasks are ignored.
    pub async fn kill(&self, task_id: &str, grace: Option<Duration>) {
        let control = self
            .inner
            .lock()
            .tasks
            .get(task_id)
            .map(|entry| entry.control.clone());
        let Some(control) = control else {
            tracing::debug!(task_id, "kill of a task that is not running here");
            return;
        };
        // Full means kills are already queued; this one adds nothing.
        let _ = control.try_send(Kill {
            cause: KillCause::Requested,
            grace,
        });
    }

    /// Where persistent volume `persistence_id` of agent `agent_id` lives: a
    /// directory under the work dir that survives task relaunches.
    #[must_use]
    pub fn volume_dir(&self, agent_id: &str, persistence_id: &str) -> PathBuf {
        sandbox::volume_dir(&self.inner.work_dir, agent_id, persistence_id)
    }

    /// Deletes a volume's directory and everything in it (DESTROY). A volume
    /// that was never used is not an error. Whether a running task still
    /// uses it is the master's to check, as Mesos does.
    ///
    /// # Errors
    ///
    /// The I/O error from removing the directory.
    pub async fn destroy_volume(
        &self,
        agent_id: &str,
        persistence_id: &str,
    ) -> std::io::Result<()> {
        match tokio::fs::remove_dir_all(self.volume_dir(agent_id, persistence_id)).await {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            result => result,
        }
    }

    /// Kills every task it started (SIGTERM, SIGKILL after at most 3 s) and
    /// waits for them to be reaped; later launches fail with
    /// [`ProcessError::ShutDown`]. Terminal updates are still offered to the
    /// updates channel, but dropped if it is full.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let supervisors: Vec<JoinHandle<()>> = {
            let mut registry = self.inner.lock();
            registry.shutting_down = true;
            registry
                .tasks
                .drain()
                .filter_map(|(_, entry)| entry.supervisor)
                .collect()
        };
        let deadline = Instant::now() + supervisor::SHUTDOWN_GRACE + SHUTDOWN_SLACK;
        for mut handle in supervisors {
            if tokio::time::timeout_at(deadline, &mut handle)
                .await
                .is_err()
            {
                tracing::warn!("a task supervisor did not stop in time; aborting it");
                // Dropping the supervisor SIGKILLs its process group.
                handle.abort();
                let _ = handle.await;
            }
        }
    }

    /// Registers a launch of `task_id`, refusing duplicates and launches
    /// after shutdown.
    fn register(
        &self,
        task_id: &str,
    ) -> Result<(Registration, mpsc::Receiver<Kill>), ProcessError> {
        let mut registry = self.inner.lock();
        if registry.shutting_down {
            return Err(ProcessError::ShutDown);
        }
        if registry.tasks.contains_key(task_id) {
            return Err(ProcessError::AlreadyRunning {
                task_id: task_id.to_owned(),
            });
        }
        let generation = registry.next_generation;
        registry.next_generation += 1;
        let (control, receiver) = mpsc::channel(CONTROL_CAPACITY);
        registry.tasks.insert(
            task_id.to_owned(),
            Entry {
                generation,
                control,
                supervisor: None,
            },
        );
        let registration = Registration {
            inner: Arc::clone(&self.inner),
            task_id: task_id.to_owned(),
            generation,
            handed_over: false,
        };
        Ok((registration, receiver))
    }
}

// === impl Inner ===

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        // Nothing panics while holding the lock, and the map stays valid if
        // something did: recover instead of propagating the poison.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets launch `generation` of `task_id` (not a newer one).
    pub(crate) fn forget(&self, task_id: &str, generation: u64) {
        let mut registry = self.lock();
        if registry
            .tasks
            .get(task_id)
            .is_some_and(|entry| entry.generation == generation)
        {
            registry.tasks.remove(task_id);
        }
    }
}

/// Unregisters a launch that ends before a supervisor took it over
/// (failure, kill, or the launch future being dropped).
#[derive(Debug)]
struct Registration {
    inner: Arc<Inner>,
    task_id: String,
    generation: u64,
    handed_over: bool,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.handed_over {
            self.inner.forget(&self.task_id, self.generation);
        }
    }
}

/// Everything a task needs that can fail before its process starts.
struct Prepared {
    invocation: Invocation,
    env: Env,
    sandbox: PathBuf,
    stdout: File,
    stderr: File,
    health: Option<Plan>,
    check: Option<Plan>,
}

/// Prepares the task while listening for a kill or shutdown, then spawns it
/// and hands it to a supervisor.
async fn start(
    inner: Arc<Inner>,
    spec: Box<LaunchSpec>,
    mut registration: Registration,
    mut control: mpsc::Receiver<Kill>,
) -> Result<(), ProcessError> {
    let task_id = registration.task_id.clone();
    let mut shutdown = inner.shutdown.subscribe();
    let prepared = tokio::select! {
        biased;
        _ = shutdown.wait_for(|down| *down) => return Err(ProcessError::ShutDown),
        kill = control.recv() => return Err(match kill {
            Some(_) => ProcessError::KilledDuringLaunch { task_id },
            None => ProcessError::ShutDown,
        }),
        // Boxed: preparing (fetches above all) is a large future, and launch
        // futures are often awaited inline.
        prepared = Box::pin(prepare(&inner.work_dir, &spec)) => prepared?,
    };

    let mut registry = inner.lock();
    let Registry {
        shutting_down,
        tasks,
        ..
    } = &mut *registry;
    let entry = tasks
        .get_mut(&task_id)
        .filter(|entry| entry.generation == registration.generation);
    let Some(entry) = entry.filter(|_| !*shutting_down) else {
        return Err(ProcessError::ShutDown);
    };
    let mut command = prepared
        .invocation
        .command(&prepared.sandbox, &prepared.env);
    command.stdout(prepared.stdout).stderr(prepared.stderr);
    let child = command.spawn().map_err(|source| ProcessError::Spawn {
        command: prepared.invocation.display(),
        source,
    })?;
    let running = Running {
        task_id,
        generation: registration.generation,
        task: spec.task,
        sandbox: prepared.sandbox,
        env: prepared.env,
        health: prepared.health,
        check: prepared.check,
        started: Instant::now(),
    };
    entry.supervisor = Some(tokio::spawn(supervisor::supervise(
        Arc::clone(&inner),
        running,
        child,
        control,
    )));
    registration.handed_over = true;
    Ok(())
}

/// Validates the task, creates its sandbox, mounts its volumes, fetches its
/// URIs and opens its log files.
async fn prepare(work_dir: &Path, spec: &LaunchSpec) -> Result<Prepared, ProcessError> {
    let task_id = &spec.task.task_id.value;
    let invocation = spec
        .task
        .command
        .as_ref()
        .and_then(Invocation::of)
        .ok_or_else(|| ProcessError::NoCommand {
            task_id: task_id.clone(),
        })?;
    let health = spec
        .task
        .health_check
        .as_deref()
        .map(checks::health_plan)
        .transpose()?;
    let check = spec
        .task
        .check
        .as_deref()
        .map(checks::check_plan)
        .transpose()?;

    let sandbox = sandbox::create(work_dir, &spec.agent_id, &spec.framework_id, task_id).await?;
    let env = command::task_env(spec, &sandbox)?;
    for volume in &spec.volumes {
        let dir = sandbox::volume_dir(work_dir, &spec.agent_id, &volume.persistence_id);
        sandbox::mount(&sandbox, &dir, volume).await?;
    }
    // The executor's URIs too: for the DEFAULT executor there are none, and
    // fetching them into the same sandbox is what a command task would see.
    let executor_uris = spec.executor.iter().filter_map(|e| e.command.as_ref());
    let uris = executor_uris
        .chain(spec.task.command.as_ref())
        .flat_map(|c| c.uris.iter());
    for uri in uris {
        fetch::fetch(uri, &sandbox)
            .await
            .map_err(|source| ProcessError::Fetch {
                uri: uri.value.clone(),
                source,
            })?;
    }
    let log = |name: &str| {
        let path = sandbox.join(name);
        File::create(&path).map_err(|source| ProcessError::CreateSandbox { path, source })
    };
    let (stdout, stderr) = (log("stdout")?, log("stderr")?);
    Ok(Prepared {
        invocation,
        env,
        sandbox,
        stdout,
        stderr,
        health,
        check,
    })
}
