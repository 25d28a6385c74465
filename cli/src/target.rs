//! The folder a tree is unpacked into, written without ever following a symlink inside it.
//!
//! A hostile CAR can name a symlink and then a path through it; a folder unpacked into before
//! can hold symlinks too. So every path below the folder is checked one component at a time
//! (`symlink_metadata`, which does not follow links) and each file, folder and symlink is made
//! with calls that fail rather than follow a link in the last component (`O_CREAT | O_EXCL`,
//! `mkdir`, `symlink`). What is already there is kept: folders are unpacked into, and files and
//! symlinks are replaced only with `--overwrite` (removed first, so the replacement is never
//! written through them). This guards against the CAR, not against another process changing the
//! folder between a check and a write.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub struct Target {
    root: PathBuf,
    overwrite: bool,
}

impl Target {
    /// Entries go under `root` (the root entry is `root` itself; the path to it is the user's
    /// and is followed as given).
    pub fn new(root: &Path, overwrite: bool) -> Self {
        Target { root: root.to_path_buf(), overwrite }
    }

    /// Makes the folder at `rel` (`/`-separated, empty for the root), or keeps the folder there.
    pub fn dir(&self, rel: &str) -> Result<()> {
        if rel.is_empty() {
            return fs::create_dir_all(&self.root)
                .with_context(|| format!("cannot create {}", self.root.display()));
        }
        let path = self.below(rel)?;
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => self.clear(&path)?,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))
    }

    /// Creates the file at `rel`, new: whatever was there is refused, or removed with
    /// `--overwrite`. Returns it with its path.
    pub fn file(&self, rel: &str) -> Result<(File, PathBuf)> {
        let path = self.new_path(rel)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok((file, path))
    }

    /// Creates the symlink at `rel`, pointing at `to` (which is never followed here).
    pub fn symlink(&self, rel: &str, to: &str) -> Result<()> {
        let path = self.new_path(rel)?;
        std::os::unix::fs::symlink(to, &path)
            .with_context(|| format!("cannot link {}", path.display()))
    }

    /// The path of a new file or symlink at `rel`, with nothing left in its place.
    fn new_path(&self, rel: &str) -> Result<PathBuf> {
        let path = if rel.is_empty() {
            if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            self.root.clone()
        } else {
            self.below(rel)?
        };
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                bail!("{} is a folder, so a file cannot be unpacked there", path.display())
            }
            Ok(_) => self.clear(&path)?,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        Ok(path)
    }

    /// Removes the file or symlink at `path` (never what a symlink points at), if allowed to.
    fn clear(&self, path: &Path) -> Result<()> {
        if !self.overwrite {
            bail!("{} already exists (--overwrite replaces files and symlinks)", path.display());
        }
        fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))
    }

    /// `root/rel`, after checking that every folder on the way is a real folder.
    fn below(&self, rel: &str) -> Result<PathBuf> {
        let mut path = self.root.clone();
        let mut parts = rel.split('/').peekable();
        while let Some(part) = parts.next() {
            path.push(part);
            if parts.peek().is_none() {
                break;
            }
            let meta = fs::symlink_metadata(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if !meta.is_dir() {
                bail!("{} is not a folder (a symlink is never followed), so nothing is unpacked below it", path.display());
            }
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_writes_through_a_symlink_already_in_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let (dest, outside) = (tmp.path().join("dest"), tmp.path().join("outside"));
        fs::create_dir_all(&dest).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(&outside, dest.join("d")).unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), dest.join("f")).unwrap();
        for overwrite in [false, true] {
            let t = Target::new(&dest, overwrite);
            assert!(t.file("d/x").is_err(), "a file below a symlink");
            assert!(t.dir("d/sub").is_err(), "a folder below a symlink");
            assert!(t.symlink("d/l", "/").is_err(), "a symlink below a symlink");
            assert_eq!(t.file("f").is_ok(), overwrite, "a file in a symlink's place");
        }
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
        assert_eq!(fs::read(outside.join("victim")).unwrap(), b"keep");
        assert!(
            fs::symlink_metadata(dest.join("f")).unwrap().is_file(),
            "--overwrite replaced the link, not its target"
        );
        // --overwrite makes a folder in a symlink's place, and what goes below it stays inside.
        let t = Target::new(&dest, true);
        t.dir("d").unwrap();
        t.file("d/x").unwrap();
        assert!(dest.join("d/x").is_file());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    }

    #[test]
    fn refuses_to_replace_a_file_unless_asked() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("f"), b"old").unwrap();
        assert!(Target::new(tmp.path(), false).file("f").is_err());
        assert_eq!(fs::read(tmp.path().join("f")).unwrap(), b"old");
        assert!(Target::new(tmp.path(), false).dir("f").is_err(), "a folder in a file's place");
        Target::new(tmp.path(), true).file("f").unwrap();
        assert_eq!(fs::read(tmp.path().join("f")).unwrap(), b"");
        fs::create_dir(tmp.path().join("dir")).unwrap();
        assert!(Target::new(tmp.path(), true).file("dir").is_err(), "a folder is never replaced");
    }
}
