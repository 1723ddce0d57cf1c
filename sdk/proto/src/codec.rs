//! The two encodings of the scheduler API, selected by `Content-Type`.

use prost::{Message, Name};

use crate::json::{self, JsonError};

/// `Content-Type` of JSON calls and events.
pub const APPLICATION_JSON: &str = "application/json";
/// `Content-Type` of protobuf calls and events.
pub const APPLICATION_PROTOBUF: &str = "application/x-protobuf";

/// Protobuf or Mesos-style JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// `application/x-protobuf`.
    #[default]
    Protobuf,
    /// `application/json`, written and read as Mesos does.
    Json,
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Malformed or incomplete JSON.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Malformed protobuf.
    #[error("invalid protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

impl Encoding {
    /// The exact `Content-Type` string (Mesos compares it byte for byte).
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => APPLICATION_PROTOBUF,
            Self::Json => APPLICATION_JSON,
        }
    }

    /// The encoding named by an exact `Content-Type`, as the master matches it.
    #[must_use]
    pub fn from_content_type(value: &str) -> Option<Self> {
        match value {
            APPLICATION_PROTOBUF => Some(Self::Protobuf),
            APPLICATION_JSON => Some(Self::Json),
            _ => None,
        }
    }

    /// Encodes a message (compact JSON, or protobuf).
    pub fn encode<M: Message + Name>(self, msg: &M) -> Vec<u8> {
        match self {
            Self::Protobuf => msg.encode_to_vec(),
            Self::Json => json::to_vec(msg),
        }
    }

    /// Decodes a message, enforcing proto2 required fields in both encodings.
    pub fn decode<M: Message + Name + Default>(self, bytes: &[u8]) -> Result<M, DecodeError> {
        match self {
            Self::Protobuf => {
                let msg = M::decode(bytes)?;
                json::check_required_wire(&json::descriptor_of::<M>()?, bytes)?;
                Ok(msg)
            }
            Self::Json => Ok(json::from_slice(bytes)?),
        }
    }

    /// Decodes without the required-field check (the fast path for events
    /// from a trusted master in protobuf mode).
    pub fn decode_lenient<M: Message + Name + Default>(
        self,
        bytes: &[u8],
    ) -> Result<M, DecodeError> {
        match self {
            Self::Protobuf => Ok(M::decode(bytes)?),
            Self::Json => Ok(json::from_slice(bytes)?),
        }
    }
}
