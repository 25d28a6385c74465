//! carport-broker end to end: the binary on a free port, an aggregate served by a local HTTP
//! server, deals made with carport-mk20 as carport makes them.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use carport_core::piece::{piece_of, Aggregate};
use carport_core::Cid;
use carport_mk20::types::RetrievalV1;
use carport_mk20::{
    aggregate_deal, client_address, deal_request, parse_deal_response, parse_status_response,
    status_request, AggregateDeal, ClientKey, Deal, HttpRequest, Network, Source, Stage,
    MIN_DURATION,
};
use serde_json::Value;

const DEAL_SIZE: u64 = 16 * 1024;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A deterministic byte stream (xorshift64*).
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// An aggregate of a few random sub-pieces: its CID, the sub-pieces' CIDs and its payload bytes.
struct Built {
    cid: Cid,
    subs: Vec<Cid>,
    bytes: Vec<u8>,
}

fn build_aggregate(seed: u64) -> Built {
    let payloads: Vec<Vec<u8>> = [1000usize, 3000, 127]
        .iter()
        .enumerate()
        .map(|(i, &n)| random_bytes(seed + i as u64, n))
        .collect();
    let subs: Vec<Cid> = payloads.iter().map(|p| piece_of(p).unwrap().cid).collect();
    let aggregate = Aggregate::new(DEAL_SIZE, &subs).unwrap();
    let mut bytes = vec![0u8; (DEAL_SIZE * 127 / 128) as usize];
    for (placement, payload) in aggregate.placements().iter().zip(&payloads) {
        let at = placement.payload_offset() as usize;
        bytes[at..at + payload.len()].copy_from_slice(payload);
    }
    let index = aggregate.index_payload();
    let at = aggregate.index_payload_offset() as usize;
    bytes[at..at + index.len()].copy_from_slice(&index);
    assert_eq!(
        piece_of(&bytes).unwrap().cid,
        aggregate.cid(),
        "the test's aggregate bytes are wrong"
    );
    Built { cid: aggregate.cid(), subs, bytes }
}

/// A local HTTP server serving bytes by path, counting requests; the first request to a path
/// can be held back to keep a pull running.
#[derive(Clone)]
struct Origin {
    base: String,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    hits: Arc<Mutex<HashMap<String, u32>>>,
    first_delay: Arc<Mutex<Duration>>,
}

