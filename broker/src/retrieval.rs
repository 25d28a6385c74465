//! The provider's retrieval side, as a Curio node serves it (the Piece Gateway of ipfs/specs):
//! `GET|HEAD /piece/{piece CID}` for every aggregate the broker pulled and verified and for each
//! sub-piece in it (Curio serves the sub-pieces of aggregated deals too), with a single `Range`.
//! A sub-piece is the aggregate's bytes at its placement: where core's data segment layout put
//! it, `payload_size` bytes long (its padding is not data).
//!
//! The retrieval faults make it misbehave on purpose, for tests of the clients that must catch
//! it: down (503), slow (a delay before the answer), wrong (every byte flipped), truncated (a
//! 206 with half the bytes asked for).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use carport_core::gateway::http::{parse_range, RangeReq};
use carport_core::piece::{Aggregate, Piece};
use carport_core::Cid;
use serde::{Deserialize, Serialize};
use tiny_http::{Header, Response, StatusCode};

/// The path prefix of piece retrieval.
pub const PIECE_PREFIX: &str = "/piece/";

/// How retrieval misbehaves; `POST /_broker/faults` sets these, and they hold until changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrievalFaults {
    /// Every piece request answers 503.
    #[serde(default)]
    pub retrieval_down: bool,
    /// Milliseconds to wait before answering.
    #[serde(default)]
    pub retrieval_slow_ms: u64,
    /// The bytes served are flipped.
    #[serde(default)]
    pub retrieval_wrong: bool,
    /// A range is answered with the first half of its bytes.
    #[serde(default)]
    pub retrieval_truncated: bool,
}

/// Where a piece's bytes are on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    /// First byte of the piece in the file.
    pub offset: u64,
    /// Bytes of the piece.
    pub len: u64,
}

/// An aggregate the broker holds: its verified file and its sub-pieces in index order.
#[derive(Debug)]
pub struct Held {
    pub piece: Cid,
    pub sub_pieces: Vec<Cid>,
    pub path: PathBuf,
}

/// Where `want` is among the aggregates held: an aggregate itself, or a sub-piece of one.
pub fn locate(want: &Cid, held: &[Held]) -> Option<Located> {
    let wanted = Piece::from_cid(want).ok()?;
    for h in held {
        let Ok(file_len) = std::fs::metadata(&h.path).map(|m| m.len()) else { continue };
        if h.piece == *want {
            return Some(Located { path: h.path.clone(), offset: 0, len: file_len });
        }
        if !h.sub_pieces.contains(want) {
            continue;
        }
        let Ok(agg) = Piece::from_cid(&h.piece) else { continue };
        let Ok(layout) = Aggregate::new(agg.padded_size(), &h.sub_pieces) else { continue };
        if let Some(p) = layout.placements().iter().find(|p| p.piece == wanted) {
            let (offset, len) = (p.payload_offset(), wanted.payload_size());
            if offset + len <= file_len {
                return Some(Located { path: h.path.clone(), offset, len });
            }
        }
    }
    None
}

/// The answer to `GET|HEAD /piece/{cid}` with `range` (the `Range` header).
pub fn answer(
    cid: &str,
    head: bool,
    range: Option<&str>,
    held: &[Held],
    faults: RetrievalFaults,
) -> Response<Box<dyn Read + Send>> {
    if faults.retrieval_slow_ms > 0 {
        thread::sleep(Duration::from_millis(faults.retrieval_slow_ms));
    }
    if faults.retrieval_down {
        return plain(503, "retrieval is down (injected)");
    }
    let Ok(want) = cid.parse::<Cid>() else {
        return plain(400, "invalid piece CID");
    };
    if Piece::from_cid(&want).is_err() {
        return plain(400, "not a v2 piece CID");
    }
    let Some(at) = locate(&want, held) else {
        return plain(404, "piece not found");
    };
    let (status, first, count) = match parse_range(range, at.len) {
        RangeReq::All => (200, 0, at.len),
        RangeReq::One(r) => (206, r.first, r.last - r.first + 1),
        RangeReq::Unsatisfiable => {
            let mut resp = plain(416, "range not satisfiable");
            resp.add_header(header("Content-Range", &format!("bytes */{}", at.len)));
            return resp;
        }
    };
    let sent = match (status, faults.retrieval_truncated) {
        (206, true) => count / 2,
        _ => count,
    };
    let body: Box<dyn Read + Send> = match (head, open_at(&at.path, at.offset + first)) {
        (true, _) => Box::new(io::empty()),
        (false, Ok(f)) => {
            let part = f.take(sent);
            match faults.retrieval_wrong {
                true => Box::new(Flipped(part)),
                false => Box::new(part),
            }
        }
        (false, Err(e)) => return plain(500, &format!("reading the piece: {e}")),
    };
    let mut headers = vec![
        header("Content-Type", "application/piece"),
        header("Accept-Ranges", "bytes"),
        header("Etag", &format!("\"{want}\"")),
        header("Cache-Control", "public, max-age=29030400, immutable"),
        header("Access-Control-Allow-Origin", "*"),
    ];
    if status == 206 {
        let range = format!("bytes {first}-{}/{}", first + count - 1, at.len);
        headers.push(header("Content-Range", &range));
    }
    Response::new(StatusCode(status), headers, body, Some(sent as usize), None)
}

