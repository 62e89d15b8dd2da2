//! The cost of a constraint on the Fashion-MNIST MLP, step by step: plain
//! burn training against the same training with one constraint through
//! feasible-burn's user loop ([`Constraints::lagrangian`], `commit`) and
//! through burn-train's `Learner` ([`LearnerConstraints`]).
//!
//! The model, batch and optimizer are those of the `feasible-learning`
//! experiment's Fashion-MNIST setup: MLP 784-300-100-10 with ReLU, batches
//! of 256, AdamW (step 1e-3, weight decay 1e-2, ε 1e-8), mean
//! cross-entropy. The constraint asks that at least 15% of a batch be
//! predicted class 0 (a tenth of Fashion-MNIST is): the differentiable
//! surrogate is the mean probability of class 0 (gathered from the
//! log-softmax the cross-entropy computes anyway), the strict value the
//! share of argmax predictions (counted on the host from the logits read
//! back); Lagrangian, dual gradient ascent 0.1, simultaneous updates.
//!
//! Six variants, each with its own model and optimizer (same initial
//! weights, same batches):
//!
//! - `plain`: forward, cross-entropy, backward, AdamW step; nothing read back;
//! - `hand constrained`: the same objective a user writes without a
//!   library, `loss - λ · surrogate`, the strict share read back and `λ`
//!   updated in an `f64`;
//! - `user loop`: the constraint through [`Constraints::lagrangian`] and
//!   [`Pending::commit`](feasible_burn::Pending::commit) around the same
//!   backward and AdamW step;
//! - `learner plain`: a burn-train `Learner` over an unconstrained model
//!   (`TrainStep` with a `ClassificationOutput`), driven step by step the
//!   way burn-train's training epoch drives it (`lr_step`, `train_step`,
//!   `optimizer_step`); the data loader, the metrics and the renderer,
//!   which are the same with and without constraints, are left out;
//! - `learner hand`: the same `Learner` over a model whose `TrainStep`
//!   writes the constraint by hand (`λ` in an `f64` behind a mutex, the
//!   strict share read back in `step`, `λ` updated in `optimize`);
//! - `learner constrained`: the same `Learner` over a model whose
//!   `TrainStep` hands the evaluation to [`LearnerConstraints::step`] and
//!   whose `optimize` commits ([`LearnerConstraints::optimize`]).
//!
//! Steps are interleaved: each round takes one step of every variant, in
//! an order drawn at random for every round, so that a slow moment of the
//! machine hits every variant alike and no variant always follows the same
//! other one. The overhead of `b` over `a` is
//! `median(b) / median(a) - 1` with a 95% bootstrap interval that resamples
//! rounds ([`ratio_of_medians`]); a second estimate, less sensitive to the
//! machine's slow moments, is the ratio of the fastest block medians
//! ([`min_block_median`], blocks of [`BLOCK`] rounds).

#[cfg(feature = "learner")]
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

#[cfg(feature = "learner")]
use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
#[cfg(feature = "learner")]
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor};
#[cfg(feature = "learner")]
use burn_train::{ClassificationOutput, InferenceStep, Learner, TrainOutput, TrainStep};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
#[cfg(feature = "learner")]
use feasible_burn::learner::{ConstrainedOutput, LearnerConstraints};
use feasible_burn::{ConstraintTensors, Constraints, Evaluation};
use serde::Serialize;

use super::intervals::{MachineLoad, RatioEstimate, Spread, min_block_median, ratio_of_medians};
use crate::data::classification::{Dataset, epoch_batches, features, labels};
use crate::data::sampling::{Draw, SplitMix64};
use crate::models::mlp::Mlp;

