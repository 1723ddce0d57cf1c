//! Mesos-style JSON → protobuf wire bytes, by walking the message descriptor.
//!
//! Fields are written in the order their keys appear; protobuf decoders
//! accept any order. Repeated scalars are written unpacked (the proto2
//! default), which every decoder reads.

use prost::encoding::{WireType, encode_key, encode_varint};
use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::Value;

use super::{JsonError, decode_base64, field_error, join, shape};

/// Encodes `value` as the message `desc`; missing required fields are
/// collected across the whole tree and reported together.
pub(super) fn to_wire(desc: &MessageDescriptor, value: &Value) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::with_capacity(256);
    let mut missing = Vec::new();
    let mut path = String::new();
    message(desc, value, &mut path, &mut out, &mut missing)?;
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(JsonError::MissingRequired { fields: missing })
    }
}

fn message(
    desc: &MessageDescriptor,
    value: &Value,
    path: &mut String,
    out: &mut Vec<u8>,
    missing: &mut Vec<String>,
) -> Result<(), JsonError> {
    let Value::Object(object) = value else {
        let at = if path.is_empty() { "<top level>" } else { path };
        return Err(field_error(
            at,
            format!("expecting a JSON object, got {}", shape(value)),
        ));
    };
    let mut present: Vec<u32> = Vec::new();
    for (key, value) in object {
        // Unknown keys are ignored, as the Mesos parser does; so is null.
        let Some(field) = desc.get_field_by_name(key) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        let mark = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        let wrote = write_field(&field, value, path, out, missing);
        path.truncate(mark);
        if wrote? {
            present.push(field.number());
        }
    }
    for field in desc.fields() {
        if field.cardinality() == Cardinality::Required && !present.contains(&field.number()) {
            missing.push(join(path, field.name()));
        }
    }
    Ok(())
}

