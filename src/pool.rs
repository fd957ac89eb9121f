//! The library-owned rayon pool (never rayon's global pool).
//!
//! * Size: `lossfn_set_num_threads(n)`; 0 means the default, `LOSSFN_NUM_THREADS` if set to a
//!   positive integer, else every core. 1 means "run on the caller's thread": no pool at all.
//! * Safe after `fork()`: a child inherits the pool object but none of its worker threads, so a
//!   pool is only used by the process that built it (checked by pid); a child builds its own.
//!   The slot is guarded by a tiny spin lock that `pthread_atfork` handlers take around `fork()`,
//!   so a child never inherits it locked.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};

struct Pool {
    pid: u32,
    threads: usize,
    pool: rayon::ThreadPool,
}

/// Requested size; 0 = default.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);
static LOCKED: AtomicBool = AtomicBool::new(false);
static mut SLOT: Option<Arc<Pool>> = None;
static ATFORK: Once = Once::new();

fn lock() {
    while LOCKED.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        std::hint::spin_loop();
    }
}

fn unlock() {
    LOCKED.store(false, Ordering::Release);
}

extern "C" fn before_fork() {
    lock();
}

extern "C" fn after_fork() {
    unlock();
}

/// Runs `f` with exclusive access to the slot.
fn with_slot<R>(f: impl FnOnce(&mut Option<Arc<Pool>>) -> R) -> R {
    ATFORK.call_once(|| {
        // SAFETY: registering plain extern "C" handlers that only touch an atomic.
        unsafe { libc::pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork)) };
    });
    lock();
    // SAFETY: the spin lock gives exclusive access to SLOT.
    let r = f(unsafe { &mut *std::ptr::addr_of_mut!(SLOT) });
    unlock();
    r
}

/// The thread count used when none is requested: `LOSSFN_NUM_THREADS`, else every core.
pub fn default_threads() -> usize {
    std::env::var("LOSSFN_NUM_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Sets the thread count (0 = default). Takes effect for calls that start afterwards.
pub fn set_num_threads(n: usize) {
    REQUESTED.store(n, Ordering::SeqCst);
}

/// The thread count calls use now.
pub fn num_threads() -> usize {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => default_threads(),
        n => n,
    }
}

/// The pool for `threads` workers in this process, built (or rebuilt after a fork or a size
/// change) on first use. `None` when the pool cannot be built: callers then run serially.
fn pool(threads: usize) -> Option<Arc<Pool>> {
    let pid = std::process::id();
    with_slot(|slot| {
        if let Some(p) = slot.as_ref() {
            if p.pid == pid && p.threads == threads {
                return Some(Arc::clone(p));
            }
            if p.pid != pid {
                // Inherited through fork(): its workers do not exist here, and dropping it
                // would talk to them. Leak it.
                std::mem::forget(slot.take());
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("lossfn-{i}"))
            .build()
            .ok()?;
        let p = Arc::new(Pool { pid, threads, pool });
        *slot = Some(Arc::clone(&p));
        Some(p)
    })
}

/// Runs `f` inside the library pool, or returns `None` when calls run on the caller's thread
/// (one thread configured, or no pool could be built).
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> Option<R> {
    let threads = num_threads();
    if threads <= 1 {
        return None;
    }
    pool(threads).map(|p| p.pool.install(f))
}
