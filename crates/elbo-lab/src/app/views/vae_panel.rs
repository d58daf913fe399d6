//! The VAE panel of the Evidence tab (issue 10, section 1): the first step of Luo's
//! derivation, exactly. A 1D latent model p(z) = N(0, 1), p(x | z) = N(f(z), sigma^2) with
//! a linear, tanh or quadratic decoder; the user picks an x (slider, or a click or drag on
//! the p(x) plot) and a Gaussian encoder q(z | x) = N(mu, s^2), and sees
//!
//! ```text
//! log p(x) = ELBO + KL(q(z|x) || p(z|x))        (the bound and its gap)
//! ELBO     = E_q[log p(x|z)] - KL(q(z|x) || p(z)) (reconstruction - prior matching)
//! ```
//!
//! as plots (p(z), p(z | x), q(z | x) over z; p(x) over x), signed stacked bars and numbers,
//! all by quadrature or in closed form ([`elbo_core::vae`]), no Monte Carlo. "Fit q" animates
//! natural-gradient ascent on the ELBO ([`LatentModel::fit_step`], a few steps a frame): the
//! gap goes to zero for the linear decoder (a Gaussian posterior) and stays above zero for
//! a nonlinear one, which the panel says on screen.
//!
//! Colours (see [`crate::app::palette`]): p(z) neutral (dashed), p(z | x) and log p(x) the
//! evidence colour, q(z | x) and the ELBO the totals' colour (the ELBO is evaluated with q),
//! the gap brown, reconstruction yellow, prior matching vermillion.
//!
//! All state is the panel's own; the expensive pieces (the posterior on its grid, the p(x)
//! curve, the terms) are cached by their inputs, so an idle frame computes nothing.

use egui::{Align, Color32, Layout, Rect, RichText, Sense, Stroke, Ui, pos2, vec2};
use egui_plot::{Line, LineStyle, MarkerShape, Points, VLine};

use crate::app::formula;
use crate::app::palette::Palette;
use crate::app::plot_util::{LegendEntry, legend_row, plot, still, text_width};
use elbo_core::vae::{Decoder, Encoder, EvidenceTerms, LatentModel, VaeError};

/// The range of the sigma slider (logarithmic).
pub const SIGMA_RANGE: (f64, f64) = (0.05, 2.0);
/// The range of the x slider.
pub const X_RANGE: (f64, f64) = (-8.0, 8.0);
/// The range of the mu slider.
pub const MU_RANGE: (f64, f64) = (-6.0, 6.0);
/// The range of the log s slider.
pub const LOG_S_RANGE: (f64, f64) = (-5.0, 1.5);
/// The learning rate of each fitting step (natural gradient, halved until the ELBO rises).
pub const FIT_RATE: f64 = 0.5;
/// Fitting steps per frame: the fit is animated, each frame cheap.
pub const FIT_STEPS_PER_FRAME: usize = 2;
/// The fit has converged when a step moves q less than this (in mu / s and in log s).
pub const FIT_TOL: f64 = 1e-6;
/// The fit stops after this many steps even if not converged.
pub const FIT_MAX_STEPS: usize = 20_000;
/// The least height (points) of the two plots: below it the results scroll.
const MIN_PLOT_H: f32 = 150.0;

/// Most points drawn of one curve.
const MAX_DRAWN: usize = 1500;
/// Points drawn of q(z | x), over mu +- 5 s.
const Q_POINTS: usize = 241;

/// The slider range of parameter `i` of a decoder of the kind of `d`.
pub fn parameter_range(d: &Decoder, i: usize) -> (f64, f64) {
    match (d, i) {
        (Decoder::Linear { .. }, 0) => (-3.0, 3.0),
        (Decoder::Linear { .. }, _) => (-3.0, 3.0),
        (Decoder::Tanh { .. }, 0) => (0.5, 4.0),
        (Decoder::Tanh { .. }, _) => (0.25, 6.0),
        (Decoder::Quadratic { .. }, 0) => (-2.0, 2.0),
        (Decoder::Quadratic { .. }, _) => (-1.0, 1.0),
    }
}

/// A value in nats as the panel shows it: 4 decimals, "undefined" when not finite, and
/// never "-0.0000".
pub fn nats(v: f64) -> String {
    if !v.is_finite() {
        return "undefined".to_owned();
    }
    let s = format!("{v:.4}");
    if s == "-0.0000" {
        "0.0000".to_owned()
    } else {
        s
    }
}

/// How the last fit ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FitEnd {
    /// A step moved q less than [`FIT_TOL`].
    Converged,
    /// The user moved a control.
    Interrupted,
    /// [`FIT_MAX_STEPS`] were taken without converging.
    StepLimit,
}

/// The outcome of the last fit, valid while the model, x and q stay as it left them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FitOutcome {
    model: LatentModel,
    x: f64,
    encoder: Encoder,
    steps: usize,
    end: FitEnd,
}

/// The posterior p(z | x) drawn, of one model and x.
#[derive(Debug, Clone)]
struct PosteriorCurve {
    model: LatentModel,
    x: f64,
    points: Vec<[f64; 2]>,
}

/// The marginal p(x) drawn, of one model.
#[derive(Debug, Clone)]
struct MarginalCurve {
    model: LatentModel,
    points: Vec<[f64; 2]>,
}

