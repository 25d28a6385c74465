//! Content paths (`/ipfs/{cid}/a/b`), CIDs as they appear in URLs and host names, and the
//! percent-encoding rules of gateway URLs.

use cid::multibase::Base;
use cid::{Cid, Version};

use crate::codec::multicodec::DAG_PB;

/// Why a path or host cannot be served.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PathError {
    /// A `/ipfs/` or `/ipns/` path that does not parse (its CID or name, its percent-encoding, its
    /// segments).
    #[error("invalid path {path:?}: {reason}")]
    Invalid {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A CID or name (given) too long for a DNS label even in base36, so it has no subdomain.
    #[error("CID incompatible with DNS label length limit of 63: {0}")]
    TooLongForDns(String),
}

/// A CID and the path under it, segments percent-decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentPath {
    /// The CID the path starts at.
    pub root: Cid,
    /// The segments under it, percent-decoded.
    pub segments: Vec<String>,
    /// The URL path ended with `/`.
    pub trailing_slash: bool,
}

impl ContentPath {
    /// `/ipfs/{root}/a/b[/]`, percent-encoded.
    pub fn to_url_path(&self) -> String {
        let mut s = format!("/ipfs/{}{}", self.root, encode_path(&self.segments));
        if self.trailing_slash {
            s.push('/');
        }
        s
    }
}

/// Parses a CID as written in a URL path (any multibase, or a CIDv0).
pub fn parse_cid(s: &str) -> Option<Cid> {
    Cid::try_from(s).ok()
}

/// Decodes `%XX` escapes; `None` when they do not make UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn escape(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') || keep(c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Escapes one path segment as Go's `url.PathEscape` does (keeps `$&+,:;=@`).
pub fn escape_segment(s: &str) -> String {
    escape(s, |c| matches!(c, b'$' | b'&' | b'+' | b',' | b':' | b';' | b'=' | b'@'))
}

/// Escapes a query value as Go's `url.QueryEscape` does (space becomes `+`).
pub fn escape_query(s: &str) -> String {
    escape(s, |c| c == b' ').replace(' ', "+")
}

/// `/a/b` from segments, each escaped; empty for none.
pub fn encode_path(segments: &[String]) -> String {
    segments.iter().map(|s| format!("/{}", escape_segment(s))).collect()
}

/// Splits a percent-encoded URL path into decoded segments: empty ones and `.` dropped, `..`
/// going up (never above the root). Returns the segments and whether the path ended with `/`.
pub fn split_path(raw: &str) -> Result<(Vec<String>, bool), String> {
    let mut segs: Vec<String> = Vec::new();
    for part in raw.split('/') {
        let seg =
            percent_decode(part).ok_or_else(|| format!("bad percent-encoding in {part:?}"))?;
        match seg.as_str() {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            _ => segs.push(seg),
        }
        if segs.len() > MAX_PATH_DEPTH {
            return Err(format!("the path is deeper than {MAX_PATH_DEPTH} segments"));
        }
    }
    Ok((segs, raw.ends_with('/')))
}

/// The most segments a content path may have. Every segment costs a resolution step, a
/// breadcrumb in a listing and a CID in `X-Ipfs-Roots`: unbounded, a deep folder chain made a
/// 20 KB URL answer with a 101 MB listing and a 620 KB header.
pub const MAX_PATH_DEPTH: usize = 128;

