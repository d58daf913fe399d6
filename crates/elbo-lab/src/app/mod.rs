//! The desktop app (eframe/egui/egui_plot) over the core.
//!
//! ```text
//! App::frame:
//!   poll:    every job (jobs/: ELBO, river and particles, fields, reverse, evidence,
//!            comparison), training and the file dialogs, whatever tab is open
//!   layout:  the menu, side panel, timeline and open view draw from a read-only ViewCtx
//!            and return Commands; apply() carries them out
//!   inputs:  sync_inputs() rebuilds the Inputs from the settings (the last valid stay)
//!   request: ask each job for the key the current inputs, t and tab need; poll again, so
//!            inline work (tests) is drawn in the same frame
//! ```
//! Every result carries the key it was computed from and is drawn through it only (see
//! `jobs/mod.rs` and `inputs.rs`); trained networks reach the views as frozen snapshots.

pub mod command;
pub mod compute;
pub mod controls;
mod dialog;
pub mod export;
pub mod formula;
pub mod help;
pub mod inputs;
pub mod jobs;
pub mod lesson_bar;
pub mod lessons;
pub mod menu;
pub mod palette;
pub mod persist;
pub mod plot_util;
pub mod scene;
pub mod settings;
pub mod timeline;
pub mod training;
pub mod views;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use egui::{Key, Modifiers};

use elbo_core::compare::TableFormat;
use elbo_core::denoiser::ModelKind;
use elbo_core::edit::History;
use elbo_core::elbo::ElboConfig;
use elbo_core::mixture::{GaussianMixture, load_mixture_file};
use elbo_core::param::Parameterisation;
use elbo_core::report::Report;
use elbo_core::schedule::{
    Finding, NoiseSchedule, ScheduleSpec, load_schedule_file, sanity_findings,
};
use elbo_train::TrainedDenoiser;

pub use command::{Command, ExportKind, FileRequest, ModelChoice};
pub use inputs::{Depends, Freshness, Inputs};
use jobs::elbo::ElboKey;
use jobs::reverse::ReverseJob;
pub use jobs::{AppOptions, Mode};
use jobs::{Jobs, Want, compare, evidence};
use settings::{
    DataSettings, ElboForm, ScheduleConfig, ScheduleSettings, Settings, View, ZOOM_RANGE, ZOOM_STEP,
};
use views::editor::EditMode;
use views::{ViewCtx, Views};

/// The window title: the app and the paper it follows.
pub const TITLE: &str =
    "ELBO Lab: the ELBO of a diffusion model (Luo 2022, Understanding Diffusion Models)";
/// The paper.
pub const PAPER: &str = "Calvin Luo (2022), \"Understanding Diffusion Models: A Unified Perspective\", arXiv:2208.11970";
/// The persistence key of [`Settings`].
pub const STORAGE_KEY: &str = "elbo_lab_settings";

/// Open the desktop app (the saved state is checked first: see [`persist`]), then apply
/// what the command line asked for ([`scene::Launch`]).
pub fn run_native(launch: scene::Launch) -> anyhow::Result<()> {
    let notes = persist::state_file()
        .map(|path| persist::sanitise_file(&path))
        .unwrap_or_default();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(TITLE)
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 500.0])
            .with_drag_and_drop(true),
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "elbo-lab",
        options,
        Box::new(move |cc| {
            let mut app = App::new(cc, notes);
            app.launch(launch);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}

/// The model in use: a closed-form kind, or a trained network frozen when it was picked.
#[derive(Clone)]
pub struct AppliedModel {
    /// The closed-form kind (also the fallback when no network fits).
    pub kind: ModelKind,
    /// The frozen network, its parameterisation and the training step it was taken at.
    pub trained: Option<(Parameterisation, usize, Arc<TrainedDenoiser>)>,
}

/// The last valid inputs with what was derived from them on the UI thread (cheap).
pub struct Applied {
    /// The data settings these inputs were built from.
    pub data_settings: DataSettings,
    /// The schedule settings these inputs were built from.
    pub schedule_settings: ScheduleSettings,
    /// The model.
    pub model: AppliedModel,
    /// What the workers compute from.
    pub inputs: Inputs,
    /// Sanity findings of the schedule against the data.
    pub findings: Vec<Finding>,
    /// The schedule's label.
    pub schedule_label: String,
}

/// A schedule file overlaid in the Schedule tab (loaded once, kept while its path is in
/// [`Settings::overlays`]).
pub struct Overlay {
    /// The file, as loaded (made absolute when it could be).
    pub path: PathBuf,
    /// Its name in the legend and the list: the file name (with its folder when two
    /// overlays share a file name).
    pub name: String,
    /// `_class_name` of a diffusers config, if any.
    pub class_name: Option<String>,
    /// `prediction_type` of a diffusers config, if any.
    pub prediction_type: Option<String>,
    /// The schedule's label (formula, T).
    pub label: String,
    /// What it was built from.
    pub spec: ScheduleSpec,
    /// How the config was read, where it is not a plain beta schedule.
    pub notes: Vec<String>,
    /// The schedule.
    pub schedule: Arc<NoiseSchedule>,
}

impl Overlay {
    /// Load a schedule file as an overlay; `taken` are the names already in use.
    pub fn load(path: &Path, taken: &[&str]) -> Result<Overlay, String> {
        let loaded = load_schedule_file(path).map_err(|e| e.to_string())?;
        let schedule = loaded
            .spec
            .build()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut name = file_label(path);
        if taken.contains(&name.as_str())
            && let Some(folder) = path.parent().and_then(|p| p.file_name())
        {
            name = format!("{}/{name}", folder.to_string_lossy());
        }
        while taken.contains(&name.as_str()) {
            name.push('\'');
        }
        Ok(Overlay {
            path: path.to_path_buf(),
            name,
            class_name: loaded.class_name,
            prediction_type: loaded.prediction_type,
            label: loaded.spec.label(),
            spec: loaded.spec,
            notes: loaded.notes,
            schedule: Arc::new(schedule),
        })
    }
}

/// A one-line message for the user: what an action did, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// The message.
    pub text: String,
    /// True when it says why something failed (drawn in the error colour).
    pub error: bool,
}

