//! The [`Block`]: a block's bytes and its CID, as every module passes them around.

use cid::Cid;

/// One IPLD block: bytes and the CID that names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The CID that names the bytes.
    pub cid: Cid,
    /// The block's bytes.
    pub data: Vec<u8>,
}
