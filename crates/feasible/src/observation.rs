//! Validation and batching of one step's measurements: every declared
//! constraint measured exactly once, by a known name or by an id of this
//! optimizer, with the declared number of finite values and valid sample
//! ids; violations computed once, per entry, against each entry's target.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::constraint::{Constraint, ConstraintId};
use crate::error::{FeasibleError, Result, ValueKind};
use crate::measurement::{ConstraintKey, Measurement, Measurements};

/// A validated measurement of one constraint, with its violations. For an
/// indexed constraint every vector has one value per measured occurrence.
pub(crate) struct Observed {
    pub(crate) value: Vec<f64>,
    pub(crate) strict_value: Option<Vec<f64>>,
    pub(crate) violation: Vec<f64>,
    pub(crate) strict_violation: Vec<f64>,
    pub(crate) batch: Option<Batch>,
    pub(crate) primal: bool,
    pub(crate) dual: bool,
}

/// The sample ids of one measurement of an indexed constraint.
pub(crate) struct Batch {
    /// The id of each occurrence.
    pub(crate) indices: Vec<usize>,
    /// The distinct ids, in order of first occurrence.
    pub(crate) unique: Vec<usize>,
    /// For each occurrence, its id's position in `unique`.
    pub(crate) position: Vec<usize>,
    /// For each distinct id, the mean strict violation of its occurrences:
    /// the gradient of its multiplier.
    pub(crate) strict_violation: Vec<f64>,
}

impl Batch {
    fn new(indices: Vec<usize>, strict_violation: &[f64]) -> Self {
        let mut unique = Vec::with_capacity(indices.len());
        let mut seen = HashMap::with_capacity_and_hasher(indices.len(), BuildHasherDefault::<IdHasher>::default());
        let mut sums: Vec<(f64, usize)> = Vec::with_capacity(indices.len());
        let position = indices
            .iter()
            .zip(strict_violation)
            .map(|(id, g)| {
                let k = *seen.entry(*id).or_insert_with(|| {
                    unique.push(*id);
                    sums.push((0.0, 0));
                    unique.len() - 1
                });
                sums[k].0 += g;
                sums[k].1 += 1;
                k
            })
            .collect();
        Self {
            indices,
            unique,
            position,
            strict_violation: sums.iter().map(|(sum, n)| sum / *n as f64).collect(),
        }
    }
}

/// Hashes a sample id with one folded multiplication: the ids are the
/// user's sample indices, not an adversary's keys, and with the default
/// SipHash this function took 23% of `lagrangian_reduced`'s time on a
/// global batch of 256 ids (a profile of a loop calling it).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, id: u64) {
        // The high and low halves of the 128-bit product, folded, so that
        // every bit of the id reaches both the bucket (low bits) and the
        // tag (high bits).
        let product = u128::from(self.0 ^ id) * 0x9E37_79B9_7F4A_7C15;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn write_usize(&mut self, id: usize) {
        self.write_u64(id as u64);
    }
}

impl Observed {
    /// The gradient of the view's multipliers and the ids of its entries.
    pub(crate) fn dual_side(&self) -> (&[f64], Option<&[usize]>) {
        match &self.batch {
            Some(b) => (&b.strict_violation, Some(&b.unique)),
            None => (&self.strict_violation, None),
        }
    }
}

/// Validated measurements, in declaration order.
pub(crate) struct Observation {
    pub(crate) loss: f64,
    pub(crate) constraints: Vec<Observed>,
}

impl Observation {
    /// Where each constraint's view goes back on commit: `None` for a dense
    /// constraint (replaced whole), the distinct ids for an indexed one.
    pub(crate) fn targets(&self) -> Vec<Option<Vec<usize>>> {
        self.constraints
            .iter()
            .map(|o| o.batch.as_ref().map(|b| b.unique.clone()))
            .collect()
    }
}

