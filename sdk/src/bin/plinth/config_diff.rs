//! `plinth config diff`: the dry run of a config update — which validators
//! fail, which pods would restart and in which order, what changes in each —
//! against the service's current target configuration, read from the
//! running scheduler (the CLI's global `--url`, `GET
//! /v1/configurations/target`) or straight from its state backend
//! (`--state`, no scheduler needed).
//!
//! Exit codes: 0 the change would be accepted, 1 it would be refused (or the
//! new spec does not load), 2 the comparison could not be made.
//!
//! Self-contained (no `crate::` paths), so tests can compile it on its own.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use plinth::config::{DryRun, dry_run, spec_from_stored};
use plinth::spec::envfile::load_env;
use plinth::spec::{ServiceSpec, load_file};
use plinth::state::BackendConfig;

/// Bound on the API request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest target-config answer accepted.
const MAX_BODY: usize = 4 << 20;

/// Flags of `plinth config diff` (the API's `--url`, `--token-file` and
/// `--json` are the CLI's global flags).
#[derive(Debug, Args)]
pub(crate) struct ConfigDiffArgs {
    /// The new service spec (svc.yml).
    #[arg(long, value_name = "FILE")]
    pub(crate) spec: PathBuf,
    /// A file of KEY=VALUE lines rendering the spec; repeatable.
    #[arg(long = "env-file", value_name = "FILE")]
    pub(crate) env_files: Vec<PathBuf>,
    /// One variable, KEY=VALUE; repeatable; wins over env files.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub(crate) env: Vec<String>,
    /// Read the target from the state backend instead of the scheduler's API
    /// (no scheduler needed): zk://HOST:PORT/ROOT or file:DIR.
    #[arg(long, value_name = "BACKEND")]
    pub(crate) state: Option<String>,
}

/// Where the current target configuration comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A running scheduler's API.
    Api {
        /// Base URL (`http://host:port`).
        url: String,
        /// Bearer token.
        token: Option<String>,
    },
    /// A state backend (`--state`).
    State(String),
}

impl Source {
    /// `--state` when given, else the API at `url` with the token from
    /// `token_file` (preferred) or `token`.
    pub(crate) fn new(
        args: &ConfigDiffArgs,
        url: &str,
        token_file: Option<&std::path::Path>,
        token: Option<&str>,
    ) -> anyhow::Result<Self> {
        if let Some(state) = &args.state {
            return Ok(Source::State(state.clone()));
        }
        let token = match (token_file, token) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read --token-file {}", path.display()))?;
                Some(text.trim().to_owned()).filter(|t| !t.is_empty())
            }
            (None, Some(t)) => Some(t.trim().to_owned()).filter(|t| !t.is_empty()),
            (None, None) => None,
        };
        Ok(Source::Api {
            url: url.to_owned(),
            token,
        })
    }
}

