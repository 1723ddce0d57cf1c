//! JSON the way Mesos writes and reads it (not the proto3 canonical mapping).
//!
//! Mesos converts between JSON and protobuf by reflection over its proto2
//! messages. This module does the same over the descriptors of our protos:
//!
//! | aspect | written | read |
//! | --- | --- | --- |
//! | field names | proto names (`framework_id`) | proto names; unknown keys ignored |
//! | enums | names (`"TASK_RUNNING"`) | names; an unknown name unsets an optional field, fails a required one |
//! | bytes | standard base64 with padding | padded or unpadded, whitespace skipped |
//! | 64-bit ints | JSON numbers | numbers or numeric strings |
//! | doubles | numbers (`15.0`), `"Infinity"` | numbers, numeric strings, `"Infinity"`, `"-Infinity"`, `"NaN"` |
//! | bool | `true`/`false` | also `"true"`/`"false"` |
//! | `null` | never | unset |
//! | required fields | — | missing ones are an error naming each field path |
//!
//! # Errors
//! Every error names the field path where decoding failed, e.g.
//! `accept.operations[0].type`, so a bad HTTP body can be answered with a
//! message that says what to fix.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use prost::{Message, Name};
use prost_reflect::{
    Cardinality, DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage as _, Value as PValue,
};
use serde_json::{Map, Number, Value};

use crate::FILE_DESCRIPTOR_SET;

/// Why a JSON document could not be turned into a Mesos message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The body is not JSON at all.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// Line of the syntax error (1-based).
        line: usize,
        /// Column of the syntax error (1-based).
        column: usize,
        /// What the parser saw.
        message: String,
    },
    /// A field has a value of the wrong shape.
    #[error("field '{path}': {message}")]
    Field {
        /// Dotted path of the field, with `[i]` for list elements.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// Proto2 `required` fields are absent (Mesos answers 400 with this).
    #[error("Missing required fields: {}", .fields.join(", "))]
    MissingRequired {
        /// Dotted paths of every missing field.
        fields: Vec<String>,
    },
    /// The message type is not in our descriptor set (a bug, not bad input).
    #[error("message type {0} is not in the Plinth descriptor set")]
    UnknownMessage(String),
}

/// Options for writing JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonOptions {
    /// Write unset optional fields that declare a `[default = ...]` with that
    /// default, as a real master does (e.g. `"failover_timeout": 0.0`).
    pub emit_defaults: bool,
}

/// The descriptor pool of our protos, decoded once.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The descriptor set is produced by our own build script; failing to
        // decode it is a build bug, caught by every test that touches JSON.
        DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("embedded descriptor set is valid")
    })
}

/// The descriptor of message type `M`.
pub fn descriptor_of<M: Name>() -> Result<MessageDescriptor, JsonError> {
    let name = M::full_name();
    descriptor_pool()
        .get_message_by_name(&name)
        .ok_or(JsonError::UnknownMessage(name))
}

// === encoding ===

/// Writes `msg` as a Mesos-style JSON value.
pub fn to_value<M: Message + Name>(msg: &M) -> Value {
    to_value_with(msg, JsonOptions::default())
}

/// Writes `msg` as a Mesos-style JSON value with options.
pub fn to_value_with<M: Message + Name>(msg: &M, options: JsonOptions) -> Value {
    match dynamic_of(msg) {
        Ok(dynamic) => dynamic_to_value(&dynamic, options),
        // Unreachable for types generated from our own descriptor set.
        Err(e) => Value::String(format!("<{e}>")),
    }
}

/// Writes `msg` as compact, single-line Mesos-style JSON.
pub fn to_vec<M: Message + Name>(msg: &M) -> Vec<u8> {
    serde_json::to_vec(&to_value(msg)).unwrap_or_default()
}

/// Writes `msg` as compact JSON with options.
pub fn to_vec_with<M: Message + Name>(msg: &M, options: JsonOptions) -> Vec<u8> {
    serde_json::to_vec(&to_value_with(msg, options)).unwrap_or_default()
}

fn dynamic_of<M: Message + Name>(msg: &M) -> Result<DynamicMessage, JsonError> {
    let desc = descriptor_of::<M>()?;
    DynamicMessage::decode(desc, msg.encode_to_vec().as_slice()).map_err(|e| JsonError::Field {
        path: String::new(),
        message: e.to_string(),
    })
}

