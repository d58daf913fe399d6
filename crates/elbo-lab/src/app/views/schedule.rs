//! The schedule: log-SNR (the main plot), abar_t and beta_t over t, optionally with the
//! other presets overlaid (same T and beta range) and with any number of loaded schedule
//! files (real models' scheduler configs) overlaid by name, on the t axis or on a
//! normalised t / T axis (schedules of different T side by side).

use egui::Ui;
use egui_plot::{Line, LineStyle};

use elbo_core::compare::{CompareTable, TableFormat};
use elbo_core::elbo::Method;
use elbo_core::schedule::{BetaSchedule, Finding, NoiseSchedule, Severity};

use super::super::command::{Command, FileRequest};
use super::super::focus::{self, Target};
use super::super::formula::{self as tex, catalogue, catalogue::label};
use super::super::jobs::Progress;
use super::super::jobs::Want;
use super::super::jobs::compare::{CompareKey, RowKind};
use super::super::model::{Overlay, StatusLine};
use super::super::palette::{Palette, finding_text};
use super::super::plot_util::{LegendEntry, legend_row, plot, sci, t_at, t_marker, within_visible};
use super::super::settings::ScheduleSettings;
use super::ctx::{ViewCtx, formula_column};
use super::editor::DataEditor;
use super::tab::{PlotName, Tab, TabInfo};

/// Below this width (points) the formulas go under the plots instead of beside them.
const STACK_BELOW: f32 = 560.0;
/// The least height of a plot (points): three labelled y ticks need about this.
const MIN_PLOT: f32 = 150.0;
/// The least height of the row of plots on a short view (a projector at a large zoom): two
/// labelled y ticks.
const MIN_ROW_PLOT: f32 = 110.0;

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
/// once, not every frame) and the comparison window's export form.
#[derive(Default)]
pub struct ScheduleView {
    others: Option<(ScheduleSettings, Vec<Drawn>)>,
    export: CompareExport,
    /// The comparison window is open.
    pub compare_open: bool,
}

impl Tab for ScheduleView {
    const INFO: TabInfo = TabInfo {
        name: "Schedule",
        short_name: "Schedule",
        slug: "schedule",
        aliases: &[],
        summary: "The noise schedule: beta_t, abar_t and the signal-to-noise ratio over t",
        help: "The schedule sets how fast the signal fades: beta_t per step, abar_t = prod(1 - beta_s) \
             (Luo eq. 33) and SNR(t) = abar_t / (1 - abar_t). In log-SNR the presets are easy to \
             compare. The findings under the toggles flag schedules that keep signal at t = T (a \
             prior term that is not zero) or destroy it too early. Overlay a real model's \
             scheduler config and \"Compare these schedules...\" puts their NELBOs side by side \
             (by the ELBO tab's method, quadrature), as a table to save.",
    };

    fn plots() -> Vec<PlotName> {
        let mut plots: Vec<PlotName> = Vec::new();
        let mut add = |name: String, label: String| plots.push((name, label));
        for (id, label) in [
            ("beta", "beta_t"),
            ("abar", "abar_t"),
            ("log_snr", "log-SNR"),
        ] {
            add(format!("schedule_{id}"), format!("schedule: {label}"));
        }
        plots
    }

    fn wants(&self, ctx: &ViewCtx<'_>) -> Vec<Want> {
        if self.compare_open {
            vec![Want::Compare(ctx.compare_key())]
        } else {
            Vec::new()
        }
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, _editor: &mut DataEditor) -> Vec<Command> {
        let mut commands = within_visible(ui, |ui| self.body(ui, ctx));
        if self.compare_open {
            let key = ctx.compare_key();
            commands.extend(compare_window(ui.ctx(), ctx, &key, &mut self.export));
        }
        commands
    }
}

