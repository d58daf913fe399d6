//! The ELBO terms: per-timestep L_{t-1} with error bands, L_0 and L_T marked, the running
//! sum up to the NELBO beside the data entropy, and eq. 58 against eq. 45.

use egui::{RichText, Ui};
use egui_plot::{HLine, Line, LineStyle, MarkerShape, Points};

use crate::elbo::{ElboResult, TimestepTerm};
use crate::param::{Parameterisation, PerParam};

use super::super::ElboShown;
use super::super::command::Command;
use super::super::controls::{ERROR_COLOUR, WARNING_COLOUR};
use super::super::plot_util::{
    PARAM_COLOURS, T_COLOUR, band, maybe_log, opt, plot, plot_maybe_log, sci, t_marker,
};
use super::super::settings::ElboForm;
use super::{ViewCtx, dimmed_unless, formula, formula_column};

const TEXT_WIDTH: f32 = 300.0;

/// Curves of one parameterisation over t.
#[derive(Default)]
pub struct ParamCurves {
    /// `(t, w(t))`.
    pub weight: Vec<[f64; 2]>,
    /// `(t, MSE(t))`.
    pub mse: Vec<[f64; 2]>,
    /// Standard error of each MSE point.
    pub mse_stderr: Vec<f64>,
    /// `(t, w(t) MSE(t))`.
    pub weighted: Vec<[f64; 2]>,
}

/// The result as curves, computed once when it arrives.
pub struct Curves {
    /// `(t, L_{t-1})` for t >= 2 (eq. 58).
    pub terms: Vec<[f64; 2]>,
    /// Their standard errors.
    pub stderr: Vec<f64>,
    /// `(t, consistency term)` (eq. 45) where computed.
    pub consistency: Vec<[f64; 2]>,
    /// Their standard errors.
    pub consistency_stderr: Vec<f64>,
    /// Rows whose estimate is unreliable (heavy tails).
    pub unreliable: Vec<[f64; 2]>,
    /// `(t, L_0 + sum_{s=2}^t L_{s-1})`, with L_T added at T.
    pub running: Vec<[f64; 2]>,
    /// Per parameterisation.
    pub params: PerParam<ParamCurves>,
}

impl Curves {
    /// Build the curves of a result.
    pub fn new(r: &ElboResult) -> Self {
        let mut terms = Vec::new();
        let mut stderr = Vec::new();
        let mut consistency = Vec::new();
        let mut consistency_stderr = Vec::new();
        let mut unreliable = Vec::new();
        let mut running = Vec::new();
        let mut params: PerParam<ParamCurves> = PerParam::default();
        let mut sum = 0.0;
        for row in &r.timesteps {
            let t = row.t as f64;
            if let Some(l) = row.loss {
                sum += l;
                if row.t >= 2 {
                    terms.push([t, l]);
                    stderr.push(row.stderr.unwrap_or(0.0));
                    if !row.reliable {
                        unreliable.push([t, l]);
                    }
                }
            }
            let total = if row.t == r.steps {
                sum + r.prior_loss
            } else {
                sum
            };
            running.push([t, total]);
            if let (Some(c), true) = (row.consistency_loss, row.t >= 2) {
                consistency.push([t, c]);
                consistency_stderr.push(row.consistency_stderr.unwrap_or(0.0));
            }
            for p in Parameterisation::ALL {
                let pc = &mut params[p];
                let (w, m, se) = param_row(row, p);
                if let Some(w) = w {
                    pc.weight.push([t, w]);
                }
                if let Some(m) = m {
                    pc.mse.push([t, m]);
                    pc.mse_stderr.push(se.unwrap_or(0.0));
                }
                if let (Some(w), Some(m)) = (w, m) {
                    pc.weighted.push([t, w * m]);
                }
            }
        }
        Curves {
            terms,
            stderr,
            consistency,
            consistency_stderr,
            unreliable,
            running,
            params,
        }
    }
}

/// Weight, MSE and its standard error of parameterisation `p` in a row.
pub fn param_row(
    row: &TimestepTerm,
    p: Parameterisation,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    match p {
        Parameterisation::X0 => (row.weight_x0, row.mse_x0, row.mse_x0_stderr),
        Parameterisation::Eps => (row.weight_eps, row.mse_eps, row.mse_eps_stderr),
        Parameterisation::Score => (row.weight_score, row.mse_score, row.mse_score_stderr),
        Parameterisation::V => (row.weight_v, row.mse_v, row.mse_v_stderr),
    }
}

/// The ELBO terms tab (no state of its own).
#[derive(Default)]
pub struct ElboView;

