//! The parameterisations side by side: x0, eps and score (and v), each with its prediction
//! at t and, over t, its weight, its unweighted error and their product, which is the same
//! curve in every column (Luo §"Three Equivalent Interpretations").

use egui::{Align, Layout, RichText, Ui};
use egui_plot::{Arrows, Line, LineStyle, MarkerShape, Points};
use elbo_core::elbo::{ElboResult, Method};

use super::super::command::Command;
use super::super::compute::targets_1d;
use super::super::focus::{self, Target};
use super::super::formula::{self as tex, catalogue};
use super::super::jobs::Want;
use super::super::jobs::elbo::param_row;
use super::super::palette::Palette;
use super::super::plot_util::{
    LegendEntry, band, clicked_t, legend_row, maybe_log, opt, plane_plot, plot, plot_maybe_log,
    sci, t_marker, within_visible, x_tick_overhang,
};
use super::ctx::{ViewCtx, dimmed_unless};
use super::editor::DataEditor;
use super::tab::{PlotName, Tab, TabInfo};
use elbo_core::param::{Parameterisation, PerParam};

const TITLES: PerParam<&str> = PerParam {
    x0: "x0-prediction",
    eps: "noise (eps) prediction",
    score: "score prediction",
    v: "v-prediction",
};
/// Where each weight comes from in Luo 2022.
const WEIGHT_REFS: PerParam<&str> = PerParam {
    x0: "Luo eq. 108",
    eps: "Luo eq. 130",
    score: "Luo eq. 148",
    v: "w_x0 times (1 - abar_t)",
};

/// The Parameterisations tab (no state of its own).
#[derive(Default)]
pub struct ParamsView;

impl Tab for ParamsView {
    const INFO: TabInfo = TabInfo {
        name: "Parameterisations",
        short_name: "Params",
        slug: "params",
        aliases: &["parameterisations", "parameterizations"],
        summary: "The x0-, noise-, score- (and v-) parameterisations of the same denoiser, side by side",
        help: "One optimal denoiser written four ways: predicting x_0, the noise eps, the score \
             (Tweedie) or v. Their mean squared errors differ by orders of magnitude, yet each \
             weighted by its own w(t) gives the same denoising matching term (Luo eqs. 99, 130, 148): \
             the parameterisation changes the loss weighting, not the ELBO.",
    };

    fn plots() -> Vec<PlotName> {
        let mut plots: Vec<PlotName> = Vec::new();
        let mut add = |name: String, label: String| plots.push((name, label));
        for k in Parameterisation::ALL {
            add(format!("field_{k}"), format!("{k}: field at t"));
            add(format!("over_t_{k}"), format!("{k}: weight and MSE over t"));
        }
        plots
    }

    fn wants(&self, ctx: &ViewCtx<'_>) -> Vec<Want> {
        vec![
            Want::Statics(ctx.statics_key()),
            Want::Fields(ctx.field_key()),
            Want::Elbo(ctx.elbo_key()),
        ]
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, _editor: &mut DataEditor) -> Vec<Command> {
        within_visible(ui, |ui| self.body(ui, ctx))
    }
}

impl ParamsView {
    fn body(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut toggles = ctx.model.settings.toggles.clone();
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut toggles.show_v, "Show v-prediction column")
                .on_hover_text(
                    "Add a fourth column for v-prediction, v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0 (Salimans and Ho 2022; not in Luo 2022), weight w_v = w_x0 (1 - abar_t).",
                );
            ui.checkbox(&mut toggles.log_y, "Log y axis").on_hover_text(
                "Draw weights and errors over t on a log10 axis (ticks at powers of ten): they span many orders of magnitude.",
            );
            // One short line, so the plots keep the room on a projector; the whole
            // statement is its tooltip.
            ui.label(RichText::new("w(t) × MSE(t): the same curve in every column").strong())
                .on_hover_text(
                    "The weighted error w(t) × MSE(t) is the same curve in every column: the three parameterisations are equivalent (Luo 2022, §\"Three Equivalent Interpretations\", eqs. 108, 130, 148). What differs is the unweighted MSE each network is trained on.",
                );
            if let Some(e) = ctx.elbo() {
                let (caption, tip) = super::elbo::method_caption(&e.value.result);
                ui.label(caption).on_hover_text(tip);
            }
        });
        let predicts = predicted(ui, ctx);
        legend_row(
            ui,
            ctx.model.settings.toggles.legends,
            &legend(ctx, Palette::of_ui(ui)),
        );
        let shown: &[Parameterisation] =
            if ctx.model.settings.toggles.show_v || predicts == Some(Parameterisation::V) {
                &Parameterisation::ALL
            } else {
                &Parameterisation::ALL[..3]
            };
        if let Some(text) = ctx
            .elbo()
            .and_then(|e| weighted_text(&e.value.result, ctx.t, shown))
        {
            focus::readout(ui, Target::Readout(READOUT), |ui| {
                ui.add(egui::Label::new(text).wrap()).on_hover_text(
                    "At the timeline's t: each column's weighted error w(t) × MSE(t) (the same number: the three parameterisations are one loss), and how far apart their raw MSEs are.",
                );
            });
        }
        let h = ui.available_height();
        let mut commands = Vec::new();
        ui.columns(shown.len(), |cols| {
            for (ui, &p) in cols.iter_mut().zip(shown) {
                // Left-aligned, not justified: justified text is letter-spaced.
                ui.with_layout(Layout::top_down(Align::Min), |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt(("params_column", p.to_string()))
                        .show(ui, |ui| {
                            commands.extend(column(ui, ctx, p, h, predicts == Some(p)))
                        });
                });
            }
        });
        if toggles != ctx.model.settings.toggles {
            commands.push(Command::SetToggles(toggles));
        }
        commands
    }
}

