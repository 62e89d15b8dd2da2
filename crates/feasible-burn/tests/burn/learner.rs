//! Constrained training through burn-train's `Learner`: the dual update in
//! `optimize`, the metrics, the dual state beside the checkpoints, resuming.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::{Initializer, Module};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use burn_train::checkpoint::KeepLastNCheckpoints;
use burn_train::metric::LossMetric;
use burn_train::{InferenceStep, Learner, RegressionOutput, SupervisedTraining, TrainOutput, TrainStep};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::learner::{
    ConstrainedOutput, ConstrainedTraining, LearnerConstraints, LearnerError, dual_checkpoint_path,
};
use feasible_burn::{ConstraintTensors, Evaluation};

#[derive(Clone, Debug)]
struct Batch {
    x: Tensor<2>,
    y: Tensor<2>,
}

struct Rows;

impl Batcher<[f32; 3], Batch> for Rows {
    fn batch(&self, items: Vec<[f32; 3]>, device: &Device) -> Batch {
        let n = items.len();
        let x: Vec<f32> = items.iter().flat_map(|r| [r[0], r[1]]).collect();
        let y: Vec<f32> = items.iter().map(|r| r[2]).collect();
        Batch {
            x: Tensor::from_data(TensorData::new(x, [n, 2]), device),
            y: Tensor::from_data(TensorData::new(y, [n, 1]), device),
        }
    }
}

#[derive(Module, Debug)]
struct Model {
    linear: Linear,
    #[module(skip)]
    constraints: LearnerConstraints,
}

impl Model {
    fn regress(&self, batch: &Batch) -> RegressionOutput {
        let output = self.linear.forward(batch.x.clone());
        let loss = (output.clone() - batch.y.clone()).powi_scalar(2).mean();
        RegressionOutput::new(loss, output, batch.y.clone())
    }
}

impl TrainStep for Model {
    type Input = Batch;
    type Output = ConstrainedOutput<RegressionOutput>;

    fn step(&self, batch: Batch) -> TrainOutput<Self::Output> {
        let item = self.regress(&batch);
        // Require: the mean output at most -0.5 (the data pull it to ~1).
        let mean = item.output.clone().mean();
        let evaluation = Evaluation::new(item.loss.clone()).with("mean", ConstraintTensors::new(mean));
        self.constraints
            .step(evaluation)
            .expect("constrained step")
            .into_train_output(self, item)
    }

    fn optimize(self, optim: &mut ModuleOptimizer, lr: ModuleLearningRate, grads: GradientsParams) -> Self {
        let constraints = self.constraints.clone();
        constraints.optimize(self, optim, lr, grads).expect("dual update")
    }
}

impl InferenceStep for Model {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> RegressionOutput {
        self.regress(&batch)
    }
}

fn constraints(scheme: UpdateScheme) -> Result<LearnerConstraints, LearnerError> {
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("mean", -0.5).with_formulation(Formulation::lagrangian(GradientAscent::new(0.3))),
        )
        .scheme(scheme)
        .build()
        .map_err(feasible_burn::Error::from)
        .map_err(LearnerError::from)?;
    LearnerConstraints::new(dual)
}

fn rows() -> Vec<[f32; 3]> {
    (0..24)
        .map(|i| {
            let a = (i as f32 * 0.37).sin();
            let b = (i as f32 * 0.91).cos();
            [a, b, 1.0 + 0.5 * a - 0.25 * b]
        })
        .collect()
}

fn loader() -> Arc<dyn DataLoader<Batch>> {
    DataLoaderBuilder::new(Rows)
        .batch_size(8)
        .build(InMemDataset::new(rows()))
}

/// Trains under `directory` to epoch `epochs` (resuming from `resume`);
/// returns the model and its constraints.
fn train(directory: &Path, epochs: usize, resume: Option<usize>) -> Model {
    let device = Device::flex().autodiff();
    let constraints = constraints(UpdateScheme::AlternatingDualPrimal).unwrap();
    let model = Model {
        linear: LinearConfig::new(2, 1)
            .with_initializer(Initializer::Constant { value: 0.1 })
            .init(&device),
        constraints: constraints.clone(),
    };
    let mut training = SupervisedTraining::new(directory, loader(), loader())
        .num_epochs(epochs)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .constraint_metrics(&constraints)
        .with_application_logger(None)
        .renderer(Box::new(burn_train::renderer::CliMetricsRenderer::new()))
        .with_constrained_checkpointers(&constraints, directory, KeepLastNCheckpoints::new(2));
    if let Some(epoch) = resume {
        training = training.checkpoint(epoch);
    }
    let result = training.launch(Learner::new(model, SgdConfig::new().init(), 0.05));
    assert!(result.error.is_none(), "{:?}", result.error);
    result.model
}

