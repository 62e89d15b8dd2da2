//! The fixed penalty `f(x) + c Σ_i g_i(x)`: the weighted-sum baseline.
//!
//! With a non-convex problem no fixed `c` may solve the constrained problem
//! (position paper, §3); it is kept so experiments can compare against it.

/// `w_i = c`.
pub fn primal_weights(coefficient: f64, out: &mut [f64]) {
    out.fill(coefficient);
}

/// `c Σ g_i`.
pub fn primal_contribution(coefficient: f64, violations: &[f64]) -> f64 {
    coefficient * violations.iter().sum::<f64>()
}
