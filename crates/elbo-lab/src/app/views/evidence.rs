//! The Evidence tab (issue 10): what the ELBO bounds, in four parts that follow Luo's
//! derivation. The VAE (one latent, exact); the Markovian hierarchical VAE with T = 1 to 5
//! latents, its ELBO term by term and the three restrictions that make it a variational
//! diffusion model ([`super::hvae`]); the diffusion model as a hierarchical VAE (the
//! model's own density `p_theta(x0)`, the ELBO of each point and the decomposition
//! `NELBO - H(p0) = KL(p0 || p_theta) + mean gap`, also against T); and the schedule seen
//! in log-SNR (every schedule's denoising terms approach one curve, and NELBO(T) of
//! log-SNR shapes with the same endpoints converges to one limit).
//!
//! The last three parts integrate on grids: 1D data only (the hierarchical VAE computes its
//! small ELBO on the UI thread; the last two parts on the Evidence job's thread). Their results carry the
//! key they were computed from ([`EvidenceKey`](super::super::jobs::evidence::EvidenceKey)) and are drawn only while it matches (dimmed
//! while the current ones compute).

use egui::{RichText, Ui};
use egui_plot::{FilledArea, Line, LineStyle, MarkerShape, Points};

use elbo_core::evidence::{EvidenceResult, Valued};
use elbo_core::schedule::SnrShape;

use super::super::command::Command;
use super::super::focus::{self, Focus, Target};
use super::super::jobs::Want;
use super::super::jobs::evidence::{EvidencePart, EvidenceShown, LogSnrView, SweepPoint};
use super::super::palette::Palette;
use super::super::plot_util::{
    LegendEntry, legend_row, log_log_plot, log_points, plot, quadrature_pm, sci, within_visible,
};
use super::super::settings::EvidenceStep;
use super::ctx::{AutoFold, ViewCtx, dimmed_unless};
use super::editor::DataEditor;
use super::hvae::HvaeView;
use super::tab::{PlotName, Tab, TabInfo};
use super::vae_panel::VaePanel;

/// The hover text of a step's selector.
fn step_tip(step: EvidenceStep) -> &'static str {
    match step {
        EvidenceStep::Vae => {
            "One latent z: log p(x) = ELBO + KL(q(z|x) || p(z|x)), exactly. Move the encoder q or fit it and watch the gap (Luo's sections on the ELBO and the VAE)"
        }
        EvidenceStep::Hierarchical => {
            "A chain of T = 1 to 5 latents x -> z_1 -> ... -> z_T (Luo eq. 23-24) with its ELBO term by term, and the three restrictions that make it a variational diffusion model (1D data)"
        }
        EvidenceStep::Diffusion => {
            "The diffusion model as a hierarchical VAE: its own density p_theta(x0) computed exactly, the ELBO of each point, and NELBO - H(p0) = KL(p0 || p_theta) + mean gap (1D data)"
        }
        EvidenceStep::LogSnr => {
            "The denoising terms per unit of log-SNR for every preset, approaching one curve 1/2 SNR mmse(SNR), and NELBO(T) converging to its continuous-time limit (1D data)"
        }
    }
}

/// Below this width (points) the two plots of a part stack instead of standing side by side.
const SIDE_BY_SIDE: f32 = 620.0;
/// The least height of a plot (points): below it the part scrolls.
const MIN_PLOT: f32 = 150.0;
/// The least height (points) of each of two stacked plots.
const MIN_STACKED_PLOT: f32 = 100.0;
/// The least height of two plots side by side on a short view (a projector at a large
/// zoom), so the one-line summary under them stays in sight.
const MIN_SHORT_PLOT: f32 = 110.0;
/// A point of p0 below this fraction of its peak is outside "where the data are".
const DATA_FLOOR: f64 = 1e-6;

/// The Evidence tab's state: the VAE panel's own, the hierarchical VAE's (its T and its
/// cached ELBO), and whether the diffusion step's lower section (the decomposition and its
/// terms against T) is open (the step shown is a setting).
#[derive(Default)]
pub struct EvidenceView {
    vae: VaePanel,
    hvae: HvaeView,
    lower: AutoFold,
}

impl EvidenceView {
    /// The hierarchical VAE step's state.
    pub fn hvae(&self) -> &HvaeView {
        &self.hvae
    }
}

/// The view height (points) from which the diffusion step's lower section starts open.
const LOWER_OPEN_MIN_HEIGHT: f32 = 520.0;

/// True when the step shown needs the Evidence job's results: the diffusion model or the
/// log-SNR step, on 1D data (the VAE and the hierarchical VAE are computed on the UI
/// thread; on 2D data the other steps say why they need 1D data).
fn needs_results(ctx: &ViewCtx<'_>) -> bool {
    ctx.dim() == 1
        && matches!(
            ctx.model.settings.toggles.evidence_step,
            EvidenceStep::Diffusion | EvidenceStep::LogSnr
        )
}