/// Writes a dynamic message as a Mesos-style JSON object.
pub fn dynamic_to_value(msg: &DynamicMessage, options: JsonOptions) -> Value {
    let mut out = Map::new();
    for field in msg.descriptor().fields() {
        if msg.has_field(&field) {
            let value = msg.get_field(&field);
            out.insert(
                field.name().to_owned(),
                field_to_value(&field, &value, options),
            );
        } else if options.emit_defaults && writes_default(&field) {
            let value = msg.get_field(&field);
            out.insert(
                field.name().to_owned(),
                single_to_value(&field.kind(), &value, options),
            );
        }
    }
    Value::Object(out)
}

fn writes_default(field: &FieldDescriptor) -> bool {
    let proto = field.field_descriptor_proto();
    field.cardinality() == Cardinality::Optional
        && proto.default_value.is_some()
        && !proto
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false)
}

fn field_to_value(field: &FieldDescriptor, value: &PValue, options: JsonOptions) -> Value {
    let kind = field.kind();
    match value {
        PValue::List(items) => Value::Array(
            items
                .iter()
                .map(|item| single_to_value(&kind, item, options))
                .collect(),
        ),
        PValue::Map(entries) => {
            let value_kind = match &kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            let sorted: BTreeMap<String, Value> = entries
                .iter()
                .map(|(k, v)| (map_key_string(k), single_to_value(&value_kind, v, options)))
                .collect();
            Value::Object(sorted.into_iter().collect())
        }
        single => single_to_value(&kind, single, options),
    }
}

