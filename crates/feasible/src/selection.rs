//! Solution selection: which iterate, or which mixture of iterates, to
//! deploy after a constrained training run.
//!
//! Gradient descent-ascent on a non-convex problem need not converge: the
//! last iterate can oscillate around the feasible set. The iterates taken
//! together do better. Keep [`Snapshots`] of them — each one's objective and
//! constraint violations measured on held-out (validation) data, or on the
//! training data as TFCO's published experiments do — and choose:
//!
//! - [`Snapshots::best_iterate`]: one snapshot, by TFCO's rank heuristic
//!   (Cotter, Jiang & Sridharan 2019, §5.2): rank the snapshots by objective
//!   and by their largest violation, take the one whose worse rank is best,
//!   break ties by objective.
//! - [`Snapshots::best_distribution`]: a probability distribution over at
//!   most `m + 1` snapshots (`m` constraints) that minimises the expected
//!   objective subject to the expected violations being at most the smallest
//!   achievable (zero whenever some mixture is feasible) — a *stochastic
//!   model*: draw a snapshot per prediction. Rates (error, true positive
//!   rate, …) are linear in the mixture, so its expected rates are the
//!   weighted averages of the snapshots' rates (Lemma 3 of the same paper).
//!
//! The distribution is computed with two linear programs, solved exactly by
//! the simplex method ([`microlp`]): first the smallest achievable largest
//! expected violation `t*`, then the best expected objective with every
//! expected violation at most `t*`. TFCO finds `t*` by bisection on repeated
//! feasibility problems and stops at a tolerance; here it is one LP. A
//! vertex of the second LP has at most `m + 1` non-zero probabilities; the
//! support is then reduced again by a Carathéodory step, so the bound holds
//! even where the solver's answer is not a vertex.
//!
//! ```
//! use feasible::selection::Snapshots;
//!
//! // Objective (an error rate) and one violation (g <= 0 is satisfied).
//! let mut snapshots = Snapshots::new(1);
//! snapshots.push(0.10, [0.04])?; // accurate, infeasible
//! snapshots.push(0.30, [-0.04])?; // feasible, worse
//! snapshots.push(0.20, [0.01])?;
//!
//! // No single snapshot both is feasible and has error below 0.30 ...
//! assert_eq!(snapshots.best_iterate()?, 2);
//! // ... but half of the first and half of the second is feasible in
//! // expectation, with expected error 0.20.
//! let mixture = snapshots.best_distribution()?;
//! assert_eq!(mixture.support(), vec![0, 1]);
//! assert!((mixture.objective - 0.20).abs() < 1e-6);
//! assert!(mixture.max_violation() < 1e-6);
//! # Ok::<(), feasible::FeasibleError>(())
//! ```

use microlp::{ComparisonOp, OptimizationDirection, Problem};
use serde::{Deserialize, Serialize};

use crate::error::{FeasibleError, Result};

/// One iterate's objective and constraint violations.
///
/// Violations are in the `g <= 0` form: positive means violated by that
/// much ([`crate::Constraint::violation`] turns a value into one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The objective (e.g. the error rate) at this iterate.
    pub objective: f64,
    /// One violation per constraint.
    pub violations: Vec<f64>,
}

impl Snapshot {
    /// The largest violation, clamped at zero (0 when feasible).
    pub fn max_violation(&self) -> f64 {
        self.violations.iter().fold(0.0, |m, v| m.max(*v))
    }
}

/// The snapshots of one training run, all with the same constraints.
///
/// Deserializing checks every snapshot as [`push`](Self::push) does: a
/// snapshot with the wrong number of violations, or a NaN or infinite value,
/// is refused with an error naming it, so a deserialized `Snapshots` is
/// always usable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSnapshots")]
pub struct Snapshots {
    constraints: usize,
    snapshots: Vec<Snapshot>,
}

/// [`Snapshots`] as read, before [`Snapshots::try_from`] checks it.
#[derive(Deserialize)]
struct RawSnapshots {
    constraints: usize,
    snapshots: Vec<Snapshot>,
}

impl TryFrom<RawSnapshots> for Snapshots {
    type Error = FeasibleError;