/// The evidence terms of one model, x and encoder.
#[derive(Debug, Clone, Copy)]
struct TermsCache {
    model: LatentModel,
    x: f64,
    encoder: Encoder,
    terms: EvidenceTerms,
}

/// The VAE panel: a latent model, a chosen x and a Gaussian encoder, with the evidence,
/// the ELBO and its gap, and an animated fit of the encoder. See the module docs.
#[derive(Debug, Clone)]
pub struct VaePanel {
    /// The decoder kind shown (index into [`Decoder::DEFAULTS`]).
    kind: usize,
    /// Each kind's parameters, kept while another kind is shown.
    decoders: [Decoder; 3],
    sigma: f64,
    x: f64,
    encoder: Encoder,
    fitting: bool,
    fit_steps: usize,
    outcome: Option<FitOutcome>,
    error: Option<String>,
    posterior: Option<PosteriorCurve>,
    marginal: Option<MarginalCurve>,
    terms: Option<TermsCache>,
    q_curve: Option<(Encoder, Vec<[f64; 2]>)>,
    prior_curve: Vec<[f64; 2]>,
    computations: u64,
    /// The bottom row's height last frame, and whether the numbers had their header.
    bottom_h: Option<(bool, f32)>,
}

impl Default for VaePanel {
    fn default() -> Self {
        let prior_curve = (0..=200)
            .map(|i| {
                let z = -4.0 + 8.0 * i as f64 / 200.0;
                [z, PRIOR.density(z)]
            })
            .collect();
        VaePanel {
            kind: 0,
            decoders: Decoder::DEFAULTS,
            sigma: 0.3,
            x: 1.0,
            encoder: PRIOR,
            fitting: false,
            fit_steps: 0,
            outcome: None,
            error: None,
            posterior: None,
            marginal: None,
            terms: None,
            q_curve: None,
            prior_curve,
            computations: 0,
            bottom_h: None,
        }
    }
}

/// The prior N(0, 1) as an encoder: where q starts and where "Reset q" puts it.
const PRIOR: Encoder = Encoder {
    mu: 0.0,
    log_s: 0.0,
};

impl VaePanel {
    /// The latent model of the controls.
    pub fn model(&self) -> LatentModel {
        LatentModel {
            decoder: self.decoders[self.kind],
            sigma: self.sigma,
        }
    }

    /// The chosen data point x.
    pub fn x(&self) -> f64 {
        self.x
    }

    /// The encoder q(z | x).
    pub fn encoder(&self) -> Encoder {
        self.encoder
    }

    /// The evidence terms of the current model, x and encoder (`None` for bad inputs: the
    /// panel then shows the error and keeps the last valid values on screen).
    pub fn terms(&self) -> Option<EvidenceTerms> {
        match self.terms {
            Some(c) if c.model == self.model() && c.x == self.x && c.encoder == self.encoder => {
                Some(c.terms)
            }
            _ => self.model().terms(self.x, &self.encoder).ok(),
        }
    }

    /// True while "Fit q" runs.
    pub fn is_fitting(&self) -> bool {
        self.fitting
    }

    /// Steps taken by the running (or last) fit.
    pub fn fit_steps(&self) -> usize {
        self.fit_steps
    }

    /// How the last fit ended and after how many steps, while the model, x and q are as
    /// it left them.
    pub fn fit_end(&self) -> Option<(FitEnd, usize)> {
        self.current_outcome().map(|o| (o.end, o.steps))
    }

    /// The error shown, if the inputs cannot be evaluated.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// How many expensive pieces (posterior curve, p(x) curve, terms) were computed so far:
    /// an idle frame adds none.
    pub fn computations(&self) -> u64 {
        self.computations
    }

    /// Show this decoder (its kind and parameters). Stops a fit.
    pub fn set_decoder(&mut self, decoder: Decoder) {
        self.kind = kind_of(&decoder);
        self.decoders[self.kind] = decoder;
        self.fitting = false;
    }

    /// Set sigma (any value: a bad one is shown as an error). Stops a fit.
    pub fn set_sigma(&mut self, sigma: f64) {
        self.sigma = sigma;
        self.fitting = false;
    }

    /// Set x (any value: a bad one is shown as an error). Stops a fit.
    pub fn set_x(&mut self, x: f64) {
        self.x = x;
        self.fitting = false;
    }

    /// Start fitting q (as the "Fit q" button).
    pub fn start_fit(&mut self) {
        self.fitting = true;
        self.fit_steps = 0;
        self.outcome = None;
    }

    fn current_outcome(&self) -> Option<&FitOutcome> {
        self.outcome
            .as_ref()
            .filter(|o| o.model == self.model() && o.x == self.x && o.encoder == self.encoder)
    }

