//! [`Write`]: the record of a finished transaction on one key, kept in the
//! `write` column family under the key encoded with the commit timestamp
//! (the start timestamp for a rollback).
//!
//! Bytes: the kind, then the start timestamp as 8 big-endian bytes — nine
//! bytes in all, the same as TinyKV's.

use proto::kvrpcpb::Op;

use super::MvccError;

/// What a transaction did to a key (TinyKV's `WriteKind`; the numbers are
/// its byte values in a stored [`Write`] or lock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WriteKind {
    Put = 1,
    Delete = 2,
    Rollback = 3,
}

impl WriteKind {
    /// The kind stored as `byte`; `None` for a byte no kind has.
    pub fn from_byte(byte: u8) -> Option<WriteKind> {
        match byte {
            1 => Some(WriteKind::Put),
            2 => Some(WriteKind::Delete),
            3 => Some(WriteKind::Rollback),
            _ => None,
        }
    }

    /// The mutation kind a client would name this with.
    pub fn to_proto(self) -> Op {
        match self {
            WriteKind::Put => Op::Put,
            WriteKind::Delete => Op::Del,
            WriteKind::Rollback => Op::Rollback,
        }
    }

    /// The kind of a client's mutation. `Op::Lock` has none: TinyKV has no
    /// lock-only writes, and TinyKV's clients never send one.
    pub fn from_proto(op: Op) -> Option<WriteKind> {
        match op {
            Op::Put => Some(WriteKind::Put),
            Op::Del => Some(WriteKind::Delete),
            Op::Rollback => Some(WriteKind::Rollback),
            Op::Lock => None,
        }
    }
}

/// A committed (or rolled back) write: which transaction, by its start
/// timestamp, and what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    pub start_ts: u64,
    pub kind: WriteKind,
}

/// Length of a stored [`Write`].
const WRITE_LEN: usize = 9;

impl Write {
    pub fn new(start_ts: u64, kind: WriteKind) -> Self {
        Write { start_ts, kind }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(WRITE_LEN);
        buf.push(self.kind as u8);
        buf.extend_from_slice(&self.start_ts.to_be_bytes());
        buf
    }

    /// Parses what [`Write::to_bytes`] wrote.
    pub fn parse(value: &[u8]) -> Result<Write, MvccError> {
        if value.len() != WRITE_LEN {
            return Err(MvccError::BadWrite(value.len()));
        }
        let kind = WriteKind::from_byte(value[0]).ok_or(MvccError::BadKind(value[0]))?;
        let start_ts = u64::from_be_bytes(value[1..].try_into().expect("8 bytes"));
        Ok(Write { start_ts, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_kind_then_big_endian_start_ts() {
        let w = Write::new(0x0102_0304_0506_0708, WriteKind::Delete);
        assert_eq!(w.to_bytes(), vec![2, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Write::parse(&w.to_bytes()).unwrap(), w);
        assert_eq!(Write::parse(&[1, 0]), Err(MvccError::BadWrite(2)));
        assert_eq!(
            Write::parse(&[9, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(MvccError::BadKind(9))
        );
    }
}
