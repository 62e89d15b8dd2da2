//! Errors of the burn integration.

use feasible::FeasibleError;

/// What can go wrong in a constrained burn step.
///
/// A step that returns an error has changed nothing: the model comes back
/// as it was (see [`StepError`](crate::StepError)), the primal optimizer's
/// state and the dual state are untouched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the framework-free core (invalid values, unknown names,
    /// invalid hyperparameters, a failing observer, checkpoints, ...).
    #[error(transparent)]
    Core(#[from] FeasibleError),
    /// The loss is not on an autodiff device, so there is nothing to descend.
    #[error(
        "the loss is not tracked by autodiff: build the model on an autodiff device \
         (e.g. `Device::flex().autodiff()`) and do not detach the loss"
    )]
    LossNotTracked,
    /// A constraint's differentiable value carries no gradient.
    #[error(
        "constraint `{constraint}`: its differentiable value is not tracked by autodiff, so it \
         cannot steer the model; give a differentiable surrogate as the value and the \
         non-differentiable quantity as the strict value (or keep the constraint out of the \
         primal update)"
    )]
    ValueNotTracked {
        /// The constraint.
        constraint: String,
    },
    /// The loss is not a single number.
    #[error("the loss has {elements} elements, expected 1 (reduce it, e.g. with `.mean()`)")]
    LossShape {
        /// Its number of elements.
        elements: usize,
    },
    /// Reading values from the device failed.
    #[error("reading the step's values from the device failed: {reason}")]
    Readback {
        /// The backend's message.
        reason: String,
    },
    /// The alternating primal→dual scheme measures the constraints again
    /// after the primal step, which needs a function that evaluates the model.
    #[error(
        "the alternating primal->dual scheme re-measures the constraints after the primal step: \
         call `step_with` with a function that evaluates the model"
    )]
    NeedsEvaluator,
    /// A primal hyperparameter out of range.
    #[error("primal learning rate = {value} is invalid: must be a finite number >= 0")]
    InvalidLearningRate {
        /// The offending value.
        value: f64,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
