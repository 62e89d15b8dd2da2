//! The constrained optimizer: the declared constraints, their dual state,
//! the update scheme, and the step that ties them to the caller's model.
//!
//! A step measures, validates ([`crate::observation`]), runs the scheme
//! ([`crate::scheme`], one module per scheme) on *copies* of the dual
//! state, commits the copies, and then reports to the observers. Anything
//! that fails before the commit leaves every state as it was.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::constraint::{Constraint, ConstraintId};
use crate::error::{FeasibleError, Result};
use crate::formulation::{Formulation, FormulationState, ProxyLagrangian, ProxyLagrangianState};
use crate::measurement::Measurements;
use crate::observation::{Observation, observe, unknown};
use crate::observe::Observer;
use crate::report::StepReport;
use crate::scheme::{self, PrimalProblem, UpdateScheme};
use crate::shape::Shape;
use crate::state::{ConstraintDualState, DualState};
use crate::weights::PrimalWeights;

/// Tells optimizers apart, so that ids of one are refused by another.
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

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

    /// Registers an observer that receives every committed step's report.
    pub fn observer(mut self, observer: impl Observer + 'static) -> Self {
        self.observers.push(Box::new(observer));
        self
    }

    /// Checks every constraint (names unique and non-empty, finite targets,
    /// valid hyperparameters, settings that fit the constraint, sizes that
    /// can be allocated) and builds the optimizer.
    pub fn build(self) -> Result<ConstrainedOptimizer> {
        for (i, c) in self.constraints.iter().enumerate() {
            c.validate()?;
            if self.constraints[..i].iter().any(|d| d.name() == c.name()) {
                return Err(FeasibleError::DuplicateConstraint {
                    name: c.name().to_string(),
                });
            }
        }
        let game = proxy_game(&self.constraints);
        if let Some((first, rest)) = game.split_first() {
            let setting = |c: &Constraint| format!("{:?}", c.formulation());
            if let Some(other) = rest
                .iter()
                .find(|k| setting(&self.constraints[**k]) != setting(&self.constraints[*first]))
            {
                return Err(FeasibleError::InvalidConstraint {
                    constraint: self.constraints[*other].name().to_string(),
                    reason: format!(
                        "the proxy-Lagrangian constraints of one optimizer play one game with one setting; \
                         this one has {}, constraint `{}` has {}",
                        setting(&self.constraints[*other]),
                        self.constraints[*first].name(),
                        setting(&self.constraints[*first])
                    ),
                });
            }
        }
        let shapes: Vec<Shape> = self.constraints.iter().map(Constraint::shape).collect();
        let states = self
            .constraints
            .iter()
            .zip(&shapes)
            .map(|(c, shape)| c.formulation().init(shape))
            .collect::<Result<Vec<_>>>()?;
        let states = init_game(&self.constraints, &game, states)?;
        Ok(ConstrainedOptimizer {
            names: self.constraints.iter().map(|c| Arc::from(c.name())).collect(),
            signs: self.constraints.iter().map(|c| c.sense().sign()).collect(),
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            constraints: self.constraints,
            shapes,
            states,
            scheme: self.scheme,
            steps: 0,
            observers: self.observers.into_iter().map(Some).collect(),
            observer_error: None,
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
    shapes: Vec<Shape>,
    /// The constraints' names, shared with every report.
    names: Vec<Arc<str>>,
    /// `sign` of each constraint's sense, shared with every `PrimalWeights`.
    signs: Arc<[f64]>,
    /// This optimizer's tag in the ids it issues.
    owner: u64,
    states: Vec<FormulationState>,
    scheme: UpdateScheme,
    steps: u64,
    /// `None` once an observer failed (it is not called again).
    observers: Vec<Option<Box<dyn Observer>>>,
    observer_error: Option<FeasibleError>,
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
                &self.observers.iter().flatten().map(|o| o.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A step computed but not committed: the primal weights, the report, the
/// updated views of the dual state and where they go on commit.
pub(crate) struct Prepared {
    pub(crate) weights: PrimalWeights,
    pub(crate) report: StepReport,
    pub(crate) updated: Vec<FormulationState>,
    pub(crate) targets: Vec<Option<Vec<usize>>>,
}

/// Where a pending step stands.
enum Stage {
    /// Computed; waiting for the caller's primal step and the commit.
    Ready(Prepared),
    /// Alternating primal→dual: waiting for the measurement at `x_{t+1}`.
    Halfway(scheme::Halfway),
}

/// A step begun with [`ConstrainedOptimizer::begin`] and not yet committed.
/// Dropping it changes nothing.
pub struct PendingStep<'a> {
    optimizer: &'a mut ConstrainedOptimizer,
    stage: Stage,
}

impl fmt::Debug for PendingStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingStep")
            .field("needs_measurement", &self.needs_measurement())
            .finish_non_exhaustive()
    }
}

impl PendingStep<'_> {
    /// The primal weights: descend `∇f + Σ w ∇g`, i.e. build the objective
    /// `loss + Σ coef · value` with [`PrimalWeights::value_coefficients`].
    pub fn weights(&self) -> &PrimalWeights {
        match &self.stage {
            Stage::Ready(p) => &p.weights,
            Stage::Halfway(h) => &h.weights,
        }
    }

    /// Whether the commit needs the constraints measured again after the
    /// primal step (alternating primal→dual).
    pub fn needs_measurement(&self) -> bool {
        matches!(self.stage, Stage::Halfway(_))
    }

    /// The report of the step, as it will be committed (`None` while a
    /// measurement is still needed).
    pub fn report(&self) -> Option<&StepReport> {
        match &self.stage {
            Stage::Ready(p) => Some(&p.report),
            Stage::Halfway(_) => None,
        }
    }

    /// Applies the dual update (after the caller's primal step) and reports
    /// the step to the observers. For alternating primal→dual, use
    /// [`PendingStep::commit_measured`]: this refuses with
    /// [`FeasibleError::MeasurementNeeded`] and changes nothing.
    pub fn commit(self) -> Result<StepReport> {
        match self.stage {
            Stage::Ready(prepared) => Ok(self.optimizer.commit(prepared)),
            Stage::Halfway(_) => Err(FeasibleError::MeasurementNeeded),
        }
    }

    /// Alternating primal→dual: the dual update from the constraints
    /// measured at `x_{t+1}` (the loss in `measurements` is not used).
    /// Other schemes take the dual step from `x_t` and refuse a second
    /// measurement. On error nothing changes.
    pub fn commit_measured(self, measurements: Measurements) -> Result<StepReport> {
        match self.stage {
            Stage::Halfway(half) => {
                let second = observe(&self.optimizer.constraints, self.optimizer.owner, measurements)?;
                let prepared = scheme::primal_dual_finish(self.optimizer, half, second)?;
                Ok(self.optimizer.commit(prepared))
            }
            Stage::Ready(_) => Err(FeasibleError::MeasurementNotNeeded {
                scheme: self.optimizer.scheme.name(),
            }),
        }
    }
}

