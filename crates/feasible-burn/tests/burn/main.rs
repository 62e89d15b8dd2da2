//! feasible-burn against known answers. One test binary, several modules.

#[cfg(feature = "learner")]
mod learner;
mod rates;
mod sparsity;
mod trainer;
