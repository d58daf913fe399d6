//! Background work, one mechanism for every kind of result.
//!
//! ```text
//! tab / shell:  job.request(key)          a key says what a result is computed from
//!      Job:     dedup against the key asked for, submit to its Worker (a named thread,
//!               inline, or deferred until `run_pending`)
//! shell, once a frame:  job.poll()        the latest job's messages fold into its result
//! views:        job.shown(&now)           the result with `current` (false: draw it dimmed)
//!               job.freshness(&now)       Current | Computing | Failed | Missing
//!               job.progress()            done / total, in the key's own unit
//! ```
//! A result keeps the key it was computed from ([`Stamped`]), so it is drawn only through
//! that key and never mistaken for a result of newer inputs. [`JobKey::covers`] is the one
//! staleness test; [`JobResult::status`] the one convention for partial, complete and
//! failed results.

pub mod compare;
pub mod elbo;
pub mod evidence;
pub mod forward;
pub mod reverse;
mod texture;
pub mod worker;

pub use texture::LazyTexture;
pub use worker::{JobContext, Mode, Worker};

use super::inputs::Freshness;

/// How an app runs its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppOptions {
    /// Threads (the app), inline (tests, benchmarks) or deferred (the fuzz test).
    pub mode: Mode,
    /// Particle counts of the reverse view.
    pub reverse_sizes: reverse::ReverseSizes,
    /// How much the Evidence tab computes.
    pub evidence_detail: evidence::EvidenceDetail,
}

impl AppOptions {
    /// Jobs in `mode`, at full size.
    pub fn new(mode: Mode) -> Self {
        AppOptions {
            mode,
            reverse_sizes: reverse::ReverseSizes::default(),
            evidence_detail: evidence::EvidenceDetail::Full,
        }
    }
}

/// A piece of work a tab (or the shell) wants for what it draws now: the key of one job.
#[derive(Clone)]
pub enum Want {
    /// The ELBO table.
    Elbo(elbo::ElboKey),
    /// The river and the particles.
    Statics(forward::StaticsKey),
    /// The fields at t.
    Fields(forward::FieldKey),
    /// The two reverse runs.
    Reverse(reverse::ReverseJob),
    /// The Evidence tab's results.
    Evidence(evidence::EvidenceKey),
    /// The comparison table.
    Compare(compare::CompareKey),
}

/// The least fresh of `states` (Current when there are none).
pub fn worst(states: impl IntoIterator<Item = Freshness>) -> Freshness {
    let rank = |f: &Freshness| match f {
        Freshness::Current => 0,
        Freshness::Computing => 1,
        Freshness::Failed => 2,
        Freshness::Missing => 3,
    };
    states
        .into_iter()
        .max_by_key(rank)
        .unwrap_or(Freshness::Current)
}

/// What a job is computed from.
pub trait JobKey: Clone + Send + 'static {
    /// True when a result computed from `self` is current for `now` (identity of shared
    /// inputs, equality of settings).
    fn covers(&self, now: &Self) -> bool;

    /// Units of work of a job of this key, for progress; 0 when it is not counted.
    fn total(&self) -> usize {
        0
    }
}

/// How far a result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing yet, or a preview: more is coming while the job runs.
    Partial,
    /// Everything the view needs is in.
    Complete,
    /// The job failed; the result says why.
    Failed,
}

/// What a job's messages build up to: a preview, then the full result, parts as they come.
pub trait JobResult: Default {
    /// What the job sends.
    type Message: Send + 'static;

    /// Take one message of the job.
    fn absorb(&mut self, message: Self::Message);

    /// How far the result is.
    fn status(&self) -> Status;
}

/// A result with the key it was computed from.
pub struct Stamped<K, R> {
    /// What it was computed from.
    pub key: K,
    /// The result so far.
    pub value: R,
}

