//! Part 3 of the Denoising step tab: the true reverse step `q(x(t-1) | x_t)`, and where the
//! bound's gap lives.
//!
//! ```text
//! q(x(t-1) | x_t) = q(x_t | x(t-1)) q(t-1)(x(t-1)) / q_t(x_t)      an exact mixture for mixture data
//! NELBO - H(p0)   = KL(q(x_T) || p(x_T)) + sum_t R_t                chain rule of KL, reverse order
//! R_t             = E KL(q(x(t-1) | x_t) || p_theta(x(t-1) | x_t)) = G_t + M_t
//! G_t             = E KL(q(x(t-1) | x_t) || N(m, v))                no Gaussian step removes it
//! M_t             = E KL(N(m, v) || N(mu_theta, sigma_t^2))          the model's mean and variance error
//! ```
//! (`m`, `v`: the mean and variance of the true step at `x_t`.) The density plot is drawn on
//! the UI thread at the timeline's t and a draggable `x_t` (closed form); the terms against
//! t, the totals, the sum of `G_t` at several T and the optimal model's terms under each
//! variance come from the tab's job (`jobs::step`).

use egui::{RichText, Ui};
use egui_plot::{Line, LineStyle, VLine};
use elbo_core::evidence::Valued;
use elbo_core::reverse_step::{ReverseStepTerm, ReverseSteps, TrueReverse};

use super::super::super::command::Command;
use super::super::super::focus::{self, Target};
use super::super::super::formula::{self as tex, steps as formulas};
use super::super::super::jobs::step::{StepPart, StepShown, VARIANCES};
use super::super::super::palette::Palette;
use super::super::super::plot_util::{
    LegendEntry, clicked_t, legend_row_within, maybe_log, plot, plot_maybe_log, sci, still,
    t_marker, x_tick_overhang,
};
use super::super::ctx::{ViewCtx, dimmed_unless, switch};
use super::kl::{Pick, gaussian_curve, span, step_sigma2, x0_hat};
use elbo_core::normal::normal_kl;
use elbo_core::param::PosteriorMean;

/// The density plot's id name.
pub const DENSITY_PLOT: &str = focus::key::STEP_TRUTH_PLOT;
/// The terms plot's id name.
pub const TERMS_PLOT: &str = focus::key::STEP_TERMS_PLOT;
/// Points of the density curves.
const CURVE_POINTS: usize = 401;

/// The job's progress at the right of the part selector.
pub fn progress(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let job = &ctx.jobs.step;
    super::super::ctx::job_progress(
        ui,
        job.is_busy(),
        job.progress(),
        "R_t, G_t and M_t of the side panel's model, then the optimal model under each reverse variance, then the sum of G_t along the same path in fewer steps, on their own thread; each is drawn as soon as it is in",
    );
}

/// The results of the current key, or of an older one (then `false`: drawn dimmed).
fn shown<'a>(ctx: &'a ViewCtx<'_>) -> Option<(&'a StepShown, bool)> {
    let s = ctx.jobs.step.shown(&ctx.step_key())?;
    Some((s.value, s.current))
}

/// Which figure a short view shows (a tall one shows both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Figure {
    /// The true step, its Gaussian and the model's step at t and x_t.
    #[default]
    Density,
    /// R_t, G_t and M_t against t.
    Terms,
}

/// The true step, the model's step and their parts at the timeline's t and the chosen x_t:
/// computed once a frame for the plot and the numbers.
struct AtXt {
    t: usize,
    xt: f64,
    /// The true step (None where it cannot be formed).
    truth: Option<TrueReverse>,
    /// The model's variance (None while the analytic one is computed).
    sigma2: Option<f64>,
    /// The model's mean.
    model_mean: f64,
}

impl AtXt {
    fn of(ctx: &ViewCtx<'_>, xt: f64) -> Self {
        let t = ctx.t;
        AtXt {
            t,
            xt,
            truth: TrueReverse::at(ctx.data(), ctx.schedule(), t, xt).ok(),
            sigma2: step_sigma2(ctx, t),
            model_mean: PosteriorMean::at(ctx.schedule(), t).mean(x0_hat(ctx, t, &[xt])[0], xt),
        }
    }
}

