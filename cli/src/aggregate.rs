//! `carport aggregate` and `carport verify-inclusion`: FRC-0058 deal aggregation and proofs of
//! data segment inclusion, over carport-core's `piece` module.
//!
//! Proofs travel as text: the dag-cbor bytes of the proof (the `[[offset, [node...]], [offset,
//! [node...]]]` tuple @web3-storage/data-segment and go-data-segment use) in unpadded base64url.

use std::io::{self, BufWriter, Write};

use anyhow::{anyhow, Context, Result};
use carport_core::piece::cid::parse_cid;
use carport_core::piece::{verify_inclusion, Aggregate, InclusionProof};
use clap::Args;

use crate::size::parse_size;

const PROOF_HELP: &str = "Each PROOF is an inclusion proof (FRC-0058 PoDSI) as text: the dag-cbor \
encoding of the tuple [[subtree offset, [node, ...]], [index offset, [node, ...]]] (offsets are \
unsigned integers, nodes 32-byte byte strings, nearest sibling first) - byte for byte what \
@web3-storage/data-segment's InclusionProof.encode and go-data-segment write - in base64url \
(RFC 4648 section 5, alphabet A-Z a-z 0-9 - _) without '=' padding.";

/// `carport aggregate`.
#[derive(Args)]
#[command(after_long_help = PROOF_HELP)]
pub struct AggregateArgs {
    /// Padded size of the deal: a power of two from 512 bytes to 64 GiB, in bytes or with a
    /// binary suffix (KiB, MiB, GiB), e.g. 32GiB.
    #[arg(long, value_name = "SIZE")]
    deal_size: String,
    /// v2 piece CIDs (FRC-0069), placed in this order.
    #[arg(value_name = "PIECE_CID", required = true)]
    pieces: Vec<String>,
}

/// `carport verify-inclusion`.
#[derive(Args)]
#[command(after_long_help = PROOF_HELP)]
pub struct VerifyInclusionArgs {
    /// v2 piece CID of the piece.
    #[arg(value_name = "PIECE_CID")]
    piece: String,
    /// v2 piece CID of the aggregate (the deal).
    #[arg(value_name = "AGGREGATE_CID")]
    aggregate: String,
    /// The inclusion proof: dag-cbor in unpadded base64url, as `carport aggregate` prints it.
    #[arg(value_name = "PROOF")]
    proof: String,
}

/// Places the pieces in a deal; prints `PIECE_CID<TAB>PROOF` per piece, then the deal's v2 piece
/// CID as the last line.
pub fn aggregate(args: &AggregateArgs) -> Result<()> {
    let deal_size =
        parse_size(&args.deal_size).with_context(|| format!("--deal-size {:?}", args.deal_size))?;
    let cids = args.pieces.iter().map(|s| parse_cid(s)).collect::<Result<Vec<_>, _>>()?;
    let aggregate = Aggregate::new(deal_size, &cids)?;
    let mut out = BufWriter::new(io::stdout().lock());
    for (n, cid) in cids.iter().enumerate() {
        // The proof of this entry (not of the first piece with the same CID), so a piece given
        // twice gets a proof of each place it sits.
        let proof = aggregate
            .proof_for_entry(n)
            .ok_or_else(|| anyhow!("piece #{n} ({cid}) has no index entry in the aggregate"))?;
        writeln!(out, "{cid}\t{}", proof.to_text())?;
    }
    writeln!(out, "{}", aggregate.cid())?;
    out.flush()?;
    Ok(())
}

/// Checks the proof; prints `ok`, or fails with the reason.
pub fn verify(args: &VerifyInclusionArgs) -> Result<()> {
    let piece = parse_cid(&args.piece).context("piece CID")?;
    let aggregate = parse_cid(&args.aggregate).context("aggregate CID")?;
    let proof = InclusionProof::from_text(args.proof.trim())
        .context("proof is not a dag-cbor inclusion proof in unpadded base64url")?;
    verify_inclusion(&piece, &aggregate, &proof).context("inclusion proof rejected")?;
    println!("ok");
    Ok(())
}
