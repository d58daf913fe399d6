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

use super::inputs::Freshness;
use super::settings::Settings;
use super::worker::{JobContext, Mode, Worker};
use super::{Applied, Overlay};

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
        let name = match (config, &current.custom) {
            (Some(c), _) => c.name.clone(),
            (None, Some(custom)) => custom.label.clone(),
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

/// A finished comparison with what it was computed from.
pub struct CompareShown {
    /// What it was computed from.
    pub key: CompareKey,
    /// The table, or why there is none.
    pub outcome: Result<Arc<CompareTable>, String>,
}

/// Run one comparison (progress in timesteps over every schedule).
pub fn run_compare_job(key: CompareKey, ctx: &JobContext<CompareShown>) {
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
    ctx.send(CompareShown { key, outcome });
}

/// The comparison window's state: open or not, the latest table and its worker. The app
/// polls it every frame and asks for work only while the window is open on the Schedule tab.
pub struct Comparison {
    /// The window is open.
    pub open: bool,
    /// The latest table (of the current schedules, or of older ones: then not shown).
    pub shown: Option<CompareShown>,
    requested: Option<CompareKey>,
    worker: Worker<CompareKey, CompareShown>,
}

impl Comparison {
    /// A closed window with its worker.
    pub fn new(mode: Mode, repaint: Option<egui::Context>) -> Self {
        Comparison {
            open: false,
            shown: None,
            requested: None,
            worker: Worker::new("elbo-lab-compare", mode, repaint, run_compare_job),
        }
    }

    /// Submit a comparison of `key` unless it is the one already asked for or shown.
    pub fn request(&mut self, key: CompareKey) {
        let known = |k: Option<&CompareKey>| k.is_some_and(|k| k.matches(&key));
        if known(self.requested.as_ref()) || known(self.shown.as_ref().map(|s| &s.key)) {
            return;
        }
        self.requested = Some(key.clone());
        self.worker.submit(key);
    }

    /// Take what the worker sent (messages of superseded jobs never arrive).
    pub fn poll(&mut self) {
        if let Some(shown) = self.worker.poll().pop() {
            self.shown = Some(shown);
        }
    }

    /// The table (or error) of `now`, if it is in.
    pub fn of(&self, now: &CompareKey) -> Option<&CompareShown> {
        self.shown.as_ref().filter(|s| s.key.matches(now))
    }

    /// The table of `now`, if it is in and did not fail.
    pub fn table(&self, now: &CompareKey) -> Option<&Arc<CompareTable>> {
        self.of(now).and_then(|s| s.outcome.as_ref().ok())
    }

    /// How the window stands against `now`: its table, its error, being computed, or
    /// (a bug) none of these.
    pub fn freshness(&self, now: &CompareKey) -> Freshness {
        match self.of(now) {
            Some(s) if s.outcome.is_ok() => Freshness::Current,
            Some(_) => Freshness::Failed,
            None if self.worker.is_busy() => Freshness::Computing,
            None => Freshness::Missing,
        }
    }

    /// True while a comparison is queued or running.
    pub fn is_busy(&self) -> bool {
        self.worker.is_busy()
    }

    /// Timesteps done by the running comparison, and its total.
    pub fn progress(&self) -> (usize, usize) {
        let total = self.requested.as_ref().map_or(0, CompareKey::total_steps);
        (self.worker.progress().min(total), total)
    }

    /// In [`Mode::Deferred`], run the queued comparison now; returns whether one ran.
    pub fn run_pending(&self) -> bool {
        self.worker.run_pending()
    }
}
