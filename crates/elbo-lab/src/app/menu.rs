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

/// The menu bar; it owns the path typed in the "Open or save by path" window.
pub struct MenuBar {
    path: String,
}

impl Default for MenuBar {
    fn default() -> Self {
        MenuBar {
            path: std::env::temp_dir()
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
                    if *is_error
                        && ui
                            .small_button("×")
                            .on_hover_text("Dismiss this message (errors stay until dismissed)")
                            .clicked()
                    {
                        commands.push(Command::DismissStatus);
                    }
                    let shown = 1.0 - f32::from(ctx.window.status_fade) / 100.0;
                    let colour = status_colour(ui, *is_error).gamma_multiply(shown);
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
        if ui
            .button("Open or save by path...")
            .on_hover_text("Type a path instead of using a file dialog (where none opens): open or save a scene, write the ELBO table or a PNG of the window")
            .clicked()
        {
            commands.push(Command::ShowPathWindow(true));
        }
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
    }

    /// The "Open or save by path" window: one typed path and what to do with it (for
    /// machines where no file dialog opens, and for anyone who would rather type).
    pub fn path_window(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        let mut open = true;
        egui::Window::new("Open or save by path")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .max_width(ctx.content_rect().width() - 16.0)
            .show(ctx, |ui| {
                let label = ui.label("File path:");
                ui.add(
                    egui::TextEdit::singleline(&mut self.path)
                        .desired_width(ui.available_width().min(420.0)),
                )
                .labelled_by(label.id)
                .on_hover_text("A file path; without an extension, each button adds its own (.json, .csv, .png)");
                let base = PathBuf::from(self.path.trim());
                let with = |ext: &str| {
                    if base.extension().is_some() {
                        base.clone()
                    } else {
                        base.with_extension(ext)
                    }
                };
                ui.label("Scene:");
                ui.horizontal_wrapped(|ui| {
                    if ui
                        .button("Open scene")
                        .on_hover_text("Set the whole state from the scene at this path")
                        .clicked()
                    {
                        commands.push(Command::OpenScene(with("json")));
                    }
                    if ui
                        .button("Save scene")
                        .on_hover_text("Write the whole state as a scene to this path (asks before replacing a file)")
                        .clicked()
                    {
                        commands.push(Command::SaveScene(with("json")));
                    }
                });
                ui.label("Export:");
                ui.horizontal_wrapped(|ui| {
                    for (label, tip, command) in [
                        ("Write ELBO CSV", "The ELBO table, one row per t, as CSV", Command::ExportCsv(with("csv"))),
                        ("Write ELBO JSON", "The ELBO report as JSON (the format of elbo-lab report)", Command::ExportJson(with("json"))),
                        ("Write window PNG", "A screenshot of the whole window", Command::Screenshot(with("png"))),
                    ] {
                        if ui.button(label).on_hover_text(tip).clicked() {
                            commands.push(command);
                        }
                    }
                });
            });
        if !open {
            commands.push(Command::ShowPathWindow(false));
        }
        commands
    }

    /// The About window.
    pub fn about(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut open = true;
        egui::Window::new("About ELBO Lab")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .max_width((ctx.content_rect().width() - 16.0).min(520.0))
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
