//! `elbo-lab sample` (docs/report-format.md): generated samples as CSV or JSON, and the
//! sample-quality figures (mean log p0 against the data entropy, energy distance to fresh
//! data).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use elbo_core::denoiser::ModelKind;
use elbo_core::sampler::{
    ENERGY_BATCHES, Quality, SampleControl, SamplerConfig, SamplerError, SamplerKind, Spacing,
    initial_noise, quality, sample_with_data, timesteps, validate,
};

use super::args::{Common, ModelArg};
use super::output::{Sink, note, warn, write_out};

/// The largest `--count`: a million 2D particles, their fresh data twins and their text
/// are a few hundred MB; far more is a typo, not a toy demo.
pub const MAX_COUNT: usize = 1_000_000;

/// `--sampler` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SamplerArg {
    /// DDPM ancestral sampling (variance from --variance).
    Ddpm,
    /// DDIM (stochasticity from --eta).
    Ddim,
}

/// `--spacing` values (diffusers' `timestep_spacing`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SpacingArg {
    /// round(linspace(0, T - 1, K)).
    Linspace,
    /// arange(K) * (T div K) + steps_offset.
    Leading,
    /// round(arange(T, 0, -T/K)) - 1.
    Trailing,
}

/// `--format` values for `sample`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SampleFormat {
    /// One sample per line (columns x or x,y); the quality figures go to standard error
    /// (or standard output when --out is given).
    Csv,
    /// One JSON document: settings, timesteps, quality figures and samples.
    Json,
}

/// `elbo-lab sample`.
#[derive(Debug, Args)]
pub struct SampleCmd {
    #[command(flatten)]
    common: Common,
    /// The denoiser the sampler uses.
    #[arg(long, value_enum, default_value = "optimal")]
    model: ModelArg,
    /// Number of sampling steps K (1..=T).
    #[arg(long, default_value_t = 50, allow_hyphen_values = true)]
    sampling_steps: usize,
    /// Sampler.
    #[arg(long, value_enum, default_value = "ddpm")]
    sampler: SamplerArg,
    /// DDIM's eta in [0, 1] (0 deterministic, 1 the DDPM posterior variance); default 0.
    #[arg(long, allow_hyphen_values = true)]
    eta: Option<f64>,
    /// Which K of the T timesteps (diffusers' timestep_spacing; default: the scheduler
    /// config's, else leading).
    #[arg(long, value_enum)]
    spacing: Option<SpacingArg>,
    /// diffusers' steps_offset for leading spacing (default: the scheduler config's, else
    /// 0, diffusers' default; SD configs use 1).
    #[arg(long, allow_hyphen_values = true)]
    steps_offset: Option<usize>,
    /// Number of samples N (1 to 1,000,000).
    #[arg(long, default_value_t = 1000, allow_hyphen_values = true)]
    count: usize,
    /// Seed of x_T, of the noise on the way and of the fresh data samples.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: SampleFormat,
    /// Write the samples (CSV) or the document (JSON) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn quality_text(q: &Quality) -> String {
    format!(
        "mean log p0(samples) = {:.5} +- {:.5}\n\
         data entropy H(p0)   = {:.5} +- {:.5}  (perfect samples: mean log p0 = -H)\n\
         log p0 gap -mean log p0 - H = {:.5} +- {:.5}\n\
         energy distance D^2  = {:.3e} +- {:.3e}  (to fresh data; {} batches, U-statistic; 0 = same law)\n",
        q.mean_log_p0.mean,
        q.mean_log_p0.stderr,
        q.data_entropy.mean,
        q.data_entropy.stderr,
        q.log_p0_gap.mean,
        q.log_p0_gap.stderr,
        q.energy_distance.mean,
        q.energy_distance.stderr,
        ENERGY_BATCHES
    )
}

/// The spacing a scheduler config asks for (`timestep_spacing`), leading without one.
fn config_spacing(name: Option<&str>) -> Result<Spacing> {
    let Some(name) = name else {
        return Ok(Spacing::Leading);
    };
    Spacing::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "schedule: scheduler config: timestep_spacing = \"{name}\": expected linspace, leading or trailing (--spacing overrides it)"
            )
        })
}

