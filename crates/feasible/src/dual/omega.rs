//! Omega: optimistic ascent whose correction uses an exponential moving
//! average of past gradients (Ramirez, Sukumaran, Bertrand & Gidel 2023),
//! to be less sensitive to noisy (mini-batch) violations.
//!
//! ```text
//! λ_{t+1} = λ_t + η (e_t + γ (e_t - m_{t-1}))                (then λ ← [λ]_+)
//! m_t     = β m_{t-1} + (1 - β) e_t,        m_{-1} = e_0
//! ```
//!
//! With `β = 0` this is optimistic ascent with optimism `γ` (`γ = 1`:
//! [`super::Optimistic`], except for the first step, which here is plain
//! ascent because `m_{-1} = e_0`).

use serde::{Deserialize, Serialize};

use super::DualOptimizer;
use crate::error::{Result, check_nonnegative, check_unit_interval};

/// Omega with step `lr`, optimism `γ` and EMA coefficient `β`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Omega {
    /// Step size `η >= 0`.
    pub lr: f64,
    /// Optimism `γ >= 0`.
    pub optimism: f64,
    /// EMA coefficient `β` in `[0, 1)` (the paper's default is 0.9).
    pub ema: f64,
}

impl Omega {
    /// Omega with step `lr`, optimism 1 and EMA coefficient 0.9.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            optimism: 1.0,
            ema: 0.9,
        }
    }

    /// With optimism `γ`.
    pub fn with_optimism(mut self, optimism: f64) -> Self {
        self.optimism = optimism;
        self
    }

    /// With EMA coefficient `β`.
    pub fn with_ema(mut self, ema: f64) -> Self {
        self.ema = ema;
        self
    }
}

impl DualOptimizer for Omega {
    fn name(&self) -> &'static str {
        "omega"
    }

    /// `m_{t-1}`, and whether the entry has taken a step (0 or 1).
    fn state_fields(&self) -> &'static [&'static str] {
        &["ema", "started"]
    }

    fn validate(&self, owner: &str, _entries: usize) -> Result<()> {
        check_nonnegative(owner, "Omega step size", self.lr)?;
        check_nonnegative(owner, "Omega optimism", self.optimism)?;
        check_unit_interval(owner, "Omega EMA coefficient", self.ema)
    }

    fn step(&self, _entry: usize, error: f64, state: &mut [f64]) -> f64 {
        let Some(state) = state.first_chunk_mut::<2>() else {
            return f64::NAN;
        };
        let previous = if state[1] != 0.0 { state[0] } else { error };
        let step = self.lr * (error + self.optimism * (error - previous));
        state[0] = self.ema * previous + (1.0 - self.ema) * error;
        state[1] = 1.0;
        step
    }
}
