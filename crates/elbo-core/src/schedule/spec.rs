//! The spec of a schedule ([`ScheduleSpec`]), the zero-terminal-SNR rescaling
//! ([`rescale_zero_terminal_snr`]) and the built schedule ([`NoiseSchedule`]).

use serde::{Deserialize, Serialize};

use super::{
    BetaSchedule, BetaSource, DEFAULT_BETA_END, DEFAULT_BETA_START, MAX_STEPS, ScheduleError,
    log_abar_from_log_snr,
};

/// A full description of a schedule: what the UI edits, what a config file sets and what
/// `elbo-lab report` flags override. [`ScheduleSpec::build`] turns it into a [`NoiseSchedule`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// Where the betas come from.
    pub source: BetaSource,
    /// Number of timesteps T (ignored for custom betas, whose length is T).
    pub steps: usize,
    /// Apply Lin et al. (2023) Algorithm 1: rescale to zero terminal SNR.
    pub rescale_zero_snr: bool,
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, 1000)
    }
}

impl ScheduleSpec {
    /// A preset with diffusers' default beta range.
    pub fn preset(schedule: BetaSchedule, steps: usize) -> Self {
        ScheduleSpec {
            source: BetaSource::Preset {
                schedule,
                beta_start: DEFAULT_BETA_START,
                beta_end: DEFAULT_BETA_END,
            },
            steps,
            rescale_zero_snr: false,
        }
    }

    /// Custom betas, one per timestep.
    pub fn custom(betas: Vec<f64>) -> Self {
        let steps = betas.len();
        ScheduleSpec {
            source: BetaSource::Custom { betas },
            steps,
            rescale_zero_snr: false,
        }
    }

    /// The number of timesteps this spec produces.
    pub fn num_steps(&self) -> usize {
        match &self.source {
            BetaSource::Preset { .. } | BetaSource::Snr { .. } => self.steps,
            BetaSource::Custom { betas } => betas.len(),
        }
    }

    /// A short human name, for example `squaredcos_cap_v2, T = 1000`.
    pub fn label(&self) -> String {
        let base = match &self.source {
            BetaSource::Preset {
                schedule,
                beta_start,
                beta_end,
            } if schedule.uses_beta_range() => {
                format!("{schedule} {beta_start}..{beta_end}")
            }
            BetaSource::Preset { schedule, .. } => schedule.to_string(),
            BetaSource::Custom { .. } => "custom".to_string(),
            BetaSource::Snr { process } => process.label(),
        };
        let zero = if self.rescale_zero_snr {
            ", zero terminal SNR"
        } else {
            ""
        };
        format!("{base}, T = {}{zero}", self.num_steps())
    }

    /// Validate and compute the schedule.
    pub fn build(&self) -> Result<NoiseSchedule, ScheduleError> {
        let betas = match &self.source {
            BetaSource::Preset {
                schedule,
                beta_start,
                beta_end,
            } => {
                check_steps(self.steps)?;
                if schedule.uses_beta_range() {
                    check_beta("beta_start", *beta_start)?;
                    check_beta("beta_end", *beta_end)?;
                }
                schedule.betas(self.steps, *beta_start, *beta_end)
            }
            BetaSource::Custom { betas } => {
                if betas.is_empty() {
                    return Err(ScheduleError::Empty);
                }
                check_steps(betas.len())?;
                betas.clone()
            }
            BetaSource::Snr { process } => {
                check_steps(self.steps)?;
                process.validate()?;
                let log_abar: Vec<f64> = process
                    .log_snr(self.steps)
                    .into_iter()
                    .map(log_abar_from_log_snr)
                    .collect();
                let schedule = NoiseSchedule::from_log_abar(log_abar)?;
                if !self.rescale_zero_snr {
                    return Ok(schedule);
                }
                schedule.betas
            }
        };
        for (i, &b) in betas.iter().enumerate() {
            check_beta(&format!("betas[{}] (t = {})", i, i + 1), b)?;
        }
        let betas = if self.rescale_zero_snr {
            rescale_zero_terminal_snr(&betas)?
        } else {
            betas
        };
        NoiseSchedule::from_betas(betas)
    }
}

