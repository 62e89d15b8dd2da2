//! The Lagrangian formulation, `L(x, λ) = f(x) + Σ_i λ_i g_i(x)`
//! (Nocedal & Wright, *Numerical Optimization*, eq. 12.33).
//!
//! The model descends `∇_x L = ∇f + Σ λ_i ∇g_i`, so the primal weight of
//! entry `i` is `λ_i`. The multipliers ascend `∇_λ L = g`, measured by the
//! strict violation when one is given (proxy constraints, Cotter et al.
//! 2019): `λ ← Π(λ + step(g))`, `Π` the projection onto `λ >= 0` for
//! inequalities.

use crate::dual::{AnyDualOptimizer, DualOptimizerState};

/// `w_i = λ_i`.
pub fn primal_weights(multipliers: &[f64], out: &mut [f64]) {
    out.copy_from_slice(multipliers);
}

/// `Σ λ_i g_i`.
pub fn primal_contribution(multipliers: &[f64], violations: &[f64]) -> f64 {
    multipliers.iter().zip(violations).map(|(l, g)| l * g).sum()
}

/// `λ ← Π(λ + step(g))`.
pub fn dual_update(
    optimizer: &AnyDualOptimizer,
    multipliers: &mut [f64],
    state: &mut DualOptimizerState,
    strict_violations: &[f64],
    inequality: bool,
) {
    optimizer.ascend(strict_violations, state, multipliers, inequality);
}
