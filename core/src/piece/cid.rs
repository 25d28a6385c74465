//! Piece CIDs, both kinds, and conversion between them.
//!
//! - **v2** (FRC-0069): CIDv1, codec `raw` (0x55), multihash `fr32-sha256-trunc254-padbintree`
//!   (0x1011) whose digest is `uvarint(padding) || height (1 byte) || root (32 bytes)`. It names the
//!   piece *and* its size, so it stands alone; carport's API speaks v2.
//! - **v1** (legacy, what Filecoin deals and Lotus use): CIDv1, codec `fil-commitment-unsealed`
//!   (0xf101), multihash `sha2-256-trunc254-padded` (0x1012) over the bare 32-byte root. It carries
//!   no size, so it always travels with a padded piece size.
//!
//! `padding` is how many zero bytes were appended to the payload to fill the tree before fr32
//! expansion: `127 * 2^(height-2) - payload`. A v1 CID plus a padded size therefore converts to a
//! v2 CID with padding 0 (the payload size is unknown, so the zeros count as data), or, given the
//! payload size, to the exact v2 CID the hasher would have produced.

use core::fmt;
use core::str::FromStr;

use cid::{Cid, Version};
use multihash::Multihash;

use super::error::{PieceCidError, SizeError};
use super::node::Node;
use super::size;
use crate::codec::multicodec::{
    FIL_COMMITMENT_UNSEALED, FR32_SHA256_TRUNC254_PADBINTREE, RAW, SHA2_256_TRUNC254_PADDED,
};
use crate::codec::varint;

/// A piece as a v2 piece CID describes it: the root of its tree, the tree height and how many
/// bytes of zero padding the payload needed. Always valid: `2 <= height <= 58` and the padding
/// fits the tree, so every size derived from it is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Piece {
    root: Node,
    height: u8,
    padding: u64,
}

impl Piece {
    /// A piece from its parts, checking the height and that the padding fits the tree.
    pub fn new(root: Node, height: u8, padding: u64) -> Result<Self, SizeError> {
        let capacity = size::unpadded_size_of_height(height)?;
        if padding > capacity {
            return Err(SizeError::Padding { padding, height, capacity });
        }
        Ok(Piece { root, height, padding })
    }

    /// The piece whose tree is the smallest that holds `payload` bytes, as the hasher makes it.
    pub fn from_payload_size(root: Node, payload: u64) -> Result<Self, SizeError> {
        let height = size::height_of_payload(payload)?;
        let capacity = size::unpadded_size_of_height(height)?;
        Piece::new(root, height, capacity - payload)
    }

    /// A piece of `padded` bytes whose payload size is unknown (padding 0), as an aggregate or a
    /// Filecoin `PieceInfo` describes it.
    pub fn from_padded_size(root: Node, padded: u64) -> Result<Self, SizeError> {
        Piece::new(root, size::height_of_padded_size(padded)?, 0)
    }

    /// The root of the piece tree (CommP).
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Levels above the leaves: `padded_size = 32 << height`.
    pub fn height(&self) -> u8 {
        self.height
    }

    /// Zero bytes appended to the payload to fill the tree.
    pub fn padding(&self) -> u64 {
        self.padding
    }

    /// Bytes of the fr32-expanded tree (Filecoin's `PaddedPieceSize`), a power of two.
    pub fn padded_size(&self) -> u64 {
        32u64 << self.height
    }

    /// Bytes the tree holds before fr32 expansion (Filecoin's `UnpaddedPieceSize`).
    pub fn unpadded_size(&self) -> u64 {
        self.padded_size() / size::QUAD_PADDED * size::QUAD_PAYLOAD
    }

    /// Bytes of payload: the unpadded size less the padding.
    pub fn payload_size(&self) -> u64 {
        self.unpadded_size() - self.padding
    }

    /// The v2 piece CID (FRC-0069).
    pub fn cid(&self) -> Cid {
        let mut digest = Vec::with_capacity(varint::len(self.padding) + 33);
        varint::put(&mut digest, self.padding);
        digest.push(self.height);
        digest.extend_from_slice(&self.root);
        // At most 9 + 1 + 32 = 42 bytes, within the 64 a Cid holds.
        let mh = Multihash::wrap(FR32_SHA256_TRUNC254_PADBINTREE, &digest)
            .expect("piece digest is at most 42 bytes");
        Cid::new_v1(RAW, mh)
    }

