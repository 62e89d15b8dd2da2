//! Models shared by the experiments.

pub mod gated_lenet;
pub mod gated_mlp;
pub mod mlp;
pub mod sparse_net;
