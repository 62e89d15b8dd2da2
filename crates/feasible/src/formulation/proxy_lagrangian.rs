//! The proxy-Lagrangian formulation with swap-regret multiplier updates
//! (Cotter, Jiang & Sridharan, "Two-player games for efficient non-convex
//! constrained optimization", ALT 2019: Definition 2 and Algorithm 2; TFCO's
//! `ProxyLagrangianOptimizer` with its defaults, `regret_type="swap"`,
//! `update_type="multiplicative"`).
//!
//! For a constraint of `m` entries the multipliers are a distribution
//! `λ = (λ_0, λ_1, ..., λ_m)` over the objective and the entries
//! (`Σ λ = 1`, `λ >= 0`). The two players have different functions:
//!
//! ```text
//! model (minimises):        L_θ(x, λ) = λ_0 f(x) + Σ_i λ_i g̃_i(x)    (g̃: the proxy, differentiable)
//! multipliers (maximise):   L_λ(x, λ) =            Σ_i λ_i g_i(x)    (g: the strict violation)
//! ```
//!
//! so the model descends `λ_0 ∇f + Σ λ_i ∇g̃_i`: the objective's weight
//! [`PrimalWeights::objective_weight`](crate::PrimalWeights::objective_weight)
//! is `λ_0` and each entry's weight is `λ_i`. The objective's own weight is
//! what separates this from the Lagrangian: when the constraints are
//! violated, `λ_0` falls and the step on the objective shrinks with it,
//! instead of the multipliers growing without bound.
//!
//! ## The swap-regret update
//!
//! The multiplier player keeps a column-stochastic `(m+1) × (m+1)` matrix
//! `M` (every column a distribution over the objective and the entries), and
//! `λ` is its stationary distribution, `M λ = λ`. The gradient of `L_λ` with
//! respect to `M` is the outer product `G λᵀ`, `G = (0, g_1, ..., g_m)`. One
//! step, with `η` the step of the dual optimizer (gradient ascent: exactly
//! Algorithm 2's multiplicative update):
//!
//! ```text
//! log M̃_jk = log M_jk + η G_j λ_k                                  (ascent on log M)
//! M_{:,k}  = the KL projection of M̃_{:,k} onto {p : Σ p = 1, p >= ε},  ε = r / (m+1)
//! λ        = the stationary distribution of M
//! ```
//!
//! Any [`DualOptimizer`] can move `log M` (TFCO's notebooks use Adam, the
//! model's optimizer): its state is kept per matrix entry, `(m+1)²` of
//! them. `r` (TFCO's `minimum_multiplier_radius`, default `10⁻³`) keeps
//! every weight at least `ε`. The first matrix puts as much weight as it
//! can on the objective: its row 0 is `1 - r₀ m / (m+1)` and every other
//! entry `r₀ / (m+1)`, so `λ_0 = 1 - r₀ m/(m+1)` and `λ_i = r₀/(m+1)`
//! (`r₀`, TFCO's `initial_multiplier_radius`, defaults to `r`).
//!
//! ## Where it differs from TFCO 0.3, and why
//!
//! | what | feasible | TFCO |
//! |---|---|---|
//! | the stationary distribution | solved exactly (Gaussian elimination on `(M - I) λ = 0`, `Σ λ = 1`) | at most 100 power iterations, stopped at an L2 change of `10⁻⁶` |
//! | the projection | the exact KL projection onto the columns with entries `>= ε`: `p = max(ε, q/Z)`, `Z` such that `Σ p = 1` | normalise, then raise the entries below `ε`: columns sum to up to `1 + m ε` |
//! | the numbers | `f64` | `float32` |
//!
//! ## Limits
//!
//! - At most [`ProxyLagrangian::MAX_ENTRIES`] entries in one game (over all
//!   its constraints): the matrix holds `(m+1)²` numbers and every step
//!   solves an `(m+1) × (m+1)` linear system. A larger game is refused at
//!   build with [`FeasibleError::TooLarge`].
//! - Inequalities only (the weights are a distribution, never negative);
//!   an equality is refused at build, as is an indexed constraint: the
//!   distribution is over every entry, which must be measured at every step.
//! - Every proxy-Lagrangian constraint of an optimizer plays **one game**,
//!   as TFCO's optimizer does for all the constraints of a problem: `m` is
//!   the number of entries of all of them, in declaration order, and they
//!   must share one setting (dual optimizer, radii). The first holds the
//!   matrix. A constraint measured
//!   [`without_dual_update`](crate::Measurement::without_dual_update)
//!   enters that step's gradient with `G = 0`.
//! - Other constraints of the same optimizer keep their own formulations,
//!   and their weights are scaled by `λ_0` with the objective's, so that
//!   they stay relative to it: the model descends
//!   `λ_0 (∇f + Σ_other w ∇g) + Σ λ_i ∇g̃_i`.
//! - The reported Lagrangian is `f + Σ λ_i g_i` (the objective is not scaled
//!   in reports).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::lagrangian::{check_length, non_finite};
use crate::dual::{DualOptimizer, NonFinite, OptimizerState, SharedDualOptimizer, ascend_entries};
use crate::error::{FeasibleError, Result};
use crate::multiplier::Bounds;
use crate::shape::Shape;

