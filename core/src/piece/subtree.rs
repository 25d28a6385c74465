//! A piece tree cut into independent subtrees, hashed apart (in different threads) and joined.
//!
//! Every 127 payload bytes become one quad of four leaves, so a subtree of `2^k` quads covers
//! exactly `127 * 2^k` payload bytes ([`subtree_len`]). Cut the payload at multiples of that
//! length and each run of bytes is the whole left part of the tree under one node at height
//! `k + 2`: the runs can be hashed in any order, by any number of hashers
//! ([`SubtreeHasher`]), and [`join`] puts their roots back into the piece the sequential
//! [`PieceHasher`] computes, byte for byte. The last run may be shorter: it
//! is zero-filled like the tail of any piece, and the tree above the runs is zero-filled up to a
//! power of two from the compile-time zero table.

use super::cid::Piece;
use super::error::PieceError;
use super::fr32::QUAD_IN;
use super::node::{hash_pair, Node};
use super::size::{self, MAX_PAYLOAD_SIZE, MIN_PAYLOAD_SIZE};
use super::tree::{PieceHasher, PieceInfo};
use super::zero::zero_at;

/// Payload bytes under one subtree of `2^log2_quads` quads: `127 << log2_quads`. Cut a payload
/// at multiples of this to hash its runs apart.
pub fn subtree_len(log2_quads: u32) -> u64 {
    (QUAD_IN as u64) << log2_quads
}

/// The root of one run of payload bytes: what [`join`] takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subtree {
    /// The root of the run's leaves, zero-filled up to a power of two of quads.
    pub root: Node,
    /// Levels above the leaves: `2 + log2` of the quads, rounded up to a power of two.
    pub height: u8,
    /// Payload bytes of the run.
    pub payload: u64,
}

/// Why subtree roots do not join into a piece.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// No subtrees, or their bytes have no piece (too few, too many).
    #[error(transparent)]
    Piece(#[from] PieceError),
    /// A subtree before the last is not a whole subtree as tall as the first, or the last is
    /// taller than the first.
    #[error("subtree {index} ({payload} bytes, height {height}) does not line up with the first (height {first})")]
    Uneven {
        /// Which subtree, counting from 0.
        index: usize,
        /// Its payload bytes.
        payload: u64,
        /// Its height.
        height: u8,
        /// The first subtree's height.
        first: u8,
    },
}

impl crate::error::Coded for JoinError {
    fn code(&self) -> &'static str {
        "Piece"
    }
}

/// Hashes one run of payload bytes (pushed in any number of calls) to its [`Subtree`] root.
#[derive(Clone, Debug, Default)]
pub struct SubtreeHasher {
    inner: PieceHasher,
}

impl SubtreeHasher {
    /// A hasher with nothing absorbed.
    pub fn new() -> Self {
        SubtreeHasher { inner: PieceHasher::new() }
    }

    /// Absorbs the run's next bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// Payload bytes absorbed so far.
    pub fn bytes_written(&self) -> u64 {
        self.inner.bytes_written()
    }

    /// The run's root. A run of any length from one byte up has one: a partial last quad is
    /// zero-filled, as the sequential hasher fills it.
    pub fn finish(&self) -> Result<Subtree, PieceError> {
        let payload = self.inner.bytes_written();
        if payload == 0 {
            return Err(PieceError::Empty);
        }
        let mut h = self.inner.clone();
        // Zero bytes up to the quad's end change nothing (the tail quad is zero-filled anyway) and
        // take a run of under 65 bytes past the minimum the sequential hasher checks.
        let partial = (payload % QUAD_IN as u64) as usize;
        if partial != 0 {
            h.update(&[0u8; QUAD_IN][partial..]);
        }
        let info = h.finish()?;
        Ok(Subtree { root: info.root, height: info.height, payload })
    }
}

/// The root of a whole run in one call.
pub fn subtree_of(data: &[u8]) -> Result<Subtree, PieceError> {
    let mut h = SubtreeHasher::new();
    h.update(data);
    h.finish()
}

