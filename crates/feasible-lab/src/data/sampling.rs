//! Seeded pseudo-random numbers for generated data sets: the generator of
//! `feasible-burn` (see [`feasible_burn::random`]), so that data and gate
//! noise come from one implementation.

pub use feasible_burn::random::{Draw, SplitMix64};
