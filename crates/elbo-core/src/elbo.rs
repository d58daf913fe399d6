//! The ELBO of a diffusion model on Gaussian-mixture data, term by term (Luo eq. 58, and
//! the eq. 45 form below).
//!
//! ```text
//! NELBO = L_0 + sum_{t=2}^T L_{t-1} + L_T                                 (Luo eq. 58)
//! L_0     = -E log N(x0; mu(x_1, 1), beta_1 I)                            (mu: Luo eq. 84/94)
//! L_{t-1} = E||mu~_t(x_t, x0) - mu(x_t, t)||^2 / (2 sigma_t^2) + (d/2)(r - 1 - log r)
//!         = w_x0(t) E||x0_hat - x0||^2 + (d/2)(r - 1 - log r),  r = sigma~2_t / sigma_t^2
//! L_T     = 1/2 [abar_T (E||x0||^2 - d) - d log1p(-abar_T)]              (exact)
//! ```
//! By default ([`Method::Quadrature`] in [`ElboConfig`]) the expectations of L_0 and
//! L_{t-1} are integrated by quadrature over `x_t` through the exact posterior
//! ([`crate::quadrature`]): numbers to many digits, each with an error estimate. Monte Carlo
//! ([`Method::MonteCarlo`]) is used on request, and always for the eq. 45 form; it uses
//! common random numbers: the same N pairs `(x0_i, eps_i)`, `x0 ~ p0`, `eps ~ N(0, I)`, serve
//! every t and every parameterisation, and the standard error of a total is that of the
//! per-sample totals. Models with a closed-form error (the Gaussian fit) are evaluated
//! exactly, with standard error 0, under either method.
//!
//! The first form of the ELBO (Luo eq. 45, "consistency terms") is estimated on the same
//! budget along forward trajectories `x_0 -> x_1 -> ... -> x_T`, one per `x0_i`:
//! ```text
//! NELBO = L_0 + sum_{t=1}^{T-1} C_t + E KL(q(x_T|x_{T-1}) || N(0, I))
//! C_t   = E_{q(x_{t-1}, x_t, x_{t+1} | x0)} [ log q(x_t|x_{t-1}) - log p(x_t|x_{t+1}) ]
//! ```
//! Its expected total equals eq. 58's. Each term's Monte Carlo variance is far larger
//! than its eq. 58 counterpart (40-80x in standard error on the presets), though along one
//! trajectory the errors of the log-ratios largely cancel in the total. Luo writes `C_t` as
//! `E_{q(x_{t-1}, x_{t+1}|x0)} KL(q(x_t|x_{t-1}) || p(x_t|x_{t+1}))`, but that integrates
//! x_t out as if it were independent of x_{t+1}, which was drawn from it: taken literally
//! it overstates each term by about d nats. So each term is the log-ratio at the
//! trajectory's own x_t, whose expectation is the true consistency term.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::denoiser::Denoiser;
use crate::mixture::{GaussianMixture, LN_2PI};
use crate::param::{
    Coeffs, PosteriorMean, Weights, analytic_loss, analytic_variance, finite, reverse_variance,
};
use crate::quadrature;
use crate::schedule::{NoiseSchedule, VarianceType};

/// The largest Monte Carlo sample count accepted.
pub const MAX_SAMPLES: usize = 1 << 22;
/// A row whose per-sample losses have excess kurtosis above this is flagged unreliable:
/// a few samples carry most of the variance, so the standard error itself is shaky.
pub const KURTOSIS_UNRELIABLE: f64 = 50.0;

/// Why a computation stopped without a result.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ElboError {
    /// Sample count out of range.
    #[error("samples N = {0} is out of range: N must be between 2 and {MAX_SAMPLES}")]
    BadSamples(usize),
    /// The model and the data disagree on dimension.
    #[error("the model is {model}D but the data are {data}D")]
    DimensionMismatch {
        /// Model dimension.
        model: usize,
        /// Data dimension.
        data: usize,
    },
    /// A newer request superseded this one.
    #[error("cancelled")]
    Cancelled,
    /// A total came out NaN or infinite: the model's predictions are not finite somewhere
    /// (for example a diverged network). Such a model is not scored.
    #[error(
        "the {quantity} of model '{model}' is {value}: not finite{}, so the model cannot be scored",
        first_row.map(|t| format!(" (first undefined loss at t = {t})")).unwrap_or_default()
    )]
    NotFinite {
        /// The model's name.
        model: String,
        /// Which total (`NELBO`, `data entropy`).
        quantity: &'static str,
        /// Its value.
        value: f64,
        /// The first timestep whose loss is undefined, if any.
        first_row: Option<usize>,
    },
}

/// How the expectations of the ELBO rows are computed (the report's `method`:
/// docs/report-format.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Deterministic quadrature over `x_t` through the exact posterior (see
    /// [`crate::quadrature`]): a number to many digits with an error estimate.
    #[default]
    Quadrature,
    /// A Monte Carlo mean over N pairs `(x0, eps)` with its standard error.
    MonteCarlo,
}

impl Method {
    /// Both, in UI order.
    pub const ALL: [Method; 2] = [Method::Quadrature, Method::MonteCarlo];

    /// The name used by the CLI and the report.
    pub fn name(self) -> &'static str {
        match self {
            Method::Quadrature => "quadrature",
            Method::MonteCarlo => "monte-carlo",
        }
    }
}

/// How the ELBO is computed: the reverse variance, the method of the eq. 58 rows (quadrature
/// by default, or Monte Carlo), and the samples and seed of every Monte Carlo figure (the
/// eq. 45 form is always Monte Carlo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElboConfig {
    /// Number of `(x0, eps)` pairs N.
    pub samples: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Reverse variance choice.
    pub variance: VarianceType,
    /// Also estimate the eq. 45 (consistency) form (always by Monte Carlo).
    pub consistency: bool,
    /// Quadrature or Monte Carlo for the eq. 58 rows, the totals and H(p0).
    #[serde(default)]
    pub method: Method,
}

