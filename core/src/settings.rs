//! Import settings and the named profiles that preset them.

use cid::Version;

use crate::chunker::ChunkerSpec;
use crate::cids::{CidRule, HashAlg};
use crate::error::SettingsError;
use crate::layout::LayoutKind;

/// When a folder stops being one plain dag-pb node and becomes a HAMT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardRule {
    /// kubo before IPIP-499: shard when the sum of each entry's name length plus CID byte length
    /// exceeds this many bytes.
    LinksEstimate(usize),
    /// IPIP-499: shard when the plain folder's encoded block would exceed this many bytes.
    BlockSize(usize),
    /// @ipld/unixfs as ipfs-car uses it: shard above this many entries.
    EntryCount(usize),
}

/// Everything that decides the bytes of an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub chunker: ChunkerSpec,
    pub layout: LayoutKind,
    /// Most children of one file node.
    pub max_links: usize,
    pub raw_leaves: bool,
    pub cid: CidRule,
    pub shard: ShardRule,
    /// Fanout of HAMT folders; a power of two (256 everywhere in practice).
    pub hamt_fanout: usize,
    /// Read folders as ipfs-car does: files only (no empty folders, no symlinks), and the root is
    /// the files' deepest common folder. kubo keeps the tree as it is.
    pub files_only: bool,
}

impl Settings {
    /// Checks that the combination can be written.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.cid.validate()?;
        if self.max_links < 2 {
            return Err(SettingsError::MaxLinks(self.max_links));
        }
        Ok(())
    }
}

/// The named presets. Each is a complete set of settings; single flags may override parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// kubo's historical default (`ipfs add` before IPIP-499).
    UnixfsV0_2015,
    /// IPIP-499's modern profile: CIDv1, raw leaves, 1 MiB chunks, 1024 links. carport's default.
    #[default]
    UnixfsV1_2025,
    /// What `ipfs-car pack` 3.x (storacha) produces.
    IpfsCar,
}

impl Profile {
    pub const ALL: [Profile; 3] =
        [Profile::UnixfsV0_2015, Profile::UnixfsV1_2025, Profile::IpfsCar];

    pub fn name(self) -> &'static str {
        match self {
            Profile::UnixfsV0_2015 => "unixfs-v0-2015",
            Profile::UnixfsV1_2025 => "unixfs-v1-2025",
            Profile::IpfsCar => "ipfs-car",
        }
    }

    pub fn settings(self) -> Settings {
        let v1 = CidRule { version: Version::V1, hash: HashAlg::Sha2_256, inline_limit: None };
        match self {
            Profile::UnixfsV0_2015 => Settings {
                chunker: ChunkerSpec::Size(256 * 1024),
                layout: LayoutKind::Balanced,
                max_links: 174,
                raw_leaves: false,
                cid: CidRule { version: Version::V0, ..v1 },
                shard: ShardRule::LinksEstimate(256 * 1024),
                hamt_fanout: 256,
                files_only: false,
            },
            Profile::UnixfsV1_2025 => Settings {
                chunker: ChunkerSpec::Size(1024 * 1024),
                layout: LayoutKind::Balanced,
                max_links: 1024,
                raw_leaves: true,
                cid: v1,
                shard: ShardRule::BlockSize(256 * 1024),
                hamt_fanout: 256,
                files_only: false,
            },
            Profile::IpfsCar => Settings {
                chunker: ChunkerSpec::Size(1024 * 1024),
                layout: LayoutKind::Balanced,
                max_links: 1024,
                raw_leaves: true,
                cid: v1,
                shard: ShardRule::EntryCount(1000),
                hamt_fanout: 256,
                files_only: true,
            },
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| SettingsError::Profile(s.to_string()))
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
