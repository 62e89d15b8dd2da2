//! Benchmarks: the cost of constrained training against the same training
//! written by hand, and whether the cost of a step stays flat.
//!
//! All loops train the rate experiment's model on its data (400 points,
//! full batch, gradient descent step 2e-2) with the same tensor operations;
//! they differ only in what surrounds them:
//!
//! - `loss only`: the loss, no constraint term;
//! - `hand penalty`: `loss - c proxy` (the gradient of `loss + c (0.7 - proxy)`
//!   in the fewest operations), nothing read back;
//! - `hand lagrangian`: the same with `c = λ`, the true rate read back and
//!   `λ` updated by hand in an `f64` (what a user writes without a library);
//! - `feasible penalty` and `feasible lagrangian`: the same two through
//!   [`feasible_burn::ConstrainedTrainer`], which also
//!   reads the loss and the surrogate back, validates them and builds a
//!   [`StepReport`](feasible::StepReport) every step;
//! - two controls that keep the multiplier on the autodiff device, the way a
//!   port of Cooper would: `carried tensor` (a tensor that requires grad, its
//!   gradient from backward, its update detached and carried from step to
//!   step) and `fresh leaf` (an `f64` turned into a new tensor that requires
//!   grad every step). `shared/reference/burn-notes.md` reports that a value
//!   carried through `detach()` makes every step slower than the last; the
//!   `flat` benchmark runs these controls so that such growth, in any loop,
//!   shows up as a last-window / first-window ratio above 1.
//!
//! Repetitions are interleaved (each round runs every loop once) and the
//! median is reported, so a slow moment of the machine hits all loops alike.
//!
//! On the Fashion-MNIST MLP, [`mlp_step`] times one step with a constraint
//! through the user loop and through burn-train's Learner against the same
//! step without, and [`reduction`] times the multi-device reduction of two
//! workers against their step; [`intervals`] summarizes the step times.

pub mod fl_epoch;
pub mod intervals;
pub mod mlp_step;
pub mod reduction;
pub mod scaling;

use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use feasible_burn::ConstrainedTrainer;
use serde::Serialize;

use crate::experiments::rate::{self, CONSTRAINT, LinearClassifier, Method, RateConfig, RateData};

const TARGET: f64 = 0.7;
const PRIMAL_LR: f64 = 2e-2;
const DUAL_LR: f64 = 1e-2;
const PENALTY: f64 = 2.15;

/// The training loops compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Loop {
    /// The loss alone.
    LossOnly,
    /// A hand-written fixed penalty.
    HandPenalty,
    /// A hand-written Lagrangian (multiplier in an `f64`).
    HandLagrangian,
    /// A fixed penalty through feasible-burn.
    FeasiblePenalty,
    /// The Lagrangian through feasible-burn.
    FeasibleLagrangian,
    /// Control: the multiplier carried as an autodiff tensor.
    CarriedTensor,
    /// Control: the multiplier made a fresh autodiff leaf every step.
    FreshLeaf,
}

impl std::str::FromStr for Loop {
    type Err = anyhow::Error;

    /// Parses a loop's name, with `-`, `_` or spaces between words.
    fn from_str(name: &str) -> anyhow::Result<Self> {
        let wanted = name.replace(['-', '_'], " ");
        [Loop::CarriedTensor, Loop::FreshLeaf]
            .into_iter()
            .chain(Loop::OVERHEAD)
            .find(|l| l.name() == wanted)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown loop `{name}`; known: loss-only, hand-penalty, hand-lagrangian, \
                     feasible-penalty, feasible-lagrangian, carried-tensor, fresh-leaf"
                )
            })
    }
}

impl Loop {
    /// The loops of the overhead benchmark, in the order they run.
    pub const OVERHEAD: [Loop; 5] = [
        Loop::LossOnly,
        Loop::HandPenalty,
        Loop::HandLagrangian,
        Loop::FeasiblePenalty,
        Loop::FeasibleLagrangian,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Loop::LossOnly => "loss only",
            Loop::HandPenalty => "hand penalty",
            Loop::HandLagrangian => "hand lagrangian",
            Loop::FeasiblePenalty => "feasible penalty",
            Loop::FeasibleLagrangian => "feasible lagrangian",
            Loop::CarriedTensor => "carried tensor",
            Loop::FreshLeaf => "fresh leaf",
        }
    }
}

