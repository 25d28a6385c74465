//! The bindings as JavaScript sees them, run by wasm-bindgen-test in Node (the default) and in
//! headless Chromium (`WASM_BINDGEN_USE_BROWSER=1`, see `./dev test`). Results are checked against
//! carport-core called directly.
#![cfg(target_arch = "wasm32")]

use carport_core::car::pack::CarSink;
use carport_core::unixfs::file::import_bytes;
use carport_core::unixfs::settings::Profile;
use carport_wasm::{digest, list, read_file, CarBlocks, CarCid, CarVerifier, Packer, Piece};
use js_sys::{Array, Function, Map, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &k.into()).unwrap()
}

fn opts(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Shard files assembled from a packer's output, with each shard's description.
fn assemble(events: &[JsValue]) -> Vec<(JsValue, Vec<u8>)> {
    let mut shards = Vec::new();
    let mut body = Vec::new();
    for ev in events {
        if let Some(bytes) = ev.dyn_ref::<Uint8Array>() {
            body.extend(bytes.to_vec());
        } else {
            let header = get(ev, "header").dyn_into::<Uint8Array>().unwrap().to_vec();
            let trailer = get(ev, "trailer").dyn_into::<Uint8Array>().unwrap().to_vec();
            let file = [header, std::mem::take(&mut body), trailer].concat();
            assert_eq!(file.len() as f64, get(ev, "size").as_f64().unwrap());
            shards.push((ev.clone(), file));
        }
    }
    assert!(body.is_empty());
    shards
}

fn pack_one(options: JsValue, bytes: &[u8], slice: usize) -> (String, Vec<(JsValue, Vec<u8>)>) {
    let mut p = Packer::new(options, false).unwrap();
    p.begin_file("", None, None).unwrap();
    let mut events: Vec<JsValue> = Vec::new();
    for part in bytes.chunks(slice.max(1)) {
        events.extend(p.write(part).unwrap().iter());
    }
    let root = p.finish().unwrap();
    events.extend(p.take().unwrap().iter());
    (root, assemble(&events))
}

#[wasm_bindgen_test]
fn packs_one_file_as_core_does() {
    for profile in Profile::ALL {
        let input = data(2_500_000, 7);
        let (root, shards) = pack_one(opts(&[("profile", profile.name().into())]), &input, 300_000);
        let settings = profile.settings();
        let (link, mut blocks) = import_bytes(&settings, &input);
        assert_eq!(root, link.cid.to_string());
        let mut sink = CarSink::new(1, &settings.cid, false);
        sink.put(&mut blocks);
        let mut car = sink.take_bytes();
        let packed = sink.finish(link.cid);
        car.extend(packed.tail);
        packed.finished.complete(&mut car);
        assert_eq!(shards.len(), 1);
        assert_eq!(shards[0].1, car, "{profile}");
    }
}

#[wasm_bindgen_test]
fn shards_verify_as_a_set() {
    let input = data(5_000_000, 3);
    let (root, shards) = pack_one(
        opts(&[("shardSize", 1_500_000.into()), ("carVersion", 2.into())]),
        &input,
        1 << 20,
    );
    assert!(shards.len() >= 4);
    let mut v = CarVerifier::new(Some(root.clone())).unwrap();
    for (i, (end, file)) in shards.iter().enumerate() {
        assert!(file.len() <= 1_500_000);
        let last = i + 1 == shards.len();
        assert_eq!(get(end, "last").as_bool(), Some(last));
        let roots: Array = get(end, "roots").into();
        assert_eq!(roots.length(), if last { 1 } else { 0 });
        if i > 0 {
            v.next_car().unwrap();
        }
        v.push(file).unwrap();
        // Alone, a shard's blocks all check out.
        let mut alone = CarVerifier::new(None).unwrap();
        alone.push(file).unwrap();
        alone.finish_unrooted().unwrap();
    }
    let report = v.finish().unwrap();
    assert_eq!(get(&report, "version").as_f64(), Some(2.0));
    assert_eq!(Array::from(&get(&report, "roots")).get(0).as_string(), Some(root));
}

#[wasm_bindgen_test]
fn typed_errors_reach_javascript() {
    let e = Packer::new(opts(&[("profile", "nope".into())]), false).err().unwrap();
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("Settings"));
    assert!(e.dyn_ref::<js_sys::Error>().is_some());

    let e = Packer::new(opts(&[("shardSize", 10.into())]), false).err().unwrap();
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("ShardSize"));

    let (root, shards) = pack_one(JsValue::UNDEFINED, &data(3000, 1), 1000);
    let mut car = shards[0].1.clone();
    let last = car.len() - 1;
    car[last] ^= 1;
    // The bad block (the root, last) is named by `push` or, at the latest, by `finish`.
    let mut v = CarVerifier::new(None).unwrap();
    let e = v.push(&car).err().or_else(|| v.finish().err()).unwrap();
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("HashMismatch"));
    assert_eq!(get(&e, "cid").as_string(), Some(root));
    assert!(get(&e, "offset").as_f64().unwrap() > 0.0);
}

