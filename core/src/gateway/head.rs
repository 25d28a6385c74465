//! The status and headers of every gateway response, decided from the request's conditions and
//! what was resolved. An adapter turns a [`Head`] into its own response type and adds the body;
//! it decides no status code or header itself, so the rules (304, 301 to the folder, 206/416,
//! the ETag and cache headers, the content type of each codec) are tested here, natively.

use cid::Cid;

use crate::gateway::http::{
    car_content_type, content_disposition, if_none_match, parse_range, roots_header, Codec,
    RangeReq, Target, IMMUTABLE, LISTING, MUTABLE, RAW_TYPE,
};
use crate::gateway::listing::Origin;
use crate::gateway::mime;
use crate::gateway::path::encode_path;
use crate::unixfs::read::ByteRange;

/// The request headers that change the answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// A `HEAD` request: the head without the body.
    pub head: bool,
    /// The `Range` header's value.
    pub range: Option<String>,
    /// The `If-None-Match` header's value.
    pub if_none_match: Option<String>,
    /// `Cache-Control: only-if-cached`: answer 412 unless the root block is held here.
    pub only_if_cached: bool,
}

/// A response's status and headers, in the order they were decided (a later value of a header
/// replaces an earlier one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The HTTP status code.
    pub status: u16,
    /// Header names and values, in the order set.
    pub headers: Vec<(&'static str, String)>,
}

impl Head {
    /// A head of this status and no headers.
    pub fn new(status: u16) -> Self {
        Head { status, headers: Vec::new() }
    }

    /// Sets a header, replacing any value it had (names compare case-insensitively, as in HTTP).
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name, value)),
        }
        self
    }

    /// A header's value, if it is set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// `Cache-Control` of content reached through `t`: a name that can change is not cached forever.
fn cache_control(t: &Target) -> &'static str {
    if t.mutable {
        MUTABLE
    } else {
        IMMUTABLE
    }
}

/// What a response is of: the target as asked for, the CIDs of the path's entities and the ETag
/// of this answer (see [`crate::gateway::http::etag`] and
/// [`crate::gateway::http::listing_etag`]).
pub struct Entity<'a> {
    /// The content as asked for.
    pub target: &'a Target,
    /// The CIDs of the root and of each segment's entity (`X-Ipfs-Roots`).
    pub roots: &'a [Cid],
    /// This answer's ETag.
    pub etag: String,
}

impl Entity<'_> {
    /// The headers every answer about content carries.
    fn head(&self, status: u16) -> Head {
        let mut h = Head::new(status);
        h.set("X-Ipfs-Path", self.target.ipfs_path.as_str())
            .set("X-Ipfs-Roots", roots_header(self.roots))
            .set("Cache-Control", cache_control(self.target))
            .set("ETag", self.etag.as_str());
        h
    }

    /// 304 when `If-None-Match` names this answer's ETag: the client has it already.
    pub fn not_modified(&self, cond: &Conditions) -> Option<Head> {
        let matched = cond.if_none_match.as_deref().is_some_and(|h| if_none_match(h, &self.etag));
        matched.then(|| self.head(304))
    }
}

/// The part of a body that is sent, and with which status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    /// The status to answer with: 206 for a range, else the one asked for.
    pub status: u16,
    /// The bytes sent; `None` for an empty body.
    pub range: Option<ByteRange>,
    /// The size of the whole body.
    pub size: u64,
}

impl Slice {
    /// How many bytes are sent.
    pub fn len(&self) -> u64 {
        self.range.map_or(0, |r| r.len())
    }

    /// Whether the body sent is empty.
    pub fn is_empty(&self) -> bool {
        self.range.is_none()
    }
}