impl Tab for EvidenceView {
    const INFO: TabInfo = TabInfo {
        name: "Evidence",
        short_name: "Evidence",
        slug: "evidence",
        aliases: &[],
        summary: "What the ELBO bounds: log p(x) = ELBO + gap, from a one-latent VAE to the diffusion model",
        help: "The ELBO is a lower bound on the evidence log p(x); the gap is KL(q || true posterior). \
             The VAE part shows this for one latent: move q(z|x) or press \"Fit q\" and watch the \
             gap; it closes only when the true posterior is Gaussian (the linear decoder). \
             The hierarchical VAE part draws the chain x -> z_1 -> ... -> z_T (T = 1 to 5 on its \
             slider): encoders q above, decoders p below, each decoder arrow with its ELBO term \
             (L_0, L(t-1), L_T) for the side panel's schedule preset at that T, their total and \
             how far it is above H(p0); and the three restrictions that make it a diffusion \
             model: latents of the data's dimension, a fixed Gaussian encoder, a last latent \
             at N(0, 1). The diffusion part computes the model's own density p_theta(x_0) exactly and splits \
             NELBO - H(p0) into what the model gets wrong, KL(p0 || p_theta), and how loose the \
             bound is, the mean gap. The log-SNR part shows every schedule's denoising terms \
             approaching one curve, 1/2 SNR mmse(SNR): in the limit of many steps the loss depends \
             on the schedule only through its two endpoints (1D data only for the last three parts).",
    };

    fn plots() -> Vec<PlotName> {
        let mut plots: Vec<PlotName> = Vec::new();
        let mut add = |name: String, label: String| plots.push((name, label));
        add("vae_latent".into(), "VAE: p(z), p(z|x) and q(z|x)".into());
        add("vae_marginal".into(), "VAE: p(x)".into());
        add("evidence_density".into(), "p0 and p_theta over x0".into());
        add("evidence_nll".into(), "-log p_theta and NELBO(x0)".into());
        add("evidence_sweep".into(), "decomposition against T".into());
        add(
            "evidence_log_snr".into(),
            "terms per unit of log-SNR".into(),
        );
        add(
            "evidence_convergence".into(),
            "NELBO(T) of log-SNR shapes".into(),
        );
        plots
    }

    fn shows_data(ctx: &ViewCtx<'_>) -> bool {
        ctx.dim() == 1 && ctx.model.settings.toggles.evidence_step == EvidenceStep::Diffusion
    }

    fn wants(&self, ctx: &ViewCtx<'_>) -> Vec<Want> {
        if needs_results(ctx) {
            vec![Want::Evidence(ctx.evidence_key())]
        } else {
            Vec::new()
        }
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, editor: &mut DataEditor) -> Vec<Command> {
        within_visible(ui, |ui| self.body(ui, ctx, editor))
    }
}

impl EvidenceView {
    fn body(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, editor: &mut DataEditor) -> Vec<Command> {
        let mut commands = Vec::new();
        let step = ctx.model.settings.toggles.evidence_step;
        ui.horizontal_wrapped(|ui| {
            for s in EvidenceStep::ALL {
                if ui
                    .selectable_label(step == s, s.label())
                    .on_hover_text(step_tip(s))
                    .clicked()
                    && s != step
                {
                    let mut toggles = ctx.model.settings.toggles.clone();
                    toggles.evidence_step = s;
                    commands.push(Command::SetToggles(toggles));
                }
            }
            if needs_results(ctx) {
                progress(ui, ctx);
            }
            if step == EvidenceStep::Hierarchical && ctx.dim() == 1 {
                self.hvae.latents_control(ui);
            }
        });
        ui.separator();
        match step {
            EvidenceStep::Vae => self.vae.ui(ui),
            EvidenceStep::Hierarchical | EvidenceStep::Diffusion | EvidenceStep::LogSnr
                if ctx.dim() != 1 =>
            {
                commands.extend(one_d_only(ui, ctx, step))
            }
            EvidenceStep::Hierarchical => commands.extend(self.hvae.ui(ui, ctx)),
            EvidenceStep::Diffusion => diffusion(ui, ctx, &mut self.lower, editor, &mut commands),
            EvidenceStep::LogSnr => log_snr(ui, ctx),
        }
        commands
    }
}

/// The results of the current key, or of an older one (then `false`: drawn dimmed).
fn shown<'a>(ctx: &'a ViewCtx<'_>) -> Option<(&'a EvidenceShown, bool)> {
    // Results of other data of the same dimension can be drawn dimmed: every curve is
    // drawn over its own x and T.
    let s = ctx.jobs.evidence.shown(&ctx.evidence_key())?;
    Some((s.value, s.current))
}

/// The job's progress at the right of the part selector.
fn progress(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let job = &ctx.jobs.evidence;
    super::ctx::job_progress(
        ui,
        job.is_busy(),
        job.progress(),
        "The evidence, the log-SNR curves, NELBO(T) of the shapes and the decomposition against T are computed in that order on their own thread; each is drawn as soon as it is in",
    );
}

