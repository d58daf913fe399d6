//! `elbo-lab evidence`: every field finite, clear errors, and the analytic variance.

use super::common::elbo_lab;

use serde_json::Value;

#[test]
fn cli_writes_every_field_finite() {
    let json = json_of(&[
        "evidence",
        "--data",
        "skewed",
        "--schedule",
        "cosine",
        "--steps",
        "200",
        "--grid",
        "41",
    ]);
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

/// The JSON output of a successful run with `args`.
fn json_of(args: &[&str]) -> Value {
    let out = elbo_lab().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The number `key` of a JSON output of `args`.
fn nelbo_of(args: &[&str], key: &str) -> f64 {
    json_of(args)[key].as_f64().unwrap_or(f64::NAN)
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

/// The excess split along the reverse chain: `nelbo - data_entropy = prior_kl + sum_t
/// reverse_kl` to the error estimates, and every row `reverse_kl = non_gaussianity +
/// moment_mismatch`.
#[test]
fn cli_reverse_steps_sum_to_nelbo_minus_data_entropy() {
    let json = json_of(&[
        "evidence",
        "--data",
        "bimodal",
        "--schedule",
        "linear",
        "--steps",
        "50",
        "--grid",
        "21",
    ]);
    let num = |v: &Value, key: &str| {
        let x = v[key].as_f64().unwrap_or(f64::NAN);
        assert!(x.is_finite(), "{key}: {}", v[key]);
        x
    };
    let rows = json["reverse_steps"].as_array().expect("reverse_steps");
    assert_eq!(rows.len(), 50);
    let (mut sum, mut sum_err, mut sum_g, mut sum_m) = (0.0, 0.0, 0.0, 0.0);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["t"], i + 1);
        let (r, g, m) = (
            num(row, "reverse_kl"),
            num(row, "non_gaussianity"),
            num(row, "moment_mismatch"),
        );
        let err = num(row, "reverse_kl_error")
            + num(row, "non_gaussianity_error")
            + num(row, "moment_mismatch_error");
        assert!((r - g - m).abs() <= err, "t = {}: {r} vs {g} + {m}", i + 1);
        assert!(
            g >= -num(row, "non_gaussianity_error"),
            "t = {}: G {g}",
            i + 1
        );
        sum += r;
        sum_err += num(row, "reverse_kl_error");
        sum_g += g;
        sum_m += m;
    }
    assert!((num(&json, "reverse_kl_sum") - sum).abs() < 1e-12);
    assert!((num(&json, "non_gaussianity") - sum_g).abs() < 1e-12);
    assert!((num(&json, "moment_mismatch") - sum_m).abs() < 1e-12);
    let prior = num(&json, "prior_kl");
    let lhs = num(&json, "nelbo") - num(&json, "data_entropy");
    let tol = num(&json, "nelbo_error")
        + num(&json, "data_entropy_error")
        + num(&json, "prior_kl_error")
        + sum_err;
    assert!(
        (lhs - prior - sum).abs() <= tol,
        "NELBO - H = {lhs} vs prior KL {prior} + sum R {sum} (tol {tol:e})"
    );
    assert!(num(&json, "reverse_kl_sum_error") >= 0.0);
}