fn bits(model: &Model) -> Vec<u32> {
    let mut values = model.linear.weight.val().into_data().try_to_vec::<f32>().unwrap();
    values.extend(
        model
            .linear
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
    );
    values.into_iter().map(f32::to_bits).collect()
}

#[test]
fn the_dual_update_runs_in_optimize_and_the_metrics_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path(), 2, None);
    let constraints = &model.constraints;
    // 24 rows in batches of 8, two epochs: one dual step per optimizer step.
    assert_eq!(constraints.steps(), 6);
    let report = constraints.last_report().unwrap();
    assert_eq!(report.step, 6);
    let multiplier = constraints.multipliers("mean").unwrap()[0];
    assert!(
        multiplier > 0.0,
        "the violated constraint's multiplier grew: {multiplier}"
    );
    // burn-train's file logger wrote the constraint metrics, one line per batch.
    for name in ["Multiplier_mean", "Violation_mean", "Feasible"] {
        let log = dir.path().join("train").join("epoch-2").join(format!("{name}.log"));
        let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        assert!(text.lines().count() >= 3, "{name}: {text}");
    }
    // The multiplier logged for the last batch is the one the optimizer holds.
    let log = std::fs::read_to_string(dir.path().join("train/epoch-2/Multiplier_mean.log")).unwrap();
    let last: f64 = log
        .lines()
        .rfind(|l| !l.ends_with(",final"))
        .and_then(|l| l.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(last, multiplier);
    // The dual state lies beside the checkpoints kept (the last two epochs).
    assert!(dual_checkpoint_path(dir.path(), 1).exists());
    assert!(dual_checkpoint_path(dir.path(), 2).exists());
    assert!(dir.path().join("checkpoint/model-2.bpk").exists());
}

#[test]
fn resuming_through_the_learner_is_bit_exact() {
    let straight = tempfile::tempdir().unwrap();
    let resumed = tempfile::tempdir().unwrap();
    let a = train(straight.path(), 3, None);
    let _ = train(resumed.path(), 1, None);
    let b = train(resumed.path(), 3, Some(1));
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(a.constraints.steps(), b.constraints.steps());
    assert_eq!(
        a.constraints.state().to_json().unwrap(),
        b.constraints.state().to_json().unwrap()
    );
}

#[test]
fn a_resume_without_the_dual_state_fails_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let _ = train(dir.path(), 1, None);
    std::fs::remove_file(dual_checkpoint_path(dir.path(), 1)).unwrap();
    let resumed = std::panic::catch_unwind(|| train(dir.path(), 2, Some(1)));
    let message = match resumed {
        Ok(_) => panic!("resumed without the dual state"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    };
    assert!(message.contains("model checkpoint"), "{message}");
}

#[test]
fn schemes_that_evaluate_twice_are_refused_and_steps_pair_with_commits() {
    for scheme in [UpdateScheme::Extragradient, UpdateScheme::AlternatingPrimalDual] {
        assert!(matches!(constraints(scheme), Err(LearnerError::Scheme { .. })));
    }
    let constraints = constraints(UpdateScheme::Simultaneous).unwrap();
    assert!(matches!(constraints.commit(), Err(LearnerError::NothingToCommit)));
    let device = Device::flex().autodiff();
    let x = Tensor::<1>::from_floats([0.5, -0.2], &device).require_grad();
    let evaluate = || {
        Evaluation::new(x.clone().powi_scalar(2).sum()).with("mean", ConstraintTensors::new(sigmoid(x.clone()).mean()))
    };
    let step = constraints.step(evaluate()).unwrap();
    assert!(step.objective().is_some());
    // The dual state changes only at the commit.
    assert_eq!(constraints.steps(), 0);
    assert!(matches!(constraints.step(evaluate()), Err(LearnerError::Uncommitted)));
    let report = constraints.commit().unwrap();
    assert_eq!(report.step, 1);
    assert_eq!(constraints.steps(), 1);
    // The statistics given at `step` are those of the committed report.
    assert_eq!(
        step.stats().constraint("mean").unwrap().multipliers,
        report.constraints[0].multipliers
    );
}
