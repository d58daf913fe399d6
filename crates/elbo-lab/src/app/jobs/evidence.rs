//! The Evidence tab's computations (issue 10), on their own worker: the model's own
//! marginal `p_theta(x0)` and the ELBO of each point (`elbo_core::evidence`), first coarse
//! then in full; the denoising terms seen in log-SNR for the current schedule and the other
//! presets, with NELBO(T) of log-SNR shapes sharing its endpoints (`elbo_core::continuous`);
//! and the decomposition against T for the current schedule's family.
//!
//! Everything is computed for 1D data only (the densities live on grids). A result carries
//! the [`EvidenceKey`] it was computed from and is drawn only while that key matches; the
//! app asks for work while the Evidence tab is open.

use std::sync::Arc;

use elbo_core::continuous::{Convergence, LogSnrTerm, convergence, log_snr_terms, loss_density};
use elbo_core::denoiser::Denoiser;
use elbo_core::elbo::Control;
use elbo_core::evidence::{
    EvidenceConfig, EvidenceError, EvidenceResult, Valued, compute_evidence, model_variances,
    progress_total,
};
use elbo_core::schedule::{BetaSchedule, NoiseSchedule, VarianceType};

use super::super::inputs::{Depends, Inputs};
use super::super::model::Applied;
use super::super::settings::ScheduleSettings;
use super::job::{Job, JobKey, JobResult, Status};
use super::worker::{JobContext, Mode};

/// The T of the decomposition against T (the current schedule's family), full detail.
pub const SWEEP_STEPS: [usize; 10] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
/// The T of NELBO(T) for the log-SNR shapes, full detail.
pub const CONVERGENCE_STEPS: [usize; 9] = [2, 5, 10, 20, 50, 100, 200, 500, 1000];
/// The largest T computed in [`EvidenceDetail::Light`].
const LIGHT_MAX_STEPS: usize = 50;
/// Where the shapes end when the schedule ends at zero SNR (a shape needs a finite end):
/// there `L_T` is below 1e-8 nats for data of unit scale.
pub const ZERO_SNR_STAND_IN: f64 = -20.0;
/// Points of the limit curve `1/2 SNR mmse(SNR)` over log-SNR.
const LIMIT_POINTS: usize = 240;

/// How much the Evidence tab computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvidenceDetail {
    /// The coarse preview, then the full grids; T up to 1000 against T (the app).
    #[default]
    Full,
    /// The coarse grids only and T up to 50 against T (tests that walk the app in debug
    /// builds).
    Light,
}

impl EvidenceDetail {
    /// The Ts of the decomposition against T.
    pub fn sweep_steps(self) -> Vec<usize> {
        self.cap(&SWEEP_STEPS)
    }

    /// The Ts of NELBO(T) for the log-SNR shapes.
    pub fn convergence_steps(self) -> Vec<usize> {
        self.cap(&CONVERGENCE_STEPS)
    }

    fn cap(self, steps: &[usize]) -> Vec<usize> {
        let max = match self {
            EvidenceDetail::Full => usize::MAX,
            EvidenceDetail::Light => LIGHT_MAX_STEPS,
        };
        steps.iter().copied().filter(|&t| t <= max).collect()
    }

    /// The grids of each evidence computation: the preview's first when there is a full
    /// one after it.
    fn configs(self) -> Vec<(EvidenceConfig, bool)> {
        match self {
            EvidenceDetail::Full => vec![
                (EvidenceConfig::preview(), true),
                (EvidenceConfig::default(), false),
            ],
            EvidenceDetail::Light => vec![(EvidenceConfig::preview(), false)],
        }
    }

    /// The grids of the decomposition against T.
    fn sweep_config(self) -> EvidenceConfig {
        match self {
            EvidenceDetail::Full => EvidenceConfig::default(),
            EvidenceDetail::Light => EvidenceConfig::preview(),
        }
    }
}