impl ScheduleView {
    /// The tab in one scroll area, so a short window (a projector) can scroll the
    /// controls away and show a lesson's numbers and plot together.
    fn body(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let view_h = ui.available_height();
        let focus = ctx.focus();
        let area = (egui::ScrollArea::vertical(), "schedule_tab");
        focus::scroll_area(ui, &focus, area, |ui| self.contents(ui, ctx, view_h))
    }

    /// The tab's contents in a view `view_h` points tall.
    fn contents(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, view_h: f32) -> Vec<Command> {
        let top = ui.cursor().top();
        let width = ui.available_width();
        let mut toggles = ctx.model.settings.toggles.clone();
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
                commands.push(Command::PickFile(FileRequest::OverlaySchedule));
            }
            if ui
                .button("Compare these schedules...")
                .on_hover_text(
                    "A table of the current schedule beside every overlaid schedule file (and the other presets, when they are overlaid) on the current data: log-SNR range, abar_T, prior term L_T, NELBO (by the ELBO tab's method: quadrature) and its difference to the current schedule. The table elbo-lab compare prints; save it as text, CSV or JSON.",
                )
                .clicked()
            {
                commands.push(Command::ShowComparison(true));
            }
            if ctx.model.overlays.len() > 1
                && ui
                    .button("Remove all")
                    .on_hover_text("Remove every overlaid schedule file from the plots.")
                    .clicked()
            {
                commands.push(Command::ClearOverlays);
            }
        });
        findings_lines(ui, ctx);
        overlay_list(ui, ctx, &mut commands);
        let current = &ctx.model.applied.schedule_settings;
        if ctx.model.settings.toggles.overlay_presets {
            if self.others.as_ref().is_none_or(|(s, _)| s != current) {
                self.others = Some((current.clone(), other_presets(current, ctx.steps())));
            }
        } else {
            self.others = None;
        }
        let others: &[Drawn] = self.others.as_ref().map_or(&[], |(_, o)| o.as_slice());
        let band_top = ui.cursor().top();
        readout(ui, ctx, others);
        legend_row(
            ui,
            ctx.model.settings.toggles.legends,
            &legend(ctx, Palette::of_ui(ui), others),
        );
        let gap = ui.spacing().item_spacing;
        // The numbers and the legend over the plots: a short view keeps them in sight with
        // one row of plots.
        let band_h = ui.cursor().top() - band_top;
        let h = view_h - (ui.cursor().top() - top);
        let x_axis = x_name(ctx.model.settings.toggles.normalised_t);
        let mut series = |ui: &mut Ui, i: usize, w: f32, h: f32, x_label: &str| {
            commands.extend(series_plot(ui, ctx, others, i, w, h, x_label));
        };
        if width < STACK_BELOW {
            // Narrow: the plots one under the other at a readable height, then the text.
            ui.vertical(|ui| {
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
            // Shorter still: the three plots in a row, as tall as the view leaves under the
            // numbers and the legend, the text under them.
            let row_h = (view_h - band_h - 2.0 * gap.y).clamp(MIN_ROW_PLOT, MIN_PLOT);
            ui.vertical(|ui| {
                // The width inside the scroll area (its bar takes some).
                let bar = ui.spacing().scroll.allocated_width();
                let third = (ui.available_width() - bar - 2.0 * gap.x) / 3.0;
                ui.horizontal_top(|ui| {
                    for i in 0..SERIES.len() {
                        series(ui, i, third, h.max(row_h), x_axis);
                    }
                });
                text(ui, ctx);
            });
        }
        if toggles != ctx.model.settings.toggles {
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
    let settings = &ctx.model.applied.schedule_settings;
    let current_preset = settings.custom.is_none().then_some(settings.preset);
    let mut entries: Vec<LegendEntry> = Vec::new();
    let current_name = match current_preset {
        Some(p) => format!("{} (selected)", p.name()),
        None => "schedule from file (selected)".to_owned(),
    };
    let (c, style, _) = look(pal, current_preset, true);
    entries.push(LegendEntry::styled(current_name, c, style).tip(format!(
        "{}{}",
        ctx.model.applied.schedule_label,
        current_preset.map_or(String::new(), |p| format!("\n{}", p.formula()))
    )));
    if before_rescaling(settings, ctx.steps()).is_some() {
        entries.push(
            LegendEntry::styled(BEFORE_RESCALING, pal.neutral, LineStyle::dotted_dense()).tip(
                "The same preset and betas before the rescaling to zero terminal SNR (Lin et al. 2023): its abar_T is not 0, so its log-SNR ends at a finite value",
            ),
        );
    }
    for (preset, label, _) in others {
        let (c, style, _) = look(pal, *preset, false);
        let name = preset.map_or("preset", |p| p.name());
        entries.push(LegendEntry::styled(name, c, style).tip(format!(
            "{label}{}",
            preset.map_or(String::new(), |p| format!("\n{}", p.formula()))
        )));
    }
    for (i, o) in ctx.model.overlays.iter().enumerate() {
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
        for (i, o) in ctx.model.overlays.iter().enumerate() {
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
    if ctx.model.overlays.len() > max_rows {
        egui::ScrollArea::vertical()
            .id_salt("schedule_overlays")
            .max_height(max_rows as f32 * row_h)
            .min_scrolled_height(max_rows as f32 * row_h)
            .show(ui, rows);
    } else {
        rows(ui);
    }
    if let Some(e) = &ctx.model.notes.overlay_error {
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
    let settings = &ctx.model.applied.schedule_settings;
    let current_preset = settings.custom.is_none().then_some(settings.preset);
    let (id, label, f) = SERIES[i];
    let norm = ctx.model.settings.toggles.normalised_t;
    let steps = ctx.steps();
    // One y-axis width for the three plots, so their t axes line up when stacked.
    let axis_w = super::super::plot_util::text_width(ui, "-0.0000", &egui::TextStyle::Body)
        + 2.0 * ui.text_style_height(&egui::TextStyle::Body);
    let resp = plot(&format!("schedule_{id}"), x_label, label)
        .y_axis_min_width(axis_w)
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
            for (k, o) in ctx.model.overlays.iter().enumerate() {
                let (c, style) = pal.overlay(k);
                p.line(
                    Line::new(o.name.clone(), curve(&o.schedule, f, norm))
                        .color(c)
                        .style(style)
                        .width(2.0),
                );
            }
            if let Some(before) = before_rescaling(settings, steps) {
                p.line(
                    Line::new(BEFORE_RESCALING, curve(&before, f, norm))
                        .color(pal.neutral)
                        .style(LineStyle::dotted_dense())
                        .width(1.5),
                );
            }
            let (c, style, width) = look(pal, current_preset, true);
            let drawn = curve(ctx.schedule(), f, norm);
            // log-SNR is -inf where abar_t = 0 (a zero-terminal-SNR schedule): said at the
            // curve's end, which a plot cannot reach.
            if let Some(&[x, y]) = drawn.last()
                && f(ctx.schedule(), steps).is_none()
                && ctx.schedule().abar(steps) == 0.0
            {
                p.text(
                    egui_plot::Text::new(
                        "log-SNR at t = T",
                        egui_plot::PlotPoint::new(x, y),
                        egui::RichText::new("falls to -inf at t = T").color(c),
                    )
                    .anchor(egui::Align2::RIGHT_BOTTOM),
                );
            }
            p.line(
                Line::new(ctx.model.applied.schedule_label.clone(), drawn)
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
    focus::mark(ui, Target::Plot(PLOT_IDS[i]), resp.response.rect);
    // A click moves the timeline to the current schedule's t under it.
    if !resp.response.clicked() {
        return None;
    }
    let pos = resp.response.interact_pointer_pos()?;
    let x = resp.transform.value_from_position(pos).x;
    t_at(if norm { x * steps as f64 } else { x }, steps).map(Command::SetT)
}

/// The plots' id names (as `plot_util::plot_id` takes them), in the order of the plots (log-SNR, abar_t, beta_t).
pub const PLOT_IDS: [&str; 3] = [focus::key::LOG_SNR_PLOT, "schedule_abar", "schedule_beta"];

/// The legend's and plots' name of the schedule before a zero-terminal-SNR rescaling.
const BEFORE_RESCALING: &str = "before rescaling";

/// The same preset and betas without the rescaling to zero terminal SNR, when it is on:
/// drawn beside it, so the rescaling is seen (Lin et al. 2023).
fn before_rescaling(settings: &ScheduleSettings, steps: usize) -> Option<NoiseSchedule> {
    if !settings.rescale_zero_snr || settings.custom.is_some() {
        return None;
    }
    let plain = ScheduleSettings {
        rescale_zero_snr: false,
        ..settings.clone()
    };
    plain.spec().build().ok().filter(|s| s.steps() == steps)
}

/// The first t at which `s`'s log-SNR is at or below 0 (where signal and noise are equal).
pub fn log_snr_zero_at(s: &NoiseSchedule) -> Option<usize> {
    (1..=s.steps()).find(|&t| s.log_snr(t).is_none_or(|l| l <= 0.0))
}

/// log-SNR at `t` to two decimals, "-inf" where abar_t = 0 (see
/// [`plot_util::log_snr_text`](super::super::plot_util::log_snr_text)).
pub fn log_snr_text(s: &NoiseSchedule, t: usize) -> String {
    super::super::plot_util::log_snr_text(s, t, |l| format!("{l:.2}"))
}

/// The numbers the plots show, at the timeline's t and where each schedule crosses log-SNR
/// 0 and where its last quarter begins: what a lesson quotes, to be read off the screen.
fn readout(ui: &mut Ui, ctx: &ViewCtx<'_>, others: &[Drawn]) {
    let s = ctx.schedule();
    let (t, steps) = (ctx.t, ctx.steps());
    let abar = s.abar(t);
    let mut first = format!(
        "At t = {t}: abar_t = {}, beta_t = {}, sqrt(abar_t) = {:.1}% of x0, log-SNR = {}",
        sci(abar),
        sci(s.beta(t)),
        100.0 * abar.sqrt(),
        log_snr_text(s, t)
    );
    if let Some(e) = ctx.elbo().filter(|e| e.current) {
        first += &format!("; prior term L_T = {}", sci(e.value.result.prior_loss));
    }
    let quarter = (3 * steps).div_ceil(4).max(1);
    let current = &ctx.model.applied.schedule_settings;
    let name = if current.custom.is_none() {
        current.preset.name().to_owned()
    } else {
        "this schedule".to_owned()
    };
    let mut named: Vec<(String, &NoiseSchedule)> = vec![(name, s)];
    named.extend(
        others
            .iter()
            .map(|(p, label, o)| (p.map_or_else(|| label.clone(), |p| p.name().to_owned()), o)),
    );
    let zero: Vec<String> = named
        .iter()
        .map(|(name, o)| match log_snr_zero_at(o) {
            Some(z) => format!("{name} t = {z}"),
            None => format!("{name} never"),
        })
        .collect();
    let last: Vec<String> = named
        .iter()
        .filter(|(_, o)| o.steps() >= quarter)
        .map(|(name, o)| format!("{name} {}", log_snr_text(o, quarter)))
        .collect();
    let second = format!(
        "log-SNR 0 at: {}; at t = {quarter} (3T/4): {}",
        zero.join(", "),
        last.join(", ")
    );
    focus::readout(ui, Target::Readout(READOUT), |ui| {
        ui.add(egui::Label::new(first).wrap()).on_hover_text(
            "The schedule at the timeline's t: abar_t (the signal x_t keeps, squared), beta_t, sqrt(abar_t) as a share of x0, log-SNR = log(abar_t / (1 - abar_t)) (-inf where abar_t = 0), and the prior term L_T of the ELBO (its value does not depend on t).",
        );
        ui.add(egui::Label::new(second).wrap()).on_hover_text(
            "Where each drawn schedule's log-SNR first reaches 0 (signal and noise equally strong), and its log-SNR where the last quarter of the steps begins.",
        );
    });
}

/// The key of the Schedule tab's line of numbers (see [`focus::Target::Readout`]).
pub const READOUT: &str = focus::key::SCHEDULE;

fn other_presets(current: &ScheduleSettings, steps: usize) -> Vec<Drawn> {
    current
        .other_presets(steps)
        .into_iter()
        .filter_map(|(p, spec)| spec.build().ok().map(|s| (Some(p), spec.label(), s)))
        .collect()
}

fn text(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let s = ctx.schedule();
    let t = ctx.t;
    let settings = &ctx.model.applied.schedule_settings;
    ui.strong(&ctx.model.applied.schedule_label);
    if let Some(c) = ctx.model.settings.config_of(settings) {
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
    // A label column wide enough for its widest formula: a formula never shrinks to fit
    // a column that was measured from itself.
    let label_w = 4.0 * ui.text_style_height(&egui::TextStyle::Body);
    egui::Grid::new("schedule_values")
        .num_columns(2)
        .min_col_width(label_w)
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
            row(
                label::LOG_SNR,
                super::super::plot_util::log_snr_text(s, t, sci),
            );
            row(label::POSTERIOR_VARIANCE, sci(s.posterior_variance(t)));
            row(label::ABAR_T, sci(s.terminal_abar()));
        });
    if s.terminal_abar() == 0.0 {
        ui.label("abar_T = 0: log-SNR at T is -inf; the log-SNR plot says so at its end.");
    }
}

/// The comparison window's export form: the format and the path typed.
struct CompareExport {
    format: TableFormat,
    path: String,
}

impl Default for CompareExport {
    fn default() -> Self {
        let format = TableFormat::default();
        CompareExport {
            format,
            path: std::env::temp_dir()
                .join(format!("elbo-lab-comparison.{}", format.extension()))
                .display()
                .to_string(),
        }
    }
}

impl CompareExport {
    /// Switch to `format`; a path ending in another format's extension takes this one's.
    fn set_format(&mut self, format: TableFormat) {
        let path = std::path::Path::new(self.path.trim());
        let known = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| TableFormat::ALL.iter().any(|f| f.extension() == e));
        if known {
            self.path = path
                .with_extension(format.extension())
                .display()
                .to_string();
        }
        self.format = format;
    }

    /// Format, path, and the save and copy buttons (enabled once the table is in).
    fn ui(&mut self, ui: &mut Ui, ready: bool, commands: &mut Vec<Command>) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Format:");
            for format in TableFormat::ALL {
                let tip = match format {
                    TableFormat::Text => {
                        "Aligned columns to read, then each schedule's notes and findings"
                    }
                    TableFormat::Csv => {
                        "One line per schedule, for a spreadsheet (empty cell = undefined)"
                    }
                    TableFormat::Json => {
                        "One document with every row, its notes and findings (null = undefined)"
                    }
                };
                if ui
                    .radio(self.format == format, format.name())
                    .on_hover_text(tip)
                    .clicked()
                {
                    self.set_format(format);
                }
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Path:");
            let field = ui
                .add(egui::TextEdit::singleline(&mut self.path).desired_width(f32::INFINITY))
                .labelled_by(label.id);
            field.on_hover_text("Where \"Save the table\" writes (no file dialog needed)");
        });
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(ready, |ui| {
                let path = std::path::PathBuf::from(self.path.trim());
                if ui
                    .button("Save the table")
                    .on_hover_text("Write the table to the path above in the chosen format")
                    .on_disabled_hover_text("The table is still being computed")
                    .clicked()
                {
                    commands.push(Command::SaveComparison(path, self.format));
                }
                if ui
                    .button("Save the table as...")
                    .on_hover_text("Pick the file in a save dialog, then write the table")
                    .on_disabled_hover_text("The table is still being computed")
                    .clicked()
                {
                    commands.push(Command::PickFile(FileRequest::SaveComparison(self.format)));
                }
                if ui
                    .button("Copy the table")
                    .on_hover_text("Copy the table in the chosen format to the clipboard")
                    .on_disabled_hover_text("The table is still being computed")
                    .clicked()
                {
                    commands.push(Command::CopyComparison(self.format));
                }
            });
        });
    }
}