    /// Fails with [`FeasibleError::InvalidSnapshot`] naming the first
    /// snapshot that [`Snapshots::push`] would refuse.
    fn try_from(raw: RawSnapshots) -> Result<Self> {
        let mut checked = Snapshots::new(raw.constraints);
        for snapshot in raw.snapshots {
            checked.push(snapshot.objective, snapshot.violations)?;
        }
        Ok(checked)
    }
}

impl Snapshots {
    /// No snapshots yet, for a problem with `constraints` constraints (each
    /// entry of a multi-entry constraint counts as one).
    pub fn new(constraints: usize) -> Self {
        Self {
            constraints,
            snapshots: Vec::new(),
        }
    }

    /// Records a snapshot and returns its index. Fails, recording nothing,
    /// if a value is NaN or infinite or there are not `constraints`
    /// violations.
    pub fn push(&mut self, objective: f64, violations: impl Into<Vec<f64>>) -> Result<usize> {
        let violations = violations.into();
        let index = self.snapshots.len();
        let invalid = |reason: String| FeasibleError::InvalidSnapshot {
            snapshot: index,
            reason,
        };
        if violations.len() != self.constraints {
            return Err(invalid(format!(
                "{} violations, the snapshots have {} constraints",
                violations.len(),
                self.constraints
            )));
        }
        if !objective.is_finite() {
            return Err(invalid(format!("the objective is {objective}, not a finite number")));
        }
        if let Some((j, v)) = violations.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(invalid(format!("violation {j} is {v}, not a finite number")));
        }
        self.snapshots.push(Snapshot { objective, violations });
        Ok(index)
    }

    /// The number of snapshots.
    pub fn len(&self) -> usize {
        self.snapshots.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.snapshots.is_empty()
    }

    /// The number of constraints.
    pub fn constraints(&self) -> usize {
        self.constraints
    }

    /// The snapshots in the order they were pushed.
    pub fn as_slice(&self) -> &[Snapshot] {
        &self.snapshots
    }

    fn require_some(&self) -> Result<()> {
        if self.snapshots.is_empty() {
            Err(FeasibleError::Selection {
                reason: "there are no snapshots to choose from".into(),
            })
        } else {
            Ok(())
        }
    }

    /// The best single snapshot by TFCO's rank heuristic (its defaults:
    /// objectives ranked, constraints collapsed to the largest violation).
    ///
    /// Every snapshot gets two ranks, 1 being best, ties sharing the lowest
    /// rank: one by objective, one by largest violation clamped at zero (so
    /// every feasible snapshot ranks first on it). The snapshot whose worse
    /// rank is lowest wins; among those, the lowest objective, and among
    /// equal objectives the latest snapshot.
    pub fn best_iterate(&self) -> Result<usize> {
        self.require_some()?;
        let objectives: Vec<f64> = self.snapshots.iter().map(|s| s.objective).collect();
        let violations: Vec<f64> = self.snapshots.iter().map(Snapshot::max_violation).collect();
        let (objective_ranks, violation_ranks) = (min_ranks(&objectives), min_ranks(&violations));
        let mut best = 0;
        let mut best_rank = usize::MAX;
        for (i, s) in self.snapshots.iter().enumerate() {
            let rank = objective_ranks[i].max(violation_ranks[i]);
            if rank < best_rank || (rank == best_rank && s.objective <= self.snapshots[best].objective) {
                best = i;
                best_rank = rank;
            }
        }
        Ok(best)
    }

    /// The uniform distribution over every snapshot: the averaged iterate
    /// of the convergence theory (TFCO's "T-stochastic" model). Feasible in
    /// expectation only in the limit; [`best_distribution`](Self::best_distribution)
    /// is usually better.
    pub fn uniform(&self) -> Result<Distribution> {
        self.require_some()?;
        let n = self.snapshots.len();
        Ok(Distribution::from_probabilities(
            &vec![1.0 / n as f64; n],
            &self.snapshots,
        ))
    }

    /// The distribution over at most `m + 1` snapshots with the lowest
    /// expected objective among those whose largest expected violation is
    /// the smallest achievable (see the [module docs](self)).
    pub fn best_distribution(&self) -> Result<Distribution> {
        self.require_some()?;
        let (n, m) = (self.snapshots.len(), self.constraints);
        // Each constraint row is scaled by its largest |g| so that the LP
        // sees coefficients of order one whatever the units.
        let scales: Vec<f64> = (0..m)
            .map(|j| {
                let s = self.snapshots.iter().fold(0.0f64, |s, c| s.max(c.violations[j].abs()));
                if s > 0.0 { s } else { 1.0 }
            })
            .collect();

        // 1. t* = min over distributions of max_j E[g_j], clamped at 0.
        let least_violation = if m == 0 {
            0.0
        } else {
            let mut lp = Problem::new(OptimizationDirection::Minimize);
            let p: Vec<_> = (0..n).map(|_| lp.add_var(0.0, (0.0, f64::INFINITY))).collect();
            let t = lp.add_var(1.0, (0.0, f64::INFINITY));
            for (j, scale) in scales.iter().enumerate() {
                let mut row: Vec<_> = p
                    .iter()
                    .zip(&self.snapshots)
                    .map(|(v, s)| (*v, s.violations[j] / scale))
                    .collect();
                row.push((t, -1.0 / scale));
                lp.add_constraint(row.as_slice(), ComparisonOp::Le, 0.0);
            }
            let ones: Vec<_> = p.iter().map(|v| (*v, 1.0)).collect();
            lp.add_constraint(ones.as_slice(), ComparisonOp::Eq, 1.0);
            let solution = solve(&lp, "the smallest achievable violation")?;
            solution.var_value(t).max(0.0)
        };

        // 2. min E[f] subject to E[g_j] <= t* (plus round-off slack).
        let slack = 1e-9 * scales.iter().fold(1.0f64, |a, s| a.max(*s));
        let bound = least_violation + slack;
        let mut lp = Problem::new(OptimizationDirection::Minimize);
        let p: Vec<_> = self
            .snapshots
            .iter()
            .map(|s| lp.add_var(s.objective, (0.0, f64::INFINITY)))
            .collect();
        for (j, scale) in scales.iter().enumerate() {
            let row: Vec<_> = p
                .iter()
                .zip(&self.snapshots)
                .map(|(v, s)| (*v, s.violations[j] / scale))
                .collect();
            lp.add_constraint(row.as_slice(), ComparisonOp::Le, bound / scale);
        }
        let ones: Vec<_> = p.iter().map(|v| (*v, 1.0)).collect();
        lp.add_constraint(ones.as_slice(), ComparisonOp::Eq, 1.0);
        let solution = solve(&lp, "the best expected objective")?;

        let mut probabilities: Vec<f64> = p.iter().map(|v| solution.var_value(*v).max(0.0)).collect();
        for q in probabilities.iter_mut() {
            if *q < 1e-12 {
                *q = 0.0;
            }
        }
        normalize(&mut probabilities)?;
        reduce_support(&mut probabilities, &self.snapshots, m);
        Ok(Distribution::from_probabilities(&probabilities, &self.snapshots))
    }
}

