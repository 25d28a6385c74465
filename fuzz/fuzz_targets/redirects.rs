#![no_main]
//! A site's `_redirects` file and a request path, both chosen by an attacker: parsing and matching
//! never panic, and a rule whose target is a path on the site never sends the browser elsewhere.

use carport_core::gateway::redirects::{find, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (file, rest) = data.split_at(cut);
    let path = String::from_utf8_lossy(rest.get(1..).unwrap_or_default());
    let path = format!("/{}", path.trim_start_matches('/'));
    let Ok(rules) = parse(file) else { return };
    let _ = find(&rules, &path, "a=1");
    for rule in &rules {
        let site_relative =
            rule.to.starts_with('/') && !rule.to.starts_with("//") && !rule.to.starts_with("/\\");
        if let Some(target) = find(std::slice::from_ref(rule), &path, "") {
            if site_relative {
                assert!(
                    !target.to.starts_with("//") && !target.to.starts_with("/\\"),
                    "{:?} → {:?} leaves the site",
                    rule.to,
                    target.to
                );
            }
        }
    }
});
