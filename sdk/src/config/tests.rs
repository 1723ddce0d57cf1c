//! Unit tests: diffs, validators, dry runs (snapshot-tested), relabelling.

use std::collections::BTreeMap;

use plinth_proto::v1::{Label, Labels, TaskId, TaskInfo};

use super::*;
use crate::spec::{ServiceSpec, load_str};

/// A three-pod service; every knob a test turns is a variable.
const SVC: &str = r#"
name: {{NAME}}
scheduler:
  user: {{USER}}
pods:
  hello:
    count: {{HELLO_COUNT}}
    placement: '{{{HELLO_PLACEMENT}}}'
    tasks:
      server:
        goal: RUNNING
        cmd: "echo hello >> data/out && sleep {{SLEEP}}"
        cpus: 0.1
        memory: 256
        volume:
          path: data
          type: ROOT
          size: {{HELLO_DISK}}
  world:
    count: {{WORLD_COUNT}}
    allow-decommission: true
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep {{SLEEP}}"
        cpus: {{WORLD_CPUS}}
        memory: 512
        env:
          LEVEL: {{WORLD_LEVEL}}
        configs:
          conf:
            template: {{WORLD_TEMPLATE}}
            dest: conf/world.conf
        readiness-check:
          cmd: "true"
          interval: 5
          delay: 0
          timeout: 10
  store:
    count: {{STORE_COUNT}}
    tasks:
      node:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.5
        memory: {{STORE_MEM}}
{{#WEB}}
  web:
    count: 2
    tasks:
      server:
        goal: RUNNING
        cmd: "sleep 1000"
        cpus: 0.1
        memory: 64
{{/WEB}}
"#;

fn base_env() -> BTreeMap<String, String> {
    [
        ("NAME", "hello-world"),
        ("USER", "nobody"),
        ("HELLO_COUNT", "1"),
        ("HELLO_PLACEMENT", r#"[["hostname", "UNIQUE"]]"#),
        ("HELLO_DISK", "25"),
        ("SLEEP", "1000"),
        ("WORLD_COUNT", "2"),
        ("WORLD_CPUS", "0.2"),
        ("WORLD_LEVEL", "info"),
        ("WORLD_TEMPLATE", "world.conf.mustache"),
        ("STORE_COUNT", "2"),
        ("STORE_MEM", "128"),
        ("WEB", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn spec_with(changes: &[(&str, &str)]) -> ServiceSpec {
    let mut env = base_env();
    for (k, v) in changes {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    load_str(SVC, &env, Some("svc.yml"))
        .expect("test spec loads")
        .spec
}

fn base() -> ServiceSpec {
    spec_with(&[])
}

// === diff ===

#[test]
fn identical_specs_have_an_empty_diff() {
    let d = diff(&base(), &base());
    assert!(d.is_empty());
    assert!(d.restarted_pods().is_empty());
    assert_eq!(d.kept_pods(), ["hello", "world", "store"]);
}

#[test]
fn env_and_resource_changes_restart_only_their_pod() {
    let new = spec_with(&[("WORLD_CPUS", "0.3"), ("WORLD_LEVEL", "debug")]);
    let d = diff(&base(), &new);
    assert_eq!(d.restarted_pods(), ["world"]);
    assert_eq!(d.kept_pods(), ["hello", "store"]);
    let world = d.pod("world").unwrap();
    let kinds: Vec<(ChangeKind, &str)> = world
        .changes
        .iter()
        .map(|c| (c.kind, c.path.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::Env, "tasks.server.env.LEVEL"),
            (ChangeKind::Resources, "tasks.server.cpus")
        ]
    );
    assert_eq!(world.changes[1].old.as_deref(), Some("0.2"));
    assert_eq!(world.changes[1].new.as_deref(), Some("0.3"));
}

#[test]
fn count_and_placement_alone_do_not_restart() {
    let new = spec_with(&[
        ("HELLO_PLACEMENT", r#"[["hostname", "MAX_PER", "2"]]"#),
        ("STORE_COUNT", "3"),
    ]);
    let d = diff(&base(), &new);
    assert!(d.restarted_pods().is_empty(), "{d:#?}");
    assert_eq!(d.pod("hello").unwrap().status, PodStatus::Changed);
    assert_eq!(d.pod("store").unwrap().changes[0].kind, ChangeKind::Count);
    assert_eq!(d.kept_pods(), ["hello", "world", "store"]);
}

#[test]
fn added_and_removed_pods_and_tasks() {
    let with_web = spec_with(&[("WEB", "yes")]);
    let d = diff(&base(), &with_web);
    assert_eq!(d.pod("web").unwrap().status, PodStatus::Added);
    let d = diff(&with_web, &base());
    let web = d.pod("web").unwrap();
    assert_eq!(
        (web.status, web.old_count, web.new_count),
        (PodStatus::Removed, Some(2), None)
    );
    assert!(!web.needs_restart());
}

#[test]
fn config_template_contents_compare_only_when_both_are_known() {
    let old = base();
    let mut new = base();
    let conf = |s: &mut ServiceSpec| {
        s.pods[1].tasks[0]
            .configs
            .get_mut("conf")
            .map(|c| &mut c.content)
            .unwrap()
            .clone_from(&Some("a=1\n".into()));
    };
    conf(&mut new);
    assert!(
        diff(&old, &new).is_empty(),
        "stored configs carry no template content"
    );
    let mut old = old;
    conf(&mut old);
    new.pods[1].tasks[0]
        .configs
        .get_mut("conf")
        .unwrap()
        .content = Some("a=2\n".into());
    let d = diff(&old, &new);
    assert_eq!(d.restarted_pods(), ["world"]);
    let change = &d.pod("world").unwrap().changes[0];
    assert_eq!(
        (change.kind, change.path.as_str()),
        (
            ChangeKind::ConfigTemplate,
            "tasks.server.configs.conf.content"
        )
    );
}

#[test]
fn a_user_change_touches_every_pod() {
    let d = diff(&base(), &spec_with(&[("USER", "root")]));
    assert_eq!(d.service[0].kind, ChangeKind::User);
    assert_eq!(d.restarted_pods(), ["hello", "world", "store"]);
}

// === validators ===

#[test]
fn shrinking_without_allow_decommission_is_refused_with_dcos_commons_wording() {
    let errors = validate(Some(&base()), &spec_with(&[("HELLO_COUNT", "0")]));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.validator, "PodSpecsCannotShrink");
    assert!(
        e.to_string()
            .contains("PodSpec named 'hello' has 0 tasks, expected >=1 tasks"),
        "{e}"
    );
    assert_eq!((e.old.as_deref(), e.new.as_deref()), (Some("1"), Some("0")));
}

#[test]
fn shrinking_or_removing_an_allow_decommission_pod_is_accepted() {
    let errors = validate(Some(&base()), &spec_with(&[("WORLD_COUNT", "0")]));
    assert!(errors.is_empty(), "{errors:#?}");
    // Removing the pod type altogether is fine when the old pod allowed it.
    let mut without_world = base();
    without_world.pods.retain(|p| p.name != "world");
    let errors = validate(Some(&base()), &without_world);
    assert!(errors.is_empty(), "{errors:#?}");
    // ... and refused for a pod that did not.
    let mut without_hello = base();
    without_hello.pods.retain(|p| p.name != "hello");
    let errors = validate(Some(&base()), &without_hello);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].validator, "PodSpecsCannotShrink");
}

#[test]
fn removing_a_pod_type_needs_allow_decommission() {
    let with_web = spec_with(&[("WEB", "yes")]);
    let errors = validate(Some(&with_web), &base());
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].message.contains(
            "New config is missing PodSpec named 'web' (expected present with >= 2 tasks)"
        )
    );
}

#[test]
fn every_reason_is_listed() {
    let mut new = spec_with(&[
        ("HELLO_COUNT", "0"),
        ("HELLO_DISK", "50"),
        ("USER", "root"),
        ("NAME", "other"),
    ]);
    new.pods[2].pre_reserved_role = Some("slave_public".into());
    new.pods[0].placement = Some("hostname:NOPE".into());
    let errors = validate(Some(&base()), &new);
    let validators: Vec<&str> = errors.iter().map(|e| e.validator).collect();
    assert_eq!(
        validators,
        [
            "ServiceNameCannotChange",
            "PodSpecsCannotShrink",
            "TaskVolumesCannotChange",
            "PreReservationCannotChange",
            "UserCannotChange",
            "UserCannotChange",
            "UserCannotChange",
            "PlacementRuleIsValid",
        ]
    );
    assert!(
        errors[2]
            .to_string()
            .contains("Transition: '[data ROOT 25MB []]' => '[data ROOT 50MB []]'"),
        "{}",
        errors[2]
    );
}

#[test]
fn name_rules_apply_to_new_configurations() {
    let mut new = base();
    new.name = "a__b".into();
    let errors = validate(None, &new);
    assert_eq!(
        errors[0].validator,
        "ServiceNameCannotContainDoubleUnderscores"
    );
    new.name = format!("/group/{}", "x".repeat(64));
    let errors = validate(None, &new);
    assert_eq!(errors[0].validator, "ServiceNameCannotBreakDNS");
    assert!(
        errors[0].message.contains("has 69 characters"),
        "{}",
        errors[0].message
    );
    new.name = format!("/group/{}", "x".repeat(58));
    assert!(validate(None, &new).is_empty());
}

#[test]
fn network_regime_region_and_limits() {
    let mut new = base();
    new.pods[2]
        .networks
        .insert("dcos".into(), crate::spec::NetworkSpec::default());
    let errors = validate(Some(&base()), &new);
    assert_eq!(errors[0].validator, "PodSpecsCannotChangeNetworkRegime");
    assert_eq!(errors[0].new.as_deref(), Some("dcos"));

    let ctx = ValidationContext {
        old_region: Some("us-east".into()),
        new_region: Some("us-west".into()),
    };
    let errors = validate_with(Some(&base()), &base(), &ctx);
    assert_eq!(errors[0].validator, "RegionCannotChange");
    let same = ValidationContext {
        old_region: Some("us-east".into()),
        new_region: Some("us-east".into()),
    };
    assert!(validate_with(Some(&base()), &base(), &same).is_empty());

    let mut limited = base();
    limited.pods[0].tasks[0].resource_limits = Some(crate::spec::ResourceLimits {
        cpus: Some(crate::spec::ResourceLimit::Value(0.05)),
        memory: Some(crate::spec::ResourceLimit::Unlimited),
    });
    let errors = validate(None, &limited);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].validator,
        "ResourceLimitsMustExceedRequestedResources"
    );
}

