//! The multicodec codes carport names: block codecs, multihash functions and the Filecoin piece
//! codes, each defined once here so no module writes a bare `0x55` or keeps its own `RAW`.
//!
//! Values and names are those of the multicodec table
//! (<https://github.com/multiformats/multicodec/blob/master/table.csv>).

/// Multihash `identity`: the "digest" is the bytes themselves (inlined blocks).
pub const IDENTITY: u64 = 0x00;
/// Multihash `sha2-256`.
pub const SHA2_256: u64 = 0x12;
/// Multihash `blake3` (carport writes its 32-byte digest).
pub const BLAKE3: u64 = 0x1e;
/// Codec `cbor`: plain CBOR, without IPLD links.
pub const CBOR: u64 = 0x51;
/// Codec `raw`: the bytes as they are (raw leaves, v2 piece CIDs).
pub const RAW: u64 = 0x55;
/// Codec `dag-pb`: the envelope of every UnixFS node.
pub const DAG_PB: u64 = 0x70;
/// Codec `dag-cbor`: CBOR with CID links.
pub const DAG_CBOR: u64 = 0x71;
/// Codec `dag-json`: JSON with CID links.
pub const DAG_JSON: u64 = 0x0129;
/// Codec `json`: plain JSON.
pub const JSON: u64 = 0x0200;
/// Codec `car`: the CID of a whole CAR file.
pub const CAR: u64 = 0x0202;
/// Multihash `fr32-sha256-trunc254-padbintree`: v2 piece CIDs (FRC-0069).
pub const FR32_SHA256_TRUNC254_PADBINTREE: u64 = 0x1011;
/// Multihash `sha2-256-trunc254-padded`: v1 piece CIDs.
pub const SHA2_256_TRUNC254_PADDED: u64 = 0x1012;
/// Codec `fil-commitment-unsealed`: v1 piece CIDs.
pub const FIL_COMMITMENT_UNSEALED: u64 = 0xf101;

/// Every code above with its name in the multicodec table, for messages and checks.
pub const TABLE: [(u64, &str); 13] = [
    (IDENTITY, "identity"),
    (SHA2_256, "sha2-256"),
    (BLAKE3, "blake3"),
    (CBOR, "cbor"),
    (RAW, "raw"),
    (DAG_PB, "dag-pb"),
    (DAG_CBOR, "dag-cbor"),
    (DAG_JSON, "dag-json"),
    (JSON, "json"),
    (CAR, "car"),
    (FR32_SHA256_TRUNC254_PADBINTREE, "fr32-sha256-trunc254-padbintree"),
    (SHA2_256_TRUNC254_PADDED, "sha2-256-trunc254-padded"),
    (FIL_COMMITMENT_UNSEALED, "fil-commitment-unsealed"),
];

/// The multicodec name of `code`, when carport knows it.
pub fn name(code: u64) -> Option<&'static str> {
    TABLE.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique() {
        for (i, (code, name)) in TABLE.iter().enumerate() {
            assert!(TABLE[i + 1..].iter().all(|(c, n)| c != code && n != name), "{name}");
        }
    }

    #[test]
    fn multihash_codes_agree_with_the_codetable() {
        use multihash_codetable::Code;
        assert_eq!(u64::from(Code::Sha2_256), SHA2_256);
        assert_eq!(u64::from(Code::Blake3_256), BLAKE3);
    }

    #[test]
    fn names_come_from_the_table() {
        assert_eq!(name(RAW), Some("raw"));
        assert_eq!(name(DAG_JSON), Some("dag-json"));
        assert_eq!(name(0x9999), None);
    }
}
