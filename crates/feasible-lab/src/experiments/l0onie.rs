//! L0onie (Ramirez, Gallego-Posada et al., Sparsity in Neural Networks
//! workshop 2022): compress an implicit neural representation under a
//! constraint on its stored size.
//!
//! COIN (Dupont et al. 2021) stores an image as the weights of a small
//! sine-activated MLP (a SIREN: `(x, y) ↦ (r, g, b)`), each weight in 16
//! bits; its size in bits per pixel is `16 × parameters / pixels`. To hit a
//! size, COIN picks a small enough architecture. L0onie trains a *wider*
//! SIREN with L0 gates on every weight under the constraint that its stored
//! size be at most COIN's, and compares the pictures.
//!
//! The stored size of the pruned network counts 16 bits per kept parameter
//! *and* the mask (which weights are kept), in a stated encoding
//! ([`mask_bits`]): the number kept, `k`, in `⌈log2(n + 1)⌉` bits, then the
//! rank of the kept set among the `C(n, k)` sets of `k` of the `n` gated
//! weights (enumerative coding, in their order: layer by layer, row-major)
//! in `⌈log2 C(n, k)⌉` bits. [`kept_weight_budget`] finds the largest `k`
//! whose parameters and mask fit in COIN's bits; the constraint is
//! `density <= k / n`.
//!
//! Setup, chosen here: the astronaut photograph (NASA, public domain, from
//! the scikit-image wheel) shrunk by block averaging to 128x128 (`--quick`:
//! 64x64); SIRENs with 3 hidden layers, ω0 = 30 and SIREN's initialisation;
//! COIN width 28 (1,795 parameters), L0onie width 30 (2,043 parameters, its
//! 1,950 weights gated; the best of widths 29, 30, 32 and 36 over three
//! seeds on the astronaut and Chelsea, December 1: the mask shrinks faster
//! than the kept weights; `--full` compares the earlier default,
//! [`WIDER_WIDTH`]); Adam with step 1e-3, full batch of all pixels, 3,000
//! steps (`--quick`: 2,000). The
//! constraint: gradient ascent (step 0.001) with dual restarts; gate scale
//! 20. From the first step of the last quarter at which the constraint
//! holds, the weights are fine-tuned with the deterministic gates (the mask
//! fixed): sampled gates perturb every weight multiplicatively, and a sine
//! network with ω0 = 30 fits poorly under that noise (without the
//! fine-tuning the gated network stayed 4 dB below COIN in our runs). At
//! that point the deterministic gates keep at most the budget, usually
//! less; the dropped gates closest to open are opened until the budget is
//! used (`fill_to_budget`), since the fine-tuning can only close gates.
//! The small dual step lets the multiplier rise slowly, so the network
//! prunes gradually while it fits; stop 21's dynamics ([`EARLIER_DYNAMICS`]:
//! dual step 0.01, gate scale 10, fine-tuning the last half) ended 0.2–0.7
//! dB lower in `--full`'s first seed (0.5–1.9 dB at width 36). A third row, the
//! wide network without gates, shows the quality its larger size buys.
//! `--full` runs on three photographs (the astronaut, and the central
//! 256x256 of Chelsea the cat and of a cup of coffee, the last one not
//! used to choose the width) at two sizes ([`FULL_SIDES`]): COIN and L0onie
//! with three seeds ([`FULL_SEEDS`]), and with the first seed L0onie at
//! width [`WIDER_WIDTH`], with [`EARLIER_DYNAMICS`], and a control whose
//! constraint ignores the mask (`l0onie_mask_free`: COIN's parameter
//! count), each against COIN on the same picture with the same seed.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::{Bool, Device, Tensor, TensorData};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::random::SplitMix64;
use feasible_burn::sparsity::{self, GateMode, GatedLayer, Granularity, L0Linear, L0LinearConfig, hard_concrete};
use feasible_burn::{ConstrainedTrainer, ConstraintTensors, Evaluation};
use serde::{Deserialize, Serialize};

use super::registry::{Experiment, Outcome, RunOptions, StepsOption};
use super::saved::{self, CONFIDENCE, SavedModel, SavedRun};
use crate::audit::{Audit, Evidence, Requirement};
use crate::data::image::Image;
use crate::data::sets::DataSet;
use crate::device::DeviceSpec;

/// The constraint's name.
pub const CONSTRAINT: &str = "density";

/// The wider L0onie width of the `--full` sweep: the default until
/// December 1 (a larger mask: about 2,760 bits against 1,280 at width 30).
pub const WIDER_WIDTH: usize = 36;

/// The seeds of COIN and L0onie in the `--full` sweep.
pub const FULL_SEEDS: [u64; 3] = [0, 1, 2];

/// The constrained training's dynamics of stop 21 (`--full` compares):
/// dual step 0.01, gate scale 10, fine-tuning the last half of the steps.
pub const EARLIER_DYNAMICS: Dynamics = Dynamics {
    dual_lr: 0.01,
    gate_scale: 10.0,
    finetune_fraction: 0.5,
};

/// The image sides of the `--full` sweep.
pub const FULL_SIDES: [usize; 2] = [64, 128];

/// `--full` also trains COIN and L0onie (first seed, default width) with
/// this many times the steps on the 64x64 pictures.
pub const LONG_STEPS_FACTOR: usize = 4;

/// A photograph of scikit-image's data (the PyPI wheel
/// `scikit-image==0.24.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Photo {
    /// The astronaut Eileen Collins (NASA, public domain), 512x512.
    Astronaut,
    /// Chelsea the cat (CC0), 451x300: its central 256x256.
    Chelsea,
    /// A cup of coffee (Rachel Michetti, CC0), 600x400: its central
    /// 256x256.
    Coffee,
}

