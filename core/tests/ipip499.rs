//! IPIP-499 fixture vectors and kubo's `test/cli/cid_profiles_test.go` vectors.
//!
//! The inputs are kubo's deterministic test data (`test/cli/testutils/random_deterministic.go`):
//! the raw ChaCha20 (RFC 8439) keystream with key = SHA-256(seed), a 12-byte zero nonce and block
//! counter 0. Directory fixtures (`test/cli/add_test.go createDeterministicFiles`) take names from
//! one such stream: each name is the next `len` bytes, each byte mapped to
//! `"abcdefghijklmnopqrstuvwxyz01234567890-_"[b % 39]`; the last file's name may have its own
//! length; every file holds the single byte `x`.
//!
//! Large files are generated and fed in 1 MiB pieces so memory stays flat (the v1 max-links
//! files are 1 GiB).

use carport_core::codec::block::Block;
use carport_core::unixfs::file::{import_bytes, FileBuilder, Metadata};
use carport_core::unixfs::import::Importer;
use carport_core::unixfs::layout::{LayoutKind, Link};
use carport_core::unixfs::settings::{Profile, Settings};
use carport_core::unixfs::{Data, NodeType};
use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;
use sha2::{Digest, Sha256};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// kubo's `DeterministicRandomReader(size, seed)` as an endless keystream.
struct DetStream(ChaCha20);

impl DetStream {
    fn new(seed: &str) -> Self {
        let key: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
        DetStream(ChaCha20::new(&key.into(), &[0u8; 12].into()))
    }

    /// Overwrites `buf` with the next keystream bytes.
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0);
        self.0.apply_keystream(buf);
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }
}

/// The first `size` bytes of the stream for `seed`, imported through a streaming [`FileBuilder`]
/// in 1 MiB writes; blocks are dropped as they come.
fn stream_file(settings: &Settings, size: u64, seed: &str) -> Link {
    let mut stream = DetStream::new(seed);
    let mut buf = vec![0u8; MIB as usize];
    let mut out: Vec<Block> = Vec::new();
    let mut builder = FileBuilder::new(settings, Metadata::default());
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        stream.fill(&mut buf[..n]);
        builder.write(&buf[..n], &mut out);
        out.clear();
        left -= n as u64;
    }
    let root = builder.finish(&mut out);
    assert_eq!(root.filesize, size);
    root
}

fn small_file(profile: Profile, size: u64, seed: &str) -> Link {
    let bytes = DetStream::new(seed).bytes(size as usize);
    let (root, _) = import_bytes(&profile.settings(), &bytes);
    assert_eq!(root.filesize, size);
    root
}

/// `createDeterministicFiles(numFiles, nameLen, lastNameLen, seed)`'s names.
fn dir_names(files: usize, name_len: usize, last_name_len: usize, seed: &str) -> Vec<String> {
    const ALPHABET: &[u8; 39] = b"abcdefghijklmnopqrstuvwxyz01234567890-_";
    let mut stream = DetStream::new(seed);
    (0..files)
        .map(|i| {
            let len = if i == files - 1 { last_name_len } else { name_len };
            stream
                .bytes(len)
                .iter()
                .map(|&b| ALPHABET[b as usize % ALPHABET.len()] as char)
                .collect()
        })
        .collect()
}

/// Imports a folder of files named `names`, each holding `x`, and returns the root link and the
/// UnixFS type of the root node.
fn dir_of_x(profile: Profile, names: &[String]) -> (Link, NodeType) {
    let mut imp = Importer::new(profile.settings()).unwrap();
    let mut out = Vec::new();
    for name in names {
        imp.begin_file(name, Metadata::default()).unwrap();
        imp.write(b"x", &mut out).unwrap();
        imp.end_file(&mut out).unwrap();
    }
    let root = imp.finish(&mut out).unwrap();
    (root.clone(), root_kind(&out, &root))
}

fn root_kind(blocks: &[Block], root: &Link) -> NodeType {
    let block = blocks.iter().find(|b| b.cid == root.cid).expect("root block emitted");
    let node = carport_core::codec::dagpb::PbNode::decode(&block.data).unwrap();
    Data::decode(node.data.as_deref().unwrap()).unwrap().kind
}

fn assert_cid(root: &Link, want: &str) {
    assert_eq!(root.cid.to_string(), want);
}

// ---- unixfs-v0-2015 ---------------------------------------------------------------------------

