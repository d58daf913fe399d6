//! The reverse process: particles from N(0, I) moved to data by two sampler settings from
//! the same x_T, side by side; 1D over the density river, 2D over the data density; and
//! sample quality against the number of steps.

use egui::{Color32, Ui};
use egui_plot::{HoverPosition, Line, PlotPoint, Points};

use super::super::command::Command;
use super::super::inputs::Depends;
use super::super::plot_util::{PARAM_COLOURS, box_image, plane_plot, plot, sci, t_marker};
use super::super::reverse::{ReverseResult, TRAJECTORIES, state_index};
use super::{Shown, ViewCtx, dimmed_unless, formula};
use crate::sampler::{SampleRun, SamplerConfig, SamplerKind, Spacing, quality_step_counts};
use crate::schedule::VarianceType;

const SIDES: [&str; 2] = ["A", "B"];
const SIDE_COLOURS: [Color32; 2] = [PARAM_COLOURS.x0, PARAM_COLOURS.eps];

/// The Reverse process tab (no state of its own: the runs live in the app's
/// [`ReverseState`](super::super::reverse::ReverseState), polled every frame).
#[derive(Default)]
pub struct ReverseView;

impl ReverseView {
    /// Show the view.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let steps = ctx.steps();
        controls(ui, ctx, steps, &mut commands);
        if let Some(e) = &ctx.reverse.error {
            ui.colored_label(Color32::RED, e);
        }
        let shown = ctx.reverse();
        let h = ui.available_height();
        let w = ui.available_width();
        let top_h = (h * 0.6).max(160.0);
        let current = shown.as_ref().is_none_or(|s| s.current);
        dimmed_unless(ui, current, |ui| {
            ui.horizontal_top(|ui| {
                let half = ((w - 12.0) / 2.0).max(150.0);
                for side in 0..2 {
                    ui.vertical(|ui| {
                        ui.set_width(half);
                        particles_plot(ui, ctx, shown.as_ref(), side, half, top_h);
                    });
                }
            });
            quality_plots(
                ui,
                shown.as_ref().map(|s| s.value),
                w,
                (h - top_h - 48.0).max(100.0),
            );
        });
        commands
    }
}

fn controls(ui: &mut Ui, ctx: &ViewCtx<'_>, steps: usize, commands: &mut Vec<Command>) {
    let mut settings = ctx.settings.reverse.clone();
    for (side, name) in SIDES.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            let c: &mut SamplerConfig = if side == 0 {
                &mut settings.a
            } else {
                &mut settings.b
            };
            ui.label(egui::RichText::new(format!("Setting {name}:")).color(SIDE_COLOURS[side]));
            egui::ComboBox::from_label(format!("Sampler {name}"))
                .selected_text(c.kind.name().to_uppercase())
                .show_ui(ui, |ui| {
                    for k in SamplerKind::ALL {
                        ui.selectable_value(&mut c.kind, k, k.name().to_uppercase());
                    }
                });
            let mut k = c.steps.clamp(1, steps.max(1));
            if ui
                .add(
                    egui::Slider::new(&mut k, 1..=steps.max(1))
                        .logarithmic(true)
                        .text(format!("Steps {name}")),
                )
                .changed()
            {
                c.steps = k;
            }
            egui::ComboBox::from_label(format!("Spacing {name}"))
                .selected_text(c.spacing.name())
                .show_ui(ui, |ui| {
                    for s in Spacing::ALL {
                        ui.selectable_value(&mut c.spacing, s, s.name());
                    }
                });
            match c.kind {
                SamplerKind::Ddim => {
                    ui.add(egui::Slider::new(&mut c.eta, 0.0..=1.0).text(format!("eta {name}")));
                }
                SamplerKind::Ddpm => {
                    egui::ComboBox::from_label(format!("Variance {name}"))
                        .selected_text(c.variance.name())
                        .show_ui(ui, |ui| {
                            for v in [VarianceType::FixedSmall, VarianceType::FixedLarge] {
                                ui.selectable_value(&mut c.variance, v, v.name());
                            }
                        });
                }
            }
        });
    }
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut settings.show_trajectories, "Show trajectories");
        if ctx.reverse.is_busy() {
            ui.spinner();
            ui.label(format!(
                "sampling: quality figure {} of {} step counts",
                ctx.reverse.progress(),
                2 * quality_step_counts(steps).len()
            ));
        }
        ui.label("Timeline: t = 1 shows the samples x_0; Play runs t down from T.");
    });
    formula(
        ui,
        "DDPM: x_s = mu~(x_t, x0_hat) + sigma z    DDIM (Song et al. 2021, eq. 12): x_s = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - sigma^2) eps_hat + sigma z",
    );
    if settings != ctx.settings.reverse {
        commands.push(Command::SetReverse(settings));
    }
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
    side: usize,
    w: f32,
    h: f32,
) {
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
    ui.label(egui::RichText::new(format!("{name}: {label}")).color(SIDE_COLOURS[side]));
    let run = shown.map(|s| &s.value.runs[side]);
    let show_trajectories = ctx.settings.reverse.show_trajectories;
    // The river behind a 1D run only when it is of the run's data and schedule.
    let river = ctx
        .statics
        .filter(|st| st.inputs.covers(own, Depends::DataSchedule))
        .and_then(|st| st.river.as_ref());
    let density = shown.and_then(|s| s.value.density.as_ref());
    if own.dim() == 1 {
        let [lo, hi] = vb[0];
        plot(&format!("reverse_river_{name}"), "timestep t", "x")
            .height(h)
            .width(w)
            .include_x(0.0)
            .include_x(t_max as f64)
            .include_y(lo)
            .include_y(hi)
            .show(ui, |p| {
                if let Some(r) = river {
                    p.image(r.plot_image(t_max, lo, hi));
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
                                    .color(Color32::from_white_alpha(220))
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
                            .color(SIDE_COLOURS[side]),
                    );
                }
                p.vline(t_marker(t));
            });
    } else {
        plane_plot(&format!("reverse_cloud_{name}"), vb)
            .height(h)
            .width(w)
            .show(ui, |p| {
                if let Some(tex) = density {
                    p.image(box_image("data density p0 (log scale)", tex.id(), vb));
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
                                    .color(SIDE_COLOURS[side].gamma_multiply(0.8))
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
                            .color(Color32::WHITE),
                    );
                }
            });
    }
}

