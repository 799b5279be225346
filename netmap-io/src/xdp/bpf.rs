//! The XDP side of AF_XDP without libbpf: an XSKMAP, a six-instruction
//! program that redirects each frame to the socket of its receive queue
//! (falling back to the kernel's stack, XDP_PASS, when the queue has
//! none), and a BPF link that attaches it to the device, all through
//! bpf(2). Closing the link's descriptor detaches the program, so a
//! router that dies leaves no program behind.
//!
//! Also, for AF_PACKET sources that are not sniffers, a two-instruction
//! tc program that drops every frame at the device's ingress
//! ([`block_stack`]): packet sockets bound to all protocols see frames
//! before tc does, so they still get them, and the kernel's stack no
//! longer does (Click's KernelFilter `drop dev DEVNAME`, without
//! iptables and without rules left behind).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const BPF_MAP_CREATE: i32 = 0;
const BPF_MAP_UPDATE_ELEM: i32 = 2;
const BPF_PROG_LOAD: i32 = 5;
const BPF_LINK_CREATE: i32 = 28;
const BPF_MAP_TYPE_XSKMAP: u32 = 17;
const BPF_PROG_TYPE_XDP: u32 = 6;
/// `BPF_XDP` in `enum bpf_attach_type`.
const BPF_XDP: u32 = 37;
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
const BPF_FUNC_REDIRECT_MAP: i32 = 51;
const XDP_PASS: i32 = 2;
const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
/// `BPF_TCX_INGRESS` in `enum bpf_attach_type` (Linux 6.6).
const BPF_TCX_INGRESS: u32 = 46;
const TC_ACT_SHOT: i32 = 2;
/// Queues the map has room for.
pub const MAX_QUEUES: u32 = 64;

/// `union bpf_attr`, as bytes: each command fills its own fields.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn name(&mut self, off: usize, name: &str) -> &mut Self {
        let b = name.as_bytes();
        let n = b.len().min(15);
        self.0[off..off + n].copy_from_slice(&b[..n]);
        self
    }
}

fn bpf(cmd: i32, attr: &mut Attr) -> io::Result<i64> {
    // SAFETY: `attr` is a live 128-byte union, as large as the kernel
    // reads for these commands; pointers inside it point at live memory
    // for the call (see the callers).
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            std::mem::size_of::<Attr>(),
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn fd_of(r: i64) -> OwnedFd {
    // SAFETY: a new descriptor returned by bpf(2), owned by nobody.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

/// Makes an XSKMAP with a slot per receive queue.
pub fn xskmap() -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, BPF_MAP_TYPE_XSKMAP)
        .u32(4, 4) // key: queue index
        .u32(8, 4) // value: socket descriptor
        .u32(12, MAX_QUEUES)
        .name(28, "router_xsks");
    bpf(BPF_MAP_CREATE, &mut a).map(fd_of)
}

/// Puts socket `xsk` in `map` for receive queue `queue`.
pub fn map_set(map: RawFd, queue: u32, xsk: RawFd) -> io::Result<()> {
    let key = queue;
    let value = xsk as u32;
    let mut a = Attr::new();
    a.u32(0, map as u32)
        .u64(8, &key as *const u32 as u64)
        .u64(16, &value as *const u32 as u64)
        .u64(24, 0);
    bpf(BPF_MAP_UPDATE_ELEM, &mut a).map(|_| ())
}

/// One `struct bpf_insn`.
fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    (code as u64)
        | (((dst | (src << 4)) as u64) << 8)
        | ((off as u16 as u64) << 16)
        | ((imm as u32 as u64) << 32)
}

/// The program, for the map `map`:
///
/// ```text
/// r2 = *(u32 *)(r1 + 16)      ; ctx->rx_queue_index
/// r1 = map                    ; two slots: a 64-bit immediate
/// r3 = XDP_PASS               ; what to do if the queue has no socket
/// call bpf_redirect_map
/// exit
/// ```
pub fn program(map: RawFd) -> [u64; 6] {
    const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
    const LD_DW: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
    const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
    const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT
    const PSEUDO_MAP_FD: u8 = 1;
    [
        insn(LDX_W, 2, 1, 16, 0),
        insn(LD_DW, 1, PSEUDO_MAP_FD, 0, map),
        insn(0, 0, 0, 0, 0),
        insn(MOV64_K, 3, 0, 0, XDP_PASS),
        insn(CALL, 0, 0, 0, BPF_FUNC_REDIRECT_MAP),
        insn(EXIT, 0, 0, 0, 0),
    ]
}

/// Loads the program for `map`; on failure the verifier's log is in the
/// error.
pub fn load(map: RawFd) -> Result<OwnedFd, String> {
    let insns = program(map);
    let license = b"Dual MIT/GPL\0";
    let mut log = vec![0u8; 4096];
    let mut a = Attr::new();
    a.u32(0, BPF_PROG_TYPE_XDP)
        .u32(4, insns.len() as u32)
        .u64(8, insns.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .u32(24, 1)
        .u32(28, log.len() as u32)
        .u64(32, log.as_mut_ptr() as u64)
        .name(48, "router_xsk")
        .u32(68, BPF_XDP);
    bpf(BPF_PROG_LOAD, &mut a).map(fd_of).map_err(|e| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let text = String::from_utf8_lossy(&log[..end]);
        format!("loading the XDP program: {e} {}", text.trim())
    })
}

