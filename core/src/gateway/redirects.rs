//! `_redirects` files (IPIP-0002, the web redirects file spec): parsing and matching.
//!
//! A rule is `from to [status]`; `from` may hold `:name` placeholders (one segment each) and end
//! with `*` (the rest of the path, given to `to` as `:splat`). Rules are tried in order and only
//! for paths that do not exist in the DAG. A file that does not parse is a 500 for the caller.

use std::collections::HashSet;

use crate::gateway::path::percent_decode;

/// Largest `_redirects` file honoured (64 KiB).
pub const MAX_SIZE: usize = 64 * 1024;

const STATUSES: [u16; 9] = [200, 301, 302, 303, 307, 308, 404, 410, 451];

/// Why a `_redirects` file is refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RedirectsError {
    /// The file is larger than [`MAX_SIZE`].
    #[error("could not parse _redirects: redirects file size cannot exceed {MAX_SIZE} bytes")]
    TooLarge,
    /// A line that is not a rule carport can follow.
    #[error("could not parse _redirects: line {line}: {reason}")]
    Line {
        /// Its number, from 1 (0: the file is not UTF-8).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

impl crate::error::Coded for RedirectsError {
    fn code(&self) -> &'static str {
        "Redirects"
    }
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The path it matches, with any `:name` placeholders and trailing `*`.
    pub from: String,
    /// Where it sends the request: a path in the same site or an absolute URL, with placeholders.
    pub to: String,
    /// Its status: a redirect, 200 (rewrite) or 404/410/451 (custom error page); 301 if none given.
    pub status: u16,
}

/// Where a rule sends a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// A path in the same site, or an absolute URL; placeholders filled, query merged.
    pub to: String,
    /// The rule's status.
    pub status: u16,
}

impl Target {
    /// The status says the content of `to` is served in place (rewrite or custom error page).
    pub fn serves_content(&self) -> bool {
        matches!(self.status, 200 | 404 | 410 | 451)
    }
}

/// Parses a `_redirects` file.
pub fn parse(bytes: &[u8]) -> Result<Vec<Rule>, RedirectsError> {
    if bytes.len() > MAX_SIZE {
        return Err(RedirectsError::TooLarge);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| RedirectsError::Line { line: 0, reason: "not UTF-8".into() })?;
    let mut rules = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason: String| RedirectsError::Line { line: i + 1, reason };
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 2 {
            return Err(err("missing 'to' path".into()));
        }
        if fields.len() > 3 {
            return Err(err(format!("expected at most 3 fields, found {}", fields.len())));
        }
        let from = fields[0];
        if !from.starts_with('/') {
            return Err(err(format!("'from' path must begin with '/': {from:?}")));
        }
        let mut names = HashSet::new();
        for seg in from.split('/') {
            if let Some(name) = seg.strip_prefix(':') {
                if !names.insert(name) {
                    return Err(err(format!("placeholder :{name} used twice in 'from'")));
                }
            }
        }
        if from.contains('*') && !from.ends_with('*') || from.matches('*').count() > 1 {
            return Err(err(format!("'*' may only end the 'from' path: {from:?}")));
        }
        let to = fields[1];
        if !to.starts_with('/') && !to.contains("://") {
            return Err(err(format!("'to' must be a path beginning with '/' or a URL: {to:?}")));
        }
        let status = match fields.get(2) {
            None => 301,
            Some(s) if s.ends_with('!') => {
                return Err(err(format!("forced redirects (status {s:?}) are not supported")))
            }
            Some(s) => {
                let code: u16 = s.parse().map_err(|_| err(format!("invalid status code {s:?}")))?;
                if !STATUSES.contains(&code) {
                    return Err(err(format!("unsupported redirect status code {code}")));
                }
                code
            }
        };
        rules.push(Rule { from: from.to_string(), to: to.to_string(), status });
    }
    Ok(rules)
}

