//! The worker's settings: `[vars]` in wrangler.toml, secrets, and their defaults.

use std::time::Duration;

use carport_core::archive::ledger::Policy;
use worker::Env;

/// A var or secret, if set and not empty.
pub fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .or_else(|| env.secret(name).ok().map(|v| v.to_string()))
        .filter(|v| !v.is_empty())
}

fn num(env: &Env, name: &str, default: u64) -> u64 {
    var(env, name).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

pub fn list(s: Option<String>) -> Vec<String> {
    s.unwrap_or_default()
        .split(',')
        .map(|x| x.trim().trim_end_matches('/').to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// The gateway's settings.
pub struct Settings {
    pub upstreams: Vec<String>,
    pub timeout: Duration,
    pub subdomain_hosts: Vec<String>,
    pub doh_url: String,
    pub dnslink_ttl: u64,
    pub cache_blocks: bool,
    /// Bytes of verified folder and file nodes each isolate keeps in memory (0: none).
    pub memory_blocks: usize,
    /// Bytes of a CAR response made whole before its headers go out (longer ones stream).
    pub car_buffer: usize,
    /// Blocks one request may read.
    pub block_budget: u64,
    /// Addresses (`CF-Connecting-IP`) of the proxies whose `X-Forwarded-Host`/`-Proto` are taken.
    pub trusted_proxies: Vec<String>,
    pub bench_proxy: bool,
}

impl Settings {
    pub fn from_env(env: &Env) -> Self {
        Settings {
            upstreams: list(var(env, "UPSTREAMS")),
            timeout: Duration::from_millis(num(env, "UPSTREAM_TIMEOUT_MS", 10_000)),
            subdomain_hosts: list(var(env, "SUBDOMAIN_HOSTS")),
            doh_url: var(env, "DOH_URL")
                .unwrap_or_else(|| "https://cloudflare-dns.com/dns-query".into()),
            dnslink_ttl: num(env, "DNSLINK_TTL", 300),
            cache_blocks: var(env, "CACHE_BLOCKS").as_deref() != Some("off"),
            memory_blocks: num(env, "MEMORY_BLOCKS_BYTES", 16 << 20) as usize,
            car_buffer: num(env, "CAR_BUFFER_BYTES", crate::sources::DEFAULT_CAR_BUFFER as u64)
                as usize,
            block_budget: num(env, "REQUEST_BLOCK_BUDGET", crate::sources::DEFAULT_BLOCK_BUDGET),
            trusted_proxies: list(var(env, "TRUSTED_PROXIES")),
            bench_proxy: var(env, "BENCH_PROXY").as_deref() == Some("on"),
        }
    }
}

/// The upload door's settings.
pub struct DoorSettings {
    /// Largest shard accepted (Workers take request bodies up to 100 MB on most plans).
    pub max_shard_size: u64,
    /// Defaults for tokens that do not set their own limits.
    pub quota_bytes: u64,
    pub rate_per_minute: u32,
}

impl DoorSettings {
    pub fn from_env(env: &Env) -> Self {
        DoorSettings {
            max_shard_size: num(env, "MAX_SHARD_SIZE", 100_000_000),
            quota_bytes: num(env, "QUOTA_BYTES", 100_000_000_000),
            rate_per_minute: num(env, "RATE_PER_MINUTE", 120) as u32,
        }
    }
}

/// The archivist's settings: where aggregates are served from, and the deal policy.
pub struct ArchiveSettings {
    /// Where the provider pulls aggregates from: this worker's public origin.
    pub public_url: String,
    pub policy: Policy,
}

impl ArchiveSettings {
    pub fn from_env(env: &Env) -> Self {
        ArchiveSettings {
            public_url: var(env, "PUBLIC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8787".into())
                .trim_end_matches('/')
                .to_string(),
            policy: Policy {
                min_bytes: num(env, "AGGREGATE_MIN_BYTES", 16 << 30),
                max_age_ms: num(env, "AGGREGATE_MAX_AGE_MS", 6 * 3600 * 1000),
                min_deal_size: num(env, "MIN_DEAL_SIZE", 1 << 20),
                max_deal_size: num(env, "MAX_DEAL_SIZE", 32 << 30),
                poll_ms: num(env, "DEAL_POLL_MS", 60_000),
                retry_base_ms: num(env, "RETRY_BASE_MS", 5_000),
                retry_max_ms: num(env, "RETRY_MAX_MS", 3_600_000),
            },
        }
    }
}

/// Reading archived shards back from the storage provider: where, how often it is checked, and
/// when the hot copy may go.
pub struct RetrievalSettings {
    /// Base URL of the provider's piece retrieval (`RETRIEVAL_URL`; else the deal broker's
    /// origin, where Curio serves `/piece/` beside its market API).
    pub url: Option<String>,
    /// Time between retrieval checks of a shard (`RETRIEVAL_CHECK_MS`).
    pub check_ms: u64,
    /// Blocks each check reads besides the root (`RETRIEVAL_SAMPLES`).
    pub samples: usize,
    /// Shards checked per archivist round (`RETRIEVAL_CHECKS_PER_ROUND`).
    pub per_round: usize,
    /// Passed checks after which a shard's store copy is evicted (`EVICT_AFTER_CHECKS`; 0 keeps
    /// every hot copy, the default).
    pub evict_after: u32,
    /// How long one read from the provider may take (`RETRIEVAL_TIMEOUT_MS`).
    pub timeout: Duration,
}

impl RetrievalSettings {
    pub fn from_env(env: &Env) -> Self {
        let broker_origin = var(env, "BROKER_URL").and_then(|u| {
            let u = worker::Url::parse(&u).ok()?;
            Some(u.origin().ascii_serialization())
        });
        RetrievalSettings {
            url: var(env, "RETRIEVAL_URL")
                .map(|u| u.trim_end_matches('/').to_string())
                .or(broker_origin),
            check_ms: num(env, "RETRIEVAL_CHECK_MS", 6 * 3600 * 1000).max(1000),
            samples: num(env, "RETRIEVAL_SAMPLES", 4) as usize,
            per_round: num(env, "RETRIEVAL_CHECKS_PER_ROUND", 16).max(1) as usize,
            evict_after: num(env, "EVICT_AFTER_CHECKS", 0) as u32,
            timeout: Duration::from_millis(num(env, "RETRIEVAL_TIMEOUT_MS", 10_000)),
        }
    }
}

/// IPNS: the upstream delegated routers and the publishing limits.
pub struct NameSettings {
    /// Delegated routers (`{base}/routing/v1/ipns/{name}`) asked for records besides the
    /// worker's own; every record they send is validated.
    pub routers: Vec<String>,
    pub router_timeout_ms: u64,
    /// Publishes that change a name's record, per name and minute.
    pub per_name_per_minute: u32,
    /// Publishing attempts (valid or not) per client address and minute.
    pub per_client_per_minute: u32,
}

impl NameSettings {
    pub fn from_env(env: &Env) -> Self {
        NameSettings {
            routers: list(var(env, "IPNS_ROUTERS")),
            router_timeout_ms: num(env, "IPNS_ROUTER_TIMEOUT_MS", 5_000),
            per_name_per_minute: num(env, "IPNS_PUBLISH_PER_NAME", 10) as u32,
            per_client_per_minute: num(env, "IPNS_PUBLISH_PER_CLIENT", 60) as u32,
        }
    }
}
