//! feasible-burn against known answers. One test binary, several modules.

mod sparsity;
mod trainer;
