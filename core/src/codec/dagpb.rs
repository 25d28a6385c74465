//! The dag-pb codec: the protobuf envelope of every UnixFS node.
//!
//! Written by hand because the format is two tiny messages and the spec demands a strict,
//! canonical form (links before data, fields in order, no unknown fields) that generic protobuf
//! crates do not enforce. Decoding then re-encoding any valid block gives the same bytes.

use cid::Cid;

use crate::codec::cids::exact_cid;
use crate::codec::varint;
use crate::error::DecodeError;

/// A link from one dag-pb node to another block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbLink {
    /// The CID linked to.
    pub hash: Cid,
    /// `None` and `Some("")` are different blocks; both occur in the wild.
    pub name: Option<String>,
    /// Cumulative size of the linked DAG, as its producer counted it.
    pub tsize: Option<u64>,
}

/// A dag-pb node: links, then opaque data (UnixFS puts its `Data` message here).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PbNode {
    /// The links, in block order.
    pub links: Vec<PbLink>,
    /// The data field, if the node has one.
    pub data: Option<Vec<u8>>,
}

impl PbLink {
    fn encoded_len(&self, cid_len: usize) -> usize {
        let mut n = 1 + varint::len(cid_len as u64) + cid_len;
        if let Some(name) = &self.name {
            n += 1 + varint::len(name.len() as u64) + name.len();
        }
        if let Some(t) = self.tsize {
            n += 1 + varint::len(t);
        }
        n
    }
}

impl PbNode {
    /// Encodes the node in canonical form. Links are written in the order given; UnixFS builders
    /// sort them first where the format asks for it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.links.len() * 48 + self.data.as_ref().map_or(0, |d| d.len() + 8),
        );
        for link in &self.links {
            let cid = link.hash.to_bytes();
            put_len_field(&mut out, 2, link.encoded_len(cid.len()));
            put_bytes_field(&mut out, 1, &cid);
            if let Some(name) = &link.name {
                put_bytes_field(&mut out, 2, name.as_bytes());
            }
            if let Some(t) = link.tsize {
                out.push(3 << 3);
                varint::put(&mut out, t);
            }
        }
        if let Some(data) = &self.data {
            put_bytes_field(&mut out, 1, data);
        }
        out
    }

    /// Decodes a block strictly, as the dag-pb spec requires.
    pub fn decode(bytes: &[u8]) -> Result<PbNode, DecodeError> {
        let mut links = Vec::new();
        let data = PbNode::visit(bytes, |link| links.push(link.into_link()))?;
        Ok(PbNode { links, data: data.map(<[u8]>::to_vec) })
    }

    /// Reads a block as strictly as [`PbNode::decode`], handing each link to `each` in order
    /// without copying anything: looking a name up in a folder of thousands of entries, or
    /// listing a block's links, allocates nothing. Returns the node's data.
    pub fn visit<'a>(
        bytes: &'a [u8],
        mut each: impl FnMut(PbLinkRef<'a>),
    ) -> Result<Option<&'a [u8]>, DecodeError> {
        let mut data = None;
        let mut r = Reader { buf: bytes, pos: 0, base: 0, canonical: true };
        while !r.done() {
            let at = r.pos;
            let (field, wire) = r.key()?;
            if wire != 2 {
                return Err(DecodeError::UnexpectedField { field, wire, offset: at });
            }
            match field {
                1 if data.is_none() => data = Some(r.bytes()?),
                2 if data.is_none() => {
                    let body = r.bytes()?;
                    each(decode_link(body, r.base + r.pos - body.len())?);
                }
                1 | 2 => return Err(DecodeError::FieldOrder(at)),
                _ => return Err(DecodeError::UnexpectedField { field, wire, offset: at }),
            }
        }
        Ok(data)
    }
}

/// A link as it sits in its block: [`PbLink`]'s fields, the name borrowed (and checked UTF-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PbLinkRef<'a> {
    /// The CID linked to.
    pub hash: Cid,
    /// The link's name, if it has one.
    pub name: Option<&'a str>,
    /// Cumulative size of the linked DAG, as its producer counted it.
    pub tsize: Option<u64>,
}

impl PbLinkRef<'_> {
    /// An owned [`PbLink`] of the same fields.
    pub fn into_link(self) -> PbLink {
        PbLink { hash: self.hash, name: self.name.map(str::to_string), tsize: self.tsize }
    }
}

fn decode_link(bytes: &[u8], base: usize) -> Result<PbLinkRef<'_>, DecodeError> {
    let mut r = Reader { buf: bytes, pos: 0, base, canonical: true };
    let mut hash = None;
    let mut name = None;
    let mut tsize = None;
    let mut last = 0;
    while !r.done() {
        let at = r.base + r.pos;
        let (field, wire) = r.key()?;
        if field <= last {
            return Err(DecodeError::FieldOrder(at));
        }
        last = field;
        match (field, wire) {
            (1, 2) => hash = Some(exact_cid(r.bytes()?).ok_or(DecodeError::BadCid(at))?),
            (2, 2) => {
                name = Some(std::str::from_utf8(r.bytes()?).map_err(|_| DecodeError::BadName(at))?)
            }
            (3, 0) => tsize = Some(r.varint()?),
            _ => return Err(DecodeError::UnexpectedField { field, wire, offset: at }),
        }
    }
    let hash = hash.ok_or(DecodeError::MissingHash(base))?;
    Ok(PbLinkRef { hash, name, tsize })
}