/// Below this view height (points) one figure is shown at a time, with its numbers beside it.
const SHORT_VIEW: f32 = 330.0;

/// Draw the part; `figure` is what a short view shows.
pub fn ui(ui: &mut Ui, ctx: &ViewCtx<'_>, pick: &mut Pick, figure: &mut Figure) -> Vec<Command> {
    let mut commands = Vec::new();
    let focus = ctx.focus();
    let short = ui.available_height() < SHORT_VIEW;
    // A lesson step shows the figure its caption refers to.
    if focus.reveal {
        if focus.targets.contains(&Target::Plot(TERMS_PLOT)) {
            *figure = Figure::Terms;
        } else if focus.targets.contains(&Target::Plot(DENSITY_PLOT)) {
            *figure = Figure::Density;
        }
    }
    let shown = if short { Some(*figure) } else { None };
    ui.horizontal_wrapped(|ui| {
        if short {
            switch(
                ui,
                figure,
                &[
                    (
                        Figure::Density,
                        "True step at x_t",
                        "The true reverse step at the timeline's t and the chosen x_t, its Gaussian and the model's step, with the sum of G_t along the same path in fewer steps (the view is too short for both figures at once)",
                    ),
                    (
                        Figure::Terms,
                        "R_t, G_t, M_t against t",
                        "The terms of every step against t, with what the optimal model leaves under each reverse variance and the two splits of NELBO - H(p0) (the view is too short for both figures at once)",
                    ),
                ],
            );
            ui.separator();
        }
        pick.xt_controls(ui, ctx, None);
    });
    let view_h = ui.available_height();
    let at = AtXt::of(ctx, pick.xt(ctx));
    focus::scroll_area(
        ui,
        &focus,
        (egui::ScrollArea::vertical(), "step_truth_scroll"),
        |ui| {
            let gap = 2.0 * ui.spacing().item_spacing.y;
            super::layout::columns(
                ui,
                0.4,
                &mut (pick, &mut commands),
                |ui, (pick, commands), w| match shown {
                    Some(Figure::Density) => {
                        density(ui, ctx, pick, &at, w, (view_h - gap).max(110.0))
                    }
                    Some(Figure::Terms) => {
                        commands.extend(terms(ui, ctx, w, (view_h - gap).max(110.0)))
                    }
                    None => {
                        let density_h = (view_h * 0.45).clamp(150.0, 380.0);
                        density(ui, ctx, pick, &at, w, density_h);
                        let terms_h = (view_h - density_h - 2.0 * gap).clamp(150.0, 380.0);
                        commands.extend(terms(ui, ctx, w, terms_h));
                    }
                },
                |ui, _| {
                    // Level with the plot's legend, and clear of the view's top edge when a
                    // lesson scrolls its first line there.
                    ui.add_space(ui.spacing().item_spacing.y);
                    numbers(ui, ctx, &at, shown);
                    formulas_column(ui);
                },
            )
        },
    );
    commands
}

/// The legend of the plot `figure`.
fn legend(pal: &Palette, figure: Figure) -> Vec<LegendEntry> {
    match figure {
        Figure::Density => vec![
            LegendEntry::line("true step q(x(t-1) | x_t)", pal.total)
                .tip("The true reverse step at the timeline's t and the chosen x_t, an exact mixture"),
            LegendEntry::styled("its Gaussian N(m, v)", pal.total, LineStyle::dashed_dense())
                .tip("The Gaussian with the true step's mean and variance: the best any Gaussian step can do"),
            LegendEntry::line("model step p_theta", pal.evidence).tip(
                "The model's step N(mu_theta(x_t, t), sigma_t^2) with the side panel's model and variance",
            ),
        ],
        Figure::Terms => vec![
            LegendEntry::line("R_t", pal.total).tip(
                "E KL(true step || model step) at each t; with KL(q(x_T) || p(x_T)) they add up to NELBO - H(p0)",
            ),
            LegendEntry::line("G_t (not Gaussian)", pal.gap)
                .tip("E KL(true step || its Gaussian): what no Gaussian model step can remove"),
            LegendEntry::line("M_t (model error)", pal.evidence)
                .tip("E KL(its Gaussian || model step): what the model's mean and variance get wrong"),
            LegendEntry::styled("L(t-1) (ELBO tab)", pal.denoising, LineStyle::dashed_dense())
                .tip("The ELBO tab's terms: another split of the same total"),
            LegendEntry::t_marker(),
        ],
    }
}

