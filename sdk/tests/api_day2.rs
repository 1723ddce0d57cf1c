//! The day-2 API calls through the full router: `POST
//! /v1/configurations/dry-run` (the dry run against the running target),
//! `PUT /v1/configurations/target` (the update itself, carried out by the
//! scheduler loop; a fake answers here) and `POST /v1/uninstall`; bad input
//! gets 400 saying what is wrong, a missing target 404, and the token is
//! needed.

mod api;

use std::collections::BTreeMap;
use std::sync::Arc;

use api::{CONFIG_ID, TOKEN, fake, json_request, send_json, snapshot, with_token};
use axum::http::StatusCode;
use plinth::api::{ApiOptions, ConfigsView, app};
use serde_json::{Value, json};

const TARGET: &str = r"
name: hello-world
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 64
  world:
    count: 2
    allow-decommission: true
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 64
";

fn router(options: &ApiOptions, with_target: bool) -> axum::Router {
    let mut s = snapshot();
    let by_id = if with_target {
        BTreeMap::from([(CONFIG_ID.to_string(), json!({ "service_yml": TARGET }))])
    } else {
        BTreeMap::new()
    };
    s.configs = Arc::new(ConfigsView {
        target_id: with_target.then(|| CONFIG_ID.to_string()),
        by_id,
    });
    let (state, _, _) = fake(s);
    app(state, options)
}

async fn dry_run(router: &axum::Router, body: &str, token: Option<&str>) -> (StatusCode, Value) {
    call(router, "POST", "/v1/configurations/dry-run", body, token).await
}

fn request(spec: &str, env: &[(&str, &str)]) -> String {
    let env: BTreeMap<&str, &str> = env.iter().copied().collect();
    json!({ "spec": spec, "env": env }).to_string()
}

#[tokio::test]
async fn a_valid_change_lists_the_pods_that_would_restart_in_order() {
    let r = router(&ApiOptions::default(), true);
    // world: more CPU and one instance fewer; hello unchanged.
    let new = TARGET
        .replace("count: 2", "count: {{WORLD_COUNT}}")
        .replacen("cpus: 0.5", "cpus: 0.5 # hello", 1)
        .replace("cpus: 0.5\n", "cpus: 0.75\n");
    let (status, run) = dry_run(&r, &request(&new, &[("WORLD_COUNT", "1")]), None).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["accepted"], true, "{run}");
    let restarted: Vec<&str> = run["restarts"]
        .as_array()
        .expect("restarts")
        .iter()
        .filter_map(|p| p["pod"].as_str())
        .collect();
    assert_eq!(restarted, ["world"], "{run}");
    let removed = &run["removed"][0];
    assert_eq!(removed["pod"], "world");
    assert_eq!(removed["instances"], json!(["world-1"]));
}

#[tokio::test]
async fn a_refused_change_lists_every_reason() {
    let r = router(&ApiOptions::default(), true);
    let new = TARGET.replace("  hello:\n    count: 1", "  hello:\n    count: 0");
    let (status, run) = dry_run(&r, &request(&new, &[]), None).await;
    assert_eq!(status, 200);
    assert_eq!(run["accepted"], false);
    let errors = run["validation_errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{run}");
    assert_eq!(errors[0]["validator"], "PodSpecsCannotShrink");
}

#[tokio::test]
async fn bad_bodies_and_specs_get_400_saying_what_is_wrong() {
    let r = router(&ApiOptions::default(), true);
    let (status, e) = dry_run(&r, "{not json", None).await;
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("malformed body"),
        "{e}"
    );
    let (status, e) = dry_run(&r, r#"{"spec": "x", "extra": 1}"#, None).await;
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("extra"), "{e}");
    // A variable with no value: the error names it and its line.
    let (status, e) = dry_run(&r, &request("name: {{NAME}}\n", &[]), None).await;
    assert_eq!(status, 400);
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("NAME") && message.contains("request spec"),
        "{message}"
    );
}

#[tokio::test]
async fn no_target_is_404_and_the_token_is_required_when_configured() {
    let r = router(&ApiOptions::default(), false);
    let (status, _) = dry_run(&r, &request(TARGET, &[]), None).await;
    assert_eq!(status, 404);
    let r = router(&with_token(false), true);
    let (status, _) = dry_run(&r, &request(TARGET, &[]), None).await;
    assert_eq!(status, 401);
    let (status, run) = dry_run(&r, &request(TARGET, &[]), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(run["accepted"], true);
}

// === PUT /v1/configurations/target, POST /v1/uninstall ===

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    send_json(router, json_request(method, path, body, token)).await
}

#[tokio::test]
async fn a_config_update_goes_to_the_scheduler_and_a_refusal_is_409_with_every_reason() {
    let r = router(&with_token(false), true);
    let path = "/v1/configurations/target";
    let (status, _) = call(&r, "PUT", path, &request(TARGET, &[]), None).await;
    assert_eq!(status, 401, "mutating: the token is needed");
    let (status, ok) = call(&r, "PUT", path, &request(TARGET, &[]), Some(TOKEN)).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["target_id"], CONFIG_ID);
    let shrunk = TARGET.replace("  hello:\n    count: 1", "  hello:\n    count: 0");
    let (status, refused) = call(&r, "PUT", path, &request(&shrunk, &[]), Some(TOKEN)).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["errors"], json!(["PodSpecsCannotShrink: hello"]));
    let (status, e) = call(&r, "PUT", path, "[]", Some(TOKEN)).await;
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("malformed body"),
        "{e}"
    );
}

#[tokio::test]
async fn uninstall_needs_the_service_name_and_the_token() {
    let r = router(&with_token(false), true);
    let path = "/v1/uninstall";
    let body = json!({ "service": "hello-world" }).to_string();
    let (status, _) = call(&r, "POST", path, &body, None).await;
    assert_eq!(status, 401);
    let wrong = json!({ "service": "kafka" }).to_string();
    let (status, e) = call(&r, "POST", path, &wrong, Some(TOKEN)).await;
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("not 'kafka'"),
        "{e}"
    );
    let (status, e) = call(&r, "POST", path, "", Some(TOKEN)).await;
    assert_eq!(status, 400, "{e}");
    let (status, ok) = call(&r, "POST", path, &body, Some(TOKEN)).await;
    assert_eq!(status, 202, "{ok}");
    assert!(
        ok["message"]
            .as_str()
            .unwrap()
            .contains("uninstalling service 'hello-world'")
    );
}
