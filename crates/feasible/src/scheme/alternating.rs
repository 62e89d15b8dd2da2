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

use super::PrimalProblem;
use crate::error::Result;
use crate::observation::{Observation, observe};
use crate::optimizer::{ConstrainedOptimizer, Rollout, primal_error};

/// One dual→primal step from `point`, measured as `first`.
pub(crate) fn dual_primal<P: PrimalProblem>(
    optimizer: &ConstrainedOptimizer,
    problem: &mut P,
    point: &P::Point,
    first: Observation,
) -> Result<Rollout<P::Point>> {
    // The primal step sees the updated multipliers: the state before the
    // step is not needed again.
    let updated = optimizer.dual_update(optimizer.views(&first), &first)?;
    let weights = optimizer.primal_weights(&updated, &first);
    let next = problem.descend(point, point, &weights).map_err(primal_error)?;
    let targets = first.targets();
    let report = optimizer.report(first, None, &weights, &updated, &updated);
    Ok(Rollout {
        next,
        report,
        updated,
        targets,
    })
}

/// One primal→dual step from `point`, measured as `first`.
pub(crate) fn primal_dual<P: PrimalProblem>(
    optimizer: &ConstrainedOptimizer,
    problem: &mut P,
    point: &P::Point,
    first: Observation,
) -> Result<Rollout<P::Point>> {
    let views = optimizer.views(&first);
    let weights = optimizer.primal_weights(&views, &first);
    let next = problem.descend(point, point, &weights).map_err(primal_error)?;
    let measured = problem.measure_constraints(&next).map_err(primal_error)?;
    let second = observe(optimizer.constraints(), optimizer.owner(), measured)?;
    let updated = optimizer.dual_update(optimizer.views(&second), &second)?;
    let targets = second.targets();
    let report = optimizer.report(first, Some(second), &weights, &views, &updated);
    Ok(Rollout {
        next,
        report,
        updated,
        targets,
    })
}
