//! The desktop app (eframe/egui/egui_plot) over the core: this file is the shell.
//!
//! ```text
//! App { model, jobs, training, export, window, views, shell }
//! App::frame:
//!   poll:    every job (jobs/: ELBO, river and particles, fields, reverse, evidence,
//!            comparison), training, the file dialog and the export, once
//!   layout:  the menu, side panel, timeline and open tab draw from a read-only ViewCtx
//!            (the Model, Jobs, training, t and the WindowState) and return Commands;
//!            the Model carries out its own (Model::apply), the shell the rest
//!   inputs:  Model::sync_inputs rebuilds the Inputs from the settings (the last valid
//!            stay) and says what changed; the ELBO job and training react
//!   request: the open tab says what work it wants (Tab::wants), the shell asks the jobs
//!            for it and for the ELBO; poll again, so inline work (tests) is drawn at once
//! ```
//! Layers, each using only those below it (`tests/cli/modules.rs` checks there is no
//! import circle): settings, inputs, command; model, scene, jobs, training; views::ctx and
//! the tabs and panels on it; views (the layout); this shell. Every result carries the key
//! it was computed from and is drawn through it only (see `jobs/job.rs` and `inputs.rs`);
//! trained networks reach the views as frozen snapshots.

pub mod command;
pub mod compute;
pub mod controls;
mod dialog;
pub mod export;
pub mod focus;
pub mod formula;
pub mod help;
pub mod inputs;
pub mod jobs;
pub mod lesson_bar;
pub mod lessons;
pub mod menu;
pub mod model;
pub mod palette;
pub mod persist;
pub mod plot_util;
pub mod replace;
pub mod scene;
pub mod settings;
pub mod timeline;
pub mod training;
pub mod views;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use egui::{Key, Modifiers};

use elbo_core::compare::TableFormat;
use elbo_core::files::write_atomic;
use elbo_core::mixture::GaussianMixture;
use elbo_core::report::Report;
use elbo_core::schedule::NoiseSchedule;

pub use command::{Command, ExportKind, FileRequest, ModelChoice};
pub use help::{PAPER, TITLE};
pub use inputs::{Depends, Freshness, Inputs};
use jobs::elbo::ElboKey;
use jobs::reverse::ReverseJob;
pub use jobs::{AppOptions, Mode};
use jobs::{Jobs, Want, compare, evidence};
pub use model::{Applied, AppliedModel, Model, Notes, Overlay, StatusLine};
use replace::ReplacePrompt;
use settings::{Settings, View, ZOOM_RANGE};
use views::editor::EditMode;
use views::{ViewCtx, Views, WindowState};

/// The persistence key of [`Settings`].
pub const STORAGE_KEY: &str = "elbo_lab_settings";

