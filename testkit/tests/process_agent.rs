//! The process agent's runtime against real processes: exit codes, sandbox
//! and environment, volumes, kills, checks, URI fetching and shutdown.
//!
//! Every test runs real `/bin/sh` commands. Commands write what the test
//! needs to know (pids, environment) into files under the test's temporary
//! directory, passed in as `$DIR`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use plinth_proto::v1::command_info::Uri;
use plinth_proto::v1::environment::Variable;
use plinth_proto::v1::task_status::Reason;
use plinth_proto::v1::{
    AgentId, CheckInfo, CommandInfo, Environment, ExecutorId, ExecutorInfo, HealthCheck, TaskId,
    TaskInfo, TaskState, check_info, health_check,
};
use plinth_testkit::agent::process::{
    LaunchSpec, ProcessError, ProcessRuntime, ProcessUpdate, VolumeMount,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

/// Longest any single expected update may take.
const WAIT: Duration = Duration::from_secs(10);

const AGENT: &str = "agent-1";
const FRAMEWORK: &str = "framework-1";

struct Harness {
    runtime: ProcessRuntime,
    updates: mpsc::Receiver<ProcessUpdate>,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (tx, updates) = mpsc::channel(64);
        let runtime = ProcessRuntime::new(dir.path().join("work"), tx);
        Self {
            runtime,
            updates,
            dir,
        }
    }

    /// The directory commands see as `$DIR`.
    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// A shell task `id` running `script`, with `$DIR` set.
    fn task(&self, id: &str, script: &str) -> TaskInfo {
        TaskInfo {
            name: id.into(),
            task_id: TaskId { value: id.into() },
            agent_id: AgentId {
                value: AGENT.into(),
            },
            command: Some(CommandInfo {
                value: Some(script.into()),
                environment: Some(env(&[("DIR", &self.dir().to_string_lossy())])),
                ..CommandInfo::default()
            }),
            ..TaskInfo::default()
        }
    }

    async fn launch(&self, task: TaskInfo) {
        let id = task.task_id.value.clone();
        self.runtime
            .launch(spec(task))
            .await
            .unwrap_or_else(|e| panic!("launch of {id}: {e}"));
    }

    async fn next(&mut self) -> ProcessUpdate {
        timeout(WAIT, self.updates.recv())
            .await
            .expect("an update within the time limit")
            .expect("the updates channel open")
    }

    /// Updates until (and including) the terminal one.
    async fn until_terminal(&mut self) -> Vec<ProcessUpdate> {
        let mut seen = Vec::new();
        loop {
            let update = self.next().await;
            let terminal = is_terminal(update.state);
            seen.push(update);
            if terminal {
                return seen;
            }
        }
    }

    /// Expects TASK_STARTING then TASK_RUNNING for `task_id`.
    async fn expect_started(&mut self, task_id: &str) -> ProcessUpdate {
        let starting = self.next().await;
        assert_eq!(
            (starting.task_id.as_str(), starting.state),
            (task_id, TaskState::TaskStarting)
        );
        let running = self.next().await;
        assert_eq!(
            (running.task_id.as_str(), running.state),
            (task_id, TaskState::TaskRunning)
        );
        running
    }

    /// Reads the pid a command wrote to `$DIR/<name>`, waiting for it.
    async fn pid(&self, name: &str) -> u32 {
        let path = self.dir().join(name);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(pid) = text.trim().parse()
            {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "{} was never written",
                path.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(name))
            .unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }
}

fn spec(task: TaskInfo) -> LaunchSpec {
    LaunchSpec {
        agent_id: AGENT.into(),
        framework_id: FRAMEWORK.into(),
        task,
        executor: None,
        volumes: Vec::new(),
    }
}

fn env(vars: &[(&str, &str)]) -> Environment {
    Environment {
        variables: vars
            .iter()
            .map(|(name, value)| Variable {
                name: (*name).into(),
                value: Some((*value).into()),
                ..Variable::default()
            })
            .collect(),
    }
}

