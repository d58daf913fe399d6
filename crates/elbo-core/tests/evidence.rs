//! The evidence (issue 10 §2): the model's own marginal p_theta(x0) propagated on a grid,
//! the ELBO of each point, and NELBO - H(p0) = KL(p0 || p_theta) + mean bound gap.
//! Checked against closed forms on Gaussian data, against the report's quadrature NELBO on
//! mixtures, and through the `elbo-lab evidence` command.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{Control, ElboConfig, Method, compute_elbo};
use elbo_core::evidence::{
    EvidenceConfig, EvidenceError, compute_evidence, progress_total, reverse_variances,
};
use elbo_core::mixture::{Component, GaussianMixture};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, NoiseSchedule, ScheduleSpec, VarianceType};

fn schedule(kind: BetaSchedule, steps: usize) -> NoiseSchedule {
    ScheduleSpec::preset(kind, steps)
        .build()
        .expect("valid schedule")
}

fn preset(p: DataPreset) -> GaussianMixture {
    DataSpec::new(p).build().expect("preset builds")
}

fn gaussian(m: f64, v: f64) -> GaussianMixture {
    GaussianMixture::new(&[Component {
        weight: 1.0,
        mean: vec![m],
        cov: vec![vec![v]],
    }])
    .expect("valid")
}

/// Closed forms for Gaussian data N(m, v) and its optimal (affine) denoiser, written out
/// here from the schedule's betas alone.
struct GaussianTruth {
    /// Mean and variance of p_theta(x0).
    mean0: f64,
    var0: f64,
    /// Per t (index t - 1): (A_t, B_t) of x0_hat(x) = m + g_t (x - sqrt(abar_t) m) written
    /// as the reverse mean mu_t(x) = A_t + B_t x, g_t, abar_t, c_x0, sigma_t^2, r_t.
    rows: Vec<Row>,
    abar_t: f64,
    m: f64,
}

struct Row {
    g: f64,
    abar: f64,
    c_x0: f64,
    sigma2: f64,
    r: f64,
}

fn gaussian_truth(betas: &[f64], m: f64, v: f64, large: bool) -> GaussianTruth {
    let t_max = betas.len();
    // abar_t for t = 0..=T.
    let mut abar = vec![1.0];
    for b in betas {
        let last = *abar.last().expect("non-empty");
        abar.push(last * (1.0 - b));
    }
    let mut rows = Vec::new();
    for t in 1..=t_max {
        let (a, a_prev, beta) = (abar[t], abar[t - 1], betas[t - 1]);
        let g = a.sqrt() * v / (a * v + 1.0 - a);
        let c_x0 = a_prev.sqrt() * beta / (1.0 - a);
        let post = (1.0 - a_prev) / (1.0 - a) * beta;
        // The decoder (t = 1) and fixed_large use beta_t; fixed_small the posterior's.
        let sigma2 = if t == 1 || large { beta } else { post };
        rows.push(Row {
            g,
            abar: a,
            c_x0,
            sigma2,
            r: post / sigma2,
        });
    }
    // p(x_T) = N(0, 1); x_{t-1} = A_t + B_t x_t + sigma_t eps.
    let (mut mean, mut var) = (0.0, 1.0);
    for t in (1..=t_max).rev() {
        let (a, a_prev, beta) = (abar[t], abar[t - 1], betas[t - 1]);
        let row = &rows[t - 1];
        let c_xt = (1.0 - beta).sqrt() * (1.0 - a_prev) / (1.0 - a);
        let big_a = row.c_x0 * (m - row.g * a.sqrt() * m);
        let big_b = row.c_x0 * row.g + c_xt;
        mean = big_a + big_b * mean;
        var = big_b * big_b * var + row.sigma2;
    }
    GaussianTruth {
        mean0: mean,
        var0: var,
        rows,
        abar_t: abar[t_max],
        m,
    }
}

impl GaussianTruth {
    fn model_nll(&self, v: f64) -> f64 {
        let d = self.m - self.mean0;
        0.5 * (2.0 * std::f64::consts::PI * self.var0).ln() + (v + d * d) / (2.0 * self.var0)
    }