/// The true step, its Gaussian and the model's step at the timeline's t and the chosen x_t.
fn density(ui: &mut Ui, ctx: &ViewCtx<'_>, pick: &mut Pick, at: &AtXt, w: f32, h: f32) {
    let pal = Palette::of_ui(ui);
    let legends = ctx.model.settings.toggles.legends;
    let h = legend_row_within(ui, legends, &legend(pal, Figure::Density), h);
    let AtXt {
        xt,
        truth,
        sigma2,
        model_mean,
        ..
    } = at;
    let (xt, sigma2, model_mean) = (*xt, *sigma2, *model_mean);
    // The range of the curves (5 sds of each part of the true step and of the model's step):
    // at small t the step is narrow, and over the data's range it would be a spike.
    let mut parts: Vec<(f64, f64)> = truth.as_ref().map_or_else(Vec::new, |tr| {
        tr.weights
            .iter()
            .zip(tr.means.iter().zip(&tr.vars))
            .filter(|(w, _)| **w > 1e-6)
            .map(|(_, (m, v))| (*m, *v))
            .collect()
    });
    if let Some(s2) = sigma2 {
        parts.push((model_mean, s2));
    }
    parts.push((xt, 0.0));
    let (lo, hi) = pick.frozen_range().unwrap_or_else(|| span(&parts));
    let xs: Vec<f64> = (0..CURVE_POINTS)
        .map(|i| lo + (hi - lo) * i as f64 / (CURVE_POINTS - 1) as f64)
        .collect();
    let resp = still(plot(DENSITY_PLOT, "x(t-1)", "density"))
        .width(w)
        .height(h)
        .include_x(lo)
        .include_x(hi)
        .include_y(0.0)
        .show(ui, |p| {
            // The model's step wide and first: where it matches the true step it shows
            // around it.
            if let Some(s2) = sigma2 {
                p.line(
                    Line::new(
                        "model step p_theta",
                        gaussian_curve(model_mean, s2, (lo, hi)),
                    )
                    .color(pal.evidence)
                    .width(4.5),
                );
            }
            if let Some(tr) = &truth {
                p.line(
                    Line::new(
                        "true step q(x(t-1) | x_t)",
                        xs.iter().map(|&x| [x, tr.density(x)]).collect::<Vec<_>>(),
                    )
                    .color(pal.total)
                    .width(2.5),
                );
                p.line(
                    Line::new(
                        "its Gaussian N(m, v)",
                        gaussian_curve(tr.mean(), tr.variance(), (lo, hi)),
                    )
                    .color(pal.total)
                    .style(LineStyle::dashed_dense())
                    .width(1.5),
                );
            }
            p.vline(
                VLine::new(format!("x_t = {xt:.4}"), xt)
                    .color(super::super::super::palette::NEUTRAL_MARKER)
                    .style(LineStyle::dashed_loose())
                    .width(1.5),
            );
        });
    focus::mark(ui, Target::Plot(DENSITY_PLOT), resp.response.rect);
    let r = &resp.response;
    // The range follows x_t: a drag holds it until the button is released.
    if r.drag_started() {
        pick.freeze(Some((lo, hi)));
    }
    if (r.clicked() || r.dragged())
        && let Some(pos) = r.interact_pointer_pos()
    {
        pick.set_xt(resp.transform.value_from_position(pos).x);
    }
    if !r.dragged() {
        pick.freeze(None);
    }
    r.clone().on_hover_text(
        "Over x(t-1), at the timeline's t: the true reverse step from the chosen x_t (grey dashed line; click or drag here to move it), the Gaussian with its mean and variance, and the model's step. Where the true step has two bumps, no Gaussian fits it.",
    );
}

