//! The headless model of the app: the settings, the last valid inputs built from them,
//! the overlaid schedules, the undo history of the data, the notes for the user and the
//! timeline. Commands that only change these are carried out here ([`Model::apply`]);
//! [`Model::sync_inputs`] builds the inputs once and reports what changed, and the shell
//! lets the jobs and training react. Nothing here draws or runs work.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use elbo_core::denoiser::ModelKind;
use elbo_core::edit::History;
use elbo_core::elbo::ElboConfig;
use elbo_core::mixture::{GaussianMixture, load_mixture_file};
use elbo_core::param::Parameterisation;
use elbo_core::schedule::{
    Finding, NoiseSchedule, ScheduleSpec, load_schedule_file, sanity_findings,
};
use elbo_train::TrainedDenoiser;

use super::command::{Command, ModelChoice};
use super::inputs::{self, Inputs};
use super::settings::{
    self, DataSettings, ElboForm, MAX_OVERLAYS, ScheduleConfig, ScheduleSettings, Settings, View,
    ZOOM_RANGE, ZOOM_STEP,
};

/// Finds the newest trained network of a parameterisation for data of a dimension, with
/// the training step it was taken at.
pub type Networks<'a> =
    dyn Fn(Parameterisation, usize) -> Option<(usize, Arc<TrainedDenoiser>)> + 'a;

/// The most one frame moves the playing timeline, in seconds: a frame that comes later
/// than this (the window dragged or hidden, the machine suspended, a long stall) moves t
/// by `speed * MAX_FRAME_ADVANCE` steps at most instead of jumping by the whole gap. It is
/// well above the time between frames of a working window, even one drawn by a software
/// renderer (about 0.14 s a frame on a loaded two-core machine), so playback keeps its
/// stated speed there; and short enough that a stall costs at most a quarter of a second
/// of playback (25 steps at the default 100 steps/s).
pub const MAX_FRAME_ADVANCE: f32 = 0.25;

/// What [`Model::sync_inputs`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    /// New data were applied (a network trained on the old data no longer fits them).
    pub data: bool,
    /// The inputs changed: every result of the old ones is out of date.
    pub inputs: bool,
}

/// The state of the app that is not the window's: what a scene, a lesson or a test sets.
pub struct Model {
    /// Persisted settings (what the controls show).
    pub settings: Settings,
    /// The last valid inputs.
    pub applied: Applied,
    /// Errors and notes.
    pub notes: Notes,
    /// The schedules overlaid in the Schedule tab, in the order of [`Settings::overlays`].
    pub overlays: Vec<Overlay>,
    /// Every data settings applied, for undo and redo (edits, presets, files, scenes).
    pub data_history: History<DataSettings>,
    /// Playing the timeline.
    pub playing: bool,
    /// Fractional timesteps the playing timeline has advanced by.
    t_accum: f32,
}

impl Model {
    /// The model of `settings`, validated: a part that fails to build falls back to its
    /// default alone, with a note in [`Notes::restored`].
    pub fn new(settings: Settings) -> Self {
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
        let applied = build_applied(&settings, data, schedule);
        let mut model = Model {
            notes: Notes {
                restored,
                ..Notes::default()
            },
            overlays: Vec::new(),
            data_history: History::new(settings.data.clone()),
            playing: false,
            t_accum: 0.0,
            applied,
            settings,
        };
        model.applied.inputs.config = model.elbo_config();
        let dropped = model.sync_overlays();
        model.notes.restored.extend(dropped);
        model
    }

    /// Read the files a restored state named (see [`PendingFiles`]): data that do not
    /// load leave the preset in place, an overlay that does not load is dropped, each
    /// with a note as at start.
    pub fn load_files(&mut self, files: PendingFiles) {
        if let Some(data) = files.data {
            match build_data(&data) {
                Ok(_) => self.settings.data = data,
                Err(e) => self.notes.restored.push(format!(
                    "the saved data ({}) could not be loaded: {e}; the preset {} is used",
                    data.label(),
                    self.settings.data.label()
                )),
            }
        }
        for path in files.overlays {
            if !self.settings.overlays.contains(&path)
                && self.settings.overlays.len() < MAX_OVERLAYS
            {
                self.settings.overlays.push(path);
            }
        }
        let dropped = self.sync_overlays();
        self.notes.restored.extend(dropped);
    }

    /// Move the playing timeline on by `dt` seconds of real time (the generative
    /// direction, from T down, in the Reverse tab): t moves by `speed * dt` steps, and the
    /// fraction of a step left over is kept for the next frame, so t runs at the stated
    /// speed whatever the frame rate. A single frame counts at most [`MAX_FRAME_ADVANCE`]
    /// seconds; a `dt` that is negative or not finite counts as none. Returns whether it
    /// plays.
    ///
    /// ```text
    /// accum += speed * min(dt, MAX_FRAME_ADVANCE);   t += floor(accum);   accum -= floor(accum)
    /// ```
    pub fn advance_time(&mut self, dt: f32) -> bool {
        if !self.playing {
            self.t_accum = 0.0;
            return false;
        }
        let dt = if dt.is_finite() {
            dt.clamp(0.0, MAX_FRAME_ADVANCE)
        } else {
            0.0
        };
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
        true
    }

