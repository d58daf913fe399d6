//! The timeline under the views: play/pause, step, scrub, speed, and a progress spinner.

use egui::{RichText, Ui};

use super::App;
use super::compute::PREVIEW_SAMPLES;
use super::plot_util::{opt, sci};

/// Show the timeline.
pub fn show(ui: &mut Ui, app: &mut App) {
    let t_max = app.steps();
    ui.horizontal_wrapped(|ui| {
        if ui.button("First").on_hover_text("Home").clicked() {
            app.settings.t = 1;
        }
        if ui.button("Step back").on_hover_text("Left arrow").clicked() {
            app.settings.t = app.t().saturating_sub(1).max(1);
        }
        let play = if app.playing { "Pause" } else { "Play" };
        if ui.button(play).on_hover_text("Space").clicked() {
            app.playing = !app.playing;
        }
        if ui
            .button("Step forward")
            .on_hover_text("Right arrow")
            .clicked()
        {
            app.settings.t = (app.t() + 1).min(t_max);
        }
        if ui.button("Last").on_hover_text("End").clicked() {
            app.settings.t = t_max;
        }
        let mut t = app.t();
        let width = (ui.available_width() - 520.0).clamp(120.0, 900.0);
        ui.spacing_mut().slider_width = width;
        if ui
            .add(egui::Slider::new(&mut t, 1..=t_max.max(1)).text("t"))
            .changed()
        {
            app.settings.t = t;
        }
        ui.spacing_mut().slider_width = 90.0;
        ui.add(
            egui::Slider::new(&mut app.settings.speed, 1.0..=2000.0)
                .logarithmic(true)
                .max_decimals(0)
                .text("Speed (steps/s)"),
        );
        let s = app.schedule();
        let t = app.t();
        ui.label(
            RichText::new(format!(
                "abar_t = {}  log-SNR = {}",
                sci(s.abar(t)),
                opt(s.log_snr(t))
            ))
            .monospace(),
        );
        progress(ui, app);
    });
}

fn progress(ui: &mut Ui, app: &App) {
    if app.is_computing() {
        ui.spinner();
        let stage = match &app.elbo {
            Some(e) if !e.preview => "refining",
            Some(_) => "refining the preview",
            None => "quick preview",
        };
        let n = if app.elbo.is_none() {
            PREVIEW_SAMPLES.min(app.settings.samples)
        } else {
            app.settings.samples
        };
        ui.label(format!(
            "{stage}: N = {n}, {} of {} timesteps",
            app.elbo_progress(),
            app.steps()
        ));
    } else if let Some(e) = &app.elbo {
        ui.label(format!("N = {} samples", e.result.samples));
    }
}
