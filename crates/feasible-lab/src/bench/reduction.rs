//! The cost of the multi-device reduction on the Fashion-MNIST MLP: two
//! workers (threads on the `flex` CPU device), each with its own replica of
//! the MLP of [`mlp_step`](super::mlp_step) (784-300-100-10, AdamW), half of
//! every global batch of 256, and its own copy of the dual state, step as
//! `feasible-burn`'s `multi_device` example does:
//!
//! 1. forward on the shard and the constraint tensors;
//! 2. [`Constraints::measure`]: the shard's statistics read back;
//! 3. **statistics**: serialized with MessagePack (`rmp-serde`; what
//!    crosses processes or nodes; the example writes JSON, which took
//!    three times as long here with a per-sample constraint),
//!    all-gathered ([`HostCollective`]: a mutex among threads, each
//!    waiting one watching the round for up to 50 µs before it sleeps on
//!    a condition variable), deserialized and reduced
//!    ([`ConstraintStatistics::reduce`]), each timed apart;
//! 4. **dual step**: [`Constraints::lagrangian_reduced`] (the dual update
//!    from the reduced statistics, and the shard's objective);
//! 5. backward;
//! 6. the gradient all-reduce ([`HostGradients`], [`sum_gradients`]):
//!    what any data-parallel training does, with or without constraints;
//! 7. the AdamW step;
//! 8. **commit** of the dual update.
//!
//! The reduction is 3 + 4 + 8; its computation, 3 + 4 + 8 without the
//! all-gather, whose time here is the wake-up of a thread on a shared
//! machine, and elsewhere that of the collective at hand (NCCL, MPI). An
//! untimed barrier before steps 1, 3 and 6 keeps one worker's wait for the
//! other (the imbalance of two threads on a shared machine) out of every
//! phase; the step is the sum of the phases.
//!
//! The constraints: the class-0 rate of [`mlp_step`](super::mlp_step)
//! (one dense value), optionally with a per-sample one (every sample's
//! cross-entropy at most `-ln 0.6`, one multiplier per training image,
//! 60,000, as in the `feasible-learning` experiment): its ids and values
//! are part of the statistics.

use std::thread;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::distributed::{HostCollective, HostGradients, sum_gradients};
use feasible_burn::{ConstraintStatistics, ConstraintTensors, Constraints, Evaluation};
use serde::Serialize;

use super::intervals::{MachineLoad, RatioEstimate, Spread, ratio_of_medians};
use super::mlp_step::{BATCH, CONSTRAINT, DUAL_LR, GOAL, LAYERS, LR, TARGET};
use crate::data::classification::{Dataset, epoch_batches, features, labels};
use crate::data::sampling::{Draw, SplitMix64};
use crate::models::mlp::Mlp;

/// Workers.
pub const WORKERS: usize = 2;
/// The per-sample constraint's name.
pub const PER_SAMPLE: &str = "sample_loss";
/// Training images: entries of the per-sample constraint.
const IMAGES: usize = 60_000;
/// Distinct global batches cycled through.
const BATCHES: usize = 8;
/// Bootstrap resamples.
const RESAMPLES: usize = 2000;

/// The phases of a worker's step, in order.
pub const PHASES: [&str; 10] = [
    "forward",
    "measure",
    "serialize",
    "all-gather",
    "deserialize + reduce",
    "dual step",
    "backward",
    "gradient all-reduce",
    "optimizer",
    "commit",
];

/// The phases that make up the reduction (indices into [`PHASES`]).
const REDUCTION: [usize; 5] = [2, 3, 4, 5, 9];
/// The reduction's all-gather (an index into [`PHASES`]).
const ALL_GATHER: usize = 3;
/// Phase times of one step, seconds.
type Phases = [f64; PHASES.len()];

/// One shard: images, labels `[n, 1]`, and the images' ids.
struct Shard {
    x: Tensor<2>,
    y: Tensor<2, Int>,
    ids: Vec<usize>,
}

/// Every global batch's host data: ids, pixels, labels.
type HostBatch = (Vec<usize>, Vec<f32>, Vec<u8>);

