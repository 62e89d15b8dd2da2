//! Running a training on the thread pool that burn's CPU backend computes
//! its matrix products on, so that one training uses every core.
//!
//! burn-flex (with `flex-rayon`) hands each large matrix product to
//! rayon's global pool, which splits it between the pool's workers. Two
//! things decide whether a second core then helps one training:
//!
//! - **where the training runs.** On a thread of its own, it waits while
//!   the workers compute each product and then runs its element-wise
//!   operations beside them while they spin before sleeping. On a worker
//!   of the pool it computes its share of each product itself.
//! - **whether the other workers are awake.** A worker asleep since the
//!   last product is woken for the next one (a futex; on a virtual machine,
//!   an interrupt to a halted virtual CPU) and may arrive after the
//!   training's thread has done its own half and taken the other one too.
//!   With [`IdleWorkers::Spin`] the other workers look for work without
//!   sleeping while the training hands them some, as OpenMP's threads do
//!   for PyTorch.
//!
//! On a two-core virtual machine with AVX-512, both together made a
//! Feasible Learning epoch on two threads 0.44–0.51 s instead of
//! 0.70–0.75 s (BENCHMARKS.md §8, "December 2, evening", runs C–E against
//! A and B).
//!
//! ```
//! use feasible_burn::compute_pool::{IdleWorkers, on_compute_pool};
//!
//! let on_a_worker = on_compute_pool(IdleWorkers::Spin, || {
//!     // The training loop: forward, backward, optimizer steps...
//!     rayon::current_thread_index().is_some()
//! });
//! // On a worker whenever the pool has a second thread to keep awake.
//! assert_eq!(on_a_worker, rayon::current_num_threads() >= 2);
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What the pool's other workers do while [`on_compute_pool`]'s work runs
/// and has nothing for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdleWorkers {
    /// They keep looking for the work's tasks: spinning for
    /// [`SPIN_AFTER_WORK`] after the last task they ran, then looking
    /// after waits from [`COOL_POLL`] to [`COOL_POLL_MAX`] (before the
    /// first task too, so work that never uses the pool costs only those
    /// looks). A core each, while the training hands them work.
    #[default]
    Spin,
    /// They sleep as rayon's workers do, until rayon wakes them.
    Sleep,
}

/// How long a spinning worker spins without finding work before it waits.
pub const SPIN_AFTER_WORK: Duration = Duration::from_millis(20);
/// A waiting worker's first wait between two looks for work; each empty
/// look doubles it, up to [`COOL_POLL_MAX`].
pub const COOL_POLL: Duration = Duration::from_millis(1);
/// A waiting worker's longest wait between two looks for work.
pub const COOL_POLL_MAX: Duration = Duration::from_millis(16);

/// Runs `work` on a worker of rayon's global pool (the pool burn-flex
/// computes its products on; `RAYON_NUM_THREADS` threads, else one per
/// core), with the other workers doing what `idle` says while it runs.
/// With one thread in the pool, `work` runs on the calling thread (a lone
/// worker busy with `work` could not serve the products of threads that
/// `work` starts and waits for). The other workers stop spinning when
/// `work` returns or panics (the panic then goes on to the caller).
pub fn on_compute_pool<R: Send>(idle: IdleWorkers, work: impl FnOnce() -> R + Send) -> R {
    if rayon::current_num_threads() < 2 {
        return work();
    }
    let stop = AtomicBool::new(false);
    rayon::scope(|scope| {
        let _stop = StopOnDrop(&stop);
        if idle == IdleWorkers::Spin {
            let here = rayon::current_thread_index();
            let stop = &stop;
            scope.spawn_broadcast(move |_, context| {
                if Some(context.index()) != here {
                    keep_looking(stop);
                }
            });
        }
        work()
    })
}

/// Sets its flag when dropped: the spinning workers stop when the work
/// ends, even by a panic (the scope waits for them).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Runs the pool's work as soon as it appears (`rayon::yield_now`: the
/// worker's own queue, stealing, the injected jobs) until `stop`, as
/// [`IdleWorkers::Spin`] says.
fn keep_looking(stop: &AtomicBool) {
    let mut last_work: Option<Instant> = None;
    let mut poll = COOL_POLL;
    while !stop.load(Ordering::Acquire) {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => {
                last_work = Some(Instant::now());
                poll = COOL_POLL;
            }
            // Not a worker of a pool: nothing to keep awake.
            None => return,
            Some(rayon::Yield::Idle) if last_work.is_some_and(|t| t.elapsed() < SPIN_AFTER_WORK) => {
                std::hint::spin_loop()
            }
            Some(rayon::Yield::Idle) => {
                std::thread::sleep(poll);
                poll = (poll * 2).min(COOL_POLL_MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_runs_on_a_worker_when_the_pool_has_two_threads() {
        for idle in [IdleWorkers::Spin, IdleWorkers::Sleep] {
            let (on_worker, threads) = on_compute_pool(idle, || {
                (rayon::current_thread_index().is_some(), rayon::current_num_threads())
            });
            assert_eq!(on_worker, threads >= 2, "{threads} threads in the pool");
        }
    }

    #[test]
    fn the_spinning_workers_end_with_the_work_even_when_it_panics() {
        // A worker still spinning after the work would keep the scope, and
        // this call, from returning.
        let caught = std::panic::catch_unwind(|| on_compute_pool(IdleWorkers::Spin, || panic!("the work failed")));
        assert!(caught.is_err());
        // The pool still runs work afterwards, nested calls included.
        let sums = on_compute_pool(IdleWorkers::Spin, || {
            rayon::join(
                || on_compute_pool(IdleWorkers::Spin, || 1 + 1),
                || (0..100u64).sum::<u64>(),
            )
        });
        assert_eq!(sums, (2, 4950));
    }
}
