//! `carport pack`: files in, one CAR out, the root CID on the last line.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use carport_core::car::pack::CarSink;
use carport_core::cid::Version;
use carport_core::codec::block::Block;
use carport_core::codec::cids::{CidRule, HashAlg};
use carport_core::codec::multicodec::RAW;
use carport_core::unixfs::chunker::ChunkerSpec;
use carport_core::unixfs::file::Metadata;
use carport_core::unixfs::job::ImportJob;
use carport_core::unixfs::layout::LayoutKind;
use carport_core::unixfs::settings::Overrides;
use carport_core::unixfs::settings::{Profile, Settings};
use carport_core::unixfs::Mtime;
use carport_core::Cid;
use clap::Args;
use indicatif::ProgressBar;

use crate::progress;

#[derive(Args)]
pub struct PackArgs {
    /// File or folder to pack.
    path: PathBuf,
    /// Preset of every setting below: unixfs-v0-2015, unixfs-v1-2025 or ipfs-car.
    #[arg(long, default_value = "unixfs-v1-2025")]
    profile: Profile,
    /// Where to write the CAR (`-` for standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    car_version: u8,
    /// size-N, rabin[-AVG|-MIN-AVG-MAX] or buzhash.
    #[arg(long)]
    chunker: Option<ChunkerSpec>,
    /// balanced or trickle.
    #[arg(long)]
    layout: Option<LayoutKind>,
    /// Most links in one file node.
    #[arg(long)]
    max_links: Option<usize>,
    #[arg(long, action = clap::ArgAction::Set)]
    raw_leaves: Option<bool>,
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    cid_version: Option<u8>,
    #[arg(long, help = format!("{}.", HashAlg::expected()))]
    hash: Option<HashAlg>,
    /// Inline blocks of at most this many bytes in their CID (identity hash).
    #[arg(long)]
    inline_limit: Option<usize>,
    /// Wrap the file or folder in a folder that names it.
    #[arg(long)]
    wrap: bool,
    /// Include files and folders whose names start with a dot.
    #[arg(long)]
    hidden: bool,
    /// Record each file's Unix permissions.
    #[arg(long)]
    preserve_mode: bool,
    /// Record each file's modification time.
    #[arg(long)]
    preserve_mtime: bool,
    /// Also compute the CAR's Filecoin piece CID (v2), in the same pass.
    #[arg(long)]
    piece: bool,
}

impl PackArgs {
    fn settings(&self) -> Result<Settings> {
        let overrides = Overrides {
            chunker: self.chunker.clone(),
            layout: self.layout,
            max_links: self.max_links,
            raw_leaves: self.raw_leaves,
            cid_version: self.cid_version.map(|v| if v == 0 { Version::V0 } else { Version::V1 }),
            hash: self.hash,
            inline_limit: self.inline_limit,
        };
        Ok(overrides.apply(self.profile)?)
    }

    fn metadata(&self, meta: &std::fs::Metadata) -> Metadata {
        use std::os::unix::fs::MetadataExt;
        Metadata {
            mode: self.preserve_mode.then(|| meta.mode() & 0o7777),
            mtime: self.preserve_mtime.then(|| Mtime {
                secs: meta.mtime(),
                nanos: (meta.mtime_nsec() != 0).then_some(meta.mtime_nsec() as u32),
            }),
        }
    }
}

/// One thing to import, in the order it goes into the CAR.
enum Item {
    Dir(String, PathBuf),
    File(String, PathBuf),
    Symlink(String, PathBuf),
}

