//! The `plinth spec` command line, run as a process on the project's own example.

use std::path::Path;
use std::process::Command;

fn example() -> (String, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello-world");
    (
        dir.join("svc.yml").display().to_string(),
        dir.join("svc.env").display().to_string(),
    )
}

fn plinth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(args)
        .output()
        .expect("run plinth")
}

#[test]
fn validate_accepts_the_example() {
    let (yml, env) = example();
    let out = plinth(&["spec", "validate", &yml, "--env-file", &env]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
}

#[test]
fn validate_lists_problems_and_exits_1() {
    let (yml, env) = example();
    let out = plinth(&[
        "spec",
        "validate",
        &yml,
        "--env-file",
        &env,
        "--env",
        "STORE_COUNT=two",
        "--env",
        "WEB_PLACEMENT=hostname:NOPE",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 problems"), "{err}");
    assert!(
        err.contains("svc.yml:9:12: pods.store.count: expected an integer, found \"two\""),
        "{err}"
    );
    assert!(err.contains("svc.yml:42:5: pods.web.placement: invalid placement constraint: unsupported operator 'NOPE'"), "{err}");
}

#[test]
fn validate_reports_missing_variables_with_lines() {
    let (yml, _) = example();
    let out = plinth(&["spec", "validate", &yml]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("svc.yml:3: missing value for template variable '{{SERVICE_NAME}}'"),
        "{err}"
    );
}

#[test]
fn render_prints_the_resolved_spec() {
    let (yml, env) = example();
    let out = plinth(&[
        "spec",
        "render",
        &yml,
        "--env-file",
        &env,
        "--env",
        "WEB_COUNT=1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["service"]["name"], "hello-world");
    assert_eq!(json["pods"][1]["count"], 1);
    assert_eq!(json["pods"][0]["tasks"][1]["cpus"], 0.5);
    let steps: Vec<&str> = json["default_deploy_steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(steps[..2], ["store-0:[migrate]", "store-0:[server]"]);
    assert_eq!(steps.last(), Some(&"web-0:[server]"));
}

#[test]
fn bad_arguments_exit_2() {
    let (yml, _) = example();
    let out = plinth(&["spec", "render", &yml, "--env", "NOEQUALS"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_templates_are_read_next_to_the_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yml = dir.path().join("svc.yml");
    std::fs::write(
        &yml,
        "name: svc\npods:\n  hello:\n    count: 1\n    tasks:\n      server:\n        goal: RUNNING\n        cmd: x\n        cpus: 1\n        memory: 64\n        configs:\n          conf:\n            template: conf.mustache\n            dest: etc/conf\n",
    )
    .expect("write spec");
    let yml = yml.display().to_string();
    // Missing template: render still describes the spec, validate refuses it.
    let out = plinth(&["spec", "render", &yml]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let out = plinth(&["spec", "validate", &yml]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("svc.yml:13:13: pods.hello.tasks.server.configs.conf.template: cannot read"),
        "{err}"
    );
    // A template with a syntax error names the template file and line.
    std::fs::write(dir.path().join("conf.mustache"), "a\n{{#X}}\n").expect("write template");
    let out = plinth(&["spec", "validate", &yml]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("conf.mustache:2: pods.hello.tasks.server.configs.conf.template: template syntax: line 2: section 'X' is never closed"), "{err}");
    std::fs::write(dir.path().join("conf.mustache"), "a={{TASK_NAME}}\n").expect("write template");
    let out = plinth(&["spec", "validate", &yml]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
