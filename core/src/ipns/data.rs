//! [`RecordData`]: what a record says, the DAG-CBOR document in `IpnsEntry.data` that
//! `signatureV2` signs.

use std::time::Duration;

use cid::Cid;

use super::{IpnsError, Timestamp};
use crate::codec::cbor::{put_head, MAJOR_BYTES, MAJOR_MAP, MAJOR_TEXT, MAJOR_UINT};

/// The fields of a record's signed `data`. Made with [`RecordData::new`] to sign one, returned by
/// [`validate`](super::validate()) once one is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordData {
    /// `Value`: the path the name points at, normally `/ipfs/<cid>` or `/ipns/<name>` in UTF-8
    /// (see [`path`](Self::path)).
    pub value: Vec<u8>,
    /// `Validity` with `ValidityType` 0 (EOL, the only type): the end of the record's life.
    pub validity: Timestamp,
    /// `Sequence`: the record's version; a newer record of a name has a higher one.
    pub sequence: u64,
    /// `TTL`, in nanoseconds: how long resolvers may cache the record (see [`ttl`](Self::ttl)).
    pub ttl_nanos: u64,
}

/// The signed fields as they were written, before `Validity` is read as a time.
pub(crate) struct RawData {
    pub value: Vec<u8>,
    pub validity: Vec<u8>,
    pub validity_type: u64,
    pub sequence: u64,
    pub ttl: u64,
}

/// Nested CBOR deeper than this in unknown fields is refused rather than walked.
const MAX_DEPTH: usize = 32;

impl RecordData {
    /// A record's data: `value` (a path such as `/ipfs/bafy…`, see [`path_of_cid`]), its
    /// `sequence`, the time it stops being valid, and the cache `ttl` (nanoseconds past `u64`
    /// are clamped).
    pub fn new(
        value: impl Into<Vec<u8>>,
        sequence: u64,
        validity: Timestamp,
        ttl: Duration,
    ) -> Self {
        let ttl_nanos = u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX);
        RecordData { value: value.into(), validity, sequence, ttl_nanos }
    }

    /// The TTL as a duration.
    pub fn ttl(&self) -> Duration {
        Duration::from_nanos(self.ttl_nanos)
    }

    /// `value` as text, if it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }

    /// The content path `value` names, as the `ipns` package reads it: UTF-8 text starting with
    /// `/` as it is (whitespace around it trimmed), or a CID (in binary, as old records hold it,
    /// or as text) as `/ipfs/<CIDv1>`. `None` if it is neither.
    pub fn path(&self) -> Option<String> {
        if let Some(text) = self.value_str().map(str::trim) {
            if text.starts_with('/') {
                return Some(text.to_string());
            }
        }
        let cid = Cid::try_from(self.value.as_slice())
            .ok()
            .or_else(|| self.value_str().and_then(|t| Cid::try_from(t.trim()).ok()))?;
        Some(path_of_cid(&cid))
    }

    /// How long the record stays valid after `now` (zero once it has expired), for an
    /// `Expires` or `stale-if-error` header.
    pub fn valid_for(&self, now: Timestamp) -> Duration {
        self.validity.saturating_duration_since(now)
    }

    /// The DAG-CBOR document, keys in canonical order (length, then bytes: `TTL`, `Value`,
    /// `Sequence`, `Validity`, `ValidityType`), `Validity` written as
    /// [`Timestamp::to_rfc3339`]: byte for byte what the `ipns` package signs.
    pub fn to_cbor(&self) -> Vec<u8> {
        let validity = self.validity.to_rfc3339();
        let mut out = Vec::with_capacity(64 + self.value.len());
        put_head(&mut out, MAJOR_MAP, 5);
        let key = |out: &mut Vec<u8>, k: &str| {
            put_head(out, MAJOR_TEXT, k.len() as u64);
            out.extend_from_slice(k.as_bytes());
        };
        key(&mut out, "TTL");
        put_head(&mut out, MAJOR_UINT, self.ttl_nanos);
        key(&mut out, "Value");
        put_head(&mut out, MAJOR_BYTES, self.value.len() as u64);
        out.extend_from_slice(&self.value);
        key(&mut out, "Sequence");
        put_head(&mut out, MAJOR_UINT, self.sequence);
        key(&mut out, "Validity");
        put_head(&mut out, MAJOR_BYTES, validity.len() as u64);
        out.extend_from_slice(validity.as_bytes());
        key(&mut out, "ValidityType");
        put_head(&mut out, MAJOR_UINT, 0);
        out
    }

    /// Reads a record's `data`: a CBOR map with the five fields (bytes `Value` and `Validity`,
    /// unsigned `ValidityType`, `Sequence` and `TTL`); other keys are ignored, as the spec says.
    /// A `ValidityType` other than 0 is [`IpnsError::UnsupportedValidity`].
    pub fn from_cbor(data: &[u8]) -> Result<Self, IpnsError> {
        let raw = RawData::read(data)?;
        if raw.validity_type != 0 {
            return Err(IpnsError::UnsupportedValidity(raw.validity_type));
        }
        let text = std::str::from_utf8(&raw.validity)
            .map_err(|_| IpnsError::malformed("Validity is not ASCII"))?;
        Ok(RecordData {
            validity: Timestamp::parse_rfc3339(text)?,
            value: raw.value,
            sequence: raw.sequence,
            ttl_nanos: raw.ttl,
        })
    }
}

