//! RecordIO framing, as the Mesos master writes the SUBSCRIBE event stream.
//!
//! A stream is a sequence of records, each `<decimal byte length>\n<bytes>`,
//! with nothing between a record and the next length. HTTP chunk boundaries
//! mean nothing: [`RecordIoDecoder`] reassembles records across any split.
//!
//! # Guarantees
//! - A record longer than the decoder's maximum is an error *before* any
//!   buffer for it is allocated; a hostile length prefix cannot exhaust memory.
//! - A header that is not a decimal number (or is longer than any `u64`) is an
//!   error, and the decoder stays failed: the stream cannot be resynchronised.
//!
//! # Example
//! ```
//! use bytes::BytesMut;
//! use tokio_util::codec::Decoder;
//! use plinth_proto::recordio::{frame, RecordIoDecoder};
//!
//! let mut buf = BytesMut::from(&frame(b"hello")[..]);
//! let mut decoder = RecordIoDecoder::new(1024);
//! assert_eq!(&decoder.decode(&mut buf).unwrap().unwrap()[..], b"hello");
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Default maximum record size: generous for an OFFERS event from a large
/// cluster, small enough that a corrupt prefix cannot exhaust memory.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 64 * 1024 * 1024;

/// The longest header we accept: `u64::MAX` has 20 decimal digits.
const MAX_HEADER_DIGITS: usize = 20;

/// Why a RecordIO stream could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordIoError {
    /// The length header holds something other than decimal digits.
    #[error("RecordIO header is not a decimal length: {header:?}")]
    InvalidHeader {
        /// The offending header bytes (lossy UTF-8, at most 32 chars).
        header: String,
    },
    /// The length header is longer than any valid length, with no newline.
    #[error("RecordIO header longer than {MAX_HEADER_DIGITS} digits without a newline")]
    HeaderTooLong,
    /// The record is larger than this decoder accepts.
    #[error("RecordIO record of {len} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge {
        /// The length announced by the header.
        len: u64,
        /// The decoder's maximum.
        max: usize,
    },
    /// The stream ended in the middle of a record.
    #[error("RecordIO stream ended inside a record ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes left over when the stream ended.
        buffered: usize,
    },
    /// The decoder already failed; a RecordIO stream cannot be resynchronised.
    #[error("RecordIO decoder already failed on this stream")]
    Failed,
    /// Reading the underlying stream failed.
    #[error("reading the RecordIO stream failed")]
    Io(#[from] std::io::Error),
}

/// Frames one record: `<len>\n<record>`.
#[must_use]
pub fn frame(record: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(record.len() + MAX_HEADER_DIGITS + 1);
    RecordIoEncoder.encode_into(record, &mut out);
    out.freeze()
}

/// Encodes records into RecordIO (a `tokio_util` [`Encoder`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordIoEncoder;

impl RecordIoEncoder {
    fn encode_into(self, record: &[u8], out: &mut BytesMut) {
        out.put_slice(record.len().to_string().as_bytes());
        out.put_u8(b'\n');
        out.put_slice(record);
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for RecordIoEncoder {
    type Error = std::io::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Self::Error> {
        self.encode_into(item.as_ref(), dst);
        Ok(())
    }
}

/// Streaming RecordIO decoder with a maximum record size.
#[derive(Debug, Clone)]
pub struct RecordIoDecoder {
    max_record_size: usize,
    state: DecodeState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeState {
    /// Waiting for a complete `<len>\n` header.
    Header,
    /// Header read; waiting for this many record bytes.
    Body(usize),
    /// A framing error happened; every later call fails.
    Failed,
}

// === impl RecordIoDecoder ===

impl RecordIoDecoder {
    /// A decoder that rejects records longer than `max_record_size` bytes.
    #[must_use]
    pub fn new(max_record_size: usize) -> Self {
        Self {
            max_record_size,
            state: DecodeState::Header,
        }
    }

    /// The largest record this decoder accepts.
    #[must_use]
    pub fn max_record_size(&self) -> usize {
        self.max_record_size
    }

    fn read_header(&mut self, src: &mut BytesMut) -> Result<Option<usize>, RecordIoError> {
        let Some(newline) = src
            .iter()
            .take(MAX_HEADER_DIGITS + 1)
            .position(|b| *b == b'\n')
        else {
            if src.len() > MAX_HEADER_DIGITS {
                return Err(RecordIoError::HeaderTooLong);
            }
            // Fail early on garbage instead of waiting for a newline.
            if let Some(bad) = src.iter().position(|b| !b.is_ascii_digit()) {
                return Err(invalid_header(&src[..=bad]));
            }
            return Ok(None);
        };
        let header = &src[..newline];
        if header.is_empty() || !header.iter().all(u8::is_ascii_digit) {
            return Err(invalid_header(header));
        }
        // Digits only and at most 20 of them: parsing can only overflow u64.
        let len: u64 = std::str::from_utf8(header)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid_header(header))?;
        if len > self.max_record_size as u64 {
            return Err(RecordIoError::RecordTooLarge {
                len,
                max: self.max_record_size,
            });
        }
        src.advance(newline + 1);
        Ok(Some(usize::try_from(len).unwrap_or(usize::MAX)))
    }
}

fn invalid_header(header: &[u8]) -> RecordIoError {
    let shown: String = String::from_utf8_lossy(header).chars().take(32).collect();
    RecordIoError::InvalidHeader { header: shown }
}

impl Default for RecordIoDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RECORD_SIZE)
    }
}

