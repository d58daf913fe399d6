//! Sanity findings about a schedule, alone and against the data: [`Severity`], [`Finding`],
//! [`sanity_findings`], [`spec_findings`] and their thresholds.

use serde::{Deserialize, Serialize};

use super::{BetaSchedule, BetaSource, NoiseSchedule, ScheduleSpec};
use crate::mixture::GaussianMixture;

/// How bad a sanity finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Costs ELBO or breaks a parameterisation somewhere.
    Warning,
}

/// One sanity finding about a schedule, as data (the app colours it, the CLI prints it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A stable machine-readable code, for example `terminal_snr_not_zero`.
    pub code: String,
    /// One sentence for a person.
    pub message: String,
}

/// abar_T above this is "far from 0": the prior term is no longer negligible.
pub const TERMINAL_ABAR_WARN: f64 = 1e-3;
/// sqrt(beta_1) above this fraction of the finest data scale blurs the finest component.
pub const FIRST_STEP_SCALE_WARN: f64 = 0.5;
/// A log-SNR drop larger than this in one step, inside the informative range, is coarse.
pub const LOG_SNR_STEP_WARN: f64 = 1.0;

/// The sanity checks on a schedule (the report's `findings`), and, when data are given, against the data.
pub fn sanity_findings(schedule: &NoiseSchedule, data: Option<&GaussianMixture>) -> Vec<Finding> {
    let mut out = Vec::new();
    let t_max = schedule.steps();
    let abar_t = schedule.terminal_abar();
    if abar_t == 0.0 {
        out.push(Finding {
            severity: Severity::Info,
            code: "zero_terminal_snr".into(),
            message: format!(
                "Terminal SNR is exactly 0 (abar_T = 0 at t = {t_max}): x_T carries no signal, the prior term is exactly 0, and the eps- and score-parameterisations are undefined there (x0 from eps divides by sqrt(abar_T) = 0)."
            ),
        });
    } else if abar_t > TERMINAL_ABAR_WARN {
        out.push(Finding {
            severity: Severity::Warning,
            code: "terminal_snr_not_zero".into(),
            message: format!(
                "abar_T = {abar_t:.3e} is far from 0 (criterion: abar_T > {TERMINAL_ABAR_WARN:e}): x_T still remembers the data (sqrt(abar_T) = {:.3}), so the prior term is not negligible and sampling from N(0, I) starts off-distribution (the Stable Diffusion case; a beta schedule can be rescaled to zero terminal SNR, an EDM one needs a larger sigma_max).",
                abar_t.sqrt()
            ),
        });
    }
    // abar is non-increasing for betas in (0, 1]; check the computed values anyway, since
    // rounding is the only way it could fail and that would be worth knowing.
    if let Some(t) = (1..=t_max).find(|&t| schedule.log_abar(t) > schedule.log_abar(t - 1)) {
        out.push(Finding {
            severity: Severity::Warning,
            code: "abar_not_monotone".into(),
            message: format!("abar increases at t = {t}: the schedule adds signal back."),
        });
    }
    if let Some(t) = (2..=t_max).find(|&t| schedule.beta(t) < schedule.beta(t - 1) * (1.0 - 1e-9)) {
        out.push(Finding {
            severity: Severity::Info,
            code: "betas_not_monotone".into(),
            message: format!(
                "betas decrease at t = {t} ({:.3e} after {:.3e}): unusual for a hand-made schedule, check the file.",
                schedule.beta(t),
                schedule.beta(t - 1)
            ),
        });
    }
    if let Some(f) = scaled_linear_endpoints_finding(schedule) {
        out.push(f);
    }
    if let Some(data) = data {
        out.extend(data_scale_findings(schedule, data));
        let finest = data.finest_scale();
        let first = schedule.one_minus_abar(1).sqrt();
        if first > FIRST_STEP_SCALE_WARN * finest {
            out.push(Finding {
                severity: Severity::Warning,
                code: "first_step_too_large".into(),
                message: format!(
                    "beta_1 = {:.3e} is large for these data: the first step's noise (std {first:.3}) is {:.1}x the finest component's scale ({finest:.3}), so the reconstruction term is large and fine detail is lost at once.",
                    schedule.beta(1),
                    first / finest
                ),
            });
        }
    }
    // Coarse steps: a big drop in log-SNR between neighbours where SNR is informative
    // (abar between 0.01 and 0.99) makes the denoising terms large: T is too small.
    let mut worst: Option<(usize, f64)> = None;
    for t in 2..=t_max {
        let (a_prev, a) = (schedule.abar(t - 1), schedule.abar(t));
        if !(0.01..=0.99).contains(&a_prev) && !(0.01..=0.99).contains(&a) {
            continue;
        }
        if let (Some(l0), Some(l1)) = (schedule.log_snr(t - 1), schedule.log_snr(t)) {
            let drop = l0 - l1;
            if worst.is_none_or(|(_, w)| drop > w) {
                worst = Some((t, drop));
            }
        }
    }
    if let Some((t, drop)) = worst.filter(|&(_, d)| d > LOG_SNR_STEP_WARN) {
        out.push(Finding {
            severity: Severity::Warning,
            code: "steps_too_coarse".into(),
            message: format!(
                "T = {t_max} is coarse: log-SNR falls by {drop:.2} in one step (t = {t}), so each denoising term must bridge a large gap; a larger T lowers the ELBO gap."
            ),
        });
    } else if t_max == 1 {
        out.push(Finding {
            severity: Severity::Warning,
            code: "single_step".into(),
            message: "T = 1: the whole process is one step, so the ELBO is just the reconstruction and prior terms.".into(),
        });
    }
    out
}