/// Everything the Evidence tab's results are computed from.
#[derive(Clone)]
pub struct EvidenceKey {
    /// The data, the schedule and the model (identity decides).
    pub inputs: Inputs,
    /// The reverse variance.
    pub variance: VarianceType,
    /// The schedule's settings: its family (a preset at other T) and the other presets.
    pub schedule_settings: ScheduleSettings,
    /// How much to compute.
    pub detail: EvidenceDetail,
}

impl EvidenceKey {
    /// The key of the current inputs.
    pub fn new(applied: &Applied, variance: VarianceType, detail: EvidenceDetail) -> Self {
        EvidenceKey {
            inputs: applied.inputs.clone(),
            variance,
            schedule_settings: applied.schedule_settings.clone(),
            detail,
        }
    }

    /// True when a result computed from `self` is current for `now`.
    pub fn matches(&self, now: &EvidenceKey) -> bool {
        self.inputs.covers(&now.inputs, Depends::Model)
            && self.variance == now.variance
            && self.schedule_settings == now.schedule_settings
            && self.detail == now.detail
    }

    /// True when the decomposition against T can be computed: the schedule is a preset
    /// (defined at any T), not a list of betas from a file.
    pub fn has_family(&self) -> bool {
        self.schedule_settings.custom.is_none()
    }

    /// Units of progress of the whole job (timesteps of every stage).
    pub fn total_work(&self) -> usize {
        let steps = self.inputs.steps();
        let evidence: usize = self
            .detail
            .configs()
            .iter()
            .map(|(c, _)| progress_total(steps, c))
            .sum();
        let presets = self.schedule_settings.other_presets(steps).len();
        let log_snr = steps * (1 + presets);
        let convergence = 4 * self.detail.convergence_steps().iter().sum::<usize>();
        let sweep: usize = if self.has_family() {
            let config = self.detail.sweep_config();
            self.detail
                .sweep_steps()
                .iter()
                .map(|&t| progress_total(t, &config))
                .sum()
        } else {
            0
        };
        evidence + log_snr + convergence + sweep
    }
}

/// One T of the decomposition against T.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// T.
    pub steps: usize,
    /// `-E log p_theta(x0)`.
    pub model_nll: Valued,
    /// `H(p0)`.
    pub data_entropy: Valued,
    /// `KL(p0 || p_theta)`.
    pub kl: Valued,
    /// The mean bound gap.
    pub gap: Valued,
    /// The NELBO.
    pub nelbo: Valued,
}

/// One schedule's denoising terms per unit of log-SNR.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSnrCurve {
    /// The preset it is (None: the current schedule from a file).
    pub preset: Option<BetaSchedule>,
    /// True for the current schedule.
    pub current: bool,
    /// `(interval midpoint, L_{t-1} / width)` where defined.
    pub points: Vec<[f64; 2]>,
    /// Terms whose interval is unbounded (zero terminal SNR): no density is defined.
    pub undefined: usize,
    /// The widest interval in log-SNR and its t (where the curve departs most).
    pub widest: Option<(usize, f64)>,
}

impl LogSnrCurve {
    fn of(preset: Option<BetaSchedule>, current: bool, terms: &[LogSnrTerm]) -> Self {
        let mut points = Vec::with_capacity(terms.len());
        let mut undefined = 0;
        let mut widest: Option<(usize, f64)> = None;
        for term in terms {
            match (term.per_log_snr, term.lambda_mid()) {
                (Some(d), Some(mid)) => {
                    points.push([mid, d]);
                    let w = term.lambda_high - term.lambda_low;
                    if widest.is_none_or(|(_, best)| w > best) {
                        widest = Some((term.t, w));
                    }
                }
                _ => undefined += 1,
            }
        }
        LogSnrCurve {
            preset,
            current,
            points,
            undefined,
            widest,
        }
    }
}

