//! The evidence itself (issue 10 §2; `elbo-lab evidence` in docs/report-format.md): the
//! model's own marginal `p_theta(x0)` of a diffusion model seen as a hierarchical VAE, the
//! ELBO of each data point, and the split of the NELBO into what the model gets wrong and
//! how loose the bound is. 1D data only.
//!
//! ```text
//! p_theta(x0) = integral N(x0; mu(x_1, 1), beta_1) prod_{t>=2} N(x_{t-1}; mu(x_t, t), sigma_t^2) N(x_T; 0, 1) dx_{1:T}
//! NELBO(x0)   = L_0(x0) + sum_{t>=2} L_{t-1}(x0) + L_T(x0)  >=  -log p_theta(x0)
//! NELBO - H(p0) = KL(p0 || p_theta) + E_p0[NELBO(x0) + log p_theta(x0)]
//! ```
//!
//! **The marginal** is propagated down the reverse chain on grids of point values: the
//! density of `x_{t-1}` at a node `y` is `sum_i h_t p_t(x_i) N(y; mu(x_i, t), sigma_t^2)`, a
//! trapezoid rule over the grid of `x_t` (spacing `h_t`). For a smooth integrand that decays
//! like a Gaussian the trapezoid rule converges faster than any power of `h`, as
//! `exp(-2 pi^2 (sigma_t / h_t)^2)`, so each grid's spacing follows that step's own
//! reverse sd: `h_t = sigma_t / points_per_sd` (the decoder's sd `sqrt(beta_1)` = 0.01 sets
//! only the last grid, while the early, broad steps use coarse grids). Each grid covers
//! where the density is above [`DENSITY_FLOOR`] of its peak, widened by [`BAND_SDS`] reverse
//! sds, and each source node adds to the target nodes within [`BAND_SDS`] sds of its mean
//! only (a banded kernel; along the uniform nodes the Gaussian is a product recurrence, two
//! multiplications per pair instead of an `exp`). The total mass
//! of the last grid is reported as a check (1 to about 1e-12). The final density is
//! evaluated at any `x0` directly from the last grid's nodes (no interpolation).
//!
//! **The ELBO of a point** uses `q(x_t | x0) = N(sqrt(abar_t) x0, 1 - abar_t)`: every term is
//! an expectation over `x_t`, a trapezoid rule on a lattice of `x_t` (spacing
//! `sqrt(1 - abar_t) / xt_points_per_sd`) that all the points share, so the model is called
//! once per node and t (two lattices shifted by half a spacing: their mean is the value,
//! half their difference the error estimate). With `mu~ - mu = c_x0 (x0 - x0_hat)`:
//! ```text
//! L_{t-1}(x0) = c_x0^2 / (2 sigma_t^2) E_z (x0 - x0_hat(x_t))^2 + (r - 1 - log r) / 2,   r = sigma~2_t / sigma_t^2
//! L_0(x0)     = log(2 pi beta_1) / 2 + E_z (x0 - mu(x_1, 1))^2 / (2 beta_1)
//! L_T(x0)     = (abar_T (x0^2 - 1) - log1p(-abar_T)) / 2
//! ```
//! **Averages over p0** (`model_nll`, `H(p0)`, the mean NELBO) are trapezoid rules on two
//! lattices shifted by half a spacing over the data components' regions, as in
//! [`crate::quadrature`]: their mean is the value, half their difference the error
//! estimate. The log-densities step sharply between modes (a log-sum-exp switching
//! component over a width `S^2 / distance`), so their lattice is finer. The grid's own
//! error is the difference to a coarser propagation. Every error also carries a rounding
//! floor proportional to T.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::denoiser::Denoiser;
use crate::elbo::Control;
use crate::mixture::{GaussianMixture, LN_2PI};
use crate::normal::normal_pdf;
use crate::param::{Coeffs, PosteriorMean, reverse_variance};
use crate::quadrature::REGION_SDS;
use crate::schedule::{NoiseSchedule, VarianceType};

/// A grid keeps the nodes where the density is above this fraction of its peak (and the
/// nodes between them): `exp(-69)`, about 12 sd into a Gaussian's tails.
pub const DENSITY_FLOOR: f64 = 1e-30;
/// Half-width of the banded kernel, in reverse-step sds: a Gaussian beyond it weighs less
/// than `exp(-9.5^2 / 2)` = 2e-20 of its peak.
pub const BAND_SDS: f64 = 9.5;
/// The most nodes one grid may hold.
pub const MAX_GRID_POINTS: usize = 1 << 21;
/// The most nodes of the lattice over x0 on which the mean NELBO is averaged (each costs
/// T sums over the `x_t` lattice; the log-density lattice is 4 times finer).
pub const MAX_LATTICE_POINTS: usize = 50_000;
/// The most nodes the per-point table may hold.
pub const MAX_TABLE_POINTS: usize = 100_000;
/// Lattice spacing of the averages over p0, as a fraction of the smallest data sd.
const LATTICE_POINTS_PER_SD: f64 = 3.0;
/// Lattice spacing of the averages of log-densities over p0 (model NLL, H(p0)).
const LOG_LATTICE_POINTS_PER_SD: f64 = 8.0;
/// Half-width of the table's x0 range, in data component sds.
const TABLE_SDS: f64 = 5.0;

