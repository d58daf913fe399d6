//! Part 1 of the Denoising step tab: Tweedie's formula (Luo eq. 133-135).
//!
//! The optimal denoiser's `E[x0 | x_t]` at the timeline's t, computed two ways by
//! [`elbo_core::denoiser::tweedie`]: from the posterior's responsibilities, and through the
//! score, `(x_t + (1 - abar_t) grad log q_t(x_t)) / sqrt(abar_t)`. 1D: the map
//! `x_t -> E[x0 | x_t]` against the identity, over the density of `x_t`, with the data's
//! modes it pulls toward. 2D: arrows from `x_t` to `E[x0 | x_t]` over the density image.
//! A readout says how far apart the two computations are (rounding) or that the score form
//! is undefined (`abar_t = 0`). Everything is closed form, computed on the UI thread and
//! kept while the data, schedule, box and t stay.

use std::sync::Arc;

use egui::{RichText, Ui};
use egui_plot::{Arrows, FilledArea, HLine, Line, LineStyle, MarkerShape, Points};
use elbo_core::denoiser::tweedie;
use elbo_core::mixture::GaussianMixture;
use elbo_core::param::{Coeffs, Parameterisation};
use elbo_core::schedule::NoiseSchedule;
use ndarray::Array2;

use super::super::super::command::Command;
use super::super::super::compute::{ARROW_GRID, CURVE_POINTS};
use super::super::super::focus::{self, Target};
use super::super::super::formula::{self as tex, catalogue, catalogue::label};
use super::super::super::jobs::Want;
use super::super::super::palette::Palette;
use super::super::super::plot_util::{LegendEntry, legend_row_within, plane_plot, plot, sci};
use super::super::ctx::{ViewCtx, dimmed_unless, formula_column};

/// The plot's id name.
pub const PLOT: &str = "tweedie";

/// The key of the readout line (see [`Target::Readout`]).
pub const READOUT: &str = focus::key::TWEEDIE;

/// 1D: a marker of the score form on every this many points of the curve.
const MARKER_EVERY: usize = 10;
/// 1D: the height of the scaled density band, as a share of the plot's y range.
const DENSITY_SHARE: f64 = 0.3;
/// 2D: arrows are drawn where q_t is at least this share of its largest value on the grid.
const NEGLIGIBLE: f64 = 1e-2;
/// The least width (points) at which the formulas stand beside the plot; under it they go
/// below it.
const BESIDE_MIN_WIDTH: f32 = 600.0;
/// The formula column's width: a share of the view, within these bounds.
const TEXT_WIDTH: std::ops::RangeInclusive<f32> = 220.0..=320.0;
/// The height (points) kept for the formulas under the plot when they go below it.
const FORMULAS_BELOW: f32 = 190.0;
/// The least height (points) of the legend and plot above the formulas when they go below
/// it; on a shorter view the figure takes the whole height and the formulas scroll.
const MIN_STACKED: f32 = 240.0;
/// The least plot height (points).
const MIN_PLOT: f32 = 100.0;

/// The part's own state: the last computation, kept while its inputs and t stay.
#[derive(Default)]
pub struct TweedieState {
    cache: Option<Cached>,
}

/// What the computation was of (the shared data and schedule are held, so a newer object
/// at the same address cannot be mistaken for them), and its result.
struct Cached {
    data: Arc<GaussianMixture>,
    schedule: Arc<NoiseSchedule>,
    t: usize,
    view_box: [[f64; 2]; 2],
    drawn: Drawn,
}

/// What the part draws at one t.
struct Drawn {
    /// 1D: `(x_t, E[x0 | x_t])` from the posterior.
    curve: Vec<[f64; 2]>,
    /// 1D: `(x_t, E[x0 | x_t])` through the score on every [`MARKER_EVERY`]-th point;
    /// 2D: the arrows' tips through the score. Empty where undefined.
    via_score: Vec<[f64; 2]>,
    /// 1D: the scaled density of `x_t` as a band: its xs, bottom and top.
    density: (Vec<f64>, Vec<f64>, Vec<f64>),
    /// 2D: arrow origins `x_t` (where q_t is not negligible).
    origins: Vec<[f64; 2]>,
    /// 2D: arrow tips `E[x0 | x_t]` from the posterior.
    tips: Vec<[f64; 2]>,
    /// The largest relative difference of the two forms over every point computed.
    max_rel_diff: Option<f64>,
    /// `abar_t`.
    abar: f64,
    /// How many points the difference is over.
    points: usize,
}