/// The piece of the payload whose runs, in order, have these roots. Every run but the last must
/// be a whole subtree (`subtree_len(height - 2)` bytes) as tall as the first; the last may be
/// shorter. Equal to [`PieceHasher`]'s piece of the same bytes.
pub fn join(subtrees: &[Subtree]) -> Result<PieceInfo, JoinError> {
    let Some((first, _)) = subtrees.split_first() else {
        return Err(PieceError::Empty.into());
    };
    let height = first.height;
    let mut total: u64 = 0;
    for (index, s) in subtrees.iter().enumerate() {
        let last = index + 1 == subtrees.len();
        let whole = s.height >= 2 && s.payload == subtree_len(u32::from(s.height) - 2);
        let fits = if last { s.height <= height } else { s.height == height && whole };
        if !fits || s.height < 2 || s.payload == 0 {
            return Err(JoinError::Uneven {
                index,
                payload: s.payload,
                height: s.height,
                first: height,
            });
        }
        total = total.saturating_add(s.payload);
    }
    if total > MAX_PAYLOAD_SIZE {
        return Err(PieceError::TooLarge { offset: MAX_PAYLOAD_SIZE, max: MAX_PAYLOAD_SIZE }.into());
    }
    if total < MIN_PAYLOAD_SIZE {
        return Err(PieceError::TooSmall { size: total }.into());
    }
    // Lift the last run to the common height with zero subtrees on its right; then pair the runs
    // off level by level, a missing right sibling being a zero subtree.
    let mut level: Vec<Node> = subtrees.iter().map(|s| s.root).collect();
    let tail = subtrees.len() - 1;
    for l in subtrees[tail].height..height {
        level[tail] = hash_pair(&level[tail], zero_at(usize::from(l)));
    }
    let mut top = height;
    while level.len() > 1 {
        let next = level
            .chunks(2)
            .map(|p| hash_pair(&p[0], p.get(1).unwrap_or_else(|| zero_at(usize::from(top)))))
            .collect();
        level = next;
        top += 1;
    }
    let too_large = |_| PieceError::TooLarge { offset: total, max: MAX_PAYLOAD_SIZE };
    let capacity = size::unpadded_size_of_height(top).map_err(too_large)?;
    let piece = Piece::new(level[0], top, capacity - total).map_err(too_large)?;
    Ok(PieceInfo::new(piece))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece::tree::piece_of;

    fn data(n: usize, salt: u32) -> Vec<u8> {
        (0..n as u32)
            .map(|i| ((i.wrapping_add(salt).wrapping_mul(2654435761)) >> 13) as u8)
            .collect()
    }

    fn split(bytes: &[u8], log2: u32) -> Vec<Subtree> {
        bytes.chunks(subtree_len(log2) as usize).map(|c| subtree_of(c).unwrap()).collect()
    }

    /// Every size class (tiny, one quad, non-powers of two, exact powers, with and without a
    /// partial last quad, runs that are whole and partial) at several cut heights.
    #[test]
    fn join_equals_the_sequential_hasher() {
        let mut sizes = vec![65usize, 100, 126, 127, 128, 200, 254, 255, 381, 508, 509, 1000];
        for k in 0..10u32 {
            let run = subtree_len(k) as usize;
            for m in [1usize, 2, 3, 4, 5, 7, 8, 9] {
                sizes.extend([m * run - 1, m * run, m * run + 1, m * run + 64, m * run + 65]);
            }
        }
        for n in sizes {
            let bytes = data(n, n as u32);
            let want = piece_of(&bytes).unwrap();
            for log2 in 0..9 {
                let subs = split(&bytes, log2);
                assert_eq!(join(&subs).unwrap(), want, "n = {n}, log2 = {log2}");
            }
        }
    }

    /// Runs of the size the npm package's pool hashes apart (2^15 quads, about 4 MiB), over a
    /// payload of many runs and a partial last one.
    #[test]
    fn pool_sized_runs() {
        for n in [subtree_len(15) as usize * 5 + 12345, subtree_len(15) as usize * 8] {
            let bytes = data(n, 5);
            assert_eq!(join(&split(&bytes, 15)).unwrap(), piece_of(&bytes).unwrap(), "n = {n}");
        }
    }

    #[test]
    fn pushed_in_pieces_or_at_once() {
        let bytes = data(127 * 64 + 5, 3);
        let mut h = SubtreeHasher::new();
        for part in bytes.chunks(1000) {
            h.update(part);
        }
        assert_eq!(h.finish().unwrap(), subtree_of(&bytes).unwrap());
        assert_eq!(h.bytes_written(), bytes.len() as u64);
        // A whole run of 2^6 quads plus 5 bytes: 2^7 quads tall.
        assert_eq!(h.finish().unwrap().height, 9);
    }

    #[test]
    fn a_tiny_last_run_and_a_tiny_piece() {
        // One byte past a whole run: the last run has one byte, under the 65-byte minimum alone.
        let bytes = data(127 * 4 + 1, 9);
        assert_eq!(join(&split(&bytes, 2)).unwrap(), piece_of(&bytes).unwrap());
        assert_eq!(subtree_of(&[7]).unwrap().height, 2);
        assert_eq!(subtree_of(&[]), Err(PieceError::Empty));
        assert_eq!(
            join(&[subtree_of(&[7; 64]).unwrap()]),
            Err(PieceError::TooSmall { size: 64 }.into())
        );
        assert_eq!(join(&[]), Err(PieceError::Empty.into()));
    }

    #[test]
    fn runs_that_do_not_line_up_are_refused() {
        let bytes = data(127 * 8, 1);
        let mut subs = split(&bytes, 2);
        // A short run before the last.
        subs[0] = subtree_of(&bytes[..127 * 3]).unwrap();
        assert!(matches!(join(&subs), Err(JoinError::Uneven { index: 0, .. })));
        // A last run taller than the others.
        let mut subs = split(&bytes[..127 * 4], 2);
        subs.push(subtree_of(&bytes).unwrap());
        assert!(matches!(join(&subs), Err(JoinError::Uneven { index: 1, .. })));
    }
}