/// R_t, G_t, M_t and the ELBO's L(t-1) against t.
fn terms(ui: &mut Ui, ctx: &ViewCtx<'_>, w: f32, h: f32) -> Vec<Command> {
    let pal = Palette::of_ui(ui);
    let legends = ctx.model.settings.toggles.legends;
    let h = legend_row_within(ui, legends, &legend(pal, Figure::Terms), h);
    let log = ctx.model.settings.toggles.log_y;
    let shown = shown(ctx);
    let elbo = ctx.elbo();
    let overhang = x_tick_overhang(ui, &ctx.steps().to_string());
    let current = shown.as_ref().is_none_or(|(_, c)| *c);
    let resp = dimmed_unless(ui, current, |ui| {
        plot_maybe_log(TERMS_PLOT, "timestep t", "nats", log)
            .width(w - overhang)
            .height(h)
            .show(ui, |p| {
                // A value within its error estimate of 0 (G_t of fine steps reaches rounding)
                // is not drawn: on a log axis it would be noise.
                let curve = |f: &dyn Fn(&ReverseStepTerm) -> Valued, r: &ReverseSteps| {
                    let pts: Vec<[f64; 2]> = r
                        .terms
                        .iter()
                        .map(|x| (x.t as f64, f(x)))
                        .filter(|(_, v)| v.value.abs() > v.error)
                        .map(|(t, v)| [t, v.value])
                        .collect();
                    maybe_log(&pts, log)
                };
                if let Some((s, _)) = &shown
                    && let Some(r) = &s.model
                {
                    // Wide and first: where G_t is negligible R_t = M_t, and it outlines M_t.
                    p.line(
                        Line::new("R_t", curve(&|x| x.reverse_kl, r))
                            .color(pal.total)
                            .width(4.5),
                    );
                    p.line(
                        Line::new("G_t", curve(&|x| x.non_gaussianity, r))
                            .color(pal.gap)
                            .width(2.0),
                    );
                    p.line(
                        Line::new("M_t", curve(&|x| x.moment_mismatch, r))
                            .color(pal.evidence)
                            .width(2.0),
                    );
                }
                if let Some(e) = &elbo {
                    let pts: Vec<[f64; 2]> = e
                        .value
                        .result
                        .timesteps
                        .iter()
                        .filter_map(|row| Some([row.t as f64, row.loss?]))
                        .collect();
                    let pts = maybe_log(&pts, log);
                    p.line(
                        Line::new("L(t-1)", pts)
                            .color(pal.denoising)
                            .style(LineStyle::dashed_dense())
                            .width(1.5),
                    );
                }
                p.vline(t_marker(ctx.t));
            })
    });
    focus::mark(ui, Target::Plot(TERMS_PLOT), resp.response.rect);
    let t = clicked_t(&resp, ctx.steps());
    resp.response.on_hover_text(
        "Against t: R_t, the expected KL from the true reverse step to the model's step, split into G_t (the true step is not Gaussian) and M_t (the model's Gaussian has the wrong mean or variance); dashed, the ELBO's own terms L(t-1). Both lists add up to NELBO - H(p0) (with L_T and KL(q(x_T) || p(x_T))). Click to set t.",
    );
    if let Some((s, _)) = &shown
        && let Some(m) = s.error(StepPart::Model)
    {
        ui.label(RichText::new(format!("Could not compute R_t: {m}")).color(pal.error));
    }
    t.map(Command::SetT).into_iter().collect()
}

