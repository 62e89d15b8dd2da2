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
use burn::tensor::{Tensor, TensorData, Transaction};
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
        })
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
    /// alternating primal→dual scheme measures again after the primal step
    /// and needs [`ConstrainedTrainer::step_with`].
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
    /// alternating primal→dual scheme, the second time at the new point).
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
        let keep_backup = self.dual.scheme().remeasures();
        let mut problem = BurnStep {
            model: Some(model),
            backup: None,
            keep_backup,
            primal: &mut self.primal,
            lr: self.lr,
            names: &self.names,
            supplied,
            evaluate,
            pending: None,
        };
        let result = self.dual.step(&mut problem, &());
        let backup = problem.backup.take();
        let current = problem.model.take();
        match (result, current) {
            (Ok(((), report)), Some(model)) => Ok((model, report)),
            (result, current) => {
                let model = match (backup, current) {
                    (Some((model, primal)), _) => {
                        self.primal = primal;
                        model
                    }
                    (None, Some(model)) => model,
                    // The model is only ever taken out to be stepped, and
                    // put back right away; with no backup it is still here.
                    (None, None) => unreachable!("the model is always returned to the step"),
                };
                let error = match result {
                    Err(error) => unwrap_primal(error),
                    Ok(_) => unreachable!("a successful step keeps the model"),
                };
                Err(StepError { model, error })
            }
        }
    }
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

/// The core's view of one burn step: the point is the model held here.
struct BurnStep<'a, M, F> {
    model: Option<M>,
    backup: Option<(M, ModuleOptimizer)>,
    keep_backup: bool,
    primal: &'a mut ModuleOptimizer,
    lr: f64,
    names: &'a [(String, ConstraintId)],
    supplied: Option<Evaluation>,
    evaluate: Option<F>,
    pending: Option<Evaluation>,
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
        if !evaluation.loss.is_tracked() {
            return Err(Error::LossNotTracked);
        }
        for (key, c) in &evaluation.constraints {
            if c.primal && !c.value.is_tracked() {
                return Err(Error::ValueNotTracked {
                    constraint: self.name_of(key),
                });
            }
        }
        let mut transaction = Transaction::default().register(evaluation.loss.clone().without_autodiff());
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
        let loss = next()?;
        if loss.len() != 1 {
            return Err(Error::LossShape { elements: loss.len() });
        }
        let mut measurements = Measurements::new(loss[0]);
        for (key, c) in &evaluation.constraints {
            let mut m = Measurement::entries(next()?);
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
    type Point = ();
    type Error = Error;

    fn measure(&mut self, _: &()) -> Result<Measurements> {
        let evaluation = match (self.supplied.take(), &mut self.evaluate, &self.model) {
            (Some(evaluation), _, _) => evaluation,
            (None, Some(evaluate), Some(model)) => evaluate(model),
            _ => return Err(Error::NeedsEvaluator),
        };
        let measurements = self.read(&evaluation)?;
        self.pending = Some(evaluation);
        Ok(measurements)
    }

    fn descend(&mut self, _: &(), weights: &PrimalWeights) -> Result<()> {
        let Some(evaluation) = self.pending.take() else {
            return Err(Error::NeedsEvaluator);
        };
        let mut objective = evaluation.loss;
        for (key, ConstraintTensors { value, primal, .. }) in evaluation.constraints {
            let coefficients = match self.id_of(&key).and_then(|id| weights.value_coefficients(id)) {
                Some(c) if primal && c.iter().any(|c| *c != 0.0) => c,
                _ => continue,
            };
            objective = objective + weighted(value, &coefficients);
        }
        let gradients = objective.backward();
        let Some(model) = self.model.take() else {
            return Err(Error::NeedsEvaluator);
        };
        if self.keep_backup {
            self.backup = Some((model.clone(), self.primal.clone()));
        }
        let gradients = GradientsParams::from_grads(gradients, &model);
        self.model = Some(self.primal.step(self.lr, model, gradients));
        Ok(())
    }
}