/// What step `step` shows in 1D, why it needs 1D, and a button to 1D data.
fn one_d_only(ui: &mut Ui, ctx: &ViewCtx<'_>, step: EvidenceStep) -> Vec<Command> {
    let why = match step {
        EvidenceStep::Hierarchical => {
            "The ELBO of the chain is computed on this thread as you move T, by quadrature over each latent z_t: in 1D that takes a few hundred nodes per step and a millisecond in all; in 2D each step needs a lattice of many thousands of nodes, too slow to recompute at every move of the slider."
        }
        EvidenceStep::LogSnr => {
            "The terms per unit of log-SNR integrate the optimal denoiser's error over x_t on a grid at every noise level, and the NELBO of each log-SNR shape is computed for T = 1 to 1000 on the same grids. In 1D these grids take a few thousand nodes; in 2D they would take millions per step."
        }
        _ => {
            "The model's own density p_theta(x0) is computed by carrying the reverse chain's density down a grid, one reverse step at a time, and the ELBO of each point by integrating over x_t on a grid. In 1D these grids take a few thousand nodes; in 2D they would take millions per step."
        }
    };
    super::ctx::one_d_only(ui, ctx, why, "the VAE part works on any data")
}

/// One plot's column: a fixed-width area of `h` points.
fn column(ui: &mut Ui, w: f32, h: f32, add: impl FnOnce(&mut Ui)) {
    ui.allocate_ui_with_layout(
        egui::vec2(w, h),
        egui::Layout::top_down(egui::Align::Min),
        |ui| {
            ui.set_width(w);
            add(ui);
        },
    );
}

/// Lay out two plots side by side (or stacked on a narrow window) in `h` points, then
/// `below` under them; the whole scrolls when it is taller than the window.
fn two_plots(
    ui: &mut Ui,
    focus: &Focus,
    id: &str,
    h: f32,
    left: impl FnOnce(&mut Ui, f32, f32),
    right: impl FnOnce(&mut Ui, f32, f32),
    below: impl FnOnce(&mut Ui),
) {
    focus::scroll_area(ui, focus, (egui::ScrollArea::vertical(), id), |ui| {
        let w = ui.available_width();
        if w >= SIDE_BY_SIDE {
            let h = h.max(MIN_SHORT_PLOT);
            let half = (w - ui.spacing().item_spacing.x) / 2.0;
            ui.horizontal_top(|ui| {
                column(ui, half, h, |ui| left(ui, half, h));
                column(ui, half, h, |ui| right(ui, half, h));
            });
        } else {
            // Stacked, each plot takes half: a little less than MIN_PLOT at least, so two
            // fit a short, narrow view (the side panel shown on a projector).
            let h = (h / 2.0).max(MIN_STACKED_PLOT);
            column(ui, w, h, |ui| left(ui, w, h));
            column(ui, w, h, |ui| right(ui, w, h));
        }
        below(ui);
    });
}

// ---------------------------------------------------------------------------------------
// Part 2: the diffusion model's evidence.

