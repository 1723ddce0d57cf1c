//! Properties over random pods and offers: a recommendation always fits its
//! offers (checked by replaying it on a model master), every reserved
//! resource has exactly one holder, and a relaunch in place reserves nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use indexmap::IndexMap;
use plinth_proto::v1::offer::operation::Type;
use plinth_proto::v1::{Offer, Resource};
use proptest::prelude::*;

use super::fixtures::*;
use super::mesos_model::AgentModel;
use crate::offer::resources::resource_id;
use crate::offer::{
    PodInstanceRequirement, Recommendation, SequentialIds, ServiceContext, evaluate_all,
};
use crate::spec::{
    PodSpec, PortRange, PortSpec, ResourceSetSpec, ServiceSpec, TaskResources, TaskSpec,
    VolumeSpec, VolumeType,
};

#[derive(Debug, Clone)]
struct TaskShape {
    cpus: u32,
    mem: u64,
    static_port: Option<u16>,
    dynamic_ports: usize,
    volumes: Vec<(bool, u64)>,
}

fn task_shape() -> impl Strategy<Value = TaskShape> {
    (
        1u32..40,
        32u64..2048,
        prop::option::of(8000u16..8006),
        0usize..3,
        prop::collection::vec((any::<bool>(), 10u64..2000), 0..3),
    )
        .prop_map(
            |(cpus, mem, static_port, dynamic_ports, volumes)| TaskShape {
                cpus,
                mem,
                static_port,
                dynamic_ports,
                volumes,
            },
        )
}

fn pod_spec(tasks: &[TaskShape], pod_volume: Option<u64>) -> ServiceSpec {
    let tasks = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let name = format!("t{i}");
            let mut ports = IndexMap::new();
            if let Some(p) = t.static_port {
                ports.insert(
                    "fixed".to_string(),
                    PortSpec {
                        name: "fixed".into(),
                        port: p,
                        env_key: Some("FIXED".into()),
                        ..PortSpec::default()
                    },
                );
            }
            for d in 0..t.dynamic_ports {
                let n = format!("dyn{d}");
                ports.insert(
                    n.clone(),
                    PortSpec {
                        name: n,
                        port: 0,
                        ranges: vec![PortRange {
                            begin: Some(31000),
                            end: Some(31100),
                        }],
                        ..PortSpec::default()
                    },
                );
            }
            let volumes = t
                .volumes
                .iter()
                .enumerate()
                .map(|(k, &(mount, size))| VolumeSpec {
                    name: Some(format!("v{k}")),
                    path: format!("v{k}"),
                    kind: if mount {
                        VolumeType::Mount
                    } else {
                        VolumeType::Root
                    },
                    size_mb: size,
                    profiles: Vec::new(),
                })
                .collect();
            TaskSpec {
                name: name.clone(),
                cmd: Some("sleep 1".into()),
                resources: TaskResources::Own(ResourceSetSpec {
                    id: format!("{name}-resource-set"),
                    cpus: Some(f64::from(t.cpus) * 0.05),
                    memory: Some(t.mem),
                    ports,
                    volumes,
                    ..ResourceSetSpec::default()
                }),
                ..TaskSpec::default()
            }
        })
        .collect();
    ServiceSpec {
        name: "prop".into(),
        pods: vec![PodSpec {
            name: "pod".into(),
            count: 1,
            volumes: pod_volume
                .map(|size| VolumeSpec {
                    path: "podvol".into(),
                    size_mb: size,
                    ..VolumeSpec::default()
                })
                .into_iter()
                .collect(),
            tasks,
            ..PodSpec::default()
        }],
        ..ServiceSpec::default()
    }
}

