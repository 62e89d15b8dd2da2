//! Alternating updates: one player steps, the other answers.
//!
//! *Dual→primal* updates the multipliers from `g(x_t)`, then the model with
//! the fresh multipliers, at no extra cost:
//!
//! ```text
//! λ_{t+1} = Π(λ_t + step(g(x_t)))
//! x_{t+1} = x_t - η_x ∇_x L(x_t, λ_{t+1})
//! ```
//!
//! *Primal→dual* steps the model first and measures the constraints again
//! at the new point for the dual step (one more constraint evaluation):
//!
//! ```text
//! x_{t+1} = x_t - η_x ∇_x L(x_t, λ_t)
//! λ_{t+1} = Π(λ_t + step(g(x_{t+1})))
//! ```

use crate::error::Result;
use crate::formulation::FormulationState;
use crate::observation::Observation;
use crate::optimizer::{ConstrainedOptimizer, Prepared};
use crate::weights::PrimalWeights;

/// Everything of a dual→primal step but the primal step: the dual update
/// from `g(x_t)` and the weights of `λ_{t+1}`, not committed.
pub(crate) fn dual_primal(optimizer: &ConstrainedOptimizer, first: Observation) -> Result<Prepared> {
    // The primal step sees the updated multipliers: the state before the
    // step is not needed again.
    let updated = optimizer.dual_update(optimizer.views(&first), &first)?;
    let weights = optimizer.primal_weights(&updated, &first);
    let targets = first.targets();
    let report = optimizer.report(first, None, &weights, &updated, &updated);
    Ok(Prepared {
        weights,
        report,
        updated,
        targets,
    })
}

/// A primal→dual step before its primal step: the weights of `λ_t`.
pub(crate) struct Halfway {
    pub(crate) first: Observation,
    pub(crate) views: Vec<FormulationState>,
    pub(crate) weights: PrimalWeights,
}

/// The first half of a primal→dual step.
pub(crate) fn primal_dual(optimizer: &ConstrainedOptimizer, first: Observation) -> Halfway {
    let views = optimizer.views(&first);
    let weights = optimizer.primal_weights(&views, &first);
    Halfway { first, views, weights }
}

/// The second half: the dual update from `g(x_{t+1})`, measured as `second`.
pub(crate) fn primal_dual_finish(
    optimizer: &ConstrainedOptimizer,
    half: Halfway,
    second: Observation,
) -> Result<Prepared> {
    let updated = optimizer.dual_update(optimizer.views(&second), &second)?;
    let targets = second.targets();
    let report = optimizer.report(half.first, Some(second), &half.weights, &half.views, &updated);
    Ok(Prepared {
        weights: half.weights,
        report,
        updated,
        targets,
    })
}
