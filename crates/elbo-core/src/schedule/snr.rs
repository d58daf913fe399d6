//! Processes read by their log-SNR per training step rather than by betas: [`SnrProcess`]
//! (flow matching, EDM, Wuerstchen, log-SNR shapes), [`SnrShape`] and
//! [`log_abar_from_log_snr`].

use serde::{Deserialize, Serialize};

use super::beta::linspace;
use super::{EdmSigmas, ParamRange, ScheduleError, number_text};

/// The range of a flow-matching config's `shift` (real configs: 1 to 12). Far outside
/// it the first step's SNR overflows (a tiny shift) or every step is pure noise.
pub const SHIFT_RANGE: ParamRange = ParamRange {
    min: 1e-3,
    max: 1e3,
    why: "the shifted sigmas must stay apart in f64 at every step (real configs use 1 to 12)",
};

/// The range of an EDM config's `sigma_min` (real configs: 0.002 to 0.03).
pub const SIGMA_MIN_RANGE: ParamRange = ParamRange {
    min: 1e-5,
    max: 1e2,
    why: "the first step's noise level (real configs use 0.002 to 0.03)",
};

/// The range of an EDM config's `sigma_max` (real configs: 14.6 to 700).
pub const SIGMA_MAX_RANGE: ParamRange = ParamRange {
    min: 1e-3,
    max: 1e5,
    why: "the last step's noise level (real configs use 14.6 to 700)",
};

/// How much larger than `sigma_min` an EDM config's `sigma_max` must be at least, so that
/// the sigmas of T = 100000 steps still differ in f64.
pub const MIN_SIGMA_RATIO: f64 = 1.01;

/// The range of an EDM config's `rho` (Karras spacing; real configs: 7).
pub const RHO_RANGE: ParamRange = ParamRange {
    min: 1.0,
    max: 100.0,
    why: "Karras et al. use 7; a smaller rho cancels sigma_min away in f64, a larger one merges the sigmas",
};

/// The range of a Wuerstchen config's `s` (real configs: 0.008).
pub const WUERSTCHEN_S_RANGE: ParamRange = ParamRange {
    min: 0.0,
    max: 1.0,
    why: "the cosine's offset (real configs use 0.008); a large s flattens the cosine until abar stops falling",
};

