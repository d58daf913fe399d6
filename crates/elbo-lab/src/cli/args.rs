//! The data, schedule and model flags every subcommand shares, and their resolution into
//! library values (a [`GaussianMixture`] and a [`NoiseSchedule`]). Precedence (as in
//! docs/report-format.md): a flag beats the value of a config file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use elbo_core::denoiser::{Denoiser, ModelKind};
use elbo_core::elbo::{ElboError, MAX_SAMPLES, Method};
use elbo_core::files::{ReadError, read_text_capped, regular_file_len};
use elbo_core::mixture::{GaussianMixture, load_mixture_file};
use elbo_core::param::Parameterisation;
use elbo_core::presets::{DataPreset, DataSpec, MAX_COMPONENTS, MIN_COMPONENTS, PresetError};
use elbo_core::report::DEFAULT_BANDWIDTH;
use elbo_core::schedule::{
    BETA_RANGE, BetaSchedule, BetaSource, NoiseSchedule, ScheduleError, ScheduleSpec, VarianceType,
    load_schedule_file, number_text,
};
use elbo_train::{TrainedDenoiser, weights_file_name};

use super::output::warn;

/// Data and schedule flags shared by the subcommands.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Data: a preset name (see `elbo-lab presets`) or a file: mixture JSON or CSV of points.
    #[arg(long, default_value = "bimodal", value_name = "PRESET|FILE")]
    pub data: PathBuf,
    /// Components for shape presets (two-moons, swiss-roll, ...).
    #[arg(long, allow_hyphen_values = true)]
    pub components: Option<usize>,
    /// Multiply every preset component's standard deviation.
    #[arg(long, allow_hyphen_values = true)]
    pub width: Option<f64>,
    /// Kernel bandwidth h for a CSV of points (each point becomes N(x_i, h^2 I));
    /// default 0.1.
    #[arg(long, allow_hyphen_values = true)]
    pub bandwidth: Option<f64>,
    /// Schedule: a preset (linear, scaled_linear, squaredcos_cap_v2, sigmoid) or a file:
    /// a diffusers scheduler_config.json, a JSON array of betas, or one beta per line.
    #[arg(long, value_name = "PRESET|FILE")]
    pub schedule: Option<PathBuf>,
    /// Number of timesteps T (overrides a config's num_train_timesteps).
    #[arg(long, allow_hyphen_values = true)]
    pub steps: Option<usize>,
    /// beta_start (overrides a config's value), 1e-12 to 1.
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub beta_start: Option<f64>,
    /// beta_end (overrides a config's value), 1e-12 to 1.
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub beta_end: Option<f64>,
    /// Rescale to zero terminal SNR (Lin et al. 2023).
    #[arg(long)]
    pub rescale_zero_snr: bool,
    /// Reverse variance (overrides a config's variance_type).
    #[arg(long, value_enum)]
    pub variance: Option<VarianceArg>,
}

/// `--variance` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VarianceArg {
    /// sigma_t^2 = posterior variance.
    #[value(name = "fixed_small", alias = "fixed-small")]
    FixedSmall,
    /// sigma_t^2 = beta_t.
    #[value(name = "fixed_large", alias = "fixed-large")]
    FixedLarge,
    /// sigma_t^2 = the model's ELBO-optimal variance (Bao et al. 2022, Analytic-DPM).
    #[value(name = "analytic")]
    Analytic,
}

impl From<VarianceArg> for VarianceType {
    fn from(v: VarianceArg) -> Self {
        match v {
            VarianceArg::FixedSmall => VarianceType::FixedSmall,
            VarianceArg::FixedLarge => VarianceType::FixedLarge,
            VarianceArg::Analytic => VarianceType::Analytic,
        }
    }
}

/// `--model` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelArg {
    /// The Bayes-optimal denoiser.
    Optimal,
    /// The Gaussian fit (linear denoiser).
    Gaussian,
}

impl From<ModelArg> for ModelKind {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Optimal => ModelKind::Optimal,
            ModelArg::Gaussian => ModelKind::Gaussian,
        }
    }
}

