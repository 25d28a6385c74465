//! Property: whatever the tree and settings, pack → CAR → unpack gives the input back, and the
//! CAR verifies.

use std::collections::{BTreeMap, HashMap};

use carport_core::car::verify::verify_bytes;
use carport_core::car::{read_all, CarWriter};
use carport_core::codec::block::Block;
use carport_core::unixfs::chunker::ChunkerSpec;
use carport_core::unixfs::file::Metadata;
use carport_core::unixfs::import::Importer;
use carport_core::unixfs::settings::{Profile, Settings, ShardRule};
use carport_core::unixfs::walk::{self, Kind};
use carport_core::Cid;
use proptest::prelude::*;

fn settings() -> impl Strategy<Value = Settings> {
    (
        prop_oneof![
            Just(Profile::UnixfsV0_2015),
            Just(Profile::UnixfsV1_2025),
            Just(Profile::IpfsCar)
        ],
        prop_oneof![
            (1usize..300).prop_map(ChunkerSpec::Size),
            Just(ChunkerSpec::Rabin { min: 16, avg: 32, max: 64 }),
        ],
        2usize..5,
        prop_oneof![
            Just(ShardRule::EntryCount(3)),
            Just(ShardRule::BlockSize(200)),
            Just(ShardRule::LinksEstimate(100))
        ],
    )
        .prop_map(|(p, chunker, max_links, shard)| Settings {
            chunker,
            max_links,
            shard,
            ..p.settings()
        })
}

fn tree() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    let name = "[a-zé日😀_.-]{1,6}".prop_filter("not . or ..", |n| n != "." && n != "..");
    let path = prop::collection::vec(name, 1..4).prop_map(|p| p.join("/"));
    prop::collection::btree_map(path, prop::collection::vec(any::<u8>(), 0..2000), 1..12)
}

fn pack(
    settings: &Settings,
    files: &BTreeMap<String, Vec<u8>>,
    step: usize,
) -> Option<(Cid, Vec<u8>)> {
    let mut imp = Importer::new(settings.clone()).unwrap();
    let mut out: Vec<Block> = Vec::new();
    for (path, bytes) in files {
        // A path that is also a folder of another path cannot be added; skip such draws.
        if imp.begin_file(path, Metadata::default()).is_err() {
            return None;
        }
        for part in bytes.chunks(step.max(1)) {
            imp.write(part, &mut out).unwrap();
        }
        imp.end_file(&mut out).unwrap();
    }
    let root = imp.finish(&mut out).unwrap().cid;
    let mut sink = carport_core::car::pack::CarSink::new(1, &settings.cid, false);
    sink.put(&mut out);
    let mut car = sink.take_bytes();
    let packed = sink.finish(root);
    car.extend(packed.tail);
    packed.finished.complete(&mut car);
    Some((root, car))
}

/// ipfs-car roots a tree at its files' deepest common folder.
fn strip_common_folder(mut files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    loop {
        let first =
            files.keys().next().and_then(|p| p.split_once('/')).map(|(head, _)| format!("{head}/"));
        match first {
            Some(head) if files.keys().all(|p| p.starts_with(&head)) => {
                files = files.into_iter().map(|(p, b)| (p[head.len()..].to_string(), b)).collect();
            }
            _ => return files,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn pack_then_unpack_gives_the_input_back(settings in settings(), files in tree(), step in 1usize..700) {
        let Some((root, car)) = pack(&settings, &files, step) else { return Ok(()) };
        prop_assert_eq!(verify_bytes(&car, Some(root)).map(|r| r.roots), Ok(vec![root]));
        let (_, blocks) = read_all(&car).unwrap();
        let mut store: HashMap<Cid, Vec<u8>> = blocks.into_iter().map(|(c, d, _)| (c, d)).collect();
        let mut got = BTreeMap::new();
        for e in walk::list(&mut store, &root).unwrap() {
            if let Kind::File { size } = e.kind {
                let mut bytes = Vec::new();
                walk::read_file(&mut store, &e.cid, &mut |b| { bytes.extend_from_slice(b); Ok(()) }).unwrap();
                prop_assert_eq!(bytes.len() as u64, size);
                got.insert(e.path, bytes);
            }
        }
        let want = if settings.files_only { strip_common_folder(files) } else { files };
        prop_assert_eq!(got, want);
    }

    #[test]
    fn a_v2_car_reads_like_its_v1(settings in settings(), files in tree()) {
        let Some((root, v1)) = pack(&settings, &files, 4096) else { return Ok(()) };
        let (_, blocks) = read_all(&v1).unwrap();
        let (mut w, mut v2) = CarWriter::new(2, &[root]);
        for (cid, data, _) in &blocks {
            w.block(cid, data, &mut v2);
        }
        w.finish(&[root]).complete(&mut v2);
        prop_assert_eq!(verify_bytes(&v2, Some(root)).map(|r| r.blocks), Ok(blocks.len() as u64));
    }
}
