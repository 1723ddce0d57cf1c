//! The Mesos v1 scheduler HTTP API client.
//!
//! - [`SchedulerClient::subscribe`]: SUBSCRIBE on a connection of its own; the
//!   events arrive as a [`Subscription`] stream that re-subscribes by itself
//!   (failover with the stored FrameworkID, 307 redirects, 503 backoff,
//!   heartbeat watchdog).
//! - [`Caller::call`]: every other call, on a second connection, with
//!   `Mesos-Stream-Id`; [`calls`] builds them.
//! - Protobuf by default, Mesos-style JSON by option ([`ClientConfig::encoding`]).
//! - The HTTP connector is injectable ([`Transport::with_connector`]), so the
//!   same code runs over TCP and in simulation.
//!
//! # Example
//! ```no_run
//! use futures::StreamExt as _;
//! use plinth::mesos::{ClientConfig, ClientEvent, SchedulerClient};
//! use plinth_proto::v1::FrameworkInfo;
//!
//! # async fn run() -> Result<(), plinth::mesos::MesosError> {
//! let info = FrameworkInfo { user: "nobody".into(), name: "hello".into(), ..Default::default() };
//! let client = SchedulerClient::new(ClientConfig::new("http://127.0.0.1:5050", info)?);
//! let caller = client.caller();
//! let mut events = client.subscribe();
//! while let Some(event) = events.next().await {
//!     if let ClientEvent::Subscribed { .. } = event? {
//!         caller.call(plinth::mesos::calls::reconcile(vec![])).await?;
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod calls;
mod client;
mod config;
mod error;
mod transport;

pub use client::{
    Caller, ClientEvent, ConnState, EventReader, SchedulerClient, Session, Subscription,
};
pub use config::{
    BackoffConfig, ClientConfig, Credentials, SCHEDULER_PATH, parse_master, resolve_location,
};
pub use error::MesosError;
pub use transport::{MESOS_STREAM_ID, Transport};
