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

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::lagrangian::{check_initial, check_length, check_within, initial_vector, non_finite};
use crate::dual::{DualOptimizer, OptimizerState, PerEntry, SharedDualOptimizer, ascend_entries};
use crate::error::Result;
use crate::multiplier::Bounds;
use crate::penalty::{Penalty, coefficient};
use crate::shape::Shape;

/// The dual step of the augmented Lagrangian method.
#[derive(Clone, Debug, Default)]
pub enum AugmentedDualStep {
    /// The method of multipliers: `λ ← [λ + c g]_+`, the step scaled by the
    /// penalty coefficient.
    #[default]
    Classical,
    /// A separate dual optimizer (gradient ascent with its own step size,
    /// nuPI, ...), on the same gradient `g`.
    Optimizer(SharedDualOptimizer),
}

/// The augmented Lagrangian `L_c`, see the [module docs](self).
#[derive(Clone, Debug)]
pub struct AugmentedLagrangian {
    penalty: Penalty,
    dual_step: AugmentedDualStep,
    initial: PerEntry,
    upper_bound: Option<f64>,
}

/// The dual variables of an augmented Lagrangian constraint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugmentedLagrangianState {
    /// One multiplier per entry.
    pub multipliers: Vec<f64>,
    /// The dual optimizer's state (`None` for the classical step).
    pub dual_optimizer: Option<OptimizerState>,
    /// The current penalty coefficients: one, or one per entry.
    pub penalty: Vec<f64>,
}

impl AugmentedLagrangian {
    /// The augmented Lagrangian with penalty `penalty` (a number is a fixed
    /// coefficient per constraint), the classical dual step, multipliers
    /// starting at 0.
    pub fn new(penalty: impl Into<Penalty>) -> Self {
        Self {
            penalty: penalty.into(),
            dual_step: AugmentedDualStep::Classical,
            initial: PerEntry::Shared(0.0),
            upper_bound: None,
        }
    }

    /// Replaces the classical dual step by `dual_optimizer`.
    pub fn with_dual_optimizer(mut self, dual_optimizer: impl DualOptimizer) -> Self {
        self.dual_step = AugmentedDualStep::Optimizer(Arc::new(dual_optimizer));
        self
    }

    /// Multipliers start at `initial`: one value, or one per entry.
    pub fn with_initial_multiplier(mut self, initial: impl Into<PerEntry>) -> Self {
        self.initial = initial.into();
        self
    }

    /// Multipliers never exceed `upper` (clamped after the projection).
    pub fn with_upper_bound(mut self, upper: f64) -> Self {
        self.upper_bound = Some(upper);
        self
    }

    /// The penalty.
    pub fn penalty(&self) -> &Penalty {
        &self.penalty
    }

    /// The dual step.
    pub fn dual_step(&self) -> &AugmentedDualStep {
        &self.dual_step
    }

    fn bounds(&self, shape: &Shape) -> Bounds {
        Bounds::new(shape.inequality).with_upper(self.upper_bound.unwrap_or(f64::INFINITY))
    }

    pub(crate) fn validate(&self, shape: &Shape) -> Result<()> {
        self.penalty.validate(shape)?;
        if let AugmentedDualStep::Optimizer(o) = &self.dual_step {
            o.validate(&shape.owner, shape.entries)?;
        }
        if let Some(upper) = self.upper_bound
            && (upper.is_nan() || upper <= 0.0)
        {
            return Err(crate::FeasibleError::InvalidHyperparameter {
                owner: shape.owner.clone(),
                name: "multiplier upper bound",
                value: upper,
                requirement: "must be > 0 (or infinite)",
            });
        }
        check_initial(&self.initial, shape, self.upper_bound)
    }

    pub(crate) fn init(&self, shape: &Shape) -> Result<AugmentedLagrangianState> {
        Ok(AugmentedLagrangianState {
            multipliers: initial_vector(&self.initial, shape.entries)?,
            dual_optimizer: match &self.dual_step {
                AugmentedDualStep::Classical => None,
                AugmentedDualStep::Optimizer(o) => Some(OptimizerState::new(&**o, shape.entries)?),
            },
            penalty: self.penalty.init(shape.entries)?,
        })
    }