fn objective_parts(model: &LinearClassifier, data: &RateData) -> (Tensor<1>, Tensor<1>, Tensor<2>) {
    rate::forward(model, data)
}

fn primal_step(model: LinearClassifier, optimizer: &mut ModuleOptimizer, objective: Tensor<1>) -> LinearClassifier {
    let grads = GradientsParams::from_grads(objective.backward(), &model);
    optimizer.step(PRIMAL_LR, model, grads)
}

fn true_rate(logits: Tensor<2>) -> anyhow::Result<f64> {
    let rate = logits.without_autodiff().lower_elem(0.0).float().mean();
    let values = rate
        .try_into_vec_as::<f64>()
        .map_err(|e| anyhow::anyhow!("reading the rate back failed: {e:?}"))?;
    values.first().copied().ok_or_else(|| anyhow::anyhow!("empty rate"))
}

/// Runs `steps` steps of `kind`, calling `lap(step)` after every step;
/// returns the final model.
pub fn train(
    kind: Loop,
    data: &RateData,
    steps: usize,
    mut lap: impl FnMut(usize),
) -> anyhow::Result<LinearClassifier> {
    let device = data.x.device();
    let mut model = LinearClassifier::zeros(&device);
    // Plain gradient descent, as the rate experiment (no momentum, no weight
    // decay).
    let mut optimizer = SgdConfig::new().with_momentum(None).with_weight_decay(None).init();
    match kind {
        Loop::LossOnly => {
            for t in 0..steps {
                let (loss, _, _) = objective_parts(&model, data);
                model = primal_step(model, &mut optimizer, loss);
                lap(t);
            }
        }
        Loop::HandPenalty => {
            for t in 0..steps {
                let (loss, proxy, _) = objective_parts(&model, data);
                // `c (0.7 - proxy)` has the gradient of `-c proxy`: the
                // cheapest form, so the comparison isolates feasible's cost.
                let objective = loss + proxy.mul_scalar(-PENALTY);
                model = primal_step(model, &mut optimizer, objective);
                lap(t);
            }
        }
        Loop::HandLagrangian => {
            let mut multiplier = 0.0f64;
            for t in 0..steps {
                let (loss, proxy, logits) = objective_parts(&model, data);
                // Alternating dual->primal, as the experiment.
                multiplier = (multiplier + DUAL_LR * (TARGET - true_rate(logits)?)).max(0.0);
                let objective = loss + proxy.mul_scalar(-multiplier);
                model = primal_step(model, &mut optimizer, objective);
                lap(t);
            }
        }
        Loop::FeasiblePenalty | Loop::FeasibleLagrangian => {
            let (method, coef) = if kind == Loop::FeasiblePenalty {
                (Method::Penalty, PENALTY)
            } else {
                (Method::Lagrangian, DUAL_LR)
            };
            let dual = rate::dual(method, coef, TARGET, RateConfig::default().scheme)?;
            let mut trainer = ConstrainedTrainer::new(dual, optimizer, PRIMAL_LR)?;
            let id = trainer.id(CONSTRAINT)?;
            for t in 0..steps {
                let evaluation = rate::evaluate(&model, data, id);
                model = trainer.step(model, evaluation)?.0;
                lap(t);
            }
        }
        Loop::CarriedTensor => {
            // Cooper's pattern written in burn: the multiplier is a tensor
            // that requires grad on the autodiff device, its gradient comes
            // from backward, and its update is detached and carried on.
            let mut multiplier = Tensor::<1>::from_data(TensorData::new(vec![0.0f32], [1]), &device).require_grad();
            for t in 0..steps {
                let (loss, proxy, _) = objective_parts(&model, data);
                let objective = loss + proxy.neg().add_scalar(TARGET) * multiplier.clone();
                let mut gradients = objective.backward();
                let dual_gradient = multiplier
                    .grad(&gradients)
                    .ok_or_else(|| anyhow::anyhow!("the multiplier has no gradient"))?;
                let model_gradients = GradientsParams::from_module(&mut gradients, &model);
                model = optimizer.step(PRIMAL_LR, model, model_gradients);
                multiplier = (multiplier + dual_gradient.mul_scalar(DUAL_LR))
                    .clamp_min(0.0)
                    .detach()
                    .require_grad();
                lap(t);
            }
        }
        Loop::FreshLeaf => {
            // The multiplier lives on the host, but is turned into a fresh
            // tensor that requires grad on the autodiff device every step.
            let mut multiplier = 0.0f64;
            for t in 0..steps {
                let (loss, proxy, _) = objective_parts(&model, data);
                let leaf =
                    Tensor::<1>::from_data(TensorData::new(vec![multiplier as f32], [1]), &device).require_grad();
                let objective = loss + proxy.neg().add_scalar(TARGET) * leaf.clone();
                let mut gradients = objective.backward();
                let dual_gradient: f64 = leaf
                    .grad(&gradients)
                    .ok_or_else(|| anyhow::anyhow!("the multiplier has no gradient"))?
                    .into_scalar::<f64>();
                let model_gradients = GradientsParams::from_module(&mut gradients, &model);
                model = optimizer.step(PRIMAL_LR, model, model_gradients);
                multiplier = (multiplier + DUAL_LR * dual_gradient).max(0.0);
                lap(t);
            }
        }
    }
    Ok(model)
}

