//! `elbo-lab sample` (docs/report-format.md): CSV and JSON output, the quality figures,
//! flags shared with `report`, and one-line errors with a non-zero exit.

use super::common::elbo_lab;

use serde_json::Value;

fn stdout_of(args: &[&str]) -> String {
    let out = elbo_lab().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn csv_has_one_row_per_sample_and_figures_on_stderr() {
    let out = elbo_lab()
        .args([
            "sample",
            "--data",
            "two-moons",
            "--steps",
            "200",
            "--sampling-steps",
            "20",
            "--sampler",
            "ddim",
            "--eta",
            "0.5",
            "--spacing",
            "trailing",
            "--count",
            "300",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("x,y"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().expect("a number"))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 300);
    assert!(
        rows.iter()
            .all(|r| r.len() == 2 && r.iter().all(|v| v.is_finite()))
    );
    let err = String::from_utf8(out.stderr).expect("utf-8");
    assert!(err.contains("mean log p0"), "{err}");
    assert!(err.contains("energy distance"), "{err}");
}

#[test]
fn json_carries_settings_timesteps_quality_and_samples() {
    let text = stdout_of(&[
        "sample",
        "--sampling-steps",
        "50",
        "--spacing",
        "leading",
        "--steps-offset",
        "1",
        "--count",
        "200",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["dim"], 1);
    assert_eq!(v["sampler"], "ddpm");
    assert_eq!(v["sampling_steps"], 50);
    assert_eq!(v["seed"], 3);
    let ts = v["timesteps"].as_array().expect("timesteps");
    // diffusers' 981, 961, ..., 1 with steps_offset = 1, as the core's t = tau + 1.
    assert_eq!(ts.len(), 50);
    assert_eq!(ts[0], 982);
    assert_eq!(ts[49], 2);
    assert_eq!(v["samples"].as_array().expect("samples").len(), 200);
    for key in [
        "mean_log_p0",
        "data_entropy",
        "log_p0_gap",
        "energy_distance",
    ] {
        let e = &v["quality"][key];
        assert!(e["mean"].as_f64().expect(key).is_finite(), "{key}");
        assert!(e["stderr"].as_f64().expect(key) >= 0.0, "{key}");
    }
}

#[test]
fn same_seed_same_samples_and_out_writes_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.csv");
    let path_str = path.to_str().expect("utf-8 path");
    let args = [
        "sample",
        "--sampling-steps",
        "10",
        "--count",
        "50",
        "--seed",
        "9",
    ];
    let first = stdout_of(&args);
    let mut with_out = args.to_vec();
    with_out.extend(["--out", path_str]);
    let summary = stdout_of(&with_out);
    assert!(summary.contains("energy distance"), "{summary}");
    let written = std::fs::read_to_string(&path).expect("written");
    assert_eq!(first, written);
}

#[test]
fn bad_step_counts_eta_and_count_are_one_line_errors() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["sample", "--sampling-steps", "0"],
            "sampling steps K = 0 is out of range 1..=T (T = 1000)",
        ),
        (
            &["sample", "--steps", "100", "--sampling-steps", "101"],
            "sampling steps K = 101 is out of range 1..=T (T = 100)",
        ),
        (
            &["sample", "--sampler", "ddim", "--eta", "2"],
            "eta = 2 is out of range",
        ),
        (&["sample", "--count", "0"], "count N = 0 is out of range"),
    ];
    for (args, message) in cases {
        let out = elbo_lab().args(args).output().expect("runs");
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8(out.stderr).expect("utf-8");
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}
