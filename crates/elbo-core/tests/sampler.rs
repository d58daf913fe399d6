//! The reverse process (src/sampler.rs): samplers against closed forms, determinism,
//! diffusers' timestep spacings, edge cases and errors.

use elbo_core::denoiser::{Denoiser, MixtureDenoiser};
use elbo_core::mixture::GaussianMixture;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::sampler::{
    SampleControl, SamplerConfig, SamplerError, SamplerKind, Spacing, diffusers_timesteps,
    energy_distance, initial_noise, quality, sample,
};
use elbo_core::schedule::{BetaSchedule, NoiseSchedule, ScheduleSpec, VarianceType};

/// The `gaussian` preset's N(0.5, 0.8^2).
const M: f64 = 0.5;
const S: f64 = 0.8;
/// Particles for the moment checks: the sample mean has sd S / sqrt(N) = 0.0040 and the
/// sample variance sd S^2 sqrt(2 / N) = 0.0045 (Gaussian samples).
const N: usize = 40_000;
/// Monte Carlo allowance: 4.5 standard errors (a handful of checks, each below 1e-5).
const Z: f64 = 4.5;
/// Allowance for the sampler's own bias with the exact denoiser and K = T = 1000 linear
/// steps: the prior mismatch (abar_T = 4e-5 moves the mean by sqrt(abar_T) M = 0.003) and
/// the discretisation of the reverse chain (DDPM's fixed variances, DDIM's Euler-like step)
/// are both well under 0.01 here; 0.01 absolute for the mean, 0.02 for the variance.
const BIAS_MEAN: f64 = 0.01;
const BIAS_VAR: f64 = 0.02;

fn gaussian() -> GaussianMixture {
    GaussianMixture::gaussian(&[M], vec![vec![S * S]]).expect("valid Gaussian")
}

fn linear(steps: usize, rescale: bool) -> NoiseSchedule {
    let mut spec = ScheduleSpec::preset(BetaSchedule::Linear, steps);
    spec.rescale_zero_snr = rescale;
    spec.build().expect("valid schedule")
}

fn run(
    model: &dyn Denoiser,
    schedule: &NoiseSchedule,
    config: &SamplerConfig,
    count: usize,
    seed: u64,
    noise_seed: u64,
) -> ndarray::Array2<f64> {
    let x_t = initial_noise(count, model.dim(), seed);
    sample(
        model,
        schedule,
        config,
        x_t,
        noise_seed,
        false,
        SampleControl::default(),
    )
    .expect("valid sampler")
    .samples
}

fn mean_var(x: &ndarray::Array2<f64>) -> (f64, f64) {
    let v: Vec<f64> = x.column(0).to_vec();
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var)
}

fn check_gaussian_moments(config: &SamplerConfig) {
    let data = gaussian();
    let model = MixtureDenoiser::new(data);
    let schedule = linear(1000, false);
    let x = run(&model, &schedule, config, N, 1, 2);
    let (m, var) = mean_var(&x);
    let se_m = S / (N as f64).sqrt();
    let se_v = S * S * (2.0 / N as f64).sqrt();
    assert!(
        (m - M).abs() <= Z * se_m + BIAS_MEAN,
        "{}: mean {m} vs {M}",
        config.label()
    );
    assert!(
        (var - S * S).abs() <= Z * se_v + BIAS_VAR,
        "{}: variance {var} vs {}",
        config.label(),
        S * S
    );
}

#[test]
fn ddpm_many_steps_gives_the_gaussian_mean_and_variance() {
    for variance in [VarianceType::FixedSmall, VarianceType::FixedLarge] {
        check_gaussian_moments(&SamplerConfig {
            kind: SamplerKind::Ddpm,
            steps: 1000,
            variance,
            ..SamplerConfig::default()
        });
    }
}

#[test]
fn ddim_many_steps_gives_the_gaussian_mean_and_variance() {
    for eta in [0.0, 1.0] {
        check_gaussian_moments(&SamplerConfig {
            kind: SamplerKind::Ddim,
            steps: 1000,
            eta,
            ..SamplerConfig::default()
        });
    }
}