/// The work the part wants: the density image of q_t in 2D (1D draws its own density).
pub fn wants(ctx: &ViewCtx<'_>) -> Vec<Want> {
    if ctx.dim() == 2 {
        vec![Want::Fields(ctx.field_key())]
    } else {
        Vec::new()
    }
}

/// Draw the part.
pub fn ui(ui: &mut Ui, ctx: &ViewCtx<'_>, state: &mut TweedieState) -> Vec<Command> {
    let t = ctx.t.clamp(1, ctx.steps());
    let drawn = state.drawn(ctx, t);
    let pal = Palette::of_ui(ui);
    focus::readout(ui, Target::Readout(READOUT), |ui| {
        let text = readout_text(t, drawn);
        let colour = if drawn.max_rel_diff.is_some() {
            ui.visuals().text_color()
        } else {
            pal.warning
        };
        ui.add(egui::Label::new(RichText::new(text).color(colour)).wrap())
            .on_hover_text(
                "The optimal denoiser's E[x0 | x_t] computed two ways at the timeline's t: from the posterior (each component's mean weighted by its responsibility) and from the score through Tweedie's formula (Luo eq. 133-135). The number is their largest difference over the plotted points, divided by the data's scale (the larger of the largest |E[x0 | x_t]| and the data's largest standard deviation): rounding, as the two are the same function.",
            );
    });
    let avail = ui.available_width();
    let h = ui.available_height();
    let gap = ui.spacing().item_spacing.x;
    let legends = ctx.model.settings.toggles.legends;
    let entries = legend(ctx, pal);
    if avail >= BESIDE_MIN_WIDTH {
        // The legend over the whole width, then the plot with the formulas beside it.
        let plot_h = legend_row_within(ui, legends, &entries, h).max(MIN_PLOT);
        let text_w = (avail * 0.32).clamp(*TEXT_WIDTH.start(), *TEXT_WIDTH.end());
        let mut plot_w = (avail - text_w - 2.0 * gap).max(160.0);
        if ctx.dim() == 2 {
            // The plane is square: its column no wider than it is tall, so the formulas
            // stand next to it.
            plot_w = plot_w.min(plot_h);
        }
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(plot_w);
                figure(ui, ctx, drawn, plot_w, plot_h);
            });
            formula_column(ui, text_w, |ui| text(ui, ctx, t));
        });
    } else {
        // The formulas go under the plot: in view too when the room allows, else the
        // legend and plot fill the view and the formulas scroll.
        let figure_h = if h - FORMULAS_BELOW >= MIN_STACKED {
            h - FORMULAS_BELOW
        } else {
            h
        };
        egui::ScrollArea::vertical()
            .id_salt("tweedie_stacked")
            .show(ui, |ui| {
                let w = ui.available_width();
                let plot_h = legend_row_within(ui, legends, &entries, figure_h).max(MIN_PLOT);
                figure(ui, ctx, drawn, w, plot_h);
                ui.add_space(4.0);
                text(ui, ctx, t);
            });
    }
    Vec::new()
}

impl TweedieState {
    /// The computation at t for the current inputs, from the cache when it is of them.
    fn drawn(&mut self, ctx: &ViewCtx<'_>, t: usize) -> &Drawn {
        let inputs = ctx.inputs();
        let fresh = self.cache.as_ref().is_some_and(|c| {
            Arc::ptr_eq(&c.data, &inputs.data)
                && Arc::ptr_eq(&c.schedule, &inputs.schedule)
                && c.t == t
                && c.view_box == inputs.view_box
        });
        if !fresh {
            self.cache = None;
        }
        &self
            .cache
            .get_or_insert_with(|| Cached {
                data: inputs.data.clone(),
                schedule: inputs.schedule.clone(),
                t,
                view_box: inputs.view_box,
                drawn: compute(&inputs.data, &inputs.schedule, t, inputs.view_box),
            })
            .drawn
    }
}

