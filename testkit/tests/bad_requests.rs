//! Bad requests get the status code and message a real Mesos master gives
//! (PROTOCOL.md §1.3), and the master keeps serving afterwards.

mod common;

use common::{RawResponse, master, master_with, raw, read_chunk, read_head};
use plinth_testkit::{Fault, Leader};
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

const SCHED: &str = "/api/v1/scheduler";
const JSON: (&str, &str) = ("Content-Type", "application/json");
const SUBSCRIBE: &str =
    r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"raw","role":null}}}"#;

/// A raw JSON subscription kept open: (reader, stream id, framework id).
async fn subscribe(addr: std::net::SocketAddr) -> (BufReader<TcpStream>, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = SUBSCRIBE.replace(r#""role":null"#, r#""failover_timeout":60"#);
    let req = format!(
        "POST {SCHED} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).await;
    assert_eq!(status, 200);
    let stream_id = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("mesos-stream-id"))
        .unwrap()
        .1
        .clone();
    let chunk = read_chunk(&mut reader).await.unwrap();
    let text = String::from_utf8(chunk).unwrap();
    let json: serde_json::Value = serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
    let fid = json["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    (reader, stream_id, fid)
}

fn check(r: &RawResponse, status: u16, message: &str) {
    assert_eq!(r.status, status, "body: {}", r.text());
    assert!(
        r.text().contains(message),
        "expected {message:?} in {:?}",
        r.text()
    );
}

#[tokio::test]
async fn transport_errors_get_mesos_codes_and_messages() {
    let master = master().await;
    let addr = master.addr();
    check(&raw(addr, "GET", SCHED, &[], b"").await, 405, "POST");
    check(
        &raw(addr, "POST", SCHED, &[], SUBSCRIBE.as_bytes()).await,
        400,
        "Expecting 'Content-Type' to be present",
    );
    let r = raw(
        addr,
        "POST",
        SCHED,
        &[("Content-Type", "application/json; charset=utf-8")],
        SUBSCRIBE.as_bytes(),
    )
    .await;
    check(
        &r,
        415,
        "Expecting 'Content-Type' of application/json or application/x-protobuf",
    );
    check(
        &raw(addr, "POST", SCHED, &[JSON], b"{not json").await,
        400,
        "Failed to parse body into JSON",
    );
    check(
        &raw(
            addr,
            "POST",
            SCHED,
            &[("Content-Type", "application/x-protobuf")],
            b"\xff\xff\xff",
        )
        .await,
        400,
        "Failed to parse body into Call protobuf",
    );
    check(
        &raw(
            addr,
            "POST",
            SCHED,
            &[JSON],
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}"#,
        )
        .await,
        400,
        "Missing required fields",
    );
    check(
        &raw(addr, "POST", SCHED, &[JSON], br#"{"type":"SUBSCRIBE"}"#).await,
        400,
        "Expecting 'subscribe' to be present",
    );
    check(
        &raw(
            addr,
            "POST",
            SCHED,
            &[JSON, ("Accept", "text/html")],
            SUBSCRIBE.as_bytes(),
        )
        .await,
        406,
        "Expecting 'Accept' to allow",
    );
    check(
        &raw(
            addr,
            "POST",
            SCHED,
            &[JSON, ("Mesos-Stream-Id", "x")],
            SUBSCRIBE.as_bytes(),
        )
        .await,
        400,
        "Subscribe calls should not include the 'Mesos-Stream-Id' header",
    );
    let kill =
        br#"{"type":"KILL","framework_id":{"value":"nope"},"kill":{"task_id":{"value":"t"}}}"#;
    check(
        &raw(addr, "POST", SCHED, &[JSON], kill).await,
        400,
        "Framework cannot be found",
    );
    check(
        &raw(
            addr,
            "POST",
            SCHED,
            &[JSON],
            br#"{"type":"KILL","kill":{"task_id":{"value":"t"}}}"#,
        )
        .await,
        400,
        "Expecting 'framework_id' to be present",
    );
    // Still serving.
    let v = raw(addr, "GET", "/version", &[], b"").await;
    assert_eq!(v.status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&v.body).unwrap()["version"],
        "1.11.0"
    );
    master.shutdown().await;
}

#[tokio::test]
async fn call_errors_for_a_subscribed_framework() {
    let master = master().await;
    let addr = master.addr();
    let (reader, stream_id, fid) = subscribe(addr).await;
    let revive = format!(r#"{{"type":"REVIVE","framework_id":{{"value":"{fid}"}}}}"#);
    check(
        &raw(addr, "POST", SCHED, &[JSON], revive.as_bytes()).await,
        400,
        "should include the 'Mesos-Stream-Id' header",
    );
    check(
        &raw(
            addr,
            "POST",
            SCHED,
            &[JSON, ("Mesos-Stream-Id", "wrong")],
            revive.as_bytes(),
        )
        .await,
        400,
        "didn't match the stream ID",
    );
    let ok = raw(
        addr,
        "POST",
        SCHED,
        &[JSON, ("Mesos-Stream-Id", &stream_id)],
        revive.as_bytes(),
    )
    .await;
    assert_eq!(ok.status, 202);
    assert!(ok.body.is_empty());
    let ack = format!(
        r#"{{"type":"ACKNOWLEDGE","framework_id":{{"value":"{fid}"}},"acknowledge":{{"agent_id":{{"value":"a"}},"task_id":{{"value":"t"}},"uuid":"AAEC"}}}}"#
    );
    check(
        &raw(
            addr,
            "POST",
            SCHED,
            &[JSON, ("Mesos-Stream-Id", &stream_id)],
            ack.as_bytes(),
        )
        .await,
        400,
        "Not a valid UUID",
    );
    let unknown = format!(r#"{{"type":"UNKNOWN","framework_id":{{"value":"{fid}"}}}}"#);
    check(
        &raw(
            addr,
            "POST",
            SCHED,
            &[JSON, ("Mesos-Stream-Id", &stream_id)],
            unknown.as_bytes(),
        )
        .await,
        501,
        "",
    );
    let update = format!(
        r#"{{"type":"UPDATE_FRAMEWORK","framework_id":{{"value":"{fid}"}},"update_framework":{{"framework_info":{{"id":{{"value":"{fid}"}},"user":"u","name":"renamed","failover_timeout":60}}}}}}"#
    );
    assert_eq!(
        raw(
            addr,
            "POST",
            SCHED,
            &[JSON, ("Mesos-Stream-Id", &stream_id)],
            update.as_bytes()
        )
        .await
        .status,
        200
    );
    // The stream breaks: the framework is known but not subscribed.
    drop(reader);
    let forbidden = tokio::time::timeout(common::WAIT, async {
        loop {
            let r = raw(
                addr,
                "POST",
                SCHED,
                &[JSON, ("Mesos-Stream-Id", &stream_id)],
                revive.as_bytes(),
            )
            .await;
            if r.status != 202 {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    check(&forbidden, 403, "Framework is not subscribed");
    master.shutdown().await;
}

#[tokio::test]
async fn subscribe_errors_arrive_as_200_with_an_error_event() {
    let master = master().await;
    let body = br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","roles":["a"]}}}"#;
    let r = raw(master.addr(), "POST", SCHED, &[JSON], body).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let json: serde_json::Value = serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
    assert_eq!(json["type"], "ERROR");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MULTI_ROLE")
    );
    master.shutdown().await;
}

#[tokio::test]
async fn authentication_and_leadership_faults() {
    let master = master_with(|c| {
        c.credentials.insert("ops".into(), "s3cret".into());
    })
    .await;
    let addr = master.addr();
    let r = raw(addr, "POST", SCHED, &[JSON], SUBSCRIBE.as_bytes()).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some("Basic realm=\"mesos-master-scheduler\"")
    );
    let wrong = raw(
        addr,
        "POST",
        SCHED,
        &[JSON, ("Authorization", "Basic b3BzOm5vcGU=")],
        SUBSCRIBE.as_bytes(),
    )
    .await;
    assert_eq!(wrong.status, 401);

    master
        .inject(Fault::Leader {
            leader: Leader::Redirect {
                url: "http://127.0.0.1:5999".into(),
            },
        })
        .unwrap();
    let auth = ("Authorization", "Basic b3BzOnMzY3JldA==");
    let r = raw(addr, "POST", SCHED, &[JSON, auth], SUBSCRIBE.as_bytes()).await;
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("Location"),
        Some("//127.0.0.1:5999/api/v1/scheduler")
    );
    master
        .inject(Fault::Leader {
            leader: Leader::None,
        })
        .unwrap();
    assert_eq!(
        raw(addr, "POST", SCHED, &[JSON, auth], SUBSCRIBE.as_bytes())
            .await
            .status,
        503
    );
    master
        .inject(Fault::Leader {
            leader: Leader::Leading,
        })
        .unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {SCHED} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: Basic b3BzOnMzY3JldA==\r\nContent-Length: {}\r\n\r\n{SUBSCRIBE}",
        SUBSCRIBE.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(stream);
    assert_eq!(read_head(&mut reader).await.0, 200);
    let state = master.state();
    assert_eq!(
        state["frameworks"][0]["principal"], "ops",
        "principal filled in from the credential"
    );
    master.shutdown().await;
}