/// One loop's timings.
#[derive(Clone, Debug, Serialize)]
pub struct LoopTiming {
    /// Always `overhead`.
    pub bench: &'static str,
    /// The loop.
    pub kind: Loop,
    /// Steps per run.
    pub steps: usize,
    /// Wall time of each run, seconds.
    pub runs: Vec<f64>,
    /// Median run, seconds.
    pub median_seconds: f64,
    /// Fastest run, seconds.
    pub min_seconds: f64,
    /// Median microseconds per step.
    pub median_us_per_step: f64,
}

/// Median of a non-empty slice.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// One run of `kind` over `steps` steps on `device` (for instruction
/// counting with callgrind: the difference between two step counts is the
/// per-step cost).
pub fn single(device: &Device, kind: Loop, steps: usize) -> anyhow::Result<f64> {
    let points = rate::points(&RateConfig::default());
    let data = RateData::new(&points, &device.clone().autodiff());
    let start = Instant::now();
    train(kind, &data, steps, |_| {})?;
    Ok(start.elapsed().as_secs_f64())
}

/// Times every loop of [`Loop::OVERHEAD`] `repeats` times on `device`,
/// interleaved.
pub fn overhead(
    device: &Device,
    steps: usize,
    repeats: usize,
    mut progress: impl FnMut(),
) -> anyhow::Result<Vec<LoopTiming>> {
    let points = rate::points(&RateConfig::default());
    let data = RateData::new(&points, &device.clone().autodiff());
    let mut runs = vec![Vec::new(); Loop::OVERHEAD.len()];
    // One untimed warm-up run of each loop.
    for kind in Loop::OVERHEAD {
        train(kind, &data, steps.min(1000), |_| {})?;
    }
    for _ in 0..repeats {
        for (i, kind) in Loop::OVERHEAD.into_iter().enumerate() {
            let start = Instant::now();
            train(kind, &data, steps, |_| {})?;
            runs[i].push(start.elapsed().as_secs_f64());
            progress();
        }
    }
    Ok(Loop::OVERHEAD
        .into_iter()
        .zip(runs)
        .map(|(kind, runs)| {
            let median_seconds = median(&runs);
            LoopTiming {
                bench: "overhead",
                kind,
                steps,
                min_seconds: runs.iter().copied().fold(f64::INFINITY, f64::min),
                median_us_per_step: 1e6 * median_seconds / steps as f64,
                median_seconds,
                runs,
            }
        })
        .collect())
}

