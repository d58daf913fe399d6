//! The menu bar (File, View, Help), the status line and the About window.

use std::path::PathBuf;

use egui::{Color32, RichText, Ui};

use super::PAPER;
use super::command::{Command, ExportKind};
use super::controls::{ERROR_COLOUR, INFO_COLOUR};
use super::settings::{ResetScope, View, ZOOM_RANGE};
use super::views::ViewCtx;

/// The menu bar; it owns the export path typed in the File menu.
pub struct MenuBar {
    export_path: String,
}

impl Default for MenuBar {
    fn default() -> Self {
        MenuBar {
            export_path: std::env::temp_dir().join("elbo-lab").display().to_string(),
        }
    }
}

impl MenuBar {
    /// Draw the menu bar and the notes under it.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu(ui, &mut commands));
            ui.menu_button("View", |ui| view_menu(ui, ctx, &mut commands));
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
            if let Some((text, is_error)) = &ctx.notes.status {
                let colour = status_colour(ui, *is_error);
                ui.label(RichText::new(text).color(colour));
            }
        });
        if !ctx.notes.restored.is_empty() {
            ui.horizontal_wrapped(|ui| {
                if ui
                    .button("Dismiss")
                    .on_hover_text("Hide these notes about the saved state")
                    .clicked()
                {
                    commands.push(Command::DismissNotes);
                }
                ui.label(
                    RichText::new(format!("Restored state: {}", ctx.notes.restored.join("; ")))
                        .color(INFO_COLOUR),
                );
            });
        }
        commands
    }

    fn file_menu(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        if ui.button("Load data...").clicked() {
            commands.push(Command::PickData);
        }
        if ui.button("Load schedule...").clicked() {
            commands.push(Command::PickSchedule);
        }
        ui.separator();
        ui.label("Export (native dialog):");
        for (label, kind) in [
            ("Export ELBO table as CSV...", ExportKind::Csv),
            ("Export ELBO report as JSON...", ExportKind::Json),
            ("Save window as PNG...", ExportKind::Png),
        ] {
            if ui.button(label).clicked() {
                commands.push(Command::PickExport(kind));
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
                ui.label("Keys: space play/pause, left/right step t, Home/End first/last t, +/- zoom, F11 fullscreen.");
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
        if ui.radio(ctx.settings.view == view, view.label()).clicked() {
            commands.push(Command::SetView(view));
        }
    }
    ui.separator();
    let mut presenter = ctx.settings.presenter;
    if ui
        .checkbox(&mut presenter, "Presenter mode (F5)")
        .on_hover_text("For a projector: hides the side panel so the plots get the room")
        .changed()
    {
        commands.push(Command::SetPresenter(presenter));
    }
    let mut side = ctx.settings.side_panel && !ctx.settings.presenter;
    if ui
        .checkbox(&mut side, "Side panel")
        .on_hover_text("The data, schedule and model controls on the left")
        .changed()
    {
        commands.push(Command::SetSidePanel(side));
    }
    let mut legends = ctx.settings.toggles.legends;
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
    let mut dark = ctx.settings.dark;
    if ui.checkbox(&mut dark, "Dark theme").changed() {
        commands.push(Command::SetDark(dark));
    }
    let mut zoom = ctx.settings.zoom;
    if ui
        .add(
            egui::Slider::new(&mut zoom, ZOOM_RANGE)
                .step_by(0.25)
                .text("Zoom"),
        )
        .changed()
    {
        commands.push(Command::SetZoom(zoom));
    }
    if ui.button("Fullscreen (F11)").clicked() {
        commands.push(Command::ToggleFullscreen);
    }
}

/// A colour for a status line.
pub fn status_colour(ui: &Ui, is_error: bool) -> Color32 {
    if is_error {
        ERROR_COLOUR
    } else {
        ui.visuals().text_color()
    }
}