fn open_at(path: &PathBuf, offset: u64) -> io::Result<File> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    Ok(f)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name, value).expect("a valid header")
}

fn plain(status: u16, text: &str) -> Response<Box<dyn Read + Send>> {
    let body = format!("{text}\n").into_bytes();
    let len = body.len();
    let headers = vec![
        header("Content-Type", "text/plain; charset=utf-8"),
        header("Access-Control-Allow-Origin", "*"),
    ];
    Response::new(StatusCode(status), headers, Box::new(io::Cursor::new(body)), Some(len), None)
}

/// A reader whose bytes are all flipped: a provider serving the wrong data.
struct Flipped<R>(R);

impl<R: Read> Read for Flipped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        buf[..n].iter_mut().for_each(|b| *b = !*b);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carport_core::piece::piece_of;

    /// An aggregate of three sub-pieces written out as a deal's payload, held in `dir`.
    fn held(dir: &std::path::Path) -> (Held, Vec<Vec<u8>>) {
        let parts: Vec<Vec<u8>> =
            [300usize, 5000, 127].iter().enumerate().map(|(i, n)| vec![i as u8 + 1; *n]).collect();
        let subs: Vec<Cid> = parts.iter().map(|p| piece_of(p).unwrap().cid).collect();
        let agg = Aggregate::new(32 * 1024, &subs).unwrap();
        let mut payload = vec![0u8; agg.payload_size() as usize];
        for (p, bytes) in agg.placements().iter().zip(&parts) {
            let at = p.payload_offset() as usize;
            payload[at..at + bytes.len()].copy_from_slice(bytes);
        }
        let at = agg.index_payload_offset() as usize;
        let ix = agg.index_payload();
        payload[at..at + ix.len()].copy_from_slice(&ix);
        let path = dir.join(agg.cid().to_string());
        std::fs::write(&path, &payload).unwrap();
        (Held { piece: agg.cid(), sub_pieces: subs, path }, parts)
    }

    fn body(resp: Response<Box<dyn Read + Send>>) -> (u16, Vec<u8>) {
        let status = resp.status_code().0;
        let mut out = Vec::new();
        resp.into_reader().read_to_end(&mut out).unwrap();
        (status, out)
    }

    #[test]
    fn serves_each_sub_piece_as_its_own_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (h, parts) = held(dir.path());
        let held = [h];
        for (cid, bytes) in held[0].sub_pieces.iter().zip(&parts) {
            let (status, got) =
                body(answer(&cid.to_string(), false, None, &held, Default::default()));
            assert_eq!((status, &got), (200, bytes));
            assert_eq!(piece_of(&got).unwrap().cid, *cid);
        }
    }

    #[test]
    fn serves_the_aggregate_whole_and_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let (h, _) = held(dir.path());
        let whole = std::fs::read(&h.path).unwrap();
        let cid = h.piece.to_string();
        let held = [h];
        let (status, got) = body(answer(&cid, false, None, &held, Default::default()));
        assert_eq!((status, piece_of(&got).unwrap().cid.to_string()), (200, cid.clone()));
        let resp = answer(&cid, false, Some("bytes=10-19"), &held, Default::default());
        let range = resp.headers().iter().find(|h| h.field.equiv("Content-Range")).unwrap();
        assert_eq!(range.value.as_str(), format!("bytes 10-19/{}", whole.len()));
        assert_eq!(body(resp), (206, whole[10..20].to_vec()));
        let (status, _) =
            body(answer(&cid, false, Some("bytes=99999999-"), &held, Default::default()));
        assert_eq!(status, 416);
    }

    #[test]
    fn refuses_what_it_does_not_hold() {
        let dir = tempfile::tempdir().unwrap();
        let (h, _) = held(dir.path());
        let other = piece_of(&[9u8; 200]).unwrap().cid.to_string();
        assert_eq!(body(answer(&other, false, None, &[h], Default::default())).0, 404);
        assert_eq!(body(answer("nope", false, None, &[], Default::default())).0, 400);
    }

    #[test]
    fn misbehaves_as_the_faults_say() {
        let dir = tempfile::tempdir().unwrap();
        let (h, parts) = held(dir.path());
        let cid = h.sub_pieces[1].to_string();
        let held = [h];
        let down = RetrievalFaults { retrieval_down: true, ..Default::default() };
        assert_eq!(body(answer(&cid, false, None, &held, down)).0, 503);
        let wrong = RetrievalFaults { retrieval_wrong: true, ..Default::default() };
        let (_, got) = body(answer(&cid, false, Some("bytes=0-9"), &held, wrong));
        assert_eq!(got, parts[1][..10].iter().map(|b| !b).collect::<Vec<_>>());
        let cut = RetrievalFaults { retrieval_truncated: true, ..Default::default() };
        assert_eq!(
            body(answer(&cid, false, Some("bytes=0-9"), &held, cut)),
            (206, parts[1][..5].to_vec())
        );
    }
}
