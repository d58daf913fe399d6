//! The ELBO-optimal ("analytic") reverse variance (Bao et al. 2022, Analytic-DPM).
//!
//! For t >= 2 the model's own variance is `sigma*^2_t = sigma~2_t + E_t / d`, with
//! `E_t = E||mu~_t - mu_theta||^2 = c_x0(t)^2 E||x0 - x0_hat(x_t)||^2` and
//! `c_x0(t) = sqrt(abar_{t-1}) beta_t / (1 - abar_t)`; it minimises each `L_{t-1}`, which
//! becomes `(d/2) ln(1 + E_t / (d sigma~2_t))`. The decoder keeps beta_1.
//!
//! For a single Gaussian `N(m, s^2)` the optimal denoiser is affine and its error is
//! `mmse_t = s^2 (1 - abar_t) / (abar_t s^2 + 1 - abar_t)`, so every row and the NELBO are
//! closed form; they are written out here independently of the library.

use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{Control, ElboConfig, ElboResult, Method, compute_elbo, mse_x0_table};
use elbo_core::mixture::{GaussianMixture, LN_2PI};
use elbo_core::param::{analytic_loss, analytic_variance};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::sampler::{
    SampleControl, SamplerConfig, SamplerError, SamplerKind, Spacing, initial_noise, sample,
    sample_with_data,
};
use elbo_core::schedule::{BetaSchedule, NoiseSchedule, ScheduleSpec, VarianceType};

/// Closed form against the library (quadrature of a single Gaussian is held to 1e-11 of
/// each row; the closed-form model is exact): 1e-9 relative.
const REL_TOL: f64 = 1e-9;

const M: f64 = 0.5;
const S: f64 = 0.8;

fn gaussian_1d() -> GaussianMixture {
    GaussianMixture::gaussian(&[M], vec![vec![S * S]]).expect("valid Gaussian")
}

fn preset(p: DataPreset) -> GaussianMixture {
    DataSpec::new(p).build().expect("valid preset")
}

fn schedule(kind: BetaSchedule, steps: usize, rescale: bool) -> NoiseSchedule {
    let mut spec = ScheduleSpec::preset(kind, steps);
    spec.rescale_zero_snr = rescale;
    spec.build().expect("valid schedule")
}

fn run(
    data: &GaussianMixture,
    s: &NoiseSchedule,
    kind: ModelKind,
    variance: VarianceType,
    method: Method,
) -> ElboResult {
    let model = kind.build(data);
    let config = ElboConfig {
        samples: 4096,
        seed: 7,
        variance,
        consistency: false,
        method,
    };
    compute_elbo(data, s, model.as_ref(), &config, Control::default()).expect("valid ELBO inputs")
}

fn rel_close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(f64::MIN_POSITIVE)
}

/// sigma~2_t from the schedule's primitives.
fn posterior_var(s: &NoiseSchedule, t: usize) -> f64 {
    s.one_minus_abar(t - 1) / s.one_minus_abar(t) * s.beta(t)
}

/// `c_x0(t)^2 = abar_{t-1} beta_t^2 / (1 - abar_t)^2`.
fn c_x0_sq(s: &NoiseSchedule, t: usize) -> f64 {
    s.abar(t - 1) * s.beta(t).powi(2) / s.one_minus_abar(t).powi(2)
}

/// The optimal denoiser's error on N(M, S^2) at t.
fn mmse(s: &NoiseSchedule, t: usize) -> f64 {
    let (a, one_m) = (s.abar(t), s.one_minus_abar(t));
    S * S * one_m / (a * S * S + one_m)
}

/// The closed-form `sigma*^2_t` (t >= 2) of the optimal model on N(M, S^2).
fn exact_sigma2(s: &NoiseSchedule, t: usize) -> f64 {
    posterior_var(s, t) + c_x0_sq(s, t) * mmse(s, t)
}

/// The closed-form NELBO of the optimal model on N(M, S^2) under the analytic variance.
fn exact_nelbo(s: &NoiseSchedule) -> f64 {
    let t_max = s.steps();
    let b1 = s.beta(1);
    let l0 = mmse(s, 1) / (2.0 * b1) + 0.5 * (LN_2PI + b1.ln());
    let denoising: f64 = (2..=t_max)
        .map(|t| 0.5 * (exact_sigma2(s, t) / posterior_var(s, t)).ln())
        .sum();
    let abar_t = s.abar(t_max);
    let lt = 0.5 * (abar_t * (M * M + S * S - 1.0) - (-abar_t).ln_1p());
    l0 + denoising + lt
}

