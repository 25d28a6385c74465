//! The two calls carport makes, as plain requests and answers: the caller does the HTTP.
//!
//! Curio serves the API under `/market/mk20` on the provider's market host. A deal is posted
//! with `Content-Type: application/json` exactly (Curio compares the whole header) and answered
//! with a status code and a plain-text body `Reason: <text>`; a status query is answered with
//! JSON, or with a bare status code. Curio requires CurioAuth on both; for `/status/{id}` it also
//! requires that the signer is the deal's client, and answers 401 otherwise (also for an unknown
//! id, since that check comes first).

use crate::auth::{authorization, AuthError, ClientKey};
use crate::status::DealStatus;
use crate::types::{Deal, DealCode, DealProductStatusResponse};
use crate::ulid::Ulid;

/// Where Curio mounts the API.
pub const MARKET_PATH: &str = "/market/mk20";

/// Bytes of an answer's text kept in an error.
const MAX_REASON: usize = 512;

/// A request for the caller to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("base URL {url:?}: {reason}")]
    BaseUrl { url: String, reason: &'static str },
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Why a call did not succeed. [`Mk20Error::is_retryable`] tells the two ways to go on: retry
/// the same request later, or give up on this deal (carport moves its pieces to another
/// aggregate).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Mk20Error {
    /// A 4xx other than 429: the provider refused this request; sending it again will not help.
    #[error("refused with {status}{}: {reason}", code.map(|c| format!(" {}", c.name())).unwrap_or_default())]
    Rejected { status: u16, code: Option<DealCode>, reason: String },
    /// 429 or 5xx: overloaded, in maintenance or failing; try again later.
    #[error("unavailable ({status}): {reason}")]
    Unavailable { status: u16, reason: String },
    /// The request did not get an answer (connection, TLS, timeout): for the caller to build
    /// from its own HTTP client's error.
    #[error("transport: {0}")]
    Transport(String),
    /// An answer that is not the API's (a status outside it, JSON that does not parse): a proxy
    /// or version problem, so retried rather than blamed on the deal.
    #[error("unexpected answer ({status}): {reason}")]
    BadResponse { status: u16, reason: String },
}

impl Mk20Error {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Mk20Error::Rejected { .. })
    }
}

/// `POST {base_url}/market/mk20/deal`, signed by `key` at `now_unix_secs`.
pub fn deal_request(
    base_url: &str,
    deal: &Deal,
    key: &ClientKey,
    now_unix_secs: u64,
) -> Result<HttpRequest, RequestError> {
    let (url, path) = endpoint(base_url, "/deal")?;
    let body = serde_json::to_vec(deal).expect("a Deal always serializes");
    Ok(HttpRequest {
        method: "POST",
        url,
        headers: vec![
            ("Authorization".to_string(), authorization(key, "POST", &path, now_unix_secs)?),
            ("Content-Type".to_string(), "application/json".to_string()),
        ],
        body,
    })
}

/// `GET {base_url}/market/mk20/status/{id}`, signed by `key` (the deal's client) at `now_unix_secs`.
pub fn status_request(
    base_url: &str,
    id: &Ulid,
    key: &ClientKey,
    now_unix_secs: u64,
) -> Result<HttpRequest, RequestError> {
    let (url, path) = endpoint(base_url, &format!("/status/{id}"))?;
    Ok(HttpRequest {
        method: "GET",
        url,
        headers: vec![(
            "Authorization".to_string(),
            authorization(key, "GET", &path, now_unix_secs)?,
        )],
        body: Vec::new(),
    })
}

/// The answer to [`deal_request`]: `Ok` when the provider took the deal (200).
pub fn parse_deal_response(status: u16, body: &[u8]) -> Result<(), Mk20Error> {
    match status {
        200 => Ok(()),
        _ => Err(failure(status, body)),
    }
}

/// The answer to [`status_request`].
pub fn parse_status_response(status: u16, body: &[u8]) -> Result<DealStatus, Mk20Error> {
    if status != 200 {
        return Err(failure(status, body));
    }
    let bad = |reason: String| Mk20Error::BadResponse { status, reason };
    let response: DealProductStatusResponse =
        serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    DealStatus::new(response).ok_or_else(|| bad("no ddo_v1 or pdp_v1 entry".to_string()))
}

/// The error of a non-200 answer, by its status.
fn failure(status: u16, body: &[u8]) -> Mk20Error {
    let reason = reason_of(body);
    match status {
        429 | 500..=599 => Mk20Error::Unavailable { status, reason },
        400..=499 => Mk20Error::Rejected { status, code: DealCode::from_status(status), reason },
        _ => Mk20Error::BadResponse { status, reason },
    }
}

