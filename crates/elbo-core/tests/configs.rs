//! Every real scheduler config in `tests/data`, read by what it is (issue 13): beta
//! schedules by their betas whatever the class, flow matching / EDM / Wuerstchen by their
//! SNR per training step. Each config's log-SNR endpoints are checked against values
//! computed here independently, from the formulas written out in each case.

use std::path::PathBuf;

use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{ElboConfig, compute_elbo};
use elbo_core::mixture::GaussianMixture;
use elbo_core::schedule::{
    BetaSchedule, BetaSource, EdmSigmas, LoadedSchedule, NoiseSchedule, PredictionType,
    ScheduleSpec, SnrProcess, load_schedule_file, parse_schedule_text, sanity_findings,
};
use proptest::prelude::*;

/// Log-SNR agreement between the library and the formulas here: both are f64 evaluations
/// of the same closed forms along different routes (a running product against sums of
/// log1p, sin against cos), so they agree to ~1e-12; 1e-9 leaves room and still catches
/// any wrong step, shift or endpoint (those move lambda by 1e-3 or more).
const LOG_SNR_TOL: f64 = 1e-9;

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join("data")
        .join(name)
}

fn load(name: &str) -> LoadedSchedule {
    match load_schedule_file(&data_file(name)) {
        Ok(l) => l,
        Err(e) => panic!("{name} should load: {e}"),
    }
}

fn build(spec: &ScheduleSpec) -> NoiseSchedule {
    match spec.build() {
        Ok(s) => s,
        Err(e) => panic!("{} should build: {e}", spec.label()),
    }
}

/// `lambda = ln(abar / (1 - abar))` from a plain product of `1 - beta_t` (the textbook
/// route, not the library's sum of log1p).
fn log_snr_by_product(betas: &[f64]) -> f64 {
    let abar: f64 = betas.iter().map(|b| 1.0 - b).product();
    (abar / (1.0 - abar)).ln()
}

fn linear_betas(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

fn scaled_linear_betas(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let r = a.sqrt() + (b.sqrt() - a.sqrt()) * i as f64 / (n - 1) as f64;
            r * r
        })
        .collect()
}

fn assert_close(what: &str, got: Option<f64>, want: f64) {
    let got = got.unwrap_or_else(|| panic!("{what}: log-SNR undefined, expected {want}"));
    assert!(
        (got - want).abs() <= LOG_SNR_TOL * want.abs().max(1.0),
        "{what}: log-SNR {got}, expected {want}"
    );
}

