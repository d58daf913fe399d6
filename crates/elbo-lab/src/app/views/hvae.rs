//! The hierarchical VAE step of the Evidence tab ("2. The hierarchical VAE"), between the
//! one-latent VAE and the diffusion model, following Luo (2022):
//!
//! ```text
//! p(x, z_1:T) = p(z_T) p(x | z_1) prod_t=2..T p(z_t-1 | z_t)          (Luo eq. 23)
//! q(z_1:T | x) = q(z_1 | x) prod_t=2..T q(z_t | z_t-1)                 (Luo eq. 24)
//! log p(x) >= E_q[log p(x, z_1:T) / q(z_1:T | x)]                      (Luo eq. 25-28)
//!          = -(L_0 + sum_t=2..T L_t-1 + L_T)                           (split as eq. 58)
//! ```
//!
//! The chain x -> z_1 -> ... -> z_T is drawn with the painter: encoder arrows q above in
//! the colour of step 1's encoder q(z|x) (the totals' colour), decoder arrows p below in
//! the model's colour (the evidence colour, as p_theta on the next step), the prior
//! N(0, 1) at the end (neutral, dashed, as step 1's p(z)); each decoder arrow carries its
//! ELBO term in that term's colour (reconstruction, denoising, prior matching). A slider
//! picks T = 1 to 5 (the step's own state). The model is the diffusion model itself: the
//! side panel's schedule preset built at that T, the side panel's model and reverse
//! variance, so the three restrictions that make a hierarchical VAE a variational
//! diffusion model (Luo eq. 30-31) hold; they are listed under the chain, each with a
//! button to where the app shows it.
//!
//! The ELBO is computed on the UI thread by quadrature (`elbo_core::elbo::compute_elbo`,
//! its default method), cached by its inputs (the data, the model, the schedule settings,
//! T and the variance), so an idle frame computes nothing. In 1D at T <= 5 it takes about
//! a millisecond with a closed-form model; 2D data get a message and a button to 1D data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::epaint::{PathStroke, QuadraticBezierShape};
use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, pos2, vec2};

use elbo_core::denoiser::Denoiser;
use elbo_core::elbo::{Control, ElboConfig, ElboResult, compute_elbo};
use elbo_core::mixture::GaussianMixture;
use elbo_core::schedule::VarianceType;

use super::super::command::Command;
use super::super::focus::{self, Target};
use super::super::formula;
use super::super::palette::Palette;
use super::super::settings::{ScheduleSettings, View};
use super::ctx::{AutoFold, ViewCtx};
use super::vae_panel::nats;

/// The most latents the step offers.
pub const MAX_LATENTS: usize = 5;
/// The latents shown at first.
pub const DEFAULT_LATENTS: usize = 3;
/// The label of the T slider.
pub const LATENTS_LABEL: &str = "Latents T";
/// The width of the T slider (points).
const LATENTS_SLIDER_W: f32 = 90.0;
/// The buttons of the three restrictions, in order: the Forward, Schedule and ELBO tabs.
pub const RESTRICTION_BUTTONS: [&str; 3] = [
    "Open the Forward tab",
    "Open the Schedule tab",
    "Open the ELBO tab",
];
/// The tabs the three restriction buttons open.
pub const RESTRICTION_VIEWS: [View; 3] = [View::Forward, View::Schedule, View::Elbo];
/// The key of the chain drawing (see [`Target::Readout`]).
pub const CHAIN: &str = focus::key::HVAE_CHAIN;
/// The key of the line of terms.
pub const TERMS: &str = focus::key::HVAE_TERMS;
/// The title of the foldable section of the three restrictions (a lesson opens it as
/// [`Target::Section`]).
pub const RESTRICTIONS: &str = focus::key::HVAE_RESTRICTIONS;
/// The view height (points) from which the restrictions start open: below it (a projector)
/// the chain and its terms take the view and the section starts folded.
const RESTRICTIONS_OPEN_MIN_HEIGHT: f32 = 420.0;

/// Node radius of the chain (points).
const NODE_R: f32 = 16.0;
/// How far an arrow bows above or below the nodes (points).
const BOW: f32 = 10.0;
/// The widest step between two nodes (points): a wide window centres the chain.
const MAX_GAP: f32 = 170.0;
/// Space kept between two neighbouring labels (points).
const LABEL_PAD: f32 = 6.0;

