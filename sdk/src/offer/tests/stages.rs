//! New placements: each stage and its rejection message.

use plinth_proto::v1::offer::operation::Type;

use super::fixtures::*;
use super::mesos_model::AgentModel;
use crate::offer::labels::{self, task_label};
use crate::offer::resources::resource_id;
use crate::offer::{
    LaunchKind, OfferError, OfferEvaluator, PodInstanceRequirement, SequentialIds, Stage,
    evaluate_all,
};

#[test]
fn new_pod_reserves_creates_and_launches() {
    let ctx = ctx(HELLO);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let mut ev = OfferEvaluator::new(&ctx, &[], SequentialIds::default());
    let e = ev.evaluate(&hello(0), std::slice::from_ref(&o));
    let rec = e.recommendation.expect("fits");
    assert_eq!(
        op_types(&rec),
        [Type::Reserve, Type::Create, Type::LaunchGroup]
    );
    assert_eq!(rec.launched, ["hello-0-server"]);
    assert_eq!(rec.offer_ids[0].value, "o1");
    assert_eq!(e.outcomes.len(), 1);
    assert!(e.outcomes[0].passed, "{:?}", e.outcomes[0]);

    // RESERVE: executor cpus/mem/disk + cpus, mem, port, volume disk, all ours.
    let reserve = &ops_of(&rec, Type::Reserve)[0]
        .reserve
        .as_ref()
        .unwrap()
        .resources;
    let names: Vec<&str> = reserve.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["cpus", "mem", "disk", "cpus", "mem", "ports", "disk"]
    );
    for r in reserve {
        let top = r.reservations.last().unwrap();
        assert_eq!(top.role.as_deref(), Some(ROLE));
        assert_eq!(top.principal.as_deref(), Some("hello-world-principal"));
        assert_eq!(
            r.allocation_info.as_ref().unwrap().role.as_deref(),
            Some(ROLE)
        );
        assert_eq!(
            crate::offer::resources::reservation_framework_id(r),
            Some(FRAMEWORK)
        );
        assert!(resource_id(r).is_some());
    }

    // CREATE: the volume with a persistence id and container path.
    let create = &ops_of(&rec, Type::Create)[0]
        .create
        .as_ref()
        .unwrap()
        .volumes;
    assert_eq!(create.len(), 1);
    let disk = create[0].disk.as_ref().unwrap();
    assert_eq!(disk.volume.as_ref().unwrap().container_path, "data");
    assert!(!disk.persistence.as_ref().unwrap().id.is_empty());

    // LAUNCH_GROUP with the DEFAULT executor.
    let lg = ops_of(&rec, Type::LaunchGroup)[0]
        .launch_group
        .as_ref()
        .unwrap();
    assert_eq!(lg.executor.r#type, Some(1), "DEFAULT");
    assert_eq!(lg.executor.framework_id.as_ref().unwrap().value, FRAMEWORK);
    assert!(
        lg.executor
            .executor_id
            .value
            .starts_with("hello-world__hello-0__")
    );
    assert_eq!(lg.executor.resources.len(), 3);
    let task = &lg.task_group.tasks[0];
    assert_eq!(task.name, "hello-0-server");
    assert!(task.task_id.value.starts_with("hello-0-server__"));
    assert!(task.executor.is_none(), "executor is set on the group");
    assert_eq!(task.resources.len(), 4);
    let env = env_of(task);
    let port = env["PORT_HTTP"].parse::<u64>().unwrap();
    assert_eq!(port, 31000, "lowest free port");
    assert_eq!(env["TASK_NAME"], "hello-0-server");
    assert_eq!(env["SLEEP_DURATION"], "1000");
    assert_eq!(env["POD_INSTANCE_INDEX"], "0");
    assert_eq!(
        task_label(task, labels::TARGET_CONFIGURATION),
        Some("cfg-1")
    );
    assert_eq!(task_label(task, labels::TASK_TYPE), Some("hello"));
    assert_eq!(task_label(task, labels::INDEX), Some("0"));
    assert_eq!(task_label(task, labels::OFFER_HOSTNAME), Some("host-a"));
    assert_eq!(task_label(task, labels::PORTS), Some(r#"{"http":31000}"#));
    assert_eq!(
        task.health_check.as_ref().unwrap().r#type,
        Some(1),
        "COMMAND"
    );
    let check = task.check.as_ref().unwrap();
    assert_eq!(check.r#type, Some(1), "COMMAND");
    assert_eq!(
        check.command.as_ref().unwrap().command.value.as_deref(),
        Some("test -s data/output")
    );
    assert_eq!(
        task.kill_policy
            .as_ref()
            .unwrap()
            .grace_period
            .as_ref()
            .unwrap()
            .nanoseconds,
        5_000_000_000
    );

    // Persisted TaskInfos carry the executor; the model master accepts it all.
    assert_eq!(rec.task_infos.len(), 1);
    assert_eq!(rec.task_infos[0].executor.as_deref(), Some(&lg.executor));
    AgentModel::new(&o.resources)
        .apply_all(&rec.operations)
        .expect("operations fit the offer");
    assert_eq!(rec.kind, LaunchKind::NewPlacement);
}

#[test]
fn insufficient_cpus_names_the_whole_need() {
    let ctx = ctx(HELLO);
    let o = offer("o1", "a1", "host-a", 0.5, 4096.0, 10_000.0);
    let (recs, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    assert!(recs.is_empty());
    assert_eq!(
        reasons(&outcomes),
        ["server-resource-set: insufficient cpus: needed 1.1, offered 0.5"]
    );
    let failed: Vec<_> = outcomes[0].stages.iter().filter(|s| !s.passed).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].stage, Stage::Resources);
}

#[test]
fn every_shortfall_is_reported() {
    let ctx = ctx(HELLO);
    let o = offer_with(
        "o1",
        "a1",
        "host-a",
        vec![
            scalar("cpus", 0.05),
            scalar("mem", 100.0),
            scalar("disk", 300.0),
        ],
    );
    let (_, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    let failures: Vec<&str> = outcomes[0].failures().collect();
    assert_eq!(
        failures,
        [
            "insufficient cpus: needed 0.1, offered 0.05",
            "server-resource-set: no free port for dynamic port 'http' in [1-65535] (free ports offered: [])",
            "server-resource-set: insufficient cpus: needed 1.1, offered 0.05; insufficient mem: needed 288, offered 100",
            "server-resource-set: ROOT volume data: insufficient disk: needed 356, offered 300",
        ]
    );
}

#[test]
fn static_port_must_be_offered() {
    let yaml = HELLO.replace("port: 0", "port: 8080");
    let ctx = ctx(&yaml);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let (recs, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    assert!(recs.is_empty());
    assert_eq!(
        reasons(&outcomes),
        [
            "server-resource-set: port 8080 (http) is not offered (free ports offered: [31000-32000])"
        ]
    );
    let o = offer_with(
        "o2",
        "a1",
        "host-a",
        vec![
            scalar("cpus", 4.0),
            scalar("mem", 4096.0),
            scalar("disk", 10_000.0),
            ports(&[(8000, 9000)]),
        ],
    );
    let (recs, _) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    let env = env_of(&recs[0].task_infos[0]);
    assert_eq!(env["PORT_HTTP"], "8080");
}

#[test]
fn dynamic_port_respects_ranges() {
    let yaml = HELLO.replace(
        "env-key: PORT_HTTP",
        "env-key: PORT_HTTP\n            ranges:\n              - begin: 31500\n                end: 31600",
    );
    let ctx = ctx(&yaml);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let (recs, _) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    assert_eq!(env_of(&recs[0].task_infos[0])["PORT_HTTP"], "31500");
}

const MOUNT_POD: &str = r#"
name: hello-world
pods:
  hello:
    count: 1
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 128
        volume:
          path: data
          type: MOUNT
          size: 500
"#;

#[test]
fn mount_volume_uses_a_whole_disk() {
    let ctx = ctx(MOUNT_POD);
    let small = offer_with(
        "o1",
        "a1",
        "host-a",
        vec![
            scalar("cpus", 2.0),
            scalar("mem", 1024.0),
            scalar("disk", 1000.0),
            mount("/mnt/d0", 400.0, None),
        ],
    );
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &[],
        &[hello(0)],
        std::slice::from_ref(&small),
        SequentialIds::default(),
    );
    assert!(recs.is_empty());
    assert_eq!(
        reasons(&outcomes),
        [
            "server-resource-set: MOUNT volume data: no MOUNT disk of at least 500 MB offered (free mount disks: [400 MB])"
        ]
    );

    let o = offer_with(
        "o2",
        "a1",
        "host-a",
        vec![
            scalar("cpus", 2.0),
            scalar("mem", 1024.0),
            scalar("disk", 1000.0),
            mount("/mnt/d0", 400.0, None),
            mount("/mnt/d1", 2000.0, None),
        ],
    );
    let (recs, _) = evaluate_all(
        &ctx,
        &[],
        &[hello(0)],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    let rec = &recs[0];
    let reserve = &ops_of(rec, Type::Reserve)[0]
        .reserve
        .as_ref()
        .unwrap()
        .resources;
    let mount_res = reserve.iter().find(|r| r.disk.is_some()).unwrap();
    assert_eq!(
        mount_res.scalar.as_ref().unwrap().value,
        2000.0,
        "the whole disk"
    );
    let src = mount_res.disk.as_ref().unwrap().source.as_ref().unwrap();
    assert_eq!(src.mount.as_ref().unwrap().root.as_deref(), Some("/mnt/d1"));
    let vol = &ops_of(rec, Type::Create)[0]
        .create
        .as_ref()
        .unwrap()
        .volumes[0];
    assert_eq!(vol.scalar.as_ref().unwrap().value, 2000.0);
    assert!(vol.disk.as_ref().unwrap().source.is_some());
    // Root disk only pays for the executor.
    let root_disk: f64 = reserve
        .iter()
        .filter(|r| r.name == "disk" && r.disk.is_none())
        .map(|r| r.scalar.as_ref().unwrap().value)
        .sum();
    assert_eq!(root_disk, 256.0);
    AgentModel::new(&o.resources)
        .apply_all(&rec.operations)
        .unwrap();
}

#[test]
fn mount_profiles_filter_disks() {
    let yaml = MOUNT_POD.replace("size: 500", "size: 500\n          profiles: [fast]");
    let ctx = ctx(&yaml);
    let o = offer_with(
        "o1",
        "a1",
        "host-a",
        vec![
            scalar("cpus", 2.0),
            scalar("mem", 1024.0),
            scalar("disk", 1000.0),
            mount("/mnt/d0", 4000.0, Some("slow")),
        ],
    );
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &[],
        &[hello(0)],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    assert!(recs.is_empty());
    assert!(
        reasons(&outcomes)[0].contains("with profile fast"),
        "{outcomes:?}"
    );
    let o = offer_with(
        "o2",
        "a1",
        "host-a",
        vec![
            scalar("cpus", 2.0),
            scalar("mem", 1024.0),
            scalar("disk", 1000.0),
            mount("/mnt/d0", 4000.0, Some("slow")),
            mount("/mnt/d1", 600.0, Some("fast")),
        ],
    );
    let (recs, _) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    assert_eq!(recs.len(), 1);
}

const TWO_TASKS: &str = r#"
name: hello-world
pods:
  hello:
    count: 1
    volume:
      path: shared
      type: ROOT
      size: 50
    tasks:
      server:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 128
      sidecar:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.25
        memory: 64
"#;

#[test]
fn unlaunched_tasks_are_reserved_and_stored_with_empty_ids() {
    let ctx = ctx(TWO_TASKS);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let (recs, _) = evaluate_all(
        &ctx,
        &[],
        &[hello(0)],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    let rec = &recs[0];
    assert_eq!(rec.launched, ["hello-0-server"]);
    let names: Vec<&str> = rec.task_infos.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["hello-0-server", "hello-0-sidecar"],
        "sorted by task name"
    );
    assert!(rec.task_infos[1].task_id.value.is_empty());
    assert!(!rec.task_infos[1].resources.is_empty());
    let lg = ops_of(rec, Type::LaunchGroup)[0]
        .launch_group
        .as_ref()
        .unwrap();
    assert_eq!(lg.task_group.tasks.len(), 1);
    // Pod volume lives on the executor; tasks mount it from the parent sandbox.
    assert!(lg.executor.resources.iter().any(|r| r.disk.is_some()));
    let mounts = &lg.task_group.tasks[0].container.as_ref().unwrap().volumes;
    assert_eq!(mounts[0].container_path, "shared");
    let sandbox = mounts[0]
        .source
        .as_ref()
        .unwrap()
        .sandbox_path
        .as_ref()
        .unwrap();
    assert_eq!(
        (sandbox.r#type, sandbox.path.as_str()),
        (Some(2), "shared"),
        "PARENT"
    );
    // Both tasks' reservations are made; the model accepts launch of one.
    let reserve = &ops_of(rec, Type::Reserve)[0]
        .reserve
        .as_ref()
        .unwrap()
        .resources;
    let cpus: f64 = reserve
        .iter()
        .filter(|r| r.name == "cpus")
        .map(|r| r.scalar.as_ref().unwrap().value)
        .sum();
    assert!((cpus - 0.85).abs() < 1e-9);
    AgentModel::new(&o.resources)
        .apply_all(&rec.operations)
        .unwrap();
}

#[test]
fn bad_requirements_are_outcomes_not_panics() {
    let ctx = ctx(HELLO);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let reqs = [
        PodInstanceRequirement::new_placement("nope", 0, ["server"]),
        PodInstanceRequirement::new_placement("hello", 0, ["nope"]),
    ];
    let (recs, outcomes) = evaluate_all(&ctx, &[], &reqs, &[o], SequentialIds::default());
    assert!(recs.is_empty());
    assert_eq!(
        reasons(&outcomes),
        [
            OfferError::UnknownPod("nope".into()).to_string(),
            "pod 'hello' has no task 'nope': tasks to launch must be task names of the pod".into(),
        ]
    );
    assert_eq!(outcomes[0].stages[0].stage, Stage::Requirement);
}

#[test]
fn shared_resource_set_cannot_launch_twice() {
    let yaml = r#"
name: hello-world
pods:
  hello:
    count: 1
    resource-sets:
      shared:
        cpus: 0.5
        memory: 64
    tasks:
      a:
        goal: ONCE
        cmd: true
        resource-set: shared
      b:
        goal: ONCE
        cmd: true
        resource-set: shared
plans:
  deploy:
    phases:
      p:
        pod: hello
        steps:
          - default: [[a], [b]]
"#;
    let ctx = ctx(yaml);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let both = PodInstanceRequirement::new_placement("hello", 0, ["a", "b"]);
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &[],
        &[both],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    assert!(recs.is_empty());
    assert!(reasons(&outcomes)[0].contains("share resource set 'shared'"));
    let one = PodInstanceRequirement::new_placement("hello", 0, ["a"]);
    let (recs, _) = evaluate_all(
        &ctx,
        &[],
        &[one],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    let rec = &recs[0];
    // One reservation, held by both stored TaskInfos.
    assert_eq!(rec.task_infos.len(), 2);
    assert_eq!(rec.task_infos[0].resources, rec.task_infos[1].resources);
    AgentModel::new(&o.resources)
        .apply_all(&rec.operations)
        .unwrap();
}

#[test]
fn pre_reserved_role_refines_the_static_reservation() {
    let yaml = HELLO.replace(
        "    count: 3\n",
        "    count: 3\n    pre-reserved-role: slave_public\n",
    );
    let ctx = ctx(&yaml);
    let refined = "slave_public/hello-world-role";
    let pre = |r| pre_reserved(r, "slave_public", refined);
    let o = offer_with(
        "o1",
        "a1",
        "host-a",
        vec![
            scalar("cpus", 8.0), // unreserved: not for this pod
            pre(scalar("cpus", 2.0)),
            pre(scalar("mem", 1024.0)),
            pre(scalar("disk", 1000.0)),
            pre(ports(&[(31000, 31010)])),
        ],
    );
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &[],
        &[hello(0)],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    assert_eq!(recs.len(), 1, "{outcomes:?}");
    let reserve = &ops_of(&recs[0], Type::Reserve)[0]
        .reserve
        .as_ref()
        .unwrap()
        .resources;
    for r in reserve {
        assert_eq!(r.reservations.len(), 2);
        assert_eq!(r.reservations[0].role.as_deref(), Some("slave_public"));
        assert_eq!(r.reservations[1].role.as_deref(), Some(refined));
    }
    AgentModel::new(&o.resources)
        .apply_all(&recs[0].operations)
        .unwrap();

    let short = offer_with(
        "o2",
        "a2",
        "host-b",
        vec![scalar("cpus", 8.0), pre(scalar("cpus", 0.5))],
    );
    let (_, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[short], SequentialIds::default());
    assert!(
        outcomes[0]
            .failures()
            .any(|f| f.contains("insufficient cpus: needed 1.1, offered 0.5")),
        "unreserved cpus do not count: {outcomes:?}"
    );
}

#[test]
fn offers_of_one_agent_are_merged() {
    let ctx = ctx(HELLO);
    let a = offer_with(
        "o1",
        "a1",
        "host-a",
        vec![scalar("cpus", 0.6), scalar("mem", 4096.0)],
    );
    let b = offer_with(
        "o2",
        "a1",
        "host-a",
        vec![
            scalar("cpus", 0.6),
            scalar("disk", 1000.0),
            ports(&[(31000, 31000)]),
        ],
    );
    let (recs, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[a, b], SequentialIds::default());
    assert_eq!(recs.len(), 1, "{outcomes:?}");
    let ids: Vec<&str> = recs[0].offer_ids.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(ids, ["o1", "o2"]);
}

#[test]
fn each_agent_serves_one_pod_per_cycle() {
    let yaml = HELLO.replace("    placement: '[[\"hostname\", \"UNIQUE\"]]'\n", "");
    let ctx = ctx(&yaml);
    let o = big_offer(1);
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &[],
        &[hello(0), hello(1)],
        &[o],
        SequentialIds::default(),
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(
        outcomes.last().unwrap().reason(),
        Some("every offered agent is already used in this cycle")
    );
}

#[test]
fn ignores_foreign_and_revocable_resources() {
    let ctx = ctx(HELLO);
    let mut foreign = scalar("cpus", 8.0);
    foreign.reservations = vec![crate::offer::resources::dynamic_reservation(
        ROLE, "p", "rid", "other-fw",
    )];
    let mut revocable = scalar("cpus", 8.0);
    revocable.revocable = Some(Default::default());
    let mut other_role = scalar("cpus", 8.0);
    other_role.allocation_info.as_mut().unwrap().role = Some("other-role".into());
    let o = offer_with(
        "o1",
        "a1",
        "host-a",
        vec![
            foreign,
            revocable,
            other_role,
            scalar("mem", 4096.0),
            scalar("disk", 1000.0),
            ports(&[(1, 2)]),
        ],
    );
    let (_, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    assert!(reasons(&outcomes)[0].contains("insufficient cpus: needed 0.1, offered 0"));
}

#[test]
fn scalars_add_up_in_fixed_point() {
    let yaml = HELLO
        .replace("cpus: 1\n", "cpus: 0.2\n")
        .replace("memory: 256", "memory: 32");
    let ctx = ctx(&yaml);
    // executor 0.1 + task 0.2 == 0.3 exactly, as Mesos computes it.
    let o = offer("o1", "a1", "host-a", 0.3, 64.0, 356.0);
    let (recs, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    assert_eq!(recs.len(), 1, "{outcomes:?}");
}
