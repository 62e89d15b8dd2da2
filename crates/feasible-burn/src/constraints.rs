//! The Lagrangian for a training loop the caller keeps: feasible computes
//! the objective, the caller does the rest (backward, gradient
//! accumulation or clipping, any burn optimizer and learning-rate
//! scheduler), then commits the dual update.
//!
//! ```text
//! let (objective, pending) = constraints.lagrangian(evaluation)?;
//! let grads = GradientsParams::from_grads(objective.backward(), &model);
//! model = optimizer.step(scheduler.step(), model, grads);
//! pending.commit()?;
//! ```
//!
//! [`Constraints::lagrangian`] reads the loss and every constraint value
//! back to the host in one transaction, lets the core compute the primal
//! weights `w` (and, for the schemes that update the dual side first, the
//! dual update, not yet committed), and builds
//!
//! ```text
//! objective = loss + Σ_k  coef_k · value_k,     coef_k = s_k w_k
//! ```
//!
//! with the coefficients as constants: nothing of the dual state enters
//! burn's autodiff graph, so the cost of a step does not grow with the
//! number of steps. Nothing changes before [`Pending::commit`]: a step that
//! fails, or whose [`Pending`] is dropped, leaves the dual state as it was.
//!
//! Gradient accumulation over micro-batches, and several devices or nodes
//! sharing one set of multipliers, evaluate the global batch in parts:
//! [`Constraints::lagrangian_parts`] combines the parts' values into the
//! global batch's ([`ConstraintStatistics`]), takes one dual step from them
//! and gives each part its share of the global objective, so that the
//! parts' gradients add up to the global batch's.

use std::borrow::Cow;
use std::fmt;

use burn::tensor::{DType, Tensor, TensorData, Transaction};
use feasible::{
    ConstrainedOptimizer, ConstraintId, FeasibleError, Measurement, Measurements, PendingStep, PrimalWeights,
    StepReport, ValueKind,
};

use crate::error::{Error, Result};
use crate::evaluation::{ConstraintTensors, Evaluation, Key, Strict};
use crate::statistics::{ConstraintStatistics, ConstraintSums, Sums};

/// The constraints and their dual state (a [`ConstrainedOptimizer`]), for a
/// training loop the caller keeps (see the module documentation).
///
/// Extragradient measures a lookahead point within its step: it runs only
/// through [`ConstrainedTrainer::step_with`](crate::ConstrainedTrainer::step_with);
/// [`Constraints::lagrangian`] refuses it.
pub struct Constraints {
    pub(crate) optimizer: ConstrainedOptimizer,
    /// Names and ids of the constraints, in declaration order.
    pub(crate) names: Vec<(String, ConstraintId)>,
}

impl fmt::Debug for Constraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Constraints")
            .field("optimizer", &self.optimizer)
            .finish_non_exhaustive()
    }
}

impl From<ConstrainedOptimizer> for Constraints {
    fn from(optimizer: ConstrainedOptimizer) -> Self {
        Self::new(optimizer)
    }
}

impl Constraints {
    /// Wraps the constraints and dual state of `optimizer`.
    pub fn new(optimizer: ConstrainedOptimizer) -> Self {
        let names = optimizer
            .constraints()
            .iter()
            .filter_map(|c| Some((c.name().to_string(), optimizer.id(c.name()).ok()?)))
            .collect();
        Self { optimizer, names }
    }

    /// The constraints, multipliers and dual state.
    pub fn optimizer(&self) -> &ConstrainedOptimizer {
        &self.optimizer
    }

    /// The constraints, mutably (to restore a saved dual state, say).
    pub fn optimizer_mut(&mut self) -> &mut ConstrainedOptimizer {
        &mut self.optimizer
    }

    /// Gives the optimizer back.
    pub fn into_optimizer(self) -> ConstrainedOptimizer {
        self.optimizer
    }

    /// The id of the constraint called `name`.
    pub fn id(&self, name: &str) -> Result<ConstraintId> {
        Ok(self.optimizer.id(name)?)
    }

    /// The multipliers of the constraint called `name` (`None` for a
    /// formulation without multipliers).
    pub fn multipliers(&self, name: &str) -> Result<Option<&[f64]>> {
        Ok(self.optimizer.multipliers(name)?)
    }

