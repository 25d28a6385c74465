//! Reading an upstream body in large pieces: workerd's `readAtLeast` on a BYOB reader fills a
//! whole buffer per call, where the default reader hands over whatever one network read brought
//! (a few KiB), each with its own promise, typed array and copy. For a verified file that
//! per-piece cost, not hashing, is what bounds the speed.
//!
//! The buffers are reused, within a body and across requests (a few wait in the isolate): a
//! fresh 1 MiB `ArrayBuffer` is zero-filled by V8, which cost a small verified file more than
//! anything else the worker did for it.

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Response, ResponseBody};

/// Bytes asked for per read, and the fewest a read waits for (unless the body ends first).
const PIECE: u32 = 1 << 20;
const AT_LEAST: u32 = 16 << 10;
/// Buffers kept for the next bodies: about as many as bodies read at once.
const POOL: usize = 4;

thread_local! {
    static SPARE: RefCell<Vec<ArrayBuffer>> = const { RefCell::new(Vec::new()) };
}

pub struct BodyReader {
    reader: JsValue,
    read_at_least: Function,
    /// The buffer of the last piece, given back by [`BodyReader::give_back`] for the next read.
    buffer: Option<ArrayBuffer>,
}

impl BodyReader {
    /// A reader of `resp`'s body, or `None` when it has none or the runtime lacks `readAtLeast`.
    pub fn new(resp: &Response) -> Option<Self> {
        let ResponseBody::Stream(stream) = resp.body() else { return None };
        let get_reader =
            Reflect::get(stream, &"getReader".into()).ok()?.dyn_into::<Function>().ok()?;
        let opts = Object::new();
        Reflect::set(&opts, &"mode".into(), &"byob".into()).ok()?;
        let reader = get_reader.call1(stream, &opts).ok()?;
        let read_at_least =
            Reflect::get(&reader, &"readAtLeast".into()).ok()?.dyn_into::<Function>().ok()?;
        Some(BodyReader { reader, read_at_least, buffer: None })
    }

    /// The next piece of the body, `None` at its end. The piece lives in JavaScript memory: copy
    /// it where it goes, then [`give_back`](Self::give_back) it.
    pub async fn next(&mut self) -> Option<Result<Uint8Array, String>> {
        let buffer = self
            .buffer
            .take()
            .or_else(|| SPARE.with(|s| s.borrow_mut().pop()))
            .unwrap_or_else(|| ArrayBuffer::new(PIECE));
        let read =
            self.read_at_least.call2(&self.reader, &AT_LEAST.into(), &Uint8Array::new(&buffer));
        let result = match read.map(|p| p.dyn_into::<Promise>()) {
            Ok(Ok(p)) => JsFuture::from(p).await,
            Ok(Err(v)) | Err(v) => Err(v),
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => return Some(Err(js_message(&e))),
        };
        let value = Reflect::get(&result, &"value".into()).ok()?.dyn_into::<Uint8Array>().ok();
        if Reflect::get(&result, &"done".into()).ok().and_then(|d| d.as_bool()) == Some(true) {
            if let Some(v) = value {
                self.give_back(v);
            }
            return None;
        }
        Some(Ok(value?))
    }

    /// Returns a piece's buffer (moved by the read, not copied) for the next read.
    pub fn give_back(&mut self, piece: Uint8Array) {
        self.buffer = Some(piece.buffer());
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            SPARE.with(|s| {
                let mut s = s.borrow_mut();
                if s.len() < POOL {
                    s.push(b);
                }
            });
        }
    }
}

fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
