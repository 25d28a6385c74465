//! A CAR file on disk: scanned once, then blocks read by offset.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{Context, Result};
use carport_core::car::{CarReader, Event};
use carport_core::unixfs::walk::{BlockGet, WalkError};
use carport_core::Cid;

/// Feeds a file through `reader` in 1 MiB reads, handing each event to `on_event`.
pub fn stream(path: &Path, mut on_event: impl FnMut(Event) -> Result<bool>) -> Result<()> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = CarReader::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.next_event().with_context(|| format!("{}", path.display()))? {
            Some(Event::End) => return Ok(()),
            Some(ev) => {
                if !on_event(ev)? {
                    return Ok(());
                }
            }
            None => {
                let n = file
                    .read(&mut buf)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if n == 0 {
                    reader.close();
                } else {
                    reader.push(&buf[..n]);
                }
            }
        }
    }
}

/// Where each block's bytes sit in the file.
pub struct CarFile {
    file: File,
    pub roots: Vec<Cid>,
    index: HashMap<Cid, (u64, usize)>,
}

impl CarFile {
    pub fn open(path: &Path) -> Result<Self> {
        let mut roots = Vec::new();
        let mut index = HashMap::new();
        stream(path, |ev| {
            match ev {
                Event::Header { roots: r, .. } => roots = r,
                Event::Block { cid, data, offset } => {
                    let section =
                        carport_core::codec::varint::len((cid.encoded_len() + data.len()) as u64)
                            + cid.encoded_len();
                    index.insert(cid, (offset + section as u64, data.len()));
                }
                Event::End => {}
            }
            Ok(true)
        })?;
        let file = File::open(path)?;
        Ok(CarFile { file, roots, index })
    }

    pub fn root(&self) -> Result<Cid> {
        self.roots.first().copied().context("the CAR declares no roots")
    }
}

impl BlockGet for CarFile {
    fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, WalkError> {
        let &(offset, len) = self.index.get(cid).ok_or(WalkError::Missing(*cid))?;
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset).map_err(|_| WalkError::Missing(*cid))?;
        if carport_core::codec::cids::rehash(cid, &buf) != Some(true) {
            return Err(WalkError::HashMismatch { cid: *cid, offset });
        }
        Ok(buf)
    }
}