    /// Begins a step at the point `evaluation` was made at: the objective
    /// `loss + Σ coef · value` to descend, and the pending dual update to
    /// commit after the primal step.
    ///
    /// The objective is differentiable wherever the loss and the values are.
    /// For a feasibility problem ([`Evaluation::feasibility`]) whose weights
    /// are all zero it is a zero that carries only zero gradients.
    ///
    /// On error (a non-finite value, a wrong size, an unknown name, a
    /// tensor that should carry gradients and does not, extragradient)
    /// nothing changes.
    pub fn lagrangian(&mut self, evaluation: Evaluation) -> Result<(Tensor<1>, Pending<'_>)> {
        let fallback = any_tensor(&evaluation)?;
        let (objective, pending) = self.begin(evaluation)?;
        Ok((objective.unwrap_or_else(|| zero_like(fallback)), pending))
    }

    /// [`Constraints::lagrangian`], with `None` for an objective that has
    /// no term (the trainer takes no primal step then).
    pub(crate) fn begin(&mut self, evaluation: Evaluation) -> Result<(Option<Tensor<1>>, Pending<'_>)> {
        let Self { optimizer, names } = self;
        let measurements = read(names, &[&evaluation], true)?
            .pop()
            .map(HostValues::into_measurements)
            .ok_or_else(readback_count)?;
        let step = optimizer.begin(measurements)?;
        let objective = objective(names, evaluation, step.weights(), None)?;
        Ok((objective, Pending { step, names }))
    }

    /// A step from a global batch evaluated in equal parts (gradient
    /// accumulation over micro-batches of one size): the parts' values are
    /// combined into the global batch's, one dual step is taken from them,
    /// and each part gets its share of the global objective, so that the
    /// gradients of the parts' objectives add up to the global batch's.
    /// The loss and the dense constraint values are taken to be means over
    /// each part's samples; per-sample (indexed) values are concatenated.
    /// See [`ConstraintStatistics`]. All parts are read back in one
    /// transaction.
    pub fn lagrangian_parts(&mut self, parts: Vec<Evaluation>) -> Result<(Vec<Tensor<1>>, Pending<'_>)> {
        self.lagrangian_weighted_parts(parts.into_iter().map(|e| (e, 1.0)).collect())
    }

    /// [`Constraints::lagrangian_parts`] for parts of different sizes:
    /// each part with its sample count (its weight in the means).
    pub fn lagrangian_weighted_parts(
        &mut self,
        parts: Vec<(Evaluation, f64)>,
    ) -> Result<(Vec<Tensor<1>>, Pending<'_>)> {
        let parts = self.measure_parts(parts)?;
        let global = ConstraintStatistics::reduce(parts.iter().map(Part::statistics))?;
        self.lagrangian_reduced(parts, &global)
    }

    /// Reads one part of a global batch back to the host: its statistics
    /// (to combine with the other parts', with
    /// [`ConstraintStatistics::reduce`]) and its tensors (for
    /// [`Constraints::lagrangian_reduced`]). `rank` tells the parts of a
    /// global batch apart (a worker's index, say) and orders them;
    /// `samples` weighs the part's means.
    pub fn measure(&self, evaluation: Evaluation, rank: usize, samples: f64) -> Result<Part> {
        let samples = ConstraintStatistics::check_samples(samples)?;
        let host = read(&self.names, &[&evaluation], true)?
            .pop()
            .ok_or_else(readback_count)?;
        let statistics = host.into_statistics(Some(&self.optimizer), &self.names, rank, samples)?;
        Ok(Part { evaluation, statistics })
    }

    /// [`Constraints::measure`] for several parts (ranks 0, 1, ...), in one
    /// transaction.
    pub fn measure_parts(&self, parts: Vec<(Evaluation, f64)>) -> Result<Vec<Part>> {
        for (_, samples) in &parts {
            ConstraintStatistics::check_samples(*samples)?;
        }
        let host = read(&self.names, &parts.iter().map(|(e, _)| e).collect::<Vec<_>>(), true)?;
        if host.len() != parts.len() {
            return Err(readback_count());
        }
        parts
            .into_iter()
            .zip(host)
            .enumerate()
            .map(|(rank, ((evaluation, samples), host))| {
                Ok(Part {
                    statistics: host.into_statistics(Some(&self.optimizer), &self.names, rank, samples)?,
                    evaluation,
                })
            })
            .collect()
    }

