//! The ELBO terms: per-timestep L_{t-1} with error bands, L_0 and L_T marked, the running
//! sum up to the NELBO beside the data entropy, and eq. 58 against eq. 45.

use egui::{RichText, Ui};
use egui_plot::{HLine, Line, LineStyle, MarkerShape, Points};

use elbo_core::elbo::{ElboResult, Method, TermKind};
use elbo_core::schedule::VarianceType;

use super::super::command::Command;
use super::super::controls::ANALYTIC_TIP;
use super::super::focus::{self, Target};
use super::super::formula::{self as tex, catalogue, catalogue::label};
use super::super::jobs::Want;
use super::super::jobs::elbo::ElboShown;
use super::super::palette::Palette;
use super::super::plot_util::{
    LegendEntry, band, clicked_t, legend_row, maybe_log, opt, opt_pm, plot, plot_maybe_log, pm,
    pm_exact, quadrature_pm, sci, signed, t_marker, within_visible,
};
use super::super::settings::ElboForm;
use super::ctx::{ViewCtx, dimmed_unless, formula_column};
use super::editor::DataEditor;
use super::tab::{PlotName, Tab, TabInfo};

/// Below this width (points) the totals go under the plots instead of beside them.
const STACK_BELOW: f32 = 560.0;
/// The two plots never get less height than this, in points, nor more than 60% of the
/// view's height: below it the stacked layout scrolls.
const MIN_PLOTS: f32 = 250.0;
/// The lower plot's least height: its frame, tick labels and axis name.
const LOWER_MIN: f32 = 105.0;

/// The ELBO terms tab (no state of its own).
#[derive(Default)]
pub struct ElboView;

impl Tab for ElboView {
    const INFO: TabInfo = TabInfo {
        name: "ELBO terms",
        short_name: "ELBO",
        slug: "elbo",
        aliases: &["terms"],
        summary: "The ELBO term by term: reconstruction, denoising matching per t, prior matching",
        help: "The negative ELBO (Luo eq. 58) is a sum of nats: a reconstruction term L_0, one \
             denoising matching term L(t-1) per timestep (a KL between Gaussians), and the prior \
             matching term L_T. The top plot shows each term over t, the lower one their running sum. \
             NELBO is never below the data entropy H(p0); the gap between them is what the model \
             and the bound lose. Monte Carlo figures carry their standard error; exact ones say so.",
    };

    fn plots() -> Vec<PlotName> {
        let mut plots: Vec<PlotName> = Vec::new();
        let mut add = |name: String, label: String| plots.push((name, label));
        add("terms".into(), "ELBO terms per t".into());
        add("running".into(), "cumulative loss".into());
        plots
    }

    fn wants(&self, ctx: &ViewCtx<'_>) -> Vec<Want> {
        vec![Want::Elbo(ctx.elbo_key())]
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, _editor: &mut DataEditor) -> Vec<Command> {
        within_visible(ui, |ui| self.body(ui, ctx))
    }
}