/// What of a body of `size` bytes answered with `status` is sent: one `Range` (206) of a 200
/// answer, else the whole body. `Err` is the 416 head of a range past the end.
pub fn slice(cond: &Conditions, size: u64, status: u16) -> Result<Slice, Head> {
    let asked =
        if status == 200 { parse_range(cond.range.as_deref(), size) } else { RangeReq::All };
    match asked {
        RangeReq::Unsatisfiable => {
            let mut h = Head::new(416);
            h.set("Content-Range", format!("bytes */{size}"));
            Err(h)
        }
        RangeReq::One(r) => Ok(Slice { status: 206, range: Some(r), size }),
        RangeReq::All => Ok(Slice {
            status,
            range: (size > 0).then(|| ByteRange { first: 0, last: size - 1 }),
            size,
        }),
    }
}

/// The headers of a body that can be asked for in ranges.
fn ranged(h: &mut Head, s: &Slice) {
    h.set("Accept-Ranges", "bytes");
    if let Some(r) = s.range.filter(|_| s.status == 206) {
        h.set("Content-Range", format!("bytes {}-{}/{}", r.first, r.last, s.size));
    }
    h.set("Content-Length", s.len().to_string());
}

/// A file's bytes: typed by its name (`?filename=` or the last path segment), else by its first
/// bytes; an attachment only when `?download=true` asks.
pub fn file(e: &Entity, s: &Slice, first: &[u8]) -> Head {
    let t = e.target;
    let name = t.filename.as_deref().or(t.content.segments.last().map(String::as_str));
    let mut h = e.head(s.status);
    h.set("Content-Type", mime::content_type(name, first));
    if let Some(f) = &t.filename {
        let kind = if t.download { "attachment" } else { "inline" };
        h.set("Content-Disposition", content_disposition(kind, f));
    }
    ranged(&mut h, s);
    h
}

/// A raw block (`?format=raw`): an attachment never sniffed, as it is no web page.
pub fn raw(e: &Entity, s: &Slice, cid: &Cid) -> Head {
    let name = e.target.filename.clone().unwrap_or_else(|| format!("{cid}.bin"));
    let mut h = e.head(s.status);
    h.set("Content-Type", RAW_TYPE)
        .set("Content-Disposition", content_disposition("attachment", &name))
        .set("X-Content-Type-Options", "nosniff");
    ranged(&mut h, s);
    h
}

/// A block of `len` bytes served in `codec` (the one asked for, or its CID's own): JSON inline,
/// CBOR as an attachment (a browser cannot show it); a block of no known codec as bytes.
pub fn block(e: &Entity, cid: &Cid, len: usize, codec: Option<Codec>) -> Head {
    let mut h = e.head(200);
    h.set("Content-Type", codec.map_or("application/octet-stream", Codec::media_type))
        .set("X-Content-Type-Options", "nosniff")
        .set("Content-Length", len.to_string());
    if let Some(codec) = codec {
        let t = e.target;
        let json = matches!(codec, Codec::Json | Codec::DagJson);
        let name = t
            .filename
            .clone()
            .unwrap_or_else(|| format!("{cid}.{}", if json { "json" } else { "cbor" }));
        let kind = if t.download || !json { "attachment" } else { "inline" };
        h.set("Content-Disposition", content_disposition(kind, &name));
    }
    h
}

/// How much of a CAR body is known when its head goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CarLength {
    /// A `HEAD` request: no body is made.
    Unmade,
    /// The whole CAR was made first: it goes out with its length.
    Whole(u64),
    /// The CAR streams; a stream that fails cannot say so on the wire, so it is not stored.
    Streamed,
}

/// A CAR of `cid`'s DAG: an attachment, never in ranges.
pub fn car(e: &Entity, cid: &Cid, dups: bool, length: CarLength) -> Head {
    let name = e.target.filename.clone().unwrap_or_else(|| format!("{cid}.car"));
    let mut h = e.head(200);
    h.set("Content-Type", car_content_type(dups))
        .set("Content-Disposition", content_disposition("attachment", &name))
        .set("X-Content-Type-Options", "nosniff")
        .set("Accept-Ranges", "none");
    match length {
        CarLength::Unmade => {}
        CarLength::Whole(len) => {
            h.set("Content-Length", len.to_string());
        }
        CarLength::Streamed => {
            h.set("Cache-Control", "no-store");
        }
    }
    h
}

