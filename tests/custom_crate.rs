//! A user's crate of elements, outside this repository: the example crate
//! copied to a directory of its own, its three paths pointed at this
//! checkout (as docs/WRITING-ELEMENTS.md tells a user to), builds a router
//! binary whose command line is the whole of `router`'s: the custom element
//! runs with `-j 2`, `--simtime` and a control socket (`-p`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The example crate, copied out and built on its own; its binary.
fn build_out_of_tree() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("router-custom-crate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&repo.join("examples/custom-element"), &dir);
    // What a user does: point the paths at their copy of the router.
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"../../", &format!("\"{}/", repo.display()))
        .replace("\"../..\"", &format!("\"{}\"", repo.display()));
    std::fs::write(&manifest, text).unwrap();
    // The same dependency versions as this repository's build.
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    // A target directory of its own (the test's own build holds the
    // workspace's), kept between runs so that only the first is slow.
    let target = repo.join("target/out-of-tree");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", "custom-router"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "the copied crate does not build");
    let _ = std::fs::remove_dir_all(&dir);
    target.join("debug/custom-router")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_copied_out_crate_builds_a_router_with_every_flag() {
    let bin = build_out_of_tree();

    // -j 2 and --simtime: the custom element on two threads' paths.
    let out = Command::new(&bin)
        .args([
            "-j",
            "2",
            "--simtime",
            "-h",
            "lf.passed",
            "-h",
            "lf.rejected",
            "-e",
            "s0 :: InfiniteSource(LENGTH 80, LIMIT 7, STOP true) -> q :: ThreadSafeQueue;
             q -> u :: Unqueue -> lf :: LengthFilter(60, 70) -> Discard; lf[1] -> Discard;
             StaticThreadSched(u 1);
             DriverManager(wait_stop, wait 1s, stop);",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "lf.passed:\n0\n\nlf.rejected:\n7\n\n"
    );

    // -p: the custom element's handlers over a control socket.
    let port = free_port();
    let mut child = Command::new(&bin)
        .args([
            "-p",
            &port.to_string(),
            "-e",
            "InfiniteSource(LENGTH 64, LIMIT 5) -> lf :: LengthFilter(60, 70) -> Discard;
             lf[1] -> Discard;",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("no control socket on port {port}: {e}"),
        }
    };
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap(); // the greeting
    let mut passed = String::new();
    while Instant::now() < deadline {
        (&stream).write_all(b"READ lf.passed\r\n").unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("200"), "{line}");
        line.clear();
        reader.read_line(&mut line).unwrap(); // DATA n
        let n: usize = line.trim().strip_prefix("DATA ").unwrap().parse().unwrap();
        let mut data = vec![0; n];
        std::io::Read::read_exact(&mut reader, &mut data).unwrap();
        passed = String::from_utf8(data).unwrap();
        if passed == "5" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(passed, "5");
    (&stream).write_all(b"WRITE stop\r\n").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
}
