//! Unsigned LEB128 varints, as used by protobuf, multiformats and CAR sections.

/// Appends `v` as a varint.
pub fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes `v` takes as a varint.
pub fn len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Outcome of reading a varint from a prefix of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// The value and how many bytes it took.
    Value(u64, usize),
    /// The buffer ends inside the varint.
    Incomplete,
    /// More than ten bytes, or a value above `u64::MAX`.
    Overflow,
}

/// Reads a varint from the front of `buf`.
pub fn read(buf: &[u8]) -> Read {
    let mut v: u64 = 0;
    for (i, &b) in buf.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return Read::Overflow;
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Read::Value(v, i + 1);
        }
    }
    if buf.len() >= 10 {
        Read::Overflow
    } else {
        Read::Incomplete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut buf = Vec::new();
            put(&mut buf, v);
            assert_eq!(buf.len(), len(v));
            assert_eq!(read(&buf), Read::Value(v, buf.len()));
            assert_eq!(read(&buf[..buf.len() - 1]), Read::Incomplete);
        }
    }
}
