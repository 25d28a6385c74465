//! Records the `ipns` npm package (10.1.6, the one @helia/ipns uses) made for fixed keys
//! (`testdata/js-ipns.json`, written by `tests/ipns-vectors.mjs`): carport reads and validates
//! them, derives the same names, and makes the same bytes.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::error::Coded;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn vectors() -> Vec<Value> {
    let json: Value = serde_json::from_str(include_str!("testdata/js-ipns.json")).unwrap();
    json["vectors"].as_array().unwrap().clone()
}

fn now() -> Timestamp {
    Timestamp::from_unix_secs(1_800_000_000)
}

#[test]
fn ed25519_records_of_the_ipns_package_are_reproduced_byte_for_byte() {
    let json: Value = serde_json::from_str(include_str!("testdata/js-ipns.json")).unwrap();
    let seed: [u8; 32] = hex(json["seed"].as_str().unwrap()).try_into().unwrap();
    let key = Keypair::from_seed(seed);
    let mut seen = 0;
    for v in vectors().iter().filter(|v| v["type"] == "Ed25519") {
        let label = v["label"].as_str().unwrap();
        assert_eq!(key.to_protobuf(), hex(v["private_key"].as_str().unwrap()), "{label}");
        assert_eq!(Keypair::from_protobuf(&key.to_protobuf()).unwrap().name(), key.name());
        let data = RecordData::new(
            v["value"].as_str().unwrap(),
            v["sequence"].as_u64().unwrap(),
            v["validity"].as_str().unwrap().parse().unwrap(),
            Duration::from_nanos(v["ttl_ns"].as_str().unwrap().parse().unwrap()),
        );
        let made = create_record(&key, &data, v["v1"].as_bool().unwrap()).unwrap();
        assert_eq!(made, hex(v["record"].as_str().unwrap()), "{label}");
        seen += 1;
    }
    assert_eq!(seen, 3);
}

#[test]
fn records_of_the_ipns_package_validate_and_names_agree() {
    for v in vectors() {
        let label = v["label"].as_str().unwrap();
        let record = hex(v["record"].as_str().unwrap());
        let public = PublicKey::from_protobuf(&hex(v["public_key"].as_str().unwrap()));
        let name: Name = v["name_base36"].as_str().unwrap().parse().unwrap();
        assert_eq!(name.to_string(), v["name_base36"].as_str().unwrap(), "{label}");
        assert_eq!(name.to_base32(), v["name_base32"].as_str().unwrap(), "{label}");
        assert_eq!(name.to_peer_id(), v["peer_id"].as_str().unwrap(), "{label}");
        for text in ["name_base32", "peer_id"] {
            assert_eq!(Name::parse(v[text].as_str().unwrap()).unwrap(), name, "{label} {text}");
        }
        if v["type"] == "RSA" {
            // RSA is refused as a key type, whether from the record or from the name.
            assert_eq!(public.unwrap_err().code(), "IpnsUnsupportedKey");
            assert_eq!(validate(&name, &record, now()).unwrap_err().code(), "IpnsUnsupportedKey");
            continue;
        }
        let public = public.unwrap();
        assert_eq!(public.name(), name, "{label}");
        assert_eq!(name.inline_key().unwrap(), Some(public), "{label}");
        let data = validate(&name, &record, now()).unwrap();
        assert_eq!(data.value_str(), v["value"].as_str(), "{label}");
        assert_eq!(data.path().as_deref(), v["value"].as_str(), "{label}");
        assert_eq!(data.sequence, v["sequence"].as_u64().unwrap(), "{label}");
        assert_eq!(data.validity.to_rfc3339(), v["validity"].as_str().unwrap(), "{label}");
        assert_eq!(data.ttl_nanos.to_string(), v["ttl_ns"].as_str().unwrap(), "{label}");
        let entry = Entry::decode(&record).unwrap();
        assert_eq!(entry.signature_v1.is_some(), v["v1"].as_bool().unwrap(), "{label}");
        assert_eq!(entry.encode(), record, "{label}");
        let after = data.validity.saturating_add(Duration::from_nanos(1));
        assert_eq!(validate(&name, &record, after).unwrap_err().code(), "IpnsExpired");
    }
}

#[test]
fn a_secp256k1_record_with_a_flipped_bit_is_refused() {
    let v = vectors().into_iter().find(|v| v["type"] == "secp256k1").unwrap();
    let name: Name = v["name_base36"].as_str().unwrap().parse().unwrap();
    let mut entry = Entry::decode(&hex(v["record"].as_str().unwrap())).unwrap();
    let sig = entry.signature_v2.as_mut().unwrap();
    let at = sig.len() - 3;
    sig[at] ^= 1;
    assert_eq!(validate(&name, &entry.encode(), now()), Err(IpnsError::BadSignature));
}

/// The IPNS Record spec's own test vectors (Appendix: Test Vectors), made by boxo, from
/// gateway-conformance's `fixtures/ipns_records` (commit 22c76440f8b5): valid for 100 years.
#[test]
fn the_spec_s_test_vectors_give_the_spec_s_verdicts() {
    let now = Timestamp::from_unix_secs(1_800_000_000);
    for (file, name, expect) in [
        (
            &include_bytes!("testdata/spec/v1.ipns-record")[..],
            "k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku",
            Err("IpnsMalformed"),
        ),
        (
            include_bytes!("testdata/spec/v1-v2.ipns-record"),
            "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w",
            Ok("/ipfs/bafkqaddwgevxmmraojswg33smq"),
        ),
        (
            include_bytes!("testdata/spec/v1-v2-broken-v1-value.ipns-record"),
            "k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw",
            Err("IpnsV1Mismatch"),
        ),
        (
            include_bytes!("testdata/spec/v1-v2-broken-signature-v2.ipns-record"),
            "k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c",
            Err("IpnsBadSignature"),
        ),
        (
            include_bytes!("testdata/spec/v1-v2-broken-signature-v1.ipns-record"),
            "k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y",
            Ok("/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi"),
        ),
        (
            include_bytes!("testdata/spec/v2.ipns-record"),
            "k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f",
            Ok("/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi"),
        ),
    ] {
        let name: Name = name.parse().unwrap();
        let got = validate(&name, file, now);
        match expect {
            Ok(path) => assert_eq!(got.unwrap().path().as_deref(), Some(path), "{name}"),
            Err(code) => assert_eq!(got.unwrap_err().code(), code, "{name}"),
        }
    }
}
