//! Discrete-time noise schedules (diffusers' `DDPMScheduler` formulas): betas, log abar,
//! SNR, presets, and the import of a diffusers `scheduler_config.json`.
//!
//! Conventions: timesteps run `t = 1..=T`; `abar_0 = 1`. Everything is computed in `f64`
//! from `log abar_t = sum_{s<=t} log1p(-beta_s)` (never a running product), and
//! `1 - abar_t = -expm1(log abar_t)`, so tiny betas keep their precision and a terminal
//! `beta_T = 1` (zero terminal SNR) gives `abar_T = 0` exactly.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::mixture::GaussianMixture;

/// The largest number of timesteps a schedule may have.
pub const MAX_STEPS: usize = 100_000;

/// diffusers' default `beta_start` for the presets that use one.
pub const DEFAULT_BETA_START: f64 = 1e-4;
/// diffusers' default `beta_end` for the presets that use one.
pub const DEFAULT_BETA_END: f64 = 0.02;
/// The cap diffusers puts on cosine betas (`max_beta` in `betas_for_alpha_bar`).
pub const COSINE_MAX_BETA: f64 = 0.999;

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
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
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

/// A diffusion process given by its signal-to-noise ratio per training step rather than by
/// betas (see [`BetaSource::Snr`]). The formulas follow diffusers' constructors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum SnrProcess {
    /// diffusers' `FlowMatchEulerDiscreteScheduler` (rectified flow):
    /// `x_t = (1 - s_t) x0 + s_t eps`, `SNR_t = ((1 - s_t) / s_t)^2`, training sigmas
    /// `s_t = t/T` shifted to `shift s / (1 + (shift - 1) s)` unless `dynamic_shifting`
    /// (then diffusers leaves the training sigmas unshifted and shifts at inference only).
    FlowMatch {
        /// `shift` of the config.
        shift: f64,
        /// `use_dynamic_shifting` of the config: the training sigmas are unshifted.
        dynamic_shifting: bool,
    },
    /// diffusers' `EDMEulerScheduler` / `EDMDPMSolverMultistepScheduler`:
    /// `x_t = x0 + sigma_t eps`, `SNR_t = 1 / sigma_t^2`, sigma_1 = sigma_min ..
    /// sigma_T = sigma_max (`sigma_data` scales the network, not the process).
    Edm {
        /// `sigma_min`.
        sigma_min: f64,
        /// `sigma_max`.
        sigma_max: f64,
        /// `rho` (Karras spacing only).
        rho: f64,
        /// `sigma_schedule`.
        sigmas: EdmSigmas,
    },
    /// diffusers' `DDPMWuerstchenScheduler`: the continuous cosine
    /// `abar(u) = cos^2((u + s)/(1 + s) pi/2) / cos^2(s/(1 + s) pi/2)` at `u = t/T`
    /// (after `scaler`: `u <- 1 - (1 - u)^scaler` above 1, `u^scaler` below 1), without
    /// diffusers' clamp of abar to [1e-4, 0.9999].
    WuerstchenCosine {
        /// `s`.
        s: f64,
        /// `scaler`.
        scaler: f64,
    },
    /// A log-SNR shape between two fixed endpoints (Luo's "learning the noise schedule":
    /// the continuous-time ELBO depends on a schedule only through them):
    /// `lambda_t = lambda_1 + (lambda_T - lambda_1) g((t - 1)/(T - 1))` with `g` the shape,
    /// so every T and every shape has the same SNR_1 and SNR_T (T = 1: lambda_1 alone).
    Shape {
        /// `g`.
        shape: SnrShape,
        /// `lambda_1`, the largest log-SNR.
        log_snr_first: f64,
        /// `lambda_T`, the smallest (finite: a shape ends at a positive SNR).
        log_snr_last: f64,
    },
}

/// How a log-SNR shape [`SnrProcess::Shape`] moves from lambda_1 to lambda_T, as
/// `g(v)` on v in [0, 1] with g(0) = 0 and g(1) = 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnrShape {
    /// g(v) = v: equal steps in log-SNR.
    Linear,
    /// g(v) = (1 - cos(pi v)) / 2: small steps at both ends, large in the middle.
    Cosine,
    /// g(v) = v^2: small steps near t = 1 (where the data's detail is), large near T.
    Quadratic,
    /// g(v) = 1 - (1 - v)^2: large steps near t = 1, small near T.
    Concave,
}

