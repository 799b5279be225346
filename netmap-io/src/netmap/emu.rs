//! An emulation of netmap's kernel side, for tests on machines where no
//! netmap module can load.
//!
//! The memory is laid out as netmap's: each region is one mapping holding
//! `netmap_if`s, `netmap_ring`s (the 256-byte header, `offset_mask` and
//! `buf_align` included, then the slots) and buffers of `buf_size` bytes,
//! indices 0 and 1 reserved; a registration gets a `netmap_if` whose
//! `ring_ofs[]` lists every ring (hardware, then host; TX, then RX) with 0
//! for those it did not bind, `ni_version` 0 as the real kernel leaves it,
//! and its extra buffers linked through their first word from
//! `ni_bufs_head`. Registration reads a legacy `nmreq` as the kernel does
//! (`nr_version` at least 14; the name without `netmap:`; `NR_REG_*`
//! modes, `NR_RX_RINGS_ONLY`/`NR_TX_RINGS_ONLY`, `NR_EXCLUSIVE`, `nr_arg2`
//! the region, `nr_arg3` extra buffers).
//!
//! The peers play the kernel's syncs, checking what the user hands over
//! (`head` and `cur` inside what it owns, every slot's buffer a buffer of
//! the region that is not free) and recording any fault ([`errors`]):
//!
//! * pipes (`x{N`, `x}N`): netmap's own pipe algorithm
//!   (`netmap_pipe.c`): a TX ring and the peer's RX ring share their slots
//!   by index; txsync copies the new slots across, rxsync copies released
//!   slots back, so buffers travel by index, never copied;
//! * a NIC ([`EmuKernel::add_nic`]) whose far end is a [`Wire`] the test
//!   drives: frames injected wait in a FIFO and are copied into RX slots
//!   at rxsync (split over slots with `NS_MOREFRAG` when longer than a
//!   buffer), TX slots are copied out at txsync with their buffer index
//!   ([`Sent`]); hardware and host rings, several of each; per-sync limits
//!   (partial syncs) and a TX side that stalls;
//! * VALE ports (`valeN:p`): a switch that copies a frame sent on one
//!   port into the RX rings of the others, each port in a memory region of
//!   its own unless `@N` asks for one.
//!
//! Descriptors are eventfds, readable when a peer delivered to or made
//! room in the registration's rings (so [`Handle::tx_interest`] is READ).
//! [`EmuKernel::census`] counts every buffer of a region (free, in a ring)
//! to prove none was lost or doubled.
//!
//! [`errors`]: EmuKernel::errors

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use click_engine::packet::RegionId;
use click_engine::Interest;

use super::abi::{
    netmap_slot, nmreq, request_name, ring_add, ring_between, ring_prev, ring_space, Buffers, If,
    Ring, API, FIRST_BUFFER, IF_RING_OFS, NETMAP_RING_MASK, NR_EXCLUSIVE, NR_REG_ALL_NIC,
    NR_REG_DEFAULT, NR_REG_MASK, NR_REG_NIC_SW, NR_REG_NULL, NR_REG_ONE_NIC, NR_REG_ONE_SW,
    NR_REG_PIPE_MASTER, NR_REG_PIPE_SLAVE, NR_REG_SW, NR_RX_RINGS_ONLY, NR_TX_RINGS_ONLY,
    NS_BUF_CHANGED, NS_MOREFRAG, RING_HEADER,
};
use super::kernel::{Dir, Handle, Kernel};
use crate::sys::Mmap;

/// Sizes of an emulated kernel.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Slots of each pipe and VALE ring.
    pub pipe_slots: u32,
    /// Buffers of each memory region.
    pub region_buffers: u32,
    /// Bytes per buffer.
    pub buf_size: u32,
    /// Bytes for `netmap_if`s and rings in each region.
    pub object_bytes: usize,
    /// Frames a NIC's receive FIFO holds before it drops.
    pub fifo: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            pipe_slots: 1024,
            region_buffers: 32768,
            buf_size: 2048,
            object_bytes: 8 << 20,
            fifo: 65536,
        }
    }
}

/// An emulated NIC's shape.
#[derive(Clone, Copy, Debug)]
pub struct Nic {
    /// Hardware TX rings.
    pub tx_rings: u32,
    /// Hardware RX rings.
    pub rx_rings: u32,
    /// Host rings each way.
    pub host_rings: u32,
    /// Slots per ring.
    pub slots: u32,
    /// Memory region (0: the global one, 1).
    pub mem_id: u16,
}

impl Default for Nic {
    fn default() -> Nic {
        Nic {
            tx_rings: 1,
            rx_rings: 1,
            host_rings: 1,
            slots: 256,
            mem_id: 0,
        }
    }
}

/// A frame a NIC's TX ring sent, with the buffer it was in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The TX ring (host rings after the hardware ones).
    pub ring: u32,
    /// The buffer index the slot held.
    pub buf_idx: u32,
    /// The frame.
    pub data: Vec<u8>,
}

/// An emulated netmap kernel. Cheap to clone (one shared state).
#[derive(Clone)]
pub struct EmuKernel {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    cfg: Config,
    st: Mutex<State>,
}

struct State {
    regions: Vec<Region>,
    ports: Vec<Option<EPort>>,
    regs: Vec<Option<Reg>>,
}

struct Region {
    mem_id: u16,
    map: Mmap,
    private: bool,
    /// Free object blocks (offset, size), and the top of the bump area.
    obj_free: Vec<(usize, usize)>,
    obj_top: usize,
    obj_end: usize,
    bufs: Buffers,
    free: Vec<u32>,
    used: Vec<bool>,
    errors: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Pipe { peer: usize },
    Nic,
    Vale,
}

struct EPort {
    name: String,
    kind: Kind,
    region: usize,
    hw_tx: u32,
    hw_rx: u32,
    host: u32,
    tx: Vec<Kring>,
    rx: Vec<Kring>,
    users: u32,
}

