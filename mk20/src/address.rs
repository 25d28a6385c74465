//! Filecoin secp256k1 (`f1`) addresses.
//!
//! The deal's `client` field, the CurioAuth header and a provider's client allow-list all name the
//! client by its Filecoin address. For a secp256k1 key that is protocol 1 with a 20-byte payload,
//! the blake2b-160 of the uncompressed public key. Its bytes (`address.Address.Bytes()` in
//! go-address) are `0x01 || payload`; its text is the network prefix, the protocol digit and the
//! lower-case, unpadded RFC 4648 base32 of `payload || checksum`, where the checksum is the
//! blake2b-32 of the address bytes.

/// The address protocol of secp256k1 keys.
pub const SECP256K1_PROTOCOL: u8 = 1;

/// Bytes of a secp256k1 address: the protocol byte and a 20-byte payload.
pub const SECP256K1_ADDRESS_LEN: usize = 21;

/// Which network an address is written for: Curio prints addresses with its own network's prefix
/// and compares the deal's `client` with that text, so the client must use the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Network {
    /// `f` addresses.
    Mainnet,
    /// `t` addresses (calibration net, devnets).
    Testnet,
}

impl Network {
    /// The network an address text belongs to, from its first character.
    pub fn of_address(address: &str) -> Option<Network> {
        match address.as_bytes().first() {
            Some(b'f') => Some(Network::Mainnet),
            Some(b't') => Some(Network::Testnet),
            _ => None,
        }
    }

    fn prefix(self) -> char {
        match self {
            Network::Mainnet => 'f',
            Network::Testnet => 't',
        }
    }
}

/// The address bytes of an uncompressed (65-byte, `0x04 || x || y`) secp256k1 public key.
pub fn secp256k1_address_bytes(uncompressed_pubkey: &[u8]) -> [u8; SECP256K1_ADDRESS_LEN] {
    let payload = blake2b(20, uncompressed_pubkey);
    let mut bytes = [0u8; SECP256K1_ADDRESS_LEN];
    bytes[0] = SECP256K1_PROTOCOL;
    bytes[1..].copy_from_slice(payload.as_bytes());
    bytes
}

/// The text of a secp256k1 address given as its bytes.
pub fn secp256k1_address_string(bytes: &[u8; SECP256K1_ADDRESS_LEN], network: Network) -> String {
    let checksum = blake2b(4, bytes);
    let mut body = Vec::with_capacity(SECP256K1_ADDRESS_LEN - 1 + 4);
    body.extend_from_slice(&bytes[1..]);
    body.extend_from_slice(checksum.as_bytes());
    let mut out = String::with_capacity(2 + 40);
    out.push(network.prefix());
    out.push(char::from(b'0' + SECP256K1_PROTOCOL));
    out.push_str(&base32_lower(&body));
    out
}

fn blake2b(len: usize, data: &[u8]) -> blake2b_simd::Hash {
    blake2b_simd::Params::new().hash_length(len).hash(data)
}

/// RFC 4648 base32, lower case, without padding.
fn base32_lower(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut acc = 0u32;
    let mut bits = 0;
    for &byte in data {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go-address `TestVectorSecp256k1Address` (filecoin-project/go-address 4e4546cb,
    /// address_test.go): uncompressed public keys and their addresses.
    const GO_ADDRESS_VECTORS: [([u8; 65], &str); 2] = [
        (
            [
                4, 148, 2, 250, 195, 126, 100, 50, 164, 22, 163, 160, 202, 84, 38, 181, 24, 90,
                179, 178, 79, 97, 52, 239, 162, 92, 228, 135, 200, 45, 46, 78, 19, 191, 69, 37, 17,
                224, 210, 36, 84, 33, 248, 97, 59, 193, 13, 114, 250, 33, 102, 102, 169, 108, 59,
                193, 57, 32, 211, 255, 35, 63, 208, 188, 5,
            ],
            "15ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdrq",
        ),
        (
            [
                4, 118, 135, 185, 16, 55, 155, 242, 140, 190, 58, 234, 103, 75, 18, 0, 12, 107,
                125, 186, 70, 255, 192, 95, 108, 148, 254, 42, 34, 187, 204, 38, 2, 255, 127, 92,
                118, 242, 28, 165, 93, 54, 149, 145, 82, 176, 225, 232, 135, 145, 124, 57, 53, 118,
                238, 240, 147, 246, 30, 189, 58, 208, 111, 127, 218,
            ],
            "12fiakbhe2gwd5cnmrenekasyn6v5tnaxaqizq6a",
        ),
    ];

    #[test]
    fn matches_go_address_vectors() {
        for (pubkey, rest) in GO_ADDRESS_VECTORS {
            let bytes = secp256k1_address_bytes(&pubkey);
            assert_eq!(secp256k1_address_string(&bytes, Network::Mainnet), format!("f{rest}"));
            assert_eq!(secp256k1_address_string(&bytes, Network::Testnet), format!("t{rest}"));
        }
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32_lower(b""), "");
        assert_eq!(base32_lower(b"f"), "my");
        assert_eq!(base32_lower(b"fo"), "mzxq");
        assert_eq!(base32_lower(b"foo"), "mzxw6");
        assert_eq!(base32_lower(b"foob"), "mzxw6yq");
        assert_eq!(base32_lower(b"fooba"), "mzxw6ytb");
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn network_comes_from_the_first_character() {
        assert_eq!(Network::of_address("f01000"), Some(Network::Mainnet));
        assert_eq!(Network::of_address("t01000"), Some(Network::Testnet));
        assert_eq!(Network::of_address("x01000"), None);
        assert_eq!(Network::of_address(""), None);
    }
}
