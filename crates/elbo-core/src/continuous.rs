//! The continuous-time limit of the diffusion ELBO (Kingma et al. 2021, "Variational
//! Diffusion Models"; Luo's section on learning the noise schedule).
//!
//! With the Bayes-optimal denoiser and the fixed_small variance, the denoising term at t is
//! `L_{t-1} = (SNR_{t-1} - SNR_t) / 2 * mmse(SNR_t)` (Luo eq. 108: `w_x0(t)` times the MMSE),
//! where `mmse(SNR) = E||x0 - E[x0 | x]||^2` for `x = sqrt(abar) x0 + sqrt(1 - abar) eps`,
//! `abar = SNR / (1 + SNR)`. Their sum is a Riemann sum of
//!
//! ```text
//! L_inf = 1/2 * integral from SNR_T to SNR_1 of mmse(SNR) dSNR,
//! ```
//!
//! which depends on the schedule only through its two endpoints. Each term evaluates mmse
//! at its interval's low-SNR end and mmse does not increase with the SNR, so the discrete
//! sum is never below `L_inf`: more steps only bring it down towards it.

use crate::elbo::{Control, ElboError};
use crate::mixture::GaussianMixture;
use crate::param::Coeffs;
use crate::quadrature::{QuadValue, mmse};
use crate::schedule::SnrShape;

/// 8-point Gauss-Legendre nodes on [-1, 1] (positive half; the rule is symmetric).
const GL_NODES: [f64; 4] = [
    0.183_434_642_495_649_8,
    0.525_532_409_916_329,
    0.796_666_477_413_626_7,
    0.960_289_856_497_536_3,
];
/// Their weights.
const GL_WEIGHTS: [f64; 4] = [
    0.362_683_783_378_362,
    0.313_706_645_877_887_3,
    0.222_381_034_453_374_5,
    0.101_228_536_290_376_3,
];
/// Below this log-SNR the rest of the integral is `tr Cov(x0) * SNR` to within
/// `SNR^2`-sized terms (mmse tends to `tr Cov(x0)` as the SNR goes to 0).
const LOW_LOG_SNR: f64 = -40.0;
/// The widest panel in log-SNR: mmse changes over about one unit of log-SNR per data scale.
const PANEL: f64 = 0.5;

/// mmse at the log-SNR `lambda` (`abar = sigmoid(lambda)`).
pub fn mmse_at_log_snr(data: &GaussianMixture, lambda: f64) -> QuadValue {
    // sqrt(sigmoid(l)) and sqrt(sigmoid(-l)), stable for either sign.
    let log_abar = crate::schedule::log_abar_from_log_snr(lambda);
    let log_one_minus = crate::schedule::log_abar_from_log_snr(-lambda);
    mmse(
        data,
        Coeffs {
            sqrt_abar: (0.5 * log_abar).exp(),
            sqrt_one_minus_abar: (0.5 * log_one_minus).exp(),
        },
    )
}

/// `1/2 * integral of mmse(SNR) dSNR` between the log-SNRs `lambda_low` (may be `-inf`,
/// SNR 0) and `lambda_high` (> `lambda_low`, finite), by Gauss-Legendre panels in
/// log-SNR (`dSNR = SNR dlambda`). The error estimate is the difference to the same rule
/// on panels half as wide, plus the quadrature errors of the mmse values.
pub fn continuous_loss(data: &GaussianMixture, lambda_low: f64, lambda_high: f64) -> QuadValue {
    if lambda_high.is_nan() || lambda_low.is_nan() || lambda_high <= lambda_low {
        return QuadValue {
            value: 0.0,
            error: 0.0,
            points: 0,
        };
    }
    let lo = lambda_low.max(LOW_LOG_SNR.min(lambda_high - 1.0));
    // Below `lo` (only when lambda_low is far below it): mmse ~ tr Cov(x0).
    let tail = if lambda_low < lo {
        let var = mmse_at_log_snr(data, lo).value;
        0.5 * var * (lo.exp() - lambda_low.exp())
    } else {
        0.0
    };
    let rule = |panels: usize| -> (f64, f64, usize) {
        let h = (lambda_high - lo) / panels as f64;
        let (mut sum, mut err, mut points) = (0.0, 0.0, 0);
        for i in 0..panels {
            let mid = lo + h * (i as f64 + 0.5);
            for (x, w) in GL_NODES.iter().zip(GL_WEIGHTS) {
                for l in [mid - 0.5 * h * x, mid + 0.5 * h * x] {
                    let m = mmse_at_log_snr(data, l);
                    let f = 0.5 * l.exp() * 0.5 * h * w;
                    sum += f * m.value;
                    err += f * m.error;
                    points += m.points;
                }
            }
        }
        (sum, err, points)
    };
    let panels = ((lambda_high - lo) / PANEL).ceil().max(1.0) as usize;
    let (coarse, _, p1) = rule(panels);
    let (fine, fine_err, p2) = rule(2 * panels);
    QuadValue {
        value: fine + tail,
        error: (fine - coarse).abs() + fine_err + tail.abs() * 1e-6,
        points: p1 + p2,
    }
}