    /// Begins a step from the statistics of a global batch (`global`, the
    /// reduction of every part's, on every worker the same) for the parts
    /// evaluated here: one dual step from `global`, and each local part's
    /// share of the global objective (in the order of `parts`). Every
    /// worker holding a copy of the same dual state and calling this with
    /// the same `global` computes the same weights and commits the same
    /// multipliers.
    pub fn lagrangian_reduced(
        &mut self,
        parts: Vec<Part>,
        global: &ConstraintStatistics,
    ) -> Result<(Vec<Tensor<1>>, Pending<'_>)> {
        let Self { optimizer, names } = self;
        // Locate every part and pick a tensor for an empty objective before
        // anything can change.
        let located = parts
            .into_iter()
            .map(|part| {
                let rank = part.rank();
                let fallback = any_tensor(&part.evaluation)?;
                Ok((global.locate(rank)?, fallback, part))
            })
            .collect::<Result<Vec<_>>>()?;
        let step = optimizer.begin(global.to_measurements())?;
        let objectives = located
            .into_iter()
            .map(|((share, position), fallback, part)| {
                let objective = objective(
                    names,
                    part.evaluation,
                    step.weights(),
                    Some(Placement {
                        share,
                        position,
                        global,
                    }),
                )?;
                Ok(objective.unwrap_or_else(|| zero_like(fallback)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((objectives, Pending { step, names }))
    }
}

/// One part of a global batch, read back: its evaluation (the tensors its
/// objective is built from) and its [`ConstraintStatistics`].
#[derive(Debug)]
pub struct Part {
    evaluation: Evaluation,
    statistics: ConstraintStatistics,
}

impl Part {
    /// What this part contributes to the global batch's measurement.
    pub fn statistics(&self) -> &ConstraintStatistics {
        &self.statistics
    }

    /// The part's rank.
    pub fn rank(&self) -> usize {
        self.statistics.ranks[0]
    }
}

/// A step begun by [`Constraints::lagrangian`] (or its variants for parts):
/// the dual update, computed but not applied. Take the primal step, then
/// [`Pending::commit`] (or, for the alternating primal→dual scheme,
/// [`Pending::commit_measured`] with the constraints measured at the new
/// point: [`Pending::needs_measurement`] says which). Dropping it changes
/// nothing.
pub struct Pending<'a> {
    step: PendingStep<'a>,
    names: &'a [(String, ConstraintId)],
}

impl fmt::Debug for Pending<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl Pending<'_> {
    /// The primal weights the objective was built with.
    pub fn weights(&self) -> &PrimalWeights {
        self.step.weights()
    }

    /// Whether the commit needs the constraints measured again after the
    /// primal step (the alternating primal→dual scheme):
    /// [`Pending::commit_measured`] then, [`Pending::commit`] otherwise.
    pub fn needs_measurement(&self) -> bool {
        self.step.needs_measurement()
    }

    /// The report of the step, as it will be committed (`None` while a
    /// measurement is still needed).
    pub fn report(&self) -> Option<&StepReport> {
        self.step.report()
    }

    /// Applies the dual update (after the primal step). Refused, changing
    /// nothing, when [`Pending::needs_measurement`].
    pub fn commit(self) -> Result<StepReport> {
        Ok(self.step.commit()?)
    }

    /// Alternating primal→dual: the dual update from the constraints
    /// measured at the new point (the loss, if any, is not used; the
    /// values need not be on an autodiff device). On error nothing changes.
    pub fn commit_measured(self, evaluation: Evaluation) -> Result<StepReport> {
        let measurements = read(self.names, &[&evaluation], false)?
            .pop()
            .map(HostValues::into_measurements)
            .ok_or_else(readback_count)?;
        Ok(self.step.commit_measured(measurements)?)
    }

    /// Alternating primal→dual for a batch evaluated in parts: reads the
    /// statistics of one part measured at the new point (as
    /// [`Constraints::measure`] does; the values need not be on an
    /// autodiff device), to reduce with the other parts' for
    /// [`Pending::commit_reduced`].
    pub fn measure(&self, evaluation: Evaluation, rank: usize, samples: f64) -> Result<ConstraintStatistics> {
        let samples = ConstraintStatistics::check_samples(samples)?;
        let host = read(self.names, &[&evaluation], false)?
            .pop()
            .ok_or_else(readback_count)?;
        host.into_statistics(None, self.names, rank, samples)
    }

    /// Alternating primal→dual for a batch evaluated in parts: the dual
    /// update from the reduced statistics of the parts measured at the new
    /// point ([`Constraints::measure`], [`ConstraintStatistics::reduce`]).
    pub fn commit_reduced(self, global: &ConstraintStatistics) -> Result<StepReport> {
        Ok(self.step.commit_measured(global.to_measurements())?)
    }
}

/// Where a part's objective sits in the global one.
pub(crate) struct Placement<'a> {
    /// `samples_r / Σ samples`: the weight of the part's means.
    share: f64,
    /// The part's position among the reduced parts.
    position: usize,
    global: &'a ConstraintStatistics,
}

/// `λ_0 · loss + Σ coef · value` for one evaluation (`placement: None`), or
/// a part's share of it: `share · (λ_0 · loss + Σ_dense coef · value) +
/// Σ_indexed coef · value` with the coefficients of the part's occurrences;
/// `λ_0` is [`PrimalWeights::objective_weight`] (1 but under a
/// proxy-Lagrangian). `None` when there is no term.
pub(crate) fn objective(
    names: &[(String, ConstraintId)],
    evaluation: Evaluation,
    weights: &PrimalWeights,
    placement: Option<Placement<'_>>,
) -> Result<Option<Tensor<1>>> {
    // The loss weighs 1, or a proxy-Lagrangian's `λ_0`.
    let scale = weights.objective_weight() * placement.as_ref().map_or(1.0, |p| p.share);
    let mut objective = match evaluation.loss {
        Some(loss) if scale != 1.0 => Some(loss.mul_scalar(scale)),
        loss => loss,
    };
    for (
        key,
        ConstraintTensors {
            value, primal, indices, ..
        },
    ) in evaluation.constraints
    {
        let coefficients = match id_of(names, &key).and_then(|id| weights.value_coefficients(id)) {
            Some(c) if primal => c,
            _ => continue,
        };
        // The part's own coefficients: its occurrences' (a range of the
        // global batch's, borrowed), or its share of a dense constraint's.
        let coefficients: Cow<'_, [f64]> = match &placement {
            None => Cow::Borrowed(&coefficients),
            Some(p) => match (&indices, p.global.offset(&name_of(names, &key), p.position)) {
                (Some(ids), Some(offset)) => Cow::Borrowed(coefficients.get(offset..offset + ids.len()).ok_or_else(
                    || Error::Statistics {
                        reason: format!(
                            "constraint `{}`: the part's values do not fit the reduced statistics",
                            name_of(names, &key)
                        ),
                    },
                )?),
                _ => Cow::Owned(coefficients.iter().map(|c| c * p.share).collect()),
            },
        };
        if coefficients.iter().all(|c| *c == 0.0) {
            continue;
        }
        let term = weighted(value, &coefficients);
        objective = Some(match objective {
            Some(objective) => objective + term,
            None => term,
        });
    }
    Ok(objective)
}

