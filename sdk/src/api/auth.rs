//! Bearer-token auth for REST and gRPC alike: one layer in front of the
//! merged router.
//!
//! With a token configured, every mutating call needs
//! `Authorization: Bearer <token>` — REST methods other than GET/HEAD/OPTIONS
//! and the gRPC methods that change something (all but those named like
//! reads, [`READ_ONLY_GRPC_PREFIXES`]); with
//! `auth_reads` every call does. A missing or wrong token is answered before
//! any handler runs, so nothing changes: REST gets 401 with a JSON error,
//! gRPC gets `UNAUTHENTICATED`. The token is compared in constant time and
//! never logged ([`ApiToken`]'s `Debug` is redacted).

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::{ApiOptions, json_error};

/// Name prefixes of the gRPC methods that only read. Every other method
/// of our services counts as mutating, so a new operation is protected by
/// default.
pub const READ_ONLY_GRPC_PREFIXES: &[&str] = &["List", "Get", "Watch"];

/// The API's bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(Arc<str>);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// Why a token could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read.
    #[error("cannot read the API token file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no token.
    #[error("the API token file {0} is empty")]
    Empty(String),
    /// The token has characters a header cannot carry.
    #[error("the API token in {0} must be printable ASCII without spaces")]
    Invalid(String),
}

impl ApiToken {
    /// A token from its text (surrounding whitespace dropped).
    ///
    /// # Errors
    /// Empty, or not printable ASCII without spaces.
    pub fn new(text: &str) -> Result<Self, TokenError> {
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty("<given>".into()));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Invalid("<given>".into()));
        }
        Ok(Self(Arc::from(token)))
    }

    /// Reads a token file (one line; surrounding whitespace dropped).
    ///
    /// # Errors
    /// The file cannot be read, is empty or holds an invalid token.
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::new(&text).map_err(|e| match e {
            TokenError::Empty(_) => TokenError::Empty(shown),
            TokenError::Invalid(_) => TokenError::Invalid(shown),
            other => other,
        })
    }

    /// Whether `presented` is this token (constant time in its length).
    #[must_use]
    pub fn matches(&self, presented: &str) -> bool {
        let a = self.0.as_bytes();
        let b = presented.as_bytes();
        let mut diff = a.len() ^ b.len();
        for (i, x) in a.iter().enumerate() {
            diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
        }
        diff == 0
    }

    /// The token text, for clients that must send it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
struct AuthConfig {
    token: ApiToken,
    reads: bool,
}

/// Wraps `app` in the auth layer when `options` has a token.
pub fn layer(app: Router, options: &ApiOptions) -> Router {
    match &options.token {
        Some(token) => app.layer(middleware::from_fn_with_state(
            AuthConfig {
                token: token.clone(),
                reads: options.auth_reads,
            },
            check,
        )),
        None => app,
    }
}

fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Whether `request` changes something.
fn is_mutating(request: &Request, grpc: bool) -> bool {
    if grpc {
        let path = request.uri().path();
        return path.starts_with("/plinth.")
            && path
                .rsplit('/')
                .next()
                .is_some_and(|m| !READ_ONLY_GRPC_PREFIXES.iter().any(|p| m.starts_with(p)));
    }
    !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    )
}

async fn check(State(config): State<AuthConfig>, request: Request, next: Next) -> Response {
    let grpc = is_grpc(&request);
    if !config.reads && !is_mutating(&request, grpc) {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    let why = match presented {
        Some(token) if config.token.matches(token.trim()) => return next.run(request).await,
        Some(_) => "invalid bearer token",
        None => "missing bearer token: send 'Authorization: Bearer <token>'",
    };
    tracing::warn!(method = %request.method(), path = %request.uri().path(), reason = why, "API call refused");
    if grpc {
        return tonic::Status::unauthenticated(why).into_http();
    }
    let mut response = json_error(StatusCode::UNAUTHORIZED, why);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response.into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    fn grpc(method: &str) -> Request {
        Request::post(format!("/plinth.operator.v1.PodService/{method}"))
            .header(header::CONTENT_TYPE, "application/grpc")
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn grpc_methods_are_mutating_unless_named_like_reads() {
        for read in ["ListPods", "GetPodInfo", "WatchPlan"] {
            assert!(!is_mutating(&grpc(read), true), "{read}");
        }
        // Known operations, and any operation added later, need the token.
        for write in ["RestartPod", "PausePod", "DecommissionPod"] {
            assert!(is_mutating(&grpc(write), true), "{write}");
        }
        let reflection = Request::post("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
            .body(Body::empty())
            .unwrap();
        assert!(!is_mutating(&reflection, true));
    }
}
