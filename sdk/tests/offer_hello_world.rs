//! Offer evaluation of the real dcos-commons hello-world `svc.yml` (from
//! `../shared/specs`), replaying dcos-commons' default deployment: exact-fit
//! offers, hostname UNIQUE, a relaunch in place, and the resource GC after
//! world-1 is decommissioned. Every recommendation is replayed on a model
//! master. Skips (with a note) when `../shared` is not present.

#[path = "../src/offer/tests/mesos_model.rs"]
mod mesos_model;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mesos_model::AgentModel;
use plinth::offer::gc::cleanup;
use plinth::offer::labels::{self, task_label};
use plinth::offer::{
    ExecutorOverhead, OfferEvaluator, PodInstanceRequirement, Recommendation, SequentialIds,
    ServiceContext, evaluate_all,
};
use plinth_proto::v1::offer::operation::Type;
use plinth_proto::v1::resource::AllocationInfo;
use plinth_proto::v1::{AgentId, FrameworkId, Offer, OfferId, Resource, TaskInfo, value};

const ROLE: &str = "hello-world-role";

fn dir() -> Option<PathBuf> {
    let d =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/dcos-commons/helloworld");
    d.is_dir().then_some(d)
}

fn context(dir: &Path) -> ServiceContext {
    let env = plinth::spec::envfile::load_env(&[dir.join("svc.env")], &[]).expect("svc.env");
    let text = std::fs::read_to_string(dir.join("svc.yml")).expect("svc.yml");
    let spec = plinth::spec::load_str(&text, &env, Some("svc.yml"))
        .expect("svc.yml loads")
        .spec;
    ServiceContext {
        // As dcos-commons' test runner: the executor takes 0.1 cpus only.
        executor: ExecutorOverhead {
            cpus: 0.1,
            mem_mb: 0.0,
            disk_mb: 0.0,
        },
        ..ServiceContext::new(Arc::new(spec), "test-framework-id", "config-1")
    }
}

fn scalar(name: &str, v: f64) -> Resource {
    let mut r = Resource {
        name: name.to_string(),
        scalar: Some(value::Scalar { value: v }),
        allocation_info: Some(AllocationInfo {
            role: Some(ROLE.to_string()),
        }),
        ..Resource::default()
    };
    r.set_type(value::Type::Scalar);
    r
}

fn offer(id: &str, agent: &str, host: &str, resources: Vec<Resource>) -> Offer {
    Offer {
        id: OfferId { value: id.into() },
        framework_id: FrameworkId {
            value: "test-framework-id".into(),
        },
        agent_id: AgentId {
            value: agent.into(),
        },
        hostname: host.into(),
        resources,
        ..Offer::default()
    }
}

/// Exactly what one pod needs (tasks + volumes + 0.1 executor cpus).
fn exact(id: &str, agent: &str, host: &str, cpus: f64, mem: f64, disk: f64) -> Offer {
    offer(
        id,
        agent,
        host,
        vec![
            scalar("cpus", cpus),
            scalar("mem", mem),
            scalar("disk", disk),
        ],
    )
}

fn hello_offer(id: &str, agent: &str, host: &str) -> Offer {
    exact(id, agent, host, 0.2, 252.0, 25.0)
}

fn world_offer(id: &str, agent: &str, host: &str) -> Offer {
    exact(id, agent, host, 0.3, 512.0, 50.0)
}

