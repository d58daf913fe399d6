//! The Training view: train one small network per parameterisation live on the current data,
//! watch their training losses, and see where each one's ELBO terms exceed the optimal
//! denoiser's (issue 5).

use std::path::PathBuf;

use egui::{RichText, Ui};
use egui_plot::{HLine, Line, LineStyle};

use super::super::command::{Command, FileRequest};
use super::super::focus::{self, Target};
use super::super::formula as tex;
use super::super::jobs::Want;
use super::super::jobs::elbo::param_row;
use super::super::model::StatusLine;
use super::super::palette::Palette;
use super::super::plot_util::{
    LegendEntry, clicked_t, legend_row, maybe_log, opt, plot_maybe_log, pm, sci, t_marker,
    within_visible,
};
use super::super::settings::{
    BATCH_RANGE, EVAL_EVERY_RANGE, EVAL_SAMPLES_RANGE, LR_RANGE, MAX_STEPS_RANGE,
};
use super::ctx::{AutoFold, ViewCtx};
use super::editor::DataEditor;
use super::tab::{PlotName, Tab, TabInfo};
use elbo_core::param::Parameterisation;
use elbo_train::TrainLoss;

/// The smallest plot side, in points.
const MIN_PLOT: f32 = 80.0;
/// The plots never get less height than this, in points: below it the tab scrolls.
const MIN_PLOTS_HEIGHT: f32 = 260.0;
/// Below this view height (points) the settings fold by themselves (they take five rows).
const SETTINGS_OPEN_MIN_HEIGHT: f32 = 460.0;
/// Points drawn per training-loss curve at most (longer runs are averaged in chunks).
const MAX_CURVE_POINTS: usize = 1500;

/// Loss curve `(step, loss)`, averaged in chunks to at most `MAX_CURVE_POINTS` points.
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
    settings_fold: AutoFold,
}

impl Default for TrainingView {
    fn default() -> Self {
        TrainingView {
            weights_path: std::env::temp_dir()
                .join("elbo-lab-weights")
                .display()
                .to_string(),
            settings_fold: AutoFold::default(),
        }
    }
}

impl Tab for TrainingView {
    const INFO: TabInfo = TabInfo {
        name: "Training",
        short_name: "Training",
        slug: "training",
        aliases: &[],
        summary: "Train small networks live and compare their ELBO with the optimal denoiser's",
        help: "Small networks learn to predict x_0, eps or the score from noisy samples, live. \
             The loss curves fall; the per-t plot compares each network's ELBO terms with the \
             optimal denoiser's, so you see where (which t) a network is still worse. \
             Trained networks can then be picked as the model in every other tab.",
    };

    fn plots() -> Vec<PlotName> {
        let mut plots: Vec<PlotName> = Vec::new();
        let mut add = |name: String, label: String| plots.push((name, label));
        add("train_loss".into(), "training loss".into());
        add("train_terms".into(), "L(t-1) per t".into());
        add("train_excess".into(), "excess over t".into());
        plots
    }

    fn wants(&self, _ctx: &ViewCtx<'_>) -> Vec<Want> {
        Vec::new()
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, _editor: &mut DataEditor) -> Vec<Command> {
        within_visible(ui, |ui| self.body(ui, ctx))
    }
}