#[wasm_bindgen_test]
fn a_tree_lists_and_reads_back() {
    let mut p = Packer::new(opts(&[("profile", "unixfs-v0-2015".into())]), true).unwrap();
    let files = [
        ("a.txt", data(10, 1)),
        ("d/b.bin", data(300_000, 2)),
        ("d/e/c.txt", data(0, 3)),
        (".hidden", data(5, 4)),
    ];
    let mut events: Vec<JsValue> = Vec::new();
    for (path, bytes) in &files {
        if !p.includes(path) {
            continue;
        }
        p.begin_file(path, Some(0o644), Some(1_700_000_000_123.0)).unwrap();
        events.extend(p.write(bytes).unwrap().iter());
        p.end_file().unwrap();
        events.extend(p.take().unwrap().iter());
    }
    p.add_dir("empty", None, None).unwrap();
    let root = p.finish().unwrap();
    events.extend(p.take().unwrap().iter());
    let shards = assemble(&events);

    let blocks = Map::new();
    let mut reader = CarBlocks::new();
    let mut pairs: Vec<JsValue> = reader.push(&shards[0].1).unwrap().iter().collect();
    pairs.extend(reader.close().unwrap().iter());
    for pair in pairs {
        let pair: Array = pair.into();
        blocks.set(&pair.get(0), &pair.get(1));
    }
    assert_eq!(reader.roots().get(0).as_string(), Some(root.clone()));
    let getter = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |cid: JsValue| blocks.get(&cid));
    let getter: &Function = getter.as_ref().unchecked_ref();
    let entries = list(&root, getter, None).unwrap();
    let paths: Vec<String> = entries.iter().map(|e| get(&e, "path").as_string().unwrap()).collect();
    assert_eq!(paths, ["", "a.txt", "d", "d/b.bin", "d/e", "d/e/c.txt", "empty"]);
    let b =
        entries.iter().find(|e| get(e, "path").as_string().as_deref() == Some("d/b.bin")).unwrap();
    assert_eq!(get(&b, "mode").as_f64(), Some(0o644 as f64));
    let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink_out = out.clone();
    let sink = Closure::<dyn Fn(Uint8Array)>::new(move |bytes: Uint8Array| {
        sink_out.borrow_mut().extend(bytes.to_vec())
    });
    let n = read_file(&get(&b, "cid").as_string().unwrap(), getter, sink.as_ref().unchecked_ref())
        .unwrap();
    assert_eq!(n, 300_000.0);
    assert_eq!(*out.borrow(), files[1].1);
}

#[wasm_bindgen_test]
fn hashes() {
    // blake3("") and sha2-256("abc"), from their specifications.
    let hex = |b: Vec<u8>| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        hex(digest("blake3", b"").unwrap()),
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    assert_eq!(
        hex(digest("sha2-256", b"abc").unwrap()),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(digest("md5", b"").is_err());
    let mut c = CarCid::new();
    c.update(b"abc");
    assert!(c.finish().unwrap().starts_with("bagbaiera"));
    // The smallest piece: 127 zero bytes (go-fil-commp-hashhash's vector).
    let mut p = Piece::new();
    p.update(&[0u8; 127]);
    let info = p.finish().unwrap();
    assert_eq!(
        get(&info, "cidV1").as_string().as_deref(),
        Some("baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy")
    );
    assert_eq!(get(&info, "paddedSize").as_f64(), Some(128.0));
}

/// The piece hasher as shipped (SIMD lanes under simd128) against the plainest tree: fr32-pad,
/// zero-fill, hash pairs level by level one at a time. The sizes cross the 64-quad batches and
/// their tails.
#[wasm_bindgen_test]
fn piece_matches_the_plain_tree() {
    use carport_core::piece::{fr32, node::hash_pair, size, Node, Piece as PieceOf};
    for (k, len) in
        [65, 127, 254, 8128, 8128 * 2 + 127 * 3 + 5, 8128 * 9 - 1, 1 << 20].into_iter().enumerate()
    {
        let bytes = data(len, k as u32);
        let height = size::height_of_payload(len as u64).unwrap();
        let mut padded = fr32::pad(&bytes);
        padded.resize(32 << height, 0);
        let mut level: Vec<Node> = padded.chunks_exact(32).map(|c| c.try_into().unwrap()).collect();
        while level.len() > 1 {
            level = level.chunks_exact(2).map(|p| hash_pair(&p[0], &p[1])).collect();
        }
        let plain = PieceOf::from_payload_size(level[0], len as u64).unwrap().cid().to_string();
        let mut p = Piece::new();
        p.update(&bytes);
        assert_eq!(get(&p.finish().unwrap(), "cid").as_string(), Some(plain), "{len} bytes");
    }
}

/// Four messages hashed in SIMD lanes against each hashed alone, across the padding's edges.
#[wasm_bindgen_test]
fn sha256_four_matches_one_at_a_time() {
    use carport_core::codec::sha256x4::sha256_four;
    for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 1 << 20] {
        let m: [Vec<u8>; 4] = core::array::from_fn(|j| data(len, j as u32 + 1));
        let one: Vec<Vec<u8>> = m.iter().map(|x| digest("sha2-256", x).unwrap()).collect();
        let four = sha256_four(m.each_ref().map(|x| x.as_slice()));
        assert_eq!(four.iter().map(|d| d.to_vec()).collect::<Vec<_>>(), one, "{len} bytes");
    }
}
