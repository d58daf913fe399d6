//! Noise schedules (diffusers' `DDPMScheduler` formulas): preset reference values,
//! zero-terminal-SNR rescaling, diffusers config import (the real configs in `tests/data/`),
//! betas files, validation, and the precision of `1 - abar_t` for tiny betas.

use std::path::PathBuf;

use elbo_core::schedule::{
    BetaSchedule, BetaSource, LoadedSchedule, NoiseSchedule, ScheduleError, ScheduleSpec,
    VarianceType, load_schedule_file, parse_schedule_text, sanity_findings,
};

/// Relative tolerance for "unchanged" quantities that only go through a few roundings
/// (abar_1 before and after zero-SNR rescaling).
const UNCHANGED_REL_TOL: f64 = 1e-12;
/// Relative tolerance for `1 - abar_t` with tiny betas: the stable form
/// `-expm1(sum log1p(-beta))` keeps ~1e-15 relative; the naive `1 - prod(1 - beta)` would be
/// off by ~1e-4 relative at beta = 1e-12, so this bound separates the two clearly.
const TINY_BETA_REL_TOL: f64 = 1e-9;

/// Reference values of abar_T for T = 1000 (the diffusers formulas in f64;
/// docs/report-format.md), with the
/// half-unit of their last printed digit: a value passes when it rounds to the printed digits
/// (value, half unit in the last place). That is 1.3e-4 relative or better, except for the
/// cosine value (4 digits, 2.1e-4), which a closed form below checks to 1e-12 as well.
const REF_LINEAR: (f64, f64) = (4.0358e-5, 0.5e-9); // linear 1e-4..0.02
const REF_SCALED_LINEAR: (f64, f64) = (4.6601e-3, 0.5e-7); // scaled_linear 0.00085..0.012
const REF_COSINE: (f64, f64) = (2.429e-9, 0.5e-12); // squaredcos_cap_v2
const REF_SIGMOID: (f64, f64) = (3.968e-5, 0.5e-8); // sigmoid 1e-4..0.02

/// Stable Diffusion v1.5 / 2.1 beta range (their `scheduler_config.json`).
const SD_BETA_START: f64 = 0.00085;
const SD_BETA_END: f64 = 0.012;

fn preset(schedule: BetaSchedule, steps: usize, beta_start: f64, beta_end: f64) -> ScheduleSpec {
    ScheduleSpec {
        source: BetaSource::Preset {
            schedule,
            beta_start,
            beta_end,
        },
        steps,
        rescale_zero_snr: false,
    }
}

fn build(spec: &ScheduleSpec) -> NoiseSchedule {
    match spec.build() {
        Ok(s) => s,
        Err(e) => panic!("{} should build: {e}", spec.label()),
    }
}

fn assert_printed_digits(name: &str, got: f64, (reference, half_unit): (f64, f64)) {
    assert!(
        (got - reference).abs() <= half_unit,
        "{name}: abar_T = {got:e}, reference {reference:e} (+/- {half_unit:e})"
    );
    assert!(
        half_unit / reference <= 2.1e-4,
        "{name}: reference too coarse to test"
    );
}

fn rel_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs()
}

/// `$CARGO_MANIFEST_DIR/tests/data`: the real scheduler configs the repository carries
/// (see the README there for where each comes from).
fn test_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join("data")
}

#[test]
fn preset_terminal_abar_matches_spec_reference_values() {
    let t = 1000;
    let cases = [
        (
            "linear",
            preset(BetaSchedule::Linear, t, 1e-4, 0.02),
            REF_LINEAR,
        ),
        (
            "scaled_linear",
            preset(BetaSchedule::ScaledLinear, t, SD_BETA_START, SD_BETA_END),
            REF_SCALED_LINEAR,
        ),
        (
            "squaredcos_cap_v2",
            ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, t),
            REF_COSINE,
        ),
        (
            "sigmoid",
            preset(BetaSchedule::Sigmoid, t, 1e-4, 0.02),
            REF_SIGMOID,
        ),
    ];
    for (name, spec, reference) in cases {
        let s = build(&spec);
        assert_eq!(s.steps(), t, "{name}");
        assert_printed_digits(name, s.terminal_abar(), reference);
    }
}

/// Relative tolerance of the telescoped cosine closed form (a 1000-term log sum: ~1e-13).
const COSINE_CLOSED_FORM_REL_TOL: f64 = 1e-12;

