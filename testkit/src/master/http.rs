//! `POST /api/v1/scheduler` with the status codes and messages of
//! `Master::Http::scheduler` (PROTOCOL.md §1.3), in Mesos' order:
//! 401 (authentication), 307/503 (leadership), 405, 400/415 (content type),
//! 400 (body, call validation), then for SUBSCRIBE 406 and the stream-id
//! rule, and for other calls 400 "Framework cannot be found", 403 "Framework
//! is not subscribed", 400 stream id, 501 UNKNOWN.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use http::header::{ACCEPT, ALLOW, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, StatusCode};
use plinth_proto::codec::{APPLICATION_JSON, APPLICATION_PROTOBUF, DecodeError, Encoding};
use plinth_proto::json::JsonError;
use plinth_proto::v1::scheduler::{Call, call};
use tokio::sync::mpsc;

use super::{Shared, control, stream};
use crate::cluster::{CallResult, ClusterError, error as error_event};
use crate::faults::Leader;

/// The stream id header.
pub(crate) const MESOS_STREAM_ID: &str = "Mesos-Stream-Id";

/// All routes of the master.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/scheduler", any(scheduler))
        .route("/version", get(control::version))
        .route("/master/state", get(control::state))
        .route("/master/state.json", get(control::state))
        .route("/state", get(control::state))
        .route("/state.json", get(control::state))
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/testkit/faults", post(control::faults))
        .route("/testkit/stats", get(control::stats))
        .with_state(shared)
}

pub(crate) fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.into(),
    )
        .into_response()
}

async fn scheduler(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let principal = match authenticate(&shared, &headers) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    match shared.leader() {
        Leader::Leading => {}
        Leader::Redirect { url } => {
            let authority = url
                .split("://")
                .nth(1)
                .unwrap_or(&url)
                .trim_end_matches('/')
                .to_owned();
            let location = format!("//{authority}/api/v1/scheduler");
            return (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, location)]).into_response();
        }
        Leader::None => return text(StatusCode::SERVICE_UNAVAILABLE, "No leader elected"),
    }
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(ALLOW, "POST")],
            format!("Expecting one of {{ 'POST' }}, but received '{method}'"),
        )
            .into_response();
    }
    let Some(content_type) = headers.get(CONTENT_TYPE) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Expecting 'Content-Type' to be present",
        );
    };
    let Some(encoding) = content_type
        .to_str()
        .ok()
        .and_then(Encoding::from_content_type)
    else {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Expecting 'Content-Type' of {APPLICATION_JSON} or {APPLICATION_PROTOBUF}"),
        );
    };
    let bytes = match read_body(&shared, body).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let call: Call = match encoding.decode(&bytes) {
        Ok(c) => c,
        Err(e) => return text(StatusCode::BAD_REQUEST, decode_message(encoding, &e)),
    };
    if let Err(message) = validate_call(&call, principal.as_deref()) {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Failed to validate scheduler::Call: {message}"),
        );
    }
    if call.r#type == Some(call::Type::Subscribe as i32) {
        return subscribe(&shared, &headers, call, principal);
    }
    let Some(framework_id) = call.framework_id.as_ref().map(|f| f.value.clone()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Expecting 'framework_id' to be present",
        );
    };
    let stream_id = headers
        .get(MESOS_STREAM_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let result = shared.with_cluster(|c, now| {
        c.check_caller(&framework_id, stream_id.as_deref(), principal.as_deref())?;
        c.handle_call(&framework_id, &call, now)
    });
    match result {
        Ok(CallResult::Accepted) => StatusCode::ACCEPTED.into_response(),
        Ok(CallResult::Ok) => StatusCode::OK.into_response(),
        Err(e @ ClusterError::NotSubscribed) => text(StatusCode::FORBIDDEN, e.to_string()),
        Err(e @ ClusterError::NotImplemented(_)) => {
            text(StatusCode::NOT_IMPLEMENTED, e.to_string())
        }
        Err(e) => text(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// HTTP Basic framework authentication, when credentials are configured.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Option<String>, Box<Response>> {
    let credentials = &shared.config.credentials;
    if credentials.is_empty() {
        return Ok(None);
    }
    let unauthorized = || {
        Box::new(
            (
                StatusCode::UNAUTHORIZED,
                [(WWW_AUTHENTICATE, "Basic realm=\"mesos-master-scheduler\"")],
                "",
            )
                .into_response(),
        )
    };
    let value = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthorized)?;
    let encoded = value.strip_prefix("Basic ").ok_or_else(unauthorized)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .ok_or_else(unauthorized)?;
    let (principal, secret) = decoded.split_once(':').ok_or_else(unauthorized)?;
    match credentials.get(principal) {
        Some(expected) if expected == secret => Ok(Some(principal.to_owned())),
        _ => Err(unauthorized()),
    }
}

async fn read_body(shared: &Shared, body: Body) -> Result<bytes::Bytes, Response> {
    let limit = shared.config.max_body_bytes;
    match tokio::time::timeout(
        shared.config.request_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await
    {
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            "Timed out reading the request body",
        )),
        Ok(Err(e)) => Err(text(
            StatusCode::BAD_REQUEST,
            format!("Failed to read the request body (limit {limit} bytes): {e}"),
        )),
        Ok(Ok(b)) => Ok(b),
    }
}

