//! Issue 11's core: the hand-edited mixture (`elbo_core::edit`), its limits and errors, the
//! handles' hit testing, undo/redo, and the saved JSON that `elbo-lab report --data FILE`
//! reads to the same NELBO as the library on the in-memory mixture.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

use proptest::prelude::*;

use elbo_core::edit::{
    Axes, EditError, EditableMixture, HISTORY_DEPTH, Handle, History, MAX_COMPONENTS,
};
use elbo_core::mixture::{GaussianMixture, Sym2, load_mixture_file, parse_mixture_json};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::report::DEFAULT_BANDWIDTH;

fn preset(p: DataPreset) -> EditableMixture {
    EditableMixture::from_mixture(&DataSpec::new(p).build().expect("preset"))
}

fn sum(w: &[f64]) -> f64 {
    w.iter().sum()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

/// The mixture's two-component 1D starting point: weights 0.25 and 0.75.
fn two_1d() -> EditableMixture {
    let m = GaussianMixture::new(&[
        elbo_core::mixture::Component {
            weight: 1.0,
            mean: vec![-1.0],
            cov: vec![vec![0.04]],
        },
        elbo_core::mixture::Component {
            weight: 3.0,
            mean: vec![2.0],
            cov: vec![vec![0.25]],
        },
    ])
    .expect("valid");
    EditableMixture::from_mixture(&m)
}

fn one_2d(axes: Axes) -> EditableMixture {
    let c = axes.covariance();
    let m = GaussianMixture::gaussian(&[1.0, -2.0], vec![vec![c.xx, c.xy], vec![c.xy, c.yy]])
        .expect("valid");
    EditableMixture::from_mixture(&m)
}

#[test]
fn a_preset_round_trips_through_the_editor_unchanged() {
    for p in [DataPreset::Bimodal, DataPreset::default()] {
        let data = DataSpec::new(p).build().expect("preset");
        let e = EditableMixture::from_mixture(&data);
        let back = e.to_mixture();
        assert_eq!(back.len(), data.len());
        assert_eq!(back.means(), data.means());
        assert_eq!(back.covs(), data.covs());
        for (a, b) in back.weights().iter().zip(data.weights()) {
            assert!(close(*a, *b, 1e-15), "{a} vs {b}");
        }
    }
}

#[test]
fn adding_gives_the_mean_weight_and_the_median_width_and_keeps_the_ratios() {
    let mut e = two_1d();
    // Median of sds 0.2 and 0.5 (upper median of two): 0.5.
    assert_eq!(e.default_sd(), 0.5);
    let k = e.add_at([0.5, 99.0]).expect("adds");
    assert_eq!(k, 2);
    assert_eq!(e.len(), 3);
    assert!(close(sum(e.weights()), 1.0, 1e-15));
    // New weight 1/(K+1) = 1/3; the others keep 1:3 and share 2/3.
    assert!(close(e.weights()[2], 1.0 / 3.0, 1e-15), "{:?}", e.weights());
    assert!(close(e.weights()[0], 2.0 / 3.0 * 0.25, 1e-15));
    assert!(close(e.weights()[1], 2.0 / 3.0 * 0.75, 1e-15));
    // 1D: the y coordinate is ignored.
    assert_eq!(e.means()[2], [0.5, 0.0]);
    assert_eq!(e.covs()[2].xx, 0.25);

    // 2D: isotropic at the default sd.
    let mut e2 = one_2d(Axes {
        sd1: 2.0,
        sd2: 0.5,
        angle: 0.3,
    });
    // sqrt(trace / 2) = sqrt((4 + 0.25) / 2).
    let sd = ((4.0 + 0.25) / 2.0f64).sqrt();
    assert!(close(e2.default_sd(), sd, 1e-14));
    e2.add_at([3.0, 4.0]).expect("adds");
    assert_eq!(e2.weights(), &[0.5, 0.5]);
    let c = e2.covs()[1];
    assert!(close(c.xx, sd * sd, 1e-14) && c.xy == 0.0 && close(c.yy, sd * sd, 1e-14));
    assert_eq!(e2.means()[1], [3.0, 4.0]);
}

#[test]
fn moving_sets_the_centre_and_bad_points_change_nothing() {
    let mut e = preset(DataPreset::Bimodal);
    e.move_to(1, [3.5, 0.0]).expect("moves");
    assert_eq!(e.means()[1][0], 3.5);
    let before = e.clone();
    for (p, needle) in [
        ([f64::NAN, 0.0], "not a finite number"),
        ([f64::INFINITY, 0.0], "not a finite number"),
        ([2e6, 0.0], "MAX_ABS_MEAN"),
    ] {
        let err = e.move_to(1, p).expect_err("bad point");
        let text = err.to_string();
        assert!(
            text.contains("component 2's centre x") && text.contains(needle),
            "{text}"
        );
        assert_eq!(e, before, "unchanged after {text}");
    }
    let err = e.move_to(7, [0.0, 0.0]).expect_err("no such");
    assert_eq!(err, EditError::NoSuchComponent { index: 7, len: 2 });
    assert!(err.to_string().contains("has 2 components"), "{err}");
    assert_eq!(e, before);
}

#[test]
fn widths_must_be_positive_finite_and_in_range_and_errors_change_nothing() {
    let mut e = two_1d();
    e.set_sd(0, 0.3).expect("sets");
    assert!(close(e.covs()[0].xx, 0.09, 1e-15));
    assert!(close(e.sd(0).expect("sd"), 0.3, 1e-15));
    let before = e.clone();
    for (sd, needle) in [
        (0.0, "must be positive"),
        (-1.0, "must be positive"),
        (f64::NAN, "not a finite number"),
        (f64::INFINITY, "not a finite number"),
        (1e-9, "MIN_SD"),
        (1e7, "MAX_SD"),
    ] {
        let err = e.set_sd(0, sd).expect_err("bad sd");
        let text = err.to_string();
        assert!(
            text.contains("component 1's sd") && text.contains(needle),
            "{text}"
        );
        assert_eq!(e, before);
    }
    let err = e
        .set_axes(
            0,
            Axes {
                sd1: 1.0,
                sd2: 1.0,
                angle: 0.0,
            },
        )
        .expect_err("1D");
    assert!(err.to_string().contains("2D data"), "{err}");
    assert_eq!(e, before);

    let mut e2 = one_2d(Axes {
        sd1: 1.0,
        sd2: 1.0,
        angle: 0.0,
    });
    let before = e2.clone();
    assert!(
        e2.set_sd(0, 1.0)
            .expect_err("2D")
            .to_string()
            .contains("1D data")
    );
    for axes in [
        Axes {
            sd1: 0.0,
            sd2: 1.0,
            angle: 0.0,
        },
        Axes {
            sd1: 1.0,
            sd2: -2.0,
            angle: 0.0,
        },
        Axes {
            sd1: 1.0,
            sd2: 1.0,
            angle: f64::NAN,
        },
        // Condition number 1e10 > MAX_CONDITION.
        Axes {
            sd1: 1e3,
            sd2: 1e-2,
            angle: 0.2,
        },
    ] {
        let err = e2.set_axes(0, axes).expect_err("bad axes");
        assert!(err.to_string().contains("component 1"), "{err}");
        assert_eq!(e2, before);
    }
}

#[test]
fn axes_give_a_covariance_with_those_eigenvalues_and_eigenvectors_and_round_trip() {
    for &(sd1, sd2, angle) in &[
        (2.0, 0.5, 0.3),
        (1.0, 1e-3, -1.2),
        (3.0, 2.999, FRAC_PI_2),
        (0.7, 0.2, 0.0),
        (5.0, 1.0, -FRAC_PI_4),
    ] {
        let a = Axes { sd1, sd2, angle };
        let c = a.covariance();
        let (lo, hi) = c.eigenvalues(2);
        assert!(close(hi, sd1 * sd1, 1e-12), "{a:?}: {hi}");
        assert!(close(lo, sd2 * sd2, 1e-9), "{a:?}: {lo}");
        // (cos, sin) is an eigenvector with eigenvalue sd1^2.
        let (s, co) = angle.sin_cos();
        let v = [c.xx * co + c.xy * s, c.xy * co + c.yy * s];
        assert!((v[0] - sd1 * sd1 * co).abs() < 1e-12 * sd1 * sd1, "{a:?}");
        assert!((v[1] - sd1 * sd1 * s).abs() < 1e-12 * sd1 * sd1, "{a:?}");
        // Canonical axes (sd1 >= sd2, angle in (-pi/2, pi/2]) round trip.
        let back = Axes::of(&c);
        assert!(close(back.sd1, sd1, 1e-12), "{a:?} -> {back:?}");
        assert!(close(back.sd2, sd2, 1e-9), "{a:?} -> {back:?}");
        assert!((back.angle - angle).abs() < 1e-9, "{a:?} -> {back:?}");
    }
    // Non-canonical axes give the same covariance back.
    let a = Axes {
        sd1: 0.5,
        sd2: 2.0,
        angle: 2.5,
    };
    let c = a.covariance();
    let b = Axes::of(&c);
    assert!(
        close(b.sd1, 2.0, 1e-12) && close(b.sd2, 0.5, 1e-12),
        "{b:?}"
    );
    assert!(b.angle > -FRAC_PI_2 && b.angle <= FRAC_PI_2, "{b:?}");
    let c2 = b.covariance();
    for (x, y) in [(c.xx, c2.xx), (c.xy, c2.xy), (c.yy, c2.yy)] {
        assert!((x - y).abs() < 1e-12 * 4.0, "{c:?} vs {c2:?}");
    }
    // Axis-aligned, major along y: angle pi/2 (never -pi/2).
    for xy in [0.0, -0.0] {
        let b = Axes::of(&Sym2 {
            xx: 1.0,
            xy,
            yy: 4.0,
        });
        assert_eq!((b.sd1, b.sd2, b.angle), (2.0, 1.0, FRAC_PI_2));
    }
    // Isotropic: angle 0.
    let b = Axes::of(&Sym2 {
        xx: 2.0,
        xy: 0.0,
        yy: 2.0,
    });
    assert_eq!(b.angle, 0.0);
}

#[test]
fn setting_a_weight_keeps_the_others_ratios_and_the_sum_at_one() {
    let mut e = two_1d();
    e.add_component([5.0, 0.0], 0.1).expect("adds");
    // Weights now 1/6, 1/2, 1/3 (ratios 1 : 3 : 2).
    e.set_weight(2, 0.6).expect("sets");
    let w = e.weights().to_vec();
    assert!(close(sum(&w), 1.0, 1e-15));
    assert!(close(w[2], 0.6, 1e-15));
    assert!(close(w[0], 0.1, 1e-14) && close(w[1], 0.3, 1e-14), "{w:?}");
    // Weight 1: the others get 0 and leave the computed mixture.
    e.set_weight(1, 1.0).expect("sets");
    assert_eq!(e.weights(), &[0.0, 1.0, 0.0]);
    assert_eq!(e.to_mixture().len(), 1);
    assert_eq!(e.to_mixture().means()[0][0], 2.0);
    // From there, others of weight 0 share the rest equally.
    e.set_weight(1, 0.5).expect("sets");
    assert_eq!(e.weights(), &[0.25, 0.5, 0.25]);
    let before = e.clone();
    for w in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        let err = e.set_weight(0, w).expect_err("bad weight");
        assert!(err.to_string().contains("component 1's weight"), "{err}");
        assert_eq!(e, before);
    }
    // A lone component keeps weight 1; 0 is refused.
    let mut one = one_2d(Axes {
        sd1: 1.0,
        sd2: 1.0,
        angle: 0.0,
    });
    one.set_weight(0, 0.3)
        .expect("a lone weight renormalises to 1");
    assert_eq!(one.weights(), &[1.0]);
    let err = one.set_weight(0, 0.0).expect_err("zero sum");
    assert!(err.to_string().contains("positive sum"), "{err}");
}

