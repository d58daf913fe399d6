//! The model: denoisers that predict x0 from x_t (SPEC §3).
//!
//! The Bayes-optimal denoiser of a Gaussian mixture is exact. With responsibilities
//! `r_k(x_t)` proportional to `pi_k N(x_t; a_k, C_k)` (log space, logsumexp),
//! ```text
//! a_k = sqrt(abar_t) m_k,   C_k = abar_t S_k + (1 - abar_t) I
//! E[x0 | x_t]        = sum_k r_k (m_k + sqrt(abar_t) S_k C_k^{-1} (x_t - a_k))
//! grad log q_t(x_t)  = - sum_k r_k C_k^{-1} (x_t - a_k)
//! E[eps | x_t]       = - sqrt(1 - abar_t) grad log q_t(x_t)
//! ```
//! and Tweedie's formula (Luo eq. 133) ties them: `x_t = sqrt(abar) E[x0|x_t] + sqrt(1-abar) E[eps|x_t]`.
//!
//! The Gaussian-fit model is the optimal denoiser of `N(mean, cov)` of the data: a linear
//! denoiser whose squared error is closed-form for any data with that mean and covariance.

use std::fmt;
use std::sync::Arc;

use ndarray::{Array2, ArrayView2, Axis, Zip};
use serde::{Deserialize, Serialize};

use crate::mixture::{GaussianMixture, Sym2};
use crate::param::Coeffs;
use crate::schedule::NoiseSchedule;

/// A model of `E[x0 | x_t]`, batched over rows of `x_t` (shape `(n, d)`).
pub trait Denoiser: Send + Sync {
    /// A short name for legends.
    fn name(&self) -> String;

    /// Data dimension d.
    fn dim(&self) -> usize;

    /// The x0-prediction for every row of `xt` at timestep t (1..=T).
    fn predict_x0(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Array2<f64>;

    /// The score prediction. The default converts the x0-prediction
    /// (`s = -(x_t - sqrt(abar) x0_hat) / (1 - abar)`); closed-form models override it.
    fn predict_score(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        let c = Coeffs::at(schedule, t);
        let mut out = self.predict_x0(schedule, t, xt);
        Zip::from(&mut out)
            .and(&xt)
            .for_each(|o, &x| *o = c.score_from_eps(c.eps_from_x0(x, *o)));
        out
    }

    /// `E||x0_hat - x0||^2` in closed form, where the model has one (per t, summed over d).
    fn exact_mse_x0(&self, _schedule: &NoiseSchedule, _t: usize) -> Option<f64> {
        None
    }
}

/// The models ELBO Lab can evaluate without training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The Bayes-optimal denoiser of the data (exact).
    #[default]
    Optimal,
    /// The optimal denoiser of the best Gaussian fit of the data (a linear model).
    Gaussian,
}

impl ModelKind {
    /// Both, in UI order.
    pub const ALL: [ModelKind; 2] = [ModelKind::Optimal, ModelKind::Gaussian];

