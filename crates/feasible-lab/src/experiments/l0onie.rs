//! L0onie (Ramirez, Gallego-Posada et al., Sparsity in Neural Networks
//! workshop 2022): compress an implicit neural representation under a
//! constraint on its stored size.
//!
//! COIN (Dupont et al. 2021) stores an image as the weights of a small
//! sine-activated MLP (a SIREN: `(x, y) ↦ (r, g, b)`), each weight in 16
//! bits; its size in bits per pixel is `16 × parameters / pixels`. To hit a
//! size, COIN picks a small enough architecture. L0onie trains a *wider*
//! SIREN with L0 gates on every weight under the constraint "at most as many
//! kept parameters as the small network has", so both are stored in the
//! same number of bits, and compares the pictures.
//!
//! Setup, chosen here: the astronaut photograph (NASA, public domain, from
//! the scikit-image wheel) shrunk by block averaging to 128x128 (`--quick`:
//! 64x64); SIRENs with 3 hidden layers, ω0 = 30 and SIREN's initialisation;
//! COIN width 28 (1,795 parameters), L0onie width 48 (4,995 parameters, its
//! 4,848 weights gated); Adam with step 1e-3, full batch of all pixels,
//! 3,000 steps (`--quick`: 2,000). The constraint: density of the gated
//! weights `<= (1,795 - 147) / 4,848` (147 are the wide network's biases),
//! so that the kept parameters equal COIN's; gradient ascent (step 0.01)
//! with dual restarts; gate scale 10. From the first step of the second
//! half at which the constraint holds, the weights are fine-tuned with the
//! deterministic gates (the mask fixed):
//! sampled gates perturb every weight multiplicatively, and a sine network
//! with ω0 = 30 fits poorly under that noise (without the fine-tuning the
//! gated network stayed 4 dB below COIN in our runs, with it 0.7 dB). A
//! third row, the wide network without gates, shows the quality its 2.8
//! times larger size buys. The size counts 16 bits per kept parameter and
//! ignores where the kept weights are (a bitmask would add 1 bit per gated
//! weight, also shown).

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::{Device, Tensor, TensorData};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::random::SplitMix64;
use feasible_burn::sparsity::{self, GateMode, GatedLayer, Granularity, L0Linear, L0LinearConfig};
use feasible_burn::{ConstrainedTrainer, ConstraintTensors, Evaluation};
use serde::Serialize;

use super::registry::{Experiment, Outcome, RunOptions, StepsOption};
use super::saved::{self, CONFIDENCE, SavedModel, SavedRun};
use crate::audit::{Audit, Evidence, Requirement};
use crate::data::image::{Image, astronaut_path};
use crate::data::sets::DataSet;
use crate::device::DeviceSpec;

/// The constraint's name.
pub const CONSTRAINT: &str = "density";

/// The settings.
#[derive(Clone, Debug, Serialize)]
pub struct L0onieConfig {
    /// The 512x512 photograph is shrunk by this factor.
    pub shrink: usize,
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
    /// Gradient ascent's step.
    pub dual_lr: f64,
    /// The gates' parameter scale.
    pub gate_scale: f64,
    /// The last fraction of the steps trains the weights with the
    /// deterministic gates (the mask fixed, the constraint's updates off),
    /// from the first step of that part at which the constraint holds.
    pub finetune_fraction: f64,
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
            shrink: 4,
            hidden_layers: 3,
            small_width: 28,
            wide_width: 48,
            omega: 30.0,
            lr: 1e-3,
            steps: 3000,
            dual_lr: 0.01,
            gate_scale: 10.0,
            finetune_fraction: 0.5,
            seed: 0,
        }
    }

    /// `--quick`: 64x64, 2,000 steps.
    pub fn quick() -> Self {
        Self {
            shrink: 8,
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

/// A SIREN on L0-gated layers: `sin(ω0 (x W + b))` for every layer but the
/// last, which is linear.
#[derive(Module, Debug)]
pub struct Siren {
    layers: Vec<L0Linear>,
    #[module(skip)]
    omega: f64,
}

impl Siren {
    fn new(widths: &[usize], config: &L0onieConfig, device: &Device, rng: &mut SplitMix64) -> Self {
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
                    .with_gate_scale(config.gate_scale)
                    .with_weight_bound(bound)
                    .init(device, rng)
            })
            .collect();
        Self {
            layers,
            omega: config.omega,
        }
    }

    /// `None`: without gates (a dense network).
    fn forward(&self, x: Tensor<2>, modes: Option<&[GateMode]>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |h, (i, layer)| {
            let z = match modes {
                Some(modes) => layer.forward(h, &modes[i]),
                None => layer.forward_ungated(h),
            };
            if i < last { z.mul_scalar(self.omega).sin() } else { z }
        })
    }

    fn weights(&self) -> usize {
        self.layers.iter().map(L0Linear::gated_weights).sum()
    }

    fn biases(&self) -> usize {
        self.layers.iter().map(|l| l.shape()[1]).sum()
    }
}

