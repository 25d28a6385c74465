//! Reading one block out of a stored CARv2 with one ranged read, by its `MultihashIndexSorted`
//! index; and DNSLink TXT records.
//!
//! The index gives each block's section offset; sorted by offset, the next section's offset (or
//! the end of the data) bounds it, so the exact byte range of a section is known up front.

use std::collections::HashMap;
use std::ops::Range;

use cid::Cid;

use crate::car::{decode_index, IndexError, V2Header, PRAGMA, PRAGMA_LEN, V2_HEADER_LEN};
use crate::codec::varint;
use crate::gateway::path::{parse_ipfs_path, ContentPath};

/// Bytes at the start of a CARv2 that say where its data and index are.
pub const V2_PREFIX_LEN: usize = PRAGMA_LEN + V2_HEADER_LEN;

/// Why a block cannot be read out of a stored CARv2.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The bytes do not start with the CARv2 pragma.
    #[error("not a CARv2 (pragma missing)")]
    NotV2,
    /// The CARv2 header gives no index offset.
    #[error("the CARv2 has no index")]
    NoIndex,
    /// The index does not decode, or points outside the data.
    #[error("invalid CARv2 index: {0}")]
    Index(IndexError),
    /// The bytes read at a block's located range are not its section.
    #[error("section for {cid} does not hold it: {reason}")]
    Section {
        /// The block asked for.
        cid: Cid,
        /// What was found instead.
        reason: String,
    },
}

impl crate::error::Coded for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::NotV2 => "NotV2",
            StoreError::NoIndex => "NoIndex",
            StoreError::Index(e) => e.code(),
            StoreError::Section { .. } => "Section",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            StoreError::Section { cid, .. } => Some(cid),
            _ => None,
        }
    }
}

/// Where the blocks of one stored CARv2 are.
#[derive(Clone, Debug)]
pub struct CarIndex {
    /// (multihash code, digest) → byte range of the section in the file.
    sections: HashMap<(u64, Vec<u8>), Range<u64>>,
}

/// The fixed CARv2 header, from the file's first [`V2_PREFIX_LEN`] bytes.
pub fn read_v2_header(prefix: &[u8]) -> Result<V2Header, StoreError> {
    if prefix.len() < V2_PREFIX_LEN || prefix[..PRAGMA_LEN] != PRAGMA {
        return Err(StoreError::NotV2);
    }
    Ok(V2Header::decode(&prefix[PRAGMA_LEN..V2_PREFIX_LEN]))
}

impl CarIndex {
    /// Builds the lookup from the header and the index bytes (file offset `index_offset` to the end).
    pub fn new(header: &V2Header, index: &[u8]) -> Result<Self, StoreError> {
        if header.index_offset == 0 {
            return Err(StoreError::NoIndex);
        }
        let entries = decode_index(index).map_err(StoreError::Index)?;
        let mut offsets: Vec<u64> = entries.iter().map(|e| e.offset).collect();
        offsets.sort_unstable();
        offsets.dedup();
        let mut sections = HashMap::with_capacity(entries.len());
        for e in entries {
            let i = offsets.partition_point(|&o| o <= e.offset);
            let end = offsets.get(i).copied().unwrap_or(header.data_size);
            if end <= e.offset || end > header.data_size {
                return Err(StoreError::Index(IndexError::OutOfData { offset: e.offset }));
            }
            sections.insert(
                (e.code, e.digest),
                header.data_offset + e.offset..header.data_offset + end,
            );
        }
        Ok(CarIndex { sections })
    }

    /// The byte range of the file that holds `cid`'s section (an upper bound: the next section
    /// starts there, or the data ends).
    pub fn locate(&self, cid: &Cid) -> Option<Range<u64>> {
        let mh = cid.hash();
        self.sections.get(&(mh.code(), mh.digest().to_vec())).cloned()
    }

    /// Every block's multihash (code, digest) and the byte range of its section, in no order.
    pub fn sections(&self) -> impl Iterator<Item = (u64, &[u8], Range<u64>)> + '_ {
        self.sections.iter().map(|((code, digest), r)| (*code, digest.as_slice(), r.clone()))
    }

    /// Distinct blocks indexed.
    pub fn len(&self) -> usize {
        self.sections.len()
    }

    /// Whether no block is indexed.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }
}

/// The block inside a section read from `locate`'s range; the caller still verifies its hash.
pub fn section_block(cid: &Cid, section: &[u8]) -> Result<Vec<u8>, StoreError> {
    let bad = |reason: &str| StoreError::Section { cid: *cid, reason: reason.to_string() };
    let (len, n) = match varint::read(section) {
        varint::Read::Value(len, n) => (len as usize, n),
        _ => return Err(bad("bad length")),
    };
    let body = section.get(n..n + len).ok_or_else(|| bad("truncated"))?;
    let mut cursor = std::io::Cursor::new(body);
    let found = Cid::read_bytes(&mut cursor).map_err(|_| bad("bad CID"))?;
    if found.hash() != cid.hash() {
        return Err(bad(&format!("found {found}")));
    }
    Ok(body[cursor.position() as usize..].to_vec())
}

/// The content path of a DNSLink TXT record value (`dnslink=/ipfs/{cid}[/path]`).
pub fn parse_dnslink(txt: &str) -> Option<ContentPath> {
    let v = txt.trim().trim_matches('"').strip_prefix("dnslink=")?;
    parse_ipfs_path(v.trim()).ok()
}

/// The DNSLink among several TXT values: the first valid `/ipfs/` one.
pub fn pick_dnslink<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<ContentPath> {
    values.into_iter().find_map(parse_dnslink)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::{read_all, CarWriter, Event};

    #[test]
    fn reads_each_block_by_its_range() {
        let bytes = crate::testutil::fixture(
            "gateway-conformance/trustless_gateway_car/subdir-with-mixed-block-files.car",
        );
        let (Event::Header { roots, .. }, blocks) = read_all(&bytes).unwrap() else { panic!() };
        let (mut w, _) = CarWriter::new(2, &roots);
        let mut body = Vec::new();
        for (c, d, _) in &blocks {
            w.block(c, d, &mut body);
        }
        let f = w.finish(&roots);
        let file = [f.header, body, f.trailer].concat();
        let h = read_v2_header(&file[..V2_PREFIX_LEN]).unwrap();
        let idx = CarIndex::new(&h, &file[h.index_offset as usize..]).unwrap();
        assert_eq!(idx.len(), blocks.len());
        for (c, d, _) in &blocks {
            let r = idx.locate(c).unwrap();
            assert_eq!(&section_block(c, &file[r.start as usize..r.end as usize]).unwrap(), d);
        }
        assert!(read_v2_header(&[0u8; 51]).is_err());
    }

    #[test]
    fn dnslink_records() {
        let p = parse_dnslink("dnslink=/ipfs/bafkqabtimvwgy3yk/a").unwrap();
        assert_eq!(p.segments, ["a"]);
        assert!(parse_dnslink("dnslink=/ipns/example.com").is_none());
        assert!(pick_dnslink(["v=spf1", "\"dnslink=/ipfs/bafkqabtimvwgy3yk\""]).is_some());
    }
}
