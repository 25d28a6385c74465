//! Deal brokers: who takes an aggregate to a storage provider.
//!
//! [`DealBroker`] is what the archivist needs: offer an aggregate under a proposal ID, ask how
//! the deal is going, and say for operators where deals go. [`Broker`] is every broker the
//! worker can be configured with, chosen from the environment: today [`Mk20`], which speaks
//! Curio's Market 2.0 HTTP API (`carport_mk20` builds and signs the requests); both a Curio
//! storage provider and the local `carport-broker` answer it, chosen by `BROKER_URL`. What a
//! broker's answer does to a deal is `carport_core::archive::ledger`'s business.

use carport_core::archive::entry::Proposal;
use carport_core::archive::Stage;
use carport_core::Cid;
use carport_mk20::{
    aggregate_deal, deal_request, parse_deal_response, parse_status_response, status_request,
    AggregateDeal, ClientKey, HttpRequest, Mk20Error, Network, Source, Ulid,
};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

pub use carport_core::archive::ledger::{BrokerError, Progress};

use crate::settings::var;
use crate::tokens::random_bytes;

/// An aggregate to offer.
pub struct Offer<'a> {
    pub proposal: &'a Proposal,
    /// The aggregate's v2 piece CID (which carries the deal size).
    pub aggregate: &'a Cid,
    /// The sub-pieces' v2 piece CIDs, in segment order.
    pub pieces: &'a [Cid],
    /// Where the provider pulls the aggregate's payload.
    pub source_url: String,
    /// An earlier offer got no answer to act on, so the provider may hold the deal already.
    pub retry: bool,
}

/// A new proposal made at `time_ms`, with fresh random bits.
pub fn new_proposal(time_ms: u64) -> Proposal {
    Proposal { time_ms, random: random_bytes::<10>() }
}

/// The proposal's name as the broker knows it (mk20: the deal's ULID).
pub fn proposal_id(p: &Proposal) -> String {
    Ulid::from_parts(p.time_ms, p.random).map(|u| u.to_string()).unwrap_or_default()
}

/// A deal broker, as the archivist drives it.
pub trait DealBroker {
    async fn offer(&self, offer: &Offer<'_>) -> Result<Progress, BrokerError>;
    async fn status(&self, proposal: &Proposal) -> Result<Progress, BrokerError>;
    /// What an operator needs to know: where deals go, and who signs them.
    fn describe(&self) -> serde_json::Value;
}

/// Every broker the worker can be configured with.
pub enum Broker {
    Mk20(Mk20),
}

impl DealBroker for Broker {
    async fn offer(&self, offer: &Offer<'_>) -> Result<Progress, BrokerError> {
        match self {
            Broker::Mk20(b) => b.offer(offer).await,
        }
    }

    async fn status(&self, proposal: &Proposal) -> Result<Progress, BrokerError> {
        match self {
            Broker::Mk20(b) => b.status(proposal).await,
        }
    }