#[test]
fn ddim_eta_zero_is_deterministic_given_x_t() {
    let data = DataSpec::new(DataPreset::Bimodal).build().expect("preset");
    let model = MixtureDenoiser::new(data);
    let schedule = linear(1000, false);
    let config = SamplerConfig {
        kind: SamplerKind::Ddim,
        steps: 20,
        eta: 0.0,
        ..SamplerConfig::default()
    };
    let a = run(&model, &schedule, &config, 1000, 5, 1);
    let b = run(&model, &schedule, &config, 1000, 5, 999);
    assert_eq!(a, b, "DDIM eta = 0 must not depend on the noise seed");
    // And ancestral sampling does depend on it (the check above is not vacuous).
    let ddpm = SamplerConfig {
        kind: SamplerKind::Ddpm,
        ..config
    };
    let c = run(&model, &schedule, &ddpm, 1000, 5, 1);
    let d = run(&model, &schedule, &ddpm, 1000, 5, 999);
    assert_ne!(c, d);
    // The same seeds reproduce the same ancestral samples.
    assert_eq!(c, run(&model, &schedule, &ddpm, 1000, 5, 1));
}

/// diffusers `DDPMScheduler(num_train_timesteps=1000).set_timesteps(50)` for each
/// `timestep_spacing` (steps_offset = 0 except where stated); the rules of
/// `set_timesteps` evaluated with numpy's round-half-to-even:
/// linspace `np.linspace(0, 999, 50).round()[::-1]`, leading `np.arange(0, 50) * 20 +
/// steps_offset` reversed, trailing `np.round(np.arange(1000, 0, -20.0)) - 1`.
const LINSPACE_1000_50: [usize; 50] = [
    999, 979, 958, 938, 917, 897, 877, 856, 836, 816, 795, 775, 754, 734, 714, 693, 673, 652, 632,
    612, 591, 571, 550, 530, 510, 489, 469, 449, 428, 408, 387, 367, 347, 326, 306, 285, 265, 245,
    224, 204, 183, 163, 143, 122, 102, 82, 61, 41, 20, 0,
];

#[test]
fn spacings_match_diffusers_for_1000_and_50() {
    assert_eq!(
        diffusers_timesteps(1000, 50, Spacing::Linspace, 0).expect("valid"),
        LINSPACE_1000_50.to_vec()
    );
    let leading: Vec<usize> = (0..50).rev().map(|i| i * 20).collect();
    assert_eq!(
        diffusers_timesteps(1000, 50, Spacing::Leading, 0).expect("valid"),
        leading
    );
    // Stable Diffusion's steps_offset = 1: 981, 961, ..., 1.
    let leading1: Vec<usize> = (0..50).rev().map(|i| i * 20 + 1).collect();
    assert_eq!(
        diffusers_timesteps(1000, 50, Spacing::Leading, 1).expect("valid"),
        leading1
    );
    let trailing: Vec<usize> = (0..50).map(|i| 999 - 20 * i).collect();
    assert_eq!(
        diffusers_timesteps(1000, 50, Spacing::Trailing, 0).expect("valid"),
        trailing
    );
}

/// Lin et al. 2023 ("Common Diffusion Noise Schedules and Sample Steps are Flawed"),
/// Table 2, T = 1000 and 10 steps, converted from its 1-based t to diffusers' 0-based tau.
#[test]
fn spacings_match_lin_et_al_table_2() {
    let lin: Vec<usize> = (0..10).rev().map(|i| 111 * i).collect();
    let lead: Vec<usize> = (0..10).rev().map(|i| 100 * i).collect();
    let trail: Vec<usize> = (1..=10).rev().map(|i| 100 * i - 1).collect();
    assert_eq!(
        diffusers_timesteps(1000, 10, Spacing::Linspace, 0).expect("ok"),
        lin
    );
    assert_eq!(
        diffusers_timesteps(1000, 10, Spacing::Leading, 0).expect("ok"),
        lead
    );
    assert_eq!(
        diffusers_timesteps(1000, 10, Spacing::Trailing, 0).expect("ok"),
        trail
    );
}

#[test]
fn every_step_count_gives_k_distinct_timesteps_in_range() {
    for t in [1, 2, 7, 50, 1000] {
        for k in 1..=t {
            for spacing in Spacing::ALL {
                let ts = diffusers_timesteps(t, k, spacing, 0).expect("valid");
                assert_eq!(ts.len(), k, "T = {t}, K = {k}, {spacing}");
                assert!(ts.windows(2).all(|w| w[0] > w[1]), "decreasing");
                assert!(ts[0] < t, "T = {t}, K = {k}, {spacing}");
            }
        }
    }
}

