//! `carport name create | publish | resolve | inspect`: IPNS names and records, over the HTTP
//! routing API (`/routing/v1/ipns/{name}`, IPIP-337) of a delegated router such as carport's edge
//! worker, someguy or kubo. Every rule about records is core's (`carport_core::ipns`); this reads
//! key files and the clock, draws the seed from the OS, and speaks HTTP.
//!
//! Key files are a libp2p `PrivateKey` protobuf (`08 01 12 40`, the 32-byte Ed25519 seed, the
//! 32-byte public key; 68 bytes), the format kubo's `ipfs key export` writes and
//! `ipfs key import NAME FILE` reads, and @libp2p/crypto's `privateKeyFromProtobuf` reads.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use carport_core::error::Coded;
use carport_core::ipns::{
    self, create_record, data::path_of_cid, IpnsError, Keypair, Name, RecordData, Timestamp,
};
use carport_core::Cid;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum NameCommand {
    /// Make a new Ed25519 key from 32 random bytes of the OS, write it to a key file (mode 0600,
    /// never over an existing file) and print its IPNS name (k51…).
    Create {
        /// Where to write the key (a libp2p PrivateKey protobuf, as `ipfs key export` writes).
        #[arg(long, default_value = "ipns.key")]
        key: PathBuf,
    },
    /// Sign a record pointing the key's name at a CID or path, and PUT it to a routing endpoint
    /// (or write it to a file with --out). Prints the name.
    Publish(PublishArgs),
    /// GET a name's record from a routing endpoint, validate it, and print its path (/ipfs/…);
    /// the sequence, validity and TTL go to stderr. Fails, naming the reason, if the record does
    /// not validate.
    Resolve {
        /// The IPNS name: k51…, bafz…, a peer ID (12D3KooW…), with or without /ipns/.
        name: String,
        /// The routing endpoint's origin, e.g. http://127.0.0.1:8787 (…/routing/v1/ipns/NAME is
        /// asked).
        #[arg(long)]
        from: String,
    },
    /// Validate a record file and print its fields. Fails, naming the reason, if it does not
    /// validate.
    Inspect {
        /// The record (application/vnd.ipfs.ipns-record bytes).
        file: PathBuf,
        /// The name the record is for; needed unless the record carries its public key (an
        /// Ed25519 name inlines the key, so its records do not).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Args)]
pub struct PublishArgs {
    /// The key file (from `carport name create` or `ipfs key export`).
    #[arg(long)]
    key: PathBuf,
    /// What the name points at: a CID (written as /ipfs/<CIDv1>) or a path (/ipfs/…, /ipns/…).
    value: String,
    /// The routing endpoint's origin: the record is PUT to {URL}/routing/v1/ipns/{name}.
    #[arg(long, required_unless_present = "out", conflicts_with = "out")]
    to: Option<String>,
    /// Write the record's bytes to this file instead of sending them.
    #[arg(long)]
    out: Option<PathBuf>,
    /// How long resolvers may cache the record (ms, s, m, h, d).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    ttl: Duration,
    /// How long the record stays valid from now (the DHT keeps records 48h at most).
    #[arg(long, default_value = "48h", value_parser = parse_duration)]
    validity: Duration,
    /// The record's sequence. Without it: one more than the current record's (asked of --to
    /// first), or 0 when there is none (and with --out).
    #[arg(long)]
    sequence: Option<u64>,
    /// Leave out the legacy V1 fields and signature (written by default, as kubo and the `ipns`
    /// package do).
    #[arg(long)]
    v2_only: bool,
}

pub fn run(command: NameCommand) -> Result<()> {
    match command {
        NameCommand::Create { key } => create(&key),
        NameCommand::Publish(args) => publish(&args),
        NameCommand::Resolve { name, from } => resolve(&name, &from),
        NameCommand::Inspect { file, name } => inspect(&file, name.as_deref()),
    }
}

fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_unix(since.as_secs() as i64, since.subsec_nanos())
}

/// A core refusal with its code, so scripts and people see the reason: `IpnsExpired: …`.
fn coded(e: IpnsError) -> anyhow::Error {
    anyhow!("{}: {e}", e.code())
}

fn create(path: &Path) -> Result<()> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
    let key = Keypair::from_seed(seed);
    seed.fill(0);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| {
        format!("cannot create the key file {} (it is never overwritten)", path.display())
    })?;
    file.write_all(&key.to_protobuf())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("key written to {} (libp2p PrivateKey protobuf, Ed25519)", path.display());
    println!("{}", key.name());
    Ok(())
}

fn read_key(path: &Path) -> Result<Keypair> {
    let bytes =
        fs::read(path).with_context(|| format!("cannot read the key file {}", path.display()))?;
    Keypair::from_protobuf(&bytes)
        .map_err(coded)
        .with_context(|| format!("{} is not an Ed25519 key file", path.display()))
}

/// A record's `Value` for what the user typed: paths as they are, CIDs as `/ipfs/<CIDv1>`.
fn value_of(text: &str) -> Result<String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('/') {
        if rest.is_empty() {
            bail!("the value {text:?} is not a path");
        }
        return Ok(t.to_string());
    }
    let cid: Cid =
        t.parse().map_err(|_| anyhow!("{text:?} is neither a CID nor a path (/ipfs/…)"))?;
    Ok(path_of_cid(&cid))
}

fn routing_url(origin: &str, name: &Name) -> String {
    format!("{}/routing/v1/ipns/{name}", origin.trim_end_matches('/'))
}

