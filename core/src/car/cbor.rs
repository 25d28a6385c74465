//! The few dag-cbor shapes a CAR header needs: a map of `roots` (CIDs, tag 42) and `version`.

use cid::Cid;

use crate::codec::cbor::{
    put_head, MAJOR_ARRAY, MAJOR_BYTES, MAJOR_MAP, MAJOR_TAG, MAJOR_TEXT, MAJOR_UINT,
};

/// Encodes `{"roots": [...], "version": 1}` in canonical dag-cbor (keys by length, then bytes).
pub fn encode_v1_header(roots: &[Cid]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + roots.len() * 40);
    put_head(&mut out, MAJOR_MAP, 2);
    text(&mut out, "roots");
    put_head(&mut out, MAJOR_ARRAY, roots.len() as u64);
    for root in roots {
        let bytes = root.to_bytes();
        put_head(&mut out, MAJOR_TAG, 42);
        put_head(&mut out, MAJOR_BYTES, bytes.len() as u64 + 1);
        out.push(0);
        out.extend_from_slice(&bytes);
    }
    text(&mut out, "version");
    put_head(&mut out, MAJOR_UINT, 1);
    out
}

fn text(out: &mut Vec<u8>, s: &str) {
    put_head(out, MAJOR_TEXT, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// What a CAR header (v1 header or v2 pragma) says.
#[derive(Debug, PartialEq, Eq)]
pub struct HeaderFields {
    pub version: u64,
    pub roots: Option<Vec<Cid>>,
}

/// Decodes a CAR header map; the error is a reason for a message.
pub fn decode_header(bytes: &[u8]) -> Result<HeaderFields, String> {
    let mut r = Cbor { buf: bytes, pos: 0 };
    let (major, n) = r.head()?;
    if major != 5 {
        return Err("header is not a map".into());
    }
    let mut fields = HeaderFields { version: 0, roots: None };
    let mut version = None;
    for _ in 0..n {
        match r.text()? {
            "version" => {
                let (major, v) = r.head()?;
                if major != 0 {
                    return Err("version is not an integer".into());
                }
                version = Some(v);
            }
            "roots" => {
                let (major, count) = r.head()?;
                if major != 4 {
                    return Err("roots is not a list".into());
                }
                let mut roots = Vec::new();
                for _ in 0..count {
                    roots.push(r.cid()?);
                }
                fields.roots = Some(roots);
            }
            other => return Err(format!("unexpected key {other:?}")),
        }
    }
    if r.pos != bytes.len() {
        return Err("trailing bytes after the header map".into());
    }
    fields.version = version.ok_or("no version")?;
    Ok(fields)
}

struct Cbor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cbor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("header truncated")?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn head(&mut self) -> Result<(u8, u64), String> {
        let b = self.take(1)?[0];
        let (major, info) = (b >> 5, b & 31);
        let v = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take(1)?[0]),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().expect("2"))),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().expect("4"))),
            27 => u64::from_be_bytes(self.take(8)?.try_into().expect("8")),
            _ => return Err("indefinite or reserved length".into()),
        };
        Ok((major, v))
    }

    fn text(&mut self) -> Result<&'a str, String> {
        let (major, n) = self.head()?;
        if major != 3 {
            return Err("map key is not text".into());
        }
        let n = usize::try_from(n).map_err(|_| "key too long")?;
        std::str::from_utf8(self.take(n)?).map_err(|_| "key is not UTF-8".into())
    }

    fn cid(&mut self) -> Result<Cid, String> {
        if self.head()? != (6, 42) {
            return Err("root is not a CID (tag 42)".into());
        }
        let (major, n) = self.head()?;
        if major != 2 {
            return Err("CID is not a byte string".into());
        }
        let n = usize::try_from(n).map_err(|_| "CID too long")?;
        match self.take(n)? {
            [0, rest @ ..] => {
                crate::codec::cids::exact_cid(rest).ok_or_else(|| "invalid root CID".to_string())
            }
            _ => Err("CID lacks the 0x00 multibase prefix".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_header() {
        let cid: Cid =
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".parse().unwrap();
        let bytes = encode_v1_header(&[cid]);
        assert_eq!(
            decode_header(&bytes).unwrap(),
            HeaderFields { version: 1, roots: Some(vec![cid]) }
        );
    }
}