    /// NELBO(x0) when `v` is None, or its mean over N(m, v).
    fn nelbo(&self, x0: f64, v: Option<f64>) -> f64 {
        let sq = |k: f64| match v {
            // E (k (x0 - m))^2 over the data.
            Some(v) => k * k * v,
            None => k * k * (x0 - self.m) * (x0 - self.m),
        };
        let second = match v {
            Some(v) => self.m * self.m + v,
            None => x0 * x0,
        };
        let mut total = 0.5 * (self.abar_t * (second - 1.0) - (-self.abar_t).ln_1p());
        for (i, row) in self.rows.iter().enumerate() {
            // x0 - x0_hat = (1 - g sqrt(abar)) (x0 - m) - g sqrt(1 - abar) z.
            let err = sq(1.0 - row.g * row.abar.sqrt()) + row.g * row.g * (1.0 - row.abar);
            if i == 0 {
                total +=
                    0.5 * (2.0 * std::f64::consts::PI * row.sigma2).ln() + err / (2.0 * row.sigma2);
            } else {
                total += row.c_x0 * row.c_x0 * err / (2.0 * row.sigma2)
                    + 0.5 * (row.r - 1.0 - row.r.ln());
            }
        }
        total
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn gaussian_data_match_the_closed_forms() {
    let (m, v) = (0.5, 0.64);
    let data = gaussian(m, v);
    let model = ModelKind::Optimal.build(&data);
    for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
        let s = schedule(kind, 1000);
        let truth = gaussian_truth(s.betas(), m, v, false);
        let sigma2 = reverse_variances(&s, VarianceType::FixedSmall);
        let ev = compute_evidence(
            &data,
            &s,
            model.as_ref(),
            &sigma2,
            &EvidenceConfig::default(),
            Control::default(),
        )
        .expect("evidence");
        let want_nll = truth.model_nll(v);
        let want_nelbo = truth.nelbo(0.0, Some(v));
        assert!(
            rel(ev.model_nll.value, want_nll) < 1e-6,
            "{kind}: model_nll {} vs closed form {want_nll}",
            ev.model_nll.value
        );
        assert!(
            rel(ev.nelbo.value, want_nelbo) < 1e-6,
            "{kind}: NELBO {} vs closed form {want_nelbo}",
            ev.nelbo.value
        );
        let h = 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * v).ln();
        assert!(rel(ev.data_entropy.value, h) < 1e-9, "{kind}: H");
        assert!((ev.mass - 1.0).abs() < 1e-9, "{kind}: mass {}", ev.mass);
        // Per point: p_theta is N(mean0, var0) and NELBO(x0) is closed form.
        for p in ev.points.iter().step_by(10) {
            let d = p.x0 - truth.mean0;
            let want =
                -0.5 * (2.0 * std::f64::consts::PI * truth.var0).ln() - d * d / (2.0 * truth.var0);
            let nll = p.nll.expect("finite");
            assert!(rel(-nll, want) < 1e-6, "{kind}: log p_theta({})", p.x0);
            let want = truth.nelbo(p.x0, None);
            assert!(rel(p.nelbo, want) < 1e-6, "{kind}: NELBO({})", p.x0);
        }
        // The optimal model of Gaussian data is almost the data: KL tiny but not negative.
        assert!(ev.kl_data_model.value >= -ev.kl_data_model.error);
        assert!(ev.mean_bound_gap.value > 0.0);
    }
}

#[test]
fn gaussian_fit_model_and_fixed_large_match_the_closed_forms() {
    // The Gaussian-fit model of Gaussian data is the optimal one; under fixed_large the
    // variance part of each term is not zero.
    let (m, v) = (-0.3, 1.7);
    let data = gaussian(m, v);
    let model = ModelKind::Gaussian.build(&data);
    let s = schedule(BetaSchedule::Linear, 300);
    let truth = gaussian_truth(s.betas(), m, v, true);
    let sigma2 = reverse_variances(&s, VarianceType::FixedLarge);
    let ev = compute_evidence(
        &data,
        &s,
        model.as_ref(),
        &sigma2,
        &EvidenceConfig::default(),
        Control::default(),
    )
    .expect("evidence");
    assert!(rel(ev.model_nll.value, truth.model_nll(v)) < 1e-6);
    assert!(rel(ev.nelbo.value, truth.nelbo(0.0, Some(v))) < 1e-6);
}

