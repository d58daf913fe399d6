//! The parameterisations of the denoiser and their ELBO weights, in one place
//! (Luo §"Three Equivalent Interpretations"; eqs. 108, 130, 148).
//!
//! ```text
//! x_t      = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
//! eps_hat  = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t)
//! s_hat    = -eps_hat / sqrt(1 - abar_t)                 (the score; target s = -eps / sqrt(1 - abar_t))
//! v_hat    = sqrt(abar_t) eps_hat - sqrt(1 - abar_t) x0_hat
//! ```
//! and the weights that make each parameterisation's squared error the same ELBO term:
//! ```text
//! w_x0(t)  = abar_{t-1} beta_t^2 / (2 sigma_t^2 (1 - abar_t)^2)     (eq. 108)
//! w_eps(t) = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t))           (eq. 130)
//! w_s(t)   = beta_t^2 / (2 sigma_t^2 alpha_t)                        (eq. 148)
//! w_v(t)   = w_x0(t) (1 - abar_t)
//! ```
//! At t = 1 (the decoder, variance beta_1): w_x0 = 1/(2 beta_1), w_eps = 1/(2 alpha_1),
//! w_s = beta_1/(2 alpha_1). Weights are computed in log space and are `None` where they
//! are undefined (abar_t = 0 exactly, that is log abar_t = -inf: a beta of 1) or overflow;
//! an abar_t that merely underflows f64 (log abar_t < -745) leaves every weight defined.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::schedule::{NoiseSchedule, VarianceType};

/// What a denoiser predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parameterisation {
    /// The clean data x0 (Luo eq. 99).
    X0,
    /// The noise eps (Luo eq. 130, DDPM).
    Eps,
    /// The score grad log q(x_t) (Luo eq. 148).
    Score,
    /// v = sqrt(abar) eps - sqrt(1 - abar) x0 (diffusers `v_prediction`).
    V,
}

impl Parameterisation {
    /// All four, in the order the app shows them.
    pub const ALL: [Parameterisation; 4] = [
        Parameterisation::X0,
        Parameterisation::Eps,
        Parameterisation::Score,
        Parameterisation::V,
    ];

    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Parameterisation::X0 => "x0",
            Parameterisation::Eps => "eps",
            Parameterisation::Score => "score",
            Parameterisation::V => "v",
        }
    }
}

impl fmt::Display for Parameterisation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One value per parameterisation, indexed by [`Parameterisation`] (never by position).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PerParam<T> {
    /// The x0-prediction's value.
    pub x0: T,
    /// The eps-prediction's value.
    pub eps: T,
    /// The score-prediction's value.
    pub score: T,
    /// The v-prediction's value.
    pub v: T,
}

impl<T> PerParam<T> {
    /// Build from a function of the parameterisation.
    pub fn from_fn(mut f: impl FnMut(Parameterisation) -> T) -> Self {
        PerParam {
            x0: f(Parameterisation::X0),
            eps: f(Parameterisation::Eps),
            score: f(Parameterisation::Score),
            v: f(Parameterisation::V),
        }
    }

    /// Apply `f` to each value.
    pub fn map<U>(self, mut f: impl FnMut(Parameterisation, T) -> U) -> PerParam<U> {
        PerParam {
            x0: f(Parameterisation::X0, self.x0),
            eps: f(Parameterisation::Eps, self.eps),
            score: f(Parameterisation::Score, self.score),
            v: f(Parameterisation::V, self.v),
        }
    }

    /// The values with their parameterisation, in [`Parameterisation::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Parameterisation, &T)> {
        Parameterisation::ALL
            .into_iter()
            .map(move |p| (p, &self[p]))
    }
}

impl<T> std::ops::Index<Parameterisation> for PerParam<T> {
    type Output = T;
    fn index(&self, p: Parameterisation) -> &T {
        match p {
            Parameterisation::X0 => &self.x0,
            Parameterisation::Eps => &self.eps,
            Parameterisation::Score => &self.score,
            Parameterisation::V => &self.v,
        }
    }
}

