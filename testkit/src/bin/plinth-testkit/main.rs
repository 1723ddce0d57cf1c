//! `plinth-testkit`: command-line front end of the testkit.
//!
//! `plinth-testkit master --listen 127.0.0.1:5050 --agents 3 --mode process`
//! starts a fake Mesos master, prints the URL it serves on as the first line
//! of stdout, and runs until SIGINT or SIGTERM, then kills every process it
//! started.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod up;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};
use plinth_testkit::{AgentMode, AgentSpec, MasterConfig, TestMaster};

#[derive(Debug, Parser)]
#[command(
    name = "plinth-testkit",
    version,
    about = "Plinth's testkit: a fake Mesos master and local agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a fake Mesos master (scheduler API, /master/state, fault control).
    Master(MasterArgs),
    /// Run a svc.yml service locally: a master with process agents, file
    /// state and the scheduler; shows progress until the deploy completes.
    Up(up::UpArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Tasks are simulated (STAGING → STARTING → RUNNING, then what tests inject).
    Simulated,
    /// Tasks run as local processes.
    Process,
}

#[derive(Debug, clap::Args)]
struct MasterArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:5050")]
    listen: SocketAddr,
    /// Number of agents.
    #[arg(long, default_value_t = 3)]
    agents: usize,
    /// How agents run tasks.
    #[arg(long, value_enum, default_value_t = Mode::Simulated)]
    mode: Mode,
    /// CPUs per agent.
    #[arg(long, default_value_t = 4.0)]
    agent_cpus: f64,
    /// Memory per agent, MB.
    #[arg(long, default_value_t = 8192.0)]
    agent_mem: f64,
    /// ROOT disk per agent, MB.
    #[arg(long, default_value_t = 32768.0)]
    agent_disk: f64,
    /// Port range per agent, `A-B`.
    #[arg(long, default_value = "31000-32000")]
    agent_ports: String,
    /// MOUNT disks per agent.
    #[arg(long, default_value_t = 0)]
    mount_disks: usize,
    /// Size of each MOUNT disk, MB.
    #[arg(long, default_value_t = 10240.0)]
    mount_disk_size: f64,
    /// HEARTBEAT interval, seconds.
    #[arg(long, default_value_t = 15.0)]
    heartbeat_interval: f64,
    /// Minimum time between allocation runs, seconds.
    #[arg(long, default_value_t = 0.1)]
    allocation_interval: f64,
    /// Resend interval of unacknowledged status updates, seconds.
    #[arg(long, default_value_t = 10.0)]
    update_retry_interval: f64,
    /// Simulated tasks reach RUNNING after this many seconds.
    #[arg(long, default_value_t = 0.01)]
    task_start_delay: f64,
    /// Sandboxes and volumes of process agents (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Seed of ids and uuids (default: random).
    #[arg(long)]
    seed: Option<u64>,
    /// Require HTTP Basic framework authentication with `principal:secret` (repeatable).
    #[arg(long = "credential")]
    credentials: Vec<String>,
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    if !value.is_finite() || value < 0.0 {
        bail!("--{flag} must be a non-negative number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

fn port_range(text: &str) -> anyhow::Result<(u64, u64)> {
    let (a, b) = text
        .split_once('-')
        .with_context(|| format!("--agent-ports must look like 31000-32000, not {text:?}"))?;
    let a: u64 = a
        .trim()
        .parse()
        .with_context(|| format!("bad port {a:?} in --agent-ports"))?;
    let b: u64 = b
        .trim()
        .parse()
        .with_context(|| format!("bad port {b:?} in --agent-ports"))?;
    if a > b || b > 65535 {
        bail!("--agent-ports {text:?} is not a range within 0-65535");
    }
    Ok((a, b))
}

impl MasterArgs {
    fn config(&self) -> anyhow::Result<MasterConfig> {
        let mut credentials = BTreeMap::new();
        for c in &self.credentials {
            let (p, s) = c
                .split_once(':')
                .with_context(|| format!("--credential must be principal:secret, not {c:?}"))?;
            credentials.insert(p.to_owned(), s.to_owned());
        }
        for (flag, v) in [
            ("agent-cpus", self.agent_cpus),
            ("agent-mem", self.agent_mem),
            ("agent-disk", self.agent_disk),
            ("mount-disk-size", self.mount_disk_size),
        ] {
            if !v.is_finite() || v < 0.0 {
                bail!("--{flag} must be a non-negative number, not {v}");
            }
        }
        let heartbeat = seconds(self.heartbeat_interval, "heartbeat-interval")?;
        if heartbeat.is_zero() {
            bail!("--heartbeat-interval must be positive");
        }
        Ok(MasterConfig {
            listen: self.listen,
            agents: self.agents,
            agent: AgentSpec {
                cpus: self.agent_cpus,
                mem: self.agent_mem,
                disk: self.agent_disk,
                ports: vec![port_range(&self.agent_ports)?],
                mount_disks: vec![self.mount_disk_size; self.mount_disks],
                ..AgentSpec::default()
            },
            mode: match self.mode {
                Mode::Simulated => AgentMode::Simulated,
                Mode::Process => AgentMode::Process,
            },
            heartbeat_interval: heartbeat,
            allocation_interval: seconds(self.allocation_interval, "allocation-interval")?,
            update_retry_interval: seconds(self.update_retry_interval, "update-retry-interval")?,
            task_start_delay: seconds(self.task_start_delay, "task-start-delay")?,
            seed: self.seed,
            work_dir: self.work_dir.clone(),
            credentials,
            ..MasterConfig::default()
        })
    }
}

async fn run_master(args: MasterArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let master = TestMaster::start(config)
        .await
        .context("starting the testkit master")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", master.url())?;
        out.flush()?;
    }
    wait_for_signal().await?;
    tracing::info!("shutting down");
    master.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `up` talks to a person on stdout; keep its log to warnings by default.
    let default_filter = match cli.command {
        Command::Master(_) => "info",
        Command::Up(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    match cli.command {
        Command::Master(args) => runtime.block_on(run_master(args)),
        Command::Up(args) => runtime.block_on(up::run(args)),
    }
}
