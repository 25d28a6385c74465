//! Aggregating pieces into one deal (FRC-0058 verifiable data aggregation).
//!
//! A deal of `D` padded bytes (a power of two) holds pieces one after another, each at an offset
//! that is a multiple of its own padded size (so it is a whole subtree of the deal tree), and ends
//! with the data segment index (see [`super::index`]). Placement follows go-data-segment's
//! `ComputeDealPlacement` and @web3-storage/data-segment's builder exactly, so the same pieces in
//! the same order give the same aggregate CID everywhere: each piece goes at the first offset
//! aligned to its size at or after the end of the previous one.
//!
//! The deal's bytes are never materialised. The deal tree is sparse: its only non-zero parts are
//! the piece roots and the index entries, so its root is computed by descending from the top,
//! splitting the (sorted) set of known subtrees at each midpoint and using the zero table for
//! empty halves. That costs about `height` hashes per piece and per index entry, whatever the
//! deal size, and every node computed is kept so inclusion proofs are lookups.

use cid::Cid;

use super::cid::Piece;
use super::error::AggregateError;
use super::fr32;
use super::index::{index_area_start, index_size, max_index_entries, IndexEntry, ENTRY_SIZE};
use super::node::{hash_pair, Node, NODE_SIZE};
use super::proof::{InclusionProof, ProofPath};
use super::size::{MAX_PADDED_SIZE, MIN_PADDED_SIZE};
use super::zero::zero_at;

/// The smallest deal: a 256-byte index (4 entries) plus a 128-byte piece, rounded to a power of two.
pub const MIN_DEAL_SIZE: u64 = 512;

/// Collects pieces for one deal, checking as each is added that it still fits.
#[derive(Clone, Debug)]
pub struct AggregateBuilder {
    deal_size: u64,
    limit: u64,
    /// End of the last placed piece, in nodes.
    cursor: u64,
    placed: Vec<Placement>,
}

/// Where a piece sits in the deal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The piece (as given: its padding is kept).
    pub piece: Piece,
    /// Offset of the piece in the deal, in padded bytes; a multiple of its padded size.
    pub offset: u64,
}

impl Placement {
    /// Offset in the deal's payload (before fr32 expansion): where to write the piece's bytes
    /// when writing out the deal.
    pub fn payload_offset(&self) -> u64 {
        self.offset - self.offset / 128
    }
}

impl AggregateBuilder {
    /// A builder for a deal of `deal_size` padded bytes: a power of two from 512 bytes to 64 GiB.
    pub fn new(deal_size: u64) -> Result<Self, AggregateError> {
        if !deal_size.is_power_of_two() {
            return Err(AggregateError::DealSizeNotPowerOfTwo(deal_size));
        }
        if deal_size > MAX_PADDED_SIZE {
            return Err(AggregateError::DealTooLarge { size: deal_size, max: MAX_PADDED_SIZE });
        }
        if deal_size < index_size(deal_size) + MIN_PADDED_SIZE {
            return Err(AggregateError::DealTooSmall {
                size: deal_size,
                index: index_size(deal_size),
                min: MIN_DEAL_SIZE,
            });
        }
        Ok(AggregateBuilder {
            deal_size,
            limit: max_index_entries(deal_size),
            cursor: 0,
            placed: Vec::new(),
        })
    }

    /// Padded bytes of the deal.
    pub fn deal_size(&self) -> u64 {
        self.deal_size
    }

    /// Most pieces the deal's index can list.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Pieces placed so far.
    pub fn placements(&self) -> &[Placement] {
        &self.placed
    }

    /// Where `piece` would go, without adding it.
    pub fn estimate(&self, piece: &Piece) -> Result<Placement, AggregateError> {
        let count = self.placed.len();
        if count as u64 >= self.limit {
            return Err(AggregateError::TooManyPieces {
                count: count + 1,
                deal_size: self.deal_size,
                limit: self.limit,
            });
        }
        let index_start = index_area_start(self.deal_size);
        let size = piece.padded_size();
        let does_not_fit = |end: u64| AggregateError::DoesNotFit {
            piece: count,
            cid: piece.cid(),
            end,
            index_start,
            deal_size: self.deal_size,
        };
        if size > index_start {
            return Err(does_not_fit(size));
        }
        // Both below 2^31 nodes here, so nothing overflows.
        let nodes = size / NODE_SIZE as u64;
        let slot = self.cursor.div_ceil(nodes);
        let end = (slot + 1) * nodes * NODE_SIZE as u64;
        if end > index_start {
            return Err(does_not_fit(end));
        }
        Ok(Placement { piece: *piece, offset: slot * size })
    }

