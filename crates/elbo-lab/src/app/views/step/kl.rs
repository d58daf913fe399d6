//! Part 2 of the Denoising step tab: one denoising term as a KL between two Gaussians
//! (Luo eq. 71-92).
//!
//! ```text
//! q(x(t-1) | x_t, x0)     = N(mu~_t(x_t, x0), sigma~_t^2)                       (Luo eq. 84-85)
//! p_theta(x(t-1) | x_t)   = N(mu_theta(x_t, t), sigma_t^2),  mu_theta = mu~_t(x_t, x0_hat)  (eq. 94)
//! KL                      = log(sigma_t / sigma~_t) + (sigma~_t^2 + (mu~_t - mu_theta)^2) / (2 sigma_t^2) - 1/2
//! L(t-1)                  = E over x0 ~ p0 and x_t ~ q(x_t | x0) of that KL          (eq. 58)
//! ```
//! At t = 1 the step lands on x0 itself: the term is the reconstruction
//! `-log N(x0; mu_theta(x_1, 1), beta_1)`.
//!
//! The user picks x0 and x_t by dragging their markers over the data (or typing them), or
//! draws x_t from `q(x_t | x0)`; "Average over draws" averages the KL over fresh pairs and
//! sets it beside the ELBO tab's `L(t-1)`, with its standard error.

use egui::{RichText, Ui};
use egui_plot::{Line, LineStyle, VLine};
use elbo_core::elbo::{McSamples, moments};
use elbo_core::normal::normal_kl;
use elbo_core::param::{Coeffs, PosteriorMean, reverse_variance};
use elbo_core::schedule::VarianceType;
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

use super::super::super::command::Command;
use super::super::super::focus::{self, Target};
use super::super::super::formula::{self as tex, catalogue, steps as formulas};
use super::super::super::inputs::{Depends, Inputs};
use super::super::super::palette::Palette;
use super::super::super::plot_util::{LegendEntry, legend_row_within, opt, plot, sci, still};
use super::super::ctx::{ViewCtx, switch};

/// The step plot's id name.
pub const PLOT: &str = focus::key::STEP_KL_PLOT;
/// The pick plot's id name (x0 and x_t over the data).
pub const PICK_PLOT: &str = "step_pick";
/// Pairs averaged by "Average over draws".
pub const DRAWS: usize = 10_000;
/// Points of each density curve.
const CURVE_POINTS: usize = 301;

/// Which plot a short view shows (a tall one shows both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KlFigure {
    /// The step's two Gaussians.
    #[default]
    Step,
    /// x0 and x_t over the data.
    Pick,
}

/// Below this height (points) of the part, one plot is shown at a time.
const SHORT_PART: f32 = 420.0;

/// Which marker a drag on the pick plot moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    X0,
    Xt,
}

/// The average of the KL over fresh `(x0, x_t)` pairs, and what it was computed from.
struct Average {
    inputs: Inputs,
    t: usize,
    sigma2: f64,
    mean: f64,
    stderr: f64,
}

/// The `(x0, x_t)` parts 2 and 3 share (None: the default for the data and t), and the
/// state of the drag and of the average.
#[derive(Default)]
pub struct Pick {
    x0: Option<f64>,
    xt: Option<f64>,
    dragging: Option<Marker>,
    draws: u64,
    average: Option<Average>,
    /// The plot a short view shows.
    figure: KlFigure,
    /// The x range of the true step's plot while x_t is dragged on it (the range follows
    /// x_t otherwise, and a drag would chase its own axis).
    frozen: Option<(f64, f64)>,
}

impl Pick {
    /// The chosen x0: the user's, else the mean of the heaviest data component.
    pub fn x0(&self, ctx: &ViewCtx<'_>) -> f64 {
        self.x0.unwrap_or_else(|| default_x0(ctx))
    }

