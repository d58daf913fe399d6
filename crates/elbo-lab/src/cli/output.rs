//! Where the subcommands' output goes (a file given by `--out`, or standard output), and
//! notes and warnings on standard error. Every write is checked: a full disk or a closed
//! pipe is an error the caller sees, never a panic (`print!` panics on both).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// A buffered destination for output text that names itself in its errors.
pub struct Sink {
    out: BufWriter<Box<dyn Write>>,
    name: String,
}

impl Sink {
    /// The file `path` (created or truncated), or standard output for `None`.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        Ok(match path {
            Some(path) => {
                let name = path.display().to_string();
                let file = File::create(path).with_context(|| format!("cannot write {name}"))?;
                Sink {
                    out: BufWriter::new(Box::new(file)),
                    name,
                }
            }
            None => Sink::stdout(),
        })
    }

    /// Standard output.
    pub fn stdout() -> Self {
        Sink {
            out: BufWriter::new(Box::new(std::io::stdout())),
            name: "to standard output".into(),
        }
    }

    /// Write `text`.
    pub fn write(&mut self, text: &str) -> Result<()> {
        let name = &self.name;
        self.out
            .write_all(text.as_bytes())
            .with_context(|| format!("cannot write {name}"))
    }

    /// Flush everything written (the last chance to see a write error).
    pub fn finish(mut self) -> Result<()> {
        let name = &self.name;
        self.out
            .flush()
            .with_context(|| format!("cannot write {name}"))
    }
}

/// Write `text` to `out`, or to standard output when there is no `--out`.
pub fn write_out(out: Option<&Path>, text: &str) -> Result<()> {
    let mut sink = Sink::open(out)?;
    sink.write(text)?;
    sink.finish()
}

/// Write `text` to standard error as it is. A failure is ignored: standard error is where
/// failures would be reported, so there is nowhere left to say it.
pub fn note(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// One line `warning: {message}` on standard error; the command carries on.
pub fn warn(message: &str) {
    note(&format!("warning: {message}\n"));
}

/// Make sure the directory `dir` exists (creating it) and that a file can be created in
/// it, so that a run that writes there at the end fails before its long work, not after.
pub fn ensure_writable_dir(dir: &Path) -> Result<()> {
    let shown = dir.display();
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {shown}: cannot create the directory"))?;
    let probe = dir.join(format!(".elbo-lab-write-test-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| format!("--out {shown}: cannot write in the directory"))?;
    std::fs::remove_file(&probe)
        .with_context(|| format!("--out {shown}: cannot remove {}", probe.display()))
}

/// A progress bar over timesteps for a long computation that reports the steps done from
/// any thread (possibly out of order: the bar only moves forward). Hidden when not asked
/// for; indicatif also hides it when stderr is not a terminal.
pub struct StepProgress {
    bar: Option<indicatif::ProgressBar>,
    last: std::sync::atomic::AtomicU64,
}

impl StepProgress {
    /// A bar of `total` steps labelled `message` (`unit` before the counts, e.g. "t "), or
    /// none when `show` is false.
    pub fn new(show: bool, total: u64, message: &'static str, unit: &str) -> Self {
        let bar = show.then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(&format!(
                    "{{spinner}} {{msg}} [{{bar:40}}] {unit}{{pos}}/{{len}} ({{eta}})"
                ))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(message);
            bar
        });
        StepProgress {
            bar,
            last: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `done` steps are finished.
    pub fn step(&self, done: usize) {
        if let Some(bar) = &self.bar {
            let prev = self
                .last
                .fetch_max(done as u64, std::sync::atomic::Ordering::Relaxed);
            if done as u64 > prev {
                bar.set_position(done as u64);
            }
        }
    }

    /// Remove the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
