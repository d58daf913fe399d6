//! The Denoising step tab's computation, on its own worker: the true reverse step's terms
//! `R_t = G_t + M_t` for every t (`elbo_core::reverse_step`) with the side panel's model
//! and reverse variance; what the optimal model leaves under each of the three variances;
//! and the sum of `G_t` along the same `abar_t` path taken in fewer steps (the true step
//! becoming Gaussian as the steps shrink): T' steps landing on `abar` at every (T / T')-th
//! step of the schedule, so only the step size changes, not where the path goes.
//!
//! 1D data only. A result carries the [`StepKey`] it was computed from and is drawn only
//! while that key matches; the app asks for it while the tab's third part is open.

use std::sync::Arc;

use elbo_core::denoiser::{Denoiser, MixtureDenoiser};
use elbo_core::elbo::Control;
use elbo_core::evidence::{EvidenceError, Valued, model_variances};
use elbo_core::reverse_step::{
    ReverseStepConfig, ReverseSteps, non_gaussianity_total, progress_total, reverse_steps_for,
};
use elbo_core::schedule::{NoiseSchedule, VarianceType};

use super::super::inputs::{Depends, Inputs};
use super::super::model::Applied;
use super::evidence::EvidenceDetail;
use super::job::{Job, JobKey, JobResult, Status};
use super::worker::{JobContext, Mode};

/// The T at which the sum of `G_t` is shown, full detail.
pub const FAMILY_STEPS: [usize; 3] = [10, 100, 1000];
/// The T at which the sum of `G_t` is shown in [`EvidenceDetail::Light`] (tests in debug
/// builds).
const LIGHT_FAMILY_STEPS: [usize; 2] = [10, 50];

/// The three reverse variances, in the order the tab lists them.
pub const VARIANCES: [VarianceType; 3] = [
    VarianceType::FixedSmall,
    VarianceType::FixedLarge,
    VarianceType::Analytic,
];

/// Everything the tab's results are computed from.
#[derive(Clone)]
pub struct StepKey {
    /// The data, the schedule and the model (identity decides).
    pub inputs: Inputs,
    /// The side panel's reverse variance.
    pub variance: VarianceType,
    /// How much to compute.
    pub detail: EvidenceDetail,
}

impl StepKey {
    /// The key of the current inputs.
    pub fn new(applied: &Applied, variance: VarianceType, detail: EvidenceDetail) -> Self {
        StepKey {
            inputs: applied.inputs.clone(),
            variance,
            detail,
        }
    }

    /// True when a result computed from `self` is current for `now`.
    pub fn matches(&self, now: &StepKey) -> bool {
        self.inputs.covers(&now.inputs, Depends::Model)
            && self.variance == now.variance
            && self.detail == now.detail
    }

    /// The T' of the sum of `G_t` against T': those up to the schedule's own T.
    pub fn family_steps(&self) -> Vec<usize> {
        let all: &[usize] = match self.detail {
            EvidenceDetail::Full => &FAMILY_STEPS,
            EvidenceDetail::Light => &LIGHT_FAMILY_STEPS,
        };
        let steps = self.inputs.steps();
        all.iter().copied().filter(|&t| t <= steps).collect()
    }

    fn config(&self) -> ReverseStepConfig {
        match self.detail {
            EvidenceDetail::Full => ReverseStepConfig::default(),
            EvidenceDetail::Light => ReverseStepConfig::preview(),
        }
    }

    /// True when the side panel's model is the optimal one (its run gives the optimal
    /// model's three variances at once).
    fn model_is_optimal(&self) -> bool {
        self.inputs.model.posterior_mean_of().is_some()
    }
}

impl JobKey for StepKey {
    fn covers(&self, now: &Self) -> bool {
        self.matches(now)
    }

    /// Timesteps of every run.
    fn total(&self) -> usize {
        let steps = self.inputs.steps();
        let runs = if self.model_is_optimal() { 1 } else { 2 };
        runs * progress_total(steps)
            + self
                .family_steps()
                .iter()
                .map(|&t| progress_total(t))
                .sum::<usize>()
    }
}