impl StatusLine {
    /// A message, an error or not.
    pub fn new(text: impl Into<String>, error: bool) -> Self {
        StatusLine {
            text: text.into(),
            error,
        }
    }

    /// What an action did.
    pub fn info(text: impl Into<String>) -> Self {
        Self::new(text, false)
    }

    /// Why an action failed.
    pub fn error(text: impl Into<String>) -> Self {
        Self::new(text, true)
    }
}

/// Messages for the user: inline errors and notes.
#[derive(Default)]
pub struct Notes {
    /// An inline error about the data (the last valid data stay).
    pub data_error: Option<String>,
    /// An inline error about the schedule (the last valid schedule stays).
    pub schedule_error: Option<String>,
    /// An error about an overlaid schedule (shown in the Schedule tab).
    pub overlay_error: Option<String>,
    /// A note about the model (a trained network that no longer fits, ...).
    pub model_note: Option<String>,
    /// A message about the last export or file action.
    pub status: Option<StatusLine>,
    /// What was repaired in the saved state at start.
    pub restored: Vec<String>,
}

/// What saving or copying the comparison says before its table is in.
const NO_TABLE_YET: &str = "nothing to save yet: the comparison of the current schedules is still being computed (or failed: the window says why)";

/// The ELBO Lab app.
pub struct App {
    /// Persisted settings (what the controls show).
    pub settings: Settings,
    /// The last valid inputs.
    pub applied: Applied,
    /// Errors and notes.
    pub notes: Notes,
    /// Every background job and its latest result (of the current inputs or, drawn
    /// dimmed, older ones).
    pub jobs: Jobs,
    /// Playing the timeline.
    pub playing: bool,
    /// The About dialog is open.
    pub about_open: bool,
    /// The help overlay (keyboard shortcuts, what each tab shows) is open.
    pub help_open: bool,
    /// Live training of networks (the Training view) and the trained models.
    pub training: training::Training,
    /// The step of the built-in lesson shown in the lesson bar, if one runs.
    pub lesson: Option<usize>,
    /// The "Export for slides" dialog and the plot export in progress.
    pub export: export::ExportState,
    /// The schedules overlaid in the Schedule tab, in the order of [`Settings::overlays`].
    pub overlays: Vec<Overlay>,
    /// The edit mode of the data plots (not saved: the app starts with it off).
    pub edit_mode: EditMode,
    /// Every data settings applied, for undo and redo (edits, presets, files, scenes).
    pub data_history: History<DataSettings>,
    views: Views,
    t_accum: f32,
    dialog: Option<Receiver<Option<Command>>>,
    screenshots: (Sender<String>, Receiver<String>),
    fullscreen: bool,
    placed: bool,
}

impl App {
    /// The app as eframe creates it: settings from storage, each part checked and falling
    /// back to its default alone (with a note), workers on their own threads. `notes` are
    /// what [`persist::sanitise_file`] repaired before the window opened.
    pub fn new(cc: &eframe::CreationContext<'_>, notes: Vec<String>) -> Self {
        let saved = cc.storage.and_then(|s| s.get_string(STORAGE_KEY));
        let (settings, mut restored) = settings::restore(saved.as_deref());
        restored.splice(0..0, notes);
        let mut app = Self::with_options(&cc.egui_ctx, settings, AppOptions::new(Mode::Thread));
        app.notes.restored.splice(0..0, restored);
        app
    }

    /// An app for tests and benchmarks: jobs run inline (deterministic), paused.
    pub fn for_test(ctx: &egui::Context, settings: Settings) -> Self {
        Self::with_options(ctx, settings, AppOptions::new(Mode::Inline))
    }

    /// An app from settings (validated here: a part that fails to build falls back to its
    /// default alone, with a note).
    pub fn with_options(ctx: &egui::Context, settings: Settings, options: AppOptions) -> Self {
        let (mut settings, mut restored) = settings.validated();
        let data = match build_data(&settings.data) {
            Ok(d) => d,
            Err(e) => {
                restored.push(format!(
                    "the saved data ({}) could not be loaded: {e}; the default preset is used",
                    settings.data.label()
                ));
                settings.data = DataSettings::default();
                default_data()
            }
        };
        let schedule = match settings.schedule.spec().build() {
            Ok(s) => s,
            Err(e) => {
                restored.push(format!(
                    "the saved schedule could not be built: {e}; the default schedule is used"
                ));
                settings.schedule = ScheduleSettings::default();
                default_schedule()
            }
        };
        let zoom = ctx.options(|o| o.zoom_factor);
        if !(zoom.is_finite() && ZOOM_RANGE.contains(&zoom)) {
            restored.push(format!("egui's zoom factor {zoom} was unusable; reset"));
            // Directly, not through `set_zoom_factor` (which waits for the end of a pass
            // that a NaN zoom would not survive).
            ctx.options_mut(|o| o.zoom_factor = settings.zoom);
        }
        let applied = build_applied(&settings, data, schedule);
        let repaint = (options.mode == Mode::Thread).then(|| ctx.clone());
        let mut app = App {
            notes: Notes {
                restored,
                ..Notes::default()
            },
            jobs: Jobs::new(options, repaint),
            playing: false,
            about_open: false,
            help_open: false,
            training: training::Training::new(ctx, options.mode),
            lesson: None,
            export: export::ExportState::default(),
            overlays: Vec::new(),
            edit_mode: EditMode::Off,
            data_history: History::new(settings.data.clone()),
            views: Views::default(),
            t_accum: 0.0,
            dialog: None,
            screenshots: channel(),
            fullscreen: false,
            placed: false,
            applied,
            settings,
        };
        let dropped = app.sync_overlays();
        app.notes.restored.extend(dropped);
        install_text_styles(ctx);
        app.apply_theme(ctx);
        app.submit_elbo();
        app
    }

