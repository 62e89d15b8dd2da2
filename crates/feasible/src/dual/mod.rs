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
//! optimizer value, and what it remembers is a separate state per multiplier
//! entry, a few named `f64`s ([`DualOptimizer::state_fields`]) kept by the
//! crate in [`EntryStates`], all zeros before the entry's first step.
//! Working entry by entry means dense multipliers and per-sample
//! multipliers that only observe some entries run exactly the same
//! arithmetic. The trait is object safe and implementable outside this
//! crate (the crate's tests define heavy-ball ascent that way): save,
//! restore, failure atomicity and per-sample storage come with it.
//!
//! | optimizer | step | state per entry |
//! |---|---|---|
//! | [`GradientAscent`] | `η e_t` | none |
//! | [`NuPi`] | `η (K_i e_t + K_p (ξ_t - ξ_{t-1}))`, `ξ` an EMA of `e` | `ξ`, started |
//! | [`Pid`] | nuPI `+ η K_d (d_t - d_{t-1})`, `d` an EMA of `ξ_t - ξ_{t-1}` | `ξ`, `d`, started |
//! | [`Optimistic`] | `η (2 e_t - e_{t-1})` | `e_{t-1}` |
//! | [`Omega`] | `η (e_t + γ (e_t - m_{t-1}))`, `m` an EMA of `e` | `m`, started |
//! | [`Adam`] | `η m̂_t / (√v̂_t + ε)` | `m, v, t` |

pub mod adam;
mod any;
mod entry_states;
mod gradient_ascent;
pub mod nupi;
pub mod omega;
pub mod optimistic;
mod per_entry;
pub mod pid;

pub use adam::Adam;
pub use any::AnyDualOptimizer;
pub use entry_states::EntryStates;
pub use gradient_ascent::GradientAscent;
pub use nupi::{NuPi, NuPiStart};
pub use omega::Omega;
pub use optimistic::Optimistic;
pub use per_entry::PerEntry;
pub use pid::Pid;

use std::fmt::Debug;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{FeasibleError, Result};
use crate::multiplier::Bounds;

/// An ascent rule for multipliers, applied entry by entry.
///
/// Implementations keep their hyperparameters in `self` and whatever they
/// remember between steps in the per-entry `state` slice, whose numbers
/// are named by [`DualOptimizer::state_fields`] and are all `0.0` before an
/// entry's first step.
///
/// ```
/// use feasible::{DualOptimizer, Result};
///
/// /// Heavy-ball ascent: `v ← β v + e`, step `η v`.
/// #[derive(Debug)]
/// struct HeavyBall { lr: f64, beta: f64 }
///
/// impl DualOptimizer for HeavyBall {
///     fn name(&self) -> &str { "heavy_ball" }
///     fn state_fields(&self) -> &'static [&'static str] { &["velocity"] }
///     fn validate(&self, _owner: &str, _entries: usize) -> Result<()> { Ok(()) }
///     fn step(&self, _entry: usize, gradient: f64, state: &mut [f64]) -> f64 {
///         state[0] = self.beta * state[0] + gradient;
///         self.lr * state[0]
///     }
/// }
///
/// let mut state = [0.0];
/// let ball = HeavyBall { lr: 0.5, beta: 0.9 };
/// assert_eq!(ball.step(0, 1.0, &mut state), 0.5);
/// assert_eq!(ball.step(0, 1.0, &mut state), 0.5 * 1.9);
/// ```
pub trait DualOptimizer: Debug + Send + Sync + 'static {
    /// A short name for reports, errors and checkpoints (a checkpoint made
    /// with one optimizer is refused by another).
    fn name(&self) -> &str;

    /// The names of the numbers kept per entry (none by default). At most
    /// [`EntryStates::MAX_FIELDS`].
    fn state_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks the hyperparameters for a constraint of `entries` entries
    /// (called once, when the optimizer is built into a
    /// [`ConstrainedOptimizer`](crate::ConstrainedOptimizer)); `owner` names
    /// the constraint in the error.
    fn validate(&self, owner: &str, entries: usize) -> Result<()>;

    /// The change to add to multiplier entry `entry`, given the gradient of
    /// the Lagrangian with respect to it (the violation), advancing the
    /// entry's `state`. Positive gradients must produce non-negative changes
    /// for non-negative step sizes: this is ascent. A change or state that
    /// is not finite makes the step fail with nothing changed.
    ///
    /// `state` holds the entry's [`state_fields`](DualOptimizer::state_fields)
    /// numbers (the crate always passes exactly those). Called directly
    /// with a shorter slice, the built-in optimizers return NaN and leave
    /// it untouched; [`DualOptimizer::try_step`] refuses such a slice with a
    /// typed error.
    fn step(&self, entry: usize, gradient: f64, state: &mut [f64]) -> f64;

    /// [`DualOptimizer::step`], after checking that `state` holds exactly
    /// one number per [`state_fields`](DualOptimizer::state_fields):
    /// otherwise [`FeasibleError::StateMismatch`] naming the optimizer and
    /// both lengths, with `state` untouched.
    fn try_step(&self, entry: usize, gradient: f64, state: &mut [f64]) -> Result<f64> {
        let fields = self.state_fields();
        if state.len() != fields.len() {
            return Err(FeasibleError::StateMismatch {
                reason: format!(
                    "dual optimizer `{}` keeps {} numbers per entry {fields:?}, the state given has {}",
                    self.name(),
                    fields.len(),
                    state.len()
                ),
            });
        }
        Ok(self.step(entry, gradient, state))
    }
}

