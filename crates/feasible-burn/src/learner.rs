//! Constrained training with burn-train's `Learner` (feature `learner`, on by
//! default).
//!
//! The dual state stays host memory, shared through a [`LearnerConstraints`]
//! handle that the model holds in a `#[module(skip)]` field:
//!
//! - [`TrainStep::step`](burn_train::TrainStep::step) evaluates the model and
//!   hands the [`Evaluation`] to [`LearnerConstraints::step`], which reads the
//!   values back (one transaction), computes the primal weights with the
//!   current dual state and returns the objective `loss + Σ coef · value`
//!   (coefficients as constants) to differentiate, and the step's
//!   statistics for the metrics. Nothing changes yet.
//! - [`TrainStep::optimize`](burn_train::TrainStep::optimize) takes the primal
//!   step and then [`LearnerConstraints::commit`]s the dual update from the
//!   same measurements ([`LearnerConstraints::optimize`] does both).
//! - Multipliers, strict violations and feasibility are burn-train numeric
//!   metrics ([`ConstraintMetric`], registered by
//!   [`ConstrainedTraining::constraint_metrics`]): the dashboard shows them and
//!   the metric loggers write them.
//! - The dual state is saved beside every Learner checkpoint
//!   (`checkpoint/dual-{epoch}.json`, next to `model-{epoch}.bpk`, written
//!   atomically with a checksum) and restored when the Learner resumes from a
//!   checkpoint epoch ([`ConstrainedTraining::with_constrained_checkpointers`]).
//!
//! Schemes: simultaneous and alternating dual→primal (the weights of the
//! step's objective are then those of the updated multipliers, computed at
//! `step` from the same measurements the commit uses). The schemes that
//! evaluate the model again within a step (alternating primal→dual,
//! extragradient) are refused by [`LearnerConstraints::new`]: the Learner's
//! step evaluates once. One step, one optimizer step: gradient accumulation
//! and several devices (several `step`s per `optimize`) are refused at the
//! second `step`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::store::ModuleRecord;
use burn::tensor::{ExecutionError, Tensor, TensorReadError};
use burn_train::checkpoint::{
    Checkpointer, CheckpointerError, CheckpointingAction, CheckpointingStrategy, FileCheckpointer,
};
use burn_train::metric::state::{FormatOptions, NumericMetricState};
use burn_train::metric::store::EventStoreClient;
use burn_train::metric::{
    AccuracyInput, Adaptor, ConfusionStatsInput, HammingScoreInput, ItemLazy, LossInput, Metric, MetricAttributes,
    MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry, PerplexityInput, SerializedEntry,
    TopKAccuracyInput,
};
use burn_train::{LearnerModel, SupervisedTraining, TrainOutput, TrainStep};
use feasible::{ConstrainedOptimizer, ConstraintId, DualState, FeasibleError, Measurements, StepReport};

use crate::constraints::{HostValues, objective, read};
use crate::error::Error;
use crate::evaluation::Evaluation;

/// What can go wrong in a Learner step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearnerError {
    /// Reading the evaluation back, or the core's step (invalid values,
    /// unknown names, a dual update that is not finite).
    #[error(transparent)]
    Step(#[from] Error),
    /// A scheme that evaluates the model twice per step.
    #[error(
        "the {scheme} scheme evaluates the model again within a step, which burn-train's Learner does not: \
         use UpdateScheme::Simultaneous or UpdateScheme::AlternatingDualPrimal (or ConstrainedTrainer::step_with)"
    )]
    Scheme {
        /// The scheme's name.
        scheme: &'static str,
    },
    /// `step` was called again before the previous step was committed.
    #[error(
        "the previous step's measurements were not committed: override TrainStep::optimize to call \
         LearnerConstraints::optimize (or commit); gradient accumulation and several devices (several \
         steps per optimizer step) are not supported"
    )]
    Uncommitted,
    /// `commit` without a `step` before it.
    #[error("nothing to commit: LearnerConstraints::step was not called since the last commit")]
    NothingToCommit,
}

