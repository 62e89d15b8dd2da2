//! The constrained trainer: a burn primal optimizer plus the framework-free
//! dual side, stepping a burn module.
//!
//! Each step reads the loss and the constraint values back to the host in
//! one transaction, lets the core compute the primal weights `w` and the
//! dual update in `f64`, and descends
//!
//! ```text
//! objective = loss + Σ_k  coef_k · value_k,     coef_k = s_k w_k
//! ```
//!
//! where the coefficients are plain numbers (or constant tensors built from
//! host data), never tensors carried from step to step. Nothing of the dual
//! state enters burn's autodiff graph, so the cost of a step does not grow
//! with the number of steps (a value carried across steps on the autodiff
//! device makes every step slower than the last; see BENCHMARKS.md).

use std::fmt;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use feasible::{
    ConstrainedOptimizer, ConstraintId, FeasibleError, Measurements, PrimalProblem, PrimalWeights, StepReport,
    UpdateScheme,
};

use crate::constraints::{self, Constraints};
use crate::error::{Error, Result};
use crate::evaluation::Evaluation;

/// A step that failed, with the model it was given, unchanged.
pub struct StepError<M> {
    /// The model as it was before the step.
    pub model: M,
    /// What went wrong.
    pub error: Error,
}

impl<M> fmt::Debug for StepError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<M> fmt::Display for StepError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<M> std::error::Error for StepError<M> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<M> From<StepError<M>> for Error {
    fn from(step: StepError<M>) -> Self {
        step.error
    }
}

/// Trains a burn module under constraints.
///
/// Owns the primal optimizer (any burn [`ModuleOptimizer`]: SGD, Adam, ...)
/// and the [`ConstrainedOptimizer`] holding the constraints and their dual
/// state. Takes the model by value and gives it back, as burn's own
/// optimizers do; a step that fails gives back the model it was given.
pub struct ConstrainedTrainer {
    constraints: Constraints,
    primal: ModuleOptimizer,
    /// The declared configuration of `primal`: its type and hyperparameters.
    primal_config: Option<String>,
    lr: f64,
    /// The device whose RNG is reseeded before each evaluation, and the seed.
    rng: Option<(Device, u64)>,
}

impl fmt::Debug for ConstrainedTrainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConstrainedTrainer")
            .field("dual", &self.constraints.optimizer)
            .field("lr", &self.lr)
            .finish_non_exhaustive()
    }
}

impl ConstrainedTrainer {
    /// A trainer with primal optimizer `primal` (e.g. `SgdConfig::new().init()`)
    /// at learning rate `lr`, and the constraints of `dual`.
    pub fn new(dual: ConstrainedOptimizer, primal: impl Into<ModuleOptimizer>, lr: f64) -> Result<Self> {
        check_lr(lr)?;
        Ok(Self {
            constraints: Constraints::new(dual),
            primal: primal.into(),
            primal_config: None,
            lr,
            rng: None,
        })
    }

    /// Reseeds `device`'s random number generator before every evaluation
    /// from `seed`, the step number and the evaluation's index within the
    /// step (extragradient and alternating primal→dual evaluate twice). The
    /// random numbers a step draws (dropout masks, sampled data) then
    /// depend on nothing else, so a run resumed from a checkpoint draws the
    /// same ones: burn's RNG state itself cannot be saved.
    pub fn with_rng(mut self, device: Device, seed: u64) -> Self {
        self.rng = Some((device, seed));
        self
    }

    /// Declares `config` the configuration the primal optimizer was built
    /// from (`ConstrainedTrainer::new(dual, config.init(), lr)
    /// .with_primal_config(&config)`): a checkpoint records its type and
    /// hyperparameters, and a trainer that declares another (or none) refuses
    /// it with [`Error::PrimalOptimizerMismatch`].
    ///
    /// Undeclared, a load still refuses the state of an optimizer of another
    /// kind (an Adam state into SGD, say: burn's optimizer would drop what it
    /// cannot rebuild), but not one of the same kind with other
    /// hyperparameters.
    pub fn with_primal_config<C: burn::config::Config>(mut self, config: &C) -> Self {
        self.primal_config = Some(format!("{} {config:?}", std::any::type_name::<C>()));
        self
    }

