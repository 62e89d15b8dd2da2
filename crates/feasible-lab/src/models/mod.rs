//! Models shared by the experiments.

pub mod gated_mlp;
pub mod mlp;
