//! ControlSocket: lets other programs call the router's handlers over a
//! TCP or Unix-domain socket, in Click's line protocol.
//!
//! The sockets are served by threads of their own, never by the scheduler
//! threads: a slow client cannot stall packets. Each call goes to the
//! scheduler thread that owns the element, through the same inboxes as
//! handler calls between threads, and is answered between two rounds.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use click_engine::args::{Args, Raw};
use click_engine::{ConfigureCtx, Element, ElementClass, Handler, InitCtx, RouterHandle};

/// The protocol version in the greeting.
const PROTOCOL: &str = "Click::ControlSocket/1.3";
/// How often idle server threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);
/// Ports tried after PORT when it ends with `+` and is taken.
const PORT_TRIES: u16 = 100;
/// How long a command waits for the router that replaces the old one in a
/// hot swap.
const SWAP_WAIT: Duration = Duration::from_secs(5);

/// `ControlSocket(TYPE, PORT | FILENAME, *keywords* READONLY, LOCALHOST,
/// VERBOSE)`: serves the router's handlers to other programs, on TCP port
/// PORT (`tcp`; `PORT+` tries the next ports while one is taken) or on the
/// Unix-domain socket FILENAME (`unix`; an existing file is replaced).
///
/// The protocol is Click's (version 1.3): the server greets with
/// `Click::ControlSocket/1.3`, then answers each command line with a
/// status line (`200` success; `500` syntax, `501` unimplemented, `510` no
/// such element, `511` no such handler, `520` handler error, `522` LLRPC
/// error, `530` permission denied). Commands: `READ H [ARGS]`, `READDATA H
/// N` (ARGS are the N bytes after the line), `READUNTIL H [TERM]`,
/// answered by `DATA N` and the value's N bytes; `WRITE H [VALUE]`,
/// `WRITEDATA H N`, `WRITEUNTIL H [TERM]`; `CHECKREAD H`, `CHECKWRITE H`;
/// `LLRPC ELEMENT#NUMBER [N]` (Click's binary calls, NUMBER in hexadecimal
/// as in Click's `llrpc.h`; those with a handler equivalent are answered:
/// `CLICK_LLRPC_GET_SWITCH` and `CLICK_LLRPC_SET_SWITCH`, a host-order
/// 32-bit int, read and write `switch`); `HELP`; `QUIT`. H is
/// `ELEMENT.HANDLER` (the element by name, or by its number from 1), or a
/// global handler: `version`, `list`, `classes`, `config`, `flatconfig` to
/// read, `stop` (and `hotconfig` under `router -R`) to write. Values are
/// the handler's own, with no newline added; private handlers (Script's
/// `cat`, `kill`) do not exist here. READONLY refuses writes; VERBOSE
/// logs connections. `router -p PORT` and `router -u FILE` add one, as
/// Click's driver does.
///
/// Safe by default, unlike Click's: a TCP socket listens on 127.0.0.1
/// only, unless PORT names an address (`0.0.0.0:7777`) or `LOCALHOST
/// false` is given, and then a warning says who can reach it; a Unix
/// socket is created readable and writable by its owner only (mode 0600).
/// Anyone who can connect can read and write every handler, stop the
/// router, and under `router -R` replace it.
///
/// In a hot swap (`router -R`), the new router's ControlSocket of the same
/// name and endpoint takes over the socket and its open connections, so
/// clients do not notice the swap but for a short wait.
///
/// * Ports: none.
/// * Handlers: `port` (read: the TCP port bound).
pub struct ControlSocket {
    endpoint: Endpoint,
    read_only: bool,
    verbose: bool,
    port: Option<u16>,
    /// Shared with the server threads; `None` once handed over.
    served: Option<Arc<Served>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Tcp {
        /// Where to listen: 127.0.0.1 unless the configuration names a
        /// wider address.
        addr: Ipv4Addr,
        port: u16,
        try_next: bool,
    },
    Unix(PathBuf),
}

