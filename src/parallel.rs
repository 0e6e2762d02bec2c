//! Work shared among threads: each takes the next index of a fixed list until none is left.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of threads for a requested count: 0 means one per CPU.
pub fn threads(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
}

/// Calls `work(state, i)` for every `i` in `0..count`, on `threads` threads (0: one per CPU; never
/// more than there is work), each with its own state from `init`. Returns when all are done.
pub fn for_each<S>(
    count: usize,
    threads: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize) + Sync,
) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..self::threads(threads).min(count).max(1) {
            scope.spawn(|| {
                let mut state = init();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    work(&mut state, i);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_index_is_done_once() {
        let done: Vec<_> = (0..1000)
            .map(|_| std::sync::atomic::AtomicU32::new(0))
            .collect();
        super::for_each(
            done.len(),
            4,
            || (),
            |_, i| {
                done[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        );
        assert!(
            done.iter()
                .all(|d| d.load(std::sync::atomic::Ordering::Relaxed) == 1)
        );
        super::for_each(0, 0, || (), |_, _| panic!("no work"));
    }
}