    fn describe(&self) -> serde_json::Value {
        match self {
            Broker::Mk20(b) => b.describe(),
        }
    }
}

/// The broker `BROKER_URL` names, signing with the `MK20_CLIENT_KEY` secret (32 bytes, hex);
/// `None` when either is missing (aggregates then wait, and the record says so).
pub fn from_env(env: &Env) -> Result<Option<Broker>, String> {
    let (Some(url), Some(key)) = (var(env, "BROKER_URL"), var(env, "MK20_CLIENT_KEY")) else {
        return Ok(None);
    };
    let bytes = parse_hex32(key.trim()).ok_or("MK20_CLIENT_KEY is not 32 bytes of hex")?;
    let key = ClientKey::from_bytes(&bytes).map_err(|e| format!("MK20_CLIENT_KEY: {e}"))?;
    let provider = var(env, "MK20_PROVIDER").unwrap_or_else(|| "f01000".into());
    let network = Network::of_address(&provider)
        .ok_or_else(|| format!("MK20_PROVIDER {provider:?} is not an f0/t0 address"))?;
    let client = carport_mk20::client_address(&key, network);
    let duration = var(env, "DEAL_DURATION_EPOCHS")
        .and_then(|d| d.parse().ok())
        .unwrap_or(carport_mk20::MIN_DURATION);
    let url = url.trim_end_matches('/').to_string();
    Ok(Some(Broker::Mk20(Mk20 { url, key, client, provider, duration })))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Curio's Market 2.0 API (or the local broker, which speaks it).
pub struct Mk20 {
    url: String,
    key: ClientKey,
    client: String,
    provider: String,
    duration: i64,
}

fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

fn broker_error(e: Mk20Error) -> BrokerError {
    if e.is_retryable() {
        BrokerError::Retry(e.to_string())
    } else {
        BrokerError::Rejected(e.to_string())
    }
}

impl Mk20 {
    async fn send(&self, r: HttpRequest) -> Result<(u16, Vec<u8>), BrokerError> {
        let headers = Headers::new();
        for (k, v) in &r.headers {
            headers.set(k, v).map_err(|e| BrokerError::Retry(e.to_string()))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(r.method.to_string())).with_headers(headers);
        if !r.body.is_empty() {
            init.with_body(Some(js_sys::Uint8Array::from(r.body.as_slice()).into()));
        }
        let req =
            Request::new_with_init(&r.url, &init).map_err(|e| BrokerError::Retry(e.to_string()))?;
        let mut resp = Fetch::Request(req)
            .send()
            .await
            .map_err(|e| broker_error(Mk20Error::Transport(e.to_string())))?;
        let body =
            resp.bytes().await.map_err(|e| broker_error(Mk20Error::Transport(e.to_string())))?;
        Ok((resp.status_code(), body))
    }
}

impl DealBroker for Mk20 {
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({ "api": "mk20", "url": self.url, "provider": self.provider, "client": self.client, "durationEpochs": self.duration })
    }

    async fn offer(&self, offer: &Offer<'_>) -> Result<Progress, BrokerError> {
        if offer.retry {
            // Curio answers a second post of the same identifier with a 500, so ask first: an
            // answer means the earlier offer was taken and its reply lost. An unknown id is a 404
            // (Curio's docs, the local broker) or a 401 (Curio's auth layer, which checks the
            // deal's owner first): then post.
            match self.status(offer.proposal).await {
                Ok(progress) => return Ok(progress),
                Err(BrokerError::Rejected(_)) => {}
                Err(retry) => return Err(retry),
            }
        }
        let deal = aggregate_deal(&AggregateDeal {
            time_ms: offer.proposal.time_ms,
            random: offer.proposal.random,
            client: &self.client,
            aggregate: offer.aggregate,
            sub_pieces: offer.pieces,
            sources: &[Source { url: offer.source_url.clone(), headers: Vec::new() }],
            provider: &self.provider,
            duration: self.duration,
            start_epoch: None,
            retrieval: Default::default(),
        })
        .map_err(|e| BrokerError::Rejected(format!("deal not made: {e}")))?;
        let req = deal_request(&self.url, &deal, &self.key, now_secs())
            .map_err(|e| BrokerError::Rejected(e.to_string()))?;
        let (status, body) = self.send(req).await?;
        parse_deal_response(status, &body)
            .map(|()| Progress::Stage(Stage::Accepted))
            .map_err(broker_error)
    }

    async fn status(&self, proposal: &Proposal) -> Result<Progress, BrokerError> {
        let id = Ulid::from_parts(proposal.time_ms, proposal.random)
            .ok_or_else(|| BrokerError::Rejected("bad proposal id".into()))?;
        let req = status_request(&self.url, &id, &self.key, now_secs())
            .map_err(|e| BrokerError::Rejected(e.to_string()))?;
        let (status, body) = self.send(req).await?;
        let st = parse_status_response(status, &body).map_err(broker_error)?;
        Ok(match st.stage() {
            carport_mk20::Stage::Accepted => Progress::Stage(Stage::Accepted),
            carport_mk20::Stage::Processing => Progress::Stage(Stage::Processing),
            carport_mk20::Stage::Sealing => Progress::Stage(Stage::Sealing),
            carport_mk20::Stage::Complete => {
                Progress::Complete { deal_id: None, provider: Some(self.provider.clone()) }
            }
            carport_mk20::Stage::Failed { reason } => Progress::Failed(reason),
        })
    }
}