impl ElementClass for ControlSocket {
    const CLASS: &'static str = "ControlSocket";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let Raw(kind) = args.read_mp("TYPE")?;
        let Raw(place) = args.read_mp("PORT")?;
        let read_only = args.read("READONLY")?.unwrap_or(false);
        let localhost = args.read("LOCALHOST")?;
        let verbose = args.read("VERBOSE")?.unwrap_or(false);
        for ignored in ["PROXY", "RETRIES", "RETRY_WARNINGS"] {
            if args.read::<Raw>(ignored)?.is_some() {
                tracing::warn!("ControlSocket: {ignored} is not supported; ignored");
            }
        }
        let endpoint = match kind.to_ascii_uppercase().as_str() {
            "TCP" => {
                // PORT, or ADDRESS:PORT to listen on another address.
                let (addr, port_text) = match place.rsplit_once(':') {
                    Some((a, p)) => {
                        let addr: Ipv4Addr = a
                            .parse()
                            .map_err(|_| format!("bad address '{a}' in '{place}'"))?;
                        (Some(addr), p)
                    }
                    None => (None, place.as_str()),
                };
                let (digits, try_next) = match port_text.strip_suffix('+') {
                    Some(d) => (d, true),
                    None => (port_text, false),
                };
                let port = digits
                    .parse()
                    .map_err(|_| format!("bad port number '{place}' (expected 0 to 65535)"))?;
                // Safe by default: loopback only, unless an address or
                // LOCALHOST false says otherwise.
                let addr = match (addr, localhost) {
                    (Some(addr), _) => addr,
                    (None, Some(false)) => Ipv4Addr::UNSPECIFIED,
                    (None, _) => Ipv4Addr::LOCALHOST,
                };
                Endpoint::Tcp {
                    addr,
                    port,
                    try_next,
                }
            }
            "UNIX" => Endpoint::Unix(PathBuf::from(click_engine::args::unquote(&place))),
            _ => {
                return Err(format!(
                    "unknown socket type '{kind}' (expected 'tcp' or 'unix')"
                ))
            }
        };
        Ok(ControlSocket {
            endpoint,
            read_only,
            verbose,
            port: None,
            served: None,
        })
    }
}

impl Element for ControlSocket {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let router = ctx.router_handle().remote();
        if let Some(mut old) = ctx.take_state::<Handover>() {
            if old.endpoint == self.endpoint {
                if let Some(served) = old.served.take() {
                    served.serve(Some(router));
                    self.port = old.port;
                    self.served = Some(served);
                    return Ok(());
                }
            }
        }
        let served = Arc::new(Served::new(router.clone()));
        self.served = Some(served.clone());
        let server = Server {
            router,
            served,
            read_only: self.read_only,
            verbose: self.verbose,
            name: ctx.name().to_string(),
        };
        let listener = match &self.endpoint {
            Endpoint::Tcp {
                addr,
                port,
                try_next,
            } => {
                let (listener, bound) = bind_tcp(*addr, *port, *try_next)?;
                if !addr.is_loopback() {
                    tracing::warn!(
                        "{}: listening on {addr}:{bound}: anyone who can reach this host may \
                         read and write handlers, and stop or replace the router",
                        ctx.name()
                    );
                }
                self.port = Some(bound);
                Listener::Tcp(listener)
            }
            Endpoint::Unix(path) => {
                let _ = std::fs::remove_file(path);
                Listener::Unix(bind_unix_private(path)?)
            }
        };
        listener
            .set_nonblocking()
            .map_err(|e| format!("socket: {e}"))?;
        std::thread::Builder::new()
            .name("controlsocket".into())
            .spawn(move || server.listen(listener))
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        Ok(())
    }

    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        let served = self.served.take()?;
        // Commands wait until the new router's ControlSocket serves them.
        served.serve(None);
        Some(Box::new(Handover {
            endpoint: self.endpoint.clone(),
            port: self.port,
            served: Some(served),
        }))
    }

    fn cleanup(&mut self) {
        if let Some(served) = self.served.take() {
            served.shut_down(&self.endpoint);
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("port")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "port" => Some(self.port.map(|p| p.to_string()).unwrap_or_default()),
            _ => None,
        }
    }
}