/// Wraps the caller's error.
pub(crate) fn primal_error<E: std::error::Error + Send + Sync + 'static>(source: E) -> FeasibleError {
    FeasibleError::Primal {
        source: Box::new(source),
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

    pub(crate) fn owner(&self) -> u64 {
        self.owner
    }

    /// The id of the constraint called `name` (valid for this optimizer only).
    pub fn id(&self, name: &str) -> Result<ConstraintId> {
        self.constraints
            .iter()
            .position(|c| c.name() == name)
            .map(|index| ConstraintId {
                index,
                owner: self.owner,
            })
            .ok_or_else(|| unknown(&self.constraints, name))
    }

    /// The multipliers of the constraint called `name` (`None` for a
    /// formulation without multipliers).
    pub fn multipliers(&self, name: &str) -> Result<Option<&[f64]>> {
        let id = self.id(name)?;
        Ok(self.states[id.index].multipliers())
    }

    /// The current penalty coefficients of the constraint called `name`
    /// (`None` for a formulation without changing coefficients).
    pub fn penalty(&self, name: &str) -> Result<Option<&[f64]>> {
        let id = self.id(name)?;
        Ok(self.states[id.index].penalty())
    }

    /// The dual state of the constraint called `name`, without a copy
    /// (what [`ConstrainedOptimizer::state`] would copy for it; for a
    /// per-sample constraint with a billion entries that copy is gigabytes).
    pub fn constraint_state(&self, name: &str) -> Result<&FormulationState> {
        let id = self.id(name)?;
        Ok(&self.states[id.index])
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
                    sense: c.sense(),
                    target: c.targets().clone(),
                    entries: c.entries(),
                    state: s.clone(),
                })
                .collect(),
        }
    }

    /// Replaces the dual state with `state`, after checking that it belongs
    /// to these constraints (see [`DualState::check_fits`]). On error
    /// nothing changes.
    pub fn restore(&mut self, state: DualState) -> Result<()> {
        state.check_fits(&self.constraints)?;
        let game = proxy_game(&self.constraints);
        if let Some((proxy, states)) = game_states(&self.constraints, &game, state.constraints.iter().map(|c| &c.state))
        {
            proxy
                .check_game(&states)
                .map_err(|reason| FeasibleError::StateMismatch { reason })?;
        }
        self.steps = state.steps;
        self.states = state.constraints.into_iter().map(|s| s.state).collect();
        Ok(())
    }

    /// The error of the first observer that failed, if one did (it was
    /// detached then; [`ConstrainedOptimizer::finish`] returns it too).
    pub fn observer_error(&self) -> Option<&FeasibleError> {
        self.observer_error.as_ref()
    }

    /// Calls every observer's `on_finish` (flushing files). Returns the
    /// first error: of an observer that failed during the run, else of a
    /// failing `on_finish`.
    pub fn finish(&mut self) -> Result<()> {
        let mut first = self.observer_error.take();
        for observer in self.observers.iter_mut().flatten() {
            if let Err(source) = observer.on_finish() {
                first.get_or_insert(FeasibleError::Observer {
                    observer: observer.name().to_string(),
                    source,
                });
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// One constrained step, in the order the [`UpdateScheme`] defines.
    ///
    /// Measures `point` through `problem`, computes the primal weights and the
    /// dual update on copies of the dual state, lets `problem` take the
    /// primal step, commits, and reports the committed step to the
    /// observers. Returns the new point and the report.
    ///
    /// On error (invalid measurements, a failing `problem`, a dual update
    /// whose result is not finite) the dual state and the step count are
    /// unchanged, the observers saw nothing, and the caller keeps `point`.
    /// An observer that fails does not undo the committed step: it is
    /// detached and its error kept for [`ConstrainedOptimizer::finish`].
    pub fn step<P: PrimalProblem>(&mut self, problem: &mut P, point: &P::Point) -> Result<(P::Point, StepReport)> {
        let first = observe(
            &self.constraints,
            self.owner,
            problem.measure(point).map_err(primal_error)?,
        )?;
        let (next, prepared) = match self.scheme {
            UpdateScheme::Simultaneous | UpdateScheme::AlternatingDualPrimal => {
                let prepared = self.prepare(first)?;
                let next = problem.descend(point, point, &prepared.weights).map_err(primal_error)?;
                (next, prepared)
            }
            UpdateScheme::AlternatingPrimalDual => {
                let half = scheme::primal_dual(self, first);
                let next = problem.descend(point, point, &half.weights).map_err(primal_error)?;
                let measured = problem.measure_constraints(&next).map_err(primal_error)?;
                let second = observe(&self.constraints, self.owner, measured)?;
                (next, scheme::primal_dual_finish(self, half, second)?)
            }
            UpdateScheme::Extragradient => scheme::extragradient(self, problem, point, first)?,
        };
        Ok((next, self.commit(prepared)))
    }

    /// Begins a step from measurements the caller made at the current point
    /// `x_t`, for a training loop the caller keeps (burn's own optimizers,
    /// schedulers, gradient accumulation, clipping): the returned
    /// [`PendingStep`] gives the primal weights to build the objective
    /// `loss + Σ coef · value` from; the caller takes the primal step, then
    /// commits. Nothing changes before the commit: a step dropped without
    /// one leaves the dual state as it was.
    ///
    /// Simultaneous and alternating dual→primal: [`PendingStep::commit`].
    /// Alternating primal→dual: measure the constraints again at `x_{t+1}`
    /// and [`PendingStep::commit_measured`]. Extragradient measures a
    /// lookahead point within the step: use [`ConstrainedOptimizer::step`].
    ///
    /// ```
    /// use feasible::{Constraint, ConstrainedOptimizer, Measurement, Measurements};
    ///
    /// let mut optimizer = ConstrainedOptimizer::builder()
    ///     .constraint(Constraint::at_most("x", 1.0))
    ///     .build()?;
    /// let id = optimizer.id("x")?;
    /// let mut x = 3.0_f64;
    /// for _ in 0..5000 {
    ///     // min (x - 2)² s.t. x <= 1: measure, descend with the weights, commit.
    ///     let pending = optimizer.begin(Measurements::new((x - 2.0).powi(2)).with("x", Measurement::scalar(x)))?;
    ///     let coef = pending.weights().value_coefficient(id).unwrap_or(0.0);
    ///     x -= 0.1 * (2.0 * (x - 2.0) + coef);
    ///     pending.commit()?;
    /// }
    /// assert!((x - 1.0).abs() < 1e-3);
    /// # Ok::<(), feasible::FeasibleError>(())
    /// ```
    pub fn begin(&mut self, measurements: Measurements) -> Result<PendingStep<'_>> {
        let first = observe(&self.constraints, self.owner, measurements)?;
        let stage = match self.scheme {
            UpdateScheme::Simultaneous | UpdateScheme::AlternatingDualPrimal => Stage::Ready(self.prepare(first)?),
            UpdateScheme::AlternatingPrimalDual => Stage::Halfway(scheme::primal_dual(self, first)),
            UpdateScheme::Extragradient => {
                return Err(FeasibleError::SchemeNeedsProblem {
                    scheme: self.scheme.name(),
                });
            }
        };
        Ok(PendingStep { optimizer: self, stage })
    }

    /// The step of a one-measurement scheme, not committed.
    fn prepare(&self, first: Observation) -> Result<Prepared> {
        match self.scheme {
            UpdateScheme::Simultaneous => scheme::simultaneous(self, first),
            _ => scheme::dual_primal(self, first),
        }
    }

    /// Applies a prepared step to the dual state and reports it.
    fn commit(&mut self, prepared: Prepared) -> StepReport {
        let Prepared {
            report,
            updated,
            targets,
            ..
        } = prepared;
        for ((state, view), target) in self.states.iter_mut().zip(updated).zip(targets) {
            match target {
                None => *state = view,
                Some(ids) => state.scatter(&ids, &view),
            }
        }
        self.steps += 1;
        self.notify(&report);
        report
    }

    /// Reports a committed step; a failing observer is detached.
    fn notify(&mut self, report: &StepReport) {
        for slot in &mut self.observers {
            if let Some(observer) = slot
                && let Err(source) = observer.on_step(report)
            {
                let error = FeasibleError::Observer {
                    observer: observer.name().to_string(),
                    source,
                };
                self.observer_error.get_or_insert(error);
                *slot = None;
            }
        }
    }

    /// The part of each constraint's state this step works on: the whole
    /// state of a dense constraint, the batch's distinct entries of an
    /// indexed one.
    pub(crate) fn views(&self, observation: &Observation) -> Vec<FormulationState> {
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
    pub(crate) fn primal_weights(&self, views: &[FormulationState], observation: &Observation) -> PrimalWeights {
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
        // A proxy-Lagrangian game weighs the objective by `λ_0`; the other
        // constraints' weights scale with it, relative to the objective.
        let mut weights: Vec<Vec<f64>> = weights;
        let objective = views.iter().find_map(FormulationState::objective_weight).unwrap_or(1.0);
        if objective != 1.0 {
            for (w, view) in weights.iter_mut().zip(views) {
                if view.objective_weight().is_none() {
                    w.iter_mut().for_each(|w| *w *= objective);
                }
            }
        }
        PrimalWeights {
            weights,
            signs: Arc::clone(&self.signs),
            owner: self.owner,
            objective,
        }
    }

    /// The views after this step's dual update (not committed). A result
    /// that is not finite is an error.
    pub(crate) fn dual_update(
        &self,
        mut views: Vec<FormulationState>,
        observation: &Observation,
    ) -> Result<Vec<FormulationState>> {
        for (((c, shape), view), o) in self
            .constraints
            .iter()
            .zip(&self.shapes)
            .zip(&mut views)
            .zip(&observation.constraints)
        {
            if o.dual {
                let (gradients, ids) = o.dual_side();
                c.formulation().dual_update(ids, view, gradients, shape, self.steps)?;
            }
        }
        self.game_update(&mut views, observation)?;
        Ok(views)
    }

    /// One step of the proxy-Lagrangian game, if constraints play one:
    /// their strict violations, in declaration order (zero for a
    /// constraint kept out of the dual update), move the views. When every
    /// player is kept out of the dual update the game does not move (nor
    /// does a stateful optimizer's momentum).
    fn game_update(&self, views: &mut [FormulationState], observation: &Observation) -> Result<()> {
        let game = proxy_game(&self.constraints);
        let Some(first) = game.first() else { return Ok(()) };
        if game.iter().all(|k| !observation.constraints[*k].dual) {
            return Ok(());
        }
        let Formulation::ProxyLagrangian(proxy) = self.constraints[*first].formulation() else {
            return Ok(());
        };
        let violations: Vec<f64> = game
            .iter()
            .flat_map(|k| {
                let o = &observation.constraints[*k];
                let (g, _) = o.dual_side();
                g.iter().map(move |g| if o.dual { *g } else { 0.0 })
            })
            .collect();
        let mut states: Vec<&mut ProxyLagrangianState> = views
            .iter_mut()
            .enumerate()
            .filter(|(k, _)| game.contains(k))
            .filter_map(|(_, v)| match v {
                FormulationState::ProxyLagrangian(s) => Some(s),
                _ => None,
            })
            .collect();
        proxy.game_update(&mut states, &violations, &self.shapes[*first])
    }

    /// The step's report.
    pub(crate) fn report(
        &self,
        first: Observation,
        second: Option<Observation>,
        weights: &PrimalWeights,
        primal_views: &[FormulationState],
        updated: &[FormulationState],
    ) -> StepReport {
        crate::report::build(
            &self.constraints,
            &self.names,
            self.steps,
            first,
            second,
            weights,
            primal_views,
            updated,
        )
    }
}

/// The positions of the constraints that use the proxy-Lagrangian: the
/// players of its one game.
fn proxy_game(constraints: &[Constraint]) -> Vec<usize> {
    constraints
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.formulation(), Formulation::ProxyLagrangian(_)))
        .map(|(k, _)| k)
        .collect()
}