/// Run `elbo-lab sample`.
pub fn run(cmd: SampleCmd) -> Result<()> {
    if !(1..=MAX_COUNT).contains(&cmd.count) {
        anyhow::bail!(
            "count N = {} is out of range: N must be between 1 and {MAX_COUNT} (every sample is held in memory)",
            cmd.count
        );
    }
    let (data, data_label) = cmd.common.resolve_data()?;
    let resolved = cmd.common.resolve_schedule()?;
    resolved.say_notes();
    let sampler = match cmd.sampler {
        SamplerArg::Ddpm => SamplerKind::Ddpm,
        SamplerArg::Ddim => SamplerKind::Ddim,
    };
    // Flags that do not apply to this sampler are ignored, with a word.
    if sampler == SamplerKind::Ddpm && cmd.eta.is_some() {
        warn("--eta applies to ddim only; ignored");
    }
    if sampler == SamplerKind::Ddim && cmd.common.variance.is_some() {
        warn("--variance applies to ddpm only (ddim's noise is set by --eta); ignored");
    }
    let config = SamplerConfig {
        kind: sampler,
        steps: cmd.sampling_steps,
        eta: match sampler {
            SamplerKind::Ddim => cmd.eta.unwrap_or(0.0),
            SamplerKind::Ddpm => 0.0,
        },
        spacing: match cmd.spacing {
            Some(SpacingArg::Linspace) => Spacing::Linspace,
            Some(SpacingArg::Leading) => Spacing::Leading,
            Some(SpacingArg::Trailing) => Spacing::Trailing,
            None => config_spacing(resolved.timestep_spacing.as_deref())?,
        },
        steps_offset: cmd.steps_offset.or(resolved.steps_offset).unwrap_or(0),
        variance: resolved.variance,
    };
    if config.spacing != Spacing::Leading && cmd.steps_offset.is_some() {
        warn(&format!(
            "--steps-offset applies to leading spacing only; ignored with {} spacing",
            config.spacing
        ));
    }
    let schedule = &resolved.schedule;
    validate(schedule, &config).map_err(|e| match e {
        SamplerError::BadOffset { .. } if cmd.steps_offset.is_none() => anyhow::anyhow!(
            "{e}; the offset is the scheduler config's steps_offset (--steps-offset overrides it)"
        ),
        e => e.into(),
    })?;
    let kind = ModelKind::from(cmd.model);
    let model = kind.build(&data);
    let x_t = initial_noise(cmd.count, data.dim(), cmd.seed);
    let run = sample_with_data(
        model.as_ref(),
        schedule,
        &config,
        Some(&data),
        x_t,
        cmd.seed.wrapping_add(1),
        false,
        SampleControl::default(),
    )?;
    // The energy distance needs a few points per batch; below that, no figures.
    let q = quality(&data, run.samples.view(), cmd.seed.wrapping_add(2)).ok();
    let dim = data.dim();
    let header = format!(
        "{} on {} ({}, model {}), N = {}\n",
        config.label(),
        data_label,
        resolved.spec.label(),
        kind.name(),
        cmd.count
    );
    let figures = match &q {
        Some(q) => quality_text(q),
        None => format!(
            "no quality figures: the energy distance needs N >= {}\n",
            2 * ENERGY_BATCHES
        ),
    };
    // The samples go to --out or standard output, row by row (no copy of them as text).
    let mut sink = Sink::open(cmd.out.as_deref())?;
    match cmd.format {
        SampleFormat::Csv => {
            sink.write(if dim == 1 { "x\n" } else { "x,y\n" })?;
            for row in run.samples.rows() {
                let cells: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
                sink.write(&(cells.join(",") + "\n"))?;
            }
        }
        SampleFormat::Json => {
            let samples: Vec<Vec<f64>> =
                run.samples.rows().into_iter().map(|r| r.to_vec()).collect();
            let doc = serde_json::json!({
                "dim": dim,
                "data_source": data_label,
                "schedule": resolved.spec.label(),
                "steps": schedule.steps(),
                "model": kind.name(),
                "sampler": config.kind.name(),
                "sampling_steps": config.steps,
                "eta": config.eta,
                "variance": config.variance,
                "spacing": config.spacing.name(),
                "steps_offset": config.steps_offset,
                "timesteps": timesteps(schedule, &config)?,
                "count": cmd.count,
                "seed": cmd.seed,
                "energy_distance_batches": ENERGY_BATCHES,
                "quality": q,
                "samples": samples,
            });
            sink.write(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
        }
    }
    sink.finish()?;
    // The figures go beside the samples: to standard output when the samples went to a
    // file, to standard error when they went to standard output as CSV.
    if cmd.out.is_some() {
        write_out(None, &format!("{header}{figures}"))?;
    } else if cmd.format == SampleFormat::Csv {
        note(&format!("{header}{figures}"));
    }
    Ok(())
}