impl SnrShape {
    /// Every shape.
    pub const ALL: [SnrShape; 4] = [
        SnrShape::Linear,
        SnrShape::Cosine,
        SnrShape::Quadratic,
        SnrShape::Concave,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            SnrShape::Linear => "linear in log-SNR",
            SnrShape::Cosine => "cosine in log-SNR",
            SnrShape::Quadratic => "quadratic (fine near t = 1)",
            SnrShape::Concave => "concave (fine near T)",
        }
    }

    /// g(v).
    pub fn g(self, v: f64) -> f64 {
        match self {
            SnrShape::Linear => v,
            SnrShape::Cosine => 0.5 * (1.0 - (std::f64::consts::PI * v).cos()),
            SnrShape::Quadratic => v * v,
            SnrShape::Concave => 1.0 - (1.0 - v) * (1.0 - v),
        }
    }
}

impl SnrProcess {
    /// A label with the parameters, for example `flow matching, shift 3`.
    pub fn label(&self) -> String {
        match self {
            SnrProcess::FlowMatch {
                dynamic_shifting: true,
                ..
            } => "flow matching, unshifted (dynamic shifting)".to_string(),
            SnrProcess::FlowMatch { shift, .. } => format!("flow matching, shift {shift}"),
            SnrProcess::Edm {
                sigma_min,
                sigma_max,
                rho,
                sigmas: EdmSigmas::Karras,
            } => format!("EDM Karras sigma {sigma_min}..{sigma_max}, rho {rho}"),
            SnrProcess::Edm {
                sigma_min,
                sigma_max,
                sigmas: EdmSigmas::Exponential,
                ..
            } => format!("EDM exponential sigma {sigma_min}..{sigma_max}"),
            SnrProcess::WuerstchenCosine { s, scaler } => {
                format!("Wuerstchen cosine s = {s}, scaler {scaler}")
            }
            SnrProcess::Shape {
                shape,
                log_snr_first,
                log_snr_last,
            } => format!(
                "{}, log-SNR {log_snr_first:.3}..{log_snr_last:.3}",
                shape.name()
            ),
        }
    }