impl TrainingView {
    fn body(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let visible_h = ui.available_height();
        let focus = ctx.focus();
        let area = (egui::ScrollArea::vertical(), "training_tab");
        focus::scroll_area(ui, &focus, area, |ui| {
            let top = ui.cursor().top();
            // Copied out: the body borrows the view.
            let mut fold = self.settings_fold;
            fold.show(
                    ui,
                    &ctx.focus(),
                    "Training settings and weights",
                    "The loss, batch, learning rate, seed and evaluation settings; start, pause and reset; load and save weights. Click to fold them away and give the plots the room (folded by itself on a short window).",
                    (visible_h, SETTINGS_OPEN_MIN_HEIGHT),
                    |ui| self.controls(ui, ctx, &mut commands),
                );
            self.settings_fold = fold;
            ui.separator();
            focus::readout(ui, Target::Readout(STATUS), |ui| status(ui, ctx));
            legend_row(
                ui,
                ctx.model.settings.toggles.legends,
                &legend(ctx, Palette::of_ui(ui)),
            );
            let used = ui.cursor().top() - top;
            let h = (visible_h - used - 2.0 * ui.spacing().item_spacing.y).max(MIN_PLOTS_HEIGHT);
            let w = ui.available_width();
            // Networks loaded from files have no training history: their two ELBO
            // plots take the room, side by side, under a line saying so.
            let trained_here = ctx.training.history.iter().any(|h| !h.is_empty());
            if trained_here || ctx.training.evaluation.is_none() {
                ui.horizontal_top(|ui| {
                    // Never below a readable plot, however little room the zoom leaves.
                    let half_w = (w * 0.5 - 8.0).max(MIN_PLOT);
                    let half_h = (h * 0.5 - 4.0).max(MIN_PLOT);
                    loss_plot(ui, ctx, half_w, h.max(MIN_PLOT));
                    ui.vertical(|ui| {
                        commands.extend(terms_plot(ui, ctx, half_w, half_h));
                        commands.extend(excess_plot(ui, ctx, half_w, half_h));
                    });
                });
            } else {
                // Measured afresh, without the floor of a training run's three plots.
                let h = (visible_h - (ui.cursor().top() - top) - 2.0 * ui.spacing().item_spacing.y)
                    .max(1.5 * MIN_PLOT);
                ui.columns(2, |cols| {
                    let half_w = cols[0].available_width();
                    // Left-aligned, not justified: justified text is letter-spaced.
                    let left = egui::Layout::top_down(egui::Align::Min);
                    cols[0].with_layout(left, |ui| {
                        commands.extend(terms_plot(ui, ctx, half_w, h));
                    });
                    cols[1].with_layout(left, |ui| {
                        commands.extend(excess_plot(ui, ctx, half_w, h));
                    });
                });
            }
        });
        commands
    }

