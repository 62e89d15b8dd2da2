//! Update schemes: the order of the primal and dual steps, and the
//! [`PrimalProblem`] through which a scheme drives the caller's model.
//!
//! With `x` the model, `λ` the dual variables and `t` the step:
//!
//! | scheme | primal step uses | dual step uses | evaluations |
//! |---|---|---|---|
//! | [`UpdateScheme::Simultaneous`] | `λ_t` | `g(x_t)` | 1 |
//! | [`UpdateScheme::AlternatingDualPrimal`] | `λ_{t+1}` | `g(x_t)` | 1 |
//! | [`UpdateScheme::AlternatingPrimalDual`] | `λ_t` | `g(x_{t+1})` | 2 |
//! | [`UpdateScheme::Extragradient`] | `λ̃`, gradient at `x̃`, from `x_t` | `g(x̃)`, from `λ_t` | 2 |
//!
//! *Simultaneous* is textbook gradient descent-ascent:
//! `x_{t+1} = x_t - η_x ∇_x L(x_t, λ_t)`, `λ_{t+1} = Π(λ_t + η_λ g(x_t))`.
//! *Alternating dual→primal* updates the multipliers first from the same
//! measurement, then the model with the fresh multipliers; it costs nothing
//! extra. *Alternating primal→dual* steps the model first and re-measures
//! the constraints at the new point for the dual step (one more constraint
//! evaluation per step).
//!
//! *Extragradient* (Korpelevich 1976) first takes a lookahead step of both
//! players, `x̃ = x_t - η_x ∇_x L(x_t, λ_t)`, `λ̃ = Π(λ_t + step(g(x_t)))`,
//! evaluates there, and then updates from the saved point with the
//! lookahead's gradients: `x_{t+1} = x_t - η_x ∇_x L(x̃, λ̃)`,
//! `λ_{t+1} = Π(λ_t + step(g(x̃)))`. Stateful optimizers advance their
//! state at both half steps, as Extra-Adam does (Gidel et al. 2019); penalty
//! coefficients are updated once, with the update.

mod alternating;
mod extragradient;
mod simultaneous;

pub(crate) use alternating::{Halfway, dual_primal, primal_dual, primal_dual_finish};
pub(crate) use extragradient::extragradient;
pub(crate) use simultaneous::simultaneous;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FeasibleError;
use crate::measurement::Measurements;
use crate::weights::PrimalWeights;

/// The order of the primal and dual steps within one step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateScheme {
    /// Both steps from the same point: `(x_t, λ_t) → (x_{t+1}, λ_{t+1})`.
    Simultaneous,
    /// Dual step from `g(x_t)`, then the primal step with `λ_{t+1}` (no extra
    /// evaluation; the default, as recommended by Cooper).
    #[default]
    AlternatingDualPrimal,
    /// Primal step with `λ_t`, then the dual step from `g(x_{t+1})`, measured
    /// again at the new point.
    AlternatingPrimalDual,
    /// A lookahead step of both players, then the update from the saved
    /// point with the lookahead's gradients (two evaluations per step).
    Extragradient,
}

impl UpdateScheme {
    /// Whether the scheme evaluates the model a second time within a step.
    pub fn remeasures(self) -> bool {
        matches!(self, UpdateScheme::AlternatingPrimalDual | UpdateScheme::Extragradient)
    }

    /// A short name: `simultaneous`, `alternating_dual_primal`, `alternating_primal_dual`.
    pub fn name(self) -> &'static str {
        match self {
            UpdateScheme::Simultaneous => "simultaneous",
            UpdateScheme::AlternatingDualPrimal => "alternating_dual_primal",
            UpdateScheme::AlternatingPrimalDual => "alternating_primal_dual",
            UpdateScheme::Extragradient => "extragradient",
        }
    }
}

impl UpdateScheme {
    /// Every scheme.
    pub const ALL: [UpdateScheme; 4] = [
        UpdateScheme::Simultaneous,
        UpdateScheme::AlternatingDualPrimal,
        UpdateScheme::AlternatingPrimalDual,
        UpdateScheme::Extragradient,
    ];
}

impl FromStr for UpdateScheme {
    type Err = FeasibleError;

    /// Parses a scheme's [`name`](UpdateScheme::name) (`-` and `_` alike).
    fn from_str(name: &str) -> Result<Self, FeasibleError> {
        let normalized = name.trim().replace('-', "_");
        UpdateScheme::ALL
            .into_iter()
            .find(|s| s.name() == normalized)
            .ok_or_else(|| FeasibleError::UnknownName {
                kind: "update scheme",
                name: name.to_string(),
                known: UpdateScheme::ALL.map(UpdateScheme::name).join(", "),
            })
    }
}

/// The caller's side of constrained training: measuring a point and taking
/// a primal step from it.
///
/// A `Point` is whatever the primal step changes (model parameters and,
/// if it has any, the primal optimizer's state). The
/// [`ConstrainedOptimizer`](crate::ConstrainedOptimizer) never holds it: a
/// step borrows the current point and returns the next one, so a step that
/// fails leaves the caller with the point it had.
///
/// `descend(from, at, weights)` takes one step *from* `from` along the
/// gradient of the objective taken *at* `at`. In every scheme but
/// extragradient `at` is `from` itself; extragradient measures a lookahead
/// point and then steps from the saved one with the lookahead's gradient.
/// The point to differentiate is handed over explicitly, so an
/// implementation cannot take the gradient at the wrong point by
/// accident: a closed-form one evaluates its gradient at `at`; an autodiff
/// one that keeps the graph of its last measurement can check that the
/// graph is of `at` (the last point measured, in every scheme).
pub trait PrimalProblem {
    /// The primal variables (and primal optimizer state).
    type Point;
    /// The caller's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The loss and every constraint's values at `point`.
    fn measure(&mut self, point: &Self::Point) -> Result<Measurements, Self::Error>;

    /// The constraints' values at `point`, for the dual step of
    /// [`UpdateScheme::AlternatingPrimalDual`]. The loss in the result is not
    /// used. Defaults to [`PrimalProblem::measure`].
    fn measure_constraints(&mut self, point: &Self::Point) -> Result<Measurements, Self::Error> {
        self.measure(point)
    }

    /// One primal step from `from` along `-(∇f + Σ w ∇g)` evaluated at
    /// `at`, with `w` from `weights`. Returns the new point.
    fn descend(
        &mut self,
        from: &Self::Point,
        at: &Self::Point,
        weights: &PrimalWeights,
    ) -> Result<Self::Point, Self::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_refuses_unknown_ones() {
        for scheme in UpdateScheme::ALL {
            assert_eq!(scheme.name().parse::<UpdateScheme>().unwrap(), scheme);
        }
        assert_eq!(
            "alternating-dual-primal".parse::<UpdateScheme>().unwrap(),
            UpdateScheme::AlternatingDualPrimal
        );
        let err = "gda".parse::<UpdateScheme>().unwrap_err().to_string();
        assert!(
            err.contains("unknown update scheme `gda`") && err.contains("simultaneous"),
            "{err}"
        );
    }
}
