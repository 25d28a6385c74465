//! A push parser for CARv1 and CARv2: feed bytes as they arrive, take headers and blocks out.

use cid::Cid;

use super::cbor::{decode_header, HeaderError};
use super::{V2Header, PRAGMA_LEN, V2_HEADER_LEN};
use crate::codec::varint;
use crate::error::CarError;

/// Largest section carport accepts (blocks are at most 2 MiB in practice; go-car allows 32 MiB).
pub const MAX_SECTION: u64 = 32 << 20;

/// What the reader found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// The CAR's version and roots; for CARv2 the roots of its inner CARv1, and its header.
    Header {
        /// 1 or 2.
        version: u64,
        /// The roots the (inner) CARv1 header declares.
        roots: Vec<Cid>,
        /// The fixed CARv2 header, for a CARv2.
        v2: Option<V2Header>,
    },
    /// One block and the file offset of its section (where the section's length varint starts).
    Block {
        /// The CID the section names.
        cid: Cid,
        /// The block's bytes.
        data: Vec<u8>,
        /// File offset of the section.
        offset: u64,
    },
    /// The end of the data (end of input, end of a CARv2's data, or a zero-length section).
    End,
}

#[derive(Clone, Copy)]
enum State {
    Start,
    V2Header,
    Skip { to: u64, v2: V2Header },
    V1Header { v2: V2Header },
    Sections { end: Option<u64> },
    Done,
}
/// Parses a CAR from pushed bytes, holding at most one section in memory.
pub struct CarReader {
    buf: Vec<u8>,
    start: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    eof: bool,
    state: State,
    /// Longest section taken; a longer one is an error before its bytes are buffered.
    max_section: u64,
}

impl Default for CarReader {
    fn default() -> Self {
        CarReader {
            buf: Vec::new(),
            start: 0,
            offset: 0,
            eof: false,
            state: State::Start,
            max_section: MAX_SECTION,
        }
    }
}

impl CarReader {
    /// A reader that takes sections of up to [`MAX_SECTION`] bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// A reader that refuses sections over `max` bytes (an untrusted source's CAR, read under a
    /// block size limit), instead of [`MAX_SECTION`].
    pub fn with_max_section(max: u64) -> Self {
        CarReader { max_section: max.min(MAX_SECTION), ..Self::default() }
    }

    /// Adds the next bytes of the file.
    pub fn push(&mut self, bytes: &[u8]) {
        self.drop_consumed();
        self.buf.extend_from_slice(bytes);
    }

