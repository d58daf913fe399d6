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

/// Tweedie's formula checked on mixture data (Luo eq. 133-135): the optimal denoiser's
/// `E[x0 | x_t]` computed two ways at the same points, and how far apart they are.
///
/// ```text
/// direct     E[x0 | x_t] = sum_k r_k(x_t) mu_k(x_t)                      (the posterior)
/// via_score  E[x0 | x_t] = (x_t + (1 - abar_t) grad log q_t(x_t)) / sqrt(abar_t)
///                                                             (Tweedie, Luo eq. 133, 135)
/// ```
/// with `mu_k(x_t) = m_k + sqrt(abar_t) S_k C_k^{-1} (x_t - a_k)` and the score
/// `grad log q_t(x_t) = -sum_k r_k C_k^{-1} (x_t - a_k)`, both from the same
/// responsibilities but along different sums (see [`MixtureDenoiser::predict_both`]).
/// The noise form of the same identity is kept too: `E[eps | x_t]` (Luo eq. 151 says the
/// score is `-E[eps | x_t] / sqrt(1 - abar_t)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Tweedie {
    /// `E[x0 | x_t]` from the responsibilities, one row per point.
    pub direct: Array2<f64>,
    /// The score `grad log q_t(x_t)`, one row per point.
    pub score: Array2<f64>,
    /// `E[eps | x_t] = (x_t - sqrt(abar_t) E[x0 | x_t]) / sqrt(1 - abar_t)`, from the
    /// direct posterior mean; `None` at `abar_t = 1` (t = 0: there is no noise).
    pub expected_eps: Option<Array2<f64>>,
    /// `E[x0 | x_t]` through the score and Tweedie's formula; `None` where `abar_t = 0`
    /// (t = T of a zero-terminal-SNR schedule: it divides by `sqrt(abar_t) = 0`) or where
    /// that division leaves f64's range.
    pub via_score: Option<Array2<f64>>,
    /// `max |direct - via_score|` over every point and coordinate; `None` with `via_score`.
    pub max_abs_diff: Option<f64>,
    /// [`Tweedie::max_abs_diff`] relative to the scale of the data:
    /// `max |direct - via_score| / max(max |direct|, sd)`, where `sd` is the data's largest
    /// standard deviation along any direction (`sqrt` of the largest eigenvalue of its
    /// covariance). The `sd` floor keeps the ratio meaningful where `E[x0 | x_t]` is near 0.
    pub max_rel_diff: Option<f64>,
    /// The denominator of [`Tweedie::max_rel_diff`].
    pub scale: f64,
}

