//! A three-namespace network for router tests: `host-a ── router ── host-b`,
//! joined by veth pairs with offloads off, addresses and routes set, and
//! the router binary run in the middle namespace.
//!
//! ```text
//!   host-a                 router                  host-b
//!   a0 10.1.1.2/24 ─veth─ r0 (10.1.1.1)  r1 (10.1.2.1) ─veth─ b0 10.1.2.2/24
//!   default via 10.1.1.1                                default via 10.1.2.1
//! ```
//!
//! The router's devices have no address in the kernel and forwarding is
//! off there, so only the router binary answers and forwards (unless a
//! benchmark asks for kernel forwarding). Namespaces get unique names
//! (tag, process id, counter); the addresses live inside them, so tests
//! run in parallel without seeing each other. Everything is torn down by
//! `Drop`, also when a test panics: processes started here are killed by
//! their ids, then the namespaces (and their veths) are deleted.
//!
//! Needs root, `ip` and `ethtool`, and the clients a test uses (`ping`,
//! `iperf3`, `tcpdump`, `tshark`, `arping`): a missing one is a failure
//! that says what to install, never a skipped test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The router's address on the host-a side.
pub const R0_IP: &str = "10.1.1.1";
/// The router's address on the host-b side.
pub const R1_IP: &str = "10.1.2.1";
/// host-a's address.
pub const A_IP: &str = "10.1.1.2";
/// host-b's address.
pub const B_IP: &str = "10.1.2.2";
/// Ethernet addresses, fixed so configurations can name them.
pub const R0_MAC: &str = "02:00:00:00:01:01";
pub const R1_MAC: &str = "02:00:00:00:02:01";
pub const A_MAC: &str = "02:00:00:00:01:02";
pub const B_MAC: &str = "02:00:00:00:02:02";

/// Panics, saying what to install, unless this process is root and each
/// of `tools` is on the PATH.
pub fn require(tools: &[&str]) {
    // SAFETY: no arguments.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (network namespaces, veth pairs, packet sockets): run it as root, as .ci/run does"
    );
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        let pkg = match *tool {
            "ip" => "iproute2",
            "ping" => "iputils-ping",
            "arping" => "iputils-arping",
            t => t,
        };
        assert!(
            found,
            "this test needs `{tool}`: apt-get install {pkg} (.ci/run installs it)"
        );
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One network namespace of the test's own.
#[derive(Debug)]
pub struct Ns {
    name: String,
}