/// The key of the line of numbers above the columns (see [`Target::Readout`]).
pub const READOUT: &str = focus::key::PARAMS_WEIGHTED;

/// "At t = 1: w × MSE = 1.234e-2 (x0), 1.234e-2 (eps), 1.234e-2 (score); raw MSE ratios
/// eps / x0 = 9999, score / x0 = 9.999e7": the columns' numbers side by side. None where
/// the row has no values.
pub fn weighted_text(r: &ElboResult, t: usize, shown: &[Parameterisation]) -> Option<String> {
    let row = r.timesteps.get(t.checked_sub(1)?)?;
    let mut weighted = Vec::new();
    let mut ratios = Vec::new();
    let (_, mse_x0, _) = param_row(row, Parameterisation::X0);
    for &p in shown {
        let (w, m, _) = param_row(row, p);
        weighted.push(format!("{} ({p})", opt(w.zip(m).map(|(a, b)| a * b))));
        if p != Parameterisation::X0
            && let (Some(m), Some(m0)) = (m, mse_x0)
            && m0 > 0.0
        {
            let ratio = m / m0;
            let text = if ratio < 1e5 {
                format!("{ratio:.0}")
            } else {
                sci(ratio)
            };
            ratios.push(format!("{p} / x0 = {text}"));
        }
    }
    let mut out = format!("At t = {t}: w × MSE = {}", weighted.join(", "));
    if !ratios.is_empty() {
        out += &format!("; raw MSE ratios {}", ratios.join(", "));
    }
    Some(out)
}

/// True when the curves on screen are by quadrature (no error bands to draw).
fn quadrature(ctx: &ViewCtx<'_>) -> bool {
    ctx.elbo()
        .is_some_and(|e| e.value.result.method == Method::Quadrature)
}

fn legend(ctx: &ViewCtx<'_>, pal: &Palette) -> Vec<LegendEntry> {
    let col = pal.total;
    let (model, target) = if ctx.dim() == 1 {
        (
            LegendEntry::line("model prediction", col)
                .tip("Top plots: each network's prediction at the current t over x_t, in its column's colour"),
            LegendEntry::marker("targets", col.gamma_multiply(0.5), MarkerShape::Circle)
                .tip("Top plots: the regression targets of noisy samples x_t at the current t, in the column's colour, faded"),
        )
    } else {
        (
            LegendEntry::line("predictions (arrows)", col).tip(
                "Top plots: each network's prediction at points of the plane, scaled as its name says, over the density q_t",
            ),
            LegendEntry::band("$q_t$ density", col.gamma_multiply(0.5))
                .tip("Top plots: the density of x_t at the current t"),
        )
    };
    vec![
        model,
        target,
        LegendEntry::styled("w(t)", col, LineStyle::dashed_dense())
            .tip("Lower plots: the weight of each parameterisation's MSE in L(t-1) (formula under each column)"),
        if quadrature(ctx) {
            LegendEntry::line("MSE", col)
                .tip("Lower plots: the unweighted mean squared error of the prediction, E||f - target||^2, by quadrature (its error is far below the line width)")
        } else {
            LegendEntry::band("MSE ± 1 s.e.", col)
                .tip("Lower plots: the unweighted mean squared error of the prediction, E||f - target||^2, with its Monte Carlo error")
        },
        LegendEntry::line("$w(t) \\times \\mathrm{MSE}(t)$", pal.denoising).tip(
            "Lower plots: the weighted error, the denoising matching term L(t-1) less its variance part (Luo eq. 58): the same curve in every column",
        ),
        LegendEntry::t_marker(),
    ]
}

