//! `elbo-lab report`: the ELBO table as JSON or CSV (the report format:
//! docs/report-format.md).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use elbo_core::elbo::{Control, ElboConfig, Method, compute_elbo};
use elbo_core::report::Report;

use super::args::{Common, MethodArg, ModelArg, WeightsArgs, check_samples};
use super::output::{StepProgress, write_out};

/// `--format` values for `report`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    /// The JSON document (the report format: docs/report-format.md).
    Json,
    /// The per-timestep table.
    Csv,
}

/// `elbo-lab report`.
#[derive(Debug, Args)]
pub struct ReportCmd {
    #[command(flatten)]
    common: Common,
    /// The model whose ELBO is computed (a closed form; --weights for a trained network).
    #[arg(long, value_enum, default_value = "optimal")]
    model: ModelArg,
    #[command(flatten)]
    weights: WeightsArgs,
    /// How the ELBO rows, totals and H(p0) are computed: quadrature (to many digits, with an
    /// error estimate) or Monte Carlo (with standard errors).
    #[arg(long, value_enum, default_value = "quadrature")]
    method: MethodArg,
    /// Monte Carlo samples N (the same N pairs serve every t; under quadrature only the
    /// eq. 45 form uses them).
    #[arg(long, default_value_t = 4096, allow_hyphen_values = true)]
    samples: usize,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
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

/// Run `elbo-lab report`.
pub fn run(cmd: ReportCmd) -> Result<()> {
    check_samples(cmd.samples)?;
    let (data, data_label) = cmd.common.resolve_data()?;
    let resolved = cmd.common.resolve_schedule()?;
    resolved.say_notes();
    let model = cmd
        .weights
        .model(cmd.model, &data, &data_label, &resolved)?;
    let config = ElboConfig {
        samples: cmd.samples,
        seed: cmd.seed,
        variance: resolved.variance,
        consistency: cmd.consistency,
        method: cmd.method.into(),
    };
    let steps = resolved.schedule.steps() as u64;
    // A bar only for runs long enough to notice (indicatif hides it when stderr is no terminal).
    let work = match config.method {
        Method::MonteCarlo => steps as f64 * cmd.samples as f64 * data.len() as f64,
        Method::Quadrature => 0.0,
    };
    let progress = StepProgress::new(!cmd.quiet && work > 5e7, steps, "ELBO terms", "t ");
    let on_step = |done: usize| progress.step(done);
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
    progress.finish();
    let label = resolved.spec.label();
    let rep = Report {
        result: &result,
        data: &data,
        data_source: &data_label,
        schedule: &resolved.schedule,
        schedule_label: &label,
        spec: Some(&resolved.spec),
    };
    let text = match cmd.format {
        ReportFormat::Json => rep.to_json() + "\n",
        ReportFormat::Csv => rep.to_csv(),
    };
    write_out(cmd.out.as_deref(), &text)
}
