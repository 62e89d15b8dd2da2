//! Formulations: how a constraint enters the objective the model descends,
//! and how (whether) its dual variables move.
//!
//! Every formulation answers three questions per constraint entry, given the
//! violation `g` (see [`crate::constraint`] for the sign convention):
//!
//! 1. the **primal weight** `w`: the model must descend `∇f + Σ w ∇g`, so
//!    `w` is all a deep-learning framework needs;
//! 2. the **primal contribution**: the value the entry adds to the objective
//!    (reported as the Lagrangian);
//! 3. the **dual update**: how its multiplier (and penalty coefficient)
//!    moves, from the strict violation.
//!
//! | formulation | `w` (inequality) | `w` (equality) | dual update |
//! |---|---|---|---|
//! | [`Lagrangian`] | `λ` | `μ` | `λ ← Π(λ + step(g))` by a dual optimizer |
//! | [`AugmentedLagrangian`] | `[λ + c g]_+` | `μ + c h` | `λ ← [λ + c g]_+` (or a dual optimizer); `c` by its updater |
//! | [`QuadraticPenalty`] | `c [g]_+` | `c h` | `c` by its updater |
//! | [`FixedPenalty`] | `c` | `c` | none |
//! | [`ProxyLagrangian`] | `λ_i`, and `λ_0` on the objective | refused | swap-regret step on a stochastic matrix whose stationary distribution is `λ` |
//!
//! Each formulation is a type that holds what it needs (the dual optimizer
//! of a [`Lagrangian`], the penalty of an [`AugmentedLagrangian`]), with
//! builder methods only where they apply, so a pairing that makes no sense
//! does not compile:
//!
//! ```compile_fail
//! use feasible::{Formulation, NuPi};
//! // A quadratic penalty has no multipliers, so no dual optimizer.
//! let f = Formulation::quadratic_penalty(10.0).with_dual_optimizer(NuPi::new(0.1, 1.0, 1.0));
//! ```
//!
//! ```compile_fail
//! use feasible::Formulation;
//! // Slack variables relax a Lagrangian, not an augmented Lagrangian.
//! let f = Formulation::augmented_lagrangian(1.0).with_slack(1.0);
//! ```
//!
//! What only the constraint can tell (a restart on an equality, a per-entry
//! value of the wrong length) is a typed error from
//! [`ConstrainedOptimizerBuilder::build`](crate::ConstrainedOptimizerBuilder::build).
//!
//! ## Defaults that differ from Cooper's
//!
//! Each is the mathematically standard choice; the right column gets
//! Cooper 1.0.1's behaviour in one line.
//!
//! | what | feasible | Cooper 1.0.1 | Cooper's behaviour here |
//! |---|---|---|---|
//! | nuPI's first step | `ξ_{-1} = 0`: `η (K_i + (1-ν) K_p) e_0`; every entry starts at its own first observation, dense and indexed alike | "SGD" init: first step plain ascent `η K_i e_0` for dense multipliers, and a different second step for indexed ones | `NuPi::new(..).with_start(NuPiStart::Ascent)` (first step `η K_i e_0`) |
//! | augmented Lagrangian dual step | `λ ← [λ + c g]_+`, scaled by the penalty `c` (Nocedal & Wright eq. 17.39) | a dual optimizer step not scaled by `c` | `Formulation::augmented_lagrangian(c).with_dual_optimizer(GradientAscent::new(lr))` |
//! | penalty restarts | off (`PenaltyGrowth` grows only) | `restart_on_feasible` of the penalty updater on | `PenaltyGrowth::multiplicative(1.01).with_restart()` |
//! | penalty growth tolerance | `1e-4`, on the norm of the violation (shared coefficient) | `violation_tolerance = 1e-4` | the same |
//! | augmented Lagrangian with `c = 0` | the Lagrangian (no division by zero) | NaN | nothing to do |
//! | Adam's `ε` | `1e-8` (PyTorch, optax) | PyTorch's `1e-8` | the same; note burn's own Adam uses `1e-5` |
//! | multiplier projection | part of every dual step, for every optimizer | a separate `post_step_` | nothing to do |

pub mod augmented_lagrangian;
pub mod fixed_penalty;
pub mod lagrangian;
pub mod proxy_lagrangian;
pub mod quadratic_penalty;

pub use augmented_lagrangian::{AugmentedDualStep, AugmentedLagrangian, AugmentedLagrangianState};
pub use fixed_penalty::FixedPenalty;
pub use lagrangian::{Lagrangian, LagrangianState, Relaxation};
pub use proxy_lagrangian::{ProxyLagrangian, ProxyLagrangianState};
pub use quadratic_penalty::{QuadraticPenalty, QuadraticPenaltyState};

