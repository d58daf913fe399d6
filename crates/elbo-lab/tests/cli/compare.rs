//! `elbo-lab compare` and `elbo_core::compare` (issue 13): one row per schedule, by
//! quadrature (the NELBO `report` gives) or with paired Monte Carlo differences to the
//! first, and the text, CSV and JSON output.

use super::common::{elbo_lab, test_data};

use serde_json::Value;

use elbo_core::compare::{COMPARE_CSV_COLUMNS, CompareConfig, CompareEntry, compare};
use elbo_core::denoiser::ModelKind;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, ScheduleSpec, VarianceType, load_schedule_file};

fn run_ok(args: &[&str]) -> String {
    let out = elbo_lab().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "elbo-lab {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn fails(args: &[&str], wanted: &[&str]) {
    let out = elbo_lab().args(args).output().expect("runs");
    assert!(!out.status.success(), "elbo-lab {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    for w in wanted {
        assert!(
            err.contains(w),
            "elbo-lab {args:?}: '{w}' missing from: {err}"
        );
    }
}

/// The cells of one CSV line (RFC 4180 quoting).
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().expect("a cell").push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(String::new()),
            c => cells.last_mut().expect("a cell").push(c),
        }
    }
    cells
}

fn entry(name: &str, spec: ScheduleSpec) -> CompareEntry {
    CompareEntry {
        name: name.into(),
        class_name: None,
        spec,
        variance: VarianceType::FixedSmall,
        notes: Vec::new(),
    }
}

/// Monte Carlo: with the same (x0, eps) pairs for every schedule, the standard error of
/// each difference to the first is below the unpaired one, sqrt(se_A^2 + se_B^2). Three
/// schedules of different kinds and T (linear T = 200, cosine T = 150, Z-Image's flow
/// matching at T = 100), so the pairing works by sample, not by t.
#[test]
fn paired_differences_have_smaller_standard_errors_than_unpaired() {
    let data = DataSpec::new(DataPreset::Bimodal).build().expect("preset");
    let mut zimage = load_schedule_file(std::path::Path::new(&test_data(
        "z-image-flow-match.scheduler_config.json",
    )))
    .expect("loads");
    zimage.spec.steps = 100;
    let entries = [
        entry("linear", ScheduleSpec::preset(BetaSchedule::Linear, 200)),
        entry(
            "cosine",
            ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, 150),
        ),
        entry("z-image", zimage.spec),
    ];
    let config = CompareConfig {
        method: elbo_core::elbo::Method::MonteCarlo,
        samples: 256,
        seed: 7,
        model: ModelKind::Optimal,
    };
    let table = compare(&data, "bimodal", &entries, &config, Default::default()).expect("runs");
    assert_eq!(table.rows.len(), 3);
    let first = &table.rows[0];
    assert_eq!(first.nelbo_diff, 0.0);
    assert_eq!(first.nelbo_diff_stderr, 0.0);
    assert_eq!(first.steps, 200);
    for r in &table.rows[1..] {
        assert!(r.nelbo_stderr > 0.0, "{}: Monte Carlo has an error", r.name);
        let unpaired = r.nelbo_stderr.hypot(first.nelbo_stderr);
        assert!(
            (r.nelbo_diff_unpaired_stderr - unpaired).abs() <= 1e-12 * unpaired,
            "{}",
            r.name
        );
        assert!(
            r.nelbo_diff_stderr < 0.5 * r.nelbo_diff_unpaired_stderr,
            "{}: paired se {} not well below unpaired {}",
            r.name,
            r.nelbo_diff_stderr,
            r.nelbo_diff_unpaired_stderr
        );
        // The difference is that of the two NELBOs (means of the paired totals).
        assert!(
            (r.nelbo_diff - (r.nelbo - first.nelbo)).abs() <= 1e-9 * r.nelbo.abs().max(1.0),
            "{}",
            r.name
        );
    }
    // Z-Image: zero terminal SNR, so log_snr_min is undefined and the prior term is 0.
    let z = &table.rows[2];
    assert_eq!(z.log_snr_min, None);
    assert_eq!(z.terminal_alpha_bar, 0.0);
    assert_eq!(z.prior_loss, 0.0);
    assert!(z.findings.iter().any(|f| f.code == "zero_terminal_snr"));
    // The same seed gives the same table.
    let again = compare(&data, "bimodal", &entries, &config, Default::default()).expect("runs");
    assert_eq!(again, table);
}

