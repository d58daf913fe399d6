//! The reverse (generative) process: DDPM ancestral sampling and DDIM over any denoiser,
//! on a subset of the timesteps, and sample-quality figures that need no neural network.
//!
//! Timestep indexing: the core's t runs `1..=T` with `abar_0 = 1`; diffusers' timesteps
//! run `tau = 0..T-1` with `alphas_cumprod[tau] = abar_{tau+1}`, so `t = tau + 1`.
//!
//! Spacing rules (diffusers `DDPMScheduler.set_timesteps` / `DDIMScheduler.set_timesteps`,
//! K = number of sampling steps, T = number of training steps, `round` = numpy's
//! round-half-to-even):
//! ```text
//! linspace: tau_i = round(i (T - 1) / (K - 1)), i = 0..K-1 (the last is T - 1; K = 1 gives [0])
//! leading:  tau_i = i * (T div K) + steps_offset, i = 0..K-1
//! trailing: tau_i = round(T - i T / K) - 1,     i = 0..K-1
//! ```
//! each visited in decreasing order. `steps_offset` defaults to 0 here, diffusers' default
//! for `DDPMScheduler` and `DDIMScheduler`; Stable Diffusion configs use 1.
//!
//! One step from a chosen t to the next chosen (smaller) step s (s = 0 after the last),
//! with `x0_hat` the denoiser's prediction and `eps_hat = (x_t - sqrt(abar_t) x0_hat) /
//! sqrt(1 - abar_t)`:
//! ```text
//! DDPM ancestral (Ho et al. 2020, eq. 6-7; the skip-step posterior q(x_s | x_t, x0) as
//! diffusers' DDPMScheduler.step computes it with prev_t = s):
//!   alpha_ts = abar_t / abar_s,  beta_ts = 1 - alpha_ts
//!   mean     = sqrt(abar_s) beta_ts / (1 - abar_t) x0_hat + sqrt(alpha_ts) (1 - abar_s) / (1 - abar_t) x_t
//!   var      = (1 - abar_s) / (1 - abar_t) beta_ts   (fixed_small)   or   beta_ts   (fixed_large)
//!              or, analytic (Bao et al. 2022), fixed_small's + c_x0^2 E||x0 - x0_hat(x_t)||^2 / d
//!              with c_x0 the coefficient of x0_hat below and the model's error at t by
//!              quadrature (see [`sample_with_data`])
//!   x_s      = mean + sqrt(var) z,   z ~ N(0, I), and z = 0 on the last step (DDPM Algorithm 2)
//! DDIM (Song et al. 2021, eq. 12 with sigma from eq. 16):
//!   sigma^2  = eta^2 (1 - abar_s) / (1 - abar_t) (1 - abar_t / abar_s)
//!   x_s      = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - sigma^2) eps_hat + sigma z
//! ```
//! DDPM with K = T is exactly the reverse model of [`crate::elbo`] (mean of Luo eq. 84/94)
//! with a noiseless final step. With
//! eta = 1 DDIM has the DDPM fixed_small variance; eta = 0 is deterministic given x_T.
//! Unlike diffusers' defaults no clipping of x0_hat is done (`clip_sample = False`), and
//! DDIM steps to the next chosen timestep (diffusers' DDIM uses `tau - T div K`, which is
//! the same for leading and trailing spacing).
//!
//! Zero terminal SNR (abar_T = 0): x0 from eps is undefined there, so the samplers take
//! the denoiser's x0-prediction directly; every coefficient above stays finite
//! (`alpha_ts = 0`, `beta_ts = 1`, `eps_hat = x_T`).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::denoiser::Denoiser;
use crate::elbo::{Estimate, moments};
use crate::mixture::GaussianMixture;
use crate::schedule::{NoiseSchedule, VarianceType};

/// Particles per parallel chunk of a step (each chunk is one call of the denoiser).
pub const CHUNK: usize = 512;