/// Why the evidence could not be computed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EvidenceError {
    /// 2D (or other) data.
    #[error(
        "evidence is 1D only: the grid propagation of p_theta(x0) through the reverse chain needs a grid at the decoder's resolution (sd sqrt(beta_1)), which in 2D would be millions of nodes per step; these data are {0}D"
    )]
    NotOneDimensional(usize),
    /// The model and the data disagree on dimension.
    #[error("the model is {model}D but the data are {data}D")]
    DimensionMismatch {
        /// Model dimension.
        model: usize,
        /// Data dimension.
        data: usize,
    },
    /// The reverse variances given are not one per timestep, or not positive and finite.
    #[error("reverse variances: {0}")]
    BadVariances(String),
    /// A setting is out of range.
    #[error("evidence setting {name} = {value} is out of range: {why}")]
    BadConfig {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is allowed.
        why: String,
    },
    /// A grid would be too large.
    #[error(
        "the grid at t = {t} would need {points} nodes (at most {MAX_GRID_POINTS}): the reverse sd {sd:e} is too small for the density's width {width:e}; use fewer points per sd or a schedule with larger betas"
    )]
    GridTooLarge {
        /// The timestep.
        t: usize,
        /// Nodes it would need.
        points: usize,
        /// That step's reverse sd.
        sd: f64,
        /// The width of the density.
        width: f64,
    },
    /// The model's predictions or the density are not finite somewhere.
    #[error(
        "the {quantity} of model '{model}' is not finite (at t = {t}), so the evidence cannot be computed"
    )]
    NotFinite {
        /// The model's name.
        model: String,
        /// What was not finite.
        quantity: &'static str,
        /// Where.
        t: usize,
    },
    /// The data's narrowest component is too narrow for the widest one.
    #[error(
        "the data's narrowest component (sd {sd_min:e}) is too narrow for the widest: the averages over p0 would need {nodes} lattice nodes (at most {MAX_LATTICE_POINTS})"
    )]
    DataTooFine {
        /// The smallest component sd.
        sd_min: f64,
        /// Lattice nodes it would need.
        nodes: usize,
    },
    /// A newer request superseded this one.
    #[error("cancelled")]
    Cancelled,
}

/// How fine the computation is. [`EvidenceConfig::default`] is the full computation,
/// [`EvidenceConfig::preview`] a coarse one for a first picture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidenceConfig {
    /// Grid nodes per reverse-step sd in the propagation of `p_theta`.
    pub points_per_sd: f64,
    /// The coarser propagation that the error estimate compares with (nodes per sd; 0
    /// skips it, and the grid error is then not estimated).
    pub coarse_points_per_sd: f64,
    /// Nodes of the per-point table over x0.
    pub table_points: usize,
    /// Lattice nodes per sd of `q(x_t | x0)` in each point's NELBO (two lattices shifted
    /// by half a spacing; their difference is the error estimate).
    pub xt_points_per_sd: f64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            points_per_sd: 2.5,
            coarse_points_per_sd: 1.6,
            table_points: DEFAULT_TABLE_POINTS,
            xt_points_per_sd: 3.0,
        }
    }
}

/// The default number of table points (`--grid`).
pub const DEFAULT_TABLE_POINTS: usize = 201;

impl EvidenceConfig {
    /// A coarse, fast configuration for a first picture (a few times cheaper; its error
    /// estimates say how coarse).
    pub fn preview() -> Self {
        EvidenceConfig {
            points_per_sd: 1.4,
            coarse_points_per_sd: 1.0,
            table_points: 61,
            xt_points_per_sd: 1.5,
        }
    }

    /// Check every setting.
    ///
    /// # Errors
    /// [`EvidenceError::BadConfig`] naming the setting.
    pub fn validate(&self) -> Result<(), EvidenceError> {
        let bad = |name, value: String, why: &str| EvidenceError::BadConfig {
            name,
            value,
            why: why.into(),
        };
        if !(self.points_per_sd.is_finite() && (0.5..=64.0).contains(&self.points_per_sd)) {
            return Err(bad(
                "points_per_sd",
                self.points_per_sd.to_string(),
                "must be between 0.5 and 64",
            ));
        }
        if !(self.coarse_points_per_sd == 0.0
            || (self.coarse_points_per_sd.is_finite()
                && self.coarse_points_per_sd >= 0.5
                && self.coarse_points_per_sd < self.points_per_sd))
        {
            return Err(bad(
                "coarse_points_per_sd",
                self.coarse_points_per_sd.to_string(),
                "must be 0 (none) or between 0.5 and points_per_sd",
            ));
        }
        if !(2..=MAX_TABLE_POINTS).contains(&self.table_points) {
            return Err(bad(
                "table_points (--grid)",
                self.table_points.to_string(),
                &format!("must be between 2 and {MAX_TABLE_POINTS}"),
            ));
        }
        if !(self.xt_points_per_sd.is_finite() && (0.5..=64.0).contains(&self.xt_points_per_sd)) {
            return Err(bad(
                "xt_points_per_sd",
                self.xt_points_per_sd.to_string(),
                "must be between 0.5 and 64",
            ));
        }
        Ok(())
    }
}

