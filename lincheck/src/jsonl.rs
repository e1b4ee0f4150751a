//! Histories as JSON Lines: one operation per line, in invocation order.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::history::{History, Op};

/// Writes `history` to `path`, one JSON object per operation.
pub fn write_jsonl(history: &History, path: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for op in &history.ops {
        serde_json::to_writer(&mut out, op)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Reads a history written by [`write_jsonl`].
pub fn read_jsonl(path: &Path) -> std::io::Result<History> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut ops = Vec::new();
    for line in file.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let op: Op = serde_json::from_str(&line).map_err(std::io::Error::other)?;
        ops.push(op);
    }
    Ok(History { ops })
}
