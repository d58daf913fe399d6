//! The `elbo-lab` binary does not crash on hostile input or a hostile environment (issue
//! "Crash-proof ELBO Lab", the CLI part): output errors, broken pipes, overflowing and
//! oversized values, unbounded files, flags that do not apply, and error lines that say
//! each thing once and name the right culprit.

use super::common::{elbo_lab, test_data};

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

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
        assert!(
            stderr.contains(n),
            "{args:?}: stderr '{}' lacks '{n}'",
            stderr.trim()
        );
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
    assert!(
        stderr.starts_with("error: cannot write to standard output"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn report_into_a_closed_pipe_exits_quietly_with_status_0() {
    // CSV of T = 1000 rows is far more than a pipe buffer: the writer meets the closed pipe.
    let mut child = std::process::Command::new(BIN)
        .args([
            "report",
            "--steps",
            "1000",
            "--samples",
            "16",
            "--format",
            "csv",
            "-q",
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

// Defect 4: steps_offset.

/// Run with args, expect success, parse stdout as JSON.
fn ok_json(args: &[&str]) -> serde_json::Value {
    let out = elbo_lab().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "elbo-lab {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn a_huge_steps_offset_is_an_error_naming_it_not_a_panic_or_nan() {
    // Near usize::MAX the offset overflowed: a panic (debug) or wrapped timesteps whose
    // samples were NaN (release).
    for offset in ["18446744073709551610", "18446744073709551615"] {
        fails(
            &[
                "sample",
                "--spacing",
                "leading",
                "--steps-offset",
                offset,
                "--count",
                "20",
            ],
            &[&format!("steps_offset = {offset}"), "T - 1 = 999"],
        );
    }
}

#[test]
fn sample_takes_steps_offset_and_spacing_from_the_config_unless_flags_override() {
    let base = [
        "sample",
        "--sampling-steps",
        "10",
        "--count",
        "20",
        "--format",
        "json",
    ];
    // SDXL's config: timestep_spacing linspace, steps_offset 1.
    let sdxl = test_data("sdxl-euler-ancestral.scheduler_config.json");
    let doc = ok_json(&[&base[..], &["--schedule", &sdxl]].concat());
    assert_eq!(doc["spacing"], "linspace");
    assert_eq!(doc["steps_offset"], 1);
    let doc = ok_json(&[&base[..], &["--schedule", &sdxl, "--spacing", "trailing"]].concat());
    assert_eq!(doc["spacing"], "trailing");
    // Stable Diffusion 1.5: steps_offset 1, no timestep_spacing (leading): diffusers'
    // 901, 801, ..., 1 for K = 10, as the core's t = tau + 1.
    let sd = test_data("stable-diffusion-v1-5.scheduler_config.json");
    let doc = ok_json(&[&base[..], &["--schedule", &sd]].concat());
    assert_eq!(doc["spacing"], "leading");
    assert_eq!(doc["steps_offset"], 1);
    assert_eq!(doc["timesteps"][0], 902);
    assert_eq!(doc["timesteps"][9], 2);
    let doc = ok_json(&[&base[..], &["--schedule", &sd, "--steps-offset", "0"]].concat());
    assert_eq!(doc["steps_offset"], 0);
    assert_eq!(doc["timesteps"][9], 1);
    // With K = T the config's offset runs past T - 1: the message says where it came from.
    fails(
        &[
            "sample",
            "--schedule",
            &sd,
            "--sampling-steps",
            "1000",
            "--count",
            "20",
        ],
        &["steps_offset = 1", "scheduler config", "--steps-offset"],
    );
    // An unknown timestep_spacing is named, never ignored.
    let dir = tempfile::tempdir().expect("temp dir");
    let odd = dir.path().join("odd.json");
    std::fs::write(
        &odd,
        r#"{"beta_schedule": "linear", "timestep_spacing": "sideways"}"#,
    )
    .expect("writes");
    fails(
        &[
            "sample",
            "--schedule",
            odd.to_str().expect("utf-8"),
            "--count",
            "20",
        ],
        &["timestep_spacing", "sideways"],
    );
}

// Defect 7: counts and files that would exhaust memory.

#[test]
fn a_huge_sample_count_is_refused_before_allocating() {
    fails(
        &["sample", "--count", "1000000000"],
        &["count N = 1000000000", "1000000"],
    );
}

#[test]
fn endless_data_and_schedule_files_are_refused_by_their_kind() {
    fails(
        &[
            "report",
            "--samples",
            "8",
            "--steps",
            "5",
            "-q",
            "--data",
            "/dev/zero",
        ],
        &["/dev/zero", "not a regular file but a character device"],
    );
    fails(
        &["schedule", "--schedule", "/dev/zero"],
        &["/dev/zero", "not a regular file but a character device"],
    );
}

// Defect 6: train checks its output directory and its sample count before training.

/// Far more training than a test can wait for: a run that gets past its checks into
/// training is killed by the timeout, so passing shows the check came first.
const ENDLESS_TRAINING: &str = "10000000";
const BEFORE_TRAINING: Duration = Duration::from_secs(120);

fn train_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [
        &[
            "train", "--steps", "10", "--batch", "8", "--quiet", "--out", out,
        ][..],
        extra,
    ]
    .concat()
}

/// Run, expect status 1 with one stderr line containing every needle, within the timeout.
fn fails_fast(args: &[&str], needles: &[&str]) -> String {
    let out = elbo_lab()
        .args(args)
        .timeout(BEFORE_TRAINING)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    for n in needles {
        assert!(
            stderr.contains(n),
            "{args:?}: '{}' lacks '{n}'",
            stderr.trim()
        );
    }
    stderr
}

#[test]
fn train_refuses_an_unusable_out_before_training() {
    // --out is a regular file: no directory can be made there.
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let path = file.path().to_str().expect("utf-8 path");
    fails_fast(
        &train_args(path, &["--train-steps", ENDLESS_TRAINING]),
        &["--out", path],
    );
}

#[test]
fn train_into_a_read_only_directory_says_so_once_before_training() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let ro = dir.path().join("read-only");
    std::fs::create_dir(&ro).expect("mkdir");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // root writes through permissions; sysfs refuses new files even to root.
    let target = if std::fs::write(ro.join("probe"), "").is_err() {
        ro.clone()
    } else if std::fs::write("/sys/kernel/elbo-lab-probe", "").is_err() {
        PathBuf::from("/sys/kernel")
    } else {
        eprintln!("skipped: no read-only directory available to this user");
        return;
    };
    let path = target.to_str().expect("utf-8 path");
    let line = fails_fast(
        &train_args(path, &["--train-steps", ENDLESS_TRAINING]),
        &["--out", path, "cannot write"],
    );
    for cause in ["Permission denied", "os error"] {
        assert_eq!(count(&line, cause), 1, "{line}");
    }
}

#[test]
fn train_rejects_fewer_than_two_samples_before_training() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_str().expect("utf-8 path");
    for n in ["0", "1"] {
        fails_fast(
            &train_args(path, &["--train-steps", ENDLESS_TRAINING, "--samples", n]),
            &[&format!("samples N = {n} is out of range"), "between 2 and"],
        );
    }
}

// Defect 9: nothing the user wrote is ignored without a word.

#[test]
fn a_trained_betas_that_is_not_a_list_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (value, shown) in [(r#""abc""#, r#""abc""#), ("[]", "[]"), ("0.1", "0.1")] {
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            format!(r#"{{"beta_schedule": "linear", "trained_betas": {value}}}"#),
        )
        .expect("writes");
        fails(
            &["schedule", "--schedule", config.to_str().expect("utf-8")],
            &["trained_betas", shown],
        );
    }
}

/// Run with args, expect success; return stderr.
fn ok_stderr(args: &[&str]) -> String {
    let out = elbo_lab().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "elbo-lab {args:?} failed: {stderr}");
    stderr
}

#[test]
fn flags_that_do_not_apply_are_ignored_with_a_one_line_warning() {
    let report = ["report", "--steps", "5", "--samples", "8", "-q"];
    let sample = [
        "sample",
        "--steps",
        "20",
        "--sampling-steps",
        "5",
        "--count",
        "20",
        "--format",
        "json",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [&sample[..], &["--eta", "0.5"]].concat(),
            "warning: --eta applies to ddim only; ignored",
        ),
        (
            [
                &sample[..],
                &["--sampler", "ddim", "--variance", "fixed_large"],
            ]
            .concat(),
            "warning: --variance applies to ddpm only",
        ),
        (
            [
                &sample[..],
                &["--spacing", "trailing", "--steps-offset", "1"],
            ]
            .concat(),
            "warning: --steps-offset applies to leading spacing only",
        ),
        (
            [&report[..], &["--data", "bimodal", "--components", "16"]].concat(),
            "warning: --components applies to two-moons",
        ),
        (
            [
                &report[..],
                &["--data", "eight-gaussians", "--components", "16"],
            ]
            .concat(),
            "ignored for eight-gaussians",
        ),
        (
            [
                &report[..],
                &["--schedule", "squaredcos_cap_v2", "--beta-start", "0.001"],
            ]
            .concat(),
            "warning: --beta-start does not apply to squaredcos_cap_v2",
        ),
        (
            [&report[..], &["--bandwidth", "0.3"]].concat(),
            "warning: --bandwidth applies to a CSV of points; ignored for the bimodal preset",
        ),
    ];
    for (args, warning) in cases {
        let stderr = ok_stderr(&args);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(warning),
            "{args:?}: '{}' lacks '{warning}'",
            stderr.trim()
        );
    }
    // Flags that apply say nothing.
    for args in [
        [&sample[..], &["--sampler", "ddim", "--eta", "0.5"]].concat(),
        [&report[..], &["--data", "two-moons", "--components", "16"]].concat(),
    ] {
        assert_eq!(ok_stderr(&args), "", "{args:?}");
    }
    // --components 0 is not "the default": it is out of range.
    fails(
        &[&report[..], &["--data", "two-moons", "--components", "0"]].concat(),
        &["components = 0 is out of range"],
    );
}