    /// Draw the panel in all the room `ui` gives: the controls in a scrolling column at
    /// the left, the message, plots, bars and numbers at the right.
    pub fn ui(&mut self, ui: &mut Ui) {
        let avail = ui.available_size();
        let h = avail.y.max(120.0);
        let ctrl_w = (avail.x * 0.3).clamp(200.0, 280.0);
        let mut changed = false;
        ui.horizontal_top(|ui| {
            ui.allocate_ui_with_layout(vec2(ctrl_w, h), Layout::top_down(Align::Min), |ui| {
                ui.set_width(ctrl_w);
                egui::ScrollArea::vertical()
                    .id_salt("vae_controls")
                    .max_height(h)
                    .auto_shrink([false, true])
                    .show(ui, |ui| changed = self.controls(ui));
            });
            ui.separator();
            if changed {
                self.fitting = false;
                self.outcome = self.outcome.map(|o| FitOutcome {
                    end: FitEnd::Interrupted,
                    ..o
                });
            }
            self.advance_fit(ui.ctx());
            self.refresh();
            let w = (ui.available_width()).max(120.0);
            ui.allocate_ui_with_layout(vec2(w, h), Layout::top_down(Align::Min), |ui| {
                ui.set_width(w);
                // On a short window the plots keep a readable height and the bars and
                // numbers scroll below them.
                egui::ScrollArea::vertical()
                    .id_salt("vae_results")
                    .max_height(h)
                    .auto_shrink([false, true])
                    .show(ui, |ui| self.results(ui, w, h));
            });
        });
    }

    /// The controls; true when the user changed one (which stops a fit).
    fn controls(&mut self, ui: &mut Ui) -> bool {
        let mut changed = false;
        ui.label(RichText::new("Decoder f(z)").strong())
            .on_hover_text(
                "The decoder's mean f(z) in p(x|z) = N(f(z), sigma^2); the prior is p(z) = N(0, 1)",
            );
        for (i, d) in Decoder::DEFAULTS.iter().enumerate() {
            let tip = match d {
                Decoder::Linear { .. } => {
                    "f(z) = a z + b: everything is Gaussian, so the posterior p(z|x) is Gaussian and a Gaussian q can equal it"
                }
                Decoder::Tanh { .. } => {
                    "f(z) = c tanh(k z): most latents land near +-c, so p(x) is bimodal; an x between the modes has a stretched, skewed posterior"
                }
                Decoder::Quadratic { .. } => {
                    "f(z) = a z + c z^2: a skewed p(x); an x on the folded side has two latents mapping to it (a bimodal posterior)"
                }
            };
            if ui
                .radio(self.kind == i, d.name())
                .on_hover_text(tip)
                .clicked()
                && self.kind != i
            {
                self.kind = i;
                changed = true;
            }
        }
        let decoder = self.decoders[self.kind];
        ui.label(decoder.formula())
            .on_hover_text("The decoder with its current parameters");
        for (i, (name, value)) in decoder.parameters().into_iter().enumerate() {
            let (lo, hi) = parameter_range(&decoder, i);
            let tip = format!(
                "The decoder parameter {name} (from {lo} to {hi}); the formula above shows it in place"
            );
            if let Some(v) = slider(ui, name, &tip, value, (lo, hi), false) {
                self.decoders[self.kind] = decoder.with_parameter(i, v);
                changed = true;
            }
        }
        if let Some(v) = slider(
            ui,
            "sigma",
            "The decoder's noise sd sigma in p(x|z) = N(f(z), sigma^2) (log scale): small sigma, a sharp likelihood and a narrow posterior",
            self.sigma,
            SIGMA_RANGE,
            true,
        ) {
            self.sigma = v;
            changed = true;
        }
        ui.separator();
        if let Some(v) = slider(
            ui,
            "x",
            "The data point x whose evidence log p(x) is bounded; click or drag on the p(x) plot to set it too",
            self.x,
            X_RANGE,
            false,
        ) {
            self.x = v;
            changed = true;
        }
        ui.label(RichText::new("Encoder q(z|x) = N(mu, s^2)").strong())
            .on_hover_text("The Gaussian encoder the ELBO is evaluated with; Fit q maximises the ELBO over mu and log s");
        if let Some(v) = slider(
            ui,
            "mu",
            "The encoder's mean mu",
            self.encoder.mu,
            MU_RANGE,
            false,
        ) {
            self.encoder.mu = v;
            changed = true;
        }
        if let Some(v) = slider(
            ui,
            "log s",
            "The log of the encoder's sd s (s = exp(log s))",
            self.encoder.log_s,
            LOG_S_RANGE,
            false,
        ) {
            self.encoder.log_s = v;
            changed = true;
        }
        ui.horizontal_wrapped(|ui| {
            if self.fitting {
                if ui
                    .button("Stop fit")
                    .on_hover_text("Stop the gradient ascent where it is")
                    .clicked()
                {
                    changed = true;
                }
            } else if ui
                .button("Fit q")
                .on_hover_text("Animate natural-gradient ascent on the ELBO over mu and log s (exact gradients by quadrature) until a step moves q less than 1e-6; moving any control stops it")
                .clicked()
            {
                self.start_fit();
            }
            if ui
                .button("Reset q")
                .on_hover_text("Put q back to the prior N(0, 1) (mu = 0, log s = 0)")
                .clicked()
            {
                self.encoder = PRIOR;
                changed = true;
            }
        });
        if self.fitting || self.fit_steps > 0 {
            ui.label(format!("fit: {} steps", self.fit_steps))
                .on_hover_text("Gradient steps taken by the running (or last) fit");
        }
        changed
    }

