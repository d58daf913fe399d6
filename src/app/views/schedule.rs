//! The schedule: beta_t, abar_t and log-SNR over t, optionally with the other presets
//! overlaid (same T and beta range) to compare them on one plot.

use egui::Ui;
use egui_plot::{Line, LineStyle};

use crate::schedule::{BetaSchedule, NoiseSchedule, ScheduleSpec};

use super::super::command::Command;
use super::super::plot_util::{PARAM_COLOURS, opt, plot, sci, t_marker};
use super::super::settings::ScheduleSettings;
use super::{ViewCtx, formula, formula_column};
use crate::param::Parameterisation;

const TEXT_WIDTH: f32 = 280.0;

type Series = fn(&NoiseSchedule, usize) -> Option<f64>;

const SERIES: [(&str, &str, Series); 3] = [
    ("beta", "beta_t", |s, t| Some(s.beta(t))),
    ("abar", "abar_t", |s, t| Some(s.abar(t))),
    ("log_snr", "log-SNR lambda_t", |s, t| s.log_snr(t)),
];

fn curve(s: &NoiseSchedule, f: Series) -> Vec<[f64; 2]> {
    (1..=s.steps())
        .filter_map(|t| f(s, t).map(|v| [t as f64, v]))
        .collect()
}

/// The Schedule tab; it keeps the overlaid presets of the last schedule settings (built
/// once, not every frame).
#[derive(Default)]
pub struct ScheduleView {
    others: Option<(ScheduleSettings, Vec<(String, NoiseSchedule)>)>,
}

impl ScheduleView {
    /// Show the view.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut toggles = ctx.settings.toggles.clone();
        ui.checkbox(
            &mut toggles.overlay_presets,
            "Overlay the other presets (same T and beta range)",
        );
        let h = ui.available_height();
        let current = &ctx.applied.schedule_settings;
        if ctx.settings.toggles.overlay_presets {
            if self.others.as_ref().is_none_or(|(s, _)| s != current) {
                self.others = Some((current.clone(), other_presets(current, ctx.steps())));
            }
        } else {
            self.others = None;
        }
        let others: &[(String, NoiseSchedule)] =
            self.others.as_ref().map_or(&[], |(_, o)| o.as_slice());
        ui.horizontal_top(|ui| {
            let w = (ui.available_width() - TEXT_WIDTH - 16.0).max(200.0);
            ui.vertical(|ui| {
                ui.set_width(w);
                let each = ((h - 30.0) / 3.0 - 8.0).max(80.0);
                for (id, label, f) in SERIES {
                    plot(&format!("schedule_{id}"), "timestep t", label)
                        .height(each)
                        .width(w)
                        .show(ui, |p| {
                            for (k, (name, s)) in others.iter().enumerate() {
                                p.line(
                                    Line::new(name.clone(), curve(s, f))
                                        .color(
                                            PARAM_COLOURS[Parameterisation::ALL[(k + 1) % 4]]
                                                .gamma_multiply(0.8),
                                        )
                                        .style(LineStyle::dashed_dense()),
                                );
                            }
                            p.line(
                                Line::new(
                                    ctx.applied.schedule_label.clone(),
                                    curve(ctx.schedule(), f),
                                )
                                .color(PARAM_COLOURS[Parameterisation::X0])
                                .width(2.0),
                            );
                            p.vline(t_marker(ctx.t));
                        });
                }
            });
            formula_column(ui, TEXT_WIDTH, |ui| text(ui, ctx));
        });
        if toggles == ctx.settings.toggles {
            Vec::new()
        } else {
            vec![Command::SetToggles(toggles)]
        }
    }
}

fn other_presets(current: &ScheduleSettings, steps: usize) -> Vec<(String, NoiseSchedule)> {
    BetaSchedule::ALL
        .into_iter()
        .filter(|p| current.custom.is_some() || *p != current.preset)
        .filter_map(|p| {
            let mut spec = current.clone();
            spec.custom = None;
            spec.preset = p;
            spec.steps = steps;
            let spec: ScheduleSpec = spec.spec();
            spec.build().ok().map(|s| (spec.label(), s))
        })
        .collect()
}

fn text(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let s = ctx.schedule();
    let t = ctx.t;
    let settings = &ctx.applied.schedule_settings;
    ui.strong(&ctx.applied.schedule_label);
    if settings.custom.is_none() {
        formula(ui, settings.preset.formula());
    }
    ui.add_space(6.0);
    formula(ui, "alpha_t = 1 - beta_t");
    formula(ui, "abar_t = prod_{s<=t} alpha_s");
    formula(ui, "SNR(t) = abar_t / (1 - abar_t)");
    formula(ui, "sigma~2_t = (1-abar_{t-1})/(1-abar_t) beta_t");
    ui.add_space(6.0);
    ui.strong(format!("At t = {t}"));
    formula(ui, format!("beta_t = {}", sci(s.beta(t))));
    formula(ui, format!("abar_t = {}", sci(s.abar(t))));
    formula(ui, format!("SNR(t) = {}", sci(s.snr(t))));
    formula(ui, format!("log-SNR = {}", opt(s.log_snr(t))));
    formula(ui, format!("sigma~2_t = {}", sci(s.posterior_variance(t))));
    ui.add_space(6.0);
    formula(ui, format!("abar_T = {}", sci(s.terminal_abar())));
    if s.terminal_abar() == 0.0 {
        ui.label("abar_T = 0: log-SNR at T is undefined (minus infinity) and is not drawn.");
    }
}
