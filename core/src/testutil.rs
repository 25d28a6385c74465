//! Test fixtures: the shared corpus beside the repository (`../shared/fixtures`).

use std::path::PathBuf;

/// Where the fixtures are.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// The bytes of the fixture at `path` (relative to the fixtures folder).
pub fn fixture(path: &str) -> Vec<u8> {
    let full = fixtures().join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {}: {e}", full.display()))
}
