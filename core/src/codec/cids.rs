//! How carport names blocks: CID version, multihash function and identity inlining.

use cid::{Cid, Version};
use multihash::Multihash;
use sha2::Digest;

use crate::codec::multicodec::{self, BLAKE3, DAG_PB, IDENTITY, RAW, SHA2_256};
use crate::error::SettingsError;

/// The hash functions carport writes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256 (multihash 0x12), the default of every profile.
    Sha2_256,
    /// BLAKE3 with a 32-byte digest (multihash 0x1e).
    Blake3,
}

impl HashAlg {
    /// Every one, in the order messages and option lists give them: the one table of hash names
    /// the CLI, the Wasm module and the npm types are checked against.
    pub const ALL: [HashAlg; 2] = [HashAlg::Sha2_256, HashAlg::Blake3];

    /// Its multihash code.
    pub fn code(self) -> u64 {
        match self {
            HashAlg::Sha2_256 => SHA2_256,
            HashAlg::Blake3 => BLAKE3,
        }
    }

    /// Its name, as the multicodec table and carport's options spell it.
    pub fn name(self) -> &'static str {
        multicodec::name(self.code()).expect("carport's hashes are in the multicodec table")
    }

    /// The names of [`HashAlg::ALL`], joined with `or` for messages: `sha2-256 or blake3`.
    pub fn expected() -> String {
        let names: Vec<&str> = HashAlg::ALL.iter().map(|h| h.name()).collect();
        names.join(" or ")
    }

    /// The multihash of `data` under this function.
    pub fn digest(self, data: &[u8]) -> Multihash<64> {
        let digest: [u8; 32] = match self {
            HashAlg::Sha2_256 => sha2::Sha256::digest(data).into(),
            HashAlg::Blake3 => *blake3::hash(data).as_bytes(),
        };
        Multihash::wrap(self.code(), &digest).expect("32-byte digest fits")
    }
}

impl std::str::FromStr for HashAlg {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HashAlg::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| SettingsError::Hash(s.to_string()))
    }
}

impl std::fmt::Display for HashAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The rule that turns a block's bytes into its CID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CidRule {
    /// CID version; v0 names only dag-pb blocks, the rest get v1 (see [`CidRule::cid`]).
    pub version: Version,
    /// The hash function.
    pub hash: HashAlg,
    /// Blocks of at most this many bytes get an identity CID that holds the bytes themselves.
    pub inline_limit: Option<usize>,
}

impl CidRule {
    /// Checks that the combination can be written at all.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.version == Version::V0 && self.hash != HashAlg::Sha2_256 {
            return Err(SettingsError::CidV0Hash(self.hash.to_string()));
        }
        match self.inline_limit {
            Some(limit) if limit > MAX_INLINE_LIMIT => Err(SettingsError::InlineLimit(limit)),
            _ => Ok(()),
        }
    }

    /// The CID [`CidRule::cid`] gives a raw block of `len` bytes whose SHA-256 the caller computed
    /// (with the platform's hasher, say): `None` when the rule does not hash with sha2-256 or
    /// would inline the block, which then needs its bytes.
    pub fn raw_cid_of_sha256(&self, sha256: &[u8; 32], len: usize) -> Option<Cid> {
        if self.hash != HashAlg::Sha2_256 || self.inline_limit.is_some_and(|limit| len <= limit) {
            return None;
        }
        Some(Cid::new_v1(RAW, Multihash::wrap(SHA2_256, sha256).expect("32-byte digest fits")))
    }

    /// The CID of `data` encoded with `codec`. CIDv0 can only name sha2-256 dag-pb, so raw and
    /// inlined blocks are named with CIDv1 even under a v0 rule, as kubo does.
    pub fn cid(&self, codec: u64, data: &[u8]) -> Cid {
        if self.inline_limit.is_some_and(|limit| data.len() <= limit) {
            let mh = Multihash::wrap(IDENTITY, data).expect("inline limit is below 64 bytes");
            return Cid::new_v1(codec, mh);
        }
        let mh = self.hash.digest(data);
        if self.version == Version::V0 && codec == DAG_PB {
            Cid::new_v0(mh).expect("sha2-256 dag-pb")
        } else {
            Cid::new_v1(codec, mh)
        }
    }
}

