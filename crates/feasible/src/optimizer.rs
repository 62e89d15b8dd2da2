//! The constrained optimizer: the declared constraints, their dual state,
//! the update scheme, and the step that ties them to the caller's model.

use std::fmt;
use std::sync::Arc;

use crate::constraint::{Constraint, ConstraintId};
use crate::error::{FeasibleError, Result, ValueKind};
use crate::formulation::FormulationState;
use crate::measurement::{ConstraintKey, Measurement, Measurements};
use crate::observe::Observer;
use crate::report::{ConstraintReport, StepReport};
use crate::scheme::{PrimalProblem, UpdateScheme};
use crate::state::{ConstraintDualState, DualState};
use crate::weights::PrimalWeights;

/// Builds a [`ConstrainedOptimizer`]; every check happens in
/// [`ConstrainedOptimizerBuilder::build`].
#[derive(Default)]
pub struct ConstrainedOptimizerBuilder {
    constraints: Vec<Constraint>,
    scheme: UpdateScheme,
    observers: Vec<Box<dyn Observer>>,
}

impl ConstrainedOptimizerBuilder {
    /// Declares a constraint.
    pub fn constraint(mut self, constraint: Constraint) -> Self {
        self.constraints.push(constraint);
        self
    }

    /// Declares several constraints (e.g. one per group of a fairness
    /// criterion), in order.
    pub fn constraints(mut self, constraints: impl IntoIterator<Item = Constraint>) -> Self {
        self.constraints.extend(constraints);
        self
    }

