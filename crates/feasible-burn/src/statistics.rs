//! What one part of a batch (a micro-batch, a device's shard, a node's
//! share) contributes to the dual update, on the host and serializable, so
//! that the parts of a global batch can be combined in one place or across
//! processes and nodes: one dual update from the statistics of the whole
//! batch, applied the same way everywhere.
//!
//! - the loss and a dense constraint's values are taken to be **means** over
//!   the part's samples: a part contributes `samples · value`, and the
//!   combined value is `Σ samples_r · value_r / Σ samples_r` (the mean over
//!   the global batch when `samples` counts the part's samples);
//! - a per-sample (indexed) constraint's ids and values are concatenated,
//!   in rank order.
//!
//! [`ConstraintStatistics::reduce`] sorts the parts by rank before summing,
//! so every worker that reduces the same parts gets the same numbers, bit
//! for bit, whatever order they arrived in.

use serde::{Deserialize, Serialize};

use feasible::{Measurement, Measurements};

use crate::error::{Error, Result};

/// The statistics of one or more parts of a global batch (see the module
/// documentation). Deserializing checks that the parts fit together (as
/// many sample counts as ranks, each count a finite number > 0, ranks
/// ascending without repeats, an indexed constraint's ids, values and
/// per-part lengths adding up), so statistics received from another
/// process are refused with an error rather than trusted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Unchecked")]
pub struct ConstraintStatistics {
    /// The ranks of the parts combined here, ascending.
    pub(crate) ranks: Vec<usize>,
    /// The sample count of each part (parallel to `ranks`).
    pub(crate) samples: Vec<f64>,
    /// `Σ samples_r · loss_r` (`None` for a feasibility problem).
    pub(crate) loss: Option<f64>,
    /// Per measured constraint, in the order of the evaluations.
    pub(crate) constraints: Vec<ConstraintSums>,
}

/// One constraint's share of [`ConstraintStatistics`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstraintSums {
    pub(crate) name: String,
    pub(crate) primal: bool,
    pub(crate) dual: bool,
    pub(crate) sums: Sums,
}

/// The sums of a dense constraint, the concatenation of an indexed one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Sums {
    /// `Σ samples_r · value_r` per entry.
    Dense { value: Vec<f64>, strict: Option<Vec<f64>> },
    /// The ids and values of every part, concatenated in rank order;
    /// `lengths[r]` values came from the `r`-th part.
    Indexed {
        ids: Vec<usize>,
        value: Vec<f64>,
        strict: Option<Vec<f64>>,
        lengths: Vec<usize>,
    },
}

fn mismatch(reason: String) -> Error {
    Error::Statistics { reason }
}

/// [`ConstraintStatistics`] as read, before [`TryFrom`] checks it.
#[derive(Deserialize)]
struct Unchecked {
    ranks: Vec<usize>,
    samples: Vec<f64>,
    loss: Option<f64>,
    constraints: Vec<ConstraintSums>,
}

impl TryFrom<Unchecked> for ConstraintStatistics {
    type Error = Error;

    fn try_from(u: Unchecked) -> Result<Self> {
        if u.ranks.len() != u.samples.len() || u.ranks.is_empty() {
            return Err(mismatch(format!(
                "{} ranks with {} sample counts (one count per rank, at least one)",
                u.ranks.len(),
                u.samples.len()
            )));
        }
        if u.ranks.windows(2).any(|w| w[0] >= w[1]) {
            return Err(mismatch(format!(
                "the ranks {:?} are not ascending without repeats",
                u.ranks
            )));
        }
        for samples in &u.samples {
            Self::check_samples(*samples)?;
        }
        for c in &u.constraints {
            let (values, strict) = match &c.sums {
                Sums::Dense { value, strict } => (value.len(), strict.as_ref().map(Vec::len)),
                Sums::Indexed {
                    ids,
                    value,
                    strict,
                    lengths,
                } => {
                    if lengths.len() != u.ranks.len() || lengths.iter().sum::<usize>() != value.len() {
                        return Err(mismatch(format!(
                            "constraint `{}`: per-part lengths {lengths:?} do not add up to its {} values over {} parts",
                            c.name,
                            value.len(),
                            u.ranks.len()
                        )));
                    }
                    if ids.len() != value.len() {
                        return Err(mismatch(format!(
                            "constraint `{}`: {} ids with {} values",
                            c.name,
                            ids.len(),
                            value.len()
                        )));
                    }
                    (value.len(), strict.as_ref().map(Vec::len))
                }
            };
            if let Some(n) = strict.filter(|n| *n != values) {
                return Err(mismatch(format!(
                    "constraint `{}`: {n} strict values with {values} values",
                    c.name
                )));
            }
        }
        Ok(ConstraintStatistics {
            ranks: u.ranks,
            samples: u.samples,
            loss: u.loss,
            constraints: u.constraints,
        })
    }
}

