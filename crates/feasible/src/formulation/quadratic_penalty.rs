//! The quadratic penalty `f + (c/2) Σ [g_i]_+² + (c/2) Σ h_j²` (Nocedal &
//! Wright eq. 17.2): no multipliers; the constrained solution is reached
//! only as `c → ∞` (with a penalty updater), which makes the problem ever
//! worse conditioned. The augmented Lagrangian keeps `c` finite.

use crate::penalty::coefficient;

/// `w_i = c_i [g_i]_+` (inequality) or `c_i h_i` (equality).
pub fn primal_weights(penalty: &[f64], violations: &[f64], inequality: bool, out: &mut [f64]) {
    for (i, w) in out.iter_mut().enumerate() {
        let g = if inequality {
            violations[i].max(0.0)
        } else {
            violations[i]
        };
        *w = coefficient(penalty, i) * g;
    }
}

/// `Σ (c_i / 2) [g_i]_+²` (inequality) or `Σ (c_i / 2) h_i²`.
pub fn primal_contribution(penalty: &[f64], violations: &[f64], inequality: bool) -> f64 {
    violations
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let g = if inequality { g.max(0.0) } else { *g };
            0.5 * coefficient(penalty, i) * g * g
        })
        .sum()
}
