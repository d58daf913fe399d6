//! The timeline under the views, in two rows that never change shape: the transport buttons
//! and t on the first; the playback speed, the schedule at t and the progress on the second.
//! Play/Pause keeps one width, the t field has room for four digits, and every changing
//! text sits in a box of fixed width or is the last thing on its row.

use egui::{RichText, Ui, Vec2};

use super::command::Command;
use super::compute::PREVIEW_SAMPLES;
use super::controls::{ClampNotes, Typed};
use super::focus::{self, Target};
use super::palette::Palette;
use super::plot_util::{log_snr_text, sci, text_width};
use super::settings::SPEED_RANGE;
use super::views::ctx::ViewCtx;

/// Width of a monospace text of `chars` characters.
fn mono_width(ui: &Ui, chars: usize) -> f32 {
    text_width(ui, &"0".repeat(chars), &egui::TextStyle::Button)
        + 2.0 * ui.spacing().button_padding.x
}

/// A number padded to a fixed count of characters (the readouts keep their width).
fn padded(v: String, chars: usize) -> String {
    format!("{v:<chars$}")
}

/// The key of the timeline's abar_t and log-SNR (see [`Target::Readout`]).
pub const READOUT: &str = focus::key::TIMELINE;

/// The widest value `sci` or `opt` gives in the status row ("undefined", "-1.234e-5"):
/// padded to this, the row never jumps as t moves.
const VALUE_CHARS: usize = 9;

/// Below this width (points) the speed row is narrow: its slider is shortened.
const NARROW_ROW: f32 = 760.0;

/// The least width of the t slider (points).
const MIN_SLIDER: f32 = 120.0;

/// The timeline; it owns the clamp warnings of its two number fields.
#[derive(Default)]
pub struct Timeline {
    clamps: ClampNotes,
}

impl Timeline {
    /// Show the timeline.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let t_max = ctx.steps().max(1);
        let pad = 2.0 * ui.spacing().button_padding.x;
        // Wrapped: in a narrow window (the side panel shown at a high zoom) the t slider and
        // its field take a row of their own rather than leave the window.
        ui.horizontal_wrapped(|ui| {
            let mut button = |ui: &mut Ui, label: &str, min_w: f32, tip: &str, command: Command| {
                if ui
                    .add(egui::Button::new(label).min_size(Vec2::new(min_w, 0.0)))
                    .on_hover_text(tip)
                    .clicked()
                {
                    commands.push(command);
                }
            };
            button(ui, "First", 0.0, "Go to t = 1 (key Home).", Command::FirstT);
            button(
                ui,
                "Step back",
                0.0,
                "One timestep back, t - 1 (key Left arrow).",
                Command::StepBack,
            );
            let play_w = text_width(ui, "Play", &egui::TextStyle::Button)
                .max(text_width(ui, "Pause", &egui::TextStyle::Button))
                + pad;
            let (play, tip) = if ctx.model.playing {
                ("Pause", "Stop playing (key Space).")
            } else {
                (
                    "Play",
                    "Run t through the timesteps at the speed below (key Space); the Reverse process tab plays t down from T.",
                )
            };
            button(ui, play, play_w, tip, Command::TogglePlay);
            button(
                ui,
                "Step forward",
                0.0,
                "One timestep forward, t + 1 (key Right arrow).",
                Command::StepForward,
            );
            button(ui, "Last", 0.0, "Go to t = T (key End).", Command::LastT);
            let t_tip = format!(
                "The timestep t shown by every view, 1 to T = {t_max}. x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps. Keys: Left/Right arrows step, Home/End jump, Space plays. A click on a plot whose x axis is t moves it too."
            );
            let field_w = mono_width(ui, 4);
            if ui.available_size_before_wrap().x < field_w + MIN_SLIDER + 2.0 * ui.spacing().item_spacing.x + 12.0 {
                ui.end_row();
            }
            let l = ui.label("t");
            let shown = ctx.t.clamp(1, t_max);
            let mut t = shown;
            ui.spacing_mut().slider_width =
                (ui.available_size_before_wrap().x - field_w - 2.0 * ui.spacing().item_spacing.x - 16.0)
                    .max(MIN_SLIDER);
            ui
                .add(egui::Slider::new(&mut t, 1..=t_max).show_value(false))
                .labelled_by(l.id)
                .on_hover_text(&t_tip);
            let before = t;
            let typed = Typed::default();
            let field = ui
                .add(
                    egui::DragValue::new(&mut t)
                        .range(1..=t_max)
                        .min_size(Vec2::new(field_w, 0.0))
                        .custom_parser(typed.parser())
                        .update_while_editing(false),
                )
                .labelled_by(l.id)
                .on_hover_text(&t_tip);
            self.clamps.note(
                "t",
                &typed,
                1.0..=t_max as f64,
                before as f64,
                t as f64,
                &field,
            );
            if t != shown {
                commands.push(Command::SetT(t));
            }
        });
        // Drop warnings whose field has moved on since.
        self.clamps.forget_moved("t", ctx.t as f64);
        self.clamps
            .forget_moved("speed", f64::from(ctx.model.settings.speed));
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("speed");
            let mut speed = ctx.model.settings.speed;
            let tip = format!(
                "Playback speed in timesteps per second ({} to {}, log scale). Play with key Space.",
                SPEED_RANGE.start(),
                SPEED_RANGE.end()
            );
            // A shorter slider on a narrow row (a projector) leaves the status its room.
            ui.spacing_mut().slider_width = if ui.available_width() < NARROW_ROW {
                50.0
            } else {
                90.0
            };
            ui.add(
                egui::Slider::new(&mut speed, SPEED_RANGE)
                    .logarithmic(true)
                    .show_value(false),
            )
            .labelled_by(l.id)
            .on_hover_text(&tip);
            let before = speed;
            let typed = Typed::default();
            let field = ui
                .add(
                    egui::DragValue::new(&mut speed)
                        .range(SPEED_RANGE)
                        .max_decimals(0)
                        .min_size(Vec2::new(mono_width(ui, 4), 0.0))
                        .custom_parser(typed.parser())
                        .update_while_editing(false),
                )
                .labelled_by(l.id)
                .on_hover_text(&tip);
            self.clamps.note(
                "speed",
                &typed,
                f64::from(*SPEED_RANGE.start())..=f64::from(*SPEED_RANGE.end()),
                f64::from(before),
                f64::from(speed),
                &field,
            );
            ui.label("steps/s");
            if speed != ctx.model.settings.speed {
                commands.push(Command::SetSpeed(speed));
            }
            ui.separator();
            let s = ctx.schedule();
            let log_snr = log_snr_text(s, ctx.t, sci);
            let readout = ui
                .label(
                    RichText::new(format!(
                        "abar_t = {}  log-SNR = {}",
                        padded(sci(s.abar(ctx.t)), VALUE_CHARS),
                        padded(log_snr, VALUE_CHARS)
                    ))
                    .monospace(),
                )
                .on_hover_text(
                    "At the current t: abar_t = prod(s <= t) (1 - beta_s), the signal kept in x_t, and log-SNR = log(abar_t / (1 - abar_t)) (Luo eq. 109), -inf where abar_t is 0.",
                );
            focus::mark(ui, Target::Readout(READOUT), readout.rect);
            ui.separator();
            // The last thing on the row: a clamp warning, else the progress (truncated, so
            // the row never wraps).
            let warnings: Vec<&str> = ["t", "speed"]
                .iter()
                .filter_map(|k| self.clamps.message(k))
                .collect();
            let warning = (!warnings.is_empty()).then(|| warnings.join("; "));
            match warning {
                Some(w) => {
                    ui.add(
                        egui::Label::new(RichText::new(w).color(Palette::of_ui(ui).warning))
                            .truncate(),
                    );
                }
                None => progress(ui, ctx),
            }
        });
        commands
    }
}

