//! Streaming piece commitment (CommP): payload bytes in, piece CID out, in constant memory.
//!
//! The piece tree is a binary merkle tree whose leaves are the fr32-expanded payload, zero-filled
//! up to a power of two. Leaves arrive left to right, so the only state needed is the *frontier*:
//! at each level at most one finished left subtree waiting for its right sibling (a binary
//! counter of quads, where carrying is hashing). That is 64 nodes at most, 2 KiB.
//!
//! Each 127-byte quad expands to 128 bytes = two 64-byte messages (each two SHA-256
//! compressions: data, then the constant padding block), hashed together into the quad's level-2
//! node. With enough input at hand, 64 quads are hashed as a batch, level by level, so hashes come
//! in independent groups of four that the `pair` module computes interleaved (SHA-NI) or in SIMD
//! lanes (Wasm simd128); that, not the carry chain, sets the speed (about a quarter of raw
//! SHA-256 speed or better, since every payload byte costs about four bytes of compression).
//! Nothing is allocated per node and the zero-filled tail of the tree comes from the compile-time
//! zero table, so padding a small payload up to a big tree costs one hash per level.

use cid::Cid;

use super::cid::Piece;
use super::error::PieceError;
use super::fr32::{self, QUAD_IN, QUAD_OUT};
use super::node::{hash_pair, Node};
use super::pair::{hash_four, hash_two};
use super::size::{self, MAX_PAYLOAD_SIZE, MIN_PAYLOAD_SIZE};
use super::zero::zero_at;

/// Everything known about a finished piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PieceInfo {
    /// The v2 piece CID (FRC-0069), which also carries the sizes.
    pub cid: Cid,
    /// The legacy v1 piece CID (`baga…`); pair it with `padded_size`.
    pub cid_v1: Cid,
    /// The piece as root, height and padding.
    pub piece: Piece,
    /// The root of the piece tree (CommP).
    pub root: Node,
    /// Levels above the leaves.
    pub height: u8,
    /// Bytes of the fr32-padded, zero-filled piece: a power of two, at least 128.
    pub padded_size: u64,
    /// Bytes of payload hashed.
    pub payload_size: u64,
    /// Zero bytes appended to the payload to fill the tree before fr32 expansion.
    pub padding: u64,
}

impl PieceInfo {
    /// Everything a caller reads off a finished piece, taken from it once.
    pub(crate) fn new(piece: Piece) -> Self {
        PieceInfo {
            cid: piece.cid(),
            cid_v1: piece.cid_v1(),
            root: *piece.root(),
            height: piece.height(),
            padded_size: piece.padded_size(),
            payload_size: piece.payload_size(),
            padding: piece.padding(),
            piece,
        }
    }
}

/// Payload bytes a deferred head covers: one fr32 quad.
pub const HEAD_LEN: usize = QUAD_IN;

/// Levels in the frontier: one per bit of the quad counter, plus the two levels inside a quad.
const LEVELS: usize = 64;

/// log2 of the quads hashed together by [`PieceHasher::absorb_batch`].
const BATCH_LOG: usize = 6;
/// Quads hashed together when enough input is at hand: 64 quads, 8128 payload bytes.
const BATCH_QUADS: u64 = 1 << BATCH_LOG;
/// Payload bytes of a batch.
const BATCH_IN: usize = BATCH_QUADS as usize * QUAD_IN;

/// Computes a piece commitment over bytes pushed in any number of calls of any size.
///
/// ```
/// use carport_core::piece::PieceHasher;
/// let mut h = PieceHasher::new();
/// h.update(&[0u8; 100]);
/// h.update(&[0u8; 27]);
/// let info = h.finish().unwrap();
/// assert_eq!(info.cid_v1.to_string(), "baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy");
/// assert_eq!(info.padded_size, 128);
/// ```
#[derive(Clone)]
pub struct PieceHasher {
    /// `frontier[level]` is a finished left subtree at that level when bit `level - 2` of `quads`
    /// is set; other entries are stale.
    frontier: [Node; LEVELS],
    /// Whole quads absorbed so far.
    quads: u64,
    /// A partial quad.
    buf: [u8; QUAD_IN],
    buf_len: usize,
    /// Payload bytes accepted so far.
    total: u64,
    /// Offset at which the payload passed the 64 GiB limit; later bytes are ignored.
    overflow: Option<u64>,
    /// Set when the first quad is deferred: `spine[level]` is the right sibling of the leftmost
    /// subtree at that level, recorded when that sibling completed.
    spine: Option<Box<[Node; LEVELS]>>,
}