/// A Unix-domain socket at `path` that only its owner may use: bound,
/// made mode 0600, and only then listening, so no other user can connect
/// in between.
fn bind_unix_private(path: &std::path::Path) -> Result<UnixListener, String> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain old data; zeroed is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(format!("{}: path too long for a socket", path.display()));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, &b) in addr.sun_path.iter_mut().zip(bytes) {
        *d = b as libc::c_char;
    }
    // SAFETY: socket takes no pointers; a non-negative result is a new
    // descriptor that `fd` then owns.
    let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` was just returned by socket(2) and is owned by nobody.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `addr` is a live, initialized sockaddr_un of `len` bytes.
    if unsafe { libc::bind(raw, (&addr as *const libc::sockaddr_un).cast(), len) } < 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    // SAFETY: `raw` is our bound socket.
    if unsafe { libc::listen(raw, 128) } < 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    Ok(UnixListener::from(fd))
}

fn bind_tcp(addr: Ipv4Addr, port: u16, try_next: bool) -> Result<(TcpListener, u16), String> {
    let tries = if try_next { PORT_TRIES } else { 1 };
    let mut last = None;
    for p in (port..=u16::MAX).take(tries.into()) {
        match TcpListener::bind((addr, p)) {
            Ok(l) => return Ok((l, p)),
            Err(e) => last = Some(e),
        }
    }
    Err(format!(
        "{addr}:{port}: {}",
        last.map_or("no port to try".into(), |e| e.to_string())
    ))
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    fn set_nonblocking(&self) -> std::io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(true),
            Listener::Unix(l) => l.set_nonblocking(true),
        }
    }

    fn accept(&self) -> std::io::Result<Box<dyn Stream>> {
        Ok(match self {
            Listener::Tcp(l) => Box::new(l.accept()?.0),
            Listener::Unix(l) => Box::new(l.accept()?.0),
        })
    }
}

/// A connection: TCP or Unix-domain.
trait Stream: Read + Write + Send {
    fn prepare(&self) -> std::io::Result<()>;
}

impl Stream for TcpStream {
    fn prepare(&self) -> std::io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_read_timeout(Some(POLL))
    }
}

impl Stream for UnixStream {
    fn prepare(&self) -> std::io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_read_timeout(Some(POLL))
    }
}

/// What the server threads share with the element that started them, or
/// with the one that took them over in a hot swap.
struct Served {
    /// The router served; `None` while a hot swap replaces it.
    router: Mutex<Option<RouterHandle>>,
    swapped: Condvar,
    stop: AtomicBool,
}

impl Served {
    fn new(router: RouterHandle) -> Self {
        Served {
            router: Mutex::new(Some(router)),
            swapped: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<RouterHandle>> {
        self.router.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `router` from now on (`None`: a swap is under way).
    fn serve(&self, router: Option<RouterHandle>) {
        *self.lock() = router;
        self.swapped.notify_all();
    }

    /// The router to serve the next command. A router that is stopping
    /// may be about to be swapped (`hotconfig` stops it first): wait until
    /// it is replaced or this server shuts down.
    fn current(&self) -> Option<RouterHandle> {
        let guard = self.lock();
        let (guard, _) = self
            .swapped
            .wait_timeout_while(guard, SWAP_WAIT, |r| {
                r.as_ref().is_none_or(RouterHandle::is_stopping)
                    && !self.stop.load(Ordering::Acquire)
            })
            .unwrap_or_else(|e| e.into_inner());
        guard.clone()
    }

    fn stopping(&self) -> bool {
        // A router that failed to initialize stops without cleanup.
        self.stop.load(Ordering::Acquire) || self.lock().as_ref().is_some_and(|r| !r.is_running())
    }

    fn shut_down(&self, endpoint: &Endpoint) {
        self.stop.store(true, Ordering::Release);
        self.swapped.notify_all();
        if let Endpoint::Unix(path) = endpoint {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A ControlSocket's server, handed from a router to the one replacing it.
struct Handover {
    endpoint: Endpoint,
    port: Option<u16>,
    /// `None` once taken.
    served: Option<Arc<Served>>,
}

impl Drop for Handover {
    /// Not taken: the new router has no such ControlSocket.
    fn drop(&mut self) {
        if let Some(served) = self.served.take() {
            served.shut_down(&self.endpoint);
        }
    }
}

/// A server thread's view: the router it serves now, and the rest.
#[derive(Clone)]
struct Server {
    router: RouterHandle,
    served: Arc<Served>,
    read_only: bool,
    verbose: bool,
    name: String,
}

impl Server {
    fn stopping(&self) -> bool {
        self.served.stopping()
    }

    /// Accepts connections until the router stops, one thread each.
    fn listen(self, listener: Listener) {
        while !self.stopping() {
            match listener.accept() {
                Ok(stream) => {
                    if self.verbose {
                        tracing::info!("{}: opened a connection", self.name);
                    }
                    let server = self.clone();
                    let _ = std::thread::Builder::new()
                        .name("controlsocket-conn".into())
                        .spawn(move || server.session(stream));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
                Err(e) => {
                    tracing::warn!("{}: accept: {e}", self.name);
                    std::thread::sleep(POLL);
                }
            }
        }
    }

    fn session(mut self, stream: Box<dyn Stream>) {
        if stream.prepare().is_err() {
            return;
        }
        let mut conn = Conn {
            stream,
            input: Vec::new(),
            closed: false,
        };
        if conn.send(format!("{PROTOCOL}\r\n").as_bytes()).is_ok() {
            while let Some(line) = conn.line(&self) {
                let Some(router) = self.served.current() else {
                    break;
                };
                self.router = router;
                let reply = self.command(&line, &mut conn);
                let sent = conn.send(reply.text.as_bytes());
                let sent = sent.and_then(|()| conn.send(&reply.data));
                if let Some(value) = &reply.stop {
                    // Only now: the router's exit would cut the reply.
                    let _ = self.router.write("stop", value);
                }
                if sent.is_err() || reply.quit {
                    break;
                }
            }
        }
        if self.verbose {
            tracing::info!("{}: closed a connection", self.name);
        }
    }

    /// Answers one command line (reading any data it announces).
    fn command(&self, line: &str, conn: &mut Conn) -> Reply {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        let Some(first) = words.first() else {
            return Reply::text(String::new());
        };
        let command = first.to_ascii_uppercase();
        // The rest of the line after the handler name, spaces kept.
        let rest = || {
            words.get(2).map_or(String::new(), |w| {
                let start = w.as_ptr() as usize - line.as_ptr() as usize;
                line[start..].trim_end().to_string()
            })
        };
        let text = match command.as_str() {
            "WRITE" | "SET" if words.len() >= 2 && words[1] == "stop" && !self.read_only => {
                return Reply {
                    text: message(200, "Write handler 'stop' OK"),
                    data: Vec::new(),
                    quit: false,
                    stop: Some(rest()),
                }
            }
            "READ" | "GET" | "WRITE" | "SET" if words.len() >= 2 => {
                let data = rest();
                if command.starts_with(['R', 'G']) {
                    self.read(words[1], &data)
                } else {
                    self.write(words[1], &data)
                }
            }
            "READDATA" | "WRITEDATA" | "SETDATA" if words.len() == 3 => {
                let Ok(n) = words[2].parse::<usize>() else {
                    return Reply::text(message(500, &format!("Syntax error in '{command}'")));
                };
                let Some(data) = conn.bytes(n, self) else {
                    return Reply::text(message(500, "Not enough data"));
                };
                let data = String::from_utf8_lossy(&data).into_owned();
                if command.starts_with('R') {
                    self.read(words[1], &data)
                } else {
                    self.write(words[1], &data)
                }
            }
            "READUNTIL" | "WRITEUNTIL" if words.len() >= 2 => {
                let until = rest();
                let mut data = String::new();
                loop {
                    let Some(l) = conn.line(self) else {
                        return Reply::text(message(500, "Connection closed"));
                    };
                    if l.trim_end() == until {
                        break;
                    }
                    data.push_str(&l);
                    data.push('\n');
                }
                if command.starts_with('R') {
                    self.read(words[1], &data)
                } else {
                    self.write(words[1], &data)
                }
            }
            "CHECKREAD" | "CHECKWRITE" if words.len() == 2 => {
                self.check(words[1], command == "CHECKWRITE")
            }
            "READ" | "GET" | "WRITE" | "SET" | "READDATA" | "WRITEDATA" | "SETDATA"
            | "READUNTIL" | "WRITEUNTIL" | "CHECKREAD" | "CHECKWRITE" => {
                message(500, "Wrong number of arguments")
            }
            "QUIT" | "CLOSE" => {
                return Reply {
                    text: message(200, "Goodbye!"),
                    data: Vec::new(),
                    quit: true,
                    stop: None,
                }
            }
            "HELP" => lines(200, HELP),
            "LLRPC" if (2..=3).contains(&words.len()) => {
                let len = match words.get(2).map(|w| w.parse::<usize>()) {
                    None => 0,
                    Some(Ok(n)) => n,
                    Some(Err(_)) => return Reply::text(message(500, "Syntax error in 'llrpc'")),
                };
                let Some(data) = conn.bytes(len, self) else {
                    return Reply::text(message(500, "Not enough data"));
                };
                return self.llrpc(words[1], &data);
            }
            "LLRPC" => message(500, "Wrong number of arguments"),
            _ => message(501, &format!("Command '{command}' unimplemented")),
        };
        Reply::text(text)
    }

    /// `LLRPC ELEMENT#NUMBER`: Click's binary element calls, `NUMBER` in
    /// hexadecimal as Click's `llrpc.h` defines it (direction, data size,
    /// number). The ones with a handler equivalent are answered through
    /// it: `CLICK_LLRPC_GET_SWITCH` and `CLICK_LLRPC_SET_SWITCH` (a 32-bit
    /// integer in host byte order) read and write `switch`.
    fn llrpc(&self, call: &str, input: &[u8]) -> Reply {
        let (element, number) = call.split_once('#').unwrap_or((call, ""));
        let Ok(command) = u32::from_str_radix(number, 16) else {
            return Reply::text(message(
                500,
                &format!("Syntax error in LLRPC name '{call}'"),
            ));
        };
        let element = match self.resolve(&format!("{element}.name")) {
            Ok(h) => h.full.trim_end_matches(".name").to_string(),
            Err(reply) => return Reply::text(reply),
        };
        let size = llrpc::size(command);
        if size == 0 || command & (llrpc::IN | llrpc::OUT) == 0 || command & llrpc::FLAT == 0 {
            return Reply::text(message(
                501,
                &format!("Cannot call LLRPC '{call}' remotely"),
            ));
        }
        if self.read_only {
            return Reply::text(message(530, &format!("Permission denied for '{call}'")));
        }
        if command & llrpc::IN != 0 && input.len() != size {
            let text = format!("LLRPC '{call}' requires {size} bytes input data");
            return Reply::text(message(522, &text));
        }
        let switch = format!("{element}.switch");
        let result = match command {
            llrpc::GET_SWITCH => self.router.read(&switch).and_then(|v| {
                let k: i32 = v.trim().parse().map_err(|_| format!("bad switch '{v}'"))?;
                Ok(k.to_ne_bytes().to_vec())
            }),
            llrpc::SET_SWITCH => {
                let k = i32::from_ne_bytes(input.try_into().expect("size checked"));
                self.router
                    .write(&switch, &k.to_string())
                    .map(|()| Vec::new())
            }
            // Click's Element::llrpc answers what it does not know so.
            _ => Err("Invalid argument".to_string()),
        };
        match result {
            Ok(data) => Reply {
                text: format!(
                    "{}DATA {}\r\n",
                    message(200, &format!("LLRPC '{call}' OK")),
                    data.len()
                ),
                data,
                quit: false,
                stop: None,
            },
            Err(e) => Reply::text(message(522, &format!("LLRPC '{call}' error: {e}"))),
        }
    }

    fn read(&self, name: &str, params: &str) -> String {
        let h = match self.resolve(name) {
            Ok(h) => h,
            Err(reply) => return reply,
        };
        if !h.read {
            return message(530, &format!("Handler '{name}' write-only"));
        }
        let call = if params.is_empty() {
            h.full
        } else {
            format!("{} {params}", h.full)
        };
        match self.router.read(&call) {
            Ok(data) => format!(
                "{}DATA {}\r\n{data}",
                message(200, &format!("Read handler '{name}' OK")),
                data.len()
            ),
            Err(e) => errors(520, &format!("Read handler '{name}' error"), &e),
        }
    }

    fn write(&self, name: &str, value: &str) -> String {
        let h = match self.resolve(name) {
            Ok(h) => h,
            Err(reply) => return reply,
        };
        if !h.write {
            return message(530, &format!("Handler '{name}' read-only"));
        }
        if self.read_only {
            return message(530, &format!("Permission denied for '{name}'"));
        }
        match self.router.write(&h.full, value) {
            Ok(()) => message(200, &format!("Write handler '{name}' OK")),
            Err(e) => errors(520, &format!("Write handler '{name}' error"), &e),
        }
    }

    fn check(&self, name: &str, write: bool) -> String {
        let h = match self.resolve(name) {
            Ok(h) => h,
            Err(reply) => return reply,
        };
        let what = if write { "Write" } else { "Read" };
        match (write, h.read, h.write) {
            (true, _, true) if self.read_only => {
                message(530, &format!("Permission denied for '{name}'"))
            }
            (false, true, _) | (true, _, true) => {
                message(200, &format!("{what} handler '{name}' OK"))
            }
            _ => {
                let not = if write { "writable" } else { "readable" };
                message(511, &format!("Handler '{name}' not {not}"))
            }
        }
    }

    /// Finds handler `name` (`ELEMENT.HANDLER`, the element by name or
    /// number, or a global handler) and whether it reads and writes; an
    /// error reply if there is none.
    fn resolve(&self, name: &str) -> Result<Resolved, String> {
        let Some((element, handler)) = name.split_once('.') else {
            let global = self.router.global_handlers().into_iter();
            let Some(g) = global.into_iter().find(|g| g.name == name) else {
                return Err(message(511, &format!("No handler named '{name}'")));
            };
            return Ok(Resolved {
                full: g.name,
                read: g.read,
                write: g.write,
            });
        };
        let element = match element.parse::<usize>() {
            Ok(n) if !self.router.has_element(element) => self
                .router
                .element_names()
                .get(n.wrapping_sub(1))
                .cloned()
                .ok_or_else(|| message(510, &format!("No element named '{element}'")))?,
            _ if self.router.has_element(element) => element.to_string(),
            _ => return Err(message(510, &format!("No element named '{element}'"))),
        };
        let listing = self
            .router
            .read(&format!("{element}.handlers"))
            .map_err(|e| errors(520, &format!("Handler '{name}' error"), &e))?;
        let mode = listing.lines().find_map(|l| {
            let (n, mode) = l.split_once('\t')?;
            (n == handler).then(|| mode.to_string())
        });
        let Some(mode) = mode else {
            return Err(message(511, &format!("No handler named '{name}'")));
        };
        Ok(Resolved {
            full: format!("{element}.{handler}"),
            read: mode.contains('r'),
            write: mode.contains('w'),
        })
    }
}

