//! Allocator settings for a training process.

/// mimalloc's `mi_option_purge_delay`: the 16th entry (index 15) of `mi_option_e` in
/// `mimalloc.h`, the same in mimalloc 2.x and 3.x (`libmimalloc-sys` 0.1.49 names no constant for
/// it). Its environment variable is `MIMALLOC_PURGE_DELAY`.
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to return freed memory to the operating system (its `purge_delay`
/// option set to `-1`, as `MIMALLOC_PURGE_DELAY=-1` does) and returns the option's value read
/// back from mimalloc: `Some(-1)`. Without the `mimalloc` cargo feature it does nothing and
/// returns `None`.
///
/// mimalloc by default purges (`madvise(MADV_DONTNEED)`) memory that has been free for a while
/// (1 s in mimalloc 3, 10 ms in mimalloc 2). A CPU training step frees its activations and
/// gradients and allocates them again in the next step, whose buffers of other sizes leave some
/// blocks free for longer than that, so they are purged and faulted back in, zero-filled (as
/// 2 MiB transparent huge pages where the kernel allows them); keeping them makes a ResNet-18
/// training step at 112x112 faster (BENCHMARKS.md "Memory"). The process then keeps its peak
/// memory until it ends, as PyTorch's caching allocators do.
///
/// It only matters when mimalloc is the global allocator, which a library cannot choose: the
/// `podium` binary and the examples set it and call this first thing in `main`; README "Memory"
/// shows the lines for your own binary. Calling it more than once is harmless.
pub fn keep_freed_memory() -> Option<i64> {
    #[cfg(feature = "mimalloc")]
    {
        // SAFETY: mi_option_set / mi_option_get read and write one process-wide option word;
        // mimalloc allows changing options at any time.
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
            Some(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) as i64)
        }
    }
    #[cfg(not(feature = "mimalloc"))]
    None
}