fn decode_message(encoding: Encoding, error: &DecodeError) -> String {
    match (encoding, error) {
        (Encoding::Json, DecodeError::Json(e @ JsonError::Syntax { .. })) => {
            format!("Failed to parse body into JSON: {e}")
        }
        (Encoding::Json, e) => format!("Failed to convert JSON into Call protobuf: {e}"),
        (Encoding::Protobuf, DecodeError::Json(e)) => {
            format!("Failed to parse body into Call protobuf: {e}")
        }
        (Encoding::Protobuf, _) => "Failed to parse body into Call protobuf".to_owned(),
    }
}

fn non_empty(id: Option<&plinth_proto::v1::FrameworkId>) -> Option<&str> {
    id.map(|f| f.value.as_str()).filter(|v| !v.is_empty())
}

/// `validation::scheduler::call::validate`.
pub(crate) fn validate_call(call: &Call, principal: Option<&str>) -> Result<(), String> {
    let Some(kind) = call.r#type.and_then(|t| call::Type::try_from(t).ok()) else {
        return Err("Expecting 'type' to be present".into());
    };
    if kind == call::Type::Subscribe {
        let Some(subscribe) = &call.subscribe else {
            return Err("Expecting 'subscribe' to be present".into());
        };
        let info = &subscribe.framework_info;
        if non_empty(info.id.as_ref()) != non_empty(call.framework_id.as_ref()) {
            return Err("'framework_id' differs from 'subscribe.framework_info.id'".into());
        }
        if let (Some(p), Some(fp)) = (principal, info.principal.as_deref())
            && p != fp
        {
            return Err(format!(
                "Authenticated principal '{p}' does not match principal '{fp}' set in `FrameworkInfo`"
            ));
        }
        return Ok(());
    }
    if non_empty(call.framework_id.as_ref()).is_none() {
        return Err("Expecting 'framework_id' to be present".into());
    }
    let present = |name: &str, yes: bool| {
        if yes {
            Ok(())
        } else {
            Err(format!("Expecting '{name}' to be present"))
        }
    };
    match kind {
        call::Type::Accept => present("accept", call.accept.is_some()),
        call::Type::Decline => present("decline", call.decline.is_some()),
        call::Type::AcceptInverseOffers => present(
            "accept_inverse_offers",
            call.accept_inverse_offers.is_some(),
        ),
        call::Type::DeclineInverseOffers => present(
            "decline_inverse_offers",
            call.decline_inverse_offers.is_some(),
        ),
        call::Type::Kill => present("kill", call.kill.is_some()),
        call::Type::Shutdown => present("shutdown", call.shutdown.is_some()),
        call::Type::Acknowledge => {
            let Some(ack) = &call.acknowledge else {
                return Err("Expecting 'acknowledge' to be present".into());
            };
            if ack.uuid.len() != 16 {
                return Err(format!(
                    "Not a valid UUID: 'uuid' has {} bytes, expected 16",
                    ack.uuid.len()
                ));
            }
            Ok(())
        }
        call::Type::AcknowledgeOperationStatus => {
            let Some(ack) = &call.acknowledge_operation_status else {
                return Err("Expecting 'acknowledge_operation_status' to be present".into());
            };
            if ack.agent_id.is_none() {
                return Err("Expecting 'agent_id' to be present".into());
            }
            if ack.uuid.len() != 16 {
                return Err("Not a valid UUID".into());
            }
            Ok(())
        }
        call::Type::Reconcile => present("reconcile", call.reconcile.is_some()),
        call::Type::ReconcileOperations => {
            present("reconcile_operations", call.reconcile_operations.is_some())
        }
        call::Type::Message => present("message", call.message.is_some()),
        call::Type::Request => present("request", call.request.is_some()),
        call::Type::UpdateFramework => {
            let Some(update) = &call.update_framework else {
                return Err("Expecting 'update_framework' to be present".into());
            };
            if non_empty(update.framework_info.id.as_ref()) != non_empty(call.framework_id.as_ref())
            {
                return Err(
                    "'framework_id' differs from 'update_framework.framework_info.id'".into(),
                );
            }
            Ok(())
        }
        call::Type::Teardown
        | call::Type::Revive
        | call::Type::Suppress
        | call::Type::Unknown
        | call::Type::Subscribe => Ok(()),
    }
}