/// What can go wrong when setting up a sampler. Messages name the value.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SamplerError {
    /// K outside `1..=T`.
    #[error("sampling steps K = {steps} is out of range 1..=T (T = {train_steps})")]
    BadSteps {
        /// The requested K.
        steps: usize,
        /// The schedule's T.
        train_steps: usize,
    },
    /// eta outside `[0, 1]` or not finite.
    #[error("eta = {0} is out of range: eta must be between 0 and 1")]
    BadEta(f64),
    /// A leading spacing whose offset pushes the largest timestep past T - 1.
    #[error(
        "steps_offset = {offset} with leading spacing and K = {steps} gives timestep {largest}, past T - 1 = {last} (diffusers' 0-based timesteps)"
    )]
    BadOffset {
        /// The offset.
        offset: usize,
        /// K.
        steps: usize,
        /// The largest timestep it gives (wider than `usize`: offset + (K - 1) (T div K)
        /// may not fit).
        largest: u128,
        /// T - 1.
        last: usize,
    },
    /// A particle count of zero.
    #[error("count N = {0} is out of range: N must be at least 1")]
    BadCount(usize),
    /// The analytic variance asked for without the data it is computed from.
    #[error(
        "the analytic variance needs the data (the model's error at each t is integrated over them): use sample_with_data"
    )]
    AnalyticNeedsData,
    /// The denoiser and the particles disagree on dimension.
    #[error("the model is {model}D but the particles are {particles}D")]
    DimensionMismatch {
        /// Model dimension.
        model: usize,
        /// Particle dimension.
        particles: usize,
    },
    /// Too few samples for a two-sample distance with a standard error.
    #[error(
        "the energy distance needs at least {needed} samples ({ENERGY_BATCHES} batches of 2), got {got}"
    )]
    TooFewForDistance {
        /// Samples needed.
        needed: usize,
        /// Samples given.
        got: usize,
    },
    /// A newer request superseded this one.
    #[error("cancelled")]
    Cancelled,
}

/// The sampler family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// DDPM ancestral sampling (Ho et al. 2020).
    #[default]
    Ddpm,
    /// DDIM (Song et al. 2021), stochasticity eta in [0, 1].
    Ddim,
}

impl SamplerKind {
    /// Both, in UI order.
    pub const ALL: [SamplerKind; 2] = [SamplerKind::Ddpm, SamplerKind::Ddim];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::Ddpm => "ddpm",
            SamplerKind::Ddim => "ddim",
        }
    }
}

impl fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// diffusers' `timestep_spacing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// `round(linspace(0, T - 1, K))`.
    Linspace,
    /// `arange(K) * (T div K) + steps_offset` (diffusers' default).
    #[default]
    Leading,
    /// `round(arange(T, 0, -T/K)) - 1` (Lin et al. 2023 recommend it).
    Trailing,
}

impl Spacing {
    /// All three, in UI order.
    pub const ALL: [Spacing; 3] = [Spacing::Linspace, Spacing::Leading, Spacing::Trailing];

    /// The diffusers name.
    pub fn name(self) -> &'static str {
        match self {
            Spacing::Linspace => "linspace",
            Spacing::Leading => "leading",
            Spacing::Trailing => "trailing",
        }
    }
}

impl fmt::Display for Spacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that defines a sampler run except the model and the noise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplerConfig {
    /// DDPM or DDIM.
    pub kind: SamplerKind,
    /// Number of sampling steps K (1..=T).
    pub steps: usize,
    /// DDIM's eta (ignored by DDPM).
    pub eta: f64,
    /// Which K of the T timesteps.
    pub spacing: Spacing,
    /// diffusers' `steps_offset` (leading spacing only).
    pub steps_offset: usize,
    /// DDPM's variance (ignored by DDIM).
    pub variance: VarianceType,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            kind: SamplerKind::Ddpm,
            steps: 1000,
            eta: 0.0,
            spacing: Spacing::Leading,
            steps_offset: 0,
            variance: VarianceType::FixedSmall,
        }
    }
}

impl SamplerConfig {
    /// A short label for legends: "DDPM 1000 (fixed_small, leading)", "DDIM 10 (eta 0, ...)".
    pub fn label(&self) -> String {
        match self.kind {
            SamplerKind::Ddpm => format!(
                "DDPM {} steps ({}, {})",
                self.steps, self.variance, self.spacing
            ),
            SamplerKind::Ddim => format!(
                "DDIM {} steps (eta {}, {})",
                self.steps, self.eta, self.spacing
            ),
        }
    }
}

