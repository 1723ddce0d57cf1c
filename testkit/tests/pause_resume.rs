//! Pause and resume on the testkit master over loopback, with state in a
//! real ZooKeeper (a file state directory when there is none): `plinth pod
//! pause` relaunches the task in place — same agent, same reservations and
//! volume — with the idle command and no health check; the pause survives a
//! scheduler restart; `plinth pod resume` relaunches it with its own command.
//!
//! The CLI is the real `plinth` binary, built on first use with the same
//! cargo and profile as this test.

mod service;

use std::time::Duration;

use plinth::api::ApiToken;
use plinth::offer::labels;
use plinth::state::BackendConfig;
use plinth::state::testing::TestZooKeeper;
use plinth_testkit::TestMaster;
use serde_json::Value;
use service::{Running, build_plinth_bin, cli, eventually, reserved_on, running_task};

const SPEC: &str = r#"
name: pause-test
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: "echo hello >> data/log && sleep 1000"
        cpus: 0.5
        memory: 128
        volume:
          path: data
          type: ROOT
          size: 64
        health-check:
          cmd: "test -f data/log"
          interval: 5
          grace-period: 30
          max-consecutive-failures: 3
          delay: 0
          timeout: 10
  world:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.25
        memory: 64
"#;

const TOKEN: &str = "pause-token-7";

async fn start(master: &TestMaster, state: &BackendConfig, seed: u64) -> Running {
    let spec = plinth::spec::load_str(SPEC, &Default::default(), Some("pause.yml"))
        .expect("spec loads")
        .spec;
    let mut options = service::options(spec, master, state, seed);
    options.api.token = Some(ApiToken::new(TOKEN).expect("token"));
    service::start(options).await
}

async fn json(url: &str, args: &[&str]) -> Value {
    let out = cli(url, None, args).await;
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", out.stdout))
}

/// The stored TaskInfo (Mesos JSON) of `hello-0-server`, from `pod info`.
async fn server_info(url: &str) -> Value {
    let info = json(url, &["pod", "info", "hello-0"]).await;
    info.as_array()
        .into_iter()
        .flatten()
        .find(|t| t["info"]["name"] == "hello-0-server")
        .map(|t| t["info"].clone())
        .expect("hello-0-server in pod info")
}

fn has_label(info: &Value, key: &str, value: &str) -> bool {
    info["labels"]["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|l| l["key"] == key && l["value"] == value)
}

/// Waits until `pod status hello-0 --json` shows hello-0-server as `status`.
async fn server_status(url: &str, status: &str) -> Value {
    for _ in 0..150 {
        let view = json(url, &["pod", "status", "hello-0", "--json"]).await;
        let task = view["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["name"] == "hello-0-server")
            .cloned()
            .expect("hello-0-server in pod status");
        if task["status"] == status {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("hello-0-server never showed {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_relaunches_idle_in_place_survives_a_restart_and_resume_restores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = TestZooKeeper::state_backend("pause").unwrap_or_else(|| {
        eprintln!("no ZooKeeper: using a file state directory");
        BackendConfig::File {
            dir: dir.path().join("state"),
        }
    });
    build_plinth_bin().await;
    let master = service::master_with(2, |config| {
        config.task_start_delay = Duration::from_millis(50);
    })
    .await;
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("token written");

    let first = start(&master, &state, 21).await;
    first.plan_complete("deploy", 30).await;
    let url = first.url();
    let (original_id, agent) = running_task(&master, "hello-0-server").expect("hello-0 runs");
    let world_before = running_task(&master, "world-0-server").expect("world-0 runs");
    let reserved_before = reserved_on(&master, &agent);
    assert_eq!(
        reserved_before.1.len(),
        1,
        "one volume: {reserved_before:?}"
    );
    let original = server_info(&url).await;
    let original_cmd = original["command"]["value"].clone();
    assert!(original["health_check"].is_object(), "{original}");

    // Without the token nothing happens.
    let out = cli(&url, None, &["pod", "pause", "hello-0"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("401 Unauthorized"), "{}", out.stderr);
    let out = cli(
        &url,
        Some(&token),
        &["pod", "pause", "hello-0", "--task", "nope"],
    )
    .await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("Pod hello-0 has no task 'nope' (its tasks: server)"),
        "{}",
        out.stderr
    );

    // pause: relaunched in place with the idle command and no health check.
    let out = cli(
        &url,
        Some(&token),
        &["pod", "pause", "hello-0", "--task", "server"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "pausing pod hello-0: hello-0-server");
    let (paused_id, paused_agent) = eventually("the paused relaunch", 30, || {
        running_task(&master, "hello-0-server").filter(|(id, _)| *id != original_id)
    })
    .await;
    assert_eq!(paused_agent, agent, "relaunched on the same agent");
    assert_eq!(
        reserved_on(&master, &agent),
        reserved_before,
        "the same reservations and volume"
    );
    let task = server_status(&url, "PAUSED").await;
    assert_eq!(task["goal_state_override"], "PAUSED");
    assert_eq!(task["mesos_status"], "RUNNING");
    assert_eq!(task["id"], paused_id.as_str());
    let paused = server_info(&url).await;
    assert_eq!(paused["command"]["value"], labels::PAUSE_COMMAND);
    assert!(paused.get("health_check").is_none(), "{paused}");
    assert!(paused.get("check").is_none(), "{paused}");
    assert!(has_label(
        &paused,
        labels::GOAL_STATE_OVERRIDE,
        labels::PAUSED
    ));
    assert_eq!(
        running_task(&master, "world-0-server"),
        Some(world_before.clone()),
        "the other pod is untouched"
    );
    let out = cli(&url, None, &["pod", "status", "hello-0"]).await;
    assert!(out.stdout.contains("PAUSED"), "{}", out.stdout);
    first.stop().await;

    // A restarted scheduler leaves the paused task alone.
    let launched = master.stats().tasks_launched;
    let second = start(&master, &state, 22).await;
    second.plan_complete("deploy", 30).await;
    let url = second.url();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        running_task(&master, "hello-0-server"),
        Some((paused_id.clone(), agent.clone())),
        "still the paused task"
    );
    assert_eq!(
        master.stats().tasks_launched,
        launched,
        "the restart launched nothing"
    );
    server_status(&url, "PAUSED").await;
    assert_eq!(
        server_info(&url).await["command"]["value"],
        labels::PAUSE_COMMAND
    );

    // resume (no --task: the whole pod): back to its own command and check.
    let out = cli(&url, Some(&token), &["pod", "resume", "hello-0", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reply: Value = serde_json::from_str(&out.stdout).expect("--json prints JSON");
    assert_eq!(reply["tasks"][0], "hello-0-server");
    let (_, resumed_agent) = eventually("the resumed relaunch", 30, || {
        running_task(&master, "hello-0-server").filter(|(id, _)| *id != paused_id)
    })
    .await;
    assert_eq!(resumed_agent, agent);
    assert_eq!(reserved_on(&master, &agent), reserved_before);
    let task = server_status(&url, "RUNNING").await;
    assert!(task.get("goal_state_override").is_none(), "{task}");
    let resumed = server_info(&url).await;
    assert_eq!(resumed["command"]["value"], original_cmd);
    assert!(resumed["health_check"].is_object(), "{resumed}");
    assert!(!has_label(
        &resumed,
        labels::GOAL_STATE_OVERRIDE,
        labels::PAUSED
    ));
    assert_eq!(running_task(&master, "world-0-server"), Some(world_before));
    second.stop().await;
    master.shutdown().await;
}