fn types(rec: &Recommendation) -> Vec<i32> {
    rec.operations.iter().filter_map(|o| o.r#type).collect()
}

fn replay(offer: &Offer, rec: &Recommendation) -> AgentModel {
    let mut m = AgentModel::new(&offer.resources);
    m.apply_all(&rec.operations)
        .expect("the master accepts the operations");
    for op in &rec.operations {
        plinth_proto::json::check_required(op).expect("required fields set");
        let json = plinth_proto::json::to_value(op);
        let back: plinth_proto::v1::offer::Operation =
            plinth_proto::json::from_value(&json).expect("Mesos JSON round-trips");
        assert_eq!(&back, op);
    }
    m
}

/// The offer after the reservations were made and the tasks have ended.
fn reoffer(original: &Offer, rec: &Recommendation, id: &str) -> Offer {
    let mut m = AgentModel::new(&original.resources);
    let setup: Vec<_> = rec
        .operations
        .iter()
        .filter(|o| o.r#type != Some(Type::LaunchGroup as i32))
        .cloned()
        .collect();
    m.apply_all(&setup).expect("setup applies");
    Offer {
        id: OfferId { value: id.into() },
        resources: m.resources,
        ..original.clone()
    }
}

fn req(pod: &str, index: u32) -> PodInstanceRequirement {
    PodInstanceRequirement::new_placement(pod, index, ["server"])
}

#[test]
fn default_deployment_relaunch_and_decommission() {
    let Some(dir) = dir() else {
        println!("note: ../shared/specs not found; skipping");
        return;
    };
    let ctx = context(&dir);
    let mut stored: Vec<TaskInfo> = Vec::new();
    let mut ids = SequentialIds::default();

    // hello-0 on an exact-fit offer.
    let o_hello = hello_offer("o1", "agent-1", "test-hostname");
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &stored,
        &[req("hello", 0)],
        std::slice::from_ref(&o_hello),
        &mut ids,
    );
    let hello = recs
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{outcomes:?}"));
    assert_eq!(hello.launched, ["hello-0-server"]);
    assert_eq!(
        types(&hello),
        [
            Type::Reserve as i32,
            Type::Create as i32,
            Type::LaunchGroup as i32
        ]
    );
    replay(&o_hello, &hello);
    let info = &hello.task_infos[0];
    assert_eq!(
        task_label(info, "label1"),
        Some("label-value1"),
        "HELLO_LABELS"
    );
    assert!(info.health_check.is_some());
    let rl = &info
        .container
        .as_ref()
        .unwrap()
        .rlimit_info
        .as_ref()
        .unwrap()
        .rlimits[0];
    assert_eq!((rl.soft, rl.hard), (Some(128000), Some(128000)));
    assert_eq!(
        info.command.as_ref().unwrap().user.as_deref(),
        Some("nobody"),
        "FRAMEWORK_USER"
    );
    stored.extend(hello.task_infos.clone());

    // A world offer a thousandth of a cpu short is explained.
    let short = exact("o2", "agent-2", "host-1", 0.299, 512.0, 50.0);
    let (recs, outcomes) = evaluate_all(&ctx, &stored, &[req("world", 0)], &[short], &mut ids);
    assert!(recs.is_empty());
    assert_eq!(
        outcomes[0].reason(),
        Some("server-resource-set: insufficient cpus: needed 0.3, offered 0.299")
    );

    // world-0 on host-1; world-1 not on host-1 again, but on host-foo.
    let o_w0 = world_offer("o3", "agent-2", "host-1");
    let (recs, _) = evaluate_all(
        &ctx,
        &stored,
        &[req("world", 0)],
        std::slice::from_ref(&o_w0),
        &mut ids,
    );
    let world0 = recs.into_iter().next().expect("world-0 fits");
    replay(&o_w0, &world0);
    let w0 = &world0.task_infos[0];
    assert!(w0.check.is_some(), "readiness check");
    assert_eq!(
        w0.resources.iter().filter(|r| r.disk.is_some()).count(),
        2,
        "two ROOT volumes"
    );
    stored.extend(world0.task_infos.clone());

    let same_host = world_offer("o4", "agent-3", "host-1");
    let o_w1 = world_offer("o5", "agent-4", "host-foo");
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &stored,
        &[req("world", 1)],
        &[same_host, o_w1.clone()],
        &mut ids,
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].hostname, "host-foo");
    assert_eq!(
        outcomes[0].reason(),
        Some("placement: hostname UNIQUE violated by world-0-server on host-1")
    );
    let world1 = recs.into_iter().next().unwrap();
    replay(&o_w1, &world1);
    stored.extend(world1.task_infos.clone());

    // hello-0 fails; the re-offer of its reservations relaunches it in place.
    let again = reoffer(&o_hello, &hello, "o6");
    let relaunch =
        PodInstanceRequirement::relaunch_in_place("hello", 0, ["server"], hello.task_infos.clone());
    let mut ev = OfferEvaluator::new(&ctx, &stored, &mut ids);
    let e = ev.evaluate(&relaunch, std::slice::from_ref(&again));
    let rec = e
        .recommendation
        .unwrap_or_else(|| panic!("{:?}", e.outcomes));
    assert_eq!(types(&rec), [Type::LaunchGroup as i32]);
    let pid = |t: &TaskInfo| -> Vec<String> {
        t.resources
            .iter()
            .filter_map(|r| r.disk.as_ref()?.persistence.as_ref().map(|p| p.id.clone()))
            .collect()
    };
    assert_eq!(pid(&rec.task_infos[0]), pid(&hello.task_infos[0]));
    replay(&again, &rec);

    // world-1 decommissioned: its 5 reservations (cpus, mem, 2 volume disks,
    // executor cpus) and 2 volumes are released; nothing else is.
    let held: BTreeSet<String> = stored
        .iter()
        .filter(|t| !t.name.starts_with("world-1-"))
        .flat_map(labels::resource_ids)
        .collect();
    let w1_again = reoffer(&o_w1, &world1, "o7");
    let plans = cleanup(
        &[w1_again.clone(), again.clone()],
        "test-framework-id",
        &held,
    );
    assert_eq!(plans.len(), 1, "hello's agent keeps its reservations");
    assert_eq!(plans[0].resource_ids.len(), 5);
    let destroy = plans[0].operations[0]
        .destroy
        .as_ref()
        .expect("DESTROY first");
    assert_eq!(destroy.volumes.len(), 2);
    let mut m = AgentModel::new(&w1_again.resources);
    m.apply_all(&plans[0].operations).expect("cleanup applies");
    assert!(
        m.resources.iter().all(|r| r.reservations.is_empty()),
        "all back to unreserved"
    );

    // Outcomes serialize for /v2/debug/offers.
    let json = serde_json::to_value(&e.outcomes).expect("serializable");
    assert_eq!(json[0]["passed"], true);
    assert_eq!(json[0]["stages"][0]["stage"], "reservations");
}

