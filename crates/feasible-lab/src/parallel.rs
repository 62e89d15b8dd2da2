//! Runs independent jobs (one training run each) on a few threads, or on a
//! few worker processes.
//!
//! Threads of one process share burn-autodiff's graph registry: every
//! autodiff operation of every thread takes one global mutex to register its
//! node (`burn-autodiff` 0.22.1, `runtime/graph.rs`), and every backward pass
//! sweeps all threads' graphs. On small models, whose steps are mostly such
//! bookkeeping, two training threads then slow each other down
//! (`feasible bench scaling`, BENCHMARKS.md §8). Worker processes share
//! nothing: [`run_isolated`] starts one child of the lab's binary per job
//! (`feasible job NAME`, reading the job as JSON on stdin and writing its
//! output as JSON on stdout) where the binary allows it
//! ([`enable_processes`]), and runs the jobs on threads otherwise (in tests,
//! whose binary is not the lab's).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A job that can run in a worker process: it and its output cross the
/// process boundary as JSON (`serde_json` with `float_roundtrip`: every
/// `f64` comes back bit for bit).
pub trait ProcessJob: Serialize + DeserializeOwned + Sync {
    /// What the job returns.
    type Output: Serialize + DeserializeOwned + Send;
    /// Its name on the worker's command line (`feasible job NAME`).
    const NAME: &'static str;
    /// Runs the job here.
    fn run(&self) -> anyhow::Result<Self::Output>;
}

static PROCESSES: AtomicBool = AtomicBool::new(false);

/// Lets [`run_isolated`] start worker processes of the current executable:
/// called by the lab's binary, which answers `feasible job NAME`.
pub fn enable_processes() {
    PROCESSES.store(true, Ordering::Relaxed);
}

/// Runs `jobs` with `workers` at a time, each in its own process when
/// [`enable_processes`] was called and `workers > 1` (a single worker runs
/// the jobs in this process, one after the other, as does a binary that did
/// not enable processes); `finish(job, output)` turns each job's output
/// into its result, on the worker's thread, as soon as the job ends.
/// Returns the results in job order.
pub fn run_isolated<J: ProcessJob, R: Send>(
    jobs: &[J],
    workers: usize,
    finish: impl Fn(&J, anyhow::Result<J::Output>) -> R + Sync,
) -> Vec<R> {
    let in_processes = workers > 1 && PROCESSES.load(Ordering::Relaxed);
    run_jobs(
        jobs,
        workers,
        |job| {
            let output = if in_processes { in_child(job) } else { job.run() };
            finish(job, output)
        },
        |_| {},
    )
}

/// Runs `job` in a child process of the current executable and waits.
fn in_child<J: ProcessJob>(job: &J) -> anyhow::Result<J::Output> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["job", J::NAME])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let input = serde_json::to_vec(job)?;
    // Written and closed before the output is read: the child reads all of
    // its input before it writes anything.
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("the worker process has no stdin"))?
        .write_all(&input)?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        anyhow::bail!(
            "worker process `{}` failed ({}): {}",
            J::NAME,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The worker's side: reads one `J` as JSON from stdin, runs it, and writes
/// its output as JSON to stdout.
pub fn serve<J: ProcessJob>() -> anyhow::Result<()> {
    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input)?;
    let job: J = serde_json::from_slice(&input)?;
    let output = job.run()?;
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &output)?;
    stdout.flush()?;
    Ok(())
}

/// Runs `work` on every job with `threads` threads (at least 1), calling
/// `done` after each job finishes; returns the results in job order.
pub fn run_jobs<J: Sync, R: Send>(
    jobs: &[J],
    threads: usize,
    work: impl Fn(&J) -> R + Sync,
    done: impl Fn(&R) + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let result = work(job);
                    done(&result);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_job_order() {
        let jobs: Vec<u64> = (0..37).collect();
        let count = AtomicUsize::new(0);
        let out = run_jobs(
            &jobs,
            3,
            |j| j * j,
            |_| {
                count.fetch_add(1, Ordering::Relaxed);
            },
        );
        assert_eq!(out, jobs.iter().map(|j| j * j).collect::<Vec<_>>());
        assert_eq!(count.load(Ordering::Relaxed), 37);
    }
}
