//! The operator API and the `plinth` CLI against a running scheduler on the
//! testkit master: gRPC `WatchPlan` streams a deploy from its first step to
//! COMPLETE; the CLI shows plans, restarts a pod in place (same agent, same
//! volume) and replaces it (another agent, old reservations released).
//!
//! The CLI is the real `plinth` binary, built on first use with the same
//! cargo and profile as this test.

mod service;

use std::time::Duration;

use plinth::api::ApiToken;
use plinth::api::grpc::proto::WatchPlanRequest;
use plinth::api::grpc::proto::plan_event::Event;
use plinth::api::grpc::proto::plan_service_client::PlanServiceClient;
use plinth::state::BackendConfig;
use plinth_testkit::cluster::AgentSpec;
use plinth_testkit::{Fault, TestMaster};
use serde_json::Value;
use service::{Running, build_plinth_bin, cli, eventually, reserved_on, running_task};

/// One pod per agent: 1.5 of 2 cpus (plus the executor's 0.1).
const SPEC: &str = r#"
name: ops-test
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 1.5
        memory: 128
        volume:
          path: data
          type: ROOT
          size: 64
  world:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 1.5
        memory: 128
"#;

const TOKEN: &str = "op-token-42";

fn agent() -> AgentSpec {
    AgentSpec {
        cpus: 2.0,
        ..AgentSpec::default()
    }
}

async fn master(agents: usize) -> TestMaster {
    service::master_with(agents, |config| {
        config.agent = agent();
        config.task_start_delay = Duration::from_millis(50);
    })
    .await
}

