//! The JSON of Curio's mk20 API: the deal (`POST /market/mk20/deal`), the status answer
//! (`GET /market/mk20/status/{id}`) and the deal codes.
//!
//! Field names and nesting are swagger's (market/mk20/http/swagger.yaml); the values are what
//! Curio's Go types put on the wire, which differs from swagger in three places: addresses
//! (`address.Address`, swagger `object`) are strings such as `"f01000"`, byte slices (swagger
//! `array of integer`) are base64 strings, and a piece CID is a DAG-JSON link `{"/": "bafk…"}`.
//! Fields Go always writes are plain fields here; fields Go leaves out when empty (`omitempty`),
//! or that carport has no value for, are `Option`s left out when `None`. Go decodes absent
//! fields as zero values and ignores unknown ones, and so do these types; `null` where Go wrote
//! a nil slice or map reads as empty.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use carport_core::Cid;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ulid::Ulid;

/// A deal: the body of `POST /market/mk20/deal` (`mk20.Deal`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    /// The deal's ULID, chosen by the client.
    pub identifier: Ulid,
    /// The client's Filecoin address, as the provider's network writes it; it must be the
    /// address that signs the CurioAuth header.
    pub client: String,
    /// The piece and where to get it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSource>,
    /// What the provider is to do with it.
    #[serde(default)]
    pub products: Products,
}

/// `mk20.Products`: one storage product (`ddo_v1` or `pdp_v1`), plus `retrieval_v1`, which
/// Curio requires alongside `ddo_v1`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Products {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddo_v1: Option<DdoV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval_v1: Option<RetrievalV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdp_v1: Option<PdpV1>,
}

/// `mk20.DataSource`: a piece, its format and one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// The v2 piece CID (FRC-0069), which also gives the piece's size.
    pub piece_cid: CidLink,
    /// What the bytes are.
    #[serde(default)]
    pub format: PieceDataFormat,
    /// URLs the provider pulls the bytes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_http: Option<DataSourceHttp>,
    /// The pieces of an aggregate the provider is to build itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_aggregate: Option<DataSourceAggregate>,
    /// The bytes arrive out of band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_offline: Option<Empty>,
    /// The client uploads the bytes after the deal is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_http_put: Option<Empty>,
}

/// `mk20.PieceDataFormat`: exactly one of the three is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceDataFormat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub car: Option<Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<FormatAggregate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Empty>,
}

/// The empty objects of the API (`mk20.FormatCar`, `FormatBytes`, `DataSourceOffline`,
/// `DataSourceHttpPut`): present or not is all they say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `mk20.FormatAggregate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatAggregate {
    /// The aggregation scheme.
    #[serde(rename = "type")]
    pub kind: AggregateType,
    /// The sub-pieces of a ready-made aggregate, in the order of its data segment index.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sub: Vec<DataSource>,
}

/// `mk20.AggregateType`, an integer on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateType {
    /// 0: no aggregation.
    None,
    /// 1: FRC-0058 verifiable data aggregation (a data segment index at the end of the deal).
    V1,
}

impl Serialize for AggregateType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(match self {
            AggregateType::None => 0,
            AggregateType::V1 => 1,
        })
    }
}

impl<'de> Deserialize<'de> for AggregateType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match i64::deserialize(deserializer)? {
            0 => Ok(AggregateType::None),
            1 => Ok(AggregateType::V1),
            n => Err(D::Error::custom(format_args!("unknown aggregate type {n}"))),
        }
    }
}

/// `mk20.DataSourceHTTP`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSourceHttp {
    /// Where the bytes can be fetched; Curio takes 1 to 10.
    #[serde(default, deserialize_with = "null_as_default")]
    pub urls: Vec<HttpUrl>,
}

/// `mk20.DataSourceAggregate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSourceAggregate {
    #[serde(default, deserialize_with = "null_as_default")]
    pub pieces: Vec<DataSource>,
}

