//! The desktop app (eframe/egui/egui_plot) over the core.
//!
//! ```text
//! settings (persisted) --controls--> Commands --apply--> Inputs (data, schedule, model)
//!   Inputs --elbo worker--> river, particles, ELBO preview then full
//!   Inputs + t --field worker--> density at t, prediction fields
//!   views draw what arrived; the timeline moves t
//! ```

pub mod compute;
pub mod controls;
pub mod plot_util;
pub mod reverse;
pub mod settings;
pub mod timeline;
pub mod training;
pub mod views;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use egui::{Color32, Key, RichText, TextureHandle, TextureOptions};

use crate::denoiser::ModelKind;
use crate::elbo::{ElboResult, McConfig};
use crate::mixture::{GaussianMixture, load_mixture_file};
use crate::report::Report;
use crate::schedule::{Finding, NoiseSchedule, load_schedule_file, sanity_findings};

use compute::{ElboMessage, Field, FieldJob, Inputs, Particles, River};
use settings::{DataSettings, ElboForm, ScheduleSettings, Settings, View};
use worker::Worker;

/// The window title: the app and the paper it follows.
pub const TITLE: &str =
    "ELBO Lab: the ELBO of a diffusion model (Luo 2022, Understanding Diffusion Models)";
/// The paper.
pub const PAPER: &str = "Calvin Luo (2022), \"Understanding Diffusion Models: A Unified Perspective\", arXiv:2208.11970";
/// The persistence key of [`Settings`].
pub const STORAGE_KEY: &str = "elbo_lab_settings";

/// Open the desktop app.
pub fn run_native() -> anyhow::Result<()> {
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
        Box::new(|cc| Ok(Box::new(App::new(cc).map_err(anyhow::Error::msg)?))),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}

/// Something the controls or the menu ask the app to do, applied after layout.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Load data (a mixture JSON or a CSV of points) from a path.
    LoadData(PathBuf),
    /// Load a schedule (`scheduler_config.json` or a betas list) from a path.
    LoadSchedule(PathBuf),
    /// Open a native file dialog for data.
    PickData,
    /// Open a native file dialog for a schedule.
    PickSchedule,
    /// Go back from a loaded file to the preset.
    UsePresetData,
    /// Go back from custom betas to the preset.
    UsePresetSchedule,
    /// Write the ELBO table as CSV.
    ExportCsv(PathBuf),
    /// Write the ELBO report as JSON.
    ExportJson(PathBuf),
    /// Save a PNG of the window.
    Screenshot(PathBuf),
    /// Open a save dialog, then export (CSV, JSON or PNG by extension).
    PickExport(&'static str),
}

/// The last valid inputs with what was derived from them on the UI thread (cheap).
pub struct Applied {
    /// The data settings these inputs were built from.
    pub data_settings: DataSettings,
    /// The schedule settings these inputs were built from.
    pub schedule_settings: ScheduleSettings,
    /// Model kind.
    pub model_kind: ModelKind,
    /// What the workers compute from.
    pub inputs: Inputs,
    /// Sanity findings of the schedule against the data.
    pub findings: Vec<Finding>,
    /// The schedule's label.
    pub schedule_label: String,
}

/// The ELBO result as the views draw it.
pub struct ElboView {
    /// The table.
    pub result: Arc<ElboResult>,
    /// True while only the quick estimate is in.
    pub preview: bool,
    /// Precomputed curves.
    pub curves: views::elbo::Curves,
}

/// The 1D river as the views draw it.
pub struct RiverView {
    /// Paths and image data.
    pub river: River,
    /// The uploaded image.
    pub texture: TextureHandle,
}