/// Layer widths of the MLP.
pub const LAYERS: [usize; 4] = [784, 300, 100, 10];
/// Samples per step.
pub const BATCH: usize = 256;
/// AdamW's step.
pub const LR: f64 = 1e-3;
/// The constraint's name.
pub const CONSTRAINT: &str = "class0_rate";
/// At least this share of a batch predicted class 0.
pub const TARGET: f64 = 0.15;
/// Dual gradient ascent's step.
pub const DUAL_LR: f64 = 0.1;
/// Distinct batches cycled through (built before timing).
const BATCHES: usize = 16;
/// Bootstrap resamples of each interval.
const RESAMPLES: usize = 2000;
/// The goal: a constraint costs under this fraction of a step.
pub const GOAL: f64 = 0.01;
/// Rounds per block of the min-of-block-medians estimate.
pub const BLOCK: usize = 100;
/// Seed of the rounds' random orders.
const ORDER_SEED: u64 = 29;

/// The variants compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Unconstrained burn training.
    Plain,
    /// The constraint written by hand (multiplier in an `f64`).
    HandConstrained,
    /// The constraint through `Constraints::lagrangian` and `commit`.
    UserLoop,
    /// burn-train's `Learner` step, unconstrained.
    LearnerPlain,
    /// burn-train's `Learner` step with the constraint written by hand.
    LearnerHand,
    /// burn-train's `Learner` step with `LearnerConstraints`.
    LearnerConstrained,
}

impl Variant {
    /// Every variant, in the order of the first round.
    pub const EVERY: [Variant; 6] = [
        Variant::Plain,
        Variant::HandConstrained,
        Variant::UserLoop,
        Variant::LearnerPlain,
        Variant::LearnerHand,
        Variant::LearnerConstrained,
    ];
    /// Every variant built in (the Learner's only with the `learner`
    /// feature).
    #[cfg(feature = "learner")]
    pub const ALL: [Variant; 6] = Variant::EVERY;
    /// Every variant built in (the Learner's only with the `learner`
    /// feature).
    #[cfg(not(feature = "learner"))]
    pub const ALL: [Variant; 3] = [Variant::Plain, Variant::HandConstrained, Variant::UserLoop];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::HandConstrained => "hand constrained",
            Variant::UserLoop => "user loop",
            Variant::LearnerPlain => "learner plain",
            Variant::LearnerHand => "learner hand",
            Variant::LearnerConstrained => "learner constrained",
        }
    }
}

/// One training batch: the images, the labels as `[n, 1]` (to gather the
/// cross-entropy) and as `[n]` (for burn-train's `ClassificationOutput`).
#[derive(Clone, Debug)]
pub struct Batch {
    x: Tensor<2>,
    y: Tensor<2, Int>,
    // Read by burn-train's `ClassificationOutput` only.
    #[cfg_attr(not(feature = "learner"), allow(dead_code))]
    targets: Tensor<1, Int>,
    /// Class 0's index on every row, `[n, 1]` (to gather its log-probability).
    class0: Tensor<2, Int>,
}

/// `BATCHES` batches of `BATCH` images on `device`: from `data` (shuffled,
/// seeded), or, with `None`, random pixels and labels of Fashion-MNIST's
/// shape (the time of a step does not depend on the pixels' values).
pub fn batches(data: Option<&Dataset>, device: &Device) -> Vec<Batch> {
    let mut rng = SplitMix64::new(17);
    let host: Vec<(Vec<f32>, Vec<u8>)> = match data {
        Some(data) => epoch_batches(data.train_len(), Some(BATCH), &mut rng)
            .into_iter()
            .filter(|ids| ids.len() == BATCH)
            .take(BATCHES)
            .map(|ids| {
                let x = ids
                    .iter()
                    .flat_map(|i| data.train_x[i * data.dims..(i + 1) * data.dims].iter().copied())
                    .collect();
                (x, ids.iter().map(|i| data.train_y[*i]).collect())
            })
            .collect(),
        None => (0..BATCHES)
            .map(|_| {
                let x = (0..BATCH * LAYERS[0]).map(|_| rng.uniform_open() as f32).collect();
                (x, (0..BATCH).map(|_| rng.below(10) as u8).collect())
            })
            .collect(),
    };
    host.into_iter()
        .map(|(x, y)| {
            let y = labels(&y, device);
            Batch {
                x: features(&x, LAYERS[0], device),
                targets: y.clone().reshape([BATCH]),
                class0: Tensor::zeros([BATCH, 1], device),
                y,
            }
        })
        .collect()
}

