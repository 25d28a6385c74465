//! Proofs of data segment inclusion (PoDSI, FRC-0058) and their verifier.
//!
//! A piece is in an aggregate when two merkle paths reach the aggregate's root:
//! 1. the *subtree* path, from the piece's root (a node at level `piece height` of the deal tree)
//!    up to the deal root; its offset says where the piece sits;
//! 2. the *index* path, from the node above the piece's 64-byte index entry (level 1) up to the
//!    deal root; the verifier rebuilds that entry itself from the piece root, the offset implied
//!    by path 1 and the piece size, so the entry cannot lie about either.
//!
//! The verifier also checks that the two paths agree on the deal's size and that the entry lies in
//! the index area at the end of the deal. It is go-data-segment's `ComputeExpectedAuxData` and
//! data-segment's `resolveAggregate`, and allocates nothing: it runs in the browser on every
//! retrieved piece.

use cid::Cid;

use super::cbor;
use super::cid::Piece;
use super::error::{InclusionError, ProofDecodeError, ProofPart};
use super::index::{index_area_start, IndexEntry, ENTRY_SIZE};
use super::node::{hash_pair, Node};

/// Longest path a proof may have, as in go-data-segment and data-segment.
pub const MAX_PROOF_DEPTH: usize = 63;

/// A merkle path: the position of a node in its level (`offset`, 0 is leftmost) and its siblings
/// from the bottom up. data-segment's `ProofData`, go-data-segment's `merkletree.ProofData`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProofPath {
    /// Index of the proven node within its level.
    pub offset: u64,
    /// Sibling nodes, nearest first.
    pub path: Vec<Node>,
}

impl ProofPath {
    /// Levels between the proven node and the root.
    pub fn depth(&self) -> usize {
        self.path.len()
    }

    /// The root reached from `node` by this path, after checking the depth and that the offset
    /// fits in a tree of that depth.
    pub fn resolve_root(&self, node: &Node, which: ProofPart) -> Result<Node, InclusionError> {
        let depth = self.depth();
        if depth > MAX_PROOF_DEPTH {
            return Err(InclusionError::TooDeep { which, depth });
        }
        if self.offset.checked_shr(depth as u32).unwrap_or(0) != 0 {
            return Err(InclusionError::OffsetOutOfRange { which, offset: self.offset, depth });
        }
        let mut top = *node;
        let mut position = self.offset;
        for sibling in &self.path {
            top =
                if position & 1 == 1 { hash_pair(sibling, &top) } else { hash_pair(&top, sibling) };
            position >>= 1;
        }
        Ok(top)
    }
}

/// Proof that a piece is part of an aggregate: data-segment's `InclusionProof`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InclusionProof {
    /// Path from the piece root to the aggregate root.
    pub subtree: ProofPath,
    /// Path from the piece's index entry (its level-1 node) to the aggregate root.
    pub index: ProofPath,
}

impl InclusionProof {
    /// The dag-cbor encoding `[[offset, [node...]], [offset, [node...]]]`, byte-identical to
    /// @web3-storage/data-segment's `InclusionProof.encode` and go-data-segment's CBOR.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::encode(self)
    }

    /// Reads the dag-cbor encoding, accepting only its canonical form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofDecodeError> {
        cbor::decode(bytes)
    }

    /// The text form: [`InclusionProof::to_bytes`] in unpadded base64url (archive records, the
    /// CLI, the npm package).
    pub fn to_text(&self) -> String {
        crate::codec::base64url::encode(&self.to_bytes())
    }

    /// Reads [`InclusionProof::to_text`]'s form, accepting only its canonical form.
    pub fn from_text(text: &str) -> Result<Self, ProofDecodeError> {
        Self::from_bytes(&crate::codec::base64url::decode(text)?)
    }

    /// The aggregate this proof places `piece` in (as go-data-segment's `ComputeExpectedAuxData`):
    /// its root and height, padding 0. Errors if the two paths disagree.
    pub fn resolve_aggregate(&self, piece: &Piece) -> Result<Piece, InclusionError> {
        let root = self.subtree.resolve_root(piece.root(), ProofPart::Subtree)?;
        let implied = usize::from(piece.height()) + self.subtree.depth();
        let aggregate = u8::try_from(implied)
            .ok()
            .and_then(|h| Piece::new(root, h, 0).ok())
            .ok_or(InclusionError::TreeHeight {
                piece_height: piece.height(),
                depth: self.subtree.depth(),
                implied,
                aggregate_height: 0,
            })?;
        self.check(piece, &aggregate)?;
        Ok(aggregate)
    }

    /// Checks that this proof places `piece` in `aggregate`. Only the aggregate's root and height
    /// matter (its padding is ignored: a deal is a whole tree).
    pub fn check(&self, piece: &Piece, aggregate: &Piece) -> Result<(), InclusionError> {
        let agg_height = aggregate.height();
        let tree_depth = self.subtree.depth();
        let implied = usize::from(piece.height()) + tree_depth;
        if tree_depth <= MAX_PROOF_DEPTH && implied != usize::from(agg_height) {
            return Err(InclusionError::TreeHeight {
                piece_height: piece.height(),
                depth: tree_depth,
                implied,
                aggregate_height: agg_height,
            });
        }
        if self.subtree.resolve_root(piece.root(), ProofPart::Subtree)? != *aggregate.root() {
            return Err(InclusionError::TreeRootMismatch);
        }

        let index_depth = self.index.depth();
        if index_depth <= MAX_PROOF_DEPTH && index_depth + 1 != usize::from(agg_height) {
            return Err(InclusionError::IndexHeight {
                depth: index_depth,
                implied: index_depth + 1,
                aggregate_height: agg_height,
            });
        }
        // The entry the aggregator must have written for this piece at this offset. Offsets stay
        // below 2^63: subtree offset < 2^depth and the piece size is 2^(5 + piece height).
        let piece_size = piece.padded_size();
        let entry = IndexEntry::new(*piece.root(), self.subtree.offset * piece_size, piece_size);
        if self.index.resolve_root(&entry.node(), ProofPart::Index)? != *aggregate.root() {
            return Err(InclusionError::IndexRootMismatch);
        }

        let entry_offset = self.index.offset * ENTRY_SIZE;
        let start = index_area_start(aggregate.padded_size());
        if entry_offset < start {
            return Err(InclusionError::IndexOutsideArea { offset: entry_offset, start });
        }
        Ok(())
    }
}