/// Per-window timings of one long run.
#[derive(Clone, Debug, Serialize)]
pub struct FlatTiming {
    /// Always `flat`.
    pub bench: &'static str,
    /// The loop.
    pub kind: Loop,
    /// Steps in all.
    pub steps: usize,
    /// Steps per window.
    pub window: usize,
    /// Microseconds per step in each window.
    pub us_per_step: Vec<f64>,
    /// Last window over first window.
    pub last_over_first: f64,
}

/// Runs `steps` steps of `kind` on `device`, timing windows of `window`
/// steps.
pub fn flat(
    device: &Device,
    kind: Loop,
    steps: usize,
    window: usize,
    mut progress: impl FnMut(),
) -> anyhow::Result<FlatTiming> {
    let points = rate::points(&RateConfig::default());
    let data = RateData::new(&points, &device.clone().autodiff());
    let window = window.max(1);
    let mut us_per_step = Vec::new();
    let mut start = Instant::now();
    train(kind, &data, steps, |t| {
        if (t + 1) % window == 0 {
            us_per_step.push(1e6 * start.elapsed().as_secs_f64() / window as f64);
            start = Instant::now();
            progress();
        }
    })?;
    let last_over_first = match (us_per_step.first(), us_per_step.last()) {
        (Some(first), Some(last)) => last / first,
        _ => f64::NAN,
    };
    Ok(FlatTiming {
        bench: "flat",
        kind,
        steps,
        window,
        us_per_step,
        last_over_first,
    })
}

/// Renders the overhead timings with the ratios that matter.
pub fn render_overhead(timings: &[LoopTiming]) -> String {
    use crate::table::Table;
    let find = |kind| timings.iter().find(|t| t.kind == kind).map(|t| t.median_seconds);
    let mut table = Table::new(
        format!(
            "Overhead: rate task, {} steps per run, median of {} interleaved runs",
            timings.first().map(|t| t.steps).unwrap_or(0),
            timings.first().map(|t| t.runs.len()).unwrap_or(0)
        ),
        &["loop", "median s", "min s", "us/step"],
    );
    for t in timings {
        table.row(vec![
            t.kind.name().to_string(),
            format!("{:.4}", t.median_seconds),
            format!("{:.4}", t.min_seconds),
            format!("{:.2}", t.median_us_per_step),
        ]);
    }
    let mut out = table.to_string();
    let ratio = |a: Loop, b: Loop| match (find(a), find(b)) {
        (Some(a), Some(b)) => format!("{:+.1}%", 100.0 * (a / b - 1.0)),
        _ => "-".to_string(),
    };
    out.push_str(&format!(
        "  feasible lagrangian vs hand lagrangian (the library's own cost): {}\n\
         \x20 feasible penalty vs hand penalty: {}\n\
         \x20 feasible lagrangian vs hand penalty (constrained vs penalized, paper Table 2): {}\n",
        ratio(Loop::FeasibleLagrangian, Loop::HandLagrangian),
        ratio(Loop::FeasiblePenalty, Loop::HandPenalty),
        ratio(Loop::FeasibleLagrangian, Loop::HandPenalty),
    ));
    out
}

/// Renders a flat-cost run.
pub fn render_flat(timing: &FlatTiming) -> String {
    let windows: Vec<String> = timing.us_per_step.iter().map(|u| format!("{u:.1}")).collect();
    format!(
        "Step cost over {} steps of `{}`, us/step per window of {}:\n  {}\n  last window / first window: {:.2}\n",
        timing.steps,
        timing.kind.name(),
        timing.window,
        windows.join(" "),
        timing.last_over_first
    )
}

