//! What goes over the wire on SUBSCRIBE: 200, chunked, `Mesos-Stream-Id`,
//! one RecordIO record per HTTP chunk, no newline inside a record, compact
//! JSON with defaults written out, SUBSCRIBED then HEARTBEAT at once and
//! every interval; protobuf when the client only accepts protobuf.

mod common;

use std::time::{Duration, Instant};

use common::{master, read_chunk, read_head};
use plinth_proto::v1::FrameworkInfo;
use plinth_proto::v1::scheduler::{Call, Event, call, event};
use prost::Message as _;
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

async fn open(
    addr: std::net::SocketAddr,
    content_type: &str,
    accept: &[&str],
    body: &[u8],
) -> (BufReader<TcpStream>, u16, Vec<(String, String)>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
    );
    for a in accept {
        head.push_str(&format!("Accept: {a}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // A chunked request body, split in two (as Node clients send it).
    let (a, b) = body.split_at(body.len() / 2);
    for part in [a, b] {
        stream
            .write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .await
            .unwrap();
        stream.write_all(part).await.unwrap();
        stream.write_all(b"\r\n").await.unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).await;
    (reader, status, headers)
}

/// Splits a chunk into exactly one record: `<len>\n<bytes>`.
fn one_record(chunk: &[u8]) -> &[u8] {
    let newline = chunk.iter().position(|b| *b == b'\n').expect("length line");
    let len: usize = std::str::from_utf8(&chunk[..newline])
        .unwrap()
        .parse()
        .unwrap();
    let record = &chunk[newline + 1..];
    assert_eq!(
        record.len(),
        len,
        "the chunk holds exactly one whole record"
    );
    record
}

#[tokio::test]
async fn json_stream_is_one_record_per_chunk_without_newlines() {
    let master = master().await;
    let body = br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"wire"}}}"#;
    let (mut reader, status, headers) = open(
        master.addr(),
        "application/json",
        &["text/html", "application/json"],
        body,
    )
    .await;
    assert_eq!(status, 200);
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("content-type").as_deref(), Some("application/json"));
    assert_eq!(get("transfer-encoding").as_deref(), Some("chunked"));
    assert!(get("content-length").is_none());
    let stream_id = get("mesos-stream-id").expect("Mesos-Stream-Id");
    assert!(uuid::Uuid::parse_str(&stream_id).is_ok(), "{stream_id}");

    let started = Instant::now();
    let mut kinds = Vec::new();
    let mut heartbeat_times = Vec::new();
    while heartbeat_times.len() < 3 {
        let chunk = tokio::time::timeout(common::WAIT, read_chunk(&mut reader))
            .await
            .unwrap()
            .expect("a chunk");
        let record = one_record(&chunk);
        assert!(
            !record.contains(&b'\n'),
            "no newline inside a record: {}",
            String::from_utf8_lossy(record)
        );
        let json: serde_json::Value = serde_json::from_slice(record).unwrap();
        let kind = json["type"].as_str().unwrap().to_owned();
        if kind == "SUBSCRIBED" {
            let s = &json["subscribed"];
            assert!(
                s["framework_id"]["value"]
                    .as_str()
                    .unwrap()
                    .ends_with("-0000")
            );
            assert_eq!(s["heartbeat_interval_seconds"], 0.3);
            assert_eq!(s["master_info"]["version"], "1.11.0");
            assert_eq!(s["master_info"]["port"], master.addr().port());
        }
        if kind == "OFFERS" {
            let offer = &json["offers"]["offers"][0];
            assert!(offer["url"]["address"]["ip"].is_string());
            assert_eq!(offer["url"]["scheme"], "http");
            assert_eq!(offer["resources"][0]["role"], "*");
        }
        if kind == "HEARTBEAT" {
            heartbeat_times.push(started.elapsed());
        }
        kinds.push(kind);
    }
    assert_eq!(
        &kinds[..2],
        ["SUBSCRIBED", "HEARTBEAT"],
        "SUBSCRIBED, then a HEARTBEAT at once: {kinds:?}"
    );
    assert!(heartbeat_times[0] < Duration::from_millis(250));
    let gap = heartbeat_times[2] - heartbeat_times[1];
    assert!(
        gap >= Duration::from_millis(200) && gap < Duration::from_secs(2),
        "{gap:?}"
    );
    master.shutdown().await;
}

#[tokio::test]
async fn protobuf_stream_when_only_protobuf_is_accepted() {
    let master = master().await;
    let call = Call {
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe {
            framework_info: FrameworkInfo {
                user: "u".into(),
                name: "pb".into(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    // Repeated Accept headers, as mesos-go sends them.
    let (mut reader, status, headers) = open(
        master.addr(),
        "application/x-protobuf",
        &["application/x-protobuf", "text/plain;q=0.5"],
        &call.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/x-protobuf")
    );
    let first = read_chunk(&mut reader).await.unwrap();
    let event = Event::decode(one_record(&first)).unwrap();
    assert_eq!(event.r#type, Some(event::Type::Subscribed as i32));
    let second = read_chunk(&mut reader).await.unwrap();
    assert_eq!(
        Event::decode(one_record(&second)).unwrap().r#type,
        Some(event::Type::Heartbeat as i32)
    );
    master.shutdown().await;
}