    fn controls(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        let running = ctx.training.running;
        let mut s = ctx.model.settings.training.clone();
        ui.horizontal_wrapped(|ui| {
            let busy = running || ctx.training.steps_done > 0;
            let frozen = if busy {
                " (fixed once training has started: Reset training to change it)"
            } else {
                ""
            };
            ui.add_enabled_ui(!busy, |ui| {
                egui::ComboBox::from_label("Training loss")
                    .selected_text(s.loss.name())
                    .show_ui(ui, |ui| {
                        for l in TrainLoss::ALL {
                            ui.selectable_value(&mut s.loss, l, l.name())
                                .on_hover_text(l.description());
                        }
                    })
                    .response
                    .on_hover_text(format!(
                        "The loss each network is trained on: simple (unweighted ||f - target||^2, Ho et al. 2020), elbo (the ELBO weight w(t) of Luo eqs. 108/130/148, t uniform) or importance (ELBO weight, t drawn in proportion to L(t-1)){frozen}"
                    ))
                    .on_disabled_hover_text(format!("The training loss{frozen}"));
                keep_together(ui, "Batch");
                let l = ui.add(egui::Label::new("Batch").extend());
                ui.add(egui::DragValue::new(&mut s.batch).range(BATCH_RANGE))
                    .labelled_by(l.id)
                    .on_hover_text(format!(
                        "Samples (x0, t, eps) per training step, {}..={}{frozen}",
                        BATCH_RANGE.start(),
                        BATCH_RANGE.end()
                    ));
                keep_together(ui, "Learning rate");
                let l = ui.add(egui::Label::new("Learning rate").extend());
                ui.add(
                    egui::DragValue::new(&mut s.lr)
                        .range(LR_RANGE)
                        .speed(1e-4)
                        .max_decimals(5),
                )
                .labelled_by(l.id)
                .on_hover_text(format!(
                    "Adam step size, {:e}..={:e}{frozen}",
                    LR_RANGE.start(),
                    LR_RANGE.end()
                ));
                keep_together(ui, "Training seed");
                let l = ui.add(egui::Label::new("Training seed").extend());
                ui.add(egui::DragValue::new(&mut s.seed).range(0..=u32::MAX as u64))
                    .labelled_by(l.id)
                    .on_hover_text(format!(
                        "Seed of the initial weights and of the training samples, 0..={}: the same seed trains the same networks{frozen}",
                        u32::MAX
                    ));
                ui.checkbox(&mut s.include_v, "Also train v").on_hover_text(format!(
                    "Train a fourth network that predicts v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0{frozen}"
                ));
            });
            keep_together(ui, "Evaluate every");
            let l = ui.add(egui::Label::new("Evaluate every").extend());
            ui.add(egui::DragValue::new(&mut s.eval_every).range(EVAL_EVERY_RANGE))
                .labelled_by(l.id)
                .on_hover_text(format!(
                    "Training steps between two ELBO evaluations of every network, {}..={}",
                    EVAL_EVERY_RANGE.start(),
                    EVAL_EVERY_RANGE.end()
                ));
            keep_together(ui, "Evaluation samples");
            let l = ui.add(egui::Label::new("Evaluation samples").extend());
            ui.add(egui::DragValue::new(&mut s.eval_samples).range(EVAL_SAMPLES_RANGE))
                .labelled_by(l.id)
                .on_hover_text(format!(
                    "Monte Carlo samples N of each evaluation's ELBO during training (standard error ~ 1/sqrt(N); the evaluations recur, so they are Monte Carlo, with fixed_small when the side panel says analytic; pick a network as the model for its ELBO by quadrature in the ELBO tab), {}..={}",
                    EVAL_SAMPLES_RANGE.start(),
                    EVAL_SAMPLES_RANGE.end()
                ));
            keep_together(ui, "Stop after steps");
            let l = ui.add(egui::Label::new("Stop after steps").extend());
            ui.add(egui::DragValue::new(&mut s.max_steps).range(MAX_STEPS_RANGE))
                .labelled_by(l.id)
                .on_hover_text(format!(
                    "Training pauses by itself after this many steps, {}..={}",
                    MAX_STEPS_RANGE.start(),
                    MAX_STEPS_RANGE.end()
                ));
        });
        if s != ctx.model.settings.training {
            commands.push(Command::SetTraining(s));
        }
        ui.horizontal_wrapped(|ui| {
            let resumable = ctx.training.steps_done > 0 && ctx.training.loaded_from.is_none();
            let start_label = if resumable && ctx.training.paused_for_data {
                "Resume on the old data"
            } else if resumable {
                "Resume training"
            } else {
                "Start training"
            };
            if ui
                .add_enabled(!running, egui::Button::new(start_label))
                .on_hover_text("Train one small network per parameterisation (x0, eps, score, and v if asked) on the current data and schedule, in the background")
                .on_disabled_hover_text("Training is running")
                .clicked()
            {
                commands.push(Command::StartTraining);
            }
            if ui
                .add_enabled(running, egui::Button::new("Pause training"))
                .on_hover_text("Pause training and evaluate every network's ELBO now")
                .on_disabled_hover_text("Training is not running")
                .clicked()
            {
                commands.push(Command::PauseTraining);
            }
            if ctx.training.paused_for_data
                && ui
                    .add_enabled(!running, egui::Button::new("Reset and train on these data"))
                    .on_hover_text("The data changed while the networks trained: forget them and train new ones on the current data and schedule")
                    .clicked()
            {
                commands.push(Command::ResetTraining);
                commands.push(Command::StartTraining);
            }
            if ui
                .button("Reset training")
                .on_hover_text("Forget the trained networks and their history; the settings above can be changed again")
                .clicked()
            {
                commands.push(Command::ResetTraining);
            }
            ui.separator();
            keep_together(ui, "Weights folder");
            let l = ui.add(egui::Label::new("Weights folder").extend());
            ui.add(egui::TextEdit::singleline(&mut self.weights_path).desired_width(220.0))
                .labelled_by(l.id)
                .on_hover_text("Folder the networks' weights are saved to and loaded from (one file per parameterisation)");
            let dir = PathBuf::from(self.weights_path.trim());
            if ui
                .button("Load weights")
                .on_hover_text("Load trained networks from the weights folder (resets training)")
                .clicked()
            {
                commands.push(Command::LoadWeights(dir.clone()));
            }
            if ui
                .button("Load weights...")
                .on_hover_text("Pick a weights folder to load from (resets training)")
                .clicked()
            {
                commands.push(Command::PickFile(FileRequest::Weights(true)));
            }
            if ui
                .button("Save weights")
                .on_hover_text("Save the trained networks into the weights folder")
                .clicked()
            {
                commands.push(Command::SaveWeights(dir));
            }
            if ui
                .button("Save weights...")
                .on_hover_text("Pick a folder to save the trained networks into")
                .clicked()
            {
                commands.push(Command::PickFile(FileRequest::Weights(false)));
            }
        });
        tex::rich(
            ui,
            &format!(
                "{}. With the optimal denoiser every parameterisation gives the same ELBO; trained networks differ in where their errors land.",
                loss_text(ctx.model.settings.training.loss)
            ),
        );
    }
}

