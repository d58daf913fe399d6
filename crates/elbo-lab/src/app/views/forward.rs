//! The forward process: 1D, the density river over (t, x) with sample paths and the density
//! at t; 2D, the density of q_t as an image with particles moving.

use egui::Ui;
use egui_plot::{Line, PlotResponse, Points};

use super::super::command::Command;
use super::super::focus::{self, Target};
use super::super::formula::{self as tex, catalogue, catalogue::label};
use super::super::jobs::Want;
use super::super::palette::{DARK, Palette};
use super::super::plot_util::{
    LegendEntry, clicked_t, legend_row_within, plane_plot, plot, sci, t_marker, x_tick_overhang,
};
use super::ctx::{ViewCtx, dimmed_unless, formula_column};
use super::editor::{DataEditor, EditMode};
use super::tab::{PlotName, Tab, TabInfo};

/// The formula column's width: a share of the view, within these bounds.
const TEXT_WIDTH: std::ops::RangeInclusive<f32> = 220.0..=320.0;
/// Ink drawn over the viridis density images: the same in both themes (the images are),
/// so the dark theme's text colour, which reads on all of viridis but its yellow end.
pub const INK_OVER_IMAGE: egui::Color32 = DARK.total;

/// Keep `ui` within what is on screen: a row above that overflowed (a long tab row at a
/// high zoom) widens the panel's layout rect past the window, and plots sized from it
/// would be cut.
pub(super) fn fit_to_screen<R>(ui: &mut Ui, add: impl FnOnce(&mut Ui) -> R) -> R {
    let min = ui.cursor().min;
    let right = ui.max_rect().right().min(ui.clip_rect().right());
    let bottom = ui.max_rect().bottom().min(ui.clip_rect().bottom());
    let rect = egui::Rect::from_min_max(
        min,
        egui::pos2(right.max(min.x + 1.0), bottom.max(min.y + 1.0)),
    );
    ui.scope_builder(egui::UiBuilder::new().max_rect(rect), add)
        .inner
}

/// Name a t plot for assistive technology and tests (its rect is the plot's).
pub(super) fn name_t_plot<R>(plot: &PlotResponse<R>, name: &str) {
    let label = format!("{name}: click to set t");
    plot.response
        .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, &label));
}

/// The Forward process tab (no state of its own).
#[derive(Default)]
pub struct ForwardView;

impl Tab for ForwardView {
    const INFO: TabInfo = TabInfo {
        name: "Forward process",
        short_name: "Forward",
        slug: "forward",
        aliases: &[],
        summary: "The forward process q(x_t | x_0): how noise destroys the data, step by step",
        help: "Left: the data p(x_0), a Gaussian mixture, and where it is at the current t. \
             Each step adds a little Gaussian noise: q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) \
             (Luo eq. 70), so the exact marginal q(x_t) is again a mixture. \
             Watch the structure blur away as t grows: at t = T only N(0, I) is left. \
             In 1D the river shows the whole density over t at once.",
    };

    fn plots() -> Vec<PlotName> {
        let mut plots: Vec<PlotName> = Vec::new();
        let mut add = |name: String, label: String| plots.push((name, label));
        add("river".into(), "river: x_t over t".into());
        add("density_at_t".into(), "density q(x_t) at t (1D)".into());
        add("density_2d".into(), "density q(x_t) at t (2D)".into());
        add("coefficients".into(), "coefficients over t".into());
        plots
    }

    fn shows_data(_ctx: &ViewCtx<'_>) -> bool {
        true
    }

    fn wants(&self, ctx: &ViewCtx<'_>) -> Vec<Want> {
        vec![
            Want::Statics(ctx.statics_key()),
            Want::Fields(ctx.field_key()),
        ]
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, editor: &mut DataEditor) -> Vec<Command> {
        fit_to_screen(ui, |ui| self.contents(ui, ctx, editor))
    }
}

