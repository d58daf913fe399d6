//! Discrete-time noise schedules (diffusers' `DDPMScheduler` formulas): betas, log abar,
//! SNR, presets, and the import of a diffusers `scheduler_config.json`.
//!
//! Conventions: timesteps run `t = 1..=T`; `abar_0 = 1`. Everything is computed in `f64`
//! from `log abar_t = sum_{s<=t} log1p(-beta_s)` (never a running product), and
//! `1 - abar_t = -expm1(log abar_t)`, so tiny betas keep their precision and a terminal
//! `beta_T = 1` (zero terminal SNR) gives `abar_T = 0` exactly.

mod beta;
mod config;
mod findings;
mod snr;
mod spec;

pub use beta::{
    BETA_RANGE, BetaSchedule, BetaSource, COSINE_MAX_BETA, DEFAULT_BETA_END, DEFAULT_BETA_START,
    EdmSigmas, MAX_STEPS, MIN_BETA, ParamRange, ScheduleError, number_text,
};
pub use config::{
    BETA_CLASSES, LoadedSchedule, PredictionType, SNR_CLASSES, VarianceType, load_schedule_file,
    parse_diffusers_config, parse_schedule_text, schedule_file_name, short_schedule_name,
};
pub use findings::{
    FIRST_STEP_SCALE_WARN, Finding, LOG_SNR_STEP_WARN, SCALED_LINEAR_ENDPOINTS, Severity,
    TERMINAL_ABAR_WARN, TERMINAL_SIGNAL_WARN, sanity_findings, spec_findings,
};
pub use snr::{
    MIN_SIGMA_RATIO, RHO_RANGE, SCALER_RANGE, SHIFT_RANGE, SIGMA_MAX_RANGE, SIGMA_MIN_RANGE,
    SnrProcess, SnrShape, WUERSTCHEN_S_RANGE, log_abar_from_log_snr,
};
pub use spec::{NoiseSchedule, ScheduleSpec, rescale_zero_terminal_snr};
