//! The Evidence tab (issue 10) in the app: the numbers it shows are the library's, its
//! results are drawn only while they belong to the current inputs, and on 2D data its grid
//! steps say why they need 1D data.

use crate::common::app;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_core::continuous::log_snr_terms;
use elbo_core::elbo::{Control, ElboConfig, Method, compute_elbo};
use elbo_core::evidence::{EvidenceConfig, compute_evidence, reverse_variances};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, VarianceType};
use elbo_lab::app::jobs::evidence::{EvidenceDetail, EvidencePart, SWEEP_STEPS};
use elbo_lab::app::jobs::reverse::ReverseSizes;
use elbo_lab::app::plot_util::sci;
use elbo_lab::app::settings::{DataSettings, EvidenceStep, Settings, View};
use elbo_lab::app::{App, AppOptions, Command, Freshness, Mode};

fn settings(preset: DataPreset, step: EvidenceStep, steps: usize) -> Settings {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.steps = steps;
    s.samples = 64;
    s.view = View::Evidence;
    s.toggles.evidence_step = step;
    s
}

fn harness(s: Settings, mode: Mode, detail: EvidenceDetail) -> Harness<'static, App> {
    let options = AppOptions {
        mode,
        reverse_sizes: ReverseSizes::LIGHT,
        evidence_detail: detail,
    };
    app(s).options(options).steps(3).build()
}

#[test]
fn the_diffusion_step_shows_the_librarys_evidence() {
    let mut h = harness(
        settings(DataPreset::Bimodal, EvidenceStep::Vae, 200),
        Mode::Inline,
        EvidenceDetail::Full,
    );
    // The VAE step asks for nothing; the diffusion step asks for the evidence.
    assert!(h.state().jobs.evidence.latest().is_none());
    h.get_by_label(EvidenceStep::Diffusion.label()).click();
    h.run_steps(3);
    assert_eq!(
        h.state().model.settings.toggles.evidence_step,
        EvidenceStep::Diffusion
    );
    assert_eq!(h.state().freshness(View::Evidence), Freshness::Current);

    let app = h.state();
    let data = app.data().clone();
    let schedule = app.schedule().clone();
    let shown = app
        .jobs
        .evidence
        .of(&app.evidence_key())
        .expect("results of the current inputs");
    let (r, preview) = shown.evidence.as_ref().expect("the evidence");
    assert!(!preview, "the full result replaces the preview");
    // The same computation as the library's, to the last bit.
    let model = elbo_core::denoiser::ModelKind::Optimal.build(&data);
    let sigma2 = reverse_variances(&schedule, VarianceType::FixedSmall);
    let lib = compute_evidence(
        &data,
        &schedule,
        model.as_ref(),
        &sigma2,
        &EvidenceConfig::default(),
        Control::default(),
    )
    .expect("evidence");
    assert_eq!(r.nelbo, lib.nelbo);
    assert_eq!(r.model_nll, lib.model_nll);
    assert_eq!(r.points, lib.points);
    // Its NELBO is the ELBO tab's (quadrature) within their errors.
    let config = ElboConfig {
        samples: 64,
        seed: 0,
        variance: VarianceType::FixedSmall,
        consistency: false,
        method: Method::Quadrature,
    };
    let elbo = compute_elbo(
        &data,
        &schedule,
        model.as_ref(),
        &config,
        Control::default(),
    )
    .expect("elbo");
    assert!(
        (r.nelbo.value - elbo.nelbo.mean).abs() <= r.nelbo.error + elbo.nelbo.stderr + 1e-9,
        "{:?} vs {:?}",
        r.nelbo,
        elbo.nelbo
    );
    // The decomposition holds and is on screen.
    let sum = r.data_entropy.value + r.kl_data_model.value + r.mean_bound_gap.value;
    assert!((sum - r.nelbo.value).abs() < 1e-9);
    assert!(r.kl_data_model.value >= -r.kl_data_model.error);
    assert!(r.mean_bound_gap.value > 0.0);
    let nelbo_text = format!("{} ± {}", sci(r.nelbo.value), sci(r.nelbo.error));
    assert!(
        h.query_by_label(&nelbo_text).is_some(),
        "the NELBO {nelbo_text} is shown"
    );

    // Every T of the decomposition against T is in; at T = 200 (this schedule) it is the
    // evidence above.
    let app = h.state();
    let shown = app.jobs.evidence.of(&app.evidence_key()).expect("results");
    assert!(shown.sweep_done);
    let ts: Vec<usize> = shown.sweep.iter().map(|p| p.steps).collect();
    assert_eq!(ts, SWEEP_STEPS);
    let at_200 = shown
        .sweep
        .iter()
        .find(|p| p.steps == 200)
        .expect("T = 200");
    assert_eq!(at_200.nelbo, lib.nelbo);
    for p in &shown.sweep {
        assert!(
            p.gap.value >= -p.gap.error,
            "T = {}: gap {:?}",
            p.steps,
            p.gap
        );
        assert!(
            p.kl.value >= -p.kl.error - 1e-9,
            "T = {}: KL {:?}",
            p.steps,
            p.kl
        );
    }
    // More steps bring the linear family's NELBO down from T = 2 on.
    for w in shown.sweep[1..].windows(2) {
        assert!(w[1].nelbo.value < w[0].nelbo.value, "{:?}", w);
    }
}