/// Start a new row of a wrapping layout unless a label `label` and the control after it
/// (up to [`CONTROL_WIDTH`]) fit on this one, so a label never ends a row without its
/// control.
fn keep_together(ui: &mut Ui, label: &str) {
    let text = super::super::plot_util::text_width(ui, label, &egui::TextStyle::Body);
    if ui.available_size_before_wrap().x < text + ui.spacing().item_spacing.x + CONTROL_WIDTH {
        ui.end_row();
    }
}

/// Room kept for the control after a label: a number field, or the weights folder's
/// start.
const CONTROL_WIDTH: f32 = 80.0;

fn legend(ctx: &ViewCtx<'_>, pal: &Palette) -> Vec<LegendEntry> {
    let t = ctx.training;
    let mut params: Vec<Parameterisation> = t.params.clone();
    if let Some((_, e)) = &t.evaluation {
        for (p, _) in &e.nets {
            if !params.contains(p) {
                params.push(*p);
            }
        }
    }
    let mut entries: Vec<LegendEntry> = params
        .iter()
        .map(|p| {
            LegendEntry::line(format!("{p} network"), pal.param(*p))
                .tip(format!("The network predicting {p}: its training loss, its L(t-1) and its excess over the optimal denoiser"))
        })
        .collect();
    if t.evaluation.is_some() {
        entries.push(
            LegendEntry::styled("optimal denoiser", pal.neutral, LineStyle::Solid)
                .tip("The Bayes-optimal denoiser E[x0|x_t] of the data: the smallest L(t-1) any network can reach"),
        );
        entries.push(LegendEntry::t_marker());
    }
    entries
}

/// The key of the status line above the plots: state, step and each network's NELBO (see
/// [`Target::Readout`]).
pub const STATUS: &str = focus::key::TRAINING_STATUS;
/// The key of the line of numbers at the timeline's t above the excess plot.
pub const AT_T: &str = focus::key::TRAINING_AT_T;

fn status(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let pal = Palette::of_ui(ui);
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
            if t.status.as_ref().is_none_or(|s| !s.text.contains(from.as_str())) {
                ui.label(format!("weights from {from} (load resets training)"));
            }
            if t.history.iter().all(Vec::is_empty) {
                ui.label("(loaded, not trained here: no loss curve)")
                    .on_hover_text("The loss curves are drawn while networks train in this window (Start training); loaded weights carry no history, so their two ELBO plots take the room.");
            }
        }
        match &t.evaluation {
            Some((step, e)) => {
                let mut s = format!(
                    "NELBO at step {step}: optimal {}",
                    pm(e.optimal.nelbo.mean, e.optimal.nelbo.stderr)
                );
                for (p, r) in &e.nets {
                    s += &format!("; {p} {}", pm(r.nelbo.mean, r.nelbo.stderr));
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
        if let Some(StatusLine {
            text,
            error: is_error,
        }) = &t.status
        {
            let mut r = RichText::new(text);
            if *is_error {
                r = r.color(pal.error);
            }
            ui.label(r);
        }
    });
}

/// [`TrainLoss::description`] with its formulas typeset (see [`tex::rich`]).
fn loss_text(loss: TrainLoss) -> &'static str {
    match loss {
        TrainLoss::Simple => {
            r"unweighted $\| f - \text{target} \|^2$ of each network's own target ($L_\mathrm{simple}$)"
        }
        TrainLoss::Elbo => r"ELBO weighting $T\, w(t)\, \| f - \text{target} \|^2$, $t$ uniform",
        TrainLoss::Importance => {
            r"ELBO weighting, $t$ importance-sampled by the Gaussian fit's $L_{t-1}$"
        }
    }
}

fn loss_plot(ui: &mut Ui, ctx: &ViewCtx<'_>, w: f32, h: f32) {
    let pal = Palette::of_ui(ui);
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
                    p.line(
                        Line::new(format!("{param} network"), pts)
                            .color(pal.param(*param))
                            .width(1.5),
                    );
                }
            });
    });
}