/// A value with its error estimate.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Valued {
    /// The value.
    pub value: f64,
    /// Its error estimate (an upper estimate of |value - exact|).
    pub error: f64,
}

/// One row of the per-point table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidencePoint {
    /// The data point.
    pub x0: f64,
    /// The data density `p0(x0)`.
    pub p0: f64,
    /// The model's density `p_theta(x0)`.
    pub p_theta: f64,
    /// `-log p_theta(x0)`; `None` where `p_theta` is 0 in f64 far in its tails.
    pub nll: Option<f64>,
    /// `NELBO(x0)`.
    pub nelbo: f64,
    /// The error estimate of `NELBO(x0)` (half the difference of the two `x_t` lattices).
    pub nelbo_error: f64,
}

impl EvidencePoint {
    /// The bound's gap at this point, `NELBO(x0) + log p_theta(x0)` =
    /// `KL(q(x_{1:T} | x0) || p_theta(x_{1:T} | x0))` (>= 0); `None` where `nll` is.
    pub fn gap(&self) -> Option<f64> {
        self.nll.map(|nll| self.nelbo - nll)
    }
}

/// Everything the evidence computation gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceResult {
    /// T.
    pub steps: usize,
    /// The model's name.
    pub model: String,
    /// The settings used.
    pub config: EvidenceConfig,
    /// `-E_p0 log p_theta(x0)`.
    pub model_nll: Valued,
    /// `H(p0) = -E_p0 log p0(x0)`.
    pub data_entropy: Valued,
    /// `KL(p0 || p_theta) = model_nll - H(p0)` (>= 0).
    pub kl_data_model: Valued,
    /// `E_p0[NELBO(x0) + log p_theta(x0)] = nelbo - model_nll` (>= 0).
    pub mean_bound_gap: Valued,
    /// `E_p0 NELBO(x0)`: the report's NELBO.
    pub nelbo: Valued,
    /// Total mass of the propagated density (1 up to the grid's error).
    pub mass: f64,
    /// Total mass of the coarse propagation (`None` when it was skipped).
    pub coarse_mass: Option<f64>,
    /// The smallest per-point gap `NELBO(x0) + log p_theta(x0)` over the table and the
    /// lattice nodes (>= 0 up to the errors).
    pub min_point_gap: f64,
    /// The most nodes of any propagation grid.
    pub max_grid_points: usize,
    /// The per-point table over x0 (uniform, over the data's range).
    pub points: Vec<EvidencePoint>,
}

/// The reverse-step variances of a fixed choice as one vector,
/// `[beta_1, sigma_2^2, ..., sigma_T^2]` (index t - 1; t = 1 is the decoder), from
/// [`reverse_variance`]. The analytic variance depends on the model: resolve it with
/// [`model_variances`] (given `Analytic`, this returns its lower bound, fixed_small's).
pub fn reverse_variances(schedule: &NoiseSchedule, variance: VarianceType) -> Vec<f64> {
    (1..=schedule.steps())
        .map(|t| reverse_variance(schedule, t, variance))
        .collect()
}

/// The reverse-step variances of `model` under any choice, analytic included (its
/// `sigma*^2_t` from the model's x0 error at every t, by quadrature: `elbo::resolve_variances`).
///
/// # Errors
/// A model of another dimension, or cancellation, while computing the model's error.
pub fn model_variances(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    variance: VarianceType,
    control: Control<'_>,
) -> Result<Vec<f64>, crate::elbo::ElboError> {
    if variance != VarianceType::Analytic {
        return Ok(reverse_variances(schedule, variance));
    }
    let table = crate::elbo::mse_x0_table(data, schedule, model, control)?;
    Ok(
        crate::elbo::resolve_variances(schedule, variance, Some(&table), data.dim())
            .unwrap_or_else(|| reverse_variances(schedule, VarianceType::FixedSmall)),
    )
}

/// How many units of work [`compute_evidence`] reports through `Control::on_step` in all,
/// for T steps (one per timestep of each propagation and of the per-point ELBO).
pub fn progress_total(steps: usize, config: &EvidenceConfig) -> usize {
    let props = if config.coarse_points_per_sd > 0.0 {
        2
    } else {
        1
    };
    steps * (props + 1)
}

fn cancelled(control: &Control<'_>) -> bool {
    control
        .cancel
        .is_some_and(|c: &AtomicBool| c.load(Ordering::Relaxed))
}

fn report_step(control: &Control<'_>, done: usize) {
    if let Some(f) = control.on_step {
        f(done);
    }
}

