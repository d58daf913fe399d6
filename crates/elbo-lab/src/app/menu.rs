//! The menu bar (File, View, Help), the status line and the About window.

use std::path::PathBuf;

use egui::{RichText, Ui};

use super::command::{Command, ExportKind, FileRequest};
use super::controls::INFO_COLOUR;
use super::help::PAPER;
use super::inputs::Freshness;
use super::model::StatusLine;
use super::palette::status_colour;
use super::settings::{ResetScope, View, ZOOM_RANGE};
use super::views::ctx::ViewCtx;

/// The menu bar; it owns the export path typed in the File menu.
pub struct MenuBar {
    export_path: String,
    scene_path: String,
}

impl Default for MenuBar {
    fn default() -> Self {
        MenuBar {
            export_path: std::env::temp_dir().join("elbo-lab").display().to_string(),
            scene_path: std::env::temp_dir()
                .join("elbo-lab-scene.json")
                .display()
                .to_string(),
        }
    }
}

impl MenuBar {
    /// Draw the menu bar and the notes under it.
    /// `freshness` is the open tab's (the "computing" note at the right).
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, freshness: Freshness) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu(ui, &mut commands));
            ui.menu_button("View", |ui| view_menu(ui, ctx, &mut commands));
            ui.menu_button("Lessons", |ui| lessons_menu(ui, ctx, &mut commands));
            ui.menu_button("Help", |ui| {
                if ui
                    .button("Help and keyboard shortcuts (F1)")
                    .on_hover_text("What each tab shows, and every key")
                    .clicked()
                {
                    commands.push(Command::ShowHelp(true));
                }
                if ui.button("About ELBO Lab").clicked() {
                    commands.push(Command::ShowAbout(true));
                }
            });
            // Right to left: the computing note at the right edge, the status left of it,
            // cut short (whole in its tooltip) rather than pushed off the window.
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                super::views::ctx::computing_note(ui, freshness);
                if let Some(StatusLine {
                    text,
                    error: is_error,
                }) = &ctx.model.notes.status
                {
                    let colour = status_colour(ui, *is_error);
                    ui.add(egui::Label::new(RichText::new(text).color(colour)).truncate())
                        .on_hover_text(text);
                }
            });
        });
        if !ctx.model.notes.restored.is_empty() {
            ui.horizontal_wrapped(|ui| {
                if ui
                    .button("Dismiss")
                    .on_hover_text("Hide these notes about the saved state")
                    .clicked()
                {
                    commands.push(Command::DismissNotes);
                }
                ui.label(
                    RichText::new(format!(
                        "Restored state: {}",
                        ctx.model.notes.restored.join("; ")
                    ))
                    .color(INFO_COLOUR),
                );
            });
        }
        commands
    }

    fn file_menu(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        if ui.button("Load data...").clicked() {
            commands.push(Command::PickFile(FileRequest::LoadData));
        }
        if ui.button("Load schedule...").clicked() {
            commands.push(Command::PickFile(FileRequest::LoadSchedule));
        }
        self.scene_items(ui, commands);
        ui.separator();
        ui.label("Export (native dialog):");
        for (label, kind) in [
            ("Export ELBO table as CSV...", ExportKind::Csv),
            ("Export ELBO report as JSON...", ExportKind::Json),
            ("Save window as PNG...", ExportKind::Png),
        ] {
            if ui.button(label).clicked() {
                commands.push(Command::PickFile(FileRequest::Export(kind)));
            }
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
        if ui
            .button("Export a plot (PNG) or a GIF over t...")
            .on_hover_text(
                "For slides: one plot at 1x, 2x or 3x, or the Forward/Reverse tab animated over t",
            )
            .clicked()
        {
            commands.push(Command::ShowExportDialog(true));
        }
    }

    /// "Save scene..." / "Open scene..." (native dialog) and the same by a typed path.
    fn scene_items(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        if ui
            .button("Save scene...")
            .on_hover_text("Write the whole state (data, schedule, model, tab, t, toggles) as a small JSON file to open later or hand out")
            .clicked()
        {
            commands.push(Command::PickFile(FileRequest::Scene(false)));
        }
        if ui
            .button("Open scene...")
            .on_hover_text(
                "Set the whole state from a scene file; what cannot be read is dropped with a note",
            )
            .clicked()
        {
            commands.push(Command::PickFile(FileRequest::Scene(true)));
        }
        let label = ui.label("Scene path (no dialog needed):");
        ui.text_edit_singleline(&mut self.scene_path)
            .labelled_by(label.id)
            .on_hover_text("A scene JSON file for the two buttons below");
        let path = PathBuf::from(self.scene_path.trim());
        ui.horizontal(|ui| {
            if ui
                .button("Save scene")
                .on_hover_text("Write the scene to the path above")
                .clicked()
            {
                commands.push(Command::SaveScene(path.clone()));
            }
            if ui
                .button("Open scene")
                .on_hover_text("Open the scene at the path above")
                .clicked()
            {
                commands.push(Command::OpenScene(path));
            }
        });
    }

    /// The About window.
    pub fn about(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut open = true;
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
                ui.label("Keys: space play/pause, left/right step t, Home/End first/last t, +/- zoom, F5 presenter mode, F11 fullscreen, F1 help.");
            });
        if open {
            Vec::new()
        } else {
            vec![Command::ShowAbout(false)]
        }
    }
}