pub(crate) fn put_len_field(out: &mut Vec<u8>, field: u64, len: usize) {
    varint::put(out, field << 3 | 2);
    varint::put(out, len as u64);
}

pub(crate) fn put_bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_len_field(out, field, bytes.len());
    out.extend_from_slice(bytes);
}

/// A protobuf reader over one message; `base` turns its positions into block offsets. With
/// `canonical`, varints must be minimally encoded (dag-pb has exactly one encoding per node).
pub(crate) struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    pub base: usize,
    pub canonical: bool,
}

impl<'a> Reader<'a> {
    pub fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        match varint::read(&self.buf[self.pos..]) {
            varint::Read::Value(v, n) => {
                if self.canonical && n != varint::len(v) {
                    return Err(DecodeError::NonCanonical(self.base + self.pos));
                }
                self.pos += n;
                Ok(v)
            }
            varint::Read::Incomplete => Err(DecodeError::Truncated(self.base + self.buf.len())),
            varint::Read::Overflow => Err(DecodeError::VarintOverflow(self.base + self.pos)),
        }
    }

    pub fn key(&mut self) -> Result<(u64, u64), DecodeError> {
        let k = self.varint()?;
        Ok((k >> 3, k & 7))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        let end = (self.pos as u64).checked_add(len).filter(|&e| e <= self.buf.len() as u64);
        let end = end.ok_or(DecodeError::Truncated(self.base + self.buf.len()))? as usize;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn fixed32(&mut self) -> Result<u32, DecodeError> {
        let end = self.pos + 4;
        let b = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated(self.base + self.buf.len()))?;
        self.pos = end;
        Ok(u32::from_le_bytes(b.try_into().expect("four bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixtures() -> PathBuf {
        crate::testutil::fixtures().join("dagpb")
    }

    #[test]
    fn codec_fixtures_round_trip_byte_for_byte() {
        let rule = crate::codec::cids::CidRule {
            version: cid::Version::V1,
            hash: crate::codec::cids::HashAlg::Sha2_256,
            inline_limit: None,
        };
        let mut seen = 0;
        for dir in std::fs::read_dir(fixtures()).expect("fixtures beside the checkout") {
            for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let node = PbNode::decode(&bytes).unwrap_or_else(|e| panic!("{path:?}: {e}"));
                assert_eq!(node.encode(), bytes, "{path:?}");
                let name = path.file_stem().unwrap().to_str().unwrap();
                assert_eq!(rule.cid(crate::codec::multicodec::DAG_PB, &bytes).to_string(), name);
                seen += 1;
            }
        }
        assert!(seen >= 17, "only {seen} fixtures");
    }

    #[test]
    fn visit_hands_over_the_links_decode_gives() {
        for dir in std::fs::read_dir(fixtures()).expect("fixtures beside the checkout") {
            for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let bytes = std::fs::read(file.unwrap().path()).unwrap();
                let node = PbNode::decode(&bytes).unwrap();
                let mut links = Vec::new();
                let data = PbNode::visit(&bytes, |l| links.push(l.into_link())).unwrap();
                assert_eq!((links, data.map(<[u8]>::to_vec)), (node.links, node.data));
            }
        }
    }

    #[test]
    fn rejects_data_before_links() {
        let link = PbNode { links: vec![], data: Some(vec![1]) }.encode();
        let mut bytes = link.clone();
        let other = PbNode {
            links: vec![PbLink {
                hash: crate::codec::cids::CidRule {
                    version: cid::Version::V1,
                    hash: crate::codec::cids::HashAlg::Sha2_256,
                    inline_limit: None,
                }
                .cid(crate::codec::multicodec::RAW, b""),
                name: None,
                tsize: None,
            }],
            data: None,
        };
        bytes.extend(other.encode());
        assert!(matches!(PbNode::decode(&bytes), Err(DecodeError::FieldOrder(3))));
    }

    #[test]
    fn rejects_a_link_hash_with_trailing_bytes() {
        // Found by the dagpb_decode fuzz target: a valid CID followed by two stray bytes.
        let bytes = [18, 11, 10, 9, 1, 85, 1, 3, 2, 0, 0, 5, 4];
        assert_eq!(PbNode::decode(&bytes), Err(DecodeError::BadCid(2)));
    }

    #[test]
    fn rejects_a_non_minimal_varint() {
        // Found by the dagpb_decode fuzz target: a Data length of 2 written as `82 00`.
        assert_eq!(PbNode::decode(&[10, 130, 0, 60, 205]), Err(DecodeError::NonCanonical(1)));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bytes in [&[0x0a][..], &[0x12, 0x05, 0x0a], &[0xff; 12], &[0x08, 0x01]] {
            assert!(PbNode::decode(bytes).is_err());
        }
    }
}