/// The last grid of the reverse chain (`x_1`) and what the decoder makes of it.
#[derive(Debug, Clone)]
pub struct DecoderGrid {
    /// Decoder means `mu(x_1, 1)` of the nodes, sorted.
    mu: Vec<f64>,
    /// Node masses `h_1 p_1(x_1)` in the order of `mu`.
    mass: Vec<f64>,
    /// Decoder sd `sqrt(beta_1)`.
    sd: f64,
    /// Total mass.
    total: f64,
    /// Most nodes of any grid.
    max_points: usize,
}

impl DecoderGrid {
    /// `log p_theta(x0)`: the banded sum over the last grid's nodes, or, where that
    /// underflows (far in the tails), a log-sum-exp over every node.
    pub fn log_density(&self, x0: f64) -> f64 {
        let s = self.sd;
        let band = BAND_SDS * s;
        let lo = self.mu.partition_point(|&m| m < x0 - band);
        let mut sum = 0.0;
        for i in lo..self.mu.len() {
            let m = self.mu[i];
            if m > x0 + band {
                break;
            }
            let u = (x0 - m) / s;
            sum += self.mass[i] * (-0.5 * u * u).exp();
        }
        let log_norm = -0.5 * LN_2PI - s.ln();
        if sum > 1e-250 {
            return sum.ln() + log_norm;
        }
        let mut best = f64::NEG_INFINITY;
        for (m, w) in self.mu.iter().zip(&self.mass) {
            if *w > 0.0 {
                let u = (x0 - m) / s;
                best = best.max(w.ln() - 0.5 * u * u);
            }
        }
        if best == f64::NEG_INFINITY {
            return best;
        }
        let mut acc = 0.0;
        for (m, w) in self.mu.iter().zip(&self.mass) {
            if *w > 0.0 {
                let u = (x0 - m) / s;
                acc += (w.ln() - 0.5 * u * u - best).exp();
            }
        }
        best + acc.ln() + log_norm
    }
}

/// Predict x0 at 1D points.
fn predict(model: &dyn Denoiser, schedule: &NoiseSchedule, t: usize, xs: &[f64]) -> Vec<f64> {
    let view = ndarray::ArrayView2::from_shape((xs.len(), 1), xs);
    match view {
        Ok(v) => model.predict_x0(schedule, t, v).column(0).to_vec(),
        Err(_) => vec![f64::NAN; xs.len()],
    }
}

