//! Property tests: any valid schedule and any small valid mixture give finite numbers or an
//! explicit `None` everywhere (never NaN, never a panic); invalid inputs give `Err`.

use proptest::prelude::*;

use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{Control, ElboConfig, ElboResult, Estimate, Method, compute_elbo};
use elbo_core::mixture::{Component, GaussianMixture};
use elbo_core::schedule::{
    BetaSchedule, BetaSource, NoiseSchedule, ScheduleSpec, VarianceType, rescale_zero_terminal_snr,
    sanity_findings,
};

/// Monte Carlo samples per case: enough to exercise every code path, small enough that the
/// file runs in seconds.
const SAMPLES: usize = 24;

/// One beta in (0, 1]: ordinary, log-uniform down to 1e-12, exactly 1e-12, or exactly 1.
fn beta() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 1e-4..0.2f64,
        2 => (-12.0..0.0f64).prop_map(|e| 10f64.powf(e)),
        1 => Just(1e-12),
        1 => 0.2..=1.0f64,
        1 => Just(1.0),
    ]
}

/// Betas for T = 1..=40, sometimes with a last beta of exactly 1 (abar_T = 0).
fn betas() -> impl Strategy<Value = Vec<f64>> {
    (prop::collection::vec(beta(), 1..=40), any::<bool>()).prop_map(|(mut b, zero_snr)| {
        if zero_snr && let Some(last) = b.last_mut() {
            *last = 1.0;
        }
        b
    })
}

/// A random SPD covariance: L L^T with L lower triangular, diagonal in [0.01, 2].
fn cov(dim: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    (0.01..2.0f64, 0.01..2.0f64, -1.0..1.0f64).prop_map(move |(a, b, c)| {
        if dim == 1 {
            vec![vec![a * a]]
        } else {
            vec![vec![a * a, a * c], vec![a * c, c * c + b * b]]
        }
    })
}

fn component(dim: usize) -> impl Strategy<Value = Component> {
    (
        0.01..10.0f64,
        prop::collection::vec(-3.0..3.0f64, dim),
        cov(dim),
    )
        .prop_map(|(weight, mean, cov)| Component { weight, mean, cov })
}

/// 1..=4 components in 1D or 2D.
fn components() -> impl Strategy<Value = Vec<Component>> {
    (1usize..=2).prop_flat_map(|dim| prop::collection::vec(component(dim), 1..=4))
}

fn ok_estimate(name: &str, e: &Estimate) -> Result<(), TestCaseError> {
    prop_assert!(e.mean.is_finite(), "{name}.mean = {}", e.mean);
    prop_assert!(
        e.stderr.is_finite() && e.stderr >= 0.0,
        "{name}.stderr = {}",
        e.stderr
    );
    Ok(())
}

fn ok_option(name: &str, t: usize, v: Option<f64>) -> Result<(), TestCaseError> {
    if let Some(x) = v {
        prop_assert!(
            x.is_finite(),
            "t = {t}: {name} = {x} (use None, not a non-finite value)"
        );
    }
    Ok(())
}

/// Every field of the result is finite or an explicit None.
fn check_result(r: &ElboResult, steps: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(r.steps, steps);
    prop_assert_eq!(r.timesteps.len(), steps);
    prop_assert!(
        r.prior_loss.is_finite() && r.prior_loss >= 0.0,
        "prior {}",
        r.prior_loss
    );
    for (name, e) in [
        ("reconstruction_loss", &r.reconstruction_loss),
        ("denoising_loss", &r.denoising_loss),
        ("nelbo", &r.nelbo),
        ("bits_per_dim", &r.bits_per_dim),
        ("data_entropy", &r.data_entropy),
        ("gap", &r.gap),
    ] {
        ok_estimate(name, e)?;
    }
    for (i, row) in r.timesteps.iter().enumerate() {
        let t = row.t;
        prop_assert_eq!(t, i + 1);
        prop_assert!(row.beta.is_finite() && row.beta > 0.0 && row.beta <= 1.0);
        prop_assert!(row.alpha_bar.is_finite() && (0.0..=1.0).contains(&row.alpha_bar));
        prop_assert!(row.variance_part.is_finite(), "t = {t}: variance part");
        prop_assert!(row.kurtosis.is_none_or(f64::is_finite), "t = {t}: kurtosis");
        for (name, v) in [
            ("log_snr", row.log_snr),
            ("loss", row.loss),
            ("stderr", row.stderr),
            ("mse_x0", row.mse_x0),
            ("mse_eps", row.mse_eps),
            ("mse_score", row.mse_score),
            ("mse_v", row.mse_v),
            ("mse_x0_stderr", row.mse_x0_stderr),
            ("mse_eps_stderr", row.mse_eps_stderr),
            ("mse_score_stderr", row.mse_score_stderr),
            ("mse_v_stderr", row.mse_v_stderr),
            ("weight_x0", row.weight_x0),
            ("weight_eps", row.weight_eps),
            ("weight_score", row.weight_score),
            ("weight_v", row.weight_v),
            ("consistency_loss", row.consistency_loss),
            ("consistency_stderr", row.consistency_stderr),
        ] {
            ok_option(name, t, v)?;
        }
        // Undefined exactly where the report format says (docs/report-format.md): log-SNR
        // and the eps/score weights at abar = 0.
        if row.alpha_bar > 0.0 {
            prop_assert!(row.log_snr.is_some(), "t = {t}: log_snr None at abar > 0");
        } else {
            prop_assert!(row.log_snr.is_none() && row.weight_eps.is_none());
        }
    }
    Ok(())
}