/// A dual optimizer shared by a formulation and its copies.
pub type SharedDualOptimizer = Arc<dyn DualOptimizer>;

/// The state of a dual optimizer for all entries of one constraint, as
/// saved in a checkpoint: the optimizer's name and its per-entry states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The optimizer's [`name`](DualOptimizer::name).
    pub optimizer: String,
    /// One state per entry.
    pub entries: EntryStates,
}

impl OptimizerState {
    /// A fresh state of `optimizer` for `entries` entries.
    pub fn new(optimizer: &dyn DualOptimizer, entries: usize) -> Result<Self> {
        Ok(Self {
            optimizer: optimizer.name().to_string(),
            entries: EntryStates::new(optimizer.state_fields(), entries)?,
        })
    }

    /// The state of entries `ids` only (ids may repeat, each `< entries`).
    pub(crate) fn gather(&self, ids: &[usize]) -> Self {
        Self {
            optimizer: self.optimizer.clone(),
            entries: self.entries.gather(ids),
        }
    }

    /// Writes back the state of entries `ids` from `sub`.
    pub(crate) fn scatter(&mut self, ids: &[usize], sub: &Self) {
        self.entries.scatter(ids, &sub.entries);
    }

    /// Whether this state was made by `optimizer` for `entries` entries;
    /// otherwise what is different.
    pub fn check_fits(&self, optimizer: &dyn DualOptimizer, entries: usize) -> std::result::Result<(), String> {
        if self.optimizer != optimizer.name() {
            return Err(format!(
                "it holds a `{}` dual optimizer state, this constraint uses `{}`",
                self.optimizer,
                optimizer.name()
            ));
        }
        let fields: Vec<&str> = self.entries.fields().iter().map(String::as_str).collect();
        if fields != optimizer.state_fields() {
            return Err(format!(
                "its `{}` state keeps {:?}, this optimizer keeps {:?}",
                self.optimizer,
                fields,
                optimizer.state_fields()
            ));
        }
        if self.entries.len() != entries {
            return Err(format!(
                "its dual optimizer state has {} entries, the constraint has {entries}",
                self.entries.len()
            ));
        }
        Ok(())
    }
}

/// A dual update whose result is not a finite number: the entry, what was
/// not finite (`multiplier`, or the state field's name) and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    /// The entry (its id, for an indexed constraint).
    pub entry: usize,
    /// `multiplier`, `step`, or the name of the state field.
    pub quantity: String,
    /// The value.
    pub value: f64,
}

/// One dual step on every entry of a slice, in place:
/// `λ_k ← Π(λ_k + step(g_k))`, `Π` the projection onto the multiplier's
/// [`Bounds`]. `ids` are the entries' ids in the constraint (for per-entry
/// hyperparameters); `None` means `0, 1, 2, ...`. A step, state or
/// multiplier that is not finite stops the update with [`NonFinite`]
/// (the caller works on a copy and drops it). The slices and `states`
/// have the same length, and so has `ids` (checked by the crate).
pub(crate) fn ascend_entries(
    optimizer: &dyn DualOptimizer,
    ids: Option<&[usize]>,
    gradients: &[f64],
    states: &mut EntryStates,
    multipliers: &mut [f64],
    bounds: Bounds,
) -> std::result::Result<(), NonFinite> {
    debug_assert_eq!(gradients.len(), states.len());
    debug_assert_eq!(gradients.len(), multipliers.len());
    let width = states.width();
    if width == 0 {
        // A stateless optimizer (gradient ascent): no state to read, check
        // or write back.
        for (k, (g, m)) in gradients.iter().zip(multipliers.iter_mut()).enumerate() {
            let entry = ids.map_or(k, |ids| ids[k]);
            *m = next_multiplier(entry, *m, optimizer.step(entry, *g, &mut []), bounds)?;
        }
        return Ok(());
    }
    let mut scratch = [0.0; EntryStates::MAX_FIELDS];
    for (k, (g, m)) in gradients.iter().zip(multipliers.iter_mut()).enumerate() {
        let entry = ids.map_or(k, |ids| ids[k]);
        let state = &mut scratch[..width];
        state.copy_from_slice(states.entry(k));
        let step = optimizer.step(entry, *g, state);
        if let Some(f) = state.iter().position(|v| !v.is_finite()) {
            return Err(NonFinite {
                entry,
                quantity: optimizer.state_fields().get(f).unwrap_or(&"state").to_string(),
                value: state[f],
            });
        }
        if state.iter().any(|v| *v != 0.0) || states.entry(k).iter().any(|v| *v != 0.0) {
            states.entry_mut(k).copy_from_slice(state);
        }
        *m = next_multiplier(entry, *m, step, bounds)?;
    }
    Ok(())
}

/// `multiplier + step`, projected; an error if it is not finite.
fn next_multiplier(entry: usize, multiplier: f64, step: f64, bounds: Bounds) -> std::result::Result<f64, NonFinite> {
    let next = multiplier + step;
    if !next.is_finite() {
        return Err(NonFinite {
            entry,
            quantity: if step.is_finite() { "multiplier" } else { "step" }.to_string(),
            value: if step.is_finite() { next } else { step },
        });
    }
    Ok(bounds.project(next))
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
