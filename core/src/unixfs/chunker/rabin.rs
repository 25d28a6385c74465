//! kubo's `rabin` chunker: boxo `chunker/rabin.go`, which drives `github.com/whyrusleeping/chunker`
//! (a fork of restic's chunker, pinned at commit fe64bd25879f).
//!
//! The digest is a Rabin fingerprint over GF(2) modulo a fixed degree-53 polynomial, rolled over
//! a 16-byte window. A chunk ends after byte `n` (1-based, `min <= n`) when the low
//! `floor(log2(avg))` bits of the digest of bytes `n-16..n` are all zero, or when `n == max`.

/// boxo's default average for `rabin` with no size (`chunk.DefaultBlockSize`, 256 KiB).
pub const DEFAULT_AVG: usize = 256 * 1024;

/// The rolling window, in bytes (`windowSize` in whyrusleeping/chunker). It is also the smallest
/// usable `min`: boxo rejects a smaller one for `rabin-MIN-AVG-MAX`, and for `rabin-AVG` boxo's
/// `MinSize - windowSize` underflows, so it never cuts at all.
pub const WINDOW: usize = 16;

/// `IpfsRabinPoly` in boxo `chunker/rabin.go`: the irreducible polynomial every kubo node uses
/// (17437180132763653). A different one would move every cut.
const POLYNOMIAL: u64 = 0x3d_f305_dfb2_a805;

/// Degree of [`POLYNOMIAL`] (53); digests are always reduced below `2^DEGREE`.
const DEGREE: u32 = 63 - POLYNOMIAL.leading_zeros();

/// Shift that brings a digest's top 8 bits down to a [`MOD_TABLE`] index (`polShift`).
const POL_SHIFT: u32 = DEGREE - 8;

/// `x mod POLYNOMIAL` over GF(2) (`Pol.Mod`).
const fn pol_mod(mut x: u64) -> u64 {
    while x != 0 && 63 - x.leading_zeros() >= DEGREE {
        x ^= POLYNOMIAL << (63 - x.leading_zeros() - DEGREE);
    }
    x
}

/// `out_table`: the digest contribution of a byte that is about to leave the window, i.e. the
/// fingerprint of that byte followed by `WINDOW - 1` zero bytes. XORing it removes the byte.
static OUT_TABLE: [u64; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let mut h = pol_mod(b as u64);
        let mut i = 1;
        while i < WINDOW {
            h = pol_mod(h << 8);
            i += 1;
        }
        table[b] = h;
        b += 1;
    }
    table
};

/// `mod_table`: indexed by the 8 bits that shifting a digest left by a byte pushes above the
/// degree; XORing the entry both clears those bits and adds their remainder, so appending a byte
/// costs one lookup instead of a polynomial division.
static MOD_TABLE: [u64; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let high = (b as u64) << DEGREE;
        table[b] = pol_mod(high) | high;
        b += 1;
    }
    table
};

/// Appends byte `b` to the fingerprint `digest` (`Chunker.append`).
#[inline(always)]
fn append(digest: u64, b: u8) -> u64 {
    let index = (digest >> POL_SHIFT) as usize;
    ((digest << 8) | u64::from(b)) ^ MOD_TABLE[index]
}

/// Returns the Rabin spec kubo builds for `rabin-AVG` (boxo `NewRabin`): min is a third of the
/// average and max one and a half times it, both rounded down. A max that would overflow
/// saturates, so validation rejects it as too large, as boxo does.
pub fn spec_for_avg(avg: usize) -> super::ChunkerSpec {
    super::ChunkerSpec::Rabin { min: avg / 3, avg, max: avg.saturating_add(avg / 2) }
}

/// Content-defined chunker cutting exactly where boxo's Rabin splitter does.
///
/// boxo hashes nothing before `min - WINDOW` bytes (its `pre` skip) and seeds each chunk's window
/// with a single `1` byte that slides out just as the first candidate cut (after `min` bytes) is
/// tested. So at every tested position the digest is the plain fingerprint of the last `WINDOW`
/// bytes, and this port starts each chunk from a zero digest at `min - WINDOW` instead.
#[derive(Clone, Debug)]
pub struct Rabin {
    min: usize,
    max: usize,
    /// `sizeMask`: `2^floor(log2(avg)) - 1`, so a non-power-of-two average rounds down.
    mask: u64,
    /// Next byte of the current chunk to roll into `digest`; starts at `min - WINDOW`.
    pos: usize,
    /// Fingerprint of the bytes rolled so far (at most the last `WINDOW` of them).
    digest: u64,
}