    /// Load or drop overlays until they match [`Settings::overlays`]; a file that no longer
    /// loads is dropped from the settings. Returns a message per dropped file.
    fn sync_overlays(&mut self) -> Vec<String> {
        if self
            .overlays
            .iter()
            .map(|o| &o.path)
            .eq(&self.settings.overlays)
        {
            return Vec::new();
        }
        let mut old = std::mem::take(&mut self.overlays);
        let mut kept = Vec::new();
        let mut messages = Vec::new();
        for path in std::mem::take(&mut self.settings.overlays) {
            if kept.contains(&path) {
                continue;
            }
            let overlay = match old.iter().position(|o| o.path == path) {
                Some(i) => Ok(old.remove(i)),
                None => {
                    let taken: Vec<&str> = self.overlays.iter().map(|o| o.name.as_str()).collect();
                    Overlay::load(&path, &taken)
                }
            };
            match overlay {
                Ok(o) => {
                    self.overlays.push(o);
                    kept.push(path);
                }
                Err(e) => messages.push(format!(
                    "the overlaid schedule {} could not be loaded ({e}); it was dropped from the Schedule tab",
                    path.display()
                )),
            }
        }
        self.settings.overlays = kept;
        messages
    }

    fn add_overlay(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.settings.overlays.contains(&path) {
            self.notes.overlay_error = Some(format!("{} is already overlaid", path.display()));
            return;
        }
        let taken: Vec<&str> = self.overlays.iter().map(|o| o.name.as_str()).collect();
        match Overlay::load(&path, &taken) {
            Ok(o) => {
                self.notes.status = Some(StatusLine::info(format!(
                    "overlaid {} in the Schedule tab",
                    o.name
                )));
                self.overlays.push(o);
                self.settings.overlays.push(path);
                self.settings.view = View::Schedule;
                self.notes.overlay_error = None;
            }
            Err(e) => self.notes.overlay_error = Some(e),
        }
    }

    /// The current timestep, clamped to 1..=T.
    pub fn t(&self) -> usize {
        self.settings.t.clamp(1, self.steps())
    }

    /// T of the applied schedule.
    pub fn steps(&self) -> usize {
        self.applied.inputs.schedule.steps()
    }

    /// The applied data.
    pub fn data(&self) -> &GaussianMixture {
        &self.applied.inputs.data
    }

    /// The applied schedule.
    pub fn schedule(&self) -> &NoiseSchedule {
        &self.applied.inputs.schedule
    }

    /// True once the full-sample ELBO estimate of the current inputs is in.
    pub fn has_full_elbo(&self) -> bool {
        self.elbo()
            .is_some_and(|e| !e.preview && e.inputs.covers(&self.applied.inputs, Depends::All))
    }

    /// The latest ELBO table (of the current inputs or of older ones).
    pub fn elbo(&self) -> Option<&jobs::elbo::ElboShown> {
        self.jobs.elbo.table()
    }

    /// How the tab `view` stands against the current inputs (whether it is open or not).
    pub fn freshness(&self, view: View) -> Freshness {
        self.views.tabs.freshness(view, &self.view_ctx())
    }

    /// Every tab and its own state.
    pub fn tabs(&self) -> &views::Tabs {
        &self.views.tabs
    }

    /// In [`Mode::Deferred`], run every queued job now (the fuzz test's "work finishes");
    /// returns whether any ran.
    pub fn run_pending_jobs(&self) -> bool {
        let jobs = self.jobs.run_pending();
        let training = self.training.run_pending();
        jobs || training
    }

    fn elbo_config(&self) -> ElboConfig {
        ElboConfig {
            samples: self.settings.samples,
            seed: self.settings.seed,
            variance: self.settings.variance,
            consistency: self.settings.toggles.elbo_form == ElboForm::Consistency,
            // The eq. 45 view compares estimators' standard errors: Monte Carlo there,
            // quadrature everywhere else.
            method: if self.settings.toggles.elbo_form == ElboForm::Consistency {
                elbo_core::elbo::Method::MonteCarlo
            } else {
                elbo_core::elbo::Method::Quadrature
            },
        }
    }

    fn submit_elbo(&mut self) {
        self.applied.inputs.config = self.elbo_config();
        self.jobs.elbo.request(ElboKey(self.applied.inputs.clone()));
    }

    /// The reverse job the current inputs and settings ask for.
    pub fn reverse_job(&self) -> ReverseJob {
        self.view_ctx().reverse_job()
    }

