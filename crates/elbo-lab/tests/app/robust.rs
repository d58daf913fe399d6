//! The app survives what broke it: data changing under a view that holds an older result,
//! a broken saved state, and training that used to restart every other view's work.

use std::sync::Arc;

use crate::common::app;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_core::param::Parameterisation;
use elbo_core::presets::DataPreset;
use elbo_lab::app::jobs::evidence::EvidenceDetail;
use elbo_lab::app::jobs::reverse::ReverseSizes;
use elbo_lab::app::settings::{Settings, View};
use elbo_lab::app::{App, AppOptions, Command, Freshness, Mode, ModelChoice};

/// Small settings so every computation is quick.
fn small() -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 100;
    s.samples = 128;
    s
}

fn harness(settings: Settings, mode: Mode) -> Harness<'static, App> {
    let options = AppOptions {
        mode,
        reverse_sizes: ReverseSizes::LIGHT,
        evidence_detail: EvidenceDetail::Light,
    };
    app(settings).options(options).build()
}

fn reverse_dim(app: &App) -> Option<usize> {
    app.jobs.reverse.runs().map(|r| r.runs[0].samples.ncols())
}

/// Defect: 1D reverse runs were drawn as 2D (index out of bounds) after picking a 2D
/// preset while the new runs were still being computed.
#[test]
fn a_2d_preset_under_older_1d_reverse_runs_does_not_crash() {
    let mut h = harness(small(), Mode::Deferred);
    h.get_by_label("Reverse process").click();
    h.run_steps(2);
    h.state().run_pending_jobs();
    h.run_steps(1);
    assert_eq!(reverse_dim(h.state()), Some(1));
    assert_eq!(h.state().freshness(View::Reverse), Freshness::Current);

    h.get_by_label("Data preset").click();
    h.run_steps(2);
    h.get_by_label("two-moons (2D)").click();
    // Several frames with the 1D runs still the latest result: they must not be drawn as 2D.
    h.run_steps(4);
    let app = h.state();
    assert_eq!(app.data().dim(), 2);
    assert_eq!(reverse_dim(app), Some(1), "the new runs are not in yet");
    assert_eq!(app.freshness(View::Reverse), Freshness::Computing);
    // The other views hold 1D results too, and must not draw them as 2D either.
    for view in [View::Forward, View::Params, View::Elbo] {
        h.get_by_label(view.label()).click();
        h.run_steps(2);
        assert_eq!(h.state().freshness(view), Freshness::Computing, "{view:?}");
    }
    h.get_by_label("Reverse process").click();
    h.run_steps(2);
    h.state().run_pending_jobs();
    h.run_steps(2);
    assert_eq!(reverse_dim(h.state()), Some(2));
    assert_eq!(h.state().freshness(View::Reverse), Freshness::Current);
    // And back to 1D, again with the 2D runs pending replacement.
    let ctx = h.ctx.clone();
    let mut data = h.state().model.settings.data.clone();
    data.spec = elbo_core::presets::DataSpec::new(DataPreset::Bimodal);
    h.state_mut().apply(&ctx, Command::SetData(data));
    h.run_steps(3);
    assert_eq!(h.state().data().dim(), 1);
    assert_eq!(reverse_dim(h.state()), Some(2));
}

/// Defect: a saved data file that no longer exists reset every setting, not only the data.
#[test]
fn a_missing_saved_data_file_resets_the_data_only() {
    let mut s = small();
    s.data.file = Some("/nonexistent/elbo-lab/points.csv".into());
    s.seed = 7;
    s.schedule.steps = 123;
    s.view = View::Schedule;
    s.zoom = 1.5;
    let h = harness(s, Mode::Inline);
    let app = h.state();
    assert_eq!(app.model.settings.data.file, None);
    assert_eq!(app.model.settings.seed, 7);
    assert_eq!(app.model.settings.schedule.steps, 123);
    assert_eq!(app.model.settings.view, View::Schedule);
    assert_eq!(app.model.settings.zoom, 1.5);
    assert_eq!(
        app.model.notes.restored.len(),
        1,
        "{:?}",
        app.model.notes.restored
    );
    assert!(app.model.notes.restored[0].contains("points.csv"));
    let mut h = h;
    h.get_by_label("Dismiss").click();
    h.run_steps(2);
    assert!(h.state().model.notes.restored.is_empty());
}

