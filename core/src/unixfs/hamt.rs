//! HAMT-sharded folders (UnixFS `HAMTShard`), built as boxo and ipfs-unixfs-importer build them,
//! and the layout maths every reader of one shares ([`Layout`]).
//!
//! Each name is hashed with murmur3-x64-64; successive `log2(fanout)`-bit slices of the hash pick
//! a slot at each level. A slot holding one entry links to it as `{slot:02X}{name}`; a slot with
//! several gets a child shard, linked as `{slot:02X}`. Once the hash is used up, the last level
//! holds every remaining entry in slot 0.

use crate::codec::block::Block;
use crate::codec::dagpb::{PbLink, PbNode};
use crate::codec::multicodec::DAG_PB;
use crate::unixfs::dir::{entry_link, DirEntry};
use crate::unixfs::file::Metadata;
use crate::unixfs::layout::Link;
use crate::unixfs::murmur3;
use crate::unixfs::settings::Settings;
use crate::unixfs::{Data, NodeType};

/// Multicodec of the name hash: murmur3-x64-64.
pub const HASH_TYPE: u64 = 0x22;

/// The fanout a shard has when its data does not say (every writer uses it).
pub const DEFAULT_FANOUT: u64 = 256;

/// The hash that places `name` in a HAMT.
pub fn hash_name(name: &str) -> u64 {
    murmur3::x64_64(name.as_bytes())
}

/// Where a HAMT puts a name: the slot at each level and how links are named. One type for the
/// builder, the gateway's resolver and listing, and the CLI's walker, so that they cannot
/// disagree on a slot, a prefix width or the last level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    bits: u32,
}

/// What a HAMT link's name says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkName<'a> {
    /// A child shard: the name is the slot prefix alone.
    Shard,
    /// A folder entry, named after its slot prefix.
    Entry(&'a str),
    /// Longer than a prefix, but the prefix ends inside a character.
    Malformed,
}

impl Layout {
    /// The layout of a fanout: a power of two of at least 8 (the bitfield is whole bytes).
    pub fn new(fanout: u64) -> Option<Layout> {
        (fanout.is_power_of_two() && (8..=1 << 16).contains(&fanout))
            .then(|| Layout { bits: fanout.trailing_zeros() })
    }

    /// The layout a shard node declares, or `None` when it is not a shard carport can read (not a
    /// `HAMTShard`, a fanout that is not a power of two, a name hash other than murmur3).
    pub fn of(data: &Data) -> Option<Layout> {
        if data.kind != NodeType::HamtShard || data.hash_type.is_some_and(|h| h != HASH_TYPE) {
            return None;
        }
        Layout::new(data.fanout.unwrap_or(DEFAULT_FANOUT))
    }

    /// Slots per shard.
    pub fn fanout(self) -> u64 {
        1 << self.bits
    }

    /// Hex digits of a slot prefix (two for fanout 256).
    pub fn width(self) -> usize {
        self.bits.div_ceil(4) as usize
    }

    /// Whether shards at `depth` are the last level: the hash has no bits left for another.
    pub fn is_last_level(self, depth: u32) -> bool {
        self.bits.saturating_mul(depth.saturating_add(1)) > 64
    }

    /// The slot a name hash takes at `depth` (the root shard is depth 0); 0 on the last level.
    pub fn slot(self, hash: u64, depth: u32) -> usize {
        if self.is_last_level(depth) {
            return 0;
        }
        let used = self.bits * depth;
        ((hash << used) >> (64 - self.bits)) as usize
    }

    /// The link-name prefix of a slot: upper-case hex, `width` digits.
    pub fn prefix(self, slot: usize) -> String {
        format!("{slot:0width$X}", width = self.width())
    }

    /// What a link of a shard is, from its name. A name no longer than a prefix is a shard, as
    /// boxo reads it.
    pub fn link(self, name: &str) -> LinkName<'_> {
        if name.len() <= self.width() {
            return LinkName::Shard;
        }
        match name.get(self.width()..) {
            Some(entry) => LinkName::Entry(entry),
            None => LinkName::Malformed,
        }
    }
}