/// A tensor of the evaluation to build a zero objective from.
fn any_tensor(evaluation: &Evaluation) -> Result<Tensor<1>> {
    evaluation
        .loss
        .as_ref()
        .or_else(|| evaluation.constraints.first().map(|(_, c)| &c.value))
        .cloned()
        .ok_or(Error::NothingToDescend)
}

/// `0 · Σ tensor`: a zero that carries (zero) gradients where `tensor` does.
fn zero_like(tensor: Tensor<1>) -> Tensor<1> {
    tensor.sum().mul_scalar(0.0)
}

/// `Σ coef_i value_i` as a tensor, with the coefficients as constants.
pub fn weighted(value: Tensor<1>, coefficients: &[f64]) -> Tensor<1> {
    if let [coefficient] = coefficients {
        value.mul_scalar(*coefficient)
    } else {
        let shape = [coefficients.len()];
        let data = match value.dtype() {
            // Rounded as burn's own conversion rounds them (`as f32`), in
            // one copy instead of two.
            DType::F32 => TensorData::new(coefficients.iter().map(|c| *c as f32).collect::<Vec<_>>(), shape),
            _ => TensorData::new(coefficients.to_vec(), shape),
        };
        let constants = Tensor::<1>::from_data(data, (&value.device(), value.dtype()));
        (value * constants).sum()
    }
}

pub(crate) fn name_of(names: &[(String, ConstraintId)], key: &Key) -> String {
    match key {
        Key::Name(name) => name.clone(),
        Key::Id(id) => names
            .iter()
            .find(|(_, i)| i == id)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| format!("#{}", id.index())),
    }
}

