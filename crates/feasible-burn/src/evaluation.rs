//! What a model evaluation gives the trainer: the loss and each constraint's
//! values, as burn tensors.

use burn::tensor::Tensor;
use feasible::ConstraintId;

/// How an evaluation names a constraint.
#[derive(Clone, Debug)]
pub(crate) enum Key {
    Name(String),
    Id(ConstraintId),
}

/// The strict value of a constraint: a tensor (read back with the other
/// values, in the same transaction) or values already on the host.
// The tensor is the common case; boxing it would cost an allocation per step.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub(crate) enum Strict {
    Tensor(Tensor<1>),
    Host(Vec<f64>),
}

/// One constraint's values in one evaluation.
///
/// `value` is the differentiable value in the constraint's units, shape
/// `[entries]` (a scalar is shape `[1]`, as `.mean()` gives): the model's
/// gradient flows through it. `strict` is the requirement as stated, often
/// not differentiable (a 0/1 rate): it drives the multipliers. See
/// [`feasible::measurement`].
#[derive(Clone, Debug)]
pub struct ConstraintTensors {
    pub(crate) value: Tensor<1>,
    pub(crate) strict: Option<Strict>,
    pub(crate) indices: Option<Vec<usize>>,
    pub(crate) primal: bool,
    pub(crate) dual: bool,
}

impl ConstraintTensors {
    /// The differentiable value.
    pub fn new(value: Tensor<1>) -> Self {
        Self {
            value,
            strict: None,
            indices: None,
            primal: true,
            dual: true,
        }
    }

    /// For an indexed (per-sample) constraint: the ids of the batch's
    /// samples, one per value (`value[k]` belongs to sample `ids[k]`). Each
    /// sample's multiplier then weighs its own value in the objective.
    pub fn with_indices(mut self, ids: impl Into<Vec<usize>>) -> Self {
        self.indices = Some(ids.into());
        self
    }

    /// The strict value as a tensor (computed without autodiff, e.g. on
    /// `logits.without_autodiff()`).
    pub fn with_strict(mut self, strict: Tensor<1>) -> Self {
        self.strict = Some(Strict::Tensor(strict));
        self
    }

    /// The strict value, already on the host.
    pub fn with_strict_values(mut self, strict: impl Into<Vec<f64>>) -> Self {
        self.strict = Some(Strict::Host(strict.into()));
        self
    }

    /// The differentiable value.
    pub fn value(&self) -> &Tensor<1> {
        &self.value
    }

    /// The strict values, if they were given on the host
    /// ([`with_strict_values`](Self::with_strict_values)).
    pub fn strict_values(&self) -> Option<&[f64]> {
        match &self.strict {
            Some(Strict::Host(values)) => Some(values),
            _ => None,
        }
    }

    /// Keeps the constraint out of this step's primal update.
    pub fn without_primal_update(mut self) -> Self {
        self.primal = false;
        self
    }

    /// Keeps the constraint out of this step's dual update.
    pub fn without_dual_update(mut self) -> Self {
        self.dual = false;
        self
    }
}

/// The loss and every constraint's tensors at one point.
///
/// ```no_run
/// # use burn::tensor::Tensor;
/// # fn demo(loss: Tensor<1>, proxy_rate: Tensor<1>, true_rate: Tensor<1>) {
/// use feasible_burn::{ConstraintTensors, Evaluation};
/// let evaluation = Evaluation::new(loss)
///     .with("class0_rate", ConstraintTensors::new(proxy_rate).with_strict(true_rate));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// `None` for a feasibility problem (no objective besides the constraints).
    pub(crate) loss: Option<Tensor<1>>,
    pub(crate) constraints: Vec<(Key, ConstraintTensors)>,
}

impl Evaluation {
    /// An evaluation with the loss (one element, on an autodiff device).
    pub fn new(loss: Tensor<1>) -> Self {
        Self {
            loss: Some(loss),
            constraints: Vec::new(),
        }
    }

    /// An evaluation of a *feasibility problem*: no objective, only the
    /// constraints (Feasible Learning: every sample's loss below a bound).
    /// The model descends `Σ w ∇g` alone (the reported loss is 0); while
    /// every weight is zero there is nothing to descend and it stays put.
    pub fn feasibility() -> Self {
        Self {
            loss: None,
            constraints: Vec::new(),
        }
    }

    /// Adds the constraint called `name`.
    pub fn with(mut self, name: impl Into<String>, constraint: ConstraintTensors) -> Self {
        self.constraints.push((Key::Name(name.into()), constraint));
        self
    }

    /// Adds the constraint `id` (skips the name lookup).
    pub fn with_id(mut self, id: ConstraintId, constraint: ConstraintTensors) -> Self {
        self.constraints.push((Key::Id(id), constraint));
        self
    }
}
