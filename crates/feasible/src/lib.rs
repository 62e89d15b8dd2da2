//! # feasible
//!
//! Train models that *meet their requirements*. A requirement ("at least 70%
//! of predictions in class 0", "at most 50% of weights non-zero") is declared
//! as a [`Constraint`] with a target level in its own units, and `feasible`
//! solves the constrained problem
//!
//! ```text
//! min_x f(x)   subject to   g(x) <= 0,  h(x) = 0
//! ```
//!
//! by learning Lagrange multipliers alongside the model, instead of a fixed
//! penalty whose coefficient someone must guess.
//!
//! This crate is the framework-free core: constraints, formulations,
//! multipliers, dual optimizers and update schemes, with all dual state in
//! plain `f64` memory, serializable with serde. The model side only needs,
//! per constraint entry, a weight `w` such that the direction it descends is
//! `∇f + Σ w ∇g` ([`PrimalWeights`]), so any autodiff works with it; the
//! `feasible-burn` crate does this for burn.
//!
//! ## Signs, once
//!
//! - Constraints are stated as the user thinks of them (`rate >= 0.7`) and
//!   turned into violations `g <= 0` inside ([`constraint`]).
//! - The Lagrangian is `L(x, λ) = f(x) + λ·g(x)`. The model *minimises* it;
//!   the multipliers *maximise* it (`∂L/∂λ = g`): a violated constraint
//!   raises its multiplier, which raises the weight of the constraint in the
//!   model's objective, until the constraint holds. Inequality multipliers
//!   stay `>= 0`. All learning rates are positive; the ascent is built in
//!   ([`dual`]).
//! - A multiplier at the solution is the price of the constraint: how much
//!   the optimal loss would drop per unit the target were relaxed.
//!
//! ## Example: a problem with a known answer
//!
//! `min (x - 2)²  s.t.  x <= 1` has the solution `x* = 1` with multiplier
//! `λ* = 2` (stationarity: `2(x* - 2) + λ* = 0`).
//!
//! ```
//! use feasible::{
//!     Constraint, ConstrainedOptimizer, ConstraintId, Formulation, GradientAscent,
//!     Measurement, Measurements, PrimalProblem, PrimalWeights, UpdateScheme,
//! };
//!
//! /// Gradient descent on x with step size 0.1.
//! struct Quadratic {
//!     constraint: ConstraintId,
//! }
//!
//! impl PrimalProblem for Quadratic {
//!     type Point = f64;
//!     type Error = std::convert::Infallible;
//!
//!     fn measure(&mut self, x: &f64) -> Result<Measurements, Self::Error> {
//!         Ok(Measurements::new((x - 2.0).powi(2)).with("x", Measurement::scalar(*x)))
//!     }
//!
//!     fn descend(&mut self, from: &f64, at: &f64, weights: &PrimalWeights) -> Result<f64, Self::Error> {
//!         // d/dx [f + coef * value] at `at`, with value = x
//!         let coef = weights.value_coefficient(self.constraint).unwrap_or(0.0);
//!         Ok(from - 0.1 * (2.0 * (at - 2.0) + coef))
//!     }
//! }
//!
//! let mut optimizer = ConstrainedOptimizer::builder()
//!     .constraint(
//!         Constraint::at_most("x", 1.0)
//!             .with_formulation(Formulation::lagrangian(GradientAscent::new(0.1))),
//!     )
//!     .scheme(UpdateScheme::Simultaneous)
//!     .build()?;
//!
//! let mut problem = Quadratic { constraint: optimizer.id("x")? };
//! let mut x = 3.0;
//! let mut report = None;
//! for _ in 0..2000 {
//!     let (next, r) = optimizer.step(&mut problem, &x)?;
//!     x = next;
//!     report = Some(r);
//! }
//! let report = report.unwrap();
//! assert!((x - 1.0).abs() < 1e-6);
//! assert!((optimizer.multipliers("x")?.unwrap()[0] - 2.0).abs() < 1e-6);
//! assert!(report.feasible);
//! # Ok::<(), feasible::FeasibleError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod constraint;
pub mod dual;
pub mod error;
pub mod formulation;
pub mod measurement;
pub mod multiplier;
pub mod observation;
pub mod observe;
pub mod optimizer;
pub mod penalty;
pub mod report;
pub mod scheme;
pub mod selection;
pub mod shape;
pub mod state;
pub mod weights;

pub use constraint::{Constraint, ConstraintId, Sense};
pub use dual::{Adam, AnyDualOptimizer, DualOptimizer, GradientAscent, NuPi, Omega, Optimistic, OptimizerState, Pid};
pub use error::{FeasibleError, Result, ValueKind};
pub use formulation::{
    AugmentedDualStep, AugmentedLagrangian, FixedPenalty, Formulation, FormulationState, Lagrangian, ProxyLagrangian,
    QuadraticPenalty,
};
pub use measurement::{Measurement, Measurements};
pub use observe::{Every, History, JsonLinesWriter, Observer, ObserverError};
pub use optimizer::{ConstrainedOptimizer, ConstrainedOptimizerBuilder, PendingStep};
pub use penalty::{Penalty, PenaltyGrowth, PenaltyUpdater};
pub use report::{ConstraintReport, StepReport};
pub use scheme::{PrimalProblem, UpdateScheme};
pub use selection::{Distribution, Snapshot, Snapshots};
pub use state::{ConstraintDualState, DualState};
pub use weights::PrimalWeights;
