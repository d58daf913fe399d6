//! The Schedule tab's comparison table (issue 13): the current schedule, the overlaid
//! presets (when they are drawn) and every overlaid schedule file, compared on the current
//! data by `elbo_core::compare` on a worker, the same table `elbo-lab compare` prints, and
//! exportable as text, CSV or JSON.
//!
//! A table carries the [`CompareKey`] it was computed from and is shown only while that
//! key matches the current one (same data object, same schedules, same Monte Carlo
//! settings and model); the app asks for a new one while the comparison window is open.

use std::sync::Arc;

use elbo_core::compare::{CompareConfig, CompareEntry, CompareError, CompareTable, compare};
use elbo_core::elbo::{Control, ElboError};
use elbo_core::mixture::GaussianMixture;
use elbo_core::schedule::{BetaSchedule, short_schedule_name};

use super::super::model::{Applied, Overlay};
use super::super::settings::Settings;
use super::job::{Job, JobKey, JobResult, Status};
use super::worker::{JobContext, Mode};

/// Which line of the Schedule tab a row is (it takes that line's colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// The current schedule (its preset, when it is one).
    Current(Option<BetaSchedule>),
    /// An overlaid preset.
    Preset(BetaSchedule),
    /// The overlaid schedule file at this index of the overlay list.
    Overlay(usize),
}

/// Everything one comparison is computed from.
#[derive(Clone)]
pub struct CompareKey {
    /// The data (identity, not equality, decides whether a table is current).
    pub data: Arc<GaussianMixture>,
    /// Where the data came from, for the table's header.
    pub data_source: String,
    /// The schedules, the current one first.
    pub entries: Vec<CompareEntry>,
    /// What each entry is in the Schedule tab, in the same order.
    pub kinds: Vec<RowKind>,
    /// N, seed and model.
    pub config: CompareConfig,
}

impl CompareKey {
    /// The comparison the Schedule tab shows: the current schedule first (the reference of
    /// the differences), then the overlaid presets when they are drawn, then every overlaid
    /// schedule file; all with the side panel's reverse variance, N, seed and closed-form
    /// model.
    pub fn new(settings: &Settings, applied: &Applied, overlays: &[Overlay]) -> Self {
        let current = &applied.schedule_settings;
        let config = settings.config_of(current);
        let preset = current.custom.is_none().then_some(current.preset);
        // Every row named alike: a file by its short name (as the overlaid files below and
        // `elbo-lab compare`), a preset by its own.
        let name = match (config, &current.custom) {
            (Some(c), _) => short_schedule_name(&c.name),
            (None, Some(custom)) => short_schedule_name(&custom.label),
            (None, None) => current.preset.name().to_owned(),
        };
        let variance = settings.variance;
        let mut entries = vec![CompareEntry {
            name,
            class_name: config.and_then(|c| c.class_name.clone()),
            spec: current.spec(),
            variance,
            notes: Vec::new(),
        }];
        let mut kinds = vec![RowKind::Current(preset)];
        if settings.toggles.overlay_presets {
            for (p, spec) in current.other_presets(applied.inputs.steps()) {
                entries.push(CompareEntry {
                    name: p.name().to_owned(),
                    class_name: None,
                    spec,
                    variance,
                    notes: Vec::new(),
                });
                kinds.push(RowKind::Preset(p));
            }
        }
        for (i, o) in overlays.iter().enumerate() {
            entries.push(CompareEntry {
                // As `elbo-lab compare` names a file (the folder kept when two share a name).
                name: short_schedule_name(&o.name),
                class_name: o.class_name.clone(),
                spec: o.spec.clone(),
                variance,
                notes: o.notes.clone(),
            });
            kinds.push(RowKind::Overlay(i));
        }
        CompareKey {
            data: Arc::clone(&applied.inputs.data),
            data_source: applied.data_settings.label(),
            entries,
            kinds,
            config: CompareConfig {
                // The ELBO tab's method: one schedule has one NELBO everywhere.
                method: applied.inputs.config.method,
                samples: settings.samples,
                seed: settings.seed,
                model: applied.model.kind,
            },
        }
    }

    /// True when a table computed from `self` is current for `now`.
    pub fn matches(&self, now: &CompareKey) -> bool {
        Arc::ptr_eq(&self.data, &now.data)
            && self.data_source == now.data_source
            && self.entries == now.entries
            && self.kinds == now.kinds
            && self.config == now.config
    }

    /// Timesteps over every schedule: the unit of the job's progress.
    pub fn total_steps(&self) -> usize {
        self.entries.iter().map(|e| e.spec.num_steps()).sum()
    }
}

impl JobKey for CompareKey {
    fn covers(&self, now: &Self) -> bool {
        self.matches(now)
    }

    fn total(&self) -> usize {
        self.total_steps()
    }
}

/// A finished comparison: the table, or why there is none.
#[derive(Default)]
pub struct CompareShown {
    /// The table, or why there is none (None until the job answers).
    pub outcome: Option<Result<Arc<CompareTable>, String>>,
}

impl JobResult for CompareShown {
    type Message = Result<Arc<CompareTable>, String>;

    fn absorb(&mut self, message: Self::Message) {
        self.outcome = Some(message);
    }

    fn status(&self) -> Status {
        match self.outcome {
            None => Status::Partial,
            Some(Ok(_)) => Status::Complete,
            Some(Err(_)) => Status::Failed,
        }
    }
}

/// Run one comparison (progress in timesteps over every schedule).
pub fn run_compare_job(key: CompareKey, ctx: &JobContext<Result<Arc<CompareTable>, String>>) {
    let on_step = |done: usize| ctx.set_progress(done);
    let control = Control {
        on_step: Some(&on_step),
        cancel: Some(ctx.cancel_flag()),
    };
    let outcome = compare(
        &key.data,
        &key.data_source,
        &key.entries,
        &key.config,
        control,
    );
    let outcome = match outcome {
        Ok(table) => Ok(Arc::new(table)),
        // A superseded job says nothing: the newer one answers.
        Err(CompareError::Elbo {
            source: ElboError::Cancelled,
            ..
        }) => return,
        Err(e) => Err(e.to_string()),
    };
    ctx.send(outcome);
}

/// The Schedule tab's comparison table's job (asked for only while its window is open).
pub type CompareJob = Job<CompareKey, CompareShown>;

/// The comparison's job, on a thread of its own (or inline, or deferred).
pub fn job(mode: Mode, repaint: Option<egui::Context>) -> CompareJob {
    Job::new("elbo-lab-compare", mode, repaint, run_compare_job)
}

impl Job<CompareKey, CompareShown> {
    /// The table of `now`, if it is in and did not fail.
    pub fn table(&self, now: &CompareKey) -> Option<&Arc<CompareTable>> {
        self.of(now)
            .and_then(|s| s.outcome.as_ref())
            .and_then(|o| o.as_ref().ok())
    }
}