/// A forward pass: the logits, their log-softmax and the mean
/// cross-entropy.
struct Forward {
    logits: Tensor<2>,
    log_probs: Tensor<2>,
    loss: Tensor<1>,
}

fn forward(mlp: &Mlp, batch: &Batch) -> Forward {
    let logits = mlp.forward(batch.x.clone());
    let log_probs = log_softmax(logits.clone(), 1);
    let loss = log_probs
        .clone()
        .gather(1, batch.y.clone())
        .reshape([BATCH])
        .mean()
        .neg();
    Forward {
        logits,
        log_probs,
        loss,
    }
}

/// The constraint's surrogate (mean probability of class 0, gathered from
/// the log-softmax into a contiguous column) and strict value (share of
/// argmax predictions of class 0, counted on the host from the logits read
/// back: fewer tensor operations than `argmax`, `equal`, `float`, `mean`).
fn class0_rate(f: &Forward, batch: &Batch) -> anyhow::Result<(Tensor<1>, f64)> {
    let surrogate = f.log_probs.clone().gather(1, batch.class0.clone()).exp().mean();
    Ok((surrogate, class0_share(&f.logits)?))
}

/// The share of rows whose largest logit is class 0's: burn's `argmax`
/// counted on the host (the first largest wins a tie, a NaN in class 0's
/// place makes it the argmax).
fn class0_share(logits: &Tensor<2>) -> anyhow::Result<f64> {
    let data = logits.clone().without_autodiff().into_data();
    let values = data
        .as_slice::<f32>()
        .map_err(|e| anyhow::anyhow!("reading the logits back: {e:?}"))?;
    let classes = logits.dims()[1];
    let hits = values
        .chunks_exact(classes)
        .filter(|row| row[0].is_nan() || row[1..].iter().all(|v| *v <= row[0]))
        .count();
    Ok(hits as f64 / (values.len() / classes) as f64)
}

fn evaluation(f: &Forward, batch: &Batch) -> anyhow::Result<Evaluation> {
    let (surrogate, strict) = class0_rate(f, batch)?;
    Ok(Evaluation::new(f.loss.clone()).with(
        CONSTRAINT,
        ConstraintTensors::new(surrogate).with_strict_values(vec![strict]),
    ))
}

/// `loss + λ (target - surrogate)` in the fewest operations: it has the
/// gradient of `loss - λ surrogate`.
fn hand_objective(loss: Tensor<1>, surrogate: Tensor<1>, multiplier: f64) -> Tensor<1> {
    loss + surrogate.mul_scalar(-multiplier)
}

/// Dual gradient ascent on the hand-written multiplier.
fn hand_dual_step(multiplier: f64, rate: f64) -> f64 {
    (multiplier + DUAL_LR * (TARGET - rate)).max(0.0)
}

fn dual() -> anyhow::Result<ConstrainedOptimizer> {
    Ok(ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least(CONSTRAINT, TARGET)
                .with_formulation(Formulation::lagrangian(GradientAscent::new(DUAL_LR))),
        )
        .scheme(UpdateScheme::Simultaneous)
        .build()?)
}

fn adamw() -> ModuleOptimizer {
    AdamWConfig::new().with_weight_decay(1e-2).with_epsilon(1e-8).init()
}

#[cfg(feature = "learner")]
/// The unconstrained model of burn-train's `Learner`.
#[derive(Module, Debug)]
pub struct PlainLearnerMlp {
    mlp: Mlp,
}

#[cfg(feature = "learner")]
impl TrainStep for PlainLearnerMlp {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> TrainOutput<ClassificationOutput> {
        let f = forward(&self.mlp, &batch);
        let grads = f.loss.backward();
        TrainOutput::new(self, grads, ClassificationOutput::new(f.loss, f.logits, batch.targets))
    }
}

