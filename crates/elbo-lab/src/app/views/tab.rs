//! What a tab is ([`Tab`]) and the one list of tabs ([`with_tabs!`](crate::with_tabs)).
//!
//! Everything that lists tabs is derived from that list: the `View` enum (settings.rs),
//! the tab row, the View menu, the help window, the plots "Export for slides" offers, where
//! the data editor works, the command line's `--tab` names and the tests' tab lists.
//! Adding a tab is one file implementing [`Tab`] (declared in `views/mod.rs`) and one line
//! in the list.

use egui::Ui;

use super::super::command::Command;
use super::super::jobs::Want;
use super::ctx::ViewCtx;
use super::editor::DataEditor;

/// The list of tabs, in the order of the tab row: the [`View`] variant naming a tab, and
/// its module and type. `with_tabs!(m)` expands to `m! { Variant => module::Type, ... }`.
#[macro_export]
#[doc(hidden)]
macro_rules! with_tabs {
    ($then:ident) => {
        $then! {
            Forward => forward::ForwardView,
            Reverse => reverse::ReverseView,
            Elbo => elbo::ElboView,
            Params => params::ParamsView,
            Step => step::StepView,
            Schedule => schedule::ScheduleView,
            Training => training::TrainingView,
            Evidence => evidence::EvidenceView,
        }
    };
}

/// What the app says about a tab wherever it names it.
#[derive(Debug, Clone, Copy)]
pub struct TabInfo {
    /// The tab's label.
    pub name: &'static str,
    /// The label when the window is too narrow for every [`TabInfo::name`] on one row (the
    /// tab's accessible name and tooltip stay the full name).
    pub short_name: &'static str,
    /// A lower-case name: `--tab`, file names of exports.
    pub slug: &'static str,
    /// Other names `--tab` takes.
    pub aliases: &'static [&'static str],
    /// One sentence, for the tab's tooltip and the View menu.
    pub summary: &'static str,
    /// What the tab shows and what to look at: a few lines for a student (the help window).
    pub help: &'static str,
}

/// A plot a tab owns: its id name (see `plot_util::plot_id`) and what the export dialog
/// calls it.
pub type PlotName = (String, String);

/// The plots whose contents are drawn for the current t (not only its marker): the density
/// of q(x_t) (Forward), the samples at t (Reverse: the 1D river shows them at t too), the
/// fields at t (Parameterisations) and the Denoising step tab's plots at t. Only these are
/// offered for a GIF over t; every other plot would repeat one frame (the whole-schedule
/// curves, the ELBO terms, ...).
pub const T_VARYING_PLOTS: [&str; 14] = [
    "density_at_t",
    "density_2d",
    "reverse_river_A",
    "reverse_river_B",
    "reverse_cloud_A",
    "reverse_cloud_B",
    "field_x0",
    "field_eps",
    "field_score",
    "field_v",
    "tweedie",
    "step_pick",
    "step_kl",
    "step_truth",
];

/// Whether the plot `name` changes with t (see [`T_VARYING_PLOTS`]).
pub fn varies_with_t(name: &str) -> bool {
    T_VARYING_PLOTS.contains(&name)
}

/// One tab: what it is called, what it draws, what work it wants, and its view (which owns
/// the tab's own state and returns commands).
pub trait Tab: Default {
    /// Its names and help.
    const INFO: TabInfo;

    /// The plots it can show, in 1D and 2D (export offers those on screen).
    fn plots() -> Vec<PlotName>;

    /// Whether it shows p0 in data coordinates now, so the edit mode works there.
    fn shows_data(_ctx: &ViewCtx<'_>) -> bool {
        false
    }

    /// The work it needs to draw what `ctx` asks for (the shell requests it while the tab
    /// is open; its freshness is that of this work).
    fn wants(&self, ctx: &ViewCtx<'_>) -> Vec<Want>;

    /// Draw the tab; `editor` edits the data on a plot of p0.
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, editor: &mut DataEditor) -> Vec<Command>;
}