#[test]
fn deleting_renormalises_and_the_last_component_stays() {
    let mut e = two_1d();
    e.add_component([5.0, 0.0], 0.1).expect("adds");
    e.delete(2).expect("deletes");
    assert_eq!(e.len(), 2);
    assert!(close(e.weights()[0], 0.25, 1e-15) && close(e.weights()[1], 0.75, 1e-15));
    e.delete(0).expect("deletes");
    assert_eq!(e.weights(), &[1.0]);
    let before = e.clone();
    let err = e.delete(0).expect_err("last");
    assert_eq!(err, EditError::LastComponent { index: 0 });
    assert!(err.to_string().contains("can't be empty"), "{err}");
    assert_eq!(e, before);
    // Deleting the only weighted component leaves equal weights.
    let mut e = two_1d();
    e.add_component([5.0, 0.0], 0.1).expect("adds");
    e.set_weight(2, 1.0).expect("sets");
    e.delete(2).expect("deletes");
    assert_eq!(e.weights(), &[0.5, 0.5]);
}

#[test]
fn the_component_cap_is_at_least_1000_and_clear() {
    const { assert!(MAX_COMPONENTS >= 1000) };
    let points: Vec<Vec<f64>> = (0..MAX_COMPONENTS).map(|i| vec![i as f64 * 1e-3]).collect();
    let mut e = EditableMixture::from_points(&points, 0.05).expect("at the cap");
    assert_eq!(e.len(), MAX_COMPONENTS);
    let err = e.add_at([0.0, 0.0]).expect_err("past the cap");
    assert_eq!(
        err,
        EditError::TooManyComponents {
            count: MAX_COMPONENTS + 1,
            max: MAX_COMPONENTS
        }
    );
    let text = err.to_string();
    assert!(
        text.contains(&MAX_COMPONENTS.to_string()) && text.contains("MAX_COMPONENTS"),
        "{text}"
    );
    assert_eq!(e.len(), MAX_COMPONENTS);
    let mut more = points.clone();
    more.push(vec![0.0]);
    let err = EditableMixture::from_points(&more, 0.05).expect_err("past the cap");
    assert!(
        err.to_string().contains(&(MAX_COMPONENTS + 1).to_string()),
        "{err}"
    );
}