impl<T> std::ops::IndexMut<Parameterisation> for PerParam<T> {
    fn index_mut(&mut self, p: Parameterisation) -> &mut T {
        match p {
            Parameterisation::X0 => &mut self.x0,
            Parameterisation::Eps => &mut self.eps,
            Parameterisation::Score => &mut self.score,
            Parameterisation::V => &mut self.v,
        }
    }
}

/// `Some(x)` when `x` is finite, else `None`: how undefined values leave the core.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The coefficients of the forward process at one t.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coeffs {
    /// `sqrt(abar_t)`.
    pub sqrt_abar: f64,
    /// `sqrt(1 - abar_t)`.
    pub sqrt_one_minus_abar: f64,
}

impl Coeffs {
    /// The coefficients at t (t in 0..=T).
    pub fn at(schedule: &NoiseSchedule, t: usize) -> Self {
        Coeffs {
            sqrt_abar: (0.5 * schedule.log_abar(t)).exp(),
            sqrt_one_minus_abar: schedule.one_minus_abar(t).sqrt(),
        }
    }

    /// `x_t = sqrt(abar) x0 + sqrt(1 - abar) eps`.
    pub fn noise(&self, x0: f64, eps: f64) -> f64 {
        self.sqrt_abar * x0 + self.sqrt_one_minus_abar * eps
    }

    /// `eps_hat = (x_t - sqrt(abar) x0_hat) / sqrt(1 - abar)` (finite for t >= 1).
    pub fn eps_from_x0(&self, xt: f64, x0: f64) -> f64 {
        (xt - self.sqrt_abar * x0) / self.sqrt_one_minus_abar
    }

    /// `s_hat = -eps_hat / sqrt(1 - abar)`.
    pub fn score_from_eps(&self, eps: f64) -> f64 {
        -eps / self.sqrt_one_minus_abar
    }

    /// `eps = -sqrt(1 - abar) s` (Luo eq. 151).
    pub fn eps_from_score(&self, score: f64) -> f64 {
        -self.sqrt_one_minus_abar * score
    }

    /// `v = sqrt(abar) eps - sqrt(1 - abar) x0`.
    pub fn v(&self, x0: f64, eps: f64) -> f64 {
        self.sqrt_abar * eps - self.sqrt_one_minus_abar * x0
    }

    /// `x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar)`: `None` where abar = 0 (undefined).
    pub fn x0_from_eps(&self, xt: f64, eps: f64) -> Option<f64> {
        if self.sqrt_abar == 0.0 {
            return None;
        }
        finite((xt - self.sqrt_one_minus_abar * eps) / self.sqrt_abar)
    }

    /// `x0 = sqrt(abar) x_t - sqrt(1 - abar) v` (always defined).
    pub fn x0_from_v(&self, xt: f64, v: f64) -> f64 {
        self.sqrt_abar * xt - self.sqrt_one_minus_abar * v
    }
}

/// The ELBO weight of each parameterisation's squared error at one t (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// `w_x0(t)`.
    pub x0: Option<f64>,
    /// `w_eps(t)`; `None` at abar_t = 0.
    pub eps: Option<f64>,
    /// `w_s(t)`; `None` at abar_t = 0.
    pub score: Option<f64>,
    /// `w_v(t)`.
    pub v: Option<f64>,
}

impl Weights {
    /// The weights at t (1..=T) for a reverse-variance choice. t = 1 is the decoder.
    pub fn at(schedule: &NoiseSchedule, t: usize, variance: VarianceType) -> Self {
        Weights::with_sigma2(schedule, t, reverse_variance(schedule, t, variance))
    }