    fn apply_theme(&self, ctx: &egui::Context) {
        ctx.set_theme(if self.settings.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        // A 2x or 3x plot export draws its capture frames at a raised zoom.
        let zoom = self.settings.zoom * self.export.zoom_scale();
        if (ctx.zoom_factor() - zoom).abs() > 1e-3 {
            ctx.set_zoom_factor(zoom);
        }
    }

    /// The one place that takes what every worker sent, whatever tab is open (twice a
    /// frame: before layout, and after the frame's requests, so inline work is in at once).
    fn poll_workers(&mut self) {
        self.jobs.poll();
    }

    /// Ask for the work the open tab wants, and for the ELBO (the status line, the export
    /// of its table and the lessons read it whatever tab is open).
    fn request_work(&mut self) {
        let ctx = self.view_ctx();
        let mut wants = self.views.tabs.wants(self.settings.view, &ctx);
        wants.push(Want::Elbo(ctx.elbo_key()));
        for want in wants {
            self.jobs.request(want);
        }
    }

    /// What the Evidence tab's results must be of.
    pub fn evidence_key(&self) -> evidence::EvidenceKey {
        self.view_ctx().evidence_key()
    }

    /// The comparison the Schedule tab's table is of (the current schedule, the drawn
    /// presets and every overlay on the current data).
    pub fn compare_key(&self) -> compare::CompareKey {
        self.view_ctx().compare_key()
    }

    /// How the comparison window stands against the current schedules, while it is on
    /// screen (None otherwise).
    pub fn comparison_freshness(&self) -> Option<Freshness> {
        (self.views.tabs.schedule.compare_open && self.settings.view == View::Schedule)
            .then(|| self.jobs.compare.freshness(&self.compare_key()))
    }

    /// A restored window that lies off the monitor is moved back, once, when the first
    /// frame knows both rectangles.
    fn keep_window_on_screen(&mut self, ctx: &egui::Context) {
        if self.placed {
            return;
        }
        let (outer, monitor) = ctx.input(|i| (i.viewport().outer_rect, i.viewport().monitor_size));
        if let (Some(outer), Some(monitor)) = (outer, monitor) {
            self.placed = true;
            if let Some(pos) = persist::onscreen_position(outer, monitor) {
                ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(pos));
                self.notes
                    .restored
                    .push("the saved window position was off the screen; moved back".into());
            }
        }
    }

    /// Rebuild the inputs if the settings changed; on a bad value keep the last valid
    /// inputs, restore their settings and say what was wrong.
    fn sync_inputs(&mut self) {
        let s = &self.settings;
        let a = &self.applied;
        let data_changed = s.data != a.data_settings;
        let schedule_changed = s.schedule != a.schedule_settings;
        let model_changed = s.model != a.model.kind
            || s.trained_model != a.model.trained.as_ref().map(|(p, _, _)| *p);
        let config_changed = self.elbo_config() != a.inputs.config;
        if !(data_changed || schedule_changed || model_changed || config_changed) {
            return;
        }
        let mut inputs = a.inputs.clone();
        if data_changed {
            match build_data(&s.data) {
                Ok(data) => {
                    inputs.view_box = inputs::view_box(&data);
                    inputs.data = Arc::new(data);
                    self.notes.data_error = None;
                }
                Err(e) => {
                    self.notes.data_error = Some(e);
                    self.settings.data = a.data_settings.clone();
                }
            }
        }
        if schedule_changed {
            match self.settings.schedule.spec().build() {
                Ok(schedule) => {
                    inputs.schedule = Arc::new(schedule);
                    self.notes.schedule_error = None;
                }
                Err(e) => {
                    self.notes.schedule_error = Some(e.to_string());
                    self.settings.schedule = a.schedule_settings.clone();
                }
            }
        }
        let new_data = !Arc::ptr_eq(&inputs.data, &a.inputs.data);
        let new_schedule = !Arc::ptr_eq(&inputs.schedule, &a.inputs.schedule);
        let mut model = a.model.clone();
        if new_data || model_changed {
            model = self.choose_model(&inputs.data);
            inputs.model = match &model.trained {
                Some((_, _, net)) => Arc::clone(net) as Arc<dyn elbo_core::denoiser::Denoiser>,
                None => model.kind.build(&inputs.data),
            };
        }
        if new_data {
            self.data_history.push(self.settings.data.clone());
            if self.training.running {
                self.training.pause_for_new_data();
                self.notes.status = Some(StatusLine::info(training::PAUSED_FOR_DATA.to_owned()));
            }
        }
        if new_data || new_schedule || model_changed || config_changed {
            self.applied = Applied {
                data_settings: self.settings.data.clone(),
                schedule_settings: self.settings.schedule.clone(),
                model,
                findings: sanity_findings(&inputs.schedule, Some(&inputs.data)),
                schedule_label: self.settings.schedule.spec().label(),
                inputs,
            };
            self.settings.t = self.t();
            self.submit_elbo();
        }
    }