impl ElboView {
    fn body(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let width = ui.available_width();
        let mut toggles = ctx.model.settings.toggles.clone();
        let elbo = ctx.elbo();
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut toggles.log_y, "Log y axis").on_hover_text(
                "Draw the per-timestep terms on a log10 axis (ticks at powers of ten). The terms span several orders of magnitude; values <= 0 cannot be drawn on it.",
            );
            ui.label("Form:");
            ui.radio_value(
                &mut toggles.elbo_form,
                ElboForm::DenoisingMatching,
                "eq. 58 denoising matching",
            )
            .on_hover_text(
                "Luo 2022 eq. 58: NELBO = L_0 + sum(t = 2..T) L(t-1) + L_T, each L(t-1) = KL(q(x(t-1)|x_t,x0) || p(x(t-1)|x_t)), one random variable per term.",
            );
            ui.radio_value(
                &mut toggles.elbo_form,
                ElboForm::Consistency,
                "eq. 45 consistency terms",
            )
            .on_hover_text(
                "Luo 2022 eq. 45: the same NELBO from consistency terms E KL(q(x_t|x(t-1)) || p(x_t|x(t+1))), two random variables per term, drawn beside eq. 58 on the same samples: the same total, each term noisier. Choosing it puts every tab's ELBO on Monte Carlo (N and seed of the side panel).",
            );
            if let Some(e) = elbo.as_ref() {
                let (caption, tip) = method_caption(&e.value.result);
                ui.label(caption).on_hover_text(tip);
            }
            // Said in L_0's legend entry when the legend is shown.
            if let Some(note) = l0_note(ctx, elbo.as_ref().map(|e| e.value))
                && !ctx.model.settings.toggles.legends
            {
                ui.label(note).on_hover_text(L0_NOTE_TIP);
            }
        });
        if toggles != ctx.model.settings.toggles {
            commands.push(Command::SetToggles(toggles));
        }
        let current = elbo.as_ref().is_none_or(|e| e.current);
        let shown = elbo.as_ref().map(|e| e.value);
        if width < STACK_BELOW {
            // Too narrow for two columns: the plots fill the view, the totals follow below.
            let h = ui.available_height();
            egui::ScrollArea::vertical()
                .id_salt("elbo_stacked")
                .show(ui, |ui| {
                    let w = ui.available_width();
                    dimmed_unless(ui, current, |ui| {
                        commands.extend(plots(ui, ctx, shown, w, h.max(220.0)))
                    });
                    dimmed_unless(ui, current, |ui| text(ui, ctx, shown));
                });
        } else {
            let text_w = (width * 0.36).clamp(250.0, 340.0);
            let h = ui.available_height();
            ui.horizontal_top(|ui| {
                let w = width - text_w - 2.0 * ui.spacing().item_spacing.x;
                // A column of exactly w (its legend row wraps there).
                ui.allocate_ui_with_layout(
                    egui::vec2(w, h),
                    egui::Layout::top_down(egui::Align::Min),
                    |ui| {
                        ui.set_width(w);
                        dimmed_unless(ui, current, |ui| {
                            commands.extend(plots(ui, ctx, shown, w, h))
                        });
                    },
                );
                formula_column(ui, text_w, |ui| {
                    dimmed_unless(ui, current, |ui| text(ui, ctx, shown))
                });
            });
        }
        commands
    }
}

const L0_NOTE_TIP: &str = "A density can exceed 1: L_0 is a negative log density, not a KL, so it can be negative, and a log axis cannot show it.";

/// What the standard errors of the two forms say, in words that agree with their ratio
/// (eq. 45's over eq. 58's; None when eq. 58's is exact).
pub fn eq45_verdict(ratio: Option<f64>) -> String {
    match ratio {
        None => "Eq. 58 is exact here; eq. 45 carries the Monte Carlo error shown.".to_owned(),
        Some(r) if r >= 1.25 => format!(
            "Eq. 45's standard error is {r:.1}x eq. 58's: each consistency term averages over two random variables (x(t-1) and x(t+1)) instead of one, which adds Monte Carlo noise."
        ),
        Some(r) if r <= 0.8 => format!(
            "Here eq. 45's standard error is the smaller one ({r:.1}x eq. 58's): the two forms have the same total but differ term by term, and which is more precise depends on the data and the schedule."
        ),
        Some(r) => format!(
            "The two standard errors are about the same here ({r:.1}x): same total, same precision."
        ),
    }
}

/// "L_0 < 0, not drawn" when the log axis cannot show L_0.
fn l0_note(ctx: &ViewCtx<'_>, elbo: Option<&ElboShown>) -> Option<String> {
    let l0 = elbo?.result.reconstruction_loss.mean;
    (ctx.model.settings.toggles.log_y && l0 <= 0.0)
        .then(|| format!("L_0 = {} <= 0: not drawn on the log axis", sci(l0)))
}

/// Which method the plots show, and how precise it is: "quadrature, error < 3e-12" or
/// "Monte Carlo, N = 4096" (with a hover text saying what that means).
pub fn method_caption(r: &ElboResult) -> (String, &'static str) {
    match r.method {
        Method::Quadrature => (
            format!(
                "quadrature, error < {}",
                sci(r.nelbo.stderr.max(f64::MIN_POSITIVE))
            ),
            "Every expectation is integrated deterministically over x_t through the exact posterior of the data: the curves carry no sampling noise. The error bound is the NELBO's (the sum of the rows' estimates). Monte Carlo is used for the eq. 45 form.",
        ),
        Method::MonteCarlo => (
            format!("Monte Carlo, N = {}", r.samples),
            "Expectations are means over N samples (x0, eps), the same for every t; bands are ± 1 standard error.",
        ),
    }
}