#[derive(Default)]
struct Kring {
    ring_off: usize,
    n: u32,
    hwcur: u32,
    hwtail: u32,
    pipe_tail: u32,
    /// TX of a NIC: the next slot the hardware completes.
    nic_done: u32,
    waiters: Vec<RawFd>,
    users: u32,
    exclusive: bool,
    /// RX of a NIC: frames waiting for room.
    fifo: VecDeque<Vec<u8>>,
    /// TX of a NIC: frames sent.
    sent: Vec<Sent>,
    stalled: bool,
    per_sync: Option<u32>,
    drops: u64,
    /// NIC and VALE rings: the buffer each slot held when the kernel last
    /// had it. A user that puts another buffer in a slot must say so with
    /// NS_BUF_CHANGED (a NIC's driver reloads its DMA mapping only then).
    known: Vec<u32>,
}

struct Reg {
    port: usize,
    nifp_off: usize,
    nifp_len: usize,
    tx: Vec<usize>,
    rx: Vec<usize>,
    efd: RawFd,
}

static KERNELS: AtomicU64 = AtomicU64::new(1);
const EMU_REGION_TAG: u64 = 0x656d_0000_0000_0000;

impl Default for EmuKernel {
    fn default() -> EmuKernel {
        EmuKernel::new()
    }
}

impl EmuKernel {
    /// A kernel with the default sizes.
    pub fn new() -> EmuKernel {
        EmuKernel::with_config(Config::default())
    }

