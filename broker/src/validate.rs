//! The checks of `POST /market/mk20/deal`, in Curio's order and with its codes and reasons
//! (market/mk20/utils.go `Deal.Validate`, ddo_v1.go `Validate`, mk20.go `sanitizeDDODeal`), for
//! what the broker offers: product `ddo_v1` (with `retrieval_v1`), data source `http`, format
//! `aggregate` type 1. Other products and sources get the codes Curio gives when they are
//! disabled; other formats, which Curio would take, get 430 with a reason naming the broker.

use carport_core::piece::Piece;
use carport_mk20::types::{DataSource, DdoV1, Deal, PieceDataFormat, Products};
use carport_mk20::{DealCode, MIN_DURATION};

/// Curio's limits (market/mk20/utils.go).
const MAX_AGGREGATE_LENGTH: usize = 1024;
const MAX_URL_COUNT: usize = 10;
const MAX_HEADER_COUNT: usize = 10;

/// A refusal: the status and the text after `Reason: `.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: DealCode,
    pub reason: String,
}

fn refuse<T>(code: DealCode, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal { code, reason: reason.into() })
}

/// Checks a deal from `client` (the CurioAuth signer) for a broker acting as `provider`.
pub fn validate(deal: &Deal, client: &str, provider: &str) -> Result<(), Refusal> {
    if deal.client.is_empty() {
        return refuse(DealCode::BadProposal, "client is empty");
    }
    if deal.client != client {
        return refuse(
            DealCode::BadProposal,
            "client in deal does not match client in auth header",
        );
    }
    let ddo = products(&deal.products)?;
    let Some(data) = &deal.data else {
        return refuse(DealCode::BadProposal, "Data Source must be defined for a DDO deal");
    };
    data_source(data)?;
    if ddo.provider != provider {
        return refuse(DealCode::BadProposal, "Provider not available in Curio cluster");
    }
    Ok(())
}

/// `Products.Validate` and `DDOV1.Validate`; gives the `ddo_v1` product.
fn products(products: &Products) -> Result<&DdoV1, Refusal> {
    if products.pdp_v1.is_some() {
        return refuse(
            DealCode::UnsupportedProduct,
            "product pdp_v1 is not supported by the provider",
        );
    }
    let Some(ddo) = &products.ddo_v1 else {
        return refuse(DealCode::ProductValidationFailed, "no products defined");
    };
    let failed = |reason: &str| refuse(DealCode::ProductValidationFailed, reason);
    if ddo.provider.is_empty() {
        return failed("provider address is not set");
    }
    if ddo.start_epoch.is_some_and(|e| e <= 0) {
        return failed("start epoch cannot be negative");
    }
    match ddo.allocation_id {
        Some(0) => return failed("incorrect allocation id"),
        None if ddo.duration < MIN_DURATION => {
            return refuse(
                DealCode::DurationTooShort,
                format!("duration must be at least {MIN_DURATION}"),
            )
        }
        _ => {}
    }
    if ddo.market_address.as_deref().is_some_and(|a| !a.is_empty()) {
        return refuse(DealCode::BadProposal, "provider does not work with this market");
    }
    match (
        ddo.notification_address.as_deref().filter(|a| !a.is_empty() && *a != "<empty>"),
        &ddo.notification_payload,
    ) {
        (None, Some(_)) => {
            return failed("notification payload cannot be set without notification address")
        }
        (Some(_), None) => return failed("notification payload is not set"),
        _ => {}
    }
    let Some(retrieval) = &products.retrieval_v1 else {
        return failed("retrieval v1 is required for ddo v1");
    };
    if retrieval.announce_piece {
        return failed("announce piece is not supported for ddo v1");
    }
    if !retrieval.indexing && retrieval.announce_payload {
        return failed("deal cannot be announced to IPNI without indexing");
    }
    Ok(ddo)
}