#[cfg(feature = "learner")]
impl InferenceStep for PlainLearnerMlp {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> ClassificationOutput {
        let f = forward(&self.mlp, &batch);
        ClassificationOutput::new(f.loss, f.logits, batch.targets)
    }
}

#[cfg(feature = "learner")]
/// The hand-written dual state of [`HandLearnerMlp`]: the multiplier, and
/// the strict share read back by `step` for `optimize`'s update.
#[derive(Debug, Default)]
pub struct HandDual {
    multiplier: f64,
    pending: Option<f64>,
}

#[cfg(feature = "learner")]
/// burn-train's `Learner` model with the constraint written by hand: what
/// a user writes without feasible-burn.
#[derive(Module, Debug)]
pub struct HandLearnerMlp {
    mlp: Mlp,
    #[module(skip)]
    dual: Arc<Mutex<HandDual>>,
}

#[cfg(feature = "learner")]
impl TrainStep for HandLearnerMlp {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> TrainOutput<ClassificationOutput> {
        let f = forward(&self.mlp, &batch);
        // `TrainStep` cannot return an error: a failed read is a defect of
        // the benchmark.
        let (surrogate, rate) = class0_rate(&f, &batch).expect("the rate read back");
        let mut dual = self.dual.lock().unwrap_or_else(PoisonError::into_inner);
        let objective = hand_objective(f.loss.clone(), surrogate, dual.multiplier);
        dual.pending = Some(rate);
        TrainOutput::new(
            self,
            objective.backward(),
            ClassificationOutput::new(f.loss, f.logits, batch.targets),
        )
    }

    fn optimize(self, optim: &mut ModuleOptimizer, lr: ModuleLearningRate, grads: GradientsParams) -> Self {
        let model = optim.step(lr, self, grads);
        {
            let mut dual = model.dual.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(rate) = dual.pending.take() {
                dual.multiplier = hand_dual_step(dual.multiplier, rate);
            }
        }
        model
    }
}

#[cfg(feature = "learner")]
impl InferenceStep for HandLearnerMlp {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> ClassificationOutput {
        let f = forward(&self.mlp, &batch);
        ClassificationOutput::new(f.loss, f.logits, batch.targets)
    }
}

#[cfg(feature = "learner")]
/// The constrained model of burn-train's `Learner`: the dual state in a
/// `#[module(skip)]` field, as `feasible-burn`'s `learner` example keeps it.
#[derive(Module, Debug)]
pub struct ConstrainedLearnerMlp {
    mlp: Mlp,
    #[module(skip)]
    constraints: LearnerConstraints,
}

#[cfg(feature = "learner")]
impl TrainStep for ConstrainedLearnerMlp {
    type Input = Batch;
    type Output = ConstrainedOutput<ClassificationOutput>;

    fn step(&self, batch: Batch) -> TrainOutput<Self::Output> {
        let f = forward(&self.mlp, &batch);
        let evaluation = evaluation(&f, &batch).expect("the rate read back");
        let item = ClassificationOutput::new(f.loss, f.logits, batch.targets);
        // burn-train's `TrainStep` cannot return an error; the values are
        // finite here (a failure is a defect of the benchmark).
        let step = self.constraints.step(evaluation).expect("constrained step");
        step.into_train_output(self, item)
    }

    fn optimize(self, optim: &mut ModuleOptimizer, lr: ModuleLearningRate, grads: GradientsParams) -> Self {
        let constraints = self.constraints.clone();
        constraints.optimize(self, optim, lr, grads).expect("dual update")
    }
}

#[cfg(feature = "learner")]
impl InferenceStep for ConstrainedLearnerMlp {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> ClassificationOutput {
        let f = forward(&self.mlp, &batch);
        ClassificationOutput::new(f.loss, f.logits, batch.targets)
    }
}