#[test]
fn points_become_the_same_mixture_as_the_csv_path() {
    let points = vec![vec![0.1, 0.2], vec![-1.0, 0.5], vec![2.0, -0.25]];
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stroke.csv");
    std::fs::write(&path, "x,y\n0.1,0.2\n-1.0,0.5\n2.0,-0.25\n").expect("writes");
    let csv = load_mixture_file(&path, DEFAULT_BANDWIDTH).expect("loads");
    let e = EditableMixture::from_points(&points, DEFAULT_BANDWIDTH).expect("builds");
    assert_eq!(e.to_mixture(), csv);
    assert_eq!(e.weights(), &[1.0 / 3.0; 3]);
    assert!(close(
        e.covs()[0].xx,
        DEFAULT_BANDWIDTH * DEFAULT_BANDWIDTH,
        1e-15
    ));
    assert_eq!(
        EditableMixture::from_points(&[], 0.1),
        Err(EditError::NoPoints)
    );
    let err = EditableMixture::from_points(&[vec![0.0], vec![0.0, 1.0]], 0.1).expect_err("mixed");
    assert!(err.to_string().contains("components[1].mean"), "{err}");
    let err = EditableMixture::from_points(&points, 0.0).expect_err("bandwidth");
    assert!(err.to_string().contains("bandwidth"), "{err}");
}