    /// A few fitting steps, while a fit runs.
    fn advance_fit(&mut self, ctx: &egui::Context) {
        if !self.fitting {
            return;
        }
        let model = self.model();
        for _ in 0..FIT_STEPS_PER_FRAME {
            let q = self.encoder;
            let next = match model.fit_step(self.x, &q, FIT_RATE) {
                Ok(next) => next,
                Err(e) => {
                    self.error = Some(error_text(&e));
                    self.fitting = false;
                    return;
                }
            };
            self.fit_steps += 1;
            self.encoder = next;
            let moved = ((next.mu - q.mu) / q.s())
                .abs()
                .max((next.log_s - q.log_s).abs());
            let end = if moved < FIT_TOL {
                Some(FitEnd::Converged)
            } else if self.fit_steps >= FIT_MAX_STEPS {
                Some(FitEnd::StepLimit)
            } else {
                None
            };
            if let Some(end) = end {
                self.fitting = false;
                self.outcome = Some(FitOutcome {
                    model,
                    x: self.x,
                    encoder: next,
                    steps: self.fit_steps,
                    end,
                });
                return;
            }
        }
        ctx.request_repaint();
    }

    /// Recompute what the inputs changed; on bad inputs keep the last valid values and
    /// note the error.
    fn refresh(&mut self) {
        let model = self.model();
        let (x, q) = (self.x, self.encoder);
        let fresh = self
            .terms
            .is_some_and(|c| c.model == model && c.x == x && c.encoder == q);
        if !fresh {
            match model.terms(x, &q) {
                Ok(terms) => {
                    self.computations += 1;
                    self.terms = Some(TermsCache {
                        model,
                        x,
                        encoder: q,
                        terms,
                    });
                    self.error = None;
                }
                Err(e) => {
                    self.error = Some(error_text(&e));
                    self.fitting = false;
                    return;
                }
            }
        }
        if self.error.is_some() {
            return;
        }
        if !self
            .posterior
            .as_ref()
            .is_some_and(|p| p.model == model && p.x == x)
        {
            self.computations += 1;
            self.posterior = Some(PosteriorCurve {
                model,
                x,
                points: posterior_points(&model, x),
            });
        }
        if !self.marginal.as_ref().is_some_and(|m| m.model == model) {
            self.computations += 1;
            self.marginal = Some(MarginalCurve {
                model,
                points: marginal_points(&model),
            });
        }
        if !self.q_curve.as_ref().is_some_and(|(e, _)| *e == q) {
            let s = q.s();
            let points = (0..Q_POINTS)
                .map(|i| {
                    let z = q.mu + s * (-5.0 + 10.0 * i as f64 / (Q_POINTS - 1) as f64);
                    [z, q.density(z)]
                })
                .collect();
            self.q_curve = Some((q, points));
        }
    }

    /// The message, the legend, the two plots, the bars and the numbers.
    fn results(&mut self, ui: &mut Ui, w: f32, h: f32) {
        let pal = Palette::of_ui(ui);
        let top = ui.cursor().top();
        let message = self.message();
        formula::rich(ui, &message).on_hover_text(
            "Gap = KL(q(z|x) || p(z|x)) = log p(x) - ELBO >= 0: zero only when q equals the posterior",
        );
        if let Some(e) = &self.error {
            ui.colored_label(
                pal.error,
                format!("Cannot evaluate: {e}. The last valid values are shown dimmed."),
            )
            .on_hover_text("Change the control named to a valid value");
            // The last valid values, dimmed: they are not of the current inputs.
            ui.multiply_opacity(0.5);
        }
        legend_row(ui, true, &legend(pal));
        let sp = ui.spacing().item_spacing;
        // The numbers' column header only where there is height to spare.
        let header = h >= 480.0;
        let rows = if header { 6.0 } else { 5.0 };
        let estimate = rows
            * (ui
                .text_style_height(&egui::TextStyle::Body)
                .max(formula::base_size(ui) * 1.45)
                + sp.y);
        // The bottom row's height as measured last frame (the grid's rows are as tall as
        // their formulas), or an estimate.
        let bottom_h = self
            .bottom_h
            .filter(|(hd, _)| *hd == header)
            .map_or(estimate, |(_, b)| b);
        let used = ui.cursor().top() - top;
        let plot_h = (h - used - bottom_h - 3.0 * sp.y).max(MIN_PLOT_H);
        let half = ((w - sp.x) / 2.0).floor().max(60.0);
        ui.horizontal_top(|ui| {
            self.latent_plot(ui, pal, half, plot_h);
            self.marginal_plot(ui, pal, half, plot_h);
        });
        ui.horizontal_top(|ui| {
            let bars_w = (0.42 * w - sp.x).max(60.0);
            ui.allocate_ui_with_layout(
                vec2(bars_w, bottom_h),
                Layout::top_down(Align::Min),
                |ui| {
                    ui.set_width(bars_w);
                    self.bars(ui, pal, bars_w, bottom_h);
                },
            );
            let grid = ui.vertical(|ui| self.numbers(ui, pal, header)).response;
            let measured = grid.rect.height().max(4.0 * sp.y + 60.0);
            if (measured - bottom_h).abs() > 0.5 {
                self.bottom_h = Some((header, measured));
                ui.ctx().request_repaint();
            }
        });
    }