fn diffusion(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    lower: &mut AutoFold,
    editor: &mut DataEditor,
    commands: &mut Vec<Command>,
) {
    let pal = Palette::of_ui(ui);
    let found = shown(ctx);
    let result = found.and_then(|(s, current)| {
        s.evidence
            .as_ref()
            .map(|(r, preview)| (r.clone(), *preview, current))
    });
    let error = found
        .filter(|(_, current)| *current)
        .and_then(|(s, _)| s.error(EvidencePart::Evidence));
    ui.horizontal_wrapped(|ui| {
        let key = &ctx.evidence_key();
        ui.label(format!(
            "Model: {} · reverse variance {} · T = {}",
            key.inputs.model.name(),
            key.variance.name(),
            key.inputs.steps()
        ))
        .on_hover_text("The side panel's model, reverse variance and schedule: p_theta is this model's own density, computed exactly on a grid (no samples)");
        match &result {
            Some((r, true, true)) => {
                ui.label(RichText::new("coarse first look; the full grids are computing").italics())
                    .on_hover_text(format!(
                        "Computed on a coarse grid ({} nodes at most) for a first picture; its error estimates say how coarse",
                        r.max_grid_points
                    ));
            }
            Some((r, false, true)) => {
                ui.label(format!("grid error < {}", sci(r.nelbo.error.max(r.model_nll.error))))
                    .on_hover_text("Every figure is deterministic (grids and quadrature, no Monte Carlo); its error is estimated from a coarser grid");
            }
            _ => {}
        }
    });
    if let Some(message) = error {
        ui.colored_label(
            pal.error,
            format!("The evidence could not be computed: {message}"),
        );
    }
    let Some((r, _, current)) = result else {
        if error.is_none() {
            ui.label("Computing the model's density...");
        }
        return;
    };
    let sweep = found.map(|(s, _)| {
        (
            s.sweep.as_slice(),
            s.sweep_done,
            s.error(EvidencePart::Sweep),
        )
    });
    let legends = ctx.model.settings.toggles.legends;
    let view_h = ui.available_height();
    // The plots take half a tall view and all of a short one (the lower section then
    // starts folded).
    let tall = view_h >= LOWER_OPEN_MIN_HEIGHT;
    let header_h = ui.text_style_height(&egui::TextStyle::Body) + 2.0 * ui.spacing().item_spacing.y;
    // Under the plots: the one-line summary (two lines on a narrow view) and the fold's
    // header.
    let lines_below = if ui.available_width() >= SIDE_BY_SIDE {
        2.0
    } else {
        3.5
    };
    let plots_h = if tall {
        view_h * 0.48
    } else {
        view_h - lines_below * header_h - 6.0
    };
    two_plots(
        ui,
        &ctx.focus(),
        "evidence_diffusion",
        plots_h,
        |ui, w, h| {
            let plot = dimmed_unless(ui, current, |ui| {
                density_plot(ui, (ctx, pal), &r, editor, legends, (w, h))
            });
            focus::mark(ui, Target::Plot("evidence_density"), plot.response.rect);
            commands.extend(editor.respond(ui, &plot, ctx));
        },
        |ui, w, h| {
            dimmed_unless(ui, current, |ui| nll_plot(ui, pal, &r, legends, w, h));
        },
        |ui| {
            dimmed_unless(ui, current, |ui| summary(ui, pal, &r));
            lower.show(
                ui,
                &ctx.focus(),
                "The decomposition, and against T",
                "NELBO - H(p0) = KL(p0 || p_theta) + mean gap with every term, and the same terms for T = 1 to 1000. Folded by itself on a short window; click to open or fold it.",
                (view_h, LOWER_OPEN_MIN_HEIGHT),
                |ui| {
                    let w = ui.available_width();
                    let lower_h = (view_h - plots_h - 2.0 * header_h).max(MIN_PLOT);
                    if w >= SIDE_BY_SIDE {
                        let text_w = (w * 0.45).min(380.0);
                        ui.horizontal_top(|ui| {
                            column(ui, text_w, 0.0, |ui| {
                                dimmed_unless(ui, current, |ui| decomposition(ui, pal, &r));
                            });
                            let rest = ui.available_width();
                            column(ui, rest, 0.0, |ui| {
                                sweep_part(ui, ctx, pal, sweep, current, rest, lower_h);
                            });
                        });
                    } else {
                        dimmed_unless(ui, current, |ui| decomposition(ui, pal, &r));
                        sweep_part(ui, ctx, pal, sweep, current, w, lower_h);
                    }
                },
            );
        },
    );
}

/// The points where the data are (p0 above a millionth of its peak: about 5 sd out of a
/// Gaussian's centre; further out the NLL only grows as a parabola).
fn where_data(r: &EvidenceResult) -> impl Iterator<Item = &elbo_core::evidence::EvidencePoint> {
    let peak = r.points.iter().map(|p| p.p0).fold(0.0, f64::max);
    r.points.iter().filter(move |p| p.p0 >= DATA_FLOOR * peak)
}