use serde::{Deserialize, Serialize};

use crate::dual::{DualOptimizer, GradientAscent, PerEntry};
use crate::error::{FeasibleError, Result};
use crate::penalty::Penalty;
use crate::shape::Shape;

/// How a constraint is enforced: one of the five formulations, each a type
/// of its own (see the [module docs](self)).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Formulation {
    /// The Lagrangian with learned multipliers.
    Lagrangian(Lagrangian),
    /// The augmented Lagrangian.
    AugmentedLagrangian(AugmentedLagrangian),
    /// The quadratic penalty.
    QuadraticPenalty(QuadraticPenalty),
    /// A fixed penalty.
    FixedPenalty(FixedPenalty),
    /// The proxy-Lagrangian with swap-regret updates (TFCO).
    ProxyLagrangian(ProxyLagrangian),
}

impl Default for Formulation {
    /// The Lagrangian with gradient ascent, dual step size 0.01, multipliers
    /// starting at 0.
    fn default() -> Self {
        Formulation::lagrangian(GradientAscent::new(0.01)).into()
    }
}

macro_rules! impl_from {
    ($($variant:ident),*) => {
        $(impl From<$variant> for Formulation {
            fn from(formulation: $variant) -> Self {
                Formulation::$variant(formulation)
            }
        })*
    };
}

impl_from!(
    Lagrangian,
    AugmentedLagrangian,
    QuadraticPenalty,
    FixedPenalty,
    ProxyLagrangian
);

impl Formulation {
    /// The Lagrangian with `dual_optimizer`, multipliers starting at 0.
    pub fn lagrangian(dual_optimizer: impl DualOptimizer) -> Lagrangian {
        Lagrangian::new(dual_optimizer)
    }

    /// The Lagrangian with multipliers starting at `initial_multiplier`
    /// (one value, or one per entry).
    pub fn lagrangian_from(dual_optimizer: impl DualOptimizer, initial_multiplier: impl Into<PerEntry>) -> Lagrangian {
        Lagrangian::new(dual_optimizer).with_initial_multiplier(initial_multiplier)
    }

    /// The augmented Lagrangian with penalty `penalty` (a number is a fixed
    /// coefficient per constraint), the classical dual step, multipliers
    /// starting at 0.
    pub fn augmented_lagrangian(penalty: impl Into<Penalty>) -> AugmentedLagrangian {
        AugmentedLagrangian::new(penalty)
    }

    /// The quadratic penalty with coefficient `penalty`.
    pub fn quadratic_penalty(penalty: impl Into<Penalty>) -> QuadraticPenalty {
        QuadraticPenalty::new(penalty)
    }

    /// A fixed penalty with coefficient `c`.
    pub fn fixed_penalty(coefficient: f64) -> FixedPenalty {
        FixedPenalty::new(coefficient)
    }

    /// The proxy-Lagrangian whose swap-regret matrix ascends by
    /// `dual_optimizer` ([`GradientAscent`] with step `η`: the
    /// multiplicative update of Cotter et al. 2019, Algorithm 2).
    pub fn proxy_lagrangian(dual_optimizer: impl DualOptimizer) -> ProxyLagrangian {
        ProxyLagrangian::new(dual_optimizer)
    }