    /// The on-screen message: what the fit can do for this decoder, and what it did.
    pub fn message(&self) -> String {
        let linear = self.decoders[self.kind].is_linear();
        let gap = self.terms().map(|t| t.gap);
        let gap_text = gap.map_or_else(|| "undefined".to_owned(), nats);
        if self.fitting {
            return format!(
                "Fitting q: step {}, gap {gap_text} nats (the ELBO rises every step).",
                self.fit_steps
            );
        }
        match (self.current_outcome(), linear) {
            (Some(o), true) if o.end == FitEnd::Converged => format!(
                "Fit converged after {} steps: gap = {gap_text} nats. The posterior is Gaussian, so a fitted Gaussian q closes the gap (gap -> 0): q is the posterior.",
                o.steps
            ),
            (Some(o), false) if o.end == FitEnd::Converged && gap.is_some_and(|g| g < 5e-5) => format!(
                "Fit converged after {} steps: gap = {gap_text} nats. At this x the posterior is nearly Gaussian, but not exactly: for a nonlinear decoder the best Gaussian q leaves a gap above zero (try an x where p(z|x) is skewed or has two modes).",
                o.steps
            ),
            (Some(o), false) if o.end == FitEnd::Converged => format!(
                "Fit converged after {} steps: the gap stays at {gap_text} nats. The posterior is not Gaussian, so the best Gaussian q leaves a gap above zero.",
                o.steps
            ),
            (Some(o), _) if o.end == FitEnd::StepLimit => format!(
                "Fit stopped after {} steps without converging: gap {gap_text} nats.",
                o.steps
            ),
            (_, true) => "Linear decoder: the posterior is Gaussian, so a fitted Gaussian q closes the gap (gap -> 0). Press Fit q.".to_owned(),
            (_, false) => "Nonlinear decoder: the posterior is not Gaussian, so the best Gaussian q leaves a gap above zero (press Fit q to see how much).".to_owned(),
        }
    }

    fn latent_plot(&self, ui: &mut Ui, pal: &Palette, w: f32, h: f32) {
        let post = self.posterior.as_ref().map(|p| p.points.clone());
        let q = self.q_curve.as_ref().map(|(_, p)| p.clone());
        let prior = self.prior_curve.clone();
        still(plot("vae_latent", "z", "density"))
            .width(w)
            .height(h)
            .include_y(0.0)
            .show(ui, |p| {
                p.line(
                    Line::new("p(z) = N(0, 1)", prior)
                        .color(pal.neutral)
                        .style(LineStyle::dashed_dense())
                        .width(1.5),
                );
                if let Some(pts) = post {
                    p.line(Line::new("p(z|x)", pts).color(pal.evidence).width(2.5));
                }
                if let Some(pts) = q {
                    p.line(Line::new("q(z|x)", pts).color(pal.total).width(2.0));
                }
            })
            .response
            .on_hover_text("Over z: the prior p(z), the true posterior p(z|x) of the chosen x (on a grid, exact) and the encoder q(z|x)");
    }

    fn marginal_plot(&mut self, ui: &mut Ui, pal: &Palette, w: f32, h: f32) {
        let pts = self.marginal.as_ref().map(|m| m.points.clone());
        let x = self.x;
        let marker_y = self.terms().map(|t| t.log_evidence.exp());
        let resp = still(plot("vae_marginal", "x", "p(x)"))
            .width(w)
            .height(h)
            .include_y(0.0)
            .include_x(if x.is_finite() { x } else { 0.0 })
            .show(ui, |p| {
                if let Some(pts) = pts {
                    p.line(Line::new("p(x)", pts).color(pal.evidence).width(2.0));
                }
                if x.is_finite() {
                    p.vline(
                        VLine::new(format!("x = {x:.3}"), x)
                            .color(pal.neutral)
                            .style(LineStyle::dashed_loose())
                            .width(1.5),
                    );
                    if let Some(y) = marker_y.filter(|y| y.is_finite()) {
                        p.points(
                            Points::new("p(x) at the chosen x", vec![[x, y]])
                                .color(pal.evidence)
                                .shape(MarkerShape::Circle)
                                .radius(4.0),
                        );
                    }
                }
            });
        let set = (resp.response.clicked() || resp.response.dragged())
            .then(|| resp.response.interact_pointer_pos())
            .flatten()
            .map(|pos| resp.transform.value_from_position(pos).x);
        resp.response
            .on_hover_text("The model's marginal p(x) = integral of p(z) p(x|z) dz, with the chosen x (dashed). Click or drag here to set x.");
        if let Some(v) = set.filter(|v| v.is_finite()) {
            self.x = v.clamp(X_RANGE.0, X_RANGE.1);
            if self.fitting {
                self.fitting = false;
            }
        }
    }

