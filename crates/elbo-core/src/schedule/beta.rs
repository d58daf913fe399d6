//! The schedule error type, the step limits and diffusers' beta formulas: [`BetaSchedule`]
//! (the presets), [`BetaSource`] (where a spec's betas come from) and [`EdmSigmas`].

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::SnrProcess;

/// The largest number of timesteps a schedule may have.
pub const MAX_STEPS: usize = 100_000;

/// diffusers' default `beta_start` for the presets that use one.
pub const DEFAULT_BETA_START: f64 = 1e-4;
/// diffusers' default `beta_end` for the presets that use one.
pub const DEFAULT_BETA_END: f64 = 0.02;
/// The cap diffusers puts on cosine betas (`max_beta` in `betas_for_alpha_bar`).
pub const COSINE_MAX_BETA: f64 = 0.999;

/// The smallest `beta_start` or `beta_end` a config or a flag may give. `1 - beta` holds
/// beta to 16 digits at 0.01 but only to 4 at 1e-12, and below 1.1e-16 it rounds to 1 (the
/// ELBO then comes out infinite or NaN, and a subnormal beta such as 5e-324 is NaN at
/// once); real schedules start at 1e-4 or so.
pub const MIN_BETA: f64 = 1e-12;

/// The range of a number a schedule is built from (a config key or a flag), with why it
/// is bounded: a value outside it gives a schedule whose ELBO f64 cannot compute, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamRange {
    /// The smallest value allowed.
    pub min: f64,
    /// The largest value allowed.
    pub max: f64,
    /// Why the range ends where it does (after "outside [min, max]: ").
    pub why: &'static str,
}

impl ParamRange {
    /// Whether `value` is a finite number in `[min, max]` (never NaN).
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite() && self.min <= value && value <= self.max
    }

    /// `outside [min, max]: why`, the reason a value was refused.
    pub fn refusal(&self) -> String {
        format!(
            "outside [{}, {}]: {}",
            number_text(self.min),
            number_text(self.max),
            self.why
        )
    }
}

/// The range of `beta_start` and `beta_end` (see [`MIN_BETA`]).
pub const BETA_RANGE: ParamRange = ParamRange {
    min: MIN_BETA,
    max: 1.0,
    why: "a beta is a variance fraction in (0, 1], and below 1e-12 f64 keeps too few of its digits in 1 - beta for the ELBO",
};

/// A number as a person would write it: the shortest digits that read back to it, in
/// exponent form when it is very small or very large (`1e-308`, not 300 zeros).
pub fn number_text(value: f64) -> String {
    if value != 0.0 && value.is_finite() && !(1e-4..1e16).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// What can go wrong when building a schedule. Each message names the field and the value.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ScheduleError {
    /// `T` outside `1..=MAX_STEPS`.
    #[error("steps T = {0} is out of range: T must be between 1 and {MAX_STEPS}")]
    BadSteps(i64),
    /// A beta outside `(0, 1]` or not finite.
    #[error("{field} = {value} is not in (0, 1]")]
    BadBeta {
        /// Which beta (for example `beta_start` or `betas[12]`).
        field: String,
        /// The offending value.
        value: f64,
    },
    /// An unknown preset name.
    #[error(
        "unknown schedule '{0}': expected linear, scaled_linear, squaredcos_cap_v2 (cosine), sigmoid or a file"
    )]
    UnknownPreset(String),
    /// A custom schedule with no betas.
    #[error("the betas list is empty")]
    Empty,
    /// Zero-SNR rescaling of a one-step schedule, which has no shape to keep.
    #[error("rescale_betas_zero_snr needs T >= 2 (got T = 1): it keeps abar_1 and zeroes abar_T")]
    RescaleNeedsTwoSteps,
    /// A diffusers config key with a value we cannot use.
    #[error("scheduler config: {key} = {value}: {why}")]
    Config {
        /// The JSON key.
        key: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A file that could not be read or parsed.
    #[error("{path}: {why}")]
    File {
        /// The file's path.
        path: String,
        /// What went wrong.
        why: String,
    },
}

/// The preset beta formulas of diffusers' `DDPMScheduler`, in f64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BetaSchedule {
    /// `linspace(beta_start, beta_end, T)` (DDPM).
    #[default]
    Linear,
    /// `linspace(sqrt(beta_start), sqrt(beta_end), T)^2` (Stable Diffusion).
    ScaledLinear,
    /// Nichol & Dhariwal's cosine schedule with betas capped at 0.999.
    SquaredcosCapV2,
    /// `sigmoid(linspace(-6, 6, T)) * (beta_end - beta_start) + beta_start`.
    Sigmoid,
}

impl BetaSchedule {
    /// Every preset, in the order the UI lists them.
    pub const ALL: [BetaSchedule; 4] = [
        BetaSchedule::Linear,
        BetaSchedule::ScaledLinear,
        BetaSchedule::SquaredcosCapV2,
        BetaSchedule::Sigmoid,
    ];