impl Photo {
    /// All three, in the order of the sweep.
    pub const ALL: [Photo; 3] = [Photo::Astronaut, Photo::Chelsea, Photo::Coffee];

    /// Its name in tables and run names.
    pub fn id(self) -> &'static str {
        self.data_set().id()
    }

    /// The data set that holds it.
    pub fn data_set(self) -> DataSet {
        match self {
            Photo::Astronaut => DataSet::Astronaut,
            Photo::Chelsea => DataSet::Chelsea,
            Photo::Coffee => DataSet::Coffee,
        }
    }

    /// The side of the central square the experiment starts from.
    pub fn square(self) -> usize {
        match self {
            Photo::Astronaut => 512,
            Photo::Chelsea | Photo::Coffee => 256,
        }
    }

    /// The central square, shrunk by block averaging to `side x side`
    /// (`side` must divide [`Photo::square`]).
    pub fn read(self, side: usize) -> anyhow::Result<Image> {
        let square = self.square();
        anyhow::ensure!(
            side > 0 && square.is_multiple_of(side),
            "an image side of {side} does not divide {square}, the side of the photograph's square"
        );
        let path = self.data_set().location();
        let photo = Image::read_png(&path)?.center_crop(square);
        anyhow::ensure!(
            photo.width == square && photo.height == square,
            "{} is {}x{}, smaller than the {square}x{square} square the experiment needs",
            path.display(),
            photo.width,
            photo.height
        );
        Ok(photo.shrink(square / side))
    }
}

/// The settings.
#[derive(Clone, Debug, Serialize)]
pub struct L0onieConfig {
    /// The photograph.
    pub photo: Photo,
    /// The side, in pixels, it is shrunk to.
    pub side: usize,
    /// Hidden layers of both networks.
    pub hidden_layers: usize,
    /// COIN's width.
    pub small_width: usize,
    /// L0onie's width.
    pub wide_width: usize,
    /// SIREN's frequency ω0.
    pub omega: f64,
    /// Adam's step.
    pub lr: f64,
    /// Full-batch steps.
    pub steps: usize,
    /// The constrained training's dynamics.
    pub dynamics: Dynamics,
    /// Seed of the initialisation and the gate noise.
    pub seed: u64,
    /// The device it computes on (`--device`; flex, the CPU, by default).
    pub device: DeviceSpec,
}

impl L0onieConfig {
    /// The full run: 128x128.
    pub fn full() -> Self {
        Self {
            device: DeviceSpec::Flex,
            photo: Photo::Astronaut,
            side: 128,
            hidden_layers: 3,
            small_width: 28,
            wide_width: 30,
            omega: 30.0,
            lr: 1e-3,
            steps: 3000,
            dynamics: Dynamics {
                dual_lr: 0.001,
                gate_scale: 20.0,
                finetune_fraction: 0.75,
            },
            seed: 0,
        }
    }

    /// `--quick`: 64x64, 2,000 steps.
    pub fn quick() -> Self {
        Self {
            side: 64,
            steps: 2000,
            ..Self::full()
        }
    }

    fn widths(&self, width: usize) -> Vec<usize> {
        std::iter::once(2)
            .chain(std::iter::repeat_n(width, self.hidden_layers))
            .chain(std::iter::once(3))
            .collect()
    }
}

/// How the gated network is trained under its constraint.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dynamics {
    /// Gradient ascent's step on the multiplier.
    pub dual_lr: f64,
    /// The gates' parameter scale (`log α = scale · θ`).
    pub gate_scale: f64,
    /// The last fraction of the steps trains the weights with the
    /// deterministic gates (the mask fixed, the constraint's updates off),
    /// from the first step of that part at which the constraint holds.
    pub finetune_fraction: f64,
}

/// A SIREN on L0-gated layers: `sin(ω0 (x W + b))` for every layer but the
/// last, which is linear.
#[derive(Module, Debug)]
pub struct Siren {
    layers: Vec<L0Linear>,
    #[module(skip)]
    omega: f64,
}

impl Siren {
    fn new(
        widths: &[usize],
        config: &L0onieConfig,
        device: &Device,
        rng: &mut SplitMix64,
    ) -> feasible_burn::Result<Self> {
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                // SIREN's initialisation: U(±1/fan_in) for the first layer,
                // U(±√(6/fan_in)/ω0) for the others.
                let bound = if i == 0 {
                    1.0 / w[0] as f64
                } else {
                    (6.0 / w[0] as f64).sqrt() / config.omega
                };
                L0LinearConfig::new(w[0], w[1])
                    .with_granularity(Granularity::Weights)
                    .with_gate_scale(config.dynamics.gate_scale)
                    .with_weight_bound(bound)
                    .init(device, rng)
            })
            .collect::<feasible_burn::Result<_>>()?;
        Ok(Self {
            layers,
            omega: config.omega,
        })
    }

    /// `None`: without gates (a dense network).
    fn forward(&self, x: Tensor<2>, modes: Option<&[GateMode]>) -> feasible_burn::Result<Tensor<2>> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().try_fold(x, |h, (i, layer)| {
            let z = match modes {
                Some(modes) => layer.forward(h, &modes[i])?,
                None => layer.forward_ungated(h)?,
            };
            Ok(if i < last { z.mul_scalar(self.omega).sin() } else { z })
        })
    }

    fn weights(&self) -> usize {
        self.layers.iter().map(L0Linear::gated_weights).sum()
    }

    fn biases(&self) -> usize {
        self.layers.iter().map(|l| l.shape()[1]).sum()
    }
}

