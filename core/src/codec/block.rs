use cid::Cid;

/// One IPLD block: bytes and the CID that names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub cid: Cid,
    pub data: Vec<u8>,
}
