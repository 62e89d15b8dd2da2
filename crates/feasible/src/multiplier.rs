//! Lagrange multipliers: plain `f64` vectors, one entry per constraint entry.
//!
//! The multiplier of an inequality `g(x) <= 0` must stay `>= 0` (KKT dual
//! feasibility, Nocedal & Wright eq. 12.34d); after every dual step it is
//! projected back onto that set. Equality multipliers are free.
//!
//! # Indexed (per-sample) multipliers
//!
//! A constraint declared [`indexed`](crate::Constraint::indexed) with `n`
//! entries has one multiplier per entry, each identified by an id in
//! `0..n` (a sample's position in the training set: "every sample's loss
//! below ε" is one indexed constraint with one entry per sample). Each step
//! measures a batch: `Measurement::indexed(ids, values)`. Only the batch's
//! entries are read and written: the step gathers their multipliers, dual
//! optimizer states and (per-entry) penalty coefficients, updates them, and
//! scatters them back on commit, so a step costs `O(batch)` whatever `n` is.
//! Storage is one `f64` per multiplier plus the dual optimizer's state per
//! entry (16 bytes for nuPI); BENCHMARKS.md measures a million entries.
//!
//! - **Primal weights** come back aligned with the batch: `weights[k]` is the
//!   weight of `values[k]`, so the model's objective is
//!   `loss + Σ_k coef_k · value_k` over the batch, as for a dense constraint.
//! - **Repeated ids** in one batch (sampling with replacement) share their
//!   entry: every occurrence gets the entry's weight in the primal step, and
//!   the entry takes *one* dual step on the *mean* of its occurrences'
//!   strict violations (its optimizer state advances once).
//! - **Ids out of range** (`>= n`) are refused with
//!   [`FeasibleError::IndexOutOfRange`](crate::FeasibleError::IndexOutOfRange),
//!   and the step changes nothing.
//! - **Entries never observed** keep their initial multiplier and a dual
//!   optimizer state that has not started (nuPI and Omega take their first
//!   step when the entry is first observed; Adam's bias correction counts
//!   the entry's own steps).
//! - **Dense and indexed storage** run the same per-entry arithmetic, so a
//!   constraint measured in full every step follows the same trajectory
//!   either way, bit for bit (tested for every dual optimizer).
//!
//! ## Data-parallel training
//!
//! The design keeps replicas consistent without exchanging multipliers.
//! Shard the *ids*: each worker owns a disjoint set of samples and only
//! ever measures those, so each indexed entry is read and written by
//! exactly one worker. The workers all-reduce the *primal* gradients as usual
//! (each built from its own batch's weights), and never the per-sample
//! multipliers, which no other worker touches. A checkpoint gathers the
//! shards: entry `i` comes from the worker owning `i`. Dense (global)
//! constraints, such as a rate over the whole batch, must see the same
//! violation on every replica: all-reduce (average) the measured values
//! before the step. Every replica then runs the same deterministic dual
//! update and keeps identical multipliers without sending them. Cooper's
//! indexed multipliers rely on sparse gradients, which break data-parallel
//! training (its issue #104); here the dual state never enters the
//! framework at all. Multi-device training itself is a later issue.

/// Where a multiplier may go: `[0, upper]` for an inequality, `[-upper,
/// upper]` for an equality (`upper = ∞` unless an upper bound is set, as
/// OmniSafe's and safe-rlhf's Lagrange multipliers allow). The projection
/// is part of every dual update, never a separate call to remember.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Whether the multiplier is kept `>= 0`.
    pub inequality: bool,
    /// The largest magnitude (`f64::INFINITY`: none).
    pub upper: f64,
}

impl Bounds {
    /// No upper bound.
    pub fn new(inequality: bool) -> Self {
        Self {
            inequality,
            upper: f64::INFINITY,
        }
    }

    /// With the upper bound `upper`.
    pub fn with_upper(mut self, upper: f64) -> Self {
        self.upper = upper;
        self
    }

    /// The projection of `value` (a NaN stays NaN, for the caller to refuse).
    pub fn project(self, value: f64) -> f64 {
        let lower = if self.inequality {
            project_nonnegative(value)
        } else if value.is_nan() {
            return value;
        } else {
            value.max(-self.upper)
        };
        if value.is_nan() { value } else { lower.min(self.upper) }
    }
}

/// One entry: `λ + step`, projected onto `λ >= 0` for an inequality.
pub fn ascend_one(multiplier: f64, step: f64, inequality: bool) -> f64 {
    Bounds::new(inequality).project(multiplier + step)
}

/// `max(0, λ)`, with `-0.0` turned into `0.0` so that serialized states and
/// reports never show a negative zero.
pub fn project_nonnegative(value: f64) -> f64 {
    if value > 0.0 { value } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds `steps` to `multipliers` and, for an inequality, projects every
    /// entry onto `λ >= 0`: `λ ← max(0, λ + step)`.
    fn ascend(multipliers: &mut [f64], steps: &[f64], inequality: bool) {
        assert_eq!(multipliers.len(), steps.len());
        for (m, s) in multipliers.iter_mut().zip(steps) {
            *m = ascend_one(*m, *s, inequality);
        }
    }

    #[test]
    fn inequality_multipliers_are_projected_after_the_step() {
        let mut m = vec![0.5, 0.1, 0.0];
        ascend(&mut m, &[0.25, -0.3, -1.0], true);
        assert_eq!(m, vec![0.75, 0.0, 0.0]);
        assert!(m[1].is_sign_positive());
    }

    #[test]
    fn equality_multipliers_are_free() {
        let mut m = vec![0.5, 0.1];
        ascend(&mut m, &[0.25, -0.3], false);
        assert_eq!(m, vec![0.75, 0.1 - 0.3]);
    }

    #[test]
    fn an_upper_bound_clamps_after_the_projection() {
        let b = Bounds::new(true).with_upper(2.0);
        assert_eq!((b.project(-1.0), b.project(1.5), b.project(7.0)), (0.0, 1.5, 2.0));
        let e = Bounds::new(false).with_upper(2.0);
        assert_eq!((e.project(-7.0), e.project(-1.0), e.project(7.0)), (-2.0, -1.0, 2.0));
        assert!(b.project(f64::NAN).is_nan() && e.project(f64::NAN).is_nan());
    }
}