#[test]
fn cosine_terminal_abar_telescopes() {
    // beta_i = 1 - f((i+1)/T) / f(i/T) telescopes: abar_T = f(1)/f(0), except that the last
    // beta (i = T-1, where f(1) ~ 0) is capped at 0.999, so abar_T = f((T-1)/T)/f(0) * 0.001
    // (the other 999 betas are far below the cap).
    let f = |u: f64| {
        ((u + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    let t = 1000;
    let s = build(&ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, t));
    assert!((1..t).all(|i| s.beta(i) < 0.999));
    let want = f((t - 1) as f64 / t as f64) / f(0.0) * (1.0 - 0.999);
    let got = s.terminal_abar();
    assert!(
        rel_err(got, want) < COSINE_CLOSED_FORM_REL_TOL,
        "abar_T = {got:e}, closed form {want:e}"
    );
    // abar_t = f(t/T)/f(0) for t < T.
    for k in [1, 100, 500, 999] {
        let want = f(k as f64 / t as f64) / f(0.0);
        assert!(
            rel_err(s.abar(k), want) < COSINE_CLOSED_FORM_REL_TOL,
            "t = {k}"
        );
    }
}

#[test]
fn preset_betas_follow_the_diffusers_formulas() {
    // linspace ends are exact (torch.linspace semantics).
    let lin = build(&ScheduleSpec::preset(BetaSchedule::Linear, 1000));
    assert_eq!(lin.beta(1), 1e-4);
    assert_eq!(lin.beta(1000), 0.02);
    // scaled_linear: (sqrt(b0) + (sqrt(b1) - sqrt(b0)) (t-1)/(T-1))^2 at the middle.
    let sl = build(&preset(
        BetaSchedule::ScaledLinear,
        1000,
        SD_BETA_START,
        SD_BETA_END,
    ));
    let mid = {
        let (a, b) = (SD_BETA_START.sqrt(), SD_BETA_END.sqrt());
        let x = a + (b - a) * 500.0 / 999.0;
        x * x
    };
    assert!(rel_err(sl.beta(501), mid) < 1e-14, "{}", sl.beta(501));
    // cosine: the last beta is capped at 0.999 (f(1) is ~0).
    let cos = build(&ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, 1000));
    assert_eq!(cos.beta(1000), 0.999);
    // sigmoid at the middle of an odd T is (beta_start + beta_end) / 2 exactly-ish.
    let sig = build(&preset(BetaSchedule::Sigmoid, 1001, 1e-4, 0.02));
    assert!(rel_err(sig.beta(501), 0.5 * (1e-4 + 0.02)) < 1e-14);
    // Every schedule: abar non-increasing, posterior variance sigma~2_t in [0, beta_t).
    for s in [&lin, &sl, &cos, &sig] {
        for t in 1..=s.steps() {
            assert!(s.abar(t) <= s.abar(t - 1));
            let pv = s.posterior_variance(t);
            assert!(pv >= 0.0 && pv < s.beta(t), "t = {t}: {pv}");
            let manual = if t == 1 {
                0.0
            } else {
                (1.0 - s.abar(t - 1)) / (1.0 - s.abar(t)) * s.beta(t)
            };
            assert!((pv - manual).abs() <= 1e-12 * s.beta(t), "t = {t}");
        }
    }
}

#[test]
fn zero_snr_rescaling_gives_exact_zero_terminal_abar_and_keeps_abar_1() {
    let specs = [
        ScheduleSpec::preset(BetaSchedule::Linear, 1000),
        preset(BetaSchedule::ScaledLinear, 1000, SD_BETA_START, SD_BETA_END),
        ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, 1000),
        preset(BetaSchedule::Sigmoid, 1000, 1e-4, 0.02),
        ScheduleSpec::preset(BetaSchedule::Linear, 2),
        ScheduleSpec::preset(BetaSchedule::Linear, 10),
    ];
    for plain in specs {
        let mut spec = plain.clone();
        spec.rescale_zero_snr = true;
        let name = spec.label();
        let before = build(&plain);
        let s = build(&spec);
        let t_max = s.steps();
        assert_eq!(s.terminal_abar(), 0.0, "{name}: abar_T");
        assert_eq!(s.beta(t_max), 1.0, "{name}: beta_T");
        assert_eq!(s.alpha(t_max), 0.0, "{name}: alpha_T");
        assert!(
            rel_err(s.abar(1), before.abar(1)) <= UNCHANGED_REL_TOL,
            "{name}: abar_1 {} became {}",
            before.abar(1),
            s.abar(1)
        );
        assert_eq!(s.log_snr(t_max), None, "{name}: log_snr(T)");
        assert_eq!(s.snr(t_max), 0.0, "{name}: SNR(T)");
        assert_eq!(s.one_minus_abar(t_max), 1.0, "{name}: 1 - abar_T");
        for t in 1..=t_max {
            let values = [
                s.beta(t),
                s.alpha(t),
                s.abar(t),
                s.one_minus_abar(t),
                s.snr(t),
                s.posterior_variance(t),
            ];
            assert!(
                values.iter().all(|v| v.is_finite()),
                "{name}: t = {t}: {values:?}"
            );
            assert!(s.beta(t) > 0.0 && s.beta(t) <= 1.0, "{name}: t = {t}");
            if t < t_max {
                let l = s.log_snr(t);
                assert!(l.is_some_and(f64::is_finite), "{name}: t = {t}: {l:?}");
                assert!(s.abar(t) > 0.0, "{name}: t = {t}");
            }
        }
        let codes: Vec<String> = sanity_findings(&s, None)
            .into_iter()
            .map(|f| f.code)
            .collect();
        assert!(codes.iter().any(|c| c == "zero_terminal_snr"), "{codes:?}");
        assert!(!codes.iter().any(|c| c == "terminal_snr_not_zero"));
    }
    // One step has no shape to keep: a clear error, not a NaN.
    let mut one = ScheduleSpec::preset(BetaSchedule::Linear, 1);
    one.rescale_zero_snr = true;
    assert_eq!(one.build(), Err(ScheduleError::RescaleNeedsTwoSteps));
}

