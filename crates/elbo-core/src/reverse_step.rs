//! The true reverse step `q(x_{t-1} | x_t)` of 1D mixture data, and where the NELBO's excess
//! over the data entropy lives, step by step: in steps that are not Gaussian (no Gaussian
//! model step can follow them) or in a Gaussian step whose moments are wrong.
//!
//! **The true reverse step.** Bayes' rule on the forward step (Luo eq. 31) and the forward
//! marginal (Luo eq. 70) gives, for data `p0 = sum_k pi_k N(mu_k, s_k^2)`, an exact Gaussian
//! mixture in `x_{t-1}`: each component of `q_{t-1}` is a Gaussian conditioned on
//! `x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps`:
//! ```text
//! q(x_{t-1} | x_t) = q(x_t | x_{t-1}) q_{t-1}(x_{t-1}) / q_t(x_t) = sum_k w_k(x_t) N(x_{t-1}; m_k(x_t), V_k)
//! P_k = abar_{t-1} s_k^2 + 1 - abar_{t-1},  a_k = sqrt(abar_{t-1}) mu_k      (component k of q_{t-1})
//! C_k = abar_t s_k^2 + 1 - abar_t,          A_k = sqrt(abar_t) mu_k          (component k of q_t; C_k = alpha_t P_k + beta_t)
//! w_k(x_t) = pi_k N(x_t; A_k, C_k) / q_t(x_t)                                (q_t's responsibilities)
//! m_k(x_t) = a_k + sqrt(alpha_t) P_k / C_k (x_t - A_k),   V_k = beta_t P_k / C_k
//! ```
//! At t = 1 (abar_0 = 1) it is the posterior of x0 given x_1. Its mean is
//! `m(x_t) = mu~_t(x_t, E[x0 | x_t])` (Luo eq. 84/94 with the exact posterior mean: mu~ is
//! linear in x0) and its variance `v(x_t) = sum_k w_k (V_k + (m_k - m)^2)`.
//!
//! **The chain rule.** Read backwards, the forward process is
//! `q(x_{0:T}) = q(x_T) prod_t q(x_{t-1} | x_t)`, and the model is
//! `p_theta(x_{0:T}) = N(x_T; 0, 1) prod_t N(x_{t-1}; mu_theta(x_t, t), sigma_t^2)` with
//! `mu_theta` from the model's x0 prediction (Luo eq. 84/94) and `sigma_t^2` the vector
//! `[beta_1, sigma_2^2, ..., sigma_T^2]` of [`crate::evidence`] (t = 1 is the decoder). The
//! chain rule of KL over that factorisation splits the NELBO (Luo eq. 58) exactly:
//! ```text
//! NELBO - H(p0) = KL(q(x_{0:T}) || p_theta(x_{0:T})) = KL(q(x_T) || N(0, 1)) + sum_{t=1}^T R_t
//! R_t = E_{q(x_t)} KL(q(x_{t-1} | x_t) || N(mu_theta(x_t, t), sigma_t^2))
//! ```
//! **The split.** With `N(m, v)` the Gaussian of the same mean and variance as the true step,
//! ```text
//! R_t = G_t + M_t
//! G_t = E_{q(x_t)} KL(q(. | x_t) || N(m, v)) = E[ log(2 pi e v) / 2 - H(q(. | x_t)) ] >= 0
//! M_t = E_{q(x_t)} KL(N(m, v) || N(mu_theta, sigma_t^2)) = E[ (r - 1 - log r) / 2 + (m - mu_theta)^2 / (2 sigma_t^2) ],  r = v / sigma_t^2
//! ```
//! `G_t`, the non-Gaussianity, depends on the data and the schedule only: no Gaussian model
//! step removes it. `M_t`, the moment mismatch, is the model's. For the Bayes-optimal model
//! `mu_theta(x_t) = m(x_t)` exactly, so `M_t = E (r - 1 - log r) / 2`; the analytic variance
//! (Bao et al. 2022) `sigma~2_t + c_x0^2 E Var(x0 | x_t)` is exactly `E v`, and leaves
//! `M_t = -E log(v / E v) / 2`, the Jensen gap of a variance that varies with `x_t`. The prior
//! term splits the same way (`q(x_T)` is a mixture) and is reported whole.
//!
//! **The expected entropy of the true step** needs no entropy of a step: the chain rule of
//! differential entropy over the pair `(x_{t-1}, x_t)` gives it from the marginals', with
//! `H(x_t | x_{t-1}) = log(2 pi e beta_t) / 2` (Luo eq. 31):
//! ```text
//! E_{q_t} H(q(. | x_t)) = H(x_{t-1} | x_t) = H(q_{t-1}) + log(2 pi e beta_t) / 2 - H(q_t)      (q_0 = p0)
//! G_t = E log(2 pi e v) / 2 - E H(q(. | x_t)),   R_t = E[ log(2 pi sigma_t^2) / 2 + (v + (m - mu_theta)^2) / (2 sigma_t^2) ] - E H(q(. | x_t))
//! ```
//! so per `x_t` only the closed-form `m` and `v` are needed (O(K) for K components), and the
//! entropies `H(q_t)`, t = 0..T, are integrated on the same lattices. The test suite checks
//! it against the entropy of every step integrated over `x_t`.
//!
//! **The entropy of one step** ([`TrueReverse::entropy`], and the prior's mixture `q_T`): with
//! `r_j(y)` the responsibilities of the components at `y`,
//! ```text
//! H(q) = sum_k w_k log(2 pi e V_k) / 2 + I,    I = H(w) - E_q H(r(y))   (the information y carries on k)
//! KL(q || N(m, v)) = sum_k w_k log(v / V_k) / 2 - I
//! ```
//! so the large constants never meet. `H(r(y))` is bounded and vanishes where one component
//! dominates; `E_q H(r(y))` is a trapezoid rule on two lattices of `y` shifted by half a
//! spacing over the components' regions ([`REGION_SDS`] sds): their mean is the value, half
//! their difference the error estimate. Components below [`PRUNE_WEIGHT`] are left out. Two
//! components switch over a width `V / |m_i - m_j|`, so the responsibilities have poles
//! `pi / D` sds off the real line (`D` the spread of the means in sds) and the trapezoid
//! error falls like `exp(-2 pi^2 p / D)` at `p` nodes per sd: the spacing is
//! `sd_min / max(entropy_points_per_sd, points_per_switch D)`, an error of about
//! `exp(-2 pi^2 points_per_switch)` (`D` capped at [`MAX_SWITCH_SDS`]: beyond it the crossing
//! lies where the density is below `exp(-D^2 / 8)`).
//!
//! **The expectations over `x_t`** are the same kind of trapezoid rule, on two lattices
//! shifted by half a spacing over `q_t`'s components' regions, the spacing following `q_t`'s
//! narrowest component and the width `C / (sqrt(abar_t) |mu_i - mu_j|)` over which its
//! responsibilities switch, as above. The model is called once per lattice and t. Each
//! error estimate is the lattices' half difference plus a rounding floor. All the per-`x_t`
//! work serves every variance vector at once; the timesteps run in parallel.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::denoiser::Denoiser;
use crate::elbo::Control;
use crate::evidence::{EvidenceError, MAX_GRID_POINTS, Valued};
use crate::mixture::{GaussianMixture, LN_2PI};
use crate::normal::{normal_kl, normal_pdf};
use crate::param::PosteriorMean;
use crate::quadrature::{REGION_SDS, TAIL_MASS};
use crate::schedule::NoiseSchedule;