#[test]
fn compare_text_csv_and_json() {
    let zimage = test_data("z-image-flow-match.scheduler_config.json");
    let common = [
        "--method",
        "monte-carlo",
        "--data",
        "bimodal",
        "--samples",
        "64",
        "--steps",
        "100",
        "--seed",
        "3",
    ];
    let args = |format: &str| -> Vec<String> {
        let mut a: Vec<String> = ["compare", "linear", "squaredcos_cap_v2", zimage.as_str()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(common.iter().map(|s| s.to_string()));
        a.push("--format".into());
        a.push(format.into());
        a
    };
    let as_refs = |v: &[String]| -> Vec<String> { v.to_vec() };
    let text_args = as_refs(&args("text"));
    let text = run_ok(&text_args.iter().map(String::as_str).collect::<Vec<_>>());
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(
            "data: bimodal (d = 1), model optimal, NELBO by Monte Carlo on N = 64 shared (x0, eps) pairs"
        ),
        "{text}"
    );
    let header = lines
        .iter()
        .position(|l| l.starts_with("schedule"))
        .expect("a header line");
    for col in [
        "class",
        "T",
        "log-SNR range",
        "abar_T",
        "prior L_T",
        "NELBO +- se",
    ] {
        assert!(
            lines[header].contains(col),
            "{col} missing: {}",
            lines[header]
        );
    }
    let row = |name: &str| -> &str {
        lines[header + 1..header + 4]
            .iter()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name} in {text}"))
    };
    assert!(row("linear ").contains("(reference)"), "{text}");
    assert!(row("linear ").contains("   100  "), "{text}");
    let z = row("z-image-flow-match");
    assert!(
        z.contains("FlowMatchEulerDiscreteScheduler") && z.contains(".. -inf"),
        "{z}"
    );
    assert!(z.contains("+- ") && z.contains('('), "{z}");
    assert!(text.contains("note: Flow matching"), "{text}");
    assert!(text.contains("[info] Terminal SNR is exactly 0"), "{text}");

    let csv_args = as_refs(&args("csv"));
    let csv = run_ok(&csv_args.iter().map(String::as_str).collect::<Vec<_>>());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], COMPARE_CSV_COLUMNS.join(","));
    assert_eq!(lines.len(), 4, "{csv}");
    // The schedule label has commas, so it is quoted.
    let cells = csv_cells(lines[3]);
    assert_eq!(cells.len(), COMPARE_CSV_COLUMNS.len(), "{}", lines[3]);
    assert_eq!(cells[0], "z-image-flow-match");
    assert_eq!(cells[1], "FlowMatchEulerDiscreteScheduler");
    assert_eq!(cells[3], "100");
    assert_eq!(cells[5], "", "log_snr_min undefined at zero SNR");
    assert_eq!(cells[2], "flow matching, shift 6, T = 100");
    assert!(cells[13].contains("zero_terminal_snr"), "{}", lines[3]);
    assert!(!cells[13].contains("betas_not_monotone"), "{}", lines[3]);

    let json_args = as_refs(&args("json"));
    let json = run_ok(&json_args.iter().map(String::as_str).collect::<Vec<_>>());
    let doc: Value = serde_json::from_str(&json).expect("valid JSON");
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3);
    assert_eq!(doc["samples"], 64);
    assert_eq!(rows[2]["log_snr_min"], Value::Null);
    assert_eq!(rows[2]["class"], "FlowMatchEulerDiscreteScheduler");
    assert_eq!(rows[0]["class"], Value::Null);
    for r in &rows[1..] {
        let paired = r["nelbo_diff_stderr"].as_f64().expect("number");
        let unpaired = r["nelbo_diff_unpaired_stderr"].as_f64().expect("number");
        assert!(paired < unpaired, "{r}");
    }
    // The text's NELBO of the first row is the JSON's, to the 4 decimals printed.
    let nelbo = rows[0]["nelbo"].as_f64().expect("number");
    assert!(
        text.contains(&format!("{nelbo:.4} +- ")),
        "{nelbo} in {text}"
    );
}

#[test]
fn compare_errors_name_what_is_wrong() {
    fails(
        &["compare", "linear", "no-such-schedule", "--samples", "8"],
        &["no-such-schedule"],
    );
    fails(
        &["compare", "linear", "--schedule", "cosine"],
        &["takes its schedules as arguments"],
    );
    fails(&["compare", "linear", "--samples", "1"], &["samples N = 1"]);
    fails(&["compare"], &["SCHEDULE"]);
}