#[test]
fn gaussian_data_match_the_closed_form() {
    let data = gaussian_1d();
    for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
        for steps in [1000, 10] {
            let s = schedule(kind, steps, false);
            let want = exact_nelbo(&s);
            for model in ModelKind::ALL {
                let r = run(&data, &s, model, VarianceType::Analytic, Method::Quadrature);
                assert_eq!(r.variance, VarianceType::Analytic);
                assert!(
                    rel_close(r.nelbo.mean, want, REL_TOL),
                    "{kind:?} T={steps} {model:?}: NELBO {} vs closed form {want}",
                    r.nelbo.mean
                );
                let by = r.nelbo_by_variance.analytic.expect("analytic NELBO");
                assert_eq!(by.mean, r.nelbo.mean);
                assert_eq!(r.timesteps[0].sigma2, s.beta(1), "the decoder keeps beta_1");
                for row in &r.timesteps[1..] {
                    let t = row.t;
                    assert!(
                        rel_close(row.sigma2, exact_sigma2(&s, t), REL_TOL),
                        "{kind:?} T={steps} {model:?} t={t}: sigma*^2 {} vs {}",
                        row.sigma2,
                        exact_sigma2(&s, t)
                    );
                    assert!(row.sigma2 > posterior_var(&s, t));
                }
            }
        }
    }
}

#[test]
fn analytic_nelbo_is_below_both_fixed_choices_on_every_preset() {
    for p in [
        DataPreset::Bimodal,
        DataPreset::Skewed,
        DataPreset::Spike,
        DataPreset::TwoMoons,
    ] {
        let data = preset(p);
        for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
            let s = schedule(kind, 100, false);
            for model in ModelKind::ALL {
                let r = run(
                    &data,
                    &s,
                    model,
                    VarianceType::FixedSmall,
                    Method::Quadrature,
                );
                let by = r.nelbo_by_variance;
                let (small, large, analytic) = (
                    by.fixed_small.expect("fixed_small"),
                    by.fixed_large.expect("fixed_large"),
                    by.analytic.expect("analytic under quadrature"),
                );
                assert_eq!(small.mean, r.nelbo.mean, "the chosen one is the NELBO");
                for other in [small, large] {
                    let slack = analytic.stderr + other.stderr;
                    assert!(
                        analytic.mean <= other.mean + slack,
                        "{p:?} {kind:?} {model:?}: analytic {} above {} (slack {slack})",
                        analytic.mean,
                        other.mean
                    );
                }
                // Strictly below fixed_small wherever some model error is left (always
                // here: T = 100 is far from the continuous limit).
                assert!(
                    analytic.mean < small.mean - 1e-6,
                    "{p:?} {kind:?} {model:?}"
                );
                // The same number when analytic is the variance asked for.
                let ra = run(&data, &s, model, VarianceType::Analytic, Method::Quadrature);
                assert_eq!(ra.nelbo.mean, analytic.mean, "{p:?} {kind:?} {model:?}");
                assert_eq!(
                    ra.nelbo_by_variance.fixed_large.map(|e| e.mean),
                    Some(large.mean)
                );
            }
        }
    }
}

#[test]
fn every_analytic_row_obeys_the_log_identity() {
    for p in [DataPreset::Bimodal, DataPreset::TwoMoons] {
        let data = preset(p);
        let d = data.dim();
        let s = schedule(BetaSchedule::Linear, 100, false);
        for method in [Method::Quadrature, Method::MonteCarlo] {
            let r = run(
                &data,
                &s,
                ModelKind::Gaussian,
                VarianceType::Analytic,
                method,
            );
            for row in &r.timesteps[1..] {
                let t = row.t;
                let mse = row.mse_x0.expect("mse_x0");
                let e = c_x0_sq(&s, t) * mse;
                let pv = posterior_var(&s, t);
                let want = 0.5 * d as f64 * (1.0 + e / (d as f64 * pv)).ln();
                let loss = row.loss.expect("loss");
                assert!(
                    rel_close(loss, want, REL_TOL),
                    "{p:?} {method:?} t={t}: L = {loss}, (d/2) ln(1 + E/(d s~2)) = {want}"
                );
                assert!(rel_close(row.sigma2, pv + e / d as f64, REL_TOL), "t={t}");
                // The general form E / (2 sigma^2) + (d/2)(r - 1 - ln r) gives the same.
                let general = row.weight_x0.expect("w_x0") * mse + row.variance_part;
                assert!(rel_close(general, loss, 1e-8), "t={t}: {general} vs {loss}");
                assert!(rel_close(analytic_loss(&s, t, mse, d), loss, REL_TOL));
            }
        }
    }
}

#[test]
fn monte_carlo_uses_the_quadrature_variance_and_the_same_samples() {
    let data = preset(DataPreset::Bimodal);
    let s = schedule(BetaSchedule::Linear, 100, false);
    let model = ModelKind::Optimal.build(&data);
    let table = mse_x0_table(&data, &s, model.as_ref(), Control::default()).expect("table");
    let ra = run(
        &data,
        &s,
        ModelKind::Optimal,
        VarianceType::Analytic,
        Method::MonteCarlo,
    );
    let rs = run(
        &data,
        &s,
        ModelKind::Optimal,
        VarianceType::FixedSmall,
        Method::MonteCarlo,
    );
    for row in &ra.timesteps[1..] {
        let want = analytic_variance(&s, row.t, table[row.t - 1].value, 1);
        assert_eq!(row.sigma2, want, "t = {}: sigma*^2 from quadrature", row.t);
    }
    // Same samples: the fixed_small total of the analytic run is the fixed_small run's.
    let small = ra.nelbo_by_variance.fixed_small.expect("fixed_small");
    assert_eq!(small, rs.nelbo);
    assert!(
        rs.nelbo_by_variance.analytic.is_none(),
        "no quadrature pass unless asked"
    );
    // Unbiased for that variance: within error of the quadrature NELBO.
    let rq = run(
        &data,
        &s,
        ModelKind::Optimal,
        VarianceType::Analytic,
        Method::Quadrature,
    );
    let z = (ra.nelbo.mean - rq.nelbo.mean) / ra.nelbo.stderr;
    assert!(
        z.abs() < 4.5,
        "MC {} vs quadrature {}: z = {z}",
        ra.nelbo.mean,
        rq.nelbo.mean
    );
}