impl ForwardView {
    fn contents(
        &mut self,
        ui: &mut Ui,
        ctx: &ViewCtx<'_>,
        editor: &mut DataEditor,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        let h = ui.available_height();
        let avail = ui.available_width();
        let gap = ui.spacing().item_spacing.x;
        // While the data are edited on a narrow window (a projector with the side panel
        // open) the plots take the formulas' column: the shape being drawn needs the room.
        let formulas = ctx.window.edit_mode == EditMode::Off || avail >= EDIT_FORMULAS_MIN_WIDTH;
        let text_w = if formulas {
            (avail * 0.3).clamp(*TEXT_WIDTH.start(), *TEXT_WIDTH.end())
        } else {
            -gap
        };
        let w = (avail - text_w - 2.0 * gap).max(160.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(w);
                if ctx.dim() == 1 {
                    plots_1d(ui, ctx, w, h, editor, &mut commands);
                } else {
                    plots_2d(ui, ctx, w, h, editor, &mut commands);
                }
            });
            if formulas {
                formula_column(ui, text_w, |ui| text(ui, ctx));
            }
        });
        commands
    }
}

/// The least width (points) of the tab at which the formulas stay beside the plots in the
/// edit mode.
const EDIT_FORMULAS_MIN_WIDTH: f32 = 760.0;

/// The least height (points) of the stacked coefficients plot with its legend.
const MIN_COEFFICIENTS: f32 = 210.0;

/// Heights of two stacked plots sharing `h`: the top one gets `share`, neither under 60.
fn split(ui: &Ui, h: f32, share: f32) -> (f32, f32) {
    let room = (h - 2.0 * ui.spacing().item_spacing.y - 4.0).max(120.0);
    let top = (room * share).max(60.0);
    (top, (room - top).max(60.0))
}

fn plots_1d(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    w: f32,
    h: f32,
    editor: &mut DataEditor,
    commands: &mut Vec<Command>,
) {
    let pal = Palette::of_ui(ui);
    // On a short window the density at t needs a larger share (its legend sits above it),
    // and so does it while the data are edited on it.
    let share = if ctx.window.edit_mode != EditMode::Off {
        0.4
    } else if h < 360.0 {
        0.45
    } else {
        0.58
    };
    let (top_h, bottom_h) = split(ui, h, share);
    let statics = ctx.statics();
    // Drawn through the river's own inputs (its T and box), dimmed if they are older.
    let own = statics.as_ref().map_or(ctx.inputs(), |s| &s.value.inputs);
    let t_max = own.steps();
    let [lo, hi] = own.view_box[0];
    // The label of the last tick (t = T) overhangs the right edge: keep it off the text.
    let overhang = x_tick_overhang(ui, &t_max.to_string());
    let river = dimmed_unless(ui, statics.as_ref().is_none_or(|s| s.current), |ui| {
        plot("river", "timestep t", "x")
            .height(top_h)
            .width(w - overhang)
            .include_x(0.0)
            .include_x(t_max as f64)
            .include_y(lo)
            .include_y(hi)
            .show(ui, |p| {
                if let Some(r) = statics.as_ref().and_then(|s| s.value.river.as_ref()) {
                    let image = r.plot_image(p.ctx(), t_max, lo, hi);
                    p.image(image);
                    for path in &r.paths {
                        p.line(
                            Line::new("forward sample paths", path.clone())
                                .color(INK_OVER_IMAGE.gamma_multiply(0.8))
                                .width(1.0),
                        );
                    }
                }
                p.vline(t_marker(ctx.t));
            })
    });
    name_t_plot(&river, "density river q_t(x) over t");
    focus::mark(ui, Target::Plot("river"), river.response.rect);
    if let Some(t) = clicked_t(&river, ctx.steps()) {
        commands.push(Command::SetT(t));
    }
    let field = ctx.field();
    let plot_h = legend_row_within(
        ui,
        ctx.model.settings.toggles.legends,
        &[
            LegendEntry::line("data $p_0$ (the $x_0$)", pal.param.x0),
            LegendEntry::line("$\\mathcal{N}(0, 1)$ (the $\\epsilon$)", pal.param.eps),
            LegendEntry::line("$q_t$ at the current $t$", pal.total),
        ],
        bottom_h,
    );
    let density = dimmed_unless(ui, field.as_ref().is_none_or(|f| f.current), |ui| {
        editor
            .setup(plot("density_at_t", "x", "density"), ctx)
            .height(plot_h)
            .width(w)
            .show(ui, |p| {
                if let Some(f) = &field
                    && let Some((q, p0)) = &f.value.field.density_1d
                {
                    p.line(Line::new("data p0(x)", p0.clone()).color(pal.param.x0));
                    let normal: Vec<[f64; 2]> = q
                        .iter()
                        .map(|pt| {
                            let x = pt[0];
                            [x, elbo_core::normal::normal_pdf(x, 0.0, 1.0)]
                        })
                        .collect();
                    p.line(Line::new("N(0, 1)", normal).color(pal.param.eps));
                    p.line(
                        Line::new(format!("q_t(x) at t = {}", f.value.field.t), q.clone())
                            .color(pal.total)
                            .width(2.5),
                    );
                }
                editor.draw(p, ctx);
            })
    });
    focus::mark(ui, Target::Plot("density_at_t"), density.response.rect);
    commands.extend(editor.respond(ui, &density, ctx));
}

