//! Property: any valid spec written out as svc.yml ([`plinth::spec::to_yaml`]) loads
//! back to an equal spec.

use std::collections::BTreeMap;
use std::time::Duration;

use indexmap::IndexMap;
use plinth::spec::{
    GoalState, HealthCheckSpec, PhaseSpec, PhaseStrategy, PlanSpec, PlanStrategy, PodSpec,
    PortSpec, ResourceSetSpec, ServiceSpec, StepRule, StepSelector, TaskResources, TaskSpec,
    VolumeSpec, load_str, to_yaml,
};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,30}",
        "[a-z ]{0,10}\n[ -~]{0,20}",
        Just("true".to_string()),
        Just("1000".to_string()),
        Just("null".to_string()),
        Just("".to_string()),
        Just("{{not a tag}}".to_string()),
        Just("a: b # c".to_string()),
        "\\PC{0,12}",
    ]
}

fn env() -> impl Strategy<Value = IndexMap<String, String>> {
    prop::collection::vec(("[A-Z][A-Z0-9_]{0,8}", text()), 0..4)
        .prop_map(|v| v.into_iter().collect())
}

fn labels() -> impl Strategy<Value = IndexMap<String, String>> {
    prop::collection::vec(("[a-z][a-z0-9-]{0,5}", "[a-z0-9.-]{0,6}"), 0..3)
        .prop_map(|v| v.into_iter().collect())
}

fn goal() -> impl Strategy<Value = GoalState> {
    prop_oneof![
        Just(GoalState::Running),
        Just(GoalState::Finish),
        Just(GoalState::Once)
    ]
}

fn task(name: String, index: usize) -> impl Strategy<Value = TaskSpec> {
    (
        goal(),
        any::<bool>(),
        text(),
        env(),
        labels(),
        1u32..400,
        1u64..4096,
        prop::option::of((1u64..100, 1u64..1000)),
        prop::option::of(0u16..3),
        prop::option::of((1u64..60, 1u32..5)),
        prop::option::of(0u64..600),
    )
        .prop_map(
            move |(
                goal,
                essential,
                cmd,
                env,
                labels,
                cpu_centis,
                memory,
                volume,
                port,
                health,
                grace,
            )| {
                let mut rs = ResourceSetSpec::new(format!("{name}-resource-set"));
                rs.cpus = Some(f64::from(cpu_centis) / 100.0);
                rs.memory = Some(memory);
                if let Some((size, _)) = volume {
                    rs.volumes
                        .push(VolumeSpec::root(format!("vol-{name}"), size));
                }
                if let Some(kind) = port {
                    let p = match kind {
                        0 => PortSpec::new(format!("dyn-{name}"), 0)
                            .env_key(format!("PORT_{index}"))
                            .range(1024, 2048),
                        1 => PortSpec::new(
                            format!("fixed-{name}"),
                            10000 + u16::try_from(index).unwrap_or(0),
                        )
                        .advertise(true),
                        _ => PortSpec::new(format!("vip-{name}"), 0)
                            .vip(80, Some(format!("v{index}"))),
                    };
                    rs.ports.insert(p.name.clone(), p);
                }
                TaskSpec {
                    name: name.clone(),
                    goal,
                    essential,
                    cmd: Some(cmd),
                    env,
                    labels,
                    resources: TaskResources::Own(rs),
                    health_check: health.map(|(secs, failures)| HealthCheckSpec {
                        cmd: "true".into(),
                        interval: Duration::from_secs(secs),
                        grace_period: Duration::from_secs(secs * 2),
                        max_consecutive_failures: failures,
                        delay: Duration::from_secs(0),
                        timeout: Duration::from_secs(secs),
                    }),
                    kill_grace_period: grace.map(Duration::from_secs),
                    ..TaskSpec::default()
                }
            },
        )
}

const PLACEMENTS: &[&str] = &[
    r#"[["hostname", "UNIQUE"]]"#,
    "@zone:GROUP_BY:3",
    r#"["rack", "LIKE", "r[0-9]+"]"#,
    "hostname:MAX_PER:2,@region:IS:us-east",
];

fn pod(pi: usize) -> impl Strategy<Value = PodSpec> {
    (
        0u32..4,
        prop::option::of(prop::sample::select(PLACEMENTS)),
        any::<bool>(),
        prop::collection::vec("[a-z]{1,8}", 0..2),
        1usize..4,
    )
        .prop_flat_map(move |(count, placement, decommission, uris, ntasks)| {
            let tasks: Vec<_> = (0..ntasks)
                .map(|ti| task(format!("t{ti}"), pi * 10 + ti).boxed())
                .collect();
            tasks.prop_map(move |tasks| PodSpec {
                name: format!("pod-{pi}"),
                count,
                placement: placement.map(str::to_string),
                allow_decommission: decommission,
                uris: uris
                    .iter()
                    .map(|u| format!("https://example.com/{u}"))
                    .collect(),
                tasks,
                ..PodSpec::default()
            })
        })
}

fn spec() -> impl Strategy<Value = ServiceSpec> {
    (
        "[a-z][a-z0-9-]{0,10}[a-z0-9]",
        prop::option::of("[a-z]{1,8}"),
        1usize..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(name, user, npods, with_plan, parallel)| {
            let pods: Vec<_> = (0..npods).map(|i| pod(i).boxed()).collect();
            pods.prop_map(move |pods| {
                let mut spec = ServiceSpec {
                    name: name.clone(),
                    pods,
                    ..ServiceSpec::default()
                };
                spec.scheduler.user = user.clone();
                if with_plan {
                    let mut plan = PlanSpec::new(
                        "deploy",
                        Some(if parallel {
                            PlanStrategy::Parallel
                        } else {
                            PlanStrategy::Serial
                        }),
                    );
                    for p in &spec.pods {
                        let groups = p.tasks.iter().map(|t| vec![t.name.clone()]).collect();
                        plan = plan.with_phase(
                            PhaseSpec::new(
                                format!("{}-deploy", p.name),
                                p.name.clone(),
                                Some(PhaseStrategy::SerialCanary),
                            )
                            .with_steps(vec![StepRule {
                                selector: StepSelector::Default,
                                task_groups: groups,
                            }]),
                        );
                    }
                    spec.plans.push(plan);
                }
                spec
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_valid_specs_survive_a_yaml_round_trip(spec in spec()) {
        prop_assert!(plinth::spec::validate_spec(&spec).is_ok(), "generated spec is invalid: {:?}", plinth::spec::validate_spec(&spec));
        let yaml = to_yaml(&spec).expect("serializes");
        let loaded = load_str(&yaml, &BTreeMap::new(), Some("roundtrip.yml"));
        let loaded = match loaded {
            Ok(l) => l,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n---\n{yaml}"))),
        };
        prop_assert_eq!(&loaded.spec, &spec, "yaml:\n{}", yaml);
    }
}