    /// Signed stacked bars, a waterfall on one nats axis from 0: log p(x); the ELBO and the
    /// gap from it to log p(x); the reconstruction and the prior matching subtracted from it
    /// down to the ELBO. A row's second part sits in the lower half, so parts never cover
    /// each other whatever their signs.
    fn bars(&self, ui: &mut Ui, pal: &Palette, w: f32, h: f32) {
        let caption = "nats; 0 at the grey line";
        let cap_h = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
        let (rect, resp) = ui.allocate_exact_size(vec2(w, (h - cap_h).max(60.0)), Sense::hover());
        resp.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Image,
                true,
                "Evidence bars: log p(x) = ELBO + gap; ELBO = reconstruction - prior matching",
            )
        });
        resp.on_hover_text(BARS_TIP);
        ui.label(caption).on_hover_text(BARS_TIP);
        let Some(t) = self.terms.map(|c| c.terms) else {
            return;
        };
        if !ui.is_rect_visible(rect) {
            return;
        }
        let painter = ui.painter_at(rect);
        let text = ui.visuals().text_color();
        let font = egui::TextStyle::Body.resolve(ui.style());
        // (from, to, colour, part of the row: full, upper or lower half, hatched).
        let rows: [(&str, Vec<Part>); 3] = [
            (
                "log p(x)",
                vec![Part::full(0.0, t.log_evidence, pal.evidence)],
            ),
            (
                "ELBO + gap",
                vec![
                    Part::upper(0.0, t.elbo, pal.total),
                    Part::lower(t.elbo, t.log_evidence, pal.gap, false),
                ],
            ),
            (
                "rec - prior",
                vec![
                    Part::upper(0.0, t.reconstruction, pal.reconstruction),
                    Part::lower(t.reconstruction, t.elbo, pal.prior, true),
                ],
            ),
        ];
        let label_w = rows
            .iter()
            .map(|(n, _)| text_width(ui, n, &egui::TextStyle::Body))
            .fold(0.0, f32::max)
            + 8.0;
        let (mut lo, mut hi) = (0.0_f64, 0.0_f64);
        for (_, parts) in &rows {
            for p in parts {
                if p.from.is_finite() && p.to.is_finite() {
                    lo = lo.min(p.from).min(p.to);
                    hi = hi.max(p.from).max(p.to);
                }
            }
        }
        if hi - lo < 1e-12 {
            hi = lo + 1.0;
        }
        let pad = 0.04 * (hi - lo);
        let (lo_v, hi_v) = (lo, hi);
        let (lo, hi) = (lo - pad, hi + pad);
        let axis_h = ui.text_style_height(&egui::TextStyle::Body) + 2.0;
        let area = Rect::from_min_max(
            pos2(rect.left() + label_w, rect.top() + 2.0),
            pos2(rect.right() - 4.0, rect.bottom() - axis_h),
        );
        let to_x = |v: f64| area.left() + ((v - lo) / (hi - lo)) as f32 * area.width();
        let row_h = area.height() / 3.0;
        let row_y = |r: usize| {
            let y0 = area.top() + row_h * r as f32;
            (y0 + row_h * 0.12, y0 + row_h * 0.88)
        };
        for (r, (name, parts)) in rows.iter().enumerate() {
            let (b0, b1) = row_y(r);
            painter.text(
                pos2(rect.left(), (b0 + b1) / 2.0),
                egui::Align2::LEFT_CENTER,
                *name,
                font.clone(),
                text,
            );
            let mid = (b0 + b1) / 2.0;
            for p in parts {
                if !(p.from.is_finite() && p.to.is_finite()) {
                    continue;
                }
                let (ya, yb) = match p.half {
                    Half::Full => (b0, b1),
                    Half::Upper => (b0, mid),
                    Half::Lower => (mid, b1),
                };
                let (xa, xb) = (to_x(p.from), to_x(p.to));
                let left = xa.min(xb);
                let seg = Rect::from_x_y_ranges(left..=xa.max(xb).max(left + 1.0), ya..=yb);
                if p.hatched {
                    painter.rect_filled(seg, 0.0, p.colour.gamma_multiply(0.3));
                    hatch(&painter, seg, p.colour);
                    painter.rect_stroke(
                        seg,
                        0.0,
                        Stroke::new(1.5, p.colour),
                        egui::StrokeKind::Inside,
                    );
                } else {
                    painter.rect_filled(seg, 0.0, p.colour);
                }
            }
        }
        // Guides: log p(x) through rows 1-2, the ELBO through rows 2-3.
        let guide = |v: f64, r0: usize, r1: usize, colour: Color32| {
            if v.is_finite() {
                let x = to_x(v);
                painter.extend(egui::Shape::dashed_line(
                    &[pos2(x, row_y(r0).0), pos2(x, row_y(r1).1)],
                    Stroke::new(1.0, colour),
                    4.0,
                    3.0,
                ));
            }
        };
        guide(t.log_evidence, 0, 1, pal.evidence);
        guide(t.elbo, 1, 2, pal.total);
        let zero = to_x(0.0);
        painter.line_segment(
            [pos2(zero, area.top()), pos2(zero, area.bottom())],
            Stroke::new(1.5, pal.neutral),
        );
        let y = area.bottom() + 1.0;
        let lo_x = to_x(lo_v);
        let hi_x = to_x(hi_v);
        if (lo_x - zero).abs() > 1.0 {
            painter.text(
                pos2(area.left(), y),
                egui::Align2::LEFT_TOP,
                format!("{lo_v:.2}"),
                font.clone(),
                text,
            );
        }
        if (hi_x - zero).abs() > 1.0 {
            painter.text(
                pos2(area.right(), y),
                egui::Align2::RIGHT_TOP,
                format!("{hi_v:.2}"),
                font.clone(),
                text,
            );
        }
        let room = |p: f32| (p - area.left()).abs() > 45.0 && (p - area.right()).abs() > 45.0;
        if room(zero) || (lo_x - zero).abs() <= 1.0 || (hi_x - zero).abs() <= 1.0 {
            let align = if (lo_x - zero).abs() <= 1.0 {
                egui::Align2::LEFT_TOP
            } else if (hi_x - zero).abs() <= 1.0 {
                egui::Align2::RIGHT_TOP
            } else {
                egui::Align2::CENTER_TOP
            };
            painter.text(pos2(zero, y), align, "0", font, text);
        }
    }

    /// The numbers, in nats, with their formulas and colours.
    fn numbers(&self, ui: &mut Ui, pal: &Palette, header: bool) {
        let t = self.terms.map(|c| c.terms);
        let rows: [(&str, &str, Color32, Option<f64>); 5] = [
            (
                r"\log p(x)",
                "The evidence log p(x), by quadrature over z",
                pal.evidence,
                t.map(|t| t.log_evidence),
            ),
            (
                r"\mathrm{ELBO}",
                "The evidence lower bound: reconstruction - prior matching",
                pal.total,
                t.map(|t| t.elbo),
            ),
            (
                r"\mathrm{KL}(q \,\|\, p(z|x))",
                "The gap log p(x) - ELBO = KL(q(z|x) || p(z|x)) >= 0",
                pal.gap,
                t.map(|t| t.gap),
            ),
            (
                r"\mathbb{E}_q[\log p(x|z)]",
                "The reconstruction term E_q[log p(x|z)], by quadrature over q",
                pal.reconstruction,
                t.map(|t| t.reconstruction),
            ),
            (
                r"\mathrm{KL}(q \,\|\, p(z))",
                "The prior matching term KL(q(z|x) || p(z)), in closed form",
                pal.prior,
                t.map(|t| t.prior_matching),
            ),
        ];
        egui::Grid::new("vae_numbers")
            .num_columns(2)
            .spacing(vec2(10.0, ui.spacing().item_spacing.y))
            .show(ui, |ui| {
                if header {
                    ui.label(RichText::new("term").strong()).on_hover_text(
                        "log p(x) = ELBO + gap; ELBO = reconstruction - prior matching",
                    );
                    ui.label(RichText::new("nats").strong())
                        .on_hover_text("Exact values (quadrature and closed forms), 4 decimals");
                    ui.end_row();
                }
                for (src, tip, colour, value) in rows {
                    ui.horizontal(|ui| {
                        let (r, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
                        ui.painter().rect_filled(r, 2.0, colour);
                        ui.add(formula::Formula::new(src).natural())
                            .on_hover_text(tip);
                    });
                    ui.label(value.map_or_else(|| "undefined".to_owned(), nats))
                        .on_hover_text(tip);
                    ui.end_row();
                }
            });
    }
}

