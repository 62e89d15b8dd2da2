//! Declaring a constraint: a name, a sense, a target level in the
//! constraint's own units, a number of entries and a formulation.
//!
//! # Sign convention
//!
//! Users state requirements the way they think of them: `rate >= 0.7`,
//! `density <= 0.5`, `norm == 1`. Internally every constraint is turned into
//! one convention, the *violation*
//!
//! | sense | stated as | violation | satisfied when |
//! |---|---|---|---|
//! | [`Sense::AtMost`] | `value <= target` | `g = value - target` | `g <= 0` |
//! | [`Sense::AtLeast`] | `value >= target` | `g = target - value` | `g <= 0` |
//! | [`Sense::EqualTo`] | `value == target` | `h = value - target` | `h == 0` |
//!
//! so a positive violation always means "not yet satisfied", and the
//! multiplier of an inequality (always `>= 0`) grows while it is violated.
//! Nobody negates anything by hand.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::dual::PerEntry;
use crate::error::{FeasibleError, Result};
use crate::formulation::Formulation;
use crate::shape::Shape;

/// How a constraint's value must relate to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sense {
    /// `value <= target`.
    AtMost,
    /// `value >= target`.
    AtLeast,
    /// `value == target`.
    EqualTo,
}

impl Sense {
    /// `+1` when the violation grows with the value (`<=`, `==`), `-1` when it
    /// shrinks (`>=`): `violation = sign * (value - target)`.
    pub fn sign(self) -> f64 {
        match self {
            Sense::AtMost | Sense::EqualTo => 1.0,
            Sense::AtLeast => -1.0,
        }
    }

    /// Whether this is an inequality (its multiplier is kept `>= 0`).
    pub fn is_inequality(self) -> bool {
        !matches!(self, Sense::EqualTo)
    }

    /// The violation of `value` against `target` (positive: not satisfied).
    pub fn violation(self, value: f64, target: f64) -> f64 {
        self.sign() * (value - target)
    }

    /// The operator as written: `<=`, `>=` or `==`.
    pub fn symbol(self) -> &'static str {
        match self {
            Sense::AtMost => "<=",
            Sense::AtLeast => ">=",
            Sense::EqualTo => "==",
        }
    }
}

/// A handle to a declared constraint, issued by a
/// [`ConstrainedOptimizer`](crate::ConstrainedOptimizer) (cheaper than a
/// name lookup on every step). An id is valid only for the optimizer that
/// issued it: another optimizer refuses it, even one with the same
/// constraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConstraintId {
    pub(crate) index: usize,
    pub(crate) owner: u64,
}

impl ConstraintId {
    /// The position of the constraint in declaration order.
    pub fn index(self) -> usize {
        self.index
    }
}

/// The default feasibility tolerance, see [`Constraint::with_tolerance`].
pub const DEFAULT_TOLERANCE: f64 = 1e-6;

/// A requirement on the model: `name sense target`, with `entries` entries
/// (1 for a scalar constraint) and the formulation that enforces it.
///
/// ```
/// use feasible::{Constraint, Formulation, GradientAscent};
///
/// let rate = Constraint::at_least("class0_rate", 0.7)
///     .with_formulation(Formulation::lagrangian(GradientAscent::new(0.01)));
/// assert_eq!(rate.to_string(), "class0_rate >= 0.7");
///
/// // The same, parsed from text:
/// let parsed: Constraint = "class0_rate >= 0.7".parse().unwrap();
/// assert_eq!(parsed.target(), 0.7);
///
/// // One target per entry: A x = b with a vector b.
/// let ax_b = Constraint::equal_to("Ax", 0.0).with_entries(2).with_targets(vec![1.0, -3.0]);
/// assert_eq!(ax_b.target_of(1), -3.0);
/// ```
#[derive(Clone, Debug)]
pub struct Constraint {
    name: String,
    sense: Sense,
    target: PerEntry,
    entries: usize,
    indexed: bool,
    tolerance: f64,
    formulation: Formulation,
}

impl Constraint {
    /// A constraint with a given sense. Validation happens when the constraint
    /// is added to an optimizer.
    pub fn new(name: impl Into<String>, sense: Sense, target: f64) -> Self {
        Self {
            name: name.into(),
            sense,
            target: PerEntry::Shared(target),
            entries: 1,
            indexed: false,
            tolerance: DEFAULT_TOLERANCE,
            formulation: Formulation::default(),
        }
    }