/// A result to draw and whether it belongs to the current key.
pub struct Shown<'a, T> {
    /// The result.
    pub value: &'a T,
    /// False: it is of an older key; draw it dimmed.
    pub current: bool,
}

/// Work done by the running job, in its key's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Units done.
    pub done: usize,
    /// Units in all (0: not counted).
    pub total: usize,
}

/// Every job of the app, polled once a frame by the shell (training keeps its own thread:
/// see `training.rs`).
pub struct Jobs {
    /// The ELBO table of the current inputs.
    pub elbo: elbo::ElboJob,
    /// The 1D river and the particles (data and schedule only).
    pub statics: forward::StaticsJob,
    /// Densities and predictions at t.
    pub fields: forward::FieldsJob,
    /// The Reverse tab's two runs and their quality figure.
    pub reverse: reverse::ReverseState,
    /// The Evidence tab's results.
    pub evidence: evidence::EvidenceState,
    /// The Schedule tab's comparison table.
    pub compare: compare::CompareJob,
    /// How the jobs run and how much they compute.
    pub options: AppOptions,
}

impl Jobs {
    /// Every job, on threads of their own (or inline, or deferred); `repaint` is woken when
    /// a message arrives.
    pub fn new(options: AppOptions, repaint: Option<egui::Context>) -> Self {
        let mode = options.mode;
        Jobs {
            options,
            elbo: elbo::job(mode, repaint.clone()),
            statics: forward::statics_job(mode, repaint.clone()),
            fields: forward::fields_job(mode, repaint.clone()),
            reverse: reverse::job(mode, repaint.clone()),
            evidence: evidence::job(mode, repaint.clone()),
            compare: compare::job(mode, repaint),
        }
    }

    /// Ask for `want` (nothing is submitted when it was asked for last).
    pub fn request(&mut self, want: Want) {
        match want {
            Want::Elbo(key) => self.elbo.request(key),
            Want::Statics(key) => self.statics.request(key),
            Want::Fields(key) => self.fields.request(key),
            Want::Reverse(key) => self.reverse.request(key),
            Want::Evidence(key) => self.evidence.request(key),
            Want::Compare(key) => self.compare.request(key),
        };
    }

    /// How the result of `want` stands.
    pub fn freshness(&self, want: &Want) -> Freshness {
        match want {
            Want::Elbo(key) => self.elbo.freshness(key),
            Want::Statics(key) => self.statics.freshness(key),
            Want::Fields(key) => self.fields.freshness(key),
            Want::Reverse(key) => self.reverse.freshness(key),
            Want::Evidence(key) => self.evidence.freshness(key),
            Want::Compare(key) => self.compare.freshness(key),
        }
    }

    /// Take what every job sent; returns whether anything arrived.
    pub fn poll(&mut self) -> bool {
        let arrived = [
            self.elbo.poll(),
            self.statics.poll(),
            self.fields.poll(),
            self.reverse.poll(),
            self.evidence.poll(),
            self.compare.poll(),
        ];
        arrived.contains(&true)
    }

    /// In [`Mode::Deferred`], run every queued job now; returns whether any ran.
    pub fn run_pending(&self) -> bool {
        let ran = [
            self.elbo.run_pending(),
            self.statics.run_pending(),
            self.fields.run_pending(),
            self.reverse.run_pending(),
            self.evidence.run_pending(),
            self.compare.run_pending(),
        ];
        ran.contains(&true)
    }

    /// True while any job is queued or running.
    pub fn is_busy(&self) -> bool {
        self.elbo.is_busy()
            || self.statics.is_busy()
            || self.fields.is_busy()
            || self.reverse.is_busy()
            || self.evidence.is_busy()
            || self.compare.is_busy()
    }
}

/// One kind of background work: the latest key asked for, its worker, and the latest
/// result (of that key, or of an older one until the new one sends anything).
pub struct Job<K: JobKey, R: JobResult> {
    worker: Worker<K, R::Message>,
    requested: Option<K>,
    latest: Option<Stamped<K, R>>,
    /// The job asked for last has sent nothing yet: its first message starts a new result
    /// (until then the latest one stays drawn).
    fresh: bool,
}

