//! How the scheduler client connects: master URL, encoding, credentials, bounds.

use std::time::Duration;

use http::Uri;
use plinth_proto::codec::Encoding;
use plinth_proto::v1::FrameworkInfo;

use super::MesosError;

/// The path of the scheduler API on every master.
pub const SCHEDULER_PATH: &str = "/api/v1/scheduler";

/// A framework principal and its secret, sent as HTTP Basic auth.
#[derive(Clone)]
pub struct Credentials {
    /// The framework principal.
    pub principal: String,
    /// Its secret. Never printed.
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("principal", &self.principal)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// The `Authorization` header value.
    #[must_use]
    pub fn header_value(&self) -> String {
        use base64::Engine as _;
        let pair = format!("{}:{}", self.principal, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// Reconnect and retry delays: exponential with jitter, capped.
#[derive(Debug, Clone, Copy)]
pub struct BackoffConfig {
    /// First delay.
    pub initial: Duration,
    /// Largest delay (PROTOCOL.md suggests about 15 s).
    pub max: Duration,
    /// Give up after this many consecutive failures (`None`: never, for the
    /// subscription; calls always have a bound, see [`ClientConfig::call_attempts`]).
    pub max_attempts: Option<usize>,
    /// Seed of the jitter, so runs can be reproduced.
    pub seed: u64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(15),
            max_attempts: None,
            seed: rand::random(),
        }
    }
}

impl BackoffConfig {
    /// The delays of a fresh run of failures.
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        use backon::BackoffBuilder as _;
        let builder = backon::ExponentialBuilder::new()
            .with_min_delay(self.initial)
            .with_max_delay(self.max)
            .with_jitter_seed(self.seed)
            .with_jitter()
            .without_max_times();
        builder.build()
    }
}

/// Everything the scheduler client needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The master to talk to first (`http://host:port`); 307s move it.
    pub master: Uri,
    /// Protobuf (default) or JSON, for calls and events.
    pub encoding: Encoding,
    /// HTTP Basic credentials for `--authenticate_http_frameworks` masters.
    pub credentials: Option<Credentials>,
    /// The framework to subscribe. Its `id` is filled in after SUBSCRIBED and
    /// reused on every re-subscription (failover).
    pub framework_info: FrameworkInfo,
    /// Bound on establishing a TCP connection.
    pub connect_timeout: Duration,
    /// Bound on every call, and on the SUBSCRIBE answer's headers and first record.
    pub request_timeout: Duration,
    /// Heartbeats missed before the subscription is declared dead.
    pub heartbeat_misses: u32,
    /// Heartbeat interval assumed until SUBSCRIBED says otherwise.
    pub default_heartbeat_interval: Duration,
    /// Redirects followed in a row before backing off.
    pub max_redirects: u32,
    /// Reconnect backoff.
    pub backoff: BackoffConfig,
    /// Attempts for one non-SUBSCRIBE call on 503 / refused connections.
    pub call_attempts: usize,
    /// Largest event record accepted.
    pub max_record_size: usize,
}

impl ClientConfig {
    /// A configuration with the defaults PROTOCOL.md recommends.
    pub fn new(master: &str, framework_info: FrameworkInfo) -> Result<Self, MesosError> {
        Ok(Self {
            master: parse_master(master)?,
            encoding: Encoding::Protobuf,
            credentials: None,
            framework_info,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(75),
            heartbeat_misses: 5,
            default_heartbeat_interval: Duration::from_secs(15),
            max_redirects: 5,
            backoff: BackoffConfig::default(),
            call_attempts: 5,
            max_record_size: plinth_proto::recordio::DEFAULT_MAX_RECORD_SIZE,
        })
    }
}

/// Parses `http://host:port` (or `host:port`) into the scheduler endpoint URI.
pub fn parse_master(master: &str) -> Result<Uri, MesosError> {
    let bad = |reason: &str| MesosError::InvalidUrl {
        url: master.to_owned(),
        reason: reason.to_owned(),
    };
    let with_scheme = if master.contains("://") {
        master.to_owned()
    } else {
        format!("http://{master}")
    };
    let uri: Uri = with_scheme
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(bad("https masters are not supported yet; use http")),
        _ => return Err(bad("scheme must be http")),
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?.clone();
    Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(SCHEDULER_PATH)
        .build()
        .map_err(|e| bad(&e.to_string()))
}

/// Resolves a 307 `Location` against the URI that was redirected. Real
/// masters send a protocol-relative `//host:port/api/v1/scheduler`; the docs
/// show a bare `host:port`. Both are accepted, as are absolute URLs.
pub fn resolve_location(current: &Uri, location: &str) -> Result<Uri, MesosError> {
    let scheme = current.scheme_str().unwrap_or("http");
    let absolute = if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if location.starts_with('/') {
        let authority = current.authority().map_or("", |a| a.as_str());
        format!("{scheme}://{authority}{location}")
    } else {
        format!("{scheme}://{location}")
    };
    parse_master(&absolute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_relative_location_keeps_our_scheme() {
        let current = parse_master("http://m1:5050").unwrap();
        let next = resolve_location(&current, "//m2:5051/api/v1/scheduler").unwrap();
        assert_eq!(next.to_string(), "http://m2:5051/api/v1/scheduler");
        let docs_form = resolve_location(&current, "m3:5050").unwrap();
        assert_eq!(docs_form.to_string(), "http://m3:5050/api/v1/scheduler");
    }

    #[test]
    fn master_urls_are_normalised() {
        assert_eq!(
            parse_master("127.0.0.1:5050").unwrap().to_string(),
            "http://127.0.0.1:5050/api/v1/scheduler"
        );
        assert!(parse_master("ftp://x").is_err());
        assert!(parse_master("http://").is_err());
    }

    #[test]
    fn secrets_are_not_printed() {
        let c = Credentials {
            principal: "p".into(),
            secret: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.header_value(), "Basic cDpodW50ZXIy");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let cfg = BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_attempts: None,
            seed: 7,
        };
        let delays: Vec<Duration> = cfg.delays().take(10).collect();
        assert_eq!(delays.len(), 10);
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(2)),
            "{delays:?}"
        );
        assert!(delays[6] >= Duration::from_secs(1), "{delays:?}");
        let again: Vec<Duration> = cfg.delays().take(10).collect();
        assert_eq!(delays, again, "same seed, same jitter");
    }
}
