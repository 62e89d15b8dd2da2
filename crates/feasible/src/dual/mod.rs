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
//! per-sample multipliers that only observe some entries run exactly the
//! same arithmetic.
//!
//! | optimizer | step | state per entry |
//! |---|---|---|
//! | [`GradientAscent`] | `η e_t` | none |
//! | [`NuPi`] | `η (K_i e_t + K_p (ξ_t - ξ_{t-1}))`, `ξ` an EMA of `e` | `ξ` |
//! | [`Optimistic`] | `η (2 e_t - e_{t-1})` | `e_{t-1}` |
//! | [`Omega`] | `η (e_t + γ (e_t - m_{t-1}))`, `m` an EMA of `e` | `m` |
//! | [`Adam`] | `η m̂_t / (√v̂_t + ε)` | `m, v, t` |

mod adam;
mod columns;
mod gradient_ascent;
mod nupi;
mod omega;
mod optimistic;
mod per_entry;

pub use adam::{Adam, AdamEntry};
pub use gradient_ascent::GradientAscent;
pub use nupi::{NuPi, NuPiEntry, NuPiStart};
pub use omega::{Omega, OmegaEntry};
pub use optimistic::{Optimistic, OptimisticEntry};
pub use per_entry::PerEntry;

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

    /// Checks the hyperparameters for a constraint of `entries` entries
    /// (called once, when the optimizer is built into a
    /// [`ConstrainedOptimizer`](crate::ConstrainedOptimizer)).
    fn validate(&self, owner: &str, entries: usize) -> Result<()>;

    /// The change to add to multiplier entry `entry`, given the gradient of
    /// the Lagrangian with respect to it (the violation). Positive gradients
    /// must produce non-negative changes for non-negative step sizes: this
    /// is ascent.
    fn step(&self, entry: usize, gradient: f64, state: &mut Self::EntryState) -> f64;
}

/// One dual step on every entry of a slice, in place:
/// `λ_k ← Π(λ_k + step(g_k))`, `Π` the projection onto `λ >= 0` for an
/// inequality (see [`crate::multiplier`]). `ids` are the entries' ids in the
/// constraint (for per-entry hyperparameters); `None` means `0, 1, 2, ...`.
pub fn ascend_entries<D: DualOptimizer>(
    optimizer: &D,
    ids: Option<&[usize]>,
    gradients: &[f64],
    states: &mut [D::EntryState],
    multipliers: &mut [f64],
    inequality: bool,
) {
    debug_assert_eq!(gradients.len(), states.len());
    debug_assert_eq!(gradients.len(), multipliers.len());
    for (k, ((g, s), m)) in gradients
        .iter()
        .zip(states.iter_mut())
        .zip(multipliers.iter_mut())
        .enumerate()
    {
        let entry = ids.map_or(k, |ids| ids[k]);
        *m = crate::multiplier::ascend_one(*m, optimizer.step(entry, *g, s), inequality);
    }
}

/// `values[ids[k]]` for every `k`.
pub(crate) fn gather<T: Clone>(values: &[T], ids: &[usize]) -> Vec<T> {
    ids.iter().map(|i| values[*i].clone()).collect()
}

/// `values[ids[k]] = sub[k]` for every `k`.
pub(crate) fn scatter<T: Clone>(values: &mut [T], ids: &[usize], sub: &[T]) {
    for (i, v) in ids.iter().zip(sub) {
        values[*i] = v.clone();
    }
}

/// The built-in dual optimizers, as one serializable value so that
/// constraints with different optimizers can live side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnyDualOptimizer {
    /// Projected gradient ascent.
    GradientAscent(GradientAscent),
    /// The nuPI controller.
    NuPi(NuPi),
    /// Optimistic gradient ascent.
    Optimistic(Optimistic),
    /// Optimistic ascent with an EMA of past gradients.
    Omega(Omega),
    /// Adam in ascent mode.
    Adam(Adam),
}

