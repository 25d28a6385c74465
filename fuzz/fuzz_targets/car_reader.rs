#![no_main]
//! Any bytes, pushed in any split: the reader and verifier never panic.

use carport_core::car::verify::Verifier;
use carport_core::car::{CarReader, Event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(1, |&b| usize::from(b) + 1);
    let mut reader = CarReader::new();
    let mut parts = data.chunks(split);
    loop {
        match reader.next_event() {
            Ok(Some(Event::End)) | Err(_) => break,
            Ok(Some(_)) => {}
            Ok(None) => match parts.next() {
                Some(p) => reader.push(p),
                None => reader.close(),
            },
        }
    }
    let mut v = Verifier::new(None);
    if v.push(data).is_ok() {
        let _ = v.finish();
    }
});
