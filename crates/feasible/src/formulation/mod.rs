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
//! | [`Formulation::Lagrangian`] | `λ` | `μ` | `λ ← Π(λ + step(g))` by a dual optimizer |
//! | [`Formulation::AugmentedLagrangian`] | `[λ + c g]_+` | `μ + c h` | `λ ← [λ + c g]_+` (or a dual optimizer); `c` by its updater |
//! | [`Formulation::QuadraticPenalty`] | `c [g]_+` | `c h` | `c` by its updater |
//! | [`Formulation::FixedPenalty`] | `c` | `c` | none |
//!
//! A formulation carries its own hyperparameters (the dual optimizer of a
//! Lagrangian, the penalty of an augmented Lagrangian), so a pairing that
//! makes no sense (a fixed penalty with a dual optimizer) cannot be written.

pub mod augmented_lagrangian;
pub mod fixed_penalty;
pub mod lagrangian;
pub mod quadratic_penalty;

use serde::{Deserialize, Serialize};

use crate::constraint::Constraint;
use crate::dual::{AnyDualOptimizer, DualOptimizerState, GradientAscent};
use crate::error::{FeasibleError, Result, check_nonnegative};
use crate::penalty::Penalty;

/// The dual step of the augmented Lagrangian method.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AugmentedDualStep {
    /// The method of multipliers: `λ ← [λ + c g]_+`, the step scaled by the
    /// penalty coefficient.
    #[default]
    Classical,
    /// A separate dual optimizer (gradient ascent with its own step size,
    /// nuPI, ...), on the same gradient `g`.
    Optimizer(AnyDualOptimizer),
}

/// How a constraint is enforced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Formulation {
    /// The Lagrangian `f + λ·g`, with multipliers learned by a dual optimizer
    /// (ascent) and, for inequalities, kept `>= 0`.
    Lagrangian {
        /// The dual optimizer moving the multipliers.
        dual_optimizer: AnyDualOptimizer,
        /// The value every multiplier entry starts from (`>= 0` for an
        /// inequality; default 0).
        initial_multiplier: f64,
        /// A slack cost `α > 0` relaxes the constraint by slack variables
        /// of minimal norm (see [`lagrangian`]); `None`: no relaxation.
        #[serde(default)]
        slack: Option<f64>,
        /// Dual restarts: an inequality entry that is strictly satisfied
        /// (strict violation `< 0`) gets its initial multiplier and a fresh
        /// dual optimizer state back (see [`lagrangian`]).
        #[serde(default)]
        restart_on_feasible: bool,
    },
    /// The augmented Lagrangian `L_c` (see [`augmented_lagrangian`]).
    AugmentedLagrangian {
        /// The penalty coefficient `c`.
        penalty: Penalty,
        /// The dual step.
        dual_step: AugmentedDualStep,
        /// The value every multiplier entry starts from.
        initial_multiplier: f64,
    },
    /// The quadratic penalty `f + (c/2)|[g]_+|²` (see [`quadratic_penalty`]).
    QuadraticPenalty {
        /// The penalty coefficient `c`.
        penalty: Penalty,
    },
    /// A fixed weighted-sum penalty `f + c·g`: the baseline the position
    /// paper criticises. No multiplier; `c` never changes. Note that the term
    /// is linear in `g` (as in eq. 16 of the paper): it keeps pushing after
    /// the constraint is met.
    FixedPenalty {
        /// The penalty coefficient `c >= 0`.
        coefficient: f64,
    },
}

impl Default for Formulation {
    /// The Lagrangian with gradient ascent, dual step size 0.01, multipliers
    /// starting at 0.
    fn default() -> Self {
        Formulation::lagrangian(GradientAscent::new(0.01))
    }
}

impl Formulation {
    /// The Lagrangian with `dual_optimizer`, multipliers starting at 0.
    pub fn lagrangian(dual_optimizer: impl Into<AnyDualOptimizer>) -> Self {
        Formulation::Lagrangian {
            dual_optimizer: dual_optimizer.into(),
            initial_multiplier: 0.0,
            slack: None,
            restart_on_feasible: false,
        }
    }