impl ElboView {
    /// Show the view.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let mut toggles = ctx.settings.toggles.clone();
        ui.horizontal(|ui| {
            ui.checkbox(&mut toggles.log_y, "Log y axis");
            ui.label("Form:");
            ui.radio_value(
                &mut toggles.elbo_form,
                ElboForm::DenoisingMatching,
                "eq. 58 denoising matching",
            );
            ui.radio_value(
                &mut toggles.elbo_form,
                ElboForm::Consistency,
                "eq. 45 consistency terms",
            );
        });
        if toggles != ctx.settings.toggles {
            commands.push(Command::SetToggles(toggles));
        }
        let elbo = ctx.elbo();
        if ctx.settings.toggles.log_y
            && let Some(e) = &elbo
            && e.value.result.reconstruction_loss.mean <= 0.0
        {
            ui.label(format!(
                "L_0 = {} is not positive, so it is not drawn on the log axis (a density can exceed 1: L_0 is a negative log density, not a KL).",
                sci(e.value.result.reconstruction_loss.mean)
            ));
        }
        let h = ui.available_height();
        let current = elbo.as_ref().is_none_or(|e| e.current);
        ui.horizontal_top(|ui| {
            let w = (ui.available_width() - TEXT_WIDTH - 16.0).max(200.0);
            ui.vertical(|ui| {
                ui.set_width(w);
                dimmed_unless(ui, current, |ui| {
                    plots(ui, ctx, elbo.as_ref().map(|e| e.value), w, h)
                });
            });
            formula_column(ui, TEXT_WIDTH, |ui| {
                dimmed_unless(ui, current, |ui| {
                    text(ui, ctx, elbo.as_ref().map(|e| e.value))
                })
            });
        });
        commands
    }
}

fn plots(ui: &mut Ui, ctx: &ViewCtx<'_>, elbo: Option<&ElboShown>, w: f32, h: f32) {
    let t = ctx.t;
    let log = ctx.settings.toggles.log_y;
    let eq45 = ctx.settings.toggles.elbo_form == ElboForm::Consistency;
    let top_h = (h * 0.58).max(120.0);
    plot_maybe_log("terms", "timestep t", "loss (nats)", log)
        .height(top_h)
        .width(w)
        .show(ui, |p| {
            if let Some(e) = elbo {
                let c = &e.curves;
                let r = &e.result;
                p.add(band(
                    "L_{t-1} +/- 1 s.e.",
                    &c.terms,
                    &c.stderr,
                    log,
                    PARAM_COLOURS[Parameterisation::Eps],
                ));
                p.line(
                    Line::new("L_{t-1} (eq. 58)", maybe_log(&c.terms, log))
                        .color(PARAM_COLOURS[Parameterisation::Eps])
                        .width(1.5),
                );
                if eq45 && !c.consistency.is_empty() {
                    p.add(band(
                        "consistency +/- 1 s.e.",
                        &c.consistency,
                        &c.consistency_stderr,
                        log,
                        PARAM_COLOURS[Parameterisation::X0],
                    ));
                    p.line(
                        Line::new("consistency term (eq. 45)", maybe_log(&c.consistency, log))
                            .color(PARAM_COLOURS[Parameterisation::X0])
                            .width(1.0),
                    );
                }
                if !c.unreliable.is_empty() {
                    p.points(
                        Points::new("unreliable (heavy tails)", maybe_log(&c.unreliable, log))
                            .shape(MarkerShape::Cross)
                            .radius(3.0)
                            .color(WARNING_COLOUR),
                    );
                }
                let marks = [
                    (
                        "L_0 reconstruction (t = 1)",
                        [1.0, r.reconstruction_loss.mean],
                        MarkerShape::Diamond,
                    ),
                    (
                        "L_T prior matching (t = T)",
                        [r.steps as f64, r.prior_loss],
                        MarkerShape::Square,
                    ),
                ];
                for (name, pt, shape) in marks {
                    let pts = maybe_log(&[pt], log);
                    p.points(
                        Points::new(name, pts)
                            .shape(shape)
                            .radius(6.0)
                            .filled(true)
                            .color(PARAM_COLOURS[Parameterisation::Score]),
                    );
                }
            }
            p.vline(t_marker(t));
        });
    plot("running", "timestep t", "cumulative loss (nats)")
        .height((h - top_h - 40.0).max(100.0))
        .width(w)
        .show(ui, |p| {
            if let Some(e) = elbo {
                let r = &e.result;
                p.line(
                    Line::new(
                        "running sum L_0 + ... + L_{t-1} (+ L_T at T)",
                        e.curves.running.clone(),
                    )
                    .color(PARAM_COLOURS[Parameterisation::Eps])
                    .width(2.0),
                );
                p.hline(
                    HLine::new(format!("NELBO = {}", sci(r.nelbo.mean)), r.nelbo.mean)
                        .color(PARAM_COLOURS[Parameterisation::V]),
                );
                p.hline(
                    HLine::new(
                        format!("data entropy H(p0) = {}", sci(r.data_entropy.mean)),
                        r.data_entropy.mean,
                    )
                    .color(PARAM_COLOURS[Parameterisation::Score])
                    .style(LineStyle::dashed_dense()),
                );
            }
            p.vline(t_marker(t));
        });
}

