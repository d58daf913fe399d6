//! Numerical robustness of the library (issue "Crash-proof ELBO Lab"): weights where abar_t
//! underflows, sample-count checks, data far from unit scale, diverged networks, results
//! independent of the thread count.

use elbo_lab::denoiser::ModelKind;
use elbo_lab::elbo::{Control, ElboError, McConfig, McSamples, compute_elbo, compute_elbo_with};
use elbo_lab::mixture::GaussianMixture;
use elbo_lab::param::{Parameterisation, Weights};
use elbo_lab::presets::{DataPreset, DataSpec};
use elbo_lab::schedule::{BetaSchedule, NoiseSchedule, ScheduleSpec, VarianceType};
use elbo_lab::train::{
    DivergenceCause, TrainConfig, TrainError, Trainer, evaluate, load_all, save_all,
    weights_file_name,
};

// ---------------------------------------------------------------------------------------
// Weights where abar_t underflows (defect 13).

/// Relative tolerance of a log-space weight against its closed form: both are a handful
/// of f64 operations on the same logs.
const LOG_WEIGHT_TOL: f64 = 1e-12;

fn long_linear(rescale_zero_snr: bool) -> NoiseSchedule {
    ScheduleSpec {
        rescale_zero_snr,
        ..ScheduleSpec::preset(BetaSchedule::Linear, 100_000)
    }
    .build()
    .expect("valid schedule")
}

/// The closed forms under fixed_small, where `sigma_t^2 = (1 - abar_{t-1}) beta_t / (1 - abar_t)`:
/// ```text
/// w_eps(t) = beta_t / (2 alpha_t (1 - abar_{t-1}))   (t >= 2),   1 / (2 alpha_1)   (t = 1)
/// w_s(t)   = w_eps(t) (1 - abar_t)
/// ```
/// in logs, with `1 - abar = -expm1(log abar)`.
fn closed_form_log_weights(s: &NoiseSchedule, t: usize) -> (f64, f64) {
    let ln_alpha = (-s.beta(t)).ln_1p();
    let ln_1m = |u: usize| (-s.log_abar(u).exp_m1()).ln();
    let ln_eps = if t == 1 {
        -std::f64::consts::LN_2 - ln_alpha
    } else {
        s.beta(t).ln() - std::f64::consts::LN_2 - ln_alpha - ln_1m(t - 1)
    };
    (ln_eps, ln_eps + ln_1m(t))
}

#[test]
fn eps_and_score_weights_stay_defined_where_abar_underflows_at_t_100000() {
    let s = long_linear(false);
    let t_max = s.steps();
    // The case of the issue: abar_T underflows f64 although log abar_T is finite.
    assert_eq!(s.abar(t_max), 0.0);
    assert!(s.log_abar(t_max).is_finite());
    let underflowed = (1..=t_max).filter(|&t| s.abar(t) == 0.0).count();
    assert!(underflowed > 10_000, "{underflowed} rows underflow");
    for t in 1..=t_max {
        let w = Weights::at(&s, t, VarianceType::FixedSmall);
        let (ln_eps, ln_score) = closed_form_log_weights(&s, t);
        let eps = w
            .eps
            .unwrap_or_else(|| panic!("w_eps undefined at t = {t}"));
        let score = w
            .score
            .unwrap_or_else(|| panic!("w_s undefined at t = {t}"));
        assert!(
            (eps.ln() - ln_eps).abs() <= LOG_WEIGHT_TOL * ln_eps.abs().max(1.0),
            "t = {t}: ln w_eps {} vs closed form {ln_eps}",
            eps.ln()
        );
        assert!(
            (score.ln() - ln_score).abs() <= LOG_WEIGHT_TOL * ln_score.abs().max(1.0),
            "t = {t}: ln w_s {} vs closed form {ln_score}",
            score.ln()
        );
        assert!(w.x0.is_some() && w.v.is_some(), "t = {t}");
    }
}

#[test]
fn at_zero_terminal_snr_only_the_last_row_lacks_eps_and_score_weights() {
    let s = long_linear(true);
    let t_max = s.steps();
    assert_eq!(s.log_abar(t_max), f64::NEG_INFINITY);
    for t in 1..t_max {
        let w = Weights::at(&s, t, VarianceType::FixedSmall);
        assert!(w.eps.is_some() && w.score.is_some(), "t = {t}: {w:?}");
    }
    let last = Weights::at(&s, t_max, VarianceType::FixedSmall);
    assert_eq!((last.eps, last.score), (None, None));
    assert!(last.x0.is_some_and(f64::is_finite));
}

// ---------------------------------------------------------------------------------------
// Sample counts (defect 6): N < 2 has no standard error.

fn cosine(steps: usize) -> NoiseSchedule {
    ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, steps)
        .build()
        .expect("valid schedule")
}

fn bimodal() -> GaussianMixture {
    DataSpec::new(DataPreset::Bimodal)
        .build()
        .expect("preset builds")
}

