//! Several devices with one set of multipliers.
//!
//! Two workers (threads on the `flex` CPU device, which is a single device:
//! on GPUs, one per device), each with its own model replica, shard of the
//! global batch, primal optimizer and copy of the dual state. Each step every
//! worker reads its shard's constraint statistics back (a rate's weighted
//! sum and count; a per-sample constraint's ids and values), serializes
//! them (as they would cross processes or nodes), all-gathers and reduces
//! them in rank order, takes the same dual step, sums the gradients with the
//! other workers and takes the same primal step. The multipliers stay
//! identical on every worker and equal to a single-device run on the
//! combined batch.
//!
//! `cargo run --release -p feasible-burn --example multi_device [-- WORKERS STEPS]`
//! (the last stdout line is a JSON summary).

use std::thread;

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::distributed::{HostCollective, HostGradients, sum_gradients};
use feasible_burn::{ConstraintStatistics, ConstraintTensors, Constraints, Evaluation};

const SAMPLES: usize = 64;
const LR: f64 = 0.02;

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    relu: Relu,
    out: Linear,
}

impl Mlp {
    fn new(device: &Device) -> Self {
        // The same initial weights on every worker (a broadcast from rank 0
        // does the same with random ones).
        let init = |i, o, v| {
            LinearConfig::new(i, o)
                .with_initializer(Initializer::Constant { value: v })
                .init(device)
        };
        let mut hidden = init(2, 8, 0.0);
        let weights: Vec<f32> = (0..16).map(|k| ((k as f32) * 1.7).sin() * 0.8).collect();
        hidden.weight = Param::from_tensor(Tensor::from_data(TensorData::new(weights, [2, 8]), device));
        Self {
            hidden,
            relu: Relu::new(),
            out: init(8, 1, 0.1),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(self.relu.forward(self.hidden.forward(x)))
    }

    fn parameters(&self) -> Vec<f32> {
        let mut p = Vec::new();
        for linear in [&self.hidden, &self.out] {
            p.extend(linear.weight.val().without_autodiff().try_into_vec_as::<f32>().unwrap());
            if let Some(b) = &linear.bias {
                p.extend(b.val().without_autodiff().try_into_vec_as::<f32>().unwrap());
            }
        }
        p
    }
}

/// Two noisy clusters; labels 1 for the first.
fn data(device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x: Vec<f32> = (0..SAMPLES)
        .flat_map(|i| {
            let t = i as f32;
            let c = if i % 2 == 0 { 0.6 } else { -0.6 };
            [c + (t * 0.73).sin() * 0.9, -c + (t * 1.31).cos() * 0.9]
        })
        .collect();
    let y: Vec<f32> = (0..SAMPLES).map(|i| if i % 2 == 0 { 1.0 } else { 0.0 }).collect();
    (
        Tensor::from_data(TensorData::new(x, [SAMPLES, 2]), device),
        Tensor::from_data(TensorData::new(y, [SAMPLES, 1]), device),
    )
}

fn constraints() -> Constraints {
    ConstrainedOptimizer::builder()
        // At least 60% of the points predicted class 0 (a rate: its shard's
        // true rate and count go into the reduction).
        .constraint(
            Constraint::at_least("class0_rate", 0.6)
                .with_formulation(Formulation::lagrangian(GradientAscent::new(0.5))),
        )
        // Every point classified with a margin of at least 0.25: one
        // multiplier per sample (ids and values go into the reduction).
        .constraint(
            Constraint::at_least("margin", 1.0)
                .with_entries(SAMPLES)
                .indexed()
                .with_formulation(Formulation::lagrangian(GradientAscent::new(0.05))),
        )
        .scheme(UpdateScheme::AlternatingDualPrimal)
        .build()
        .map(Constraints::new)
        .expect("valid constraints")
}

/// The evaluation of `model` on the samples `ids` (rows of `x`, `y`).
fn evaluation(model: &Mlp, x: &Tensor<2>, y: &Tensor<2>, ids: std::ops::Range<usize>) -> Evaluation {
    let n = ids.len();
    let z = model.forward(x.clone());
    let loss = (softplus(z.clone(), 1.0) - y.clone() * z.clone()).mean();
    let proxy = sigmoid(z.clone().neg()).mean();
    let host: Vec<f64> = z.clone().without_autodiff().try_into_vec_as::<f64>().unwrap();
    let rate = host.iter().filter(|v| **v < 0.0).count() as f64 / n as f64;
    let margins = (z * y.clone().mul_scalar(2.0).sub_scalar(1.0)).reshape([n]);
    let met: Vec<f64> = margins
        .clone()
        .without_autodiff()
        .try_into_vec_as::<f64>()
        .unwrap()
        .iter()
        .map(|m| if *m >= 0.25 { 1.0 } else { 0.0 })
        .collect();
    Evaluation::new(loss)
        .with(
            "class0_rate",
            ConstraintTensors::new(proxy).with_strict_values(vec![rate]),
        )
        .with(
            "margin",
            ConstraintTensors::new(margins)
                .with_indices(ids.collect::<Vec<_>>())
                .with_strict_values(met),
        )
}

/// Per step: every multiplier (the rate's first), and the model's parameters.
type Trace = Vec<(Vec<f64>, Vec<f32>)>;

fn multipliers(constraints: &Constraints) -> Vec<f64> {
    let mut all = constraints.multipliers("class0_rate").unwrap().unwrap().to_vec();
    all.extend_from_slice(constraints.multipliers("margin").unwrap().unwrap());
    all
}

fn worker(
    rank: usize,
    workers: usize,
    steps: usize,
    statistics: HostCollective<String>,
    gradients: HostCollective<HostGradients>,
) -> feasible_burn::Result<(Trace, usize)> {
    let device = Device::flex().autodiff();
    let (x, y) = data(&device);
    let size = SAMPLES / workers;
    let (from, to) = (
        rank * size,
        if rank + 1 == workers {
            SAMPLES
        } else {
            (rank + 1) * size
        },
    );
    let (x, y) = (x.narrow(0, from, to - from), y.narrow(0, from, to - from));
    let mut constraints = constraints();
    let mut model = Mlp::new(&device);
    let mut optimizer = adam().init();
    let mut trace = Vec::new();
    let mut bytes = 0;
    for _ in 0..steps {
        let part = constraints.measure(evaluation(&model, &x, &y, from..to), rank, (to - from) as f64)?;
        // What crosses the wire: the shard's statistics, as JSON.
        let wire = serde_json::to_string(part.statistics()).expect("statistics serialize");
        bytes += wire.len();
        let gathered = statistics.all_gather(rank, wire)?;
        let parts: Vec<ConstraintStatistics> = gathered
            .iter()
            .map(|s| serde_json::from_str(s).expect("statistics deserialize"))
            .collect();
        let global = ConstraintStatistics::reduce(&parts)?;
        let (objectives, pending) = constraints.lagrangian_reduced(vec![part], &global)?;
        let local = match objectives.into_iter().next() {
            Some(objective) => GradientsParams::from_grads(objective.backward(), &model),
            None => GradientsParams::new(),
        };
        let all = gradients.all_gather(rank, HostGradients::new(&model, &local))?;
        let summed = sum_gradients(&model, &local, &all)?;
        model = optimizer.step(LR, model, summed);
        pending.commit()?;
        trace.push((multipliers(&constraints), model.parameters()));
    }
    Ok((trace, bytes))
}

fn single_device(steps: usize) -> feasible_burn::Result<Trace> {
    let device = Device::flex().autodiff();
    let (x, y) = data(&device);
    let mut constraints = constraints();
    let mut model = Mlp::new(&device);
    let mut optimizer = adam().init();
    let mut trace = Vec::new();
    for _ in 0..steps {
        let (objective, pending) = constraints.lagrangian(evaluation(&model, &x, &y, 0..SAMPLES))?;
        let grads = GradientsParams::from_grads(objective.backward(), &model);
        model = optimizer.step(LR, model, grads);
        pending.commit()?;
        trace.push((multipliers(&constraints), model.parameters()));
    }
    Ok(trace)
}

fn max_difference<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(u, v)| ((*u).into() - (*v).into()).abs())
        .fold(0.0, f64::max)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let workers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2).max(2);
    let steps: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(40);
    let start = std::time::Instant::now();

    let statistics = HostCollective::new(workers);
    let gradients = HostCollective::new(workers);
    let handles: Vec<_> = (0..workers)
        .map(|rank| {
            let (statistics, gradients) = (statistics.clone(), gradients.clone());
            thread::spawn(move || worker(rank, workers, steps, statistics, gradients))
        })
        .collect();
    let mut traces = Vec::new();
    let mut bytes = 0;
    for handle in handles {
        let (trace, sent) = handle.join().map_err(|_| "a worker panicked")??;
        traces.push(trace);
        bytes += sent;
    }
    let single = single_device(steps)?;

    let (mut across, mut versus, mut parameters, mut replicas) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for t in 0..steps {
        let (reference, weights) = &traces[0][t];
        for other in &traces[1..] {
            across = across.max(max_difference(&other[t].0, reference));
            replicas = replicas.max(max_difference(&other[t].1, weights));
        }
        versus = versus.max(max_difference(reference, &single[t].0));
        parameters = parameters.max(max_difference(weights, &single[t].1));
        if t % 10 == 9 || t + 1 == steps {
            println!(
                "step {:3}: rate multiplier {:.4}, active per-sample multipliers {}, max difference across workers {:e}, vs one device {:e}",
                t + 1,
                reference[0],
                reference[1..].iter().filter(|l| **l > 0.0).count(),
                across,
                versus
            );
        }
    }
    let last = &traces[0][steps - 1].0;
    let summary = serde_json::json!({
        "devices": workers,
        "steps": steps,
        "samples": SAMPLES,
        "max_multiplier_difference_across_devices": across,
        "max_multiplier_difference_vs_single_device": versus,
        "max_parameter_difference_across_devices": replicas,
        "max_parameter_difference_vs_single_device": parameters,
        "rate_multiplier": last[0],
        "active_per_sample_multipliers": last[1..].iter().filter(|l| **l > 0.0).count(),
        "statistics_bytes_per_worker_step": bytes as f64 / (workers * steps) as f64,
        "seconds": start.elapsed().as_secs_f64(),
    });
    println!("{summary}");
    Ok(())
}

/// burn's Adam defaults, written out (no paper to follow here): betas 0.9
/// and 0.999, eps 1e-5 (PyTorch's would be 1e-8), no weight decay. The
/// workers and the single-device run use the same.
fn adam() -> AdamConfig {
    AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-5)
        .with_amsgrad(false)
        .with_weight_decay(None)
}