    /// The chosen x_t: the user's, else one noise sd from `sqrt(abar_t) x0` toward the data's
    /// mean (where the model is less sure of x0).
    pub fn xt(&self, ctx: &ViewCtx<'_>) -> f64 {
        self.xt.unwrap_or_else(|| {
            let x0 = self.x0(ctx);
            let eps = if x0 > data_mean(ctx) { -1.0 } else { 1.0 };
            Coeffs::at(ctx.schedule(), ctx.t).noise(x0, eps)
        })
    }

    /// The x range held while x_t is dragged on a plot whose range follows it.
    pub fn frozen_range(&self) -> Option<(f64, f64)> {
        self.frozen
    }

    /// Hold the x range (a drag starts) or let it follow x_t again (`None`: it ends).
    pub fn freeze(&mut self, range: Option<(f64, f64)>) {
        self.frozen = range;
    }

    /// Set x_t (dragged on another part's plot).
    pub fn set_xt(&mut self, xt: f64) {
        if xt.is_finite() {
            self.xt = Some(xt);
        }
    }
}

/// The data's mean (its first coordinate).
fn data_mean(ctx: &ViewCtx<'_>) -> f64 {
    let data = ctx.data();
    data.weights()
        .iter()
        .zip(data.means())
        .map(|(w, m)| w * m[0])
        .sum()
}

/// The mean of the heaviest component of the data (its first coordinate).
fn default_x0(ctx: &ViewCtx<'_>) -> f64 {
    let data = ctx.data();
    let best = data
        .weights()
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    data.means().get(best).map_or(0.0, |m| m[0])
}

/// The reverse variance `sigma_t^2` of the model's step at t: the ELBO's own (it resolves
/// the analytic variance) when it is current, else the fixed choice; None while the
/// analytic one is computed.
pub fn step_sigma2(ctx: &ViewCtx<'_>, t: usize) -> Option<f64> {
    let from_elbo = ctx
        .elbo()
        .filter(|e| e.current)
        .and_then(|e| {
            e.value
                .result
                .timesteps
                .get(t.checked_sub(1)?)
                .map(|r| r.sigma2)
        })
        .filter(|s| s.is_finite() && *s > 0.0);
    let variance = ctx.model.settings.variance;
    from_elbo.or_else(|| {
        (variance != VarianceType::Analytic || t == 1)
            .then(|| reverse_variance(ctx.schedule(), t, variance))
    })
}

/// The model's x0 guesses at `xt` (one batch).
pub fn x0_hat(ctx: &ViewCtx<'_>, t: usize, xt: &[f64]) -> Vec<f64> {
    let batch = Array2::from_shape_fn((xt.len(), 1), |(i, _)| xt[i]);
    ctx.inputs()
        .model
        .predict_x0(ctx.schedule(), t, batch.view())
        .column(0)
        .to_vec()
}

/// The two Gaussians of one step at `(t, x0, x_t)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneStep {
    /// t (1..=T).
    pub t: usize,
    /// The chosen x0.
    pub x0: f64,
    /// The chosen x_t.
    pub xt: f64,
    /// `mu~_t(x_t, x0)` (x0 itself at t = 1).
    pub post_mean: f64,
    /// `sigma~_t^2` (0 at t = 1).
    pub post_var: f64,
    /// The model's x0 guess at x_t.
    pub x0_hat: f64,
    /// `mu_theta(x_t, t)`.
    pub model_mean: f64,
    /// `sigma_t^2`.
    pub sigma2: f64,
}

impl OneStep {
    /// The step at `(t, x0, x_t)` with the model's variance `sigma2`.
    pub fn at(ctx: &ViewCtx<'_>, t: usize, x0: f64, xt: f64, sigma2: f64) -> Self {
        let s = ctx.schedule();
        let pm = PosteriorMean::at(s, t);
        let x0_hat = x0_hat(ctx, t, &[xt])[0];
        OneStep {
            t,
            x0,
            xt,
            post_mean: pm.mean(x0, xt),
            post_var: if t == 1 { 0.0 } else { s.posterior_variance(t) },
            x0_hat,
            model_mean: pm.mean(x0_hat, xt),
            sigma2,
        }
    }

