//! A streaming CAR writer for when the root is known only at the end.
//!
//! The choice: the header is written first with a placeholder root of the same encoded length as
//! the real one will have (same CID version, codec width, hash and digest length), blocks stream
//! after it, and [`CarWriter::finish`] returns the final header bytes to write over the start of
//! the file. Seekable outputs patch in place; when the real root's length differs after all (an
//! inlined root, say) or the output cannot seek, the caller rewrites the header in front of the
//! body it kept. CARv2 works the same way: its fixed header and the index come at the end.

use cid::Cid;
use multihash::Multihash;

use super::cbor::encode_v1_header;
use super::index::{encode_index, IndexEntry};
use super::{V2Header, PRAGMA, PRAGMA_LEN, V2_HEADER_LEN};
use crate::codec::cids::CidRule;
use crate::codec::multicodec::DAG_PB;
use crate::codec::varint;

/// Appends one section (`varint(len) || cid || data`) to `out`.
pub fn section(out: &mut Vec<u8>, cid: &Cid, data: &[u8]) {
    let cid_bytes = cid.to_bytes();
    varint::put(out, (cid_bytes.len() + data.len()) as u64);
    out.extend_from_slice(&cid_bytes);
    out.extend_from_slice(data);
}

/// A CID of the shape `rule` gives a dag-pb root, with an all-zero digest.
pub fn placeholder_root(rule: &CidRule) -> Cid {
    let zero = Multihash::wrap(rule.hash.code(), &[0u8; 32]).expect("32 bytes fit");
    match rule.version {
        cid::Version::V0 => Cid::new_v0(zero).expect("sha2-256"),
        cid::Version::V1 => Cid::new_v1(DAG_PB, zero),
    }
}

/// The bytes that complete a CAR once the root is known.
#[derive(Debug, PartialEq, Eq)]
pub struct Finished {
    /// Bytes to append after the last block (the CARv2 index; empty for CARv1).
    pub trailer: Vec<u8>,
    /// The final file prefix: pragma and CARv2 header if any, then the CARv1 header.
    pub header: Vec<u8>,
    /// Length of the prefix written at the start; if it differs from `header.len()`, the header
    /// cannot be patched in place and the file must be rewritten as `header || body || trailer`.
    pub placeholder_len: usize,
}

impl Finished {
    /// Whether the real header is as long as the placeholder, so it can be written over it.
    pub fn patchable(&self) -> bool {
        self.header.len() == self.placeholder_len
    }

    /// Completes a CAR held in memory (placeholder header first): appends the trailer and puts
    /// the real header in place of the placeholder.
    pub fn complete(self, car: &mut Vec<u8>) {
        car.extend_from_slice(&self.trailer);
        car.splice(..self.placeholder_len, self.header);
    }
}

/// Writes a CAR as blocks arrive; see the module docs for how the root gets in.
pub struct CarWriter {
    version: u8,
    placeholder_len: usize,
    /// Bytes of sections written so far (after the CARv1 header).
    body_len: u64,
    index: Vec<IndexEntry>,
}

impl CarWriter {
    /// Starts a CAR of `version` (1 or 2); returns the writer and the bytes to write first.
    pub fn new(version: u8, placeholder_roots: &[Cid]) -> (Self, Vec<u8>) {
        let start = prefix(version, placeholder_roots, 0, 0);
        let writer =
            CarWriter { version, placeholder_len: start.len(), body_len: 0, index: Vec::new() };
        (writer, start)
    }

    /// Appends one block's section to `out`.
    pub fn block(&mut self, cid: &Cid, data: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&self.section_prefix(cid, data.len()));
        out.extend_from_slice(data);
    }

    /// Accounts for one block and returns the start of its section (`varint(len) || cid`); the
    /// block's bytes follow it. Lets callers write block data without copying it.
    pub fn section_prefix(&mut self, cid: &Cid, data_len: usize) -> Vec<u8> {
        // Identity CIDs hold their bytes already; go-car leaves them out of the index, and so do we.
        if self.version == 2 && cid.hash().code() != crate::codec::multicodec::IDENTITY {
            let mh = cid.hash();
            self.index.push(IndexEntry {
                code: mh.code(),
                digest: mh.digest().to_vec(),
                offset: self.body_len,
            });
        }
        let cid_bytes = cid.to_bytes();
        let mut prefix = Vec::with_capacity(cid_bytes.len() + 10);
        varint::put(&mut prefix, (cid_bytes.len() + data_len) as u64);
        prefix.extend_from_slice(&cid_bytes);
        self.body_len += (prefix.len() + data_len) as u64;
        prefix
    }

    /// Bytes of the CAR so far, placeholder header included.
    pub fn len(&self) -> u64 {
        self.placeholder_len as u64 + self.body_len
    }

    /// Whether no block has been written.
    pub fn is_empty(&self) -> bool {
        self.body_len == 0
    }

    /// Finishes with the real roots.
    pub fn finish(mut self, roots: &[Cid]) -> Finished {
        let v1_header_len = v1_header(roots).len() as u64;
        let header = prefix(self.version, roots, v1_header_len + self.body_len, self.index.len());
        let mut trailer = Vec::new();
        if self.version == 2 {
            for e in &mut self.index {
                e.offset += v1_header_len;
            }
            trailer = encode_index(&self.index);
        }
        Finished { trailer, header, placeholder_len: self.placeholder_len }
    }
}

fn v1_header(roots: &[Cid]) -> Vec<u8> {
    let cbor = encode_v1_header(roots);
    let mut out = Vec::with_capacity(cbor.len() + 2);
    varint::put(&mut out, cbor.len() as u64);
    out.extend_from_slice(&cbor);
    out
}

fn prefix(version: u8, roots: &[Cid], data_size: u64, indexed: usize) -> Vec<u8> {
    let v1 = v1_header(roots);
    if version != 2 {
        return v1;
    }
    let data_offset = (PRAGMA_LEN + V2_HEADER_LEN) as u64;
    let h = V2Header {
        characteristics: [0; 16],
        data_offset,
        data_size,
        index_offset: if indexed == 0 && data_size == 0 { 0 } else { data_offset + data_size },
    };
    let mut out = Vec::with_capacity(PRAGMA_LEN + V2_HEADER_LEN + v1.len());
    out.extend_from_slice(&PRAGMA);
    out.extend_from_slice(&h.encode());
    out.extend_from_slice(&v1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::{read_all, Event};

    fn fixture(name: &str) -> Vec<u8> {
        crate::testutil::fixture(&format!("go-car-v2/{name}"))
    }

    fn rewrite(version: u8, src: &[u8]) -> Vec<u8> {
        let (header, blocks) = read_all(src).unwrap();
        let Event::Header { roots, .. } = header else { panic!("no header") };
        let (mut w, start) = CarWriter::new(version, &roots);
        let mut body = Vec::new();
        for (cid, data, _) in &blocks {
            w.block(cid, data, &mut body);
        }
        let f = w.finish(&roots);
        assert!(f.patchable());
        assert_eq!(start.len(), f.header.len());
        [f.header, body, f.trailer].concat()
    }

    #[test]
    fn v1_rewrite_is_byte_identical() {
        let v1 = fixture("sample-v1.car");
        assert_eq!(rewrite(1, &v1), v1);
    }

    #[test]
    fn v2_matches_go_car_wrapping() {
        let v1 = fixture("sample-v1.car");
        let wrapped = fixture("sample-wrapped-v2.car");
        let ours = rewrite(2, &v1);
        assert_eq!(ours, wrapped);
    }
}