impl Ns {
    fn new(tag: &str) -> Ns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "rt-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Ns { name };
        // No IPv6: no router solicitations or MLD reports on the wires.
        ns.sh("echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
        ns.ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command running `program` in this namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `argv` here and returns its output, whatever its status.
    pub fn exec(&self, argv: &[&str]) -> Output {
        self.cmd(argv[0])
            .args(&argv[1..])
            .output()
            .unwrap_or_else(|e| panic!("{argv:?} in {}: {e}", self.name))
    }

    /// Runs `argv` here, asserts it succeeded, returns its standard output.
    pub fn ok(&self, argv: &[&str]) -> String {
        let out = run(self.cmd(argv[0]).args(&argv[1..]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a shell line here and asserts it succeeded.
    pub fn sh(&self, line: &str) -> String {
        self.ok(&["sh", "-c", line])
    }

    /// Starts `argv` here in the background; it is killed when the
    /// returned guard drops.
    pub fn spawn(&self, argv: &[&str]) -> Bg {
        let child = self
            .cmd(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{argv:?} in {}: {e}", self.name));
        Bg {
            child: Some(child),
            what: argv.join(" "),
        }
    }

    /// Starts `argv` here in the background with its standard error going
    /// to `log`, and waits up to 10 s for `ready` to appear there (a
    /// capture's `listening on`); the guard kills it on drop.
    pub fn spawn_ready(&self, argv: &[&str], log: &Path, ready: &str) -> Bg {
        let err = std::fs::File::create(log).expect("log file");
        let child = self
            .cmd(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{argv:?} in {}: {e}", self.name));
        let mut bg = Bg {
            child: Some(child),
            what: argv.join(" "),
        };
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.contains(ready) {
                return bg;
            }
            if let Some(out) = bg.exited() {
                panic!("`{}` exited ({}): {text}", bg.what, out.status);
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "`{}` not ready after 10 s: {text}",
                bg.what
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Turns offloads off on `dev` (or AF_PACKET and AF_XDP see 64 KB GSO
    /// frames) and brings it up.
    fn prepare(&self, dev: &str, mac: &str) {
        self.ok(&["ip", "link", "set", dev, "address", mac]);
        self.ok(&[
            "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx",
            "off",
        ]);
        self.ok(&["ip", "link", "set", dev, "up"]);
    }

    /// The MTU of `dev` here.
    pub fn set_mtu(&self, dev: &str, mtu: u32) {
        self.ok(&["ip", "link", "set", dev, "mtu", &mtu.to_string()]);
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        // Processes still in the namespace would keep it alive: they are
        // ours (nobody else knows its name), so end them by id first.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                // SAFETY: a process in a namespace only this test made.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A background process, killed and reaped on drop.
pub struct Bg {
    child: Option<Child>,
    what: String,
}

impl Bg {
    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Whether it has exited (and with which output, taken once).
    pub fn exited(&mut self) -> Option<Output> {
        let c = self.child.as_mut()?;
        match c.try_wait() {
            Ok(Some(_)) => Some(self.child.take().unwrap().wait_with_output().unwrap()),
            _ => None,
        }
    }

    /// Waits up to `limit` for it to end; panics if it does not.
    pub fn wait(mut self, limit: Duration) -> Output {
        let start = Instant::now();
        loop {
            if let Some(out) = self.exited() {
                return out;
            }
            assert!(
                start.elapsed() < limit,
                "`{}` still running after {limit:?}",
                self.what
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `sig` and waits for it to end: its output.
    pub fn signal(mut self, sig: i32) -> Output {
        let mut c = self.child.take().expect("running");
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(c.id() as i32, sig) };
        let start = Instant::now();
        while c.try_wait().ok().flatten().is_none() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        c.wait_with_output().unwrap()
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The three namespaces and their wiring.
pub struct Net {
    pub a: Ns,
    pub r: Ns,
    pub b: Ns,
    /// Created files (configurations, captures), removed on drop.
    pub dir: PathBuf,
}

/// How to build a [`Net`].
#[derive(Clone, Copy, Debug)]
pub struct NetOpts {
    /// Queues on each veth (rx and tx).
    pub queues: u32,
    /// MTU of the host-b link (both ends), if not 1500.
    pub mtu_b: Option<u32>,
}

impl Default for NetOpts {
    fn default() -> Self {
        NetOpts {
            queues: 1,
            mtu_b: None,
        }
    }
}

impl Net {
    /// host-a, router and host-b as the module's picture shows.
    pub fn new(tag: &str, opts: NetOpts) -> Net {
        require(&["ip", "ethtool"]);
        let a = Ns::new(&format!("{tag}-a"));
        let r = Ns::new(&format!("{tag}-r"));
        let b = Ns::new(&format!("{tag}-b"));
        let dir = std::env::temp_dir().join(r.name());
        std::fs::create_dir_all(&dir).expect("temp dir");
        let net = Net { a, r, b, dir };
        let q = opts.queues.to_string();
        for (host, hdev, rdev) in [(&net.a, "a0", "r0"), (&net.b, "b0", "r1")] {
            net.r.ok(&[
                "ip",
                "link",
                "add",
                rdev,
                "numtxqueues",
                &q,
                "numrxqueues",
                &q,
                "type",
                "veth",
                "peer",
                "name",
                hdev,
                "numtxqueues",
                &q,
                "numrxqueues",
                &q,
                "netns",
                host.name(),
            ]);
        }
        net.r.sh("sysctl -qw net.ipv4.ip_forward=0");
        net.r.prepare("r0", R0_MAC);
        net.r.prepare("r1", R1_MAC);
        net.a.prepare("a0", A_MAC);
        net.b.prepare("b0", B_MAC);
        if let Some(mtu) = opts.mtu_b {
            net.r.set_mtu("r1", mtu);
            net.b.set_mtu("b0", mtu);
        }
        net.a
            .ok(&["ip", "addr", "add", &format!("{A_IP}/24"), "dev", "a0"]);
        net.b
            .ok(&["ip", "addr", "add", &format!("{B_IP}/24"), "dev", "b0"]);
        net.a.ok(&["ip", "route", "add", "default", "via", R0_IP]);
        net.b.ok(&["ip", "route", "add", "default", "via", R1_IP]);
        net
    }

    /// Makes the middle namespace a Linux router (addresses on its
    /// devices, ip_forward=1): the kernel baseline.
    pub fn kernel_forwarding(&self) {
        self.r
            .ok(&["ip", "addr", "add", &format!("{R0_IP}/24"), "dev", "r0"]);
        self.r
            .ok(&["ip", "addr", "add", &format!("{R1_IP}/24"), "dev", "r1"]);
        self.r.sh("sysctl -qw net.ipv4.ip_forward=1");
    }

    /// A path in this network's scratch directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Starts the router binary in the middle namespace with `args`
    /// (a configuration file and NAME=VALUE settings), its standard error
    /// going to a file of the scratch directory.
    pub fn start_router(&self, bin: &str, args: &[&str]) -> Router {
        let log = self.file("router.log");
        let err = std::fs::File::create(&log).expect("router log");
        let child = self
            .r
            .cmd(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("start router");
        Router {
            child: Some(child),
            log,
        }
    }

    /// Waits until `from` gets an echo reply from `to`, up to `limit`;
    /// panics (with the router's log) if it never does.
    pub fn wait_reachable(&self, from: &Ns, to: &str, router: &mut Router, limit: Duration) {
        let start = Instant::now();
        loop {
            router.assert_running();
            let out = from.exec(&["ping", "-c", "1", "-W", "1", "-q", to]);
            if out.status.success() {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "{to} not reachable from {} within {limit:?}; router log:\n{}",
                from.name(),
                router.log()
            );
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        // The namespaces drop after this, deleting their devices.
    }
}

/// The router binary running in a namespace; interrupted on drop.
pub struct Router {
    child: Option<Child>,
    log: PathBuf,
}

impl Router {
    /// Its standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics, with its log, if it has exited.
    pub fn assert_running(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                panic!("router exited ({status}):\n{}", self.log());
            }
        }
    }

    /// Stops it as Ctrl-C does; its standard output (the `-h` handlers'
    /// values) and its log.
    pub fn stop(mut self) -> (String, String) {
        let mut c = self.child.take().expect("running");
        // SAFETY: a signal to our own child (ip netns exec execs the router).
        unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
        let start = Instant::now();
        while c.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(10) {
                let _ = c.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = c.wait_with_output().expect("router output");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            self.log(),
        )
    }

    /// The log file's path.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            // SAFETY: our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
            std::thread::sleep(Duration::from_millis(200));
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// What the router tests (ip_router.rs, nat_gateway.rs) ask of the hosts
// and of the router.

/// A test's running router, whose log a failed check shows.
pub trait RouterLog {
    /// The router's log so far.
    fn log(&self) -> String;
}

/// Pings `to` from `from` with `extra` arguments (`-c N` at least):
/// ping's output, standard output and error.
pub fn ping(from: &Ns, to: &str, extra: &[&str]) -> String {
    let mut argv = vec!["ping", "-n", "-W", "2"];
    argv.extend_from_slice(extra);
    argv.push(to);
    let out = from.exec(&argv);
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The value of the last `"key": N` in iperf3's JSON output.
pub fn json_last(json: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\":");
    let at = json.rfind(&pat)? + pat.len();
    let rest = json[at..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e' || c == '+'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The handler values of a `-h` output (`NAME:`, value, blank line).
pub fn handler_values(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| !l.is_empty() && !l.ends_with(':'))
        .collect()
}

/// Sends `request` to the router's control socket at `path`; what it
/// answered (the greeting and the reply).
pub fn control(path: &Path, request: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::os::unix::net::UnixStream::connect(path).expect("control socket");
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(request.as_bytes()).unwrap();
    c.write_all(b"QUIT\r\n").unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}

/// Asserts that ten pings from `from` to `to`, 50 ms apart, all come
/// back (`extra` may change the count: ping takes the last `-c`).
pub fn ping_all(s: &impl RouterLog, from: &Ns, to: &str, extra: &[&str]) {
    let mut argv = vec!["-c", "10", "-i", "0.05"];
    argv.extend_from_slice(extra);
    let out = ping(from, to, &argv);
    assert!(
        out.contains(" 0% packet loss"),
        "ping {to} from {}: {out}\nrouter log:\n{}",
        from.name(),
        s.log()
    );
}

/// Each test on each method: `mod NAME { fn packet, fn xdp }`, each
/// calling `NAME("PACKET")` or `NAME("XDP")` of the test file.
#[macro_export]
macro_rules! on_each_method {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn packet() {
                super::$name("PACKET");
            }
            #[test]
            fn xdp() {
                super::$name("XDP");
            }
        }
    )*};
}

/// Fields `fields` of each frame in capture `file`, as tshark in `ns`
/// reads it with preferences `prefs` (`-o NAME:VALUE`): a row per frame.
pub fn tshark_fields(ns: &Ns, file: &str, prefs: &[&str], fields: &[&str]) -> Vec<Vec<String>> {
    let mut argv = vec!["tshark", "-n", "-r", file];
    for p in prefs {
        argv.extend(["-o", p]);
    }
    argv.extend(["-T", "fields", "-E", "separator=,"]);
    for f in fields {
        argv.extend(["-e", f]);
    }
    ns.ok(&argv)
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}
