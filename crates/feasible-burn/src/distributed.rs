//! Several workers (devices, threads, processes, nodes) with one set of
//! multipliers.
//!
//! Every worker keeps a copy of the same dual state. Each step:
//!
//! 1. each worker evaluates its shard of the global batch and reads its
//!    [`ConstraintStatistics`] back ([`Constraints::measure`](crate::Constraints::measure),
//!    with its rank and its shard's sample count);
//! 2. the statistics are all-gathered (a few numbers per constraint, plus
//!    ids and values of the per-sample constraints: no sparse gradients)
//!    and every worker reduces them the same way
//!    ([`ConstraintStatistics::reduce`] sums in rank order);
//! 3. every worker begins the same dual step from the reduced statistics
//!    ([`Constraints::lagrangian_reduced`](crate::Constraints::lagrangian_reduced))
//!    and gets its shard's share of the global objective;
//! 4. the gradients are summed across workers (burn's multi-device and DDP
//!    strategies do this; here [`HostGradients`] and [`sum_gradients`] on
//!    the host), every worker
//!    takes the same primal step, and commits: the same deterministic
//!    update from the same numbers leaves every copy of the multipliers
//!    identical, bit for bit.
//!
//! [`HostCollective`] is the all-gather among the threads of one process
//! (the `flex` CPU backend has a single device and no collectives: two
//! "devices" are two threads on it). Across processes or nodes, serialize
//! the statistics (they are serde types) and all-gather them with the
//! collective at hand (NCCL through burn's `DistributedContext`, MPI, a
//! socket): the rest is the same.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

#[cfg(doc)]
use crate::statistics::ConstraintStatistics;

/// An all-gather among `workers` threads: each gives its value and gets
/// every worker's, in rank order. Clone it into every worker. A worker
/// that arrives before the last watches the round for up to 50 µs, then
/// sleeps until it completes.
pub struct HostCollective<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for HostCollective<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> std::fmt::Debug for HostCollective<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCollective")
            .field("workers", &self.shared.workers)
            .finish_non_exhaustive()
    }
}

struct Shared<T> {
    workers: usize,
    round: Mutex<Round<T>>,
    done: Condvar,
    /// [`Round::generation`], readable without the lock: a waiting worker
    /// watches it for a short while before it sleeps on `done`.
    completed: AtomicU64,
}

/// How long a worker that is not the last to arrive watches for the round
/// to complete before it sleeps on the condition variable. Waking a
/// sleeping thread took tens of microseconds on a shared 2-core machine
/// (`feasible bench reduction`), as long as the rest of the reduction; the
/// other workers usually arrive within a few microseconds.
const SPIN: Duration = Duration::from_micros(50);

struct Round<T> {
    /// Completed rounds.
    generation: u64,
    slots: Vec<Option<T>>,
    arrived: usize,
    /// The last completed round's values.
    result: Option<Arc<Vec<T>>>,
}

impl<T> HostCollective<T> {
    /// A collective for `workers` threads (ranks `0..workers`).
    pub fn new(workers: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                workers,
                round: Mutex::new(Round {
                    generation: 0,
                    slots: (0..workers).map(|_| None).collect(),
                    arrived: 0,
                    result: None,
                }),
                done: Condvar::new(),
                completed: AtomicU64::new(0),
            }),
        }
    }

    /// The number of workers.
    pub fn workers(&self) -> usize {
        self.shared.workers
    }

    /// Gives `value` as worker `rank`'s and waits for every worker's, in
    /// rank order. Every worker must call it once per round. Refused
    /// ([`Error::Collective`](crate::Error::Collective)), without waiting
    /// and without changing the round: a rank not below the number of
    /// workers, a rank that already gave in this round.
    pub fn all_gather(&self, rank: usize, value: T) -> crate::Result<Arc<Vec<T>>> {
        let shared = &*self.shared;
        let mut round = shared.round.lock().unwrap_or_else(PoisonError::into_inner);
        let refused = |reason: String| Err(crate::Error::Collective { reason });
        match round.slots.get(rank) {
            None => return refused(format!("rank {rank} of {} workers", shared.workers)),
            Some(Some(_)) => return refused(format!("rank {rank} gave twice in one round")),
            Some(None) => {}
        }
        round.slots[rank] = Some(value);
        round.arrived += 1;
        if round.arrived == shared.workers {
            let values: Vec<T> = round.slots.iter_mut().filter_map(Option::take).collect();
            let values = Arc::new(values);
            round.result = Some(Arc::clone(&values));
            round.arrived = 0;
            round.generation += 1;
            shared.completed.store(round.generation, Ordering::Release);
            shared.done.notify_all();
            return Ok(values);
        }
        // The result is replaced only when the next round completes, which
        // needs this worker too: it is still this round's when we wake.
        let generation = round.generation;
        drop(round);
        let watching = Instant::now();
        while shared.completed.load(Ordering::Acquire) == generation && watching.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        let mut round = shared.round.lock().unwrap_or_else(PoisonError::into_inner);
        while round.generation == generation {
            round = shared.done.wait(round).unwrap_or_else(PoisonError::into_inner);
        }
        round.result.clone().ok_or_else(|| crate::Error::Collective {
            reason: "a completed round has no result".to_string(),
        })
    }
}

