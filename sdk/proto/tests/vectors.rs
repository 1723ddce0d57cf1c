//! Protocol conformance: every Mesos test vector in `../shared/mesos/vectors`
//! decodes into our types, re-encodes to equivalent JSON, and survives a
//! protobuf round trip. Skipped (with a note) where `../shared` is absent.

use std::path::PathBuf;

use plinth_proto::json;
use plinth_proto::recordio::RecordIoDecoder;
use plinth_proto::v1::scheduler::{Call, Event};
use plinth_proto::v1::{Offer, offer};
use prost::{Message, Name};
use serde_json::Value;
use tokio_util::codec::Decoder as _;

fn vectors_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PLINTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("mesos/vectors");
    dir.join("index.json").exists().then_some(dir)
}

/// JSON equivalence as Mesos sees it: numbers compare by value, bytes by
/// their decoded content (padding is optional on input), `null` is absent.
fn equivalent(original: &Value, ours: &Value, path: &str, diffs: &mut Vec<String>) {
    match (original, ours) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                // Mesos omits unset fields and empty repeated fields.
                if va.is_null() || va.as_array().is_some_and(Vec::is_empty) {
                    continue;
                }
                match b.get(k) {
                    Some(vb) => equivalent(va, vb, &format!("{path}.{k}"), diffs),
                    None => diffs.push(format!("{path}.{k}: missing from our encoding")),
                }
            }
            for k in b.keys() {
                if !a.contains_key(k) {
                    diffs.push(format!("{path}.{k}: added by our encoding"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                diffs.push(format!("{path}: {} elements vs {}", a.len(), b.len()));
            }
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                equivalent(va, vb, &format!("{path}[{i}]"), diffs);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() != b.as_f64() => {
            diffs.push(format!("{path}: {a} vs {b}"));
        }
        // Numeric strings are accepted on input and written as numbers.
        (Value::String(a), Value::Number(b)) if a.parse::<f64>().ok() != b.as_f64() => {
            diffs.push(format!("{path}: {a:?} vs {b}"));
        }
        (Value::Number(_) | Value::String(_), Value::Number(_)) => {}
        (Value::String(a), Value::String(b)) if a != b => {
            let same_bytes = matches!(
                (json::decode_base64(a), json::decode_base64(b)),
                (Ok(x), Ok(y)) if x == y
            );
            if !same_bytes {
                diffs.push(format!("{path}: {a:?} vs {b:?}"));
            }
        }
        (a, b) if a != b => diffs.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

fn round_trip<M: Message + Name + Default + PartialEq>(original: &Value) -> Result<(), String> {
    let decoded: M = json::from_value(original).map_err(|e| format!("decode: {e}"))?;
    let ours = json::to_value(&decoded);
    let mut diffs = Vec::new();
    equivalent(original, &ours, "", &mut diffs);
    if !diffs.is_empty() {
        return Err(format!("JSON differs: {}", diffs.join("; ")));
    }
    let again: M = json::from_value(&ours).map_err(|e| format!("re-decode: {e}"))?;
    if again != decoded {
        return Err("JSON re-decode differs".into());
    }
    let binary = decoded.encode_to_vec();
    let from_binary = M::decode(binary.as_slice()).map_err(|e| format!("protobuf: {e}"))?;
    if from_binary != decoded {
        return Err("protobuf round trip differs".into());
    }
    json::check_required(&from_binary).map_err(|e| format!("required: {e}"))?;
    Ok(())
}

#[test]
fn every_vector_round_trips() {
    let Some(dir) = vectors_dir() else {
        eprintln!("skipped: ../shared/mesos/vectors not present");
        return;
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entries = index["vectors"]
        .as_array()
        .expect("index.json has vectors[]");
    let mut failures = Vec::new();
    for entry in entries {
        let file = entry["file"].as_str().unwrap();
        let message = entry["message"].as_str().unwrap();
        let value: Value = serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let result = match message {
            "mesos.v1.scheduler.Call" => round_trip::<Call>(&value),
            "mesos.v1.scheduler.Event" => round_trip::<Event>(&value),
            "mesos.v1.Offer" => round_trip::<Offer>(&value),
            "mesos.v1.Offer.Operation" => round_trip::<offer::Operation>(&value),
            other => Err(format!("no Rust type mapped for {other}")),
        };
        if let Err(e) = result {
            failures.push(format!("{file}: {e}"));
        }
    }
    assert_eq!(entries.len(), 44, "the index lists 44 vectors");
    assert!(
        failures.is_empty(),
        "{} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn recordio_vectors_decode() {
    let Some(dir) = vectors_dir() else {
        eprintln!("skipped: ../shared/mesos/vectors not present");
        return;
    };
    let mut buf = bytes::BytesMut::from(
        &std::fs::read(dir.join("recordio/hello-world.recordio")).unwrap()[..],
    );
    let mut decoder = RecordIoDecoder::new(1024);
    let mut records = Vec::new();
    while let Some(r) = decoder.decode_eof(&mut buf).unwrap() {
        records.push(r);
    }
    assert_eq!(records, vec![&b"hello"[..], &b"world!"[..]]);

    let mut buf = bytes::BytesMut::from(
        &std::fs::read(dir.join("recordio/event-stream.recordio")).unwrap()[..],
    );
    let mut events = Vec::new();
    while let Some(r) = decoder.decode_eof(&mut buf).unwrap() {
        events.push((r.len(), json::from_slice::<Event>(&r).unwrap()));
    }
    let lengths: Vec<usize> = events.iter().map(|(n, _)| *n).collect();
    assert_eq!(lengths, vec![119, 20, 69]);
    assert!(events[0].1.subscribed.is_some());
    let error = events[2].1.error.as_ref().expect("third record is ERROR");
    assert!(
        !error.message.is_ascii(),
        "multi-byte message survives: {}",
        error.message
    );
}
