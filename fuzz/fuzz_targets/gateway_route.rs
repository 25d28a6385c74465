#![no_main]
//! What an attacker reaches first at the gateway: any host, forwarded host and proto, path, query
//! and Accept header, routed as the worker routes them. Routing never panics, and whatever it
//! serves has a path within the limits and a host that is a DNS name.

use carport_core::gateway::http::{route, route_domain, Config, Request, Route, MAX_URL_BYTES};
use carport_core::gateway::path::{is_dns_name, parse_ipfs_path, MutableName, MAX_PATH_DEPTH};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Fields separated by newlines: host, forwarded host, forwarded proto, path, query, accept.
    let mut f = text.split('\n');
    let mut next = || f.next().unwrap_or("");
    let (host, fwd_host, fwd_proto, path, query, accept) =
        (next(), next(), next(), next(), next(), next());
    let req = Request {
        method: "GET",
        host,
        forwarded_host: (!fwd_host.is_empty()).then_some(fwd_host),
        scheme: "https",
        forwarded_proto: (!fwd_proto.is_empty()).then_some(fwd_proto),
        path,
        query,
        accept: (!accept.is_empty()).then_some(accept),
        service_worker: None,
    };
    let cfg = Config { subdomain_hosts: vec!["example.com".into(), "localhost".into()] };
    match route(&req, &cfg) {
        Route::Serve(t) => {
            assert!(t.content.segments.len() <= MAX_PATH_DEPTH);
            assert!(path.len() + query.len() <= MAX_URL_BYTES);
        }
        Route::LookupHost { host } => {
            assert!(is_dns_name(&host), "{host:?}");
            if let Ok(root) = parse_ipfs_path("/ipfs/bafkqaaa") {
                let _ = route_domain(&req, &root);
            }
        }
        Route::LookupName(l) => {
            assert!(l.path.segments.len() <= MAX_PATH_DEPTH);
            if let MutableName::Domain(d) = &l.path.name {
                assert!(is_dns_name(d), "{d:?}");
            }
        }
        Route::Redirect { location, .. } => {
            assert!(!location.contains('\n') && !location.contains('\r'))
        }
        Route::Preflight | Route::Error { .. } => {}
    }
});