fn shell(script: &str) -> CommandInfo {
    CommandInfo {
        value: Some(script.into()),
        ..CommandInfo::default()
    }
}

fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished | TaskState::TaskFailed | TaskState::TaskKilled
    )
}

/// Whether `pid` is a live process (a zombie is not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits (briefly) for `pid` to be gone; orphans are reaped by init.
async fn gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

// === Exit status ===

#[tokio::test]
async fn exit_zero_is_finished_after_starting_and_running() {
    let mut h = Harness::new();
    h.launch(h.task("ok", "exit 0")).await;
    h.expect_started("ok").await;
    let last = h.next().await;
    assert_eq!(last.state, TaskState::TaskFinished);
    assert_eq!(
        last.message.as_deref(),
        Some("Command exited with status 0")
    );
}

#[tokio::test]
async fn non_zero_exit_is_failed_with_the_code_in_the_message() {
    let mut h = Harness::new();
    h.launch(h.task("three", "exit 3")).await;
    let last = h.until_terminal().await.pop().expect("a terminal update");
    assert_eq!(last.state, TaskState::TaskFailed);
    assert_eq!(
        last.message.as_deref(),
        Some("Command exited with status 3")
    );
}

#[tokio::test]
async fn a_foreign_signal_fails_the_task_naming_the_signal() {
    let mut h = Harness::new();
    h.launch(h.task("sig", "kill -KILL $$")).await;
    let last = h.until_terminal().await.pop().expect("a terminal update");
    assert_eq!(last.state, TaskState::TaskFailed);
    assert_eq!(
        last.message.as_deref(),
        Some("Command terminated with signal SIGKILL")
    );
}

// === Sandbox and environment ===

#[tokio::test]
async fn the_command_runs_in_its_sandbox_with_the_mesos_and_task_environment() {
    let mut h = Harness::new();
    let mut task = h.task(
        "env",
        r#"printf '%s\n' "$MESOS_SANDBOX" "$PWD" "$MESOS_TASK_ID" "$MESOS_AGENT_ID" \
            "$MESOS_FRAMEWORK_ID" "$FROM_TASK" "$FROM_EXECUTOR" > "$DIR/env"
           echo to-stdout; echo to-stderr >&2"#,
    );
    let command = task.command.as_mut().expect("a command");
    let environment = command.environment.as_mut().expect("an environment");
    environment
        .variables
        .extend(env(&[("FROM_TASK", "task-value")]).variables);
    let mut launch = spec(task);
    launch.executor = Some(ExecutorInfo {
        executor_id: ExecutorId {
            value: "default-executor".into(),
        },
        command: Some(CommandInfo {
            environment: Some(env(&[("FROM_EXECUTOR", "executor-value")])),
            ..CommandInfo::default()
        }),
        ..ExecutorInfo::default()
    });
    h.runtime.launch(launch).await.expect("launch");
    assert_eq!(
        h.until_terminal().await.pop().map(|u| u.state),
        Some(TaskState::TaskFinished)
    );

    let text = h.read("env");
    let lines: Vec<&str> = text.lines().collect();
    let [
        sandbox,
        pwd,
        task_id,
        agent_id,
        framework_id,
        from_task,
        from_executor,
    ] = lines[..]
    else {
        panic!("unexpected env output {text:?}");
    };
    assert_eq!(sandbox, pwd, "the sandbox is the working directory");
    let expected = h
        .work_dir()
        .join("agents/agent-1/frameworks/framework-1/tasks/env/runs/0");
    assert_eq!(Path::new(sandbox), expected);
    assert_eq!((task_id, agent_id, framework_id), ("env", AGENT, FRAMEWORK));
    assert_eq!((from_task, from_executor), ("task-value", "executor-value"));
    let stdout = std::fs::read_to_string(expected.join("stdout")).expect("a stdout file");
    let stderr = std::fs::read_to_string(expected.join("stderr")).expect("a stderr file");
    assert_eq!(
        (stdout.as_str(), stderr.as_str()),
        ("to-stdout\n", "to-stderr\n")
    );
}