    /// The update scheme (default: [`UpdateScheme::AlternatingDualPrimal`]).
    pub fn scheme(mut self, scheme: UpdateScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Registers an observer that receives every step's report.
    pub fn observer(mut self, observer: impl Observer + 'static) -> Self {
        self.observers.push(Box::new(observer));
        self
    }

    /// Checks every constraint (names unique and non-empty, finite targets,
    /// valid hyperparameters) and builds the optimizer.
    pub fn build(self) -> Result<ConstrainedOptimizer> {
        for (i, c) in self.constraints.iter().enumerate() {
            c.validate()?;
            if self.constraints[..i].iter().any(|d| d.name() == c.name()) {
                return Err(FeasibleError::DuplicateConstraint {
                    name: c.name().to_string(),
                });
            }
        }
        let states = self
            .constraints
            .iter()
            .map(|c| c.formulation().init(c.entries()))
            .collect();
        Ok(ConstrainedOptimizer {
            names: self.constraints.iter().map(|c| Arc::from(c.name())).collect(),
            signs: self.constraints.iter().map(|c| c.sense().sign()).collect(),
            constraints: self.constraints,
            states,
            scheme: self.scheme,
            steps: 0,
            observers: self.observers,
        })
    }
}

/// Holds the constraints and their dual state (multipliers, dual optimizer
/// state) in plain `f64` memory, and runs the update scheme.
///
/// ```
/// use feasible::{Constraint, ConstrainedOptimizer, Formulation, GradientAscent, UpdateScheme};
///
/// let optimizer = ConstrainedOptimizer::builder()
///     .constraint(
///         Constraint::at_least("class0_rate", 0.7)
///             .with_formulation(Formulation::lagrangian(GradientAscent::new(0.01))),
///     )
///     .scheme(UpdateScheme::Simultaneous)
///     .build()
///     .unwrap();
/// assert_eq!(optimizer.multipliers("class0_rate").unwrap(), Some(&[0.0][..]));
/// ```
pub struct ConstrainedOptimizer {
    constraints: Vec<Constraint>,
    /// The constraints' names, shared with every report.
    names: Vec<Arc<str>>,
    /// `sign` of each constraint's sense, shared with every `PrimalWeights`.
    signs: Arc<[f64]>,
    states: Vec<FormulationState>,
    scheme: UpdateScheme,
    steps: u64,
    observers: Vec<Box<dyn Observer>>,
}

impl fmt::Debug for ConstrainedOptimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConstrainedOptimizer")
            .field("constraints", &self.constraints)
            .field("states", &self.states)
            .field("scheme", &self.scheme)
            .field("steps", &self.steps)
            .field(
                "observers",
                &self.observers.iter().map(|o| o.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A validated measurement of one constraint, with its violations. For an
/// indexed constraint every vector has one value per measured occurrence.
struct Observed {
    value: Vec<f64>,
    strict_value: Option<Vec<f64>>,
    violation: Vec<f64>,
    strict_violation: Vec<f64>,
    batch: Option<Batch>,
    primal: bool,
    dual: bool,
}

/// The sample ids of one measurement of an indexed constraint.
struct Batch {
    /// The id of each occurrence.
    indices: Vec<usize>,
    /// The distinct ids, in order of first occurrence.
    unique: Vec<usize>,
    /// For each occurrence, its id's position in `unique`.
    position: Vec<usize>,
    /// For each distinct id, the mean strict violation of its occurrences:
    /// the gradient of its multiplier.
    strict_violation: Vec<f64>,
}

impl Batch {
    fn new(indices: Vec<usize>, strict_violation: &[f64]) -> Self {
        let mut unique = Vec::new();
        let mut seen = std::collections::HashMap::with_capacity(indices.len());
        let mut sums: Vec<(f64, usize)> = Vec::new();
        let position = indices
            .iter()
            .zip(strict_violation)
            .map(|(id, g)| {
                let k = *seen.entry(*id).or_insert_with(|| {
                    unique.push(*id);
                    sums.push((0.0, 0));
                    unique.len() - 1
                });
                sums[k].0 += g;
                sums[k].1 += 1;
                k
            })
            .collect();
        Self {
            indices,
            unique,
            position,
            strict_violation: sums.iter().map(|(sum, n)| sum / *n as f64).collect(),
        }
    }
}

impl Observed {
    /// The gradient of the view's multipliers and the ids of its entries.
    fn dual_side(&self) -> (&[f64], Option<&[usize]>) {
        match &self.batch {
            Some(b) => (&b.strict_violation, Some(&b.unique)),
            None => (&self.strict_violation, None),
        }
    }
}

/// Validated measurements, in declaration order.
struct Observation {
    loss: f64,
    constraints: Vec<Observed>,
}

impl Observation {
    /// Where each constraint's view goes back on commit: `None` for a dense
    /// constraint (replaced whole), the distinct ids for an indexed one.
    fn targets(&self) -> Vec<Option<Vec<usize>>> {
        self.constraints
            .iter()
            .map(|o| o.batch.as_ref().map(|b| b.unique.clone()))
            .collect()
    }
}

impl ConstrainedOptimizer {
    /// A builder.
    pub fn builder() -> ConstrainedOptimizerBuilder {
        ConstrainedOptimizerBuilder::default()
    }

    /// The declared constraints, in declaration order.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    /// The update scheme.
    pub fn scheme(&self) -> UpdateScheme {
        self.scheme
    }

    /// The number of committed steps.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The id of the constraint called `name`.
    pub fn id(&self, name: &str) -> Result<ConstraintId> {
        self.constraints
            .iter()
            .position(|c| c.name() == name)
            .map(ConstraintId)
            .ok_or_else(|| self.unknown(name))
    }

    fn unknown(&self, name: &str) -> FeasibleError {
        FeasibleError::UnknownConstraint {
            name: name.to_string(),
            declared: self.constraints.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "),
        }
    }

    /// The multipliers of the constraint called `name` (`None` for a
    /// formulation without multipliers).
    pub fn multipliers(&self, name: &str) -> Result<Option<&[f64]>> {
        let id = self.id(name)?;
        Ok(self.states[id.0].multipliers())
    }

    /// The current penalty coefficients of the constraint called `name`
    /// (`None` for a formulation without changing coefficients).
    pub fn penalty(&self, name: &str) -> Result<Option<&[f64]>> {
        let id = self.id(name)?;
        Ok(self.states[id.0].penalty())
    }

    /// A copy of the whole dual state (serializable with serde).
    pub fn state(&self) -> DualState {
        DualState {
            format: DualState::FORMAT.to_string(),
            version: DualState::VERSION,
            steps: self.steps,
            constraints: self
                .constraints
                .iter()
                .zip(&self.states)
                .map(|(c, s)| ConstraintDualState {
                    name: c.name().to_string(),
                    entries: c.entries(),
                    state: s.clone(),
                })
                .collect(),
        }
    }

    /// Replaces the dual state with `state`, after checking that it belongs
    /// to these constraints (same names in the same order, same sizes, same
    /// formulations and dual optimizers, finite multipliers, `>= 0` for
    /// inequalities). On error nothing changes.
    pub fn restore(&mut self, state: DualState) -> Result<()> {
        let mismatch = |reason: String| FeasibleError::StateMismatch { reason };
        if state.format != DualState::FORMAT || state.version != DualState::VERSION {
            return Err(mismatch(format!(
                "format `{}` version {}, expected `{}` version {}",
                state.format,
                state.version,
                DualState::FORMAT,
                DualState::VERSION
            )));
        }
        if state.constraints.len() != self.constraints.len() {
            return Err(mismatch(format!(
                "it has {} constraints, this problem declares {}",
                state.constraints.len(),
                self.constraints.len()
            )));
        }
        for (c, s) in self.constraints.iter().zip(&state.constraints) {
            if s.name != c.name() {
                return Err(mismatch(format!(
                    "it has constraint `{}` where this problem declares `{}`",
                    s.name,
                    c.name()
                )));
            }
            if s.entries != c.entries() || !c.formulation().fits(&s.state, c.entries()) {
                return Err(mismatch(format!(
                    "constraint `{}`: the saved state is not a {} state with {} entries",
                    c.name(),
                    c.formulation().name(),
                    c.entries()
                )));
            }
            if let Some((entry, value)) = s.state.multipliers().and_then(|m| {
                m.iter()
                    .enumerate()
                    .find(|(_, v)| !v.is_finite() || (c.sense().is_inequality() && **v < 0.0))
            }) {
                return Err(mismatch(format!(
                    "constraint `{}`: multiplier entry {entry} is {value}",
                    c.name()
                )));
            }
        }
        self.steps = state.steps;
        self.states = state.constraints.into_iter().map(|s| s.state).collect();
        Ok(())
    }

    /// Calls every observer's `on_finish` (flushing files).
    pub fn finish(&mut self) -> Result<()> {
        for observer in &mut self.observers {
            observer.on_finish().map_err(|source| FeasibleError::Observer {
                observer: observer.name().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    /// One constrained step, in the order the [`UpdateScheme`] defines.
    ///
    /// Measures `point` through `problem`, computes the primal weights and the
    /// dual update, reports to the observers, lets `problem` take the primal
    /// step and commits. Returns the new point and the report.
    ///
    /// On error (invalid measurements, a failing `problem`, a failing
    /// observer) the dual state is unchanged and the caller keeps `point`.
    /// Everything that can fail runs before the primal step, except in
    /// [`UpdateScheme::AlternatingPrimalDual`] and
    /// [`UpdateScheme::Extragradient`], which evaluate the model again after
    /// a primal step: there the new points are simply dropped. (If
    /// `problem.descend` itself fails, the observers have already seen the
    /// step's report; the error still leaves the dual state as it was.)
    pub fn step<P: PrimalProblem>(&mut self, problem: &mut P, point: &P::Point) -> Result<(P::Point, StepReport)> {
        let primal = |source: P::Error| FeasibleError::Primal {
            source: Box::new(source),
        };
        let first = self.observe(problem.measure(point).map_err(primal)?)?;
        let (next, report, updated, targets) = match self.scheme {
            UpdateScheme::Simultaneous => {
                let views = self.views(&first);
                let updated = self.dual_update(views.clone(), &first);
                let weights = self.primal_weights(&views, &first);
                let targets = first.targets();
                let report = self.report(first, None, &weights, &views, &updated);
                self.notify(&report)?;
                let next = problem.descend(point, &weights).map_err(primal)?;
                (next, report, updated, targets)
            }
            UpdateScheme::AlternatingDualPrimal => {
                // The primal step sees the updated multipliers: the state
                // before the step is not needed again.
                let updated = self.dual_update(self.views(&first), &first);
                let weights = self.primal_weights(&updated, &first);
                let targets = first.targets();
                let report = self.report(first, None, &weights, &updated, &updated);
                self.notify(&report)?;
                let next = problem.descend(point, &weights).map_err(primal)?;
                (next, report, updated, targets)
            }
            UpdateScheme::AlternatingPrimalDual => {
                let views = self.views(&first);
                let weights = self.primal_weights(&views, &first);
                let next = problem.descend(point, &weights).map_err(primal)?;
                let second = self.observe(problem.measure_constraints(&next).map_err(primal)?)?;
                let updated = self.dual_update(self.views(&second), &second);
                let targets = second.targets();
                let report = self.report(first, Some(second), &weights, &views, &updated);
                self.notify(&report)?;
                (next, report, updated, targets)
            }
            UpdateScheme::Extragradient => {
                // Lookahead of both players from (x_t, λ_t).
                let views = self.views(&first);
                let weights = self.primal_weights(&views, &first);
                let lookahead = problem.descend(point, &weights).map_err(primal)?;
                let mut lookahead_views = self.dual_update(views.clone(), &first);
                // Evaluate at the lookahead point, on the same batch.
                let second = self.observe(problem.measure(&lookahead).map_err(primal)?)?;
                for (c, (a, b)) in self
                    .constraints
                    .iter()
                    .zip(first.constraints.iter().zip(&second.constraints))
                {
                    if a.batch.as_ref().map(|b| &b.indices) != b.batch.as_ref().map(|b| &b.indices) {
                        return Err(FeasibleError::BatchChanged {
                            constraint: c.name().to_string(),
                        });
                    }
                }
                let weights = self.primal_weights(&lookahead_views, &second);
                // Update from the saved point with the lookahead's gradients.
                let next = problem.descend(point, &weights).map_err(primal)?;
                for (view, saved) in lookahead_views.iter_mut().zip(&views) {
                    view.rewind_dual_variables(saved);
                }
                let updated = self.dual_update(lookahead_views, &second);
                let targets = second.targets();
                let report = self.report(first, Some(second), &weights, &views, &updated);
                self.notify(&report)?;
                (next, report, updated, targets)
            }
        };
        for ((state, view), target) in self.states.iter_mut().zip(updated).zip(targets) {
            match target {
                None => *state = view,
                Some(ids) => state.scatter(&ids, &view),
            }
        }
        self.steps += 1;
        Ok((next, report))
    }

    fn notify(&mut self, report: &StepReport) -> Result<()> {
        for observer in &mut self.observers {
            observer.on_step(report).map_err(|source| FeasibleError::Observer {
                observer: observer.name().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    /// Validates measurements: every constraint measured exactly once, by a
    /// known name or id, with the declared number of finite values.
    fn observe(&self, measurements: Measurements) -> Result<Observation> {
        if !measurements.loss.is_finite() {
            return Err(FeasibleError::NonFiniteLoss {
                value: measurements.loss,
            });
        }
        let mut slots: Vec<Option<Measurement>> = (0..self.constraints.len()).map(|_| None).collect();
        for (key, measurement) in measurements.constraints {
            let id = match key {
                ConstraintKey::Id(id) if id.0 < self.constraints.len() => id,
                ConstraintKey::Id(id) => return Err(self.unknown(&format!("#{}", id.0))),
                ConstraintKey::Name(name) => self.id(&name)?,
            };
            if slots[id.0].replace(measurement).is_some() {
                return Err(FeasibleError::DuplicateMeasurement {
                    constraint: self.constraints[id.0].name().to_string(),
                });
            }
        }
        let constraints = self
            .constraints
            .iter()
            .zip(slots)
            .map(|(c, slot)| {
                let m = slot.ok_or_else(|| FeasibleError::MissingMeasurement {
                    constraint: c.name().to_string(),
                })?;
                let expected = check_indices(c, &m)?;
                check_values(c, &m.value, expected, ValueKind::Differentiable)?;
                if let Some(strict) = &m.strict {
                    check_values(c, strict, expected, ValueKind::Strict)?;
                }
                let violation: Vec<f64> = m.value.iter().map(|v| c.violation(*v)).collect();
                let strict_violation = match &m.strict {
                    Some(strict) => strict.iter().map(|v| c.violation(*v)).collect(),
                    None => violation.clone(),
                };
                Ok(Observed {
                    batch: m.indices.map(|ids| Batch::new(ids, &strict_violation)),
                    value: m.value,
                    strict_value: m.strict,
                    violation,
                    strict_violation,
                    primal: m.primal,
                    dual: m.dual,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Observation {
            loss: measurements.loss,
            constraints,
        })
    }

    /// The part of each constraint's state this step works on: the whole
    /// state of a dense constraint, the batch's distinct entries of an
    /// indexed one.
    fn views(&self, observation: &Observation) -> Vec<FormulationState> {
        self.states
            .iter()
            .zip(&observation.constraints)
            .map(|(state, o)| match &o.batch {
                None => state.clone(),
                Some(b) => state.gather(&b.unique),
            })
            .collect()
    }

    /// The weight of every measured entry (occurrence) given the views.
    fn primal_weights(&self, views: &[FormulationState], observation: &Observation) -> PrimalWeights {
        let weights = self
            .constraints
            .iter()
            .zip(views)
            .zip(&observation.constraints)
            .map(|((c, view), o)| {
                let mut w = vec![0.0; o.violation.len()];
                if o.primal {
                    let inequality = c.sense().is_inequality();
                    match &o.batch {
                        None => c.formulation().primal_weights(view, &o.violation, inequality, &mut w),
                        Some(b) => {
                            let per_occurrence = view.gather(&b.position);
                            c.formulation()
                                .primal_weights(&per_occurrence, &o.violation, inequality, &mut w)
                        }
                    }
                }
                w
            })
            .collect();
        PrimalWeights {
            weights,
            signs: Arc::clone(&self.signs),
        }
    }

    /// The views after this step's dual update (not committed).
    fn dual_update(&self, mut views: Vec<FormulationState>, observation: &Observation) -> Vec<FormulationState> {
        for ((c, view), o) in self.constraints.iter().zip(&mut views).zip(&observation.constraints) {
            if o.dual {
                let (gradients, ids) = o.dual_side();
                c.formulation()
                    .dual_update(ids, view, gradients, c.sense().is_inequality());
            }
        }
        views
    }

    /// The step's report, taking the observations' vectors: `first` was
    /// measured at `x_t`; `second`, if any, at `x_{t+1}` or the lookahead,
    /// for the dual step.
    fn report(
        &self,
        first: Observation,
        second: Option<Observation>,
        weights: &PrimalWeights,
        primal_views: &[FormulationState],
        updated: &[FormulationState],
    ) -> StepReport {
        let mut lagrangian = first.loss;
        let mut dual_side = second.map(|o| o.constraints.into_iter());
        let constraints: Vec<ConstraintReport> = self
            .constraints
            .iter()
            .zip(first.constraints)
            .enumerate()
            .map(|(i, (c, o))| {
                let inequality = c.sense().is_inequality();
                if o.primal {
                    let contribution = match &o.batch {
                        None => c
                            .formulation()
                            .primal_contribution(&primal_views[i], &o.violation, inequality),
                        Some(b) => c.formulation().primal_contribution(
                            &primal_views[i].gather(&b.position),
                            &o.violation,
                            inequality,
                        ),
                    };
                    lagrangian += contribution;
                }
                let (strict_value, violation, batch) = match dual_side.as_mut().and_then(Iterator::next) {
                    Some(d) => (d.strict_value, d.strict_violation, d.batch),
                    None => (o.strict_value, o.strict_violation, o.batch),
                };
                // Dual variables after the step, for what was measured.
                let after = batch.as_ref().map(|b| updated[i].gather(&b.position));
                let after = after.as_ref().unwrap_or(&updated[i]);
                ConstraintReport {
                    name: Arc::clone(&self.names[i]),
                    feasible: violation.iter().all(|g| c.is_satisfied(*g)),
                    value: o.value,
                    strict_value,
                    violation,
                    primal_weight: weights.weights[i].clone(),
                    multipliers: after.multipliers().map(<[f64]>::to_vec),
                    penalty: after.penalty().map(<[f64]>::to_vec),
                    indices: batch.map(|b| b.indices),
                }
            })
            .collect();
        StepReport {
            step: self.steps + 1,
            loss: first.loss,
            lagrangian,
            feasible: constraints.iter().all(|c| c.feasible),
            constraints,
        }
    }
}

/// Checks the sample ids of a measurement against its constraint; returns
/// the number of values expected.
fn check_indices(constraint: &Constraint, m: &Measurement) -> Result<usize> {
    let indexing = |reason| FeasibleError::Indexing {
        constraint: constraint.name().to_string(),
        reason,
    };
    match (&m.indices, constraint.is_indexed()) {
        (None, false) => Ok(constraint.entries()),
        (Some(_), false) => Err(indexing(
            "sample ids were given, but the constraint is not indexed (declare it with `.indexed()`)",
        )),
        (None, true) => Err(indexing(
            "the constraint is indexed: measure it with `Measurement::indexed(ids, values)`",
        )),
        (Some(ids), true) => {
            if ids.len() != m.value.len() {
                return Err(FeasibleError::SizeMismatch {
                    constraint: constraint.name().to_string(),
                    expected: m.value.len(),
                    got: ids.len(),
                    kind: ValueKind::Indices,
                });
            }
            match ids.iter().find(|i| **i >= constraint.entries()) {
                Some(index) => Err(FeasibleError::IndexOutOfRange {
                    constraint: constraint.name().to_string(),
                    index: *index,
                    entries: constraint.entries(),
                }),
                None => Ok(ids.len()),
            }
        }
    }
}

fn check_values(constraint: &Constraint, values: &[f64], expected: usize, kind: ValueKind) -> Result<()> {
    if values.len() != expected {
        return Err(FeasibleError::SizeMismatch {
            constraint: constraint.name().to_string(),
            expected,
            got: values.len(),
            kind,
        });
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(entry) => Err(FeasibleError::NonFiniteValue {
            constraint: constraint.name().to_string(),
            entry,
            value: values[entry],
            kind,
        }),
        None => Ok(()),
    }
}