/// What the bars show, on hover.
const BARS_TIP: &str = "A waterfall on one signed axis (nats) from 0, the grey line: a part left of it is negative, and the scale is the same in every row. Row 1: log p(x). Row 2: the ELBO (upper half, from 0), then the gap KL(q||p(z|x)) >= 0 (lower half) from the ELBO up to log p(x). Row 3: the reconstruction E_q[log p(x|z)] (upper half, from 0), then the prior matching KL(q||p(z)) >= 0 subtracted from it (lower half, hatched) down to the ELBO. Dashed guides mark log p(x) and the ELBO.";

/// Which part of a bar row a part fills.
#[derive(Debug, Clone, Copy)]
enum Half {
    Full,
    Upper,
    Lower,
}

/// One part of a bar row: from `from` to `to` nats.
#[derive(Debug, Clone, Copy)]
struct Part {
    from: f64,
    to: f64,
    colour: Color32,
    half: Half,
    hatched: bool,
}

impl Part {
    fn full(from: f64, to: f64, colour: Color32) -> Self {
        Part {
            from,
            to,
            colour,
            half: Half::Full,
            hatched: false,
        }
    }

    fn upper(from: f64, to: f64, colour: Color32) -> Self {
        Part {
            from,
            to,
            colour,
            half: Half::Upper,
            hatched: false,
        }
    }

    fn lower(from: f64, to: f64, colour: Color32, hatched: bool) -> Self {
        Part {
            from,
            to,
            colour,
            half: Half::Lower,
            hatched,
        }
    }
}

/// Diagonal hatching over `r` (a subtracted part).
fn hatch(painter: &egui::Painter, r: Rect, colour: Color32) {
    let h = r.height();
    let mut x = r.left() - h;
    while x < r.right() {
        // The segment from (x, bottom) to (x + h, top), cut to r.
        let (x0, x1) = (x.max(r.left()), (x + h).min(r.right()));
        if x1 > x0 {
            let y = |xx: f32| r.bottom() - (xx - x);
            painter.line_segment([pos2(x0, y(x0)), pos2(x1, y(x1))], Stroke::new(1.0, colour));
        }
        x += 6.0;
    }
}

/// The kind index of a decoder in [`Decoder::DEFAULTS`].
fn kind_of(d: &Decoder) -> usize {
    match d {
        Decoder::Linear { .. } => 0,
        Decoder::Tanh { .. } => 1,
        Decoder::Quadratic { .. } => 2,
    }
}

fn error_text(e: &VaeError) -> String {
    e.to_string()
}

