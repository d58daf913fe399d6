//! The continuous-time limit of the diffusion ELBO (Kingma et al. 2021, "Variational
//! Diffusion Models"; Luo's section on learning the noise schedule).
//!
//! With the Bayes-optimal denoiser and the fixed_small variance, the denoising term at t is
//! `L_{t-1} = (SNR_{t-1} - SNR_t) / 2 * mmse(SNR_t)` (SPEC §8: `w_x0(t)` times the MMSE),
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

use crate::mixture::GaussianMixture;
use crate::param::Coeffs;
use crate::quadrature::{QuadValue, mmse};

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
