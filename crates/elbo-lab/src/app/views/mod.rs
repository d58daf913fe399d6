//! The central views, one struct per tab, and what they all draw from.
//!
//! A view owns its view-local state, draws from a read-only [`ViewCtx`] and returns
//! [`Command`]s; it never reaches into the app. It draws a result only through the inputs
//! the result carries, so a result of another shape (1D against 2D, another T) is never
//! indexed with the current one; a result of older inputs is drawn dimmed under a
//! "computing" note, and one of another dimension not at all.

pub mod editor;
pub mod elbo;
pub mod evidence;
pub mod forward;
pub mod params;
pub mod reverse;
pub mod schedule;
pub mod tab;
pub mod training;
pub mod vae_panel;

use egui::{RichText, Ui};

use super::command::Command;
use super::controls::SidePanel;
use super::inputs::{Depends, Freshness, Inputs};
use super::jobs::Jobs;
pub use super::jobs::Shown;
use super::jobs::compare::CompareKey;
use super::jobs::elbo::{ElboKey, ElboShown};
use super::jobs::evidence::EvidenceKey;
use super::jobs::forward::{FieldKey, FieldView, StaticShown, StaticsKey};
use super::jobs::reverse::{ReverseJob, ReverseResult};
use super::menu::MenuBar;
use super::model::Model;
use super::settings::View;
use super::timeline::Timeline;
use super::training::Training;
use elbo_core::mixture::GaussianMixture;
use elbo_core::schedule::NoiseSchedule;
pub use tab::{Tab, TabInfo, Tabs};

/// Opacity of a result drawn while the current one is computed.
pub const STALE_OPACITY: f32 = 0.35;

/// Everything a view may read, nothing it may change.
pub struct ViewCtx<'a> {
    /// The settings, inputs, overlays, history, notes and timeline.
    pub model: &'a Model,
    /// Every job and its latest result.
    pub jobs: &'a Jobs,
    /// Training state and trained networks.
    pub training: &'a Training,
    /// The current timestep (1..=T).
    pub t: usize,
    /// The windows over the tabs, the lesson bar and the edit mode.
    pub window: &'a WindowState,
}

/// What the window shows over and beside the tabs (not saved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowState {
    /// The About window is open.
    pub about_open: bool,
    /// The help window is open.
    pub help_open: bool,
    /// The step of the built-in lesson shown in the lesson bar, if one runs.
    pub lesson: Option<usize>,
    /// What a press on a data plot does.
    pub edit_mode: editor::EditMode,
}