impl ConstraintStatistics {
    /// Checks a part's sample count.
    pub(crate) fn check_samples(samples: f64) -> Result<f64> {
        if samples.is_finite() && samples > 0.0 {
            Ok(samples)
        } else {
            Err(mismatch(format!(
                "a part's sample count must be a finite number > 0, got {samples}"
            )))
        }
    }

    /// The ranks of the parts combined here, ascending.
    pub fn ranks(&self) -> &[usize] {
        &self.ranks
    }

    /// The total sample count (the weight of the combined means).
    pub fn samples(&self) -> f64 {
        self.samples.iter().sum()
    }

    /// The names of the constraints measured, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.constraints.iter().map(|c| c.name.as_str())
    }

    /// The combined measurements of the global batch: the loss and dense
    /// values as sample-weighted means, per-sample values concatenated.
    pub fn to_measurements(&self) -> Measurements {
        let total = self.samples();
        let mut measurements = Measurements::new(self.loss.map_or(0.0, |sum| sum / total));
        for c in &self.constraints {
            let mut m = match &c.sums {
                Sums::Dense { value, strict } => {
                    let m = Measurement::entries(value.iter().map(|v| v / total).collect::<Vec<_>>());
                    match strict {
                        Some(strict) => m.with_strict(strict.iter().map(|v| v / total).collect::<Vec<_>>()),
                        None => m,
                    }
                }
                Sums::Indexed { ids, value, strict, .. } => {
                    let m = Measurement::indexed(ids.clone(), value.clone());
                    match strict {
                        Some(strict) => m.with_strict(strict.clone()),
                        None => m,
                    }
                }
            };
            if !c.primal {
                m = m.without_primal_update();
            }
            if !c.dual {
                m = m.without_dual_update();
            }
            measurements.insert(c.name.clone(), m);
        }
        measurements
    }

    /// Combines the statistics of several parts (one per worker, say) into
    /// those of their global batch. The parts are summed in the order of
    /// their ranks, so the result does not depend on the order they are
    /// given in: every worker that reduces the same parts gets the same
    /// numbers. Every part must measure the same constraints, with the
    /// same flags and sizes, and no rank may appear twice.
    pub fn reduce<'a>(parts: impl IntoIterator<Item = &'a ConstraintStatistics>) -> Result<ConstraintStatistics> {
        let mut parts: Vec<&ConstraintStatistics> = parts.into_iter().collect();
        parts.sort_by_key(|p| p.ranks.first().copied().unwrap_or(usize::MAX));
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return Err(mismatch("there are no parts to reduce".to_string()));
        };
        let mut combined = first.clone();
        for part in parts {
            combined.append(part)?;
        }
        Ok(combined)
    }

    /// Appends the part `other`, whose ranks all follow this one's.
    fn append(&mut self, other: &ConstraintStatistics) -> Result<()> {
        if let (Some(last), Some(next)) = (self.ranks.last(), other.ranks.first())
            && next <= last
        {
            return Err(mismatch(format!("rank {next} appears in two parts (or out of order)")));
        }
        if self.constraints.len() != other.constraints.len() {
            return Err(mismatch(format!(
                "one part measures {} constraints, another {}",
                self.constraints.len(),
                other.constraints.len()
            )));
        }
        let loss = match (self.loss, other.loss) {
            (Some(a), Some(b)) => Some(a + b),
            (None, None) => None,
            _ => {
                return Err(mismatch(
                    "one part has a loss and another has none (a feasibility problem)".to_string(),
                ));
            }
        };
        // Check everything before changing anything.
        let mut pairs = Vec::with_capacity(self.constraints.len());
        for (k, mine) in self.constraints.iter().enumerate() {
            let theirs = other
                .constraints
                .iter()
                .find(|c| c.name == mine.name)
                .ok_or_else(|| mismatch(format!("constraint `{}` is missing from a part", mine.name)))?;
            if (mine.primal, mine.dual) != (theirs.primal, theirs.dual) {
                return Err(mismatch(format!(
                    "constraint `{}`: the parts disagree on whether it takes part in the primal or the dual update",
                    mine.name
                )));
            }
            let fits = match (&mine.sums, &theirs.sums) {
                (Sums::Dense { value: a, strict: sa }, Sums::Dense { value: b, strict: sb }) => {
                    a.len() == b.len() && sa.as_ref().map(Vec::len) == sb.as_ref().map(Vec::len)
                }
                (Sums::Indexed { strict: sa, .. }, Sums::Indexed { strict: sb, .. }) => sa.is_some() == sb.is_some(),
                _ => false,
            };
            if !fits {
                return Err(mismatch(format!(
                    "constraint `{}`: the parts' values differ in kind or size (dense against per-sample, \
                     other entries, a strict value in one part only)",
                    mine.name
                )));
            }
            pairs.push((k, theirs));
        }
        for (k, theirs) in pairs {
            match (&mut self.constraints[k].sums, &theirs.sums) {
                (Sums::Dense { value, strict }, Sums::Dense { value: v, strict: s }) => {
                    value.iter_mut().zip(v).for_each(|(a, b)| *a += b);
                    if let (Some(strict), Some(s)) = (strict, s) {
                        strict.iter_mut().zip(s).for_each(|(a, b)| *a += b);
                    }
                }
                (
                    Sums::Indexed {
                        ids,
                        value,
                        strict,
                        lengths,
                    },
                    Sums::Indexed {
                        ids: i,
                        value: v,
                        strict: s,
                        lengths: l,
                    },
                ) => {
                    ids.extend_from_slice(i);
                    value.extend_from_slice(v);
                    if let (Some(strict), Some(s)) = (strict, s) {
                        strict.extend_from_slice(s);
                    }
                    lengths.extend_from_slice(l);
                }
                _ => unreachable!("checked above"),
            }
        }
        self.loss = loss;
        self.ranks.extend_from_slice(&other.ranks);
        self.samples.extend_from_slice(&other.samples);
        Ok(())
    }

    /// Where the part of rank `rank` sits: its share of the global batch
    /// (`samples_r / Σ samples`) and, per constraint (by name), the offset
    /// of its values among an indexed constraint's.
    pub(crate) fn locate(&self, rank: usize) -> Result<(f64, usize)> {
        let position = self
            .ranks
            .iter()
            .position(|r| *r == rank)
            .ok_or_else(|| mismatch(format!("the part of rank {rank} is not among the reduced parts")))?;
        let samples = self
            .samples
            .get(position)
            .ok_or_else(|| mismatch(format!("the part of rank {rank} has no sample count")))?;
        Ok((samples / self.samples(), position))
    }

    /// The offset of the `position`-th part's values of the indexed
    /// constraint `name` (`None` for a dense or unmeasured constraint).
    pub(crate) fn offset(&self, name: &str, position: usize) -> Option<usize> {
        self.constraints
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| match &c.sums {
                Sums::Indexed { lengths, .. } => Some(lengths.iter().take(position).sum()),
                Sums::Dense { .. } => None,
            })
    }
}
