//! The Training view: train one small network per parameterisation live on the current data,
//! watch their training losses, and see where each one's ELBO terms exceed the optimal
//! denoiser's (issue 5).

use std::path::PathBuf;

use egui::{RichText, Ui};
use egui_plot::{HLine, Line};

use super::super::App;
use super::super::controls::ERROR_COLOUR;
use super::super::plot_util::{PARAM_COLOURS, maybe_log, plot, plot_maybe_log, sci};
use crate::param::Parameterisation;
use crate::train::TrainLoss;

/// Points drawn per training-loss curve at most (longer runs are averaged in chunks).
const MAX_CURVE_POINTS: usize = 1500;

fn colour(p: Parameterisation) -> egui::Color32 {
    let k = Parameterisation::ALL
        .iter()
        .position(|&q| q == p)
        .unwrap_or(0);
    PARAM_COLOURS[k]
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

/// Show the view.
pub fn ui(ui: &mut Ui, app: &mut App) {
    controls(ui, app);
    ui.separator();
    let h = ui.available_height();
    let w = ui.available_width();
    ui.horizontal(|ui| {
        loss_plot(ui, app, w * 0.5 - 8.0, h);
        ui.vertical(|ui| {
            terms_plot(ui, app, w * 0.5 - 8.0, h * 0.5 - 4.0);
            excess_plot(ui, app, w * 0.5 - 8.0, h * 0.5 - 4.0);
        });
    });
}

fn controls(ui: &mut Ui, app: &mut App) {
    let running = app.training.running;
    ui.horizontal_wrapped(|ui| {
        let busy = running || app.training.steps_done > 0;
        ui.add_enabled_ui(!busy, |ui| {
            egui::ComboBox::from_label("Training loss")
                .selected_text(app.training.settings.loss.name())
                .show_ui(ui, |ui| {
                    for l in TrainLoss::ALL {
                        ui.selectable_value(&mut app.training.settings.loss, l, l.name())
                            .on_hover_text(l.description());
                    }
                });
            let l = ui.label("Batch");
            ui.add(egui::DragValue::new(&mut app.training.settings.batch).range(16..=4096))
                .labelled_by(l.id);
            let l = ui.label("Learning rate");
            ui.add(
                egui::DragValue::new(&mut app.training.settings.lr)
                    .range(1e-5..=1e-1)
                    .speed(1e-4)
                    .max_decimals(5),
            )
            .labelled_by(l.id);
            let l = ui.label("Training seed");
            ui.add(
                egui::DragValue::new(&mut app.training.settings.seed).range(0..=u32::MAX as u64),
            )
            .labelled_by(l.id);
            ui.checkbox(&mut app.training.settings.include_v, "Also train v");
        });
        let l = ui.label("Evaluate every");
        ui.add(egui::DragValue::new(&mut app.training.settings.eval_every).range(50..=100_000))
            .labelled_by(l.id);
        let l = ui.label("Evaluation samples");
        ui.add(egui::DragValue::new(&mut app.training.settings.eval_samples).range(64..=16_384))
            .labelled_by(l.id);
        let l = ui.label("Stop after steps");
        ui.add(egui::DragValue::new(&mut app.training.settings.max_steps).range(1..=10_000_000))
            .labelled_by(l.id);
    });
    ui.horizontal_wrapped(|ui| {
        let start_label = if app.training.steps_done > 0 && app.training.loaded_from.is_none() {
            "Resume training"
        } else {
            "Start training"
        };
        if ui
            .add_enabled(!running, egui::Button::new(start_label))
            .clicked()
        {
            let inputs = &app.applied.inputs;
            let label = app.applied.data_settings.label();
            let (data, schedule) = (inputs.data.clone(), inputs.schedule.clone());
            app.training
                .start(&data, &schedule, app.settings.variance, &label);
        }
        if ui
            .add_enabled(running, egui::Button::new("Pause training"))
            .clicked()
        {
            app.training.pause();
        }
        if ui.button("Reset training").clicked() {
            app.training.reset();
        }
        ui.separator();
        let l = ui.label("Weights folder");
        ui.add(egui::TextEdit::singleline(&mut app.training.weights_path).desired_width(220.0))
            .labelled_by(l.id);
        let dir = PathBuf::from(app.training.weights_path.trim());
        if ui.button("Load weights").clicked() {
            app.training.pending_load = Some(dir.clone());
        }
        if ui.button("Load weights...").clicked() {
            app.training.pick_dir(true);
        }
        if ui.button("Save weights").clicked() {
            app.training.save(&dir);
        }
        if ui.button("Save weights...").clicked() {
            app.training.pick_dir(false);
        }
    });
    if let Some(dir) = app.training.pending_load.take() {
        let inputs = &app.applied.inputs;
        let (data, schedule) = (inputs.data.clone(), inputs.schedule.clone());
        let label = app.applied.data_settings.label();
        app.training
            .load(&dir, &data, &schedule, app.settings.variance, &label);
    }
    let t = &app.training;
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
                    t.settings.eval_every
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
            t.settings.loss.description()
        ))
        .small(),
    );
}

fn loss_plot(ui: &mut Ui, app: &App, w: f32, h: f32) {
    let t = &app.training;
    ui.vertical(|ui| {
        ui.label(RichText::new("Training loss per step (log scale)").strong());
        plot_maybe_log("train_loss", "step", "batch loss", true)
            .width(w)
            .height(h - 24.0)
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

fn terms_plot(ui: &mut Ui, app: &App, w: f32, h: f32) {
    let Some((_, e)) = &app.training.evaluation else {
        ui.allocate_space(egui::vec2(w, h));
        return;
    };
    ui.label(RichText::new("L_{t-1} per t: trained networks and the optimal denoiser").strong());
    plot_maybe_log("train_terms", "t", "L_{t-1} (nats)", true)
        .width(w)
        .height(h - 24.0)
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

fn excess_plot(ui: &mut Ui, app: &App, w: f32, h: f32) {
    let Some((_, e)) = &app.training.evaluation else {
        ui.label("Waiting for the first evaluation: start training, or load weights.");
        return;
    };
    ui.label(
        RichText::new("Excess L_{t-1}(trained) - L_{t-1}(optimal) per t (where each network spends its errors)")
            .strong(),
    );
    plot("train_excess", "t", "excess (nats)")
        .width(w)
        .height(h - 24.0)
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