/// The text of an answer without Curio's `Reason: ` prefix, cut to a sane length.
fn reason_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let text = text.strip_prefix("Reason:").map(str::trim_start).unwrap_or(text);
    match text.char_indices().nth(MAX_REASON) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The URL of a route under `base_url` and the path Curio's server will see and check the
/// signature against (its `r.URL.EscapedPath()`).
fn endpoint(base_url: &str, route: &str) -> Result<(String, String), RequestError> {
    let bad = |reason| RequestError::BaseUrl { url: base_url.to_string(), reason };
    crate::deal::check_url(base_url).map_err(bad)?;
    if base_url.contains(['?', '#']) {
        return Err(bad("has a query or fragment"));
    }
    let after_scheme = base_url.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start =
        base_url[after_scheme..].find('/').map(|i| i + after_scheme).unwrap_or(base_url.len());
    let base_path = base_url[path_start..].trim_end_matches('/');
    // Only characters a URL path carries unescaped, so the signed path is the one sent.
    let unescaped = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
    if !base_path.chars().all(unescaped) {
        return Err(bad("its path needs escaping"));
    }
    let path = format!("{base_path}{MARKET_PATH}{route}");
    Ok((format!("{}{path}", &base_url[..path_start]), path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Network;
    use crate::auth::verify_authorization;
    use crate::status::Stage;

    fn key() -> ClientKey {
        ClientKey::from_bytes(&[3; 32]).unwrap()
    }

    #[test]
    fn builds_signed_requests() {
        let id: Ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let req = status_request("https://sp.example:1234/", &id, &key(), 1_000_000).unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(
            req.url,
            "https://sp.example:1234/market/mk20/status/01ARZ3NDEKTSV4RRFFQ69G5FAV"
        );
        let (name, value) = &req.headers[0];
        assert_eq!(name, "Authorization");
        let path = "/market/mk20/status/01ARZ3NDEKTSV4RRFFQ69G5FAV";
        assert!(verify_authorization(value, "GET", path, 1_000_000, Network::Mainnet).is_ok());
        assert!(req.body.is_empty());
    }

    #[test]
    fn signs_the_path_under_a_base_path() {
        let (url, path) = endpoint("http://127.0.0.1:8080/sp1", "/deal").unwrap();
        assert_eq!(url, "http://127.0.0.1:8080/sp1/market/mk20/deal");
        assert_eq!(path, "/sp1/market/mk20/deal");
        assert!(endpoint("http://h/a b", "/deal").is_err());
        assert!(endpoint("http://h/?x=1", "/deal").is_err());
        assert!(endpoint("h/x", "/deal").is_err());
    }

    #[test]
    fn classifies_deal_answers() {
        assert_eq!(parse_deal_response(200, b"Reason: "), Ok(()));
        let e = parse_deal_response(441, b"Reason: duration must be at least 518400").unwrap_err();
        assert_eq!(
            e,
            Mk20Error::Rejected {
                status: 441,
                code: Some(DealCode::DurationTooShort),
                reason: "duration must be at least 518400".into()
            }
        );
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "refused with 441 ErrDurationTooShort: duration must be at least 518400"
        );
        for status in [429, 500, 502, 503] {
            assert!(
                parse_deal_response(status, b"Reason: busy").unwrap_err().is_retryable(),
                "{status}"
            );
        }
        for status in [400, 401, 404, 422, 423, 424, 425, 426, 430, 440] {
            assert!(!parse_deal_response(status, b"").unwrap_err().is_retryable(), "{status}");
        }
        assert!(matches!(
            parse_deal_response(302, b""),
            Err(Mk20Error::BadResponse { status: 302, .. })
        ));
        assert!(Mk20Error::Transport("reset".into()).is_retryable());
        let long = vec![b'x'; 2000];
        let Err(Mk20Error::Rejected { reason, .. }) = parse_deal_response(400, &long) else {
            panic!()
        };
        assert_eq!(reason.chars().count(), MAX_REASON + 1);
    }

    #[test]
    fn classifies_status_answers() {
        let ok = br#"{"ddo_v1":{"status":"failed","errorMsg":"commP mismatch"}}"#;
        assert_eq!(
            parse_status_response(200, ok).unwrap().stage(),
            Stage::Failed { reason: "commP mismatch".into() }
        );
        assert!(matches!(
            parse_status_response(404, b""),
            Err(Mk20Error::Rejected { status: 404, code: Some(DealCode::DealNotFound), .. })
        ));
        assert!(parse_status_response(500, b"").unwrap_err().is_retryable());
        assert!(matches!(
            parse_status_response(200, b"<html>"),
            Err(Mk20Error::BadResponse { .. })
        ));
        assert!(matches!(parse_status_response(200, b"{}"), Err(Mk20Error::BadResponse { .. })));
        assert!(matches!(
            parse_status_response(200, br#"{"ddo_v1":{"status":"teleporting"}}"#),
            Err(Mk20Error::BadResponse { .. })
        ));
    }
}