/// The ELBO of the hierarchical VAE at one T, term by term (nats).
#[derive(Debug, Clone, PartialEq)]
pub struct HvaeTerms {
    /// T, the number of latents.
    pub steps: usize,
    /// L_0, the reconstruction term `-E log p(x | z_1)`.
    pub reconstruction: f64,
    /// L_1 .. L_(T-1), the denoising matching terms (entry `t - 2` is `L_(t-1)`, t = 2..T);
    /// NaN where undefined.
    pub denoising: Vec<f64>,
    /// L_T, the prior matching term `E KL(q(z_T | x) || N(0, 1))`.
    pub prior: f64,
    /// The NELBO: their sum.
    pub nelbo: f64,
    /// The quadrature's error estimate of the NELBO.
    pub nelbo_error: f64,
    /// The data entropy H(p0), the least any NELBO can be.
    pub data_entropy: f64,
    /// abar_T of the schedule at this T: q(z_T | x) = N(sqrt(abar_T) x, 1 - abar_T).
    pub terminal_abar: f64,
}

impl HvaeTerms {
    /// The terms of an ELBO table (`terminal_abar` of its schedule).
    pub fn of(r: &ElboResult, terminal_abar: f64) -> Self {
        HvaeTerms {
            steps: r.steps,
            reconstruction: r.reconstruction_loss.mean,
            denoising: r
                .timesteps
                .iter()
                .filter(|row| row.t >= 2)
                .map(|row| row.loss.unwrap_or(f64::NAN))
                .collect(),
            prior: r.prior_loss,
            nelbo: r.nelbo.mean,
            nelbo_error: r.nelbo.stderr,
            data_entropy: r.data_entropy.mean,
            terminal_abar,
        }
    }

    /// Every term in the chain's order, with its name: L_0, L_1, ..., L_(T-1), L_T.
    pub fn named(&self) -> Vec<(String, f64)> {
        let mut out = vec![("L_0".to_owned(), self.reconstruction)];
        for (i, v) in self.denoising.iter().enumerate() {
            out.push((format!("L_{}", i + 1), *v));
        }
        out.push(("L_T".to_owned(), self.prior));
        out
    }
}

/// What a result was computed from: identity of the data and the model, the schedule's
/// settings, T and the variance.
#[derive(Clone)]
struct Inputs {
    data: Arc<GaussianMixture>,
    model: Arc<dyn Denoiser>,
    schedule: ScheduleSettings,
    steps: usize,
    variance: VarianceType,
}

impl Inputs {
    fn same(&self, other: &Inputs) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
            && Arc::ptr_eq(&self.model, &other.model)
            && self.schedule == other.schedule
            && self.steps == other.steps
            && self.variance == other.variance
    }
}

/// A computed ELBO (or why there is none) and how long it took.
struct Cached {
    inputs: Inputs,
    outcome: Result<HvaeTerms, String>,
    elapsed: Duration,
}

/// The hierarchical VAE step's own state: T, the cached ELBO and whether the restrictions
/// are open.
pub struct HvaeView {
    steps: usize,
    cached: Option<Cached>,
    computations: u64,
    fold: AutoFold,
}

impl Default for HvaeView {
    fn default() -> Self {
        HvaeView {
            steps: DEFAULT_LATENTS,
            cached: None,
            computations: 0,
            fold: AutoFold::default(),
        }
    }
}

/// The ELBO of the hierarchical VAE with `steps` latents: the schedule preset of `schedule`
/// built at T = `steps`, `model` and the reverse variance `variance`, by quadrature.
///
/// # Errors
/// A schedule that is a list of betas from a file (defined at its own T only), a schedule
/// that cannot be built at this T, or an ELBO that cannot be computed (said in words).
pub fn hvae_elbo(
    data: &GaussianMixture,
    schedule: &ScheduleSettings,
    steps: usize,
    model: &dyn Denoiser,
    variance: VarianceType,
) -> Result<HvaeTerms, String> {
    if schedule.custom.is_some() {
        return Err("the schedule is a list of betas from a file, defined at its own T only: pick a preset in the side panel to see the terms at T = 1 to 5".to_owned());
    }
    let settings = ScheduleSettings {
        steps,
        ..schedule.clone()
    };
    let built = settings
        .spec()
        .build()
        .map_err(|e| format!("the schedule at T = {steps}: {e}"))?;
    let config = ElboConfig {
        variance,
        ..ElboConfig::default()
    };
    let r = compute_elbo(data, &built, model, &config, Control::default())
        .map_err(|e| format!("the ELBO at T = {steps}: {e}"))?;
    Ok(HvaeTerms::of(&r, built.terminal_abar()))
}