fn load(path: &std::path::Path) -> LoadedSchedule {
    match load_schedule_file(path) {
        Ok(l) => l,
        Err(e) => panic!("{} should load: {e}", path.display()),
    }
}

fn has_finding(s: &NoiseSchedule, code: &str) -> bool {
    sanity_findings(s, None).iter().any(|f| f.code == code)
}

#[test]
fn every_shared_scheduler_config_imports() {
    let dir = test_data_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the test data of the repository)", dir.display()));
    let mut seen = Vec::new();
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name")
            .to_string();
        let loaded = load(&path);
        let s = build(&loaded.spec);
        // Every real config here has T = 1000 (num_train_timesteps or the old `timesteps`).
        assert_eq!(s.steps(), 1000, "{file}");
        assert!(!loaded.spec.rescale_zero_snr, "{file}");
        match file.as_str() {
            "ddpm-cifar10-32.scheduler_config.json" => {
                // Old key `timesteps`, variance_type fixed_large, DDPM's linear betas.
                assert!(
                    matches!(
                        loaded.spec.source,
                        BetaSource::Preset {
                            schedule: BetaSchedule::Linear,
                            beta_start: 1e-4,
                            beta_end: 0.02
                        }
                    ),
                    "{file}: {:?}",
                    loaded.spec.source
                );
                assert_eq!(loaded.variance, Some(VarianceType::FixedLarge), "{file}");
                assert_printed_digits(&file, s.terminal_abar(), REF_LINEAR);
                assert!(!has_finding(&s, "terminal_snr_not_zero"), "{file}");
            }
            "stable-diffusion-v1-5.scheduler_config.json"
            | "stable-diffusion-2-1.scheduler_config.json" => {
                assert!(
                    matches!(
                        loaded.spec.source,
                        BetaSource::Preset {
                            schedule: BetaSchedule::ScaledLinear,
                            beta_start: SD_BETA_START,
                            beta_end: SD_BETA_END
                        }
                    ),
                    "{file}: {:?}",
                    loaded.spec.source
                );
                assert_eq!(loaded.variance, None, "{file}: no variance_type key");
                assert_printed_digits(&file, s.terminal_abar(), REF_SCALED_LINEAR);
                assert!(has_finding(&s, "terminal_snr_not_zero"), "{file}");
                if file.contains("2-1") {
                    assert_eq!(loaded.prediction_type.as_deref(), Some("v_prediction"));
                    assert_eq!(loaded.class_name.as_deref(), Some("DDIMScheduler"));
                }
            }
            // A config added later: loading and building (above) is the test.
            _ => {}
        }
        seen.push(file);
    }
    for expected in [
        "ddpm-cifar10-32.scheduler_config.json",
        "stable-diffusion-v1-5.scheduler_config.json",
        "stable-diffusion-2-1.scheduler_config.json",
    ] {
        assert!(
            seen.iter().any(|f| f == expected),
            "{expected} missing from {}",
            dir.display()
        );
    }
}

