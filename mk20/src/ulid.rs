//! ULIDs, the identifiers of mk20 deals.
//!
//! A ULID is 48 bits of Unix time in milliseconds followed by 80 random bits, written as 26
//! characters of Crockford's base32 (<https://github.com/ulid/spec>). Curio parses them with
//! oklog/ulid. The time and the random bits come from the caller, so this crate needs no clock
//! and no random source (and builds for wasm32 without getrandom).

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Crockford's base32 alphabet, as ULIDs are written (upper case).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters of an encoded ULID.
pub const ULID_LEN: usize = 26;

/// The largest timestamp a ULID holds: 48 bits of milliseconds.
pub const MAX_ULID_TIME_MS: u64 = (1 << 48) - 1;

/// A deal identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ulid(u128);

/// Why a string is not a ULID.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UlidError {
    #[error("a ULID has 26 characters, not {0}")]
    Length(usize),
    #[error("{0:?} is not a Crockford base32 character")]
    Character(char),
    #[error("the ULID is larger than 128 bits (its first character is above 7)")]
    Overflow,
}

impl Ulid {
    /// The ULID of a time (Unix milliseconds) and 80 random bits; `None` past year 10889, when
    /// the time no longer fits 48 bits.
    pub fn from_parts(time_ms: u64, random: [u8; 10]) -> Option<Ulid> {
        if time_ms > MAX_ULID_TIME_MS {
            return None;
        }
        let mut low = [0u8; 16];
        low[6..].copy_from_slice(&random);
        Some(Ulid((u128::from(time_ms) << 80) | u128::from_be_bytes(low)))
    }

    /// The Unix time in milliseconds it was made at.
    pub fn time_ms(&self) -> u64 {
        (self.0 >> 80) as u64
    }
}

impl fmt::Display for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; ULID_LEN];
        for (i, c) in out.iter_mut().enumerate() {
            // 130 bits of characters over 128 bits of value: the first character holds 3 bits.
            let shift = 125 - 5 * i as u32;
            *c = ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        f.write_str(core::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Ulid {
    type Err = UlidError;

    /// Reads a ULID, in either case. Stricter than oklog/ulid's `Parse` (which Curio uses and
    /// which lets invalid characters through): every character must be in the alphabet.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != ULID_LEN {
            return Err(UlidError::Length(s.chars().count()));
        }
        let mut value = 0u128;
        for (i, c) in s.chars().enumerate() {
            let digit = decode_char(c).ok_or(UlidError::Character(c))?;
            if i == 0 && digit > 7 {
                return Err(UlidError::Overflow);
            }
            value = (value << 5) | u128::from(digit);
        }
        Ok(Ulid(value))
    }
}

/// The value of one Crockford base32 character (no I, L, O or U, as ULIDs are written).
fn decode_char(c: char) -> Option<u8> {
    let upper = c.to_ascii_uppercase();
    ALPHABET.iter().position(|&a| char::from(a) == upper).map(|p| p as u8)
}

impl Serialize for Ulid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ulid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swagger_example_round_trips() {
        let id: Ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        assert_eq!(id.to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(id.time_ms(), 1469922850259);
    }

    #[test]
    fn time_and_randomness_land_where_the_spec_puts_them() {
        // The spec's example: ulid(1469918176385) starts with 01ARYZ6S41.
        let id = Ulid::from_parts(1469918176385, [0; 10]).unwrap();
        assert_eq!(id.to_string(), "01ARYZ6S410000000000000000");
        let id = Ulid::from_parts(0, [0xff; 10]).unwrap();
        assert_eq!(id.to_string(), "0000000000ZZZZZZZZZZZZZZZZ");
        let id = Ulid::from_parts(MAX_ULID_TIME_MS, [0xff; 10]).unwrap();
        assert_eq!(id.to_string(), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        assert_eq!(Ulid::from_parts(MAX_ULID_TIME_MS + 1, [0; 10]), None);
    }

    #[test]
    fn rejects_what_is_not_a_ulid() {
        assert_eq!("01ARZ3NDEK".parse::<Ulid>(), Err(UlidError::Length(10)));
        assert_eq!("01ARZ3NDEKTSV4RRFFQ69G5FAU".parse::<Ulid>(), Err(UlidError::Character('U')));
        assert_eq!("81ARZ3NDEKTSV4RRFFQ69G5FAV".parse::<Ulid>(), Err(UlidError::Overflow));
        assert_eq!(
            "01arz3ndektsv4rrffq69g5fav".parse::<Ulid>().unwrap().to_string(),
            "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        );
    }
}