impl From<FeasibleError> for LearnerError {
    fn from(error: FeasibleError) -> Self {
        LearnerError::Step(Error::Core(error))
    }
}

struct Shared {
    dual: ConstrainedOptimizer,
    names: Vec<(String, ConstraintId)>,
    /// The measurements of the step taken and not yet committed.
    pending: Option<Measurements>,
    last: Option<StepReport>,
}

/// The constraints of a model trained with burn-train's `Learner`: a cheap,
/// cloneable handle on the [`ConstrainedOptimizer`] (host memory, behind a
/// mutex), shared by the model (keep it in a `#[module(skip)]` field: it is
/// cloned with the model, never recorded as a parameter), the training step,
/// and the checkpointers.
#[derive(Clone)]
pub struct LearnerConstraints {
    shared: Arc<Mutex<Shared>>,
}

impl fmt::Debug for LearnerConstraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.lock();
        f.debug_struct("LearnerConstraints")
            .field("constraints", &shared.names.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("steps", &shared.dual.steps())
            .finish_non_exhaustive()
    }
}

/// What [`LearnerConstraints::step`] gives the training step: the objective to
/// differentiate and the statistics for the metrics.
#[derive(Debug)]
pub struct ConstrainedStep {
    objective: Option<Tensor<1>>,
    stats: ConstraintStats,
}

impl ConstrainedStep {
    /// `loss + Σ coef · value`, the coefficients as constants (`None` for a
    /// feasibility problem whose weights are all zero: nothing to descend).
    pub fn objective(&self) -> Option<&Tensor<1>> {
        self.objective.as_ref()
    }

    /// The step's statistics (multipliers after the dual update this step
    /// will commit, strict violations, feasibility).
    pub fn stats(&self) -> &ConstraintStats {
        &self.stats
    }

    /// Differentiates the objective with respect to `model`'s parameters and
    /// wraps `item` with the statistics: the value `TrainStep::step` returns.
    pub fn into_train_output<M: Module, O>(self, model: &M, item: O) -> TrainOutput<ConstrainedOutput<O>> {
        let grads = match self.objective {
            Some(objective) if objective.is_tracked() => GradientsParams::from_grads(objective.backward(), model),
            _ => GradientsParams::new(),
        };
        TrainOutput {
            grads,
            item: ConstrainedOutput {
                output: item,
                constraints: self.stats,
            },
        }
    }
}

impl LearnerConstraints {
    /// A handle on `dual`. Refuses the schemes that evaluate the model twice
    /// per step (alternating primal→dual, extragradient).
    pub fn new(dual: ConstrainedOptimizer) -> Result<Self, LearnerError> {
        let scheme = dual.scheme();
        if scheme.remeasures() {
            return Err(LearnerError::Scheme { scheme: scheme.name() });
        }
        let names = dual
            .constraints()
            .iter()
            .map(|c| Ok((c.name().to_string(), dual.id(c.name())?)))
            .collect::<Result<_, FeasibleError>>()?;
        Ok(Self {
            shared: Arc::new(Mutex::new(Shared {
                dual,
                names,
                pending: None,
                last: None,
            })),
        })
    }

    /// The dual state changes only through `commit` and `restore`, each of
    /// which leaves it whole (the core's steps are all-or-nothing), so a
    /// lock poisoned by a panic elsewhere still guards a consistent state.
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads `evaluation` back, computes the primal weights with the current
    /// dual state, and returns the objective and the statistics. The dual
    /// state does not change; the measurements wait for
    /// [`LearnerConstraints::commit`].
    pub fn step(&self, evaluation: Evaluation) -> Result<ConstrainedStep, LearnerError> {
        let mut shared = self.lock();
        if shared.pending.is_some() {
            return Err(LearnerError::Uncommitted);
        }
        let measurements = read(&shared.names, &[&evaluation], true)?
            .into_iter()
            .next()
            .map(HostValues::into_measurements)
            .ok_or_else(|| Error::Readback {
                reason: "no values were read back".to_string(),
            })?;
        let pending = shared.dual.begin(measurements.clone())?;
        let weights = pending.weights().clone();
        let stats = pending.report().map(ConstraintStats::from_report).unwrap_or_default();
        drop(pending);
        let objective = objective(&shared.names, evaluation, &weights, None)?;
        shared.pending = Some(measurements);
        Ok(ConstrainedStep { objective, stats })
    }

