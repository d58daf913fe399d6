//! `elbo-lab compare A B C ... --data D` (issue 13): one row per schedule (a preset or a
//! scheduler config) with its log-SNR range, abar_T, prior term, NELBO and the paired
//! difference to the first, as text, CSV or JSON. The table is `elbo_core::compare`'s.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use elbo_core::compare::{CompareConfig, CompareEntry, TableFormat, compare};
use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::Control;

use super::args::{Common, MethodArg, ModelArg, check_samples};
use super::output::write_out;

/// `--format` values for `compare`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompareFormat {
    /// Aligned columns, then each schedule's notes and findings.
    Text,
    /// One line per schedule.
    Csv,
    /// One JSON document.
    Json,
}

/// `elbo-lab compare`.
#[derive(Debug, Args)]
pub struct CompareCmd {
    /// The schedules: presets (linear, scaled_linear, squaredcos_cap_v2, sigmoid) or files
    /// (a diffusers scheduler_config.json, betas). Differences are to the first.
    #[arg(required = true, value_name = "SCHEDULE")]
    schedules: Vec<PathBuf>,
    #[command(flatten)]
    common: Common,
    /// The model whose NELBO is computed under each schedule.
    #[arg(long, value_enum, default_value = "optimal")]
    model: ModelArg,
    /// How each NELBO is computed: quadrature (as `report`, the default) or Monte Carlo on
    /// the same (x0, eps) pairs for every schedule (paired differences).
    #[arg(long, value_enum, default_value = "quadrature")]
    method: MethodArg,
    /// Monte Carlo samples N, the same (x0, eps) pairs for every schedule (Monte Carlo only).
    #[arg(long, default_value_t = 2048, allow_hyphen_values = true)]
    samples: usize,
    /// Seed of the shared draw.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: CompareFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Run `elbo-lab compare`.
pub fn run(cmd: CompareCmd) -> Result<()> {
    if cmd.common.schedule.is_some() {
        anyhow::bail!(
            "compare takes its schedules as arguments (elbo-lab compare A B C --data D), not --schedule"
        );
    }
    check_samples(cmd.samples)?;
    let (data, data_label) = cmd.common.resolve_data()?;
    let mut entries = Vec::with_capacity(cmd.schedules.len());
    for name in &cmd.schedules {
        let mut common = cmd.common.clone();
        common.schedule = Some(name.clone());
        let resolved = common.resolve_schedule()?;
        entries.push(CompareEntry {
            name: resolved.name.clone(),
            class_name: resolved.class_name.clone(),
            spec: resolved.spec.clone(),
            variance: resolved.variance,
            notes: resolved.notes.clone(),
        });
    }
    let config = CompareConfig {
        method: cmd.method.into(),
        samples: cmd.samples,
        seed: cmd.seed,
        model: ModelKind::from(cmd.model),
    };
    let table = compare(&data, &data_label, &entries, &config, Control::default())?;
    let format = match cmd.format {
        CompareFormat::Text => TableFormat::Text,
        CompareFormat::Csv => TableFormat::Csv,
        CompareFormat::Json => TableFormat::Json,
    };
    write_out(cmd.out.as_deref(), &table.render(format))
}
