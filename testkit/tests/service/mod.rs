//! Helpers shared by the integration tests that run a whole service — a
//! `plinth::scheduler::Scheduler` — against a [`TestMaster`]: starting and
//! stopping the scheduler, waiting on its plans, reading running tasks,
//! reservations and volumes off the master's state, polling, and running the
//! real `plinth` CLI binary.
//!
//! Every test binary compiles this module on its own and uses a part of it.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use plinth::api::ServiceSnapshot;
use plinth::plan::Plan;
use plinth::scheduler::{Scheduler, SchedulerOptions};
use plinth::spec::ServiceSpec;
use plinth::state::BackendConfig;
use plinth_testkit::{MasterConfig, TestMaster};
use serde_json::Value;
use tokio::sync::{oneshot, watch};

// === the master ===

/// A master with `agents` agents and 1 s heartbeats, otherwise the defaults.
pub async fn master(agents: usize) -> TestMaster {
    master_with(agents, |_| {}).await
}

/// [`master`] with `f` applied to its config before it starts.
pub async fn master_with(agents: usize, f: impl FnOnce(&mut MasterConfig)) -> TestMaster {
    let mut config = MasterConfig {
        agents,
        heartbeat_interval: Duration::from_secs(1),
        ..MasterConfig::default()
    };
    f(&mut config);
    TestMaster::start(config).await.expect("master starts")
}

// === the scheduler ===

/// Options for `spec` on `master` with a fixed seed; each start of one
/// service needs its own (ids generated from one seed repeat).
pub fn options(
    spec: ServiceSpec,
    master: &TestMaster,
    state: &BackendConfig,
    seed: u64,
) -> SchedulerOptions {
    let mut options = SchedulerOptions::new(spec, master.url(), state.clone());
    options.seed = seed;
    options
}

/// A running scheduler and the means to stop it.
pub struct Running {
    pub scheduler: Scheduler,
    stop: oneshot::Sender<()>,
}

/// Starts a scheduler that runs until [`Running::stop`].
pub async fn start(options: SchedulerOptions) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let scheduler = Scheduler::start(options, async {
        let _ = stopped.await;
    })
    .await
    .expect("scheduler starts");
    Running { scheduler, stop }
}

impl Running {
    /// Stops the scheduler; it must stop cleanly within 10 s.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.scheduler.wait())
            .await
            .expect("scheduler stops within 10 s")
            .expect("scheduler stops cleanly");
    }

    /// The base URL of the scheduler's API.
    pub fn url(&self) -> String {
        format!("http://{}", self.scheduler.api_addr())
    }

    /// Waits until a published snapshot satisfies `done` (see [`until`]).
    pub async fn until(
        &self,
        what: &str,
        secs: u64,
        done: impl FnMut(&Arc<ServiceSnapshot>) -> bool,
    ) {
        until(&mut self.scheduler.snapshot(), what, secs, done).await;
    }

    /// Waits until the plan `name` is complete (see [`plan_complete`]).
    pub async fn plan_complete(&self, name: &str, secs: u64) {
        plan_complete(&mut self.scheduler.snapshot(), name, secs).await;
    }
}

/// Waits until a snapshot satisfies `done`: panics with "`what` within
/// `secs` s" when none does in time.
pub async fn until(
    snapshot: &mut watch::Receiver<Arc<ServiceSnapshot>>,
    what: &str,
    secs: u64,
    done: impl FnMut(&Arc<ServiceSnapshot>) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(secs), snapshot.wait_for(done))
        .await
        .unwrap_or_else(|_| panic!("{what} within {secs} s"))
        .expect("scheduler keeps publishing");
}

/// Waits until the plan `name` is complete, at most `secs` seconds.
pub async fn plan_complete(
    snapshot: &mut watch::Receiver<Arc<ServiceSnapshot>>,
    name: &str,
    secs: u64,
) {
    until(snapshot, &format!("plan {name} completes"), secs, |s| {
        plan(s, name).is_some_and(Plan::is_complete)
    })
    .await;
}

/// The plan `name` of a snapshot.
pub fn plan<'a>(s: &'a ServiceSnapshot, name: &str) -> Option<&'a Plan> {
    s.plans.iter().find(|p| p.name() == name)
}

// === what the master holds ===

/// `(task name, task id, agent id)` of the running tasks, in the order of
/// the master's state.
fn running_in_master_order(master: &TestMaster) -> Vec<(String, String, String)> {
    let state = master.state();
    let mut out = Vec::new();
    for fw in state["frameworks"].as_array().into_iter().flatten() {
        for t in fw["tasks"].as_array().into_iter().flatten() {
            if t["state"] == "TASK_RUNNING" {
                let s = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
                out.push((s("name"), s("id"), s("slave_id")));
            }
        }
    }
    out
}

