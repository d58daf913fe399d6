//! Frame time of the app's `ui`, headless through the kittest harness (no rendering):
//! the ELBO view and the 2D forward view at T = 1000. The computation is done before the
//! measurement (jobs run inline in the test app); what is timed is one frame of layout,
//! plot building and tessellation-free egui work, as while scrubbing a finished result.
//! The Evidence tab's three steps are timed the same way (its grids computed first).
//!
//! The `edit_*` and `brush_*` rows time a frame of the Forward tab with the data editor in
//! the middle of a gesture (issue 11): a component's centre held and the pointer moving a
//! little every frame (so the draft, its handles and its dashed density change every
//! frame; nothing is computed until the release), or a brush stroke of 60 points in
//! progress with the pointer moving under the brush spacing (the stroke stays that long).
//!
//! The `forward_playing_1d*` rows time the timeline playing (issue 24) on an
//! `egui::Context` of its own, as eframe runs it: the default settings (1D bimodal, T =
//! 1000, the Forward tab, 100 steps/s), each frame advancing the clock, laying out the
//! app, running the work the new t asks for (inline) and tessellating what it drew.
//! `forward_playing_1d` is one such frame, each a thirtieth of a second after the last (the
//! app's pace while playing); `forward_playing_1d_second` plays one simulated second, the
//! next frame coming when the app asked for it (its repaint delay), at the next 60 Hz
//! refresh at the earliest and not before the frame's own work is done. It reports the
//! CPU time of that second (so the share of a core the app's work takes; drawing the
//! meshes on a GPU, or a software renderer, comes on top) and, on stderr, the steps per
//! second achieved and the frames drawn per second.

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};

use egui::{Event, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use egui_plot::{PlotMemory, PlotPoint};
use elbo_core::edit::EditableMixture;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::plot_util::plot_id;
use elbo_lab::app::settings::{EvidenceStep, Settings, StepPart, View};
use elbo_lab::app::views::editor::EditMode;
use elbo_lab::app::{App, Command};

fn harness(preset: DataPreset, view: View, step: EvidenceStep) -> Harness<'static, App> {
    harness_with(preset, view, step, StepPart::default())
}

fn harness_with(
    preset: DataPreset,
    view: View,
    step: EvidenceStep,
    part: StepPart,
) -> Harness<'static, App> {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.steps = 1000;
    s.samples = 1024;
    s.t = 500;
    s.view = view;
    s.toggles.evidence_step = step;
    s.toggles.step_part = part;
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
    h.run_steps(3);
    h
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    let none = EvidenceStep::default();
    for (name, preset, view, step) in [
        ("elbo_view_2d_T1000", DataPreset::TwoMoons, View::Elbo, none),
        ("elbo_view_1d_T1000", DataPreset::Bimodal, View::Elbo, none),
        (
            "forward_view_2d_T1000",
            DataPreset::TwoMoons,
            View::Forward,
            none,
        ),
        (
            "params_view_2d_T1000",
            DataPreset::TwoMoons,
            View::Params,
            none,
        ),
        (
            "evidence_vae",
            DataPreset::Bimodal,
            View::Evidence,
            EvidenceStep::Vae,
        ),
        (
            "evidence_diffusion_T1000",
            DataPreset::Bimodal,
            View::Evidence,
            EvidenceStep::Diffusion,
        ),
        (
            "evidence_log_snr_T1000",
            DataPreset::Bimodal,
            View::Evidence,
            EvidenceStep::LogSnr,
        ),
    ] {
        let mut h = harness(preset, view, step);
        group.bench_function(name, |b| b.iter(|| h.step()));
    }
    // The views that compute on the UI thread: the hierarchical VAE (cached by its inputs)
    // and the Denoising step tab's parts (each frame evaluates its closed forms at t).
    for (name, preset, view, step, part) in [
        (
            "evidence_hierarchical",
            DataPreset::Bimodal,
            View::Evidence,
            EvidenceStep::Hierarchical,
            StepPart::Tweedie,
        ),
        (
            "step_tweedie_1d_T1000",
            DataPreset::Bimodal,
            View::Step,
            none,
            StepPart::Tweedie,
        ),
        (
            "step_tweedie_2d_T1000",
            DataPreset::TwoMoons,
            View::Step,
            none,
            StepPart::Tweedie,
        ),
        (
            "step_kl_T1000",
            DataPreset::Bimodal,
            View::Step,
            none,
            StepPart::Kl,
        ),
        (
            "step_truth_T1000",
            DataPreset::Bimodal,
            View::Step,
            none,
            StepPart::Truth,
        ),
    ] {
        let mut h = harness_with(preset, view, step, part);
        group.bench_function(name, |b| b.iter(|| h.step()));
    }
    group.finish();
}

