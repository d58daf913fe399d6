//! The schedule: log-SNR (the main plot), abar_t and beta_t over t, optionally with the
//! other presets overlaid (same T and beta range) and with any number of loaded schedule
//! files (real models' scheduler configs) overlaid by name, on the t axis or on a
//! normalised t / T axis (schedules of different T side by side).

use egui::Ui;
use egui_plot::{Line, LineStyle};

use crate::schedule::{BetaSchedule, NoiseSchedule, ScheduleSpec};

use super::super::Overlay;
use super::super::command::Command;
use super::super::formula::{self as tex, catalogue, catalogue::label};
use super::super::palette::Palette;
use super::super::plot_util::{
    LegendEntry, legend_row, opt, plot, sci, t_at, t_marker, within_visible,
};
use super::super::settings::ScheduleSettings;
use super::{ViewCtx, formula_column};

/// Below this width (points) the formulas go under the plots instead of beside them.
const STACK_BELOW: f32 = 560.0;
/// The least height of a plot (points): three labelled y ticks need about this.
const MIN_PLOT: f32 = 150.0;

type Series = fn(&NoiseSchedule, usize) -> Option<f64>;

/// The plots, the main one (log-SNR, all the ELBO depends on) first.
const SERIES: [(&str, &str, Series); 3] = [
    ("log_snr", "log-SNR", |s, t| s.log_snr(t)),
    ("abar", "abar_t", |s, t| Some(s.abar(t))),
    ("beta", "beta_t", |s, t| Some(s.beta(t))),
];

/// The x axis's name on the t axis and on the normalised one.
fn x_name(normalised: bool) -> &'static str {
    if normalised {
        "t / T (normalised)"
    } else {
        "timestep t"
    }
}