/// 2D: the density plane (square) and the coefficients over t, side by side when the room
/// is wide (a projector), else stacked.
fn plots_2d(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    w: f32,
    h: f32,
    editor: &mut DataEditor,
    commands: &mut Vec<Command>,
) {
    if w >= 1.3 * h {
        let gap = ui.spacing().item_spacing.x;
        let plane = (w * 0.58).min(h);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(plane);
                density_plane(ui, ctx, plane, plane, editor, commands);
            });
            ui.vertical(|ui| {
                let rest = w - plane - gap;
                ui.set_width(rest);
                coefficients(ui, ctx, rest, h, commands);
            });
        });
    } else {
        // The square plane needs no more height than its width, and leaves the
        // coefficients (their legend may take three rows) a readable height.
        let (top_h, bottom_h) = split(ui, h, 0.6);
        let room = top_h + bottom_h;
        let square = top_h.min(w).min((room - MIN_COEFFICIENTS).max(0.55 * room));
        let bottom_h = bottom_h + (top_h - square);
        let top_h = square;
        density_plane(ui, ctx, w, top_h, editor, commands);
        coefficients(ui, ctx, w, bottom_h, commands);
    }
}

/// The density of q_t at t as an image, with the particles, in `w` x `h`.
fn density_plane(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    w: f32,
    h: f32,
    editor: &mut DataEditor,
    commands: &mut Vec<Command>,
) {
    let t = ctx.t;
    let vb = ctx.inputs().view_box;
    let field = ctx.field();
    let statics = ctx.statics();
    let current =
        field.as_ref().is_none_or(|f| f.current) && statics.as_ref().is_none_or(|s| s.current);
    let plane = dimmed_unless(ui, current, |ui| {
        editor
            .setup(plane_plot("density_2d", vb), ctx)
            .height(h)
            .width(w)
            .show(ui, |p| {
                if let Some(f) = &field {
                    f.value.draw_density(p);
                }
                if let Some(st) = &statics {
                    // The particles' own schedule moves them (its T may differ from now).
                    let own = &st.value.inputs.schedule;
                    let tt = t.min(own.steps());
                    let (sa, sn) = (own.abar(tt).sqrt(), own.one_minus_abar(tt).sqrt());
                    let parts = &st.value.particles;
                    let pts: Vec<[f64; 2]> = parts
                        .x0
                        .rows()
                        .into_iter()
                        .zip(parts.eps.rows())
                        .map(|(x, e)| [sa * x[0] + sn * e[0], sa * x[1] + sn * e[1]])
                        .collect();
                    p.points(
                        Points::new(format!("particles x_t at t = {tt}"), pts)
                            .radius(1.5)
                            .color(INK_OVER_IMAGE),
                    );
                }
                editor.draw(p, ctx);
            })
    });
    commands.extend(editor.respond(ui, &plane, ctx));
}