    /// The Lagrangian with multipliers starting at `initial_multiplier`.
    pub fn lagrangian_from(dual_optimizer: impl Into<AnyDualOptimizer>, initial_multiplier: f64) -> Self {
        Formulation::Lagrangian {
            dual_optimizer: dual_optimizer.into(),
            initial_multiplier,
            slack: None,
            restart_on_feasible: false,
        }
    }

    /// For a Lagrangian: relax the constraint by slack variables with cost
    /// `(α/2)|u|²` (see [`lagrangian`]). Other formulations are returned
    /// unchanged.
    pub fn with_slack(mut self, alpha: f64) -> Self {
        if let Formulation::Lagrangian { slack, .. } = &mut self {
            *slack = Some(alpha);
        }
        self
    }

    /// The augmented Lagrangian with penalty `penalty` (a number is a fixed
    /// coefficient per constraint), the classical dual step, multipliers
    /// starting at 0.
    pub fn augmented_lagrangian(penalty: impl Into<Penalty>) -> Self {
        Formulation::AugmentedLagrangian {
            penalty: penalty.into(),
            dual_step: AugmentedDualStep::Classical,
            initial_multiplier: 0.0,
        }
    }

    /// The quadratic penalty with coefficient `penalty`.
    pub fn quadratic_penalty(penalty: impl Into<Penalty>) -> Self {
        Formulation::QuadraticPenalty {
            penalty: penalty.into(),
        }
    }

    /// A fixed penalty with coefficient `c`.
    pub fn fixed_penalty(coefficient: f64) -> Self {
        Formulation::FixedPenalty { coefficient }
    }

    /// For an augmented Lagrangian: replace the classical dual step by
    /// `dual_optimizer`. Other formulations are returned unchanged.
    pub fn with_dual_optimizer(self, dual_optimizer: impl Into<AnyDualOptimizer>) -> Self {
        match self {
            Formulation::AugmentedLagrangian {
                penalty,
                initial_multiplier,
                ..
            } => Formulation::AugmentedLagrangian {
                penalty,
                dual_step: AugmentedDualStep::Optimizer(dual_optimizer.into()),
                initial_multiplier,
            },
            other => other,
        }
    }

    /// For a Lagrangian: dual restarts, an inequality entry strictly
    /// satisfied gets its initial multiplier and a fresh dual optimizer state
    /// back (see [`lagrangian`]). Other formulations are returned unchanged.
    pub fn with_restart_on_feasible(mut self) -> Self {
        if let Formulation::Lagrangian {
            restart_on_feasible, ..
        } = &mut self
        {
            *restart_on_feasible = true;
        }
        self
    }

    /// For a Lagrangian or augmented Lagrangian: multipliers start at
    /// `initial`. Other formulations are returned unchanged.
    pub fn with_initial_multiplier(mut self, initial: f64) -> Self {
        match &mut self {
            Formulation::Lagrangian { initial_multiplier, .. }
            | Formulation::AugmentedLagrangian { initial_multiplier, .. } => *initial_multiplier = initial,
            _ => {}
        }
        self
    }