/// Parses `/ipfs/{cid}[/rest]` (percent-encoded, as in a URL).
pub fn parse_ipfs_path(raw: &str) -> Result<ContentPath, PathError> {
    let invalid =
        |reason: &str| PathError::Invalid { path: raw.to_string(), reason: reason.to_string() };
    let rest = raw.strip_prefix("/ipfs/").ok_or_else(|| invalid("not under /ipfs/"))?;
    let (first, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    let first = percent_decode(first).ok_or_else(|| invalid("bad percent-encoding"))?;
    let root = parse_cid(&first).ok_or_else(|| invalid("invalid cid"))?;
    let (segments, slash) = split_path(tail).map_err(|e| invalid(&e))?;
    let trailing_slash = if tail.is_empty() { rest.ends_with('/') } else { slash };
    Ok(ContentPath { root, segments, trailing_slash })
}

/// The CIDv1 of `cid` (a CIDv0 becomes dag-pb CIDv1).
pub fn to_v1(cid: &Cid) -> Cid {
    match cid.version() {
        Version::V0 => Cid::new_v1(DAG_PB, *cid.hash()),
        Version::V1 => *cid,
    }
}

/// The DNS label a subdomain gateway puts the CID in: CIDv1 in base32, or base36 when base32 is
/// longer than a DNS label may be.
pub fn dns_label(cid: &Cid) -> Result<String, PathError> {
    let v1 = to_v1(cid);
    let b32 = v1.to_string_of_base(Base::Base32Lower).expect("v1 encodes in base32");
    if b32.len() <= 63 {
        return Ok(b32);
    }
    let b36 = v1.to_string_of_base(Base::Base36Lower).expect("v1 encodes in base36");
    if b36.len() <= 63 {
        return Ok(b36);
    }
    Err(PathError::TooLongForDns(cid.to_string()))
}

/// The host name without a port, lowercased.
pub fn host_name(host: &str) -> String {
    let h = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(a, _)| a).trim_start_matches('[')
    } else {
        host.rsplit_once(':')
            .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(a, _)| a)
    };
    h.to_ascii_lowercase()
}

/// Whether `name` (lowercase, no port) is a DNS host name: dot-separated labels of 1–63 letters,
/// digits and inner hyphens, at most 253 bytes in all (one trailing dot allowed). A host name is
/// pasted into DoH queries, cache keys and redirect URLs: anything else is refused before use.
pub fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// A name whose content can change, as `/ipns/{name}` and `{name}.ipns.{host}` give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MutableName {
    /// An IPNS name, resolved through its signed record.
    Key(crate::ipns::Name),
    /// A DNS name (lowercase), resolved through its `_dnslink` TXT record.
    Domain(String),
}

impl MutableName {
    /// Reads the name in `/ipns/{name}`: an IPNS name in any form ([`crate::ipns::Name::parse`]:
    /// `k51…`, `bafz…`, a peer ID), else a DNS name with at least one dot (a DNSLink domain).
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(n) = crate::ipns::Name::parse(s) {
            return Some(MutableName::Key(n));
        }
        let d = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
        (d.contains('.') && is_dns_name(&d)).then_some(MutableName::Domain(d))
    }

    /// Reads a subdomain label (`{label}.ipns.{host}`): an IPNS name, or a DNSLink domain inlined
    /// as subdomain gateways inline it (`.` written `-`, `-` written `--`).
    pub fn from_label(label: &str) -> Option<Self> {
        if let Ok(n) = crate::ipns::Name::parse(label) {
            return Some(MutableName::Key(n));
        }
        let d = label.replace("--", "\0").replace('-', ".").replace('\0', "-");
        (d.contains('.') && is_dns_name(&d)).then_some(MutableName::Domain(d))
    }

    /// The DNS label a subdomain gateway puts the name in: base36 for a key, the inlined form for
    /// a domain.
    pub fn label(&self) -> Result<String, PathError> {
        let label = match self {
            MutableName::Key(n) => n.to_string(),
            MutableName::Domain(d) => d.replace('-', "--").replace('.', "-"),
        };
        if label.len() > 63 {
            return Err(PathError::TooLongForDns(self.to_string()));
        }
        Ok(label)
    }
}

impl std::fmt::Display for MutableName {
    /// The name as paths write it: base36 (`k51…`) for a key, the domain as it is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MutableName::Key(n) => write!(f, "{n}"),
            MutableName::Domain(d) => f.write_str(d),
        }
    }
}

/// A content path under a name: `/ipns/{name}/a/b`, segments percent-decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedPath {
    /// The name.
    pub name: MutableName,
    /// The path under what the name points at.
    pub segments: Vec<String>,
    /// The URL path ended with `/`.
    pub trailing_slash: bool,
}

impl NamedPath {
    /// `/ipns/{name}/a/b[/]`, percent-encoded.
    pub fn to_url_path(&self) -> String {
        let mut s = format!("/ipns/{}{}", self.name, encode_path(&self.segments));
        if self.trailing_slash {
            s.push('/');
        }
        s
    }
}

