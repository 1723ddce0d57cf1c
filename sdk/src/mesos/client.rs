//! The scheduler client: a self-healing subscription and a call handle.
//!
//! [`SchedulerClient::subscribe`] returns a [`Stream`] of [`ClientEvent`]s
//! driven by an explicit connection state machine ([`ConnState`]):
//!
//! ```text
//!  Connecting ──307──▶ Connecting (new leader)
//!      │  └─503/refused/timeout──▶ BackingOff ──delay──▶ Connecting
//!      └─SUBSCRIBED──▶ Subscribed ──stream ends / heartbeats missed──▶ BackingOff
//!  ERROR event, 4xx, attempts exhausted ──▶ Closed
//! ```
//!
//! # Guarantees
//! - SUBSCRIBE never carries `Mesos-Stream-Id`; every other call does.
//! - Every re-subscription carries the FrameworkID from the first SUBSCRIBED,
//!   so the master fails the framework over instead of registering a new one.
//! - Every network await is bounded: requests by `request_timeout`, the event
//!   stream by `heartbeat_interval × heartbeat_misses`.
//!
//! # Errors
//! The stream yields `Err` and ends on fatal conditions only: an ERROR event,
//! a non-retryable answer to SUBSCRIBE (400, 401, 403, ...), or exhausted
//! reconnect attempts. Everything else becomes a [`ClientEvent::Disconnected`]
//! followed by a reconnect.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use http::Uri;
use http::header::CONTENT_TYPE;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use plinth_proto::codec::Encoding;
use plinth_proto::recordio::RecordIoDecoder;
use plinth_proto::v1::scheduler::{Call, Event, call, event};
use plinth_proto::v1::{FrameworkId, MasterInfo};
use tokio::sync::watch;
use tokio_util::codec::Decoder as _;

use super::transport::{Answer, MESOS_STREAM_ID, Transport, read_small_body};
use super::{ClientConfig, MesosError};

/// What the subscription stream yields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientEvent {
    /// SUBSCRIBED arrived: the framework is (re-)registered.
    Subscribed {
        /// The framework's id (the same on every re-subscription).
        framework_id: FrameworkId,
        /// The master's heartbeat interval.
        heartbeat_interval: Duration,
        /// The leading master, when it says.
        master_info: Option<Box<MasterInfo>>,
    },
    /// Any later event (OFFERS, UPDATE, HEARTBEAT, ...).
    Event(Box<Event>),
    /// The subscription broke; a reconnect follows. Offers are void now.
    Disconnected {
        /// Why.
        reason: String,
    },
}

/// The connection facts shared by the subscription and the callers.
#[derive(Debug, Clone)]
pub struct Session {
    /// Where calls go: the configured master, moved by 307s.
    pub leader: Uri,
    /// The current subscription's stream id; `None` while not subscribed.
    pub stream_id: Option<String>,
    /// The framework's id once known.
    pub framework_id: Option<FrameworkId>,
}

/// The Mesos v1 scheduler client.
#[derive(Debug, Clone)]
pub struct SchedulerClient<C = HttpConnector> {
    config: Arc<ClientConfig>,
    transport: Transport<C>,
    session: Arc<watch::Sender<Session>>,
}

impl SchedulerClient<HttpConnector> {
    /// A client over plain TCP.
    #[must_use]
    pub fn new(config: ClientConfig) -> Self {
        let transport = Transport::tcp(config.connect_timeout);
        Self::with_transport(config, transport)
    }
}

// === impl SchedulerClient ===