impl<'a> ViewCtx<'a> {
    /// The current inputs.
    pub fn inputs(&self) -> &'a Inputs {
        &self.model.applied.inputs
    }

    /// The current data.
    pub fn data(&self) -> &'a GaussianMixture {
        &self.model.applied.inputs.data
    }

    /// The current schedule.
    pub fn schedule(&self) -> &'a NoiseSchedule {
        &self.model.applied.inputs.schedule
    }

    /// T of the current schedule.
    pub fn steps(&self) -> usize {
        self.model.applied.inputs.steps()
    }

    /// The current data dimension.
    pub fn dim(&self) -> usize {
        self.model.applied.inputs.dim()
    }

    /// The ELBO estimate to draw (any T: it is drawn over its own timesteps).
    pub fn elbo(&self) -> Option<Shown<'a, ElboShown>> {
        self.jobs.elbo.table().map(|e| Shown {
            value: e,
            current: e.inputs.covers(self.inputs(), Depends::All),
        })
    }

    /// The river and particles to draw: only of data of the current dimension.
    pub fn statics(&self) -> Option<Shown<'a, StaticShown>> {
        self.jobs
            .statics
            .shown_any()
            .filter(|s| s.inputs.dim() == self.dim())
            .map(|s| Shown {
                value: s,
                current: s.inputs.covers(self.inputs(), Depends::DataSchedule),
            })
    }

    /// The fields to draw: only of data of the current dimension. They are current when
    /// of the current inputs; while the timeline plays they may trail t by a frame (their
    /// labels say their t), which is not drawn dimmed.
    pub fn field(&self) -> Option<Shown<'a, FieldView>> {
        self.jobs
            .fields
            .shown_any()
            .filter(|f| f.field.inputs.dim() == self.dim())
            .map(|f| Shown {
                value: f,
                current: f.field.inputs.covers(self.inputs(), Depends::Model),
            })
    }

    /// The reverse runs to draw: only of data of the current dimension.
    pub fn reverse(&self) -> Option<Shown<'a, ReverseResult>> {
        self.jobs
            .reverse
            .runs()
            .filter(|r| r.job.inputs.dim() == self.dim())
            .map(|r| Shown {
                value: r,
                current: r.job.same_as(&self.reverse_job()),
            })
    }

    /// The ELBO table of the current inputs.
    pub fn elbo_key(&self) -> ElboKey {
        ElboKey(self.inputs().clone())
    }

    /// The river and particles of the current inputs.
    pub fn statics_key(&self) -> StaticsKey {
        StaticsKey(self.inputs().clone())
    }

    /// The fields of the current inputs at the current t.
    pub fn field_key(&self) -> FieldKey {
        FieldKey {
            inputs: self.inputs().clone(),
            t: self.t,
        }
    }

    /// The reverse runs the current inputs and settings ask for.
    pub fn reverse_job(&self) -> ReverseJob {
        ReverseJob {
            inputs: self.inputs().clone(),
            configs: self.model.settings.reverse.clamped(
                self.steps(),
                self.model
                    .settings
                    .config_of(&self.model.applied.schedule_settings),
            ),
            sizes: self.jobs.options.reverse_sizes,
        }
    }

    /// What the Evidence tab's results must be of.
    pub fn evidence_key(&self) -> EvidenceKey {
        EvidenceKey::new(
            &self.model.applied,
            self.model.settings.variance,
            self.jobs.options.evidence_detail,
        )
    }

    /// The comparison of the current schedule, the drawn presets and every overlay on the
    /// current data.
    pub fn compare_key(&self) -> CompareKey {
        CompareKey::new(
            &self.model.settings,
            &self.model.applied,
            &self.model.overlays,
        )
    }
}

/// Draw `add` dimmed when `current` is false (a result of older inputs).
pub fn dimmed_unless<R>(ui: &mut Ui, current: bool, add: impl FnOnce(&mut Ui) -> R) -> R {
    ui.scope(|ui| {
        if !current {
            ui.multiply_opacity(STALE_OPACITY);
        }
        add(ui)
    })
    .inner
}

/// The "computing" note at the right of the menu bar (so nothing below it moves).
pub fn computing_note(ui: &mut Ui, freshness: Freshness) {
    if freshness == Freshness::Computing {
        ui.label(RichText::new("computing...").italics())
            .on_hover_text("The results for the current settings are being computed; dimmed plots show the previous settings' results until then");
        ui.spinner();
    }
}

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

/// A foldable section of a view that follows the window's height (open when the view's
/// height is at least `min_height` points, folded on a short projector window) until the
/// user opens or closes it; from then on it stays as they left it.
#[derive(Debug, Default, Clone, Copy)]
pub struct AutoFold {
    chosen: bool,
}

impl AutoFold {
    /// Show the section `title` (hover text `tip`) with `add` as its body, in a view
    /// `view_height` points tall.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        title: &str,
        tip: &str,
        (view_height, min_height): (f32, f32),
        add: impl FnOnce(&mut Ui),
    ) {
        let tall = view_height >= min_height;
        let header = egui::CollapsingHeader::new(title)
            .id_salt(title)
            .open((!self.chosen).then_some(tall))
            .show_unindented(ui, add)
            .header_response;
        if header.clicked() {
            self.chosen = true;
        }
        header.on_hover_text(tip);
    }
}

/// A right-hand text column for formulas, with a fixed width.
pub fn formula_column(ui: &mut Ui, width: f32, add: impl FnOnce(&mut Ui)) {
    ui.vertical(|ui| {
        ui.set_width(width);
        egui::ScrollArea::vertical()
            .id_salt("formulas")
            .show(ui, add);
    });
}
