//! `elbo-lab`: with no subcommand the desktop app opens; `report`, `schedule`, `compare`,
//! `presets`, `sample`, `train` and `evidence` run headless (see `elbo_lab::cli`).

#[cfg(not(test))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    use elbo_lab::cli;

    let args = cli::Cli::parse();
    // Before anything runs in parallel, in the app as in every subcommand.
    if let Err(e) = cli::start_thread_pool() {
        return cli::finish(Err(e));
    }
    let outcome = match args.command {
        Some(command) => cli::run(command),
        None => args.app.launch().and_then(elbo_lab::app::run_native),
    };
    cli::finish(outcome)
}

/// `cargo test --all-targets` builds every binary as a test too (whatever `test = false`
/// says); the code and its tests live in the library, so the test build of `main` is empty
/// and links neither the GUI nor candle.
#[cfg(test)]
fn main() {}