impl Rabin {
    /// A chunker with boxo's `NewRabinMinMax(min, avg, max)` semantics.
    ///
    /// # Panics
    ///
    /// If `min < WINDOW`, `max < min` or `avg == 0`: boxo never cuts (or misbehaves) there, and
    /// [`super::ChunkerSpec`]'s parser rejects such settings.
    pub fn new(min: usize, avg: usize, max: usize) -> Self {
        assert!(WINDOW <= min && min <= max && avg > 0, "invalid rabin sizes {min}-{avg}-{max}");
        Rabin { min, max, mask: (1u64 << avg.ilog2()) - 1, pos: min - WINDOW, digest: 0 }
    }

    /// Ends the current chunk at `len` and prepares for the next one.
    fn cut(&mut self, len: usize) -> usize {
        self.pos = self.min - WINDOW;
        self.digest = 0;
        len
    }
}

impl super::Chunker for Rabin {
    fn max_len(&self) -> usize {
        self.max
    }

    fn next_cut(&mut self, pending: &[u8]) -> Option<usize> {
        let end = pending.len().min(self.max);

        // Warm-up: fill the window with bytes `min - WINDOW .. min`. Nothing slides out yet (the
        // window held zeros), and the first cut is tested only once it is full.
        if self.pos < self.min {
            let stop = end.min(self.min);
            if stop <= self.pos {
                return None;
            }
            for &b in &pending[self.pos..stop] {
                self.digest = append(self.digest, b);
            }
            self.pos = stop;
            if stop < self.min {
                return None;
            }
            if self.digest & self.mask == 0 {
                return Some(self.cut(self.min));
            }
        }

        // Steady state: slide one byte out and one in, then test for a boundary after it.
        if end > self.pos {
            let start = self.pos;
            let (mask, mut digest) = (self.mask, self.digest);
            let leaving = &pending[start - WINDOW..end - WINDOW];
            for (i, (&out, &b)) in leaving.iter().zip(&pending[start..end]).enumerate() {
                digest = append(digest ^ OUT_TABLE[usize::from(out)], b);
                if digest & mask == 0 {
                    return Some(self.cut(start + i + 1));
                }
            }
            self.digest = digest;
            self.pos = end;
        }

        (end >= self.max).then(|| self.cut(self.max))
    }
}

/// Checks carport's chunkers against boxo's cut offsets recorded in `testdata/vectors.txt`.
///
/// Each line is `SPEC INPUT LEN,LEN,...`: a kubo chunker string, an input descriptor, and the
/// chunk lengths boxo produced for it. The lengths came from boxo's own Go code (`rabin.go`,
/// `buzhash.go` and whyrusleeping/chunker at boxo's pinned commit) run on the same inputs; the
/// generators below must stay byte-for-byte equal to the Go ones that made them.
#[cfg(test)]
pub(super) mod test_vectors {
    use crate::unixfs::chunker::{split_all, Chunker, ChunkerSpec};

    const VECTORS: &str = include_str!("testdata/vectors.txt");

