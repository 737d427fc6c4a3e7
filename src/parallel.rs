//! Work on every core over a slice, with results handed on in order.
//!
//! Rendering dominates `plan` on big campaigns, and each message renders on
//! its own, so chunks of messages can render on different cores. Output must
//! stay byte-for-byte what a single thread writes, so results come back in
//! chunk order. Scoped threads and one bounded channel per worker keep this
//! small: no pool, no dependency, and at most two finished chunks per worker
//! wait in memory, however long the slice.

use std::num::NonZero;
use std::sync::mpsc;
use std::thread;

/// The main thread's usual stack: work such as a deeply recursive template
/// must not fail on a worker where it would succeed on one thread.
const STACK_SIZE: usize = 8 << 20;

/// Calls `work(first_index, chunk)` on consecutive chunks of at most `chunk`
/// items, on up to one thread per core, and `sink` on each result in chunk
/// order while later chunks are being worked on. Stops at the first error
/// of `sink`. A single chunk, or a single core, runs on the calling thread.
pub fn for_each_ordered<T, R, E>(
    items: &[T],
    chunk: usize,
    work: impl Fn(usize, &[T]) -> R + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
{
    let chunk = chunk.max(1);
    let chunks = items.len().div_ceil(chunk);
    let cores = thread::available_parallelism().map_or(1, NonZero::get);
    let workers = cores.min(chunks);
    if workers <= 1 {
        for (index, part) in items.chunks(chunk).enumerate() {
            sink(work(index * chunk, part))?;
        }
        return Ok(());
    }
    thread::scope(|scope| {
        let work = &work;
        let receivers: Vec<mpsc::Receiver<R>> = (0..workers)
            .map(|worker| {
                // Worker w takes chunks w, w + workers, ...; the sink reads
                // them round-robin, which is chunk order.
                let (sender, receiver) = mpsc::sync_channel(1);
                let thread = thread::Builder::new().stack_size(STACK_SIZE);
                let spawned = thread.spawn_scoped(scope, move || {
                    let mine = items.chunks(chunk).enumerate().skip(worker);
                    for (index, part) in mine.step_by(workers) {
                        if sender.send(work(index * chunk, part)).is_err() {
                            break; // the sink failed and stopped reading
                        }
                    }
                });
                spawned.expect("cannot start a worker thread");
                receiver
            })
            .collect();
        for index in 0..chunks {
            // A closed channel means its worker panicked; the scope re-raises that.
            let Ok(result) = receivers[index % workers].recv() else {
                break;
            };
            sink(result)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(items: &[u32], chunk: usize) -> Vec<(usize, Vec<u32>)> {
        let mut seen = Vec::new();
        for_each_ordered(
            items,
            chunk,
            |first, part| (first, part.iter().map(|n| n * 2).collect()),
            |result| {
                seen.push(result);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        seen
    }

    #[test]
    fn results_come_back_in_order_with_their_first_index() {
        let items: Vec<u32> = (0..1000).collect();
        for chunk in [1, 3, 64, 999, 1000, 5000] {
            let seen = collect(&items, chunk);
            let firsts: Vec<usize> = seen.iter().map(|(first, _)| *first).collect();
            let expected: Vec<usize> = (0..items.len()).step_by(chunk).collect();
            assert_eq!(firsts, expected, "chunk {chunk}");
            let doubled: Vec<u32> = seen.into_iter().flat_map(|(_, part)| part).collect();
            assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        }
        assert!(collect(&[], 4).is_empty());
    }

    #[test]
    fn the_first_sink_error_stops_the_work() {
        let items: Vec<u32> = (0..10_000).collect();
        let mut calls = 0;
        let result = for_each_ordered(
            &items,
            10,
            |first, _| first,
            |first| {
                calls += 1;
                if first == 50 { Err(first) } else { Ok(()) }
            },
        );
        assert_eq!(result, Err(50));
        assert_eq!(calls, 6);
    }
}
