//! Bad svc.yml input: each case asserts the message and the location (line and key
//! path) of the first problem reported. None may panic.

use std::collections::BTreeMap;

use plinth::spec::{Diagnostic, load_str};

const BASE: &str = "name: svc
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: echo hi
        cpus: 0.1
        memory: 32
";

/// `BASE` with line `line` (1-based) replaced by `with` (which may span lines).
fn edit(line: usize, with: &str) -> String {
    BASE.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                with.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// `BASE` plus extra lines.
fn plus(extra: &str) -> String {
    format!("{BASE}{extra}")
}

fn errors(yaml: &str, env: &[(&str, &str)]) -> Vec<Diagnostic> {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match load_str(yaml, &env, Some("svc.yml")) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.diagnostics,
    }
}

fn first_error(yaml: &str, env: &[(&str, &str)]) -> Diagnostic {
    errors(yaml, env)
        .into_iter()
        .next()
        .expect("one diagnostic")
}

/// Finds the diagnostic at `path` (the first one when `path` is empty) and checks
/// its file, line and message.
#[track_caller]
fn check(yaml: &str, env: &[(&str, &str)], line: u32, path: &str, message: &str) {
    let all = errors(yaml, env);
    let listing: Vec<String> = all.iter().map(ToString::to_string).collect();
    let d = all
        .iter()
        .find(|d| d.location.path == path)
        .unwrap_or_else(|| panic!("no diagnostic at {path:?}; got {listing:#?}"));
    let text = d.to_string();
    assert_eq!(d.location.file.as_deref(), Some("svc.yml"), "{text}");
    assert_eq!(d.location.line, Some(line), "line of: {text}");
    assert_eq!(d.location.path, path, "path of: {text}");
    assert!(text.contains(message), "message {message:?} not in: {text}");
}

#[test]
fn base_is_valid() {
    let l = load_str(BASE, &BTreeMap::new(), None).unwrap();
    assert_eq!(l.spec.deploy_step_names(), ["hello-0:[server]"]);
}

#[test]
fn missing_variable() {
    check(
        &edit(1, "name: {{NAME}}"),
        &[],
        1,
        "",
        "missing value for template variable '{{NAME}}'",
    );
}

#[test]
fn missing_variable_in_triple_mustache_names_its_line() {
    check(
        &edit(4, "    count: {{{COUNT}}}"),
        &[],
        4,
        "",
        "'{{COUNT}}'",
    );
}

#[test]
fn unclosed_section() {
    check(
        &edit(3, "  {{#X}}\n  hello:"),
        &[],
        3,
        "",
        "section 'X' is never closed",
    );
}

#[test]
fn duplicate_key() {
    check(
        &edit(5, "    count: 2\n    tasks:"),
        &[],
        5,
        "",
        "duplicate key 'count' (first defined on line 4)",
    );
}

#[test]
fn duplicate_key_line_survives_removed_section_lines() {
    let yaml = edit(3, "  {{#OFF}}\n  gone: 1\n  {{/OFF}}\n  hello:")
        .replace("    memory: 32", "    memory: 32\n        memory: 64");
    check(
        &yaml,
        &[],
        14,
        "",
        "duplicate key 'memory' (first defined on line 13)",
    );
}

#[test]
fn unknown_top_level_key() {
    check(
        &plus("plan:\n  x: 1\n"),
        &[],
        11,
        "plan",
        "unknown key 'plan' (did you mean 'plans'?)",
    );
}

#[test]
fn unknown_task_key_with_hint() {
    check(
        &edit(9, "        cpu: 0.1"),
        &[],
        9,
        "pods.hello.tasks.server.cpu",
        "the key is 'cpus'",
    );
}

#[test]
fn task_level_uris_are_rejected() {
    check(
        &plus("        uris: [a]\n"),
        &[],
        11,
        "pods.hello.tasks.server.uris",
        "move them to 'pods.<pod>.uris'",
    );
}

#[test]
fn unknown_port_key() {
    check(
        &plus("        ports:\n          http:\n            prot: 80\n"),
        &[],
        13,
        "pods.hello.tasks.server.ports.http.prot",
        "unknown key 'prot' (did you mean 'port'?)",
    );
}

#[test]
fn unknown_pod_keys_are_ignored_with_a_warning() {
    let l = load_str(
        &edit(4, "    count: 1\n    container: {}"),
        &BTreeMap::new(),
        Some("svc.yml"),
    )
    .unwrap();
    assert_eq!(l.spec.pods[0].ignored_keys, ["container"]);
    let w = l.warnings[0].to_string();
    assert!(
        w.starts_with("svc.yml:5:5: pods.hello.container: unknown key 'container'"),
        "{w}"
    );
}