pub(crate) fn id_of(names: &[(String, ConstraintId)], key: &Key) -> Option<ConstraintId> {
    match key {
        Key::Id(id) => Some(*id),
        Key::Name(name) => names.iter().find(|(n, _)| n == name).map(|(_, id)| *id),
    }
}

/// One evaluation's values, on the host.
pub(crate) struct HostValues {
    loss: Option<f64>,
    constraints: Vec<HostConstraint>,
}

struct HostConstraint {
    key: Key,
    value: Vec<f64>,
    strict: Option<Vec<f64>>,
    indices: Option<Vec<usize>>,
    primal: bool,
    dual: bool,
}

impl HostValues {
    /// The core's measurements.
    pub(crate) fn into_measurements(self) -> Measurements {
        let mut measurements = Measurements::new(self.loss.unwrap_or(0.0));
        for c in self.constraints {
            let mut m = match c.indices {
                Some(ids) => Measurement::indexed(ids, c.value),
                None => Measurement::entries(c.value),
            };
            if let Some(strict) = c.strict {
                m = m.with_strict(strict);
            }
            if !c.primal {
                m = m.without_primal_update();
            }
            if !c.dual {
                m = m.without_dual_update();
            }
            match c.key {
                Key::Name(name) => measurements.insert(name, m),
                Key::Id(id) => measurements.insert_id(id, m),
            }
        }
        measurements
    }

    /// The statistics of a part of rank `rank` with `samples` samples.
    fn into_statistics(
        self,
        optimizer: Option<&ConstrainedOptimizer>,
        names: &[(String, ConstraintId)],
        rank: usize,
        samples: f64,
    ) -> Result<ConstraintStatistics> {
        let scale = |values: Vec<f64>| values.into_iter().map(|v| samples * v).collect::<Vec<_>>();
        let mut constraints: Vec<ConstraintSums> = Vec::with_capacity(self.constraints.len());
        for c in self.constraints {
            let name = match &c.key {
                // An unknown name gets the core's error, which lists the
                // declared ones (here, or when the statistics are used).
                Key::Name(name) => match optimizer {
                    Some(optimizer) => optimizer.id(name).map(|_| name.clone())?,
                    None => name.clone(),
                },
                Key::Id(id) => names
                    .iter()
                    .find(|(_, i)| i == id)
                    .map(|(n, _)| n.clone())
                    .ok_or_else(|| Error::Statistics {
                        reason: format!("constraint id #{} was not issued by these constraints", id.index()),
                    })?,
            };
            if constraints.iter().any(|d| d.name == name) {
                return Err(Error::Core(feasible::FeasibleError::DuplicateMeasurement {
                    constraint: name,
                }));
            }
            let sums = match c.indices {
                Some(ids) => Sums::Indexed {
                    lengths: vec![c.value.len()],
                    ids,
                    value: c.value,
                    strict: c.strict,
                },
                None => Sums::Dense {
                    value: scale(c.value),
                    strict: c.strict.map(scale),
                },
            };
            constraints.push(ConstraintSums {
                name,
                primal: c.primal,
                dual: c.dual,
                sums,
            });
        }
        Ok(ConstraintStatistics {
            ranks: vec![rank],
            samples: vec![samples],
            loss: self.loss.map(|loss| samples * loss),
            constraints,
        })
    }
}

fn readback_count() -> Error {
    Error::Readback {
        reason: "the backend returned fewer tensors than were registered".to_string(),
    }
}