/// The identities and the report's NELBO on the 1D mixture presets.
#[test]
fn mixtures_obey_the_identities_and_match_the_report() {
    for p in [DataPreset::Bimodal, DataPreset::Skewed, DataPreset::Spike] {
        let data = preset(p);
        let model = ModelKind::Optimal.build(&data);
        for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
            let s = schedule(kind, 1000);
            let sigma2 = reverse_variances(&s, VarianceType::FixedSmall);
            let ev = compute_evidence(
                &data,
                &s,
                model.as_ref(),
                &sigma2,
                &EvidenceConfig::default(),
                Control::default(),
            )
            .expect("evidence");
            let tag = format!("{p}/{kind}");
            assert!((ev.mass - 1.0).abs() < 1e-9, "{tag}: mass {}", ev.mass);
            // KL >= 0 and the mean gap >= 0, each up to its error.
            assert!(
                ev.kl_data_model.value >= -ev.kl_data_model.error,
                "{tag}: KL {:?}",
                ev.kl_data_model
            );
            assert!(
                ev.mean_bound_gap.value >= -ev.mean_bound_gap.error,
                "{tag}: gap {:?}",
                ev.mean_bound_gap
            );
            // Every per-point gap >= 0 up to that point's error.
            for pt in &ev.points {
                if let Some(g) = pt.gap() {
                    assert!(g >= -pt.nelbo_error - 1e-9, "{tag}: gap {g} at {}", pt.x0);
                }
            }
            // NELBO - H = KL + gap, to the error estimates.
            let lhs = ev.nelbo.value - ev.data_entropy.value;
            let rhs = ev.kl_data_model.value + ev.mean_bound_gap.value;
            assert!(
                (lhs - rhs).abs() <= ev.nelbo.error + ev.data_entropy.error + 1e-12,
                "{tag}: identity {lhs} vs {rhs}"
            );
            // H(p0) agrees with the quadrature module's; NELBO with the report's.
            let config = ElboConfig {
                method: Method::Quadrature,
                ..ElboConfig::default()
            };
            let rep = compute_elbo(&data, &s, model.as_ref(), &config, Control::default())
                .expect("report");
            let tol = ev.nelbo.error + rep.nelbo.stderr;
            assert!(
                (ev.nelbo.value - rep.nelbo.mean).abs() <= tol,
                "{tag}: NELBO {:?} vs report {:?}",
                ev.nelbo,
                rep.nelbo
            );
            let tol = ev.data_entropy.error + rep.data_entropy.stderr;
            assert!(
                (ev.data_entropy.value - rep.data_entropy.mean).abs() <= tol,
                "{tag}: H {:?} vs report {:?}",
                ev.data_entropy,
                rep.data_entropy
            );
            // The errors are small enough to mean something.
            assert!(ev.nelbo.error < 1e-4, "{tag}: {:?}", ev.nelbo);
            assert!(ev.model_nll.error < 1e-4, "{tag}: {:?}", ev.model_nll);
            eprintln!(
                "{tag}: nll {:?} H {:?} KL {:?} gap {:?} nelbo {:?} report {:?} mass {} grid {}",
                ev.model_nll,
                ev.data_entropy,
                ev.kl_data_model,
                ev.mean_bound_gap,
                ev.nelbo,
                rep.nelbo,
                ev.mass,
                ev.max_grid_points
            );
        }
    }
}

#[test]
fn two_dimensional_data_are_a_clear_error() {
    let data = preset(DataPreset::TwoMoons);
    let model = ModelKind::Optimal.build(&data);
    let s = schedule(BetaSchedule::Linear, 10);
    let err = compute_evidence(
        &data,
        &s,
        model.as_ref(),
        &reverse_variances(&s, VarianceType::FixedSmall),
        &EvidenceConfig::default(),
        Control::default(),
    )
    .expect_err("2D");
    assert_eq!(err, EvidenceError::NotOneDimensional(2));
    assert!(
        err.to_string()
            .starts_with("evidence is 1D only: the grid propagation")
    );
}

#[test]
fn bad_variances_and_settings_are_errors() {
    let data = preset(DataPreset::Bimodal);
    let model = ModelKind::Optimal.build(&data);
    let s = schedule(BetaSchedule::Linear, 10);
    let run = |sigma2: &[f64], config: &EvidenceConfig| {
        compute_evidence(
            &data,
            &s,
            model.as_ref(),
            sigma2,
            config,
            Control::default(),
        )
    };
    let good = reverse_variances(&s, VarianceType::FixedSmall);
    assert!(matches!(
        run(&good[..9], &EvidenceConfig::default()),
        Err(EvidenceError::BadVariances(_))
    ));
    let mut bad = good.clone();
    bad[4] = f64::NAN;
    assert!(matches!(
        run(&bad, &EvidenceConfig::default()),
        Err(EvidenceError::BadVariances(_))
    ));
    let config = EvidenceConfig {
        table_points: 1,
        ..EvidenceConfig::default()
    };
    assert!(matches!(
        run(&good, &config),
        Err(EvidenceError::BadConfig { .. })
    ));
}

