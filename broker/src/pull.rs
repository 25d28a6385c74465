//! What a provider does with an aggregate deal before sealing: check that the sub-pieces make
//! the aggregate (their data segment index), pull the bytes, and check their piece commitment.
//! Nothing here is simulated.
//!
//! The bytes stream through to disk and the piece hasher in 64 KiB reads; a source that sends
//! more than the piece's payload is cut off there, so a lying server cannot fill the disk.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use carport_core::piece::{Aggregate, Piece, PieceHasher};
use carport_core::Cid;
use carport_mk20::types::HttpUrl;

/// Bytes read at a time.
const READ_SIZE: usize = 64 * 1024;

/// One pull.
#[derive(Clone, Debug)]
pub struct PullJob {
    /// The deal's v2 piece CID: the aggregate.
    pub piece: Cid,
    /// The sub-pieces, in index order.
    pub sub_pieces: Vec<Cid>,
    pub urls: Vec<HttpUrl>,
    /// Where the verified bytes go.
    pub dest: PathBuf,
    /// Where they are written until verified.
    pub partial: PathBuf,
}

/// The HTTP client pulls use.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout_read(Duration::from_secs(60))
        .build()
}

/// Runs a pull; the error is the reason the deal fails with.
pub fn run(job: &PullJob, agent: &ureq::Agent) -> Result<(), String> {
    let piece = Piece::from_cid(&job.piece).map_err(|e| format!("invalid piece cid: {e}"))?;
    let index = Aggregate::new(piece.padded_size(), &job.sub_pieces)
        .map_err(|e| format!("the sub-pieces do not fit the deal: {e}"))?;
    if index.cid() != job.piece {
        return Err(format!(
            "the sub-pieces do not make the deal's aggregate: their data segment index gives {}",
            index.cid()
        ));
    }
    let mut urls: Vec<&HttpUrl> = job.urls.iter().collect();
    urls.sort_by_key(|u| (u.fallback, u.priority));
    let mut errors = Vec::new();
    for url in urls {
        match fetch(url, &piece, job, agent) {
            Ok(()) => return Ok(()),
            Err(e) => errors.push(format!("{}: {e}", url.url)),
        }
    }
    let _ = fs::remove_file(&job.partial);
    Err(format!("pull failed: {}", errors.join("; ")))
}

/// Pulls from one URL into the partial file and, if the bytes are the piece, moves it in place.
fn fetch(url: &HttpUrl, piece: &Piece, job: &PullJob, agent: &ureq::Agent) -> Result<(), String> {
    let mut request = agent.get(&url.url);
    for (name, values) in &url.headers {
        for value in values {
            request = request.set(name, value);
        }
    }
    let response = request.call().map_err(|e| match e {
        ureq::Error::Status(code, _) => format!("HTTP {code}"),
        ureq::Error::Transport(t) => t.to_string(),
    })?;
    let expected = piece.payload_size();
    let mut reader = response.into_reader();
    let mut file =
        File::create(&job.partial).map_err(|e| format!("{}: {e}", job.partial.display()))?;
    let mut hasher = PieceHasher::new();
    let mut buf = vec![0u8; READ_SIZE];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > expected {
            return Err(format!("more than the piece's {expected} payload bytes"));
        }
        file.write_all(&buf[..n]).map_err(|e| format!("{}: {e}", job.partial.display()))?;
        hasher.update(&buf[..n]);
    }
    if total != expected {
        return Err(format!("{total} bytes, the piece has {expected}"));
    }
    file.sync_all().map_err(|e| format!("{}: {e}", job.partial.display()))?;
    let got = hasher.finish().map_err(|e| format!("piece commitment: {e}"))?.cid;
    if got != job.piece {
        return Err(format!(
            "piece commitment mismatch: the bytes hash to {got}, the deal names {}",
            job.piece
        ));
    }
    fs::rename(&job.partial, &job.dest).map_err(|e| format!("{}: {e}", job.dest.display()))
}
