//! End-to-end deploy of a 1,000-pod parallel service by the Plinth scheduler
//! on 1,000 simulated agents of the testkit master, over loopback HTTP, with
//! state in a real ZooKeeper — as a ratio to the testkit's null-scheduler
//! ceiling, measured in this same binary on an identically configured
//! master.
//!
//! Three runs, one after another, each on a fresh master (1,000 agents,
//! allocation every 10 ms, simulated tasks start after 1 ms, protobuf):
//! 1. **null ceiling (steady)**: the loop of `benches/null_scheduler.rs`
//!    (accept every offer with one tiny task, acknowledge every update, 32
//!    calls in flight) for `PLINTH_BENCH_SECS` (default 5 s): launches/s.
//! 2. **null deploy**: the same null scheduler launching exactly 1,000 tasks
//!    (one per offer) and waiting until all 1,000 are RUNNING: the like-for-like
//!    time a scheduler that does no work at all needs for this deploy.
//! 3. **plinth deploy**: `Scheduler::start` on a 1,000-pod service (one pod
//!    type, `count: 1000`, a `plans:` section with a parallel phase, a ROOT
//!    volume) with ZooKeeper state, until the deploy plan is COMPLETE.
//!
//! The figure of merit is plinth launches/s (1,000 / time from
//! `Scheduler::start` to COMPLETE) over the steady null ceiling (aim: at
//! least 0.5); the ratio to the null deploy time is printed too.
//!
//! Run: `cargo bench -p plinth-testkit --bench scheduler_e2e_deploy`.
//! Uses `PLINTH_TEST_ZK` or starts a private ZooKeeper from the Debian
//! `zookeeper` package; prints `skipped: no ZooKeeper` without one.
//! `PLINTH_BENCH_PODS` changes the pod count (default 1000).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::env_or;
use plinth::scheduler::{Scheduler, SchedulerOptions};
use plinth::state::BackendConfig;
use plinth::state::testing::TestZooKeeper;
use plinth_proto::v1::TaskState;
use plinth_testkit::TestMaster;

const AGENTS: usize = 1000;

/// The master every run uses: the null-scheduler bench's configuration.
async fn master() -> anyhow::Result<TestMaster> {
    common::master(AGENTS).await
}

/// One null-scheduler run on a fresh master (see [`common::null_scheduler`]).
async fn null_scheduler(secs: f64, limit: Option<u64>) -> anyhow::Result<common::NullRun> {
    let master = master().await?;
    let run = common::null_scheduler(&master, secs, limit).await?;
    master.shutdown().await;
    Ok(run)
}

fn spec_text(pods: usize) -> String {
    format!(
        r#"
name: e2e-bench
pods:
  node:
    count: {pods}
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.1
        memory: 32
        volume:
          path: data
          type: ROOT
          size: 16
plans:
  deploy:
    strategy: parallel
    phases:
      node-deploy:
        strategy: parallel
        pod: node
"#
    )
}

// === the plinth deploy ===

/// Milestones of the plinth deploy, seconds after `Scheduler::start` was called.
#[derive(Debug, Default)]
struct Milestones {
    started: f64,
    subscribed: Option<f64>,
    first_launch: Option<f64>,
    half_launched: Option<f64>,
    all_launched: Option<f64>,
    all_running: Option<f64>,
    complete: f64,
}

async fn plinth_deploy(
    pods: usize,
    state: BackendConfig,
) -> anyhow::Result<(Milestones, plinth_testkit::cluster::Stats)> {
    let master = master().await?;
    let env = BTreeMap::new();
    let spec = plinth::spec::load_str(&spec_text(pods), &env, Some("e2e-bench.yml"))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .spec;
    let mut options = SchedulerOptions::new(spec, master.url(), state);
    options.seed = 7;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let master = Arc::new(master);

    // A sampler records when the master saw the milestones (5 ms resolution).
    let t0 = Instant::now();
    let sampler_master = Arc::clone(&master);
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(async move {
        let mut m = Milestones::default();
        let pods = pods as u64;
        loop {
            let at = t0.elapsed().as_secs_f64();
            let (subscribed, running) = sampler_master.inspect(|c| {
                let mut subscribed = false;
                let mut running = 0u64;
                for fw in c.frameworks() {
                    subscribed |= fw.stream.is_some();
                    running += fw
                        .tasks
                        .values()
                        .filter(|t| t.state == TaskState::TaskRunning)
                        .count() as u64;
                }
                (subscribed, running)
            });
            let launched = sampler_master.stats().tasks_launched;
            if subscribed && m.subscribed.is_none() {
                m.subscribed = Some(at);
            }
            if launched > 0 && m.first_launch.is_none() {
                m.first_launch = Some(at);
            }
            if launched >= pods / 2 && m.half_launched.is_none() {
                m.half_launched = Some(at);
            }
            if launched >= pods && m.all_launched.is_none() {
                m.all_launched = Some(at);
            }
            if running >= pods && m.all_running.is_none() {
                m.all_running = Some(at);
            }
            tokio::select! {
                _ = &mut done_rx => return m,
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
        }
    });

    let scheduler = Scheduler::start(options, async {
        let _ = stopped.await;
    })
    .await?;
    let started = t0.elapsed().as_secs_f64();
    let mut snapshot = scheduler.snapshot();
    tokio::time::timeout(
        Duration::from_secs(150),
        snapshot.wait_for(|s| {
            s.plans
                .iter()
                .any(|p| p.name() == "deploy" && p.is_complete())
        }),
    )
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "deploy did not complete within 150 s (master: {:?})",
            master.stats()
        )
    })??;
    let complete = t0.elapsed().as_secs_f64();
    let _ = done_tx.send(());
    let mut m = sampler.await?;
    m.started = started;
    m.complete = complete;
    let stats = master.stats();
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), scheduler.wait()).await??;
    if let Ok(master) = Arc::try_unwrap(master) {
        master.shutdown().await;
    }
    Ok((m, stats))
}

