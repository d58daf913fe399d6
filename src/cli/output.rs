//! Where the subcommands' output goes: a file given by `--out`, or standard output.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

/// Write `text` to `out`, or to standard output when there is no `--out`.
pub fn write_out(out: Option<&PathBuf>, text: &str) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            Ok(())
        }
    }
}