/// A labelled slider on a copy of `value` (shown clamped to its range); the new value when
/// the user moved it.
fn slider(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    value: f64,
    (lo, hi): (f64, f64),
    log: bool,
) -> Option<f64> {
    let mut v = if value.is_finite() {
        value.clamp(lo, hi)
    } else {
        lo
    };
    let before = v;
    let r = ui
        .horizontal(|ui| {
            let l = ui.label(label).on_hover_text(tip);
            ui.spacing_mut().slider_width = (ui.available_width() - 70.0).max(60.0);
            ui.add(
                egui::Slider::new(&mut v, lo..=hi)
                    .logarithmic(log)
                    // Display only: rounding the value itself (max_decimals) would change
                    // a fitted q's value, which the slider reports as a user's change.
                    .custom_formatter(|v, _| format!("{v:.3}")),
            )
            .labelled_by(l.id)
            .on_hover_text(tip)
        })
        .inner;
    (r.changed() && v != before && v.is_finite()).then_some(v)
}

/// The posterior on the model's own latent grid (which resolves it), cut to where it or the
/// prior has mass and thinned to at most [`MAX_DRAWN`] points by keeping each bin's
/// highest point (so a narrow peak keeps its height).
fn posterior_points(model: &LatentModel, x: f64) -> Vec<[f64; 2]> {
    let (zs, h) = model.latent_grid();
    let post = model.posterior(x, &zs);
    // Where the posterior's mass lies (cumulative 1e-6 .. 1 - 1e-6).
    let total: f64 = post.iter().sum::<f64>() * h;
    let (mut lo, mut hi) = (-4.0_f64, 4.0_f64);
    if total.is_finite() && total > 0.0 {
        let mut acc = 0.0;
        let mut first = None;
        let mut last = None;
        for (z, p) in zs.iter().zip(&post) {
            acc += p * h / total;
            if first.is_none() && acc > 1e-6 {
                first = Some(*z);
            }
            if last.is_none() && acc > 1.0 - 1e-6 {
                last = Some(*z);
            }
        }
        if let (Some(a), Some(b)) = (first, last) {
            let pad = 0.1 * (b - a).max(0.1);
            lo = lo.min(a - pad);
            hi = hi.max(b + pad);
        }
    }
    let inside: Vec<(f64, f64)> = zs
        .iter()
        .zip(&post)
        .filter(|(z, _)| **z >= lo && **z <= hi)
        .map(|(z, p)| (*z, *p))
        .collect();
    thin(&inside)
}

/// At most [`MAX_DRAWN`] points of a curve, each bin's highest.
fn thin(points: &[(f64, f64)]) -> Vec<[f64; 2]> {
    if points.len() <= MAX_DRAWN {
        return points.iter().map(|(a, b)| [*a, *b]).collect();
    }
    let per = points.len().div_ceil(MAX_DRAWN);
    points
        .chunks(per)
        .filter_map(|c| {
            c.iter()
                .copied()
                .filter(|(_, y)| y.is_finite())
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(a, b)| [a, b])
        })
        .collect()
}

/// p(x) over the x the latents reach (z in [-3.5, 3.5]) +- 4 sigma, at least [-3, 3], at a
/// spacing of a quarter sigma (200 to 1200 points).
fn marginal_points(model: &LatentModel) -> Vec<[f64; 2]> {
    let (mut lo, mut hi) = (-3.0_f64, 3.0_f64);
    for i in 0..=400 {
        let z = -3.5 + 7.0 * i as f64 / 400.0;
        let f = model.decoder.f(z);
        if f.is_finite() {
            lo = lo.min(f - 4.0 * model.sigma);
            hi = hi.max(f + 4.0 * model.sigma);
        }
    }
    let (lo, hi) = (lo.max(-30.0), hi.min(30.0));
    let n = (((hi - lo) / (model.sigma / 4.0)).ceil() as usize).clamp(200, 1200);
    let xs: Vec<f64> = (0..=n)
        .map(|i| lo + (hi - lo) * i as f64 / n as f64)
        .collect();
    let px = model.marginal_uniform(&xs);
    xs.into_iter().zip(px).map(|(x, p)| [x, p]).collect()
}

/// The legend of both plots.
fn legend(pal: &Palette) -> Vec<LegendEntry> {
    vec![
        LegendEntry::styled("$p(z)$", pal.neutral, LineStyle::dashed_dense())
            .tip("The prior p(z) = N(0, 1)"),
        LegendEntry::line("$p(z|x)$", pal.evidence)
            .tip("The true posterior p(z|x) = p(z) p(x|z) / p(x) of the chosen x, on a grid (evidence colour)"),
        LegendEntry::line("$q(z|x)$", pal.total)
            .tip("The Gaussian encoder q(z|x) = N(mu, s^2) the ELBO is evaluated with (the ELBO's colour)"),
        LegendEntry::styled("chosen x", pal.neutral, LineStyle::dashed_loose()).tip(
            "Right plot: the chosen x on the model's marginal p(x) (evidence colour); click or drag there to set x",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_never_shows_minus_zero() {
        assert_eq!(nats(-1e-9), "0.0000");
        assert_eq!(nats(-0.00005), "-0.0001");
        assert_eq!(nats(f64::NAN), "undefined");
        assert_eq!(nats(1.23456), "1.2346");
    }
}