    /// The dual update of the step taken by [`LearnerConstraints::step`], from
    /// its measurements (call it after the primal step, in
    /// `TrainStep::optimize`). On error the dual state is unchanged and the
    /// measurements are dropped.
    pub fn commit(&self) -> Result<StepReport, LearnerError> {
        let mut shared = self.lock();
        let measurements = shared.pending.take().ok_or(LearnerError::NothingToCommit)?;
        let report = shared.dual.begin(measurements)?.commit()?;
        shared.last = Some(report.clone());
        Ok(report)
    }

    /// The body of `TrainStep::optimize`: the primal step with burn's
    /// optimizer, then the dual update.
    ///
    /// ```text
    /// fn optimize(self, optim: &mut ModuleOptimizer, lr: ModuleLearningRate, grads: GradientsParams) -> Self {
    ///     let constraints = self.constraints.clone();
    ///     constraints.optimize(self, optim, lr, grads).expect("dual update")
    /// }
    /// ```
    ///
    /// (`examples/learner.rs` has the whole training step.)
    pub fn optimize<M: Module>(
        &self,
        model: M,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Result<M, LearnerError> {
        // Refused before the primal step, so burn's optimizer state is
        // untouched when there is nothing to commit.
        if self.lock().pending.is_none() {
            return Err(LearnerError::NothingToCommit);
        }
        let model = optim.step(lr, model, grads);
        self.commit()?;
        Ok(model)
    }

    /// Runs `f` on the dual side (multipliers, constraints, steps).
    pub fn with_dual<R>(&self, f: impl FnOnce(&ConstrainedOptimizer) -> R) -> R {
        f(&self.lock().dual)
    }

    /// The multipliers of the constraint called `name` (`None` for an unknown
    /// name or a formulation without multipliers).
    pub fn multipliers(&self, name: &str) -> Option<Vec<f64>> {
        self.lock().dual.multipliers(name).ok().flatten().map(<[f64]>::to_vec)
    }

    /// The constraints' names, in declaration order.
    pub fn names(&self) -> Vec<String> {
        self.lock().names.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The number of committed dual steps.
    pub fn steps(&self) -> u64 {
        self.lock().dual.steps()
    }

    /// A copy of the whole dual state.
    pub fn state(&self) -> DualState {
        self.lock().dual.state()
    }

    /// Replaces the dual state (see [`ConstrainedOptimizer::restore`]); drops
    /// any uncommitted measurements.
    pub fn restore(&self, state: DualState) -> Result<(), LearnerError> {
        let mut shared = self.lock();
        shared.dual.restore(state)?;
        shared.pending = None;
        shared.last = None;
        Ok(())
    }

    /// The report of the last committed step.
    pub fn last_report(&self) -> Option<StepReport> {
        self.lock().last.clone()
    }

    /// One metric per constraint for its multipliers (largest entry) when its
    /// formulation has any, one for its largest strict violation, and one for
    /// feasibility: what [`ConstrainedTraining::constraint_metrics`] registers.
    pub fn metrics(&self) -> Vec<ConstraintMetric> {
        let shared = self.lock();
        let mut metrics = Vec::new();
        for (name, _) in &shared.names {
            if shared.dual.multipliers(name).ok().flatten().is_some() {
                metrics.push(ConstraintMetric::multiplier(name));
            }
            metrics.push(ConstraintMetric::violation(name));
        }
        metrics.push(ConstraintMetric::feasible());
        metrics
    }
}

/// The file beside the Learner's checkpoint of `epoch` that holds the dual
/// state: `{directory}/checkpoint/dual-{epoch}.json`, `directory` being the
/// one given to `SupervisedTraining::new`.
pub fn dual_checkpoint_path(directory: impl AsRef<Path>, epoch: usize) -> PathBuf {
    directory.as_ref().join("checkpoint").join(format!("dual-{epoch}.json"))
}

/// One constraint's statistics in one step.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstraintStat {
    /// The constraint's name.
    pub name: Arc<str>,
    /// The multipliers after the step's dual update (`None` for a penalty).
    pub multipliers: Option<Vec<f64>>,
    /// The largest strict violation of the step (positive: not satisfied).
    pub max_violation: f64,
    /// Whether every entry holds.
    pub feasible: bool,
}

/// The statistics of one Learner step: the input of every [`ConstraintMetric`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConstraintStats {
    /// The step's number (counting from 1).
    pub step: u64,
    /// Whether every constraint holds.
    pub feasible: bool,
    /// One entry per constraint, in declaration order.
    pub constraints: Vec<ConstraintStat>,
}