/// diffusers' 0-based timesteps `tau` (decreasing) for K of T steps; see the module docs.
pub fn diffusers_timesteps(
    train_steps: usize,
    steps: usize,
    spacing: Spacing,
    steps_offset: usize,
) -> Result<Vec<usize>, SamplerError> {
    let bad = SamplerError::BadSteps { steps, train_steps };
    if steps == 0 || steps > train_steps {
        return Err(bad);
    }
    let (t, k) = (train_steps as f64, steps as f64);
    let mut out: Vec<usize> = match spacing {
        Spacing::Linspace => {
            if steps == 1 {
                vec![0]
            } else {
                // numpy's linspace: i * ((stop - start) / (num - 1)), the last set to stop.
                let step = (t - 1.0) / (k - 1.0);
                (0..steps)
                    .map(|i| {
                        if i + 1 == steps {
                            train_steps - 1
                        } else {
                            (i as f64 * step).round_ties_even() as usize
                        }
                    })
                    .collect()
            }
        }
        Spacing::Leading => {
            let ratio = train_steps / steps;
            // (K - 1) (T div K) <= T - 1 cannot overflow; adding the offset can (an offset
            // near usize::MAX), so the sum is checked and computed in u128 for the message.
            let base = (steps - 1) * ratio;
            match base.checked_add(steps_offset) {
                Some(largest) if largest < train_steps => {}
                _ => {
                    return Err(SamplerError::BadOffset {
                        offset: steps_offset,
                        steps,
                        largest: base as u128 + steps_offset as u128,
                        last: train_steps - 1,
                    });
                }
            }
            // Every i * ratio + offset is at most the largest, checked above.
            (0..steps).map(|i| i * ratio + steps_offset).collect()
        }
        Spacing::Trailing => {
            let ratio = t / k;
            (0..steps)
                .map(|i| ((t - i as f64 * ratio).round_ties_even() as usize).saturating_sub(1))
                .collect()
        }
    };
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.dedup();
    Ok(out)
}

/// The core's timesteps `t = tau + 1` (decreasing, in `1..=T`) of a sampler on a schedule.
pub fn timesteps(
    schedule: &NoiseSchedule,
    config: &SamplerConfig,
) -> Result<Vec<usize>, SamplerError> {
    Ok(diffusers_timesteps(
        schedule.steps(),
        config.steps,
        config.spacing,
        config.steps_offset,
    )?
    .into_iter()
    // Every tau is at most T - 1 (checked for leading spacing), so tau + 1 <= T.
    .map(|tau| tau + 1)
    .collect())
}

/// Validate a configuration against a schedule (K in 1..=T, eta in [0, 1], the offset).
pub fn validate(schedule: &NoiseSchedule, config: &SamplerConfig) -> Result<(), SamplerError> {
    if !(config.eta.is_finite() && (0.0..=1.0).contains(&config.eta)) {
        return Err(SamplerError::BadEta(config.eta));
    }
    timesteps(schedule, config).map(|_| ())
}

/// The coefficients of one step from t to s: `x_s = c_x0 x0_hat + c_xt x_t + sd z`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCoeffs {
    /// Coefficient of x0_hat.
    pub c_x0: f64,
    /// Coefficient of x_t.
    pub c_xt: f64,
    /// Standard deviation of the added noise.
    pub sd: f64,
}

