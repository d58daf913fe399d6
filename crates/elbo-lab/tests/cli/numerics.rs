//! The real `elbo-lab` binary on numerically hard input (issue "Crash-proof ELBO Lab"):
//! diverged training, data far from unit scale, thread-count independence, T = 100000.
//! Each test runs the exact command a user would type.

use super::common::elbo_lab;

use serde_json::Value;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------
// Defect 5: a diverged network.

/// A small, fast training run into `out` (bimodal, T = 20, 5 steps of batch 16).
fn train(out: &std::path::Path, lr: &str) -> std::process::Output {
    elbo_lab()
        .args([
            "train",
            "--data",
            "bimodal",
            "--steps",
            "20",
            "--train-steps",
            "5",
            "--batch",
            "16",
            "--samples",
            "64",
            "--lr",
            lr,
            "--quiet",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("runs")
}

/// `elbo-lab train --lr 1e9 ...` used to write NaN weights, exit 0 and report a finite
/// NELBO (NaN predictions replaced by the data mean). Now: status 1, one line naming each
/// diverged network, no weights for them (a stale file from an earlier run in the same
/// directory is removed), and a summary whose NELBO is null with a `diverged` reason.
#[test]
fn train_with_a_diverging_learning_rate_fails_in_one_line_and_scores_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("run");
    // A healthy run first leaves weights in the directory.
    let ok = train(&out, "1e-3");
    assert!(ok.status.success(), "{}", stderr_of(&ok));
    assert!(out.join("eps.safetensors").exists());

    let bad = train(&out, "1e9");
    assert_eq!(bad.status.code(), Some(1), "{}", stderr_of(&bad));
    let stderr = stderr_of(&bad);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for name in ["x0", "eps", "score"] {
        assert!(
            stderr.contains(&format!("the {name} network at step")),
            "{stderr}"
        );
        assert!(
            !out.join(format!("{name}.safetensors")).exists(),
            "{name} weights of a diverged network are not left behind"
        );
    }
    assert!(
        stderr.contains("3 networks diverged at learning rate 1e9"),
        "{stderr}"
    );

    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary written");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(doc["optimal"]["nelbo"].is_number(), "{doc}");
    let nets = doc["networks"].as_array().expect("networks");
    assert_eq!(nets.len(), 3);
    for n in nets {
        assert!(n["nelbo"].is_null(), "{n}");
        assert!(n["nelbo_stderr"].is_null(), "{n}");
        assert!(n["weights"].is_null(), "{n}");
        let why = n["diverged"].as_str().expect("a reason");
        assert!(why.contains("diverged at step"), "{why}");
        assert!(
            n["diverged_at_step"].as_u64().is_some_and(|s| s >= 1),
            "{n}"
        );
    }
    // Loading the directory finds nothing: no network of that run can be scored.
    assert!(elbo_train::load_all(&out, 1).is_err());
}

/// A healthy run says nothing about divergence: `diverged` is null, NELBOs are numbers.
#[test]
fn a_healthy_run_has_null_divergence_and_numeric_scores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("run");
    let ok = train(&out, "1e-3");
    assert!(ok.status.success(), "{}", stderr_of(&ok));
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).expect("summary written"),
    )
    .expect("valid JSON");
    for n in doc["networks"].as_array().expect("networks") {
        assert!(n["diverged"].is_null(), "{n}");
        assert!(
            n["nelbo"].is_number() && n["excess_nelbo"].is_number(),
            "{n}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Defect 8: data far from unit scale.

fn report_on_mixture(json: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data.json");
    std::fs::write(&path, json).expect("writes");
    elbo_lab()
        .args(["report", "--data"])
        .arg(&path)
        .args(["--steps", "50", "--samples", "64"])
        .output()
        .expect("runs")
}

#[test]
fn report_rejects_data_f64_cannot_handle_in_one_line() {
    let cases = [
        (
            r#"{"components": [{"weight": 1, "mean": [1e15], "cov": [[1]]}]}"#,
            "components[0].mean[0]",
            "MAX_ABS_MEAN",
        ),
        (
            r#"{"components": [{"weight": 1, "mean": [1e300, 0], "cov": [[1, 0], [0, 1]]}]}"#,
            "components[0].mean[0]",
            "MAX_ABS_MEAN",
        ),
        (
            r#"{"components": [{"weight": 1, "mean": [0, 0], "cov": [[1, 0], [0, 1]]},
                               {"weight": 1, "mean": [1, 1], "cov": [[1e-300, 0], [0, 1e-300]]}]}"#,
            "components[1].cov",
            "MIN_SD",
        ),
        (
            r#"{"components": [{"weight": 1, "mean": [0, 0], "cov": [[1e300, 0], [0, 1e300]]}]}"#,
            "components[0].cov",
            "MAX_SD",
        ),
        (
            r#"{"components": [{"weight": 1, "mean": [0, 0], "cov": [[1, 0.99999999999], [0.99999999999, 1]]}]}"#,
            "components[0].cov",
            "MAX_CONDITION",
        ),
    ];
    for (json, field, limit) in cases {
        let out = report_on_mixture(json);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{json}: {stderr}");
        assert!(out.stdout.is_empty(), "{json}: no report on stdout");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(field) && stderr.contains(limit),
            "{json}: {stderr}"
        );
    }
}

