//! The `elbo-lab` binary does not crash on hostile input or a hostile environment (issue
//! "Crash-proof ELBO Lab", the CLI part): output errors, broken pipes, overflowing and
//! oversized values, unbounded files, flags that do not apply, and error lines that say
//! each thing once and name the right culprit.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use assert_cmd::Command;

fn elbo_lab() -> Command {
    Command::cargo_bin("elbo-lab").expect("the elbo-lab binary is built for integration tests")
}

/// The binary's path, for tests that need `std::process` pipes.
const BIN: &str = env!("CARGO_BIN_EXE_elbo-lab");

/// Run with args, expect failure (status 1) with one line on stderr containing every
/// needle; return that line.
fn fails(args: &[&str], needles: &[&str]) -> String {
    let out = elbo_lab().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "elbo-lab {args:?} should fail with status 1; stderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: stderr is not one line: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: stderr '{}' lacks '{n}'", stderr.trim());
    }
    lines[0].to_string()
}

/// How often `needle` occurs in `haystack`.
fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

// Defect 10: output errors.

#[test]
fn presets_to_a_full_disk_is_a_one_line_error_not_a_panic() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let out = std::process::Command::new(BIN)
        .arg("presets")
        .stdout(full)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: cannot write to standard output"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn report_into_a_closed_pipe_exits_quietly_with_status_0() {
    // CSV of T = 1000 rows is far more than a pipe buffer: the writer meets the closed pipe.
    let mut child = std::process::Command::new(BIN)
        .args([
            "report", "--steps", "1000", "--samples", "16", "--format", "csv", "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("reads the header");
    assert!(first.starts_with("t,term,"), "{first}");
    // The reader is dropped here, as `head -1` exits.
    let out = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "no message on a closed pipe: {stderr}");
}

// Defect 11: each cause said once.

#[test]
fn an_error_and_its_cause_are_said_once() {
    // A bad mixture file: "data: <file>: components[0].weight = -1: ...", once.
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"components": [{"weight": -1, "mean": [0], "cov": [[1]]}]}"#,
    )
    .expect("writes");
    let line = fails(
        &[
            "report",
            "--steps",
            "5",
            "--samples",
            "8",
            "-q",
            "--data",
            bad.to_str().expect("utf-8 path"),
        ],
        &["components[0].weight"],
    );
    assert_eq!(count(&line, "components[0].weight"), 1, "{line}");
    // The evaluation's sample check reached through the trainer's error, which embeds it.
    let out = dir.path().join("run");
    let line = fails(
        &[
            "train",
            "--steps",
            "10",
            "--train-steps",
            "1",
            "--batch",
            "8",
            "--samples",
            "0",
            "--quiet",
            "--out",
            out.to_str().expect("utf-8 path"),
        ],
        &["N = 0"],
    );
    assert_eq!(count(&line, "N = 0"), 1, "{line}");
}
