//! The command line (SPEC §6, §7): `report`, `schedule`, `presets`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use elbo_lab::denoiser::ModelKind;
use elbo_lab::elbo::{Control, McConfig, compute_elbo};
use elbo_lab::presets::DataPreset;
use elbo_lab::report::{
    DEFAULT_BANDWIDTH, DataArgs, Report, ScheduleArgs, resolve_data, resolve_schedule,
    schedule_rows,
};
use elbo_lab::schedule::{BetaSchedule, Severity, VarianceType, sanity_findings};

/// ELBO Lab: the evidence lower bound of a diffusion model, term by term, on exact toy data.
#[derive(Debug, Parser)]
#[command(name = "elbo-lab", version, about, long_about = None)]
pub struct Cli {
    /// What to do; with none, the desktop app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the ELBO table (per-timestep terms with standard errors) as JSON or CSV.
    Report(ReportCmd),
    /// Print the per-timestep schedule table and the sanity findings.
    Schedule(ScheduleCmd),
    /// Generate samples with DDPM or DDIM and print sample-quality figures.
    Sample(crate::cli_sample::SampleCmd),
    /// List every data preset, schedule preset and model, one line each.
    Presets,
    /// Train one network per parameterisation; write weights and a JSON summary.
    Train(crate::cli_train::TrainCmd),
}

/// Data and schedule flags shared by the subcommands.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Data: a preset name (see `elbo-lab presets`) or a file: mixture JSON or CSV of points.
    #[arg(long, default_value = "bimodal")]
    pub data: String,
    /// Components for shape presets (two-moons, swiss-roll, ...).
    #[arg(long)]
    pub components: Option<usize>,
    /// Multiply every preset component's standard deviation.
    #[arg(long)]
    pub width: Option<f64>,
    /// Kernel bandwidth for a CSV of points (each point becomes N(x_i, h^2 I)).
    #[arg(long, default_value_t = DEFAULT_BANDWIDTH)]
    pub bandwidth: f64,
    /// Schedule: a preset (linear, scaled_linear, squaredcos_cap_v2, sigmoid) or a file:
    /// a diffusers scheduler_config.json, a JSON array of betas, or one beta per line.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Number of timesteps T (overrides a config's num_train_timesteps).
    #[arg(long)]
    pub steps: Option<usize>,
    /// beta_start (overrides a config's value).
    #[arg(long, allow_negative_numbers = true)]
    pub beta_start: Option<f64>,
    /// beta_end (overrides a config's value).
    #[arg(long, allow_negative_numbers = true)]
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
}

impl From<VarianceArg> for VarianceType {
    fn from(v: VarianceArg) -> Self {
        match v {
            VarianceArg::FixedSmall => VarianceType::FixedSmall,
            VarianceArg::FixedLarge => VarianceType::FixedLarge,
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

/// `--format` values for `report`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    /// The JSON document of SPEC §6.
    Json,
    /// The per-timestep table.
    Csv,
}

/// `--format` values for `schedule`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TableFormat {
    /// Aligned columns for people.
    Text,
    /// CSV.
    Csv,
    /// JSON.
    Json,
}

/// `elbo-lab report`.
#[derive(Debug, Args)]
pub struct ReportCmd {
    #[command(flatten)]
    common: Common,
    /// The model whose ELBO is computed.
    #[arg(long, value_enum, default_value = "optimal")]
    model: ModelArg,
    /// Monte Carlo samples N (the same N pairs serve every t).
    #[arg(long, default_value_t = 4096)]
    samples: usize,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: ReportFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also estimate Luo's eq. 45 (consistency terms) on the same samples.
    #[arg(long)]
    consistency: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// `elbo-lab schedule`.
#[derive(Debug, Args)]
pub struct ScheduleCmd {
    #[command(flatten)]
    common: Common,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TableFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Common {
    pub(crate) fn data_args(&self) -> DataArgs {
        DataArgs {
            data: self.data.clone(),
            components: self.components,
            width: self.width,
            bandwidth: self.bandwidth,
        }
    }

    pub(crate) fn schedule_args(&self) -> ScheduleArgs {
        ScheduleArgs {
            schedule: self.schedule.clone(),
            steps: self.steps,
            beta_start: self.beta_start,
            beta_end: self.beta_end,
            rescale_zero_snr: self.rescale_zero_snr,
            variance: self.variance.map(Into::into),
        }
    }
}

fn write_out(out: Option<&PathBuf>, text: &str) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            Ok(())
        }
    }
}

/// Run one subcommand.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Report(cmd) => report(cmd),
        Command::Schedule(cmd) => schedule(cmd),
        Command::Sample(cmd) => crate::cli_sample::run(cmd),
        Command::Presets => {
            print!("{}", presets_text());
            Ok(())
        }
        Command::Train(cmd) => crate::cli_train::run(cmd),
    }
}

