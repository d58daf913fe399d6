//! A named background thread that runs the latest job only.
//!
//! The UI submits jobs; a newer job supersedes an older one (the older one's cancel flag is
//! set and its messages are dropped by generation). A job may send several messages (a
//! quick preview, then the refined result). Three [`Mode`]s: on a thread (the app), inline
//! inside `submit` (tests and benchmarks see the result on the next frame), or deferred
//! until [`Worker::run_pending`] (the UI fuzz test decides when work "finishes", so stale
//! results meet new inputs in every order, reproducibly).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};

/// What a running job can see: its cancel flag, a progress counter and its outbox.
pub struct JobContext<M> {
    generation: u64,
    cancel: Arc<AtomicBool>,
    progress: Arc<AtomicUsize>,
    outbox: Sender<(u64, M)>,
    repaint: Option<egui::Context>,
    quiet: Arc<AtomicBool>,
}

impl<M> JobContext<M> {
    /// Wake the UI, unless the worker is quiet (see [`Worker::set_quiet`]).
    fn wake(&self) {
        wake(self.repaint.as_ref(), &self.quiet);
    }

    /// Send a message to the UI (dropped if the UI has gone).
    pub fn send(&self, message: M) {
        // The UI may have closed; a failed send only means nobody is listening.
        let _ = self.outbox.send((self.generation, message));
        self.wake();
    }

    /// True once a newer job has superseded this one.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The cancel flag, for core functions that take one.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// Set the progress counter (the unit is the job's own, e.g. timesteps done).
    pub fn set_progress(&self, done: usize) {
        self.progress.store(done, Ordering::Relaxed);
        self.wake();
    }
}

type JobFn<J, M> = dyn Fn(J, &JobContext<M>) + Send + Sync;

/// Ask `repaint` for a new frame unless `quiet`.
fn wake(repaint: Option<&egui::Context>, quiet: &AtomicBool) {
    if let Some(ctx) = repaint
        && !quiet.load(Ordering::Relaxed)
    {
        ctx.request_repaint();
    }
}

struct Slot<J> {
    job: Option<(u64, J, Arc<AtomicBool>)>,
    shutdown: bool,
}

struct Shared<J> {
    slot: Mutex<Slot<J>>,
    wake: Condvar,
    busy: AtomicBool,
}

/// How a worker runs its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On a named background thread (the app).
    Thread,
    /// Inside `submit` (tests and benchmarks: deterministic, immediate).
    Inline,
    /// Queued until [`Worker::run_pending`] runs the latest job inline (the fuzz test).
    Deferred,
}

/// A worker running the latest submitted job on a named thread (or inline, or deferred).
pub struct Worker<J, M> {
    shared: Arc<Shared<J>>,
    run: Arc<JobFn<J, M>>,
    generation: AtomicU64,
    current_cancel: Mutex<Arc<AtomicBool>>,
    progress: Arc<AtomicUsize>,
    outbox: Sender<(u64, M)>,
    inbox: Receiver<(u64, M)>,
    mode: Mode,
    quiet: Arc<AtomicBool>,
}

