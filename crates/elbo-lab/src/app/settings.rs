//! The persisted settings: one serde struct, every field defaulted. Nothing restored is
//! trusted: [`restore`] reads what it can field by field (an unreadable field falls back to
//! its default alone) and [`Settings::sanitised`] puts every number back in the range the
//! controls offer, each time with a note saying what was reset.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use elbo_core::denoiser::ModelKind;
use elbo_core::mixture::{Component, GaussianMixture, MixtureError};
use elbo_core::param::Parameterisation;
use elbo_core::presets::DataSpec;
use elbo_core::report::DEFAULT_BANDWIDTH;
use elbo_core::sampler::{SamplerConfig, SamplerKind, Spacing};
use elbo_core::schedule::{
    BetaSchedule, BetaSource, DEFAULT_BETA_END, DEFAULT_BETA_START, ScheduleSpec, VarianceType,
};
use elbo_train::{TrainConfig, TrainLoss};

/// Largest T the app offers.
pub const MAX_APP_STEPS: usize = 4000;
/// Default Monte Carlo sample count of the app.
pub const DEFAULT_SAMPLES: usize = 2048;
/// Sample counts the app offers.
pub const SAMPLE_RANGE: std::ops::RangeInclusive<usize> = 64..=65_536;

/// Paths as the saved state and scenes keep them: as text when they are UTF-8 (readable and
/// editable), otherwise as their bytes, so that a file whose name is not UTF-8 stays usable
/// (serde's own form refuses such a path, and the whole state would not be saved).
mod saved_path {
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Saved {
        Text(String),
        Bytes(Vec<u8>),
    }

    fn saved(path: &Path) -> Saved {
        match path.to_str() {
            Some(text) => Saved::Text(text.to_owned()),
            #[cfg(unix)]
            None => Saved::Bytes(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec()),
            #[cfg(not(unix))]
            None => Saved::Text(path.to_string_lossy().into_owned()),
        }
    }

    fn path(saved: Saved) -> PathBuf {
        match saved {
            Saved::Text(text) => PathBuf::from(text),
            #[cfg(unix)]
            Saved::Bytes(bytes) => {
                PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&bytes))
            }
            #[cfg(not(unix))]
            Saved::Bytes(bytes) => PathBuf::from(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// Write an optional path.
    pub fn write_option<S: Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        p.as_deref().map(saved).serialize(s)
    }

    /// Read an optional path.
    pub fn read_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        Ok(Option::<Saved>::deserialize(d)?.map(path))
    }

    /// Write a list of paths.
    pub fn write_list<S: Serializer>(p: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(p.iter().map(|p| saved(p)))
    }

    /// Read a list of paths.
    pub fn read_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
        Ok(Vec::<Saved>::deserialize(d)?
            .into_iter()
            .map(path)
            .collect())
    }

    #[cfg(all(test, unix))]
    mod tests {
        use super::super::Settings;
        use std::os::unix::ffi::OsStrExt;
        use std::path::PathBuf;

        #[test]
        fn a_path_that_is_not_utf8_is_saved_and_read_back() {
            let odd = PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/data-\xff.json"));
            let mut s = Settings::default();
            s.data.file = Some(odd.clone());
            s.overlays = vec![odd.clone(), PathBuf::from("/tmp/plain.json")];
            // Before: serde refused the path and nothing at all was saved.
            let text = ron::to_string(&s).expect("saves");
            let back: Settings = ron::from_str(&text).expect("reads");
            assert_eq!(back.data.file, Some(odd.clone()));
            assert_eq!(back.overlays, s.overlays);
            let json = serde_json::to_string(&s).expect("saves as JSON");
            assert!(
                json.contains("\"/tmp/plain.json\""),
                "UTF-8 paths stay text"
            );
            let back: Settings = serde_json::from_str(&json).expect("reads");
            assert_eq!(back.data.file, Some(odd));
        }
    }
}

/// Where the data come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSettings {
    /// The preset and its parameters (used when `file` is None).
    pub spec: DataSpec,
    /// A mixture JSON or a CSV of points.
    #[serde(
        serialize_with = "saved_path::write_option",
        deserialize_with = "saved_path::read_option"
    )]
    pub file: Option<PathBuf>,
    /// Kernel bandwidth of CSV points and of brush strokes.
    pub bandwidth: f64,
    /// A mixture drawn or edited by hand (the edit mode, the brush, a scene that carries
    /// one); when present it is the data, before `file` and `spec`.
    pub drawn: Option<DrawnData>,
}

