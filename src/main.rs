//! `elbo-lab`: with no subcommand the desktop app opens; `report`, `schedule`,
//! `presets`, `sample` and `train` run headless (see `cli`).

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let outcome = match args.command {
        Some(command) => cli::run(command),
        None => args.app.launch().and_then(elbo_lab::app::run_native),
    };
    cli::finish(outcome)
}
