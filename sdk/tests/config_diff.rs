//! `plinth config diff` against a stored target: read from a state backend
//! (`--state file:DIR`) and from a scheduler's API (`--url`, served here by a
//! stand-in for `GET /v1/configurations/target`).
//!
//! The command's module is compiled into this test directly (it is wired
//! into the `plinth` binary's `config` group by `main.rs`).

#[path = "../src/bin/plinth/config_diff.rs"]
#[allow(dead_code, unreachable_pub)]
mod config_diff;

use std::path::{Path, PathBuf};

use clap::Parser;
use config_diff::{ConfigDiffArgs, Source, execute, stored_yml};
use plinth::scheduler::StoredConfig;
use plinth::state::{AnyPersister, BackendConfig, ConfigStore};

/// `plinth config diff` with the CLI's global client flags.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ConfigDiffArgs,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long = "token-file")]
    token_file: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

impl Cli {
    async fn execute(&self, out: &mut Vec<u8>) -> anyhow::Result<u8> {
        let source = Source::new(&self.args, &self.url, self.token_file.as_deref(), None)?;
        execute(&self.args, &source, self.json, out).await
    }
}

fn example() -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello-world");
    (dir.join("svc.yml"), dir.join("svc.env"))
}

/// The example rendered with `pairs`, as a scheduler stores it.
fn stored(pairs: &[&str]) -> StoredConfig {
    let (yml, env) = example();
    let pairs: Vec<String> = pairs.iter().map(|s| (*s).to_owned()).collect();
    let env = plinth::spec::envfile::load_env(&[env], &pairs).unwrap();
    let spec = plinth::spec::load_file(&yml, &env).unwrap().spec;
    StoredConfig {
        service_yml: plinth::spec::to_yaml(&spec).unwrap(),
    }
}

async fn run(argv: &[&str]) -> (u8, String) {
    let (yml, env) = example();
    let mut full = vec![
        "diff".to_owned(),
        "--spec".to_owned(),
        yml.display().to_string(),
        "--env-file".to_owned(),
        env.display().to_string(),
    ];
    full.extend(argv.iter().map(|s| (*s).to_owned()));
    let cli = Cli::try_parse_from(full).expect("arguments parse");
    let mut out = Vec::new();
    let code = cli.execute(&mut out).await.expect("the comparison runs");
    (code, String::from_utf8(out).unwrap())
}

async fn file_state(config: &StoredConfig) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let backend = BackendConfig::File {
        dir: dir.path().to_owned(),
    };
    let persister = AnyPersister::open(&backend).await.unwrap();
    let configs: ConfigStore<StoredConfig, AnyPersister> = ConfigStore::new(persister);
    configs.store_as_target(config).await.unwrap();
    let url = format!("file:{}", dir.path().display());
    (dir, url)
}

#[tokio::test]
async fn from_state_a_valid_change_lists_restarts_in_plan_order() {
    // The running service has less memory on store and another log level.
    let (_dir, state) = file_state(&stored(&[
        "STORE_MEM=256",
        "LOG_LEVEL=debug",
        "WEB_CPUS=0.2",
    ]))
    .await;
    let (code, text) = run(&["--state", &state]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Validation: passed"), "{text}");
    let store = text.find(
        "1. store (phase 'store', serial): store-0:[server], store-1:[server], store-2:[server]",
    );
    let web = text.find("2. web (phase 'web', parallel): web-0:[server], web-1:[server]");
    assert!(store.is_some() && web.is_some() && store < web, "{text}");
    assert!(
        text.contains("resource-sets.store-resources.memory: 256 -> 512"),
        "{text}"
    );
    assert!(
        text.contains("env               tasks.server.env.LOG_LEVEL: debug -> info"),
        "{text}"
    );
    assert!(
        !text.contains("[migrate]"),
        "ONCE steps do not rerun: {text}"
    );
}

#[tokio::test]
async fn from_state_a_shrink_is_refused_with_exit_1() {
    let (_dir, state) = file_state(&stored(&["STORE_COUNT=4"])).await;
    let (code, text) = run(&["--state", &state, "--json"]).await;
    assert_eq!(code, 1, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["accepted"], false);
    let message = json["validation_errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("PodSpec named 'store' has 3 tasks, expected >=4 tasks"),
        "{message}"
    );
}

#[tokio::test]
async fn from_state_without_a_target_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let (yml, env) = example();
    let cli = Cli::try_parse_from([
        "diff",
        "--spec",
        &yml.display().to_string(),
        "--env-file",
        &env.display().to_string(),
        "--state",
        &format!("file:{}", missing.display()),
    ])
    .unwrap();
    let err = cli.execute(&mut Vec::new()).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("directory does not exist"),
        "{err:#}"
    );
    assert!(!missing.exists(), "a dry run creates nothing");
}

