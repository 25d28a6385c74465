//! Import settings: everything that decides the bytes of an import, the named profiles that
//! preset them, single overrides on top (the CLI's flags, the JavaScript API's options), and which
//! paths an import leaves out.

use cid::Version;

use crate::codec::cids::{CidRule, HashAlg};
use crate::error::SettingsError;
use crate::unixfs::chunker::ChunkerSpec;
use crate::unixfs::hamt::Layout;
use crate::unixfs::layout::LayoutKind;

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
    /// How file bytes are cut into leaves.
    pub chunker: ChunkerSpec,
    /// How a file's leaves are gathered into a tree of nodes.
    pub layout: LayoutKind,
    /// Most children of one file node.
    pub max_links: usize,
    /// Leaves as raw blocks (codec raw) rather than dag-pb UnixFS nodes.
    pub raw_leaves: bool,
    /// CID version, hash and inlining of every block.
    pub cid: CidRule,
    /// When a folder becomes a HAMT.
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
        if Layout::new(self.hamt_fanout as u64).is_none() {
            return Err(SettingsError::HamtFanout(self.hamt_fanout));
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
    /// Every profile, the historical first.
    pub const ALL: [Profile; 3] =
        [Profile::UnixfsV0_2015, Profile::UnixfsV1_2025, Profile::IpfsCar];

    /// Its name, as `FromStr` reads it (the CLI's and the JavaScript API's `profile`).
    pub fn name(self) -> &'static str {
        match self {
            Profile::UnixfsV0_2015 => "unixfs-v0-2015",
            Profile::UnixfsV1_2025 => "unixfs-v1-2025",
            Profile::IpfsCar => "ipfs-car",
        }
    }

    /// Its complete settings.
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

/// Overrides of a profile's settings; `None` keeps the profile's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// In place of [`Settings::chunker`].
    pub chunker: Option<ChunkerSpec>,
    /// In place of [`Settings::layout`].
    pub layout: Option<LayoutKind>,
    /// In place of [`Settings::max_links`].
    pub max_links: Option<usize>,
    /// In place of [`Settings::raw_leaves`].
    pub raw_leaves: Option<bool>,
    /// In place of the CID version of [`Settings::cid`].
    pub cid_version: Option<Version>,
    /// In place of the hash of [`Settings::cid`].
    pub hash: Option<HashAlg>,
    /// In place of the inline limit of [`Settings::cid`]: blocks of at most this many bytes get
    /// identity CIDs.
    pub inline_limit: Option<usize>,
}

impl Overrides {
    /// The profile's settings with these overrides, checked.
    pub fn apply(&self, profile: Profile) -> Result<Settings, SettingsError> {
        let mut s = profile.settings();
        if let Some(c) = &self.chunker {
            s.chunker = c.clone();
        }
        if let Some(l) = self.layout {
            s.layout = l;
        }
        if let Some(n) = self.max_links {
            s.max_links = n;
        }
        if let Some(r) = self.raw_leaves {
            s.raw_leaves = r;
        }
        if let Some(v) = self.cid_version {
            s.cid.version = v;
        }
        if let Some(h) = self.hash {
            s.cid.hash = h;
        }
        if self.inline_limit.is_some() {
            s.cid.inline_limit = self.inline_limit;
        }
        s.validate()?;
        Ok(s)
    }
}

/// Whether a `/`-separated path has a hidden part (a name starting with a dot), which imports
/// leave out unless asked, as kubo's `ipfs add` does.
pub fn is_hidden(path: &str) -> bool {
    path.split('/').any(|part| part.starts_with('.') && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cids::HashAlg;
    use crate::unixfs::chunker::ChunkerSpec;
    use cid::Version;

    #[test]
    fn overrides_apply_over_the_profile() {
        let o = Overrides {
            chunker: Some("size-1024".parse().unwrap()),
            cid_version: Some(Version::V1),
            ..Default::default()
        };
        let s = o.apply(Profile::UnixfsV0_2015).unwrap();
        assert_eq!(s.chunker, ChunkerSpec::Size(1024));
        assert_eq!(s.cid.version, Version::V1);
        assert!(!s.raw_leaves, "a CID version does not flip raw leaves");
        assert_eq!(
            Overrides::default().apply(Profile::IpfsCar).unwrap(),
            Profile::IpfsCar.settings()
        );
        let bad = Overrides {
            cid_version: Some(Version::V0),
            hash: Some(HashAlg::Blake3),
            ..Default::default()
        };
        assert_eq!(
            bad.apply(Profile::UnixfsV1_2025),
            Err(SettingsError::CidV0Hash("blake3".into()))
        );
    }

    #[test]
    fn hidden_paths() {
        assert!(is_hidden(".git/config"));
        assert!(is_hidden("a/.env"));
        assert!(!is_hidden("a/b.txt"));
        assert!(!is_hidden("a.b/c"));
    }
}
