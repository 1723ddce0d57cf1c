//! Relaunch in place: reuse reservations, volumes, executor and ports.

use plinth_proto::v1::offer::operation::Type;

use super::fixtures::*;
use super::mesos_model::AgentModel;
use crate::offer::labels::{self, task_label};
use crate::offer::resources::{persistence_id, resource_id};
use crate::offer::{
    OfferEvaluator, PodInstanceRequirement, Recommendation, SequentialIds, ServiceContext,
    evaluate_all,
};

fn first_launch(ctx: &ServiceContext) -> (plinth_proto::v1::Offer, Recommendation) {
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let req = PodInstanceRequirement::new_placement("hello", 0, ["server"]);
    let (mut recs, _) = evaluate_all(
        ctx,
        &[],
        &[req],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    (o, recs.remove(0))
}

fn relaunch(rec: &Recommendation) -> PodInstanceRequirement {
    PodInstanceRequirement::relaunch_in_place("hello", 0, ["server"], rec.task_infos.clone())
}

#[test]
fn relaunch_reuses_reservations_volume_and_port() {
    let ctx = ctx(HELLO);
    let (o, first) = first_launch(&ctx);
    let again = reoffer(&o, &first, "o2");
    let mut ev = OfferEvaluator::new(&ctx, &first.task_infos, SequentialIds::starting_at(1000));
    let e = ev.evaluate(&relaunch(&first), std::slice::from_ref(&again));
    let rec = e
        .recommendation
        .unwrap_or_else(|| panic!("{:?}", e.outcomes));
    assert_eq!(op_types(&rec), [Type::LaunchGroup], "no RESERVE, no CREATE");

    let old = &first.task_infos[0];
    let new = &rec.task_infos[0];
    assert_ne!(old.task_id, new.task_id);
    assert_eq!(old.name, new.name);
    let ids = |t: &plinth_proto::v1::TaskInfo| -> Vec<String> {
        t.resources
            .iter()
            .filter_map(|r| resource_id(r).map(str::to_string))
            .collect()
    };
    assert_eq!(ids(old), ids(new), "same reservations");
    let pid = |t: &plinth_proto::v1::TaskInfo| -> Option<String> {
        t.resources
            .iter()
            .find_map(|r| persistence_id(r).map(str::to_string))
    };
    assert!(pid(old).is_some());
    assert_eq!(pid(old), pid(new), "same persistence id");
    assert_eq!(
        env_of(old)["PORT_HTTP"],
        env_of(new)["PORT_HTTP"],
        "sticky port"
    );
    assert_eq!(
        task_label(new, labels::PORTS),
        task_label(old, labels::PORTS)
    );
    // Executor not running: new id, same reserved resources.
    assert_ne!(
        first.executor().unwrap().executor_id,
        rec.executor().unwrap().executor_id
    );
    assert_eq!(
        first.executor().unwrap().resources,
        rec.executor().unwrap().resources
    );
    AgentModel::new(&again.resources)
        .apply_all(&rec.operations)
        .unwrap();
}

#[test]
fn relaunch_reuses_a_running_executor() {
    let ctx = ctx(HELLO);
    let (o, first) = first_launch(&ctx);
    let again = with_executor(
        reoffer(&o, &first, "o2"),
        &first.executor().unwrap().executor_id.value,
    );
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &first.task_infos,
        &[relaunch(&first)],
        &[again],
        SequentialIds::default(),
    );
    assert_eq!(recs.len(), 1, "{outcomes:?}");
    assert_eq!(recs[0].executor(), first.executor());
}

#[test]
fn relaunch_elsewhere_is_rejected() {
    let ctx = ctx(HELLO);
    let (_, first) = first_launch(&ctx);
    let other = offer("o9", "a9", "host-z", 8.0, 8192.0, 10_000.0);
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &first.task_infos,
        &[relaunch(&first)],
        &[other],
        SequentialIds::default(),
    );
    assert!(recs.is_empty());
    assert_eq!(
        reasons(&outcomes),
        ["no reserved resources of pod hello-0 on this agent (they are on host-a)"]
    );
}