#[tokio::test]
async fn without_shell_the_arguments_are_the_argv() {
    let mut h = Harness::new();
    let mut task = h.task("argv", "");
    let command = task.command.as_mut().expect("a command");
    command.shell = Some(false);
    command.value = Some("/bin/sh".into());
    // $1 is only set if the arguments really are the argv.
    command.arguments = ["sh", "-c", r#"echo "$1" > "$DIR/argv""#, "sh", "first-arg"]
        .map(String::from)
        .to_vec();
    h.launch(task).await;
    assert_eq!(
        h.until_terminal().await.pop().map(|u| u.state),
        Some(TaskState::TaskFinished)
    );
    assert_eq!(h.read("argv"), "first-arg\n");
}

// === Persistent volumes ===

#[tokio::test]
async fn a_volume_survives_a_relaunch_and_is_gone_after_destroy() {
    let mut h = Harness::new();
    let volume = VolumeMount {
        persistence_id: "data-volume".into(),
        container_path: "data".into(),
    };

    let mut first = spec(h.task("writer", "echo kept > data/file"));
    first.volumes.push(volume.clone());
    h.runtime.launch(first).await.expect("launch of writer");
    assert_eq!(
        h.until_terminal().await.pop().map(|u| u.state),
        Some(TaskState::TaskFinished)
    );

    let mut second = spec(h.task("reader", r#"cat data/file > "$DIR/read""#));
    second.volumes.push(volume);
    h.runtime.launch(second).await.expect("launch of reader");
    assert_eq!(
        h.until_terminal().await.pop().map(|u| u.state),
        Some(TaskState::TaskFinished)
    );
    assert_eq!(h.read("read"), "kept\n");

    let dir = h.runtime.volume_dir(AGENT, "data-volume");
    assert!(
        dir.starts_with(h.work_dir()),
        "{} is outside the work dir",
        dir.display()
    );
    assert!(dir.join("file").is_file());
    h.runtime
        .destroy_volume(AGENT, "data-volume")
        .await
        .expect("destroy");
    assert!(!dir.exists());
    // DESTROY of a volume that is already gone is fine.
    h.runtime
        .destroy_volume(AGENT, "data-volume")
        .await
        .expect("a second destroy");
}

// === Kill ===

#[tokio::test]
async fn kill_terminates_the_task_and_the_children_it_started() {
    let mut h = Harness::new();
    let script = r#"sleep 1000 & echo $! > "$DIR/child"; echo $$ > "$DIR/pid"; wait"#;
    h.launch(h.task("victim", script)).await;
    h.expect_started("victim").await;
    let (pid, child) = (h.pid("pid").await, h.pid("child").await);
    assert!(alive(pid) && alive(child));

    let started = Instant::now();
    h.runtime.kill("victim", Some(Duration::from_secs(5))).await;
    let last = h.next().await;
    assert_eq!(last.state, TaskState::TaskKilled);
    assert_eq!(
        last.message.as_deref(),
        Some("Command terminated with signal SIGTERM")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "SIGTERM alone should have done it"
    );
    assert!(gone(pid).await, "the task's shell {pid} survived the kill");
    assert!(
        gone(child).await,
        "the task's child {child} survived the kill"
    );
}

#[tokio::test]
async fn sigkill_follows_the_grace_period_when_sigterm_is_ignored() {
    let mut h = Harness::new();
    // Ignored dispositions are inherited, so the sleeps ignore SIGTERM too.
    let script = r#"trap '' TERM; echo $$ > "$DIR/pid"; while :; do sleep 0.05; done"#;
    h.launch(h.task("stubborn", script)).await;
    h.expect_started("stubborn").await;
    let pid = h.pid("pid").await;

    let started = Instant::now();
    h.runtime
        .kill("stubborn", Some(Duration::from_millis(300)))
        .await;
    let last = h.next().await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "SIGKILL came before the grace period"
    );
    assert_eq!(last.state, TaskState::TaskKilled);
    assert_eq!(
        last.message.as_deref(),
        Some("Command terminated with signal SIGKILL")
    );
    assert!(gone(pid).await);
}

#[tokio::test]
async fn a_kill_during_launch_cancels_it() {
    let mut h = Harness::new();
    let server = serve(axum::Router::new().route(
        "/slow.tgz",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "never"
        }),
    ))
    .await;
    let mut task = h.task("slow", "exit 0");
    let uri = format!("http://{server}/slow.tgz");
    task.command.as_mut().expect("a command").uris.push(Uri {
        value: uri,
        ..Uri::default()
    });
    // The future owns what it needs: it can be spawned, and the task is
    // registered before it is first polled.
    let launch = tokio::spawn(h.runtime.launch(spec(task)));
    h.runtime.kill("slow", None).await;
    let result = timeout(WAIT, launch)
        .await
        .expect("the launch to end")
        .expect("no panic");
    let error = result.expect_err("the launch was killed");
    assert!(
        matches!(error, ProcessError::KilledDuringLaunch { .. }),
        "{error}"
    );
    let update = error.to_update("slow");
    assert_eq!(update.state, TaskState::TaskKilled);
    assert_eq!(update.reason, Some(Reason::TaskKilledDuringLaunch));
    assert!(
        h.updates.try_recv().is_err(),
        "no update is emitted for a failed launch"
    );
}