impl StepCoeffs {
    /// The coefficients of one step from t to s < t (s = 0 is the data; see the module
    /// docs for the formulas). `last` marks the final step (no noise for DDPM).
    pub fn between(
        schedule: &NoiseSchedule,
        config: &SamplerConfig,
        t: usize,
        s: usize,
        last: bool,
    ) -> Self {
        let (la_t, la_s) = (schedule.log_abar(t), schedule.log_abar(s));
        let one_m_t = schedule.one_minus_abar(t);
        let one_m_s = schedule.one_minus_abar(s);
        let sqrt_abar_s = (0.5 * la_s).exp();
        // abar_t / abar_s in log space: exp(-inf) = 0 at zero terminal SNR.
        let ln_alpha_ts = la_t - la_s;
        let alpha_ts = ln_alpha_ts.exp();
        let beta_ts = -ln_alpha_ts.exp_m1();
        match config.kind {
            SamplerKind::Ddpm => {
                // Analytic starts from fixed_small's variance; the model's mean error is
                // added by the sampler (see `StepCoeffs::with_mean_error`).
                let var = match config.variance {
                    VarianceType::FixedSmall | VarianceType::Analytic => {
                        one_m_s / one_m_t * beta_ts
                    }
                    VarianceType::FixedLarge => beta_ts,
                };
                StepCoeffs {
                    c_x0: sqrt_abar_s * beta_ts / one_m_t,
                    c_xt: alpha_ts.sqrt() * one_m_s / one_m_t,
                    sd: if last { 0.0 } else { var.max(0.0).sqrt() },
                }
            }
            SamplerKind::Ddim => {
                let eta = config.eta;
                let sigma2 = (eta * eta * one_m_s / one_m_t * beta_ts).max(0.0);
                // x_s = sqrt(abar_s) x0 + k (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t).
                let k = (one_m_s - sigma2).max(0.0).sqrt() / one_m_t.sqrt();
                let sqrt_abar_t = (0.5 * la_t).exp();
                StepCoeffs {
                    c_x0: sqrt_abar_s - k * sqrt_abar_t,
                    c_xt: k,
                    sd: sigma2.sqrt(),
                }
            }
        }
    }
}

impl StepCoeffs {
    /// The analytic variance of a DDPM step (Bao et al. 2022): the step's variance plus
    /// `c_x0^2 mse_x0 / d`, the model's squared mean error per dimension (`mse_x0 =
    /// E||x0 - x0_hat(x_t)||^2` at the step's t). The sampler keeps DDPM's last step
    /// noiseless (it does not call this there).
    pub fn with_mean_error(self, mse_x0: f64, dim: usize) -> Self {
        let extra = self.c_x0 * self.c_x0 * mse_x0 / dim.max(1) as f64;
        let extra = if extra.is_finite() && extra > 0.0 {
            extra
        } else {
            0.0
        };
        StepCoeffs {
            sd: (self.sd * self.sd + extra).sqrt(),
            ..self
        }
    }
}

/// Progress and cancellation of a sampler run.
#[derive(Default, Clone, Copy)]
pub struct SampleControl<'a> {
    /// Called after each step with the number of steps done.
    pub on_step: Option<&'a (dyn Fn(usize) + Sync)>,
    /// Set to stop early with [`SamplerError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct SampleRun {
    /// The timesteps visited, decreasing (`t` in 1..=T), then 0 for the output.
    pub timesteps: Vec<usize>,
    /// The particles at each entry of `timesteps` (x_T first, the samples last), when
    /// recorded; else empty.
    pub states: Vec<Array2<f64>>,
    /// The generated samples, `(N, d)`.
    pub samples: Array2<f64>,
}

/// `N` draws of `x_T ~ N(0, I)` from `seed`.
pub fn initial_noise(count: usize, dim: usize, seed: u64) -> Array2<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((count, dim), || StandardNormal.sample(&mut rng))
}

