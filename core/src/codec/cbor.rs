//! The one CBOR primitive carport writes in several places (CAR headers, inclusion proofs): an
//! item head in its shortest form, as dag-cbor requires. The readers stay with their formats,
//! each strict in its own way and with its own errors.

pub const MAJOR_UINT: u8 = 0;
pub const MAJOR_BYTES: u8 = 2;
pub const MAJOR_TEXT: u8 = 3;
pub const MAJOR_ARRAY: u8 = 4;
pub const MAJOR_MAP: u8 = 5;
pub const MAJOR_TAG: u8 = 6;

/// Appends the head of an item of `major` type with argument `value`, minimally encoded.
pub fn put_head(out: &mut Vec<u8>, major: u8, value: u64) {
    let m = major << 5;
    match value {
        0..=23 => out.push(m | value as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, value as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(value as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(value as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_minimal() {
        let enc = |v| {
            let mut out = Vec::new();
            put_head(&mut out, MAJOR_UINT, v);
            out
        };
        assert_eq!(enc(23), [0x17]);
        assert_eq!(enc(24), [0x18, 24]);
        assert_eq!(enc(0x100), [0x19, 1, 0]);
        assert_eq!(enc(0x1_0000), [0x1a, 0, 1, 0, 0]);
        assert_eq!(enc(1 << 32), [0x1b, 0, 0, 0, 1, 0, 0, 0, 0]);
        let mut tag = Vec::new();
        put_head(&mut tag, MAJOR_TAG, 42);
        assert_eq!(tag, [0xd8, 42]);
    }
}
