//! Simultaneous gradient descent-ascent: both players step from `(x_t, λ_t)`.
//!
//! ```text
//! x_{t+1} = x_t - η_x ∇_x L(x_t, λ_t)
//! λ_{t+1} = Π(λ_t + step(g(x_t)))
//! ```

use super::PrimalProblem;
use crate::error::Result;
use crate::observation::Observation;
use crate::optimizer::{ConstrainedOptimizer, Rollout, primal_error};

/// One simultaneous step from `point`, measured as `first`.
pub(crate) fn simultaneous<P: PrimalProblem>(
    optimizer: &ConstrainedOptimizer,
    problem: &mut P,
    point: &P::Point,
    first: Observation,
) -> Result<Rollout<P::Point>> {
    let views = optimizer.views(&first);
    let updated = optimizer.dual_update(views.clone(), &first)?;
    let weights = optimizer.primal_weights(&views, &first);
    let next = problem.descend(point, point, &weights).map_err(primal_error)?;
    let targets = first.targets();
    let report = optimizer.report(first, None, &weights, &views, &updated);
    Ok(Rollout {
        next,
        report,
        updated,
        targets,
    })
}