    /// The KL's mean part `(mu~ - mu_theta)^2 / (2 sigma_t^2)` and variance part
    /// `(r - 1 - log r) / 2`, `r = sigma~^2 / sigma_t^2` (t >= 2; None at t = 1).
    pub fn kl_parts(&self) -> Option<(f64, f64)> {
        kl_parts(
            self.t,
            self.post_mean,
            self.post_var,
            self.model_mean,
            self.sigma2,
        )
    }

    /// The term at this pair: the KL (t >= 2) or the reconstruction `-log N(x0; mu_theta,
    /// beta_1)` (t = 1).
    pub fn term(&self) -> f64 {
        match self.kl_parts() {
            Some((m, v)) => m + v,
            None => reconstruction(self.x0, self.model_mean, self.sigma2),
        }
    }
}

fn kl_parts(
    t: usize,
    post_mean: f64,
    post_var: f64,
    model_mean: f64,
    s2: f64,
) -> Option<(f64, f64)> {
    if t == 1 || post_var <= 0.0 {
        return None;
    }
    Some((
        normal_kl(post_mean, s2, model_mean, s2),
        normal_kl(0.0, post_var, 0.0, s2),
    ))
}

fn reconstruction(x0: f64, mean: f64, s2: f64) -> f64 {
    0.5 * (std::f64::consts::TAU * s2).ln() + (x0 - mean).powi(2) / (2.0 * s2)
}

/// `N(x; mean, var)` at `n` points over `[lo, hi]`.
pub fn gaussian_curve(mean: f64, var: f64, (lo, hi): (f64, f64)) -> Vec<[f64; 2]> {
    let norm = 1.0 / (std::f64::consts::TAU * var).sqrt();
    (0..CURVE_POINTS)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / (CURVE_POINTS - 1) as f64;
            [x, norm * (-(x - mean).powi(2) / (2.0 * var)).exp()]
        })
        .collect()
}