// Defect 11: the error names the real culprit.

#[test]
fn a_bandwidth_whose_square_underflows_is_blamed_on_bandwidth() {
    let iris = test_data("iris-petal-length.csv");
    for h in ["1e-300", "1e-160", "0", "-1", "inf"] {
        let line = fails(
            &[
                "report",
                "--steps",
                "5",
                "--samples",
                "8",
                "-q",
                "--data",
                &iris,
                "--bandwidth",
                h,
            ],
            &[&format!("--bandwidth {h} is out of range")],
        );
        assert!(!line.contains("components[0]"), "{line}");
    }
    // A small but representable bandwidth is fine.
    ok_stderr(&[
        "report",
        "--steps",
        "5",
        "--samples",
        "8",
        "-q",
        "--data",
        &iris,
        "--bandwidth",
        "1e-3",
    ]);
}

#[test]
fn betas_file_errors_name_the_flag_and_the_file_not_a_config_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let one = dir.path().join("one.txt");
    std::fs::write(&one, "0.1\n").expect("writes");
    let line = fails(
        &[
            "schedule",
            "--schedule",
            one.to_str().expect("utf-8"),
            "--rescale-zero-snr",
        ],
        &["--rescale-zero-snr", "T >= 2"],
    );
    assert!(!line.contains("rescale_betas_zero_snr"), "{line}");
    let flat = dir.path().join("flat.txt");
    std::fs::write(&flat, "1\n0.5\n").expect("writes");
    let line = fails(
        &[
            "schedule",
            "--schedule",
            flat.to_str().expect("utf-8"),
            "--rescale-zero-snr",
        ],
        &["--rescale-zero-snr", "beta_1 = 1"],
    );
    assert!(!line.contains("scheduler config"), "{line}");
    fails(
        &[
            "schedule",
            "--schedule",
            flat.to_str().expect("utf-8"),
            "--steps",
            "3",
        ],
        &["--steps 3", "betas file", "2 betas"],
    );
    // The same betas inside a config are the config's trained_betas.
    let config = dir.path().join("trained.json");
    std::fs::write(&config, r#"{"trained_betas": [0.1, 0.2]}"#).expect("writes");
    fails(
        &[
            "schedule",
            "--schedule",
            config.to_str().expect("utf-8"),
            "--beta-end",
            "0.3",
        ],
        &["--beta-start/--beta-end", "trained_betas"],
    );
    // A config's own rescale_betas_zero_snr keeps the config's key in the message.
    let own = dir.path().join("own.json");
    std::fs::write(
        &own,
        r#"{"beta_schedule": "linear", "num_train_timesteps": 1, "rescale_betas_zero_snr": true}"#,
    )
    .expect("writes");
    fails(
        &["schedule", "--schedule", own.to_str().expect("utf-8")],
        &["rescale_betas_zero_snr"],
    );
}

#[test]
fn negative_numbers_reach_the_validators() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_str().expect("utf-8 path");
    let iris = test_data("iris-petals.csv");
    let cases: [(&[&str], &str); 5] = [
        (
            &["sample", "--sampler", "ddim", "--eta", "-1"],
            "eta = -1 is out of range",
        ),
        (
            &["report", "--samples", "8", "-q", "--width", "-2"],
            "width = -2 is out of range",
        ),
        (
            &["report", "--samples", "8", "-q", "--beta-end", "-0.1"],
            "--beta-end -0.1 is outside",
        ),
        (
            &[
                "report",
                "--samples",
                "8",
                "-q",
                "--data",
                &iris,
                "--bandwidth",
                "-1",
            ],
            "--bandwidth -1 is out of range",
        ),
        (
            &["train", "--quiet", "--out", out, "--lr", "-1"],
            "learning rate = -1",
        ),
    ];
    for (args, needle) in cases {
        let line = fails(args, &[needle]);
        assert!(!line.contains("unexpected argument"), "{line}");
    }
}