/// The range of a Wuerstchen config's `scaler` (real configs: 1).
pub const SCALER_RANGE: ParamRange = ParamRange {
    min: 0.1,
    max: 2.0,
    why: "the time warp of the cosine (real configs use 1); far from 1 the last steps merge in f64",
};

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

    /// Check the parameters against their documented ranges ([`SHIFT_RANGE`],
    /// [`SIGMA_MIN_RANGE`], [`SIGMA_MAX_RANGE`], [`MIN_SIGMA_RATIO`], [`RHO_RANGE`],
    /// [`WUERSTCHEN_S_RANGE`], [`SCALER_RANGE`]): inside them the schedule builds for every
    /// T up to [`MAX_STEPS`](super::MAX_STEPS). Each error names the config key and its
    /// value.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        let check = |key: &str, value: f64, range: &ParamRange| {
            if range.contains(value) {
                Ok(())
            } else {
                Err(ScheduleError::Config {
                    key: key.into(),
                    value: number_text(value),
                    why: range.refusal(),
                })
            }
        };
        match *self {
            SnrProcess::FlowMatch { shift, .. } => check("shift", shift, &SHIFT_RANGE),
            SnrProcess::Edm {
                sigma_min,
                sigma_max,
                rho,
                sigmas,
            } => {
                check("sigma_min", sigma_min, &SIGMA_MIN_RANGE)?;
                check("sigma_max", sigma_max, &SIGMA_MAX_RANGE)?;
                if sigma_max < MIN_SIGMA_RATIO * sigma_min {
                    return Err(ScheduleError::Config {
                        key: "sigma_max".into(),
                        value: number_text(sigma_max),
                        why: format!(
                            "must be at least {MIN_SIGMA_RATIO} sigma_min = {}: the noise must grow from step to step",
                            number_text(MIN_SIGMA_RATIO * sigma_min)
                        ),
                    });
                }
                if sigmas == EdmSigmas::Karras {
                    check("rho", rho, &RHO_RANGE)?;
                }
                Ok(())
            }
            SnrProcess::WuerstchenCosine { s, scaler } => {
                check("s", s, &WUERSTCHEN_S_RANGE)?;
                check("scaler", scaler, &SCALER_RANGE)
            }
            SnrProcess::Shape {
                log_snr_first,
                log_snr_last,
                ..
            } => {
                let bad = |key: &str, value: f64, why: &str| {
                    Err(ScheduleError::Config {
                        key: key.into(),
                        value: number_text(value),
                        why: why.into(),
                    })
                };
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
                Ok(())
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{BetaSource, MAX_STEPS, ScheduleSpec};

    /// Every process at the corners of its documented ranges.
    fn corners() -> Vec<SnrProcess> {
        let ends = |r: &ParamRange, typical: f64| [r.min, typical, r.max];
        let mut out = Vec::new();
        for shift in ends(&SHIFT_RANGE, 3.0) {
            out.push(SnrProcess::FlowMatch {
                shift,
                dynamic_shifting: false,
            });
        }
        for sigma_min in ends(&SIGMA_MIN_RANGE, 0.002) {
            let lowest = (MIN_SIGMA_RATIO * sigma_min).max(SIGMA_MAX_RANGE.min);
            for sigma_max in [lowest, 80f64.max(lowest), SIGMA_MAX_RANGE.max] {
                for rho in ends(&RHO_RANGE, 7.0) {
                    for sigmas in [EdmSigmas::Karras, EdmSigmas::Exponential] {
                        out.push(SnrProcess::Edm {
                            sigma_min,
                            sigma_max,
                            rho,
                            sigmas,
                        });
                    }
                }
            }
        }
        for s in ends(&WUERSTCHEN_S_RANGE, 0.008) {
            for scaler in ends(&SCALER_RANGE, 1.0) {
                out.push(SnrProcess::WuerstchenCosine { s, scaler });
            }
        }
        out
    }

    /// The ranges are honest: at every corner the schedule builds for every T, with a
    /// finite SNR at t = 1 (the defect: `shift` 1e-308, `sigma_max` 1e300, `rho` 1e308
    /// passed validation and failed in the build, naming no key).
    #[test]
    fn every_value_in_range_builds_for_every_t() {
        for process in corners() {
            process.validate().expect("in range");
            for steps in [1, 2, 3, 10, 1000, MAX_STEPS] {
                let spec = ScheduleSpec {
                    source: BetaSource::Snr { process },
                    steps,
                    rescale_zero_snr: false,
                };
                let schedule = spec
                    .build()
                    .unwrap_or_else(|e| panic!("{process:?} at T = {steps}: {e}"));
                if steps > 1 {
                    assert!(
                        schedule.log_snr(1).is_some_and(f64::is_finite),
                        "{process:?} at T = {steps}"
                    );
                }
            }
        }
    }

    #[test]
    fn values_out_of_range_name_the_key_and_the_value() {
        let edm = |sigma_min: f64, sigma_max: f64, rho: f64| SnrProcess::Edm {
            sigma_min,
            sigma_max,
            rho,
            sigmas: EdmSigmas::Karras,
        };
        let cases = [
            (
                SnrProcess::FlowMatch {
                    shift: 1e-308,
                    dynamic_shifting: false,
                },
                "scheduler config: shift = 1e-308: outside [0.001, 1000]",
            ),
            (
                edm(0.002, 1e300, 7.0),
                "scheduler config: sigma_max = 1e300: outside [0.001, 100000]",
            ),
            (
                edm(0.002, 80.0, 1e308),
                "scheduler config: rho = 1e308: outside [1, 100]",
            ),
            (
                edm(1e-100, 80.0, 7.0),
                "scheduler config: sigma_min = 1e-100: outside [1e-5, 100]",
            ),
            (
                edm(1.0, 1.001, 7.0),
                "scheduler config: sigma_max = 1.001: must be at least 1.01 sigma_min",
            ),
            (
                SnrProcess::WuerstchenCosine {
                    s: 0.008,
                    scaler: 10.0,
                },
                "scheduler config: scaler = 10: outside [0.1, 2]",
            ),
            (
                SnrProcess::WuerstchenCosine {
                    s: f64::NAN,
                    scaler: 1.0,
                },
                "scheduler config: s = NaN: outside [0, 1]",
            ),
        ];
        for (process, want) in cases {
            let e = process.validate().expect_err("out of range").to_string();
            assert!(e.starts_with(want), "{e}");
        }
    }
}
