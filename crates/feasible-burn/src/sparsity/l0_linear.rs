//! A linear layer whose weights are gated by L0 hard-concrete gates.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::GatedLayer;
use crate::random::Draw;

/// What one gate switches off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// One gate per input unit, shared by the unit's row of weights
    /// (structured sparsity: a dropped unit removes a whole row, as in
    /// Gallego-Posada et al. 2022).
    Units,
    /// One gate per weight (unstructured sparsity).
    Weights,
}

/// How the gates act in a forward pass.
// The noise tensor is the common case; boxing it would allocate every step.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum GateMode {
    /// Sampled gates, from uniform noise of the gates' shape (training).
    Sample(Tensor<2>),
    /// Deterministic test-time gates (evaluation).
    Deterministic,
}

/// Settings of an [`L0Linear`].
#[derive(Clone, Debug)]
pub struct L0LinearConfig {
    /// Input features.
    pub inputs: usize,
    /// Output features.
    pub outputs: usize,
    /// Gates per unit or per weight.
    pub granularity: Granularity,
    /// The probability that a gate is dropped at the start (0.01: dense).
    pub initial_drop_rate: f64,
    /// The gates' parameters are `θ = log α / scale`. An optimizer whose
    /// step does not depend on the gradient's size (Adam) moves `θ` by about
    /// its step size, so `log α` moves `scale` times faster. Gates start at
    /// `log α = ln 99 ≈ 4.6` and drop below `ln(1/11) ≈ -2.4`: with Adam's
    /// step 1e-3 and scale 1 that takes some 7,000 steps. Default 1.
    pub gate_scale: f64,
    /// Weights start uniform in `±weight_bound`; `None`: `±1/√inputs`
    /// (burn's and PyTorch's `Linear`). Biases always start in `±1/√inputs`.
    pub weight_bound: Option<f64>,
}

impl L0LinearConfig {
    /// A layer `inputs → outputs` with unit gates starting dense (drop rate 0.01).
    pub fn new(inputs: usize, outputs: usize) -> Self {
        Self {
            inputs,
            outputs,
            granularity: Granularity::Units,
            initial_drop_rate: 0.01,
            gate_scale: 1.0,
            weight_bound: None,
        }
    }

    /// With weights initialised uniform in `±bound` (SIREN's layers need
    /// their own bounds).
    pub fn with_weight_bound(mut self, bound: f64) -> Self {
        self.weight_bound = Some(bound);
        self
    }

    /// With the gates' parameters scaled by `scale` (see [`L0LinearConfig::gate_scale`]).
    pub fn with_gate_scale(mut self, scale: f64) -> Self {
        self.gate_scale = scale;
        self
    }

    /// With gates of `granularity`.
    pub fn with_granularity(mut self, granularity: Granularity) -> Self {
        self.granularity = granularity;
        self
    }

    /// With initial drop rate `rate` (in `(0, 1)`).
    pub fn with_initial_drop_rate(mut self, rate: f64) -> Self {
        self.initial_drop_rate = rate;
        self
    }

    /// The shape of the gates: `[inputs, 1]` for units, `[inputs, outputs]` for weights.
    pub fn gate_shape(&self) -> [usize; 2] {
        match self.granularity {
            Granularity::Units => [self.inputs, 1],
            Granularity::Weights => [self.inputs, self.outputs],
        }
    }

    /// The layer, weights and biases uniform in `±1/√inputs` (or weights in
    /// `±weight_bound`) drawn from `rng`, gates at the initial drop rate.
    ///
    /// Refused ([`Error::LayerSetting`](crate::Error::LayerSetting)), with
    /// nothing drawn from `rng`: `inputs` or `outputs` zero, an initial drop
    /// rate outside `(0, 1)`, a gate scale or weight bound that is not a
    /// positive finite number.
    pub fn init<R: rand::Rng + ?Sized>(&self, device: &Device, rng: &mut R) -> crate::Result<L0Linear> {
        super::nonzero(LAYER, "inputs", self.inputs)?;
        super::nonzero(LAYER, "outputs", self.outputs)?;
        if let Some(bound) = self.weight_bound {
            super::positive_finite(LAYER, "weight_bound", bound)?;
        }
        let theta = super::initial_gate(LAYER, self.initial_drop_rate, self.gate_scale)?;
        let bias_bound = 1.0 / (self.inputs as f64).sqrt();
        let weight_bound = self.weight_bound.unwrap_or(bias_bound);
        let mut uniform = |n: usize, bound: f64| -> Vec<f32> {
            (0..n)
                .map(|_| ((2.0 * rng.uniform_open() - 1.0) * bound) as f32)
                .collect()
        };
        let [gi, go] = self.gate_shape();
        Ok(L0Linear {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(
                    uniform(self.inputs * self.outputs, weight_bound),
                    [self.inputs, self.outputs],
                ),
                device,
            )),
            bias: Param::from_tensor(Tensor::from_data(
                TensorData::new(uniform(self.outputs, bias_bound), [self.outputs]),
                device,
            )),
            gate: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![theta; gi * go], [gi, go]),
                device,
            )),
            gate_scale: self.gate_scale,
        })
    }
}

