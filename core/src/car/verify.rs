//! CAR verification: every block hashes to its CID, every block reachable from the roots is
//! there, and the roots are declared. Sans-IO like the reader it drives.

use std::collections::{HashMap, HashSet};

use cid::Cid;

use crate::car::{CarReader, Event};
use crate::codec::cids::rehash;
use crate::codec::dagpb::PbNode;
use crate::codec::multicodec::{DAG_PB, IDENTITY, SHA2_256};
use crate::codec::sha256x4::sha256_four;
use crate::error::VerifyError;

/// What a CAR held, once verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// CAR version, 1 or 2 (of the last CAR, for a set).
    pub version: u64,
    /// The roots declared, each once (across every CAR of a set).
    pub roots: Vec<Cid>,
    /// Blocks read, duplicates counted.
    pub blocks: u64,
    /// Bytes of block data (not counting CIDs and framing).
    pub data_bytes: u64,
}

/// Verifies a CAR pushed through it in pieces of any size.
///
/// Links are followed through dag-pb blocks (everything UnixFS builds); blocks of other codecs
/// are hashed and counted but their links are not followed.
pub struct Verifier {
    reader: CarReader,
    check: BlockCheck,
    expected_root: Option<Cid>,
    version: u64,
    roots: Vec<Cid>,
    seen: Seen,
}

/// The blocks checked so far: the links of each, and counts.
#[derive(Default)]
struct Seen {
    links: HashMap<Cid, Vec<Cid>>,
    blocks: u64,
    data_bytes: u64,
}

impl Seen {
    fn add(&mut self, cid: Cid, data: &[u8], offset: u64) -> Result<(), VerifyError> {
        let links =
            links_of(&cid, data).map_err(|source| VerifyError::Decode { cid, offset, source })?;
        self.links.insert(cid, links);
        self.blocks += 1;
        self.data_bytes += data.len() as u64;
        Ok(())
    }
}

impl Verifier {
    /// `expected_root`, when given, must be among the CAR's declared roots.
    pub fn new(expected_root: Option<Cid>) -> Self {
        Verifier {
            reader: CarReader::new(),
            check: BlockCheck::default(),
            expected_root,
            version: 0,
            roots: Vec::new(),
            seen: Seen::default(),
        }
    }

    /// Feeds the next bytes; fails at the first bad block, at most three blocks after it is read
    /// (see [`BlockCheck`]) and at the latest in `finish`.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), VerifyError> {
        self.reader.push(bytes);
        self.drain()
    }

    /// Ends the input and checks completeness.
    pub fn finish(mut self) -> Result<Report, VerifyError> {
        self.reader.close();
        self.drain()?;
        self.flush()?;
        if self.roots.is_empty() {
            return Err(VerifyError::NoRoots);
        }
        if let Some(expected) = self.expected_root {
            if !self.roots.contains(&expected) {
                return Err(VerifyError::WrongRoot { expected, found: self.roots });
            }
        }
        self.check_reachable()?;
        Ok(Report {
            version: self.version,
            roots: self.roots,
            blocks: self.seen.blocks,
            data_bytes: self.seen.data_bytes,
        })
    }

    /// Ends the current CAR and starts reading the next one into the same verification, for a set
    /// of CAR shards (see [`crate::car::shard`]): each block is checked where it is, roots add up, and
    /// [`Verifier::finish`] checks that every block reachable from the roots is in one of them.
    /// Offsets in errors count from the start of the CAR being read.
    pub fn next_car(&mut self) -> Result<(), VerifyError> {
        self.reader.close();
        self.drain()?;
        self.flush()?;
        self.reader = CarReader::new();
        Ok(())
    }

    /// Ends the input and checks only what one CAR of a set can show alone: it reads to the end
    /// and every block hashes to its CID. Roots (a shard before the last declares none) and
    /// reachability are not checked.
    pub fn finish_unrooted(mut self) -> Result<Report, VerifyError> {
        self.reader.close();
        self.drain()?;
        self.flush()?;
        Ok(Report {
            version: self.version,
            roots: self.roots,
            blocks: self.seen.blocks,
            data_bytes: self.seen.data_bytes,
        })
    }

    fn drain(&mut self) -> Result<(), VerifyError> {
        while let Some(ev) = self.reader.next_event()? {
            match ev {
                Event::Header { version, roots, .. } => {
                    self.version = version;
                    // Roots add up over the CARs of a set (see `next_car`).
                    for root in roots {
                        if !self.roots.contains(&root) {
                            self.roots.push(root);
                        }
                    }
                }
                Event::Block { cid, data, offset } => {
                    self.check.push(cid, data, offset, |cid, data, offset| {
                        self.seen.add(cid, &data, offset)
                    })?
                }
                Event::End => break,
            }
        }
        Ok(())
    }

    /// Checks the blocks still waiting for others of their length.
    fn flush(&mut self) -> Result<(), VerifyError> {
        self.check.flush(|cid, data, offset| self.seen.add(cid, &data, offset))
    }

    fn check_reachable(&self) -> Result<(), VerifyError> {
        let mut seen: HashSet<Cid> = HashSet::new();
        let mut stack: Vec<Cid> = self.roots.clone();
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid) {
                continue;
            }
            match self.seen.links.get(&cid) {
                Some(links) => stack.extend(links.iter().copied()),
                None if cid.hash().code() == IDENTITY => {
                    let inline = links_of(&cid, cid.hash().digest())
                        .map_err(|source| VerifyError::Decode { cid, offset: 0, source })?;
                    stack.extend(inline);
                }
                None => return Err(VerifyError::MissingBlock { cid }),
            }
        }
        Ok(())
    }
}