/// The log-SNR section's results.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSnrView {
    /// The current schedule first, then the other presets.
    pub curves: Vec<LogSnrCurve>,
    /// `(lambda, 1/2 SNR mmse)` over the curves' range.
    pub limit: Vec<[f64; 2]>,
    /// NELBO(T) of the shapes (None until computed, or when it cannot be: see `note`).
    pub convergence: Option<Convergence>,
    /// Why the shapes end where they do, or why there are none.
    pub convergence_note: Option<String>,
}

/// What the worker sends.
pub enum EvidenceMessage {
    /// An evidence result (`preview`: the coarse one, a full one follows).
    Evidence {
        /// True for the coarse first result.
        preview: bool,
        /// The result.
        result: Arc<EvidenceResult>,
    },
    /// The log-SNR curves (and later the convergence).
    LogSnr {
        /// The curves.
        view: Arc<LogSnrView>,
    },
    /// The decomposition against T so far.
    Sweep {
        /// The Ts done so far.
        points: Vec<SweepPoint>,
        /// True when every T is in.
        done: bool,
    },
    /// A part failed.
    Failed {
        /// Which part.
        part: EvidencePart,
        /// Why.
        message: String,
    },
}

/// The parts of the Evidence tab's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidencePart {
    /// `p_theta`, NELBO(x0) and the decomposition.
    Evidence,
    /// The log-SNR curves and the convergence.
    LogSnr,
    /// The decomposition against T.
    Sweep,
}

/// The results of one key as they come in.
#[derive(Default)]
pub struct EvidenceShown {
    /// The latest evidence result, and whether it is the coarse preview.
    pub evidence: Option<(Arc<EvidenceResult>, bool)>,
    /// The log-SNR curves.
    pub log_snr: Option<Arc<LogSnrView>>,
    /// The decomposition against T so far.
    pub sweep: Vec<SweepPoint>,
    /// True when every T of the sweep is in.
    pub sweep_done: bool,
    /// Errors by part.
    pub errors: Vec<(EvidencePart, String)>,
}

impl EvidenceShown {
    /// The error of a part, if it failed.
    pub fn error(&self, part: EvidencePart) -> Option<&str> {
        self.errors
            .iter()
            .find(|(p, _)| *p == part)
            .map(|(_, m)| m.as_str())
    }
}