/// Which network a training fits (written in JSON by its [`Method::id`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// COIN: the small dense network, at `small_width`.
    Coin,
    /// L0onie: the wide gated network, constrained to COIN's stored size
    /// (its kept weights and their mask).
    L0onie,
    /// The same, constrained to COIN's number of parameters with the mask
    /// not counted (`--full`'s control).
    L0onieMaskFree,
    /// The wide network without gates.
    WideDense,
}

impl Method {
    /// Its name in tables, JSON and run names.
    pub fn id(self) -> &'static str {
        match self {
            Method::Coin => "coin",
            Method::L0onie => "l0onie",
            Method::L0onieMaskFree => "l0onie_mask_free",
            Method::WideDense => "wide_dense",
        }
    }

    /// Whether its weights are gated (and constrained).
    pub fn gated(self) -> bool {
        matches!(self, Method::L0onie | Method::L0onieMaskFree)
    }
}

impl Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// One network's result.
#[derive(Clone, Debug, Serialize)]
pub struct L0onieRow {
    /// Always `l0onie`.
    pub experiment: &'static str,
    /// The photograph.
    pub photo: Photo,
    /// The network (in JSON: `coin`, `l0onie`, `l0onie_mask_free`,
    /// `wide_dense`).
    pub method: Method,
    /// Hidden width.
    pub width: usize,
    /// Seed of the initialisation and the gate noise.
    pub seed: u64,
    /// The constrained training's dynamics (gated networks only).
    pub dynamics: Option<Dynamics>,
    /// Peak signal-to-noise ratio, dB, of the reconstruction (deterministic
    /// gates for L0onie).
    pub psnr: f64,
    /// PSNR minus COIN's on the same picture with the same steps and seed
    /// (not for COIN itself).
    pub vs_coin_db: Option<f64>,
    /// Stored size, bits: 16 per kept parameter, plus the mask
    /// ([`mask_bits`], L0onie only).
    pub bits: usize,
    /// Of them, the mask's.
    pub mask_bits: usize,
    /// Whether `bits` is at most COIN's (always for COIN; for L0onie,
    /// whether the constraint held at the end: a run too short to reach it
    /// ends above).
    pub within_coin_size: bool,
    /// Stored size per pixel.
    pub bpp: f64,
    /// Parameters kept.
    pub parameters: usize,
    /// Parameters of the network before pruning.
    pub parameters_total: usize,
    /// Image side in pixels.
    pub side: usize,
    /// Training steps.
    pub steps: usize,
    /// Training time, seconds.
    pub seconds: f64,
    /// The gated network (L0onie only; not in the JSON rows: saved by
    /// `--models`).
    #[serde(skip)]
    pub model: Option<Siren>,
}

fn grid(image: &Image, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let (w, h) = (image.width, image.height);
    let mut coords = Vec::with_capacity(2 * w * h);
    for y in 0..h {
        for x in 0..w {
            coords.push(2.0 * x as f32 / (w - 1).max(1) as f32 - 1.0);
            coords.push(2.0 * y as f32 / (h - 1).max(1) as f32 - 1.0);
        }
    }
    let rgb: Vec<f32> = image.pixels.iter().flatten().copied().collect();
    (
        Tensor::from_data(TensorData::new(coords, [w * h, 2]), device),
        Tensor::from_data(TensorData::new(rgb, [w * h, 3]), device),
    )
}

