//! `GET /aggregates/{piece CID}`: an aggregate's payload, the bytes a storage provider pulls for
//! the deal. They are never stored whole: each piece's shard streams from R2 in its place, with
//! zeros between and the data segment index at the end, as `Aggregate::payload_layout` lays them
//! out. The provider checks the commitment of what it pulled against the deal's piece CID.

use std::collections::VecDeque;
use std::rc::Rc;

use carport_core::piece::{Aggregate, PayloadRun};
use carport_core::Cid;
use futures_util::{stream, StreamExt};
use worker::{Bucket, ByteStream, Env, FixedLengthStream, Response, ResponseBody};

use crate::archivist_client::ArchivistClient;
use crate::reply::error;

const ZERO_CHUNK: u64 = 1 << 20;

pub async fn serve(env: &Env, cid: &str, head: bool) -> worker::Result<Response> {
    let archivist = ArchivistClient::new(env)?;
    let Ok(source) = archivist.aggregate(cid).await else {
        return error(404, "no such aggregate", Some(cid.to_string()));
    };
    let pieces: Vec<Cid> =
        source
            .pieces
            .iter()
            .map(|(_, p)| p.parse())
            .collect::<Result<_, _>>()
            .map_err(|e| worker::Error::RustError(format!("ledger piece CID: {e}")))?;
    let agg = Aggregate::new(source.deal_size, &pieces)
        .map_err(|e| worker::Error::RustError(format!("rebuilding aggregate {cid}: {e}")))?;
    if agg.cid().to_string() != cid {
        return error(500, "the ledger's pieces do not make this aggregate", Some(cid.to_string()));
    }
    let len = agg.payload_size();
    let mut resp = if head {
        Response::empty()?
    } else {
        let feed = Feed {
            archivist,
            cid: cid.to_string(),
            bucket: env.bucket("STORE")?,
            keys: source.pieces.into_iter().map(|(k, _)| k).collect(),
            runs: agg.payload_layout().into(),
            index: Rc::new(agg.index_payload()),
            body: None,
            failed: false,
        };
        let body = stream::unfold(feed, |f| Box::pin(f.next()));
        let fixed: worker::worker_sys::FixedLengthStream =
            FixedLengthStream::wrap(body, len).into();
        Response::from_body(ResponseBody::Stream(fixed.readable()))?
    };
    let h = resp.headers_mut();
    h.set("Content-Type", "application/octet-stream")?;
    h.set("Content-Length", &len.to_string())?;
    h.set("Cache-Control", "no-store")?;
    h.set("Accept-Ranges", "none")?;
    Ok(resp)
}

/// The payload being written out, run by run.
struct Feed {
    /// Told when the last byte has been handed out: the provider did pull the aggregate.
    archivist: ArchivistClient,
    cid: String,
    bucket: Bucket,
    keys: Vec<String>,
    runs: VecDeque<PayloadRun>,
    index: Rc<Vec<u8>>,
    body: Option<ByteStream>,
    /// Set once the payload broke off (or its pull was recorded): nothing more is recorded.
    failed: bool,
}

impl Feed {
    async fn next(mut self) -> Option<(worker::Result<Vec<u8>>, Self)> {
        loop {
            if let Some(body) = self.body.as_mut() {
                match body.next().await {
                    Some(chunk) => {
                        if chunk.is_err() {
                            self.runs.clear();
                            self.body = None;
                            self.failed = true;
                        }
                        return Some((chunk, self));
                    }
                    None => self.body = None,
                }
            }
            let Some(run) = self.runs.pop_front() else {
                // Every byte went out: record the pull (a reader that stopped early never gets here).
                if !self.failed {
                    if let Err(e) = self.archivist.pulled(&self.cid).await {
                        worker::console_error!(
                            "aggregates: recording the pull of {}: {e}",
                            self.cid
                        );
                    }
                    self.failed = true;
                }
                return None;
            };
            match run {
                PayloadRun::Zeros(n) => {
                    let k = n.min(ZERO_CHUNK);
                    if n > k {
                        self.runs.push_front(PayloadRun::Zeros(n - k));
                    }
                    return Some((Ok(vec![0; k as usize]), self));
                }
                PayloadRun::Index { .. } => {
                    let index = self.index.to_vec();
                    return Some((Ok(index), self));
                }
                PayloadRun::Piece { n, .. } => {
                    let key = self.keys[n].clone();
                    match self.bucket.get(&key).execute().await {
                        Ok(Some(obj)) => match obj.body().map(|b| b.stream()) {
                            Some(Ok(s)) => self.body = Some(s),
                            _ => return self.fail(format!("store: {key} has no body")),
                        },
                        Ok(None) => return self.fail(format!("store: {key} is missing")),
                        Err(e) => return self.fail(format!("store: {key}: {e}")),
                    }
                }
            }
        }
    }

    fn fail(mut self, msg: String) -> Option<(worker::Result<Vec<u8>>, Self)> {
        self.runs.clear();
        self.failed = true;
        Some((Err(worker::Error::RustError(msg)), self))
    }
}