impl ConstraintStats {
    /// The statistics of a step's report.
    pub fn from_report(report: &StepReport) -> Self {
        Self {
            step: report.step,
            feasible: report.feasible,
            constraints: report
                .constraints
                .iter()
                .map(|c| ConstraintStat {
                    name: Arc::clone(&c.name),
                    multipliers: c.multipliers.clone(),
                    max_violation: c.violation.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    feasible: c.feasible,
                })
                .collect(),
        }
    }

    /// The statistics of the constraint called `name`.
    pub fn constraint(&self, name: &str) -> Option<&ConstraintStat> {
        self.constraints.iter().find(|c| &*c.name == name)
    }
}

/// A training step's output item with the constraint statistics: the
/// `TrainStep::Output` of a constrained model. Adapts to the
/// [`ConstraintMetric`]s and, through `output`, to burn-train's loss,
/// accuracy, top-k accuracy, perplexity, confusion-stats (precision, recall,
/// F-score) and Hamming metrics.
#[derive(Debug)]
pub struct ConstrainedOutput<O> {
    /// The model's own output item (e.g. `ClassificationOutput`).
    pub output: O,
    /// The constraint statistics.
    pub constraints: ConstraintStats,
}

impl<O: ItemLazy> ItemLazy for ConstrainedOutput<O> {
    fn sync(self) -> Result<Self, ExecutionError> {
        Ok(Self {
            output: self.output.sync()?,
            constraints: self.constraints,
        })
    }
}

impl<O> Adaptor<ConstraintStats> for ConstrainedOutput<O> {
    fn adapt(&self) -> ConstraintStats {
        self.constraints.clone()
    }
}

macro_rules! forward_adaptor {
    ($($input:ty),*) => {$(
        impl<O: Adaptor<$input>> Adaptor<$input> for ConstrainedOutput<O> {
            fn adapt(&self) -> $input {
                self.output.adapt()
            }
        }
    )*};
}

forward_adaptor!(
    LossInput,
    AccuracyInput,
    TopKAccuracyInput,
    PerplexityInput,
    ConfusionStatsInput,
    HammingScoreInput
);

#[derive(Clone, Debug)]
enum Kind {
    Multiplier(Arc<str>),
    Violation(Arc<str>),
    Feasible,
}

/// A burn-train numeric metric of the constraints: a constraint's multiplier
/// (the largest entry, after each step's dual update), its largest strict
/// violation, or whether every constraint holds (1 or 0; its epoch value is
/// the fraction of feasible batches).
#[derive(Clone)]
pub struct ConstraintMetric {
    kind: Kind,
    name: MetricName,
    state: NumericMetricState,
}

impl fmt::Debug for ConstraintMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConstraintMetric").field("name", &self.name).finish()
    }
}

impl ConstraintMetric {
    fn with(kind: Kind, name: String) -> Self {
        Self {
            kind,
            name: Arc::new(name),
            state: NumericMetricState::new(),
        }
    }

