//! The left panel: data, schedule and model controls. It edits copies of the settings and
//! returns the changed ones as [`Command`]s; it owns the path fields typed into.

use std::path::PathBuf;

use egui::{Color32, RichText, Ui};

use crate::denoiser::ModelKind;
use crate::presets::{DataPreset, DataSpec, MIN_COMPONENTS};
use crate::schedule::{BetaSchedule, Severity, VarianceType};

use super::command::{Command, ModelChoice};
use super::settings::{MAX_APP_STEPS, MAX_SEED, SAMPLE_RANGE};
use super::views::ViewCtx;

/// Red for inline errors.
pub const ERROR_COLOUR: Color32 = Color32::from_rgb(230, 60, 60);
/// Orange for warnings.
pub const WARNING_COLOUR: Color32 = Color32::from_rgb(235, 160, 40);
/// Blue for notes.
pub const INFO_COLOUR: Color32 = Color32::from_rgb(90, 160, 230);

/// The side panel; it owns the path fields.
#[derive(Default)]
pub struct SidePanel {
    data_path: String,
    schedule_path: String,
}

impl SidePanel {
    /// Show the controls; return what must happen after layout.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.heading("Data");
        self.data_section(ui, ctx, &mut commands);
        ui.separator();
        ui.heading("Schedule");
        self.schedule_section(ui, ctx, &mut commands);
        ui.separator();
        ui.heading("Model");
        model_section(ui, ctx, &mut commands);
        ui.separator();
        ui.label(
            RichText::new("Drop a mixture JSON or points CSV (data), or a scheduler_config.json or betas list (schedule) onto the window.")
                .small(),
        );
        commands
    }

    fn data_section(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        let mut data = ctx.settings.data.clone();
        let current = data.spec.preset;
        let shown = match &data.file {
            Some(_) => "file".to_owned(),
            None => preset_label(current),
        };
        egui::ComboBox::from_label("Data preset")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for preset in DataPreset::ALL {
                    let selected = data.file.is_none() && preset == current;
                    if ui
                        .selectable_label(selected, preset_label(preset))
                        .on_hover_text(preset.description())
                        .clicked()
                    {
                        data.spec = DataSpec::new(preset);
                        data.file = None;
                    }
                }
            });
        match &data.file {
            Some(path) => {
                ui.label(format!("Loaded from {}", path.display()));
                if ui.button("Back to the preset").clicked() {
                    commands.push(Command::UsePresetData);
                }
            }
            None => {
                ui.label(RichText::new(current.description()).small());
                if current.has_component_count() {
                    let mut k = data.spec.component_count();
                    if ui
                        .add(
                            egui::Slider::new(&mut k, MIN_COMPONENTS..=512)
                                .logarithmic(true)
                                .text("Components"),
                        )
                        .changed()
                    {
                        data.spec.components = k;
                    }
                }
                ui.add(
                    egui::Slider::new(&mut data.spec.width, 0.2..=3.0)
                        .logarithmic(true)
                        .text("Width"),
                );
            }
        }
        ui.horizontal(|ui| {
            let label = ui.label("CSV bandwidth");
            ui.add(
                egui::DragValue::new(&mut data.bandwidth)
                    .range(0.005..=2.0)
                    .speed(0.005),
            )
            .labelled_by(label.id);
        });
        if data != ctx.settings.data {
            commands.push(Command::SetData(data));
        }
        let d = ctx.data();
        ui.label(format!("{}D, {} components", d.dim(), d.len()));
        path_row(
            ui,
            "Data file path",
            &mut self.data_path,
            "Load data file",
            commands,
            Command::LoadData,
        );
        if ui.button("Open data file...").clicked() {
            commands.push(Command::PickData);
        }
        error_line(ui, ctx.notes.data_error.as_ref());
    }

    fn schedule_section(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        let mut s = ctx.settings.schedule.clone();
        let shown = match &s.custom {
            Some(_) => "custom".to_owned(),
            None => s.preset.name().to_owned(),
        };
        egui::ComboBox::from_label("Schedule preset")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for preset in BetaSchedule::ALL {
                    let selected = s.custom.is_none() && s.preset == preset;
                    if ui.selectable_label(selected, preset.name()).clicked() {
                        s.preset = preset;
                        s.custom = None;
                    }
                }
            });
        match &s.custom {
            Some(c) => {
                ui.label(format!(
                    "Custom betas from {} (T = {})",
                    c.label,
                    c.betas.len()
                ));
                if ui.button("Back to the preset").clicked() {
                    commands.push(Command::UsePresetSchedule);
                }
            }
            None => {
                ui.label(RichText::new(s.preset.formula()).monospace().small());
                ui.add(
                    egui::Slider::new(&mut s.steps, 1..=MAX_APP_STEPS)
                        .logarithmic(true)
                        .text("T"),
                );
                if s.preset.uses_beta_range() {
                    ui.horizontal(|ui| {
                        let l = ui.label("beta_start");
                        ui.add(
                            egui::DragValue::new(&mut s.beta_start)
                                .range(1e-6..=0.999)
                                .speed(1e-5)
                                .max_decimals(6),
                        )
                        .labelled_by(l.id);
                        let l = ui.label("beta_end");
                        ui.add(
                            egui::DragValue::new(&mut s.beta_end)
                                .range(1e-6..=0.999)
                                .speed(1e-4)
                                .max_decimals(6),
                        )
                        .labelled_by(l.id);
                    });
                }
            }
        }
        ui.checkbox(&mut s.rescale_zero_snr, "Rescale to zero terminal SNR");
        if s != ctx.settings.schedule {
            commands.push(Command::SetSchedule(s));
        }
        path_row(
            ui,
            "Schedule file path",
            &mut self.schedule_path,
            "Load schedule file",
            commands,
            Command::LoadSchedule,
        );
        if ui.button("Open schedule file...").clicked() {
            commands.push(Command::PickSchedule);
        }
        error_line(ui, ctx.notes.schedule_error.as_ref());
        ui.label(RichText::new(&ctx.applied.schedule_label).small());
        for f in &ctx.applied.findings {
            let (colour, tag) = match f.severity {
                Severity::Warning => (WARNING_COLOUR, "Warning"),
                Severity::Info => (INFO_COLOUR, "Note"),
            };
            ui.label(RichText::new(format!("{tag}: {}", f.message)).color(colour));
        }
    }
}

