//! nuPI: the PI controller on the multipliers (Sohrabi et al., ICML 2024).
//!
//! With `e_t` the constraint violation (the multiplier's gradient) and
//! `ξ` an exponential moving average of it,
//!
//! ```text
//! ξ_t     = ν ξ_{t-1} + (1 - ν) e_t
//! λ_{t+1} = λ_t + η (K_i e_t + K_p (ξ_t - ξ_{t-1}))          (then λ ← [λ]_+)
//! ```
//!
//! `K_i` is the integral gain (gradient ascent alone is `K_p = 0, K_i = 1,
//! ν = 0`), `K_p` the proportional gain that damps the oscillations of plain
//! ascent (`K_p = 1, K_i = 1, ν = 0` is optimistic ascent). Two ways to
//! start: [`NuPiStart::Zeros`] takes `ξ_{-1} = 0`, so the first step is
//! `η (K_i + (1 - ν) K_p) e_0`; [`NuPiStart::Ascent`] takes `ξ_{-1} = e_0`,
//! so the first step is plain ascent `η K_i e_0`. Each entry starts when it
//! is first updated, so dense and per-entry storage follow the same
//! trajectories (Cooper 1.0.1's "SGD" start does not: its dense and indexed
//! multipliers take different second steps).
//!
//! ## Choosing `K_p`: nuPI is the augmented Lagrangian method
//!
//! For equality constraints, nuPI with `K_i = 1, ν = 0` and step `η` on the
//! Lagrangian, dual step first, produces exactly the primal iterates of
//! gradient descent-ascent on the augmented Lagrangian with penalty
//! coefficient `c = η K_p` (primal step first, dual step `η`), and
//! `λ_t = μ_t + c h(x_t)` (Ramirez & Lacoste-Julien 2025, arXiv 2509.22500;
//! checked by this crate's property tests). So `K_p` is the penalty
//! coefficient measured in dual steps: pick the `c` that makes the augmented
//! Lagrangian locally convex (Nocedal & Wright Thm. 17.5), then
//! `K_p = c / η`. [`NuPi::from_penalty`] does this; `K_p = 1` is the classical
//! method of multipliers, whose dual step equals the penalty (`η = c`).

use serde::{Deserialize, Serialize};

use super::DualOptimizer;
use super::per_entry::{PerEntry, finite_nonnegative};
use crate::error::{Result, check_nonnegative, check_unit_interval};

/// How nuPI starts an entry, see the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NuPiStart {
    /// `ξ_{-1} = 0`: the first step is `η (K_i + (1 - ν) K_p) e_0`.
    #[default]
    Zeros,
    /// `ξ_{-1} = e_0`: the first step is plain ascent `η K_i e_0`.
    Ascent,
}

/// The nuPI controller, see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NuPi {
    /// Step size `η >= 0`.
    pub lr: f64,
    /// Proportional gain `K_p`, shared or per entry.
    pub kp: PerEntry,
    /// Integral gain `K_i`, shared or per entry.
    pub ki: PerEntry,
    /// EMA coefficient `ν` in `[0, 1)`.
    pub nu: f64,
    /// How an entry starts.
    pub start: NuPiStart,
}

impl NuPi {
    /// nuPI with step `lr`, gains `kp`, `ki`, `ν = 0`, starting from zeros.
    pub fn new(lr: f64, kp: impl Into<PerEntry>, ki: impl Into<PerEntry>) -> Self {
        Self {
            lr,
            kp: kp.into(),
            ki: ki.into(),
            nu: 0.0,
            start: NuPiStart::Zeros,
        }
    }

    /// The nuPI equivalent of the augmented Lagrangian method with penalty
    /// coefficient `penalty` and dual step `lr`: `K_i = 1`, `K_p = penalty / lr`,
    /// `ν = 0` (see the [module docs](self)).
    pub fn from_penalty(lr: f64, penalty: f64) -> Self {
        let kp = if lr > 0.0 { penalty / lr } else { f64::NAN };
        Self::new(lr, kp, 1.0)
    }

    /// With EMA coefficient `nu`.
    pub fn with_nu(mut self, nu: f64) -> Self {
        self.nu = nu;
        self
    }

    /// With the start `start`.
    pub fn with_start(mut self, start: NuPiStart) -> Self {
        self.start = start;
        self
    }
}

impl DualOptimizer for NuPi {
    fn name(&self) -> &'static str {
        "nupi"
    }

    /// `ξ_{t-1}`, and whether the entry has taken a step (0 or 1).
    fn state_fields(&self) -> &'static [&'static str] {
        &["xi", "started"]
    }

    fn validate(&self, owner: &str, entries: usize) -> Result<()> {
        check_nonnegative(owner, "nuPI step size", self.lr)?;
        self.kp.validate(
            owner,
            "nuPI K_p",
            entries,
            finite_nonnegative,
            "must be a finite number >= 0",
        )?;
        self.ki.validate(
            owner,
            "nuPI K_i",
            entries,
            finite_nonnegative,
            "must be a finite number >= 0",
        )?;
        check_unit_interval(owner, "nuPI nu", self.nu)
    }

    fn step(&self, entry: usize, error: f64, state: &mut [f64]) -> f64 {
        let Some(state) = state.first_chunk_mut::<2>() else {
            return f64::NAN;
        };
        let (xi, previous) = filtered_error(self.nu, self.start, state[1] != 0.0, state[0], error);
        state[0] = xi;
        state[1] = 1.0;
        pi_step(self.lr, self.ki.get(entry), self.kp.get(entry), error, xi, previous)
    }
}

/// `(ξ_t, ξ_{t-1})`: the EMA `ξ_t = ν ξ_{t-1} + (1 - ν) e_t`, with
/// `ξ_{-1}` from `start` for an entry that has not `started` (`stored` is
/// the entry's `ξ_{t-1}` otherwise).
pub(crate) fn filtered_error(nu: f64, start: NuPiStart, started: bool, stored: f64, error: f64) -> (f64, f64) {
    let previous = match (started, start) {
        (true, _) => stored,
        (false, NuPiStart::Zeros) => 0.0,
        (false, NuPiStart::Ascent) => error,
    };
    (nu * previous + (1.0 - nu) * error, previous)
}

/// The PI step `η (K_i e_t + K_p (ξ_t - ξ_{t-1}))`.
pub(crate) fn pi_step(lr: f64, ki: f64, kp: f64, error: f64, xi: f64, previous: f64) -> f64 {
    lr * (ki * error + kp * (xi - previous))
}
