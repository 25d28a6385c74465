//! Content chunkers: where a byte stream is cut into leaves.
//!
//! Every chunker cuts exactly where kubo's (boxo `chunker` package) would, so the same bytes give
//! the same leaves and therefore the same CIDs.

mod buzhash;
mod fixed;
mod rabin;

pub use buzhash::Buzhash;
pub use fixed::FixedSize;
pub use rabin::Rabin;

use crate::error::SettingsError;

/// Finds chunk boundaries incrementally.
///
/// The caller keeps the bytes of the chunk being formed in a buffer starting at the chunk's first
/// byte and calls [`Chunker::next_cut`] whenever the buffer grows. The chunker may remember how far
/// it has scanned, so each byte is looked at once. After a cut, the next call describes a new chunk.
pub trait Chunker: Send {
    /// The longest chunk this chunker ever cuts; the caller never buffers more than this.
    fn max_len(&self) -> usize;

    /// Returns the length of the chunk to cut from the front of `pending`, if a boundary lies in
    /// it. `pending` holds at most [`Chunker::max_len`] bytes, and once it holds that many the
    /// chunker must cut. At the end of the input the caller cuts whatever is left without asking
    /// and drops the chunker.
    fn next_cut(&mut self, pending: &[u8]) -> Option<usize>;
}

/// A chunker named as kubo names them: `size-N`, `rabin`, `rabin-AVG`, `rabin-MIN-AVG-MAX`,
/// `buzhash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkerSpec {
    /// Fixed-size chunks of this many bytes.
    Size(usize),
    /// Rabin fingerprinting with these minimum, average and maximum chunk sizes.
    Rabin {
        /// Smallest chunk, in bytes.
        min: usize,
        /// Chunk size aimed at on average, in bytes.
        avg: usize,
        /// Largest chunk, in bytes.
        max: usize,
    },
    /// boxo's buzhash chunker (min 128 KiB, max 512 KiB).
    Buzhash,
}

/// boxo's limit on one block: a chunk larger than this could not be fetched over bitswap.
pub const MAX_CHUNK_SIZE: usize = 2 * 1024 * 1024;

impl ChunkerSpec {
    /// Builds a fresh chunker for one file.
    pub fn build(&self) -> Box<dyn Chunker> {
        match *self {
            ChunkerSpec::Size(n) => Box::new(FixedSize::new(n)),
            ChunkerSpec::Rabin { min, avg, max } => Box::new(Rabin::new(min, avg, max)),
            ChunkerSpec::Buzhash => Box::new(Buzhash::new()),
        }
    }
}

impl std::str::FromStr for ChunkerSpec {
    type Err = SettingsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SettingsError::Chunker(s.to_string());
        let num = |t: &str| t.parse::<usize>().map_err(|_| bad());
        let spec = if let Some(n) = s.strip_prefix("size-") {
            ChunkerSpec::Size(num(n)?)
        } else if s == "buzhash" {
            ChunkerSpec::Buzhash
        } else if s == "rabin" {
            rabin::spec_for_avg(rabin::DEFAULT_AVG)
        } else if let Some(rest) = s.strip_prefix("rabin-") {
            let parts: Vec<&str> = rest.split('-').collect();
            match parts.as_slice() {
                [avg] => rabin::spec_for_avg(num(avg)?),
                // boxo accepts optional labels, as in `rabin-min:16-avg:32-max:64`.
                [min, avg, max] => {
                    let labelled = |t: &str, label: &str| {
                        if t.contains(':') && t.split(':').next() != Some(label) {
                            return Err(bad());
                        }
                        num(t.rsplit(':').next().unwrap_or(t))
                    };
                    ChunkerSpec::Rabin {
                        min: labelled(min, "min")?,
                        avg: labelled(avg, "avg")?,
                        max: labelled(max, "max")?,
                    }
                }
                _ => return Err(bad()),
            }
        } else {
            return Err(bad());
        };
        spec.validate().map_err(|_| bad())?;
        Ok(spec)
    }
}

impl ChunkerSpec {
    fn validate(&self) -> Result<(), ()> {
        let ok = match *self {
            ChunkerSpec::Size(n) => n > 0 && n <= MAX_CHUNK_SIZE,
            // boxo's rules for `rabin-MIN-AVG-MAX`. For `rabin-AVG` boxo checks only max, but a
            // min below the window makes it never cut at all, so that is refused here too.
            ChunkerSpec::Rabin { min, avg, max } => {
                rabin::WINDOW <= min && min < avg && avg < max && max <= MAX_CHUNK_SIZE
            }
            ChunkerSpec::Buzhash => true,
        };
        ok.then_some(()).ok_or(())
    }
}

impl std::fmt::Display for ChunkerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkerSpec::Size(n) => write!(f, "size-{n}"),
            ChunkerSpec::Rabin { min, avg, max } => write!(f, "rabin-{min}-{avg}-{max}"),
            ChunkerSpec::Buzhash => f.write_str("buzhash"),
        }
    }
}

/// Splits a whole buffer with `chunker`, for tests and small inputs.
pub fn split_all<'a>(chunker: &mut dyn Chunker, mut data: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let window = &data[..data.len().min(chunker.max_len())];
        let cut = chunker.next_cut(window).unwrap_or(window.len());
        out.push(&data[..cut]);
        data = &data[cut..];
    }
    out
}