/// How far from 1 the probabilities of a [`Distribution`] may sum (round-off
/// in a hand-written or re-serialized distribution).
pub const PROBABILITY_SUM_TOLERANCE: f64 = 1e-9;

/// A distribution over snapshots: the stochastic model of
/// [`Snapshots::best_distribution`] or [`Snapshots::uniform`].
///
/// Its invariants (see [`validate`](Self::validate)) are checked on
/// deserialization: a distribution read from a file with unsorted or
/// repeated snapshot indices, a probability that is not a finite number
/// `> 0`, probabilities that do not sum to 1, or a non-finite expectation is
/// refused with [`FeasibleError::InvalidDistribution`]. The fields are
/// public, so a distribution edited by hand can break them; the methods then
/// still do not panic: [`expectation`](Self::expectation) and
/// [`try_sample`](Self::try_sample) return the error, the others are
/// defined below.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawDistribution")]
pub struct Distribution {
    /// `(snapshot index, probability)`, by index, probabilities `> 0`
    /// summing to 1.
    pub weights: Vec<(usize, f64)>,
    /// The expected objective.
    pub objective: f64,
    /// The expected violation of each constraint.
    pub violations: Vec<f64>,
}

/// [`Distribution`] as read, before [`Distribution::try_from`] checks it.
#[derive(Deserialize)]
struct RawDistribution {
    weights: Vec<(usize, f64)>,
    objective: f64,
    violations: Vec<f64>,
}

impl TryFrom<RawDistribution> for Distribution {
    type Error = FeasibleError;

