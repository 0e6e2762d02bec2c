//! Surviving SIGBUS while a mapped file is scanned.
//!
//! Reading a mapped page past the end of a file that another process truncated raises SIGBUS, which
//! kills the process by default. A scan of a live disk must survive that. [`guard`] marks the
//! calling thread's mapping as active; the handler, on a fault inside that range, maps an anonymous
//! zero page over the faulting page (so the read resumes and sees zeros), notes the fault, and
//! returns. A fault anywhere else restores the previous disposition and returns, so the fault
//! repeats and behaves exactly as it would have without us.

use std::mem::MaybeUninit;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, compiler_fence};

// The handler runs on the faulting thread, between two instructions of `f`: to the compiler it
// is invisible, so plain `Cell`s could be read before `f` runs or written after it (release
// builds did fold the FAULTED read to `false`). Atomics plus compiler fences around `f` keep
// every access where the code puts it.
thread_local! {
    /// Start address of the mapping this thread is scanning.
    static ACTIVE_START: AtomicUsize = const { AtomicUsize::new(0) };
    /// Its length; 0 when none is active.
    static ACTIVE_LEN: AtomicUsize = const { AtomicUsize::new(0) };
    /// Whether a fault was absorbed inside the active mapping.
    static FAULTED: AtomicBool = const { AtomicBool::new(false) };
}

static INSTALL: Once = Once::new();
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
static mut PREVIOUS: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();

/// Runs `f` while `map` is the calling thread's guarded mapping; returns whether any page of it
/// faulted (the file shrank) and read as zeros.
pub fn guard(map: &[u8], f: impl FnOnce()) -> bool {
    INSTALL.call_once(install);
    ACTIVE_START.with(|a| a.store(map.as_ptr() as usize, Ordering::Relaxed));
    ACTIVE_LEN.with(|a| a.store(map.len(), Ordering::Relaxed));
    FAULTED.with(|x| x.store(false, Ordering::Relaxed));
    compiler_fence(Ordering::SeqCst);
    f();
    compiler_fence(Ordering::SeqCst);
    ACTIVE_LEN.with(|a| a.store(0, Ordering::Relaxed));
    FAULTED.with(|x| x.swap(false, Ordering::Relaxed))
}

fn install() {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        PAGE_SIZE.store(page as usize, Ordering::Relaxed);
    }
    // SAFETY: a zeroed sigaction is a valid starting value; we fill in the handler and flags and
    // install it once, before any guarded mapping is read. PREVIOUS is written only here, inside
    // `Once`, and read only by the handler after installation.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, (&raw mut PREVIOUS).cast());
    }
}

extern "C" fn handler(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers. Everything below is
    // async-signal-safe: const-initialised atomic thread-locals without destructors, and raw syscalls.
    unsafe {
        let addr = (*info).si_addr() as usize;
        let start = ACTIVE_START.with(|a| a.load(Ordering::Relaxed));
        let len = ACTIVE_LEN.with(|a| a.load(Ordering::Relaxed));
        if len != 0 && addr >= start && addr < start + len {
            let page = PAGE_SIZE.load(Ordering::Relaxed);
            let base = addr & !(page - 1);
            let zero = libc::mmap(
                base as *mut libc::c_void,
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            );
            if zero != libc::MAP_FAILED {
                FAULTED.with(|x| x.store(true, Ordering::Relaxed));
                return;
            }
        }
        libc::sigaction(
            libc::SIGBUS,
            (&raw const PREVIOUS).cast(),
            std::ptr::null_mut(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn truncation_under_a_mapping_reads_zeros_and_is_reported() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![0xabu8; 64 * 1024]).unwrap();
        // SAFETY: test-only mapping of a private temp file.
        let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
        file.set_len(4096).unwrap();
        let mut sum = 0u64;
        let faulted = guard(&map, || sum = map.iter().map(|&b| u64::from(b)).sum());
        assert!(faulted);
        assert_eq!(sum, 4096 * 0xab);
        // Untouched mapping: no fault.
        let file2 = tempfile::tempfile().unwrap();
        file2.set_len(8192).unwrap();
        // SAFETY: as above.
        let map2 = unsafe { memmap2::Mmap::map(&file2).unwrap() };
        assert!(!guard(&map2, || assert_eq!(
            map2.iter().filter(|&&b| b != 0).count(),
            0
        )));
    }
}