/// Run one Evidence job: coarse evidence, full evidence, log-SNR curves, convergence, and
/// the decomposition against T, each sent as it is done.
pub fn run_evidence_job(key: EvidenceKey, ctx: &JobContext<EvidenceMessage>) {
    let data = &*key.inputs.data;
    if data.dim() != 1 {
        return;
    }
    let schedule = &*key.inputs.schedule;
    let mut offset = 0;
    let failed = |part: EvidencePart, message: String| {
        ctx.send(EvidenceMessage::Failed { part, message });
    };

    // 1. The evidence of the side panel's model, coarse then full.
    match variances(&key.inputs, key.variance, schedule, &*key.inputs.model, ctx) {
        Err(message) => failed(EvidencePart::Evidence, message),
        Ok(None) => return,
        Ok(Some(sigma2)) => {
            for (config, preview) in key.detail.configs() {
                let base = offset;
                let on_step = |done: usize| ctx.set_progress(base + done);
                let control = Control {
                    on_step: Some(&on_step),
                    cancel: Some(ctx.cancel_flag()),
                };
                let out = compute_evidence(
                    data,
                    schedule,
                    &*key.inputs.model,
                    &sigma2,
                    &config,
                    control,
                );
                offset += progress_total(schedule.steps(), &config);
                match out {
                    Ok(result) => ctx.send(EvidenceMessage::Evidence {
                        preview,
                        result: Arc::new(result),
                    }),
                    Err(EvidenceError::Cancelled) => return,
                    Err(e) => {
                        failed(EvidencePart::Evidence, e.to_string());
                        break;
                    }
                }
            }
        }
    }
    if ctx.cancelled() {
        return;
    }

    // 2. The log-SNR curves, then NELBO(T) of the shapes.
    let mut view = match log_snr_view(&key, &mut offset, ctx) {
        Some(view) => view,
        None => return,
    };
    ctx.send(EvidenceMessage::LogSnr {
        view: Arc::new(view.clone()),
    });
    let first = schedule.log_snr(1);
    let last = schedule.log_snr(schedule.steps());
    let ends = match (first, last) {
        (Some(f), Some(l)) if f > l => Some((f, l, None)),
        (Some(f), None) if f > ZERO_SNR_STAND_IN => Some((
            f,
            ZERO_SNR_STAND_IN,
            Some(format!(
                "The schedule ends at zero SNR (log-SNR -inf): the shapes end at log-SNR {ZERO_SNR_STAND_IN} instead, where L_T is negligible."
            )),
        )),
        _ => None,
    };
    match ends {
        None => {
            view.convergence_note = Some(
                "NELBO(T) of the shapes needs two distinct endpoints: this schedule has T = 1 or a first log-SNR at or below its last."
                    .to_owned(),
            );
        }
        Some((f, l, note)) => {
            let base = offset;
            let on_step = |done: usize| ctx.set_progress(base + done);
            let steps = key.detail.convergence_steps();
            let control = Control {
                on_step: Some(&on_step),
                cancel: Some(ctx.cancel_flag()),
            };
            match convergence(data, f, l, &steps, control) {
                Ok(c) => {
                    view.convergence = Some(c);
                    view.convergence_note = note;
                }
                Err(elbo_core::continuous::ConvergenceError::Cancelled) => return,
                Err(e) => failed(EvidencePart::LogSnr, e.to_string()),
            }
            offset += 4 * steps.iter().sum::<usize>();
        }
    }
    ctx.send(EvidenceMessage::LogSnr {
        view: Arc::new(view),
    });
    if ctx.cancelled() || !key.has_family() {
        return;
    }

    // 3. The decomposition against T (every model takes the noise level, not t: the same
    // denoiser at any T).
    let config = key.detail.sweep_config();
    let steps = key.detail.sweep_steps();
    let mut points = Vec::with_capacity(steps.len());
    for (i, &t) in steps.iter().enumerate() {
        let settings = ScheduleSettings {
            steps: t,
            ..key.schedule_settings.clone()
        };
        let outcome = settings
            .spec()
            .build()
            .map_err(|e| format!("the schedule at T = {t}: {e}"))
            .and_then(|s| sweep_point(&key, &s, &*key.inputs.model, &config, offset, ctx));
        offset += progress_total(t, &config);
        match outcome {
            Ok(Some(point)) => points.push(point),
            Ok(None) => return,
            Err(message) => {
                failed(EvidencePart::Sweep, message);
                return;
            }
        }
        ctx.send(EvidenceMessage::Sweep {
            points: points.clone(),
            done: i + 1 == steps.len(),
        });
    }
}

/// The reverse variances of `model` (`Ok(None)`: cancelled).
fn variances(
    inputs: &Inputs,
    variance: VarianceType,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    ctx: &JobContext<EvidenceMessage>,
) -> Result<Option<Vec<f64>>, String> {
    let control = Control {
        on_step: None,
        cancel: Some(ctx.cancel_flag()),
    };
    match model_variances(&inputs.data, schedule, model, variance, control) {
        Ok(v) => Ok(Some(v)),
        Err(elbo_core::elbo::ElboError::Cancelled) => Ok(None),
        Err(e) => Err(format!("the {} reverse variance: {e}", variance.name())),
    }
}