    /// A kernel with these sizes.
    pub fn with_config(cfg: Config) -> EmuKernel {
        EmuKernel {
            inner: Arc::new(Inner {
                id: KERNELS.fetch_add(1, Ordering::Relaxed),
                cfg,
                st: Mutex::new(State {
                    regions: Vec::new(),
                    ports: Vec::new(),
                    regs: Vec::new(),
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a NIC named `name` and returns its far end.
    pub fn add_nic(&self, name: &str, nic: Nic) -> Result<Wire, String> {
        let cfg = self.inner.cfg;
        let mut st = self.lock();
        if st.find_port(name).is_some() {
            return Err(format!("{name}: exists"));
        }
        let region = st.region(&cfg, nic.mem_id.max(1), false)?;
        let p = st.new_port(name, Kind::Nic, region, nic, false)?;
        Ok(Wire {
            kernel: self.clone(),
            port: p,
        })
    }

    /// Faults the peers saw (bad indices, rings moved backwards, buffers
    /// given back twice), oldest first.
    pub fn errors(&self) -> Vec<String> {
        self.lock()
            .regions
            .iter()
            .flat_map(|r| r.errors.iter().cloned())
            .collect()
    }

    /// Counts the buffers of region `mem_id`: free ones and those in the
    /// rings of its ports. With every registration closed, every buffer is
    /// one or the other exactly once: returns `(buffers, found)`, or the
    /// buffers found twice.
    pub fn census(&self, mem_id: u16) -> Result<(u32, u32), String> {
        let st = self.lock();
        let ri = st
            .regions
            .iter()
            .position(|r| r.mem_id == mem_id)
            .ok_or_else(|| format!("no region {mem_id}"))?;
        let r = &st.regions[ri];
        let mut seen = vec![false; r.bufs.count() as usize];
        let mut twice = Vec::new();
        let mut see = |i: u32| {
            if let Some(s) = seen.get_mut(i as usize) {
                if std::mem::replace(s, true) {
                    twice.push(i);
                }
            }
        };
        for &i in &r.free {
            see(i);
        }
        for p in st.ports.iter().flatten().filter(|p| p.region == ri) {
            for b in st.ring_buffers(p) {
                see(b);
            }
        }
        if !twice.is_empty() {
            return Err(format!("buffers found twice: {twice:?}"));
        }
        let usable = r.bufs.count() - FIRST_BUFFER;
        let found = seen.iter().filter(|&&s| s).count() as u32;
        Ok((usable, found))
    }

    /// Free buffers of region `mem_id`.
    pub fn free_buffers(&self, mem_id: u16) -> usize {
        self.lock()
            .regions
            .iter()
            .find(|r| r.mem_id == mem_id)
            .map_or(0, |r| r.free.len())
    }
}

impl State {
    fn find_port(&self, name: &str) -> Option<usize> {
        self.ports
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.name == name))
    }

    /// The region `mem_id`, made if missing (`private`: a VALE port's).
    fn region(&mut self, cfg: &Config, mem_id: u16, private: bool) -> Result<usize, String> {
        if let Some(i) = self.regions.iter().position(|r| r.mem_id == mem_id) {
            return Ok(i);
        }
        let len = cfg.object_bytes + cfg.region_buffers as usize * cfg.buf_size as usize;
        let map = Mmap::anonymous_lazy(len).map_err(|e| format!("emulated region: {e}"))?;
        // SAFETY: inside the mapping.
        let base = unsafe { map.ptr().as_ptr().add(cfg.object_bytes) };
        let bufs = Buffers::new(map.ptr(), len, base, cfg.buf_size).expect("inside");
        let n = bufs.count();
        self.regions.push(Region {
            mem_id,
            map,
            private,
            obj_free: Vec::new(),
            obj_top: 0,
            obj_end: cfg.object_bytes,
            bufs,
            free: (FIRST_BUFFER..n).rev().collect(),
            used: vec![false; n as usize],
            errors: Vec::new(),
        });
        Ok(self.regions.len() - 1)
    }

    fn new_port(
        &mut self,
        name: &str,
        kind: Kind,
        region: usize,
        nic: Nic,
        fake_rings: bool,
    ) -> Result<usize, String> {
        let r = &mut self.regions[region];
        let mut tx = Vec::new();
        let mut rx = Vec::new();
        for (list, count, dir) in [
            (&mut tx, nic.tx_rings + nic.host_rings, 0u16),
            (&mut rx, nic.rx_rings + nic.host_rings, 1u16),
        ] {
            for id in 0..count {
                let off = r.alloc_obj(RING_HEADER + 16 * nic.slots as usize)?;
                let ring = r.ring(off);
                // SAFETY: a fresh ring object inside the region.
                unsafe {
                    let h = ring
                        .ptr()
                        .as_ptr()
                        .cast::<netmap_sys::netmap::netmap_ring>();
                    std::ptr::write_bytes(h.cast::<u8>(), 0, RING_HEADER);
                    (*h).buf_ofs = (r
                        .bufs
                        .addr(FIRST_BUFFER)
                        .expect("region has buffers")
                        .as_ptr() as i64
                        - FIRST_BUFFER as i64 * r.bufs.size() as i64)
                        - ring.ptr().as_ptr() as i64;
                    (*h).num_slots = nic.slots;
                    (*h).nr_buf_size = r.bufs.size();
                    (*h).ringid = id as u16;
                    (*h).dir = dir;
                }
                let mut k = Kring {
                    ring_off: off,
                    n: nic.slots,
                    ..Kring::default()
                };
                for s in 0..nic.slots {
                    // The RX ring of a pipe end shares its peer's TX
                    // buffers (filled in when the pair is linked).
                    let idx = if fake_rings && dir == 1 {
                        0
                    } else {
                        r.alloc().ok_or("emulated region out of buffers")?
                    };
                    k.known.push(idx);
                    // SAFETY: a slot of the fresh ring.
                    unsafe {
                        *ring.slot(s) = netmap_slot {
                            buf_idx: idx,
                            len: 0,
                            flags: 0,
                            ptr: 0,
                        }
                    };
                }
                if dir == 0 {
                    // TX: every slot but one is the user's.
                    k.hwtail = nic.slots - 1;
                    k.pipe_tail = k.hwtail;
                    ring.set_tail(k.hwtail);
                }
                list.push(k);
            }
        }
        let p = EPort {
            name: name.to_string(),
            kind,
            region,
            hw_tx: nic.tx_rings,
            hw_rx: nic.rx_rings,
            host: nic.host_rings,
            tx,
            rx,
            users: 0,
        };
        if let Some(i) = self.ports.iter().position(Option::is_none) {
            self.ports[i] = Some(p);
            Ok(i)
        } else {
            self.ports.push(Some(p));
            Ok(self.ports.len() - 1)
        }
    }

    fn port(&self, i: usize) -> &EPort {
        self.ports[i].as_ref().expect("live port")
    }

    fn port_mut(&mut self, i: usize) -> &mut EPort {
        self.ports[i].as_mut().expect("live port")
    }

    /// Every buffer the rings of `p` own (the census).
    fn ring_buffers(&self, p: &EPort) -> Vec<u32> {
        let r = &self.regions[p.region];
        let mut out = Vec::new();
        match p.kind {
            Kind::Pipe { peer } => {
                // Each TX ring and the peer's RX ring share slot k: the
                // buffer is the RX ring's between its hwcur and the TX
                // ring's hwcur, else the TX ring's.
                let q = self.port(peer);
                for (t, prx) in p.tx.iter().zip(&q.rx) {
                    let (tr, rr) = (r.ring(t.ring_off), r.ring(prx.ring_off));
                    for k in 0..t.n {
                        let in_rx =
                            ring_space(prx.hwcur, k, t.n) < ring_space(prx.hwcur, t.hwcur, t.n);
                        let ring = if in_rx { rr } else { tr };
                        // SAFETY: a slot of a live ring.
                        out.push(unsafe { (*ring.slot(k)).buf_idx });
                    }
                }
            }
            Kind::Nic | Kind::Vale => {
                for k in p.tx.iter().chain(&p.rx) {
                    let ring = r.ring(k.ring_off);
                    for s in 0..k.n {
                        // SAFETY: as above.
                        out.push(unsafe { (*ring.slot(s)).buf_idx });
                    }
                }
            }
        }
        out
    }

    /// Frees a port's rings and their buffers.
    fn destroy_port(&mut self, pi: usize) {
        let bufs = self.ring_buffers(self.port(pi));
        let p = self.ports[pi].take().expect("live port");
        let r = &mut self.regions[p.region];
        for b in bufs {
            r.free_buf(b, "destroying a port");
        }
        for k in p.tx.iter().chain(&p.rx) {
            r.free_obj(k.ring_off, RING_HEADER + 16 * k.n as usize);
        }
    }
}

impl Region {
    fn ring(&self, off: usize) -> Ring {
        // SAFETY: `off` is a ring object of this region.
        unsafe { Ring::new(NonNull::new(self.map.at(off)).expect("mapping")) }
    }

    fn alloc_obj(&mut self, size: usize) -> Result<usize, String> {
        let size = size.next_multiple_of(256);
        if let Some(i) = self.obj_free.iter().position(|&(_, s)| s == size) {
            return Ok(self.obj_free.swap_remove(i).0);
        }
        if self.obj_top + size > self.obj_end {
            return Err("emulated region out of room for rings".into());
        }
        let off = self.obj_top;
        self.obj_top += size;
        Ok(off)
    }

    fn free_obj(&mut self, off: usize, size: usize) {
        self.obj_free.push((off, size.next_multiple_of(256)));
    }

    fn alloc(&mut self) -> Option<u32> {
        let i = self.free.pop()?;
        self.used[i as usize] = true;
        Some(i)
    }

    fn free_buf(&mut self, i: u32, why: &str) -> bool {
        match self.used.get_mut(i as usize) {
            Some(u) if *u && i >= FIRST_BUFFER => {
                *u = false;
                self.free.push(i);
                true
            }
            _ => {
                self.errors
                    .push(format!("{why}: buffer {i} is not an allocated buffer"));
                false
            }
        }
    }

    /// Whether a user put a live buffer in a slot.
    fn check_slot(&mut self, s: &netmap_slot, what: &str) -> bool {
        if s.buf_idx >= FIRST_BUFFER && self.used.get(s.buf_idx as usize) == Some(&true) {
            if s.len as u32 > self.bufs.size() {
                self.errors
                    .push(format!("{what}: length {} past a buffer", s.len));
                return false;
            }
            return true;
        }
        self.errors.push(format!(
            "{what}: slot holds buffer {}, which is not an allocated buffer",
            s.buf_idx
        ));
        false
    }
}

/// A slot the user hands back to a NIC or VALE ring: a buffer other than
/// the one the kernel left there must come with NS_BUF_CHANGED.
fn check_changed(reg: &mut Region, k: &mut Kring, j: u32, s: &netmap_slot, what: &str) -> bool {
    let was = std::mem::replace(&mut k.known[j as usize], s.buf_idx);
    if was == s.buf_idx || s.flags & NS_BUF_CHANGED != 0 {
        return true;
    }
    reg.errors.push(format!(
        "{what} slot {j}: buffer {was} became {} without NS_BUF_CHANGED",
        s.buf_idx
    ));
    false
}

fn notify(waiters: &[RawFd]) {
    for &fd in waiters {
        let one = 1u64;
        // SAFETY: writing 8 bytes to an eventfd we created.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

impl Kernel for EmuKernel {
    fn register(&self, req: &mut nmreq) -> io::Result<Box<dyn Handle>> {
        if req.nr_version < API {
            // As the kernel: "Minimum supported API is 14".
            return Err(einval());
        }
        let cfg = self.inner.cfg;
        let mut name = request_name(req);
        if name.starts_with("netmap:") {
            // The kernel has no port of that name: libnetmap strips it.
            return Err(io::Error::from_raw_os_error(libc::ENXIO));
        }
        let mut mode = req.nr_flags & NR_REG_MASK;
        let mut ringid = req.nr_ringid & NETMAP_RING_MASK;
        if mode == NR_REG_DEFAULT {
            mode = if req.nr_ringid & 0x2000 != 0 {
                NR_REG_SW
            } else if req.nr_ringid & 0x4000 != 0 {
                NR_REG_ONE_NIC
            } else {
                NR_REG_ALL_NIC
            };
        }
        if mode == NR_REG_PIPE_MASTER || mode == NR_REG_PIPE_SLAVE {
            let c = if mode == NR_REG_PIPE_MASTER { '{' } else { '}' };
            name = format!("{name}{c}{ringid}");
            mode = NR_REG_ALL_NIC;
            ringid = 0;
        }
        let mut st = self.lock();
        let pi = if let Some(sep) = name.find(['{', '}']) {
            if mode != NR_REG_ALL_NIC && mode != NR_REG_NIC_SW {
                return Err(einval());
            }
            let (parent, id) = (&name[..sep], &name[sep + 1..]);
            if parent.is_empty() || id.is_empty() {
                return Err(einval());
            }
            match st.find_port(&name) {
                Some(p) => p,
                None => {
                    let region = match st.find_port(parent) {
                        Some(pp) => st.port(pp).region,
                        None => st.region(&cfg, 1, false).map_err(io::Error::other)?,
                    };
                    if req.nr_arg2 != 0 && st.regions[region].mem_id != req.nr_arg2 {
                        return Err(einval());
                    }
                    let shape = Nic {
                        tx_rings: 1,
                        rx_rings: 1,
                        host_rings: 0,
                        slots: cfg.pipe_slots,
                        mem_id: 0,
                    };
                    let m = st
                        .new_port(&format!("{parent}{{{id}"), Kind::Nic, region, shape, true)
                        .map_err(io::Error::other)?;
                    let s = st
                        .new_port(&format!("{parent}}}{id}"), Kind::Nic, region, shape, true)
                        .map_err(io::Error::other)?;
                    st.link_pipe(m, s);
                    st.find_port(&name).expect("just made")
                }
            }
        } else if name.starts_with("vale") && name.contains(':') {
            match st.find_port(&name) {
                Some(p) => p,
                None => {
                    let region = if req.nr_arg2 == 1 {
                        // The global region always exists.
                        st.region(&cfg, 1, false).map_err(io::Error::other)?
                    } else if req.nr_arg2 != 0 {
                        st.regions
                            .iter()
                            .position(|r| r.mem_id == req.nr_arg2)
                            .ok_or_else(einval)?
                    } else {
                        let id = st
                            .regions
                            .iter()
                            .map(|r| r.mem_id)
                            .max()
                            .unwrap_or(1)
                            .max(1)
                            + 1;
                        st.region(&cfg, id, true).map_err(io::Error::other)?
                    };
                    let shape = Nic {
                        tx_rings: 1,
                        rx_rings: 1,
                        host_rings: 0,
                        slots: cfg.pipe_slots,
                        mem_id: 0,
                    };
                    st.new_port(&name, Kind::Vale, region, shape, false)
                        .map_err(io::Error::other)?
                }
            }
        } else {
            st.find_port(&name)
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ENXIO))?
        };
        if req.nr_arg2 != 0 && st.regions[st.port(pi).region].mem_id != req.nr_arg2 {
            return Err(einval());
        }
        // Which rings the request binds.
        let p = st.port(pi);
        let (hw_tx, hw_rx, host) = (p.hw_tx, p.hw_rx, p.host);
        let ring = ringid as u32;
        let (mut tx, mut rx): (Vec<usize>, Vec<usize>) = match mode {
            NR_REG_ALL_NIC => ((0..hw_tx as usize).collect(), (0..hw_rx as usize).collect()),
            NR_REG_SW => (
                (hw_tx as usize..(hw_tx + host) as usize).collect(),
                (hw_rx as usize..(hw_rx + host) as usize).collect(),
            ),
            NR_REG_NIC_SW => (
                (0..(hw_tx + host) as usize).collect(),
                (0..(hw_rx + host) as usize).collect(),
            ),
            NR_REG_ONE_NIC => {
                if ring >= hw_tx.max(hw_rx) {
                    return Err(einval());
                }
                (
                    (ring < hw_tx)
                        .then_some(ring as usize)
                        .into_iter()
                        .collect(),
                    (ring < hw_rx)
                        .then_some(ring as usize)
                        .into_iter()
                        .collect(),
                )
            }
            NR_REG_ONE_SW => {
                if ring >= host {
                    return Err(einval());
                }
                (vec![(hw_tx + ring) as usize], vec![(hw_rx + ring) as usize])
            }
            NR_REG_NULL => (vec![], vec![]),
            _ => return Err(einval()),
        };
        if req.nr_flags & NR_RX_RINGS_ONLY != 0 {
            tx.clear();
        }
        if req.nr_flags & NR_TX_RINGS_ONLY != 0 {
            rx.clear();
        }
        let exclusive = req.nr_flags & NR_EXCLUSIVE != 0;
        let busy = tx
            .iter()
            .map(|&i| &p.tx[i])
            .chain(rx.iter().map(|&i| &p.rx[i]))
            .any(|k| k.exclusive || (exclusive && k.users > 0));
        if busy {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        // The netmap_if: every ring listed, those not bound as 0.
        let n_tx = hw_tx + host.max(1);
        let n_rx = hw_rx + host.max(1);
        let nifp_len = IF_RING_OFS + 8 * (n_tx + n_rx) as usize;
        let region = p.region;
        let tx_offs: Vec<(usize, usize)> = tx.iter().map(|&i| (i, p.tx[i].ring_off)).collect();
        let rx_offs: Vec<(usize, usize)> = rx.iter().map(|&i| (i, p.rx[i].ring_off)).collect();
        let (tx_slots, rx_slots) = (
            p.tx.first().map_or(0, |k| k.n),
            p.rx.first().map_or(0, |k| k.n),
        );
        let r = &mut st.regions[region];
        let nifp_off = r.alloc_obj(nifp_len).map_err(io::Error::other)?;
        let base = r.map.at(nifp_off);
        // SAFETY: a fresh object inside the region, `nifp_len` long.
        unsafe {
            std::ptr::write_bytes(base, 0, nifp_len);
            for (d, s) in name.bytes().take(15).enumerate() {
                *base.add(d) = s;
            }
            let w = |off: usize, v: u32| base.add(off).cast::<u32>().write(v);
            w(20, if r.private { 1 } else { 0 }); // ni_flags: NI_PRIV_MEM
            w(24, hw_tx);
            w(28, hw_rx);
            w(36, host.max(1));
            w(40, host.max(1));
            let ofs = |i: usize, ring_off: usize| {
                base.add(IF_RING_OFS + 8 * i)
                    .cast::<isize>()
                    .write(ring_off as isize - nifp_off as isize)
            };
            // Host rings of a port without any (pipes, VALE) are fake:
            // listed, never bound. Real host rings follow the hardware ones.
            for &(i, off) in &tx_offs {
                ofs(i, off);
            }
            for &(i, off) in &rx_offs {
                ofs(n_tx as usize + i, off);
            }
        }
        // Extra buffers, linked through their first word.
        let mut extra = Vec::new();
        while extra.len() < req.nr_arg3 as usize && r.free.len() > 64 {
            extra.push(r.alloc().expect("counted"));
        }
        let head = r.bufs.write_list(&extra);
        // SAFETY: the netmap_if just made.
        unsafe { If::new(NonNull::new(base).expect("mapping")) }.set_bufs_head(head);
        req.nr_offset = nifp_off as u32;
        req.nr_memsize = r.map.len() as u32;
        req.nr_tx_slots = tx_slots;
        req.nr_rx_slots = rx_slots;
        req.nr_tx_rings = hw_tx as u16;
        req.nr_rx_rings = hw_rx as u16;
        req.nr_arg2 = r.mem_id;
        req.nr_arg3 = extra.len() as u32;
        let (mem, len) = (r.map.ptr(), r.map.len());
        // SAFETY: plain eventfd creation.
        let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: just made, ours.
        let efd = unsafe { OwnedFd::from_raw_fd(efd) };
        let p = st.port_mut(pi);
        p.users += 1;
        for &i in &tx {
            p.tx[i].users += 1;
            p.tx[i].exclusive |= exclusive;
            p.tx[i].waiters.push(efd.as_raw_fd());
        }
        for &i in &rx {
            p.rx[i].users += 1;
            p.rx[i].exclusive |= exclusive;
            p.rx[i].waiters.push(efd.as_raw_fd());
        }
        let reg = Reg {
            port: pi,
            nifp_off,
            nifp_len,
            tx,
            rx,
            efd: efd.as_raw_fd(),
        };
        let id = match st.regs.iter().position(Option::is_none) {
            Some(i) => {
                st.regs[i] = Some(reg);
                i
            }
            None => {
                st.regs.push(Some(reg));
                st.regs.len() - 1
            }
        };
        Ok(Box::new(EmuHandle {
            kernel: self.clone(),
            reg: id,
            efd,
            mem,
            len,
        }))
    }

    fn region(&self, mem_id: u16) -> RegionId {
        RegionId(EMU_REGION_TAG | (self.inner.id & 0xffff_ffff) << 16 | mem_id as u64)
    }

    fn name(&self) -> &'static str {
        "emulated netmap"
    }
}

impl State {
    /// Links the two ends of a pipe: each TX ring with the peer's RX ring,
    /// which starts as a copy of it (the same buffers, by index).
    fn link_pipe(&mut self, m: usize, s: usize) {
        self.port_mut(m).kind = Kind::Pipe { peer: s };
        self.port_mut(s).kind = Kind::Pipe { peer: m };
        for (a, b) in [(m, s), (s, m)] {
            let region = self.port(a).region;
            let pairs: Vec<(usize, usize, u32)> = self
                .port(a)
                .tx
                .iter()
                .zip(&self.port(b).rx)
                .map(|(t, r)| (t.ring_off, r.ring_off, t.n))
                .collect();
            let reg = &self.regions[region];
            for (t, r, n) in pairs {
                let (tr, rr) = (reg.ring(t), reg.ring(r));
                for k in 0..n {
                    // SAFETY: slots of two live rings.
                    unsafe { *rr.slot(k) = *tr.slot(k) };
                }
            }
        }
    }

    fn sync(&mut self, ri: usize, dir: Dir) -> io::Result<()> {
        let Some(reg) = self.regs[ri].as_ref() else {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        };
        let pi = reg.port;
        let rings = match dir {
            Dir::Tx => reg.tx.clone(),
            Dir::Rx => reg.rx.clone(),
        };
        let mut ok = true;
        for i in rings {
            ok &= match dir {
                Dir::Tx => self.txsync(pi, i),
                Dir::Rx => self.rxsync(pi, i),
            };
        }
        if ok {
            Ok(())
        } else {
            Err(einval())
        }
    }

    /// The user's `head` and `cur` against what it owns: the prologue of
    /// `nm_txsync_prologue` / `nm_rxsync_prologue`.
    fn prologue(&mut self, pi: usize, dir: Dir, i: usize) -> Option<(Ring, u32)> {
        let p = self.port(pi);
        let k = match dir {
            Dir::Tx => &p.tx[i],
            Dir::Rx => &p.rx[i],
        };
        let region = p.region;
        let ring = self.regions[region].ring(k.ring_off);
        let (head, cur) = (ring.head(), ring.cur());
        if ring_between(k.hwcur, head, k.hwtail, k.n) && ring_between(head, cur, k.hwtail, k.n) {
            return Some((ring, head));
        }
        let msg = format!(
            "{} {dir:?} ring {i}: head {head} cur {cur} outside hwcur {} .. hwtail {}",
            p.name, k.hwcur, k.hwtail
        );
        self.regions[region].errors.push(msg);
        None
    }

    fn txsync(&mut self, pi: usize, i: usize) -> bool {
        let Some((ring, head)) = self.prologue(pi, Dir::Tx, i) else {
            return false;
        };
        let p = self.port(pi);
        let (kind, region, name) = (p.kind, p.region, p.name.clone());
        let mut ok = true;
        match kind {
            Kind::Pipe { peer } => {
                // netmap_pipe_txsync.
                let peer_ring = self.regions[region].ring(self.port(peer).rx[i].ring_off);
                let k = &mut self.port_mut(pi).tx[i];
                k.hwtail = k.pipe_tail;
                let n = k.n;
                let mut j = k.hwcur;
                let mut publish = None;
                let mut slots = Vec::new();
                while j != head {
                    // SAFETY: new slots of the user's TX ring, and the
                    // peer's RX slots of the same index (the kernel's).
                    let s = unsafe { &mut *ring.slot(j) };
                    slots.push(*s);
                    s.flags &= !NS_BUF_CHANGED;
                    // SAFETY: as above.
                    unsafe { *peer_ring.slot(j) = slots[slots.len() - 1] };
                    j = ring_add(j, 1, n);
                    if s.flags & NS_MOREFRAG == 0 {
                        publish = Some(j);
                    }
                }
                k.hwcur = head;
                let reg = &mut self.regions[region];
                for s in &slots {
                    ok &= reg.check_slot(s, &format!("{name} TX"));
                }
                if let Some(t) = publish {
                    let pk = &mut self.port_mut(peer).rx[i];
                    pk.pipe_tail = t;
                    let w = pk.waiters.clone();
                    notify(&w);
                }
            }
            Kind::Nic | Kind::Vale => {
                let reg = &mut self.regions[region];
                let k = &mut self.ports[pi].as_mut().expect("live").tx[i];
                let mut j = k.hwcur;
                while j != head {
                    // SAFETY: a slot the user hands over.
                    let s = unsafe { &*ring.slot(j) };
                    ok &= check_changed(reg, k, j, s, &format!("{name} TX"));
                    j = ring_add(j, 1, k.n);
                }
                k.hwcur = head;
                let n = k.n;
                let limit = k.per_sync.unwrap_or(u32::MAX);
                let mut out = Vec::new();
                if !k.stalled {
                    while k.nic_done != k.hwcur && (out.len() as u32) < limit {
                        // SAFETY: a slot handed to the "hardware".
                        let s = unsafe { &mut *ring.slot(k.nic_done) };
                        out.push(*s);
                        s.flags &= !NS_BUF_CHANGED;
                        k.nic_done = ring_add(k.nic_done, 1, n);
                    }
                }
                k.hwtail = ring_prev(k.nic_done, n);
                let mut frames = Vec::new();
                let reg = &mut self.regions[region];
                for s in &out {
                    if reg.check_slot(s, &format!("{name} TX")) {
                        let b = reg.bufs.addr(s.buf_idx).expect("checked");
                        // SAFETY: the slot's buffer, `len` bytes (checked).
                        let data =
                            unsafe { std::slice::from_raw_parts(b.as_ptr(), s.len as usize) };
                        frames.push(Sent {
                            ring: i as u32,
                            buf_idx: s.buf_idx,
                            data: data.to_vec(),
                        });
                    } else {
                        ok = false;
                    }
                }
                if kind == Kind::Vale {
                    self.vale_deliver(pi, &frames);
                } else {
                    self.port_mut(pi).tx[i].sent.extend(frames);
                }
            }
        }
        let k = &self.port(pi).tx[i];
        ring.set_tail(k.hwtail);
        ok
    }

    /// A VALE switch floods a frame to every other port of the switch:
    /// copied into the RX ring if it has room, else dropped.
    fn vale_deliver(&mut self, from: usize, frames: &[Sent]) {
        let name = &self.port(from).name;
        let switch = name[..name.find(':').expect("vale name")].to_string();
        let to: Vec<usize> = self
            .ports
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                *i != from
                    && p.as_ref().is_some_and(|p| {
                        p.kind == Kind::Vale && p.name.split(':').next() == Some(&switch)
                    })
            })
            .map(|(i, _)| i)
            .collect();
        for d in to {
            let region = self.port(d).region;
            let k = &mut self.ports[d].as_mut().expect("live").rx[0];
            let reg = &mut self.regions[region];
            let ring = reg.ring(k.ring_off);
            let mut delivered = false;
            for f in frames {
                if ring_add(k.hwtail, 1, k.n) == k.hwcur {
                    k.drops += 1;
                    continue;
                }
                // SAFETY: a slot the kernel owns (from hwtail).
                let s = unsafe { &mut *ring.slot(k.hwtail) };
                let Some(b) = reg.bufs.addr(s.buf_idx) else {
                    reg.errors
                        .push(format!("VALE RX slot with buffer {}", s.buf_idx));
                    continue;
                };
                let len = f.data.len().min(reg.bufs.size() as usize);
                // SAFETY: the slot's buffer, `len` bytes.
                unsafe { std::ptr::copy_nonoverlapping(f.data.as_ptr(), b.as_ptr(), len) };
                s.len = len as u16;
                s.flags = 0;
                k.hwtail = ring_add(k.hwtail, 1, k.n);
                delivered = true;
            }
            if delivered {
                notify(&k.waiters);
            }
        }
    }

    fn rxsync(&mut self, pi: usize, i: usize) -> bool {
        let Some((ring, head)) = self.prologue(pi, Dir::Rx, i) else {
            return false;
        };
        let p = self.port(pi);
        let (kind, region, name) = (p.kind, p.region, p.name.clone());
        let mut ok = true;
        match kind {
            Kind::Pipe { peer } => {
                // netmap_pipe_rxsync.
                let peer_ring = self.regions[region].ring(self.port(peer).tx[i].ring_off);
                let k = &mut self.port_mut(pi).rx[i];
                k.hwtail = k.pipe_tail;
                let n = k.n;
                let mut j = k.hwcur;
                let mut slots = Vec::new();
                while j != head {
                    // SAFETY: released slots of the user's RX ring and
                    // the peer's TX slots of the same index.
                    let s = unsafe { &mut *ring.slot(j) };
                    slots.push(*s);
                    // SAFETY: as above.
                    unsafe { *peer_ring.slot(j) = *s };
                    s.flags &= !NS_BUF_CHANGED;
                    j = ring_add(j, 1, n);
                }
                let released = !slots.is_empty();
                k.hwcur = head;
                let reg = &mut self.regions[region];
                for s in &slots {
                    ok &= reg.check_slot(s, &format!("{name} RX release"));
                }
                if released {
                    let pk = &mut self.port_mut(peer).tx[i];
                    pk.pipe_tail = ring_prev(head, n);
                    let w = pk.waiters.clone();
                    notify(&w);
                }
            }
            Kind::Nic | Kind::Vale => {
                let reg = &mut self.regions[region];
                let k = &mut self.ports[pi].as_mut().expect("live").rx[i];
                // Released slots: their buffers must be live ones.
                let mut j = k.hwcur;
                while j != head {
                    // SAFETY: a released slot.
                    let s = unsafe { &mut *ring.slot(j) };
                    ok &= reg.check_slot(s, &format!("{name} RX release"));
                    ok &= check_changed(reg, k, j, s, &format!("{name} RX release"));
                    s.flags &= !NS_BUF_CHANGED;
                    j = ring_add(j, 1, k.n);
                }
                k.hwcur = head;
                if kind == Kind::Nic {
                    let limit = k.per_sync.unwrap_or(u32::MAX);
                    let mut given = 0;
                    let size = reg.bufs.size() as usize;
                    while given < limit {
                        let Some(f) = k.fifo.front() else { break };
                        let need = f.len().div_ceil(size).max(1) as u32;
                        let room = ring_space(ring_add(k.hwtail, 1, k.n), k.hwcur, k.n);
                        if need > room {
                            break;
                        }
                        let f = k.fifo.pop_front().expect("checked");
                        for (c, chunk) in f.chunks(size).enumerate() {
                            // SAFETY: a slot the kernel owns (from hwtail).
                            let s = unsafe { &mut *ring.slot(k.hwtail) };
                            match reg.bufs.addr(s.buf_idx) {
                                Some(b) if reg.used[s.buf_idx as usize] => {
                                    // SAFETY: the slot's buffer.
                                    unsafe {
                                        std::ptr::copy_nonoverlapping(
                                            chunk.as_ptr(),
                                            b.as_ptr(),
                                            chunk.len(),
                                        )
                                    };
                                }
                                _ => {
                                    reg.errors.push(format!(
                                        "{name} RX slot {} holds buffer {}",
                                        k.hwtail, s.buf_idx
                                    ));
                                    ok = false;
                                }
                            }
                            s.len = chunk.len() as u16;
                            s.flags = if (c as u32) + 1 < need {
                                NS_MOREFRAG
                            } else {
                                0
                            };
                            k.hwtail = ring_add(k.hwtail, 1, k.n);
                        }
                        if f.is_empty() {
                            // SAFETY: as above.
                            let s = unsafe { &mut *ring.slot(k.hwtail) };
                            s.len = 0;
                            s.flags = 0;
                            k.hwtail = ring_add(k.hwtail, 1, k.n);
                        }
                        given += 1;
                    }
                }
            }
        }
        let k = &self.port(pi).rx[i];
        ring.set_tail(k.hwtail);
        ok
    }

    fn close(&mut self, ri: usize) {
        let Some(reg) = self.regs[ri].take() else {
            return;
        };
        let pi = reg.port;
        let region = self.port(pi).region;
        {
            let p = self.port_mut(pi);
            p.users -= 1;
            for &i in &reg.tx {
                let k = &mut p.tx[i];
                k.users -= 1;
                k.exclusive = false;
                k.waiters.retain(|&w| w != reg.efd);
            }
            for &i in &reg.rx {
                let k = &mut p.rx[i];
                k.users -= 1;
                k.exclusive = false;
                k.waiters.retain(|&w| w != reg.efd);
            }
        }
        // The extra buffers the user left in the list: netmap_extra_free.
        let r = &mut self.regions[region];
        // SAFETY: the registration's netmap_if, still allocated.
        let nifp = unsafe { If::new(NonNull::new(r.map.at(reg.nifp_off)).expect("mapping")) };
        let mut head = nifp.bufs_head();
        let mut freed = 0u32;
        while head >= FIRST_BUFFER && head < r.bufs.count() {
            let next = r.bufs.link(head).unwrap_or(0);
            r.bufs.set_link(head, 0);
            if !r.free_buf(head, "closing: the extra buffer list") {
                break;
            }
            freed += 1;
            head = next;
            if freed > r.bufs.count() {
                r.errors.push("closing: the extra buffer list loops".into());
                break;
            }
        }
        r.free_obj(reg.nifp_off, reg.nifp_len);
        // Ports nobody uses any more go: both ends of a pipe, VALE ports.
        match self.port(pi).kind {
            Kind::Pipe { peer } => {
                if self.port(pi).users == 0 && self.port(peer).users == 0 {
                    // Each end's TX rings with the other's RX rings: every
                    // buffer of the pair, once.
                    let mut bufs = self.ring_buffers(self.port(pi));
                    bufs.extend(self.ring_buffers(self.port(peer)));
                    for end in [pi, peer] {
                        let p = self.ports[end].take().expect("live port");
                        let r = &mut self.regions[p.region];
                        for k in p.tx.iter().chain(&p.rx) {
                            r.free_obj(k.ring_off, RING_HEADER + 16 * k.n as usize);
                        }
                    }
                    let r = &mut self.regions[region];
                    for b in bufs {
                        r.free_buf(b, "destroying a pipe");
                    }
                }
            }
            Kind::Vale => {
                if self.port(pi).users == 0 {
                    self.destroy_port(pi);
                }
            }
            Kind::Nic => {}
        }
    }
}

/// The far end of an emulated NIC.
pub struct Wire {
    kernel: EmuKernel,
    port: usize,
}

impl Wire {
    fn with<R>(&self, f: impl FnOnce(&mut State, usize) -> R) -> R {
        let mut st = self.kernel.lock();
        f(&mut st, self.port)
    }

    /// A frame arrives on RX ring `ring` (host rings after the hardware
    /// ones): it waits in the FIFO for the next rxsync; `false` if the
    /// FIFO is full (dropped).
    pub fn inject(&self, ring: u32, frame: &[u8]) -> bool {
        let max = self.kernel.inner.cfg.fifo;
        self.with(|st, p| {
            let k = &mut st.port_mut(p).rx[ring as usize];
            if k.fifo.len() >= max {
                k.drops += 1;
                return false;
            }
            k.fifo.push_back(frame.to_vec());
            let w = k.waiters.clone();
            notify(&w);
            true
        })
    }

    /// Frames waiting in RX ring `ring`'s FIFO.
    pub fn waiting(&self, ring: u32) -> usize {
        self.with(|st, p| st.port(p).rx[ring as usize].fifo.len())
    }

    /// Frames TX ring `ring` sent since the last call, in order.
    pub fn take_sent(&self, ring: u32) -> Vec<Sent> {
        self.with(|st, p| std::mem::take(&mut st.port_mut(p).tx[ring as usize].sent))
    }

    /// Stops (or restarts) transmitting: slots handed to a stalled TX ring
    /// stay the kernel's, so the ring fills. Restarting sends what waits
    /// and wakes the user.
    pub fn stall_tx(&self, on: bool) {
        self.with(|st, p| {
            let region = st.port(p).region;
            for i in 0..st.port(p).tx.len() {
                st.port_mut(p).tx[i].stalled = on;
                if !on {
                    // Complete what waits, as the hardware would.
                    let k = &st.port(p).tx[i];
                    let ring = st.regions[region].ring(k.ring_off);
                    let mut out = Vec::new();
                    let k = &mut st.port_mut(p).tx[i];
                    while k.nic_done != k.hwcur {
                        // SAFETY: a slot handed to the "hardware".
                        out.push(unsafe { *ring.slot(k.nic_done) });
                        k.nic_done = ring_add(k.nic_done, 1, k.n);
                    }
                    k.hwtail = ring_prev(k.nic_done, k.n);
                    let reg = &st.regions[region];
                    let frames: Vec<Sent> = out
                        .iter()
                        .filter_map(|s| {
                            let b = reg.bufs.addr(s.buf_idx)?;
                            // SAFETY: the slot's buffer.
                            let d =
                                unsafe { std::slice::from_raw_parts(b.as_ptr(), s.len as usize) };
                            Some(Sent {
                                ring: i as u32,
                                buf_idx: s.buf_idx,
                                data: d.to_vec(),
                            })
                        })
                        .collect();
                    let k = &mut st.port_mut(p).tx[i];
                    k.sent.extend(frames);
                    let w = k.waiters.clone();
                    notify(&w);
                }
            }
        })
    }

    /// At most `n` frames per rxsync on every RX ring (`None`: no limit).
    pub fn set_rx_per_sync(&self, n: Option<u32>) {
        self.with(|st, p| {
            for k in &mut st.port_mut(p).rx {
                k.per_sync = n;
            }
        })
    }

    /// At most `n` slots completed per txsync on every TX ring.
    pub fn set_tx_per_sync(&self, n: Option<u32>) {
        self.with(|st, p| {
            for k in &mut st.port_mut(p).tx {
                k.per_sync = n;
            }
        })
    }

    /// Frames dropped because the FIFO was full.
    pub fn drops(&self) -> u64 {
        self.with(|st, p| st.port(p).rx.iter().map(|k| k.drops).sum())
    }
}

struct EmuHandle {
    kernel: EmuKernel,
    reg: usize,
    efd: OwnedFd,
    mem: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping lives in the kernel's state, which `kernel` keeps;
// its use is the ring protocol's.
unsafe impl Send for EmuHandle {}
// SAFETY: as above.
unsafe impl Sync for EmuHandle {}

impl Handle for EmuHandle {
    fn fd(&self) -> RawFd {
        self.efd.as_raw_fd()
    }

    fn memory(&self) -> (NonNull<u8>, usize) {
        (self.mem, self.len)
    }

    fn sync(&self, dir: Dir) -> io::Result<()> {
        let mut st = self.kernel.lock();
        let mut v = 0u64;
        // SAFETY: reading 8 bytes from our non-blocking eventfd: clears it
        // (EAGAIN when it was clear).
        unsafe { libc::read(self.efd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
        st.sync(self.reg, dir)
    }

    fn tx_interest(&self) -> Interest {
        Interest::READ
    }
}

impl Drop for EmuHandle {
    fn drop(&mut self) {
        self.kernel.lock().close(self.reg);
    }
}
