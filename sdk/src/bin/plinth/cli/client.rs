//! The HTTP client of the operator CLI: hyper-util's client (HTTP/1.1) with a
//! timeout on every request, the bearer token on every call, and server
//! errors turned into plain messages (status and the server's `message`).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{CliError, ClientArgs};

/// Longest a request may take, connect to last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body read.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// An answer from the scheduler.
#[derive(Debug)]
pub(crate) struct Reply {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// Body.
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Result<serde_json::Value, CliError> {
        if self.body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| CliError::BadResponse(format!("the answer is not JSON: {e}")))
    }

    /// The error this reply stands for: its status and the server's message.
    pub(crate) fn error(&self) -> CliError {
        let message = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).trim().to_string());
        CliError::Server {
            status: self.status,
            message,
        }
    }
}

/// A client of one scheduler's API.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    base: String,
    token: Option<String>,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client for `--url`, with the token from `--token-file` or `PLINTH_TOKEN`.
    pub(crate) fn new(args: &ClientArgs) -> Result<Self, CliError> {
        let base = args.url.trim_end_matches('/').to_string();
        if base.starts_with("https://") {
            return Err(CliError::Usage(
                "https URLs are not supported by this CLI yet; reach the scheduler over http (e.g. through a local TLS proxy)".into(),
            ));
        }
        if !base.starts_with("http://") {
            return Err(CliError::Usage(format!(
                "--url {base}: expected http://HOST:PORT"
            )));
        }
        let token = match (&args.token_file, &args.token) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    CliError::Usage(format!("cannot read --token-file {}: {e}", path.display()))
                })?;
                Some(text.trim().to_string()).filter(|t| !t.is_empty())
            }
            (None, Some(token)) => Some(token.trim().to_string()).filter(|t| !t.is_empty()),
            (None, None) => None,
        };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let http = HyperClient::builder(TokioExecutor::new()).build(connector);
        Ok(Self { base, token, http })
    }

    /// The scheduler's URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The token, if any (for gRPC metadata).
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Sends one request.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<Reply, CliError> {
        let url = format!("{}{path}", self.base);
        let mut builder = Request::builder().method(method).uri(&url);
        if let Some(token) = &self.token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some((content_type, bytes)) => builder
                .header(header::CONTENT_TYPE, content_type)
                .body(Full::new(Bytes::from(bytes))),
            None => builder.body(Full::new(Bytes::new())),
        }
        .map_err(|e| CliError::Usage(format!("bad request to {url}: {e}")))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| CliError::Connect {
                    url: url.clone(),
                    message: error_chain(&e),
                })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| CliError::BadResponse(format!("reading the answer from {url}: {e}")))?
                .to_bytes();
            Ok(Reply { status, body })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| CliError::Connect {
                url: url.clone(),
                message: "timed out".into(),
            })?
    }

    /// GET; non-2xx is an error.
    pub(crate) async fn get(&self, path: &str) -> Result<Reply, CliError> {
        ok(self.send(Method::GET, path, None).await?)
    }

    /// POST with an optional JSON body; non-2xx is an error.
    pub(crate) async fn post(
        &self,
        path: &str,
        json: Option<&serde_json::Value>,
    ) -> Result<Reply, CliError> {
        let body = json.map(|v| ("application/json", v.to_string().into_bytes()));
        ok(self.send(Method::POST, path, body).await?)
    }
}

fn ok(reply: Reply) -> Result<Reply, CliError> {
    if reply.status.is_success() {
        Ok(reply)
    } else {
        Err(reply.error())
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