/// Memory and step cost of indexed (per-sample) multipliers.
#[derive(Clone, Debug, Serialize)]
pub struct IndexedMemory {
    /// Always `indexed_memory`.
    pub bench: &'static str,
    /// Multiplier entries.
    pub entries: usize,
    /// Ids per batch.
    pub batch: usize,
    /// Steps timed.
    pub steps: usize,
    /// Resident memory before building the optimizer, MiB.
    pub rss_before_mib: f64,
    /// Resident memory after the steps, MiB.
    pub rss_after_mib: f64,
    /// Bytes per entry (resident growth / entries).
    pub bytes_per_entry: f64,
    /// Microseconds per step (batch gather, nuPI update, scatter, report).
    pub us_per_step: f64,
    /// Size of the dual state's JSON, MiB.
    pub checkpoint_mib: f64,
}

/// The resident set size of this process, bytes (Linux `/proc/self/status`).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Builds an indexed constraint of `entries` entries with nuPI and runs
/// `steps` steps on random batches of `batch` ids.
pub fn indexed_memory(entries: usize, batch: usize, steps: usize) -> anyhow::Result<IndexedMemory> {
    use feasible::{ConstrainedOptimizer, Constraint, Formulation, Measurement, Measurements, NuPi, PrimalWeights};

    use crate::data::sampling::Draw;
    use rand::Rng;

    struct Batches {
        rng: crate::data::sampling::SplitMix64,
        entries: usize,
        batch: usize,
    }
    impl feasible::PrimalProblem for Batches {
        type Point = ();
        type Error = std::convert::Infallible;
        fn measure(&mut self, _: &()) -> Result<Measurements, Self::Error> {
            let ids: Vec<usize> = (0..self.batch)
                .map(|_| (self.rng.next_u64() % self.entries as u64) as usize)
                .collect();
            let values: Vec<f64> = (0..self.batch).map(|_| self.rng.uniform_open0()).collect();
            Ok(Measurements::new(0.0).with("sample_loss", Measurement::indexed(ids, values)))
        }
        fn descend(&mut self, _: &(), _: &(), _: &PrimalWeights) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    let before = resident_bytes().unwrap_or(0);
    let mut optimizer = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("sample_loss", 0.5)
                .with_entries(entries)
                .indexed()
                .with_formulation(Formulation::lagrangian(NuPi::new(0.01, 1.0, 1.0))),
        )
        .build()?;
    let mut problem = Batches {
        rng: crate::data::sampling::SplitMix64::new(1),
        entries,
        batch,
    };
    let start = Instant::now();
    for _ in 0..steps {
        optimizer.step(&mut problem, &())?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let after = resident_bytes().unwrap_or(0);
    let checkpoint = optimizer.state().to_json()?.len();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Ok(IndexedMemory {
        bench: "indexed_memory",
        entries,
        batch,
        steps,
        rss_before_mib: mib(before),
        rss_after_mib: mib(after),
        bytes_per_entry: after.saturating_sub(before) as f64 / entries as f64,
        us_per_step: 1e6 * seconds / steps as f64,
        checkpoint_mib: checkpoint as f64 / (1024.0 * 1024.0),
    })
}

/// Renders the memory benchmark.
pub fn render_memory(m: &IndexedMemory) -> String {
    format!(
        "Indexed multipliers with nuPI state: {} entries, batches of {} random ids, {} steps\n\
         \x20 resident memory {:.1} MiB before, {:.1} MiB after: {:.1} bytes per entry\n\
         \x20 {:.2} us per step; dual state as JSON: {:.1} MiB\n",
        m.entries,
        m.batch,
        m.steps,
        m.rss_before_mib,
        m.rss_after_mib,
        m.bytes_per_entry,
        m.us_per_step,
        m.checkpoint_mib
    )
}

/// The loops of the position paper's Table 2 comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table2Loop {
    /// Rate task, fixed penalty through feasible-burn.
    RatePenalized,
    /// Rate task, Lagrangian through feasible-burn.
    RateConstrained,
    /// Sparsity task, `loss + c · density` written by hand.
    SparsityHandPenalized,
    /// Sparsity task, fixed penalty through feasible-burn.
    SparsityPenalized,
    /// Sparsity task, Lagrangian (with dual restarts) through feasible-burn.
    SparsityConstrained,
}