/// Checks one block read at `offset` of a CAR: its bytes hash to its CID and, if dag-pb, it
/// decodes. Returns the CIDs it links to.
pub fn check_block(cid: &Cid, data: &[u8], offset: u64) -> Result<Vec<Cid>, VerifyError> {
    check_hash(cid, data, offset)?;
    links_of(cid, data).map_err(|source| VerifyError::Decode { cid: *cid, offset, source })
}

/// Checks that a block read at `offset` hashes to its CID.
fn check_hash(cid: &Cid, data: &[u8], offset: u64) -> Result<(), VerifyError> {
    match rehash(cid, data) {
        Some(true) => Ok(()),
        Some(false) => Err(VerifyError::HashMismatch { cid: *cid, offset }),
        None => Err(VerifyError::UnsupportedHash { cid: *cid, offset, code: cid.hash().code() }),
    }
}

/// A block read from a CAR: its CID, bytes and offset.
type Read = (Cid, Vec<u8>, u64);

/// Checks blocks against their CIDs, sha2-256 blocks of one length four at a time
/// ([`crate::codec::sha256x4`]: SIMD lanes in WebAssembly, where the fixed-size leaves of a CAR then
/// hash about three times faster). Blocks come out checked and in the order they went in, up to
/// three blocks after; [`BlockCheck::flush`] checks the rest at the end. An error names the first
/// bad block.
#[derive(Default)]
pub struct BlockCheck {
    waiting: Vec<Read>,
}

impl BlockCheck {
    /// Takes a block read at `offset`; `checked` gets each block once it has been checked.
    pub fn push(
        &mut self,
        cid: Cid,
        data: Vec<u8>,
        offset: u64,
        mut checked: impl FnMut(Cid, Vec<u8>, u64) -> Result<(), VerifyError>,
    ) -> Result<(), VerifyError> {
        let lanes = cid.hash().code() == SHA2_256 && cid.hash().digest().len() == 32;
        if !lanes || self.waiting.first().is_some_and(|w| w.1.len() != data.len()) {
            self.flush(&mut checked)?;
        }
        if !lanes {
            check_hash(&cid, &data, offset)?;
            return checked(cid, data, offset);
        }
        self.waiting.push((cid, data, offset));
        if self.waiting.len() == 4 {
            self.flush(checked)?;
        }
        Ok(())
    }

    /// Checks the blocks still waiting; `checked` gets each.
    pub fn flush(
        &mut self,
        mut checked: impl FnMut(Cid, Vec<u8>, u64) -> Result<(), VerifyError>,
    ) -> Result<(), VerifyError> {
        let digests = match self.waiting.as_slice() {
            [a, b, c, d] => Some(sha256_four([&a.1, &b.1, &c.1, &d.1])),
            _ => None,
        };
        for (i, (cid, data, offset)) in self.waiting.drain(..).enumerate() {
            match &digests {
                Some(d) if cid.hash().digest() != d[i] => {
                    return Err(VerifyError::HashMismatch { cid, offset })
                }
                Some(_) => {}
                None => check_hash(&cid, &data, offset)?,
            }
            checked(cid, data, offset)?;
        }
        Ok(())
    }
}

fn links_of(cid: &Cid, data: &[u8]) -> Result<Vec<Cid>, crate::error::DecodeError> {
    if cid.codec() != DAG_PB {
        return Ok(Vec::new());
    }
    let mut links = Vec::new();
    PbNode::visit(data, |l| links.push(l.hash))?;
    Ok(links)
}

