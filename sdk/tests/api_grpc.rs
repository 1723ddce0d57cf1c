//! The gRPC face of the operator API on a real listener: the same port
//! serves REST and gRPC, reflection lists the Plinth services, reads and
//! errors map to gRPC codes, and mutations need the bearer token.

mod api;

use std::time::Duration;

use api::{TOKEN, fake, snapshot, with_token};
use plinth::api::grpc::proto::plan_service_client::PlanServiceClient;
use plinth::api::grpc::proto::pod_service_client::PodServiceClient;
use plinth::api::grpc::proto::scheduler_service_client::SchedulerServiceClient;
use plinth::api::grpc::proto::{self, GetPlanRequest, PlanTarget, PodRequest};
use plinth::api::{ApiOptions, ApiServer, ApiState, TlsFiles};
use tokio_stream::StreamExt as _;
use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

async fn serve(state: ApiState, options: &ApiOptions) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = ApiServer::new(state, options).unwrap();
    tokio::spawn(server.serve(listener, std::future::pending()));
    format!("http://{addr}")
}

#[tokio::test]
async fn reflection_lists_the_plinth_services() {
    let (state, _, _) = fake(snapshot());
    let url = serve(state, &ApiOptions::default()).await;
    let channel = tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("{answer:?}")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in [
        "plinth.operator.v1.PlanService",
        "plinth.operator.v1.PodService",
        "plinth.operator.v1.SchedulerService",
    ] {
        assert!(
            names.iter().any(|n| n == service),
            "{service} missing in {names:?}"
        );
    }
}

#[tokio::test]
async fn reads_and_errors_map_to_grpc_codes_on_the_rest_port() {
    let (state, _, _) = fake(snapshot());
    let url = serve(state, &ApiOptions::default()).await;
    let mut plans = PlanServiceClient::connect(url.clone()).await.unwrap();
    let plan = plans
        .get_plan(GetPlanRequest {
            plan: "deploy".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plan.status, "PENDING");
    assert_eq!(plan.phases[1].steps[0].name, "world-0:[server]");
    let err = plans
        .get_plan(GetPlanRequest {
            plan: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert_eq!(err.message(), "Plan nope not found");
    let err = plans
        .force_complete_plan(PlanTarget {
            plan: "deploy".into(),
            phase: String::new(),
            step: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::InvalidArgument,
        "a step needs its phase"
    );
    let mut pods = PodServiceClient::connect(url.clone()).await.unwrap();
    let status = pods
        .get_pod_status(PodRequest {
            name: "world-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.tasks[0].status, "RUNNING");
    let info = pods
        .get_pod_info(PodRequest {
            name: "hello-0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(info.tasks[0].info_json.contains("hello-0-server"));
    assert_eq!(
        pods.get_pod_info(PodRequest { name: "x-1".into() })
            .await
            .unwrap_err()
            .code(),
        tonic::Code::NotFound
    );
    let mut info = SchedulerServiceClient::connect(url.clone()).await.unwrap();
    let health = info
        .get_health(proto::GetHealthRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.code, 204);
    let fw = info
        .get_framework_id(proto::GetFrameworkIdRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fw.framework_id, "fw-1234");
    let target = info
        .get_target_configuration(proto::GetTargetConfigurationRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(target.json.contains("hello-world"));
    let outcomes = info
        .get_offer_outcomes(proto::GetOfferOutcomesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcomes.outcomes[0].stages[0].stage, "resources");
    // The same port still answers REST.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = client
        .get(format!("{url}/v1/plans").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn grpc_commands_need_the_token_and_run_with_it() {
    let (state, received, _) = fake(snapshot());
    let url = serve(state, &with_token(false)).await;
    let mut pods = PodServiceClient::connect(url.clone()).await.unwrap();
    let err = pods
        .restart_pod(PodRequest {
            name: "hello-0".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    assert!(received.all().is_empty());
    let mut request = tonic::Request::new(PodRequest {
        name: "hello-0".into(),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let answer = pods.restart_pod(request).await.unwrap().into_inner();
    assert_eq!(answer.tasks, ["hello-0-server"]);
    let mut plans = PlanServiceClient::connect(url).await.unwrap();
    let mut request = tonic::Request::new(PlanTarget {
        plan: "deploy".into(),
        phase: "world".into(),
        step: String::new(),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let answer = plans.interrupt_plan(request).await.unwrap().into_inner();
    assert!(answer.applied);
    assert_eq!(answer.message, "Received cmd: interrupt");
    assert_eq!(received.all().len(), 2);
}

#[tokio::test]
async fn watch_plan_sends_the_plan_then_follows_published_snapshots() {
    let (state, _, publish) = fake(snapshot());
    let url = serve(state, &ApiOptions::default()).await;
    let mut plans = PlanServiceClient::connect(url).await.unwrap();
    let mut stream = plans
        .watch_plan(proto::WatchPlanRequest {
            plan: "deploy".into(),
            until_done: true,
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.plan_status, "PENDING");
    let mut done = (**publish.borrow()).clone();
    let _ = done.plans[0].force_complete(None, None);
    done.version += 1;
    publish.send_replace(std::sync::Arc::new(done));
    let last = tokio::time::timeout(Duration::from_secs(5), async {
        let mut last = None;
        while let Some(event) = stream.message().await.unwrap() {
            last = Some(event);
        }
        last
    })
    .await
    .expect("the stream ends once the plan is complete")
    .expect("an event");
    assert_eq!(last.plan_status, "COMPLETE");
    let err = plans
        .watch_plan(proto::WatchPlanRequest {
            plan: "nope".into(),
            until_done: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[test]
fn missing_tls_files_are_reported_by_name() {
    let (state_tx, state_rx) = tokio::sync::watch::channel(std::sync::Arc::new(snapshot()));
    drop(state_tx);
    let options = ApiOptions {
        tls: Some(TlsFiles {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        }),
        ..ApiOptions::default()
    };
    let err = ApiServer::new(ApiState::new(state_rx), &options).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
}