/// Open the desktop app (the saved state is checked first: see [`persist`]), then apply
/// what the command line asked for ([`scene::Launch`]).
pub fn run_native(launch: scene::Launch) -> anyhow::Result<()> {
    let files = persist::StateFiles::of_app();
    let notes = files.as_ref().map(persist::prepare).unwrap_or_default();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(TITLE)
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 500.0])
            .with_drag_and_drop(true),
        persist_window: true,
        // eframe writes its copy in place; ours is written atomically (see `persist`).
        persistence_path: files.as_ref().map(|f| f.scratch.clone()),
        ..Default::default()
    };
    eframe::run_native(
        "elbo-lab",
        options,
        Box::new(move |cc| {
            let mut app = App::new(cc, notes, launch);
            app.shell.state_files = files;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}

/// What saving or copying the comparison says before its table is in.
/// Frames a new lesson step keeps revealing its targets once its results are drawn: the
/// layout settles (a plot's axes take their width from the results) before the last scroll.
const REVEAL_CALM_FRAMES: u32 = 3;
const NO_TABLE_YET: &str = "nothing to save yet: the comparison of the current schedules is still being computed (or failed: the window says why)";

/// The ELBO Lab app: the shell around the model, the jobs, training and the tabs.
pub struct App {
    /// The settings, the inputs built from them, overlays, history, notes, the timeline.
    pub model: Model,
    /// Every background job and its latest result (of the current inputs or, drawn
    /// dimmed, older ones).
    pub jobs: Jobs,
    /// Live training of networks (the Training view) and the trained models.
    pub training: training::Training,
    /// The "Export for slides" dialog and the plot export in progress.
    pub export: export::ExportState,
    /// The windows over the tabs, the lesson bar and the edit mode (not saved).
    pub window: WindowState,
    views: Views,
    shell: Shell,
}

/// A file dialog's answer on its way: the receiver, when the dialog was asked for, and
/// where the same can be typed (see [`FileRequest::typed_instead`]).
type DialogWait = (
    Receiver<Option<Command>>,
    std::time::Instant,
    (&'static str, bool),
);

/// The most frames a second drawn while the timeline plays (fewer at speeds below this,
/// one a step). A frame costs the same whatever moved, and most of it is drawing: under a
/// software renderer (lavapipe) a 1280x800 frame of the Forward tab takes about 0.1 s of
/// CPU, the app's own work under 1 ms (the `frame/forward_playing_1d` benchmark).
/// Thirty frames a second show t moving smoothly at any speed; t itself keeps its speed
/// whatever the frame rate (see [`Model::advance_time`]).
pub const PLAY_FRAMES_PER_SECOND: f32 = 30.0;

/// How long a status message that is not an error stays before it fades.
pub const STATUS_SHOWN: std::time::Duration = std::time::Duration::from_secs(8);
/// How long it takes to fade out.
pub const STATUS_FADE: std::time::Duration = std::time::Duration::from_millis(1500);

/// A dialog that answers "nothing" sooner than this did not open.
const NO_DIALOG_WITHIN: std::time::Duration = std::time::Duration::from_millis(300);

/// What only the shell touches: the file dialog and screenshots in flight, fullscreen, and
/// whether the restored window was checked to lie on the monitor.
struct Shell {
    /// The file dialog's answer, when it was asked for, and where to type a path instead.
    dialog: Option<DialogWait>,
    screenshots: (Sender<String>, Receiver<String>),
    fullscreen: bool,
    placed: bool,
    /// Where the state is saved (None in tests: nothing is written).
    state_files: Option<persist::StateFiles>,
    /// The state last written, so an unchanged state is not written again.
    saved_state: Option<persist::StateMap>,
    /// A save waiting for the user's answer on replacing existing files.
    replace: Option<ReplacePrompt>,
    /// The status message on screen and when it appeared (egui's time, seconds).
    status_since: Option<(StatusLine, f64)>,
    /// Files to read and the command line's request, once the first frame is drawn.
    pending: Option<(model::PendingFiles, scene::Launch)>,
    /// A frame has been drawn.
    drawn: bool,
    /// Frames in a row a revealing lesson step had all its results (see `settle_reveal`).
    calm_frames: u32,
    /// The timeline played on the last frame (its time since then counts).
    was_playing: bool,
}

impl App {
    /// The app as eframe creates it: settings from storage, each part checked and falling
    /// back to its default alone (with a note), workers on their own threads, then what
    /// the command line asked for. `notes` are what [`persist::prepare`] recovered or
    /// repaired before the window opened. See [`App::restoring`].
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        notes: Vec<String>,
        launch: scene::Launch,
    ) -> Self {
        let saved = cc.storage.and_then(|s| s.get_string(STORAGE_KEY));
        let (settings, mut restored) = settings::restore(saved.as_deref());
        restored.splice(0..0, notes);
        let mut app = Self::restoring(
            &cc.egui_ctx,
            settings,
            launch,
            AppOptions::new(Mode::Thread),
        );
        app.model.notes.restored.splice(0..0, restored);
        app
    }

    /// An app from restored `settings` and the command line's `launch` that draws its
    /// first frame before it reads a file: the data file and the overlaid schedules the
    /// settings name, and the scene the command line names, are read once that frame is
    /// drawn (a slow or huge file then never leaves a window that does not draw). The
    /// tab, zoom and presenter mode asked for apply from the first frame.
    pub fn restoring(
        ctx: &egui::Context,
        mut settings: Settings,
        launch: scene::Launch,
        options: AppOptions,
    ) -> Self {
        let files = model::PendingFiles::take(&mut settings);
        let mut app = Self::with_options(ctx, settings, options);
        app.model.launch(scene::Launch {
            scene: None,
            ..launch.clone()
        });
        app.shell.pending = Some((files, launch));
        app
    }

    /// An app for tests and benchmarks: jobs run inline (deterministic), paused.
    pub fn for_test(ctx: &egui::Context, settings: Settings) -> Self {
        Self::with_options(ctx, settings, AppOptions::new(Mode::Inline))
    }

    /// An app from settings (validated here: a part that fails to build falls back to its
    /// default alone, with a note).
    pub fn with_options(ctx: &egui::Context, settings: Settings, options: AppOptions) -> Self {
        let mut model = Model::new(settings);
        let zoom = ctx.options(|o| o.zoom_factor);
        if !(zoom.is_finite() && ZOOM_RANGE.contains(&zoom)) {
            model
                .notes
                .restored
                .push(format!("egui's zoom factor {zoom} was unusable; reset"));
            // Directly, not through `set_zoom_factor` (which waits for the end of a pass
            // that a NaN zoom would not survive).
            ctx.options_mut(|o| o.zoom_factor = model.settings.zoom);
        }
        let repaint = (options.mode == Mode::Thread).then(|| ctx.clone());
        let mut app = App {
            jobs: Jobs::new(options, repaint),
            training: training::Training::new(ctx, options.mode),
            export: export::ExportState::default(),
            window: WindowState::default(),
            views: Views::default(),
            shell: Shell {
                dialog: None,
                screenshots: channel(),
                fullscreen: false,
                placed: false,
                state_files: None,
                saved_state: None,
                replace: None,
                pending: None,
                drawn: false,
                calm_frames: 0,
                was_playing: false,
                status_since: None,
            },
            model,
        };
        install_text_styles(ctx);
        app.apply_theme(ctx);
        app.submit_elbo();
        app
    }

    /// True once the full-sample ELBO estimate of the current inputs is in.
    pub fn has_full_elbo(&self) -> bool {
        self.elbo().is_some_and(|e| {
            !e.preview && e.inputs.covers(&self.model.applied.inputs, Depends::All)
        })
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

    fn submit_elbo(&mut self) {
        self.jobs
            .elbo
            .request(ElboKey(self.model.applied.inputs.clone()));
    }

    /// Rebuild the inputs if the settings changed (see [`Model::sync_inputs`]); new data
    /// pause training (its rule), new inputs ask for their ELBO.
    fn sync_inputs(&mut self) {
        let training = &self.training;
        let networks = |p, dim| {
            training
                .model(p, dim)
                .map(|net| (training.models_step, net))
        };
        let changed = self.model.sync_inputs(&networks);
        if changed.data
            && let Some(status) = self.training.on_new_data()
        {
            self.model.notes.status = Some(status);
        }
        if changed.inputs {
            self.submit_elbo();
        }
    }

    /// The current timestep, clamped to 1..=T.
    pub fn t(&self) -> usize {
        self.model.t()
    }

    /// T of the applied schedule.
    pub fn steps(&self) -> usize {
        self.model.steps()
    }

    /// The applied data.
    pub fn data(&self) -> &GaussianMixture {
        self.model.data()
    }

    /// The applied schedule.
    pub fn schedule(&self) -> &NoiseSchedule {
        self.model.schedule()
    }

    /// The reverse job the current inputs and settings ask for.
    pub fn reverse_job(&self) -> ReverseJob {
        self.view_ctx().reverse_job()
    }

    fn apply_theme(&self, ctx: &egui::Context) {
        ctx.set_theme(if self.model.settings.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        let zoom = self.model.settings.zoom;
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
        let mut wants = self.views.tabs.wants(self.model.settings.view, &ctx);
        wants.push(Want::Elbo(ctx.elbo_key()));
        for want in wants {
            self.jobs.request(want);
        }
    }

    /// What the Evidence tab's results must be of.
    pub fn evidence_key(&self) -> evidence::EvidenceKey {
        self.view_ctx().evidence_key()
    }

    /// What the Denoising step tab's terms of the true reverse step must be of.
    pub fn step_key(&self) -> jobs::step::StepKey {
        self.view_ctx().step_key()
    }

    /// The comparison the Schedule tab's table is of (the current schedule, the drawn
    /// presets and every overlay on the current data).
    pub fn compare_key(&self) -> compare::CompareKey {
        self.view_ctx().compare_key()
    }

    /// How the comparison window stands against the current schedules, while it is on
    /// screen (None otherwise).
    pub fn comparison_freshness(&self) -> Option<Freshness> {
        (self.views.tabs.schedule.compare_open && self.model.settings.view == View::Schedule)
            .then(|| self.jobs.compare.freshness(&self.compare_key()))
    }

    /// A restored window that lies off the monitor is moved back, once, when the first
    /// frame knows both rectangles.
    fn keep_window_on_screen(&mut self, ctx: &egui::Context) {
        if self.shell.placed {
            return;
        }
        let (outer, monitor) = ctx.input(|i| (i.viewport().outer_rect, i.viewport().monitor_size));
        if let (Some(outer), Some(monitor)) = (outer, monitor) {
            self.shell.placed = true;
            if let Some(pos) = persist::onscreen_position(outer, monitor) {
                ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(pos));
                self.model
                    .notes
                    .restored
                    .push("the saved window position was off the screen; moved back".into());
            }
        }
    }

    /// Apply a command from a view, a panel, a key or the menu. A save onto a file that
    /// exists waits for the user's answer first (see [`replace`]).
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        let command = match command {
            Command::Confirmed(command) => *command,
            command => match ReplacePrompt::check(command) {
                Ok(command) => command,
                Err(prompt) => {
                    self.shell.replace = Some(prompt);
                    return;
                }
            },
        };
        let Err(command) = self.model.apply(command) else {
            return;
        };
        match command {
            Command::SetEditMode(mode) => self.set_edit_mode(mode),
            Command::ToggleEditMode(mode) => self.set_edit_mode(if self.window.edit_mode == mode {
                EditMode::Off
            } else {
                mode
            }),
            Command::ToggleFullscreen => {
                self.shell.fullscreen = !self.shell.fullscreen;
                ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(self.shell.fullscreen));
            }
            Command::ShowAbout(open) => self.window.about_open = open,
            Command::ShowPathWindow(open) => self.window.path_open = open,
            Command::ShowHelp(open) => self.window.help_open = open,
            Command::StartTraining => {
                let inputs = &self.model.applied.inputs;
                let (data, schedule) = (inputs.data.clone(), inputs.schedule.clone());
                let label = self.model.applied.data_settings.label();
                self.training.start(
                    &self.model.settings.training,
                    &data,
                    &schedule,
                    self.model.settings.variance,
                    &label,
                );
            }
            Command::PauseTraining => self.training.pause(),
            Command::ResetTraining => self.training.reset(),
            Command::LoadWeights(dir) => {
                let inputs = &self.model.applied.inputs;
                let (data, schedule) = (inputs.data.clone(), inputs.schedule.clone());
                let label = self.model.applied.data_settings.label();
                self.training.load(
                    &self.model.settings.training,
                    &dir,
                    &data,
                    &schedule,
                    self.model.settings.variance,
                    &label,
                );
            }
            Command::SaveWeights(dir) => self.training.save(&dir),
            Command::SaveScene(path) => {
                let lesson = self
                    .window
                    .lesson
                    .and_then(|i| lessons::lessons().into_iter().nth(i));
                self.model.save_scene(&path, lesson.map(|l| l.scene));
            }
            Command::OpenScene(path) => self.open_scene(&path),
            Command::StartLesson(n) => self.start_lesson(ctx, n),
            Command::NextLesson => self.step_lesson(ctx, 1),
            Command::PrevLesson => self.step_lesson(ctx, -1),
            Command::ExitLesson => self.window.lesson = None,
            Command::ExportCsv(path) => self.export(&path, false),
            Command::ExportJson(path) => self.export(&path, true),
            Command::Screenshot(path) => {
                let tx = self.shell.screenshots.0.clone();
                let repaint = ctx.clone();
                ctx.request_screenshot(move |image| {
                    let outcome = save_png(&path, &image);
                    let _ = tx.send(match outcome {
                        Ok(()) => format!("saved the window as {}", path.display()),
                        Err(e) => format!("error: {e}"),
                    });
                    repaint.request_repaint();
                });
                self.model.notes.status = Some(StatusLine::info("taking a screenshot..."));
            }
            Command::ShowExportDialog(open) => self.export.open = open,
            Command::ExportPlot(request) => {
                let options = self.jobs.options;
                self.export
                    .start_export(ctx, request, &mut self.model, options);
            }
            Command::PickFile(request) => {
                let typed = request.typed_instead();
                self.open_dialog(typed, move || dialog::pick(request));
            }
            Command::CancelExport => self.export.cancel_export(&mut self.model),
            Command::ShowComparison(open) => self.views.tabs.schedule.compare_open = open,
            Command::SaveComparison(path, format) => self.save_comparison(&path, format),
            Command::CopyComparison(format) => {
                self.model.notes.status =
                    Some(match self.jobs.compare.table(&self.compare_key()) {
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
            // The model's own commands: see `Model::apply`.
            _ => {}
        }
    }

    /// Enter or leave an edit mode. The data plots are in the Forward, Reverse (2D) and
    /// Evidence (1D, the diffusion step) tabs: from any other tab the edit mode opens the
    /// Forward tab.
    fn set_edit_mode(&mut self, mode: EditMode) {
        self.window.edit_mode = mode;
        if mode != EditMode::Off && !self.model.settings.view.shows_data(&self.view_ctx()) {
            self.model.settings.view = View::Forward;
        }
    }

    fn open_dialog(
        &mut self,
        typed: (&'static str, bool),
        pick: impl FnOnce() -> Option<Command> + Send + 'static,
    ) {
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
            Ok(_) => self.shell.dialog = Some((rx, std::time::Instant::now(), typed)),
            Err(e) => {
                self.model.notes.status = Some(StatusLine::error(format!(
                    "no file dialog ({e}): type a path instead"
                )))
            }
        }
    }

    fn save_comparison(&mut self, path: &Path, format: TableFormat) {
        let Some(table) = self.jobs.compare.table(&self.compare_key()) else {
            self.model.notes.status = Some(StatusLine::error(NO_TABLE_YET.to_owned()));
            return;
        };
        self.model.notes.status = Some(match write_atomic(path, table.render(format)) {
            Ok(()) => StatusLine::info(format!("wrote {}", path.display())),
            Err(e) => StatusLine::error(format!("could not write {}: {e}", path.display())),
        });
    }

    fn export(&mut self, path: &Path, json: bool) {
        let Some(elbo) = self
            .elbo()
            .filter(|e| e.inputs.covers(&self.model.applied.inputs, Depends::All))
        else {
            self.model.notes.status = Some(StatusLine::error(
                "nothing to export yet: the ELBO of the current settings is still being computed",
            ));
            return;
        };
        let source = self.model.applied.data_settings.label();
        let report = Report {
            result: &elbo.result,
            data: &elbo.inputs.data,
            data_source: &source,
            schedule: &elbo.inputs.schedule,
            schedule_label: &self.model.applied.schedule_label,
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
        self.model.notes.status = Some(match write_atomic(path, text) {
            Ok(()) => StatusLine::info(format!("wrote {}{preview}", path.display())),
            Err(e) => StatusLine::error(format!("could not write {}: {e}", path.display())),
        });
    }

    fn poll_side_channels(&mut self, ctx: &egui::Context) {
        if let Some((rx, since, (typed, path_window))) = &self.shell.dialog {
            match rx.try_recv() {
                Ok(Some(command)) => {
                    self.shell.dialog = None;
                    self.apply(ctx, command);
                }
                Ok(None) | Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    // Back at once with nothing: no dialog could open (no desktop portal),
                    // as a person takes longer to cancel one.
                    if since.elapsed() < NO_DIALOG_WITHIN {
                        self.model.notes.status = Some(StatusLine::error(format!(
                            "no file dialog opened (no desktop portal?): type the path in {typed}, or drop the file on the window"
                        )));
                        self.window.path_open |= *path_window;
                    }
                    self.shell.dialog = None
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    ctx.request_repaint_after(std::time::Duration::from_millis(100))
                }
            }
        }
        // An export draws off screen with the tabs' own state and the training shown.
        self.export
            .poll_export(ctx, &mut self.model, &mut self.views.tabs, &self.training);
        if let Ok(message) = self.shell.screenshots.1.try_recv() {
            let is_error = message.starts_with("error");
            self.model.notes.status = Some(StatusLine::new(message, is_error));
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
                Command::LoadSchedule(p) if self.model.settings.toggles.drop_overlays => {
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

    /// Move the playing timeline by the real time since the last frame and ask for the
    /// next frame when t next moves, at most [`PLAY_FRAMES_PER_SECOND`] a second.
    ///
    /// The time is egui's `unstable_dt` (the clock between frame starts), not `stable_dt`:
    /// the latter is a prediction (1/60 s) after a frame that asked for a delayed repaint,
    /// as playing frames do. The frame on which playing starts counts no time: the time
    /// before it was paused.
    fn advance_time(&mut self, ctx: &egui::Context) {
        let dt = if self.shell.was_playing {
            ctx.input(|i| i.unstable_dt)
        } else {
            0.0
        };
        let playing = self.model.advance_time(dt);
        if let Some(next) = self.model.next_step_in() {
            let next = next.max(1.0 / PLAY_FRAMES_PER_SECOND);
            ctx.request_repaint_after(std::time::Duration::from_secs_f32(next));
        } else if self.shell.was_playing {
            // The fields the last playing frame asked for arrive without waking the window
            // (see `Jobs::set_playing`): one more frame draws them.
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
        self.shell.was_playing = playing;
        self.jobs.set_playing(playing);
    }

    /// A new lesson step keeps its targets in view (see [`focus`]) until its results are in
    /// and have been drawn for a few frames, or until the user scrolls or clicks.
    fn settle_reveal(&mut self, ctx: &egui::Context) {
        if !self.window.reveal {
            return;
        }
        let user = ctx.input(|i| {
            i.pointer.any_pressed()
                || i.raw
                    .events
                    .iter()
                    .any(|e| matches!(e, egui::Event::MouseWheel { .. }))
        });
        let busy = self.freshness(self.model.settings.view) == Freshness::Computing
            || self.jobs.is_busy()
            || self.training.evaluating
            || self.shell.pending.is_some();
        if user || self.window.lesson.is_none() {
            self.window.reveal = false;
        } else if busy {
            self.shell.calm_frames = 0;
        } else {
            self.shell.calm_frames += 1;
            self.window.reveal = self.shell.calm_frames < REVEAL_CALM_FRAMES;
        }
        ctx.request_repaint();
    }

    /// The read-only context every view draws from.
    pub fn view_ctx(&self) -> ViewCtx<'_> {
        ViewCtx {
            model: &self.model,
            jobs: &self.jobs,
            training: &self.training,
            t: self.t(),
            window: &self.window,
        }
    }

    /// Apply what the command line asked for (see [`scene::Launch`]).
    pub fn launch(&mut self, launch: scene::Launch) {
        if self.model.launch(launch) {
            self.window.lesson = None;
        }
    }

    /// Open step `index` of the lesson: its whole state, training settings included (the
    /// window's theme, zoom and presenter mode stay); the shipped networks, loaded afresh
    /// (a training run is reset), where it uses them.
    fn start_lesson(&mut self, ctx: &egui::Context, index: usize) {
        let Some(lesson) = lessons::lessons().get(index).cloned() else {
            return;
        };
        self.window.lesson = Some(index);
        self.window.reveal = true;
        self.shell.calm_frames = 0;
        let mut settings = lesson.scene.settings;
        settings.dark = self.model.settings.dark;
        settings.presenter = self.model.settings.presenter;
        self.model.set_scene_settings(settings);
        if let Some(p) = lesson.trained {
            // The networks are evaluated against the lesson's data: build those first.
            self.sync_inputs();
            match lessons::lesson_weights_dir() {
                Ok(dir) => self.apply(ctx, Command::LoadWeights(dir)),
                Err(e) => self.model.notes.status = Some(StatusLine::error(e)),
            }
            self.apply(ctx, Command::SetModel(ModelChoice::Trained(p)));
        }
    }

    /// Open a scene file (which ends a lesson).
    fn open_scene(&mut self, path: &Path) {
        if self.model.open_scene(path) {
            self.window.lesson = None;
        }
    }

    /// Step the lesson by `delta` (no-op outside a lesson; stays at either end).
    fn step_lesson(&mut self, ctx: &egui::Context, delta: isize) {
        let Some(i) = self.window.lesson else {
            return;
        };
        let next = i
            .saturating_add_signed(delta)
            .min(lessons::lesson_count() - 1);
        if next != i {
            self.start_lesson(ctx, next);
        }
    }

    /// Once a frame is drawn: read the files the restored state names, then open the
    /// scene the command line names (see [`App::restoring`]).
    fn read_pending_files(&mut self, ctx: &egui::Context) {
        if !self.shell.drawn {
            self.shell.drawn = true;
            if self.shell.pending.is_some() {
                ctx.request_repaint();
            }
            return;
        }
        let Some((files, launch)) = self.shell.pending.take() else {
            return;
        };
        self.model.load_files(files);
        if launch.scene.is_some() {
            self.launch(launch);
        }
    }

    /// Whether files named by the restored state or the command line wait for the first
    /// frame to be drawn.
    pub fn files_pending(&self) -> bool {
        self.shell.pending.is_some()
    }

    /// A message that is not an error is shown for [`STATUS_SHOWN`], then fades out over
    /// [`STATUS_FADE`] and is gone; an error stays until dismissed.
    fn fade_status(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        let Some(status) = &self.model.notes.status else {
            self.shell.status_since = None;
            self.window.status_fade = 0;
            return;
        };
        let since = match &self.shell.status_since {
            Some((seen, since)) if seen == status => *since,
            _ => {
                self.shell.status_since = Some((status.clone(), now));
                now
            }
        };
        if status.error {
            self.window.status_fade = 0;
            return;
        }
        let (shown, fade) = (STATUS_SHOWN.as_secs_f64(), STATUS_FADE.as_secs_f64());
        let age = now - since;
        if age >= shown + fade {
            self.model.notes.status = None;
            self.shell.status_since = None;
            self.window.status_fade = 0;
        } else if age >= shown {
            self.window.status_fade = (100.0 * (age - shown) / fade).round() as u8;
            ctx.request_repaint();
        } else {
            self.window.status_fade = 0;
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(shown - age));
        }
    }

    /// The save waiting for the user's answer on replacing existing files, if any.
    pub fn waiting_save(&self) -> Option<&ReplacePrompt> {
        self.shell.replace.as_ref()
    }

    /// Ask about the save waiting to replace existing files; the save, once agreed to.
    fn replace_prompt(&mut self, ctx: &egui::Context) -> Option<Command> {
        let answer = self.shell.replace.as_ref()?.show(ctx)?;
        let prompt = self.shell.replace.take()?;
        match answer {
            replace::Answer::Replace => Some(Command::Confirmed(Box::new(prompt.command))),
            replace::Answer::Keep => {
                let kept: Vec<String> = prompt
                    .files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect();
                self.model.notes.status = Some(StatusLine::info(format!(
                    "kept {}: nothing was written",
                    kept.join(", ")
                )));
                None
            }
        }
    }

    /// One frame of the whole UI (what `eframe::App::ui` runs): take what the workers
    /// sent, lay out (views return commands), apply the commands, rebuild the inputs, move
    /// the timeline, ask for the work the new state needs.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.read_pending_files(&ctx);
        self.poll_workers();
        // Training and its evaluations (inline, it also takes this frame's training steps).
        self.training.poll(&ctx);
        self.poll_side_channels(&ctx);
        self.keep_window_on_screen(&ctx);
        let mut commands = Self::keyboard(&ctx);
        focus::begin_pass(&ctx);
        let mut views = std::mem::take(&mut self.views);
        commands.extend(views.ui(ui, &self.view_ctx()));
        self.views = views;
        commands.extend(self.export.export_window(&ctx, &mut self.model));
        commands.extend(self.replace_prompt(&ctx));
        if !commands.is_empty() {
            // Layout drew the state before the commands: draw the state after them.
            ctx.request_repaint();
        }
        for command in commands {
            self.apply(&ctx, command);
        }
        let dropped = self.model.sync_overlays();
        if !dropped.is_empty() {
            self.model.notes.overlay_error = Some(dropped.join("; "));
        }
        self.sync_inputs();
        self.model.settings.t = self.t();
        self.advance_time(&ctx);
        self.request_work();
        self.poll_workers();
        self.settle_reveal(&ctx);
        self.apply_theme(&ctx);
        self.fade_status(&ctx);
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
        eframe::set_value(storage, STORAGE_KEY, &self.model.settings);
        let Some(files) = &self.shell.state_files else {
            return;
        };
        // eframe has just put egui's memory and the window geometry in `storage`: the
        // whole state goes to our own file, atomically, when it changed.
        let state: persist::StateMap = [persist::EGUI_MEMORY_KEY, persist::WINDOW_KEY, STORAGE_KEY]
            .into_iter()
            .filter_map(|k| storage.get_string(k).map(|v| (k.to_owned(), v)))
            .collect();
        if self.shell.saved_state.as_ref() == Some(&state) {
            return;
        }
        match persist::write_state(files, &state) {
            Ok(()) => self.shell.saved_state = Some(state),
            Err(e) => {
                self.model.notes.status = Some(StatusLine::error(format!(
                    "the app's state could not be saved: {e}"
                )))
            }
        }
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
    // Only a regular file is opened (a dropped FIFO must not hang the window); anything
    // else goes to the data loader, which says what it is.
    let mut head = Vec::new();
    match elbo_core::files::open_regular(path) {
        Ok(f) => {
            let _ = f.take(64 * 1024).read_to_end(&mut head);
        }
        Err(_) => return Command::LoadData(path.to_path_buf()),
    }
    let text = String::from_utf8_lossy(&head);
    let text = elbo_core::files::strip_bom(&text);
    let trimmed = text.trim_start();
    if scene::looks_like_scene(text) {
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

fn save_png(path: &Path, image: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = image.size;
    let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
        .ok_or_else(|| "the screenshot has an inconsistent size".to_owned())?;
    export::write_png(path, &buffer)
}
