//! The one way to the archivist: a typed client with a method per operation, and the routes and
//! message types both sides share, so the upload door, the aggregate server and the admin routes
//! never spell the Durable Object's URLs themselves.

pub use carport_core::archive::entry::NewShard;
use carport_core::archive::retrieval::ProviderCopy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{Env, Method, ObjectNamespace, Request, RequestInit, Response, Stub};

/// The archivist's operations, as its `fetch` receives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /shard` with a [`NewShard`]; answers a [`ShardAnswer`].
    Shard,
    /// `POST /complete` with the root; answers `true`.
    Complete,
    /// `GET /upload/{root}`: the upload's [`StoredShard`]s.
    Upload(String),
    /// `GET /archive/{root}`: the upload's archive record, or a 404.
    Archive(String),
    /// `POST /pulled/{aggregate}`: the provider read the aggregate to its end; whether it exists.
    Pulled(String),
    /// `GET /aggregate/{aggregate}`: its [`AggregateSource`], or a 404.
    Aggregate(String),
    /// `GET /state`: the queue, active deals and aggregates, for operators.
    State,
    /// `GET /copy/{store key}`: the provider's copy of that shard, if it has one (JSON `null`
    /// otherwise).
    Copy(String),
    /// `POST /retrieval-failed` with a [`RetrievalFailure`]: the gateway read a wrong or no
    /// answer from the provider.
    RetrievalFailed,
    /// `POST /evict/{root}`: evict the upload's shards the tiering rule allows; a [`Tiering`].
    Evict(String),
    /// `POST /restore/{root}`: bring the upload's evicted shards back; a [`Tiering`].
    Restore(String),
}

impl Route {
    /// The route a request names, if any.
    pub fn of(method: &Method, path: &str) -> Option<Route> {
        let under = |prefix: &str| path.strip_prefix(prefix).map(str::to_string);
        match method {
            Method::Post if path == "/shard" => Some(Route::Shard),
            Method::Post if path == "/complete" => Some(Route::Complete),
            Method::Post if path == "/retrieval-failed" => Some(Route::RetrievalFailed),
            Method::Post => under("/pulled/")
                .map(Route::Pulled)
                .or_else(|| under("/evict/").map(Route::Evict))
                .or_else(|| under("/restore/").map(Route::Restore)),
            Method::Get if path == "/state" => Some(Route::State),
            Method::Get => under("/upload/")
                .map(Route::Upload)
                .or_else(|| under("/archive/").map(Route::Archive))
                .or_else(|| under("/aggregate/").map(Route::Aggregate))
                .or_else(|| under("/copy/").map(Route::Copy)),
            _ => None,
        }
    }

    fn method(&self) -> Method {
        match self {
            Route::Shard
            | Route::Complete
            | Route::Pulled(_)
            | Route::RetrievalFailed
            | Route::Evict(_)
            | Route::Restore(_) => Method::Post,
            _ => Method::Get,
        }
    }

    fn path(&self) -> String {
        match self {
            Route::Shard => "/shard".into(),
            Route::Complete => "/complete".into(),
            Route::Upload(root) => format!("/upload/{root}"),
            Route::Archive(root) => format!("/archive/{root}"),
            Route::Pulled(cid) => format!("/pulled/{cid}"),
            Route::Aggregate(cid) => format!("/aggregate/{cid}"),
            Route::State => "/state".into(),
            Route::Copy(key) => format!("/copy/{key}"),
            Route::RetrievalFailed => "/retrieval-failed".into(),
            Route::Evict(root) => format!("/evict/{root}"),
            Route::Restore(root) => format!("/restore/{root}"),
        }
    }
}

/// What recording a shard did: `{"known": bool}` (stored before) or `{"conflict": reason}` (the
/// upload is another token's; nothing recorded).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardAnswer {
    Known(bool),
    Conflict(String),
}

/// A shard of an upload and where it is stored, for the completeness check and the gateway.
#[derive(Serialize, Deserialize)]
pub struct StoredShard {
    pub car: String,
    pub key: String,
}

/// Where the aggregate's bytes come from, for serving it to the provider.
#[derive(Serialize, Deserialize)]
pub struct AggregateSource {
    pub deal_size: u64,
    /// (store key, v2 piece CID) per piece, in segment order.
    pub pieces: Vec<(String, String)>,
}