    /// `value <= target`.
    pub fn at_most(name: impl Into<String>, target: f64) -> Self {
        Self::new(name, Sense::AtMost, target)
    }

    /// `value >= target`.
    pub fn at_least(name: impl Into<String>, target: f64) -> Self {
        Self::new(name, Sense::AtLeast, target)
    }

    /// `value == target`.
    pub fn equal_to(name: impl Into<String>, target: f64) -> Self {
        Self::new(name, Sense::EqualTo, target)
    }

    /// A constraint of `entries` entries (one per group, per layer, ...), all
    /// with the same sense and target. Each entry has its own multiplier.
    pub fn with_entries(mut self, entries: usize) -> Self {
        self.entries = entries;
        self
    }

    /// One target per entry (`A x = b` with a vector `b`); the number of
    /// targets must equal the number of entries (checked at build).
    pub fn with_targets(mut self, targets: impl Into<Vec<f64>>) -> Self {
        self.target = PerEntry::Entries(targets.into());
        self
    }

    /// Makes the entries *indexed*: one multiplier per entry, each entry
    /// identified by an id (a sample's position in the data set, say), and
    /// each step measures only a batch of ids. See [`crate::multiplier`]
    /// for what repeated and never-observed ids do.
    pub fn indexed(mut self) -> Self {
        self.indexed = true;
        self
    }

    /// The formulation enforcing the constraint (default: the Lagrangian with
    /// gradient ascent, dual step size 0.01).
    pub fn with_formulation(mut self, formulation: impl Into<Formulation>) -> Self {
        self.formulation = formulation.into();
        self
    }

    /// How large a strict violation may be while the constraint still counts
    /// as satisfied in reports (default [`DEFAULT_TOLERANCE`] = 1e-6: a rate
    /// of 280/400 computed in f32 is 0.69999999, which must count as 0.7).
    /// For an equality, `|h| <= tolerance`.
    pub fn with_tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The constraint's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sense.
    pub fn sense(&self) -> Sense {
        self.sense
    }

    /// The target level, in the constraint's own units (the first entry's,
    /// if each entry has its own).
    pub fn target(&self) -> f64 {
        self.target.get(0)
    }

    /// The target of entry `entry`.
    pub fn target_of(&self, entry: usize) -> f64 {
        self.target.get(entry)
    }

    /// The targets: one, or one per entry.
    pub fn targets(&self) -> &PerEntry {
        &self.target
    }

    /// What its formulation needs to know about it.
    pub fn shape(&self) -> Shape {
        Shape {
            owner: format!("constraint `{}`", self.name),
            entries: self.entries,
            inequality: self.sense.is_inequality(),
            indexed: self.indexed,
        }
    }

    /// The number of entries.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Whether the entries are indexed (measured a batch of ids at a time).
    pub fn is_indexed(&self) -> bool {
        self.indexed
    }

    /// The feasibility tolerance.
    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    /// The formulation.
    pub fn formulation(&self) -> &Formulation {
        &self.formulation
    }

    /// The violation of `value` against the (first entry's) target
    /// (positive: not satisfied).
    pub fn violation(&self, value: f64) -> f64 {
        self.sense.violation(value, self.target.get(0))
    }

    /// The violation of entry `entry` at `value`.
    pub fn violation_of(&self, entry: usize, value: f64) -> f64 {
        self.sense.violation(value, self.target.get(entry))
    }

    /// Whether a strict violation counts as satisfied.
    pub fn is_satisfied(&self, violation: f64) -> bool {
        if self.sense.is_inequality() {
            violation <= self.tolerance
        } else {
            violation.abs() <= self.tolerance
        }
    }

