//! `elbo-lab`: with no subcommand the desktop app opens; `report`, `schedule`,
//! `presets`, `sample` and `train` run headless (see `cli`).

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let outcome = match args.command {
        Some(command) => cli::run(command),
        None => elbo_lab::app::run_native(),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, naming what is wrong.
            let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", chain.join(": "));
            std::process::ExitCode::FAILURE
        }
    }
}