/// Reads the loss and every value of `evaluations` back to the host in one
/// transfer ([`read_all`]), after checking (with `check_tracked`) that the
/// tensors that must carry gradients do.
pub(crate) fn read(
    names: &[(String, ConstraintId)],
    evaluations: &[&Evaluation],
    check_tracked: bool,
) -> Result<Vec<HostValues>> {
    // Each part's ids must match its own values: the core sees the parts
    // concatenated, where two wrong counts can add up to the right total.
    // And a part's tensors must share a device, or the objective that adds
    // them cannot be built.
    for evaluation in evaluations {
        let mut device = evaluation.loss.as_ref().map(Tensor::device);
        for (key, c) in &evaluation.constraints {
            let found = c.value.device();
            match &device {
                Some(expected) if *expected != found => {
                    return Err(Error::DeviceMismatch {
                        constraint: name_of(names, key),
                        expected: format!("{expected:?}"),
                        found: format!("{found:?}"),
                    });
                }
                Some(_) => {}
                None => device = Some(found),
            }
            let Some(ids) = &c.indices else { continue };
            let strict = match &c.strict {
                Some(Strict::Tensor(t)) => Some(t.dims()[0]),
                Some(Strict::Host(values)) => Some(values.len()),
                None => None,
            };
            let mismatch = [
                (ValueKind::Differentiable, Some(c.value.dims()[0])),
                (ValueKind::Strict, strict),
            ]
            .into_iter()
            .find_map(|(kind, n)| n.filter(|n| *n != ids.len()).map(|n| (kind, n)));
            if let Some((kind, values)) = mismatch {
                return Err(Error::Core(FeasibleError::IdsValuesMismatch {
                    constraint: name_of(names, key),
                    ids: ids.len(),
                    values,
                    kind,
                }));
            }
        }
    }
    if check_tracked {
        for evaluation in evaluations {
            if evaluation.loss.as_ref().is_some_and(|loss| !loss.is_tracked()) {
                return Err(Error::LossNotTracked);
            }
            for (key, c) in &evaluation.constraints {
                if c.primal && !c.value.is_tracked() {
                    return Err(Error::ValueNotTracked {
                        constraint: name_of(names, key),
                    });
                }
            }
        }
    }
    let mut tensors = Vec::new();
    for evaluation in evaluations {
        if let Some(loss) = &evaluation.loss {
            tensors.push(loss.clone().without_autodiff());
        }
        for (_, c) in &evaluation.constraints {
            tensors.push(c.value.clone().without_autodiff());
            if let Some(Strict::Tensor(strict)) = &c.strict {
                tensors.push(strict.clone().without_autodiff());
            }
        }
    }
    let mut data = read_all(tensors)?.into_iter();
    let mut next = || data.next().ok_or_else(readback_count);
    let mut host = Vec::with_capacity(evaluations.len());
    for evaluation in evaluations {
        let loss = match evaluation.loss {
            Some(_) => {
                let loss = next()?;
                if loss.len() != 1 {
                    return Err(Error::LossShape { elements: loss.len() });
                }
                Some(loss[0])
            }
            None => None,
        };
        let mut constraints = Vec::with_capacity(evaluation.constraints.len());
        for (key, c) in &evaluation.constraints {
            let value = next()?;
            let strict = match &c.strict {
                Some(Strict::Tensor(_)) => Some(next()?),
                Some(Strict::Host(values)) => Some(values.clone()),
                None => None,
            };
            constraints.push(HostConstraint {
                key: key.clone(),
                value,
                strict,
                indices: c.indices.clone(),
                primal: c.primal,
                dual: c.dual,
            });
        }
        host.push(HostValues { loss, constraints });
    }
    Ok(host)
}

/// Reads `tensors` back to the host, each as a `Vec<f64>`: one transfer of
/// their concatenation when they share a dtype and a device (the usual
/// case: a step's loss and constraint values), otherwise one transaction.
fn read_all(tensors: Vec<Tensor<1>>) -> Result<Vec<Vec<f64>>> {
    let same = tensors
        .windows(2)
        .all(|w| w[0].dtype() == w[1].dtype() && w[0].device() == w[1].device());
    if tensors.len() > 1 && same {
        let lengths: Vec<usize> = tensors.iter().map(|t| t.dims()[0]).collect();
        let all = to_f64(Tensor::cat(tensors, 0).into_data())?;
        if all.len() != lengths.iter().sum::<usize>() {
            return Err(readback_count());
        }
        let mut rest = all.as_slice();
        return Ok(lengths
            .into_iter()
            .map(|n| {
                let (head, tail) = rest.split_at(n);
                rest = tail;
                head.to_vec()
            })
            .collect());
    }
    let mut transaction = Transaction::default();
    for tensor in tensors {
        transaction = transaction.register(tensor);
    }
    let data = transaction.try_execute().map_err(|e| Error::Readback {
        reason: format!("{e:?}"),
    })?;
    data.into_iter().map(to_f64).collect()
}

fn to_f64(data: TensorData) -> Result<Vec<f64>> {
    data.try_into_vec_as::<f64>().map_err(|e| Error::Readback {
        reason: format!("{e:?}"),
    })
}