fn density_plot(
    ui: &mut Ui,
    (ctx, pal): (&ViewCtx<'_>, &Palette),
    r: &EvidenceResult,
    editor: &DataEditor,
    legends: bool,
    (w, h): (f32, f32),
) -> egui_plot::PlotResponse<()> {
    let top = ui.cursor().top();
    legend_row(
        ui,
        legends,
        &[
            LegendEntry::line("data $p_0$", pal.param.x0)
                .tip("The data density p0(x0), exact (a Gaussian mixture)"),
            LegendEntry::line(r"model $p_\theta$", pal.evidence).tip(
                "The model's own density p_theta(x0): N(0, 1) carried down through every reverse step p_theta(x(t-1) | x_t) and the decoder, on a grid",
            ),
        ],
    );
    let h = (h - (ui.cursor().top() - top)).max(60.0);
    let p0: Vec<[f64; 2]> = r.points.iter().map(|p| [p.x0, p.p0]).collect();
    let pt: Vec<[f64; 2]> = r.points.iter().map(|p| [p.x0, p.p_theta]).collect();
    editor
        .setup(plot("evidence_density", "x0", "density"), ctx)
        .width(w)
        .height(h)
        .include_y(0.0)
        .show(ui, |p| {
            p.line(Line::new("data p0", p0).color(pal.param.x0).width(2.0));
            p.line(
                Line::new("model p_theta", pt)
                    .color(pal.evidence)
                    .width(2.0)
                    .style(LineStyle::dashed_dense()),
            );
            editor.draw(p, ctx);
        })
}

fn nll_plot(ui: &mut Ui, pal: &Palette, r: &EvidenceResult, legends: bool, w: f32, h: f32) {
    let top = ui.cursor().top();
    legend_row(
        ui,
        legends,
        &[
            LegendEntry::line(r"$-\log p_\theta(x_0)$", pal.evidence)
                .tip("The model's negative log-likelihood of each point, from its exact density"),
            LegendEntry::line(r"NELBO$(x_0)$", pal.total).tip(
                "The negative ELBO of each point, L_0(x0) + sum_t L(t-1)(x0) + L_T(x0), by quadrature over x_t given x0; its mean over p0 is the ELBO tab's NELBO",
            ),
            LegendEntry::band("gap", pal.gap).tip(
                "NELBO(x0) + log p_theta(x0) = KL(q(x(1:T) | x0) || p_theta(x(1:T) | x0)) >= 0: how loose the bound is at each point",
            ),
        ],
    );
    let h = (h - (ui.cursor().top() - top)).max(60.0);
    let mut xs = Vec::new();
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    let mut nll = Vec::new();
    let mut nelbo = Vec::new();
    for p in where_data(r) {
        nelbo.push([p.x0, p.nelbo]);
        if let Some(n) = p.nll {
            nll.push([p.x0, n]);
            xs.push(p.x0);
            lo.push(n.min(p.nelbo));
            hi.push(p.nelbo.max(n));
        }
    }
    let response = plot("evidence_nll", "x0 (where p0 > 1e-6 of its peak)", "nats")
        .width(w)
        .height(h)
        .show(ui, |p| {
            p.add(FilledArea::new("gap", &xs, &lo, &hi).fill_color(pal.gap.gamma_multiply(0.45)));
            p.line(
                Line::new("-log p_theta", nll)
                    .color(pal.evidence)
                    .width(2.0),
            );
            p.line(
                Line::new("NELBO(x0)", nelbo)
                    .color(pal.total)
                    .width(1.5)
                    .style(LineStyle::dashed_dense()),
            );
        });
    focus::mark(ui, Target::Plot("evidence_nll"), response.response.rect);
}

/// The key of the one-line decomposition under the plots (see [`Target::Readout`]).
pub const SUMMARY: &str = focus::key::EVIDENCE_SUMMARY;

/// The decomposition on one line, each term in its colour (always shown, also when the
/// section with the table is folded).
fn summary(ui: &mut Ui, pal: &Palette, r: &EvidenceResult) {
    focus::readout(ui, Target::Readout(SUMMARY), |ui| summary_line(ui, pal, r));
}

fn summary_line(ui: &mut Ui, pal: &Palette, r: &EvidenceResult) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        let part = |ui: &mut Ui, text: String, colour: egui::Color32, tip: &str| {
            ui.label(RichText::new(text).color(colour))
                .on_hover_text(tip);
        };
        part(
            ui,
            format!("NELBO {}", sci(r.nelbo.value)),
            pal.total,
            "The mean over p0 of NELBO(x0): the ELBO tab's NELBO",
        );
        ui.label("=");
        part(
            ui,
            format!("H(p0) {}", sci(r.data_entropy.value)),
            pal.neutral,
            "The data entropy, the least any model's NLL can be",
        );
        ui.label("+");
        part(
            ui,
            format!("KL {}", sci(r.kl_data_model.value)),
            pal.evidence,
            "KL(p0 || p_theta): what the model gets wrong",
        );
        ui.label("+");
        part(
            ui,
            format!("gap {}", sci(r.mean_bound_gap.value)),
            pal.gap,
            "The mean bound gap E_p0[NELBO(x0) + log p_theta(x0)]: how loose the bound is",
        );
        ui.label("so");
        part(
            ui,
            format!(
                "NELBO - H(p0) = {}",
                sci(r.nelbo.value - r.data_entropy.value)
            ),
            pal.total,
            "How far the bound is above the least it could be: KL(p0 || p_theta) + mean gap",
        );
    });
}

/// The decomposition as a stacked bar and a table.
fn decomposition(ui: &mut Ui, pal: &Palette, r: &EvidenceResult) {
    ui.label(RichText::new("NELBO - H(p0) = KL(p0 || p_theta) + mean gap").strong())
        .on_hover_text("What the model gets wrong (KL between the data and the model's own density) against how loose the bound is (the mean over p0 of each point's gap). Both are >= 0.");
    stacked_bar(ui, pal, r);
    egui::Grid::new("evidence_terms")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let rows: [(&str, Valued, egui::Color32, &str); 5] = [
                (
                    "H(p0), data entropy",
                    r.data_entropy,
                    pal.neutral,
                    "-E log p0(x0): the least any model's NLL can be",
                ),
                (
                    "KL(p0 || p_theta)",
                    r.kl_data_model,
                    pal.evidence,
                    "-E log p_theta - H(p0): what the model gets wrong, >= 0",
                ),
                (
                    "mean gap",
                    r.mean_bound_gap,
                    pal.gap,
                    "E_p0[NELBO(x0) + log p_theta(x0)]: how loose the bound is, >= 0",
                ),
                (
                    "-E log p_theta(x0)",
                    r.model_nll,
                    pal.evidence,
                    "The model's negative log-likelihood: H(p0) + KL",
                ),
                (
                    "NELBO",
                    r.nelbo,
                    pal.total,
                    "The bound: -E log p_theta + mean gap; the same as the ELBO tab's (by quadrature) within the errors",
                ),
            ];
            for (name, v, colour, tip) in rows {
                ui.label(RichText::new(name).color(colour)).on_hover_text(tip);
                ui.label(quadrature_pm(v.value, v.error)).on_hover_text(tip);
                ui.end_row();
            }
        });
}

