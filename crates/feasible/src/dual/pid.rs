//! PID control of the multipliers (Stooke, Achiam & Abbeel 2020, the
//! PID-Lagrangian of OmniSafe), in the incremental form that makes
//! [`NuPi`](super::NuPi) its special case `K_d = 0`.
//!
//! With `e_t` the violation, `ξ` its EMA (coefficient `ν`) and `d` an EMA
//! (coefficient `ν_d`) of the change of `ξ`:
//!
//! ```text
//! ξ_t     = ν ξ_{t-1} + (1 - ν) e_t
//! d_t     = ν_d d_{t-1} + (1 - ν_d) (ξ_t - ξ_{t-1}),        d_{-1} = 0
//! λ_{t+1} = λ_t + η (K_i e_t + K_p (ξ_t - ξ_{t-1})) + η K_d (d_t - d_{t-1})
//! ```
//!
//! (then the projection onto `[0, λ_max]`). Summed over steps, `λ` is the
//! positional controller `K_i Σ e + K_p ξ + K_d d`: integral, proportional
//! and (filtered) derivative terms. The derivative term reacts to the
//! *acceleration* of the violation and damps the overshoot that the
//! integral alone produces. The EMA filters (`ν` on the error, `ν_d` on its
//! derivative) keep mini-batch noise out of the proportional and
//! derivative terms.
//!
//! **Anti-windup.** In this form the multiplier itself is the integrator,
//! and it is projected onto `[0, λ_max]` after every step
//! ([`Lagrangian::with_upper_bound`](crate::formulation::Lagrangian::with_upper_bound)),
//! so the integral cannot wind up past a bound: after a long violated
//! stretch at `λ_max`, the first satisfied step moves the multiplier down
//! at once (OmniSafe clamps its separate integral term for the same
//! purpose). Tested in the crate's tests.
//!
//! With `K_d = 0` the step is computed by the same expression as nuPI's,
//! so the trajectories are identical bit for bit (tested).

use serde::{Deserialize, Serialize};

use super::nupi::{filtered_error, pi_step};
use super::per_entry::{PerEntry, finite_nonnegative};
use super::{DualOptimizer, NuPiStart};
use crate::error::{Result, check_nonnegative, check_unit_interval};

/// The PID controller, see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pid {
    /// Step size `η >= 0`.
    pub lr: f64,
    /// Proportional gain `K_p`, shared or per entry.
    pub kp: PerEntry,
    /// Integral gain `K_i`, shared or per entry.
    pub ki: PerEntry,
    /// Derivative gain `K_d`, shared or per entry.
    pub kd: PerEntry,
    /// EMA coefficient `ν` of the error, in `[0, 1)`.
    pub nu: f64,
    /// EMA coefficient `ν_d` of the derivative, in `[0, 1)`.
    pub nu_d: f64,
    /// How an entry starts (as nuPI's).
    pub start: NuPiStart,
}

impl Pid {
    /// PID with step `lr` and gains `kp`, `ki`, `kd`; no filtering
    /// (`ν = ν_d = 0`), starting from zeros.
    pub fn new(lr: f64, kp: impl Into<PerEntry>, ki: impl Into<PerEntry>, kd: impl Into<PerEntry>) -> Self {
        Self {
            lr,
            kp: kp.into(),
            ki: ki.into(),
            kd: kd.into(),
            nu: 0.0,
            nu_d: 0.0,
            start: NuPiStart::Zeros,
        }
    }

    /// With EMA coefficient `nu` on the error.
    pub fn with_nu(mut self, nu: f64) -> Self {
        self.nu = nu;
        self
    }

    /// With EMA coefficient `nu_d` on the derivative.
    pub fn with_derivative_ema(mut self, nu_d: f64) -> Self {
        self.nu_d = nu_d;
        self
    }

    /// With the start `start`.
    pub fn with_start(mut self, start: NuPiStart) -> Self {
        self.start = start;
        self
    }
}

impl DualOptimizer for Pid {
    fn name(&self) -> &str {
        "pid"
    }

    /// `ξ_{t-1}`, `d_{t-1}`, and whether the entry has taken a step (0 or 1).
    fn state_fields(&self) -> &'static [&'static str] {
        &["xi", "d", "started"]
    }

    fn validate(&self, owner: &str, entries: usize) -> Result<()> {
        check_nonnegative(owner, "PID step size", self.lr)?;
        let requirement = "must be a finite number >= 0";
        self.kp
            .validate(owner, "PID K_p", entries, finite_nonnegative, requirement)?;
        self.ki
            .validate(owner, "PID K_i", entries, finite_nonnegative, requirement)?;
        self.kd
            .validate(owner, "PID K_d", entries, finite_nonnegative, requirement)?;
        check_unit_interval(owner, "PID nu", self.nu)?;
        check_unit_interval(owner, "PID nu_d", self.nu_d)
    }

    fn step(&self, entry: usize, error: f64, state: &mut [f64]) -> f64 {
        let Some(state) = state.first_chunk_mut::<3>() else {
            return f64::NAN;
        };
        let (xi, previous) = filtered_error(self.nu, self.start, state[2] != 0.0, state[0], error);
        let pi = pi_step(self.lr, self.ki.get(entry), self.kp.get(entry), error, xi, previous);
        let kd = self.kd.get(entry);
        let d = self.nu_d * state[1] + (1.0 - self.nu_d) * (xi - previous);
        let derivative = if kd == 0.0 {
            None
        } else {
            Some(self.lr * kd * (d - state[1]))
        };
        state[0] = xi;
        state[1] = d;
        state[2] = 1.0;
        match derivative {
            Some(derivative) => pi + derivative,
            None => pi,
        }
    }
}
