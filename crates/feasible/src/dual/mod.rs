//! Dual optimizers: how a multiplier moves given its gradient.
//!
//! The dual problem is a *maximisation* over the multipliers: for
//! `L(x, λ) = f(x) + λ·g(x)` the gradient `∂L/∂λ = g(x)` is the (strict)
//! violation, and every dual optimizer here *ascends* it. The sign lives in
//! this one place: there is no `maximize` flag and no negative learning rate
//! to remember. A violated inequality (`g > 0`) raises its multiplier; a
//! satisfied one (`g < 0`) lowers it, and the projection onto `λ >= 0` that
//! follows every step (see [`crate::multiplier`]) keeps it non-negative.
//!
//! A dual optimizer is an optax-style pair: hyperparameters live in the
//! optimizer value, and the state it keeps is a separate, serializable value
//! per multiplier entry. Working entry by entry means dense multipliers and
//! (later) per-sample multipliers that only observe some entries run exactly
//! the same arithmetic.

mod gradient_ascent;

pub use gradient_ascent::GradientAscent;

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// An ascent rule for multipliers, applied entry by entry.
///
/// Implementations keep their hyperparameters in `self` and whatever they
/// remember between steps in [`DualOptimizer::EntryState`], one per
/// multiplier entry.
pub trait DualOptimizer: Clone + Debug + Send + Sync {
    /// What the optimizer remembers about one multiplier entry between steps.
    type EntryState: Clone + Default + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync;

    /// A short name for reports and errors.
    fn name(&self) -> &'static str;

    /// Checks the hyperparameters (called once, when the optimizer is
    /// built into a [`ConstrainedOptimizer`](crate::ConstrainedOptimizer)).
    fn validate(&self, owner: &str) -> Result<()>;

    /// The change to add to one multiplier entry, given the gradient of the
    /// Lagrangian with respect to it (the violation). Positive gradients must
    /// produce non-negative changes for a step size `>= 0`: this is ascent.
    fn step(&self, gradient: f64, state: &mut Self::EntryState) -> f64;
}

/// Applies `optimizer` to every entry: `out[i] = step(gradients[i], states[i])`.
pub fn dense_steps<D: DualOptimizer>(optimizer: &D, gradients: &[f64], states: &mut [D::EntryState], out: &mut [f64]) {
    debug_assert_eq!(gradients.len(), states.len());
    debug_assert_eq!(gradients.len(), out.len());
    for ((g, s), o) in gradients.iter().zip(states.iter_mut()).zip(out.iter_mut()) {
        *o = optimizer.step(*g, s);
    }
}

/// One dual step on every entry, in place: `λ_i ← Π(λ_i + step(g_i))`, `Π`
/// the projection onto `λ >= 0` for an inequality (see [`crate::multiplier`]).
pub fn dense_ascend<D: DualOptimizer>(
    optimizer: &D,
    gradients: &[f64],
    states: &mut [D::EntryState],
    multipliers: &mut [f64],
    inequality: bool,
) {
    debug_assert_eq!(gradients.len(), states.len());
    debug_assert_eq!(gradients.len(), multipliers.len());
    for ((g, s), m) in gradients.iter().zip(states.iter_mut()).zip(multipliers.iter_mut()) {
        *m = crate::multiplier::ascend_one(*m, optimizer.step(*g, s), inequality);
    }
}

/// The built-in dual optimizers, as one serializable value so that
/// constraints with different optimizers can live side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnyDualOptimizer {
    /// Projected gradient ascent, `λ ← [λ + η g]_+`.
    GradientAscent(GradientAscent),
}

impl From<GradientAscent> for AnyDualOptimizer {
    fn from(optimizer: GradientAscent) -> Self {
        AnyDualOptimizer::GradientAscent(optimizer)
    }
}

/// The state of an [`AnyDualOptimizer`] for all entries of one constraint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DualOptimizerState {
    /// An optimizer that remembers nothing (gradient ascent).
    Stateless {
        /// The number of entries.
        entries: usize,
    },
}

impl DualOptimizerState {
    /// The number of entries the state covers.
    pub fn entries(&self) -> usize {
        match self {
            DualOptimizerState::Stateless { entries } => *entries,
        }
    }
}

impl AnyDualOptimizer {
    /// The optimizer's name.
    pub fn name(&self) -> &'static str {
        match self {
            AnyDualOptimizer::GradientAscent(o) => o.name(),
        }
    }

    /// Checks the hyperparameters.
    pub fn validate(&self, owner: &str) -> Result<()> {
        match self {
            AnyDualOptimizer::GradientAscent(o) => o.validate(owner),
        }
    }

    /// A fresh state for `entries` entries.
    pub fn init(&self, entries: usize) -> DualOptimizerState {
        match self {
            AnyDualOptimizer::GradientAscent(_) => DualOptimizerState::Stateless { entries },
        }
    }

    /// Whether `state` was made by this kind of optimizer for `entries` entries.
    pub fn fits(&self, state: &DualOptimizerState, entries: usize) -> bool {
        matches!(
            (self, state),
            (
                AnyDualOptimizer::GradientAscent(_),
                DualOptimizerState::Stateless { .. }
            )
        ) && state.entries() == entries
    }

    /// One dual step on all entries in place, advancing `state`:
    /// `λ ← Π(λ + step(g))`.
    pub fn ascend(&self, gradients: &[f64], state: &mut DualOptimizerState, multipliers: &mut [f64], inequality: bool) {
        match (self, state) {
            (AnyDualOptimizer::GradientAscent(o), DualOptimizerState::Stateless { entries }) => {
                let mut states = vec![(); *entries];
                dense_ascend(o, gradients, &mut states, multipliers, inequality);
            }
        }
    }

    /// Dense steps for all entries, advancing `state`.
    pub fn steps(&self, gradients: &[f64], state: &mut DualOptimizerState, out: &mut [f64]) {
        match (self, state) {
            (AnyDualOptimizer::GradientAscent(o), DualOptimizerState::Stateless { entries }) => {
                let mut states = vec![(); *entries];
                dense_steps(o, gradients, &mut states, out);
            }
        }
    }
}
