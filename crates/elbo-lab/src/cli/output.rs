//! Where the subcommands' output goes (a file given by `--out`, or standard output), and
//! notes and warnings on standard error. Every write is checked: a full disk or a closed
//! pipe is an error the caller sees, never a panic (`print!` panics on both).
//!
//! A file is written whole or not at all: the text goes to a temporary file beside the
//! target, which replaces the target only once everything is written and flushed to disk
//! ([`elbo_core::files::AtomicFile`]). An error, a kill or a power cut on the way leaves an
//! existing file as it was. A link to a file replaces the file it points to (the link
//! stays); a device or a named pipe (`--out /dev/null`, a FIFO) is written in place, as
//! there is no file to replace.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use elbo_core::files::AtomicFile;

/// Where a [`Sink`] writes.
enum Destination {
    /// Standard output, buffered.
    Stdout(BufWriter<std::io::Stdout>),
    /// A file that replaces its target at [`Sink::finish`].
    File(AtomicFile),
    /// A device or a named pipe, written in place.
    Special(BufWriter<std::fs::File>),
}

impl Destination {
    /// Where writing `path` goes: a device or a named pipe in place (as command-line tools
    /// write `--out /dev/stdout`), anything else through a temporary file that replaces
    /// the file `path` names (the target of a link; a folder is refused by its kind).
    fn file(path: &Path) -> std::io::Result<Self> {
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => {
                let file = std::fs::OpenOptions::new().write(true).open(path)?;
                Ok(Destination::Special(BufWriter::new(file)))
            }
            _ => Ok(Destination::File(AtomicFile::create(path)?)),
        }
    }
}

/// A buffered destination for output text that names itself in its errors.
pub struct Sink {
    out: Destination,
    name: String,
}

impl Sink {
    /// The file `path` (replaced as a whole at [`Sink::finish`]; dropped before that, it
    /// leaves the target untouched), or standard output for `None`.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        Ok(match path {
            Some(path) => {
                let name = path.display().to_string();
                let out =
                    Destination::file(path).with_context(|| format!("cannot write {name}"))?;
                Sink { out, name }
            }
            None => Sink::stdout(),
        })
    }

    /// Standard output.
    pub fn stdout() -> Self {
        Sink {
            out: Destination::Stdout(BufWriter::new(std::io::stdout())),
            name: "to standard output".into(),
        }
    }

    /// Write `text`.
    pub fn write(&mut self, text: &str) -> Result<()> {
        let name = &self.name;
        let written = match &mut self.out {
            Destination::Stdout(out) => out.write_all(text.as_bytes()),
            Destination::File(file) => file.write_all(text.as_bytes()),
            Destination::Special(out) => out.write_all(text.as_bytes()),
        };
        written.with_context(|| format!("cannot write {name}"))
    }

    /// Flush everything written (the last chance to see a write error); a file then
    /// replaces its target.
    pub fn finish(self) -> Result<()> {
        let name = &self.name;
        let done = match self.out {
            Destination::Stdout(mut out) => out.flush(),
            Destination::File(file) => file.commit(),
            Destination::Special(mut out) => out.flush(),
        };
        done.with_context(|| format!("cannot write {name}"))
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

/// Make sure the directory `dir` exists (creating it) and that a file can be written in
/// it, so that a run that writes there at the end fails before its long work, not after.
/// The check is the first half of the later writes themselves: a temporary file is created
/// beside where `summary.json` will go, then dropped, which deletes it.
pub fn ensure_writable_dir(dir: &Path) -> Result<()> {
    let shown = dir.display();
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {shown}: cannot create the directory"))?;
    AtomicFile::create(&dir.join("summary.json"))
        .map(drop)
        .with_context(|| format!("--out {shown}: cannot write in the directory"))
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
