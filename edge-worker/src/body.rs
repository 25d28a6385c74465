//! Reading an upstream body in large pieces: workerd's `readAtLeast` on a BYOB reader fills a
//! whole buffer per call, where the default reader hands over whatever one network read brought
//! (a few KiB), each with its own promise, typed array and copy. For a verified file that
//! per-piece cost, not hashing, is what bounds the speed.

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Response, ResponseBody};

/// Bytes asked for per read, and the fewest a read waits for (unless the body ends first).
const PIECE: u32 = 1 << 20;
const AT_LEAST: u32 = 16 << 10;

pub struct BodyReader {
    reader: JsValue,
    read_at_least: Function,
}

impl BodyReader {
    /// A reader of `resp`'s body, or `None` when it has none or the runtime lacks `readAtLeast`.
    pub fn new(resp: &Response) -> Option<Self> {
        let ResponseBody::Stream(stream) = resp.body() else { return None };
        let get_reader = Reflect::get(stream, &"getReader".into()).ok()?.dyn_into::<Function>().ok()?;
        let opts = Object::new();
        Reflect::set(&opts, &"mode".into(), &"byob".into()).ok()?;
        let reader = get_reader.call1(stream, &opts).ok()?;
        let read_at_least = Reflect::get(&reader, &"readAtLeast".into()).ok()?.dyn_into::<Function>().ok()?;
        Some(BodyReader { reader, read_at_least })
    }

    /// The next piece of the body, `None` at its end.
    pub async fn next(&mut self) -> Option<Result<Vec<u8>, String>> {
        let read = self.read_at_least.call2(&self.reader, &AT_LEAST.into(), &Uint8Array::new_with_length(PIECE));
        let result = match read.map(|p| p.dyn_into::<Promise>()) {
            Ok(Ok(p)) => JsFuture::from(p).await,
            Ok(Err(v)) | Err(v) => Err(v),
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => return Some(Err(js_message(&e))),
        };
        if Reflect::get(&result, &"done".into()).ok().and_then(|d| d.as_bool()) == Some(true) {
            return None;
        }
        let value = Reflect::get(&result, &"value".into()).ok()?;
        Some(Ok(value.dyn_into::<Uint8Array>().ok()?.to_vec()))
    }
}

fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"))
}
