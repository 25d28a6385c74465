//! The client side of Curio's Market 2.0 ("mk20") deal API, without I/O.
//!
//! carport hands each finished FRC-0058 aggregate to a Filecoin storage provider running Curio:
//! it posts a deal naming the aggregate's piece CID, its sub-pieces and a URL to pull the bytes
//! from, then polls the deal's status. This crate builds those requests and reads the answers;
//! the caller sends them with whatever HTTP client it has (the Worker's `fetch`, `ureq`), and
//! passes in the clock and the random bytes, so the crate builds for `wasm32-unknown-unknown`
//! and its tests are deterministic.
//!
//! - [`types`]: the JSON, as swagger names it and Curio's Go types write it.
//! - [`aggregate_deal`]: the deal carport sends, checked as Curio checks it.
//! - [`deal_request`], [`status_request`], [`parse_deal_response`], [`parse_status_response`]:
//!   the calls, with errors split into retryable and permanent ([`Mk20Error::is_retryable`]).
//! - [`authorization`], [`verify_authorization`], [`client_address`]: CurioAuth and the
//!   client's Filecoin address.
//!
//! `SPEC-NOTES.md` beside this crate records what was read in Curio, and where.

pub mod address;
pub mod auth;
pub mod client;
pub mod deal;
pub mod status;
pub mod types;
pub mod ulid;

#[cfg(test)]
mod swagger;

pub use address::Network;
pub use auth::{
    authorization, client_address, verify_authorization, AuthError, ClientKey, SecretKeyBytes,
};
pub use client::{
    deal_request, parse_deal_response, parse_status_response, status_request, HttpRequest,
    Mk20Error, RequestError, MARKET_PATH,
};
pub use deal::{aggregate_deal, AggregateDeal, DealError, Source, MIN_DURATION};
pub use status::{DealStatus, Stage};
pub use types::{Deal, DealCode, DealProductStatusResponse, DealState, DealStatusResponse};
pub use ulid::Ulid;