/// The state of an [`AnyDualOptimizer`] for all entries of one constraint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "entries", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DualOptimizerState {
    /// An optimizer that remembers nothing (gradient ascent): the number of entries.
    Stateless(usize),
    /// nuPI's `ξ` per entry.
    NuPi(#[serde(with = "columns::nupi")] Vec<NuPiEntry>),
    /// Optimistic ascent's last gradient per entry.
    Optimistic(#[serde(with = "columns::optimistic")] Vec<OptimisticEntry>),
    /// Omega's EMA per entry.
    Omega(#[serde(with = "columns::omega")] Vec<OmegaEntry>),
    /// Adam's moments per entry.
    Adam(#[serde(with = "columns::adam")] Vec<AdamEntry>),
}

impl DualOptimizerState {
    /// The state of entries `ids` only (ids may repeat).
    pub fn gather(&self, ids: &[usize]) -> Self {
        use DualOptimizerState as S;
        match self {
            S::Stateless(_) => S::Stateless(ids.len()),
            S::NuPi(s) => S::NuPi(gather(s, ids)),
            S::Optimistic(s) => S::Optimistic(gather(s, ids)),
            S::Omega(s) => S::Omega(gather(s, ids)),
            S::Adam(s) => S::Adam(gather(s, ids)),
        }
    }

    /// Writes back the state of entries `ids` from `sub` (made by
    /// [`DualOptimizerState::gather`] with the same ids).
    pub fn scatter(&mut self, ids: &[usize], sub: &Self) {
        use DualOptimizerState as S;
        match (self, sub) {
            (S::NuPi(s), S::NuPi(sub)) => scatter(s, ids, sub),
            (S::Optimistic(s), S::Optimistic(sub)) => scatter(s, ids, sub),
            (S::Omega(s), S::Omega(sub)) => scatter(s, ids, sub),
            (S::Adam(s), S::Adam(sub)) => scatter(s, ids, sub),
            _ => {}
        }
    }

    /// Puts entry `k` back in its initial state.
    pub fn reset_entry(&mut self, k: usize) {
        use DualOptimizerState as S;
        match self {
            S::Stateless(_) => {}
            S::NuPi(s) => s[k] = NuPiEntry::default(),
            S::Optimistic(s) => s[k] = OptimisticEntry::default(),
            S::Omega(s) => s[k] = OmegaEntry::default(),
            S::Adam(s) => s[k] = AdamEntry::default(),
        }
    }

    /// The number of entries the state covers.
    pub fn entries(&self) -> usize {
        match self {
            DualOptimizerState::Stateless(entries) => *entries,
            DualOptimizerState::NuPi(s) => s.len(),
            DualOptimizerState::Optimistic(s) => s.len(),
            DualOptimizerState::Omega(s) => s.len(),
            DualOptimizerState::Adam(s) => s.len(),
        }
    }
}

macro_rules! impl_from {
    ($($variant:ident),*) => {
        $(impl From<$variant> for AnyDualOptimizer {
            fn from(optimizer: $variant) -> Self {
                AnyDualOptimizer::$variant(optimizer)
            }
        })*
    };
}

impl_from!(GradientAscent, NuPi, Optimistic, Omega, Adam);

impl AnyDualOptimizer {
    /// The optimizer's name.
    pub fn name(&self) -> &'static str {
        match self {
            AnyDualOptimizer::GradientAscent(o) => o.name(),
            AnyDualOptimizer::NuPi(o) => o.name(),
            AnyDualOptimizer::Optimistic(o) => o.name(),
            AnyDualOptimizer::Omega(o) => o.name(),
            AnyDualOptimizer::Adam(o) => o.name(),
        }
    }

    /// Checks the hyperparameters for `entries` entries.
    pub fn validate(&self, owner: &str, entries: usize) -> Result<()> {
        match self {
            AnyDualOptimizer::GradientAscent(o) => o.validate(owner, entries),
            AnyDualOptimizer::NuPi(o) => o.validate(owner, entries),
            AnyDualOptimizer::Optimistic(o) => o.validate(owner, entries),
            AnyDualOptimizer::Omega(o) => o.validate(owner, entries),
            AnyDualOptimizer::Adam(o) => o.validate(owner, entries),
        }
    }

    /// A fresh state for `entries` entries.
    pub fn init(&self, entries: usize) -> DualOptimizerState {
        match self {
            AnyDualOptimizer::GradientAscent(_) => DualOptimizerState::Stateless(entries),
            AnyDualOptimizer::NuPi(_) => DualOptimizerState::NuPi(vec![NuPiEntry::default(); entries]),
            AnyDualOptimizer::Optimistic(_) => {
                DualOptimizerState::Optimistic(vec![OptimisticEntry::default(); entries])
            }
            AnyDualOptimizer::Omega(_) => DualOptimizerState::Omega(vec![OmegaEntry::default(); entries]),
            AnyDualOptimizer::Adam(_) => DualOptimizerState::Adam(vec![AdamEntry::default(); entries]),
        }
    }

    /// Whether `state` was made by this kind of optimizer for `entries` entries.
    pub fn fits(&self, state: &DualOptimizerState, entries: usize) -> bool {
        let kind_matches = matches!(
            (self, state),
            (AnyDualOptimizer::GradientAscent(_), DualOptimizerState::Stateless(_))
                | (AnyDualOptimizer::NuPi(_), DualOptimizerState::NuPi(_))
                | (AnyDualOptimizer::Optimistic(_), DualOptimizerState::Optimistic(_))
                | (AnyDualOptimizer::Omega(_), DualOptimizerState::Omega(_))
                | (AnyDualOptimizer::Adam(_), DualOptimizerState::Adam(_))
        );
        kind_matches && state.entries() == entries
    }

    /// One dual step on all entries of `state` in place, advancing it:
    /// `λ ← Π(λ + step(g))`. `ids` name the entries (see [`ascend_entries`]).
    /// A state of another optimizer (ruled out when the optimizer is built
    /// or a state restored) leaves everything as it is.
    pub fn ascend(
        &self,
        ids: Option<&[usize]>,
        gradients: &[f64],
        state: &mut DualOptimizerState,
        multipliers: &mut [f64],
        inequality: bool,
    ) {
        use AnyDualOptimizer as O;
        use DualOptimizerState as S;
        match (self, state) {
            (O::GradientAscent(o), S::Stateless(entries)) => {
                ascend_entries(o, ids, gradients, &mut vec![(); *entries], multipliers, inequality)
            }
            (O::NuPi(o), S::NuPi(s)) => ascend_entries(o, ids, gradients, s, multipliers, inequality),
            (O::Optimistic(o), S::Optimistic(s)) => ascend_entries(o, ids, gradients, s, multipliers, inequality),
            (O::Omega(o), S::Omega(s)) => ascend_entries(o, ids, gradients, s, multipliers, inequality),
            (O::Adam(o), S::Adam(s)) => ascend_entries(o, ids, gradients, s, multipliers, inequality),
            _ => debug_assert!(false, "dual optimizer state of another optimizer"),
        }
    }
}