fn host_batches(data: Option<&Dataset>) -> Vec<HostBatch> {
    let mut rng = SplitMix64::new(23);
    match data {
        Some(data) => epoch_batches(data.train_len(), Some(BATCH), &mut rng)
            .into_iter()
            .filter(|ids| ids.len() == BATCH)
            .take(BATCHES)
            .map(|ids| {
                let x = ids
                    .iter()
                    .flat_map(|i| data.train_x[i * data.dims..(i + 1) * data.dims].iter().copied())
                    .collect();
                let y = ids.iter().map(|i| data.train_y[*i]).collect();
                (ids, x, y)
            })
            .collect(),
        None => (0..BATCHES)
            .map(|_| {
                let ids = (0..BATCH).map(|_| rng.below(IMAGES)).collect();
                let x = (0..BATCH * LAYERS[0]).map(|_| rng.uniform_open() as f32).collect();
                (ids, x, (0..BATCH).map(|_| rng.below(10) as u8).collect())
            })
            .collect(),
    }
}

fn shards(host: &[HostBatch], rank: usize, device: &Device) -> Vec<Shard> {
    let size = BATCH / WORKERS;
    let (from, to) = (rank * size, (rank + 1) * size);
    host.iter()
        .map(|(ids, x, y)| Shard {
            x: features(&x[from * LAYERS[0]..to * LAYERS[0]], LAYERS[0], device),
            y: labels(&y[from..to], device),
            ids: ids[from..to].to_vec(),
        })
        .collect()
}

fn constraints(per_sample: bool) -> anyhow::Result<Constraints> {
    let mut builder = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least(CONSTRAINT, TARGET)
                .with_formulation(Formulation::lagrangian(GradientAscent::new(DUAL_LR))),
        )
        .scheme(UpdateScheme::Simultaneous);
    if per_sample {
        builder = builder.constraint(
            Constraint::at_most(PER_SAMPLE, -(0.6f64.ln()))
                .with_entries(IMAGES)
                .indexed()
                .with_formulation(Formulation::lagrangian(GradientAscent::new(0.01))),
        );
    }
    Ok(Constraints::new(builder.build()?))
}

fn evaluation(model: &Mlp, shard: &Shard, per_sample: bool) -> Evaluation {
    let n = shard.ids.len();
    let logits = model.forward(shard.x.clone());
    let log_probs = log_softmax(logits.clone(), 1);
    let losses = log_probs.clone().gather(1, shard.y.clone()).reshape([n]).neg();
    let surrogate = log_probs.narrow(1, 0, 1).exp().mean();
    let strict = logits.without_autodiff().argmax(1).equal_elem(0).float().mean();
    let evaluation =
        Evaluation::new(losses.clone().mean()).with(CONSTRAINT, ConstraintTensors::new(surrogate).with_strict(strict));
    if per_sample {
        evaluation.with(
            PER_SAMPLE,
            ConstraintTensors::new(losses).with_indices(shard.ids.clone()),
        )
    } else {
        evaluation
    }
}

/// The collectives the workers share.
#[derive(Clone)]
struct Collectives {
    barrier: HostCollective<()>,
    statistics: HostCollective<Vec<u8>>,
    gradients: HostCollective<HostGradients>,
}

/// One worker's `warmup + steps` steps; the phase times (seconds) of the
/// timed ones, the statistics' bytes per step, and the final multiplier.
fn worker(
    rank: usize,
    host: &[HostBatch],
    per_sample: bool,
    steps: usize,
    warmup: usize,
    collectives: Collectives,
) -> anyhow::Result<(Vec<Phases>, usize, f64)> {
    let device = Device::flex().autodiff();
    let shards = shards(host, rank, &device);
    let mut constraints = constraints(per_sample)?;
    let mut model = Mlp::new(&LAYERS, &device, 0);
    let mut optimizer = burn::optim::AdamWConfig::new()
        .with_weight_decay(1e-2)
        .with_epsilon(1e-8)
        .init();
    let samples = (BATCH / WORKERS) as f64;
    let mut times = Vec::with_capacity(steps);
    let mut bytes = 0;
    for t in 0..warmup + steps {
        let shard = &shards[t % shards.len()];
        let mut phase: Phases = [0.0; PHASES.len()];
        collectives.barrier.all_gather(rank, ())?;
        let mut clock = Instant::now();
        let mut lap = |k: usize, clock: &mut Instant| {
            phase[k] = clock.elapsed().as_secs_f64();
            *clock = Instant::now();
        };
        let evaluation = evaluation(&model, shard, per_sample);
        lap(0, &mut clock);
        let part = constraints.measure(evaluation, rank, samples)?;
        lap(1, &mut clock);
        collectives.barrier.all_gather(rank, ())?;
        clock = Instant::now();
        let wire = rmp_serde::to_vec(part.statistics())?;
        bytes = wire.len();
        lap(2, &mut clock);
        let gathered = collectives.statistics.all_gather(rank, wire)?;
        lap(3, &mut clock);
        let parts = gathered
            .iter()
            .map(|s| rmp_serde::from_slice::<ConstraintStatistics>(s))
            .collect::<Result<Vec<_>, _>>()?;
        let global = ConstraintStatistics::reduce(&parts)?;
        lap(4, &mut clock);
        let (objectives, pending) = constraints.lagrangian_reduced(vec![part], &global)?;
        lap(5, &mut clock);
        let local = match objectives.into_iter().next() {
            Some(objective) => GradientsParams::from_grads(objective.backward(), &model),
            None => GradientsParams::new(),
        };
        lap(6, &mut clock);
        let ready = HostGradients::new(&model, &local);
        collectives.barrier.all_gather(rank, ())?;
        clock = Instant::now();
        let all = collectives.gradients.all_gather(rank, ready)?;
        let summed = sum_gradients(&model, &local, &all)?;
        lap(7, &mut clock);
        model = optimizer.step(LR, model, summed);
        lap(8, &mut clock);
        pending.commit()?;
        lap(9, &mut clock);
        if t >= warmup {
            times.push(phase);
        }
    }
    let multiplier = constraints
        .multipliers(CONSTRAINT)?
        .and_then(|m| m.first().copied())
        .unwrap_or(f64::NAN);
    Ok((times, bytes, multiplier))
}

