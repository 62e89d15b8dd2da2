//! What can go wrong auditing a constraint.

use std::path::PathBuf;

/// Evidence, a requirement or a confidence level that cannot be audited, or
/// a report that could not be written, with what was wrong.
///
/// `subject` names the sample at fault: `binomial sample` for a bare
/// [`clopper_pearson`](super::clopper_pearson) call; for
/// [`assess`](super::assess) the constraint and split, plus `group` or `rest`
/// for one side of a [`GroupGap`](super::Evidence::GroupGap).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// More successes than trials.
    #[error("{subject}: {successes} successes out of {trials} trials; successes cannot exceed trials")]
    SuccessesExceedTrials {
        /// The sample.
        subject: String,
        /// The successes given.
        successes: u64,
        /// The trials given.
        trials: u64,
    },
    /// No trials: a rate of nothing has no interval.
    #[error("{subject}: 0 trials; a rate needs at least one trial")]
    NoTrials {
        /// The sample.
        subject: String,
    },
    /// More trials than `f64` counts exactly (2^53, about 9.007e15).
    #[error("{subject}: {trials} trials is more than 2^53, the largest count the interval computes exactly")]
    TooManyTrials {
        /// The sample.
        subject: String,
        /// The trials given.
        trials: u64,
    },
    /// A confidence level outside the open interval (0, 1).
    #[error("confidence level {confidence} is not strictly between 0 and 1")]
    Confidence {
        /// The level given.
        confidence: f64,
    },
    /// A target, value or tolerance that is NaN or infinite.
    #[error("{subject}: {quantity} is {value}, not a finite number")]
    NonFinite {
        /// The constraint (and split) it belongs to.
        subject: String,
        /// `target`, `value` or `tolerance`.
        quantity: &'static str,
        /// The number given.
        value: f64,
    },
    /// A `Within` tolerance below zero.
    #[error("{subject}: tolerance {tolerance} is negative")]
    NegativeTolerance {
        /// The constraint.
        subject: String,
        /// The tolerance given.
        tolerance: f64,
    },
    /// Writing the report failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl AuditError {
    /// The same error with `context` put in front of its subject
    /// (`"tpr[female] on test"` + `"group"` -> `"tpr[female] on test, group"`).
    pub(crate) fn within(self, context: &str) -> Self {
        let prefix = |subject: String| format!("{context}, {subject}");
        match self {
            AuditError::SuccessesExceedTrials {
                subject,
                successes,
                trials,
            } => AuditError::SuccessesExceedTrials {
                subject: prefix(subject),
                successes,
                trials,
            },
            AuditError::NoTrials { subject } => AuditError::NoTrials {
                subject: prefix(subject),
            },
            AuditError::TooManyTrials { subject, trials } => AuditError::TooManyTrials {
                subject: prefix(subject),
                trials,
            },
            AuditError::NonFinite {
                subject,
                quantity,
                value,
            } => AuditError::NonFinite {
                subject: prefix(subject),
                quantity,
                value,
            },
            AuditError::NegativeTolerance { subject, tolerance } => AuditError::NegativeTolerance {
                subject: prefix(subject),
                tolerance,
            },
            other => other,
        }
    }
}

/// `Ok` for a confidence level strictly between 0 and 1.
pub(crate) fn check_confidence(confidence: f64) -> Result<(), AuditError> {
    if confidence > 0.0 && confidence < 1.0 {
        Ok(())
    } else {
        Err(AuditError::Confidence { confidence })
    }
}
