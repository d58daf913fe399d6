//! The analytic reverse variance (Bao et al. 2022) in the app: the side panel, the ELBO tab
//! and the Reverse tab.

use crate::common::app;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_core::elbo::Method;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::VarianceType;
use elbo_lab::app::App;
use elbo_lab::app::settings::{ElboForm, Settings, View};

fn settings(preset: DataPreset, method: Method) -> Settings {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.steps = 200;
    s.samples = 256;
    s.t = 50;
    s.view = View::Elbo;
    // The app computes eq. 58 by quadrature, and by Monte Carlo beside eq. 45.
    if method == Method::MonteCarlo {
        s.toggles.elbo_form = ElboForm::Consistency;
    }
    s
}

fn harness(s: Settings, size: [f32; 2], zoom: f32) -> Harness<'static, App> {
    app(s)
        .pixels(size[0], size[1])
        .zoom(zoom)
        .gpu(true)
        .steps(6)
        .build()
}

/// The side panel's radio picks analytic; the ELBO tab then lists the three NELBOs,
/// analytic marked as in use and lowest. `ELBO_LAB_SHOTS=DIR` saves what it drew.
#[test]
fn the_elbo_tab_shows_the_three_nelbos() {
    for (preset, method) in [
        (DataPreset::Bimodal, Method::Quadrature),
        (DataPreset::TwoMoons, Method::MonteCarlo),
    ] {
        for zoom in [1.0, 1.5] {
            let mut s = settings(preset, method);
            s.variance = VarianceType::Analytic;
            let mut h = harness(s, [1024.0, 768.0], zoom);
            // The side panel offers it as a radio button beside the fixed choices.
            assert!(
                h.query_by_role_and_label(Role::RadioButton, "analytic")
                    .is_some()
            );
            assert_eq!(h.state().model.settings.variance, VarianceType::Analytic);
            let r = h.state().elbo().map(|e| e.result.clone()).expect("ELBO");
            assert_eq!(r.variance, VarianceType::Analytic);
            assert_eq!(r.method, method);
            let by = r.nelbo_by_variance;
            let analytic = by.analytic.expect("analytic NELBO").mean;
            for v in [VarianceType::FixedSmall, VarianceType::FixedLarge] {
                let other = by.get(v).expect("fixed NELBO").mean;
                if method == Method::Quadrature {
                    assert!(analytic <= other, "{preset:?}: {analytic} vs {v} {other}");
                }
            }
            assert!(h.query_by_label("NELBO by reverse variance").is_some());
            assert!(h.query_by_label("analytic (in use)").is_some());
            // The radio button and the row of the NELBO table.
            assert_eq!(h.query_all_by_label("fixed_large").count(), 2);
            if let Ok(dir) = std::env::var("ELBO_LAB_SHOTS") {
                let image = h.render().expect("renders");
                image
                    .save(format!("{dir}/analytic_{preset:?}_{zoom}.png"))
                    .expect("saves");
            }
        }
    }
}

/// The Reverse tab's per-run variance offers analytic; a DDPM run under it samples
/// (the model's error at each visited t by quadrature over the data) with no error.
#[test]
fn the_reverse_tab_runs_ddpm_under_analytic() {
    let mut s = Settings::default();
    s.schedule.steps = 100;
    s.samples = 128;
    s.view = View::Reverse;
    s.reverse.b.kind = elbo_core::sampler::SamplerKind::Ddpm;
    s.reverse.b.steps = 20;
    let mut h = harness(s, [1024.0, 768.0], 1.0);
    h.get_by_label("Variance B").click();
    h.run_steps(2);
    // The combo's entry (a selectable, role Button; the side panel's radio is another node).
    h.get_by_role_and_label(Role::Button, "analytic").click();
    h.run_steps(4);
    let app = h.state();
    assert_eq!(
        app.model.settings.reverse.b.variance,
        VarianceType::Analytic
    );
    assert!(
        app.jobs.reverse.error().is_none(),
        "{:?}",
        app.jobs.reverse.error()
    );
    let shown = app.jobs.reverse.runs().expect("runs shown");
    assert_eq!(shown.job.configs[1].variance, VarianceType::Analytic);
    let run = &shown.runs[1];
    assert_eq!(run.timesteps.len(), 21);
    assert!(run.samples.iter().all(|v| v.is_finite()));
    let q = shown.quality.as_ref().expect("quality arrived");
    assert!(!q[1].is_empty());
    if let Ok(dir) = std::env::var("ELBO_LAB_SHOTS") {
        let image = h.render().expect("renders");
        image
            .save(format!("{dir}/analytic_reverse.png"))
            .expect("saves");
    }
}
