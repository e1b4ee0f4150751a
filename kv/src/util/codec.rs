//! Memcomparable encoding of byte strings (TinyKV's `codec` package).
//!
//! Region boundaries reported to the scheduler are encoded this way so that
//! comparing encoded keys byte by byte gives the same order as comparing the
//! raw keys, even though the raw keys have no length prefix.
//!
//! The input is cut into groups of [`ENC_GROUP_SIZE`] bytes. Every group is
//! written out in full, padded with zeros if it is the last and short, and
//! followed by a marker byte `0xFF - pad`, where `pad` is how many zero bytes
//! were added. A group that ends exactly at the end of the input is followed
//! by one more, all-padding group, so the encoding always ends with a marker
//! below `0xFF`:
//!
//! ```text
//! []                        -> [0, 0, 0, 0, 0, 0, 0, 0, 247]
//! [1, 2, 3]                 -> [1, 2, 3, 0, 0, 0, 0, 0, 250]
//! [1, 2, 3, 0]              -> [1, 2, 3, 0, 0, 0, 0, 0, 251]
//! [1, 2, 3, 4, 5, 6, 7, 8]  -> [1, 2, 3, 4, 5, 6, 7, 8, 255, 0, 0, 0, 0, 0, 0, 0, 0, 247]
//! ```

use thiserror::Error;

/// Bytes of input carried by one encoded group.
pub const ENC_GROUP_SIZE: usize = 8;
/// Marker of a full group (no padding).
pub const ENC_MARKER: u8 = 0xFF;
/// The padding byte.
pub const ENC_PAD: u8 = 0x00;

/// Why [`decode_bytes`] rejected its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// Fewer than one group plus its marker was left.
    #[error("insufficient bytes to decode value: {0}")]
    Insufficient(usize),
    /// A marker claimed more padding than a group holds.
    #[error("invalid marker byte, group bytes {0:?}")]
    InvalidMarker(Vec<u8>),
    /// A padded group had a non-zero byte where padding should be.
    #[error("invalid padding byte, group bytes {0:?}")]
    InvalidPadding(Vec<u8>),
}

/// Encodes `data` so that the encoded forms sort like the originals.
pub fn encode_bytes(data: &[u8]) -> Vec<u8> {
    let groups = data.len() / ENC_GROUP_SIZE + 1;
    // Room for the groups plus a little more (callers sometimes append a
    // timestamp or similar suffix).
    let mut out = Vec::with_capacity(groups * (ENC_GROUP_SIZE + 1) + 8);
    let mut idx = 0;
    while idx <= data.len() {
        let remain = data.len() - idx;
        let pad = if remain >= ENC_GROUP_SIZE {
            out.extend_from_slice(&data[idx..idx + ENC_GROUP_SIZE]);
            0
        } else {
            out.extend_from_slice(&data[idx..]);
            let pad = ENC_GROUP_SIZE - remain;
            out.resize(out.len() + pad, ENC_PAD);
            pad
        };
        out.push(ENC_MARKER - pad as u8);
        idx += ENC_GROUP_SIZE;
    }
    out
}

/// Decodes one value written by [`encode_bytes`] from the front of `b`.
///
/// Returns `(rest, decoded)`: the bytes after the encoded value, and the
/// value itself (Go returns them in the same order).
pub fn decode_bytes(mut b: &[u8]) -> Result<(&[u8], Vec<u8>), CodecError> {
    let mut data = Vec::with_capacity(b.len());
    loop {
        if b.len() < ENC_GROUP_SIZE + 1 {
            return Err(CodecError::Insufficient(b.len()));
        }
        let (group_bytes, rest) = b.split_at(ENC_GROUP_SIZE + 1);
        let group = &group_bytes[..ENC_GROUP_SIZE];
        let marker = group_bytes[ENC_GROUP_SIZE];
        let pad = (ENC_MARKER - marker) as usize;
        if pad > ENC_GROUP_SIZE {
            return Err(CodecError::InvalidMarker(group_bytes.to_vec()));
        }
        let real = ENC_GROUP_SIZE - pad;
        data.extend_from_slice(&group[..real]);
        b = rest;
        if pad != 0 {
            if group[real..].iter().any(|&v| v != ENC_PAD) {
                return Err(CodecError::InvalidPadding(group_bytes.to_vec()));
            }
            return Ok((b, data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_matches_documented_examples() {
        assert_eq!(encode_bytes(&[]), vec![0, 0, 0, 0, 0, 0, 0, 0, 247]);
        assert_eq!(encode_bytes(&[1, 2, 3]), vec![1, 2, 3, 0, 0, 0, 0, 0, 250]);
        assert_eq!(
            encode_bytes(&[1, 2, 3, 0]),
            vec![1, 2, 3, 0, 0, 0, 0, 0, 251]
        );
        assert_eq!(
            encode_bytes(&[1, 2, 3, 4, 5, 6, 7, 8]),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 255, 0, 0, 0, 0, 0, 0, 0, 0, 247]
        );
        assert_eq!(
            encode_bytes(&[1, 2, 3, 4, 5, 6, 7, 8, 9]),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 255, 9, 0, 0, 0, 0, 0, 0, 0, 248]
        );
    }

    #[test]
    fn round_trip_keeps_value_and_rest() {
        let inputs: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0xFF; 7],
            vec![0xFF; 8],
            b"hello world, this is longer than two groups".to_vec(),
            (0..=255u8).collect(),
        ];
        for input in inputs {
            let mut enc = encode_bytes(&input);
            assert_eq!(enc.len() % (ENC_GROUP_SIZE + 1), 0);
            enc.extend_from_slice(b"tail");
            let (rest, dec) = decode_bytes(&enc).unwrap();
            assert_eq!(dec, input);
            assert_eq!(rest, b"tail");
        }
    }

    #[test]
    fn encoding_preserves_order() {
        let mut keys: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![1],
            vec![1, 2, 3],
            vec![1, 2, 3, 0],
            vec![1, 2, 3, 4, 5, 6, 7, 8],
            vec![1, 2, 3, 4, 5, 6, 7, 8, 0],
            vec![1, 2, 3, 4, 5, 6, 7, 9],
            vec![0xFF],
            vec![0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        ];
        keys.sort();
        let encoded: Vec<Vec<u8>> = keys.iter().map(|k| encode_bytes(k)).collect();
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(encoded, sorted);
    }

    #[test]
    fn decode_rejects_bad_input() {
        assert_eq!(decode_bytes(&[1, 2, 3]), Err(CodecError::Insufficient(3)));
        // A full group followed by nothing.
        assert_eq!(
            decode_bytes(&[1, 2, 3, 4, 5, 6, 7, 8, 255]),
            Err(CodecError::Insufficient(0))
        );
        // Marker claims 9 pad bytes.
        assert!(matches!(
            decode_bytes(&[0, 0, 0, 0, 0, 0, 0, 0, 246]),
            Err(CodecError::InvalidMarker(_))
        ));
        // Padding that is not zero.
        assert!(matches!(
            decode_bytes(&[1, 2, 3, 0, 0, 0, 0, 1, 250]),
            Err(CodecError::InvalidPadding(_))
        ));
    }
}