/// The proxy-Lagrangian formulation with swap-regret updates, see the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct ProxyLagrangian {
    dual_optimizer: SharedDualOptimizer,
    minimum_radius: f64,
    initial_radius: Option<f64>,
}

/// The dual variables of a proxy-Lagrangian constraint. The first
/// proxy-Lagrangian constraint of an optimizer holds the game's matrix and
/// its dual optimizer state; the others hold only their weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProxyLagrangianState {
    /// `log M`, row-major, `(m+1) × (m+1)`: column `k` is a distribution
    /// over the objective (row 0) and the entries (rows `1..=m`) of every
    /// proxy-Lagrangian constraint, in declaration order. Empty but in the
    /// first such constraint.
    pub log_matrix: Vec<f64>,
    /// `λ_1, ..., λ_m`: the entries' weights.
    pub multipliers: Vec<f64>,
    /// `λ_0`: the objective's weight.
    pub objective_weight: f64,
    /// The dual optimizer's state, one per matrix entry (row-major; none
    /// but in the first proxy-Lagrangian constraint).
    pub dual_optimizer: OptimizerState,
}

impl ProxyLagrangianState {
    /// `(λ_0, this constraint's weights)`: the whole distribution when it
    /// is the optimizer's only proxy-Lagrangian constraint.
    pub fn distribution(&self) -> Vec<f64> {
        std::iter::once(self.objective_weight)
            .chain(self.multipliers.iter().copied())
            .collect()
    }
}

/// How far from 1 a column's or the distribution's sum may be in a
/// restored state.
const SUM_TOLERANCE: f64 = 1e-9;

/// `|sum - 1| <= SUM_TOLERANCE` (false for NaN).
fn sums_to_one(sum: f64) -> bool {
    (sum - 1.0).abs() <= SUM_TOLERANCE
}

/// `m + 1` for a game of `m` entries, if it is at most
/// [`ProxyLagrangian::MAX_ENTRIES`]; otherwise the error naming `m`.
fn game_dimension(m: usize) -> Result<usize> {
    if m <= ProxyLagrangian::MAX_ENTRIES {
        Ok(m + 1)
    } else {
        Err(FeasibleError::TooLarge {
            what: format!(
                "a proxy-Lagrangian game of {m} entries (at most {} are supported: its matrix has (m+1)² numbers)",
                ProxyLagrangian::MAX_ENTRIES
            ),
        })
    }
}

impl ProxyLagrangian {
    /// The most entries one game may have, over all its proxy-Lagrangian
    /// constraints: its matrix then holds `4096²` numbers (128 MiB), and
    /// every step solves a linear system of that size.
    pub const MAX_ENTRIES: usize = 4095;

