//! The parameterisations side by side: x0, eps and score (and v), each with its prediction
//! at t and, over t, its weight, its unweighted error and their product, which is the same
//! curve in every column (Luo §"Three Equivalent Interpretations").

use egui::{RichText, Ui};
use egui_plot::{Arrows, Line, PlotImage, PlotPoint, Points};

use super::super::App;
use super::super::compute::targets_1d;
use super::super::plot_util::{
    PARAM_COLOURS, T_COLOUR, band, maybe_log, opt, plot, plot_maybe_log, sci, t_marker,
};
use super::elbo::param_of;
use super::formula;

const NAMES: [&str; 4] = ["x0", "eps", "score", "v"];
const TITLES: [&str; 4] = [
    "x0-prediction",
    "noise (eps) prediction",
    "score prediction",
    "v-prediction",
];
const WEIGHTS: [&str; 4] = [
    "w_x0 = abar_{t-1} beta_t^2 / (2 sigma_t^2 (1-abar_t)^2)  (eq. 108)",
    "w_eps = beta_t^2 / (2 sigma_t^2 alpha_t (1-abar_t))  (eq. 130)",
    "w_s = beta_t^2 / (2 sigma_t^2 alpha_t)  (eq. 148)",
    "w_v = w_x0 (1 - abar_t)",
];

/// Show the view.
pub fn ui(ui: &mut Ui, app: &mut App) {
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut app.settings.toggles.show_v, "Show v-prediction column");
        ui.checkbox(&mut app.settings.toggles.log_y, "Log y axis");
        ui.label(
            RichText::new(
                "w(t) x MSE(t) is the same curve in every column: the equivalence of Luo §\"Three Equivalent Interpretations\".",
            )
            .strong(),
        );
    });
    let n = if app.settings.toggles.show_v { 4 } else { 3 };
    let h = ui.available_height();
    ui.columns(n, |cols| {
        for (k, ui) in cols.iter_mut().enumerate() {
            column(ui, app, k, h);
        }
    });
}

fn column(ui: &mut Ui, app: &App, k: usize, h: f32) {
    let t = app.t();
    let colour = PARAM_COLOURS[k];
    ui.label(RichText::new(TITLES[k]).strong().color(colour));
    let field_h = (h * 0.42).max(120.0);
    let w = ui.available_width();
    let dim = app.data().dim();
    let vb = app.applied.inputs.view_box;
    let (x_label, y_label) = if dim == 1 {
        ("x_t", NAMES[k])
    } else {
        ("x1", "x2")
    };
    let mut field_plot = plot(&format!("field_{k}"), x_label, y_label)
        .height(field_h)
        .width(w);
    if dim == 2 {
        field_plot = field_plot
            .data_aspect(1.0)
            .include_x(vb[0][0])
            .include_x(vb[0][1])
            .include_y(vb[1][0])
            .include_y(vb[1][1]);
    }
    field_plot.show(ui, |p| {
        let Some(fv) = &app.field else { return };
        let f = &fv.field;
        let pred = &f.predictions[k];
        if dim == 1 {
            if let Some(parts) = &app.particles {
                let targets = targets_1d(parts, app.schedule(), f.t);
                p.points(
                    Points::new(
                        format!("target {} at t = {}", NAMES[k], f.t),
                        targets[k].clone(),
                    )
                    .radius(1.5)
                    .color(colour.gamma_multiply(0.5)),
                );
            }
            p.line(
                Line::new(format!("model {}_hat(x_t)", NAMES[k]), pred.curve.clone())
                    .color(T_COLOUR)
                    .width(2.0),
            );
        } else {
            if let Some(tex) = &fv.texture {
                p.image(
                    PlotImage::new(
                        format!("q_t at t = {}", f.t),
                        tex.id(),
                        PlotPoint::new((vb[0][0] + vb[0][1]) / 2.0, (vb[1][0] + vb[1][1]) / 2.0),
                        [(vb[0][1] - vb[0][0]) as f32, (vb[1][1] - vb[1][0]) as f32],
                    )
                    .allow_hover(false),
                );
            }
            let name = if k == 0 {
                format!("(x0_hat - x_t) x {}", sci(pred.scale))
            } else {
                format!("{}_hat x {}", NAMES[k], sci(pred.scale))
            };
            p.arrows(
                Arrows::new(name, pred.origins.clone(), pred.tips.clone())
                    .color(egui::Color32::WHITE)
                    .tip_length(5.0),
            );
        }
    });
    let log = app.settings.toggles.log_y;
    plot_maybe_log(&format!("over_t_{k}"), "timestep t", "value", log)
        .height((h - field_h - 150.0).max(100.0))
        .width(w)
        .show(ui, |p| {
            if let Some(e) = &app.elbo {
                let pc = &e.curves.params[k];
                p.line(
                    Line::new(format!("w_{}(t)", NAMES[k]), maybe_log(&pc.weight, log))
                        .color(colour.gamma_multiply(0.6)),
                );
                p.add(band("MSE +/- 1 s.e.", &pc.mse, &pc.mse_stderr, log, colour));
                p.line(
                    Line::new(format!("MSE_{}(t)", NAMES[k]), maybe_log(&pc.mse, log))
                        .color(colour),
                );
                p.line(
                    Line::new("w(t) x MSE(t)", maybe_log(&pc.weighted, log))
                        .color(T_COLOUR)
                        .width(2.0),
                );
            }
            p.vline(t_marker(t));
        });
    formula(ui, WEIGHTS[k]);
    if let Some(e) = &app.elbo
        && let Some(row) = e.result.timesteps.get(t - 1)
    {
        let (wt, m, _) = param_of(row, k);
        let prod = wt.zip(m).map(|(a, b)| a * b);
        formula(ui, format!("t = {t}: w = {}", opt(wt)));
        formula(ui, format!("MSE = {}", opt(m)));
        formula(ui, format!("w x MSE = {}", opt(prod)));
    }
}
