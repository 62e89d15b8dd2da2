//! The one error type of the crate.

use std::path::PathBuf;

/// Which of a constraint's reported values an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// The differentiable value, which drives the primal update.
    Differentiable,
    /// The strict value, which drives the dual update (proxy constraints).
    Strict,
    /// The ids of the entries (samples) of an indexed constraint.
    Indices,
}

impl std::fmt::Display for ValueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueKind::Differentiable => f.write_str("differentiable value"),
            ValueKind::Strict => f.write_str("strict value"),
            ValueKind::Indices => f.write_str("list of sample ids"),
        }
    }
}

/// Everything that can go wrong in `feasible`.
///
/// Every variant names what was wrong (the constraint, the entry, the
/// hyperparameter, the file). An operation that returns an error has changed
/// no state: the multipliers, the dual optimizer state and the step count are
/// as they were before the call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeasibleError {
    /// A constraint reported a NaN or infinite value.
    #[error("constraint `{constraint}`: {kind} of entry {entry} is {value}, not a finite number")]
    NonFiniteValue {
        /// The constraint's name.
        constraint: String,
        /// The entry (0 for a scalar constraint).
        entry: usize,
        /// The offending value.
        value: f64,
        /// Which value was not finite.
        kind: ValueKind,
    },
    /// The loss was NaN or infinite.
    #[error("the loss is {value}, not a finite number")]
    NonFiniteLoss {
        /// The offending loss.
        value: f64,
    },
    /// A constraint's reported values do not have the declared number of entries.
    #[error("constraint `{constraint}`: {kind} has {got} entries, the constraint declares {expected}")]
    SizeMismatch {
        /// The constraint's name.
        constraint: String,
        /// The declared number of entries.
        expected: usize,
        /// The number of entries reported.
        got: usize,
        /// Which value had the wrong size.
        kind: ValueKind,
    },
    /// A sample id past the end of an indexed constraint.
    #[error("constraint `{constraint}`: sample id {index} is out of range (the constraint has {entries} entries)")]
    IndexOutOfRange {
        /// The constraint's name.
        constraint: String,
        /// The offending id.
        index: usize,
        /// The declared number of entries.
        entries: usize,
    },
    /// An entry id past the end of a per-entry state container (a dual
    /// optimizer's state, a smoothed violation): nothing was read or written.
    #[error("{what}: entry {index} is out of range (it has {entries} entries)")]
    EntryOutOfRange {
        /// The container (`the per-entry state ["xi", "started"]`).
        what: String,
        /// The offending id.
        index: usize,
        /// The number of entries it has.
        entries: usize,
    },
    /// An indexed constraint was measured without sample ids, or a dense one with them.
    #[error("constraint `{constraint}`: {reason}")]
    Indexing {
        /// The constraint's name.
        constraint: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Extragradient evaluated an indexed constraint on two different batches.
    #[error(
        "constraint `{constraint}`: extragradient evaluates the same batch twice, but the lookahead's \
         sample ids differ from the step's"
    )]
    BatchChanged {
        /// The constraint's name.
        constraint: String,
    },
    /// A name that no declared constraint has.
    #[error("unknown constraint `{name}` (declared: {declared})")]
    UnknownConstraint {
        /// The name that was looked up.
        name: String,
        /// The declared names, comma separated.
        declared: String,
    },
    /// Two constraints were declared with the same name.
    #[error("constraint `{name}` is declared twice")]
    DuplicateConstraint {
        /// The repeated name.
        name: String,
    },
    /// A step's measurements left out a declared constraint.
    #[error("constraint `{constraint}` was not measured in this step (every declared constraint must be)")]
    MissingMeasurement {
        /// The constraint that was not measured.
        constraint: String,
    },
    /// A step's measurements named the same constraint twice.
    #[error("constraint `{constraint}` was measured twice in this step")]
    DuplicateMeasurement {
        /// The constraint that was measured twice.
        constraint: String,
    },
    /// A hyperparameter outside its valid range (a negative learning rate, a
    /// negative penalty coefficient, a NaN).
    #[error("{owner}: {name} = {value} is invalid: {requirement}")]
    InvalidHyperparameter {
        /// What the hyperparameter belongs to (a constraint, an optimizer).
        owner: String,
        /// The hyperparameter's name.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What a valid value is.
        requirement: &'static str,
    },
    /// A constraint declaration that cannot be used (no entries, an empty name).
    #[error("constraint `{constraint}`: {reason}")]
    InvalidConstraint {
        /// The constraint's name.
        constraint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A constraint specification string could not be parsed.
    #[error("cannot parse constraint `{input}`: {reason} (expected e.g. `rate >= 0.7`, `density <= 0.5`, `norm == 1`)")]
    ParseConstraint {
        /// The text that was parsed.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A name (of a scheme, an optimizer) that is not one of the known ones.
    #[error("unknown {kind} `{name}` (known: {known})")]
    UnknownName {
        /// What kind of thing was named.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// A dual state that does not fit the declared constraints.
    #[error("the dual state does not fit this problem: {reason}")]
    StateMismatch {
        /// How it does not fit.
        reason: String,
    },
    /// A file (a checkpoint, a log) could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is truncated, corrupted or not a checkpoint.
    #[error("checkpoint {} is unusable: {reason}", path.display())]
    CorruptCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The dual state could not be (de)serialized.
    #[error("dual state (de)serialization failed: {source}")]
    Serialization {
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// An observer failed to record a committed step (it is not called
    /// again; see [`crate::observe`]).
    #[error("observer `{observer}` failed to record a step, and was detached: {source}")]
    Observer {
        /// The observer's name.
        observer: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An indexed constraint's measurement has a different number of sample
    /// ids and values.
    #[error(
        "constraint `{constraint}`: {ids} sample ids were given with {values} {kind}s (one {kind} per id is needed)"
    )]
    IdsValuesMismatch {
        /// The constraint's name.
        constraint: String,
        /// The number of ids.
        ids: usize,
        /// The number of values.
        values: usize,
        /// Which values.
        kind: ValueKind,
    },
    /// A [`ConstraintId`](crate::ConstraintId) issued by another optimizer.
    #[error(
        "constraint id #{index} was issued by another optimizer; ask this one with `id(name)` (declared here: {declared})"
    )]
    ForeignConstraintId {
        /// The id's position.
        index: usize,
        /// The names this optimizer declares, comma separated.
        declared: String,
    },
    /// A dual update whose result is not a finite number (a huge violation
    /// overflowing a multiplier or an optimizer's state); the step was not
    /// committed.
    #[error(
        "{constraint}: the dual update makes the {quantity} of entry {entry} {value}, not a finite number; \
         the step was refused and nothing changed (is the violation or a step size absurdly large?)"
    )]
    NonFiniteDualUpdate {
        /// The constraint (``constraint `name` ``).
        constraint: String,
        /// The entry (its id, for an indexed constraint).
        entry: usize,
        /// What is not finite: `multiplier`, `step`, `penalty coefficient`, or a state field.
        quantity: String,
        /// The value.
        value: f64,
    },
    /// A size that cannot be allocated.
    #[error("{what} cannot be allocated on this machine")]
    TooLarge {
        /// What was too large.
        what: String,
    },
    /// A scheme that measures the model twice within a step was asked to
    /// run from one measurement.
    #[error(
        "the {scheme} scheme measures the model again within a step: run it with `ConstrainedOptimizer::step` \
         (a `PrimalProblem`), or `step_with` in feasible-burn"
    )]
    SchemeNeedsProblem {
        /// The scheme's name.
        scheme: &'static str,
    },
    /// `commit` of an alternating primal→dual step, which needs the
    /// constraints measured after the primal step.
    #[error(
        "the alternating primal->dual scheme takes its dual step at the new point: measure the constraints after \
         the primal step and call `commit_measured`"
    )]
    MeasurementNeeded,
    /// `commit_measured` for a scheme that takes its dual step from the
    /// step's first measurement.
    #[error("the {scheme} scheme takes its dual step from the step's first measurement: call `commit`")]
    MeasurementNotNeeded {
        /// The scheme's name.
        scheme: &'static str,
    },
    /// A snapshot for solution selection that cannot be used (a NaN, the
    /// wrong number of violations); it was not recorded.
    #[error("snapshot {snapshot}: {reason}")]
    InvalidSnapshot {
        /// The index the snapshot would have had.
        snapshot: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Solution selection could not choose (no snapshots, a failed linear
    /// program, values that do not fit the distribution).
    #[error("solution selection: {reason}")]
    Selection {
        /// Why.
        reason: String,
    },
    /// The primal problem (the caller's model) failed; no dual state changed.
    #[error("the primal problem failed, no dual state changed: {source}")]
    Primal {
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A distribution over snapshots that breaks its invariants (unsorted or
    /// repeated snapshot indices, a probability that is not a finite number
    /// `> 0`, probabilities not summing to 1, a non-finite expectation):
    /// refused when deserialized or used.
    #[error("invalid distribution over snapshots: {reason}")]
    InvalidDistribution {
        /// What is wrong, naming the snapshot where there is one.
        reason: String,
    },
    /// A uniform draw for sampling a distribution that is not in `[0, 1)`.
    #[error("the draw {value} is not in [0, 1)")]
    InvalidDraw {
        /// The offending draw.
        value: f64,
    },
    /// A checkpoint kind that cannot be written in the header (empty, or
    /// with white space or control characters); nothing was written.
    #[error("checkpoint kind `{kind}` is invalid: it must be a non-empty word without spaces")]
    InvalidCheckpointKind {
        /// The offending kind.
        kind: String,
    },
}

/// `Result` with [`FeasibleError`].
pub type Result<T, E = FeasibleError> = std::result::Result<T, E>;

/// Checks that a coefficient (an EMA's, a moment's) is in `[0, 1)`.
pub(crate) fn check_unit_interval(owner: &str, name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(FeasibleError::InvalidHyperparameter {
            owner: owner.to_string(),
            name,
            value,
            requirement: "must be in [0, 1)",
        })
    }
}

/// Checks that a hyperparameter is finite and `>= 0`.
pub(crate) fn check_nonnegative(owner: &str, name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(FeasibleError::InvalidHyperparameter {
            owner: owner.to_string(),
            name,
            value,
            requirement: "must be a finite number >= 0",
        })
    }
}
