//! The dag-cbor form of inclusion proofs, written by hand.
//!
//! @web3-storage/data-segment and go-data-segment exchange a proof as the dag-cbor tuple
//! `[[offset, [node, ...]], [offset, [node, ...]]]` (subtree proof, then index proof; offsets as
//! unsigned integers, nodes as 32-byte byte strings). That needs four CBOR items, so rather than
//! pull in a CBOR library (and its size in the browser) this module writes and strictly reads
//! exactly that shape: definite lengths, minimal integer encodings, nothing trailing, so a proof
//! has one encoding and its bytes (and dag-cbor CID) match the JS tooling's.

use super::error::ProofDecodeError;
use super::node::Node;
use super::proof::{InclusionProof, ProofPath, MAX_PROOF_DEPTH};
use crate::codec::cbor::{put_head, MAJOR_ARRAY, MAJOR_BYTES, MAJOR_UINT};

fn put_path(out: &mut Vec<u8>, proof: &ProofPath) {
    put_head(out, MAJOR_ARRAY, 2);
    put_head(out, MAJOR_UINT, proof.offset);
    put_head(out, MAJOR_ARRAY, proof.path.len() as u64);
    for node in &proof.path {
        put_head(out, MAJOR_BYTES, 32);
        out.extend_from_slice(node);
    }
}

/// Encodes a proof as dag-cbor `[[offset, [node...]], [offset, [node...]]]`.
pub fn encode(proof: &InclusionProof) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 34 * (proof.subtree.path.len() + proof.index.path.len()));
    put_head(&mut out, MAJOR_ARRAY, 2);
    put_path(&mut out, &proof.subtree);
    put_path(&mut out, &proof.index);
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, ProofDecodeError> {
        let b = *self.buf.get(self.pos).ok_or(ProofDecodeError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], ProofDecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(ProofDecodeError::Truncated(self.buf.len()))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Reads an item head of the given major type, returning its argument.
    fn head(&mut self, major: u8, expected: &'static str) -> Result<u64, ProofDecodeError> {
        let start = self.pos;
        let b = self.byte()?;
        if b >> 5 != major {
            return Err(ProofDecodeError::Unexpected { offset: start, expected });
        }
        let (value, min) = match b & 0x1f {
            n @ 0..=23 => return Ok(u64::from(n)),
            24 => (u64::from(self.byte()?), 24),
            25 => (u64::from(u16::from_be_bytes([self.byte()?, self.byte()?])), 0x100),
            26 => {
                let s = self.take(4)?;
                (u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])), 0x1_0000)
            }
            27 => {
                let s = self.take(8)?;
                let mut w = [0u8; 8];
                w.copy_from_slice(s);
                (u64::from_be_bytes(w), 0x1_0000_0000)
            }
            // 28..=30 are reserved and 31 is an indefinite length, which dag-cbor forbids.
            _ => return Err(ProofDecodeError::Unexpected { offset: start, expected }),
        };
        if value < min {
            return Err(ProofDecodeError::NonMinimal(start));
        }
        Ok(value)
    }

    fn pair(&mut self) -> Result<(), ProofDecodeError> {
        let at = self.pos;
        if self.head(MAJOR_ARRAY, "a 2-element array")? != 2 {
            return Err(ProofDecodeError::Unexpected { offset: at, expected: "a 2-element array" });
        }
        Ok(())
    }

    fn path(&mut self) -> Result<ProofPath, ProofDecodeError> {
        self.pair()?;
        let offset = self.head(MAJOR_UINT, "an unsigned integer offset")?;
        let at = self.pos;
        let len = self.head(MAJOR_ARRAY, "an array of nodes")?;
        if len > MAX_PROOF_DEPTH as u64 {
            return Err(ProofDecodeError::PathTooLong { offset: at, len });
        }
        let mut path = Vec::with_capacity(len as usize);
        for _ in 0..len {
            let at = self.pos;
            let n = self.head(MAJOR_BYTES, "a 32-byte node")?;
            if n != 32 {
                return Err(ProofDecodeError::NodeLength { offset: at, len: n });
            }
            let mut node: Node = [0; 32];
            node.copy_from_slice(self.take(32)?);
            path.push(node);
        }
        Ok(ProofPath { offset, path })
    }
}

/// Decodes the dag-cbor form of a proof, refusing anything but its one canonical encoding.
pub fn decode(bytes: &[u8]) -> Result<InclusionProof, ProofDecodeError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    r.pair()?;
    let subtree = r.path()?;
    let index = r.path()?;
    if r.pos != bytes.len() {
        return Err(ProofDecodeError::TrailingBytes(bytes.len() - r.pos));
    }
    Ok(InclusionProof { subtree, index })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes decode to a proof or an error, never a panic; any proof round-trips.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(p) = decode(&bytes) {
                prop_assert_eq!(encode(&p), bytes);
            }
        }

        #[test]
        fn arbitrary_proofs_round_trip(a in any::<u64>(), b in any::<u64>(), n in 0usize..64, m in 0usize..64, fill in any::<u8>()) {
            let proof = InclusionProof {
                subtree: ProofPath { offset: a, path: vec![[fill; 32]; n] },
                index: ProofPath { offset: b, path: vec![[fill ^ 0x55; 32]; m] },
            };
            let bytes = encode(&proof);
            prop_assert_eq!(decode(&bytes), Ok(proof));
        }
    }

    #[test]
    fn heads_are_minimal() {
        for (v, len) in [
            (0u64, 1),
            (23, 1),
            (24, 2),
            (255, 2),
            (256, 3),
            (65535, 3),
            (65536, 5),
            (u32::MAX as u64, 5),
            (1 << 32, 9),
            (u64::MAX, 9),
        ] {
            let mut out = Vec::new();
            put_head(&mut out, MAJOR_UINT, v);
            assert_eq!(out.len(), len, "{v}");
            let mut r = Reader { buf: &out, pos: 0 };
            assert_eq!(r.head(MAJOR_UINT, "uint"), Ok(v));
        }
        // 5 written as 0x18 0x05 is not minimal.
        let mut r = Reader { buf: &[0x18, 0x05], pos: 0 };
        assert_eq!(r.head(MAJOR_UINT, "uint"), Err(ProofDecodeError::NonMinimal(0)));
    }

    #[test]
    fn round_trip_and_strictness() {
        let proof = InclusionProof {
            subtree: ProofPath { offset: 5, path: vec![[1; 32], [2; 32]] },
            index: ProofPath { offset: 0x1ffc0003, path: vec![[3; 32]] },
        };
        let bytes = encode(&proof);
        assert_eq!(&bytes[..4], &[0x82, 0x82, 0x05, 0x82]);
        assert_eq!(decode(&bytes), Ok(proof.clone()));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "prefix {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing), Err(ProofDecodeError::TrailingBytes(1)));
        // A 31-byte node.
        let mut short = bytes.clone();
        assert_eq!(&short[4..6], &[0x58, 32]);
        short[5] = 31;
        assert!(matches!(decode(&short), Err(ProofDecodeError::NodeLength { len: 31, .. })));
        // A 64-node path is refused before anything is allocated for it.
        assert!(matches!(
            decode(&[0x82, 0x82, 0x00, 0x98, 64]),
            Err(ProofDecodeError::PathTooLong { len: 64, .. })
        ));
        assert!(matches!(
            decode(&[0x82, 0x82, 0x00, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(ProofDecodeError::PathTooLong { .. })
        ));
        // Indefinite-length array.
        assert!(matches!(decode(&[0x9f]), Err(ProofDecodeError::Unexpected { offset: 0, .. })));
        assert!(decode(&[]).is_err());
    }
}
