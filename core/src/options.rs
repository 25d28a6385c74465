//! Import settings as people name them: a profile, then single overrides on top (the CLI's flags,
//! the JavaScript API's options), and which paths an import leaves out.

use cid::Version;

use crate::chunker::ChunkerSpec;
use crate::cids::HashAlg;
use crate::error::SettingsError;
use crate::layout::LayoutKind;
use crate::settings::{Profile, Settings};

/// Overrides of a profile's settings; `None` keeps the profile's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub chunker: Option<ChunkerSpec>,
    pub layout: Option<LayoutKind>,
    pub max_links: Option<usize>,
    pub raw_leaves: Option<bool>,
    pub cid_version: Option<Version>,
    pub hash: Option<HashAlg>,
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