    /// A short name: `lagrangian`, `augmented_lagrangian`, `quadratic_penalty`, `fixed_penalty`.
    pub fn name(&self) -> &'static str {
        match self {
            Formulation::Lagrangian { .. } => "lagrangian",
            Formulation::AugmentedLagrangian { .. } => "augmented_lagrangian",
            Formulation::QuadraticPenalty { .. } => "quadratic_penalty",
            Formulation::FixedPenalty { .. } => "fixed_penalty",
        }
    }

    /// Whether the formulation learns multipliers.
    pub fn has_multipliers(&self) -> bool {
        matches!(
            self,
            Formulation::Lagrangian { .. } | Formulation::AugmentedLagrangian { .. }
        )
    }

    pub(crate) fn validate(&self, constraint: &Constraint) -> Result<()> {
        let owner = format!("constraint `{}`", constraint.name());
        let entries = constraint.entries();
        let check_initial = |initial: f64| -> Result<()> {
            if !initial.is_finite() {
                return Err(FeasibleError::InvalidHyperparameter {
                    owner: owner.clone(),
                    name: "initial multiplier",
                    value: initial,
                    requirement: "must be a finite number",
                });
            }
            if constraint.sense().is_inequality() {
                check_nonnegative(&owner, "initial multiplier", initial)?;
            }
            Ok(())
        };
        match self {
            Formulation::Lagrangian {
                dual_optimizer,
                initial_multiplier,
                slack,
                ..
            } => {
                dual_optimizer.validate(&owner, entries)?;
                if let Some(alpha) = slack
                    && !(alpha.is_finite() && *alpha > 0.0)
                {
                    return Err(FeasibleError::InvalidHyperparameter {
                        owner: owner.clone(),
                        name: "slack cost",
                        value: *alpha,
                        requirement: "must be a finite number > 0",
                    });
                }
                check_initial(*initial_multiplier)
            }
            Formulation::AugmentedLagrangian {
                penalty,
                dual_step,
                initial_multiplier,
            } => {
                penalty.validate(&owner)?;
                if let AugmentedDualStep::Optimizer(dual_optimizer) = dual_step {
                    dual_optimizer.validate(&owner, entries)?;
                }
                check_initial(*initial_multiplier)
            }
            Formulation::QuadraticPenalty { penalty } => penalty.validate(&owner),
            Formulation::FixedPenalty { coefficient } => {
                check_nonnegative(&owner, "penalty coefficient", *coefficient).map(|_| ())
            }
        }
    }

    /// The state a constraint with `entries` entries starts from.
    pub(crate) fn init(&self, entries: usize) -> FormulationState {
        match self {
            Formulation::Lagrangian {
                dual_optimizer,
                initial_multiplier,
                ..
            } => FormulationState::Lagrangian {
                multipliers: vec![*initial_multiplier; entries],
                dual_optimizer: dual_optimizer.init(entries),
            },
            Formulation::AugmentedLagrangian {
                penalty,
                dual_step,
                initial_multiplier,
            } => FormulationState::AugmentedLagrangian {
                multipliers: vec![*initial_multiplier; entries],
                dual_optimizer: match dual_step {
                    AugmentedDualStep::Classical => None,
                    AugmentedDualStep::Optimizer(o) => Some(o.init(entries)),
                },
                penalty: penalty.init(entries),
            },
            Formulation::QuadraticPenalty { penalty } => FormulationState::QuadraticPenalty {
                penalty: penalty.init(entries),
            },
            Formulation::FixedPenalty { .. } => FormulationState::FixedPenalty,
        }
    }

    /// Whether `state` belongs to this formulation for `entries` entries.
    pub(crate) fn fits(&self, state: &FormulationState, entries: usize) -> bool {
        use FormulationState as S;
        match (self, state) {
            (
                Formulation::Lagrangian { dual_optimizer, .. },
                S::Lagrangian {
                    multipliers,
                    dual_optimizer: dual_state,
                },
            ) => multipliers.len() == entries && dual_optimizer.fits(dual_state, entries),
            (
                Formulation::AugmentedLagrangian {
                    penalty: p, dual_step, ..
                },
                S::AugmentedLagrangian {
                    multipliers,
                    dual_optimizer,
                    penalty,
                },
            ) => {
                let dual_fits = match (dual_step, dual_optimizer) {
                    (AugmentedDualStep::Classical, None) => true,
                    (AugmentedDualStep::Optimizer(o), Some(s)) => o.fits(s, entries),
                    _ => false,
                };
                multipliers.len() == entries && dual_fits && p.fits(penalty, entries)
            }
            (Formulation::QuadraticPenalty { penalty: p }, S::QuadraticPenalty { penalty }) => p.fits(penalty, entries),
            (Formulation::FixedPenalty { .. }, S::FixedPenalty) => true,
            _ => false,
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
            (_, S::Lagrangian { multipliers, .. }) => lagrangian::primal_weights(multipliers, out),
            (
                _,
                S::AugmentedLagrangian {
                    multipliers, penalty, ..
                },
            ) => augmented_lagrangian::primal_weights(multipliers, penalty, violations, inequality, out),
            (_, S::QuadraticPenalty { penalty }) => {
                quadratic_penalty::primal_weights(penalty, violations, inequality, out)
            }
            (Formulation::FixedPenalty { coefficient }, _) => fixed_penalty::primal_weights(*coefficient, out),
            _ => out.fill(0.0),
        }
    }

    /// The value the constraint adds to the objective at violations `g`.
    pub(crate) fn primal_contribution(&self, state: &FormulationState, violations: &[f64], inequality: bool) -> f64 {
        use FormulationState as S;
        match (self, state) {
            (Formulation::Lagrangian { slack, .. }, S::Lagrangian { multipliers, .. }) => {
                let relaxation = slack.map_or(0.0, |alpha| {
                    multipliers.iter().map(|l| l * l).sum::<f64>() / (2.0 * alpha)
                });
                lagrangian::primal_contribution(multipliers, violations) - relaxation
            }
            (
                _,
                S::AugmentedLagrangian {
                    multipliers, penalty, ..
                },
            ) => augmented_lagrangian::primal_contribution(multipliers, penalty, violations, inequality),
            (_, S::QuadraticPenalty { penalty }) => {
                quadratic_penalty::primal_contribution(penalty, violations, inequality)
            }
            (Formulation::FixedPenalty { coefficient }, _) => {
                fixed_penalty::primal_contribution(*coefficient, violations)
            }
            _ => 0.0,
        }
    }

    /// Moves the dual variables of `state` (multipliers, then penalty
    /// coefficients) given the strict violations. `ids` name the entries of
    /// a gathered state (see [`crate::dual::ascend_entries`]).
    pub(crate) fn dual_update(
        &self,
        ids: Option<&[usize]>,
        state: &mut FormulationState,
        strict_violations: &[f64],
        inequality: bool,
    ) {
        use FormulationState as S;
        match (self, state) {
            (
                Formulation::Lagrangian {
                    dual_optimizer,
                    slack,
                    restart_on_feasible,
                    initial_multiplier,
                },
                S::Lagrangian {
                    multipliers,
                    dual_optimizer: dual_state,
                },
            ) => {
                lagrangian::dual_update(
                    dual_optimizer,
                    ids,
                    multipliers,
                    dual_state,
                    strict_violations,
                    inequality,
                    *slack,
                );
                if *restart_on_feasible && inequality {
                    lagrangian::restart_feasible(multipliers, dual_state, strict_violations, *initial_multiplier);
                }
            }
            (
                Formulation::AugmentedLagrangian {
                    penalty: p, dual_step, ..
                },
                S::AugmentedLagrangian {
                    multipliers,
                    dual_optimizer,
                    penalty,
                },
            ) => {
                match (dual_step, dual_optimizer) {
                    (AugmentedDualStep::Optimizer(o), Some(s)) => {
                        o.ascend(ids, strict_violations, s, multipliers, inequality)
                    }
                    _ => {
                        augmented_lagrangian::classical_dual_update(multipliers, penalty, strict_violations, inequality)
                    }
                }
                p.update(penalty, strict_violations, inequality);
            }
            (Formulation::QuadraticPenalty { penalty: p }, S::QuadraticPenalty { penalty }) => {
                p.update(penalty, strict_violations, inequality)
            }
            _ => {}
        }
    }
}