/// A worker's gradients on the host (one entry per parameter of the
/// model, in the model's order): what crosses threads, processes or nodes
/// in an all-reduce of the gradients.
#[derive(Clone, Debug)]
pub struct HostGradients {
    grads: Vec<Option<TensorData>>,
}

impl HostGradients {
    /// Reads `grads`, the gradients of `model`'s parameters, back to the host.
    pub fn new<M: Module>(model: &M, grads: &GradientsParams) -> Self {
        struct Reader<'a> {
            grads: &'a GradientsParams,
            data: Vec<Option<TensorData>>,
        }
        impl ModuleVisitor for Reader<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.data.push(self.grads.get::<D>(param.id).map(Tensor::into_data));
            }
        }
        let mut reader = Reader {
            grads,
            data: Vec::new(),
        };
        model.visit(&mut reader);
        Self { grads: reader.data }
    }
}

/// The sum of every worker's gradients (`all`, in rank order, this worker's
/// among them), as gradients of this worker's `model` on the device of its
/// own gradients `local`. Every worker adds the same numbers in the same
/// order, so every replica takes the same primal step, bit for bit. A
/// parameter without a gradient anywhere has none. Gradients that do not
/// fit `model` (another number of parameters, a gradient of another shape)
/// are refused ([`Error::Collective`](crate::Error::Collective)).
pub fn sum_gradients<M: Module>(
    model: &M,
    local: &GradientsParams,
    all: &[HostGradients],
) -> crate::Result<GradientsParams> {
    struct Summer<'a> {
        local: &'a GradientsParams,
        all: &'a [HostGradients],
        index: usize,
        sum: GradientsParams,
        misfit: Option<String>,
    }
    impl ModuleVisitor for Summer<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let index = self.index;
            self.index += 1;
            let shape = param.shape();
            let parts: Vec<TensorData> = self
                .all
                .iter()
                .filter_map(|part| part.grads.get(index).cloned().flatten())
                .collect();
            if let Some(bad) = parts.iter().find(|data| *data.shape() != shape) {
                self.misfit.get_or_insert_with(|| {
                    format!(
                        "parameter {index} has shape {:?}, a gradient shape {:?}",
                        shape.dims::<D>(),
                        bad.shape()
                    )
                });
                return;
            }
            let device = match self.local.get::<D>(param.id) {
                Some(grad) => grad.device(),
                None => param.val().without_autodiff().device(),
            };
            let sum = parts
                .into_iter()
                .map(|data| Tensor::<D>::from_data(data, &device))
                .reduce(|a, b| a + b);
            if let Some(sum) = sum {
                self.sum.register::<D>(param.id, sum);
            }
        }
    }
    let mut summer = Summer {
        local,
        all,
        index: 0,
        sum: GradientsParams::new(),
        misfit: None,
    };
    model.visit(&mut summer);
    if let Some(part) = all.iter().find(|part| part.grads.len() != summer.index) {
        summer.misfit.get_or_insert_with(|| {
            format!(
                "the model has {} parameters, a worker's gradients {}",
                summer.index,
                part.grads.len()
            )
        });
    }
    match summer.misfit {
        Some(reason) => Err(crate::Error::Collective { reason }),
        None => Ok(summer.sum),
    }
}
