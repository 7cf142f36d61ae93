//! One allocation over [`CAP`] aborts the fuzz run, so a size read from the input and trusted
//! (a tar header, a JSON length) is found as a crash. libFuzzer's own `-malloc_limit_mb` needs a
//! sanitizer's malloc hooks, and the targets are built without one (`-s none`: the library
//! forbids `unsafe`, so there is nothing for AddressSanitizer to find in it); a huge but
//! untouched allocation would not show in `-rss_limit_mb` either. Hand-written: a capped
//! allocator is a few lines around `System`, no crate needed.

use std::alloc::{GlobalAlloc, Layout, System};

/// The largest single allocation an input may cause: far above any input (`-max_len` is at
/// most 64 KiB) times any reasonable expansion.
const CAP: usize = 256 * 1024 * 1024;

pub struct Capped;

// SAFETY: every call is forwarded unchanged to `System`; the only addition is an abort,
// before allocating, for sizes over the cap.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

fn check(size: usize) {
    if size > CAP {
        // No formatting machinery here: it would allocate inside the allocator.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"alloc_cap: one allocation over 256 MiB: an input-controlled size was trusted\n",
        );
        std::process::abort();
    }
}

#[global_allocator]
static CAPPED: Capped = Capped;
