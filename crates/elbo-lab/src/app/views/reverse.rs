//! The reverse process: particles from N(0, I) moved to data by two sampler settings from
//! the same x_T, side by side; 1D over the density river, 2D over the data density; and
//! sample quality against the number of steps.
//!
//! The two settings share the width (two equal columns). When the view is too short for
//! the particles and the quality figure one above the other, a switch shows one at a time.

use egui::{Color32, RichText, Ui};
use egui_plot::{HoverPosition, Line, PlotPoint, Points};

use super::super::command::Command;
use super::super::controls::{ANALYTIC_TIP, ClampNotes, Typed};
use super::super::focus::{self, Target};
use super::super::formula::{self as tex, catalogue};
use super::super::inputs::Depends;
use super::super::jobs::Want;
use super::super::jobs::reverse::{ReverseResult, TRAJECTORIES, state_index};
use super::super::palette::Palette;
use super::super::plot_util::{
    LegendEntry, box_image, clicked_t, legend_row, plane_plot, plot, pm, sci, t_marker,
};
use super::super::settings::{ConfigSampling, max_leading_offset};
use super::ctx::{AutoFold, Shown, ViewCtx, dimmed_unless};
use super::editor::DataEditor;
use super::forward::{INK_OVER_IMAGE, fit_to_screen, name_t_plot};
use super::tab::{PlotName, Tab, TabInfo};
use elbo_core::sampler::{SampleRun, SamplerConfig, SamplerKind, Spacing, quality_step_counts};
use elbo_core::schedule::VarianceType;

const SIDES: [&str; 2] = ["A", "B"];
/// Below this view height (points) the sampler settings start folded.
const SETTINGS_OPEN_MIN_HEIGHT: f32 = 380.0;
/// Below this height (points) the particles and the quality figure are shown one at a time.
const STACK_MIN_HEIGHT: f32 = 420.0;

/// The colours of settings A and B. This tab draws no parameterisation, so it borrows the
/// x0 and eps colours (as the Schedule tab's presets do), the most distinct pair.
fn side_colours(ui: &Ui) -> [Color32; 2] {
    let pal = Palette::of_ui(ui);
    [pal.param.x0, pal.param.eps]
}

/// What the plot area shows when it is too short for both rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Figure {
    /// The particles of A and B.
    #[default]
    Particles,
    /// Sample quality against the number of steps.
    Quality,
}

/// The Reverse process tab: which figure is shown when short, and the clamp warnings of
/// its number fields (the runs live in the app's
/// [`ReverseState`](super::super::jobs::reverse::ReverseState), polled every frame).
#[derive(Default)]
pub struct ReverseView {
    figure: Figure,
    clamps: ClampNotes,
    settings_fold: AutoFold,
}

impl Tab for ReverseView {
    const INFO: TabInfo = TabInfo {
        name: "Reverse process",
        short_name: "Reverse",
        slug: "reverse",
        aliases: &[],
        summary: "The reverse (generative) process: samplers run from pure noise back to data",
        help: "Two samplers, A and B, start from N(0, I) at t = T and step back to data with the chosen \
             denoiser (the Bayes-optimal one, a Gaussian fit, or a trained network). \
             Compare their samples with p(x_0): fewer steps (DDIM) or a poor model show up as \
             blurred or missing modes, and in the quality numbers under each panel.",
    };

    fn plots() -> Vec<PlotName> {
        let mut plots: Vec<PlotName> = Vec::new();
        let mut add = |name: String, label: String| plots.push((name, label));
        for side in ["A", "B"] {
            add(
                format!("reverse_river_{side}"),
                format!("{side}: river over t"),
            );
            add(
                format!("reverse_cloud_{side}"),
                format!("{side}: samples at t"),
            );
        }
        add("reverse_quality_0".into(), "quality: log-likelihood".into());
        add(
            "reverse_quality_1".into(),
            "quality: energy distance".into(),
        );
        plots
    }

    fn shows_data(ctx: &ViewCtx<'_>) -> bool {
        ctx.dim() == 2
    }

