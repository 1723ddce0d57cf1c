//! The proto2 `required` check over protobuf wire bytes.
//!
//! prost does not enforce `required`; the master must (Mesos answers 400
//! "Missing required fields"). Walking the wire bytes with the descriptor is
//! an order of magnitude cheaper than building a dynamic message.

use prost::encoding::decode_varint;
use prost_reflect::{Cardinality, Kind, MessageDescriptor};

use super::join;

/// Appends the dotted path of every required field missing in `bytes`
/// (a message of type `desc`), recursing into present sub-messages.
pub(super) fn collect_missing(
    desc: &MessageDescriptor,
    mut bytes: &[u8],
    path: &str,
    missing: &mut Vec<String>,
) -> Result<(), String> {
    let mut seen: Vec<(u32, usize)> = Vec::new();
    while !bytes.is_empty() {
        let key = decode_varint(&mut bytes).map_err(|e| e.to_string())?;
        let number = u32::try_from(key >> 3).map_err(|_| "field number out of range".to_owned())?;
        let count = match seen.iter_mut().find(|(n, _)| *n == number) {
            Some((_, c)) => {
                *c += 1;
                *c - 1
            }
            None => {
                seen.push((number, 1));
                0
            }
        };
        match key & 7 {
            0 => {
                decode_varint(&mut bytes).map_err(|e| e.to_string())?;
            }
            1 => bytes = bytes.get(8..).ok_or("truncated 64-bit field")?,
            5 => bytes = bytes.get(4..).ok_or("truncated 32-bit field")?,
            2 => {
                let len = usize::try_from(decode_varint(&mut bytes).map_err(|e| e.to_string())?)
                    .map_err(|_| "length out of range".to_owned())?;
                let (inner, rest) = bytes
                    .split_at_checked(len)
                    .ok_or("truncated length-delimited field")?;
                bytes = rest;
                if let Some(field) = desc.get_field(number)
                    && let Kind::Message(sub) = field.kind()
                {
                    let sub_path = if field.is_list() {
                        format!("{}[{count}]", join(path, field.name()))
                    } else {
                        join(path, field.name())
                    };
                    collect_missing(&sub, inner, &sub_path, missing)?;
                }
            }
            other => return Err(format!("unsupported wire type {other}")),
        }
    }
    for field in desc.fields() {
        if field.cardinality() == Cardinality::Required
            && !seen.iter().any(|(n, _)| *n == field.number())
        {
            missing.push(join(path, field.name()));
        }
    }
    Ok(())
}