impl<K: JobKey, R: JobResult> Job<K, R> {
    /// A job whose work `run` does on a thread called `name` (or inline, or deferred: see
    /// [`Mode`]); `repaint` is woken when a message arrives.
    pub fn new(
        name: &str,
        mode: Mode,
        repaint: Option<egui::Context>,
        run: impl Fn(K, &JobContext<R::Message>) + Send + Sync + 'static,
    ) -> Self {
        Job {
            worker: Worker::new(name, mode, repaint, run),
            requested: None,
            latest: None,
            fresh: false,
        }
    }

    /// Ask for a result of `key`, unless it is the key asked for last. A newer key
    /// supersedes the running job. Returns whether a job was submitted.
    ///
    /// A key asked for again after another one is computed again even when its result is
    /// still the latest: the other job, queued or running, would otherwise replace that
    /// result when it finishes, and nothing would ask for the key again.
    pub fn request(&mut self, key: K) -> bool {
        if self.requested.as_ref().is_some_and(|k| k.covers(&key)) {
            return false;
        }
        self.requested = Some(key.clone());
        self.fresh = true;
        self.worker.submit(key);
        true
    }

    /// Fold what the latest job sent into its result (messages of superseded jobs never
    /// arrive). Returns whether anything arrived.
    pub fn poll(&mut self) -> bool {
        let messages = self.worker.poll();
        let Some(key) = self.requested.as_ref() else {
            return false;
        };
        if messages.is_empty() {
            return false;
        }
        if std::mem::take(&mut self.fresh) {
            self.latest = Some(Stamped {
                key: key.clone(),
                value: R::default(),
            });
        }
        if let Some(latest) = self.latest.as_mut() {
            for message in messages {
                latest.value.absorb(message);
            }
        }
        true
    }

    /// The latest result with its key, current or not.
    pub fn latest(&self) -> Option<&Stamped<K, R>> {
        self.latest.as_ref()
    }

