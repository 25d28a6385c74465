//! libp2p keys in their protobuf form (`PublicKey`/`PrivateKey { Type, Data }`, as the IPNS and
//! peer ID specs define them): Ed25519 keys sign and verify, secp256k1 public keys verify, other
//! types are refused with [`IpnsError::UnsupportedKey`].

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use k256::ecdsa::signature::Verifier;

use super::proto::{self, Value};
use super::{IpnsError, Name};

/// The libp2p `KeyType` of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// 0: RSA (legacy IPNS names; refused).
    Rsa,
    /// 1: Ed25519, the default and the only type carport signs with.
    Ed25519,
    /// 2: secp256k1 (verified).
    Secp256k1,
    /// 3: ECDSA (refused).
    Ecdsa,
}

impl KeyType {
    /// The number in the protobuf's `Type` field.
    pub fn code(self) -> u64 {
        match self {
            KeyType::Rsa => 0,
            KeyType::Ed25519 => 1,
            KeyType::Secp256k1 => 2,
            KeyType::Ecdsa => 3,
        }
    }

    /// The type of a `Type` number, if it is one libp2p defines.
    pub fn from_code(code: u64) -> Option<Self> {
        [KeyType::Rsa, KeyType::Ed25519, KeyType::Secp256k1, KeyType::Ecdsa]
            .into_iter()
            .find(|t| t.code() == code)
    }
}

/// How error messages name a `Type` number.
pub(crate) fn key_type_name(code: u64) -> &'static str {
    match KeyType::from_code(code) {
        Some(KeyType::Rsa) => "RSA",
        Some(KeyType::Ed25519) => "Ed25519",
        Some(KeyType::Secp256k1) => "secp256k1",
        Some(KeyType::Ecdsa) => "ECDSA",
        None => "unknown",
    }
}

/// Splits a libp2p key protobuf into its `Type` number and `Data`. Both fields are required,
/// once each, and nothing else may be there.
pub(crate) fn split_protobuf(bytes: &[u8]) -> Result<(u64, &[u8]), IpnsError> {
    let (mut key_type, mut data) = (None, None);
    for field in proto::fields("key protobuf", bytes) {
        match field.map_err(IpnsError::BadKey)? {
            (1, Value::Varint(t)) if key_type.is_none() => key_type = Some(t),
            (2, Value::Bytes(d)) if data.is_none() => data = Some(d),
            (n, _) => return Err(IpnsError::BadKey(format!("unexpected or repeated field {n}"))),
        }
    }
    match (key_type, data) {
        (Some(t), Some(d)) => Ok((t, d)),
        _ => Err(IpnsError::BadKey("the key needs both Type and Data".into())),
    }
}

fn key_protobuf(key_type: KeyType, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 4);
    proto::put_varint(&mut out, 1, key_type.code());
    proto::put_bytes(&mut out, 2, data);
    out
}

