//! feasible-burn against known answers. One test binary, several modules.

mod distributed;
mod implicit;
#[cfg(feature = "learner")]
mod learner;
mod proxy;
mod rates;
mod sparsity;
mod trainer;
mod user_loop;
