//! The real `elbo-lab` binary (docs/report-format.md): the report's JSON and CSV contract, `--out`,
//! `schedule`, `presets`, one-line errors with a non-zero exit, and flag precedence over a
//! diffusers config.

use super::common::{elbo_lab, test_data};

use std::io::Write;

use serde_json::Value;

/// Top-level fields of the report JSON, names exact (the report format:
/// docs/report-format.md).
const TOP_LEVEL_FIELDS: [&str; 19] = [
    "dim",
    "steps",
    "samples",
    "seed",
    "model",
    "variance",
    "data",
    "betas",
    "prior_loss",
    "reconstruction_loss",
    "reconstruction_stderr",
    "denoising_loss",
    "nelbo",
    "nelbo_stderr",
    "bits_per_dim",
    "data_entropy",
    "data_entropy_stderr",
    "timesteps",
    // Also documented in docs/report-format.md (the gap is what a schedule costs).
    "gap",
];

/// Per-row fields, names exact (the report format: docs/report-format.md).
const ROW_FIELDS: [&str; 13] = [
    "t",
    "beta",
    "alpha_bar",
    "log_snr",
    "term",
    "loss",
    "stderr",
    "mse_x0",
    "mse_eps",
    "mse_score",
    "weight_x0",
    "weight_eps",
    "weight_score",
];

/// Totals are sums of row values: they agree to rounding.
const SUM_REL_TOL: f64 = 1e-9;

/// Run with args, expect success, return stdout.
fn ok(args: &[&str]) -> String {
    let out = elbo_lab().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "elbo-lab {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn ok_json(args: &[&str]) -> Value {
    let text = ok(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

/// Run with args, expect failure with a one-line stderr containing every needle.
fn fails(args: &[&str], needles: &[&str]) {
    let out = elbo_lab().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "elbo-lab {args:?} should fail; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
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
    assert!(out.stdout.is_empty(), "{args:?}: no output on error");
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number: {}", v[key]))
}

fn temp_file(suffix: &str, contents: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp file");
    f.write_all(contents.as_bytes()).expect("write temp file");
    f
}

#[test]
fn report_json_has_every_spec_field_and_nulls_where_undefined() {
    const T: usize = 20;
    let doc = ok_json(&[
        "report",
        "--data",
        "bimodal",
        "--steps",
        "20",
        "--samples",
        "64",
        "--seed",
        "3",
        "--rescale-zero-snr",
        "-q",
    ]);
    for key in TOP_LEVEL_FIELDS {
        assert!(doc.get(key).is_some(), "missing top-level field {key}");
    }
    assert_eq!(doc["dim"], 1);
    assert_eq!(doc["steps"], T);
    assert_eq!(doc["samples"], 64);
    assert_eq!(doc["seed"], 3);
    assert_eq!(doc["model"], "optimal");
    assert_eq!(doc["variance"], "fixed_small");
    // The bimodal preset: two equal modes at -1 and +1, sd 0.25 (presets.rs).
    let comps = doc["data"]["components"].as_array().expect("components");
    assert_eq!(comps.len(), 2);
    for c in comps {
        assert_eq!(c["weight"].as_f64(), Some(0.5));
        assert_eq!(c["mean"].as_array().map(Vec::len), Some(1));
        assert_eq!(c["cov"][0][0].as_f64(), Some(0.0625));
    }
    let betas = doc["betas"].as_array().expect("betas");
    assert_eq!(betas.len(), T);
    assert_eq!(betas[T - 1].as_f64(), Some(1.0), "zero SNR: beta_T = 1");
    assert_eq!(num(&doc, "prior_loss"), 0.0, "zero SNR: no prior term");

    let rows = doc["timesteps"].as_array().expect("timesteps");
    assert_eq!(rows.len(), T);
    let mut denoising = 0.0;
    for (i, row) in rows.iter().enumerate() {
        let t = i + 1;
        for key in ROW_FIELDS {
            assert!(row.get(key).is_some(), "row {t}: missing {key}");
        }
        assert_eq!(row["t"], t);
        assert_eq!(row["beta"], betas[i]);
        let want = if t == 1 {
            "reconstruction"
        } else {
            "denoising"
        };
        assert_eq!(row["term"], want, "row {t}");
        assert!(num(row, "stderr") >= 0.0);
        if t >= 2 {
            denoising += num(row, "loss");
        }
        if t < T {
            for key in ["log_snr", "weight_eps", "weight_score", "weight_x0"] {
                assert!(row[key].is_number(), "row {t}: {key} = {}", row[key]);
            }
        }
    }
    // Row T at abar_T = 0: log_snr, weight_eps, weight_score null; weight_x0 finite; the
    // eps and score errors are exactly 0.
    let last = &rows[T - 1];
    assert_eq!(num(last, "alpha_bar"), 0.0);
    for key in ["log_snr", "weight_eps", "weight_score"] {
        assert!(last[key].is_null(), "row T: {key} = {}", last[key]);
    }
    assert!(num(last, "weight_x0").is_finite());
    assert_eq!(num(last, "mse_eps"), 0.0);
    assert_eq!(num(last, "mse_score"), 0.0);
    // Totals: NELBO = L_0 + sum L_{t-1} + L_T; bits per dim = NELBO / ln 2 (d = 1).
    let recon = num(&doc, "reconstruction_loss");
    assert_eq!(recon, num(&rows[0], "loss"));
    let d = num(&doc, "denoising_loss");
    assert!(
        (d - denoising).abs() <= SUM_REL_TOL * d.abs(),
        "{d} vs {denoising}"
    );
    let nelbo = num(&doc, "nelbo");
    assert!((nelbo - (recon + d)).abs() <= SUM_REL_TOL * nelbo.abs());
    let bpd = num(&doc, "bits_per_dim");
    assert!((bpd - nelbo / std::f64::consts::LN_2).abs() <= SUM_REL_TOL * bpd.abs());
    assert!(num(&doc, "nelbo_stderr") > 0.0 && num(&doc, "data_entropy_stderr") > 0.0);
}

#[test]
fn report_csv_has_the_columns_and_one_row_per_t() {
    let text = ok(&[
        "report",
        "--data",
        "two-moons",
        "--schedule",
        "linear",
        "--steps",
        "12",
        "--samples",
        "32",
        "--rescale-zero-snr",
        "--format",
        "csv",
        "-q",
    ]);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    for key in ROW_FIELDS {
        assert!(header.contains(&key), "CSV header lacks {key}: {header:?}");
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 12);
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), header.len(), "row {}", i + 1);
        assert_eq!(r[col("t")], (i + 1).to_string());
        assert!(r[col("loss")].parse::<f64>().is_ok_and(f64::is_finite));
    }
    // Undefined is an empty cell, never NaN.
    assert_eq!(rows[11][col("log_snr")], "");
    assert_eq!(rows[11][col("weight_eps")], "");
    assert!(!text.to_lowercase().contains("nan"), "{text}");
}

