//! The help overlay (F1 or ?): every key, and "what am I looking at" for each tab.

use egui::{RichText, Ui};

use super::command::Command;
use super::settings::View;

/// The window title: the app and the paper it follows.
pub const TITLE: &str =
    "ELBO Lab: the ELBO of a diffusion model (Luo 2022, Understanding Diffusion Models)";
/// The paper.
pub const PAPER: &str = "Calvin Luo (2022), \"Understanding Diffusion Models: A Unified Perspective\", arXiv:2208.11970";
/// Every key the app answers, with what it does (the same commands as the buttons).
pub const KEYS: [(&str, &str); 19] = [
    ("Space", "play / pause the timeline"),
    ("Left / Right", "step t back / forward"),
    ("Home / End", "first / last timestep"),
    ("Page Down / Page Up", "next / previous scene of a lesson"),
    ("+ / -", "zoom in / out (projector)"),
    ("F5", "presenter mode: hide the side panel"),
    ("F11", "fullscreen"),
    ("F1 or ?", "this help"),
    ("Escape", "close this help"),
    ("Click on a plot over t", "move the timeline to that t"),
    ("Drag on a plot", "pan it"),
    (
        "Mouse wheel / Ctrl+wheel",
        "scroll the page (over a plot too) / zoom the plot under the pointer (or pinch)",
    ),
    ("Double-click on a plot", "reset its zoom"),
    (
        "Drop a file on the window",
        "mixture JSON or CSV: data; scheduler config or betas: schedule",
    ),
    (
        "E / B",
        "edit the data on the plots (add, drag, resize, delete) / paint them with a brush",
    ),
    ("Escape", "leave the edit mode"),
    ("Delete", "remove the selected component (edit mode)"),
    (
        "Ctrl+Z / Ctrl+Shift+Z",
        "undo / redo a change of the data (in a text field: of its text)",
    ),
    ("Ctrl+Y", "redo a change of the data"),
];

/// The help window: keys, and every tab with the open one first.
pub fn show(ctx: &egui::Context, open_view: View) -> Vec<Command> {
    let mut open = true;
    let escape = ctx.input(|i| i.key_pressed(egui::Key::Escape));
    egui::Window::new("Help")
        .open(&mut open)
        .collapsible(false)
        .resizable(true)
        // Inside the window at every supported size (1024x768 at zoom 1.5 leaves 683
        // points): never wider than the screen, so the centred window never crosses an edge.
        .default_width((ctx.content_rect().width() - 32.0).min(560.0))
        .max_width(ctx.content_rect().width() - 16.0)
        .max_height(ctx.content_rect().height() * 0.85)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| contents(ui, open_view));
        });
    if open && !escape {
        Vec::new()
    } else {
        vec![Command::ShowHelp(false)]
    }
}

fn contents(ui: &mut Ui, open_view: View) {
    ui.heading(format!("This tab: {}", open_view.label()));
    ui.label(open_view.info().help);
    ui.separator();
    ui.heading("Keys");
    // Both columns wrap, so the table is never wider than the window (which is never
    // wider than the screen).
    let width = ui.available_width();
    egui::Grid::new("help keys")
        .num_columns(2)
        .striped(true)
        .max_col_width(width * 0.6)
        .show(ui, |ui| {
            for (key, what) in KEYS {
                ui.add(egui::Label::new(RichText::new(key).strong()).wrap());
                ui.add(egui::Label::new(what).wrap());
                ui.end_row();
            }
        });
    ui.separator();
    ui.heading("The other tabs");
    for view in View::ALL.into_iter().filter(|v| *v != open_view) {
        egui::CollapsingHeader::new(view.label())
            .id_salt(("help tab", view))
            .show(ui, |ui| {
                ui.label(view.info().help);
            });
    }
}
