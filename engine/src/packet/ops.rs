//! The safe part of the `Packet` API: constructors, data access, head/tail
//! room operations and header offsets, all written on top of the few
//! primitives of `pool.rs`.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use super::anno::NO_HEADER;
use super::pool::{rebase_headers, Packet};
use super::{PacketError, MAX_HEADER_OFFSET};

/// Whether an expensive `push` or `put` was logged yet (once each, as the
/// costs are the same every time and a flood of them says nothing more).
static PUSH_WARNED: AtomicBool = AtomicBool::new(false);
static PUT_WARNED: AtomicBool = AtomicBool::new(false);

/// Logs, the first time, that a `push` or `put` of `wanted` bytes found
/// only `have` bytes of room and moved the packet to a bigger buffer:
/// Click's "expensive Packet::push" warning.
#[cold]
#[inline(never)]
fn expensive(warned: &AtomicBool, op: &str, have: usize, wanted: usize) {
    if !warned.swap(true, Relaxed) {
        tracing::warn!("expensive Packet::{op}; have {have} wanted {wanted}: the packet moved to a bigger buffer (said once)");
    }
}

impl Packet {
    /// A packet of `len` zero bytes with the pool's default headroom (less
    /// if that keeps it in a small buffer or within the largest). Fails if
    /// the pool is exhausted, or with [`PacketError::TooLong`] past
    /// [`PacketPool::max_packet_len`](super::PacketPool::max_packet_len).
    #[inline]
    pub fn new(len: usize) -> Result<Packet, PacketError> {
        Self::with_headroom(Self::headroom_for(len), len)
    }

    /// A packet of `len` zero bytes starting `headroom` bytes into its
    /// buffer (a small buffer if they fit one, else a large one). Fails as
    /// [`new`](Self::new).
    pub fn with_headroom(headroom: usize, len: usize) -> Result<Packet, PacketError> {
        let mut p = Self::alloc_sized(headroom, len)?;
        p.data_mut_unchecked().fill(0);
        Ok(p)
    }

    /// A packet holding a copy of `data`, with the headroom of
    /// [`new`](Self::new). Fails as `new`.
    pub fn from_slice(data: &[u8]) -> Result<Packet, PacketError> {
        let mut p = Self::alloc_sized(Self::headroom_for(data.len()), data.len())?;
        p.data_mut_unchecked().copy_from_slice(data);
        Ok(p)
    }

    /// The headroom of a new packet of `len` bytes: the default, or less
    /// when that keeps it in a small buffer (a frame just too long for one
    /// with the default headroom) or within the largest.
    fn headroom_for(len: usize) -> usize {
        let headroom = Self::default_headroom();
        let small = Self::small_buf_size();
        if len <= small {
            return headroom.min(small - len);
        }
        headroom.min(Self::max_buf_size().saturating_sub(len))
    }

    /// Data of a packet known to be unique (fresh).
    fn data_mut_unchecked(&mut self) -> &mut [u8] {
        self.data_mut().expect("fresh packet is unique")
    }

    /// Strips `n` bytes from the front (Click's `pull`). No copy, works on
    /// shared packets. Fails with [`PacketError::OutOfBounds`] if `n > len`.
    #[inline]
    pub fn pull(&mut self, n: usize) -> Result<(), PacketError> {
        if n > self.len() {
            return Err(PacketError::OutOfBounds);
        }
        self.shrink_front(n);
        Ok(())
    }