#[test]
fn report_out_writes_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json");
    let path_str = path.display().to_string();
    let stdout = ok(&[
        "report",
        "--data",
        "gaussian",
        "--steps",
        "10",
        "--samples",
        "16",
        "--model",
        "gaussian",
        "--out",
        &path_str,
        "-q",
    ]);
    assert!(stdout.is_empty(), "nothing on stdout with --out: {stdout}");
    let text = std::fs::read_to_string(&path).expect("--out file exists");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["steps"], 10);
    assert_eq!(doc["model"], "gaussian");
}

#[test]
fn schedule_subcommand_text_csv_json() {
    let base = [
        "schedule",
        "--schedule",
        "squaredcos_cap_v2",
        "--steps",
        "50",
    ];
    let text = ok(&base);
    assert!(text.contains("squaredcos_cap_v2"), "{text}");
    // The findings come before the table, where a reader sees them first.
    let findings = text.find("\nfindings:").expect("findings");
    let table = text.find("beta  ").expect("the table's header");
    assert!(findings < table, "{text}");

    let csv = ok(&[&base[..], &["--format", "csv"]].concat());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "t,beta,alpha_bar,one_minus_alpha_bar,log_snr,posterior_variance"
    );
    assert_eq!(lines.len(), 51);
    assert!(lines[50].starts_with("50,"));

    let json = ok_json(&[&base[..], &["--format", "json"]].concat());
    assert_eq!(json["steps"], 50);
    let rows = json["timesteps"].as_array().expect("rows");
    assert_eq!(rows.len(), 50);
    // The cosine schedule caps beta_T at 0.999 (diffusers' max_beta).
    assert_eq!(rows[49]["beta"].as_f64(), Some(0.999));
    assert!(json["findings"].is_array());

    // Zero SNR: log_snr is null in JSON, "undefined" in text.
    let z = ok_json(&[
        "schedule",
        "--steps",
        "10",
        "--rescale-zero-snr",
        "--format",
        "json",
    ]);
    assert!(z["timesteps"][9]["log_snr"].is_null());
    assert_eq!(z["terminal_alpha_bar"].as_f64(), Some(0.0));
    let text = ok(&["schedule", "--steps", "10", "--rescale-zero-snr"]);
    assert!(text.contains("undefined"), "{text}");
}

