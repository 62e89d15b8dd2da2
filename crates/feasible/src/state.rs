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
use crate::error::{FeasibleError, Result};
use crate::formulation::FormulationState;

/// One constraint's dual variables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstraintDualState {
    /// The constraint's name (checked on restore).
    pub name: String,
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
    pub const VERSION: u32 = 1;
    /// The checkpoint kind under which [`DualState::save`] writes.
    pub const CHECKPOINT_KIND: &'static str = "dual_state";

    /// JSON text.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|source| FeasibleError::Serialization { source })
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
