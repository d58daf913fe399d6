//! What a lesson step points at, kept on screen.
//!
//! A lesson step declares the [`Target`]s its caption refers to: plots, foldable sections
//! and lines of numbers. While the step is new ([`Focus::reveal`]), the views open those
//! sections, pick the figure a short view shows instead of another, and scroll so the
//! targets are in view. Every pass, the views record where they drew each target and the
//! visible rectangle around it ([`Mark`]); the lesson tests read the marks to check that
//! every target is on screen, whole, at every projector size.

use egui::{Context, Id, Rect, Ui};

/// The names of the targets the lessons refer to, one place for the views that draw them
/// and the lessons that name them (neither depends on the other).
pub mod key {
    /// The timeline's abar_t and log-SNR.
    pub const TIMELINE: &str = "timeline";
    /// The Schedule tab's numbers at t and where each schedule reaches log-SNR 0.
    pub const SCHEDULE: &str = "schedule";
    /// The Schedule tab's log-SNR plot (its plot id).
    pub const LOG_SNR_PLOT: &str = "schedule_log_snr";
    /// The ELBO tab's share of the denoising terms.
    pub const ELBO_SHARE: &str = "elbo_share";
    /// The Parameterisations tab's weighted errors at t.
    pub const PARAMS_WEIGHTED: &str = "params_weighted";
    /// The Reverse tab's particle plots of A and B together.
    pub const REVERSE_PARTICLES: &str = "reverse_particles";
    /// The Reverse tab's two quality figures together.
    pub const REVERSE_QUALITY: &str = "reverse_quality";
    /// The Reverse tab's log-likelihood gap of each side at its own K.
    pub const REVERSE_GAPS: &str = "reverse_gaps";
    /// The Evidence tab's one-line decomposition.
    pub const EVIDENCE_SUMMARY: &str = "evidence_summary";
    /// The Training tab's status line with each network's NELBO.
    pub const TRAINING_STATUS: &str = "training_status";
    /// The Training tab's excess and weights at t.
    pub const TRAINING_AT_T: &str = "training_at_t";
    /// The Denoising step tab's agreement of Tweedie's two forms at t.
    pub const TWEEDIE: &str = "tweedie";
    /// The Evidence tab's hierarchical VAE drawn as a chain.
    pub const HVAE_CHAIN: &str = "hvae_chain";
    /// The Evidence tab's hierarchical VAE's terms for its T.
    pub const HVAE_TERMS: &str = "hvae_terms";
    /// The title of the Evidence tab's section of the three restrictions (a foldable
    /// section).
    pub const HVAE_RESTRICTIONS: &str = "The three restrictions that make it a diffusion model";
    /// The Denoising step tab's Tweedie plot (its plot id).
    pub const TWEEDIE_PLOT: &str = "tweedie";
    /// The Denoising step tab's plot of one step's two Gaussians (its plot id).
    pub const STEP_KL_PLOT: &str = "step_kl";
    /// The Denoising step tab's plot of the true reverse step (its plot id).
    pub const STEP_TRUTH_PLOT: &str = "step_truth";
    /// The Denoising step tab's plot of R_t, G_t and M_t against t (its plot id).
    pub const STEP_TERMS_PLOT: &str = "step_terms";
    /// The Denoising step tab's one step: the KL of two Gaussians and its values.
    pub const STEP_KL: &str = "step_kl";
    /// The Denoising step tab's true step at x_t: G, M and R there.
    pub const STEP_AT_XT: &str = "step_at_xt";
    /// The Denoising step tab's two splits of NELBO - H(p0).
    pub const STEP_TOTALS: &str = "step_totals";
    /// The Denoising step tab's sum of G_t along the same path in fewer steps.
    pub const STEP_FAMILY: &str = "step_family";
    /// The Denoising step tab's table of what the optimal model leaves under each reverse
    /// variance.
    pub const STEP_VARIANCES: &str = "step_variances";
}

/// Something on screen a lesson step's caption refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A plot, by its id name (see `plot_util::plot_id`).
    Plot(&'static str),
    /// A foldable section, by its title: open, with its header in view.
    Section(&'static str),
    /// A line of numbers, by the key its view gives it.
    Readout(&'static str),
}

/// Where a target was drawn in the last pass, and the visible rectangle around it there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    /// What was drawn.
    pub target: Target,
    /// Where (points).
    pub rect: Rect,
    /// The part of the window its parent showed (a scroll area's view, a panel).
    pub clip: Rect,
}

impl Mark {
    /// Whether the whole target was in view: not scrolled out, not cut by its panel.
    pub fn visible(&self) -> bool {
        self.clip.expand(0.5).contains_rect(self.rect)
    }
}

/// What the running lesson step asks of the views in this frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Focus {
    /// What the step's caption refers to (none outside a lesson).
    pub targets: Vec<Target>,
    /// The step is new: open, choose and scroll to its targets. It ends once the step's
    /// results are in and drawn, or when the user scrolls or clicks.
    pub reveal: bool,
}