#[test]
fn presets_lists_every_preset() {
    let text = ok(&["presets"]);
    for name in [
        "bimodal",
        "skewed",
        "spike",
        "gaussian",
        "eight-gaussians",
        "two-moons",
        "swiss-roll",
        "rings",
        "checkerboard",
        "spiral",
        "line",
        "linear",
        "scaled_linear",
        "squaredcos_cap_v2",
        "sigmoid",
        "optimal",
        "fixed_small",
        "fixed_large",
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "presets lacks a line for {name}:\n{text}"
        );
    }
}

#[test]
fn bad_inputs_fail_with_one_line_naming_the_problem() {
    fn report<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [
            &["report", "--samples", "8", "--steps", "5", "-q"][..],
            extra,
        ]
        .concat()
    }

    fails(&report(&["--data", "no-such-shape"]), &["no-such-shape"]);
    fails(
        &report(&["--schedule", "no_such_schedule"]),
        &["no_such_schedule"],
    );
    fails(
        &["report", "--steps", "0", "--samples", "8", "-q"],
        &["T = 0"],
    );
    fails(
        &report(&["--beta-start", "1.5"]),
        &["--beta-start 1.5 is outside"],
    );
    fails(
        &report(&["--beta-end", "NaN"]),
        &["--beta-end NaN is outside"],
    );
    fails(
        &["report", "--samples", "0", "--steps", "5", "-q"],
        &["N = 0"],
    );

    // Malformed files.
    let bad_json = temp_file(".json", "{ \"num_train_timesteps\": 10, ");
    let p = bad_json.path().display().to_string();
    fails(&report(&["--schedule", &p]), &[&p, "JSON"]);
    fails(&report(&["--data", &p]), &[&p, "JSON"]);
    let bad_betas = temp_file(".txt", "0.01\n0.02\nlots\n");
    let p = bad_betas.path().display().to_string();
    fails(
        &["report", "--schedule", &p, "--samples", "8", "-q"],
        &[&p, "line 3"],
    );
    let out_of_range = temp_file(".txt", "0.01\n0\n");
    let p = out_of_range.path().display().to_string();
    fails(
        &["report", "--schedule", &p, "--samples", "8", "-q"],
        &["betas[1] (t = 2) = 0"],
    );
    let bad_mixture = temp_file(
        ".json",
        r#"{"components": [{"weight": -1, "mean": [0], "cov": [[1]]}]}"#,
    );
    let p = bad_mixture.path().display().to_string();
    fails(&report(&["--data", &p]), &["components[0].weight"]);
    let not_spd = temp_file(
        ".json",
        r#"{"components": [{"weight": 1, "mean": [0, 0], "cov": [[1, 2], [2, 1]]}]}"#,
    );
    let p = not_spd.path().display().to_string();
    fails(
        &report(&["--data", &p]),
        &["components[0].cov", "positive definite"],
    );
    let learned = temp_file(
        ".json",
        r#"{"beta_schedule": "linear", "variance_type": "learned_range"}"#,
    );
    let p = learned.path().display().to_string();
    fails(
        &report(&["--schedule", &p]),
        &["variance_type", "not supported"],
    );
    let unknown = temp_file(".json", r#"{"beta_schedule": "exponential"}"#);
    let p = unknown.path().display().to_string();
    fails(
        &report(&["--schedule", &p]),
        &["beta_schedule", "exponential"],
    );
    // The schedule subcommand reports the same way.
    fails(&["schedule", "--steps", "0"], &["T = 0"]);
}