    /// The model the settings ask for on `data`: a trained network stays frozen as it was
    /// picked while it fits the data's dimension; picking it anew takes the newest snapshot.
    fn choose_model(&mut self, data: &GaussianMixture) -> AppliedModel {
        let kind = self.settings.model;
        let Some(p) = self.settings.trained_model else {
            return AppliedModel {
                kind,
                trained: None,
            };
        };
        let frozen = self.applied.model.trained.clone().filter(|(q, _, net)| {
            *q == p && elbo_core::denoiser::Denoiser::dim(&**net) == data.dim()
        });
        let trained = frozen.or_else(|| {
            self.training
                .model(p, data.dim())
                .map(|net| (p, self.training.models_step, net))
        });
        if trained.is_none() {
            self.notes.model_note = Some(format!(
                "no trained {p} network for {}D data: the {} model is used",
                data.dim(),
                kind.name()
            ));
            self.settings.trained_model = None;
        } else {
            self.notes.model_note = None;
        }
        AppliedModel { kind, trained }
    }

    /// Apply a command from a view, a panel, a key or the menu.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        let steps = self.steps();
        match command {
            Command::SetData(d) => self.settings.data = d,
            Command::SetSchedule(s) => self.settings.schedule = s,
            Command::SetModel(ModelChoice::Kind(k)) => {
                self.settings.model = k;
                self.settings.trained_model = None;
            }
            Command::SetModel(ModelChoice::Trained(p)) => {
                if self.settings.trained_model != Some(p) {
                    self.settings.trained_model = Some(p);
                }
            }
            Command::UseNewerNetworks => {
                // Drop the frozen network: the next sync takes the newest snapshot.
                if self.applied.model.trained.take().is_none() {
                    self.notes.model_note = Some("no trained network is in use".into());
                }
            }
            Command::SetVariance(v) => self.settings.variance = v,
            Command::SetSamples(n) => {
                self.settings.samples = n.clamp(
                    *settings::SAMPLE_RANGE.start(),
                    *settings::SAMPLE_RANGE.end(),
                )
            }
            Command::SetSeed(seed) => self.settings.seed = seed.min(settings::MAX_SEED),
            Command::LoadData(path) => {
                let candidate = DataSettings {
                    file: Some(path),
                    drawn: None,
                    ..self.settings.data.clone()
                };
                match build_data(&candidate) {
                    Ok(_) => {
                        self.settings.data = candidate;
                        self.notes.data_error = None;
                    }
                    Err(e) => self.notes.data_error = Some(e),
                }
            }
            Command::LoadSchedule(path) => self.load_schedule(&path),
            Command::OverlaySchedule(path) => self.add_overlay(&path),
            Command::RemoveOverlay(i) => {
                if i < self.settings.overlays.len() {
                    self.settings.overlays.remove(i);
                    if i < self.overlays.len() {
                        self.overlays.remove(i);
                    }
                }
                self.notes.overlay_error = None;
            }
            Command::ClearOverlays => {
                self.settings.overlays.clear();
                self.overlays.clear();
                self.notes.overlay_error = None;
            }
            Command::SetEditMode(mode) => self.set_edit_mode(mode),
            Command::ToggleEditMode(mode) => self.set_edit_mode(if self.edit_mode == mode {
                EditMode::Off
            } else {
                mode
            }),
            Command::UndoData => match self.data_history.undo() {
                Some(data) => self.settings.data = data.clone(),
                None => self.notes.status = Some(StatusLine::info("nothing to undo")),
            },
            Command::RedoData => match self.data_history.redo() {
                Some(data) => self.settings.data = data.clone(),
                None => self.notes.status = Some(StatusLine::info("nothing to redo")),
            },
            Command::SaveMixture(path) => {
                let text = self.applied.inputs.data.to_json();
                self.notes.status = Some(match std::fs::write(&path, text) {
                    Ok(()) => StatusLine::info(format!(
                        "wrote the data ({} components) to {}: `elbo-lab report --data {}` reads it",
                        self.applied.inputs.data.len(),
                        path.display(),
                        path.display()
                    )),
                    Err(e) => StatusLine::error(format!("could not write {}: {e}", path.display())),
                });
            }
            Command::UsePresetData => {
                self.settings.data.file = None;
                self.settings.data.drawn = None;
                self.notes.data_error = None;
            }
            Command::UsePresetSchedule => {
                self.settings.schedule.custom = None;
                self.settings.schedule_config = None;
                self.notes.schedule_error = None;
            }
            Command::SetT(t) => self.settings.t = t.clamp(1, steps),
            Command::StepBack => self.settings.t = self.t().saturating_sub(1).max(1),
            Command::StepForward => self.settings.t = (self.t() + 1).min(steps),
            Command::FirstT => self.settings.t = 1,
            Command::LastT => self.settings.t = steps,
            Command::TogglePlay => self.playing = !self.playing,
            Command::SetSpeed(v) => {
                if v.is_finite() {
                    self.settings.speed =
                        v.clamp(*settings::SPEED_RANGE.start(), *settings::SPEED_RANGE.end());
                }
            }
            Command::SetView(v) => self.settings.view = v,
            Command::SetToggles(t) => self.settings.toggles = t,
            Command::SetReverse(r) => self.settings.reverse = r,
            Command::SetDark(d) => self.settings.dark = d,
            Command::SetZoom(z) => {
                if z.is_finite() {
                    self.settings.zoom = z.clamp(*ZOOM_RANGE.start(), *ZOOM_RANGE.end());
                }
            }
            Command::ZoomIn => {
                self.settings.zoom = (self.settings.zoom + ZOOM_STEP).min(*ZOOM_RANGE.end())
            }
            Command::ZoomOut => {
                self.settings.zoom = (self.settings.zoom - ZOOM_STEP).max(*ZOOM_RANGE.start())
            }
            Command::ToggleFullscreen => {
                self.fullscreen = !self.fullscreen;
                ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(self.fullscreen));
            }
            Command::ShowAbout(open) => self.about_open = open,
            Command::ShowHelp(open) => self.help_open = open,
            Command::SetPresenter(on) => self.settings.presenter = on,
            Command::TogglePresenter => self.settings.presenter = !self.settings.presenter,
            Command::SetSidePanel(shown) => {
                self.settings.side_panel = shown;
                if shown {
                    self.settings.presenter = false;
                }
            }
            Command::SetLegends(shown) => self.settings.toggles.legends = shown,
            Command::Reset(scope) => {
                self.settings = self.settings.reset(scope);
                self.playing = false;
                self.notes.status = Some(StatusLine::info(format!("{}: done", scope.label())));
            }
            Command::DismissNotes => self.notes.restored.clear(),
            Command::SetTraining(t) => self.settings.training = t.validated().0,
            Command::StartTraining => {
                let inputs = &self.applied.inputs;
                let (data, schedule) = (inputs.data.clone(), inputs.schedule.clone());
                let label = self.applied.data_settings.label();
                self.training.start(
                    &self.settings.training,
                    &data,
                    &schedule,
                    self.settings.variance,
                    &label,
                );
            }
            Command::PauseTraining => self.training.pause(),
            Command::ResetTraining => self.training.reset(),
            Command::LoadWeights(dir) => {
                let inputs = &self.applied.inputs;
                let (data, schedule) = (inputs.data.clone(), inputs.schedule.clone());
                let label = self.applied.data_settings.label();
                self.training.load(
                    &self.settings.training,
                    &dir,
                    &data,
                    &schedule,
                    self.settings.variance,
                    &label,
                );
            }
            Command::SaveWeights(dir) => self.training.save(&dir),
            Command::SaveScene(path) => self.save_scene(&path),
            Command::OpenScene(path) => self.open_scene(&path),
            Command::StartLesson(n) => self.start_lesson(ctx, n),
            Command::NextLesson => self.step_lesson(ctx, 1),
            Command::PrevLesson => self.step_lesson(ctx, -1),
            Command::ExitLesson => self.lesson = None,
            Command::ExportCsv(path) => self.export(&path, false),
            Command::ExportJson(path) => self.export(&path, true),
            Command::Screenshot(path) => {
                let tx = self.screenshots.0.clone();
                let repaint = ctx.clone();
                ctx.request_screenshot(move |image| {
                    let outcome = save_png(&path, &image);
                    let _ = tx.send(match outcome {
                        Ok(()) => format!("saved the window as {}", path.display()),
                        Err(e) => format!("error: {e}"),
                    });
                    repaint.request_repaint();
                });
                self.notes.status = Some(StatusLine::info("taking a screenshot..."));
            }
            Command::ShowExportDialog(open) => self.export.open = open,
            Command::ExportPlot(request) => self.start_export(ctx, request),
            Command::PickFile(request) => self.open_dialog(move || dialog::pick(request)),
            Command::CancelExport => self.cancel_export(),
            Command::ShowComparison(open) => self.views.tabs.schedule.compare_open = open,
            Command::SaveComparison(path, format) => self.save_comparison(&path, format),
            Command::CopyComparison(format) => {
                self.notes.status = Some(match self.jobs.compare.table(&self.compare_key()) {
                    Some(table) => {
                        ctx.copy_text(table.render(format));
                        StatusLine::info(format!(
                            "copied the comparison table ({}) to the clipboard",
                            format.name()
                        ))
                    }
                    None => StatusLine::error(NO_TABLE_YET.to_owned()),
                });
            }
        }
    }

    /// Enter or leave an edit mode. The data plots are in the Forward, Reverse (2D) and
    /// Evidence (1D, the diffusion step) tabs: from any other tab the edit mode opens the
    /// Forward tab.
    fn set_edit_mode(&mut self, mode: EditMode) {
        self.edit_mode = mode;
        if mode != EditMode::Off && !self.settings.view.shows_data(&self.view_ctx()) {
            self.settings.view = View::Forward;
        }
    }

    fn load_schedule(&mut self, path: &Path) {
        match load_schedule_file(path) {
            Ok(loaded) => {
                let label = file_label(path);
                let candidate = ScheduleSettings::from_spec(&loaded.spec, &label);
                match candidate.spec().build() {
                    Ok(_) => {
                        self.settings.schedule_config = loaded.is_config.then(|| ScheduleConfig {
                            name: label.clone(),
                            class_name: loaded.class_name.clone(),
                            prediction_type: loaded.prediction_type.clone(),
                            timestep_spacing: loaded.timestep_spacing.clone(),
                            steps_offset: loaded.steps_offset,
                            schedule: candidate.clone(),
                        });
                        self.settings.schedule = candidate;
                        if let Some(v) = loaded.variance {
                            self.settings.variance = v;
                        }
                        self.notes.schedule_error = None;
                    }
                    Err(e) => self.notes.schedule_error = Some(format!("{}: {e}", path.display())),
                }
            }
            Err(e) => self.notes.schedule_error = Some(e.to_string()),
        }
    }

    fn open_dialog(&mut self, pick: impl FnOnce() -> Option<Command> + Send + 'static) {
        if self.jobs.options.mode != Mode::Thread {
            // Tests never open native dialogs.
            return;
        }
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("elbo-lab-file-dialog".into())
            .spawn(move || {
                let _ = tx.send(pick());
            });
        match spawned {
            Ok(_) => self.dialog = Some(rx),
            Err(e) => {
                self.notes.status = Some(StatusLine::error(format!(
                    "no file dialog ({e}): type a path instead"
                )))
            }
        }
    }

    fn save_comparison(&mut self, path: &Path, format: TableFormat) {
        let Some(table) = self.jobs.compare.table(&self.compare_key()) else {
            self.notes.status = Some(StatusLine::error(NO_TABLE_YET.to_owned()));
            return;
        };
        self.notes.status = Some(match std::fs::write(path, table.render(format)) {
            Ok(()) => StatusLine::info(format!("wrote {}", path.display())),
            Err(e) => StatusLine::error(format!("could not write {}: {e}", path.display())),
        });
    }

    fn export(&mut self, path: &Path, json: bool) {
        let Some(elbo) = self
            .elbo()
            .filter(|e| e.inputs.covers(&self.applied.inputs, Depends::All))
        else {
            self.notes.status = Some(StatusLine::error(
                "nothing to export yet: the ELBO of the current settings is still being computed",
            ));
            return;
        };
        let source = self.applied.data_settings.label();
        let report = Report {
            result: &elbo.result,
            data: &elbo.inputs.data,
            data_source: &source,
            schedule: &elbo.inputs.schedule,
            schedule_label: &self.applied.schedule_label,
            spec: None,
        };
        let text = if json {
            report.to_json()
        } else {
            report.to_csv()
        };
        let preview = if elbo.preview {
            " (quick preview estimate)"
        } else {
            ""
        };
        self.notes.status = Some(match std::fs::write(path, text) {
            Ok(()) => StatusLine::info(format!("wrote {}{preview}", path.display())),
            Err(e) => StatusLine::error(format!("could not write {}: {e}", path.display())),
        });
    }

    fn poll_side_channels(&mut self, ctx: &egui::Context) {
        if let Some(rx) = &self.dialog {
            match rx.try_recv() {
                Ok(Some(command)) => {
                    self.dialog = None;
                    self.apply(ctx, command);
                }
                Ok(None) | Err(std::sync::mpsc::TryRecvError::Disconnected) => self.dialog = None,
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    ctx.request_repaint_after(std::time::Duration::from_millis(100))
                }
            }
        }
        self.poll_export(ctx);
        if let Ok(message) = self.screenshots.1.try_recv() {
            let is_error = message.starts_with("error");
            self.notes.status = Some(StatusLine::new(message, is_error));
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for path in dropped {
            let command = match classify_dropped(&path) {
                Command::LoadSchedule(p) if self.settings.toggles.drop_overlays => {
                    Command::OverlaySchedule(p)
                }
                command => command,
            };
            self.apply(ctx, command);
        }
    }

    /// Keys emit the same commands as the buttons they stand for.
    fn keyboard(ctx: &egui::Context) -> Vec<Command> {
        if ctx.egui_wants_keyboard_input() {
            // A text field takes Ctrl+Z for its own text.
            return Vec::new();
        }
        let mut commands = Vec::new();
        ctx.input_mut(|i| {
            let redo = [
                egui::KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z),
                egui::KeyboardShortcut::new(Modifiers::COMMAND, Key::Y),
            ];
            if redo.iter().any(|k| i.consume_shortcut(k)) {
                commands.push(Command::RedoData);
            }
            if i.consume_shortcut(&egui::KeyboardShortcut::new(Modifiers::COMMAND, Key::Z)) {
                commands.push(Command::UndoData);
            }
        });
        let plain = ctx.input(|i| i.modifiers.is_none());
        let keys = [
            (Key::Space, Command::TogglePlay),
            (Key::ArrowLeft, Command::StepBack),
            (Key::ArrowRight, Command::StepForward),
            (Key::Home, Command::FirstT),
            (Key::End, Command::LastT),
            (Key::Plus, Command::ZoomIn),
            (Key::Equals, Command::ZoomIn),
            (Key::Minus, Command::ZoomOut),
            (Key::F11, Command::ToggleFullscreen),
            (Key::F5, Command::TogglePresenter),
            (Key::F1, Command::ShowHelp(true)),
            (Key::Questionmark, Command::ShowHelp(true)),
            (Key::PageDown, Command::NextLesson),
            (Key::PageUp, Command::PrevLesson),
            (Key::E, Command::ToggleEditMode(EditMode::Components)),
            (Key::B, Command::ToggleEditMode(EditMode::Brush)),
            (Key::Escape, Command::SetEditMode(EditMode::Off)),
        ];
        let letter = |k: Key| matches!(k, Key::E | Key::B);
        ctx.input(|i| {
            commands.extend(
                keys.into_iter()
                    .filter(|(k, _)| i.key_pressed(*k) && (plain || !letter(*k)))
                    .map(|(_, c)| c),
            )
        });
        commands
    }

    fn advance_time(&mut self, ctx: &egui::Context) {
        if !self.playing {
            self.t_accum = 0.0;
            return;
        }
        let dt = ctx.input(|i| i.stable_dt).min(0.1);
        self.t_accum += dt * self.settings.speed;
        let whole = self.t_accum.floor();
        if whole >= 1.0 {
            self.t_accum -= whole;
            self.settings.t = if self.settings.view == View::Reverse {
                // The generative direction: t runs down from T, then starts again.
                match self.t().checked_sub(whole as usize) {
                    Some(t) if t >= 1 => t,
                    _ => self.steps(),
                }
            } else {
                let t = self.t() + whole as usize;
                if t > self.steps() { 1 } else { t }
            };
        }
        ctx.request_repaint();
    }

    /// The read-only context every view draws from.
    pub fn view_ctx(&self) -> ViewCtx<'_> {
        ViewCtx {
            settings: &self.settings,
            applied: &self.applied,
            overlays: &self.overlays,
            notes: &self.notes,
            t: self.t(),
            playing: self.playing,
            jobs: &self.jobs,
            training: &self.training,
            about_open: self.about_open,
            help_open: self.help_open,
            lesson: self.lesson,
            edit_mode: self.edit_mode,
            data_history: &self.data_history,
        }
    }

    /// One frame of the whole UI (what `eframe::App::ui` runs): take what the workers
    /// sent, lay out (views return commands), apply the commands, rebuild the inputs, move
    /// the timeline, ask for the work the new state needs.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_workers();
        // Training and its evaluations (inline, it also takes this frame's training steps).
        self.training.poll(&ctx);
        self.poll_side_channels(&ctx);
        self.keep_window_on_screen(&ctx);
        let mut commands = Self::keyboard(&ctx);
        let mut views = std::mem::take(&mut self.views);
        commands.extend(views.ui(ui, &self.view_ctx()));
        self.views = views;
        commands.extend(self.export_window(&ctx));
        self.export_after_layout(&ctx);
        if !commands.is_empty() {
            // Layout drew the state before the commands: draw the state after them.
            ctx.request_repaint();
        }
        for command in commands {
            self.apply(&ctx, command);
        }
        let dropped = self.sync_overlays();
        if !dropped.is_empty() {
            self.notes.overlay_error = Some(dropped.join("; "));
        }
        self.sync_inputs();
        self.settings.t = self.t();
        self.advance_time(&ctx);
        self.request_work();
        self.poll_workers();
        self.apply_theme(&ctx);
        if self.jobs.is_busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.settings);
    }
}