#[tokio::test]
async fn from_the_api_with_a_bearer_token() {
    // As the scheduler serves it: the stored config at .../target, its id at .../targetId.
    let config = stored(&["WEB_COUNT=1"]);
    let body = serde_json::json!({"service_yml": config.service_yml});
    let authorized = |headers: &axum::http::HeaderMap| {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer s3cret")
    };
    let app = axum::Router::new()
        .route(
            "/v1/configurations/target",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                let body = body.clone();
                async move {
                    if authorized(&headers) {
                        (axum::http::StatusCode::OK, axum::Json(body))
                    } else {
                        (
                            axum::http::StatusCode::UNAUTHORIZED,
                            axum::Json(serde_json::json!({"message": "no"})),
                        )
                    }
                }
            }),
        )
        .route(
            "/v1/configurations/targetId",
            axum::routing::get(|| async { axum::Json(serde_json::json!(["0f8e"])) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}");

    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), "s3cret\n").unwrap();
    let token_file = token.path().display().to_string();
    let (code, text) = run(&["--url", &url, "--token-file", &token_file, "--json"]).await;
    assert_eq!(code, 0, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["added"][0]["instances"], serde_json::json!(["web-1"]));
    assert_eq!(json["restarts"], serde_json::json!([]));
    let (code, text) = run(&["--url", &url, "--token-file", &token_file]).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.starts_with(&format!("Current target: configuration 0f8e from {url}\n")),
        "{text}"
    );

    let (yml, env) = example();
    let cli = Cli::try_parse_from([
        "diff",
        "--spec",
        &yml.display().to_string(),
        "--env-file",
        &env.display().to_string(),
        "--url",
        &url,
    ])
    .unwrap();
    let err = cli.execute(&mut Vec::new()).await.unwrap_err();
    assert!(format!("{err:#}").contains("--token-file"), "{err:#}");
}

#[test]
fn state_wins_over_the_api() {
    let cli = Cli::try_parse_from(["diff", "--spec", "svc.yml", "--state", "file:y"]).unwrap();
    let source = Source::new(&cli.args, &cli.url, None, Some("t")).unwrap();
    assert!(matches!(source, Source::State(s) if s == "file:y"));
    let cli = Cli::try_parse_from(["diff", "--spec", "svc.yml"]).unwrap();
    let source = Source::new(&cli.args, &cli.url, None, Some(" t ")).unwrap();
    assert!(
        matches!(source, Source::Api { url, token: Some(t) } if url == "http://127.0.0.1:8080" && t == "t")
    );
}

#[test]
fn the_stored_yaml_is_found_at_the_top_or_one_level_down() {
    let top = serde_json::json!({"id": "a", "service_yml": "name: x"});
    assert_eq!(
        stored_yml(&top),
        Some((Some("a".to_owned()), "name: x".to_owned()))
    );
    let nested = serde_json::json!({"id": "b", "config": {"service_yml": "name: y"}});
    assert_eq!(
        stored_yml(&nested),
        Some((Some("b".to_owned()), "name: y".to_owned()))
    );
    assert_eq!(stored_yml(&serde_json::json!({"name": "z"})), None);
}