/// The range over which Gaussians of these means and variances are drawn (5 sds each).
pub fn span(parts: &[(f64, f64)]) -> (f64, f64) {
    let lo = parts
        .iter()
        .map(|(m, v)| m - 5.0 * v.sqrt())
        .fold(f64::INFINITY, f64::min);
    let hi = parts
        .iter()
        .map(|(m, v)| m + 5.0 * v.sqrt())
        .fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// `points` with y scaled so that its largest value is 1.
fn peak_one(mut points: Vec<[f64; 2]>) -> Vec<[f64; 2]> {
    let top = points.iter().map(|p| p[1]).fold(0.0, f64::max);
    if top > 0.0 && top.is_finite() {
        for p in &mut points {
            p[1] /= top;
        }
    }
    points
}

/// Draw the part.
pub fn ui(ui: &mut Ui, ctx: &ViewCtx<'_>, pick: &mut Pick) -> Vec<Command> {
    let pal = Palette::of_ui(ui);
    let t = ctx.t;
    let focus = ctx.focus();
    // A lesson step shows the plot its caption refers to.
    if focus.reveal && focus.targets.contains(&Target::Plot(PLOT)) {
        pick.figure = KlFigure::Step;
    }
    let shown = (ui.available_height() < SHORT_PART).then_some(pick.figure);
    controls(ui, ctx, pick, shown.is_some());
    let Some(sigma2) = step_sigma2(ctx, t) else {
        ui.label(
            RichText::new("Computing the analytic reverse variance (the ELBO tab's table)...")
                .color(pal.info),
        );
        return Vec::new();
    };
    let step = OneStep::at(ctx, t, pick.x0(ctx), pick.xt(ctx), sigma2);
    let legends = ctx.model.settings.toggles.legends;
    // The height of the view: the plots fit in it (a projector's view is short).
    let view_h = ui.available_height();
    let gap = 2.0 * ui.spacing().item_spacing.y;
    focus::scroll_area(
        ui,
        &focus,
        (egui::ScrollArea::vertical(), "step_kl_scroll"),
        |ui| {
            super::layout::columns(
                ui,
                0.42,
                pick,
                |ui, pick, w| match shown {
                    Some(KlFigure::Step) => {
                        step_plot(ui, &step, legends, w, (view_h - gap).max(110.0))
                    }
                    Some(KlFigure::Pick) => {
                        pick_plot(ui, ctx, pick, &step, w, (view_h - gap).max(110.0))
                    }
                    None => {
                        step_plot(ui, &step, legends, w, (view_h - gap).clamp(110.0, 380.0));
                        pick_plot(ui, ctx, pick, &step, w, (view_h * 0.38).clamp(110.0, 220.0));
                    }
                },
                |ui, pick| values(ui, ctx, pick, &step),
            )
        },
    );
    Vec::new()
}

/// The row of x0, x_t and the draw button.
fn controls(ui: &mut Ui, ctx: &ViewCtx<'_>, pick: &mut Pick, short: bool) {
    ui.horizontal_wrapped(|ui| {
        if short {
            switch(
                ui,
                &mut pick.figure,
                &[
                    (
                        KlFigure::Step,
                        "The two Gaussians",
                        "The forward posterior and the model's step over x(t-1) (the view is too short for both plots at once)",
                    ),
                    (
                        KlFigure::Pick,
                        "Pick x0 and x_t",
                        "The data density with x0 and x_t, to drag them (the view is too short for both plots at once)",
                    ),
                ],
            );
            ui.separator();
        }
        let mut x0 = pick.x0(ctx);
        ui.label("x0")
            .on_hover_text("The data point the forward process starts from");
        if ui
            .add(egui::DragValue::new(&mut x0).speed(0.01).max_decimals(4))
            .on_hover_text("The data point x0 (or drag its solid marker on the lower plot)")
            .changed()
            && x0.is_finite()
        {
            pick.x0 = Some(x0);
        }
        pick.xt_controls(ui, ctx, Some(pick.x0(ctx)));
        let sigma2 = step_sigma2(ctx, ctx.t);
        if ui
            .add_enabled(
                sigma2.is_some(),
                egui::Button::new(format!("Average over {DRAWS} draws")),
            )
            .on_hover_text("Draw fresh pairs x0 ~ p0, x_t ~ q(x_t | x0) (from the side panel's seed), compute the term at each, and average: it estimates the ELBO tab's exact number, within its standard error")
            .clicked()
            && let Some(s2) = sigma2
        {
            pick.average = Some(average(ctx, ctx.t, s2));
        }
    });
}

impl Pick {
    /// The x_t field, a button drawing x_t (from `q(x_t | x0)` given `x0`, else from
    /// `q(x_t)`), and a reset, in the current row.
    pub fn xt_controls(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, x0: Option<f64>) {
        let mut xt = self.xt(ctx);
        ui.label("x_t")
            .on_hover_text("The noisy point the reverse step starts from");
        if ui
            .add(egui::DragValue::new(&mut xt).speed(0.01).max_decimals(4))
            .on_hover_text("The noisy point x_t (or move its dashed marker on a plot)")
            .changed()
        {
            self.set_xt(xt);
        }
        let (label, tip) = match x0 {
            Some(_) => (
                "Draw x_t from q(x_t | x0)",
                "Draw a new x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps with eps ~ N(0, 1) (reproducible from the side panel's seed)",
            ),
            None => (
                "Draw x_t from q(x_t)",
                "Draw a new x_t from the density of x_t at the timeline's t: x0 ~ p0, then the forward process (reproducible from the side panel's seed)",
            ),
        };
        if ui.button(label).on_hover_text(tip).clicked() {
            self.draws += 1;
            let seed = ctx.model.settings.seed ^ self.draws.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let c = Coeffs::at(ctx.schedule(), ctx.t);
            let xt = match x0 {
                Some(x0) => {
                    let mut rng = StdRng::seed_from_u64(seed);
                    c.noise(x0, StandardNormal.sample(&mut rng))
                }
                None => {
                    let pair = McSamples::draw(ctx.data(), 1, seed);
                    c.noise(pair.x0[[0, 0]], pair.eps[[0, 0]])
                }
            };
            self.set_xt(xt);
        }
        if ui
            .button("Reset x0 and x_t")
            .on_hover_text("Back to the heaviest data component's mean and x_t one noise sd from sqrt(abar_t) x0 toward the data's mean; x_t then follows t again")
            .clicked()
        {
            self.x0 = None;
            self.xt = None;
        }
    }
}

/// The legend of the plot `figure`.
fn legend(pal: &Palette, t: usize, figure: KlFigure) -> Vec<LegendEntry> {
    match figure {
        KlFigure::Step => {
            let mut entries = Vec::new();
            if t > 1 {
                entries.push(LegendEntry::line("q(x(t-1) | x_t, x0)", pal.total).tip(
                    "The forward posterior, N(mu~_t(x_t, x0), sigma~_t^2): where x(t-1) was, knowing both ends",
                ));
            }
            entries.push(LegendEntry::line("p_theta(x(t-1) | x_t)", pal.evidence).tip(
                "The model's step, N(mu_theta(x_t, t), sigma_t^2) with the side panel's model and reverse variance: it knows x_t only",
            ));
            entries
        }
        KlFigure::Pick => vec![
            LegendEntry::line("data density p0", pal.neutral)
                .tip("The data's density, where x0 comes from"),
            LegendEntry::styled("q(x_t | x0)", pal.neutral, LineStyle::dashed_dense()).tip(
                "Where the forward process takes x0 in t steps, N(sqrt(abar_t) x0, 1 - abar_t)",
            ),
        ],
    }
}

/// The forward posterior and the model's step over x(t-1), `h` points tall.
fn step_plot(ui: &mut Ui, step: &OneStep, legends: bool, w: f32, h: f32) {
    let pal = Palette::of_ui(ui);
    let h = legend_row_within(ui, legends, &legend(pal, step.t, KlFigure::Step), h);
    let mut parts = vec![(step.model_mean, step.sigma2)];
    if step.t > 1 {
        parts.push((step.post_mean, step.post_var));
    }
    let range = span(&parts);
    let resp = plot(PLOT, "x(t-1)", "density")
        .width(w)
        .height(h)
        .include_y(0.0)
        .show(ui, |p| {
            if step.t > 1 {
                p.line(
                    Line::new(
                        "q(x(t-1) | x_t, x0)",
                        gaussian_curve(step.post_mean, step.post_var, range),
                    )
                    .color(pal.total)
                    .width(2.5),
                );
            } else {
                p.vline(
                    VLine::new(format!("x0 = {:.4}", step.x0), step.x0)
                        .color(pal.total)
                        .width(2.0),
                );
            }
            p.line(
                Line::new(
                    "p_theta(x(t-1) | x_t)",
                    gaussian_curve(step.model_mean, step.sigma2, range),
                )
                .color(pal.evidence)
                .width(2.5),
            );
        });
    focus::mark(ui, Target::Plot(PLOT), resp.response.rect);
    resp.response.on_hover_text(if step.t > 1 {
        "Over x(t-1): the forward posterior q(x(t-1) | x_t, x0) and the model's step p_theta(x(t-1) | x_t). The denoising term is the KL between them; it is 0 only when both means and both variances agree."
    } else {
        "At t = 1 the step lands on data: the model's decoder N(mu_theta(x_1, 1), beta_1) and the x0 it should give a high density (the reconstruction term)."
    });
}

fn pick_plot(ui: &mut Ui, ctx: &ViewCtx<'_>, pick: &mut Pick, step: &OneStep, w: f32, h: f32) {
    let pal = Palette::of_ui(ui);
    let legends = ctx.model.settings.toggles.legends;
    let h = legend_row_within(ui, legends, &legend(pal, step.t, KlFigure::Pick), h);
    let data = ctx.data();
    let c = Coeffs::at(ctx.schedule(), step.t);
    let [[lo, hi], _] = ctx.inputs().view_box;
    let n = CURVE_POINTS;
    let xs: Vec<f64> = (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect();
    // Each curve scaled to a peak of 1: q(x_t | x0) is a spike at small t, and would
    // flatten p0 on a common axis.
    let p0 = peak_one(
        xs.iter()
            .map(|&x| [x, data.log_density(&[x]).exp()])
            .collect(),
    );
    let noise_var = ctx.schedule().one_minus_abar(step.t);
    let q = peak_one(gaussian_curve(
        c.sqrt_abar * step.x0,
        noise_var.max(1e-300),
        (lo, hi),
    ));
    let resp = still(plot(PICK_PLOT, "x", "density"))
        .width(w)
        .height(h)
        .include_x(lo)
        .include_x(hi)
        .include_y(0.0)
        .show(ui, |p| {
            p.line(Line::new("p0", p0).color(pal.neutral).width(2.0));
            if noise_var > 0.0 {
                p.line(
                    Line::new("q(x_t | x0)", q)
                        .color(pal.neutral)
                        .style(LineStyle::dashed_dense())
                        .width(1.5),
                );
            }
            p.vline(
                VLine::new(format!("x0 = {:.4}", step.x0), step.x0)
                    .color(pal.total)
                    .width(2.0),
            );
            p.vline(
                VLine::new(format!("x_t = {:.4}", step.xt), step.xt)
                    .color(pal.total)
                    .style(LineStyle::dashed_dense())
                    .width(2.0),
            );
        });
    let r = &resp.response;
    if r.drag_started() || r.clicked() {
        // The marker nearer the press moves.
        pick.dragging = r.interact_pointer_pos().map(|pos| {
            let x = resp.transform.value_from_position(pos).x;
            if (x - step.x0).abs() <= (x - step.xt).abs() {
                Marker::X0
            } else {
                Marker::Xt
            }
        });
    }
    if (r.dragged() || r.clicked())
        && let (Some(which), Some(pos)) = (pick.dragging, r.interact_pointer_pos())
    {
        let x = resp.transform.value_from_position(pos).x;
        if x.is_finite() {
            match which {
                Marker::X0 => pick.x0 = Some(x),
                Marker::Xt => pick.xt = Some(x),
            }
        }
    }
    if r.drag_stopped() || r.clicked() {
        pick.dragging = None;
    }
    r.clone().on_hover_text(
        "The data density p0 with x0 (solid marker) and where the forward process takes it, q(x_t | x0) (dashed curve), with x_t (dashed marker), each curve scaled to a peak of 1. Drag a marker to move it.",
    );
}

/// The closed form with every quantity's value, and the average beside `L(t-1)`.
fn values(ui: &mut Ui, ctx: &ViewCtx<'_>, pick: &Pick, step: &OneStep) {
    let pal = Palette::of_ui(ui);
    let t = step.t;
    let variance = ctx.model.settings.variance;
    let model = ctx.inputs().model.name();
    // First what a lesson quotes: the closed form, its value and the ELBO's term.
    focus::readout(ui, Target::Readout(focus::key::STEP_KL), |ui| {
        if t > 1 {
            tex::show(ui, formulas::STEP_KL).on_hover_text(
                "The KL between two 1D Gaussians, in closed form (Luo eq. 86-92 with any two variances)",
            );
        } else {
            tex::show(ui, formulas::RECONSTRUCTION_AT_X0).on_hover_text(
                "At t = 1 the step ends on data: the reconstruction term at this x0 and x_1 (Luo eq. 58)",
            );
        }
        let text = match step.kl_parts() {
            Some((m, v)) => format!(
                "KL = {} (means) + {} (variances) = {} nats",
                sci(m),
                sci(v),
                sci(m + v)
            ),
            None => format!("L_0 at this x0 and x_1 = {} nats", sci(step.term())),
        };
        ui.label(RichText::new(text).strong().color(pal.denoising));
        let row = ctx
            .elbo()
            .filter(|e| e.current)
            .and_then(|e| e.value.result.timesteps.get(t - 1).and_then(|r| r.loss));
        let name = if t == 1 { "L_0" } else { "L(t-1)" };
        ui.label(format!(
            "{name} at t = {t} (ELBO tab) = {} nats: its average",
            opt(row)
        ))
        .on_hover_text("The ELBO's term at this t is the average of this number over x0 ~ p0 and x_t ~ q(x_t | x0) (Luo eq. 58)");
        let fresh = pick.average.as_ref().filter(|a| {
            a.t == t && a.sigma2 == step.sigma2 && a.inputs.covers(ctx.inputs(), Depends::Model)
        });
        if let Some(a) = fresh {
            ui.label(format!(
                "average of {DRAWS} draws = {} ± {} (1 s.e.)",
                sci(a.mean),
                sci(a.stderr)
            ))
            .on_hover_text("The term at fresh pairs x0 ~ p0, x_t ~ q(x_t | x0), averaged: an estimate of the ELBO's exact term above, within its standard error");
        }
    });
    ui.add_space(4.0);
    ui.label(format!(
        "t = {t} (abar_t = {}), x0 = {:.4}, x_t = {:.4}:",
        sci(ctx.schedule().abar(t)),
        step.x0,
        step.xt
    ));
    if t > 1 {
        tex::rich(
            ui,
            &format!(
                "$\\tilde{{\\mu}}_t$ = {:.4},  $\\tilde{{\\sigma}}_t^2$ = {}",
                step.post_mean,
                sci(step.post_var)
            ),
        );
    }
    tex::rich(
        ui,
        &format!(
            "$\\hat{{x}}_\\theta$ = {:.4} ({model}),  $\\mu_\\theta$ = {:.4},  $\\sigma_t^2$ = {} ({})",
            step.x0_hat,
            step.model_mean,
            sci(step.sigma2),
            if t == 1 { "beta_1" } else { variance.name() }
        ),
    );
    if t > 1 {
        tex::show(ui, catalogue::POSTERIOR_MEAN)
            .on_hover_text("The forward posterior's mean (Luo eq. 84)");
        tex::show(ui, catalogue::POSTERIOR_VARIANCE)
            .on_hover_text("The forward posterior's variance (Luo eq. 85)");
    }
    tex::show(ui, formulas::MODEL_MEAN).on_hover_text(
        "The model's mean: the posterior mean with the model's guess of x0 in place of x0 (Luo eq. 94)",
    );
    ui.add_space(6.0);
    tex::show(ui, formulas::L_AVERAGE)
        .on_hover_text("The denoising term is the average of this KL over the data and the forward process (Luo eq. 58)");
}

/// The term averaged over [`DRAWS`] fresh pairs.
fn average(ctx: &ViewCtx<'_>, t: usize, sigma2: f64) -> Average {
    let s = ctx.schedule();
    let draws = McSamples::draw(
        ctx.data(),
        DRAWS,
        ctx.model.settings.seed.wrapping_add(t as u64),
    );
    let xt = draws.noised(Coeffs::at(s, t));
    let xt: Vec<f64> = xt.column(0).to_vec();
    let x0: Vec<f64> = draws.x0.column(0).to_vec();
    let guesses = x0_hat(ctx, t, &xt);
    let pm = PosteriorMean::at(s, t);
    let post_var = if t == 1 { 0.0 } else { s.posterior_variance(t) };
    let terms: Vec<f64> = (0..xt.len())
        .map(|i| {
            let model_mean = pm.mean(guesses[i], xt[i]);
            match kl_parts(t, pm.mean(x0[i], xt[i]), post_var, model_mean, sigma2) {
                Some((m, v)) => m + v,
                None => reconstruction(x0[i], model_mean, sigma2),
            }
        })
        .collect();
    let m = moments(&terms);
    Average {
        inputs: ctx.inputs().clone(),
        t,
        sigma2,
        mean: m.mean,
        stderr: m.stderr,
    }
}