/// A value with its error: closed form "(exact)"; by quadrature as [`quadrature_pm`]
/// writes it; by Monte Carlo "± s.e." as [`pm_exact`] writes it.
fn value_pm(mean: f64, err: f64, closed_form: bool, method: Method) -> String {
    if method == Method::Quadrature && !closed_form && mean.is_finite() {
        quadrature_pm(mean, err)
    } else {
        pm_exact(mean, err, closed_form)
    }
}

fn legend(ctx: &ViewCtx<'_>, pal: &Palette, elbo: Option<&ElboShown>) -> Vec<LegendEntry> {
    let eq45 = ctx.model.settings.toggles.elbo_form == ElboForm::Consistency;
    let quadrature = elbo.is_some_and(|e| e.result.method == Method::Quadrature);
    let mut entries = vec![if quadrature {
        LegendEntry::styled("$L_{t-1}$", pal.denoising, LineStyle::Solid).tip(
            "Denoising matching term L(t-1) (Luo eq. 58) at each t >= 2, by quadrature (its error is far below the line width)",
        )
    } else {
        LegendEntry::band("$L_{t-1}$ ± s.e.", pal.denoising).tip(
            "Denoising matching term L(t-1) (Luo eq. 58) at each t >= 2, with its Monte Carlo standard error as a band",
        )
    }];
    if eq45 && elbo.is_some_and(|e| !e.curves.consistency.is_empty()) {
        entries.push(
            LegendEntry::styled(
                "eq. 45 term ± s.e.",
                pal.denoising,
                LineStyle::dashed_dense(),
            )
            .tip("Consistency term of Luo eq. 45 at each t, on the same samples"),
        );
    }
    if elbo.is_some_and(|e| !e.curves.unreliable.is_empty()) {
        entries.push(
            LegendEntry::marker("unreliable", pal.warning, MarkerShape::Cross).tip(
                "Heavy-tailed per-sample losses: a few samples between modes carry most of the variance, so the standard error itself is unreliable",
            ),
        );
    }
    entries.extend([
        match l0_note(ctx, elbo) {
            Some(note) => LegendEntry::marker(
                "$L_0 < 0$, not drawn",
                pal.reconstruction,
                MarkerShape::Diamond,
            )
            .tip(format!("{note}. {L0_NOTE_TIP}")),
            None => LegendEntry::marker("$L_0$", pal.reconstruction, MarkerShape::Diamond)
                .tip("Reconstruction term L_0 = -E log p(x0|x1) (Luo eq. 58), drawn at t = 1"),
        },
        LegendEntry::marker("$L_T$", pal.prior, MarkerShape::Square)
            .tip("Prior matching term L_T = KL(q(x_T|x0) || N(0, I)) (exact), drawn at t = T"),
        LegendEntry::styled("NELBO", pal.total, LineStyle::dotted_dense())
            .tip("Lower plot: the negative ELBO, L_0 + sum L(t-1) + L_T (Luo eq. 58)"),
        LegendEntry::styled("$H(p_0)$", pal.neutral, LineStyle::dashed_dense())
            .tip("Lower plot: the data entropy H(p0) = -E log p0(x0), the least any NELBO can be"),
        LegendEntry::t_marker(),
    ]);
    entries
}

/// The key of the line of numbers at the top of the text column (see [`Target::Readout`]).
pub const READOUT: &str = focus::key::ELBO_SHARE;

/// "Sum of L(t-1): 4.358 nats; at t <= 100: 3.52 (81%); at t > 500: 0.0412": where the
/// denoising terms' nats are, the part up to `t` and that of the noisier half.
pub fn share_text(r: &ElboResult, t: usize) -> String {
    let part = |keep: &dyn Fn(usize) -> bool| -> f64 {
        r.timesteps
            .iter()
            .filter(|row| row.term == TermKind::Denoising && keep(row.t))
            .filter_map(|row| row.loss)
            .sum()
    };
    let total = part(&|_| true);
    let upto = part(&|s| s <= t);
    let half = r.steps / 2;
    let late = part(&|s| s > half);
    let share = if total > 0.0 {
        format!(" ({:.0}%)", 100.0 * upto / total)
    } else {
        String::new()
    };
    format!(
        "Sum of L(t-1): {total:.4} nats; at t <= {t}: {upto:.4}{share}; at t > {half}: {late:.4} nats"
    )
}

