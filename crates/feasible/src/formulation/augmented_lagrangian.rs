//! The augmented Lagrangian (Hestenes 1969, Powell 1969, Rockafellar 1973;
//! position paper eq. 17-18; Nocedal & Wright eq. 17.36 and 17.65):
//!
//! ```text
//! L_c(x, λ, μ) = f + μ·h + (c/2)|h|²
//!              + Σ_i { λ_i g_i + (c/2) g_i²   if λ_i + c g_i >= 0
//!                    { -λ_i² / (2c)           otherwise
//! ```
//!
//! The model descends `∇f + Σ w ∇g` with `w = [λ + c g]_+` for an inequality
//! and `w = μ + c h` for an equality. The classical dual step of the method
//! of multipliers is `λ ← [λ + c g]_+`, `μ ← μ + c h` (Nocedal & Wright
//! Framework 17.3, eq. 17.39), scaled by the penalty coefficient as the
//! method defines it (Cooper 1.0.1 does not scale it by `c`, although its
//! documentation says so). A separate dual optimizer can replace that step.
//!
//! `c = 0` is the Lagrangian: `w = λ`, the contribution is `λ g` (the second
//! branch needs `λ + c g < 0`, impossible for `λ >= 0` when `c = 0`, so
//! nothing is ever divided by zero; Cooper 1.0.1 returns NaN here), and the
//! classical dual step leaves `λ` where it is.

use crate::penalty::coefficient;

/// `w_i = [λ_i + c_i g_i]_+` (inequality) or `λ_i + c_i g_i` (equality).
pub fn primal_weights(multipliers: &[f64], penalty: &[f64], violations: &[f64], inequality: bool, out: &mut [f64]) {
    for (i, w) in out.iter_mut().enumerate() {
        let shifted = multipliers[i] + coefficient(penalty, i) * violations[i];
        *w = if inequality { shifted.max(0.0) } else { shifted };
    }
}

/// The constraint's terms of `L_c` (eq. 18).
pub fn primal_contribution(multipliers: &[f64], penalty: &[f64], violations: &[f64], inequality: bool) -> f64 {
    (0..violations.len())
        .map(|i| {
            let (l, c, g) = (multipliers[i], coefficient(penalty, i), violations[i]);
            if !inequality || l + c * g >= 0.0 {
                l * g + 0.5 * c * g * g
            } else {
                -l * l / (2.0 * c)
            }
        })
        .sum()
}

/// The classical step `λ ← [λ + c g]_+` (inequality) or `μ ← μ + c h`.
pub fn classical_dual_update(multipliers: &mut [f64], penalty: &[f64], strict_violations: &[f64], inequality: bool) {
    for (i, l) in multipliers.iter_mut().enumerate() {
        *l = crate::multiplier::ascend_one(*l, coefficient(penalty, i) * strict_violations[i], inequality);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_equation_18_on_both_branches() {
        // λ + c g = 1 + 2·(-0.25) = 0.5 >= 0: λ g + c/2 g² = -0.25 + 0.0625
        assert!((primal_contribution(&[1.0], &[2.0], &[-0.25], true) - (-0.25 + 0.0625)).abs() < 1e-15);
        // λ + c g = 1 + 2·(-1) < 0: -λ²/(2c) = -0.25
        assert!((primal_contribution(&[1.0], &[2.0], &[-1.0], true) - (-0.25)).abs() < 1e-15);
        // An equality always takes the first form.
        assert!((primal_contribution(&[1.0], &[2.0], &[-1.0], false) - 0.0).abs() < 1e-15);
        let mut w = [0.0; 2];
        primal_weights(&[1.0, 1.0], &[2.0], &[-1.0, 0.5], true, &mut w);
        assert_eq!(w, [0.0, 2.0]);
    }

    #[test]
    fn zero_penalty_is_the_lagrangian_without_nan() {
        for (l, g) in [(0.0, -3.0), (0.0, 2.0), (1.5, -0.7), (2.0, 4.0)] {
            let value = primal_contribution(&[l], &[0.0], &[g], true);
            assert_eq!(value, l * g);
            let mut w = [f64::NAN];
            primal_weights(&[l], &[0.0], &[g], true, &mut w);
            assert_eq!(w, [l]);
        }
        let mut m = [1.5];
        classical_dual_update(&mut m, &[0.0], &[3.0], true);
        assert_eq!(m, [1.5]);
    }
}