/// A component whose weight in a reverse step is below this is left out of the entropy
/// integral (it changes the entropy by less than `1e-16`).
pub const PRUNE_WEIGHT: f64 = 1e-18;
/// The spread of the means (in sds of the narrowest component) that sets the spacing is
/// capped here: two components farther apart cross where the density is below
/// `exp(-20^2 / 8)`, where a coarser spacing costs nothing.
pub const MAX_SWITCH_SDS: f64 = 20.0;
/// The most nodes of one lattice of one entropy integral (beyond it the spacing is widened
/// to fit, and the error estimate says how good that is).
pub const MAX_ENTROPY_POINTS: usize = 1 << 14;
/// The mixing information of a step whose minor weights carry less entropy `H(w)` than
/// this is not integrated: it lies in `[0, H(w)]`, so `H(w) / 2` with error `H(w) / 2`.
const NEGLIGIBLE_MIXING: f64 = 1e-14;
/// Rounding floor of one node's value, in units of `f64::EPSILON` times the magnitudes
/// that meet in it.
const ROUNDING_ULPS: f64 = 16.0;
/// `ln(2 pi e)`.
const LN_2PI_E: f64 = LN_2PI + 1.0;

/// How fine the quadratures are. [`ReverseStepConfig::default`] is the full accuracy,
/// [`ReverseStepConfig::preview`] a coarse one for a first picture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReverseStepConfig {
    /// Lattice nodes per sd of `q_t`'s narrowest component in the expectations over `x_t`
    /// and the entropies `H(q_t)` (at least: finer where the components switch, see
    /// `points_per_switch`).
    pub xt_points_per_sd: f64,
    /// Lattice nodes per sd of the narrowest component of one mixture in its entropy (the
    /// prior's `q_T`; [`TrueReverse::entropy`] uses the default), at least.
    pub entropy_points_per_sd: f64,
    /// Lattice nodes per switching width (`S^2 / distance` of two components), in both
    /// quadratures: the trapezoid error is about `exp(-2 pi^2 points_per_switch)`.
    pub points_per_switch: f64,
}

impl Default for ReverseStepConfig {
    fn default() -> Self {
        ReverseStepConfig {
            xt_points_per_sd: 2.0,
            entropy_points_per_sd: 2.0,
            points_per_switch: 1.5,
        }
    }
}

impl ReverseStepConfig {
    /// A coarse, fast configuration for a first picture (its error estimates say how
    /// coarse).
    pub fn preview() -> Self {
        ReverseStepConfig {
            xt_points_per_sd: 1.2,
            entropy_points_per_sd: 1.2,
            points_per_switch: 0.8,
        }
    }

    /// Check every setting.
    ///
    /// # Errors
    /// [`EvidenceError::BadConfig`] naming the setting.
    pub fn validate(&self) -> Result<(), EvidenceError> {
        let check = |name: &'static str, value: f64, lo: f64, hi: f64| {
            if value.is_finite() && (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(EvidenceError::BadConfig {
                    name,
                    value: value.to_string(),
                    why: format!("must be between {lo} and {hi}"),
                })
            }
        };
        check("xt_points_per_sd", self.xt_points_per_sd, 0.5, 64.0)?;
        check(
            "entropy_points_per_sd",
            self.entropy_points_per_sd,
            0.5,
            64.0,
        )?;
        check("points_per_switch", self.points_per_switch, 0.25, 16.0)
    }
}

/// `q(x_{t-1} | x_t)` of 1D mixture data at one t and x_t:
/// `sum_k weights[k] N(means[k], vars[k])`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrueReverse {
    /// The components' weights `w_k(x_t)` (summing to 1; far components may be 0 in f64).
    pub weights: Vec<f64>,
    /// The components' means `m_k(x_t)`.
    pub means: Vec<f64>,
    /// The components' variances `V_k`.
    pub vars: Vec<f64>,
}

impl TrueReverse {
    /// t in 1..=T (t = 1: the posterior of x0 given x_1). Panics never: 2D data or t out of
    /// range -> Err(EvidenceError).
    ///
    /// # Errors
    /// [`EvidenceError::NotOneDimensional`] for 2D data; [`EvidenceError::BadConfig`] for a
    /// t outside 1..=T or an `x_t` that is not finite (or so far out that its distances
    /// overflow).
    pub fn at(
        data: &GaussianMixture,
        schedule: &NoiseSchedule,
        t: usize,
        x_t: f64,
    ) -> Result<TrueReverse, EvidenceError> {
        if data.dim() != 1 {
            return Err(EvidenceError::NotOneDimensional(data.dim()));
        }
        check_t(schedule, t)?;
        let step = Step::new(data, schedule, t);
        let mut out = TrueReverse {
            weights: Vec::new(),
            means: Vec::new(),
            vars: step.var.clone(),
        };
        let log_q = step.reverse_at(x_t, &mut out.weights, &mut out.means);
        if !(x_t.is_finite() && log_q.is_finite()) {
            return Err(EvidenceError::BadConfig {
                name: "x_t",
                value: x_t.to_string(),
                why: "must be finite, and near enough to the data that its squared distance to them is finite".into(),
            });
        }
        Ok(out)
    }

    /// The density at `x`.
    pub fn density(&self, x: f64) -> f64 {
        self.weights
            .iter()
            .zip(&self.means)
            .zip(&self.vars)
            .map(|((w, m), v)| w * normal_pdf(x, *m, *v))
            .sum()
    }

    /// The mean `m = sum_k w_k m_k`.
    pub fn mean(&self) -> f64 {
        mixture_mean(&self.weights, &self.means)
    }

    /// The variance `v = sum_k w_k (V_k + (m_k - m)^2)`.
    pub fn variance(&self) -> f64 {
        mixture_variance(&self.weights, &self.means, &self.vars, self.mean())
    }

    /// Differential entropy by quadrature, with error estimate (module docs:
    /// `sum_k w_k log(2 pi e V_k) / 2 + I`, the mixing information `I` on two shifted
    /// lattices at the default settings).
    pub fn entropy(&self) -> Valued {
        let info = self.mixing();
        let gauss = gaussian_part(&self.weights, &self.vars);
        Valued {
            value: gauss + info.value,
            error: info.error + ROUNDING_ULPS * f64::EPSILON * (gauss.abs() + info.value.abs()),
        }
    }

    /// KL(self || N(mean, var)), with error estimate: the non-Gaussianity
    /// `KL(self || N(m, v))` (by quadrature) plus the closed-form
    /// `KL(N(m, v) || N(mean, var))`. NaN unless `var > 0` and both are finite.
    pub fn kl_to_gaussian(&self, mean: f64, var: f64) -> Valued {
        if !(mean.is_finite() && var.is_finite() && var > 0.0) {
            return Valued {
                value: f64::NAN,
                error: f64::NAN,
            };
        }
        let m = self.mean();
        let v = self.variance();
        let info = self.mixing();
        let spread = spread_part(&self.weights, &self.vars, v);
        let (moment, moment_err) = gaussian_kl(v, m - mean, var);
        let value = spread - info.value + moment;
        Valued {
            value,
            error: info.error
                + moment_err
                + ROUNDING_ULPS * f64::EPSILON * (spread.abs() + info.value.abs()),
        }
    }

    /// The mixing information `I = H(w) - E_q H(r(y))` at the default settings.
    fn mixing(&self) -> Valued {
        let config = ReverseStepConfig::default();
        mixing_information(
            &self.weights,
            &self.means,
            &self.vars,
            &config,
            &mut Scratch::default(),
        )
    }
}

/// One timestep's terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReverseStepTerm {
    /// The timestep t (1..=T; t = 1 is the decoder's step).
    pub t: usize,
    /// `R_t = E KL(q(x_{t-1} | x_t) || p_theta(x_{t-1} | x_t))`.
    pub reverse_kl: Valued,
    /// `G_t = E KL(q(x_{t-1} | x_t) || N(m, v))`: how far the true step is from Gaussian.
    pub non_gaussianity: Valued,
    /// `M_t = E KL(N(m, v) || N(mu_theta, sigma_t^2))`: the model's moment mismatch.
    pub moment_mismatch: Valued,
}