    /// The weights at t (1..=T) for a reverse variance `sigma2` given as a number (t = 1
    /// is the decoder, whose variance is always beta_1: `sigma2` is then ignored).
    pub fn with_sigma2(schedule: &NoiseSchedule, t: usize, sigma2: f64) -> Self {
        let beta = schedule.beta(t);
        let ln_beta = beta.ln();
        let ln_alpha = (-beta).ln_1p();
        let ln_1m = schedule.one_minus_abar(t).ln();
        // ln of the sigma^2 that the squared mean error is divided by.
        let ln_sigma2 = if t == 1 { ln_beta } else { sigma2.ln() };
        let ln_half = std::f64::consts::LN_2;
        let ln_x0 = if t == 1 {
            -ln_half - ln_beta
        } else {
            schedule.log_abar(t - 1) + 2.0 * ln_beta - ln_half - ln_sigma2 - 2.0 * ln_1m
        };
        let ln_eps = 2.0 * ln_beta - ln_half - ln_sigma2 - ln_alpha - ln_1m;
        let ln_score = 2.0 * ln_beta - ln_half - ln_sigma2 - ln_alpha;
        // At abar_t = 0 the eps- and score-parameterisations are undefined (w_eps = w_x0 /
        // SNR(t) with SNR(t) = 0), even where the formula above stays finite: a beta of 1
        // before T gives abar_t = 0 with alpha_t > 0. Test log abar_t, not abar_t: abar_t
        // underflows to 0 in f64 below log abar_t = -745 (long schedules, T = 100000),
        // where both weights are still finite (nothing above uses abar_t itself).
        let defined = schedule.log_abar(t) > f64::NEG_INFINITY;
        Weights {
            x0: finite(ln_x0.exp()),
            eps: finite(ln_eps.exp()).filter(|_| defined),
            score: finite(ln_score.exp()).filter(|_| defined),
            v: finite((ln_x0 + ln_1m).exp()),
        }
    }

    /// The weight of one parameterisation.
    pub fn of(&self, p: Parameterisation) -> Option<f64> {
        match p {
            Parameterisation::X0 => self.x0,
            Parameterisation::Eps => self.eps,
            Parameterisation::Score => self.score,
            Parameterisation::V => self.v,
        }
    }
}

/// The reverse-step variance `sigma_t^2`: beta_1 at t = 1 (the decoder), else per
/// `variance` (diffusers' `variance_type`).
pub fn reverse_variance(schedule: &NoiseSchedule, t: usize, variance: VarianceType) -> f64 {
    if t == 1 {
        schedule.beta(1)
    } else {
        variance.sigma2(schedule, t)
    }
}

/// `E||mu~_t - mu_theta||^2` from the x0 error: both means take the posterior's form, so
/// they differ by `c_x0(t) (x0 - x0_hat)` and the squared distance is `c_x0^2 mse_x0`, with
/// `c_x0^2 = abar_{t-1} beta_t^2 / (1 - abar_t)^2` (t >= 2).
pub fn mean_error(schedule: &NoiseSchedule, t: usize, mse_x0: f64) -> f64 {
    let c = PosteriorMean::at(schedule, t).c_x0;
    c * c * mse_x0
}

/// The ELBO-optimal reverse variance of a model at t (Bao et al. 2022, Analytic-DPM):
/// `sigma*^2_t = sigma~2_t + E||mu~_t - mu_theta||^2 / d` for t >= 2, from the model's
/// `mse_x0 = E||x0 - x0_hat(x_t)||^2` at t (over q(x0, x_t)); beta_1 at t = 1 (the decoder
/// keeps it). A non-finite or negative error counts as 0 (then `sigma~2_t`), so the
/// variance is always finite and positive where `sigma~2_t` is.
pub fn analytic_variance(schedule: &NoiseSchedule, t: usize, mse_x0: f64, d: usize) -> f64 {
    if t == 1 {
        return schedule.beta(1);
    }
    let e = mean_error(schedule, t, mse_x0);
    let e = if e.is_finite() && e > 0.0 { e } else { 0.0 };
    schedule.posterior_variance(t) + e / d.max(1) as f64
}

/// `L_{t-1}` under the analytic variance, `(d/2) ln(1 + E / (d sigma~2_t))` with
/// `E = c_x0^2 mse_x0` (t >= 2): the minimum over sigma^2 of
/// `E / (2 sigma^2) + (d/2)(r - 1 - ln r)`, `r = sigma~2_t / sigma^2`.
pub fn analytic_loss(schedule: &NoiseSchedule, t: usize, mse_x0: f64, d: usize) -> f64 {
    let d = d.max(1) as f64;
    let e = mean_error(schedule, t, mse_x0).max(0.0);
    0.5 * d * (e / (d * schedule.posterior_variance(t))).ln_1p()
}