impl Table2Loop {
    /// Every loop, in the order one round runs them.
    pub const ALL: [Table2Loop; 5] = [
        Table2Loop::RatePenalized,
        Table2Loop::RateConstrained,
        Table2Loop::SparsityHandPenalized,
        Table2Loop::SparsityPenalized,
        Table2Loop::SparsityConstrained,
    ];
}

/// Runs `steps` steps of the sparsity task (the gated MLP 784-300-100-10,
/// batches of 256) on synthetic data of Fashion-MNIST's shape: the timing of
/// a step does not depend on the pixels' values.
fn train_sparsity(device: &Device, kind: Table2Loop, steps: usize) -> anyhow::Result<()> {
    sparsity_run(device, kind, None, 0, steps).map(|_| ())
}

/// The end of one run of the sparsity task, timed after its warm-up steps
/// ([`sparsity_run`]).
#[derive(Clone, Debug, Serialize)]
pub struct SparsityRun {
    /// Always `sparsity_step`.
    pub bench: &'static str,
    /// The loop.
    pub kind: Table2Loop,
    /// `fashion_mnist` (its first 8 batches of 256) or `synthetic`.
    pub data: &'static str,
    /// Untimed steps first.
    pub warmup: usize,
    /// Timed steps.
    pub steps: usize,
    /// Wall time of the timed steps, seconds.
    pub seconds: f64,
    /// Milliseconds per timed step.
    pub ms_per_step: f64,
    /// Mean mini-batch cross-entropy of the last 8 steps (one pass over the
    /// 8 batches), with sampled gates.
    pub last_loss: f64,
    /// Expected density (the differentiable surrogate) at the end.
    pub expected_density: f64,
    /// Density of the deterministic gates at the end.
    pub deterministic_density: f64,
    /// The multiplier (constrained) or the penalty coefficient at the end.
    pub multiplier: f64,
}