/// `--weights PATH [--param P]`: score a network written by `elbo-lab train` instead of a
/// closed-form `--model` (`evidence` and `report`; the command must have a `--model` flag,
/// which `--weights` conflicts with).
///
/// The network is conditioned on the noise level (its log-SNR), not on the index t (see
/// `elbo_train`'s `noise_level`), so it is a denoiser under any schedule and any T:
/// scoring it at another T than it was trained with is meaningful, not refused. Where the
/// `summary.json` that `train` writes beside the weights records other data or another
/// schedule, a note on standard error says so (log-SNRs outside the training schedule's
/// range are extrapolation).
#[derive(Debug, Args, Clone, Default)]
pub struct WeightsArgs {
    /// Score a network trained by `elbo-lab train` (e.g. DIR/eps.safetensors) instead of a
    /// closed-form --model. It is conditioned on log-SNR, so any schedule and T apply.
    #[arg(long, value_name = "PATH", conflicts_with = "model")]
    pub weights: Option<PathBuf>,
    /// What the --weights network predicts: x0, eps, score or v (default: from its file
    /// name, x0|eps|score|v.safetensors as `train` writes it).
    #[arg(long, value_name = "P", value_parser = parse_param, requires = "weights")]
    pub param: Option<Parameterisation>,
}

/// `--param P`: a parameterisation by its label (`x0`, `eps`, `score`, `v`; any case).
pub fn parse_param(text: &str) -> Result<Parameterisation, String> {
    let wanted = text.trim().to_ascii_lowercase();
    Parameterisation::ALL
        .into_iter()
        .find(|p| p.label() == wanted)
        .ok_or_else(|| format!("unknown parameterisation '{text}': one of x0, eps, score, v"))
}

/// The parameterisation a weights file's name says (`eps.safetensors` -> eps), as
/// `elbo-lab train` names its files ([`weights_file_name`]).
pub fn param_from_file_name(path: &Path) -> Option<Parameterisation> {
    let name = path.file_name()?.to_str()?;
    Parameterisation::ALL
        .into_iter()
        .find(|p| weights_file_name(*p) == name)
}

impl WeightsArgs {
    /// The model a command scores: the `--weights` network for `data` (named
    /// `trained P network (PATH)`), else the closed-form `model`. Notes on standard error
    /// where the training summary beside the weights records other data or another
    /// schedule than `data_label` and `schedule`.
    ///
    /// # Errors
    /// One line naming the file and the problem: it is missing, a directory, not a regular
    /// file (a FIFO, a device) or larger than `elbo_train::MAX_WEIGHTS_BYTES`, its name
    /// does not say the parameterisation and `--param` was not given, or it is not a
    /// network for `data`'s dimension (or not an ELBO Lab network at all).
    pub fn model(
        &self,
        model: ModelArg,
        data: &GaussianMixture,
        data_label: &str,
        schedule: &ResolvedSchedule,
    ) -> Result<Arc<dyn Denoiser>> {
        let Some(path) = &self.weights else {
            return Ok(ModelKind::from(model).build(data));
        };
        let net = self.load(path, data.dim())?;
        for n in summary_notes(path, data_label, &schedule.spec.label()) {
            super::output::note(&format!("note: {n}\n"));
        }
        Ok(Arc::new(net))
    }

    /// Load the `--weights` file `path` for `dim`-dimensional data.
    fn load(&self, path: &Path, dim: usize) -> Result<TrainedDenoiser> {
        let shown = path.display();
        if path.is_dir() {
            anyhow::bail!(
                "--weights {shown} is a directory: give one network's file, e.g. {}",
                path.join(weights_file_name(Parameterisation::Eps))
                    .display()
            );
        }
        // The kind before a byte is read (the load checks it again, and the size): a FIFO
        // or a device is named as such, not as a missing file.
        match regular_file_len(path) {
            Ok(_) => {}
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                anyhow::bail!("--weights: {shown}: no such file")
            }
            Err(e) => anyhow::bail!("--weights: {shown}: {e}"),
        }
        let by_name = param_from_file_name(path);
        let param = match (self.param, by_name) {
            (Some(p), Some(q)) if p != q => {
                warn(&format!(
                    "--param {p} overrides the file name {shown}, which says {q}"
                ));
                p
            }
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) => anyhow::bail!(
                "--weights {shown}: the file name does not say what the network predicts: name it x0|eps|score|v.safetensors (as `elbo-lab train` does) or give --param x0|eps|score|v"
            ),
        };
        let net = match TrainedDenoiser::load(path, param, dim) {
            Ok(net) => net,
            Err(e) => {
                // A network for the other dimension: say so plainly (the load error speaks
                // of input and output widths).
                let other = if dim == 1 { 2 } else { 1 };
                if TrainedDenoiser::load(path, param, other).is_ok() {
                    anyhow::bail!(
                        "--weights {shown} is a network for {other}D data, but these data are {dim}D"
                    );
                }
                return Err(anyhow::Error::new(e).context("--weights"));
            }
        };
        Ok(net.with_label(format!("trained {param} network ({shown})")))
    }
}

