//! The Denoising step tab: what one reverse step of the model is, in three parts.
//!
//! 1. Tweedie's formula (Luo eq. 133-135): the optimal denoiser's output `E[x0 | x_t]`, from
//!    the posterior directly and through the score, over the density of `x_t`.
//! 2. One denoising term as a KL between two Gaussians (Luo eq. 71-92): at the timeline's t
//!    and a chosen `(x0, x_t)`, the forward posterior `q(x(t-1) | x_t, x0)` against the
//!    model's step, and the closed form of their KL with every quantity's value.
//! 3. The true reverse step `q(x(t-1) | x_t)`, an exact mixture for mixture data, against
//!    its moment-matched Gaussian and the model's step, and the split of the bound's gap
//!    into what no Gaussian step can remove and what the model gets wrong.

pub mod kl;
mod layout;
pub mod truth;
pub mod tweedie;

use egui::Ui;

use super::super::command::Command;
use super::super::jobs::Want;
use super::super::plot_util::within_visible;
use super::ctx::ViewCtx;
use super::editor::DataEditor;
use super::tab::{PlotName, Tab, TabInfo};

pub use super::super::settings::StepPart;

/// The part that draws the plot `name` (None: not a plot of this tab).
pub fn part_of_plot(name: &str) -> Option<StepPart> {
    match name {
        tweedie::PLOT => Some(StepPart::Tweedie),
        kl::PLOT | kl::PICK_PLOT => Some(StepPart::Kl),
        truth::DENSITY_PLOT | truth::TERMS_PLOT => Some(StepPart::Truth),
        _ => None,
    }
}

/// The Denoising step tab's state: each part's own, and the `(x0, x_t)` the second and
/// third parts share.
#[derive(Default)]
pub struct StepView {
    tweedie: tweedie::TweedieState,
    pick: kl::Pick,
    figure: truth::Figure,
}

impl Tab for StepView {
    const INFO: TabInfo = TabInfo {
        name: "Denoising step",
        short_name: "Step",
        slug: "step",
        aliases: &["denoising", "tweedie", "reverse-step"],
        summary: "One reverse step up close: Tweedie's formula, one denoising term as a KL of two Gaussians, and the true reverse step",
        help: "What one step of the reverse process is. Part 1, Tweedie's formula (Luo eq. 133-135): \
             the optimal denoiser's E[x0 | x_t] is x_t moved along the score, (x_t + (1 - abar_t) \
             score) / sqrt(abar_t); it pulls points toward the modes. Part 2 (Luo eq. 71-92): the \
             denoising term L(t-1) is a KL between two Gaussians, the forward posterior \
             q(x(t-1) | x_t, x0) with mean mu~_t(x_t, x0) and the model's step; drag x0 and x_t and \
             watch its closed form, whose average over x0 and x_t is L(t-1). Part 3: the true \
             reverse step q(x(t-1) | x_t) is a mixture; NELBO - H(p0) = KL(q(x_T) || p(x_T)) + sum \
             of R_t, and each R_t splits exactly into G_t, how far the true step is from every \
             Gaussian, and M_t, what the model's Gaussian step gets wrong in mean and variance. \
             G_t shrinks as T grows: small steps are nearly Gaussian (parts 2 and 3 need 1D data).",
    };

    fn plots() -> Vec<PlotName> {
        let mut plots: Vec<PlotName> = Vec::new();
        let mut add = |name: &str, label: &str| plots.push((name.into(), label.into()));
        add(tweedie::PLOT, "Tweedie: E[x0 | x_t] over q_t");
        add(
            kl::PLOT,
            "one step: q(x(t-1) | x_t, x0) and the model's step",
        );
        add(kl::PICK_PLOT, "one step: x0 and x_t over the data");
        add(truth::DENSITY_PLOT, "the true reverse step at t and x_t");
        add(truth::TERMS_PLOT, "R_t, G_t and M_t against t");
        plots
    }

    fn wants(&self, ctx: &ViewCtx<'_>) -> Vec<Want> {
        let part = ctx.model.settings.toggles.step_part;
        match part {
            StepPart::Tweedie => tweedie::wants(ctx),
            p if p.one_d_only() && ctx.dim() != 1 => Vec::new(),
            StepPart::Kl => vec![Want::Elbo(ctx.elbo_key())],
            StepPart::Truth => vec![Want::Elbo(ctx.elbo_key()), Want::Step(ctx.step_key())],
        }
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, _editor: &mut DataEditor) -> Vec<Command> {
        within_visible(ui, |ui| self.body(ui, ctx))
    }
}

impl StepView {
    fn body(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let part = ctx.model.settings.toggles.step_part;
        ui.horizontal_wrapped(|ui| {
            for p in StepPart::ALL {
                if ui
                    .selectable_label(part == p, p.label())
                    .on_hover_text(p.tip())
                    .clicked()
                    && p != part
                {
                    let mut toggles = ctx.model.settings.toggles.clone();
                    toggles.step_part = p;
                    commands.push(Command::SetToggles(toggles));
                }
            }
            if part == StepPart::Truth && ctx.dim() == 1 {
                truth::progress(ui, ctx);
            }
        });
        ui.separator();
        match part {
            StepPart::Tweedie => commands.extend(tweedie::ui(ui, ctx, &mut self.tweedie)),
            p if p.one_d_only() && ctx.dim() != 1 => commands.extend(super::ctx::one_d_only(
                ui,
                ctx,
                "The true reverse step q(x(t-1) | x_t) and the averages over x_t are computed on grids over x(t-1) and x_t, exactly; in 2D they would take millions of nodes per step.",
                "part 1, Tweedie's formula, works on any data",
            )),
            StepPart::Kl => commands.extend(kl::ui(ui, ctx, &mut self.pick)),
            StepPart::Truth => commands.extend(truth::ui(ui, ctx, &mut self.pick, &mut self.figure)),
        }
        commands
    }
}
