//! The schedule: beta_t, abar_t and log-SNR over t, optionally with the other presets
//! overlaid (same T and beta range) to compare them on one plot.

use egui::Ui;
use egui_plot::{Line, LineStyle};

use crate::schedule::{BetaSchedule, NoiseSchedule, ScheduleSpec};

use super::super::command::Command;
use super::super::formula::{self as tex, catalogue, catalogue::label};
use super::super::palette::Palette;
use super::super::plot_util::{
    LegendEntry, clicked_t, legend_row, opt, plot, sci, t_marker, within_visible,
};
use super::super::settings::ScheduleSettings;
use super::{ViewCtx, formula_column};

/// Below this width (points) the formulas go under the plots instead of beside them.
const STACK_BELOW: f32 = 560.0;
/// The least height of a plot (points): three labelled y ticks need about this.
const MIN_PLOT: f32 = 150.0;

type Series = fn(&NoiseSchedule, usize) -> Option<f64>;

const SERIES: [(&str, &str, Series); 3] = [
    ("beta", "beta_t", |s, t| Some(s.beta(t))),
    ("abar", "abar_t", |s, t| Some(s.abar(t))),
    ("log_snr", "log-SNR", |s, t| s.log_snr(t)),
];

fn curve(s: &NoiseSchedule, f: Series) -> Vec<[f64; 2]> {
    (1..=s.steps())
        .filter_map(|t| f(s, t).map(|v| [t as f64, v]))
        .collect()
}

/// A drawn schedule: its preset (`None`: a schedule from a file), label and schedule.
type Drawn = (Option<BetaSchedule>, String, NoiseSchedule);

/// The Schedule tab; it keeps the overlaid presets of the last schedule settings (built
/// once, not every frame).
#[derive(Default)]
pub struct ScheduleView {
    others: Option<(ScheduleSettings, Vec<Drawn>)>,
}

impl ScheduleView {
    /// Show the view.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        within_visible(ui, |ui| self.body(ui, ctx))
    }

    fn body(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let width = ui.available_width();
        let mut toggles = ctx.settings.toggles.clone();
        ui.checkbox(
            &mut toggles.overlay_presets,
            "Overlay the other presets (same T and beta range)",
        )
        .on_hover_text(
            "Draw every schedule preset (linear, scaled_linear, squaredcos_cap_v2, sigmoid) with the current T and beta_start..beta_end, each in its own colour and dash, to compare beta_t, abar_t and log-SNR over t.",
        );
        let current = &ctx.applied.schedule_settings;
        if ctx.settings.toggles.overlay_presets {
            if self.others.as_ref().is_none_or(|(s, _)| s != current) {
                self.others = Some((current.clone(), other_presets(current, ctx.steps())));
            }
        } else {
            self.others = None;
        }
        let others: &[Drawn] = self.others.as_ref().map_or(&[], |(_, o)| o.as_slice());
        legend_row(
            ui,
            ctx.settings.toggles.legends,
            &legend(ctx, Palette::of_ui(ui), others),
        );
        let gap = ui.spacing().item_spacing;
        let h = ui.available_height();
        let mut commands = Vec::new();
        let mut series = |ui: &mut Ui, i: usize, w: f32, h: f32, x_label: &str| {
            commands.extend(series_plot(ui, ctx, others, i, w, h, x_label));
        };
        if width < STACK_BELOW {
            // Narrow: the plots one under the other at a readable height, then the text.
            egui::ScrollArea::vertical()
                .id_salt("schedule_stacked")
                .show(ui, |ui| {
                    let w = ui.available_width();
                    let each = ((h - 3.0 * gap.y) / 3.0).max(MIN_PLOT);
                    for i in 0..SERIES.len() {
                        series(ui, i, w, each, "timestep t");
                    }
                    text(ui, ctx);
                });
        } else if h >= 3.0 * (MIN_PLOT + gap.y) {
            // Tall: the plots one under the other, the text beside them.
            let text_w = (width * 0.34).clamp(240.0, 300.0);
            let w = width - text_w - 2.0 * gap.x;
            let each = (h - 3.0 * gap.y) / 3.0;
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    for i in 0..SERIES.len() {
                        // The bottom plot names the shared t axis.
                        let x_label = if i + 1 == SERIES.len() {
                            "timestep t"
                        } else {
                            ""
                        };
                        series(ui, i, w, each, x_label);
                    }
                });
                formula_column(ui, text_w, |ui| text(ui, ctx));
            });
        } else if h >= 2.0 * (MIN_PLOT + gap.y) {
            // Short (a projector): two plots a row, the text in the fourth place.
            let half_w = (width - gap.x) / 2.0;
            let half_h = (h - gap.y) / 2.0;
            ui.horizontal_top(|ui| {
                series(ui, 0, half_w, half_h, "timestep t");
                series(ui, 1, half_w, half_h, "timestep t");
            });
            ui.horizontal_top(|ui| {
                series(ui, 2, half_w, half_h, "timestep t");
                formula_column(ui, half_w, |ui| text(ui, ctx));
            });
        } else {
            // Shorter still: the three plots in a row, the text under them.
            egui::ScrollArea::vertical()
                .id_salt("schedule_row")
                .show(ui, |ui| {
                    let third = (width - 2.0 * gap.x) / 3.0;
                    ui.horizontal_top(|ui| {
                        for i in 0..SERIES.len() {
                            series(ui, i, third, h.max(MIN_PLOT), "timestep t");
                        }
                    });
                    text(ui, ctx);
                });
        }
        if toggles != ctx.settings.toggles {
            commands.push(Command::SetToggles(toggles));
        }
        commands
    }
}

