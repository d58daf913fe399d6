//! What every module of the command line's tests uses: the binary, and the repository's
//! test data.

use std::path::PathBuf;

use assert_cmd::Command;

/// The `elbo-lab` binary of this build, as a command to run.
pub fn elbo_lab() -> Command {
    Command::cargo_bin("elbo-lab").expect("the elbo-lab binary is built for integration tests")
}

/// The path of a file of the repository's test data (`tests/data/` at the workspace root:
/// real scheduler configs and point data).
pub fn test_data(file: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(file)
        .display()
        .to_string()
}
