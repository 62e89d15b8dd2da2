//! Built-in data sets, generated from a seed.

pub mod gaussian_mixture;
pub mod sampling;
