//! A rate constraint through burn-train's `Learner`.
//!
//! A linear classifier on a synthetic two-class data set (generated here,
//! fixed seed) in which about 35% of the points are of class 0: trained
//! unconstrained it predicts class 0 for about a third of them. The constraint
//! asks for at least half of the predictions in class 0 (declared with a
//! margin, 53%). The dual update runs
//! in the training step's `optimize` hook; the multiplier, the strict
//! violation and feasibility are burn-train metrics (printed to stderr once per
//! epoch here, and written by burn-train's file logger); the dual state is
//! saved beside each Learner checkpoint.
//!
//! It then trains again for `RESUME_AT` epochs, stops, builds a fresh model
//! and Learner that resume from that epoch's checkpoint, trains to the end,
//! and compares the result with the uninterrupted run bit for bit.
//!
//! `cargo run --release -p feasible-burn --example learner`: progress on
//! stderr; the last line of stdout is a JSON object (`constraint_holds`,
//! `multipliers`, `resumed_bit_exact`, ...). Exits non-zero when the
//! constraint does not hold at the end or the resumed run differs.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::{Initializer, Module};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn_train::checkpoint::KeepLastNCheckpoints;
use burn_train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn_train::metric::{AccuracyMetric, LossMetric, MetricDefinition, MetricId};
use burn_train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation, MetricsRendererTraining,
};
use burn_train::{
    ClassificationOutput, InferenceStep, Learner, LearnerSummary, SupervisedTraining, TrainOutput, TrainStep,
};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::learner::{ConstrainedOutput, ConstrainedTraining, LearnerConstraints, dual_checkpoint_path};
use feasible_burn::{ConstraintTensors, Evaluation};

const FEATURES: usize = 2;
const TRAIN: usize = 600;
const VALID: usize = 300;
const BATCH: usize = 60;
const EPOCHS: usize = 20;
const RESUME_AT: usize = 8;
/// The requirement: at least this share of the predictions in class 0.
const TARGET: f64 = 0.5;
/// The target the constraint declares: the requirement plus a margin, since
/// gradient descent-ascent on a per-batch rate ends near the boundary, on
/// either side of it, rather than inside.
const TRAINING_TARGET: f64 = 0.53;
const SEED: u64 = 7;

// ---------------------------------------------------------------- data

#[derive(Clone, Debug)]
struct Sample {
    x: [f32; FEATURES],
    y: i64,
}

#[derive(Clone, Debug)]
struct Batch {
    x: Tensor<2>,
    y: Tensor<1, Int>,
}

struct SampleBatcher;

impl Batcher<Sample, Batch> for SampleBatcher {
    fn batch(&self, items: Vec<Sample>, device: &Device) -> Batch {
        let n = items.len();
        let x: Vec<f32> = items.iter().flat_map(|s| s.x).collect();
        let y: Vec<i64> = items.iter().map(|s| s.y).collect();
        Batch {
            x: Tensor::from_data(TensorData::new(x, [n, FEATURES]), device),
            y: Tensor::from_data(TensorData::new(y, [n]), device),
        }
    }
}