/// Every step's terms for one model and one variance vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReverseSteps {
    /// T.
    pub steps: usize,
    /// The model's name.
    pub model: String,
    /// KL(q(x_T) || N(0,1)) (q(x_T) a mixture: by quadrature).
    pub prior_kl: Valued,
    /// The terms of t = 1..=T, in order.
    pub terms: Vec<ReverseStepTerm>,
    /// prior_kl + sum R_t  (= NELBO - H(p0)).
    pub total: Valued,
    /// sum G_t.
    pub non_gaussianity: Valued,
    /// sum M_t.
    pub moment_mismatch: Valued,
}

/// One ReverseSteps per variance vector in `variances` (each `[beta_1, sigma_2^2, ...]`, as
/// [`crate::evidence::reverse_variances`] or [`crate::evidence::model_variances`] give it);
/// the expensive part (entropies, moments on the x_t lattices) is shared.
///
/// Progress goes to `control.step` (one unit per t, [`progress_total`] in all);
/// `control.cancel` stops it.
///
/// # Errors
/// 2D data, a model of another dimension, a variance vector not of length T or not positive
/// and finite, bad settings, a lattice too large, non-finite predictions, or cancellation.
pub fn reverse_steps_for(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    variances: &[Vec<f64>],
    config: &ReverseStepConfig,
    control: Control<'_>,
) -> Result<Vec<ReverseSteps>, EvidenceError> {
    let c = compute(data, schedule, Some(model), variances, config, control)?;
    let name = model.name();
    let sum = |vals: &mut dyn Iterator<Item = Valued>| {
        vals.fold(Valued::default(), |a, b| Valued {
            value: a.value + b.value,
            error: a.error + b.error,
        })
    };
    let non_gaussianity = sum(&mut c.g.iter().copied());
    Ok((0..variances.len())
        .map(|j| {
            let terms: Vec<ReverseStepTerm> = (0..c.g.len())
                .map(|i| ReverseStepTerm {
                    t: i + 1,
                    reverse_kl: c.rm[i][j].0,
                    non_gaussianity: c.g[i],
                    moment_mismatch: c.rm[i][j].1,
                })
                .collect();
            let sum_r = sum(&mut terms.iter().map(|x| x.reverse_kl));
            let moment_mismatch = sum(&mut terms.iter().map(|x| x.moment_mismatch));
            ReverseSteps {
                steps: schedule.steps(),
                model: name.clone(),
                prior_kl: c.prior,
                total: Valued {
                    value: c.prior.value + sum_r.value,
                    error: c.prior.error + sum_r.error,
                },
                terms,
                non_gaussianity,
                moment_mismatch,
            }
        })
        .collect())
}

/// The same for one variance vector.
///
/// # Errors
/// As [`reverse_steps_for`].
pub fn reverse_steps(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: &dyn Denoiser,
    sigma2: &[f64],
    config: &ReverseStepConfig,
    control: Control<'_>,
) -> Result<ReverseSteps, EvidenceError> {
    let mut out = reverse_steps_for(data, schedule, model, &[sigma2.to_vec()], config, control)?;
    out.pop().ok_or(EvidenceError::Cancelled)
}

/// sum_t G_t alone (needs no model): how far the true reverse steps are from Gaussian in all.
///
/// # Errors
/// 2D data, bad settings, a lattice too large, or cancellation.
pub fn non_gaussianity_total(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    config: &ReverseStepConfig,
    control: Control<'_>,
) -> Result<Valued, EvidenceError> {
    let c = compute(data, schedule, None, &[], config, control)?;
    Ok(c.g.iter().fold(Valued::default(), |a, b| Valued {
        value: a.value + b.value,
        error: a.error + b.error,
    }))
}

/// Units of progress reverse_steps_for reports through control (one per t).
pub fn progress_total(steps: usize) -> usize {
    steps
}

/// What [`compute`] gives: the prior's KL, `G_t` per t (index t - 1), and per t and
/// variance vector `(R_t, M_t)`.
struct Computed {
    prior: Valued,
    g: Vec<Valued>,
    rm: Vec<Vec<(Valued, Valued)>>,
}

fn check_t(schedule: &NoiseSchedule, t: usize) -> Result<(), EvidenceError> {
    if t == 0 || t > schedule.steps() {
        return Err(EvidenceError::BadConfig {
            name: "t",
            value: t.to_string(),
            why: format!("must be between 1 and T = {}", schedule.steps()),
        });
    }
    Ok(())
}