#[test]
fn the_log_snr_step_shows_every_preset_and_the_convergence() {
    let mut h = harness(
        settings(DataPreset::Bimodal, EvidenceStep::LogSnr, 100),
        Mode::Inline,
        EvidenceDetail::Light,
    );
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.freshness(View::Evidence), Freshness::Current);
    let shown = app.jobs.evidence.of(&app.evidence_key()).expect("results");
    let view = shown.log_snr.as_ref().expect("the log-SNR view");
    // The current schedule (linear) first, then the three other presets.
    let presets: Vec<_> = view.curves.iter().map(|c| c.preset).collect();
    assert_eq!(presets[0], Some(BetaSchedule::Linear));
    assert!(view.curves[0].current);
    assert_eq!(view.curves.len(), BetaSchedule::ALL.len());
    // The current curve is the library's terms, per unit of log-SNR.
    let terms = log_snr_terms(app.data(), app.schedule(), Control::default()).expect("terms");
    assert_eq!(view.curves[0].points.len(), terms.len());
    for (p, t) in view.curves[0].points.iter().zip(&terms) {
        assert_eq!(p[1], t.per_log_snr.expect("finite"));
    }
    // NELBO(T) of the four shapes at T = 2..50 (light detail), never below the limit.
    let c = view.convergence.as_ref().expect("convergence");
    assert_eq!(c.shapes.len(), 4);
    for s in &c.shapes {
        let ts: Vec<usize> = s.nelbo.iter().map(|p| p.0).collect();
        assert_eq!(ts, [2, 5, 10, 20, 50]);
        for (t, n) in &s.nelbo {
            assert!(
                *n >= c.limit_nelbo() - c.limit.error,
                "{:?} T = {t}",
                s.shape
            );
        }
    }
    assert!(
        h.query_by_label_contains("Where the curves differ")
            .is_some(),
        "the notes on where the curves differ are shown"
    );
}

#[test]
fn results_of_older_inputs_are_never_taken_for_current_ones() {
    let mut h = harness(
        settings(DataPreset::Bimodal, EvidenceStep::Diffusion, 50),
        Mode::Deferred,
        EvidenceDetail::Light,
    );
    assert_eq!(h.state().freshness(View::Evidence), Freshness::Computing);
    assert!(h.state().run_pending_jobs());
    h.run_steps(2);
    assert_eq!(h.state().freshness(View::Evidence), Freshness::Current);
    let old_nelbo = {
        let app = h.state();
        let s = app.jobs.evidence.of(&app.evidence_key()).expect("results");
        s.evidence.as_ref().expect("evidence").0.nelbo
    };
    // New data: the old result stays on screen (dimmed) but is not current.
    let data = DataSettings {
        spec: DataSpec::new(DataPreset::Skewed),
        ..DataSettings::default()
    };
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, Command::SetData(data));
    h.run_steps(2);
    {
        let app = h.state();
        assert_eq!(app.freshness(View::Evidence), Freshness::Computing);
        assert!(app.jobs.evidence.of(&app.evidence_key()).is_none());
        assert!(
            app.jobs.evidence.latest().is_some(),
            "the old result is still drawn"
        );
    }
    assert!(h.state().run_pending_jobs());
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.freshness(View::Evidence), Freshness::Current);
    let s = app
        .jobs
        .evidence
        .of(&app.evidence_key())
        .expect("new results");
    assert_ne!(s.evidence.as_ref().expect("evidence").0.nelbo, old_nelbo);
    // And the analytic variance is a new key whose NELBO is below fixed_small's.
    let fixed_small = s.evidence.as_ref().expect("evidence").0.nelbo.value;
    let mut h = h;
    let ctx = h.ctx.clone();
    h.state_mut()
        .apply(&ctx, Command::SetVariance(VarianceType::Analytic));
    h.run_steps(1);
    assert_eq!(h.state().freshness(View::Evidence), Freshness::Computing);
    assert!(h.state().run_pending_jobs());
    h.run_steps(2);
    let app = h.state();
    let s = app
        .jobs
        .evidence
        .of(&app.evidence_key())
        .expect("analytic results");
    let analytic = s.evidence.as_ref().expect("evidence").0.nelbo.value;
    assert!(analytic < fixed_small, "{analytic} vs {fixed_small}");
}