/// The two plots over t (per-timestep terms, running sum) with their legend above them,
/// in `w` x `h`; a click on either asks to move the timeline there.
fn plots(ui: &mut Ui, ctx: &ViewCtx<'_>, elbo: Option<&ElboShown>, w: f32, h: f32) -> Vec<Command> {
    let pal = Palette::of_ui(ui);
    let t = ctx.t;
    let log = ctx.model.settings.toggles.log_y;
    let eq45 = ctx.model.settings.toggles.elbo_form == ElboForm::Consistency;
    let top = ui.cursor().top();
    legend_row(
        ui,
        ctx.model.settings.toggles.legends,
        &legend(ctx, pal, elbo),
    );
    // Never more than the room there is (a short projector window): the plots shrink
    // together, the lower one keeping enough for its tick labels and axis name.
    let rest = (h - (ui.cursor().top() - top) - 2.0 * ui.spacing().item_spacing.y)
        .max(MIN_PLOTS.min(0.6 * h));
    let top_h = (rest * 0.55).min(rest - LOWER_MIN).max(rest * 0.4);
    let steps = ctx.steps();
    let mut commands = Vec::new();
    // The lower plot, right under it, names the shared t axis.
    let terms = plot_maybe_log("terms", "", "loss (nats)", log)
        .height(top_h)
        .width(w)
        .show(ui, |p| {
            if let Some(e) = elbo {
                let c = &e.curves;
                let r = &e.result;
                if r.method == Method::MonteCarlo {
                    p.add(band(
                        "L(t-1) ± 1 s.e.",
                        &c.terms,
                        &c.stderr,
                        log,
                        pal.denoising,
                    ));
                }
                p.line(
                    Line::new("L(t-1) (eq. 58)", maybe_log(&c.terms, log))
                        .color(pal.denoising)
                        .width(2.0),
                );
                if eq45 && !c.consistency.is_empty() {
                    p.add(band(
                        "eq. 45 term ± 1 s.e.",
                        &c.consistency,
                        &c.consistency_stderr,
                        log,
                        pal.denoising.gamma_multiply(0.6),
                    ));
                    p.line(
                        Line::new("eq. 45 consistency term", maybe_log(&c.consistency, log))
                            .color(pal.denoising)
                            .style(LineStyle::dashed_dense())
                            .width(1.5),
                    );
                }
                if !c.unreliable.is_empty() {
                    p.points(
                        Points::new("unreliable (heavy tails)", maybe_log(&c.unreliable, log))
                            .shape(MarkerShape::Cross)
                            .radius(4.0)
                            .color(pal.warning),
                    );
                }
                let marks = [
                    (
                        "L_0 reconstruction (t = 1)",
                        [1.0, r.reconstruction_loss.mean],
                        MarkerShape::Diamond,
                        pal.reconstruction,
                    ),
                    (
                        "L_T prior matching (t = T)",
                        [r.steps as f64, r.prior_loss],
                        MarkerShape::Square,
                        pal.prior,
                    ),
                ];
                for (name, pt, shape, colour) in marks {
                    p.points(
                        Points::new(name, maybe_log(&[pt], log))
                            .shape(shape)
                            .radius(6.0)
                            .filled(true)
                            .color(colour),
                    );
                }
            }
            p.vline(t_marker(t));
        });
    commands.extend(clicked_t(&terms, steps).map(Command::SetT));
    focus::mark(ui, Target::Plot("terms"), terms.response.rect);
    // The lower plot's one solid curve, the running sum: its axis names it, not the legend.
    let running = plot("running", "timestep t", "sum (nats)")
        .height(rest - top_h)
        .width(w)
        .show(ui, |p| {
            if let Some(e) = elbo {
                let r = &e.result;
                p.line(
                    Line::new(
                        "running sum L_0 + ... + L(t-1) (+ L_T at T)",
                        e.curves.running.clone(),
                    )
                    .color(pal.total)
                    .width(2.0),
                );
                p.hline(
                    HLine::new(format!("NELBO = {}", sci(r.nelbo.mean)), r.nelbo.mean)
                        .color(pal.total)
                        .style(LineStyle::dotted_dense()),
                );
                p.hline(
                    HLine::new(
                        format!("data entropy H(p0) = {}", sci(r.data_entropy.mean)),
                        r.data_entropy.mean,
                    )
                    .color(pal.neutral)
                    .style(LineStyle::dashed_dense()),
                );
            }
            p.vline(t_marker(t));
        });
    commands.extend(clicked_t(&running, steps).map(Command::SetT));
    commands
}