    /// The primal optimizer's configuration declared with
    /// [`ConstrainedTrainer::with_primal_config`]: its type and
    /// hyperparameters, as checkpoints record them.
    pub fn primal_config(&self) -> Option<&str> {
        self.primal_config.as_deref()
    }

    /// Reseeds the RNG for the next step's first evaluation (see
    /// [`ConstrainedTrainer::with_rng`]); call it before evaluating the model
    /// yourself for [`ConstrainedTrainer::step`]. `step_with` does it itself.
    pub fn reseed(&self) {
        if let Some((device, seed)) = &self.rng {
            device.seed(step_seed(*seed, self.constraints.optimizer.steps(), 0));
        }
    }

    /// The seed given to [`ConstrainedTrainer::with_rng`].
    pub fn seed(&self) -> Option<u64> {
        self.rng.as_ref().map(|(_, seed)| *seed)
    }

    /// Replaces the seed of a trainer that has a seeded device (a loaded
    /// checkpoint's seed).
    pub(crate) fn set_seed(&mut self, seed: Option<u64>) {
        if let (Some((_, current)), Some(seed)) = (&mut self.rng, seed) {
            *current = seed;
        }
    }

    /// The dual side: constraints, multipliers, dual state.
    pub fn dual(&self) -> &ConstrainedOptimizer {
        &self.constraints.optimizer
    }

    /// The dual side, mutably (to restore a saved dual state, say).
    pub fn dual_mut(&mut self) -> &mut ConstrainedOptimizer {
        &mut self.constraints.optimizer
    }

    /// The constraints and dual state, for a step of your own
    /// ([`Constraints::lagrangian`]).
    pub fn constraints(&mut self) -> &mut Constraints {
        &mut self.constraints
    }

    /// The primal optimizer (its state can be saved with burn's
    /// `ModuleOptimizer::into_bytes`).
    pub fn primal(&self) -> &ModuleOptimizer {
        &self.primal
    }

    /// Replaces the primal optimizer (to load a saved one). The declared
    /// configuration ([`ConstrainedTrainer::with_primal_config`]) is kept:
    /// replace it with one built from that configuration.
    pub fn set_primal(&mut self, primal: ModuleOptimizer) {
        self.primal = primal;
    }