fn quality_plots(ui: &mut Ui, shown: Option<&ReverseResult>, w: f32, h: f32) {
    let half = ((w - 12.0) / 2.0).max(150.0);
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
    ui.horizontal_top(|ui| {
        for (figure, y_label) in [
            (0, "-mean log p0(samples) - H(p0)  [nats]"),
            (1, "energy distance D^2 to data"),
        ] {
            ui.vertical(|ui| {
                ui.set_width(half);
                plot(
                    &format!("reverse_quality_{figure}"),
                    "sampling steps K (log scale)",
                    y_label,
                )
                .height(h)
                .width(half)
                // Top right: the worst (fewest-steps) points are top left.
                .legend(egui_plot::Legend::default().position(egui_plot::Corner::RightTop))
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
                        let name = configs.map_or_else(
                            || SIDES[side].to_owned(),
                            |c| {
                                let mut c = c[side];
                                c.steps = 0;
                                format!("{}: {}", SIDES[side], c.label().replace(" 0 steps", ""))
                            },
                        );
                        let est = |pt: &crate::sampler::QualityPoint| {
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
                                .color(SIDE_COLOURS[side])
                                .width(2.0),
                        );
                        p.points(
                            Points::new(name.clone(), line)
                                .color(SIDE_COLOURS[side])
                                .radius(3.0),
                        );
                        for pt in &q[side] {
                            let (x, e) = ((pt.steps as f64).log10(), est(pt));
                            p.line(
                                Line::new(
                                    name.clone(),
                                    vec![[x, e.mean - e.stderr], [x, e.mean + e.stderr]],
                                )
                                .color(SIDE_COLOURS[side])
                                .width(1.0),
                            );
                        }
                    }
                    p.hline(
                        egui_plot::HLine::new("0: samples as good as data", 0.0)
                            .color(Color32::GRAY),
                    );
                });
            });
        }
    });
    if let Some(h) = entropy {
        ui.label(format!(
            "Left: -E log p0(samples) - H(p0), H(p0) = {} +- {} (0 = as good as data). Right: energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| to fresh data (U-statistic, 8 batches). Bars +-1 s.e., {} particles per K.",
            sci(h.mean),
            sci(h.stderr),
            super::super::reverse::QUALITY_PARTICLES
        ));
    }
}