#[test]
fn on_2d_data_the_grid_steps_say_why_and_compute_nothing() {
    for step in [EvidenceStep::Diffusion, EvidenceStep::LogSnr] {
        let h = harness(
            settings(DataPreset::TwoMoons, step, 50),
            Mode::Deferred,
            EvidenceDetail::Light,
        );
        assert!(
            h.query_by_label_contains("This part needs 1D data: the current data are 2D")
                .is_some()
        );
        let app = h.state();
        assert_eq!(app.freshness(View::Evidence), Freshness::Current);
        assert!(!app.jobs.evidence.is_busy());
        assert!(app.jobs.evidence.latest().is_none());
        // One click to 1D data, and the step computes.
        let mut h = h;
        h.get_by_label("Use the bimodal (1D) preset").click();
        h.run_steps(2);
        assert_eq!(h.state().data().dim(), 1);
        assert_eq!(h.state().freshness(View::Evidence), Freshness::Computing);
        assert!(h.state().run_pending_jobs());
        h.run_steps(2);
        assert_eq!(h.state().freshness(View::Evidence), Freshness::Current);
    }
}

#[test]
fn the_edges_of_the_schedule_leave_every_number_finite_or_say_why() {
    use elbo_lab::app::settings::ScheduleSettings;
    for (steps, rescale, beta_end) in [
        (1, false, 0.02),
        (2, false, 0.02),
        (50, true, 0.02),
        (50, false, 1e-5),
    ] {
        for step in [EvidenceStep::Diffusion, EvidenceStep::LogSnr] {
            let mut s = settings(DataPreset::Bimodal, step, steps);
            s.schedule = ScheduleSettings {
                steps,
                rescale_zero_snr: rescale,
                beta_start: 1e-6,
                beta_end,
                ..ScheduleSettings::default()
            };
            let mut h = harness(s, Mode::Inline, EvidenceDetail::Light);
            h.run_steps(2);
            let what = format!("T = {steps}, zero SNR {rescale}, beta_end {beta_end}, {step:?}");
            let app = h.state();
            assert_eq!(app.steps(), steps, "{what}");
            assert_ne!(app.freshness(View::Evidence), Freshness::Missing, "{what}");
            let shown = app.jobs.evidence.of(&app.evidence_key()).expect("results");
            if let Some((r, _)) = &shown.evidence {
                for v in [r.nelbo, r.model_nll, r.kl_data_model, r.mean_bound_gap] {
                    assert!(v.value.is_finite() && v.error.is_finite(), "{what}: {v:?}");
                }
            } else {
                assert!(shown.error(EvidencePart::Evidence).is_some(), "{what}");
            }
            let view = shown.log_snr.as_ref().expect("log-SNR view");
            for c in &view.curves {
                assert!(
                    c.points
                        .iter()
                        .all(|p| p[0].is_finite() && p[1].is_finite())
                );
            }
            // Zero terminal SNR: the last interval is unbounded, said and not drawn; the
            // shapes end at a stand-in log-SNR, said too.
            if rescale {
                assert_eq!(view.curves[0].undefined, 1, "{what}");
                assert!(view.convergence_note.is_some(), "{what}");
            }
            // T = 1: no denoising term and one endpoint: no shapes, and a note.
            if steps == 1 {
                assert!(view.curves[0].points.is_empty());
                assert!(view.convergence.is_none() && view.convergence_note.is_some());
            }
        }
    }
}