/// The colour of a row: the colour of its line in the plots.
fn row_colour(pal: &Palette, kind: RowKind) -> egui::Color32 {
    match kind {
        RowKind::Current(preset) => look(pal, preset, true).0,
        RowKind::Preset(p) => pal.preset(p).0,
        RowKind::Overlay(i) => pal.overlay(i).0,
    }
}

/// The comparison window: what it compares, the table (or its progress, or its error), the
/// notes and findings of each schedule, and the export form.
fn compare_window(
    ectx: &egui::Context,
    ctx: &ViewCtx<'_>,
    key: &CompareKey,
    export: &mut CompareExport,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut open = true;
    let screen = ectx.content_rect();
    egui::Window::new("Compare schedules")
        .open(&mut open)
        .collapsible(false)
        .resizable(true)
        .default_width((screen.width() - 48.0).min(980.0))
        .max_height(screen.height() - 32.0)
        // Over the plots' lower part: the overlay list and its buttons stay in view.
        .pivot(egui::Align2::RIGHT_BOTTOM)
        .default_pos(screen.right_bottom() - egui::vec2(16.0, 48.0))
        .show(ectx, |ui| {
            let pal = Palette::of_ui(ui);
            let outcome = ctx.jobs.compare.of(key).and_then(|s| s.outcome.as_ref());
            ui.add(egui::Label::new(compare_header(ctx, key)).wrap());
            export.ui(ui, outcome.is_some_and(Result::is_ok), &mut commands);
            if let Some(StatusLine { text, error }) = &ctx.model.notes.status {
                let colour = if *error { pal.error } else { pal.info };
                ui.add(egui::Label::new(egui::RichText::new(text).color(colour)).wrap());
            }
            ui.separator();
            match outcome {
                Some(Ok(table)) => {
                    // The table scrolls sideways on its own; the notes below it wrap.
                    egui::ScrollArea::vertical()
                        .id_salt("compare_rows")
                        .auto_shrink([false, true])
                        .show(ui, |ui| {
                            egui::ScrollArea::horizontal()
                                .id_salt("compare_table")
                                .show(ui, |ui| compare_grid(ui, pal, table, &key.kinds));
                            ui.add_space(6.0);
                            compare_notes(ui, pal, table, &key.kinds);
                        });
                }
                Some(Err(e)) => {
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(format!("The comparison failed: {e}"))
                                .color(pal.error),
                        )
                        .wrap(),
                    );
                }
                None => {
                    let Progress { done, total } = ctx.jobs.compare.progress();
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.add(
                            egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                                .desired_width(260.0)
                                .text(format!("{done} / {total} timesteps")),
                        )
                        .on_hover_text(
                            "Timesteps evaluated so far, over every schedule of the table",
                        );
                    });
                }
            }
        });
    if !open {
        commands.push(Command::ShowComparison(false));
    }
    commands
}