impl Default for ElboConfig {
    fn default() -> Self {
        ElboConfig {
            samples: 4096,
            seed: 0,
            variance: VarianceType::FixedSmall,
            consistency: false,
            method: Method::Quadrature,
        }
    }
}

/// The common random numbers: `x0_i ~ p0` and `eps_i ~ N(0, I)`.
#[derive(Debug, Clone)]
pub struct McSamples {
    /// `(N, d)` data samples.
    pub x0: Array2<f64>,
    /// `(N, d)` standard normal noise.
    pub eps: Array2<f64>,
    /// `log p0(x0_i)` (exact density).
    pub log_p0: Vec<f64>,
}

impl McSamples {
    /// Draw N pairs reproducibly from `seed`.
    pub fn draw(data: &GaussianMixture, samples: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let (drawn, labels) = data.sample(samples, &mut rng);
        let eps =
            Array2::from_shape_simple_fn((samples, data.dim()), || StandardNormal.sample(&mut rng));
        // Order the samples by the component they came from: neighbours in the array are
        // then neighbours in space at low noise, which lets the denoiser's kernel skip far
        // components for a whole block of points. Estimates do not depend on the order.
        let mut order: Vec<usize> = (0..samples).collect();
        order.sort_by_key(|&i| labels[i]);
        let x0 = drawn.select(ndarray::Axis(0), &order);
        let log_p0 = data.log_density_batch(x0.view());
        McSamples { x0, eps, log_p0 }
    }

    /// N.
    pub fn len(&self) -> usize {
        self.x0.nrows()
    }

    /// True if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps` for every sample.
    pub fn noised(&self, c: Coeffs) -> Array2<f64> {
        let mut xt = self.x0.clone();
        ndarray::Zip::from(&mut xt)
            .and(&self.eps)
            .for_each(|x, &e| *x = c.noise(*x, e));
        xt
    }
}

/// Which ELBO term a timestep row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermKind {
    /// t = 1: L_0.
    Reconstruction,
    /// t >= 2: L_{t-1}.
    Denoising,
}

/// A mean with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimate.
    pub mean: f64,
    /// Its standard error (0 when exact).
    pub stderr: f64,
}

/// Mean, standard error and excess kurtosis of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    /// Sample mean.
    pub mean: f64,
    /// Standard error of the mean (sample std / sqrt(N)).
    pub stderr: f64,
    /// Excess kurtosis (0 for a Gaussian); 0 when the variance is 0.
    pub kurtosis: f64,
}

/// Mean, standard error (`sample std / sqrt(N)`) and excess kurtosis.
pub fn moments(values: &[f64]) -> Moments {
    let n = values.len() as f64;
    if values.is_empty() {
        return Moments::default();
    }
    let mean = values.iter().sum::<f64>() / n;
    let (mut m2, mut m4) = (0.0, 0.0);
    for v in values {
        let d = v - mean;
        let d2 = d * d;
        m2 += d2;
        m4 += d2 * d2;
    }
    let var = if values.len() > 1 {
        m2 / (n - 1.0)
    } else {
        0.0
    };
    let kurtosis = if m2 > 0.0 {
        n * m4 / (m2 * m2) - 3.0
    } else {
        0.0
    };
    Moments {
        mean,
        stderr: (var / n).sqrt(),
        kurtosis,
    }
}

/// One row of the ELBO table: timestep t holds L_{t-1} (t = 1 holds L_0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimestepTerm {
    /// t in 1..=T.
    pub t: usize,
    /// beta_t.
    pub beta: f64,
    /// abar_t.
    pub alpha_bar: f64,
    /// log-SNR lambda_t (`None` where abar_t = 0).
    pub log_snr: Option<f64>,
    /// Reconstruction (t = 1) or denoising.
    pub term: TermKind,
    /// The loss term, nats.
    pub loss: Option<f64>,
    /// Its standard error.
    pub stderr: Option<f64>,
    /// `E||x0_hat - x0||^2`.
    pub mse_x0: Option<f64>,
    /// `E||eps_hat - eps||^2`.
    pub mse_eps: Option<f64>,
    /// `E||s_hat - s||^2`.
    pub mse_score: Option<f64>,
    /// `E||v_hat - v||^2`.
    pub mse_v: Option<f64>,
    /// Standard error of `mse_x0`.
    pub mse_x0_stderr: Option<f64>,
    /// Standard error of `mse_eps`.
    pub mse_eps_stderr: Option<f64>,
    /// Standard error of `mse_score`.
    pub mse_score_stderr: Option<f64>,
    /// Standard error of `mse_v`.
    pub mse_v_stderr: Option<f64>,
    /// `w_x0(t)`.
    pub weight_x0: Option<f64>,
    /// `w_eps(t)` (`None` at abar_t = 0).
    pub weight_eps: Option<f64>,
    /// `w_s(t)` (`None` at abar_t = 0).
    pub weight_score: Option<f64>,
    /// `w_v(t)`.
    pub weight_v: Option<f64>,
    /// The variance part `(d/2)(r - 1 - log r)` (0 under fixed_small); for t = 1 the
    /// decoder's `(d/2) log(2 pi beta_1)`.
    pub variance_part: f64,
    /// The reverse-step variance `sigma_t^2` of this row (beta_1 at t = 1; under
    /// `analytic` the model's own `sigma*^2_t`).
    #[serde(default)]
    pub sigma2: f64,
    /// Excess kurtosis of the per-sample losses (0 when exact; `None` under quadrature,
    /// which has no samples).
    pub kurtosis: Option<f64>,
    /// False when heavy tails make the standard error itself unreliable (`None` under
    /// quadrature).
    pub reliable: Option<bool>,
    /// True when the row is closed-form (no Monte Carlo, no quadrature).
    pub exact: bool,
    /// How the row was computed; a closed-form row (`exact`) carries the method asked for.
    pub method: Method,
    /// Eq. 45 consistency term at this t (t = 1..T-1; `None` when not computed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency_loss: Option<f64>,
    /// Its standard error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency_stderr: Option<f64>,
}