/// Fits one network (see [`Method`]) to `image`.
pub fn fit(image: &Image, config: &L0onieConfig, method: Method) -> anyhow::Result<L0onieRow> {
    let device = config.device.device()?.autodiff();
    let (coords, rgb) = grid(image, &device);
    let pixels = image.width * image.height;
    let width = if method == Method::Coin {
        config.small_width
    } else {
        config.wide_width
    };
    let mut rng = SplitMix64::new(config.seed);
    let mut model = Siren::new(&config.widths(width), config, &device, &mut rng)?;
    let gated = method.gated();
    let n = model.weights();
    let coin_parameters = budget(config, &device)?;
    let kept_budget = if method == Method::L0onieMaskFree {
        coin_parameters.saturating_sub(model.biases())
    } else {
        kept_weight_budget(16 * coin_parameters, model.biases(), n)
    };
    let target = kept_budget as f64 / n as f64;
    let formulation: Formulation = if gated {
        Formulation::lagrangian(GradientAscent::new(config.dynamics.dual_lr))
            .with_restart_on_feasible()
            .into()
    } else {
        Formulation::fixed_penalty(0.0).into()
    };
    let dual = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most(CONSTRAINT, target).with_formulation(formulation))
        .scheme(UpdateScheme::AlternatingDualPrimal)
        .build()?;
    // PyTorch's Adam defaults (betas 0.9 and 0.999, eps 1e-8, no weight
    // decay), as in the L0onie tutorial of Cooper (Gallego-Posada et al.),
    // which trains with PyTorch; burn's default eps would be 1e-5.
    let optimizer = AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .with_amsgrad(false)
        .with_weight_decay(None)
        .init();
    let mut trainer = ConstrainedTrainer::new(dual, optimizer, config.lr)?;
    let id = trainer.id(CONSTRAINT)?;
    let mut noise = SplitMix64::new(config.seed ^ 0x10);
    let start = Instant::now();
    let finetune_from = (config.steps as f64 * (1.0 - config.dynamics.finetune_fraction)) as usize;
    // The mask is fixed once the second part of the budget has begun *and*
    // the deterministic density meets the target; until then the
    // constraint keeps working.
    let mut finetune = false;
    for step in 0..config.steps {
        if gated && !finetune && step >= finetune_from {
            finetune = sparsity::deterministic_density(&model.layers)? <= target;
            if finetune {
                model = fill_to_budget(model, kept_budget)?;
            }
        }
        let modes: Option<Vec<GateMode>> = gated.then(|| {
            model
                .layers
                .iter()
                .map(|l| {
                    if finetune {
                        GateMode::Deterministic
                    } else {
                        GateMode::Sample(l.noise(&mut noise, &device))
                    }
                })
                .collect()
        });
        let error = model.forward(coords.clone(), modes.as_deref())? - rgb.clone();
        let loss = error.powi_scalar(2).mean();

        let evaluation = if gated {
            let density = sparsity::expected_density(&model.layers).ok_or_else(|| anyhow::anyhow!("no layers"))?;
            let strict = sparsity::deterministic_density(&model.layers)?;
            let c = ConstraintTensors::new(density).with_strict_values(vec![strict]);
            let c = if finetune {
                c.without_primal_update().without_dual_update()
            } else {
                c
            };
            Evaluation::new(loss).with_id(id, c)
        } else {
            let unused = Tensor::<1>::from_data(TensorData::new(vec![0.0f32], [1]), &device);
            Evaluation::new(loss).with_id(
                id,
                ConstraintTensors::new(unused)
                    .without_primal_update()
                    .without_dual_update(),
            )
        };
        model = trainer.step(model, evaluation)?.0;
    }
    let seconds = start.elapsed().as_secs_f64();
    let inference = model.valid();
    let device_plain = device.clone().without_autodiff();
    let (coords, rgb) = grid(image, &device_plain);
    let deterministic = vec![GateMode::Deterministic; inference.layers.len()];
    let reconstruction = inference
        .forward(coords, gated.then_some(&deterministic[..]))?
        .clamp(0.0, 1.0);
    let mse = (reconstruction - rgb).powi_scalar(2).mean().into_scalar::<f64>();
    let kept_weights = if gated {
        inference
            .layers
            .iter()
            .map(L0Linear::deterministic_nonzero)
            .sum::<Result<usize, _>>()?
    } else {
        inference.weights()
    };
    let parameters = kept_weights + inference.biases();
    let mask = if gated { mask_bits(n, kept_weights) } else { 0 };
    let bits = 16 * parameters + mask;
    Ok(L0onieRow {
        experiment: "l0onie",
        photo: config.photo,
        method,
        width,
        seed: config.seed,
        dynamics: gated.then_some(config.dynamics),
        psnr: -10.0 * mse.max(1e-12).log10(),
        vs_coin_db: None,
        bits,
        mask_bits: mask,
        within_coin_size: bits <= 16 * coin_parameters,
        bpp: bits as f64 / pixels as f64,
        parameters,
        parameters_total: inference.weights() + inference.biases(),
        side: image.width,
        steps: config.steps,
        seconds,
        model: (method == Method::L0onie).then_some(inference),
    })
}

/// Turns on, with gate 1, the dropped gates with the largest `log α` until
/// `kept` weights are kept: the deterministic gates of a constrained
/// training land at or under the budget, and the fine-tuning that follows
/// can only drop gates (a gate at 0 has no gradient), so the budget's rest
/// would go unused.
fn fill_to_budget(mut model: Siren, kept: usize) -> anyhow::Result<Siren> {
    let log_alphas = model
        .layers
        .iter()
        .map(|l| l.log_alpha().into_data().try_into_vec_as::<f32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("reading the gates: {e:?}"))?;
    let mut order: Vec<(usize, usize)> = log_alphas
        .iter()
        .enumerate()
        .flat_map(|(l, values)| (0..values.len()).map(move |i| (l, i)))
        .collect();
    order.sort_by(|a, b| log_alphas[b.0][b.1].total_cmp(&log_alphas[a.0][a.1]));
    let mut turn_on: Vec<Vec<bool>> = log_alphas.iter().map(|v| vec![false; v.len()]).collect();
    for &(l, i) in order.iter().take(kept) {
        turn_on[l][i] = !hard_concrete::deterministic_nonzero(f64::from(log_alphas[l][i]));
    }
    model.layers = model
        .layers
        .into_iter()
        .zip(turn_on)
        .map(|(mut layer, on)| {
            if on.contains(&true) {
                let shape = layer.gate_shape();
                let mask = Tensor::<2, Bool>::from_data(TensorData::new(on, shape), &layer.gate.device());
                // log α = 3: sigmoid 0.953, stretched to 1.04, clamped to 1.
                let open = (3.0 / layer.gate_scale) as f32;
                layer.gate = layer.gate.map(|theta| {
                    let trained = theta.is_require_grad();
                    theta.mask_fill(mask, open).detach().set_require_grad(trained)
                });
            }
            layer
        })
        .collect();
    Ok(model)
}

/// COIN's parameters: the most the gated network may keep.
fn budget(config: &L0onieConfig, device: &Device) -> feasible_burn::Result<usize> {
    let small = Siren::new(
        &config.widths(config.small_width),
        config,
        device,
        &mut SplitMix64::new(0),
    )?;
    Ok(small.weights() + small.biases())
}

/// Bits of the mask that says which `kept` of `n` gated weights are kept,
/// in an enumerative code: `kept` in `⌈log2(n + 1)⌉` bits, then the rank of
/// the kept set among the `C(n, kept)` sets of that size in
/// `⌈log2 C(n, kept)⌉` bits (no bits when there is one such set).
/// `log2 C(n, kept)` is summed in `f64`; a sum within 1e-9 of an integer is
/// taken as that integer.
pub fn mask_bits(n: usize, kept: usize) -> usize {
    let ceil = |x: f64| (x - 1e-9).ceil().max(0.0) as usize;
    let kept = kept.min(n);
    let smaller = kept.min(n - kept);
    let log2_sets: f64 = (1..=smaller)
        .map(|i| ((n - smaller + i) as f64 / i as f64).log2())
        .sum();
    ceil(((n + 1) as f64).log2()) + ceil(log2_sets)
}

