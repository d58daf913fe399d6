//! The left panel: data, schedule and model controls, each section collapsible with its own
//! Reset button. It edits copies of the settings and returns the changed ones as
//! [`Command`]s; it owns the path fields typed into and the clamp warnings of its number
//! fields.
//!
//! Number fields never clamp silently: [`Typed`] catches what was typed, and
//! [`ClampNotes`] keeps a warning under the field ("beta_start -1 is below 1e-6: clamped to
//! 1e-6") until that field's value changes again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::rc::Rc;

use egui::{Color32, Response, RichText, Ui};

use elbo_core::denoiser::ModelKind;
use elbo_core::presets::{DataPreset, DataSpec, MIN_COMPONENTS};
use elbo_core::schedule::{BetaSchedule, VarianceType};

/// The tooltip of the analytic reverse variance, wherever it is offered.
pub const ANALYTIC_TIP: &str = "analytic (Bao et al. 2022, Analytic-DPM): for t >= 2, sigma*_t^2 = beta~_t + E||mu~_t - mu_theta||^2 / d, the isotropic variance that minimises each KL term L(t-1) of the ELBO given the model's own mean (its error over q(x0, x_t), by quadrature). It is never below fixed_small's and equals it for a perfect mean; the decoder keeps beta_1.";

use super::command::{Command, FileRequest, ModelChoice};
use super::palette::{Palette, finding_text};
use super::settings::{MAX_APP_STEPS, MAX_SEED, ResetScope, SAMPLE_RANGE};
use super::views::ctx::ViewCtx;

/// Red for inline errors (retired: use [`Palette::error`]; kept while other files use it).
pub const ERROR_COLOUR: Color32 = super::palette::ERROR;
/// Blue for notes (retired: use [`Palette::info`]).
pub const INFO_COLOUR: Color32 = super::palette::INFO;

/// Largest component count the slider offers.
const MAX_SLIDER_COMPONENTS: usize = 512;
/// Width range of the data presets.
const WIDTH_RANGE: RangeInclusive<f64> = 0.2..=3.0;
/// Kernel bandwidth range of CSV points.
const BANDWIDTH_RANGE: RangeInclusive<f64> = 0.005..=2.0;
/// beta_start and beta_end range.
const BETA_RANGE: RangeInclusive<f64> = 1e-6..=0.999;
/// Room left beside a slider for its number box.
const SLIDER_VALUE_ROOM: f32 = 78.0;

/// What was last typed into a number field this frame (the raw text and its value), caught
/// by the field's parser before the widget clamps it.
#[derive(Default, Clone)]
pub struct Typed(Rc<RefCell<Option<TypedText>>>);

/// The text typed and the number it reads as (None: not a number).
type TypedText = (String, Option<f64>);

impl Typed {
    /// A parser for `DragValue::custom_parser` / `Slider::custom_parser`: it reads numbers
    /// as egui does (spaces ignored, the minus sign U+2212 accepted), refuses NaN and
    /// infinities, and remembers the text and its value.
    pub fn parser(&self) -> impl Fn(&str) -> Option<f64> + 'static {
        let cell = self.0.clone();
        move |text: &str| {
            let cleaned: String = text
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| if c == '\u{2212}' { '-' } else { c })
                .collect();
            let value = cleaned.parse::<f64>().ok().filter(|v| v.is_finite());
            *cell.borrow_mut() = Some((text.trim().to_owned(), value));
            value
        }
    }

    fn take(&self) -> Option<TypedText> {
        self.0.borrow_mut().take()
    }
}

/// The warnings of number fields whose typed value was clamped (or refused), one per
/// field, each kept until that field's value changes.
#[derive(Default)]
pub struct ClampNotes {
    /// Field key -> (message, the value the field was left at).
    notes: HashMap<String, (String, f64)>,
}

/// A number as the clamp messages print it: integers plainly, tiny or huge values in
/// scientific form (`1e-6`), others as typed (`0.999`).
fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() < 1e-3 || v.abs() >= 1e6 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

