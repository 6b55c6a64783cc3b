//! Cache hints: asking the CPU to start loading a meter's memory before a
//! telegram needs it.
//!
//! With 10 000 meters a meter's state has left the caches by its next
//! telegram, a second later, and each of the places a telegram touches
//! stalls the meters' thread for a trip to memory. A hint costs one
//! instruction, never faults and never changes what a program computes;
//! it only lets the loads run during work that does not need them (the
//! kernel's `recv`, the decoding). Off x86-64 it does nothing.

/// Bytes in a cache line.
const LINE: usize = 64;

/// Asks for the `len` bytes from `start` to be brought into the caches.
pub(crate) fn bytes(start: *const u8, len: usize) {
    let mut off = 0;
    while off < len {
        line(start.wrapping_add(off));
        off += LINE;
    }
}

/// Asks for the `T` at `value` to be brought into the caches.
pub(crate) fn value<T>(value: &T) {
    bytes((value as *const T).cast(), std::mem::size_of::<T>());
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn line(p: *const u8) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: SSE, which the intrinsic needs, is part of every x86-64
    // CPU; and a prefetch is a hint, not a load: any address is allowed,
    // none is read or written, and it cannot fault.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn line(_: *const u8) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_on_any_address_neither_faults_nor_writes() {
        // Addresses no program may read: a hint must not fault on them.
        bytes(std::ptr::null(), 4 * LINE);
        bytes(usize::MAX as *const u8, 2 * LINE);
        let empty: Vec<u64> = Vec::new();
        bytes(empty.as_ptr().cast(), 1024);
        let data = vec![7u8; 10 * LINE];
        bytes(data.as_ptr(), data.len());
        value(&data[3 * LINE]);
        value(&data);
        assert!(data.iter().all(|&b| b == 7), "a hint changed memory");
    }
}