/// The most gated weights (of `n`) a network with `biases` dense biases
/// may keep so that its parameters, 16 bits each, and its mask
/// ([`mask_bits`]) fit in `bits`; 0 when not even the biases fit.
pub fn kept_weight_budget(bits: usize, biases: usize, n: usize) -> usize {
    (0..=n)
        .rev()
        .find(|&k| 16 * (k + biases) + mask_bits(n, k) <= bits)
        .unwrap_or(0)
}

/// The trainings of a run: the three networks on the photograph, or
/// (`--full`) [`full_jobs`].
pub fn jobs(config: &L0onieConfig, full: bool) -> Vec<(L0onieConfig, Method)> {
    if full {
        full_jobs(config)
    } else {
        [Method::Coin, Method::L0onie, Method::WideDense]
            .into_iter()
            .map(|method| (config.clone(), method))
            .collect()
    }
}

/// Runs `jobs` (see [`jobs`]), each picture read once, and sets each
/// row's [`L0onieRow::vs_coin_db`] against COIN on the same picture with
/// the same steps and seed.
pub fn reproduce(
    jobs: &[(L0onieConfig, Method)],
    threads: usize,
    done: impl Fn() + Sync,
) -> anyhow::Result<Vec<L0onieRow>> {
    let mut images = BTreeMap::new();
    for (job, _) in jobs {
        if let Entry::Vacant(slot) = images.entry((job.photo, job.side)) {
            slot.insert(job.photo.read(job.side)?);
        }
    }
    let mut rows = crate::parallel::run_jobs(
        jobs,
        threads,
        |(job, m)| fit(&images[&(job.photo, job.side)], job, *m),
        |_| done(),
    )
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    compare_with_coin(&mut rows);
    Ok(rows)
}

/// Sets each row's [`L0onieRow::vs_coin_db`] against COIN on the same
/// picture with the same steps and seed (none where there is no such
/// COIN), and sorts the rows by picture, steps and seed, COIN first.
pub fn compare_with_coin(rows: &mut [L0onieRow]) {
    let key = |r: &L0onieRow| (r.photo, r.side, r.steps, r.seed);
    let coin: Vec<_> = rows
        .iter()
        .filter(|r| r.method == Method::Coin)
        .map(|r| (key(r), r.psnr))
        .collect();
    for row in rows.iter_mut().filter(|r| r.method != Method::Coin) {
        row.vs_coin_db = coin
            .iter()
            .find(|(k, _)| *k == key(row))
            .map(|(_, psnr)| row.psnr - psnr);
    }
    rows.sort_by_key(|r| (key(r), r.method != Method::Coin));
}

/// `--full`'s trainings, the longest first (they are taken in order): on
/// every photograph at both [`FULL_SIDES`], COIN and L0onie with each of
/// [`FULL_SEEDS`]; with the first seed, L0onie at [`WIDER_WIDTH`], with
/// [`EARLIER_DYNAMICS`], and the mask-free control; and on the 64x64
/// pictures COIN and L0onie with [`LONG_STEPS_FACTOR`] times the steps.
pub fn full_jobs(config: &L0onieConfig) -> Vec<(L0onieConfig, Method)> {
    let mut jobs = Vec::new();
    for side in FULL_SIDES.into_iter().rev() {
        for photo in Photo::ALL {
            let picture = L0onieConfig {
                photo,
                side,
                ..config.clone()
            };
            if side == FULL_SIDES[0] {
                let long = L0onieConfig {
                    steps: LONG_STEPS_FACTOR * config.steps,
                    ..picture.clone()
                };
                jobs.splice(0..0, [(long.clone(), Method::L0onie), (long, Method::Coin)]);
            }
            for seed in FULL_SEEDS {
                let seeded = L0onieConfig {
                    seed,
                    ..picture.clone()
                };
                jobs.push((seeded.clone(), Method::L0onie));
                jobs.push((seeded, Method::Coin));
            }
            let wider = L0onieConfig {
                wide_width: WIDER_WIDTH,
                ..picture.clone()
            };
            let earlier = L0onieConfig {
                dynamics: EARLIER_DYNAMICS,
                ..picture.clone()
            };
            jobs.extend([
                (wider, Method::L0onie),
                (earlier, Method::L0onie),
                (picture, Method::L0onieMaskFree),
            ]);
        }
    }
    jobs
}

/// Renders the comparison.
pub fn render(rows: &[L0onieRow]) -> String {
    use crate::table::Table;
    let mut table = Table::new(
        "L0onie: a photograph stored as a SIREN, the wide network pruned by a constraint to at most COIN's stored size (16 bits per kept parameter plus the mask)",
        &[
            "photo",
            "side",
            "steps",
            "network",
            "width",
            "seed",
            "dual step",
            "gate scale",
            "fine-tuned",
            "parameters kept",
            "of",
            "mask bits",
            "bits per pixel",
            "within COIN's",
            "PSNR dB",
            "vs COIN dB",
            "seconds",
        ],
    );
    for r in rows {
        let dynamics = |f: fn(&Dynamics) -> f64| r.dynamics.as_ref().map_or_else(|| "-".into(), |d| f(d).to_string());
        table.row(vec![
            r.photo.id().to_string(),
            r.side.to_string(),
            r.steps.to_string(),
            r.method.id().to_string(),
            r.width.to_string(),
            r.seed.to_string(),
            dynamics(|d| d.dual_lr),
            dynamics(|d| d.gate_scale),
            dynamics(|d| d.finetune_fraction),
            r.parameters.to_string(),
            r.parameters_total.to_string(),
            r.mask_bits.to_string(),
            format!("{:.3}", r.bpp),
            if r.within_coin_size { "yes" } else { "no" }.to_string(),
            format!("{:.2}", r.psnr),
            r.vs_coin_db.map(|d| format!("{d:+.2}")).unwrap_or_else(|| "-".into()),
            format!("{:.1}", r.seconds),
        ]);
    }
    let means = seed_means(rows);
    if means.is_empty() {
        return table.to_string();
    }
    let mut summary = Table::new(
        "Over seeds: L0onie minus COIN on the same picture, steps and seed",
        &[
            "photo",
            "side",
            "steps",
            "width",
            "seeds",
            "COIN dB",
            "L0onie dB",
            "mean vs COIN dB",
            "lowest",
            "highest",
        ],
    );
    for m in &means {
        summary.row(vec![
            m.photo.id().to_string(),
            m.side.to_string(),
            m.steps.to_string(),
            m.width.to_string(),
            m.seeds.to_string(),
            format!("{:.2}", m.coin_psnr),
            format!("{:.2}", m.l0onie_psnr),
            format!("{:+.2}", m.vs_coin_db),
            format!("{:+.2}", m.lowest_vs_coin_db),
            format!("{:+.2}", m.highest_vs_coin_db),
        ]);
    }
    format!("{table}\n{summary}")
}

