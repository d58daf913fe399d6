//! What every tab and panel draws from ([`ViewCtx`], read-only) and the small pieces they
//! share: dimming a result of older inputs, the "computing" note, foldable sections and
//! the formula column.

use egui::{RichText, Ui};

use super::super::command::EditMode;
use super::super::focus::{Focus, Target};
use super::super::inputs::{Depends, Freshness, Inputs};
use super::super::jobs::Jobs;
pub use super::super::jobs::Shown;
use super::super::jobs::compare::CompareKey;
use super::super::jobs::elbo::{ElboKey, ElboShown};
use super::super::jobs::evidence::EvidenceKey;
use super::super::jobs::forward::{FieldKey, FieldView, StaticShown, StaticsKey};
use super::super::jobs::reverse::{ReverseJob, ReverseResult};
use super::super::jobs::step::StepKey;
use super::super::lessons::lessons;
use super::super::model::Model;
use super::super::training::Training;
use elbo_core::mixture::GaussianMixture;
use elbo_core::schedule::NoiseSchedule;

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
    /// The "Open or save by path" window is open.
    pub path_open: bool,
    /// How far the status message has faded, in percent: 0 while it is shown, 100 once
    /// gone (an error never fades).
    pub status_fade: u8,
    /// The step of the built-in lesson shown in the lesson bar, if one runs.
    pub lesson: Option<usize>,
    /// The lesson step is new: the views bring what it refers to into view (see
    /// [`Focus`]).
    pub reveal: bool,
    /// What a press on a data plot does.
    pub edit_mode: EditMode,
}

impl<'a> ViewCtx<'a> {
    /// What the running lesson step refers to, and whether to bring it into view now.
    pub fn focus(&self) -> Focus {
        Focus {
            targets: self
                .window
                .lesson
                .and_then(|i| lessons().into_iter().nth(i))
                .map(|l| l.shows)
                .unwrap_or_default(),
            reveal: self.window.reveal && self.window.lesson.is_some(),
        }
    }

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

    /// What the Denoising step tab's terms must be of.
    pub fn step_key(&self) -> StepKey {
        StepKey::new(
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
    /// A lesson step that refers to the section (its title as a [`Target::Section`]) opens
    /// it, as if the user had.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        focus: &Focus,
        title: &'static str,
        tip: &str,
        (view_height, min_height): (f32, f32),
        add: impl FnOnce(&mut Ui),
    ) {
        let target = Target::Section(title);
        let open = if focus.reveals(target) {
            self.chosen = true;
            Some(true)
        } else {
            (!self.chosen).then_some(view_height >= min_height)
        };
        let header = egui::CollapsingHeader::new(title)
            .id_salt(title)
            .open(open)
            .show_unindented(ui, add)
            .header_response;
        if header.clicked() {
            self.chosen = true;
        }
        super::super::focus::mark(ui, target, header.rect);
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

/// A part of a tab that needs 1D data, on other data: says so (`why` it needs 1D, and
/// which part works on any data), and offers a button to the bimodal 1D preset (the
/// schedule and model stay).
pub fn one_d_only(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    why: &str,
    works_anywhere: &str,
) -> Vec<super::super::command::Command> {
    let pal = super::super::palette::Palette::of_ui(ui);
    ui.add_space(12.0);
    ui.label(
        RichText::new(format!(
            "This part needs 1D data: the current data are {}D.",
            ctx.dim()
        ))
        .color(pal.info)
        .heading(),
    );
    ui.add(egui::Label::new(why).wrap());
    ui.add(
        egui::Label::new(format!(
            "Pick a 1D data preset in the side panel (or load a 1D mixture) to see this part; {works_anywhere}."
        ))
        .wrap(),
    );
    ui.add_space(8.0);
    let mut commands = Vec::new();
    if ui
        .button("Use the bimodal (1D) preset")
        .on_hover_text("Replace the data by the bimodal 1D preset (two modes at -1 and +1); the schedule and model stay")
        .clicked()
    {
        commands.push(super::super::command::Command::SetData(
            ctx.model.applied.data_settings.with_preset(
                elbo_core::presets::DataSpec::new(elbo_core::presets::DataPreset::Bimodal),
            ),
        ));
    }
    commands
}

/// A job's progress bar, while it is busy (nothing otherwise), with what it computes as its
/// hover text.
pub fn job_progress(ui: &mut Ui, busy: bool, progress: super::super::jobs::Progress, tip: &str) {
    if !busy {
        return;
    }
    let fraction = progress.done as f32 / progress.total.max(1) as f32;
    ui.add(
        egui::ProgressBar::new(fraction)
            .desired_width(140.0)
            .show_percentage(),
    )
    .on_hover_text(tip);
}

/// A row of selectable labels picking what a short view shows (`options`: the value, its
/// label and its hover text), in the current row.
pub fn switch<T: Copy + PartialEq>(ui: &mut Ui, current: &mut T, options: &[(T, &str, &str)]) {
    for &(value, label, tip) in options {
        if ui
            .selectable_label(*current == value, label)
            .on_hover_text(tip)
            .clicked()
        {
            *current = value;
        }
    }
}
