//! Everything a key, a button, a menu entry or a dropped file can ask the app to do.
//!
//! Views and panels never change the app: they draw from a read-only
//! [`ViewCtx`](super::views::ViewCtx) and return commands, which [`App::apply`](super::App::apply)
//! carries out after layout, in one place. A key and the button it stands for emit the same
//! command.

use std::path::PathBuf;

use elbo_core::denoiser::ModelKind;
use elbo_core::param::Parameterisation;
use elbo_core::schedule::VarianceType;

use super::export::request::ExportRequest;
use super::settings::{
    DataSettings, ReverseSettings, ScheduleSettings, TrainingSettings, View, ViewToggles,
};

/// A file or folder to ask the user for in a native dialog, and what it is for.
#[derive(Debug, Clone, PartialEq)]
pub enum FileRequest {
    /// Data to load: mixture JSON or a CSV of points.
    LoadData,
    /// A schedule to load: a `scheduler_config.json` or a betas list.
    LoadSchedule,
    /// A schedule to overlay in the Schedule tab.
    OverlaySchedule,
    /// Where to save the data as mixture JSON.
    SaveMixture,
    /// A folder of weights to load (true) or to save into (false).
    Weights(bool),
    /// Where to export the ELBO table or a PNG of the window.
    Export(ExportKind),
    /// A scene to open (true), or where to save one (false).
    Scene(bool),
    /// Where to write a plot export for slides.
    ExportPlot(ExportRequest),
    /// Where to save the comparison table, in this format.
    SaveComparison(elbo_core::compare::TableFormat),
}

impl FileRequest {
    /// Where the same can be done by typing a path, for when no file dialog opens (no
    /// desktop portal), and whether that is the "Open or save by path" window.
    pub fn typed_instead(&self) -> (&'static str, bool) {
        match self {
            FileRequest::LoadData => ("the side panel's \"Data file path\"", false),
            FileRequest::LoadSchedule | FileRequest::OverlaySchedule => {
                ("the side panel's \"Schedule file path\"", false)
            }
            FileRequest::SaveMixture => ("the side panel's \"Save data as (JSON)\"", false),
            FileRequest::Weights(_) => ("the Training tab's weights folder field", false),
            FileRequest::ExportPlot(_) => ("the export dialog's file field", false),
            FileRequest::SaveComparison(_) => ("the comparison window's path field", false),
            FileRequest::Export(_) | FileRequest::Scene(_) => {
                ("File > Open or save by path... (opened)", true)
            }
        }
    }

    /// Whether the request opens a save dialog for a file (which asks itself before it
    /// returns one that exists). A folder picked to save weights into is not one.
    pub fn saves(&self) -> bool {
        matches!(
            self,
            FileRequest::SaveMixture
                | FileRequest::Export(_)
                | FileRequest::Scene(false)
                | FileRequest::ExportPlot(_)
                | FileRequest::SaveComparison(_)
        )
    }
}

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The ELBO table as CSV.
    Csv,
    /// The ELBO report as JSON.
    Json,
    /// A PNG of the window.
    Png,
}

impl ExportKind {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportKind::Csv => "csv",
            ExportKind::Json => "json",
            ExportKind::Png => "png",
        }
    }
}

/// The model the views use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// A closed-form model.
    Kind(ModelKind),
    /// The trained network of a parameterisation, frozen at the moment it is picked.
    Trained(Parameterisation),
}

