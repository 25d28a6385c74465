//! The little of protobuf that IPNS needs: reading fields one by one, and writing varint and
//! bytes fields.

use crate::codec::varint;

/// A field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire types 1 and 5 (fixed64, fixed32): nothing IPNS uses, skipped.
    Fixed,
}

/// Reads the fields of a message in order: `(field number, value)`, or a `Malformed` error
/// naming `what` and the byte offset.
pub(crate) fn fields<'a>(
    what: &'static str,
    buf: &'a [u8],
) -> impl Iterator<Item = Result<(u64, Value<'a>), String>> + 'a {
    let mut at = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || at >= buf.len() {
            return None;
        }
        let r = next(buf, &mut at).map_err(|e| format!("{what}: {e} at byte {at}"));
        failed = r.is_err();
        Some(r)
    })
}

fn read_varint(buf: &[u8], at: &mut usize) -> Result<u64, &'static str> {
    match varint::read(&buf[*at..]) {
        varint::Read::Value(v, n) => {
            *at += n;
            Ok(v)
        }
        varint::Read::Incomplete => Err("truncated varint"),
        varint::Read::Overflow => Err("varint too long"),
    }
}

fn next<'a>(buf: &'a [u8], at: &mut usize) -> Result<(u64, Value<'a>), &'static str> {
    let key = read_varint(buf, at)?;
    let (field, wire) = (key >> 3, key & 7);
    if field == 0 {
        return Err("field number 0");
    }
    let value = match wire {
        0 => Value::Varint(read_varint(buf, at)?),
        2 => {
            let len = read_varint(buf, at)?;
            let end = usize::try_from(len)
                .ok()
                .and_then(|l| at.checked_add(l))
                .filter(|&e| e <= buf.len())
                .ok_or("length past the end")?;
            let bytes = &buf[*at..end];
            *at = end;
            Value::Bytes(bytes)
        }
        1 | 5 => {
            let n = if wire == 1 { 8 } else { 4 };
            if buf.len() - *at < n {
                return Err("truncated fixed-width field");
            }
            *at += n;
            Value::Fixed
        }
        _ => return Err("unsupported wire type"),
    };
    Ok((field, value))
}

/// Appends a varint field.
pub(crate) fn put_varint(out: &mut Vec<u8>, field: u64, v: u64) {
    varint::put(out, field << 3);
    varint::put(out, v);
}

/// Appends a length-delimited field.
pub(crate) fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint::put(out, (field << 3) | 2);
    varint::put(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_skips_fixed_fields() {
        let mut m = Vec::new();
        put_varint(&mut m, 1, 300);
        put_bytes(&mut m, 9, b"abc");
        m.extend_from_slice(&[(3 << 3) | 5, 1, 2, 3, 4, (4 << 3) | 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let got: Vec<_> = fields("m", &m).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got,
            [
                (1, Value::Varint(300)),
                (9, Value::Bytes(b"abc")),
                (3, Value::Fixed),
                (4, Value::Fixed)
            ]
        );
    }

    #[test]
    fn refuses_truncation_and_groups_and_stops() {
        for bad in [&[0x0a, 5, 1][..], &[0x08], &[0x0b], &[0x00, 1], &[0x0d, 1, 2]] {
            let got: Vec<_> = fields("m", bad).collect();
            assert_eq!(got.len(), 1, "{bad:?}");
            assert!(got[0].is_err(), "{bad:?}");
        }
    }
}