fn progress(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let elbo = ctx.elbo().filter(|e| e.current).map(|e| e.value);
    let quadrature = ctx.inputs().config.method == elbo_core::elbo::Method::Quadrature;
    let elbo_progress = ctx.jobs.elbo.progress().done;
    if ctx.jobs.elbo.is_busy() || ctx.jobs.statics.is_busy() || ctx.jobs.fields.is_busy() {
        ui.spinner();
        if quadrature {
            ui.add(
                egui::Label::new(format!(
                    "quadrature: {} of {} timesteps",
                    elbo_progress,
                    ctx.steps()
                ))
                .truncate(),
            );
            return;
        }
        let stage = match elbo {
            Some(e) if !e.preview => "refining",
            Some(_) => "refining the preview",
            None => "quick preview",
        };
        let n = if elbo.is_none() {
            PREVIEW_SAMPLES.min(ctx.model.settings.samples)
        } else {
            ctx.model.settings.samples
        };
        ui.add(
            egui::Label::new(format!(
                "{stage}: N = {n}, {} of {} timesteps",
                elbo_progress,
                ctx.steps()
            ))
            .truncate(),
        );
    } else if let Some(e) = elbo {
        // The short form where the full one would be cut (a projector's narrow row).
        let (text, short, tip) = match e.result.method {
            elbo_core::elbo::Method::Quadrature => (
                "ELBO by quadrature".to_string(),
                "quadrature".to_string(),
                "The ELBO terms shown are integrals over x_t computed by quadrature: deterministic, with an error estimate far below what a plot shows",
            ),
            elbo_core::elbo::Method::MonteCarlo => (
                format!("Monte Carlo, N = {} samples", e.result.samples),
                format!("N = {}", e.result.samples),
                "The ELBO terms shown are Monte Carlo averages over N samples (x0, eps), each with its standard error",
            ),
        };
        let full_width = text_width(ui, &text, &egui::TextStyle::Body);
        let text = if full_width <= ui.available_size_before_wrap().x {
            text
        } else {
            short
        };
        ui.add(egui::Label::new(text).truncate()).on_hover_text(tip);
    }
}
