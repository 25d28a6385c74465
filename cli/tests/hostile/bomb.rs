//! Finding 7 of the review: a CAR of a few kilobytes naming a billion entries (folders linking
//! one sub-folder many times) made `ls` and `unpack` collect them all, gigabytes in seconds.
//! Each run here is capped at 256 MiB of address space and a minute, so collecting fails fast.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use carport_core::Cid;

use crate::dag::Dag;

/// 30 folders, each linking the one below twice: 31 blocks naming 2^31 - 1 entries.
fn directory_bomb(dag: &mut Dag) -> Cid {
    let mut cid = dag.raw(b"leaf");
    for _ in 0..30 {
        cid = dag.dir(&[("a", cid), ("b", cid)]);
    }
    cid
}

/// Runs `carport ARGS` with little memory and time; returns how it ended, its stdout and stderr.
fn run_capped(dir: &Path, args: &[&std::ffi::OsStr]) -> (ExitStatus, String, String) {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_carport"));
    cmd.args(args)
        .stdout(Stdio::from(File::create(&out).unwrap()))
        .stderr(Stdio::from(File::create(&err).unwrap()));
    // SAFETY: setrlimit is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let cap = libc::rlimit { rlim_cur: 256 << 20, rlim_max: 256 << 20 };
            if libc::setrlimit(libc::RLIMIT_AS, &cap) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("carport {args:?} still running after a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, fs::read_to_string(out).unwrap(), fs::read_to_string(err).unwrap())
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// `carport unpack CAR -o OUT EXTRA...`, capped as [`run_capped`] runs it.
fn unpack(dir: &Path, car: &Path, out: &Path, extra: &[&str]) -> (ExitStatus, String, String) {
    let mut args = vec![os("unpack"), car.as_os_str(), os("-o"), out.as_os_str()];
    args.extend(extra.iter().map(|a| os(a)));
    run_capped(dir, &args)
}

#[test]
fn ls_of_a_directory_bomb_stops_at_the_entry_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let car = tmp.path().join("bomb.car");
    let mut dag = Dag::default();
    let root = directory_bomb(&mut dag);
    dag.write_car(root, &car);
    let (status, stdout, stderr) =
        run_capped(tmp.path(), &[os("ls"), car.as_os_str(), os("--max-entries"), os("1000")]);
    assert!(!status.success());
    assert!(
        stderr.contains("--max-entries 1000") && stderr.contains("more than 1000 entries"),
        "{stderr}"
    );
    assert_eq!(stdout.lines().count(), 1000, "the entries before the limit are listed");
}

#[test]
fn unpack_and_verify_of_a_directory_bomb_refuse_it_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let (car, out) = (tmp.path().join("bomb.car"), tmp.path().join("out"));
    let mut dag = Dag::default();
    let root = directory_bomb(&mut dag);
    dag.write_car(root, &car);
    let (status, _, stderr) = unpack(tmp.path(), &car, &out, &["--max-entries", "1000"]);
    assert!(!status.success());
    assert!(
        stderr.contains("refusing to unpack") && stderr.contains("more than 1000 entries"),
        "{stderr}"
    );
    assert!(!out.exists(), "unpack wrote before refusing");
    let (status, _, stderr) =
        run_capped(tmp.path(), &[os("verify"), car.as_os_str(), os("--max-entries"), os("1000")]);
    assert!(!status.success());
    assert!(
        stderr.contains("would refuse") && stderr.contains("more than 1000 entries"),
        "{stderr}"
    );
}

/// A file node over `fanout` copies of `child`.
fn wide(dag: &mut Dag, child: (Cid, u64), fanout: usize, declared: u64) -> Cid {
    dag.file(&vec![child; fanout], declared)
}

/// Four levels of 1024 links over one 1 KiB leaf: a file of 2^50 bytes (a pebibyte) in 160 KB.
#[test]
fn a_file_of_a_pebibyte_is_refused_for_want_of_space_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let (car, out) = (tmp.path().join("bomb.car"), tmp.path().join("out"));
    let mut dag = Dag::default();
    let mut node = (dag.raw(&[0; 1024]), 1024u64);
    for _ in 0..4 {
        let size = node.1 * 1024;
        node = (wide(&mut dag, node, 1024, size), size);
    }
    let root = dag.dir(&[("big", node.0)]);
    dag.write_car(root, &car);
    let (status, _, stderr) = unpack(tmp.path(), &car, &out, &[]);
    assert!(!status.success());
    assert!(stderr.contains("more than") && stderr.contains("space free on"), "{stderr}");
    assert!(!out.exists(), "unpack wrote before refusing");
}

/// A file that declares 10 bytes and holds a mebibyte: the bytes written are counted too.
#[test]
fn a_file_lying_about_its_size_stops_at_max_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (car, out) = (tmp.path().join("liar.car"), tmp.path().join("out"));
    let mut dag = Dag::default();
    let leaf = (dag.raw(&[7; 1024]), 1024);
    let liar = wide(&mut dag, leaf, 1024, 10);
    let root = dag.dir(&[("liar", liar)]);
    dag.write_car(root, &car);
    let (status, _, stderr) = unpack(tmp.path(), &car, &out, &["--max-bytes", "64KiB"]);
    assert!(!status.success());
    assert!(stderr.contains("more than 65536 bytes (--max-bytes)"), "{stderr}");
    assert!(!out.join("liar").exists(), "the partial file is removed");
    let (status, _, stderr) = unpack(tmp.path(), &car, &out, &["--max-bytes", "1MiB"]);
    assert!(status.success(), "exactly at the limit: {stderr}");
    assert_eq!(fs::metadata(out.join("liar")).unwrap().len(), 1 << 20);
}