impl<C> SchedulerClient<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A client over a given transport (an injected connector).
    pub fn with_transport(config: ClientConfig, transport: Transport<C>) -> Self {
        let session = Session {
            leader: config.master.clone(),
            stream_id: None,
            framework_id: config.framework_info.id.clone(),
        };
        Self {
            config: Arc::new(config),
            transport,
            session: Arc::new(watch::channel(session).0),
        }
    }

    /// A handle for sending calls on the current subscription.
    #[must_use]
    pub fn caller(&self) -> Caller<C> {
        Caller {
            config: Arc::clone(&self.config),
            transport: self.transport.clone(),
            session: Arc::clone(&self.session),
        }
    }

    /// Watches the session (leader, stream id, framework id).
    #[must_use]
    pub fn session(&self) -> watch::Receiver<Session> {
        self.session.subscribe()
    }

    /// Starts the subscription. The stream reconnects by itself; see the module docs.
    #[must_use]
    pub fn subscribe(&self) -> Subscription {
        let driver = Driver {
            config: Arc::clone(&self.config),
            transport: self.transport.clone(),
            session: Arc::clone(&self.session),
            delays: Box::new(self.config.backoff.delays()),
            failures: 0,
            redirects: 0,
            state: ConnState::Connecting,
        };
        Subscription {
            inner: Box::pin(futures::stream::unfold(driver, |mut driver| async move {
                let item = driver.step().await?;
                Some((item, driver))
            })),
        }
    }
}

/// The event stream of a subscription.
pub struct Subscription {
    inner: Pin<Box<dyn Stream<Item = Result<ClientEvent, MesosError>> + Send>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

impl Stream for Subscription {
    type Item = Result<ClientEvent, MesosError>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The connection state machine of the subscription.
#[derive(Debug)]
pub enum ConnState {
    /// About to send SUBSCRIBE to the session's leader.
    Connecting,
    /// Waiting before the next attempt.
    BackingOff {
        /// How long.
        delay: Duration,
        /// What failed last.
        last: MesosError,
    },
    /// Reading events.
    Subscribed(EventReader),
    /// Finished for good.
    Closed,
}

struct Driver<C> {
    config: Arc<ClientConfig>,
    transport: Transport<C>,
    session: Arc<watch::Sender<Session>>,
    delays: Box<dyn Iterator<Item = Duration> + Send>,
    failures: usize,
    redirects: u32,
    state: ConnState,
}

// === impl Driver ===

impl<C> Driver<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// Runs transitions until one yields an item; `None` when closed.
    async fn step(&mut self) -> Option<Result<ClientEvent, MesosError>> {
        loop {
            match std::mem::replace(&mut self.state, ConnState::Closed) {
                ConnState::Closed => return None,
                ConnState::BackingOff { delay, last } => {
                    tracing::debug!(?delay, error = %last, "backing off before re-subscribing");
                    tokio::time::sleep(delay).await;
                    self.state = ConnState::Connecting;
                }
                ConnState::Connecting => match self.connect().await {
                    Ok(Connected::Subscribed(reader, event)) => {
                        let reader = *reader;
                        self.failures = 0;
                        self.redirects = 0;
                        self.delays = Box::new(self.config.backoff.delays());
                        self.state = ConnState::Subscribed(reader);
                        return Some(Ok(event));
                    }
                    Ok(Connected::Redirected(uri)) => {
                        self.redirects += 1;
                        tracing::info!(leader = %uri, "following redirect to the leading master");
                        self.session.send_modify(|s| s.leader = uri.clone());
                        if self.redirects > self.config.max_redirects {
                            let err = MesosError::TooManyRedirects {
                                count: self.redirects,
                                location: uri.to_string(),
                            };
                            self.redirects = 0;
                            if let Some(fatal) = self.back_off(err) {
                                return Some(Err(fatal));
                            }
                        } else {
                            self.state = ConnState::Connecting;
                        }
                    }
                    Err(err)
                        if err.is_retryable()
                            || matches!(err, MesosError::TooManyRedirects { .. }) =>
                    {
                        if let Some(fatal) = self.back_off(err) {
                            return Some(Err(fatal));
                        }
                    }
                    Err(err) => {
                        self.session.send_modify(|s| s.stream_id = None);
                        return Some(Err(err));
                    }
                },
                ConnState::Subscribed(mut reader) => match reader.next_event().await {
                    Ok(event) if is_error(&event) => {
                        let message = error_message(&event);
                        self.session.send_modify(|s| s.stream_id = None);
                        return Some(Err(MesosError::Subscription { message }));
                    }
                    Ok(event) => {
                        self.state = ConnState::Subscribed(reader);
                        return Some(Ok(ClientEvent::Event(Box::new(event))));
                    }
                    Err(err) => {
                        self.session.send_modify(|s| s.stream_id = None);
                        let reason = err.to_string();
                        tracing::warn!(%reason, "subscription lost; re-subscribing");
                        // Reconnect after one initial delay: a master that
                        // accepts and drops at once must not make us spin.
                        self.failures = 0;
                        self.delays = Box::new(self.config.backoff.delays());
                        if let Some(fatal) = self.back_off(err) {
                            return Some(Err(fatal));
                        }
                        return Some(Ok(ClientEvent::Disconnected { reason }));
                    }
                },
            }
        }
    }