    /// The legacy v1 piece CID; pair it with [`Piece::padded_size`].
    pub fn cid_v1(&self) -> Cid {
        cid_v1_of_root(&self.root)
    }

    /// Reads a v2 piece CID.
    pub fn from_cid(cid: &Cid) -> Result<Self, PieceCidError> {
        check_kind(cid, RAW, FR32_SHA256_TRUNC254_PADBINTREE)?;
        let digest = cid.hash().digest();
        let (padding, n) = match varint::read(digest) {
            varint::Read::Value(v, n) if n == varint::len(v) && n <= 9 => (v, n),
            _ => return Err(PieceCidError::PaddingVarint { cid: *cid }),
        };
        if digest.len() != n + 33 {
            return Err(PieceCidError::DigestLength {
                cid: *cid,
                len: digest.len(),
                expected: n + 33,
            });
        }
        let height = digest[n];
        let mut root = [0u8; 32];
        root.copy_from_slice(&digest[n + 1..]);
        Piece::new(root, height, padding)
            .map_err(|reason| PieceCidError::Size { cid: *cid, reason })
    }

    /// A v1 piece CID and its padded size, with the payload size unknown (padding 0).
    pub fn from_cid_v1(cid: &Cid, padded_size: u64) -> Result<Self, PieceCidError> {
        let root = root_of_cid_v1(cid)?;
        Piece::from_padded_size(root, padded_size)
            .map_err(|reason| PieceCidError::Size { cid: *cid, reason })
    }

    /// A v1 piece CID and the payload size it was computed from: the exact v2 CID the hasher gives.
    pub fn from_cid_v1_with_payload(cid: &Cid, payload_size: u64) -> Result<Self, PieceCidError> {
        let root = root_of_cid_v1(cid)?;
        Piece::from_payload_size(root, payload_size)
            .map_err(|reason| PieceCidError::Size { cid: *cid, reason })
    }
}

impl fmt::Display for Piece {
    /// The v2 piece CID in base32.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.cid(), f)
    }
}

impl FromStr for Piece {
    type Err = PieceCidError;

    /// Parses a v2 piece CID string.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Piece::from_cid(&parse_cid(s)?)
    }
}

/// Parses a CID string, keeping the text in the error.
pub fn parse_cid(s: &str) -> Result<Cid, PieceCidError> {
    Cid::try_from(s)
        .map_err(|e| PieceCidError::Parse { text: s.to_string(), reason: e.to_string() })
}

/// The v1 piece CID of a root.
pub fn cid_v1_of_root(root: &Node) -> Cid {
    let mh = Multihash::wrap(SHA2_256_TRUNC254_PADDED, root).expect("32-byte digest fits");
    Cid::new_v1(FIL_COMMITMENT_UNSEALED, mh)
}

/// The root a v1 piece CID names.
pub fn root_of_cid_v1(cid: &Cid) -> Result<Node, PieceCidError> {
    check_kind(cid, FIL_COMMITMENT_UNSEALED, SHA2_256_TRUNC254_PADDED)?;
    let digest = cid.hash().digest();
    digest.try_into().map_err(|_| PieceCidError::DigestLength {
        cid: *cid,
        len: digest.len(),
        expected: 32,
    })
}

/// v1 piece CID + padded size -> v2 piece CID (padding 0: the payload size is unknown).
pub fn v1_to_v2(v1: &Cid, padded_size: u64) -> Result<Cid, PieceCidError> {
    Ok(Piece::from_cid_v1(v1, padded_size)?.cid())
}

/// v1 piece CID + payload size -> the v2 piece CID the hasher gives for that payload.
pub fn v1_to_v2_with_payload(v1: &Cid, payload_size: u64) -> Result<Cid, PieceCidError> {
    Ok(Piece::from_cid_v1_with_payload(v1, payload_size)?.cid())
}

/// v2 piece CID -> (v1 piece CID, padded size).
pub fn v2_to_v1(v2: &Cid) -> Result<(Cid, u64), PieceCidError> {
    let piece = Piece::from_cid(v2)?;
    Ok((piece.cid_v1(), piece.padded_size()))
}