fn report(cmd: ReportCmd) -> Result<()> {
    let (data, data_label) = resolve_data(&cmd.common.data_args())?;
    let resolved = resolve_schedule(&cmd.common.schedule_args())?;
    let kind = match cmd.model {
        ModelArg::Optimal => ModelKind::Optimal,
        ModelArg::Gaussian => ModelKind::Gaussian,
    };
    let model = kind.build(&data);
    let config = McConfig {
        samples: cmd.samples,
        seed: cmd.seed,
        variance: resolved.variance,
        consistency: cmd.consistency,
    };
    let steps = resolved.schedule.steps() as u64;
    // A bar only for runs long enough to notice (indicatif hides it when stderr is no terminal).
    let work = steps as f64 * cmd.samples as f64 * data.len() as f64;
    let bar = (!cmd.quiet && work > 5e7).then(|| {
        let bar = ProgressBar::new(steps);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:40}] t {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message("ELBO terms");
        bar
    });
    let last = AtomicU64::new(0);
    let on_step = |done: usize| {
        if let Some(bar) = &bar {
            let prev = last.fetch_max(done as u64, Ordering::Relaxed);
            if done as u64 > prev {
                bar.set_position(done as u64);
            }
        }
    };
    let result = compute_elbo(
        &data,
        &resolved.schedule,
        model.as_ref(),
        &config,
        Control {
            on_step: Some(&on_step),
            cancel: None,
        },
    )?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let label = resolved.spec.label();
    let rep = Report {
        result: &result,
        data: &data,
        data_source: &data_label,
        schedule: &resolved.schedule,
        schedule_label: &label,
    };
    let text = match cmd.format {
        ReportFormat::Json => rep.to_json() + "\n",
        ReportFormat::Csv => rep.to_csv(),
    };
    write_out(cmd.out.as_ref(), &text)
}

fn schedule(cmd: ScheduleCmd) -> Result<()> {
    let resolved = resolve_schedule(&cmd.common.schedule_args())?;
    let (data, _) = resolve_data(&cmd.common.data_args())?;
    let findings = sanity_findings(&resolved.schedule, Some(&data));
    let rows = schedule_rows(&resolved.schedule);
    let text = match cmd.format {
        TableFormat::Json => {
            let doc = serde_json::json!({
                "schedule": resolved.spec.label(),
                "steps": resolved.schedule.steps(),
                "variance": resolved.variance,
                "prediction_type": resolved.prediction_type,
                "terminal_alpha_bar": resolved.schedule.terminal_abar(),
                "findings": findings,
                "timesteps": rows,
            });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        TableFormat::Csv => {
            let mut s =
                String::from("t,beta,alpha_bar,one_minus_alpha_bar,log_snr,posterior_variance\n");
            for r in &rows {
                s += &format!(
                    "{},{:e},{:e},{:e},{},{:e}\n",
                    r.t,
                    r.beta,
                    r.alpha_bar,
                    r.one_minus_alpha_bar,
                    r.log_snr.map(|v| format!("{v:e}")).unwrap_or_default(),
                    r.posterior_variance
                );
            }
            s
        }
        TableFormat::Text => {
            let mut s = format!(
                "schedule: {}   variance: {}\n\n{:>6}  {:>12}  {:>12}  {:>12}  {:>10}  {:>12}\n",
                resolved.spec.label(),
                resolved.variance,
                "t",
                "beta",
                "alpha_bar",
                "1-alpha_bar",
                "log_snr",
                "sigma~2"
            );
            for r in &rows {
                s += &format!(
                    "{:>6}  {:>12.5e}  {:>12.5e}  {:>12.5e}  {:>10}  {:>12.5e}\n",
                    r.t,
                    r.beta,
                    r.alpha_bar,
                    r.one_minus_alpha_bar,
                    r.log_snr
                        .map(|v| format!("{v:.4}"))
                        .unwrap_or_else(|| "undefined".into()),
                    r.posterior_variance
                );
            }
            s += "\nfindings:\n";
            if findings.is_empty() {
                s += "  none: the schedule looks sane for these data\n";
            }
            for f in &findings {
                let tag = match f.severity {
                    Severity::Info => "info",
                    Severity::Warning => "warning",
                };
                s += &format!("  [{tag}] {}\n", f.message);
            }
            s
        }
    };
    write_out(cmd.out.as_ref(), &text)
}

/// The text of `elbo-lab presets`.
pub fn presets_text() -> String {
    let mut s = String::from("data presets:\n");
    for p in DataPreset::ALL {
        s += &format!("  {:<16} {}D  {}\n", p.name(), p.dim(), p.description());
    }
    s += "schedule presets:\n";
    for b in BetaSchedule::ALL {
        s += &format!("  {:<18} {}\n", b.name(), b.formula());
    }
    s += "models:\n";
    for m in ModelKind::ALL {
        s += &format!("  {:<10} {}\n", m.name(), m.description());
    }
    s += "variance types:\n  fixed_small  sigma_t^2 = posterior variance sigma~2_t\n  fixed_large  sigma_t^2 = beta_t\n";
    s
}