#[test]
fn parallel_deploy_of_every_world_instance_in_one_cycle() {
    let Some(dir) = dir() else {
        println!("note: ../shared/specs not found; skipping");
        return;
    };
    let ctx = context(&dir);
    let offers: Vec<Offer> = (0..3)
        .map(|i| {
            world_offer(
                &format!("o{i}"),
                &format!("agent-{i}"),
                &format!("host-{}", i / 2),
            )
        })
        .collect();
    let reqs = [req("world", 0), req("world", 1), req("hello", 0)];
    let (recs, outcomes) = evaluate_all(&ctx, &[], &reqs, &offers, SequentialIds::default());
    let placed: BTreeMap<&str, &str> = recs
        .iter()
        .map(|r| (r.pod_instance.as_str(), r.hostname.as_str()))
        .collect();
    assert_eq!(placed.get("world-0"), Some(&"host-0"));
    assert_eq!(
        placed.get("world-1"),
        Some(&"host-1"),
        "UNIQUE skips the second host-0 agent"
    );
    assert_eq!(
        placed.get("hello-0"),
        Some(&"host-0"),
        "hello only avoids other hello tasks"
    );
    assert_eq!(recs[2].agent_id.value, "agent-1");
    let agents: BTreeSet<&str> = recs.iter().map(|r| r.agent_id.value.as_str()).collect();
    assert_eq!(agents.len(), recs.len(), "one ACCEPT per agent");
    assert!(outcomes.iter().filter(|o| o.passed).count() == 3);
}
