//! The HTTP side: Curio's two mk20 routes carport uses, answered as Curio answers them, and the
//! broker's own `/_broker/` routes for tests.
//!
//! Curio answers `POST /market/mk20/deal` with a status code and `Reason: <text>`, errors from
//! before the deal is read (auth, content type, JSON) with Go's `http.Error` text, and
//! `GET /market/mk20/status/{id}` with JSON or a bare status. Where the broker's order differs
//! from Curio's (Curio's auth middleware checks that the signer owns the id before the handler
//! looks at the id, so it answers 401 for a malformed or unknown id), the broker answers as the
//! handler and the docs say: 400 for a malformed id, 404 for an unknown one, 401 for a deal of
//! another client.

use std::io::Read;
use std::sync::Arc;

use carport_mk20::types::{Deal, DealProductStatusResponse};
use carport_mk20::{verify_authorization, Ulid, MARKET_PATH};
use tiny_http::{Header, Method, Request, Response};

use crate::broker::{AcceptError, Broker, FaultsPatch};
use crate::clock::now_ms;
use crate::retrieval::{self, PIECE_PREFIX};
use crate::validate::validate;

/// Curio's limit on request bodies.
const MAX_BODY: usize = 1 << 20;

/// What was asked, as the routes need it.
pub struct Asked {
    pub method: String,
    /// The path as sent, without the query: what CurioAuth signs.
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// At most [`MAX_BODY`] + 1 bytes.
    pub body: Vec<u8>,
}

/// An answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    /// Go's `http.Error`: the text and a newline.
    fn error(status: u16, text: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{text}\n").into_bytes(),
        }
    }

    /// The deal handler's `Reason: <text>`.
    fn reason(status: u16, text: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("Reason: {text}").into_bytes(),
        }
    }

    fn json(value: &impl serde::Serialize) -> Reply {
        match serde_json::to_vec(value) {
            Ok(body) => Reply { status: 200, content_type: "application/json", body },
            Err(_) => Reply::empty(500),
        }
    }

    fn empty(status: u16) -> Reply {
        Reply { status, content_type: "text/plain; charset=utf-8", body: Vec::new() }
    }
}

/// Answers requests from `server` until it fails.
pub fn serve(server: &tiny_http::Server, broker: &Arc<Broker>) {
    loop {
        match server.recv() {
            Ok(request) => respond(broker, request),
            Err(e) => {
                eprintln!("carport-broker: accepting a request: {e}");
                return;
            }
        }
    }
}

fn respond(broker: &Arc<Broker>, mut request: Request) {
    let header = |name: &'static str| {
        request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_string())
    };
    let url = request.url().to_string();
    let path = &url[..url.find('?').unwrap_or(url.len())];
    let method = request.method().clone();
    if let (Method::Get | Method::Head, Some(cid)) = (&method, path.strip_prefix(PIECE_PREFIX)) {
        let (held, faults) = broker.held();
        let range = header("Range");
        let path = path.to_string();
        let response =
            retrieval::answer(cid, method == Method::Head, range.as_deref(), &held, faults);
        if let Err(e) = request.respond(response) {
            eprintln!("carport-broker: answering {method} {path}: {e}");
        }
        return;
    }
    let mut asked = Asked {
        method: request.method().as_str().to_string(),
        path: path.to_string(),
        authorization: header("Authorization"),
        content_type: header("Content-Type"),
        body: Vec::new(),
    };
    if *request.method() != Method::Get {
        let read = request.as_reader().take(MAX_BODY as u64 + 1).read_to_end(&mut asked.body);
        if read.is_err() {
            let _ = request.respond(Response::empty(400));
            return;
        }
    }
    let reply = handle(broker, &asked);
    let content_type =
        Header::from_bytes("Content-Type", reply.content_type).expect("a valid header");
    let response =
        Response::from_data(reply.body).with_status_code(reply.status).with_header(content_type);
    if let Err(e) = request.respond(response) {
        eprintln!("carport-broker: answering {} {}: {e}", asked.method, asked.path);
    }
}

/// Routes a request.
pub fn handle(broker: &Broker, asked: &Asked) -> Reply {
    let deal_path = format!("{MARKET_PATH}/deal");
    let status_prefix = format!("{MARKET_PATH}/status/");
    match (asked.method.as_str(), asked.path.as_str()) {
        ("POST", p) if p == deal_path => post_deal(broker, asked),
        ("GET", p) if p.starts_with(&status_prefix) => {
            get_status(broker, asked, &p[status_prefix.len()..])
        }
        ("POST", "/_broker/faults") => post_faults(broker, asked),
        ("GET", "/_broker/deals") => Reply::json(&broker.list()),
        (_, p) if p == deal_path || p.starts_with(&status_prefix) || p.starts_with("/_broker/") => {
            Reply::empty(405)
        }
        _ => Reply::error(404, "404 page not found"),
    }
}

/// The signer's address, if CurioAuth and the allow-list let the request through.
fn authenticate(broker: &Broker, asked: &Asked) -> Result<String, Reply> {
    let Some(header) = &asked.authorization else {
        return Err(Reply::error(401, "Missing Authorization header"));
    };
    let now_secs = now_ms() / 1000;
    let client =
        verify_authorization(header, &asked.method, &asked.path, now_secs, broker.config.network)
            .map_err(|_| Reply::error(401, "Unauthorized"))?;
    match &broker.config.allow {
        Some(allowed) if !allowed.contains(&client) => Err(Reply::error(401, "Unauthorized")),
        _ => Ok(client),
    }
}

fn post_deal(broker: &Broker, asked: &Asked) -> Reply {
    if broker.take_injected_failure() {
        return Reply::reason(503, "service unavailable (injected)");
    }
    let client = match authenticate(broker, asked) {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    if asked.content_type.as_deref() != Some("application/json") {
        return Reply::error(400, "invalid content type");
    }
    if asked.body.len() > MAX_BODY {
        return Reply::error(400, "request body too large");
    }
    let deal: Deal = match serde_json::from_slice(&asked.body) {
        Ok(deal) => deal,
        Err(e) => return Reply::error(400, &e.to_string()),
    };
    if let Err(refusal) = validate(&deal, &client, &broker.config.provider) {
        return Reply::reason(refusal.code.status(), &refusal.reason);
    }
    match broker.accept(deal, now_ms()) {
        Ok(()) => Reply::reason(200, ""),
        // Curio's insert fails on the primary key and it answers 500 with no reason.
        Err(AcceptError::Duplicate) => Reply::reason(500, ""),
        Err(AcceptError::Storage(e)) => {
            eprintln!("carport-broker: {e}");
            Reply::reason(500, "")
        }
    }
}

fn get_status(broker: &Broker, asked: &Asked, id: &str) -> Reply {
    let client = match authenticate(broker, asked) {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    let Ok(id) = id.parse::<Ulid>() else {
        return Reply::error(400, "invalid id in url");
    };
    match broker.status(&id) {
        None => Reply::empty(404),
        Some((owner, _)) if owner != client => Reply::error(401, "Unauthorized"),
        Some((_, status)) => {
            Reply::json(&DealProductStatusResponse { ddo_v1: Some(status), pdp_v1: None })
        }
    }
}

fn post_faults(broker: &Broker, asked: &Asked) -> Reply {
    match serde_json::from_slice::<FaultsPatch>(&asked.body) {
        Ok(patch) => Reply::json(&broker.set_faults(patch)),
        Err(e) => Reply::error(400, &e.to_string()),
    }
}
