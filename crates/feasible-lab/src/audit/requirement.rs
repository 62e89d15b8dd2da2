//! What a constraint requires of a measured quantity.

/// Which side of the target is feasible.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sense {
    /// `value >= target`.
    AtLeast,
    /// `value <= target`.
    AtMost,
    /// `|value - target| <= tolerance`.
    Within {
        /// The allowed distance to the target (finite, at least 0).
        tolerance: f64,
    },
}

impl Sense {
    /// Whether `value` meets the requirement against `target`.
    pub fn admits(self, value: f64, target: f64) -> bool {
        match self {
            Sense::AtLeast => value >= target,
            Sense::AtMost => value <= target,
            Sense::Within { tolerance } => (value - target).abs() <= tolerance,
        }
    }

    /// `>=`, `<=` or `== ± tolerance` (`== ± 0.05`).
    pub fn symbol(self) -> String {
        match self {
            Sense::AtLeast => ">=".to_string(),
            Sense::AtMost => "<=".to_string(),
            Sense::Within { tolerance } => format!("== ± {tolerance}"),
        }
    }
}

/// A constraint's requirement: its name, the feasible side and the target.
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    /// The constraint's name (`equal_opportunity[female]`, `density`).
    pub constraint: String,
    /// Which side of the target is feasible.
    pub sense: Sense,
    /// The bound.
    pub target: f64,
}

impl Requirement {
    /// `constraint >= target`.
    pub fn at_least(constraint: impl Into<String>, target: f64) -> Self {
        Self {
            constraint: constraint.into(),
            sense: Sense::AtLeast,
            target,
        }
    }

    /// `constraint <= target`.
    pub fn at_most(constraint: impl Into<String>, target: f64) -> Self {
        Self {
            constraint: constraint.into(),
            sense: Sense::AtMost,
            target,
        }
    }

    /// `|constraint - target| <= tolerance`.
    pub fn within(constraint: impl Into<String>, target: f64, tolerance: f64) -> Self {
        Self {
            constraint: constraint.into(),
            sense: Sense::Within { tolerance },
            target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sense_admits_its_side_of_the_target_boundary_included() {
        assert!(
            Sense::AtLeast.admits(0.8, 0.8) && Sense::AtLeast.admits(0.9, 0.8) && !Sense::AtLeast.admits(0.79, 0.8)
        );
        assert!(Sense::AtMost.admits(0.05, 0.05) && !Sense::AtMost.admits(0.06, 0.05));
        let within = Sense::Within { tolerance: 0.25 };
        assert!(
            within.admits(0.25, 0.5)
                && within.admits(0.75, 0.5)
                && !within.admits(0.8, 0.5)
                && !within.admits(0.2, 0.5)
        );
        assert_eq!(within.symbol(), "== ± 0.25");
        assert_eq!(Sense::AtLeast.symbol(), ">=");
        assert_eq!(Sense::AtMost.symbol(), "<=");
    }
}