/// What the table compares, on what, and how.
fn compare_header(ctx: &ViewCtx<'_>, key: &CompareKey) -> String {
    let how = match key.config.method {
        Method::Quadrature => "NELBO by quadrature, as on the ELBO tab: a difference to the first row is exact up to the two error estimates.".to_owned(),
        Method::MonteCarlo => format!(
            "Monte Carlo (the eq. 45 view): the same N = {} pairs (x0, eps), seed {}, go through every schedule, so a difference to the first row is paired: its standard error is far below the unpaired one.",
            key.config.samples, key.config.seed
        ),
    };
    let mut text = format!(
        "{} schedules on {} (d = {}): the current one first, then {}. Model {}, reverse variance {} for all. {how}",
        key.entries.len(),
        key.data_source,
        key.data.dim(),
        if ctx.model.settings.toggles.overlay_presets {
            "the other presets and the overlaid schedule files"
        } else {
            "the overlaid schedule files"
        },
        key.config.model.name(),
        ctx.model.settings.variance.name(),
    );
    if ctx.model.applied.model.trained.is_some() {
        text.push_str(&format!(
            " A trained network belongs to the schedule it was trained with: the table uses the {} model.",
            key.config.model.name()
        ));
    }
    text
}

/// The columns of the table under `method`: (heading, tooltip). The NELBO and its
/// difference come first, then what tells schedules apart (abar_T, the log-SNR range, T),
/// where a projector's window still shows them; the unpaired standard error only under
/// Monte Carlo (by quadrature there is nothing to pair). By quadrature a value's error is
/// far below its last digit, so the cells give the value alone and the heading says so.
fn columns(method: Method) -> Vec<(&'static str, &'static str)> {
    let (nelbo, diff, unpaired) = match method {
        Method::Quadrature => (
            (
                "NELBO",
                "The negative ELBO of the model under this schedule, nats per point, by quadrature (the ELBO tab's number); its error estimate is written beside it only where it reaches the fourth decimal",
            ),
            (
                "vs first",
                "NELBO minus the first row's, exact up to the two quadrature error estimates (combined; written only where they reach the fourth decimal)",
            ),
            None,
        ),
        Method::MonteCarlo => (
            (
                "NELBO ± s.e.",
                "The negative ELBO of the model under this schedule, nats per point, with its Monte Carlo standard error",
            ),
            (
                "vs first ± paired s.e.",
                "NELBO minus the first row's, on the same (x0, eps) pairs, with the standard error of that paired difference",
            ),
            Some((
                "unpaired s.e.",
                "What the difference's standard error would be on independent samples: sqrt(se^2 + se_first^2)",
            )),
        ),
    };
    let mut out = vec![
        (
            "Schedule",
            "Its name in the plots' legend, in its line's colour",
        ),
        nelbo,
        diff,
    ];
    out.extend(unpaired);
    out.extend(COLUMNS_AFTER);
    out
}