    /// Adds the next `len` bytes of the file, written by `fill` straight into the reader's
    /// buffer: bytes held elsewhere (in JavaScript, behind a Wasm boundary) are copied once.
    pub fn push_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) {
        self.drop_consumed();
        let at = self.buf.len();
        self.buf.resize(at + len, 0);
        fill(&mut self.buf[at..]);
    }

    /// Forgets the bytes already parsed once they are at least half the buffer, so moving the
    /// rest down costs no more than the bytes pushed since.
    fn drop_consumed(&mut self) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Says no more bytes will come.
    pub fn close(&mut self) {
        self.eof = true;
    }

    /// File offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn truncated(&self) -> CarError {
        CarError::Truncated(self.offset + self.avail().len() as u64)
    }

    /// Reads a varint-length-prefixed frame; `None` when more bytes are needed.
    fn frame(&mut self, max: u64) -> Result<Option<(u64, usize, usize)>, CarError> {
        let at = self.offset;
        let (len, n) = match varint::read(self.avail()) {
            varint::Read::Value(len, n) => (len, n),
            varint::Read::Incomplete if self.eof => return Err(self.truncated()),
            varint::Read::Incomplete => return Ok(None),
            varint::Read::Overflow => {
                return Err(CarError::SectionTooLarge { offset: at, len: u64::MAX })
            }
        };
        if len > max {
            return Err(CarError::SectionTooLarge { offset: at, len });
        }
        if (self.avail().len() - n) as u64 >= len {
            return Ok(Some((at, n, len as usize)));
        }
        if !self.eof {
            return Ok(None);
        }
        // Name the block the file ends in, when its CID made it.
        let mut cursor = std::io::Cursor::new(&self.avail()[n..]);
        match (matches!(self.state, State::Sections { .. }), Cid::read_bytes(&mut cursor)) {
            (true, Ok(cid)) => Err(CarError::TruncatedBlock {
                cid,
                offset: at,
                end: at + self.avail().len() as u64,
            }),
            _ => Err(self.truncated()),
        }
    }

    /// The next event, or `Ok(None)` when more input is needed.
    pub fn next_event(&mut self) -> Result<Option<Event>, CarError> {
        loop {
            match self.state {
                State::Done => return Ok(Some(Event::End)),
                State::Start => {
                    if self.avail().is_empty() && self.eof {
                        return Err(CarError::Header { offset: 0, reason: HeaderError::Empty });
                    }
                    let Some((at, n, len)) = self.frame(1 << 20)? else { return Ok(None) };
                    let fields = decode_header(&self.avail()[n..n + len])
                        .map_err(|reason| CarError::Header { offset: at, reason })?;
                    match fields.version {
                        1 => {
                            let roots = fields.roots.ok_or(CarError::Header {
                                offset: at,
                                reason: HeaderError::NoRoots,
                            })?;
                            self.consume(n + len);
                            self.state = State::Sections { end: None };
                            return Ok(Some(Event::Header { version: 1, roots, v2: None }));
                        }
                        2 if n + len == PRAGMA_LEN => {
                            self.consume(n + len);
                            self.state = State::V2Header;
                        }
                        2 => {
                            return Err(CarError::Header {
                                offset: at,
                                reason: HeaderError::PragmaFields,
                            })
                        }
                        v => return Err(CarError::Version(v)),
                    }
                }
                State::V2Header => {
                    if self.avail().len() < V2_HEADER_LEN {
                        return if self.eof { Err(self.truncated()) } else { Ok(None) };
                    }
                    let at = self.offset;
                    let v2 = V2Header::decode(&self.avail()[..V2_HEADER_LEN]);
                    let data_end = v2.data_offset.checked_add(v2.data_size);
                    let bad = v2.data_offset < at + V2_HEADER_LEN as u64
                        || data_end.is_none()
                        || (v2.index_offset != 0 && Some(v2.index_offset) < data_end);
                    if bad {
                        return Err(CarError::Header {
                            offset: at,
                            reason: HeaderError::OffsetsOverlap {
                                data_offset: v2.data_offset,
                                data_size: v2.data_size,
                                index_offset: v2.index_offset,
                            },
                        });
                    }
                    self.consume(V2_HEADER_LEN);
                    self.state = State::Skip { to: v2.data_offset, v2 };
                }
                State::Skip { to, v2 } => {
                    let n = (to - self.offset).min(self.avail().len() as u64) as usize;
                    self.consume(n);
                    if self.offset < to {
                        return if self.eof { Err(self.truncated()) } else { Ok(None) };
                    }
                    self.state = State::V1Header { v2 };
                }
                State::V1Header { v2 } => {
                    let Some((at, n, len)) = self.frame(1 << 20)? else { return Ok(None) };
                    let fields = decode_header(&self.avail()[n..n + len])
                        .map_err(|reason| CarError::Header { offset: at, reason })?;
                    if fields.version != 1 {
                        return Err(CarError::Header {
                            offset: at,
                            reason: HeaderError::InnerVersion(fields.version),
                        });
                    }
                    let roots = fields
                        .roots
                        .ok_or(CarError::Header { offset: at, reason: HeaderError::NoRoots })?;
                    self.consume(n + len);
                    self.state = State::Sections { end: Some(v2.data_offset + v2.data_size) };
                    return Ok(Some(Event::Header { version: 2, roots, v2: Some(v2) }));
                }
                State::Sections { end } => {
                    if end.is_some_and(|e| self.offset >= e)
                        || (end.is_none() && self.eof && self.avail().is_empty())
                    {
                        self.state = State::Done;
                        continue;
                    }
                    let max =
                        end.map_or(self.max_section, |e| self.max_section.min(e - self.offset));
                    let Some((at, n, len)) = self.frame(max)? else { return Ok(None) };
                    if len == 0 {
                        self.state = State::Done;
                        continue;
                    }
                    let section = &self.avail()[n..n + len];
                    let mut cursor = std::io::Cursor::new(section);
                    let cid = Cid::read_bytes(&mut cursor).map_err(|_| CarError::BadCid(at))?;
                    let data = section[cursor.position() as usize..].to_vec();
                    self.consume(n + len);
                    return Ok(Some(Event::Block { cid, data, offset: at }));
                }
            }
        }
    }
}

