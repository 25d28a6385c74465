//! The operators' door, `/_admin/…`: every route behind `ADMIN_TOKEN`, matched from one table.

use worker::*;

use crate::reply::{self, text};
use crate::settings::var;
use crate::{archivist_client::ArchivistClient, broker, content_path, tokens};

/// What an operator can ask for.
#[derive(Debug, PartialEq, Eq)]
enum AdminRoute<'a> {
    /// `PUT|GET|DELETE /_admin/hosts/{host}`: the custom domain map (PUT's body: a CID or
    /// `/ipfs/{cid}/path`).
    Host(String),
    /// `POST /_admin/tokens`, `GET|DELETE /_admin/tokens/{id}`: upload tokens.
    Tokens(&'a str),
    /// `GET /_admin/objects?prefix=`: the store's object names under a prefix.
    Objects,
    /// `GET /_admin/broker`: the deal broker and the client address providers must allow.
    Broker,
    /// `GET /_admin/archivist`: the archivist's queue, aggregates and deals.
    Archivist,
    /// `POST /_admin/evict/{root}`: drops the store copies of an upload's shards the provider
    /// holds and has served back (the index and the record stay).
    Evict(&'a str),
    /// `POST /_admin/restore/{root}`: reads an upload's evicted shards back from the provider
    /// into the store.
    Restore(&'a str),
}

impl<'a> AdminRoute<'a> {
    /// The route of `path`, or `None` for a path no route has.
    fn of(path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix("/_admin/")?;
        match rest.split_once('/').unwrap_or((rest, "")) {
            ("tokens", id) => Some(Self::Tokens(id)),
            ("objects", "") => Some(Self::Objects),
            ("broker", "") => Some(Self::Broker),
            ("archivist", "") => Some(Self::Archivist),
            ("evict", root) if !root.is_empty() => Some(Self::Evict(root)),
            ("restore", root) if !root.is_empty() => Some(Self::Restore(root)),
            ("hosts", host) if !host.is_empty() && !host.contains('/') => {
                Some(Self::Host(host.to_ascii_lowercase()))
            }
            _ => None,
        }
    }
}

/// Checks the operator's token, then answers the route.
pub async fn handle(req: Request, env: &Env) -> Result<Response> {
    let Some(token) = var(env, "ADMIN_TOKEN").filter(|t| !t.is_empty()) else {
        return text(403, "admin routes are disabled (no ADMIN_TOKEN)");
    };
    let given = req.headers().get("Authorization")?.unwrap_or_default();
    if !same_secret(&given, &format!("Bearer {token}")) {
        return text(401, "unauthorized");
    }
    let path = req.path();
    match AdminRoute::of(&path) {
        Some(AdminRoute::Tokens(id)) => tokens::admin(req, env, id).await,
        Some(AdminRoute::Objects) => list_objects(&req, env).await,
        Some(AdminRoute::Broker) => match broker::from_env(env) {
            Ok(Some(b)) => reply::json(200, &broker::DealBroker::describe(&b)),
            Ok(None) => text(404, "no deal broker: set BROKER_URL and MK20_CLIENT_KEY"),
            Err(e) => text(500, &e),
        },
        Some(AdminRoute::Archivist) => ArchivistClient::new(env)?.state().await,
        Some(AdminRoute::Evict(root) | AdminRoute::Restore(root))
            if req.method() != Method::Post =>
        {
            text(405, &format!("use POST {path} ({root})"))
        }
        Some(AdminRoute::Evict(root)) => ArchivistClient::new(env)?.evict(root).await,
        Some(AdminRoute::Restore(root)) => ArchivistClient::new(env)?.restore(root).await,
        Some(AdminRoute::Host(host)) => host_map(req, env, &host).await,
        None => text(404, "admin: unknown route (use /_admin/hosts/{host} or /_admin/tokens)"),
    }
}

/// Compares in time independent of where the strings differ, so the token can't be guessed
/// byte by byte.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The custom domain map in KV: `host:{host}` → `/ipfs/{cid}/path`.
async fn host_map(mut req: Request, env: &Env, host: &str) -> Result<Response> {
    let kv = env.kv("HOSTS")?;
    let key = format!("host:{host}");
    match req.method() {
        Method::Put => {
            let body = req.text().await?;
            let Some(p) = content_path(&body) else {
                return text(400, &format!("not a CID or /ipfs/ path: {:?}", body.trim()));
            };
            kv.put(&key, p.to_url_path())?.execute().await?;
            text(200, &p.to_url_path())
        }
        Method::Get => match kv.get(&key).text().await? {
            Some(v) => text(200, &v),
            None => text(404, "no such host"),
        },
        Method::Delete => {
            kv.delete(&key).await?;
            text(200, "deleted")
        }
        _ => text(405, "use PUT, GET or DELETE"),
    }
}

/// `GET /_admin/objects?prefix=P`: the store's object names under a prefix (up to 1000).
async fn list_objects(req: &Request, env: &Env) -> Result<Response> {
    let url = req.url()?;
    let prefix = url
        .query_pairs()
        .find(|(k, _)| k == "prefix")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let listed = env.bucket("STORE")?.list().prefix(prefix).execute().await?;
    let keys: Vec<String> = listed.objects().iter().map(|o| o.key()).collect();
    reply::json(200, &serde_json::json!({ "keys": keys, "truncated": listed.truncated() }))
}
