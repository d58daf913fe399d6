//! The "Reverse process" tab driven through its labelled widgets (egui_kittest, no
//! rendering): it samples with two settings from the same x_T, reacts to the sampler and
//! step controls, and fills the quality-vs-steps figure.

use crate::common::app;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_core::sampler::SamplerKind;
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
fn reverse_tab_samples_and_follows_the_controls() {
    let mut h = harness(small());
    h.get_by_label("Reverse process").click();
    h.run_steps(3);
    {
        let app = h.state();
        assert_eq!(app.model.settings.view, View::Reverse);
        let shown = app.jobs.reverse.runs().expect("runs arrived");
        let runs = &shown.runs;
        // Defaults: 1000 DDPM steps clipped to T = 100, and 10 DDIM steps; states x_T..x_0.
        assert_eq!(runs[0].timesteps.len(), 101);
        assert_eq!(runs[1].timesteps.len(), 11);
        assert_eq!(runs[0].states.len(), 101);
        // The same x_T for both settings.
        assert_eq!(runs[0].states[0], runs[1].states[0]);
        let q = shown.quality.as_ref().expect("quality arrived");
        assert_eq!(
            q[0].iter().map(|p| p.steps).collect::<Vec<_>>(),
            vec![1, 2, 5, 10, 20, 50, 100]
        );
    }

    h.get_by_role_and_label(Role::Slider, "Steps A")
        .set_value_accesskit(20.0);
    h.run_steps(3);
    assert_eq!(h.state().model.settings.reverse.a.steps, 20);
    let runs = &h.state().jobs.reverse.runs().expect("runs").runs;
    assert_eq!(runs[0].timesteps.len(), 21);

    h.get_by_label("Sampler B").click();
    h.run_steps(2);
    h.get_by_label("DDPM").click();
    h.run_steps(3);
    assert_eq!(h.state().model.settings.reverse.b.kind, SamplerKind::Ddpm);
    let configs = h
        .state()
        .jobs
        .reverse
        .runs()
        .expect("runs shown")
        .job
        .configs;
    assert_eq!(configs[1].kind, SamplerKind::Ddpm);
    // DDPM shows its variance choice instead of eta.
    let _ = h.get_by_label("Variance B");

    h.get_by_label("Show trajectories").click();
    h.run_steps(1);
    assert!(!h.state().model.settings.reverse.show_trajectories);
}
