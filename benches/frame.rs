//! Frame time of the app's `ui`, headless through the kittest harness (no rendering):
//! the ELBO view and the 2D forward view at T = 1000. The computation is done before the
//! measurement (jobs run inline in the test app); what is timed is one frame of layout,
//! plot building and tessellation-free egui work, as while scrubbing a finished result.

use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use elbo_lab::app::App;
use elbo_lab::app::settings::{Settings, View};
use elbo_lab::presets::{DataPreset, DataSpec};

fn harness(preset: DataPreset, view: View) -> Harness<'static, App> {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.steps = 1000;
    s.samples = 1024;
    s.t = 500;
    s.view = view;
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
    h.run_steps(3);
    h
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    for (name, preset, view) in [
        ("elbo_view_2d_T1000", DataPreset::TwoMoons, View::Elbo),
        ("elbo_view_1d_T1000", DataPreset::Bimodal, View::Elbo),
        ("forward_view_2d_T1000", DataPreset::TwoMoons, View::Forward),
        ("params_view_2d_T1000", DataPreset::TwoMoons, View::Params),
    ] {
        let mut h = harness(preset, view);
        group.bench_function(name, |b| b.iter(|| h.step()));
    }
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