impl HvaeView {
    /// T, the number of latents shown.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Show `steps` latents (clamped to 1..=[`MAX_LATENTS`]).
    pub fn set_steps(&mut self, steps: usize) {
        self.steps = steps.clamp(1, MAX_LATENTS);
    }

    /// The terms shown, if the last computation succeeded.
    pub fn terms(&self) -> Option<&HvaeTerms> {
        self.cached.as_ref().and_then(|c| c.outcome.as_ref().ok())
    }

    /// Why the terms could not be computed, if they could not.
    pub fn error(&self) -> Option<&str> {
        self.cached
            .as_ref()
            .and_then(|c| c.outcome.as_ref().err().map(String::as_str))
    }

    /// How long the last computation took.
    pub fn elapsed(&self) -> Option<Duration> {
        self.cached.as_ref().map(|c| c.elapsed)
    }

    /// How many times the ELBO was computed: an idle frame adds none.
    pub fn computations(&self) -> u64 {
        self.computations
    }

    /// Recompute the ELBO when its inputs changed.
    fn refresh(&mut self, ctx: &ViewCtx<'_>) {
        let inputs = Inputs {
            data: ctx.inputs().data.clone(),
            model: ctx.inputs().model.clone(),
            schedule: ctx.model.applied.schedule_settings.clone(),
            steps: self.steps,
            variance: ctx.model.settings.variance,
        };
        if self.cached.as_ref().is_some_and(|c| c.inputs.same(&inputs)) {
            return;
        }
        let start = Instant::now();
        let outcome = hvae_elbo(
            &inputs.data,
            &inputs.schedule,
            inputs.steps,
            &*inputs.model,
            inputs.variance,
        );
        let elapsed = start.elapsed();
        self.computations += 1;
        self.cached = Some(Cached {
            inputs,
            outcome,
            elapsed,
        });
    }

    /// The T slider (the Evidence tab puts it at the end of its step selector's wrapped
    /// row: on the next line when it does not fit beside the steps).
    pub fn latents_control(&mut self, ui: &mut Ui) {
        let spacing = ui.spacing().item_spacing.x;
        let needed = super::super::plot_util::text_width(ui, LATENTS_LABEL, &egui::TextStyle::Body)
            + LATENTS_SLIDER_W
            + ui.spacing().interact_size.x.max(40.0)
            + 3.0 * spacing
            + 8.0;
        if ui.available_size_before_wrap().x < needed {
            ui.end_row();
        }
        ui.horizontal(|ui| {
            let tip = "How many latents z_1 ... z_T the hierarchical VAE has (1 to 5): the side panel's schedule preset is built at this T, and the chain, its terms and their total follow";
            let l = ui.label(LATENTS_LABEL).on_hover_text(tip);
            ui.spacing_mut().slider_width = LATENTS_SLIDER_W;
            let mut t = self.steps;
            let r = ui
                .add(egui::Slider::new(&mut t, 1..=MAX_LATENTS))
                .labelled_by(l.id)
                .on_hover_text(tip);
            if r.changed() {
                self.set_steps(t);
            }
        });
    }