#[test]
fn hit_testing_finds_the_nearest_centre_and_the_handle_under_the_pointer() {
    let mut e = one_2d(Axes {
        sd1: 2.0,
        sd2: 1.0,
        angle: FRAC_PI_2,
    });
    e.add_component([5.0, 5.0], 0.5).expect("adds");
    let unit = [1.0, 1.0];
    assert_eq!(e.nearest([1.2, -2.1], 0.5, unit), Some(0));
    assert_eq!(e.nearest([4.8, 5.1], 0.5, unit), Some(1));
    assert_eq!(e.nearest([3.0, 0.0], 0.5, unit), None);
    // With pixels: 100 px per unit in x, 10 in y; within 20 px.
    assert_eq!(e.nearest([1.1, -1.0], 20.0, [100.0, 10.0]), Some(0));
    assert_eq!(e.nearest([1.3, -2.0], 20.0, [100.0, 10.0]), None);

    // Component 0: centre (1, -2); axis 1 (sd 2) along y, axis 2 (sd 1) along -x.
    let h = e.handles(0).expect("handles");
    assert_eq!(h.centre, [1.0, -2.0]);
    assert!(
        (h.axis1[0]).abs() < 1e-12 && (h.axis1[1] - 2.0).abs() < 1e-12,
        "{h:?}"
    );
    assert!(
        (h.axis2[0] + 1.0).abs() < 1e-12 && h.axis2[1].abs() < 1e-12,
        "{h:?}"
    );
    let at = |p| e.handle_at(0, p, 0.3, unit);
    assert_eq!(at([1.0, -2.1]), Some(Handle::Centre));
    assert_eq!(at([1.0, 0.1]), Some(Handle::Axis1));
    assert_eq!(at([1.1, -4.0]), Some(Handle::Axis1));
    assert_eq!(at([0.0, -2.0]), Some(Handle::Axis2));
    assert_eq!(at([2.1, -2.0]), Some(Handle::Axis2));
    // Rotation corners at centre +/- (-1, 2).
    assert_eq!(at([0.0, 0.0]), Some(Handle::Rotation));
    assert_eq!(at([2.0, -4.0]), Some(Handle::Rotation));
    assert_eq!(at([3.0, 3.0]), None);

    // 1D: centre and the ends at mean +/- sd; y is ignored.
    let e1 = two_1d();
    assert_eq!(e1.handle_at(1, [2.0, 7.0], 0.1, unit), Some(Handle::Centre));
    assert_eq!(e1.handle_at(1, [2.45, 0.0], 0.1, unit), Some(Handle::Axis1));
    assert_eq!(e1.handle_at(1, [1.5, 0.0], 0.1, unit), Some(Handle::Axis1));
    assert_eq!(e1.handle_at(1, [3.0, 0.0], 0.1, unit), None);
    assert_eq!(e1.nearest([1.0, 0.0], 5.0, unit), Some(1));
}