/// Both forms of `E[x0 | x_t]` at t over the plot: 1D on [`CURVE_POINTS`] points across
/// the box, 2D on an [`ARROW_GRID`] x [`ARROW_GRID`] grid of cell centres.
fn compute(data: &GaussianMixture, schedule: &NoiseSchedule, t: usize, vb: [[f64; 2]; 2]) -> Drawn {
    let c = Coeffs::at(schedule, t);
    let q = data.forward(c.sqrt_abar, schedule.one_minus_abar(t));
    let abar = schedule.abar(t);
    if data.dim() == 1 {
        let [lo, hi] = vb[0];
        let n = CURVE_POINTS;
        let xs = Array2::from_shape_fn((n, 1), |(i, _)| lo + i as f64 / (n - 1) as f64 * (hi - lo));
        let tw = tweedie(data, schedule, t, xs.view());
        let x = |i: usize| xs[[i, 0]];
        let curve = (0..n).map(|i| [x(i), tw.direct[[i, 0]]]).collect();
        let via_score = tw
            .via_score
            .as_ref()
            .map(|v| {
                (0..n)
                    .step_by(MARKER_EVERY)
                    .map(|i| [x(i), v[[i, 0]]])
                    .collect()
            })
            .unwrap_or_default();
        let dens: Vec<f64> = q
            .log_density_batch(xs.view())
            .iter()
            .map(|l| l.exp())
            .collect();
        let peak = dens.iter().copied().fold(0.0, f64::max);
        let height = DENSITY_SHARE * (hi - lo);
        let tops = dens
            .iter()
            .map(|d| lo + if peak > 0.0 { height * d / peak } else { 0.0 })
            .collect();
        Drawn {
            curve,
            via_score,
            density: (xs.column(0).to_vec(), vec![lo; n], tops),
            origins: Vec::new(),
            tips: Vec::new(),
            max_rel_diff: tw.max_rel_diff,
            abar,
            points: n,
        }
    } else {
        let g = ARROW_GRID;
        let grid = Array2::from_shape_fn((g * g, 2), |(i, axis)| {
            let (row, col) = (i / g, i % g);
            let k = if axis == 0 { col } else { row };
            vb[axis][0] + (k as f64 + 0.5) / g as f64 * (vb[axis][1] - vb[axis][0])
        });
        let tw = tweedie(data, schedule, t, grid.view());
        let logs = q.log_density_batch(grid.view());
        let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let shown: Vec<usize> = (0..g * g)
            .filter(|&i| logs[i].is_finite() && logs[i] >= top + NEGLIGIBLE.ln())
            .collect();
        let row = |a: &Array2<f64>, i: usize| [a[[i, 0]], a[[i, 1]]];
        Drawn {
            curve: Vec::new(),
            via_score: tw
                .via_score
                .as_ref()
                .map(|v| shown.iter().map(|&i| row(v, i)).collect())
                .unwrap_or_default(),
            density: Default::default(),
            origins: shown.iter().map(|&i| row(&grid, i)).collect(),
            tips: shown.iter().map(|&i| row(&tw.direct, i)).collect(),
            max_rel_diff: tw.max_rel_diff,
            abar,
            points: g * g,
        }
    }
}

/// The readout line: how far apart the two forms are at t, or why the score form has no
/// value there.
fn readout_text(t: usize, d: &Drawn) -> String {
    match d.max_rel_diff {
        Some(r) => format!(
            "Tweedie at t = {t}: E[x0 | x_t] from the posterior and through the score agree to {} (largest relative difference over the plot's {} points)",
            sci(r),
            d.points
        ),
        None if d.abar == 0.0 => format!(
            "Tweedie at t = {t}: E[x0 | x_t] through the score is undefined at abar_t = 0 (t = T of a zero-terminal-SNR schedule): the score form divides by sqrt(abar_t) = 0. The posterior still gives E[x0 | x_t], the data mean."
        ),
        None => format!(
            "Tweedie at t = {t}: E[x0 | x_t] through the score is undefined: dividing by sqrt(abar_t) = {} leaves the range of f64",
            sci(d.abar.sqrt())
        ),
    }
}

