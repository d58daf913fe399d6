//! The command line against hostile files, values and environments (issue 23, "Nothing
//! lost", the CLI part): `--out` and `train` replace files whole, weights and training
//! summaries are read only when they are regular files within a cap, numbers that would
//! make a schedule or a network nonsense are refused naming the flag, key or tensor, and
//! the thread pool, negative numbers and file names that are not UTF-8 work.

use super::common::{elbo_lab, test_data};

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use elbo_core::param::Parameterisation;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, ScheduleSpec};
use elbo_train::{TrainConfig, Trainer, save_all, weights_file_name};

/// The binary's path, for tests that run it through a shell: the one `elbo_lab()` runs
/// (`CARGO_BIN_EXE_elbo-lab` at run time, as assert_cmd reads it, else this build's).
fn bin() -> OsString {
    std::env::var_os("CARGO_BIN_EXE_elbo-lab")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_elbo-lab").into())
}

/// Long enough for any run here; a run that hangs (a FIFO read) fails at it.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Run `elbo-lab` with `args` (and a timeout).
fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    elbo_lab()
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .expect("runs")
}

/// Expect status `code` and one line on standard error starting with `start`; return it.
fn fails_with(out: &Output, code: i32, start: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "not one line: {stderr}");
    assert!(
        lines[0].starts_with(start),
        "'{}' does not start with '{start}'",
        lines[0]
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_string()
}

/// Expect success; the standard error.
fn succeeds(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "status {:?}: {stderr}", out.status);
    stderr
}

/// An (untrained) eps network for 1D bimodal data under linear T = 20, saved as
/// `dir/eps.safetensors` as `elbo-lab train` saves it.
fn eps_weights(dir: &Path) -> PathBuf {
    let data = DataSpec {
        preset: DataPreset::parse("bimodal").expect("a preset"),
        components: 0,
        width: 1.0,
    }
    .build()
    .expect("data");
    let schedule = ScheduleSpec::preset(BetaSchedule::Linear, 20)
        .build()
        .expect("schedule");
    let config = TrainConfig {
        params: vec![Parameterisation::Eps],
        ..TrainConfig::default()
    };
    let trainer = Trainer::new(&data, &schedule, config).expect("trainer");
    save_all(dir, &trainer.snapshot().expect("snapshot")).expect("saves");
    dir.join(weights_file_name(Parameterisation::Eps))
}

/// Rewrite the safetensors file at `path` with `edit` applied to its header (JSON) and
/// its data bytes (after the header), as a file written by another tool would be.
fn edit_safetensors(path: &Path, edit: impl FnOnce(&mut serde_json::Value, &mut Vec<u8>)) {
    let bytes = std::fs::read(path).expect("read");
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let mut header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + n]).expect("a safetensors header");
    let mut data = bytes[8 + n..].to_vec();
    edit(&mut header, &mut data);
    let mut text = header.to_string();
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text.as_bytes());
    out.extend(data);
    std::fs::write(path, out).expect("write");
}

/// `mkfifo path`.
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

// Item 5 and 7a: weights and summaries are read only when regular files within a cap.

/// The defect: `--weights` on a FIFO or a link to /dev/zero said "no such file".
#[test]
fn weights_that_are_not_a_file_name_what_they_are() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("eps.safetensors");
    mkfifo(&fifo);
    let out = run([
        OsString::from("report"),
        "--weights".into(),
        fifo.clone().into(),
    ]);
    let line = fails_with(&out, 1, "error: --weights: ");
    assert!(
        line.ends_with("eps.safetensors: not a regular file but a named pipe (FIFO)"),
        "{line}"
    );
    let device = dir.path().join("x0.safetensors");
    std::os::unix::fs::symlink("/dev/zero", &device).expect("link");
    let out = run([
        OsString::from("evidence"),
        "--weights".into(),
        device.into(),
    ]);
    let line = fails_with(&out, 1, "error: --weights: ");
    assert!(
        line.ends_with("x0.safetensors: not a regular file but a character device"),
        "{line}"
    );
}

/// The defect: a 3 GB file named eps.safetensors was read whole before it was refused.
#[test]
fn an_oversized_weights_file_is_refused_by_its_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("eps.safetensors");
    // Sparse: the length without the disk space.
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(elbo_train::MAX_WEIGHTS_BYTES + 1))
        .expect("a sparse file");
    let out = run([OsString::from("report"), "--weights".into(), big.into()]);
    let line = fails_with(&out, 1, "error: --weights: ");
    assert!(
        line.ends_with("eps.safetensors: larger than the 64 MiB limit for this file"),
        "{line}"
    );
}