/// At the edges of the accepted range the report computes the right numbers: the data
/// entropy of `N((1e6, -1e6), 1e-12 I)` (the largest accepted mean, the smallest accepted
/// standard deviation 1e-6 per axis) is `ln(2 pi e) + 2 ln(1e-6)` nats, within Monte Carlo
/// error.
#[test]
fn report_at_the_smallest_accepted_scale_has_the_closed_form_entropy() {
    let out = report_on_mixture(
        r#"{"components": [{"weight": 1, "mean": [1000000, -1000000], "cov": [[1e-12, 0], [0, 1e-12]]}]}"#,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let h = doc["data_entropy"].as_f64().expect("a number");
    let se = doc["data_entropy_stderr"].as_f64().expect("a number");
    let exact = (2.0 * std::f64::consts::PI * std::f64::consts::E).ln() + 2.0 * 1e-6f64.ln();
    assert!(
        (h - exact).abs() <= 5.0 * se + 1e-9,
        "{h} ± {se} vs {exact}"
    );
    assert!(doc["nelbo"].is_number() && doc["nelbo_stderr"].is_number());
}

// ---------------------------------------------------------------------------------------
// Defect 12: the same bytes on any thread count.

fn with_threads(threads: usize, args: &[&str]) -> Vec<u8> {
    let out = elbo_lab()
        .env("RAYON_NUM_THREADS", threads.to_string())
        .args(args)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    out.stdout
}

#[test]
fn report_is_byte_identical_on_1_2_and_3_threads() {
    let args = [
        "report",
        "--data",
        "two-moons",
        "--steps",
        "100",
        "--samples",
        "300",
        "--seed",
        "7",
        "--consistency",
    ];
    let one = with_threads(1, &args);
    assert!(!one.is_empty());
    for threads in [2, 3] {
        assert!(
            with_threads(threads, &args) == one,
            "report differs on {threads} threads"
        );
    }
}

#[test]
fn train_writes_byte_identical_files_on_1_2_and_3_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |threads: usize| {
        let out = dir.path().join(format!("t{threads}"));
        let status = elbo_lab()
            .env("RAYON_NUM_THREADS", threads.to_string())
            .args([
                "train",
                "--data",
                "two-moons",
                "--steps",
                "30",
                "--train-steps",
                "15",
                "--batch",
                "64",
                "--samples",
                "128",
                "--params",
                "x0,eps,score,v",
                "--quiet",
                "--out",
            ])
            .arg(&out)
            .output()
            .expect("runs");
        assert!(status.status.success(), "{}", stderr_of(&status));
        [
            "summary.json",
            "x0.safetensors",
            "eps.safetensors",
            "score.safetensors",
            "v.safetensors",
        ]
        .map(|f| std::fs::read(out.join(f)).expect("written"))
    };
    let one = run(1);
    for threads in [2, 3] {
        let other = run(threads);
        for (k, (a, b)) in one.iter().zip(&other).enumerate() {
            assert!(a == b, "file {k} differs on {threads} threads");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Defect 13: weights at T = 100000.

/// `report --steps 100000`: abar_t underflows f64 on more than 10,000 rows, yet every
/// `weight_eps` and `weight_score` is defined (computed from log abar); with zero terminal
/// SNR only the last row's are empty, where abar_T = 0 exactly.
#[test]
fn report_at_t_100000_has_every_eps_and_score_weight() {
    for rescale in [false, true] {
        let mut cmd = elbo_lab();
        cmd.args([
            "report",
            "--data",
            "bimodal",
            "--schedule",
            "linear",
            "--steps",
            "100000",
            "--samples",
            "2",
            "--format",
            "csv",
        ]);
        if rescale {
            cmd.arg("--rescale-zero-snr");
        }
        let out = cmd.output().expect("runs");
        assert!(out.status.success(), "{}", stderr_of(&out));
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
        let (c_t, c_abar, c_eps, c_score) = (
            col("t"),
            col("alpha_bar"),
            col("weight_eps"),
            col("weight_score"),
        );
        let mut rows = 0;
        let mut underflowed = 0;
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            let t: usize = cells[c_t].parse().expect("t");
            rows += 1;
            if cells[c_abar].parse::<f64>().expect("abar") == 0.0 {
                underflowed += 1;
            }
            let undefined_here = rescale && t == 100_000;
            for c in [c_eps, c_score] {
                if undefined_here {
                    assert!(cells[c].is_empty(), "t = {t}: {line}");
                } else {
                    let w: f64 = cells[c]
                        .parse()
                        .unwrap_or_else(|_| panic!("t = {t}: empty weight in {line}"));
                    assert!(w.is_finite() && w > 0.0, "t = {t}: {line}");
                }
            }
        }
        assert_eq!(rows, 100_000);
        assert!(underflowed > 10_000, "{underflowed} rows with abar = 0");
    }
}
