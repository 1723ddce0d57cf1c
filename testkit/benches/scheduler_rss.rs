//! Scheduler memory: VmRSS of a real `plinth scheduler` process, idle with a
//! small deployed service and with 10,000 tasks, against a
//! `plinth-testkit master` process, state in ZooKeeper.
//!
//! Cases (each its own state root and framework, one master):
//! 1. **idle, small service**: 3 pods (ports, ROOT volumes); deploy to
//!    COMPLETE, let it settle, sample VmRSS.
//! 2. **10,000 tasks, after deploying them**: a 10,000-pod parallel service
//!    deployed by the process; VmRSS once COMPLETE and settled (includes what
//!    the allocator kept from the deploy), and VmHWM (peak).
//! 3. **10,000 tasks, restarted**: that scheduler is stopped and a new
//!    process started on the same state; VmRSS once it is back to healthy:
//!    the steady state of a scheduler that holds 10,000 tasks.
//!
//! Aims: under 30 MB idle, under 150 MB with 10,000 tasks.
//!
//! `/proc/<pid>/status` is read, so this needs Linux. The `plinth` binary
//! must be built first — `cargo build --release -p plinth --bin plinth` —
//! it is looked up next to this bench (`target/release/plinth`) or at
//! `PLINTH_BIN`. `plinth-testkit` is this package's own binary.
//!
//! Run: `cargo build --release -p plinth --bin plinth && cargo bench -p
//! plinth-testkit --bench scheduler_rss`. Uses `PLINTH_TEST_ZK` or starts a
//! private ZooKeeper from the Debian `zookeeper` package; prints `skipped: no
//! ZooKeeper` without one. `PLINTH_BENCH_TASKS` changes the large count.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use common::env_or;
use plinth::state::testing::TestZooKeeper;

const AGENTS: usize = 1000;

const SMALL_SPEC: &str = r#"
name: rss-small
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.5
        memory: 256
        ports:
          api:
            port: 0
            env-key: PORT_API
        volume:
          path: greeting
          type: ROOT
          size: 64
  world:
    count: 2
    placement: '[["hostname", "UNIQUE"]]'
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.25
        memory: 128
        volume:
          path: world-data
          type: ROOT
          size: 32
"#;

fn large_spec(tasks: usize) -> String {
    format!(
        r#"
name: rss-large
pods:
  node:
    count: {tasks}
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

// === child processes ===

/// A child process killed (TERM, then KILL) when dropped.
struct Proc {
    child: Child,
    what: &'static str,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait up to 10 s, then SIGKILL.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop on TERM; killing it", self.what);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn plinth_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("PLINTH_BIN") {
        return Ok(PathBuf::from(p));
    }
    // target/release/deps/scheduler_rss-<hash> → target/release/plinth
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("plinth"))
        .context("no directory above the bench executable")?;
    if !bin.exists() {
        bail!(
            "{} is missing: build it first with `cargo build --release -p plinth --bin plinth` (or set PLINTH_BIN)",
            bin.display()
        );
    }
    Ok(bin)
}

/// Starts `plinth-testkit master` and returns it with its URL.
fn start_master() -> anyhow::Result<(Proc, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plinth-testkit"))
        .args([
            "master",
            "--listen",
            "127.0.0.1:0",
            "--agents",
            &AGENTS.to_string(),
        ])
        .args([
            "--heartbeat-interval",
            "5",
            "--allocation-interval",
            "0.01",
            "--task-start-delay",
            "0.001",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting plinth-testkit master")?;
    let stdout = child.stdout.take().context("master stdout")?;
    let proc = Proc {
        child,
        what: "plinth-testkit master",
    };
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line.trim().to_owned();
    if !url.starts_with("http") {
        bail!("plinth-testkit master printed {line:?} instead of its URL");
    }
    Ok((proc, url))
}

/// Starts `plinth scheduler` and returns it with its API address.
fn start_scheduler(
    spec: &Path,
    master: &str,
    state: &str,
    log: &Path,
) -> anyhow::Result<(Proc, SocketAddr)> {
    let log_file = std::fs::File::create(log)?;
    let mut child = Command::new(plinth_bin()?)
        .arg("scheduler")
        .arg("--spec")
        .arg(spec)
        .args(["--master", master, "--state", state])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(Stdio::piped())
        .spawn()
        .context("starting plinth scheduler")?;
    let stderr = child.stderr.take().context("scheduler stderr")?;
    let proc = Proc {
        child,
        what: "plinth scheduler",
    };
    // "plinth scheduler: operator API on http://ADDR"; keep draining stderr
    // afterwards so the process never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                if let Some(addr) = line.split("operator API on http://").nth(1) {
                    return Ok((proc, addr.trim().parse()?));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                bail!("plinth scheduler exited before its API listened")
            }
        }
    }
    bail!("plinth scheduler did not report its API address within 60 s")
}

/// `GET path` over plain HTTP/1.0: the status code.
fn http_status(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let text = String::from_utf8_lossy(&head[..n]);
    let code = text
        .split_whitespace()
        .nth(1)
        .context("no status line")?
        .parse()?;
    // Drain the rest so the server is not left writing into a closed socket.
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    Ok(code)
}