/// [`Tweedie`] at timestep t (0..=T) for the points `xt` (rows, `d` columns where `d` is
/// the data's dimension): the Bayes-optimal denoiser's posterior mean directly and through
/// the score (Luo eq. 133-135). Never NaN or infinite: what is undefined is `None`.
///
/// Rounding: the score form cancels `x_t` against `(1 - abar_t)` times the score and
/// divides by `sqrt(abar_t)`, so its error is about `f64::EPSILON |x_t| / sqrt(abar_t)`:
/// rounding-sized (1e-15 of the data's scale) while `abar_t` is not tiny, larger near the
/// end of a schedule whose `abar_T` is (1e-11 at `abar_t` = 1e-9).
///
/// # Panics
/// When `xt` does not have the data's dimension as its number of columns.
pub fn tweedie(
    mixture: &GaussianMixture,
    schedule: &NoiseSchedule,
    t: usize,
    xt: ArrayView2<'_, f64>,
) -> Tweedie {
    assert_eq!(
        xt.ncols(),
        mixture.dim(),
        "points of dimension {} for data of dimension {}",
        xt.ncols(),
        mixture.dim()
    );
    let (direct, score) = run_kernel(mixture, schedule, t, xt, true);
    let score = score.unwrap_or_else(|| Array2::zeros(direct.raw_dim()));
    let c = Coeffs::at(schedule, t);
    let one_minus_abar = schedule.one_minus_abar(t);
    let via_score = (c.sqrt_abar > 0.0)
        .then(|| {
            Zip::from(&xt)
                .and(&score)
                .map_collect(|&x, &s| (x + one_minus_abar * s) / c.sqrt_abar)
        })
        .filter(|v| v.iter().all(|x| x.is_finite()));
    let expected_eps = (c.sqrt_one_minus_abar > 0.0)
        .then(|| {
            Zip::from(&xt)
                .and(&direct)
                .map_collect(|&x, &x0| c.eps_from_x0(x, x0))
        })
        .filter(|v| v.iter().all(|x| x.is_finite()));
    let (_, largest) = mixture.covariance().eigenvalues(mixture.dim());
    let biggest = direct.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let scale = biggest.max(largest.max(0.0).sqrt());
    let max_abs_diff = via_score.as_ref().map(|v| {
        Zip::from(&direct)
            .and(v)
            .fold(0.0_f64, |m, &a, &b| m.max((a - b).abs()))
    });
    let max_rel_diff = max_abs_diff
        .map(|d| if scale > 0.0 { d / scale } else { d })
        .filter(|r| r.is_finite());
    Tweedie {
        direct,
        score,
        expected_eps,
        via_score,
        max_abs_diff,
        max_rel_diff,
        scale,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::{DataPreset, DataSpec};
    use crate::schedule::{BetaSchedule, ScheduleSpec};

    /// Below this abar_t the score form's rounding, about `eps |x_t| / sqrt(abar_t)`, may
    /// pass 1e-12 of the data's scale (it reaches 7e-11 at the cosine schedule's
    /// abar_T = 2.4e-9 on two moons).
    const TINY_ABAR: f64 = 1e-4;

    /// Points over `[-3.5, 3.5]^d`: 81 in 1D, a 21 x 21 grid in 2D.
    fn points(d: usize) -> Array2<f64> {
        if d == 1 {
            Array2::from_shape_fn((81, 1), |(i, _)| -3.5 + 7.0 * i as f64 / 80.0)
        } else {
            let n = 21;
            Array2::from_shape_fn((n * n, 2), |(i, axis)| {
                let k = if axis == 0 { i % n } else { i / n };
                -3.5 + 7.0 * k as f64 / (n - 1) as f64
            })
        }
    }

    fn schedule(kind: BetaSchedule, zero_snr: bool) -> NoiseSchedule {
        let mut spec = ScheduleSpec::preset(kind, 1000);
        spec.rescale_zero_snr = zero_snr;
        spec.build().expect("valid schedule")
    }

    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
    }

    /// Luo eq. 133-135: the posterior mean from the responsibilities and through the score
    /// agree to 1e-12 of the data's scale wherever abar_t >= 1e-4; where it is smaller,
    /// within `32 eps max|x_t| / (sqrt(abar_t) scale)`, the rounding of the division by
    /// sqrt(abar_t) (measured: under a tenth of that).
    #[test]
    fn tweedie_two_ways_agree_on_1d_and_2d_presets() {
        let ts = [1, 10, 100, 250, 500, 750, 900, 950, 990, 999, 1000];
        for preset in [
            DataPreset::Bimodal,
            DataPreset::EightGaussians,
            DataPreset::TwoMoons,
        ] {
            let data = DataSpec::new(preset).build().expect("preset builds");
            let xt = points(data.dim());
            let biggest_x = max_abs(&xt);
            for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
                let s = schedule(kind, false);
                let mut strict = 0;
                for t in ts {
                    let tw = tweedie(&data, &s, t, xt.view());
                    let what = format!("{preset:?} {kind:?} t = {t}");
                    let via = tw.via_score.as_ref().expect("abar_t > 0: defined");
                    let rel = tw.max_rel_diff.expect("defined");
                    let abs = tw.max_abs_diff.expect("defined");
                    assert_eq!(tw.direct.dim(), xt.dim(), "{what}");
                    assert_eq!(via.dim(), xt.dim(), "{what}");
                    assert!(tw.scale > 0.5 && tw.scale.is_finite(), "{what}");
                    assert!((abs / tw.scale - rel).abs() <= 1e-15, "{what}");
                    let abar = s.abar(t);
                    if abar >= TINY_ABAR {
                        strict += 1;
                        assert!(rel <= 1e-12, "{what}: relative difference {rel:e}");
                    } else {
                        let bound = 32.0 * f64::EPSILON * biggest_x / (abar.sqrt() * tw.scale);
                        assert!(rel <= bound, "{what}: {rel:e} > {bound:e}");
                    }
                }
                assert!(strict >= 7, "{preset:?} {kind:?}: {strict} strict checks");
            }
        }
    }

    /// The noise form (Luo eq. 151): score = -E[eps | x_t] / sqrt(1 - abar_t), with
    /// E[eps | x_t] from the direct posterior mean.
    #[test]
    fn the_score_is_minus_the_expected_noise_over_its_scale() {
        let data = DataSpec::new(DataPreset::Bimodal)
            .build()
            .expect("preset builds");
        let s = schedule(BetaSchedule::Linear, false);
        let xt = points(1);
        for t in [1, 50, 500, 1000] {
            let tw = tweedie(&data, &s, t, xt.view());
            let eps = tw.expected_eps.as_ref().expect("t >= 1: defined");
            let sn = s.one_minus_abar(t).sqrt();
            let scale = max_abs(&tw.score).max(1.0);
            for (e, sc) in eps.iter().zip(&tw.score) {
                assert!((-e / sn - sc).abs() <= 1e-11 * scale, "t = {t}: {e} {sc}");
            }
        }
        // At t = 0 there is no noise: E[x0 | x_0] = x_0 and E[eps] is undefined.
        let tw = tweedie(&data, &s, 0, xt.view());
        assert!(tw.expected_eps.is_none());
        assert_eq!(tw.via_score.as_ref(), Some(&xt));
    }

    /// For N(m, s^2) data the posterior mean is exact:
    /// `m + sqrt(abar) s^2 (x_t - sqrt(abar) m) / (abar s^2 + 1 - abar)`; both forms give it.
    #[test]
    fn a_single_gaussian_has_the_closed_form_posterior_mean() {
        let (m, sd) = (0.5, 0.8);
        let data = GaussianMixture::gaussian(&[m], vec![vec![sd * sd]]).expect("valid");
        let xt = points(1);
        for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
            let s = schedule(kind, false);
            for t in [1, 100, 500, 900] {
                let (abar, one_m) = (s.abar(t), s.one_minus_abar(t));
                let tw = tweedie(&data, &s, t, xt.view());
                let via = tw.via_score.as_ref().expect("defined");
                for (i, &x) in xt.column(0).iter().enumerate() {
                    let exact = m + abar.sqrt() * sd * sd * (x - abar.sqrt() * m)
                        / (abar * sd * sd + one_m);
                    for (form, got) in [("direct", tw.direct[[i, 0]]), ("score", via[[i, 0]])] {
                        assert!(
                            (got - exact).abs() <= 1e-12 * exact.abs().max(1.0),
                            "{kind:?} t = {t} x = {x} {form}: {got} vs {exact}"
                        );
                    }
                }
            }
        }
    }

    /// At abar_t = 0 (t = T of a zero-terminal-SNR schedule) the score form divides by 0:
    /// it is None, never NaN; the posterior mean is the data mean everywhere.
    #[test]
    fn at_zero_terminal_snr_the_score_form_is_undefined() {
        for preset in [DataPreset::Bimodal, DataPreset::EightGaussians] {
            let data = DataSpec::new(preset).build().expect("preset builds");
            let s = schedule(BetaSchedule::Linear, true);
            let big_t = s.steps();
            assert_eq!(s.abar(big_t), 0.0);
            let xt = points(data.dim());
            let tw = tweedie(&data, &s, big_t, xt.view());
            assert!(tw.via_score.is_none() && tw.max_abs_diff.is_none());
            assert!(tw.max_rel_diff.is_none());
            let mean = data.mean();
            for row in tw.direct.rows() {
                for (j, v) in row.iter().enumerate() {
                    assert!(
                        (v - mean[j]).abs() <= 1e-12,
                        "{preset:?}: {v} vs {}",
                        mean[j]
                    );
                }
            }
            assert!(tw.score.iter().all(|v| v.is_finite()));
            // One step earlier it is defined again.
            let tw = tweedie(&data, &s, big_t - 1, xt.view());
            assert!(tw.max_rel_diff.is_some_and(|r| r.is_finite()));
        }
    }
}