/// A bold heading followed by a typeset symbol.
fn heading_with(ui: &mut Ui, heading: &str, symbol: &str) {
    ui.horizontal_wrapped(|ui| {
        ui.strong(heading);
        tex::show(ui, symbol);
    });
}

/// A row of the totals grid: a typeset symbol and its value.
fn total_row(ui: &mut Ui, name: &str, value: String) {
    ui.add(tex::Formula::new(name).natural());
    ui.label(value);
    ui.end_row();
}

/// The NELBO of the same model under each reverse-variance choice, the one in force
/// marked (Bao et al. 2022: the analytic variance minimises every term given the model's mean).
fn nelbo_by_variance(ui: &mut Ui, r: &ElboResult, all_exact: bool, pal: &Palette) {
    let by = &r.nelbo_by_variance;
    if VarianceType::ALL.iter().all(|v| by.get(*v).is_none()) {
        return;
    }
    ui.add_space(4.0);
    ui.strong("NELBO by reverse variance")
        .on_hover_text("The same model's NELBO under each choice of sigma_t^2 for t >= 2 (the decoder keeps beta_1), from the same per-t errors: under quadrature a re-sum of the rows, under Monte Carlo the same samples. analytic is never above the other two.");
    egui::Grid::new("elbo_by_variance")
        .num_columns(2)
        .spacing([10.0, 2.0])
        .show(ui, |ui| {
            for v in VarianceType::ALL {
                let chosen = v == r.variance;
                let name = if chosen {
                    format!("{} (in use)", v.name())
                } else {
                    v.name().to_owned()
                };
                let text = RichText::new(name);
                let text = if chosen { text.strong() } else { text };
                let tip = match v {
                    VarianceType::FixedSmall => "fixed_small: sigma_t^2 = sigma~2_t, the posterior variance.",
                    VarianceType::FixedLarge => "fixed_large: sigma_t^2 = beta_t.",
                    VarianceType::Analytic => ANALYTIC_TIP,
                };
                ui.label(text).on_hover_text(tip);
                match by.get(v) {
                    Some(e) => {
                        ui.label(value_pm(e.mean, e.stderr, all_exact, r.method))
                            .on_hover_text(tip);
                    }
                    None => {
                        ui.label(RichText::new("not computed").color(pal.info))
                            .on_hover_text("Under Monte Carlo the analytic variance needs a quadrature pass over every t: it is computed when analytic is the variance in use (or choose quadrature).");
                    }
                }
                ui.end_row();
            }
        });
}

