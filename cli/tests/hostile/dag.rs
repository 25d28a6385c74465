//! Hostile CARs made by hand, and the `carport` binary run on them.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use carport_core::car::CarWriter;
use carport_core::codec::cids::{CidRule, HashAlg};
use carport_core::codec::dagpb::{PbLink, PbNode};
use carport_core::codec::multicodec::{DAG_PB, RAW};
use carport_core::unixfs::{Data, NodeType};
use carport_core::Cid;

/// Blocks in the order they were made.
#[derive(Default)]
pub struct Dag(Vec<(Cid, Vec<u8>)>);

impl Dag {
    fn put(&mut self, codec: u64, bytes: Vec<u8>) -> Cid {
        let rule = CidRule {
            version: carport_core::cid::Version::V1,
            hash: HashAlg::Sha2_256,
            inline_limit: None,
        };
        let cid = rule.cid(codec, &bytes);
        if !self.0.iter().any(|(c, _)| *c == cid) {
            self.0.push((cid, bytes));
        }
        cid
    }

    fn node(&mut self, data: Data, links: Vec<PbLink>) -> Cid {
        self.put(DAG_PB, PbNode { links, data: Some(data.encode()) }.encode())
    }

    /// A plain folder with these links, in this order, names as given.
    pub fn dir(&mut self, links: &[(&str, Cid)]) -> Cid {
        let links = links
            .iter()
            .map(|&(name, hash)| PbLink { hash, name: Some(name.into()), tsize: Some(0) })
            .collect();
        self.node(Data::new(NodeType::Directory), links)
    }

    pub fn symlink(&mut self, target: &Path) -> Cid {
        let mut data = Data::new(NodeType::Symlink);
        data.data = Some(target.to_str().unwrap().as_bytes().to_vec());
        self.node(data, Vec::new())
    }

    pub fn raw(&mut self, bytes: &[u8]) -> Cid {
        self.put(RAW, bytes.to_vec())
    }

    /// A file node over `children` (each `size` bytes long) that declares `filesize`, true or not.
    pub fn file(&mut self, children: &[(Cid, u64)], filesize: u64) -> Cid {
        let mut data = Data::new(NodeType::File);
        data.filesize = Some(filesize);
        data.blocksizes = children.iter().map(|c| c.1).collect();
        let links = children
            .iter()
            .map(|&(hash, size)| PbLink { hash, name: Some(String::new()), tsize: Some(size) })
            .collect();
        self.node(data, links)
    }

    /// Writes a CARv1 rooted at `root`.
    pub fn write_car(&self, root: Cid, path: &Path) {
        let (mut w, mut out) = CarWriter::new(1, &[root]);
        for (cid, data) in &self.0 {
            w.block(cid, data, &mut out);
        }
        std::fs::write(path, out).unwrap();
    }
}

pub fn carport<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_carport")).args(args).output().unwrap()
}

/// `carport unpack CAR -o OUT EXTRA...`.
pub fn unpack(car: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![OsStr::new("unpack"), car.as_os_str(), OsStr::new("-o"), out.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    carport(args)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