    /// Checks the declaration: a non-empty name, a finite target, at least
    /// one entry, a finite tolerance `>= 0` and valid formulation
    /// hyperparameters.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: &str| FeasibleError::InvalidConstraint {
            constraint: self.name.clone(),
            reason: reason.to_string(),
        };
        if self.name.trim().is_empty() {
            return Err(invalid("the name is empty"));
        }
        if self.entries == 0 {
            return Err(invalid("it has 0 entries (at least 1 is needed)"));
        }
        let shape = self.shape();
        self.target.validate(
            &shape.owner,
            "target",
            self.entries,
            f64::is_finite,
            "must be a finite number",
        )?;
        crate::error::check_nonnegative(&shape.owner, "tolerance", self.tolerance)?;
        self.formulation.validate(&shape)
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            PerEntry::Shared(t) => write!(f, "{} {} {t}", self.name, self.sense.symbol())?,
            PerEntry::Entries(_) => write!(f, "{} {} (a target per entry)", self.name, self.sense.symbol())?,
        }
        match (self.entries, self.indexed) {
            (_, true) => write!(f, " ({} indexed entries)", self.entries)?,
            (1, false) => {}
            (n, false) => write!(f, " ({n} entries)")?,
        }
        Ok(())
    }
}

impl FromStr for Constraint {
    type Err = FeasibleError;

    /// Parses `name <= target`, `name >= target` or `name == target` (also
    /// `=`), with the default formulation.
    fn from_str(input: &str) -> Result<Self> {
        let err = |reason: &str| FeasibleError::ParseConstraint {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let (at, op, sense) = ["<=", ">=", "=="]
            .iter()
            .zip([Sense::AtMost, Sense::AtLeast, Sense::EqualTo])
            .find_map(|(op, sense)| input.find(op).map(|at| (at, op.len(), sense)))
            .or_else(|| input.find('=').map(|at| (at, 1, Sense::EqualTo)))
            .ok_or_else(|| err("no `<=`, `>=` or `==`"))?;
        let name = input[..at].trim();
        let target_text = input[at + op..].trim();
        if name.is_empty() {
            return Err(err("the name is empty"));
        }
        if name.contains(['<', '>', '=']) || target_text.contains(['<', '>', '=']) {
            return Err(err("more than one comparison"));
        }
        let target: f64 = target_text
            .parse()
            .map_err(|_| err(&format!("the target `{target_text}` is not a number")))?;
        let constraint = Constraint::new(name, sense, target);
        constraint.validate()?;
        Ok(constraint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violation_is_positive_when_unsatisfied_for_every_sense() {
        assert_eq!(Sense::AtLeast.violation(0.6, 0.7), 0.7 - 0.6);
        assert!(Sense::AtLeast.violation(0.8, 0.7) < 0.0);
        assert_eq!(Sense::AtMost.violation(0.6, 0.5), 0.6 - 0.5);
        assert!(Sense::AtMost.violation(0.4, 0.5) < 0.0);
        assert_eq!(Sense::EqualTo.violation(2.0, 1.0), 1.0);
        assert_eq!(Sense::EqualTo.violation(0.0, 1.0), -1.0);
    }

    #[test]
    fn parses_every_operator() {
        let c: Constraint = " density <= 0.5 ".parse().unwrap();
        assert_eq!((c.name(), c.sense(), c.target()), ("density", Sense::AtMost, 0.5));
        let c: Constraint = "rate>=0.7".parse().unwrap();
        assert_eq!((c.name(), c.sense(), c.target()), ("rate", Sense::AtLeast, 0.7));
        let c: Constraint = "norm == 1".parse().unwrap();
        assert_eq!((c.sense(), c.target()), (Sense::EqualTo, 1.0));
        let c: Constraint = "norm = -2e-1".parse().unwrap();
        assert_eq!((c.sense(), c.target()), (Sense::EqualTo, -0.2));
    }

    #[test]
    fn rejects_malformed_specifications_with_the_reason() {
        for (text, reason) in [
            ("rate 0.7", "no `<=`"),
            (">= 0.7", "name is empty"),
            ("rate >= high", "not a number"),
            ("rate >= 0.7 <= 0.9", "more than one"),
            ("rate >= NaN", "must be a finite number"),
        ] {
            let message = text.parse::<Constraint>().unwrap_err().to_string();
            assert!(message.contains(reason), "{text}: {message}");
        }
    }

    #[test]
    fn tolerance_decides_satisfaction() {
        let c = Constraint::at_least("rate", 0.7);
        assert!(c.is_satisfied(c.violation(0.7_f32 as f64)));
        assert!(!c.is_satisfied(c.violation(0.69)));
        let e = Constraint::equal_to("norm", 1.0).with_tolerance(0.1);
        assert!(e.is_satisfied(e.violation(1.05)));
        assert!(!e.is_satisfied(e.violation(0.85)));
    }
}
