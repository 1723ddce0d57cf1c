//! Offer evaluation of a 1,000-step parallel deploy: 1,000 new pod instances
//! (one task each with cpus, mem, a dynamic port, a ROOT volume and
//! `hostname:UNIQUE` placement) against 1,000 offers from 1,000 agents, in
//! one `evaluate_all` pass. Target: under 50 ms.
//!
//! Run: `cargo bench -p plinth --bench offer_evaluation`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use plinth::offer::{OfferEvaluator, PodInstanceRequirement, SeededIds, ServiceContext};
use plinth_proto::v1::resource::AllocationInfo;
use plinth_proto::v1::{AgentId, FrameworkId, Offer, OfferId, Resource, value};

const N: u32 = 1_000;
const ROLE: &str = "bench-role";

const SPEC: &str = r#"
name: bench
pods:
  node:
    count: 1000
    placement: '[["hostname", "UNIQUE"]]'
    tasks:
      server:
        goal: RUNNING
        cmd: ./server --port $PORT_HTTP
        cpus: 1
        memory: 1024
        ports:
          http:
            port: 0
            env-key: PORT_HTTP
        volume:
          path: data
          type: ROOT
          size: 1024
        env:
          MODE: bench
        readiness-check:
          cmd: test -f data/ready
          interval: 5
          delay: 0
          timeout: 10
"#;

fn resource(name: &str, v: f64) -> Resource {
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

fn offer(i: u32) -> Offer {
    let mut ports = resource("ports", 0.0);
    ports.scalar = None;
    ports.set_type(value::Type::Ranges);
    ports.ranges = Some(value::Ranges {
        range: vec![value::Range {
            begin: 31000,
            end: 32000,
        }],
    });
    Offer {
        id: OfferId {
            value: format!("offer-{i}"),
        },
        framework_id: FrameworkId {
            value: "fw".to_string(),
        },
        agent_id: AgentId {
            value: format!("agent-{i}"),
        },
        hostname: format!("host-{i}"),
        resources: vec![
            resource("cpus", 4.0),
            resource("mem", 8192.0),
            resource("disk", 100_000.0),
            ports,
        ],
        ..Offer::default()
    }
}

fn bench(c: &mut Criterion) {
    let spec = match plinth::spec::load_str(SPEC, &BTreeMap::new(), None) {
        Ok(l) => l.spec,
        Err(e) => panic!("bench spec: {e:?}"),
    };
    let ctx = ServiceContext {
        role: ROLE.to_string(),
        ..ServiceContext::new(Arc::new(spec), "fw", "config-1")
    };
    let requirements: Vec<PodInstanceRequirement> = (0..N)
        .map(|i| PodInstanceRequirement::new_placement("node", i, ["server"]))
        .collect();
    let offers: Vec<Offer> = (0..N).map(offer).collect();

    // Sanity: every pod is placed.
    let (recs, _) =
        OfferEvaluator::new(&ctx, &[], SeededIds::new(1)).evaluate_all(&requirements, &offers);
    assert_eq!(recs.len(), N as usize);

    // The evaluation itself; the recommendations are dropped outside the
    // timed section (the scheduler drops them after the ACCEPT is sent).
    c.bench_function("offer_evaluation/1000_pods_x_1000_offers", |b| {
        b.iter_with_large_drop(|| {
            let mut ev = OfferEvaluator::new(&ctx, &[], SeededIds::new(1));
            ev.evaluate_all(black_box(&requirements), black_box(&offers))
        })
    });
    // The same, including freeing ~1,000 recommendations' protobufs.
    c.bench_function("offer_evaluation/1000_pods_x_1000_offers_incl_drop", |b| {
        b.iter(|| {
            let mut ev = OfferEvaluator::new(&ctx, &[], SeededIds::new(1));
            black_box(ev.evaluate_all(black_box(&requirements), black_box(&offers)))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
