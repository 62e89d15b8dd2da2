//! # feasible-burn
//!
//! Constrained training of [burn](https://burn.dev) modules with
//! [`feasible`]. The model and its primal optimizer live in burn; the
//! constraints, multipliers and dual optimizer state live in plain `f64`
//! memory in the [`feasible::ConstrainedOptimizer`], never in burn's
//! autodiff graph.
//!
//! Each step: evaluate the model (the loss and each constraint's
//! differentiable value, optionally a strict value), hand the tensors to
//! [`ConstrainedTrainer::step`], get the updated model and a
//! [`feasible::StepReport`] back.
//!
//! ```
//! use burn::module::Module;
//! use burn::nn::{Initializer, Linear, LinearConfig};
//! use burn::optim::SgdConfig;
//! use burn::tensor::{activation::sigmoid, Device, Tensor};
//! use feasible::{Constraint, ConstrainedOptimizer, Formulation, GradientAscent};
//! use feasible_burn::{ConstrainedTrainer, ConstraintTensors, Evaluation};
//!
//! #[derive(Module, Debug)]
//! struct Model {
//!     linear: Linear,
//! }
//!
//! let device = Device::flex().autodiff();
//! let x = Tensor::<2>::from_floats([[1.0, 0.5], [-1.0, 0.2], [0.3, -1.0], [-0.4, -0.8]], &device);
//! let mut model = Model {
//!     linear: LinearConfig::new(2, 1).with_initializer(Initializer::Zeros).init(&device),
//! };
//!
//! // Require: at least 70% of the predicted probabilities below one half.
//! let dual = ConstrainedOptimizer::builder()
//!     .constraint(
//!         Constraint::at_least("class0_rate", 0.7)
//!             .with_formulation(Formulation::lagrangian(GradientAscent::new(0.05))),
//!     )
//!     .build()?;
//! let mut trainer = ConstrainedTrainer::new(dual, SgdConfig::new().init(), 0.1)?;
//!
//! for _ in 0..100 {
//!     let logits = model.linear.forward(x.clone());
//!     let loss = logits.clone().powf_scalar(2.0).mean(); // any task loss
//!     let proxy = sigmoid(logits.clone().neg()).mean(); // differentiable rate
//!     let rate = logits.without_autodiff().lower_elem(0.0).float().mean(); // true rate
//!     let evaluation = Evaluation::new(loss)
//!         .with("class0_rate", ConstraintTensors::new(proxy).with_strict(rate));
//!     let (next, report) = trainer.step(model, evaluation)?;
//!     model = next;
//!     assert!(report.constraints[0].multipliers.as_ref().unwrap()[0] >= 0.0);
//! }
//! # Ok::<(), feasible_burn::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod compute_pool;
pub mod constraints;
pub mod distributed;
pub mod error;
pub mod evaluation;
pub mod fairness;
pub mod implicit;
#[cfg(feature = "learner")]
pub mod learner;
pub mod random;
pub mod rates;
pub mod sparsity;
pub mod statistics;
pub mod trainer;

pub use constraints::{Constraints, Part, Pending};
pub use error::{Error, Result};
pub use evaluation::{ConstraintTensors, Evaluation};
pub use statistics::ConstraintStatistics;
pub use trainer::{ConstrainedTrainer, StepError};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
