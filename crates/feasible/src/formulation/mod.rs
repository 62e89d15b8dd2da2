//! Formulations: how a constraint enters the objective the model descends,
//! and how (whether) its dual variables move.
//!
//! Every formulation answers three questions per constraint entry, given the
//! violation `g` (see [`crate::constraint`] for the sign convention):
//!
//! 1. the **primal weight** `w`: the model must descend
//!    `∇f + Σ w ∇g`, so `w` is all a deep-learning framework needs;
//! 2. the **primal contribution**: the value the entry adds to the objective
//!    (reported as the Lagrangian);
//! 3. the **dual update**: how its multiplier moves, from the strict violation.
//!
//! | formulation | `w` | contribution | dual update |
//! |---|---|---|---|
//! | [`Formulation::Lagrangian`] | `λ` | `λ g` | `λ ← Π(λ + step(g_strict))` |
//! | [`Formulation::FixedPenalty`] | `c` | `c g` | none |
//!
//! A formulation carries its own hyperparameters (the dual optimizer of a
//! Lagrangian, the coefficient of a penalty), so a pairing that makes no
//! sense (a penalty with a dual optimizer) cannot be written. The enum is
//! `#[non_exhaustive]`: the augmented Lagrangian and the quadratic penalty
//! join it without changing any caller.

pub mod fixed_penalty;
pub mod lagrangian;

use serde::{Deserialize, Serialize};

use crate::constraint::Constraint;
use crate::dual::{AnyDualOptimizer, DualOptimizerState, GradientAscent};
use crate::error::{FeasibleError, Result, check_nonnegative};

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
        }
    }

    /// The Lagrangian with multipliers starting at `initial_multiplier`.
    pub fn lagrangian_from(dual_optimizer: impl Into<AnyDualOptimizer>, initial_multiplier: f64) -> Self {
        Formulation::Lagrangian {
            dual_optimizer: dual_optimizer.into(),
            initial_multiplier,
        }
    }

    /// A fixed penalty with coefficient `c`.
    pub fn fixed_penalty(coefficient: f64) -> Self {
        Formulation::FixedPenalty { coefficient }
    }

    /// A short name: `lagrangian`, `fixed_penalty`.
    pub fn name(&self) -> &'static str {
        match self {
            Formulation::Lagrangian { .. } => "lagrangian",
            Formulation::FixedPenalty { .. } => "fixed_penalty",
        }
    }

    /// Whether the formulation learns multipliers.
    pub fn has_multipliers(&self) -> bool {
        matches!(self, Formulation::Lagrangian { .. })
    }

    pub(crate) fn validate(&self, constraint: &Constraint) -> Result<()> {
        let owner = format!("constraint `{}`", constraint.name());
        match self {
            Formulation::Lagrangian {
                dual_optimizer,
                initial_multiplier,
            } => {
                dual_optimizer.validate(&owner)?;
                if !initial_multiplier.is_finite() {
                    return Err(FeasibleError::InvalidHyperparameter {
                        owner,
                        name: "initial multiplier",
                        value: *initial_multiplier,
                        requirement: "must be a finite number",
                    });
                }
                if constraint.sense().is_inequality() {
                    check_nonnegative(&owner, "initial multiplier", *initial_multiplier)?;
                }
                Ok(())
            }
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
            } => FormulationState::Lagrangian {
                multipliers: vec![*initial_multiplier; entries],
                dual_optimizer: dual_optimizer.init(entries),
            },
            Formulation::FixedPenalty { .. } => FormulationState::FixedPenalty,
        }
    }

    /// Whether `state` belongs to this formulation for `entries` entries.
    pub(crate) fn fits(&self, state: &FormulationState, entries: usize) -> bool {
        match (self, state) {
            (
                Formulation::Lagrangian { dual_optimizer, .. },
                FormulationState::Lagrangian {
                    multipliers,
                    dual_optimizer: dual_state,
                },
            ) => multipliers.len() == entries && dual_optimizer.fits(dual_state, entries),
            (Formulation::FixedPenalty { .. }, FormulationState::FixedPenalty) => true,
            _ => false,
        }
    }

    /// Writes the primal weights `w` for violations `g` into `out`.
    pub(crate) fn primal_weights(&self, state: &FormulationState, violations: &[f64], out: &mut [f64]) {
        match (self, state) {
            (Formulation::Lagrangian { .. }, FormulationState::Lagrangian { multipliers, .. }) => {
                lagrangian::primal_weights(multipliers, out)
            }
            (Formulation::FixedPenalty { coefficient }, _) => fixed_penalty::primal_weights(*coefficient, out),
            _ => unreachable_state(),
        }
        debug_assert_eq!(violations.len(), out.len());
    }

    /// The value the constraint adds to the objective at violations `g`.
    pub(crate) fn primal_contribution(&self, state: &FormulationState, violations: &[f64]) -> f64 {
        match (self, state) {
            (Formulation::Lagrangian { .. }, FormulationState::Lagrangian { multipliers, .. }) => {
                lagrangian::primal_contribution(multipliers, violations)
            }
            (Formulation::FixedPenalty { coefficient }, _) => {
                fixed_penalty::primal_contribution(*coefficient, violations)
            }
            _ => unreachable_state(),
        }
    }

    /// Moves the dual variables of `state` given the strict violations.
    pub(crate) fn dual_update(&self, state: &mut FormulationState, strict_violations: &[f64], inequality: bool) {
        match (self, state) {
            (
                Formulation::Lagrangian { dual_optimizer, .. },
                FormulationState::Lagrangian {
                    multipliers,
                    dual_optimizer: dual_state,
                },
            ) => lagrangian::dual_update(dual_optimizer, multipliers, dual_state, strict_violations, inequality),
            (Formulation::FixedPenalty { .. }, _) => {}
            _ => unreachable_state(),
        }
    }
}

/// States are only ever made by `Formulation::init` or checked by
/// `Formulation::fits` before they are stored, so a mismatch is a bug in
/// this crate, not a user error.
#[cold]
fn unreachable_state() -> ! {
    unreachable!("formulation state does not match its formulation (checked on build and restore)")
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
    /// A fixed penalty has no dual variables.
    FixedPenalty,
}

impl FormulationState {
    /// The multipliers, if the formulation has any.
    pub fn multipliers(&self) -> Option<&[f64]> {
        match self {
            FormulationState::Lagrangian { multipliers, .. } => Some(multipliers),
            FormulationState::FixedPenalty => None,
        }
    }
}