/// The path a record's `Value` gives for a CID, as the `ipns` package writes it: `/ipfs/` and the
/// CID as v1 in base32 (a CIDv0 becomes its dag-pb CIDv1).
pub fn path_of_cid(cid: &Cid) -> String {
    let v1 = if cid.version() == cid::Version::V0 { Cid::new_v1(0x70, *cid.hash()) } else { *cid };
    format!("/ipfs/{v1}")
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

fn err(what: &str, at: usize) -> IpnsError {
    IpnsError::malformed(format!("data is not DAG-CBOR: {what} at byte {at}"))
}

impl<'a> Reader<'a> {
    /// An item's major type and argument (indefinite lengths refused, as DAG-CBOR does).
    fn head(&mut self) -> Result<(u8, u64), IpnsError> {
        let start = self.at;
        let first = *self.buf.get(self.at).ok_or_else(|| err("truncated", start))?;
        self.at += 1;
        let (major, info) = (first >> 5, first & 31);
        let n = match info {
            0..=23 => return Ok((major, u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(err("indefinite length or reserved head", start)),
        };
        let bytes = self.take(n)?;
        Ok((major, bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], IpnsError> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| err("truncated", self.at))?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }

    /// Skips one item of any type.
    fn skip(&mut self, depth: usize) -> Result<(), IpnsError> {
        if depth > MAX_DEPTH {
            return Err(err("nested too deeply", self.at));
        }
        let (major, arg) = self.head()?;
        match major {
            0 | 1 | 7 => {}
            2 | 3 => {
                self.take(arg)?;
            }
            4 | 5 => {
                let items = if major == 5 { arg.checked_mul(2) } else { Some(arg) };
                for _ in 0..items.ok_or_else(|| err("map too long", self.at))? {
                    self.skip(depth + 1)?;
                }
            }
            _ => self.skip(depth + 1)?, // 6, a tag and its item
        }
        Ok(())
    }
}

impl RawData {
    pub(crate) fn read(data: &[u8]) -> Result<Self, IpnsError> {
        let mut r = Reader { buf: data, at: 0 };
        let (major, entries) = r.head()?;
        if major != 5 {
            return Err(IpnsError::malformed("data is not a CBOR map"));
        }
        let (mut value, mut validity, mut validity_type, mut sequence, mut ttl) =
            (None, None, None, None, None);
        let mut keys: Vec<&[u8]> = Vec::new();
        for _ in 0..entries {
            let at = r.at;
            let (major, len) = r.head()?;
            if major != 3 {
                return Err(err("a map key that is not text", at));
            }
            let key = r.take(len)?;
            if keys.contains(&key) {
                return Err(err("a repeated map key", at));
            }
            keys.push(key);
            let at = r.at;
            let bytes = |r: &mut Reader<'_>| -> Result<Vec<u8>, IpnsError> {
                match r.head()? {
                    (2, len) => Ok(r.take(len)?.to_vec()),
                    _ => Err(err("Value and Validity must be byte strings", at)),
                }
            };
            let uint = |r: &mut Reader<'_>| -> Result<u64, IpnsError> {
                match r.head()? {
                    (0, v) => Ok(v),
                    _ => Err(err("ValidityType, Sequence and TTL must be unsigned", at)),
                }
            };
            match key {
                b"Value" => value = Some(bytes(&mut r)?),
                b"Validity" => validity = Some(bytes(&mut r)?),
                b"ValidityType" => validity_type = Some(uint(&mut r)?),
                b"Sequence" => sequence = Some(uint(&mut r)?),
                b"TTL" => ttl = Some(uint(&mut r)?),
                _ => r.skip(0)?,
            }
        }
        if r.at != data.len() {
            return Err(err("bytes after the map", r.at));
        }
        let missing = |f: &str| IpnsError::malformed(format!("data has no {f}"));
        Ok(RawData {
            value: value.ok_or_else(|| missing("Value"))?,
            validity: validity.ok_or_else(|| missing("Validity"))?,
            validity_type: validity_type.ok_or_else(|| missing("ValidityType"))?,
            sequence: sequence.ok_or_else(|| missing("Sequence"))?,
            ttl: ttl.ok_or_else(|| missing("TTL"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;

    fn sample() -> RecordData {
        RecordData::new(
            "/ipfs/bafkqaddwgevxmmraojswg33smq",
            5,
            "2100-01-01T00:00:00Z".parse().unwrap(),
            Duration::from_secs(300),
        )
    }

    #[test]
    fn round_trips_in_canonical_order() {
        let d = sample();
        let cbor = d.to_cbor();
        assert_eq!(&cbor[..5], [0xa5, 0x63, b'T', b'T', b'L']);
        assert_eq!(RecordData::from_cbor(&cbor).unwrap(), d);
        assert_eq!(d.path().as_deref(), d.value_str());
        assert_eq!(d.ttl(), Duration::from_secs(300));
        assert_eq!(d.valid_for(d.validity), Duration::ZERO);
    }

    #[test]
    fn unknown_keys_are_skipped_and_bad_data_refused() {
        let d = sample();
        let mut extra = d.to_cbor();
        extra[0] = 0xa6;
        // "_x": tag 42 of bytes, then an array with a map and a float inside.
        extra
            .extend_from_slice(&[0x62, b'_', b'x', 0x82, 0xd8, 0x2a, 0x41, 0x00, 0xa1, 0x61, b'a']);
        extra.extend_from_slice(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(RecordData::from_cbor(&extra).unwrap(), d);
        let mut other = d.clone().to_cbor();
        let at = other.len() - 1;
        other[at] = 1; // ValidityType 1
        assert_eq!(RecordData::from_cbor(&other), Err(IpnsError::UnsupportedValidity(1)));
        let cbor = d.to_cbor();
        for bad in [
            &cbor[..cbor.len() - 1],
            &[0x80][..],
            &[0xbf, 0xff],
            &[0xa1, 0x01, 0x01],
            &[0xa0],
            &[cbor.as_slice(), &[0]].concat(),
        ] {
            let e = RecordData::from_cbor(bad).unwrap_err();
            assert_eq!(e.code(), "IpnsMalformed", "{bad:?}: {e}");
        }
        let mut repeated = cbor.clone();
        repeated[0] = 0xa6;
        repeated.extend_from_slice(&[0x63, b'T', b'T', b'L', 0x00]);
        assert!(RecordData::from_cbor(&repeated).unwrap_err().to_string().contains("repeated"));
    }

    #[test]
    fn paths_of_cids_and_old_binary_values() {
        let v0: Cid = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH".parse().unwrap();
        let path = path_of_cid(&v0);
        assert!(path.starts_with("/ipfs/bafybei"), "{path}");
        let mut d = sample();
        d.value = v0.to_bytes();
        assert_eq!(d.path(), Some(path.clone()));
        d.value = b"QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH".to_vec();
        assert_eq!(d.path(), Some(path));
        d.value = b"not a path".to_vec();
        assert_eq!(d.path(), None);
    }
}