/// `schedule` says how a non-beta config was read and `--steps` sets Wuerstchen's T;
/// `sample` takes a config's timestep_spacing and steps_offset unless flags override them,
/// and runs on a flow-matching schedule (zero terminal SNR).
#[test]
fn configs_through_schedule_and_sample() {
    let cascade = test_data("stable-cascade-wuerstchen.scheduler_config.json");
    let json = run_ok(&[
        "schedule",
        "--schedule",
        &cascade,
        "--steps",
        "50",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(doc["steps"], 50);
    assert_eq!(doc["class"], "DDPMWuerstchenScheduler");
    assert_eq!(doc["terminal_alpha_bar"], 0.0);
    assert_eq!(doc["timesteps"].as_array().expect("rows").len(), 50);
    let notes = doc["notes"].as_array().expect("notes");
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().is_some_and(|s| s.contains("clamp"))),
        "{notes:?}"
    );
    let text = run_ok(&["schedule", "--schedule", &cascade, "--steps", "50"]);
    assert!(text.contains("how this config is read:"), "{text}");

    // SDXL's config: timestep_spacing linspace, steps_offset 1.
    let sdxl = test_data("sdxl-euler-ancestral.scheduler_config.json");
    let sample = |extra: &[&str]| -> Value {
        let mut args = vec![
            "sample",
            "--schedule",
            sdxl.as_str(),
            "--sampling-steps",
            "10",
            "--count",
            "40",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&run_ok(&args)).expect("valid JSON")
    };
    let v = sample(&[]);
    assert_eq!(v["spacing"], "linspace");
    assert_eq!(v["steps_offset"], 1);
    let v = sample(&["--spacing", "leading", "--steps-offset", "0"]);
    assert_eq!(v["spacing"], "leading");
    assert_eq!(v["steps_offset"], 0);

    // Flow matching (abar_T = 0) samples with finite quality figures.
    let flux = test_data("flux-flow-match.scheduler_config.json");
    let out = elbo_lab()
        .args([
            "sample",
            "--schedule",
            &flux,
            "--sampling-steps",
            "20",
            "--count",
            "64",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("note: flux-flow-match: Flow matching"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(
        v["quality"]["energy_distance"]["mean"]
            .as_f64()
            .is_some_and(f64::is_finite),
        "{v}"
    );
    // A config that is neither is refused with the list of what is supported.
    let dir = tempfile::tempdir().expect("temp dir");
    let odd = dir.path().join("odd.json");
    std::fs::write(&odd, r#"{"_class_name": "MysteryScheduler"}"#).expect("writes");
    fails(
        &[
            "report",
            "--schedule",
            odd.to_str().expect("utf-8"),
            "--samples",
            "8",
        ],
        &["MysteryScheduler", "FlowMatchEulerDiscreteScheduler"],
    );
}

/// The defect: `compare` used Monte Carlo while everything else used quadrature, so one
/// schedule had two NELBOs (1.025 in `compare` against 1.105 in `report` on two moons).
/// By default they are now the same number, to their error estimates.
#[test]
fn compare_and_report_give_one_nelbo_per_schedule() {
    let sd = test_data("stable-diffusion-v1-5.scheduler_config.json");
    for (data, steps, schedules) in [
        ("bimodal", "1000", ["linear", sd.as_str()]),
        ("two-moons", "100", ["linear", "squaredcos_cap_v2"]),
    ] {
        let table: Value = serde_json::from_str(&run_ok(&[
            "compare",
            schedules[0],
            schedules[1],
            "--data",
            data,
            "--steps",
            steps,
            "--format",
            "json",
        ]))
        .expect("JSON");
        assert_eq!(table["method"], "quadrature");
        let rows = table["rows"].as_array().expect("rows");
        let mut nelbos = Vec::new();
        for (schedule, row) in schedules.iter().zip(rows) {
            let report: Value = serde_json::from_str(&run_ok(&[
                "report",
                "--data",
                data,
                "--schedule",
                schedule,
                "--steps",
                steps,
                "--format",
                "json",
            ]))
            .expect("JSON");
            let (a, b) = (
                row["nelbo"].as_f64().expect("number"),
                report["nelbo"].as_f64().expect("number"),
            );
            let se = row["nelbo_stderr"]
                .as_f64()
                .expect("number")
                .hypot(report["nelbo_stderr"].as_f64().expect("number"));
            assert!(
                (a - b).abs() <= 3.0 * se + 1e-12,
                "{data}, {schedule}: compare {a} against report {b} (se {se})"
            );
            nelbos.push(a);
        }
        let diff = rows[1]["nelbo_diff"].as_f64().expect("number");
        assert!((diff - (nelbos[1] - nelbos[0])).abs() < 1e-12, "{diff}");
    }
}

/// Where the lowest NELBO carries the only warning (Stable Diffusion v1.5's non-zero
/// terminal SNR on bimodal data), the table says why the two disagree.
#[test]
fn the_table_says_why_the_ranking_and_the_findings_disagree() {
    let sd = test_data("stable-diffusion-v1-5.scheduler_config.json");
    let text = run_ok(&[
        "compare",
        "linear",
        "squaredcos_cap_v2",
        sd.as_str(),
        "--data",
        "bimodal",
    ]);
    assert!(
        text.starts_with("data: bimodal (d = 1), model optimal, NELBO by quadrature"),
        "{text}"
    );
    assert!(
        text.contains(
            "note: stable-diffusion-v1-5 has the lowest NELBO but a warning (terminal_snr_not_zero)"
        ) && text.contains("the cost is in sampling"),
        "{text}"
    );
}