    /// The multiplier of the constraint called `constraint` (its largest
    /// entry), named `Multiplier {constraint}`.
    pub fn multiplier(constraint: &str) -> Self {
        Self::with(Kind::Multiplier(constraint.into()), format!("Multiplier {constraint}"))
    }

    /// The largest strict violation of the constraint called `constraint`
    /// (positive: not satisfied), named `Violation {constraint}`.
    pub fn violation(constraint: &str) -> Self {
        Self::with(Kind::Violation(constraint.into()), format!("Violation {constraint}"))
    }

    /// 1 when every constraint holds in the batch, else 0, named `Feasible`.
    pub fn feasible() -> Self {
        Self::with(Kind::Feasible, "Feasible".to_string())
    }

    fn value(&self, stats: &ConstraintStats) -> f64 {
        match &self.kind {
            Kind::Feasible => f64::from(u8::from(stats.feasible)),
            Kind::Multiplier(name) => stats
                .constraint(name)
                .and_then(|c| c.multipliers.as_ref())
                .map_or(f64::NAN, |m| m.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            Kind::Violation(name) => stats.constraint(name).map_or(f64::NAN, |c| c.max_violation),
        }
    }

    fn format(&self) -> FormatOptions {
        FormatOptions::new(self.name.clone()).precision(4)
    }
}

impl Metric for ConstraintMetric {
    type Input = ConstraintStats;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn description(&self) -> Option<String> {
        Some(match &self.kind {
            Kind::Multiplier(name) => format!("the multiplier of constraint `{name}` (largest entry)"),
            Kind::Violation(name) => format!("the largest strict violation of constraint `{name}`"),
            Kind::Feasible => "1 when every constraint holds in the batch".to_string(),
        })
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: None,
            higher_is_better: matches!(self.kind, Kind::Feasible),
        }
        .into()
    }

    fn update(
        &mut self,
        item: &ConstraintStats,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        self.state.update(self.value(item), 1);
        Ok(self.state.compute_update(self.format()))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self.state.compute_final(self.format()))
    }

    fn clear(&mut self) {
        self.state.reset();
    }
}

impl Numeric for ConstraintMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}

/// Saves the dual state beside every checkpoint the wrapped strategy asks
/// for, and deletes it with the checkpoint.
///
/// burn-train asks the strategy on the training thread, after the epoch and
/// before the (asynchronous) model and optimizer saves: the state written is
/// exactly the one at the end of the epoch. (A checkpointer of the model
/// record runs on its own thread while the next epoch starts, so it could
/// not read the dual state of the right step.)
pub struct DualCheckpointing<S> {
    inner: S,
    directory: PathBuf,
    constraints: LearnerConstraints,
}

impl<S> DualCheckpointing<S> {
    /// Wraps `inner`; `directory` is the one given to `SupervisedTraining::new`.
    pub fn new(inner: S, directory: impl AsRef<Path>, constraints: &LearnerConstraints) -> Self {
        Self {
            inner,
            directory: directory.as_ref().to_path_buf(),
            constraints: constraints.clone(),
        }
    }
}

impl<S: CheckpointingStrategy> CheckpointingStrategy for DualCheckpointing<S> {
    fn checkpointing(&mut self, epoch: usize, store: &EventStoreClient) -> Vec<CheckpointingAction> {
        let actions = self.inner.checkpointing(epoch, store);
        for action in &actions {
            match action {
                CheckpointingAction::Save => {
                    let path = dual_checkpoint_path(&self.directory, epoch);
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).ok();
                    }
                    // burn-train's own checkpointing panics when a save fails
                    // here too (`LearningCheckpointer::checkpoint`).
                    if let Err(e) = self.constraints.state().save(&path) {
                        panic!("cannot save the dual state to {}: {e}", path.display());
                    }
                }
                CheckpointingAction::Delete(old) => {
                    let path = dual_checkpoint_path(&self.directory, *old);
                    if path.exists()
                        && let Err(e) = std::fs::remove_file(&path)
                    {
                        log::warn!("cannot delete {}: {e}", path.display());
                    }
                }
            }
        }
        actions
    }
}