    /// The formula of the SNR per step, as text.
    pub fn formula(&self) -> &'static str {
        match self {
            SnrProcess::FlowMatch {
                dynamic_shifting: true,
                ..
            } => "x_t = (1 - s) x0 + s eps, s = t/T, SNR_t = ((1 - s)/s)^2",
            SnrProcess::FlowMatch { .. } => {
                "x_t = (1 - s) x0 + s eps, s = shift (t/T) / (1 + (shift - 1) t/T), SNR_t = ((1 - s)/s)^2"
            }
            SnrProcess::Edm {
                sigmas: EdmSigmas::Karras,
                ..
            } => {
                "x_t = x0 + sigma_t eps, sigma_t = (sigma_max^(1/rho) + r (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho, r = (T - t)/(T - 1), SNR_t = 1/sigma_t^2"
            }
            SnrProcess::Edm { .. } => {
                "x_t = x0 + sigma_t eps, ln sigma_t = linspace(ln sigma_min, ln sigma_max, T), SNR_t = 1/sigma_t^2"
            }
            SnrProcess::WuerstchenCosine { .. } => {
                "abar_t = cos^2((u + s)/(1 + s) pi/2) / cos^2(s/(1 + s) pi/2), u = t/T (after scaler), no clamp"
            }
            SnrProcess::Shape { .. } => {
                "lambda_t = lambda_1 + (lambda_T - lambda_1) g((t - 1)/(T - 1)), abar_t = sigmoid(lambda_t)"
            }
        }
    }

    /// Check the parameters; each error names the config key.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        let bad = |key: &str, value: f64, why: &str| {
            Err(ScheduleError::Config {
                key: key.into(),
                value: value.to_string(),
                why: why.into(),
            })
        };
        match *self {
            SnrProcess::FlowMatch { shift, .. } => {
                if !(shift.is_finite() && shift > 0.0) {
                    return bad("shift", shift, "must be a positive number");
                }
            }
            SnrProcess::Edm {
                sigma_min,
                sigma_max,
                rho,
                sigmas,
            } => {
                if !(sigma_min.is_finite() && sigma_min > 0.0) {
                    return bad("sigma_min", sigma_min, "must be a positive number");
                }
                if !(sigma_max.is_finite() && sigma_max > sigma_min) {
                    return bad("sigma_max", sigma_max, "must be a number above sigma_min");
                }
                if sigmas == EdmSigmas::Karras && !(rho.is_finite() && rho > 0.0) {
                    return bad("rho", rho, "must be a positive number");
                }
            }
            SnrProcess::WuerstchenCosine { s, scaler } => {
                if !(s.is_finite() && s >= 0.0) {
                    return bad("s", s, "must be a number >= 0");
                }
                if !(scaler.is_finite() && scaler > 0.0) {
                    return bad("scaler", scaler, "must be a positive number");
                }
            }
            SnrProcess::Shape {
                log_snr_first,
                log_snr_last,
                ..
            } => {
                if !log_snr_last.is_finite() {
                    return bad("log_snr_last", log_snr_last, "must be a finite number");
                }
                if !(log_snr_first.is_finite() && log_snr_first > log_snr_last) {
                    return bad(
                        "log_snr_first",
                        log_snr_first,
                        "must be a finite number above log_snr_last",
                    );
                }
            }
        }
        Ok(())
    }

    /// The log-SNR `lambda_t` for t = 1..=T (`-inf` where the SNR is 0).
    pub fn log_snr(&self, steps: usize) -> Vec<f64> {
        let n = steps as f64;
        match *self {
            SnrProcess::FlowMatch {
                shift,
                dynamic_shifting,
            } => {
                // With s' = shift s / (1 + (shift - 1) s): (1 - s')/s' = (1 - s)/(shift s).
                let shift = if dynamic_shifting { 1.0 } else { shift };
                (1..=steps)
                    .map(|t| {
                        if t == steps {
                            return f64::NEG_INFINITY;
                        }
                        let s = t as f64 / n;
                        2.0 * ((-s).ln_1p() - shift.ln() - s.ln())
                    })
                    .collect()
            }
            SnrProcess::Edm {
                sigma_min,
                sigma_max,
                rho,
                sigmas,
            } => {
                // diffusers' ramp = linspace(0, 1, T) runs from sigma_max down to sigma_min;
                // t counts the other way (t = 1 the least noise).
                let ramp = linspace(0.0, 1.0, steps);
                let ln_sigmas = match sigmas {
                    EdmSigmas::Exponential => linspace(sigma_min.ln(), sigma_max.ln(), steps),
                    EdmSigmas::Karras => Vec::new(),
                };
                (1..=steps)
                    .map(|t| {
                        let ln_sigma = match sigmas {
                            EdmSigmas::Karras => {
                                let (lo, hi) =
                                    (sigma_min.powf(1.0 / rho), sigma_max.powf(1.0 / rho));
                                rho * (hi + ramp[steps - t] * (lo - hi)).ln()
                            }
                            EdmSigmas::Exponential => ln_sigmas[t - 1],
                        };
                        -2.0 * ln_sigma
                    })
                    .collect()
            }
            SnrProcess::WuerstchenCosine { s, scaler } => {
                let half_pi = std::f64::consts::FRAC_PI_2;
                let x0 = s / (1.0 + s) * half_pi;
                (1..=steps)
                    .map(|t| {
                        let mut u = t as f64 / n;
                        if scaler > 1.0 {
                            u = 1.0 - (1.0 - u).powf(scaler);
                        } else if scaler < 1.0 {
                            u = u.powf(scaler);
                        }
                        if t == steps {
                            // u = 1 exactly: cos(pi/2) = 0, abar_T = 0.
                            return f64::NEG_INFINITY;
                        }
                        // cos((u + s)/(1 + s) pi/2) = sin((1 - u)/(1 + s) pi/2), exact 0 at
                        // u = 1; 1 - abar = (cos^2 x0 - cos^2 y)/cos^2 x0
                        // = sin(y + x0) sin(y - x0)/cos^2 x0, with y - x0 = u/(1 + s) pi/2.
                        let y = (u + s) / (1.0 + s) * half_pi;
                        let c = ((1.0 - u) / (1.0 + s) * half_pi).sin();
                        let one_minus = (y + x0).sin() * (u / (1.0 + s) * half_pi).sin();
                        2.0 * c.ln() - one_minus.ln()
                    })
                    .collect()
            }
            SnrProcess::Shape {
                shape,
                log_snr_first,
                log_snr_last,
            } => {
                let span = (steps.max(2) - 1) as f64;
                (1..=steps)
                    .map(|t| {
                        let v = (t - 1) as f64 / span;
                        // The ends exactly, whatever g's rounding.
                        match t {
                            1 => log_snr_first,
                            _ if t == steps => log_snr_last,
                            _ => log_snr_first + (log_snr_last - log_snr_first) * shape.g(v),
                        }
                    })
                    .collect()
            }
        }
    }
}

