//! Raw DEFLATE (RFC 1951) for session bodies, with an inflater that cannot be
//! made to allocate more than the body limit.
//!
//! The engine is `miniz_oxide`: pure Rust, no `unsafe` in its inflater, the
//! default backend of `flate2`, and it exposes the low-level streaming
//! `decompress` call that lets us own the output buffer and stop growing it
//! at the limit.

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

/// DEFLATE level: 1 is the fastest; session bodies are small and the gain of
/// higher levels on them is a few bytes.
const LEVEL: u8 = 1;

/// Compresses `body` with raw DEFLATE.
pub(crate) fn deflate(body: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(body, LEVEL)
}

/// Why a compressed body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The body would inflate past the limit (inflation stopped at the limit).
    TooLarge,
    /// Not a complete, valid raw DEFLATE stream, or bytes follow its end.
    Invalid,
}

/// Inflates a raw DEFLATE stream to at most `limit` bytes.
///
/// The output buffer starts at a small multiple of the input and doubles up
/// to `limit`; as soon as the stream wants more, inflation stops. Memory used
/// is therefore at most `limit` plus the decompressor's fixed state (~11 KiB).
pub(crate) fn inflate(compressed: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut out = vec![0u8; compressed.len().saturating_mul(4).max(64).min(limit.max(1))];
    let mut state = Box::<DecompressorOxide>::default();
    let mut input = compressed;
    let mut written = 0;
    loop {
        let (status, consumed, produced) = decompress(&mut state, input, &mut out, written, flags);
        written += produced;
        input = input.get(consumed..).ok_or(InflateError::Invalid)?;
        match status {
            TINFLStatus::Done if input.is_empty() && written <= limit => {
                out.truncate(written);
                return Ok(out);
            }
            TINFLStatus::HasMoreOutput if out.len() >= limit => return Err(InflateError::TooLarge),
            TINFLStatus::HasMoreOutput => {
                let grown = out.len().saturating_mul(2).min(limit);
                out.resize(grown, 0);
            }
            _ => return Err(InflateError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let body = br#"{"cart":["sku-1","sku-1","sku-1","sku-1"]}"#.repeat(10);
        let packed = deflate(&body);
        assert!(packed.len() < body.len());
        assert_eq!(inflate(&packed, 64 * 1024).unwrap(), body);
    }

    #[test]
    fn a_body_of_exactly_the_limit_inflates_and_one_byte_more_does_not() {
        let body = vec![b'a'; 1000];
        let packed = deflate(&body);
        assert_eq!(inflate(&packed, 1000).unwrap().len(), 1000);
        assert_eq!(inflate(&packed, 999), Err(InflateError::TooLarge));
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let packed = deflate(&vec![0u8; 8 << 20]);
        assert!(
            packed.len() < 64 * 1024,
            "the bomb is smaller than the limit it breaks"
        );
        assert_eq!(inflate(&packed, 64 * 1024), Err(InflateError::TooLarge));
    }

    #[test]
    fn limits_below_the_initial_buffer_size_work() {
        let packed = deflate(b"hello hello hello hello");
        assert_eq!(inflate(&packed, 23).unwrap(), b"hello hello hello hello");
        assert_eq!(inflate(&packed, 22), Err(InflateError::TooLarge));
        assert_eq!(inflate(&packed, 0), Err(InflateError::TooLarge));
    }

    #[test]
    fn truncated_garbage_and_trailing_bytes_are_invalid() {
        let packed = deflate(b"hello hello hello hello");
        assert_eq!(
            inflate(&packed[..packed.len() - 1], 1024),
            Err(InflateError::Invalid)
        );
        assert_eq!(inflate(b"\xff\xff\xff", 1024), Err(InflateError::Invalid));
        let mut trailing = packed.clone();
        trailing.push(0);
        assert_eq!(inflate(&trailing, 1024), Err(InflateError::Invalid));
        assert_eq!(inflate(&[], 1024), Err(InflateError::Invalid));
    }
}
