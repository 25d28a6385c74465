//! Finding 3 of the review: `unpack` wrote outside `-o` through a symlink the CAR made, and
//! `verify` said ok. Each CAR here makes a symlink `s` to a folder (or file) outside, then
//! reaches through it.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::dag::{carport, stderr, unpack, Dag};

struct Case {
    _tmp: tempfile::TempDir,
    car: PathBuf,
    out: PathBuf,
    outside: PathBuf,
}

/// A CAR whose root folder holds a symlink `s` to `outside` (or to `outside/victim`), then `then`.
fn case(
    to_victim: bool,
    then: impl FnOnce(&mut Dag) -> (&'static str, carport_core::Cid),
) -> (Case, carport_core::Cid) {
    let tmp = tempfile::tempdir().unwrap();
    let (car, out, outside) =
        (tmp.path().join("evil.car"), tmp.path().join("out"), tmp.path().join("outside"));
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("victim"), b"keep").unwrap();
    let mut dag = Dag::default();
    let s = dag.symlink(&if to_victim { outside.join("victim") } else { outside.clone() });
    let (name, cid) = then(&mut dag);
    let root = dag.dir(&[("s", s), (name, cid)]);
    dag.write_car(root, &car);
    (Case { _tmp: tmp, car, out, outside }, root)
}

fn untouched(outside: &Path) {
    let names: Vec<_> = fs::read_dir(outside).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["victim"], "something was written outside the output folder");
    assert_eq!(fs::read(outside.join("victim")).unwrap(), b"keep");
}

/// `unpack` and `verify` both fail naming the folder and the name; nothing is written anywhere.
fn refused(c: &Case, root: carport_core::Cid, name: &str) {
    let quoted = format!("{name:?}");
    for (what, got) in [
        ("unpack", unpack(&c.car, &c.out, &[])),
        ("verify", carport([OsStr::new("verify"), c.car.as_os_str()])),
    ] {
        let err = stderr(&got);
        assert!(!got.status.success(), "{what} succeeded");
        assert!(
            err.contains(&root.to_string()) && err.contains(&quoted),
            "{what} does not name folder {root} and {quoted}: {err}"
        );
    }
    untouched(&c.outside);
    assert!(!c.out.exists(), "unpack wrote before refusing");
}

#[test]
fn a_name_through_the_symlink_is_refused() {
    let (c, root) = case(false, |dag| ("s/x", dag.raw(b"pwned")));
    refused(&c, root, "s/x");
}

#[test]
fn a_folder_named_like_the_symlink_is_refused() {
    let (c, root) = case(false, |dag| {
        let f = dag.raw(b"pwned");
        ("s", dag.dir(&[("x", f)]))
    });
    refused(&c, root, "s");
}

#[test]
fn a_file_named_like_the_symlink_is_refused() {
    let (c, root) = case(true, |dag| ("s", dag.raw(b"pwned")));
    refused(&c, root, "s");
}

#[test]
fn dots_and_empty_names_are_refused() {
    for name in ["..", ".", ""] {
        let (c, root) = case(false, |dag| (name, dag.raw(b"pwned")));
        refused(&c, root, name);
    }
}

/// A symlink `d` to outside already in the output folder (from an earlier unpack, say) is not
/// followed by a CAR that has a folder `d`: refused, or with `--overwrite` replaced by a folder.
#[test]
fn a_symlink_already_in_the_output_is_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (car, out, outside) =
        (tmp.path().join("ok.car"), tmp.path().join("out"), tmp.path().join("outside"));
    fs::create_dir_all(&out).unwrap();
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("victim"), b"keep").unwrap();
    std::os::unix::fs::symlink(&outside, out.join("d")).unwrap();
    std::os::unix::fs::symlink(outside.join("victim"), out.join("f")).unwrap();
    let mut dag = Dag::default();
    let x = dag.raw(b"new");
    let d = dag.dir(&[("victim", x)]);
    let root = dag.dir(&[("d", d), ("f", x)]);
    dag.write_car(root, &car);

    let got = unpack(&car, &out, &[]);
    assert!(!got.status.success());
    assert!(stderr(&got).contains("already exists"), "{}", stderr(&got));
    untouched(&outside);

    let got = unpack(&car, &out, &["--overwrite"]);
    assert!(got.status.success(), "{}", stderr(&got));
    untouched(&outside);
    assert_eq!(fs::read(out.join("d/victim")).unwrap(), b"new");
    assert!(fs::symlink_metadata(out.join("f")).unwrap().is_file());
}

#[test]
fn an_existing_file_is_kept_unless_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let (car, out) = (tmp.path().join("ok.car"), tmp.path().join("out"));
    let mut dag = Dag::default();
    let x = dag.raw(b"new");
    let root = dag.dir(&[("f", x)]);
    dag.write_car(root, &car);
    fs::create_dir(&out).unwrap();
    fs::write(out.join("f"), b"old").unwrap();
    let got = unpack(&car, &out, &[]);
    assert!(!got.status.success());
    assert_eq!(fs::read(out.join("f")).unwrap(), b"old");
    let got = unpack(&car, &out, &["--overwrite"]);
    assert!(got.status.success(), "{}", stderr(&got));
    assert_eq!(fs::read(out.join("f")).unwrap(), b"new");
}
