//! Trained networks against the exact optimal denoiser (issue 5): convergence on a single
//! Gaussian, NELBO >= optimal up to Monte Carlo error, reproducibility, weights round trip,
//! the abar_t = 0 fallback. Fixed small budgets, no timing.

use elbo_core::denoiser::{Denoiser, MixtureDenoiser};
use elbo_core::elbo::{Control, ElboConfig, McSamples, Method, compute_elbo_with};
use elbo_core::mixture::GaussianMixture;
use elbo_core::param::Parameterisation;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, BetaSource, NoiseSchedule, ScheduleSpec, VarianceType};
use elbo_train::{TrainConfig, TrainLoss, TrainedDenoiser, Trainer, evaluate, load_all, save_all};
use ndarray::Array2;

/// Training budget of the convergence test: 1,500 steps of batch 256 (a few seconds).
const CONVERGE_STEPS: usize = 1500;
/// After [`CONVERGE_STEPS`] on a single 1D Gaussian, the eps network's `L_{t-1}` (its
/// weighted error, without the variance part) may exceed
/// the optimal (linear) denoiser's by this fraction at every t, plus [`CONVERGE_ABS_LOSS`].
const CONVERGE_REL_LOSS: f64 = 0.5;
/// Absolute slack per t in nats: the optimal `L_{t-1}` is ~1e-3 nats per step at T = 100,
/// so an f32 network cannot match tiny terms relatively.
const CONVERGE_ABS_LOSS: f64 = 2e-3;
/// Bound on the NELBO excess over the optimal model after [`CONVERGE_STEPS`], in nats
/// (NELBO about 2.08 nats; measured excess 0.025).
const CONVERGE_NELBO_EXCESS: f64 = 0.05;
/// Standard errors of slack in "NELBO(trained) >= NELBO(optimal) - MC error".
const MC_SIGMAS: f64 = 3.0;

fn cosine(steps: usize) -> NoiseSchedule {
    ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, steps)
        .build()
        .expect("valid schedule")
}

/// DDPM's linear schedule rescaled to T = 100 (betas 1e-3..0.2, abar_T about 4.5e-5). The
/// cosine schedule's last step (beta_T = 0.999) gives the eps weight w_eps(T) = w_x0 / SNR(T)
/// in the hundreds, where any eps error costs nats: a real property of eps-prediction at
/// near-zero SNR, but not what this test is about.
fn linear_100() -> NoiseSchedule {
    ScheduleSpec {
        source: BetaSource::Preset {
            schedule: BetaSchedule::Linear,
            beta_start: 1e-3,
            beta_end: 0.2,
        },
        ..ScheduleSpec::preset(BetaSchedule::Linear, 100)
    }
    .build()
    .expect("valid schedule")
}

fn gaussian_1d() -> GaussianMixture {
    GaussianMixture::gaussian(&[0.5], vec![vec![0.25]]).expect("valid Gaussian")
}

fn trained(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    config: TrainConfig,
    steps: usize,
) -> (Trainer, Vec<TrainedDenoiser>) {
    let mut trainer = Trainer::new(data, schedule, config).expect("valid config");
    for _ in 0..steps {
        trainer.step().expect("step");
    }
    let nets = trainer.snapshot().expect("snapshot");
    (trainer, nets)
}