impl Decoder for RecordIoDecoder {
    type Item = Bytes;
    type Error = RecordIoError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, RecordIoError> {
        loop {
            match self.state {
                DecodeState::Failed => return Err(RecordIoError::Failed),
                DecodeState::Header => match self.read_header(src) {
                    Ok(Some(len)) => {
                        self.state = DecodeState::Body(len);
                        src.reserve(len.saturating_sub(src.len()));
                    }
                    Ok(None) => return Ok(None),
                    Err(e) => {
                        self.state = DecodeState::Failed;
                        return Err(e);
                    }
                },
                DecodeState::Body(len) => {
                    if src.len() < len {
                        return Ok(None);
                    }
                    self.state = DecodeState::Header;
                    return Ok(Some(src.split_to(len).freeze()));
                }
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, RecordIoError> {
        match self.decode(src)? {
            Some(record) => Ok(Some(record)),
            None if src.is_empty() && self.state == DecodeState::Header => Ok(None),
            None => {
                let buffered = src.len();
                self.state = DecodeState::Failed;
                Err(RecordIoError::Truncated { buffered })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]], max: usize) -> Result<Vec<Bytes>, RecordIoError> {
        let mut decoder = RecordIoDecoder::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(record) = decoder.decode(&mut buf)? {
                out.push(record);
            }
        }
        while let Some(record) = decoder.decode_eof(&mut buf)? {
            out.push(record);
        }
        Ok(out)
    }

    #[test]
    fn decodes_the_stout_example() {
        let records = decode_all(&[b"5\nhello6\nworld!"], 100).unwrap();
        assert_eq!(records, vec![Bytes::from("hello"), Bytes::from("world!")]);
    }

    #[test]
    fn zero_length_records_are_accepted() {
        let records = decode_all(&[b"0\n0\n1\nx"], 100).unwrap();
        assert_eq!(records.len(), 3);
        assert!(records[0].is_empty());
        assert_eq!(&records[2][..], b"x");
    }

    #[test]
    fn oversized_length_is_rejected_without_allocation() {
        let err = decode_all(&[b"18446744073709551615\n"], 1024).unwrap_err();
        assert!(
            matches!(err, RecordIoError::RecordTooLarge { max: 1024, .. }),
            "{err}"
        );
    }

    #[test]
    fn length_overflowing_u64_is_invalid() {
        let err = decode_all(&[b"99999999999999999999\n"], usize::MAX).unwrap_err();
        assert!(matches!(err, RecordIoError::InvalidHeader { .. }), "{err}");
    }

    #[test]
    fn garbage_header_fails_at_once_and_stays_failed() {
        let mut decoder = RecordIoDecoder::new(100);
        let mut buf = BytesMut::from(&b"{\"type\""[..]);
        assert!(matches!(
            decoder.decode(&mut buf),
            Err(RecordIoError::InvalidHeader { .. })
        ));
        let mut good = BytesMut::from(&b"1\nx"[..]);
        assert!(matches!(
            decoder.decode(&mut good),
            Err(RecordIoError::Failed)
        ));
    }

    #[test]
    fn endless_digits_are_rejected() {
        let err = decode_all(&[b"1234567890123456789012345"], usize::MAX).unwrap_err();
        assert!(matches!(err, RecordIoError::HeaderTooLong), "{err}");
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let err = decode_all(&[b"5\nhel"], 100).unwrap_err();
        assert!(
            matches!(err, RecordIoError::Truncated { buffered: 3 }),
            "{err}"
        );
        let err = decode_all(&[b"12"], 100).unwrap_err();
        assert!(
            matches!(err, RecordIoError::Truncated { buffered: 2 }),
            "{err}"
        );
    }

    #[test]
    fn lengths_count_bytes_not_chars() {
        let text = "héllo ✓";
        let records = decode_all(&[&frame(text.as_bytes())], 100).unwrap();
        assert_eq!(records[0], text.as_bytes());
    }

    proptest! {
        #[test]
        fn any_split_decodes_the_same(
            records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..12),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let stream: Vec<u8> = records.iter().flat_map(|r| frame(r).to_vec()).collect();
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for p in points {
                chunks.push(&stream[start..p]);
                start = p;
            }
            chunks.push(&stream[start..]);
            let decoded = decode_all(&chunks, 1024).unwrap();
            let expected: Vec<Bytes> = records.into_iter().map(Bytes::from).collect();
            prop_assert_eq!(decoded, expected);
        }

        #[test]
        fn larger_than_max_is_rejected(len in 101u64..u64::MAX) {
            let header = format!("{len}\n");
            let err = decode_all(&[header.as_bytes()], 100).unwrap_err();
            let rejected = matches!(
                err,
                RecordIoError::RecordTooLarge { .. } | RecordIoError::InvalidHeader { .. }
            );
            prop_assert!(rejected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_all(&[&data], 64);
        }
    }
}