/// `1/2 SNR mmse(SNR)` at the log-SNR `lambda`: the continuous-time loss per unit of
/// log-SNR (`dL = 1/2 mmse dSNR = 1/2 SNR mmse dlambda`), the curve every schedule's
/// denoising terms approach when seen per unit of log-SNR.
pub fn loss_density(data: &GaussianMixture, lambda: f64) -> QuadValue {
    let m = mmse_at_log_snr(data, lambda);
    let snr = lambda.exp();
    QuadValue {
        value: 0.5 * snr * m.value,
        error: 0.5 * snr * m.error,
        points: m.points,
    }
}

/// One denoising term of the Bayes-optimal model with the fixed_small variance, placed on
/// the log-SNR axis: `L_{t-1} = 1/2 (SNR_{t-1} - SNR_t) mmse(SNR_t)` covers the interval
/// from `lambda_t` to `lambda_{t-1}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogSnrTerm {
    /// t (2..=T).
    pub t: usize,
    /// `lambda_t`, the interval's low end (`-inf` where abar_t = 0).
    pub lambda_low: f64,
    /// `lambda_{t-1}`, its high end.
    pub lambda_high: f64,
    /// `L_{t-1}` (nats).
    pub loss: f64,
    /// `L_{t-1} / (lambda_{t-1} - lambda_t)`, the loss per unit of log-SNR; `None` where
    /// the interval is empty or unbounded (zero terminal SNR), where it is undefined.
    pub per_log_snr: Option<f64>,
}

impl LogSnrTerm {
    /// The interval's midpoint in log-SNR, where it is finite.
    pub fn lambda_mid(&self) -> Option<f64> {
        let mid = 0.5 * (self.lambda_low + self.lambda_high);
        mid.is_finite().then_some(mid)
    }
}

/// Every denoising term `L_{t-1}`, t = 2..=T, of the Bayes-optimal model with the
/// fixed_small variance (module docs), with its log-SNR interval. `L_0` (the decoder) is not
/// a denoising term and is left out. `control.on_step` is told the timesteps done.
///
/// # Errors
/// [`ElboError::Cancelled`] once `control.cancel` is set.
pub fn log_snr_terms(
    data: &GaussianMixture,
    schedule: &crate::schedule::NoiseSchedule,
    control: Control<'_>,
) -> Result<Vec<LogSnrTerm>, ElboError> {
    let steps = schedule.steps();
    let mut out = Vec::with_capacity(steps.saturating_sub(1));
    for t in 2..=steps {
        if control.cancelled() {
            return Err(ElboError::Cancelled);
        }
        let lambda_low = schedule.log_snr(t).unwrap_or(f64::NEG_INFINITY);
        let lambda_high = schedule.log_snr(t - 1).unwrap_or(f64::NEG_INFINITY);
        let d_snr = schedule.snr(t - 1) - schedule.snr(t);
        let loss = if d_snr > 0.0 {
            0.5 * d_snr * mmse(data, Coeffs::at(schedule, t)).value
        } else {
            0.0
        };
        let width = lambda_high - lambda_low;
        let per_log_snr = (width.is_finite() && width > 0.0).then(|| loss / width);
        out.push(LogSnrTerm {
            t,
            lambda_low,
            lambda_high,
            loss,
            per_log_snr,
        });
        control.step(t);
    }
    Ok(out)
}

/// Why [`convergence`] could not run.
#[derive(Debug, thiserror::Error)]
pub enum ConvergenceError {
    /// A shaped schedule could not be built from the endpoints.
    #[error("the log-SNR shape {shape:?} from {first} to {last} is not a schedule: {source}")]
    Schedule {
        /// The shape.
        shape: SnrShape,
        /// `lambda_1`.
        first: f64,
        /// `lambda_T`.
        last: f64,
        /// Why.
        source: crate::schedule::ScheduleError,
    },
    /// The quadrature ELBO of the endpoints failed.
    #[error(transparent)]
    Elbo(ElboError),
    /// A newer request superseded this one.
    #[error("cancelled")]
    Cancelled,
}