fn text(ui: &mut Ui, ctx: &ViewCtx<'_>, elbo: Option<&ElboShown>) {
    let Some(e) = elbo else {
        ui.spinner();
        ui.label("Computing the ELBO...");
        return;
    };
    let r = &e.result;
    let t = ctx.t;
    if e.preview {
        ui.label(
            RichText::new(format!("Quick preview (N = {}); refining...", r.samples))
                .color(WARNING_COLOUR),
        );
    }
    ui.strong("Totals (nats)");
    formula(ui, "NELBO = L_0 + sum_{t=2}^T L_{t-1} + L_T");
    formula(
        ui,
        format!(
            "L_0 = {} +/- {}",
            sci(r.reconstruction_loss.mean),
            sci(r.reconstruction_loss.stderr)
        ),
    );
    formula(
        ui,
        format!(
            "sum L_(t-1) = {} +/- {}",
            sci(r.denoising_loss.mean),
            sci(r.denoising_loss.stderr)
        ),
    );
    formula(ui, format!("L_T = {} (exact)", sci(r.prior_loss)));
    formula(
        ui,
        format!("NELBO = {} +/- {}", sci(r.nelbo.mean), sci(r.nelbo.stderr)),
    );
    formula(
        ui,
        format!("bits/dim = NELBO/(d ln 2) = {}", sci(r.bits_per_dim.mean)),
    );
    formula(
        ui,
        format!(
            "H(p0) = {} +/- {}",
            sci(r.data_entropy.mean),
            sci(r.data_entropy.stderr)
        ),
    );
    formula(
        ui,
        format!(
            "gap = NELBO - H(p0) = {} +/- {}",
            sci(r.gap.mean),
            sci(r.gap.stderr)
        ),
    );
    ui.add_space(6.0);
    let Some(row) = r.timesteps.get(t - 1) else {
        return;
    };
    if t == 1 {
        ui.strong("At t = 1: reconstruction L_0");
        formula(ui, "L_0 = -E log N(x0; mu(x1, 1), beta_1 I)");
    } else {
        ui.strong(format!("At t = {t}: denoising matching L_{}", t - 1));
        formula(
            ui,
            "L_{t-1} = E||mu~(x_t,x0) - mu(x_t,t)||^2 / (2 sigma_t^2) + (d/2)(r - 1 - log r)",
        );
    }
    formula(ui, format!("= {} +/- {}", opt(row.loss), opt(row.stderr)));
    formula(
        ui,
        format!(
            "= w_x0 MSE_x0 + var. part = {} x {} + {}",
            opt(row.weight_x0),
            opt(row.mse_x0),
            sci(row.variance_part)
        ),
    );
    if let Some(c) = row.consistency_loss {
        formula(
            ui,
            format!(
                "eq. 45 term: {} +/- {}",
                sci(c),
                opt(row.consistency_stderr)
            ),
        );
    }
    if !row.reliable {
        ui.label(
            RichText::new(format!(
                "Unreliable estimate: sample kurtosis {:.0}, a few samples between modes carry most of the variance.",
                row.kurtosis
            ))
            .color(WARNING_COLOUR),
        );
    }
    if row.exact {
        ui.label("This row is exact (closed form).");
    }
    if let Some(cs) = &r.consistency {
        ui.add_space(6.0);
        ui.strong("eq. 45 against eq. 58 (same samples)");
        formula(
            ui,
            format!(
                "eq. 45 NELBO = {} +/- {}",
                sci(cs.nelbo.mean),
                sci(cs.nelbo.stderr)
            ),
        );
        formula(
            ui,
            format!(
                "eq. 58 NELBO = {} +/- {}",
                sci(r.nelbo.mean),
                sci(r.nelbo.stderr)
            ),
        );
        if r.nelbo.stderr > 0.0 {
            formula(
                ui,
                format!("s.e. ratio = {:.1}x", cs.nelbo.stderr / r.nelbo.stderr),
            );
        }
        ui.label("The consistency form averages over two random variables per term, so its Monte Carlo error is much larger.");
    } else if ctx.settings.toggles.elbo_form == ElboForm::Consistency {
        ui.label(RichText::new("Computing the eq. 45 terms...").color(T_COLOUR));
    }
    if r.nelbo.mean < r.data_entropy.mean - 3.0 * (r.gap.stderr + 1e-12) {
        ui.label(
            RichText::new("NELBO below H(p0) beyond 3 s.e.: increase the samples.")
                .color(ERROR_COLOUR),
        );
    }
}