#[test]
fn evaluation_refuses_fewer_than_two_samples() {
    let data = bimodal();
    let schedule = cosine(20);
    let mut trainer = Trainer::new(&data, &schedule, TrainConfig::default()).expect("valid");
    trainer.step().expect("one step");
    let nets = trainer.snapshot().expect("snapshot");
    for n in [0, 1] {
        let mc = McConfig {
            samples: n,
            ..McConfig::default()
        };
        let err = evaluate(&data, &schedule, &nets, &mc, Control::default())
            .expect_err("N < 2 is refused");
        assert!(
            matches!(err, TrainError::Elbo(ElboError::BadSamples(m)) if m == n),
            "{err}"
        );
        assert!(err.to_string().contains(&format!("N = {n}")), "{err}");
        // Samples drawn by the caller are checked too.
        let samples = McSamples::draw(&data, n, 0);
        let model = ModelKind::Optimal.build(&data);
        let err = compute_elbo_with(
            &data,
            &schedule,
            model.as_ref(),
            &mc,
            &samples,
            Control::default(),
        )
        .expect_err("N < 2 is refused");
        assert_eq!(err, ElboError::BadSamples(n));
    }
    // N = 2 is the smallest with a standard error.
    let mc = McConfig {
        samples: 2,
        ..McConfig::default()
    };
    let eval = evaluate(&data, &schedule, &nets, &mc, Control::default()).expect("N = 2 works");
    assert!(eval.optimal.nelbo.stderr.is_finite() && eval.optimal.nelbo.stderr > 0.0);
}

// ---------------------------------------------------------------------------------------
// Divergence (defect 5).

/// AdamW's first step moves every weight by about the learning rate: at 1e9 the next
/// forward pass overflows f32, so every network diverges within a few steps.
const DIVERGING_LR: f64 = 1e9;

#[test]
fn a_diverging_network_is_detected_named_frozen_and_never_snapshot() {
    let data = bimodal();
    let schedule = cosine(20);
    let config = TrainConfig {
        lr: DIVERGING_LR,
        batch: 32,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&data, &schedule, config.clone()).expect("valid");
    let mut reported = Vec::new();
    for _ in 0..20 {
        match trainer.step() {
            Ok(s) => assert!(s.losses.len() == 3),
            Err(TrainError::Diverged(list)) => reported.extend(list),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(trainer.all_diverged(), "{:?}", trainer.divergences());
    // Each network is reported once, at the step where it diverged, with its loss and lr.
    // (Compared as text: a NaN loss is not equal to itself.)
    assert_eq!(
        format!("{reported:?}"),
        format!("{:?}", trainer.divergences())
    );
    let names: Vec<Parameterisation> = reported.iter().map(|d| d.param).collect();
    assert_eq!(names, config.params);
    for d in &reported {
        assert_eq!(d.lr, DIVERGING_LR);
        assert!((1..=20).contains(&d.step));
        match &d.cause {
            DivergenceCause::NonFiniteLoss => assert!(!d.loss.is_finite(), "{d}"),
            DivergenceCause::NonFiniteParameter { tensor } => {
                assert!(tensor.starts_with("layers."), "{d}");
            }
        }
        let text = d.to_string();
        assert!(
            text.contains(&format!(
                "the {} network diverged at step {}",
                d.param, d.step
            )) && text.contains("learning rate 1e9"),
            "{text}"
        );
        // From its step on, its recorded loss is NaN.
        let k = config
            .params
            .iter()
            .position(|p| *p == d.param)
            .expect("known");
        assert!(
            trainer.history()[k][d.step - 1..]
                .iter()
                .all(|l| l.is_nan())
        );
    }
    // Diverged networks are never handed out to be scored or saved.
    assert!(trainer.snapshot().expect("snapshot").is_empty());
}

#[test]
fn loading_refuses_non_finite_weights_naming_file_and_tensor() {
    let data = bimodal();
    let schedule = cosine(20);
    let mut trainer = Trainer::new(&data, &schedule, TrainConfig::default()).expect("valid");
    trainer.step().expect("one step");
    let nets = trainer.snapshot().expect("snapshot");
    let dir = tempfile::tempdir().expect("temp dir");
    save_all(dir.path(), &nets).expect("saves");
    // Poison one tensor of the eps file, as a diverged run would have written it.
    let path = dir.path().join(weights_file_name(Parameterisation::Eps));
    let mut tensors =
        candle_core::safetensors::load(&path, &candle_core::Device::Cpu).expect("reads");
    let shape = tensors["layers.1.weight"].dims().to_vec();
    let count: usize = shape.iter().product();
    let mut values = vec![0.1f32; count];
    values[7] = f32::INFINITY;
    tensors.insert(
        "layers.1.weight".into(),
        candle_core::Tensor::from_vec(values, shape, &candle_core::Device::Cpu).expect("tensor"),
    );
    candle_core::safetensors::save(&tensors, &path).expect("writes");
    let err = load_all(dir.path(), 1).expect_err("non-finite weights are refused");
    match &err {
        TrainError::NonFiniteWeights {
            path: p,
            tensor,
            index,
            value,
        } => {
            assert!(p.ends_with("eps.safetensors"), "{err}");
            assert_eq!((tensor.as_str(), *index), ("layers.1.weight", 7));
            assert_eq!(*value, f64::INFINITY);
        }
        other => panic!("expected NonFiniteWeights, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("eps.safetensors") && text.contains("layers.1.weight"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Thread count (defect 12).

/// The same seed gives the same ELBO, to the last bit, on 1, 2 and 3 threads (the optimal
/// model by Monte Carlo, with the eq. 45 estimate, and the exact Gaussian fit).
#[test]
fn the_elbo_does_not_depend_on_the_thread_count() {
    let data = DataSpec::new(DataPreset::TwoMoons)
        .build()
        .expect("preset builds");
    let schedule = cosine(150);
    let mc = McConfig {
        samples: 300,
        seed: 9,
        consistency: true,
        ..McConfig::default()
    };
    for kind in ModelKind::ALL {
        let model = kind.build(&data);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            pool.install(|| {
                compute_elbo(&data, &schedule, model.as_ref(), &mc, Control::default())
                    .expect("computes")
            })
        };
        let one = on(1);
        for threads in [2, 3] {
            assert!(on(threads) == one, "{} on {threads} threads", model.name());
        }
    }
}