/// A CID that fills `bytes` exactly (`Cid::try_from` would ignore trailing bytes).
pub fn exact_cid(bytes: &[u8]) -> Option<Cid> {
    let mut cursor = std::io::Cursor::new(bytes);
    let cid = Cid::read_bytes(&mut cursor).ok()?;
    (cursor.position() as usize == bytes.len()).then_some(cid)
}

/// Largest inline limit: identity multihashes in carport's CIDs hold at most 64 bytes.
pub const MAX_INLINE_LIMIT: usize = 64;

/// Whether `data` hashes to the digest `cid` names; `None` when carport cannot compute that hash
/// function (it knows identity, the sha2 and sha3 families, blake2b and blake3).
pub fn rehash(cid: &Cid, data: &[u8]) -> Option<bool> {
    use multihash_codetable::MultihashDigest;
    let mh = cid.hash();
    if mh.code() == IDENTITY {
        return Some(mh.digest() == data);
    }
    let code = multihash_codetable::Code::try_from(mh.code()).ok()?;
    let ours = code.digest(data);
    Some(ours.digest() == mh.digest())
}

/// The bytes of an identity CID (which holds its block), or `None` for a hashed CID: such a
/// block is never fetched from anywhere.
pub fn inline_block(cid: &Cid) -> Option<Vec<u8>> {
    (cid.hash().code() == IDENTITY).then(|| cid.hash().digest().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_raw_block() {
        let rule = CidRule { version: Version::V1, hash: HashAlg::Sha2_256, inline_limit: None };
        assert_eq!(
            rule.cid(RAW, b"").to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }

    #[test]
    fn v0_rule_names_raw_blocks_v1() {
        let rule = CidRule { version: Version::V0, hash: HashAlg::Sha2_256, inline_limit: None };
        assert_eq!(rule.cid(RAW, b"x").version(), Version::V1);
        assert_eq!(rule.cid(DAG_PB, b"x").version(), Version::V0);
    }

    #[test]
    fn raw_cid_of_a_given_sha256_is_the_rule_s() {
        let data = b"leaf bytes";
        let digest: [u8; 32] = sha2::Sha256::digest(data).into();
        let v1 = CidRule { version: Version::V1, hash: HashAlg::Sha2_256, inline_limit: None };
        assert_eq!(v1.raw_cid_of_sha256(&digest, data.len()), Some(v1.cid(RAW, data)));
        let v0 = CidRule { version: Version::V0, ..v1 };
        assert_eq!(v0.raw_cid_of_sha256(&digest, data.len()), Some(v0.cid(RAW, data)));
        let inline = CidRule { inline_limit: Some(10), ..v1 };
        assert_eq!(inline.raw_cid_of_sha256(&digest, data.len()), None, "inlined: needs the bytes");
        let blake = CidRule { hash: HashAlg::Blake3, ..v1 };
        assert_eq!(blake.raw_cid_of_sha256(&digest, data.len()), None);
    }

    #[test]
    fn hash_names_round_trip() {
        for h in HashAlg::ALL {
            assert_eq!(h.name().parse::<HashAlg>(), Ok(h));
        }
        assert_eq!(HashAlg::expected(), "sha2-256 or blake3");
        assert_eq!("md5".parse::<HashAlg>(), Err(SettingsError::Hash("md5".into())));
    }

    #[test]
    fn inlines_small_blocks() {
        let rule = CidRule { version: Version::V1, hash: HashAlg::Blake3, inline_limit: Some(4) };
        let cid = rule.cid(RAW, b"abc");
        assert_eq!(cid.hash().code(), IDENTITY);
        assert_eq!(cid.hash().digest(), b"abc");
        assert_eq!(rehash(&cid, b"abc"), Some(true));
        assert_eq!(rule.cid(RAW, b"abcde").hash().code(), BLAKE3);
    }
}