#[test]
fn relaunch_with_missing_reservation_waits() {
    let ctx = ctx(HELLO);
    let (o, first) = first_launch(&ctx);
    let mut again = reoffer(&o, &first, "o2");
    // The volume is not in this offer.
    again.resources.retain(|r| persistence_id(r).is_none());
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &first.task_infos,
        &[relaunch(&first)],
        &[again],
        SequentialIds::default(),
    );
    assert!(recs.is_empty());
    let reason = reasons(&outcomes).remove(0);
    assert!(
        reason.starts_with("server-resource-set: reserved volume data (resource_id "),
        "{reason}"
    );
    assert!(reason.ends_with(") is not in this offer"), "{reason}");
}

#[test]
fn relaunch_after_failed_create_recreates_with_same_persistence_id() {
    let ctx = ctx(HELLO);
    let (o, first) = first_launch(&ctx);
    // Apply only the RESERVE: the CREATE failed.
    let mut model = AgentModel::new(&o.resources);
    model.apply(ops_of(&first, Type::Reserve)[0]).unwrap();
    let again = plinth_proto::v1::Offer {
        resources: model.resources,
        ..o.clone()
    };
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &first.task_infos,
        &[relaunch(&first)],
        std::slice::from_ref(&again),
        SequentialIds::default(),
    );
    let rec = recs.first().unwrap_or_else(|| panic!("{outcomes:?}"));
    assert_eq!(op_types(rec), [Type::Create, Type::LaunchGroup]);
    let vol = &ops_of(rec, Type::Create)[0]
        .create
        .as_ref()
        .unwrap()
        .volumes[0];
    let old = first.task_infos[0]
        .resources
        .iter()
        .find_map(persistence_id);
    assert_eq!(persistence_id(vol), old);
    AgentModel::new(&again.resources)
        .apply_all(&rec.operations)
        .unwrap();
}

#[test]
fn relaunch_resizes_changed_scalars() {
    let ctx1 = ctx(HELLO);
    let (o, first) = first_launch(&ctx1);
    let again = reoffer(&o, &first, "o2");

    // cpus 1 → 1.5: RESERVE 0.5 more under the same resource_id.
    let ctx2 = ctx(&HELLO.replace("cpus: 1\n", "cpus: 1.5\n"));
    let (recs, outcomes) = evaluate_all(
        &ctx2,
        &first.task_infos,
        &[relaunch(&first)],
        std::slice::from_ref(&again),
        SequentialIds::default(),
    );
    let rec = recs.first().unwrap_or_else(|| panic!("{outcomes:?}"));
    assert_eq!(op_types(rec), [Type::Reserve, Type::LaunchGroup]);
    let grow = &ops_of(rec, Type::Reserve)[0]
        .reserve
        .as_ref()
        .unwrap()
        .resources[0];
    assert_eq!(grow.name, "cpus");
    assert_eq!(grow.scalar.as_ref().unwrap().value, 0.5);
    let old_cpus = first.task_infos[0]
        .resources
        .iter()
        .find(|r| r.name == "cpus")
        .unwrap();
    assert_eq!(resource_id(grow), resource_id(old_cpus));
    let new_cpus = rec.task_infos[0]
        .resources
        .iter()
        .find(|r| r.name == "cpus")
        .unwrap();
    assert_eq!(new_cpus.scalar.as_ref().unwrap().value, 1.5);
    AgentModel::new(&again.resources)
        .apply_all(&rec.operations)
        .unwrap();

    // memory 256 → 128: UNRESERVE the surplus.
    let ctx3 = ctx(&HELLO.replace("memory: 256", "memory: 128"));
    let (recs, _) = evaluate_all(
        &ctx3,
        &first.task_infos,
        &[relaunch(&first)],
        std::slice::from_ref(&again),
        SequentialIds::default(),
    );
    assert_eq!(op_types(&recs[0]), [Type::Unreserve, Type::LaunchGroup]);
    let shrink = &ops_of(&recs[0], Type::Unreserve)[0]
        .unreserve
        .as_ref()
        .unwrap()
        .resources[0];
    assert_eq!(shrink.scalar.as_ref().unwrap().value, 128.0);
    AgentModel::new(&again.resources)
        .apply_all(&recs[0].operations)
        .unwrap();
}