/// The columns after the NELBO's, the same under either method.
const COLUMNS_AFTER: [(&str, &str); 6] = [
    (
        "abar_T",
        "The signal left at t = T; far from 0, the prior term L_T grows",
    ),
    (
        "log-SNR range",
        "lambda_1 .. lambda_T, log(abar_t / (1 - abar_t)) at t = 1 and t = T (-inf where abar_T = 0)",
    ),
    ("T", "Training timesteps"),
    (
        "Prior L_T",
        "KL(q(x_T | x0) || N(0, I)) averaged over the data, exact, nats",
    ),
    (
        "Findings",
        "The sanity checks of the schedule on these data (in full below the table)",
    ),
    (
        "Class",
        "_class_name of a diffusers config (- for a preset or a betas list)",
    ),
];

/// A NELBO (or a difference, `signed`) to four decimals, with its error where it is a
/// Monte Carlo standard error or reaches the fourth decimal.
fn value_cell(value: f64, error: f64, monte_carlo: bool, signed: bool) -> String {
    let v = if signed {
        format!("{value:+.4}")
    } else {
        format!("{value:.4}")
    };
    if monte_carlo || error >= 5e-5 {
        format!("{v} ± {error:.4}")
    } else {
        v
    }
}

fn compare_grid(ui: &mut Ui, pal: &Palette, table: &CompareTable, kinds: &[RowKind]) {
    let lam = |v: Option<f64>| v.map_or("-inf".to_owned(), |x| format!("{x:.2}"));
    egui::Grid::new("compare_grid")
        .striped(true)
        .spacing([14.0, 4.0])
        .show(ui, |ui| {
            for (heading, tip) in columns(table.method) {
                ui.strong(heading).on_hover_text(tip);
            }
            ui.end_row();
            for (i, (r, kind)) in table.rows.iter().zip(kinds).enumerate() {
                let mut tip = r.schedule.clone();
                for n in &r.notes {
                    tip.push_str(&format!("\n{n}"));
                }
                ui.label(
                    egui::RichText::new(&r.name)
                        .color(row_colour(pal, *kind))
                        .strong(),
                )
                .on_hover_text(tip);
                let paired = table.method == Method::MonteCarlo;
                ui.label(value_cell(r.nelbo, r.nelbo_stderr, paired, false));
                if i == 0 {
                    ui.label("(reference)");
                    if paired {
                        ui.label("-");
                    }
                } else {
                    ui.label(value_cell(r.nelbo_diff, r.nelbo_diff_stderr, paired, true));
                    if paired {
                        ui.label(format!("{:.4}", r.nelbo_diff_unpaired_stderr));
                    }
                }
                ui.label(sci(r.terminal_alpha_bar));
                ui.label(format!("{} .. {}", lam(r.log_snr_max), lam(r.log_snr_min)));
                ui.label(r.steps.to_string());
                ui.label(sci(r.prior_loss));
                findings_cell(ui, pal, &r.findings);
                ui.label(r.class.as_deref().unwrap_or("-"));
                ui.end_row();
            }
        });
}