fn fmt(at: Option<f64>) -> String {
    at.map_or_else(|| "—".to_owned(), |s| format!("{:7.3} s", s))
}

async fn run() -> anyhow::Result<()> {
    let secs: f64 = env_or("PLINTH_BENCH_SECS", 5.0);
    let pods: usize = env_or("PLINTH_BENCH_PODS", 1000);
    let Some(zk) = TestZooKeeper::shared() else {
        println!("skipped: no ZooKeeper");
        return Ok(());
    };
    let root = TestZooKeeper::unique_root("e2e-deploy");
    let state: BackendConfig = format!("zk://{}{root}", zk.connect()).parse()?;

    let steady = null_scheduler(secs, None).await?;
    let ceiling = steady.launched() as f64 / steady.elapsed;
    let null_deploy = null_scheduler(0.0, Some(pods as u64)).await?;

    let (m, stats) = plinth_deploy(pods, state).await?;
    let plinth_rate = pods as f64 / m.complete;
    let launch_window = match (m.first_launch, m.all_launched) {
        (Some(a), Some(b)) if b > a => Some(pods as f64 / (b - a)),
        _ => None,
    };

    println!(
        "scheduler end-to-end deploy, {pods} pods (parallel plan, ROOT volume) on {AGENTS} simulated agents, ZooKeeper state, protobuf over loopback HTTP"
    );
    println!(
        "null-scheduler ceiling (same code as benches/null_scheduler.rs, run in this binary on an identical master):"
    );
    println!(
        "  steady:      {:>6} launches in {:.1} s = {:.0} launches/s ({:.0} offers/s)",
        steady.launched(),
        steady.elapsed,
        ceiling,
        steady.offers() as f64 / steady.elapsed
    );
    println!(
        "  deploy:      {} tasks launched and RUNNING {:.3} s after subscribing = {:.0} tasks/s",
        null_deploy.launched(),
        null_deploy.elapsed,
        pods as f64 / null_deploy.elapsed
    );
    println!("plinth scheduler (times after Scheduler::start was called):");
    println!("  leader + state loaded + API up: {:7.3} s", m.started);
    println!("  subscribed (master side):       {}", fmt(m.subscribed));
    println!("  first task launched:            {}", fmt(m.first_launch));
    println!("  half the tasks launched:        {}", fmt(m.half_launched));
    println!("  all tasks launched:             {}", fmt(m.all_launched));
    println!("  all tasks RUNNING (master):     {}", fmt(m.all_running));
    println!("  deploy plan COMPLETE:           {:7.3} s", m.complete);
    println!(
        "  master: {} offers sent, {} launched, {} updates sent, {} acks",
        stats.offers_sent, stats.tasks_launched, stats.updates_sent, stats.acks
    );
    println!(
        "  rate: {pods} pods / {:.3} s = {plinth_rate:.0} launches/s end to end{}",
        m.complete,
        launch_window.map_or_else(String::new, |r| format!(
            " ({r:.0} launches/s between first and last launch)"
        ))
    );
    println!(
        "RATIO to the steady null ceiling: {:.3} (aim ≥ 0.5) — {}",
        plinth_rate / ceiling,
        if plinth_rate / ceiling >= 0.5 {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "ratio of null-deploy time to plinth deploy time: {:.3}",
        null_deploy.elapsed / m.complete
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo test --benches` runs this without `--bench`: stay quick then.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "scheduler_e2e_deploy: run with `cargo bench -p plinth-testkit --bench scheduler_e2e_deploy`"
        );
        return Ok(());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
