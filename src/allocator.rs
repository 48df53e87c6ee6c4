//! The global allocator: mimalloc, asked for plain blocks when any block's alignment will do.
//!
//! The `mimalloc` crate passes every request to `mi_malloc_aligned`. In mimalloc v3 a request
//! that misses the aligned fast path (its size's page has no free block at hand: about a third of
//! the engine's allocations under load) goes to the generic path, which allocates
//! `size + alignment − 1` bytes and aligns inside them: a larger size class, and six to eight
//! times the instructions (BENCHMARKS.md, item 28). Every mimalloc block is a whole number of
//! machine words from a word-aligned start, so requests aligned to a word or less go to
//! `mi_malloc` and friends, and only larger alignments to the aligned entry points.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment every mimalloc block has (block sizes are multiples of a word).
const WORD: usize = core::mem::size_of::<usize>();

/// mimalloc as the global allocator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mimalloc;

// SAFETY: `mi_malloc`, `mi_zalloc` and `mi_realloc` return null or a block of at least the size
// asked for, aligned to at least a word, so they serve layouts aligned to a word or less; the
// `_aligned` variants honour any power-of-two alignment (a `Layout`'s always is). `mi_free` and
// the reallocation functions take a block from any of them.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl; the caller guarantees a non-zero size.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`; the new
        // block keeps `layout`'s alignment.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_has_its_alignment_and_keeps_its_bytes_through_realloc() {
        let a = Mimalloc;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1usize, 3, 8, 24, 100, 160, 1000, 5000, 70_000] {
                let Ok(layout) = Layout::from_size_align(size, align) else { continue };
                // SAFETY: non-zero sizes; every block is freed with the layout it has.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null() && (p as usize) % align == 0, "alloc {size}/{align}");
                    p.write_bytes(0xab, size);
                    let q = a.realloc(p, layout, size * 3);
                    assert!(!q.is_null() && (q as usize) % align == 0, "realloc {size}/{align}");
                    assert!((0..size).all(|i| *q.add(i) == 0xab), "realloc kept the bytes {size}/{align}");
                    let Ok(grown) = Layout::from_size_align(size * 3, align) else { continue };
                    a.dealloc(q, grown);
                    let z = a.alloc_zeroed(layout);
                    assert!(!z.is_null() && (z as usize) % align == 0, "zalloc {size}/{align}");
                    assert!((0..size).all(|i| *z.add(i) == 0), "zeroed {size}/{align}");
                    a.dealloc(z, layout);
                }
            }
        }
    }
}