impl Default for PieceHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for PieceHasher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PieceHasher")
            .field("bytes", &self.total)
            .field("overflow", &self.overflow)
            .finish()
    }
}

impl PieceHasher {
    /// A hasher with nothing absorbed.
    pub fn new() -> Self {
        PieceHasher {
            frontier: [[0; 32]; LEVELS],
            quads: 0,
            buf: [0; QUAD_IN],
            buf_len: 0,
            total: 0,
            overflow: None,
            spine: None,
        }
    }

    /// A hasher whose first [`HEAD_LEN`] payload bytes come last, through
    /// [`PieceHasher::finish_with_head`]; [`PieceHasher::update`] takes the bytes after them.
    ///
    /// This is what lets a CAR's piece be computed in the same pass that writes it: the CAR header
    /// (which names the root, known only at the end) sits in the first bytes. Only the tree's left
    /// spine waits for them: one extra node per level.
    pub fn with_deferred_head() -> Self {
        let mut h = Self::new();
        h.spine = Some(Box::new([[0; 32]; LEVELS]));
        h.quads = 1;
        h.total = HEAD_LEN as u64;
        h
    }

    /// Finishes a hasher made by [`PieceHasher::with_deferred_head`], given the head at last.
    pub fn finish_with_head(&self, head: &[u8; HEAD_LEN]) -> Result<PieceInfo, PieceError> {
        self.check_size()?;
        let mut state = self.clone();
        state.absorb_tail();
        let Some(spine) = &state.spine else {
            return Err(PieceError::NoDeferredHead);
        };
        let n = state.quads;
        let (left, right) = expand_halves(head);
        let (a, b) = hash_two(&left, &right);
        let mut acc = hash_pair(&a, &b);
        let top = n.next_power_of_two().trailing_zeros() as usize + 2;
        for level in 2..top {
            let start = 1u64 << (level - 2);
            let sibling = if n >= 2 * start {
                spine[level]
            } else if n == start {
                *zero_at(level)
            } else {
                state.fold_below(level)
            };
            acc = hash_pair(&acc, &sibling);
        }
        state.piece(acc)
    }

    /// Payload bytes absorbed so far.
    pub fn bytes_written(&self) -> u64 {
        self.total
    }

    /// Bytes that can still be absorbed before the 64 GiB sector limit.
    pub fn remaining_capacity(&self) -> u64 {
        MAX_PAYLOAD_SIZE - self.total
    }