    /// xorshift64 (13, 7, 17) from `seed`, each step either giving all 8 of its bytes
    /// little-endian or, with `top_bits_only`, one byte holding its top 2 bits.
    fn xorshift(seed: u64, len: usize, top_bits_only: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        let mut s = seed;
        while out.len() < len {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            if top_bits_only {
                out.push((s >> 62) as u8);
            } else {
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        out.truncate(len);
        out
    }

    /// Builds the input an input descriptor names: `xorshift:SEED:LEN`, `lowbits:SEED:LEN`,
    /// `zeros:LEN` or `cycle:PERIOD:LEN` (byte `i` is `i % PERIOD`).
    fn input(desc: &str) -> Vec<u8> {
        let parts: Vec<&str> = desc.split(':').collect();
        let num = |s: &str| s.parse::<usize>().unwrap();
        match parts.as_slice() {
            ["xorshift", seed, len] => xorshift(num(seed) as u64, num(len), false),
            ["lowbits", seed, len] => xorshift(num(seed) as u64, num(len), true),
            ["zeros", len] => vec![0; num(len)],
            ["cycle", period, len] => (0..num(len)).map(|i| (i % num(period)) as u8).collect(),
            _ => panic!("unknown input {desc}"),
        }
    }

    /// Feeds `data` the way the file importer does: `piece` bytes at a time into a pending buffer
    /// capped at `max_len`, asking for cuts after each growth and draining each cut chunk.
    fn split_incrementally(chunker: &mut dyn Chunker, mut data: &[u8], piece: usize) -> Vec<usize> {
        let mut lens = Vec::new();
        let mut pending = Vec::new();
        while !data.is_empty() {
            let take = piece.min(data.len()).min(chunker.max_len() - pending.len());
            pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            while let Some(cut) = chunker.next_cut(&pending) {
                assert!(cut > 0 && cut <= pending.len(), "cut {cut} of {}", pending.len());
                lens.push(cut);
                pending.drain(..cut);
            }
            assert!(pending.len() < chunker.max_len(), "no cut at max_len");
        }
        if !pending.is_empty() {
            lens.push(pending.len());
        }
        lens
    }

    /// Checks every vector whose spec satisfies `wanted`, both in one call per chunk and fed
    /// incrementally in odd-sized pieces; returns how many vectors it checked.
    pub(crate) fn check(wanted: impl Fn(&ChunkerSpec) -> bool) -> usize {
        let mut checked = 0;
        for line in VECTORS.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let mut fields = line.split(' ');
            let (name, desc) = (fields.next().unwrap(), fields.next().unwrap());
            let spec: ChunkerSpec = name.parse().unwrap();
            if !wanted(&spec) {
                continue;
            }
            let lens = fields.next().unwrap_or("");
            let expected: Vec<usize> =
                lens.split(',').filter(|n| !n.is_empty()).map(|n| n.parse().unwrap()).collect();
            let data = input(desc);
            assert_eq!(expected.iter().sum::<usize>(), data.len(), "{line:.60}");

            let whole: Vec<usize> =
                split_all(&mut *spec.build(), &data).iter().map(|c| c.len()).collect();
            assert_eq!(whole, expected, "{name} {desc}: one call per chunk");
            for piece in [1, 7, 4096, 100_000] {
                let lens = split_incrementally(&mut *spec.build(), &data, piece);
                assert_eq!(lens, expected, "{name} {desc}: fed {piece} bytes at a time");
            }
            checked += 1;
        }
        checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::chunker::ChunkerSpec;

    #[test]
    fn tables_match_the_polynomial() {
        assert_eq!(DEGREE, 53);
        // Sliding out a byte must undo appending it followed by WINDOW - 1 others.
        let mut digest = append(0, 0xab);
        for b in 1..WINDOW as u8 {
            digest = append(digest, b);
        }
        let mut rest = 0;
        for b in 1..WINDOW as u8 {
            rest = append(rest, b);
        }
        assert_eq!(digest ^ OUT_TABLE[0xab], rest);
    }

    #[test]
    fn cuts_like_boxo() {
        assert!(test_vectors::check(|s| matches!(s, ChunkerSpec::Rabin { .. })) >= 20);
    }

    #[test]
    fn parses_like_kubo() {
        let rabin = |min, avg, max| Ok(ChunkerSpec::Rabin { min, avg, max });
        assert_eq!("rabin".parse(), rabin(87381, 262144, 393216));
        assert_eq!("rabin-3000".parse(), rabin(1000, 3000, 4500));
        assert_eq!("rabin-16-32-64".parse(), rabin(16, 32, 64));
        assert_eq!("rabin-min:16-avg:32-max:64".parse(), rabin(16, 32, 64));
        for bad in [
            "rabin-",
            "rabin-47",
            "rabin-15-32-64",
            "rabin-32-32-64",
            "rabin-16-64-64",
            "rabin-avg:16-32-64",
            "rabin-16-32",
            "rabin-16-32-64-128",
            "rabin-2000000",
            "rabin-18446744073709551615",
            "rabin-16-32-3000000",
        ] {
            assert!(bad.parse::<ChunkerSpec>().is_err(), "{bad} accepted");
        }
    }
}