    fn wants(&self, ctx: &ViewCtx<'_>) -> Vec<Want> {
        let mut wants = vec![Want::Reverse(ctx.reverse_job())];
        if ctx.dim() == 1 {
            // The runs are drawn over the density river.
            wants.push(Want::Statics(ctx.statics_key()));
        }
        wants
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>, editor: &mut DataEditor) -> Vec<Command> {
        fit_to_screen(ui, |ui| self.contents(ui, ctx, editor))
    }
}

impl ReverseView {
    fn contents(
        &mut self,
        ui: &mut Ui,
        ctx: &ViewCtx<'_>,
        editor: &mut DataEditor,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        let steps = ctx.steps();
        // Copied out: the body borrows the view.
        let mut fold = self.settings_fold;
        fold.show(
            ui,
            &ctx.focus(),
            "Sampler settings A and B",
            "The two sampler settings compared side by side, from the same x_T and the same noise. Click to fold them away and give the plots the room (folded by itself on a short window).",
            (ui.available_height(), SETTINGS_OPEN_MIN_HEIGHT),
            |ui| self.controls(ui, ctx, steps, &mut commands),
        );
        self.settings_fold = fold;
        if let Some(e) = ctx.jobs.reverse.error() {
            ui.add(egui::Label::new(RichText::new(e).color(Palette::of_ui(ui).error)).wrap());
        }
        let shown = ctx.reverse();
        let current = shown.as_ref().is_none_or(|s| s.current);
        let both = ui.available_height() >= STACK_MIN_HEIGHT;
        // A lesson step shows the figure its caption refers to.
        let focus = ctx.focus();
        if focus.reveals(Target::Plot(QUALITY)) {
            self.figure = Figure::Quality;
        } else if focus.reveals(Target::Plot(PARTICLES)) {
            self.figure = Figure::Particles;
        }
        if !both {
            ui.horizontal(|ui| {
                ui.label("Show:");
                super::ctx::switch(
                    ui,
                    &mut self.figure,
                    &[
                        (
                            Figure::Particles,
                            "Particles",
                            "The particles of A and B at the timeline's t (the view is too short for both figures at once).",
                        ),
                        (
                            Figure::Quality,
                            "Sample quality",
                            "Sample quality of A and B against the number of sampling steps K.",
                        ),
                    ],
                );
            });
        }
        let h = ui.available_height() - 4.0;
        dimmed_unless(ui, current, |ui| {
            let (particles_h, quality_h) = if both {
                let top = (h - ui.spacing().item_spacing.y) * 0.6;
                (top, h - top - ui.spacing().item_spacing.y)
            } else if self.figure == Figure::Particles {
                (h, 0.0)
            } else {
                (0.0, h)
            };
            if particles_h > 0.0 {
                let gaps = shown.as_ref().and_then(|s| gap_text(s.value));
                let line_h =
                    ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
                let plots_h = if gaps.is_some() {
                    particles_h - 2.0 * line_h
                } else {
                    particles_h
                };
                let drawn = ui.scope(|ui| {
                    ui.columns(2, |cols| {
                        for (side, col) in cols.iter_mut().enumerate() {
                            let w = col.available_width();
                            let place = (side, w, plots_h);
                            if let Some(t) = particles_plot(
                                col,
                                ctx,
                                shown.as_ref(),
                                place,
                                editor,
                                &mut commands,
                            ) {
                                commands.push(Command::SetT(t));
                            }
                        }
                    });
                });
                focus::mark(ui, Target::Plot(PARTICLES), drawn.response.rect);
                if let Some(text) = gaps {
                    focus::readout(ui, Target::Readout(GAPS), |ui| {
                        ui.add(egui::Label::new(text).wrap()).on_hover_text(
                            "From the quality figure: the gap -E log p0(samples) - H(p0) of each setting's samples at its own number of steps K (0: as good as data), ± 1 standard error.",
                        );
                    });
                }
            }
            if quality_h > 0.0 {
                let drawn = ui.scope(|ui| {
                    quality_plots(
                        ui,
                        shown.as_ref().map(|s| s.value),
                        quality_h,
                        ctx.model.settings.toggles.legends,
                    )
                });
                focus::mark(ui, Target::Plot(QUALITY), drawn.response.rect);
            }
        });
        commands
    }