fn check_steps(steps: usize) -> Result<(), ScheduleError> {
    if steps == 0 || steps > MAX_STEPS {
        return Err(ScheduleError::BadSteps(steps as i64));
    }
    Ok(())
}

fn check_beta(field: &str, value: f64) -> Result<(), ScheduleError> {
    if value.is_finite() && value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(ScheduleError::BadBeta {
            field: field.to_string(),
            value,
        })
    }
}

/// Lin et al. (2023), "Common Diffusion Noise Schedules and Sample Steps are Flawed",
/// Algorithm 1: shift and scale `sqrt(abar)` so that `sqrt(abar_T) = 0` while `sqrt(abar_1)`
/// is kept, then recover the betas.
///
/// ```text
/// s_t = sqrt(abar_t);  s_t <- (s_t - s_T) * s_1 / (s_1 - s_T)
/// abar_t = s_t^2;  alpha_1 = abar_1,  alpha_t = abar_t / abar_{t-1};  beta_t = 1 - alpha_t
/// ```
/// After it `beta_T = 1` exactly.
pub fn rescale_zero_terminal_snr(betas: &[f64]) -> Result<Vec<f64>, ScheduleError> {
    if betas.len() < 2 {
        return Err(ScheduleError::RescaleNeedsTwoSteps);
    }
    let mut log_abar = 0.0;
    let sqrt_abar: Vec<f64> = betas
        .iter()
        .map(|b| {
            log_abar += (-b).ln_1p();
            (0.5 * log_abar).exp()
        })
        .collect();
    let first = sqrt_abar[0];
    let last = sqrt_abar[sqrt_abar.len() - 1];
    if first - last <= 0.0 {
        // abar_1 = abar_T: only when beta_1 = 1 (abar_1 = 0 already), nothing to rescale.
        return Err(ScheduleError::Config {
            key: "rescale_betas_zero_snr".into(),
            value: "true".into(),
            why: "abar_1 = abar_T (beta_1 = 1): the schedule has no shape to rescale".into(),
        });
    }
    let scale = first / (first - last);
    // The new log abar_t = 2 ln((s_t - s_T) scale), and beta_t = -expm1(log abar_t -
    // log abar_{t-1}): in logs, because the shifted abar_t underflows f64 long before it is
    // 0 (T = 100000), which would turn every later beta into a spurious 1.
    let log_abar: Vec<f64> = sqrt_abar
        .iter()
        .map(|s| 2.0 * ((s - last) * scale).ln())
        .collect();
    let mut out = Vec::with_capacity(betas.len());
    let mut prev = 0.0;
    for &l in &log_abar {
        // Once abar reaches 0 (a beta of 1 before T) it stays 0: beta = 1, not 1 - 0/0.
        out.push(if prev == f64::NEG_INFINITY {
            1.0
        } else {
            -(l - prev).exp_m1()
        });
        prev = l;
    }
    // The last shifted value is exactly 0 (log -inf), so beta_T = -expm1(-inf) = 1.
    Ok(out)
}

/// A validated schedule with everything derived from it precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseSchedule {
    betas: Vec<f64>,
    /// `log abar_t` for t = 0..=T (`log abar_0 = 0`; `-inf` where abar_t = 0).
    log_abar: Vec<f64>,
}

impl NoiseSchedule {
    /// Build from betas, each of which must lie in (0, 1].
    pub fn from_betas(betas: Vec<f64>) -> Result<Self, ScheduleError> {
        if betas.is_empty() {
            return Err(ScheduleError::Empty);
        }
        check_steps(betas.len())?;
        for (i, &b) in betas.iter().enumerate() {
            check_beta(&format!("betas[{}] (t = {})", i, i + 1), b)?;
        }
        let mut log_abar = Vec::with_capacity(betas.len() + 1);
        let mut acc = 0.0_f64;
        log_abar.push(0.0);
        for &b in &betas {
            acc += (-b).ln_1p();
            log_abar.push(acc);
        }
        Ok(NoiseSchedule { betas, log_abar })
    }

