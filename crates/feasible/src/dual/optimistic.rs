//! Optimistic gradient ascent (Popov 1980; Daskalakis et al. 2018).
//!
//! ```text
//! λ_{t+1} = λ_t + η (2 e_t - e_{t-1}),   e_{-1} = 0          (then λ ← [λ]_+)
//! ```
//!
//! The correction `e_t - e_{t-1}` anticipates where the violation is going
//! and damps the oscillations of plain ascent. It is nuPI with `K_p = 1,
//! K_i = 1, ν = 0` started from zeros (so the first step is `2 η e_0`, as in
//! optax's `optimistic_gradient_descent`), and, by the equivalence described
//! in [`super::nupi`], the method of multipliers with penalty `c = η`.

use serde::{Deserialize, Serialize};

use super::DualOptimizer;
use crate::error::{Result, check_nonnegative};

/// Optimistic gradient ascent with step size `lr`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Optimistic {
    /// Step size `η >= 0`.
    pub lr: f64,
}

impl Optimistic {
    /// Optimistic ascent with step size `lr`.
    pub fn new(lr: f64) -> Self {
        Self { lr }
    }
}

impl DualOptimizer for Optimistic {
    fn name(&self) -> &'static str {
        "optimistic"
    }

    /// `e_{t-1}` (0 before the first step).
    fn state_fields(&self) -> &'static [&'static str] {
        &["previous"]
    }

    fn validate(&self, owner: &str, _entries: usize) -> Result<()> {
        check_nonnegative(owner, "optimistic step size", self.lr).map(|_| ())
    }

    fn step(&self, _entry: usize, error: f64, state: &mut [f64]) -> f64 {
        let Some(state) = state.first_chunk_mut::<1>() else {
            return f64::NAN;
        };
        let step = self.lr * (2.0 * error - state[0]);
        state[0] = error;
        step
    }
}
