//! The command line (docs/report-format.md): `report`, `schedule`, `compare`, `presets`, `sample`,
//! `train`, `evidence`.
//!
//! `args` holds the flags every subcommand shares and their resolution into library
//! values; each subcommand has its own file and uses `args` and the library, never another
//! subcommand.

pub mod args;
mod compare;
mod evidence;
mod output;
mod presets;
mod report;
mod sample;
mod schedule;
mod train;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// ELBO Lab: the evidence lower bound of a diffusion model, term by term, on exact toy data.
#[derive(Debug, Parser)]
#[command(
    name = "elbo-lab",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// The desktop app's flags (`--scene`, `--tab`, `--zoom`, `--presenter`).
    #[command(flatten)]
    pub app: args::AppArgs,
    /// What to do; with none, the desktop app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the ELBO table (per-timestep terms with standard errors) as JSON or CSV.
    Report(report::ReportCmd),
    /// Print the per-timestep schedule table and the sanity findings.
    Schedule(schedule::ScheduleCmd),
    /// Compare schedules (presets or configs) on the same data: log-SNR range, abar_T,
    /// prior term, NELBO and paired differences to the first.
    Compare(compare::CompareCmd),
    /// Generate samples with DDPM or DDIM and print sample-quality figures.
    Sample(sample::SampleCmd),
    /// List every data preset, schedule preset and model, one line each.
    Presets,
    /// Train one network per parameterisation; write weights and a JSON summary.
    Train(train::TrainCmd),
    /// The model's own marginal p_theta(x0), the ELBO of each point, and NELBO - H(p0) =
    /// KL(p0 || p_theta) + mean bound gap, as JSON (1D data).
    Evidence(evidence::EvidenceCmd),
}

/// Run one subcommand.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Report(cmd) => report::run(cmd),
        Command::Schedule(cmd) => schedule::run(cmd),
        Command::Compare(cmd) => compare::run(cmd),
        Command::Sample(cmd) => sample::run(cmd),
        Command::Presets => presets::run(),
        Command::Train(cmd) => train::run(cmd),
        Command::Evidence(cmd) => evidence::run(cmd),
    }
}

/// The exit status of a finished command, after saying what went wrong in one line on
/// standard error (`error: ...`, status 1).
///
/// A closed pipe on the output (`elbo-lab report | head`) is not a failure: the reader took
/// what it wanted and left. As most command-line tools that handle it do (ripgrep, fd),
/// `elbo-lab` then stops quietly with status 0, not 1 with a "Broken pipe" message and not
/// 141 (128 + SIGPIPE, what a tool killed by the signal reports), so that
/// `set -o pipefail` scripts do not fail on `| head`.
pub fn finish(outcome: Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            output::note(&format!("error: {}\n", error_line(&e)));
            ExitCode::FAILURE
        }
    }
}

/// Whether an error comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes as one line, each cause said once: `context: cause: ...`.
/// Many errors already print their source inside their own message (thiserror's
/// `"network: {0}"` with `#[from]`), so a cause whose text is already in the line is
/// skipped rather than repeated.
fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    // One line, whatever a message holds.
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("network: {0}")]
    struct Embeds(#[from] std::io::Error);

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = anyhow::Error::new(Embeds(io)).context("cannot save");
        assert_eq!(error_line(&e), "cannot save: network: denied");
    }

    #[test]
    fn a_broken_pipe_is_recognised_under_context() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let e = anyhow::Error::new(io).context("cannot write to standard output");
        assert!(is_broken_pipe(&e));
    }
}
