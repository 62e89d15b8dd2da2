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
use burn::tensor::{Device, Tensor, TensorData, Transaction};
use feasible::{
    ConstrainedOptimizer, ConstraintId, FeasibleError, Measurement, Measurements, PrimalProblem, PrimalWeights,
    StepReport,
};

use crate::error::{Error, Result};
use crate::evaluation::{ConstraintTensors, Evaluation, Key, Strict};

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
    dual: ConstrainedOptimizer,
    primal: ModuleOptimizer,
    lr: f64,
    /// Names and ids of the constraints, in declaration order.
    names: Vec<(String, ConstraintId)>,
    /// The device whose RNG is reseeded before each evaluation, and the seed.
    rng: Option<(Device, u64)>,
}

impl fmt::Debug for ConstrainedTrainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConstrainedTrainer")
            .field("dual", &self.dual)
            .field("lr", &self.lr)
            .finish_non_exhaustive()
    }
}

impl ConstrainedTrainer {
    /// A trainer with primal optimizer `primal` (e.g. `SgdConfig::new().init()`)
    /// at learning rate `lr`, and the constraints of `dual`.
    pub fn new(dual: ConstrainedOptimizer, primal: impl Into<ModuleOptimizer>, lr: f64) -> Result<Self> {
        check_lr(lr)?;
        let names = dual
            .constraints()
            .iter()
            .map(|c| Ok((c.name().to_string(), dual.id(c.name())?)))
            .collect::<Result<_>>()?;
        Ok(Self {
            dual,
            primal: primal.into(),
            lr,
            names,
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

    /// Reseeds the RNG for the next step's first evaluation (see
    /// [`ConstrainedTrainer::with_rng`]); call it before evaluating the model
    /// yourself for [`ConstrainedTrainer::step`]. `step_with` does it itself.
    pub fn reseed(&self) {
        if let Some((device, seed)) = &self.rng {
            device.seed(step_seed(*seed, self.dual.steps(), 0));
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
        &self.dual
    }

    /// The dual side, mutably (to restore a saved dual state, say).
    pub fn dual_mut(&mut self) -> &mut ConstrainedOptimizer {
        &mut self.dual
    }

    /// The primal optimizer (its state can be saved with burn's
    /// `ModuleOptimizer::into_bytes`).
    pub fn primal(&self) -> &ModuleOptimizer {
        &self.primal
    }

    /// Replaces the primal optimizer (to load a saved one).
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
        Ok(self.dual.id(name)?)
    }

    /// One step from an evaluation of `model` made by the caller (`loss` and
    /// constraint tensors computed from `model` on an autodiff device).
    ///
    /// Works with the simultaneous and alternating dual→primal schemes; the
    /// alternating primal→dual and extragradient schemes evaluate the model
    /// again within the step and need [`ConstrainedTrainer::step_with`].
    pub fn step<M: Module>(&mut self, model: M, evaluation: Evaluation) -> Result<(M, StepReport), StepError<M>> {
        if self.dual.scheme().remeasures() {
            return Err(StepError {
                model,
                error: Error::NeedsEvaluator,
            });
        }
        self.run::<M, fn(&M) -> Evaluation>(model, Some(evaluation), None)
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
        evaluate: F,
    ) -> Result<(M, StepReport), StepError<M>> {
        self.run(model, None, Some(evaluate))
    }

    fn run<M: Module, F: FnMut(&M) -> Evaluation>(
        &mut self,
        model: M,
        supplied: Option<Evaluation>,
        evaluate: Option<F>,
    ) -> Result<(M, StepReport), StepError<M>> {
        let scheme = self.dual.scheme();
        let rng = self
            .rng
            .as_ref()
            .map(|(device, seed)| (device.clone(), *seed, self.dual.steps()));
        let mut problem = BurnStep {
            models: [Some(model), None, None],
            used: 1,
            keep_start: scheme.remeasures(),
            primal: &mut self.primal,
            primal_backup: None,
            lr: self.lr,
            names: &self.names,
            supplied,
            evaluate,
            pending: None,
            rng,
            evaluations: 0,
            measured: START,
        };
        let result = self.dual.step(&mut problem, &START);
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

fn check_lr(lr: f64) -> Result<f64> {
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

/// The core's view of one burn step. A point is a slot in `models`: the
/// starting model is slot 0, every primal step puts its result in the next
/// slot (at most two primal steps per step: extragradient's lookahead and
/// update).
struct BurnStep<'a, M, F> {
    models: [Option<M>; 3],
    /// Slots in use.
    used: usize,
    /// Whether the step evaluates twice: then the starting model is kept
    /// (extragradient steps from it twice; a failure after a primal step
    /// gives it back) and the primal optimizer is backed up.
    keep_start: bool,
    primal: &'a mut ModuleOptimizer,
    primal_backup: Option<ModuleOptimizer>,
    lr: f64,
    names: &'a [(String, ConstraintId)],
    supplied: Option<Evaluation>,
    evaluate: Option<F>,
    pending: Option<Evaluation>,
    /// Device, seed and step number, to reseed before each evaluation.
    rng: Option<(Device, u64, u64)>,
    evaluations: u64,
    /// The slot of the last evaluated model (whose graph `pending` holds).
    measured: usize,
}

impl<M: Module, F: FnMut(&M) -> Evaluation> BurnStep<'_, M, F> {
    fn name_of(&self, key: &Key) -> String {
        match key {
            Key::Name(name) => name.clone(),
            Key::Id(id) => self
                .names
                .iter()
                .find(|(_, i)| i == id)
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| format!("#{}", id.index())),
        }
    }

    fn id_of(&self, key: &Key) -> Option<ConstraintId> {
        match key {
            Key::Id(id) => Some(*id),
            Key::Name(name) => self.names.iter().find(|(n, _)| n == name).map(|(_, id)| *id),
        }
    }

    /// Reads the loss and every value back to the host in one transaction,
    /// after checking that the tensors that must carry gradients do.
    fn read(&self, evaluation: &Evaluation) -> Result<Measurements> {
        if evaluation.loss.as_ref().is_some_and(|loss| !loss.is_tracked()) {
            return Err(Error::LossNotTracked);
        }
        for (key, c) in &evaluation.constraints {
            if c.primal && !c.value.is_tracked() {
                return Err(Error::ValueNotTracked {
                    constraint: self.name_of(key),
                });
            }
        }
        let mut transaction = Transaction::default();
        if let Some(loss) = &evaluation.loss {
            transaction = transaction.register(loss.clone().without_autodiff());
        }
        for (_, c) in &evaluation.constraints {
            transaction = transaction.register(c.value.clone().without_autodiff());
            if let Some(Strict::Tensor(strict)) = &c.strict {
                transaction = transaction.register(strict.clone().without_autodiff());
            }
        }
        let data = transaction.try_execute().map_err(|e| Error::Readback {
            reason: format!("{e:?}"),
        })?;
        let mut data = data.into_iter().map(to_f64);
        let mut next = || {
            data.next().unwrap_or_else(|| {
                Err(Error::Readback {
                    reason: "the backend returned fewer tensors than were registered".to_string(),
                })
            })
        };
        let loss = match evaluation.loss {
            Some(_) => {
                let loss = next()?;
                if loss.len() != 1 {
                    return Err(Error::LossShape { elements: loss.len() });
                }
                loss[0]
            }
            None => 0.0,
        };
        let mut measurements = Measurements::new(loss);
        for (key, c) in &evaluation.constraints {
            let values = next()?;
            let mut m = match &c.indices {
                Some(ids) => Measurement::indexed(ids.clone(), values),
                None => Measurement::entries(values),
            };
            m = match &c.strict {
                Some(Strict::Tensor(_)) => m.with_strict(next()?),
                Some(Strict::Host(values)) => m.with_strict(values.clone()),
                None => m,
            };
            if !c.primal {
                m = m.without_primal_update();
            }
            if !c.dual {
                m = m.without_dual_update();
            }
            match key {
                Key::Name(name) => measurements.insert(name.clone(), m),
                Key::Id(id) => measurements.insert_id(*id, m),
            }
        }
        Ok(measurements)
    }
}

fn to_f64(data: TensorData) -> Result<Vec<f64>> {
    data.try_into_vec_as::<f64>().map_err(|e| Error::Readback {
        reason: format!("{e:?}"),
    })
}

/// `Σ coef_i value_i` as a tensor, with the coefficients as constants.
fn weighted(value: Tensor<1>, coefficients: &[f64]) -> Tensor<1> {
    if let [coefficient] = coefficients {
        value.mul_scalar(*coefficient)
    } else {
        let options = (&value.device(), value.dtype());
        let constants = Tensor::<1>::from_data(TensorData::new(coefficients.to_vec(), [coefficients.len()]), options);
        (value * constants).sum()
    }
}

impl<M: Module, F: FnMut(&M) -> Evaluation> PrimalProblem for BurnStep<'_, M, F> {
    type Point = usize;
    type Error = Error;

    fn measure(&mut self, slot: &usize) -> Result<Measurements> {
        let evaluation = match self.supplied.take() {
            Some(evaluation) => evaluation,
            None => {
                if let Some((device, seed, step)) = &self.rng {
                    device.seed(step_seed(*seed, *step, self.evaluations));
                }
                match (&mut self.evaluate, self.models.get(*slot).and_then(Option::as_ref)) {
                    (Some(evaluate), Some(model)) => evaluate(model),
                    _ => return Err(Error::NeedsEvaluator),
                }
            }
        };
        self.evaluations += 1;
        let measurements = self.read(&evaluation)?;
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
        let mut objective = evaluation.loss;
        for (key, ConstraintTensors { value, primal, .. }) in evaluation.constraints {
            let coefficients = match self.id_of(&key).and_then(|id| weights.value_coefficients(id)) {
                Some(c) if primal && c.iter().any(|c| *c != 0.0) => c,
                _ => continue,
            };
            let term = weighted(value, &coefficients);
            objective = Some(match objective {
                Some(objective) => objective + term,
                None => term,
            });
        }
        // Gradients are looked up through the tensors of the model that was
        // evaluated, and keyed by parameter id, which every step keeps: so
        // they apply to `from` as well (extragradient: the lookahead's
        // gradients, the saved model). A feasibility problem whose weights
        // are all zero has nothing to descend.
        let gradients = match (self.models.get(self.measured).and_then(Option::as_ref), objective) {
            (Some(evaluated), Some(objective)) if objective.is_tracked() => {
                GradientsParams::from_grads(objective.backward(), evaluated)
            }
            (Some(_), _) => GradientsParams::new(),
            (None, _) => return Err(Error::NeedsEvaluator),
        };
        let keep = self.keep_start && *from == START;
        let model = match self.models.get_mut(*from) {
            Some(slot) if keep => slot.clone(),
            Some(slot) => slot.take(),
            None => None,
        };
        let Some(model) = model else {
            return Err(Error::NeedsEvaluator);
        };
        if self.used == self.models.len() {
            return Err(Error::NeedsEvaluator);
        }
        if self.keep_start && self.primal_backup.is_none() {
            self.primal_backup = Some(self.primal.clone());
        }
        self.models[self.used] = Some(self.primal.step(self.lr, model, gradients));
        self.used += 1;
        Ok(self.used - 1)
    }
}