/// A request to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Use these data settings (a preset, its parameters, the CSV bandwidth).
    SetData(DataSettings),
    /// Use these schedule settings.
    SetSchedule(ScheduleSettings),
    /// Use this model.
    SetModel(ModelChoice),
    /// Replace the frozen trained network in use by the training run's newest snapshot.
    UseNewerNetworks,
    /// Reverse variance of the ELBO's p(x_{t-1} | x_t).
    SetVariance(VarianceType),
    /// Monte Carlo sample count N.
    SetSamples(usize),
    /// Seed of every Monte Carlo draw.
    SetSeed(u64),
    /// Load data (a mixture JSON or a CSV of points) from a path.
    LoadData(PathBuf),
    /// Load a schedule (`scheduler_config.json` or a betas list) from a path.
    LoadSchedule(PathBuf),
    /// Overlay a schedule file (`scheduler_config.json` or a betas list) in the Schedule tab,
    /// beside the current schedule (the current schedule stays).
    OverlaySchedule(PathBuf),
    /// Remove the overlaid schedule at this place of the list (from 0).
    RemoveOverlay(usize),
    /// Remove every overlaid schedule.
    ClearOverlays,
    /// Ask for a file or folder in a native dialog, then carry out what it is for.
    PickFile(FileRequest),
    /// Enter the edit mode `mode` of the data plots (or leave it: [`EditMode::Off`]).
    SetEditMode(EditMode),
    /// Enter the edit mode `mode`, or leave it if it is on (keys E and B).
    ToggleEditMode(EditMode),
    /// Undo the last change of the data (an edit, a preset, a file, a scene; Ctrl+Z).
    UndoData,
    /// Redo the last undone change of the data (Ctrl+Shift+Z, Ctrl+Y).
    RedoData,
    /// Write the current data as mixture JSON (what `--data FILE` reads).
    SaveMixture(PathBuf),
    /// Go back from a loaded file or a drawing to the preset.
    UsePresetData,
    /// Go back from custom betas to the preset.
    UsePresetSchedule,
    /// Set the timeline's t (clamped to 1..=T).
    SetT(usize),
    /// One step back on the timeline.
    StepBack,
    /// One step forward on the timeline.
    StepForward,
    /// The first t.
    FirstT,
    /// The last t.
    LastT,
    /// Play or pause the timeline.
    TogglePlay,
    /// Playback speed in timesteps per second.
    SetSpeed(f32),
    /// Open a tab.
    SetView(View),
    /// The views' toggles (log axis, ELBO form, v column, preset overlay, t / T axis,
    /// dropped schedules overlaid).
    SetToggles(ViewToggles),
    /// The reverse view's two sampler settings.
    SetReverse(ReverseSettings),
    /// Dark (true) or light theme.
    SetDark(bool),
    /// Zoom factor (clamped to the offered range).
    SetZoom(f32),
    /// Presenter mode on or off (the side panel hidden, the plots given the room).
    SetPresenter(bool),
    /// Flip presenter mode (key F5).
    TogglePresenter,
    /// Show or hide the side panel.
    SetSidePanel(bool),
    /// Show or hide the plots' legends.
    SetLegends(bool),
    /// Open or close the help overlay (keys F1 and ?).
    ShowHelp(bool),
    /// Put part of the settings back to its defaults.
    Reset(super::settings::ResetScope),
    /// Zoom in one notch.
    ZoomIn,
    /// Zoom out one notch.
    ZoomOut,
    /// Enter or leave fullscreen.
    ToggleFullscreen,
    /// Open or close the About window.
    ShowAbout(bool),
    /// Open or close the "Open or save by path" window (typed paths, no file dialog).
    ShowPathWindow(bool),
    /// Hide the notes about the restored state.
    DismissNotes,
    /// Hide the status message (an error stays until dismissed; other messages fade).
    DismissStatus,
    /// The training settings.
    SetTraining(TrainingSettings),
    /// Start training on the current data (or resume a paused run).
    StartTraining,
    /// Pause training.
    PauseTraining,
    /// Drop the networks being trained.
    ResetTraining,
    /// Load networks from a folder.
    LoadWeights(PathBuf),
    /// Save the networks into a folder.
    SaveWeights(PathBuf),
    /// Write the ELBO table as CSV.
    ExportCsv(PathBuf),
    /// Write the ELBO report as JSON.
    ExportJson(PathBuf),
    /// Save a PNG of the window.
    Screenshot(PathBuf),
    /// Write the whole state as a scene file (versioned JSON).
    SaveScene(PathBuf),
    /// Open a scene file (what it cannot read is dropped with a note; a file that is not
    /// a scene, or of a newer version, is refused and nothing changes).
    OpenScene(PathBuf),
    /// Open step `n` (from 0) of the built-in lesson.
    StartLesson(usize),
    /// The lesson's next step (key PageDown; nothing outside a lesson).
    NextLesson,
    /// The lesson's previous step (key PageUp; nothing outside a lesson).
    PrevLesson,
    /// Close the lesson bar (the state stays).
    ExitLesson,
    /// Open or close the "Export for slides" dialog (a plot as PNG, a GIF over t).
    ShowExportDialog(bool),
    /// Export a plot as PNG or the current view over t as GIF (to the request's path).
    ExportPlot(ExportRequest),
    /// Stop the running plot export (nothing is written: a file at its path stays as it
    /// was).
    CancelExport,
    /// Open or close the Schedule tab's comparison table.
    ShowComparison(bool),
    /// Write the comparison table of the current schedules in this format.
    SaveComparison(PathBuf, elbo_core::compare::TableFormat),
    /// Copy the comparison table of the current schedules to the clipboard.
    CopyComparison(elbo_core::compare::TableFormat),
    /// Carry out a save that the user agreed may replace the files it writes (a native
    /// save dialog asks itself; a typed path is asked about first: see
    /// [`Command::writes`]).
    Confirmed(Box<Command>),
}

impl Command {
    /// The files this command writes (each replaced whole, atomically), so that the app
    /// can ask before one that exists is replaced. Empty for every command that writes
    /// nothing.
    pub fn writes(&self) -> Vec<PathBuf> {
        match self {
            Command::SaveMixture(p)
            | Command::ExportCsv(p)
            | Command::ExportJson(p)
            | Command::Screenshot(p)
            | Command::SaveScene(p)
            | Command::SaveComparison(p, _) => vec![p.clone()],
            Command::ExportPlot(request) => vec![request.path()],
            Command::SaveWeights(dir) => elbo_core::param::Parameterisation::ALL
                .into_iter()
                .map(|p| dir.join(elbo_train::weights_file_name(p)))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// What a press on a data plot does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EditMode {
    /// The plots pan and zoom as usual.
    #[default]
    Off,
    /// Add, move, resize, rotate, reweight and delete components (key E).
    Components,
    /// Paint points that become a kernel density mixture (key B).
    Brush,
}

impl EditMode {
    /// The name on its toggle button.
    pub fn label(self) -> &'static str {
        match self {
            EditMode::Off => "View",
            EditMode::Components => "Edit components",
            EditMode::Brush => "Brush",
        }
    }
}