impl From<f64> for Penalty {
    /// A fixed coefficient for the whole constraint.
    fn from(initial: f64) -> Self {
        Penalty::new(initial)
    }
}

/// The dual variables of one constraint, as saved in a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FormulationState {
    /// Multipliers and the dual optimizer's state.
    Lagrangian {
        /// One multiplier per entry.
        multipliers: Vec<f64>,
        /// The dual optimizer's state.
        dual_optimizer: DualOptimizerState,
    },
    /// Multipliers, the dual optimizer's state if one replaces the classical
    /// step, and the current penalty coefficients.
    AugmentedLagrangian {
        /// One multiplier per entry.
        multipliers: Vec<f64>,
        /// The dual optimizer's state (`None` for the classical step).
        dual_optimizer: Option<DualOptimizerState>,
        /// One coefficient, or one per entry.
        penalty: Vec<f64>,
    },
    /// The current penalty coefficients.
    QuadraticPenalty {
        /// One coefficient, or one per entry.
        penalty: Vec<f64>,
    },
    /// A fixed penalty has no dual variables.
    FixedPenalty,
}

impl FormulationState {
    /// The state of entries `ids` only (ids may repeat). A coefficient shared
    /// by the whole constraint stays one value.
    pub fn gather(&self, ids: &[usize]) -> FormulationState {
        use crate::dual::gather;
        use FormulationState as S;
        let penalty = |p: &Vec<f64>| if p.len() == 1 { p.clone() } else { gather(p, ids) };
        match self {
            S::Lagrangian {
                multipliers,
                dual_optimizer,
            } => S::Lagrangian {
                multipliers: gather(multipliers, ids),
                dual_optimizer: dual_optimizer.gather(ids),
            },
            S::AugmentedLagrangian {
                multipliers,
                dual_optimizer,
                penalty: p,
            } => S::AugmentedLagrangian {
                multipliers: gather(multipliers, ids),
                dual_optimizer: dual_optimizer.as_ref().map(|d| d.gather(ids)),
                penalty: penalty(p),
            },
            S::QuadraticPenalty { penalty: p } => S::QuadraticPenalty { penalty: penalty(p) },
            S::FixedPenalty => S::FixedPenalty,
        }
    }