/// Running tasks on the master: name → (task id, agent id).
pub fn running_tasks(master: &TestMaster) -> BTreeMap<String, (String, String)> {
    running_in_master_order(master)
        .into_iter()
        .map(|(name, id, agent)| (name, (id, agent)))
        .collect()
}

/// `(task name, task id, agent id)` of every running task on the master,
/// sorted; a name running twice shows twice.
pub fn running_list(master: &TestMaster) -> Vec<(String, String, String)> {
    let mut out = running_in_master_order(master);
    out.sort();
    out
}

/// `(task id, agent id)` of the (first) running task `name` on the master.
pub fn running_task(master: &TestMaster, name: &str) -> Option<(String, String)> {
    running_in_master_order(master)
        .into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, id, agent)| (id, agent))
}

/// Reserved resources on each agent of the master (agents without any too).
fn reserved_by_agent(master: &TestMaster) -> BTreeMap<String, Vec<Value>> {
    let state = master.state();
    let mut out = BTreeMap::new();
    for agent in state["slaves"].as_array().into_iter().flatten() {
        let resources: Vec<Value> = agent["reserved_resources_full"]
            .as_object()
            .into_iter()
            .flat_map(|roles| roles.values())
            .flat_map(|list| list.as_array().into_iter().flatten().cloned())
            .collect();
        out.insert(
            agent["id"].as_str().unwrap_or_default().to_owned(),
            resources,
        );
    }
    out
}

/// The persistence ids among `resources`, sorted.
fn persistence_ids<'a>(resources: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut ids: Vec<String> = resources
        .into_iter()
        .filter_map(|r| r["disk"]["persistence"]["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// Reserved resources on all agents: (count, persistence ids sorted).
pub fn reserved(master: &TestMaster) -> (usize, Vec<String>) {
    let by_agent = reserved_by_agent(master);
    let resources: Vec<&Value> = by_agent.values().flatten().collect();
    (resources.len(), persistence_ids(resources))
}

/// Reserved resources on `agent`: (count, persistence ids sorted); none on
/// an agent the master does not know.
pub fn reserved_on(master: &TestMaster, agent: &str) -> (usize, Vec<String>) {
    let resources = reserved_by_agent(master).remove(agent).unwrap_or_default();
    (resources.len(), persistence_ids(&resources))
}

/// Persistence ids of all volumes on the master, sorted.
pub fn volumes(master: &TestMaster) -> Vec<String> {
    reserved(master).1
}

/// Persistence ids of the volumes on each agent, sorted.
pub fn volumes_by_agent(master: &TestMaster) -> BTreeMap<String, Vec<String>> {
    reserved_by_agent(master)
        .into_iter()
        .map(|(agent, resources)| (agent, persistence_ids(&resources)))
        .collect()
}

// === waiting ===

/// Polls `probe` until it gives a value; panics with "`what` did not happen
/// within `secs` s" when it does not in time.
pub async fn eventually<T>(what: &str, secs: u64, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// === the CLI ===

/// The `plinth` binary of this workspace, built once per test run with the
/// same cargo and profile as the test.
pub fn plinth_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // target/<profile>/deps/<test> → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let mut build = std::process::Command::new(cargo);
        build
            .current_dir(workspace)
            .args(["build", "--quiet", "-p", "plinth", "--bin", "plinth"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the plinth binary failed");
        let bin = profile_dir.join("plinth");
        assert!(bin.exists(), "no plinth binary at {}", bin.display());
        bin
    })
}

/// Builds the `plinth` binary off the async runtime (the first build takes
/// a while) and checks it is there.
pub async fn build_plinth_bin() {
    let bin = tokio::task::spawn_blocking(plinth_bin)
        .await
        .expect("build");
    assert!(bin.exists());
}

/// What one CLI run printed, and its exit code.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `plinth ARGS` against the scheduler at `url`, with `--token-file`
/// when given (never a `PLINTH_TOKEN` from the environment); it must answer
/// within 60 s.
pub async fn cli(url: &str, token_file: Option<&Path>, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(plinth_bin());
    command
        .args(args)
        .env("PLINTH_URL", url)
        .env_remove("PLINTH_TOKEN");
    if let Some(file) = token_file {
        command.arg("--token-file").arg(file);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the CLI answers within 60 s")
        .expect("the CLI runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
