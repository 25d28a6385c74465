//! CurioAuth: the `Authorization` header of every mk20 route.
//!
//! As Curio builds and checks it (market/mk20/client/auth.go and market/mk20/auth.go):
//!
//! ```text
//! Authorization: CurioAuth secp256k1:<base64(address bytes)>:<base64(signature bytes)>
//! digest    = SHA-256(address bytes || METHOD || escaped path || RFC 3339 time of the minute)
//! signature = 0x01 || r || s || v   (Filecoin secp256k1: ECDSA over BLAKE2b-256(digest))
//! ```
//!
//! The address bytes are the client's Filecoin address (`0x01 || blake2b-160(pubkey)` for a
//! secp256k1 key), not a public key: the server recovers the key from the signature and checks
//! that it hashes to that address. The time is the request's minute (`2025-07-15T17:00:00Z`); the
//! server tries its own current minute, the one before and the one after, so a header stays good
//! for one to two minutes and tolerates that much clock skew. Neither the body nor the query
//! string is signed. Signing uses RFC 6979 nonces, so it needs no random source.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::address::{
    secp256k1_address_bytes, secp256k1_address_string, Network, SECP256K1_ADDRESS_LEN,
    SECP256K1_PROTOCOL,
};

/// What starts the header value.
pub const AUTH_PREFIX: &str = "CurioAuth ";

/// The key type this crate signs with.
pub const SECP256K1_KEY_TYPE: &str = "secp256k1";

/// Key types Curio accepts in the header (it dispatches on the signature's type byte, not on this).
const KNOWN_KEY_TYPES: [&str; 3] = ["secp256k1", "bls", "delegated"];

/// `crypto.SigTypeSecp256k1` of go-state-types: the first byte of a serialized signature.
const SIG_TYPE_SECP256K1: u8 = 1;
/// `SigTypeBLS` and `SigTypeDelegated`: signatures Curio accepts and this crate does not check.
const SIG_TYPE_BLS: u8 = 2;
const SIG_TYPE_DELEGATED: u8 = 3;
/// `crypto.SignatureMaxLength` of go-state-types.
const SIGNATURE_MAX_LEN: usize = 200;
/// r, s and the recovery byte.
const SECP256K1_SIGNATURE_LEN: usize = 65;

/// A secp256k1 secret key: 32 big-endian bytes, as Lotus wallets export them.
pub type SecretKeyBytes = [u8; 32];

/// A client's signing key, checked once, with its address bytes.
#[derive(Clone)]
pub struct ClientKey {
    signing: SigningKey,
    address: [u8; SECP256K1_ADDRESS_LEN],
}

impl core::fmt::Debug for ClientKey {
    /// Shows the address, never the secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientKey").field("address", &self.address).finish_non_exhaustive()
    }
}

