//! [`Entry`], the `IpnsEntry` protobuf a record travels as, and [`create_record`], which signs one.

use super::proto::{self, Value};
use super::{IpnsError, Keypair, RecordData, MAX_RECORD_SIZE};

/// The bytes `signatureV2` signs are this prefix, then `data`.
pub const SIGNATURE_V2_PREFIX: &[u8] = b"ipns-signature:";

/// The `IpnsEntry` protobuf, every field as it is on the wire. Only [`validate`](super::validate())
/// says whether one is a valid record; decoding only reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// 1, legacy V1 copy of `data[Value]`.
    pub value: Option<Vec<u8>>,
    /// 2, legacy V1 signature over `value + validity + "EOL"` (never used to verify).
    pub signature_v1: Option<Vec<u8>>,
    /// 3, legacy V1 copy of `data[ValidityType]`.
    pub validity_type: Option<u64>,
    /// 4, legacy V1 copy of `data[Validity]`.
    pub validity: Option<Vec<u8>>,
    /// 5, legacy V1 copy of `data[Sequence]`.
    pub sequence: Option<u64>,
    /// 6, legacy V1 copy of `data[TTL]`.
    pub ttl: Option<u64>,
    /// 7, the signer's public key protobuf, when the name cannot inline it.
    pub pub_key: Option<Vec<u8>>,
    /// 8, the signature over [`SIGNATURE_V2_PREFIX`] + `data`.
    pub signature_v2: Option<Vec<u8>>,
    /// 9, the signed DAG-CBOR document ([`RecordData`]).
    pub data: Option<Vec<u8>>,
}

impl Entry {
    /// Reads a serialized record, refusing one over [`MAX_RECORD_SIZE`] before reading anything.
    /// Unknown fields are skipped; a field given twice keeps its last value, as protobuf readers
    /// (kubo's, the `ipns` package's) do.
    pub fn decode(bytes: &[u8]) -> Result<Self, IpnsError> {
        if bytes.len() > MAX_RECORD_SIZE {
            return Err(IpnsError::TooLarge { size: bytes.len() });
        }
        let mut e = Entry::default();
        for field in proto::fields("IpnsEntry protobuf", bytes) {
            let (n, v) = field.map_err(IpnsError::Malformed)?;
            let bytes = |v: Value<'_>| match v {
                Value::Bytes(b) => Ok(Some(b.to_vec())),
                _ => Err(IpnsError::malformed(format!("IpnsEntry field {n} is not bytes"))),
            };
            let uint = |v: Value<'_>| match v {
                Value::Varint(x) => Ok(Some(x)),
                _ => Err(IpnsError::malformed(format!("IpnsEntry field {n} is not a varint"))),
            };
            match n {
                1 => e.value = bytes(v)?,
                2 => e.signature_v1 = bytes(v)?,
                3 => e.validity_type = uint(v)?,
                4 => e.validity = bytes(v)?,
                5 => e.sequence = uint(v)?,
                6 => e.ttl = uint(v)?,
                7 => e.pub_key = bytes(v)?,
                8 => e.signature_v2 = bytes(v)?,
                9 => e.data = bytes(v)?,
                _ => {}
            }
        }
        Ok(e)
    }

    /// The record's bytes: the fields present, in field order (as kubo and the `ipns` package
    /// write them).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let b = |out: &mut Vec<u8>, n, f: &Option<Vec<u8>>| {
            if let Some(f) = f {
                proto::put_bytes(out, n, f);
            }
        };
        let u = |out: &mut Vec<u8>, n, f: Option<u64>| {
            if let Some(f) = f {
                proto::put_varint(out, n, f);
            }
        };
        b(&mut out, 1, &self.value);
        b(&mut out, 2, &self.signature_v1);
        u(&mut out, 3, self.validity_type);
        b(&mut out, 4, &self.validity);
        u(&mut out, 5, self.sequence);
        u(&mut out, 6, self.ttl);
        b(&mut out, 7, &self.pub_key);
        b(&mut out, 8, &self.signature_v2);
        b(&mut out, 9, &self.data);
        out
    }

    /// The bytes `signatureV2` is made over: [`SIGNATURE_V2_PREFIX`] then `data`.
    pub fn signed_bytes(data: &[u8]) -> Vec<u8> {
        [SIGNATURE_V2_PREFIX, data].concat()
    }
}