    /// The proxy-Lagrangian whose matrix `log M` ascends by
    /// `dual_optimizer` ([`GradientAscent`](crate::GradientAscent) with step
    /// `η`: Algorithm 2's multiplicative update), minimum radius `10⁻³`.
    pub fn new(dual_optimizer: impl DualOptimizer) -> Self {
        Self {
            dual_optimizer: Arc::new(dual_optimizer),
            minimum_radius: 1e-3,
            initial_radius: None,
        }
    }

    /// Every weight stays at least `radius / (m+1)`; `radius` in `(0, 1)`
    /// (TFCO's `minimum_multiplier_radius`).
    pub fn with_minimum_radius(mut self, radius: f64) -> Self {
        self.minimum_radius = radius;
        self
    }

    /// Each entry's weight starts at `radius / (m+1)`; `radius` in
    /// `[minimum radius, 1]` (TFCO's `initial_multiplier_radius`; by default
    /// the minimum radius).
    pub fn with_initial_radius(mut self, radius: f64) -> Self {
        self.initial_radius = Some(radius);
        self
    }

    /// The dual optimizer that moves `log M`.
    pub fn dual_optimizer(&self) -> &dyn DualOptimizer {
        &*self.dual_optimizer
    }

    fn initial_radius(&self) -> f64 {
        self.initial_radius.unwrap_or(self.minimum_radius)
    }

    /// `ε`: the smallest weight, for `dimension = m + 1`.
    fn floor(&self, dimension: usize) -> f64 {
        self.minimum_radius / dimension as f64
    }

    pub(crate) fn validate(&self, shape: &Shape) -> Result<()> {
        let invalid = |name, value, requirement| FeasibleError::InvalidHyperparameter {
            owner: shape.owner.clone(),
            name,
            value,
            requirement,
        };
        let refuse = |reason: &str| FeasibleError::InvalidConstraint {
            constraint: shape.constraint_name().to_string(),
            reason: reason.to_string(),
        };
        if !shape.inequality {
            return Err(refuse(
                "the proxy-Lagrangian's weights are a distribution, for inequalities only; this constraint is an equality",
            ));
        }
        if shape.indexed {
            return Err(refuse(
                "the proxy-Lagrangian's distribution covers every entry at every step; an indexed constraint measures a batch of entries",
            ));
        }
        let r = self.minimum_radius;
        if !(r > 0.0 && r < 1.0) {
            return Err(invalid("minimum radius", r, "must be in (0, 1)"));
        }
        let r0 = self.initial_radius();
        if !(r0 >= r && r0 <= 1.0) {
            return Err(invalid("initial radius", r0, "must be in [minimum radius, 1]"));
        }
        let dimension = game_dimension(shape.entries)?;
        self.dual_optimizer.validate(&shape.owner, dimension * dimension)
    }

    /// The state of a constraint that plays the game alone.
    pub(crate) fn init(&self, shape: &Shape) -> Result<ProxyLagrangianState> {
        let mut states = self.init_game(&[shape.entries])?;
        Ok(states.remove(0))
    }

