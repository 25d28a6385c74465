//! `carport unpack`: a CAR's tree written out under a folder.
//!
//! The tree is walked twice, one entry at a time ([`Walker`]). The first walk reads no file's
//! content: it checks every name (core's rule), counts the entries and adds up the sizes the
//! files declare, so a hostile CAR (bad names, a directory bomb, a file claiming a petabyte) is
//! refused before anything is written. The second walk writes, counting the bytes actually
//! written against the same limit, since a file's declared size may lie.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use carport_core::unixfs::walk::{self, Kind, Walker};
use carport_core::Cid;
use clap::Args;

use crate::carfile::CarFile;
use crate::size::parse_size;
use crate::target::Target;

pub use carport_core::unixfs::walk::DEFAULT_MAX_ENTRIES;

/// `carport unpack`.
#[derive(Args)]
pub struct UnpackArgs {
    car: PathBuf,
    #[arg(short, long)]
    output: PathBuf,
    /// Refuse a tree of more entries (files, folders, symlinks) than this.
    #[arg(long, default_value_t = DEFAULT_MAX_ENTRIES)]
    max_entries: u64,
    /// Refuse to write more bytes of files than this (bytes, or with KiB, MiB, GiB, TiB);
    /// default: the space free where the output goes.
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    max_bytes: Option<u64>,
    /// Replace files and symlinks already at the output's paths (never a folder, and never
    /// what a symlink points at). Without it they are refused.
    #[arg(long)]
    overwrite: bool,
}

/// How many bytes of files may be written, and why that many.
pub struct ByteLimit {
    bytes: u64,
    why: String,
}

impl ByteLimit {
    fn check(&self, total: u64) -> Result<()> {
        if total > self.bytes {
            bail!("the files come to more than {} bytes ({})", self.bytes, self.why);
        }
        Ok(())
    }
}

/// What the tree under a root would unpack to, walked as `unpack` walks it.
pub struct Plan {
    pub entries: u64,
    /// The sum of the sizes the files declare.
    pub file_bytes: u64,
}

/// Walks the tree under `root` reading no file content; fails as `unpack` would before writing.
pub fn plan(
    car: &mut CarFile,
    root: &Cid,
    max_entries: u64,
    limit: Option<&ByteLimit>,
) -> Result<Plan> {
    let mut walker = Walker::new(*root, max_entries);
    let mut plan = Plan { entries: 0, file_bytes: 0 };
    while let Some(e) = walker.next_entry(car).map_err(entry_limit(max_entries))? {
        plan.entries += 1;
        if let Kind::File { size } = e.kind {
            plan.file_bytes = plan.file_bytes.saturating_add(size);
            if let Some(limit) = limit {
                limit
                    .check(plan.file_bytes)
                    .with_context(|| format!("at {:?} ({})", e.path, e.cid))?;
            }
        }
    }
    Ok(plan)
}

/// Says which flag raises the entry limit when the walk hits it.
pub fn entry_limit(max_entries: u64) -> impl Fn(walk::WalkError) -> anyhow::Error {
    move |e| match e {
        walk::WalkError::TooManyEntries { .. } => {
            anyhow!(e).context(format!("stopped at --max-entries {max_entries}"))
        }
        e => anyhow!(e),
    }
}

pub fn run(args: &UnpackArgs) -> Result<()> {
    let mut car = CarFile::open(&args.car)?;
    let root = car.root()?;
    let limit = match args.max_bytes {
        Some(bytes) => ByteLimit { bytes, why: "--max-bytes".into() },
        None => {
            let (bytes, fs) = free_bytes(&args.output)?;
            ByteLimit {
                bytes,
                why: format!("the space free on {}; --max-bytes sets another limit", fs.display()),
            }
        }
    };
    plan(&mut car, &root, args.max_entries, Some(&limit))
        .with_context(|| format!("refusing to unpack {}", args.car.display()))?;
    let target = Target::new(&args.output, args.overwrite);
    let mut walker = Walker::new(root, args.max_entries);
    let mut written = 0u64;
    while let Some(e) = walker.next_entry(&mut car).map_err(entry_limit(args.max_entries))? {
        match &e.kind {
            Kind::Dir => target.dir(&e.path)?,
            Kind::Symlink { target: to } => target.symlink(&e.path, to)?,
            Kind::File { .. } => {
                let (file, path) = target.file(&e.path)?;
                let mut file = std::io::BufWriter::new(file);
                let mut over = false;
                let copied = walk::read_file(&mut car, &e.cid, &mut |b| {
                    written += b.len() as u64;
                    over = limit.check(written).is_err();
                    if over {
                        return Err(String::new());
                    }
                    file.write_all(b).map_err(|err| err.to_string())
                });
                let done = match copied {
                    Err(_) if over => limit.check(written),
                    other => other.map_err(anyhow::Error::from).and_then(|_| Ok(file.flush()?)),
                };
                if let Err(err) = done {
                    drop(file);
                    let _ = std::fs::remove_file(&path);
                    return Err(err.context(format!("{} not written", path.display())));
                }
            }
        }
    }
    println!("{root}");
    Ok(())
}

/// The bytes free (to an unprivileged user) on the filesystem `path` is or would be on, and the
/// existing folder that was asked: `path` itself or its nearest ancestor.
fn free_bytes(path: &Path) -> Result<(u64, PathBuf)> {
    let existing = path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("."));
    let c = CString::new(existing.as_os_str().as_bytes())?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `st` is only read after statvfs filled it in.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot tell the space free on {}", existing.display()));
    }
    // SAFETY: statvfs succeeded, so it wrote the whole struct.
    let st = unsafe { st.assume_init() };
    // The two fields' integer types differ between platforms.
    #[allow(clippy::unnecessary_cast)]
    let free = (st.f_bavail as u64).saturating_mul(st.f_frsize as u64);
    Ok((free, existing.to_path_buf()))
}
