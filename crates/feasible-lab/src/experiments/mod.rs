//! The published experiments the lab reproduces; [`registry`] lists them.

pub mod balancing_act;
pub mod compas;
pub mod concave;
pub mod fairness;
pub mod feasible_learning;
pub mod l0onie;
pub mod rate;
pub mod registry;
pub mod saved;
pub mod sparsity;
pub mod svm;
pub mod tfco;

pub use registry::{EXPERIMENTS, Experiment, Outcome, RunOptions, StepsOption};
