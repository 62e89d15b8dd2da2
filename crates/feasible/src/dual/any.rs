//! The built-in dual optimizers as one value, for code that picks one by
//! name or from a configuration file. It is a [`DualOptimizer`] like any
//! other; a user's own optimizer does not need it.

use serde::{Deserialize, Serialize};

use super::{Adam, DualOptimizer, GradientAscent, NuPi, Omega, Optimistic, Pid};
use crate::error::Result;

/// One of the built-in dual optimizers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnyDualOptimizer {
    /// Projected gradient ascent.
    GradientAscent(GradientAscent),
    /// The nuPI controller.
    NuPi(NuPi),
    /// The PID controller.
    Pid(Pid),
    /// Optimistic gradient ascent.
    Optimistic(Optimistic),
    /// Optimistic ascent with an EMA of past gradients.
    Omega(Omega),
    /// Adam in ascent mode.
    Adam(Adam),
}

macro_rules! impl_any {
    ($($variant:ident),*) => {
        $(impl From<$variant> for AnyDualOptimizer {
            fn from(optimizer: $variant) -> Self {
                AnyDualOptimizer::$variant(optimizer)
            }
        })*

        impl AnyDualOptimizer {
            fn inner(&self) -> &dyn DualOptimizer {
                match self {
                    $(AnyDualOptimizer::$variant(o) => o,)*
                }
            }
        }
    };
}

impl_any!(GradientAscent, NuPi, Pid, Optimistic, Omega, Adam);

impl AnyDualOptimizer {
    /// The optimizer's name.
    pub fn name(&self) -> &str {
        self.inner().name()
    }
}

impl DualOptimizer for AnyDualOptimizer {
    fn name(&self) -> &str {
        AnyDualOptimizer::name(self)
    }

    fn state_fields(&self) -> &'static [&'static str] {
        self.inner().state_fields()
    }

    fn validate(&self, owner: &str, entries: usize) -> Result<()> {
        self.inner().validate(owner, entries)
    }

    fn step(&self, entry: usize, gradient: f64, state: &mut [f64]) -> f64 {
        self.inner().step(entry, gradient, state)
    }
}