/// One network's result.
#[derive(Clone, Debug, Serialize)]
pub struct L0onieRow {
    /// Always `l0onie`.
    pub experiment: &'static str,
    /// `coin` (small, dense), `l0onie` (wide, gated, constrained) or
    /// `wide_dense` (wide, no gates).
    pub method: &'static str,
    /// Hidden width.
    pub width: usize,
    /// Peak signal-to-noise ratio, dB, of the reconstruction (deterministic
    /// gates for L0onie).
    pub psnr: f64,
    /// Stored size: 16 bits per kept parameter, per pixel.
    pub bpp: f64,
    /// The same plus a 1-bit mask per gated weight (L0onie only).
    pub bpp_with_mask: Option<f64>,
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

/// Fits one network to `image`: `coin`, `l0onie` or `wide_dense`.
pub fn fit(image: &Image, config: &L0onieConfig, method: &'static str) -> anyhow::Result<L0onieRow> {
    let device = config.device.device()?.autodiff();
    let (coords, rgb) = grid(image, &device);
    let pixels = image.width * image.height;
    let width = if method == "coin" {
        config.small_width
    } else {
        config.wide_width
    };
    let mut rng = SplitMix64::new(config.seed);
    let mut model = Siren::new(&config.widths(width), config, &device, &mut rng);
    let budget = budget(config, &device);
    let gated = method == "l0onie";
    let target = (budget.saturating_sub(model.biases())) as f64 / model.weights() as f64;
    let formulation: Formulation = if gated {
        Formulation::lagrangian(GradientAscent::new(config.dual_lr))
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
    let finetune_from = (config.steps as f64 * (1.0 - config.finetune_fraction)) as usize;
    // The mask is fixed once the second part of the budget has begun *and*
    // the deterministic density meets the target; until then the
    // constraint keeps working.
    let mut finetune = false;
    for step in 0..config.steps {
        if gated && !finetune && step >= finetune_from {
            finetune = sparsity::deterministic_density(&model.layers)? <= target;
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
        let error = model.forward(coords.clone(), modes.as_deref()) - rgb.clone();
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
        .forward(coords, gated.then_some(&deterministic[..]))
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
    let bits = 16.0 * parameters as f64;
    Ok(L0onieRow {
        experiment: "l0onie",
        method,
        width,
        psnr: -10.0 * mse.max(1e-12).log10(),
        bpp: bits / pixels as f64,
        bpp_with_mask: gated.then(|| (bits + inference.weights() as f64) / pixels as f64),
        parameters,
        parameters_total: inference.weights() + inference.biases(),
        side: image.width,
        steps: config.steps,
        seconds,
        model: gated.then_some(inference),
    })
}

/// COIN's parameters: the most the gated network may keep.
fn budget(config: &L0onieConfig, device: &Device) -> usize {
    let small = Siren::new(
        &config.widths(config.small_width),
        config,
        device,
        &mut SplitMix64::new(0),
    );
    small.weights() + small.biases()
}

/// The three networks on the photograph.
pub fn reproduce(config: &L0onieConfig, threads: usize, done: impl Fn() + Sync) -> anyhow::Result<Vec<L0onieRow>> {
    let image = Image::read_png(&astronaut_path())?.shrink(config.shrink);
    crate::parallel::run_jobs(
        &["coin", "l0onie", "wide_dense"],
        threads,
        |m| fit(&image, config, m),
        |_| done(),
    )
    .into_iter()
    .collect()
}

/// Renders the comparison.
pub fn render(rows: &[L0onieRow]) -> String {
    use crate::table::Table;
    let side = rows.first().map(|r| r.side).unwrap_or(0);
    let mut table = Table::new(
        format!(
            "L0onie: a {side}x{side} photograph stored as a SIREN, the wide network pruned to COIN's size by a constraint"
        ),
        &[
            "network",
            "width",
            "parameters kept",
            "of",
            "bits per pixel",
            "with mask",
            "PSNR dB",
            "seconds",
        ],
    );
    for r in rows {
        table.row(vec![
            r.method.to_string(),
            r.width.to_string(),
            r.parameters.to_string(),
            r.parameters_total.to_string(),
            format!("{:.3}", r.bpp),
            r.bpp_with_mask.map(|b| format!("{b:.3}")).unwrap_or_else(|| "-".into()),
            format!("{:.2}", r.psnr),
            format!("{:.1}", r.seconds),
        ]);
    }
    table.to_string()
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
        vec![DataSet::Astronaut]
    }

    fn run(&self, options: &RunOptions) -> anyhow::Result<Outcome> {
        if options.is_missing(DataSet::Astronaut) {
            let reason = DataSet::Astronaut.missing_message();
            return Ok(Outcome::skipped("l0onie", "L0onie", &reason));
        }
        let config = config(options);
        let bar = options.progress_bar(3, "l0onie");
        let rows = reproduce(&config, options.threads, || bar.inc(1))?;
        bar.finish_and_clear();
        let text = render(&rows);
        let models = rows
            .iter()
            .filter_map(|r| r.model.clone().map(|model| (r.method, model)))
            .map(|(method, model)| SavedModel::new(method, &method, move |dir| saved::write_record(dir, model)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Outcome::rows(&rows, text)?.with_models(models))
    }

    /// The parameters the deterministic gates keep (and every bias) against
    /// COIN's count: exact, a property of the network alone.
    fn audit(&self, saved: &SavedRun, dir: &Path) -> anyhow::Result<Audit> {
        let config = config(&saved.options()?);
        let device = config.device.device()?;
        let fresh = Siren::new(
            &config.widths(config.wide_width),
            &config,
            &device,
            &mut SplitMix64::new(config.seed),
        );
        let model = saved::read_record(dir, fresh)?;
        let kept = model
            .layers
            .iter()
            .map(L0Linear::deterministic_nonzero)
            .sum::<Result<usize, _>>()?
            + model.biases();
        let mut audit = Audit::new(CONFIDENCE)?;
        audit.push(
            &Requirement::at_most("parameters kept", budget(&config, &device) as f64),
            "model",
            &Evidence::Exact(kept as f64),
        )?;
        Ok(audit)
    }
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
