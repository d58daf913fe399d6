//! The Denoising step tab's second and third parts: one denoising term as a KL between two
//! Gaussians, and the true reverse step's split of the bound's gap. The numbers on screen
//! are the library's, and they add up as the identities say.

use crate::common::app;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::Control;
use elbo_core::evidence::model_variances;
use elbo_core::param::{Coeffs, PosteriorMean};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::reverse_step::{ReverseStepConfig, reverse_steps};
use elbo_core::schedule::{BetaSchedule, VarianceType};
use elbo_lab::app::jobs::evidence::EvidenceDetail;
use elbo_lab::app::jobs::reverse::ReverseSizes;
use elbo_lab::app::jobs::step::{VARIANCES, coarser};
use elbo_lab::app::plot_util::sci;
use elbo_lab::app::settings::{Settings, View};
use elbo_lab::app::views::step::StepPart;
use elbo_lab::app::{App, AppOptions, Command, Freshness, Mode};
use ndarray::Array2;

fn settings(preset: DataPreset, part: StepPart, steps: usize) -> Settings {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.preset = BetaSchedule::SquaredcosCapV2;
    s.schedule.steps = steps;
    s.samples = 64;
    s.view = View::Step;
    s.toggles.step_part = part;
    s
}

fn harness(s: Settings) -> Harness<'static, App> {
    let options = AppOptions {
        mode: Mode::Inline,
        reverse_sizes: ReverseSizes::LIGHT,
        evidence_detail: EvidenceDetail::Light,
    };
    app(s).options(options).steps(3).build()
}

/// The KL of the two Gaussians of one step, as the library's pieces give it.
fn kl(t: usize, x0: f64, xt: f64, h: &Harness<'static, App>) -> (f64, f64) {
    let app = h.state();
    let s = app.schedule();
    let pm = PosteriorMean::at(s, t);
    let model = ModelKind::Optimal.build(app.data());
    let x0_hat = model.predict_x0(s, t, Array2::from_elem((1, 1), xt).view())[[0, 0]];
    let post_var = s.posterior_variance(t);
    // fixed_small: the model's variance is the posterior's, so the variance part is 0.
    let mean_part = (pm.mean(x0, xt) - pm.mean(x0_hat, xt)).powi(2) / (2.0 * post_var);
    (mean_part, 0.0)
}

#[test]
fn one_step_shows_the_closed_form_kl_and_its_average_is_the_elbo_term() {
    let mut h = harness(settings(DataPreset::Bimodal, StepPart::Tweedie, 100));
    h.get_by_label(StepPart::Kl.label()).click();
    h.run_steps(2);
    assert_eq!(h.state().model.settings.toggles.step_part, StepPart::Kl);
    let t = 60;
    crate::common::apply(&mut h, Command::SetT(t));
    assert_eq!(h.state().freshness(View::Step), Freshness::Current);

    // The default pair: x0 at the heaviest component's mean (+1: the last of two equal
    // weights), x_t one noise sd from sqrt(abar_t) x0 toward the data's mean (0).
    let x0 = 1.0;
    let xt = Coeffs::at(h.state().schedule(), t).noise(x0, -1.0);
    let (m, v) = kl(t, x0, xt, &h);
    let text = format!(
        "KL = {} (means) + {} (variances) = {} nats",
        sci(m),
        sci(v),
        sci(m + v)
    );
    assert!(h.query_by_label(&text).is_some(), "{text} is on screen");

    // A drawn x_t changes the number.
    h.get_by_label("Draw x_t from q(x_t | x0)").click();
    h.run_steps(2);
    assert!(h.query_by_label(&text).is_none(), "a new x_t, a new KL");
    h.get_by_label("Reset x0 and x_t").click();
    h.run_steps(2);
    assert!(
        h.query_by_label(&text).is_some(),
        "reset brings the default pair back"
    );

    // The average of the KL over fresh pairs is the ELBO's L(t-1) within its standard error.
    h.get_by_label(&format!(
        "Average over {} draws",
        elbo_lab::app::views::step::kl::DRAWS
    ))
    .click();
    h.run_steps(2);
    let app = h.state();
    let elbo = app.jobs.elbo.table().expect("the ELBO table");
    let l = elbo.result.timesteps[t - 1].loss.expect("L(t-1)");
    let prefix = format!(
        "average of {} draws = ",
        elbo_lab::app::views::step::kl::DRAWS
    );
    let shown = h
        .query_all_by_label_contains(&prefix)
        .filter_map(|n| n.accesskit_node().label().or(n.value()))
        .find(|l| l.starts_with(&prefix))
        .expect("the average is shown");
    let nums: Vec<f64> = shown
        .trim_start_matches(&prefix)
        .trim_end_matches(" (1 s.e.)")
        .split(" ± ")
        .map(|s| s.parse().expect("a number"))
        .collect();
    assert!(nums[1] > 0.0);
    assert!(
        (nums[0] - l).abs() <= 4.0 * nums[1],
        "average {} ± {} against L(t-1) = {l}",
        nums[0],
        nums[1]
    );
}

