//! ControlSocket: another program calls the running router's handlers
//! over TCP or a Unix-domain socket, in Click's protocol.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A router running `config`; killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A router run with `args`.
fn spawn(args: &[&str]) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_router"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run router"),
    )
}

fn start(config: &str) -> Running {
    spawn(&["-e", config])
}

/// A fresh directory of this test process's, and a socket path in it.
fn socket_in_temp_dir(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("router-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    (dir, path)
}

/// Waits for `router` to exit and asserts it succeeded.
fn exits_cleanly(router: &mut Running) {
    let start = Instant::now();
    while router.0.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the router stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(router.0.wait().unwrap().success());
}

/// Retries `connect` until the router listens (it binds at initialize).
fn connect<S>(mut connect: impl FnMut() -> std::io::Result<S>) -> S {
    let start = Instant::now();
    loop {
        match connect() {
            Ok(s) => return s,
            Err(e) if start.elapsed() > Duration::from_secs(10) => panic!("connect: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A client: sends command lines, reads status lines and data.
struct Client<S: Read + Write> {
    reader: BufReader<S>,
}

impl<S: Read + Write> Client<S> {
    fn new(stream: S) -> Self {
        let mut c = Client {
            reader: BufReader::new(stream),
        };
        assert_eq!(c.line(), "Click::ControlSocket/1.3");
        c
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).expect("read a line");
        assert!(l.ends_with("\r\n"), "lines end with CRLF: {l:?}");
        l.trim_end().to_string()
    }

    fn send(&mut self, text: &str) {
        self.reader.get_mut().write_all(text.as_bytes()).unwrap();
    }

    /// Sends `command` and returns the status line.
    fn ask(&mut self, command: &str) -> String {
        self.send(&format!("{command}\r\n"));
        self.line()
    }

    /// The data after a `DATA N` line.
    fn data(&mut self) -> String {
        let n: usize = self.line().strip_prefix("DATA ").unwrap().parse().unwrap();
        let mut buf = vec![0; n];
        self.reader.read_exact(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }
}

const CONFIG: &str =
    "InfiniteSource(LIMIT 5, STOP false) -> c :: Counter -> q :: Queue(10) -> Idle;
    s :: Script(TYPE PASSIVE, return $(add $1 $2));";

#[test]
fn reads_writes_and_errors_over_tcp() {
    let port = 47311;
    let _router = start(&format!("ControlSocket(tcp, {port}+); {CONFIG}"));
    let mut c = Client::new(connect(|| TcpStream::connect(("127.0.0.1", port))));
    assert_eq!(c.ask("READ c.count"), "200 Read handler 'c.count' OK");
    assert_eq!(c.data(), "5", "the value as the handler gives it");
    assert_eq!(c.ask("read s.run 2 3"), "200 Read handler 's.run' OK");
    assert_eq!(c.data(), "5", "parameters follow the handler");
    assert_eq!(
        c.ask("WRITE q.capacity 20"),
        "200 Write handler 'q.capacity' OK"
    );
    c.ask("READ q.capacity");
    assert_eq!(c.data(), "20");
    // WRITEDATA: the value is the N bytes after the line.
    c.send("WRITEDATA q.capacity 2\r\n30");
    assert_eq!(c.line(), "200 Write handler 'q.capacity' OK");
    c.ask("READ 4.capacity");
    assert_eq!(c.data(), "30", "element 4 (from 1) is q");
    assert_eq!(
        c.ask("CHECKWRITE c.count"),
        "511 Handler 'c.count' not writable"
    );
    assert_eq!(c.ask("CHECKREAD c.count"), "200 Read handler 'c.count' OK");
    assert_eq!(c.ask("WRITE c.count 1"), "530 Handler 'c.count' read-only");
    assert_eq!(c.ask("READ c.reset"), "530 Handler 'c.reset' write-only");
    assert_eq!(c.ask("READ nope.count"), "510 No element named 'nope'");
    assert_eq!(c.ask("READ c.nope"), "511 No handler named 'c.nope'");
    // Private handlers (files, signals) do not exist for other programs.
    assert_eq!(
        c.ask("READ s.cat /etc/hostname"),
        "511 No handler named 's.cat'"
    );
    assert_eq!(c.ask("READ s.kill 0 1"), "511 No handler named 's.kill'");
    c.ask("READ s.handlers");
    let listing = c.data();
    assert!(listing.contains("add\tr\n"), "{listing}");
    assert!(
        !listing.contains("cat\t") && !listing.contains("kill\t"),
        "{listing}"
    );
    c.ask("READ c.class");
    assert_eq!(c.data(), "Counter", "default handlers are raw too");
    assert_eq!(
        c.ask("WRITE q.capacity x"),
        "520-Write handler 'q.capacity' error:"
    );
    assert!(c.line().starts_with("520 "), "then the handler's error");
    assert_eq!(c.ask("FROB"), "501 Command 'FROB' unimplemented");
    assert_eq!(c.ask("READ"), "500 Wrong number of arguments");
    assert_eq!(c.ask("READ version"), "200 Read handler 'version' OK");
    assert_eq!(c.data(), env!("CARGO_PKG_VERSION"));
    assert_eq!(c.ask("QUIT"), "200 Goodbye!");
}

#[test]
fn unix_socket_read_only_and_stop() {
    let (dir, path) = socket_in_temp_dir("cs");
    let mut router = start(&format!(
        "ControlSocket(unix, {}, READONLY true); {CONFIG}",
        path.display()
    ));
    let mut c = Client::new(connect(|| UnixStream::connect(&path)));
    c.ask("READ c.count");
    assert_eq!(c.data(), "5");
    assert_eq!(
        c.ask("WRITE q.capacity 20"),
        "530 Permission denied for 'q.capacity'"
    );
    drop(c);
    // A client without READONLY stops the router through `stop`.
    let tcp = 47331;
    let mut other = start(&format!("ControlSocket(tcp, {tcp}+); {CONFIG}"));
    let mut c = Client::new(connect(|| TcpStream::connect(("127.0.0.1", tcp))));
    assert_eq!(c.ask("WRITE stop"), "200 Write handler 'stop' OK");
    exits_cleanly(&mut other);
    let _ = router.0.kill();
    let _ = router.0.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_p_flag_adds_a_control_socket() {
    // Click's `click -p PORT`: the driver adds the ControlSocket itself.
    let port = 47351;
    let mut router = spawn(&["-p", &port.to_string(), "-e", CONFIG]);
    let mut c = Client::new(connect(|| TcpStream::connect(("127.0.0.1", port))));
    c.ask("READ list");
    let list = c.data();
    assert!(
        list.lines().any(|l| l == "click_driver@@ControlSocket"),
        "{list}"
    );
    assert_eq!(c.ask("WRITE stop"), "200 Write handler 'stop' OK");
    exits_cleanly(&mut router);
}

#[test]
fn hot_swap_keeps_the_connection_and_refuses_bad_configurations() {
    // Click's `click -R -u FILE`: `hotconfig` replaces the running router;
    // the driver's ControlSocket, and this client's connection, go on.
    let (dir, path) = socket_in_temp_dir("hs");
    let first = "RatedSource(RATE 1000) -> old :: Counter -> Discard";
    let mut router = spawn(&["-R", "-u", path.to_str().unwrap(), "-e", first]);
    let mut c = Client::new(connect(|| UnixStream::connect(&path)));
    assert_eq!(
        c.ask("CHECKWRITE hotconfig"),
        "200 Write handler 'hotconfig' OK"
    );
    assert!(c.ask("READ old.count").starts_with("200"));
    c.data();

    let second = "RatedSource(RATE 1000) -> new :: Counter -> Discard";
    assert_eq!(
        c.ask(&format!("WRITE hotconfig {second}")),
        "200 Write handler 'hotconfig' OK"
    );
    // The next command waits for the new router.
    assert_eq!(c.ask("READ old.count"), "510 No element named 'old'");
    assert!(c.ask("READ new.count").starts_with("200"));
    let before: u64 = c.data().parse().unwrap();

    // A configuration with errors is refused; the running router goes on.
    assert_eq!(
        c.ask("WRITE hotconfig Print"),
        "520-Write handler 'hotconfig' error:"
    );
    assert!(c.line().ends_with("'Print@1 :: Print' input 0 unused"));
    assert!(c.line().ends_with("'Print@1 :: Print' output 0 unused"));
    assert_eq!(c.line(), "520 Router could not be initialized!");
    std::thread::sleep(Duration::from_millis(100));
    assert!(c.ask("READ new.count").starts_with("200"));
    let after: u64 = c.data().parse().unwrap();
    assert!(after > before, "the new router runs: {before} then {after}");

    assert_eq!(c.ask("WRITE stop"), "200 Write handler 'stop' OK");
    exits_cleanly(&mut router);
    assert!(!path.exists(), "the last router removes its socket file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_the_r_flag_there_is_no_hotconfig() {
    let port = 47361;
    let mut router = spawn(&["-p", &port.to_string(), "-e", CONFIG]);
    let mut c = Client::new(connect(|| TcpStream::connect(("127.0.0.1", port))));
    assert_eq!(
        c.ask("WRITE hotconfig Idle"),
        "511 No handler named 'hotconfig'"
    );
    assert_eq!(c.ask("WRITE stop"), "200 Write handler 'stop' OK");
    exits_cleanly(&mut router);
}

#[test]
fn llrpc_gets_and_sets_a_switch_in_binary() {
    // Click's LLRPCs over the socket: `LLRPC ELEMENT#NUMBER [LEN]`, the
    // data a host-order int (CLICK_LLRPC_GET_SWITCH 4004C005,
    // CLICK_LLRPC_SET_SWITCH 80044006).
    let port = 47371;
    let config =
        format!("ControlSocket(tcp, {port}); Idle -> s :: Switch(0) -> Idle; s[1] -> Idle");
    let mut router = start(&config);
    let mut c = Client::new(connect(|| TcpStream::connect(("127.0.0.1", port))));
    let get = |c: &mut Client<TcpStream>| -> i32 {
        assert_eq!(c.ask("LLRPC s#4004C005"), "200 LLRPC 's#4004C005' OK");
        assert_eq!(c.line(), "DATA 4");
        let mut k = [0u8; 4];
        c.reader.read_exact(&mut k).unwrap();
        i32::from_ne_bytes(k)
    };
    assert_eq!(get(&mut c), 0);
    c.send("LLRPC s#80044006 4\r\n");
    c.reader.get_mut().write_all(&1i32.to_ne_bytes()).unwrap();
    assert_eq!(c.line(), "200 LLRPC 's#80044006' OK");
    assert_eq!(c.line(), "DATA 0");
    c.ask("READ s.switch");
    assert_eq!(c.data(), "1");
    // -1 (destroy packets) goes both ways, bytes that are not UTF-8.
    assert_eq!(
        c.ask("WRITE s.switch -1"),
        "200 Write handler 's.switch' OK"
    );
    assert_eq!(get(&mut c), -1);

    assert_eq!(
        c.ask("LLRPC s#80044006 2\r\nxx"),
        "522 LLRPC 's#80044006' requires 4 bytes input data"
    );
    assert_eq!(
        c.ask("LLRPC s#4004C063"),
        "522 LLRPC 's#4004C063' error: Invalid argument"
    );
    // Not flat data (a pointer inside): cannot cross a socket.
    assert_eq!(
        c.ask("LLRPC s#40048005"),
        "501 Cannot call LLRPC 's#40048005' remotely"
    );
    assert_eq!(
        c.ask("LLRPC nosuch#4004C005"),
        "510 No element named 'nosuch'"
    );
    assert_eq!(c.ask("LLRPC s#zz"), "500 Syntax error in LLRPC name 's#zz'");
    assert_eq!(c.ask("WRITE stop"), "200 Write handler 'stop' OK");
    exits_cleanly(&mut router);
}

#[test]
fn a_remote_stop_goes_through_the_driver_manager() {
    // Click's global `stop` lowers the run count: a DriverManager waiting
    // for a stop event takes its next steps before the router ends.
    let (dir, path) = socket_in_temp_dir("ds");
    let config = format!(
        "ControlSocket(unix, {}); InfiniteSource(LIMIT 5, STOP false) -> c :: Counter -> Discard;
         DriverManager(wait_stop, print \"stop seen at $(c.count)\", stop)",
        path.display()
    );
    let mut router = Running(
        Command::new(env!("CARGO_BIN_EXE_router"))
            .args(["-e", &config])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run router"),
    );
    let mut c = Client::new(connect(|| UnixStream::connect(&path)));
    // The socket is up before the source runs: wait for its five packets.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert_eq!(c.ask("READ c.count"), "200 Read handler 'c.count' OK");
        if c.data() == "5" || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(c.ask("WRITE stop true"), "200 Write handler 'stop' OK");
    exits_cleanly(&mut router);
    let mut out = String::new();
    router
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "stop seen at 5\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The local addresses listening on TCP port `port`, from /proc/net/tcp.
fn listening_addresses(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (addr, p) = fields.get(1)?.split_once(':')?;
            (u16::from_str_radix(p, 16).ok()? == port && fields.get(3)? == &"0A")
                .then(|| addr.to_string())
        })
        .collect()
}

#[test]
fn control_sockets_are_private_by_default() {
    // -p PORT: loopback only.
    let port = free_port();
    let mut router = Running(
        Command::new(env!("CARGO_BIN_EXE_router"))
            .args(["-p", &port.to_string(), "-e", "Idle -> Discard"])
            .stderr(Stdio::null())
            .spawn()
            .expect("run router"),
    );
    connect(|| TcpStream::connect(("127.0.0.1", port)));
    assert_eq!(listening_addresses(port), ["0100007F"], "127.0.0.1 only");
    router.0.kill().unwrap();
    let _ = router.0.wait();

    // -p 0.0.0.0:PORT: every interface, and a warning says so.
    let port = free_port();
    let mut router = Running(
        Command::new(env!("CARGO_BIN_EXE_router"))
            .args(["-p", &format!("0.0.0.0:{port}"), "-e", "Idle -> Discard"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("run router"),
    );
    connect(|| TcpStream::connect(("127.0.0.1", port)));
    assert_eq!(listening_addresses(port), ["00000000"]);
    router.0.kill().unwrap();
    let _ = router.0.wait();
    let mut out = String::new();
    router
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        out.contains("listening on 0.0.0.0") && out.contains("anyone who can reach this host"),
        "{out}"
    );

    // -u FILE: mode 0600.
    let (dir, path) = socket_in_temp_dir("private");
    let mut router = Running(
        Command::new(env!("CARGO_BIN_EXE_router"))
            .args(["-u", path.to_str().unwrap(), "-e", "Idle -> Discard"])
            .spawn()
            .expect("run router"),
    );
    connect(|| UnixStream::connect(&path));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is its owner's only");
    router.0.kill().unwrap();
    let _ = router.0.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_stats_handler_reads_every_threads_counts_while_running() {
    let port = free_port();
    let _router = spawn(&[
        "-j",
        "2",
        "-p",
        &port.to_string(),
        "-e",
        "s0 :: InfiniteSource(LIMIT 50, STOP false) -> c :: Counter -> d :: Discard;
         s1 :: InfiniteSource(LIMIT 50, STOP false) -> c;
         StaticThreadSched(s1 1);",
    ]);
    let mut c = Client::new(connect(|| TcpStream::connect(("127.0.0.1", port))));
    let deadline = Instant::now() + Duration::from_secs(10);
    let table = loop {
        assert_eq!(c.ask("READ stats"), "200 Read handler 'stats' OK");
        let table = c.data();
        let counted = table
            .lines()
            .find(|l| l.starts_with("c :: Counter"))
            .is_some_and(|l| l.split_whitespace().nth(3) == Some("100"));
        if counted || Instant::now() > deadline {
            break table;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("c :: Counter"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        row[3..5],
        ["100", "100"],
        "both threads' instances: {table}"
    );
}