// === dry run ===

/// The multi-pod change the snapshots show: world gets more CPU and a new
/// env value (restart), hello only a new placement (no restart), store more
/// memory (restart) and one more instance, web is added; the deploy plan's
/// order is hello, world, store, web.
fn multi_pod_change() -> (ServiceSpec, ServiceSpec) {
    let new = spec_with(&[
        ("WORLD_CPUS", "0.3"),
        ("WORLD_LEVEL", "debug"),
        ("HELLO_PLACEMENT", r#"[["hostname", "MAX_PER", "2"]]"#),
        ("STORE_COUNT", "3"),
        ("STORE_MEM", "256"),
        ("WEB", "yes"),
    ]);
    (base(), new)
}

#[test]
fn dry_run_orders_restarts_by_the_deploy_plan() {
    let (old, new) = multi_pod_change();
    let run = dry_run(&old, &new, true);
    assert!(run.accepted);
    let order: Vec<(usize, &str)> = run
        .restarts
        .iter()
        .map(|r| (r.order, r.pod.as_str()))
        .collect();
    assert_eq!(order, [(1, "world"), (2, "store")]);
    assert_eq!(
        run.restarts[0].steps,
        ["world-0:[server]", "world-1:[server]"]
    );
    // Only the existing store instances restart; store-2 is launched.
    assert_eq!(run.restarts[1].steps, ["store-0:[node]", "store-1:[node]"]);
    assert_eq!(run.unchanged, Vec::<String>::new());
    assert_eq!(run.updated_in_place[0].pod, "hello");
    let added: Vec<(&str, Vec<String>)> = run
        .added
        .iter()
        .map(|a| (a.pod.as_str(), a.instances.clone()))
        .collect();
    assert_eq!(
        added,
        [
            ("store", vec!["store-2".to_owned()]),
            ("web", vec!["web-0".to_owned(), "web-1".to_owned()])
        ]
    );
}

#[test]
fn dry_run_multi_pod_change_text() {
    let (old, new) = multi_pod_change();
    insta::assert_snapshot!(dry_run(&old, &new, true).to_string());
}

#[test]
fn dry_run_multi_pod_change_json() {
    let (old, new) = multi_pod_change();
    insta::assert_json_snapshot!(dry_run(&old, &new, true));
}

#[test]
fn dry_run_of_a_refused_change_text() {
    let new = spec_with(&[
        ("HELLO_COUNT", "0"),
        ("WORLD_COUNT", "1"),
        ("WORLD_CPUS", "0.3"),
    ]);
    insta::assert_snapshot!(dry_run(&base(), &new, true).to_string());
}

#[test]
fn dry_run_follows_a_yaml_update_plan_once_deployed() {
    let mut old = base();
    old.plans = vec![crate::spec::PlanSpec {
        name: "update".into(),
        strategy: None,
        phases: ["store", "world", "hello"]
            .into_iter()
            .map(|pod| crate::spec::PhaseSpec {
                name: format!("{pod}-update"),
                strategy: Some(crate::spec::PhaseStrategy::SerialCanary),
                pod: pod.into(),
                steps: None,
            })
            .collect(),
    }];
    let mut new = spec_with(&[("SLEEP", "5")]);
    new.plans.clone_from(&old.plans);
    let mut store_cmd = new.pods[2].tasks[0].cmd.clone().unwrap();
    store_cmd.push_str(" # changed");
    new.pods[2].tasks[0].cmd = Some(store_cmd);

    let deployed = dry_run(&old, &new, true);
    assert_eq!(deployed.plan, "update");
    let order: Vec<(&str, &str, &str)> = deployed
        .restarts
        .iter()
        .map(|r| (r.pod.as_str(), r.phase.as_str(), r.strategy.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("store", "store-update", "serial-canary"),
            ("world", "world-update", "serial-canary"),
            ("hello", "hello-update", "serial-canary"),
        ]
    );
    let first = dry_run(&old, &new, false);
    assert_eq!(first.plan, "deploy");
    let order: Vec<&str> = first.restarts.iter().map(|r| r.pod.as_str()).collect();
    assert_eq!(order, ["hello", "world", "store"]);
}

#[test]
fn a_noop_dry_run_says_so() {
    let run = dry_run(&base(), &base(), false);
    assert!(run.is_noop());
    assert!(
        run.to_string()
            .contains("No changes: nothing would restart.")
    );
}

#[test]
fn scale_in_lists_decommissions_highest_index_first() {
    let with_web = spec_with(&[("WEB", "yes"), ("WORLD_COUNT", "3")]);
    let mut new = spec_with(&[("WORLD_COUNT", "1")]);
    new.pods.push(with_web.pods[3].clone());
    new.pods[3].count = 0;
    new.pods[3].allow_decommission = true;
    let run = dry_run(&with_web, &new, true);
    assert!(run.accepted, "{:#?}", run.validation_errors);
    let removed: Vec<(&str, Vec<String>)> = run
        .removed
        .iter()
        .map(|r| (r.pod.as_str(), r.instances.clone()))
        .collect();
    assert_eq!(
        removed,
        [
            ("web", vec!["web-1".to_owned(), "web-0".to_owned()]),
            ("world", vec!["world-2".to_owned(), "world-1".to_owned()])
        ]
    );
}

// === scheduler helpers ===

fn task(name: &str, pod: &str, target: Option<&str>) -> TaskInfo {
    let mut labels = vec![Label {
        key: "task_type".into(),
        value: Some(pod.into()),
    }];
    if let Some(t) = target {
        labels.push(Label {
            key: "target_configuration".into(),
            value: Some(t.into()),
        });
    }
    TaskInfo {
        name: name.into(),
        task_id: TaskId {
            value: format!("svc__{name}__1"),
        },
        labels: Some(Labels { labels }),
        ..Default::default()
    }
}

#[test]
fn kept_pods_are_relabelled_and_the_others_left_alone() {
    let tasks = [
        task("hello-0-server", "hello", Some("old")),
        task("world-0-server", "world", Some("old")),
        task("store-0-node", "store", Some("new")),
        task("store-1-node", "store", None),
    ];
    let out = relabel_kept_tasks(&tasks, &["hello", "store"], "new");
    let names: Vec<&str> = out.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["hello-0-server", "store-1-node"]);
    for t in &out {
        assert_eq!(
            labels::task_label(t, labels::TARGET_CONFIGURATION),
            Some("new")
        );
    }
}