/// The plot's legend.
fn legend(ctx: &ViewCtx<'_>, pal: &Palette) -> Vec<LegendEntry> {
    let x0 = pal.param(Parameterisation::X0);
    let via = LegendEntry::marker(
        "through the score",
        pal.param(Parameterisation::Score),
        MarkerShape::Diamond,
    )
    .tip(
        "E[x0 | x_t] = (x_t + (1 - abar_t) score) / sqrt(abar_t) (Tweedie, Luo eq. 133, 135), with the score computed on its own: the markers lie on the posterior's curve (arrow tips in 2D)",
    );
    if ctx.dim() == 1 {
        vec![
            LegendEntry::line("$\\mathbb{E}[x_0|x_t]$ (posterior)", x0).tip(
                "The optimal denoiser: each component's posterior mean weighted by its responsibility, sum_k r_k(x_t) mu_k(x_t)",
            ),
            via,
            LegendEntry::styled("identity $y = x_t$", pal.neutral, LineStyle::dashed_dense())
                .tip("No denoising: where the curve is flatter than this line, E[x0 | x_t] pulls x_t toward the modes"),
            LegendEntry::styled("data modes $m_k$", x0.gamma_multiply(0.6), LineStyle::dotted_dense())
                .tip("The means of the data's components: where E[x0 | x_t] pulls toward at small t"),
            LegendEntry::styled("data mean", pal.neutral, LineStyle::dotted_loose())
                .tip("E[x0]: where E[x0 | x_t] flattens to at large t, when x_t says little about x0"),
            LegendEntry::band("$q_t(x_t)$, scaled", pal.total.gamma_multiply(0.5)).tip(
                "The density of x_t at t (not to the y axis: its peak is scaled to a third of the plot's height): where the x_t the denoiser meets lie",
            ),
        ]
    } else {
        vec![
            LegendEntry::line("arrows $x_t$ -> $\\mathbb{E}[x_0|x_t]$", pal.total).tip(
                "From a point x_t of the grid to the optimal denoiser's E[x0 | x_t] from the posterior (to scale: each arrow ends where the denoiser puts x0), on a 15 x 15 grid where q_t is at least 1% of its largest value there",
            ),
            via,
            LegendEntry::marker("data means $m_k$", x0, MarkerShape::Cross)
                .tip("The means of the data's components: where the arrows point at small t"),
            LegendEntry::band("$q_t$ density", pal.total.gamma_multiply(0.5))
                .tip("The density of x_t at t (square root of its share of the peak, viridis)"),
        ]
    }
}

/// The plot in `w` x `h` (2D: the largest square in it), marked for the lessons.
fn figure(ui: &mut Ui, ctx: &ViewCtx<'_>, d: &Drawn, w: f32, h: f32) {
    let rect = if ctx.dim() == 1 {
        plot_1d(ui, ctx, d, w, h)
    } else {
        let field = ctx.field();
        dimmed_unless(ui, field.as_ref().is_none_or(|f| f.current), |ui| {
            plot_2d(ui, ctx, d, w.min(h))
        })
    };
    focus::mark(ui, Target::Plot(PLOT), rect);
}

/// 1D: the map, the identity, the score form's markers, the modes and the density.
fn plot_1d(ui: &mut Ui, ctx: &ViewCtx<'_>, d: &Drawn, w: f32, h: f32) -> egui::Rect {
    let pal = Palette::of_ui(ui);
    let x0 = pal.param(Parameterisation::X0);
    let [lo, hi] = ctx.inputs().view_box[0];
    let data = ctx.data();
    let t = ctx.t;
    let response = plot(PLOT, "x_t", "E[x0 | x_t]")
        .height(h)
        .width(w)
        .include_x(lo)
        .include_x(hi)
        .include_y(lo)
        .include_y(hi)
        .show(ui, |p| {
            let (xs, bottom, top) = &d.density;
            p.add(
                FilledArea::new(format!("q_t(x_t) at t = {t}, scaled"), xs, bottom, top)
                    .fill_color(pal.total.gamma_multiply(0.18)),
            );
            p.line(
                Line::new("identity y = x_t", vec![[lo, lo], [hi, hi]])
                    .color(pal.neutral)
                    .style(LineStyle::dashed_dense())
                    .width(1.5),
            );
            if data.len() <= 12 {
                for (k, m) in data.means().iter().enumerate() {
                    p.hline(
                        HLine::new(format!("data mode m_{} = {}", k + 1, sci(m[0])), m[0])
                            .color(x0.gamma_multiply(0.6))
                            .style(LineStyle::dotted_dense())
                            .width(1.5),
                    );
                }
            } else {
                let modes: Vec<[f64; 2]> = data.means().iter().map(|m| [lo, m[0]]).collect();
                p.points(
                    Points::new("data modes m_k", modes)
                        .shape(MarkerShape::Right)
                        .radius(4.0)
                        .color(x0.gamma_multiply(0.6)),
                );
            }
            p.hline(
                HLine::new(
                    format!("data mean E[x0] = {}", sci(data.mean()[0])),
                    data.mean()[0],
                )
                .color(pal.neutral)
                .style(LineStyle::dotted_loose())
                .width(1.0),
            );
            p.line(
                Line::new(
                    format!("E[x0 | x_t] at t = {t} (posterior)"),
                    d.curve.clone(),
                )
                .color(x0)
                .width(2.5),
            );
            if !d.via_score.is_empty() {
                p.points(
                    Points::new("E[x0 | x_t] through the score", d.via_score.clone())
                        .shape(MarkerShape::Diamond)
                        .radius(3.5)
                        .color(pal.param(Parameterisation::Score)),
                );
            }
        });
    name_plot(
        &response.response,
        "Tweedie's formula: E[x0 | x_t] over x_t",
    );
    response.response.rect
}