/// Propagate `p(x_T) = N(0, 1)` down the reverse chain to the grid of `x_1` (module docs).
///
/// `sigma2` is `[beta_1, sigma_2^2, ..., sigma_T^2]` (see [`reverse_variances`]); every
/// step's grid has spacing `sigma_t / points_per_sd`. `done` counts the steps for
/// `control.on_step`.
///
/// # Errors
/// A grid too large, non-finite predictions, or cancellation.
pub fn propagate(
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    sigma2: &[f64],
    points_per_sd: f64,
    control: Control<'_>,
    done: &AtomicUsize,
) -> Result<DecoderGrid, EvidenceError> {
    let t_max = schedule.steps();
    check_variances(sigma2, t_max)?;
    let sd = |t: usize| sigma2[t - 1].sqrt();
    // The grid of x_T: N(0, 1) where it is above the floor.
    let reach = (-2.0 * DENSITY_FLOOR.ln()).sqrt() + 1.0;
    let mut h = sd(t_max) / points_per_sd;
    let n0 = (2.0 * reach / h).ceil() as usize + 1;
    if n0 > MAX_GRID_POINTS {
        return Err(EvidenceError::GridTooLarge {
            t: t_max,
            points: n0,
            sd: sd(t_max),
            width: 2.0 * reach,
        });
    }
    let mut start = -0.5 * (n0 - 1) as f64 * h;
    let mut dens: Vec<f64> = (0..n0)
        .map(|i| {
            let x = start + i as f64 * h;
            normal_pdf(x, 0.0, 1.0)
        })
        .collect();
    let mut max_points = n0;
    for t in (1..=t_max).rev() {
        if cancelled(&control) {
            return Err(EvidenceError::Cancelled);
        }
        // Keep the nodes above the floor (and everything between them).
        let peak = dens.iter().cloned().fold(0.0_f64, f64::max);
        if !peak.is_finite() || peak <= 0.0 {
            return Err(EvidenceError::NotFinite {
                model: model.name(),
                quantity: "propagated density",
                t,
            });
        }
        let keep = |p: &f64| *p > DENSITY_FLOOR * peak;
        let first = dens.iter().position(keep).unwrap_or(0);
        let last = dens.iter().rposition(keep).unwrap_or(dens.len() - 1);
        let xs: Vec<f64> = (first..=last).map(|i| start + i as f64 * h).collect();
        let x0_hat = predict(model, schedule, t, &xs);
        let pm = PosteriorMean::at(schedule, t);
        let mut pairs: Vec<(f64, f64)> = Vec::with_capacity(xs.len());
        for (k, x) in xs.iter().enumerate() {
            let mu = pm.mean(x0_hat[k], *x);
            if !mu.is_finite() {
                return Err(EvidenceError::NotFinite {
                    model: model.name(),
                    quantity: "prediction",
                    t,
                });
            }
            pairs.push((mu, h * dens[first + k]));
        }
        if !pairs.windows(2).all(|w| w[0].0 <= w[1].0) {
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let (mu, mass): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        if t == 1 {
            let total = mass.iter().sum();
            done.fetch_add(1, Ordering::Relaxed);
            report_step(&control, done.load(Ordering::Relaxed));
            return Ok(DecoderGrid {
                mu,
                mass,
                sd: sd(1),
                total,
                max_points,
            });
        }
        // The next grid (of x_{t-1}), spaced for the step after it.
        let s = sd(t);
        let band = BAND_SDS * s;
        let lo = mu[0] - band;
        let hi = mu[mu.len() - 1] + band;
        let h_next = sd(t - 1) / points_per_sd;
        let n = ((hi - lo) / h_next).ceil() as usize + 1;
        if n > MAX_GRID_POINTS {
            return Err(EvidenceError::GridTooLarge {
                t: t - 1,
                points: n,
                sd: sd(t - 1),
                width: hi - lo,
            });
        }
        max_points = max_points.max(n);
        let norm = 1.0 / (s * (2.0 * std::f64::consts::PI).sqrt());
        let next = scatter(&mu, &mass, s, lo, h_next, n, norm);
        dens = next;
        start = lo;
        h = h_next;
        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
        report_step(&control, d);
    }
    // Unreachable: the loop returns at t = 1.
    Err(EvidenceError::Cancelled)
}

/// The banded kernel: `out[j] = norm sum_i mass_i exp(-(y_j - mu_i)^2 / (2 s^2))` over the
/// sources within [`BAND_SDS`] sds of each node `y_j = lo + j h`. Along the uniform nodes
/// the Gaussian is a product recurrence (`g_{j+1} = g_j r_j`, `r_{j+1} = r_j exp(-(h/s)^2)`),
/// two multiplications per pair instead of an `exp`; the sources are split in a few
/// blocks whose partial sums are added in block order (the same bytes on any thread count).
fn scatter(mu: &[f64], mass: &[f64], s: f64, lo: f64, h: f64, n: usize, norm: f64) -> Vec<f64> {
    const BLOCKS: usize = 8;
    let block = mu.len().div_ceil(BLOCKS).max(1);
    let delta = h / s;
    let decay = (-delta * delta).exp();
    let band = BAND_SDS * s;
    let partial: Vec<(usize, Vec<f64>)> = mu
        .par_chunks(block)
        .zip(mass.par_chunks(block))
        .map(|(mu, mass)| {
            // This block's targets: from its first source's band to its last's.
            let first = (((mu[0] - band - lo) / h).ceil().max(0.0)) as usize;
            let last = ((((mu[mu.len() - 1] + band - lo) / h).floor()).max(0.0) as usize)
                .min(n.saturating_sub(1));
            let mut out = vec![0.0; last.saturating_sub(first) + 1];
            for (&m, &w) in mu.iter().zip(mass) {
                let j0 = (((m - band - lo) / h).ceil().max(0.0)) as usize;
                let j1 =
                    ((((m + band - lo) / h).floor()).max(0.0) as usize).min(n.saturating_sub(1));
                if j1 < j0 || j0 < first {
                    continue;
                }
                let u0 = (lo + j0 as f64 * h - m) / s;
                let mut g = w * (-0.5 * u0 * u0).exp();
                let mut r = (-(u0 * delta + 0.5 * delta * delta)).exp();
                for slot in &mut out[j0 - first..=j1 - first] {
                    *slot += g;
                    g *= r;
                    r *= decay;
                }
            }
            (first, out)
        })
        .collect();
    let mut next = vec![0.0; n];
    for (first, out) in partial {
        for (k, v) in out.into_iter().enumerate() {
            if let Some(slot) = next.get_mut(first + k) {
                *slot += v * norm;
            }
        }
    }
    next
}

/// One positive, finite reverse variance per t = 1..=`t_max`.
pub(crate) fn check_variances(sigma2: &[f64], t_max: usize) -> Result<(), EvidenceError> {
    if sigma2.len() != t_max {
        return Err(EvidenceError::BadVariances(format!(
            "{} given for T = {t_max} (one per t = 1..T)",
            sigma2.len()
        )));
    }
    if let Some((i, v)) = sigma2
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v > 0.0))
    {
        return Err(EvidenceError::BadVariances(format!(
            "sigma^2 at t = {} is {v}: every one must be positive and finite",
            i + 1
        )));
    }
    Ok(())
}

/// Per-point sums on the two shifted lattices of `x_t`.
type LatticePair = (Vec<f64>, Vec<f64>);

