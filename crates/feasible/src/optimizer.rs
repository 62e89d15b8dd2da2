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

/// A validated measurement of one constraint, with its violations.
struct Observed {
    value: Vec<f64>,
    strict_value: Option<Vec<f64>>,
    violation: Vec<f64>,
    strict_violation: Vec<f64>,
    primal: bool,
    dual: bool,
}

/// Validated measurements, in declaration order.
struct Observation {
    loss: f64,
    constraints: Vec<Observed>,
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
        let (next, report, states) = match self.scheme {
            UpdateScheme::Simultaneous | UpdateScheme::AlternatingDualPrimal => {
                let states = self.dual_update(&first);
                let primal_states = match self.scheme {
                    UpdateScheme::Simultaneous => &self.states,
                    _ => &states,
                };
                let weights = self.primal_weights(primal_states, &first);
                let report = self.report(first, None, &weights, primal_states, &states);
                self.notify(&report)?;
                let next = problem.descend(point, &weights).map_err(primal)?;
                (next, report, states)
            }
            UpdateScheme::AlternatingPrimalDual => {
                let weights = self.primal_weights(&self.states, &first);
                let next = problem.descend(point, &weights).map_err(primal)?;
                let second = self.observe(problem.measure_constraints(&next).map_err(primal)?)?;
                let states = self.dual_update(&second);
                let report = self.report(first, Some(second), &weights, &self.states, &states);
                self.notify(&report)?;
                (next, report, states)
            }
            UpdateScheme::Extragradient => {
                // Lookahead of both players from (x_t, λ_t).
                let weights = self.primal_weights(&self.states, &first);
                let lookahead = problem.descend(point, &weights).map_err(primal)?;
                let mut lookahead_states = self.dual_update(&first);
                // Evaluate at the lookahead point.
                let second = self.observe(problem.measure(&lookahead).map_err(primal)?)?;
                let weights = self.primal_weights(&lookahead_states, &second);
                // Update from the saved point with the lookahead's gradients.
                let next = problem.descend(point, &weights).map_err(primal)?;
                for (state, saved) in lookahead_states.iter_mut().zip(&self.states) {
                    state.rewind_dual_variables(saved);
                }
                let states = self.dual_update_from(lookahead_states, &second);
                let report = self.report(first, Some(second), &weights, &self.states, &states);
                self.notify(&report)?;
                (next, report, states)
            }
        };
        self.states = states;
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
                check_values(c, &m.value, ValueKind::Differentiable)?;
                if let Some(strict) = &m.strict {
                    check_values(c, strict, ValueKind::Strict)?;
                }
                let violation: Vec<f64> = m.value.iter().map(|v| c.violation(*v)).collect();
                let strict_violation = match &m.strict {
                    Some(strict) => strict.iter().map(|v| c.violation(*v)).collect(),
                    None => violation.clone(),
                };
                Ok(Observed {
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

    fn primal_weights(&self, states: &[FormulationState], observation: &Observation) -> PrimalWeights {
        let weights = self
            .constraints
            .iter()
            .zip(states)
            .zip(&observation.constraints)
            .map(|((c, s), o)| {
                let mut w = vec![0.0; c.entries()];
                if o.primal {
                    c.formulation()
                        .primal_weights(s, &o.violation, c.sense().is_inequality(), &mut w);
                }
                w
            })
            .collect();
        PrimalWeights {
            weights,
            signs: Arc::clone(&self.signs),
        }
    }

    /// The dual state after this step's dual update, not yet committed.
    fn dual_update(&self, observation: &Observation) -> Vec<FormulationState> {
        self.dual_update_from(self.states.clone(), observation)
    }

    /// Applies the dual update for `observation` to `states`.
    fn dual_update_from(&self, mut states: Vec<FormulationState>, observation: &Observation) -> Vec<FormulationState> {
        for ((c, s), o) in self.constraints.iter().zip(&mut states).zip(&observation.constraints) {
            if o.dual {
                c.formulation()
                    .dual_update(s, &o.strict_violation, c.sense().is_inequality());
            }
        }
        states
    }

    /// The step's report, taking the observations' vectors: `first` was
    /// measured at `x_t`; `second`, if any, at `x_{t+1}` for the dual step.
    fn report(
        &self,
        first: Observation,
        second: Option<Observation>,
        weights: &PrimalWeights,
        primal_states: &[FormulationState],
        states: &[FormulationState],
    ) -> StepReport {
        let mut lagrangian = first.loss;
        let mut dual_side = second.map(|o| o.constraints.into_iter());
        let constraints: Vec<ConstraintReport> = self
            .constraints
            .iter()
            .zip(first.constraints)
            .enumerate()
            .map(|(i, (c, o))| {
                if o.primal {
                    lagrangian +=
                        c.formulation()
                            .primal_contribution(&primal_states[i], &o.violation, c.sense().is_inequality());
                }
                let (strict_value, violation) = match dual_side.as_mut().and_then(Iterator::next) {
                    Some(d) => (d.strict_value, d.strict_violation),
                    None => (o.strict_value, o.strict_violation),
                };
                ConstraintReport {
                    name: Arc::clone(&self.names[i]),
                    feasible: violation.iter().all(|g| c.is_satisfied(*g)),
                    value: o.value,
                    strict_value,
                    violation,
                    primal_weight: weights.weights[i].clone(),
                    multipliers: states[i].multipliers().map(<[f64]>::to_vec),
                    penalty: states[i].penalty().map(<[f64]>::to_vec),
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

fn check_values(constraint: &Constraint, values: &[f64], kind: ValueKind) -> Result<()> {
    if values.len() != constraint.entries() {
        return Err(FeasibleError::SizeMismatch {
            constraint: constraint.name().to_string(),
            expected: constraint.entries(),
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