/// The Forward tab of `preset` in `mode`, with the primary button held on the plot: on
/// component 0's centre (edit mode) or at the left of the plot after a stroke of 60 points
/// painted left to right (brush). Returns the harness and the pointer position to jiggle
/// around.
fn gesture(preset: DataPreset, mode: EditMode) -> (Harness<'static, App>, Pos2) {
    let mut h = harness(preset, View::Forward, EvidenceStep::default());
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, Command::SetEditMode(mode));
    h.run_steps(2);
    let data = h.state().data().clone();
    let name = if data.dim() == 1 {
        "density_at_t"
    } else {
        "density_2d"
    };
    let tr = PlotMemory::load(&h.ctx, plot_id(name))
        .unwrap_or_else(|| panic!("plot {name} was drawn"))
        .transform();
    let press = |h: &mut Harness<'static, App>, pos: Pos2, pressed: bool| {
        h.event(Event::PointerButton {
            pos,
            button: PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
        h.run_steps(1);
    };
    let moved = |h: &mut Harness<'static, App>, pos: Pos2| {
        h.event(Event::PointerMoved(pos));
        h.run_steps(1);
    };
    if mode == EditMode::Brush {
        let frame = *tr.frame();
        let y = frame.center().y;
        let start = Pos2::new(frame.left() + 20.0, y);
        moved(&mut h, start);
        press(&mut h, start, true);
        let mut at = start;
        for _ in 0..60 {
            at += vec2(6.0, 0.0);
            moved(&mut h, at);
        }
        return (h, at);
    }
    let draft = EditableMixture::from_mixture(&data);
    let hd = draft.handles(0).expect("component 0");
    let c = hd.centre;
    let spot = if data.dim() == 1 {
        // The 1D centre handle sits on the component's weighted density at its mean.
        let sd = hd.axis1[0];
        [
            c[0],
            draft.weights()[0] / (sd * (2.0 * std::f64::consts::PI).sqrt()),
        ]
    } else {
        c
    };
    let pos = tr.position_from_point(&PlotPoint::new(spot[0], spot[1]));
    moved(&mut h, pos);
    press(&mut h, pos, true);
    // Past egui's drag threshold: the drag has started.
    let pos = pos + vec2(10.0, 0.0);
    moved(&mut h, pos);
    (h, pos)
}

/// One frame per iteration with the gesture of [`gesture`] going on: the pointer moves
/// by `step` points, back and forth.
fn gestures(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    for (name, preset, mode, step) in [
        (
            "edit_drag_1d",
            DataPreset::Bimodal,
            EditMode::Components,
            4.0,
        ),
        (
            "edit_drag_2d",
            DataPreset::EightGaussians,
            EditMode::Components,
            4.0,
        ),
        // Under the brush spacing (5 points): the stroke keeps its 60 points.
        ("edit_brush_1d", DataPreset::Bimodal, EditMode::Brush, 3.0),
    ] {
        let (mut h, pos) = gesture(preset, mode);
        let before = h.state().model.settings.data.clone();
        let mut flip = false;
        group.bench_function(name, |b| {
            b.iter(|| {
                flip = !flip;
                let at = if flip { pos + vec2(step, 0.0) } else { pos };
                h.event(Event::PointerMoved(at));
                h.step();
            })
        });
        // The gesture was live: its release changes the data.
        h.event(Event::PointerButton {
            pos,
            button: PointerButton::Primary,
            pressed: false,
            modifiers: Modifiers::NONE,
        });
        h.run_steps(2);
        let after = &h.state().model.settings.data;
        assert!(
            after.drawn.is_some() && *after != before,
            "{name}: the release did not apply a drawing (no gesture was in progress)"
        );
    }
    group.finish();
}

