//! The core against known answers: hand-computed steps of every scheme,
//! formulation and dual optimizer, convergence to closed-form KKT points and
//! to an independent solver's solutions of random QPs, the optimism =
//! augmented Lagrangian equivalence as a property test, every error path,
//! exact save and restore. One test binary, several modules.

mod augmented;
mod common;
mod dual_optimizers;
mod equivalence;
mod indexed;
mod qp;
mod robustness;
mod schemes;
mod selection;
