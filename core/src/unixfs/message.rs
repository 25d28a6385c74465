//! UnixFS: the `Data` message inside a dag-pb node that says what the node is (file, folder,
//! symlink, HAMT shard) and carries file bytes, sizes and metadata.

use crate::codec::dagpb::{put_bytes_field, PbLinkRef, PbNode, Reader};
use crate::codec::varint;
use crate::error::DecodeError;

/// UnixFS node types, numbered as in `unixfs.proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeType {
    /// File bytes in a dag-pb node (the leaves of files made without raw leaves).
    Raw = 0,
    /// A plain folder: one named link per entry.
    Directory = 1,
    /// A file: inline bytes, links to its parts, or both.
    File = 2,
    /// A metadata wrapper, which readers here refuse.
    Metadata = 3,
    /// A symlink, its target as the data.
    Symlink = 4,
    /// A shard of a HAMT folder.
    HamtShard = 5,
}

impl NodeType {
    fn from_u64(v: u64) -> Result<Self, DecodeError> {
        Ok(match v {
            0 => NodeType::Raw,
            1 => NodeType::Directory,
            2 => NodeType::File,
            3 => NodeType::Metadata,
            4 => NodeType::Symlink,
            5 => NodeType::HamtShard,
            other => return Err(DecodeError::UnknownType(other)),
        })
    }
}

/// Modification time: seconds since the epoch and optional nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mtime {
    /// Seconds since the Unix epoch (negative before it).
    pub secs: i64,
    /// Nanoseconds into that second, if given.
    pub nanos: Option<u32>,
}

/// The UnixFS `Data` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// What the node is (`Type`).
    pub kind: NodeType,
    /// A file's inline bytes, a symlink's target or a HAMT shard's bitfield (`Data`).
    pub data: Option<Vec<u8>>,
    /// Bytes of file content under the node (`filesize`).
    pub filesize: Option<u64>,
    /// Bytes of file content under each link, in link order (`blocksizes`).
    pub blocksizes: Vec<u64>,
    /// A HAMT's name hash, as a multihash code (`hashType`; murmur3-x64-64 is 0x22).
    pub hash_type: Option<u64>,
    /// A HAMT's fanout (`fanout`).
    pub fanout: Option<u64>,
    /// Unix permission bits (`mode`).
    pub mode: Option<u32>,
    /// Modification time (`mtime`).
    pub mtime: Option<Mtime>,
}

impl Data {
    /// A node of this type with every other field unset.
    pub fn new(kind: NodeType) -> Self {
        Data {
            kind,
            data: None,
            filesize: None,
            blocksizes: Vec::new(),
            hash_type: None,
            fanout: None,
            mode: None,
            mtime: None,
        }
    }