/// The defect: `report --weights d/eps.safetensors` hung forever when d/summary.json was
/// a FIFO, and a summary that could not be read was ignored without a word.
#[test]
fn a_summary_beside_the_weights_that_cannot_be_read_is_noted_not_waited_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let weights = eps_weights(dir.path());
    let summary = dir.path().join("summary.json");
    let score = |weights: &Path| {
        run([
            OsString::from("report"),
            "--steps".into(),
            "20".into(),
            "-q".into(),
            "--weights".into(),
            weights.into(),
        ])
    };
    mkfifo(&summary);
    let stderr = succeeds(&score(&weights));
    assert_eq!(
        stderr.trim_end(),
        format!(
            "note: {} could not be read (not a regular file but a named pipe (FIFO)); the network's training settings are unknown",
            summary.display()
        )
    );
    std::fs::remove_file(&summary).expect("remove");
    std::fs::write(&summary, "[1, 2").expect("write");
    let stderr = succeeds(&score(&weights));
    assert!(
        stderr.starts_with(&format!(
            "note: {} could not be read (not a training summary: ",
            summary.display()
        )) && stderr.lines().count() == 1,
        "{stderr}"
    );
}

// Item 6: weights that validate but score nonsense.

/// The defect: a `scaling.std` of 5e-324 scored NELBO 1966, and integer tensors were
/// converted without a word.
#[test]
fn a_subnormal_scale_or_an_integer_tensor_is_refused_naming_the_tensor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let weights = eps_weights(dir.path());
    let report = |weights: &Path| {
        run([
            OsString::from("report"),
            "--steps".into(),
            "20".into(),
            "-q".into(),
            "--weights".into(),
            weights.into(),
        ])
    };
    edit_safetensors(&weights, |header, data| {
        let [a, b] = [0, 1].map(|i| {
            header["scaling.std"]["data_offsets"][i]
                .as_u64()
                .expect("offsets") as usize
        });
        assert_eq!(header["scaling.std"]["dtype"], "F64");
        data[a..b].copy_from_slice(&5e-324f64.to_le_bytes());
    });
    let line = fails_with(&report(&weights), 1, "error: --weights: ");
    assert!(
        line.contains("eps.safetensors: tensor scaling.std = 5e-324 is not a usable scale"),
        "{line}"
    );
    let weights = eps_weights(dir.path());
    edit_safetensors(&weights, |header, _| {
        assert_eq!(header["layers.1.weight"]["dtype"], "F32");
        header["layers.1.weight"]["dtype"] = "I32".into();
    });
    let line = fails_with(&report(&weights), 1, "error: --weights: ");
    assert!(
        line.contains("eps.safetensors: tensor layers.1.weight holds I32 values"),
        "{line}"
    );
}

// Item 7b and 7c: values out of range name the key or the flag.

/// The defect: `shift` 1e-308, `sigma_max` 1e300, `rho` 1e308 failed with "log abar (t =
/// 1) = -0e0 ...", naming no key.
#[test]
fn config_values_out_of_range_name_the_key_and_the_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 1e-308}"#,
            "error: schedule: scheduler config: shift = 1e-308: outside [0.001, 1000]: ",
        ),
        (
            r#"{"_class_name": "EDMEulerScheduler", "sigma_max": 1e300}"#,
            "error: schedule: scheduler config: sigma_max = 1e300: outside [0.001, 100000]: ",
        ),
        (
            r#"{"_class_name": "EDMDPMSolverMultistepScheduler", "rho": 1e308}"#,
            "error: schedule: scheduler config: rho = 1e308: outside [1, 100]: ",
        ),
        (
            r#"{"_class_name": "DDPMWuerstchenScheduler", "scaler": 100}"#,
            "error: schedule: scheduler config: scaler = 100: outside [0.1, 2]: ",
        ),
        (
            r#"{"beta_schedule": "linear", "beta_start": 5e-324}"#,
            "error: schedule: scheduler config: beta_start = 5e-324: outside [1e-12, 1]: ",
        ),
    ];
    for (i, (config, start)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("c{i}.scheduler_config.json"));
        std::fs::write(&path, config).expect("write");
        for cmd in ["report", "schedule"] {
            let out = run([
                OsString::from(cmd),
                "--schedule".into(),
                path.clone().into(),
            ]);
            fails_with(&out, 1, start);
        }
    }
}