/// Why a header or key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the secret key is not a valid secp256k1 scalar")]
    InvalidKey,
    #[error("the header does not start with \"CurioAuth \"")]
    MissingPrefix,
    #[error("the header is not KeyType:AddressBytes:Signature")]
    Format,
    #[error("the {0} in the header is not valid base64")]
    Base64(&'static str),
    #[error("the {0} in the header is empty")]
    Empty(&'static str),
    #[error("unsupported key type {0:?}")]
    UnsupportedKeyType(String),
    #[error("unsupported signature type {0} (only secp256k1 signatures are checked here)")]
    UnsupportedSignatureType(u8),
    #[error("invalid signature")]
    InvalidSignature,
    #[error("the address in the header is not a secp256k1 address")]
    UnsupportedAddress,
    #[error("the signature does not match the address, method, path and time")]
    Mismatch,
    #[error("signing failed")]
    Signing,
}

impl ClientKey {
    /// The key of 32 secret bytes; fails for zero or for values at or above the curve order.
    pub fn from_bytes(secret: &SecretKeyBytes) -> Result<ClientKey, AuthError> {
        let signing = SigningKey::from_slice(secret).map_err(|_| AuthError::InvalidKey)?;
        let pubkey = signing.verifying_key().to_encoded_point(false);
        let address = secp256k1_address_bytes(pubkey.as_bytes());
        Ok(ClientKey { signing, address })
    }

    /// The Filecoin address bytes (`0x01 || blake2b-160(uncompressed pubkey)`).
    pub fn address_bytes(&self) -> &[u8; SECP256K1_ADDRESS_LEN] {
        &self.address
    }
}

/// The Filecoin `f1`/`t1` address of a key: the deal's `client`, and what a provider's
/// allow-list names.
pub fn client_address(key: &ClientKey, network: Network) -> String {
    secp256k1_address_string(&key.address, network)
}

/// The `Authorization` header value for one request: `method` (any case) and the escaped URL
/// path without query string (`/market/mk20/deal`), at `now_unix_secs`.
pub fn authorization(
    key: &ClientKey,
    method: &str,
    path: &str,
    now_unix_secs: u64,
) -> Result<String, AuthError> {
    let digest = auth_digest(&key.address, method, path, now_unix_secs / 60 * 60);
    let mut signature = Vec::with_capacity(1 + SECP256K1_SIGNATURE_LEN);
    signature.push(SIG_TYPE_SECP256K1);
    signature.extend_from_slice(&filecoin_sign(&key.signing, &digest)?);
    Ok(format!(
        "{AUTH_PREFIX}{SECP256K1_KEY_TYPE}:{}:{}",
        BASE64.encode(key.address),
        BASE64.encode(&signature)
    ))
}

/// Checks a header as Curio's server does for a request of `method` on `path` arriving at
/// `now_unix_secs`, and gives the client's address written for `network`. What Curio does after
/// this (its client allow/deny list, deal ownership for routes with an id) is the caller's.
///
/// Curio also accepts BLS and delegated signatures; this checks secp256k1 ones only and answers
/// [`AuthError::UnsupportedSignatureType`] for the others.
pub fn verify_authorization(
    header: &str,
    method: &str,
    path: &str,
    now_unix_secs: u64,
    network: Network,
) -> Result<String, AuthError> {
    let (key_type, address, signature) = parse_header(header)?;
    if !KNOWN_KEY_TYPES.contains(&key_type) {
        return Err(AuthError::UnsupportedKeyType(key_type.to_string()));
    }
    let signature = parse_signature(&signature)?;
    let address: [u8; SECP256K1_ADDRESS_LEN] =
        match <[u8; SECP256K1_ADDRESS_LEN]>::try_from(address.as_slice()) {
            Ok(bytes) if bytes[0] == SECP256K1_PROTOCOL => bytes,
            _ => return Err(AuthError::UnsupportedAddress),
        };
    let minute = now_unix_secs / 60 * 60;
    // The current minute first, then the one before and the one after, as Curio tries them.
    let minutes = [Some(minute), minute.checked_sub(60), minute.checked_add(60)];
    for at in minutes.into_iter().flatten() {
        let digest = auth_digest(&address, method, path, at);
        if recover_address(&signature, &digest) == Some(address) {
            return Ok(secp256k1_address_string(&address, network));
        }
    }
    Err(AuthError::Mismatch)
}

/// Splits the header into key type, address bytes and signature bytes, as `parseCustomAuth`.
fn parse_header(header: &str) -> Result<(&str, Vec<u8>, Vec<u8>), AuthError> {
    let rest = header.strip_prefix(AUTH_PREFIX).ok_or(AuthError::MissingPrefix)?;
    let mut parts = rest.splitn(3, ':');
    let (Some(key_type), Some(address), Some(signature)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Format);
    };
    let address = BASE64.decode(address).map_err(|_| AuthError::Base64("address"))?;
    if address.is_empty() {
        return Err(AuthError::Empty("address"));
    }
    let signature = BASE64.decode(signature).map_err(|_| AuthError::Base64("signature"))?;
    if signature.is_empty() {
        return Err(AuthError::Empty("signature"));
    }
    Ok((key_type, address, signature))
}

/// The 65 bytes of a serialized secp256k1 signature (`crypto.Signature.UnmarshalBinary`).
fn parse_signature(bytes: &[u8]) -> Result<[u8; SECP256K1_SIGNATURE_LEN], AuthError> {
    if bytes.len() > SIGNATURE_MAX_LEN {
        return Err(AuthError::InvalidSignature);
    }
    match bytes[0] {
        SIG_TYPE_SECP256K1 => <[u8; SECP256K1_SIGNATURE_LEN]>::try_from(&bytes[1..])
            .map_err(|_| AuthError::InvalidSignature),
        t @ (SIG_TYPE_BLS | SIG_TYPE_DELEGATED) => Err(AuthError::UnsupportedSignatureType(t)),
        _ => Err(AuthError::InvalidSignature),
    }
}

/// SHA-256 of `address || METHOD || path || minute`, the message Curio's clients sign.
fn auth_digest(address: &[u8], method: &str, path: &str, minute_unix_secs: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(address);
    h.update(method.to_ascii_uppercase().as_bytes());
    h.update(if path.is_empty() { "/" } else { path }.as_bytes());
    h.update(rfc3339_utc(minute_unix_secs).as_bytes());
    h.finalize().into()
}

/// A Filecoin secp256k1 signature of `message`: recoverable ECDSA over its BLAKE2b-256, as
/// `r || s || v` with `v` the recovery id (0 or 1) and `s` low, as Lotus's `sigs.Sign` makes it.
fn filecoin_sign(
    key: &SigningKey,
    message: &[u8],
) -> Result<[u8; SECP256K1_SIGNATURE_LEN], AuthError> {
    let prehash = blake2b_256(message);
    let (signature, recovery) =
        key.sign_prehash_recoverable(&prehash).map_err(|_| AuthError::Signing)?;
    let mut out = [0u8; SECP256K1_SIGNATURE_LEN];
    out[..64].copy_from_slice(&signature.to_bytes());
    out[64] = recovery.to_byte();
    Ok(out)
}