/// `DataSource.Validate` for a pre-aggregated piece pulled over HTTP.
fn data_source(data: &DataSource) -> Result<(), Refusal> {
    if let Err(reason) = piece(data) {
        return refuse(DealCode::BadProposal, reason);
    }
    let sources = [
        data.source_http.is_some(),
        data.source_aggregate.is_some(),
        data.source_offline.is_some(),
        data.source_http_put.is_some(),
    ];
    match sources.iter().filter(|&&s| s).count() {
        0 => return refuse(DealCode::BadProposal, "no source defined for data source"),
        1 => {}
        _ => return refuse(DealCode::BadProposal, "multiple sources defined for data source"),
    }
    let unsupported = |name: &str| {
        refuse(
            DealCode::UnsupportedDataSource,
            format!("data source {name} is not supported by the provider"),
        )
    };
    if let Some(aggregate) = &data.format.aggregate {
        if aggregate.kind != carport_mk20::types::AggregateType::V1 {
            return refuse(DealCode::MalformedDataSource, "aggregate type not supported");
        }
        if data.source_aggregate.is_some() {
            return unsupported("aggregate");
        }
        sub_pieces(&aggregate.sub)?;
    }
    match format_count(&data.format) {
        0 => return refuse(DealCode::BadProposal, "no format defined"),
        1 => {}
        _ => return refuse(DealCode::BadProposal, "multiple formats defined"),
    }
    if data.format.aggregate.is_none() {
        return refuse(
            DealCode::MalformedDataSource,
            "carport-broker takes FRC-0058 aggregates (format aggregate type 1) only",
        );
    }
    if data.source_offline.is_some() {
        return unsupported("offline");
    }
    if data.source_http_put.is_some() {
        return unsupported("put");
    }
    let Some(http) = &data.source_http else { return Ok(()) };
    if http.urls.is_empty() {
        return refuse(DealCode::MalformedDataSource, "no urls defined");
    }
    if http.urls.len() > MAX_URL_COUNT {
        return refuse(
            DealCode::MalformedDataSource,
            format!("maximum {MAX_URL_COUNT} URLs are supported per piece"),
        );
    }
    for url in &http.urls {
        if let Err(reason) = carport_mk20::deal::check_url(&url.url) {
            return refuse(DealCode::BadProposal, format!("invalid url: {reason}"));
        }
        if url.headers.len() > MAX_HEADER_COUNT {
            return refuse(
                DealCode::MalformedDataSource,
                format!("maximum {MAX_HEADER_COUNT} headers are supported per piece"),
            );
        }
    }
    Ok(())
}

/// The sub-pieces of a ready-made aggregate: named by v2 piece CIDs, CAR or raw, no source.
fn sub_pieces(sub: &[DataSource]) -> Result<(), Refusal> {
    let malformed = |reason: &str| refuse(DealCode::MalformedDataSource, reason);
    if sub.is_empty() {
        return malformed("no sub pieces defined under aggregate");
    }
    if sub.len() > MAX_AGGREGATE_LENGTH {
        return malformed(&format!("aggregate support a maximum of {MAX_AGGREGATE_LENGTH} pieces"));
    }
    for p in sub {
        if piece(p).is_err() {
            return malformed("invalid piece cid");
        }
        if p.format.aggregate.is_some() {
            return malformed("aggregate of aggregate is not supported");
        }
        match (p.format.car.is_some(), p.format.raw.is_some()) {
            (false, false) => return malformed("no format defined for sub piece in aggregate"),
            (true, true) => {
                return malformed("multiple formats defined for sub piece in aggregate")
            }
            _ => {}
        }
        if p.source_aggregate.is_some()
            || p.source_offline.is_some()
            || p.source_http.is_some()
            || p.source_http_put.is_some()
        {
            return malformed("sub piece of pre-aggregated piece cannot have source defined");
        }
    }
    Ok(())
}

/// `ValidatePieceCID`: a v2 piece CID with a payload.
fn piece(data: &DataSource) -> Result<Piece, String> {
    let piece =
        Piece::from_cid(&data.piece_cid.0).map_err(|e| format!("invalid piece cid: {e}"))?;
    if piece.payload_size() == 0 {
        return Err("payload size is 0".to_string());
    }
    Ok(piece)
}

