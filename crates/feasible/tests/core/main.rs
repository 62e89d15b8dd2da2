//! The core against known answers: hand-computed steps of every scheme,
//! formulation and dual optimizer, convergence to closed-form KKT points and
//! to an independent solver's solutions of random QPs, the optimism =
//! augmented Lagrangian equivalence as a property test, every error path,
//! exact save and restore, a user's own dual optimizer and penalty updater,
//! bad input, and the contract every formulation keeps under every scheme.
//! One test binary, several modules.

mod augmented;
mod bad_input;
mod common;
mod contract;
mod dual_optimizers;
mod equivalence;
mod features;
mod indexed;
mod proxy_lagrangian;
mod qp;
mod robustness;
mod schemes;
mod selection;
mod user_loop;
mod user_optimizer;
