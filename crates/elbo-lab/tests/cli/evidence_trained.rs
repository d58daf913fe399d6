//! `elbo-lab evidence --weights` (issue 10: the evidence of trained models): a network
//! trained by `elbo-lab train` is scored through the CLI, its JSON obeys the evidence
//! identities, and its NELBO matches the library's quadrature NELBO of the same loaded
//! network and `elbo-lab report --weights`. Bad weights are one-line errors with status 1.

use super::common::elbo_lab;

use std::path::{Path, PathBuf};

use serde_json::Value;

use elbo_core::elbo::{Control, ElboConfig, Method, compute_elbo};
use elbo_core::param::Parameterisation;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, ScheduleSpec, VarianceType};
use elbo_train::TrainedDenoiser;

/// T of every training run here (small, for speed).
const STEPS: usize = 50;

/// Train `params` (comma separated) on `data` with T = `steps` into `dir/run`, briefly;
/// return the run's directory.
fn train(dir: &Path, data: &str, steps: usize, params: &str, train_steps: usize) -> PathBuf {
    let out = dir.join("run");
    let steps = steps.to_string();
    let train_steps = train_steps.to_string();
    elbo_lab()
        .args([
            "train",
            "--data",
            data,
            "--steps",
            &steps,
            "--train-steps",
            &train_steps,
            "--batch",
            "64",
            "--samples",
            "64",
            "--params",
            params,
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    out
}

/// Run `elbo-lab` with `args` (expect success); the JSON on standard output and the
/// standard error.
fn json_of(args: &[&str]) -> (Value, String) {
    let out = elbo_lab().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (serde_json::from_slice(&out.stdout).expect("JSON"), stderr)
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number: {}", v[key]))
}

/// The identities every evidence JSON satisfies: the decomposition within the stated
/// errors, KL and the mean gap >= 0, every point's NELBO >= its -log p_theta, mass 1.
fn check_identities(j: &Value) {
    let err = |k: &str| num(j, &format!("{k}_error"));
    let (nelbo, h, kl, gap) = (
        num(j, "nelbo"),
        num(j, "data_entropy"),
        num(j, "kl_data_model"),
        num(j, "mean_bound_gap"),
    );
    let tol = err("nelbo") + err("data_entropy") + err("kl_data_model") + err("mean_bound_gap");
    assert!(
        (nelbo - h - (kl + gap)).abs() <= tol + 1e-12,
        "NELBO - H = {} vs KL + gap = {} (tolerance {tol})",
        nelbo - h,
        kl + gap
    );
    assert!(kl >= -err("kl_data_model"), "KL {kl}");
    assert!(gap >= -err("mean_bound_gap"), "gap {gap}");
    let mass = num(j, "mass");
    assert!((mass - 1.0).abs() < 1e-6, "mass {mass}");
    let point_tol = err("nelbo") + err("model_nll");
    let points = j["points"].as_array().expect("points");
    assert!(!points.is_empty());
    for p in points {
        let (nelbo, nll) = (num(p, "nelbo"), num(p, "nll"));
        assert!(
            nelbo >= nll - point_tol,
            "point {p}: NELBO below -log p_theta"
        );
    }
    assert!(num(j, "min_point_gap") >= -point_tol);
}

#[test]
fn a_trained_network_through_the_cli_obeys_the_identities_and_matches_the_library() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = train(dir.path(), "bimodal", STEPS, "eps", 200);
    let weights = run.join("eps.safetensors");
    let w = weights.to_str().expect("UTF-8 path");
    let steps = STEPS.to_string();
    let common = [
        "--data",
        "bimodal",
        "--schedule",
        "linear",
        "--steps",
        &steps,
    ];
    let evidence = |extra: &[&str]| {
        let mut args = vec!["evidence", "--grid", "21", "--quiet"];
        args.extend(common);
        args.extend(extra);
        json_of(&args)
    };
    let (j, stderr) = evidence(&["--weights", w]);
    // Same data and schedule as the training run: no note.
    assert!(stderr.trim().is_empty(), "{stderr}");
    assert_eq!(j["model"], format!("trained eps network ({w})"));
    assert_eq!(j["steps"], STEPS);
    check_identities(&j);

    // The library's quadrature NELBO of the same loaded network.
    let data = DataSpec::new(DataPreset::Bimodal).build().expect("preset");
    let schedule = ScheduleSpec::preset(BetaSchedule::Linear, STEPS)
        .build()
        .expect("schedule");
    let net = TrainedDenoiser::load(&weights, Parameterisation::Eps, 1).expect("loads");
    let rep = compute_elbo(
        &data,
        &schedule,
        &net,
        &ElboConfig {
            method: Method::Quadrature,
            variance: VarianceType::FixedSmall,
            ..ElboConfig::default()
        },
        Control::default(),
    )
    .expect("ELBO");
    let nelbo = num(&j, "nelbo");
    assert!(
        (nelbo - rep.nelbo.mean).abs() <= num(&j, "nelbo_error") + rep.nelbo.stderr,
        "evidence {nelbo} ± {} vs library {:?}",
        num(&j, "nelbo_error"),
        rep.nelbo
    );
    assert!(
        (num(&j, "data_entropy") - rep.data_entropy.mean).abs()
            <= num(&j, "data_entropy_error") + rep.data_entropy.stderr
    );

    // `report --weights` scores the same network to the same NELBO.
    let mut args = vec!["report", "--quiet", "--weights", w];
    args.extend(common);
    let (r, _) = json_of(&args);
    assert_eq!(r["model"], j["model"]);
    assert!(
        (num(&r, "nelbo") - rep.nelbo.mean).abs() < 1e-9 * rep.nelbo.mean.abs(),
        "report {} vs library {}",
        num(&r, "nelbo"),
        rep.nelbo.mean
    );

    // The weights are what is scored: a briefly trained network is a worse model than the
    // optimal denoiser, which is almost the data (KL ~ 0).
    let (opt, _) = evidence(&["--model", "optimal"]);
    assert!(
        num(&j, "kl_data_model") > num(&opt, "kl_data_model") + 0.01,
        "trained KL {} vs optimal KL {}",
        j["kl_data_model"],
        opt["kl_data_model"]
    );
    assert!(num(&j, "nelbo") > num(&opt, "nelbo"));

    // --variance analytic resolves the network's own variances: its NELBO is at most
    // fixed_small's and equals the report's analytic NELBO of the network.
    let (a, _) = evidence(&["--weights", w, "--variance", "analytic"]);
    check_identities(&a);
    assert_eq!(a["variance"], "analytic");
    assert!(
        num(&a, "nelbo") <= nelbo + num(&a, "nelbo_error") + num(&j, "nelbo_error"),
        "analytic {} vs fixed_small {nelbo}",
        a["nelbo"]
    );
    let mut args = vec![
        "report",
        "--quiet",
        "--variance",
        "analytic",
        "--weights",
        w,
    ];
    args.extend(common);
    let (ra, _) = json_of(&args);
    assert!(
        (num(&a, "nelbo") - num(&ra, "nelbo")).abs()
            <= num(&a, "nelbo_error") + num(&ra, "nelbo_stderr"),
        "evidence {} vs report {}",
        a["nelbo"],
        ra["nelbo"]
    );
}

#[test]
fn a_network_scored_at_another_t_or_named_by_param_is_noted_and_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = train(dir.path(), "bimodal", STEPS, "x0", 50);
    // A file name that does not say the parameterisation, with --param.
    let renamed = run.join("net.safetensors");
    std::fs::copy(run.join("x0.safetensors"), &renamed).expect("copy");
    let w = renamed.to_str().expect("UTF-8 path");
    // T = 20 under the T = 50 network: the network is conditioned on log-SNR, so this is a
    // valid model; a note says the schedule differs from the training run's.
    let (j, stderr) = json_of(&[
        "evidence",
        "--data",
        "bimodal",
        "--steps",
        "20",
        "--grid",
        "11",
        "--quiet",
        "--weights",
        w,
        "--param",
        "x0",
    ]);
    assert_eq!(j["model"], format!("trained x0 network ({w})"));
    assert_eq!(j["steps"], 20);
    check_identities(&j);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("note: ")
            && lines[0].contains("T = 50")
            && lines[0].contains("T = 20")
            && lines[0].contains("conditioned on log-SNR"),
        "{stderr}"
    );
}

