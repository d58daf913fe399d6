//! The persisted settings: one serde struct, every field defaulted, so an old or broken
//! saved state opens with defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::denoiser::ModelKind;
use crate::presets::DataSpec;
use crate::report::DEFAULT_BANDWIDTH;
use crate::schedule::{
    BetaSchedule, BetaSource, DEFAULT_BETA_END, DEFAULT_BETA_START, ScheduleSpec, VarianceType,
};

/// Largest T the app offers.
pub const MAX_APP_STEPS: usize = 4000;
/// Default Monte Carlo sample count of the app.
pub const DEFAULT_SAMPLES: usize = 2048;
/// Sample counts the app offers.
pub const SAMPLE_RANGE: std::ops::RangeInclusive<usize> = 64..=65_536;

/// Where the data come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSettings {
    /// The preset and its parameters (used when `file` is None).
    pub spec: DataSpec,
    /// A mixture JSON or a CSV of points.
    pub file: Option<PathBuf>,
    /// Kernel bandwidth of CSV points.
    pub bandwidth: f64,
}

impl Default for DataSettings {
    fn default() -> Self {
        DataSettings {
            spec: DataSpec::default(),
            file: None,
            bandwidth: DEFAULT_BANDWIDTH,
        }
    }
}

impl DataSettings {
    /// A short label for legends and exports.
    pub fn label(&self) -> String {
        match &self.file {
            Some(path) => path.display().to_string(),
            None => self.spec.preset.name().to_owned(),
        }
    }
}

/// A list of betas loaded from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomBetas {
    /// Where they came from.
    pub label: String,
    /// beta_1..beta_T.
    pub betas: Vec<f64>,
}

/// The schedule as the controls edit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleSettings {
    /// The preset (used when `custom` is None).
    pub preset: BetaSchedule,
    /// T.
    pub steps: usize,
    /// beta_1 of presets with a range.
    pub beta_start: f64,
    /// beta_T of presets with a range.
    pub beta_end: f64,
    /// Rescale to zero terminal SNR (Lin et al. 2023).
    pub rescale_zero_snr: bool,
    /// Betas from a file, overriding the preset.
    pub custom: Option<CustomBetas>,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            preset: BetaSchedule::default(),
            steps: 1000,
            beta_start: DEFAULT_BETA_START,
            beta_end: DEFAULT_BETA_END,
            rescale_zero_snr: false,
            custom: None,
        }
    }
}

impl ScheduleSettings {
    /// The core's spec.
    pub fn spec(&self) -> ScheduleSpec {
        let source = match &self.custom {
            Some(c) => BetaSource::Custom {
                betas: c.betas.clone(),
            },
            None => BetaSource::Preset {
                schedule: self.preset,
                beta_start: self.beta_start,
                beta_end: self.beta_end,
            },
        };
        ScheduleSpec {
            source,
            steps: self.custom.as_ref().map_or(self.steps, |c| c.betas.len()),
            rescale_zero_snr: self.rescale_zero_snr,
        }
    }

    /// The settings of a spec loaded from a file.
    pub fn from_spec(spec: &ScheduleSpec, label: &str) -> Self {
        let mut out = ScheduleSettings {
            rescale_zero_snr: spec.rescale_zero_snr,
            steps: spec.num_steps(),
            ..ScheduleSettings::default()
        };
        match &spec.source {
            BetaSource::Preset {
                schedule,
                beta_start,
                beta_end,
            } => {
                out.preset = *schedule;
                out.beta_start = *beta_start;
                out.beta_end = *beta_end;
            }
            BetaSource::Custom { betas } => {
                out.custom = Some(CustomBetas {
                    label: label.to_owned(),
                    betas: betas.clone(),
                });
            }
        }
        out
    }
}

/// The central views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum View {
    /// The forward process.
    #[default]
    Forward,
    /// The ELBO terms.
    Elbo,
    /// The parameterisations side by side.
    Params,
    /// The schedule.
    Schedule,
    /// The reverse (generative) process.
    Reverse,
    /// Training networks live (issue 5).
    Training,
}

impl View {
    /// Every view, in tab order.
    pub const ALL: [View; 6] = [
        View::Forward,
        View::Reverse,
        View::Elbo,
        View::Params,
        View::Schedule,
        View::Training,
    ];