async fn start(master: &TestMaster) -> Running {
    let spec = plinth::spec::load_str(SPEC, &Default::default(), Some("ops.yml"))
        .expect("spec loads")
        .spec;
    let mut options = service::options(spec, master, &BackendConfig::Memory, 11);
    options.api.token = Some(ApiToken::new(TOKEN).expect("token"));
    service::start(options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_plan_streams_a_deploy_from_start_to_complete() {
    // No agents yet: nothing can move before the watch is open.
    let master = master(0).await;
    let running = start(&master).await;
    let mut client = PlanServiceClient::connect(running.url())
        .await
        .expect("gRPC connects");
    let mut stream = client
        .watch_plan(WatchPlanRequest {
            plan: "deploy".into(),
            until_done: true,
        })
        .await
        .expect("WatchPlan starts")
        .into_inner();
    let first = stream
        .message()
        .await
        .expect("first event")
        .expect("a first event");
    let Some(Event::Snapshot(plan)) = first.event else {
        panic!("the stream starts with the plan: {first:?}")
    };
    let steps: Vec<(String, String)> = plan
        .phases
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| (s.name.clone(), s.status.clone())))
        .collect();
    assert_eq!(
        steps,
        [
            ("hello-0:[server]".to_string(), "PENDING".to_string()),
            ("world-0:[server]".to_string(), "PENDING".to_string())
        ]
    );
    for _ in 0..2 {
        master
            .inject(Fault::AddAgent {
                spec: Some(agent()),
            })
            .expect("agent added");
    }
    let mut seen: Vec<(String, String, String)> = Vec::new();
    let mut last_status = first.plan_status;
    let collect = async {
        while let Some(event) = stream.message().await.expect("stream stays healthy") {
            last_status = event.plan_status.clone();
            if let Some(Event::Step(change)) = event.event {
                seen.push((change.step, change.from, change.to));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .expect("the deploy completes within 30 s");
    assert_eq!(
        last_status, "COMPLETE",
        "the stream ends with the plan complete"
    );
    for step in ["hello-0:[server]", "world-0:[server]"] {
        let path: Vec<&str> = seen
            .iter()
            .filter(|(s, _, _)| s == step)
            .map(|(_, _, to)| to.as_str())
            .collect();
        assert_eq!(path.last(), Some(&"COMPLETE"), "{step}: {seen:?}");
        assert!(
            path.contains(&"STARTING"),
            "{step} passes STARTING: {path:?}"
        );
        // Each change continues from the one before.
        let chain: Vec<(&str, &str)> = seen
            .iter()
            .filter(|(s, _, _)| s == step)
            .map(|(_, f, t)| (f.as_str(), t.as_str()))
            .collect();
        assert_eq!(chain[0].0, "PENDING", "{step}: {chain:?}");
        for pair in chain.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "{step}: {chain:?}");
        }
    }
    running.stop().await;
    master.shutdown().await;
}

// === the CLI ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_shows_plans_restarts_in_place_and_replaces_elsewhere() {
    build_plinth_bin().await;
    let master = master(3).await;
    let running_scheduler = start(&master).await;
    running_scheduler.plan_complete("deploy", 30).await;
    let url = running_scheduler.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("token written");

    // plan show: a table for people, the server's JSON with --json.
    let out = cli(&url, None, &["plan", "show", "deploy"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("deploy (serial strategy) [COMPLETE]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("hello-0:[server] [COMPLETE]"),
        "{}",
        out.stdout
    );
    let out = cli(&url, None, &["plan", "show", "deploy", "--json"]).await;
    let json: Value = serde_json::from_str(&out.stdout).expect("--json prints JSON");
    assert_eq!(json["status"], "COMPLETE");
    let out = cli(&url, None, &["plan", "list"]).await;
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["deploy", "COMPLETE", "2/2"]),
        "{}",
        out.stdout
    );

    // Errors are plain: status and message, no stack trace.
    let out = cli(&url, None, &["plan", "show", "nope"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "error: 404 Not Found: Plan nope not found"
    );
    let out = cli(&url, None, &["pod", "restart", "hello-0"]).await;
    assert_eq!(out.code, 1, "mutations need the token");
    assert!(out.stderr.contains("401 Unauthorized"), "{}", out.stderr);

    // pod restart: killed and relaunched in place, on the same volume.
    let (old_id, agent_before) = running_task(&master, "hello-0-server").expect("hello-0 runs");
    let volumes_before = reserved_on(&master, &agent_before).1;
    assert_eq!(volumes_before.len(), 1);
    let out = cli(&url, Some(&token), &["pod", "restart", "hello-0"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "restarting pod hello-0: hello-0-server");
    let (_, agent_after) = eventually("the relaunch", 30, || {
        running_task(&master, "hello-0-server").filter(|(id, _)| *id != old_id)
    })
    .await;
    assert_eq!(agent_after, agent_before, "relaunched in place");
    assert_eq!(
        reserved_on(&master, &agent_before).1,
        volumes_before,
        "the same volume"
    );
    let out = cli(&url, None, &["pod", "status", "hello-0", "--json"]).await;
    let status: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(status["tasks"][0]["status"], "RUNNING");

    // pod replace: placed on another agent; the old reservations and volume are released.
    running_scheduler.plan_complete("deploy", 30).await;
    let (old_id, old_agent) = running_task(&master, "hello-0-server").expect("hello-0 runs");
    let (old_count, _) = reserved_on(&master, &old_agent);
    assert!(old_count > 0);
    let out = cli(&url, Some(&token), &["pod", "replace", "hello-0"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (_, new_agent) = eventually("the replacement", 30, || {
        running_task(&master, "hello-0-server").filter(|(id, _)| *id != old_id)
    })
    .await;
    assert_ne!(new_agent, old_agent, "replaced on another agent");
    assert_eq!(
        reserved_on(&master, &new_agent).1.len(),
        1,
        "a fresh volume"
    );
    let world_agent = running_task(&master, "world-0-server")
        .expect("world-0 runs")
        .1;
    if world_agent != old_agent {
        eventually("the old reservations released", 30, || {
            (reserved_on(&master, &old_agent).0 == 0).then_some(())
        })
        .await;
    } else {
        eventually("the old volume released", 30, || {
            reserved_on(&master, &old_agent).1.is_empty().then_some(())
        })
        .await;
    }
    let out = cli(&url, None, &["plan", "show", "recovery"]).await;
    assert!(
        out.stdout.contains("hello-0:[server] [COMPLETE]"),
        "{}",
        out.stdout
    );

    // The other read commands answer.
    for args in [
        &["pod", "list"][..],
        &["endpoints"],
        &["config", "target-id"],
        &["state", "framework-id"],
        &["health"],
        &["debug", "offers"],
    ] {
        let out = cli(&url, None, args).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
    running_scheduler.stop().await;
    master.shutdown().await;
}