/// Parses `/ipns/{name}[/rest]` (percent-encoded, as in a URL).
pub fn parse_ipns_path(raw: &str) -> Result<NamedPath, PathError> {
    let invalid =
        |reason: &str| PathError::Invalid { path: raw.to_string(), reason: reason.to_string() };
    let rest = raw.strip_prefix("/ipns/").ok_or_else(|| invalid("not under /ipns/"))?;
    let (first, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    let first = percent_decode(first).ok_or_else(|| invalid("bad percent-encoding"))?;
    let name = MutableName::parse(&first)
        .ok_or_else(|| invalid("neither an IPNS name nor a DNSLink domain"))?;
    let (segments, slash) = split_path(tail).map_err(|e| invalid(&e))?;
    let trailing_slash = if tail.is_empty() { rest.ends_with('/') } else { slash };
    Ok(NamedPath { name, segments, trailing_slash })
}

/// What a DNSLink record or an IPNS record's value points at: content, or another name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pointer {
    /// `/ipfs/{cid}[/path]`.
    Ipfs(ContentPath),
    /// `/ipns/{name}[/path]`: resolved in turn, at most [`MAX_NAME_DEPTH`] names deep.
    Ipns(NamedPath),
}

/// The most names followed from one request (a record or DNSLink pointing at another name, and
/// so on); past it the request is refused (a loop, or a chain too long to be worth following).
pub const MAX_NAME_DEPTH: usize = 8;

impl Pointer {
    /// Parses `/ipfs/…` or `/ipns/…`.
    pub fn parse(v: &str) -> Result<Pointer, PathError> {
        let v = v.trim();
        if v.starts_with("/ipns/") {
            return parse_ipns_path(v).map(Pointer::Ipns);
        }
        parse_ipfs_path(v).map(Pointer::Ipfs)
    }

    /// The pointer with `segments` appended (the rest of a request's path under the name), the
    /// trailing slash the request's.
    pub fn under(self, segments: &[String], trailing_slash: bool) -> Pointer {
        let join = |mut s: Vec<String>| {
            s.extend_from_slice(segments);
            s
        };
        match self {
            Pointer::Ipfs(c) => Pointer::Ipfs(ContentPath {
                root: c.root,
                trailing_slash: if segments.is_empty() {
                    c.trailing_slash || trailing_slash
                } else {
                    trailing_slash
                },
                segments: join(c.segments),
            }),
            Pointer::Ipns(n) => Pointer::Ipns(NamedPath {
                name: n.name,
                trailing_slash: if segments.is_empty() {
                    n.trailing_slash || trailing_slash
                } else {
                    trailing_slash
                },
                segments: join(n.segments),
            }),
        }
    }
}

