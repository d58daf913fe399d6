//! The timeline under the views: play/pause, step, scrub, speed, and a progress spinner.

use egui::{RichText, Ui};

use super::command::Command;
use super::compute::PREVIEW_SAMPLES;
use super::plot_util::{opt, sci};
use super::settings::SPEED_RANGE;
use super::views::ViewCtx;

/// The timeline (no state of its own).
#[derive(Default)]
pub struct Timeline;

impl Timeline {
    /// Show the timeline.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let t_max = ctx.steps();
        ui.horizontal_wrapped(|ui| {
            let mut button = |ui: &mut Ui, label: &str, key: &str, command: Command| {
                if ui.button(label).on_hover_text(key).clicked() {
                    commands.push(command);
                }
            };
            button(ui, "First", "Home", Command::FirstT);
            button(ui, "Step back", "Left arrow", Command::StepBack);
            let play = if ctx.playing { "Pause" } else { "Play" };
            button(ui, play, "Space", Command::TogglePlay);
            button(ui, "Step forward", "Right arrow", Command::StepForward);
            button(ui, "Last", "End", Command::LastT);
            let mut t = ctx.t;
            let width = (ui.available_width() - 520.0).clamp(120.0, 900.0);
            ui.spacing_mut().slider_width = width;
            if ui
                .add(egui::Slider::new(&mut t, 1..=t_max.max(1)).text("t"))
                .changed()
            {
                commands.push(Command::SetT(t));
            }
            ui.spacing_mut().slider_width = 90.0;
            let mut speed = ctx.settings.speed;
            if ui
                .add(
                    egui::Slider::new(&mut speed, SPEED_RANGE)
                        .logarithmic(true)
                        .max_decimals(0)
                        .text("Speed (steps/s)"),
                )
                .changed()
            {
                commands.push(Command::SetSpeed(speed));
            }
            let s = ctx.schedule();
            ui.label(
                RichText::new(format!(
                    "abar_t = {}  log-SNR = {}",
                    sci(s.abar(ctx.t)),
                    opt(s.log_snr(ctx.t))
                ))
                .monospace(),
            );
            progress(ui, ctx);
        });
        commands
    }
}

fn progress(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let elbo = ctx.elbo().filter(|e| e.current).map(|e| e.value);
    if ctx.elbo_busy || ctx.field_busy {
        ui.spinner();
        let stage = match elbo {
            Some(e) if !e.preview => "refining",
            Some(_) => "refining the preview",
            None => "quick preview",
        };
        let n = if elbo.is_none() {
            PREVIEW_SAMPLES.min(ctx.settings.samples)
        } else {
            ctx.settings.samples
        };
        ui.label(format!(
            "{stage}: N = {n}, {} of {} timesteps",
            ctx.elbo_progress,
            ctx.steps()
        ));
    } else if let Some(e) = elbo {
        ui.label(format!("N = {} samples", e.result.samples));
    }
}