#[test]
fn flags_override_a_diffusers_config() {
    // --steps beats num_train_timesteps; the config's beta range still applies.
    let sd = test_data("stable-diffusion-v1-5.scheduler_config.json");
    let doc = ok_json(&[
        "schedule",
        "--schedule",
        &sd,
        "--steps",
        "50",
        "--format",
        "json",
    ]);
    assert_eq!(doc["steps"], 50);
    let rows = doc["timesteps"].as_array().expect("rows");
    assert_eq!(rows.len(), 50);
    // scaled_linear from the config: beta_1 = beta_start = 0.00085 (up to sqrt-then-square
    // rounding), beta_T = 0.012.
    let b1 = rows[0]["beta"].as_f64().expect("beta_1");
    assert!((b1 - 0.00085).abs() < 1e-15, "{b1}");
    let bt = rows[49]["beta"].as_f64().expect("beta_T");
    assert!((bt - 0.012).abs() < 1e-15, "{bt}");
    let doc = ok_json(&[
        "report",
        "--schedule",
        &sd,
        "--steps",
        "50",
        "--samples",
        "8",
        "-q",
    ]);
    assert_eq!(doc["steps"], 50);
    assert_eq!(doc["betas"].as_array().map(Vec::len), Some(50));

    // variance_type fixed_large in the CIFAR-10 config, unless --variance says otherwise.
    let cifar = test_data("ddpm-cifar10-32.scheduler_config.json");
    let args = [
        "report",
        "--schedule",
        &cifar,
        "--steps",
        "20",
        "--samples",
        "8",
        "-q",
    ];
    assert_eq!(ok_json(&args)["variance"], "fixed_large");
    let over = ok_json(&[&args[..], &["--variance", "fixed_small"]].concat());
    assert_eq!(over["variance"], "fixed_small");
    // --beta-end beats the config's beta_end.
    let doc = ok_json(&[
        "schedule",
        "--schedule",
        &cifar,
        "--steps",
        "10",
        "--beta-end",
        "0.05",
        "--format",
        "json",
    ]);
    assert_eq!(doc["timesteps"][9]["beta"].as_f64(), Some(0.05));
    assert_eq!(doc["variance"], "fixed_large");
}

#[test]
fn report_method_is_quadrature_by_default_and_monte_carlo_on_request() {
    // Issue 12: `--method quadrature|monte-carlo`, quadrature the default; rows carry the
    // method; sample-only fields are null under quadrature; both estimate the same NELBO.
    let args = [
        "report",
        "--data",
        "bimodal",
        "--steps",
        "50",
        "--samples",
        "4096",
        "-q",
    ];
    let quad = ok_json(&args);
    let explicit = ok_json(&[&args[..], &["--method", "quadrature"]].concat());
    assert_eq!(quad, explicit, "quadrature is the default");
    let mc = ok_json(&[&args[..], &["--method", "monte-carlo"]].concat());
    assert_eq!(quad["method"], "quadrature");
    assert_eq!(mc["method"], "monte-carlo");
    for row in quad["timesteps"].as_array().expect("rows") {
        assert_eq!(row["method"], "quadrature", "{row}");
        assert!(
            row["kurtosis"].is_null() && row["reliable"].is_null(),
            "{row}"
        );
        assert_eq!(row["exact"], false);
        assert!(num(row, "stderr") <= 1e-9 * num(row, "loss").abs(), "{row}");
    }
    for row in mc["timesteps"].as_array().expect("rows") {
        assert_eq!(row["method"], "monte-carlo", "{row}");
        assert!(
            row["kurtosis"].is_number() && row["reliable"].is_boolean(),
            "{row}"
        );
        assert!(num(row, "stderr") > 0.0, "{row}");
    }
    // The seed does not matter to quadrature; it does to Monte Carlo.
    let reseeded = ok_json(&[&args[..], &["--seed", "7"]].concat());
    assert_eq!(num(&reseeded, "nelbo"), num(&quad, "nelbo"));
    let (q, m, se) = (
        num(&quad, "nelbo"),
        num(&mc, "nelbo"),
        num(&mc, "nelbo_stderr"),
    );
    assert!(
        (q - m).abs() < 4.0 * se,
        "quadrature {q} vs Monte Carlo {m} ± {se}"
    );
    assert!(
        num(&quad, "nelbo_stderr") < 1e-9,
        "{}",
        quad["nelbo_stderr"]
    );
    // Closed-form rows stay exact under either method.
    let exact = ok_json(&[&args[..], &["--model", "gaussian"]].concat());
    for row in exact["timesteps"].as_array().expect("rows") {
        assert_eq!(row["exact"], true, "{row}");
        assert_eq!(num(row, "stderr"), 0.0, "{row}");
    }
    // CSV: a method column, empty kurtosis and reliable cells under quadrature.
    let csv = ok(&[&args[..], &["--format", "csv"]].concat());
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let first: Vec<&str> = lines.next().expect("a row").split(',').collect();
    assert_eq!(first[col("method")], "quadrature");
    assert_eq!((first[col("kurtosis")], first[col("reliable")]), ("", ""));
    // An unknown method is refused by the argument parser, naming the choices.
    let out = elbo_lab()
        .args([&args[..], &["--method", "exact"]].concat())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(
        stderr.contains("--method")
            && stderr.contains("quadrature")
            && stderr.contains("monte-carlo"),
        "{stderr}"
    );
}
