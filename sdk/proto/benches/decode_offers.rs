//! Decoding an OFFERS event with 1,000 offers, in JSON and in protobuf.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plinth_proto::codec::Encoding;
use plinth_proto::v1::scheduler::{Event, event};
use plinth_proto::v1::{
    AgentId, Attribute, DomainInfo, FrameworkId, Offer, OfferId, Resource, Url, domain_info,
    resource, value,
};

fn scalar(name: &str, amount: f64, role: Option<&str>) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        allocation_info: Some(resource::AllocationInfo {
            role: Some("hello-role".into()),
        }),
        reservations: role
            .map(|r| {
                vec![resource::ReservationInfo {
                    r#type: Some(resource::reservation_info::Type::Dynamic as i32),
                    role: Some(r.into()),
                    principal: Some("hello-principal".into()),
                    ..Default::default()
                }]
            })
            .unwrap_or_default(),
        ..Default::default()
    }
}

fn offer(i: usize) -> Offer {
    Offer {
        id: OfferId {
            value: format!("5f0c4a3e-7d1b-4c2a-9e1f-0b6a8d2c4e11-O{i}"),
        },
        framework_id: FrameworkId {
            value: "5f0c4a3e-7d1b-4c2a-9e1f-0b6a8d2c4e11-0000".into(),
        },
        agent_id: AgentId {
            value: format!("5f0c4a3e-7d1b-4c2a-9e1f-0b6a8d2c4e11-S{i}"),
        },
        hostname: format!("agent-{i}.example"),
        url: Some(Url {
            scheme: "http".into(),
            address: plinth_proto::v1::Address {
                hostname: Some(format!("agent-{i}.example")),
                ip: Some("127.0.0.1".into()),
                port: 5051,
            },
            path: Some("/slave(1)".into()),
            ..Default::default()
        }),
        domain: Some(DomainInfo {
            fault_domain: Some(domain_info::FaultDomain {
                region: domain_info::fault_domain::RegionInfo {
                    name: "us-east".into(),
                },
                zone: domain_info::fault_domain::ZoneInfo {
                    name: format!("us-east-{}", i % 3),
                },
            }),
        }),
        resources: vec![
            scalar("cpus", 4.0, None),
            scalar("mem", 16384.0, None),
            scalar("disk", 102400.0, None),
            scalar("cpus", 0.5, Some("hello-role")),
            Resource {
                name: "ports".into(),
                r#type: value::Type::Ranges as i32,
                ranges: Some(value::Ranges {
                    range: vec![value::Range {
                        begin: 31000,
                        end: 32000,
                    }],
                }),
                ..Default::default()
            },
        ],
        attributes: vec![Attribute {
            name: "rack".into(),
            r#type: value::Type::Text as i32,
            text: Some(value::Text {
                value: format!("rack-{}", i % 10),
            }),
            ..Default::default()
        }],
        allocation_info: Some(resource::AllocationInfo {
            role: Some("hello-role".into()),
        }),
        ..Default::default()
    }
}

fn offers_event(n: usize) -> Event {
    Event {
        r#type: Some(event::Type::Offers as i32),
        offers: Some(event::Offers {
            offers: (0..n).map(offer).collect(),
        }),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let event = offers_event(1_000);
    let json = Encoding::Json.encode(&event);
    let protobuf = Encoding::Protobuf.encode(&event);
    let mut group = c.benchmark_group("decode OFFERS x1000");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("json", |b| {
        b.iter(|| Encoding::Json.decode::<Event>(&json).expect("decodes"));
    });
    group.throughput(Throughput::Bytes(protobuf.len() as u64));
    group.bench_function("protobuf", |b| {
        b.iter(|| {
            Encoding::Protobuf
                .decode_lenient::<Event>(&protobuf)
                .expect("decodes")
        });
    });
    group.bench_function("protobuf+required-check", |b| {
        b.iter(|| {
            Encoding::Protobuf
                .decode::<Event>(&protobuf)
                .expect("decodes")
        });
    });
    group.finish();
    println!(
        "OFFERS x1000: json {} bytes, protobuf {} bytes",
        json.len(),
        protobuf.len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
