//! The Training view: train one small network per parameterisation live on the current data,
//! watch their training losses, and see where each one's ELBO terms exceed the optimal
//! denoiser's (issue 5).

use std::path::PathBuf;

use egui::{RichText, Ui};
use egui_plot::{HLine, Line};

use super::super::command::Command;
use super::super::controls::ERROR_COLOUR;
use super::super::plot_util::{PARAM_COLOURS, maybe_log, plot, plot_maybe_log, sci};
use super::super::training::{
    BATCH_RANGE, EVAL_EVERY_RANGE, EVAL_SAMPLES_RANGE, LR_RANGE, MAX_STEPS_RANGE,
};
use super::ViewCtx;
use crate::param::Parameterisation;
use crate::train::TrainLoss;

/// The smallest plot side, in points.
const MIN_PLOT: f32 = 80.0;
/// Points drawn per training-loss curve at most (longer runs are averaged in chunks).
const MAX_CURVE_POINTS: usize = 1500;

fn colour(p: Parameterisation) -> egui::Color32 {
    PARAM_COLOURS[p]
}

/// Loss curve `(step, loss)`, averaged in chunks to at most [`MAX_CURVE_POINTS`] points.
pub fn loss_curve(history: &[f64]) -> Vec<[f64; 2]> {
    let chunk = history.len().div_ceil(MAX_CURVE_POINTS).max(1);
    history
        .chunks(chunk)
        .enumerate()
        .map(|(i, c)| {
            let mean = c.iter().sum::<f64>() / c.len() as f64;
            [(i * chunk + c.len()) as f64, mean]
        })
        .collect()
}

/// The Training tab; it owns the weights folder typed into its path field.
pub struct TrainingView {
    weights_path: String,
}

impl Default for TrainingView {
    fn default() -> Self {
        TrainingView {
            weights_path: std::env::temp_dir()
                .join("elbo-lab-weights")
                .display()
                .to_string(),
        }
    }
}

impl TrainingView {
    /// Show the view.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        self.controls(ui, ctx, &mut commands);
        ui.separator();
        let h = ui.available_height();
        let w = ui.available_width();
        ui.horizontal(|ui| {
            // Never below a readable plot, however little room the zoom leaves.
            let half_w = (w * 0.5 - 8.0).max(MIN_PLOT);
            let half_h = (h * 0.5 - 4.0).max(MIN_PLOT);
            loss_plot(ui, ctx, half_w, h.max(MIN_PLOT));
            ui.vertical(|ui| {
                terms_plot(ui, ctx, half_w, half_h);
                excess_plot(ui, ctx, half_w, half_h);
            });
        });
        commands
    }

    fn controls(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        let running = ctx.training.running;
        let mut s = ctx.settings.training.clone();
        ui.horizontal_wrapped(|ui| {
            let busy = running || ctx.training.steps_done > 0;
            ui.add_enabled_ui(!busy, |ui| {
                egui::ComboBox::from_label("Training loss")
                    .selected_text(s.loss.name())
                    .show_ui(ui, |ui| {
                        for l in TrainLoss::ALL {
                            ui.selectable_value(&mut s.loss, l, l.name())
                                .on_hover_text(l.description());
                        }
                    });
                let l = ui.label("Batch");
                ui.add(egui::DragValue::new(&mut s.batch).range(BATCH_RANGE))
                    .labelled_by(l.id);
                let l = ui.label("Learning rate");
                ui.add(
                    egui::DragValue::new(&mut s.lr)
                        .range(LR_RANGE)
                        .speed(1e-4)
                        .max_decimals(5),
                )
                .labelled_by(l.id);
                let l = ui.label("Training seed");
                ui.add(egui::DragValue::new(&mut s.seed).range(0..=u32::MAX as u64))
                    .labelled_by(l.id);
                ui.checkbox(&mut s.include_v, "Also train v");
            });
            let l = ui.label("Evaluate every");
            ui.add(egui::DragValue::new(&mut s.eval_every).range(EVAL_EVERY_RANGE))
                .labelled_by(l.id);
            let l = ui.label("Evaluation samples");
            ui.add(egui::DragValue::new(&mut s.eval_samples).range(EVAL_SAMPLES_RANGE))
                .labelled_by(l.id);
            let l = ui.label("Stop after steps");
            ui.add(egui::DragValue::new(&mut s.max_steps).range(MAX_STEPS_RANGE))
                .labelled_by(l.id);
        });
        if s != ctx.settings.training {
            commands.push(Command::SetTraining(s));
        }
        ui.horizontal_wrapped(|ui| {
            let resumable = ctx.training.steps_done > 0 && ctx.training.loaded_from.is_none();
            let start_label = if resumable {
                "Resume training"
            } else {
                "Start training"
            };
            if ui
                .add_enabled(!running, egui::Button::new(start_label))
                .clicked()
            {
                commands.push(Command::StartTraining);
            }
            if ui
                .add_enabled(running, egui::Button::new("Pause training"))
                .clicked()
            {
                commands.push(Command::PauseTraining);
            }
            if ui.button("Reset training").clicked() {
                commands.push(Command::ResetTraining);
            }
            ui.separator();
            let l = ui.label("Weights folder");
            ui.add(egui::TextEdit::singleline(&mut self.weights_path).desired_width(220.0))
                .labelled_by(l.id);
            let dir = PathBuf::from(self.weights_path.trim());
            if ui.button("Load weights").clicked() {
                commands.push(Command::LoadWeights(dir.clone()));
            }
            if ui.button("Load weights...").clicked() {
                commands.push(Command::PickWeights(true));
            }
            if ui.button("Save weights").clicked() {
                commands.push(Command::SaveWeights(dir));
            }
            if ui.button("Save weights...").clicked() {
                commands.push(Command::PickWeights(false));
            }
        });
        status(ui, ctx);
    }
}