/// `mk20.HttpUrl`: one place to fetch a piece from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpUrl {
    /// An `http` or `https` URL without user info.
    pub url: String,
    /// Headers to send with the fetch (Go's `http.Header`); Curio takes at most 10.
    #[serde(default, deserialize_with = "null_as_default")]
    pub headers: BTreeMap<String, Vec<String>>,
    /// Lower is tried first.
    #[serde(default)]
    pub priority: i64,
    /// Only tried when the others failed.
    #[serde(default)]
    pub fallback: bool,
}

/// `mk20.DDOV1`: Direct Data Onboarding of the piece into a sector of `provider`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DdoV1 {
    /// The storage provider's actor address (`f0…`).
    pub provider: String,
    /// The epoch by which the deal must be active; Curio picks one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_epoch: Option<i64>,
    /// Deal duration in epochs, at least 518400 (180 days); ignored with an allocation.
    #[serde(default)]
    pub duration: i64,
    /// A verified registry allocation (Filecoin Plus) the deal fulfils.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_id: Option<u64>,
    /// A DDO market contract (`0x…`) governing the deal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_address: Option<String>,
    /// The deal's ID in that market contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_deal_id: Option<u64>,
    /// An actor notified when the sector is activated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_address: Option<String>,
    /// The notification's payload (base64 on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_payload: Option<Bytes>,
}

/// `mk20.RetrievalV1`: how the provider serves the data back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrievalV1 {
    /// Index the CAR's blocks so they can be retrieved by CID.
    #[serde(default)]
    pub indexing: bool,
    /// Announce the payload CIDs to IPNI (needs `indexing`).
    #[serde(default)]
    pub announce_payload: bool,
    /// Announce the piece to IPNI; Curio refuses it for `ddo_v1`.
    #[serde(default)]
    pub announce_piece: bool,
}

/// `mk20.PDPV1`: Proof of Data Possession data-set operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdpV1 {
    #[serde(default)]
    pub create_data_set: bool,
    #[serde(default)]
    pub delete_data_set: bool,
    #[serde(default)]
    pub add_piece: bool,
    #[serde(default)]
    pub delete_piece: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_set_id: Option<u64>,
    #[serde(default)]
    pub record_keeper: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piece_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_data: Option<Bytes>,
}

/// A CID as go-cid writes it in JSON: `{"/": "bafk…"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CidLink(pub Cid);

#[derive(Serialize, Deserialize)]
struct LinkJson {
    #[serde(rename = "/")]
    target: String,
}

impl Serialize for CidLink {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        LinkJson { target: self.0.to_string() }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CidLink {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let link = LinkJson::deserialize(deserializer)?;
        Cid::try_from(link.target.as_str()).map(CidLink).map_err(D::Error::custom)
    }
}

/// Bytes as Go's `encoding/json` writes a `[]byte`: standard base64 with padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        BASE64.decode(s).map(Bytes).map_err(D::Error::custom)
    }
}

/// Reads `null` (a nil slice or map in Go) as the empty value.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `mk20.DealProductStatusResponse`: the answer of `GET /market/mk20/status/{id}`, one entry
/// per storage product of the deal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealProductStatusResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddo_v1: Option<DealStatusResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdp_v1: Option<DealStatusResponse>,
}

/// `mk20.DealStatusResponse`. Go always writes `errorMsg`, empty unless the deal failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealStatusResponse {
    pub status: DealState,
    #[serde(rename = "errorMsg", default)]
    pub error_msg: String,
}

/// `mk20.DealState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DealState {
    /// Stored, waiting for the pipeline.
    Accepted,
    /// Waiting for the client to upload the data (`source_http_put` deals).
    #[serde(rename = "uploading")]
    AwaitingUpload,
    /// In the pipeline: data being fetched, checked, assigned to a sector.
    Processing,
    /// In a sector that is being sealed.
    Sealing,
    /// Sealed; the provider is indexing the data.
    Indexing,
    /// Failed; `errorMsg` says why.
    Failed,
    /// Done.
    Complete,
}