    /// Draw the step (1D data: the Evidence tab says why on 2D data).
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        self.refresh(ctx);
        let mut commands = Vec::new();
        let focus = ctx.focus();
        let view_h = ui.available_height();
        let pal = Palette::of_ui(ui);
        let terms = self.terms().cloned();
        let model = model_text(ctx, self.steps);
        let timing = self
            .elapsed()
            .map(|d| format!(" (computed in {:.1} ms)", d.as_secs_f64() * 1e3))
            .unwrap_or_default();
        let steps = self.steps;
        let error = self.error().map(str::to_owned);
        let fold = &mut self.fold;
        focus::scroll_area(
            ui,
            &focus,
            (
                egui::ScrollArea::vertical().auto_shrink([false, true]),
                "hvae",
            ),
            |ui| {
                chain_title(ui, pal);
                let r = chain(ui, pal, steps, terms.as_ref());
                focus::mark(ui, Target::Readout(CHAIN), r.rect);
                match (&terms, error) {
                    (Some(t), _) => {
                        focus::readout(ui, Target::Readout(TERMS), |ui| {
                            terms_line(ui, pal, t, &model, &timing)
                        });
                    }
                    (None, Some(e)) => {
                        ui.add(
                            egui::Label::new(
                                RichText::new(format!("No terms: {e}.")).color(pal.error),
                            )
                            .wrap(),
                        );
                    }
                    (None, None) => {}
                }
                fold.show(
                    ui,
                    &focus,
                    RESTRICTIONS,
                    "Luo's variational diffusion model is this hierarchical VAE with three restrictions (eq. 30-31), each with a button to where the app shows it. Folded by itself on a short window; click to open or fold it.",
                    (view_h, RESTRICTIONS_OPEN_MIN_HEIGHT),
                    |ui| commands.extend(restrictions(ui, pal, steps, terms.as_ref())),
                );
            },
        );
        commands
    }
}

/// The model the terms are of, in a few words.
fn model_text(ctx: &ViewCtx<'_>, steps: usize) -> String {
    let settings = &ctx.model.applied.schedule_settings;
    let schedule = if settings.custom.is_some() {
        "betas from a file".to_owned()
    } else {
        format!(
            "{} preset{} at T = {steps}",
            settings.preset.name(),
            if settings.rescale_zero_snr {
                " with zero terminal SNR"
            } else {
                ""
            }
        )
    };
    format!(
        "{} · {} · {}",
        ctx.inputs().model.name(),
        ctx.model.settings.variance.name(),
        schedule
    )
}

/// The chain's title and what its colours mean.
fn chain_title(ui: &mut Ui, pal: &Palette) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Markovian hierarchical VAE (Luo eq. 23-24):").strong())
            .on_hover_text("p(x, z_1..z_T) = p(z_T) p(x | z_1) times p(z(t-1) | z_t) for t = 2..T, and q(z_1..z_T | x) = q(z_1 | x) times q(z_t | z(t-1)) for t = 2..T: each latent depends only on its neighbour");
        ui.label(RichText::new("encoder q above").color(pal.total))
            .on_hover_text("The encoder q(z_t | z(t-1)): in the colour of step 1's encoder q(z|x). Here it is fixed by the schedule, not learned");
        ui.label(RichText::new("decoder p below").color(pal.evidence))
            .on_hover_text("The decoders p(z(t-1) | z_t) and p(x | z_1), learned: in the colour of the model's own density p_theta. The prior p(z_T) = N(0, 1) at the right is fixed: dashed and grey, as step 1's p(z)");
    });
}