/// Click's LLRPC numbers in their portable ("net") form, as clients send
/// them: `IN`/`OUT` say which way data goes, bits 16-28 its size.
mod llrpc {
    pub const IN: u32 = 0x8000_0000;
    pub const OUT: u32 = 0x4000_0000;
    /// The data is a flat buffer (no pointers), so it can cross a socket.
    pub const FLAT: u32 = 0x0000_4000;
    /// `_CLICK_IORSF(5, 4)`: the switch's output, an `int`.
    pub const GET_SWITCH: u32 = 0x4004_C005;
    /// `_CLICK_IOWF(6, 4)`: sets the switch's output from an `int`.
    pub const SET_SWITCH: u32 = 0x8004_4006;

    pub fn size(command: u32) -> usize {
        ((command >> 16) & 0x1FFF) as usize
    }
}

/// A handler found by [`Server::resolve`].
struct Resolved {
    full: String,
    read: bool,
    write: bool,
}

struct Reply {
    text: String,
    /// Bytes sent after `text` (an LLRPC's binary answer).
    data: Vec<u8>,
    /// Close the connection after the reply.
    quit: bool,
    /// Write the router's `stop` handler with this value after the reply.
    stop: Option<String>,
}

impl Reply {
    fn text(text: String) -> Reply {
        Reply {
            text,
            data: Vec::new(),
            quit: false,
            stop: None,
        }
    }
}