/// The signal and noise coefficients over t with their legend, in `w` x `h`.
fn coefficients(ui: &mut Ui, ctx: &ViewCtx<'_>, w: f32, h: f32, commands: &mut Vec<Command>) {
    let pal = Palette::of_ui(ui);
    let t = ctx.t;
    let s = ctx.schedule();
    let coeff = |f: &dyn Fn(usize) -> f64| -> Vec<[f64; 2]> {
        (1..=s.steps()).map(|k| [k as f64, f(k)]).collect()
    };
    let plot_h = legend_row_within(
        ui,
        ctx.model.settings.toggles.legends,
        &[
            LegendEntry::line("signal $\\sqrt{\\bar\\alpha_t}$", pal.param.x0),
            LegendEntry::line("noise $\\sqrt{1 - \\bar\\alpha_t}$", pal.param.eps),
            LegendEntry::t_marker(),
        ],
        h,
    );
    let overhang = x_tick_overhang(ui, &s.steps().to_string());
    let coefficients = plot("coefficients", "timestep t", "coefficient")
        .height(plot_h)
        .width(w - overhang)
        .show(ui, |p| {
            p.line(
                Line::new("signal sqrt(abar_t)", coeff(&|k| s.abar(k).sqrt())).color(pal.param.x0),
            );
            p.line(
                Line::new(
                    "noise sqrt(1 - abar_t)",
                    coeff(&|k| s.one_minus_abar(k).sqrt()),
                )
                .color(pal.param.eps),
            );
            p.vline(t_marker(t));
        });
    name_t_plot(&coefficients, "coefficients over t");
    if let Some(t) = clicked_t(&coefficients, ctx.steps()) {
        commands.push(Command::SetT(t));
    }
}

fn text(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let t = ctx.t;
    let s = ctx.schedule();
    let (sa, sn) = (s.abar(t).sqrt(), s.one_minus_abar(t).sqrt());
    ui.horizontal_wrapped(|ui| {
        ui.strong("The forward process");
        tex::show(ui, r"q(x_t \mid x_0)");
    });
    tex::show(ui, catalogue::FORWARD);
    tex::rich(
        ui,
        &format!(
            r"at $t = {t}$: $x_t =$ {} $x_0$ + {} $\epsilon$",
            sci(sa),
            sci(sn)
        ),
    );
    ui.add_space(6.0);
    ui.strong("Marginal (exact, a mixture again)");
    tex::show(ui, catalogue::MARGINAL_MIXTURE);
    for (symbol, value) in [
        (label::ABAR, s.abar(t)),
        (label::ONE_MINUS_ABAR, s.one_minus_abar(t)),
    ] {
        ui.horizontal(|ui| {
            tex::show(ui, symbol);
            ui.label(format!("= {}", sci(value)));
        });
    }
    ui.add_space(6.0);
    tex::rich(
        ui,
        if ctx.dim() == 1 {
            r"Top: the density river, each column $q_t(x)$ scaled to its peak, with forward Markov chains $x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{\beta_t}\, z$. Bottom: $q_t$ at the current $t$ against the data $p_0$ and $\mathcal{N}(0, 1)$."
        } else {
            r"Top: the density of $q_t$ at the current $t$, with particles $x_t$ built from fixed $(x_0, \epsilon)$ pairs. Bottom: the two coefficients over $t$."
        },
    );
    tex::rich(
        ui,
        &format!(
            r"At $t = T = {}$, $q_T$ is $\mathcal{{N}}(0, I)$ up to $\bar\alpha_T =$ {}.",
            s.steps(),
            sci(s.terminal_abar())
        ),
    );
}