/// The eq. 45 estimate of the same NELBO (Luo's first form).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConsistencySummary {
    /// `E KL(q(x_T|x_{T-1}) || N(0, I))`.
    pub prior_loss: Estimate,
    /// The reconstruction term along the same trajectories.
    pub reconstruction_loss: Estimate,
    /// The sum of the consistency terms.
    pub consistency_loss: Estimate,
    /// The eq. 45 NELBO.
    pub nelbo: Estimate,
}

/// Everything the ELBO table shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElboResult {
    /// Dimension d.
    pub dim: usize,
    /// T.
    pub steps: usize,
    /// N.
    pub samples: usize,
    /// Seed.
    pub seed: u64,
    /// Model name.
    pub model: String,
    /// Reverse variance.
    pub variance: VarianceType,
    /// How the rows, totals and H(p0) were computed.
    pub method: Method,
    /// One row per t = 1..=T.
    pub timesteps: Vec<TimestepTerm>,
    /// L_T (exact).
    pub prior_loss: f64,
    /// L_0.
    pub reconstruction_loss: Estimate,
    /// sum_{t>=2} L_{t-1}.
    pub denoising_loss: Estimate,
    /// NELBO = L_0 + denoising + L_T.
    pub nelbo: Estimate,
    /// NELBO / (d ln 2).
    pub bits_per_dim: Estimate,
    /// H(p0) = -E log p0(x0).
    pub data_entropy: Estimate,
    /// NELBO - H(p0), with the standard error of the per-sample differences.
    pub gap: Estimate,
    /// The eq. 45 form, when asked for.
    pub consistency: Option<ConsistencySummary>,
    /// The NELBO of the same model under each reverse-variance choice, from the same
    /// per-t errors (quadrature: re-summed rows; Monte Carlo: the same samples).
    #[serde(default)]
    pub nelbo_by_variance: NelboByVariance,
}

/// The NELBO under each reverse-variance choice (`None` where not computed: under Monte
/// Carlo the analytic variance needs a quadrature pass over every t, done only when
/// `analytic` is the variance asked for).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NelboByVariance {
    /// Under `fixed_small`.
    pub fixed_small: Option<Estimate>,
    /// Under `fixed_large`.
    pub fixed_large: Option<Estimate>,
    /// Under `analytic`.
    pub analytic: Option<Estimate>,
}

impl NelboByVariance {
    /// The NELBO under one choice.
    pub fn get(&self, v: VarianceType) -> Option<Estimate> {
        match v {
            VarianceType::FixedSmall => self.fixed_small,
            VarianceType::FixedLarge => self.fixed_large,
            VarianceType::Analytic => self.analytic,
        }
    }

    fn set(&mut self, v: VarianceType, e: Option<Estimate>) {
        match v {
            VarianceType::FixedSmall => self.fixed_small = e,
            VarianceType::FixedLarge => self.fixed_large = e,
            VarianceType::Analytic => self.analytic = e,
        }
    }
}

/// `E||x0 - x0_hat(x_t)||^2` of a model at one t, with its error estimate.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MseX0 {
    /// The value.
    pub value: f64,
    /// Its error estimate (0 when exact).
    pub error: f64,
    /// True when closed-form (the model's [`Denoiser::exact_mse_x0`]).
    pub exact: bool,
}

/// The model's `E||x0 - x0_hat(x_t)||^2` at one t: closed-form where the model has it,
/// else by quadrature over `x_t` (dimensions must agree; see [`mse_x0_table`]).
pub fn mse_x0_at(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    t: usize,
) -> MseX0 {
    match model.exact_mse_x0(schedule, t) {
        Some(value) => MseX0 {
            value,
            error: 0.0,
            exact: true,
        },
        None => {
            let optimal = model.posterior_mean_of().is_some_and(|m| m == data);
            let q = quadrature::mse_x0(data, schedule, t, (!optimal).then_some(model));
            MseX0 {
                value: q.value,
                error: q.error,
                exact: false,
            }
        }
    }
}

/// The model's `E||x0 - x0_hat(x_t)||^2` at every t = 1..=T (entry t - 1): closed-form
/// where the model has it, else by quadrature over `x_t` (the optimal denoiser of these
/// very data needs no model call). It does not depend on the reverse variance, so it serves
/// every choice; the analytic variance is resolved from it.
///
/// # Errors
/// [`ElboError::DimensionMismatch`], or [`ElboError::Cancelled`].
pub fn mse_x0_table(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    control: Control<'_>,
) -> Result<Vec<MseX0>, ElboError> {
    if model.dim() != data.dim() {
        return Err(ElboError::DimensionMismatch {
            model: model.dim(),
            data: data.dim(),
        });
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    (1..=schedule.steps())
        .into_par_iter()
        .map(|t| {
            if control.cancelled() {
                return Err(ElboError::Cancelled);
            }
            let m = mse_x0_at(data, schedule, model, t);
            control.step(done.fetch_add(1, Ordering::Relaxed) + 1);
            Ok(m)
        })
        .collect()
}

/// The reverse variance `sigma_t^2` at every t = 1..=T (entry t - 1; beta_1 at t = 1) for
/// a choice; `analytic` needs the model's errors (`table`, from [`mse_x0_table`]) and is
/// `None` without them.
pub fn resolve_variances(
    schedule: &NoiseSchedule,
    variance: VarianceType,
    table: Option<&[MseX0]>,
    dim: usize,
) -> Option<Vec<f64>> {
    let t_max = schedule.steps();
    match variance {
        VarianceType::Analytic => table.map(|table| {
            (1..=t_max)
                .map(|t| analytic_variance(schedule, t, table[t - 1].value, dim))
                .collect()
        }),
        v => Some(
            (1..=t_max)
                .map(|t| reverse_variance(schedule, t, v))
                .collect(),
        ),
    }
}

/// Progress and cancellation hooks for a long computation.
#[derive(Default, Clone, Copy)]
pub struct Control<'a> {
    /// Called after each timestep with the number done so far (from any thread).
    pub on_step: Option<&'a (dyn Fn(usize) + Sync)>,
    /// Set to stop early with [`ElboError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

impl Control<'_> {
    /// True once the cancel flag is set.
    pub fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Report `done` steps to `on_step`, if there is one.
    pub fn step(&self, done: usize) {
        if let Some(f) = self.on_step {
            f(done);
        }
    }
}