/// A value as the chain writes it under an arrow: about four significant digits.
fn short(v: f64) -> String {
    if !v.is_finite() {
        return "undefined".to_owned();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else if a >= 1e-3 {
        format!("{v:.4}")
    } else {
        format!("{v:.1e}")
    }
}

/// A typeset label of `src` centred at `centre`, in `colour`; its width.
fn paint_formula(
    ui: &Ui,
    painter: &egui::Painter,
    src: &str,
    size: f32,
    centre: Pos2,
    colour: Color32,
) -> f32 {
    let laid = formula::layout(ui.ctx(), src, size);
    let baseline = centre.y + (laid.ascent - laid.descent) / 2.0;
    formula::paint(
        painter,
        &laid,
        pos2(centre.x - laid.width / 2.0, baseline),
        colour,
    );
    laid.width
}

/// The width of a typeset `src` at `size`.
fn formula_width(ui: &Ui, src: &str, size: f32) -> f32 {
    formula::layout(ui.ctx(), src, size).width
}

/// An arrowhead with its tip at `tip`, pointing along `dir`.
fn arrow_head(painter: &egui::Painter, tip: Pos2, dir: egui::Vec2, colour: Color32) {
    let d = dir.normalized();
    let n = vec2(-d.y, d.x);
    let len = 8.0;
    let half = 4.0;
    let back = tip - d * len;
    painter.add(egui::Shape::convex_polygon(
        vec![tip, back + n * half, back - n * half],
        colour,
        Stroke::NONE,
    ));
}

/// A bowed arrow from `from` to `to` whose middle lies `bow` points off the straight line
/// (negative: above), with its head at `to`.
fn bowed_arrow(painter: &egui::Painter, from: Pos2, to: Pos2, bow: f32, colour: Color32) {
    let mid = from + (to - from) / 2.0;
    // A quadratic Bezier's middle lies halfway to its control point.
    let control = mid + vec2(0.0, 2.0 * bow);
    painter.add(QuadraticBezierShape::from_points_stroke(
        [from, control, to],
        false,
        Color32::TRANSPARENT,
        PathStroke::new(2.0, colour),
    ));
    arrow_head(painter, to, to - control, colour);
}

/// The chain x -> z_1 -> ... -> z_T and the prior, with the terms under the decoder
/// arrows when they are known. Scales with the available width.
fn chain(ui: &mut Ui, pal: &Palette, steps: usize, terms: Option<&HvaeTerms>) -> egui::Response {
    let w = ui.available_width().max(200.0);
    let line = ui.text_style_height(&egui::TextStyle::Body);
    let body = egui::TextStyle::Body.resolve(ui.style()).size;
    let node_size = formula::base_size(ui);
    let label_size = body.max(14.0);
    let pad = 4.0;
    let h = pad + line + BOW + 2.0 * NODE_R + BOW + 4.0 + 2.0 * line + pad;
    let (rect, response) = ui.allocate_exact_size(vec2(w, h), Sense::hover());
    let plain = chain_plain(steps, terms);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &plain));
    if ui.is_rect_visible(rect) {
        let painter = ui.painter_at(rect);
        draw_chain(
            ui,
            &painter,
            pal,
            rect,
            (steps, terms),
            (line, node_size, label_size),
        );
    }
    response.on_hover_text(
        "Each latent depends only on its neighbour (Markovian). Above: the encoder q(z_t | z(t-1)) runs from x to z_T. Below: the decoder p(z(t-1) | z_t) runs back from the prior N(0, 1) to x. Each decoder arrow carries its ELBO term in nats: L_0 = -E log p(x | z_1) (reconstruction), L(t-1) = E KL(q(z(t-1) | z_t, x) || p(z(t-1) | z_t)) (denoising matching) and, on the prior, L_T = E KL(q(z_T | x) || N(0, 1)) (prior matching).",
    )
}

/// The chain as plain text (its accessibility label).
fn chain_plain(steps: usize, terms: Option<&HvaeTerms>) -> String {
    let mut s = String::from("Chain x");
    for t in 1..=steps {
        s.push_str(&format!(" -> z_{t}"));
    }
    s.push_str(", prior N(0, 1)");
    if let Some(terms) = terms {
        for (name, v) in terms.named() {
            s.push_str(&format!(", {name} = {}", short(v)));
        }
    }
    s
}