/// `log abar = log(SNR / (1 + SNR))` from the log-SNR, stable at both ends (`-inf` at
/// `lambda = -inf`).
pub fn log_abar_from_log_snr(lambda: f64) -> f64 {
    if lambda == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if lambda >= 0.0 {
        -(-lambda).exp().ln_1p()
    } else {
        lambda - lambda.exp().ln_1p()
    }
}

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

/// The noise variance choice of the reverse model (diffusers `variance_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VarianceType {
    /// `sigma_t^2 = sigma~2_t`, the posterior variance (DDPM's lower bound choice).
    #[default]
    FixedSmall,
    /// `sigma_t^2 = beta_t` for t >= 2.
    FixedLarge,
    /// The ELBO-optimal isotropic variance of the model's own mean (Bao et al. 2022,
    /// "Analytic-DPM"): `sigma*^2_t = sigma~2_t + E||mu~_t - mu_theta||^2 / d` for t >= 2,
    /// the variance that minimises each `L_{t-1}` given the mean. It depends on the data
    /// and the model, so it is resolved per model (see [`crate::elbo::mse_x0_table`] and
    /// [`crate::param::analytic_variance`]); a diffusers config never names it.
    Analytic,
}

impl VarianceType {
    /// The diffusers name.
    pub fn name(self) -> &'static str {
        match self {
            VarianceType::FixedSmall => "fixed_small",
            VarianceType::FixedLarge => "fixed_large",
            VarianceType::Analytic => "analytic",
        }
    }

    /// Every choice, in UI order.
    pub const ALL: [VarianceType; 3] = [
        VarianceType::FixedSmall,
        VarianceType::FixedLarge,
        VarianceType::Analytic,
    ];

    /// Parse a diffusers `variance_type`; `*_log` variants map to their plain form, and the
    /// learned ones are a clear error.
    pub fn parse(name: &str) -> Result<Self, ScheduleError> {
        match name {
            "fixed_small" | "fixed_small_log" => Ok(VarianceType::FixedSmall),
            "fixed_large" | "fixed_large_log" => Ok(VarianceType::FixedLarge),
            "learned" | "learned_range" => Err(ScheduleError::Config {
                key: "variance_type".into(),
                value: name.into(),
                why: "learned variances are not supported here (use fixed_small or fixed_large)"
                    .into(),
            }),
            other => Err(ScheduleError::Config {
                key: "variance_type".into(),
                value: other.into(),
                why: "expected fixed_small, fixed_large, fixed_small_log or fixed_large_log".into(),
            }),
        }
    }

    /// The reverse-step variance `sigma_t^2` at t >= 2 of the fixed choices (diffusers'
    /// `variance_type`). [`VarianceType::Analytic`] needs the model's error: here it gives
    /// its model-free lower bound `sigma~2_t` (its value for a perfect model, E = 0), which
    /// is what a training objective that cannot know the model's error uses; every ELBO and
    /// sampler computation resolves it with [`crate::param::analytic_variance`].
    pub fn sigma2(self, schedule: &NoiseSchedule, t: usize) -> f64 {
        match self {
            VarianceType::FixedSmall | VarianceType::Analytic => schedule.posterior_variance(t),
            VarianceType::FixedLarge => schedule.beta(t),
        }
    }
}

impl fmt::Display for VarianceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a schedule file held: the spec, and the settings a diffusers config carries beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSchedule {
    /// The schedule.
    pub spec: ScheduleSpec,
    /// `variance_type` from a config, if it had one.
    pub variance: Option<VarianceType>,
    /// `prediction_type` from a config, if it had one (informational).
    pub prediction_type: Option<String>,
    /// `_class_name` from a config, if it had one (informational).
    pub class_name: Option<String>,
    /// `steps_offset` from a config, if it had one (the samplers' leading spacing).
    pub steps_offset: Option<usize>,
    /// `timestep_spacing` from a config, if it had one, as written (`linspace`, `leading`
    /// or `trailing` in diffusers; the sampler checks it).
    pub timestep_spacing: Option<String>,
    /// True for a diffusers config (a JSON object), false for a list of betas.
    pub is_config: bool,
    /// A short name for tables and legends: the file name without `.json` and
    /// `.scheduler_config` (set by [`load_schedule_file`]; `None` from text).
    pub name: Option<String>,
    /// What ELBO Lab made of the config where it is not a plain beta schedule (flow
    /// matching, EDM, Wuerstchen, a beta class without betas keys): one sentence each, for
    /// the output ("say so").
    pub notes: Vec<String>,
}