/// A KL (>= 0) from quadrature: "0" when it is within its error estimate of 0, or below 0
/// (a KL is never negative: such a value is rounding, as where the true step has one
/// component left and is Gaussian).
fn at_least_zero(v: Valued) -> String {
    if v.value <= 0.0 {
        "0 (to rounding)".to_owned()
    } else if v.value <= v.error {
        format!("0 (within {})", sci(v.error))
    } else {
        sci(v.value)
    }
}

/// `value ± error`.
fn pm(v: Valued) -> String {
    format!("{} ± {}", sci(v.value), sci(v.error))
}

/// The numbers at x_t, the two totals, the sum of G_t at several T and what the optimal
/// model leaves under each variance.
fn numbers(ui: &mut Ui, ctx: &ViewCtx<'_>, at: &AtXt, shown_figure: Option<Figure>) {
    let pal = Palette::of_ui(ui);
    let results = shown(ctx);
    if results.is_none() {
        ui.label(RichText::new("Computing R_t, G_t and M_t for every t...").color(pal.info));
    }
    // The numbers of the figure shown come first, so that a short view shows them beside it.
    if shown_figure != Some(Figure::Terms) {
        if let Some((s, current)) = results {
            dimmed_unless(ui, current, |ui| family(ui, ctx, s));
        }
        at_xt(ui, at);
    }
    if shown_figure != Some(Figure::Density)
        && let Some((s, current)) = results
    {
        dimmed_unless(ui, current, |ui| {
            variances(ui, s);
            if let Some(r) = &s.model {
                totals(ui, ctx, r);
            }
        });
    }
}

/// The true step, its Gaussian and the model's step at the chosen x_t, in numbers.
fn at_xt(ui: &mut Ui, at: &AtXt) {
    let AtXt {
        t,
        xt,
        truth,
        sigma2,
        model_mean,
    } = at;
    let (t, xt, sigma2, model_mean) = (*t, *xt, *sigma2, *model_mean);
    focus::readout(ui, Target::Readout(focus::key::STEP_AT_XT), |ui| {
        ui.label(RichText::new(format!("At t = {t}, x_t = {xt:.4}")).strong());
        match (truth, sigma2) {
            (Some(tr), Some(s2)) => {
                let (m, v) = (tr.mean(), tr.variance());
                let g = tr.kl_to_gaussian(m, v);
                let mm = normal_kl(m, v, model_mean, s2);
                ui.label(format!(
                    "true step: mean m = {m:.4}, variance v = {}",
                    sci(v)
                ));
                ui.label(format!(
                    "model step: mean {model_mean:.4}, variance {}",
                    sci(s2)
                ));
                ui.label(format!(
                    "G = {} (not Gaussian) + M = {} (model) = {} nats",
                    at_least_zero(g),
                    sci(mm),
                    sci(g.value.max(0.0) + mm)
                ));
            }
            _ => {
                ui.label("Computing the analytic reverse variance (the ELBO tab's table)...");
            }
        }
    });
}

/// The two splits of NELBO - H(p0).
fn totals(ui: &mut Ui, ctx: &ViewCtx<'_>, r: &ReverseSteps) {
    let pal = Palette::of_ui(ui);
    focus::readout(ui, Target::Readout(focus::key::STEP_TOTALS), |ui| {
        ui.label(
            RichText::new(format!(
                "KL(q(x_T) || p(x_T)) + sum of R_t = {}",
                pm(r.total)
            ))
            .strong()
            .color(pal.total),
        )
        .on_hover_text("The chain rule of KL over the reverse steps: the prior's KL plus every step's expected KL");
        ui.label(format!(
            "of which sum of G_t = {} (not Gaussian), sum of M_t = {} (model), KL(q(x_T) || p(x_T)) = {}",
            pm(r.non_gaussianity),
            pm(r.moment_mismatch),
            pm(r.prior_kl)
        ));
        if let Some(e) = ctx.elbo().filter(|e| e.current) {
            let gap = e.value.result.gap;
            ui.label(format!(
                "NELBO - H(p0) from the ELBO tab's terms = {} ± {}: the same number, split another way",
                sci(gap.mean),
                sci(gap.stderr)
            ))
            .on_hover_text("L_0 + sum of L(t-1) + L_T - H(p0), by quadrature: the ELBO's own split of the same total");
        }
    });
}