/// The largest `summary.json` read beside a `--weights` file (1 MiB): `train` writes a few
/// kilobytes.
pub const MAX_SUMMARY_BYTES: u64 = 1024 * 1024;

/// What the `summary.json` beside a weights file (written by `elbo-lab train`) records that
/// differs from the data and schedule the network is scored on, one note each; nothing when
/// there is no summary or it matches. A summary that is there but cannot be read (not a
/// regular file, larger than [`MAX_SUMMARY_BYTES`], not UTF-8, not JSON) is itself a note
/// saying why: it is only a hint, never needed, and it is never waited for (a FIFO is
/// refused by its kind).
fn summary_notes(weights: &Path, data_label: &str, schedule_label: &str) -> Vec<String> {
    let Some(dir) = weights.parent() else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let path = dir.join("summary.json");
    let unknown = |why: String| {
        vec![format!(
            "{} could not be read ({why}); the network's training settings are unknown",
            path.display()
        )]
    };
    let text = match read_text_capped(&path, MAX_SUMMARY_BYTES) {
        Ok(text) => text,
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => return unknown(e.to_string()),
    };
    let doc: serde_json::Value = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => return unknown(format!("not a training summary: {e}")),
    };
    let settings = &doc["settings"];
    let shown = weights.display();
    let mut notes = Vec::new();
    if let Some(trained) = settings["data"].as_str().filter(|d| *d != data_label) {
        notes.push(format!(
            "{shown} was trained on the data {trained} ({}), scored here on {data_label}: a network for other data is a poor model of these",
            path.display()
        ));
    }
    if let Some(trained) = settings["schedule"]
        .as_str()
        .filter(|s| *s != schedule_label)
    {
        notes.push(format!(
            "{shown} was trained under {trained} ({}), scored here under {schedule_label}: it is conditioned on log-SNR, not on t, so it applies; log-SNRs outside its training range are extrapolated",
            path.display()
        ));
    }
    notes
}

/// `--method` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MethodArg {
    /// Deterministic quadrature over x_t through the exact posterior (an error estimate
    /// per row instead of a standard error).
    Quadrature,
    /// Monte Carlo over N pairs (x0, eps) with standard errors, kurtosis and `reliable`.
    MonteCarlo,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Quadrature => Method::Quadrature,
            MethodArg::MonteCarlo => Method::MonteCarlo,
        }
    }
}

/// A resolved schedule with what the config said beside it.
#[derive(Debug, Clone)]
pub struct ResolvedSchedule {
    /// The spec after overrides.
    pub spec: ScheduleSpec,
    /// The computed schedule.
    pub schedule: NoiseSchedule,
    /// The variance type in force.
    pub variance: VarianceType,
    /// `prediction_type` of a config, if any.
    pub prediction_type: Option<String>,
    /// `steps_offset` of a config, if any (the samplers' leading spacing).
    pub steps_offset: Option<usize>,
    /// `timestep_spacing` of a config, if any, as written.
    pub timestep_spacing: Option<String>,
    /// `_class_name` of a config, if any.
    pub class_name: Option<String>,
    /// A short name: the preset's, or the file name without `.scheduler_config.json`.
    pub name: String,
    /// What was made of a config that is not a plain beta schedule (see
    /// `LoadedSchedule::notes`).
    pub notes: Vec<String>,
}

impl ResolvedSchedule {
    /// Say on standard error what was made of a config that is not a plain beta schedule
    /// (`note: ...`, one line each).
    pub fn say_notes(&self) {
        for n in &self.notes {
            super::output::note(&format!("note: {}: {n}\n", self.name));
        }
    }
}