    /// Places `piece` after the previous ones, or says why it does not fit (the builder is
    /// unchanged then, so a caller can close this deal and start the next).
    pub fn add(&mut self, piece: &Piece) -> Result<Placement, AggregateError> {
        let placement = self.estimate(piece)?;
        self.cursor = (placement.offset + piece.padded_size()) / NODE_SIZE as u64;
        self.placed.push(placement);
        Ok(placement)
    }

    /// Builds the deal tree over the placed pieces and their index.
    pub fn build(&self) -> Result<Aggregate, AggregateError> {
        if self.placed.is_empty() {
            return Err(AggregateError::NoPieces);
        }
        let height = (self.deal_size / NODE_SIZE as u64).trailing_zeros() as u8;
        let index_start = index_area_start(self.deal_size);
        let entries: Vec<IndexEntry> = self
            .placed
            .iter()
            .map(|p| IndexEntry::new(*p.piece.root(), p.offset, p.piece.padded_size()))
            .collect();

        // Known subtrees in leaf order: pieces (placed left to right), then index entries as
        // level-1 nodes (each entry is two leaves) from the start of the index area.
        let first_entry = index_start / ENTRY_SIZE;
        let mut items: Vec<Item> = Vec::with_capacity(self.placed.len() * 2);
        for p in &self.placed {
            let level = p.piece.height();
            items.push(Item {
                level,
                index: p.offset / p.piece.padded_size(),
                node: *p.piece.root(),
            });
        }
        for (n, e) in entries.iter().enumerate() {
            items.push(Item { level: 1, index: first_entry + n as u64, node: e.node() });
        }

        let mut levels = vec![Vec::new(); usize::from(height) + 1];
        let root = build_tree(height, 0, &items, &mut levels);
        // The height is 9..=31 (the deal size was checked), so this cannot fail.
        let piece = Piece::new(root, height, 0).map_err(|_| AggregateError::DealTooLarge {
            size: self.deal_size,
            max: MAX_PADDED_SIZE,
        })?;
        Ok(Aggregate {
            deal_size: self.deal_size,
            piece,
            placed: self.placed.clone(),
            entries,
            levels,
        })
    }
}

/// Packs the first of `pieces` that fit a `max_deal`-byte deal, in order, into the smallest deal
/// of at least `min_deal` bytes that holds them all: how a batcher closes an aggregate. Returns
/// the aggregate and how many pieces it took (at least one; the first piece must fit).
pub fn pack_deal(
    pieces: &[Piece],
    min_deal: u64,
    max_deal: u64,
) -> Result<(Aggregate, usize), AggregateError> {
    let mut builder = AggregateBuilder::new(max_deal)?;
    for piece in pieces {
        if builder.add(piece).is_err() {
            break;
        }
    }
    let taken = &pieces[..builder.placements().len()];
    if taken.is_empty() {
        // Report why the first piece does not fit.
        builder.add(pieces.first().ok_or(AggregateError::NoPieces)?)?;
    }
    let mut size = min_deal.max(MIN_DEAL_SIZE).next_power_of_two();
    loop {
        match Aggregate::from_pieces(size, taken) {
            Ok(agg) => return Ok((agg, taken.len())),
            Err(e) if size >= max_deal => return Err(e),
            Err(_) => size *= 2,
        }
    }
}

/// A built aggregate: the deal's piece CID, its index and proofs for each piece.
#[derive(Clone, Debug)]
pub struct Aggregate {
    deal_size: u64,
    /// The deal as a piece: root, height, padding 0.
    piece: Piece,
    placed: Vec<Placement>,
    entries: Vec<IndexEntry>,
    /// Every non-zero node computed, per level, sorted by index.
    levels: Vec<Vec<(u64, Node)>>,
}