impl Origin {
    fn start() -> Origin {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let source = Origin {
            base,
            files: Arc::default(),
            hits: Arc::default(),
            first_delay: Arc::new(Mutex::new(Duration::ZERO)),
        };
        let s = source.clone();
        thread::spawn(move || {
            for request in server.incoming_requests() {
                let s = s.clone();
                thread::spawn(move || {
                    let path = request.url().to_string();
                    let hits = {
                        let mut hits = s.hits.lock().unwrap();
                        let n = hits.entry(path.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    if hits == 1 {
                        thread::sleep(*s.first_delay.lock().unwrap());
                    }
                    let body = s.files.lock().unwrap().get(&path).cloned();
                    let _ = match body {
                        Some(body) => request.respond(tiny_http::Response::from_data(body)),
                        None => request.respond(tiny_http::Response::empty(404)),
                    };
                });
            }
        });
        source
    }

    fn serve(&self, path: &str, bytes: Vec<u8>) -> String {
        self.files.lock().unwrap().insert(path.to_string(), bytes);
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> u32 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// The broker binary, killed when dropped.
struct Broker {
    child: Child,
    base: String,
}

impl Broker {
    fn start(data: &Path, extra: &[&str]) -> Broker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_carport-broker"))
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(if extra.contains(&"--stage-ms") { &[][..] } else { &["--stage-ms", "100"][..] })
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        if line.is_empty() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the broker did not start: {err}");
        }
        let base = line
            .trim()
            .strip_prefix("carport-broker listening on ")
            .expect("the start line")
            .to_string();
        Broker { child, base }
    }

    fn deals(&self) -> Vec<Value> {
        let (status, body) = get(&format!("{}/_broker/deals", self.base));
        assert_eq!(status, 200);
        serde_json::from_slice::<Value>(&body).unwrap().as_array().unwrap().clone()
    }

    fn faults(&self, json: &str) {
        let response =
            ureq::post(&format!("{}/_broker/faults", self.base)).send_string(json).unwrap();
        assert_eq!(response.status(), 200);
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> (u16, Vec<u8>) {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport: {e}"),
    };
    let status = response.status();
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).unwrap();
    (status, body)
}

fn get(url: &str) -> (u16, Vec<u8>) {
    answer(ureq::get(url).call())
}

fn send(request: &HttpRequest) -> (u16, Vec<u8>) {
    let mut r = ureq::request(request.method, &request.url);
    for (name, value) in &request.headers {
        r = r.set(name, value);
    }
    answer(if request.method == "GET" { r.call() } else { r.send_bytes(&request.body) })
}

fn key(n: u8) -> ClientKey {
    ClientKey::from_bytes(&[n; 32]).unwrap()
}

fn deal_for(key: &ClientKey, built: &Built, urls: &[String]) -> Deal {
    static RANDOM: AtomicU64 = AtomicU64::new(1);
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&RANDOM.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    let sources: Vec<Source> =
        urls.iter().map(|u| Source { url: u.clone(), headers: vec![] }).collect();
    aggregate_deal(&AggregateDeal {
        time_ms: now_ms(),
        random,
        client: &client_address(key, Network::Mainnet),
        aggregate: &built.cid,
        sub_pieces: &built.subs,
        sources: &sources,
        provider: "f01000",
        duration: MIN_DURATION,
        start_epoch: None,
        retrieval: RetrievalV1 { indexing: true, announce_payload: true, announce_piece: false },
    })
    .unwrap()
}

fn post(broker: &Broker, deal: &Deal, key: &ClientKey) -> (u16, Vec<u8>) {
    send(&deal_request(&broker.base, deal, key, now_ms() / 1000).unwrap())
}

fn stage(broker: &Broker, deal: &Deal, key: &ClientKey) -> Stage {
    let (status, body) =
        send(&status_request(&broker.base, &deal.identifier, key, now_ms() / 1000).unwrap());
    parse_status_response(status, &body).unwrap().stage()
}

fn wait_for(broker: &Broker, deal: &Deal, key: &ClientKey, done: impl Fn(&Stage) -> bool) -> Stage {
    let start = Instant::now();
    loop {
        let stage = stage(broker, deal, key);
        if done(&stage) {
            return stage;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "stuck at {stage:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn summary(broker: &Broker, deal: &Deal) -> Value {
    let id = deal.identifier.to_string();
    broker.deals().into_iter().find(|d| d["id"] == id.as_str()).expect("the deal is listed")
}

#[test]
fn a_deal_is_pulled_checked_and_completed() {
    let data = tempfile::tempdir().unwrap();
    let broker = Broker::start(data.path(), &[]);
    let source = Origin::start();
    let built = build_aggregate(1);
    let url = source.serve("/agg/1", built.bytes.clone());
    let key = key(1);
    let deal = deal_for(&key, &built, &[url]);

    let (status, body) = post(&broker, &deal, &key);
    assert_eq!((status, body.as_slice()), (200, b"Reason: ".as_slice()));
    assert_eq!(parse_deal_response(status, &body), Ok(()));

    let mut seen = vec![stage(&broker, &deal, &key)];
    while !seen.last().unwrap().is_final() {
        let next = wait_for(&broker, &deal, &key, |s| s != seen.last().unwrap());
        seen.push(next);
    }
    assert_eq!(seen, [Stage::Accepted, Stage::Processing, Stage::Sealing, Stage::Complete]);

    let listed = summary(&broker, &deal);
    assert_eq!(listed["stage"], "complete");
    assert_eq!(listed["deal_id"], 1);
    assert_eq!(listed["provider"], "f01000");
    assert_eq!(listed["piece_cid"], built.cid.to_string());
    let stored = std::fs::read(data.path().join("aggregates").join(built.cid.to_string())).unwrap();
    assert_eq!(stored, built.bytes);

    // The same identifier again: Curio's insert fails and it answers 500 with no reason.
    let (status, body) = post(&broker, &deal, &key);
    assert_eq!((status, body.as_slice()), (500, b"Reason: ".as_slice()));
}

#[test]
fn bad_auth_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let broker = Broker::start(data.path(), &[]);
    let built = build_aggregate(2);
    let (mine, theirs) = (key(2), key(3));
    let deal = deal_for(&mine, &built, &["http://127.0.0.1:9/x".to_string()]);

    let mut request = deal_request(&broker.base, &deal, &mine, now_ms() / 1000).unwrap();
    let signed = request.headers[0].1.clone();

    request.headers.remove(0);
    assert_eq!(send(&request), (401, b"Missing Authorization header\n".to_vec()));

    let (head, sig) = signed.rsplit_once(':').unwrap();
    let mut tampered = sig.as_bytes().to_vec();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    request.headers.insert(
        0,
        ("Authorization".into(), format!("{head}:{}", String::from_utf8(tampered).unwrap())),
    );
    assert_eq!(send(&request).0, 401);

    // Signed for another route.
    let status_req =
        status_request(&broker.base, &deal.identifier, &mine, now_ms() / 1000).unwrap();
    request.headers[0] = status_req.headers[0].clone();
    assert_eq!(send(&request).0, 401);

    // Signed an hour ago.
    let stale = deal_request(&broker.base, &deal, &mine, now_ms() / 1000 - 3600).unwrap();
    assert_eq!(send(&stale).0, 401);

    // Signed by a key that is not the deal's client.
    let (status, body) = post(&broker, &deal, &theirs);
    assert_eq!(status, 400);
    assert_eq!(body, b"Reason: client in deal does not match client in auth header");
    assert!(!parse_deal_response(status, &body).unwrap_err().is_retryable());

    // Status: malformed id, unknown id, another client's deal.
    assert_eq!(post(&broker, &deal, &mine).0, 200);
    let unknown = deal_for(&mine, &built, &["http://127.0.0.1:9/x".to_string()]);
    let (status, _) =
        send(&status_request(&broker.base, &unknown.identifier, &mine, now_ms() / 1000).unwrap());
    assert_eq!(status, 404);
    let (status, _) =
        send(&status_request(&broker.base, &deal.identifier, &theirs, now_ms() / 1000).unwrap());
    assert_eq!(status, 401);
    let (status, _) = get(&format!("{}/market/mk20/status/{}", broker.base, deal.identifier));
    assert_eq!(status, 401);

    // An allow-list that does not name the client.
    let data = tempfile::tempdir().unwrap();
    let other = client_address(&theirs, Network::Mainnet);
    let allowing = Broker::start(data.path(), &["--allow", &other]);
    let (status, body) = post(&allowing, &deal, &mine);
    assert_eq!((status, body), (401, b"Unauthorized\n".to_vec()));
    assert!(allowing.deals().is_empty());
}

#[test]
fn lying_sources_fail_the_deal() {
    let data = tempfile::tempdir().unwrap();
    let broker = Broker::start(data.path(), &[]);
    let source = Origin::start();
    let key = key(4);

    let built = build_aggregate(4);
    let mut lie = built.bytes.clone();
    lie[500] ^= 0xff;
    let deal = deal_for(&key, &built, &[source.serve("/agg/lie", lie)]);
    assert_eq!(post(&broker, &deal, &key).0, 200);
    let Stage::Failed { reason } = wait_for(&broker, &deal, &key, Stage::is_final) else {
        panic!("completed")
    };
    assert!(reason.contains("piece commitment mismatch"), "{reason}");

    let short = deal_for(&key, &built, &[source.serve("/agg/short", built.bytes[..1000].to_vec())]);
    assert_eq!(post(&broker, &short, &key).0, 200);
    let Stage::Failed { reason } = wait_for(&broker, &short, &key, Stage::is_final) else {
        panic!("completed")
    };
    assert!(reason.contains("1000 bytes"), "{reason}");

    let gone = deal_for(&key, &built, &[format!("{}/agg/missing", source.base)]);
    assert_eq!(post(&broker, &gone, &key).0, 200);
    let Stage::Failed { reason } = wait_for(&broker, &gone, &key, Stage::is_final) else {
        panic!("completed")
    };
    assert!(reason.contains("HTTP 404"), "{reason}");

    // Sub-pieces in another order do not make this aggregate's index.
    let mut shuffled = deal_for(&key, &built, &[source.serve("/agg/ok", built.bytes.clone())]);
    let sub = &mut shuffled.data.as_mut().unwrap().format.aggregate.as_mut().unwrap().sub;
    sub.swap(0, 1);
    assert_eq!(post(&broker, &shuffled, &key).0, 200);
    let Stage::Failed { reason } = wait_for(&broker, &shuffled, &key, Stage::is_final) else {
        panic!("completed")
    };
    assert!(reason.contains("data segment index"), "{reason}");
}

#[test]
fn injected_faults() {
    let data = tempfile::tempdir().unwrap();
    let broker = Broker::start(data.path(), &[]);
    let source = Origin::start();
    let key = key(5);
    let built = build_aggregate(5);
    let url = source.serve("/agg/5", built.bytes.clone());

    broker.faults(r#"{"fail_next": 2}"#);
    let deal = deal_for(&key, &built, std::slice::from_ref(&url));
    for _ in 0..2 {
        let (status, body) = post(&broker, &deal, &key);
        assert_eq!(status, 503);
        assert!(parse_deal_response(status, &body).unwrap_err().is_retryable());
    }
    assert!(broker.deals().is_empty(), "a failed post records nothing");
    assert_eq!(post(&broker, &deal, &key).0, 200);

    broker.faults(r#"{"reject_next": 1}"#);
    let rejected = deal_for(&key, &built, std::slice::from_ref(&url));
    assert_eq!(post(&broker, &rejected, &key).0, 200);
    let after = deal_for(&key, &built, &[url]);
    assert_eq!(post(&broker, &after, &key).0, 200);

    assert_eq!(
        wait_for(&broker, &rejected, &key, Stage::is_final),
        Stage::Failed { reason: "rejected by provider (injected)".into() }
    );
    assert_eq!(wait_for(&broker, &deal, &key, Stage::is_final), Stage::Complete);
    assert_eq!(wait_for(&broker, &after, &key, Stage::is_final), Stage::Complete);
    let (status, _) =
        answer(ureq::post(&format!("{}/_broker/faults", broker.base)).send_string(r#"{"fail":1}"#));
    assert_eq!(status, 400);
}

#[test]
fn a_restart_resumes_every_deal() {
    let data = tempfile::tempdir().unwrap();
    let source = Origin::start();
    let key = key(6);
    let built = build_aggregate(6);
    let pulled = source.serve("/agg/slow", built.bytes.clone());
    *source.first_delay.lock().unwrap() = Duration::from_millis(1500);
    let other = build_aggregate(7);
    let sealed = source.serve("/agg/fast", other.bytes.clone());

    let broker = Broker::start(data.path(), &["--stage-ms", "300"]);
    // One deal whose pull is cut off by the restart, one that is further along.
    let fast = deal_for(&key, &other, &[sealed]);
    assert_eq!(post(&broker, &fast, &key).0, 200);
    wait_for(&broker, &fast, &key, |s| *s == Stage::Sealing);
    let slow = deal_for(&key, &built, &[pulled]);
    assert_eq!(post(&broker, &slow, &key).0, 200);
    wait_for(&broker, &slow, &key, |s| *s == Stage::Processing);
    // Processing is set before the pull's request goes out: cut it off only once it has.
    let start = Instant::now();
    while source.hits("/agg/slow") == 0 {
        assert!(start.elapsed() < Duration::from_secs(30), "the pull never started");
        thread::sleep(Duration::from_millis(20));
    }
    drop(broker);

    let broker = Broker::start(data.path(), &["--stage-ms", "300"]);
    assert_eq!(wait_for(&broker, &fast, &key, Stage::is_final), Stage::Complete);
    assert_eq!(wait_for(&broker, &slow, &key, Stage::is_final), Stage::Complete);
    assert_eq!(source.hits("/agg/slow"), 2, "the cut-off pull ran again");
    assert_eq!(summary(&broker, &fast)["deal_id"], 1);
    assert_eq!(summary(&broker, &slow)["deal_id"], 2);
}