/// (file, class, lambda_1, Some(lambda_T) or None where SNR_T = 0), every value from the
/// formulas of the model's scheduler written out here.
fn expected_endpoints() -> Vec<(&'static str, &'static str, f64, Option<f64>)> {
    let t = 1000;
    // Linear betas 1e-4..0.02 (DDPM): abar_1 = 1 - beta_1.
    let ddpm = linear_betas(1e-4, 0.02, t);
    // scaled_linear 0.00085..0.012 (Stable Diffusion).
    let sd = scaled_linear_betas(0.00085, 0.012, t);
    // zero123: linear with SD's endpoints.
    let zero123 = linear_betas(0.00085, 0.012, t);
    let first = |b: f64| ((1.0 - b) / b).ln();
    // Flow matching: SNR = ((1 - s)/s)^2. FLUX (dynamic shifting): s_1 = 1/1000 unshifted.
    let flux_1 = 2.0 * ((1.0 - 0.001_f64) / 0.001).ln();
    // Z-Image: shift 6, s_1 = 6 (1/1000) / (1 + 5/1000).
    let s1: f64 = 6.0 * 0.001 / (1.0 + 5.0 * 0.001);
    let zimage_1 = 2.0 * ((1.0 - s1) / s1).ln();
    // EDM: SNR = 1/sigma^2, sigma_1 = sigma_min = 0.002, sigma_T = sigma_max = 80.
    let edm_1 = -2.0 * 0.002_f64.ln();
    let edm_t = -2.0 * 80.0_f64.ln();
    // Wuerstchen: abar(u) = cos^2((u + s)/(1 + s) pi/2) / cos^2(s/(1 + s) pi/2), s = 0.008,
    // u = 1/1000; abar(1) = 0.
    let s = 0.008_f64;
    let f = |u: f64| {
        ((u + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    let abar_w = f(0.001) / f(0.0);
    let wuerstchen_1 = (abar_w / (1.0 - abar_w)).ln();
    vec![
        (
            "ddpm-cifar10-32.scheduler_config.json",
            "GaussianDDPMScheduler",
            first(1e-4),
            Some(log_snr_by_product(&ddpm)),
        ),
        (
            "ddpm-butterflies-128.scheduler_config.json",
            "DDPMScheduler",
            first(1e-4),
            Some(log_snr_by_product(&ddpm)),
        ),
        (
            "stable-diffusion-v1-5.scheduler_config.json",
            "PNDMScheduler",
            first(0.00085),
            Some(log_snr_by_product(&sd)),
        ),
        (
            "stable-diffusion-2-1.scheduler_config.json",
            "DDIMScheduler",
            first(0.00085),
            Some(log_snr_by_product(&sd)),
        ),
        (
            "sdxl-euler-ancestral.scheduler_config.json",
            "EulerAncestralDiscreteScheduler",
            first(0.00085),
            Some(log_snr_by_product(&sd)),
        ),
        (
            "zero123-v-prediction.scheduler_config.json",
            "EulerAncestralDiscreteScheduler",
            first(0.00085),
            Some(log_snr_by_product(&zero123)),
        ),
        (
            "flux-flow-match.scheduler_config.json",
            "FlowMatchEulerDiscreteScheduler",
            flux_1,
            None,
        ),
        (
            "z-image-flow-match.scheduler_config.json",
            "FlowMatchEulerDiscreteScheduler",
            zimage_1,
            None,
        ),
        (
            "edm-dpmsolver.scheduler_config.json",
            "EDMDPMSolverMultistepScheduler",
            edm_1,
            Some(edm_t),
        ),
        (
            "stable-cascade-wuerstchen.scheduler_config.json",
            "DDPMWuerstchenScheduler",
            wuerstchen_1,
            None,
        ),
    ]
}

#[test]
fn every_config_loads_with_its_log_snr_endpoints() {
    let expected = expected_endpoints();
    // Every JSON config in tests/data is in the list (a new one must be added here).
    let on_disk: Vec<String> = std::fs::read_dir(data_file(""))
        .expect("tests/data")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    for name in &on_disk {
        assert!(
            expected.iter().any(|(f, ..)| f == name),
            "{name} has no expected log-SNR endpoints here"
        );
    }
    for (file, class, lambda_1, lambda_t) in expected {
        let loaded = load(file);
        assert_eq!(loaded.class_name.as_deref(), Some(class), "{file}");
        assert!(loaded.is_config, "{file}");
        let s = build(&loaded.spec);
        assert_eq!(s.steps(), 1000, "{file}");
        assert_close(&format!("{file} t = 1"), s.log_snr(1), lambda_1);
        match lambda_t {
            Some(l) => assert_close(&format!("{file} t = T"), s.log_snr(1000), l),
            None => {
                assert_eq!(s.terminal_abar(), 0.0, "{file}: zero terminal SNR");
                assert_eq!(s.log_snr(1000), None, "{file}");
                assert_eq!(s.beta(1000), 1.0, "{file}");
            }
        }
        // abar falls at every step and every beta is a probability.
        for t in 1..=1000 {
            let b = s.beta(t);
            assert!(b > 0.0 && b <= 1.0, "{file}: beta_{t} = {b}");
        }
        let name = loaded.name.clone().expect("a file has a name");
        assert!(
            file.starts_with(&name) && !name.ends_with("scheduler_config"),
            "{file}: name {name}"
        );
    }
}

#[test]
fn each_class_is_read_as_its_process_and_says_so() {
    // Beta schedules stay beta schedules whatever the class (old names included).
    for file in [
        "ddpm-cifar10-32.scheduler_config.json",
        "sdxl-euler-ancestral.scheduler_config.json",
        "zero123-v-prediction.scheduler_config.json",
    ] {
        let l = load(file);
        assert!(matches!(l.spec.source, BetaSource::Preset { .. }), "{file}");
        assert!(l.notes.is_empty(), "{file}: {:?}", l.notes);
    }
    let flux = load("flux-flow-match.scheduler_config.json");
    assert_eq!(
        flux.spec.source,
        BetaSource::Snr {
            process: SnrProcess::FlowMatch {
                shift: 3.0,
                dynamic_shifting: true
            }
        }
    );
    let all = flux.notes.join(" ");
    assert!(
        all.contains("use_dynamic_shifting") && all.contains("unshifted"),
        "{all}"
    );
    let zimage = load("z-image-flow-match.scheduler_config.json");
    assert_eq!(
        zimage.spec.source,
        BetaSource::Snr {
            process: SnrProcess::FlowMatch {
                shift: 6.0,
                dynamic_shifting: false
            }
        }
    );
    let edm = load("edm-dpmsolver.scheduler_config.json");
    assert_eq!(
        edm.spec.source,
        BetaSource::Snr {
            process: SnrProcess::Edm {
                sigma_min: 0.002,
                sigma_max: 80.0,
                rho: 7.0,
                sigmas: EdmSigmas::Karras
            }
        }
    );
    assert_eq!(edm.prediction(), Some(PredictionType::Epsilon));
    let all = edm.notes.join(" ");
    assert!(
        all.contains("sigma_data") && all.contains("Karras"),
        "{all}"
    );
    // A Karras sigma in the middle: t = 500 is ramp r = (T - t)/(T - 1) = 500/999,
    // sigma = (80^(1/7) + r (0.002^(1/7) - 80^(1/7)))^7, lambda = -2 ln sigma.
    let s = build(&edm.spec);
    let r = 500.0 / 999.0;
    let sigma =
        (80f64.powf(1.0 / 7.0) + r * (0.002f64.powf(1.0 / 7.0) - 80f64.powf(1.0 / 7.0))).powi(7);
    assert_close("EDM t = 500", s.log_snr(500), -2.0 * sigma.ln());
    let cascade = load("stable-cascade-wuerstchen.scheduler_config.json");
    assert_eq!(
        cascade.spec.source,
        BetaSource::Snr {
            process: SnrProcess::WuerstchenCosine {
                s: 0.008,
                scaler: 1.0
            }
        }
    );
    let all = cascade.notes.join(" ");
    assert!(all.contains("clamp") && all.contains("T = 1000"), "{all}");
    // Z-Image in the middle: s = 6 (1/2) / (1 + 5/2) = 6/7, lambda = 2 ln((1 - s)/s).
    let s = build(&zimage.spec);
    let mid: f64 = 6.0 * 0.5 / (1.0 + 5.0 * 0.5);
    assert_close(
        "Z-Image t = 500",
        s.log_snr(500),
        2.0 * ((1.0 - mid) / mid).ln(),
    );
    // The v_prediction configs say so.
    assert_eq!(
        load("zero123-v-prediction.scheduler_config.json").prediction(),
        Some(PredictionType::VPrediction)
    );
}

#[test]
fn edm_exponential_sigmas_are_log_linear() {
    let l = parse_schedule_text(
        r#"{"_class_name": "EDMEulerScheduler", "sigma_schedule": "exponential",
            "sigma_min": 0.01, "sigma_max": 10.0, "num_train_timesteps": 100}"#,
    )
    .expect("valid EDM config");
    assert!(l.notes.join(" ").contains("T + 1"), "{:?}", l.notes);
    let s = build(&l.spec);
    assert_eq!(s.steps(), 100);
    // ln sigma_t = ln 0.01 + (t - 1)/99 (ln 10 - ln 0.01), lambda = -2 ln sigma.
    for t in [1usize, 50, 100] {
        let ln_sigma = 0.01f64.ln() + (t - 1) as f64 / 99.0 * (10f64.ln() - 0.01f64.ln());
        assert_close(
            &format!("EDM exponential t = {t}"),
            s.log_snr(t),
            -2.0 * ln_sigma,
        );
    }
}

#[test]
fn wuerstchen_steps_follow_the_spec_not_the_config() {
    let mut l = load("stable-cascade-wuerstchen.scheduler_config.json");
    l.spec.steps = 50;
    let s = build(&l.spec);
    assert_eq!(s.steps(), 50);
    assert_eq!(s.terminal_abar(), 0.0);
    // u = 1/50 with the cosine written out.
    let sv = 0.008_f64;
    let f = |u: f64| {
        ((u + sv) / (1.0 + sv) * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    let abar = f(0.02) / f(0.0);
    assert_close(
        "Wuerstchen T = 50, t = 1",
        s.log_snr(1),
        (abar / (1.0 - abar)).ln(),
    );
}

#[test]
fn flow_matching_gives_finite_rows_apart_from_the_nulls_at_abar_zero() {
    let data = GaussianMixture::gaussian(&[0.5], vec![vec![0.04]]).expect("valid data");
    for file in [
        "flux-flow-match.scheduler_config.json",
        "z-image-flow-match.scheduler_config.json",
    ] {
        let s = build(&load(file).spec);
        let model = ModelKind::Optimal.build(&data);
        let config = ElboConfig {
            samples: 64,
            ..ElboConfig::default()
        };
        let r = compute_elbo(&data, &s, model.as_ref(), &config, Default::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            r.nelbo.mean.is_finite() && r.nelbo.stderr.is_finite(),
            "{file}"
        );
        // abar_T = 0: the prior term is exactly 0.
        assert_eq!(r.prior_loss, 0.0, "{file}");
        for row in &r.timesteps {
            assert!(
                row.loss.is_some_and(f64::is_finite),
                "{file}: loss at t = {}",
                row.t
            );
            assert!(
                row.mse_x0.is_some_and(f64::is_finite),
                "{file} t = {}",
                row.t
            );
            let at_zero = row.t == 1000;
            // The documented nulls: log-SNR, the eps and score weights at abar = 0.
            assert_eq!(row.log_snr.is_none(), at_zero, "{file} t = {}", row.t);
            assert_eq!(row.weight_eps.is_none(), at_zero, "{file} t = {}", row.t);
            assert_eq!(row.weight_score.is_none(), at_zero, "{file} t = {}", row.t);
        }
    }
}

#[test]
fn configs_that_say_nothing_are_clear_errors() {
    // Neither a class nor betas keys.
    let e = parse_schedule_text(r#"{"num_train_timesteps": 1000, "s": 0.008}"#)
        .expect_err("no class, no betas");
    let msg = e.to_string();
    for want in [
        "_class_name",
        "no betas keys",
        "beta_schedule",
        "FlowMatchEulerDiscreteScheduler",
        "EDMEulerScheduler",
        "DDPMWuerstchenScheduler",
    ] {
        assert!(msg.contains(want), "missing '{want}' in: {msg}");
    }
    // An unknown class without betas keys.
    let e = parse_schedule_text(r#"{"_class_name": "MysteryScheduler", "shift": 3.0}"#)
        .expect_err("unknown class");
    let msg = e.to_string();
    assert!(
        msg.contains("unknown scheduler class \"MysteryScheduler\"")
            && msg.contains("DDPMWuerstchenScheduler"),
        "{msg}"
    );
    // An unknown class with betas keys is a beta schedule, read as today.
    let l =
        parse_schedule_text(r#"{"_class_name": "MysteryScheduler", "beta_schedule": "linear"}"#)
            .expect("betas keys win");
    assert!(matches!(
        l.spec.source,
        BetaSource::Preset {
            schedule: BetaSchedule::Linear,
            ..
        }
    ));
    // A known beta class without betas keys takes diffusers' default, and says so.
    let l = parse_schedule_text(r#"{"_class_name": "DDPMScheduler"}"#).expect("default betas");
    assert_eq!(l.spec, ScheduleSpec::preset(BetaSchedule::Linear, 1000));
    assert!(l.notes.join(" ").contains("default"), "{:?}", l.notes);
    // prediction_type is validated.
    let e = parse_schedule_text(r#"{"beta_schedule": "linear", "prediction_type": "flow"}"#)
        .expect_err("unknown prediction_type");
    assert!(
        e.to_string().contains("prediction_type") && e.to_string().contains("v_prediction"),
        "{e}"
    );
    for p in ["epsilon", "v_prediction", "sample"] {
        let text = format!(r#"{{"beta_schedule": "linear", "prediction_type": "{p}"}}"#);
        let l = parse_schedule_text(&text).expect("valid prediction_type");
        assert_eq!(l.prediction().map(PredictionType::name), Some(p));
    }
    // Bad process parameters name their key.
    for (text, key) in [
        (
            r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": -1}"#,
            "shift",
        ),
        (
            r#"{"_class_name": "EDMEulerScheduler", "sigma_min": 5, "sigma_max": 1}"#,
            "sigma_max",
        ),
        (
            r#"{"_class_name": "EDMEulerScheduler", "sigma_schedule": "wiggly"}"#,
            "sigma_schedule",
        ),
        (
            r#"{"_class_name": "DDPMWuerstchenScheduler", "scaler": 0}"#,
            "scaler",
        ),
    ] {
        let e = parse_schedule_text(text).expect_err(text);
        assert!(e.to_string().contains(key), "{text}: {e}");
    }
}

#[test]
fn new_findings_state_their_criterion() {
    let has = |s: &NoiseSchedule, d: Option<&GaussianMixture>, code: &str| {
        sanity_findings(s, d).iter().any(|f| f.code == code)
    };
    // zero123: linear betas with SD's scaled_linear endpoints; SD itself is not flagged.
    let zero123 = build(&load("zero123-v-prediction.scheduler_config.json").spec);
    let f = sanity_findings(&zero123, None);
    let f = f
        .iter()
        .find(|f| f.code == "linear_with_scaled_linear_endpoints")
        .expect("zero123 flagged");
    assert!(
        f.message.contains("criterion") && f.message.contains("does not say which"),
        "{}",
        f.message
    );
    let sd = build(&load("stable-diffusion-v1-5.scheduler_config.json").spec);
    assert!(!has(&sd, None, "linear_with_scaled_linear_endpoints"));
    // SNR_1 * s_min^2 < 1: EDM's SNR_1 = 1/0.002^2 = 250000 against s_min = 1e-3 (0.25):
    // flagged; against s_min = 0.1 (2500): not.
    let edm = build(&load("edm-dpmsolver.scheduler_config.json").spec);
    let fine = GaussianMixture::gaussian(&[0.0], vec![vec![1e-6]]).expect("valid");
    let coarse = GaussianMixture::gaussian(&[0.0], vec![vec![1e-2]]).expect("valid");
    assert!(has(&edm, Some(&fine), "snr_1_below_finest_scale"));
    assert!(!has(&edm, Some(&coarse), "snr_1_below_finest_scale"));
    // SNR_T * Var(x0) > 0.01: SD's SNR_T = 4.68e-3 against Var = 1 (4.7e-3): not flagged;
    // against Var = 100 (0.47): flagged. Flow matching (SNR_T = 0) never is.
    let unit = GaussianMixture::gaussian(&[0.0], vec![vec![1.0]]).expect("valid");
    let wide = GaussianMixture::gaussian(&[0.0], vec![vec![100.0]]).expect("valid");
    assert!(!has(&sd, Some(&unit), "terminal_signal_not_negligible"));
    assert!(has(&sd, Some(&wide), "terminal_signal_not_negligible"));
    let flux = build(&load("flux-flow-match.scheduler_config.json").spec);
    assert!(!has(&flux, Some(&wide), "terminal_signal_not_negligible"));
    assert!(has(&flux, None, "zero_terminal_snr"));
    // EDM's terminal SNR, 1/6400, is caught by the data criterion when the data are wide
    // (Var = 100: 0.0156 > 0.01).
    assert!(has(&edm, Some(&wide), "terminal_signal_not_negligible"));
    let msg = sanity_findings(&edm, Some(&wide))
        .into_iter()
        .find(|f| f.code == "terminal_signal_not_negligible")
        .expect("flagged")
        .message;
    assert!(msg.contains("SNR_T * Var(x0) > 0.01"), "{msg}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any flow-matching shift and T give betas in (0, 1], a falling log-SNR and
    /// abar_T = 0 exactly; lambda_1 matches 2 ln((1 - s_1)/s_1).
    #[test]
    fn flow_matching_is_a_valid_schedule(shift in 0.05f64..50.0, steps in 2usize..3000) {
        let spec = ScheduleSpec {
            source: BetaSource::Snr { process: SnrProcess::FlowMatch { shift, dynamic_shifting: false } },
            steps,
            rescale_zero_snr: false,
        };
        let s = spec.build().expect("builds");
        prop_assert_eq!(s.terminal_abar(), 0.0);
        for t in 1..=steps {
            prop_assert!(s.beta(t) > 0.0 && s.beta(t) <= 1.0);
        }
        for t in 2..steps {
            prop_assert!(s.log_snr(t).expect("finite") < s.log_snr(t - 1).expect("finite"));
        }
        let u = 1.0 / steps as f64;
        let s1 = shift * u / (1.0 + (shift - 1.0) * u);
        let want = 2.0 * ((1.0 - s1) / s1).ln();
        let got = s.log_snr(1).expect("finite");
        prop_assert!((got - want).abs() <= 1e-8 * want.abs().max(1.0), "{} vs {}", got, want);
    }

    /// Any EDM sigma range gives lambda_1 = -2 ln sigma_min and lambda_T = -2 ln sigma_max.
    #[test]
    fn edm_endpoints_are_its_sigmas(lo in 1e-4f64..1.0, ratio in 1.5f64..1e5, rho in 1.0f64..10.0, steps in 2usize..2000) {
        let hi = lo * ratio;
        let spec = ScheduleSpec {
            source: BetaSource::Snr { process: SnrProcess::Edm { sigma_min: lo, sigma_max: hi, rho, sigmas: EdmSigmas::Karras } },
            steps,
            rescale_zero_snr: false,
        };
        let s = spec.build().expect("builds");
        let l1 = s.log_snr(1).expect("finite");
        let lt = s.log_snr(steps).expect("finite");
        prop_assert!((l1 + 2.0 * lo.ln()).abs() <= 1e-8 * l1.abs().max(1.0), "{} vs {}", l1, -2.0 * lo.ln());
        prop_assert!((lt + 2.0 * hi.ln()).abs() <= 1e-8 * lt.abs().max(1.0), "{} vs {}", lt, -2.0 * hi.ln());
    }
}