/// A UnixFS symlink: its target, as text.
pub fn symlink(e: &Entity) -> Head {
    let mut h = e.head(200);
    h.set("Content-Type", "text/plain; charset=utf-8");
    h
}

/// A generated folder listing: HTML that may change with the gateway, so cached for less long.
pub fn listing(e: &Entity) -> Head {
    let mut h = e.head(200);
    h.set("Cache-Control", LISTING).set("Content-Type", "text/html; charset=utf-8");
    h
}

/// 301 to the folder's URL with a trailing slash (the query kept), so that its relative links
/// resolve inside it; `None` when the URL has one already.
pub fn folder_redirect(t: &Target) -> Option<Head> {
    if t.content.trailing_slash {
        return None;
    }
    let mut loc = match t.origin {
        Origin::Path => t.content.to_url_path(),
        _ => encode_path(&t.content.segments),
    };
    loc.push('/');
    if !t.query.is_empty() {
        loc = format!("{loc}?{}", t.query);
    }
    Some(redirect(301, &loc, t))
}

/// A redirect of content reached through `t` (a `_redirects` rule): cached as the content is.
pub fn redirect(status: u16, location: &str, t: &Target) -> Head {
    let mut h = Head::new(status);
    h.set("Location", location).set("Cache-Control", cache_control(t));
    h
}

/// A CORS preflight: no content; the adapter adds the CORS headers it adds to every answer.
pub fn preflight() -> Head {
    Head::new(204)
}