/// What the worker sends.
pub enum StepMessage {
    /// The side panel's model under its variance.
    Model(Arc<ReverseSteps>),
    /// The optimal model under each of [`VARIANCES`].
    Optimal(Arc<Vec<(VarianceType, ReverseSteps)>>),
    /// The sum of `G_t` at each T so far, and whether every T is in.
    Family(Vec<(usize, Valued)>, bool),
    /// A part failed: which, and why.
    Failed(StepPart, String),
}

/// The parts of the tab's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepPart {
    /// The side panel's model.
    Model,
    /// The optimal model under each variance.
    Optimal,
    /// The sum of `G_t` against T.
    Family,
}

/// The results of one key as they come in.
#[derive(Default)]
pub struct StepShown {
    /// The side panel's model under its variance.
    pub model: Option<Arc<ReverseSteps>>,
    /// The optimal model under each variance.
    pub optimal: Option<Arc<Vec<(VarianceType, ReverseSteps)>>>,
    /// `(T, sum of G_t)` so far.
    pub family: Vec<(usize, Valued)>,
    /// True when every T of the family is in.
    pub family_done: bool,
    /// Errors by part.
    pub errors: Vec<(StepPart, String)>,
}

impl StepShown {
    /// The error of a part, if it failed.
    pub fn error(&self, part: StepPart) -> Option<&str> {
        self.errors
            .iter()
            .find(|(p, _)| *p == part)
            .map(|(_, m)| m.as_str())
    }
}

impl JobResult for StepShown {
    type Message = StepMessage;

    fn absorb(&mut self, message: StepMessage) {
        match message {
            StepMessage::Model(r) => self.model = Some(r),
            StepMessage::Optimal(r) => self.optimal = Some(r),
            StepMessage::Family(points, done) => {
                self.family = points;
                self.family_done = done;
            }
            StepMessage::Failed(part, message) => self.errors.push((part, message)),
        }
    }

    /// Complete once the side panel's model is in; failed when it failed. The other parts
    /// follow on their own.
    fn status(&self) -> Status {
        if self.error(StepPart::Model).is_some() {
            Status::Failed
        } else if self.model.is_some() {
            Status::Complete
        } else {
            Status::Partial
        }
    }
}

/// The reverse variances of `model` under `variance` (`Ok(None)`: cancelled).
fn variances(
    key: &StepKey,
    model: &dyn Denoiser,
    variance: VarianceType,
    ctx: &JobContext<StepMessage>,
) -> Result<Option<Vec<f64>>, String> {
    let control = Control {
        on_step: None,
        cancel: Some(ctx.cancel_flag()),
    };
    let schedule: &NoiseSchedule = &key.inputs.schedule;
    match model_variances(&key.inputs.data, schedule, model, variance, control) {
        Ok(v) => Ok(Some(v)),
        Err(elbo_core::elbo::ElboError::Cancelled) => Ok(None),
        Err(e) => Err(format!("the {} reverse variance: {e}", variance.name())),
    }
}