/// One variant's training state (one of each is built: their sizes do not
/// matter).
#[cfg_attr(not(feature = "learner"), allow(clippy::large_enum_variant))]
enum Runner {
    Plain {
        model: Option<Mlp>,
        optimizer: ModuleOptimizer,
    },
    Hand {
        model: Option<Mlp>,
        optimizer: ModuleOptimizer,
        multiplier: f64,
    },
    UserLoop {
        model: Option<Mlp>,
        optimizer: ModuleOptimizer,
        constraints: Constraints,
    },
    #[cfg(feature = "learner")]
    LearnerPlain(Learner<PlainLearnerMlp>),
    #[cfg(feature = "learner")]
    LearnerHand(Learner<HandLearnerMlp>),
    #[cfg(feature = "learner")]
    LearnerConstrained(Learner<ConstrainedLearnerMlp>),
}

impl Runner {
    fn new(variant: Variant, device: &Device) -> anyhow::Result<Self> {
        let mlp = || Mlp::new(&LAYERS, device, 0);
        Ok(match variant {
            Variant::Plain => Runner::Plain {
                model: Some(mlp()),
                optimizer: adamw(),
            },
            Variant::HandConstrained => Runner::Hand {
                model: Some(mlp()),
                optimizer: adamw(),
                multiplier: 0.0,
            },
            Variant::UserLoop => Runner::UserLoop {
                model: Some(mlp()),
                optimizer: adamw(),
                constraints: Constraints::new(dual()?),
            },
            #[cfg(feature = "learner")]
            Variant::LearnerPlain => Runner::LearnerPlain(Learner::new(PlainLearnerMlp { mlp: mlp() }, adamw(), LR)),
            #[cfg(feature = "learner")]
            Variant::LearnerHand => Runner::LearnerHand(Learner::new(
                HandLearnerMlp {
                    mlp: mlp(),
                    dual: Arc::default(),
                },
                adamw(),
                LR,
            )),
            #[cfg(feature = "learner")]
            Variant::LearnerConstrained => Runner::LearnerConstrained(Learner::new(
                ConstrainedLearnerMlp {
                    mlp: mlp(),
                    constraints: LearnerConstraints::new(dual()?)?,
                },
                adamw(),
                LR,
            )),
            #[cfg(not(feature = "learner"))]
            Variant::LearnerPlain | Variant::LearnerHand | Variant::LearnerConstrained => anyhow::bail!(
                "the variant `{}` needs burn-train's Learner: build with the `learner` feature",
                variant.name()
            ),
        })
    }

    /// One training step on `batch`.
    fn step(&mut self, batch: &Batch) -> anyhow::Result<()> {
        let taken = || anyhow::anyhow!("the model was lost in a failed step");
        match self {
            Runner::Plain { model, optimizer } => {
                let m = model.take().ok_or_else(taken)?;
                let loss = forward(&m, batch).loss;
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                *model = Some(optimizer.step(LR, m, grads));
            }
            Runner::Hand {
                model,
                optimizer,
                multiplier,
            } => {
                let m = model.take().ok_or_else(taken)?;
                let f = forward(&m, batch);
                let (surrogate, rate) = class0_rate(&f, batch)?;
                let objective = hand_objective(f.loss, surrogate, *multiplier);
                let grads = GradientsParams::from_grads(objective.backward(), &m);
                *model = Some(optimizer.step(LR, m, grads));
                *multiplier = hand_dual_step(*multiplier, rate);
            }
            Runner::UserLoop {
                model,
                optimizer,
                constraints,
            } => {
                let m = model.take().ok_or_else(taken)?;
                let (objective, pending) = constraints.lagrangian(evaluation(&forward(&m, batch), batch)?)?;
                let grads = GradientsParams::from_grads(objective.backward(), &m);
                *model = Some(optimizer.step(LR, m, grads));
                pending.commit()?;
            }
            #[cfg(feature = "learner")]
            Runner::LearnerPlain(learner) => {
                learner.lr_step();
                let output = learner.train_step(batch.clone());
                learner.optimizer_step(output.grads);
            }
            #[cfg(feature = "learner")]
            Runner::LearnerHand(learner) => {
                learner.lr_step();
                let output = learner.train_step(batch.clone());
                learner.optimizer_step(output.grads);
            }
            #[cfg(feature = "learner")]
            Runner::LearnerConstrained(learner) => {
                learner.lr_step();
                let output = learner.train_step(batch.clone());
                learner.optimizer_step(output.grads);
            }
        }
        Ok(())
    }

