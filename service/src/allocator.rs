//! Huge pages for image-sized blocks. A fresh `flipframe transform` of a
//! 13 MP photo touches about 16 MiB of new memory, a progressive 16 MP one
//! 60 MiB (libjpeg-turbo's coefficients for the whole image); in 4 KiB
//! pages that is one page fault per page, a fifth of the run on a VM. Where
//! the kernel leaves huge pages to `madvise` (the common default), one
//! fault then maps 2 MiB. Small blocks are untouched, and the advice is only
//! a hint: where the kernel has no huge pages to give, nothing changes.
//!
//! The binary is linked with `--wrap` for the C allocation functions
//! (build.rs, main.rs), so every block passes through [`advise`]: Rust's,
//! and the C codecs' too, which a Rust global allocator never sees. Only
//! processes that transform turn the advice on (`flipframe transform`, the
//! sandbox workers): the server's upload bodies keep the small pages its
//! memory budget was measured with.

use std::sync::atomic::{AtomicBool, Ordering};

static ADVISING: AtomicBool = AtomicBool::new(false);

/// From now on, image-sized blocks of this process ask for huge pages.
pub fn advise_huge_pages() {
    ADVISING.store(true, Ordering::Relaxed);
}

/// Blocks this large come straight from `mmap` in glibc, so the advice
/// covers memory no other block shares.
const HUGE_ENOUGH: usize = 4 << 20;

/// Advises huge pages for `block` when it is image-sized and this process
/// transforms; returns it unchanged.
///
/// # Safety
/// `block` is null or a live allocation of at least `size` bytes.
pub unsafe fn advise(block: *mut u8, size: usize) -> *mut u8 {
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
