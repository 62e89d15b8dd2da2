//! The published experiments the lab reproduces.

pub mod rate;

/// The experiments `feasible reproduce` knows, in the order it runs them.
pub const EXPERIMENTS: &[(&str, &str)] = &[(
    "rate",
    "rate-constrained linear classification (position paper Fig. 2, Tables 4 and 5)",
)];