impl Focus {
    /// Whether the step refers to `target`.
    pub fn wants(&self, target: Target) -> bool {
        self.targets.contains(&target)
    }

    /// Whether `target` is to be brought into view now.
    pub fn reveals(&self, target: Target) -> bool {
        self.reveal && self.wants(target)
    }

    /// Whether any target of the step is a plot among `plots` (id names) and to be brought
    /// into view now: a view that shows one figure of several picks it.
    pub fn reveals_any_plot(&self, plots: &[&str]) -> bool {
        self.reveal
            && self
                .targets
                .iter()
                .any(|t| matches!(t, Target::Plot(p) if plots.contains(p)))
    }
}

fn marks_id() -> Id {
    Id::unique("elbo_lab_focus_marks")
}

/// Forget the marks of the previous pass (the shell calls this before laying out).
pub fn begin_pass(ctx: &Context) {
    ctx.data_mut(|d| d.insert_temp(marks_id(), Vec::<Mark>::new()));
}

/// The marks of the last pass, in drawing order.
pub fn marks(ctx: &Context) -> Vec<Mark> {
    ctx.data(|d| d.get_temp::<Vec<Mark>>(marks_id()))
        .unwrap_or_default()
}

/// Record that `target` was drawn at `rect` in `ui`.
pub fn mark(ui: &Ui, target: Target, rect: Rect) {
    let mark = Mark {
        target,
        rect,
        clip: ui.clip_rect(),
    };
    ui.ctx().data_mut(|d| {
        d.get_temp_mut_or_default::<Vec<Mark>>(marks_id())
            .push(mark)
    });
}

/// Lay out `add` as a line of numbers marked as `target`.
pub fn readout<R>(ui: &mut Ui, target: Target, add: impl FnOnce(&mut Ui) -> R) -> R {
    let response = ui.scope(add);
    mark(ui, target, response.response.rect);
    response.inner
}

/// Show `add` in the scroll area `area` (its id salt `salt`); while `focus` reveals,
/// scroll so that the targets drawn inside come into view: the first one's top at the top
/// of the view, so all of them show when they fit. The offset is set, not animated, so a
/// step settles where it says.
pub fn scroll_area<R>(
    ui: &mut Ui,
    focus: &Focus,
    (area, salt): (egui::ScrollArea, &str),
    add: impl FnOnce(&mut Ui) -> R,
) -> R {
    let key = Id::unique(("elbo_lab_focus_scroll", salt));
    let mut area = area.id_salt(salt);
    if focus.reveal
        && let Some(offset) = ui.ctx().data(|d| d.get_temp::<f32>(key))
    {
        area = area.vertical_scroll_offset(offset);
    }
    area.show(ui, |ui| {
        let from = ui
            .ctx()
            .data(|d| d.get_temp::<Vec<Mark>>(marks_id()).map_or(0, |m| m.len()));
        let content_top = ui.min_rect().top();
        let inner = add(ui);
        let wanted = marks(ui.ctx())
            .into_iter()
            .skip(from)
            .filter(|m| focus.wants(m.target))
            .map(|m| m.rect)
            .reduce(Rect::union);
        let offset = wanted
            .filter(|_| focus.reveal)
            .map(|rect| (rect.top() - content_top - ui.spacing().item_spacing.y).max(0.0));
        ui.ctx().data_mut(|d| match offset {
            Some(offset) => {
                d.insert_temp(key, offset);
            }
            None => d.remove::<f32>(key),
        });
        inner
    })
    .inner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_visible_only_when_whole_inside_its_clip() {
        let clip = Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(100.0, 100.0));
        let at = |y0: f32, y1: f32| Mark {
            target: Target::Readout("r"),
            rect: Rect::from_min_max(egui::pos2(10.0, y0), egui::pos2(90.0, y1)),
            clip,
        };
        assert!(at(10.0, 100.2).visible());
        assert!(!at(10.0, 101.0).visible());
        assert!(!at(-5.0, 20.0).visible());
    }

    #[test]
    fn focus_reveals_only_its_targets_and_only_while_new() {
        let mut f = Focus {
            targets: vec![Target::Plot("a"), Target::Section("S")],
            reveal: true,
        };
        assert!(f.reveals(Target::Plot("a")));
        assert!(!f.reveals(Target::Plot("b")));
        assert!(f.reveals_any_plot(&["b", "a"]));
        assert!(!f.reveals_any_plot(&["b"]));
        f.reveal = false;
        assert!(f.wants(Target::Section("S")));
        assert!(!f.reveals(Target::Section("S")));
        assert!(!f.reveals_any_plot(&["a"]));
    }
}