    /// Fails with [`FeasibleError::InvalidDistribution`] where
    /// [`Distribution::validate`] would.
    fn try_from(raw: RawDistribution) -> Result<Self> {
        let distribution = Distribution {
            weights: raw.weights,
            objective: raw.objective,
            violations: raw.violations,
        };
        distribution.validate()?;
        Ok(distribution)
    }
}

impl Distribution {
    fn from_probabilities(probabilities: &[f64], snapshots: &[Snapshot]) -> Self {
        let weights: Vec<(usize, f64)> = probabilities
            .iter()
            .enumerate()
            .filter(|(_, q)| **q > 0.0)
            .map(|(i, q)| (i, *q))
            .collect();
        let m = snapshots.first().map_or(0, |s| s.violations.len());
        let objective = weights.iter().map(|(i, q)| q * snapshots[*i].objective).sum();
        let violations = (0..m)
            .map(|j| weights.iter().map(|(i, q)| q * snapshots[*i].violations[j]).sum())
            .collect();
        Self {
            weights,
            objective,
            violations,
        }
    }

    /// Checks the invariants: at least one weight; snapshot indices strictly
    /// increasing (sorted, each once); every probability a finite number
    /// `> 0`; the probabilities summing to 1 within
    /// [`PROBABILITY_SUM_TOLERANCE`]; the expected objective and violations
    /// finite. Fails with [`FeasibleError::InvalidDistribution`] naming the
    /// first broken one.
    ///
    /// It cannot check that the expectations are those of the snapshots,
    /// which a distribution does not hold.
    pub fn validate(&self) -> Result<()> {
        check_weights(&self.weights)?;
        if !self.objective.is_finite() {
            return Err(FeasibleError::InvalidDistribution {
                reason: format!("the expected objective is {}, not a finite number", self.objective),
            });
        }
        if let Some((j, v)) = self.violations.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(FeasibleError::InvalidDistribution {
                reason: format!("the expected violation of constraint {j} is {v}, not a finite number"),
            });
        }
        Ok(())
    }

    /// The indices of the snapshots with non-zero probability, in the order
    /// of [`weights`](Self::weights).
    pub fn support(&self) -> Vec<usize> {
        self.weights.iter().map(|(i, _)| *i).collect()
    }

    /// The largest expected violation, clamped at zero (NaN entries, which
    /// only a hand-edited distribution can have, are ignored).
    pub fn max_violation(&self) -> f64 {
        self.violations.iter().fold(0.0, |m, v| m.max(*v))
    }

    /// The expectation of a per-snapshot quantity (a test error, one
    /// constraint's test violation): `Σ p_i values[i]`. `values` is indexed
    /// by snapshot, one entry per snapshot (all of them, not only the
    /// support); entries of snapshots outside the support are not read.
    ///
    /// Fails with [`FeasibleError::Selection`] if `values` is too short to
    /// hold an entry for every snapshot of the support or if one of those
    /// entries is NaN or infinite, and with
    /// [`FeasibleError::InvalidDistribution`] if the weights break the
    /// invariants of [`validate`](Self::validate).
    pub fn expectation(&self, values: &[f64]) -> Result<f64> {
        check_weights(&self.weights)?;
        // Sorted by index (just checked), so the last is the largest.
        let last = self.weights.last().map_or(0, |(i, _)| *i);
        if values.len() <= last {
            return Err(FeasibleError::Selection {
                reason: format!(
                    "{} values given, the distribution uses snapshot {last}: give one value per snapshot",
                    values.len()
                ),
            });
        }
        let mut total = 0.0;
        for (i, q) in &self.weights {
            let value = values.get(*i).copied().unwrap_or(f64::NAN);
            if !value.is_finite() {
                return Err(FeasibleError::Selection {
                    reason: format!("the value of snapshot {i} is {value}, not a finite number"),
                });
            }
            total += q * value;
        }
        Ok(total)
    }

    /// The snapshot to use for one prediction, from a uniform draw `u` in
    /// `[0, 1)`: the first snapshot of [`weights`](Self::weights) whose
    /// cumulative probability exceeds `u`.
    ///
    /// Never fails: a `u` below 0 (or NaN) picks the first snapshot of the
    /// support, a `u` of 1 or more the last; a hand-edited distribution with
    /// no weights gives 0. [`try_sample`](Self::try_sample) refuses those
    /// instead.
    pub fn sample(&self, u: f64) -> usize {
        let u = if u.is_nan() { 0.0 } else { u };
        let mut cumulative = 0.0;
        for (i, q) in &self.weights {
            cumulative += q;
            if u < cumulative {
                return *i;
            }
        }
        self.weights.last().map_or(0, |(i, _)| *i)
    }

    /// [`sample`](Self::sample), checked: fails with
    /// [`FeasibleError::InvalidDraw`] if `u` is not in `[0, 1)` (NaN
    /// included) and with [`FeasibleError::InvalidDistribution`] if the
    /// weights break the invariants of [`validate`](Self::validate).
    pub fn try_sample(&self, u: f64) -> Result<usize> {
        if !(0.0..1.0).contains(&u) {
            return Err(FeasibleError::InvalidDraw { value: u });
        }
        check_weights(&self.weights)?;
        Ok(self.sample(u))
    }
}

