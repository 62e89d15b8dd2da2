//! Validation and batching of one step's measurements: every declared
//! constraint measured exactly once, by a known name or by an id of this
//! optimizer, with the declared number of finite values and valid sample
//! ids; violations computed once, per entry, against each entry's target.

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
        let mut table = DistinctIds::with_capacity(indices.len());
        let mut sums: Vec<(f64, usize)> = Vec::with_capacity(indices.len());
        let position = indices
            .iter()
            .zip(strict_violation)
            .map(|(id, g)| {
                let k = table.position(*id, &mut unique);
                if k == sums.len() {
                    sums.push((0.0, 0));
                }
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

/// The distinct ids of one batch: an open-addressing table (linear
/// probing, at most half full) of positions in the list of distinct ids,
/// the slot chosen by Fibonacci hashing (the top bits of the id times
/// 2^64/φ). The ids are the user's sample indices, not an adversary's
/// keys. A `HashMap` under SipHash took 23% of `lagrangian_reduced`'s time
/// on a global batch of 256 ids (a profile); against one with a
/// one-multiplication hasher, this table and gradient ascent's stateless
/// dual step together take 10% of that call's instructions off
/// (BENCHMARKS.md §7).
struct DistinctIds {
    /// `position + 1` of the id in that slot; 0 for an empty slot.
    slots: Vec<usize>,
    /// `64 - log2(slots.len())`.
    shift: u32,
}

impl DistinctIds {
    fn with_capacity(ids: usize) -> Self {
        let len = (2 * ids).next_power_of_two().max(2);
        Self {
            slots: vec![0; len],
            shift: 64 - len.trailing_zeros(),
        }
    }

    /// The position of `id` in `unique`, pushing it there if it is new.
    /// The table holds at most `slots.len() / 2` ids.
    fn position(&mut self, id: usize, unique: &mut Vec<usize>) -> usize {
        let mask = self.slots.len() - 1;
        let mut slot = ((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        loop {
            match self.slots[slot] {
                0 => {
                    unique.push(id);
                    self.slots[slot] = unique.len();
                    return unique.len() - 1;
                }
                p if unique[p - 1] == id => return p - 1,
                _ => slot = (slot + 1) & mask,
            }
        }
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

    #[test]
    fn a_batch_of_many_repeated_ids_matches_a_search_by_hand() {
        // 2,000 ids drawn from 700 values (strides that share bits, and
        // small ones), so that slots collide and probes wrap around; the
        // reference finds each id's first occurrence by a linear search.
        let mut state = 12345u64;
        let ids: Vec<usize> = (0..2000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let k = (state >> 33) as usize % 700;
                if k.is_multiple_of(2) { k << 32 } else { k }
            })
            .collect();
        let violations: Vec<f64> = (0..ids.len()).map(|k| k as f64).collect();
        let batch = Batch::new(ids.clone(), &violations);
        let mut unique: Vec<usize> = Vec::new();
        let mut position = Vec::new();
        for id in &ids {
            match unique.iter().position(|u| u == id) {
                Some(p) => position.push(p),
                None => {
                    unique.push(*id);
                    position.push(unique.len() - 1);
                }
            }
        }
        let mean = |p: usize| {
            let own: Vec<f64> = (0..ids.len())
                .filter(|k| position[*k] == p)
                .map(|k| violations[k])
                .collect();
            own.iter().sum::<f64>() / own.len() as f64
        };
        assert_eq!(batch.unique, unique);
        assert_eq!(batch.position, position);
        assert_eq!(batch.strict_violation, (0..unique.len()).map(mean).collect::<Vec<_>>());
    }
}