/// Run with args, expect status 1 with one line on stderr containing every needle.
fn fails(args: &[&str], needles: &[&str]) {
    let out = elbo_lab().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: stderr is not one line: {stderr}");
    for n in needles {
        assert!(
            stderr.contains(n),
            "{args:?}: '{}' lacks '{n}'",
            stderr.trim()
        );
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_weights_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A missing file.
    let missing = dir.path().join("eps.safetensors");
    let m = missing.to_str().expect("UTF-8 path");
    fails(
        &["evidence", "--steps", "10", "--weights", m],
        &["--weights", m, "no such file"],
    );
    // A 2D network with 1D data (evidence and report).
    let run = train(dir.path(), "two-moons", 10, "eps", 2);
    let net2d = run.join("eps.safetensors");
    let w = net2d.to_str().expect("UTF-8 path");
    for cmd in ["evidence", "report"] {
        fails(
            &[cmd, "--data", "bimodal", "--steps", "10", "--weights", w],
            &[w, "a network for 2D data", "these data are 1D"],
        );
    }
    // A file name that does not say the parameterisation, without --param.
    let renamed = run.join("model.safetensors");
    std::fs::copy(&net2d, &renamed).expect("copy");
    let r = renamed.to_str().expect("UTF-8 path");
    fails(
        &["evidence", "--data", "bimodal", "--weights", r],
        &[r, "x0|eps|score|v.safetensors", "--param"],
    );
    // A directory instead of a file.
    let d = run.to_str().expect("UTF-8 path");
    fails(
        &["evidence", "--weights", d],
        &["is a directory", "eps.safetensors"],
    );
    // Not a safetensors file at all.
    let junk = dir.path().join("v.safetensors");
    std::fs::write(&junk, "not a network").expect("write");
    let j = junk.to_str().expect("UTF-8 path");
    fails(&["evidence", "--weights", j], &["--weights", j]);
}

#[test]
fn weights_conflict_with_an_explicit_model() {
    let out = elbo_lab()
        .args([
            "evidence",
            "--model",
            "gaussian",
            "--weights",
            "eps.safetensors",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--model")
            && stderr.contains("--weights")
            && stderr.contains("cannot be used with"),
        "{stderr}"
    );
    // --param means nothing without --weights.
    let out = elbo_lab()
        .args(["report", "--param", "eps"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--weights"));
}