impl ClampNotes {
    /// After a number field named `name` (shown in the message; also its key) has been
    /// shown over a value that was `before` and is now `after`, with `range`: when the user
    /// typed a value that the field could not take, keep a warning saying what it became;
    /// any other edit of the field clears its warning.
    pub fn note(
        &mut self,
        name: &str,
        typed: &Typed,
        range: RangeInclusive<f64>,
        before: f64,
        after: f64,
        response: &Response,
    ) {
        match typed.take() {
            Some((text, None)) => {
                self.notes.insert(
                    name.to_owned(),
                    (
                        format!("{name}: \"{text}\" is not a number: kept {}", num(before)),
                        after,
                    ),
                );
            }
            Some((_, Some(v))) if v != after => {
                let (lo, hi) = (*range.start(), *range.end());
                let message = if v < lo {
                    format!(
                        "{name} {} is below {}: clamped to {}",
                        num(v),
                        num(lo),
                        num(after)
                    )
                } else if v > hi {
                    format!(
                        "{name} {} is above {}: clamped to {}",
                        num(v),
                        num(hi),
                        num(after)
                    )
                } else {
                    format!(
                        "{name} {} is not a whole number: set to {}",
                        num(v),
                        num(after)
                    )
                };
                self.notes.insert(name.to_owned(), (message, after));
            }
            Some(_) => {
                self.notes.remove(name);
            }
            None => {
                if response.changed() {
                    self.notes.remove(name);
                }
            }
        }
    }

    /// Show the warning of field `name` under it, in the warning colour, while the field
    /// still holds the value it was clamped to (`current`).
    pub fn show(&mut self, ui: &mut Ui, name: &str, current: f64) {
        self.forget_moved(name, current);
        if let Some((message, _)) = self.notes.get(name) {
            ui.add(
                egui::Label::new(RichText::new(message).color(Palette::of_ui(ui).warning)).wrap(),
            );
        }
    }

    /// Drop the warning of field `name` if the field no longer holds the value it was
    /// clamped to (it was changed since, by the field or by anything else).
    pub fn forget_moved(&mut self, name: &str, current: f64) {
        if self.notes.get(name).is_some_and(|(_, v)| *v != current) {
            self.notes.remove(name);
        }
    }

    /// The warning shown for field `name`, if any.
    pub fn message(&self, name: &str) -> Option<&str> {
        self.notes.get(name).map(|(m, _)| m.as_str())
    }
}

/// A wrapped label of its own (captions and descriptions that must fit a narrow panel).
fn wrapped(ui: &mut Ui, text: impl Into<egui::WidgetText>) -> Response {
    ui.add(egui::Label::new(text).wrap())
}

/// A slider filling the row, under a wrapped label naming it; typed values go through
/// `typed`. Returns the slider's response.
#[allow(clippy::too_many_arguments)]
fn slider_row<N: egui::emath::Numeric>(
    ui: &mut Ui,
    label: &str,
    tooltip: &str,
    value: &mut N,
    range: RangeInclusive<N>,
    log: bool,
    typed: &Typed,
) -> Response {
    // Short names sit beside the slider, long ones above it.
    let add = |ui: &mut Ui, l: Response| {
        ui.spacing_mut().slider_width = (ui.available_width() - SLIDER_VALUE_ROOM).max(60.0);
        ui.add(
            egui::Slider::new(value, range)
                .logarithmic(log)
                .custom_parser(typed.parser())
                .update_while_editing(false),
        )
        .labelled_by(l.id)
        .on_hover_text(tooltip)
    };
    if label.len() <= 12 {
        ui.horizontal(|ui| {
            let l = ui.label(label);
            add(ui, l)
        })
        .inner
    } else {
        let l = wrapped(ui, label);
        ui.scope(|ui| add(ui, l)).inner
    }
}

/// A combo box filling the row under a label naming it.
fn combo_row<R>(
    ui: &mut Ui,
    id: &str,
    label: &str,
    selected: String,
    tooltip: &str,
    add: impl FnOnce(&mut Ui) -> R,
) {
    let l = wrapped(ui, label);
    let width = ui.available_width() - 8.0;
    egui::ComboBox::from_id_salt(id)
        .width(width.max(80.0))
        .truncate()
        .selected_text(selected)
        .show_ui(ui, add)
        .response
        .labelled_by(l.id)
        .on_hover_text(tooltip);
}