/// L0onie against COIN over the seeds of one picture, steps, width and
/// dynamics.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedMean {
    /// The photograph.
    pub photo: Photo,
    /// Image side.
    pub side: usize,
    /// Training steps.
    pub steps: usize,
    /// L0onie's width.
    pub width: usize,
    /// Seeds with both a COIN and an L0onie row.
    pub seeds: usize,
    /// COIN's mean PSNR over them, dB.
    pub coin_psnr: f64,
    /// L0onie's mean PSNR, dB.
    pub l0onie_psnr: f64,
    /// The mean of L0onie minus COIN, seed by seed, dB.
    pub vs_coin_db: f64,
    /// The lowest of the differences.
    pub lowest_vs_coin_db: f64,
    /// The highest.
    pub highest_vs_coin_db: f64,
}

/// For every group of `l0onie` rows (same picture, steps, width and
/// dynamics) with more than one seed, the means over the seeds compared
/// with COIN (those with [`L0onieRow::vs_coin_db`], set by [`reproduce`]),
/// in the order the groups first appear.
pub fn seed_means(rows: &[L0onieRow]) -> Vec<SeedMean> {
    let group = |r: &L0onieRow| (r.photo, r.side, r.steps, r.width, r.dynamics);
    let mut groups: Vec<_> = Vec::new();
    for r in rows.iter().filter(|r| r.method == Method::L0onie) {
        if !groups.contains(&group(r)) {
            groups.push(group(r));
        }
    }
    groups
        .into_iter()
        .filter_map(|g| {
            let pairs: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.method == Method::L0onie && group(r) == g)
                .filter_map(|r| r.vs_coin_db.map(|d| (r.psnr - d, r.psnr)))
                .collect();
            (pairs.len() > 1).then(|| {
                let n = pairs.len() as f64;
                let differences = pairs.iter().map(|(c, l)| l - c);
                SeedMean {
                    photo: g.0,
                    side: g.1,
                    steps: g.2,
                    width: g.3,
                    seeds: pairs.len(),
                    coin_psnr: pairs.iter().map(|p| p.0).sum::<f64>() / n,
                    l0onie_psnr: pairs.iter().map(|p| p.1).sum::<f64>() / n,
                    vs_coin_db: differences.clone().sum::<f64>() / n,
                    lowest_vs_coin_db: differences.clone().fold(f64::INFINITY, f64::min),
                    highest_vs_coin_db: differences.fold(f64::NEG_INFINITY, f64::max),
                }
            })
        })
        .collect()
}

/// The L0onie experiment in the registry.
pub struct L0onieExperiment;

impl Experiment for L0onieExperiment {
    fn name(&self) -> &'static str {
        "l0onie"
    }

    fn summary(&self) -> &'static str {
        "an image stored as a SIREN, a wide network pruned to a small one's size by an L0 constraint (L0onie)"
    }

    fn steps(&self) -> StepsOption {
        StepsOption {
            unit: "training steps",
            max: 1_000_000,
        }
    }

    fn data_needed(&self, _quick: bool) -> Vec<DataSet> {
        Photo::ALL.map(Photo::data_set).to_vec()
    }

    fn full(&self) -> Option<&'static str> {
        Some(
            "COIN and L0onie over three seeds on three photographs (the astronaut, Chelsea the cat, a cup of coffee) at 64x64 and 128x128, with L0onie's earlier width (36), stop 21's dynamics, a mask-free control, and 4x the steps at 64x64",
        )
    }

    fn run(&self, options: &RunOptions) -> anyhow::Result<Outcome> {
        if let Some(set) = self
            .data_needed(options.quick)
            .into_iter()
            .find(|&s| options.is_missing(s))
        {
            return Ok(Outcome::skipped("l0onie", "L0onie", &set.missing_message()));
        }
        let config = config(options);
        let jobs = jobs(&config, options.full);
        let bar = options.progress_bar(jobs.len(), "l0onie");
        let rows = reproduce(&jobs, options.threads, || bar.inc(1))?;
        bar.finish_and_clear();
        let text = render(&rows);
        let models = rows
            .iter()
            .filter_map(|r| r.model.clone().map(|model| (r, model)))
            .map(|(r, model)| {
                let network = SavedNetwork {
                    photo: r.photo,
                    side: r.side,
                    width: r.width,
                    steps: r.steps,
                    seed: r.seed,
                    dynamics: r.dynamics.unwrap_or(config.dynamics),
                };
                let run = if options.full {
                    let d = network.dynamics;
                    format!(
                        "{}-{}-{}-w{}-{}steps-seed{}-dual{}-gates{}-finetune{}",
                        r.method.id(),
                        r.photo.id(),
                        r.side,
                        r.width,
                        r.steps,
                        r.seed,
                        d.dual_lr,
                        d.gate_scale,
                        d.finetune_fraction
                    )
                } else {
                    r.method.id().to_string()
                };
                SavedModel::new(run, &network, move |dir| saved::write_record(dir, model))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Outcome::rows(&rows, text)?.with_models(models))
    }

    /// The stored bits of the pruned network (16 per kept parameter, every
    /// bias, and the mask) against COIN's: exact, a property of the network
    /// alone.
    fn audit(&self, saved: &SavedRun, dir: &Path) -> anyhow::Result<Audit> {
        let network: SavedNetwork = saved.detail()?;
        let config = L0onieConfig {
            photo: network.photo,
            side: network.side,
            wide_width: network.width,
            steps: network.steps,
            seed: network.seed,
            dynamics: network.dynamics,
            ..config(&saved.options()?)
        };
        let device = config.device.device()?;
        let fresh = Siren::new(
            &config.widths(config.wide_width),
            &config,
            &device,
            &mut SplitMix64::new(config.seed),
        )?;
        let model = saved::read_record(dir, fresh)?;
        let kept = model
            .layers
            .iter()
            .map(L0Linear::deterministic_nonzero)
            .sum::<Result<usize, _>>()?;
        let bits = 16 * (kept + model.biases()) + mask_bits(model.weights(), kept);
        let mut audit = Audit::new(CONFIDENCE)?;
        audit.push(
            &Requirement::at_most("stored bits", (16 * budget(&config, &device)?) as f64),
            "model",
            &Evidence::Exact(bits as f64),
        )?;
        Ok(audit)
    }
}

