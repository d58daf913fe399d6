//! `elbo-lab schedule` (docs/report-format.md): the per-t schedule table (beta, abar, log-SNR,
//! sigma~2) and the sanity findings, as text, CSV or JSON.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use elbo_core::report::schedule_rows;
use elbo_core::schedule::{Severity, spec_findings};

use super::args::Common;
use super::output::write_out;

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

/// Run `elbo-lab schedule`.
pub fn run(cmd: ScheduleCmd) -> Result<()> {
    let resolved = cmd.common.resolve_schedule()?;
    let (data, _) = cmd.common.resolve_data()?;
    let findings = spec_findings(&resolved.spec, &resolved.schedule, Some(&data));
    let rows = schedule_rows(&resolved.schedule);
    let text = match cmd.format {
        TableFormat::Json => {
            let doc = serde_json::json!({
                "schedule": resolved.spec.label(),
                "steps": resolved.schedule.steps(),
                "variance": resolved.variance,
                "prediction_type": resolved.prediction_type,
                "class": resolved.class_name,
                "notes": resolved.notes,
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
            // The verdict first, where a reader of a 1000-row table sees it.
            let mut s = format!(
                "schedule: {}   variance: {}\n",
                resolved.spec.label(),
                resolved.variance
            );
            if !resolved.notes.is_empty() {
                s += "\nhow this config is read:\n";
                for n in &resolved.notes {
                    s += &format!("  {n}\n");
                }
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
            s += &format!(
                "\n{:>6}  {:>12}  {:>12}  {:>12}  {:>10}  {:>12}\n",
                "t", "beta", "alpha_bar", "1-alpha_bar", "log_snr", "sigma~2"
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
            s
        }
    };
    write_out(cmd.out.as_deref(), &text)
}
