//! The HTML listing of a folder without `index.html`, and the entries it shows (plain folders and
//! HAMT shards alike).

use cid::Cid;

use crate::codec::block::Block;
use crate::gateway::path::{encode_path, escape_query, escape_segment};
use crate::gateway::resolve::{decode_unixfs, ResolveError};
use crate::unixfs::hamt::{Layout, LinkName};
use crate::unixfs::NodeType;

/// Bumped when the listing's HTML changes: listing ETags carry it.
pub const VERSION: &str = "carport1";

/// One entry of a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// The entry's name (in a HAMT, without its slot prefix; empty when that is malformed).
    pub name: String,
    /// The entry's CID.
    pub cid: Cid,
    /// The link's cumulative DAG size, as its producer counted it.
    pub tsize: Option<u64>,
}

/// The entries of a folder from its block, or (a HAMT) from all its shard blocks, sorted by name.
pub fn entries(blocks: &[Block]) -> Result<Vec<ListEntry>, ResolveError> {
    let mut out = Vec::new();
    for b in blocks {
        let (pb, data) = decode_unixfs(&b.cid, &b.data)?;
        let layout = match data.kind {
            NodeType::HamtShard => Some(Layout::of(&data).ok_or(ResolveError::BadShard(b.cid))?),
            _ => None,
        };
        for l in &pb.links {
            let name = l.name.as_deref().unwrap_or_default();
            let name = match layout.map(|layout| layout.link(name)) {
                None => name,
                Some(LinkName::Shard) => continue,
                Some(LinkName::Entry(entry)) => entry,
                Some(LinkName::Malformed) => "",
            };
            out.push(ListEntry { name: name.to_string(), cid: l.hash, tsize: l.tsize });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Where the listing is shown, which decides its links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `/ipfs/{root}/...` on a path gateway.
    Path,
    /// `{cid}.ipfs.{gateway}`: content at the origin root, breadcrumbs back to the gateway.
    Subdomain {
        /// The gateway's host.
        gateway: String,
    },
    /// A custom domain or DNSLink name: content at the origin root.
    Domain,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The most entries a listing shows. A HAMT folder can hold millions; past this the listing says
/// so instead of growing without bound (the adapter stops reading shards once it has more).
pub const MAX_LISTING_ENTRIES: usize = 10_000;

/// Renders the listing of the folder `dir` at `segments` under `root`.
pub fn render(
    root: &Cid,
    segments: &[String],
    dir: &Cid,
    origin: &Origin,
    entries: &[ListEntry],
) -> String {
    let base = match origin {
        Origin::Path => format!("/ipfs/{root}"),
        Origin::Subdomain { .. } | Origin::Domain => String::new(),
    };
    let crumb_base = match origin {
        Origin::Path => format!("/ipfs/{root}"),
        Origin::Subdomain { gateway } => format!("//{gateway}/ipfs/{root}"),
        Origin::Domain => String::new(),
    };
    let hash_base = match origin {
        Origin::Subdomain { gateway } => format!("//{gateway}/ipfs/"),
        _ => "/ipfs/".to_string(),
    };
    let here = format!("{base}{}", encode_path(segments));
    let mut crumbs = format!(
        "/ipfs/<a href=\"{}\">{root}</a>",
        esc(&if crumb_base.is_empty() { "/".into() } else { crumb_base.clone() })
    );
    for i in 0..segments.len() {
        crumbs.push_str(&format!(
            "/<a href=\"{}{}\">{}</a>",
            esc(&crumb_base),
            esc(&encode_path(&segments[..=i])),
            esc(&segments[i])
        ));
    }
    let title =
        format!("/ipfs/{root}{}", segments.iter().map(|s| format!("/{s}")).collect::<String>());
    let mut rows = String::new();
    if !segments.is_empty() {
        rows.push_str(&format!("<tr><td class=\"type-icon\">&#8617;</td><td><a href=\"{}/..\">..</a></td><td></td><td></td></tr>\n", esc(&here)));
    }
    for e in entries.iter().take(MAX_LISTING_ENTRIES) {
        let href = format!("{here}/{}", escape_segment(&e.name));
        let hash =
            format!("{hash_base}{}?filename={}", e.cid, escape_query(&escape_segment(&e.name)));
        let size = e.tsize.map(human).unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td class=\"type-icon\"></td><td><a href=\"{}\">{}</a></td><td><a class=\"ipfs-hash\" translate=\"no\" href=\"{}\">{}</a></td><td class=\"size\">{}</td></tr>\n",
            esc(&href),
            esc(&e.name),
            esc(&hash),
            e.cid,
            size
        ));
    }
    if entries.len() > MAX_LISTING_ENTRIES {
        rows.push_str(&format!("<tr><td></td><td colspan=\"3\">This folder has more than {MAX_LISTING_ENTRIES} entries; {MAX_LISTING_ENTRIES} of them are listed. Ask for <code>?format=car</code> to have them all.</td></tr>\n"));
    }
    let (title, dir) = (esc(&title), dir.to_string());
    fill(TEMPLATE, &[("title", &title), ("crumbs", &crumbs), ("dir", &dir), ("rows", &rows)])
}

/// The page around a listing; `@name@` marks where [`fill`] puts each part.
const TEMPLATE: &str = include_str!("listing.html");

/// The template with each `@name@` replaced by its part, in one pass over the template only, so
/// that nothing in a part (a file name) is ever read as a marker.
fn fill(template: &str, parts: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + parts.iter().map(|p| p.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match parts
            .iter()
            .find(|(name, _)| after.starts_with(name) && after[name.len()..].starts_with('@'))
        {
            Some((name, part)) => {
                out.push_str(part);
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('@');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::resolve::resolve_in;
    use crate::gateway::testutil::car;

    #[test]
    fn a_part_is_never_read_as_a_marker() {
        let page = fill("<@a@|@b@|@c@ x@y>", &[("a", "@b@"), ("b", "2")]);
        assert_eq!(page, "<@b@|2|@c@ x@y>");
    }

    #[test]
    fn a_listing_stops_at_its_limit_and_says_so() {
        let cid: Cid = "bafkqabtimvwgy3yk".parse().unwrap();
        let many: Vec<ListEntry> = (0..MAX_LISTING_ENTRIES + 5)
            .map(|i| ListEntry { name: format!("f{i}"), cid, tsize: Some(1) })
            .collect();
        let html = render(&cid, &[], &cid, &Origin::Path, &many);
        assert_eq!(html.matches("class=\"ipfs-hash\"").count(), MAX_LISTING_ENTRIES);
        assert!(html.contains("more than 10000 entries"));
        assert!(!render(&cid, &[], &cid, &Origin::Path, &many[..3]).contains("more than"));
    }

    #[test]
    fn the_dir_listing_fixture() {
        let (roots, blocks, _) = car("dir_listing/fixtures.car");
        let root = roots[0];
        let dir = resolve_in(&blocks, root, &["ą", "ę"]).unwrap().unwrap();
        let file = resolve_in(&blocks, root, &["ą", "ę", "file-źł.txt"]).unwrap().unwrap();
        let ents = entries(&[Block { cid: dir.cid, data: dir.block.clone() }]).unwrap();
        let segs = vec!["ą".to_string(), "ę".to_string()];
        let html = render(&root, &segs, &dir.cid, &Origin::Path, &ents);
        assert!(html.contains("Index of"));
        let want = [
            format!("/ipfs/<a href=\"/ipfs/{root}\">{root}</a>/<a href=\"/ipfs/{root}/%C4%85\">ą</a>/<a href=\"/ipfs/{root}/%C4%85/%C4%99\">ę</a>"),
            format!("<a href=\"/ipfs/{root}/%C4%85/%C4%99/..\">..</a>"),
            format!("<a href=\"/ipfs/{root}/%C4%85/%C4%99/file-%C5%BA%C5%82.txt\">file-źł.txt</a>"),
            format!("<a class=\"ipfs-hash\" translate=\"no\" href=\"/ipfs/{}?filename=file-%25C5%25BA%25C5%2582.txt\">", file.cid),
        ];
        for w in want {
            assert!(html.contains(&w), "{w}\n{html}");
        }
        let top = render(&root, &[], &root, &Origin::Path, &[]);
        assert!(!top.contains(&format!("<a href=\"/ipfs/{root}/\">..</a>")));
    }

    #[test]
    fn subdomain_links() {
        let (_, blocks, _) = car("subdomain_gateway/fixtures.car");
        let _ = blocks;
        let root: Cid =
            "bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq".parse().unwrap();
        let segs = vec!["ipfs".to_string(), "ipns".to_string()];
        let e = vec![ListEntry { name: "bar".into(), cid: root, tsize: Some(3) }];
        let html =
            render(&root, &segs, &root, &Origin::Subdomain { gateway: "example.com".into() }, &e);
        assert!(html.contains("<a href=\"/ipfs/ipns/..\">..</a>"));
        assert!(html.contains("<a href=\"/ipfs/ipns/bar\">bar</a>"));
        assert!(html.contains(&format!("/ipfs/<a href=\"//example.com/ipfs/{root}\">{root}</a>/<a href=\"//example.com/ipfs/{root}/ipfs\">ipfs</a>/<a href=\"//example.com/ipfs/{root}/ipfs/ipns\">ipns</a>")));
    }
}