fn view_menu(ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
    for view in View::ALL {
        if ui
            .radio(ctx.model.settings.view == view, view.label())
            .on_hover_text(view.info().summary)
            .clicked()
        {
            commands.push(Command::SetView(view));
        }
    }
    ui.separator();
    let mut presenter = ctx.model.settings.presenter;
    if ui
        .checkbox(&mut presenter, "Presenter mode (F5)")
        .on_hover_text("For a projector: hides the side panel so the plots get the room")
        .changed()
    {
        commands.push(Command::SetPresenter(presenter));
    }
    let mut side = ctx.model.settings.side_panel && !ctx.model.settings.presenter;
    if ui
        .checkbox(&mut side, "Side panel")
        .on_hover_text("The data, schedule and model controls on the left")
        .changed()
    {
        commands.push(Command::SetSidePanel(side));
    }
    let mut legends = ctx.model.settings.toggles.legends;
    if ui
        .checkbox(&mut legends, "Legends")
        .on_hover_text("Show the plots' legends (hide them to give the curves all the room)")
        .changed()
    {
        commands.push(Command::SetLegends(legends));
    }
    ui.menu_button("Reset to defaults", |ui| {
        for scope in ResetScope::ALL {
            if ui
                .button(scope.label())
                .on_hover_text("Put these settings back to the values a fresh install has")
                .clicked()
            {
                commands.push(Command::Reset(scope));
            }
        }
    });
    ui.separator();
    let mut dark = ctx.model.settings.dark;
    if ui
        .checkbox(&mut dark, "Dark theme")
        .on_hover_text("Dark or light background; every colour keeps its meaning in both")
        .changed()
    {
        commands.push(Command::SetDark(dark));
    }
    let mut zoom = ctx.model.settings.zoom;
    if ui
        .add(
            egui::Slider::new(&mut zoom, ZOOM_RANGE)
                .step_by(0.25)
                .text("Zoom"),
        )
        .on_hover_text(
            "Scale all text and controls, 0.5 to 4 (keys + and -); 1.5 to 1.75 suits a projector",
        )
        .changed()
    {
        commands.push(Command::SetZoom(zoom));
    }
    if ui
        .button("Fullscreen (F11)")
        .on_hover_text("Fill the screen with the window (F11 again to leave)")
        .clicked()
    {
        commands.push(Command::ToggleFullscreen);
    }
}

fn lessons_menu(ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
    ui.label("Guided scenes: PageDown / PageUp step through them");
    for (i, lesson) in super::lessons::lessons().iter().enumerate() {
        let title = lesson.scene.title.as_deref().unwrap_or_default();
        if ui
            .radio(ctx.window.lesson == Some(i), format!("{}. {title}", i + 1))
            .on_hover_text(lesson.scene.caption.join(" "))
            .clicked()
        {
            commands.push(Command::StartLesson(i));
        }
    }
    if ctx.window.lesson.is_some() {
        ui.separator();
        if ui
            .button("Exit lesson")
            .on_hover_text("Close the lesson bar; the state of the step stays")
            .clicked()
        {
            commands.push(Command::ExitLesson);
        }
    }
}