/// Runs `warmup + steps` steps of the sparsity task `kind` (the gated MLP
/// 784-300-100-10, batches of 256, Adam 1e-3 with PyTorch's defaults,
/// density at most 0.5), cycling over 8 batches: the first 8 × 256
/// training samples of `data`, or random pixels and labels of
/// Fashion-MNIST's shape when `data` is `None` (the timing of a step does
/// not depend on the pixels' values). Times the last `steps` steps.
pub fn sparsity_run(
    device: &Device,
    kind: Table2Loop,
    data: Option<&crate::data::classification::Dataset>,
    warmup: usize,
    steps: usize,
) -> anyhow::Result<SparsityRun> {
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::activation::log_softmax;
    use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent};
    use feasible_burn::sparsity::{self, L0LinearConfig};
    use feasible_burn::{ConstraintTensors, Evaluation};

    use crate::data::classification::{features, labels};
    use crate::data::sampling::{Draw, SplitMix64};
    use crate::models::gated_mlp::GatedMlp;

    const BATCHES: usize = 8;
    const BATCH: usize = 256;
    if matches!(kind, Table2Loop::RatePenalized | Table2Loop::RateConstrained) {
        anyhow::bail!("`sparsity_run` runs the sparsity loops only");
    }
    let device = device.clone().autodiff();
    let mut rng = SplitMix64::new(11);
    let batches: Vec<(Vec<f32>, Vec<u8>)> = match data {
        None => (0..BATCHES)
            .map(|_| {
                let x = (0..BATCH * 784).map(|_| rng.uniform_open() as f32).collect();
                let y = (0..BATCH).map(|_| rng.below(10) as u8).collect();
                (x, y)
            })
            .collect(),
        Some(data) => {
            if data.dims != 784 || data.train_len() < BATCHES * BATCH {
                anyhow::bail!(
                    "the sparsity task needs at least {} training samples of 784 features",
                    BATCHES * BATCH
                );
            }
            (0..BATCHES)
                .map(|b| {
                    let rows = b * BATCH..(b + 1) * BATCH;
                    (
                        data.train_x[rows.start * 784..rows.end * 784].to_vec(),
                        data.train_y[rows].to_vec(),
                    )
                })
                .collect()
        }
    };
    let mut model = GatedMlp::new(
        &[784, 300, 100, 10],
        |i, o| L0LinearConfig::new(i, o).with_gate_scale(5.0),
        &device,
        0,
    )?;
    // PyTorch's Adam defaults, as the sparsity experiment (controlled-sparsity
    // paper, Gallego-Posada et al. 2022).
    let adam = AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .with_amsgrad(false)
        .with_weight_decay(None);
    let mut optimizer = adam.init();
    let formulation: Formulation = match kind {
        Table2Loop::SparsityConstrained => Formulation::lagrangian(GradientAscent::new(0.05))
            .with_restart_on_feasible()
            .into(),
        _ => Formulation::fixed_penalty(1.0).into(),
    };
    let dual = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("density", 0.5).with_formulation(formulation))
        .build()?;
    let mut trainer = feasible_burn::ConstrainedTrainer::new(dual, adam.init(), 1e-3)?;
    let total = warmup + steps;
    let mut last_losses = Vec::new();
    let mut start = Instant::now();
    for t in 0..total {
        if t == warmup {
            start = Instant::now();
        }
        let (x, y) = &batches[t % batches.len()];
        let (x, y) = (features(x, 784, &device), labels(y, &device));
        let modes = model.sample_gates(&mut rng, &device);
        let loss = log_softmax(model.forward(x, &modes)?, 1)
            .gather(1, y)
            .reshape([BATCH])
            .mean()
            .neg();
        if t + BATCHES >= total {
            last_losses.push(loss.clone().detach());
        }
        let density = sparsity::expected_density(&model.layers).ok_or_else(|| anyhow::anyhow!("no layers"))?;
        if kind == Table2Loop::SparsityHandPenalized {
            let objective = loss + density;
            let grads = GradientsParams::from_grads(objective.backward(), &model);
            model = optimizer.step(1e-3, model, grads);
        } else {
            let strict = sparsity::deterministic_density(&model.layers)?;
            let evaluation = Evaluation::new(loss).with(
                "density",
                ConstraintTensors::new(density).with_strict_values(vec![strict]),
            );
            model = trainer.step(model, evaluation)?.0;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let scalar = |t: Tensor<1>| -> anyhow::Result<f64> {
        t.without_autodiff()
            .try_into_vec_as::<f64>()
            .map_err(|e| anyhow::anyhow!("reading a value back failed: {e:?}"))?
            .first()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("empty tensor"))
    };
    let last_loss = last_losses
        .into_iter()
        .map(scalar)
        .collect::<anyhow::Result<Vec<f64>>>()?;
    let density = sparsity::expected_density(&model.layers).ok_or_else(|| anyhow::anyhow!("no layers"))?;
    let multiplier = match kind {
        Table2Loop::SparsityConstrained => trainer
            .dual()
            .multipliers("density")?
            .and_then(|m| m.first().copied())
            .unwrap_or(0.0),
        _ => 1.0,
    };
    Ok(SparsityRun {
        bench: "sparsity_step",
        kind,
        data: if data.is_some() { "fashion_mnist" } else { "synthetic" },
        warmup,
        steps,
        seconds,
        ms_per_step: 1e3 * seconds / steps.max(1) as f64,
        last_loss: last_loss.iter().sum::<f64>() / last_loss.len().max(1) as f64,
        expected_density: scalar(density)?,
        deterministic_density: sparsity::deterministic_density(&model.layers)?,
        multiplier,
    })
}

