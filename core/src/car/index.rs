//! CARv2 indexes: `MultihashIndexSorted` (0x0401), which carport writes, and the older
//! `IndexSorted` (0x0400), which it also reads.
//!
//! Layout (go-car): varint codec; for 0x0401 an i32 count of multihash codes, then per code
//! (ascending) its u64 code followed by an `IndexSorted` body; an `IndexSorted` body is an i32
//! count of digest widths, then per width (ascending) a u32 record width (digest + 8), an i64 byte
//! length and the records, each `digest || u64 offset` sorted by digest. All integers are
//! little-endian; offsets count from the start of the inner CARv1.

use std::collections::BTreeMap;

use crate::codec::varint;

pub const MULTIHASH_INDEX_SORTED: u64 = 0x0401;
pub const INDEX_SORTED: u64 = 0x0400;

/// One index record: which block (by multihash code and digest) sits at which offset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexEntry {
    pub code: u64,
    pub digest: Vec<u8>,
    pub offset: u64,
}

/// Encodes a `MultihashIndexSorted` over `entries` (in any order).
pub fn encode_index(entries: &[IndexEntry]) -> Vec<u8> {
    // code → digest length → (digest, offset)
    type Buckets<'a> = BTreeMap<u64, BTreeMap<usize, Vec<(&'a [u8], u64)>>>;
    let mut by_code: Buckets = BTreeMap::new();
    for e in entries {
        by_code
            .entry(e.code)
            .or_default()
            .entry(e.digest.len())
            .or_default()
            .push((&e.digest, e.offset));
    }
    let mut out = Vec::with_capacity(16 + entries.len() * 40);
    varint::put(&mut out, MULTIHASH_INDEX_SORTED);
    out.extend_from_slice(&(by_code.len() as i32).to_le_bytes());
    for (code, widths) in by_code {
        out.extend_from_slice(&code.to_le_bytes());
        out.extend_from_slice(&(widths.len() as i32).to_le_bytes());
        for (len, mut records) in widths {
            records.sort_unstable();
            let width = len + 8;
            out.extend_from_slice(&(width as u32).to_le_bytes());
            out.extend_from_slice(&((width * records.len()) as i64).to_le_bytes());
            for (digest, offset) in records {
                out.extend_from_slice(digest);
                out.extend_from_slice(&offset.to_le_bytes());
            }
        }
    }
    out
}

/// Decodes either index format into records (code 0 where `IndexSorted` does not say).
pub fn decode_index(bytes: &[u8]) -> Result<Vec<IndexEntry>, String> {
    let mut r = Bytes { buf: bytes, pos: 0 };
    let codec = match varint::read(bytes) {
        varint::Read::Value(v, n) => {
            r.pos = n;
            v
        }
        _ => return Err("bad codec varint".into()),
    };
    let mut out = Vec::new();
    match codec {
        MULTIHASH_INDEX_SORTED => {
            let codes = r.count()?;
            for _ in 0..codes {
                let code = u64::from_le_bytes(r.take(8)?.try_into().expect("8"));
                read_sorted(&mut r, code, &mut out)?;
            }
        }
        INDEX_SORTED => read_sorted(&mut r, 0, &mut out)?,
        other => return Err(format!("unsupported index codec 0x{other:x}")),
    }
    if r.pos != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - r.pos));
    }
    Ok(out)
}

fn read_sorted(r: &mut Bytes, code: u64, out: &mut Vec<IndexEntry>) -> Result<(), String> {
    let widths = r.count()?;
    for _ in 0..widths {
        let width = u32::from_le_bytes(r.take(4)?.try_into().expect("4")) as usize;
        let len = i64::from_le_bytes(r.take(8)?.try_into().expect("8"));
        if width <= 8 || len < 0 || !(len as u64).is_multiple_of(width as u64) {
            return Err(format!("bad record width {width} or length {len}"));
        }
        let records = r.take(len as usize)?;
        for rec in records.chunks_exact(width) {
            let (digest, offset) = rec.split_at(width - 8);
            out.push(IndexEntry {
                code,
                digest: digest.to_vec(),
                offset: u64::from_le_bytes(offset.try_into().expect("8")),
            });
        }
    }
    Ok(())
}

struct Bytes<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("index truncated")?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn count(&mut self) -> Result<usize, String> {
        let n = i32::from_le_bytes(self.take(4)?.try_into().expect("4"));
        usize::try_from(n).map_err(|_| format!("negative count {n}"))
    }
}
