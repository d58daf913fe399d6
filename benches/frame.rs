//! Frame time of the app's `ui`, headless through the kittest harness (no rendering):
//! the ELBO view and the 2D forward view at T = 1000. The computation is done before the
//! measurement (jobs run inline in the test app); what is timed is one frame of layout,
//! plot building and tessellation-free egui work, as while scrubbing a finished result.
//! The Evidence tab's three steps are timed the same way (its grids computed first).

use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use elbo_lab::app::App;
use elbo_lab::app::settings::{EvidenceStep, Settings, View};
use elbo_lab::presets::{DataPreset, DataSpec};

fn harness(preset: DataPreset, view: View, step: EvidenceStep) -> Harness<'static, App> {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.steps = 1000;
    s.samples = 1024;
    s.t = 500;
    s.view = view;
    s.toggles.evidence_step = step;
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
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