/// One status line.
fn message(code: u16, text: &str) -> String {
    format!("{code} {text}\r\n")
}

/// A status line, then the error's lines (announced by a colon, as
/// Click's).
fn errors(code: u16, first: &str, error: &str) -> String {
    let first = if error.is_empty() {
        first.to_string()
    } else {
        format!("{first}:")
    };
    let all: Vec<&str> = std::iter::once(first.as_str())
        .chain(error.lines())
        .collect();
    lines(code, &all)
}

/// Status lines, all but the last marked as continued (`520-`), as
/// Click's multi-line replies.
fn lines(code: u16, texts: &[&str]) -> String {
    texts
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let sep = if i + 1 < texts.len() { '-' } else { ' ' };
            format!("{code}{sep}{l}\r\n")
        })
        .collect()
}

const HELP: &[&str] = &[
    "Commands supported:",
    "READ handler [arg...]   call read handler, return DATA",
    "READDATA handler len    call read handler with len data bytes, return DATA",
    "READUNTIL handler term  call read handler, take data until term, return DATA",
    "WRITE handler [arg...]  call write handler",
    "WRITEDATA handler len   call write handler, pass len data bytes",
    "WRITEUNTIL handler term call write handler, take data until term",
    "CHECKREAD handler       check if read handler is valid",
    "CHECKWRITE handler      check if write handler is valid",
    "LLRPC elt#number [len]  call LLRPC, pass len data bytes, return DATA",
    "QUIT                    close connection",
];