/// The first rule matching `path` (percent-encoded, starting with `/`), with `query` (raw, without
/// `?`). Rules match the decoded segments; placeholders and splats carry the segments as they were
/// encoded, so a `%2F` in a request stays `%2F` in the target and cannot make it `//elsewhere`.
pub fn find(rules: &[Rule], path: &str, query: &str) -> Option<Target> {
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    for rule in rules {
        if let Some(vars) = matches(&rule.from, path) {
            let mut to = rule.to.clone();
            // Longest names first, so `:splat` does not eat `:splatter`.
            let mut vars = vars;
            vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
            for (k, v) in &vars {
                to = to.replace(&format!(":{k}"), v);
            }
            return Some(Target {
                to: merge_query(&stay_on_site(&rule.to, to), query),
                status: rule.status,
            });
        }
    }
    None
}

/// A rule whose target is a path on this site (`/…`) keeps its answer on this site: leading
/// slashes and backslashes, which a browser reads as another host (`//evil.example`,
/// `/\evil.example`), become one `/`.
fn stay_on_site(rule_to: &str, to: String) -> String {
    let on_site =
        rule_to.starts_with('/') && !rule_to.starts_with("//") && !rule_to.starts_with("/\\");
    if !on_site {
        return to;
    }
    format!("/{}", to.trim_start_matches(['/', '\\']))
}

fn matches(from: &str, path: &str) -> Option<Vec<(String, String)>> {
    let from = if from.len() > 1 { from.trim_end_matches('/') } else { from };
    let mut vars = Vec::new();
    let fsegs: Vec<&str> = from.split('/').skip(1).collect();
    let psegs: Vec<&str> = path.split('/').skip(1).collect();
    for (i, f) in fsegs.iter().enumerate() {
        if *f == "*" && i == fsegs.len() - 1 {
            vars.push((
                "splat".to_string(),
                psegs.get(i..).map(|r| r.join("/")).unwrap_or_default(),
            ));
            return Some(vars);
        }
        let p = psegs.get(i)?;
        if let Some(name) = f.strip_prefix(':') {
            if p.is_empty() {
                return None;
            }
            vars.push((name.to_string(), p.to_string()));
        } else if percent_decode(p).as_deref() != Some(*f) {
            return None;
        }
    }
    (fsegs.len() == psegs.len()).then_some(vars)
}