impl Default for DataSettings {
    fn default() -> Self {
        DataSettings {
            spec: DataSpec::default(),
            file: None,
            bandwidth: DEFAULT_BANDWIDTH,
            drawn: None,
        }
    }
}

impl DataSettings {
    /// A short label for legends and exports.
    pub fn label(&self) -> String {
        if let Some(d) = &self.drawn {
            return d.label();
        }
        match &self.file {
            Some(path) => path.display().to_string(),
            None => self.spec.preset.name().to_owned(),
        }
    }

    /// These settings with the preset `spec` as the data (a loaded file and a drawing are
    /// dropped; the bandwidth stays).
    pub fn with_preset(&self, spec: DataSpec) -> DataSettings {
        DataSettings {
            spec,
            file: None,
            drawn: None,
            ..self.clone()
        }
    }

    /// These settings with `mixture` as hand-drawn data (the preset and bandwidth stay, so
    /// "Back to the preset" has somewhere to go); `from` names what the drawing started
    /// from, kept from the drawing being edited.
    pub fn with_drawn(&self, mixture: &GaussianMixture) -> DataSettings {
        let from = match &self.drawn {
            Some(d) => d.from.clone(),
            None => self.label(),
        };
        DataSettings {
            drawn: Some(DrawnData {
                components: std::sync::Arc::new(mixture.components()),
                from,
            }),
            file: None,
            ..self.clone()
        }
    }
}

/// A hand-drawn mixture as the settings, scenes and the undo history keep it: the
/// components in the `--data FILE` JSON form (checked again by [`GaussianMixture::new`]
/// whenever it is built, so a restored one is never trusted unchecked), shared so that
/// the undo history holds many states cheaply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawnData {
    /// The components (weights normalised).
    pub components: std::sync::Arc<Vec<Component>>,
    /// What the drawing started from (a preset's name, a file's path).
    pub from: String,
}

impl DrawnData {
    /// "drawn by hand (K components, from X)".
    pub fn label(&self) -> String {
        let k = self.components.len();
        let s = if k == 1 { "" } else { "s" };
        format!("drawn by hand ({k} component{s}, from {})", self.from)
    }

    /// The mixture, checked.
    ///
    /// # Errors
    /// Whatever [`GaussianMixture::new`] refuses (no component, a bad covariance, ...).
    pub fn build(&self) -> Result<GaussianMixture, MixtureError> {
        GaussianMixture::new(&self.components)
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

    /// The presets the Schedule tab overlays beside these settings: every other preset
    /// (every preset when the schedule is from a file) with T = `steps` and the same beta
    /// range and rescaling.
    pub fn other_presets(&self, steps: usize) -> Vec<(BetaSchedule, ScheduleSpec)> {
        BetaSchedule::ALL
            .into_iter()
            .filter(|p| self.custom.is_some() || *p != self.preset)
            .map(|preset| {
                let settings = ScheduleSettings {
                    preset,
                    steps,
                    custom: None,
                    ..self.clone()
                };
                (preset, settings.spec())
            })
            .collect()
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
            // A process read by its SNR (flow matching, EDM, Wuerstchen) is kept as the
            // betas it builds to (validated again on restore like any custom betas; a
            // spec that does not build leaves no betas, which the caller's build rejects).
            BetaSource::Snr { .. } => {
                let betas = spec.build().map(|s| s.betas().to_vec()).unwrap_or_default();
                out.rescale_zero_snr = false;
                out.custom = Some(CustomBetas {
                    label: label.to_owned(),
                    betas,
                });
            }
        }
        out
    }
}

/// What a diffusers config said beside its schedule, kept while the schedule settings are
/// still the ones it gave (an edit of T or of the betas makes it stale: see
/// [`Settings::config_of`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleConfig {
    /// The file name it was loaded from.
    pub name: String,
    /// `_class_name`, if the config had one.
    pub class_name: Option<String>,
    /// `prediction_type` as written (`epsilon`, `v_prediction`, `sample`), if any.
    pub prediction_type: Option<String>,
    /// `timestep_spacing` as written, if any.
    pub timestep_spacing: Option<String>,
    /// `steps_offset`, if any.
    pub steps_offset: Option<usize>,
    /// The schedule settings the config gave.
    pub schedule: ScheduleSettings,
}

impl ScheduleConfig {
    /// The parameterisation `prediction_type` names (`epsilon` -> eps, `v_prediction` -> v,
    /// `sample` -> x0); None when absent or not one of these.
    pub fn predicts(&self) -> Option<elbo_core::param::Parameterisation> {
        use elbo_core::param::Parameterisation;
        match self.prediction_type.as_deref()?.trim() {
            "epsilon" => Some(Parameterisation::Eps),
            "v_prediction" => Some(Parameterisation::V),
            "sample" => Some(Parameterisation::X0),
            _ => None,
        }
    }
}