    /// Writes back entries `ids` from `sub`, made by
    /// [`FormulationState::gather`] with the same (distinct) ids.
    pub fn scatter(&mut self, ids: &[usize], sub: &FormulationState) {
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
            (
                S::Lagrangian {
                    multipliers,
                    dual_optimizer,
                },
                S::Lagrangian {
                    multipliers: m,
                    dual_optimizer: d,
                },
            ) => {
                scatter(multipliers, ids, m);
                dual_optimizer.scatter(ids, d);
            }
            (
                S::AugmentedLagrangian {
                    multipliers,
                    dual_optimizer,
                    penalty: p,
                },
                S::AugmentedLagrangian {
                    multipliers: m,
                    dual_optimizer: d,
                    penalty: q,
                },
            ) => {
                scatter(multipliers, ids, m);
                if let (Some(dual_optimizer), Some(d)) = (dual_optimizer, d) {
                    dual_optimizer.scatter(ids, d);
                }
                penalty(p, q);
            }
            (S::QuadraticPenalty { penalty: p }, S::QuadraticPenalty { penalty: q }) => penalty(p, q),
            _ => {}
        }
    }

    /// The multipliers, if the formulation has any.
    pub fn multipliers(&self) -> Option<&[f64]> {
        match self {
            FormulationState::Lagrangian { multipliers, .. }
            | FormulationState::AugmentedLagrangian { multipliers, .. } => Some(multipliers),
            _ => None,
        }
    }

    /// Puts back the multipliers and penalty coefficients of `saved`, keeping
    /// this state's dual optimizer state (the extragradient update starts
    /// from the saved multipliers, with the optimizer state the
    /// extrapolation advanced).
    pub(crate) fn rewind_dual_variables(&mut self, saved: &FormulationState) {
        use FormulationState as S;
        match (self, saved) {
            (S::Lagrangian { multipliers, .. }, S::Lagrangian { multipliers: m, .. }) => multipliers.clone_from(m),
            (
                S::AugmentedLagrangian {
                    multipliers, penalty, ..
                },
                S::AugmentedLagrangian {
                    multipliers: m,
                    penalty: p,
                    ..
                },
            ) => {
                multipliers.clone_from(m);
                penalty.clone_from(p);
            }
            (S::QuadraticPenalty { penalty }, S::QuadraticPenalty { penalty: p }) => penalty.clone_from(p),
            _ => {}
        }
    }

    /// The current penalty coefficients, if the formulation has any that change.
    pub fn penalty(&self) -> Option<&[f64]> {
        match self {
            FormulationState::AugmentedLagrangian { penalty, .. } | FormulationState::QuadraticPenalty { penalty } => {
                Some(penalty)
            }
            _ => None,
        }
    }
}