/// Colour, dash and width of a schedule: a preset keeps its colour and dash whether
/// selected or not (the selected one is drawn thicker); a schedule from a file is drawn in
/// the text colour.
fn look(
    pal: &Palette,
    preset: Option<BetaSchedule>,
    selected: bool,
) -> (egui::Color32, LineStyle, f32) {
    let (colour, style) = preset.map_or((pal.total, LineStyle::Solid), |p| pal.preset(p));
    (colour, style, if selected { 3.0 } else { 1.5 })
}

/// The legend of the schedule plots: the selected schedule, the overlaid presets, t.
fn legend(ctx: &ViewCtx<'_>, pal: &Palette, others: &[Drawn]) -> Vec<LegendEntry> {
    let settings = &ctx.applied.schedule_settings;
    let current_preset = settings.custom.is_none().then_some(settings.preset);
    let mut entries: Vec<LegendEntry> = Vec::new();
    let current_name = match current_preset {
        Some(p) => format!("{} (selected)", p.name()),
        None => "schedule from file (selected)".to_owned(),
    };
    let (c, style, _) = look(pal, current_preset, true);
    entries.push(LegendEntry::styled(current_name, c, style).tip(format!(
        "{}{}",
        ctx.applied.schedule_label,
        current_preset.map_or(String::new(), |p| format!("\n{}", p.formula()))
    )));
    for (preset, label, _) in others {
        let (c, style, _) = look(pal, *preset, false);
        let name = preset.map_or("preset", |p| p.name());
        entries.push(LegendEntry::styled(name, c, style).tip(format!(
            "{label}{}",
            preset.map_or(String::new(), |p| format!("\n{}", p.formula()))
        )));
    }
    entries.push(LegendEntry::t_marker());
    entries
}

/// Plot `i` of [`SERIES`] over t in `w` x `h`; a click on it asks to move the timeline.
fn series_plot(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    others: &[Drawn],
    i: usize,
    w: f32,
    h: f32,
    x_label: &str,
) -> Option<Command> {
    let pal = Palette::of_ui(ui);
    let settings = &ctx.applied.schedule_settings;
    let current_preset = settings.custom.is_none().then_some(settings.preset);
    let (id, label, f) = SERIES[i];
    let resp = plot(&format!("schedule_{id}"), x_label, label)
        .height(h)
        .width(w)
        .show(ui, |p| {
            for (preset, name, s) in others {
                let (c, style, width) = look(pal, *preset, false);
                p.line(
                    Line::new(name.clone(), curve(s, f))
                        .color(c)
                        .style(style)
                        .width(width),
                );
            }
            let (c, style, width) = look(pal, current_preset, true);
            p.line(
                Line::new(ctx.applied.schedule_label.clone(), curve(ctx.schedule(), f))
                    .color(c)
                    .style(style)
                    .width(width),
            );
            p.vline(t_marker(ctx.t));
        });
    clicked_t(&resp, ctx.steps()).map(Command::SetT)
}

fn other_presets(current: &ScheduleSettings, steps: usize) -> Vec<Drawn> {
    BetaSchedule::ALL
        .into_iter()
        .filter(|p| current.custom.is_some() || *p != current.preset)
        .filter_map(|p| {
            let mut spec = current.clone();
            spec.custom = None;
            spec.preset = p;
            spec.steps = steps;
            let spec: ScheduleSpec = spec.spec();
            spec.build().ok().map(|s| (Some(p), spec.label(), s))
        })
        .collect()
}

fn text(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let s = ctx.schedule();
    let t = ctx.t;
    let settings = &ctx.applied.schedule_settings;
    ui.strong(&ctx.applied.schedule_label);
    if settings.custom.is_none() {
        tex::show(ui, catalogue::schedule(settings.preset));
    }
    ui.add_space(6.0);
    for f in [
        catalogue::ALPHA,
        catalogue::ABAR,
        catalogue::SNR,
        catalogue::LOG_SNR,
        catalogue::POSTERIOR_VARIANCE,
    ] {
        tex::show(ui, f);
    }
    ui.add_space(6.0);
    ui.strong(format!("At t = {t}"));
    egui::Grid::new("schedule_values")
        .num_columns(2)
        .spacing([10.0, 2.0])
        .show(ui, |ui| {
            let mut row = |name: &str, value: String| {
                tex::show(ui, name);
                ui.label(value);
                ui.end_row();
            };
            row(label::BETA, sci(s.beta(t)));
            row(label::ABAR, sci(s.abar(t)));
            row(label::SNR, sci(s.snr(t)));
            row(label::LOG_SNR, opt(s.log_snr(t)));
            row(label::POSTERIOR_VARIANCE, sci(s.posterior_variance(t)));
            row(label::ABAR_T, sci(s.terminal_abar()));
        });
    if s.terminal_abar() == 0.0 {
        ui.label("abar_T = 0: log-SNR at T is undefined (minus infinity) and is not drawn.");
    }
}