fn offer_strategy(agent: usize) -> impl Strategy<Value = Offer> {
    (
        0u32..160,
        0u64..8192,
        0u64..8000,
        prop::option::of((8000u64..8006, 0u64..4)),
        prop::option::of(0u64..50),
        prop::collection::vec(100u64..3000, 0..3),
    )
        .prop_map(move |(cpus, mem, disk, statics, dynamics, mounts)| {
            let mut rs: Vec<Resource> = vec![
                scalar("cpus", f64::from(cpus) * 0.05),
                scalar("mem", mem as f64),
                scalar("disk", disk as f64),
            ];
            let mut ranges = Vec::new();
            if let Some((b, n)) = statics {
                ranges.push((b, b + n));
            }
            if let Some(n) = dynamics {
                ranges.push((31000, 31000 + n));
            }
            if !ranges.is_empty() {
                rs.push(ports(&ranges));
            }
            for (i, m) in mounts.into_iter().enumerate() {
                rs.push(mount(&format!("/mnt/d{i}"), m as f64, None));
            }
            offer_with(
                &format!("o{agent}"),
                &format!("a{agent}"),
                &format!("h{agent}"),
                rs,
            )
        })
}

fn reserved_ids(rec: &Recommendation) -> Vec<String> {
    rec.operations
        .iter()
        .filter(|o| o.r#type == Some(Type::Reserve as i32))
        .flat_map(|o| o.reserve.as_ref().unwrap().resources.iter())
        .filter_map(|r| resource_id(r).map(str::to_string))
        .collect()
}

fn holders(rec: &Recommendation, id: &str) -> usize {
    let has = |rs: &[Resource]| rs.iter().any(|r| resource_id(r) == Some(id));
    usize::from(has(&rec.executor().unwrap().resources))
        + rec.task_infos.iter().filter(|t| has(&t.resources)).count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn recommendations_fit_and_every_reservation_has_one_holder(
        tasks in prop::collection::vec(task_shape(), 1..4),
        pod_volume in prop::option::of(10u64..500),
        launch_all in any::<bool>(),
        offers in (offer_strategy(1), offer_strategy(2), offer_strategy(3)),
    ) {
        let spec = pod_spec(&tasks, pod_volume);
        let ctx = ServiceContext {
            role: ROLE.into(),
            ..ServiceContext::new(Arc::new(spec), FRAMEWORK, "cfg")
        };
        let offers = vec![offers.0, offers.1, offers.2];
        let launch: Vec<String> = if launch_all {
            (0..tasks.len()).map(|i| format!("t{i}")).collect()
        } else {
            vec!["t0".into()]
        };
        let req = PodInstanceRequirement::new_placement("pod", 0, launch.clone());
        let (recs, outcomes) = evaluate_all(&ctx, &[], &[req], &offers, SequentialIds::default());
        prop_assert!(recs.len() <= 1);
        prop_assert_eq!(outcomes.iter().filter(|o| o.passed).count(), recs.len());
        let Some(rec) = recs.first() else { return Ok(()); };
        let used = offers.iter().find(|o| o.agent_id == rec.agent_id).unwrap();

        // Replaying the operations on a model master never runs short.
        let mut model = AgentModel::new(&used.resources);
        if let Err(e) = model.apply_all(&rec.operations) {
            prop_assert!(false, "does not fit: {e}\n{rec:#?}");
        }
        // Each RESERVE'd resource: one executor, task or volume holds it.
        let ids = reserved_ids(rec);
        let mut seen = BTreeMap::new();
        for id in &ids {
            *seen.entry(id.clone()).or_insert(0) += 1;
            prop_assert_eq!(holders(rec, id), 1, "resource {} holders", id);
        }
        prop_assert!(seen.values().all(|&n| n == 1), "resource ids are unique");
        prop_assert_eq!(rec.launched.len(), launch.len());

        // Relaunching the launched tasks in place reserves nothing.
        let again = reoffer(used, rec, "again");
        let req = PodInstanceRequirement::relaunch_in_place("pod", 0, launch, rec.task_infos.clone());
        let (recs2, outcomes2) =
            evaluate_all(&ctx, &rec.task_infos, &[req], std::slice::from_ref(&again), SequentialIds::starting_at(1_000_000));
        prop_assert_eq!(recs2.len(), 1, "{:?}", outcomes2);
        prop_assert_eq!(
            recs2[0].operations.iter().map(|o| o.r#type).collect::<Vec<_>>(),
            vec![Some(Type::LaunchGroup as i32)]
        );
        let mut model = AgentModel::new(&again.resources);
        if let Err(e) = model.apply_all(&recs2[0].operations) {
            prop_assert!(false, "relaunch does not fit: {e}");
        }
    }
}

fn arbitrary_resource() -> impl Strategy<Value = Resource> {
    use plinth_proto::v1::resource::disk_info::{Persistence, Source};
    use plinth_proto::v1::resource::{DiskInfo, ReservationInfo};
    let names = prop::sample::select(vec!["cpus", "mem", "disk", "ports", "gpus", "weird"]);
    let scalar = prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-1.0),
        Just(1e300),
        0.0f64..10_000.0
    ];
    let reservation = (
        0i32..4,
        prop::sample::select(vec![
            ROLE,
            "other",
            "*",
            "slave_public",
            "slave_public/hello-world-role",
        ]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(t, role, ours, with_id)| {
            let mut labels = Vec::new();
            if with_id {
                labels.push(crate::offer::resources::label("resource_id", "rid"));
            }
            labels.push(crate::offer::resources::label(
                "framework_id",
                if ours { FRAMEWORK } else { "x" },
            ));
            ReservationInfo {
                r#type: Some(t),
                role: Some(role.to_string()),
                labels: Some(plinth_proto::v1::Labels { labels }),
                principal: None,
            }
        });
    (
        names,
        0i32..5,
        scalar,
        prop::collection::vec((0u64..70_000, 0u64..70_000), 0..3),
        prop::collection::vec(reservation, 0..3),
        prop::option::of((any::<bool>(), 0i32..5)),
        any::<bool>(),
    )
        .prop_map(|(name, t, v, ranges, reservations, disk, alloc)| {
            let mut r = Resource {
                name: name.to_string(),
                r#type: t,
                scalar: Some(plinth_proto::v1::value::Scalar { value: v }),
                ranges: Some(plinth_proto::v1::value::Ranges {
                    range: ranges
                        .into_iter()
                        .map(|(begin, end)| plinth_proto::v1::value::Range { begin, end })
                        .collect(),
                }),
                reservations,
                ..Resource::default()
            };
            if alloc {
                r.allocation_info = scalar_alloc();
            }
            if let Some((persistent, source)) = disk {
                r.disk = Some(Box::new(DiskInfo {
                    persistence: persistent.then(|| Persistence {
                        id: "p".into(),
                        principal: None,
                    }),
                    source: Some(Source {
                        r#type: source,
                        ..Source::default()
                    }),
                    volume: None,
                }));
            }
            r
        })
}

fn scalar_alloc() -> Option<plinth_proto::v1::resource::AllocationInfo> {
    scalar("cpus", 0.0).allocation_info
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// Whatever an offer holds, evaluation and GC do not panic.
    #[test]
    fn arbitrary_offers_never_panic(
        a in prop::collection::vec(arbitrary_resource(), 0..12),
        b in prop::collection::vec(arbitrary_resource(), 0..12),
    ) {
        let ctx = ctx(HELLO);
        let offers = vec![offer_with("o1", "a1", "h1", a), offer_with("o2", "a2", "h2", b)];
        let reqs = [
            PodInstanceRequirement::new_placement("hello", 0, ["server"]),
            PodInstanceRequirement::new_placement("hello", 1, ["server"]),
        ];
        let (recs, outcomes) = evaluate_all(&ctx, &[], &reqs, &offers, SequentialIds::default());
        prop_assert!(outcomes.len() >= reqs.len().min(1));
        let stored: Vec<_> = recs.iter().flat_map(|r| r.task_infos.clone()).collect();
        let relaunch = PodInstanceRequirement::relaunch_in_place("hello", 0, ["server"], stored.clone());
        let _ = evaluate_all(&ctx, &stored, &[relaunch], &offers, SequentialIds::starting_at(99));
        let _ = crate::offer::gc::cleanup(&offers, FRAMEWORK, &Default::default());
    }
}