#[test]
fn replacement_places_afresh() {
    let ctx = ctx(HELLO);
    let (o, first) = first_launch(&ctx);
    let again = reoffer(&o, &first, "o2");
    let fresh = offer("o3", "a3", "host-c", 4.0, 4096.0, 10_000.0);
    let req = PodInstanceRequirement {
        existing: first.task_infos.clone(),
        ..PodInstanceRequirement::permanent_replacement("hello", 0, ["server"])
    };
    let (recs, _) = evaluate_all(
        &ctx,
        &first.task_infos,
        &[req],
        &[again.clone(), fresh],
        SequentialIds::starting_at(50),
    );
    let rec = &recs[0];
    assert_eq!(
        op_types(rec),
        [Type::Reserve, Type::Create, Type::LaunchGroup]
    );
    let pid = rec.task_infos[0].resources.iter().find_map(persistence_id);
    let old = first.task_infos[0]
        .resources
        .iter()
        .find_map(persistence_id);
    assert_ne!(pid, old, "a new volume");
}

#[test]
fn later_step_launches_a_stored_task_in_place() {
    let yaml = r#"
name: hello-world
pods:
  hello:
    count: 1
    tasks:
      first:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 128
      second:
        goal: RUNNING
        cmd: sleep 1000
        cpus: 0.5
        memory: 128
"#;
    let ctx = ctx(yaml);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let req = PodInstanceRequirement::new_placement("hello", 0, ["first"]);
    let (recs, _) = evaluate_all(
        &ctx,
        &[],
        &[req],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    let first = &recs[0];
    let exec = first.executor().unwrap().executor_id.value.clone();
    // `first` runs (executor alive, its resources in use); `second` is offered.
    let mut model = AgentModel::new(&o.resources);
    model.apply_all(&first.operations).unwrap();
    let again = with_executor(
        plinth_proto::v1::Offer {
            resources: model.resources,
            ..o.clone()
        },
        &exec,
    );
    let req =
        PodInstanceRequirement::relaunch_in_place("hello", 0, ["second"], first.task_infos.clone());
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &first.task_infos,
        &[req],
        std::slice::from_ref(&again),
        SequentialIds::starting_at(10),
    );
    let rec = recs.first().unwrap_or_else(|| panic!("{outcomes:?}"));
    assert_eq!(op_types(rec), [Type::LaunchGroup]);
    assert_eq!(
        rec.executor().unwrap().executor_id.value,
        exec,
        "same pod, same executor"
    );
    assert_eq!(rec.launched, ["hello-0-second"]);
    let mut m2 = model_after(&o, first);
    m2.executors.insert(exec);
    m2.apply_all(&rec.operations).unwrap();
}

fn model_after(o: &plinth_proto::v1::Offer, rec: &Recommendation) -> AgentModel {
    let mut m = AgentModel::new(&o.resources);
    m.apply_all(&rec.operations).unwrap();
    m
}

#[test]
fn shared_set_reservation_is_found_through_a_sibling() {
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
      server:
        goal: RUNNING
        cmd: sleep 1000
        resource-set: shared
      init:
        goal: ONCE
        cmd: true
        resource-set: shared
plans:
  deploy:
    phases:
      p:
        pod: hello
        steps:
          - default: [[server], [init]]
"#;
    let ctx = ctx(yaml);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let req = PodInstanceRequirement::new_placement("hello", 0, ["server"]);
    let (recs, _) = evaluate_all(
        &ctx,
        &[],
        &[req],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    let first = &recs[0];
    // Only the server's TaskInfo is known (e.g. `init` was added by a config update).
    let known: Vec<_> = first
        .task_infos
        .iter()
        .filter(|t| t.name == "hello-0-server")
        .cloned()
        .collect();
    let again = reoffer(&o, first, "o2");
    let req = PodInstanceRequirement::relaunch_in_place("hello", 0, ["init"], known.clone());
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &known,
        &[req],
        std::slice::from_ref(&again),
        SequentialIds::starting_at(10),
    );
    let rec = recs.first().unwrap_or_else(|| panic!("{outcomes:?}"));
    assert_eq!(
        op_types(rec),
        [Type::LaunchGroup],
        "the set's reservation is reused"
    );
    assert_eq!(rec.task_infos[0].resources, known[0].resources);
}

#[test]
fn no_offers_is_explained() {
    let ctx = ctx(HELLO);
    let req = PodInstanceRequirement::new_placement("hello", 0, ["server"]);
    let (recs, outcomes) = evaluate_all(&ctx, &[], &[req], &[], SequentialIds::default());
    assert!(recs.is_empty());
    assert_eq!(reasons(&outcomes), ["no offers in this cycle"]);
}