    /// Seconds until the playing timeline moves t next (None while paused): the shell need
    /// not draw a new frame before then.
    pub fn next_step_in(&self) -> Option<f32> {
        self.playing
            .then(|| (1.0 - self.t_accum).max(0.0) / self.settings.speed.max(f32::MIN_POSITIVE))
    }

    /// Load or drop overlays until they match [`Settings::overlays`]; a file that no longer
    /// loads is dropped from the settings. Returns a message per dropped file.
    pub fn sync_overlays(&mut self) -> Vec<String> {
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
        if self.settings.overlays.len() >= MAX_OVERLAYS {
            self.notes.overlay_error = Some(format!(
                "at most {MAX_OVERLAYS} schedules can be overlaid: remove one first"
            ));
            return;
        }
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

    /// Rebuild the inputs if the settings changed; on a bad value keep the last valid
    /// inputs, restore their settings and say what was wrong. `networks` finds the newest
    /// trained network of a parameterisation for data of a dimension (with its training
    /// step). Returns what changed, for the jobs and training to react to.
    pub fn sync_inputs(&mut self, networks: &Networks<'_>) -> Changed {
        let s = &self.settings;
        let a = &self.applied;
        let data_changed = s.data != a.data_settings;
        let schedule_changed = s.schedule != a.schedule_settings;
        let model_changed = s.model != a.model.kind
            || s.trained_model != a.model.trained.as_ref().map(|(p, _, _)| *p);
        let config_changed = self.elbo_config() != a.inputs.config;
        if !(data_changed || schedule_changed || model_changed || config_changed) {
            return Changed::default();
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
            model = self.choose_model(&inputs.data, networks);
            inputs.model = match &model.trained {
                Some((_, _, net)) => Arc::clone(net) as Arc<dyn elbo_core::denoiser::Denoiser>,
                None => model.kind.build(&inputs.data),
            };
        }
        if new_data {
            self.data_history.push(self.settings.data.clone());
        }
        let changed = Changed {
            data: new_data,
            inputs: new_data || new_schedule || model_changed || config_changed,
        };
        if changed.inputs {
            self.applied = Applied {
                data_settings: self.settings.data.clone(),
                schedule_settings: self.settings.schedule.clone(),
                model,
                findings: sanity_findings(&inputs.schedule, Some(&inputs.data)),
                schedule_label: self.settings.schedule.spec().label(),
                inputs,
            };
            self.applied.inputs.config = self.elbo_config();
            self.settings.t = self.t();
        }
        changed
    }

    /// The model the settings ask for on `data`: a trained network stays frozen as it was
    /// picked while it fits the data's dimension; picking it anew takes the newest snapshot.
    fn choose_model(&mut self, data: &GaussianMixture, networks: &Networks<'_>) -> AppliedModel {
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
        let trained = frozen.or_else(|| networks(p, data.dim()).map(|(step, net)| (p, step, net)));
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

    /// Carry out `command` when it only changes the model (settings, overlays, history,
    /// the timeline); hand it back otherwise. The inputs are rebuilt by the next
    /// [`Model::sync_inputs`].
    pub fn apply(&mut self, command: Command) -> Result<(), Command> {
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
                self.notes.status = Some(match elbo_core::files::write_atomic(&path, text) {
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
            Command::SetToggles(t) => {
                // The ELBO's method follows the form: say so where it changes, as every tab's
                // numbers change with it.
                if t.elbo_form != self.settings.toggles.elbo_form {
                    let text = if t.elbo_form == ElboForm::Consistency {
                        format!(
                            "eq. 45 view: every tab's ELBO is now by Monte Carlo (N = {}, seed {}), the only way to estimate eq. 45's terms; the eq. 58 view goes back to quadrature",
                            self.settings.samples, self.settings.seed
                        )
                    } else {
                        "eq. 58 view: every tab's ELBO is by quadrature again (no sampling noise)"
                            .to_owned()
                    };
                    self.notes.status = Some(StatusLine::info(text));
                }
                self.settings.toggles = t;
            }
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
            Command::DismissStatus => self.notes.status = None,
            Command::SetTraining(t) => self.settings.training = t.validated().0,
            other => return Err(other),
        }
        Ok(())
    }
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

/// The files a restored state names (its data file and overlaid schedules), taken out of
/// the settings so that the window draws before they are read ([`Model::load_files`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PendingFiles {
    /// Data settings that read a file.
    pub data: Option<DataSettings>,
    /// The overlaid schedules.
    pub overlays: Vec<PathBuf>,
}

impl PendingFiles {
    /// Take the files out of `settings`: data read from a file give way to the preset
    /// they keep (a drawing, which holds its components, stays), the overlays are emptied.
    pub fn take(settings: &mut Settings) -> Self {
        let data = (settings.data.drawn.is_none() && settings.data.file.is_some()).then(|| {
            let data = settings.data.clone();
            settings.data = data.with_preset(data.spec);
            data
        });
        PendingFiles {
            data,
            overlays: std::mem::take(&mut settings.overlays),
        }
    }
}

pub(super) fn build_data(settings: &DataSettings) -> Result<GaussianMixture, String> {
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

fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
