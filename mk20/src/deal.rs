//! The deal carport makes: one FRC-0058 aggregate, pulled by the provider over HTTP, stored with
//! Direct Data Onboarding (`ddo_v1`).
//!
//! [`aggregate_deal`] also checks, before anything is sent, the rules Curio applies to such a
//! deal (market/mk20/utils.go `Validate`, ddo_v1.go, mk20.go `sanitizeDDODeal`) that need no
//! provider state, so a deal it returns is refused only for the provider's own reasons (its
//! sector size, its allow-list, disabled products or sources, back-pressure).

use std::collections::BTreeMap;

use carport_core::piece::Piece;
use carport_core::Cid;

use crate::address::Network;
use crate::types::{
    AggregateType, CidLink, DataSource, DataSourceHttp, DdoV1, Deal, Empty, FormatAggregate,
    HttpUrl, PieceDataFormat, Products, RetrievalV1,
};
use crate::ulid::Ulid;

/// The shortest `ddo_v1` duration Curio takes without an allocation: 518400 epochs, 180 days.
pub const MIN_DURATION: i64 = 518_400;
/// Curio's limit on the sub-pieces of an aggregate.
pub const MAX_SUB_PIECES: usize = 1024;
/// Curio's limit on the URLs of one source.
pub const MAX_URLS: usize = 10;
/// Curio's limit on the headers of one URL.
pub const MAX_HEADERS: usize = 10;

/// One place the provider can pull the aggregate's bytes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// An `http` or `https` URL serving the aggregate's payload: exactly
    /// `deal_size * 127 / 128` bytes, pieces and index at their offsets, zeros between.
    pub url: String,
    /// Headers the provider sends with its GET (an access token, say).
    pub headers: Vec<(String, String)>,
}

/// Everything [`aggregate_deal`] needs.
#[derive(Clone, Copy, Debug)]
pub struct AggregateDeal<'a> {
    /// The caller's clock, Unix milliseconds: the time part of the deal's ULID.
    pub time_ms: u64,
    /// Fresh random bytes from the caller: the rest of the ULID, which makes it unique.
    pub random: [u8; 10],
    /// The client's address ([`crate::client_address`]), which must sign the request.
    pub client: &'a str,
    /// The v2 piece CID of the whole aggregate (`Aggregate::cid()`); its size is the deal size.
    pub aggregate: &'a Cid,
    /// The v2 piece CIDs of the sub-pieces, in the order of the aggregate's data segment index.
    /// Curio indexes each sub-piece at the index entry of the same position.
    pub sub_pieces: &'a [Cid],
    /// Where to pull the aggregate, best first: the first has priority 0, the others follow
    /// with increasing priority and are marked as fallbacks.
    pub sources: &'a [Source],
    /// The storage provider's actor address (`f0…`), on the same network as `client`.
    pub provider: &'a str,
    /// How long the provider stores the data, in epochs (30 s each): at least [`MIN_DURATION`].
    pub duration: i64,
    /// The epoch by which the deal must be active, or `None` to let the provider choose.
    pub start_epoch: Option<i64>,
    /// Whether the provider indexes the CARs' blocks (retrieval by CID) and announces them to
    /// IPNI; announcing the piece itself is refused for DDO deals.
    pub retrieval: RetrievalV1,
}