/// Paint the chain into `rect`: the nodes, the arrows and their labels.
fn draw_chain(
    ui: &Ui,
    painter: &egui::Painter,
    pal: &Palette,
    rect: Rect,
    (steps, terms): (usize, Option<&HvaeTerms>),
    (line, node_size, label_size): (f32, f32, f32),
) {
    let margin = 6.0;
    let prior_src = r"\mathcal{N}(0, 1)";
    let box_w = formula_width(ui, prior_src, node_size) + 16.0;
    let box_h = 2.0 * NODE_R;
    // Node i (0: x) at x0 + i gap; the prior's box at x0 + (T + 1) gap.
    let room = rect.width() - 2.0 * margin - NODE_R - box_w / 2.0;
    let gap = (room / (steps as f32 + 1.0)).min(MAX_GAP);
    let span = NODE_R + gap * (steps as f32 + 1.0) + box_w / 2.0;
    let x0 = rect.left() + margin + NODE_R + ((rect.width() - 2.0 * margin - span) / 2.0).max(0.0);
    let top = rect.top() + 4.0;
    let label_y = top + line / 2.0;
    let cy = top + line + BOW + NODE_R;
    let term_y = cy + NODE_R + BOW + 4.0 + line / 2.0;
    let value_y = term_y + line;
    let centre = |i: usize| pos2(x0 + gap * i as f32, cy);
    let box_c = pos2(x0 + gap * (steps as f32 + 1.0), cy);
    let room_label = gap - LABEL_PAD;
    let text = pal.total;
    let font = FontId::proportional(label_size);

    // The arrows first, the nodes over their ends.
    let (ex, ey) = (0.64 * NODE_R, 0.77 * NODE_R);
    for i in 0..steps {
        let (a, b) = (centre(i), centre(i + 1));
        let mid_x = (a.x + b.x) / 2.0;
        // Encoder q(z_(i+1) | z_i) above, from left to right.
        bowed_arrow(
            painter,
            a + vec2(ex, -ey),
            b + vec2(-ex, -ey),
            -BOW,
            pal.total,
        );
        let from = if i == 0 {
            "x".to_owned()
        } else {
            format!("z_{i}")
        };
        let full = format!("q(z_{} | {from})", i + 1);
        let src = if formula_width(ui, &full, label_size) <= room_label {
            full
        } else {
            "q".to_owned()
        };
        paint_formula(
            ui,
            painter,
            &src,
            label_size,
            pos2(mid_x, label_y),
            pal.total,
        );
        // Decoder p(z_i | z_(i+1)) below, from right to left, with its term.
        bowed_arrow(
            painter,
            b + vec2(-ex, ey),
            a + vec2(ex, ey),
            BOW,
            pal.evidence,
        );
        let (name, colour) = if i == 0 {
            ("L_0".to_owned(), pal.reconstruction)
        } else {
            (format!("L_{i}"), pal.denoising)
        };
        paint_formula(ui, painter, &name, label_size, pos2(mid_x, term_y), colour);
        let value = terms.map(|t| {
            if i == 0 {
                t.reconstruction
            } else {
                t.denoising.get(i - 1).copied().unwrap_or(f64::NAN)
            }
        });
        value_text(
            painter,
            &font,
            value,
            room_label,
            pos2(mid_x, value_y),
            colour,
        );
    }

    // The prior: a dashed link from N(0, 1) into z_T, its term L_T below.
    let last = centre(steps);
    let box_rect = Rect::from_center_size(box_c, vec2(box_w, box_h));
    let link_from = pos2(box_rect.left(), cy);
    let link_to = last + vec2(NODE_R, 0.0);
    painter.add(egui::Shape::dashed_line(
        &[link_from, link_to + vec2(6.0, 0.0)],
        Stroke::new(2.0, pal.neutral),
        6.0,
        4.0,
    ));
    arrow_head(painter, link_to, link_to - link_from, pal.neutral);
    let link_mid = (link_from.x + link_to.x) / 2.0;
    let prior_label = format!("p(z_{steps})");
    if formula_width(ui, &prior_label, label_size) <= room_label {
        paint_formula(
            ui,
            painter,
            &prior_label,
            label_size,
            pos2(link_mid, label_y),
            pal.neutral,
        );
    }
    paint_formula(
        ui,
        painter,
        "L_T",
        label_size,
        pos2(link_mid, term_y),
        pal.prior,
    );
    value_text(
        painter,
        &font,
        terms.map(|t| t.prior),
        room_label,
        pos2(link_mid, value_y),
        pal.prior,
    );
    painter.rect_stroke(
        box_rect,
        6.0,
        Stroke::new(1.5, pal.neutral),
        egui::StrokeKind::Inside,
    );
    paint_formula(ui, painter, prior_src, node_size, box_c, pal.neutral);

    // The nodes: x observed (shaded), the latents open.
    let open = ui.visuals().extreme_bg_color;
    for i in 0..=steps {
        let c = centre(i);
        let fill = if i == 0 {
            pal.neutral.gamma_multiply(0.3)
        } else {
            open
        };
        painter.circle(c, NODE_R, fill, Stroke::new(1.5, text));
        let src = if i == 0 {
            "x".to_owned()
        } else {
            format!("z_{i}")
        };
        paint_formula(ui, painter, &src, node_size, c, text);
    }
}