/// H | KL | gap, scaled to the NELBO's span from the smallest of them (entropies can be
/// negative: the bar starts at the least value drawn).
fn stacked_bar(ui: &mut Ui, pal: &Palette, r: &EvidenceResult) {
    let w = ui.available_width().clamp(120.0, 360.0);
    let h = ui.text_style_height(&egui::TextStyle::Body) * 1.4;
    let (rect, resp) = ui.allocate_exact_size(egui::vec2(w, h), egui::Sense::hover());
    let h0 = r.data_entropy.value;
    let kl = r.kl_data_model.value.max(0.0);
    let gap = r.mean_bound_gap.value.max(0.0);
    let total = kl + gap;
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, pal.neutral.gamma_multiply(0.35));
    if total > 0.0 && total.is_finite() {
        // The entropy's share: a fixed third of the bar (its value is written beside it);
        // KL and gap share the rest in proportion.
        let base = rect.left() + rect.width() / 3.0;
        let span = rect.right() - base;
        let kl_w = span * (kl / total) as f32;
        let kl_rect = egui::Rect::from_min_max(
            egui::pos2(base, rect.top()),
            egui::pos2(base + kl_w, rect.bottom()),
        );
        let gap_rect = egui::Rect::from_min_max(
            egui::pos2(base + kl_w, rect.top()),
            egui::pos2(rect.right(), rect.bottom()),
        );
        painter.rect_filled(kl_rect, 0.0, pal.evidence);
        painter.rect_filled(gap_rect, 0.0, pal.gap);
    }
    resp.on_hover_text(format!(
        "Left third: H(p0) = {} (grey). Then KL(p0 || p_theta) = {} (violet) and the mean gap = {} (brown) in proportion: together NELBO - H(p0) = {}",
        sci(h0),
        sci(kl),
        sci(gap),
        sci(r.nelbo.value - h0)
    ));
}

fn sweep_part(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    pal: &Palette,
    sweep: Option<(&[SweepPoint], bool, Option<&str>)>,
    current: bool,
    w: f32,
    h: f32,
) {
    let key = &ctx.evidence_key();
    if !key.has_family() {
        ui.label("Against T: this schedule is a list of betas from a file, defined at its own T only; pick a preset to see the terms against T.");
        return;
    }
    let Some((points, done, error)) = sweep else {
        return;
    };
    if let Some(e) = error.filter(|_| current) {
        ui.colored_label(pal.error, format!("Against T: {e}"));
    }
    if points.is_empty() {
        ui.label("The terms against T are computed after the evidence...");
        return;
    }
    let top = ui.cursor().top();
    legend_row(
        ui,
        ctx.model.settings.toggles.legends,
        &[
            LegendEntry::line("NELBO - $H(p_0)$", pal.total)
                .tip("How far the bound is from the data entropy at each T: KL + mean gap"),
            LegendEntry::line(r"KL$(p_0 \| p_\theta)$", pal.evidence)
                .tip("What the model gets wrong at each T: -E log p_theta - H(p0)"),
            LegendEntry::line("mean gap", pal.gap)
                .tip("How loose the bound is at each T: NELBO + E log p_theta"),
        ],
    );
    ui.label(format!(
        "{} at T = 1 to {}{}",
        key.inputs.model.name(),
        points.last().map_or(0, |p| p.steps),
        if done { "" } else { " (more T computing)" }
    ))
    .on_hover_text("The current schedule's preset at each T, with the side panel's model and reverse variance (every model here takes the noise level, not the step number, so it is the same denoiser at any T). Both axes are logarithmic; a value <= 0 (a KL at its error's level) is not drawn.");
    let h = (h - (ui.cursor().top() - top)).max(MIN_PLOT);
    let series =
        |f: fn(&SweepPoint) -> f64| log_points(points.iter().map(|p| (p.steps as f64, f(p))));
    let excess = series(|p| p.nelbo.value - p.data_entropy.value);
    let kl = series(|p| p.kl.value);
    let gap = series(|p| p.gap.value);
    dimmed_unless(ui, current, |ui| {
        log_log_plot("evidence_sweep", "T", "nats")
            .width(w)
            .height(h)
            .show(ui, |p| {
                for (name, pts, colour) in [
                    ("NELBO - H(p0)", excess, pal.total),
                    ("KL(p0 || p_theta)", kl, pal.evidence),
                    ("mean gap", gap, pal.gap),
                ] {
                    p.line(Line::new(name, pts.clone()).color(colour).width(2.0));
                    p.points(Points::new(name, pts).color(colour).radius(3.0));
                }
            });
    });
}