/// Where an XDP program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpMode {
    /// In the driver, before an skb exists (veth has it).
    Native,
    /// On the skb, for any device (generic XDP).
    Skb,
}

/// Attaches `prog` to `ifindex` through a BPF link: native mode where the
/// driver has it, else generic (skb) mode. The link's descriptor keeps it
/// attached.
pub fn attach(prog: RawFd, ifindex: u32) -> io::Result<(OwnedFd, XdpMode)> {
    let link = |flags: u32| {
        let mut a = Attr::new();
        a.u32(0, prog as u32)
            .u32(4, ifindex)
            .u32(8, BPF_XDP)
            .u32(12, flags);
        bpf(BPF_LINK_CREATE, &mut a).map(fd_of)
    };
    match link(XDP_FLAGS_DRV_MODE) {
        Ok(fd) => Ok((fd, XdpMode::Native)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EEXIST)) => Err(e),
        Err(_) => link(XDP_FLAGS_SKB_MODE).map(|fd| (fd, XdpMode::Skb)),
    }
}

/// The program that drops every frame it sees: `r0 = TC_ACT_SHOT; exit`.
fn drop_program() -> [u64; 2] {
    const MOV64_K: u8 = 0xb7;
    const EXIT: u8 = 0x95;
    [insn(MOV64_K, 0, 0, 0, TC_ACT_SHOT), insn(EXIT, 0, 0, 0, 0)]
}

/// Keeps the kernel's stack from the frames arriving on `ifindex` while
/// the returned descriptor is open: a drop program at the device's tcx
/// ingress, which runs after the packet sockets bound to all protocols
/// have taken their copy.
pub fn block_stack(ifindex: u32) -> io::Result<OwnedFd> {
    let insns = drop_program();
    let license = b"Dual MIT/GPL\0";
    let mut a = Attr::new();
    a.u32(0, BPF_PROG_TYPE_SCHED_CLS)
        .u32(4, insns.len() as u32)
        .u64(8, insns.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .name(48, "router_block");
    let prog = bpf(BPF_PROG_LOAD, &mut a).map(fd_of)?;
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32)
        .u32(4, ifindex)
        .u32(8, BPF_TCX_INGRESS);
    // The link holds the program; its descriptor alone keeps it attached.
    bpf(BPF_LINK_CREATE, &mut a).map(fd_of)
}

/// A program attached to a device, with its map: one per device in the
/// process, shared by its sockets (one per queue).
#[derive(Debug)]
pub struct Attached {
    // Drop order: the link (detaches), then the program, then the map.
    _link: OwnedFd,
    _prog: OwnedFd,
    map: OwnedFd,
    /// Where it runs.
    pub mode: XdpMode,
}

impl Attached {
    /// Makes the map and program and attaches them to `ifindex`.
    pub fn new(dev: &str, ifindex: u32) -> Result<Attached, String> {
        let map = xskmap().map_err(|e| crate::sys::os_error(dev, "creating an XSKMAP", e))?;
        let prog = load(map.as_raw_fd()).map_err(|e| format!("{dev}: {e}"))?;
        let (link, mode) = attach(prog.as_raw_fd(), ifindex).map_err(|e| {
            if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EEXIST)) {
                format!(
                    "{dev}: attaching XDP: {e} (another XDP program is attached: `ip link set dev {dev} xdp off`, or use METHOD LINUX)"
                )
            } else {
                crate::sys::os_error(dev, "attaching XDP", e)
            }
        })?;
        Ok(Attached {
            _link: link,
            _prog: prog,
            map,
            mode,
        })
    }

    /// Sends the frames of `queue` to socket `xsk`.
    pub fn set(&self, queue: u32, xsk: RawFd) -> io::Result<()> {
        map_set(self.map.as_raw_fd(), queue, xsk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_encodes_as_the_kernel_reads_it() {
        let p = program(7);
        // r2 = *(u32 *)(r1 + 16): code 0x61, dst 2, src 1, off 16.
        assert_eq!(p[0], 0x0010_1261);
        // lddw r1, map fd 7 (src = BPF_PSEUDO_MAP_FD).
        assert_eq!(p[1], 0x0000_0007_0000_1118);
        assert_eq!(p[3], 0x0000_0002_0000_03b7);
        assert_eq!(p[4], 0x0000_0033_0000_0085);
        assert_eq!(p[5], 0x95);
    }

    #[test]
    fn the_drop_program_returns_tc_act_shot() {
        // r0 = 2: code 0xb7, dst 0, imm 2; then exit.
        assert_eq!(drop_program(), [0x0000_0002_0000_00b7, 0x95]);
    }
}
