//! The central views, one struct per tab, and what they all draw from.
//!
//! A view owns its view-local state, draws from a read-only [`ViewCtx`] and returns
//! [`Command`]s; it never reaches into the app. It draws a result only through the inputs
//! the result carries, so a result of another shape (1D against 2D, another T) is never
//! indexed with the current one; a result of older inputs is drawn dimmed under a
//! "computing" note, and one of another dimension not at all.

pub mod ctx;
pub mod editor;
pub mod elbo;
pub mod evidence;
pub mod forward;
pub mod hvae;
pub mod params;
pub mod reverse;
pub mod schedule;
pub mod step;
pub mod tab;
pub mod training;
pub mod vae_panel;

use egui::Ui;

use super::command::Command;
use super::controls::SidePanel;
use super::inputs::Freshness;
use super::jobs::{Want, worst};
use super::menu::MenuBar;
use super::settings::View;
use super::timeline::Timeline;
pub use ctx::{
    AutoFold, STALE_OPACITY, Shown, ViewCtx, WindowState, computing_note, dimmed_unless,
    formula_column,
};
use editor::DataEditor;
pub use tab::{PlotName, Tab, TabInfo};

/// The least width (points) the side panel leaves to the open tab.
const MIN_CENTRAL_WIDTH: f32 = 420.0;

/// Every panel and view, each owning its own state.
#[derive(Default)]
pub struct Views {
    menu: MenuBar,
    side: SidePanel,
    timeline: Timeline,
    /// Every tab and its own state.
    pub tabs: Tabs,
    editor: editor::DataEditor,
}

impl Views {
    /// Lay out the whole window; return what was asked for.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        self.editor.sync(ctx);
        commands.extend(self.editor.keys(ui, ctx));
        let freshness = self.tabs.freshness(ctx.model.settings.view, ctx);
        egui::Panel::top("menu").show(ui, |ui| commands.extend(self.menu.ui(ui, ctx, freshness)));
        if let Some(step) = ctx.window.lesson {
            egui::Panel::top("lesson_bar")
                .show(ui, |ui| commands.extend(super::lesson_bar::ui(ui, step)));
        }
        let side_shown = ctx.model.settings.side_panel && !ctx.model.settings.presenter;
        // The panel can also be dragged closed (and open again) by its edge.
        let mut expanded = side_shown;
        egui::Panel::left("controls")
            .resizable(true)
            // A third of a small window at most (1024 px at zoom 1.5 is 683 points).
            .default_size((ui.available_width() * 0.3).clamp(220.0, 300.0))
            .min_size(220.0)
            // Never so wide that the tab is left less than MIN_CENTRAL_WIDTH. Measured at
            // the user's zoom: a 2x plot export raises the zoom for a few frames, and the
            // panel must not keep the narrower width of those frames.
            .max_size((window_width(ui, ctx) - MIN_CENTRAL_WIDTH).clamp(220.0, 520.0))
            .show_collapsible(ui, &mut expanded, |ui| {
                if ui
                    .button("Hide controls")
                    .on_hover_text("Hide this panel and give the plots the room (F5: presenter mode hides it too)")
                    .clicked()
                {
                    commands.push(Command::SetSidePanel(false));
                }
                egui::ScrollArea::vertical().show(ui, |ui| {
                    commands.extend(self.side.ui(ui, ctx, &mut self.editor));
                });
            });
        if expanded != side_shown {
            commands.push(Command::SetSidePanel(expanded));
        }
        egui::Panel::bottom("timeline").show(ui, |ui| commands.extend(self.timeline.ui(ui, ctx)));
        egui::CentralPanel::default().show(ui, |ui| {
            // The tabs take their short names when the full ones do not fit on one row (a
            // projector), and wrap only if even those do not; nothing else is on this row,
            // so it never changes height while the app computes.
            let short = !tabs_fit(ui, !side_shown);
            ui.horizontal_wrapped(|ui| {
                if !side_shown
                    && ui
                        .button("Controls")
                        .on_hover_text(
                            "Show the data, schedule and model controls (leaves presenter mode)",
                        )
                        .clicked()
                {
                    commands.push(Command::SetSidePanel(true));
                }
                for view in View::ALL {
                    let selected = ctx.model.settings.view == view;
                    let text = if short {
                        view.short_label()
                    } else {
                        view.label()
                    };
                    let tab = ui.selectable_label(selected, text);
                    // Tests and screen readers know a tab by its full name (a full-name
                    // tab's text already says it).
                    if short {
                        tab.widget_info(|| {
                            egui::WidgetInfo::selected(
                                egui::Role::Button,
                                ui.is_enabled(),
                                selected,
                                view.label(),
                            )
                        });
                    }
                    if tab
                        .on_hover_text(format!("{}: {}", view.label(), view.info().summary))
                        .clicked()
                    {
                        commands.push(Command::SetView(view));
                    }
                }
                if ui
                    .button("?")
                    .on_hover_text("What am I looking at? Help on this tab and every key (F1)")
                    .clicked()
                {
                    commands.push(Command::ShowHelp(true));
                }
            });
            ui.separator();
            commands.extend(self.editor.hint(ui, ctx));
            let view = ctx.model.settings.view;
            commands.extend(self.tabs.ui(view, ui, ctx, &mut self.editor));
        });
        if ctx.window.help_open {
            commands.extend(super::help::show(ui.ctx(), ctx.model.settings.view));
        }
        if ctx.window.about_open {
            commands.extend(self.menu.about(ui.ctx()));
        }
        if ctx.window.path_open {
            commands.extend(self.menu.path_window(ui.ctx()));
        }
        commands
    }
}

/// The window's width in points at the user's zoom (settings), whatever the zoom of this
/// frame.
fn window_width(ui: &Ui, ctx: &ViewCtx<'_>) -> f32 {
    let zoom = ctx.model.settings.zoom;
    let w = ui.ctx().content_rect().width();
    if zoom.is_finite() && zoom > 0.0 {
        w * ui.ctx().zoom_factor() / zoom
    } else {
        w
    }
}

/// Whether the tab row with every full tab name (and the "Controls" button when
/// `controls_button`) fits on one row of the available width.
fn tabs_fit(ui: &Ui, controls_button: bool) -> bool {
    let pad = 2.0 * ui.spacing().button_padding.x + ui.spacing().item_spacing.x;
    let width = |text: &str| super::plot_util::text_width(ui, text, &egui::TextStyle::Button) + pad;
    let mut needed = width("?");
    if controls_button {
        needed += width("Controls");
    }
    needed += View::ALL.iter().map(|v| width(v.label())).sum::<f32>();
    needed <= ui.available_width()
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
