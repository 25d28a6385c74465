//! A file or a tree being imported, behind one set of calls.
//!
//! An adapter packs either one file, whose root is the root, or a tree of files and folders under
//! a root folder. Both take the same calls (begin a file, feed its bytes or its pre-hashed leaves,
//! end it, finish), so the choice is made once, when the job starts, and the adapters do not each
//! repeat it in every call.

use cid::Cid;

use crate::codec::block::Block;
use crate::error::{ImportError, SettingsError};
use crate::unixfs::file::{FileBuilder, Metadata};
use crate::unixfs::import::Importer;
use crate::unixfs::layout::Link;
use crate::unixfs::settings::Settings;

/// One import: a single file or a tree.
pub enum ImportJob {
    /// One file whose root is the root, with no folder around it. `open` is its builder once
    /// [`ImportJob::begin_file`] started it; `meta` is what [`ImportJob::add_dir`] gave the root.
    File {
        /// The settings it is imported under.
        settings: Settings,
        /// Its builder, once begun.
        open: Option<FileBuilder>,
        /// The metadata [`ImportJob::add_dir`] gave last, for a file never begun.
        meta: Metadata,
    },
    /// A tree of files, folders and symlinks under a root folder.
    Tree(Importer),
}

impl ImportJob {
    /// A job for one file.
    pub fn file(settings: Settings) -> Result<Self, SettingsError> {
        settings.validate()?;
        Ok(ImportJob::File { settings, open: None, meta: Metadata::default() })
    }

    /// A job for a tree of files and folders.
    pub fn tree(settings: Settings) -> Result<Self, SettingsError> {
        Ok(ImportJob::Tree(Importer::new(settings)?))
    }

    /// The settings it imports under.
    pub fn settings(&self) -> &Settings {
        match self {
            ImportJob::File { settings, .. } => settings,
            ImportJob::Tree(imp) => imp.settings(),
        }
    }

    /// Starts a file. A single-file job takes exactly one and ignores `path`.
    pub fn begin_file(&mut self, path: &str, meta: Metadata) -> Result<(), ImportError> {
        match self {
            ImportJob::File { settings, open: open @ None, .. } => {
                *open = Some(FileBuilder::new(settings, meta));
                Ok(())
            }
            ImportJob::File { open: Some(_), .. } => Err(ImportError::FileOpen(path.to_string())),
            ImportJob::Tree(imp) => imp.begin_file(path, meta),
        }
    }

    /// Feeds the next bytes of the open file.
    pub fn write(&mut self, data: &[u8], out: &mut Vec<Block>) -> Result<(), ImportError> {
        match self {
            ImportJob::File { open, .. } => {
                open.as_mut().ok_or(ImportError::NoOpenFile)?.write(data, out);
                Ok(())
            }
            ImportJob::Tree(imp) => imp.write(data, out),
        }
    }

    /// The open file's leaf size when the caller may cut and hash its leaves itself
    /// ([`FileBuilder::leaf_size`]); `None` with no open file.
    pub fn leaf_size(&self) -> Option<usize> {
        match self {
            ImportJob::File { open, .. } => open.as_ref()?.leaf_size(),
            ImportJob::Tree(imp) => imp.leaf_size(),
        }
    }

    /// The open file's next leaf, cut and hashed by the caller ([`FileBuilder::hashed_leaf`]).
    pub fn hashed_leaf(
        &mut self,
        cid: Cid,
        len: u64,
        out: &mut Vec<Block>,
    ) -> Result<(), ImportError> {
        match self {
            ImportJob::File { open, .. } => {
                open.as_mut().ok_or(ImportError::NoOpenFile)?.hashed_leaf(cid, len, out);
                Ok(())
            }
            ImportJob::Tree(imp) => imp.hashed_leaf(cid, len, out),
        }
    }

    /// Ends the open file: the link to its root in a tree; `None` for a single file, which stays
    /// open until [`ImportJob::finish`] makes its root.
    pub fn end_file(&mut self, out: &mut Vec<Block>) -> Result<Option<Link>, ImportError> {
        match self {
            ImportJob::File { open: Some(_), .. } => Ok(None),
            ImportJob::File { open: None, .. } => Err(ImportError::NoOpenFile),
            ImportJob::Tree(imp) => imp.end_file(out).map(Some),
        }
    }