    /// A short name: `lagrangian`, `augmented_lagrangian`, `quadratic_penalty`,
    /// `fixed_penalty`, `proxy_lagrangian`.
    pub fn name(&self) -> &'static str {
        match self {
            Formulation::Lagrangian(_) => "lagrangian",
            Formulation::AugmentedLagrangian(_) => "augmented_lagrangian",
            Formulation::QuadraticPenalty(_) => "quadratic_penalty",
            Formulation::FixedPenalty(_) => "fixed_penalty",
            Formulation::ProxyLagrangian(_) => "proxy_lagrangian",
        }
    }

    /// Whether the formulation learns multipliers.
    pub fn has_multipliers(&self) -> bool {
        matches!(
            self,
            Formulation::Lagrangian(_) | Formulation::AugmentedLagrangian(_) | Formulation::ProxyLagrangian(_)
        )
    }

    pub(crate) fn validate(&self, shape: &Shape) -> Result<()> {
        match self {
            Formulation::Lagrangian(f) => f.validate(shape),
            Formulation::AugmentedLagrangian(f) => f.validate(shape),
            Formulation::QuadraticPenalty(f) => f.validate(shape),
            Formulation::FixedPenalty(f) => f.validate(shape),
            Formulation::ProxyLagrangian(f) => f.validate(shape),
        }
    }

    /// The state a constraint of this shape starts from.
    pub(crate) fn init(&self, shape: &Shape) -> Result<FormulationState> {
        Ok(match self {
            Formulation::Lagrangian(f) => FormulationState::Lagrangian(f.init(shape)?),
            Formulation::AugmentedLagrangian(f) => FormulationState::AugmentedLagrangian(f.init(shape)?),
            Formulation::QuadraticPenalty(f) => FormulationState::QuadraticPenalty(f.init(shape)?),
            Formulation::FixedPenalty(_) => FormulationState::FixedPenalty,
            Formulation::ProxyLagrangian(f) => FormulationState::ProxyLagrangian(f.init(shape)?),
        })
    }

    /// Whether `state` belongs to this formulation for `shape`; otherwise
    /// what differs.
    pub(crate) fn check_fits(&self, state: &FormulationState, shape: &Shape) -> std::result::Result<(), String> {
        use FormulationState as S;
        match (self, state) {
            (Formulation::Lagrangian(f), S::Lagrangian(s)) => f.check_fits(s, shape),
            (Formulation::AugmentedLagrangian(f), S::AugmentedLagrangian(s)) => f.check_fits(s, shape),
            (Formulation::QuadraticPenalty(f), S::QuadraticPenalty(s)) => f.check_fits(s, shape),
            (Formulation::FixedPenalty(_), S::FixedPenalty) => Ok(()),
            (Formulation::ProxyLagrangian(f), S::ProxyLagrangian(s)) => f.check_fits(s, shape),
            _ => Err(format!(
                "it holds a {} state, this constraint uses the {} formulation",
                state.name(),
                self.name()
            )),
        }
    }

    /// Writes the primal weights `w` for violations `g` into `out`.
    pub(crate) fn primal_weights(
        &self,
        state: &FormulationState,
        violations: &[f64],
        inequality: bool,
        out: &mut [f64],
    ) {
        use FormulationState as S;
        match (self, state) {
            (_, S::Lagrangian(s)) => lagrangian::primal_weights(&s.multipliers, out),
            (_, S::AugmentedLagrangian(s)) => {
                augmented_lagrangian::primal_weights(&s.multipliers, &s.penalty, violations, inequality, out)
            }
            (_, S::QuadraticPenalty(s)) => quadratic_penalty::primal_weights(&s.penalty, violations, inequality, out),
            (Formulation::FixedPenalty(f), _) => fixed_penalty::primal_weights(f.coefficient, out),
            (_, S::ProxyLagrangian(s)) => lagrangian::primal_weights(&s.multipliers, out),
            _ => out.fill(0.0),
        }
    }

    /// The value the constraint adds to the objective at violations `g`.
    pub(crate) fn primal_contribution(&self, state: &FormulationState, violations: &[f64], inequality: bool) -> f64 {
        use FormulationState as S;
        match (self, state) {
            (Formulation::Lagrangian(f), S::Lagrangian(s)) => f.primal_contribution(s, violations),
            (_, S::AugmentedLagrangian(s)) => {
                augmented_lagrangian::primal_contribution(&s.multipliers, &s.penalty, violations, inequality)
            }
            (_, S::QuadraticPenalty(s)) => quadratic_penalty::primal_contribution(&s.penalty, violations, inequality),
            (Formulation::FixedPenalty(f), _) => fixed_penalty::primal_contribution(f.coefficient, violations),
            (_, S::ProxyLagrangian(s)) => lagrangian::primal_contribution(&s.multipliers, violations),
            _ => 0.0,
        }
    }

    /// Moves the dual variables of `state` (multipliers, then penalty
    /// coefficients) given the strict violations, at committed step `step`.
    /// `ids` name the entries of a gathered state. On error `state` may be
    /// half updated: callers work on a copy.
    pub(crate) fn dual_update(
        &self,
        ids: Option<&[usize]>,
        state: &mut FormulationState,
        strict_violations: &[f64],
        shape: &Shape,
        step: u64,
    ) -> Result<()> {
        use FormulationState as S;
        match (self, state) {
            (Formulation::Lagrangian(f), S::Lagrangian(s)) => f.dual_update(ids, s, strict_violations, shape, step),
            (Formulation::AugmentedLagrangian(f), S::AugmentedLagrangian(s)) => {
                f.dual_update(ids, s, strict_violations, shape)
            }
            (Formulation::QuadraticPenalty(f), S::QuadraticPenalty(s)) => {
                f.dual_update(ids, s, strict_violations, shape)
            }
            (Formulation::FixedPenalty(_), S::FixedPenalty) => Ok(()),
            // The proxy-Lagrangian constraints move together, as one game:
            // `ConstrainedOptimizer::dual_update` steps it.
            (Formulation::ProxyLagrangian(_), S::ProxyLagrangian(_)) => Ok(()),
            (f, s) => Err(FeasibleError::StateMismatch {
                reason: format!("{}: a {} state for the {} formulation", shape.owner, s.name(), f.name()),
            }),
        }
    }
}