/// Why [`aggregate_deal`] refused its arguments.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DealError {
    #[error("the time {0} ms does not fit a ULID")]
    Time(u64),
    #[error("the client address is empty")]
    NoClient,
    #[error("{address:?} is not an f or t address")]
    Network { address: String },
    #[error("the client is on {client:?} and the provider on {provider:?}")]
    NetworkMismatch { client: Network, provider: Network },
    #[error("the aggregate {cid} is not a v2 piece CID: {reason}")]
    Aggregate { cid: String, reason: String },
    #[error("sub-piece {index} ({cid}) is not a v2 piece CID: {reason}")]
    SubPiece { index: usize, cid: String, reason: String },
    #[error("sub-piece {index} ({cid}) is not smaller than the aggregate")]
    SubPieceSize { index: usize, cid: String },
    #[error("an aggregate needs 1 to {MAX_SUB_PIECES} sub-pieces, not {0}")]
    SubPieceCount(usize),
    #[error("a deal needs 1 to {MAX_URLS} source URLs, not {0}")]
    SourceCount(usize),
    #[error("source URL {url:?}: {reason}")]
    Source { url: String, reason: &'static str },
    #[error("duration {0} is below the minimum of {MIN_DURATION} epochs")]
    DurationTooShort(i64),
    #[error("start epoch {0} is not positive")]
    StartEpoch(i64),
    #[error("retrieval: {0}")]
    Retrieval(&'static str),
}

/// The deal for one aggregate: format `aggregate` type 1 (FRC-0058) with the sub-pieces as CARs,
/// an HTTP source, `ddo_v1` and `retrieval_v1`.
pub fn aggregate_deal(p: &AggregateDeal<'_>) -> Result<Deal, DealError> {
    let identifier = Ulid::from_parts(p.time_ms, p.random).ok_or(DealError::Time(p.time_ms))?;
    check_parties(p.client, p.provider)?;
    let aggregate = Piece::from_cid(p.aggregate).map_err(|e| DealError::Aggregate {
        cid: p.aggregate.to_string(),
        reason: e.to_string(),
    })?;
    if p.sub_pieces.is_empty() || p.sub_pieces.len() > MAX_SUB_PIECES {
        return Err(DealError::SubPieceCount(p.sub_pieces.len()));
    }
    let sub = p
        .sub_pieces
        .iter()
        .enumerate()
        .map(|(index, cid)| {
            let piece = Piece::from_cid(cid).map_err(|e| DealError::SubPiece {
                index,
                cid: cid.to_string(),
                reason: e.to_string(),
            })?;
            if piece.padded_size() >= aggregate.padded_size() {
                return Err(DealError::SubPieceSize { index, cid: cid.to_string() });
            }
            Ok(DataSource {
                piece_cid: CidLink(*cid),
                format: PieceDataFormat { car: Some(Empty {}), ..PieceDataFormat::default() },
                source_http: None,
                source_aggregate: None,
                source_offline: None,
                source_http_put: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let urls = http_urls(p.sources)?;
    if p.duration < MIN_DURATION {
        return Err(DealError::DurationTooShort(p.duration));
    }
    if let Some(epoch) = p.start_epoch.filter(|&e| e <= 0) {
        return Err(DealError::StartEpoch(epoch));
    }
    if p.retrieval.announce_piece {
        return Err(DealError::Retrieval("announcing the piece is refused for ddo_v1"));
    }
    if p.retrieval.announce_payload && !p.retrieval.indexing {
        return Err(DealError::Retrieval("announcing the payload needs indexing"));
    }
    Ok(Deal {
        identifier,
        client: p.client.to_string(),
        data: Some(DataSource {
            piece_cid: CidLink(*p.aggregate),
            format: PieceDataFormat {
                aggregate: Some(FormatAggregate { kind: AggregateType::V1, sub }),
                ..PieceDataFormat::default()
            },
            source_http: Some(DataSourceHttp { urls }),
            source_aggregate: None,
            source_offline: None,
            source_http_put: None,
        }),
        products: Products {
            ddo_v1: Some(DdoV1 {
                provider: p.provider.to_string(),
                start_epoch: p.start_epoch,
                duration: p.duration,
                allocation_id: None,
                market_address: None,
                market_deal_id: None,
                notification_address: None,
                notification_payload: None,
            }),
            retrieval_v1: Some(p.retrieval),
            pdp_v1: None,
        },
    })
}

/// Client and provider must be named, and on one network: Curio compares the client with the
/// address text its own network writes.
fn check_parties(client: &str, provider: &str) -> Result<(), DealError> {
    if client.is_empty() {
        return Err(DealError::NoClient);
    }
    let network = |address: &str| {
        Network::of_address(address).ok_or(DealError::Network { address: address.to_string() })
    };
    let (c, p) = (network(client)?, network(provider)?);
    if c != p {
        return Err(DealError::NetworkMismatch { client: c, provider: p });
    }
    Ok(())
}

/// The sources as mk20 URLs, checked as Curio's `ValidateClientFetchURL` checks their form (not
/// its address policy, which is the provider's).
fn http_urls(sources: &[Source]) -> Result<Vec<HttpUrl>, DealError> {
    if sources.is_empty() || sources.len() > MAX_URLS {
        return Err(DealError::SourceCount(sources.len()));
    }
    sources
        .iter()
        .enumerate()
        .map(|(i, source)| {
            check_url(&source.url)
                .map_err(|reason| DealError::Source { url: source.url.clone(), reason })?;
            let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (name, value) in &source.headers {
                headers.entry(name.clone()).or_default().push(value.clone());
            }
            if headers.len() > MAX_HEADERS {
                return Err(DealError::Source {
                    url: source.url.clone(),
                    reason: "more than 10 headers",
                });
            }
            Ok(HttpUrl { url: source.url.clone(), headers, priority: i as i64, fallback: i > 0 })
        })
        .collect()
}

/// Whether a source URL has the form Curio takes: absolute `http`/`https` with a host, no user
/// info, no control characters. The reason when not.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    if url.contains(['\0', '\r', '\n', '\t']) {
        return Err("contains control characters");
    }
    let scheme_end = url.find("://").ok_or("is not absolute")?;
    if !["http", "https"].contains(&url[..scheme_end].to_ascii_lowercase().as_str()) {
        return Err("is not http or https");
    }
    let rest = &url[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err("has user info");
    }
    if authority.is_empty() {
        return Err("has no host");
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use carport_core::piece::{piece_of, Aggregate};

    /// Three small CAR-sized pieces and their 8 KiB aggregate.
    pub(crate) fn example_pieces() -> (Cid, Vec<Cid>) {
        let subs: Vec<Cid> = [300usize, 1000, 127]
            .iter()
            .map(|&n| piece_of(&vec![n as u8; n]).unwrap().cid)
            .collect();
        let aggregate = Aggregate::new(8192, &subs).unwrap();
        (aggregate.cid(), subs)
    }

    pub(crate) fn example_sources() -> Vec<Source> {
        vec![
            Source {
                url: "https://edge.example/aggregates/a".into(),
                headers: vec![("X-Token".into(), "t".into())],
            },
            Source { url: "https://mirror.example/a".into(), headers: vec![] },
        ]
    }

    pub(crate) fn example_params<'a>(
        aggregate: &'a Cid,
        subs: &'a [Cid],
        sources: &'a [Source],
    ) -> AggregateDeal<'a> {
        AggregateDeal {
            time_ms: 1_752_598_830_000,
            random: [7; 10],
            client: "f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba",
            aggregate,
            sub_pieces: subs,
            sources,
            provider: "f01000",
            duration: MIN_DURATION,
            start_epoch: None,
            retrieval: RetrievalV1 {
                indexing: true,
                announce_payload: true,
                announce_piece: false,
            },
        }
    }

    #[test]
    fn builds_an_frc58_ddo_deal() {
        let (aggregate, subs) = example_pieces();
        let sources = example_sources();
        let deal = aggregate_deal(&example_params(&aggregate, &subs, &sources)).unwrap();
        assert_eq!(deal.identifier.time_ms(), 1_752_598_830_000);
        let data = deal.data.unwrap();
        assert_eq!(data.piece_cid.0, aggregate);
        let format = data.format.aggregate.unwrap();
        assert_eq!(format.kind, AggregateType::V1);
        assert_eq!(format.sub.iter().map(|s| s.piece_cid.0).collect::<Vec<_>>(), subs);
        assert!(format.sub.iter().all(|s| s.format.car.is_some() && s.source_http.is_none()));
        let urls = data.source_http.unwrap().urls;
        assert_eq!(
            (urls[0].priority, urls[0].fallback, urls[1].priority, urls[1].fallback),
            (0, false, 1, true)
        );
        assert_eq!(urls[0].headers["X-Token"], vec!["t".to_string()]);
        assert_eq!(deal.products.ddo_v1.unwrap().provider, "f01000");
        assert!(deal.products.retrieval_v1.unwrap().indexing);
    }

    #[test]
    fn refuses_what_curio_would_refuse() {
        let (aggregate, subs) = example_pieces();
        let sources = example_sources();
        let base = example_params(&aggregate, &subs, &sources);
        let err = |p: AggregateDeal<'_>| aggregate_deal(&p).unwrap_err();

        assert_eq!(
            err(AggregateDeal { duration: MIN_DURATION - 1, ..base }),
            DealError::DurationTooShort(MIN_DURATION - 1)
        );
        assert_eq!(err(AggregateDeal { sub_pieces: &[], ..base }), DealError::SubPieceCount(0));
        assert_eq!(err(AggregateDeal { sources: &[], ..base }), DealError::SourceCount(0));
        assert_eq!(err(AggregateDeal { client: "", ..base }), DealError::NoClient);
        assert_eq!(err(AggregateDeal { start_epoch: Some(0), ..base }), DealError::StartEpoch(0));
        assert!(matches!(
            err(AggregateDeal { provider: "t01000", ..base }),
            DealError::NetworkMismatch { .. }
        ));
        let announce =
            RetrievalV1 { indexing: true, announce_payload: false, announce_piece: true };
        assert!(matches!(
            err(AggregateDeal { retrieval: announce, ..base }),
            DealError::Retrieval(_)
        ));
        let unindexed =
            RetrievalV1 { indexing: false, announce_payload: true, announce_piece: false };
        assert!(matches!(
            err(AggregateDeal { retrieval: unindexed, ..base }),
            DealError::Retrieval(_)
        ));
        assert!(matches!(
            err(AggregateDeal { aggregate: &subs[0], sub_pieces: &subs[..1], ..base }),
            DealError::SubPieceSize { index: 0, .. }
        ));
        let (v1, _) = carport_core::piece::v2_to_v1(&aggregate).unwrap();
        assert!(matches!(
            err(AggregateDeal { aggregate: &v1, ..base }),
            DealError::Aggregate { .. }
        ));
        let ftp = [Source { url: "ftp://x/a".into(), headers: vec![] }];
        assert!(matches!(err(AggregateDeal { sources: &ftp, ..base }), DealError::Source { .. }));
    }

    #[test]
    fn checks_url_form() {
        assert_eq!(check_url("https://a.example/x?y"), Ok(()));
        assert_eq!(check_url("HTTP://127.0.0.1:8080"), Ok(()));
        assert_eq!(check_url("https://user@a.example/"), Err("has user info"));
        assert_eq!(check_url("https:///x"), Err("has no host"));
        assert_eq!(check_url("/x"), Err("is not absolute"));
        assert_eq!(check_url("https://a.example/\n"), Err("contains control characters"));
    }
}