/// A seed for the noise of one chunk at one step (SplitMix64 of the three numbers), so the
/// noise does not depend on how rayon schedules the chunks.
fn chunk_seed(seed: u64, step: usize, chunk: usize) -> u64 {
    let mut z = seed
        ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (chunk as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Run a sampler from `x_T` (rows are particles). `noise_seed` seeds the noise added on
/// the way (unused when it is zero, as for DDIM with eta = 0). With `record`, every
/// intermediate state is kept (memory: (K + 1) N d numbers).
///
/// # Errors
/// A bad configuration, particles of another dimension, cancellation, or
/// [`SamplerError::AnalyticNeedsData`] for a DDPM run under the analytic variance (use
/// [`sample_with_data`]).
pub fn sample(
    denoiser: &dyn Denoiser,
    schedule: &NoiseSchedule,
    config: &SamplerConfig,
    x_t: Array2<f64>,
    noise_seed: u64,
    record: bool,
    control: SampleControl<'_>,
) -> Result<SampleRun, SamplerError> {
    sample_with_data(
        denoiser, schedule, config, None, x_t, noise_seed, record, control,
    )
}

/// As [`sample`], with the data the analytic variance is computed from: a DDPM run under
/// [`VarianceType::Analytic`] adds to each step's variance the model's squared mean error
/// per dimension, with the model's `E||x0 - x0_hat(x_t)||^2` at each visited t by
/// quadrature over these data (or closed-form; see [`crate::elbo::mse_x0_at`]). Other
/// runs ignore `data`.
///
/// # Errors
/// As [`sample`]; `data` of another dimension than the model is a dimension mismatch.
#[allow(clippy::too_many_arguments)]
pub fn sample_with_data(
    denoiser: &dyn Denoiser,
    schedule: &NoiseSchedule,
    config: &SamplerConfig,
    data: Option<&GaussianMixture>,
    x_t: Array2<f64>,
    noise_seed: u64,
    record: bool,
    control: SampleControl<'_>,
) -> Result<SampleRun, SamplerError> {
    validate(schedule, config)?;
    let analytic = config.kind == SamplerKind::Ddpm && config.variance == VarianceType::Analytic;
    let mse_x0: Vec<(usize, f64)> = if analytic {
        let data = data.ok_or(SamplerError::AnalyticNeedsData)?;
        if data.dim() != denoiser.dim() {
            return Err(SamplerError::DimensionMismatch {
                model: denoiser.dim(),
                particles: data.dim(),
            });
        }
        timesteps(schedule, config)?
            .into_par_iter()
            .map(|t| (t, crate::elbo::mse_x0_at(data, schedule, denoiser, t).value))
            .collect()
    } else {
        Vec::new()
    };
    if x_t.ncols() != denoiser.dim() {
        return Err(SamplerError::DimensionMismatch {
            model: denoiser.dim(),
            particles: x_t.ncols(),
        });
    }
    let mut ts = timesteps(schedule, config)?;
    let mut x = x_t;
    let mut states = Vec::new();
    if record {
        states.push(x.clone());
    }
    let k = ts.len();
    // perm[j] = the caller's row of our row j (rows are kept in spatial order).
    let mut perm: Vec<usize> = (0..x.nrows()).collect();
    for i in 0..k {
        if control.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(SamplerError::Cancelled);
        }
        if i % RESORT_EVERY == 0 {
            let order = spatial_order(&x);
            x = x.select(Axis(0), &order);
            perm = order.iter().map(|&j| perm[j]).collect();
        }
        let t = ts[i];
        let s = ts.get(i + 1).copied().unwrap_or(0);
        let mut c = StepCoeffs::between(schedule, config, t, s, i + 1 == k);
        if analytic && i + 1 < k {
            let mse = mse_x0.iter().find(|(u, _)| *u == t).map_or(0.0, |m| m.1);
            c = c.with_mean_error(mse, denoiser.dim());
        }
        step_in_place(
            denoiser,
            schedule,
            t,
            c,
            &mut x,
            chunk_seed(noise_seed, i, 0),
        );
        if record {
            states.push(unpermute(&x, &perm));
        }
        if let Some(f) = control.on_step {
            f(i + 1);
        }
    }
    ts.push(0);
    Ok(SampleRun {
        timesteps: ts,
        states,
        samples: unpermute(&x, &perm),
    })
}

/// Steps between re-sorts of the particles into spatial order.
const RESORT_EVERY: usize = 25;
/// Width of the x-strips of the spatial order (in data units).
const STRIP: f64 = 0.25;

/// An order of the rows that puts near particles next to each other (strips of x, then y
/// within a strip), so the denoiser's kernel can skip far components for a whole block.
/// Results do not depend on it except through which noise draw meets which particle.
fn spatial_order(x: &Array2<f64>) -> Vec<usize> {
    let key = |i: usize| {
        let strip = (x[[i, 0]] / STRIP).floor();
        let y = if x.ncols() > 1 { x[[i, 1]] } else { x[[i, 0]] };
        (strip, y)
    };
    let mut order: Vec<usize> = (0..x.nrows()).collect();
    order.sort_by(|&a, &b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    order
}

/// Rows back in the caller's order: `out[perm[j]] = x[j]`.
fn unpermute(x: &Array2<f64>, perm: &[usize]) -> Array2<f64> {
    let mut out = Array2::zeros(x.raw_dim());
    for (j, &p) in perm.iter().enumerate() {
        out.row_mut(p).assign(&x.row(j));
    }
    out
}

/// One step on every particle, in parallel chunks of [`CHUNK`] rows.
fn step_in_place(
    denoiser: &dyn Denoiser,
    schedule: &NoiseSchedule,
    t: usize,
    c: StepCoeffs,
    x: &mut Array2<f64>,
    step_seed: u64,
) {
    let chunks: Vec<_> = x.axis_chunks_iter_mut(Axis(0), CHUNK).collect();
    chunks
        .into_par_iter()
        .enumerate()
        .for_each(|(j, mut chunk)| {
            let x0 = denoiser.predict_x0(schedule, t, chunk.view());
            if c.sd > 0.0 {
                let mut rng = StdRng::seed_from_u64(chunk_seed(step_seed, 0, j + 1));
                ndarray::Zip::from(&mut chunk).and(&x0).for_each(|xt, &x0| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    *xt = c.c_x0 * x0 + c.c_xt * *xt + c.sd * z;
                });
            } else {
                ndarray::Zip::from(&mut chunk)
                    .and(&x0)
                    .for_each(|xt, &x0| *xt = c.c_x0 * x0 + c.c_xt * *xt);
            }
        });
}

/// Independent batches of the energy distance (its standard error is the spread of these).
pub const ENERGY_BATCHES: usize = 8;
/// Largest batch of the energy distance (each batch costs O(batch^2)).
pub const ENERGY_BATCH_MAX: usize = 500;

/// Sample-quality figures of generated samples against the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Mean `log p0(x)` of the generated samples (exact density), with its standard error.
    pub mean_log_p0: Estimate,
    /// The data entropy `H(p0) = -E log p0` from fresh data samples.
    pub data_entropy: Estimate,
    /// `-mean log p0 - H(p0)`: about 0 for perfect samples (a cross-entropy gap, can be
    /// negative when samples crowd the modes).
    pub log_p0_gap: Estimate,
    /// Energy distance to fresh data samples (see [`energy_distance`]).
    pub energy_distance: Estimate,
}

