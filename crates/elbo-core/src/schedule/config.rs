//! Reading schedule files and diffusers `scheduler_config.json`s: [`LoadedSchedule`], the
//! settings a config carries beside the betas ([`VarianceType`], [`PredictionType`]), the
//! scheduler classes and the file-name helpers.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    BETA_RANGE, BetaSchedule, BetaSource, DEFAULT_BETA_END, DEFAULT_BETA_START, EdmSigmas,
    MAX_STEPS, NoiseSchedule, ParamRange, ScheduleError, ScheduleSpec, SnrProcess, number_text,
};

/// The range of an EDM config's `sigma_data`. It scales the network, not the process, so
/// ELBO Lab does not use it, but a value outside this range is a broken config.
pub const SIGMA_DATA_RANGE: ParamRange = ParamRange {
    min: 1e-6,
    max: 1e6,
    why: "the data's standard deviation (real configs use 0.5)",
};

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
    let text =
        crate::files::read_text_capped(path, crate::files::MAX_INPUT_FILE_BYTES).map_err(|e| {
            ScheduleError::File {
                path: path.display().to_string(),
                why: e.to_string(),
            }
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

/// Parse the contents of a schedule file (see [`load_schedule_file`]). A leading UTF-8 byte
/// order mark is ignored.
pub fn parse_schedule_text(text: &str) -> Result<LoadedSchedule, ScheduleError> {
    let text = crate::files::strip_bom(text);
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

/// A config number outside its range: the key, the value (`1e-308`, not 300 digits) and
/// the range with why.
fn out_of_range(key: &str, value: f64, range: &ParamRange) -> ScheduleError {
    ScheduleError::Config {
        key: key.into(),
        value: number_text(value),
        why: range.refusal(),
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

/// A config's number at `key` (`default` when absent or null) that must lie in `range`;
/// the error names the key and the value as written.
fn config_f64_in(
    obj: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    default: f64,
    range: &ParamRange,
) -> Result<f64, ScheduleError> {
    let value = config_f64(obj, key, default)?;
    if range.contains(value) {
        Ok(value)
    } else {
        Err(out_of_range(key, value, range))
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
    let steps = match obj
        .get("num_train_timesteps")
        .or_else(|| obj.get("timesteps"))
    {
        None | Some(serde_json::Value::Null) => 1000,
        Some(v) => {
            let key = if obj.contains_key("num_train_timesteps") {
                "num_train_timesteps"
            } else {
                "timesteps"
            };
            let n = v
                .as_i64()
                .ok_or_else(|| bad(key, v, "expected a whole number"))?;
            match usize::try_from(n) {
                Ok(n @ 1..=MAX_STEPS) => n,
                _ => {
                    return Err(bad(
                        key,
                        v,
                        &format!("the number of steps T must be between 1 and {MAX_STEPS}"),
                    ));
                }
            }
        }
    };
    let beta_start = config_f64_in(obj, "beta_start", DEFAULT_BETA_START, &BETA_RANGE)?;
    let beta_end = config_f64_in(obj, "beta_end", DEFAULT_BETA_END, &BETA_RANGE)?;
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
                .enumerate()
                .map(|(i, v)| {
                    let key = format!("trained_betas[{i}]");
                    match v.as_f64() {
                        None => Err(bad(&key, v, "expected a number")),
                        Some(b) if !BETA_RANGE.contains(b) => {
                            Err(out_of_range(&key, b, &BETA_RANGE))
                        }
                        Some(b) => Ok(b),
                    }
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
            let sigma_data = config_f64_in(obj, "sigma_data", 0.5, &SIGMA_DATA_RANGE)?;
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

    /// The defect: a config starting with a byte order mark did not start with `{`, so it
    /// was read as betas one per line ("line 1: ... is not a number").
    #[test]
    fn a_byte_order_mark_is_ignored_in_any_schedule_text() {
        let config = "\u{feff}{\"beta_schedule\": \"linear\", \"num_train_timesteps\": 10}";
        let loaded = parse_schedule_text(config).expect("a config with a BOM");
        assert!(loaded.is_config);
        assert_eq!(loaded.spec.num_steps(), 10);
        let loaded = parse_schedule_text("\u{feff}[0.1, 0.2]").expect("a JSON list with a BOM");
        assert_eq!(loaded.spec, ScheduleSpec::custom(vec![0.1, 0.2]));
        let loaded = parse_schedule_text("\u{feff}0.1\n0.2\n").expect("lines with a BOM");
        assert_eq!(loaded.spec, ScheduleSpec::custom(vec![0.1, 0.2]));
    }

    #[test]
    fn a_byte_order_mark_is_ignored_in_a_schedule_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bom.scheduler_config.json");
        std::fs::write(&path, "\u{feff}{\"_class_name\": \"DDPMScheduler\"}").expect("write");
        let loaded = load_schedule_file(&path).expect("reads");
        assert!(loaded.is_config);
        assert_eq!(loaded.class_name.as_deref(), Some("DDPMScheduler"));
    }

    /// The defect: values far out of range passed the loader and failed in the build with
    /// "log abar (t = 1) = -0e0 ..." (or a NaN NELBO), naming no key.
    #[test]
    fn every_numeric_key_is_checked_naming_the_key_and_the_value() {
        let flow = r#""_class_name": "FlowMatchEulerDiscreteScheduler""#;
        let edm = r#""_class_name": "EDMEulerScheduler""#;
        let wuerstchen = r#""_class_name": "DDPMWuerstchenScheduler""#;
        let cases = [
            (
                flow,
                r#""shift": 1e-308"#,
                "shift = 1e-308: outside [0.001, 1000]",
            ),
            (
                flow,
                r#""shift": 1e308"#,
                "shift = 1e308: outside [0.001, 1000]",
            ),
            (
                edm,
                r#""sigma_max": 1e300"#,
                "sigma_max = 1e300: outside [0.001, 100000]",
            ),
            (
                edm,
                r#""sigma_min": 1e-308"#,
                "sigma_min = 1e-308: outside [1e-5, 100]",
            ),
            (
                edm,
                r#""sigma_min": 0"#,
                "sigma_min = 0: outside [1e-5, 100]",
            ),
            (edm, r#""rho": 1e308"#, "rho = 1e308: outside [1, 100]"),
            (edm, r#""rho": 1e-308"#, "rho = 1e-308: outside [1, 100]"),
            (
                edm,
                r#""sigma_data": 1e-308"#,
                "sigma_data = 1e-308: outside [1e-6, 1000000]",
            ),
            (wuerstchen, r#""s": 1e300"#, "s = 1e300: outside [0, 1]"),
            (
                wuerstchen,
                r#""scaler": 1e300"#,
                "scaler = 1e300: outside [0.1, 2]",
            ),
            (
                wuerstchen,
                r#""scaler": 10"#,
                "scaler = 10: outside [0.1, 2]",
            ),
            (
                r#""beta_schedule": "linear""#,
                r#""beta_start": 5e-324"#,
                "beta_start = 5e-324: outside [1e-12, 1]",
            ),
            (
                r#""beta_schedule": "linear""#,
                r#""beta_end": 1e300"#,
                "beta_end = 1e300: outside [1e-12, 1]",
            ),
            (
                r#""beta_schedule": "linear""#,
                r#""trained_betas": [0.1, 5e-324]"#,
                "trained_betas[1] = 5e-324: outside [1e-12, 1]",
            ),
            (
                r#""beta_schedule": "linear""#,
                r#""num_train_timesteps": 0"#,
                "num_train_timesteps = 0: the number of steps T must be between 1 and 100000",
            ),
            (
                r#""beta_schedule": "linear""#,
                r#""timesteps": 1000000"#,
                "timesteps = 1000000: the number of steps T must be between 1 and 100000",
            ),
        ];
        for (class, key, want) in cases {
            let text = format!("{{{class}, {key}}}");
            let e = parse_schedule_text(&text).expect_err(&text).to_string();
            assert!(
                e.starts_with(&format!("scheduler config: {want}")),
                "{text}: {e}"
            );
        }
    }
}