#[test]
fn edges_t1_and_zero_terminal_snr_are_finite() {
    let data = preset(DataPreset::Bimodal);
    let model = ModelKind::Optimal.build(&data);
    // T = 1: only the decoder and the prior.
    let s = schedule(BetaSchedule::Linear, 1);
    let ev = compute_evidence(
        &data,
        &s,
        model.as_ref(),
        &reverse_variances(&s, VarianceType::FixedSmall),
        &EvidenceConfig::preview(),
        Control::default(),
    )
    .expect("T = 1");
    assert!(ev.nelbo.value.is_finite() && ev.model_nll.value.is_finite());
    assert!((ev.mass - 1.0).abs() < 1e-9);
    // abar_T = 0 exactly (rescaled to zero terminal SNR).
    let mut spec = ScheduleSpec::preset(BetaSchedule::Linear, 200);
    spec.rescale_zero_snr = true;
    let s = spec.build().expect("valid");
    assert_eq!(s.terminal_abar(), 0.0);
    let ev = compute_evidence(
        &data,
        &s,
        model.as_ref(),
        &reverse_variances(&s, VarianceType::FixedSmall),
        &EvidenceConfig::preview(),
        Control::default(),
    )
    .expect("zero terminal SNR");
    assert!(ev.nelbo.value.is_finite() && ev.model_nll.value.is_finite());
    assert!(ev.kl_data_model.value >= -ev.kl_data_model.error);
    assert!(ev.mean_bound_gap.value >= -ev.mean_bound_gap.error);
}

#[test]
fn progress_reaches_its_total_and_cancel_stops() {
    let data = preset(DataPreset::Bimodal);
    let model = ModelKind::Optimal.build(&data);
    let s = schedule(BetaSchedule::Linear, 50);
    let sigma2 = reverse_variances(&s, VarianceType::FixedSmall);
    let config = EvidenceConfig::preview();
    let most = AtomicUsize::new(0);
    let on_step = |d: usize| {
        most.fetch_max(d, Ordering::Relaxed);
    };
    compute_evidence(
        &data,
        &s,
        model.as_ref(),
        &sigma2,
        &config,
        Control {
            on_step: Some(&on_step),
            cancel: None,
        },
    )
    .expect("runs");
    assert_eq!(most.load(Ordering::Relaxed), progress_total(50, &config));
    let cancel = AtomicBool::new(true);
    let err = compute_evidence(
        &data,
        &s,
        model.as_ref(),
        &sigma2,
        &config,
        Control {
            on_step: None,
            cancel: Some(&cancel),
        },
    )
    .expect_err("cancelled");
    assert_eq!(err, EvidenceError::Cancelled);
}

#[test]
fn preview_is_close_to_the_full_computation() {
    let data = preset(DataPreset::Bimodal);
    let model = ModelKind::Gaussian.build(&data);
    let s = schedule(BetaSchedule::Linear, 1000);
    let sigma2 = reverse_variances(&s, VarianceType::FixedSmall);
    let run = |config: &EvidenceConfig| {
        compute_evidence(
            &data,
            &s,
            model.as_ref(),
            &sigma2,
            config,
            Control::default(),
        )
        .expect("runs")
    };
    let full = run(&EvidenceConfig::default());
    let preview = run(&EvidenceConfig::preview());
    // A worse model: the KL part is clearly positive.
    assert!(full.kl_data_model.value > 0.05, "{:?}", full.kl_data_model);
    for (a, b) in [
        (full.model_nll, preview.model_nll),
        (full.nelbo, preview.nelbo),
    ] {
        assert!(
            (a.value - b.value).abs() <= b.error + a.error,
            "{a:?} vs preview {b:?}"
        );
    }
}

#[test]
fn data_too_fine_for_their_width_are_an_error() {
    let data = GaussianMixture::new(&[
        Component {
            weight: 0.5,
            mean: vec![0.0],
            cov: vec![vec![1e-10]],
        },
        Component {
            weight: 0.5,
            mean: vec![1.0],
            cov: vec![vec![100.0]],
        },
    ])
    .expect("valid");
    let model = ModelKind::Optimal.build(&data);
    let s = schedule(BetaSchedule::Linear, 10);
    let err = compute_evidence(
        &data,
        &s,
        model.as_ref(),
        &reverse_variances(&s, VarianceType::FixedSmall),
        &EvidenceConfig::default(),
        Control::default(),
    )
    .expect_err("too fine");
    assert!(err.to_string().contains("too narrow"), "{err}");
}