fn terms_plot(ui: &mut Ui, ctx: &ViewCtx<'_>, w: f32, h: f32) -> Option<Command> {
    let pal = Palette::of_ui(ui);
    let Some((_, e)) = &ctx.training.evaluation else {
        ui.allocate_space(egui::vec2(w, h));
        return None;
    };
    ui.label(RichText::new("L(t-1) per t: networks and the optimal denoiser").strong());
    let resp = plot_maybe_log("train_terms", "timestep t", "nats", true)
        .width(w)
        .height((h - 24.0).max(MIN_PLOT))
        .show(ui, |p| {
            let curve = |r: &elbo_core::elbo::ElboResult| -> Vec<[f64; 2]> {
                r.timesteps
                    .iter()
                    .filter_map(|row| Some([row.t as f64, row.loss?]))
                    .collect()
            };
            p.line(
                Line::new("optimal", maybe_log(&curve(&e.optimal), true))
                    .color(pal.neutral)
                    .width(2.5),
            );
            for (param, r) in &e.nets {
                p.line(
                    Line::new(format!("{param} network"), maybe_log(&curve(r), true))
                        .color(pal.param(*param))
                        .width(1.5),
                );
            }
            p.vline(t_marker(ctx.t));
        });
    focus::mark(ui, Target::Plot("train_terms"), resp.response.rect);
    clicked_t(&resp, ctx.steps()).map(Command::SetT)
}

fn excess_plot(ui: &mut Ui, ctx: &ViewCtx<'_>, w: f32, h: f32) -> Option<Command> {
    let pal = Palette::of_ui(ui);
    let Some((_, e)) = &ctx.training.evaluation else {
        ui.label("Waiting for the first evaluation: start training, or load weights.");
        return None;
    };
    let top = ui.cursor().top();
    ui.label(RichText::new("Excess over the optimal denoiser per t").strong());
    focus::readout(ui, Target::Readout(AT_T), |ui| {
        ui.add(egui::Label::new(at_t_text(e, ctx.t)).wrap())
            .on_hover_text("At the timeline's t: each network's excess over the optimal denoiser, and the weight w(t) its squared error is multiplied by in L(t-1) (the optimal denoiser's row).");
    });
    // By quadrature no network can beat the optimal denoiser at any t: the excess is >= 0
    // and spans decades, so it is drawn on a log axis; Monte Carlo's can dip below 0.
    let log = e.optimal.method == elbo_core::elbo::Method::Quadrature;
    let h = (h - (ui.cursor().top() - top)).max(MIN_PLOT);
    let resp = plot_maybe_log("train_excess", "timestep t", "nats", log)
        .width(w)
        .height(h)
        .show(ui, |p| {
            if !log {
                p.add(HLine::new("0", 0.0).color(pal.neutral));
            }
            for (k, (param, _)) in e.nets.iter().enumerate() {
                let pts: Vec<[f64; 2]> = e
                    .excess(k)
                    .iter()
                    .enumerate()
                    .filter_map(|(i, x)| Some([(i + 1) as f64, (*x)?]))
                    .collect();
                p.line(
                    Line::new(format!("{param} network"), maybe_log(&pts, log))
                        .color(pal.param(*param))
                        .width(1.5),
                );
            }
            p.vline(t_marker(ctx.t));
        });
    focus::mark(ui, Target::Plot("train_excess"), resp.response.rect);
    clicked_t(&resp, ctx.steps()).map(Command::SetT)
}

/// "At t = 1: excess x0 network 1.234e2, eps network 1.2e-3 nats; weight of x0's squared
/// error w_x0(t) = 5000": the excess plot's values at `t`.
fn at_t_text(e: &elbo_train::Evaluation, t: usize) -> String {
    let excess: Vec<String> = e
        .nets
        .iter()
        .enumerate()
        .map(|(k, (p, _))| {
            let v = e.excess(k).get(t.wrapping_sub(1)).copied().flatten();
            format!("{p} {}", opt(v))
        })
        .collect();
    let mut out = format!("At t = {t}: {} nats", excess.join(", "));
    if let Some(row) = e.optimal.timesteps.get(t.wrapping_sub(1)) {
        let weights: Vec<String> = e
            .nets
            .iter()
            .filter_map(|(p, _)| {
                let (w, _, _) = param_row(row, *p);
                w.map(|w| format!("w_{p}(t) = {}", weight_text(w)))
            })
            .collect();
        if !weights.is_empty() {
            out += &format!("; {}", weights.join(", "));
        }
    }
    out
}

/// A weight as a reader quotes it: whole above 100 ("5000"), else four significant digits.
fn weight_text(w: f64) -> String {
    if w.abs() >= 100.0 && w.is_finite() {
        format!("{w:.0}")
    } else {
        sci(w)
    }
}