/// A redirect decided by routing. The same request always redirects the same way (it names an
/// immutable CID), but where to depends on the host and, behind a trusted proxy, its forwarding
/// headers.
pub fn route_redirect(status: u16, location: &str) -> Head {
    let mut h = Head::new(status);
    h.set("Location", location)
        .set("Cache-Control", IMMUTABLE)
        .set("Vary", "Host, X-Forwarded-Host, X-Forwarded-Proto");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::http::{etag, listing_etag, route, Config, Format, Request, Route};

    const FILE: &str = "bafkqabtimvwgy3yk";

    fn target(host: &str, path: &str, query: &str) -> Target {
        let req =
            Request { method: "GET", host, scheme: "http", path, query, ..Default::default() };
        match route(&req, &Config { subdomain_hosts: vec!["example.com".into()] }) {
            Route::Serve(t) => *t,
            other => panic!("{other:?}"),
        }
    }

    fn cid() -> Cid {
        FILE.parse().unwrap()
    }

    fn entity<'a>(t: &'a Target, roots: &'a [Cid]) -> Entity<'a> {
        Entity { target: t, roots, etag: etag(&roots[0], &Format::Default) }
    }

    fn ranged(range: &str) -> Conditions {
        Conditions { range: Some(range.into()), ..Default::default() }
    }

    #[test]
    fn every_content_answer_says_its_path_roots_etag_and_cache() {
        let t = target("127.0.0.1", &format!("/ipfs/{FILE}/a.txt"), "");
        let roots = [cid(), cid()];
        let s = slice(&Conditions::default(), 6, 200).unwrap();
        let h = file(&entity(&t, &roots), &s, b"hello\n");
        assert_eq!(h.status, 200);
        assert_eq!(h.get("X-Ipfs-Path"), Some(format!("/ipfs/{FILE}/a.txt").as_str()));
        assert_eq!(h.get("X-Ipfs-Roots"), Some(format!("{FILE},{FILE}").as_str()));
        assert_eq!(h.get("Etag"), Some(format!("\"{FILE}\"").as_str()));
        assert_eq!(h.get("Cache-Control"), Some(IMMUTABLE));
        assert_eq!(h.get("Content-Type"), Some("text/plain; charset=utf-8"));
        assert_eq!(h.get("Content-Length"), Some("6"));
        assert_eq!(h.get("Accept-Ranges"), Some("bytes"));
        assert_eq!(h.get("Content-Disposition"), None);
        let mut t = t;
        t.mutable = true;
        assert_eq!(file(&entity(&t, &roots), &s, b"").get("Cache-Control"), Some(MUTABLE));
    }

    #[test]
    fn a_matching_if_none_match_is_a_304_with_the_common_headers() {
        let t = target("127.0.0.1", &format!("/ipfs/{FILE}"), "");
        let roots = [cid()];
        let e = entity(&t, &roots);
        let cond = |v: &str| Conditions { if_none_match: Some(v.into()), ..Default::default() };
        let h = e.not_modified(&cond(&format!("W/\"{FILE}\""))).unwrap();
        assert_eq!(h.status, 304);
        assert_eq!(h.get("ETag"), Some(e.etag.as_str()));
        assert_eq!(h.get("X-Ipfs-Roots"), Some(FILE));
        assert!(e.not_modified(&cond("*")).is_some());
        assert!(e.not_modified(&cond("\"other\"")).is_none());
        assert!(e.not_modified(&Conditions::default()).is_none());
        let listed = Entity { etag: listing_etag(&cid()), ..entity(&t, &roots) };
        assert!(listed.not_modified(&cond(&format!("\"{FILE}\""))).is_none());
    }

    #[test]
    fn a_folder_without_its_slash_is_a_301_keeping_the_query() {
        let t = target("127.0.0.1", &format!("/ipfs/{FILE}/sub"), "a=b");
        let h = folder_redirect(&t).unwrap();
        assert_eq!(h.status, 301);
        assert_eq!(h.get("Location"), Some(format!("/ipfs/{FILE}/sub/?a=b").as_str()));
        assert_eq!(h.get("Cache-Control"), Some(IMMUTABLE));
        let on_subdomain = target(&format!("{FILE}.ipfs.example.com"), "/sub", "");
        assert_eq!(folder_redirect(&on_subdomain).unwrap().get("Location"), Some("/sub/"));
        assert!(folder_redirect(&target("127.0.0.1", &format!("/ipfs/{FILE}/sub/"), "")).is_none());
    }

    #[test]
    fn a_range_is_a_206_and_one_past_the_end_a_416() {
        let t = target("127.0.0.1", &format!("/ipfs/{FILE}"), "");
        let roots = [cid()];
        let s = slice(&ranged("bytes=2-3"), 6, 200).unwrap();
        assert_eq!(s, Slice { status: 206, range: Some(ByteRange { first: 2, last: 3 }), size: 6 });
        let h = file(&entity(&t, &roots), &s, b"ll");
        assert_eq!(h.status, 206);
        assert_eq!(h.get("Content-Range"), Some("bytes 2-3/6"));
        assert_eq!(h.get("Content-Length"), Some("2"));
        let h = raw(&entity(&t, &roots), &s, &cid());
        assert_eq!((h.status, h.get("Content-Range")), (206, Some("bytes 2-3/6")));
        let h = slice(&ranged("bytes=6-"), 6, 200).unwrap_err();
        assert_eq!(h, Head { status: 416, headers: vec![("Content-Range", "bytes */6".into())] });
        // A `_redirects` page keeps its status and is sent whole.
        let s = slice(&ranged("bytes=2-3"), 6, 404).unwrap();
        assert_eq!(s, Slice { status: 404, range: Some(ByteRange { first: 0, last: 5 }), size: 6 });
        let empty = slice(&Conditions::default(), 0, 200).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn raw_blocks_and_cars_are_unsniffed_attachments() {
        let t = target("127.0.0.1", &format!("/ipfs/{FILE}"), "format=raw");
        let roots = [cid()];
        let e = entity(&t, &roots);
        let h = raw(&e, &slice(&Conditions::default(), 6, 200).unwrap(), &cid());
        assert_eq!(h.get("Content-Type"), Some(RAW_TYPE));
        assert_eq!(h.get("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(
            h.get("Content-Disposition"),
            Some(format!("attachment; filename=\"{FILE}.bin\"").as_str())
        );
        let h = car(&e, &cid(), false, CarLength::Whole(99));
        assert_eq!(
            h.get("Content-Type"),
            Some("application/vnd.ipld.car; version=1; order=dfs; dups=n")
        );
        assert_eq!(h.get("Accept-Ranges"), Some("none"));
        assert_eq!(h.get("Content-Length"), Some("99"));
        assert_eq!(h.get("Cache-Control"), Some(IMMUTABLE));
        let h = car(&e, &cid(), true, CarLength::Streamed);
        assert_eq!((h.get("Content-Length"), h.get("Cache-Control")), (None, Some("no-store")));
        assert_eq!(car(&e, &cid(), true, CarLength::Unmade).get("Content-Length"), None);
    }

    #[test]
    fn each_codec_has_its_content_type_and_disposition() {
        let t = target("127.0.0.1", &format!("/ipfs/{FILE}"), "");
        let roots = [cid()];
        let e = entity(&t, &roots);
        let cases = [
            (Codec::DagJson, "application/vnd.ipld.dag-json", "inline", "json"),
            (Codec::DagCbor, "application/vnd.ipld.dag-cbor", "attachment", "cbor"),
            (Codec::Json, "application/json", "inline", "json"),
            (Codec::Cbor, "application/cbor", "attachment", "cbor"),
        ];
        for (codec, ty, kind, ext) in cases {
            let h = block(&e, &cid(), 3, Some(codec));
            assert_eq!(h.get("Content-Type"), Some(ty));
            let want = format!("{kind}; filename=\"{FILE}.{ext}\"");
            assert_eq!(h.get("Content-Disposition"), Some(want.as_str()));
            assert_eq!(h.get("Content-Length"), Some("3"));
        }
        let h = block(&e, &cid(), 3, None);
        assert_eq!(h.get("Content-Type"), Some("application/octet-stream"));
        assert_eq!(h.get("Content-Disposition"), None);
        let t = target("127.0.0.1", &format!("/ipfs/{FILE}"), "download=true&filename=x.json");
        let h = block(&entity(&t, &roots), &cid(), 3, Some(Codec::Json));
        assert_eq!(h.get("Content-Disposition"), Some("attachment; filename=\"x.json\""));
    }

    #[test]
    fn files_listings_symlinks_and_redirects() {
        let t = target("127.0.0.1", &format!("/ipfs/{FILE}/page"), "filename=a.html");
        let roots = [cid()];
        let s = slice(&Conditions::default(), 4, 200).unwrap();
        let h = file(&entity(&t, &roots), &s, b"%PDF");
        assert_eq!(h.get("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(h.get("Content-Disposition"), Some("inline; filename=\"a.html\""));
        let e = Entity { etag: listing_etag(&cid()), ..entity(&t, &roots) };
        let h = listing(&e);
        assert_eq!(h.get("Cache-Control"), Some(LISTING));
        assert_eq!(h.get("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(h.get("ETag"), Some(e.etag.as_str()));
        assert_eq!(symlink(&e).get("Content-Type"), Some("text/plain; charset=utf-8"));
        let h = redirect(302, "/elsewhere", &t);
        assert_eq!((h.status, h.get("Location")), (302, Some("/elsewhere")));
        let h = route_redirect(301, "http://x/");
        assert_eq!(h.get("Vary"), Some("Host, X-Forwarded-Host, X-Forwarded-Proto"));
        assert_eq!(h.get("Cache-Control"), Some(IMMUTABLE));
        assert_eq!(preflight(), Head { status: 204, headers: Vec::new() });
    }
}