/// Times the Table 2 loops `repeats` times on `device`, interleaved: the
/// rate task for `rate_steps` steps, the sparsity task for
/// `sparsity_steps`.
pub fn table2(
    device: &Device,
    rate_steps: usize,
    sparsity_steps: usize,
    repeats: usize,
    mut progress: impl FnMut(),
) -> anyhow::Result<Vec<(Table2Loop, Vec<f64>)>> {
    let points = rate::points(&RateConfig::default());
    let data = RateData::new(&points, &device.clone().autodiff());
    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); Table2Loop::ALL.len()];
    // Warm-up.
    train(Loop::FeasiblePenalty, &data, 100, |_| {})?;
    train_sparsity(device, Table2Loop::SparsityPenalized, 5)?;
    for _ in 0..repeats {
        for (i, kind) in Table2Loop::ALL.into_iter().enumerate() {
            let start = Instant::now();
            match kind {
                Table2Loop::RatePenalized => train(Loop::FeasiblePenalty, &data, rate_steps, |_| {}).map(|_| ())?,
                Table2Loop::RateConstrained => {
                    train(Loop::FeasibleLagrangian, &data, rate_steps, |_| {}).map(|_| ())?
                }
                sparsity => train_sparsity(device, sparsity, sparsity_steps)?,
            }
            runs[i].push(start.elapsed().as_secs_f64());
            progress();
        }
    }
    Ok(Table2Loop::ALL.into_iter().zip(runs).collect())
}

/// One row of the Table 2 comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Table2Row {
    /// Always `table2`.
    pub bench: &'static str,
    /// `rate` or `sparsity`.
    pub task: &'static str,
    /// Steps per run.
    pub steps: usize,
    /// Median seconds per run, penalized (through feasible-burn).
    pub penalized_seconds: f64,
    /// Median seconds per run, constrained.
    pub constrained_seconds: f64,
    /// `constrained / penalized - 1`.
    pub overhead: f64,
    /// The sparsity task's hand-written penalty, median seconds.
    pub hand_penalized_seconds: Option<f64>,
    /// The paper's overhead (Table 2).
    pub published_overhead: f64,
}

/// The two rows from the timings.
pub fn table2_rows(timings: &[(Table2Loop, Vec<f64>)], rate_steps: usize, sparsity_steps: usize) -> Vec<Table2Row> {
    let m = |kind| {
        timings
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, r)| median(r))
            .unwrap_or(f64::NAN)
    };
    vec![
        Table2Row {
            bench: "table2",
            task: "rate",
            steps: rate_steps,
            penalized_seconds: m(Table2Loop::RatePenalized),
            constrained_seconds: m(Table2Loop::RateConstrained),
            overhead: m(Table2Loop::RateConstrained) / m(Table2Loop::RatePenalized) - 1.0,
            hand_penalized_seconds: None,
            published_overhead: 5.68 / 5.40 - 1.0,
        },
        Table2Row {
            bench: "table2",
            task: "sparsity",
            steps: sparsity_steps,
            penalized_seconds: m(Table2Loop::SparsityPenalized),
            constrained_seconds: m(Table2Loop::SparsityConstrained),
            overhead: m(Table2Loop::SparsityConstrained) / m(Table2Loop::SparsityPenalized) - 1.0,
            hand_penalized_seconds: Some(m(Table2Loop::SparsityHandPenalized)),
            published_overhead: 8.30 / 8.17 - 1.0,
        },
    ]
}

/// Renders the Table 2 comparison.
pub fn render_table2(rows: &[Table2Row], repeats: usize) -> String {
    use crate::table::Table;
    let mut table = Table::new(
        format!("Penalized vs constrained training (position paper Table 2), median of {repeats} interleaved runs"),
        &[
            "task",
            "steps",
            "penalized s",
            "constrained s",
            "overhead",
            "paper",
            "hand-written penalty s",
        ],
    );
    for r in rows {
        table.row(vec![
            r.task.to_string(),
            r.steps.to_string(),
            format!("{:.3}", r.penalized_seconds),
            format!("{:.3}", r.constrained_seconds),
            format!("{:+.1}%", 100.0 * r.overhead),
            format!("{:+.1}%", 100.0 * r.published_overhead),
            r.hand_penalized_seconds
                .map(|s| format!("{s:.3}"))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    table.to_string()
}