/// Defect: a bad zoom factor in egui's restored memory made every start panic.
#[test]
fn a_bad_restored_zoom_factor_is_reset() {
    for bad in [0.0, f32::NAN, 1000.0] {
        let mut h = Harness::builder()
            .with_size([1280.0, 800.0])
            .build_eframe(move |cc| {
                cc.egui_ctx.options_mut(|o| o.zoom_factor = bad);
                App::for_test(&cc.egui_ctx, small())
            });
        h.run_steps(2);
        assert_eq!(h.ctx.zoom_factor(), 1.0, "zoom {bad}");
        assert!(
            h.state()
                .model
                .notes
                .restored
                .iter()
                .any(|n| n.contains("zoom")),
            "zoom {bad}: {:?}",
            h.state().model.notes.restored
        );
    }
}

fn model_ptr(app: &App) -> *const () {
    Arc::as_ptr(&app.model.applied.inputs.model) as *const ()
}

/// Defect: with a trained model picked, every training snapshot restarted the reverse
/// runs (and the ELBO), so they never finished while training ran.
#[test]
fn training_offers_newer_networks_and_restarts_nothing() {
    let mut s = small();
    s.training.batch = 16;
    s.training.eval_every = 50;
    s.training.eval_samples = 64;
    let mut h = harness(s, Mode::Inline);
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label("Start training").click();
    let mut frames = 0;
    while h.state().training.models.is_empty() {
        h.run_steps(1);
        frames += 1;
        assert!(frames < 200, "no snapshot after 200 frames");
    }
    let first_step = h.state().training.models_step;
    h.get_by_label("Reverse process").click();
    h.run_steps(2);
    // The model section sits below the fold of the side panel at 800 px: fold the data
    // and schedule sections away, as a presenter would.
    for section in ["Data", "Schedule"] {
        h.get_by_role_and_label(Role::DisclosureTriangle, section)
            .click();
        h.run_steps(2);
    }
    h.get_by_role_and_label(Role::ComboBox, "Model").click();
    h.run_steps(2);
    h.get_by_label("trained eps").click();
    h.run_steps(2);
    assert_eq!(
        h.state().model.applied.model.trained.as_ref().map(|t| t.0),
        Some(Parameterisation::Eps)
    );
    let frozen = model_ptr(h.state());
    assert_eq!(h.state().freshness(View::Reverse), Freshness::Current);
    // Train on until a newer snapshot exists.
    while h.state().training.models_step == first_step {
        h.run_steps(1);
        frames += 1;
        assert!(frames < 400, "no second snapshot");
    }
    h.run_steps(2);
    let app = h.state();
    assert_eq!(model_ptr(app), frozen, "the frozen network stays in use");
    assert_eq!(app.freshness(View::Reverse), Freshness::Current);
    assert_eq!(app.freshness(View::Elbo), Freshness::Current);
    let shown = app.jobs.reverse.runs().expect("runs");
    assert_eq!(Arc::as_ptr(&shown.job.inputs.model) as *const (), frozen);
    // The newer networks are offered, and taken only when asked for.
    h.get_by_label("Use the newer networks").click();
    h.run_steps(2);
    let app = h.state();
    assert_ne!(model_ptr(app), frozen);
    assert_eq!(
        app.model.applied.model.trained.as_ref().map(|t| t.1),
        Some(app.training.models_step)
    );
    assert_eq!(app.freshness(View::Reverse), Freshness::Current);
    // Picking a closed-form model again leaves the trained one.
    let ctx = h.ctx.clone();
    h.state_mut().apply(
        &ctx,
        Command::SetModel(ModelChoice::Kind(elbo_core::denoiser::ModelKind::Optimal)),
    );
    h.run_steps(1);
    assert!(h.state().model.applied.model.trained.is_none());
}
