#![no_main]
//! Any bytes: the dag-pb and UnixFS decoders never panic, and what decodes re-encodes to the
//! same bytes (dag-pb is canonical).

use carport_core::codec::dagpb::PbNode;
use carport_core::unixfs::Data;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(node) = PbNode::decode(data) {
        assert_eq!(node.encode(), data, "dag-pb decode → encode changed the bytes");
        if let Some(d) = &node.data {
            let _ = Data::decode(d);
        }
    }
    let _ = Data::decode(data);
});
