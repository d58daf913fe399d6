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
mod job;
pub mod reverse;
pub mod step;
mod texture;
pub mod worker;

pub use job::{Job, JobKey, JobResult, Progress, Shown, Stamped, Status};
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
    /// The Denoising step tab's terms of the true reverse step.
    Step(step::StepKey),
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
    /// The Denoising step tab's terms of the true reverse step.
    pub step: step::StepJob,
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
            compare: compare::job(mode, repaint.clone()),
            step: step::job(mode, repaint),
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
            Want::Step(key) => self.step.request(key),
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
            Want::Step(key) => self.step.freshness(key),
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
            self.step.poll(),
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
            self.step.run_pending(),
        ];
        ran.contains(&true)
    }

    /// While the timeline plays, every frame asks for the fields at its new t and the
    /// next frame, which the timeline asks for itself, picks the result up: the fields job
    /// then wakes nobody (a frame per result would double the frames drawn).
    pub fn set_playing(&self, playing: bool) {
        self.fields.set_quiet(playing);
    }

    /// True while any job is queued or running.
    pub fn is_busy(&self) -> bool {
        self.elbo.is_busy()
            || self.statics.is_busy()
            || self.fields.is_busy()
            || self.reverse.is_busy()
            || self.evidence.is_busy()
            || self.compare.is_busy()
            || self.step.is_busy()
    }
}
