//! How the Denoising step tab's parts share the width between plots and numbers.

use egui::Ui;

/// From this width (points) a part's numbers stand beside its plots, else under them.
const SIDE_BY_SIDE: f32 = 620.0;
/// The least width (points) of the numbers' column beside the plots.
const MIN_NUMBERS_WIDTH: f32 = 300.0;

/// Lay out a part in a scroll area's `ui`: `plots` (given `state` and its width) and
/// `numbers` (the share `numbers_share` of the width, at least [`MIN_NUMBERS_WIDTH`]) side
/// by side when the view is wide enough, else one under the other.
pub fn columns<S>(
    ui: &mut Ui,
    numbers_share: f32,
    state: &mut S,
    plots: impl FnOnce(&mut Ui, &mut S, f32),
    numbers: impl FnOnce(&mut Ui, &mut S),
) {
    if ui.available_width() < SIDE_BY_SIDE {
        let w = ui.available_width();
        plots(ui, state, w);
        numbers(ui, state);
        return;
    }
    let numbers_w = (ui.available_width() * numbers_share).max(MIN_NUMBERS_WIDTH);
    let plots_w = ui.available_width() - numbers_w - ui.spacing().item_spacing.x;
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(plots_w);
            plots(ui, state, plots_w);
        });
        ui.vertical(|ui| {
            ui.set_width(numbers_w);
            numbers(ui, state);
        });
    });
}