fn format_count(format: &PieceDataFormat) -> usize {
    [format.car.is_some(), format.aggregate.is_some(), format.raw.is_some()]
        .iter()
        .filter(|&&f| f)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use carport_core::piece::{piece_of, Aggregate};
    use carport_mk20::types::{Empty, RetrievalV1};
    use carport_mk20::{aggregate_deal, AggregateDeal, Source};

    const CLIENT: &str = "f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba";

    fn deal() -> Deal {
        let subs: Vec<_> =
            [200usize, 900].iter().map(|&n| piece_of(&vec![1; n]).unwrap().cid).collect();
        let aggregate = Aggregate::new(4096, &subs).unwrap().cid();
        let sources = [Source { url: "http://127.0.0.1:9/a".into(), headers: vec![] }];
        aggregate_deal(&AggregateDeal {
            time_ms: 1,
            random: [0; 10],
            client: CLIENT,
            aggregate: &aggregate,
            sub_pieces: &subs,
            sources: &sources,
            provider: "f01000",
            duration: MIN_DURATION,
            start_epoch: None,
            retrieval: RetrievalV1 {
                indexing: true,
                announce_payload: false,
                announce_piece: false,
            },
        })
        .unwrap()
    }

    fn code(deal: &Deal) -> Option<DealCode> {
        validate(deal, CLIENT, "f01000").err().map(|r| r.code)
    }

    #[test]
    fn takes_carports_deal() {
        assert_eq!(validate(&deal(), CLIENT, "f01000"), Ok(()));
    }

    #[test]
    fn refuses_with_curios_codes() {
        assert_eq!(validate(&deal(), "f1other", "f01000").unwrap_err().code, DealCode::BadProposal);
        assert_eq!(
            validate(&deal(), CLIENT, "f02000").unwrap_err().reason,
            "Provider not available in Curio cluster"
        );

        let mut d = deal();
        d.products.ddo_v1.as_mut().unwrap().duration = 10;
        assert_eq!(code(&d), Some(DealCode::DurationTooShort));

        let mut d = deal();
        d.products.retrieval_v1 = None;
        assert_eq!(code(&d), Some(DealCode::ProductValidationFailed));

        let mut d = deal();
        d.products.pdp_v1 = Some(Default::default());
        assert_eq!(code(&d), Some(DealCode::UnsupportedProduct));

        let mut d = deal();
        d.data.as_mut().unwrap().format.aggregate.as_mut().unwrap().sub.clear();
        assert_eq!(code(&d), Some(DealCode::MalformedDataSource));

        let mut d = deal();
        d.data.as_mut().unwrap().format.aggregate.as_mut().unwrap().sub[0].format =
            PieceDataFormat::default();
        assert_eq!(code(&d), Some(DealCode::MalformedDataSource));

        let mut d = deal();
        d.data.as_mut().unwrap().source_http.as_mut().unwrap().urls.clear();
        assert_eq!(code(&d), Some(DealCode::MalformedDataSource));

        let mut d = deal();
        d.data.as_mut().unwrap().source_http.as_mut().unwrap().urls[0].url =
            "file:///etc/passwd".into();
        assert_eq!(code(&d), Some(DealCode::BadProposal));

        let mut d = deal();
        d.data.as_mut().unwrap().source_offline = Some(Empty {});
        assert_eq!(code(&d), Some(DealCode::BadProposal));

        let mut d = deal();
        d.data.as_mut().unwrap().source_http = None;
        d.data.as_mut().unwrap().source_offline = Some(Empty {});
        assert_eq!(code(&d), Some(DealCode::UnsupportedDataSource));

        let mut d = deal();
        d.data.as_mut().unwrap().format.car = Some(Empty {});
        assert_eq!(code(&d), Some(DealCode::BadProposal));

        let mut d = deal();
        d.data = None;
        assert_eq!(code(&d), Some(DealCode::BadProposal));
    }
}
