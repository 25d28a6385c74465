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
    /// The `version` field.
    pub version: u64,
    /// The `roots` field, when present (a CARv2 pragma has none).
    pub roots: Option<Vec<Cid>>,
}

/// Why a CAR header (or CARv2 pragma) is refused: the reason part of [`crate::CarError::Header`],
/// whose `offset` says where the header starts. `at` is the byte at fault, counted from the start
/// of the header's dag-cbor map.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The file has no bytes at all.
    #[error("empty file")]
    Empty,
    /// The header ends inside a dag-cbor item.
    #[error("header truncated")]
    Truncated {
        /// Where the missing bytes should have started.
        at: usize,
    },
    /// A dag-cbor length carport does not take (indefinite, or the reserved infos 28 to 31).
    #[error("indefinite or reserved length")]
    Length {
        /// The item's first byte.
        at: usize,
    },
    /// The header's top-level item is not a map.
    #[error("header is not a map")]
    NotAMap,
    /// A map key is not a text string.
    #[error("map key is not text")]
    KeyNotText {
        /// The key's first byte.
        at: usize,
    },
    /// A map key's length does not fit in memory.
    #[error("key too long")]
    KeyTooLong {
        /// The key's first byte.
        at: usize,
    },
    /// A map key is not UTF-8.
    #[error("key is not UTF-8")]
    KeyNotUtf8 {
        /// The key's first byte.
        at: usize,
    },
    /// A key other than `version` and `roots`.
    #[error("unexpected key {key:?}")]
    UnexpectedKey {
        /// The key as written.
        key: String,
        /// The key's first byte.
        at: usize,
    },
    /// `version` is not an unsigned integer.
    #[error("version is not an integer")]
    VersionNotInteger {
        /// The value's first byte.
        at: usize,
    },
    /// The map has no `version`.
    #[error("no version")]
    NoVersion,
    /// `roots` is not an array.
    #[error("roots is not a list")]
    RootsNotAList {
        /// The value's first byte.
        at: usize,
    },
    /// A root is not tagged 42, dag-cbor's tag for a CID.
    #[error("root is not a CID (tag 42)")]
    RootNotTagged {
        /// The root's first byte.
        at: usize,
    },
    /// A tag-42 root is not a byte string.
    #[error("CID is not a byte string")]
    CidNotBytes {
        /// The byte string's first byte.
        at: usize,
    },
    /// A root CID's length does not fit in memory.
    #[error("CID too long")]
    CidTooLong {
        /// The byte string's first byte.
        at: usize,
    },
    /// A root CID's bytes do not start with the 0x00 (identity) multibase prefix.
    #[error("CID lacks the 0x00 multibase prefix")]
    NoMultibasePrefix {
        /// The CID's first byte.
        at: usize,
    },
    /// A root's bytes are not exactly one valid CID.
    #[error("invalid root CID")]
    BadRoot {
        /// The CID's first byte.
        at: usize,
    },
    /// Bytes follow the header map inside its section.
    #[error("trailing bytes after the header map")]
    TrailingBytes {
        /// The first byte after the map.
        at: usize,
    },
    /// A CARv1 header (or a CARv2's inner one) without `roots`.
    #[error("no roots")]
    NoRoots,
    /// A CARv2 pragma with more in it than `{version: 2}`.
    #[error("CARv2 pragma has extra fields")]
    PragmaFields,
    /// A CARv2 header whose data starts inside the header, or whose index starts inside the data.
    #[error("CARv2 offsets overlap")]
    OffsetsOverlap {
        /// Where the CARv2 header says the inner CARv1 starts.
        data_offset: u64,
        /// How long it says the inner CARv1 is.
        data_size: u64,
        /// Where it says the index starts (0: none).
        index_offset: u64,
    },
    /// The data inside a CARv2 is not a CARv1.
    #[error("CARv2 data is CAR version {0}")]
    InnerVersion(u64),
}

/// The offset is `at`, within the header map; [`crate::CarError::Header`] gives the header's own.
impl crate::error::Coded for HeaderError {
    fn code(&self) -> &'static str {
        "CarHeader"
    }

    fn offset(&self) -> Option<u64> {
        match self {
            HeaderError::Truncated { at }
            | HeaderError::Length { at }
            | HeaderError::KeyNotText { at }
            | HeaderError::KeyTooLong { at }
            | HeaderError::KeyNotUtf8 { at }
            | HeaderError::UnexpectedKey { at, .. }
            | HeaderError::VersionNotInteger { at }
            | HeaderError::RootsNotAList { at }
            | HeaderError::RootNotTagged { at }
            | HeaderError::CidNotBytes { at }
            | HeaderError::CidTooLong { at }
            | HeaderError::NoMultibasePrefix { at }
            | HeaderError::BadRoot { at }
            | HeaderError::TrailingBytes { at } => Some(*at as u64),
            _ => None,
        }
    }
}