    /// The latest result, with whether it is of `now`.
    pub fn shown(&self, now: &K) -> Option<Shown<'_, R>> {
        self.latest.as_ref().map(|s| Shown {
            value: &s.value,
            current: s.key.covers(now),
        })
    }

    /// The result of `now`, if any of it is in.
    pub fn of(&self, now: &K) -> Option<&R> {
        self.latest
            .as_ref()
            .filter(|s| s.key.covers(now))
            .map(|s| &s.value)
    }

    /// How a view of `now` stands: its result is complete, failed, being computed, or
    /// (a bug the fuzz test looks for) none of these.
    pub fn freshness(&self, now: &K) -> Freshness {
        let status = self.of(now).map(R::status);
        match status {
            Some(Status::Complete) => Freshness::Current,
            Some(Status::Failed) => Freshness::Failed,
            _ if self.is_busy() => Freshness::Computing,
            _ => Freshness::Missing,
        }
    }

    /// True while a job is queued or running.
    pub fn is_busy(&self) -> bool {
        self.worker.is_busy()
    }

    /// Work done by the running job.
    pub fn progress(&self) -> Progress {
        let total = self.requested.as_ref().map_or(0, K::total);
        let done = self.worker.progress();
        Progress {
            done: if total > 0 { done.min(total) } else { done },
            total,
        }
    }

    /// In [`Mode::Deferred`], run the queued job now; returns whether one ran.
    pub fn run_pending(&self) -> bool {
        self.worker.run_pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key that covers keys of the same number.
    #[derive(Clone, Debug, PartialEq)]
    struct Key(u32);

    impl JobKey for Key {
        fn covers(&self, now: &Self) -> bool {
            self == now
        }
        fn total(&self) -> usize {
            2
        }
    }

    /// Sums what it is sent; complete once it has two parts, failed on a negative part.
    #[derive(Default)]
    struct Sum {
        parts: Vec<i64>,
    }

    impl JobResult for Sum {
        type Message = i64;
        fn absorb(&mut self, message: i64) {
            self.parts.push(message);
        }
        fn status(&self) -> Status {
            if self.parts.iter().any(|&p| p < 0) {
                Status::Failed
            } else if self.parts.len() >= 2 {
                Status::Complete
            } else {
                Status::Partial
            }
        }
    }

    fn job(mode: Mode) -> Job<Key, Sum> {
        Job::new("test-job", mode, None, |key: Key, ctx| {
            ctx.set_progress(1);
            ctx.send(i64::from(key.0));
            if key.0 != 7 {
                ctx.send(i64::from(key.0) * 10);
            }
        })
    }

    #[test]
    fn a_result_carries_its_key_and_old_results_are_shown_dimmed() {
        let mut j = job(Mode::Deferred);
        assert_eq!(j.freshness(&Key(1)), Freshness::Missing);
        assert!(j.request(Key(1)));
        assert!(!j.request(Key(1)), "the same key is asked for once");
        assert_eq!(j.freshness(&Key(1)), Freshness::Computing);
        assert!(j.run_pending());
        assert!(j.poll());
        assert_eq!(j.of(&Key(1)).map(|s| s.parts.clone()), Some(vec![1, 10]));
        assert_eq!(j.freshness(&Key(1)), Freshness::Current);
        assert!(
            !j.request(Key(1)),
            "a finished result is not asked for again"
        );
        // Key 1, then 9, then 1 again before 9 runs: 1 is asked for anew, or 9's result
        // would replace 1's and nothing would ask for 1 again.
        assert!(j.request(Key(9)));
        assert!(j.request(Key(1)));
        assert!(j.run_pending());
        j.poll();
        assert_eq!(j.freshness(&Key(1)), Freshness::Current);
        // A new key: the old result stays, dimmed, until the new one sends anything.
        assert!(j.request(Key(2)));
        let shown = j.shown(&Key(2)).expect("the old result");
        assert!(!shown.current);
        assert_eq!(shown.value.parts, vec![1, 10]);
        assert_eq!(j.freshness(&Key(2)), Freshness::Computing);
        assert!(j.run_pending());
        j.poll();
        assert!(j.shown(&Key(2)).is_some_and(|s| s.current));
        assert_eq!(j.latest().map(|s| s.key.clone()), Some(Key(2)));
    }

    #[test]
    fn a_superseded_job_sends_nothing_and_a_partial_result_is_asked_for_again() {
        let mut j = job(Mode::Deferred);
        j.request(Key(3));
        j.request(Key(4));
        // Only the latest job is queued; run it.
        assert!(j.run_pending());
        assert!(!j.run_pending());
        j.poll();
        assert!(j.of(&Key(3)).is_none());
        assert_eq!(j.of(&Key(4)).map(|s| s.parts.len()), Some(2));
        // Key 7 sends one part only: partial, and once idle the view says Missing.
        j.request(Key(7));
        j.run_pending();
        j.poll();
        assert_eq!(j.freshness(&Key(7)), Freshness::Missing);
        assert!(
            !j.request(Key(7)),
            "the key asked for last is not asked for twice"
        );
    }

    #[test]
    fn inline_jobs_are_in_at_the_next_poll_with_their_progress() {
        let mut j = job(Mode::Inline);
        j.request(Key(5));
        assert!(!j.is_busy());
        assert_eq!(j.progress(), Progress { done: 1, total: 2 });
        assert!(j.poll());
        assert_eq!(j.freshness(&Key(5)), Freshness::Current);
        let mut failing: Job<Key, Sum> = Job::new("failing", Mode::Inline, None, |_, ctx| {
            ctx.send(-1);
        });
        failing.request(Key(1));
        failing.poll();
        assert_eq!(failing.freshness(&Key(1)), Freshness::Failed);
    }
}