/// The invariants of [`Distribution::weights`].
fn check_weights(weights: &[(usize, f64)]) -> Result<()> {
    let invalid = |reason: String| FeasibleError::InvalidDistribution { reason };
    if weights.is_empty() {
        return Err(invalid(
            "it has no weights (at least one snapshot must have probability > 0)".into(),
        ));
    }
    let mut previous: Option<usize> = None;
    for (i, q) in weights {
        if !q.is_finite() || *q <= 0.0 {
            return Err(invalid(format!(
                "the probability of snapshot {i} is {q}, not a finite number > 0"
            )));
        }
        if let Some(p) = previous.filter(|p| p >= i) {
            return Err(invalid(format!(
                "snapshot {i} is listed after snapshot {p}: the weights must be sorted by \
                 snapshot index, each index once"
            )));
        }
        previous = Some(*i);
    }
    let total: f64 = weights.iter().map(|(_, q)| q).sum();
    // Every term is finite and > 0, so the total is not NaN (it may be
    // infinite, which this refuses too).
    if (total - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
        return Err(invalid(format!("the probabilities sum to {total}, not 1")));
    }
    Ok(())
}

/// Solves a linear program to optimality (no limits are set, so the solve
/// is never interrupted).
fn solve(lp: &Problem, what: &str) -> Result<microlp::Solution> {
    let failed = |reason: String| FeasibleError::Selection {
        reason: format!("the linear program for {what} failed: {reason}"),
    };
    lp.solve()
        .map_err(|e| failed(e.to_string()))?
        .into_solution()
        .map_err(|_| failed("the solve was interrupted".into()))
}

/// Ranks with ties sharing the lowest rank (`scipy.stats.rankdata(...,
/// method="min")`): 1 + the number of strictly smaller values.
fn min_ranks(values: &[f64]) -> Vec<usize> {
    values
        .iter()
        .map(|v| 1 + values.iter().filter(|w| *w < v).count())
        .collect()
}

fn normalize(probabilities: &mut [f64]) -> Result<()> {
    let total: f64 = probabilities.iter().sum();
    if !(total > 0.5 && total < 1.5) {
        return Err(FeasibleError::Selection {
            reason: format!("the linear program returned probabilities summing to {total}"),
        });
    }
    probabilities.iter_mut().for_each(|q| *q /= total);
    Ok(())
}