impl LoadedSchedule {
    /// The validated `prediction_type`, if the config had one.
    pub fn prediction(&self) -> Option<PredictionType> {
        self.prediction_type
            .as_deref()
            .and_then(|p| PredictionType::parse(p).ok())
    }
}

/// What the network of a config predicts (diffusers `prediction_type`). A config does not
/// record the training loss weighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionType {
    /// The noise eps.
    Epsilon,
    /// `v = sqrt(abar) eps - sqrt(1 - abar) x0`.
    VPrediction,
    /// The clean sample x0.
    Sample,
}

impl PredictionType {
    /// The diffusers name.
    pub fn name(self) -> &'static str {
        match self {
            PredictionType::Epsilon => "epsilon",
            PredictionType::VPrediction => "v_prediction",
            PredictionType::Sample => "sample",
        }
    }

    /// Parse a diffusers `prediction_type`.
    pub fn parse(name: &str) -> Result<Self, ScheduleError> {
        match name {
            "epsilon" => Ok(PredictionType::Epsilon),
            "v_prediction" => Ok(PredictionType::VPrediction),
            "sample" => Ok(PredictionType::Sample),
            other => Err(ScheduleError::Config {
                key: "prediction_type".into(),
                value: format!("\"{other}\""),
                why: "expected epsilon, v_prediction or sample".into(),
            }),
        }
    }
}

/// The `_class_name`s read by their SNR per step (not by betas).
pub const SNR_CLASSES: [&str; 4] = [
    "FlowMatchEulerDiscreteScheduler",
    "EDMEulerScheduler",
    "EDMDPMSolverMultistepScheduler",
    "DDPMWuerstchenScheduler",
];

/// diffusers classes built on betas: with no betas keys they use diffusers' default,
/// linear 1e-4..0.02.
pub const BETA_CLASSES: [&str; 19] = [
    "DDPMScheduler",
    "DDIMScheduler",
    "PNDMScheduler",
    "EulerDiscreteScheduler",
    "EulerAncestralDiscreteScheduler",
    "LMSDiscreteScheduler",
    "HeunDiscreteScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSinglestepScheduler",
    "DPMSolverSDEScheduler",
    "KDPM2DiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "UniPCMultistepScheduler",
    "DEISMultistepScheduler",
    "DDIMInverseScheduler",
    "DDPMParallelScheduler",
    "DDIMParallelScheduler",
    "LCMScheduler",
    "TCDScheduler",
];

/// The name a schedule file goes by in tables: its file name without `.json` and
/// `.scheduler_config` (`flux-flow-match.scheduler_config.json` -> `flux-flow-match`).
pub fn schedule_file_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    short_schedule_name(&name)
}

/// A schedule file's name without `.json` and `.scheduler_config` (or `_config`), the rest
/// (a folder before it, say) kept.
pub fn short_schedule_name(name: &str) -> String {
    let name = name.strip_suffix(".json").unwrap_or(name);
    let name = name.strip_suffix(".scheduler_config").unwrap_or(name);
    let name = name.strip_suffix("_config").unwrap_or(name);
    name.to_string()
}

/// Read a schedule file: a diffusers `scheduler_config.json` (a JSON object), a JSON array
/// of betas, or betas one per line (blank lines and `#` comments skipped).
pub fn load_schedule_file(path: &Path) -> Result<LoadedSchedule, ScheduleError> {
    let text = crate::io_limits::read_text_capped(path, crate::io_limits::MAX_INPUT_FILE_BYTES)
        .map_err(|e| ScheduleError::File {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
    let mut loaded = parse_schedule_text(&text).map_err(|e| match e {
        ScheduleError::File { why, .. } => ScheduleError::File {
            path: path.display().to_string(),
            why,
        },
        other => other,
    })?;
    loaded.name = Some(schedule_file_name(path));
    Ok(loaded)
}

/// Parse the contents of a schedule file (see [`load_schedule_file`]).
pub fn parse_schedule_text(text: &str) -> Result<LoadedSchedule, ScheduleError> {
    let trimmed = text.trim_start();
    let file_err = |why: String| ScheduleError::File {
        path: "schedule".into(),
        why,
    };
    if trimmed.starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| file_err(format!("invalid JSON: {e}")))?;
        return parse_diffusers_config(&value);
    }
    let betas: Vec<f64> = if trimmed.starts_with('[') {
        serde_json::from_str(text)
            .map_err(|e| file_err(format!("expected a JSON array of numbers: {e}")))?
    } else {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let v: f64 = line
                .parse()
                .map_err(|_| file_err(format!("line {}: '{line}' is not a number", i + 1)))?;
            out.push(v);
        }
        out
    };
    if betas.is_empty() {
        return Err(file_err("no betas in file".into()));
    }
    Ok(LoadedSchedule {
        spec: ScheduleSpec::custom(betas),
        variance: None,
        prediction_type: None,
        class_name: None,
        steps_offset: None,
        timestep_spacing: None,
        is_config: false,
        name: None,
        notes: Vec::new(),
    })
}

