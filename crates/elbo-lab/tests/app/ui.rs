//! Drive the app through its labelled widgets (egui_kittest, no rendering) and check its state.

use crate::common::app;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_core::presets::DataPreset;
use elbo_core::schedule::BetaSchedule;
use elbo_lab::app::App;
use elbo_lab::app::settings::{Settings, View};

/// Small settings so every synchronous computation is quick.
fn small() -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 100;
    s.samples = 128;
    s
}

fn harness(settings: Settings) -> Harness<'static, App> {
    app(settings).build()
}

#[test]
fn switching_the_data_preset_rebuilds_the_data() {
    let mut h = harness(small());
    assert_eq!(h.state().data().dim(), 1);
    h.get_by_label("Data preset").click();
    h.run_steps(2);
    h.get_by_label("two-moons (2D)").click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.model.settings.data.spec.preset, DataPreset::TwoMoons);
    assert_eq!(app.data().dim(), 2);
    assert_eq!(app.elbo().map(|e| e.result.dim), Some(2));
}

#[test]
fn switching_the_schedule_and_t_rebuilds_the_schedule() {
    let mut h = harness(small());
    h.get_by_label("Schedule preset").click();
    h.run_steps(2);
    h.get_by_label("squaredcos_cap_v2").click();
    h.run_steps(2);
    assert_eq!(
        h.state().model.applied.schedule_settings.preset,
        BetaSchedule::SquaredcosCapV2
    );
    h.get_by_role_and_label(Role::Slider, "T")
        .set_value_accesskit(50.0);
    h.run_steps(2);
    assert_eq!(h.state().steps(), 50);
    assert_eq!(h.state().elbo().map(|e| e.result.steps), Some(50));
}

#[test]
fn play_and_step_move_t() {
    let mut h = harness(small());
    assert_eq!(h.state().t(), 1);
    h.get_by_label("Step forward").click();
    h.run_steps(1);
    assert_eq!(h.state().t(), 2);
    h.get_by_label("Play").click();
    h.run_steps(2);
    assert!(h.state().model.playing);
    assert!(h.state().t() > 2, "t = {}", h.state().t());
    h.get_by_label("Pause").click();
    h.run_steps(1);
    assert!(!h.state().model.playing);
    let t = h.state().t();
    h.get_by_label("Step back").click();
    h.run_steps(1);
    assert_eq!(h.state().t(), t - 1);
    h.get_by_label("Last").click();
    h.run_steps(1);
    assert_eq!(h.state().t(), 100);
}

#[test]
fn keyboard_plays_and_steps() {
    let mut h = harness(small());
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(1);
    assert_eq!(h.state().t(), 2);
    h.key_press(egui::Key::End);
    h.run_steps(1);
    assert_eq!(h.state().t(), 100);
    h.key_press(egui::Key::Home);
    h.run_steps(1);
    assert_eq!(h.state().t(), 1);
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    assert!(h.state().model.playing);
    h.key_press(egui::Key::Plus);
    h.run_steps(1);
    assert!((h.state().model.settings.zoom - 1.25).abs() < 1e-6);
}

#[test]
fn a_bad_file_shows_an_error_and_the_old_data_stay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"components": [{"weight": -1, "mean": [0], "cov": [[1]]}]}"#,
    )
    .expect("write");
    let mut h = harness(small());
    let before = h.state().data().clone();
    let field = h.get_by_role_and_label(Role::TextInput, "Data file path");
    field.focus();
    field.type_text(&bad.display().to_string());
    h.run_steps(1);
    h.get_by_label("Load data file").click();
    h.run_steps(2);
    let app = h.state();
    let error = app
        .model
        .notes
        .data_error
        .clone()
        .expect("an error is shown");
    assert!(error.contains("weight"), "{error}");
    assert_eq!(app.data(), &before);
    assert!(app.model.settings.data.file.is_none());
    // The error is on screen, in the controls.
    let _ = h.get_by_label_contains("Error:");
}

#[test]
fn a_bad_schedule_file_keeps_the_schedule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("scheduler_config.json");
    std::fs::write(
        &bad,
        r#"{"beta_schedule": "wiggly", "num_train_timesteps": 10}"#,
    )
    .expect("write");
    let mut h = harness(small());
    let field = h.get_by_role_and_label(Role::TextInput, "Schedule file path");
    field.focus();
    field.type_text(&bad.display().to_string());
    h.run_steps(1);
    h.get_by_label("Load schedule file").click();
    h.run_steps(2);
    let app = h.state();
    assert!(
        app.model
            .notes
            .schedule_error
            .as_deref()
            .is_some_and(|e| e.contains("wiggly"))
    );
    assert_eq!(app.steps(), 100);
}

#[test]
fn the_parameterisation_view_toggles_v() {
    let mut h = harness(small());
    h.get_by_label("Parameterisations").click();
    h.run_steps(2);
    assert_eq!(h.state().model.settings.view, View::Params);
    h.get_by_label("Show v-prediction column").click();
    h.run_steps(2);
    assert!(h.state().model.settings.toggles.show_v);
    let _ = h.get_by_label("v-prediction");
}

#[test]
fn every_view_opens_at_the_edges() {
    // T = 1 and a zero-terminal-SNR schedule: nothing panics, undefined values say so.
    let mut s = small();
    s.schedule.steps = 1;
    for view in View::ALL {
        s.view = view;
        let mut h = harness(s.clone());
        h.run_steps(2);
        assert_eq!(h.state().steps(), 1);
    }
    let mut s = small();
    s.schedule.rescale_zero_snr = true;
    s.t = 100;
    s.view = View::Schedule;
    let mut h = harness(s);
    h.run_steps(2);
    assert_eq!(h.state().schedule().abar(100), 0.0);
    // log-SNR = log(abar / (1 - abar)) is -inf there, said as such by the timeline and
    // the Schedule tab's numbers.
    assert_eq!(h.query_all_by_label_contains("log-SNR = -inf").count(), 2);
    assert_eq!(
        h.query_all_by_label_contains("log-SNR = undefined").count(),
        0
    );
}