/// Whether the `Accept` headers (all of them, comma lists, q-values) accept
/// `media`. No header accepts everything.
pub(crate) fn accepts(headers: &HeaderMap, media: &str) -> bool {
    let values: Vec<&str> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, f64)> = None;
    for range in values.iter().flat_map(|v| v.split(',')) {
        let mut parts = range.split(';').map(str::trim);
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .filter_map(|v| v.trim().parse::<f64>().ok())
            .next()
            .unwrap_or(1.0);
        let specificity = if name == media {
            3
        } else if name == format!("{kind}/*") {
            2
        } else if name == "*/*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.is_some_and(|(_, q)| q > 0.0)
}

fn subscribe(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    mut call: Call,
    principal: Option<String>,
) -> Response {
    let encoding = if accepts(headers, APPLICATION_JSON) {
        Encoding::Json
    } else if accepts(headers, APPLICATION_PROTOBUF) {
        Encoding::Protobuf
    } else {
        return text(
            StatusCode::NOT_ACCEPTABLE,
            format!("Expecting 'Accept' to allow '{APPLICATION_PROTOBUF}' or '{APPLICATION_JSON}'"),
        );
    };
    if headers.contains_key(MESOS_STREAM_ID) {
        return text(
            StatusCode::BAD_REQUEST,
            "Subscribe calls should not include the 'Mesos-Stream-Id' header",
        );
    }
    let Some(mut subscribe) = call.subscribe.take() else {
        return text(
            StatusCode::BAD_REQUEST,
            "Expecting 'subscribe' to be present",
        );
    };
    if subscribe.framework_info.principal.is_none() {
        subscribe.framework_info.principal = principal;
    }
    let (tx, rx) = mpsc::channel(shared.config.stream_buffer.max(16));
    let outcome = {
        let now = super::now();
        let mut inner = shared.lock();
        let result = inner.cluster.subscribe(&subscribe, now);
        if let Ok(ok) = &result {
            inner.streams.insert(ok.stream_id.clone(), tx.clone());
        }
        shared.flush(&mut inner, now);
        result
    };
    shared.notify.notify_one();
    let interval = shared.config.heartbeat_interval;
    let (stream_id, body) = match outcome {
        Ok(ok) => {
            let body = stream::body(shared, Some(ok.stream_id.clone()), rx, encoding, interval);
            (ok.stream_id, Body::from_stream(body))
        }
        Err(message) => {
            tracing::info!(%message, "SUBSCRIBE refused with an ERROR event");
            // An ERROR event and the end of the stream; the id is never registered.
            let _ = tx.try_send(Box::new(error_event(&message)));
            drop(tx);
            let body = stream::body(shared, None, rx, encoding, interval);
            (uuid::Uuid::new_v4().to_string(), Body::from_stream(body))
        }
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, encoding.content_type())
        .header(MESOS_STREAM_ID, stream_id)
        .header(http::header::CACHE_CONTROL, "no-cache")
        .body(body)
        .unwrap_or_else(|_| {
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not build the response",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_accept(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn accept_negotiation_follows_media_ranges() {
        assert!(accepts(&HeaderMap::new(), APPLICATION_JSON));
        assert!(!accepts(
            &with_accept(&["application/x-protobuf"]),
            APPLICATION_JSON
        ));
        assert!(accepts(
            &with_accept(&["application/x-protobuf"]),
            APPLICATION_PROTOBUF
        ));
        assert!(accepts(
            &with_accept(&["text/html", "application/*"]),
            APPLICATION_JSON
        ));
        assert!(!accepts(
            &with_accept(&["*/*", "application/json;q=0"]),
            APPLICATION_JSON
        ));
        assert!(accepts(
            &with_accept(&["application/json;q=0.5, text/plain"]),
            APPLICATION_JSON
        ));
        assert!(!accepts(
            &with_accept(&["text/plain"]),
            APPLICATION_PROTOBUF
        ));
    }

    #[test]
    fn calls_are_validated_like_mesos() {
        let mut call = Call::default();
        assert_eq!(
            validate_call(&call, None).unwrap_err(),
            "Expecting 'type' to be present"
        );
        call.r#type = Some(call::Type::Kill as i32);
        assert_eq!(
            validate_call(&call, None).unwrap_err(),
            "Expecting 'framework_id' to be present"
        );
        call.framework_id = Some(plinth_proto::v1::FrameworkId { value: "f".into() });
        assert_eq!(
            validate_call(&call, None).unwrap_err(),
            "Expecting 'kill' to be present"
        );
        call.r#type = Some(call::Type::Acknowledge as i32);
        call.acknowledge = Some(call::Acknowledge {
            uuid: vec![1, 2, 3],
            ..Default::default()
        });
        assert!(
            validate_call(&call, None)
                .unwrap_err()
                .contains("Not a valid UUID")
        );
        call.r#type = Some(call::Type::Revive as i32);
        assert!(validate_call(&call, None).is_ok());
    }
}
