//! The rules of a verifying IPFS HTTP gateway, sans-IO.
//!
//! The edge worker (and any other adapter) asks this module what to do with a request, hands it
//! blocks by CID when it asks for them, and turns its answers into HTTP. Every rule about DAGs,
//! CIDs, paths, `_redirects`, dag-scope traversal and CAR responses lives here, so it is tested
//! natively and deterministically.
//!
//! - [`path`]: content paths, CID parsing, subdomain labels, percent-encoding.
//! - [`resolve`]: a path → CID resolver through plain and HAMT folders (and DAG-CBOR links).
//!   A file's bytes, over a byte range, are read by [`crate::unixfs::read`].
//! - [`traverse`]: the block order of a trustless CAR response (dag-scope, entity-bytes, dups).
//! - [`http`]: request routing (path, subdomain, custom-domain gateways), ranges, ETags, headers.
//! - [`head`]: the status and headers of every response, from the request's conditions.
//! - [`redirects`]: `_redirects` files (IPIP-0002).
//! - [`listing`]: the HTML folder listing.
//! - [`memory`]: a bounded memory of verified folder and file nodes, kept across requests.
//! - [`mime`]: Content-Type from the name and from the first bytes.
//! - [`store`]: reading single blocks out of a CARv2 by its index, and DNSLink records.
//! - [`block_index`]: the store-wide index that finds any stored block by its own multihash.

pub mod block_index;
pub mod cbor;
pub mod head;
pub mod http;
pub mod listing;
pub mod memory;
pub mod mime;
pub mod path;
pub mod redirects;
pub mod resolve;
pub mod store;
pub mod traverse;

use cid::Cid;

/// The largest block taken from an untrusted source: the trustless gateway spec's limit for
/// clients (2 MiB), so a source cannot make the gateway buffer unbounded bytes before they can be
/// checked against their CID.
pub const MAX_BLOCK_SIZE: usize = 2 << 20;

/// Why a block handed over by a source cannot be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// The bytes do not hash to the CID.
    #[error("block {0} does not match its CID")]
    HashMismatch(Cid),
    /// The CID's multihash is one carport does not implement.
    #[error("block {cid} uses hash 0x{code:x}, which carport cannot check")]
    UnsupportedHash {
        /// The block's CID.
        cid: Cid,
        /// Its multihash code.
        code: u64,
    },
}

impl crate::error::Coded for BlockError {
    fn code(&self) -> &'static str {
        match self {
            BlockError::HashMismatch(_) => "HashMismatch",
            BlockError::UnsupportedHash { .. } => "UnsupportedHash",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            BlockError::HashMismatch(cid) | BlockError::UnsupportedHash { cid, .. } => Some(cid),
        }
    }
}

impl crate::error::Coded for http::NegotiateError {
    fn code(&self) -> &'static str {
        match self {
            http::NegotiateError::Format(_) => "Format",
            http::NegotiateError::CarVersion(_)
            | http::NegotiateError::CarOrder(_)
            | http::NegotiateError::Dups(_) => "CarParams",
            http::NegotiateError::Scope(e) => e.code(),
            http::NegotiateError::EntityBytes(e) => e.code(),
        }
    }
}

impl crate::error::Coded for path::PathError {
    fn code(&self) -> &'static str {
        match self {
            path::PathError::Invalid { .. } => "Path",
            path::PathError::TooLongForDns(_) => "DnsLabel",
        }
    }
}

/// Checks that `data` hashes to `cid`. Every block the gateway serves passes through here first.
pub fn verify_block(cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
    match crate::codec::cids::rehash(cid, data) {
        Some(true) => Ok(()),
        Some(false) => Err(BlockError::HashMismatch(*cid)),
        None => Err(BlockError::UnsupportedHash { cid: *cid, code: cid.hash().code() }),
    }
}

/// Checks a SHA-256 digest computed elsewhere (a platform's native hasher) against a sha2-256
/// CID; any other CID is left to [`verify_block`].
pub fn verify_sha256(cid: &Cid, sha256: &[u8]) -> Result<(), BlockError> {
    match cid.hash().code() {
        crate::codec::multicodec::SHA2_256 if cid.hash().digest() == sha256 => Ok(()),
        crate::codec::multicodec::SHA2_256 => Err(BlockError::HashMismatch(*cid)),
        code => Err(BlockError::UnsupportedHash { cid: *cid, code }),
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Fixture CARs from `../shared/fixtures/gateway-conformance`, read into memory.
    use std::collections::HashMap;

    use cid::Cid;

    pub fn car(name: &str) -> (Vec<Cid>, HashMap<Cid, Vec<u8>>, Vec<Cid>) {
        let bytes = crate::testutil::fixture(&format!("gateway-conformance/{name}"));
        let (header, blocks) = crate::car::read_all(&bytes).unwrap();
        let crate::car::Event::Header { roots, .. } = header else { panic!("no header") };
        let order = blocks.iter().map(|b| b.0).collect();
        (roots, blocks.into_iter().map(|(c, d, _)| (c, d)).collect(), order)
    }

    pub fn cid(s: &str) -> Cid {
        s.parse().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cids::{inline_block, CidRule, HashAlg};
    use crate::codec::multicodec::RAW;
    use sha2::Digest;

    #[test]
    fn a_digest_from_elsewhere_checks_like_the_block() {
        let rule =
            CidRule { version: cid::Version::V1, hash: HashAlg::Sha2_256, inline_limit: None };
        let cid = rule.cid(RAW, b"block");
        assert_eq!(verify_sha256(&cid, &sha2::Sha256::digest(b"block")), Ok(()));
        assert_eq!(
            verify_sha256(&cid, &sha2::Sha256::digest(b"other")),
            Err(BlockError::HashMismatch(cid))
        );
        let blake = CidRule { hash: HashAlg::Blake3, ..rule }.cid(RAW, b"block");
        assert!(matches!(
            verify_sha256(&blake, &sha2::Sha256::digest(b"block")),
            Err(BlockError::UnsupportedHash { .. })
        ));
    }

    #[test]
    fn verifies_and_rejects() {
        let cid: Cid =
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".parse().unwrap();
        assert_eq!(verify_block(&cid, b""), Ok(()));
        assert_eq!(verify_block(&cid, b"x"), Err(BlockError::HashMismatch(cid)));
        let hello: Cid = "bafkqabtimvwgy3yk".parse().unwrap();
        assert_eq!(inline_block(&hello).unwrap(), b"hello\n");
        assert_eq!(verify_block(&hello, b"hello\n"), Ok(()));
    }
}