/// Text sizes in points at zoom 1 (egui's defaults are 9 to 12.5 px): nothing smaller than
/// 14 px, so a projected class can read every caption.
pub const TEXT_SIZES: [(egui::TextStyle, f32); 5] = [
    (egui::TextStyle::Small, 14.0),
    (egui::TextStyle::Body, 15.0),
    (egui::TextStyle::Monospace, 14.0),
    (egui::TextStyle::Button, 15.0),
    (egui::TextStyle::Heading, 20.0),
];

/// Puts [`TEXT_SIZES`] into both themes' styles, with solid scroll bars.
pub fn install_text_styles(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        for (text_style, size) in TEXT_SIZES.iter().cloned() {
            if let Some(font) = style.text_styles.get_mut(&text_style) {
                font.size = size;
            }
        }
        // Solid scroll bars, drawn whenever there is more to see: on a projector a bar
        // that appears only under the mouse hides that a column goes on below the fold.
        style.spacing.scroll = egui::style::ScrollStyle::solid();
    });
}

fn build_data(settings: &DataSettings) -> Result<GaussianMixture, String> {
    if let Some(drawn) = &settings.drawn {
        return drawn
            .build()
            .map_err(|e| format!("the hand-drawn data: {e}"));
    }
    match &settings.file {
        Some(path) => load_mixture_file(path, settings.bandwidth).map_err(|e| e.to_string()),
        None => settings.spec.build().map_err(|e| e.to_string()),
    }
}

