//! Snapshot images of every view for one 1D and one 2D preset, rendered with wgpu (Mesa
//! lavapipe in CI). `UPDATE_SNAPSHOTS=1 cargo test -p elbo-lab --test app snapshots` rewrites the
//! references in `tests/snapshots/`. A missing GPU adapter fails the test: it never passes
//! silently.

use egui_kittest::{Harness, SnapshotResults};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::App;
use elbo_lab::app::settings::{EvidenceStep, Settings, View};
use elbo_lab::app::views::step::StepPart;

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

/// The app of `s` rendered at 1280x800, once its tab shows results of its inputs.
fn current_at_1280x800(s: Settings) -> Harness<'static, App> {
    let view = s.view;
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .wgpu()
        .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
    h.run_steps(3);
    assert_eq!(h.state().freshness(view), elbo_lab::app::Freshness::Current);
    h
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
        (
            DataPreset::Bimodal,
            EvidenceStep::Hierarchical,
            "1d_evidence_hierarchical",
        ),
    ] {
        let mut s = settings(preset, View::Evidence);
        s.toggles.evidence_step = step;
        results.add(current_at_1280x800(s).try_snapshot(name));
    }
    results.unwrap();
}

/// The Denoising step tab's second and third parts on 1D data (the first is in
/// [`every_view_in_1d_and_2d`]), at t = 250 with their default x0 and x_t.
#[test]
fn the_denoising_step_parts() {
    let mut results = SnapshotResults::new();
    for (part, name) in [
        (StepPart::Kl, "1d_step_kl"),
        (StepPart::Truth, "1d_step_truth"),
    ] {
        let mut s = settings(DataPreset::Bimodal, View::Step);
        s.toggles.step_part = part;
        results.add(current_at_1280x800(s).try_snapshot(name));
    }
    results.unwrap();
}

/// Where the plot `name` draws the data point `at`.
fn screen_at(h: &Harness<'static, App>, name: &str, at: [f64; 2]) -> egui::Pos2 {
    let mem = egui_plot::PlotMemory::load(&h.ctx, elbo_lab::app::plot_util::plot_id(name))
        .unwrap_or_else(|| panic!("plot {name} was not drawn"));
    mem.transform()
        .position_from_point(&egui_plot::PlotPoint::new(at[0], at[1]))
}

/// The edit mode of the data plots, one component selected (its width, and in 2D its
/// rotation, handles showing): 1D and 2D at 1280x800, and 1D on a projector.
#[test]
fn the_edit_mode() {
    use elbo_lab::app::command::Command;
    use elbo_lab::app::views::editor::EditMode;
    let mut results = SnapshotResults::new();
    for (preset, size, zoom, name) in [
        (DataPreset::Bimodal, [1280.0, 800.0], 1.0, "1d_edit_mode"),
        (
            DataPreset::EightGaussians,
            [1280.0, 800.0],
            1.0,
            "2d_edit_mode",
        ),
        (
            DataPreset::Bimodal,
            [1024.0, 768.0],
            1.5,
            "presenter_edit_mode",
        ),
    ] {
        let mut s = settings(preset, View::Forward);
        s.t = 1;
        s.presenter = zoom > 1.0;
        let mut h = Harness::builder()
            .with_size([size[0] / zoom, size[1] / zoom])
            .with_pixels_per_point(zoom)
            .wgpu()
            .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
        h.run_steps(3);
        let ctx = h.ctx.clone();
        h.state_mut()
            .apply(&ctx, Command::SetEditMode(EditMode::Components));
        h.run_steps(2);
        // Select the component of the data's first mean by a click on its centre.
        let data = h.state().data().clone();
        let (plot, at) = if data.dim() == 1 {
            let m = data.means()[0][0];
            let sd = data.covs()[0].xx.sqrt();
            let peak = data.weights()[0] / (sd * (2.0 * std::f64::consts::PI).sqrt());
            ("density_at_t", [m, peak])
        } else {
            ("density_2d", data.means()[0])
        };
        let pos = screen_at(&h, plot, at);
        h.event(egui::Event::PointerMoved(pos));
        h.run_steps(1);
        for pressed in [true, false] {
            h.event(egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::NONE,
            });
            h.run_steps(1);
        }
        h.run_steps(2);
        assert_eq!(
            h.state().data(),
            &data,
            "a click on a centre selects, no edit"
        );
        assert_eq!(h.state().window.edit_mode, EditMode::Components);
        results.add(h.try_snapshot(name));
    }
    results.unwrap();
}