/// The defect: `--beta-start 5e-324` blamed "the NELBO of model 'optimal'", and
/// `--beta-start -inf` was "unexpected argument '-i'".
#[test]
fn beta_flags_out_of_range_name_the_flag_and_the_value() {
    for (flag, value, shown) in [
        ("--beta-start", "5e-324", "5e-324"),
        ("--beta-start", "-inf", "-inf"),
        ("--beta-start", "1e-13", "1e-13"),
        ("--beta-start", "1.5", "1.5"),
        ("--beta-end", "1e300", "1e300"),
        ("--beta-end", "-0.02", "-0.02"),
        ("--beta-end", "NaN", "NaN"),
    ] {
        for cmd in ["report", "schedule", "sample"] {
            let out = run([cmd, "--steps", "10", flag, value]);
            fails_with(
                &out,
                1,
                &format!(
                    "error: {flag} {shown} is outside [1e-12, 1]: a beta is a variance fraction in (0, 1]"
                ),
            );
        }
    }
    // The smallest beta allowed works.
    let out = run([
        "report",
        "--steps",
        "10",
        "-q",
        "--beta-start",
        "1e-12",
        "--beta-end",
        "1e-12",
    ]);
    succeeds(&out);
}

// Item 11a: negative numbers reach the validators.

/// Every numeric flag of every subcommand: `-inf` (or `-1`) reaches the flag's own check,
/// never "unexpected argument". A float gets its range error (status 1), a whole number
/// clap's "invalid value" (status 2); either way the first line names the value.
#[test]
fn every_numeric_flag_takes_a_negative_value_to_its_validator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("run");
    let out_dir = out_dir.to_str().expect("UTF-8 path");
    let points = test_data("iris-petal-length.csv");
    let common_floats = ["--width", "--beta-start", "--beta-end"];
    let common_ints = ["--components", "--steps"];
    let mut cases: Vec<(Vec<&str>, &str, &str)> = Vec::new();
    for cmd in [
        "report", "schedule", "compare", "sample", "train", "evidence",
    ] {
        let base: Vec<&str> = match cmd {
            "compare" => vec!["compare", "linear"],
            "train" => vec!["train", "--out", out_dir, "-q"],
            other => vec![other],
        };
        for flag in common_floats {
            cases.push((base.clone(), flag, "-inf"));
        }
        for flag in common_ints {
            cases.push((base.clone(), flag, "-1"));
        }
        let mut with_points = base.clone();
        with_points.extend(["--data", &points]);
        cases.push((with_points, "--bandwidth", "-inf"));
    }
    for (cmd, flags) in [
        ("report", &["--samples", "--seed"][..]),
        ("compare", &["--samples", "--seed"]),
        (
            "sample",
            &["--sampling-steps", "--steps-offset", "--count", "--seed"],
        ),
        (
            "train",
            &["--train-steps", "--batch", "--seed", "--samples"],
        ),
        ("evidence", &["--grid"]),
    ] {
        let base: Vec<&str> = match cmd {
            "compare" => vec!["compare", "linear"],
            "train" => vec!["train", "--out", out_dir, "-q"],
            other => vec![other],
        };
        for flag in flags {
            cases.push((base.clone(), flag, "-1"));
        }
    }
    cases.push((vec!["sample", "--sampler", "ddim"], "--eta", "-inf"));
    cases.push((vec!["train", "--out", out_dir, "-q"], "--lr", "-inf"));
    cases.push((vec!["evidence"], "--points-per-sd", "-inf"));
    cases.push((vec![], "--zoom", "-inf"));
    for (base, flag, value) in cases {
        let mut args = base.clone();
        args.extend([flag, value]);
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: {:?} {stderr}",
            out.status
        );
        assert!(
            !stderr.contains("unexpected argument") && first.starts_with("error: "),
            "{args:?}: {stderr}"
        );
        assert!(
            first.contains(value),
            "{args:?}: the first line lacks {value}: {stderr}"
        );
        if out.status.code() == Some(2) {
            assert!(
                first.contains(&format!("invalid value '{value}' for '{flag} ")),
                "{args:?}: {stderr}"
            );
        }
    }
}

// Item 11b: usage errors.

/// What the README promises: a usage error clap catches exits with status 2 and its first
/// line names the flag and the value; every other bad input exits 1 with one line.
#[test]
fn usage_errors_exit_2_naming_the_flag_and_the_value_first() {
    for (args, first) in [
        (
            &["report", "--steps", "ten"][..],
            "error: invalid value 'ten' for '--steps <STEPS>': invalid digit found in string",
        ),
        (
            &["report", "--beta-start", "small"],
            "error: invalid value 'small' for '--beta-start <B>': invalid float literal",
        ),
        (
            &["report", "--no-such-flag"],
            "error: unexpected argument '--no-such-flag' found",
        ),
        (
            &["--zoom", "9"],
            "error: invalid value '9' for '--zoom <Z>': zoom 9 is out of range",
        ),
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.lines().next().unwrap_or_default().starts_with(first),
            "{args:?}: {stderr}"
        );
    }
}