/// 2D: the density image with arrows from x_t to E[x0 | x_t], in a `side` x `side` square.
fn plot_2d(ui: &mut Ui, ctx: &ViewCtx<'_>, d: &Drawn, side: f32) -> egui::Rect {
    let pal = Palette::of_ui(ui);
    let field = ctx.field();
    let data = ctx.data();
    let t = ctx.t;
    let response = plane_plot(PLOT, ctx.inputs().view_box)
        .height(side)
        .width(side)
        .show(ui, |p| {
            if let Some(f) = &field {
                f.value.draw_density(p);
            }
            p.arrows(
                Arrows::new(
                    format!("x_t -> E[x0 | x_t] at t = {t}"),
                    d.origins.clone(),
                    d.tips.clone(),
                )
                .color(pal.total)
                .tip_length(5.0),
            );
            let means: Vec<[f64; 2]> = data.means().to_vec();
            p.points(
                Points::new("data means m_k", means)
                    .shape(MarkerShape::Cross)
                    .radius(3.0)
                    .color(pal.param(Parameterisation::X0)),
            );
            if !d.via_score.is_empty() {
                p.points(
                    Points::new("E[x0 | x_t] through the score", d.via_score.clone())
                        .shape(MarkerShape::Diamond)
                        .radius(2.5)
                        .color(pal.param(Parameterisation::Score)),
                );
            }
        });
    name_plot(
        &response.response,
        "Tweedie's formula: arrows from x_t to E[x0 | x_t]",
    );
    response.response.rect
}

/// Name a plot for assistive technology and tests.
fn name_plot(response: &egui::Response, name: &str) {
    response.widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, name));
}

/// The formulas, their values at t and what to look at.
fn text(ui: &mut Ui, ctx: &ViewCtx<'_>, t: usize) {
    let s = ctx.schedule();
    ui.strong("Tweedie's formula").on_hover_text(
        "Luo 2022 eq. 133-135: the best guess of x0 from x_t is x_t moved along the score",
    );
    tex::show(ui, catalogue::TWEEDIE_MEAN).on_hover_text(
        "Luo eq. 133, 135: the posterior mean of x0 from the score of q_t; undefined where abar_t = 0",
    );
    tex::show(ui, catalogue::SCORE_EPS).on_hover_text(
        "Luo eq. 151: the score is the expected noise, negated and scaled; the same identity in the noise's terms",
    );
    for (symbol, value, tip) in [
        (
            label::SIGNAL,
            s.abar(t).sqrt(),
            "sqrt(abar_t) at the timeline's t: the score form divides by it",
        ),
        (
            label::ONE_MINUS_ABAR,
            s.one_minus_abar(t),
            "1 - abar_t at the timeline's t: the score's weight in the formula",
        ),
    ] {
        ui.horizontal(|ui| {
            tex::show(ui, symbol).on_hover_text(tip);
            ui.label(format!("= {}", sci(value))).on_hover_text(tip);
        });
    }
    ui.add_space(4.0);
    let (what, tip) = if ctx.dim() == 1 {
        (
            r"Where the curve is flatter than the identity, points are pulled toward the modes $m_k$. At small $t$ it follows the identity; at large $t$ it flattens to the data mean. The diamonds, through the score, lie on it.",
            "What to look at: move t with the timeline and watch the curve go from the identity (no noise to remove) to a flat line at the data mean (x_t says nothing about x0)",
        )
    } else {
        (
            r"Each arrow goes from $x_t$ to $\mathbb{E}[x_0|x_t]$: toward the nearest part of the data at small $t$, toward the data mean at large $t$. The diamonds, through the score, sit on the tips.",
            "What to look at: move t with the timeline and watch the arrows grow from nothing (no noise to remove) to pointing at the data mean (x_t says nothing about x0)",
        )
    };
    tex::rich(ui, what).on_hover_text(tip);
}