/// Walks `root` in name order, skipping hidden names unless asked.
fn collect(root: &Path, hidden: bool) -> Result<(Vec<Item>, u64)> {
    let mut items = Vec::new();
    let mut total = 0;
    let mut stack = vec![(String::new(), root.to_path_buf())];
    while let Some((rel, dir)) = stack.pop() {
        let mut names: Vec<(String, PathBuf)> = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let entry = entry?;
            let name = entry
                .file_name()
                .into_string()
                .map_err(|n| anyhow::anyhow!("{n:?} is not UTF-8"))?;
            if !hidden && name.starts_with('.') {
                continue;
            }
            names.push((name, entry.path()));
        }
        names.sort();
        let mut subdirs = Vec::new();
        for (name, path) in names {
            let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let meta = std::fs::symlink_metadata(&path)?;
            if meta.file_type().is_symlink() {
                items.push(Item::Symlink(rel, path));
            } else if meta.is_dir() {
                items.push(Item::Dir(rel.clone(), path.clone()));
                subdirs.push((rel, path));
            } else {
                total += meta.len();
                items.push(Item::File(rel, path));
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok((items, total))
}

/// The CAR being written: a seekable file, or a spool file copied to standard output at the end.
struct Output {
    file: File,
    path: Option<PathBuf>,
    to_stdout: bool,
}

impl Output {
    fn open(arg: Option<&Path>, input: &Path) -> Result<Self> {
        let to_stdout = match arg {
            Some(p) => p == Path::new("-"),
            None => !std::io::IsTerminal::is_terminal(&std::io::stdout()),
        };
        if to_stdout {
            let path = std::env::temp_dir().join(format!("carport-{}.car", std::process::id()));
            let file = File::options().read(true).write(true).create_new(true).open(&path)?;
            return Ok(Output { file, path: Some(path), to_stdout });
        }
        let path = match arg {
            Some(p) => p.to_path_buf(),
            None => {
                let name =
                    input.file_name().map_or("out".into(), |n| n.to_string_lossy().into_owned());
                PathBuf::from(format!("{name}.car"))
            }
        };
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Output { file, path: Some(path), to_stdout })
    }
}

/// Streams blocks into the output file.
struct Writer {
    out: BackgroundWriter,
    sink: CarSink,
    blocks: Vec<Block>,
}

impl Writer {
    fn flush_blocks(&mut self) -> Result<()> {
        self.sink.put(&mut self.blocks);
        self.out.send(self.sink.take_parts())
    }
}

/// Writes the CAR on its own thread, a few batches behind, so the kernel's copying overlaps the
/// hashing.
struct BackgroundWriter {
    tx: Option<std::sync::mpsc::SyncSender<Vec<Vec<u8>>>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl BackgroundWriter {
    fn new(file: File) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(8);
        let thread = std::thread::spawn(move || {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            for parts in rx {
                for part in parts {
                    out.write_all(&part)?;
                }
            }
            out.flush()
        });
        BackgroundWriter { tx: Some(tx), thread: Some(thread) }
    }

    fn send(&mut self, parts: Vec<Vec<u8>>) -> Result<()> {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(parts).is_ok());
        if sent {
            return Ok(());
        }
        // The thread stopped early: only a write error does that.
        self.finish()?;
        anyhow::bail!("the CAR writer stopped")
    }

    /// Waits for everything sent to be written.
    fn finish(&mut self) -> Result<()> {
        self.tx.take();
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(written)) => Ok(written.context("cannot write the CAR")?),
            Some(Err(_)) => anyhow::bail!("the CAR writer thread panicked"),
            None => Ok(()),
        }
    }
}

