//! Start, pause and reset training through the Training view's labelled buttons (egui_kittest,
//! synchronous mode: the trainer takes a few steps per frame, no threads, no timing).

use crate::common::app;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_core::param::Parameterisation;
use elbo_lab::app::App;
use elbo_lab::app::settings::{Settings, View};

/// Small settings so every synchronous computation is quick.
fn small() -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 50;
    s.samples = 128;
    s.view = View::Training;
    s
}

fn harness() -> Harness<'static, App> {
    let mut settings = small();
    settings.training.batch = 32;
    settings.training.eval_every = 4;
    settings.training.eval_samples = 64;
    app(settings).build()
}

#[test]
fn start_and_pause_training_through_the_ui() {
    let mut h = harness();
    assert!(!h.state().training.running);
    assert_eq!(h.state().training.steps_done, 0);

    h.get_by_label("Start training").click();
    h.run_steps(4);
    let app = h.state();
    assert!(app.training.running);
    assert!(app.training.steps_done > 0);
    assert_eq!(app.training.params.len(), 3);
    assert!(
        app.training
            .history
            .iter()
            .all(|l| l.len() == app.training.steps_done)
    );

    h.get_by_label("Pause training").click();
    h.run_steps(2);
    let paused_at = h.state().training.steps_done;
    assert!(!h.state().training.running);
    h.run_steps(3);
    assert_eq!(
        h.state().training.steps_done,
        paused_at,
        "paused training must not step"
    );
    // Pausing evaluates the snapshot (inline in tests) and offers the networks as models.
    let app = h.state();
    let (step, eval) = app
        .training
        .evaluation
        .as_ref()
        .expect("evaluated on pause");
    assert_eq!(*step, paused_at);
    assert_eq!(eval.nets.len(), 3);
    assert_eq!(
        app.training.available(1),
        vec![
            Parameterisation::X0,
            Parameterisation::Eps,
            Parameterisation::Score
        ]
    );

    h.get_by_label("Resume training").click();
    h.run_steps(2);
    assert!(h.state().training.steps_done > paused_at);
    h.get_by_label("Pause training").click();
    h.run_steps(1);

    h.get_by_label("Reset training").click();
    h.run_steps(1);
    assert_eq!(h.state().training.steps_done, 0);
    assert!(h.state().training.models.is_empty());
}

#[test]
fn a_trained_network_can_be_picked_as_the_model() {
    let mut h = harness();
    h.get_by_label("Start training").click();
    h.run_steps(3);
    h.get_by_label("Pause training").click();
    h.run_steps(2);
    // Another view, so the Training view's plot legends are not on screen.
    h.get_by_label("Forward process").click();
    h.run_steps(2);
    // The model section sits below the fold of the side panel at 800 px: fold the data and
    // schedule sections away.
    for section in ["Data", "Schedule"] {
        h.get_by_role_and_label(Role::DisclosureTriangle, section)
            .click();
        h.run_steps(2);
    }
    h.get_by_role_and_label(Role::ComboBox, "Model").click();
    h.run_steps(2);
    h.get_by_label("trained eps").click();
    h.run_steps(3);
    let app = h.state();
    assert_eq!(
        app.model.settings.trained_model,
        Some(Parameterisation::Eps)
    );
    assert_eq!(app.model.applied.inputs.model.name(), "trained eps");
    assert_eq!(
        app.elbo().map(|e| e.result.model.as_str()),
        Some("trained eps")
    );
}