    /// Encodes with fields in number order, as go-unixfs and ipfs-unixfs do.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            16 + self.data.as_ref().map_or(0, Vec::len) + self.blocksizes.len() * 5,
        );
        put_varint_field(&mut out, 1, self.kind as u64);
        if let Some(d) = &self.data {
            put_bytes_field(&mut out, 2, d);
        }
        if let Some(s) = self.filesize {
            put_varint_field(&mut out, 3, s);
        }
        for &b in &self.blocksizes {
            put_varint_field(&mut out, 4, b);
        }
        if let Some(h) = self.hash_type {
            put_varint_field(&mut out, 5, h);
        }
        if let Some(f) = self.fanout {
            put_varint_field(&mut out, 6, f);
        }
        if let Some(m) = self.mode {
            put_varint_field(&mut out, 7, u64::from(m));
        }
        if let Some(t) = self.mtime {
            let mut inner = Vec::with_capacity(16);
            put_varint_field(&mut inner, 1, t.secs as u64);
            if let Some(n) = t.nanos {
                inner.push(2 << 3 | 5);
                inner.extend_from_slice(&n.to_le_bytes());
            }
            put_bytes_field(&mut out, 8, &inner);
        }
        out
    }

    /// Decodes a UnixFS node: its dag-pb envelope strictly, then the `Data` inside it. The one
    /// way every reader (the gateway, the CLI's walker) opens a node.
    pub fn of_node(block: &[u8]) -> Result<(PbNode, Data), DecodeError> {
        let pb = PbNode::decode(block)?;
        let data = Data::decode(pb.data.as_deref().ok_or(DecodeError::MissingType)?)?;
        Ok((pb, data))
    }

    /// As [`Data::of_node`], handing the links to `each` without copying them (see
    /// [`PbNode::visit`]).
    pub fn visit_node<'a>(
        block: &'a [u8],
        each: impl FnMut(PbLinkRef<'a>),
    ) -> Result<Data, DecodeError> {
        Data::decode(PbNode::visit(block, each)?.ok_or(DecodeError::MissingType)?)
    }

    /// Decodes leniently in field order (protobuf semantics), since producers differ.
    pub fn decode(bytes: &[u8]) -> Result<Data, DecodeError> {
        let mut r = Reader { buf: bytes, pos: 0, base: 0, canonical: false };
        let mut kind = None;
        let mut d = Data::new(NodeType::Raw);
        while !r.done() {
            let at = r.pos;
            let (field, wire) = r.key()?;
            match (field, wire) {
                (1, 0) => kind = Some(NodeType::from_u64(r.varint()?)?),
                (2, 2) => d.data = Some(r.bytes()?.to_vec()),
                (3, 0) => d.filesize = Some(r.varint()?),
                (4, 0) => d.blocksizes.push(r.varint()?),
                (4, 2) => {
                    let packed = r.bytes()?;
                    let mut p = Reader {
                        buf: packed,
                        pos: 0,
                        base: r.pos - packed.len(),
                        canonical: false,
                    };
                    while !p.done() {
                        d.blocksizes.push(p.varint()?);
                    }
                }
                (5, 0) => d.hash_type = Some(r.varint()?),
                (6, 0) => d.fanout = Some(r.varint()?),
                (7, 0) => d.mode = Some(r.varint()? as u32),
                (8, 2) => d.mtime = Some(decode_mtime(r.bytes()?)?),
                _ => return Err(DecodeError::UnexpectedField { field, wire, offset: at }),
            }
        }
        d.kind = kind.ok_or(DecodeError::MissingType)?;
        Ok(d)
    }

    /// Bytes of file content under this node: `filesize` when set, else the inline data.
    pub fn file_len(&self) -> u64 {
        self.filesize.unwrap_or_else(|| self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

fn decode_mtime(bytes: &[u8]) -> Result<Mtime, DecodeError> {
    let mut r = Reader { buf: bytes, pos: 0, base: 0, canonical: false };
    let mut t = Mtime { secs: 0, nanos: None };
    while !r.done() {
        let at = r.pos;
        match r.key()? {
            (1, 0) => t.secs = r.varint()? as i64,
            (2, 5) => t.nanos = Some(r.fixed32()?),
            (field, wire) => return Err(DecodeError::UnexpectedField { field, wire, offset: at }),
        }
    }
    Ok(t)
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    varint::put(out, field << 3);
    varint::put(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_directory_is_two_bytes() {
        assert_eq!(Data::new(NodeType::Directory).encode(), [0x08, 0x01]);
    }

    #[test]
    fn round_trips_every_field() {
        let d = Data {
            kind: NodeType::HamtShard,
            data: Some(vec![1, 2, 3]),
            filesize: Some(9),
            blocksizes: vec![4, 5],
            hash_type: Some(0x22),
            fanout: Some(256),
            mode: Some(0o644),
            mtime: Some(Mtime { secs: 1_700_000_000, nanos: Some(5) }),
        };
        assert_eq!(Data::decode(&d.encode()).unwrap(), d);
    }
}