    /// The first states of the proxy-Lagrangian constraints of one
    /// optimizer (`entries`: theirs, in declaration order): the first holds
    /// the game's matrix, every one its own weights. The matrix puts as much
    /// weight as it can on the objective: row 0 is `1 - r₀ m/(m+1)`, every
    /// other entry `r₀/(m+1)`, `m` the entries of all of them.
    pub(crate) fn init_game(&self, entries: &[usize]) -> Result<Vec<ProxyLagrangianState>> {
        let m = entries
            .iter()
            .try_fold(0usize, |sum, n| sum.checked_add(*n))
            .ok_or_else(|| FeasibleError::TooLarge {
                what: format!("a proxy-Lagrangian game of {entries:?} entries"),
            })?;
        let dimension = game_dimension(m)?;
        let r0 = self.initial_radius();
        let share = r0 / dimension as f64;
        let first = 1.0 - share * m as f64;
        let mut log_matrix = Vec::new();
        log_matrix
            .try_reserve_exact(dimension * dimension)
            .map_err(|_| FeasibleError::TooLarge {
                what: format!("a proxy-Lagrangian matrix of {dimension}² numbers"),
            })?;
        log_matrix.resize(dimension * dimension, share.ln());
        log_matrix[..dimension].fill(first.ln());
        let leader = OptimizerState::new(&*self.dual_optimizer, dimension * dimension)?;
        let follower = OptimizerState::new(&*self.dual_optimizer, 0)?;
        let mut log_matrix = Some(log_matrix);
        Ok(entries
            .iter()
            .enumerate()
            .map(|(k, n)| ProxyLagrangianState {
                log_matrix: if k == 0 {
                    log_matrix.take().unwrap_or_default()
                } else {
                    Vec::new()
                },
                multipliers: vec![share; *n],
                objective_weight: first,
                dual_optimizer: if k == 0 { leader.clone() } else { follower.clone() },
            })
            .collect())
    }

    /// Whether one constraint's part of a game fits its shape: its weights;
    /// [`ProxyLagrangian::check_game`] checks the game.
    pub(crate) fn check_fits(&self, state: &ProxyLagrangianState, shape: &Shape) -> std::result::Result<(), String> {
        check_length("multipliers", state.multipliers.len(), shape.entries)
    }

    /// Whether the states of an optimizer's proxy-Lagrangian constraints (in
    /// declaration order) make one game: the first holds a matrix over the
    /// objective and all their entries whose columns are distributions with
    /// every weight at least `ε`, and a dual optimizer state for each of its
    /// numbers; the others hold none; the weights make one distribution with
    /// the same objective weight in each.
    pub(crate) fn check_game(&self, states: &[&ProxyLagrangianState]) -> std::result::Result<(), String> {
        let Some((leader, followers)) = states.split_first() else {
            return Ok(());
        };
        let m: usize = states.iter().map(|s| s.multipliers.len()).sum();
        let dimension = m + 1;
        if leader.log_matrix.len() != dimension * dimension {
            return Err(format!(
                "its proxy-Lagrangian matrix has {} numbers, a game of {m} entries has {}",
                leader.log_matrix.len(),
                dimension * dimension
            ));
        }
        leader
            .dual_optimizer
            .check_fits(&*self.dual_optimizer, dimension * dimension)?;
        for s in followers {
            if !s.log_matrix.is_empty() || !s.dual_optimizer.entries.is_empty() {
                return Err("the proxy-Lagrangian's matrix belongs to its first constraint only".into());
            }
            if s.objective_weight != leader.objective_weight {
                return Err(format!(
                    "its proxy-Lagrangian constraints give the objective different weights ({} and {})",
                    leader.objective_weight, s.objective_weight
                ));
            }
        }
        let floor = self.floor(dimension);
        for k in 0..dimension {
            let column: Vec<f64> = (0..dimension)
                .map(|j| leader.log_matrix[j * dimension + k].exp())
                .collect();
            let sum: f64 = column.iter().sum();
            if !sums_to_one(sum) {
                return Err(format!("its proxy-Lagrangian matrix's column {k} sums to {sum}, not 1"));
            }
            if let Some(j) = column.iter().position(|p| *p < floor * (1.0 - SUM_TOLERANCE)) {
                return Err(format!(
                    "its proxy-Lagrangian matrix's entry ({j}, {k}) is {}, below the minimum weight {floor}",
                    column[j]
                ));
            }
        }
        let distribution = distribution(states);
        let sum: f64 = distribution.iter().sum();
        if distribution.iter().any(|p| p.is_nan() || *p < 0.0) || !sums_to_one(sum) {
            return Err(format!(
                "its proxy-Lagrangian weights {distribution:?} are not a distribution"
            ));
        }
        Ok(())
    }

