//! Independent jobs on a few threads, with the results in the items' order: the order, never
//! the threads' timing, decides what `etcdlab test`, `explore` and sensitivity tables write.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f` on every item, on at most `jobs` threads (a thread takes the next item when it is
/// free); the results in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(items.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { return };
                let result = f(item);
                results.lock().expect("no panics while holding the lock")[i] = Some(result);
            });
        }
    });
    let results = results.into_inner().expect("threads finished");
    results
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_in_the_items_order_on_any_number_of_threads() {
        let items: Vec<u64> = (0..100).collect();
        for jobs in [0, 1, 3, 200] {
            assert_eq!(
                super::map(&items, jobs, |i| i * 2),
                (0..100).map(|i| i * 2).collect::<Vec<_>>()
            );
        }
        assert!(super::map(&[] as &[u64], 4, |i| *i).is_empty());
    }
}
