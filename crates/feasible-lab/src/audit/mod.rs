//! Auditing a trained model's constraints: does each requirement hold on
//! held-out data, with statistical confidence, or only on the sample?
//!
//! Each constrained quantity is measured on a split as [`Evidence`]: a
//! [proportion](Evidence::Proportion) (a rate, an accuracy) with its exact
//! Clopper–Pearson interval, a [group's gap](Evidence::GroupGap) to the
//! overall rate with a conservative Bonferroni interval, or an
//! [exact](Evidence::Exact) quantity with no sampling error. [`assess`]
//! compares the value and its interval with a [`Requirement`] and gives a
//! [`Verdict`]:
//!
//! | verdict | when |
//! |---|---|
//! | [`HoldsWithConfidence`](Verdict::HoldsWithConfidence) | the whole interval is on the feasible side of the target |
//! | [`HoldsOnSampleOnly`](Verdict::HoldsOnSampleOnly) | the value is, the interval is not |
//! | [`Violated`](Verdict::Violated) | the value is not |
//!
//! An [`Audit`] collects the entries at one confidence level and writes
//! them as JSON, Markdown or a terminal table.
//!
//! ```
//! use feasible_lab::audit::{Audit, Evidence, Requirement, Verdict};
//!
//! let mut audit = Audit::new(0.95)?;
//! // The female group's TPR minus the overall TPR, at least -0.05.
//! let gap = Evidence::GroupGap { group: (180, 200), rest: (1720, 2000) };
//! audit.push(&Requirement::at_least("equal_opportunity[female]", -0.05), "test", &gap)?;
//! assert_eq!(audit.entries[0].verdict, Verdict::HoldsWithConfidence);
//! println!("{}", audit.to_table());
//! # Ok::<(), feasible_lab::audit::AuditError>(())
//! ```
//!
//! The Beta quantiles behind the intervals are computed here (continued
//! fraction and safeguarded Newton iteration, see the `beta` module), with
//! no statistics dependency.

mod beta;
mod entry;
mod error;
mod evidence;
mod interval;
mod report;
mod requirement;
mod verdict;

pub use entry::{AuditEntry, assess};
pub use error::AuditError;
pub use evidence::{EXCESS_DROP_METHOD, Evidence};
pub use interval::{Estimate, MAX_TRIALS, clopper_pearson, group_gap};
pub use report::Audit;
pub use requirement::{Requirement, Sense};
pub use verdict::Verdict;