    /// One swap-regret step of the game (see the [module docs](self)):
    /// `states` are the proxy-Lagrangian constraints' states in declaration
    /// order, `violations` their strict violations concatenated (zero for a
    /// constraint kept out of the step's dual update); `shape` (the first
    /// constraint's) names the game in errors. On error the states may be
    /// half updated: callers work on a copy.
    pub(crate) fn game_update(
        &self,
        states: &mut [&mut ProxyLagrangianState],
        violations: &[f64],
        shape: &Shape,
    ) -> Result<()> {
        let dimension = violations.len() + 1;
        let distribution = distribution(&states.iter().map(|s| &**s).collect::<Vec<_>>());
        // ∂L_λ/∂M_jk = G_j λ_k, G = (0, g).
        let mut gradients = vec![0.0; dimension * dimension];
        for (j, g) in violations.iter().enumerate() {
            for (k, l) in distribution.iter().enumerate() {
                gradients[(j + 1) * dimension + k] = g * l;
            }
        }
        let Some((leader, followers)) = states.split_first_mut() else {
            return Ok(());
        };
        ascend_entries(
            &*self.dual_optimizer,
            None,
            &gradients,
            &mut leader.dual_optimizer.entries,
            &mut leader.log_matrix,
            Bounds::new(false),
        )
        .map_err(|e| non_finite(shape, e))?;
        project_columns(&mut leader.log_matrix, dimension, self.floor(dimension));
        let matrix: Vec<f64> = leader.log_matrix.iter().map(|x| x.exp()).collect();
        let distribution = stationary_distribution(&matrix, dimension).map_err(|e| non_finite(shape, e))?;
        let mut rest = &distribution[1..];
        for s in std::iter::once(&mut **leader).chain(followers.iter_mut().map(|s| &mut **s)) {
            s.objective_weight = distribution[0];
            let (own, next) = rest.split_at(s.multipliers.len());
            s.multipliers.copy_from_slice(own);
            rest = next;
        }
        Ok(())
    }
}

/// `(λ_0, the weights of every state in order)`.
fn distribution(states: &[&ProxyLagrangianState]) -> Vec<f64> {
    let objective = states.first().map_or(1.0, |s| s.objective_weight);
    std::iter::once(objective)
        .chain(states.iter().flat_map(|s| s.multipliers.iter().copied()))
        .collect()
}