    /// The multiplier now (`None` without a constraint).
    fn multiplier(&self) -> Option<f64> {
        match self {
            Runner::Hand { multiplier, .. } => Some(*multiplier),
            Runner::UserLoop { constraints, .. } => constraints
                .multipliers(CONSTRAINT)
                .ok()
                .flatten()
                .and_then(|m| m.first().copied()),
            #[cfg(feature = "learner")]
            Runner::LearnerHand(learner) => Some(
                learner
                    .model()
                    .dual
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .multiplier,
            ),
            #[cfg(feature = "learner")]
            Runner::LearnerConstrained(learner) => learner
                .model()
                .constraints
                .multipliers(CONSTRAINT)
                .and_then(|m| m.first().copied()),
            Runner::Plain { .. } => None,
            #[cfg(feature = "learner")]
            Runner::LearnerPlain(_) => None,
        }
    }
}

/// One variant's step times.
#[derive(Clone, Debug, Serialize)]
pub struct VariantTiming {
    /// The variant.
    pub variant: Variant,
    /// Its name.
    pub name: &'static str,
    /// Steps timed.
    pub steps: usize,
    /// Median, quartiles and extremes of the step times.
    pub spread: Spread,
    /// The multiplier after the last step (`None` without a constraint).
    pub multiplier: Option<f64>,
    /// Every step's time, seconds (not in the JSON).
    #[serde(skip)]
    pub seconds: Vec<f64>,
}

/// The overhead of one variant over another.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The dearer variant.
    pub variant: Variant,
    /// The baseline.
    pub baseline: Variant,
    /// What the comparison measures.
    pub meaning: &'static str,
    /// Whether the under-1% goal applies to it.
    pub goal: bool,
    /// `median(variant) / median(baseline) - 1`, its interval, and the
    /// median of the per-round ratios.
    pub overhead: RatioEstimate,
    /// The ratio of the fastest block medians, minus 1 (blocks of
    /// [`BLOCK`] rounds).
    pub min_block_median_ratio: f64,
    /// With the goal: whether the whole interval lies under 1% (`None`
    /// without the goal).
    pub goal_met: Option<bool>,
}

/// The whole benchmark's result (one JSON object).
#[derive(Clone, Debug, Serialize)]
pub struct MlpStepReport {
    /// Always `mlp_step`.
    pub bench: &'static str,
    /// `fashion_mnist`, or `synthetic` (random pixels of its shape).
    pub data: &'static str,
    /// Layer widths.
    pub layers: [usize; 4],
    /// Samples per step.
    pub batch: usize,
    /// Untimed rounds before the timed ones.
    pub warmup: usize,
    /// Timed rounds (steps per variant).
    pub rounds: usize,
    /// Processors and load before the run.
    pub load_before: MachineLoad,
    /// Processors and load after the run.
    pub load_after: MachineLoad,
    /// Per variant.
    pub variants: Vec<VariantTiming>,
    /// The overheads.
    pub comparisons: Vec<Comparison>,
}

/// The comparisons reported: (variant, baseline, goal applies, meaning).
const COMPARISONS: [(Variant, Variant, bool, &str); 6] = [
    (
        Variant::UserLoop,
        Variant::Plain,
        true,
        "one constraint through the user loop vs unconstrained training",
    ),
    (
        Variant::LearnerConstrained,
        Variant::LearnerPlain,
        true,
        "one constraint through the Learner vs the unconstrained Learner",
    ),
    (
        Variant::UserLoop,
        Variant::HandConstrained,
        true,
        "feasible's own cost: the user loop vs the same constraint by hand",
    ),
    (
        Variant::LearnerConstrained,
        Variant::LearnerHand,
        true,
        "feasible's own cost in the Learner: LearnerConstraints vs the same constraint by hand",
    ),
    (
        Variant::HandConstrained,
        Variant::Plain,
        false,
        "the constraint's tensors and read-back, by hand, vs unconstrained",
    ),
    (
        Variant::LearnerPlain,
        Variant::Plain,
        false,
        "burn-train's Learner step vs the plain loop (no constraint in either)",
    ),
];