/// The chain rule of KL over the reverse factorisation (elbo_core::reverse_step):
/// NELBO - H(p0) = KL(q(x_T) || N(0, 1)) + sum_t R_t, against the evidence's own NELBO and
/// H(p0), and R_t = G_t + M_t at every t, on the mixtures, both schedules, every variance
/// and both closed-form models.
#[test]
fn reverse_steps_sum_to_nelbo_minus_data_entropy() {
    use elbo_core::evidence::model_variances;
    use elbo_core::reverse_step::{ReverseStepConfig, non_gaussianity_total, reverse_steps_for};
    let kinds = [
        VarianceType::FixedSmall,
        VarianceType::FixedLarge,
        VarianceType::Analytic,
    ];
    for p in [DataPreset::Bimodal, DataPreset::Skewed, DataPreset::Spike] {
        let data = preset(p);
        for mk in [ModelKind::Optimal, ModelKind::Gaussian] {
            let model = mk.build(&data);
            for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
                let s = schedule(kind, 60);
                let vars: Vec<Vec<f64>> = kinds
                    .iter()
                    .map(|v| {
                        model_variances(&data, &s, model.as_ref(), *v, Control::default())
                            .expect("variances")
                    })
                    .collect();
                let steps = reverse_steps_for(
                    &data,
                    &s,
                    model.as_ref(),
                    &vars,
                    &ReverseStepConfig::default(),
                    Control::default(),
                )
                .expect("reverse steps");
                for ((sigma2, r), v) in vars.iter().zip(&steps).zip(kinds) {
                    let ev = compute_evidence(
                        &data,
                        &s,
                        model.as_ref(),
                        sigma2,
                        &EvidenceConfig::default(),
                        Control::default(),
                    )
                    .expect("evidence");
                    let lhs = ev.nelbo.value - ev.data_entropy.value;
                    let tol = ev.nelbo.error + ev.data_entropy.error + r.total.error;
                    assert!(
                        (lhs - r.total.value).abs() <= tol,
                        "{p}/{mk}/{kind}/{v}: NELBO - H = {lhs} vs prior KL + sum R = {:?} (tol {tol:e})",
                        r.total
                    );
                    // Per t: R_t = G_t + M_t, each >= 0, and the totals are their sums.
                    let tag = format!("{p}/{mk}/{kind}/{v}");
                    assert_eq!(r.model, mk.name());
                    for (i, term) in r.terms.iter().enumerate() {
                        assert_eq!(term.t, i + 1);
                        let (rr, g, m) =
                            (term.reverse_kl, term.non_gaussianity, term.moment_mismatch);
                        assert!(
                            (rr.value - g.value - m.value).abs() <= rr.error + g.error + m.error,
                            "{tag} t={}: {rr:?} {g:?} {m:?}",
                            term.t
                        );
                        assert!(g.value >= -g.error, "{tag} t={}: {g:?}", term.t);
                        assert!(m.value >= -m.error, "{tag} t={}: {m:?}", term.t);
                        assert!(rr.error < 1e-9 && g.error < 1e-9, "{tag}: {term:?}");
                    }
                    let sum_r: f64 = r.terms.iter().map(|x| x.reverse_kl.value).sum();
                    assert!((r.total.value - r.prior_kl.value - sum_r).abs() < 1e-12);
                    let sum_g: f64 = r.terms.iter().map(|x| x.non_gaussianity.value).sum();
                    assert!((r.non_gaussianity.value - sum_g).abs() < 1e-14);
                    // Each part is >= 0, and the non-Gaussian part no model removes.
                    assert!(r.prior_kl.value >= -r.prior_kl.error);
                    assert!(r.non_gaussianity.value >= -r.non_gaussianity.error);
                    assert!(r.moment_mismatch.value >= -r.moment_mismatch.error);
                    assert!(
                        lhs + tol >= r.prior_kl.value + r.non_gaussianity.value,
                        "{p}/{mk}/{kind}/{v}"
                    );
                }
                // The analytic variance leaves the least R_t at every t >= 2.
                for t in 2..=s.steps() {
                    let analytic = steps[2].terms[t - 1].reverse_kl;
                    for other in &steps[..2] {
                        let o = other.terms[t - 1].reverse_kl;
                        assert!(
                            analytic.value <= o.value + analytic.error + o.error,
                            "{p}/{mk}/{kind} t={t}"
                        );
                    }
                }
                // sum_t G_t needs no model: the same number without one.
                let g = non_gaussianity_total(
                    &data,
                    &s,
                    &ReverseStepConfig::default(),
                    Control::default(),
                )
                .expect("runs");
                assert!((g.value - steps[0].non_gaussianity.value).abs() < 1e-15);
            }
        }
    }
}