/// The DNSLink among several TXT values: the first valid `dnslink=/ipfs/…` or `dnslink=/ipns/…`.
pub fn pick_dnslink_pointer<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Pointer> {
    values.into_iter().find_map(|txt| {
        let v = txt.trim().trim_matches('"').strip_prefix("dnslink=")?;
        Pointer::parse(v).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_deeper_than_the_limit_are_refused() {
        let ok = "/a".repeat(MAX_PATH_DEPTH);
        assert_eq!(split_path(&ok).unwrap().0.len(), MAX_PATH_DEPTH);
        let deep = "/a".repeat(MAX_PATH_DEPTH + 1);
        assert!(split_path(&deep).unwrap_err().contains("deeper than 128"));
        // `..` cannot be used to smuggle depth: the limit holds at every step.
        assert!(split_path(&format!("{deep}{}", "/..".repeat(10))).is_err());
    }

    #[test]
    fn dns_names() {
        for ok in [
            "example.com",
            "a.b-c.d",
            "xn--bcher-kva.example",
            "localhost",
            "example.com.",
            &format!("{}.com", "a".repeat(63)),
        ] {
            assert!(is_dns_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "a..b",
            "-a.com",
            "a-.com",
            "attacker.test&x=/../../victim.test",
            "a b.com",
            "A.com",
            "a.com/x",
            &format!("{}.com", "a".repeat(64)),
            &"a.".repeat(128),
            "a_b.com",
            "%2e.com",
        ] {
            assert!(!is_dns_name(bad), "{bad}");
        }
    }

    #[test]
    fn parses_paths() {
        let p = parse_ipfs_path("/ipfs/bafkqabtimvwgy3yk/%C4%85/%C4%99/").unwrap();
        assert_eq!(p.segments, ["ą", "ę"]);
        assert!(p.trailing_slash);
        assert_eq!(p.to_url_path(), "/ipfs/bafkqabtimvwgy3yk/%C4%85/%C4%99/");
        let p = parse_ipfs_path("/ipfs/bafkqabtimvwgy3yk/").unwrap();
        assert!(p.trailing_slash && p.segments.is_empty());
        assert!(!parse_ipfs_path("/ipfs/bafkqabtimvwgy3yk").unwrap().trailing_slash);
        let e = parse_ipfs_path("/ipfs/QmInvalidCID").unwrap_err();
        assert!(e.to_string().starts_with("invalid path \"/ipfs/QmInvalidCID\""), "{e}");
        let p = parse_ipfs_path(
            "/ipfs/bafkqabtimvwgy3yk/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt",
        )
        .unwrap();
        assert_eq!(p.segments, ["Portugal%2C+España=Peninsula Ibérica.txt"]);
        assert_eq!(
            encode_path(&p.segments),
            "/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt"
        );
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(escape_segment("file-źł.txt"), "file-%C5%BA%C5%82.txt");
        assert_eq!(escape_query(&escape_segment("file-źł.txt")), "file-%25C5%25BA%25C5%2582.txt");
    }

    #[test]
    fn dns_labels() {
        let v0: Cid = "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco".parse().unwrap();
        assert_eq!(
            dns_label(&v0).unwrap(),
            "bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq"
        );
        assert_eq!(host_name("Example.com:8080"), "example.com");
        assert_eq!(host_name("[::1]:80"), "::1");
    }

    #[test]
    fn names_in_paths_labels_and_dnslink() {
        let key = crate::ipns::Keypair::from_seed([3; 32]).name();
        let k = key.to_string();
        let p = parse_ipns_path(&format!("/ipns/{}/a/b%20c/", key.to_base32())).unwrap();
        assert_eq!(p.name, MutableName::Key(key.clone()));
        assert_eq!(p.segments, ["a", "b c"]);
        assert!(p.trailing_slash);
        assert_eq!(p.to_url_path(), format!("/ipns/{k}/a/b%20c/"));
        let d = parse_ipns_path("/ipns/En.Example.ORG").unwrap();
        assert_eq!(d.name, MutableName::Domain("en.example.org".into()));
        assert!(!d.trailing_slash);
        assert!(parse_ipns_path("/ipns/nodot/").is_err());
        assert!(parse_ipns_path("/ipns/bafkqaaa/").is_err());
        // Labels: a key in base36, a domain inlined, and back.
        assert_eq!(MutableName::Key(key.clone()).label().unwrap(), k);
        let wiki = MutableName::Domain("en.wikipedia-on-ipfs.org".into());
        assert_eq!(wiki.label().unwrap(), "en-wikipedia--on--ipfs-org");
        assert_eq!(MutableName::from_label("en-wikipedia--on--ipfs-org"), Some(wiki));
        assert_eq!(MutableName::from_label(&k), Some(MutableName::Key(key.clone())));
        assert_eq!(MutableName::from_label("nodash"), None);
        // Pointers: /ipfs/ and /ipns/, with the request's rest appended.
        let cid = "bafkqabtimvwgy3yk";
        let ptr = pick_dnslink_pointer(["v=spf1", &format!("dnslink=/ipns/{k}/sub")]).unwrap();
        let Pointer::Ipns(n) = ptr.clone().under(&["x".into()], true) else { panic!() };
        assert_eq!(n.segments, ["sub", "x"]);
        assert!(n.trailing_slash);
        let Pointer::Ipfs(c) = Pointer::parse(&format!("/ipfs/{cid}")).unwrap().under(&[], true)
        else {
            panic!()
        };
        assert!(c.trailing_slash && c.segments.is_empty());
        assert!(pick_dnslink_pointer(["dnslink=/ipns/"]).is_none());
    }
}
