//! Large zeroed arrays of atomics, mapped straight from the kernel: pages
//! are committed only when first written, so a table that reserves 64 MiB
//! for its first level but holds ten routes uses a few pages, and the
//! arrays never move (readers on other threads hold no lock).

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

/// Types whose all-zero bit pattern is a valid value, so that fresh
/// anonymous memory is an array of them.
///
/// # Safety
/// The all-zero bit pattern must be a valid `Self`.
pub(crate) unsafe trait Zeroed: Sync {}
// SAFETY: atomics of integers are integers; zero is a valid integer.
unsafe impl Zeroed for AtomicU32 {}
// SAFETY: as above.
unsafe impl Zeroed for AtomicU64 {}

/// The size of a transparent huge page on x86-64 and aarch64 (4 KiB base
/// pages).
const HUGE_PAGE: usize = 2 << 20;

/// A fixed-length array of `T`, all zero at first, in its own anonymous
/// mapping. Never reallocated: references into it stay valid while it
/// lives.
pub(crate) struct Region<T: Zeroed> {
    /// The first element (inside the mapping, aligned to a huge page when
    /// huge pages were asked for).
    data: NonNull<T>,
    len: usize,
    /// The whole mapping, for `munmap`.
    map: NonNull<libc::c_void>,
    map_len: usize,
    _owns: PhantomData<T>,
}

// SAFETY: the region owns its memory; `T: Zeroed` is `Sync` (atomics), so
// sharing `&[T]` between threads is sound, and the mapping may be unmapped
// from any thread.
unsafe impl<T: Zeroed> Send for Region<T> {}
// SAFETY: see above.
unsafe impl<T: Zeroed> Sync for Region<T> {}

impl<T: Zeroed> Region<T> {
    /// Maps `len` zeroed elements, reserved but not committed
    /// (`MAP_NORESERVE`): pages are committed as they are written. With
    /// `huge`, the array starts on a huge page boundary, so that
    /// [`Region::use_huge_pages`] can back all of it with huge pages
    /// later.
    pub(crate) fn new(len: usize, huge: bool) -> Result<Self, String> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .filter(|&b| b > 0)
            .ok_or("bad table size")?;
        let map_len = if huge { bytes + HUGE_PAGE } else { bytes };
        // SAFETY: an anonymous private mapping with no address hint; the
        // result is checked.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(format!(
                "cannot map {} MiB: {}",
                map_len >> 20,
                std::io::Error::last_os_error()
            ));
        }
        let mut data = map.cast::<u8>();
        if huge {
            let skip = (HUGE_PAGE - (data as usize) % HUGE_PAGE) % HUGE_PAGE;
            // SAFETY: `skip < HUGE_PAGE`, and the mapping has `HUGE_PAGE`
            // bytes beyond `bytes`.
            data = unsafe { data.add(skip) };
        }
        Ok(Region {
            data: NonNull::new(data.cast::<T>()).ok_or("mmap returned null")?,
            len,
            map: NonNull::new(map).ok_or("mmap returned null")?,
            map_len,
            _owns: PhantomData,
        })
    }

    /// Asks the kernel to back the array with transparent huge pages
    /// (`MADV_HUGEPAGE`), and to turn the pages written so far into huge
    /// pages now (`MADV_COLLAPSE`, Linux 6.1 and later): one TLB entry per
    /// 2 MiB instead of per 4 KiB, which keeps random lookups into a
    /// 64 MiB table fast, at the price of committing 2 MiB wherever a page
    /// was touched. Failures (no THP in this kernel) only cost speed.
    pub(crate) fn use_huge_pages(&self) {
        /// Not in every libc's bindings (musl).
        #[cfg(target_os = "linux")]
        const MADV_COLLAPSE: libc::c_int = 25;
        let bytes = self.len * std::mem::size_of::<T>();
        let start = self.data.as_ptr().cast::<libc::c_void>();
        // SAFETY: the range is the array, inside our mapping; advice does
        // not change its contents.
        unsafe {
            libc::madvise(start, bytes, libc::MADV_HUGEPAGE);
            #[cfg(target_os = "linux")]
            libc::madvise(start, bytes, MADV_COLLAPSE);
        }
    }

    /// The elements.
    #[inline(always)]
    pub(crate) fn as_slice(&self) -> &[T] {
        // SAFETY: `data` points to `len` initialized (zero or since
        // written) `T`s that live as long as `self`; `T` is only ever
        // accessed through shared references (atomics).
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
    }
}

impl<T: Zeroed> Drop for Region<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `new` with this length, and no
        // reference into it outlives `self`.
        unsafe { libc::munmap(self.map.as_ptr(), self.map_len) };
    }
}

impl<T: Zeroed> std::fmt::Debug for Region<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Region({} x {} bytes)",
            self.len,
            std::mem::size_of::<T>()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn regions_start_zeroed() {
        let r: Region<AtomicU32> = Region::new(1 << 24, false).unwrap();
        assert!(r
            .as_slice()
            .iter()
            .step_by(4096)
            .all(|x| x.load(Relaxed) == 0));
        r.as_slice()[12345].store(7, Relaxed);
        assert_eq!(r.as_slice()[12345].load(Relaxed), 7);
        assert_eq!(r.as_slice()[(1 << 24) - 1].load(Relaxed), 0);
    }

    #[test]
    fn huge_regions_are_aligned() {
        let r: Region<AtomicU64> = Region::new(1000, true).unwrap();
        assert_eq!(r.as_slice().as_ptr() as usize % HUGE_PAGE, 0);
        assert_eq!(r.as_slice().len(), 1000);
    }
}