/// The decomposition at one T (`Ok(None)`: cancelled).
fn sweep_point(
    key: &EvidenceKey,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    config: &EvidenceConfig,
    base: usize,
    ctx: &JobContext<EvidenceMessage>,
) -> Result<Option<SweepPoint>, String> {
    let Some(sigma2) = variances(&key.inputs, key.variance, schedule, model, ctx)? else {
        return Ok(None);
    };
    let on_step = |done: usize| ctx.set_progress(base + done);
    let control = Control {
        on_step: Some(&on_step),
        cancel: Some(ctx.cancel_flag()),
    };
    match compute_evidence(&key.inputs.data, schedule, model, &sigma2, config, control) {
        Ok(r) => Ok(Some(SweepPoint {
            steps: schedule.steps(),
            model_nll: r.model_nll,
            data_entropy: r.data_entropy,
            kl: r.kl_data_model,
            gap: r.mean_bound_gap,
            nelbo: r.nelbo,
        })),
        Err(EvidenceError::Cancelled) => Ok(None),
        Err(e) => Err(format!("T = {}: {e}", schedule.steps())),
    }
}

/// The current schedule's and the other presets' terms in log-SNR, and the limit curve
/// (None: cancelled).
fn log_snr_view(
    key: &EvidenceKey,
    offset: &mut usize,
    ctx: &JobContext<EvidenceMessage>,
) -> Option<LogSnrView> {
    let data = &*key.inputs.data;
    let schedule = &*key.inputs.schedule;
    let settings = &key.schedule_settings;
    let current_preset = settings.custom.is_none().then_some(settings.preset);
    let mut schedules = vec![(current_preset, true, None)];
    for (preset, spec) in settings.other_presets(schedule.steps()) {
        // A preset that cannot be built at these settings is left out of the overlay.
        if let Ok(s) = spec.build() {
            schedules.push((Some(preset), false, Some(s)));
        }
    }
    let mut curves = Vec::with_capacity(schedules.len());
    for (preset, current, own) in &schedules {
        let s = own.as_ref().unwrap_or(schedule);
        let base = *offset;
        let on_step = |done: usize| ctx.set_progress(base + done);
        let control = Control {
            on_step: Some(&on_step),
            cancel: Some(ctx.cancel_flag()),
        };
        let terms = log_snr_terms(data, s, control).ok()?;
        *offset += s.steps();
        curves.push(LogSnrCurve::of(*preset, *current, &terms));
    }
    let (lo, hi) = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p[0]))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    let limit = if lo < hi {
        (0..LIMIT_POINTS)
            .map(|i| {
                let l = lo + (hi - lo) * i as f64 / (LIMIT_POINTS - 1) as f64;
                [l, loss_density(data, l).value]
            })
            .collect()
    } else {
        Vec::new()
    };
    Some(LogSnrView {
        curves,
        limit,
        convergence: None,
        convergence_note: None,
    })
}

impl JobKey for EvidenceKey {
    fn covers(&self, now: &Self) -> bool {
        self.matches(now)
    }

    fn total(&self) -> usize {
        self.total_work()
    }
}

impl JobResult for EvidenceShown {
    type Message = EvidenceMessage;

    fn absorb(&mut self, message: EvidenceMessage) {
        match message {
            EvidenceMessage::Evidence { preview, result } => {
                self.evidence = Some((result, preview))
            }
            EvidenceMessage::LogSnr { view } => self.log_snr = Some(view),
            EvidenceMessage::Sweep { points, done } => {
                self.sweep = points;
                self.sweep_done = done;
            }
            EvidenceMessage::Failed { part, message } => self.errors.push((part, message)),
        }
    }

    /// Complete once the full evidence result is in (the preview is partial); failed when
    /// the evidence part failed. The log-SNR curves and the sweep follow on their own.
    fn status(&self) -> Status {
        if self.error(EvidencePart::Evidence).is_some() {
            Status::Failed
        } else if self.evidence.as_ref().is_some_and(|(_, preview)| !preview) {
            Status::Complete
        } else {
            Status::Partial
        }
    }
}

/// The Evidence tab's job. The app asks for work only while the tab is open with 1D data.
pub type EvidenceState = Job<EvidenceKey, EvidenceShown>;

/// The Evidence tab's job, on a thread of its own (or inline, or deferred).
pub fn job(mode: Mode, repaint: Option<egui::Context>) -> EvidenceState {
    Job::new("elbo-lab-evidence", mode, repaint, run_evidence_job)
}