/// SplitMix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(f64::MIN_POSITIVE);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Class 1 when `x0 + 0.5 x1 + 0.3 noise > -0.4`: about 65% of the points.
fn samples(n: usize, rng: &mut Rng) -> Vec<Sample> {
    (0..n)
        .map(|_| {
            let x = [rng.normal(), rng.normal()];
            let y = i64::from(x[0] + 0.5 * x[1] + 0.3 * rng.normal() > -0.4);
            Sample {
                x: [x[0] as f32, x[1] as f32],
                y,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- model

#[derive(Module, Debug)]
struct Model {
    linear: Linear,
    /// The dual state: host memory shared with the training step, the
    /// metrics and the checkpointers; not a parameter.
    #[module(skip)]
    constraints: LearnerConstraints,
}

impl Model {
    fn new(device: &Device, constraints: LearnerConstraints) -> Self {
        Self {
            linear: LinearConfig::new(FEATURES, 2)
                .with_initializer(Initializer::Zeros)
                .init(device),
            constraints,
        }
    }

    fn classify(&self, batch: &Batch) -> ClassificationOutput {
        let logits = self.linear.forward(batch.x.clone());
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.y.clone());
        ClassificationOutput::new(loss, logits, batch.y.clone())
    }
}

impl TrainStep for Model {
    type Input = Batch;
    type Output = ConstrainedOutput<ClassificationOutput>;

    fn step(&self, batch: Batch) -> TrainOutput<Self::Output> {
        let item = self.classify(&batch);
        // The share of class 0: differentiable (mean probability) and strict
        // (share of argmax predictions).
        let proxy = softmax(item.output.clone(), 1).narrow(1, 0, 1).mean();
        let strict = item
            .output
            .clone()
            .without_autodiff()
            .argmax(1)
            .equal_elem(0)
            .float()
            .mean();
        let evaluation =
            Evaluation::new(item.loss.clone()).with("class0_rate", ConstraintTensors::new(proxy).with_strict(strict));
        let step = self.constraints.step(evaluation).expect("constrained step");
        step.into_train_output(self, item)
    }

    fn optimize(self, optim: &mut ModuleOptimizer, lr: ModuleLearningRate, grads: GradientsParams) -> Self {
        let constraints = self.constraints.clone();
        constraints.optimize(self, optim, lr, grads).expect("dual update")
    }
}

impl InferenceStep for Model {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> ClassificationOutput {
        self.classify(&batch)
    }
}

// ---------------------------------------------------------------- renderer

/// One line per epoch on stderr, with the epoch means burn-train sends at
/// the end of each split (stdout's last line is the JSON summary;
/// burn-train's CLI renderer prints every batch to stdout).
#[derive(Default)]
struct EpochLines {
    names: HashMap<MetricId, String>,
    train: Vec<(String, f64)>,
    valid: Vec<(String, f64)>,
}

fn record(names: &HashMap<MetricId, String>, into: &mut Vec<(String, f64)>, state: MetricState) {
    if let MetricState::Numeric(entry, Some(value)) = state
        && let Some(name) = names.get(&entry.metric_id)
    {
        match into.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.current(),
            None => into.push((name.clone(), value.current())),
        }
    }
}

impl MetricsRendererTraining for EpochLines {
    fn update_train(&mut self, state: MetricState) {
        record(&self.names, &mut self.train, state);
    }

    fn update_valid(&mut self, state: MetricState) {
        record(&self.names, &mut self.valid, state);
    }

    fn on_train_end(&mut self, _summary: Option<LearnerSummary>) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl MetricsRendererEvaluation for EpochLines {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}

    fn on_test_end(&mut self, _summary: Option<LearnerSummary>) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for EpochLines {
    fn start(&mut self, total: usize, starting: usize, _items: Option<usize>, _label: Option<&str>) {
        eprintln!("training epochs {starting}..={total}");
    }

    fn update_epoch(&mut self, epoch: usize) {
        let show = |metrics: &[(String, f64)]| {
            metrics
                .iter()
                .map(|(n, v)| format!("{n} {v:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        eprintln!(
            "epoch {epoch:>2} (epoch means) train: {} | valid: {}",
            show(&self.train),
            show(&self.valid)
        );
    }

    fn start_split(&mut self, _split: &str, _total_items: usize) {}

    fn update_split(&mut self, _items_processed: usize) {}

    fn end_split(&mut self) {}

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for EpochLines {
    fn start_global_progress(&mut self, _total_tests: usize) {}

    fn start_test(&mut self, _name: &str, _total_items: usize) {}

    fn update_test_progress(&mut self, _items_processed: usize) {}

    fn end_test(&mut self) {}

    fn end_global_progress(&mut self) {}

    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for EpochLines {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name.to_string());
    }
}

// ---------------------------------------------------------------- training

struct Data {
    train: Vec<Sample>,
    valid: Vec<Sample>,
}

fn constraints() -> LearnerConstraints {
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least("class0_rate", TRAINING_TARGET)
                .with_formulation(Formulation::lagrangian(GradientAscent::new(0.5))),
        )
        .scheme(UpdateScheme::Simultaneous)
        .build()
        .expect("valid constraints");
    LearnerConstraints::new(dual).expect("a scheme the Learner runs")
}

/// Trains under `directory` up to epoch `epochs`, from scratch or resuming
/// from the checkpoint of epoch `resume`. Returns the trained model.
fn train(data: &Data, directory: &Path, epochs: usize, resume: Option<usize>) -> Model {
    let device = Device::flex().autodiff();
    let constraints = constraints();
    let model = Model::new(&device, constraints.clone());
    // No shuffling: burn-train's checkpoints do not hold the data loader's
    // RNG, so a shuffled run resumes with other batches.
    let loader = |samples: &[Sample]| -> std::sync::Arc<dyn DataLoader<Batch>> {
        DataLoaderBuilder::new(SampleBatcher)
            .batch_size(BATCH)
            .build(InMemDataset::new(samples.to_vec()))
    };
    let mut training = SupervisedTraining::new(directory, loader(&data.train), loader(&data.valid))
        .num_epochs(epochs)
        .metric_train_numeric(LossMetric::new())
        .metric_train_numeric(AccuracyMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .metric_valid_numeric(AccuracyMetric::new())
        .constraint_metrics(&constraints)
        .renderer(Box::new(EpochLines::default()))
        .with_application_logger(None)
        .with_constrained_checkpointers(&constraints, directory, KeepLastNCheckpoints::new(2));
    if let Some(epoch) = resume {
        training = training.checkpoint(epoch);
    }
    // burn's Adam defaults, written out (no paper to follow here): betas 0.9
    // and 0.999, eps 1e-5 (PyTorch's would be 1e-8), no weight decay.
    let adam = AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-5)
        .with_amsgrad(false)
        .with_weight_decay(None);
    let learner = Learner::new(model, adam.init(), 0.05);
    let result = training.launch(learner);
    if let Some(error) = result.error {
        panic!("training failed: {error}");
    }
    result.model
}

/// The share of class-0 predictions and the accuracy of `model` on `samples`.
fn rate_and_accuracy(model: &Model, samples: &[Sample]) -> (f64, f64) {
    let batch = SampleBatcher.batch(samples.to_vec(), &model.linear.weight.val().device());
    let predicted = model.linear.forward(batch.x).argmax(1).squeeze_dim::<1>(1);
    let rate = predicted.clone().equal_elem(0).float().mean().into_scalar::<f64>();
    let accuracy = predicted.equal(batch.y).float().mean().into_scalar::<f64>();
    (rate, accuracy)
}

fn weights_bits(model: &Model) -> Vec<u32> {
    let mut values: Vec<f32> = model.linear.weight.val().into_data().try_to_vec().unwrap_or_default();
    if let Some(bias) = &model.linear.bias {
        values.extend(bias.val().into_data().try_to_vec::<f32>().unwrap_or_default());
    }
    values.into_iter().map(f32::to_bits).collect()
}

fn main() -> ExitCode {
    let mut rng = Rng(SEED);
    let data = Data {
        train: samples(TRAIN, &mut rng),
        valid: samples(VALID, &mut rng),
    };
    let class0 = data.train.iter().filter(|s| s.y == 0).count() as f64 / TRAIN as f64;
    eprintln!("class 0 in the training set: {class0:.3}; required share of class-0 predictions: >= {TARGET}");

    let root = tempfile::tempdir().expect("a temporary directory");
    let straight = root.path().join("straight");
    let resumed = root.path().join("resumed");

    eprintln!("-- uninterrupted run, {EPOCHS} epochs");
    let model = train(&data, &straight, EPOCHS, None);
    eprintln!("-- interrupted run: {RESUME_AT} epochs, then a fresh Learner resumes from its checkpoint");
    let _ = train(&data, &resumed, RESUME_AT, None);
    let dual_saved = dual_checkpoint_path(&resumed, RESUME_AT).exists();
    let again = train(&data, &resumed, EPOCHS, Some(RESUME_AT));

    let constraints = &model.constraints;
    let multipliers = constraints.multipliers("class0_rate").unwrap_or_default();
    let resumed_multipliers = again.constraints.multipliers("class0_rate").unwrap_or_default();
    let state_equal = constraints.state().to_json().ok() == again.constraints.state().to_json().ok();
    let resumed_bit_exact = weights_bits(&model) == weights_bits(&again)
        && multipliers
            .iter()
            .map(|m| m.to_bits())
            .eq(resumed_multipliers.iter().map(|m| m.to_bits()))
        && state_equal
        && constraints.steps() == again.constraints.steps();

    let (train_rate, train_accuracy) = rate_and_accuracy(&model, &data.train);
    let (valid_rate, valid_accuracy) = rate_and_accuracy(&model, &data.valid);
    let constraint_holds = train_rate >= TARGET;
    let metric_log = straight
        .join("train")
        .join(format!("epoch-{EPOCHS}"))
        .join("Multiplier_class0_rate.log");
    let metric_logged = metric_log.exists();

    let summary = serde_json::json!({
        "constraint_holds": constraint_holds,
        "multipliers": multipliers,
        "resumed_bit_exact": resumed_bit_exact,
        "constraint": format!("class0_rate >= {TARGET}"),
        "declared_target": TRAINING_TARGET,
        "train_class0_rate": train_rate,
        "valid_class0_rate": valid_rate,
        "train_accuracy": train_accuracy,
        "valid_accuracy": valid_accuracy,
        "class0_share_of_labels": class0,
        "epochs": EPOCHS,
        "resumed_at": RESUME_AT,
        "dual_steps": constraints.steps(),
        "dual_state_checkpointed": dual_saved,
        "multiplier_metric_logged": metric_logged,
    });
    println!("{summary}");
    if constraint_holds && resumed_bit_exact {
        ExitCode::SUCCESS
    } else {
        eprintln!("FAILED: constraint_holds = {constraint_holds}, resumed_bit_exact = {resumed_bit_exact}");
        ExitCode::FAILURE
    }
}
