//! Record verification as the spec lays it out, and which of two records of a name wins.

use std::cmp::Ordering;

use super::data::RawData;
use super::{Entry, IpnsError, Name, PublicKey, RecordData, Timestamp};

/// Everything [`validate()`] checks except the time: the size (at most
/// [`MAX_RECORD_SIZE`](super::MAX_RECORD_SIZE)), the protobuf, that `signatureV2` and `data` are
/// there, the public key (`pubKey`, or the one inlined in `name`) is of a supported type and is
/// `name`'s, `signatureV2` verifies over `"ipns-signature:" + data`, the V1 fields agree with
/// `data` when `signatureV1` or `value` is present, and `Validity` is an RFC 3339 time. Use it to
/// look at a record that may have expired; resolve with [`validate()`].
pub fn verify(name: &Name, record: &[u8]) -> Result<RecordData, IpnsError> {
    let entry = Entry::decode(record)?;
    let (Some(signature), Some(data)) = (&entry.signature_v2, &entry.data) else {
        return Err(IpnsError::malformed(
            "no signatureV2 or no data (a V1-only record, no longer valid)",
        ));
    };
    if signature.is_empty() || data.is_empty() {
        return Err(IpnsError::malformed("signatureV2 or data is empty"));
    }
    let key = match &entry.pub_key {
        Some(bytes) => PublicKey::from_protobuf(bytes)?,
        None => name.inline_key()?.ok_or_else(|| IpnsError::MissingKey(*name.cid()))?,
    };
    let found = key.name();
    if found != *name {
        return Err(IpnsError::WrongName { name: *name.cid(), found: *found.cid() });
    }
    let raw = RawData::read(data)?;
    if !key.verify(&Entry::signed_bytes(data), signature) {
        return Err(IpnsError::BadSignature);
    }
    if entry.signature_v1.is_some() || entry.value.is_some() {
        let empty = Vec::new();
        let mismatch = [
            ("value", *entry.value.as_ref().unwrap_or(&empty) == raw.value),
            ("validity", *entry.validity.as_ref().unwrap_or(&empty) == raw.validity),
            ("validityType", entry.validity_type.unwrap_or(0) == raw.validity_type),
            ("sequence", entry.sequence.unwrap_or(0) == raw.sequence),
            ("ttl", entry.ttl.unwrap_or(0) == raw.ttl),
        ]
        .into_iter()
        .find(|(_, same)| !same);
        if let Some((field, _)) = mismatch {
            return Err(IpnsError::V1Mismatch { field });
        }
    }
    RecordData::from_cbor(data)
}

/// Checks a serialized record of `name` at time `now` and returns what it says: everything
/// [`verify`] checks, then that its `Validity` is after `now` ([`IpnsError::Expired`]). The
/// first failure is returned, in the spec's order (size, fields, key and name, signature, V1
/// fields, validity).
pub fn validate(name: &Name, record: &[u8], now: Timestamp) -> Result<RecordData, IpnsError> {
    let data = verify(name, record)?;
    if data.validity <= now {
        return Err(IpnsError::Expired { validity: data.validity, now });
    }
    Ok(data)
}

/// Which of two valid records of one name is the better: the higher `Sequence`, then the later
/// `Validity` (the spec's and the `ipns` package's selector). `Greater` means `a` wins; `Equal`
/// records are interchangeable.
pub fn compare(a: &RecordData, b: &RecordData) -> Ordering {
    a.sequence.cmp(&b.sequence).then(a.validity.cmp(&b.validity))
}