impl std::str::FromStr for Variant {
    type Err = anyhow::Error;

    /// Parses a variant's name, with `-`, `_` or spaces between words.
    fn from_str(name: &str) -> anyhow::Result<Self> {
        let wanted = name.replace(['-', '_'], " ");
        Variant::EVERY.into_iter().find(|v| v.name() == wanted).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown variant `{name}`; known: plain, hand-constrained, user-loop, learner-plain, \
                 learner-hand, learner-constrained"
            )
        })
    }
}

/// `steps` steps of `variant` alone, not interleaved (for instruction
/// counting with callgrind: the difference between two step counts is the
/// cost of a step); the seconds they took.
pub fn single(data: Option<&Dataset>, variant: Variant, steps: usize) -> anyhow::Result<f64> {
    let device = Device::flex().autodiff();
    let batches = batches(data, &device);
    let mut runner = Runner::new(variant, &device)?;
    let start = Instant::now();
    for t in 0..steps {
        runner.step(&batches[t % batches.len()])?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Runs `warmup` untimed rounds and `rounds` timed ones of every variant,
/// interleaved, on `data` (`None`: synthetic data of Fashion-MNIST's shape).
pub fn run(
    data: Option<&Dataset>,
    rounds: usize,
    warmup: usize,
    mut progress: impl FnMut(),
) -> anyhow::Result<MlpStepReport> {
    let device = Device::flex().autodiff();
    let batches = batches(data, &device);
    let mut runners = Variant::ALL
        .into_iter()
        .map(|v| Runner::new(v, &device))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let load_before = MachineLoad::now();
    let mut seconds = vec![Vec::with_capacity(rounds); runners.len()];
    let mut order: Vec<usize> = (0..runners.len()).collect();
    let mut rng = SplitMix64::new(ORDER_SEED);
    for round in 0..warmup + rounds {
        let batch = &batches[round % batches.len()];
        // A new order every round, drawn at random: every variant follows
        // every other as often (a rotation would keep each variant's
        // predecessor, and whatever state it leaves, the same).
        rng.shuffle(&mut order);
        for &i in &order {
            let start = Instant::now();
            runners[i].step(batch)?;
            let elapsed = start.elapsed().as_secs_f64();
            if round >= warmup {
                seconds[i].push(elapsed);
            }
        }
        if round >= warmup {
            progress();
        }
    }
    let load_after = MachineLoad::now();
    let variants: Vec<VariantTiming> = Variant::ALL
        .into_iter()
        .zip(seconds)
        .zip(&runners)
        .map(|((variant, seconds), runner)| VariantTiming {
            variant,
            name: variant.name(),
            steps: seconds.len(),
            spread: Spread::of_seconds(&seconds),
            multiplier: runner.multiplier(),
            seconds,
        })
        .collect();
    let times = |v: Variant| {
        variants
            .iter()
            .find(|t| t.variant == v)
            .map(|t| t.seconds.as_slice())
            .unwrap_or_default()
    };
    let comparisons = COMPARISONS
        .into_iter()
        .filter(|(variant, baseline, ..)| Variant::ALL.contains(variant) && Variant::ALL.contains(baseline))
        .enumerate()
        .map(|(k, (variant, baseline, goal, meaning))| {
            let overhead = ratio_of_medians(times(variant), times(baseline), RESAMPLES, 1000 + k as u64);
            Comparison {
                variant,
                baseline,
                meaning,
                goal,
                min_block_median_ratio: min_block_median(times(variant), BLOCK)
                    / min_block_median(times(baseline), BLOCK)
                    - 1.0,
                goal_met: goal.then_some(overhead.ci95_high < GOAL),
                overhead,
            }
        })
        .collect();
    Ok(MlpStepReport {
        bench: "mlp_step",
        data: if data.is_some() { "fashion_mnist" } else { "synthetic" },
        layers: LAYERS,
        batch: BATCH,
        warmup,
        rounds,
        load_before,
        load_after,
        variants,
        comparisons,
    })
}

/// Renders the report as tables.
pub fn render(report: &MlpStepReport) -> String {
    use crate::table::Table;
    let mut table = Table::new(
        format!(
            "Step time, MLP {} on {} ({} per batch, AdamW): {} interleaved rounds after {} warm-up rounds",
            report.layers.map(|l| l.to_string()).join("-"),
            report.data,
            report.batch,
            report.rounds,
            report.warmup
        ),
        &[
            "variant",
            "median us",
            "q1 us",
            "q3 us",
            "IQR us",
            "min us",
            "multiplier",
        ],
    );
    for v in &report.variants {
        table.row(vec![
            v.name.to_string(),
            format!("{:.1}", v.spread.median_us),
            format!("{:.1}", v.spread.q1_us),
            format!("{:.1}", v.spread.q3_us),
            format!("{:.1}", v.spread.iqr_us()),
            format!("{:.1}", v.spread.min_us),
            v.multiplier.map_or_else(|| "-".to_string(), |m| format!("{m:.4}")),
        ]);
    }
    let mut out = table.to_string();
    let mut overheads = Table::new(
        format!(
            "Overhead: median(variant) / median(baseline) - 1, 95% bootstrap interval over rounds ({RESAMPLES} resamples)"
        ),
        &[
            "variant",
            "baseline",
            "overhead",
            "95% interval",
            "median paired",
            "min block median",
            "goal < 1%",
        ],
    );
    for c in &report.comparisons {
        let o = &c.overhead;
        overheads.row(vec![
            c.variant.name().to_string(),
            c.baseline.name().to_string(),
            format!("{:+.2}%", 100.0 * o.ratio_of_medians),
            format!("[{:+.2}%, {:+.2}%]", 100.0 * o.ci95_low, 100.0 * o.ci95_high),
            format!("{:+.2}%", 100.0 * o.median_paired_ratio),
            format!("{:+.2}%", 100.0 * c.min_block_median_ratio),
            match c.goal_met {
                None => "-".to_string(),
                Some(true) => "met".to_string(),
                Some(false) => "not shown".to_string(),
            },
        ]);
    }
    out.push('\n');
    out.push_str(&overheads.to_string());
    out.push_str(&format!(
        "  before: {}\n  after:  {}\n",
        report.load_before.describe(),
        report.load_after.describe()
    ));
    out
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;

    /// The share counted on the host is burn's `argmax` share: a tie goes
    /// to the first largest, a NaN is the largest.
    #[test]
    fn class0_share_counts_what_argmax_gives() {
        let device = Device::flex();
        let nan = f32::NAN;
        let rows: [[f32; 4]; 5] = [
            [1.0, 0.0, -1.0, 0.5], // class 0 largest
            [1.0, 1.0, 0.0, 0.0],  // tie with class 1: class 0
            [0.0, 2.0, 0.0, 0.0],  // class 1
            [nan, 0.0, 3.0, 0.0],  // NaN in class 0's place: class 0
            [5.0, nan, 0.0, 0.0],  // NaN elsewhere: not class 0
        ];
        let logits = Tensor::<2>::from_data(TensorData::new(rows.concat(), [5, 4]), &device);
        let share = class0_share(&logits).unwrap();
        assert_eq!(share, 0.6);
        let burn_share = logits
            .argmax(1)
            .equal_elem(0)
            .float()
            .mean()
            .try_into_vec_as::<f64>()
            .unwrap()[0];
        // burn's mean is an f32 (0.6 to f32's precision); on a batch of
        // 256 rows, k / 256 is exact in both.
        assert!((share - burn_share).abs() < 1e-6, "{share} {burn_share}");
    }
}
