//! Sizes on the command line: `--deal-size`, `--max-bytes`.

use anyhow::{anyhow, bail, Result};

/// Bytes, or bytes with a binary suffix: `1048576`, `1MiB`, `32GiB`, `512B`.
pub fn parse_size(text: &str) -> Result<u64> {
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
            bail!(
                "decimal units are not powers of two; use {}",
                suffix.trim().replace(['b', 'B'], "iB")
            )
        }
        other => bail!("unknown unit {other:?}: expected B, KiB, MiB, GiB or TiB"),
    };
    let n: u64 = digits.parse().map_err(|_| anyhow!("{digits} is too large"))?;
    n.checked_mul(1u64 << shift).ok_or_else(|| anyhow!("{text} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