/// Check a Monte Carlo sample count N against the bounds the ELBO itself enforces
/// (`compute_elbo` rejects N outside 2..=MAX_SAMPLES with this error; `report` meets it
/// there), so a subcommand can refuse a bad N before any long work.
pub fn check_samples(n: usize) -> Result<(), ElboError> {
    if (2..=MAX_SAMPLES).contains(&n) {
        Ok(())
    } else {
        Err(ElboError::BadSamples(n))
    }
}

impl Common {
    /// Resolve `--data` (with `--components`, `--width`, `--bandwidth`) to a mixture and a
    /// label. A flag that does not apply to the data is ignored with a warning.
    pub fn resolve_data(&self) -> Result<(GaussianMixture, String)> {
        // A name that is not UTF-8 can only be a file.
        let preset = self.data.to_str().map(DataPreset::parse);
        if let Some(Ok(preset)) = preset {
            if self.bandwidth.is_some() {
                warn(&format!(
                    "--bandwidth applies to a CSV of points; ignored for the {preset} preset"
                ));
            }
            let components = match self.components {
                Some(_) if !preset.has_component_count() => {
                    let shapes: Vec<&str> = DataPreset::ALL
                        .into_iter()
                        .filter(|p| p.has_component_count())
                        .map(DataPreset::name)
                        .collect();
                    warn(&format!(
                        "--components applies to {}; ignored for {preset}",
                        shapes.join(", ")
                    ));
                    0
                }
                // 0 means "the preset's default" to DataSpec; as a flag it is out of range.
                Some(0) => {
                    return Err(anyhow::Error::new(PresetError::BadParameter {
                        field: "components",
                        value: 0.0,
                        range: format!("{MIN_COMPONENTS} to {MAX_COMPONENTS}"),
                    })
                    .context("data"));
                }
                Some(n) => n,
                None => 0,
            };
            let spec = DataSpec {
                preset,
                components,
                width: self.width.unwrap_or(1.0),
            };
            let data = spec.build().context("data")?;
            return Ok((data, preset.name().to_string()));
        }
        let path = self.data.as_path();
        let shown = path.display();
        if !path.exists() {
            anyhow::bail!(
                "data: unknown data preset '{shown}': not a preset (run `elbo-lab presets`) and no such file"
            );
        }
        if self.components.is_some() || self.width.is_some() {
            anyhow::bail!("--components and --width apply to presets, not to a data file");
        }
        let bandwidth = if is_points_file(path) {
            let h = self.bandwidth.unwrap_or(DEFAULT_BANDWIDTH);
            check_bandwidth(h)?;
            h
        } else {
            if self.bandwidth.is_some() {
                warn(&format!(
                    "--bandwidth applies to a CSV of points; ignored for the mixture file {shown}"
                ));
            }
            DEFAULT_BANDWIDTH
        };
        let data = load_mixture_file(path, bandwidth).context("data")?;
        Ok((data, shown.to_string()))
    }