/// The refresh interval of the simulated display (60 Hz).
const VSYNC: f64 = 1.0 / 60.0;

/// The app at the default settings (1D bimodal, T = 1000, the Forward tab, 100 steps/s)
/// on a context of its own, its results in and the timeline playing.
struct Playing {
    ctx: egui::Context,
    app: App,
    /// The simulated clock (seconds).
    clock: f64,
}

impl Playing {
    fn new() -> Self {
        let ctx = egui::Context::default();
        let app = App::for_test(&ctx, Settings::default());
        let mut playing = Playing {
            ctx,
            app,
            clock: 0.0,
        };
        for _ in 0..3 {
            playing.frame(VSYNC);
        }
        let ctx = playing.ctx.clone();
        playing.app.apply(&ctx, Command::TogglePlay);
        playing.frame(VSYNC);
        assert!(playing.app.model.playing, "the timeline plays");
        playing
    }

    /// One frame `dt` seconds after the last, as eframe runs it: input, layout with the
    /// work it triggers (inline), tessellation. Returns when the app asked for the next
    /// frame (seconds from now).
    fn frame(&mut self, dt: f64) -> f64 {
        self.clock += dt;
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
            time: Some(self.clock),
            predicted_dt: VSYNC as f32,
            ..Default::default()
        };
        let app = &mut self.app;
        let mut output = self.ctx.run_ui(input, |ui| app.frame(ui));
        let meshes = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        // No renderer takes the texture updates here: dropped on purpose.
        output.textures_delta.clear();
        std::hint::black_box(meshes);
        output
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .map_or(f64::INFINITY, |v| v.repaint_delay.as_secs_f64())
    }
}

/// Playing the timeline in 1D: one frame, and one simulated second (see the module docs).
fn playing(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    let mut p = Playing::new();
    group.bench_function("forward_playing_1d", |b| b.iter(|| p.frame(1.0 / 30.0)));
    let (mut steps, mut simulated, mut cpu, mut frames) = (0usize, 0.0f64, 0.0f64, 0usize);
    let mut p = Playing::new();
    group.sample_size(10);
    group.bench_function("forward_playing_1d_second", |b| {
        b.iter_custom(|iters| {
            let mut busy = Duration::ZERO;
            for _ in 0..iters {
                let (t0, start) = (p.app.t(), p.clock);
                let mut dt = VSYNC;
                let mut wrapped = 0;
                while p.clock - start < 1.0 {
                    let before = p.app.t();
                    let now = Instant::now();
                    let next = p.frame(dt);
                    let took = now.elapsed();
                    busy += took;
                    frames += 1;
                    if p.app.t() < before {
                        wrapped += p.app.steps();
                    }
                    // The next frame comes when the app asked for it, once this one's
                    // work is done, at the next refresh at the earliest.
                    dt = took.as_secs_f64().max(next).max(VSYNC);
                }
                steps += p.app.t() + wrapped - t0;
                simulated += p.clock - start;
            }
            cpu += busy.as_secs_f64();
            busy
        })
    });
    group.finish();
    eprintln!(
        "forward_playing_1d_second: {:.1} steps/s at 100 steps/s; {:.0} frames/s; {:.2} cores on the UI thread",
        steps as f64 / simulated,
        frames as f64 / simulated,
        cpu / simulated
    );
}

criterion_group!(benches, frames, gestures, playing);
criterion_main!(benches);