/// Series `f` of `s` over t (or over t / T when `normalised`); undefined values (log-SNR
/// where abar_t = 0) are left out.
fn curve(s: &NoiseSchedule, f: Series, normalised: bool) -> Vec<[f64; 2]> {
    let steps = s.steps() as f64;
    (1..=s.steps())
        .filter_map(|t| {
            let x = if normalised {
                t as f64 / steps
            } else {
                t as f64
            };
            f(s, t).map(|v| [x, v])
        })
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
        let mut commands = Vec::new();
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(
                &mut toggles.overlay_presets,
                "Overlay the other presets (same T and beta range)",
            )
            .on_hover_text(
                "Draw every schedule preset (linear, scaled_linear, squaredcos_cap_v2, sigmoid) with the current T and beta_start..beta_end, each in its own colour and dash, to compare beta_t, abar_t and log-SNR over t.",
            );
            ui.checkbox(&mut toggles.normalised_t, "Normalised axis t / T")
                .on_hover_text(
                    "Draw every schedule over t / T from 0 to 1 instead of over t, so schedules of different T (a 1000-step config beside a 50-step preset) line up from start to end.",
                );
            ui.checkbox(&mut toggles.drop_overlays, "Overlay dropped schedule files")
                .on_hover_text(
                    "On: a scheduler_config.json or betas list dropped onto the window is overlaid here, beside the current schedule. Off: it replaces the current schedule.",
                );
            if ui
                .button("Overlay a schedule file...")
                .on_hover_text(
                    "Pick a scheduler_config.json (a real model's schedule) or a betas list and draw it here beside the current schedule, in its own colour and dash. The side panel's schedule path field has an \"Overlay in the Schedule tab\" button too, and dropped files are overlaid when \"Overlay dropped schedule files\" is on.",
                )
                .clicked()
            {
                commands.push(Command::PickOverlaySchedule);
            }
            if ctx.overlays.len() > 1
                && ui
                    .button("Remove all")
                    .on_hover_text("Remove every overlaid schedule file from the plots.")
                    .clicked()
            {
                commands.push(Command::ClearOverlays);
            }
        });
        overlay_list(ui, ctx, &mut commands);
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
        let x_axis = x_name(ctx.settings.toggles.normalised_t);
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
                        series(ui, i, w, each, x_axis);
                    }
                    text(ui, ctx);
                });
        } else if h >= 3.0 * (MIN_PLOT + gap.y) {
            // Tall: the plots one under the other, the text beside them; the main plot
            // (log-SNR) twice as tall as the others when there is the room.
            let text_w = (width * 0.34).clamp(240.0, 300.0);
            let w = width - text_w - 2.0 * gap.x;
            let room = h - 3.0 * gap.y;
            let main_share = if room >= 4.0 * MIN_PLOT {
                0.5
            } else {
                1.0 / 3.0
            };
            let height = |i: usize| {
                if i == 0 {
                    room * main_share
                } else {
                    room * (1.0 - main_share) / 2.0
                }
            };
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    for i in 0..SERIES.len() {
                        // The bottom plot names the shared t axis.
                        let x_label = if i + 1 == SERIES.len() { x_axis } else { "" };
                        series(ui, i, w, height(i), x_label);
                    }
                });
                formula_column(ui, text_w, |ui| text(ui, ctx));
            });
        } else if h >= 2.0 * (MIN_PLOT + gap.y) {
            // Short (a projector): two plots a row, the text in the fourth place.
            let half_w = (width - gap.x) / 2.0;
            let half_h = (h - gap.y) / 2.0;
            ui.horizontal_top(|ui| {
                series(ui, 0, half_w, half_h, x_axis);
                series(ui, 1, half_w, half_h, x_axis);
            });
            ui.horizontal_top(|ui| {
                series(ui, 2, half_w, half_h, x_axis);
                formula_column(ui, half_w, |ui| text(ui, ctx));
            });
        } else {
            // Shorter still: the three plots in a row, the text under them.
            egui::ScrollArea::vertical()
                .id_salt("schedule_row")
                .show(ui, |ui| {
                    // The width inside the scroll area (its bar takes some).
                    let bar = ui.spacing().scroll.allocated_width();
                    let third = (ui.available_width() - bar - 2.0 * gap.x) / 3.0;
                    ui.horizontal_top(|ui| {
                        for i in 0..SERIES.len() {
                            series(ui, i, third, h.max(MIN_PLOT), x_axis);
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
    for (i, o) in ctx.overlays.iter().enumerate() {
        let (c, style) = pal.overlay(i);
        entries.push(LegendEntry::styled(o.name.clone(), c, style).tip(overlay_tip(o)));
    }
    entries.push(LegendEntry::t_marker());
    entries
}

/// What an overlay is, for its tooltips.
fn overlay_tip(o: &Overlay) -> String {
    let mut tip = format!("{}\n{}", o.path.display(), o.label);
    if let Some(c) = &o.class_name {
        tip.push_str(&format!("\nclass {c}"));
    }
    if let Some(p) = &o.prediction_type {
        tip.push_str(&format!("\nprediction_type {p}"));
    }
    tip
}

/// The overlaid schedule files, one entry each (name, class, T, a remove button), the
/// buttons that add one, and the last overlay error.
fn overlay_list(ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
    let pal = Palette::of_ui(ui);
    // A row is a button's height (its text and padding, at least the interact size).
    let button_h =
        ui.text_style_height(&egui::TextStyle::Button) + 2.0 * ui.spacing().button_padding.y;
    let row_h = button_h.max(ui.spacing().interact_size.y) + ui.spacing().item_spacing.y;
    let mut rows = |ui: &mut Ui| {
        for (i, o) in ctx.overlays.iter().enumerate() {
            ui.horizontal(|ui| {
                let r = ui
                    .button("Remove")
                    .on_hover_text(format!("Remove {} from the plots", o.name));
                let name = format!("Remove {}", o.name);
                ui.ctx()
                    .accesskit_node_builder(r.id, |node| node.set_label(name));
                if r.clicked() {
                    commands.push(Command::RemoveOverlay(i));
                }
                let (c, _) = pal.overlay(i);
                let class = o.class_name.as_deref().unwrap_or("betas list");
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(format!(
                            "{}: {class}, T = {}",
                            o.name,
                            o.schedule.steps()
                        ))
                        .color(c),
                    )
                    .truncate(),
                )
                .on_hover_text(overlay_tip(o));
            });
        }
    };
    // Many overlays scroll in three rows (one on a short view): the plots keep the room.
    let max_rows = if ui.available_height() < 450.0 { 2 } else { 3 };
    if ctx.overlays.len() > max_rows {
        egui::ScrollArea::vertical()
            .id_salt("schedule_overlays")
            .max_height(max_rows as f32 * row_h)
            .min_scrolled_height(max_rows as f32 * row_h)
            .show(ui, rows);
    } else {
        rows(ui);
    }
    if let Some(e) = &ctx.notes.overlay_error {
        ui.add(
            egui::Label::new(egui::RichText::new(format!("Error: {e}")).color(pal.error)).wrap(),
        );
    }
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
    let norm = ctx.settings.toggles.normalised_t;
    let steps = ctx.steps();
    let resp = plot(&format!("schedule_{id}"), x_label, label)
        .height(h)
        .width(w)
        .show(ui, |p| {
            for (preset, name, s) in others {
                let (c, style, width) = look(pal, *preset, false);
                p.line(
                    Line::new(name.clone(), curve(s, f, norm))
                        .color(c)
                        .style(style)
                        .width(width),
                );
            }
            for (k, o) in ctx.overlays.iter().enumerate() {
                let (c, style) = pal.overlay(k);
                p.line(
                    Line::new(o.name.clone(), curve(&o.schedule, f, norm))
                        .color(c)
                        .style(style)
                        .width(2.0),
                );
            }
            let (c, style, width) = look(pal, current_preset, true);
            p.line(
                Line::new(
                    ctx.applied.schedule_label.clone(),
                    curve(ctx.schedule(), f, norm),
                )
                .color(c)
                .style(style)
                .width(width),
            );
            let mut marker = t_marker(ctx.t);
            if norm {
                marker = egui_plot::VLine::new(
                    format!(
                        "current t = {} (t / T = {})",
                        ctx.t,
                        ctx.t as f64 / steps as f64
                    ),
                    ctx.t as f64 / steps as f64,
                )
                .color(super::super::palette::NEUTRAL_MARKER)
                .style(LineStyle::dashed_loose())
                .width(1.5);
            }
            p.vline(marker);
        });
    // A click moves the timeline to the current schedule's t under it.
    if !resp.response.clicked() {
        return None;
    }
    let pos = resp.response.interact_pointer_pos()?;
    let x = resp.transform.value_from_position(pos).x;
    t_at(if norm { x * steps as f64 } else { x }, steps).map(Command::SetT)
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
    if let Some(c) = ctx.settings.config_of(settings) {
        let mut said = format!("From {}", c.name);
        if let Some(class) = &c.class_name {
            said.push_str(&format!(" ({class})"));
        }
        if let Some(p) = &c.prediction_type {
            said.push_str(&format!("; prediction_type {p}"));
        }
        ui.label(said);
    }
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