    /// Resolve `--schedule` and its overrides.
    pub fn resolve_schedule(&self) -> Result<ResolvedSchedule> {
        self.check_beta_flags()?;
        let path = self.schedule.as_deref().unwrap_or(Path::new("linear"));
        let name = path.display().to_string();
        // A name that is not UTF-8 can only be a file.
        let preset = path.to_str().map(BetaSchedule::parse);
        let (mut spec, loaded) = match preset {
            Some(Ok(preset)) => (ScheduleSpec::preset(preset, 1000), None),
            _ => {
                if !path.exists() {
                    anyhow::bail!(
                        "schedule: unknown schedule '{name}': not a preset (linear, scaled_linear, squaredcos_cap_v2, sigmoid) and no such file"
                    );
                }
                let loaded = load_schedule_file(path).context("schedule")?;
                (loaded.spec.clone(), Some(loaded))
            }
        };
        let is_config = loaded.as_ref().is_some_and(|l| l.is_config);
        match &mut spec.source {
            BetaSource::Preset {
                schedule,
                beta_start,
                beta_end,
            } => {
                if !schedule.uses_beta_range() {
                    let given: Vec<&str> = [
                        ("--beta-start", self.beta_start),
                        ("--beta-end", self.beta_end),
                    ]
                    .into_iter()
                    .filter_map(|(flag, v)| v.map(|_| flag))
                    .collect();
                    if !given.is_empty() {
                        warn(&format!(
                            "{} {} not apply to {schedule} (its betas have no range); ignored",
                            given.join(" and "),
                            if given.len() == 1 { "does" } else { "do" }
                        ));
                    }
                }
                if let Some(b) = self.beta_start {
                    *beta_start = b;
                }
                if let Some(b) = self.beta_end {
                    *beta_end = b;
                }
                if let Some(t) = self.steps {
                    spec.steps = t;
                }
            }
            BetaSource::Snr { process } => {
                if self.beta_start.is_some() || self.beta_end.is_some() {
                    anyhow::bail!(
                        "--beta-start/--beta-end do not apply to {} (it has no betas)",
                        process.label()
                    );
                }
                if let Some(t) = self.steps {
                    spec.steps = t;
                }
            }
            BetaSource::Custom { betas } => {
                // The betas come from a betas file, or from a config's trained_betas.
                let source = if is_config {
                    "the scheduler config's trained_betas"
                } else {
                    "a betas file"
                };
                if self.beta_start.is_some() || self.beta_end.is_some() {
                    anyhow::bail!("--beta-start/--beta-end do not apply to {source}");
                }
                if let Some(t) = self.steps.filter(|&t| t != betas.len()) {
                    anyhow::bail!(
                        "--steps {t} contradicts {source}, which has {} betas",
                        betas.len()
                    );
                }
            }
        }
        // Name the flag, not the config key, when the rescaling was asked for by the flag.
        let by_flag = self.rescale_zero_snr && !spec.rescale_zero_snr;
        spec.rescale_zero_snr |= self.rescale_zero_snr;
        let schedule = spec.build().map_err(|e| match e {
            ScheduleError::RescaleNeedsTwoSteps if by_flag => anyhow::anyhow!(
                "schedule: --rescale-zero-snr needs T >= 2 (got T = 1): it keeps abar_1 and zeroes abar_T"
            ),
            ScheduleError::Config { key, why, .. }
                if by_flag && key == "rescale_betas_zero_snr" =>
            {
                anyhow::anyhow!("schedule: --rescale-zero-snr: {why}")
            }
            e => anyhow::Error::new(e).context("schedule"),
        })?;
        Ok(ResolvedSchedule {
            spec,
            schedule,
            variance: self
                .variance
                .map(Into::into)
                .or(loaded.as_ref().and_then(|l| l.variance))
                .unwrap_or_default(),
            prediction_type: loaded.as_ref().and_then(|l| l.prediction_type.clone()),
            steps_offset: loaded.as_ref().and_then(|l| l.steps_offset),
            timestep_spacing: loaded.as_ref().and_then(|l| l.timestep_spacing.clone()),
            class_name: loaded.as_ref().and_then(|l| l.class_name.clone()),
            name: loaded.as_ref().and_then(|l| l.name.clone()).unwrap_or(name),
            notes: loaded.map(|l| l.notes).unwrap_or_default(),
        })
    }
}

impl Common {
    /// `--beta-start` and `--beta-end`, when given, must lie in [`BETA_RANGE`] (as a config's
    /// `beta_start` and `beta_end` must): a subnormal beta such as 5e-324 gives a NaN
    /// NELBO, and the error then would blame the model instead of the flag.
    fn check_beta_flags(&self) -> Result<()> {
        for (flag, value) in [
            ("--beta-start", self.beta_start),
            ("--beta-end", self.beta_end),
        ] {
            if let Some(b) = value.filter(|b| !BETA_RANGE.contains(*b)) {
                anyhow::bail!("{flag} {} is {}", number_text(b), BETA_RANGE.refusal());
            }
        }
        Ok(())
    }
}

/// Whether a data file is read as CSV points (the rule of `load_mixture_file`: a `.csv`
/// or `.txt` extension), so that `--bandwidth` applies.
fn is_points_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("txt"))
}