/// Runs the command, printing to stdout/stderr. `url`, `token_file`,
/// `token` and `json` are the CLI's global client flags.
pub(crate) fn run(
    args: ConfigDiffArgs,
    url: &str,
    token_file: Option<&std::path::Path>,
    token: Option<&str>,
    json: bool,
) -> ExitCode {
    let source = match Source::new(&args, url, token_file, token) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout().lock();
    match runtime.block_on(execute(&args, &source, json, &mut stdout)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The current target: where it came from and its spec.
struct Target {
    origin: String,
    spec: ServiceSpec,
    update_completed: bool,
    /// A caveat about how the target was obtained.
    note: Option<String>,
}

/// Does the work; returns the exit code. The dry run goes to `out`, a new
/// spec that does not load to stderr (exit 1).
pub(crate) async fn execute(
    args: &ConfigDiffArgs,
    source: &Source,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let env = load_env(&args.env_files, &args.env)?;
    let new = match load_file(&args.spec, &env) {
        Ok(loaded) => loaded.spec,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("the new spec does not load: the scheduler would refuse to start with it");
            return Ok(1);
        }
    };
    let target = match source {
        Source::Api { url, token } => fetch_from_api(url, token.as_deref()).await?,
        Source::State(state) => read_from_state(state).await?,
    };
    let mut run: DryRun = dry_run(&target.spec, &new, target.update_completed);
    run.notes.extend(target.note);
    if json {
        serde_json::to_writer_pretty(&mut *out, &run)?;
        writeln!(out)?;
    } else {
        writeln!(out, "Current target: {}", target.origin)?;
        write!(out, "{run}")?;
    }
    Ok(if run.accepted { 0 } else { 1 })
}

async fn read_from_state(state: &str) -> anyhow::Result<Target> {
    let backend: BackendConfig = state.parse().with_context(|| format!("--state {state}"))?;
    if backend == BackendConfig::Memory {
        bail!(
            "--state memory holds nothing between processes: use zk://HOST:PORT/ROOT or file:DIR"
        );
    }
    let stored = tokio::time::timeout(
        Duration::from_secs(30),
        plinth::config::read_target(&backend),
    )
    .await
    .map_err(|_| anyhow!("reading the target from {state} took more than 30 s"))??
    .ok_or_else(|| {
        anyhow!("no target configuration in {state}: the service was never started there")
    })?;
    Ok(Target {
        origin: format!("configuration {} in {state}", stored.id),
        spec: stored.spec,
        update_completed: stored.update_completed,
        note: None,
    })
}

/// `GET <url>/v1/configurations/target`: JSON carrying the stored
/// `service_yml` (at the top level or one object down); the id comes from
/// the answer or from `GET /v1/configurations/targetId`.
async fn fetch_from_api(url: &str, token: Option<&str>) -> anyhow::Result<Target> {
    let base = url.trim_end_matches('/');
    if base.starts_with("https://") {
        bail!("--url {url}: https is not supported by this CLI yet; use http:// or --state");
    }
    let base = if base.contains("://") {
        base.to_owned()
    } else {
        format!("http://{base}")
    };
    let json = get_json(&base, "/v1/configurations/target", token).await?;
    let (id, yml, note) = match stored_yml(&json) {
        Some((id, yml)) => (id, yml, None),
        // The stored YAML served as a JSON tree: JSON is YAML, but map order
        // (pods, phases) may have been lost on the way.
        None if json.get("name").is_some() && json.get("pods").is_some() => (
            None,
            serde_json::to_string(&json)?,
            Some(
                "the scheduler served the target as a JSON tree, whose map order may be alphabetical: \
                 the restart order follows the new spec, but pod/phase order changes are not reliable; \
                 --state reads the stored YAML exactly"
                    .to_owned(),
            ),
        ),
        None => bail!(
            "GET {base}/v1/configurations/target: the answer is neither a stored config ('service_yml') nor a spec"
        ),
    };
    let id = match id {
        Some(id) => id,
        None => get_json(&base, "/v1/configurations/targetId", token)
            .await
            .ok()
            .and_then(|v| v.get(0).and_then(|i| i.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "(id unknown)".to_owned()),
    };
    let spec = spec_from_stored(&id, &yml)?;
    Ok(Target {
        origin: format!("configuration {id} from {base}"),
        spec,
        update_completed: true,
        note,
    })
}

async fn get_json(
    base: &str,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    use http_body_util::{BodyExt as _, Empty, Limited};

    let endpoint = format!("{base}{path}");
    let uri: http::Uri = endpoint.parse().with_context(|| format!("--url {base}"))?;
    let mut request = http::Request::get(uri).header(http::header::ACCEPT, "application/json");
    if let Some(token) = token {
        request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Empty::<bytes::Bytes>::new())?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let fetch = async {
        let response = client
            .request(request)
            .await
            .with_context(|| format!("GET {endpoint}"))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| anyhow!("reading the answer of GET {endpoint}: {e}"))?
            .to_bytes();
        anyhow::Ok((status, body))
    };
    let (status, body) = tokio::time::timeout(FETCH_TIMEOUT, fetch)
        .await
        .map_err(|_| anyhow!("GET {endpoint}: no answer within {FETCH_TIMEOUT:?}"))??;
    match status.as_u16() {
        200 => {}
        401 | 403 => bail!(
            "GET {endpoint}: {status}; pass the API token with --token-file (or PLINTH_TOKEN)"
        ),
        404 => bail!(
            "GET {endpoint}: 404; the scheduler has no target configuration yet or does not serve it (try --state)"
        ),
        _ => bail!(
            "GET {endpoint}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ),
    }
    serde_json::from_slice(&body).with_context(|| format!("GET {endpoint}: the answer is not JSON"))
}

/// The `service_yml` string (and the `id` next to it or at the top) in a
/// target-configuration answer.
pub(crate) fn stored_yml(json: &serde_json::Value) -> Option<(Option<String>, String)> {
    let top_id = json.get("id").and_then(|v| v.as_str()).map(str::to_owned);
    if let Some(yml) = json.get("service_yml").and_then(|v| v.as_str()) {
        return Some((top_id, yml.to_owned()));
    }
    json.as_object()?.values().find_map(|inner| {
        let yml = inner.get("service_yml")?.as_str()?;
        let id = inner
            .get("id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .or_else(|| top_id.clone());
        Some((id, yml.to_owned()))
    })
}