/// Adds the request's query parameters to `to`; a parameter the request has wins over one `to` has.
fn merge_query(to: &str, query: &str) -> String {
    if query.is_empty() {
        return to.to_string();
    }
    let (base, static_q) = to.split_once('?').unwrap_or((to, ""));
    let user: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    let user_keys: HashSet<&str> = user.iter().map(|p| p.split('=').next().unwrap_or("")).collect();
    let mut params: Vec<&str> = static_q
        .split('&')
        .filter(|p| !p.is_empty() && !user_keys.contains(p.split('=').next().unwrap_or("")))
        .collect();
    params.extend(user);
    if params.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", params.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::resolve::resolve_in;
    use crate::gateway::testutil::car;

    const EXAMPLE: &str = "/redirect-one /one.html\n/301-redirect-one /one.html 301\n/302-redirect-two /two.html 302\n/200-index /index.html 200\n/posts/:year/:month/:day/:title /articles/:year/:month/:day/:title 301\n/splat/* /redirected-splat/:splat 301\n/not-found/* /404.html 404\n/gone/* /410.html 410\n/unavail/* /451.html 451\n/* /index.html 200\n";

    fn t(to: &str, status: u16) -> Option<Target> {
        Some(Target { to: to.into(), status })
    }

    #[test]
    fn the_spec_example() {
        let rules = parse(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(find(&rules, "/redirect-one", ""), t("/one.html", 301));
        assert_eq!(find(&rules, "/302-redirect-two", ""), t("/two.html", 302));
        assert_eq!(
            find(&rules, "/posts/2022/01/01/hello-world", ""),
            t("/articles/2022/01/01/hello-world", 301)
        );
        assert_eq!(find(&rules, "/splat/one.html", ""), t("/redirected-splat/one.html", 301));
        assert_eq!(find(&rules, "/not-found/has-no-redirects-entry", ""), t("/404.html", 404));
        assert_eq!(find(&rules, "/catch-all", ""), t("/index.html", 200));
        assert_eq!(find(&rules, "/redirect-one", "a=1"), t("/one.html?a=1", 301));
    }

    #[test]
    fn query_parameters_merge() {
        let rules = parse(b"/source1/* /target-file?static-query1=static-val1&static-query2=static-val2 301\n/source2/:code/:name /target-file?code=:code&name=:name 301\n/source3/* https://example.net/target3/:splat 301").unwrap();
        assert_eq!(
            find(&rules, "/source1/x", "static-query1=mine&a=b").unwrap().to,
            "/target-file?static-query2=static-val2&static-query1=mine&a=b"
        );
        assert_eq!(find(&rules, "/source2/7/ann", "").unwrap().to, "/target-file?code=7&name=ann");
        assert_eq!(
            find(&rules, "/source3/a/b", "q=1").unwrap().to,
            "https://example.net/target3/a/b?q=1"
        );
    }

    #[test]
    fn a_placeholder_cannot_take_a_redirect_off_the_site() {
        let rules = parse(
            b"/go/* /:splat 301\n/to/:place /:place 302\n/ext/* https://example.net/:splat 301",
        )
        .unwrap();
        for (path, want) in [
            ("/go/%2F%2Fevil.example", "/%2F%2Fevil.example"),
            ("/to/%2F%2Fevil.example", "/%2F%2Fevil.example"),
            ("/go/%5C%5Cevil.example", "/%5C%5Cevil.example"),
        ] {
            assert_eq!(find(&rules, path, "").unwrap().to, want, "{path}");
        }
        // Even a splat of empty segments (`/go///evil.example`) stays on the site.
        assert_eq!(find(&rules, "/go///evil.example", "").unwrap().to, "/evil.example");
        assert_eq!(find(&rules, "/go/a/b", "").unwrap().to, "/a/b");
        // A rule that leaves the site on purpose still does.
        assert_eq!(find(&rules, "/ext/a", "").unwrap().to, "https://example.net/a");
    }

    #[test]
    fn encoded_paths_match_decoded_rules() {
        let rules = parse("/café /menu.html 301".as_bytes()).unwrap();
        assert_eq!(find(&rules, "/caf%C3%A9", "").unwrap().to, "/menu.html");
    }

    #[test]
    fn errors() {
        assert!(matches!(parse(b"/a /b 301!"), Err(RedirectsError::Line { line: 1, .. })));
        assert!(parse(b"/a /b 999").is_err());
        assert!(parse(b"/a/:x/:x /b").is_err());
        assert_eq!(parse(&vec![b'#'; MAX_SIZE + 1]), Err(RedirectsError::TooLarge));
        assert!(RedirectsError::TooLarge.to_string().contains("redirects file size cannot exceed"));
        assert_eq!(
            parse(b"# c\r\n\r\n  /a /b 302  \r\n").unwrap(),
            vec![Rule { from: "/a".into(), to: "/b".into(), status: 302 }]
        );
    }

    #[test]
    fn the_conformance_fixture() {
        let (roots, blocks, _) = car("redirects_file/redirects.car");
        let read = |path: &[&str]| {
            let r = resolve_in(&blocks, roots[0], path).unwrap().unwrap();
            crate::unixfs::read::read_in(
                &blocks,
                r.cid,
                Some(crate::unixfs::read::ByteRange {
                    first: 0,
                    last: r.kind.file_size().unwrap() - 1,
                }),
            )
            .unwrap()
            .0
        };
        let rules = parse(&read(&["examples", "_redirects"])).unwrap();
        assert_eq!(find(&rules, "/redirect-one", ""), t("/one.html", 301));
        let e = parse(&read(&["forced", "_redirects"])).unwrap_err();
        assert!(e.to_string().starts_with("could not parse _redirects:"), "{e}");
        assert_eq!(
            parse(&read(&["too-large", "_redirects"])).unwrap_err(),
            RedirectsError::TooLarge
        );
        assert_eq!(
            find(&parse(&read(&["newlines", "_redirects"])).unwrap(), "/redirect-one", ""),
            t("/one.html", 301)
        );
        assert_eq!(
            find(&parse(&read(&["good-codes", "_redirects"])).unwrap(), "/a301", ""),
            t("/b301", 301)
        );
    }
}