#[test]
fn dragging_the_handles_moves_resizes_and_rotates() {
    let mut e = one_2d(Axes {
        sd1: 2.0,
        sd2: 1.0,
        angle: 0.0,
    });
    // Drag axis 1's end inward past axis 2: the y axis keeps sd 1 at every step.
    for x in [1.5, 0.8, 0.4] {
        e.drag(0, Handle::Axis1, [1.0 + x, -2.0]).expect("drags");
        let c = e.covs()[0];
        assert!(
            close(c.xx, x * x, 1e-12) && close(c.yy, 1.0, 1e-12),
            "{x}: {c:?}"
        );
        assert!(c.xy.abs() < 1e-12, "{c:?}");
    }
    // Drag axis 2's end to (1, 1): sd 3 along y, the x axis keeps 0.4.
    e.drag(0, Handle::Axis2, [1.0, 1.0]).expect("drags");
    let a = e.axes(0).expect("axes");
    assert!(
        close(a.sd1, 3.0, 1e-12) && close(a.sd2, 0.4, 1e-12),
        "{a:?}"
    );
    assert!((a.angle - FRAC_PI_2).abs() < 1e-12, "{a:?}");
    // Rotate: the corner R (sd1, sd2) points at the pointer.
    let target = [1.0 + 1.0, -2.0 + 1.0];
    e.drag(0, Handle::Rotation, target).expect("rotates");
    let h = e.handles(0).expect("handles");
    let dir = h.rotation[1].atan2(h.rotation[0]);
    let want = 1f64.atan2(1.0);
    let diff = (dir - want).rem_euclid(PI);
    assert!(diff < 1e-12 || PI - diff < 1e-12, "{dir} vs {want}");
    let a2 = e.axes(0).expect("axes");
    assert!(
        close(a2.sd1, 3.0, 1e-12) && close(a2.sd2, 0.4, 1e-12),
        "{a2:?}"
    );
    // Centre.
    e.drag(0, Handle::Centre, [0.0, 0.0]).expect("moves");
    assert_eq!(e.means()[0], [0.0, 0.0]);
    // A drag onto the centre would make an sd of 0: refused, unchanged.
    let before = e.clone();
    assert!(e.drag(0, Handle::Axis1, [0.0, 0.0]).is_err());
    assert!(e.drag(0, Handle::Rotation, [0.0, 0.0]).is_err());
    assert_eq!(e, before);
    // 1D: the width is the distance to the centre.
    let mut e1 = two_1d();
    e1.drag(1, Handle::Axis1, [1.25, 0.0]).expect("drags");
    assert!(close(e1.covs()[1].xx, 0.5625, 1e-15));
    assert!(e1.drag(1, Handle::Rotation, [0.0, 0.0]).is_err());
}

