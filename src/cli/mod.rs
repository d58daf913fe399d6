//! The command line (SPEC §6, §7): `report`, `schedule`, `presets`, `sample`, `train`.
//!
//! `args` holds the flags every subcommand shares and their resolution into library
//! values; each subcommand has its own file and uses `args` and the library, never another
//! subcommand.

mod args;
mod output;
mod presets;
mod report;
mod sample;
mod schedule;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    Report(report::ReportCmd),
    /// Print the per-timestep schedule table and the sanity findings.
    Schedule(schedule::ScheduleCmd),
    /// Generate samples with DDPM or DDIM and print sample-quality figures.
    Sample(sample::SampleCmd),
    /// List every data preset, schedule preset and model, one line each.
    Presets,
    /// Train one network per parameterisation; write weights and a JSON summary.
    Train(train::TrainCmd),
}

/// Run one subcommand.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Report(cmd) => report::run(cmd),
        Command::Schedule(cmd) => schedule::run(cmd),
        Command::Sample(cmd) => sample::run(cmd),
        Command::Presets => presets::run(),
        Command::Train(cmd) => train::run(cmd),
    }
}