/// The address whose key made a Filecoin secp256k1 signature of `message`, as Lotus's
/// `sigs.Verify` recovers it; `None` when nothing can be recovered.
fn recover_address(
    signature: &[u8; SECP256K1_SIGNATURE_LEN],
    message: &[u8],
) -> Option<[u8; SECP256K1_ADDRESS_LEN]> {
    let prehash = blake2b_256(message);
    let sig = Signature::from_slice(&signature[..64]).ok()?;
    let recovery = RecoveryId::from_byte(signature[64])?;
    let key = VerifyingKey::recover_from_prehash(&prehash, &sig, recovery).ok()?;
    Some(secp256k1_address_bytes(key.to_encoded_point(false).as_bytes()))
}

fn blake2b_256(data: &[u8]) -> [u8; 32] {
    let hash = blake2b_simd::Params::new().hash_length(32).hash(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_bytes());
    out
}

/// Go's `time.RFC3339` of a UTC time: `2006-01-02T15:04:05Z`.
fn rfc3339_utc(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The secp256k1 key of filecoin-signing-tools' test vectors (Zondax), whose address is
    /// `f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba` there and in Glif's wallet tests.
    const KEY_B64: &str = "8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo=";

    fn key() -> ClientKey {
        let bytes: SecretKeyBytes = BASE64.decode(KEY_B64).unwrap().try_into().unwrap();
        ClientKey::from_bytes(&bytes).unwrap()
    }

    fn other_key() -> ClientKey {
        ClientKey::from_bytes(&[7u8; 32]).unwrap()
    }

    const NOW: u64 = 1_752_598_830; // 2025-07-15T17:00:30Z

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn address_of_known_key() {
        assert_eq!(
            client_address(&key(), Network::Mainnet),
            "f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba"
        );
        assert_eq!(
            client_address(&key(), Network::Testnet),
            "t1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba"
        );
    }

    /// filecoin-signing-tools' signing vector (Zondax; its wasm `sign` test and
    /// EXAMPLE_CBOR_DATA): a Filecoin message from the key above and the signature its RFC 6979
    /// signer makes. Lotus signs the message CID bytes, so the signature is over BLAKE2b-256 of
    /// `CIDv1(dag-cbor, blake2b-256(message))`: this checks hashing, nonces and the `r||s||v`
    /// layout byte for byte, and that recovery finds the key's address.
    #[test]
    fn matches_filecoin_signing_tools_vector() {
        let message = hex("8a005501fd1d0f4dfcd7e99afcb99a8326b7dc459d32c62855011eaf1c8a4bbfeeb0870b1745b1f57503470b71160144000186a01961a84200014200010040");
        let mut cid = vec![0x01, 0x71, 0xa0, 0xe4, 0x02, 0x20];
        cid.extend_from_slice(&blake2b_256(&message));
        let expected: [u8; 65] = BASE64
            .decode("nFuTI7MxEXqTQ0QmmQTmqbUsNZfHFXlNjz+susVDkAk1SrRCdJKxlVZZrM4vUtVBSYgtMIeigNfpqdKGIFhoWQA=")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(recover_address(&expected, &cid), Some(*key().address_bytes()));
        assert_eq!(filecoin_sign(&key().signing, &cid).unwrap(), expected);
    }

    #[test]
    fn header_round_trips() {
        let header = authorization(&key(), "post", "/market/mk20/deal", NOW).unwrap();
        assert!(header.starts_with("CurioAuth secp256k1:"));
        let client =
            verify_authorization(&header, "POST", "/market/mk20/deal", NOW, Network::Mainnet)
                .unwrap();
        assert_eq!(client, "f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba");
    }

    #[test]
    fn header_has_curios_layout() {
        let header =
            authorization(&key(), "GET", "/market/mk20/status/01ARZ3NDEKTSV4RRFFQ69G5FAV", NOW)
                .unwrap();
        let rest = header.strip_prefix("CurioAuth ").unwrap();
        let parts: Vec<&str> = rest.split(':').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "secp256k1");
        assert_eq!(BASE64.decode(parts[1]).unwrap(), key().address_bytes());
        let sig = BASE64.decode(parts[2]).unwrap();
        assert_eq!((sig.len(), sig[0]), (66, 1));
        assert!(sig[65] <= 1);
    }

    #[test]
    fn accepts_the_neighbouring_minutes_only() {
        let header = authorization(&key(), "POST", "/market/mk20/deal", NOW).unwrap();
        let check =
            |now| verify_authorization(&header, "POST", "/market/mk20/deal", now, Network::Mainnet);
        let minute = NOW / 60 * 60;
        assert!(check(minute).is_ok());
        assert!(check(minute + 59).is_ok());
        assert!(check(minute - 60).is_ok());
        assert!(check(minute + 119).is_ok());
        assert_eq!(check(minute - 61), Err(AuthError::Mismatch));
        assert_eq!(check(minute + 120), Err(AuthError::Mismatch));
    }

    #[test]
    fn binds_method_and_path() {
        let header = authorization(&key(), "POST", "/market/mk20/deal", NOW).unwrap();
        assert_eq!(
            verify_authorization(&header, "GET", "/market/mk20/deal", NOW, Network::Mainnet),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            verify_authorization(&header, "POST", "/market/mk20/deal/", NOW, Network::Mainnet),
            Err(AuthError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_signature_by_another_key() {
        let theirs = authorization(&other_key(), "POST", "/market/mk20/deal", NOW).unwrap();
        let their_sig = theirs.rsplit(':').next().unwrap();
        let mine = authorization(&key(), "POST", "/market/mk20/deal", NOW).unwrap();
        let (head, _) = mine.rsplit_once(':').unwrap();
        let forged = format!("{head}:{their_sig}");
        assert_eq!(
            verify_authorization(&forged, "POST", "/market/mk20/deal", NOW, Network::Mainnet),
            Err(AuthError::Mismatch)
        );
    }

    #[test]
    fn rejects_tampered_signatures() {
        let header = authorization(&key(), "POST", "/market/mk20/deal", NOW).unwrap();
        let (head, sig) = header.rsplit_once(':').unwrap();
        let sig = BASE64.decode(sig).unwrap();
        for at in [1, 20, 40, 64] {
            let mut bad = sig.clone();
            bad[at] ^= 0x01;
            let forged = format!("{head}:{}", BASE64.encode(&bad));
            let got =
                verify_authorization(&forged, "POST", "/market/mk20/deal", NOW, Network::Mainnet);
            assert_eq!(got, Err(AuthError::Mismatch), "byte {at}");
        }
        let mut bad = sig.clone();
        bad[65] = 4;
        let forged = format!("{head}:{}", BASE64.encode(&bad));
        assert_eq!(
            verify_authorization(&forged, "POST", "/market/mk20/deal", NOW, Network::Mainnet),
            Err(AuthError::Mismatch)
        );
        let short = format!("{head}:{}", BASE64.encode(&sig[..65]));
        assert_eq!(
            verify_authorization(&short, "POST", "/market/mk20/deal", NOW, Network::Mainnet),
            Err(AuthError::InvalidSignature)
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        let v =
            |h: &str| verify_authorization(h, "POST", "/market/mk20/deal", NOW, Network::Mainnet);
        assert_eq!(v("Bearer abc"), Err(AuthError::MissingPrefix));
        assert_eq!(v("CurioAuth secp256k1:AQ=="), Err(AuthError::Format));
        assert_eq!(v("CurioAuth secp256k1:!!:AQ=="), Err(AuthError::Base64("address")));
        assert_eq!(v("CurioAuth secp256k1::AQ=="), Err(AuthError::Empty("address")));
        assert_eq!(v("CurioAuth secp256k1:AQ==:"), Err(AuthError::Empty("signature")));
        assert_eq!(v("CurioAuth rsa:AQ==:AQ=="), Err(AuthError::UnsupportedKeyType("rsa".into())));
        assert_eq!(v("CurioAuth bls:AQ==:Ag=="), Err(AuthError::UnsupportedSignatureType(2)));
        assert_eq!(v("CurioAuth secp256k1:AA==:AQ=="), Err(AuthError::InvalidSignature));
        let sig = BASE64.encode([1u8; 66]);
        assert_eq!(
            v(&format!("CurioAuth secp256k1:AAE=:{sig}")),
            Err(AuthError::UnsupportedAddress)
        );
    }

    #[test]
    fn rejects_invalid_secret_keys() {
        assert_eq!(ClientKey::from_bytes(&[0; 32]).unwrap_err(), AuthError::InvalidKey);
        assert_eq!(ClientKey::from_bytes(&[0xff; 32]).unwrap_err(), AuthError::InvalidKey);
    }

    #[test]
    fn formats_times_as_go_rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_752_598_800), "2025-07-15T17:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339_utc(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn digest_is_sha256_of_the_concatenation() {
        let digest = auth_digest(&[1, 2], "post", "", 1_752_598_800);
        let mut expected = Sha256::new();
        expected.update(b"\x01\x02POST/2025-07-15T17:00:00Z");
        assert_eq!(digest, <[u8; 32]>::from(expected.finalize()));
    }
}