/// The record a routing endpoint has for a name: `None` for "no record found" (404, or an answer
/// of another content type, as the routing spec says to read them).
fn get_record(url: &str) -> Result<Option<Vec<u8>>> {
    let resp = match ureq::get(url).set("Accept", ipns::CONTENT_TYPE).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(404, _)) => return Ok(None),
        Err(ureq::Error::Status(code, r)) => {
            bail!("{url}: HTTP {code}: {}", r.into_string().unwrap_or_default().trim())
        }
        Err(e) => bail!("{url}: {e}"),
    };
    let media = resp.content_type().to_ascii_lowercase();
    if media != ipns::CONTENT_TYPE {
        return Ok(None);
    }
    let mut body = Vec::new();
    resp.into_reader()
        .take(ipns::MAX_RECORD_SIZE as u64 + 1)
        .read_to_end(&mut body)
        .with_context(|| format!("{url}: reading the record"))?;
    Ok(Some(body))
}

fn publish(args: &PublishArgs) -> Result<()> {
    let key = read_key(&args.key)?;
    let name = key.name();
    let value = value_of(&args.value)?;
    let url = args.to.as_deref().map(|to| routing_url(to, &name));
    let sequence = match (args.sequence, &url) {
        (Some(s), _) => s,
        (None, Some(url)) => match get_record(url)? {
            None => 0,
            Some(bytes) => {
                // An expired record still holds the sequence to go past.
                let current = ipns::verify(&name, &bytes).map_err(coded).with_context(|| {
                    format!("the current record at {url} does not validate; give --sequence")
                })?;
                current
                    .sequence
                    .checked_add(1)
                    .ok_or_else(|| anyhow!("the sequence is at its end"))?
            }
        },
        (None, None) => 0,
    };
    let now = now();
    let data = RecordData::new(value, sequence, now.saturating_add(args.validity), args.ttl);
    let record = create_record(&key, &data, !args.v2_only).map_err(coded)?;
    // What a resolver will check, before anything leaves.
    ipns::validate(&name, &record, now).map_err(coded)?;
    if let Some(out) = &args.out {
        fs::write(out, &record).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("record written to {} ({} bytes)", out.display(), record.len());
    }
    if let Some(url) = &url {
        match ureq::put(url).set("Content-Type", ipns::CONTENT_TYPE).send_bytes(&record) {
            Ok(_) => {}
            Err(ureq::Error::Status(code, r)) => {
                bail!("{url}: HTTP {code}: {}", r.into_string().unwrap_or_default().trim())
            }
            Err(e) => bail!("{url}: {e}"),
        }
        eprintln!("published to {url}");
    }
    describe(&data, now);
    println!("{name}");
    Ok(())
}

fn describe(data: &RecordData, now: Timestamp) {
    eprintln!("value     {}", String::from_utf8_lossy(&data.value));
    eprintln!("sequence  {}", data.sequence);
    eprintln!("validity  {} (in {})", data.validity, human(data.valid_for(now)));
    eprintln!("ttl       {}", human(data.ttl()));
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 if d.is_zero() => "0s".into(),
        0 => format!("{}ms", d.as_millis()),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        3600.. => format!("{}h{}m", s / 3600, s / 60 % 60),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

fn resolve(name: &str, from: &str) -> Result<()> {
    let name: Name = name.parse().map_err(coded)?;
    let url = routing_url(from, &name);
    let Some(bytes) = get_record(&url)? else {
        bail!("{url}: no record found for {name}");
    };
    let now = now();
    let data = ipns::validate(&name, &bytes, now)
        .map_err(coded)
        .with_context(|| format!("the record from {url} does not validate"))?;
    describe(&data, now);
    let path = data.path().ok_or_else(|| {
        anyhow!("the record's value {:?} is not a path", String::from_utf8_lossy(&data.value))
    })?;
    println!("{path}");
    Ok(())
}

fn inspect(file: &Path, name: Option<&str>) -> Result<()> {
    let bytes = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = match name {
        Some(n) => n.parse().map_err(coded)?,
        None => {
            let entry = ipns::Entry::decode(&bytes).map_err(coded)?;
            let Some(key) = entry.pub_key else {
                bail!(
                    "{} carries no public key: give the name it is for with --name",
                    file.display()
                );
            };
            ipns::PublicKey::from_protobuf(&key).map_err(coded)?.name()
        }
    };
    let now = now();
    let data = ipns::validate(&name, &bytes, now)
        .map_err(coded)
        .with_context(|| format!("{} is not a valid record of {name}", file.display()))?;
    let v1 = ipns::Entry::decode(&bytes).map_err(coded)?.signature_v1.is_some();
    println!("name      {name}");
    println!("value     {}", String::from_utf8_lossy(&data.value));
    println!("sequence  {}", data.sequence);
    println!("validity  {} (in {})", data.validity, human(data.valid_for(now)));
    println!("ttl       {}", human(data.ttl()));
    println!("size      {} bytes ({})", bytes.len(), if v1 { "V1+V2" } else { "V2 only" });
    Ok(())
}

/// `500ms`, `90s`, `5m`, `1h`, `2d`, or a number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 =
        digits.parse().map_err(|_| format!("{text:?}: expected a number and ms, s, m, h or d"))?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => return Err(format!("unknown unit {other:?}: expected ms, s, m, h or d")),
    };
    n.checked_mul(unit_ms).map(Duration::from_millis).ok_or_else(|| format!("{text} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_values() {
        assert_eq!(parse_duration("48h"), Ok(Duration::from_secs(48 * 3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("1w").is_err() && parse_duration("h").is_err());
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(48 * 3600 - 60)), "47h59m");
        let cid = "bafkreigkxd3jitzih26g3wrai46mep6l2yuc5bdwju2ps353z6ao5xfkha";
        assert_eq!(value_of(cid).unwrap(), format!("/ipfs/{cid}"));
        assert_eq!(value_of("/ipns/example.com").unwrap(), "/ipns/example.com");
        assert!(value_of("/").is_err() && value_of("hello").is_err());
    }
}