    fn controls(
        &mut self,
        ui: &mut Ui,
        ctx: &ViewCtx<'_>,
        steps: usize,
        commands: &mut Vec<Command>,
    ) {
        let colours = side_colours(ui);
        let pal = Palette::of_ui(ui);
        let mut settings = ctx.model.settings.reverse.clone();
        let t_max = steps.max(1);
        let config = ctx
            .model
            .settings
            .config_of(&ctx.model.applied.schedule_settings);
        let resolved = settings.resolve(steps, config);
        if let Some(cfg) = config {
            match ConfigSampling::of(cfg) {
                Some(sampling) => {
                    ui.horizontal_wrapped(|ui| {
                        ui.checkbox(&mut settings.use_config, "Spacing and offset from the config")
                            .on_hover_text(format!(
                                "On: both settings take the loaded scheduler config's timestep_spacing and steps_offset ({}: {}; {}). Off: each setting uses its own spacing and offset (an override; the config is not changed).",
                                sampling.name, sampling.spacing_source, sampling.offset_source
                            ));
                        let text = if settings.use_config {
                            format!("{}; {}", sampling.spacing_source, sampling.offset_source)
                        } else {
                            format!(
                                "overridden: the config says {}; {}",
                                sampling.spacing_source, sampling.offset_source
                            )
                        };
                        ui.label(RichText::new(text).color(pal.info))
                            .on_hover_text(format!("From {}.", sampling.name));
                    });
                }
                None => {
                    ui.label(RichText::new(format!(
                        "The config {} sets no timestep_spacing or steps_offset: the settings below are the tab's own.",
                        cfg.name
                    )).color(pal.info));
                }
            }
        }
        for (side, name) in SIDES.iter().enumerate() {
            let r_side = resolved[side];
            let c: &mut SamplerConfig = if side == 0 {
                &mut settings.a
            } else {
                &mut settings.b
            };
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("{name}:")).strong().color(colours[side]))
                    .on_hover_text(format!(
                        "Setting {name}, drawn in this colour in every plot of the tab."
                    ));
                let r = egui::ComboBox::from_id_salt(format!("sampler_{name}"))
                    .selected_text(c.kind.name().to_uppercase())
                    .show_ui(ui, |ui| {
                        for k in SamplerKind::ALL {
                            ui.selectable_value(&mut c.kind, k, k.name().to_uppercase());
                        }
                    })
                    .response
                    .on_hover_text(
                        "DDPM (Ho et al. 2020): ancestral sampling, x_s = mu~(x_t, x0_hat) + sigma_t z, the posterior mean of q(x_s | x_t, x0_hat) (Luo eq. 84) plus noise. DDIM (Song et al. 2021, eq. 12): x_s = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - sigma^2) eps_hat + sigma z, with sigma set by eta; eta = 0 is deterministic.",
                    );
                set_name(ui, &r, &format!("Sampler {name}"));
                ui.label("steps");
                let before = c.steps;
                let mut k = c.steps.clamp(1, t_max);
                let typed = Typed::default();
                let r = ui
                    .scope(|ui| {
                        ui.spacing_mut().slider_width = 110.0;
                        ui.add(
                            egui::Slider::new(&mut k, 1..=t_max)
                                .logarithmic(true)
                                .custom_parser(typed.parser())
                                .update_while_editing(false),
                        )
                    })
                    .inner
                    .on_hover_text(format!(
                        "Sampling steps K: the sampler visits K of the T = {t_max} timesteps (chosen by the spacing). Range 1 to T, log scale."
                    ));
                set_name(ui, &r, &format!("Steps {name}"));
                let key = format!("steps {name}");
                self.clamps
                    .note(&key, &typed, 1.0..=t_max as f64, before as f64, k as f64, &r);
                if k != before.clamp(1, t_max) {
                    c.steps = k;
                }
                ui.label("spacing");
                let from_config = r_side.spacing_from_config;
                let shown_spacing = r_side.config.spacing;
                let r = ui
                    .add_enabled_ui(!from_config, |ui| {
                        egui::ComboBox::from_id_salt(format!("spacing_{name}"))
                            .selected_text(if from_config {
                                format!("{} (config)", shown_spacing.name())
                            } else {
                                c.spacing.name().to_owned()
                            })
                            .show_ui(ui, |ui| {
                                for s in Spacing::ALL {
                                    ui.selectable_value(&mut c.spacing, s, s.name());
                                }
                            })
                            .response
                    })
                    .inner
                    .on_hover_text(
                        "Which K timesteps are visited (diffusers' names). linspace: round(linspace(0, T - 1, K)); leading: arange(K) * (T div K) + offset; trailing: round(arange(T, 0, -T/K)) - 1, which starts at t = T (Lin et al. 2023).",
                    )
                    .on_disabled_hover_text(
                        "Set by the loaded scheduler config's timestep_spacing: untick \"Spacing and offset from the config\" to choose another.",
                    );
                set_name(ui, &r, &format!("Spacing {name}"));
                if shown_spacing == Spacing::Leading {
                    ui.label("offset");
                    let max = max_leading_offset(t_max, c.steps.clamp(1, t_max));
                    if r_side.offset_from_config {
                        ui.label(format!("{} (config)", r_side.config.steps_offset))
                            .on_hover_text(
                                "diffusers' steps_offset from the loaded scheduler config: leading spacing visits arange(K) * (T div K) + offset (diffusers' 0-based timesteps).",
                            );
                    } else {
                        let mut offset = c.steps_offset.min(max);
                        let r = ui
                            .add(egui::DragValue::new(&mut offset).range(0..=max))
                            .on_hover_text(format!(
                                "diffusers' steps_offset: leading spacing visits arange(K) * (T div K) + offset (0-based timesteps; Stable Diffusion uses 1). Range 0 to {max} at this K and T."
                            ));
                        set_name(ui, &r, &format!("Offset {name}"));
                        if offset != c.steps_offset.min(max) {
                            c.steps_offset = offset;
                        }
                    }
                }
                match c.kind {
                    SamplerKind::Ddim => {
                        ui.label("eta");
                        let before = c.eta;
                        let typed = Typed::default();
                        let r = ui
                            .scope(|ui| {
                                ui.spacing_mut().slider_width = 80.0;
                                ui.add(
                                    egui::Slider::new(&mut c.eta, 0.0..=1.0)
                                        .custom_parser(typed.parser())
                                        .update_while_editing(false),
                                )
                            })
                            .inner
                            .on_hover_text(
                                "DDIM's eta scales its noise: sigma_t = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s) (Song et al. eq. 16). 0: deterministic (an ODE); 1: as much noise as DDPM's fixed_small. Range 0 to 1.",
                            );
                        set_name(ui, &r, &format!("eta {name}"));
                        self.clamps
                            .note(&format!("eta {name}"), &typed, 0.0..=1.0, before, c.eta, &r);
                    }
                    SamplerKind::Ddpm => {
                        ui.label("variance");
                        let r = egui::ComboBox::from_id_salt(format!("variance_{name}"))
                            .selected_text(c.variance.name())
                            .show_ui(ui, |ui| {
                                for v in VarianceType::ALL {
                                    let tip = match v {
                                        VarianceType::FixedSmall => "fixed_small: sigma_t^2 = beta~_t = (1 - abar(t-1)) / (1 - abar_t) beta_t, the true posterior's variance (Luo eq. 85).",
                                        VarianceType::FixedLarge => "fixed_large: sigma_t^2 = beta_t (Ho et al. 2020).",
                                        VarianceType::Analytic => ANALYTIC_TIP,
                                    };
                                    ui.selectable_value(&mut c.variance, v, v.name())
                                        .on_hover_text(tip);
                                }
                            })
                            .response
                            .on_hover_text(
                                "The DDPM step's noise variance sigma_t^2: fixed_small = beta~_t = (1 - abar(t-1)) / (1 - abar_t) beta_t, the true posterior's (Luo eq. 85); fixed_large = beta_t; analytic (Bao et al. 2022) = fixed_small's plus the model's squared mean error per dimension at that step, the variance minimising each ELBO term given the model's mean.",
                            );
                        set_name(ui, &r, &format!("Variance {name}"));
                    }
                }
            });
            self.clamps
                .show(ui, &format!("steps {name}"), c.steps.clamp(1, t_max) as f64);
            if let Some(wanted) = r_side.offset_lowered_from {
                ui.add(
                    egui::Label::new(
                        RichText::new(format!(
                            "{name}: steps_offset {wanted} lowered to {}: with K = {} it would reach timestep {} > T - 1 = {}.",
                            r_side.config.steps_offset,
                            r_side.config.steps,
                            // In u128: a saved offset may be as large as usize allows.
                            ((r_side.config.steps - 1) * (t_max / r_side.config.steps)) as u128
                                + wanted as u128,
                            t_max - 1,
                        ))
                        .color(pal.warning),
                    )
                    .wrap(),
                )
                .on_hover_text(
                    "Leading spacing visits arange(K) * (T div K) + offset (diffusers' 0-based timesteps), which must stay at most T - 1; diffusers itself would index past its last timestep here.",
                );
            }
            if c.kind == SamplerKind::Ddim {
                self.clamps.show(ui, &format!("eta {name}"), c.eta);
            }
        }
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut settings.show_trajectories, "Show trajectories")
                .on_hover_text(
                    "Draw the paths of a few particles from x_T down to the shown t (off: only the particles at t).",
                );
            if ctx.jobs.reverse.is_busy() {
                ui.spinner();
                ui.label(format!(
                    "sampling: quality figure {} of {} step counts",
                    ctx.jobs.reverse.progress().done,
                    2 * quality_step_counts(steps).len()
                ));
            }
            ui.label("Timeline: t = 1 shows the samples x_0; Play runs t down from T.");
        });
        for (name, f) in [
            ("DDPM", catalogue::DDPM_STEP),
            ("DDIM", catalogue::DDIM_STEP),
        ] {
            ui.horizontal(|ui| {
                ui.label(format!("{name}:"));
                tex::show(ui, f);
            });
        }
        if settings != ctx.model.settings.reverse {
            commands.push(Command::SetReverse(settings));
        }
    }
}