#[test]
fn edges_stay_finite() {
    let data = preset(DataPreset::Bimodal);
    let cases: Vec<(&str, NoiseSchedule)> = vec![
        ("T = 1", schedule(BetaSchedule::Linear, 1, false)),
        (
            "zero terminal SNR",
            schedule(BetaSchedule::SquaredcosCapV2, 1000, true),
        ),
        (
            "tiny betas",
            ScheduleSpec::custom(vec![1e-9; 10])
                .build()
                .expect("valid betas"),
        ),
    ];
    for (name, s) in &cases {
        assert!(name != &"zero terminal SNR" || s.terminal_abar() == 0.0);
        for method in Method::ALL {
            for model in ModelKind::ALL {
                let r = run(&data, s, model, VarianceType::Analytic, method);
                assert!(r.nelbo.mean.is_finite(), "{name} {method:?} {model:?}");
                let by = r.nelbo_by_variance;
                for v in VarianceType::ALL {
                    let e = by.get(v).expect("every choice computed");
                    assert!(e.mean.is_finite() && e.stderr.is_finite(), "{name} {v}");
                }
                for row in &r.timesteps {
                    assert!(
                        row.sigma2.is_finite() && row.sigma2 > 0.0,
                        "{name} t={}",
                        row.t
                    );
                    assert!(row.loss.is_some_and(f64::is_finite), "{name} t={}", row.t);
                }
                if method == Method::Quadrature {
                    let (a, small) = (
                        by.analytic.expect("analytic").mean,
                        by.fixed_small.expect("fixed_small").mean,
                    );
                    assert!(a <= small + 1e-12, "{name}: {a} vs {small}");
                }
            }
        }
    }
    // T = 1 has only the decoder: all three choices agree.
    let r = run(
        &data,
        &cases[0].1,
        ModelKind::Optimal,
        VarianceType::Analytic,
        Method::Quadrature,
    );
    let by = r.nelbo_by_variance;
    assert_eq!(by.analytic, by.fixed_small);
    assert_eq!(by.analytic, by.fixed_large);
    // A zero error gives sigma~2_t, and a non-finite one is never propagated.
    let s = &cases[1].1;
    for t in [2, 500, 1000] {
        assert_eq!(analytic_variance(s, t, 0.0, 1), posterior_var(s, t));
        assert_eq!(analytic_variance(s, t, f64::NAN, 2), posterior_var(s, t));
    }
    assert_eq!(analytic_variance(s, 1, 3.0, 1), s.beta(1));
}

#[test]
fn the_sampler_adds_the_model_error_to_each_step() {
    let data = preset(DataPreset::Bimodal);
    let s = schedule(BetaSchedule::Linear, 1000, false);
    let model = ModelKind::Gaussian.build(&data);
    let config = SamplerConfig {
        kind: SamplerKind::Ddpm,
        steps: 20,
        spacing: Spacing::Trailing,
        variance: VarianceType::Analytic,
        ..SamplerConfig::default()
    };
    let x_t = initial_noise(4000, 1, 3);
    let e = sample(
        model.as_ref(),
        &s,
        &config,
        x_t.clone(),
        4,
        false,
        SampleControl::default(),
    );
    assert!(matches!(e, Err(SamplerError::AnalyticNeedsData)), "{e:?}");
    let spread = |variance: VarianceType| {
        let cfg = SamplerConfig { variance, ..config };
        let run = sample_with_data(
            model.as_ref(),
            &s,
            &cfg,
            Some(&data),
            x_t.clone(),
            4,
            false,
            SampleControl::default(),
        )
        .expect("runs");
        assert!(run.samples.iter().all(|v| v.is_finite()));
        run.samples.var(0.0)
    };
    // The same noise draws scaled by larger sds: the samples spread more.
    let (small, analytic) = (
        spread(VarianceType::FixedSmall),
        spread(VarianceType::Analytic),
    );
    assert!(
        analytic > small,
        "analytic var {analytic} vs fixed_small {small}"
    );
    // 2D data of another dimension than the model: a clear error, not a panic.
    let moons = preset(DataPreset::TwoMoons);
    let e = sample_with_data(
        model.as_ref(),
        &s,
        &config,
        Some(&moons),
        x_t,
        4,
        false,
        SampleControl::default(),
    );
    assert!(
        matches!(e, Err(SamplerError::DimensionMismatch { .. })),
        "{e:?}"
    );
}