/// Writes one field; `false` when nothing was written (an unknown name in an
/// optional enum field, dropped as Mesos drops it).
fn write_field(
    field: &FieldDescriptor,
    value: &Value,
    path: &mut String,
    out: &mut Vec<u8>,
    missing: &mut Vec<String>,
) -> Result<bool, JsonError> {
    let number = field.number();
    let kind = field.kind();
    if field.is_map() {
        let Kind::Message(entry) = &kind else {
            return Err(field_error(path, "map field without an entry type"));
        };
        let Value::Object(object) = value else {
            return Err(field_error(
                path,
                format!("expecting a JSON object, got {}", shape(value)),
            ));
        };
        let key_kind = entry.map_entry_key_field().kind();
        let value_kind = entry.map_entry_value_field().kind();
        for (k, v) in object {
            let mark = path.len();
            path.push('[');
            path.push_str(k);
            path.push(']');
            let mut buf = Vec::new();
            write_map_key(&key_kind, k, path, &mut buf)?;
            if !v.is_null() {
                write_single(&value_kind, v, 2, path, &mut buf, missing, true)?;
            }
            path.truncate(mark);
            write_len(number, &buf, out);
        }
        return Ok(true);
    }
    if field.is_list() {
        let Value::Array(items) = value else {
            return Err(field_error(
                path,
                format!("expecting a JSON array, got {}", shape(value)),
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let mark = path.len();
            path.push_str(&format!("[{i}]"));
            let written = write_single(&kind, item, number, path, out, missing, false);
            path.truncate(mark);
            written?;
        }
        return Ok(true);
    }
    let required = field.cardinality() == Cardinality::Required;
    write_single(&kind, value, number, path, out, missing, required)
}

fn write_len(number: u32, bytes: &[u8], out: &mut Vec<u8>) {
    encode_key(number, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn write_map_key(kind: &Kind, key: &str, path: &str, out: &mut Vec<u8>) -> Result<(), JsonError> {
    let as_json = match kind {
        Kind::String => Value::String(key.to_owned()),
        _ => Value::String(key.to_owned()),
    };
    let mut ignored = Vec::new();
    let mut p = path.to_owned();
    write_single(kind, &as_json, 1, &mut p, out, &mut ignored, true).map(|_| ())
}

#[allow(clippy::too_many_arguments)]
fn write_single(
    kind: &Kind,
    value: &Value,
    number: u32,
    path: &mut String,
    out: &mut Vec<u8>,
    missing: &mut Vec<String>,
    required: bool,
) -> Result<bool, JsonError> {
    let wrong = |want: &str, path: &str| {
        field_error(path, format!("expecting {want}, got {}", shape(value)))
    };
    match kind {
        Kind::Message(desc) => {
            let mut buf = Vec::new();
            message(desc, value, path, &mut buf, missing)?;
            write_len(number, &buf, out);
        }
        Kind::Enum(desc) => {
            let Value::String(name) = value else {
                return Err(wrong("an enum name string", path));
            };
            match desc.get_value_by_name(name) {
                Some(v) => {
                    encode_key(number, WireType::Varint, out);
                    encode_varint(i64::from(v.number()) as u64, out);
                }
                None if required => {
                    return Err(field_error(
                        path,
                        format!("unknown value {name:?} for enum {}", desc.name()),
                    ));
                }
                // Newer masters add enum values; an optional one is dropped.
                None => return Ok(false),
            }
        }
        Kind::String => match value {
            Value::String(s) => write_len(number, s.as_bytes(), out),
            _ => return Err(wrong("a string", path)),
        },
        Kind::Bytes => match value {
            Value::String(s) => {
                let bytes = decode_base64(s).map_err(|m| field_error(path, m))?;
                write_len(number, &bytes, out);
            }
            _ => return Err(wrong("a base64 string", path)),
        },
        Kind::Bool => {
            let b = match value {
                Value::Bool(b) => *b,
                Value::String(s) if s == "true" => true,
                Value::String(s) if s == "false" => false,
                _ => return Err(wrong("a boolean", path)),
            };
            encode_key(number, WireType::Varint, out);
            encode_varint(u64::from(b), out);
        }
        Kind::Double => {
            let f = parse_float(value).ok_or_else(|| wrong("a number", path))?;
            encode_key(number, WireType::SixtyFourBit, out);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Kind::Float => {
            let f = parse_float(value).ok_or_else(|| wrong("a number", path))?;
            encode_key(number, WireType::ThirtyTwoBit, out);
            #[allow(clippy::cast_possible_truncation)]
            out.extend_from_slice(&(f as f32).to_le_bytes());
        }
        Kind::Int32 => {
            let n: i32 = parse_int(value).ok_or_else(|| wrong("a 32-bit integer", path))?;
            encode_key(number, WireType::Varint, out);
            encode_varint(i64::from(n) as u64, out);
        }
        Kind::Int64 => {
            let n: i64 = parse_int(value).ok_or_else(|| wrong("a 64-bit integer", path))?;
            encode_key(number, WireType::Varint, out);
            encode_varint(n as u64, out);
        }
        Kind::Uint32 => {
            let n: u32 =
                parse_int(value).ok_or_else(|| wrong("an unsigned 32-bit integer", path))?;
            encode_key(number, WireType::Varint, out);
            encode_varint(u64::from(n), out);
        }
        Kind::Uint64 => {
            let n: u64 =
                parse_int(value).ok_or_else(|| wrong("an unsigned 64-bit integer", path))?;
            encode_key(number, WireType::Varint, out);
            encode_varint(n, out);
        }
        Kind::Sint32 => {
            let n: i32 = parse_int(value).ok_or_else(|| wrong("a 32-bit integer", path))?;
            encode_key(number, WireType::Varint, out);
            encode_varint(u64::from(((n << 1) ^ (n >> 31)) as u32), out);
        }
        Kind::Sint64 => {
            let n: i64 = parse_int(value).ok_or_else(|| wrong("a 64-bit integer", path))?;
            encode_key(number, WireType::Varint, out);
            encode_varint(((n << 1) ^ (n >> 63)) as u64, out);
        }
        Kind::Fixed32 => {
            let n: u32 =
                parse_int(value).ok_or_else(|| wrong("an unsigned 32-bit integer", path))?;
            encode_key(number, WireType::ThirtyTwoBit, out);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Kind::Sfixed32 => {
            let n: i32 = parse_int(value).ok_or_else(|| wrong("a 32-bit integer", path))?;
            encode_key(number, WireType::ThirtyTwoBit, out);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Kind::Fixed64 => {
            let n: u64 =
                parse_int(value).ok_or_else(|| wrong("an unsigned 64-bit integer", path))?;
            encode_key(number, WireType::SixtyFourBit, out);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Kind::Sfixed64 => {
            let n: i64 = parse_int(value).ok_or_else(|| wrong("a 64-bit integer", path))?;
            encode_key(number, WireType::SixtyFourBit, out);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
    Ok(true)
}

fn parse_float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            "NaN" => Some(f64::NAN),
            other => other.trim().parse().ok(),
        },
        _ => None,
    }
}

fn parse_int<T>(value: &Value) -> Option<T>
where
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                T::try_from(u).ok()
            } else if let Some(i) = n.as_i64() {
                T::try_from(i).ok()
            } else {
                // An integral double such as 5.0 is accepted, as stout does.
                let f = n.as_f64()?;
                #[allow(clippy::cast_possible_truncation)]
                (f.fract() == 0.0 && f.abs() < 9.0e15).then(|| T::try_from(f as i64).ok())?
            }
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
