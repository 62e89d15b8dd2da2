//! Hyperparameters given once for a whole constraint or once per entry.

use serde::{Deserialize, Serialize};

use crate::error::{FeasibleError, Result};

/// A hyperparameter that is either one number for every entry of a
/// constraint, or one number per entry (nuPI's gains, say).
///
/// ```
/// use feasible::dual::PerEntry;
/// let shared = PerEntry::from(0.5);
/// let own = PerEntry::from(vec![0.5, 2.0]);
/// assert_eq!((shared.get(1), own.get(1)), (0.5, 2.0));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PerEntry {
    /// The same value for every entry.
    Shared(f64),
    /// One value per entry.
    Entries(Vec<f64>),
}

impl PerEntry {
    /// The value for `entry` (the shared value, or the entry's own; an
    /// entry past the end, which validation rules out, gets the last value).
    pub fn get(&self, entry: usize) -> f64 {
        match self {
            PerEntry::Shared(value) => *value,
            PerEntry::Entries(values) => values.get(entry).or(values.last()).copied().unwrap_or(0.0),
        }
    }

    /// Checks the length against the constraint's `entries` and every value
    /// with `valid`, naming `owner` and `name` in the error.
    pub(crate) fn validate(
        &self,
        owner: &str,
        name: &'static str,
        entries: usize,
        valid: fn(f64) -> bool,
        requirement: &'static str,
    ) -> Result<()> {
        let values: &[f64] = match self {
            PerEntry::Shared(value) => std::slice::from_ref(value),
            PerEntry::Entries(values) => {
                if values.len() != entries {
                    return Err(FeasibleError::InvalidHyperparameter {
                        owner: owner.to_string(),
                        name,
                        value: values.len() as f64,
                        requirement: "a per-entry hyperparameter needs one value per constraint entry",
                    });
                }
                values
            }
        };
        match values.iter().find(|v| !valid(**v)) {
            Some(bad) => Err(FeasibleError::InvalidHyperparameter {
                owner: owner.to_string(),
                name,
                value: *bad,
                requirement,
            }),
            None => Ok(()),
        }
    }
}

impl From<f64> for PerEntry {
    fn from(value: f64) -> Self {
        PerEntry::Shared(value)
    }
}

impl From<Vec<f64>> for PerEntry {
    fn from(values: Vec<f64>) -> Self {
        PerEntry::Entries(values)
    }
}

/// `x` is finite and `>= 0`.
pub(crate) fn finite_nonnegative(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}
