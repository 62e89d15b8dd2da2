//! What the caller reports each step: the loss and, per constraint, the
//! measured values in the constraint's own units.
//!
//! Two values per constraint, because a requirement is often not
//! differentiable (a 0/1 rate, an L0 count):
//!
//! - the **differentiable value** (a surrogate, e.g. the mean predicted
//!   probability of class 0) is what the model's gradient flows through: it
//!   drives the primal update;
//! - the optional **strict value** (e.g. the true fraction predicted class 0)
//!   is the requirement as stated: it drives the dual update and decides
//!   whether the constraint holds. Without one, the differentiable value is
//!   used for both ("proxy constraints", Cotter et al. 2019).
//!
//! Values are reported, not violations: `rate = 0.65` for `rate >= 0.7`.
//! The sign convention is applied inside (see [`crate::constraint`]).

use crate::constraint::ConstraintId;

/// One constraint's values in one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub(crate) value: Vec<f64>,
    pub(crate) strict: Option<Vec<f64>>,
    pub(crate) indices: Option<Vec<usize>>,
    pub(crate) primal: bool,
    pub(crate) dual: bool,
}

impl Measurement {
    /// The differentiable value of a scalar constraint.
    pub fn scalar(value: f64) -> Self {
        Self::entries(vec![value])
    }

    /// The differentiable values of a constraint with several entries.
    pub fn entries(values: impl Into<Vec<f64>>) -> Self {
        Self {
            value: values.into(),
            strict: None,
            indices: None,
            primal: true,
            dual: true,
        }
    }

    /// The values of a batch of entries of an indexed constraint:
    /// `values[k]` belongs to entry `indices[k]`.
    pub fn indexed(indices: impl Into<Vec<usize>>, values: impl Into<Vec<f64>>) -> Self {
        Self {
            indices: Some(indices.into()),
            ..Self::entries(values)
        }
    }

    /// The strict value of a scalar constraint (drives the dual update).
    pub fn with_strict_scalar(self, strict: f64) -> Self {
        self.with_strict(vec![strict])
    }

    /// The strict values of a constraint with several entries.
    pub fn with_strict(mut self, strict: impl Into<Vec<f64>>) -> Self {
        self.strict = Some(strict.into());
        self
    }

    /// Keeps the constraint out of this step's primal update (its weight is 0).
    pub fn without_primal_update(mut self) -> Self {
        self.primal = false;
        self
    }

    /// Keeps the constraint out of this step's dual update (its multipliers
    /// and dual optimizer state do not move).
    pub fn without_dual_update(mut self) -> Self {
        self.dual = false;
        self
    }

    /// The differentiable values.
    pub fn value(&self) -> &[f64] {
        &self.value
    }

    /// The strict values, if any.
    pub fn strict(&self) -> Option<&[f64]> {
        self.strict.as_deref()
    }

    /// The entry ids of an indexed measurement.
    pub fn indices(&self) -> Option<&[usize]> {
        self.indices.as_deref()
    }
}

/// How a measurement names its constraint.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstraintKey {
    Id(ConstraintId),
    Name(String),
}

/// The loss and every constraint's [`Measurement`] for one step.
///
/// ```
/// use feasible::{Measurement, Measurements};
///
/// let m = Measurements::new(0.31)
///     .with("class0_rate", Measurement::scalar(0.66).with_strict_scalar(0.6475));
/// assert_eq!(m.loss(), 0.31);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Measurements {
    pub(crate) loss: f64,
    pub(crate) constraints: Vec<(ConstraintKey, Measurement)>,
}

impl Measurements {
    /// Measurements with the loss `f(x)` and no constraint yet.
    pub fn new(loss: f64) -> Self {
        Self {
            loss,
            constraints: Vec::new(),
        }
    }

    /// Adds the measurement of the constraint called `name`.
    pub fn with(mut self, name: impl Into<String>, measurement: Measurement) -> Self {
        self.insert(name, measurement);
        self
    }

    /// Adds the measurement of the constraint `id`.
    pub fn with_id(mut self, id: ConstraintId, measurement: Measurement) -> Self {
        self.insert_id(id, measurement);
        self
    }

    /// Adds the measurement of the constraint called `name`.
    pub fn insert(&mut self, name: impl Into<String>, measurement: Measurement) {
        self.constraints.push((ConstraintKey::Name(name.into()), measurement));
    }

    /// Adds the measurement of the constraint `id`.
    pub fn insert_id(&mut self, id: ConstraintId, measurement: Measurement) {
        self.constraints.push((ConstraintKey::Id(id), measurement));
    }

    /// The loss.
    pub fn loss(&self) -> f64 {
        self.loss
    }
}