/// Carathéodory reduction: while more than `m + 1` snapshots have
/// probability, move along a direction `d` with `Σ d_i = 0` and
/// `Σ d_i g_ij = 0` for every constraint (so the expected violations stay
/// put) that does not raise the expected objective, until a probability
/// reaches zero.
fn reduce_support(probabilities: &mut [f64], snapshots: &[Snapshot], m: usize) {
    loop {
        let support: Vec<usize> = (0..probabilities.len()).filter(|i| probabilities[*i] > 0.0).collect();
        if support.len() <= m + 1 {
            return;
        }
        // m + 2 columns of an (m + 1)-row matrix always have a null vector.
        let columns = &support[..m + 2];
        let matrix: Vec<Vec<f64>> = (0..=m)
            .map(|row| {
                columns
                    .iter()
                    .map(|i| if row < m { snapshots[*i].violations[row] } else { 1.0 })
                    .collect()
            })
            .collect();
        let mut d = null_vector(matrix, m + 2);
        let slope: f64 = columns.iter().zip(&d).map(|(i, di)| di * snapshots[*i].objective).sum();
        if slope > 0.0 {
            d.iter_mut().for_each(|x| *x = -*x);
        }
        // Largest step keeping every probability >= 0; d has a negative
        // entry because its entries sum to zero.
        let (mut step, mut leaving) = (f64::INFINITY, columns[0]);
        for (i, di) in columns.iter().zip(&d) {
            if *di < 0.0 && probabilities[*i] / -di < step {
                step = probabilities[*i] / -di;
                leaving = *i;
            }
        }
        if !step.is_finite() {
            return;
        }
        for (i, di) in columns.iter().zip(&d) {
            probabilities[*i] = (probabilities[*i] + step * di).max(0.0);
        }
        probabilities[leaving] = 0.0;
        let total: f64 = probabilities.iter().sum();
        probabilities.iter_mut().for_each(|q| *q /= total);
    }
}

/// A non-zero vector `d` with `A d = 0` for a matrix with fewer rows than
/// `columns`, by Gauss–Jordan elimination with partial pivoting.
fn null_vector(mut a: Vec<Vec<f64>>, columns: usize) -> Vec<f64> {
    let rows = a.len();
    let scale = a.iter().flatten().fold(0.0f64, |s, x| s.max(x.abs())).max(1.0);
    let tolerance = 1e-12 * scale;
    let mut pivots: Vec<(usize, usize)> = Vec::new(); // (row, column)
    let mut row = 0;
    for col in 0..columns {
        if row == rows {
            break;
        }
        let Some(best) = (row..rows).max_by(|x, y| a[*x][col].abs().total_cmp(&a[*y][col].abs())) else {
            break;
        };
        if a[best][col].abs() <= tolerance {
            continue;
        }
        a.swap(row, best);
        let pivot = a[row][col];
        a[row].iter_mut().for_each(|x| *x /= pivot);
        let pivot_row = a[row].clone();
        for (other, values) in a.iter_mut().enumerate() {
            let factor = values[col];
            if other != row && factor != 0.0 {
                values.iter_mut().zip(&pivot_row).for_each(|(x, p)| *x -= factor * p);
            }
        }
        pivots.push((row, col));
        row += 1;
    }
    // A free column exists because rows < columns.
    let free = (0..columns)
        .find(|c| pivots.iter().all(|(_, pc)| pc != c))
        .unwrap_or(columns - 1);
    let mut d = vec![0.0; columns];
    d[free] = 1.0;
    for (r, c) in pivots {
        d[c] = -a[r][free];
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_ranks_match_scipy_min_method() {
        assert_eq!(min_ranks(&[0.3, 0.1, 0.3, 0.0]), vec![3, 2, 3, 1]);
    }

    #[test]
    fn null_vector_solves_the_system() {
        let a = vec![vec![1.0, 2.0, 3.0], vec![1.0, 1.0, 1.0]];
        let d = null_vector(a.clone(), 3);
        for row in &a {
            let r: f64 = row.iter().zip(&d).map(|(x, y)| x * y).sum();
            assert!(r.abs() < 1e-12, "{d:?}");
        }
        assert!(d.iter().any(|x| x.abs() > 0.5));
    }

    #[test]
    fn reduction_keeps_the_expectations_and_cuts_the_support() {
        // Four snapshots, one constraint: a uniform mixture has support 4.
        let snapshots: Vec<Snapshot> = [(0.1, 0.3), (0.2, 0.1), (0.3, -0.1), (0.4, -0.3)]
            .iter()
            .map(|(f, g)| Snapshot {
                objective: *f,
                violations: vec![*g],
            })
            .collect();
        let mut p = vec![0.25; 4];
        reduce_support(&mut p, &snapshots, 1);
        let support = p.iter().filter(|q| **q > 0.0).count();
        assert!(support <= 2, "{p:?}");
        let g: f64 = p.iter().zip(&snapshots).map(|(q, s)| q * s.violations[0]).sum();
        let f: f64 = p.iter().zip(&snapshots).map(|(q, s)| q * s.objective).sum();
        assert!(g.abs() < 1e-12 && (p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(f <= 0.25 + 1e-12, "objective rose to {f}");
    }
}
