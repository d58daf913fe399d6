//! One kind of background work ([`Job`]): a key says what a result is computed from, the
//! result keeps its key ([`Stamped`]), and a view draws it through that key.

use super::super::inputs::Freshness;
use super::worker::{JobContext, Mode, Worker};

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

    /// Whether the job's results wake the UI (see [`Worker::set_quiet`]).
    pub fn set_quiet(&self, quiet: bool) {
        self.worker.set_quiet(quiet);
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