/// The energy distance (Szekely & Rizzo 2013), unbiased U-statistic form:
///
/// ```text
/// D^2(P, Q) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|,   X, X' ~ P,  Y, Y' ~ Q  (Euclidean norm)
/// ```
/// estimated on `ENERGY_BATCHES` disjoint batches of `m = min(N / ENERGY_BATCHES, 500)`
/// points of each sample (the within-sample means exclude i = j). The result is the mean
/// over batches and its standard error the batch standard deviation / sqrt(batches).
/// D^2 = 0 exactly when P = Q; the estimate can dip below 0 by noise.
pub fn energy_distance(
    xs: ArrayView2<'_, f64>,
    ys: ArrayView2<'_, f64>,
) -> Result<Estimate, SamplerError> {
    let n = xs.nrows().min(ys.nrows());
    let m = (n / ENERGY_BATCHES).min(ENERGY_BATCH_MAX);
    if m < 2 {
        return Err(SamplerError::TooFewForDistance {
            needed: 2 * ENERGY_BATCHES,
            got: n,
        });
    }
    let dist = |a: ndarray::ArrayView1<'_, f64>, b: ndarray::ArrayView1<'_, f64>| {
        a.iter()
            .zip(b.iter())
            .map(|(p, q)| (p - q) * (p - q))
            .sum::<f64>()
            .sqrt()
    };
    let values: Vec<f64> = (0..ENERGY_BATCHES)
        .into_par_iter()
        .map(|b| {
            let x = xs.slice(ndarray::s![b * m..(b + 1) * m, ..]);
            let y = ys.slice(ndarray::s![b * m..(b + 1) * m, ..]);
            let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
            for i in 0..m {
                for j in 0..m {
                    xy += dist(x.row(i), y.row(j));
                }
                for j in (i + 1)..m {
                    xx += dist(x.row(i), x.row(j));
                    yy += dist(y.row(i), y.row(j));
                }
            }
            let mf = m as f64;
            let pairs = mf * (mf - 1.0) / 2.0;
            2.0 * xy / (mf * mf) - xx / pairs - yy / pairs
        })
        .collect();
    let mo = moments(&values);
    Ok(Estimate {
        mean: mo.mean,
        stderr: mo.stderr,
    })
}