/// `--bandwidth h` must be positive and finite, and the kernel variance h^2 a normal
/// float: a tiny h squares to 0 or a subnormal, which the mixture would reject as a
/// singular covariance of its first component instead of naming the bandwidth.
fn check_bandwidth(h: f64) -> Result<()> {
    if h.is_finite() && h > 0.0 && (h * h).is_normal() {
        return Ok(());
    }
    anyhow::bail!(
        "--bandwidth {} is out of range: it must be a positive number whose square, the kernel variance, is a normal float (about 1.5e-154 to 1.3e154)",
        number_text(h)
    )
}

/// The flags of the desktop app (no subcommand): they apply after the saved state is
/// restored, in this order: scene, tab, zoom, presenter.
#[derive(Debug, Args, Clone, Default)]
pub struct AppArgs {
    /// Open the app at a scene saved with File > Save scene (a versioned JSON file).
    #[arg(long, value_name = "FILE")]
    pub scene: Option<std::path::PathBuf>,
    /// Open this tab: forward, reverse, elbo, params (or parameterisations), step (or
    /// denoising), schedule, training, evidence (any case).
    #[arg(long, value_name = "NAME", value_parser = parse_tab)]
    pub tab: Option<crate::app::settings::View>,
    /// Zoom factor of the whole window, 0.5 to 4 (1.5 or 1.75 for a projector).
    #[arg(long, value_name = "Z", value_parser = parse_zoom, allow_hyphen_values = true)]
    pub zoom: Option<f32>,
    /// Start in presenter mode (side panel hidden; F5 toggles it).
    #[arg(long)]
    pub presenter: bool,
}

/// `--tab NAME`: a tab's slug or one of its aliases (see `views/tab.rs`), in any case.
pub fn parse_tab(name: &str) -> Result<crate::app::settings::View, String> {
    use crate::app::settings::View;
    View::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = View::ALL.iter().map(|v| v.slug()).collect();
        format!("unknown tab '{name}': one of {}", names.join(", "))
    })
}

/// `--zoom Z`: a number in the range the app offers.
pub fn parse_zoom(text: &str) -> Result<f32, String> {
    let range = crate::app::settings::ZOOM_RANGE;
    let z: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number: the zoom is a factor such as 1.5"))?;
    if z.is_finite() && range.contains(&z) {
        Ok(z)
    } else {
        Err(format!(
            "zoom {z} is out of range: it must be between {} and {}",
            range.start(),
            range.end()
        ))
    }
}

impl AppArgs {
    /// What the app applies at start; a scene that cannot be read at all is an error here,
    /// before any window opens.
    pub fn launch(&self) -> Result<crate::app::scene::Launch> {
        let scene = match &self.scene {
            Some(path) => {
                let (scene, notes) = crate::app::scene::Scene::load(path)
                    .map_err(|e| anyhow::anyhow!("--scene: {e}"))?;
                for n in &notes {
                    warn(n);
                }
                Some((path.clone(), scene, notes))
            }
            None => None,
        };
        Ok(crate::app::scene::Launch {
            scene,
            view: self.tab,
            zoom: self.zoom,
            presenter: self.presenter,
        })
    }
}

#[cfg(test)]
mod app_args_tests {
    use super::*;
    use crate::app::settings::View;

    #[test]
    fn tabs_any_case_and_aliases() {
        assert_eq!(parse_tab("Schedule"), Ok(View::Schedule));
        assert_eq!(parse_tab("ELBO"), Ok(View::Elbo));
        assert_eq!(parse_tab("parameterisations"), Ok(View::Params));
        let e = parse_tab("nonsense").expect_err("not a tab");
        assert!(
            e.contains("unknown tab 'nonsense'") && e.contains("training"),
            "{e}"
        );
        assert_eq!(parse_tab("terms"), Ok(View::Elbo));
        for v in View::ALL {
            assert_eq!(parse_tab(v.slug()), Ok(v), "{v:?} has a name");
        }
    }

    #[test]
    fn zoom_in_range_only() {
        assert_eq!(parse_zoom("1.75"), Ok(1.75));
        assert_eq!(parse_zoom("0.5"), Ok(0.5));
        assert!(
            parse_zoom("4.5")
                .expect_err("too big")
                .contains("between 0.5 and 4")
        );
        assert!(parse_zoom("-1").is_err());
        assert!(parse_zoom("NaN").is_err());
        assert!(
            parse_zoom("big")
                .expect_err("not a number")
                .contains("not a number")
        );
    }
}

