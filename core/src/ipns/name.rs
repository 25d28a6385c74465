//! [`Name`]: an IPNS name, the `libp2p-key` CID of a public key.

use std::fmt;
use std::str::FromStr;

use cid::multibase::Base;
use cid::Cid;
use multihash::Multihash;
use sha2::{Digest, Sha256};

use super::keys::split_protobuf;
use super::{IpnsError, PublicKey};

/// The `libp2p-key` multicodec.
pub const LIBP2P_KEY: u64 = 0x72;
const IDENTITY: u64 = 0x00;
const SHA2_256: u64 = 0x12;
/// Key protobufs up to this many bytes are inlined in the name (libp2p's rule): every Ed25519
/// and secp256k1 key; RSA keys are hashed with sha2-256.
const MAX_INLINE_KEY: usize = 42;

/// An IPNS name: a CIDv1 with the `libp2p-key` codec (0x72) whose multihash is the identity of
/// the key's protobuf (Ed25519, secp256k1) or its sha2-256 (RSA). Prints as base36, `k51…`, the
/// form gateways use in subdomains; [`to_base32`](Self::to_base32) gives `bafz…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Cid);

impl Name {
    /// The name of `key`.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let bytes = key.to_protobuf();
        let hash = if bytes.len() <= MAX_INLINE_KEY {
            Multihash::wrap(IDENTITY, &bytes)
        } else {
            Multihash::wrap(SHA2_256, &Sha256::digest(&bytes))
        };
        Name(Cid::new_v1(LIBP2P_KEY, hash.expect("a key of at most 42 bytes or a sha2-256 fits")))
    }

    /// The name a CID is, if it is one: any CID version and codec is refused except a CIDv1 with
    /// the `libp2p-key` codec whose multihash is sha2-256 or the identity of a key protobuf.
    pub fn from_cid(cid: Cid) -> Result<Self, IpnsError> {
        let why = if cid.version() != cid::Version::V1 {
            Some("a name is a CIDv1")
        } else if cid.codec() != LIBP2P_KEY {
            Some("the CID's codec is not libp2p-key (0x72)")
        } else {
            match cid.hash().code() {
                SHA2_256 if cid.hash().size() == 32 => None,
                IDENTITY if split_protobuf(cid.hash().digest()).is_ok() => None,
                IDENTITY => Some("the inlined key is not a key protobuf"),
                _ => Some("the multihash is neither identity nor sha2-256"),
            }
        };
        match why {
            None => Ok(Name(cid)),
            Some(reason) => Err(IpnsError::bad_name(&cid.to_string(), reason)),
        }
    }

    /// Reads a name: a CIDv1 in any multibase (base36 `k51…`, base32 `bafz…`, either case), or a
    /// libp2p peer ID in base58btc (`12D3KooW…` for Ed25519, `16Uiu2…` for secp256k1, `Qm…` for a
    /// hashed key), with or without an `/ipns/` in front.
    pub fn parse(text: &str) -> Result<Self, IpnsError> {
        let s = text.strip_prefix("/ipns/").unwrap_or(text);
        if s.starts_with('1') || s.starts_with("Qm") {
            let bytes = Base::Base58Btc
                .decode(s)
                .map_err(|_| IpnsError::bad_name(text, "not base58btc (as a peer ID)"))?;
            let hash = Multihash::from_bytes(&bytes)
                .map_err(|_| IpnsError::bad_name(text, "a peer ID is a multihash"))?;
            return Self::from_cid(Cid::new_v1(LIBP2P_KEY, hash)).map_err(|e| match e {
                IpnsError::BadName { reason, .. } => IpnsError::bad_name(text, reason),
                e => e,
            });
        }
        let cid = Cid::try_from(s).map_err(|_| IpnsError::bad_name(text, "not a CID"))?;
        Self::from_cid(cid).map_err(|e| match e {
            IpnsError::BadName { reason, .. } => IpnsError::bad_name(text, reason),
            e => e,
        })
    }

    /// The name as a CID.
    pub fn cid(&self) -> &Cid {
        &self.0
    }

    /// The name in base32, `bafz…` (base36 is [`Display`](fmt::Display)).
    pub fn to_base32(&self) -> String {
        self.0.to_string()
    }

    /// The name as a base58btc peer ID, `12D3KooW…`, as libp2p prints it.
    pub fn to_peer_id(&self) -> String {
        Base::Base58Btc.encode(self.0.hash().to_bytes())
    }

    /// The DHT routing key of the name: `/ipns/` then the multihash's bytes.
    pub fn routing_key(&self) -> Vec<u8> {
        let mut key = b"/ipns/".to_vec();
        key.extend_from_slice(&self.0.hash().to_bytes());
        key
    }

    /// The key inlined in the name (an identity multihash), if it has one: `Ok(None)` for a
    /// sha2-256 name, whose key a record must carry in `pubKey`.
    pub fn inline_key(&self) -> Result<Option<PublicKey>, IpnsError> {
        match self.0.hash().code() {
            IDENTITY => PublicKey::from_protobuf(self.0.hash().digest()).map(Some),
            _ => Ok(None),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string_of_base(Base::Base36Lower).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl FromStr for Name {
    type Err = IpnsError;

    fn from_str(s: &str) -> Result<Self, IpnsError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;
    use crate::ipns::Keypair;

    #[test]
    fn an_ed25519_name_prints_and_parses_every_way() {
        let name = Keypair::from_seed([1; 32]).name();
        let k51 = name.to_string();
        assert!(k51.starts_with("k51qzi5uqu5d"), "{k51}");
        assert!(name.to_base32().starts_with("bafzaa"));
        assert!(name.to_peer_id().starts_with("12D3KooW"));
        for text in [
            k51.clone(),
            k51.to_uppercase(),
            name.to_base32(),
            name.to_base32().to_uppercase(),
            name.to_peer_id(),
            format!("/ipns/{k51}"),
        ] {
            assert_eq!(Name::parse(&text).unwrap(), name, "{text}");
        }
        assert_eq!(name.inline_key().unwrap(), Some(Keypair::from_seed([1; 32]).public_key()));
        assert_eq!(&name.routing_key()[..8], b"/ipns/\x00\x24");
    }

    #[test]
    fn refuses_what_is_not_a_name() {
        for bad in [
            "",
            "k51",
            "hello",
            "12D3KooWnotbase58l0",
            // a raw-leaf CID
            "bafkreigkxd3jitzih26g3wrai46mep6l2yuc5bdwju2ps353z6ao5xfkha",
            // libp2p-key with a sha2-512 multihash, and with an identity of garbage
            &Cid::new_v1(LIBP2P_KEY, Multihash::wrap(0x13, &[0; 64]).unwrap()).to_string(),
            &Cid::new_v1(LIBP2P_KEY, Multihash::wrap(0, b"garbage").unwrap()).to_string(),
        ] {
            let e = Name::parse(bad).unwrap_err();
            assert_eq!(e.code(), "IpnsBadName", "{bad}: {e}");
        }
    }
}