/// The dual variables of one constraint, as saved in a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FormulationState {
    /// Multipliers and the dual optimizer's state.
    Lagrangian(LagrangianState),
    /// Multipliers, the dual optimizer's state if one replaces the classical
    /// step, and the current penalty coefficients.
    AugmentedLagrangian(AugmentedLagrangianState),
    /// The current penalty coefficients.
    QuadraticPenalty(QuadraticPenaltyState),
    /// A fixed penalty has no dual variables.
    FixedPenalty,
    /// The swap-regret matrix, its stationary distribution and the dual
    /// optimizer's state.
    ProxyLagrangian(ProxyLagrangianState),
}

impl FormulationState {
    /// The formulation's name.
    pub fn name(&self) -> &'static str {
        match self {
            FormulationState::Lagrangian(_) => "lagrangian",
            FormulationState::AugmentedLagrangian(_) => "augmented_lagrangian",
            FormulationState::QuadraticPenalty(_) => "quadratic_penalty",
            FormulationState::FixedPenalty => "fixed_penalty",
            FormulationState::ProxyLagrangian(_) => "proxy_lagrangian",
        }
    }

    /// The state of entries `ids` only (ids may repeat, each in range). A coefficient shared
    /// by the whole constraint stays one value; a proxy-Lagrangian state,
    /// one distribution over every entry, stays whole.
    pub(crate) fn gather(&self, ids: &[usize]) -> FormulationState {
        use crate::dual::gather;
        use FormulationState as S;
        let penalty = |p: &Vec<f64>| if p.len() == 1 { p.clone() } else { gather(p, ids) };
        match self {
            S::Lagrangian(s) => S::Lagrangian(LagrangianState {
                multipliers: gather(&s.multipliers, ids),
                dual_optimizer: s.dual_optimizer.gather(ids),
                smoothed: s.smoothed.as_ref().map(|e| e.gather(ids)),
            }),
            S::AugmentedLagrangian(s) => S::AugmentedLagrangian(AugmentedLagrangianState {
                multipliers: gather(&s.multipliers, ids),
                dual_optimizer: s.dual_optimizer.as_ref().map(|d| d.gather(ids)),
                penalty: penalty(&s.penalty),
            }),
            S::QuadraticPenalty(s) => S::QuadraticPenalty(QuadraticPenaltyState {
                penalty: penalty(&s.penalty),
            }),
            S::FixedPenalty => S::FixedPenalty,
            S::ProxyLagrangian(s) => S::ProxyLagrangian(s.clone()),
        }
    }

    /// Writes back entries `ids` from `sub`, made by
    /// [`FormulationState::gather`] with the same (distinct) ids.
    pub(crate) fn scatter(&mut self, ids: &[usize], sub: &FormulationState) {
        use crate::dual::scatter;
        use FormulationState as S;
        let penalty = |p: &mut Vec<f64>, q: &Vec<f64>| {
            if p.len() == 1 {
                p.clone_from(q)
            } else {
                scatter(p, ids, q)
            }
        };
        match (self, sub) {
            (S::Lagrangian(s), S::Lagrangian(t)) => {
                scatter(&mut s.multipliers, ids, &t.multipliers);
                s.dual_optimizer.scatter(ids, &t.dual_optimizer);
                if let (Some(e), Some(f)) = (s.smoothed.as_mut(), t.smoothed.as_ref()) {
                    e.scatter(ids, f);
                }
            }
            (S::AugmentedLagrangian(s), S::AugmentedLagrangian(t)) => {
                scatter(&mut s.multipliers, ids, &t.multipliers);
                if let (Some(d), Some(e)) = (s.dual_optimizer.as_mut(), t.dual_optimizer.as_ref()) {
                    d.scatter(ids, e);
                }
                penalty(&mut s.penalty, &t.penalty);
            }
            (S::QuadraticPenalty(s), S::QuadraticPenalty(t)) => penalty(&mut s.penalty, &t.penalty),
            (S::ProxyLagrangian(s), S::ProxyLagrangian(t)) => s.clone_from(t),
            _ => {}
        }
    }

    /// The multipliers, if the formulation has any.
    pub fn multipliers(&self) -> Option<&[f64]> {
        match self {
            FormulationState::Lagrangian(s) => Some(&s.multipliers),
            FormulationState::AugmentedLagrangian(s) => Some(&s.multipliers),
            FormulationState::ProxyLagrangian(s) => Some(&s.multipliers),
            _ => None,
        }
    }

    /// The objective's weight: `λ_0` of a proxy-Lagrangian, `None` for the
    /// other formulations (whose objective weighs 1).
    pub fn objective_weight(&self) -> Option<f64> {
        match self {
            FormulationState::ProxyLagrangian(s) => Some(s.objective_weight),
            _ => None,
        }
    }

    /// The multipliers for writing (editing a saved state by hand).
    pub fn multipliers_mut(&mut self) -> Option<&mut Vec<f64>> {
        match self {
            FormulationState::Lagrangian(s) => Some(&mut s.multipliers),
            FormulationState::AugmentedLagrangian(s) => Some(&mut s.multipliers),
            FormulationState::ProxyLagrangian(s) => Some(&mut s.multipliers),
            _ => None,
        }
    }

    /// The current penalty coefficients, if the formulation has any that change.
    pub fn penalty(&self) -> Option<&[f64]> {
        match self {
            FormulationState::AugmentedLagrangian(s) => Some(&s.penalty),
            FormulationState::QuadraticPenalty(s) => Some(&s.penalty),
            _ => None,
        }
    }

    /// The current penalty coefficients for writing.
    pub fn penalty_mut(&mut self) -> Option<&mut Vec<f64>> {
        match self {
            FormulationState::AugmentedLagrangian(s) => Some(&mut s.penalty),
            FormulationState::QuadraticPenalty(s) => Some(&mut s.penalty),
            _ => None,
        }
    }

    /// The dual optimizer's state, if the formulation has one.
    pub fn dual_optimizer(&self) -> Option<&crate::dual::OptimizerState> {
        match self {
            FormulationState::Lagrangian(s) => Some(&s.dual_optimizer),
            FormulationState::AugmentedLagrangian(s) => s.dual_optimizer.as_ref(),
            FormulationState::ProxyLagrangian(s) => Some(&s.dual_optimizer),
            _ => None,
        }
    }

    /// The first number that is not finite: where, and its value.
    pub(crate) fn first_non_finite(&self) -> Option<(String, usize, f64)> {
        let vector = |what: &str, v: &[f64]| {
            v.iter()
                .position(|x| !x.is_finite())
                .map(|k| (what.to_string(), k, v[k]))
        };
        let entries = |e: &crate::dual::EntryStates| e.first_non_finite().map(|(k, f, v)| (f.to_string(), k, v));
        self.multipliers()
            .and_then(|m| vector("multiplier", m))
            .or_else(|| self.penalty().and_then(|p| vector("penalty coefficient", p)))
            .or_else(|| self.dual_optimizer().and_then(|d| entries(&d.entries)))
            .or_else(|| match self {
                FormulationState::Lagrangian(s) => s.smoothed.as_ref().and_then(entries),
                FormulationState::ProxyLagrangian(s) => vector("swap-regret matrix", &s.log_matrix)
                    .or_else(|| vector("objective weight", &[s.objective_weight])),
                _ => None,
            })
    }

    /// Puts back the multipliers and penalty coefficients of `saved`, keeping
    /// this state's dual optimizer state (the extragradient update starts
    /// from the saved multipliers, with the optimizer state the
    /// extrapolation advanced).
    pub(crate) fn rewind_dual_variables(&mut self, saved: &FormulationState) {
        if let (FormulationState::ProxyLagrangian(s), FormulationState::ProxyLagrangian(t)) = (&mut *self, saved) {
            s.log_matrix.clone_from(&t.log_matrix);
            s.multipliers.clone_from(&t.multipliers);
            s.objective_weight = t.objective_weight;
            return;
        }
        if let (Some(m), Some(s)) = (self.multipliers_mut(), saved.multipliers()) {
            m.clear();
            m.extend_from_slice(s);
        }
        if let (Some(p), Some(s)) = (self.penalty_mut(), saved.penalty()) {
            p.clear();
            p.extend_from_slice(s);
        }
    }
}
