//! `plinth scheduler`: run any svc.yml service against a Mesos master.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use plinth::api::{ApiToken, TlsFiles};
use plinth::recovery::RecoveryPolicy;
use plinth::recovery::backoff::BackoffPolicy;
use plinth::scheduler::{Scheduler, SchedulerOptions, Stopped};
use plinth::spec::envfile::load_env;
use plinth::state::BackendConfig;
use plinth_proto::codec::Encoding;

/// Flags of `plinth scheduler`.
#[derive(Debug, Args)]
pub(crate) struct SchedulerArgs {
    /// The service spec (svc.yml).
    #[arg(long, value_name = "FILE")]
    spec: PathBuf,
    /// A file of KEY=VALUE lines rendering the spec; repeatable.
    #[arg(long = "env-file", value_name = "FILE")]
    env_files: Vec<PathBuf>,
    /// One variable, KEY=VALUE; repeatable; wins over env files.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// The Mesos master, e.g. http://127.0.0.1:5050.
    #[arg(long, env = "PLINTH_MASTER", value_name = "URL")]
    master: String,
    /// Where state lives: zk://HOST:PORT/ROOT, file:DIR or memory.
    #[arg(long, default_value = "file:plinth-state", value_name = "BACKEND")]
    state: String,
    /// Where the operator API listens (port 0 picks a free one).
    #[arg(
        long = "api-listen",
        default_value = "127.0.0.1:0",
        value_name = "ADDR"
    )]
    api_listen: SocketAddr,
    /// A file holding the operator API's bearer token: mutating calls then
    /// need `Authorization: Bearer <token>`.
    #[arg(long = "api-token-file", value_name = "FILE")]
    api_token_file: Option<PathBuf>,
    /// Require the API token for read-only calls too.
    #[arg(long = "api-auth-reads", requires = "api_token_file")]
    api_auth_reads: bool,
    /// Serve the operator API over TLS with this PEM certificate chain.
    #[arg(long = "api-tls-cert", value_name = "FILE", requires = "api_tls_key")]
    api_tls_cert: Option<PathBuf>,
    /// The PEM private key of --api-tls-cert.
    #[arg(long = "api-tls-key", value_name = "FILE", requires = "api_tls_cert")]
    api_tls_key: Option<PathBuf>,
    /// Mesos role (default <service>-role).
    #[arg(long)]
    role: Option<String>,
    /// Mesos principal (default <service>-principal).
    #[arg(long)]
    principal: Option<String>,
    /// A file holding the principal's secret, for HTTP Basic framework authentication.
    #[arg(long = "secret-file", value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// Talk JSON to the master instead of protobuf.
    #[arg(long)]
    json: bool,
    /// Seconds the master keeps our tasks while this scheduler is away.
    #[arg(long = "failover-timeout", default_value_t = 14 * 24 * 3600, value_name = "SECS")]
    failover_timeout: u64,
    /// Crash-loop backoff: seconds a task that failed twice in a row waits
    /// before its relaunch (the first failure relaunches at once).
    #[arg(long = "backoff-initial", default_value_t = 5.0, value_name = "SECS", value_parser = seconds)]
    backoff_initial: f64,
    /// Crash-loop backoff: each further failure multiplies the delay by this.
    #[arg(long = "backoff-factor", default_value_t = 2.0, value_name = "FACTOR", value_parser = factor)]
    backoff_factor: f64,
    /// Crash-loop backoff: the longest delay, in seconds.
    #[arg(long = "backoff-max", default_value_t = 300.0, value_name = "SECS", value_parser = seconds)]
    backoff_max: f64,
    /// Treat a task UNREACHABLE for this many seconds as permanently failed:
    /// its pod is placed anew elsewhere and its reservations and volumes
    /// (its data) are given up. Default: wait for the agent indefinitely.
    #[arg(long = "replace-unreachable-after", value_name = "SECS", value_parser = seconds)]
    replace_unreachable_after: Option<f64>,
    /// Uninstall the service instead of running it: kill every task, destroy
    /// every volume, unreserve every resource, tear the framework down and
    /// delete the state root. Exits 0 when done; run again to resume.
    #[arg(long)]
    uninstall: bool,
}