pub fn run(args: PackArgs) -> Result<()> {
    let settings = args.settings()?;
    let meta = std::fs::metadata(&args.path)
        .with_context(|| format!("cannot open {}", args.path.display()))?;
    let name = args.path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
    let output = Output::open(args.output.as_deref(), &args.path)?;
    let car_path = output.path.clone();
    let (mut file, to_stdout) = (output.file, output.to_stdout);
    let mut w = Writer {
        out: BackgroundWriter::new(file.try_clone()?),
        sink: CarSink::new(args.car_version, &settings.cid, args.piece),
        blocks: Vec::new(),
    };
    w.flush_blocks()?;
    let result = if meta.is_dir() {
        pack_dir(&args, &settings, &name, &mut w)
    } else {
        pack_file(&args, &settings, &name, &meta, &mut w)
    };
    let root = match result {
        Ok(root) => root,
        Err(e) => {
            if let Some(p) = &car_path {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
    };
    w.flush_blocks()?;
    let Writer { mut out, sink, .. } = w;
    let blocks = sink.blocks();
    let packed = sink.finish(root);
    let finished = packed.finished;
    out.send(vec![packed.tail, finished.trailer.clone()])?;
    out.finish()?;
    if finished.patchable() {
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&finished.header)?;
    } else {
        rewrite_header(&mut file, &finished.header, finished.placeholder_len)?;
    }
    let piece: Option<Result<_>> = match (args.piece, packed.piece) {
        (false, _) => None,
        (true, Some(piece)) => Some(piece.map_err(Into::into)),
        (true, None) => Some(crate::piece::of_file(&mut file)),
    };
    let piece_line = |p: &carport_core::piece::PieceInfo| format!("piece {}", p.cid);
    if to_stdout {
        file.seek(SeekFrom::Start(0))?;
        std::io::copy(&mut file, &mut std::io::stdout().lock())?;
        if let Some(p) = &car_path {
            std::fs::remove_file(p)?;
        }
        if let Some(Ok(p)) = &piece {
            eprintln!("{}", piece_line(p));
        }
        eprintln!("{root}");
    } else {
        let p = car_path.as_ref().expect("file output has a path");
        eprintln!("wrote {} ({blocks} blocks)", p.display());
        if let Some(Ok(info)) = &piece {
            println!("{} {}", piece_line(info), p.display());
        }
        println!("{root}");
    }
    match piece {
        Some(Err(e)) => Err(e.context("the CAR is complete, but it has no piece CID")),
        _ => Ok(()),
    }
}

/// Replaces a placeholder header of a different length by copying the body behind the new one.
fn rewrite_header(file: &mut File, header: &[u8], placeholder_len: usize) -> Result<()> {
    let mut body = Vec::new();
    file.seek(SeekFrom::Start(placeholder_len as u64))?;
    file.read_to_end(&mut body)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(header)?;
    file.write_all(&body)?;
    Ok(())
}

fn pack_file(
    args: &PackArgs,
    settings: &Settings,
    name: &str,
    meta: &std::fs::Metadata,
    w: &mut Writer,
) -> Result<Cid> {
    let bar = progress::bytes(meta.len(), "packing");
    let mut job = if args.wrap {
        ImportJob::tree(settings.clone())?
    } else {
        ImportJob::file(settings.clone())?
    };
    job.begin_file(name, args.metadata(meta))?;
    feed_file(&mut job, &args.path, &bar, w)?;
    job.end_file(&mut w.blocks)?;
    let root = job.finish(&mut w.blocks)?;
    bar.finish_and_clear();
    Ok(root.cid)
}

fn pack_dir(args: &PackArgs, settings: &Settings, name: &str, w: &mut Writer) -> Result<Cid> {
    let (items, total) = collect(&args.path, args.hidden)?;
    let bar = progress::bytes(total, "packing");
    let mut imp = ImportJob::tree(settings.clone())?;
    let prefix = if args.wrap {
        imp.add_dir(name, args.metadata(&std::fs::metadata(&args.path)?))?;
        format!("{name}/")
    } else {
        imp.add_dir("", args.metadata(&std::fs::metadata(&args.path)?))?;
        String::new()
    };
    for item in items {
        match item {
            Item::Dir(rel, path) => {
                imp.add_dir(&format!("{prefix}{rel}"), args.metadata(&std::fs::metadata(path)?))?
            }
            Item::Symlink(rel, path) => {
                let target = std::fs::read_link(&path)?;
                let target = target
                    .to_str()
                    .with_context(|| format!("symlink {} is not UTF-8", path.display()))?;
                let m = args.metadata(&std::fs::symlink_metadata(&path)?);
                imp.add_symlink(&format!("{prefix}{rel}"), target, m, &mut w.blocks)?;
            }
            Item::File(rel, path) => {
                imp.begin_file(
                    &format!("{prefix}{rel}"),
                    args.metadata(&std::fs::metadata(&path)?),
                )?;
                feed_file(&mut imp, &path, &bar, w)?;
                imp.end_file(&mut w.blocks)?;
            }
        }
        w.flush_blocks()?;
    }
    let root = imp.finish(&mut w.blocks)?;
    bar.finish_and_clear();
    Ok(root.cid)
}

/// Feeds the job's open file, through [`feed_leaves`] when its leaves may be hashed here.
fn feed_file(imp: &mut ImportJob, path: &Path, bar: &ProgressBar, w: &mut Writer) -> Result<()> {
    match imp.leaf_size() {
        Some(size) => {
            let rule = imp.settings().cid;
            feed_leaves(path, size, rule, bar, w, |cid, len, out| {
                imp.hashed_leaf(cid, len, out).map_err(Into::into)
            })
        }
        None => feed(path, bar, w, |data, out| imp.write(data, out).map_err(Into::into)),
    }
}

/// Leaves in flight per hashing thread.
const LEAVES_AHEAD: usize = 2;

/// Reads a file as fixed-size raw leaves and hashes them on as many threads as there are cores,
/// each reading (`pread`) and hashing every n-th leaf; the leaves come back in order and go to
/// `leaf` (which builds the tree above them) and to the CAR as they are. Memory: a few leaves
/// per thread.
fn feed_leaves(
    path: &Path,
    size: usize,
    rule: CidRule,
    bar: &ProgressBar,
    w: &mut Writer,
    mut leaf: impl FnMut(Cid, u64, &mut Vec<Block>) -> Result<()>,
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata()?.len();
    let count = len.div_ceil(size as u64);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
    let changed = || anyhow::anyhow!("{} changed while it was read", path.display());
    std::thread::scope(|scope| {
        let receivers: Vec<_> = (0..threads)
            .map(|t| {
                let (tx, rx) =
                    std::sync::mpsc::sync_channel::<std::io::Result<(Cid, Vec<u8>)>>(LEAVES_AHEAD);
                let file = &file;
                scope.spawn(move || {
                    for i in (t as u64..count).step_by(threads) {
                        let offset = i * size as u64;
                        let mut buf = vec![0; (len - offset).min(size as u64) as usize];
                        let read = read_full_at(file, &mut buf, offset).map(|n| {
                            buf.truncate(n);
                            (rule.cid(RAW, &buf), buf)
                        });
                        let failed = read.is_err();
                        if tx.send(read).is_err() || failed {
                            break;
                        }
                    }
                });
                rx
            })
            .collect();
        for i in 0..count {
            let (cid, data) = receivers[(i % threads as u64) as usize]
                .recv()
                .map_err(|_| changed())?
                .with_context(|| format!("cannot read {}", path.display()))?;
            let expected = (len - i * size as u64).min(size as u64) as usize;
            if data.len() != expected {
                return Err(changed());
            }
            let n = data.len() as u64;
            w.blocks.push(Block { cid, data });
            leaf(cid, n, &mut w.blocks)?;
            w.flush_blocks()?;
            bar.inc(n);
        }
        // A file that grew while it was read would lose its end.
        if file.read_at(&mut [0u8], len)? != 0 {
            return Err(changed());
        }
        Ok(())
    })
}

/// Fills `buf` from `offset` unless the file ends first; returns how many bytes were read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Size of one read; the reads run on their own thread, a few buffers ahead of the hashing.
const READ_SIZE: usize = 1 << 20;
const READ_AHEAD: usize = 4;

/// Reads a file in 1 MiB pieces into `write`, streaming the blocks it makes to the CAR. A reader
/// thread keeps a few buffers ahead, so the kernel's copying overlaps the hashing.
fn feed(
    path: &Path,
    bar: &ProgressBar,
    w: &mut Writer,
    mut write: impl FnMut(&[u8], &mut Vec<Block>) -> Result<()>,
) -> Result<()> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(READ_AHEAD);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    for _ in 0..READ_AHEAD {
        empty_tx.send(vec![0; READ_SIZE]).expect("receiver is alive");
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for mut buf in empty_rx {
                buf.resize(READ_SIZE, 0);
                let read = read_full(&mut file, &mut buf).map(|n| {
                    buf.truncate(n);
                    buf
                });
                let done = matches!(&read, Ok(b) if b.is_empty()) || read.is_err();
                if full_tx.send(read).is_err() || done {
                    break;
                }
            }
        });
        for read in full_rx {
            let buf = read.with_context(|| format!("cannot read {}", path.display()))?;
            if buf.is_empty() {
                break;
            }
            write(&buf, &mut w.blocks)?;
            w.flush_blocks()?;
            bar.inc(buf.len() as u64);
            let _ = empty_tx.send(buf);
        }
        Ok(())
    })
}

/// Fills `buf` unless the file ends first; returns how many bytes were read.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