/// Builds a HAMT over `entries` and returns the link to its root shard.
pub fn build(
    settings: &Settings,
    entries: &[DirEntry],
    meta: Metadata,
    out: &mut Vec<Block>,
) -> Link {
    let layout = Layout::new(settings.hamt_fanout as u64).expect("settings validate the fanout");
    let hashed: Vec<(u64, &DirEntry)> = entries.iter().map(|e| (hash_name(&e.name), e)).collect();
    Shard { settings, layout, out }.node(hashed, 0, meta)
}

struct Shard<'a> {
    settings: &'a Settings,
    layout: Layout,
    out: &'a mut Vec<Block>,
}

impl Shard<'_> {
    fn node(&mut self, mut items: Vec<(u64, &DirEntry)>, depth: u32, meta: Metadata) -> Link {
        let layout = self.layout;
        items.sort_by_key(|&(h, e)| (layout.slot(h, depth), e.name.as_bytes()));
        let fanout = layout.fanout() as usize;
        let exhausted = layout.is_last_level(depth);
        let mut bitfield = vec![0u8; fanout / 8];
        let mut links = Vec::new();
        let mut below = 0u64;
        let mut rest = &items[..];
        while let Some(&(h, _)) = rest.first() {
            let slot = layout.slot(h, depth);
            let n = rest.iter().take_while(|&&(h2, _)| layout.slot(h2, depth) == slot).count();
            let (group, tail) = rest.split_at(n);
            rest = tail;
            bitfield[fanout / 8 - 1 - slot / 8] |= 1 << (slot % 8);
            let prefix = layout.prefix(slot);
            if n == 1 || exhausted {
                for (_, e) in group {
                    let mut link = entry_link(e);
                    link.name = Some(format!("{prefix}{}", e.name));
                    below += e.link.tsize;
                    links.push(link);
                }
            } else {
                let child = self.node(group.to_vec(), depth + 1, Metadata::default());
                below += child.tsize;
                links.push(PbLink {
                    hash: child.cid,
                    name: Some(prefix),
                    tsize: Some(child.tsize),
                });
            }
        }
        let first_set = bitfield.iter().position(|&b| b != 0).unwrap_or(bitfield.len());
        let mut data = Data::new(NodeType::HamtShard);
        data.data = Some(bitfield[first_set..].to_vec());
        data.hash_type = Some(HASH_TYPE);
        data.fanout = Some(fanout as u64);
        meta.apply(&mut data);
        let block = PbNode { links, data: Some(data.encode()) }.encode();
        let cid = self.settings.cid.cid(DAG_PB, &block);
        let tsize = block.len() as u64 + below;
        self.out.push(Block { cid, data: block });
        Link { cid, tsize, filesize: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_prefixes_and_the_last_level() {
        let layout = Layout::new(256).unwrap();
        assert_eq!(layout.slot(0xAB00_0000_0000_0000, 0), 0xAB);
        assert_eq!(layout.slot(0xAB12_0000_0000_0000, 1), 0x12);
        assert!(!layout.is_last_level(7));
        assert!(layout.is_last_level(8), "eight bytes of hash make eight levels");
        assert_eq!(layout.slot(u64::MAX, 8), 0);
        assert_eq!(layout.width(), 2);
        assert_eq!(layout.prefix(0x0A), "0A");
        assert_eq!(Layout::new(16).unwrap().width(), 1);
        assert_eq!(Layout::new(4096).unwrap().prefix(0xABC), "ABC");
        assert_eq!(Layout::new(100), None);
        assert_eq!(Layout::new(4), None);
        assert_eq!(layout.link("A1"), LinkName::Shard);
        assert_eq!(layout.link("A1name"), LinkName::Entry("name"));
        assert_eq!(layout.link("aé"), LinkName::Malformed);
    }
}
