//! The store-wide block index: every block of every stored shard, found by its own multihash.
//!
//! Trustless clients (Helia, kubo, boxo) ask for blocks by their own CID, not through an upload's
//! root, so the gateway must find any stored block in one lookup. The index maps a block's
//! multihash to the shard object that holds it and the byte range of its section there (from the
//! shard's CARv2 index), so a hit is one ranged read. Rows are spread over [`PARTITIONS`]
//! partitions by the first byte of the digest: a uniform split for the cryptographic hashes CIDs
//! use, so each partition (a Durable Object at the edge) holds 1/256 of the rows and a shard's
//! rows go out as at most 256 batches. The rule for which rows a shard gives, and where each goes,
//! lives here once; the edge worker only moves the batches.

use std::collections::BTreeMap;
use std::ops::Range;

use cid::Cid;

use crate::codec::multicodec::IDENTITY;
use crate::codec::varint;
use crate::gateway::store::{read_v2_header, CarIndex, StoreError};

/// How many partitions the index is split into (one per first digest byte).
pub const PARTITIONS: usize = 256;

/// One row: a block's multihash bytes and where its section is in the shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The block's multihash as bytes (code, length, digest): the row's key.
    pub multihash: Vec<u8>,
    /// Byte range of the block's section in the shard's file.
    pub section: Range<u64>,
}

/// The index key of a block: its multihash as bytes (code, length, digest). Blocks of one
/// multihash are the same bytes whatever the CID's codec, so a `raw` and a `dag-pb` CID of the
/// same digest find the same row (the reader checks the codec's own rules afterwards).
pub fn key(cid: &Cid) -> Vec<u8> {
    cid.hash().to_bytes()
}

/// The partition of a multihash's rows: the first byte of its digest (0 for an empty digest).
pub fn partition_of(cid: &Cid) -> u8 {
    cid.hash().digest().first().copied().unwrap_or(0)
}

/// The rows a stored shard gives, from its index sidecar (a CARv2 header then its index, as the
/// upload door keeps it), grouped by partition. Identity blocks are left out: their CIDs hold them.
pub fn shard_rows(sidecar: &[u8]) -> Result<BTreeMap<u8, Vec<Row>>, StoreError> {
    let header = read_v2_header(sidecar)?;
    let index = sidecar.get(header.index_offset as usize..).ok_or(StoreError::NoIndex)?;
    let index = CarIndex::new(&header, index)?;
    let mut out: BTreeMap<u8, Vec<Row>> = BTreeMap::new();
    for (code, digest, section) in index.sections() {
        if code == IDENTITY {
            continue;
        }
        let mut multihash = Vec::with_capacity(digest.len() + 4);
        varint::put(&mut multihash, code);
        varint::put(&mut multihash, digest.len() as u64);
        multihash.extend_from_slice(digest);
        out.entry(digest.first().copied().unwrap_or(0))
            .or_default()
            .push(Row { multihash, section });
    }
    for rows in out.values_mut() {
        rows.sort_by(|a, b| a.multihash.cmp(&b.multihash));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::store::section_block;
    use crate::ingest::ShardIngest;

    /// A shard's bytes, its index sidecar as the upload door makes it, and its blocks.
    type Ingested = (Vec<u8>, Vec<u8>, Vec<(Cid, Vec<u8>)>);

    fn ingested(name: &str) -> Ingested {
        let bytes = crate::testutil::fixture(&format!("gateway-conformance/{name}"));
        let (_, blocks) = crate::car::read_all(&bytes).unwrap();
        let mut ingest = ShardIngest::new(u64::MAX);
        ingest.push(&bytes).unwrap();
        let shard = ingest.finish().unwrap();
        (bytes, shard.index, blocks.into_iter().map(|(c, d, _)| (c, d)).collect())
    }

    #[test]
    fn every_block_is_found_by_its_own_multihash_in_its_partition() {
        let (bytes, sidecar, blocks) =
            ingested("trustless_gateway_car/subdir-with-mixed-block-files.car");
        let rows = shard_rows(&sidecar).unwrap();
        assert_eq!(rows.values().map(Vec::len).sum::<usize>(), blocks.len());
        for (cid, data) in &blocks {
            let part = &rows[&partition_of(cid)];
            let row = part
                .iter()
                .find(|r| r.multihash == key(cid))
                .unwrap_or_else(|| panic!("{cid} not in its partition"));
            let section = &bytes[row.section.start as usize..row.section.end as usize];
            assert_eq!(&section_block(cid, section).unwrap(), data);
        }
    }

    #[test]
    fn rows_are_sorted_within_a_partition_and_keys_match_the_cid_crate() {
        let (_, sidecar, blocks) = ingested("path_gateway_unixfs/dir-with-files.car");
        for rows in shard_rows(&sidecar).unwrap().values() {
            assert!(rows.windows(2).all(|w| w[0].multihash < w[1].multihash));
        }
        let cid = blocks[0].0;
        assert_eq!(key(&cid), cid.hash().to_bytes());
        let raw = Cid::new_v1(crate::codec::multicodec::RAW, *cid.hash());
        assert_eq!(key(&raw), key(&cid), "one multihash, one row, whatever the codec");
    }

    #[test]
    fn a_broken_sidecar_is_an_error_not_a_panic() {
        assert!(shard_rows(&[]).is_err());
        let (_, mut sidecar, _) = ingested("path_gateway_unixfs/dir-with-files.car");
        sidecar.truncate(sidecar.len() - 3);
        assert!(shard_rows(&sidecar).is_err());
        assert!(shard_rows(&sidecar[..40]).is_err());
    }
}
