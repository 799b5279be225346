//! A registered port: one descriptor bound to the receive or the
//! transmit rings of a netmap port, its memory, and the buffers it gives
//! back when it closes.

use std::io;
use std::ptr::NonNull;
use std::sync::Mutex;

use click_engine::packet::{RegionId, TokenReceiver};

use super::abi::{
    regif_request, Buffers, If, Ring, IF_RING_OFS, NR_RX_RINGS_ONLY, NR_TX_RINGS_ONLY, RING_HEADER,
};
use super::kernel::{Dir, Handle, Kernel};
use super::name::PortName;

/// One registration (a descriptor) of a port's rings of one direction.
pub(crate) struct Port {
    pub name: PortName,
    pub dir: Dir,
    pub nifp: If,
    /// The rings this registration bound, in order.
    pub rings: Vec<Ring>,
    pub bufs: Buffers,
    pub region: RegionId,
    pub mem_id: u16,
    pub mem_len: usize,
    pub kernel: &'static str,
    /// Buffers to give back to the kernel with the port when it closes
    /// (the spare buffers the rings' users held).
    giveback: Mutex<Vec<u32>>,
    /// The receiving half's token queue once it is gone: buffers its
    /// packets release after that land here, and go back with the port.
    parked: Mutex<Option<TokenReceiver>>,
    /// Dropped last: unmaps the memory and closes the descriptor.
    handle: Box<dyn Handle>,
}

impl Port {
    /// Registers `name`'s rings of `dir` with `kernel`, asking for `extra`
    /// spare buffers; returns the port and the spare buffers given.
    pub fn open(
        kernel: &dyn Kernel,
        name: &PortName,
        dir: Dir,
        extra: u32,
    ) -> Result<(Port, Vec<u32>), String> {
        let only = match dir {
            Dir::Rx => NR_RX_RINGS_ONLY,
            Dir::Tx => NR_TX_RINGS_ONLY,
        };
        let mut req = regif_request(
            &name.kernel_name,
            name.mode,
            name.ringid,
            name.flags | only,
            name.mem_id,
            extra,
        )?;
        let handle = kernel
            .register(&mut req)
            .map_err(|e| register_error(kernel.name(), name, e))?;
        let (mem, len) = handle.memory();
        let bad = |what: &str| format!("{name}: {} gave {what}", kernel.name());
        let if_off = req.nr_offset as usize;
        if if_off.checked_add(IF_RING_OFS).is_none_or(|e| e > len) {
            return Err(bad("a netmap_if outside its memory"));
        }
        // SAFETY: inside the mapping (checked), which `handle` keeps.
        let nifp = unsafe { If::new(mem.add(if_off)) };
        if if_off + IF_RING_OFS + nifp.ring_entries() * 8 > len {
            return Err(bad("ring offsets outside its memory"));
        }
        let n = match dir {
            Dir::Tx => nifp.tx_rings() + nifp.host_tx_rings(),
            Dir::Rx => nifp.rx_rings() + nifp.host_rx_rings(),
        };
        let mut rings = Vec::new();
        for i in 0..n {
            let ofs = match dir {
                Dir::Tx => nifp.tx_ring_offset(i),
                Dir::Rx => nifp.rx_ring_offset(i),
            }
            .unwrap_or(0);
            if ofs == 0 {
                continue; // not bound by this registration
            }
            let at = if_off as isize + ofs;
            if at < 0 || at as usize + RING_HEADER > len {
                return Err(bad("a ring outside its memory"));
            }
            // SAFETY: the header is inside the mapping (checked); the
            // slots are checked next.
            let ring = unsafe { Ring::new(mem.add(at as usize)) };
            let slots = ring.num_slots() as usize;
            if slots == 0 || at as usize + RING_HEADER + 16 * slots > len {
                return Err(bad("a ring whose slots are outside its memory"));
            }
            rings.push(ring);
        }
        let Some(first) = rings.first() else {
            return Err(format!(
                "{name}: the registration bound no {} ring",
                match dir {
                    Dir::Tx => "transmit",
                    Dir::Rx => "receive",
                }
            ));
        };
        let bufs = Buffers::new(mem, len, first.buffers_base(), first.buf_size())
            .ok_or_else(|| bad("buffers outside its memory"))?;
        if rings
            .iter()
            .any(|r| r.buffers_base() != first.buffers_base())
        {
            return Err(bad("rings whose buffers do not line up"));
        }
        // The extra buffers are ours now; what we put back in the list
        // goes back to the kernel when the descriptor closes.
        let spares = bufs.read_list(nifp.bufs_head(), req.nr_arg3);
        nifp.set_bufs_head(0);
        let mem_id = req.nr_arg2;
        Ok((
            Port {
                name: name.clone(),
                dir,
                nifp,
                rings,
                bufs,
                region: kernel.region(mem_id),
                mem_id,
                mem_len: len,
                kernel: kernel.name(),
                giveback: Mutex::new(Vec::new()),
                parked: Mutex::new(None),
                handle,
            },
            spares,
        ))
    }

    /// The descriptor.
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.handle.fd()
    }

    /// One sync of this registration's rings.
    pub fn sync(&self) -> io::Result<()> {
        self.handle.sync(self.dir)
    }

    /// What to wait on for room in the TX rings.
    pub fn tx_interest(&self) -> click_engine::Interest {
        self.handle.tx_interest()
    }

    /// Buffers to give back to the kernel when the port closes.
    pub fn give_back(&self, bufs: &[u32]) {
        self.giveback
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bufs);
    }

    /// Keeps the receiving half's token queue until the port closes.
    pub fn park(&self, r: TokenReceiver) {
        *self.parked.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    }

    /// The address of buffer `i`.
    #[inline]
    pub fn buf(&self, i: u32) -> Option<NonNull<u8>> {
        self.bufs.addr(i)
    }

    /// Slots of every ring.
    pub fn slots(&self) -> usize {
        self.rings.iter().map(|r| r.num_slots() as usize).sum()
    }

    /// A line for `describe`.
    pub fn describe(&self, what: &str, extra: &str) -> String {
        let slots = self.rings.first().map_or(0, |r| r.num_slots());
        format!(
            "{} {} ({}), {} {what} ring{} of {slots} slots, memory region {} ({} MB){extra}",
            self.kernel,
            self.name.spec,
            self.name.kernel_name,
            self.rings.len(),
            if self.rings.len() == 1 { "" } else { "s" },
            self.mem_id,
            self.mem_len >> 20,
        )
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        let mut list =
            std::mem::take(&mut *self.giveback.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(mut r) = self.parked.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let mut back = [0u64; 256];
            loop {
                let n = r.drain(&mut back);
                list.extend(back[..n].iter().map(|&t| t as u32));
                if n < back.len() {
                    break;
                }
            }
        }
        let head = self.bufs.write_list(&list);
        self.nifp.set_bufs_head(head);
    }
}

fn register_error(kernel: &str, name: &PortName, e: io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENODEV) if kernel == "netmap" => {
            " (no /dev/netmap: load netmap.ko, or use METHOD XDP or LINUX)"
        }
        Some(libc::ENXIO) => " (no such port: a device must exist; pipes need their port's name)",
        Some(libc::EBUSY) => " (another program or element holds these rings)",
        Some(libc::EPERM) | Some(libc::EACCES) => " (needs root)",
        Some(libc::ENOMEM) => " (netmap is out of memory for rings or buffers)",
        Some(libc::EINVAL) => " (the kernel refused the request: a ring out of range?)",
        _ => "",
    };
    format!("{name}: registering with {kernel}: {e}{hint}")
}