/// The eps network (DDPM's choice, L_simple) on N(0.5, 0.25). An x0 network converges
/// more slowly at the lowest noise levels, where x0_hat must reproduce x_t / sqrt(abar_t)
/// to within the tiny MMSE: that is where the x0-parameterisation spends its errors, and
/// what the Training view shows.
#[test]
fn a_trained_eps_network_approaches_the_optimal_denoiser_on_a_single_gaussian() {
    let data = gaussian_1d();
    let schedule = linear_100();
    let config = TrainConfig {
        params: vec![Parameterisation::Eps],
        seed: 1,
        ..TrainConfig::default()
    };
    let (_, nets) = trained(&data, &schedule, config, CONVERGE_STEPS);
    let mc = ElboConfig {
        samples: 4096,
        seed: 3,
        variance: VarianceType::FixedSmall,
        consistency: false,
        method: Method::MonteCarlo,
    };
    let eval = evaluate(&data, &schedule, &nets, &mc, Control::default()).expect("evaluates");
    let mut failures = Vec::new();
    let mut table = String::new();
    for (p, r) in &eval.nets {
        for (a, b) in r.timesteps.iter().zip(&eval.optimal.timesteps) {
            // Compare the weighted errors (the loss minus the variance part, which no model
            // changes; at t = 1 the decoder's normalising constant makes L_0 negative).
            let (Some(la), Some(lb)) = (a.loss, b.loss) else {
                continue;
            };
            let (la, lb) = (la - a.variance_part, lb - b.variance_part);
            table += &format!("{p} t={:3} trained {la:.4e} optimal {lb:.4e}\n", a.t);
            if la > (1.0 + CONVERGE_REL_LOSS) * lb + CONVERGE_ABS_LOSS {
                failures.push(format!(
                    "{p} at t = {}: L {la:.3e} vs optimal {lb:.3e}",
                    a.t
                ));
            }
        }
        let excess = r.nelbo.mean - eval.optimal.nelbo.mean;
        table += &format!(
            "{p} NELBO {} optimal {} excess {excess}\n",
            r.nelbo.mean, eval.optimal.nelbo.mean
        );
        if excess >= CONVERGE_NELBO_EXCESS {
            failures.push(format!("{p}: NELBO excess {excess}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}\n{table}");
}

#[test]
fn a_trained_model_nelbo_is_at_least_the_optimal_minus_mc_error() {
    let data = DataSpec::new(DataPreset::Bimodal)
        .build()
        .expect("preset builds");
    let schedule = cosine(50);
    for loss in [TrainLoss::Simple, TrainLoss::Elbo, TrainLoss::Importance] {
        let config = TrainConfig {
            loss,
            batch: 128,
            ..TrainConfig::default()
        };
        let (_, nets) = trained(&data, &schedule, config, 200);
        let mc = ElboConfig {
            samples: 2048,
            method: Method::MonteCarlo,
            ..ElboConfig::default()
        };
        let eval = evaluate(&data, &schedule, &nets, &mc, Control::default()).expect("evaluates");
        let opt = eval.optimal.nelbo;
        for (p, r) in &eval.nets {
            let se = r.nelbo.stderr.hypot(opt.stderr);
            assert!(
                r.nelbo.mean >= opt.mean - MC_SIGMAS * se,
                "{} loss, {p}: NELBO {} ± {} below optimal {} ± {}",
                loss.name(),
                r.nelbo.mean,
                r.nelbo.stderr,
                opt.mean,
                opt.stderr
            );
            assert_eq!(eval.excess(0).len(), schedule.steps());
        }
    }
}

/// Quadrature of a trained network (issue 12): its rows agree with Monte Carlo on many
/// samples within the standard error, and the integration stops at the network's f32
/// rounding instead of refining to the point cap (1D asks 1e-11 of the optimal model, far
/// below what two f32 lattices can agree to): at most the first level and two refinements.
#[test]
fn quadrature_of_a_trained_network_agrees_with_monte_carlo_and_stops_at_its_rounding() {
    let data = DataSpec::new(DataPreset::Bimodal)
        .build()
        .expect("preset builds");
    let schedule = cosine(50);
    let config = TrainConfig {
        params: vec![Parameterisation::Eps],
        batch: 128,
        seed: 4,
        ..TrainConfig::default()
    };
    let (_, nets) = trained(&data, &schedule, config, 300);
    let net = &nets[0];
    assert_eq!(net.precision(), f64::from(f32::EPSILON));
    let samples = McSamples::draw(&data, 16_384, 11);
    let config = |method| ElboConfig {
        samples: samples.len(),
        seed: 11,
        method,
        ..ElboConfig::default()
    };
    let run = |method| {
        compute_elbo_with(
            &data,
            &schedule,
            net,
            &config(method),
            &samples,
            Control::default(),
        )
        .expect("computes")
    };
    let (quad, mc) = (run(Method::Quadrature), run(Method::MonteCarlo));
    assert_eq!(quad.method, Method::Quadrature);
    for (q, m) in quad.timesteps.iter().zip(&mc.timesteps) {
        let (Some(lq), Some(lm), Some(se)) = (q.loss, m.loss, m.stderr) else {
            panic!("t = {}: undefined loss", q.t);
        };
        let err = q.stderr.expect("quadrature error estimate");
        assert!(
            (lq - lm).abs() <= 4.0 * se + err,
            "t = {}: quadrature {lq} ± {err} vs Monte Carlo {lm} ± {se}",
            q.t
        );
    }
    let (n, m) = (quad.nelbo, mc.nelbo);
    assert!(
        (n.mean - m.mean).abs() <= 4.0 * m.stderr + n.stderr,
        "NELBO {} ± {} vs {} ± {}",
        n.mean,
        n.stderr,
        m.mean,
        m.stderr
    );
    for t in [1, 2, 25, 50] {
        let first = {
            let post = elbo_core::quadrature::Posterior::new(
                &data,
                elbo_core::param::Coeffs::at(&schedule, t),
            );
            let h = post.min_sd() / 2.0;
            let count = |offset: f64| -> usize {
                post.lattice(h, offset, usize::MAX)
                    .expect("no cap")
                    .iter()
                    .map(|r| r.1.len())
                    .sum()
            };
            count(0.0) + count(0.5 * h)
        };
        let q = elbo_core::quadrature::mse_x0(&data, &schedule, t, Some(net));
        // Levels cost 1, 2, 4... times the first (each refinement divides h by sqrt 2).
        assert!(
            q.points <= 7 * first + 8,
            "t = {t}: {} points, the first level has {first}",
            q.points
        );
    }
}

#[test]
fn training_is_reproducible_from_a_seed() {
    let data = DataSpec::new(DataPreset::TwoMoons)
        .build()
        .expect("preset builds");
    let schedule = cosine(100);
    let config = |seed| TrainConfig {
        seed,
        batch: 64,
        loss: TrainLoss::Importance,
        ..TrainConfig::default()
    };
    let (a, na) = trained(&data, &schedule, config(5), 30);
    let (b, nb) = trained(&data, &schedule, config(5), 30);
    let (c, _) = trained(&data, &schedule, config(6), 30);
    assert_eq!(a.history(), b.history());
    assert_ne!(a.history(), c.history());
    let xt = Array2::from_shape_fn((16, 2), |(i, j)| i as f64 * 0.1 - j as f64 * 0.3);
    for (x, y) in na.iter().zip(&nb) {
        assert_eq!(
            x.predict_x0(&schedule, 40, xt.view()),
            y.predict_x0(&schedule, 40, xt.view())
        );
    }
}

#[test]
fn weights_round_trip_through_safetensors() {
    let data = DataSpec::new(DataPreset::TwoMoons)
        .build()
        .expect("preset builds");
    let schedule = cosine(100);
    let config = TrainConfig {
        params: Parameterisation::ALL.to_vec(),
        batch: 32,
        ..TrainConfig::default()
    };
    let (_, nets) = trained(&data, &schedule, config, 5);
    let dir = tempfile::tempdir().expect("temp dir");
    save_all(dir.path(), &nets).expect("saves");
    let back = load_all(dir.path(), 2).expect("loads");
    assert_eq!(back.len(), 4);
    let xt = Array2::from_shape_fn((8, 2), |(i, j)| i as f64 * 0.2 - j as f64);
    for (x, y) in nets.iter().zip(&back) {
        assert_eq!(x.parameterisation(), y.parameterisation());
        assert_eq!(
            x.predict_x0(&schedule, 10, xt.view()),
            y.predict_x0(&schedule, 10, xt.view())
        );
    }
    // Wrong dimension and missing files are errors, not panics.
    assert!(load_all(dir.path(), 1).is_err());
    assert!(load_all(&dir.path().join("nothing"), 2).is_err());
}

#[test]
fn eps_and_score_networks_predict_the_data_mean_where_abar_is_zero() {
    let data = gaussian_1d();
    let schedule = ScheduleSpec {
        rescale_zero_snr: true,
        ..ScheduleSpec::preset(BetaSchedule::Linear, 20)
    }
    .build()
    .expect("valid schedule");
    assert_eq!(schedule.abar(20), 0.0);
    let (_, nets) = trained(&data, &schedule, TrainConfig::default(), 3);
    let xt = Array2::from_shape_fn((5, 1), |(i, _)| i as f64 - 2.0);
    for n in &nets {
        let x0 = n.predict_x0(&schedule, 20, xt.view());
        assert!(x0.iter().all(|v| v.is_finite()), "{}", n.name());
        if matches!(
            n.parameterisation(),
            Parameterisation::Eps | Parameterisation::Score
        ) {
            assert!(x0.iter().all(|&v| v == 0.5), "{}: {x0:?}", n.name());
        }
    }
    // The whole ELBO stays finite (eps/score weights are undefined only at that row).
    let samples = McSamples::draw(&data, 256, 0);
    let opt = MixtureDenoiser::new(data.clone());
    let mc = ElboConfig::default();
    let r = compute_elbo_with(
        &data,
        &schedule,
        &nets[1],
        &mc,
        &samples,
        Control::default(),
    )
    .expect("computes");
    let o = compute_elbo_with(&data, &schedule, &opt, &mc, &samples, Control::default())
        .expect("computes");
    assert!(r.nelbo.mean.is_finite() && o.nelbo.mean.is_finite());
}