/// A public key that can verify IPNS records: Ed25519 or secp256k1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(Inner);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Inner {
    Ed25519(VerifyingKey),
    Secp256k1(k256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Reads a libp2p `PublicKey` protobuf (a record's `pubKey`, the digest of an inlined name).
    /// Ed25519 `Data` is the 32-byte key; secp256k1 `Data` a SEC1 point (compressed or not).
    /// Other types are [`IpnsError::UnsupportedKey`]; keys that do not decode [`IpnsError::BadKey`].
    pub fn from_protobuf(bytes: &[u8]) -> Result<Self, IpnsError> {
        let (key_type, data) = split_protobuf(bytes)?;
        match KeyType::from_code(key_type) {
            Some(KeyType::Ed25519) => {
                let raw: &[u8; 32] = data.try_into().map_err(|_| {
                    IpnsError::BadKey(format!("an Ed25519 key is 32 bytes, not {}", data.len()))
                })?;
                VerifyingKey::from_bytes(raw)
                    .map(|k| PublicKey(Inner::Ed25519(k)))
                    .map_err(|_| IpnsError::BadKey("not an Ed25519 point".into()))
            }
            Some(KeyType::Secp256k1) => k256::ecdsa::VerifyingKey::from_sec1_bytes(data)
                .map(|k| PublicKey(Inner::Secp256k1(k)))
                .map_err(|_| IpnsError::BadKey("not a secp256k1 point".into())),
            _ => Err(IpnsError::UnsupportedKey { key_type, signing: false }),
        }
    }

    /// The key as a libp2p `PublicKey` protobuf, in the canonical form names are made of
    /// (secp256k1 points compressed), as go-libp2p and @libp2p/crypto write it.
    pub fn to_protobuf(&self) -> Vec<u8> {
        match &self.0 {
            Inner::Ed25519(k) => key_protobuf(KeyType::Ed25519, k.as_bytes()),
            Inner::Secp256k1(k) => {
                key_protobuf(KeyType::Secp256k1, k.to_encoded_point(true).as_bytes())
            }
        }
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        match self.0 {
            Inner::Ed25519(_) => KeyType::Ed25519,
            Inner::Secp256k1(_) => KeyType::Secp256k1,
        }
    }

    /// The IPNS name of this key.
    pub fn name(&self) -> Name {
        Name::from_public_key(self)
    }

    /// Whether `signature` is this key's over `message`, as libp2p signs: Ed25519 (RFC 8032,
    /// strict: no small-order keys, canonical `S`), or ECDSA over SHA-256 of the message with a
    /// DER signature whose `s` is low (as @libp2p/crypto checks).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.0 {
            Inner::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
            Inner::Secp256k1(k) => {
                der_signature(signature).is_some_and(|s| k.verify(message, &s).is_ok())
            }
        }
    }
}

/// A strict DER `SEQUENCE { INTEGER r, INTEGER s }`, as go-libp2p and @libp2p/crypto write
/// secp256k1 signatures.
fn der_signature(der: &[u8]) -> Option<k256::ecdsa::Signature> {
    fn integer(buf: &[u8]) -> Option<([u8; 32], &[u8])> {
        let [0x02, len, rest @ ..] = buf else { return None };
        let len = usize::from(*len);
        if len == 0 || len > 33 || rest.len() < len {
            return None;
        }
        let (int, rest) = rest.split_at(len);
        // Positive and minimal: a leading zero only before a byte with its top bit set.
        if int[0] & 0x80 != 0 || (int[0] == 0 && (len == 1 || int[1] & 0x80 == 0)) {
            return None;
        }
        let int = if int[0] == 0 { &int[1..] } else { int };
        if int.len() > 32 {
            return None;
        }
        let mut out = [0u8; 32];
        out[32 - int.len()..].copy_from_slice(int);
        Some((out, rest))
    }
    let [0x30, len, body @ ..] = der else { return None };
    if usize::from(*len) != body.len() {
        return None;
    }
    let (r, rest) = integer(body)?;
    let (s, rest) = integer(rest)?;
    if !rest.is_empty() {
        return None;
    }
    k256::ecdsa::Signature::from_scalars(r, s).ok()
}

/// An Ed25519 key pair that signs records. Made from a 32-byte seed the caller supplies (core has
/// no randomness), or read from a libp2p `PrivateKey` protobuf. Its `Debug` shows only the name.
#[derive(Clone)]
pub struct Keypair(SigningKey);