    /// The tab label.
    pub fn label(self) -> &'static str {
        match self {
            View::Forward => "Forward process",
            View::Elbo => "ELBO terms",
            View::Params => "Parameterisations",
            View::Schedule => "Schedule",
            View::Reverse => "Reverse process",
            View::Training => "Training",
        }
    }
}

/// Which form of the ELBO the terms view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ElboForm {
    /// Luo eq. 58: denoising matching terms (one random variable per term).
    #[default]
    DenoisingMatching,
    /// Luo eq. 45: consistency terms (two random variables per term), beside eq. 58.
    Consistency,
}

/// Toggles of the views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewToggles {
    /// Log y axis for the per-timestep terms.
    pub log_y: bool,
    /// eq. 58 or eq. 45.
    pub elbo_form: ElboForm,
    /// Show the v-prediction as a fourth column.
    pub show_v: bool,
    /// Overlay the other schedule presets.
    pub overlay_presets: bool,
}

impl Default for ViewToggles {
    fn default() -> Self {
        ViewToggles {
            log_y: true,
            elbo_form: ElboForm::default(),
            show_v: false,
            overlay_presets: false,
        }
    }
}

/// Everything that persists across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The data.
    pub data: DataSettings,
    /// The schedule.
    pub schedule: ScheduleSettings,
    /// The model.
    pub model: ModelKind,
    /// The reverse view's sampler settings.
    pub reverse: super::reverse::ReverseSettings,
    /// A trained network picked instead of `model` (not persisted: networks live in memory).
    #[serde(skip)]
    pub trained_model: Option<crate::param::Parameterisation>,
    /// Reverse variance.
    pub variance: VarianceType,
    /// Monte Carlo sample count N.
    pub samples: usize,
    /// Seed.
    pub seed: u64,
    /// The open view.
    pub view: View,
    /// The current timestep.
    pub t: usize,
    /// Playback speed in timesteps per second.
    pub speed: f32,
    /// View toggles.
    pub toggles: ViewToggles,
    /// Dark theme.
    pub dark: bool,
    /// Zoom factor (projector mode above 1).
    pub zoom: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data: DataSettings::default(),
            schedule: ScheduleSettings::default(),
            model: ModelKind::default(),
            reverse: Default::default(),
            trained_model: None,
            variance: VarianceType::default(),
            samples: DEFAULT_SAMPLES,
            seed: 0,
            view: View::default(),
            t: 1,
            speed: 100.0,
            toggles: ViewToggles::default(),
            dark: true,
            zoom: 1.0,
        }
    }
}

impl Settings {
    /// Clamp every number into the range the controls offer (a saved state may hold anything).
    pub fn sanitised(mut self) -> Self {
        let d = Settings::default();
        self.schedule.steps = self.schedule.steps.clamp(1, MAX_APP_STEPS);
        if !(self.speed.is_finite() && (1.0..=2000.0).contains(&self.speed)) {
            self.speed = d.speed;
        }
        if !(self.zoom.is_finite() && (0.5..=4.0).contains(&self.zoom)) {
            self.zoom = d.zoom;
        }
        self.samples = self
            .samples
            .clamp(*SAMPLE_RANGE.start(), *SAMPLE_RANGE.end());
        self.t = self.t.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_or_partial_state_gives_defaults() {
        assert!(serde_json::from_str::<Settings>("{not json").is_err());
        let partial: Settings =
            serde_json::from_str(r#"{"seed": 7, "zoom": 99.0}"#).expect("partial state parses");
        let s = partial.sanitised();
        assert_eq!(s.seed, 7);
        assert_eq!(s.zoom, 1.0);
        assert_eq!(s.schedule, ScheduleSettings::default());
    }

    #[test]
    fn custom_betas_fix_the_step_count() {
        let s = ScheduleSettings {
            custom: Some(CustomBetas {
                label: "f".into(),
                betas: vec![0.1, 0.2, 0.3],
            }),
            ..ScheduleSettings::default()
        };
        assert_eq!(s.spec().steps, 3);
        let back = ScheduleSettings::from_spec(&s.spec(), "f");
        assert_eq!(back.custom, s.custom);
    }
}