    /// Moves to `BackingOff`, or returns the fatal error if attempts are exhausted.
    fn back_off(&mut self, err: MesosError) -> Option<MesosError> {
        self.failures += 1;
        if let Some(max) = self.config.backoff.max_attempts
            && self.failures > max
        {
            self.state = ConnState::Closed;
            return Some(MesosError::RetriesExhausted {
                attempts: self.failures - 1,
                last: Box::new(err),
            });
        }
        let delay = self.delays.next().unwrap_or(self.config.backoff.max);
        self.state = ConnState::BackingOff { delay, last: err };
        None
    }

    async fn connect(&mut self) -> Result<Connected, MesosError> {
        let (leader, framework_id) = {
            let s = self.session.borrow();
            (s.leader.clone(), s.framework_id.clone())
        };
        let mut framework_info = self.config.framework_info.clone();
        framework_info.id.clone_from(&framework_id);
        let call = Call {
            framework_id,
            r#type: Some(call::Type::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info,
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = self.config.encoding.encode(&call);
        let answer = self
            .transport
            .post(&self.config, &leader, body, None, "SUBSCRIBE")
            .await?;
        let response = match answer {
            Answer::Redirect(uri) => return Ok(Connected::Redirected(uri)),
            Answer::Ok(response) => response,
        };
        let stream_id = response
            .headers()
            .get(MESOS_STREAM_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| MesosError::Decode {
                what: "SUBSCRIBE answer".into(),
                message: "no Mesos-Stream-Id header".into(),
            })?;
        let encoding = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(Encoding::from_content_type)
            .unwrap_or(self.config.encoding);
        let mut reader = EventReader {
            body: response.into_body(),
            buffer: BytesMut::new(),
            decoder: RecordIoDecoder::new(self.config.max_record_size),
            encoding,
            idle_timeout: self.config.request_timeout,
        };
        let first = reader.next_event().await?;
        if is_error(&first) {
            return Err(MesosError::Subscription {
                message: error_message(&first),
            });
        }
        let Some(subscribed) = first.subscribed else {
            return Err(MesosError::Decode {
                what: "first event".into(),
                message: format!("expected SUBSCRIBED, got type {:?}", first.r#type),
            });
        };
        let heartbeat_interval = subscribed
            .heartbeat_interval_seconds
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(
                self.config.default_heartbeat_interval,
                Duration::from_secs_f64,
            );
        reader.idle_timeout = heartbeat_interval * self.config.heartbeat_misses.max(1);
        let framework_id = subscribed.framework_id.clone();
        tracing::info!(framework_id = %framework_id.value, %stream_id, "subscribed");
        self.session.send_modify(|s| {
            s.stream_id = Some(stream_id);
            s.framework_id = Some(framework_id.clone());
        });
        Ok(Connected::Subscribed(
            Box::new(reader),
            ClientEvent::Subscribed {
                framework_id,
                heartbeat_interval,
                master_info: subscribed.master_info.map(Box::new),
            },
        ))
    }
}

enum Connected {
    Subscribed(Box<EventReader>, ClientEvent),
    Redirected(Uri),
}

fn is_error(event: &Event) -> bool {
    event.r#type == Some(event::Type::Error as i32)
}

fn error_message(event: &Event) -> String {
    event
        .error
        .as_ref()
        .map_or_else(|| "(no message)".to_owned(), |e| e.message.clone())
}

/// Reads RecordIO-framed events from a SUBSCRIBE body, with an idle bound.
pub struct EventReader {
    body: Incoming,
    buffer: BytesMut,
    decoder: RecordIoDecoder,
    encoding: Encoding,
    idle_timeout: Duration,
}

impl std::fmt::Debug for EventReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReader")
            .field("encoding", &self.encoding)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl EventReader {
    async fn next_record(&mut self) -> Result<Bytes, MesosError> {
        let framing = |e: plinth_proto::recordio::RecordIoError| MesosError::Decode {
            what: "event stream".into(),
            message: e.to_string(),
        };
        loop {
            if let Some(record) = self.decoder.decode(&mut self.buffer).map_err(framing)? {
                return Ok(record);
            }
            let frame = tokio::time::timeout(self.idle_timeout, self.body.frame())
                .await
                .map_err(|_| MesosError::Timeout {
                    operation: "waiting for an event (heartbeats missed)".into(),
                    after: self.idle_timeout,
                })?;
            match frame {
                None => {
                    self.decoder.decode_eof(&mut self.buffer).map_err(framing)?;
                    return Err(MesosError::Connect {
                        operation: "event stream".into(),
                        url: String::new(),
                        message: "the master closed the subscription".into(),
                        refused: false,
                    });
                }
                Some(Err(e)) => {
                    return Err(MesosError::Connect {
                        operation: "event stream".into(),
                        url: String::new(),
                        message: e.to_string(),
                        refused: false,
                    });
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    async fn next_event(&mut self) -> Result<Event, MesosError> {
        let record = self.next_record().await?;
        self.encoding
            .decode_lenient::<Event>(&record)
            .map_err(|e| MesosError::Decode {
                what: "event".into(),
                message: e.to_string(),
            })
    }
}

/// Sends calls on the current subscription. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Caller<C = HttpConnector> {
    config: Arc<ClientConfig>,
    transport: Transport<C>,
    session: Arc<watch::Sender<Session>>,
}

// === impl Caller ===

impl<C> Caller<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// The framework id, once subscribed.
    #[must_use]
    pub fn framework_id(&self) -> Option<FrameworkId> {
        self.session.borrow().framework_id.clone()
    }

    /// Sends one call (not SUBSCRIBE). Fills in `framework_id`, adds
    /// `Mesos-Stream-Id`, follows 307s and retries 503 and refused connections
    /// with jittered backoff. Returns the body of a 200 answer (UPDATE_FRAMEWORK),
    /// `None` for 202.
    pub async fn call(&self, mut call: Call) -> Result<Option<Bytes>, MesosError> {
        let operation = call
            .r#type
            .and_then(|t| call::Type::try_from(t).ok())
            .map_or_else(
                || "call".to_owned(),
                |t| format!("{} call", t.as_str_name()),
            );
        let mut delays = self.config.backoff.delays();
        let mut redirects = 0;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (leader, stream_id, framework_id) = {
                let s = self.session.borrow();
                (
                    s.leader.clone(),
                    s.stream_id.clone(),
                    s.framework_id.clone(),
                )
            };
            let Some(stream_id) = stream_id else {
                return Err(MesosError::NotSubscribed { operation });
            };
            if call.framework_id.is_none() {
                call.framework_id = framework_id;
            }
            let body = self.config.encoding.encode(&call);
            let result = self
                .transport
                .post(&self.config, &leader, body, Some(&stream_id), &operation)
                .await;
            match result {
                Ok(Answer::Ok(response)) => {
                    if response.status() == http::StatusCode::ACCEPTED {
                        return Ok(None);
                    }
                    return read_small_body(response, self.config.request_timeout)
                        .await
                        .map(Some);
                }
                Ok(Answer::Redirect(uri)) => {
                    redirects += 1;
                    if redirects > self.config.max_redirects {
                        return Err(MesosError::TooManyRedirects {
                            count: redirects,
                            location: uri.to_string(),
                        });
                    }
                    self.session.send_modify(|s| s.leader = uri);
                }
                Err(err) if err.was_not_processed() && attempt < self.config.call_attempts => {
                    let delay = delays.next().unwrap_or(self.config.backoff.max);
                    tracing::debug!(%err, ?delay, "retrying {operation}");
                    tokio::time::sleep(delay).await;
                }
                Err(err) => return Err(err),
            }
        }
    }
}
