//! The parameterisations side by side: x0, eps and score (and v), each with its prediction
//! at t and, over t, its weight, its unweighted error and their product, which is the same
//! curve in every column (Luo §"Three Equivalent Interpretations").

use egui::{RichText, Ui};
use egui_plot::{Arrows, Line, Points};

use super::super::command::Command;
use super::super::compute::targets_1d;
use super::super::plot_util::{
    PARAM_COLOURS, T_COLOUR, band, box_image, maybe_log, opt, plane_plot, plot, plot_maybe_log,
    sci, t_marker,
};
use super::elbo::param_row;
use super::{ViewCtx, dimmed_unless, formula};
use crate::param::{Parameterisation, PerParam};

const TITLES: PerParam<&str> = PerParam {
    x0: "x0-prediction",
    eps: "noise (eps) prediction",
    score: "score prediction",
    v: "v-prediction",
};
const WEIGHTS: PerParam<&str> = PerParam {
    x0: "w_x0 = abar_{t-1} beta_t^2 / (2 sigma_t^2 (1-abar_t)^2)  (eq. 108)",
    eps: "w_eps = beta_t^2 / (2 sigma_t^2 alpha_t (1-abar_t))  (eq. 130)",
    score: "w_s = beta_t^2 / (2 sigma_t^2 alpha_t)  (eq. 148)",
    v: "w_v = w_x0 (1 - abar_t)",
};

/// The Parameterisations tab (no state of its own).
#[derive(Default)]
pub struct ParamsView;

impl ParamsView {
    /// Show the view.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut toggles = ctx.settings.toggles.clone();
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut toggles.show_v, "Show v-prediction column");
            ui.checkbox(&mut toggles.log_y, "Log y axis");
            ui.label(
                RichText::new(
                    "w(t) x MSE(t) is the same curve in every column: the equivalence of Luo §\"Three Equivalent Interpretations\".",
                )
                .strong(),
            );
        });
        let shown: &[Parameterisation] = if ctx.settings.toggles.show_v {
            &Parameterisation::ALL
        } else {
            &Parameterisation::ALL[..3]
        };
        let h = ui.available_height();
        ui.columns(shown.len(), |cols| {
            for (ui, &p) in cols.iter_mut().zip(shown) {
                column(ui, ctx, p, h);
            }
        });
        if toggles == ctx.settings.toggles {
            Vec::new()
        } else {
            vec![Command::SetToggles(toggles)]
        }
    }
}

fn column(ui: &mut Ui, ctx: &ViewCtx<'_>, k: Parameterisation, h: f32) {
    let t = ctx.t;
    let colour = PARAM_COLOURS[k];
    ui.label(RichText::new(TITLES[k]).strong().color(colour));
    let field_h = (h * 0.42).max(120.0);
    let w = ui.available_width();
    let dim = ctx.dim();
    let vb = ctx.inputs().view_box;
    let (x_label, y_label) = if dim == 1 {
        ("x_t", k.label())
    } else {
        ("x1", "x2")
    };
    let field_plot = if dim == 2 {
        plane_plot(&format!("field_{k}"), vb)
    } else {
        plot(&format!("field_{k}"), x_label, y_label)
    }
    .height(field_h)
    .width(w);
    let field = ctx.field();
    let statics = ctx.statics();
    dimmed_unless(ui, field.as_ref().is_none_or(|f| f.current), |ui| {
        field_plot.show(ui, |p| {
            let Some(fv) = &field else { return };
            let f = &fv.value.field;
            let pred = &f.predictions[k];
            if dim == 1 {
                if let Some(st) = &statics {
                    // Targets through the particles' own schedule.
                    let targets =
                        targets_1d(&st.value.particles, &st.value.inputs.schedule, f.t, k);
                    p.points(
                        Points::new(format!("target {k} at t = {}", f.t), targets)
                            .radius(1.5)
                            .color(colour.gamma_multiply(0.5)),
                    );
                }
                p.line(
                    Line::new(format!("model {k}_hat(x_t)"), pred.curve.clone())
                        .color(T_COLOUR)
                        .width(2.0),
                );
            } else {
                if let Some(tex) = &fv.value.texture {
                    p.image(box_image(
                        format!("q_t at t = {}", f.t),
                        tex.id(),
                        f.inputs.view_box,
                    ));
                }
                let name = if k == Parameterisation::X0 {
                    format!("(x0_hat - x_t) x {}", sci(pred.scale))
                } else {
                    format!("{k}_hat x {}", sci(pred.scale))
                };
                p.arrows(
                    Arrows::new(name, pred.origins.clone(), pred.tips.clone())
                        .color(egui::Color32::WHITE)
                        .tip_length(5.0),
                );
            }
        });
    });
    let log = ctx.settings.toggles.log_y;
    let elbo = ctx.elbo();
    dimmed_unless(ui, elbo.as_ref().is_none_or(|e| e.current), |ui| {
        plot_maybe_log(&format!("over_t_{k}"), "timestep t", "value", log)
            .height((h - field_h - 150.0).max(100.0))
            .width(w)
            .show(ui, |p| {
                if let Some(e) = &elbo {
                    let pc = &e.value.curves.params[k];
                    p.line(
                        Line::new(format!("w_{k}(t)"), maybe_log(&pc.weight, log))
                            .color(colour.gamma_multiply(0.6)),
                    );
                    p.add(band("MSE +/- 1 s.e.", &pc.mse, &pc.mse_stderr, log, colour));
                    p.line(Line::new(format!("MSE_{k}(t)"), maybe_log(&pc.mse, log)).color(colour));
                    p.line(
                        Line::new("w(t) x MSE(t)", maybe_log(&pc.weighted, log))
                            .color(T_COLOUR)
                            .width(2.0),
                    );
                }
                p.vline(t_marker(t));
            });
        formula(ui, WEIGHTS[k]);
        if let Some(e) = &elbo
            && let Some(row) = e.value.result.timesteps.get(t - 1)
        {
            let (wt, m, _) = param_row(row, k);
            let prod = wt.zip(m).map(|(a, b)| a * b);
            formula(ui, format!("t = {t}: w = {}", opt(wt)));
            formula(ui, format!("MSE = {}", opt(m)));
            formula(ui, format!("w x MSE = {}", opt(prod)));
        }
    });
}
