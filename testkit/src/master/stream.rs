//! The SUBSCRIBE response body: RecordIO events, one record per HTTP chunk,
//! compact single-line JSON or protobuf, with HEARTBEATs every interval.
//! When the body is dropped (the scheduler went away, or the master closed
//! the stream) the master is told, so the framework gets disconnected.

use std::convert::Infallible;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use plinth_proto::codec::Encoding;
use plinth_proto::json::{self, JsonOptions};
use plinth_proto::recordio;
use plinth_proto::v1::scheduler::Event;
use prost::Message as _;
use tokio::sync::mpsc;

use super::Shared;
use crate::cluster::heartbeat_event;

/// Encodes one event as a RecordIO record, the way the master writes it.
#[must_use]
pub(crate) fn record(event: &Event, encoding: Encoding) -> Bytes {
    let body = match encoding {
        Encoding::Json => json::to_vec_with(
            event,
            JsonOptions {
                emit_defaults: true,
            },
        ),
        Encoding::Protobuf => event.encode_to_vec(),
    };
    recordio::frame(&body)
}

/// Tells the master when a stream's body is gone.
struct Guard {
    shared: Weak<Shared>,
    stream_id: Option<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let (Some(shared), Some(id)) = (self.shared.upgrade(), self.stream_id.take()) {
            shared.stream_gone(&id);
        }
    }
}

struct State {
    rx: mpsc::Receiver<Box<Event>>,
    heartbeat: tokio::time::Interval,
    encoding: Encoding,
    _guard: Guard,
}

/// The body of a subscription: events from `rx`, HEARTBEATs in between.
/// `stream_id` is `None` for a stream that only carries a subscribe ERROR.
pub(crate) fn body(
    shared: &Arc<Shared>,
    stream_id: Option<String>,
    rx: mpsc::Receiver<Box<Event>>,
    encoding: Encoding,
    interval: Duration,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let start = tokio::time::Instant::now() + interval;
    let mut heartbeat = tokio::time::interval_at(start, interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        rx,
        heartbeat,
        encoding,
        _guard: Guard {
            shared: Arc::downgrade(shared),
            stream_id,
        },
    };
    futures::stream::unfold(state, |mut state| async move {
        let event = tokio::select! {
            biased;
            event = state.rx.recv() => event?,
            _ = state.heartbeat.tick() => Box::new(heartbeat_event()),
        };
        let chunk = record(&event, state.encoding);
        Some((Ok(chunk), state))
    })
}