/// The sum of G_t along the same path in fewer steps.
fn family(ui: &mut Ui, ctx: &ViewCtx<'_>, s: &StepShown) {
    let pal = Palette::of_ui(ui);
    focus::readout(ui, Target::Readout(focus::key::STEP_FAMILY), |ui| {
        if !s.family.is_empty() {
            let parts: Vec<String> = s
                .family
                .iter()
                .map(|(t, g)| format!("{t} steps {}", sci(g.value)))
                .collect();
            ui.label(format!(
                "Sum of G_t along this noise path in {}{}",
                parts.join(", "),
                if s.family_done { "" } else { " ..." }
            ))
            .on_hover_text("How far the true reverse steps are from Gaussian in all, when the same abar_t path (same data, same start and end of the noise) is taken in T' steps, each landing on the schedule's abar at every (T / T')-th step: smaller steps are nearer Gaussian, so the sum falls as T' grows");
        } else if ctx.steps() < 10 {
            ui.label("The sum of G_t along the same path in 10, 100 and 1000 steps needs T >= 10 (a path is taken in fewer steps, not more).");
        }
        if let Some(m) = s.error(StepPart::Family) {
            ui.label(RichText::new(m).color(pal.error));
        }
    });
}

/// What the optimal model leaves under each reverse variance.
fn variances(ui: &mut Ui, s: &StepShown) {
    let pal = Palette::of_ui(ui);
    focus::readout(ui, Target::Readout(focus::key::STEP_VARIANCES), |ui| {
        if let Some(runs) = &s.optimal {
            ui.label(RichText::new("The optimal model, per reverse variance:").strong());
            egui::Grid::new("step_optimal_grid")
                .num_columns(4)
                .spacing([8.0, 2.0])
                .show(ui, |ui| {
                    ui.label("variance");
                    ui.label("M (sum)");
                    ui.label("G (sum)");
                    ui.label("NELBO - H");
                    ui.end_row();
                    for v in VARIANCES {
                        if let Some((_, r)) = runs.iter().find(|(w, _)| *w == v) {
                            ui.label(v.name());
                            ui.label(sci(r.moment_mismatch.value));
                            ui.label(sci(r.non_gaussianity.value));
                            ui.label(sci(r.total.value));
                            ui.end_row();
                        }
                    }
                })
                .response
                .on_hover_text("Columns: the sums over t of M_t and of G_t, and NELBO - H(p0) = KL(q(x_T) || p(x_T)) + sum of R_t. With the optimal model the step's mean is the true step's mean, so M_t is the variance's error alone: fixed_small and fixed_large miss v, analytic matches its average. G_t is the same in every row: no choice of Gaussian removes it");
        }
        if let Some(m) = s.error(StepPart::Optimal) {
            ui.label(RichText::new(m).color(pal.error));
        }
    });
}

fn formulas_column(ui: &mut Ui) {
    ui.add_space(6.0);
    tex::show(ui, formulas::TRUE_STEP).on_hover_text(
        "Bayes' rule on one forward step: for mixture data a mixture again, exactly",
    );
    tex::show(ui, formulas::CHAIN_RULE).on_hover_text(
        "The chain rule of KL over the reverse factorisation of q(x_0:T) and p_theta(x_0:T)",
    );
    tex::show(ui, formulas::R_SPLIT).on_hover_text(
        "Each reverse term, split exactly: the expectation of a log-Gaussian depends only on the first two moments",
    );
    tex::show(ui, formulas::G_TERM)
        .on_hover_text("m and v: the mean and variance of the true step at x_t");
    tex::show(ui, formulas::M_TERM)
        .on_hover_text("0 only when the model's step has the true step's mean and variance");
}