pub(crate) fn run(args: SchedulerArgs) -> ExitCode {
    crate::init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn serve(args: SchedulerArgs) -> anyhow::Result<()> {
    let env = load_env(&args.env_files, &args.env)?;
    let loaded = plinth::spec::load_file(&args.spec, &env).map_err(|e| anyhow::anyhow!("{e}"))?;
    let state: BackendConfig = args
        .state
        .parse()
        .with_context(|| format!("--state {}", args.state))?;
    let secret = match &args.secret_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --secret-file {}", path.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    // A state marked `uninstalling` resumes the uninstall, whatever the flags.
    if args.uninstall || plinth::uninstall::is_uninstalling(&state).await? {
        return uninstall(args, loaded.spec, state, secret).await;
    }
    loaded
        .check_runnable()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut options = SchedulerOptions::new(loaded.spec, args.master, state);
    options.api_listen = args.api_listen;
    if let Some(path) = &args.api_token_file {
        options.api.token = Some(ApiToken::from_file(path)?);
    }
    options.api.auth_reads = args.api_auth_reads;
    if let (Some(cert), Some(key)) = (args.api_tls_cert, args.api_tls_key) {
        options.api.tls = Some(TlsFiles { cert, key });
    }
    options.role = args.role;
    options.principal = args.principal;
    options.secret = secret;
    options.failover_timeout = Duration::from_secs(args.failover_timeout);
    options.recovery = RecoveryPolicy {
        backoff: BackoffPolicy {
            initial: Duration::from_secs_f64(args.backoff_initial),
            factor: args.backoff_factor,
            max: Duration::from_secs_f64(args.backoff_max),
            ..BackoffPolicy::default()
        },
        replace_unreachable_after: args.replace_unreachable_after.map(Duration::from_secs_f64),
    };
    if args.json {
        options.encoding = Encoding::Json;
    }
    let options_tls = options.api.tls.is_some();
    let scheduler = Scheduler::start(options, crate::shutdown_signal()).await?;
    let scheme = if options_tls { "https" } else { "http" };
    eprintln!(
        "plinth scheduler: operator API on {scheme}://{}",
        scheduler.api_addr()
    );
    if let Stopped::Uninstalled(report) = scheduler.stopped().await? {
        print_uninstalled(&report);
    }
    Ok(())
}

/// `--uninstall` (or a state marked `uninstalling`): see [`plinth::uninstall`].
async fn uninstall(
    args: SchedulerArgs,
    spec: plinth::spec::ServiceSpec,
    state: BackendConfig,
    secret: Option<String>,
) -> anyhow::Result<()> {
    if !args.uninstall {
        eprintln!("plinth scheduler: the state is marked 'uninstalling': resuming the uninstall");
    }
    let mut options = plinth::uninstall::UninstallOptions::new(spec, args.master, state);
    options.role = args.role;
    options.principal = args.principal;
    options.secret = secret;
    options.failover_timeout = Duration::from_secs(args.failover_timeout);
    if args.json {
        options.encoding = Encoding::Json;
    }
    let report = tokio::select! {
        report = plinth::uninstall::uninstall(options) => report?,
        () = crate::shutdown_signal() => anyhow::bail!("uninstall interrupted; run it again to finish"),
    };
    print_uninstalled(&report);
    Ok(())
}

fn print_uninstalled(report: &plinth::uninstall::UninstallReport) {
    eprintln!(
        "plinth scheduler: uninstalled: {} kills, {} reserved resources released, {} volumes destroyed, framework torn down: {}",
        report.kills, report.resources_released, report.volumes_destroyed, report.torn_down
    );
}

/// A non-negative number of seconds (at most about 31 years).
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1.0e9).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} is not a number of seconds between 0 and 1e9")),
        Err(_) => Err(format!("'{text}' is not a number of seconds")),
    }
}

/// A backoff multiplier: a finite number, at least 1.
fn factor(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (1.0..=1000.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} is not a factor between 1 and 1000")),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}