/// `L_T = 1/2 [abar_T (E||x0||^2 - d) - d log1p(-abar_T)]`, the prior-matching term
/// (exact; the KL of `N(sqrt(abar_T) x0, (1 - abar_T) I)` from `N(0, I)` averaged over p0).
pub fn prior_loss(schedule: &NoiseSchedule, data: &GaussianMixture) -> f64 {
    let abar = schedule.terminal_abar();
    let d = data.dim() as f64;
    0.5 * (abar * (data.second_moment() - d) - d * (-abar).ln_1p())
}

/// Per-sample squared errors of the four parameterisations at one t.
struct SampleErrors {
    x0: Vec<f64>,
    eps: Vec<f64>,
    score: Vec<f64>,
    v: Vec<f64>,
}

fn sample_errors(
    samples: &McSamples,
    model: &dyn Denoiser,
    schedule: &NoiseSchedule,
    t: usize,
) -> SampleErrors {
    let c = Coeffs::at(schedule, t);
    let xt = samples.noised(c);
    let x0_hat = model.predict_x0(schedule, t, xt.view());
    let n = samples.len();
    let d = samples.x0.ncols();
    let mut e = SampleErrors {
        x0: vec![0.0; n],
        eps: vec![0.0; n],
        score: vec![0.0; n],
        v: vec![0.0; n],
    };
    for i in 0..n {
        for j in 0..d {
            let (x0, eps, x, xh) = (
                samples.x0[[i, j]],
                samples.eps[[i, j]],
                xt[[i, j]],
                x0_hat[[i, j]],
            );
            let eps_hat = c.eps_from_x0(x, xh);
            let dx0 = xh - x0;
            let de = eps_hat - eps;
            let ds = c.score_from_eps(eps_hat) - c.score_from_eps(eps);
            let dv = c.v(xh, eps_hat) - c.v(x0, eps);
            e.x0[i] += dx0 * dx0;
            e.eps[i] += de * de;
            e.score[i] += ds * ds;
            e.v[i] += dv * dv;
        }
    }
    e
}

/// The variance part of row t: `(d/2)(r - 1 - log r)` for t >= 2, the decoder's
/// `(d/2) log(2 pi beta_1)` at t = 1.
fn variance_part(schedule: &NoiseSchedule, t: usize, d: f64, sigma2: f64) -> f64 {
    if t == 1 {
        return 0.5 * d * (LN_2PI + schedule.beta(1).ln());
    }
    let r = schedule.posterior_variance(t) / sigma2;
    0.5 * d * (r - 1.0 - r.ln())
}

fn row_skeleton(
    schedule: &NoiseSchedule,
    t: usize,
    w: &Weights,
    var_part: f64,
    sigma2: f64,
    method: Method,
) -> TimestepTerm {
    TimestepTerm {
        t,
        beta: schedule.beta(t),
        alpha_bar: schedule.abar(t),
        log_snr: schedule.log_snr(t),
        term: if t == 1 {
            TermKind::Reconstruction
        } else {
            TermKind::Denoising
        },
        loss: None,
        stderr: None,
        mse_x0: None,
        mse_eps: None,
        mse_score: None,
        mse_v: None,
        mse_x0_stderr: None,
        mse_eps_stderr: None,
        mse_score_stderr: None,
        mse_v_stderr: None,
        weight_x0: w.x0,
        weight_eps: w.eps,
        weight_score: w.score,
        weight_v: w.v,
        variance_part: var_part,
        sigma2: if t == 1 { schedule.beta(1) } else { sigma2 },
        kurtosis: (method == Method::MonteCarlo).then_some(0.0),
        reliable: (method == Method::MonteCarlo).then_some(true),
        exact: false,
        method,
        consistency_loss: None,
        consistency_stderr: None,
    }
}

/// Row t from the model's x0 error at t (closed-form or by quadrature), under the
/// reverse variance `sigma2`. Under `analytic` the loss is `(d/2) ln(1 + E / (d sigma~2_t))`
/// (the same value as the general form, without its cancellation).
fn row_from_mse(
    schedule: &NoiseSchedule,
    t: usize,
    sigma2: f64,
    analytic: bool,
    dim: usize,
    method: Method,
    mse: MseX0,
) -> TimestepTerm {
    let d = dim as f64;
    let w = Weights::with_sigma2(schedule, t, sigma2);
    let var_part = variance_part(schedule, t, d, sigma2);
    let mut row = row_skeleton(schedule, t, &w, var_part, sigma2, method);
    set_from_mse_x0(
        &mut row,
        schedule.snr(t),
        schedule.one_minus_abar(t),
        &w,
        var_part,
        mse.value,
        mse.error,
    );
    if analytic && t >= 2 {
        row.loss = finite(analytic_loss(schedule, t, mse.value, dim));
    }
    row.exact = mse.exact;
    row
}

