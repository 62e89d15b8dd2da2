//! The whole dual state as one serializable value.
//!
//! Multipliers, dual optimizer states and the step count: everything a
//! [`ConstrainedOptimizer`](crate::ConstrainedOptimizer) changes while it
//! runs. Hyperparameters are not part of it (they are code, like the model's
//! architecture). JSON keeps every `f64` exactly (shortest round-trip
//! formatting and round-trip parsing), so a saved and restored state
//! continues bit for bit.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint;
use crate::constraint::{Constraint, Sense};
use crate::dual::PerEntry;
use crate::error::{FeasibleError, Result};
use crate::formulation::FormulationState;

/// One constraint's dual variables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstraintDualState {
    /// The constraint's name (checked on restore).
    pub name: String,
    /// Its sense (checked on restore: a state of `rate >= 0.4` does not
    /// load into `rate <= 0.9`).
    pub sense: Sense,
    /// Its target(s) (checked on restore).
    pub target: PerEntry,
    /// Its number of entries (checked on restore).
    pub entries: usize,
    /// Its formulation's state.
    pub state: FormulationState,
}

/// Everything a constrained optimizer changes while it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DualState {
    /// Always [`DualState::FORMAT`].
    pub format: String,
    /// The format's version, [`DualState::VERSION`].
    pub version: u32,
    /// The number of committed steps.
    pub steps: u64,
    /// One entry per constraint, in declaration order.
    pub constraints: Vec<ConstraintDualState>,
}

impl DualState {
    /// The format tag.
    pub const FORMAT: &'static str = "feasible.dual_state";
    /// The format version.
    pub const VERSION: u32 = 2;
    /// The checkpoint kind under which [`DualState::save`] writes.
    pub const CHECKPOINT_KIND: &'static str = "dual_state";

    /// JSON text. A state holding a number that is not finite is refused
    /// (JSON has no such numbers, and the file could not be read back).
    pub fn to_json(&self) -> Result<String> {
        self.check_finite()?;
        serde_json::to_string_pretty(self).map_err(|source| FeasibleError::Serialization { source })
    }

    /// Every number is finite; otherwise the first that is not, named.
    pub fn check_finite(&self) -> Result<()> {
        for c in &self.constraints {
            if let Some((what, entry, value)) = c.state.first_non_finite() {
                return Err(FeasibleError::StateMismatch {
                    reason: format!(
                        "constraint `{}`: the {what} of entry {entry} is {value}, not finite",
                        c.name
                    ),
                });
            }
        }
        Ok(())
    }

    /// Checks that this state belongs to `constraints`: the same format
    /// and version, the same names in the same order, the same senses,
    /// targets and sizes, the same formulations and dual optimizers, every
    /// number finite, inequality multipliers `>= 0`. The error says what
    /// was expected and what the state holds.
    pub fn check_fits(&self, constraints: &[Constraint]) -> Result<()> {
        let mismatch = |reason: String| FeasibleError::StateMismatch { reason };
        if self.format != DualState::FORMAT || self.version != DualState::VERSION {
            return Err(mismatch(format!(
                "it is format `{}` version {}, expected `{}` version {}",
                self.format,
                self.version,
                DualState::FORMAT,
                DualState::VERSION
            )));
        }
        if self.constraints.len() != constraints.len() {
            return Err(mismatch(format!(
                "it has {} constraints, this problem declares {}",
                self.constraints.len(),
                constraints.len()
            )));
        }
        for (c, s) in constraints.iter().zip(&self.constraints) {
            if s.name != c.name() {
                return Err(mismatch(format!(
                    "it has constraint `{}` where this problem declares `{}`",
                    s.name,
                    c.name()
                )));
            }
            if s.sense != c.sense() || &s.target != c.targets() {
                let targets = |t: &PerEntry| match t {
                    PerEntry::Shared(t) => t.to_string(),
                    PerEntry::Entries(t) => format!("{t:?}"),
                };
                return Err(mismatch(format!(
                    "constraint `{}`: it was saved for `{} {} {}`, this problem declares `{} {} {}`",
                    c.name(),
                    s.name,
                    s.sense.symbol(),
                    targets(&s.target),
                    c.name(),
                    c.sense().symbol(),
                    targets(c.targets())
                )));
            }
            if s.entries != c.entries() {
                return Err(mismatch(format!(
                    "constraint `{}`: it has {} entries, this problem declares {}",
                    c.name(),
                    s.entries,
                    c.entries()
                )));
            }
            c.formulation()
                .check_fits(&s.state, &c.shape())
                .map_err(|reason| mismatch(format!("constraint `{}`: {reason}", c.name())))?;
            if let Some((what, entry, value)) = s.state.first_non_finite() {
                return Err(mismatch(format!(
                    "constraint `{}`: the {what} of entry {entry} is {value}, not finite",
                    c.name()
                )));
            }
            if let Some((entry, value)) = s.state.multipliers().and_then(|m| {
                m.iter()
                    .enumerate()
                    .find(|(_, v)| c.sense().is_inequality() && **v < 0.0)
            }) {
                return Err(mismatch(format!(
                    "constraint `{}`: multiplier entry {entry} is {value}, an inequality's must be >= 0",
                    c.name()
                )));
            }
        }
        Ok(())
    }

    /// Parses JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|source| FeasibleError::Serialization { source })
    }

    /// Writes the state to `path` atomically, with a checksum (see
    /// [`checkpoint`]): a crash mid-write leaves the previous file intact.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::write_atomic(path.as_ref(), Self::CHECKPOINT_KIND, self.to_json()?.as_bytes())
    }

    /// Reads a state written by [`DualState::save`]; a truncated, corrupted
    /// or foreign file is refused with the reason.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = checkpoint::read_verified(path, Self::CHECKPOINT_KIND)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| FeasibleError::CorruptCheckpoint {
            path: path.to_path_buf(),
            reason: format!("the payload is not UTF-8 text: {e}"),
        })?;
        serde_json::from_str(text).map_err(|e| FeasibleError::CorruptCheckpoint {
            path: path.to_path_buf(),
            reason: format!("the payload is not a dual state: {e}"),
        })
    }
}