impl Aggregate {
    /// Aggregates v2 piece CIDs, in order, into a deal of `deal_size` padded bytes.
    pub fn new(deal_size: u64, pieces: &[Cid]) -> Result<Self, AggregateError> {
        let pieces = pieces
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Piece::from_cid(c).map_err(|reason| AggregateError::BadPiece { piece: i, reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_pieces(deal_size, &pieces)
    }

    /// Aggregates pieces, in order, into a deal of `deal_size` padded bytes.
    pub fn from_pieces(deal_size: u64, pieces: &[Piece]) -> Result<Self, AggregateError> {
        let mut builder = AggregateBuilder::new(deal_size)?;
        for piece in pieces {
            builder.add(piece)?;
        }
        builder.build()
    }

    /// The deal as a piece: its root and height, padding 0 (the deal is a whole tree).
    pub fn piece(&self) -> Piece {
        self.piece
    }

    /// The deal's v2 piece CID.
    pub fn cid(&self) -> Cid {
        self.piece().cid()
    }

    /// The deal's v1 piece CID (pair it with [`Aggregate::deal_size`]).
    pub fn cid_v1(&self) -> Cid {
        self.piece().cid_v1()
    }

    /// Root of the deal tree (CommD of the deal).
    pub fn root(&self) -> &Node {
        self.piece.root()
    }

    /// Levels of the deal tree.
    pub fn height(&self) -> u8 {
        self.piece.height()
    }

    /// Padded bytes of the deal.
    pub fn deal_size(&self) -> u64 {
        self.deal_size
    }

    /// The pieces and where they sit, in the order given.
    pub fn placements(&self) -> &[Placement] {
        &self.placed
    }

    /// The index entries, one per piece, in the same order.
    pub fn index_entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// Padded byte offset of the index area.
    pub fn index_start(&self) -> u64 {
        index_area_start(self.deal_size)
    }

    /// Payload byte offset of the index area (where to write [`Aggregate::index_payload`]).
    pub fn index_payload_offset(&self) -> u64 {
        let start = self.index_start();
        start - start / 128
    }

    /// The whole index area as payload bytes: the entries, zero-filled to the index size, with
    /// fr32 padding undone. Writing these at [`Aggregate::index_payload_offset`] of the deal's
    /// payload (and each piece's payload at its [`Placement::payload_offset`], zeros elsewhere)
    /// produces bytes whose commP is this aggregate's root.
    pub fn index_payload(&self) -> Vec<u8> {
        let size = index_size(self.deal_size) as usize;
        let mut padded = vec![0u8; size];
        for (entry, dst) in self.entries.iter().zip(padded.chunks_exact_mut(ENTRY_SIZE as usize)) {
            dst.copy_from_slice(&entry.to_bytes());
        }
        let mut out = vec![0u8; size / fr32::QUAD_OUT * fr32::QUAD_IN];
        for (src, dst) in
            padded.chunks_exact(fr32::QUAD_OUT).zip(out.chunks_exact_mut(fr32::QUAD_IN))
        {
            if let (Ok(src), Ok(dst)) =
                (<&[u8; fr32::QUAD_OUT]>::try_from(src), <&mut [u8; fr32::QUAD_IN]>::try_from(dst))
            {
                fr32::unpad_quad(src, dst);
            }
        }
        out
    }

    /// Bytes of the deal's payload: what a storage provider downloads, before fr32 expansion.
    pub fn payload_size(&self) -> u64 {
        self.deal_size / 128 * 127
    }

    /// The deal's payload as runs, in order: each piece's bytes at its offset, the index area,
    /// zeros between. Writing them out (a piece's run is its payload, exactly as it was hashed)
    /// gives bytes whose commP is this aggregate's root, without holding more than one piece.
    pub fn payload_layout(&self) -> Vec<PayloadRun> {
        let mut runs = Vec::with_capacity(self.placed.len() * 2 + 3);
        let mut at = 0;
        let gap = |runs: &mut Vec<PayloadRun>, to: u64, at: &mut u64| {
            if to > *at {
                runs.push(PayloadRun::Zeros(to - *at));
                *at = to;
            }
        };
        for (n, p) in self.placed.iter().enumerate() {
            gap(&mut runs, p.payload_offset(), &mut at);
            runs.push(PayloadRun::Piece { n, len: p.piece.payload_size() });
            at += p.piece.payload_size();
        }
        let index_at = self.index_payload_offset();
        gap(&mut runs, index_at, &mut at);
        runs.push(PayloadRun::Index { len: self.payload_size() - index_at });
        runs
    }

    /// The inclusion proof of the piece named by a v2 piece CID (the first such piece, if it was
    /// added twice). Only the root and size must match: the payload padding is not in the index.
    pub fn proof(&self, piece: &Cid) -> Result<InclusionProof, AggregateError> {
        let not_found = || AggregateError::PieceNotFound { cid: *piece };
        let wanted = Piece::from_cid(piece).map_err(|_| not_found())?;
        let n = self
            .entries
            .iter()
            .position(|e| e.root == *wanted.root() && e.size == wanted.padded_size())
            .ok_or_else(not_found)?;
        self.proof_for_entry(n).ok_or_else(not_found)
    }

    /// The inclusion proof of the `n`th piece added.
    pub fn proof_for_entry(&self, n: usize) -> Option<InclusionProof> {
        let entry = self.entries.get(n)?;
        let level = self.placed.get(n)?.piece.height();
        let subtree = self.collect(level, entry.offset / entry.size);
        let index = self.collect(1, self.index_start() / ENTRY_SIZE + n as u64);
        Some(InclusionProof { subtree, index })
    }

    /// The node at `level`, `index` of the deal tree.
    fn node(&self, level: u8, index: u64) -> Node {
        self.levels
            .get(usize::from(level))
            .and_then(|nodes| {
                nodes.binary_search_by_key(&index, |(i, _)| *i).ok().map(|at| nodes[at].1)
            })
            .unwrap_or(*zero_at(usize::from(level)))
    }

    /// The path from `level`, `offset` to the root.
    fn collect(&self, level: u8, offset: u64) -> ProofPath {
        let height = self.height();
        let mut path = Vec::with_capacity(usize::from(height.saturating_sub(level)));
        let mut index = offset;
        for l in level..height {
            path.push(self.node(l, index ^ 1));
            index >>= 1;
        }
        ProofPath { offset, path }
    }
}

/// One run of a deal's payload (see [`Aggregate::payload_layout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadRun {
    /// This many zero bytes.
    Zeros(u64),
    /// The payload of the `n`th piece placed, `len` bytes.
    Piece {
        /// Which piece, in placement order from 0.
        n: usize,
        /// Bytes of its payload.
        len: u64,
    },
    /// [`Aggregate::index_payload`], `len` bytes, to the end of the payload.
    Index {
        /// Bytes from the start of the index area to the end of the payload.
        len: u64,
    },
}

/// A known subtree of the deal tree: a piece root, or the node above an index entry.
#[derive(Clone, Copy, Debug)]
struct Item {
    level: u8,
    index: u64,
    node: Node,
}

/// The node at (`level`, `index`) over `items` (all inside this subtree, in leaf order, disjoint),
/// recording every node it computes in `levels`.
fn build_tree(level: u8, index: u64, items: &[Item], levels: &mut [Vec<(u64, Node)>]) -> Node {
    let node = match items {
        [] => return *zero_at(usize::from(level)),
        [only] if only.level == level => only.node,
        // Items are disjoint whole subtrees, so reaching a leaf with more than one is impossible.
        [first, ..] if level == 0 => first.node,
        _ => {
            // First leaf of the right half.
            let mid = ((index << 1) | 1) << (level - 1);
            let split = items.partition_point(|it| (it.index << it.level) < mid);
            let left = build_tree(level - 1, index << 1, &items[..split], levels);
            let right = build_tree(level - 1, (index << 1) | 1, &items[split..], levels);
            hash_pair(&left, &right)
        }
    };
    if let Some(nodes) = levels.get_mut(usize::from(level)) {
        nodes.push((index, node));
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece::cid::parse_cid;
    use crate::piece::proof::verify_inclusion;
    use crate::piece::tree::piece_of;

    /// Builds the whole deal tree leaf by leaf: the reference the sparse builder must match.
    fn dense_root(deal_size: u64, agg: &Aggregate) -> Node {
        let leaves = (deal_size / 32) as usize;
        let mut level: Vec<Option<Node>> = vec![None; leaves];
        let mut known: Vec<(u8, u64, Node)> = agg
            .placements()
            .iter()
            .map(|p| (p.piece.height(), p.offset / p.piece.padded_size(), *p.piece.root()))
            .collect();
        let start = (agg.index_start() / 32) as usize;
        for (n, e) in agg.index_entries().iter().enumerate() {
            let b = e.to_bytes();
            level[start + 2 * n] = Some(b[..32].try_into().unwrap());
            level[start + 2 * n + 1] = Some(b[32..].try_into().unwrap());
        }
        let mut h = 0u8;
        while level.len() > 1 {
            for &(lh, idx, node) in &known {
                if lh == h {
                    level[idx as usize] = Some(node);
                }
            }
            level = level
                .chunks_exact(2)
                .map(|p| {
                    let l = p[0].unwrap_or(*zero_at(h as usize));
                    let r = p[1].unwrap_or(*zero_at(h as usize));
                    if p[0].is_none() && p[1].is_none() {
                        None
                    } else {
                        Some(hash_pair(&l, &r))
                    }
                })
                .collect();
            h += 1;
            known.retain(|k| k.0 >= h);
        }
        level[0].unwrap_or(*zero_at(h as usize))
    }

    fn piece(n: usize, salt: u8) -> Piece {
        let data: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt)).collect();
        piece_of(&data).unwrap().piece
    }

