//! Models shared by the experiments.

pub mod mlp;