/// A config key whose value is not what it should be.
fn config_error(key: &str, v: &serde_json::Value, why: &str) -> ScheduleError {
    ScheduleError::Config {
        key: key.into(),
        value: v.to_string(),
        why: why.into(),
    }
}

/// A config's number at `key`, `default` when absent or null.
fn config_f64(
    obj: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    default: f64,
) -> Result<f64, ScheduleError> {
    match obj.get(key) {
        None | Some(serde_json::Value::Null) => Ok(default),
        Some(v) => v
            .as_f64()
            .ok_or_else(|| config_error(key, v, "expected a number")),
    }
}

/// Interpret a diffusers `scheduler_config.json` (as `DDPMScheduler` reads it). Unknown keys
/// are ignored.
pub fn parse_diffusers_config(value: &serde_json::Value) -> Result<LoadedSchedule, ScheduleError> {
    let obj = value.as_object().ok_or_else(|| ScheduleError::File {
        path: "schedule".into(),
        why: "a scheduler config must be a JSON object".into(),
    })?;
    let bad = config_error;
    let get_f64 = |key: &str, default: f64| config_f64(obj, key, default);
    let steps = match obj
        .get("num_train_timesteps")
        .or_else(|| obj.get("timesteps"))
    {
        None | Some(serde_json::Value::Null) => 1000,
        Some(v) => {
            let n = v
                .as_i64()
                .ok_or_else(|| bad("num_train_timesteps", v, "expected a whole number"))?;
            if n < 1 || n as usize > MAX_STEPS {
                return Err(ScheduleError::BadSteps(n));
            }
            n as usize
        }
    };
    let beta_start = get_f64("beta_start", DEFAULT_BETA_START)?;
    let beta_end = get_f64("beta_end", DEFAULT_BETA_END)?;
    let rescale_zero_snr = match obj.get("rescale_betas_zero_snr") {
        None | Some(serde_json::Value::Null) => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad("rescale_betas_zero_snr", v, "expected true or false"))?,
    };
    let class_name = obj.get("_class_name").and_then(|v| v.as_str());
    let has_betas_keys = ["beta_schedule", "beta_start", "beta_end", "trained_betas"]
        .iter()
        .any(|k| obj.get(*k).is_some_and(|v| !v.is_null()));
    let mut notes = Vec::new();
    if !has_betas_keys {
        match class_name {
            Some(c) if SNR_CLASSES.contains(&c) => {
                return parse_snr_config(obj, c, steps);
            }
            Some(c) if BETA_CLASSES.contains(&c) || c == "GaussianDDPMScheduler" => {
                notes.push(format!(
                    "{c} without beta_schedule, beta_start, beta_end or trained_betas: diffusers' defaults, linear betas from {DEFAULT_BETA_START} to {DEFAULT_BETA_END}."
                ));
            }
            other => {
                let what = match other {
                    Some(c) => format!("unknown scheduler class \"{c}\""),
                    None => "no _class_name".to_string(),
                };
                return Err(ScheduleError::Config {
                    key: "_class_name".into(),
                    value: other.map_or("(none)".to_string(), |c| format!("\"{c}\"")),
                    why: format!(
                        "{what} and no betas keys (beta_schedule, trained_betas, beta_start, beta_end): cannot tell which process this is. Supported: any config with beta_schedule or trained_betas (linear, scaled_linear, squaredcos_cap_v2, sigmoid), the beta scheduler classes of diffusers (DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, ...), and {}",
                        SNR_CLASSES.join(", ")
                    ),
                });
            }
        }
    }
    let source = match obj.get("trained_betas") {
        Some(serde_json::Value::Array(items)) if !items.is_empty() => {
            let betas = items
                .iter()
                .map(|v| {
                    v.as_f64()
                        .ok_or_else(|| bad("trained_betas", v, "expected numbers"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            BetaSource::Custom { betas }
        }
        // Anything but null or absent is meant as betas: never ignore it silently.
        Some(v @ serde_json::Value::Array(_)) => {
            return Err(bad("trained_betas", v, "the list of betas is empty"));
        }
        Some(v) if !v.is_null() => {
            return Err(bad(
                "trained_betas",
                v,
                "expected a JSON array of betas (or null)",
            ));
        }
        _ => {
            let name = match obj.get("beta_schedule") {
                None | Some(serde_json::Value::Null) => "linear".to_string(),
                Some(v) => v
                    .as_str()
                    .ok_or_else(|| bad("beta_schedule", v, "expected a string"))?
                    .to_string(),
            };
            let schedule = BetaSchedule::parse(&name).map_err(|_| ScheduleError::Config {
                key: "beta_schedule".into(),
                value: format!("\"{name}\""),
                why:
                    "unknown schedule: expected linear, scaled_linear, squaredcos_cap_v2 or sigmoid"
                        .into(),
            })?;
            BetaSource::Preset {
                schedule,
                beta_start,
                beta_end,
            }
        }
    };
    let variance = match obj.get("variance_type") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => {
            Some(VarianceType::parse(v.as_str().ok_or_else(|| {
                bad("variance_type", v, "expected a string")
            })?)?)
        }
    };
    let (steps_offset, timestep_spacing) = sampling_keys(obj)?;
    let spec = ScheduleSpec {
        steps: match &source {
            BetaSource::Custom { betas } => betas.len(),
            BetaSource::Preset { .. } | BetaSource::Snr { .. } => steps,
        },
        source,
        rescale_zero_snr,
    };
    Ok(LoadedSchedule {
        spec,
        variance,
        prediction_type: prediction_type_of(obj)?,
        class_name: class_name.map(str::to_string),
        steps_offset,
        timestep_spacing,
        is_config: true,
        name: None,
        notes,
    })
}

/// `prediction_type`, validated (epsilon, v_prediction or sample).
fn prediction_type_of(
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<String>, ScheduleError> {
    match obj.get("prediction_type") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(p)) => {
            PredictionType::parse(p)?;
            Ok(Some(p.clone()))
        }
        Some(v) => Err(ScheduleError::Config {
            key: "prediction_type".into(),
            value: v.to_string(),
            why: "expected a string: epsilon, v_prediction or sample".into(),
        }),
    }
}

/// A config's `steps_offset` and `timestep_spacing` (the samplers' settings), each `None`
/// when absent or null.
fn sampling_keys(
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<(Option<usize>, Option<String>), ScheduleError> {
    let bad = config_error;
    let steps_offset = match obj.get("steps_offset") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| bad("steps_offset", v, "expected a whole number >= 0"))?,
        ),
    };
    let timestep_spacing = match obj.get("timestep_spacing") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| bad("timestep_spacing", v, "expected a string"))?
                .to_string(),
        ),
    };
    Ok((steps_offset, timestep_spacing))
}