/// Whether `incoming` may replace `current` (the record kept for the name, if any), as a
/// routing endpoint's `PUT` decides: yes unless [`compare`] ranks it below `current`, which is
/// [`IpnsError::SequenceRollback`]. A record equal in rank (a republish) is accepted. Both must
/// already be [`validate`]d for the same name.
pub fn check_update(current: Option<&RecordData>, incoming: &RecordData) -> Result<(), IpnsError> {
    match current {
        Some(current) if compare(incoming, current) == Ordering::Less => {
            Err(IpnsError::SequenceRollback {
                current: current.sequence,
                current_validity: current.validity,
                incoming: incoming.sequence,
                incoming_validity: incoming.validity,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::Coded;
    use crate::ipns::{create_record, Keypair};

    const HOUR: Duration = Duration::from_secs(3600);

    fn now() -> Timestamp {
        Timestamp::from_unix_secs(1_800_000_000)
    }

    fn data(sequence: u64) -> RecordData {
        RecordData::new(
            "/ipfs/bafkqaddwgevxmmraojswg33smq",
            sequence,
            now().saturating_add(HOUR),
            HOUR,
        )
    }

    fn key() -> Keypair {
        Keypair::from_seed([9; 32])
    }

    /// A record with its entry changed by `edit` after signing, encoded again.
    fn edited(v1: bool, edit: impl FnOnce(&mut Entry)) -> Vec<u8> {
        let mut e = Entry::decode(&create_record(&key(), &data(4), v1).unwrap()).unwrap();
        edit(&mut e);
        e.encode()
    }

    fn code(record: &[u8]) -> &'static str {
        validate(&key().name(), record, now()).unwrap_err().code()
    }

    #[test]
    fn a_record_validates_for_its_name_until_it_expires() {
        for v1 in [true, false] {
            let bytes = create_record(&key(), &data(4), v1).unwrap();
            assert_eq!(validate(&key().name(), &bytes, now()).unwrap(), data(4));
            let end = now().saturating_add(HOUR);
            let e = validate(&key().name(), &bytes, end).unwrap_err();
            assert_eq!(e, IpnsError::Expired { validity: end, now: end });
            assert_eq!(e.code(), "IpnsExpired");
            assert_eq!(verify(&key().name(), &bytes).unwrap(), data(4));
        }
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let forged = edited(true, |e| e.signature_v2.as_mut().unwrap()[10] ^= 1);
        assert_eq!(code(&forged), "IpnsBadSignature");
        // Data changed after signing (a higher sequence), with V1 changed to agree.
        let resigned = edited(true, |e| {
            let mut d = RecordData::from_cbor(e.data.as_ref().unwrap()).unwrap();
            d.sequence = 99;
            e.data = Some(d.to_cbor());
            e.sequence = Some(99);
        });
        assert_eq!(code(&resigned), "IpnsBadSignature");
        // Signed by another key but claiming this name (with the key inlined in the name).
        let other = create_record(&Keypair::from_seed([8; 32]), &data(4), true).unwrap();
        assert_eq!(code(&other), "IpnsBadSignature");
        let bad_length = edited(false, |e| e.signature_v2 = Some(vec![0; 63]));
        assert_eq!(code(&bad_length), "IpnsBadSignature");
    }

    #[test]
    fn a_record_for_another_name_is_refused() {
        let other = Keypair::from_seed([8; 32]);
        let theirs = edited(true, |e| e.pub_key = Some(other.public_key().to_protobuf()));
        let err = validate(&key().name(), &theirs, now()).unwrap_err();
        assert_eq!(err.code(), "IpnsWrongName");
        assert_eq!(err.cid(), Some(key().name().cid()));
        assert!(err.to_string().contains(&other.name().to_base32()), "{err}");
        let mine = create_record(&key(), &data(4), true).unwrap();
        let e = validate(&other.name(), &mine, now()).unwrap_err();
        // Without pubKey the key is the name's own: the signature is what fails.
        assert_eq!(e.code(), "IpnsBadSignature");
        // A pubKey equal to the name's key is fine.
        let with_key = edited(true, |e| e.pub_key = Some(key().public_key().to_protobuf()));
        assert!(validate(&key().name(), &with_key, now()).is_ok());
    }

    #[test]
    fn v1_fields_must_agree_with_data() {
        for (field, edit) in [
            (
                "value",
                Box::new(|e: &mut Entry| e.value = Some(b"/ipfs/other".to_vec()))
                    as Box<dyn FnOnce(&mut Entry)>,
            ),
            (
                "validity",
                Box::new(|e: &mut Entry| e.validity = Some(b"2200-01-01T00:00:00Z".to_vec())),
            ),
            ("validityType", Box::new(|e: &mut Entry| e.validity_type = Some(1))),
            ("sequence", Box::new(|e: &mut Entry| e.sequence = Some(5))),
            ("ttl", Box::new(|e: &mut Entry| e.ttl = None)),
        ] {
            let bytes = edited(true, edit);
            let e = validate(&key().name(), &bytes, now()).unwrap_err();
            assert_eq!(e, IpnsError::V1Mismatch { field }, "{field}");
            assert_eq!(e.code(), "IpnsV1Mismatch");
        }
        // A stray `value` on a V2 record is compared too.
        let stray = edited(false, |e| e.value = Some(b"/ipfs/other".to_vec()));
        assert_eq!(code(&stray), "IpnsV1Mismatch");
        // A broken V1 signature is never looked at.
        let broken_v1 = edited(true, |e| e.signature_v1 = Some(vec![1, 2, 3]));
        assert!(validate(&key().name(), &broken_v1, now()).is_ok());
    }

    #[test]
    fn garbage_big_and_incomplete_records_are_refused() {
        assert_eq!(code(b""), "IpnsMalformed");
        assert_eq!(code(b"\xff\xff\xff garbage"), "IpnsMalformed");
        assert_eq!(code(&[0x42; 512]), "IpnsMalformed");
        assert_eq!(code(&edited(true, |e| e.signature_v2 = None)), "IpnsMalformed");
        assert_eq!(code(&edited(true, |e| e.data = None)), "IpnsMalformed");
        assert_eq!(code(&edited(true, |e| e.data = Some(vec![]))), "IpnsMalformed");
        assert_eq!(
            code(&edited(false, |e| e.data = Some(b"\xa1not cbor".to_vec()))),
            "IpnsMalformed"
        );
        // An 11 KiB record: refused by size before it is parsed, even if it would be valid.
        let big = edited(true, |e| e.pub_key = None);
        let mut padded = big.clone();
        padded.extend(std::iter::repeat_n(0x50, 2).chain([0]).cycle().take(11 * 1024 - big.len()));
        assert_eq!(padded.len(), 11 * 1024);
        assert_eq!(
            validate(&key().name(), &padded, now()),
            Err(IpnsError::TooLarge { size: 11 * 1024 })
        );
    }

    #[test]
    fn unknown_and_unsupported_key_types_are_refused() {
        let mut rsa = vec![0x08, 0x00, 0x12, 0x02, 0x30, 0x00];
        let e = edited(true, |e| e.pub_key = Some(rsa.clone()));
        assert_eq!(code(&e), "IpnsUnsupportedKey");
        rsa[1] = 7;
        let e = edited(true, |e| e.pub_key = Some(rsa));
        let err = validate(&key().name(), &e, now()).unwrap_err();
        assert_eq!(err, IpnsError::UnsupportedKey { key_type: 7, signing: false });
        assert!(err.to_string().contains("unknown (7)"), "{err}");
    }

    #[test]
    fn a_hashed_name_needs_the_key_in_the_record() {
        let hashed = Name::from_cid(cid::Cid::new_v1(
            super::super::name::LIBP2P_KEY,
            multihash::Multihash::wrap(0x12, &[7; 32]).unwrap(),
        ))
        .unwrap();
        let bytes = create_record(&key(), &data(1), true).unwrap();
        let e = validate(&hashed, &bytes, now()).unwrap_err();
        assert_eq!((e.code(), e.cid()), ("IpnsMissingKey", Some(hashed.cid())));
    }

    #[test]
    fn the_higher_sequence_then_the_longer_validity_wins() {
        let (a, mut b) = (data(4), data(5));
        assert_eq!(compare(&a, &b), Ordering::Less);
        assert_eq!(check_update(None, &a), Ok(()));
        assert_eq!(check_update(Some(&a), &b), Ok(()));
        assert_eq!(check_update(Some(&a), &a), Ok(()));
        assert_eq!(check_update(Some(&b), &a).unwrap_err().code(), "IpnsSequenceRollback");
        b.sequence = 4;
        b.validity = b.validity.saturating_add(HOUR);
        assert_eq!(compare(&b, &a), Ordering::Greater);
        let e = check_update(Some(&b), &a).unwrap_err();
        assert!(matches!(e, IpnsError::SequenceRollback { current: 4, incoming: 4, .. }), "{e}");
    }
}
