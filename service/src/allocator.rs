//! The system allocator, asking for transparent huge pages on image-sized
//! blocks. A fresh `flipframe transform` of a 13 MP photo touches about
//! 16 MiB of new memory; in 4 KiB pages that is some 4,000 page faults, a
//! fifth of the run on a VM. Where the kernel leaves huge pages to
//! `madvise` (the common default), one fault then maps 2 MiB. Small blocks
//! are untouched, and the advice is only a hint: where the kernel has no
//! huge pages to give, nothing changes. Only processes that transform turn
//! it on (`flipframe transform`, the sandbox workers): the server's upload
//! bodies keep the small pages its memory budget was measured with.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

static ADVISING: AtomicBool = AtomicBool::new(false);

/// From now on, image-sized blocks of this process ask for huge pages.
pub fn advise_huge_pages() {
    ADVISING.store(true, Ordering::Relaxed);
}

/// Blocks this large come straight from `mmap` in glibc, so the advice
/// covers memory no other block shares.
const HUGE_ENOUGH: usize = 4 << 20;

pub struct HugePlanes;

// SAFETY: every call goes to `System` unchanged; `advise` only adds a hint
// about the pages of a block that `System` has just handed out.
unsafe impl GlobalAlloc for HugePlanes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        advise(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        advise(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        advise(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }
}

fn advise(block: *mut u8, size: usize) -> *mut u8 {
    #[cfg(target_os = "linux")]
    if size >= HUGE_ENOUGH && !block.is_null() && ADVISING.load(Ordering::Relaxed) {
        // madvise wants a page-aligned start: advise the whole pages inside the block.
        let page = 4096;
        let start = (block as usize).next_multiple_of(page);
        let end = (block as usize + size) & !(page - 1);
        // SAFETY: the range lies inside a block we own; MADV_HUGEPAGE changes
        // no contents and its failure changes nothing.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
    block
}
