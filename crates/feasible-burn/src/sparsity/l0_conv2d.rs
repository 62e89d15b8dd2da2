//! A 2-D convolution whose output channels are gated by L0 hard-concrete
//! gates (Louizos, Welling & Kingma 2018, §4.1: one gate per feature map).

use burn::module::{Module, Param};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

use super::GatedLayer;
use super::l0_linear::GateMode;
use crate::random::Draw;

/// Settings of an [`L0Conv2d`].
#[derive(Clone, Debug)]
pub struct L0Conv2dConfig {
    /// Input channels.
    pub inputs: usize,
    /// Output channels, one gate each.
    pub outputs: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Zero padding on each side, per spatial dimension (0: "valid").
    pub padding: [usize; 2],
    /// The probability that a gate is dropped at the start (0.01: dense).
    pub initial_drop_rate: f64,
    /// The gates' parameters are `θ = log α / scale`, as in
    /// [`L0LinearConfig::gate_scale`](super::L0LinearConfig::gate_scale).
    pub gate_scale: f64,
}

impl L0Conv2dConfig {
    /// A convolution `inputs → outputs` channels with a `kernel`, stride 1,
    /// no padding, gates starting dense (drop rate 0.01).
    pub fn new(inputs: usize, outputs: usize, kernel: [usize; 2]) -> Self {
        Self {
            inputs,
            outputs,
            kernel,
            padding: [0, 0],
            initial_drop_rate: 0.01,
            gate_scale: 1.0,
        }
    }

    /// With `padding` zeros on each side.
    pub fn with_padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// With the gates' parameters scaled by `scale`.
    pub fn with_gate_scale(mut self, scale: f64) -> Self {
        self.gate_scale = scale;
        self
    }

    /// With initial drop rate `rate` (in `(0, 1)`).
    pub fn with_initial_drop_rate(mut self, rate: f64) -> Self {
        self.initial_drop_rate = rate;
        self
    }

    /// The layer, weights and biases uniform in `±1/√(inputs·kh·kw)` (the
    /// bound of burn's and PyTorch's `Conv2d`) drawn from `rng`, gates at the
    /// initial drop rate.
    ///
    /// Refused ([`Error::LayerSetting`](crate::Error::LayerSetting)), with
    /// nothing drawn from `rng`: a zero number of channels or kernel side,
    /// an initial drop rate outside `(0, 1)`, a gate scale that is not a
    /// positive finite number.
    pub fn init<R: rand::Rng + ?Sized>(&self, device: &Device, rng: &mut R) -> crate::Result<L0Conv2d> {
        let [kh, kw] = self.kernel;
        super::nonzero(LAYER, "inputs", self.inputs)?;
        super::nonzero(LAYER, "outputs", self.outputs)?;
        super::nonzero(LAYER, "kernel height", kh)?;
        super::nonzero(LAYER, "kernel width", kw)?;
        let theta = super::initial_gate(LAYER, self.initial_drop_rate, self.gate_scale)?;
        let fan_in = self.inputs * kh * kw;
        let bound = 1.0 / (fan_in as f64).sqrt();
        let mut uniform = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| ((2.0 * rng.uniform_open() - 1.0) * bound) as f32)
                .collect()
        };
        Ok(L0Conv2d {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(uniform(self.outputs * fan_in), [self.outputs, self.inputs, kh, kw]),
                device,
            )),
            bias: Param::from_tensor(Tensor::from_data(
                TensorData::new(uniform(self.outputs), [self.outputs]),
                device,
            )),
            gate: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![theta; self.outputs], [self.outputs, 1]),
                device,
            )),
            gate_scale: self.gate_scale,
            padding: self.padding,
        })
    }
}

/// The layer's name in errors.
const LAYER: &str = "L0Conv2d";

