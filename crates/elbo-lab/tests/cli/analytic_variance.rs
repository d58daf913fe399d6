//! `report` and `sample` take `--variance analytic` (Bao et al. 2022).

use super::common::elbo_lab;

use serde_json::Value;

fn report(args: &[&str]) -> Value {
    let out = elbo_lab().arg("report").args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "report {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn cli_report_and_sample_take_analytic() {
    for (data, steps) in [("bimodal", "1000"), ("two-moons", "100")] {
        for method in ["quadrature", "monte-carlo"] {
            let v = report(&[
                "--data",
                data,
                "--steps",
                steps,
                "--schedule",
                "linear",
                "--variance",
                "analytic",
                "--method",
                method,
                "--samples",
                "2048",
            ]);
            assert_eq!(v["variance"], "analytic");
            let nelbo = v["nelbo"].as_f64().expect("finite NELBO");
            let by = &v["nelbo_by_variance"];
            let small = by["fixed_small"].as_f64().expect("fixed_small");
            let large = by["fixed_large"].as_f64().expect("fixed_large");
            assert_eq!(by["analytic"].as_f64(), Some(nelbo));
            assert!(
                nelbo.is_finite() && nelbo < small,
                "{data} {method}: {nelbo} vs {small}"
            );
            assert!(large.is_finite());
            let rows = v["timesteps"].as_array().expect("rows");
            assert!(rows.iter().all(|r| r["sigma2"].as_f64().is_some()));
        }
    }
    // Under Monte Carlo with a fixed variance the analytic NELBO is not computed: null.
    let v = report(&[
        "--data",
        "bimodal",
        "--steps",
        "50",
        "--method",
        "monte-carlo",
    ]);
    assert!(v["nelbo_by_variance"]["analytic"].is_null());
    assert!(v["nelbo_by_variance"]["fixed_large"].as_f64().is_some());
    for data in ["bimodal", "two-moons"] {
        let out = elbo_lab()
            .args([
                "sample",
                "--data",
                data,
                "--variance",
                "analytic",
                "--sampling-steps",
                "20",
                "--count",
                "200",
                "--format",
                "json",
            ])
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "sample {data}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(v["variance"], "analytic");
        let samples = v["samples"].as_array().expect("samples");
        assert_eq!(samples.len(), 200);
        assert!(
            samples
                .iter()
                .flat_map(|r| r.as_array().expect("row").iter())
                .all(|x| x.as_f64().is_some_and(f64::is_finite))
        );
    }
}