/// Decodes a CAR header map.
pub fn decode_header(bytes: &[u8]) -> Result<HeaderFields, HeaderError> {
    let mut r = Cbor { buf: bytes, pos: 0 };
    let (major, n) = r.head()?;
    if major != 5 {
        return Err(HeaderError::NotAMap);
    }
    let mut fields = HeaderFields { version: 0, roots: None };
    let mut version = None;
    for _ in 0..n {
        let key_at = r.pos;
        match r.text()? {
            "version" => {
                let at = r.pos;
                let (major, v) = r.head()?;
                if major != 0 {
                    return Err(HeaderError::VersionNotInteger { at });
                }
                version = Some(v);
            }
            "roots" => {
                let at = r.pos;
                let (major, count) = r.head()?;
                if major != 4 {
                    return Err(HeaderError::RootsNotAList { at });
                }
                let mut roots = Vec::new();
                for _ in 0..count {
                    roots.push(r.cid()?);
                }
                fields.roots = Some(roots);
            }
            other => return Err(HeaderError::UnexpectedKey { key: other.into(), at: key_at }),
        }
    }
    if r.pos != bytes.len() {
        return Err(HeaderError::TrailingBytes { at: r.pos });
    }
    fields.version = version.ok_or(HeaderError::NoVersion)?;
    Ok(fields)
}

struct Cbor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cbor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HeaderError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(HeaderError::Truncated { at: self.pos })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn head(&mut self) -> Result<(u8, u64), HeaderError> {
        let at = self.pos;
        let b = self.take(1)?[0];
        let (major, info) = (b >> 5, b & 31);
        let v = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take(1)?[0]),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().expect("2"))),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().expect("4"))),
            27 => u64::from_be_bytes(self.take(8)?.try_into().expect("8")),
            _ => return Err(HeaderError::Length { at }),
        };
        Ok((major, v))
    }

    fn text(&mut self) -> Result<&'a str, HeaderError> {
        let at = self.pos;
        let (major, n) = self.head()?;
        if major != 3 {
            return Err(HeaderError::KeyNotText { at });
        }
        let n = usize::try_from(n).map_err(|_| HeaderError::KeyTooLong { at })?;
        std::str::from_utf8(self.take(n)?).map_err(|_| HeaderError::KeyNotUtf8 { at })
    }

    fn cid(&mut self) -> Result<Cid, HeaderError> {
        let at = self.pos;
        if self.head()? != (6, 42) {
            return Err(HeaderError::RootNotTagged { at });
        }
        let at = self.pos;
        let (major, n) = self.head()?;
        if major != 2 {
            return Err(HeaderError::CidNotBytes { at });
        }
        let n = usize::try_from(n).map_err(|_| HeaderError::CidTooLong { at })?;
        let at = self.pos;
        match self.take(n)? {
            [0, rest @ ..] => {
                crate::codec::cids::exact_cid(rest).ok_or(HeaderError::BadRoot { at: at + 1 })
            }
            _ => Err(HeaderError::NoMultibasePrefix { at }),
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

    /// Each malformed header names its fault and the byte of the map it is at, with the message
    /// it has always had.
    #[test]
    fn a_bad_header_says_why_and_where() {
        let roots = |tail: &[u8]| [&[0xa1, 0x65][..], b"roots", tail].concat();
        let version = |tail: &[u8]| [&[0xa1, 0x67][..], b"version", tail].concat();
        let cases: &[(Vec<u8>, HeaderError, &str)] = &[
            (vec![], HeaderError::Truncated { at: 0 }, "header truncated"),
            (vec![0xbf], HeaderError::Length { at: 0 }, "indefinite or reserved length"),
            (vec![0x01], HeaderError::NotAMap, "header is not a map"),
            (vec![0xa1, 0x01], HeaderError::KeyNotText { at: 1 }, "map key is not text"),
            (vec![0xa1, 0x62, 0xff, 0xfe], HeaderError::KeyNotUtf8 { at: 1 }, "key is not UTF-8"),
            (
                vec![0xa1, 0x63, b'f', b'o', b'o', 0x01],
                HeaderError::UnexpectedKey { key: "foo".into(), at: 1 },
                "unexpected key \"foo\"",
            ),
            (
                version(&[0x40]),
                HeaderError::VersionNotInteger { at: 9 },
                "version is not an integer",
            ),
            (
                version(&[0x01, 0x00]),
                HeaderError::TrailingBytes { at: 10 },
                "trailing bytes after the header map",
            ),
            (vec![0xa0], HeaderError::NoVersion, "no version"),
            (roots(&[0x01]), HeaderError::RootsNotAList { at: 7 }, "roots is not a list"),
            (
                roots(&[0x81, 0x01]),
                HeaderError::RootNotTagged { at: 8 },
                "root is not a CID (tag 42)",
            ),
            (
                roots(&[0x81, 0xd8, 0x2a, 0x01]),
                HeaderError::CidNotBytes { at: 10 },
                "CID is not a byte string",
            ),
            (
                roots(&[0x81, 0xd8, 0x2a, 0x41, 0x01]),
                HeaderError::NoMultibasePrefix { at: 11 },
                "CID lacks the 0x00 multibase prefix",
            ),
            (
                roots(&[0x81, 0xd8, 0x2a, 0x42, 0x00, 0xff]),
                HeaderError::BadRoot { at: 12 },
                "invalid root CID",
            ),
        ];
        for (bytes, want, text) in cases {
            let got = decode_header(bytes).unwrap_err();
            assert_eq!((&got, got.to_string().as_str()), (want, *text), "{bytes:02x?}");
        }
    }

    #[test]
    fn a_car_error_wraps_the_header_error_in_the_same_words() {
        use crate::error::Coded;
        let e = crate::car::read_all(&[]).unwrap_err();
        assert_eq!(e, crate::CarError::Header { offset: 0, reason: HeaderError::Empty });
        assert_eq!(e.to_string(), "not a CAR file: bad header at byte 0: empty file");
        assert_eq!((e.code(), e.offset()), ("CarHeader", Some(0)));
    }
}
