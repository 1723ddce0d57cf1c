//! `/v1/state`: the FrameworkID, properties and small files (stored as
//! properties `file-<name>`, at most 1024 bytes, like dcos-commons).

use axum::Json;
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, ApiState};
use crate::scheduler::command::{FILE_PROPERTY_PREFIX, MAX_FILE_BYTES};
use crate::scheduler::{Command, CommandReply};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/state/frameworkId", get(framework_id))
        .route("/v1/state/properties", get(properties))
        .route("/v1/state/properties/{key}", get(property))
        .route("/v1/state/files", get(files))
        .route("/v1/state/files/{name}", get(file).put(put_file))
}

async fn framework_id(State(state): State<ApiState>) -> Response {
    match state.current().framework_id.clone() {
        Some(id) => Json(vec![id]).into_response(),
        None => ApiError::not_found("No framework ID exists").into_response(),
    }
}

async fn properties(State(state): State<ApiState>) -> Response {
    let keys: Vec<String> = state.current().properties.keys().cloned().collect();
    Json(keys).into_response()
}

/// A property's value: its JSON if it is JSON, else its text as a JSON
/// string, else base64 of its bytes.
pub(super) fn property_json(value: &[u8]) -> serde_json::Value {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(value) {
        return json;
    }
    match std::str::from_utf8(value) {
        Ok(text) => serde_json::Value::String(text.to_string()),
        Err(_) => {
            use base64::Engine as _;
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(value))
        }
    }
}

async fn property(State(state): State<ApiState>, Path(key): Path<String>) -> Response {
    match state.current().properties.get(&key) {
        Some(value) => Json(property_json(value)).into_response(),
        None => ApiError::not_found(format!("Property {key} not found")).into_response(),
    }
}

async fn files(State(state): State<ApiState>) -> Response {
    let names: Vec<String> = state
        .current()
        .properties
        .keys()
        .filter_map(|k| k.strip_prefix(FILE_PROPERTY_PREFIX).map(str::to_string))
        .collect();
    Json(names).into_response()
}

async fn file(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    match state
        .current()
        .properties
        .get(&format!("{FILE_PROPERTY_PREFIX}{name}"))
    {
        Some(value) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            value.clone(),
        )
            .into_response(),
        None => ApiError::not_found(format!("File {name} not found")).into_response(),
    }
}

async fn put_file(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => {
            return ApiError::bad_request(format!(
                "expected a multipart/form-data body with a 'file' field: {}",
                e.body_text()
            ))
            .into_response();
        }
    };
    let mut data = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => match field.bytes().await {
                Ok(bytes) => {
                    data = Some(bytes);
                    break;
                }
                Err(e) => {
                    return ApiError::bad_request(format!(
                        "reading field 'file': {}",
                        e.body_text()
                    ))
                    .into_response();
                }
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                return ApiError::bad_request(format!(
                    "malformed multipart body: {}",
                    e.body_text()
                ))
                .into_response();
            }
        }
    }
    let Some(data) = data else {
        return ApiError::bad_request("the multipart body has no 'file' field").into_response();
    };
    if data.len() > MAX_FILE_BYTES {
        return ApiError::bad_request(format!(
            "file too large: {} bytes, the limit is {MAX_FILE_BYTES} bytes",
            data.len()
        ))
        .into_response();
    }
    match state
        .command(Command::PutFile {
            name,
            data: data.to_vec(),
        })
        .await
    {
        Ok(CommandReply::Stored) => StatusCode::OK.into_response(),
        Ok(_) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer").into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