// Item 11c: file names that are not UTF-8.

/// `name` with a byte that is not UTF-8 before its extension: `data-\xff.json`.
fn non_utf8(dir: &Path, stem: &str, extension: &str) -> PathBuf {
    let mut bytes = format!("{stem}-").into_bytes();
    bytes.push(0xff);
    bytes.extend(format!(".{extension}").into_bytes());
    dir.join(OsString::from_vec(bytes))
}

/// The defect: clap refused every path that is not UTF-8 ("invalid UTF-8 was detected").
#[test]
fn files_whose_names_are_not_utf8_are_usable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = non_utf8(dir.path(), "data", "json");
    std::fs::write(
        &data,
        r#"{"components": [{"weight": 1, "mean": [0.5], "cov": [[0.25]]}]}"#,
    )
    .expect("write");
    let schedule = non_utf8(dir.path(), "betas", "txt");
    std::fs::write(&schedule, "0.01\n0.02\n0.05\n0.1\n0.2\n").expect("write");
    let out_file = non_utf8(dir.path(), "out", "json");
    let out = run([
        OsString::from("report"),
        "-q".into(),
        "--data".into(),
        data.clone().into(),
        "--schedule".into(),
        schedule.clone().into(),
        "--out".into(),
        out_file.clone().into(),
    ]);
    succeeds(&out);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).expect("written")).expect("JSON");
    assert_eq!(doc["steps"], 5, "{doc}");
    assert!(
        doc["data_source"]
            .as_str()
            .is_some_and(|s| s.ends_with("data-\u{fffd}.json")),
        "{doc}"
    );
    // compare takes its schedules as arguments.
    let out = run([
        OsString::from("compare"),
        "linear".into(),
        schedule.into(),
        "--data".into(),
        data.into(),
        "--samples".into(),
        "64".into(),
    ]);
    let stderr = succeeds(&out);
    assert!(stderr.is_empty(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("betas-\u{fffd}"));
}

// Item 8 (the config part): a byte order mark.

/// A config saved by an editor that writes a byte order mark is read as a config (it
/// was read as a list of betas, "line 1: ... is not a number").
#[test]
fn a_config_with_a_byte_order_mark_is_read_as_a_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bom.scheduler_config.json");
    let text = std::fs::read_to_string(test_data("stable-diffusion-v1-5.scheduler_config.json"))
        .expect("read");
    std::fs::write(&path, format!("\u{feff}{text}")).expect("write");
    let out = run([
        OsString::from("schedule"),
        "--format".into(),
        "json".into(),
        "--schedule".into(),
        path.into(),
    ]);
    succeeds(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["class"], "PNDMScheduler");
    assert_eq!(doc["schedule"], "scaled_linear 0.00085..0.012, T = 1000");
}

// Item 10: the thread pool.