/// Signs `data` with `key` and returns the record's bytes: `signatureV2` over
/// `"ipns-signature:" + data`, and with `v1_compatible` also the legacy V1 copies of the fields
/// and `signatureV1` over `value + validity + "EOL"`. `createIPNSRecord` of the `ipns` package
/// (10.x, the one Helia uses) writes V1 too by default, and kubo does, so adapters should pass
/// `true` unless they mean to drop V1. For the same key and data the bytes are the `ipns`
/// package's, byte for byte (Ed25519 signatures are deterministic). `pubKey` is left out: an
/// Ed25519 name inlines its key. Refused with [`IpnsError::TooLarge`] past [`MAX_RECORD_SIZE`].
pub fn create_record(
    key: &Keypair,
    data: &RecordData,
    v1_compatible: bool,
) -> Result<Vec<u8>, IpnsError> {
    let cbor = data.to_cbor();
    let signature_v2 = key.sign(&Entry::signed_bytes(&cbor)).to_vec();
    let mut entry =
        Entry { signature_v2: Some(signature_v2), data: Some(cbor), ..Entry::default() };
    if v1_compatible {
        let validity = data.validity.to_rfc3339().into_bytes();
        let v1 = [data.value.as_slice(), &validity, b"EOL"].concat();
        entry.value = Some(data.value.clone());
        entry.signature_v1 = Some(key.sign(&v1).to_vec());
        entry.validity_type = Some(0);
        entry.validity = Some(validity);
        entry.sequence = Some(data.sequence);
        entry.ttl = Some(data.ttl_nanos);
    }
    let bytes = entry.encode();
    if bytes.len() > MAX_RECORD_SIZE {
        return Err(IpnsError::TooLarge { size: bytes.len() });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;
    use std::time::Duration;

    #[test]
    fn entries_round_trip_and_skip_unknown_fields() {
        let key = Keypair::from_seed([3; 32]);
        let data =
            RecordData::new("/ipfs/x", 1, "2100-01-01T00:00:00Z".parse().unwrap(), Duration::ZERO);
        let bytes = create_record(&key, &data, true).unwrap();
        let e = Entry::decode(&bytes).unwrap();
        assert_eq!(e.encode(), bytes);
        assert_eq!((e.validity_type, e.sequence, e.ttl), (Some(0), Some(1), Some(0)));
        let mut more = bytes.clone();
        more.extend_from_slice(&[0x50, 0x01, 0x5a, 0x00]); // fields 10 and 11
        assert_eq!(Entry::decode(&more).unwrap(), e);
        let v2 = Entry::decode(&create_record(&key, &data, false).unwrap()).unwrap();
        assert_eq!((v2.value, v2.signature_v1, v2.sequence), (None, None, None));
        assert_eq!((v2.data, v2.signature_v2), (e.data, e.signature_v2));
    }

    #[test]
    fn refuses_big_records_and_wrong_wire_types() {
        let key = Keypair::from_seed([3; 32]);
        let validity = "2100-01-01T00:00:00Z".parse().unwrap();
        let big = RecordData::new(vec![b'/'; 6000], 1, validity, Duration::ZERO);
        // The value fits once (V2 only), not twice (V1 copies it).
        assert!(create_record(&key, &big, false).is_ok());
        assert_eq!(create_record(&key, &big, true).unwrap_err().code(), "IpnsTooLarge");
        assert_eq!(
            Entry::decode(&[0; MAX_RECORD_SIZE + 1]),
            Err(IpnsError::TooLarge { size: MAX_RECORD_SIZE + 1 })
        );
        for bad in [&[0x08, 0x01][..], &[0x28, 0x80], &[0x2a, 0x00], &[0x4a, 0x05, 0x00]] {
            assert_eq!(Entry::decode(bad).unwrap_err().code(), "IpnsMalformed", "{bad:?}");
        }
    }
}