/// One phase's times.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseTiming {
    /// The phase.
    pub phase: &'static str,
    /// Median and quartiles over every worker's steps.
    pub spread: Spread,
}

/// The result of one configuration (one JSON object).
#[derive(Clone, Debug, Serialize)]
pub struct ReductionReport {
    /// Always `reduction`.
    pub bench: &'static str,
    /// `fashion_mnist` or `synthetic`.
    pub data: &'static str,
    /// The constraints: `class0_rate`, and `sample_loss` when per-sample.
    pub constraints: Vec<&'static str>,
    /// Workers.
    pub workers: usize,
    /// Samples per worker and step.
    pub shard: usize,
    /// Untimed steps first.
    pub warmup: usize,
    /// Timed steps (per worker).
    pub steps: usize,
    /// Bytes of one worker's statistics in MessagePack.
    pub statistics_bytes: usize,
    /// Per phase, over every worker's timed steps.
    pub phases: Vec<PhaseTiming>,
    /// The whole step (sum of the phases).
    pub step: Spread,
    /// The reduction (statistics + dual step + commit).
    pub reduction: Spread,
    /// The reduction without the all-gather (its computation).
    pub reduction_compute: Spread,
    /// `median(reduction) / median(step)`, and its 95% bootstrap interval
    /// (resampling steps), as fractions of a step.
    pub fraction_of_step: RatioEstimate,
    /// The same for the reduction's computation (without the all-gather).
    pub compute_fraction_of_step: RatioEstimate,
    /// Whether the whole interval of `fraction_of_step` lies under 1%.
    pub goal_met: bool,
    /// Whether the whole interval of `compute_fraction_of_step` lies under 1%.
    pub compute_goal_met: bool,
    /// Whether every worker ended with the same multiplier, bit for bit.
    pub multipliers_identical: bool,
    /// Processors and load before the run.
    pub load_before: MachineLoad,
    /// Processors and load after the run.
    pub load_after: MachineLoad,
}