#[test]
fn bad_step_counts_and_eta_are_clear_errors() {
    for k in [0, 1001] {
        let e = diffusers_timesteps(1000, k, Spacing::Leading, 0).expect_err("out of range");
        assert_eq!(
            e.to_string(),
            format!("sampling steps K = {k} is out of range 1..=T (T = 1000)")
        );
    }
    let e = diffusers_timesteps(1000, 1000, Spacing::Leading, 1).expect_err("offset too big");
    assert!(
        matches!(e, SamplerError::BadOffset { largest: 1000, .. }),
        "{e}"
    );
    let model = MixtureDenoiser::new(gaussian());
    let schedule = linear(100, false);
    let bad_eta = SamplerConfig {
        kind: SamplerKind::Ddim,
        steps: 10,
        eta: 1.5,
        ..SamplerConfig::default()
    };
    let e = sample(
        &model,
        &schedule,
        &bad_eta,
        initial_noise(4, 1, 0),
        0,
        false,
        SampleControl::default(),
    )
    .expect_err("eta out of range");
    assert_eq!(
        e.to_string(),
        "eta = 1.5 is out of range: eta must be between 0 and 1"
    );
}

#[test]
fn zero_terminal_snr_one_step_and_all_steps_stay_finite() {
    let data = DataSpec::new(DataPreset::TwoMoons).build().expect("preset");
    let model = MixtureDenoiser::new(data);
    let schedule = linear(200, true);
    assert_eq!(schedule.terminal_abar(), 0.0);
    for kind in SamplerKind::ALL {
        for spacing in Spacing::ALL {
            for steps in [1, 2, 200] {
                for variance in [VarianceType::FixedSmall, VarianceType::FixedLarge] {
                    let config = SamplerConfig {
                        kind,
                        steps,
                        eta: 1.0,
                        spacing,
                        steps_offset: 0,
                        variance,
                    };
                    let x = run(&model, &schedule, &config, 300, 3, 4);
                    assert!(
                        x.iter().all(|v| v.is_finite()),
                        "{} not finite",
                        config.label()
                    );
                }
            }
        }
    }
}

#[test]
fn one_trailing_step_from_t_returns_the_x0_prediction() {
    // K = 1 with trailing spacing visits t = T only, and the last step is x0_hat(x_T, T).
    let data = gaussian();
    let model = MixtureDenoiser::new(data);
    let schedule = linear(100, false);
    let x_t = initial_noise(64, 1, 9);
    let expected = model.predict_x0(&schedule, 100, x_t.view());
    for kind in SamplerKind::ALL {
        let config = SamplerConfig {
            kind,
            steps: 1,
            spacing: Spacing::Trailing,
            ..SamplerConfig::default()
        };
        let got = sample(
            &model,
            &schedule,
            &config,
            x_t.clone(),
            0,
            true,
            SampleControl::default(),
        )
        .expect("valid");
        assert_eq!(got.timesteps, vec![100, 0]);
        assert_eq!(got.states.len(), 2);
        for (a, b) in got.samples.iter().zip(expected.iter()) {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "{kind}: {a} vs {b}"
            );
        }
    }
}

/// Energy distance of two samples of the same distribution is 0 within noise, and clearly
/// positive for shifted data; quality() of data samples gives a log p0 gap near 0.
#[test]
fn quality_figures_are_calibrated_on_data_samples() {
    let data = DataSpec::new(DataPreset::TwoMoons).build().expect("preset");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(11);
    let (x, _) = data.sample(4000, &mut rng);
    let q = quality(&data, x.view(), 12).expect("enough samples");
    assert!(
        q.log_p0_gap.mean.abs() <= Z * q.log_p0_gap.stderr,
        "{:?}",
        q.log_p0_gap
    );
    assert!(
        q.energy_distance.mean.abs() <= Z * q.energy_distance.stderr,
        "{:?}",
        q.energy_distance
    );
    let shifted = &x + 0.5;
    let e = energy_distance(shifted.view(), x.view()).expect("enough");
    assert!(e.mean > 10.0 * e.stderr, "{e:?}");
    assert!(energy_distance(x.slice(ndarray::s![..10, ..]), x.view()).is_err());
}