#[tokio::test]
async fn a_second_launch_of_a_live_task_is_refused() {
    let mut h = Harness::new();
    h.launch(h.task("twice", "sleep 1000")).await;
    let error = h
        .runtime
        .launch(spec(h.task("twice", "exit 0")))
        .await
        .expect_err("a duplicate");
    assert!(
        matches!(error, ProcessError::AlreadyRunning { .. }),
        "{error}"
    );
    h.expect_started("twice").await;
    h.runtime.kill("twice", Some(Duration::ZERO)).await;
    assert_eq!(
        h.until_terminal().await.pop().map(|u| u.state),
        Some(TaskState::TaskKilled)
    );
    // Once it ended, the id may be used again.
    h.launch(h.task("twice", "exit 0")).await;
    assert_eq!(
        h.until_terminal().await.pop().map(|u| u.state),
        Some(TaskState::TaskFinished)
    );
}

// === Health checks and checks ===

fn command_health_check(script: &str) -> HealthCheck {
    HealthCheck {
        r#type: Some(health_check::Type::Command as i32),
        command: Some(shell(script)),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.05),
        timeout_seconds: Some(5.0),
        consecutive_failures: Some(3),
        // Failures before the first success (the file not yet there) are ignored.
        grace_period_seconds: Some(10.0),
        ..HealthCheck::default()
    }
}