fn check_kind(cid: &Cid, codec: u64, code: u64) -> Result<(), PieceCidError> {
    if cid.version() != Version::V1 {
        return Err(PieceCidError::Version { cid: *cid });
    }
    if cid.codec() != codec {
        return Err(PieceCidError::Codec { cid: *cid, codec: cid.codec(), expected: codec });
    }
    if cid.hash().code() != code {
        return Err(PieceCidError::Multihash {
            cid: *cid,
            code: cid.hash().code(),
            expected: code,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece::zero::ZERO_COMMS;

    fn v1(s: &str) -> Cid {
        parse_cid(s).unwrap()
    }

    /// The examples of FRC-0069 (its "Test Cases" section).
    #[test]
    fn frc0069_examples() {
        // 127*4 bytes: 127 zeros, 127 ones, 127 twos, 127 threes. No padding, height 4.
        let p = Piece::from_cid_v1_with_payload(
            &v1("baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi"),
            508,
        )
        .unwrap();
        assert_eq!(
            p.to_string(),
            "bafkzcibcaaces3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi"
        );
        assert_eq!(
            format!("{:?}", p.cid().to_bytes()),
            format!("{:?}", hex("01559120220004496dae0cc9e265efe5a006e80626a5dc5c409e5d3155c13984caf6c8d5cfd605"))
        );
        // 127 zero bytes: padding 0, height 2 (also the zero table's level 2).
        let p: Piece =
            "bafkzcibcaabdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy".parse().unwrap();
        assert_eq!((p.padding(), p.height(), p.root()), (0, 2, &ZERO_COMMS[2]));
        // Payload of 0 bytes: 127 bytes of padding, same root. carport's hasher refuses to hash
        // fewer than 65 bytes, but such CIDs still decode.
        let p: Piece =
            "bafkzcibcp4bdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy".parse().unwrap();
        assert_eq!((p.padding(), p.height(), p.payload_size()), (127, 2, 0));
        // 128 zero bytes: padding 126, height 3.
        let p: Piece =
            "bafkzcibcpybwiktap34inmaex4wbs6cghlq5i2j2yd2bb2zndn5ep7ralzphkdy".parse().unwrap();
        assert_eq!((p.padding(), p.height(), p.root()), (126, 3, &ZERO_COMMS[3]));
        // Empty 32 GiB and 64 GiB pieces.
        let v1_32 = v1("baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq");
        assert_eq!(root_of_cid_v1(&v1_32).unwrap(), ZERO_COMMS[30]);
        assert_eq!(
            v1_to_v2(&v1_32, 32 << 30).unwrap().to_string(),
            "bafkzcibcaapao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq"
        );
        let v1_64 = v1("baga6ea4seaqomqafu276g53zko4k23xzh4h4uecjwicbmvhsuqi7o4bhthhm4aq");
        assert_eq!(root_of_cid_v1(&v1_64).unwrap(), ZERO_COMMS[31]);
        assert_eq!(
            v1_to_v2(&v1_64, 64 << 30).unwrap().to_string(),
            "bafkzcibcaap6mqafu276g53zko4k23xzh4h4uecjwicbmvhsuqi7o4bhthhm4aq"
        );
        // The 127*4 bytes above plus 127*4 zeros: no padding, height 5.
        let v1_8 = v1("baga6ea4seaqn42av3szurbbscwuu3zjssvfwbpsvbjf6y3tukvlgl2nf5rha6pa");
        assert_eq!(
            v1_to_v2(&v1_8, 1024).unwrap().to_string(),
            "bafkzcibcaac542av3szurbbscwuu3zjssvfwbpsvbjf6y3tukvlgl2nf5rha6pa"
        );
        // Same root, payload 512 (128*4) bytes: 504 bytes of padding; then 513 bytes: 503.
        assert_eq!(
            v1_to_v2_with_payload(&v1_8, 512).unwrap().to_string(),
            "bafkzcibd7abqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4"
        );
        assert_eq!(
            v1_to_v2_with_payload(&v1_8, 513).unwrap().to_string(),
            "bafkzcibd64bqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4"
        );
        // And back.
        let (back, padded) = v2_to_v1(
            &parse_cid("bafkzcibd64bqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4")
                .unwrap(),
        )
        .unwrap();
        assert_eq!((back, padded), (v1_8, 1024));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn rejects_wrong_kinds() {
        let v1_cid = v1("baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq");
        assert!(matches!(
            Piece::from_cid(&v1_cid),
            Err(PieceCidError::Codec { codec: FIL_COMMITMENT_UNSEALED, .. })
        ));
        let v2_cid =
            parse_cid("bafkzcibcaabdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy").unwrap();
        assert!(matches!(root_of_cid_v1(&v2_cid), Err(PieceCidError::Codec { codec: RAW, .. })));
        let raw_sha =
            parse_cid("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku").unwrap();
        assert!(matches!(
            Piece::from_cid(&raw_sha),
            Err(PieceCidError::Multihash { code: 0x12, .. })
        ));
        assert!(matches!("nope".parse::<Piece>(), Err(PieceCidError::Parse { .. })));
        assert!(matches!(
            Piece::from_cid_v1(&v1_cid, 1000),
            Err(PieceCidError::Size { reason: SizeError::NotPowerOfTwo(1000), .. })
        ));
    }

    fn v2_with_digest(digest: &[u8]) -> Cid {
        Cid::new_v1(RAW, Multihash::wrap(FR32_SHA256_TRUNC254_PADBINTREE, digest).unwrap())
    }

    #[test]
    fn rejects_malformed_digests() {
        let mut d = vec![0x00, 2];
        d.extend_from_slice(&[0u8; 32]);
        assert!(Piece::from_cid(&v2_with_digest(&d)).is_ok());
        // Too short / too long.
        assert!(matches!(
            Piece::from_cid(&v2_with_digest(&d[..33])),
            Err(PieceCidError::DigestLength { .. })
        ));
        let mut long = d.clone();
        long.push(0);
        assert!(matches!(
            Piece::from_cid(&v2_with_digest(&long)),
            Err(PieceCidError::DigestLength { .. })
        ));
        // Non-minimal varint (0 as 0x80 0x00).
        let mut nm = vec![0x80, 0x00, 2];
        nm.extend_from_slice(&[0u8; 32]);
        assert!(matches!(
            Piece::from_cid(&v2_with_digest(&nm)),
            Err(PieceCidError::PaddingVarint { .. })
        ));
        // Truncated varint.
        assert!(matches!(
            Piece::from_cid(&v2_with_digest(&[0x80])),
            Err(PieceCidError::PaddingVarint { .. })
        ));
        assert!(matches!(
            Piece::from_cid(&v2_with_digest(&[])),
            Err(PieceCidError::PaddingVarint { .. })
        ));
        // Height out of range.
        for h in [0u8, 1, 59, 255] {
            let mut bad = vec![0x00, h];
            bad.extend_from_slice(&[0u8; 32]);
            assert!(matches!(
                Piece::from_cid(&v2_with_digest(&bad)),
                Err(PieceCidError::Size { reason: SizeError::Height(x), .. }) if x == h
            ));
        }
        // Padding larger than the tree (128 > 127 at height 2).
        let mut big = vec![0x80, 0x01, 2];
        big.extend_from_slice(&[0u8; 32]);
        assert!(matches!(
            Piece::from_cid(&v2_with_digest(&big)),
            Err(PieceCidError::Size { reason: SizeError::Padding { .. }, .. })
        ));
    }

    #[test]
    fn round_trips_every_height() {
        for height in size::MIN_HEIGHT..=size::MAX_CID_HEIGHT {
            let capacity = size::unpadded_size_of_height(height).unwrap();
            for padding in [0, 1, capacity / 2, capacity] {
                let p = Piece::new([height; 32], height, padding).unwrap();
                assert_eq!(Piece::from_cid(&p.cid()).unwrap(), p);
                let (c1, padded) = v2_to_v1(&p.cid()).unwrap();
                assert_eq!(padded, p.padded_size());
                assert_eq!(
                    Piece::from_cid_v1(&c1, padded).unwrap(),
                    Piece::new(p.root, height, 0).unwrap()
                );
            }
        }
    }
}