/// The layer's name in errors.
const LAYER: &str = "L0Linear";

/// `y = x (W ⊙ z) + b` with L0 gates `z` on the weights.
#[derive(Module, Debug)]
pub struct L0Linear {
    /// `[inputs, outputs]`.
    pub weight: Param<Tensor<2>>,
    /// `[outputs]`.
    pub bias: Param<Tensor<1>>,
    /// The gates' parameters `θ`, `[inputs, 1]` (units) or `[inputs, outputs]`
    /// (weights); their locations are `log α = gate_scale · θ`.
    pub gate: Param<Tensor<2>>,
    /// See [`L0LinearConfig::gate_scale`].
    #[module(skip)]
    pub gate_scale: f64,
}

impl L0Linear {
    /// `[inputs, outputs]`.
    pub fn shape(&self) -> [usize; 2] {
        self.weight.shape().dims()
    }

    /// The shape of the gates.
    pub fn gate_shape(&self) -> [usize; 2] {
        self.gate.shape().dims()
    }

    /// The gates' locations `log α`.
    pub fn log_alpha(&self) -> Tensor<2> {
        self.gate.val().mul_scalar(self.gate_scale)
    }

    /// How many weights one gate switches.
    fn weights_per_gate(&self) -> usize {
        let [_, outputs] = self.shape();
        if self.gate_shape()[1] == 1 { outputs } else { 1 }
    }

    /// Uniform noise in `(0, 1)` of the gates' shape, from `rng`.
    pub fn noise<R: rand::Rng + ?Sized>(&self, rng: &mut R, device: &Device) -> Tensor<2> {
        let [gi, go] = self.gate_shape();
        let u: Vec<f32> = (0..gi * go).map(|_| rng.uniform_open() as f32).collect();
        Tensor::from_data(TensorData::new(u, [gi, go]), device)
    }

    /// The forward pass without gates, `x W + b` (a dense layer; the gates'
    /// parameters receive no gradient). An input without `inputs` columns
    /// is refused ([`Error::LayerInput`](crate::Error::LayerInput)).
    pub fn forward_ungated(&self, x: Tensor<2>) -> crate::Result<Tensor<2>> {
        let [_, outputs] = self.check_input(&x)?;
        Ok(x.matmul(self.weight.val()) + self.bias.val().reshape([1, outputs]))
    }

    /// The forward pass `[n, inputs] → [n, outputs]`. Refused
    /// ([`Error::LayerInput`](crate::Error::LayerInput)): an input without
    /// `inputs` columns, sampling noise not of the gates' shape.
    pub fn forward(&self, x: Tensor<2>, mode: &GateMode) -> crate::Result<Tensor<2>> {
        let [_, outputs] = self.check_input(&x)?;
        let gates = super::gates(LAYER, self.log_alpha(), mode)?;
        Ok(x.matmul(self.weight.val() * gates) + self.bias.val().reshape([1, outputs]))
    }

    /// The layer's shape, after checking that `x` has `inputs` columns.
    fn check_input(&self, x: &Tensor<2>) -> crate::Result<[usize; 2]> {
        let shape @ [inputs, _] = self.shape();
        let found = x.dims();
        if found[1] == inputs {
            Ok(shape)
        } else {
            Err(crate::Error::LayerInput {
                layer: LAYER,
                what: "input",
                expected: format!("[n, {inputs}]"),
                found: found.to_vec(),
            })
        }
    }
}

impl GatedLayer for L0Linear {
    fn gated_weights(&self) -> usize {
        let [inputs, outputs] = self.shape();
        inputs * outputs
    }

    fn expected_nonzero(&self) -> Tensor<1> {
        super::expected_kept(self.log_alpha(), self.weights_per_gate())
    }

    fn deterministic_nonzero(&self) -> Result<usize, crate::Error> {
        Ok(super::kept_gates(self.log_alpha())? * self.weights_per_gate())
    }
}