/// A term's value under its arrow (nothing when unknown or too wide for the room).
fn value_text(
    painter: &egui::Painter,
    font: &FontId,
    value: Option<f64>,
    room: f32,
    at: Pos2,
    colour: Color32,
) {
    let Some(v) = value else { return };
    let galley = painter.layout_no_wrap(short(v), font.clone(), colour);
    if galley.size().x <= room {
        painter.galley(at - galley.size() / 2.0, galley, colour);
    } else {
        // Too narrow for the number: the line of terms under the chain has it.
        painter.text(at, Align2::CENTER_CENTER, "·", font.clone(), colour);
    }
}

/// The terms and their total on one wrapped line, each in its colour, and how far the
/// bound is above the data entropy.
fn terms_line(ui: &mut Ui, pal: &Palette, t: &HvaeTerms, model: &str, timing: &str) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 5.0;
        ui.label(RichText::new(format!("NELBO at T = {} (nats) =", t.steps)).strong())
            .on_hover_text(format!("The negative ELBO of this hierarchical VAE (Luo eq. 25-28), split into its terms as in Luo eq. 58: the mean over the data of -log p(x, z_1..z_T) + log q(z_1..z_T | x), by quadrature over each latent on this thread{timing}"));
        // A term stays whole on its line: "+ L_1 0.0123" moves to the next line together (a
        // nested horizontal layout would not wrap, and would widen the tab instead).
        let pair = |ui: &mut Ui, lead: &str, name: &str, v: f64, colour: Color32, tip: &str| {
            let value = nats(v);
            let width = |text: &str| {
                super::super::plot_util::text_width(ui, text, &egui::TextStyle::Body)
            };
            let needed =
                width(lead) + width(name) + width(&value) + 3.0 * ui.spacing().item_spacing.x;
            if ui.available_size_before_wrap().x < needed {
                ui.end_row();
            }
            if !lead.is_empty() {
                ui.label(lead);
            }
            ui.label(RichText::new(name).color(colour))
                .on_hover_text(tip);
            ui.label(RichText::new(value).color(colour))
                .on_hover_text(tip);
        };
        let last = t.denoising.len() + 1;
        for (k, (name, v)) in t.named().into_iter().enumerate() {
            let (colour, tip) = if k == 0 {
                (
                    pal.reconstruction,
                    "Reconstruction L_0 = -E log p(x | z_1): how well the first decoder gives x back from z_1".to_owned(),
                )
            } else if k == last {
                (
                    pal.prior,
                    "Prior matching L_T = E KL(q(z_T | x) || N(0, 1)): how far the last latent's distribution is from the prior; nothing learned changes it".to_owned(),
                )
            } else {
                (
                    pal.denoising,
                    format!(
                        "Denoising matching L_{k} = E KL(q(z_{k} | z_{}, x) || p(z_{k} | z_{})): how well the decoder from z_{} matches the encoder's posterior",
                        k + 1,
                        k + 1,
                        k + 1
                    ),
                )
            };
            pair(ui, if k > 0 { "+" } else { "" }, &name, v, colour, &tip);
        }
        pair(
            ui,
            "=",
            "NELBO",
            t.nelbo,
            pal.total,
            &format!(
                "The NELBO, the sum of the terms (quadrature error below {:.1e})",
                t.nelbo_error.abs().max(1e-16)
            ),
        );
        pair(
            ui,
            "·",
            "H(p0)",
            t.data_entropy,
            pal.neutral,
            "The data entropy -E log p0(x): the least any model's -E log p(x) can be, so the least any NELBO can be",
        );
        pair(
            ui,
            "·",
            "NELBO - H(p0)",
            t.nelbo - t.data_entropy,
            pal.total,
            "How far the bound is above the data entropy: >= 0 at every T, since NELBO >= -E log p_theta(x) >= H(p0)",
        );
        ui.label(RichText::new(format!("({model})")).weak())
            .on_hover_text("The side panel's model and reverse variance with its schedule preset (beta range and rescaling) built at this T: the hierarchical VAE here is the diffusion model with T steps (every model here takes the noise level, not the step number, so it is the same denoiser at any T)");
    });
}

