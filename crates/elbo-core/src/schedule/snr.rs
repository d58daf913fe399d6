//! Processes read by their log-SNR per training step rather than by betas: [`SnrProcess`]
//! (flow matching, EDM, Wuerstchen, log-SNR shapes), [`SnrShape`] and
//! [`log_abar_from_log_snr`].

use serde::{Deserialize, Serialize};

use super::beta::linspace;
use super::{EdmSigmas, ScheduleError};

/// A diffusion process given by its signal-to-noise ratio per training step rather than by
/// betas (see [`BetaSource::Snr`](super::BetaSource::Snr)). The formulas follow diffusers'
/// constructors.
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
