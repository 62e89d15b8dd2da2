//! Throughput of independent training runs on several cores: `k` copies of
//! the same run at once against one run alone, with the copies as threads
//! of this process (how `reproduce --threads k` runs an experiment's
//! independent runs) and as separate processes (`feasible bench loop`).
//!
//! The two ways differ in what the runs share. Threads share the process:
//! its allocator and burn-autodiff's graph registry, one mutex-protected
//! map in which every autodiff operation of every thread registers its node
//! (`burn-autodiff` 0.22.1, `runtime/graph.rs`, `static STATE`). Processes
//! share only the machine (its caches and memory bandwidth). The ratio
//! `k × time(one run) / time(k runs at once)` is the throughput gained; `k`
//! is the ideal.
//!
//! Rounds are interleaved (one run alone, the threads, the processes), and
//! medians are reported.

use std::process::Command;
use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;

use super::{Loop, median, train};
use crate::experiments::rate::{self, RateConfig, RateData};

/// The throughput of `copies` concurrent runs against one.
#[derive(Clone, Debug, Serialize)]
pub struct Scaling {
    /// Always `scaling`.
    pub bench: &'static str,
    /// The loop every run trains (the rate task).
    pub kind: Loop,
    /// Steps per run.
    pub steps: usize,
    /// Concurrent runs.
    pub copies: usize,
    /// Rounds.
    pub rounds: usize,
    /// Median wall time of one run alone, seconds (in this process).
    pub alone_seconds: f64,
    /// Median wall time of `copies` runs as threads of this process.
    pub threads_seconds: f64,
    /// Median wall time of `copies` runs as separate processes.
    pub processes_seconds: f64,
    /// Median wall time of one run alone as a separate process.
    pub process_alone_seconds: f64,
    /// `copies × alone / threads`: throughput of the threads over one run.
    pub threads_speedup: f64,
    /// `copies × process alone / processes`: the same for processes.
    pub processes_speedup: f64,
}

/// One run of `kind`, `steps` steps, in a child process (`feasible bench
/// loop`), wall time measured here (start-up included, about a millisecond).
fn spawn_loop(kind: Loop, steps: usize, device: &str) -> anyhow::Result<std::process::Child> {
    let exe = std::env::current_exe()?;
    Ok(Command::new(exe)
        .args(["bench", "loop", "--json", "--kind", kind.name(), "--device", device])
        .args(["--steps", &steps.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()?)
}

fn wait_all(children: Vec<std::process::Child>) -> anyhow::Result<()> {
    for mut child in children {
        let status = child.wait()?;
        anyhow::ensure!(status.success(), "a benchmark process failed: {status}");
    }
    Ok(())
}

/// Times `copies` concurrent runs of `kind` (threads, then processes)
/// against one run, `rounds` interleaved rounds. `device_name` is the
/// device's name on the command line, for the child processes.
pub fn run(
    device: &Device,
    device_name: &str,
    kind: Loop,
    steps: usize,
    copies: usize,
    rounds: usize,
    mut progress: impl FnMut(),
) -> anyhow::Result<Scaling> {
    let copies = copies.max(1);
    let points = rate::points(&RateConfig::default());
    let ad = device.clone().autodiff();
    let one = |_: &usize| -> anyhow::Result<()> {
        let data = RateData::new(&points, &ad);
        train(kind, &data, steps, |_| {}).map(|_| ())
    };
    // Warm-up: the allocator, the thread pool, the page cache of the binary.
    one(&0)?;
    let (mut alone, mut threads, mut processes, mut process_alone) = (vec![], vec![], vec![], vec![]);
    let jobs: Vec<usize> = (0..copies).collect();
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        one(&0)?;
        alone.push(start.elapsed().as_secs_f64());

        let start = Instant::now();
        // Threads of their own (not tasks of rayon's pool): the measurement
        // of BENCHMARKS.md §8.
        std::thread::scope(|scope| {
            let copies: Vec<_> = jobs.iter().map(|j| scope.spawn(|| one(j))).collect();
            copies
                .into_iter()
                .map(|c| c.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a copy panicked"))))
                .collect::<anyhow::Result<Vec<()>>>()
        })?;
        threads.push(start.elapsed().as_secs_f64());

        let start = Instant::now();
        wait_all(vec![spawn_loop(kind, steps, device_name)?])?;
        process_alone.push(start.elapsed().as_secs_f64());

        let start = Instant::now();
        let children = (0..copies)
            .map(|_| spawn_loop(kind, steps, device_name))
            .collect::<anyhow::Result<Vec<_>>>()?;
        wait_all(children)?;
        processes.push(start.elapsed().as_secs_f64());
        progress();
    }
    let (alone_seconds, threads_seconds) = (median(&alone), median(&threads));
    let (process_alone_seconds, processes_seconds) = (median(&process_alone), median(&processes));
    Ok(Scaling {
        bench: "scaling",
        kind,
        steps,
        copies,
        rounds: alone.len(),
        alone_seconds,
        threads_seconds,
        processes_seconds,
        process_alone_seconds,
        threads_speedup: copies as f64 * alone_seconds / threads_seconds,
        processes_speedup: copies as f64 * process_alone_seconds / processes_seconds,
    })
}

/// Renders the result.
pub fn render(s: &Scaling) -> String {
    format!(
        "Independent runs: {copies} copies of `{kind}` ({steps} steps), median of {rounds} interleaved rounds\n\
         \x20 one run alone (thread)     {alone:.3} s\n\
         \x20 {copies} runs as threads      {threads:.3} s   throughput x{ts:.2} (ideal x{copies})\n\
         \x20 one run alone (process)    {palone:.3} s\n\
         \x20 {copies} runs as processes    {procs:.3} s   throughput x{ps:.2}\n",
        copies = s.copies,
        kind = s.kind.name(),
        steps = s.steps,
        rounds = s.rounds,
        alone = s.alone_seconds,
        threads = s.threads_seconds,
        ts = s.threads_speedup,
        palone = s.process_alone_seconds,
        procs = s.processes_seconds,
        ps = s.processes_speedup,
    )
}
