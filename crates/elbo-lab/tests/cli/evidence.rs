//! `elbo-lab evidence`: every field finite, clear errors, and the analytic variance.

use super::common::elbo_lab;

use serde_json::Value;

#[test]
fn cli_writes_every_field_finite() {
    let out = elbo_lab()
        .args([
            "evidence",
            "--data",
            "skewed",
            "--schedule",
            "cosine",
            "--steps",
            "200",
            "--grid",
            "41",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for key in [
        "model_nll",
        "data_entropy",
        "kl_data_model",
        "mean_bound_gap",
        "nelbo",
    ] {
        let v = json[key].as_f64().unwrap_or(f64::NAN);
        assert!(v.is_finite(), "{key}: {}", json[key]);
        let e = json[format!("{key}_error")].as_f64().unwrap_or(f64::NAN);
        assert!(e.is_finite() && e >= 0.0, "{key}_error");
    }
    assert_eq!(json["steps"], 200);
    assert_eq!(json["model"], "optimal");
    assert_eq!(json["variance"], "fixed_small");
    let mass = json["mass"].as_f64().unwrap_or(f64::NAN);
    assert!((mass - 1.0).abs() < 1e-9, "mass {mass}");
    let points = json["points"].as_array().expect("points");
    assert_eq!(points.len(), 41);
    for p in points {
        for key in ["x0", "p0", "p_theta", "nll", "nelbo"] {
            assert!(p[key].as_f64().is_some_and(f64::is_finite), "{key}: {p}");
        }
    }
    let nll = json["model_nll"].as_f64().unwrap_or(f64::NAN);
    let h = json["data_entropy"].as_f64().unwrap_or(f64::NAN);
    let kl = json["kl_data_model"].as_f64().unwrap_or(f64::NAN);
    assert!((nll - h - kl).abs() < 1e-12);
}

#[test]
fn cli_two_dimensional_data_fail_with_a_reason() {
    let out = elbo_lab()
        .args(["evidence", "--data", "two-moons", "--steps", "10"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("evidence is 1D only"), "{err}");
    assert!(out.stdout.is_empty());
}
#[test]
fn cli_bad_grid_is_a_clear_error() {
    let out = elbo_lab()
        .args(["evidence", "--steps", "10", "--grid", "1"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--grid") && err.contains("between 2 and"),
        "{err}"
    );
}

/// `nelbo` of a JSON output of `args`.
fn nelbo_of(args: &[&str], key: &str) -> f64 {
    let out = elbo_lab().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json[key].as_f64().unwrap_or(f64::NAN)
}

#[test]
fn cli_analytic_variance_is_the_models_own_and_matches_the_report() {
    let common = [
        "--data",
        "bimodal",
        "--schedule",
        "linear",
        "--steps",
        "200",
    ];
    let evidence = |variance: &str| {
        let mut args = vec!["evidence", "--variance", variance, "--grid", "21"];
        args.extend(common);
        nelbo_of(&args, "nelbo")
    };
    let analytic = evidence("analytic");
    let small = evidence("fixed_small");
    let large = evidence("fixed_large");
    // The analytic variance minimises every term given the model's mean.
    assert!(
        analytic < large && large < small,
        "{analytic} {large} {small}"
    );
    let mut args = vec!["report", "--variance", "analytic", "--format", "json"];
    args.extend(common);
    let report = nelbo_of(&args, "nelbo");
    assert!(
        (analytic - report).abs() < 1e-6 * report,
        "evidence {analytic} vs report {report}"
    );
}