    /// The primal learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Changes the primal learning rate (a schedule, say).
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        self.lr = check_lr(lr)?;
        Ok(())
    }

    /// The id of the constraint called `name`.
    pub fn id(&self, name: &str) -> Result<ConstraintId> {
        self.constraints.id(name)
    }

    /// One step from an evaluation of `model` made by the caller (`loss` and
    /// constraint tensors computed from `model` on an autodiff device).
    ///
    /// Works with the simultaneous and alternating dual→primal schemes; the
    /// alternating primal→dual and extragradient schemes evaluate the model
    /// again within the step and need [`ConstrainedTrainer::step_with`].
    pub fn step<M: Module>(&mut self, model: M, evaluation: Evaluation) -> Result<(M, StepReport), StepError<M>> {
        if self.constraints.optimizer.scheme().remeasures() {
            return Err(StepError {
                model,
                error: Error::NeedsEvaluator,
            });
        }
        self.one_measurement(model, evaluation)
    }

    /// One step, evaluating `model` with `evaluate` (once, or twice for the
    /// alternating primal→dual scheme, at the new point, and for
    /// extragradient, at the lookahead point).
    ///
    /// Extragradient moves the model twice from the same starting point:
    /// the lookahead `x̃ = opt(x, ∇L(x))`, then the update
    /// `x' = opt(x, ∇L(x̃))`. A stateful primal optimizer (Adam) advances its
    /// state at both, as Extra-Adam does (Gidel et al. 2019).
    pub fn step_with<M: Module, F: FnMut(&M) -> Evaluation>(
        &mut self,
        model: M,
        mut evaluate: F,
    ) -> Result<(M, StepReport), StepError<M>> {
        let steps = self.constraints.optimizer.steps();
        match self.constraints.optimizer.scheme() {
            UpdateScheme::Extragradient => self.extragradient(model, evaluate),
            UpdateScheme::AlternatingPrimalDual => {
                // Built on the caller's-loop API: the Lagrangian at x_t, the
                // primal step, the constraints at x_{t+1}, the commit. A
                // failing commit gives back the starting model and the
                // optimizer's state.
                seed_evaluation(&self.rng, steps, 0);
                let evaluation = evaluate(&model);
                let (objective, pending) = match self.constraints.begin(evaluation) {
                    Ok(begun) => begun,
                    Err(error) => return Err(StepError { model, error }),
                };
                let gradients = gradients(objective, &model);
                let backup = self.primal.clone();
                let next = self.primal.step(self.lr, model.clone(), gradients);
                seed_evaluation(&self.rng, steps, 1);
                match pending.commit_measured(evaluate(&next)) {
                    Ok(report) => Ok((next, report)),
                    Err(error) => {
                        self.primal = backup;
                        Err(StepError { model, error })
                    }
                }
            }
            UpdateScheme::Simultaneous | UpdateScheme::AlternatingDualPrimal => {
                seed_evaluation(&self.rng, steps, 0);
                let evaluation = evaluate(&model);
                self.one_measurement(model, evaluation)
            }
        }
    }

    /// A step of a one-measurement scheme, on the caller's-loop API: the
    /// Lagrangian, the primal step, the commit.
    fn one_measurement<M: Module>(
        &mut self,
        model: M,
        evaluation: Evaluation,
    ) -> Result<(M, StepReport), StepError<M>> {
        let (objective, pending) = match self.constraints.begin(evaluation) {
            Ok(begun) => begun,
            Err(error) => return Err(StepError { model, error }),
        };
        let gradients = gradients(objective, &model);
        let model = self.primal.step(self.lr, model, gradients);
        match pending.commit() {
            Ok(report) => Ok((model, report)),
            // Not reached: a one-measurement scheme's commit cannot fail.
            Err(error) => Err(StepError { model, error }),
        }
    }

    /// Extragradient, which measures a lookahead point within the step:
    /// through the core's `step` with a [`PrimalProblem`].
    fn extragradient<M: Module, F: FnMut(&M) -> Evaluation>(
        &mut self,
        model: M,
        evaluate: F,
    ) -> Result<(M, StepReport), StepError<M>> {
        let rng = self
            .rng
            .as_ref()
            .map(|(device, seed)| (device.clone(), *seed, self.constraints.optimizer.steps()));
        let mut problem = BurnStep {
            models: [Some(model), None, None],
            used: 1,
            primal: &mut self.primal,
            primal_backup: None,
            lr: self.lr,
            names: &self.constraints.names,
            evaluate: Some(evaluate),
            pending: None,
            rng,
            evaluations: 0,
            measured: START,
        };
        let result = self.constraints.optimizer.step(&mut problem, &START);
        let backup = problem.primal_backup.take();
        match result {
            Ok((slot, report)) => match problem.models.get_mut(slot).and_then(Option::take) {
                Some(model) => Ok((model, report)),
                None => unreachable!("the step's final model is in its slot"),
            },
            Err(error) => {
                // Everything after a primal step can only fail in schemes
                // that keep the starting model and back the optimizer up.
                let Some(model) = problem.models[START].take() else {
                    unreachable!("the starting model is kept until the step succeeds")
                };
                if let Some(primal) = backup {
                    self.primal = primal;
                }
                Err(StepError {
                    model,
                    error: unwrap_primal(error),
                })
            }
        }
    }
}

/// The slot of the model a step starts from.
const START: usize = 0;

/// The seed of evaluation `evaluation` of step `step` (SplitMix64 of the
/// three, so nearby steps get unrelated seeds).
fn step_seed(seed: u64, step: u64, evaluation: u64) -> u64 {
    let mut z = seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ evaluation.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn check_lr(lr: f64) -> Result<f64> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(lr)
    } else {
        Err(Error::InvalidLearningRate { value: lr })
    }
}

/// Errors raised by the burn side come back from the core wrapped as
/// `FeasibleError::Primal`; give them back their own type.
fn unwrap_primal(error: FeasibleError) -> Error {
    match error {
        FeasibleError::Primal { source } => match source.downcast::<Error>() {
            Ok(own) => *own,
            Err(other) => Error::Core(FeasibleError::Primal { source: other }),
        },
        other => Error::Core(other),
    }
}