    /// Build from `log abar_t` for t = 1..=T, kept as given (`-inf` where abar_t = 0);
    /// `beta_t = -expm1(log abar_t - log abar_{t-1})`. abar must fall strictly at every
    /// step until it reaches 0 (every beta in (0, 1]).
    pub fn from_log_abar(log_abar: Vec<f64>) -> Result<Self, ScheduleError> {
        if log_abar.is_empty() {
            return Err(ScheduleError::Empty);
        }
        check_steps(log_abar.len())?;
        let mut all = Vec::with_capacity(log_abar.len() + 1);
        all.push(0.0);
        all.extend(log_abar);
        let mut betas = Vec::with_capacity(all.len() - 1);
        for t in 1..all.len() {
            let (prev, cur) = (all[t - 1], all[t]);
            let beta = if prev == f64::NEG_INFINITY {
                1.0
            } else {
                -(cur - prev).exp_m1()
            };
            if cur.is_nan() || cur > 0.0 || !(beta > 0.0 && beta <= 1.0) {
                return Err(ScheduleError::Config {
                    key: format!("log abar (t = {t})"),
                    value: format!("{cur:e}"),
                    why: format!(
                        "the SNR must fall at every step (log abar_{} = {prev:e}), so beta_t = {beta:e} is not in (0, 1]",
                        t - 1
                    ),
                });
            }
            if prev == f64::NEG_INFINITY {
                all[t] = f64::NEG_INFINITY;
            }
            betas.push(beta);
        }
        Ok(NoiseSchedule {
            betas,
            log_abar: all,
        })
    }

    /// Number of timesteps T.
    pub fn steps(&self) -> usize {
        self.betas.len()
    }

    /// All betas, `beta_1..beta_T`.
    pub fn betas(&self) -> &[f64] {
        &self.betas
    }

    /// `beta_t`, t in 1..=T.
    pub fn beta(&self, t: usize) -> f64 {
        self.betas[t - 1]
    }

    /// `alpha_t = 1 - beta_t`, t in 1..=T.
    pub fn alpha(&self, t: usize) -> f64 {
        1.0 - self.betas[t - 1]
    }

    /// `log abar_t`, t in 0..=T (may be `-inf` when abar_t = 0).
    pub fn log_abar(&self, t: usize) -> f64 {
        self.log_abar[t]
    }

    /// `abar_t`, t in 0..=T.
    pub fn abar(&self, t: usize) -> f64 {
        self.log_abar[t].exp()
    }

    /// `1 - abar_t = -expm1(log abar_t)`, t in 0..=T.
    pub fn one_minus_abar(&self, t: usize) -> f64 {
        -self.log_abar[t].exp_m1()
    }

    /// `SNR(t) = abar_t / (1 - abar_t)`; `+inf` at t = 0, 0 where abar_t = 0.
    pub fn snr(&self, t: usize) -> f64 {
        if t == 0 {
            return f64::INFINITY;
        }
        self.abar(t) / self.one_minus_abar(t)
    }

    /// `lambda_t = log abar_t - log1p(-abar_t)`; `None` where abar_t = 0 (the log-SNR is
    /// `-inf` there) and at t = 0.
    pub fn log_snr(&self, t: usize) -> Option<f64> {
        if t == 0 || self.log_abar[t] == f64::NEG_INFINITY {
            return None;
        }
        Some(self.log_abar[t] - self.one_minus_abar(t).ln())
    }

    /// Posterior variance `sigma~2_t = (1 - abar_{t-1}) / (1 - abar_t) * beta_t`, 0 at t = 1
    /// (Luo eq. 85).
    pub fn posterior_variance(&self, t: usize) -> f64 {
        if t <= 1 {
            return 0.0;
        }
        self.one_minus_abar(t - 1) / self.one_minus_abar(t) * self.beta(t)
    }

    /// `abar_T`.
    pub fn terminal_abar(&self) -> f64 {
        self.abar(self.steps())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_minus_abar_keeps_precision_for_tiny_betas() {
        let s = NoiseSchedule::from_betas(vec![1e-12; 3]).expect("valid");
        let rel = (s.one_minus_abar(1) - 1e-12).abs() / 1e-12;
        assert!(rel < 1e-10, "relative error {rel}");
    }
}