    /// The name used by the CLI and the report.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Optimal => "optimal",
            ModelKind::Gaussian => "gaussian",
        }
    }

    /// One line for the UI and `elbo-lab presets`.
    pub fn description(self) -> &'static str {
        match self {
            ModelKind::Optimal => "Bayes-optimal denoiser E[x0|x_t] of the data (exact)",
            ModelKind::Gaussian => "optimal denoiser of N(mean, cov) of the data: a linear model",
        }
    }

    /// Build the model for some data.
    pub fn build(self, data: &GaussianMixture) -> Arc<dyn Denoiser> {
        match self {
            ModelKind::Optimal => Arc::new(MixtureDenoiser::new(data.clone())),
            ModelKind::Gaussian => Arc::new(GaussianDenoiser::fit(data)),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The Bayes-optimal denoiser of a Gaussian mixture.
#[derive(Debug, Clone)]
pub struct MixtureDenoiser {
    mixture: GaussianMixture,
}

/// Per-timestep constants of the optimal denoiser, struct-of-arrays for the hot loop.
struct Kernel {
    dim: usize,
    /// log pi_k - 0.5 log det C_k.
    log_c: Vec<f64>,
    /// a_k.
    ax: Vec<f64>,
    ay: Vec<f64>,
    /// C_k^{-1}.
    ixx: Vec<f64>,
    ixy: Vec<f64>,
    iyy: Vec<f64>,
    /// m_k.
    mx: Vec<f64>,
    my: Vec<f64>,
    /// sqrt(abar) S_k C_k^{-1} (symmetric: S and C commute).
    gxx: Vec<f64>,
    gxy: Vec<f64>,
    gyy: Vec<f64>,
}

/// Responsibilities below `max - PRUNE_LOG` contribute less than 1e-19 relative and are
/// skipped (exact to rounding).
const PRUNE_LOG: f64 = 44.0;

impl Kernel {
    fn new(mixture: &GaussianMixture, c: Coeffs) -> Self {
        let dim = mixture.dim();
        let abar = c.sqrt_abar * c.sqrt_abar;
        let one_m = c.sqrt_one_minus_abar * c.sqrt_one_minus_abar;
        let k = mixture.len();
        let mut kern = Kernel {
            dim,
            log_c: Vec::with_capacity(k),
            ax: Vec::with_capacity(k),
            ay: Vec::with_capacity(k),
            ixx: Vec::with_capacity(k),
            ixy: Vec::with_capacity(k),
            iyy: Vec::with_capacity(k),
            mx: Vec::with_capacity(k),
            my: Vec::with_capacity(k),
            gxx: Vec::with_capacity(k),
            gxy: Vec::with_capacity(k),
            gyy: Vec::with_capacity(k),
        };
        for ((w, m), s) in mixture
            .weights()
            .iter()
            .zip(mixture.means())
            .zip(mixture.covs())
        {
            let cxx = abar * s.xx + one_m;
            let (cxy, cyy) = if dim == 2 {
                (abar * s.xy, abar * s.yy + one_m)
            } else {
                (0.0, 1.0)
            };
            let det = cxx * cyy - cxy * cxy;
            let inv = Sym2 {
                xx: cyy / det,
                xy: -cxy / det,
                yy: cxx / det,
            };
            // G = sqrt(abar) S C^{-1}.
            let g = Sym2 {
                xx: c.sqrt_abar * (s.xx * inv.xx + s.xy * inv.xy),
                xy: c.sqrt_abar * (s.xx * inv.xy + s.xy * inv.yy),
                yy: c.sqrt_abar * (s.xy * inv.xy + s.yy * inv.yy),
            };
            kern.log_c.push(w.ln() - 0.5 * det.ln());
            kern.ax.push(c.sqrt_abar * m[0]);
            kern.ay.push(c.sqrt_abar * m[1]);
            kern.ixx.push(inv.xx);
            kern.ixy.push(inv.xy);
            kern.iyy.push(inv.yy);
            kern.mx.push(m[0]);
            kern.my.push(m[1]);
            kern.gxx.push(g.xx);
            kern.gxy.push(g.xy);
            kern.gyy.push(g.yy);
        }
        kern
    }

    /// Fill `logits` with `log pi_k N(x; a_k, C_k)` up to a constant; return the max.
    fn logits(&self, x: f64, y: f64, logits: &mut [f64]) -> f64 {
        let mut best = f64::NEG_INFINITY;
        if self.dim == 1 {
            for (l, ((&lc, &ax), &ixx)) in logits
                .iter_mut()
                .zip(self.log_c.iter().zip(&self.ax).zip(&self.ixx))
            {
                let dx = x - ax;
                *l = lc - 0.5 * ixx * dx * dx;
                best = best.max(*l);
            }
        } else {
            for k in 0..logits.len() {
                let dx = x - self.ax[k];
                let dy = y - self.ay[k];
                let q = self.ixx[k] * dx * dx + 2.0 * self.ixy[k] * dx * dy + self.iyy[k] * dy * dy;
                let l = self.log_c[k] - 0.5 * q;
                logits[k] = l;
                best = best.max(l);
            }
        }
        best
    }

    /// `E[x0 | x]` and, when asked, the score at one point.
    fn eval(&self, x: f64, y: f64, logits: &mut [f64], want_score: bool) -> [f64; 4] {
        let best = self.logits(x, y, logits);
        let (mut z, mut ex, mut ey, mut sx, mut sy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (k, &l) in logits.iter().enumerate() {
            let rel = l - best;
            if rel < -PRUNE_LOG {
                continue;
            }
            let r = rel.exp();
            z += r;
            let dx = x - self.ax[k];
            let dy = y - self.ay[k];
            ex += r * (self.mx[k] + self.gxx[k] * dx + self.gxy[k] * dy);
            ey += r * (self.my[k] + self.gxy[k] * dx + self.gyy[k] * dy);
            if want_score {
                sx -= r * (self.ixx[k] * dx + self.ixy[k] * dy);
                sy -= r * (self.ixy[k] * dx + self.iyy[k] * dy);
            }
        }
        [ex / z, ey / z, sx / z, sy / z]
    }

    /// Run over rows of `xt`, writing x0 (and score) predictions.
    fn run(&self, xt: ArrayView2<'_, f64>, want_score: bool) -> (Array2<f64>, Option<Array2<f64>>) {
        let n = xt.nrows();
        let mut x0 = Array2::zeros((n, self.dim));
        let mut score = want_score.then(|| Array2::zeros((n, self.dim)));
        let mut logits = vec![0.0; self.log_c.len()];
        for (i, row) in xt.axis_iter(Axis(0)).enumerate() {
            let (x, y) = (row[0], if self.dim == 2 { row[1] } else { 0.0 });
            let out = self.eval(x, y, &mut logits, want_score);
            for j in 0..self.dim {
                x0[[i, j]] = out[j];
                if let Some(s) = score.as_mut() {
                    s[[i, j]] = out[2 + j];
                }
            }
        }
        (x0, score)
    }
}

impl MixtureDenoiser {
    /// The optimal denoiser of these data.
    pub fn new(mixture: GaussianMixture) -> Self {
        MixtureDenoiser { mixture }
    }

    /// The data it denoises.
    pub fn mixture(&self) -> &GaussianMixture {
        &self.mixture
    }

    /// x0-prediction and score at once (one pass over the components).
    pub fn predict_both(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> (Array2<f64>, Array2<f64>) {
        let kern = Kernel::new(&self.mixture, Coeffs::at(schedule, t));
        let (x0, score) = kern.run(xt, true);
        let score = score.unwrap_or_else(|| Array2::zeros(x0.raw_dim()));
        (x0, score)
    }
}

impl Denoiser for MixtureDenoiser {
    fn name(&self) -> String {
        "optimal".into()
    }

    fn dim(&self) -> usize {
        self.mixture.dim()
    }

    fn predict_x0(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        Kernel::new(&self.mixture, Coeffs::at(schedule, t))
            .run(xt, false)
            .0
    }

    fn predict_score(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        self.predict_both(schedule, t, xt).1
    }
}

/// The best Gaussian fit of the data, denoised optimally: a linear denoiser.
#[derive(Debug, Clone)]
pub struct GaussianDenoiser {
    fit: MixtureDenoiser,
    /// Eigenvalues of the data covariance.
    eigenvalues: Vec<f64>,
}

impl GaussianDenoiser {
    /// Fit N(mean, cov) to the data (moments are exact for a mixture).
    pub fn fit(data: &GaussianMixture) -> Self {
        let (m, c) = (data.mean(), data.covariance());
        let dim = data.dim();
        let (lo, hi) = c.eigenvalues(dim);
        let eigenvalues = if dim == 1 { vec![lo] } else { vec![lo, hi] };
        let cov = if dim == 1 {
            vec![vec![c.xx]]
        } else {
            vec![vec![c.xx, c.xy], vec![c.xy, c.yy]]
        };
        // The covariance of a valid mixture is SPD (a positive mix of SPD matrices plus a
        // PSD spread of means), so this cannot fail; keep the data's own mixture if it did.
        let gaussian = GaussianMixture::gaussian(&m[..dim], cov).unwrap_or_else(|_| data.clone());
        GaussianDenoiser {
            fit: MixtureDenoiser::new(gaussian),
            eigenvalues,
        }
    }

    /// The fitted Gaussian (as a one-component mixture).
    pub fn gaussian(&self) -> &GaussianMixture {
        self.fit.mixture()
    }
}

/// The exact MMSE of the linear denoiser for data of covariance eigenvalues `lambda_i`:
///
/// ```text
/// E||x0 - x0_hat||^2 = sum_i lambda_i (1 - abar) / (abar lambda_i + 1 - abar)
/// ```
/// (the error of the linear MMSE estimator depends only on the first two moments).
pub fn linear_mmse(eigenvalues: &[f64], abar: f64, one_minus_abar: f64) -> f64 {
    eigenvalues
        .iter()
        .map(|&l| l * one_minus_abar / (abar * l + one_minus_abar))
        .sum()
}

impl Denoiser for GaussianDenoiser {
    fn name(&self) -> String {
        "gaussian".into()
    }

    fn dim(&self) -> usize {
        self.fit.dim()
    }

    fn predict_x0(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        self.fit.predict_x0(schedule, t, xt)
    }

    fn predict_score(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        self.fit.predict_score(schedule, t, xt)
    }

    fn exact_mse_x0(&self, schedule: &NoiseSchedule, t: usize) -> Option<f64> {
        Some(linear_mmse(
            &self.eigenvalues,
            schedule.abar(t),
            schedule.one_minus_abar(t),
        ))
    }
}