/// The parameterisation the loaded scheduler config's `prediction_type` names, said in one
/// line (a config records what the network outputs, not how its loss was weighted).
fn predicted(ui: &mut Ui, ctx: &ViewCtx<'_>) -> Option<Parameterisation> {
    let config = ctx
        .model
        .settings
        .config_of(&ctx.model.applied.schedule_settings)?;
    let written = config.prediction_type.as_deref()?;
    let pal = Palette::of_ui(ui);
    let p = config.predicts();
    let text = match p {
        Some(p) => RichText::new(format!(
            "This config's network predicts {p} (prediction_type = {written} in {})",
            config.name
        ))
        .color(pal.param(p)),
        None => RichText::new(format!(
            "prediction_type = \"{written}\" in {} is not epsilon, v_prediction or sample: no column is highlighted",
            config.name
        ))
        .color(pal.warning),
    };
    ui.label(text.strong()).on_hover_text(
        "diffusers' prediction_type names what the network outputs: epsilon -> eps, v_prediction -> v, sample -> x0. Its column is framed. A scheduler config does not record how the training loss was weighted over t.",
    );
    p
}

/// One parameterisation's column, in `h` points of visible height: the prediction at t,
/// its weight and error over t, then the formulas (which may scroll when the room is short).
fn column(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    k: Parameterisation,
    h: f32,
    config_predicts: bool,
) -> Vec<Command> {
    let pal = Palette::of_ui(ui);
    let t = ctx.t;
    let colour = pal.param(k);
    let top = ui.cursor().top();
    if config_predicts {
        egui::Frame::new()
            .stroke(egui::Stroke::new(2.0, colour))
            .inner_margin(egui::Margin::symmetric(4, 1))
            .show(ui, |ui| {
                ui.label(
                    RichText::new(format!("{}: the config's network", TITLES[k]))
                        .strong()
                        .color(colour),
                )
                .on_hover_text("The loaded scheduler config's prediction_type names this output.");
            });
    } else {
        ui.label(RichText::new(TITLES[k]).strong().color(colour));
    }
    let line = ui.text_style_height(&egui::TextStyle::Monospace) + ui.spacing().item_spacing.y;
    let room = h - (ui.cursor().top() - top) - 2.0 * ui.spacing().item_spacing.y;
    // The formulas under the plots fit too when there is room; else they scroll.
    let formulas = 6.0 * line;
    let plots_h = if room - formulas >= 300.0 {
        room - formulas
    } else {
        room.max(160.0)
    };
    let field_h = (plots_h * 0.45).max(100.0);
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
                        .color(colour)
                        .width(2.5),
                );
            } else {
                fv.value.draw_density(p);
                let name = if k == Parameterisation::X0 {
                    format!("(x0_hat - x_t) x {}", sci(pred.scale))
                } else {
                    format!("{k}_hat x {}", sci(pred.scale))
                };
                p.arrows(
                    Arrows::new(name, pred.origins.clone(), pred.tips.clone())
                        .color(pal.total)
                        .tip_length(5.0),
                );
            }
        });
    });
    let log = ctx.model.settings.toggles.log_y;
    let elbo = ctx.elbo();
    let mut commands = Vec::new();
    dimmed_unless(ui, elbo.as_ref().is_none_or(|e| e.current), |ui| {
        // The last tick (t = T) sits on the right edge: its label needs room in the column.
        let overhang = x_tick_overhang(ui, &ctx.steps().to_string());
        let over_t = plot_maybe_log(&format!("over_t_{k}"), "timestep t", "value", log)
            .height((plots_h - field_h).max(100.0))
            .width(w - overhang)
            .show(ui, |p| {
                if let Some(e) = &elbo {
                    let pc = &e.value.curves.params[k];
                    p.line(
                        Line::new(format!("w_{k}(t)"), maybe_log(&pc.weight, log))
                            .color(colour)
                            .style(LineStyle::dashed_dense()),
                    );
                    if e.value.result.method == Method::MonteCarlo {
                        p.add(band("MSE ± 1 s.e.", &pc.mse, &pc.mse_stderr, log, colour));
                    }
                    p.line(
                        Line::new(format!("MSE_{k}(t)"), maybe_log(&pc.mse, log))
                            .color(colour)
                            .width(1.5),
                    );
                    p.line(
                        Line::new("w(t) × MSE(t)", maybe_log(&pc.weighted, log))
                            .color(pal.denoising)
                            .width(2.5),
                    );
                }
                p.vline(t_marker(t));
            });
        commands.extend(clicked_t(&over_t, ctx.steps()).map(Command::SetT));
        tex::show(ui, catalogue::weight(k)).on_hover_text(WEIGHT_REFS[k]);
        if let Some(e) = &elbo
            && let Some(row) = e.value.result.timesteps.get(t - 1)
        {
            let (wt, m, _) = param_row(row, k);
            let prod = wt.zip(m).map(|(a, b)| a * b);
            ui.label(format!("t = {t}: w = {}", opt(wt)));
            ui.label(format!("MSE = {}", opt(m)));
            ui.label(format!("w × MSE = {}", opt(prod)));
        }
    });
    commands
}
