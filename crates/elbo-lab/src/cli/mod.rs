//! The command line (docs/report-format.md): `report`, `schedule`, `compare`, `presets`, `sample`,
//! `train`, `evidence`, `export`.
//!
//! `args` holds the flags every subcommand shares and their resolution into library
//! values; each subcommand has its own file and uses `args` and the library, never another
//! subcommand.

pub mod args;
mod compare;
mod evidence;
mod export;
mod output;
mod presets;
mod report;
mod sample;
mod schedule;
mod train;

use std::process::ExitCode;

use anyhow::{Context, Result};
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
    /// Draw one plot of the app off screen as a PNG (title, legend, axes), or as a GIF over
    /// t of a plot that changes with t; `--list-plots` lists the plots.
    Export(export::ExportCmd),
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
        Command::Export(cmd) => export::run(cmd),
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

/// The most worker threads ELBO Lab starts, whatever `RAYON_NUM_THREADS` asks: more than
/// a few per core only costs memory and start-up time (100,000 threads took minutes to
/// start, or made rayon panic when the system refused one).
pub const MAX_THREADS: usize = 256;

/// How many worker threads to start for `RAYON_NUM_THREADS = requested` on a machine with
/// `cores` cores, and a note to print when the request is not followed as given.
///
/// Absent, empty or 0: `cores` (rayon's default). Not a whole number: `cores`, with a note.
/// Above the cap, `4 x cores` but at most [`MAX_THREADS`]: the cap, with a note.
pub fn thread_count(requested: Option<&std::ffi::OsStr>, cores: usize) -> (usize, Option<String>) {
    let cores = cores.max(1);
    let cap = cores.saturating_mul(4).min(MAX_THREADS);
    let Some(requested) = requested else {
        return (cores, None);
    };
    let text = requested.to_string_lossy();
    match text.trim().parse::<usize>() {
        _ if text.trim().is_empty() => (cores, None),
        Ok(0) => (cores, None),
        Ok(n) if n > cap => (
            cap,
            Some(format!(
                "note: RAYON_NUM_THREADS={n} is more than {cap} worker threads (4 per core, at most {MAX_THREADS}); using {cap}"
            )),
        ),
        Ok(n) => (n, None),
        Err(_) => (
            cores,
            Some(format!(
                "note: RAYON_NUM_THREADS={text} is not a whole number of threads; using {cores}, one per core"
            )),
        ),
    }
}

/// Start rayon's global thread pool with a bounded number of threads (see
/// [`thread_count`]), before anything uses it, saying on standard error when
/// `RAYON_NUM_THREADS` was not followed as given. Call it first thing in `main`.
///
/// # Errors
/// One line when the threads cannot be started (the system refused them), instead of the
/// panic rayon would raise at the first parallel loop.
pub fn start_thread_pool() -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let (threads, note) = thread_count(std::env::var_os("RAYON_NUM_THREADS").as_deref(), cores);
    if let Some(note) = note {
        output::note(&format!("{note}\n"));
    }
    // An explicit count: rayon would otherwise read RAYON_NUM_THREADS itself.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .with_context(|| format!("cannot start {threads} worker threads"))
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
    fn the_thread_count_is_bounded_and_a_bad_request_is_noted() {
        use std::ffi::OsStr;
        let count = |v: Option<&str>, cores| thread_count(v.map(OsStr::new), cores);
        assert_eq!(count(None, 2), (2, None));
        assert_eq!(count(Some("0"), 2), (2, None));
        assert_eq!(count(Some(""), 2), (2, None));
        assert_eq!(count(Some("3"), 2), (3, None));
        assert_eq!(count(Some("8"), 2), (8, None));
        let (n, note) = count(Some("100000"), 2);
        assert_eq!(n, 8);
        assert_eq!(
            note.as_deref(),
            Some(
                "note: RAYON_NUM_THREADS=100000 is more than 8 worker threads (4 per core, at most 256); using 8"
            )
        );
        assert_eq!(count(Some("100000"), 128).0, MAX_THREADS);
        let (n, note) = count(Some("many"), 2);
        assert_eq!(n, 2);
        assert!(note.is_some_and(|n| n.contains("RAYON_NUM_THREADS=many is not a whole number")),);
        assert_eq!(count(Some("-1"), 4).0, 4);
    }

    #[test]
    fn a_broken_pipe_is_recognised_under_context() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let e = anyhow::Error::new(io).context("cannot write to standard output");
        assert!(is_broken_pipe(&e));
    }
}