macro_rules! view_enum {
    ($($variant:ident => $module:ident :: $ty:ident,)*) => {
        /// The tabs, one variant per line of the tab list (`views/tab.rs`), where each
        /// tab's names, help and plots are.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum View {
            $(
                #[doc = concat!("The `", stringify!($module), "` tab.")]
                $variant,
            )*
        }

        impl View {
            /// How many tabs there are.
            pub const COUNT: usize = [$(stringify!($variant)),*].len();
            /// Every tab, in tab-row order.
            pub const ALL: [View; View::COUNT] = [$(View::$variant),*];
        }
    };
}

crate::with_tabs!(view_enum);

impl Default for View {
    /// The first tab.
    fn default() -> Self {
        View::ALL[0]
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

/// Which step of Luo's derivation the Evidence tab shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum EvidenceStep {
    /// The VAE, exactly (one latent).
    #[default]
    Vae,
    /// The Markovian hierarchical VAE (T = 1 to 5 latents) and the three restrictions that
    /// make it a variational diffusion model, with its ELBO term by term.
    Hierarchical,
    /// The diffusion model as a hierarchical VAE: its own density and the bound's gap.
    Diffusion,
    /// The schedule in log-SNR and the continuous-time limit.
    LogSnr,
}

impl EvidenceStep {
    /// Every step, in order.
    pub const ALL: [EvidenceStep; 4] = [
        EvidenceStep::Vae,
        EvidenceStep::Hierarchical,
        EvidenceStep::Diffusion,
        EvidenceStep::LogSnr,
    ];

    /// Its selector's label.
    pub fn label(self) -> &'static str {
        match self {
            EvidenceStep::Vae => "1. The VAE",
            EvidenceStep::Hierarchical => "2. The hierarchical VAE",
            EvidenceStep::Diffusion => "3. The diffusion model",
            EvidenceStep::LogSnr => "4. In log-SNR",
        }
    }
}

/// Which part of the Denoising step tab is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StepPart {
    /// Tweedie's formula.
    #[default]
    Tweedie,
    /// One denoising term as a KL between two Gaussians.
    Kl,
    /// The true reverse step and where the gap lives.
    Truth,
}

impl StepPart {
    /// Every part, in order.
    pub const ALL: [StepPart; 3] = [StepPart::Tweedie, StepPart::Kl, StepPart::Truth];

    /// Its selector's label.
    pub fn label(self) -> &'static str {
        match self {
            StepPart::Tweedie => "1. Tweedie's formula",
            StepPart::Kl => "2. One step as a KL",
            StepPart::Truth => "3. The true reverse step",
        }
    }

    /// Its selector's hover text.
    pub fn tip(self) -> &'static str {
        match self {
            StepPart::Tweedie => {
                "Tweedie's formula (Luo eq. 133-135): the best guess of x0 from x_t, E[x0 | x_t] = (x_t + (1 - abar_t) score) / sqrt(abar_t), computed two ways at the timeline's t"
            }
            StepPart::Kl => {
                "One denoising term L(t-1) is the KL between two Gaussians (Luo eq. 71-92): the forward posterior q(x(t-1) | x_t, x0) and the model's step p_theta(x(t-1) | x_t), at an x0 and x_t you pick (1D data)"
            }
            StepPart::Truth => {
                "The true reverse step q(x(t-1) | x_t) is a mixture, not a Gaussian: how far from Gaussian it is, what the model's step gets wrong, and how that splits the bound's gap over t (1D data)"
            }
        }
    }

    /// True when the part needs 1D data.
    pub fn one_d_only(self) -> bool {
        self != StepPart::Tweedie
    }
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
    /// Show the plots' legends (hide them to give a projected plot all the room).
    pub legends: bool,
    /// The Schedule tab's x axis is t / T (schedules of different T side by side).
    pub normalised_t: bool,
    /// A schedule file dropped onto the window is overlaid in the Schedule tab instead of
    /// replacing the schedule.
    pub drop_overlays: bool,
    /// The Evidence tab's step.
    pub evidence_step: EvidenceStep,
    /// The Denoising step tab's part.
    pub step_part: StepPart,
}