#[test]
fn config_keys_and_their_errors() {
    // An unknown beta_schedule is a clear error naming the key and the value.
    let e = parse_schedule_text(r#"{"beta_schedule": "exponential", "num_train_timesteps": 10}"#)
        .expect_err("unknown beta_schedule");
    let msg = e.to_string();
    assert!(
        msg.contains("beta_schedule") && msg.contains("exponential"),
        "{msg}"
    );
    // Learned variances are "not supported here".
    for v in ["learned", "learned_range"] {
        let text = format!(r#"{{"beta_schedule": "linear", "variance_type": "{v}"}}"#);
        let e = parse_schedule_text(&text).expect_err("learned variance");
        let msg = e.to_string();
        assert!(
            msg.contains("variance_type") && msg.contains(v) && msg.contains("not supported"),
            "{msg}"
        );
    }
    // The *_log variants mean their plain forms.
    for (v, want) in [
        ("fixed_small_log", VarianceType::FixedSmall),
        ("fixed_large_log", VarianceType::FixedLarge),
        ("fixed_small", VarianceType::FixedSmall),
    ] {
        let text = format!(r#"{{"beta_schedule": "linear", "variance_type": "{v}"}}"#);
        let loaded = parse_schedule_text(&text).expect("valid variance_type");
        assert_eq!(loaded.variance, Some(want), "{v}");
    }
    // Unknown keys are ignored; rescale_betas_zero_snr turns rescaling on; num_train_timesteps
    // wins over nothing and sets T.
    let loaded = parse_schedule_text(
        r#"{"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 50,
            "rescale_betas_zero_snr": true, "clip_sample": false, "some_future_key": [1, 2]}"#,
    )
    .expect("valid config");
    let s = build(&loaded.spec);
    assert_eq!(s.steps(), 50);
    assert_eq!(s.terminal_abar(), 0.0);
    // trained_betas win over beta_schedule.
    let loaded = parse_schedule_text(
        r#"{"beta_schedule": "linear", "trained_betas": [0.1, 0.2, 0.3], "num_train_timesteps": 1000}"#,
    )
    .expect("trained betas");
    let s = build(&loaded.spec);
    assert_eq!(s.betas(), &[0.1, 0.2, 0.3]);
    // Bad config values name the key.
    let e = parse_schedule_text(r#"{"num_train_timesteps": 0}"#).expect_err("T = 0");
    assert!(e.to_string().contains("num_train_timesteps = 0"), "{e}");
    let e = parse_schedule_text(r#"{"beta_start": 1.5}"#).expect_err("beta_start 1.5");
    assert!(e.to_string().contains("beta_start = 1.5"), "{e}");
    let e = parse_schedule_text(r#"{"beta_end": "big"}"#).expect_err("not a number");
    assert!(e.to_string().contains("beta_end"), "{e}");
    let e = parse_schedule_text(r#"{"trained_betas": [0.1, 1.5]}"#).expect_err("trained beta 1.5");
    assert!(e.to_string().contains("trained_betas[1] = 1.5"), "{e}");
}

fn write_temp(contents: &str) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(contents.as_bytes()).expect("write temp file");
    f
}

#[test]
fn betas_files_load_one_per_line_and_as_json_array() {
    let lines = write_temp("# DDPM-ish\n0.001\n\n0.01  # a comment\n0.1\n1\n");
    let loaded = load(lines.path());
    assert_eq!(loaded.variance, None);
    let s = build(&loaded.spec);
    assert_eq!(s.betas(), &[0.001, 0.01, 0.1, 1.0]);
    assert_eq!(
        s.terminal_abar(),
        0.0,
        "a last beta of 1 is zero terminal SNR"
    );

    let array = write_temp("[0.001, 0.01, 0.1]");
    let s = build(&load(array.path()).spec);
    assert_eq!(s.betas(), &[0.001, 0.01, 0.1]);
    let want = (1.0 - 0.001) * (1.0 - 0.01) * (1.0 - 0.1);
    assert!(rel_err(s.terminal_abar(), want) < 1e-14);
}

#[test]
fn bad_betas_are_errors_naming_the_field() {
    // (file contents, text the error must contain)
    let cases = [
        ("0.01\n0\n0.02\n", "betas[1] (t = 2) = 0"),
        ("0.01\n1.5\n", "betas[1] (t = 2) = 1.5"),
        ("NaN\n0.01\n", "betas[0] (t = 1) = NaN"),
        ("[0.01, -0.5]", "betas[1] (t = 2) = -0.5"),
        ("", "no betas"),
        ("# only a comment\n\n", "no betas"),
        ("[]", "no betas"),
        ("0.01\nabc\n", "line 2"),
    ];
    for (contents, needle) in cases {
        let f = write_temp(contents);
        let result: Result<NoiseSchedule, ScheduleError> =
            load_schedule_file(f.path()).and_then(|l| l.spec.build());
        let Err(e) = result else {
            panic!("{contents:?} should be rejected");
        };
        let msg = e.to_string();
        assert!(
            msg.contains(needle),
            "{contents:?}: '{msg}' lacks '{needle}'"
        );
    }
    // A missing file names the path.
    let e = load_schedule_file(std::path::Path::new("/nonexistent/betas.txt"))
        .expect_err("missing file");
    assert!(e.to_string().contains("/nonexistent/betas.txt"), "{e}");
    // Preset parameters and T.
    let cases = [
        (
            preset(BetaSchedule::Linear, 10, 0.0, 0.02),
            "beta_start = 0",
        ),
        (
            preset(BetaSchedule::Linear, 10, 1e-4, f64::NAN),
            "beta_end = NaN",
        ),
        (
            preset(BetaSchedule::Sigmoid, 10, 1.5, 0.02),
            "beta_start = 1.5",
        ),
        (preset(BetaSchedule::Linear, 0, 1e-4, 0.02), "T = 0"),
    ];
    for (spec, needle) in cases {
        let e = spec.build().expect_err(needle);
        assert!(e.to_string().contains(needle), "'{e}' lacks '{needle}'");
    }
    assert_eq!(
        NoiseSchedule::from_betas(Vec::new()),
        Err(ScheduleError::Empty)
    );
    assert!(NoiseSchedule::from_betas(vec![0.1, f64::INFINITY]).is_err());
}

#[test]
fn tiny_betas_keep_one_minus_abar_precise() {
    // 1 - abar_t = 1 - (1 - 1e-12)^t = t 1e-12 (1 - (t-1) 1e-12 / 2 + ...): relative
    // correction below 1e-9 for t <= 1000, so t * 1e-12 is the reference to TINY_BETA_REL_TOL.
    let s = NoiseSchedule::from_betas(vec![1e-12; 1000]).expect("tiny betas are valid");
    for t in [1, 2, 10, 500, 1000] {
        let want = t as f64 * 1e-12;
        let got = s.one_minus_abar(t);
        assert!(
            rel_err(got, want) < TINY_BETA_REL_TOL,
            "t = {t}: 1 - abar = {got:e}, want {want:e}"
        );
        // log-SNR = log(abar / (1 - abar)) ~ -log(t 1e-12).
        let l = s.log_snr(t).expect("defined");
        assert!((l + want.ln()).abs() < 1e-8, "t = {t}: log_snr {l}");
        // sigma~2_t = (t-1)/t * 1e-12 for t >= 2.
        if t >= 2 {
            let pv = s.posterior_variance(t);
            let want_pv = (t - 1) as f64 / t as f64 * 1e-12;
            assert!(rel_err(pv, want_pv) < TINY_BETA_REL_TOL, "t = {t}: {pv:e}");
        }
    }
    // A tiny first beta followed by ordinary ones.
    let mut betas = vec![1e-12];
    betas.extend(std::iter::repeat_n(0.02, 99));
    let s = NoiseSchedule::from_betas(betas).expect("valid");
    assert!(rel_err(s.one_minus_abar(1), 1e-12) < TINY_BETA_REL_TOL);
    assert!(s.posterior_variance(2) > 0.0 && s.posterior_variance(2) < 1e-11);
}

#[test]
fn a_single_step_schedule_works() {
    for spec in [
        ScheduleSpec::preset(BetaSchedule::Linear, 1),
        ScheduleSpec::preset(BetaSchedule::ScaledLinear, 1),
        ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, 1),
        ScheduleSpec::preset(BetaSchedule::Sigmoid, 1),
        ScheduleSpec::custom(vec![0.5]),
        ScheduleSpec::custom(vec![1.0]),
    ] {
        let name = spec.label();
        let s = build(&spec);
        assert_eq!(s.steps(), 1, "{name}");
        assert_eq!(s.posterior_variance(1), 0.0, "{name}");
        assert!(rel_err(s.abar(1), 1.0 - s.beta(1)) < 1e-15 || s.abar(1) == 0.0);
        let codes: Vec<String> = sanity_findings(&s, None)
            .into_iter()
            .map(|f| f.code)
            .collect();
        assert!(
            codes.iter().any(|c| c == "single_step"),
            "{name}: {codes:?}"
        );
    }
    // torch.linspace(start, end, 1) == [start]; the cosine beta is capped.
    let lin = build(&ScheduleSpec::preset(BetaSchedule::Linear, 1));
    assert_eq!(lin.betas(), &[1e-4]);
    let cos = build(&ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, 1));
    assert_eq!(cos.betas(), &[0.999]);
}