    /// Absorbs payload bytes. Infallible so it can sit in any write loop; bytes past the 64 GiB
    /// limit are not hashed and [`PieceHasher::finish`] reports where the limit was passed (check
    /// [`PieceHasher::remaining_capacity`] to stop reading early).
    pub fn update(&mut self, mut data: &[u8]) {
        if self.overflow.is_some() || data.is_empty() {
            return;
        }
        let room = self.remaining_capacity();
        if data.len() as u64 > room {
            self.overflow = Some(self.total + room);
            data = &data[..room as usize];
        }
        self.total += data.len() as u64;

        if self.buf_len > 0 {
            let take = (QUAD_IN - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < QUAD_IN {
                return;
            }
            let quad = self.buf;
            self.absorb_quad(&quad);
            self.buf_len = 0;
        }
        while data.len() >= QUAD_IN {
            if self.quads & (BATCH_QUADS - 1) == 0 && data.len() >= BATCH_IN {
                let (batch, rest) = data.split_at(BATCH_IN);
                self.absorb_batch(batch);
                data = rest;
            } else {
                let (quad, rest) = data.split_at(QUAD_IN);
                if let Ok(quad) = <&[u8; QUAD_IN]>::try_from(quad) {
                    self.absorb_quad(quad);
                }
                data = rest;
            }
        }
        self.buf[..data.len()].copy_from_slice(data);
        self.buf_len = data.len();
    }

    /// The piece of everything absorbed so far. Does not consume the hasher: more bytes can be
    /// added and `finish` called again.
    pub fn finish(&self) -> Result<PieceInfo, PieceError> {
        if self.spine.is_some() {
            return Err(PieceError::NoDeferredHead);
        }
        self.check_size()?;
        let mut state = self.clone();
        state.absorb_tail();
        let root = state.fold();
        state.piece(root)
    }

    fn check_size(&self) -> Result<(), PieceError> {
        if let Some(offset) = self.overflow {
            return Err(PieceError::TooLarge { offset, max: MAX_PAYLOAD_SIZE });
        }
        if self.total == 0 {
            return Err(PieceError::Empty);
        }
        if self.total < MIN_PAYLOAD_SIZE {
            return Err(PieceError::TooSmall { size: self.total });
        }
        Ok(())
    }

    /// Absorbs the partial last quad, zero-filled.
    fn absorb_tail(&mut self) {
        if self.buf_len > 0 {
            let mut quad = [0u8; QUAD_IN];
            quad[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
            self.absorb_quad(&quad);
            self.buf_len = 0;
        }
    }

    /// The piece with this root over the quads absorbed.
    fn piece(&self, root: Node) -> Result<PieceInfo, PieceError> {
        // The tree height is log2 of the leaf count: 4 leaves per quad, rounded up to a power of two.
        let height = self.quads.next_power_of_two().trailing_zeros() as u8 + 2;
        let capacity = size::unpadded_size_of_height(height)
            .map_err(|_| PieceError::TooLarge { offset: self.total, max: MAX_PAYLOAD_SIZE })?;
        let piece = Piece::new(root, height, capacity - self.total)
            .map_err(|_| PieceError::TooLarge { offset: self.total, max: MAX_PAYLOAD_SIZE })?;
        Ok(PieceInfo::new(piece))
    }

    /// Forgets everything absorbed.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Expands one quad into its four leaves and hashes them up to the quad's level-2 node.
    #[inline(always)]
    fn absorb_quad(&mut self, quad: &[u8; QUAD_IN]) {
        let (left, right) = expand_halves(quad);
        // Each half is one 64-byte message (two leaves), and the two are independent.
        let (a, b) = hash_two(&left, &right);
        self.push(hash_pair(&a, &b), 2);
    }

    /// Hashes [`BATCH_QUADS`] whole quads (starting at a multiple of that many quads) into one
    /// subtree root. Going level by level makes every hash in a level independent of the others,
    /// so they are hashed four at a time (`pair::hash_four`: interleaved or in SIMD lanes) instead
    /// of waiting on each result as the one-quad-at-a-time carry chain does. The scratch lives on
    /// the stack (4 KiB).
    #[inline(never)]
    fn absorb_batch(&mut self, batch: &[u8]) {
        let mut nodes = [[0u8; 32]; 2 * BATCH_QUADS as usize];
        for (four, quads) in nodes.chunks_exact_mut(4).zip(batch.chunks_exact(2 * QUAD_IN)) {
            let (q0, q1) = quads.split_at(QUAD_IN);
            if let (Ok(q0), Ok(q1)) =
                (<&[u8; QUAD_IN]>::try_from(q0), <&[u8; QUAD_IN]>::try_from(q1))
            {
                let ((a, b), (c, d)) = (expand_halves(q0), expand_halves(q1));
                four.copy_from_slice(&hash_four(&[a, b, c, d]));
            }
        }
        // Reduce in place, four parents at a time: parents i..i+4 hash nodes 2i..2i+8, which are
        // at or after them and copied out before any is written.
        let mut width = nodes.len();
        while width > 4 {
            width /= 2;
            for i in (0..width).step_by(4) {
                let m =
                    core::array::from_fn(|k| concat(&nodes[2 * (i + k)], &nodes[2 * (i + k) + 1]));
                nodes[i..i + 4].copy_from_slice(&hash_four(&m));
            }
        }
        let (a, b) = hash_two(&concat(&nodes[0], &nodes[1]), &concat(&nodes[2], &nodes[3]));
        self.push(hash_pair(&a, &b), BATCH_LOG + 2);
    }

    /// Adds the root of a whole subtree at `level` (at least 2) to the frontier, carrying up
    /// while levels pair off. The quad count is a multiple of the subtree's quads.
    #[inline(always)]
    fn push(&mut self, mut node: Node, first_level: usize) {
        let mut level = first_level;
        let mut count = self.quads >> (first_level - 2);
        while count & 1 == 1 && level < LEVELS - 1 {
            if count == 1 {
                if let Some(spine) = &mut self.spine {
                    spine[level] = node;
                }
            }
            node = hash_pair(&self.frontier[level], &node);
            count >>= 1;
            level += 1;
        }
        self.frontier[level] = node;
        self.quads += 1 << (first_level - 2);
    }

    /// The root of the partial subtree at `level` that starts at quad `2^(level-2)` (the last
    /// quads, under the leftmost subtree of that size), zero-filled on the right.
    fn fold_below(&self, level: usize) -> Node {
        let mut carry: Option<Node> = None;
        for l in 2..level {
            let waiting = (self.quads >> (l - 2)) & 1 == 1;
            carry = match (waiting, carry) {
                (true, Some(right)) => Some(hash_pair(&self.frontier[l], &right)),
                (true, None) => Some(hash_pair(&self.frontier[l], zero_at(l))),
                (false, Some(left)) => Some(hash_pair(&left, zero_at(l))),
                (false, None) => None,
            };
        }
        carry.unwrap_or(*zero_at(level))
    }

    /// The root of the frontier, zero-filled on the right up to a power of two of quads. At each
    /// level a waiting left subtree meets either the partial subtree from below or a zero
    /// subtree, and a lone partial subtree meets a zero subtree.
    fn fold(&self) -> Node {
        let quads = self.quads;
        let top = quads.next_power_of_two().trailing_zeros() as usize + 2;
        if quads.is_power_of_two() {
            return self.frontier[top];
        }
        let mut carry: Option<Node> = None;
        for level in 2..top {
            let waiting = (quads >> (level - 2)) & 1 == 1;
            carry = match (waiting, carry) {
                (true, Some(right)) => Some(hash_pair(&self.frontier[level], &right)),
                (true, None) => Some(hash_pair(&self.frontier[level], zero_at(level))),
                (false, Some(left)) => Some(hash_pair(&left, zero_at(level))),
                (false, None) => None,
            };
        }
        carry.unwrap_or(*zero_at(top))
    }
}

/// A quad's four leaves as its two 64-byte messages.
#[inline(always)]
fn expand_halves(quad: &[u8; QUAD_IN]) -> ([u8; 64], [u8; 64]) {
    let mut leaves = [0u8; QUAD_OUT];
    fr32::expand_quad(quad, &mut leaves);
    let (mut left, mut right) = ([0u8; 64], [0u8; 64]);
    left.copy_from_slice(&leaves[..64]);
    right.copy_from_slice(&leaves[64..]);
    (left, right)
}

/// Two nodes as one 64-byte message.
#[inline(always)]
fn concat(left: &Node, right: &Node) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(left);
    out[32..].copy_from_slice(right);
    out
}

/// The piece of a whole buffer in one call.
pub fn piece_of(data: &[u8]) -> Result<PieceInfo, PieceError> {
    let mut h = PieceHasher::new();
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece::fr32;
    use crate::piece::zero::ZERO_COMMS;
    use proptest::prelude::*;

    /// The simplest possible commP: pad everything, zero-fill, hash level by level.
    fn naive_root(data: &[u8]) -> (Node, u8) {
        let height = size::height_of_payload(data.len() as u64).unwrap();
        let mut leaves = fr32::pad(data);
        leaves.resize(32usize << height, 0);
        let mut level: Vec<Node> = leaves.chunks_exact(32).map(|c| c.try_into().unwrap()).collect();
        while level.len() > 1 {
            level = level.chunks_exact(2).map(|p| hash_pair(&p[0], &p[1])).collect();
        }
        (level[0], height)
    }

    /// Deterministic bytes shared with the Node.js vector generator.
    pub(crate) fn det_data(n: usize, salt: u32) -> Vec<u8> {
        (0..n as u32)
            .map(|i| ((i.wrapping_add(salt).wrapping_mul(2654435761)) >> 13) as u8)
            .collect()
    }

    #[test]
    fn deferred_head_gives_the_same_piece() {
        for n in [
            127,
            128,
            254,
            255,
            508,
            600,
            127 * 5,
            127 * 64 + 3,
            127 * 65,
            127 * 128,
            127 * 129 + 1,
            100_000,
            1 << 20,
        ] {
            let data = det_data(n, 7);
            let want = piece_of(&data).unwrap();
            let mut h = PieceHasher::with_deferred_head();
            for part in data[HEAD_LEN..].chunks(4099) {
                h.update(part);
            }
            let head: &[u8; HEAD_LEN] = data[..HEAD_LEN].try_into().unwrap();
            assert_eq!(h.finish_with_head(head).unwrap(), want, "n = {n}");
            assert_eq!(h.finish(), Err(PieceError::NoDeferredHead));
        }
    }

    #[test]
    fn errors_below_minimum() {
        assert_eq!(PieceHasher::new().finish(), Err(PieceError::Empty));
        assert_eq!(piece_of(&[]), Err(PieceError::Empty));
        assert_eq!(piece_of(&[1]), Err(PieceError::TooSmall { size: 1 }));
        assert_eq!(piece_of(&[0; 64]), Err(PieceError::TooSmall { size: 64 }));
        assert!(piece_of(&[0; 65]).is_ok());
    }

    #[test]
    fn boundary_sizes_match_naive_tree() {
        let mut sizes = vec![
            65, 66, 96, 126, 127, 128, 129, 253, 254, 255, 381, 508, 509, 1015, 1016, 1017, 2032,
            2033,
        ];
        for k in 7..15 {
            sizes.extend([(1usize << k) - 1, 1 << k, (1 << k) + 1]);
        }
        for n in sizes {
            let data = det_data(n, 0);
            let info = piece_of(&data).unwrap();
            let (root, height) = naive_root(&data);
            assert_eq!((info.root, info.height), (root, height), "size {n}");
            assert_eq!(info.padded_size, 32 << height);
            assert_eq!(info.payload_size, n as u64);
            assert_eq!(info.padding, (info.padded_size / 128 * 127) - n as u64);
            assert_eq!(Piece::from_cid(&info.cid).unwrap(), info.piece);
        }
    }

    /// go-fil-commp-hashhash testdata/zero.txt and testdata/0xCC.txt (sizes, padded sizes and
    /// v1 CIDs computed by Lotus).
    #[test]
    fn go_fil_commp_hashhash_vectors() {
        const ZERO: &[(usize, u64, &str)] = &[
            (96, 128, "baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy"),
            (126, 128, "baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy"),
            (127, 128, "baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy"),
            (192, 256, "baga6ea4seaqgiktap34inmaex4wbs6cghlq5i2j2yd2bb2zndn5ep7ralzphkdy"),
            (253, 256, "baga6ea4seaqgiktap34inmaex4wbs6cghlq5i2j2yd2bb2zndn5ep7ralzphkdy"),
            (254, 256, "baga6ea4seaqgiktap34inmaex4wbs6cghlq5i2j2yd2bb2zndn5ep7ralzphkdy"),
            (255, 512, "baga6ea4seaqfpirydiugkk7up5v666wkm6n6jlw6lby2wxht5mwaqekerdfykjq"),
            (256, 512, "baga6ea4seaqfpirydiugkk7up5v666wkm6n6jlw6lby2wxht5mwaqekerdfykjq"),
            (384, 512, "baga6ea4seaqfpirydiugkk7up5v666wkm6n6jlw6lby2wxht5mwaqekerdfykjq"),
            (507, 512, "baga6ea4seaqfpirydiugkk7up5v666wkm6n6jlw6lby2wxht5mwaqekerdfykjq"),
            (508, 512, "baga6ea4seaqfpirydiugkk7up5v666wkm6n6jlw6lby2wxht5mwaqekerdfykjq"),
            (509, 1024, "baga6ea4seaqb66wjlfkrbye6uqoemcyxmqylwmrm235uclwfpsyx3ge2imidoly"),
            (512, 1024, "baga6ea4seaqb66wjlfkrbye6uqoemcyxmqylwmrm235uclwfpsyx3ge2imidoly"),
            (768, 1024, "baga6ea4seaqb66wjlfkrbye6uqoemcyxmqylwmrm235uclwfpsyx3ge2imidoly"),
            (1015, 1024, "baga6ea4seaqb66wjlfkrbye6uqoemcyxmqylwmrm235uclwfpsyx3ge2imidoly"),
            (1016, 1024, "baga6ea4seaqb66wjlfkrbye6uqoemcyxmqylwmrm235uclwfpsyx3ge2imidoly"),
            (1017, 2048, "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"),
            (1024, 2048, "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"),
        ];
        const CC: &[(usize, u64, &str)] = &[
            (96, 128, "baga6ea4seaqhwcjhi4krhl3ht6dewnwevkpxbepxy7p7onwgz65t52typbsysby"),
            (126, 128, "baga6ea4seaqapbh46gdnszvb7fcinevsy5bzg3b4higkh7groptswf6zas6jamy"),
            (127, 128, "baga6ea4seaqmfldjtozgne6adk7eve2vdxte7vzlivae7nzsbrawobo546zkijq"),
            (192, 256, "baga6ea4seaqkx7m2s6r4zahtlbwrs5ryvemkclwfp7nijopdd5swpdnxzjf7wkq"),
            (253, 256, "baga6ea4seaql6ldbyafhiecr36xba5tufreyo4km2ts3lfknhl2zogp3aztxijy"),
            (254, 256, "baga6ea4seaqkixbzz75uys2pcjbrbdilgjhmum72qm4xphrwav2iyel5oat4aka"),
            (255, 512, "baga6ea4seaqg7celu5y2iwbi2ra5koygvotxtzr5lj6vzvxi6gfub6mpa6niwpi"),
            (256, 512, "baga6ea4seaqi7c3dnwkqysqh4lpkz5jaxz2d2f5bvo3ttu2hnfmdewhcoji56na"),
            (384, 512, "baga6ea4seaqhexlmnzbarsbdbdahs7e36dkq5vkdwsrttehoakrif5wiqme36lq"),
            (507, 512, "baga6ea4seaqenvh5mcy5cjqwsbubbpczprkk2onwvfjd2743zkqh6ofuzkatwey"),
            (508, 512, "baga6ea4seaqb6ckbupixkhwp7thgb52f4en222boppajkqk7gaomkpof3lh4cei"),
            (509, 1024, "baga6ea4seaqdzbeaexq6gpbqh2tlnbz5mm5neap2kejsketkogzd6x2dx7dzkii"),
            (512, 1024, "baga6ea4seaqojaa522sjqms2wipasjbxnjgytunsgp52tgrfcofj73f7q7ou6hy"),
            (768, 1024, "baga6ea4seaqb6xvxaybzp6vslujjiwvgt23ckrwt7y53eddy5qmc6csnc37lwpi"),
            (1015, 1024, "baga6ea4seaqmgiyjcutwgo6glks2mogixs6mb4sbehto6uzienucfx23wbtkica"),
            (1016, 1024, "baga6ea4seaqjxgfdkdu37aryhg7bqqiwizj5f6ugasftgeocabwnj4cxkgisaoq"),
            (1017, 2048, "baga6ea4seaqf3n5ob5qonkwnxfcbjzftsagbnrjfzualqvzhcylz46b7sgz6wmi"),
            (1024, 2048, "baga6ea4seaqdlpnhgsndrgjeu4p46hahlsr4lybg6du4d56ooppdpxhcofxeuoi"),
        ];
        for (byte, table) in [(0x00u8, ZERO), (0xcc, CC)] {
            for &(n, padded, cid) in table {
                let info = piece_of(&vec![byte; n]).unwrap();
                assert_eq!(info.cid_v1.to_string(), cid, "{byte:#x} x {n}");
                assert_eq!(info.padded_size, padded, "{byte:#x} x {n}");
            }
        }
    }

    /// FRC-0069's first example, hashed rather than converted: 127 bytes each of 0, 1, 2 and 3.
    #[test]
    fn frc0069_hashed_examples() {
        let data: Vec<u8> = (0..4u8).flat_map(|b| [b; 127]).collect();
        let info = piece_of(&data).unwrap();
        assert_eq!(
            info.cid_v1.to_string(),
            "baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi"
        );
        assert_eq!(
            info.cid.to_string(),
            "bafkzcibcaaces3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi"
        );
        let mut more = data.clone();
        more.extend_from_slice(&[0; 127 * 4]);
        assert_eq!(
            piece_of(&more).unwrap().cid.to_string(),
            "bafkzcibcaac542av3szurbbscwuu3zjssvfwbpsvbjf6y3tukvlgl2nf5rha6pa"
        );
        let mut five = data.clone();
        five.extend_from_slice(&[0; 4]);
        assert_eq!(
            piece_of(&five).unwrap().cid.to_string(),
            "bafkzcibd7abqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4"
        );
        five.push(0);
        assert_eq!(
            piece_of(&five).unwrap().cid.to_string(),
            "bafkzcibd64bqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4"
        );
        assert_eq!(
            piece_of(&[0; 127]).unwrap().cid.to_string(),
            "bafkzcibcaabdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy"
        );
        assert_eq!(
            piece_of(&[0; 128]).unwrap().cid.to_string(),
            "bafkzcibcpybwiktap34inmaex4wbs6cghlq5i2j2yd2bb2zndn5ep7ralzphkdy"
        );
    }

    /// Payloads of zeros give the zero table's roots, whatever their size.
    #[test]
    fn zero_payloads_give_zero_roots() {
        for n in [65usize, 127, 128, 5000, 1 << 16] {
            let info = piece_of(&vec![0; n]).unwrap();
            assert_eq!(info.root, ZERO_COMMS[info.height as usize]);
        }
    }

    #[test]
    fn finish_is_repeatable_and_resumable() {
        let data = det_data(3000, 9);
        let mut h = PieceHasher::new();
        h.update(&data[..1000]);
        assert_eq!(h.finish().unwrap(), piece_of(&data[..1000]).unwrap());
        h.update(&data[1000..]);
        assert_eq!(h.finish().unwrap(), h.finish().unwrap());
        assert_eq!(h.finish().unwrap(), piece_of(&data).unwrap());
        h.reset();
        assert_eq!(h.finish(), Err(PieceError::Empty));
    }

    #[test]
    fn refuses_more_than_64_gib() {
        // Pretend 64 GiB minus 10 bytes were already written, without hashing them.
        let mut h = PieceHasher::new();
        h.total = MAX_PAYLOAD_SIZE - 10;
        h.quads = (MAX_PAYLOAD_SIZE - 10) / 127;
        h.buf_len = ((MAX_PAYLOAD_SIZE - 10) % 127) as usize;
        assert_eq!(h.remaining_capacity(), 10);
        h.update(&[1; 10]);
        assert!(h.finish().is_ok());
        h.update(&[1; 5]);
        assert_eq!(
            h.finish(),
            Err(PieceError::TooLarge { offset: MAX_PAYLOAD_SIZE, max: MAX_PAYLOAD_SIZE })
        );
        assert_eq!(h.bytes_written(), MAX_PAYLOAD_SIZE);
    }

    /// Throughput check, not run by default:
    /// `cargo test -p carport-core --release piece::tree::tests::throughput -- --ignored --nocapture`.
    /// Hashes 512 MiB (of a 4 MiB buffer fed repeatedly, as a streaming reader would) and prints
    /// MB/s of payload. Compare with a quarter of `openssl speed -bytes 1048576 sha256`: each
    /// payload byte costs about four bytes of SHA-256 compression. `openssl speed` divides by CPU
    /// time, so on a busy machine compare its figure with the CPU-time one printed here (read from
    /// Linux's /proc/thread-self/schedstat).
    #[test]
    #[ignore]
    fn throughput() {
        fn cpu_ns() -> Option<u64> {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        }
        let buf = det_data(4 << 20, 1);
        let rounds = 128;
        let mut h = PieceHasher::new();
        let (start, cpu_start) = (std::time::Instant::now(), cpu_ns());
        for _ in 0..rounds {
            h.update(&buf);
        }
        let info = h.finish().unwrap();
        let secs = start.elapsed().as_secs_f64();
        let bytes = (buf.len() * rounds) as f64;
        println!(
            "commP: {:.1} MB/s wall ({bytes} bytes in {secs:.3}s) -> {}",
            bytes / secs / 1e6,
            info.cid
        );
        if let (Some(a), Some(b)) = (cpu_start, cpu_ns()) {
            println!("commP: {:.1} MB/s of CPU time", bytes / ((b - a) as f64 / 1e9) / 1e6);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any way of splitting the input gives the same piece.
        #[test]
        fn any_split_gives_same_piece(len in 65usize..6000, cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12), salt in any::<u32>()) {
            let data = det_data(len, salt);
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(len + 1)).collect();
            points.sort_unstable();
            let mut h = PieceHasher::new();
            let mut last = 0;
            for p in points {
                h.update(&data[last..p]);
                last = p;
            }
            h.update(&data[last..]);
            let whole = piece_of(&data).unwrap();
            prop_assert_eq!(h.finish().unwrap(), whole);
            let (root, height) = naive_root(&data);
            prop_assert_eq!((whole.root, whole.height), (root, height));
        }
    }
}
