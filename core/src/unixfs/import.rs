//! Importing a tree of files, folders and symlinks into one UnixFS DAG.
//!
//! Files stream through a [`FileBuilder`] one at a time; folders are kept as name → link maps until
//! [`Importer::finish`] builds them bottom-up, so memory is the open file's frontier plus one link
//! per imported entry.

use std::collections::BTreeMap;

use crate::codec::block::Block;
use crate::codec::dagpb::PbNode;
use crate::codec::multicodec::DAG_PB;
use crate::error::{ImportError, SettingsError};
use crate::unixfs::dir::{self, DirEntry};
use crate::unixfs::file::{FileBuilder, Metadata};
use crate::unixfs::layout::Link;
use crate::unixfs::settings::Settings;
use crate::unixfs::{Data, NodeType};

#[derive(Default)]
struct Dir {
    entries: BTreeMap<String, Entry>,
    meta: Metadata,
}

enum Entry {
    Dir(Dir),
    Leaf(Link),
}

/// Builds a folder tree. Paths are `/`-separated and relative to the root folder.
pub struct Importer {
    settings: Settings,
    root: Dir,
    open: Option<(Vec<String>, FileBuilder)>,
}

impl Importer {
    /// An importer under `settings`, which are checked first.
    pub fn new(settings: Settings) -> Result<Self, SettingsError> {
        settings.validate()?;
        Ok(Importer { settings, root: Dir::default(), open: None })
    }

    /// The settings it imports under.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Adds a folder (and its parents); folders holding files are added implicitly, so this is
    /// needed only for empty folders and for metadata.
    pub fn add_dir(&mut self, path: &str, meta: Metadata) -> Result<(), ImportError> {
        let parts = split(path)?;
        self.dir_mut(&parts, path)?.meta = meta;
        Ok(())
    }

    /// Sets the root folder's metadata.
    pub fn set_root_meta(&mut self, meta: Metadata) {
        self.root.meta = meta;
    }

    /// Starts a file; its bytes follow through [`Importer::write`].
    pub fn begin_file(&mut self, path: &str, meta: Metadata) -> Result<(), ImportError> {
        if let Some((open, _)) = &self.open {
            return Err(ImportError::FileOpen(open.join("/")));
        }
        let parts = split(path)?;
        self.check_free(&parts, path)?;
        self.open = Some((parts, FileBuilder::new(&self.settings, meta)));
        Ok(())
    }

    /// Feeds the open file's next bytes; the blocks they complete go to `out`.
    pub fn write(&mut self, data: &[u8], out: &mut Vec<Block>) -> Result<(), ImportError> {
        let (_, builder) = self.open.as_mut().ok_or(ImportError::NoOpenFile)?;
        builder.write(data, out);
        Ok(())
    }

    /// The open file's leaf size when the caller may cut and hash its leaves itself
    /// ([`FileBuilder::leaf_size`]).
    pub fn leaf_size(&self) -> Option<usize> {
        let (_, builder) = self.open.as_ref()?;
        builder.leaf_size()
    }

    /// The open file's next leaf, cut and hashed by the caller ([`FileBuilder::hashed_leaf`]).
    pub fn hashed_leaf(
        &mut self,
        cid: cid::Cid,
        len: u64,
        out: &mut Vec<Block>,
    ) -> Result<(), ImportError> {
        let (_, builder) = self.open.as_mut().ok_or(ImportError::NoOpenFile)?;
        builder.hashed_leaf(cid, len, out);
        Ok(())
    }

    /// Ends the open file and returns the link to its root.
    pub fn end_file(&mut self, out: &mut Vec<Block>) -> Result<Link, ImportError> {
        let (parts, builder) = self.open.take().ok_or(ImportError::NoOpenFile)?;
        let link = builder.finish(out);
        self.insert(&parts, Entry::Leaf(link.clone()))?;
        Ok(link)
    }

    /// Adds a symlink pointing at `target`; `None` when the settings take files only.
    pub fn add_symlink(
        &mut self,
        path: &str,
        target: &str,
        meta: Metadata,
        out: &mut Vec<Block>,
    ) -> Result<Option<Link>, ImportError> {
        let parts = split(path)?;
        self.check_free(&parts, path)?;
        if self.settings.files_only {
            return Ok(None);
        }
        let link = symlink(&self.settings, target, meta, out);
        self.insert(&parts, Entry::Leaf(link.clone()))?;
        Ok(Some(link))
    }

    /// Builds every folder and returns the link to the root folder.
    pub fn finish(mut self, out: &mut Vec<Block>) -> Result<Link, ImportError> {
        if let Some((open, _)) = &self.open {
            return Err(ImportError::FileOpen(open.join("/")));
        }
        let mut root = std::mem::take(&mut self.root);
        if self.settings.files_only {
            prune_empty(&mut root);
            while root.entries.len() == 1
                && matches!(root.entries.values().next(), Some(Entry::Dir(_)))
            {
                if let Some((_, Entry::Dir(only))) = root.entries.pop_first() {
                    root = only;
                }
            }
        }
        Ok(self
            .build_dir(root, out)
            .unwrap_or_else(|| dir::build(&self.settings, &[], Metadata::default(), out)))
    }