/// The game's formulation and its players' states, if there is a game.
fn game_states<'a>(
    constraints: &'a [Constraint],
    game: &[usize],
    states: impl Iterator<Item = &'a FormulationState>,
) -> Option<(&'a ProxyLagrangian, Vec<&'a ProxyLagrangianState>)> {
    let Formulation::ProxyLagrangian(proxy) = constraints[*game.first()?].formulation() else {
        return None;
    };
    let players = states
        .enumerate()
        .filter(|(k, _)| game.contains(k))
        .filter_map(|(_, s)| match s {
            FormulationState::ProxyLagrangian(s) => Some(s),
            _ => None,
        })
        .collect();
    Some((proxy, players))
}

/// The first states with the proxy-Lagrangian constraints' replaced by
/// those of their one game.
fn init_game(
    constraints: &[Constraint],
    game: &[usize],
    mut states: Vec<FormulationState>,
) -> Result<Vec<FormulationState>> {
    let Some(Formulation::ProxyLagrangian(proxy)) = game.first().map(|k| constraints[*k].formulation()) else {
        return Ok(states);
    };
    let entries: Vec<usize> = game.iter().map(|k| constraints[*k].entries()).collect();
    for (k, state) in game.iter().zip(proxy.init_game(&entries)?) {
        states[*k] = FormulationState::ProxyLagrangian(state);
    }
    Ok(states)
}