/// Checks that `proof` shows the piece named by the v2 piece CID `piece` is in the aggregate
/// named by the v2 piece CID `aggregate`, saying why not if it fails.
pub fn verify_inclusion(
    piece: &Cid,
    aggregate: &Cid,
    proof: &InclusionProof,
) -> Result<(), InclusionError> {
    let piece = Piece::from_cid(piece).map_err(InclusionError::Piece)?;
    let aggregate = Piece::from_cid(aggregate).map_err(InclusionError::Aggregate)?;
    proof.check(&piece, &aggregate)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::piece::cid::parse_cid;

    /// go-data-segment's `InclusionGolden1` (datasegment/incusion_golden_test.go): piece #3 of its
    /// ten synthetic pieces (root 0d0e0a01 00 03 00.., 512 MiB) in a 32 GiB aggregate.
    pub(crate) fn go_golden() -> (Piece, Piece, InclusionProof) {
        let mut root = [0u8; 32];
        root[..6].copy_from_slice(&[0x0d, 0x0e, 0x0a, 0x01, 0x00, 0x03]);
        let piece = Piece::from_padded_size(root, 0x2000_0000).unwrap();
        let agg_root = hex32("3f46bc645b07a3ea2c04f066f939ddf7e269dd77671f9e1e61a3a3797e665127");
        let aggregate = Piece::from_padded_size(agg_root, 0x8_0000_0000).unwrap();
        let subtree = ProofPath {
            offset: 5,
            path: [
                "0d0e0a0100020000000000000000000000000000000000000000000000000000",
                "0d0e0a0100040000000000000000000000000000000000000000000000000000",
                "b6a5c5d0cbaabd7e63de256c819d84623fde6f53d616120508667b12659f7c3e",
                "2df9cf74cb24e6349b809399b3a046640219dce8b97954eec43bf605dcc59b2d",
                "d8610218425ab5e95b1ca6239d29a2e420d706a96f373e2f9c9a91d759d19b01",
                "d628c4e101d5ca9aa4b341e4d0f028be8636fd7a0c3bf691cef16113b8d97932",
            ]
            .iter()
            .map(|s| hex32(s))
            .collect(),
        };
        let index = ProofPath {
            offset: 0x1ffc0003,
            path: [
                "ca99a41370d2dd04f7d97b0fed8a9833031291a6f7c825d7245b428fef8b2734",
                "2bc4f6cafd6a8366d032dfc7fceefd0ff2fb34dd2ea910da454773057333dd2a",
                "578b81a6596624f326b1d31e2e3db91062545d2f819d605cc4afef3377151800",
                "0e067c9486c9d41ff6cfeaf2d4b330d432e6aefa18eacbb5ce072ca197760215",
                "1f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f",
                "fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833",
                "08c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff624",
                "b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f",
                "f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e548189005108",
                "2c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e74011",
                "fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f02",
                "8e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f",
                "752d9693fa167524395476e317a98580f00947afb7a30540d625a9291cc12a07",
                "7022f60f7ef6adfa17117a52619e30cea82c68075adf1c667786ec506eef2d19",
                "d99887b973573a96e11393645236c17b1f4c7034d723c7a99f709bb4da61162b",
                "d0b530dbb0b4f25c5d2f2a28dfee808b53412a02931f18c499f5a254086b1326",
                "84c0421ba0685a01bf795a2344064fe424bd52a9d24377b394ff4c4b4568e811",
                "65f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c",
                "a2247508285850965b7e334b3127b0c042b1d046dc54402137627cd8799ce13a",
                "dafdab6da9364453c26d33726b9fefe343be8f81649ec009aad3faff50617508",
                "d941d5e0d6314a995c33ffbd4fbe69118d73d4e5fd2cd31f0f7c86ebdd14e706",
                "514c435c3d04d349a5365fbd59ffc713629111785991c1a3c53af22079741a2f",
                "ad06853969d37d34ff08e09f56930a4ad19a89def60cbfee7e1d3381c1e71c37",
                "39560e7b13a93b07a243fd2720ffa7cb3e1d2e505ab3629e79f46313512cda06",
                "ccc3c012f5b05e811a2bbfdd0f6833b84275b47bf229c0052a82484f3c1a5b3d",
                "7df29b69773199e8f2b40b77919d048509eed768e2c7297b1f1437034fc3c62c",
                "66ce05a3667552cf45c02bcc4e8392919bdeac35de2ff56271848e9f7b675107",
                "d8610218425ab5e95b1ca6239d29a2e420d706a96f373e2f9c9a91d759d19b01",
                "d0eef6d1bccabc5b5b9e3af2fea8ea9d184f08f43ac2071bdc635d44bbe35115",
            ]
            .iter()
            .map(|s| hex32(s))
            .collect(),
        };
        (piece, aggregate, InclusionProof { subtree, index })
    }

    pub(crate) fn hex32(s: &str) -> Node {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn go_golden_proof_verifies() {
        let (piece, aggregate, proof) = go_golden();
        assert_eq!(proof.check(&piece, &aggregate), Ok(()));
        assert_eq!(proof.resolve_aggregate(&piece), Ok(aggregate));
        assert_eq!(verify_inclusion(&piece.cid(), &aggregate.cid(), &proof), Ok(()));
        // The same aggregate as go-data-segment's TestAggregateCreation expects, as a v1 CID.
        assert_eq!(aggregate.cid_v1().to_bytes()[..7], [0x01, 0x81, 0xe2, 0x03, 0x92, 0x20, 0x20]);
        let bytes = proof.to_bytes();
        assert_eq!(InclusionProof::from_bytes(&bytes), Ok(proof));
    }

    #[test]
    fn every_flipped_bit_fails() {
        let (piece, aggregate, proof) = go_golden();
        let bytes = proof.to_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                if let Ok(p) = InclusionProof::from_bytes(&b) {
                    assert!(p.check(&piece, &aggregate).is_err(), "byte {i} bit {bit}");
                }
            }
        }
    }

    proptest::proptest! {
        /// Arbitrary proofs against arbitrary pieces fail cleanly (never panic, never pass).
        #[test]
        fn arbitrary_proofs_fail_cleanly(
            piece_height in 2u8..=58, agg_height in 2u8..=58,
            t_off in proptest::prelude::any::<u64>(), i_off in proptest::prelude::any::<u64>(),
            t_len in 0usize..70, i_len in 0usize..70, fill in proptest::prelude::any::<u8>(),
        ) {
            let piece = Piece::new([fill; 32], piece_height, 0).unwrap();
            let aggregate = Piece::new([!fill; 32], agg_height, 0).unwrap();
            let proof = InclusionProof {
                subtree: ProofPath { offset: t_off >> (t_off % 64), path: vec![[fill; 32]; t_len] },
                index: ProofPath { offset: i_off >> (i_off % 64), path: vec![[fill; 32]; i_len] },
            };
            proptest::prop_assert!(proof.check(&piece, &aggregate).is_err());
            let _ = proof.resolve_aggregate(&piece);
        }
    }

    #[test]
    fn failures_say_why() {
        let (piece, aggregate, proof) = go_golden();
        let mut p = proof.clone();
        p.subtree.path[2][0] ^= 1;
        assert_eq!(p.check(&piece, &aggregate), Err(InclusionError::TreeRootMismatch));
        let mut p = proof.clone();
        p.index.path[0][0] ^= 1;
        assert_eq!(p.check(&piece, &aggregate), Err(InclusionError::IndexRootMismatch));
        let mut p = proof.clone();
        p.subtree.offset = 64;
        assert!(matches!(
            p.check(&piece, &aggregate),
            Err(InclusionError::OffsetOutOfRange { which: ProofPart::Subtree, .. })
        ));
        let mut p = proof.clone();
        p.subtree.path.pop();
        assert!(matches!(p.check(&piece, &aggregate), Err(InclusionError::TreeHeight { .. })));
        let mut p = proof.clone();
        p.index.path.pop();
        assert!(matches!(p.check(&piece, &aggregate), Err(InclusionError::IndexHeight { .. })));
        let mut p = proof.clone();
        p.index.path = vec![[0; 32]; 64];
        assert!(matches!(
            p.check(&piece, &aggregate),
            Err(InclusionError::TooDeep { which: ProofPart::Index, depth: 64 })
        ));
        let v1 =
            parse_cid("baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq").unwrap();
        assert!(matches!(
            verify_inclusion(&v1, &aggregate.cid(), &proof),
            Err(InclusionError::Piece(_))
        ));
        assert!(matches!(
            verify_inclusion(&piece.cid(), &v1, &proof),
            Err(InclusionError::Aggregate(_))
        ));
        // Another piece of the same size does not verify with this proof.
        let other = Piece::from_padded_size([9; 32], piece.padded_size()).unwrap();
        assert_eq!(proof.check(&other, &aggregate), Err(InclusionError::TreeRootMismatch));
    }
}