/// Give a widget an accessible name (its visible label names only the field, not the side).
fn set_name(ui: &Ui, response: &egui::Response, name: &str) {
    ui.ctx()
        .accesskit_node_builder(response.id, |node| node.set_label(name));
}

/// The state index shown at the timeline's t; t = 1 shows the generated samples (t = 0).
fn shown_index(run: &SampleRun, t: usize) -> usize {
    if t <= 1 {
        run.timesteps.len() - 1
    } else {
        state_index(&run.timesteps, t)
    }
}

fn particles_plot(
    ui: &mut Ui,
    ctx: &ViewCtx<'_>,
    shown: Option<&Shown<'_, ReverseResult>>,
    (side, w, h): (usize, f32, f32),
    editor: &mut DataEditor,
    commands: &mut Vec<Command>,
) -> Option<usize> {
    let colours = side_colours(ui);
    let t = ctx.t;
    // Everything below is drawn through the runs' own inputs: their dimension, T and box.
    let own = shown.map_or(ctx.inputs(), |s| &s.value.job.inputs);
    let t_max = own.steps();
    let vb = own.view_box;
    let name = SIDES[side];
    let label = shown.map_or_else(
        || "computing".to_owned(),
        |s| s.value.job.configs[side].label(),
    );
    let caption = ui.add(
        egui::Label::new(RichText::new(format!("{name}: {label}")).color(colours[side])).truncate(),
    );
    let h = (h - caption.rect.height() - ui.spacing().item_spacing.y).max(60.0);
    let run = shown.map(|s| &s.value.runs[side]);
    let show_trajectories = ctx.model.settings.reverse.show_trajectories;
    // The river behind a 1D run only when it is of the run's data and schedule.
    let river = ctx
        .jobs
        .statics
        .shown_any()
        .filter(|st| st.inputs.covers(own, Depends::DataSchedule))
        .and_then(|st| st.river.as_ref());
    let density = shown
        .and_then(|s| s.value.density.as_ref())
        .map(|d| d.texture(ui.ctx()).id());
    if own.dim() == 1 {
        let [lo, hi] = vb[0];
        let river = plot(&format!("reverse_river_{name}"), "timestep t", "x")
            .height(h)
            .width(w)
            .include_x(0.0)
            .include_x(t_max as f64)
            .include_y(lo)
            .include_y(hi)
            .show(ui, |p| {
                if let Some(r) = river {
                    let image = r.plot_image(p.ctx(), t_max, lo, hi);
                    p.image(image);
                }
                if let Some(run) = run {
                    let i = shown_index(run, t);
                    let n = run.samples.nrows();
                    if show_trajectories {
                        for k in 0..TRAJECTORIES.min(n) {
                            let pts: Vec<[f64; 2]> = run
                                .timesteps
                                .iter()
                                .zip(&run.states)
                                .map(|(&ts, s)| [ts as f64, s[[k, 0]]])
                                .collect();
                            p.line(
                                Line::new("reverse trajectories", pts)
                                    .color(INK_OVER_IMAGE.gamma_multiply(0.85))
                                    .width(1.2),
                            );
                        }
                    }
                    let shown = run.timesteps[i] as f64;
                    let pts: Vec<[f64; 2]> = run.states[i]
                        .column(0)
                        .iter()
                        .map(|&x| [shown, x])
                        .collect();
                    p.points(
                        Points::new(format!("particles at t = {}", run.timesteps[i]), pts)
                            .radius(1.5)
                            .color(colours[side]),
                    );
                }
                p.vline(t_marker(t));
            });
        name_t_plot(&river, &format!("reverse river {name}"));
        clicked_t(&river, ctx.steps())
    } else {
        let cloud = editor
            .setup(plane_plot(&format!("reverse_cloud_{name}"), vb), ctx)
            .height(h)
            .width(w)
            .show(ui, |p| {
                if let Some(tex) = density {
                    p.image(box_image("data density p0 (log scale)", tex, vb));
                }
                if let Some(run) = run {
                    let i = shown_index(run, t);
                    if show_trajectories {
                        for k in 0..(TRAJECTORIES / 2).min(run.samples.nrows()) {
                            let pts: Vec<[f64; 2]> = run.states[..=i]
                                .iter()
                                .map(|s| [s[[k, 0]], s[[k, 1]]])
                                .collect();
                            p.line(
                                Line::new("trajectories from x_T", pts)
                                    .color(colours[side].gamma_multiply(0.8))
                                    .width(1.0),
                            );
                        }
                    }
                    let pts: Vec<[f64; 2]> = run.states[i]
                        .rows()
                        .into_iter()
                        .map(|r| [r[0], r[1]])
                        .collect();
                    p.points(
                        Points::new(format!("particles at t = {}", run.timesteps[i]), pts)
                            .radius(1.5)
                            .color(INK_OVER_IMAGE),
                    );
                }
                editor.draw(p, ctx);
            });
        commands.extend(editor.respond(ui, &cloud, ctx));
        None
    }
}

