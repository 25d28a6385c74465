//! `pack` options as JavaScript passes them, turned into core's settings; and the closed lists
//! (option keys, hash names, default shard size) the JavaScript package takes from here.

use carport_core::car::shard::DEFAULT_SHARD_SIZE;
use carport_core::codec::cids::HashAlg;
use carport_core::error::SettingsError;
use carport_core::unixfs::file::Metadata;
use carport_core::unixfs::settings::{Overrides, Profile, Settings};
use carport_core::unixfs::Mtime;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::errors::{core_error, settings_error};

/// `pack` options as JavaScript gives them (camelCase); unknown keys are ignored.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PackOptions {
    pub(crate) profile: Option<String>,
    pub(crate) chunker: Option<String>,
    pub(crate) layout: Option<String>,
    pub(crate) max_links: Option<usize>,
    pub(crate) raw_leaves: Option<bool>,
    pub(crate) cid_version: Option<u8>,
    pub(crate) hash: Option<String>,
    pub(crate) inline_limit: Option<usize>,
    pub(crate) car_version: Option<u8>,
    pub(crate) shard_size: Option<f64>,
    pub(crate) hidden: Option<bool>,
}

impl PackOptions {
    pub(crate) fn settings(&self) -> Result<Settings, JsValue> {
        let err = |e: SettingsError| core_error(&e);
        let profile: Profile =
            self.profile.as_deref().unwrap_or("unixfs-v1-2025").parse().map_err(err)?;
        let cid_version = match self.cid_version {
            None => None,
            Some(0) => Some(carport_core::cid::Version::V0),
            Some(1) => Some(carport_core::cid::Version::V1),
            Some(v) => return Err(settings_error(format!("cidVersion must be 0 or 1, got {v}"))),
        };
        let o = Overrides {
            chunker: self.chunker.as_deref().map(str::parse).transpose().map_err(err)?,
            layout: self.layout.as_deref().map(str::parse).transpose().map_err(err)?,
            max_links: self.max_links,
            raw_leaves: self.raw_leaves,
            cid_version,
            hash: self.hash.as_deref().map(str::parse).transpose().map_err(err)?,
            inline_limit: self.inline_limit,
        };
        o.apply(profile).map_err(err)
    }
}

pub(crate) fn options<T: for<'de> Deserialize<'de> + Default>(v: JsValue) -> Result<T, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(v).map_err(|e| settings_error(format!("bad options: {e}")))
}

pub(crate) fn metadata(mode: Option<u32>, mtime_ms: Option<f64>) -> Metadata {
    let mtime = mtime_ms.filter(|m| m.is_finite()).map(|ms| {
        let secs = (ms / 1000.0).floor();
        let nanos = ((ms - secs * 1000.0) * 1e6).round() as u32;
        Mtime { secs: secs as i64, nanos: (nanos != 0).then_some(nanos) }
    });
    Metadata { mode, mtime }
}

/// The option keys `Packer` reads, in camelCase, for the JavaScript package to pass on: they come
/// from [`PackOptions`] itself, so the JavaScript lists none of its own.
#[wasm_bindgen(js_name = packOptionKeys)]
pub fn pack_option_keys() -> Vec<String> {
    fields::<PackOptions>().iter().map(|k| k.to_string()).collect()
}

/// The shard size `Packer` uses when `shardSize` is not given (core's `DEFAULT_SHARD_SIZE`).
#[wasm_bindgen(js_name = defaultShardSize)]
pub fn default_shard_size() -> f64 {
    DEFAULT_SHARD_SIZE as f64
}

/// The names of the hashes carport writes with (`hash` option, `digest`), from core's table.
#[wasm_bindgen(js_name = hashNames)]
pub fn hash_names() -> Vec<String> {
    HashAlg::ALL.iter().map(|h| h.name().to_string()).collect()
}

/// The field names a derived `Deserialize` asks for, as they are spelled in the input.
fn fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut names = FieldNames(&[]);
    // The deserializer refuses every value once it has the names, so the result is always `Err`.
    let _ = T::deserialize(&mut names);
    names.0
}

/// A deserializer that only records the fields of the struct asked of it.
struct FieldNames(&'static [&'static str]);

impl<'de> serde::Deserializer<'de> for &mut FieldNames {
    type Error = serde::de::value::Error;

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(serde::de::Error::custom("field names only"))
    }

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("field names only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_keys_are_the_struct_s_in_camel_case() {
        assert_eq!(
            pack_option_keys(),
            [
                "profile",
                "chunker",
                "layout",
                "maxLinks",
                "rawLeaves",
                "cidVersion",
                "hash",
                "inlineLimit",
                "carVersion",
                "shardSize",
                "hidden"
            ]
        );
    }

    #[test]
    fn hash_names_are_core_s() {
        assert_eq!(hash_names(), ["sha2-256", "blake3"]);
    }
}