    /// The diffusers name (`beta_schedule` value).
    pub fn name(self) -> &'static str {
        match self {
            BetaSchedule::Linear => "linear",
            BetaSchedule::ScaledLinear => "scaled_linear",
            BetaSchedule::SquaredcosCapV2 => "squaredcos_cap_v2",
            BetaSchedule::Sigmoid => "sigmoid",
        }
    }

    /// The formula, as shown beside the name in the UI and in `elbo-lab presets`.
    pub fn formula(self) -> &'static str {
        match self {
            BetaSchedule::Linear => "beta_t = linspace(beta_start, beta_end, T)",
            BetaSchedule::ScaledLinear => {
                "beta_t = linspace(sqrt(beta_start), sqrt(beta_end), T)^2"
            }
            BetaSchedule::SquaredcosCapV2 => {
                "beta_i = min(1 - f((i+1)/T) / f(i/T), 0.999), f(u) = cos((u + 0.008)/1.008 * pi/2)^2"
            }
            BetaSchedule::Sigmoid => {
                "beta_t = sigmoid(linspace(-6, 6, T)) * (beta_end - beta_start) + beta_start"
            }
        }
    }

    /// Whether the formula uses `beta_start` and `beta_end`.
    pub fn uses_beta_range(self) -> bool {
        !matches!(self, BetaSchedule::SquaredcosCapV2)
    }

    /// Parse a diffusers name; `cosine` is accepted for `squaredcos_cap_v2`.
    pub fn parse(name: &str) -> Result<Self, ScheduleError> {
        match name.trim() {
            "linear" => Ok(BetaSchedule::Linear),
            "scaled_linear" => Ok(BetaSchedule::ScaledLinear),
            "squaredcos_cap_v2" | "cosine" => Ok(BetaSchedule::SquaredcosCapV2),
            "sigmoid" => Ok(BetaSchedule::Sigmoid),
            other => Err(ScheduleError::UnknownPreset(other.to_string())),
        }
    }

    /// The betas of this preset for `steps` timesteps.
    ///
    /// ```text
    /// linear:            beta_t = beta_start + (beta_end - beta_start) (t-1)/(T-1)
    /// scaled_linear:     beta_t = (sqrt(beta_start) + (sqrt(beta_end) - sqrt(beta_start)) (t-1)/(T-1))^2
    /// squaredcos_cap_v2: beta_i = min(1 - f((i+1)/T)/f(i/T), 0.999), i = 0..T-1,
    ///                    f(u) = cos((u + 0.008)/1.008 * pi/2)^2
    /// sigmoid:           beta_t = sigmoid(-6 + 12 (t-1)/(T-1)) (beta_end - beta_start) + beta_start
    /// ```
    /// (diffusers `DDPMScheduler`; `linspace` with `T = 1` is `[start]`, as in torch.)
    pub fn betas(self, steps: usize, beta_start: f64, beta_end: f64) -> Vec<f64> {
        match self {
            BetaSchedule::Linear => linspace(beta_start, beta_end, steps),
            BetaSchedule::ScaledLinear => linspace(beta_start.sqrt(), beta_end.sqrt(), steps)
                .into_iter()
                .map(|b| b * b)
                .collect(),
            BetaSchedule::SquaredcosCapV2 => {
                let f = |u: f64| {
                    let c = ((u + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos();
                    c * c
                };
                let n = steps as f64;
                (0..steps)
                    .map(|i| {
                        let (u1, u2) = (i as f64 / n, (i + 1) as f64 / n);
                        (1.0 - f(u2) / f(u1)).min(COSINE_MAX_BETA)
                    })
                    .collect()
            }
            BetaSchedule::Sigmoid => linspace(-6.0, 6.0, steps)
                .into_iter()
                .map(|x| 1.0 / (1.0 + (-x).exp()) * (beta_end - beta_start) + beta_start)
                .collect(),
        }
    }
}

impl fmt::Display for BetaSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `n` evenly spaced points from `a` to `b` inclusive (`[a]` for `n = 1`, as torch does).
pub(super) fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f64;
    (0..n)
        .map(|i| if i + 1 == n { b } else { a + step * i as f64 })
        .collect()
}

/// Where the betas come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BetaSource {
    /// A preset formula with its parameters.
    Preset {
        /// The formula.
        schedule: BetaSchedule,
        /// `beta_start` (ignored by the cosine preset).
        beta_start: f64,
        /// `beta_end` (ignored by the cosine preset).
        beta_end: f64,
    },
    /// Betas given one by one (a file, or diffusers' `trained_betas`).
    Custom {
        /// beta_1 .. beta_T.
        betas: Vec<f64>,
    },
    /// A process that is not defined by betas (flow matching, EDM, Wuerstchen), read by its
    /// signal-to-noise ratio at each training step `t = 1..=T` (T = the spec's `steps`):
    /// `abar_t = SNR_t / (1 + SNR_t)`, `abar_t = 0` exactly where `SNR_t = 0`, and
    /// `beta_t = 1 - abar_t / abar_{t-1}`. A process with the same SNR at each step has the
    /// same ELBO up to a rescaling of x_t.
    Snr {
        /// Which process and its parameters.
        process: SnrProcess,
    },
}

/// How EDM's training sigmas are spaced (diffusers' `sigma_schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EdmSigmas {
    /// Karras et al. (2022): `(sigma_max^(1/rho) + r (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho`.
    #[default]
    Karras,
    /// Log-linear: `exp(linspace(ln sigma_min, ln sigma_max, T))`.
    Exponential,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_ends_exact() {
        let v = linspace(1e-4, 0.02, 1000);
        assert_eq!(v[0], 1e-4);
        assert_eq!(v[999], 0.02);
        assert_eq!(linspace(3.0, 5.0, 1), vec![3.0]);
    }

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(number_text(1e-308), "1e-308");
        assert_eq!(number_text(5e-324), "5e-324");
        assert_eq!(number_text(1e300), "1e300");
        assert_eq!(number_text(0.002), "0.002");
        assert_eq!(number_text(80.0), "80");
        assert_eq!(number_text(0.0), "0");
        assert_eq!(number_text(f64::NEG_INFINITY), "-inf");
        assert!(!BETA_RANGE.contains(f64::NAN));
        assert!(!BETA_RANGE.contains(5e-324));
        assert!(BETA_RANGE.contains(1e-12) && BETA_RANGE.contains(1.0));
        assert!(BETA_RANGE.refusal().starts_with("outside [1e-12, 1]: "));
    }
}