/// The three restrictions that make the hierarchical VAE a variational diffusion model,
/// each with a button to where the app shows it, and how it differs from step 1.
fn restrictions(
    ui: &mut Ui,
    pal: &Palette,
    steps: usize,
    terms: Option<&HvaeTerms>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.add(
        egui::Label::new("Luo's variational diffusion model (eq. 30-31) is this chain with three restrictions, which the chain above already obeys:")
            .wrap(),
    )
    .on_hover_text("A hierarchical VAE may have latents of any size and learned encoders; these three choices turn it into the diffusion model whose ELBO the other tabs compute");
    let third = match terms {
        Some(t) => format!(
            "3. The last latent reaches N(0, 1): here abar_T = {} at T = {steps}, so the prior term L_T = {} nats{}.",
            short(t.terminal_abar),
            nats(t.prior),
            if t.prior < 1e-3 {
                " (q(x_T) is N(0, 1) to the eye)"
            } else {
                " (q(x_T) is not yet N(0, 1): more steps, or a schedule with a smaller abar_T)"
            }
        ),
        None => "3. The last latent reaches N(0, 1): q(x_T) = N(sqrt(abar_T) x, 1 - abar_T) with abar_T near 0, so the prior term L_T is near 0.".to_owned(),
    };
    let lines = [
        (
            "1. The latent dimension equals the data dimension: each latent z_t is x_t, a noisy copy of x in the data's own axes.".to_owned(),
            "The Forward tab draws x_t in the data's own axes as t grows",
        ),
        (
            "2. The encoder is not learned: q(x_t | x(t-1)) = N(sqrt(alpha_t) x(t-1), beta_t), a fixed linear Gaussian set by the schedule.".to_owned(),
            "The Schedule tab shows beta_t, alpha_t and abar_t, all the encoder is",
        ),
        (
            third,
            "The ELBO tab shows the prior term L_T beside the other terms (the Schedule tab shows abar_T)",
        ),
    ];
    let button_w = RESTRICTION_BUTTONS
        .iter()
        .map(|b| super::super::plot_util::text_width(ui, b, &egui::TextStyle::Button))
        .fold(0.0, f32::max)
        + 2.0 * ui.spacing().button_padding.x;
    for ((text, tip), (label, view)) in lines
        .iter()
        .zip(RESTRICTION_BUTTONS.iter().zip(RESTRICTION_VIEWS))
    {
        ui.horizontal_top(|ui| {
            if ui
                .add(egui::Button::new(*label).min_size(vec2(button_w, 0.0)))
                .on_hover_text(*tip)
                .clicked()
            {
                commands.push(Command::SetView(view));
            }
            ui.add(egui::Label::new(text.as_str()).wrap())
                .on_hover_text(*tip);
        });
    }
    ui.add(
        egui::Label::new(
            RichText::new(
                "From step 1: the VAE had one latent whose encoder q(z|x) was learned (Fit q); here the encoders are fixed and only the decoders p(z(t-1) | z_t) are learned.",
            )
            .color(pal.info),
        )
        .wrap(),
    )
    .on_hover_text("Fixing the encoder leaves the decoders to learn; the next step computes that model's own density and how loose its bound is");
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_stay_short() {
        for v in [-3.21456, 0.0123456, 1.2e-7, 12345.6, 0.0, f64::NAN, -0.5] {
            assert!(short(v).len() <= 9, "{v}: {}", short(v));
        }
        assert_eq!(short(-3.21456), "-3.215");
        assert_eq!(short(1.2e-7), "1.2e-7");
    }

    #[test]
    fn the_chain_names_every_term_in_order() {
        let t = HvaeTerms {
            steps: 3,
            reconstruction: -1.0,
            denoising: vec![0.5, 0.25],
            prior: 2.0,
            nelbo: 1.75,
            nelbo_error: 0.0,
            data_entropy: 1.0,
            terminal_abar: 0.5,
        };
        let names: Vec<String> = t.named().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["L_0", "L_1", "L_2", "L_T"]);
        let plain = chain_plain(3, Some(&t));
        assert!(plain.starts_with("Chain x -> z_1 -> z_2 -> z_3"), "{plain}");
        assert!(!plain.contains("_{"));
    }
}
