//! Just enough DAG-CBOR to path through a document and find its links (CIDs under tag 42).
//! Values are skipped without being built; indefinite lengths are refused (DAG-CBOR forbids them).

use cid::Cid;

use crate::codec::cids::exact_cid;

/// Why a DAG-CBOR block cannot be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CborError {
    /// The block ends inside an item; the offset is where it was cut.
    #[error("DAG-CBOR truncated at byte {0}")]
    Truncated(usize),
    /// An encoding DAG-CBOR does not allow (indefinite length, reserved info), nesting deeper
    /// than 64, or bytes after the top item, at this byte.
    #[error("DAG-CBOR item not allowed at byte {0}")]
    Invalid(usize),
    /// A tag 42 whose payload is not a 0x00-prefixed binary CID, at this byte.
    #[error("invalid CID in DAG-CBOR link at byte {0}")]
    BadCid(usize),
}

/// The offset is within the block.
impl crate::error::Coded for CborError {
    fn code(&self) -> &'static str {
        "DagCbor"
    }

    fn offset(&self) -> Option<u64> {
        match self {
            CborError::Truncated(at) | CborError::Invalid(at) | CborError::BadCid(at) => {
                Some(*at as u64)
            }
        }
    }
}

/// Where a path inside one DAG-CBOR block leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A link, reached after `consumed` segments (it may lead on into another block).
    Link {
        /// The CID linked to.
        cid: Cid,
        /// Path segments used to reach it.
        consumed: usize,
    },
    /// A plain value inside the block, reached with every segment consumed.
    Value,
    /// Segment number `consumed` names nothing.
    NotFound {
        /// Index of the segment that names nothing, from 0.
        consumed: usize,
    },
}

struct R<'a> {
    b: &'a [u8],
}

const MAX_DEPTH: usize = 64;

impl R<'_> {
    fn head(&self, pos: usize) -> Result<(u8, u64, usize), CborError> {
        let first = *self.b.get(pos).ok_or(CborError::Truncated(pos))?;
        let (major, info) = (first >> 5, first & 31);
        let n = match info {
            0..=23 => return Ok((major, u64::from(info), pos + 1)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(CborError::Invalid(pos)),
        };
        let bytes = self.b.get(pos + 1..pos + 1 + n).ok_or(CborError::Truncated(self.b.len()))?;
        let v = bytes.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
        Ok((major, v, pos + 1 + n))
    }

    fn span(&self, start: usize, len: u64) -> Result<usize, CborError> {
        let end = (start as u64).checked_add(len).filter(|&e| e <= self.b.len() as u64);
        end.map(|e| e as usize).ok_or(CborError::Truncated(self.b.len()))
    }

    /// The end of the item at `pos`; every link met is passed to `link`.
    fn skip(
        &self,
        pos: usize,
        depth: usize,
        link: &mut dyn FnMut(Cid),
    ) -> Result<usize, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::Invalid(pos));
        }
        let (major, v, next) = self.head(pos)?;
        match major {
            0 | 1 | 7 => Ok(next),
            2 | 3 => self.span(next, v),
            4 => (0..v).try_fold(next, |p, _| self.skip(p, depth + 1, link)),
            5 => (0..v).try_fold(next, |p, _| {
                let p = self.skip(p, depth + 1, link)?;
                self.skip(p, depth + 1, link)
            }),
            6 => {
                if v == 42 {
                    let cid = self.link(next)?;
                    link(cid);
                }
                self.skip(next, depth + 1, link)
            }
            _ => Err(CborError::Invalid(pos)),
        }
    }

    /// The CID of a tag-42 payload at `pos` (a byte string starting with the 0x00 multibase prefix).
    fn link(&self, pos: usize) -> Result<Cid, CborError> {
        let (major, len, start) = self.head(pos)?;
        let end = self.span(start, len)?;
        if major != 2 || len < 2 || self.b[start] != 0 {
            return Err(CborError::BadCid(pos));
        }
        exact_cid(&self.b[start + 1..end]).ok_or(CborError::BadCid(pos))
    }

    fn text(&self, pos: usize) -> Result<Option<(&str, usize)>, CborError> {
        let (major, len, start) = self.head(pos)?;
        if major != 3 {
            return Ok(None);
        }
        let end = self.span(start, len)?;
        Ok(std::str::from_utf8(&self.b[start..end]).ok().map(|s| (s, end)))
    }
}

/// Every link in the block, in the order it is encoded.
pub fn links(block: &[u8]) -> Result<Vec<Cid>, CborError> {
    let r = R { b: block };
    let mut out = Vec::new();
    let end = r.skip(0, 0, &mut |c| out.push(c))?;
    if end != block.len() {
        return Err(CborError::Invalid(end));
    }
    Ok(out)
}

/// Follows `segments` (map keys, list indexes) through the block.
pub fn lookup(block: &[u8], segments: &[String]) -> Result<Lookup, CborError> {
    let r = R { b: block };
    let mut pos = 0;
    for (i, seg) in segments.iter().enumerate() {
        let (major, n, mut p) = r.head(pos)?;
        match major {
            6 if n == 42 => return Ok(Lookup::Link { cid: r.link(p)?, consumed: i }),
            5 => {
                let mut found = None;
                for _ in 0..n {
                    let key = r.text(p)?;
                    let value_at = r.skip(p, 1, &mut |_| {})?;
                    if key.is_some_and(|(k, _)| k == seg) {
                        found = Some(value_at);
                        break;
                    }
                    p = r.skip(value_at, 1, &mut |_| {})?;
                }
                match found {
                    Some(v) => pos = v,
                    None => return Ok(Lookup::NotFound { consumed: i }),
                }
            }
            4 => {
                let Ok(idx) = seg.parse::<u64>() else {
                    return Ok(Lookup::NotFound { consumed: i });
                };
                if idx >= n {
                    return Ok(Lookup::NotFound { consumed: i });
                }
                for _ in 0..idx {
                    p = r.skip(p, 1, &mut |_| {})?;
                }
                pos = p;
            }
            _ => return Ok(Lookup::NotFound { consumed: i }),
        }
    }
    let (major, n, p) = r.head(pos)?;
    if major == 6 && n == 42 {
        return Ok(Lookup::Link { cid: r.link(p)?, consumed: segments.len() });
    }
    Ok(Lookup::Value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::testutil;

    #[test]
    fn paths_through_the_dag_cbor_fixture() {
        let (_, blocks, _) =
            testutil::car("trustless_gateway_car/dir-with-dag-cbor-with-links.car");
        let doc = blocks
            .iter()
            .find(|(c, _)| c.codec() == crate::codec::multicodec::DAG_CBOR)
            .expect("a dag-cbor block");
        let segs = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        match lookup(doc.1, &segs(&["files", "single"])).unwrap() {
            Lookup::Link { cid, consumed: 2 } => assert!(blocks.contains_key(&cid)),
            other => panic!("{other:?}"),
        }
        assert_eq!(lookup(doc.1, &segs(&["nope"])).unwrap(), Lookup::NotFound { consumed: 0 });
        assert!(!links(doc.1).unwrap().is_empty());
    }

    #[test]
    fn rejects_garbage() {
        assert!(links(&[0x9f]).is_err());
        assert!(links(&[0x5a, 0xff]).is_err());
        assert!(links(&[0x81]).is_err());
    }
}