fn text(ui: &mut Ui, ctx: &ViewCtx<'_>, elbo: Option<&ElboShown>) {
    let pal = Palette::of_ui(ui);
    let Some(e) = elbo else {
        ui.spinner();
        ui.label("Computing the ELBO...");
        return;
    };
    let r = &e.result;
    let t = ctx.t;
    focus::readout(ui, Target::Readout(READOUT), |ui| {
        ui.add(egui::Label::new(share_text(r, t)).wrap())
            .on_hover_text("Where the denoising terms' nats are: their sum over every t, the part at t up to the timeline's t and its share, and the part of the noisier half t > T/2.");
    });
    if e.preview {
        ui.label(
            RichText::new(format!("Quick preview (N = {}); refining...", r.samples))
                .color(pal.warning),
        );
    }
    let recon_exact = r.timesteps.first().is_some_and(|row| row.exact);
    let denoise_exact = r.timesteps.iter().skip(1).all(|row| row.exact);
    let all_exact = recon_exact && denoise_exact;
    ui.strong("Totals (nats)");
    tex::show(ui, catalogue::NELBO);
    egui::Grid::new("elbo_totals")
        .num_columns(2)
        .spacing([10.0, 2.0])
        .show(ui, |ui| {
            let (rl, dl) = (&r.reconstruction_loss, &r.denoising_loss);
            let m = r.method;
            total_row(ui, label::L0, value_pm(rl.mean, rl.stderr, recon_exact, m));
            total_row(
                ui,
                label::DENOISING_SUM,
                value_pm(dl.mean, dl.stderr, denoise_exact, m),
            );
            total_row(ui, label::LT, pm_exact(r.prior_loss, 0.0, true));
            total_row(
                ui,
                label::NELBO,
                value_pm(r.nelbo.mean, r.nelbo.stderr, all_exact, m),
            );
            total_row(
                ui,
                r"\text{bits/dim}",
                value_pm(r.bits_per_dim.mean, r.bits_per_dim.stderr, all_exact, m),
            );
            total_row(
                ui,
                label::ENTROPY,
                value_pm(r.data_entropy.mean, r.data_entropy.stderr, false, m),
            );
            total_row(
                ui,
                r"\text{gap}",
                value_pm(r.gap.mean, r.gap.stderr, false, m),
            );
        });
    tex::show(ui, catalogue::BITS_PER_DIM);
    tex::show(ui, catalogue::GAP);
    nelbo_by_variance(ui, r, all_exact, pal);
    ui.add_space(6.0);
    let Some(row) = r.timesteps.get(t - 1) else {
        return;
    };
    if t == 1 {
        heading_with(ui, "At t = 1: reconstruction", "L_0");
        tex::show(ui, catalogue::L0);
    } else {
        heading_with(
            ui,
            &format!("At t = {t}: denoising matching"),
            &catalogue::label::term(t - 1),
        );
        tex::show(ui, catalogue::L_T_MINUS_1);
    }
    ui.label(format!(
        "= {}",
        match (row.loss, row.stderr) {
            (Some(l), Some(e)) => value_pm(l, e, row.exact, row.method),
            _ => opt_pm(row.loss, row.stderr, row.exact),
        }
    ));
    tex::show(ui, catalogue::L_T_MINUS_1_WEIGHTED);
    ui.label(format!(
        "= {} × {} {}",
        opt(row.weight_x0),
        opt(row.mse_x0),
        signed(row.variance_part)
    ));
    if t >= 2 {
        tex::rich(
            ui,
            &format!(
                r"reverse variance $\sigma_t^2 =$ {} ({}; $\tilde\sigma_t^2 =$ {})",
                sci(row.sigma2),
                r.variance.name(),
                sci(ctx.schedule().posterior_variance(t)),
            ),
        )
        .on_hover_text(
            "The variance of p(x(t-1) | x_t) in this row. Under analytic it is the model's own sigma*^2_t = sigma~2_t + E||mu~_t - mu_theta||^2 / d, never below the posterior variance sigma~2_t.",
        );
    }
    if let Some(c) = row.consistency_loss {
        ui.label(format!(
            "eq. 45 term: {}",
            opt_pm(Some(c), row.consistency_stderr, false)
        ));
    }
    if row.reliable == Some(false) {
        ui.label(
            RichText::new(format!(
                "Unreliable estimate: sample kurtosis {:.0}, a few samples between modes carry most of the variance.",
                row.kurtosis.unwrap_or(f64::NAN)
            ))
            .color(pal.warning),
        );
    }
    if row.exact {
        ui.label("This row is exact (closed form).");
    }
    if let Some(cs) = &r.consistency {
        ui.add_space(6.0);
        ui.strong("eq. 45 against eq. 58 (same samples)");
        egui::Grid::new("elbo_eq45")
            .num_columns(2)
            .spacing([10.0, 2.0])
            .show(ui, |ui| {
                total_row(
                    ui,
                    r"\text{eq. 45 NELBO}",
                    pm(cs.nelbo.mean, cs.nelbo.stderr),
                );
                total_row(
                    ui,
                    r"\text{eq. 58 NELBO}",
                    pm_exact(r.nelbo.mean, r.nelbo.stderr, all_exact),
                );
                if r.nelbo.stderr > 0.0 && !all_exact {
                    total_row(
                        ui,
                        r"\text{s.e. ratio}",
                        format!("{:.1}x", cs.nelbo.stderr / r.nelbo.stderr),
                    );
                }
            });
        let ratio = (r.nelbo.stderr > 0.0 && !all_exact).then(|| cs.nelbo.stderr / r.nelbo.stderr);
        ui.add(egui::Label::new(eq45_verdict(ratio)).wrap());
    } else if ctx.model.settings.toggles.elbo_form == ElboForm::Consistency {
        ui.label(RichText::new("Computing the eq. 45 terms...").color(pal.info));
    }
    if r.nelbo.mean < r.data_entropy.mean - 3.0 * (r.gap.stderr + 1e-12) {
        ui.label(
            RichText::new("NELBO below H(p0) beyond 3 s.e.: increase the samples.")
                .color(pal.error),
        );
    }
}
