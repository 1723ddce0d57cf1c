//! `plinth-testkit up`: the one-command local run.
//!
//! A testkit master with process agents, file state, and the scheduler of the
//! given svc.yml, all in this process. Shows plan progress until the deploy
//! completes, then serves until Ctrl-C, when it stops the scheduler and kills
//! every task process it started.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use plinth::api::ServiceSnapshot;
use plinth::plan::{DEPLOY_PLAN, Status};
use plinth::scheduler::{Scheduler, SchedulerOptions};
use plinth::spec::envfile::load_env;
use plinth::state::BackendConfig;
use plinth_testkit::{AgentMode, AgentSpec, MasterConfig, TestMaster};

/// Flags of `plinth-testkit up`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// The service spec (svc.yml).
    spec: PathBuf,
    /// A file of KEY=VALUE lines rendering the spec; repeatable.
    #[arg(long = "env-file", value_name = "FILE")]
    env_files: Vec<PathBuf>,
    /// One variable, KEY=VALUE; repeatable; wins over env files.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Number of process agents.
    #[arg(long, default_value_t = 3)]
    agents: usize,
    /// Sandboxes, volumes and scheduler state of this run (cleared at start:
    /// the in-process master's agents do not outlive it).
    #[arg(long = "work-dir", default_value = ".plinth-up", value_name = "DIR")]
    work_dir: PathBuf,
    /// Where the operator API listens.
    #[arg(
        long = "api-listen",
        default_value = "127.0.0.1:0",
        value_name = "ADDR"
    )]
    api_listen: SocketAddr,
}

pub(crate) async fn run(args: UpArgs) -> anyhow::Result<()> {
    let env = load_env(&args.env_files, &args.env)?;
    let loaded = plinth::spec::load_file(&args.spec, &env).map_err(|e| anyhow::anyhow!("{e}"))?;
    loaded
        .check_runnable()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let work_dir = std::path::absolute(&args.work_dir)
        .with_context(|| format!("--work-dir {}", args.work_dir.display()))?;
    // The master lives in this process: its agents, reservations and volumes
    // end with it, so state from an earlier run cannot be resumed.
    for stale in ["agents", "state"] {
        let dir = work_dir.join(stale);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {} from an earlier run", dir.display()))?;
        }
    }
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    let name = loaded.spec.name.clone();

    let master = TestMaster::start(MasterConfig {
        agents: args.agents,
        agent: AgentSpec::default(),
        mode: AgentMode::Process,
        work_dir: Some(work_dir.clone()),
        ..MasterConfig::default()
    })
    .await
    .context("starting the testkit master")?;
    println!("master:    {}", master.url());

    let state = BackendConfig::File {
        dir: work_dir.join("state"),
    };
    let mut options = SchedulerOptions::new(loaded.spec, master.url(), state);
    options.api_listen = args.api_listen;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = Scheduler::start(options, async {
        let _ = stopped.await;
    })
    .await
    .context("starting the scheduler")?;
    println!("scheduler: http://{}/v1/plans/deploy", scheduler.api_addr());
    println!("work dir:  {}", work_dir.display());
    println!("deploying '{name}' on {} process agents...", args.agents);

    let mut snapshot = scheduler.snapshot();
    let started = Instant::now();
    let mut shown: BTreeMap<String, Status> = BTreeMap::new();
    let mut interrupted = std::pin::pin!(signal());
    let mut complete = false;
    let mut scheduler_ended = std::pin::pin!(scheduler.wait());
    loop {
        let current: std::sync::Arc<ServiceSnapshot> = snapshot.borrow_and_update().clone();
        if !complete {
            complete = report(&current, &mut shown, started);
            if complete {
                println!(
                    "serving; press Ctrl-C to stop (tasks keep their volumes in {})",
                    work_dir.display()
                );
            }
        }
        tokio::select! {
            changed = snapshot.changed() => if changed.is_err() { break },
            result = &mut scheduler_ended => {
                master.shutdown().await;
                return match result {
                    Ok(()) => bail!("the scheduler stopped"),
                    Err(e) => Err(e).context("the scheduler stopped"),
                };
            }
            () = &mut interrupted => break,
        }
    }
    println!("stopping...");
    let _ = stop.send(());
    let _ = scheduler_ended.await;
    master.shutdown().await;
    Ok(())
}

/// Prints step changes and a one-line summary; true once deploy is complete.
fn report(
    snapshot: &ServiceSnapshot,
    shown: &mut BTreeMap<String, Status>,
    started: Instant,
) -> bool {
    let Some(deploy) = snapshot.plans.iter().find(|p| p.name() == DEPLOY_PLAN) else {
        return false;
    };
    let mut out = std::io::stdout().lock();
    let steps: Vec<(String, Status)> = deploy
        .phases()
        .iter()
        .flat_map(|phase| {
            phase
                .steps()
                .iter()
                .map(move |step| (format!("{}/{}", phase.name(), step.name()), step.status()))
        })
        .collect();
    let total = steps.len();
    let mut done = 0;
    for (key, status) in steps {
        if status == Status::Complete {
            done += 1;
        }
        if shown.get(&key) != Some(&status) {
            let _ = writeln!(out, "  [{done}/{total}] {key}: {status}");
            shown.insert(key, status);
        }
    }
    let complete = deploy.is_complete();
    if complete {
        let _ = writeln!(
            out,
            "deploy plan COMPLETE: {total} steps in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    let _ = out.flush();
    complete
}

async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
