//! Snapshot images of every view for one 1D and one 2D preset, rendered with wgpu (Mesa
//! lavapipe in CI). `UPDATE_SNAPSHOTS=1 cargo test --test app_snapshots` rewrites the
//! references in `tests/snapshots/`. A missing GPU adapter fails the test: it never passes
//! silently.

use egui_kittest::{Harness, SnapshotResults};
use elbo_lab::app::App;
use elbo_lab::app::settings::{EvidenceStep, Settings, View};
use elbo_lab::presets::{DataPreset, DataSpec};

fn settings(preset: DataPreset, view: View) -> Settings {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.steps = 1000;
    s.samples = 512;
    s.t = 250;
    s.view = view;
    s
}

#[test]
fn every_view_in_1d_and_2d() {
    let mut results = SnapshotResults::new();
    for (preset, tag) in [(DataPreset::Bimodal, "1d"), (DataPreset::TwoMoons, "2d")] {
        for view in View::ALL {
            let s = settings(preset, view);
            let mut h = Harness::builder()
                .with_size([1280.0, 800.0])
                .wgpu()
                .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
            h.run_steps(3);
            assert!(h.state().has_full_elbo());
            results.add(h.try_snapshot(format!("{tag}_{}", view.slug())));
        }
    }
    results.unwrap();
}

/// The Evidence tab's grid steps on 1D data, and what they say on 2D data.
#[test]
fn the_evidence_steps() {
    let mut results = SnapshotResults::new();
    for (preset, step, name) in [
        (
            DataPreset::Bimodal,
            EvidenceStep::Diffusion,
            "1d_evidence_diffusion",
        ),
        (
            DataPreset::Bimodal,
            EvidenceStep::LogSnr,
            "1d_evidence_log_snr",
        ),
        (
            DataPreset::TwoMoons,
            EvidenceStep::Diffusion,
            "2d_evidence_diffusion",
        ),
    ] {
        let mut s = settings(preset, View::Evidence);
        s.toggles.evidence_step = step;
        let mut h = Harness::builder()
            .with_size([1280.0, 800.0])
            .wgpu()
            .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
        h.run_steps(3);
        assert_eq!(
            h.state().freshness(View::Evidence),
            elbo_lab::app::Freshness::Current
        );
        results.add(h.try_snapshot(name));
    }
    results.unwrap();
}