/// Fill a row's errors and loss from `E||x0_hat - x0||^2` and its error (0 when exact).
/// At fixed `x_t`, `eps_hat - eps = -sqrt(SNR) (x0_hat - x0)`, so every parameterisation's
/// error is a multiple of the x0 error, for any model whose other predictions derive from
/// its x0-prediction.
fn set_from_mse_x0(
    row: &mut TimestepTerm,
    snr: f64,
    one_m: f64,
    w: &Weights,
    var_part: f64,
    mse: f64,
    error: f64,
) {
    for (value, se, factor) in [
        (&mut row.mse_x0, &mut row.mse_x0_stderr, 1.0),
        (&mut row.mse_eps, &mut row.mse_eps_stderr, snr),
        (&mut row.mse_score, &mut row.mse_score_stderr, snr / one_m),
        (&mut row.mse_v, &mut row.mse_v_stderr, 1.0 / one_m),
    ] {
        *value = finite(factor * mse);
        *se = finite(factor * error);
    }
    row.loss = w.x0.and_then(|w| finite(w * mse + var_part));
    row.stderr = w.x0.and_then(|w| finite(w * error));
}

/// The whole table by quadrature (closed-form rows stay exact); the eq. 45 form, when
/// asked for, by Monte Carlo on `samples`.
fn compute_elbo_quadrature(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    config: &ElboConfig,
    samples: Option<&McSamples>,
    control: Control<'_>,
) -> Result<ElboResult, ElboError> {
    if model.dim() != data.dim() {
        return Err(ElboError::DimensionMismatch {
            model: model.dim(),
            data: data.dim(),
        });
    }
    let d = data.dim() as f64;
    let t_max = schedule.steps();
    let variance = config.variance;
    // The model's x0 error per t serves every variance choice; rows are then built and
    // summed in t order: the same bytes on any number of threads.
    let table = mse_x0_table(data, schedule, model, control)?;
    let rows_for = |v: VarianceType| -> Vec<TimestepTerm> {
        let sigma2 = resolve_variances(schedule, v, Some(&table), data.dim())
            .unwrap_or_else(|| vec![f64::NAN; t_max]);
        (1..=t_max)
            .map(|t| {
                row_from_mse(
                    schedule,
                    t,
                    sigma2[t - 1],
                    v == VarianceType::Analytic,
                    data.dim(),
                    Method::Quadrature,
                    table[t - 1],
                )
            })
            .collect()
    };
    let mut rows = rows_for(variance);
    let entropy_q = quadrature::data_entropy(data);
    let entropy = Estimate {
        mean: entropy_q.value,
        stderr: entropy_q.error,
    };
    // Quadrature errors are not independent draws: the error estimate of a sum is the sum
    // of its parts' estimates.
    let sum = |rows: &[TimestepTerm]| {
        rows.iter().fold(Estimate::default(), |acc, r| Estimate {
            mean: acc.mean + r.loss.unwrap_or(f64::NAN),
            stderr: acc.stderr + r.stderr.unwrap_or(f64::NAN),
        })
    };
    let reconstruction = sum(&rows[..1]);
    let denoising = sum(&rows[1..]);
    let prior = prior_loss(schedule, data);
    let nelbo = Estimate {
        mean: reconstruction.mean + denoising.mean + prior,
        stderr: reconstruction.stderr + denoising.stderr,
    };
    let mut nelbo_by_variance = NelboByVariance::default();
    for v in VarianceType::ALL {
        let total = if v == variance {
            nelbo
        } else {
            let other = rows_for(v);
            let (r, dn) = (sum(&other[..1]), sum(&other[1..]));
            Estimate {
                mean: r.mean + dn.mean + prior,
                stderr: r.stderr + dn.stderr,
            }
        };
        nelbo_by_variance.set(v, Some(total).filter(|e| e.mean.is_finite()));
    }
    check_totals(
        model,
        &rows,
        [
            ("NELBO", nelbo.mean),
            ("NELBO error estimate", nelbo.stderr),
            ("data entropy", entropy.mean),
        ],
    )?;
    let consistency = match (config.consistency, samples) {
        (true, Some(samples)) => Some(consistency_estimate(
            data, schedule, model, config, samples, &mut rows, control,
        )?),
        (true, None) => {
            let samples = McSamples::draw(data, config.samples, config.seed);
            Some(consistency_estimate(
                data, schedule, model, config, &samples, &mut rows, control,
            )?)
        }
        (false, _) => None,
    };
    let ln2d = d * std::f64::consts::LN_2;
    Ok(ElboResult {
        dim: data.dim(),
        steps: t_max,
        samples: samples.map_or(config.samples, McSamples::len),
        seed: config.seed,
        model: model.name(),
        variance,
        method: Method::Quadrature,
        timesteps: rows,
        prior_loss: prior,
        reconstruction_loss: reconstruction,
        denoising_loss: denoising,
        nelbo,
        bits_per_dim: Estimate {
            mean: nelbo.mean / ln2d,
            stderr: nelbo.stderr / ln2d,
        },
        data_entropy: entropy,
        gap: Estimate {
            mean: nelbo.mean - entropy.mean,
            stderr: nelbo.stderr + entropy.stderr,
        },
        consistency,
        nelbo_by_variance,
    })
}