/// Verifies a whole in-memory CAR.
pub fn verify_bytes(bytes: &[u8], expected_root: Option<Cid>) -> Result<Report, VerifyError> {
    let mut v = Verifier::new(expected_root);
    v.push(bytes)?;
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::fixture;

    #[test]
    fn good_cars_verify() {
        let r = verify_bytes(&fixture("go-car-v2/sample-unixfs-v2.car"), None).unwrap();
        assert_eq!(r.version, 2);
        verify_bytes(&fixture("gateway-conformance/dir_listing/fixtures.car"), None).unwrap();
    }

    /// Raw blocks: sha2-256 ones of two lengths and a blake3 one among them, as `(cid, bytes,
    /// offset)` with made-up offsets.
    fn mixed_blocks() -> Vec<Read> {
        use crate::codec::cids::{CidRule, HashAlg};
        use crate::codec::multicodec::RAW;
        let rule = |hash| CidRule { version: cid::Version::V1, hash, inline_limit: None };
        [
            (1000, HashAlg::Sha2_256),
            (1000, HashAlg::Sha2_256),
            (1000, HashAlg::Blake3),
            (1000, HashAlg::Sha2_256),
            (1000, HashAlg::Sha2_256),
            (1000, HashAlg::Sha2_256),
            (1000, HashAlg::Sha2_256),
            (10, HashAlg::Sha2_256),
            (1000, HashAlg::Sha2_256),
            (1000, HashAlg::Sha2_256),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (len, hash))| {
            let data: Vec<u8> = (0..len).map(|b| (b * 31 + i * 7) as u8).collect();
            (rule(hash).cid(RAW, &data), data, 100 * i as u64)
        })
        .collect()
    }

    fn run_check(blocks: Vec<Read>) -> Result<Vec<Cid>, VerifyError> {
        let mut check = BlockCheck::default();
        let mut out = Vec::new();
        for (cid, data, offset) in blocks {
            check.push(cid, data, offset, |cid, _, _| {
                out.push(cid);
                Ok(())
            })?;
        }
        check.flush(|cid, _, _| {
            out.push(cid);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn block_check_keeps_order() {
        let blocks = mixed_blocks();
        let cids: Vec<Cid> = blocks.iter().map(|b| b.0).collect();
        assert_eq!(run_check(blocks).unwrap(), cids);
    }

    #[test]
    fn block_check_names_the_first_bad_block() {
        // Blocks 3..7 are hashed together; 4 and 5 are bad, 4 is named. Then one bad block
        // alone, waiting at the end (9), and a bad blake3 block (2).
        for (bad, named) in [(&[4usize, 5][..], 4usize), (&[9], 9), (&[2, 4], 2), (&[7], 7)] {
            let mut blocks = mixed_blocks();
            for &i in bad {
                blocks[i].1[0] ^= 1;
            }
            let (cid, offset) = (blocks[named].0, blocks[named].2);
            assert_eq!(
                run_check(blocks),
                Err(VerifyError::HashMismatch { cid, offset }),
                "bad {bad:?}"
            );
        }
    }

    #[test]
    fn flipped_byte_names_the_block_and_offset() {
        let mut car = fixture("gateway-conformance/dir_listing/fixtures.car");
        let (_, blocks) = crate::car::read_all(&car).unwrap();
        let (cid, data, offset) = &blocks[1];
        let last = *offset as usize
            + crate::codec::varint::len((cid.to_bytes().len() + data.len()) as u64)
            + cid.to_bytes().len()
            + data.len()
            - 1;
        car[last] ^= 1;
        assert_eq!(
            verify_bytes(&car, None),
            Err(VerifyError::HashMismatch { cid: *cid, offset: *offset })
        );
    }

    #[test]
    fn missing_block_is_named() {
        let car = fixture("gateway-conformance/path_gateway_unixfs/dir-with-files.car");
        let (header, blocks) = crate::car::read_all(&car).unwrap();
        let crate::car::Event::Header { roots, .. } = header else { unreachable!() };
        let (mut w, mut out) = crate::car::CarWriter::new(1, &roots);
        let dropped =
            blocks.iter().rev().find(|(c, _, _)| !roots.contains(c)).expect("a non-root block").0;
        for (cid, data, _) in blocks.iter().filter(|b| b.0 != dropped) {
            w.block(cid, data, &mut out);
        }
        assert_eq!(verify_bytes(&out, None), Err(VerifyError::MissingBlock { cid: dropped }));
    }

    #[test]
    fn expected_root_must_be_declared() {
        let car = fixture("go-car-v2/sample-v1.car");
        let other: Cid =
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".parse().unwrap();
        let got = verify_bytes(&car, Some(other));
        assert!(matches!(got, Err(VerifyError::WrongRoot { .. })), "{got:?}");
    }
}
