//! The Lagrangian formulation, `L(x, λ) = f(x) + Σ_i λ_i g_i(x)`
//! (Nocedal & Wright, *Numerical Optimization*, eq. 12.33).
//!
//! The model descends `∇_x L = ∇f + Σ λ_i ∇g_i`, so the primal weight of
//! entry `i` is `λ_i`. The multipliers ascend `∇_λ L = g`, measured by the
//! strict violation when one is given (proxy constraints, Cotter et al.
//! 2019): `λ ← Π(λ + step(g))`, `Π` the projection onto `λ >= 0` for
//! inequalities.
//!
//! ## Relaxation by slack variables
//!
//! With a slack cost `α > 0` the constraint may be relaxed: `g(x) <= u`,
//! `u >= 0`, at a cost `(α/2) |u|²` added to the objective (resilient
//! constrained learning, Hounie et al. 2023; the slack relaxation of
//! Feasible Learning, Ramirez et al. 2025). Minimising over `u` in closed
//! form gives `u = λ/α` and the Lagrangian `f + λ·g - |λ|²/(2α)`: the model
//! sees the same weights `λ`, and the multipliers ascend `g - λ/α`, which
//! stops them at `λ = α [g]_+`: the minimal-norm slack that makes every
//! entry feasible, at equilibrium with the loss.
//!
//! ## Dual restarts
//!
//! A multiplier integrates the violation, and when the model can only react
//! slowly (L0 gates that start saturated need hundreds of steps before the
//! density moves) it winds up far past the value the solution needs, and
//! the constraint is then over-satisfied. With restarts, an inequality
//! entry that is strictly satisfied (`g < 0`) gets its initial multiplier
//! back (Gallego-Posada et al. 2022; Cooper's `restart_on_feasible`): the
//! pressure stops as soon as the requirement holds.

use crate::dual::{AnyDualOptimizer, DualOptimizerState};

/// `w_i = λ_i`.
pub fn primal_weights(multipliers: &[f64], out: &mut [f64]) {
    out.copy_from_slice(multipliers);
}

/// `Σ λ_i g_i`.
pub fn primal_contribution(multipliers: &[f64], violations: &[f64]) -> f64 {
    multipliers.iter().zip(violations).map(|(l, g)| l * g).sum()
}

/// `λ ← Π(λ + step(g))`; with a slack cost `α`, `λ ← Π(λ + step(g - λ/α))`
/// (see [`super::Formulation::Lagrangian`]).
pub fn dual_update(
    optimizer: &AnyDualOptimizer,
    ids: Option<&[usize]>,
    multipliers: &mut [f64],
    state: &mut DualOptimizerState,
    strict_violations: &[f64],
    inequality: bool,
    slack: Option<f64>,
) {
    match slack {
        None => optimizer.ascend(ids, strict_violations, state, multipliers, inequality),
        Some(alpha) => {
            let relaxed: Vec<f64> = strict_violations
                .iter()
                .zip(multipliers.iter())
                .map(|(g, l)| g - l / alpha)
                .collect();
            optimizer.ascend(ids, &relaxed, state, multipliers, inequality)
        }
    }
}

/// Dual restarts: every entry whose strict violation is negative (strictly
/// satisfied) gets `initial` back, with a fresh dual optimizer state.
pub fn restart_feasible(
    multipliers: &mut [f64],
    state: &mut DualOptimizerState,
    strict_violations: &[f64],
    initial: f64,
) {
    for (k, g) in strict_violations.iter().enumerate() {
        if *g < 0.0 {
            multipliers[k] = initial;
            state.reset_entry(k);
        }
    }
}

/// The slack `u = λ/α` that relaxes each entry under a slack cost `α`.
pub fn slack(multipliers: &[f64], alpha: f64) -> Vec<f64> {
    multipliers.iter().map(|l| l / alpha).collect()
}