    #[test]
    fn sparse_root_matches_dense_tree_and_proofs_verify() {
        let pieces =
            [piece(4096, 1), piece(65, 2), piece(100_000, 3), piece(127, 4), piece(20_000, 5)];
        for deal in [1u64 << 20, 1 << 21] {
            let agg = Aggregate::from_pieces(deal, &pieces).unwrap();
            assert_eq!(*agg.root(), dense_root(deal, &agg), "deal {deal}");
            for (n, p) in pieces.iter().enumerate() {
                let proof = agg.proof(&p.cid()).unwrap();
                assert_eq!(proof, agg.proof_for_entry(n).unwrap());
                assert_eq!(verify_inclusion(&p.cid(), &agg.cid(), &proof), Ok(()));
                assert_eq!(InclusionProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
            }
        }
    }

    #[test]
    fn placement_aligns_each_piece_to_its_size() {
        let mut b = AggregateBuilder::new(1 << 20).unwrap();
        let offsets: Vec<u64> = [piece(200, 0), piece(127, 0), piece(4000, 0), piece(127, 1)]
            .iter()
            .map(|p| b.add(p).unwrap().offset)
            .collect();
        // 256-byte piece at 0, 128 at 256, 4096 at 4096 (next multiple of 4096), 128 at 8192.
        assert_eq!(offsets, [0, 256, 4096, 8192]);
        assert_eq!(b.placements()[2].payload_offset(), 4096 - 32);
    }

    #[test]
    fn deal_size_errors() {
        assert_eq!(
            AggregateBuilder::new(1000).unwrap_err(),
            AggregateError::DealSizeNotPowerOfTwo(1000)
        );
        assert_eq!(AggregateBuilder::new(0).unwrap_err(), AggregateError::DealSizeNotPowerOfTwo(0));
        assert!(matches!(
            AggregateBuilder::new(256),
            Err(AggregateError::DealTooSmall { size: 256, index: 256, min: 512 })
        ));
        assert!(AggregateBuilder::new(MIN_DEAL_SIZE).is_ok());
        assert!(matches!(AggregateBuilder::new(1 << 37), Err(AggregateError::DealTooLarge { .. })));
        assert!(AggregateBuilder::new(1 << 36).is_ok());
        assert_eq!(
            AggregateBuilder::new(1 << 20).unwrap().build().unwrap_err(),
            AggregateError::NoPieces
        );
    }

    #[test]
    fn fit_errors() {
        // A 1024-byte piece in a 1024-byte deal: the index (256 bytes) leaves no room.
        let mut b = AggregateBuilder::new(1024).unwrap();
        assert!(matches!(
            b.add(&piece(1000, 0)),
            Err(AggregateError::DoesNotFit { piece: 0, end: 1024, index_start: 768, .. })
        ));
        // Two halves of a 1 MiB deal: the second runs into the index.
        let mut b = AggregateBuilder::new(1 << 20).unwrap();
        b.add(&piece(300_000, 0)).unwrap();
        assert!(matches!(
            b.add(&piece(300_000, 1)),
            Err(AggregateError::DoesNotFit { piece: 1, end: 1_048_576, .. })
        ));
        // A piece bigger than the deal.
        assert!(matches!(b.add(&piece(2_000_000, 1)), Err(AggregateError::DoesNotFit { .. })));
        // The failed adds left the builder as it was.
        assert_eq!(b.placements().len(), 1);
        // More pieces than index entries (4 in a 512-byte deal... which fits only one 128-byte
        // piece anyway; use a 128 KiB deal: 4 entries, room for many small pieces).
        let mut b = AggregateBuilder::new(1 << 17).unwrap();
        for i in 0..4 {
            b.add(&piece(65, i)).unwrap();
        }
        assert!(matches!(
            b.add(&piece(65, 9)),
            Err(AggregateError::TooManyPieces { count: 5, limit: 4, .. })
        ));
        // Bad CIDs are reported with their position.
        let v1 =
            parse_cid("baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq").unwrap();
        assert!(matches!(
            Aggregate::new(1 << 20, &[piece(65, 0).cid(), v1]),
            Err(AggregateError::BadPiece { piece: 1, .. })
        ));
        let agg = Aggregate::from_pieces(1 << 20, &[piece(65, 0)]).unwrap();
        assert!(matches!(
            agg.proof(&piece(65, 1).cid()),
            Err(AggregateError::PieceNotFound { .. })
        ));
    }

    /// go-data-segment TestAggregateCreation: ten synthetic pieces (roots 0d0e0a01 00 <decimal
    /// digits of i>) of 256 MiB..1 GiB in a 32 GiB deal.
    #[test]
    fn go_data_segment_synthetic_32gib_aggregate() {
        let sizes: [u64; 10] = [
            256 << 20,
            1024 << 20,
            512 << 20,
            512 << 20,
            1024 << 20,
            256 << 20,
            512 << 20,
            1024 << 20,
            256 << 20,
            512 << 20,
        ];
        let pieces: Vec<Piece> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let mut root = [0u8; 32];
                root[..4].copy_from_slice(&[0x0d, 0x0e, 0x0a, 0x01]);
                for (k, d) in i.to_string().bytes().enumerate() {
                    root[5 + k] = d - b'0';
                }
                Piece::from_padded_size(root, size).unwrap()
            })
            .collect();
        let agg = Aggregate::from_pieces(32 << 30, &pieces).unwrap();
        let (golden_piece, golden_agg, golden_proof) = crate::piece::proof::tests::go_golden();
        assert_eq!(agg.piece(), golden_agg);
        assert_eq!(pieces[3], golden_piece);
        assert_eq!(agg.proof_for_entry(3).unwrap(), golden_proof);
        for (n, p) in pieces.iter().enumerate() {
            let proof = agg.proof_for_entry(n).unwrap();
            assert_eq!(proof.resolve_aggregate(p), Ok(agg.piece()));
        }
    }

    /// go-data-segment TestAggregateObjectReader: cat.png.car (520192 unpadded bytes) and
    /// "Verifiable Data Aggregation.png.car" (260096) in a 1 MiB deal, whose commP Lotus-style
    /// hashing of the written-out deal gives baga6ea4seaqnqkeoqevjjjfe46wo2lpfclcbmkyms4wkz5srou3vzmr3w3c72bq.
    #[test]
    fn go_data_segment_sample_aggregate() {
        let cat =
            parse_cid("baga6ea4seaqae5ysjdbsr4b5jhotaz5ooh62jrrdbxwygfpkkfjz44kvywycmgy").unwrap();
        let vda =
            parse_cid("baga6ea4seaqnrm2n2g4m23t6rs26obxjw2tjtr7tcho24gepj2naqhevytduyoa").unwrap();
        let pieces =
            [Piece::from_cid_v1(&cat, 524288).unwrap(), Piece::from_cid_v1(&vda, 262144).unwrap()];
        let agg = Aggregate::from_pieces(1 << 20, &pieces).unwrap();
        assert_eq!(
            agg.cid_v1().to_string(),
            "baga6ea4seaqnqkeoqevjjjfe46wo2lpfclcbmkyms4wkz5srou3vzmr3w3c72bq"
        );
        // Its index, as written into the deal (testdata/sample_aggregate/index.data, 508 bytes
        // whose sha256 outputs.sha256sum lists) and its commP (index.data.commp).
        let index = agg.index_payload();
        assert_eq!(index.len(), 508);
        assert_eq!(
            crate::piece::proof::tests::hex32(
                "5b18c30f5c07e2cc1e9063be433b473bddb1dfa97271ea08628081c278362602"
            ),
            <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(&index))
        );
        assert_eq!(
            piece_of(&index).unwrap().cid_v1.to_string(),
            "baga6ea4seaqhcxljs2dth37blnnevcbzvf2bkveytmtpdiq6lwseenadxzzoyei"
        );
        assert_eq!(agg.index_payload_offset(), (1 << 20) / 128 * 127 - 508);
        for p in &pieces {
            let proof = agg.proof(&p.cid()).unwrap();
            assert_eq!(verify_inclusion(&p.cid(), &agg.cid(), &proof), Ok(()));
        }
    }

    /// Writing out a small deal for real and hashing it gives the aggregate's root.
    #[test]
    fn written_out_deal_hashes_to_aggregate_root() {
        let payloads: Vec<Vec<u8>> = [(3000usize, 1u8), (65, 2), (500, 3)]
            .iter()
            .map(|&(n, s)| (0..n).map(|i| (i as u8) ^ s).collect())
            .collect();
        let pieces: Vec<Piece> = payloads.iter().map(|p| piece_of(p).unwrap().piece).collect();
        let deal = 1u64 << 16;
        let agg = Aggregate::from_pieces(deal, &pieces).unwrap();
        let mut bytes = vec![0u8; (deal / 128 * 127) as usize];
        for (pl, data) in agg.placements().iter().zip(&payloads) {
            let at = pl.payload_offset() as usize;
            bytes[at..at + data.len()].copy_from_slice(data);
        }
        let index = agg.index_payload();
        let at = agg.index_payload_offset() as usize;
        bytes[at..at + index.len()].copy_from_slice(&index);
        let info = piece_of(&bytes).unwrap();
        assert_eq!((info.root, info.padded_size), (*agg.root(), deal));
    }

    #[test]
    fn payload_layout_writes_the_deal() {
        let payloads: Vec<Vec<u8>> = [(300usize, 7u8), (2000, 8), (127, 9)]
            .iter()
            .map(|&(n, s)| (0..n).map(|i| (i as u8).wrapping_mul(s)).collect())
            .collect();
        let pieces: Vec<Piece> = payloads.iter().map(|p| piece_of(p).unwrap().piece).collect();
        let agg = Aggregate::from_pieces(1 << 14, &pieces).unwrap();
        let mut bytes = Vec::new();
        for run in agg.payload_layout() {
            match run {
                PayloadRun::Zeros(n) => bytes.resize(bytes.len() + n as usize, 0),
                PayloadRun::Piece { n, len } => {
                    assert_eq!(len as usize, payloads[n].len());
                    bytes.extend_from_slice(&payloads[n]);
                }
                PayloadRun::Index { len } => {
                    let index = agg.index_payload();
                    assert_eq!(len as usize, index.len());
                    bytes.extend_from_slice(&index);
                }
            }
        }
        assert_eq!(bytes.len() as u64, agg.payload_size());
        assert_eq!(piece_of(&bytes).unwrap().cid, agg.cid());
    }

    #[test]
    fn pack_deal_takes_what_fits_in_the_smallest_deal() {
        let pieces: Vec<Piece> = (0..6).map(|n| piece(100 + 900 * n, n as u8)).collect();
        let (agg, taken) = pack_deal(&pieces, 512, 1 << 20).unwrap();
        assert_eq!(taken, 6);
        let smaller = Aggregate::from_pieces(agg.deal_size() / 2, &pieces);
        assert!(smaller.is_err(), "the deal is the smallest that holds them");
        assert_eq!(agg.cid(), Aggregate::from_pieces(agg.deal_size(), &pieces).unwrap().cid());

        // A deal under 1 MiB lists at most 4 pieces in its index.
        let (small, taken) = pack_deal(&pieces[..3], 512, 1 << 20).unwrap();
        assert_eq!((small.deal_size(), taken), (1 << 13, 3));
        assert!(Aggregate::from_pieces(1 << 12, &pieces[..3]).is_err());
        let (small, _) = pack_deal(&pieces[..3], 1 << 17, 1 << 20).unwrap();
        assert_eq!(small.deal_size(), 1 << 17, "min_deal is honoured");

        let max = agg.deal_size();
        let (_, taken) = pack_deal(&pieces, 512, max / 4).unwrap();
        assert!(taken < 6 && taken > 0, "a smaller max takes fewer: {taken}");
        assert_eq!(pack_deal(&[], 512, max).unwrap_err(), AggregateError::NoPieces);
    }
}