impl Keypair {
    /// The key pair of an Ed25519 seed (RFC 8032's 32-byte secret key), as @libp2p/crypto's
    /// `generateKeyPairFromSeed('Ed25519', seed)` makes it.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Keypair(SigningKey::from_bytes(&seed))
    }

    /// Reads a libp2p `PrivateKey` protobuf: `Type` 1 (Ed25519) and `Data` of 64 bytes, the seed
    /// then the public key (which must match), as kubo's `ipfs key export` and @libp2p/crypto's
    /// `privateKeyToProtobuf` write it. Other key types are [`IpnsError::UnsupportedKey`].
    pub fn from_protobuf(bytes: &[u8]) -> Result<Self, IpnsError> {
        let (key_type, data) = split_protobuf(bytes)?;
        if key_type != KeyType::Ed25519.code() {
            return Err(IpnsError::UnsupportedKey { key_type, signing: true });
        }
        let Ok(pair) = <&[u8; 64]>::try_from(data) else {
            return Err(IpnsError::BadKey(format!(
                "an Ed25519 private key is 64 bytes (seed and public key), not {}",
                data.len()
            )));
        };
        SigningKey::from_keypair_bytes(pair)
            .map(Keypair)
            .map_err(|_| IpnsError::BadKey("the public half is not the seed's".into()))
    }

    /// The key pair as a libp2p `PrivateKey` protobuf (`08 01 12 40`, seed, public key). This is
    /// the secret: write it where only its owner can read it.
    pub fn to_protobuf(&self) -> Vec<u8> {
        key_protobuf(KeyType::Ed25519, &self.0.to_keypair_bytes())
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(Inner::Ed25519(self.0.verifying_key()))
    }

    /// The IPNS name of the key.
    pub fn name(&self) -> Name {
        self.public_key().name()
    }

    /// The Ed25519 signature of `message` (deterministic: the same bytes give the same signature).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Keypair").field(&self.name().to_string()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn ed25519_keys_round_trip_as_libp2p_protobufs() {
        let key = Keypair::from_seed([1; 32]);
        let private = key.to_protobuf();
        assert_eq!(&private[..4], [0x08, 0x01, 0x12, 0x40]);
        assert_eq!(&private[4..36], [1; 32]);
        let again = Keypair::from_protobuf(&private).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = key.public_key().to_protobuf();
        assert_eq!(&public[..4], [0x08, 0x01, 0x12, 0x20]);
        assert_eq!(PublicKey::from_protobuf(&public).unwrap(), key.public_key());
        let sig = key.sign(b"hello");
        assert!(key.public_key().verify(b"hello", &sig));
        assert!(!key.public_key().verify(b"hellO", &sig));
        assert!(!key.public_key().verify(b"hello", &sig[..63]));
        assert!(format!("{key:?}").starts_with("Keypair(\"k51"));
    }

    #[test]
    fn refuses_other_types_and_broken_keys() {
        let e = PublicKey::from_protobuf(&key_protobuf(KeyType::Rsa, &[0x30, 0])).unwrap_err();
        assert_eq!(e.code(), "IpnsUnsupportedKey");
        assert!(e.to_string().contains("RSA (0)"), "{e}");
        let unknown = [0x08, 0x09, 0x12, 0x01, 0x00];
        assert_eq!(PublicKey::from_protobuf(&unknown).unwrap_err().code(), "IpnsUnsupportedKey");
        let mut secp_private = Vec::new();
        proto::put_varint(&mut secp_private, 1, 2);
        proto::put_bytes(&mut secp_private, 2, &[1; 32]);
        let e = Keypair::from_protobuf(&secp_private).unwrap_err();
        assert_eq!(e, IpnsError::UnsupportedKey { key_type: 2, signing: true });
        for bad in [
            &[][..],
            &[0x08, 0x01],
            &[0x12, 0x00],
            &[0x08, 0x01, 0x08, 0x01, 0x12, 0x00],
            &[0x08, 0x01, 0x12, 0x01, 0x00],
            &[0x08, 0x01, 0x12, 0x20],
        ] {
            assert_eq!(PublicKey::from_protobuf(bad).unwrap_err().code(), "IpnsBadKey", "{bad:?}");
        }
        // The public half of a private key must be the seed's.
        let mut private = Keypair::from_seed([1; 32]).to_protobuf();
        private[40] ^= 1;
        assert_eq!(Keypair::from_protobuf(&private).unwrap_err().code(), "IpnsBadKey");
    }

    #[test]
    fn der_signatures_are_read_strictly() {
        // r = 1, s = 0x80 (needs its leading zero).
        let good = hex("3007020101020200 80".replace(' ', "").as_str());
        assert!(der_signature(&good).is_some());
        for bad in [
            "3006020101020180",   // s negative
            "30070201010202007f", // s not minimal
            "3008020101020200 8000",
            "300702010102020080ff", // trailing byte outside the sequence
            "3106020101020101",
        ] {
            assert!(der_signature(&hex(&bad.replace(' ', ""))).is_none(), "{bad}");
        }
    }
}
