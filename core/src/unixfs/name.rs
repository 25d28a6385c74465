//! The names a folder entry may have.
//!
//! A dag-pb link name is any UTF-8 string, but a reader joins names into `/`-separated paths and
//! writers turn those into files. A name with a `/` in it, `.`, `..` or an empty name would make
//! a path that means something else (or leaves the folder it was unpacked into), and a name that
//! comes twice in one folder makes two entries claim one path. The importer never makes any of
//! these, and the walker refuses them, so `ls`, `unpack` and the npm package all see the same
//! rule.

/// What is wrong with a name.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum NameFault {
    /// The name is empty.
    #[error("is empty")]
    Empty,
    /// The name is `.` or `..`.
    #[error("is `.` or `..`")]
    Dots,
    /// The name has a `/` in it.
    #[error("contains `/`")]
    Slash,
    /// The name has a NUL byte in it.
    #[error("contains a NUL byte")]
    Nul,
    /// In a HAMT shard, where every link name starts with its slot in hex digits.
    #[error("does not start with a HAMT slot number")]
    Slot,
}

impl crate::error::Coded for NameFault {
    fn code(&self) -> &'static str {
        "BadName"
    }
}

/// Checks one entry name on its own (duplicates are the walker's to find).
pub fn check(name: &str) -> Result<(), NameFault> {
    match name {
        "" => Err(NameFault::Empty),
        "." | ".." => Err(NameFault::Dots),
        _ if name.contains('/') => Err(NameFault::Slash),
        _ if name.contains('\0') => Err(NameFault::Nul),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_names_that_are_not_one_path_component() {
        assert_eq!(check(""), Err(NameFault::Empty));
        assert_eq!(check("."), Err(NameFault::Dots));
        assert_eq!(check(".."), Err(NameFault::Dots));
        assert_eq!(check("s/x"), Err(NameFault::Slash));
        assert_eq!(check("/etc"), Err(NameFault::Slash));
        assert_eq!(check("a\0b"), Err(NameFault::Nul));
    }

    #[test]
    fn accepts_everything_else() {
        for name in ["a", ".hidden", "..x", "...", "a\\b", "名前", " ", "a b"] {
            assert_eq!(check(name), Ok(()), "{name:?}");
        }
    }
}