/// The defect: `RAYON_NUM_THREADS=100000 elbo-lab report --steps 100` started 100,000
/// threads (minutes, or a panic in rayon's registry when the system refused one).
#[test]
fn a_huge_or_malformed_thread_count_is_bounded_with_a_note() {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let cap = (4 * cores).min(256);
    let out = elbo_lab()
        .env("RAYON_NUM_THREADS", "100000")
        .args(["report", "--steps", "100", "-q"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    let stderr = succeeds(&out);
    assert_eq!(
        stderr,
        format!(
            "note: RAYON_NUM_THREADS=100000 is more than {cap} worker threads (4 per core, at most 256); using {cap}\n"
        )
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(doc["nelbo"].is_number());
    let out = elbo_lab()
        .env("RAYON_NUM_THREADS", "lots")
        .args(["schedule", "--steps", "10"])
        .timeout(TIMEOUT)
        .output()
        .expect("runs");
    let stderr = succeeds(&out);
    assert_eq!(
        stderr,
        format!(
            "note: RAYON_NUM_THREADS=lots is not a whole number of threads; using {cores}, one per core\n"
        )
    );
}

// Item 2: every file the command line writes replaces its target whole.

/// A second name (a hard link) for `path`, holding its old contents.
fn second_name(path: &Path) -> PathBuf {
    let other = path.with_extension("old");
    std::fs::hard_link(path, &other).expect("hard link");
    other
}

/// The defect: `--out` and `train`'s summary.json truncated the file and rewrote it in
/// place: whoever held the old file (a second name, a reader) saw it torn or changed. Now
/// the new contents are a new file renamed over the name.
#[test]
fn out_files_are_replaced_whole_not_rewritten_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, cmd) in ["report", "schedule", "compare", "sample", "evidence"]
        .into_iter()
        .enumerate()
    {
        let target = dir.path().join(format!("{cmd}.out"));
        std::fs::write(&target, "the old contents").expect("write");
        let old = second_name(&target);
        let mut args: Vec<OsString> = vec![cmd.into()];
        if cmd == "compare" {
            args.push("linear".into());
        }
        args.extend(["--steps", "10"].map(OsString::from));
        if cmd == "sample" {
            args.extend(["--count", "50", "--sampling-steps", "5"].map(OsString::from));
        }
        args.extend([OsString::from("--out"), target.clone().into()]);
        succeeds(&run(&args));
        assert_eq!(
            std::fs::read_to_string(&old).expect("read"),
            "the old contents"
        );
        let new = std::fs::read_to_string(&target).expect("read");
        assert!(new.len() > 20 && new != "the old contents", "{cmd}: {new}");
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("list").count(),
            2 * (i + 1),
            "{cmd} left a temporary file"
        );
    }
    // train: the summary and the weights.
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).expect("folder");
    let summary = run_dir.join("summary.json");
    std::fs::write(&summary, "{}").expect("write");
    let old_summary = second_name(&summary);
    let weights = eps_weights(&run_dir);
    let old_weights = second_name(&weights);
    let before = std::fs::read(&old_weights).expect("read");
    let out = run([
        OsString::from("train"),
        "--steps".into(),
        "10".into(),
        "--train-steps".into(),
        "2".into(),
        "--batch".into(),
        "8".into(),
        "--samples".into(),
        "16".into(),
        "--params".into(),
        "eps".into(),
        "--seed".into(),
        "7".into(),
        "-q".into(),
        "--out".into(),
        run_dir.clone().into(),
    ]);
    succeeds(&out);
    assert_eq!(std::fs::read_to_string(&old_summary).expect("read"), "{}");
    assert_eq!(std::fs::read(&old_weights).expect("read"), before);
    assert_ne!(std::fs::read(&weights).expect("read"), before);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).expect("read")).expect("JSON");
    assert_eq!(summary["settings"]["seed"], 7);
    let mut names: Vec<String> = std::fs::read_dir(&run_dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["eps.old", "eps.safetensors", "summary.json", "summary.old"],
        "no temporary file is left"
    );
}

/// A run killed while it writes `--out` (here by the file-size limit, as a full disk or
/// a kill would stop it) leaves the file that was there byte for byte; it used to be
/// truncated and half written.
#[test]
fn a_run_killed_while_writing_leaves_the_old_out_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("report.json");
    std::fs::write(&target, "the old report").expect("write");
    // `ulimit -f 1`: writing past 512 bytes kills the process (SIGXFSZ); the report of
    // T = 100 is far longer.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 1 && exec \"$0\" \"$@\"")
        .arg(bin())
        .args(["report", "--steps", "100", "-q", "--out"])
        .arg(&target)
        .output()
        .expect("runs");
    assert!(!out.status.success(), "the write was not stopped");
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        "the old report"
    );
}

/// `--out` on a named pipe or through a link: the pipe is written, not replaced by a file
/// (as `--out /dev/null` writes the device), and a link keeps pointing at the file it
/// names, which gets the new contents.
#[test]
fn out_to_a_pipe_or_through_a_link_writes_what_it_names() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("reads the pipe"))
    };
    succeeds(&run([
        OsString::from("schedule"),
        "--steps".into(),
        "10".into(),
        "--out".into(),
        fifo.clone().into(),
    ]));
    let text = reader.join().expect("reader");
    assert!(text.starts_with("schedule: linear"), "{text}");
    let kind = std::fs::symlink_metadata(&fifo).expect("meta").file_type();
    assert!(kind.is_fifo(), "the pipe was replaced by a file");
    let real = dir.path().join("real.txt");
    std::fs::write(&real, "old").expect("write");
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&real, &link).expect("link");
    succeeds(&run([
        OsString::from("schedule"),
        "--steps".into(),
        "10".into(),
        "--out".into(),
        link.clone().into(),
    ]));
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .expect("read")
            .starts_with("schedule: linear")
    );
}