// ---------------------------------------------------------------------------------------
// Part 3: the schedule in log-SNR.

fn log_snr(ui: &mut Ui, ctx: &ViewCtx<'_>) {
    let pal = Palette::of_ui(ui);
    let found = shown(ctx);
    let view = found.and_then(|(s, current)| s.log_snr.as_ref().map(|v| (v.clone(), current)));
    if let Some(e) = found
        .filter(|(_, current)| *current)
        .and_then(|(s, _)| s.error(EvidencePart::LogSnr))
    {
        ui.colored_label(pal.error, e);
    }
    let Some((view, current)) = view else {
        ui.label("Computing the terms in log-SNR (after the evidence)...");
        return;
    };
    ui.label("Optimal denoiser, fixed_small: each L(t-1) per unit of log-SNR")
        .on_hover_text("L(t-1) = 1/2 (SNR(t-1) - SNR_t) mmse(SNR_t) covers the log-SNR interval from lambda_t to lambda(t-1); divided by its width and drawn at its middle it is a loss density that does not depend on how finely the schedule steps. Right: NELBO(T) of schedules made from four log-SNR shapes with this schedule's endpoints, minus their common limit.");
    let legends = ctx.model.settings.toggles.legends;
    let h = ui.available_height() - 6.0;
    two_plots(
        ui,
        &ctx.focus(),
        "evidence_log_snr_scroll",
        h,
        |ui, w, h| {
            dimmed_unless(ui, current, |ui| {
                density_in_log_snr(ui, ctx, pal, &view, legends, w, h)
            })
        },
        |ui, w, h| {
            dimmed_unless(ui, current, |ui| {
                convergence_plot(ui, pal, &view, legends, w, h)
            })
        },
        |ui| dimmed_unless(ui, current, |ui| log_snr_notes(ui, pal, &view)),
    );
}

/// A curve's colour, dash and name.
fn curve_style(
    ctx: &ViewCtx<'_>,
    pal: &Palette,
    c: &super::super::jobs::evidence::LogSnrCurve,
) -> (egui::Color32, LineStyle, String) {
    match c.preset {
        Some(p) => {
            let (colour, style) = pal.preset(p);
            let name = if c.current {
                format!("{} (now)", p.name())
            } else {
                p.name().to_owned()
            };
            (colour, style, name)
        }
        None => (
            pal.total,
            LineStyle::Solid,
            format!("{} (now)", ctx.model.applied.schedule_label),
        ),
    }
}

fn density_in_log_snr(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    pal: &Palette,
    view: &LogSnrView,
    legends: bool,
    w: f32,
    h: f32,
) {
    let top = ui.cursor().top();
    let mut entries: Vec<LegendEntry> = view
        .curves
        .iter()
        .map(|c| {
            let (colour, style, name) = curve_style(ctx, pal, c);
            LegendEntry::styled(name, colour, style)
                .tip("This schedule's denoising terms, each divided by its step's width in log-SNR")
        })
        .collect();
    entries.push(
        LegendEntry::styled("limit", pal.neutral, LineStyle::dashed_dense())
            .tip("The continuous-time loss per unit of log-SNR, 1/2 SNR mmse(SNR): every schedule's terms approach it as its steps get finer"),
    );
    legend_row(ui, legends, &entries);
    let h = (h - (ui.cursor().top() - top)).max(60.0);
    plot("evidence_log_snr", "log-SNR lambda", "nats / log-SNR")
        .width(w)
        .height(h)
        .include_y(0.0)
        .show(ui, |p| {
            // The other presets under the current schedule.
            for c in view.curves.iter().rev() {
                let (colour, style, name) = curve_style(ctx, pal, c);
                p.line(
                    Line::new(name, c.points.clone())
                        .color(colour)
                        .style(style)
                        .width(if c.current { 2.5 } else { 1.5 }),
                );
            }
            p.line(
                Line::new("1/2 SNR mmse(SNR)", view.limit.clone())
                    .color(pal.neutral)
                    .style(LineStyle::dashed_dense())
                    .width(2.0),
            );
        });
}

/// A shape's name in a legend: "lambda linear" (the log-SNR linear in t), never plain
/// "linear", which the left plot's legend uses for the beta schedule preset.
fn shape_short(shape: SnrShape) -> &'static str {
    match shape {
        SnrShape::Linear => "lambda linear",
        SnrShape::Cosine => "lambda cosine",
        SnrShape::Quadratic => "lambda quadratic",
        SnrShape::Concave => "lambda concave",
    }
}