fn compute(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    model: Option<&dyn Denoiser>,
    variances: &[Vec<f64>],
    config: &ReverseStepConfig,
    control: Control<'_>,
) -> Result<Computed, EvidenceError> {
    if data.dim() != 1 {
        return Err(EvidenceError::NotOneDimensional(data.dim()));
    }
    if let Some(m) = model
        && m.dim() != 1
    {
        return Err(EvidenceError::DimensionMismatch {
            model: m.dim(),
            data: 1,
        });
    }
    config.validate()?;
    let t_max = schedule.steps();
    for sigma2 in variances {
        crate::evidence::check_variances(sigma2, t_max)?;
    }
    if control.cancelled() {
        return Err(EvidenceError::Cancelled);
    }
    let prior = prior_kl(data, schedule, config);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // t = 0 gives H(p0) alone; every t >= 1 its sums over the x_t lattices.
    let outs: Vec<Result<StepSums, EvidenceError>> = (0..=t_max)
        .into_par_iter()
        .map(|t| {
            if control.cancelled() || stop.load(Ordering::Relaxed) {
                return Err(EvidenceError::Cancelled);
            }
            let out = step_sums(data, schedule, t, model, variances, config);
            if out.is_err() {
                stop.store(true, Ordering::Relaxed);
            } else if t >= 1 {
                control.step(done.fetch_add(1, Ordering::Relaxed) + 1);
            }
            out
        })
        .collect();
    let mut sums = Vec::with_capacity(t_max + 1);
    let mut first_err = None;
    for out in outs {
        match out {
            Ok(s) => sums.push(s),
            // A real failure beats the cancellations it caused.
            Err(e) => {
                if first_err.is_none() || first_err == Some(EvidenceError::Cancelled) {
                    first_err = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let mut g = Vec::with_capacity(t_max);
    let mut rm = Vec::with_capacity(t_max);
    for t in 1..=t_max {
        // E_{q_t} H(q(x_{t-1} | x_t)) = H(q_{t-1}) + log(2 pi e beta_t) / 2 - H(q_t).
        let (before, now) = (sums[t - 1].entropy, sums[t].entropy);
        let forward = 0.5 * (LN_2PI_E + schedule.beta(t).ln());
        let cond = before.value + forward - now.value;
        let cond_err = before.error
            + now.error
            + ROUNDING_ULPS * f64::EPSILON * (before.value.abs() + forward.abs() + now.value.abs());
        let minus_cond = |v: Valued| Valued {
            value: v.value - cond,
            error: v.error + cond_err + ROUNDING_ULPS * f64::EPSILON * v.value.abs(),
        };
        g.push(minus_cond(sums[t].gauss_entropy));
        rm.push(
            sums[t]
                .per_variance
                .iter()
                .map(|(cross, m)| (minus_cond(*cross), *m))
                .collect(),
        );
    }
    Ok(Computed { prior, g, rm })
}

/// `KL(q(x_T) || N(0, 1))`, split as in the module docs: the non-Gaussianity of `q_T` by
/// quadrature plus the closed form of its moments, `(e - log1p(e) + abar_T E[x0]^2) / 2`
/// with `e = v_T - 1 = abar_T (Var x0 - 1)` (no cancellation as abar_T -> 0).
fn prior_kl(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    config: &ReverseStepConfig,
) -> Valued {
    let t = schedule.steps();
    let abar = schedule.abar(t);
    let sa = (0.5 * schedule.log_abar(t)).exp();
    let om = schedule.one_minus_abar(t);
    let weights = data.weights().to_vec();
    let means: Vec<f64> = data.means().iter().map(|m| sa * m[0]).collect();
    let vars: Vec<f64> = data.covs().iter().map(|c| abar * c.xx + om).collect();
    let v = mixture_variance(&weights, &means, &vars, mixture_mean(&weights, &means));
    let info = mixing_information(&weights, &means, &vars, config, &mut Scratch::default());
    let spread = spread_part(&weights, &vars, v);
    let e = abar * (data.covariance().xx - 1.0);
    let mean0 = data.mean()[0];
    let moment = 0.5 * (e - e.ln_1p() + abar * mean0 * mean0);
    let value = spread - info.value + moment;
    Valued {
        value,
        error: info.error
            + ROUNDING_ULPS
                * f64::EPSILON
                * (spread.abs() + info.value.abs() + e.abs() + moment.abs()),
    }
}

/// `sum_k w_k m_k`.
fn mixture_mean(w: &[f64], m: &[f64]) -> f64 {
    w.iter().zip(m).map(|(w, m)| w * m).sum()
}

/// `sum_k w_k (V_k + (m_k - mean)^2)`.
fn mixture_variance(w: &[f64], m: &[f64], v: &[f64], mean: f64) -> f64 {
    w.iter()
        .zip(m)
        .zip(v)
        .map(|((w, m), v)| {
            let d = m - mean;
            w * (v + d * d)
        })
        .sum()
}

/// `sum_k w_k log(2 pi e V_k) / 2`, the entropy of the components.
fn gaussian_part(w: &[f64], v: &[f64]) -> f64 {
    w.iter()
        .zip(v)
        .filter(|(w, _)| **w > 0.0)
        .map(|(w, v)| 0.5 * w * (LN_2PI_E + v.ln()))
        .sum()
}

/// `sum_k w_k log(v / V_k) / 2` (>= the mixing information: their difference is G).
fn spread_part(w: &[f64], vars: &[f64], v: f64) -> f64 {
    w.iter()
        .zip(vars)
        .filter(|(w, _)| **w > 0.0)
        .map(|(w, vk)| 0.5 * w * (v / vk).ln())
        .sum()
}

/// `KL(N(m, v) || N(m + dm, s2))` = `(e - log1p(e) + dm^2 / s2) / 2`, `e = (v - s2) / s2`
/// (no cancellation as `v -> s2`), with its rounding floor.
fn gaussian_kl(v: f64, dm: f64, s2: f64) -> (f64, f64) {
    let kl = normal_kl(0.0, v, dm, s2);
    let (e, sq) = ((v - s2) / s2, dm * dm / s2);
    (kl, ROUNDING_ULPS * f64::EPSILON * (e.abs() + sq + kl))
}

/// Reusable buffers of [`mixing_information`].
#[derive(Default)]
struct Scratch {
    /// `log w_k - log(2 pi V_k) / 2` of the active components.
    c: Vec<f64>,
    /// Their means relative to the heaviest one's.
    d: Vec<f64>,
    /// `1 / (2 V_k)`.
    half_inv: Vec<f64>,
    /// Logits at one node.
    logit: Vec<f64>,
    /// The merged regions.
    regions: Vec<(f64, f64)>,
}

/// The mixing information `I = H(w) - E_q H(r(y))` of a 1D mixture (module docs), by the
/// trapezoid rule on two lattices shifted by half a spacing; components below
/// [`PRUNE_WEIGHT`] are left out (the rest renormalised). Value and error estimate.
fn mixing_information(
    w: &[f64],
    m: &[f64],
    v: &[f64],
    config: &ReverseStepConfig,
    s: &mut Scratch,
) -> Valued {
    let mut total = 0.0;
    let mut heaviest = None;
    for (k, &wk) in w.iter().enumerate() {
        if wk > PRUNE_WEIGHT {
            total += wk;
            if heaviest.is_none_or(|h: usize| wk > w[h]) {
                heaviest = Some(k);
            }
        }
    }
    let Some(top) = heaviest else {
        return Valued::default();
    };
    if (0..w.len())
        .any(|k| w[k] > PRUNE_WEIGHT && !(v[k] > 0.0 && v[k].is_finite() && m[k].is_finite()))
    {
        // Not a mixture of proper Gaussians (only a hand-built TrueReverse can be this).
        return Valued {
            value: f64::NAN,
            error: f64::NAN,
        };
    }
    let centre = m[top];
    s.c.clear();
    s.d.clear();
    s.half_inv.clear();
    s.regions.clear();
    let mut hw = 0.0;
    let mut sd_min = f64::INFINITY;
    let (mut lo_m, mut hi_m) = (f64::INFINITY, f64::NEG_INFINITY);
    let region = REGION_SDS[0];
    for k in 0..w.len() {
        if w[k] <= PRUNE_WEIGHT {
            continue;
        }
        let wk = w[k] / total;
        hw -= wk * wk.ln();
        let d = m[k] - centre;
        let sd = v[k].sqrt();
        s.c.push(wk.ln() - 0.5 * (LN_2PI + v[k].ln()));
        s.d.push(d);
        s.half_inv.push(0.5 / v[k]);
        s.regions.push((d - region * sd, d + region * sd));
        sd_min = sd_min.min(sd);
        lo_m = lo_m.min(d);
        hi_m = hi_m.max(d);
    }
    let n = s.c.len();
    if n < 2 || !hw.is_finite() {
        return Valued::default();
    }
    if hw < NEGLIGIBLE_MIXING {
        // 0 <= I <= H(w).
        return Valued {
            value: 0.5 * hw,
            error: 0.5 * hw,
        };
    }
    let spread = ((hi_m - lo_m) / sd_min).min(MAX_SWITCH_SDS);
    let p = config
        .entropy_points_per_sd
        .max(config.points_per_switch * spread);
    let mut h = sd_min / p;
    s.regions.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(s.regions.len());
    for &(a, b) in &s.regions {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let width: f64 = merged.iter().map(|(a, b)| b - a).sum();
    if width / h > MAX_ENTROPY_POINTS as f64 {
        h = width / MAX_ENTROPY_POINTS as f64;
    }
    s.logit.resize(n, 0.0);
    let mut sums = [0.0; 2];
    for (lat, sum) in sums.iter_mut().enumerate() {
        let offset = 0.5 * lat as f64 * h;
        let mut acc = 0.0;
        for &(a, b) in &merged {
            let i0 = ((a - offset) / h).ceil() as i64;
            let i1 = ((b - offset) / h).floor() as i64;
            for i in i0..=i1 {
                let y = offset + i as f64 * h;
                let mut best = f64::NEG_INFINITY;
                let mut kb = 0;
                for k in 0..n {
                    let u = y - s.d[k];
                    let l = s.c[k] - u * u * s.half_inv[k];
                    s.logit[k] = l;
                    if l > best {
                        best = l;
                        kb = k;
                    }
                }
                // H(r) = log1p(s1) + t1 / (1 + s1), with s1 = sum_{k != best} e^{d_k},
                // t1 = sum_{k != best} e^{d_k} (-d_k), d_k = logit_k - best <= 0: every
                // part is >= 0, nothing cancels.
                let (mut s1, mut t1) = (0.0, 0.0);
                for k in 0..n {
                    if k != kb {
                        let e = s.logit[k] - best;
                        let x = e.exp();
                        s1 += x;
                        t1 -= x * e;
                    }
                }
                let hr = s1.ln_1p() + t1 / (1.0 + s1);
                acc += best.exp() * (1.0 + s1) * hr;
            }
        }
        *sum = acc * h;
    }
    let ehr = 0.5 * (sums[0] + sums[1]);
    Valued {
        value: hw - ehr,
        error: 0.5 * (sums[0] - sums[1]).abs()
            + ROUNDING_ULPS * f64::EPSILON * (hw + ehr)
            + TAIL_MASS[0] * (n as f64).ln(),
    }
}

/// The components of `q_t` (t in 0..=T; `q_0 = p0`).
struct Marginal {
    /// `log pi_k - log(2 pi C_k) / 2`.
    log_c: Vec<f64>,
    /// `A_k = sqrt(abar_t) mu_k`.
    big_a: Vec<f64>,
    /// `1 / (2 C_k)`.
    half_inv_c: Vec<f64>,
    /// `sqrt(C_k)`.
    sd: Vec<f64>,
}

impl Marginal {
    fn new(data: &GaussianMixture, schedule: &NoiseSchedule, t: usize) -> Self {
        let abar = schedule.abar(t);
        let sa = (0.5 * schedule.log_abar(t)).exp();
        let om = schedule.one_minus_abar(t);
        let k = data.len();
        let mut q = Marginal {
            log_c: Vec::with_capacity(k),
            big_a: Vec::with_capacity(k),
            half_inv_c: Vec::with_capacity(k),
            sd: Vec::with_capacity(k),
        };
        for ((pi, mu), cov) in data.weights().iter().zip(data.means()).zip(data.covs()) {
            let c = abar * cov.xx + om;
            q.log_c.push(pi.ln() - 0.5 * (LN_2PI + c.ln()));
            q.big_a.push(sa * mu[0]);
            q.half_inv_c.push(0.5 / c);
            q.sd.push(c.sqrt());
        }
        q
    }

    /// The log-density at `x`, with each component's log-weight there in `logits`.
    fn logits(&self, x: f64, logits: &mut Vec<f64>) -> f64 {
        logits.clear();
        let mut best = f64::NEG_INFINITY;
        for k in 0..self.log_c.len() {
            let u = x - self.big_a[k];
            let l = self.log_c[k] - u * u * self.half_inv_c[k];
            best = best.max(l);
            logits.push(l);
        }
        let z: f64 = logits.iter().map(|l| (l - best).exp()).sum();
        best + z.ln()
    }

    /// Two lattices of spacing `h` shifted by `h / 2` over the components' regions
    /// ([`REGION_SDS`] sds), `h` following the narrowest component and the width over
    /// which the responsibilities switch (module docs).
    fn lattices(
        &self,
        t: usize,
        config: &ReverseStepConfig,
    ) -> Result<(f64, [Vec<f64>; 2]), EvidenceError> {
        let region = REGION_SDS[0];
        let sd_min = self.sd.iter().copied().fold(f64::INFINITY, f64::min);
        let (lo_a, hi_a) = self
            .big_a
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let spread = ((hi_a - lo_a) / sd_min).min(MAX_SWITCH_SDS);
        let p = config
            .xt_points_per_sd
            .max(config.points_per_switch * spread);
        let h = sd_min / p;
        let mut regions: Vec<(f64, f64)> = self
            .big_a
            .iter()
            .zip(&self.sd)
            .map(|(a, sd)| (a - region * sd, a + region * sd))
            .collect();
        regions.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(regions.len());
        for (a, b) in regions {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let width: f64 = merged.iter().map(|(a, b)| b - a).sum();
        let count = (width / h).ceil() + 2.0 * merged.len() as f64;
        if count.is_nan() || count > MAX_GRID_POINTS as f64 {
            return Err(EvidenceError::GridTooLarge {
                t,
                points: if count.is_finite() {
                    count as usize
                } else {
                    usize::MAX
                },
                sd: sd_min,
                width,
            });
        }
        let lattice = |offset: f64| {
            let mut xs = Vec::with_capacity(count as usize);
            for &(a, b) in &merged {
                let i0 = ((a - offset) / h).ceil() as i64;
                let i1 = ((b - offset) / h).floor() as i64;
                xs.extend((i0..=i1).map(|i| offset + i as f64 * h));
            }
            xs
        };
        Ok((h, [lattice(0.0), lattice(0.5 * h)]))
    }
}

/// The components of `q_t` and of `q(x_{t-1} | x_t)` at one t >= 1 (module docs).
struct Step {
    /// `q_t`.
    q: Marginal,
    /// `a_k = sqrt(abar_{t-1}) mu_k`.
    a_prev: Vec<f64>,
    /// `sqrt(alpha_t) P_k / C_k`.
    gain: Vec<f64>,
    /// `V_k = beta_t P_k / C_k`.
    var: Vec<f64>,
}

impl Step {
    fn new(data: &GaussianMixture, schedule: &NoiseSchedule, t: usize) -> Self {
        let abar = schedule.abar(t);
        let om = schedule.one_minus_abar(t);
        let abar_prev = schedule.abar(t - 1);
        let sa_prev = (0.5 * schedule.log_abar(t - 1)).exp();
        let om_prev = schedule.one_minus_abar(t - 1);
        let beta = schedule.beta(t);
        let sqrt_alpha = schedule.alpha(t).max(0.0).sqrt();
        let k = data.len();
        let mut s = Step {
            q: Marginal::new(data, schedule, t),
            a_prev: Vec::with_capacity(k),
            gain: Vec::with_capacity(k),
            var: Vec::with_capacity(k),
        };
        for (mu, cov) in data.means().iter().zip(data.covs()) {
            let p = abar_prev * cov.xx + om_prev;
            let c = abar * cov.xx + om;
            s.a_prev.push(sa_prev * mu[0]);
            s.gain.push(sqrt_alpha * p / c);
            s.var.push(beta * p / c);
        }
        s
    }

    /// The reverse step at `x`: weights into `w`, means into `m`; returns `log q_t(x)`.
    fn reverse_at(&self, x: f64, w: &mut Vec<f64>, m: &mut Vec<f64>) -> f64 {
        let log_q = self.q.logits(x, w);
        m.clear();
        for (k, l) in w.iter_mut().enumerate() {
            *l = (*l - log_q).exp();
            m.push(self.a_prev[k] + self.gain[k] * (x - self.q.big_a[k]));
        }
        log_q
    }
}

/// One timestep's expectations over `x_t` (t = 0: only `H(p0)`).
struct StepSums {
    /// `H(q_t) = -E log q_t(x_t)`.
    entropy: Valued,
    /// `E log(2 pi e v(x_t)) / 2`: the entropy of the moment-matched step.
    gauss_entropy: Valued,
    /// Per variance vector: the cross-entropy
    /// `E[log(2 pi sigma_t^2) / 2 + (v + (m - mu_theta)^2) / (2 sigma_t^2)]` and `M_t`.
    per_variance: Vec<(Valued, Valued)>,
}

/// A sum over one x_t lattice: `sum h q f`, `sum h q err` and `sum h q |f|`.
#[derive(Clone, Copy, Default)]
struct Acc {
    sum: f64,
    err: f64,
    abs: f64,
}

impl Acc {
    fn add(&mut self, weight: f64, value: f64, err: f64) {
        self.sum += weight * value;
        self.err += weight * err;
        self.abs += weight * value.abs();
    }
}

/// The value of two lattices' sums (module docs) over `n` nodes each.
fn combine(a: Acc, b: Acc, n: usize) -> Valued {
    let value = 0.5 * (a.sum + b.sum);
    Valued {
        value,
        error: 0.5 * (a.sum - b.sum).abs()
            + 0.5 * (a.err + b.err)
            + TAIL_MASS[0] * value.abs()
            + (n.max(1) as f64).sqrt() * f64::EPSILON * 0.5 * (a.abs + b.abs),
    }
}

/// The expectations over `x_t ~ q_t` of one timestep (module docs); t = 0 gives `H(p0)`.
fn step_sums(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    t: usize,
    model: Option<&dyn Denoiser>,
    variances: &[Vec<f64>],
    config: &ReverseStepConfig,
) -> Result<StepSums, EvidenceError> {
    let round = ROUNDING_ULPS * f64::EPSILON;
    let step = (t >= 1).then(|| Step::new(data, schedule, t));
    let marginal;
    let q = match &step {
        Some(s) => &s.q,
        None => {
            marginal = Marginal::new(data, schedule, 0);
            &marginal
        }
    };
    let (h, lattices) = q.lattices(t, config)?;
    // Only a step with a model has per-variance terms (the model gives mu_theta).
    let nv = if step.is_some() && model.is_some() {
        variances.len()
    } else {
        0
    };
    let pm = (t >= 1).then(|| PosteriorMean::at(schedule, t));
    let mut ent = [Acc::default(); 2];
    let mut gauss = [Acc::default(); 2];
    let mut cross = vec![[Acc::default(); 2]; nv];
    let mut mism = vec![[Acc::default(); 2]; nv];
    let (mut w, mut m) = (Vec::new(), Vec::new());
    for (lat, xs) in lattices.iter().enumerate() {
        let mu_theta: Vec<f64> = match (model, pm) {
            (Some(model), Some(pm)) if nv > 0 => {
                let pred = predict(model, schedule, t, xs);
                let mu: Vec<f64> = xs.iter().zip(&pred).map(|(x, p)| pm.mean(*p, *x)).collect();
                if !mu.iter().all(|v| v.is_finite()) {
                    return Err(EvidenceError::NotFinite {
                        model: model.name(),
                        quantity: "prediction",
                        t,
                    });
                }
                mu
            }
            _ => Vec::new(),
        };
        for (i, &x) in xs.iter().enumerate() {
            let log_q = match &step {
                Some(s) => s.reverse_at(x, &mut w, &mut m),
                None => q.logits(x, &mut w),
            };
            let qh = h * log_q.exp();
            if qh.is_nan() || qh <= 0.0 {
                continue;
            }
            ent[lat].add(qh, -log_q, round * log_q.abs());
            let Some(s) = &step else {
                continue;
            };
            let mean = mixture_mean(&w, &m);
            let v = mixture_variance(&w, &m, &s.var, mean);
            let lv = 0.5 * (LN_2PI_E + v.ln());
            gauss[lat].add(qh, lv, round * lv.abs());
            for (j, sigma2) in variances.iter().enumerate().take(nv) {
                let s2 = sigma2[t - 1];
                let dm = mean - mu_theta[i];
                let (mm, mm_err) = gaussian_kl(v, dm, s2);
                mism[j][lat].add(qh, mm, mm_err);
                let log_norm = 0.5 * (LN_2PI + s2.ln());
                let quad = (v + dm * dm) / (2.0 * s2);
                cross[j][lat].add(qh, log_norm + quad, round * (log_norm.abs() + quad));
            }
        }
    }
    let n = lattices[0].len().max(lattices[1].len());
    Ok(StepSums {
        entropy: combine(ent[0], ent[1], n),
        gauss_entropy: combine(gauss[0], gauss[1], n),
        per_variance: (0..nv)
            .map(|j| {
                (
                    combine(cross[j][0], cross[j][1], n),
                    combine(mism[j][0], mism[j][1], n),
                )
            })
            .collect(),
    })
}

/// Predict x0 at 1D points (one batch).
fn predict(model: &dyn Denoiser, schedule: &NoiseSchedule, t: usize, xs: &[f64]) -> Vec<f64> {
    match ndarray::ArrayView2::from_shape((xs.len(), 1), xs) {
        Ok(v) => model.predict_x0(schedule, t, v).column(0).to_vec(),
        Err(_) => vec![f64::NAN; xs.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denoiser::{Denoiser, MixtureDenoiser, ModelKind};
    use crate::evidence::reverse_variances;
    use crate::presets::{DataPreset, DataSpec};
    use crate::schedule::{BetaSchedule, ScheduleSpec, VarianceType};

    fn schedule(kind: BetaSchedule, steps: usize) -> NoiseSchedule {
        ScheduleSpec::preset(kind, steps).build().expect("valid")
    }

    fn preset(p: DataPreset) -> GaussianMixture {
        DataSpec::new(p).build().expect("builds")
    }

    fn gaussian(m: f64, v: f64) -> GaussianMixture {
        GaussianMixture::gaussian(&[m], vec![vec![v]]).expect("valid")
    }

    /// `int f(y) q(y) dy` by a fine trapezoid rule over the whole mixture.
    fn brute(q: &TrueReverse, f: impl Fn(f64) -> f64) -> f64 {
        let sd: Vec<f64> = q.vars.iter().map(|v| v.sqrt()).collect();
        let sd_min = sd.iter().copied().fold(f64::INFINITY, f64::min);
        let lo = q
            .means
            .iter()
            .zip(&sd)
            .map(|(m, s)| m - 14.0 * s)
            .fold(f64::INFINITY, f64::min);
        let hi = q
            .means
            .iter()
            .zip(&sd)
            .map(|(m, s)| m + 14.0 * s)
            .fold(f64::NEG_INFINITY, f64::max);
        let h = sd_min / 40.0;
        let n = ((hi - lo) / h).ceil() as usize;
        (0..=n)
            .map(|i| {
                let y = lo + i as f64 * h;
                h * q.density(y) * f(y)
            })
            .sum()
    }

    /// The mean of the true step is the model mean of the exact posterior mean (Luo eq.
    /// 84/94: mu~ is linear in x0), at every t including the decoder's.
    #[test]
    fn true_reverse_mean_is_the_posterior_mean_step() {
        for p in [DataPreset::Bimodal, DataPreset::Skewed, DataPreset::Spike] {
            let data = preset(p);
            let optimal = MixtureDenoiser::new(data.clone());
            for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
                let s = schedule(kind, 100);
                for t in [1, 2, 17, 60, 100] {
                    let xs = [-2.3, -0.4, 0.0, 0.71, 1.9];
                    let view =
                        ndarray::ArrayView2::from_shape((xs.len(), 1), &xs[..]).expect("shape");
                    let x0 = optimal.predict_x0(&s, t, view);
                    let pm = PosteriorMean::at(&s, t);
                    for (i, &x) in xs.iter().enumerate() {
                        let q = TrueReverse::at(&data, &s, t, x).expect("1D");
                        let want = pm.mean(x0[[i, 0]], x);
                        assert!(
                            (q.mean() - want).abs() <= 1e-12,
                            "{p}/{kind} t={t} x={x}: {} vs {want}",
                            q.mean()
                        );
                        let total: f64 = q.weights.iter().sum();
                        assert!((total - 1.0).abs() < 1e-14);
                    }
                }
            }
        }
    }

    /// The density integrates to 1 and to its moments; the entropy and the KL to a
    /// Gaussian agree with brute-force quadrature, overlapping or well separated.
    #[test]
    fn density_moments_entropy_and_kl_match_brute_force() {
        let cases = [
            (DataPreset::Bimodal, BetaSchedule::Linear, 10, 1, 0.0),
            (DataPreset::Bimodal, BetaSchedule::Linear, 10, 10, 0.1),
            (
                DataPreset::Bimodal,
                BetaSchedule::SquaredcosCapV2,
                10,
                5,
                -0.2,
            ),
            (
                DataPreset::Skewed,
                BetaSchedule::SquaredcosCapV2,
                10,
                3,
                0.6,
            ),
            (DataPreset::Spike, BetaSchedule::Linear, 1000, 1, -0.76),
            (
                DataPreset::Spike,
                BetaSchedule::SquaredcosCapV2,
                10,
                2,
                -0.5,
            ),
        ];
        for (p, kind, steps, t, x) in cases {
            let data = preset(p);
            let s = schedule(kind, steps);
            let q = TrueReverse::at(&data, &s, t, x).expect("1D");
            let tag = format!("{p}/{kind}/T={steps} t={t} x={x}");
            let mass = brute(&q, |_| 1.0);
            assert!((mass - 1.0).abs() < 1e-12, "{tag}: mass {mass}");
            let (m, v) = (q.mean(), q.variance());
            let scale = v.sqrt();
            assert!(
                (brute(&q, |y| y) - m).abs() < 1e-12 * (1.0 + m.abs()),
                "{tag}"
            );
            let bv = brute(&q, |y| (y - m) * (y - m));
            assert!((bv - v).abs() < 1e-10 * v, "{tag}: {bv} vs {v}");
            let h = q.entropy();
            let bh = brute(&q, |y| -q.density(y).ln());
            assert!(
                (bh - h.value).abs() <= h.error + 1e-13,
                "{tag}: entropy {h:?} vs {bh}"
            );
            assert!(h.error < 1e-9, "{tag}: {h:?}");
            // KL to a Gaussian: the split and brute force.
            let (a, b) = (m + 0.3 * scale, 1.7 * v);
            let kl = q.kl_to_gaussian(a, b);
            let bkl = brute(&q, |y| {
                q.density(y).ln() - crate::normal::normal_log_pdf(y, a, b)
            });
            assert!(
                (kl.value - bkl).abs() <= kl.error + 1e-10,
                "{tag}: {kl:?} vs {bkl}"
            );
            let own = q.kl_to_gaussian(m, v);
            assert!(own.value >= -own.error, "{tag}: {own:?}");
            let closed = 0.5 * (v / b - 1.0 - (v / b).ln() + (m - a) * (m - a) / b);
            assert!(
                (kl.value - own.value - closed).abs() < 1e-12,
                "{tag}: {kl:?} - {own:?} vs {closed}"
            );
            // G of this x_t: log(2 pi e v)/2 - H.
            let g = 0.5 * (LN_2PI_E + v.ln()) - h.value;
            assert!(
                (g - own.value).abs() <= h.error + own.error + 1e-13,
                "{tag}"
            );
        }
        let q = TrueReverse::at(
            &preset(DataPreset::Bimodal),
            &schedule(BetaSchedule::Linear, 10),
            1,
            0.0,
        )
        .expect("1D");
        assert!(q.kl_to_gaussian(0.0, 0.0).value.is_nan());
        assert!(q.kl_to_gaussian(f64::NAN, 1.0).value.is_nan());
    }

    /// t = 1 is the posterior of x0 given x_1: per component the Gaussian posterior,
    /// `V_k = s_k^2 beta_1 / (alpha_1 s_k^2 + beta_1)`.
    #[test]
    fn t1_edge_is_the_posterior_of_x0() {
        let data = preset(DataPreset::Skewed);
        let s = schedule(BetaSchedule::SquaredcosCapV2, 50);
        let (b, a) = (s.beta(1), s.alpha(1));
        let q = TrueReverse::at(&data, &s, 1, 0.4).expect("1D");
        for (v, c) in q.vars.iter().zip(data.covs()) {
            let want = c.xx * b / (a * c.xx + b);
            assert!((v - want).abs() < 1e-15 * want, "{v} vs {want}");
        }
        let optimal = MixtureDenoiser::new(data.clone());
        let x = [0.4];
        let view = ndarray::ArrayView2::from_shape((1, 1), &x[..]).expect("shape");
        let post = optimal.predict_x0(&s, 1, view)[[0, 0]];
        assert!((q.mean() - post).abs() < 1e-13);
    }

    /// abar_T = 0: q(x_T) = N(0, 1) exactly, the prior KL is 0 and the last step does not
    /// depend on x_T (it is q_{T-1}); everything finite. T = 1 and tiny betas too.
    #[test]
    fn edges_zero_terminal_snr_one_step_and_tiny_betas_are_finite() {
        let data = preset(DataPreset::Bimodal);
        let model = ModelKind::Optimal.build(&data);
        let mut spec = ScheduleSpec::preset(BetaSchedule::Linear, 60);
        spec.rescale_zero_snr = true;
        let s = spec.build().expect("valid");
        assert_eq!(s.terminal_abar(), 0.0);
        let t = s.steps();
        let q1 = TrueReverse::at(&data, &s, t, -3.0).expect("1D");
        let q2 = TrueReverse::at(&data, &s, t, 5.0).expect("1D");
        assert_eq!(q1, q2);
        for ((w, pi), v) in q1.weights.iter().zip(data.weights()).zip(&q1.vars) {
            assert!((w - pi).abs() < 1e-15);
            let want = s.abar(t - 1) * 0.0625 + s.one_minus_abar(t - 1);
            assert!((v - want).abs() < 1e-15);
        }
        let third = ScheduleSpec::custom(vec![1e-7; 12]).build().expect("valid");
        for s in [s, schedule(BetaSchedule::Linear, 1), third] {
            for variance in [VarianceType::FixedSmall, VarianceType::FixedLarge] {
                let r = reverse_steps(
                    &data,
                    &s,
                    model.as_ref(),
                    &reverse_variances(&s, variance),
                    &ReverseStepConfig::default(),
                    Control::default(),
                )
                .expect("runs");
                assert!(r.total.value.is_finite() && r.total.error.is_finite());
                for term in &r.terms {
                    for v in [term.reverse_kl, term.non_gaussianity, term.moment_mismatch] {
                        assert!(v.value.is_finite() && v.error.is_finite(), "{term:?}");
                    }
                    assert!(term.non_gaussianity.value >= -term.non_gaussianity.error);
                }
                if s.terminal_abar() == 0.0 {
                    assert!(
                        r.prior_kl.value.abs() <= r.prior_kl.error,
                        "{:?}",
                        r.prior_kl
                    );
                }
            }
        }
    }

    /// Gaussian data: every true step is Gaussian (G_t = 0), `v` is constant and `m` linear,
    /// so `M_t` is closed-form for any linear model (the optimal one, the Gaussian fit, and
    /// the optimal denoiser of other Gaussian data).
    #[test]
    fn gaussian_data_have_no_non_gaussianity_and_closed_form_moments() {
        let (mu, s2) = (0.5, 0.64);
        let data = gaussian(mu, s2);
        let wrong = (-0.2, 0.3);
        let models: [(std::sync::Arc<dyn Denoiser>, (f64, f64)); 3] = [
            (ModelKind::Optimal.build(&data), (mu, s2)),
            (ModelKind::Gaussian.build(&data), (mu, s2)),
            (
                std::sync::Arc::new(MixtureDenoiser::new(gaussian(wrong.0, wrong.1))),
                wrong,
            ),
        ];
        for kind in [BetaSchedule::Linear, BetaSchedule::SquaredcosCapV2] {
            let s = schedule(kind, 50);
            for (model, (mu_m, s2_m)) in &models {
                for variance in [VarianceType::FixedSmall, VarianceType::FixedLarge] {
                    let sigma2 = reverse_variances(&s, variance);
                    let r = reverse_steps(
                        &data,
                        &s,
                        model.as_ref(),
                        &sigma2,
                        &ReverseStepConfig::default(),
                        Control::default(),
                    )
                    .expect("runs");
                    for term in &r.terms {
                        let t = term.t;
                        assert!(term.non_gaussianity.value.abs() <= 1e-10, "{term:?}");
                        // Closed form: x_t ~ N(A, C); E[x0|x] = mu + k (x - A);
                        // x0_hat = mu_m + k_m (x - sqrt(abar) mu_m); m - mu_theta = c_x0 (E[x0|x] - x0_hat)
                        // = a0 + a1 x; v = sigma~2_t + c_x0^2 s2 (1 - abar) / C.
                        let (abar, om) = (s.abar(t), s.one_minus_abar(t));
                        let sa = abar.sqrt();
                        let c = abar * s2 + om;
                        let c_m = abar * s2_m + om;
                        let (k, k_m) = (sa * s2 / c, sa * s2_m / c_m);
                        let c_x0 = PosteriorMean::at(&s, t).c_x0;
                        let big_a = sa * mu;
                        let a1 = c_x0 * (k - k_m);
                        let a0 = c_x0 * (mu - k * big_a - mu_m + k_m * sa * mu_m);
                        let e_dm2 = (a0 + a1 * big_a).powi(2) + a1 * a1 * c;
                        let v = s.posterior_variance(t) + c_x0 * c_x0 * s2 * om / c;
                        let r_ratio = v / sigma2[t - 1];
                        let want =
                            0.5 * (r_ratio - 1.0 - r_ratio.ln()) + e_dm2 / (2.0 * sigma2[t - 1]);
                        let got = term.moment_mismatch;
                        assert!(
                            (got.value - want).abs() <= 1e-10 * want.max(1.0) + got.error,
                            "{kind} {} {variance} t={t}: {got:?} vs {want}",
                            model.name()
                        );
                        assert!(
                            (term.reverse_kl.value - want).abs()
                                <= 1e-10 * want.max(1.0) + term.reverse_kl.error
                        );
                    }
                }
            }
        }
    }

    /// `G_t` from the marginal entropies (`E H(q(x_{t-1} | x_t)) = H(q_{t-1}) +
    /// log(2 pi e beta_t) / 2 - H(q_t)`) against the entropy of every true step by itself,
    /// integrated over a fine grid of x_t: overlapping and well-separated components.
    #[test]
    fn non_gaussianity_matches_the_entropies_of_the_steps() {
        for (p, kind, steps) in [
            (DataPreset::Bimodal, BetaSchedule::SquaredcosCapV2, 10),
            (DataPreset::Spike, BetaSchedule::Linear, 10),
            (DataPreset::Skewed, BetaSchedule::Linear, 200),
        ] {
            let data = preset(p);
            let s = schedule(kind, steps);
            let model = ModelKind::Optimal.build(&data);
            let r = reverse_steps(
                &data,
                &s,
                model.as_ref(),
                &reverse_variances(&s, VarianceType::FixedSmall),
                &ReverseStepConfig::default(),
                Control::default(),
            )
            .expect("runs");
            for t in [1, 2, steps / 2, steps] {
                let q = Marginal::new(&data, &s, t);
                let sd_min = q.sd.iter().copied().fold(f64::INFINITY, f64::min);
                let h = sd_min / 60.0;
                let lo = q
                    .big_a
                    .iter()
                    .zip(&q.sd)
                    .map(|(a, sd)| a - 12.0 * sd)
                    .fold(f64::INFINITY, f64::min);
                let hi = q
                    .big_a
                    .iter()
                    .zip(&q.sd)
                    .map(|(a, sd)| a + 12.0 * sd)
                    .fold(f64::NEG_INFINITY, f64::max);
                let n = ((hi - lo) / h) as usize;
                let mut logits = Vec::new();
                let (mut direct, mut err) = (0.0, 0.0);
                for i in 0..=n {
                    let x = lo + i as f64 * h;
                    let qh = h * q.logits(x, &mut logits).exp();
                    if qh < 1e-300 {
                        continue;
                    }
                    let step = TrueReverse::at(&data, &s, t, x).expect("1D");
                    let ent = step.entropy();
                    direct += qh * (0.5 * (LN_2PI_E + step.variance().ln()) - ent.value);
                    err += qh * ent.error;
                }
                let g = r.terms[t - 1].non_gaussianity;
                assert!(
                    (g.value - direct).abs() <= g.error + err + 1e-13,
                    "{p}/{kind}/T={steps} t={t}: {g:?} vs {direct} (+- {err:e})"
                );
            }
        }
    }

    #[test]
    fn preview_agrees_with_the_full_computation() {
        let data = preset(DataPreset::Spike);
        let model = ModelKind::Gaussian.build(&data);
        let s = schedule(BetaSchedule::Linear, 200);
        let sigma2 = reverse_variances(&s, VarianceType::FixedSmall);
        let run = |c: &ReverseStepConfig| {
            reverse_steps(&data, &s, model.as_ref(), &sigma2, c, Control::default()).expect("runs")
        };
        let (full, preview) = (
            run(&ReverseStepConfig::default()),
            run(&ReverseStepConfig::preview()),
        );
        for (a, b) in [
            (full.total, preview.total),
            (full.non_gaussianity, preview.non_gaussianity),
            (full.moment_mismatch, preview.moment_mismatch),
            (full.prior_kl, preview.prior_kl),
        ] {
            assert!(
                (a.value - b.value).abs() <= a.error + b.error,
                "{a:?} vs preview {b:?}"
            );
        }
    }

    #[test]
    fn bad_input_is_an_error_never_a_panic() {
        let two = preset(DataPreset::TwoMoons);
        let data = preset(DataPreset::Bimodal);
        let s = schedule(BetaSchedule::Linear, 10);
        let model = ModelKind::Optimal.build(&data);
        let good = reverse_variances(&s, VarianceType::FixedSmall);
        let config = ReverseStepConfig::default();
        assert_eq!(
            TrueReverse::at(&two, &s, 3, 0.0),
            Err(EvidenceError::NotOneDimensional(2))
        );
        let model2 = ModelKind::Optimal.build(&two);
        assert_eq!(
            reverse_steps(
                &two,
                &s,
                model2.as_ref(),
                &good,
                &config,
                Control::default()
            ),
            Err(EvidenceError::NotOneDimensional(2))
        );
        assert_eq!(
            non_gaussianity_total(&two, &s, &config, Control::default()),
            Err(EvidenceError::NotOneDimensional(2))
        );
        assert!(matches!(
            reverse_steps(
                &data,
                &s,
                model2.as_ref(),
                &good,
                &config,
                Control::default()
            ),
            Err(EvidenceError::DimensionMismatch { model: 2, data: 1 })
        ));
        assert!(matches!(
            reverse_steps(
                &data,
                &s,
                model.as_ref(),
                &good[..9],
                &config,
                Control::default()
            ),
            Err(EvidenceError::BadVariances(_))
        ));
        let mut bad = good.clone();
        bad[3] = -1.0;
        assert!(matches!(
            reverse_steps_for(
                &data,
                &s,
                model.as_ref(),
                &[good.clone(), bad],
                &config,
                Control::default()
            ),
            Err(EvidenceError::BadVariances(_))
        ));
        for t in [0, 11] {
            assert!(matches!(
                TrueReverse::at(&data, &s, t, 0.0),
                Err(EvidenceError::BadConfig { name: "t", .. })
            ));
        }
        for x in [f64::NAN, f64::INFINITY, 1e300] {
            assert!(matches!(
                TrueReverse::at(&data, &s, 2, x),
                Err(EvidenceError::BadConfig { name: "x_t", .. })
            ));
        }
        for c in [
            ReverseStepConfig {
                xt_points_per_sd: 0.0,
                ..config
            },
            ReverseStepConfig {
                entropy_points_per_sd: f64::NAN,
                ..config
            },
            ReverseStepConfig {
                points_per_switch: 100.0,
                ..config
            },
        ] {
            assert!(matches!(c.validate(), Err(EvidenceError::BadConfig { .. })));
            assert!(matches!(
                reverse_steps(&data, &s, model.as_ref(), &good, &c, Control::default()),
                Err(EvidenceError::BadConfig { .. })
            ));
        }
        assert!(ReverseStepConfig::preview().validate().is_ok());
        // A hand-built mixture with degenerate components: NaN, never a hang or a panic.
        let odd = TrueReverse {
            weights: vec![0.5, 0.5],
            means: vec![0.0, 1.0],
            vars: vec![0.0, 0.0],
        };
        assert!(odd.entropy().value.is_nan());
        assert!(odd.kl_to_gaussian(0.0, 1.0).value.is_nan());
    }

    #[test]
    fn progress_reaches_its_total_and_cancel_stops() {
        let data = preset(DataPreset::Bimodal);
        let model = ModelKind::Optimal.build(&data);
        let s = schedule(BetaSchedule::Linear, 40);
        let sigma2 = reverse_variances(&s, VarianceType::FixedSmall);
        let most = AtomicUsize::new(0);
        let on_step = |d: usize| {
            most.fetch_max(d, Ordering::Relaxed);
        };
        let control = Control {
            on_step: Some(&on_step),
            cancel: None,
        };
        reverse_steps(
            &data,
            &s,
            model.as_ref(),
            &sigma2,
            &ReverseStepConfig::preview(),
            control,
        )
        .expect("runs");
        assert_eq!(most.load(Ordering::Relaxed), progress_total(40));
        let cancel = AtomicBool::new(true);
        let control = Control {
            on_step: None,
            cancel: Some(&cancel),
        };
        assert_eq!(
            reverse_steps(
                &data,
                &s,
                model.as_ref(),
                &sigma2,
                &ReverseStepConfig::default(),
                control
            ),
            Err(EvidenceError::Cancelled)
        );
    }
}