/// Runs `warmup` untimed and `steps` timed steps on [`WORKERS`] workers.
pub fn run(data: Option<&Dataset>, per_sample: bool, steps: usize, warmup: usize) -> anyhow::Result<ReductionReport> {
    let host = host_batches(data);
    let collectives = Collectives {
        barrier: HostCollective::new(WORKERS),
        statistics: HostCollective::new(WORKERS),
        gradients: HostCollective::new(WORKERS),
    };
    let load_before = MachineLoad::now();
    let results = thread::scope(|scope| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|rank| {
                let (host, collectives) = (&host, collectives.clone());
                scope.spawn(move || worker(rank, host, per_sample, steps, warmup, collectives))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a worker panicked"))?)
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let load_after = MachineLoad::now();
    let all: Vec<Phases> = results.iter().flat_map(|(t, _, _)| t.iter().copied()).collect();
    let phases = PHASES
        .iter()
        .enumerate()
        .map(|(k, phase)| PhaseTiming {
            phase,
            spread: Spread::of_seconds(&all.iter().map(|p| p[k]).collect::<Vec<_>>()),
        })
        .collect();
    let step: Vec<f64> = all.iter().map(|p| p.iter().sum()).collect();
    let reduction: Vec<f64> = all.iter().map(|p| REDUCTION.iter().map(|k| p[*k]).sum()).collect();
    let compute: Vec<f64> = all.iter().zip(&reduction).map(|(p, r)| r - p[ALL_GATHER]).collect();
    let fraction = fraction_of(&reduction, &step, 77);
    let compute_fraction = fraction_of(&compute, &step, 78);
    let multipliers: Vec<u64> = results.iter().map(|(_, _, m)| m.to_bits()).collect();
    Ok(ReductionReport {
        bench: "reduction",
        data: if data.is_some() { "fashion_mnist" } else { "synthetic" },
        constraints: if per_sample {
            vec![CONSTRAINT, PER_SAMPLE]
        } else {
            vec![CONSTRAINT]
        },
        workers: WORKERS,
        shard: BATCH / WORKERS,
        warmup,
        steps,
        statistics_bytes: results.iter().map(|(_, b, _)| *b).max().unwrap_or(0),
        phases,
        step: Spread::of_seconds(&step),
        reduction: Spread::of_seconds(&reduction),
        reduction_compute: Spread::of_seconds(&compute),
        goal_met: fraction.ci95_high < GOAL,
        compute_goal_met: compute_fraction.ci95_high < GOAL,
        fraction_of_step: fraction,
        compute_fraction_of_step: compute_fraction,
        multipliers_identical: multipliers.windows(2).all(|w| w[0] == w[1]),
        load_before,
        load_after,
    })
}

/// `median(part) / median(whole)` with its interval, as fractions.
fn fraction_of(part: &[f64], whole: &[f64], seed: u64) -> RatioEstimate {
    let mut fraction = ratio_of_medians(part, whole, RESAMPLES, seed);
    for x in [
        &mut fraction.ratio_of_medians,
        &mut fraction.ci95_low,
        &mut fraction.ci95_high,
        &mut fraction.median_paired_ratio,
    ] {
        *x += 1.0;
    }
    fraction
}

/// Renders one configuration.
pub fn render(report: &ReductionReport) -> String {
    use crate::table::Table;
    let mut table = Table::new(
        format!(
            "Multi-device reduction: {} workers x {} samples, MLP {} on {}, constraints {}; {} steps per worker after {} warm-up",
            report.workers,
            report.shard,
            LAYERS.map(|l| l.to_string()).join("-"),
            report.data,
            report.constraints.join(" + "),
            report.steps,
            report.warmup
        ),
        &["phase", "median us", "q1 us", "q3 us"],
    );
    let mut row = |name: String, s: &Spread| {
        table.row(vec![
            name,
            format!("{:.1}", s.median_us),
            format!("{:.1}", s.q1_us),
            format!("{:.1}", s.q3_us),
        ]);
    };
    for p in &report.phases {
        let reduction = REDUCTION.iter().any(|k| PHASES[*k] == p.phase);
        row(format!("{}{}", p.phase, if reduction { " *" } else { "" }), &p.spread);
    }
    row("step (sum)".to_string(), &report.step);
    row("reduction (*)".to_string(), &report.reduction);
    row("reduction without all-gather".to_string(), &report.reduction_compute);
    let line = |label: &str, f: &RatioEstimate, met: bool| {
        format!(
            "  {label}: {:.3}% of a step, 95% interval [{:.3}%, {:.3}%] (median per step {:.3}%); goal < 1%: {}\n",
            100.0 * f.ratio_of_medians,
            100.0 * f.ci95_low,
            100.0 * f.ci95_high,
            100.0 * f.median_paired_ratio,
            if met { "met" } else { "not shown" },
        )
    };
    format!(
        "{table}{}{}\
         \x20 statistics: {} bytes of MessagePack per worker and step; multipliers identical on every worker: {}\n\
         \x20 before: {}\n  after:  {}\n",
        line("reduction / step", &report.fraction_of_step, report.goal_met),
        line(
            "reduction without all-gather / step",
            &report.compute_fraction_of_step,
            report.compute_goal_met
        ),
        report.statistics_bytes,
        report.multipliers_identical,
        report.load_before.describe(),
        report.load_after.describe(),
    )
}