/// Never a NaN or infinite total: an error naming the model, the quantity and the first
/// undefined row, instead of a null.
fn check_totals(
    model: &dyn Denoiser,
    rows: &[TimestepTerm],
    totals: [(&'static str, f64); 3],
) -> Result<(), ElboError> {
    match totals.into_iter().find(|(_, v)| !v.is_finite()) {
        Some((quantity, value)) => Err(ElboError::NotFinite {
            model: model.name(),
            quantity,
            value,
            first_row: rows.iter().find(|r| r.loss.is_none()).map(|r| r.t),
        }),
        None => Ok(()),
    }
}

/// Row t by Monte Carlo; also returns the per-sample losses (for totals).
fn mc_row(
    samples: &McSamples,
    model: &dyn Denoiser,
    schedule: &NoiseSchedule,
    t: usize,
    sigma2: f64,
) -> (TimestepTerm, Vec<f64>) {
    let d = samples.x0.ncols() as f64;
    let w = Weights::with_sigma2(schedule, t, sigma2);
    let var_part = variance_part(schedule, t, d, sigma2);
    let errors = sample_errors(samples, model, schedule, t);
    let mut row = row_skeleton(schedule, t, &w, var_part, sigma2, Method::MonteCarlo);
    let wx0 = w.x0.unwrap_or(f64::NAN);
    let losses: Vec<f64> = errors.x0.iter().map(|e| wx0 * e + var_part).collect();
    let lm = moments(&losses);
    drop(losses);
    row.loss = finite(lm.mean);
    row.stderr = finite(lm.stderr);
    row.kurtosis = Some(if lm.kurtosis.is_finite() {
        lm.kurtosis
    } else {
        0.0
    });
    row.reliable = Some(lm.kurtosis.is_finite() && lm.kurtosis <= KURTOSIS_UNRELIABLE);
    let set = |values: &[f64]| {
        let m = moments(values);
        (finite(m.mean), finite(m.stderr))
    };
    (row.mse_x0, row.mse_x0_stderr) = set(&errors.x0);
    (row.mse_eps, row.mse_eps_stderr) = set(&errors.eps);
    (row.mse_score, row.mse_score_stderr) = set(&errors.score);
    (row.mse_v, row.mse_v_stderr) = set(&errors.v);
    (row, errors.x0)
}

/// Number of chunks the timesteps are cut into for the parallel ELBO sum (at most; fewer
/// when T is smaller). Coarse enough to cost nothing, fine enough to balance two to a few
/// dozen threads.
pub const ELBO_CHUNKS: usize = 64;

/// Timesteps per chunk: `ceil(T / ELBO_CHUNKS)`, a function of T alone, so the order of
/// every floating-point sum is the same on any thread count.
fn elbo_chunk_len(t_max: usize) -> usize {
    t_max.div_ceil(ELBO_CHUNKS).max(1)
}

/// Accept a Monte Carlo sample count N in `2..=MAX_SAMPLES`: a standard error needs
/// N >= 2 (the sample variance divides by N - 1).
///
/// # Errors
/// [`ElboError::BadSamples`] naming N.
pub fn check_samples(samples: usize) -> Result<(), ElboError> {
    if (2..=MAX_SAMPLES).contains(&samples) {
        Ok(())
    } else {
        Err(ElboError::BadSamples(samples))
    }
}

/// Compute the whole ELBO table for a model on some data under a schedule.
///
/// # Errors
/// As [`compute_elbo_with`].
pub fn compute_elbo(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    config: &ElboConfig,
    control: Control<'_>,
) -> Result<ElboResult, ElboError> {
    check_samples(config.samples)?;
    if model.dim() != data.dim() {
        return Err(ElboError::DimensionMismatch {
            model: model.dim(),
            data: data.dim(),
        });
    }
    if config.method == Method::Quadrature && !config.consistency {
        return compute_elbo_quadrature(data, schedule, model, config, None, control);
    }
    let samples = McSamples::draw(data, config.samples, config.seed);
    compute_elbo_with(data, schedule, model, config, &samples, control)
}

/// As [`compute_elbo`], on samples drawn already (so several models can share them).
/// Under [`Method::Quadrature`] the samples serve only the eq. 45 form.
///
/// # Errors
/// Fewer than 2 or more than [`MAX_SAMPLES`] samples (N < 2 has no standard error), a
/// model of another dimension than the data, or cancellation.
pub fn compute_elbo_with(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    config: &ElboConfig,
    samples: &McSamples,
    control: Control<'_>,
) -> Result<ElboResult, ElboError> {
    if config.method == Method::Quadrature {
        check_samples(samples.len())?;
        return compute_elbo_quadrature(data, schedule, model, config, Some(samples), control);
    }
    compute_elbo_per_sample(data, schedule, model, config, samples, control).map(|(r, _)| r)
}

/// As [`compute_elbo_with`], and also sample i's NELBO total (`L_0 + sum L_{t-1} + L_T`
/// on the pair `(x0_i, eps_i)`), so that schedules evaluated on the same samples can be
/// compared pair by pair (common random numbers; see `crate::compare`). Always Monte Carlo
/// (per-sample totals are what it is for), whatever `config.method` says.
///
/// # Errors
/// As [`compute_elbo_with`].
pub fn compute_elbo_per_sample(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    config: &ElboConfig,
    samples: &McSamples,
    control: Control<'_>,
) -> Result<(ElboResult, Vec<f64>), ElboError> {
    let n = samples.len();
    check_samples(n)?;
    if model.dim() != data.dim() {
        return Err(ElboError::DimensionMismatch {
            model: model.dim(),
            data: data.dim(),
        });
    }
    let t_max = schedule.steps();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let variance = config.variance;
    // The analytic variance is resolved by quadrature (never from these samples, so the
    // estimate is unbiased for that variance); that pass is made only when asked for.
    let table = if variance == VarianceType::Analytic {
        let quiet = Control {
            on_step: None,
            cancel: control.cancel,
        };
        Some(mse_x0_table(data, schedule, model, quiet)?)
    } else {
        None
    };
    // sigma^2 per t of every choice that can be resolved; the per-sample totals of each
    // come from the same per-sample errors.
    let sigmas: Vec<(VarianceType, Vec<f64>)> = VarianceType::ALL
        .into_iter()
        .filter_map(|v| {
            resolve_variances(schedule, v, table.as_deref(), data.dim()).map(|s| (v, s))
        })
        .collect();
    let chosen = sigmas
        .iter()
        .position(|(v, _)| *v == variance)
        .unwrap_or_default();

    // Fixed chunks of consecutive t, whose boundaries depend on T only (never on the
    // thread count): each chunk sums its rows' per-sample losses in t order, the chunks'
    // partial sums are then added in chunk order. Same seed, same bytes, on any number of
    // threads (floating-point addition is not associative, so rayon's adaptive splitting
    // of a fold would change the last digits).
    struct ChunkOut {
        rows: Vec<TimestepTerm>,
        /// Sum of the chunk's per-sample denoising losses (t >= 2), per resolved variance
        /// choice (in the order of `sigmas`).
        totals: Vec<Vec<f64>>,
        /// Per-sample reconstruction losses, from the chunk holding t = 1.
        recon: Option<Vec<f64>>,
    }
    let chunk = elbo_chunk_len(t_max);
    let starts: Vec<usize> = (1..=t_max).step_by(chunk).collect();
    let outs: Vec<ChunkOut> = starts
        .into_par_iter()
        .map(|start| -> Result<ChunkOut, ElboError> {
            let end = (start + chunk - 1).min(t_max);
            let mut out = ChunkOut {
                rows: Vec::with_capacity(end + 1 - start),
                totals: vec![vec![0.0; n]; sigmas.len()],
                recon: None,
            };
            for t in start..=end {
                if control.cancelled() {
                    return Err(ElboError::Cancelled);
                }
                let row_of = |v: VarianceType, sigma2: &[f64], mse: f64| {
                    row_from_mse(
                        schedule,
                        t,
                        sigma2[t - 1],
                        v == VarianceType::Analytic,
                        data.dim(),
                        Method::MonteCarlo,
                        MseX0 {
                            value: mse,
                            error: 0.0,
                            exact: true,
                        },
                    )
                };
                if let Some(mse) = model.exact_mse_x0(schedule, t) {
                    for (k, (v, sigma2)) in sigmas.iter().enumerate() {
                        let row = row_of(*v, sigma2, mse);
                        let loss = row.loss.unwrap_or(f64::NAN);
                        if t == 1 {
                            if k == chosen {
                                out.recon = Some(vec![loss; n]);
                            }
                        } else {
                            out.totals[k].iter_mut().for_each(|s| *s += loss);
                        }
                        if k == chosen {
                            out.rows.push(row);
                        }
                    }
                } else {
                    let (row, errors) =
                        mc_row(samples, model, schedule, t, sigmas[chosen].1[t - 1]);
                    let d = data.dim() as f64;
                    if t == 1 {
                        let w = row.weight_x0.unwrap_or(f64::NAN);
                        out.recon =
                            Some(errors.iter().map(|e| w * e + row.variance_part).collect());
                    } else {
                        for (k, (_, sigma2)) in sigmas.iter().enumerate() {
                            let s2 = sigma2[t - 1];
                            let w = Weights::with_sigma2(schedule, t, s2).x0.unwrap_or(f64::NAN);
                            let var_part = variance_part(schedule, t, d, s2);
                            out.totals[k]
                                .iter_mut()
                                .zip(&errors)
                                .for_each(|(s, e)| *s += w * e + var_part);
                        }
                    }
                    out.rows.push(row);
                }
                control.step(done.fetch_add(1, Ordering::Relaxed) + 1);
            }
            Ok(out)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::with_capacity(t_max);
    let mut totals_by = vec![vec![0.0; n]; sigmas.len()];
    let mut recon_losses = None;
    for out in outs {
        rows.extend(out.rows);
        for (all, part) in totals_by.iter_mut().zip(&out.totals) {
            all.iter_mut().zip(part).for_each(|(a, b)| *a += b);
        }
        recon_losses = recon_losses.or(out.recon);
    }
    let d = data.dim() as f64;
    let denoise_totals = totals_by
        .get(chosen)
        .cloned()
        .unwrap_or_else(|| vec![f64::NAN; n]);
    let recon_losses = recon_losses.unwrap_or_else(|| vec![f64::NAN; n]);

    let prior = prior_loss(schedule, data);
    let nelbo_samples: Vec<f64> = recon_losses
        .iter()
        .zip(&denoise_totals)
        .map(|(r, s)| r + s + prior)
        .collect();
    let gap_samples: Vec<f64> = nelbo_samples
        .iter()
        .zip(&samples.log_p0)
        .map(|(l, lp)| l + lp)
        .collect();
    let entropy_samples: Vec<f64> = samples.log_p0.iter().map(|l| -l).collect();
    let est = |v: &[f64]| {
        let m = moments(v);
        Estimate {
            mean: m.mean,
            stderr: m.stderr,
        }
    };
    let nelbo = est(&nelbo_samples);
    let entropy = est(&entropy_samples);
    let mut nelbo_by_variance = NelboByVariance::default();
    for ((v, _), totals) in sigmas.iter().zip(&totals_by) {
        let all: Vec<f64> = recon_losses
            .iter()
            .zip(totals)
            .map(|(r, s)| r + s + prior)
            .collect();
        nelbo_by_variance.set(*v, Some(est(&all)).filter(|e| e.mean.is_finite()));
    }
    check_totals(
        model,
        &rows,
        [
            ("NELBO", nelbo.mean),
            ("NELBO standard error", nelbo.stderr),
            ("data entropy", entropy.mean),
        ],
    )?;
    let ln2d = d * std::f64::consts::LN_2;
    let consistency = if config.consistency {
        Some(consistency_estimate(
            data, schedule, model, config, samples, &mut rows, control,
        )?)
    } else {
        None
    };
    let result = ElboResult {
        dim: data.dim(),
        steps: t_max,
        samples: n,
        seed: config.seed,
        model: model.name(),
        variance,
        method: Method::MonteCarlo,
        timesteps: rows,
        prior_loss: prior,
        reconstruction_loss: est(&recon_losses),
        denoising_loss: est(&denoise_totals),
        nelbo,
        bits_per_dim: Estimate {
            mean: nelbo.mean / ln2d,
            stderr: nelbo.stderr / ln2d,
        },
        data_entropy: entropy,
        gap: est(&gap_samples),
        consistency,
        nelbo_by_variance,
    };
    Ok((result, nelbo_samples))
}

/// Luo eq. 45 along forward trajectories of the same `x0_i`; fills each row's
/// `consistency_loss` and returns the totals.
fn consistency_estimate(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    config: &ElboConfig,
    samples: &McSamples,
    rows: &mut [TimestepTerm],
    control: Control<'_>,
) -> Result<ConsistencySummary, ElboError> {
    const CHUNK: usize = 256;
    let n = samples.len();
    let dim = data.dim();
    let d = dim as f64;
    let t_max = schedule.steps();
    // The reverse variance of each row as the table resolved it (analytic included).
    let sigma2: Vec<f64> = rows.iter().map(|r| r.sigma2).collect();
    // Per chunk: per-t sums of losses and of squared losses are not enough for the total's
    // standard error, so keep per-sample totals and per-t per-sample values by chunk.
    struct ChunkOut {
        start: usize,
        /// per t = 1..T-1, per sample in chunk.
        terms: Vec<Vec<f64>>,
        recon: Vec<f64>,
        prior: Vec<f64>,
    }
    let chunks: Vec<usize> = (0..n).step_by(CHUNK).collect();
    let outs: Vec<ChunkOut> = chunks
        .into_par_iter()
        .map(|start| -> Result<ChunkOut, ElboError> {
            let end = (start + CHUNK).min(n);
            let m = end - start;
            let mut rng = StdRng::seed_from_u64(
                config
                    .seed
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add(start as u64 + 1),
            );
            let x0 = samples.x0.slice(ndarray::s![start..end, ..]).to_owned();
            // trajectory x_0 .. x_T
            let mut traj: Vec<Array2<f64>> = Vec::with_capacity(t_max + 1);
            traj.push(x0.clone());
            for t in 1..=t_max {
                let (sa, sb) = (schedule.alpha(t).max(0.0).sqrt(), schedule.beta(t).sqrt());
                let prev = &traj[t - 1];
                let next = Array2::from_shape_fn((m, dim), |(i, j)| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    sa * prev[[i, j]] + sb * z
                });
                traj.push(next);
            }
            // Reconstruction: -log N(x0; mu(x1, 1), beta_1 I) with mu(x1, 1) = x0_hat(x1).
            let b1 = schedule.beta(1);
            let x0_hat = model.predict_x0(schedule, 1, traj[1].view());
            let recon: Vec<f64> = (0..m)
                .map(|i| {
                    let e: f64 = (0..dim)
                        .map(|j| (x0[[i, j]] - x0_hat[[i, j]]).powi(2))
                        .sum();
                    0.5 * d * (LN_2PI + b1.ln()) + e / (2.0 * b1)
                })
                .collect();
            // Prior: KL(N(sqrt(alpha_T) x_{T-1}, beta_T I) || N(0, I)).
            let b_t = schedule.beta(t_max);
            let a_t = schedule.alpha(t_max);
            let prior: Vec<f64> = (0..m)
                .map(|i| {
                    let sq: f64 = (0..dim).map(|j| traj[t_max - 1][[i, j]].powi(2)).sum();
                    0.5 * d * (b_t - 1.0 - b_t.ln()) + 0.5 * a_t * sq
                })
                .collect();
            // Consistency terms t = 1..T-1, as the log-ratio at the trajectory's own x_t:
            // log q(x_t|x_{t-1}) - log p(x_t|x_{t+1}) (see the module docs for why not the KL).
            let mut terms = Vec::with_capacity(t_max.saturating_sub(1));
            for t in 1..t_max {
                if control.cancelled() {
                    return Err(ElboError::Cancelled);
                }
                let s2 = sigma2[t];
                let b = schedule.beta(t);
                let log_norm = 0.5 * d * (s2.ln() - b.ln());
                let pm = PosteriorMean::at(schedule, t + 1);
                let x0_hat = model.predict_x0(schedule, t + 1, traj[t + 1].view());
                let sa = schedule.alpha(t).max(0.0).sqrt();
                let vals: Vec<f64> = (0..m)
                    .map(|i| {
                        let (mut fwd, mut rev) = (0.0, 0.0);
                        for j in 0..dim {
                            let x = traj[t][[i, j]];
                            let mu = pm.mean(x0_hat[[i, j]], traj[t + 1][[i, j]]);
                            fwd += (x - sa * traj[t - 1][[i, j]]).powi(2);
                            rev += (x - mu).powi(2);
                        }
                        log_norm - fwd / (2.0 * b) + rev / (2.0 * s2)
                    })
                    .collect();
                terms.push(vals);
            }
            Ok(ChunkOut {
                start,
                terms,
                recon,
                prior,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut per_t: Vec<Vec<f64>> = vec![Vec::with_capacity(n); t_max.saturating_sub(1)];
    let mut totals = vec![0.0; n];
    let mut recon = vec![0.0; n];
    let mut prior = vec![0.0; n];
    for out in &outs {
        for (k, vals) in out.terms.iter().enumerate() {
            per_t[k].extend_from_slice(vals);
            for (i, v) in vals.iter().enumerate() {
                totals[out.start + i] += v;
            }
        }
        recon[out.start..out.start + out.recon.len()].copy_from_slice(&out.recon);
        prior[out.start..out.start + out.prior.len()].copy_from_slice(&out.prior);
    }
    for (k, vals) in per_t.iter().enumerate() {
        let m = moments(vals);
        if let Some(row) = rows.get_mut(k) {
            row.consistency_loss = finite(m.mean);
            row.consistency_stderr = finite(m.stderr);
        }
    }
    let est = |v: &[f64]| {
        let m = moments(v);
        Estimate {
            mean: m.mean,
            stderr: m.stderr,
        }
    };
    let all: Vec<f64> = (0..n).map(|i| recon[i] + totals[i] + prior[i]).collect();
    Ok(ConsistencySummary {
        prior_loss: est(&prior),
        reconstruction_loss: est(&recon),
        consistency_loss: est(&totals),
        nelbo: est(&all),
    })
}