/// The model checkpointer of a constrained Learner: burn-train's
/// `FileCheckpointer` for the model record (`checkpoint/model-{epoch}.bpk`),
/// which on restore also restores the dual state saved beside it by
/// [`DualCheckpointing`]. A missing or corrupted dual state fails the
/// restore with the reason.
pub struct DualRestoringCheckpointer {
    inner: FileCheckpointer,
    directory: PathBuf,
    constraints: LearnerConstraints,
}

impl DualRestoringCheckpointer {
    /// The model checkpointer under `directory` (the one given to
    /// `SupervisedTraining::new`).
    pub fn new(directory: impl AsRef<Path>, constraints: &LearnerConstraints) -> Self {
        let directory = directory.as_ref().to_path_buf();
        Self {
            inner: FileCheckpointer::new(directory.join("checkpoint"), "model"),
            directory,
            constraints: constraints.clone(),
        }
    }
}

impl Checkpointer<ModuleRecord> for DualRestoringCheckpointer {
    fn save(&self, epoch: usize, record: ModuleRecord) -> Result<(), CheckpointerError> {
        self.inner.save(epoch, record)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<ModuleRecord>::delete(&self.inner, epoch)
    }

    fn restore(&self, epoch: usize) -> Result<ModuleRecord, CheckpointerError> {
        let path = dual_checkpoint_path(&self.directory, epoch);
        let state = DualState::load(&path)
            .map_err(|e| CheckpointerError::Unknown(format!("the dual state of epoch {epoch}: {e}")))?;
        let record = self.inner.restore(epoch)?;
        self.constraints
            .restore(state)
            .map_err(|e| CheckpointerError::Unknown(format!("the dual state of epoch {epoch}: {e}")))?;
        Ok(record)
    }
}

/// Constraint metrics and checkpoints for burn-train's `SupervisedTraining`.
pub trait ConstrainedTraining: Sized {
    /// Registers [`LearnerConstraints::metrics`] as numeric training metrics.
    fn constraint_metrics(self, constraints: &LearnerConstraints) -> Self;

    /// Checkpoints the model, the optimizer and the scheduler as
    /// `with_default_checkpointers` does (`{directory}/checkpoint/*.bpk`,
    /// `directory` being the one given to `SupervisedTraining::new`), the dual
    /// state beside them at every checkpoint `strategy` saves, and restores it
    /// with the model when the Learner resumes (`.checkpoint(epoch)`).
    ///
    /// Call it last among the checkpointing settings: a later
    /// `with_checkpointing_strategy` would drop the dual state's saves (a
    /// resume would then fail, naming the missing file).
    fn with_constrained_checkpointers<S: CheckpointingStrategy + 'static>(
        self,
        constraints: &LearnerConstraints,
        directory: impl AsRef<Path>,
        strategy: S,
    ) -> Self;
}

impl<M> ConstrainedTraining for SupervisedTraining<M>
where
    M: LearnerModel,
    <M as TrainStep>::Output: Adaptor<ConstraintStats>,
{
    fn constraint_metrics(self, constraints: &LearnerConstraints) -> Self {
        constraints
            .metrics()
            .into_iter()
            .fold(self, |training, metric| training.metric_train_numeric(metric))
    }

    fn with_constrained_checkpointers<S: CheckpointingStrategy + 'static>(
        self,
        constraints: &LearnerConstraints,
        directory: impl AsRef<Path>,
        strategy: S,
    ) -> Self {
        let directory = directory.as_ref();
        let checkpoints = directory.join("checkpoint");
        self.with_custom_checkpointers(
            DualRestoringCheckpointer::new(directory, constraints),
            FileCheckpointer::new(&checkpoints, "optim"),
            FileCheckpointer::new(&checkpoints, "scheduler"),
        )
        .with_checkpointing_strategy(DualCheckpointing::new(strategy, directory, constraints))
    }
}