    /// Trims `n` bytes from the end (Click's `take`). No copy, works on
    /// shared packets. Fails with [`PacketError::OutOfBounds`] if `n > len`.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<(), PacketError> {
        let len = self.len();
        if n > len {
            return Err(PacketError::OutOfBounds);
        }
        self.shrink_to(len - n);
        Ok(())
    }

    /// Sets the data length to `len` if it is shorter (no-op otherwise).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.shrink_to(len);
        }
    }

    /// Prepends `n` bytes (Click's `push`) and returns them to be filled
    /// in: they hold stale bytes of the buffer, so write all of them. Makes
    /// the buffer unique first. Uses the headroom if there is enough;
    /// otherwise moves the data towards the end of its buffer (a
    /// `memmove`), and if the buffer is too small in total, moves it to a
    /// bigger one (a large buffer), leaving the default headroom in front:
    /// Click's "expensive push", logged once. Fails with
    /// [`PacketError::TooLong`] past
    /// [`PacketPool::max_packet_len`](super::PacketPool::max_packet_len),
    /// or as [`make_unique`](Self::make_unique). On error the packet is
    /// unchanged (except perhaps unshared).
    #[inline]
    pub fn push(&mut self, n: usize) -> Result<&mut [u8], PacketError> {
        self.make_unique()?;
        if n <= self.headroom() {
            // The common case (an encapsulation into the headroom): a
            // window move on the buffer just made unique.
            return Ok(self.push_unique_in_headroom(n));
        }
        self.push_moving(n)
    }

    /// [`push`](Self::push) when the headroom is too short: moves the data
    /// or the packet.
    #[cold]
    #[inline(never)]
    fn push_moving(&mut self, n: usize) -> Result<&mut [u8], PacketError> {
        let (mut head, len, cap) = (self.headroom(), self.len(), self.buffer_capacity());
        if n > head {
            if n > cap - len {
                self.grow(n, 0)?;
                expensive(&PUSH_WARNED, "push", head, n);
            } else {
                // Leave up to the default headroom in front after the push.
                let spare = (cap - len - n).min(Self::default_headroom());
                self.move_data(n + spare);
            }
            head = self.headroom();
        }
        self.set_window(head - n, len + n);
        Ok(&mut self.data_mut()?[..n])
    }

    /// Appends `n` bytes (Click's `put`) and returns them to be filled in:
    /// they hold stale bytes of the buffer, so write all of them. Makes the
    /// buffer unique first. Uses the tailroom if there is enough; otherwise
    /// moves the data towards the start of its buffer, or to a bigger
    /// buffer (Click's "expensive put", logged once). Errors as
    /// [`push`](Self::push).
    #[inline]
    pub fn put(&mut self, n: usize) -> Result<&mut [u8], PacketError> {
        self.make_unique()?;
        let (mut head, len, cap) = (self.headroom(), self.len(), self.buffer_capacity());
        if n > cap - head - len {
            if n > cap - len {
                self.grow(0, n)?;
                expensive(&PUT_WARNED, "put", cap - head - len, n);
                head = self.headroom();
            } else {
                head = cap - len - n;
                self.move_data(head);
            }
        }
        self.set_window(head, len + n);
        Ok(&mut self.data_mut()?[len..])
    }

    /// Appends a copy of `bytes` (a [`put`](Self::put) plus a copy).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), PacketError> {
        self.put(bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }

    /// Moves the data (unique buffer) so that it starts at `new_head`,
    /// moving the header offsets with it.
    fn move_data(&mut self, new_head: usize) {
        let (head, len) = (self.headroom(), self.len());
        let cap = self.buffer_capacity();
        self.buffer_for_move()
            .expect("caller made the buffer unique")
            .copy_within(head..head + len, new_head);
        self.set_window(new_head, len);
        rebase_headers(
            self.anno_mut(),
            new_head as isize - head as isize,
            new_head..cap,
        );
    }

    // -- Header offsets (Click's mac_header / network_header / transport_header)

    fn header_at(&self, h: u16) -> Option<&[u8]> {
        if h == NO_HEADER {
            return None;
        }
        self.buffer_from(h as usize)
    }

    fn header_offset(&self, h: u16) -> Option<isize> {
        (h != NO_HEADER).then(|| h as isize - self.headroom() as isize)
    }

    /// The buffer position of the header `offset` bytes into the data, as
    /// the annotations store it.
    fn header_pos(&self, offset: usize) -> Result<u16, PacketError> {
        if offset > self.len() {
            return Err(PacketError::OutOfBounds);
        }
        let pos = self.headroom() + offset;
        if pos > MAX_HEADER_OFFSET {
            return Err(PacketError::HeaderOutOfRange);
        }
        Ok(pos as u16)
    }

    /// Marks the MAC header as starting `offset` bytes into the data.
    /// Fails with [`PacketError::OutOfBounds`] if `offset > len` (a short
    /// packet), or [`PacketError::HeaderOutOfRange`] if the header would
    /// start more than [`MAX_HEADER_OFFSET`] bytes into the buffer; the
    /// annotations are then unchanged.
    #[inline]
    pub fn set_mac_header(&mut self, offset: usize) -> Result<(), PacketError> {
        self.anno_mut().mac_header = self.header_pos(offset)?;
        Ok(())
    }

    /// From the MAC header to the end of the data, if set (and not trimmed
    /// away). It may start before the data after a `pull`.
    #[inline]
    pub fn mac_header(&self) -> Option<&[u8]> {
        self.header_at(self.anno().mac_header)
    }

    /// Offset of the MAC header from the data start (negative after a
    /// `pull` past it).
    #[inline]
    pub fn mac_header_offset(&self) -> Option<isize> {
        self.header_offset(self.anno().mac_header)
    }

    /// Marks the network header at `offset` bytes into the data, `len`
    /// bytes long, and so the transport header at `offset + len` (Click's
    /// `set_network_header(p, len)`). Fails as
    /// [`set_mac_header`](Self::set_mac_header) if either is beyond the
    /// data or the 16-bit range; the annotations are then unchanged.
    #[inline]
    pub fn set_network_header(&mut self, offset: usize, len: usize) -> Result<(), PacketError> {
        // The common case in one test: the header's end is within the data
        // and the 16-bit reach, so its start is too.
        let head = self.headroom();
        if let Some(end) = offset.checked_add(len) {
            if end <= self.len() && head + end <= MAX_HEADER_OFFSET {
                let a = self.anno_mut();
                a.network_header = (head + offset) as u16;
                a.transport_header = (head + end) as u16;
                return Ok(());
            }
        }
        self.set_network_header_checked(offset, len)
    }

    /// [`set_network_header`](Self::set_network_header) one bound at a
    /// time, for the error each case gets.
    #[cold]
    fn set_network_header_checked(&mut self, offset: usize, len: usize) -> Result<(), PacketError> {
        let n = self.header_pos(offset)?;
        let t = self.header_pos(offset.checked_add(len).ok_or(PacketError::OutOfBounds)?)?;
        let a = self.anno_mut();
        a.network_header = n;
        a.transport_header = t;
        Ok(())
    }

    /// From the network header to the end of the data, if set.
    #[inline]
    pub fn network_header(&self) -> Option<&[u8]> {
        self.header_at(self.anno().network_header)
    }

    /// Offset of the network header from the data start.
    #[inline]
    pub fn network_header_offset(&self) -> Option<isize> {
        self.header_offset(self.anno().network_header)
    }

    /// Length of the network header (transport minus network offset).
    #[inline]
    pub fn network_header_length(&self) -> Option<usize> {
        let a = self.anno();
        (a.network_header != NO_HEADER && a.transport_header != NO_HEADER)
            .then(|| a.transport_header.saturating_sub(a.network_header) as usize)
    }

    /// Marks the transport header at `offset` bytes into the data. Fails
    /// as [`set_mac_header`](Self::set_mac_header).
    #[inline]
    pub fn set_transport_header(&mut self, offset: usize) -> Result<(), PacketError> {
        self.anno_mut().transport_header = self.header_pos(offset)?;
        Ok(())
    }

    /// From the transport header to the end of the data, if set.
    #[inline]
    pub fn transport_header(&self) -> Option<&[u8]> {
        self.header_at(self.anno().transport_header)
    }

    /// Offset of the transport header from the data start.
    #[inline]
    pub fn transport_header_offset(&self) -> Option<isize> {
        self.header_offset(self.anno().transport_header)
    }

    /// The `N` bytes `off` bytes into the MAC header, if it is set and
    /// they lie before the end of the data: what
    /// `mac_header()?.get(off..off + N)` gives, in one compare (a
    /// classifier's word read).
    #[inline]
    pub fn mac_header_bytes<const N: usize>(&self, off: u32) -> Option<&[u8; N]> {
        self.header_bytes(self.anno().mac_header, off)
    }

    /// The `N` bytes `off` bytes into the network header, if it is set and
    /// they lie before the end of the data (as
    /// [`mac_header_bytes`](Self::mac_header_bytes)).
    #[inline]
    pub fn network_header_bytes<const N: usize>(&self, off: u32) -> Option<&[u8; N]> {
        self.header_bytes(self.anno().network_header, off)
    }

    /// The `N` bytes `off` bytes into the transport header, if it is set
    /// and they lie before the end of the data (as
    /// [`mac_header_bytes`](Self::mac_header_bytes)).
    #[inline]
    pub fn transport_header_bytes<const N: usize>(&self, off: u32) -> Option<&[u8; N]> {
        self.header_bytes(self.anno().transport_header, off)
    }

    #[inline(always)]
    fn header_bytes<const N: usize>(&self, h: u16, off: u32) -> Option<&[u8; N]> {
        if h == NO_HEADER {
            return None;
        }
        self.buffer_bytes(h, off)
    }

    /// Unsets the three header offsets.
    #[inline]
    pub fn clear_headers(&mut self) {
        let a = self.anno_mut();
        a.mac_header = NO_HEADER;
        a.network_header = NO_HEADER;
        a.transport_header = NO_HEADER;
    }
}
