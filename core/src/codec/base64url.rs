//! RFC 4648 base64url without padding, strict: the text form of inclusion proofs in archive
//! records, the CLI and the npm package. Each byte string has exactly one text form.

/// Text that is not canonical unpadded base64url.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Base64Error {
    /// A `=`, at this position: the canonical form has no padding.
    #[error("padding '=' at character {0} (write it without padding)")]
    Padding(usize),
    /// A character outside `A-Z a-z 0-9 - _`.
    #[error("character {ch:?} at {at} is not in the base64url alphabet")]
    Alphabet {
        /// Its position in the text, in bytes.
        at: usize,
        /// The byte found there, as a char.
        ch: char,
    },
    /// A length (given) that is 1 more than a multiple of 4, which no bytes encode to.
    #[error("{0} characters cannot be base64 (length mod 4 is 1)")]
    Length(usize),
    /// The last character sets bits that no byte uses, so it is not the canonical form.
    #[error("the last character has non-zero unused bits (not canonical base64url)")]
    UnusedBits,
}

/// The offset is the character's position in the text.
impl crate::error::Coded for Base64Error {
    fn code(&self) -> &'static str {
        "Base64"
    }

    fn offset(&self) -> Option<u64> {
        match self {
            Base64Error::Padding(at) | Base64Error::Alphabet { at, .. } => Some(*at as u64),
            _ => None,
        }
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The unpadded base64url text of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// The bytes of canonical unpadded base64url text; any other form is refused.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let value = |at: usize, c: u8| -> Result<u32, Base64Error> {
        match c {
            b'A'..=b'Z' => Ok(u32::from(c - b'A')),
            b'a'..=b'z' => Ok(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Ok(u32::from(c - b'0') + 52),
            b'-' => Ok(62),
            b'_' => Ok(63),
            b'=' => Err(Base64Error::Padding(at)),
            _ => Err(Base64Error::Alphabet { at, ch: char::from(c) }),
        }
    };
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return Err(Base64Error::Length(text.len()));
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
            return Err(Base64Error::UnusedBits);
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrips_and_matches_rfc4648() {
        // RFC 4648 section 10 vectors, unpadded.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            assert_eq!(decode(&encode(&all[..len])).unwrap(), &all[..len]);
        }
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("Zg=="), Err(Base64Error::Padding(2)));
        assert_eq!(decode("Zh"), Err(Base64Error::UnusedBits));
        assert_eq!(decode("Z"), Err(Base64Error::Length(1)));
        assert_eq!(decode("Zm+v"), Err(Base64Error::Alphabet { at: 2, ch: '+' }));
    }
}
