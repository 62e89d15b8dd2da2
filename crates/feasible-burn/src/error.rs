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
    /// The alternating primal→dual and extragradient schemes evaluate the
    /// model a second time within a step, which needs a function that
    /// evaluates it.
    #[error(
        "the alternating primal->dual and extragradient schemes evaluate the model twice per step: \
         call `step_with` with a function that evaluates the model"
    )]
    NeedsEvaluator,
    /// The core asked for the gradient at a point other than the one whose
    /// graph is held (an internal contract violation, reported rather than
    /// giving a wrong update silently).
    #[error("the gradient was asked for at model slot {requested}, but the graph held is of slot {measured}")]
    GradientPoint {
        /// The slot the core asked for.
        requested: usize,
        /// The slot last measured.
        measured: usize,
    },
    /// A checkpoint could not be written or read back into this trainer and
    /// model: an unencodable or unreadable part, weights that do not fit the
    /// model, a seeded run resumed without a seeded RNG, something in the
    /// way of the save (see [`crate::checkpoint`]).
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A trainer checkpoint, or one of its files, is missing.
    #[error("checkpoint {}: missing", path.display())]
    CheckpointMissing {
        /// The checkpoint directory or the file.
        path: std::path::PathBuf,
    },
    /// A file of a trainer checkpoint has another length than its manifest
    /// records (truncated or extended).
    #[error(
        "checkpoint file {}: {found} bytes, the manifest says {expected} (truncated or extended)",
        path.display()
    )]
    CheckpointLength {
        /// The file.
        path: std::path::PathBuf,
        /// The length the manifest records.
        expected: u64,
        /// The file's length.
        found: u64,
    },
    /// A file of a trainer checkpoint does not have the CRC-32 its manifest
    /// records: it is corrupted.
    #[error(
        "checkpoint file {}: checksum mismatch (manifest {expected:08x}, file {found:08x}): the file is corrupted",
        path.display()
    )]
    CheckpointChecksum {
        /// The file.
        path: std::path::PathBuf,
        /// The CRC-32 the manifest records.
        expected: u32,
        /// The file's CRC-32.
        found: u32,
    },
    /// A trainer checkpoint of another format version.
    #[error("checkpoint {}: format version {found}, this build reads version {expected}", path.display())]
    CheckpointVersion {
        /// The checkpoint.
        path: std::path::PathBuf,
        /// Its version.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// A trainer checkpoint saved with another primal optimizer than the
    /// trainer's (another kind, or other hyperparameters declared with
    /// [`ConstrainedTrainer::with_primal_config`](crate::ConstrainedTrainer::with_primal_config)).
    #[error(
        "checkpoint {}: saved with another primal optimizer ({saved}) than this trainer's ({trainer}): {reason}",
        path.display()
    )]
    PrimalOptimizerMismatch {
        /// The checkpoint.
        path: std::path::PathBuf,
        /// The saved optimizer's declared configuration.
        saved: String,
        /// This trainer's declared configuration.
        trainer: String,
        /// What differs.
        reason: String,
    },
    /// A rate whose denominator is zero in this batch (a group with no
    /// positives, say), so it has no value.
    #[error(
        "rate `{rate}` is undefined: {reason}; give it the data set's expected denominator (`Rate::with_expected_denominator`, `Fairness::with_dataset_denominators`) or use larger batches"
    )]
    EmptyRate {
        /// The rate, as `kind[group]`.
        rate: String,
        /// Why.
        reason: String,
    },
    /// A rate or fairness constraint that cannot be built (masks or labels
    /// of the wrong length, an unknown class, an invalid tolerance).
    #[error("rates: {reason}")]
    Rate {
        /// What is wrong.
        reason: String,
    },
    /// The parts of a global batch (micro-batches, devices' shards) cannot
    /// be combined: they measure different constraints, or a part is not
    /// among the reduced ones.
    #[error("combining the parts of a batch: {reason}")]
    Statistics {
        /// What does not fit.
        reason: String,
    },
    /// An evaluation with neither a loss nor a constraint value: there is
    /// no objective to build.
    #[error("the evaluation has neither a loss nor a constraint value: there is no objective to descend")]
    NothingToDescend,
    /// A multiplier model's step got what does not fit: violations whose
    /// count is not the batch's, or that are not finite.
    #[error("implicit multipliers: {reason}")]
    ImplicitMultipliers {
        /// What is wrong.
        reason: String,
    },
    /// A layer's setting out of range (a size of zero, a drop rate outside
    /// `(0, 1)`, a scale or bound that is not a positive finite number).
    #[error("{layer}: {setting} = {value} is invalid: {expected}")]
    LayerSetting {
        /// The layer's kind (`L0Linear`, `L0Conv2d`).
        layer: &'static str,
        /// The setting.
        setting: &'static str,
        /// Its value, as written.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A tensor given to a layer's forward pass has a shape it cannot take.
    #[error("{layer}: the {what} has shape {found:?}, expected {expected}")]
    LayerInput {
        /// The layer's kind (`L0Linear`, `L0Conv2d`).
        layer: &'static str,
        /// Which tensor (the input, the gates' noise).
        what: &'static str,
        /// The shape the layer takes, in words (`[n, 784]`).
        expected: String,
        /// The shape given.
        found: Vec<usize>,
    },
    /// A collective's worker gave what does not fit: a rank outside the
    /// workers, a second value in one round, gradients of another model.
    #[error("collective: {reason}")]
    Collective {
        /// What is wrong.
        reason: String,
    },
    /// Tensors of one step on different devices.
    #[error("constraint `{constraint}`: its value is on {found}, the step's other tensors on {expected}")]
    DeviceMismatch {
        /// The constraint.
        constraint: String,
        /// The device of the step's first tensor.
        expected: String,
        /// The constraint value's device.
        found: String,
    },
    /// A primal hyperparameter out of range.
    #[error("primal learning rate = {value} is invalid: must be a finite number >= 0")]
    InvalidLearningRate {
        /// The offending value.
        value: f64,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