/// The schedule's verdict on the current data, on the tab itself: one line per finding
/// (whole in its tooltip), or that there is none.
fn findings_lines(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let pal = Palette::of_ui(ui);
    let findings = &ctx.model.applied.findings;
    if findings.is_empty() {
        ui.label(
            egui::RichText::new("Findings: none, the schedule looks sane for these data")
                .color(pal.info),
        )
        .on_hover_text("The sanity checks of the current schedule on the current data (terminal SNR, monotone abar, step sizes, the finest scale of the data) found nothing.");
        return;
    }
    for f in findings {
        ui.add(egui::Label::new(finding_text(pal, f)).truncate())
            .on_hover_text(&f.message);
    }
}

/// How many findings of each severity, coloured by the worst; hover lists them.
fn findings_cell(ui: &mut Ui, pal: &Palette, findings: &[Finding]) {
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let infos = findings.len() - warnings;
    let (text, colour) = match (warnings, infos) {
        (0, 0) => ("none".to_owned(), ui.visuals().text_color()),
        (0, n) => (plural(n, "note"), pal.info),
        (w, 0) => (plural(w, "warning"), pal.warning),
        (w, n) => (
            format!("{}, {}", plural(w, "warning"), plural(n, "note")),
            pal.warning,
        ),
    };
    let r = ui.label(egui::RichText::new(text).color(colour));
    if !findings.is_empty() {
        let list: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        r.on_hover_text(list.join("\n"));
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Each schedule's notes (how its config was read) and findings, in full.
fn compare_notes(ui: &mut Ui, pal: &Palette, table: &CompareTable, kinds: &[RowKind]) {
    let count: usize = table
        .rows
        .iter()
        .map(|r| r.notes.len() + r.findings.len())
        .sum();
    let count = count + table.notes.len();
    egui::CollapsingHeader::new(format!("Notes and findings ({count})"))
        .id_salt("compare_notes")
        .default_open(true)
        .show(ui, |ui| {
            for n in &table.notes {
                ui.add(egui::Label::new(egui::RichText::new(n).color(pal.info)).wrap());
            }
            for (r, kind) in table.rows.iter().zip(kinds) {
                ui.label(
                    egui::RichText::new(&r.name)
                        .color(row_colour(pal, *kind))
                        .strong(),
                );
                for n in &r.notes {
                    ui.add(egui::Label::new(format!("note: {n}")).wrap());
                }
                if r.findings.is_empty() {
                    ui.label("no findings: the schedule looks sane for these data");
                }
                for f in &r.findings {
                    let colour = match f.severity {
                        Severity::Warning => pal.warning,
                        Severity::Info => pal.info,
                    };
                    ui.add(egui::Label::new(egui::RichText::new(&f.message).color(colour)).wrap());
                }
            }
        });
}