/// [`sanity_findings`] for a schedule built from `spec`: the same, except that a process
/// read by its SNR (flow matching, EDM, Wuerstchen) is not told its betas decrease (its
/// betas are derived from the SNR, not written by hand, and they often do).
pub fn spec_findings(
    spec: &ScheduleSpec,
    schedule: &NoiseSchedule,
    data: Option<&GaussianMixture>,
) -> Vec<Finding> {
    let derived = matches!(spec.source, BetaSource::Snr { .. });
    sanity_findings(schedule, data)
        .into_iter()
        .filter(|f| !(derived && f.code == "betas_not_monotone"))
        .collect()
}

/// `SNR_T * Var(x0)` above this: the signal is not negligible at t = T.
pub const TERMINAL_SIGNAL_WARN: f64 = 0.01;

/// Beta ranges of well-known `scaled_linear` models: `(beta_start, beta_end, model)`.
pub const SCALED_LINEAR_ENDPOINTS: [(f64, f64, &str); 1] = [(0.00085, 0.012, "Stable Diffusion")];

/// The log-SNR range against the data's scales (a sanity check, issue 13):
/// `SNR_1 s_min^2 < 1` (the noise sd at t = 1, in units of the data, `1/sqrt(SNR_1)`,
/// exceeds the finest component sd `s_min`) and `SNR_T Var(x0) > 0.01` (the signal left
/// at t = T, against unit noise, is not negligible; `Var(x0)` = the data's largest
/// variance along any direction).
fn data_scale_findings(schedule: &NoiseSchedule, data: &GaussianMixture) -> Vec<Finding> {
    let mut out = Vec::new();
    let t_max = schedule.steps();
    let finest = data.finest_scale();
    let snr_1 = schedule.snr(1);
    if snr_1 * finest * finest < 1.0 {
        out.push(Finding {
            severity: Severity::Warning,
            code: "snr_1_below_finest_scale".into(),
            message: format!(
                "The log-SNR range starts too low for these data (criterion: SNR_1 * s_min^2 < 1): at t = 1 the noise sd in data units, 1/sqrt(SNR_1) = {:.3}, already exceeds the finest component sd s_min = {finest:.3} (SNR_1 * s_min^2 = {:.3}), so no step sees the finest structure with little noise.",
                1.0 / snr_1.sqrt(),
                snr_1 * finest * finest
            ),
        });
    }
    let var = data.covariance().eigenvalues(data.dim()).1;
    let snr_t = schedule.snr(t_max);
    if snr_t * var > TERMINAL_SIGNAL_WARN {
        out.push(Finding {
            severity: Severity::Warning,
            code: "terminal_signal_not_negligible".into(),
            message: format!(
                "The log-SNR range ends too high for these data (criterion: SNR_T * Var(x0) > {TERMINAL_SIGNAL_WARN}): at t = T = {t_max} the signal left, SNR_T * Var(x0) = {:.3e} (SNR_T = {snr_t:.3e}, largest data variance {var:.3}), is not negligible against the unit noise, so x_T is not N(0, I) and the prior term grows.",
                snr_t * var
            ),
        });
    }
    out
}

/// Linear betas whose endpoints are those of a well-known `scaled_linear` model (the
/// zero123 config): what it implies, without guessing which was meant.
fn scaled_linear_endpoints_finding(schedule: &NoiseSchedule) -> Option<Finding> {
    let betas = schedule.betas();
    let t_max = betas.len();
    if t_max < 3 {
        return None;
    }
    let (first, last) = (betas[0], betas[t_max - 1]);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    let &(start, end, model) = SCALED_LINEAR_ENDPOINTS
        .iter()
        .find(|(a, b, _)| close(first, *a) && close(last, *b))?;
    let linear = BetaSchedule::Linear.betas(t_max, start, end);
    if !betas
        .iter()
        .zip(&linear)
        .all(|(b, l)| (b - l).abs() <= 1e-9 * end)
    {
        return None;
    }
    let scaled =
        NoiseSchedule::from_betas(BetaSchedule::ScaledLinear.betas(t_max, start, end)).ok()?;
    let (mut worst_t, mut worst) = (1, 0.0_f64);
    for t in 1..=t_max {
        if let (Some(a), Some(b)) = (schedule.log_snr(t), scaled.log_snr(t))
            && (a - b).abs() > worst.abs()
        {
            (worst_t, worst) = (t, a - b);
        }
    }
    Some(Finding {
        severity: Severity::Info,
        code: "linear_with_scaled_linear_endpoints".into(),
        message: format!(
            "Linear betas from {start} to {end}: these are the endpoints of {model}'s scaled_linear schedule (criterion: betas linear in t, beta_1 and beta_T equal to a known scaled_linear pair). With linear spacing abar_T = {:.3e} against {:.3e} for scaled_linear, and the log-SNR differs by up to {worst:+.2} (at t = {worst_t}); a network trained under one of the two and run under the other sees the wrong noise level at most t. The file does not say which was meant.",
            schedule.terminal_abar(),
            scaled.terminal_abar()
        ),
    })
}
