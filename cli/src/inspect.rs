//! The reading commands: verify, ls, unpack, roots, blocks.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use carport_core::car::Event;
use carport_core::verify::Verifier;
use carport_core::walk::{self, Kind};
use carport_core::Cid;

use crate::carfile::{stream, CarFile};
use crate::progress;

pub fn verify(path: &Path, root: Option<&str>) -> Result<()> {
    let expected = root.map(|r| r.parse::<Cid>().with_context(|| format!("invalid CID {r:?}"))).transpose()?;
    let size = std::fs::metadata(path).with_context(|| format!("cannot open {}", path.display()))?.len();
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
    println!("ok: CARv{}, {} blocks, {} bytes of data, roots {}", report.version, report.blocks, report.data_bytes, roots.join(" "));
    Ok(())
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

pub fn ls(path: &Path) -> Result<()> {
    let mut car = CarFile::open(path)?;
    let root = car.root()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for e in walk::list(&mut car, &root)? {
        let name = if e.path.is_empty() { "." } else { &e.path };
        match e.kind {
            Kind::File { size } => writeln!(out, "{}\t{size}\t{name}", e.cid)?,
            Kind::Dir => writeln!(out, "{}\t-\t{name}/", e.cid)?,
            Kind::Symlink { target } => writeln!(out, "{}\t-\t{name} -> {target}", e.cid)?,
        }
    }
    out.flush()?;
    Ok(())
}

pub fn unpack(path: &Path, dest: &Path) -> Result<()> {
    let mut car = CarFile::open(path)?;
    let root = car.root()?;
    let entries = walk::list(&mut car, &root)?;
    for e in &entries {
        if !e.path.is_empty() && e.path.split('/').any(|c| c.is_empty() || c == "." || c == ".." || c.contains('\\')) {
            bail!("refusing to unpack {:?} ({}): the name would leave {}", e.path, e.cid, dest.display());
        }
        let target = if e.path.is_empty() { dest.to_path_buf() } else { dest.join(&e.path) };
        match &e.kind {
            Kind::Dir => std::fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))?,
            Kind::File { .. } => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let mut file = std::io::BufWriter::new(
                    std::fs::File::create(&target).with_context(|| format!("cannot create {}", target.display()))?,
                );
                let written = walk::read_file(&mut car, &e.cid, &mut |b| file.write_all(b).map_err(|err| err.to_string()))
                    .map_err(anyhow::Error::from)
                    .and_then(|_| Ok(file.flush()?));
                if let Err(err) = written {
                    drop(file);
                    let _ = std::fs::remove_file(&target);
                    return Err(err.context(format!("{} not written", e.path)));
                }
            }
            Kind::Symlink { target: to } => {
                if target.symlink_metadata().is_ok() {
                    bail!("{} already exists", target.display());
                }
                std::os::unix::fs::symlink(to, &target).with_context(|| format!("cannot link {}", target.display()))?;
            }
        }
    }
    println!("{root}");
    Ok(())
}