    pub(crate) fn check_fits(
        &self,
        state: &AugmentedLagrangianState,
        shape: &Shape,
    ) -> std::result::Result<(), String> {
        check_length("multipliers", state.multipliers.len(), shape.entries)?;
        check_within(&state.multipliers, self.upper_bound)?;
        match (&self.dual_step, &state.dual_optimizer) {
            (AugmentedDualStep::Classical, None) => {}
            (AugmentedDualStep::Optimizer(o), Some(s)) => s.check_fits(&**o, shape.entries)?,
            (AugmentedDualStep::Classical, Some(s)) => {
                return Err(format!(
                    "it holds a `{}` dual optimizer state, this constraint takes the classical step",
                    s.optimizer
                ));
            }
            (AugmentedDualStep::Optimizer(o), None) => {
                return Err(format!(
                    "it was saved with the classical dual step, this constraint uses `{}`",
                    o.name()
                ));
            }
        }
        self.penalty.check_fits(&state.penalty, shape.entries)
    }

    /// One dual update: multipliers, then penalty coefficients.
    pub(crate) fn dual_update(
        &self,
        ids: Option<&[usize]>,
        state: &mut AugmentedLagrangianState,
        strict_violations: &[f64],
        shape: &Shape,
    ) -> Result<()> {
        let bounds = self.bounds(shape);
        match (&self.dual_step, state.dual_optimizer.as_mut()) {
            (AugmentedDualStep::Optimizer(o), Some(s)) => ascend_entries(
                &**o,
                ids,
                strict_violations,
                &mut s.entries,
                &mut state.multipliers,
                bounds,
            )
            .map_err(|e| non_finite(shape, e))?,
            _ => classical_dual_update(&mut state.multipliers, &state.penalty, strict_violations, bounds)
                .map_err(|e| non_finite(shape, e))?,
        }
        self.penalty
            .update(&mut state.penalty, ids, strict_violations, shape.inequality)
            .map_err(|e| non_finite(shape, e))
    }
}

/// `w_i = [λ_i + c_i g_i]_+` (inequality) or `λ_i + c_i g_i` (equality);
/// the slices as long as `out`, `penalty` one value or one per entry.
pub(crate) fn primal_weights(
    multipliers: &[f64],
    penalty: &[f64],
    violations: &[f64],
    inequality: bool,
    out: &mut [f64],
) {
    for (i, w) in out.iter_mut().enumerate() {
        let shifted = multipliers[i] + coefficient(penalty, i) * violations[i];
        *w = if inequality { shifted.max(0.0) } else { shifted };
    }
}

/// The constraint's terms of `L_c` (eq. 18); the slices as long as
/// `violations`, `penalty` one value or one per entry.
pub(crate) fn primal_contribution(multipliers: &[f64], penalty: &[f64], violations: &[f64], inequality: bool) -> f64 {
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

/// The classical step `λ ← [λ + c g]_+` (inequality) or `μ ← μ + c h`,
/// projected onto `bounds`; the slices as long as `multipliers`,
/// `penalty` one value or one per entry.
pub(crate) fn classical_dual_update(
    multipliers: &mut [f64],
    penalty: &[f64],
    strict_violations: &[f64],
    bounds: Bounds,
) -> std::result::Result<(), crate::dual::NonFinite> {
    for (i, l) in multipliers.iter_mut().enumerate() {
        let next = *l + coefficient(penalty, i) * strict_violations[i];
        if !next.is_finite() {
            return Err(crate::dual::NonFinite {
                entry: i,
                quantity: "multiplier".into(),
                value: next,
            });
        }
        *l = bounds.project(next);
    }
    Ok(())
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
        classical_dual_update(&mut m, &[0.0], &[3.0], Bounds::new(true)).unwrap();
        assert_eq!(m, [1.5]);
    }
}
