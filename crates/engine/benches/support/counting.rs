//! A counting global allocator for the engine's memory benchmarks: it forwards every call to
//! the system allocator and counts the bytes requested, the live blocks, and an estimate of
//! what glibc's malloc really uses for them (16-byte aligned chunks with an 8-byte header,
//! 32 bytes at least), with the peak of that estimate.
#![allow(dead_code)] // each benchmark reads a different part

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;

pub static REQUESTED: AtomicUsize = AtomicUsize::new(0);
pub static CHUNKS: AtomicUsize = AtomicUsize::new(0);
pub static BLOCKS: AtomicUsize = AtomicUsize::new(0);
pub static PEAK_CHUNKS: AtomicUsize = AtomicUsize::new(0);

/// glibc malloc on 64-bit Linux: size + 8-byte header, rounded up to 16, at least 32.
fn chunk(size: usize) -> usize {
    ((size + 8 + 15) & !15).max(32)
}

fn grew(size: usize) {
    REQUESTED.fetch_add(size, Relaxed);
    BLOCKS.fetch_add(1, Relaxed);
    let now = CHUNKS.fetch_add(chunk(size), Relaxed) + chunk(size);
    PEAK_CHUNKS.fetch_max(now, Relaxed);
}

fn shrank(size: usize) {
    REQUESTED.fetch_sub(size, Relaxed);
    BLOCKS.fetch_sub(1, Relaxed);
    CHUNKS.fetch_sub(chunk(size), Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters only observe.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Clone, Copy)]
pub struct Heap {
    pub requested: usize,
    pub chunks: usize,
    pub blocks: usize,
}

pub fn heap() -> Heap {
    Heap {
        requested: REQUESTED.load(Relaxed),
        chunks: CHUNKS.load(Relaxed),
        blocks: BLOCKS.load(Relaxed),
    }
}