/// A failed read of a shard's provider copy, seen by the gateway.
#[derive(Serialize, Deserialize)]
pub struct RetrievalFailure {
    /// The shard's store key.
    pub key: String,
    /// What went wrong.
    pub note: String,
}

/// What evicting or restoring an upload's shards did, per shard.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Tiering {
    /// CAR CIDs of the shards moved.
    pub done: Vec<String>,
    /// Shards left as they were, and why: `(car, code, reason)`.
    pub refused: Vec<(String, String, String)>,
}

/// The archivist (one Durable Object, `ledger`), called by its operations.
pub struct ArchivistClient {
    stub: Stub,
}

impl ArchivistClient {
    pub fn new(env: &Env) -> worker::Result<Self> {
        Self::from_namespace(&env.durable_object("ARCHIVIST")?)
    }

    /// The client over the archivist binding, for code that holds the binding and not the env.
    pub fn from_namespace(ns: &ObjectNamespace) -> worker::Result<Self> {
        Ok(ArchivistClient { stub: ns.get_by_name("ledger")? })
    }

    /// The provider's copy of the shard stored as `key`, once its deal is complete.
    pub async fn copy(&self, key: &str) -> worker::Result<Option<ProviderCopy>> {
        self.json(Route::Copy(key.to_string()), None::<&()>).await
    }

    /// Tells the archivist that a read of shard `key`'s provider copy failed.
    pub async fn retrieval_failed(&self, key: &str, note: &str) -> worker::Result<()> {
        let failure = RetrievalFailure { key: key.to_string(), note: note.to_string() };
        let _: bool = self.json(Route::RetrievalFailed, Some(&failure)).await?;
        Ok(())
    }

    /// Evicts the upload's shards that the tiering rule lets go.
    pub async fn evict(&self, root: &str) -> worker::Result<Response> {
        self.send(Route::Evict(root.to_string()), None::<&()>).await
    }

    /// Brings the upload's evicted shards back from the provider.
    pub async fn restore(&self, root: &str) -> worker::Result<Response> {
        self.send(Route::Restore(root.to_string()), None::<&()>).await
    }

    /// Records a stored shard under its upload.
    pub async fn add_shard(&self, shard: &NewShard) -> worker::Result<ShardAnswer> {
        self.json(Route::Shard, Some(shard)).await
    }

    /// Marks the upload complete: its shards join the queue.
    pub async fn complete(&self, root: &str) -> worker::Result<()> {
        let _: bool = self.json(Route::Complete, Some(&root)).await?;
        Ok(())
    }

    /// The upload's shards the ledger has.
    pub async fn upload(&self, root: &str) -> worker::Result<Vec<StoredShard>> {
        self.json(Route::Upload(root.to_string()), None::<&()>).await
    }

    /// The upload's archive record as the archivist answered it (JSON, or a 404 error).
    pub async fn archive(&self, root: &str) -> worker::Result<Response> {
        self.send(Route::Archive(root.to_string()), None::<&()>).await
    }

    /// Records that the provider read aggregate `cid` to its end.
    pub async fn pulled(&self, cid: &str) -> worker::Result<bool> {
        self.json(Route::Pulled(cid.to_string()), None::<&()>).await
    }

    /// Where aggregate `cid`'s bytes come from; `Err` when the ledger has no such aggregate.
    pub async fn aggregate(&self, cid: &str) -> worker::Result<AggregateSource> {
        self.json(Route::Aggregate(cid.to_string()), None::<&()>).await
    }

    /// The ledger's state, for operators, as the archivist answered it.
    pub async fn state(&self) -> worker::Result<Response> {
        self.send(Route::State, None::<&()>).await
    }

    async fn send<B: Serialize>(&self, route: Route, body: Option<&B>) -> worker::Result<Response> {
        let mut init = RequestInit::new();
        init.with_method(route.method());
        if let Some(b) = body {
            init.with_body(Some(serde_json::to_string(b)?.into()));
        }
        let url = format!("https://do.carport.invalid{}", route.path());
        self.stub.fetch_with_request(Request::new_with_init(&url, &init)?).await
    }

    /// A call whose answer is JSON; an error status is an `Err` with the answer's text.
    async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        route: Route,
        body: Option<&B>,
    ) -> worker::Result<T> {
        let path = route.path();
        let mut resp = self.send(route, body).await?;
        if resp.status_code() >= 400 {
            return Err(worker::Error::RustError(format!("{path}: {}", resp.text().await?)));
        }
        resp.json().await
    }
}