impl RiverView {
    /// The density river as a plot image over t = 1..=T and x in [lo, hi]: each image
    /// column is centred on its t, and the image spans the first column's t to T.
    pub fn plot_image(&self, t_max: usize, lo: f64, hi: f64) -> egui_plot::PlotImage {
        let cols = self.river.image.size[0];
        let (t0, t1) = (compute::column_t(0, cols, t_max) as f64, t_max as f64);
        let span = if cols > 1 {
            (t1 - t0) * cols as f64 / (cols - 1) as f64
        } else {
            1.0
        };
        egui_plot::PlotImage::new(
            "q_t(x), each t scaled to its peak",
            self.texture.id(),
            egui_plot::PlotPoint::new((t0 + t1) / 2.0, (lo + hi) / 2.0),
            [span as f32, (hi - lo) as f32],
        )
        .allow_hover(false)
    }
}

/// The fields at t as the views draw them.
pub struct FieldView {
    /// The fields.
    pub field: Field,
    /// The 2D density image, uploaded.
    pub texture: Option<TextureHandle>,
}

/// The ELBO Lab app.
pub struct App {
    /// Persisted settings (what the controls show).
    pub settings: Settings,
    /// The last valid inputs.
    pub applied: Applied,
    /// An inline error about the data (the last valid data stay).
    pub data_error: Option<String>,
    /// An inline error about the schedule (the last valid schedule stays).
    pub schedule_error: Option<String>,
    /// An error from the computation.
    pub compute_error: Option<String>,
    /// The latest ELBO estimate.
    pub elbo: Option<ElboView>,
    /// The 1D river.
    pub river: Option<RiverView>,
    /// Particles and target pairs.
    pub particles: Option<Particles>,
    /// The fields at (about) the current t.
    pub field: Option<FieldView>,
    /// Playing the timeline.
    pub playing: bool,
    /// A message about the last export (text, is_error).
    pub status: Option<(String, bool)>,
    /// The About dialog is open.
    pub about_open: bool,
    /// The path typed in the data path field.
    pub data_path: String,
    /// The path typed in the schedule path field.
    pub schedule_path: String,
    /// The path typed in the export field.
    pub export_path: String,
    elbo_worker: Worker<Inputs, ElboMessage>,
    field_worker: Worker<FieldJob, Field>,
    field_requested: Option<usize>,
    t_accum: f32,
    dialog: Option<Receiver<Option<Command>>>,
    screenshots: (std::sync::mpsc::Sender<String>, Receiver<String>),
    fullscreen: bool,
    /// The reverse view's runs and quality figure.
    pub reverse: reverse::ReverseState,
    /// Live training of networks (the Training view) and the trained models.
    pub training: training::Training,
    /// The trained model choice and its generation the inputs were built with.
    applied_trained: (Option<crate::param::Parameterisation>, u64),
}

impl App {
    /// The app as eframe creates it: settings from storage (defaults if missing or
    /// broken), workers on their own threads.
    ///
    /// # Errors
    /// Only if even the default settings cannot be built (a core bug).
    pub fn new(cc: &eframe::CreationContext<'_>) -> Result<Self, String> {
        let settings = cc
            .storage
            .and_then(|s| eframe::get_value::<Settings>(s, STORAGE_KEY))
            .unwrap_or_default();
        Self::with_settings(&cc.egui_ctx, settings, false)
    }

    /// An app for tests and benchmarks: jobs run inline (deterministic), paused.
    ///
    /// # Errors
    /// Only if even the default settings cannot be built (a core bug).
    pub fn for_test(ctx: &egui::Context, settings: Settings) -> Result<Self, String> {
        Self::with_settings(ctx, settings, true)
    }

