//! Implicit multipliers: a model that maps a sample to its multiplier
//! (Narasimhan, Cotter, Zhou, Wang & Guo, "Approximate heavily-constrained
//! learning with Lagrange multiplier models", NeurIPS 2020), for per-sample
//! constraints.
//!
//! An indexed constraint keeps one multiplier per sample, each moving only
//! when its sample is in a batch: with batches of 256 over 60,000 samples, a
//! multiplier moves once per epoch, and a sample never seen keeps its
//! initial value. A multiplier model `λ_θ(x) = softplus(h_θ(x))`, `h` a
//! small network of the sample's features (and label), shares what it
//! learns across samples: every batch moves every sample's multiplier, and
//! a new sample gets one from its features.
//!
//! The game is the Lagrangian's, over `θ` instead of one number per
//! sample: the model descends `Σ_i λ_θ(x_i) ∇g_i` with the multipliers as
//! constants ([`ImplicitMultipliers::multipliers`]), and the multiplier model
//! ascends `mean_i λ_θ(x_i) g_i` by its own burn optimizer
//! ([`ImplicitMultipliers::ascend`]). `softplus` keeps every multiplier
//! positive (inequalities only). Unlike the crate's other dual state, the
//! multiplier model lives in burn: it is a network, trained by backward and
//! an optimizer, in its own autodiff graph, apart from the model's.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softplus;
use burn::tensor::{Tensor, TensorData};

use crate::error::{Error, Result};

/// The network of a multiplier model: one raw output per sample (row of
/// features); the multiplier is its `softplus`.
pub trait MultiplierNet: Module + Clone {
    /// `h(x)` for every row of `features`: `[n]`.
    fn forward(&self, features: Tensor<2>) -> Tensor<1>;
}

/// A multiplier model and the optimizer that trains it by ascent, see the
/// [module docs](self).
pub struct ImplicitMultipliers<N: MultiplierNet> {
    net: N,
    optimizer: ModuleOptimizer,
    lr: f64,
}

impl<N: MultiplierNet> std::fmt::Debug for ImplicitMultipliers<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImplicitMultipliers")
            .field("lr", &self.lr)
            .finish_non_exhaustive()
    }
}

impl<N: MultiplierNet> ImplicitMultipliers<N> {
    /// `net` on an autodiff device, trained by `optimizer` with step `lr`
    /// (finite, `>= 0`).
    pub fn new(net: N, optimizer: impl Into<ModuleOptimizer>, lr: f64) -> Result<Self> {
        Ok(Self {
            net,
            optimizer: optimizer.into(),
            lr: crate::trainer::check_lr(lr)?,
        })
    }

    /// The network.
    pub fn net(&self) -> &N {
        &self.net
    }

    /// `λ(x) = softplus(h(x))` for every row of `features`, on the host: the
    /// constants the model's objective weighs the samples' losses with.
    pub fn multipliers(&self, features: Tensor<2>) -> Result<Vec<f64>> {
        let lambda = softplus(self.net().forward(features), 1.0);
        lambda
            .into_data()
            .try_into_vec_as::<f64>()
            .map_err(|e| Error::Readback {
                reason: format!("{e:?}"),
            })
    }

    /// One step of ascent on `mean_i λ_θ(x_i) g_i`, `g_i` the strict
    /// violation of row `i` of `features`. Refuses, changing nothing,
    /// violations whose count is not the rows' or that are not finite, a
    /// network that returns another count of multipliers or one off the
    /// autodiff graph.
    pub fn ascend(&mut self, features: Tensor<2>, violations: &[f64]) -> Result<()> {
        let rows = features.dims()[0];
        if violations.len() != rows {
            return Err(Error::ImplicitMultipliers {
                reason: format!("{} violations for a batch of {rows} samples", violations.len()),
            });
        }
        if let Some(k) = violations.iter().position(|g| !g.is_finite()) {
            return Err(Error::ImplicitMultipliers {
                reason: format!("the violation of sample {k} is {}", violations[k]),
            });
        }
        if rows == 0 {
            return Ok(());
        }
        let device = features.device();
        let lambda = softplus(self.net.forward(features), 1.0);
        if lambda.dims()[0] != rows {
            return Err(Error::ImplicitMultipliers {
                reason: format!(
                    "the multiplier network returned {} multipliers for a batch of {rows} samples",
                    lambda.dims()[0]
                ),
            });
        }
        if !lambda.is_tracked() {
            return Err(Error::ImplicitMultipliers {
                reason: "the multiplier network's output is not tracked by autodiff: build it on an autodiff \
                         device (e.g. `Device::flex().autodiff()`)"
                    .to_string(),
            });
        }
        let g = Tensor::<1>::from_data(
            TensorData::new(violations.iter().map(|g| *g as f32).collect::<Vec<f32>>(), [rows]),
            (&device, lambda.dtype()),
        );
        // Ascent: descend the negated objective.
        let objective = (lambda * g).mean().neg();
        let gradients = GradientsParams::from_grads(objective.backward(), &self.net);
        // A module clone shares its parameters' storage: cheap.
        self.net = self.optimizer.step(self.lr, self.net.clone(), gradients);
        Ok(())
    }
}
