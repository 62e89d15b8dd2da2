//! Lagrange multipliers: plain `f64` vectors, one entry per constraint entry.
//!
//! The multiplier of an inequality `g(x) <= 0` must stay `>= 0` (KKT dual
//! feasibility, Nocedal & Wright eq. 12.34d); after every dual step it is
//! projected back onto that set. Equality multipliers are free.

/// Adds `steps` to `multipliers` and, for an inequality, projects every entry
/// onto `λ >= 0`: `λ ← max(0, λ + step)`. The projection is part of every
/// dual update, never a separate call to remember.
pub fn ascend(multipliers: &mut [f64], steps: &[f64], inequality: bool) {
    debug_assert_eq!(multipliers.len(), steps.len());
    for (m, s) in multipliers.iter_mut().zip(steps) {
        *m = ascend_one(*m, *s, inequality);
    }
}

/// One entry: `λ + step`, projected onto `λ >= 0` for an inequality.
pub fn ascend_one(multiplier: f64, step: f64, inequality: bool) -> f64 {
    let next = multiplier + step;
    if inequality { project_nonnegative(next) } else { next }
}

/// `max(0, λ)`, with `-0.0` turned into `0.0` so that serialized states and
/// reports never show a negative zero.
pub fn project_nonnegative(value: f64) -> f64 {
    if value > 0.0 { value } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