/// The terms of `model` under each of `kinds` (`Ok(None)`: cancelled).
fn run(
    key: &StepKey,
    model: &dyn Denoiser,
    kinds: &[VarianceType],
    base: usize,
    ctx: &JobContext<StepMessage>,
) -> Result<Option<Vec<ReverseSteps>>, String> {
    let mut sigma2s = Vec::with_capacity(kinds.len());
    for &v in kinds {
        match variances(key, model, v, ctx)? {
            Some(s) => sigma2s.push(s),
            None => return Ok(None),
        }
    }
    let on_step = |done: usize| ctx.set_progress(base + done);
    let control = Control {
        on_step: Some(&on_step),
        cancel: Some(ctx.cancel_flag()),
    };
    match reverse_steps_for(
        &key.inputs.data,
        &key.inputs.schedule,
        model,
        &sigma2s,
        &key.config(),
        control,
    ) {
        Ok(r) => Ok(Some(r)),
        Err(EvidenceError::Cancelled) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Run one job: the side panel's model (with the optimal model's three variances when it
/// is the optimal model), the optimal model otherwise, then the sum of `G_t` against T.
pub fn run_step_job(key: StepKey, ctx: &JobContext<StepMessage>) {
    if key.inputs.data.dim() != 1 {
        return;
    }
    let steps = key.inputs.steps();
    let mut offset = 0;
    let optimal_kinds: Vec<VarianceType> = if key.model_is_optimal() {
        // The side panel's variance first, then the others.
        std::iter::once(key.variance)
            .chain(VARIANCES.into_iter().filter(|&v| v != key.variance))
            .collect()
    } else {
        vec![key.variance]
    };
    // The sum of G_t of the schedule itself (it does not depend on the model).
    let mut own = None;
    match run(&key, &*key.inputs.model, &optimal_kinds, offset, ctx) {
        Ok(None) => return,
        Err(m) => ctx.send(StepMessage::Failed(StepPart::Model, m)),
        Ok(Some(results)) => {
            let mut results = results.into_iter();
            if let Some(first) = results.next() {
                own = Some(first.non_gaussianity);
                ctx.send(StepMessage::Model(Arc::new(first.clone())));
                if key.model_is_optimal() {
                    let all = std::iter::once((key.variance, first))
                        .chain(optimal_kinds[1..].iter().copied().zip(results))
                        .collect::<Vec<_>>();
                    ctx.send(StepMessage::Optimal(Arc::new(ordered(all))));
                }
            }
        }
    }
    offset += progress_total(steps);
    if ctx.cancelled() {
        return;
    }
    if !key.model_is_optimal() {
        let optimal = MixtureDenoiser::new((*key.inputs.data).clone());
        match run(&key, &optimal, &VARIANCES, offset, ctx) {
            Ok(None) => return,
            Err(m) => ctx.send(StepMessage::Failed(StepPart::Optimal, m)),
            Ok(Some(results)) => ctx.send(StepMessage::Optimal(Arc::new(
                VARIANCES.into_iter().zip(results).collect(),
            ))),
        }
        offset += progress_total(steps);
    }
    let family = key.family_steps();
    let mut points = Vec::with_capacity(family.len());
    for (i, &t) in family.iter().enumerate() {
        let base = offset;
        let on_step = |done: usize| ctx.set_progress(base + done);
        let control = Control {
            on_step: Some(&on_step),
            cancel: Some(ctx.cancel_flag()),
        };
        // Err(None): cancelled.
        let outcome = match (own.filter(|_| t == steps), coarser(&key.inputs.schedule, t)) {
            (Some(g), _) => Ok(g),
            (None, Err(e)) => Err(Some(format!("the schedule in {t} steps: {e}"))),
            (None, Ok(s)) => non_gaussianity_total(&key.inputs.data, &s, &key.config(), control)
                .map_err(|e| match e {
                    EvidenceError::Cancelled => None,
                    e => Some(format!("T' = {t}: {e}")),
                }),
        };
        offset += progress_total(t);
        match outcome {
            Ok(g) => points.push((t, g)),
            Err(None) => return,
            Err(Some(m)) => {
                ctx.send(StepMessage::Failed(StepPart::Family, m));
                return;
            }
        }
        ctx.send(StepMessage::Family(points.clone(), i + 1 == family.len()));
    }
}

/// The path of `schedule` in `steps` <= T steps: `abar'_k = abar_(round(k T / steps))`.
pub fn coarser(
    schedule: &NoiseSchedule,
    steps: usize,
) -> Result<NoiseSchedule, elbo_core::schedule::ScheduleError> {
    let total = schedule.steps();
    let log_abar = (1..=steps)
        .map(|k| schedule.log_abar(((k * total) as f64 / steps as f64).round() as usize))
        .collect();
    NoiseSchedule::from_log_abar(log_abar)
}

/// `all` in the order of [`VARIANCES`].
fn ordered(mut all: Vec<(VarianceType, ReverseSteps)>) -> Vec<(VarianceType, ReverseSteps)> {
    all.sort_by_key(|(v, _)| VARIANCES.iter().position(|w| w == v));
    all
}

/// The Denoising step tab's job (asked for only while its third part is open on 1D data).
pub type StepJob = Job<StepKey, StepShown>;

/// The tab's job, on a thread of its own (or inline, or deferred).
pub fn job(mode: Mode, repaint: Option<egui::Context>) -> StepJob {
    Job::new("elbo-lab-step", mode, repaint, run_step_job)
}