impl<J: Send + 'static, M: Send + 'static> Worker<J, M> {
    /// Start a worker in `mode` (a thread is spawned only for [`Mode::Thread`]).
    pub fn new(
        name: &str,
        mode: Mode,
        repaint: Option<egui::Context>,
        run: impl Fn(J, &JobContext<M>) + Send + Sync + 'static,
    ) -> Self {
        let (outbox, inbox) = channel();
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot {
                job: None,
                shutdown: false,
            }),
            wake: Condvar::new(),
            busy: AtomicBool::new(false),
        });
        let run: Arc<JobFn<J, M>> = Arc::new(run);
        let progress = Arc::new(AtomicUsize::new(0));
        let quiet = Arc::new(AtomicBool::new(false));
        let mut worker = Worker {
            shared: Arc::clone(&shared),
            run: Arc::clone(&run),
            generation: AtomicU64::new(0),
            current_cancel: Mutex::new(Arc::new(AtomicBool::new(false))),
            progress: Arc::clone(&progress),
            outbox: outbox.clone(),
            inbox,
            mode,
            quiet: Arc::clone(&quiet),
        };
        if mode == Mode::Thread {
            let spawned = std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || worker_loop(&shared, &*run, &outbox, &progress, repaint, quiet));
            if spawned.is_err() {
                // Without a thread, fall back to running jobs inline: slower, never lost.
                worker.mode = Mode::Inline;
            }
        }
        worker
    }

    /// Submit a job; it supersedes any job queued or running. Returns its generation.
    pub fn submit(&self, job: J) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let cancel = Arc::new(AtomicBool::new(false));
        if let Ok(mut current) = self.current_cancel.lock() {
            current.store(true, Ordering::Relaxed);
            *current = Arc::clone(&cancel);
        }
        self.progress.store(0, Ordering::Relaxed);
        if self.mode == Mode::Inline {
            self.run_inline(generation, job, cancel);
        } else if let Ok(mut slot) = self.shared.slot.lock() {
            slot.job = Some((generation, job, cancel));
            self.shared.busy.store(true, Ordering::SeqCst);
            if self.mode == Mode::Thread {
                self.shared.wake.notify_one();
            }
        }
        generation
    }

    fn run_inline(&self, generation: u64, job: J, cancel: Arc<AtomicBool>) {
        let ctx = JobContext {
            generation,
            cancel,
            progress: Arc::clone(&self.progress),
            outbox: self.outbox.clone(),
            repaint: None,
            quiet: Arc::clone(&self.quiet),
        };
        (self.run)(job, &ctx);
    }

    /// In [`Mode::Deferred`], run the queued job (if any) now; returns whether one ran.
    /// In the other modes there is never a queued job to run here.
    pub fn run_pending(&self) -> bool {
        if self.mode != Mode::Deferred {
            return false;
        }
        let job = self.shared.slot.lock().ok().and_then(|mut s| s.job.take());
        let Some((generation, job, cancel)) = job else {
            return false;
        };
        self.run_inline(generation, job, cancel);
        self.shared.busy.store(false, Ordering::SeqCst);
        true
    }

    /// Messages of the latest job that arrived since the last call (older jobs' are dropped).
    pub fn poll(&self) -> Vec<M> {
        let latest = self.generation.load(Ordering::SeqCst);
        self.inbox
            .try_iter()
            .filter(|(generation, _)| *generation == latest)
            .map(|(_, m)| m)
            .collect()
    }

    /// True while a job is queued or running.
    pub fn is_busy(&self) -> bool {
        self.mode != Mode::Inline && self.shared.busy.load(Ordering::SeqCst)
    }

    /// Progress of the running job, in the job's own unit.
    pub fn progress(&self) -> usize {
        self.progress.load(Ordering::Relaxed)
    }

    /// How jobs run.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A quiet worker does not wake the UI when its jobs send or finish: for work the UI
    /// asks for on every frame anyway (the fields while the timeline plays), whose results
    /// the next frame it draws on its own picks up. A wake-up per result would draw an
    /// extra frame for each.
    pub fn set_quiet(&self, quiet: bool) {
        self.quiet.store(quiet, Ordering::Relaxed);
    }
}

impl<J, M> Drop for Worker<J, M> {
    fn drop(&mut self) {
        if let Ok(current) = self.current_cancel.lock() {
            current.store(true, Ordering::Relaxed);
        }
        if let Ok(mut slot) = self.shared.slot.lock() {
            slot.shutdown = true;
            slot.job = None;
        }
        self.shared.wake.notify_all();
    }
}

fn worker_loop<J, M>(
    shared: &Shared<J>,
    run: &JobFn<J, M>,
    outbox: &Sender<(u64, M)>,
    progress: &Arc<AtomicUsize>,
    repaint: Option<egui::Context>,
    quiet: Arc<AtomicBool>,
) {
    loop {
        let next = {
            let Ok(mut slot) = shared.slot.lock() else {
                return;
            };
            loop {
                if slot.shutdown {
                    return;
                }
                if let Some(job) = slot.job.take() {
                    break job;
                }
                shared.busy.store(false, Ordering::SeqCst);
                wake(repaint.as_ref(), &quiet);
                slot = match shared.wake.wait(slot) {
                    Ok(slot) => slot,
                    Err(_) => return,
                };
            }
        };
        let (generation, job, cancel) = next;
        let ctx = JobContext {
            generation,
            cancel,
            progress: Arc::clone(progress),
            outbox: outbox.clone(),
            repaint: repaint.clone(),
            quiet: Arc::clone(&quiet),
        };
        run(job, &ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn synchronous_worker_delivers_on_submit() {
        let w: Worker<u32, u32> = Worker::new("t", Mode::Inline, None, |j, ctx| ctx.send(j * 2));
        w.submit(21);
        assert_eq!(w.poll(), vec![42]);
    }

    #[test]
    fn deferred_worker_runs_only_the_latest_job_when_told() {
        let w: Worker<u32, u32> = Worker::new("t", Mode::Deferred, None, |j, ctx| ctx.send(j * 2));
        w.submit(1);
        w.submit(21);
        assert!(w.is_busy());
        assert!(w.poll().is_empty());
        assert!(w.run_pending());
        assert!(!w.is_busy());
        assert_eq!(w.poll(), vec![42]);
        assert!(!w.run_pending());
    }

    #[test]
    fn newer_job_supersedes_older() {
        let w: Worker<u64, u64> = Worker::new("elbo-lab-test", Mode::Thread, None, |j, ctx| {
            let start = Instant::now();
            while !ctx.cancelled() && start.elapsed() < Duration::from_millis(j) {
                std::thread::sleep(Duration::from_millis(1));
            }
            if !ctx.cancelled() {
                ctx.send(j);
            }
        });
        w.submit(2_000);
        w.submit(5);
        let start = Instant::now();
        let mut got = Vec::new();
        while got.is_empty() && start.elapsed() < Duration::from_secs(5) {
            got = w.poll();
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(got, vec![5]);
        assert!(start.elapsed() < Duration::from_millis(1_500));
    }
}