#[test]
fn v0_small_file() {
    let (root, _) = import_bytes(&Profile::UnixfsV0_2015.settings(), b"hello world");
    assert_cid(&root, "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
}

#[test]
fn v0_file_at_chunk_size() {
    let root = small_file(Profile::UnixfsV0_2015, 256 * KIB, "chunk-v0-seed");
    assert_cid(&root, "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE");
}

#[test]
fn v0_file_over_chunk_size() {
    let root = small_file(Profile::UnixfsV0_2015, 256 * KIB + 1, "chunk-v0-seed");
    assert_cid(&root, "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ");
}

#[test]
fn v0_file_at_max_links() {
    let root = stream_file(&Profile::UnixfsV0_2015.settings(), 174 * 256 * KIB, "v0-seed");
    assert_cid(&root, "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2");
}

#[test]
fn v0_file_over_max_links() {
    let root = stream_file(&Profile::UnixfsV0_2015.settings(), 174 * 256 * KIB + 1, "v0-seed");
    assert_cid(&root, "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW");
}

/// links-bytes = 4096 × (30 + 34) = 262144: exactly at the threshold, stays basic.
#[test]
fn v0_dir_at_hamt_threshold() {
    let names = dir_names(4096, 30, 30, "hamt-unixfs-v0-2015");
    let (root, kind) = dir_of_x(Profile::UnixfsV0_2015, &names);
    assert_eq!(kind, NodeType::Directory);
    assert_cid(&root, "QmX5GtRk3TSSEHtdrykgqm4eqMEn3n2XhfkFAis5fjyZmN");
}

/// links-bytes = 4033 × (31 + 34) = 262145: one over, sharded.
#[test]
fn v0_dir_over_hamt_threshold() {
    let names = dir_names(4033, 31, 31, "hamt-unixfs-v0-2015");
    let (root, kind) = dir_of_x(Profile::UnixfsV0_2015, &names);
    assert_eq!(kind, NodeType::HamtShard);
    assert_cid(&root, "QmeMiJzmhpJAUgynAcxTQYek5PPKgdv3qEvFsdV3XpVnvP");
}

#[test]
fn v0_empty_dir() {
    let root =
        Importer::new(Profile::UnixfsV0_2015.settings()).unwrap().finish(&mut Vec::new()).unwrap();
    assert_cid(&root, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
}

/// gateway-conformance `symlink.car`: `testfiles/foo` = "content\n", `testfiles/bar` -> `foo`,
/// `ipfs add -Qr testfiles` (kubo defaults = v0).
#[test]
fn v0_preserved_symlink() {
    let mut imp = Importer::new(Profile::UnixfsV0_2015.settings()).unwrap();
    let mut out = Vec::new();
    imp.begin_file("foo", Metadata::default()).unwrap();
    imp.write(b"content\n", &mut out).unwrap();
    imp.end_file(&mut out).unwrap();
    imp.add_symlink("bar", "foo", Metadata::default(), &mut out).unwrap();
    let root = imp.finish(&mut out).unwrap();
    assert_cid(&root, "QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt");
}

/// kubo `test/cli/dag_layout_test.go`: `ipfs add --trickle` of 45 MiB from seed "trickle-test"
/// with kubo's defaults (the v0 profile).
#[test]
fn v0_trickle_45mib() {
    let settings = Settings { layout: LayoutKind::Trickle, ..Profile::UnixfsV0_2015.settings() };
    let root = stream_file(&settings, 45 * MIB, "trickle-test");
    assert_cid(&root, "QmbqR6g7YCpndLcCZZXkGyj13uMcSrwDYUvZ47vJqBVjUH");
}

// ---- unixfs-v1-2025 ---------------------------------------------------------------------------

#[test]
fn v1_small_file() {
    let (root, _) = import_bytes(&Profile::UnixfsV1_2025.settings(), b"hello world");
    assert_cid(&root, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
}

#[test]
fn v1_file_at_chunk_size() {
    let root = small_file(Profile::UnixfsV1_2025, MIB, "chunk-v1-seed");
    assert_cid(&root, "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta");
}

#[test]
fn v1_file_over_chunk_size() {
    let root = small_file(Profile::UnixfsV1_2025, MIB + 1, "chunk-v1-seed");
    assert_cid(&root, "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64");
}

#[test]
fn v1_file_at_max_links() {
    let root = stream_file(&Profile::UnixfsV1_2025.settings(), 1024 * MIB, "v1-2025-seed");
    assert_cid(&root, "bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm");
}

#[test]
fn v1_file_over_max_links() {
    let root = stream_file(&Profile::UnixfsV1_2025.settings(), 1024 * MIB + 1, "v1-2025-seed");
    assert_cid(&root, "bafybeibdsi225ugbkmpbdohnxioyab6jsqrmkts3twhpvfnzp77xtzpyhe");
}

/// block-bytes = 4 + 4765 × 55 + 65 = 262144: exactly at the threshold, stays basic.
#[test]
fn v1_dir_at_hamt_threshold() {
    let names = dir_names(4766, 11, 21, "hamt-unixfs-v1-2025");
    let (root, kind) = dir_of_x(Profile::UnixfsV1_2025, &names);
    assert_eq!(kind, NodeType::Directory);
    assert_cid(&root, "bafybeic3h7rwruealwxkacabdy45jivq2crwz6bufb5ljwupn36gicplx4");
}

/// block-bytes = 4 + 4765 × 55 + 66 = 262145: one over, sharded.
#[test]
fn v1_dir_over_hamt_threshold() {
    let names = dir_names(4766, 11, 22, "hamt-unixfs-v1-2025");
    let (root, kind) = dir_of_x(Profile::UnixfsV1_2025, &names);
    assert_eq!(kind, NodeType::HamtShard);
    assert_cid(&root, "bafybeiegvuterwurhdtkikfhbxcldohmxp566vpjdofhzmnhv6o4freidu");
}

#[test]
fn v1_empty_dir() {
    let root =
        Importer::new(Profile::UnixfsV1_2025.settings()).unwrap().finish(&mut Vec::new()).unwrap();
    assert_cid(&root, "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
}

// ---- the generator itself ---------------------------------------------------------------------

/// RFC 8439 §2.4.2's key and the zero nonce: the keystream starts as the known ChaCha20 block, so
/// a wrong nonce size or counter start shows up here rather than as a wrong CID.
#[test]
fn generator_is_ietf_chacha20_from_counter_zero() {
    // ChaCha20 with an all-zero key and nonce, block 0 (RFC 8439 appendix A.1, test vector #1).
    let mut zero = DetStream(ChaCha20::new(&[0u8; 32].into(), &[0u8; 12].into()));
    let head = zero.bytes(16);
    assert_eq!(
        head,
        [
            0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86,
            0xbd, 0x28
        ]
    );
    // The stream is continuous: split reads give the same bytes as one read.
    let whole = DetStream::new("v0-seed").bytes(1000);
    let mut parts = DetStream::new("v0-seed");
    let mut split = parts.bytes(333);
    split.extend(parts.bytes(667));
    assert_eq!(whole, split);
}