#[tokio::test]
async fn a_command_health_check_reports_healthy_then_unhealthy_and_kills() {
    let mut h = Harness::new();
    let mut task = h.task("checked", r#"touch "$DIR/healthy"; exec sleep 1000"#);
    task.health_check = Some(Box::new(command_health_check(r#"test -f "$DIR/healthy""#)));
    task.kill_policy = None;
    h.launch(task).await;
    h.expect_started("checked").await;

    let healthy = h.next().await;
    assert_eq!(healthy.state, TaskState::TaskRunning);
    assert_eq!(healthy.healthy, Some(true));
    assert_eq!(healthy.reason, Some(Reason::TaskHealthCheckStatusUpdated));

    // Several more successful checks run meanwhile; none is reported.
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::remove_file(h.dir().join("healthy")).expect("removing the health file");
    let unhealthy = h.next().await;
    assert_eq!(
        (unhealthy.state, unhealthy.healthy),
        (TaskState::TaskRunning, Some(false))
    );
    assert_eq!(unhealthy.reason, Some(Reason::TaskHealthCheckStatusUpdated));

    let last = h.next().await;
    assert_eq!(last.state, TaskState::TaskKilled);
    assert_eq!(last.healthy, Some(false));
    let message = last.message.unwrap_or_default();
    assert!(
        message.contains("3 consecutive failed health checks"),
        "{message}"
    );
}

#[tokio::test]
async fn a_command_check_reports_exit_codes_when_they_change() {
    let mut h = Harness::new();
    std::fs::write(h.dir().join("code"), "0").expect("writing the exit code");
    let mut task = h.task("probed", "exec sleep 1000");
    task.check = Some(Box::new(CheckInfo {
        r#type: Some(check_info::Type::Command as i32),
        command: Some(check_info::Command {
            command: shell(r#"exit "$(cat "$DIR/code")""#),
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.05),
        timeout_seconds: Some(5.0),
        ..CheckInfo::default()
    }));
    h.launch(task).await;
    let running = h.expect_started("probed").await;
    let exit_code = |u: &ProcessUpdate| u.check_status.and_then(|s| s.command).map(|c| c.exit_code);
    assert_eq!(
        exit_code(&running),
        Some(None),
        "TASK_RUNNING carries an empty COMMAND check status"
    );

    let first = h.next().await;
    assert_eq!(first.reason, Some(Reason::TaskCheckStatusUpdated));
    assert_eq!(exit_code(&first), Some(Some(0)));

    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::write(h.dir().join("code"), "7").expect("writing the exit code");
    let second = h.next().await;
    assert_eq!(second.reason, Some(Reason::TaskCheckStatusUpdated));
    assert_eq!(
        exit_code(&second),
        Some(Some(7)),
        "unchanged results are not reported"
    );

    h.runtime.kill("probed", Some(Duration::ZERO)).await;
    let last = h.next().await;
    assert_eq!(last.state, TaskState::TaskKilled);
    assert_eq!(
        exit_code(&last),
        Some(Some(7)),
        "each update is a full snapshot"
    );
}

#[tokio::test]
async fn http_health_checks_are_reported_as_unsupported() {
    let mut h = Harness::new();
    let mut task = h.task("http-checked", "exit 0");
    task.health_check = Some(Box::new(HealthCheck {
        r#type: Some(health_check::Type::Http as i32),
        ..HealthCheck::default()
    }));
    h.launch(task).await;
    let running = h.expect_started("http-checked").await;
    let message = running.message.unwrap_or_default();
    assert!(
        message.contains("HTTP health checks are not supported"),
        "{message}"
    );
}

// === URIs ===

/// A gzipped tarball with `pkg/hello.txt` and an executable `pkg/run.sh`.
fn tarball() -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for (path, mode, body) in [
        ("pkg/hello.txt", 0o644, &b"hello from the tarball\n"[..]),
        ("pkg/run.sh", 0o755, &b"#!/bin/sh\necho ran\n"[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        builder
            .append_data(&mut header, path, body)
            .expect("appending to the tarball");
    }
    builder
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("finishing the tarball")
}

/// Serves `router` on a free loopback port.
async fn serve(router: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

#[tokio::test]
async fn local_uris_are_copied_extracted_and_made_executable() {
    let mut h = Harness::new();
    let archive = h.dir().join("pkg.tar.gz");
    std::fs::write(&archive, tarball()).expect("writing the tarball");
    let script = h.dir().join("tool.txt");
    std::fs::write(&script, "#!/bin/sh\necho tool-ran\n").expect("writing the script");

    let mut task = h.task(
        "fetcher",
        r#"cat pkg/hello.txt && ./pkg/run.sh && ./bin/tool > "$DIR/out""#,
    );
    task.command.as_mut().expect("a command").uris = vec![
        Uri {
            value: archive.to_string_lossy().into_owned(),
            ..Uri::default()
        },
        Uri {
            value: format!("file://{}", script.display()),
            executable: Some(true),
            output_file: Some("bin/tool".into()),
            ..Uri::default()
        },
    ];
    h.launch(task).await;
    let last = h.until_terminal().await.pop().expect("a terminal update");
    assert_eq!(last.state, TaskState::TaskFinished, "{:?}", last.message);
    assert_eq!(h.read("out"), "tool-ran\n");
}

#[tokio::test]
async fn http_uris_on_loopback_are_fetched_and_extracted() {
    let mut h = Harness::new();
    let body = tarball();
    let server = serve(axum::Router::new().route(
        "/dist/pkg.tgz",
        axum::routing::get(move || {
            let body = body.clone();
            async move { body }
        }),
    ))
    .await;
    let mut task = h.task("downloader", r#"cat pkg/hello.txt > "$DIR/out""#);
    let value = format!("http://{server}/dist/pkg.tgz");
    task.command.as_mut().expect("a command").uris.push(Uri {
        value,
        ..Uri::default()
    });
    h.launch(task).await;
    let last = h.until_terminal().await.pop().expect("a terminal update");
    assert_eq!(last.state, TaskState::TaskFinished, "{:?}", last.message);
    assert_eq!(h.read("out"), "hello from the tarball\n");
}

#[tokio::test]
async fn fetch_failures_fail_the_launch_naming_the_uri() {
    let mut h = Harness::new();
    let server = serve(axum::Router::new()).await;
    for (value, why) in [
        ("http://example.com/pkg.tgz".to_owned(), "loopback"),
        (format!("http://{server}/missing.tgz"), "HTTP 404"),
        ("/nonexistent/pkg.tgz".to_owned(), "could not copy"),
    ] {
        let mut task = h.task("unfetchable", "exit 0");
        task.command.as_mut().expect("a command").uris.push(Uri {
            value: value.clone(),
            ..Uri::default()
        });
        let error = h
            .runtime
            .launch(spec(task))
            .await
            .expect_err("a failed fetch");
        let update = error.to_update("unfetchable");
        assert_eq!(update.state, TaskState::TaskFailed);
        assert_eq!(update.reason, Some(Reason::ContainerLaunchFailed));
        let message = update.message.unwrap_or_default();
        assert!(
            message.contains(&value) && message.contains(why),
            "{message}"
        );
    }
    assert!(
        h.updates.try_recv().is_err(),
        "no update is emitted for a failed launch"
    );
}

// === Shutdown ===

#[tokio::test]
async fn shutdown_kills_every_task_and_refuses_new_ones() {
    let mut h = Harness::new();
    for name in ["one", "two"] {
        let script =
            format!(r#"sleep 1000 & echo $! > "$DIR/{name}-child"; echo $$ > "$DIR/{name}"; wait"#);
        h.launch(h.task(name, &script)).await;
    }
    let mut pids = Vec::new();
    for name in ["one", "two", "one-child", "two-child"] {
        pids.push(h.pid(name).await);
    }
    timeout(WAIT, h.runtime.shutdown())
        .await
        .expect("shutdown within the time limit");
    for pid in pids {
        assert!(gone(pid).await, "process {pid} survived the shutdown");
    }
    let killed = std::iter::from_fn(|| h.updates.try_recv().ok())
        .filter(|u| u.state == TaskState::TaskKilled)
        .count();
    assert_eq!(killed, 2, "both tasks report TASK_KILLED");
    let error = h
        .runtime
        .launch(spec(h.task("late", "exit 0")))
        .await
        .expect_err("after shutdown");
    assert!(matches!(error, ProcessError::ShutDown), "{error}");
}