fn status(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let t = ctx.training;
    ui.horizontal_wrapped(|ui| {
        let state = if t.running {
            "training"
        } else if t.steps_done > 0 {
            "paused"
        } else {
            "idle"
        };
        ui.label(RichText::new(format!("{state}: step {}", t.steps_done)).strong());
        if let Some((_, _, _, label)) = &t.trained_on {
            ui.label(format!("data: {label}"));
        }
        if let Some(from) = &t.loaded_from {
            ui.label(format!("weights from {from} (load resets training)"));
        }
        match &t.evaluation {
            Some((step, e)) => {
                let mut s = format!(
                    "ELBO at step {step}: optimal NELBO {} ± {}",
                    sci(e.optimal.nelbo.mean),
                    sci(e.optimal.nelbo.stderr)
                );
                for (p, r) in &e.nets {
                    s += &format!("; {p} {} ± {}", sci(r.nelbo.mean), sci(r.nelbo.stderr));
                }
                ui.label(s);
            }
            None => {
                ui.label(format!(
                    "the ELBO of each network is evaluated every {} steps and on pause",
                    t.run_settings.eval_every
                ));
            }
        }
        if t.evaluating {
            ui.spinner();
            ui.label("evaluating");
        }
        if let Some((text, is_error)) = &t.status {
            let mut r = RichText::new(text);
            if *is_error {
                r = r.color(ERROR_COLOUR);
            }
            ui.label(r);
        }
    });
    ui.label(
        RichText::new(format!(
            "{}. With the optimal denoiser every parameterisation gives the same ELBO; trained networks differ in where their errors land.",
            ctx.settings.training.loss.description()
        ))
        .small(),
    );
}

fn loss_plot(ui: &mut Ui, ctx: &ViewCtx<'_>, w: f32, h: f32) {
    let t = ctx.training;
    ui.vertical(|ui| {
        ui.label(RichText::new("Training loss per step (log scale)").strong());
        plot_maybe_log("train_loss", "step", "batch loss", true)
            .width(w)
            .height((h - 24.0).max(MIN_PLOT))
            .show(ui, |p| {
                for (k, param) in t.params.iter().enumerate() {
                    let Some(hist) = t.history.get(k) else {
                        continue;
                    };
                    let pts = maybe_log(&loss_curve(hist), true);
                    p.line(Line::new(format!("{param} network"), pts).color(colour(*param)));
                }
            });
    });
}

fn terms_plot(ui: &mut Ui, ctx: &ViewCtx<'_>, w: f32, h: f32) {
    let Some((_, e)) = &ctx.training.evaluation else {
        ui.allocate_space(egui::vec2(w, h));
        return;
    };
    ui.label(RichText::new("L_{t-1} per t: trained networks and the optimal denoiser").strong());
    plot_maybe_log("train_terms", "t", "L_{t-1} (nats)", true)
        .width(w)
        .height((h - 24.0).max(MIN_PLOT))
        .show(ui, |p| {
            let curve = |r: &crate::elbo::ElboResult| -> Vec<[f64; 2]> {
                r.timesteps
                    .iter()
                    .filter_map(|row| Some([row.t as f64, row.loss?]))
                    .collect()
            };
            p.line(
                Line::new("optimal", maybe_log(&curve(&e.optimal), true))
                    .color(ui_grey())
                    .width(2.0),
            );
            for (param, r) in &e.nets {
                p.line(
                    Line::new(format!("trained {param}"), maybe_log(&curve(r), true))
                        .color(colour(*param)),
                );
            }
        });
}

fn excess_plot(ui: &mut Ui, ctx: &ViewCtx<'_>, w: f32, h: f32) {
    let Some((_, e)) = &ctx.training.evaluation else {
        ui.label("Waiting for the first evaluation: start training, or load weights.");
        return;
    };
    ui.label(
        RichText::new("Excess L_{t-1}(trained) - L_{t-1}(optimal) per t (where each network spends its errors)")
            .strong(),
    );
    plot("train_excess", "t", "excess (nats)")
        .width(w)
        .height((h - 24.0).max(MIN_PLOT))
        .show(ui, |p| {
            p.add(HLine::new("0", 0.0).color(ui_grey()));
            for (k, (param, _)) in e.nets.iter().enumerate() {
                let pts: Vec<[f64; 2]> = e
                    .excess(k)
                    .iter()
                    .enumerate()
                    .filter_map(|(i, x)| Some([(i + 1) as f64, (*x)?]))
                    .collect();
                p.line(Line::new(format!("{param}"), pts).color(colour(*param)));
            }
        });
}

fn ui_grey() -> egui::Color32 {
    egui::Color32::from_gray(160)
}
