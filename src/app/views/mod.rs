//! The central views, one per file, and the tab bar that picks one.

pub mod elbo;
pub mod forward;
pub mod params;
pub mod reverse;
pub mod schedule;
pub mod training;

use egui::Ui;

use super::App;
use super::settings::View;

/// Show the tab bar and the open view.
pub fn show(ui: &mut Ui, app: &mut App) {
    ui.horizontal(|ui| {
        for view in View::ALL {
            ui.selectable_value(&mut app.settings.view, view, view.label());
        }
    });
    ui.separator();
    match app.settings.view {
        View::Forward => forward::ui(ui, app),
        View::Elbo => elbo::ui(ui, app),
        View::Params => params::ui(ui, app),
        View::Schedule => schedule::ui(ui, app),
        View::Reverse => reverse::ui(ui, app),
        View::Training => training::ui(ui, app),
    }
}

/// A right-hand text column for formulas, with a fixed width.
pub fn formula_column(ui: &mut Ui, width: f32, add: impl FnOnce(&mut Ui)) {
    ui.vertical(|ui| {
        ui.set_width(width);
        egui::ScrollArea::vertical()
            .id_salt("formulas")
            .show(ui, add);
    });
}

/// A line of formula text.
pub fn formula(ui: &mut Ui, text: impl Into<String>) {
    ui.label(egui::RichText::new(text.into()).monospace());
}