    /// Adds a folder, or with an empty `path` sets the root's metadata. A single file has no
    /// folders: its metadata is what the file is begun with, or, when it never is, the last
    /// metadata given here.
    pub fn add_dir(&mut self, path: &str, meta: Metadata) -> Result<(), ImportError> {
        match self {
            ImportJob::File { meta: m, .. } => *m = meta,
            ImportJob::Tree(imp) if path.is_empty() => imp.set_root_meta(meta),
            ImportJob::Tree(imp) => imp.add_dir(path, meta)?,
        }
        Ok(())
    }

    /// Adds a symlink ([`Importer::add_symlink`]); a single file has no place for one.
    pub fn add_symlink(
        &mut self,
        path: &str,
        target: &str,
        meta: Metadata,
        out: &mut Vec<Block>,
    ) -> Result<Option<Link>, ImportError> {
        match self {
            ImportJob::File { .. } => Err(ImportError::BadPath(path.to_string())),
            ImportJob::Tree(imp) => imp.add_symlink(path, target, meta, out),
        }
    }

    /// Ends the import and returns the link to the root. A single file never begun is empty.
    pub fn finish(self, out: &mut Vec<Block>) -> Result<Link, ImportError> {
        match self {
            ImportJob::File { settings, open, meta } => {
                Ok(open.unwrap_or_else(|| FileBuilder::new(&settings, meta)).finish(out))
            }
            ImportJob::Tree(imp) => imp.finish(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::file::import_bytes;
    use crate::unixfs::settings::Profile;

    fn settings() -> Settings {
        Profile::UnixfsV1_2025.settings()
    }

    #[test]
    fn a_single_file_is_its_own_root() {
        let mut job = ImportJob::file(settings()).unwrap();
        let mut out = Vec::new();
        job.begin_file("ignored", Metadata::default()).unwrap();
        job.write(b"hello, ", &mut out).unwrap();
        job.write(b"carport", &mut out).unwrap();
        assert_eq!(job.end_file(&mut out).unwrap(), None, "the root comes at finish");
        let root = job.finish(&mut out).unwrap();
        assert_eq!(root.cid, import_bytes(&settings(), b"hello, carport").0.cid);
    }

    #[test]
    fn a_single_file_takes_one_file_and_no_symlink() {
        let mut job = ImportJob::file(settings()).unwrap();
        let mut out = Vec::new();
        assert_eq!(job.write(b"x", &mut out), Err(ImportError::NoOpenFile));
        assert_eq!(job.end_file(&mut out), Err(ImportError::NoOpenFile));
        job.begin_file("a", Metadata::default()).unwrap();
        assert_eq!(
            job.begin_file("b", Metadata::default()),
            Err(ImportError::FileOpen("b".into()))
        );
        assert_eq!(
            job.add_symlink("l", "a", Metadata::default(), &mut out),
            Err(ImportError::BadPath("l".into()))
        );
    }

    #[test]
    fn a_single_file_never_begun_is_empty_with_the_metadata_given() {
        let meta = Metadata { mode: Some(0o600), mtime: None };
        let mut job = ImportJob::file(settings()).unwrap();
        let mut out = Vec::new();
        job.add_dir("", meta).unwrap();
        let root = job.finish(&mut out).unwrap();
        let expected = FileBuilder::new(&settings(), meta).finish(&mut Vec::new());
        assert_eq!(root.cid, expected.cid);
    }

    #[test]
    fn a_tree_is_the_importer_s() {
        let mut out = Vec::new();
        let mut job = ImportJob::tree(settings()).unwrap();
        let mut imp = Importer::new(settings()).unwrap();
        let mut theirs = Vec::new();
        job.add_dir("empty", Metadata::default()).unwrap();
        imp.add_dir("empty", Metadata::default()).unwrap();
        job.begin_file("a/b.txt", Metadata::default()).unwrap();
        imp.begin_file("a/b.txt", Metadata::default()).unwrap();
        job.write(b"bytes", &mut out).unwrap();
        imp.write(b"bytes", &mut theirs).unwrap();
        let link = job.end_file(&mut out).unwrap().expect("a tree links each file");
        assert_eq!(link, imp.end_file(&mut theirs).unwrap());
        assert!(job.add_symlink("l", "a/b.txt", Metadata::default(), &mut out).unwrap().is_some());
        imp.add_symlink("l", "a/b.txt", Metadata::default(), &mut theirs).unwrap();
        assert_eq!(job.finish(&mut out).unwrap(), imp.finish(&mut theirs).unwrap());
        assert_eq!(out, theirs);
    }

    #[test]
    fn settings_are_checked_for_both_kinds() {
        let bad = Settings { max_links: 1, ..settings() };
        assert!(ImportJob::file(bad.clone()).is_err());
        assert!(ImportJob::tree(bad).is_err());
    }
}
