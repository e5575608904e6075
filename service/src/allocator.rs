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

/// Sets this process up to transform images: from now on its image-sized
/// blocks ask for huge pages, and freed memory stays for the next image.
///
/// glibc's defaults move with what was freed last: its mmap threshold rises
/// to the largest block freed and the heap is trimmed whenever twice that is
/// free at its top. Whether a back-to-back transform reuses the last one's
/// pages or faults them all in again then hangs on the order of its blocks:
/// on the 1080p GIF one allocation less cost 2,100 page faults a run, warm
/// 22.3 → 26.5 ms. Fixed thresholds make reuse the rule; the worker hands
/// memory back itself once idle (`sandbox::worker`). The `MALLOC_*`
/// environment variables still win.
pub fn tune_for_transforms() {
    ADVISING.store(true, Ordering::Relaxed);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let unset = |name: &str| std::env::var_os(name).is_none();
        // SAFETY: mallopt only sets allocator parameters; transform processes
        // call this before any other thread starts.
        unsafe {
            if unset("MALLOC_MMAP_THRESHOLD_") {
                // glibc's ceiling: blocks up to it come from the heap.
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            }
            if unset("MALLOC_TRIM_THRESHOLD_") {
                libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
            }
        }
    }
}

/// Blocks this large hold at least one whole huge page more often than not
/// (a 1080p frame's planes are 2.7–6.2 MB): smaller ones would only share
/// their huge page with other blocks.
const HUGE_ENOUGH: usize = 2 << 20;

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