/// Reseeds the device's RNG for evaluation `evaluation` of step `step`.
fn seed_evaluation(rng: &Option<(Device, u64)>, step: u64, evaluation: u64) {
    if let Some((device, seed)) = rng {
        device.seed(step_seed(*seed, step, evaluation));
    }
}

/// The gradients of `objective` for `model`'s parameters; none when there
/// is nothing to descend (a feasibility problem whose weights are all zero).
fn gradients<M: Module>(objective: Option<Tensor<1>>, model: &M) -> GradientsParams {
    match objective {
        Some(objective) if objective.is_tracked() => GradientsParams::from_grads(objective.backward(), model),
        _ => GradientsParams::new(),
    }
}

/// The core's view of one extragradient step. A point is a slot in
/// `models`: the starting model is slot 0, every primal step puts its
/// result in the next slot (two primal steps per step: the lookahead and
/// the update). The starting model is kept (the step moves from it twice;
/// a failure gives it back) and the primal optimizer is backed up.
struct BurnStep<'a, M, F> {
    models: [Option<M>; 3],
    /// Slots in use.
    used: usize,
    primal: &'a mut ModuleOptimizer,
    primal_backup: Option<ModuleOptimizer>,
    lr: f64,
    names: &'a [(String, ConstraintId)],
    evaluate: Option<F>,
    pending: Option<Evaluation>,
    /// Device, seed and step number, to reseed before each evaluation.
    rng: Option<(Device, u64, u64)>,
    evaluations: u64,
    /// The slot of the last evaluated model (whose graph `pending` holds).
    measured: usize,
}

impl<M: Module, F: FnMut(&M) -> Evaluation> PrimalProblem for BurnStep<'_, M, F> {
    type Point = usize;
    type Error = Error;

    fn measure(&mut self, slot: &usize) -> Result<Measurements> {
        if let Some((device, seed, step)) = &self.rng {
            device.seed(step_seed(*seed, *step, self.evaluations));
        }
        let evaluation = match (&mut self.evaluate, self.models.get(*slot).and_then(Option::as_ref)) {
            (Some(evaluate), Some(model)) => evaluate(model),
            _ => return Err(Error::NeedsEvaluator),
        };
        self.evaluations += 1;
        let measurements = constraints::read(self.names, &[&evaluation], true)?
            .pop()
            .map(constraints::HostValues::into_measurements)
            .ok_or(Error::NeedsEvaluator)?;
        self.pending = Some(evaluation);
        self.measured = *slot;
        Ok(measurements)
    }

    fn descend(&mut self, from: &usize, at: &usize, weights: &PrimalWeights) -> Result<usize> {
        // The graph held is of the model last measured: the gradient must be
        // taken there.
        if *at != self.measured {
            return Err(Error::GradientPoint {
                requested: *at,
                measured: self.measured,
            });
        }
        let Some(evaluation) = self.pending.take() else {
            return Err(Error::NeedsEvaluator);
        };
        let objective = constraints::objective(self.names, evaluation, weights, None)?;
        // Gradients are looked up through the tensors of the model that was
        // evaluated, and keyed by parameter id, which every step keeps: so
        // they apply to `from` as well (the lookahead's gradients, the saved
        // model).
        let gradients = match self.models.get(self.measured).and_then(Option::as_ref) {
            Some(evaluated) => gradients(objective, evaluated),
            None => return Err(Error::NeedsEvaluator),
        };
        let model = match self.models.get_mut(*from) {
            Some(slot) if *from == START => slot.clone(),
            Some(slot) => slot.take(),
            None => None,
        };
        let Some(model) = model else {
            return Err(Error::NeedsEvaluator);
        };
        if self.used == self.models.len() {
            return Err(Error::NeedsEvaluator);
        }
        if self.primal_backup.is_none() {
            self.primal_backup = Some(self.primal.clone());
        }
        self.models[self.used] = Some(self.primal.step(self.lr, model, gradients));
        self.used += 1;
        Ok(self.used - 1)
    }
}