fn map_key_string(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn float_to_value(f: f64) -> Value {
    if f.is_nan() {
        Value::String("NaN".into())
    } else if f.is_infinite() {
        Value::String(if f > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

fn single_to_value(kind: &Kind, value: &PValue, options: JsonOptions) -> Value {
    match value {
        PValue::Bool(b) => Value::Bool(*b),
        PValue::I32(n) => Value::from(*n),
        PValue::I64(n) => Value::from(*n),
        PValue::U32(n) => Value::from(*n),
        PValue::U64(n) => Value::from(*n),
        PValue::F32(f) => float_to_value(f64::from(*f)),
        PValue::F64(f) => float_to_value(*f),
        PValue::String(s) => Value::String(s.clone()),
        PValue::Bytes(b) => Value::String(STANDARD.encode(b)),
        PValue::EnumNumber(n) => match kind {
            Kind::Enum(e) => e
                .get_value(*n)
                .map_or_else(|| Value::from(*n), |v| Value::String(v.name().to_owned())),
            _ => Value::from(*n),
        },
        PValue::Message(m) => dynamic_to_value(m, options),
        // Lists and maps never nest directly in protobuf.
        PValue::List(_) | PValue::Map(_) => Value::Null,
    }
}

// === decoding ===

mod read;
mod required;

/// Parses Mesos-style JSON bytes into message type `M`, enforcing required fields.
pub fn from_slice<M: Message + Name + Default>(bytes: &[u8]) -> Result<M, JsonError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| JsonError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    from_value(&value)
}

/// Converts a Mesos-style JSON value into message type `M`, enforcing required fields.
///
/// The JSON is written straight to the protobuf wire format by walking the
/// message descriptor, then decoded by prost: no intermediate dynamic message.
pub fn from_value<M: Message + Name + Default>(value: &Value) -> Result<M, JsonError> {
    let desc = descriptor_of::<M>()?;
    let wire = read::to_wire(&desc, value)?;
    M::decode(wire.as_slice()).map_err(|e| JsonError::Field {
        path: String::new(),
        message: e.to_string(),
    })
}

/// Checks the proto2 `required` fields of an already decoded message (prost
/// does not enforce them when decoding protobuf).
pub fn check_required<M: Message + Name>(msg: &M) -> Result<(), JsonError> {
    check_required_wire(&descriptor_of::<M>()?, &msg.encode_to_vec())
}

/// Checks the proto2 `required` fields of protobuf bytes of the message `desc`.
pub fn check_required_wire(desc: &MessageDescriptor, bytes: &[u8]) -> Result<(), JsonError> {
    let mut missing = Vec::new();
    required::collect_missing(desc, bytes, "", &mut missing).map_err(|message| {
        JsonError::Field {
            path: String::new(),
            message,
        }
    })?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(JsonError::MissingRequired { fields: missing })
    }
}

pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

pub(crate) fn field_error(path: &str, message: impl Into<String>) -> JsonError {
    JsonError::Field {
        path: path.to_owned(),
        message: message.into(),
    }
}

pub(crate) fn shape(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decodes base64 the lenient Mesos way: whitespace skipped, decoding stops
/// at the first `=`, padding optional.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .take_while(|c| *c != '=')
        .collect();
    // Mesos' decoder also ignores non-zero bits after the last full byte
    // (the docs' example uuids have them).
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    );
    LENIENT
        .decode(cleaned.as_bytes())
        .map_err(|e| format!("invalid base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::scheduler::{Call, Event, call};
    use crate::v1::{FrameworkId, FrameworkInfo};

    #[test]
    fn unpadded_base64_is_accepted() {
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64(" aG\nk= ").unwrap(), b"hi");
        assert!(decode_base64("a*b").is_err());
        assert_eq!(decode_base64("jhadf73jhakdlfha723adf").unwrap().len(), 16);
    }

    #[test]
    fn writes_proto_names_and_enum_names() {
        let call = Call {
            framework_id: Some(FrameworkId {
                value: "f-1".into(),
            }),
            r#type: Some(call::Type::Teardown as i32),
            ..Default::default()
        };
        let json = to_value(&call);
        assert_eq!(
            json,
            serde_json::json!({"framework_id": {"value": "f-1"}, "type": "TEARDOWN"})
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        let err = from_slice::<Call>(
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Missing required fields: subscribe.framework_info.user"
        );
    }

    #[test]
    fn unknown_keys_and_null_are_ignored() {
        let info: FrameworkInfo = from_slice(
            br#"{"user":"u","name":"n","frameworkId":{"value":"x"},"hostname":null,"checkpoint":"true"}"#,
        )
        .unwrap();
        assert_eq!(info.user, "u");
        assert_eq!(info.hostname, None);
        assert_eq!(info.checkpoint, Some(true));
    }

    #[test]
    fn unknown_optional_enum_is_dropped_and_required_is_an_error() {
        let call: Call = from_slice(br#"{"type":"NO_SUCH_CALL"}"#).unwrap();
        assert_eq!(call.r#type, None);
        let err = from_slice::<Event>(
            br#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_WHATEVER"}}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("update.status.state"), "{err}");
    }

    #[test]
    fn wrong_shapes_name_the_path() {
        let err = from_slice::<Call>(br#"{"type":"ACCEPT","accept":{"offer_ids":{"value":"o"}}}"#)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field 'accept.offer_ids': expecting a JSON array, got an object"
        );
        let err = from_slice::<Call>(b"[1]").unwrap_err();
        assert!(err.to_string().contains("<top level>"), "{err}");
        let err = from_slice::<Call>(b"{nope").unwrap_err();
        assert!(matches!(err, JsonError::Syntax { line: 1, .. }), "{err}");
    }

    #[test]
    fn numbers_accept_numeric_strings_and_infinity() {
        let event: Event =
            from_slice(br#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":"Infinity"}}"#)
                .unwrap();
        let s = event.subscribed.unwrap();
        assert!(s.heartbeat_interval_seconds.unwrap().is_infinite());
        let back = to_value(&Event {
            subscribed: Some(s),
            ..Default::default()
        });
        assert_eq!(back["subscribed"]["heartbeat_interval_seconds"], "Infinity");
    }

    #[test]
    fn doubles_are_written_with_a_decimal_point() {
        let event = Event {
            r#type: Some(crate::v1::scheduler::event::Type::Subscribed as i32),
            subscribed: Some(crate::v1::scheduler::event::Subscribed {
                framework_id: FrameworkId { value: "f".into() },
                heartbeat_interval_seconds: Some(15.0),
                ..Default::default()
            }),
            ..Default::default()
        };
        let text = String::from_utf8(to_vec(&event)).unwrap();
        assert!(
            text.contains(r#""heartbeat_interval_seconds":15.0"#),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn defaults_are_written_only_when_asked() {
        let info = FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            ..Default::default()
        };
        assert!(to_value(&info).get("failover_timeout").is_none());
        let with = to_value_with(
            &info,
            JsonOptions {
                emit_defaults: true,
            },
        );
        assert_eq!(with["failover_timeout"], 0.0);
        assert_eq!(with["checkpoint"], false);
    }
}