impl Default for ViewToggles {
    fn default() -> Self {
        ViewToggles {
            log_y: true,
            elbo_form: ElboForm::default(),
            show_v: false,
            overlay_presets: false,
            legends: true,
            normalised_t: false,
            drop_overlays: false,
            evidence_step: EvidenceStep::default(),
            step_part: Default::default(),
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
    pub reverse: ReverseSettings,
    /// A trained network picked instead of `model` (not persisted: networks live in memory).
    #[serde(skip)]
    pub trained_model: Option<elbo_core::param::Parameterisation>,
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
    /// The Training view's settings.
    pub training: TrainingSettings,
    /// Presenter mode: the side panel hidden, the plots given the room.
    pub presenter: bool,
    /// The side panel is shown (outside presenter mode).
    pub side_panel: bool,
    /// Schedule files overlaid in the Schedule tab, in the order they were added (each is
    /// read again at start; one that no longer loads is dropped with a note).
    #[serde(
        serialize_with = "saved_path::write_list",
        deserialize_with = "saved_path::read_list"
    )]
    pub overlays: Vec<PathBuf>,
    /// What the diffusers config of the loaded schedule said (prediction type, spacing).
    pub schedule_config: Option<ScheduleConfig>,
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
            training: Default::default(),
            presenter: false,
            side_panel: true,
            overlays: Vec::new(),
            schedule_config: None,
        }
    }
}

/// Zoom factors the app offers.
pub const ZOOM_RANGE: std::ops::RangeInclusive<f32> = 0.5..=4.0;
/// One zoom notch (keys `+` / `-`).
pub const ZOOM_STEP: f32 = 0.25;
/// Playback speeds the timeline offers, in timesteps per second.
pub const SPEED_RANGE: std::ops::RangeInclusive<f32> = 1.0..=2000.0;
/// Longest path read from a saved state or a scene, in bytes (Linux's PATH_MAX).
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest label read from a saved state or a scene, in bytes (a name shown in a legend or
/// a status line, never a paragraph).
pub const MAX_LABEL_BYTES: usize = 300;
/// Most schedules overlaid in the Schedule tab (each is read from disk at start, and the
/// plot's legend has room for no more).
pub const MAX_OVERLAYS: usize = 16;

/// Largest seed the controls offer.
pub const MAX_SEED: u64 = u32::MAX as u64;

/// What "Reset to defaults" resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResetScope {
    /// Everything but the window (theme, zoom, presenter mode stay).
    All,
    /// The data.
    Data,
    /// The schedule.
    Schedule,
    /// Model, reverse variance, Monte Carlo samples and seed.
    Model,
    /// The view toggles, t and playback speed.
    View,
}

impl ResetScope {
    /// Every scope, in menu order.
    pub const ALL: [ResetScope; 5] = [
        ResetScope::All,
        ResetScope::Data,
        ResetScope::Schedule,
        ResetScope::Model,
        ResetScope::View,
    ];

    /// The menu label.
    pub fn label(self) -> &'static str {
        match self {
            ResetScope::All => "Reset everything",
            ResetScope::Data => "Reset data",
            ResetScope::Schedule => "Reset schedule",
            ResetScope::Model => "Reset model, samples and seed",
            ResetScope::View => "Reset view toggles, t and speed",
        }
    }
}

impl Settings {
    /// The config of `schedule`: [`Settings::schedule_config`] while `schedule` is still
    /// the one it gave (None once T, the betas or the preset were edited).
    pub fn config_of(&self, schedule: &ScheduleSettings) -> Option<&ScheduleConfig> {
        self.schedule_config
            .as_ref()
            .filter(|c| c.schedule == *schedule)
    }

    /// These settings with one part put back to its defaults.
    pub fn reset(&self, scope: ResetScope) -> Settings {
        let d = Settings::default();
        let mut s = self.clone();
        match scope {
            ResetScope::All => {
                s = Settings {
                    dark: self.dark,
                    zoom: self.zoom,
                    presenter: self.presenter,
                    side_panel: self.side_panel,
                    view: self.view,
                    ..d
                }
            }
            ResetScope::Data => s.data = d.data,
            ResetScope::Schedule => {
                s.schedule = d.schedule;
                s.schedule_config = None;
            }
            ResetScope::Model => {
                s.model = d.model;
                s.trained_model = None;
                s.variance = d.variance;
                s.samples = d.samples;
                s.seed = d.seed;
            }
            ResetScope::View => {
                s.toggles = d.toggles;
                s.t = d.t;
                s.speed = d.speed;
                s.reverse = d.reverse;
            }
        }
        s
    }

    /// Every number put back into the range the controls offer (a saved state may hold
    /// anything).
    pub fn sanitised(self) -> Self {
        self.validated().0
    }

