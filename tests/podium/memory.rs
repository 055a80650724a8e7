//! `util::keep_freed_memory`: mimalloc stops returning freed memory to the system.

/// mimalloc's option word 15 is `purge_delay`: positive by default (1,000 ms in mimalloc 3,
/// 10 ms in mimalloc 2; unless the environment sets `MIMALLOC_PURGE_DELAY`), and -1 (never
/// purge) once `keep_freed_memory` has run, read from mimalloc itself rather than from the
/// function's return value.
#[cfg(feature = "mimalloc")]
#[test]
fn keep_freed_memory_sets_mimallocs_purge_delay_to_never() {
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: mi_option_get reads one process-wide option word.
    let read = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        assert!(read() > 0, "mimalloc's default purge delay: {}", read());
    }
    assert_eq!(burn_podium::util::keep_freed_memory(), Some(-1));
    assert_eq!(read(), -1);
    // A second call changes nothing.
    assert_eq!(burn_podium::util::keep_freed_memory(), Some(-1));
    assert_eq!(read(), -1);
}

/// Without the `mimalloc` feature there is nothing to set.
#[cfg(not(feature = "mimalloc"))]
#[test]
fn keep_freed_memory_is_a_no_op_without_mimalloc() {
    assert_eq!(burn_podium::util::keep_freed_memory(), None);
}
