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

use feasible_burn::compute_pool::{self, IdleWorkers};

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
    if !in_processes {
        return run_jobs(jobs, workers, |job| finish(job, job.run()), |_| {});
    }
    // A thread per worker process, waiting for it: as many as asked,
    // whatever the size of rayon's pool.
    let workers = workers.min(jobs.len().max(1));
    run_loops(
        jobs,
        workers,
        Loops::OnThreads,
        |job| finish(job, in_child(job)),
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

/// Appends each of `extra` to `jobs` unless it is there already
/// (a sweep point that repeats one of the rows' trainings, or an earlier
/// point); returns, for each of `extra` in order, its job's index in
/// `jobs`. Every job then runs once and each of `extra` reads its result.
pub fn push_distinct<J: PartialEq>(jobs: &mut Vec<J>, extra: impl IntoIterator<Item = J>) -> Vec<usize> {
    extra
        .into_iter()
        .map(|job| match jobs.iter().position(|known| *known == job) {
            Some(k) => k,
            None => {
                jobs.push(job);
                jobs.len() - 1
            }
        })
        .collect()
}

/// Runs `work` on every job with `threads` threads (at least 1), calling
/// `done` after each job finishes; returns the results in job order. One
/// thread (or one job) runs on the calling thread. More run as tasks of
/// rayon's pool when it has that many threads, so that a training's matrix
/// products are computed by the thread that runs it instead of queueing for
/// a worker that another training keeps busy; otherwise (more threads asked
/// than the pool has) on threads of their own, as many as asked.
pub fn run_jobs<J: Sync, R: Send>(
    jobs: &[J],
    threads: usize,
    work: impl Fn(&J) -> R + Sync,
    done: impl Fn(&R) + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, jobs.len().max(1));
    if threads == 1 {
        // On this thread: on the compute pool's worker ([`on_compute_pool`]),
        // the run takes part in its own matrix products.
        return jobs
            .iter()
            .map(|job| {
                let result = work(job);
                done(&result);
                result
            })
            .collect();
    }
    // Never more tasks than workers: a task queued behind a busy worker
    // would be picked up by a training waiting inside its own products, and
    // run on top of it.
    let on = if threads <= rayon::current_num_threads() {
        Loops::OnThePool
    } else {
        Loops::OnThreads
    };
    run_loops(jobs, threads, on, work, done)
}

/// Where [`run_loops`] runs its loops.
#[derive(Clone, Copy)]
enum Loops {
    /// Tasks of rayon's pool: jobs that compute.
    OnThePool,
    /// Threads of their own: jobs that wait (for a child process).
    OnThreads,
}

/// `loops` loops that take the next job until none is left.
fn run_loops<J: Sync, R: Send>(
    jobs: &[J],
    loops: usize,
    on: Loops,
    work: impl Fn(&J) -> R + Sync,
    done: impl Fn(&R) + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let drain = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else { break };
            let result = work(job);
            done(&result);
            results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
        }
    };
    match on {
        Loops::OnThePool => rayon::scope(|scope| {
            for _ in 0..loops {
                scope.spawn(|_| drain());
            }
        }),
        Loops::OnThreads => std::thread::scope(|scope| {
            for _ in 0..loops {
                scope.spawn(drain);
            }
        }),
    }
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Stack of the pool's workers: the main thread's 8 MiB (burn's backward
/// pass recurses over the graph), not rayon's default.
const POOL_STACK_BYTES: usize = 8 << 20;

/// Runs `work` on a worker of rayon's global thread pool, the pool that
/// burn-flex hands its large matrix products to (`RAYON_NUM_THREADS`
/// threads, else one per core), with the pool's other workers kept awake
/// while it runs: [`feasible_burn::compute_pool::on_compute_pool`] with
/// [`IdleWorkers::Spin`], or [`IdleWorkers::Sleep`] when
/// `FEASIBLE_HOT_WORKERS=0` (BENCHMARKS.md §8, stop 20 and "December 2,
/// evening"). The pool is built here (threads named `feasible-N`, 8 MiB
/// stacks) unless it exists already; then it is used as it is.
pub fn on_compute_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(POOL_STACK_BYTES)
        .thread_name(|i| format!("feasible-{i}"))
        .build_global();
    let idle = match std::env::var("FEASIBLE_HOT_WORKERS") {
        Ok(v) if v == "0" => IdleWorkers::Sleep,
        _ => IdleWorkers::Spin,
    };
    compute_pool::on_compute_pool(idle, work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_runs_the_jobs_on_the_calling_thread_and_more_on_the_pool() {
        let here = std::thread::current().id();
        let on_one = run_jobs(&[0, 1, 2], 1, |_| std::thread::current().id(), |_| {});
        assert_eq!(on_one, vec![here; 3]);
        // More: tasks of rayon's pool where it has two threads (this test's
        // thread is not one of its workers), threads of their own otherwise.
        let on_two = run_jobs(
            &[0, 1, 2],
            2,
            |_| (std::thread::current().id(), rayon::current_thread_index()),
            |_| {},
        );
        let pool_has_two = rayon::current_num_threads() >= 2;
        assert!(
            on_two
                .iter()
                .all(|(id, worker)| *id != here && worker.is_some() == pool_has_two)
        );
        // More than the pool has: threads of their own, all running at once
        // (each job lasts 200 ms; in turn, at most one would be running).
        let loops = rayon::current_num_threads() + 1;
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let jobs: Vec<usize> = (0..loops).collect();
        run_jobs(
            &jobs,
            loops,
            |_| {
                most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(200));
                running.fetch_sub(1, Ordering::SeqCst);
            },
            |_| {},
        );
        assert_eq!(most.load(Ordering::SeqCst), loops);
    }

    #[test]
    fn the_work_runs_on_a_worker_of_the_compute_pool_when_it_has_two_threads() {
        let (on_worker, threads) =
            on_compute_pool(|| (rayon::current_thread_index().is_some(), rayon::current_num_threads()));
        assert_eq!(on_worker, threads >= 2, "{threads} threads in the pool");
    }

    #[test]
    fn repeated_jobs_are_pushed_once_and_point_to_the_first() {
        let mut jobs = vec![10, 20];
        let at = push_distinct(&mut jobs, [20, 30, 30, 10, 40]);
        assert_eq!(jobs, vec![10, 20, 30, 40]);
        assert_eq!(at, vec![1, 2, 2, 0, 3]);
    }

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
