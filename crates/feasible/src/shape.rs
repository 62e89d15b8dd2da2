//! What a formulation needs to know about its constraint: not the
//! constraint itself (its name, target and parser are none of a
//! formulation's business), only its shape.

/// The shape of a constraint, as its formulation sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Names the constraint in errors: ``constraint `rate` ``.
    pub owner: String,
    /// The number of entries.
    pub entries: usize,
    /// Whether it is an inequality (its multipliers are kept `>= 0`).
    pub inequality: bool,
    /// Whether its entries are indexed (measured a batch of ids at a time).
    pub indexed: bool,
}

impl Shape {
    /// The constraint's bare name, for errors that quote it themselves
    /// ([`FeasibleError::InvalidConstraint`](crate::FeasibleError::InvalidConstraint)):
    /// `rate` for the owner ``constraint `rate` ``.
    pub fn constraint_name(&self) -> &str {
        self.owner
            .strip_prefix("constraint `")
            .and_then(|rest| rest.strip_suffix('`'))
            .unwrap_or(&self.owner)
    }
}
