//! `carport aggregate` and `carport verify-inclusion`: FRC-0058 deal aggregation and proofs of
//! data segment inclusion, over carport-core's `piece` module.
//!
//! Proofs travel as text: the dag-cbor bytes of the proof (the `[[offset, [node...]], [offset,
//! [node...]]]` tuple @web3-storage/data-segment and go-data-segment use) in unpadded base64url.

use std::io::{self, BufWriter, Write};

use anyhow::{anyhow, bail, Context, Result};
use carport_core::piece::cid::parse_cid;
use carport_core::piece::{verify_inclusion, Aggregate, InclusionProof};
use clap::Args;

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
    let deal_size = parse_size(&args.deal_size).with_context(|| format!("--deal-size {:?}", args.deal_size))?;
    let cids = args.pieces.iter().map(|s| parse_cid(s)).collect::<Result<Vec<_>, _>>()?;
    let aggregate = Aggregate::new(deal_size, &cids)?;
    let mut out = BufWriter::new(io::stdout().lock());
    for (n, cid) in cids.iter().enumerate() {
        // The proof of this entry (not of the first piece with the same CID), so a piece given
        // twice gets a proof of each place it sits.
        let proof = aggregate
            .proof_for_entry(n)
            .ok_or_else(|| anyhow!("piece #{n} ({cid}) has no index entry in the aggregate"))?;
        writeln!(out, "{cid}\t{}", base64url_encode(&proof.to_bytes()))?;
    }
    writeln!(out, "{}", aggregate.cid())?;
    out.flush()?;
    Ok(())
}

/// Checks the proof; prints `ok`, or fails with the reason.
pub fn verify(args: &VerifyInclusionArgs) -> Result<()> {
    let piece = parse_cid(&args.piece).context("piece CID")?;
    let aggregate = parse_cid(&args.aggregate).context("aggregate CID")?;
    let bytes = base64url_decode(args.proof.trim()).context("proof is not unpadded base64url")?;
    let proof = InclusionProof::from_bytes(&bytes).context("proof is not a dag-cbor inclusion proof")?;
    verify_inclusion(&piece, &aggregate, &proof).context("inclusion proof rejected")?;
    println!("ok");
    Ok(())
}

/// Bytes, or bytes with a binary suffix: `1048576`, `1MiB`, `32GiB`, `512B`.
fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    if digits.is_empty() {
        bail!("expected a number of bytes, optionally followed by B, KiB, MiB, GiB or TiB");
    }
    let shift = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        "kb" | "mb" | "gb" | "tb" => {
            bail!("decimal units are not powers of two; use {}", suffix.trim().replace(['b', 'B'], "iB"))
        }
        other => bail!("unknown unit {other:?}: expected B, KiB, MiB, GiB or TiB"),
    };
    let n: u64 = digits.parse().map_err(|_| anyhow!("{digits} is too large"))?;
    n.checked_mul(1u64 << shift).ok_or_else(|| anyhow!("{text} is too large"))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 base64url without padding.
fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(B64[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// Strict RFC 4648 base64url without padding: only the alphabet, no `=`, and the unused bits of
/// the last character zero, so each byte string has exactly one text form.
fn base64url_decode(text: &str) -> Result<Vec<u8>> {
    let value = |at: usize, c: u8| -> Result<u32> {
        match c {
            b'A'..=b'Z' => Ok(u32::from(c - b'A')),
            b'a'..=b'z' => Ok(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Ok(u32::from(c - b'0') + 52),
            b'-' => Ok(62),
            b'_' => Ok(63),
            b'=' => bail!("padding '=' at character {at} (write it without padding)"),
            _ => bail!("character {:?} at {at} is not in the base64url alphabet", char::from(c)),
        }
    };
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        bail!("{} characters cannot be base64 (length mod 4 is 1)", text.len());
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for (k, chunk) in text.chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(k * 4 + i, c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = chunk.len() - 1;
        if bytes[keep..].iter().any(|&b| b != 0) && chunk.len() < 4 {
            bail!("the last character has non-zero unused bits (not canonical base64url)");
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_roundtrips_and_matches_rfc4648() {
        // RFC 4648 section 10 vectors, unpadded.
        for (plain, coded) in
            [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64url_encode(plain.as_bytes()), coded);
            assert_eq!(base64url_decode(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            assert_eq!(base64url_decode(&base64url_encode(&all[..len])).unwrap(), &all[..len]);
        }
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert!(base64url_decode("Zg==").is_err());
        assert!(base64url_decode("Zh").is_err());
        assert!(base64url_decode("Z").is_err());
        assert!(base64url_decode("Zm+v").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("32GiB").unwrap(), 32 << 30);
        assert_eq!(parse_size("32gib").unwrap(), 32 << 30);
        assert_eq!(parse_size("4 KiB").unwrap(), 4096);
        assert!(parse_size("32GB").is_err());
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("1.5GiB").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }
}