/// The default data (a preset whose build is tested in `presets.rs`).
#[allow(clippy::expect_used)]
fn default_data() -> GaussianMixture {
    DataSettings::default()
        .spec
        .build()
        .expect("the default data preset builds")
}

/// The default schedule (DDPM linear, T = 1000).
#[allow(clippy::expect_used)]
fn default_schedule() -> NoiseSchedule {
    ScheduleSettings::default()
        .spec()
        .build()
        .expect("the default schedule builds")
}

fn build_applied(settings: &Settings, data: GaussianMixture, schedule: NoiseSchedule) -> Applied {
    let kind = settings.model;
    Applied {
        data_settings: settings.data.clone(),
        schedule_settings: settings.schedule.clone(),
        model: AppliedModel {
            kind,
            trained: None,
        },
        findings: sanity_findings(&schedule, Some(&data)),
        schedule_label: settings.schedule.spec().label(),
        inputs: Inputs::new(data, schedule, kind),
    }
}

/// Decide whether a dropped file is data or a schedule, by name and content.
pub fn classify_dropped(path: &Path) -> Command {
    use std::io::Read;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if ext == "csv" {
        return Command::LoadData(path.to_path_buf());
    }
    // The first 64 KiB tell: the loader reads (and checks) the whole file afterwards.
    let mut head = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(64 * 1024).read_to_end(&mut head);
    }
    let text = String::from_utf8_lossy(&head);
    let trimmed = text.trim_start();
    if scene::looks_like_scene(&text) {
        return Command::OpenScene(path.to_path_buf());
    }
    let is_data = if trimmed.starts_with('{') {
        trimmed.contains("\"components\"")
    } else if trimmed.starts_with('[') {
        false
    } else {
        // A list with several columns is points; one number a line is betas.
        text.lines()
            .any(|l| l.contains(',') || l.split_whitespace().count() > 1)
    };
    if is_data {
        Command::LoadData(path.to_path_buf())
    } else {
        Command::LoadSchedule(path.to_path_buf())
    }
}

fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn save_png(path: &Path, image: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = image.size;
    let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
        .ok_or_else(|| "the screenshot has an inconsistent size".to_owned())?;
    buffer
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| format!("could not write {}: {e}", path.display()))
}