/// Waits until the service reports healthy (`/v1/health` 200: deploy and
/// recovery complete; `/v1/plans/deploy` 200 without it), polling every
/// `every`.
fn wait_healthy(addr: SocketAddr, within: Duration, every: Duration) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    let mut path = "/v1/health";
    while t0.elapsed() < within {
        match http_status(addr, path) {
            Ok(200) => return Ok(t0.elapsed().as_secs_f64()),
            // A build without `/v1/health`: the deploy plan answers 200 once COMPLETE.
            Ok(404) => path = "/v1/plans/deploy",
            _ => {}
        }
        std::thread::sleep(every);
    }
    bail!("not healthy within {within:?}")
}

/// `(VmRSS, VmHWM)` in MB (10^6 bytes, the unit of the aims; `/proc`
/// reports KiB).
fn rss(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} missing"))?;
        let kb: f64 = line
            .split_whitespace()
            .nth(1)
            .context("no value")?
            .parse()?;
        Ok(kb * 1024.0 / 1e6)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Samples VmRSS `n` times, `every` apart, after `settle`: (min, max, last HWM).
fn sample(
    pid: u32,
    settle: Duration,
    n: usize,
    every: Duration,
) -> anyhow::Result<(f64, f64, f64)> {
    std::thread::sleep(settle);
    let mut lo = f64::MAX;
    let mut hi: f64 = 0.0;
    let mut hwm = 0.0;
    for _ in 0..n {
        let (r, h) = rss(pid)?;
        lo = lo.min(r);
        hi = hi.max(r);
        hwm = h;
        std::thread::sleep(every);
    }
    Ok((lo, hi, hwm))
}

fn run() -> anyhow::Result<()> {
    let tasks: usize = env_or("PLINTH_BENCH_TASKS", 10_000);
    let Some(zk) = TestZooKeeper::shared() else {
        println!("skipped: no ZooKeeper");
        return Ok(());
    };
    plinth_bin()?;
    let dir = tempfile::tempdir()?;
    let small = dir.path().join("small.yml");
    let large = dir.path().join("large.yml");
    std::fs::write(&small, SMALL_SPEC)?;
    std::fs::write(&large, large_spec(tasks))?;
    let (mut master, url) = start_master()?;
    let settle = Duration::from_secs(3);

    // 1. idle, small service
    let state = format!(
        "zk://{}{}",
        zk.connect(),
        TestZooKeeper::unique_root("rss-small")
    );
    let (mut sched, api) = start_scheduler(&small, &url, &state, &dir.path().join("small.log"))?;
    let small_deploy = wait_healthy(api, Duration::from_secs(60), Duration::from_millis(100))?;
    let (small_lo, small_hi, small_hwm) =
        sample(sched.pid(), settle, 10, Duration::from_millis(200))?;
    sched.stop();

    // 2. 10,000 tasks, deployed by this process
    let state = format!(
        "zk://{}{}",
        zk.connect(),
        TestZooKeeper::unique_root("rss-large")
    );
    let (mut sched, api) = start_scheduler(&large, &url, &state, &dir.path().join("large.log"))?;
    let large_deploy = wait_healthy(api, Duration::from_secs(170), Duration::from_secs(1))?;
    let (dep_lo, dep_hi, dep_hwm) = sample(sched.pid(), settle, 10, Duration::from_millis(200))?;
    sched.stop();

    // 3. 10,000 tasks, restarted on the same state
    let t0 = Instant::now();
    let (mut sched, api) = start_scheduler(&large, &url, &state, &dir.path().join("restart.log"))?;
    wait_healthy(api, Duration::from_secs(60), Duration::from_millis(100))?;
    let restart_healthy = t0.elapsed().as_secs_f64();
    let (re_lo, re_hi, re_hwm) = sample(sched.pid(), settle, 10, Duration::from_millis(200))?;
    let restart_alive = matches!(sched.child.try_wait(), Ok(None));
    sched.stop();
    master.stop();

    println!(
        "scheduler RSS: `plinth scheduler` processes against a `plinth-testkit master` process ({AGENTS} simulated agents), ZooKeeper state"
    );
    println!("  VmRSS sampled 10× over 2 s after {settle:?} of settling; MB (10^6 bytes)");
    println!(
        "  case                                    deploy/ready   VmRSS min–max    VmHWM (peak)"
    );
    println!(
        "  idle, 3-pod service                     {small_deploy:>9.1} s   {small_lo:>6.1}–{small_hi:<6.1}  {small_hwm:>8.1}"
    );
    println!(
        "  {tasks} tasks, after deploying them      {large_deploy:>9.1} s   {dep_lo:>6.1}–{dep_hi:<6.1}  {dep_hwm:>8.1}"
    );
    println!(
        "  {tasks} tasks, restarted process         {restart_healthy:>9.1} s   {re_lo:>6.1}–{re_hi:<6.1}  {re_hwm:>8.1}{}",
        if restart_alive {
            ""
        } else {
            "  (exited early!)"
        }
    );
    let verdict = |v: f64, aim: f64| if v < aim { "met" } else { "MISSED" };
    println!(
        "IDLE RSS: {small_hi:.1} MB (aim < 30 MB) — {}",
        verdict(small_hi, 30.0)
    );
    println!(
        "RSS WITH {tasks} TASKS: {re_hi:.1} MB restarted, {dep_hi:.1} MB after its own deploy (aim < 150 MB) — {}",
        verdict(re_hi.max(dep_hi), 150.0)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo test --benches` runs this without `--bench`: stay quick then.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "scheduler_rss: run with `cargo build --release -p plinth --bin plinth && cargo bench -p plinth-testkit --bench scheduler_rss`"
        );
        return Ok(());
    }
    run()
}
