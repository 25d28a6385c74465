//! File layouts: how a file's leaves are gathered under parent nodes.
//!
//! A layout sees only links; the file builder turns a group of links into a parent node. Parents
//! are made lazily, so the node that becomes the root is known when it is made (it carries the
//! file's metadata).

mod balanced;
mod trickle;

pub use balanced::Balanced;
pub use trickle::Trickle;

use cid::Cid;

use crate::error::SettingsError;
use crate::unixfs::NodeType;

/// A link to a finished part of a file: its CID, the bytes of its whole sub-DAG, the file bytes
/// under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// CID of the part's top block.
    pub cid: Cid,
    /// Bytes of every block of its sub-DAG, as a parent's link `Tsize` counts them.
    pub tsize: u64,
    /// File bytes under it.
    pub filesize: u64,
}

/// Builds one parent node over `children`; `is_root` says whether it is the file's root.
pub trait ParentMaker {
    /// Makes the parent and returns the link to it.
    fn parent(&mut self, children: &[Link], is_root: bool) -> Link;
}

/// A streaming tree shape over a file's leaves.
pub trait Layout: Send {
    /// Takes the next leaf, making any parents that are now complete.
    fn push(&mut self, leaf: Link, maker: &mut dyn ParentMaker);
    /// Makes the remaining parents and returns the root, or `None` when no leaf was pushed. A file
    /// of a single leaf has that leaf as its root.
    fn finish(&mut self, maker: &mut dyn ParentMaker) -> Option<Link>;
}

/// The layouts kubo offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    /// kubo's default: every node filled to `max_links` children, left to right, the tree
    /// growing a level when it is full.
    Balanced,
    /// kubo's `--trickle`: a node's leaves first, then small subtrees of growing depth.
    Trickle,
}

impl LayoutKind {
    /// A fresh layout of this kind for one file, at most `max_links` children per node.
    pub fn build(self, max_links: usize) -> Box<dyn Layout> {
        match self {
            LayoutKind::Balanced => Box::new(Balanced::new(max_links)),
            LayoutKind::Trickle => Box::new(Trickle::new(max_links)),
        }
    }
}

impl LayoutKind {
    /// The UnixFS type of dag-pb leaves: boxo's balanced builder still writes `File` leaves (a
    /// legacy it keeps for stable CIDs), its trickle builder `Raw` ones.
    pub fn leaf_type(self) -> NodeType {
        match self {
            LayoutKind::Balanced => NodeType::File,
            LayoutKind::Trickle => NodeType::Raw,
        }
    }

    /// Whether a one-chunk file is its own root. Balanced does that; trickle always makes a root
    /// node over its leaves, even over none.
    pub fn single_leaf_is_root(self) -> bool {
        self == LayoutKind::Balanced
    }
}

impl std::str::FromStr for LayoutKind {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "balanced" => Ok(LayoutKind::Balanced),
            "trickle" => Ok(LayoutKind::Trickle),
            _ => Err(SettingsError::Layout(s.to_string())),
        }
    }
}

impl std::fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LayoutKind::Balanced => "balanced",
            LayoutKind::Trickle => "trickle",
        })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::codec::multicodec::{IDENTITY, RAW};

    /// A parent maker that records the tree shape as a string, for layout tests.
    pub struct Shape {
        pub nodes: Vec<String>,
    }

    impl ParentMaker for Shape {
        fn parent(&mut self, children: &[Link], is_root: bool) -> Link {
            let names: Vec<String> = children.iter().map(|c| label(&c.cid)).collect();
            let text = format!("({})", names.join(" "));
            self.nodes.push(text.clone());
            let data = text.into_bytes();
            let cid = Cid::new_v1(
                RAW,
                multihash::Multihash::wrap(IDENTITY, &data[..data.len().min(64)]).unwrap(),
            );
            let _ = is_root;
            Link { cid, tsize: 0, filesize: children.iter().map(|c| c.filesize).sum() }
        }
    }

    pub fn leaf(i: usize) -> Link {
        let text = format!("{i}");
        Link {
            cid: Cid::new_v1(RAW, multihash::Multihash::wrap(IDENTITY, text.as_bytes()).unwrap()),
            tsize: 1,
            filesize: 1,
        }
    }

    pub fn label(cid: &Cid) -> String {
        String::from_utf8(cid.hash().digest().to_vec()).unwrap()
    }
}
