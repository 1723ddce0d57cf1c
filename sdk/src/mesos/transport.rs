//! One HTTP exchange with the master: POST a call, classify the answer.
//!
//! The transport keeps two connection pools so that SUBSCRIBE always has a
//! connection of its own and calls never queue behind the event stream. The
//! connector is a type parameter: tests and simulations inject their own.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

use super::{ClientConfig, MesosError};

/// The stream id header of the scheduler API.
pub const MESOS_STREAM_ID: &str = "Mesos-Stream-Id";

/// Largest error or 200 body read from a non-streaming answer.
const MAX_SMALL_BODY: usize = 1024 * 1024;

/// The outcome of one POST, after 3xx/4xx/5xx classification.
#[derive(Debug)]
pub(crate) enum Answer {
    /// 2xx: the response, body unread.
    Ok(Response<Incoming>),
    /// 307: try again at this URI.
    Redirect(Uri),
}

/// HTTP to the master, with an injectable connector.
#[derive(Debug, Clone)]
pub struct Transport<C = HttpConnector> {
    subscribe_pool: Client<C, Full<Bytes>>,
    call_pool: Client<C, Full<Bytes>>,
}

impl Transport<HttpConnector> {
    /// A transport over plain TCP.
    #[must_use]
    pub fn tcp(connect_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        Self::with_connector(connector)
    }
}

// === impl Transport ===

impl<C> Transport<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A transport over the given connector (a simulated network, say).
    pub fn with_connector(connector: C) -> Self {
        let build = || {
            Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(1)
                .build(connector.clone())
        };
        Self {
            subscribe_pool: build(),
            call_pool: build(),
        }
    }

    /// POSTs one encoded call and classifies the answer.
    pub(crate) async fn post(
        &self,
        config: &ClientConfig,
        uri: &Uri,
        body: Vec<u8>,
        stream_id: Option<&str>,
        operation: &str,
    ) -> Result<Answer, MesosError> {
        let subscribe = stream_id.is_none();
        let mut request = Request::post(uri.clone())
            .header(CONTENT_TYPE, config.encoding.content_type())
            .header(ACCEPT, config.encoding.content_type());
        if let Some(id) = stream_id {
            request = request.header(MESOS_STREAM_ID, id);
        }
        if let Some(credentials) = &config.credentials {
            request = request.header(AUTHORIZATION, credentials.header_value());
        }
        let request =
            request
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| MesosError::InvalidUrl {
                    url: uri.to_string(),
                    reason: e.to_string(),
                })?;
        let pool = if subscribe {
            &self.subscribe_pool
        } else {
            &self.call_pool
        };
        let response = tokio::time::timeout(config.request_timeout, pool.request(request))
            .await
            .map_err(|_| MesosError::Timeout {
                operation: operation.to_owned(),
                after: config.request_timeout,
            })?
            .map_err(|e| MesosError::Connect {
                operation: operation.to_owned(),
                url: uri.to_string(),
                message: error_chain(&e),
                refused: e.is_connect(),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(Answer::Ok(response));
        }
        if status == StatusCode::TEMPORARY_REDIRECT {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| MesosError::Decode {
                    what: "307 answer".into(),
                    message: "no Location header".into(),
                })?;
            return Ok(Answer::Redirect(super::config::resolve_location(
                uri, location,
            )?));
        }
        let body = read_small_body(response, config.request_timeout)
            .await
            .unwrap_or_default();
        Err(MesosError::from_status(status, &body))
    }
}

/// Reads a bounded, non-streaming body under a timeout.
pub(crate) async fn read_small_body(
    response: Response<Incoming>,
    timeout: Duration,
) -> Result<Bytes, MesosError> {
    let body = Limited::new(response.into_body(), MAX_SMALL_BODY);
    let collected = tokio::time::timeout(timeout, body.collect())
        .await
        .map_err(|_| MesosError::Timeout {
            operation: "reading the master's answer".into(),
            after: timeout,
        })?
        .map_err(|e| MesosError::Decode {
            what: "answer body".into(),
            message: e.to_string(),
        })?;
    Ok(collected.to_bytes())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