    /// As [`Settings::sanitised`], with a note naming each value that had to change.
    pub fn validated(mut self) -> (Self, Vec<String>) {
        let d = Settings::default();
        let mut notes = Vec::new();
        let mut note = |what: &str| notes.push(format!("saved {what} was out of range; reset"));
        if !(1..=MAX_APP_STEPS).contains(&self.schedule.steps) {
            self.schedule.steps = self.schedule.steps.clamp(1, MAX_APP_STEPS);
            note("T");
        }
        let beta_ok = |b: f64| b.is_finite() && (1e-6..=0.999).contains(&b);
        if !(beta_ok(self.schedule.beta_start) && beta_ok(self.schedule.beta_end)) {
            self.schedule.beta_start = d.schedule.beta_start;
            self.schedule.beta_end = d.schedule.beta_end;
            note("beta range");
        }
        if !(self.speed.is_finite() && SPEED_RANGE.contains(&self.speed)) {
            self.speed = d.speed;
            note("playback speed");
        }
        if !(self.zoom.is_finite() && ZOOM_RANGE.contains(&self.zoom)) {
            self.zoom = d.zoom;
            note("zoom");
        }
        if !SAMPLE_RANGE.contains(&self.samples) {
            self.samples = self
                .samples
                .clamp(*SAMPLE_RANGE.start(), *SAMPLE_RANGE.end());
            note("Monte Carlo sample count");
        }
        if self.seed > MAX_SEED {
            self.seed = d.seed;
            note("seed");
        }
        let width_ok =
            self.data.spec.width.is_finite() && (0.2..=3.0).contains(&self.data.spec.width);
        if !width_ok {
            self.data.spec.width = d.data.spec.width;
            note("data width");
        }
        if !(self.data.bandwidth.is_finite() && (0.005..=2.0).contains(&self.data.bandwidth)) {
            self.data.bandwidth = d.data.bandwidth;
            note("CSV bandwidth");
        }
        self.t = self.t.max(1);
        let (training, fixed) = self.training.validated();
        self.training = training;
        for f in fixed {
            note(&format!("training {f}"));
        }
        notes.extend(self.cap_texts());
        (self, notes)
    }
}

impl Settings {
    /// Every path and label put under its cap ([`MAX_PATH_BYTES`], [`MAX_LABEL_BYTES`])
    /// and the overlays under [`MAX_OVERLAYS`]: a path too long is dropped (a cut path
    /// names another file), a label too long is cut. A note names each field.
    fn cap_texts(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        let mut label = |what: &str, text: &mut String| {
            if text.len() > MAX_LABEL_BYTES {
                notes.push(format!(
                    "saved {what} is {} bytes long, over the {MAX_LABEL_BYTES}-byte limit for a label; cut short",
                    text.len()
                ));
                *text = cut_text(text, MAX_LABEL_BYTES);
            }
        };
        if let Some(d) = &mut self.data.drawn {
            label("drawing's 'from'", &mut d.from);
        }
        if let Some(c) = &mut self.schedule.custom {
            label("custom betas' label", &mut c.label);
        }
        if let Some(c) = &mut self.schedule_config {
            label("scheduler config's name", &mut c.name);
            for (what, field) in [
                ("scheduler config's _class_name", &mut c.class_name),
                ("scheduler config's prediction_type", &mut c.prediction_type),
                (
                    "scheduler config's timestep_spacing",
                    &mut c.timestep_spacing,
                ),
            ] {
                if let Some(text) = field {
                    label(what, text);
                }
            }
        }
        let path_ok = |p: &std::path::Path| p.as_os_str().len() <= MAX_PATH_BYTES;
        let too_long = |what: &str, p: &std::path::Path| {
            format!(
                "saved {what} is {} bytes long, over the {MAX_PATH_BYTES}-byte limit for a path; dropped",
                p.as_os_str().len()
            )
        };
        if let Some(file) = self.data.file.take_if(|f| !path_ok(f)) {
            notes.push(too_long("data file path", &file));
        }
        let before = self.overlays.len();
        self.overlays.retain(|p| path_ok(p));
        if self.overlays.len() < before {
            notes.push(format!(
                "saved overlay paths: {} over the {MAX_PATH_BYTES}-byte limit for a path; dropped",
                before - self.overlays.len()
            ));
        }
        if self.overlays.len() > MAX_OVERLAYS {
            notes.push(format!(
                "saved overlays: {} schedules, more than the {MAX_OVERLAYS} the Schedule tab shows; the first {MAX_OVERLAYS} kept",
                self.overlays.len()
            ));
            self.overlays.truncate(MAX_OVERLAYS);
        }
        notes
    }
}