/// The particle plots of A and B together, as a lesson refers to them (see
/// [`Target::Plot`]).
pub const PARTICLES: &str = focus::key::REVERSE_PARTICLES;
/// The two quality figures together.
pub const QUALITY: &str = focus::key::REVERSE_QUALITY;
/// The key of the line of each side's log-likelihood gap under the particles.
pub const GAPS: &str = focus::key::REVERSE_GAPS;

/// "log p0 gap of the samples: A (K = 1000) 0.0123 ± 0.0200 nats; B (K = 10) 2.01 ±
/// 0.08 nats": each side's point of the quality figure at its own K, once computed.
fn gap_text(r: &ReverseResult) -> Option<String> {
    let quality = r.quality.as_deref()?;
    let parts: Vec<String> = (0..2)
        .filter_map(|side| {
            let k = r.job.configs[side].steps;
            let point = quality[side].iter().find(|p| p.steps == k)?;
            let g = point.quality.log_p0_gap;
            Some(format!(
                "{} (K = {k}) {} nats",
                SIDES[side],
                pm(g.mean, g.stderr)
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| format!("log p0 gap of the samples: {}", parts.join("; ")))
}

fn quality_plots(ui: &mut Ui, shown: Option<&ReverseResult>, h: f32, legends: bool) {
    let colours = side_colours(ui);
    let neutral = Palette::of_ui(ui).neutral;
    let quality = shown.and_then(|s| s.quality.as_deref());
    let configs = shown.map(|s| s.job.configs);
    let entropy = quality
        .and_then(|q| q[0].first())
        .map(|p| p.quality.data_entropy);
    let x_fmt = |mark: egui_plot::GridMark, _: &std::ops::RangeInclusive<f64>| {
        let v = 10f64.powf(mark.value);
        if (mark.value - mark.value.round()).abs() < 1e-9 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    let hover = |name: &str, p: &PlotPoint| {
        format!("{name}\nK = {:.0} steps\ny = {}", 10f64.powf(p.x), sci(p.y))
    };
    let caption = match entropy {
        Some(e) => format!(
            "Left: the gap -E log p0(samples) - H(p0) in nats, H(p0) = {} ± {} (0: as good as data). Right: energy distance D^2 = 2E|X-Y| - E|X-X'| - E|Y-Y'| to fresh data. Bars ±1 s.e., {} particles per K.",
            sci(e.mean),
            sci(e.stderr),
            super::super::jobs::reverse::QUALITY_PARTICLES
        ),
        None => "Sample quality against the number of sampling steps K (computing).".to_owned(),
    };
    let top = ui.cursor().min.y;
    ui.add(egui::Label::new(caption).wrap());
    // One legend above both figures (never over the points), its height taken from theirs.
    let side_name = |side: usize| {
        configs.map_or_else(
            || SIDES[side].to_owned(),
            |c| {
                let mut c = c[side];
                c.steps = 0;
                format!("{}: {}", SIDES[side], c.label().replace(" 0 steps", ""))
            },
        )
    };
    let mut entries: Vec<LegendEntry> = (0..2)
        .map(|side| LegendEntry::line(side_name(side), colours[side]))
        .collect();
    entries.push(LegendEntry::line("0: as good as data", neutral));
    legend_row(ui, legends, &entries);
    let h = (h - (ui.cursor().min.y - top)).max(60.0);
    ui.columns(2, |cols| {
        for (figure, y_label) in [(0, "gap (nats)"), (1, "D^2")] {
            let ui = &mut cols[figure];
            let half = ui.available_width();
            {
                plot(
                    &format!("reverse_quality_{figure}"),
                    "sampling steps K (log scale)",
                    y_label,
                )
                .height(h)
                .width(half)
                .x_axis_formatter(x_fmt)
                .label_formatter(move |hp| {
                    let (name, p) = match hp {
                        HoverPosition::NearDataPoint {
                            plot_name,
                            position,
                            ..
                        } => (*plot_name, position),
                        HoverPosition::Elsewhere { position } => ("", position),
                    };
                    Some(hover(name, p))
                })
                .include_y(0.0)
                .show(ui, |p| {
                    let Some(q) = quality else {
                        return;
                    };
                    for side in 0..2 {
                        let name = side_name(side);
                        let est = |pt: &elbo_core::sampler::QualityPoint| {
                            if figure == 0 {
                                pt.quality.log_p0_gap
                            } else {
                                pt.quality.energy_distance
                            }
                        };
                        let line: Vec<[f64; 2]> = q[side]
                            .iter()
                            .map(|pt| [(pt.steps as f64).log10(), est(pt).mean])
                            .collect();
                        p.line(
                            Line::new(name.clone(), line.clone())
                                .color(colours[side])
                                .width(2.0),
                        );
                        p.points(
                            Points::new(name.clone(), line)
                                .color(colours[side])
                                .radius(3.0),
                        );
                        for pt in &q[side] {
                            let (x, e) = ((pt.steps as f64).log10(), est(pt));
                            p.line(
                                Line::new(
                                    name.clone(),
                                    vec![[x, e.mean - e.stderr], [x, e.mean + e.stderr]],
                                )
                                .color(colours[side])
                                .width(1.0),
                            );
                        }
                    }
                    p.hline(
                        egui_plot::HLine::new("0: samples as good as data", 0.0).color(neutral),
                    );
                });
            }
        }
    });
}