/// What tells a saved network apart: its picture, width, steps, seed and
/// dynamics (the gate scale reads its gates).
#[derive(Serialize, Deserialize)]
struct SavedNetwork {
    photo: Photo,
    side: usize,
    width: usize,
    steps: usize,
    seed: u64,
    dynamics: Dynamics,
}

/// The settings `options` ask for.
fn config(options: &RunOptions) -> L0onieConfig {
    let mut config = if options.quick {
        L0onieConfig::quick()
    } else {
        L0onieConfig::full()
    };
    config.device = options.device;
    if let Some(steps) = options.steps {
        config.steps = steps;
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_is_written_in_json_by_its_name_and_only_l0onie_is_gated() {
        let methods = [Method::Coin, Method::L0onie, Method::L0onieMaskFree, Method::WideDense];
        let names: Vec<String> = methods
            .iter()
            .map(|m| serde_json::to_value(m).unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            ["\"coin\"", "\"l0onie\"", "\"l0onie_mask_free\"", "\"wide_dense\""]
        );
        assert!(methods.iter().all(|m| serde_json::to_value(m).unwrap() == m.id()));
        let gated: Vec<bool> = methods.iter().map(|m| m.gated()).collect();
        assert_eq!(gated, [false, true, true, false]);
    }

    #[test]
    fn the_mask_costs_the_count_and_the_rank_of_the_kept_set() {
        // n = 4, k = 2: k in ⌈log2 5⌉ = 3 bits, one of C(4, 2) = 6 sets in 3.
        assert_eq!(mask_bits(4, 2), 3 + 3);
        // n = 8, k = 1: ⌈log2 9⌉ = 4, C(8, 1) = 8 exactly 3 bits.
        assert_eq!(mask_bits(8, 1), 4 + 3);
        assert_eq!(mask_bits(8, 7), 4 + 3);
        // Nothing or everything kept: one set, only the count.
        assert_eq!((mask_bits(8, 0), mask_bits(8, 8)), (4, 4));
        // C(64, 32) = 1,832,624,140,942,590,534 = 2^60.67: 61 bits, and
        // ⌈log2 65⌉ = 7.
        assert_eq!(mask_bits(64, 32), 7 + 61);
        // More kept than there are: as if all.
        assert_eq!(mask_bits(8, 9), 4);
    }

    #[test]
    fn the_budget_keeps_the_most_weights_whose_parameters_and_mask_fit() {
        // 160 bits, 2 biases, 8 gated weights: 7 kept cost 16·9 + 4 + 3 =
        // 151 bits; all 8 cost 16·10 + 4 = 164.
        assert_eq!(kept_weight_budget(160, 2, 8), 7);
        assert_eq!(kept_weight_budget(164, 2, 8), 8);
        // Not even the biases fit.
        assert_eq!(kept_weight_budget(16, 2, 8), 0);
        // COIN's 1,795 parameters against the width-48 SIREN (4,848 gated
        // weights, 147 biases): 1,385 weights, whose mask takes 4,191 bits.
        let k = kept_weight_budget(16 * 1795, 147, 4848);
        assert_eq!((k, mask_bits(4848, k)), (1385, 4191));
        assert!(16 * (k + 1 + 147) + mask_bits(4848, k + 1) > 16 * 1795);
    }

    #[test]
    fn filling_the_budget_opens_the_dropped_gates_closest_to_open() {
        let config = L0onieConfig {
            hidden_layers: 1,
            wide_width: 3,
            ..L0onieConfig::quick()
        };
        let device = config.device.device().unwrap().autodiff();
        let mut model = Siren::new(&config.widths(3), &config, &device, &mut SplitMix64::new(0)).unwrap();
        // log α per layer (2x3, then 3x3); open where log α > ln(1/11) ≈ -2.4.
        let log_alphas: [Vec<f32>; 2] = [
            vec![-5.0, -4.0, 3.0, -3.0, -6.0, -7.0],
            vec![2.0, -1.0, -8.0, -9.0, -2.5, -10.0, -11.0, -12.0, -13.0],
        ];
        model.layers = model
            .layers
            .into_iter()
            .zip(&log_alphas)
            .map(|(mut layer, values)| {
                let theta: Vec<f32> = values.iter().map(|a| a / layer.gate_scale as f32).collect();
                let shape = layer.gate_shape();
                layer.gate = layer
                    .gate
                    .map(|_| Tensor::from_data(TensorData::new(theta, shape), &device).require_grad());
                layer
            })
            .collect();
        let kept = |m: &Siren| {
            m.layers
                .iter()
                .map(|l| l.deterministic_nonzero().unwrap())
                .sum::<usize>()
        };
        assert_eq!(kept(&model), 3);
        let filled = fill_to_budget(model, 5).unwrap();
        assert_eq!(kept(&filled), 5);
        assert!(filled.layers.iter().all(|l| l.gate.val().is_require_grad()));
        let after: Vec<Vec<f32>> = filled
            .layers
            .iter()
            .map(|l| l.log_alpha().into_data().try_into_vec_as::<f32>().unwrap())
            .collect();
        // The two dropped gates with the largest log α (-2.5, then -3) open at 3.
        let mut expected = log_alphas.clone();
        expected[1][4] = 3.0;
        expected[0][3] = 3.0;
        for (a, e) in after.iter().flatten().zip(expected.iter().flatten()) {
            assert!((a - e).abs() < 1e-5, "{after:?} vs {expected:?}");
        }
        // Nothing to open: unchanged.
        assert_eq!(kept(&fill_to_budget(filled, 2).unwrap()), 5);
    }

    #[test]
    fn the_full_sweep_trains_both_networks_with_every_seed_on_every_picture() {
        let config = L0onieConfig::full();
        let jobs = full_jobs(&config);
        // 6 pictures × (3 seeds × 2 networks + wider + earlier + control),
        // and COIN and L0onie with 4× the steps on the three 64x64 pictures.
        assert_eq!(jobs.len(), 6 * 9 + 3 * 2);
        // The long trainings first, then the 128x128 pictures.
        assert!(jobs[..6].iter().all(|(j, _)| j.steps == 12_000 && j.side == 64));
        assert!(jobs[6..33].iter().all(|(j, _)| j.steps == 3000 && j.side == 128));
        assert_eq!(config.wide_width, 30);
        for photo in Photo::ALL {
            for side in FULL_SIDES {
                let here: Vec<_> = jobs
                    .iter()
                    .filter(|(j, _)| (j.photo, j.side, j.steps) == (photo, side, 3000))
                    .collect();
                for seed in FULL_SEEDS {
                    for method in [Method::Coin, Method::L0onie] {
                        let n = here
                            .iter()
                            .filter(|(j, m)| {
                                (j.seed, *m, j.wide_width, j.dynamics) == (seed, method, 30, config.dynamics)
                            })
                            .count();
                        assert_eq!(n, 1, "{photo:?} {side} seed {seed} {method:?}");
                    }
                }
                let variant = |width, dynamics, method| {
                    here.iter()
                        .any(|(j, m)| (j.seed, j.wide_width, j.dynamics, *m) == (0, width, dynamics, method))
                };
                assert!(variant(WIDER_WIDTH, config.dynamics, Method::L0onie));
                assert!(variant(30, EARLIER_DYNAMICS, Method::L0onie));
                assert!(variant(30, config.dynamics, Method::L0onieMaskFree));
            }
        }
    }

    #[test]
    fn the_seed_means_pair_each_l0onie_run_with_coin_of_the_same_seed() {
        let row = |method, seed, psnr| L0onieRow {
            experiment: "l0onie",
            photo: Photo::Chelsea,
            method,
            width: if method == Method::Coin { 28 } else { 30 },
            seed,
            dynamics: (method != Method::Coin).then_some(L0onieConfig::full().dynamics),
            psnr,
            vs_coin_db: None,
            bits: 0,
            mask_bits: 0,
            within_coin_size: true,
            bpp: 0.0,
            parameters: 0,
            parameters_total: 0,
            side: 64,
            steps: 3000,
            seconds: 0.0,
            model: None,
        };
        let mut rows = vec![
            row(Method::Coin, 0, 30.0),
            row(Method::L0onie, 0, 30.5),
            row(Method::Coin, 1, 31.0),
            row(Method::L0onie, 1, 30.75),
            // No COIN with seed 2: left out.
            row(Method::L0onie, 2, 40.0),
        ];
        compare_with_coin(&mut rows);
        let means = seed_means(&rows);
        assert_eq!(means.len(), 1);
        let m = &means[0];
        assert_eq!(
            (m.photo, m.side, m.steps, m.width, m.seeds),
            (Photo::Chelsea, 64, 3000, 30, 2)
        );
        // COIN (30 + 31) / 2, L0onie (30.5 + 30.75) / 2, differences +0.5
        // and -0.25.
        assert_eq!((m.coin_psnr, m.l0onie_psnr), (30.5, 30.625));
        assert_eq!(
            (m.vs_coin_db, m.lowest_vs_coin_db, m.highest_vs_coin_db),
            (0.125, -0.25, 0.5)
        );
        // One seed: no mean.
        rows.truncate(2);
        assert!(seed_means(&rows).is_empty());
        assert!(!render(&rows).contains("Over seeds"));
    }

    #[test]
    fn an_image_side_must_divide_the_photographs_square() {
        let e = Photo::Chelsea.read(100).unwrap_err().to_string();
        assert!(e.contains("side of 100 does not divide 256"), "{e}");
    }
}