/// The KL projection of every column of `exp(log_matrix)` (row-major,
/// `dimension × dimension`) onto `{p : Σ p = 1, p >= floor}`, in place, in
/// log space: `p = max(floor, q / Z)` with the `Z` that makes the column sum
/// to 1 (the entries raised to the floor only grow in number as `Z` grows,
/// so at most `dimension` rounds find it). Needs `dimension · floor < 1`.
pub(crate) fn project_columns(log_matrix: &mut [f64], dimension: usize, floor: f64) {
    let log_floor = floor.ln();
    let mut raised = vec![false; dimension];
    for k in 0..dimension {
        let column = |j: usize| j * dimension + k;
        let top = (0..dimension)
            .map(|j| log_matrix[column(j)])
            .fold(f64::NEG_INFINITY, f64::max);
        raised.fill(false);
        // log Z = log Σ_free q - log(1 - #raised · floor), with q shifted by
        // `top` for the sums.
        let mut log_z;
        loop {
            let free: f64 = (0..dimension)
                .filter(|j| !raised[*j])
                .map(|j| (log_matrix[column(j)] - top).exp())
                .sum();
            let count = raised.iter().filter(|r| **r).count() as f64;
            log_z = top + free.ln() - (1.0 - count * floor).ln();
            let mut changed = false;
            for j in 0..dimension {
                if !raised[j] && log_matrix[column(j)] - log_z < log_floor {
                    raised[j] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for j in 0..dimension {
            let cell = &mut log_matrix[column(j)];
            *cell = if raised[j] { log_floor } else { *cell - log_z };
        }
    }
}

/// The stationary distribution `λ` of a column-stochastic matrix (row-major,
/// `dimension × dimension`, every entry positive): the solution of
/// `(M - I) λ = 0`, `Σ λ = 1`, by Gaussian elimination with partial
/// pivoting (the last equation of `(M - I) λ = 0` replaced by `Σ λ = 1`,
/// since the rows of `M - I` sum to zero).
pub(crate) fn stationary_distribution(matrix: &[f64], dimension: usize) -> std::result::Result<Vec<f64>, NonFinite> {
    let n = dimension;
    let mut a: Vec<f64> = matrix.to_vec();
    for i in 0..n {
        a[i * n + i] -= 1.0;
    }
    a[(n - 1) * n..].fill(1.0);
    let mut b = vec![0.0; n];
    b[n - 1] = 1.0;
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|x, y| a[x * n + col].abs().total_cmp(&a[y * n + col].abs()))
            .unwrap_or(col);
        if pivot != col {
            for c in 0..n {
                a.swap(col * n + c, pivot * n + c);
            }
            b.swap(col, pivot);
        }
        let p = a[col * n + col];
        for row in col + 1..n {
            let factor = a[row * n + col] / p;
            if factor != 0.0 {
                for c in col..n {
                    a[row * n + c] -= factor * a[col * n + c];
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|c| a[row * n + c] * x[c]).sum();
        x[row] = (b[row] - rest) / a[row * n + row];
    }
    // Rounding can leave a weight a hair below zero; the distribution is
    // positive for a positive matrix (Perron-Frobenius).
    for v in &mut x {
        *v = v.max(0.0);
    }
    let sum: f64 = x.iter().sum();
    for (entry, v) in x.iter_mut().enumerate() {
        *v /= sum;
        if !v.is_finite() {
            return Err(NonFinite {
                entry,
                quantity: "multiplier".into(),
                value: *v,
            });
        }
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stationary_distribution_of_a_two_by_two_matrix_is_its_closed_form() {
        // M = [[a, b], [1-a, 1-b]]: λ ∝ (b, 1-a).
        let (a, b) = (0.7, 0.4);
        let l = stationary_distribution(&[a, b, 1.0 - a, 1.0 - b], 2).unwrap();
        let z = b + 1.0 - a;
        assert!(
            (l[0] - b / z).abs() < 1e-15 && (l[1] - (1.0 - a) / z).abs() < 1e-15,
            "{l:?}"
        );
    }

    #[test]
    fn the_stationary_distribution_is_a_fixed_point() {
        // A 3×3 column-stochastic matrix.
        let m = [0.5, 0.2, 0.1, 0.3, 0.6, 0.2, 0.2, 0.2, 0.7];
        let l = stationary_distribution(&m, 3).unwrap();
        for j in 0..3 {
            let ml: f64 = (0..3).map(|k| m[j * 3 + k] * l[k]).sum();
            assert!((ml - l[j]).abs() < 1e-15, "row {j}: {ml} against {}", l[j]);
        }
        assert!((l.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn the_projection_normalises_and_raises_to_the_floor() {
        // Column 0: (2, 1, 1) → (0.5, 0.25, 0.25), nothing below 0.1.
        // Column 1: (1, 0.01, 1) → 0.01/2.01 < 0.1: raised to 0.1, the rest
        // share 0.9 in proportion: (0.45, 0.1, 0.45).
        // Row-major: column 0 = (2, 1, 1), column 1 = (1, 0.01, 1), column
        // 2 = (1, 1, 1).
        let mut log: Vec<f64> = [2.0_f64, 1.0, 1.0, 1.0, 0.01, 1.0, 1.0, 1.0, 1.0]
            .iter()
            .map(|x| x.ln())
            .collect();
        project_columns(&mut log, 3, 0.1);
        let p: Vec<f64> = log.iter().map(|x| x.exp()).collect();
        let expected = [0.5, 0.45, 1.0 / 3.0, 0.25, 0.1, 1.0 / 3.0, 0.25, 0.45, 1.0 / 3.0];
        for (got, want) in p.iter().zip(expected) {
            assert!((got - want).abs() < 1e-15, "{p:?}");
        }
    }
}