/// NELBO(T) of one log-SNR shape, at each T asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeConvergence {
    /// The shape.
    pub shape: SnrShape,
    /// `(T, NELBO(T))`, T ascending.
    pub nelbo: Vec<(usize, f64)>,
}

/// The Bayes-optimal model's NELBO (fixed_small) against T for schedules made from log-SNR
/// shapes with the same two endpoints, and the limit they share:
/// `L_0 + L_T + L_inf`, with `L_0` fixed by `SNR_1`, `L_T` by `SNR_T`.
#[derive(Debug, Clone, PartialEq)]
pub struct Convergence {
    /// `lambda_1`.
    pub log_snr_first: f64,
    /// `lambda_T`.
    pub log_snr_last: f64,
    /// `L_0` (the same for every shape and T >= 2).
    pub reconstruction: f64,
    /// `L_T` (likewise).
    pub prior: f64,
    /// `L_inf`, the continuous-time denoising loss between the endpoints.
    pub limit: QuadValue,
    /// One curve per shape.
    pub shapes: Vec<ShapeConvergence>,
}

impl Convergence {
    /// `L_0 + L_T + L_inf`, what every curve converges to.
    pub fn limit_nelbo(&self) -> f64 {
        self.reconstruction + self.prior + self.limit.value
    }
}

/// A schedule of `steps` steps whose log-SNR follows `shape` from `first` down to `last`.
pub fn shaped_spec(
    shape: SnrShape,
    first: f64,
    last: f64,
    steps: usize,
) -> crate::schedule::ScheduleSpec {
    crate::schedule::ScheduleSpec {
        source: crate::schedule::BetaSource::Snr {
            process: crate::schedule::SnrProcess::Shape {
                shape,
                log_snr_first: first,
                log_snr_last: last,
            },
        },
        steps,
        rescale_zero_snr: false,
    }
}

/// [`Convergence`] between the log-SNRs `first` > `last` (both finite) at every T of
/// `steps` (each >= 2; smaller ones are skipped: at T = 1 a shape has one endpoint only).
/// `control.on_step` is told the timesteps done so far (in all, every shape's sum of
/// `steps`); `control.cancel` stops it.
///
/// # Errors
/// Endpoints that make no schedule, a failed ELBO, or cancellation.
pub fn convergence(
    data: &GaussianMixture,
    first: f64,
    last: f64,
    steps: &[usize],
    control: Control<'_>,
) -> Result<Convergence, ConvergenceError> {
    let failed = |e: ElboError| match e {
        ElboError::Cancelled => ConvergenceError::Cancelled,
        e => ConvergenceError::Elbo(e),
    };
    let build = |shape: SnrShape, t: usize| {
        shaped_spec(shape, first, last, t)
            .build()
            .map_err(|source| ConvergenceError::Schedule {
                shape,
                first,
                last,
                source,
            })
    };
    // L_0 and L_T by quadrature on the two-step schedule (they depend on the endpoints only).
    let ends = build(SnrShape::Linear, 2)?;
    let model = crate::denoiser::ModelKind::Optimal.build(data);
    let config = crate::elbo::ElboConfig {
        samples: 64,
        seed: 0,
        variance: crate::schedule::VarianceType::FixedSmall,
        consistency: false,
        method: crate::elbo::Method::Quadrature,
    };
    let quiet = Control {
        on_step: None,
        ..control
    };
    let r =
        crate::elbo::compute_elbo(data, &ends, model.as_ref(), &config, quiet).map_err(failed)?;
    let mut done = 0;
    let mut shapes = Vec::with_capacity(SnrShape::ALL.len());
    for shape in SnrShape::ALL {
        let mut nelbo = Vec::new();
        for &t in steps.iter().filter(|&&t| t >= 2) {
            let schedule = build(shape, t)?;
            let step = |i: usize| control.step(done + i);
            let shifted = Control {
                on_step: Some(&step),
                ..control
            };
            let terms = log_snr_terms(data, &schedule, shifted).map_err(failed)?;
            done += t;
            let sum: f64 = terms.iter().map(|term| term.loss).sum();
            nelbo.push((t, r.reconstruction_loss.mean + r.prior_loss + sum));
        }
        shapes.push(ShapeConvergence { shape, nelbo });
    }
    Ok(Convergence {
        log_snr_first: first,
        log_snr_last: last,
        reconstruction: r.reconstruction_loss.mean,
        prior: r.prior_loss,
        limit: continuous_loss(data, last, first),
        shapes,
    })
}