/// `mk20.DealCode`: the HTTP status of `POST /market/mk20/deal` (and of the update and
/// finalize routes). The body is plain text, `Reason: <text>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DealCode {
    /// 200
    Ok,
    /// 401: bad CurioAuth, or the client is not allowed.
    Unauthorized,
    /// 400: malformed or invalid proposal.
    BadProposal,
    /// 404
    DealNotFound,
    /// 430: the data source is malformed.
    MalformedDataSource,
    /// 422: the data source is not supported or disabled.
    UnsupportedDataSource,
    /// 423: the product is not supported.
    UnsupportedProduct,
    /// 424: the product is not enabled.
    ProductNotEnabled,
    /// 425: product-specific validation failed.
    ProductValidationFailed,
    /// 426: the market's acceptance rules refused it.
    DealRejectedByMarket,
    /// 500
    ServerInternalError,
    /// 503: down for maintenance.
    ServiceMaintenance,
    /// 429: overloaded (ingestion back-pressure); try again later.
    ServiceOverloaded,
    /// 440: the market is not enabled.
    MarketNotEnabled,
    /// 441: `duration` below the minimum.
    DurationTooShort,
}

impl DealCode {
    /// Every code, in swagger's order.
    pub const ALL: [DealCode; 15] = [
        DealCode::Ok,
        DealCode::Unauthorized,
        DealCode::BadProposal,
        DealCode::DealNotFound,
        DealCode::MalformedDataSource,
        DealCode::UnsupportedDataSource,
        DealCode::UnsupportedProduct,
        DealCode::ProductNotEnabled,
        DealCode::ProductValidationFailed,
        DealCode::DealRejectedByMarket,
        DealCode::ServerInternalError,
        DealCode::ServiceMaintenance,
        DealCode::ServiceOverloaded,
        DealCode::MarketNotEnabled,
        DealCode::DurationTooShort,
    ];

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            DealCode::Ok => 200,
            DealCode::Unauthorized => 401,
            DealCode::BadProposal => 400,
            DealCode::DealNotFound => 404,
            DealCode::MalformedDataSource => 430,
            DealCode::UnsupportedDataSource => 422,
            DealCode::UnsupportedProduct => 423,
            DealCode::ProductNotEnabled => 424,
            DealCode::ProductValidationFailed => 425,
            DealCode::DealRejectedByMarket => 426,
            DealCode::ServerInternalError => 500,
            DealCode::ServiceMaintenance => 503,
            DealCode::ServiceOverloaded => 429,
            DealCode::MarketNotEnabled => 440,
            DealCode::DurationTooShort => 441,
        }
    }

    /// The code of an HTTP status, when it is one.
    pub fn from_status(status: u16) -> Option<DealCode> {
        DealCode::ALL.into_iter().find(|c| c.status() == status)
    }

    /// Curio's Go name (`ErrBadProposal`, …), for messages.
    pub fn name(self) -> &'static str {
        match self {
            DealCode::Ok => "Ok",
            DealCode::Unauthorized => "ErrUnAuthorized",
            DealCode::BadProposal => "ErrBadProposal",
            DealCode::DealNotFound => "ErrDealNotFound",
            DealCode::MalformedDataSource => "ErrMalformedDataSource",
            DealCode::UnsupportedDataSource => "ErrUnsupportedDataSource",
            DealCode::UnsupportedProduct => "ErrUnsupportedProduct",
            DealCode::ProductNotEnabled => "ErrProductNotEnabled",
            DealCode::ProductValidationFailed => "ErrProductValidationFailed",
            DealCode::DealRejectedByMarket => "ErrDealRejectedByMarket",
            DealCode::ServerInternalError => "ErrServerInternalError",
            DealCode::ServiceMaintenance => "ErrServiceMaintenance",
            DealCode::ServiceOverloaded => "ErrServiceOverloaded",
            DealCode::MarketNotEnabled => "ErrMarketNotEnabled",
            DealCode::DurationTooShort => "ErrDurationTooShort",
        }
    }
}