    /// An app from settings; `synchronous` runs computations inline instead of on threads.
    ///
    /// # Errors
    /// Only if even the default settings cannot be built (a core bug).
    pub fn with_settings(
        ctx: &egui::Context,
        settings: Settings,
        synchronous: bool,
    ) -> Result<Self, String> {
        let mut settings = settings.sanitised();
        let mut notes = Vec::new();
        let applied = match build_applied(&settings) {
            Ok(a) => a,
            Err(e) => {
                notes.push(format!(
                    "the saved settings could not be used ({e}); defaults loaded"
                ));
                settings = Settings::default();
                build_applied(&settings)?
            }
        };
        let repaint = (!synchronous).then(|| ctx.clone());
        let elbo_worker = Worker::new(
            "elbo-lab-elbo",
            synchronous,
            repaint.clone(),
            compute::run_elbo_job,
        );
        let field_worker = Worker::new(
            "elbo-lab-fields",
            synchronous,
            repaint,
            compute::run_field_job,
        );
        let mut app = App {
            data_error: notes.pop(),
            schedule_error: None,
            compute_error: None,
            elbo: None,
            river: None,
            particles: None,
            field: None,
            playing: false,
            status: None,
            about_open: false,
            data_path: String::new(),
            schedule_path: String::new(),
            export_path: default_export_path(),
            elbo_worker,
            field_worker,
            field_requested: None,
            t_accum: 0.0,
            dialog: None,
            screenshots: channel(),
            fullscreen: false,
            reverse: reverse::ReverseState::new(synchronous, (!synchronous).then(|| ctx.clone())),
            training: training::Training::new(ctx, synchronous),
            applied_trained: (None, 0),
            applied,
            settings,
        };
        app.apply_theme(ctx);
        app.submit_elbo();
        Ok(app)
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

    /// True while a computation runs or is queued.
    pub fn is_computing(&self) -> bool {
        self.elbo_worker.is_busy() || self.field_worker.is_busy()
    }

    /// Timesteps done by the running ELBO computation.
    pub fn elbo_progress(&self) -> usize {
        self.elbo_worker.progress()
    }

    /// True once the full-sample ELBO estimate is in.
    pub fn has_full_elbo(&self) -> bool {
        self.elbo.as_ref().is_some_and(|e| !e.preview)
    }

    fn mc_config(&self) -> McConfig {
        McConfig {
            samples: self.settings.samples,
            seed: self.settings.seed,
            variance: self.settings.variance,
            consistency: self.settings.toggles.elbo_form == ElboForm::Consistency,
        }
    }

    fn submit_elbo(&mut self) {
        self.applied.inputs.config = self.mc_config();
        self.compute_error = None;
        self.elbo_worker.submit(self.applied.inputs.clone());
        self.field_requested = None;
        self.ensure_field();
    }

    fn ensure_field(&mut self) {
        let t = self.t();
        if self.field_requested != Some(t) {
            self.field_requested = Some(t);
            self.field_worker.submit(FieldJob {
                inputs: self.applied.inputs.clone(),
                t,
            });
        }
    }

    fn apply_theme(&self, ctx: &egui::Context) {
        ctx.set_theme(if self.settings.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        if (ctx.zoom_factor() - self.settings.zoom).abs() > 1e-3 {
            ctx.set_zoom_factor(self.settings.zoom);
        }
    }

    /// Take what the workers sent.
    fn poll_workers(&mut self, ctx: &egui::Context) {
        for message in self.elbo_worker.poll() {
            match message {
                ElboMessage::Static { river, particles } => {
                    self.river = river.map(|river| RiverView {
                        texture: ctx.load_texture(
                            "river",
                            river.image.clone(),
                            TextureOptions::LINEAR,
                        ),
                        river,
                    });
                    self.particles = Some(particles);
                }
                ElboMessage::Elbo { preview, result } => {
                    let curves = views::elbo::Curves::new(&result);
                    self.elbo = Some(ElboView {
                        result,
                        preview,
                        curves,
                    });
                }
                ElboMessage::Failed(e) => self.compute_error = Some(e),
            }
        }
        if let Some(field) = self.field_worker.poll().pop() {
            let texture = field
                .density_2d
                .as_ref()
                .map(|image| ctx.load_texture("density_t", image.clone(), TextureOptions::LINEAR));
            self.field = Some(FieldView { field, texture });
        }
    }

    /// Rebuild the inputs if the settings changed; on a bad value keep the last valid
    /// inputs, restore their settings and say what was wrong.
    fn sync_inputs(&mut self) {
        let s = &self.settings;
        let a = &self.applied;
        let data_changed = s.data != a.data_settings;
        let schedule_changed = s.schedule != a.schedule_settings;
        let trained_key = (
            s.trained_model,
            s.trained_model.map_or(0, |_| self.training.generation),
        );
        let model_changed = s.model != a.model_kind || trained_key != self.applied_trained;
        let config_changed = self.mc_config() != a.inputs.config;
        if !(data_changed || schedule_changed || model_changed || config_changed) {
            return;
        }
        let mut inputs = a.inputs.clone();
        if data_changed {
            match build_data(&s.data) {
                Ok(data) => {
                    inputs.view_box = compute::view_box(&data);
                    inputs.data = Arc::new(data);
                    self.data_error = None;
                }
                Err(e) => {
                    self.data_error = Some(e);
                    self.settings.data = a.data_settings.clone();
                }
            }
        }
        if schedule_changed {
            match self.settings.schedule.spec().build() {
                Ok(schedule) => {
                    inputs.schedule = Arc::new(schedule);
                    self.schedule_error = None;
                }
                Err(e) => {
                    self.schedule_error = Some(e.to_string());
                    self.settings.schedule = a.schedule_settings.clone();
                }
            }
        }
        let new_data = !Arc::ptr_eq(&inputs.data, &a.inputs.data);
        let new_schedule = !Arc::ptr_eq(&inputs.schedule, &a.inputs.schedule);
        if new_data || model_changed {
            let trained = self
                .settings
                .trained_model
                .and_then(|p| self.training.model(p, inputs.data.dim()));
            inputs.model = match trained {
                Some(m) => m,
                None => {
                    self.settings.trained_model = None;
                    self.settings.model.build(&inputs.data)
                }
            };
            self.applied_trained = (
                self.settings.trained_model,
                self.settings
                    .trained_model
                    .map_or(0, |_| self.training.generation),
            );
        }
        if new_data || new_schedule || model_changed || config_changed {
            self.applied = Applied {
                data_settings: self.settings.data.clone(),
                schedule_settings: self.settings.schedule.clone(),
                model_kind: self.settings.model,
                findings: sanity_findings(&inputs.schedule, Some(&inputs.data)),
                schedule_label: self.settings.schedule.spec().label(),
                inputs,
            };
            self.settings.t = self.t();
            self.submit_elbo();
        }
    }

    /// Apply a command from a panel or the menu.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::LoadData(path) => {
                let candidate = DataSettings {
                    file: Some(path),
                    ..self.settings.data.clone()
                };
                match build_data(&candidate) {
                    Ok(_) => {
                        self.settings.data = candidate;
                        self.data_error = None;
                    }
                    Err(e) => self.data_error = Some(e),
                }
            }
            Command::LoadSchedule(path) => match load_schedule_file(&path) {
                Ok(loaded) => {
                    let label = file_label(&path);
                    let candidate = ScheduleSettings::from_spec(&loaded.spec, &label);
                    match candidate.spec().build() {
                        Ok(_) => {
                            self.settings.schedule = candidate;
                            if let Some(v) = loaded.variance {
                                self.settings.variance = v;
                            }
                            self.schedule_error = None;
                        }
                        Err(e) => self.schedule_error = Some(format!("{}: {e}", path.display())),
                    }
                }
                Err(e) => self.schedule_error = Some(e.to_string()),
            },
            Command::PickData => self.open_dialog(|| {
                rfd::FileDialog::new()
                    .set_title("Load data: mixture JSON or CSV of points")
                    .add_filter("data", &["json", "csv", "txt"])
                    .pick_file()
                    .map(Command::LoadData)
            }),
            Command::PickSchedule => self.open_dialog(|| {
                rfd::FileDialog::new()
                    .set_title("Load a schedule: scheduler_config.json or a betas list")
                    .pick_file()
                    .map(Command::LoadSchedule)
            }),
            Command::PickExport(ext) => self.open_dialog(move || {
                rfd::FileDialog::new()
                    .set_file_name(format!("elbo-lab.{ext}"))
                    .save_file()
                    .map(|p| match ext {
                        "csv" => Command::ExportCsv(p),
                        "json" => Command::ExportJson(p),
                        _ => Command::Screenshot(p),
                    })
            }),
            Command::UsePresetData => {
                self.settings.data.file = None;
                self.data_error = None;
            }
            Command::UsePresetSchedule => {
                self.settings.schedule.custom = None;
                self.schedule_error = None;
            }
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
                self.status = Some(("taking a screenshot...".into(), false));
            }
        }
    }

    fn open_dialog(&mut self, pick: impl FnOnce() -> Option<Command> + Send + 'static) {
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("elbo-lab-file-dialog".into())
            .spawn(move || {
                let _ = tx.send(pick());
            });
        match spawned {
            Ok(_) => self.dialog = Some(rx),
            Err(e) => {
                self.status = Some((format!("no file dialog ({e}): type a path instead"), true))
            }
        }
    }

    fn export(&mut self, path: &Path, json: bool) {
        let Some(elbo) = &self.elbo else {
            self.status = Some((
                "nothing to export yet: the ELBO is still being computed".into(),
                true,
            ));
            return;
        };
        let source = self.applied.data_settings.label();
        let report = Report {
            result: &elbo.result,
            data: &self.applied.inputs.data,
            data_source: &source,
            schedule: &self.applied.inputs.schedule,
            schedule_label: &self.applied.schedule_label,
        };
        let text = if json {
            report.to_json()
        } else {
            report.to_csv()
        };
        self.status = Some(match std::fs::write(path, text) {
            Ok(()) => (
                format!(
                    "wrote {}{}",
                    path.display(),
                    if elbo.preview {
                        " (quick preview estimate)"
                    } else {
                        ""
                    }
                ),
                false,
            ),
            Err(e) => (format!("could not write {}: {e}", path.display()), true),
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
        if let Ok(message) = self.screenshots.1.try_recv() {
            let is_error = message.starts_with("error");
            self.status = Some((message, is_error));
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for path in dropped {
            let command = classify_dropped(&path);
            self.apply(ctx, command);
        }
    }

    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let t_max = self.steps();
        let (space, left, right, home, end, plus, minus, f11) = ctx.input(|i| {
            (
                i.key_pressed(Key::Space),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::Home),
                i.key_pressed(Key::End),
                i.key_pressed(Key::Plus) || i.key_pressed(Key::Equals),
                i.key_pressed(Key::Minus),
                i.key_pressed(Key::F11),
            )
        });
        if space {
            self.playing = !self.playing;
        }
        if left {
            self.settings.t = self.t().saturating_sub(1).max(1);
        }
        if right {
            self.settings.t = (self.t() + 1).min(t_max);
        }
        if home {
            self.settings.t = 1;
        }
        if end {
            self.settings.t = t_max;
        }
        if plus {
            self.settings.zoom = (self.settings.zoom + 0.25).min(4.0);
        }
        if minus {
            self.settings.zoom = (self.settings.zoom - 0.25).max(0.5);
        }
        if f11 {
            self.fullscreen = !self.fullscreen;
            ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(self.fullscreen));
        }
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

    fn menu(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Load data...").clicked() {
                    commands.push(Command::PickData);
                }
                if ui.button("Load schedule...").clicked() {
                    commands.push(Command::PickSchedule);
                }
                ui.separator();
                ui.label("Export (native dialog):");
                if ui.button("Export ELBO table as CSV...").clicked() {
                    commands.push(Command::PickExport("csv"));
                }
                if ui.button("Export ELBO report as JSON...").clicked() {
                    commands.push(Command::PickExport("json"));
                }
                if ui.button("Save window as PNG...").clicked() {
                    commands.push(Command::PickExport("png"));
                }
                ui.separator();
                let label = ui.label("Export path (no dialog needed):");
                ui.text_edit_singleline(&mut self.export_path)
                    .labelled_by(label.id);
                let base = PathBuf::from(self.export_path.trim());
                ui.horizontal(|ui| {
                    if ui.button("Write CSV").clicked() {
                        commands.push(Command::ExportCsv(base.with_extension("csv")));
                    }
                    if ui.button("Write JSON").clicked() {
                        commands.push(Command::ExportJson(base.with_extension("json")));
                    }
                    if ui.button("Write PNG").clicked() {
                        commands.push(Command::Screenshot(base.with_extension("png")));
                    }
                });
            });
            ui.menu_button("View", |ui| {
                for view in View::ALL {
                    ui.radio_value(&mut self.settings.view, view, view.label());
                }
                ui.separator();
                ui.checkbox(&mut self.settings.dark, "Dark theme");
                ui.add(
                    egui::Slider::new(&mut self.settings.zoom, 0.5..=4.0)
                        .step_by(0.25)
                        .text("Zoom"),
                );
                if ui.button("Fullscreen (F11)").clicked() {
                    self.fullscreen = !self.fullscreen;
                    ui.ctx()
                        .send_viewport_cmd(egui::ViewportCommand::Fullscreen(self.fullscreen));
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.button("About ELBO Lab").clicked() {
                    self.about_open = true;
                }
            });
            if let Some((text, is_error)) = &self.status {
                let colour = if *is_error {
                    Color32::RED
                } else {
                    ui.visuals().text_color()
                };
                ui.label(RichText::new(text).color(colour));
            }
        });
    }

    fn about(&mut self, ctx: &egui::Context) {
        let mut open = self.about_open;
        egui::Window::new("About ELBO Lab")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.heading("ELBO Lab");
                ui.label(format!("version {}", env!("CARGO_PKG_VERSION")));
                ui.label("See the evidence lower bound of a diffusion model, term by term, on toy data where every marginal, score and optimal denoiser is exact.");
                ui.label(format!("It follows {PAPER}; equation numbers are that paper's."));
                ui.separator();
                ui.label("Keys: space play/pause, left/right step t, Home/End first/last t, +/- zoom, F11 fullscreen.");
            });
        self.about_open = open;
    }

    /// One frame of the whole UI (what `eframe::App::ui` runs).
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_workers(&ctx);
        self.training.poll(&ctx);
        self.poll_side_channels(&ctx);
        self.keyboard(&ctx);
        let mut commands = Vec::new();

        egui::Panel::top("menu").show(ui, |ui| self.menu(ui, &mut commands));
        egui::Panel::left("controls")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    commands.extend(controls::show(ui, self));
                });
            });
        egui::Panel::bottom("timeline").show(ui, |ui| timeline::show(ui, self));
        egui::CentralPanel::default().show(ui, |ui| views::show(ui, self));
        if self.about_open {
            self.about(&ctx);
        }
        for command in commands {
            self.apply(&ctx, command);
        }
        self.sync_inputs();
        self.settings.t = self.t();
        self.ensure_field();
        self.advance_time(&ctx);
        self.apply_theme(&ctx);
        if self.is_computing() {
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

fn build_data(settings: &DataSettings) -> Result<GaussianMixture, String> {
    match &settings.file {
        Some(path) => load_mixture_file(path, settings.bandwidth).map_err(|e| e.to_string()),
        None => settings.spec.build().map_err(|e| e.to_string()),
    }
}

fn build_applied(settings: &Settings) -> Result<Applied, String> {
    let data = build_data(&settings.data)?;
    let spec = settings.schedule.spec();
    let schedule = spec.build().map_err(|e| e.to_string())?;
    Ok(Applied {
        data_settings: settings.data.clone(),
        schedule_settings: settings.schedule.clone(),
        model_kind: settings.model,
        findings: sanity_findings(&schedule, Some(&data)),
        schedule_label: spec.label(),
        inputs: Inputs {
            view_box: compute::view_box(&data),
            model: settings.model.build(&data),
            data: Arc::new(data),
            schedule: Arc::new(schedule),
            config: McConfig::default(),
        },
    })
}

/// Decide whether a dropped file is data or a schedule, by name and content.
pub fn classify_dropped(path: &Path) -> Command {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if ext == "csv" {
        return Command::LoadData(path.to_path_buf());
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let trimmed = text.trim_start();
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

fn default_export_path() -> String {
    std::env::temp_dir().join("elbo-lab").display().to_string()
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