fn check_schedule(s: &NoiseSchedule) -> Result<(), TestCaseError> {
    for t in 0..=s.steps() {
        let a = s.abar(t);
        let om = s.one_minus_abar(t);
        prop_assert!(a.is_finite() && (0.0..=1.0).contains(&a), "abar_{t} = {a}");
        prop_assert!(
            om.is_finite() && (0.0..=1.0).contains(&om),
            "1 - abar_{t} = {om}"
        );
        prop_assert!(!s.snr(t).is_nan(), "snr_{t}");
        ok_option("log_snr", t, s.log_snr(t))?;
        if t >= 1 {
            let pv = s.posterior_variance(t);
            prop_assert!(pv.is_finite() && pv >= 0.0, "sigma~2_{t} = {pv}");
        }
    }
    if s.terminal_abar() == 0.0 {
        prop_assert!(s.log_snr(s.steps()).is_none());
    }
    let _ = sanity_findings(s, None);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_valid_schedules_are_finite(b in betas(), rescale in any::<bool>()) {
        let s = NoiseSchedule::from_betas(b.clone()).expect("betas in (0, 1] are valid");
        check_schedule(&s)?;
        // Zero-SNR rescaling either works (and ends at abar_T = 0 exactly) or is an Err.
        if rescale && let Ok(r) = rescale_zero_terminal_snr(&b) {
            let s = NoiseSchedule::from_betas(r).expect("rescaled betas are valid");
            check_schedule(&s)?;
            prop_assert_eq!(s.terminal_abar(), 0.0);
        }
    }

    #[test]
    fn random_preset_parameters_are_finite_or_err(
        kind in prop::sample::select(BetaSchedule::ALL.to_vec()),
        steps in 1usize..=300,
        start in prop_oneof![Just(1e-12), 1e-6..0.5f64, Just(1.0)],
        end in prop_oneof![Just(1e-12), 1e-6..0.5f64, Just(1.0)],
        rescale in any::<bool>(),
    ) {
        let spec = ScheduleSpec {
            source: BetaSource::Preset { schedule: kind, beta_start: start, beta_end: end },
            steps,
            rescale_zero_snr: rescale,
        };
        match spec.build() {
            Ok(s) => {
                prop_assert_eq!(s.steps(), steps);
                check_schedule(&s)?;
            }
            // Only rescaling can refuse valid parameters (T = 1, or abar_1 = abar_T).
            Err(e) => prop_assert!(rescale, "{} failed: {e}", spec.label()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_mixtures_and_schedules_give_finite_or_none(
        comps in components(),
        b in betas(),
        kind in prop::sample::select(ModelKind::ALL.to_vec()),
        large in any::<bool>(),
        consistency in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let data = GaussianMixture::new(&comps).expect("random components are valid");
        let s = NoiseSchedule::from_betas(b).expect("valid betas");
        let model = kind.build(&data);
        let config = ElboConfig {
            samples: SAMPLES,
            seed,
            variance: if large { VarianceType::FixedLarge } else { VarianceType::FixedSmall },
            consistency,
            method: Method::MonteCarlo,
        };
        let r = compute_elbo(&data, &s, model.as_ref(), &config, Control::default())
            .expect("valid inputs");
        check_result(&r, s.steps())?;
        if let Some(c) = &r.consistency {
            for (name, e) in [
                ("consistency.prior_loss", &c.prior_loss),
                ("consistency.reconstruction_loss", &c.reconstruction_loss),
                ("consistency.consistency_loss", &c.consistency_loss),
                ("consistency.nelbo", &c.nelbo),
            ] {
                ok_estimate(name, e)?;
            }
        }
        let _ = sanity_findings(&s, Some(&data));
    }

    #[test]
    fn invalid_betas_are_errors(
        mut b in prop::collection::vec(1e-4..0.5f64, 1..=20),
        bad in prop_oneof![
            Just(0.0), Just(-0.0), -10.0..-1e-300f64, 1.0000001..10.0f64,
            Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)
        ],
        at in any::<prop::sample::Index>(),
    ) {
        let i = at.index(b.len());
        b[i] = bad;
        let e = NoiseSchedule::from_betas(b.clone()).expect_err("a bad beta");
        prop_assert!(e.to_string().contains(&format!("betas[{i}]")), "{e}");
        prop_assert!(ScheduleSpec::custom(b).build().is_err());
    }

    #[test]
    fn invalid_mixtures_are_errors(
        mut comps in components(),
        which in 0usize..9,
        at in any::<prop::sample::Index>(),
    ) {
        let k = at.index(comps.len());
        let dim = comps[0].mean.len();
        let needle = match which {
            0 => { comps[k].weight = 0.0; "weight" }
            1 => { comps[k].weight = -1.5; "weight" }
            2 => { comps[k].weight = f64::NAN; "weight" }
            3 => { comps[k].mean[0] = f64::NAN; "mean" }
            4 => {
                // Not positive definite: a negative variance on the diagonal.
                comps[k].cov[0][0] = -comps[k].cov[0][0];
                "cov"
            }
            5 => {
                // Mixed dimensions: one component of the other dimension.
                let other = 3 - dim;
                comps.push(Component {
                    weight: 1.0,
                    mean: vec![0.0; other],
                    cov: if other == 1 { vec![vec![1.0]] } else { vec![vec![1.0, 0.0], vec![0.0, 1.0]] },
                });
                "mean"
            }
            6 => { comps.clear(); "no components" }
            7 => {
                if dim == 2 {
                    // Singular / indefinite: |off-diagonal| >= sqrt(xx yy).
                    let c = &mut comps[k].cov;
                    let off = 1.5 * (c[0][0] * c[1][1]).sqrt();
                    c[0][1] = off;
                    c[1][0] = off;
                } else {
                    comps[k].cov[0][0] = 0.0;
                }
                "cov"
            }
            _ => { comps[k].cov[0].push(0.5); "cov" }
        };
        let e = GaussianMixture::new(&comps).expect_err("invalid mixture");
        prop_assert!(e.to_string().contains(needle), "case {which}: '{e}' lacks '{needle}'");
    }
}

#[test]
fn bad_monte_carlo_settings_and_mismatched_models_are_errors() {
    let one = GaussianMixture::gaussian(&[0.0], vec![vec![1.0]]).expect("valid");
    let two = GaussianMixture::gaussian(&[0.0, 0.0], vec![vec![1.0, 0.0], vec![0.0, 1.0]])
        .expect("valid");
    let s = ScheduleSpec::preset(BetaSchedule::Linear, 10)
        .build()
        .expect("valid");
    let model = ModelKind::Optimal.build(&one);
    for samples in [0, 1] {
        let config = ElboConfig {
            samples,
            ..ElboConfig::default()
        };
        let e = compute_elbo(&one, &s, model.as_ref(), &config, Control::default())
            .expect_err("too few samples");
        assert!(e.to_string().contains(&format!("N = {samples}")), "{e}");
    }
    let e = compute_elbo(
        &two,
        &s,
        model.as_ref(),
        &ElboConfig::default(),
        Control::default(),
    )
    .expect_err("1D model on 2D data");
    assert!(
        e.to_string().contains("1D") && e.to_string().contains("2D"),
        "{e}"
    );
    // Three dimensions are not supported.
    let e = GaussianMixture::gaussian(&[0.0; 3], vec![vec![1.0; 3]; 3]).expect_err("3D");
    assert!(e.to_string().contains("dimension 3"), "{e}");
}
