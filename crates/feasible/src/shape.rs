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
