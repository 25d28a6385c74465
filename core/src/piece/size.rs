//! Size arithmetic between payload bytes, fr32-padded bytes and tree heights.
//!
//! Three sizes describe a piece, and mixing them up is the classic commP bug:
//! - the *payload*: the bytes the user gave;
//! - the *unpadded* size: the payload plus zero padding up to `127 * 2^k` bytes, the most a tree
//!   of that height can hold (Filecoin's `UnpaddedPieceSize`);
//! - the *padded* size: the unpadded size after fr32 expansion (`128 * 2^k`, a power of two; the
//!   size deals and sectors are counted in, Filecoin's `PaddedPieceSize`).
//!
//! The tree height is `log2(padded / 32)`: the number of levels above the 32-byte leaves.

use super::error::SizeError;

/// Bytes of fr32 input per quad (four 254-bit field elements).
pub const QUAD_PAYLOAD: u64 = 127;
/// Bytes of fr32 output per quad (four 32-byte leaves).
pub const QUAD_PADDED: u64 = 128;

/// The smallest payload with a defined commP: 65 bytes, because 64 or fewer would fit in two
/// leaves, and every Filecoin implementation (go-fil-commp-hashhash, rust-fil-proofs,
/// data-segment) refuses to silently grow those to the four-leaf minimum piece.
pub const MIN_PAYLOAD_SIZE: u64 = 65;

/// The smallest padded piece: one quad, four leaves, height 2.
pub const MIN_PADDED_SIZE: u64 = QUAD_PADDED;
/// Height of the smallest piece.
pub const MIN_HEIGHT: u8 = 2;

/// The largest padded piece carport hashes or aggregates: a 64 GiB sector, Filecoin's largest.
pub const MAX_PADDED_SIZE: u64 = 1 << 36;
/// Height of the largest piece (`2^31` leaves).
pub const MAX_HEIGHT: u8 = 31;
/// The largest payload: what fits in a 64 GiB sector after fr32 expansion.
pub const MAX_PAYLOAD_SIZE: u64 = MAX_PADDED_SIZE / QUAD_PADDED * QUAD_PAYLOAD;

/// The tallest tree a piece CID may describe. FRC-0069 allows up to 255 but sizes past this do
/// not fit a u64 of bytes, so decoding stops here instead of overflowing.
pub const MAX_CID_HEIGHT: u8 = 58;

/// Padded bytes of a tree of `height` (`32 << height`), or an error past [`MAX_CID_HEIGHT`] or
/// below [`MIN_HEIGHT`].
pub fn padded_size_of_height(height: u8) -> Result<u64, SizeError> {
    if !(MIN_HEIGHT..=MAX_CID_HEIGHT).contains(&height) {
        return Err(SizeError::Height(height));
    }
    Ok(32u64 << height)
}

/// Bytes of payload a tree of `height` holds before fr32 expansion (`127 * 2^(height-2)`).
pub fn unpadded_size_of_height(height: u8) -> Result<u64, SizeError> {
    Ok(padded_size_of_height(height)? / QUAD_PADDED * QUAD_PAYLOAD)
}

/// Height of a padded size, checking it is a power of two within `128..=2^63`.
pub fn height_of_padded_size(padded: u64) -> Result<u8, SizeError> {
    if !padded.is_power_of_two() {
        return Err(SizeError::NotPowerOfTwo(padded));
    }
    if padded < MIN_PADDED_SIZE {
        return Err(SizeError::PaddedTooSmall(padded));
    }
    // 2^63 at most, so the height is at most 58 and always fits a u8.
    Ok((padded.trailing_zeros() - 5) as u8)
}

/// Height of the smallest tree that holds `payload` bytes: `127 * 2^(height - 2) >= payload`.
/// Payloads under one quad still take a whole quad, as FRC-0069 and every commP tool do.
pub fn height_of_payload(payload: u64) -> Result<u8, SizeError> {
    let quads = payload.div_ceil(QUAD_PAYLOAD).max(1);
    let height = quads.next_power_of_two().trailing_zeros() + 2;
    if height > u32::from(MAX_CID_HEIGHT) {
        return Err(SizeError::PayloadTooLarge(payload));
    }
    Ok(height as u8)
}

/// Padded size of the smallest piece holding `payload` bytes.
pub fn padded_size_of_payload(payload: u64) -> Result<u64, SizeError> {
    padded_size_of_height(height_of_payload(payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights() {
        assert_eq!(height_of_payload(65), Ok(2));
        assert_eq!(height_of_payload(127), Ok(2));
        assert_eq!(height_of_payload(128), Ok(3));
        assert_eq!(height_of_payload(254), Ok(3));
        assert_eq!(height_of_payload(255), Ok(4));
        assert_eq!(height_of_payload(MAX_PAYLOAD_SIZE), Ok(MAX_HEIGHT));
        assert_eq!(height_of_payload(MAX_PAYLOAD_SIZE + 1), Ok(MAX_HEIGHT + 1));
        assert_eq!(padded_size_of_payload(1016), Ok(1024));
        assert_eq!(padded_size_of_payload(1017), Ok(2048));
        assert_eq!(height_of_padded_size(128), Ok(2));
        assert_eq!(height_of_padded_size(1 << 63), Ok(58));
        assert_eq!(height_of_padded_size(64), Err(SizeError::PaddedTooSmall(64)));
        assert_eq!(height_of_padded_size(0), Err(SizeError::NotPowerOfTwo(0)));
        assert_eq!(height_of_padded_size(384), Err(SizeError::NotPowerOfTwo(384)));
        assert_eq!(unpadded_size_of_height(2), Ok(127));
        assert_eq!(padded_size_of_height(59), Err(SizeError::Height(59)));
        assert_eq!(padded_size_of_height(1), Err(SizeError::Height(1)));
        assert!(height_of_payload(u64::MAX).is_err());
    }
}