/// A config of one of [`SNR_CLASSES`]: flow matching, EDM or Wuerstchen, read by its SNR
/// per training step, with notes that say how.
fn parse_snr_config(
    obj: &serde_json::Map<String, serde_json::Value>,
    class: &str,
    steps: usize,
) -> Result<LoadedSchedule, ScheduleError> {
    let bad = config_error;
    let get_f64 = |key: &str, default: f64| config_f64(obj, key, default);
    let get_bool = |key: &str| -> Result<bool, ScheduleError> {
        match obj.get(key) {
            None | Some(serde_json::Value::Null) => Ok(false),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| bad(key, v, "expected true or false")),
        }
    };
    let mut notes = Vec::new();
    let process = match class {
        "FlowMatchEulerDiscreteScheduler" => {
            let shift = get_f64("shift", 1.0)?;
            let dynamic_shifting = get_bool("use_dynamic_shifting")?;
            if get_bool("invert_sigmas")? {
                return Err(bad(
                    "invert_sigmas",
                    &serde_json::Value::Bool(true),
                    "inverted flow-matching sigmas are not supported",
                ));
            }
            notes.push(
                "Flow matching (FlowMatchEulerDiscreteScheduler): x_t = (1 - s) x0 + s eps, read by its SNR_t = ((1 - s_t)/s_t)^2 as the diffusion with the same SNR (x_t rescaled by 1/sqrt((1 - s)^2 + s^2)); s_T = 1, so the terminal SNR is exactly 0. The network predicts the velocity eps - x0 (the config records no prediction_type).".to_string(),
            );
            if dynamic_shifting {
                notes.push(format!(
                    "use_dynamic_shifting: diffusers leaves the training sigmas unshifted (s_t = t/T) and shifts only at inference, by e^mu with mu from base_shift..max_shift by image size; the schedule here is the unshifted training one (shift = {shift} is not applied)."
                ));
            } else {
                notes.push(format!(
                    "Training sigmas s_t = shift (t/T) / (1 + (shift - 1) t/T) with shift = {shift}, as diffusers' constructor does."
                ));
            }
            SnrProcess::FlowMatch {
                shift,
                dynamic_shifting,
            }
        }
        "EDMEulerScheduler" | "EDMDPMSolverMultistepScheduler" => {
            let sigma_min = get_f64("sigma_min", 0.002)?;
            let sigma_max = get_f64("sigma_max", 80.0)?;
            let rho = get_f64("rho", 7.0)?;
            let sigma_data = get_f64("sigma_data", 0.5)?;
            let sigmas = match obj.get("sigma_schedule") {
                None | Some(serde_json::Value::Null) => EdmSigmas::Karras,
                Some(v) => match v.as_str() {
                    Some("karras") => EdmSigmas::Karras,
                    Some("exponential") => EdmSigmas::Exponential,
                    _ => return Err(bad("sigma_schedule", v, "expected karras or exponential")),
                },
            };
            let spacing = match sigmas {
                EdmSigmas::Karras => format!("Karras sigmas (rho = {rho})"),
                EdmSigmas::Exponential => "log-linear (exponential) sigmas".to_string(),
            };
            notes.push(format!(
                "EDM ({class}): x_t = x0 + sigma_t eps, read by its SNR_t = 1/sigma_t^2 as the diffusion with the same SNR (x_t rescaled by 1/sqrt(1 + sigma_t^2)), with {spacing} from sigma_1 = sigma_min = {sigma_min} to sigma_T = sigma_max = {sigma_max} over the T training steps. sigma_data = {sigma_data} scales the network's input and output, not the process, so it is not used."
            ));
            if class == "EDMEulerScheduler" {
                notes.push(
                    "EDMEulerScheduler builds T + 1 training sigmas (ramp arange(T + 1)/T); here T sigmas over the same range, as EDMDPMSolverMultistepScheduler does.".to_string(),
                );
            }
            SnrProcess::Edm {
                sigma_min,
                sigma_max,
                rho,
                sigmas,
            }
        }
        _ => {
            let s = get_f64("s", 0.008)?;
            let scaler = get_f64("scaler", 1.0)?;
            notes.push(format!(
                "Wuerstchen (DDPMWuerstchenScheduler): its continuous cosine abar(u) = cos^2((u + s)/(1 + s) pi/2) / cos^2(s/(1 + s) pi/2) with s = {s}, scaler = {scaler}, discretised at u = t/T, t = 1..T (T = {steps} unless --steps says otherwise). diffusers clamps abar to [1e-4, 0.9999], which holds abar constant (betas 0) over the first and last steps: not applied here, so abar_T = 0 exactly."
            ));
            SnrProcess::WuerstchenCosine { s, scaler }
        }
    };
    process.validate()?;
    let (steps_offset, timestep_spacing) = sampling_keys(obj)?;
    Ok(LoadedSchedule {
        spec: ScheduleSpec {
            source: BetaSource::Snr { process },
            steps,
            rescale_zero_snr: false,
        },
        variance: None,
        prediction_type: prediction_type_of(obj)?,
        class_name: Some(class.to_string()),
        steps_offset,
        timestep_spacing,
        is_config: true,
        name: None,
        notes,
    })
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
    fn one_minus_abar_keeps_precision_for_tiny_betas() {
        let s = NoiseSchedule::from_betas(vec![1e-12; 3]).expect("valid");
        let rel = (s.one_minus_abar(1) - 1e-12).abs() / 1e-12;
        assert!(rel < 1e-10, "relative error {rel}");
    }
}
