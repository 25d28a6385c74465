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

/// Multicodec of the `MultihashIndexSorted` index, the one carport writes.
pub const MULTIHASH_INDEX_SORTED: u64 = 0x0401;
pub const INDEX_SORTED: u64 = 0x0400;

/// One index record: which block (by multihash code and digest) sits at which offset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexEntry {
    /// The block's multihash code (0 when read from an `IndexSorted` index, which has none).
    pub code: u64,
    /// The block's multihash digest.
    pub digest: Vec<u8>,
    /// Byte of the inner CARv1 where the block's section starts.
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

/// Why CARv2 index bytes (or a stored index sidecar) cannot be used. `at` is the byte at fault,
/// counted from the start of the index.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IndexError {
    /// The index does not start with a valid varint codec.
    #[error("bad codec varint")]
    CodecVarint,
    /// An index codec other than `MultihashIndexSorted` and `IndexSorted`.
    #[error("unsupported index codec 0x{0:x}")]
    UnsupportedCodec(u64),
    /// The index ends inside a field.
    #[error("index truncated")]
    Truncated {
        /// Where the missing bytes should have started.
        at: usize,
    },
    /// A count of codes or widths below zero.
    #[error("negative count {count}")]
    NegativeCount {
        /// The count as written.
        count: i32,
        /// The count's first byte.
        at: usize,
    },
    /// A bucket whose record width cannot hold a digest and an offset, or whose byte length is
    /// not a whole number of records.
    #[error("bad record width {width} or length {len}")]
    RecordWidth {
        /// The record width as written.
        width: u32,
        /// The bucket's byte length as written.
        len: i64,
        /// The width's first byte.
        at: usize,
    },
    /// Bytes after the last bucket.
    #[error("{len} trailing bytes")]
    TrailingBytes {
        /// How many.
        len: usize,
        /// The first of them.
        at: usize,
    },
    /// A record whose block offset is not inside the CAR's data.
    #[error("offset {offset} out of the data")]
    OutOfData {
        /// The record's offset, from the start of the inner CARv1.
        offset: u64,
    },
    /// A stored index sidecar that does not start with the CARv2 pragma.
    #[error("not a CARv2 (pragma missing)")]
    NotV2,
    /// A stored index sidecar whose header puts the index before the header's end or past the
    /// sidecar's end.
    #[error("index offset out of range")]
    IndexOffset {
        /// The index offset the sidecar's header gives.
        offset: u64,
    },
}

/// The offset is `at`, within the index.
impl crate::error::Coded for IndexError {
    fn code(&self) -> &'static str {
        "CarIndex"
    }

    fn offset(&self) -> Option<u64> {
        match self {
            IndexError::Truncated { at }
            | IndexError::NegativeCount { at, .. }
            | IndexError::RecordWidth { at, .. }
            | IndexError::TrailingBytes { at, .. } => Some(*at as u64),
            _ => None,
        }
    }
}

/// Decodes either index format into records (code 0 where `IndexSorted` does not say).
pub fn decode_index(bytes: &[u8]) -> Result<Vec<IndexEntry>, IndexError> {
    let mut r = Bytes { buf: bytes, pos: 0 };
    let codec = match varint::read(bytes) {
        varint::Read::Value(v, n) => {
            r.pos = n;
            v
        }
        _ => return Err(IndexError::CodecVarint),
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
        other => return Err(IndexError::UnsupportedCodec(other)),
    }
    if r.pos != bytes.len() {
        return Err(IndexError::TrailingBytes { len: bytes.len() - r.pos, at: r.pos });
    }
    Ok(out)
}

fn read_sorted(r: &mut Bytes, code: u64, out: &mut Vec<IndexEntry>) -> Result<(), IndexError> {
    let widths = r.count()?;
    for _ in 0..widths {
        let at = r.pos;
        let width = u32::from_le_bytes(r.take(4)?.try_into().expect("4"));
        let len = i64::from_le_bytes(r.take(8)?.try_into().expect("8"));
        if width <= 8 || len < 0 || !(len as u64).is_multiple_of(u64::from(width)) {
            return Err(IndexError::RecordWidth { width, len, at });
        }
        let width = width as usize;
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
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(IndexError::Truncated { at: self.pos })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn count(&mut self) -> Result<usize, IndexError> {
        let at = self.pos;
        let n = i32::from_le_bytes(self.take(4)?.try_into().expect("4"));
        usize::try_from(n).map_err(|_| IndexError::NegativeCount { count: n, at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `IndexSorted`'s codec, then `rest`.
    fn sorted(rest: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint::put(&mut out, INDEX_SORTED);
        out.extend_from_slice(rest);
        out
    }

    #[test]
    fn a_bad_index_says_why_and_where() {
        let mut unknown = Vec::new();
        varint::put(&mut unknown, 0x0402);
        let width = |w: u32, len: i64| {
            sorted(&[&1i32.to_le_bytes()[..], &w.to_le_bytes(), &len.to_le_bytes()].concat())
        };
        let cases: &[(Vec<u8>, IndexError, &str)] = &[
            (vec![], IndexError::CodecVarint, "bad codec varint"),
            (unknown, IndexError::UnsupportedCodec(0x0402), "unsupported index codec 0x402"),
            (sorted(&[1, 0]), IndexError::Truncated { at: 2 }, "index truncated"),
            (
                sorted(&(-1i32).to_le_bytes()),
                IndexError::NegativeCount { count: -1, at: 2 },
                "negative count -1",
            ),
            (
                width(8, 0),
                IndexError::RecordWidth { width: 8, len: 0, at: 6 },
                "bad record width 8 or length 0",
            ),
            (
                width(40, 41),
                IndexError::RecordWidth { width: 40, len: 41, at: 6 },
                "bad record width 40 or length 41",
            ),
            (width(40, 40), IndexError::Truncated { at: 18 }, "index truncated"),
            (
                sorted(&[0, 0, 0, 0, 0xff]),
                IndexError::TrailingBytes { len: 1, at: 6 },
                "1 trailing bytes",
            ),
        ];
        for (bytes, want, text) in cases {
            let got = decode_index(bytes).unwrap_err();
            assert_eq!((&got, got.to_string().as_str()), (want, *text), "{bytes:02x?}");
        }
    }
}
