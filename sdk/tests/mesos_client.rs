//! The scheduler client against scripted in-process masters on loopback HTTP:
//! redirects, 503 backoff, heartbeat loss and failover re-subscription,
//! stream-id rules, typed 4xx errors, Basic auth, JSON and protobuf.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures::StreamExt as _;
use plinth::mesos::{
    BackoffConfig, ClientConfig, ClientEvent, Credentials, MesosError, SchedulerClient, calls,
};
use plinth_proto::codec::Encoding;
use plinth_proto::recordio::frame;
use plinth_proto::v1::scheduler::{Call, Event, call, event};
use plinth_proto::v1::{FrameworkId, FrameworkInfo};
use tokio::sync::mpsc;

/// What the scripted master does with one SUBSCRIBE.
#[derive(Clone)]
enum OnSubscribe {
    Status(u16, &'static str),
    Redirect(String),
    /// SUBSCRIBED with this heartbeat interval, then the given behaviour.
    Stream {
        heartbeat: f64,
        then: AfterSubscribed,
    },
}

#[derive(Clone, Copy)]
enum AfterSubscribed {
    /// Keep the stream open and send nothing more.
    Silent,
    /// Send an ERROR event and close.
    Error(&'static str),
    /// Send HEARTBEATs every interval.
    Heartbeats,
}

#[derive(Debug, Clone)]
struct Seen {
    subscribe: bool,
    stream_id: Option<String>,
    authorization: Option<String>,
    content_type: Option<String>,
    call: Call,
}

#[derive(Default)]
struct Script {
    subscribes: VecDeque<OnSubscribe>,
    call_answers: VecDeque<(u16, &'static str)>,
    seen: Vec<Seen>,
    streams: u32,
    /// Senders of open streams, kept so silent streams stay open.
    open: Vec<mpsc::Sender<Result<Bytes, std::io::Error>>>,
}

type Shared = Arc<Mutex<Script>>;

async fn scheduler_endpoint(
    State(script): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type");
    let encoding = content_type
        .as_deref()
        .and_then(Encoding::from_content_type)
        .unwrap_or_default();
    let call: Call = match encoding.decode(&body) {
        Ok(call) => call,
        Err(e) => return plain(400, &e.to_string()),
    };
    let subscribe = call.r#type == Some(call::Type::Subscribe as i32);
    let mut s = script.lock().unwrap();
    s.seen.push(Seen {
        subscribe,
        stream_id: header("mesos-stream-id"),
        authorization: header("authorization"),
        content_type,
        call: call.clone(),
    });
    if !subscribe {
        let (code, text) = s.call_answers.pop_front().unwrap_or((202, ""));
        return plain(code, text);
    }
    match s
        .subscribes
        .pop_front()
        .unwrap_or(OnSubscribe::Status(503, "script exhausted"))
    {
        OnSubscribe::Status(code, text) => plain(code, text),
        OnSubscribe::Redirect(location) => Response::builder()
            .status(307)
            .header("location", location)
            .body(Body::empty())
            .unwrap(),
        OnSubscribe::Stream { heartbeat, then } => {
            s.streams += 1;
            let stream_id = format!("stream-{}", s.streams);
            let framework_id = call.framework_id.clone().unwrap_or(FrameworkId {
                value: "fw-0001".into(),
            });
            let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
            let record = move |event: &Event| Ok(frame(&encoding.encode(event)));
            let subscribed = Event {
                r#type: Some(event::Type::Subscribed as i32),
                subscribed: Some(event::Subscribed {
                    framework_id,
                    heartbeat_interval_seconds: Some(heartbeat),
                    ..Default::default()
                }),
                ..Default::default()
            };
            tx.try_send(record(&subscribed)).unwrap();
            match then {
                AfterSubscribed::Silent => s.open.push(tx),
                AfterSubscribed::Error(message) => {
                    let error = Event {
                        r#type: Some(event::Type::Error as i32),
                        error: Some(event::Error {
                            message: message.into(),
                        }),
                        ..Default::default()
                    };
                    tx.try_send(record(&error)).unwrap();
                }
                AfterSubscribed::Heartbeats => {
                    let beat = Event {
                        r#type: Some(event::Type::Heartbeat as i32),
                        ..Default::default()
                    };
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(Duration::from_secs_f64(heartbeat)).await;
                            if tx.send(record(&beat)).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            }
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            Response::builder()
                .status(200)
                .header("content-type", encoding.content_type())
                .header("mesos-stream-id", stream_id)
                .body(Body::from_stream(stream))
                .unwrap()
        }
    }
}

fn plain(code: u16, text: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .body(Body::from(text.to_owned()))
        .unwrap()
}

/// Starts a scripted master on a free loopback port; returns its address.
async fn master(script: Shared) -> String {
    let app = Router::new()
        .route("/api/v1/scheduler", axum::routing::post(scheduler_endpoint))
        .with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("127.0.0.1:{}", addr.port())
}

fn config(addr: &str) -> ClientConfig {
    let info = FrameworkInfo {
        user: "nobody".into(),
        name: "test".into(),
        ..Default::default()
    };
    let mut config = ClientConfig::new(&format!("http://{addr}"), info).unwrap();
    config.backoff = BackoffConfig {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
        max_attempts: Some(8),
        seed: 1,
    };
    config.request_timeout = Duration::from_secs(5);
    config
}

fn script(subscribes: Vec<OnSubscribe>) -> Shared {
    Arc::new(Mutex::new(Script {
        subscribes: subscribes.into(),
        ..Default::default()
    }))
}

async fn next(events: &mut plinth::mesos::Subscription) -> Result<ClientEvent, MesosError> {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream is not over")
}

fn subscribed_id(event: Result<ClientEvent, MesosError>) -> String {
    match event {
        Ok(ClientEvent::Subscribed { framework_id, .. }) => framework_id.value,
        other => panic!("expected Subscribed, got {other:?}"),
    }
}

#[tokio::test]
async fn follows_protocol_relative_redirect_to_the_leader() {
    let leader_script = script(vec![OnSubscribe::Stream {
        heartbeat: 15.0,
        then: AfterSubscribed::Silent,
    }]);
    let leader = master(leader_script.clone()).await;
    let follower_script = script(vec![OnSubscribe::Redirect(format!(
        "//{leader}/api/v1/scheduler"
    ))]);
    let follower = master(follower_script.clone()).await;

    let client = SchedulerClient::new(config(&follower));
    let mut events = client.subscribe();
    assert_eq!(subscribed_id(next(&mut events).await), "fw-0001");
    assert_eq!(
        client.session().borrow().leader.to_string(),
        format!("http://{leader}/api/v1/scheduler")
    );

    client.caller().call(calls::revive(vec![])).await.unwrap();
    assert_eq!(
        follower_script.lock().unwrap().seen.len(),
        1,
        "only the redirected SUBSCRIBE hit the follower"
    );
    let seen = leader_script.lock().unwrap().seen.clone();
    assert_eq!(seen.len(), 2, "SUBSCRIBE and REVIVE went to the leader");
}

#[tokio::test]
async fn retries_503_with_backoff_then_subscribes() {
    let s = script(vec![
        OnSubscribe::Status(503, "no leader"),
        OnSubscribe::Status(503, "no leader"),
        OnSubscribe::Stream {
            heartbeat: 15.0,
            then: AfterSubscribed::Silent,
        },
    ]);
    let addr = master(s.clone()).await;
    let client = SchedulerClient::new(config(&addr));
    let mut events = client.subscribe();
    let started = std::time::Instant::now();
    assert_eq!(subscribed_id(next(&mut events).await), "fw-0001");
    assert_eq!(s.lock().unwrap().seen.len(), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(10),
        "backed off between attempts"
    );
}

#[tokio::test]
async fn gives_up_after_the_configured_attempts() {
    let s = script(vec![]);
    let addr = master(s.clone()).await;
    let mut cfg = config(&addr);
    cfg.backoff.max_attempts = Some(2);
    let mut events = SchedulerClient::new(cfg).subscribe();
    match next(&mut events).await {
        Err(MesosError::RetriesExhausted { attempts: 2, last }) => {
            assert!(matches!(*last, MesosError::Unavailable { .. }), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(events.next().await.is_none(), "the stream ends");
    assert_eq!(s.lock().unwrap().seen.len(), 3);
}

#[tokio::test]
async fn heartbeat_loss_reconnects_with_the_framework_id() {
    let s = script(vec![
        OnSubscribe::Stream {
            heartbeat: 0.1,
            then: AfterSubscribed::Silent,
        },
        OnSubscribe::Stream {
            heartbeat: 0.1,
            then: AfterSubscribed::Heartbeats,
        },
    ]);
    let addr = master(s.clone()).await;
    let mut cfg = config(&addr);
    cfg.heartbeat_misses = 2;
    let client = SchedulerClient::new(cfg);
    let mut events = client.subscribe();
    let first = subscribed_id(next(&mut events).await);
    match next(&mut events).await {
        Ok(ClientEvent::Disconnected { reason }) => {
            assert!(reason.contains("heartbeats missed"), "{reason}")
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert_eq!(subscribed_id(next(&mut events).await), first);
    match next(&mut events).await {
        Ok(ClientEvent::Event(e)) => assert_eq!(e.r#type, Some(event::Type::Heartbeat as i32)),
        other => panic!("expected a HEARTBEAT, got {other:?}"),
    }
    let seen = s.lock().unwrap().seen.clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[0].call.framework_id.is_none(),
        "first SUBSCRIBE registers a new framework"
    );
    let again = &seen[1].call;
    assert_eq!(
        again.framework_id.as_ref().map(|f| f.value.as_str()),
        Some(first.as_str())
    );
    let info_id = again
        .subscribe
        .as_ref()
        .and_then(|s| s.framework_info.id.as_ref());
    assert_eq!(
        info_id.map(|f| f.value.as_str()),
        Some(first.as_str()),
        "framework_info.id matches"
    );
}

#[tokio::test]
async fn stream_id_on_every_call_and_never_on_subscribe() {
    let s = script(vec![OnSubscribe::Stream {
        heartbeat: 15.0,
        then: AfterSubscribed::Silent,
    }]);
    let addr = master(s.clone()).await;
    let client = SchedulerClient::new(config(&addr));
    let caller = client.caller();
    let err = caller.call(calls::teardown()).await.unwrap_err();
    assert!(matches!(err, MesosError::NotSubscribed { .. }), "{err}");
    let mut events = client.subscribe();
    subscribed_id(next(&mut events).await);
    caller
        .call(calls::suppress(vec!["r".into()]))
        .await
        .unwrap();
    caller.call(calls::reconcile(vec![])).await.unwrap();
    let seen = s.lock().unwrap().seen.clone();
    assert_eq!(seen.len(), 3);
    assert!(seen[0].subscribe && seen[0].stream_id.is_none());
    for call in &seen[1..] {
        assert_eq!(call.stream_id.as_deref(), Some("stream-1"));
        assert_eq!(
            call.call.framework_id.as_ref().unwrap().value,
            "fw-0001",
            "framework_id filled in"
        );
        assert_eq!(call.content_type.as_deref(), Some("application/x-protobuf"));
    }
}

#[tokio::test]
async fn call_errors_carry_the_masters_text() {
    let s = script(vec![OnSubscribe::Stream {
        heartbeat: 15.0,
        then: AfterSubscribed::Silent,
    }]);
    s.lock().unwrap().call_answers = VecDeque::from([
        (400, "Expecting 'accept' to be present"),
        (403, "Framework is not subscribed"),
        (503, "no leader"),
        (202, ""),
    ]);
    let addr = master(s.clone()).await;
    let client = SchedulerClient::new(config(&addr));
    let mut events = client.subscribe();
    subscribed_id(next(&mut events).await);
    let caller = client.caller();
    match caller.call(calls::teardown()).await {
        Err(MesosError::BadRequest { message }) => {
            assert_eq!(message, "Expecting 'accept' to be present")
        }
        other => panic!("{other:?}"),
    }
    match caller.call(calls::teardown()).await {
        Err(MesosError::Forbidden { message }) => {
            assert_eq!(message, "Framework is not subscribed")
        }
        other => panic!("{other:?}"),
    }
    // 503 is retried; the retry gets 202.
    caller.call(calls::teardown()).await.unwrap();
    assert_eq!(s.lock().unwrap().seen.len(), 5);
}

#[tokio::test]
async fn unauthorized_subscribe_is_fatal_and_basic_auth_is_sent() {
    let s = script(vec![OnSubscribe::Status(
        401,
        "Unauthorized: bad credentials",
    )]);
    let addr = master(s.clone()).await;
    let mut cfg = config(&addr);
    cfg.credentials = Some(Credentials {
        principal: "hello".into(),
        secret: "s3cret".into(),
    });
    let mut events = SchedulerClient::new(cfg).subscribe();
    match next(&mut events).await {
        Err(MesosError::Unauthorized { message }) => assert!(message.contains("bad credentials")),
        other => panic!("{other:?}"),
    }
    assert!(events.next().await.is_none());
    let seen = s.lock().unwrap().seen.clone();
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Basic aGVsbG86czNjcmV0")
    );
}

#[tokio::test]
async fn error_event_ends_the_subscription() {
    let s = script(vec![OnSubscribe::Stream {
        heartbeat: 15.0,
        then: AfterSubscribed::Error("Framework failed over"),
    }]);
    let addr = master(s).await;
    let client = SchedulerClient::new(config(&addr));
    let mut events = client.subscribe();
    subscribed_id(next(&mut events).await);
    match next(&mut events).await {
        Err(MesosError::Subscription { message }) => assert_eq!(message, "Framework failed over"),
        other => panic!("{other:?}"),
    }
    assert!(events.next().await.is_none());
    assert!(client.session().borrow().stream_id.is_none());
}

#[tokio::test]
async fn json_mode_sends_and_reads_json() {
    let s = script(vec![OnSubscribe::Stream {
        heartbeat: 0.05,
        then: AfterSubscribed::Heartbeats,
    }]);
    let addr = master(s.clone()).await;
    let mut cfg = config(&addr);
    cfg.encoding = Encoding::Json;
    let client = SchedulerClient::new(cfg);
    let mut events = client.subscribe();
    subscribed_id(next(&mut events).await);
    assert!(matches!(next(&mut events).await, Ok(ClientEvent::Event(_))));
    client.caller().call(calls::revive(vec![])).await.unwrap();
    let seen = s.lock().unwrap().seen.clone();
    assert!(
        seen.iter()
            .all(|c| c.content_type.as_deref() == Some("application/json"))
    );
}