/// A collapsible section, open by default, with a Reset button at the right of its header;
/// true when Reset was clicked.
fn section(
    ui: &mut Ui,
    title: &str,
    header_tip: &str,
    reset_tip: &str,
    add: impl FnOnce(&mut Ui),
) -> bool {
    let response = egui::CollapsingHeader::new(RichText::new(title).heading())
        .id_salt(title)
        .default_open(true)
        .show_unindented(ui, add);
    let header = response.header_response.on_hover_text(header_tip);
    // The Reset button sits at the right end of the header row.
    let row = egui::Rect::from_min_max(
        egui::pos2(header.rect.right() + 8.0, header.rect.top()),
        egui::pos2(ui.max_rect().right(), header.rect.bottom()),
    );
    // A child that does not move the parent's cursor (the header row is already laid out).
    let mut child = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(row)
            .layout(egui::Layout::right_to_left(egui::Align::Center)),
    );
    let reset = child.button("Reset").on_hover_text(reset_tip);
    ui.separator();
    reset.clicked()
}

/// The side panel; it owns the path fields and the clamp warnings.
#[derive(Default)]
pub struct SidePanel {
    data_path: String,
    schedule_path: String,
    save_path: String,
    clamps: ClampNotes,
}

impl SidePanel {
    /// Show the controls; return what must happen after layout.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &ViewCtx<'_>,
        editor: &mut super::views::editor::DataEditor,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        if section(
            ui,
            "Data",
            "The data distribution p0(x0): an exact Gaussian mixture, so q_t(x_t) and every ELBO term are known, not sampled from a dataset. Click to fold this section.",
            "Put the data back to their defaults: the bimodal preset, its default width and the default CSV bandwidth.",
            |ui| {
                self.data_section(ui, ctx, &mut commands);
                commands.extend(editor.panel(ui, ctx));
                self.save_row(ui, &mut commands);
            },
        ) {
            commands.push(Command::Reset(ResetScope::Data));
        }
        if section(
            ui,
            "Schedule",
            "The noise schedule beta_1..beta_T of the forward process q(x_t | x(t-1)) = N(sqrt(1 - beta_t) x(t-1), beta_t I) (Luo eq. 31, alpha_t = 1 - beta_t). Click to fold this section.",
            "Put the schedule back to its defaults: linear, T = 1000, beta from 1e-4 to 0.02, no rescaling.",
            |ui| self.schedule_section(ui, ctx, &mut commands),
        ) {
            commands.push(Command::Reset(ResetScope::Schedule));
        }
        if section(
            ui,
            "Model",
            "The reverse model p_theta(x(t-1) | x_t): its denoiser, its variance, and the Monte Carlo samples and seed (the ELBO itself is by quadrature; Monte Carlo serves the eq. 45 form and the sample paths). Click to fold this section.",
            "Put the model, the reverse variance, the Monte Carlo sample count and the seed back to their defaults.",
            |ui| self.model_section(ui, ctx, &mut commands),
        ) {
            commands.push(Command::Reset(ResetScope::Model));
        }
        wrapped(
            ui,
            "Drop a mixture JSON or points CSV (data), or a scheduler_config.json or betas list (schedule) onto the window.",
        );
        commands
    }

    /// The path field and buttons that save the data as mixture JSON.
    fn save_row(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        path_row(
            ui,
            "Save data as (JSON)",
            &mut self.save_path,
            "Path to write the current data to, as the mixture JSON that `elbo-lab report --data FILE` and the data file field read (a drawing, a preset or a loaded file alike). Enter or the Save button writes it.",
            "Save data",
            "Write the current data to the file named in the field; the message above says where it went or what failed.",
            commands,
            Command::SaveMixture,
            (
                "Save data as...",
                "Pick where to save the data with the file dialog.",
                Command::PickFile(FileRequest::SaveMixture),
            ),
        );
    }

    fn data_section(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        let pal = Palette::of_ui(ui);
        let mut data = ctx.model.settings.data.clone();
        let current = data.spec.preset;
        let shown = if data.drawn.is_some() {
            "drawn by hand".to_owned()
        } else if data.file.is_some() {
            "file".to_owned()
        } else {
            preset_label(current)
        };
        combo_row(
            ui,
            "data_preset",
            "Data preset",
            shown,
            "The data distribution p0(x0). 1D presets (bimodal, skewed, spike, gaussian) show the density river over t; 2D presets show the density of q_t as an image. Each is a Gaussian mixture: exact densities, exact optimal denoiser.",
            |ui| {
                for preset in DataPreset::ALL {
                    let selected = data.file.is_none() && data.drawn.is_none() && preset == current;
                    if ui
                        .selectable_label(selected, preset_label(preset))
                        .on_hover_text(preset.description())
                        .clicked()
                    {
                        data = data.with_preset(DataSpec::new(preset));
                    }
                }
            },
        );
        match (&data.drawn, &data.file) {
            (Some(drawn), _) => {
                let k = drawn.components.len();
                wrapped(
                    ui,
                    format!(
                        "{k} component{} drawn by hand, starting from {}",
                        if k == 1 { "" } else { "s" },
                        drawn.from
                    ),
                );
                if ui
                    .button("Back to the preset")
                    .on_hover_text("Forget the drawing and use the preset chosen above (Ctrl+Z brings the drawing back).")
                    .clicked()
                {
                    commands.push(Command::UsePresetData);
                }
            }
            (None, Some(path)) => {
                wrapped(ui, format!("Loaded from {}", path.display()));
                if ui
                    .button("Back to the preset")
                    .on_hover_text("Forget the loaded file and use the preset chosen above.")
                    .clicked()
                {
                    commands.push(Command::UsePresetData);
                }
            }
            (None, None) => {
                let d = ctx.data();
                wrapped(
                    ui,
                    format!(
                        "{} ({}D, {} components)",
                        current.description(),
                        d.dim(),
                        d.len()
                    ),
                );
                if current.has_component_count() {
                    let mut k = data.spec.component_count();
                    let before = k;
                    let typed = Typed::default();
                    let r = slider_row(
                        ui,
                        "Components",
                        &format!(
                            "Number of Gaussian components the 2D shape is built from: more gives a finer shape and slower estimates (cost is linear in it). Range {MIN_COMPONENTS} to {MAX_SLIDER_COMPONENTS}, log scale."
                        ),
                        &mut k,
                        MIN_COMPONENTS..=MAX_SLIDER_COMPONENTS,
                        true,
                        &typed,
                    );
                    self.clamps.note(
                        "components",
                        &typed,
                        MIN_COMPONENTS as f64..=MAX_SLIDER_COMPONENTS as f64,
                        before as f64,
                        k as f64,
                        &r,
                    );
                    self.clamps.show(ui, "components", k as f64);
                    if k != before {
                        data.spec.components = k;
                    }
                }
                let before = data.spec.width;
                let typed = Typed::default();
                let r = slider_row(
                    ui,
                    "Width",
                    "Scale of the shape: every mean and standard deviation of p0 is multiplied by it (the data variance grows as width^2). Range 0.2 to 3, log scale.",
                    &mut data.spec.width,
                    WIDTH_RANGE,
                    true,
                    &typed,
                );
                self.clamps
                    .note("width", &typed, WIDTH_RANGE, before, data.spec.width, &r);
                self.clamps.show(ui, "width", data.spec.width);
            }
        }
        let l = wrapped(ui, "CSV bandwidth h");
        let before = data.bandwidth;
        let typed = Typed::default();
        let r = ui
            .add(
                egui::DragValue::new(&mut data.bandwidth)
                    .range(BANDWIDTH_RANGE)
                    .speed(0.005)
                    .custom_parser(typed.parser())
                    .update_while_editing(false),
            )
            .labelled_by(l.id)
            .on_hover_text(
                "Kernel bandwidth h of loaded CSV points: each point x_i becomes a component N(x_i, h^2 I) of weight 1/n. Range 0.005 to 2. Drag, or click and type.",
            );
        self.clamps.note(
            "bandwidth",
            &typed,
            BANDWIDTH_RANGE,
            before,
            data.bandwidth,
            &r,
        );
        self.clamps.show(ui, "bandwidth", data.bandwidth);
        if data != ctx.model.settings.data {
            commands.push(Command::SetData(data));
        }
        path_row(
            ui,
            "Data file path",
            &mut self.data_path,
            "Path of a mixture JSON ({\"components\": [{\"weight\", \"mean\", \"cov\"}]}) or a CSV of points (one point per line, 1 or 2 columns). Enter or the Load button loads it.",
            "Load data file",
            "Load the file named in the field. On an error the message shows below and the current data stay.",
            commands,
            Command::LoadData,
            (
                "Open data file...",
                "Pick a mixture JSON or a CSV of points with the file dialog.",
                Command::PickFile(FileRequest::LoadData),
            ),
        );
        error_line(ui, pal, ctx.model.notes.data_error.as_ref());
    }

    fn schedule_section(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        let pal = Palette::of_ui(ui);
        let mut s = ctx.model.settings.schedule.clone();
        let shown = match &s.custom {
            Some(_) => "custom".to_owned(),
            None => s.preset.name().to_owned(),
        };
        combo_row(
            ui,
            "schedule_preset",
            "Schedule preset",
            shown,
            "How the noise variances beta_t grow with t (diffusers' names): linear (DDPM, Ho et al. 2020), scaled_linear (Stable Diffusion), squaredcos_cap_v2 (cosine, Nichol and Dhariwal 2021), sigmoid. They set abar_t = prod(s <= t) (1 - beta_s), and q(x_t | x0) = N(sqrt(abar_t) x0, (1 - abar_t) I) (Luo eqs. 61-70).",
            |ui| {
                for preset in BetaSchedule::ALL {
                    let selected = s.custom.is_none() && s.preset == preset;
                    if ui
                        .selectable_label(selected, preset.name())
                        .on_hover_text(preset.formula())
                        .clicked()
                    {
                        s.preset = preset;
                        s.custom = None;
                    }
                }
            },
        );
        match &s.custom {
            Some(c) => {
                wrapped(
                    ui,
                    format!("Custom betas from {} (T = {})", c.label, c.betas.len()),
                );
                if ui
                    .button("Back to the preset")
                    .on_hover_text("Forget the loaded betas and use the preset chosen above.")
                    .clicked()
                {
                    commands.push(Command::UsePresetSchedule);
                }
            }
            None => {
                super::formula::show(ui, super::formula::catalogue::schedule(s.preset))
                    .on_hover_text(s.preset.formula());
                let before = s.steps;
                let typed = Typed::default();
                let r = slider_row(
                    ui,
                    "T",
                    &format!(
                        "Number of diffusion steps T: the chain x_1..x_T, and the ELBO's T + 1 terms (reconstruction, T - 1 denoising matching terms, prior matching; Luo eq. 58). Range 1 to {MAX_APP_STEPS}, log scale."
                    ),
                    &mut s.steps,
                    1..=MAX_APP_STEPS,
                    true,
                    &typed,
                );
                self.clamps.note(
                    "T",
                    &typed,
                    1.0..=MAX_APP_STEPS as f64,
                    before as f64,
                    s.steps as f64,
                    &r,
                );
                self.clamps.show(ui, "T", s.steps as f64);
                if s.preset.uses_beta_range() {
                    for (name, tip, speed) in [
                        (
                            "beta_start",
                            "beta_1, the noise variance added at the first step. Range 1e-6 to 0.999; DDPM's linear schedule uses 1e-4, Stable Diffusion 0.00085. Drag, or click and type.",
                            1e-5,
                        ),
                        (
                            "beta_end",
                            "beta_T, the noise variance added at the last step. Range 1e-6 to 0.999; DDPM's linear schedule uses 0.02, Stable Diffusion 0.012. Drag, or click and type.",
                            1e-4,
                        ),
                    ] {
                        let value = if name == "beta_start" {
                            &mut s.beta_start
                        } else {
                            &mut s.beta_end
                        };
                        let before = *value;
                        let typed = Typed::default();
                        let r = ui
                            .horizontal(|ui| {
                                let l = ui.label(name);
                                ui.add(
                                    egui::DragValue::new(value)
                                        .range(BETA_RANGE)
                                        .speed(speed)
                                        .max_decimals(6)
                                        .custom_parser(typed.parser())
                                        .update_while_editing(false),
                                )
                                .labelled_by(l.id)
                                .on_hover_text(tip)
                            })
                            .inner;
                        self.clamps
                            .note(name, &typed, BETA_RANGE, before, *value, &r);
                        self.clamps.show(ui, name, *value);
                    }
                }
            }
        }
        ui.checkbox(&mut s.rescale_zero_snr, "Rescale to zero terminal SNR")
            .on_hover_text(
                "Lin et al. 2023: shift and scale sqrt(abar_t) so that abar_T = 0 exactly (SNR(T) = abar_T / (1 - abar_T) = 0), keeping abar_1. The prior matching term then vanishes and x_T carries no trace of x0; log-SNR(T) is -infinity.",
            );
        if s != ctx.model.settings.schedule {
            commands.push(Command::SetSchedule(s));
        }
        path_row(
            ui,
            "Schedule file path",
            &mut self.schedule_path,
            "Path of a diffusers scheduler_config.json (beta_schedule, num_train_timesteps, beta_start, beta_end, trained_betas, rescale_betas_zero_snr) or a list of betas (JSON array or one per line). Enter or the Load button loads it.",
            "Load schedule file",
            "Load the schedule named in the field. On an error the message shows below and the current schedule stays.",
            commands,
            Command::LoadSchedule,
            (
                "Open schedule file...",
                "Pick a scheduler_config.json or a betas list with the file dialog.",
                Command::PickFile(FileRequest::LoadSchedule),
            ),
        );
        let path = self.schedule_path.trim();
        if ui
            .button("Overlay in the Schedule tab")
            .on_hover_text(
                "Draw the schedule file named in the field in the Schedule tab beside the current schedule (which stays), in its own colour; any number can be overlaid, each removable there.",
            )
            .clicked()
            && !path.is_empty()
        {
            commands.push(Command::OverlaySchedule(PathBuf::from(path)));
        }
        error_line(ui, pal, ctx.model.notes.schedule_error.as_ref());
        wrapped(ui, &ctx.model.applied.schedule_label);
        for f in &ctx.model.applied.findings {
            wrapped(ui, finding_text(pal, f));
        }
    }

    fn model_section(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        let pal = Palette::of_ui(ui);
        let trained = ctx.training.available(ctx.dim());
        let s = &ctx.model.settings;
        let in_use = &ctx.model.applied.model.trained;
        let shown = match in_use {
            Some((p, step, _)) => format!("trained {p} (step {step})"),
            None => s.model.name().to_owned(),
        };
        combo_row(
            ui,
            "model",
            "Model",
            shown,
            "The denoiser inside p_theta(x(t-1) | x_t), whose mean is the posterior mean of q(x(t-1) | x_t, x0) at x0 = x0_hat (Luo eq. 84). optimal: the exact E[x0 | x_t] of the data, the best any network can do; gaussian: the optimal denoiser of a Gaussian fitted to the data (a linear model); trained: a network from the Training tab.",
            |ui| {
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
            },
        );
        let description = match in_use {
            Some((p, step, _)) => format!(
                "a small MLP predicting {p}, trained in the Training view; frozen at step {step}"
            ),
            None => s.model.description().to_owned(),
        };
        wrapped(ui, description);
        if let Some((p, step, net)) = in_use
            && let Some(newest) = ctx.training.model(*p, ctx.dim())
            && !std::sync::Arc::ptr_eq(net, &newest)
        {
            wrapped(
                ui,
                RichText::new(format!(
                    "Newer networks (step {}) than the frozen one (step {step}).",
                    ctx.training.models_step
                ))
                .color(pal.info),
            );
            if ui
                .button("Use the newer networks")
                .on_hover_text("Replace the frozen network by the training run's newest snapshot.")
                .clicked()
            {
                commands.push(Command::UseNewerNetworks);
            }
        }
        if let Some(note) = &ctx.model.notes.model_note {
            wrapped(ui, RichText::new(note).color(pal.info));
        }
        wrapped(ui, "Reverse variance sigma_t^2");
        ui.horizontal_wrapped(|ui| {
            for v in VarianceType::ALL {
                let tip = match v {
                    VarianceType::FixedSmall => {
                        "sigma_t^2 = beta~_t = (1 - abar(t-1)) / (1 - abar_t) beta_t: the variance of the true posterior q(x(t-1) | x_t, x0) (Luo eq. 85), so each KL term of the ELBO compares means only."
                    }
                    VarianceType::FixedLarge => {
                        "sigma_t^2 = beta_t (Ho et al. 2020): larger than the posterior variance; each KL term of the ELBO gets a variance-mismatch part besides the means."
                    }
                    VarianceType::Analytic => ANALYTIC_TIP,
                };
                if ui
                    .radio(s.variance == v, v.name())
                    .on_hover_text(tip)
                    .clicked()
                    && s.variance != v
                {
                    commands.push(Command::SetVariance(v));
                }
            }
        });
        let mut n = s.samples;
        let typed = Typed::default();
        let r = slider_row(
            ui,
            "Monte Carlo samples N",
            &format!(
                "Pairs (x0, eps) the Monte Carlo estimates average over, shared by every timestep; the standard error falls as 1/sqrt(N). The ELBO curves and totals are by quadrature and do not depend on N: it matters for the eq. 45 form (ELBO tab), which compares Monte Carlo estimators. Range {} to {}, log scale.",
                SAMPLE_RANGE.start(),
                SAMPLE_RANGE.end()
            ),
            &mut n,
            SAMPLE_RANGE,
            true,
            &typed,
        );
        let range = *SAMPLE_RANGE.start() as f64..=*SAMPLE_RANGE.end() as f64;
        self.clamps
            .note("samples", &typed, range, s.samples as f64, n as f64, &r);
        self.clamps.show(ui, "samples", n as f64);
        if n != s.samples {
            commands.push(Command::SetSamples(n));
        }
        let mut seed = s.seed;
        let typed = Typed::default();
        let r = ui
            .horizontal(|ui| {
                let l = ui.label("Seed");
                ui.add(
                    egui::DragValue::new(&mut seed)
                        .range(0..=MAX_SEED)
                        .custom_parser(typed.parser())
                        .update_while_editing(false),
                )
                .labelled_by(l.id)
                .on_hover_text(format!(
                    "Seed of every random draw (the sample paths, the particles, the eq. 45 form's Monte Carlo samples): the same seed gives the same numbers. The quadrature ELBO does not depend on it. Range 0 to {MAX_SEED}."
                ))
            })
            .inner;
        self.clamps.note(
            "seed",
            &typed,
            0.0..=MAX_SEED as f64,
            s.seed as f64,
            seed as f64,
            &r,
        );
        self.clamps.show(ui, "seed", seed as f64);
        if seed != s.seed {
            commands.push(Command::SetSeed(seed));
        }
        if let Some((inputs, e)) = ctx.jobs.elbo.error()
            && inputs.covers(ctx.inputs(), super::inputs::Depends::All)
        {
            wrapped(ui, RichText::new(format!("Error: {e}")).color(pal.error));
        }
    }
}

fn error_line(ui: &mut Ui, pal: &Palette, error: Option<&String>) {
    if let Some(e) = error {
        wrapped(ui, RichText::new(format!("Error: {e}")).color(pal.error));
    }
}

#[allow(clippy::too_many_arguments)]
fn path_row(
    ui: &mut Ui,
    label: &str,
    text: &mut String,
    field_tip: &str,
    button: &str,
    button_tip: &str,
    commands: &mut Vec<Command>,
    make: fn(PathBuf) -> Command,
    open: (&str, &str, Command),
) {
    let l = wrapped(ui, label);
    let edit = ui
        .add(egui::TextEdit::singleline(text).desired_width(ui.available_width() - 8.0))
        .labelled_by(l.id)
        .on_hover_text(field_tip);
    let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.horizontal_wrapped(|ui| {
        let load = ui.button(button).on_hover_text(button_tip).clicked();
        if (load || enter) && !text.trim().is_empty() {
            commands.push(make(PathBuf::from(text.trim())));
        }
        if ui.button(open.0).on_hover_text(open.1).clicked() {
            commands.push(open.2);
        }
    });
}

fn preset_label(preset: DataPreset) -> String {
    format!("{} ({}D)", preset.name(), preset.dim())
}