/// `text` cut to at most `max` bytes (at a character boundary), ending in an ellipsis.
pub fn cut_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The saved settings with each field kept as raw RON text, read one by one.
#[derive(Default, Deserialize)]
#[serde(default)]
struct SavedFields {
    #[serde(deserialize_with = "raw")]
    data: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    schedule: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    model: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    reverse: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    variance: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    samples: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    seed: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    view: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    t: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    speed: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    toggles: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    dark: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    zoom: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    training: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    overlays: Option<Box<ron::value::RawValue>>,
    #[serde(deserialize_with = "raw")]
    schedule_config: Option<Box<ron::value::RawValue>>,
}

/// A field's raw RON text (present fields only: absent ones stay `None` by default).
fn raw<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Box<ron::value::RawValue>>, D::Error> {
    Box::<ron::value::RawValue>::deserialize(d).map(Some)
}

/// Settings from their saved RON text, field by field: a field that cannot be read falls
/// back to its default alone, with a note naming it; text that is not a RON struct gives
/// the defaults with a note. Numbers are then validated ([`Settings::validated`]).
pub fn restore(text: Option<&str>) -> (Settings, Vec<String>) {
    let Some(text) = text else {
        return (Settings::default(), Vec::new());
    };
    let mut notes = Vec::new();
    let mut out = Settings::default();
    match ron::from_str::<SavedFields>(text) {
        Ok(saved) => {
            macro_rules! read_fields {
                ($($field:ident),*) => {$(
                    if let Some(raw) = &saved.$field {
                        match raw.into_rust() {
                            Ok(value) => out.$field = value,
                            Err(_) => notes.push(format!(
                                "saved setting '{}' could not be read; default used",
                                stringify!($field)
                            )),
                        }
                    }
                )*};
            }
            read_fields!(
                data,
                schedule,
                model,
                reverse,
                variance,
                samples,
                seed,
                view,
                t,
                speed,
                toggles,
                dark,
                zoom,
                training,
                overlays,
                schedule_config
            );
        }
        Err(_) => notes.push("the saved settings could not be read; defaults used".to_owned()),
    }
    let (settings, more) = out.validated();
    notes.extend(more);
    (settings, notes)
}

// ------------------------------------------------------------------------------------------
// The Reverse tab's samplers and the Training tab's settings
// ------------------------------------------------------------------------------------------

/// The reverse view's settings (persisted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReverseSettings {
    /// The left setting.
    pub a: SamplerConfig,
    /// The right setting.
    pub b: SamplerConfig,
    /// Draw the trajectories of a few particles.
    pub show_trajectories: bool,
    /// Take `timestep_spacing` and `steps_offset` from the loaded scheduler config, when it
    /// sets them (false: the user overrides them with each setting's own).
    pub use_config: bool,
}

impl Default for ReverseSettings {
    fn default() -> Self {
        ReverseSettings {
            a: SamplerConfig {
                kind: SamplerKind::Ddpm,
                steps: 1000,
                spacing: Spacing::Trailing,
                ..SamplerConfig::default()
            },
            b: SamplerConfig {
                kind: SamplerKind::Ddim,
                steps: 10,
                eta: 0.0,
                spacing: Spacing::Trailing,
                ..SamplerConfig::default()
            },
            show_trajectories: true,
            use_config: true,
        }
    }
}

/// What a scheduler config says about sampling: its `timestep_spacing` and `steps_offset`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSampling {
    /// The file name of the config.
    pub name: String,
    /// The spacing: the config's `timestep_spacing`, or diffusers' default `leading` when
    /// the config gives only `steps_offset`; None when its `timestep_spacing` is not one of
    /// linspace, leading, trailing (each setting then keeps its own).
    pub spacing: Option<Spacing>,
    /// `steps_offset` (0 when the config has none).
    pub offset: usize,
    /// Where the spacing came from, in words.
    pub spacing_source: String,
    /// Where the offset came from, in words.
    pub offset_source: String,
}

impl ConfigSampling {
    /// The sampling a config sets; None when it sets neither `timestep_spacing` nor
    /// `steps_offset`.
    pub fn of(config: &ScheduleConfig) -> Option<Self> {
        if config.timestep_spacing.is_none() && config.steps_offset.is_none() {
            return None;
        }
        let (spacing, spacing_source) = match config.timestep_spacing.as_deref() {
            Some(name) => match Spacing::ALL.into_iter().find(|s| s.name() == name.trim()) {
                Some(s) => (Some(s), format!("timestep_spacing = {name}")),
                None => (
                    None,
                    format!(
                        "timestep_spacing = \"{name}\" is not linspace, leading or trailing: each setting keeps its own spacing"
                    ),
                ),
            },
            None => (
                Some(Spacing::Leading),
                "no timestep_spacing: diffusers' default, leading".to_owned(),
            ),
        };
        let offset_source = match config.steps_offset {
            Some(n) => format!("steps_offset = {n}"),
            None => "no steps_offset: 0".to_owned(),
        };
        Some(ConfigSampling {
            name: config.name.clone(),
            spacing,
            offset: config.steps_offset.unwrap_or(0),
            spacing_source,
            offset_source,
        })
    }
}