/// Blocks of a CAR with their section offsets.
pub type Blocks = Vec<(Cid, Vec<u8>, u64)>;

/// Reads a whole in-memory CAR: its header event and blocks.
pub fn read_all(bytes: &[u8]) -> Result<(Event, Blocks), CarError> {
    let mut r = CarReader::new();
    r.push(bytes);
    r.close();
    let header = r.next_event()?.ok_or(CarError::Truncated(0))?;
    let mut blocks = Vec::new();
    while let Some(ev) = r.next_event()? {
        match ev {
            Event::Block { cid, data, offset } => blocks.push((cid, data, offset)),
            Event::End | Event::Header { .. } => break,
        }
    }
    Ok((header, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    fn read(name: &str) -> Result<(Event, Blocks), CarError> {
        read_all(&fixture(&format!("go-car-v2/{name}")))
    }

    fn version(ev: &Event) -> u64 {
        match ev {
            Event::Header { version, .. } => *version,
            _ => 0,
        }
    }

    #[test]
    fn reads_the_good_go_car_fixtures() {
        for (name, v) in [
            ("sample-v1.car", 1),
            ("sample-v1-noidentity.car", 1),
            ("sample-v1-with-zero-len-section.car", 1),
            ("sample-v1-with-zero-len-section2.car", 1),
            ("sample-v2-indexless.car", 2),
            ("sample-wrapped-v2.car", 2),
            ("sample-rw-bs-v2.car", 2),
            ("sample-unixfs-v2.car", 2),
        ] {
            let (h, blocks) = read(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(version(&h), v, "{name}");
            assert!(!blocks.is_empty(), "{name}");
        }
    }

    #[test]
    fn a_section_over_the_reader_limit_is_refused_before_it_is_buffered() {
        let bytes = fixture("go-car-v2/sample-v1.car");
        let (_, blocks) = read("sample-v1.car").unwrap();
        let biggest = blocks.iter().map(|b| b.1.len()).max().unwrap() as u64;
        let mut r = CarReader::with_max_section(biggest / 2);
        // The first section over the limit is refused from its length alone.
        r.push(&bytes);
        let mut refused = None;
        while let Ok(Some(ev)) = r.next_event().map_err(|e| refused = Some(e)) {
            if ev == Event::End {
                break;
            }
        }
        assert!(matches!(refused, Some(CarError::SectionTooLarge { .. })), "{refused:?}");
    }

    #[test]
    fn zero_length_section_ends_the_data() {
        let (_, all) = read("sample-v1.car").unwrap();
        let (_, cut) = read("sample-v1-with-zero-len-section.car").unwrap();
        assert!(cut.len() <= all.len());
        assert_eq!(cut[0].0, all[0].0);
    }

    #[test]
    fn rejects_the_broken_go_car_fixtures() {
        assert!(matches!(
            read("sample-corrupt-pragma.car"),
            Err(CarError::Header { .. } | CarError::Truncated(_))
        ));
        assert_eq!(read("sample-rootless-v42.car").unwrap_err(), CarError::Version(42));
        assert!(read("sample-v1-tailing-corrupt-section.car").is_err());
    }

    #[test]
    fn any_push_split_gives_the_same_events() {
        let bytes = fixture("go-car-v2/sample-wrapped-v2.car");
        let (_, whole) = read_all(&bytes).unwrap();
        for (step, filled) in [(1, false), (7, true), (4096, false), (4096, true)] {
            let mut r = CarReader::new();
            let mut got = Vec::new();
            let mut parts = bytes.chunks(step);
            loop {
                match r.next_event().unwrap() {
                    Some(Event::Block { cid, .. }) => got.push(cid),
                    Some(Event::End) => break,
                    Some(Event::Header { .. }) => {}
                    None => match parts.next() {
                        Some(p) if filled => r.push_with(p.len(), |dst| dst.copy_from_slice(p)),
                        Some(p) => r.push(p),
                        None => r.close(),
                    },
                }
            }
            assert_eq!(got, whole.iter().map(|b| b.0).collect::<Vec<_>>(), "step {step}");
        }
    }
}