    /// Builds a folder; `None` when it is empty and the settings drop empty folders.
    fn build_dir(&self, d: Dir, out: &mut Vec<Block>) -> Option<Link> {
        let mut entries = Vec::with_capacity(d.entries.len());
        for (name, entry) in d.entries {
            let link = match entry {
                Entry::Leaf(link) => Some(link),
                Entry::Dir(sub) => self.build_dir(sub, out),
            };
            entries.extend(link.map(|link| DirEntry { name, link }));
        }
        if entries.is_empty() && self.settings.files_only {
            return None;
        }
        Some(dir::build(&self.settings, &entries, d.meta, out))
    }

    fn check_free(&mut self, parts: &[String], path: &str) -> Result<(), ImportError> {
        let (name, parent) = parts.split_last().expect("split gives at least one part");
        if self.dir_mut(parent, path)?.entries.contains_key(name) {
            return Err(ImportError::Duplicate(path.to_string()));
        }
        Ok(())
    }

    fn insert(&mut self, parts: &[String], entry: Entry) -> Result<(), ImportError> {
        let (name, parent) = parts.split_last().expect("split gives at least one part");
        let path = parts.join("/");
        self.dir_mut(parent, &path)?.entries.insert(name.clone(), entry);
        Ok(())
    }

    fn dir_mut(&mut self, parts: &[String], path: &str) -> Result<&mut Dir, ImportError> {
        let mut d = &mut self.root;
        for part in parts {
            let entry = d.entries.entry(part.clone()).or_insert_with(|| Entry::Dir(Dir::default()));
            d = match entry {
                Entry::Dir(sub) => sub,
                Entry::Leaf(_) => return Err(ImportError::NotADirectory(path.to_string())),
            };
        }
        Ok(d)
    }
}

/// Drops folders that hold no file, however deep.
fn prune_empty(d: &mut Dir) -> bool {
    d.entries.retain(|_, e| match e {
        Entry::Dir(sub) => !prune_empty(sub),
        Entry::Leaf(_) => true,
    });
    d.entries.is_empty()
}

/// A UnixFS symlink node: always dag-pb, the target as its data.
pub fn symlink(settings: &Settings, target: &str, meta: Metadata, out: &mut Vec<Block>) -> Link {
    let mut data = Data::new(NodeType::Symlink);
    data.data = Some(target.as_bytes().to_vec());
    meta.apply(&mut data);
    let block = PbNode { links: Vec::new(), data: Some(data.encode()) }.encode();
    let cid = settings.cid.cid(DAG_PB, &block);
    let tsize = block.len() as u64;
    out.push(Block { cid, data: block });
    Link { cid, tsize, filesize: 0 }
}

fn split(path: &str) -> Result<Vec<String>, ImportError> {
    let parts: Vec<String> =
        path.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect();
    let bad = parts.is_empty() || parts.iter().any(|p| crate::unixfs::name::check(p).is_err());
    if bad {
        return Err(ImportError::BadPath(path.to_string()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::settings::Profile;

    #[test]
    fn empty_directory_vectors() {
        for (p, want) in [
            (Profile::UnixfsV0_2015, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"),
            (Profile::UnixfsV1_2025, "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"),
        ] {
            let mut out = Vec::new();
            let root = Importer::new(p.settings()).unwrap().finish(&mut out).unwrap();
            assert_eq!(root.cid.to_string(), want);
        }
    }

    #[test]
    fn files_only_roots_at_the_common_folder_of_the_files() {
        let settings = Profile::IpfsCar.settings();
        let mut out = Vec::new();
        let mut imp = Importer::new(settings.clone()).unwrap();
        imp.add_dir("chain/empty", Metadata::default()).unwrap();
        assert_eq!(
            imp.add_symlink("chain/only/link", "x", Metadata::default(), &mut out),
            Ok(None)
        );
        imp.begin_file("chain/only/a.txt", Metadata::default()).unwrap();
        imp.write(b"a", &mut out).unwrap();
        imp.end_file(&mut out).unwrap();
        let collapsed = imp.finish(&mut out).unwrap();

        let mut plain = Importer::new(settings).unwrap();
        plain.begin_file("a.txt", Metadata::default()).unwrap();
        plain.write(b"a", &mut out).unwrap();
        plain.end_file(&mut out).unwrap();
        assert_eq!(collapsed, plain.finish(&mut out).unwrap());
    }

    #[test]
    fn refuses_bad_paths_and_duplicates() {
        let mut imp = Importer::new(Profile::default().settings()).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            imp.begin_file("../x", Metadata::default()),
            Err(ImportError::BadPath("../x".into()))
        );
        imp.begin_file("a/b", Metadata::default()).unwrap();
        imp.end_file(&mut out).unwrap();
        assert_eq!(
            imp.begin_file("a/b", Metadata::default()),
            Err(ImportError::Duplicate("a/b".into()))
        );
        assert_eq!(
            imp.begin_file("a/b/c", Metadata::default()),
            Err(ImportError::NotADirectory("a/b/c".into()))
        );
    }
}