/// Each shape's colour, dash and marker: no two alike (two colours times solid and broken
/// lines, and a marker each).
fn shape_style(pal: &Palette, shape: SnrShape) -> (egui::Color32, LineStyle, MarkerShape) {
    match shape {
        SnrShape::Linear => (pal.total, LineStyle::Solid, MarkerShape::Circle),
        SnrShape::Cosine => (pal.total, LineStyle::dashed_dense(), MarkerShape::Square),
        SnrShape::Quadratic => (pal.neutral, LineStyle::dotted_dense(), MarkerShape::Diamond),
        SnrShape::Concave => (pal.neutral, LineStyle::Solid, MarkerShape::Up),
    }
}

fn convergence_plot(ui: &mut Ui, pal: &Palette, view: &LogSnrView, legends: bool, w: f32, h: f32) {
    let top = ui.cursor().top();
    let Some(c) = &view.convergence else {
        match &view.convergence_note {
            Some(note) => ui.label(note.as_str()),
            None => ui.label("Computing NELBO(T) of the shapes..."),
        };
        return;
    };
    let entries: Vec<LegendEntry> = c
        .shapes
        .iter()
        .map(|s| {
            let (colour, style, _) = shape_style(pal, s.shape);
            LegendEntry::styled(shape_short(s.shape), colour, style).tip(format!(
                "{}: NELBO(T) of the optimal model for a schedule whose log-SNR follows this shape in t between the current schedule's two endpoints, minus the limit L_0 + L_T + L_inf that every such schedule approaches as T grows",
                s.shape.name()
            ))
        })
        .collect();
    legend_row(ui, legends, &entries);
    let h = (h - (ui.cursor().top() - top)).max(60.0);
    let limit = c.limit_nelbo();
    log_log_plot("evidence_convergence", "T", "NELBO(T) - limit (nats)")
        .width(w)
        .height(h)
        .show(ui, |p| {
            for s in &c.shapes {
                let (colour, style, marker) = shape_style(pal, s.shape);
                let pts = log_points(s.nelbo.iter().map(|(t, n)| (*t as f64, n - limit)));
                p.line(
                    Line::new(s.shape.name(), pts.clone())
                        .color(colour)
                        .style(style)
                        .width(1.5),
                );
                p.points(
                    Points::new(s.shape.name(), pts)
                        .color(colour)
                        .shape(marker)
                        .radius(3.5),
                );
            }
        });
}

fn log_snr_notes(ui: &mut Ui, pal: &Palette, view: &LogSnrView) {
    ui.add_space(4.0);
    if let Some(c) = &view.convergence {
        ui.label(format!(
            "Endpoints log-SNR {:.2} to {:.2}: L_0 = {}, L_T = {}, L_inf = {} ± {}, limit {}",
            c.log_snr_first,
            c.log_snr_last,
            sci(c.reconstruction),
            sci(c.prior),
            sci(c.limit.value),
            sci(c.limit.error),
            sci(c.limit_nelbo())
        ))
        .on_hover_text("Every shape with these endpoints has the same L_0 and L_T; its denoising sum is never below L_inf (each term takes mmse at its step's low-SNR end, and mmse falls as the SNR grows) and falls to it as T grows");
    }
    if let Some(note) = &view.convergence_note
        && view.convergence.is_some()
    {
        ui.colored_label(pal.info, note);
    }
    ui.label(RichText::new("Where the curves differ from the limit:").strong());
    ui.label("• t = 1 is the decoder L_0, not a denoising term: it is left out here.");
    for c in &view.curves {
        let name = c.preset.map_or("the current schedule", |p| p.name());
        if let Some((t, width)) = c.widest
            && width > 0.25
        {
            ui.label(format!(
                "• {name}: its widest step spans {width:.2} in log-SNR (t = {t}); a coarse step evaluates mmse at its low-SNR end, so it sits above the curve there{}.",
                if c.preset == Some(elbo_core::schedule::BetaSchedule::SquaredcosCapV2) {
                    " (the cosine schedule's betas are capped at 0.999 near T)"
                } else {
                    ""
                }
            ));
        }
        if c.undefined > 0 {
            ui.label(format!(
                "• {name}: zero terminal SNR, so its last step reaches log-SNR -inf; its loss per unit of log-SNR is undefined and not drawn."
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::palette::{DARK, LIGHT};

    /// The defect: "cosine" and "concave" were identical white dashes, and "linear" named
    /// both a beta preset (left legend) and a log-SNR shape (right legend).
    #[test]
    fn every_log_snr_shape_is_drawn_and_named_apart() {
        let shapes = [
            SnrShape::Linear,
            SnrShape::Cosine,
            SnrShape::Quadratic,
            SnrShape::Concave,
        ];
        for pal in [&DARK, &LIGHT] {
            for (i, a) in shapes.iter().enumerate() {
                for b in &shapes[i + 1..] {
                    let (ca, sa, _) = shape_style(pal, *a);
                    let (cb, sb, _) = shape_style(pal, *b);
                    assert!(ca != cb || sa != sb, "{a:?} and {b:?} look alike");
                }
            }
        }
        for s in shapes {
            assert!(shape_short(s).starts_with("lambda "), "{s:?}");
        }
    }
}
