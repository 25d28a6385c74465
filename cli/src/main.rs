//! `carport`: a thin command line over carport-core.

// core's errors carry the CIDs at fault by value, which makes them large; never on a hot path.
#![allow(clippy::result_large_err)]

mod aggregate;
mod archive;
mod carfile;
mod inspect;
mod name;
mod pack;
mod piece;
mod progress;
mod size;
mod target;
mod unpack;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "carport",
    version,
    about = "Pack files and folders into CAR files with the CIDs kubo gives, and check them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pack a file or folder into a CAR; prints the root CID as the last line.
    Pack(pack::PackArgs),
    /// Check every block's hash, that every linked block is present, and the roots.
    /// Then walk the first root's UnixFS tree as `unpack` would, and fail if unpack would refuse
    /// it (a bad or repeated name, too many entries).
    Verify {
        car: PathBuf,
        /// Also require this root.
        #[arg(long)]
        root: Option<String>,
        /// Refuse a tree of more entries than this (as `unpack` does).
        #[arg(long, default_value_t = unpack::DEFAULT_MAX_ENTRIES)]
        max_entries: u64,
    },
    /// List the files and folders in a CAR, each as it is reached.
    Ls {
        car: PathBuf,
        /// Stop with an error after this many entries.
        #[arg(long, default_value_t = unpack::DEFAULT_MAX_ENTRIES)]
        max_entries: u64,
    },
    /// Write a CAR's files, folders and symlinks out to a folder, never through a symlink;
    /// refused before anything is written if a name is unsafe or the tree is too big.
    Unpack(unpack::UnpackArgs),
    /// Print a CAR's roots.
    Roots { car: PathBuf },
    /// Print every block's CID, offset and size.
    Blocks { car: PathBuf },
    /// Print a file's Filecoin piece CID (v2, FRC-0069) as the last line.
    Piece {
        file: PathBuf,
        /// Print the legacy v1 piece CID and the padded piece size instead, tab-separated.
        #[arg(long)]
        v1: bool,
    },
    /// Aggregate v2 piece CIDs into a deal (FRC-0058): prints `PIECE_CID<TAB>PROOF` per piece
    /// (PROOF: the inclusion proof's dag-cbor in unpadded base64url), then the deal's v2 piece CID
    /// as the last line.
    Aggregate(aggregate::AggregateArgs),
    /// Check an inclusion proof (as `carport aggregate` prints it): prints `ok`, or fails saying why.
    VerifyInclusion(aggregate::VerifyInclusionArgs),
    /// Where an upload stands on its way to Filecoin (the edge worker's archive record), with each
    /// shard's inclusion proof checked here; fails if a proof does not hold.
    ArchiveStatus(archive::ArchiveStatusArgs),
    /// IPNS names: make a key, publish and resolve records over the HTTP routing API, inspect
    /// a record file.
    #[command(subcommand)]
    Name(name::NameCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Pack(args) => pack::run(args),
        Command::Verify { car, root, max_entries } => {
            inspect::verify(&car, root.as_deref(), max_entries)
        }
        Command::Ls { car, max_entries } => inspect::ls(&car, max_entries),
        Command::Unpack(args) => unpack::run(&args),
        Command::Roots { car } => inspect::roots(&car),
        Command::Blocks { car } => inspect::blocks(&car),
        Command::Piece { file, v1 } => piece::run(&file, v1),
        Command::Aggregate(args) => aggregate::aggregate(&args),
        Command::VerifyInclusion(args) => aggregate::verify(&args),
        Command::ArchiveStatus(args) => archive::run(&args),
        Command::Name(command) => name::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stops early (`carport pack -o - | head`) is not an error, as with other tools.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carport: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