/// Validates measurements: every constraint measured exactly once, by a
/// known name or id, with the declared number of finite values.
pub(crate) fn observe(constraints: &[Constraint], owner: u64, measurements: Measurements) -> Result<Observation> {
    if !measurements.loss.is_finite() {
        return Err(FeasibleError::NonFiniteLoss {
            value: measurements.loss,
        });
    }
    let mut slots: Vec<Option<Measurement>> = (0..constraints.len()).map(|_| None).collect();
    for (key, measurement) in measurements.constraints {
        let id = match key {
            ConstraintKey::Id(id) if id.owner == owner && id.index < constraints.len() => id.index,
            ConstraintKey::Id(id) => return Err(foreign_id(constraints, id)),
            ConstraintKey::Name(name) => constraints
                .iter()
                .position(|c| c.name() == name)
                .ok_or_else(|| unknown(constraints, &name))?,
        };
        if slots[id].replace(measurement).is_some() {
            return Err(FeasibleError::DuplicateMeasurement {
                constraint: constraints[id].name().to_string(),
            });
        }
    }
    let observed = constraints
        .iter()
        .zip(slots)
        .map(|(c, slot)| {
            let m = slot.ok_or_else(|| FeasibleError::MissingMeasurement {
                constraint: c.name().to_string(),
            })?;
            let expected = check_indices(c, &m)?;
            check_values(c, &m.value, expected, ValueKind::Differentiable)?;
            if let Some(strict) = &m.strict {
                check_values(c, strict, expected, ValueKind::Strict)?;
            }
            // Against each entry's own target: value `k` belongs to entry
            // `k`, or to entry `ids[k]` of an indexed constraint.
            let violations = |values: &[f64]| -> Vec<f64> {
                let entry = |k: usize| m.indices.as_ref().map_or(k, |ids| ids[k]);
                values
                    .iter()
                    .enumerate()
                    .map(|(k, v)| c.violation_of(entry(k), *v))
                    .collect()
            };
            let violation = violations(&m.value);
            let strict_violation = match &m.strict {
                Some(strict) => violations(strict),
                None => violation.clone(),
            };
            Ok(Observed {
                batch: m.indices.map(|ids| Batch::new(ids, &strict_violation)),
                value: m.value,
                strict_value: m.strict,
                violation,
                strict_violation,
                primal: m.primal,
                dual: m.dual,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Observation {
        loss: measurements.loss,
        constraints: observed,
    })
}

/// Checks the sample ids of a measurement against its constraint; returns
/// the number of values expected.
fn check_indices(constraint: &Constraint, m: &Measurement) -> Result<usize> {
    let indexing = |reason| FeasibleError::Indexing {
        constraint: constraint.name().to_string(),
        reason,
    };
    match (&m.indices, constraint.is_indexed()) {
        (None, false) => Ok(constraint.entries()),
        (Some(_), false) => Err(indexing(
            "sample ids were given, but the constraint is not indexed (declare it with `.indexed()`)",
        )),
        (None, true) => Err(indexing(
            "the constraint is indexed: measure it with `Measurement::indexed(ids, values)`",
        )),
        (Some(ids), true) => {
            if ids.len() != m.value.len() {
                return Err(FeasibleError::IdsValuesMismatch {
                    constraint: constraint.name().to_string(),
                    ids: ids.len(),
                    values: m.value.len(),
                    kind: ValueKind::Differentiable,
                });
            }
            match ids.iter().find(|i| **i >= constraint.entries()) {
                Some(index) => Err(FeasibleError::IndexOutOfRange {
                    constraint: constraint.name().to_string(),
                    index: *index,
                    entries: constraint.entries(),
                }),
                None => Ok(ids.len()),
            }
        }
    }
}

fn check_values(constraint: &Constraint, values: &[f64], expected: usize, kind: ValueKind) -> Result<()> {
    if values.len() != expected {
        return Err(FeasibleError::SizeMismatch {
            constraint: constraint.name().to_string(),
            expected,
            got: values.len(),
            kind,
        });
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(entry) => Err(FeasibleError::NonFiniteValue {
            constraint: constraint.name().to_string(),
            entry,
            value: values[entry],
            kind,
        }),
        None => Ok(()),
    }
}

/// The error for a name no constraint has.
pub(crate) fn unknown(constraints: &[Constraint], name: &str) -> FeasibleError {
    FeasibleError::UnknownConstraint {
        name: name.to_string(),
        declared: constraints.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "),
    }
}

/// The error for an id another optimizer issued.
fn foreign_id(constraints: &[Constraint], id: ConstraintId) -> FeasibleError {
    FeasibleError::ForeignConstraintId {
        index: id.index,
        declared: constraints.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_finds_distinct_ids_in_order_whatever_bits_they_share() {
        // Ids alike in their low bits (multiples of 2^20) or their high
        // bits, repeated: the distinct ids in order of first occurrence,
        // each occurrence's position, and the mean violation of each id.
        let big = usize::MAX - 1;
        let ids = vec![0, 1 << 20, 2 << 20, 0, big, 1 << 20, big, 7];
        let violations = [1.0, 2.0, 3.0, 5.0, 0.5, 4.0, 1.5, -1.0];
        let batch = Batch::new(ids, &violations);
        assert_eq!(batch.unique, vec![0, 1 << 20, 2 << 20, big, 7]);
        assert_eq!(batch.position, vec![0, 1, 2, 0, 3, 1, 3, 4]);
        assert_eq!(batch.strict_violation, vec![3.0, 3.0, 3.0, 1.0, -1.0]);
    }
}
