//! The REST API, endpoint by endpoint: dcos-commons' paths, JSON shapes and
//! status codes, 404/400 paths, malformed bodies, and bearer auth — driven
//! through the full router (REST + gRPC + auth) with a fake scheduler loop.

mod api;

use api::{CONFIG_ID, TOKEN, fake, snapshot, with_token};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use plinth::api::{ApiOptions, app};
use plinth::scheduler::{Command, PlanCommand};
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: bytes::Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

async fn send(router: &axum::Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn post(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn authed(mut r: Request<Body>, token: &str) -> Request<Body> {
    r.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    r
}

fn open() -> (axum::Router, api::Received) {
    let (state, received, _) = fake(snapshot());
    (app(state, &ApiOptions::default()), received)
}

// === plans ===

#[tokio::test]
async fn plans_list_and_show_with_dcos_codes() {
    let (r, _) = open();
    let a = send(&r, get("/v1/plans")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!(["deploy", "recovery"]));
    let a = send(&r, get("/v1/plans/deploy")).await;
    assert_eq!(a.status, 202, "a pending plan answers 202");
    let plan = a.json();
    assert_eq!(plan["status"], "PENDING");
    assert_eq!(plan["phases"][1]["steps"][1]["name"], "world-1:[server]");
    assert!(plan["errors"].as_array().unwrap().is_empty());
    let a = send(&r, get("/v1/plans/recovery")).await;
    assert_eq!(a.status, 200, "a complete plan answers 200");
    let a = send(&r, get("/v1/plans/no-such-plan")).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.message(), "Plan no-such-plan not found");
    let a = send(&r, get("/v1/plan")).await;
    assert_eq!(a.status, 202, "deprecated /v1/plan is the deploy plan");
}

#[tokio::test]
async fn plan_start_takes_json_parameters() {
    let (r, received) = open();
    let a = send(
        &r,
        post(
            "/v1/plans/deploy/start",
            r#"{"SLEEP": "5", "N": 3, "ON": true}"#,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert!(
        a.message()
            .starts_with("Received cmd: start deploy with parameters: {N=3, ON=true, SLEEP=5}")
    );
    let a = send(&r, post("/v1/plans/deploy/start", "")).await;
    assert_eq!(a.status, 200, "an empty body means no parameters");
    let Command::Plan {
        op: PlanCommand::Start(params),
        ..
    } = &received.all()[0]
    else {
        panic!()
    };
    assert_eq!(params.get("N").map(String::as_str), Some("3"));
}

#[tokio::test]
async fn plan_start_rejects_malformed_bodies_saying_what_is_wrong() {
    let (r, received) = open();
    let a = send(&r, post("/v1/plans/deploy/start", "{not json")).await;
    assert_eq!(a.status, 400);
    assert!(
        a.message().starts_with("malformed JSON body"),
        "{}",
        a.message()
    );
    let a = send(&r, post("/v1/plans/deploy/start", r#"["A=1"]"#)).await;
    assert_eq!(a.status, 400);
    assert!(a.message().contains("JSON object"), "{}", a.message());
    let a = send(
        &r,
        post("/v1/plans/deploy/start", r#"{"A": {"nested": 1}}"#),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(a.message().contains("parameter A"), "{}", a.message());
    assert!(received.all().is_empty(), "nothing reached the scheduler");
    let a = send(&r, post("/v1/plans/deploy/start", r#"{"1BAD": "x"}"#)).await;
    assert_eq!(
        a.status, 400,
        "the plan refuses names that are not env names"
    );
    assert!(a.message().contains("1BAD"));
    let a = send(&r, post("/v1/plans/nope/start", "{}")).await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn plan_operations_by_phase_and_step() {
    let (r, _) = open();
    let a = send(&r, post("/v1/plans/deploy/interrupt?phase=world", "")).await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::OK, "Received cmd: interrupt".to_string())
    );
    let a = send(&r, post("/v1/plans/deploy/interrupt?phase=world", "")).await;
    assert_eq!(a.status, 208, "already interrupted");
    let a = send(&r, post("/v1/plans/deploy/continue?phase=world", "")).await;
    assert_eq!(a.status, 200);
    let a = send(&r, post("/v1/plans/deploy/continue?phase=nope", "")).await;
    assert_eq!(a.status, 404);
    assert!(
        a.message().contains("Phase nope not found"),
        "{}",
        a.message()
    );
    let a = send(
        &r,
        post(
            "/v1/plans/deploy/forceComplete?phase=world&step=world-0:[server]",
            "",
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.message());
    let a = send(
        &r,
        post("/v1/plans/deploy/forceComplete?phase=world&step=nope", ""),
    )
    .await;
    assert_eq!(a.status, 404);
    let a = send(
        &r,
        post("/v1/plans/deploy/forceComplete?step=world-0:[server]", ""),
    )
    .await;
    assert_eq!(a.status, 400, "a step needs its phase");
    let a = send(
        &r,
        post(
            "/v1/plans/deploy/restart?phase=world&step=world-0:[server]",
            "",
        ),
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(
        a.message()
            .starts_with("Received cmd: restart for Plan: deploy, Phase: world")
    );
    let a = send(&r, post("/v1/plans/deploy/stop", "")).await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::OK, "Received cmd: stop".to_string())
    );
    let a = send(&r, post("/v1/plan/continue", "")).await;
    assert_eq!(a.status, 200, "deprecated /v1/plan/continue");
    let a = send(&r, post("/v1/plan/explode", "")).await;
    assert_eq!(a.status, 404);
    let a = send(&r, post("/v1/plans/deploy/interrupt?phase=", "")).await;
    assert_eq!(a.status, 200, "an empty phase means the whole plan");
}

// === pods ===

#[tokio::test]
async fn pods_list_status_and_info() {
    let (r, _) = open();
    let a = send(&r, get("/v1/pod")).await;
    assert_eq!(a.json(), json!(["hello-0", "world-0", "world-1"]));
    let a = send(&r, get("/v1/pod/status")).await;
    let v = a.json();
    assert_eq!(v["service"], "hello-world");
    assert_eq!(v["pods"][1]["name"], "world");
    assert_eq!(v["pods"][1]["instances"][1]["name"], "world-1");
    assert_eq!(
        v["pods"][0]["instances"][0]["tasks"][0],
        json!({"id": "hello-world__hello-0-server__1", "name": "hello-0-server", "status": "RUNNING"})
    );
    let a = send(&r, get("/v1/pod/world-0/status")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["name"], "world-0");
    let a = send(&r, get("/v1/pod/hello-0/info")).await;
    assert_eq!(a.status, 200);
    let info = a.json();
    assert_eq!(info[0]["info"]["name"], "hello-0-server");
    assert_eq!(info[0]["status"]["state"], "TASK_RUNNING");
    for path in [
        "/v1/pod/nope-7/info",
        "/v1/pod/nope-7/status",
        "/v1/pod/hello-1/status",
    ] {
        let a = send(&r, get(path)).await;
        assert_eq!(a.status, 404, "{path}");
        assert!(a.message().starts_with("Pod "), "{path}: {}", a.message());
    }
}

#[tokio::test]
async fn pod_restart_and_replace_go_through_the_scheduler() {
    let (r, received) = open();
    let a = send(&r, post("/v1/pod/hello-0/restart", "")).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json(),
        json!({"pod": "hello-0", "tasks": ["hello-0-server"]})
    );
    let a = send(&r, post("/v1/pod/world-1/replace", "")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["pod"], "world-1");
    let a = send(&r, post("/v1/pod/nope-7/restart", "")).await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::NOT_FOUND, "Pod nope-7 not found".to_string())
    );
    assert_eq!(
        received.all(),
        [
            Command::RestartPod("hello-0".into()),
            Command::ReplacePod("world-1".into()),
            Command::RestartPod("nope-7".into())
        ]
    );
}

// === endpoints, configurations ===

#[tokio::test]
async fn endpoints_list_the_advertised_ports() {
    let (r, _) = open();
    assert_eq!(send(&r, get("/v1/endpoints")).await.json(), json!(["web"]));
    let v = send(&r, get("/v1/endpoints/web")).await.json();
    assert_eq!(v["address"][0], "host-1:31000");
    assert_eq!(
        v["dns"][1],
        "world-0-server.hello-world.autoip.dcos.thisdcos.directory:31001"
    );
    assert_eq!(send(&r, get("/v1/endpoints/nope")).await.status, 404);
}

#[tokio::test]
async fn configurations_by_id_target_and_target_id() {
    let (r, _) = open();
    assert_eq!(
        send(&r, get("/v1/configurations")).await.json(),
        json!([CONFIG_ID])
    );
    assert_eq!(
        send(&r, get("/v1/configurations/targetId")).await.json(),
        json!([CONFIG_ID])
    );
    let target = send(&r, get("/v1/configurations/target")).await;
    assert_eq!(target.status, 200);
    assert_eq!(target.json()["name"], "hello-world");
    let one = send(&r, get(&format!("/v1/configurations/{CONFIG_ID}"))).await;
    assert_eq!(one.json(), target.json());
    let a = send(&r, get("/v1/configurations/not-a-uuid")).await;
    assert_eq!(a.status, 400);
    assert!(a.message().contains("UUID"));
    let a = send(
        &r,
        get("/v1/configurations/00000000-0000-0000-0000-000000000000"),
    )
    .await;
    assert_eq!(a.status, 404);
}

// === state ===

#[tokio::test]
async fn state_framework_id_and_properties() {
    let (r, _) = open();
    assert_eq!(
        send(&r, get("/v1/state/frameworkId")).await.json(),
        json!(["fw-1234"])
    );
    let keys = send(&r, get("/v1/state/properties")).await.json();
    assert_eq!(
        keys,
        json!(["file-notes.txt", "last-completed-update-type"])
    );
    let a = send(&r, get("/v1/state/properties/last-completed-update-type")).await;
    assert_eq!(a.json(), json!("DEPLOY"));
    assert_eq!(send(&r, get("/v1/state/properties/nope")).await.status, 404);

    let mut unregistered = snapshot();
    unregistered.framework_id = None;
    let (state, _, _) = fake(unregistered);
    let a = send(
        &app(state, &ApiOptions::default()),
        get("/v1/state/frameworkId"),
    )
    .await;
    assert_eq!(a.status, 404);
}

fn multipart(path: &str, field: &str, content: &[u8]) -> Request<Body> {
    let boundary = "XyZzY";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::put(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn state_files_upload_and_download() {
    let (r, received) = open();
    let a = send(
        &r,
        multipart("/v1/state/files/app.conf", "file", b"key=value\n"),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        received.all(),
        [Command::PutFile {
            name: "app.conf".into(),
            data: b"key=value\n".to_vec()
        }]
    );
    let a = send(&r, get("/v1/state/files/app.conf")).await;
    assert_eq!(a.body.as_ref(), b"key=value\n");
    let names = send(&r, get("/v1/state/files")).await.json();
    assert_eq!(names, json!(["app.conf", "notes.txt"]));
    assert_eq!(send(&r, get("/v1/state/files/nope")).await.status, 404);

    let a = send(&r, multipart("/v1/state/files/big", "file", &[b'x'; 1025])).await;
    assert_eq!(a.status, 400);
    assert!(a.message().contains("1024"), "{}", a.message());
    let a = send(&r, multipart("/v1/state/files/x", "other", b"abc")).await;
    assert_eq!(a.status, 400);
    assert!(a.message().contains("'file'"), "{}", a.message());
    let a = send(
        &r,
        Request::put("/v1/state/files/x")
            .body(Body::from("raw"))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 400, "not multipart");
    assert_eq!(
        received.all().len(),
        1,
        "refused uploads never reach the scheduler"
    );
}

// === health, debug, metrics ===

#[tokio::test]
async fn health_codes_follow_dcos_commons() {
    let (r, _) = open();
    let a = send(&r, get("/v1/health")).await;
    assert_eq!(a.status.as_u16(), 204, "deploy pending");
    assert_eq!(a.json(), json!({"value": 204}));
    let a = send(&r, get("/v1/health?verbose=true")).await;
    assert!(
        a.json()["reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );

    let mut done = snapshot();
    for plan in &mut done.plans {
        let _ = plan.force_complete(None, None);
    }
    let (state, _, _) = fake(done.clone());
    assert_eq!(
        send(&app(state, &ApiOptions::default()), get("/v1/health"))
            .await
            .status,
        200
    );

    let mut waiting = snapshot();
    let _ = waiting.plans[0].interrupt(None);
    let (state, _, _) = fake(waiting);
    assert_eq!(
        send(&app(state, &ApiOptions::default()), get("/v1/health"))
            .await
            .status
            .as_u16(),
        207
    );

    let mut initializing = done;
    initializing.framework_id = None;
    let (state, _, _) = fake(initializing);
    assert_eq!(
        send(&app(state, &ApiOptions::default()), get("/v1/health"))
            .await
            .status
            .as_u16(),
        318
    );
}

#[tokio::test]
async fn debug_offers_and_metrics() {
    let (r, _) = open();
    let v = send(&r, get("/v2/debug/offers")).await.json();
    assert_eq!(v[0]["pod_instance"], "world-1");
    assert_eq!(v[0]["stages"][0]["stage"], "resources");
    assert_eq!(
        v[0]["stages"][0]["message"],
        "insufficient cpus: needed 0.6, offered 0.1"
    );
    let a = send(&r, get("/v1/metrics/prometheus")).await;
    assert_eq!(a.status, 200);
    let text = String::from_utf8_lossy(&a.body).to_string();
    for metric in [
        "plinth_offers_received_total 0",
        "plinth_offers_declined_total",
        "plinth_plan_steps{plan=\"deploy\",status=\"PENDING\"} 3",
    ] {
        assert!(text.contains(metric), "{metric} missing in:\n{text}");
    }
    let v = send(&r, get("/v1/metrics")).await.json();
    assert_eq!(v["metrics"]["plinth_offers_accepted_total"], 0.0);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let (r, _) = open();
    let a = send(&r, get("/v1/nothing")).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.message(), "no such endpoint: /v1/nothing");
    let a = send(
        &r,
        Request::delete("/v1/plans").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.status, 405);
    assert!(a.message().contains("DELETE"));
}

// === auth ===

#[tokio::test]
async fn mutations_need_the_bearer_token_and_change_nothing_without_it() {
    let (state, received, _) = fake(snapshot());
    let r = app(state, &with_token(false));
    let a = send(&r, post("/v1/pod/hello-0/restart", "")).await;
    assert_eq!(a.status, 401);
    assert!(a.message().contains("missing bearer token"));
    assert_eq!(a.headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    let a = send(&r, authed(post("/v1/pod/hello-0/restart", ""), "wrong")).await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::UNAUTHORIZED, "invalid bearer token".to_string())
    );
    assert!(!String::from_utf8_lossy(&a.body).contains(TOKEN));
    let a = send(&r, authed(post("/v1/plans/deploy/start", "{bad"), "wrong")).await;
    assert_eq!(a.status, 401, "auth comes before body validation");
    assert_eq!(
        send(&r, multipart("/v1/state/files/x", "file", b"1"))
            .await
            .status,
        401
    );
    assert!(received.all().is_empty(), "nothing reached the scheduler");
    let a = send(&r, authed(post("/v1/pod/hello-0/restart", ""), TOKEN)).await;
    assert_eq!(a.status, 200);
    assert_eq!(received.all().len(), 1);
    // Reads stay open unless --api-auth-reads.
    assert_eq!(send(&r, get("/v1/plans")).await.status, 200);
}

#[tokio::test]
async fn auth_reads_protects_reads_too() {
    let (state, _, _) = fake(snapshot());
    let r = app(state, &with_token(true));
    assert_eq!(send(&r, get("/v1/plans")).await.status, 401);
    assert_eq!(send(&r, get("/v1/health")).await.status, 401);
    assert_eq!(send(&r, authed(get("/v1/plans"), TOKEN)).await.status, 200);
}

#[tokio::test]
async fn grpc_mutations_need_the_token_too() {
    let (state, received, _) = fake(snapshot());
    let r = app(state, &with_token(false));
    // An empty PodRequest frame: compression flag 0, length 0.
    let frame = vec![0u8, 0, 0, 0, 0];
    let grpc = |path: &str, token: Option<&str>| {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/grpc")
            .header("te", "trailers");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b.body(Body::from(frame.clone())).unwrap()
    };
    let a = send(&r, grpc("/plinth.operator.v1.PodService/RestartPod", None)).await;
    assert_eq!(
        a.headers.get("grpc-status").map(|v| v.to_str().unwrap()),
        Some("16"),
        "UNAUTHENTICATED"
    );
    let a = send(
        &r,
        grpc("/plinth.operator.v1.PodService/RestartPod", Some("wrong")),
    )
    .await;
    assert_eq!(
        a.headers.get("grpc-status").map(|v| v.to_str().unwrap()),
        Some("16")
    );
    assert!(received.all().is_empty());
    // A read is served without a token.
    let a = send(&r, grpc("/plinth.operator.v1.PodService/ListPods", None)).await;
    assert_eq!(a.status, 200);
    assert!(a.headers.get("grpc-status").is_none_or(|v| v == "0"));
}