#[test]
fn the_true_reverse_step_splits_the_gap_as_the_library_does() {
    let mut h = harness(settings(DataPreset::Bimodal, StepPart::Kl, 50));
    assert!(
        h.state().jobs.step.latest().is_none(),
        "part 2 asks for no job"
    );
    h.get_by_label(StepPart::Truth.label()).click();
    h.run_steps(3);
    assert_eq!(h.state().freshness(View::Step), Freshness::Current);

    let app = h.state();
    let data = app.data().clone();
    let schedule = app.schedule().clone();
    let shown = app
        .jobs
        .step
        .of(&app.step_key())
        .expect("the current results");
    let r = shown.model.as_ref().expect("the side panel's model");
    // The library's computation, to the last bit.
    let model = ModelKind::Optimal.build(&data);
    let sigma2 = model_variances(
        &data,
        &schedule,
        model.as_ref(),
        VarianceType::FixedSmall,
        Control::default(),
    )
    .expect("variances");
    let lib = reverse_steps(
        &data,
        &schedule,
        model.as_ref(),
        &sigma2,
        &ReverseStepConfig::preview(),
        Control::default(),
    )
    .expect("reverse steps");
    assert_eq!(**r, lib);
    // Its total is the ELBO's NELBO - H(p0) within their errors.
    let elbo = app.jobs.elbo.table().expect("the ELBO table");
    let gap = elbo.result.gap;
    assert!(
        (r.total.value - gap.mean).abs() <= r.total.error + gap.stderr + 1e-9,
        "{:?} against {:?}",
        r.total,
        gap
    );
    let text = format!(
        "KL(q(x_T) || p(x_T)) + sum of R_t = {} ± {}",
        sci(r.total.value),
        sci(r.total.error)
    );
    assert!(h.query_by_label(&text).is_some(), "{text} is on screen");

    // The optimal model under each variance: G_t is the same, and the analytic variance
    // (E v, the true step's average variance) leaves the least M_t at every t.
    let optimal = shown.optimal.as_ref().expect("the optimal model's rows");
    let kinds: Vec<VarianceType> = optimal.iter().map(|(v, _)| *v).collect();
    assert_eq!(kinds, VARIANCES);
    let analytic = &optimal[2].1;
    for (_, other) in &optimal[..2] {
        assert_eq!(other.non_gaussianity, analytic.non_gaussianity);
        for (a, o) in analytic.terms.iter().zip(&other.terms) {
            assert!(
                a.moment_mismatch.value
                    <= o.moment_mismatch.value + a.moment_mismatch.error + o.moment_mismatch.error,
                "t = {}: {:?} against {:?}",
                a.t,
                a.moment_mismatch,
                o.moment_mismatch
            );
        }
    }
    // The same path in fewer steps is further from Gaussian, and in T steps it is the
    // schedule itself.
    assert!(shown.family_done);
    let family = &shown.family;
    assert_eq!(family.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [10, 50]);
    assert!(family[0].1.value > 2.0 * family[1].1.value, "{family:?}");
    assert_eq!(family[1].1, r.non_gaussianity);
    let coarse = coarser(&schedule, 10).expect("10 steps");
    assert_eq!(coarse.abar(10), schedule.abar(50));
    assert_eq!(coarse.abar(1), schedule.abar(5));
}

#[test]
fn on_2d_data_the_grid_parts_say_why_and_tweedie_still_works() {
    for part in [StepPart::Kl, StepPart::Truth] {
        let mut h = harness(settings(DataPreset::TwoMoons, part, 50));
        assert!(
            h.query_by_label_contains("This part needs 1D data")
                .is_some(),
            "{part:?}"
        );
        assert!(
            h.state().jobs.step.latest().is_none(),
            "nothing is computed"
        );
        h.get_by_label("Use the bimodal (1D) preset").click();
        h.run_steps(3);
        assert_eq!(h.state().data().dim(), 1);
        assert!(
            h.query_by_label_contains("This part needs 1D data")
                .is_none()
        );
    }
}
