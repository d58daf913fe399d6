//! The model: denoisers that predict x0 from x_t (Tweedie's formula: Luo eq. 133).
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

use ndarray::{Array2, ArrayView2, Zip};
use serde::{Deserialize, Serialize};

use crate::kernel::Kernel;
use crate::mixture::GaussianMixture;
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

    /// The relative rounding of the predictions: `f64::EPSILON` for the closed-form models,
    /// `f32::EPSILON` for a network that computes in f32. Quadrature does not refine below it.
    fn precision(&self) -> f64 {
        f64::EPSILON
    }

    /// The mixture whose exact posterior mean `E[x0 | x_t]` this model is, if it is one
    /// (the Bayes-optimal denoiser of those data). Quadrature then skips the model call.
    fn posterior_mean_of(&self) -> Option<&GaussianMixture> {
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

/// Run the vectorised kernel of q_t over the rows of `xt`.
fn run_kernel(
    mixture: &GaussianMixture,
    schedule: &NoiseSchedule,
    t: usize,
    xt: ArrayView2<'_, f64>,
    want_score: bool,
) -> (Array2<f64>, Option<Array2<f64>>) {
    let kern = Kernel::new(mixture, Coeffs::at(schedule, t));
    let dim = kern.dim();
    let n = xt.nrows();
    let xs: Vec<f64> = xt.column(0).to_vec();
    let ys: Vec<f64> = if dim == 2 {
        xt.column(1).to_vec()
    } else {
        Vec::new()
    };
    let second = if dim == 2 { n } else { 0 };
    let (mut x0x, mut x0y) = (vec![0.0; n], vec![0.0; second]);
    let (mut sx, mut sy) = if want_score {
        (vec![0.0; n], vec![0.0; second])
    } else {
        (Vec::new(), Vec::new())
    };
    kern.run(
        &xs,
        &ys,
        (&mut x0x, &mut x0y),
        want_score.then_some((&mut sx, &mut sy)),
    );
    let to_array = |cx: &[f64], cy: &[f64]| {
        Array2::from_shape_fn((n, dim), |(i, j)| if j == 0 { cx[i] } else { cy[i] })
    };
    let x0 = to_array(&x0x, &x0y);
    let score = want_score.then(|| to_array(&sx, &sy));
    (x0, score)
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
        let (x0, score) = run_kernel(&self.mixture, schedule, t, xt, true);
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
        run_kernel(&self.mixture, schedule, t, xt, false).0
    }

    fn predict_score(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        self.predict_both(schedule, t, xt).1
    }

    fn posterior_mean_of(&self) -> Option<&GaussianMixture> {
        Some(&self.mixture)
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
        let c = data.covariance();
        let dim = data.dim();
        let (lo, hi) = c.eigenvalues(dim);
        let eigenvalues = if dim == 1 { vec![lo] } else { vec![lo, hi] };
        // The covariance of a valid mixture is SPD (a positive mix of SPD matrices plus a
        // PSD spread of means). It is not held to the input scale limits: the fit of
        // narrow, well-separated components is ill-conditioned by nature.
        let gaussian = data.moment_fit();
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
