//! Errors of the Mesos scheduler client.

use std::time::Duration;

use http::StatusCode;

/// What went wrong talking to the Mesos master.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MesosError {
    /// The master's URL cannot be used.
    #[error("invalid master URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The TCP/HTTP exchange failed before an answer arrived.
    #[error("{operation} to {url} failed: {message}")]
    Connect {
        /// What was being done (`SUBSCRIBE`, `ACCEPT call`, ...).
        operation: String,
        /// Where.
        url: String,
        /// The transport's description of the failure.
        message: String,
        /// Whether the server refused the connection (nothing was sent).
        refused: bool,
    },
    /// A network await ran out of time.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What was being waited for.
        operation: String,
        /// The bound that expired.
        after: Duration,
    },
    /// 400: the master rejected the call (malformed, missing fields, bad stream id).
    #[error("master rejected the call (400 Bad Request): {message}")]
    BadRequest {
        /// The master's text.
        message: String,
    },
    /// 401: HTTP framework authentication failed.
    #[error("master refused our credentials (401 Unauthorized): {message}")]
    Unauthorized {
        /// The master's text.
        message: String,
    },
    /// 403: the framework is not subscribed (or not authorized).
    #[error("master refused the call (403 Forbidden): {message}")]
    Forbidden {
        /// The master's text.
        message: String,
    },
    /// 503 (or 404 while booting): no leading master is available.
    #[error("master unavailable ({status}): {message}")]
    Unavailable {
        /// 503 or 404.
        status: StatusCode,
        /// The master's text.
        message: String,
    },
    /// Too many 307 redirects in a row.
    #[error("gave up after {count} redirects (last Location: {location})")]
    TooManyRedirects {
        /// How many redirects were followed.
        count: u32,
        /// The last `Location` seen.
        location: String,
    },
    /// Any other non-2xx answer.
    #[error("master answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The master's text.
        message: String,
    },
    /// The master's answer could not be decoded.
    #[error("cannot decode the master's {what}: {message}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// Why it failed.
        message: String,
    },
    /// The master sent an ERROR event on the subscription (fatal).
    #[error("master sent ERROR: {message}")]
    Subscription {
        /// The error message (e.g. "Framework has been removed").
        message: String,
    },
    /// A call was made before the first SUBSCRIBED.
    #[error("not subscribed yet: {operation} needs a Mesos-Stream-Id")]
    NotSubscribed {
        /// The call that could not be sent.
        operation: String,
    },
    /// Reconnecting gave up after the configured number of attempts.
    #[error("gave up reconnecting after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: usize,
        /// The last failure.
        last: Box<MesosError>,
    },
}

impl MesosError {
    /// Whether retrying the same request later can succeed (the master did
    /// not process it: it was unavailable, refused the connection or timed out
    /// before answering a SUBSCRIBE).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable { .. } | Self::Timeout { .. } => true,
            Self::Connect { refused, .. } => *refused,
            _ => false,
        }
    }

    /// Whether the master certainly did not process the request (503, or the
    /// connection was refused), so even a non-idempotent call may be re-sent.
    #[must_use]
    pub fn was_not_processed(&self) -> bool {
        match self {
            Self::Unavailable { .. } => true,
            Self::Connect { refused, .. } => *refused,
            _ => false,
        }
    }

    /// Builds the typed error for a non-2xx answer.
    pub(crate) fn from_status(status: StatusCode, body: &[u8]) -> Self {
        let message = String::from_utf8_lossy(body).trim().to_owned();
        match status {
            StatusCode::BAD_REQUEST => Self::BadRequest { message },
            StatusCode::UNAUTHORIZED => Self::Unauthorized { message },
            StatusCode::FORBIDDEN => Self::Forbidden { message },
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::NOT_FOUND => {
                Self::Unavailable { status, message }
            }
            _ => Self::Status { status, message },
        }
    }
}
