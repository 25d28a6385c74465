#![no_main]
//! The upload door's shard check over any bytes, in any split: it never panics, and a shard it
//! takes has a piece CID, an index that locates every block, and no bytes outside its blocks.

use carport_core::gateway::block_index::shard_rows;
use carport_core::ingest::ShardIngest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(1, |&b| usize::from(b) + 1);
    let mut ingest = ShardIngest::new(1 << 20);
    for part in data.chunks(split) {
        if ingest.push(part).is_err() {
            return;
        }
    }
    if let Ok(shard) = ingest.finish() {
        assert_eq!(shard.size, data.len() as u64);
        let rows = shard_rows(&shard.index).expect("the index the door wrote reads back");
        for row in rows.values().flatten() {
            assert!(row.section.end <= shard.size);
        }
    }
});
