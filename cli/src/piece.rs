//! `carport piece`: the Filecoin piece CID of a file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result};
use carport_core::piece::{PieceHasher, PieceInfo};

use crate::progress;

/// Hashes a whole open file from its start.
pub fn of_file(file: &mut File) -> Result<PieceInfo> {
    let len = file.metadata()?.len();
    let bar = progress::bytes(len, "piece");
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = PieceHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(hasher.finish()?)
}

pub fn run(path: &Path, v1: bool) -> Result<()> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let info = of_file(&mut file).with_context(|| format!("{}", path.display()))?;
    if v1 {
        println!("{}\t{}", info.cid_v1, info.padded_size);
    } else {
        println!("{}", info.cid);
    }
    Ok(())
}