/// A client connection with its unread input.
struct Conn {
    stream: Box<dyn Stream>,
    input: Vec<u8>,
    closed: bool,
}

impl Conn {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Reads more input; false once the client closed or the router stops.
    fn fill(&mut self, server: &Server) -> bool {
        let mut buf = [0u8; 2048];
        loop {
            if self.closed || server.stopping() {
                return false;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => {
                    self.input.extend_from_slice(&buf[..n]);
                    return true;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.closed = true,
            }
        }
    }

    /// The next line (ended by CR, LF or CRLF, or by the end of input),
    /// without its end; `None` when there is no more.
    fn line(&mut self, server: &Server) -> Option<String> {
        loop {
            if let Some(end) = self.input.iter().position(|&b| b == b'\n' || b == b'\r') {
                let mut next = end + 1;
                if self.input[end] == b'\r' {
                    if next == self.input.len() && self.fill(server) {
                        continue; // a CR at the end: see whether LF follows
                    }
                    if self.input.get(next) == Some(&b'\n') {
                        next += 1;
                    }
                }
                let line = String::from_utf8_lossy(&self.input[..end]).into_owned();
                self.input.drain(..next);
                return Some(line);
            }
            if !self.fill(server) {
                if self.input.is_empty() {
                    return None;
                }
                let line = String::from_utf8_lossy(&self.input).into_owned();
                self.input.clear();
                return Some(line);
            }
        }
    }

    /// The next `n` bytes of input, or `None` if the client closed first.
    fn bytes(&mut self, n: usize, server: &Server) -> Option<Vec<u8>> {
        while self.input.len() < n {
            if !self.fill(server) {
                return None;
            }
        }
        Some(self.input.drain(..n).collect())
    }
}