/// Per-point NELBO, `(value, error)` for each `x0`: every expectation over
/// `x_t ~ N(sqrt(abar_t) x0, 1 - abar_t)` is a trapezoid rule on a uniform lattice of
/// `x_t` (spacing `sqrt(1 - abar_t) / points_per_sd`) shared by all the points, so the
/// model is called once per lattice node and t, not once per point; two lattices shifted by
/// half a spacing give the value (their mean) and the error estimate (half their
/// difference). Along the lattice the Gaussian weight is a product recurrence.
fn nelbo_points(
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    sigma2: &[f64],
    x0s: &[f64],
    points_per_sd: f64,
    control: Control<'_>,
    done: &AtomicUsize,
) -> Result<Vec<(f64, f64)>, EvidenceError> {
    let t_max = schedule.steps();
    let n = x0s.len();
    let abar_t = schedule.terminal_abar();
    let prior: Vec<f64> = x0s
        .iter()
        .map(|x| 0.5 * (abar_t * (x * x - 1.0) - (-abar_t).ln_1p()))
        .collect();
    let (x_min, x_max) = x0s
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let chunk = t_max.div_ceil(64).max(1);
    let starts: Vec<usize> = (1..=t_max).step_by(chunk).collect();
    let stop = AtomicBool::new(false);
    let outs: Vec<Result<LatticePair, EvidenceError>> = starts
        .into_par_iter()
        .map(|start| {
            let mut sums = [vec![0.0; n], vec![0.0; n]];
            for t in start..(start + chunk).min(t_max + 1) {
                if cancelled(&control) || stop.load(Ordering::Relaxed) {
                    return Err(EvidenceError::Cancelled);
                }
                let c = Coeffs::at(schedule, t);
                let s = c.sqrt_one_minus_abar;
                let h = s / points_per_sd;
                let band = BAND_SDS * s;
                let pm = PosteriorMean::at(schedule, t);
                let (scale, constant, coef) = if t == 1 {
                    (
                        1.0 / (2.0 * sigma2[0]),
                        0.5 * (LN_2PI + sigma2[0].ln()),
                        1.0,
                    )
                } else {
                    let r = schedule.posterior_variance(t) / sigma2[t - 1];
                    (
                        1.0 / (2.0 * sigma2[t - 1]),
                        0.5 * (r - 1.0 - r.ln()),
                        pm.c_x0,
                    )
                };
                let lo = c.sqrt_abar * x_min - band;
                let hi = c.sqrt_abar * x_max + band;
                let count = ((hi - lo) / h).ceil() as usize + 2;
                if count > MAX_GRID_POINTS {
                    stop.store(true, Ordering::Relaxed);
                    return Err(EvidenceError::GridTooLarge {
                        t,
                        points: count,
                        sd: s,
                        width: hi - lo,
                    });
                }
                let delta = 1.0 / points_per_sd;
                let decay = (-delta * delta).exp();
                let norm = h / (s * (2.0 * std::f64::consts::PI).sqrt());
                for (lat, sum) in sums.iter_mut().enumerate() {
                    // Nodes (k + offset) h, offset 0 or 1/2, from below lo to above hi.
                    let offset = 0.5 * lat as f64;
                    let k0 = (lo / h - offset).floor();
                    let xs: Vec<f64> = (0..count).map(|i| (k0 + i as f64 + offset) * h).collect();
                    let pred = predict(model, schedule, t, &xs);
                    // What x0 is compared with: x0_hat (t >= 2, times c_x0) or the
                    // decoder's mean mu(x_1, 1) (t = 1).
                    let target: Vec<f64> = if t == 1 {
                        xs.iter().zip(&pred).map(|(x, p)| pm.mean(*p, *x)).collect()
                    } else {
                        pred
                    };
                    if !target.iter().all(|v| v.is_finite()) {
                        stop.store(true, Ordering::Relaxed);
                        return Err(EvidenceError::NotFinite {
                            model: model.name(),
                            quantity: "prediction",
                            t,
                        });
                    }
                    for (i, &x0) in x0s.iter().enumerate() {
                        let centre = c.sqrt_abar * x0;
                        let j0 = (((centre - band - xs[0]) / h).ceil().max(0.0)) as usize;
                        let j1 = ((((centre + band - xs[0]) / h).floor()).max(0.0) as usize)
                            .min(count - 1);
                        let u0 = (xs[j0] - centre) / s;
                        let mut g = (-0.5 * u0 * u0).exp();
                        let mut r = (-(u0 * delta + 0.5 * delta * delta)).exp();
                        let mut acc = 0.0;
                        for &m in &target[j0..=j1] {
                            let d = coef * (x0 - m);
                            acc += g * d * d;
                            g *= r;
                            r *= decay;
                        }
                        sum[i] += scale * norm * acc + constant;
                    }
                }
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                report_step(&control, d);
            }
            Ok((std::mem::take(&mut sums[0]), std::mem::take(&mut sums[1])))
        })
        .collect();
    let mut a = prior.clone();
    let mut b = prior;
    let mut first_err = None;
    for out in outs {
        match out {
            Ok((pa, pb)) => {
                for i in 0..n {
                    a[i] += pa[i];
                    b[i] += pb[i];
                }
            }
            Err(e) => {
                // A real failure beats the cancellations it caused.
                if first_err.is_none() || first_err == Some(EvidenceError::Cancelled) {
                    first_err = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    Ok(a.into_iter()
        .zip(b)
        .map(|(a, b)| (0.5 * (a + b), 0.5 * (a - b).abs()))
        .collect())
}

/// The nodes of a 1D lattice of spacing `h` and offset `offset` inside the union of the
/// data components' regions (`REGION_SDS` sds around each mean), in increasing order.
fn lattice(data: &GaussianMixture, h: f64, offset: f64) -> Vec<f64> {
    let mut intervals: Vec<(f64, f64)> = data
        .means()
        .iter()
        .zip(data.covs())
        .map(|(m, c)| {
            let r = REGION_SDS[0] * c.xx.sqrt();
            (m[0] - r, m[0] + r)
        })
        .collect();
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (a, b) in intervals {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut out = Vec::new();
    for (a, b) in merged {
        let i0 = ((a - offset) / h).ceil() as i64;
        let i1 = ((b - offset) / h).floor() as i64;
        for i in i0..=i1 {
            out.push(offset + i as f64 * h);
        }
    }
    out
}

/// The model's marginal `p_theta(x0)`, the ELBO of each point and the decomposition
/// `NELBO - H(p0) = KL(p0 || p_theta) + mean bound gap` (module docs), for 1D data.
///
/// `sigma2` holds the reverse variances `[beta_1, sigma_2^2, ..., sigma_T^2]` (from
/// [`reverse_variances`], or any per-t vector such as a model-dependent variance). Progress
/// goes to `control.on_step` (up to [`progress_total`]); `control.cancel` stops it.
///
/// # Errors
/// 2D data ([`EvidenceError::NotOneDimensional`]), a model of another dimension, bad
/// variances or settings, a grid too large, non-finite predictions, or cancellation.
pub fn compute_evidence(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    sigma2: &[f64],
    config: &EvidenceConfig,
    control: Control<'_>,
) -> Result<EvidenceResult, EvidenceError> {
    if data.dim() != 1 {
        return Err(EvidenceError::NotOneDimensional(data.dim()));
    }
    if model.dim() != data.dim() {
        return Err(EvidenceError::DimensionMismatch {
            model: model.dim(),
            data: data.dim(),
        });
    }
    config.validate()?;
    check_variances(sigma2, schedule.steps())?;
    // Where the averages over p0 and the table are evaluated.
    let sd_min = data
        .covs()
        .iter()
        .map(|c| c.xx.sqrt())
        .fold(f64::INFINITY, f64::min);
    let h0 = sd_min / LATTICE_POINTS_PER_SD;
    // Data whose components differ hugely in width would need a lattice too fine for the
    // broad ones: say so rather than run for hours.
    let span: f64 = data
        .covs()
        .iter()
        .map(|c| 2.0 * REGION_SDS[0] * c.xx.sqrt())
        .sum();
    let nodes = (span / h0).ceil();
    if nodes.is_nan() || nodes > MAX_LATTICE_POINTS as f64 {
        return Err(EvidenceError::DataTooFine {
            sd_min,
            nodes: nodes as usize,
        });
    }
    let done = AtomicUsize::new(0);
    let grid = propagate(
        schedule,
        model,
        sigma2,
        config.points_per_sd,
        control,
        &done,
    )?;
    let coarse = if config.coarse_points_per_sd > 0.0 {
        Some(propagate(
            schedule,
            model,
            sigma2,
            config.coarse_points_per_sd,
            control,
            &done,
        )?)
    } else {
        None
    };

    let lat_a = lattice(data, h0, 0.0);
    let lat_b = lattice(data, h0, 0.5 * h0);
    let lo = data
        .means()
        .iter()
        .zip(data.covs())
        .map(|(m, c)| m[0] - TABLE_SDS * c.xx.sqrt())
        .fold(f64::INFINITY, f64::min);
    let hi = data
        .means()
        .iter()
        .zip(data.covs())
        .map(|(m, c)| m[0] + TABLE_SDS * c.xx.sqrt())
        .fold(f64::NEG_INFINITY, f64::max);
    let nt = config.table_points;
    let table_x: Vec<f64> = (0..nt)
        .map(|i| lo + (hi - lo) * i as f64 / (nt - 1) as f64)
        .collect();
    let all_x: Vec<f64> = table_x
        .iter()
        .chain(&lat_a)
        .chain(&lat_b)
        .copied()
        .collect();
    let nelbo = nelbo_points(
        schedule,
        model,
        sigma2,
        &all_x,
        config.xt_points_per_sd,
        control,
        &done,
    )?;
    let log_p0: Vec<f64> = all_x.iter().map(|&x| data.log_density(&[x])).collect();
    let log_pt: Vec<f64> = all_x.par_iter().map(|&x| grid.log_density(x)).collect();

    // Trapezoid averages over p0 on two lattices shifted by half a spacing: the mean is
    // the value, half the difference the error estimate.
    let trapezoid = |xs: &[f64], h: f64, f: &dyn Fn(usize) -> f64| -> f64 {
        (0..xs.len()).map(|k| h * f(k)).sum()
    };
    let pair = |a: f64, b: f64| Valued {
        value: 0.5 * (a + b),
        error: 0.5 * (a - b).abs(),
    };
    // The log-densities have sharp steps between modes (a log-sum-exp switching from one
    // component to the next over a width S^2 / distance), so their averages use a finer
    // lattice; they are cheap to evaluate there.
    let h_log = sd_min / LOG_LATTICE_POINTS_PER_SD;
    let log_lattices = [lattice(data, h_log, 0.0), lattice(data, h_log, 0.5 * h_log)];
    let mut nll_ab = [0.0; 2];
    let mut coarse_ab = [0.0; 2];
    let mut h_ab = [0.0; 2];
    for (i, xs) in log_lattices.iter().enumerate() {
        let lp0: Vec<f64> = xs.iter().map(|&x| data.log_density(&[x])).collect();
        let lpt: Vec<f64> = xs.par_iter().map(|&x| grid.log_density(x)).collect();
        nll_ab[i] = trapezoid(xs, h_log, &|k| -lp0[k].exp() * lpt[k]);
        h_ab[i] = trapezoid(xs, h_log, &|k| -lp0[k].exp() * lp0[k]);
        if let Some(g) = &coarse {
            let lpc: Vec<f64> = xs.par_iter().map(|&x| g.log_density(x)).collect();
            coarse_ab[i] = trapezoid(xs, h_log, &|k| -lp0[k].exp() * lpc[k]);
        }
    }
    let mut model_nll = pair(nll_ab[0], nll_ab[1]);
    if coarse.is_some() {
        model_nll.error += (0.5 * (coarse_ab[0] + coarse_ab[1]) - model_nll.value).abs();
    }
    let mut data_entropy = pair(h_ab[0], h_ab[1]);
    // NELBO(x0) (smooth, and T model calls per point) on the coarser lattice.
    let (na, nb) = (lat_a.len(), lat_b.len());
    let (ra, rb) = (nt..nt + na, nt + na..nt + na + nb);
    let avg = |f: &dyn Fn(usize) -> f64, r: std::ops::Range<usize>| -> f64 {
        r.map(|k| h0 * log_p0[k].exp() * f(k)).sum()
    };
    let mut nelbo_mean = pair(
        avg(&|k| nelbo[k].0, ra.clone()),
        avg(&|k| nelbo[k].0, rb.clone()),
    );
    let xt_error = pair(
        avg(&|k| nelbo[k].1, ra.clone()),
        avg(&|k| nelbo[k].1, rb.clone()),
    );
    nelbo_mean.error += xt_error.value;
    // Rounding: sums of T terms and of a few thousand lattice nodes.
    let rounding = (schedule.steps() as f64 + 1000.0) * 4.0 * f64::EPSILON;
    for v in [&mut model_nll, &mut data_entropy, &mut nelbo_mean] {
        v.error += rounding * v.value.abs();
    }
    let kl = Valued {
        value: model_nll.value - data_entropy.value,
        error: model_nll.error + data_entropy.error,
    };
    let gap = Valued {
        value: nelbo_mean.value - model_nll.value,
        error: nelbo_mean.error + model_nll.error,
    };
    let min_point_gap = (0..all_x.len())
        .map(|k| nelbo[k].0 + log_pt[k])
        .filter(|g| g.is_finite())
        .fold(f64::INFINITY, f64::min);
    let points = (0..nt)
        .map(|k| {
            let nll = -log_pt[k];
            EvidencePoint {
                x0: all_x[k],
                p0: log_p0[k].exp(),
                p_theta: log_pt[k].exp(),
                nll: nll.is_finite().then_some(nll),
                nelbo: nelbo[k].0,
                nelbo_error: nelbo[k].1,
            }
        })
        .collect();
    if !(model_nll.value.is_finite() && nelbo_mean.value.is_finite()) {
        return Err(EvidenceError::NotFinite {
            model: model.name(),
            quantity: "model NLL or NELBO",
            t: 0,
        });
    }
    Ok(EvidenceResult {
        steps: schedule.steps(),
        model: model.name(),
        config: *config,
        model_nll,
        data_entropy,
        kl_data_model: kl,
        mean_bound_gap: gap,
        nelbo: nelbo_mean,
        mass: grid.total,
        coarse_mass: coarse.as_ref().map(|g| g.total),
        min_point_gap,
        max_grid_points: grid
            .max_points
            .max(coarse.as_ref().map_or(0, |g| g.max_points)),
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_covers_each_region_once() {
        let data = GaussianMixture::new(&[
            crate::mixture::Component {
                weight: 0.5,
                mean: vec![-1.0],
                cov: vec![vec![0.04]],
            },
            crate::mixture::Component {
                weight: 0.5,
                mean: vec![-0.9],
                cov: vec![vec![0.04]],
            },
        ])
        .expect("valid");
        let l = lattice(&data, 0.1, 0.0);
        assert!(l.windows(2).all(|w| w[1] > w[0]));
        let span = 2.0 * REGION_SDS[0] * 0.2 + 0.1;
        assert!((l.len() as f64 - span / 0.1).abs() <= 2.0, "{}", l.len());
    }
}