#[test]
fn decide_update_accepts_rejects_and_ignores() {
    let ctx = ValidationContext::default();
    assert!(
        matches!(decide_update(None, &base(), &ctx), UpdateDecision::FirstDeployment { errors } if errors.is_empty())
    );
    assert_eq!(
        decide_update(Some(&base()), &base(), &ctx),
        UpdateDecision::Unchanged
    );
    let UpdateDecision::Accepted { diff } =
        decide_update(Some(&base()), &spec_with(&[("WORLD_CPUS", "0.3")]), &ctx)
    else {
        panic!("a valid change is accepted");
    };
    assert_eq!(diff.kept_pods(), ["hello", "store"]);
    let UpdateDecision::Rejected { errors } =
        decide_update(Some(&base()), &spec_with(&[("HELLO_COUNT", "0")]), &ctx)
    else {
        panic!("a shrink is rejected");
    };
    assert_eq!(errors.len(), 1);
}

#[test]
fn stored_yaml_round_trips_into_an_equal_diff() {
    let spec = base();
    let yml = crate::spec::to_yaml(&spec).unwrap();
    let back = spec_from_stored("abc", &yml).unwrap();
    assert!(diff(&spec, &back).is_empty(), "{:#?}", diff(&spec, &back));
    let err = spec_from_stored("abc", "name: [").unwrap_err();
    assert!(
        err.to_string().contains("target configuration abc"),
        "{err}"
    );
}