/// The reverse model's mean given its x0 prediction (Luo eq. 84/94):
///
/// ```text
/// mu(x_t, t) = (sqrt(abar_{t-1}) beta_t x0_hat + sqrt(alpha_t) (1 - abar_{t-1}) x_t) / (1 - abar_t)
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PosteriorMean {
    /// Coefficient of x0_hat.
    pub c_x0: f64,
    /// Coefficient of x_t.
    pub c_xt: f64,
}

impl PosteriorMean {
    /// The coefficients at t (1..=T).
    pub fn at(schedule: &NoiseSchedule, t: usize) -> Self {
        let one_m = schedule.one_minus_abar(t);
        PosteriorMean {
            c_x0: (0.5 * schedule.log_abar(t - 1)).exp() * schedule.beta(t) / one_m,
            c_xt: schedule.alpha(t).max(0.0).sqrt() * schedule.one_minus_abar(t - 1) / one_m,
        }
    }

    /// `mu = c_x0 x0 + c_xt x_t`.
    pub fn mean(&self, x0: f64, xt: f64) -> f64 {
        self.c_x0 * x0 + self.c_xt * xt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{BetaSchedule, ScheduleSpec};

    #[test]
    fn weights_match_snr_difference_under_fixed_small() {
        let s = ScheduleSpec::preset(BetaSchedule::Linear, 1000)
            .build()
            .expect("valid");
        for t in [2, 10, 500, 1000] {
            let w = Weights::at(&s, t, VarianceType::FixedSmall);
            let snr_diff = 0.5 * (s.snr(t - 1) - s.snr(t));
            let x0 = w.x0.expect("defined");
            assert!((x0 - snr_diff).abs() <= 1e-9 * snr_diff, "t={t}");
            let eps = w.eps.expect("defined");
            assert!((eps - x0 / s.snr(t)).abs() <= 1e-9 * eps, "t={t}");
        }
    }

    #[test]
    fn analytic_variance_minimises_each_term() {
        let s = ScheduleSpec::preset(BetaSchedule::Linear, 100)
            .build()
            .expect("valid");
        let (t, d, mse) = (40, 2, 0.3);
        let e = mean_error(&s, t, mse);
        let pv = s.posterior_variance(t);
        let general = |sigma2: f64| {
            let r = pv / sigma2;
            e / (2.0 * sigma2) + 0.5 * d as f64 * (r - 1.0 - r.ln())
        };
        let best = analytic_variance(&s, t, mse, d);
        assert!((best - (pv + e / 2.0)).abs() <= 1e-15 * best);
        let at_best = general(best);
        assert!((at_best - analytic_loss(&s, t, mse, d)).abs() <= 1e-12 * at_best);
        for f in [0.9, 0.99, 1.01, 1.1] {
            assert!(general(best * f) > at_best, "factor {f}");
        }
        // The weights at that variance reproduce the loss from the x0 error.
        let w = Weights::with_sigma2(&s, t, best).x0.expect("defined");
        assert!(
            (w * mse + 0.5 * d as f64 * (pv / best - 1.0 - (pv / best).ln()) - at_best).abs()
                < 1e-12
        );
    }

    #[test]
    fn conversions_round_trip() {
        let c = Coeffs {
            sqrt_abar: 0.6,
            sqrt_one_minus_abar: 0.8,
        };
        let (x0, eps) = (1.3, -0.4);
        let xt = c.noise(x0, eps);
        assert!((c.eps_from_x0(xt, x0) - eps).abs() < 1e-15);
        let back = c.x0_from_eps(xt, eps).expect("abar > 0");
        assert!((back - x0).abs() < 1e-15);
        let v = c.v(x0, eps);
        assert!((c.x0_from_v(xt, v) - x0).abs() < 1e-15);
    }
}