#[test]
fn history_undoes_and_redoes_and_is_bounded() {
    let mut h = History::new(0);
    assert!(!h.can_undo() && !h.can_redo());
    assert_eq!(h.undo(), None);
    assert!(h.push(1));
    assert!(h.push(2));
    assert!(!h.push(2), "equal to the current state: ignored");
    assert_eq!(h.undo_len(), 2);
    assert_eq!(h.undo(), Some(&1));
    assert_eq!(h.undo(), Some(&0));
    assert_eq!(h.undo(), None);
    assert!(h.can_redo() && !h.can_undo());
    assert_eq!(h.redo(), Some(&1));
    // A push drops the redo stack.
    assert!(h.push(5));
    assert!(!h.can_redo());
    assert_eq!(h.redo(), None);
    assert_eq!(*h.current(), 5);
    assert_eq!(h.undo(), Some(&1));
    assert_eq!(h.undo(), Some(&0));

    // Bounded: the oldest states are dropped.
    let mut h = History::new(0usize);
    for i in 1..=(HISTORY_DEPTH + 50) {
        h.push(i);
    }
    assert_eq!(h.undo_len(), HISTORY_DEPTH);
    let mut last = *h.current();
    while let Some(&s) = h.undo() {
        last = s;
    }
    assert_eq!(last, 50);
    assert_eq!(h.redo_len(), HISTORY_DEPTH);

    // Over mixtures.
    let mut e = two_1d();
    let mut h = History::with_depth(e.clone(), 3);
    e.add_at([0.0, 0.0]).expect("adds");
    h.push(e.clone());
    e.delete(0).expect("deletes");
    h.push(e.clone());
    assert_eq!(h.undo().map(EditableMixture::len), Some(3));
    assert_eq!(h.undo(), Some(&two_1d()));
}

/// One edit of a random sequence (indices taken modulo the length; values may be bad).
#[derive(Debug, Clone)]
enum Op {
    Add(f64, f64),
    Move(usize, f64, f64),
    Sd(usize, f64),
    Axes(usize, f64, f64, f64),
    Weight(usize, f64),
    Delete(usize),
    Drag(usize, u8, f64, f64),
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -5.0..5.0f64,
        1 => Just(0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(-1e7),
        1 => Just(1e-8),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (value(), value()).prop_map(|(x, y)| Op::Add(x, y)),
        (0..8usize, value(), value()).prop_map(|(k, x, y)| Op::Move(k, x, y)),
        (0..8usize, value()).prop_map(|(k, s)| Op::Sd(k, s)),
        (0..8usize, value(), value(), value()).prop_map(|(k, a, b, t)| Op::Axes(k, a, b, t)),
        (0..8usize, prop_oneof![0.0..=1.0f64, value()]).prop_map(|(k, w)| Op::Weight(k, w)),
        (0..8usize).prop_map(Op::Delete),
        (0..8usize, 0..4u8, value(), value()).prop_map(|(k, h, x, y)| Op::Drag(k, h, x, y)),
    ]
}

fn apply(e: &mut EditableMixture, op: &Op) -> Result<(), EditError> {
    let n = e.len();
    match *op {
        Op::Add(x, y) => e.add_at([x, y]).map(|_| ()),
        Op::Move(k, x, y) => e.move_to(k % n, [x, y]),
        Op::Sd(k, s) => e.set_sd(k % n, s),
        Op::Axes(k, a, b, t) => e.set_axes(
            k % n,
            Axes {
                sd1: a,
                sd2: b,
                angle: t,
            },
        ),
        Op::Weight(k, w) => e.set_weight(k % n, w),
        Op::Delete(k) => e.delete(k % n),
        Op::Drag(k, h, x, y) => {
            let handle = [
                Handle::Centre,
                Handle::Axis1,
                Handle::Axis2,
                Handle::Rotation,
            ][h as usize];
            e.drag(k % n, handle, [x, y])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_edit_sequences_keep_the_mixture_valid(
        two_d in any::<bool>(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut e = if two_d {
            one_2d(Axes { sd1: 1.0, sd2: 0.5, angle: 0.3 })
        } else {
            two_1d()
        };
        for op in &ops {
            let before = e.clone();
            match apply(&mut e, op) {
                Ok(()) => {}
                Err(err) => {
                    prop_assert_eq!(&e, &before, "{:?} failed ({}) but changed the mixture", op, err);
                    prop_assert!(!err.to_string().is_empty());
                }
            }
            prop_assert!(!e.is_empty() && e.len() <= MAX_COMPONENTS);
            prop_assert!((sum(e.weights()) - 1.0).abs() < 1e-12, "{:?}", e.weights());
            prop_assert!(e.weights().iter().all(|w| w.is_finite() && *w >= 0.0));
            // The computed mixture is what GaussianMixture::new accepts, from its own JSON too.
            let m = e.to_mixture();
            prop_assert!(!m.is_empty());
            let back = parse_mixture_json(&m.to_json());
            prop_assert!(back.is_ok(), "{:?}", back);
            for c in e.covs() {
                let (lo, hi) = c.eigenvalues(e.dim());
                prop_assert!(lo > 0.0 && hi.is_finite());
            }
        }
    }
}