/// One setting as the job runs it, and where its spacing and offset came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    /// The setting the job runs (K clamped to 1..=T, eta to [0, 1], the offset valid).
    pub config: SamplerConfig,
    /// True when the spacing is the config's.
    pub spacing_from_config: bool,
    /// True when the offset is the config's.
    pub offset_from_config: bool,
    /// The offset asked for when it had to be lowered: with leading spacing the largest
    /// timestep `(K - 1) (T div K) + offset` must stay at most T - 1.
    pub offset_lowered_from: Option<usize>,
}

/// The largest `steps_offset` leading spacing with K of T steps takes (diffusers'
/// 0-based timesteps stay at most T - 1).
pub fn max_leading_offset(train_steps: usize, steps: usize) -> usize {
    let (t, k) = (train_steps.max(1), steps.clamp(1, train_steps.max(1)));
    (t - 1) - (k - 1) * (t / k)
}

impl ReverseSettings {
    /// The two settings as the job runs them on a schedule of `steps` timesteps, with the
    /// spacing and offset of `config` unless [`ReverseSettings::use_config`] is off.
    ///
    /// Before scheduler configs were read here the offset was always 0 (the tab had no
    /// offset control, and an offset of 1 with K = T runs past T - 1). Now it is the
    /// config's (or the user's), lowered to the largest valid one when K is too large for
    /// it, and the view says so (diffusers itself would index past its last timestep).
    pub fn resolve(&self, steps: usize, config: Option<&ScheduleConfig>) -> [Resolved; 2] {
        let sampling = config
            .filter(|_| self.use_config)
            .and_then(ConfigSampling::of);
        [self.a, self.b].map(|mut c| {
            c.steps = c.steps.clamp(1, steps.max(1));
            c.eta = if c.eta.is_finite() {
                c.eta.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (mut spacing_from_config, mut offset_from_config) = (false, false);
            if let Some(s) = &sampling {
                if let Some(spacing) = s.spacing {
                    c.spacing = spacing;
                    spacing_from_config = true;
                }
                c.steps_offset = s.offset;
                offset_from_config = true;
            }
            let mut offset_lowered_from = None;
            if c.spacing == Spacing::Leading {
                let max = max_leading_offset(steps, c.steps);
                if c.steps_offset > max {
                    offset_lowered_from = Some(c.steps_offset);
                    c.steps_offset = max;
                }
            } else {
                // Only leading spacing reads the offset: 0 keeps equal jobs equal.
                c.steps_offset = 0;
                offset_from_config = false;
            }
            Resolved {
                config: c,
                spacing_from_config,
                offset_from_config,
                offset_lowered_from,
            }
        })
    }

    /// The two settings as the job runs them (see [`ReverseSettings::resolve`]).
    pub fn clamped(&self, steps: usize, config: Option<&ScheduleConfig>) -> [SamplerConfig; 2] {
        self.resolve(steps, config).map(|r| r.config)
    }
}

/// The training settings the view edits (persisted with the app's settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingSettings {
    /// Loss weighting.
    pub loss: TrainLoss,
    /// Batch size.
    pub batch: usize,
    /// Learning rate.
    pub lr: f64,
    /// Seed.
    pub seed: u64,
    /// Also train a v-prediction network.
    pub include_v: bool,
    /// Steps between evaluations.
    pub eval_every: usize,
    /// Monte Carlo samples of each evaluation.
    pub eval_samples: usize,
    /// Pause automatically after this many steps.
    pub max_steps: usize,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        TrainingSettings {
            loss: TrainLoss::Simple,
            batch: 256,
            lr: 1e-3,
            seed: 0,
            include_v: false,
            eval_every: 500,
            eval_samples: 256,
            max_steps: 20_000,
        }
    }
}

/// Batch sizes the view offers.
pub const BATCH_RANGE: std::ops::RangeInclusive<usize> = 16..=4096;
/// Learning rates the view offers.
pub const LR_RANGE: std::ops::RangeInclusive<f64> = 1e-5..=1e-1;
/// Steps between evaluations the view offers.
pub const EVAL_EVERY_RANGE: std::ops::RangeInclusive<usize> = 50..=100_000;
/// Evaluation sample counts the view offers.
pub const EVAL_SAMPLES_RANGE: std::ops::RangeInclusive<usize> = 64..=16_384;
/// Step caps the view offers.
pub const MAX_STEPS_RANGE: std::ops::RangeInclusive<usize> = 1..=10_000_000;

