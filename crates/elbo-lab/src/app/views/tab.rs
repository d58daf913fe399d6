//! What a tab is ([`Tab`]) and the one list of tabs ([`with_tabs!`](crate::with_tabs)).
//!
//! Everything that lists tabs is derived from that list: the [`View`] enum (settings.rs),
//! the tab row, the View menu, the help window, the plots "Export for slides" offers, where
//! the data editor works, the command line's `--tab` names and the tests' tab lists.
//! Adding a tab is one file implementing [`Tab`] and one line in the list.

use egui::Ui;

use super::super::command::Command;
use super::super::inputs::Freshness;
use super::super::jobs::{Want, worst};
use super::super::settings::View;
use super::ViewCtx;
use super::editor::DataEditor;
use super::{elbo, evidence, forward, params, reverse, schedule, training};

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

macro_rules! registry {
    ($($variant:ident => $module:ident :: $ty:ident,)*) => {
        /// Every tab, one field each (named as its module), owning its own state.
        #[derive(Default)]
        pub struct Tabs {
            $(
                #[doc = concat!("The `", stringify!($module), "` tab.")]
                pub $module: $module::$ty,
            )*
        }

        impl Tabs {
            /// Draw the tab `view`.
            pub fn ui(
                &mut self,
                view: View,
                ui: &mut Ui,
                ctx: &ViewCtx<'_>,
                editor: &mut DataEditor,
            ) -> Vec<Command> {
                match view {
                    $(View::$variant => self.$module.ui(ui, ctx, editor),)*
                }
            }

            /// The work the tab `view` wants.
            pub fn wants(&self, view: View, ctx: &ViewCtx<'_>) -> Vec<Want> {
                match view {
                    $(View::$variant => self.$module.wants(ctx),)*
                }
            }
        }

        impl View {
            /// The tab's names and help.
            pub fn info(self) -> &'static TabInfo {
                match self {
                    $(View::$variant => &<$module::$ty as Tab>::INFO,)*
                }
            }

            /// The plots the tab can show.
            pub fn plots(self) -> Vec<PlotName> {
                match self {
                    $(View::$variant => <$module::$ty as Tab>::plots(),)*
                }
            }

            /// Whether the tab shows p0 in data coordinates now.
            pub fn shows_data(self, ctx: &ViewCtx<'_>) -> bool {
                match self {
                    $(View::$variant => <$module::$ty as Tab>::shows_data(ctx),)*
                }
            }
        }
    };
}

crate::with_tabs!(registry);

impl Tabs {
    /// How the tab `view` stands against the current inputs: the least fresh of the work
    /// it wants.
    pub fn freshness(&self, view: View, ctx: &ViewCtx<'_>) -> Freshness {
        worst(
            self.wants(view, ctx)
                .iter()
                .map(|want| ctx.jobs.freshness(want)),
        )
    }
}

impl View {
    /// The tab's label.
    pub fn label(self) -> &'static str {
        self.info().name
    }

    /// The tab's label on a narrow window.
    pub fn short_label(self) -> &'static str {
        self.info().short_name
    }

    /// The tab's lower-case name (command line, file names).
    pub fn slug(self) -> &'static str {
        self.info().slug
    }

    /// The tab called `name` on the command line: its slug or an alias, in any case.
    pub fn from_name(name: &str) -> Option<View> {
        let wanted = name.trim().to_ascii_lowercase();
        View::ALL.into_iter().find(|v| {
            let info = v.info();
            info.slug == wanted || info.aliases.contains(&wanted.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tab_has_distinct_names_help_and_plots() {
        for (i, view) in View::ALL.into_iter().enumerate() {
            let info = view.info();
            assert!(info.help.len() > 150, "{view:?}");
            assert!(!info.summary.is_empty(), "{view:?}");
            assert!(info.short_name.len() <= info.name.len(), "{view:?}");
            assert_eq!(View::from_name(info.slug), Some(view));
            assert!(!view.plots().is_empty(), "{view:?}");
            for other in &View::ALL[i + 1..] {
                assert_ne!(info.slug, other.slug());
                assert_ne!(info.name, other.label());
                assert!(!other.info().aliases.contains(&info.slug));
            }
        }
        assert!(View::Elbo.info().help.contains("eq. 58"));
        assert!(View::Schedule.info().help.contains("eq. 33"));
        assert_eq!(View::from_name("Parameterisations"), Some(View::Params));
        assert_eq!(View::from_name(" ELBO "), Some(View::Elbo));
        assert_eq!(View::from_name("nonsense"), None);
    }
}
