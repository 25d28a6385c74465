//! CAR verification: every block hashes to its CID, every block reachable from the roots is
//! there, and the roots are declared. Sans-IO like the reader it drives.

use std::collections::{HashMap, HashSet};

use cid::Cid;

use crate::car::{CarReader, Event};
use crate::cids::{rehash, DAG_PB, IDENTITY};
use crate::dagpb::PbNode;
use crate::error::VerifyError;

/// What a CAR held, once verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub version: u64,
    pub roots: Vec<Cid>,
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
    expected_root: Option<Cid>,
    version: u64,
    roots: Vec<Cid>,
    links: HashMap<Cid, Vec<Cid>>,
    blocks: u64,
    data_bytes: u64,
}

impl Verifier {
    /// `expected_root`, when given, must be among the CAR's declared roots.
    pub fn new(expected_root: Option<Cid>) -> Self {
        Verifier { reader: CarReader::new(), expected_root, version: 0, roots: Vec::new(), links: HashMap::new(), blocks: 0, data_bytes: 0 }
    }

    /// Feeds the next bytes; fails at the first bad block.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), VerifyError> {
        self.reader.push(bytes);
        self.drain()
    }

    /// Ends the input and checks completeness.
    pub fn finish(mut self) -> Result<Report, VerifyError> {
        self.reader.close();
        self.drain()?;
        if self.roots.is_empty() {
            return Err(VerifyError::NoRoots);
        }
        if let Some(expected) = self.expected_root {
            if !self.roots.contains(&expected) {
                return Err(VerifyError::WrongRoot { expected, found: self.roots });
            }
        }
        self.check_reachable()?;
        Ok(Report { version: self.version, roots: self.roots, blocks: self.blocks, data_bytes: self.data_bytes })
    }

    /// Ends the current CAR and starts reading the next one into the same verification, for a set
    /// of CAR shards (see [`crate::shard`]): each block is checked where it is, roots add up, and
    /// [`Verifier::finish`] checks that every block reachable from the roots is in one of them.
    /// Offsets in errors count from the start of the CAR being read.
    pub fn next_car(&mut self) -> Result<(), VerifyError> {
        self.reader.close();
        self.drain()?;
        self.reader = CarReader::new();
        Ok(())
    }

    /// Ends the input and checks only what one CAR of a set can show alone: it reads to the end
    /// and every block hashes to its CID. Roots (a shard before the last declares none) and
    /// reachability are not checked.
    pub fn finish_unrooted(mut self) -> Result<Report, VerifyError> {
        self.reader.close();
        self.drain()?;
        Ok(Report { version: self.version, roots: self.roots, blocks: self.blocks, data_bytes: self.data_bytes })
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
                Event::Block { cid, data, offset } => self.block(cid, &data, offset)?,
                Event::End => break,
            }
        }
        Ok(())
    }

    fn block(&mut self, cid: Cid, data: &[u8], offset: u64) -> Result<(), VerifyError> {
        let links = check_block(&cid, data, offset)?;
        self.links.insert(cid, links);
        self.blocks += 1;
        self.data_bytes += data.len() as u64;
        Ok(())
    }

    fn check_reachable(&self) -> Result<(), VerifyError> {
        let mut seen: HashSet<Cid> = HashSet::new();
        let mut stack: Vec<Cid> = self.roots.clone();
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid) {
                continue;
            }
            match self.links.get(&cid) {
                Some(links) => stack.extend(links.iter().copied()),
                None if cid.hash().code() == IDENTITY => {
                    let inline = links_of(&cid, cid.hash().digest()).map_err(|source| VerifyError::Decode { cid, offset: 0, source })?;
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
    match rehash(cid, data) {
        Some(true) => {}
        Some(false) => return Err(VerifyError::HashMismatch { cid: *cid, offset }),
        None => return Err(VerifyError::UnsupportedHash { cid: *cid, offset, code: cid.hash().code() }),
    }
    links_of(cid, data).map_err(|source| VerifyError::Decode { cid: *cid, offset, source })
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

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn good_cars_verify() {
        let r = verify_bytes(&fixture("go-car-v2/sample-unixfs-v2.car"), None).unwrap();
        assert_eq!(r.version, 2);
        verify_bytes(&fixture("gateway-conformance/dir_listing/fixtures.car"), None).unwrap();
    }

    #[test]
    fn flipped_byte_names_the_block_and_offset() {
        let mut car = fixture("gateway-conformance/dir_listing/fixtures.car");
        let (_, blocks) = crate::car::read_all(&car).unwrap();
        let (cid, data, offset) = &blocks[1];
        let last = *offset as usize + crate::varint::len((cid.to_bytes().len() + data.len()) as u64) + cid.to_bytes().len() + data.len() - 1;
        car[last] ^= 1;
        assert_eq!(verify_bytes(&car, None), Err(VerifyError::HashMismatch { cid: *cid, offset: *offset }));
    }

    #[test]
    fn missing_block_is_named() {
        let car = fixture("gateway-conformance/path_gateway_unixfs/dir-with-files.car");
        let (header, blocks) = crate::car::read_all(&car).unwrap();
        let crate::car::Event::Header { roots, .. } = header else { unreachable!() };
        let (mut w, mut out) = crate::car::CarWriter::new(1, &roots);
        let dropped = blocks.iter().rev().find(|(c, _, _)| !roots.contains(c)).expect("a non-root block").0;
        for (cid, data, _) in blocks.iter().filter(|b| b.0 != dropped) {
            w.block(cid, data, &mut out);
        }
        assert_eq!(verify_bytes(&out, None), Err(VerifyError::MissingBlock { cid: dropped }));
    }

    #[test]
    fn expected_root_must_be_declared() {
        let car = fixture("go-car-v2/sample-v1.car");
        let other: Cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".parse().unwrap();
        let got = verify_bytes(&car, Some(other));
        assert!(matches!(got, Err(VerifyError::WrongRoot { .. })), "{got:?}");
    }
}