/// The quality figures of `samples` against the data, with fresh data samples drawn from
/// `seed` (as many as there are generated samples).
pub fn quality(
    data: &GaussianMixture,
    samples: ArrayView2<'_, f64>,
    seed: u64,
) -> Result<Quality, SamplerError> {
    let n = samples.nrows();
    let mut rng = StdRng::seed_from_u64(seed);
    let (fresh, _) = data.sample(n, &mut rng);
    let log_gen = data.log_density_batch(samples);
    let log_data = data.log_density_batch(fresh.view());
    let gen_m = moments(&log_gen);
    let ent = moments(&log_data.iter().map(|l| -l).collect::<Vec<_>>());
    // Independent samples: the stderr of the difference is the root of summed squares.
    let gap = Estimate {
        mean: -gen_m.mean - ent.mean,
        stderr: gen_m.stderr.hypot(ent.stderr),
    };
    let energy = energy_distance(samples, fresh.view())?;
    Ok(Quality {
        mean_log_p0: Estimate {
            mean: gen_m.mean,
            stderr: gen_m.stderr,
        },
        data_entropy: Estimate {
            mean: ent.mean,
            stderr: ent.stderr,
        },
        log_p0_gap: gap,
        energy_distance: energy,
    })
}

/// The step counts of the quality-vs-steps figure: {1, 2, 5, ..., 1000} clipped to T, with
/// T itself added when it is not in the list.
pub fn quality_step_counts(train_steps: usize) -> Vec<usize> {
    let mut out: Vec<usize> = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        .into_iter()
        .filter(|&k| k <= train_steps)
        .collect();
    if train_steps <= 1000 && out.last() != Some(&train_steps) {
        out.push(train_steps);
    }
    out
}

/// One point of the quality-vs-steps figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QualityPoint {
    /// K.
    pub steps: usize,
    /// The figures at K.
    pub quality: Quality,
}

/// Quality against the number of steps for one sampler family (the same x_T and seeds
/// for every K).
#[allow(clippy::too_many_arguments)]
pub fn quality_vs_steps(
    denoiser: &dyn Denoiser,
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    base: &SamplerConfig,
    step_counts: &[usize],
    count: usize,
    seed: u64,
    control: SampleControl<'_>,
) -> Result<Vec<QualityPoint>, SamplerError> {
    if count == 0 {
        return Err(SamplerError::BadCount(count));
    }
    let x_t = initial_noise(count, data.dim(), seed);
    let mut out = Vec::with_capacity(step_counts.len());
    for (i, &k) in step_counts.iter().enumerate() {
        let config = SamplerConfig { steps: k, ..*base };
        let inner = SampleControl {
            on_step: None,
            cancel: control.cancel,
        };
        let run = sample_with_data(
            denoiser,
            schedule,
            &config,
            Some(data),
            x_t.clone(),
            seed.wrapping_add(1),
            false,
            inner,
        )?;
        let q = quality(data, run.samples.view(), seed.wrapping_add(2))?;
        out.push(QualityPoint {
            steps: k,
            quality: q,
        });
        if let Some(f) = control.on_step {
            f(i + 1);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{BetaSchedule, ScheduleSpec};

    #[test]
    fn mean_error_widens_a_step_by_the_model_error() {
        let s = ScheduleSpec::preset(BetaSchedule::Linear, 100)
            .build()
            .expect("valid");
        let config = SamplerConfig {
            steps: 10,
            variance: VarianceType::Analytic,
            ..SamplerConfig::default()
        };
        let small_config = SamplerConfig {
            variance: VarianceType::FixedSmall,
            ..config
        };
        let c = StepCoeffs::between(&s, &config, 50, 40, false);
        let small = StepCoeffs::between(&s, &small_config, 50, 40, false);
        assert_eq!(c, small, "analytic starts from fixed_small's variance");
        let w = c.with_mean_error(0.2, 2);
        let want = small.sd * small.sd + small.c_x0 * small.c_x0 * 0.1;
        assert!((w.sd * w.sd - want).abs() <= 1e-15 * want);
        assert_eq!((w.c_x0, w.c_xt), (c.c_x0, c.c_xt));
        assert_eq!(c.with_mean_error(f64::NAN, 1), c);
    }
}