#[cfg(test)]
mod weights_args_tests {
    use super::*;

    #[test]
    fn the_file_name_says_the_parameterisation() {
        let p = |name: &str| param_from_file_name(Path::new(name));
        assert_eq!(p("run/eps.safetensors"), Some(Parameterisation::Eps));
        assert_eq!(p("x0.safetensors"), Some(Parameterisation::X0));
        assert_eq!(p("/a/b/score.safetensors"), Some(Parameterisation::Score));
        assert_eq!(p("v.safetensors"), Some(Parameterisation::V));
        assert_eq!(p("run/net.safetensors"), None);
        assert_eq!(p("run/eps.safetensors.bak"), None);
        assert_eq!(p("run/eps"), None);
    }

    #[test]
    fn param_labels_any_case() {
        assert_eq!(parse_param("EPS"), Ok(Parameterisation::Eps));
        assert_eq!(parse_param(" v "), Ok(Parameterisation::V));
        let e = parse_param("noise").expect_err("not a label");
        assert!(
            e.contains("'noise'") && e.contains("x0, eps, score, v"),
            "{e}"
        );
    }

    #[test]
    fn a_summary_of_other_settings_is_noted_and_a_matching_one_is_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let weights = dir.path().join("eps.safetensors");
        // No summary: nothing to say.
        assert!(summary_notes(&weights, "bimodal", "linear, T = 50").is_empty());
        let summary = serde_json::json!({
            "settings": {"data": "bimodal", "schedule": "linear 0.0001..0.02, T = 50"}
        });
        std::fs::write(dir.path().join("summary.json"), summary.to_string()).expect("write");
        assert!(summary_notes(&weights, "bimodal", "linear 0.0001..0.02, T = 50").is_empty());
        let notes = summary_notes(&weights, "skewed", "linear 0.0001..0.02, T = 20");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("trained on the data bimodal") && notes[0].contains("skewed"));
        assert!(notes[1].contains("T = 50") && notes[1].contains("T = 20"));
        assert!(notes[1].contains("conditioned on log-SNR"));
        std::fs::write(dir.path().join("summary.json"), "{ not json").expect("write");
        let notes = summary_notes(&weights, "bimodal", "linear 0.0001..0.02, T = 50");
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("could not be read (not a training summary: "),
            "{notes:?}"
        );
    }

    /// The defect: a summary.json that could not be read was ignored without a word (and
    /// a FIFO hung the command, /dev/zero filled gigabytes of memory).
    #[test]
    fn a_summary_that_cannot_be_read_is_noted_with_why() {
        let dir = tempfile::tempdir().expect("temp dir");
        let weights = dir.path().join("eps.safetensors");
        let summary = dir.path().join("summary.json");
        let why = |label: &str| {
            let notes = summary_notes(&weights, "bimodal", "linear, T = 50");
            assert_eq!(notes.len(), 1, "{label}: {notes:?}");
            assert!(
                notes[0].contains("summary.json could not be read (")
                    && notes[0].ends_with("the network's training settings are unknown"),
                "{label}: {notes:?}"
            );
            notes[0].clone()
        };
        std::fs::write(&summary, [0xff, 0xfe, b'{']).expect("write");
        assert!(why("not UTF-8").contains("(not UTF-8 text)"));
        std::fs::File::create(&summary)
            .and_then(|f| f.set_len(MAX_SUMMARY_BYTES + 1))
            .expect("a sparse file");
        assert!(why("too large").contains("(larger than the 1 MiB limit for this file)"));
        std::fs::remove_file(&summary).expect("remove");
        std::fs::create_dir(&summary).expect("a folder");
        assert!(why("a folder").contains("(not a regular file but a folder)"));
        std::fs::remove_dir(&summary).expect("remove");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/dev/zero", &summary).expect("link");
            assert!(why("a device").contains("(not a regular file but a character device)"));
            std::fs::remove_file(&summary).expect("remove");
            let status = std::process::Command::new("mkfifo")
                .arg(&summary)
                .status()
                .expect("mkfifo runs");
            assert!(status.success());
            assert!(why("a FIFO").contains("(not a regular file but a named pipe (FIFO))"));
        }
    }
}