fn error_line(ui: &mut Ui, error: Option<&String>) {
    if let Some(e) = error {
        ui.label(RichText::new(format!("Error: {e}")).color(ERROR_COLOUR));
    }
}

fn path_row(
    ui: &mut Ui,
    label: &str,
    text: &mut String,
    button: &str,
    commands: &mut Vec<Command>,
    make: fn(PathBuf) -> Command,
) {
    let l = ui.label(label);
    ui.horizontal(|ui| {
        let edit = ui
            .add(egui::TextEdit::singleline(text).desired_width(170.0))
            .labelled_by(l.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button(button).clicked() || enter) && !text.trim().is_empty() {
            commands.push(make(PathBuf::from(text.trim())));
        }
    });
}

fn preset_label(preset: DataPreset) -> String {
    format!("{} ({}D)", preset.name(), preset.dim())
}

fn model_section(ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
    let trained = ctx.training.available(ctx.dim());
    let s = ctx.settings;
    let in_use = &ctx.applied.model.trained;
    let shown = match in_use {
        Some((p, step, _)) => format!("trained {p} (step {step})"),
        None => s.model.name().to_owned(),
    };
    egui::ComboBox::from_label("Model")
        .selected_text(shown)
        .show_ui(ui, |ui| {
            for kind in ModelKind::ALL {
                let selected = s.trained_model.is_none() && s.model == kind;
                if ui
                    .selectable_label(selected, kind.name())
                    .on_hover_text(kind.description())
                    .clicked()
                {
                    commands.push(Command::SetModel(ModelChoice::Kind(kind)));
                }
            }
            // Networks trained (or loaded) in the Training view.
            for p in trained {
                if ui
                    .selectable_label(s.trained_model == Some(p), format!("trained {p}"))
                    .on_hover_text(
                        "a network trained in the Training view, frozen at its latest snapshot",
                    )
                    .clicked()
                {
                    commands.push(Command::SetModel(ModelChoice::Trained(p)));
                }
            }
        });
    let description = match in_use {
        Some((p, step, _)) => format!(
            "a small MLP predicting {p}, trained in the Training view; frozen at step {step}"
        ),
        None => s.model.description().to_owned(),
    };
    ui.label(RichText::new(description).small());
    if let Some((p, step, net)) = in_use
        && let Some(newest) = ctx.training.model(*p, ctx.dim())
        && !std::sync::Arc::ptr_eq(net, &newest)
    {
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!(
                    "Newer networks (step {}) than the frozen one (step {step}).",
                    ctx.training.models_step
                ))
                .color(INFO_COLOUR),
            );
            if ui.button("Use the newer networks").clicked() {
                commands.push(Command::UseNewerNetworks);
            }
        });
    }
    if let Some(note) = &ctx.notes.model_note {
        ui.label(RichText::new(note).color(INFO_COLOUR));
    }
    ui.horizontal(|ui| {
        ui.label("Reverse variance:");
        for v in [VarianceType::FixedSmall, VarianceType::FixedLarge] {
            if ui.radio(s.variance == v, v.name()).clicked() && s.variance != v {
                commands.push(Command::SetVariance(v));
            }
        }
    });
    let mut n = s.samples;
    if ui
        .add(
            egui::Slider::new(&mut n, SAMPLE_RANGE)
                .logarithmic(true)
                .text("Monte Carlo samples"),
        )
        .changed()
    {
        commands.push(Command::SetSamples(n));
    }
    ui.horizontal(|ui| {
        let l = ui.label("Seed");
        let mut seed = s.seed;
        if ui
            .add(egui::DragValue::new(&mut seed).range(0..=MAX_SEED))
            .labelled_by(l.id)
            .changed()
        {
            commands.push(Command::SetSeed(seed));
        }
    });
    if let Some((inputs, e)) = &ctx.notes.compute_error
        && inputs.covers(ctx.inputs(), super::inputs::Depends::All)
    {
        ui.label(RichText::new(format!("Error: {e}")).color(ERROR_COLOUR));
    }
}