impl TrainingSettings {
    /// The settings with every number inside the range the view offers (a saved state may
    /// hold anything); returns the names of the fields that had to change.
    pub fn validated(mut self) -> (Self, Vec<&'static str>) {
        let d = TrainingSettings::default();
        let mut fixed = Vec::new();
        if !BATCH_RANGE.contains(&self.batch) {
            self.batch = d.batch;
            fixed.push("batch");
        }
        if !(self.lr.is_finite() && LR_RANGE.contains(&self.lr)) {
            self.lr = d.lr;
            fixed.push("learning rate");
        }
        if !EVAL_EVERY_RANGE.contains(&self.eval_every) {
            self.eval_every = d.eval_every;
            fixed.push("evaluate every");
        }
        if !EVAL_SAMPLES_RANGE.contains(&self.eval_samples) {
            self.eval_samples = d.eval_samples;
            fixed.push("evaluation samples");
        }
        if !MAX_STEPS_RANGE.contains(&self.max_steps) {
            self.max_steps = d.max_steps;
            fixed.push("stop after steps");
        }
        (self, fixed)
    }

    /// The trainer's configuration of these settings with the model's `variance`.
    pub fn config(&self, variance: VarianceType) -> TrainConfig {
        let mut params = vec![
            Parameterisation::X0,
            Parameterisation::Eps,
            Parameterisation::Score,
        ];
        if self.include_v {
            params.push(Parameterisation::V);
        }
        TrainConfig {
            params,
            batch: self.batch,
            lr: self.lr,
            seed: self.seed,
            loss: self.loss,
            variance,
            ..TrainConfig::default()
        }
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
    fn a_bad_field_falls_back_alone() {
        let saved = Settings {
            seed: 42,
            view: View::Reverse,
            model: ModelKind::Gaussian,
            schedule: ScheduleSettings {
                steps: 250,
                preset: BetaSchedule::Sigmoid,
                ..ScheduleSettings::default()
            },
            ..Settings::default()
        };
        let text = ron::to_string(&saved).expect("settings serialise");
        let (back, notes) = restore(Some(&text));
        assert_eq!(back, saved);
        assert!(notes.is_empty(), "{notes:?}");
        // A field of the wrong type: only that field is lost.
        let broken = text.replacen("seed:42", "seed:\"forty-two\"", 1);
        assert_ne!(broken, text, "the RON text spells the seed as seed:42");
        let (back, notes) = restore(Some(&broken));
        assert_eq!(back.seed, 0);
        assert_eq!(back.schedule.steps, 250);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("seed"), "{notes:?}");
        // Out-of-range numbers are reset with a note each.
        let mut wild = saved.clone();
        wild.zoom = f32::NAN;
        wild.training.lr = 1e9;
        let (back, notes) = restore(Some(&ron::to_string(&wild).expect("serialises")));
        assert_eq!(back.zoom, 1.0);
        assert_eq!(back.training.lr, 1e-3);
        assert_eq!(notes.len(), 2, "{notes:?}");
        // Not RON at all.
        let (back, notes) = restore(Some("{{{"));
        assert_eq!(back, Settings::default());
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn the_analytic_variance_round_trips_and_old_settings_load() {
        let mut saved = Settings {
            variance: VarianceType::Analytic,
            ..Settings::default()
        };
        saved.reverse.b.variance = VarianceType::Analytic;
        let text = ron::to_string(&saved).expect("settings serialise");
        assert!(text.contains(",variance:analytic,samples"), "{text}");
        let (back, notes) = restore(Some(&text));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(back.variance, VarianceType::Analytic);
        assert_eq!(back.reverse.b.variance, VarianceType::Analytic);
        assert_eq!(back, saved);
        // Settings saved before the variant existed still load as they were.
        let old = ron::to_string(&Settings {
            variance: VarianceType::FixedLarge,
            ..Settings::default()
        })
        .expect("serialises");
        let (back, notes) = restore(Some(&old));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(back.variance, VarianceType::FixedLarge);
        // An unknown variant falls back alone, with a note.
        let unknown = text.replacen(",variance:analytic,samples", ",variance:learned,samples", 1);
        assert_ne!(unknown, text);
        let (back, notes) = restore(Some(&unknown));
        assert_eq!(back.variance, VarianceType::default());
        assert_eq!(notes.len(), 1, "{notes:?}");
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