/// `y_c = z_c (W_c ⋆ x + b_c)` for each output channel `c`, with one L0
/// gate `z_c` per channel: a dropped gate removes the channel's weights and
/// bias, so its feature map is exactly zero.
///
/// Its counts ([`GatedLayer`]) are the filters' weights, `inputs·kh·kw` per
/// gate (biases are not counted, as in [`L0Linear`](super::L0Linear)).
/// Weights of the next layer that read a dropped channel still count as
/// kept: a density over several layers is an upper bound on the weights a
/// pruned network needs.
#[derive(Module, Debug)]
pub struct L0Conv2d {
    /// `[outputs, inputs, kh, kw]`.
    pub weight: Param<Tensor<4>>,
    /// `[outputs]`.
    pub bias: Param<Tensor<1>>,
    /// The gates' parameters `θ`, `[outputs, 1]`; their locations are
    /// `log α = gate_scale · θ`.
    pub gate: Param<Tensor<2>>,
    /// See [`L0Conv2dConfig::gate_scale`].
    #[module(skip)]
    pub gate_scale: f64,
    /// See [`L0Conv2dConfig::padding`].
    #[module(skip)]
    pub padding: [usize; 2],
}

impl L0Conv2d {
    /// `[outputs, inputs, kh, kw]`.
    pub fn shape(&self) -> [usize; 4] {
        self.weight.shape().dims()
    }

    /// The gates' locations `log α`, `[outputs, 1]`.
    pub fn log_alpha(&self) -> Tensor<2> {
        self.gate.val().mul_scalar(self.gate_scale)
    }

    /// How many weights one gate switches: a channel's `inputs·kh·kw`.
    fn weights_per_gate(&self) -> usize {
        let [_, inputs, kh, kw] = self.shape();
        inputs * kh * kw
    }

    /// Uniform noise in `(0, 1)` of the gates' shape, from `rng`.
    pub fn noise<R: rand::Rng + ?Sized>(&self, rng: &mut R, device: &Device) -> Tensor<2> {
        let outputs = self.shape()[0];
        let u: Vec<f32> = (0..outputs).map(|_| rng.uniform_open() as f32).collect();
        Tensor::from_data(TensorData::new(u, [outputs, 1]), device)
    }

    /// The forward pass `[n, inputs, h, w] → [n, outputs, h', w']`. Refused
    /// ([`Error::LayerInput`](crate::Error::LayerInput)): an input without
    /// `inputs` channels or smaller than the kernel (with its padding),
    /// sampling noise not of the gates' shape.
    pub fn forward(&self, x: Tensor<4>, mode: &GateMode) -> crate::Result<Tensor<4>> {
        let [outputs, inputs, kh, kw] = self.shape();
        let [_, channels, h, w] = x.dims();
        let [ph, pw] = self.padding;
        if channels != inputs || h + 2 * ph < kh || w + 2 * pw < kw {
            return Err(crate::Error::LayerInput {
                layer: LAYER,
                what: "input",
                expected: format!(
                    "[n, {inputs}, h, w] with h + {} >= {kh} and w + {} >= {kw}",
                    2 * ph,
                    2 * pw
                ),
                found: x.dims().to_vec(),
            });
        }
        let gates = super::gates(LAYER, self.log_alpha(), mode)?;
        let weight = self.weight.val() * gates.clone().reshape([outputs, 1, 1, 1]);
        let bias = self.bias.val() * gates.reshape([outputs]);
        Ok(conv2d(
            x,
            weight,
            Some(bias),
            ConvOptions::new([1, 1], self.padding, [1, 1], 1),
        ))
    }
}

impl GatedLayer for L0Conv2d {
    fn gated_weights(&self) -> usize {
        self.shape()[0] * self.weights_per_gate()
    }

    fn expected_nonzero(&self) -> Tensor<1> {
        super::expected_kept(self.log_alpha(), self.weights_per_gate())
    }

    fn deterministic_nonzero(&self) -> Result<usize, crate::Error> {
        Ok(super::kept_gates(self.log_alpha())? * self.weights_per_gate())
    }
}
