//! The reading commands: verify, ls, roots, blocks.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use carport_core::car::verify::Verifier;
use carport_core::car::Event;
use carport_core::unixfs::walk::{Kind, WalkError, Walker};
use carport_core::Cid;

use crate::carfile::{stream, CarFile};
use crate::progress;
use crate::unpack::{self, entry_limit};

pub fn verify(path: &Path, root: Option<&str>, max_entries: u64) -> Result<()> {
    let expected =
        root.map(|r| r.parse::<Cid>().with_context(|| format!("invalid CID {r:?}"))).transpose()?;
    let size =
        std::fs::metadata(path).with_context(|| format!("cannot open {}", path.display()))?.len();
    let bar = progress::bytes(size, "verifying");
    let mut verifier = Verifier::new(expected);
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        verifier.push(&buf[..n])?;
        bar.inc(n as u64);
    }
    let report = verifier.finish()?;
    bar.finish_and_clear();
    let roots: Vec<String> = report.roots.iter().map(Cid::to_string).collect();
    let tree = unpackable(path, &report.roots[0], max_entries)?;
    println!(
        "ok: CARv{}, {} blocks, {} bytes of data, roots {}",
        report.version,
        report.blocks,
        report.data_bytes,
        roots.join(" ")
    );
    println!("{tree}");
    Ok(())
}

/// Whether `unpack` would take the tree under `root`, found by walking it as unpack does: an
/// intact CAR can still hold a folder whose names leave the output folder, repeat, or name a
/// billion entries. A root that is not UnixFS at all is not walked.
fn unpackable(path: &Path, root: &Cid, max_entries: u64) -> Result<String> {
    let mut car = CarFile::open(path)?;
    match unpack::plan(&mut car, root, max_entries, None) {
        Ok(p) => Ok(format!("unpacks to {} entries, {} bytes of files", p.entries, p.file_bytes)),
        Err(e) if is_not_unixfs(&e, root) => Ok(format!("not UnixFS: {e}")),
        Err(e) => Err(e.context("the CAR is intact, but `carport unpack` would refuse it")),
    }
}

/// The root itself is not a UnixFS node (another codec, or dag-pb without UnixFS data).
fn is_not_unixfs(e: &anyhow::Error, root: &Cid) -> bool {
    matches!(e.downcast_ref::<WalkError>(), Some(WalkError::NotUnixfs(cid, _) | WalkError::Decode { cid, .. }) if cid == root)
}

pub fn roots(path: &Path) -> Result<()> {
    let mut out = std::io::stdout().lock();
    stream(path, |ev| {
        if let Event::Header { roots, .. } = ev {
            for r in roots {
                writeln!(out, "{r}")?;
            }
            return Ok(false);
        }
        Ok(true)
    })
}

pub fn blocks(path: &Path) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    stream(path, |ev| {
        if let Event::Block { cid, data, offset } = ev {
            writeln!(out, "{cid}\t{offset}\t{}", data.len())?;
        }
        Ok(true)
    })?;
    out.flush()?;
    Ok(())
}

pub fn ls(path: &Path, max_entries: u64) -> Result<()> {
    let mut car = CarFile::open(path)?;
    let root = car.root()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut walker = Walker::new(root, max_entries);
    let listed = (|| -> Result<()> {
        while let Some(e) = walker.next_entry(&mut car).map_err(entry_limit(max_entries))? {
            let name = if e.path.is_empty() { "." } else { &e.path };
            match e.kind {
                Kind::File { size } => writeln!(out, "{}\t{size}\t{name}", e.cid)?,
                Kind::Dir => writeln!(out, "{}\t-\t{name}/", e.cid)?,
                Kind::Symlink { target } => writeln!(out, "{}\t-\t{name} -> {target}", e.cid)?,
            }
        }
        Ok(())
    })();
    // What was listed before an error is still printed, ahead of the error.
    out.flush()?;
    listed
}