#[test]
fn bad_placement_operator() {
    check(
        &edit(4, "    count: 1\n    placement: 'hostname:FOO'"),
        &[],
        5,
        "pods.hello.placement",
        "unsupported operator 'FOO'",
    );
}

#[test]
fn placement_from_env_with_escaped_quotes() {
    check(
        &edit(4, "    count: 1\n    placement: '{{{P}}}'"),
        &[("P", r#"[[\"hostname\", \"UNIQUE\"]]"#)],
        5,
        "pods.hello.placement",
        "invalid placement constraint",
    );
}

#[test]
fn placement_must_be_quoted() {
    check(
        &edit(4, "    count: 1\n    placement: [[hostname, UNIQUE]]"),
        &[],
        5,
        "pods.hello.placement",
        "quote the constraint",
    );
}

#[test]
fn placement_max_per_needs_a_value() {
    check(
        &edit(4, "    count: 1\n    placement: 'rack:MAX_PER'"),
        &[],
        5,
        "pods.hello.placement",
        "operator MAX_PER needs a value",
    );
}

#[test]
fn unknown_pod_in_plan() {
    check(
        &plus("plans:\n  deploy:\n    phases:\n      p:\n        pod: world\n"),
        &[],
        15,
        "plans.deploy.phases.p.pod",
        "unknown pod 'world': known pods are hello",
    );
}

#[test]
fn unknown_task_in_step() {
    check(
        &plus(
            "plans:\n  deploy:\n    phases:\n      p:\n        pod: hello\n        steps:\n          - default: [[foo, bar]]\n",
        ),
        &[],
        17,
        "plans.deploy.phases.p.steps[0].default[0][0]",
        "unknown task 'foo' in pod 'hello': tasks of 'hello' are server",
    );
}

#[test]
fn step_key_must_be_index_or_default() {
    check(
        &plus(
            "plans:\n  deploy:\n    phases:\n      p:\n        pod: hello\n        steps:\n          - first: [[server]]\n",
        ),
        &[],
        17,
        "plans.deploy.phases.p.steps[0].first",
        "a step key is a pod instance index (0, 1, …) or 'default'",
    );
}

#[test]
fn unknown_phase_strategy() {
    check(
        &plus(
            "plans:\n  deploy:\n    phases:\n      p:\n        pod: hello\n        strategy: paralel\n",
        ),
        &[],
        16,
        "plans.deploy.phases.p.strategy",
        "must be one of serial, parallel, serial-canary, canary, parallel-canary",
    );
}

const SHARED: &str = "name: svc
pods:
  hello:
    count: 1
    resource-sets:
      shared:
        cpus: 1
        memory: 64
    tasks:
      a:
        goal: ONCE
        cmd: a
        resource-set: shared
      b:
        goal: RUNNING
        cmd: b
        resource-set: shared
";

#[test]
fn default_step_launching_tasks_sharing_a_resource_set() {
    check(
        SHARED,
        &[],
        3,
        "pods.hello",
        "they share resource set 'shared'",
    );
}

#[test]
fn custom_step_launching_tasks_sharing_a_resource_set() {
    let yaml = format!(
        "{SHARED}plans:\n  deploy:\n    phases:\n      p:\n        pod: hello\n        steps:\n          - default: [[a, b]]\n"
    );
    check(
        &yaml,
        &[],
        24,
        "plans.deploy.phases.p.steps[0].default[0]",
        "run them in separate steps",
    );
}

#[test]
fn resource_set_and_cpus_conflict() {
    check(
        &SHARED.replace(
            "        resource-set: shared\n      b:",
            "        resource-set: shared\n        cpus: 2\n      b:",
        ),
        &[],
        14,
        "pods.hello.tasks.a.cpus",
        "'resource-set' and 'cpus' cannot both be set",
    );
}

#[test]
fn unknown_resource_set() {
    check(
        &SHARED.replace(
            "resource-set: shared\n      b:",
            "resource-set: shraed\n      b:",
        ),
        &[],
        13,
        "pods.hello.tasks.a.resource-set",
        "unknown resource-set 'shraed': define it under pods.hello.resource-sets (defined: shared)",
    );
}

#[test]
fn volume_and_volumes_conflict() {
    check(
        &plus(
            "        volume: {path: a, type: ROOT, size: 1}\n        volumes:\n          b: {path: b, type: ROOT, size: 1}\n",
        ),
        &[],
        12,
        "pods.hello.tasks.server.volumes",
        "'volume' and 'volumes' cannot both be set",
    );
}

#[test]
fn volume_without_size() {
    check(
        &plus("        volume:\n          path: data\n          type: ROOT\n"),
        &[],
        11,
        "pods.hello.tasks.server.volume",
        "missing required key 'size'",
    );
}

#[test]
fn volume_with_unknown_type() {
    check(
        &plus("        volume: {path: data, type: SSD, size: 10}\n"),
        &[],
        11,
        "pods.hello.tasks.server.volume.type",
        "volume type must be ROOT or MOUNT",
    );
}

#[test]
fn volume_path_with_slash() {
    check(
        &plus("        volume: {path: data/dir, type: ROOT, size: 10}\n"),
        &[],
        11,
        "pods.hello.tasks.server.volume.path",
        "volume paths are relative names",
    );
}

#[test]
fn profiles_need_mount_volumes() {
    check(
        &plus("        volume: {path: data, type: ROOT, size: 10, profiles: [fast]}\n"),
        &[],
        11,
        "pods.hello.tasks.server.volume.profiles",
        "disk profiles select MOUNT disks",
    );
}

#[test]
fn duplicate_volume_path_in_pod() {
    check(
        &edit(
            4,
            "    count: 1\n    volume: {path: data, type: ROOT, size: 10}",
        )
        .replace(
            "memory: 32",
            "memory: 32\n        volume: {path: data, type: ROOT, size: 5}",
        ),
        &[],
        12,
        "pods.hello.tasks.server.volume.path",
        "duplicate volume path 'data' (also used at pods.hello.volume)",
    );
}

#[test]
fn duplicate_static_port_in_pod() {
    let yaml = plus(
        "        ports: {a: {port: 8080}}\n      other:\n        goal: RUNNING\n        cmd: x\n        cpus: 1\n        memory: 1\n        ports:\n          b:\n            port: 8080\n",
    );
    check(
        &yaml,
        &[],
        19,
        "pods.hello.tasks.other.ports.b.port",
        "duplicate port number '8080'",
    );
}

#[test]
fn port_out_of_range() {
    check(
        &plus("        ports:\n          http:\n            port: 70000\n"),
        &[],
        13,
        "pods.hello.tasks.server.ports.http.port",
        "must be between 0 and 65535",
    );
}

#[test]
fn invalid_env_key() {
    check(
        &plus("        ports:\n          http:\n            port: 0\n            env-key: 1BAD\n"),
        &[],
        14,
        "pods.hello.tasks.server.ports.http.env-key",
        "not a valid environment variable name",
    );
}

#[test]
fn finished_goal_is_renamed() {
    check(
        &edit(7, "        goal: FINISHED"),
        &[],
        7,
        "pods.hello.tasks.server.goal",
        "write 'FINISH'",
    );
}

#[test]
fn missing_goal() {
    check(
        &edit(7, "        essential: true"),
        &[],
        6,
        "pods.hello.tasks.server",
        "missing required key 'goal'",
    );
}

#[test]
fn negative_count() {
    check(
        &edit(4, "    count: -1"),
        &[],
        4,
        "pods.hello.count",
        "must be between 0 and",
    );
}

#[test]
fn count_not_a_number_from_env() {
    check(
        &edit(4, "    count: {{C}}"),
        &[("C", "two")],
        4,
        "pods.hello.count",
        "expected an integer, found \"two\"",
    );
}

#[test]
fn cpus_not_a_number() {
    check(
        &edit(9, "        cpus: lots"),
        &[],
        9,
        "pods.hello.tasks.server.cpus",
        "expected a number, found \"lots\"",
    );
}

#[test]
fn cpus_must_be_positive() {
    check(
        &edit(9, "        cpus: 0"),
        &[],
        9,
        "pods.hello.tasks.server.cpus",
        "cpus must be greater than 0",
    );
}

#[test]
fn essential_not_a_boolean() {
    check(
        &plus("        essential: maybe\n"),
        &[],
        11,
        "pods.hello.tasks.server.essential",
        "expected true or false",
    );
}

#[test]
fn rlimit_needs_both_values() {
    check(
        &edit(
            4,
            "    count: 1\n    rlimits:\n      RLIMIT_NOFILE:\n        soft: 10",
        ),
        &[],
        6,
        "pods.hello.rlimits.RLIMIT_NOFILE",
        "missing required key 'hard'",
    );
}

#[test]
fn unknown_rlimit() {
    check(
        &edit(
            4,
            "    count: 1\n    rlimits:\n      RLIMIT_FILES: {soft: 1, hard: 2}",
        ),
        &[],
        6,
        "pods.hello.rlimits.RLIMIT_FILES",
        "unknown rlimit",
    );
}

#[test]
fn shm_size_with_shared_ipc_is_only_a_warning() {
    let yaml = edit(
        4,
        "    count: 1\n    ipc-mode: SHARE_PARENT\n    shm-size: 64",
    );
    let l = load_str(&yaml, &BTreeMap::new(), Some("svc.yml")).unwrap();
    let w = l.warnings[0].to_string();
    assert!(w.starts_with("svc.yml:6:5: pods.hello.shm-size: 'ipc-mode: SHARE_PARENT' and 'shm-size' cannot both be set"), "{w}");
}

#[test]
fn seccomp_conflict() {
    check(
        &edit(
            4,
            "    count: 1\n    seccomp-unconfined: true\n    seccomp-profile-name: default",
        ),
        &[],
        6,
        "pods.hello.seccomp-profile-name",
        "'seccomp-unconfined' and 'seccomp-profile-name' cannot both be set",
    );
}

#[test]
fn service_name_with_double_underscore() {
    check(
        &edit(1, "name: my__svc"),
        &[],
        1,
        "name",
        "cannot contain '__'",
    );
}

#[test]
fn service_name_too_long_for_dns() {
    let long = format!("name: {}", "a".repeat(64));
    check(&edit(1, &long), &[], 1, "name", "at most 63 characters");
}

#[test]
fn pods_must_not_be_empty() {
    check(
        "name: svc\npods:\n",
        &[],
        2,
        "pods",
        "a service needs at least one pod type",
    );
}

#[test]
fn missing_name() {
    let d = first_error(&BASE.replacen("name: svc\n", "", 1), &[]);
    assert_eq!(d.location.path, "name");
    assert!(d.to_string().contains("missing required key 'name'"));
}

#[test]
fn yaml_syntax_error() {
    check(&edit(9, "        cpus: [0.1"), &[], 10, "", "YAML syntax");
}

#[test]
fn two_documents() {
    check(
        &plus("---\nname: other\n"),
        &[],
        11,
        "",
        "single YAML document",
    );
}

#[test]
fn health_check_without_cmd() {
    check(
        &plus("        health-check:\n          interval: 5\n"),
        &[],
        11,
        "pods.hello.tasks.server.health-check",
        "missing required key 'cmd'",
    );
}

#[test]
fn kill_grace_period_too_long() {
    check(
        &plus("        kill-grace-period: 9999999\n"),
        &[],
        11,
        "pods.hello.tasks.server.kill-grace-period",
        "must be between 0 and 1209600",
    );
}

#[test]
fn malformed_labels() {
    check(
        &plus("        labels: a:b:c\n"),
        &[],
        11,
        "pods.hello.tasks.server.labels",
        "labels are 'key:value' pairs",
    );
}

#[test]
fn port_mapping_lengths_differ() {
    check(
        &edit(
            4,
            "    count: 1\n    networks:\n      mynet:\n        host-ports: [80, 81]\n        container-ports: [8080]",
        ),
        &[],
        6,
        "pods.hello.networks.mynet",
        "must have the same length (2 vs 1)",
    );
}

#[test]
fn discovery_prefix_shared_by_two_pods() {
    let yaml = format!(
        "{}        discovery: {{prefix: api}}\n  world:\n    count: 1\n    tasks:\n      server:\n        goal: RUNNING\n        cmd: x\n        cpus: 1\n        memory: 1\n        discovery:\n          prefix: api\n",
        BASE
    );
    check(
        &yaml,
        &[],
        21,
        "pods.world.tasks.server.discovery.prefix",
        "duplicate discovery prefix 'api'",
    );
}

#[test]
fn wrong_shape_for_env() {
    check(
        &plus("        env: [A, B]\n"),
        &[],
        11,
        "pods.hello.tasks.server.env",
        "expected a mapping",
    );
}

#[test]
fn transport_encryption_is_not_supported_yet() {
    let l = load_str(
        &plus("        transport-encryption:\n          - name: node\n            type: TLS\n"),
        &BTreeMap::new(),
        Some("svc.yml"),
    )
    .unwrap();
    let u = l.unsupported[0].to_string();
    assert!(u.starts_with("svc.yml:11:9: pods.hello.tasks.server.transport-encryption: not supported yet: pods.hello.tasks.server.transport-encryption"), "{u}");
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let yaml = edit(9, "        cpus: lots").replace("memory: 32", "memory: -3");
    let err = load_str(&yaml, &BTreeMap::new(), Some("svc.yml")).unwrap_err();
    let lines: Vec<Option<u32>> = err.diagnostics.iter().map(|d| d.location.line).collect();
    assert!(
        lines.contains(&Some(9)) && lines.contains(&Some(10)),
        "{err}"
    );
    assert!(err.to_string().contains("problems in spec"), "{err}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary text never panics the loader.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = load_str(&text, &BTreeMap::new(), Some("fuzz.yml"));
        }

        /// The base spec with one line replaced by arbitrary text never panics, and
        /// every error it produces names a line inside the file.
        #[test]
        fn mutated_spec_never_panics(line in 1usize..=10, with in "[ -~]{0,40}") {
            let yaml = edit(line, &with);
            if let Err(e) = load_str(&yaml, &BTreeMap::new(), Some("svc.yml")) {
                for d in &e.diagnostics {
                    if let Some(l) = d.location.line {
                        prop_assert!((1..=11).contains(&l), "{d}");
                    }
                }
            }
        }
    }
}
