//! Hand-edited data (issue 11, "Draw your own data"): an [`EditableMixture`] the app's
//! edit mode changes component by component, hit testing for its handles, and a
//! [`History`] of whole states for undo and redo. No GUI here.
//!
//! ```text
//! EditableMixture: K components (weight pi_k >= 0, sum 1; mean m_k; covariance S_k)
//!   add_at / move_to / set_sd (1D) / set_axes, drag_axis, rotate_to (2D) / set_weight / delete
//!   every operation validates first: on Err the mixture is unchanged
//!   to_mixture() -> GaussianMixture (the components of positive weight) -> every view
//!   to_json()    -> the JSON `elbo-lab report --data FILE` reads
//! ```
//!
//! Messages count components from 1, as the app's list does (the API from 0).
//!
//! A 2D covariance is edited as two axis standard deviations and a rotation,
//! `S = R(angle) diag(sd1^2, sd2^2) R(angle)^T` ([`Axes`]); the handles sit at 1 sd along
//! each principal axis (both ends), and the rotation handle at the corner `R (sd1, sd2)`
//! of the 1-sd box (and its opposite corner).

use thiserror::Error;

use crate::mixture::{
    Component, GaussianMixture, MAX_ABS_MEAN, MAX_SD, MIN_SD, MixtureError, Sym2, check_scale,
};

/// Most components an edited mixture may have: the cap of every mixture in ELBO Lab
/// ([`crate::mixture::MAX_COMPONENTS`], at least 1,000, so a CSV of iris or a long brush
/// stroke fits).
pub const MAX_COMPONENTS: usize = crate::mixture::MAX_COMPONENTS;

/// Default depth of a [`History`]: the oldest states are dropped past it.
pub const HISTORY_DEPTH: usize = 200;

/// What is wrong with an edit. The mixture is unchanged whenever one is returned.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EditError {
    /// An index past the end of the component list.
    #[error("component {} does not exist: the mixture has {len} components (1 to {len})", .index + 1)]
    NoSuchComponent {
        /// The index asked for.
        index: usize,
        /// How many components there are.
        len: usize,
    },
    /// Deleting the last component.
    #[error("component {} is the only one left: a mixture can't be empty", .index + 1)]
    LastComponent {
        /// The index asked for.
        index: usize,
    },
    /// Adding past the cap.
    #[error(
        "{count} components is more than the {max} ELBO Lab computes with (MAX_COMPONENTS); delete some first"
    )]
    TooManyComponents {
        /// How many there would be.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// A coordinate, width, angle or weight that is NaN or infinite.
    #[error("{what} = {value}: not a finite number")]
    NotFinite {
        /// What the value is, e.g. `component 2's sd`.
        what: String,
        /// The value.
        value: f64,
    },
    /// A width (standard deviation) that is zero or negative, so the variance would not be
    /// positive.
    #[error(
        "{what} = {value}: a standard deviation must be positive (a variance of 0 or less is no Gaussian)"
    )]
    NotPositive {
        /// What the value is.
        what: String,
        /// The value.
        value: f64,
    },
    /// A finite value outside the range f64 computes the ELBO with.
    #[error("{what} = {value:e} is out of range: {limit}")]
    OutOfRange {
        /// What the value is.
        what: String,
        /// The value.
        value: f64,
        /// The limit, naming its constant.
        limit: String,
    },
    /// A weight outside [0, 1].
    #[error(
        "component {}'s weight = {value}: a weight must lie in [0, 1] (the others are rescaled to share the rest)", .index + 1
    )]
    BadWeight {
        /// The component.
        index: usize,
        /// The value.
        value: f64,
    },
    /// An edit that would leave every weight at 0.
    #[error("{why}: the weights must have a positive sum")]
    ZeroTotalWeight {
        /// Which edit.
        why: String,
    },
    /// An operation of the other dimension (e.g. axes of a 1D component).
    #[error("{what} applies to {expected}D data, but this mixture is {found}D")]
    WrongDimension {
        /// The operation.
        what: &'static str,
        /// The dimension it needs.
        expected: usize,
        /// The mixture's dimension.
        found: usize,
    },
    /// No points to build a kernel density mixture from.
    #[error("no points: a brush stroke or CSV needs at least one point")]
    NoPoints,
    /// The mixture checks (points of mixed dimension, a bad bandwidth, the cap).
    #[error(transparent)]
    Mixture(#[from] MixtureError),
}

/// A 2D component's shape: standard deviations along two perpendicular axes and the angle
/// of axis 1 from the x axis (radians, counter-clockwise):
/// `S = R(angle) diag(sd1^2, sd2^2) R(angle)^T`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axes {
    /// Standard deviation along axis 1, the direction `(cos angle, sin angle)`.
    pub sd1: f64,
    /// Standard deviation along axis 2, the direction `(-sin angle, cos angle)`.
    pub sd2: f64,
    /// Angle of axis 1, radians.
    pub angle: f64,
}

impl Axes {
    /// The covariance `R(angle) diag(sd1^2, sd2^2) R(angle)^T`.
    pub fn covariance(&self) -> Sym2 {
        let (s, c) = self.angle.sin_cos();
        let (v1, v2) = (self.sd1 * self.sd1, self.sd2 * self.sd2);
        Sym2 {
            xx: v1 * c * c + v2 * s * s,
            xy: (v1 - v2) * c * s,
            yy: v1 * s * s + v2 * c * c,
        }
    }

    /// The axes of a 2D covariance in canonical form: `sd1 >= sd2` (axis 1 is the major
    /// axis) and `angle` in `(-pi/2, pi/2]`. For an isotropic covariance the angle is 0.
    pub fn of(cov: &Sym2) -> Axes {
        let (lo, hi) = cov.eigenvalues(2);
        let angle = if cov.xy == 0.0 && cov.xx >= cov.yy {
            0.0
        } else {
            let a = 0.5 * (2.0 * cov.xy).atan2(cov.xx - cov.yy);
            // atan2 of (-0, negative) is -pi: keep the angle in (-pi/2, pi/2].
            if a <= -std::f64::consts::FRAC_PI_2 {
                a + std::f64::consts::PI
            } else {
                a
            }
        };
        Axes {
            sd1: hi.max(0.0).sqrt(),
            sd2: lo.max(0.0).sqrt(),
            angle,
        }
    }

    /// Unit vector of axis 1.
    fn dir1(&self) -> [f64; 2] {
        let (s, c) = self.angle.sin_cos();
        [c, s]
    }
}

/// A handle of a component in the edit mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Handle {
    /// The centre (drag to move).
    Centre,
    /// An end of axis 1 at `m +/- sd1 u1` (in 1D: `m +/- sd`; drag to resize).
    Axis1,
    /// An end of axis 2 at `m +/- sd2 u2` (2D only).
    Axis2,
    /// The corner `m +/- R (sd1, sd2)` of the 1-sd box (2D only; drag to rotate).
    Rotation,
}

/// Where a component's handles are, in data coordinates (1D: second coordinates 0).
/// Each non-centre handle has two positions, at `centre + offset` and `centre - offset`
/// (a covariance is symmetric, so both ends act the same).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Handles {
    /// The mean.
    pub centre: [f64; 2],
    /// Offset of the axis-1 ends from the centre: `sd1 u1` (1D: `[sd, 0]`).
    pub axis1: [f64; 2],
    /// Offset of the axis-2 ends: `sd2 u2` (1D: `[0, 0]`).
    pub axis2: [f64; 2],
    /// Offset of the rotation handles: `sd1 u1 + sd2 u2` (1D: `[0, 0]`).
    pub rotation: [f64; 2],
}

/// A mixture being edited by hand: weights (>= 0, summing to 1), means and covariances,
/// all validated by every operation.
///
/// Invariants (kept by every operation; an operation that would break one returns `Err`
/// and leaves the mixture as it was): 1 to [`MAX_COMPONENTS`] components, weights finite,
/// `>= 0`, summing to 1 (so at least one positive), every mean and covariance accepted
/// by [`GaussianMixture::new`]. Hence [`EditableMixture::to_mixture`] cannot fail.
#[derive(Debug, Clone, PartialEq)]
pub struct EditableMixture {
    dim: usize,
    weights: Vec<f64>,
    means: Vec<[f64; 2]>,
    covs: Vec<Sym2>,
}

impl From<&GaussianMixture> for EditableMixture {
    fn from(m: &GaussianMixture) -> Self {
        EditableMixture::from_mixture(m)
    }
}

impl EditableMixture {
    /// Start editing a mixture (a preset, a file, a scene's data).
    pub fn from_mixture(m: &GaussianMixture) -> Self {
        EditableMixture {
            dim: m.dim(),
            weights: m.weights().to_vec(),
            means: m.means().to_vec(),
            covs: m.covs().to_vec(),
        }
    }

    /// A brush stroke or a CSV of points as a kernel density mixture: each point becomes
    /// `N(x_i, h^2 I)` with equal weight, exactly as `--data points.csv --bandwidth h`
    /// builds it ([`GaussianMixture::from_points`]; the CLI's default `h` is
    /// [`crate::report::DEFAULT_BANDWIDTH`]). Points have 1 or 2 coordinates, all the same.
    ///
    /// # Errors
    /// No points, points of mixed or unsupported dimension, non-finite coordinates, a
    /// bandwidth outside `[MIN_SD, MAX_SD]`, or more than [`MAX_COMPONENTS`] points.
    pub fn from_points(points: &[Vec<f64>], bandwidth: f64) -> Result<Self, EditError> {
        if points.is_empty() {
            return Err(EditError::NoPoints);
        }
        let m = GaussianMixture::from_points(points, bandwidth)?;
        Ok(Self::from_mixture(&m))
    }

    /// Dimension (1 or 2).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components (including any of weight 0).
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Always false: the mixture keeps at least one component.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Weights, summing to 1 (some may be 0).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Means (second coordinate 0 in 1D).
    pub fn means(&self) -> &[[f64; 2]] {
        &self.means
    }

    /// Covariances.
    pub fn covs(&self) -> &[Sym2] {
        &self.covs
    }

    /// Component `k`'s standard deviation: in 1D its sd; in 2D the major axis' sd.
    ///
    /// # Errors
    /// No component `k`.
    pub fn sd(&self, k: usize) -> Result<f64, EditError> {
        self.check_index(k)?;
        Ok(if self.dim == 1 {
            self.covs[k].xx.sqrt()
        } else {
            Axes::of(&self.covs[k]).sd1
        })
    }

    /// Component `k`'s axes in canonical form ([`Axes::of`]); in 1D `sd1 = sd2 = sd`,
    /// angle 0.
    ///
    /// # Errors
    /// No component `k`.
    pub fn axes(&self, k: usize) -> Result<Axes, EditError> {
        self.check_index(k)?;
        Ok(if self.dim == 1 {
            let sd = self.covs[k].xx.sqrt();
            Axes {
                sd1: sd,
                sd2: sd,
                angle: 0.0,
            }
        } else {
            Axes::of(&self.covs[k])
        })
    }

    /// The mixture of the components of positive weight, for every view and the CLI.
    /// Components of weight 0 carry no mass and are left out.
    pub fn to_mixture(&self) -> GaussianMixture {
        let comps: Vec<Component> = (0..self.len())
            .filter(|&k| self.weights[k] > 0.0)
            .map(|k| self.component(k))
            .collect();
        // The invariants guarantee a valid, non-empty list; a failure would be a bug here,
        // so fall back to the first component alone rather than panic.
        GaussianMixture::new(&comps).unwrap_or_else(|_| {
            let mut first = self.component(0);
            first.weight = 1.0;
            GaussianMixture::new(&[first]).expect("a validated component")
        })
    }

    /// The mixture as the JSON `elbo-lab report --data FILE` reads (see
    /// [`GaussianMixture::to_json`]).
    pub fn to_json(&self) -> String {
        self.to_mixture().to_json()
    }

    /// Component `k` in file form.
    fn component(&self, k: usize) -> Component {
        let (m, c) = (self.means[k], self.covs[k]);
        if self.dim == 1 {
            Component {
                weight: self.weights[k],
                mean: vec![m[0]],
                cov: vec![vec![c.xx]],
            }
        } else {
            Component {
                weight: self.weights[k],
                mean: m.to_vec(),
                cov: vec![vec![c.xx, c.xy], vec![c.xy, c.yy]],
            }
        }
    }

    /// A default width for a new component from the data's scale: the median of the
    /// components' standard deviations `sqrt(trace S_k / d)`, within `[MIN_SD, MAX_SD]`.
    pub fn default_sd(&self) -> f64 {
        let mut sds: Vec<f64> = self
            .covs
            .iter()
            .map(|c| (c.trace(self.dim) / self.dim as f64).sqrt())
            .filter(|s| s.is_finite())
            .collect();
        if sds.is_empty() {
            return 1.0;
        }
        sds.sort_by(f64::total_cmp);
        sds[sds.len() / 2].clamp(MIN_SD, MAX_SD)
    }

    /// Add a component at `point` (1D: `point[1]` is ignored) with the default width
    /// ([`EditableMixture::default_sd`], isotropic in 2D) and the mean weight `1/K`; the
    /// weights then renormalise, so the new component has weight `1/(K+1)` and the others
    /// keep their ratios. Returns the new component's index (the last).
    ///
    /// # Errors
    /// The cap, or a point that is not finite or beyond [`MAX_ABS_MEAN`].
    pub fn add_at(&mut self, point: [f64; 2]) -> Result<usize, EditError> {
        let sd = self.default_sd();
        self.add_component(point, sd)
    }

    /// As [`EditableMixture::add_at`] with a given standard deviation.
    ///
    /// # Errors
    /// As [`EditableMixture::add_at`], or an sd that is not positive, finite and within
    /// `[MIN_SD, MAX_SD]`.
    pub fn add_component(&mut self, point: [f64; 2], sd: f64) -> Result<usize, EditError> {
        let k = self.len();
        if k + 1 > MAX_COMPONENTS {
            return Err(EditError::TooManyComponents {
                count: k + 1,
                max: MAX_COMPONENTS,
            });
        }
        let mean = self.check_point(k, point)?;
        check_sd(&format!("component {}'s sd", k + 1), sd)?;
        let v = sd * sd;
        let cov = if self.dim == 1 {
            Sym2 {
                xx: v,
                xy: 0.0,
                yy: 0.0,
            }
        } else {
            Sym2 {
                xx: v,
                xy: 0.0,
                yy: v,
            }
        };
        self.check_cov(k, &cov)?;
        let w = 1.0 / k as f64;
        self.weights.push(w);
        self.means.push(mean);
        self.covs.push(cov);
        normalise(&mut self.weights);
        Ok(k)
    }

    /// Move component `k`'s centre to `point` (1D: `point[1]` is ignored).
    ///
    /// # Errors
    /// No component `k`, or a point that is not finite or beyond [`MAX_ABS_MEAN`].
    pub fn move_to(&mut self, k: usize, point: [f64; 2]) -> Result<(), EditError> {
        self.check_index(k)?;
        let mean = self.check_point(k, point)?;
        self.means[k] = mean;
        Ok(())
    }

    /// Set a 1D component's standard deviation.
    ///
    /// # Errors
    /// 2D data (use [`EditableMixture::set_axes`]), no component `k`, or an sd that is not
    /// positive, finite and within `[MIN_SD, MAX_SD]`.
    pub fn set_sd(&mut self, k: usize, sd: f64) -> Result<(), EditError> {
        self.need_dim("set_sd (a width)", 1)?;
        self.check_index(k)?;
        check_sd(&format!("component {}'s sd", k + 1), sd)?;
        let cov = Sym2 {
            xx: sd * sd,
            xy: 0.0,
            yy: 0.0,
        };
        self.check_cov(k, &cov)?;
        self.covs[k] = cov;
        Ok(())
    }

    /// Set a 2D component's covariance from two axis standard deviations and a rotation
    /// (any order of sizes, any angle).
    ///
    /// # Errors
    /// 1D data (use [`EditableMixture::set_sd`]), no component `k`, an sd or angle that is
    /// not finite, an sd that is not positive or outside `[MIN_SD, MAX_SD]`, or axes whose
    /// ratio squared exceeds [`crate::mixture::MAX_CONDITION`].
    pub fn set_axes(&mut self, k: usize, axes: Axes) -> Result<(), EditError> {
        self.need_dim("set_axes (two axis widths and a rotation)", 2)?;
        self.check_index(k)?;
        check_sd(&format!("component {}'s sd1", k + 1), axes.sd1)?;
        check_sd(&format!("component {}'s sd2", k + 1), axes.sd2)?;
        if !axes.angle.is_finite() {
            return Err(EditError::NotFinite {
                what: format!("component {}'s angle", k + 1),
                value: axes.angle,
            });
        }
        let cov = axes.covariance();
        self.check_cov(k, &cov)?;
        self.covs[k] = cov;
        Ok(())
    }

    /// Drag an axis end of component `k` to `point`: the dragged axis becomes
    /// `point - centre` (its direction and its sd), and the other axis keeps the sd of the
    /// current principal axis closer to perpendicular to it. Which end or which axis was
    /// grabbed does not matter, so the drag is smooth even where the axes swap order.
    /// In 1D the sd becomes `|point[0] - mean|`.
    ///
    /// # Errors
    /// No component `k`, a non-finite point, or a point at (or too near) the centre, which
    /// would give a zero or too small sd.
    pub fn drag_axis(&mut self, k: usize, point: [f64; 2]) -> Result<(), EditError> {
        self.check_index(k)?;
        check_finite(
            &format!("component {}'s handle position x", k + 1),
            point[0],
        )?;
        let m = self.means[k];
        if self.dim == 1 {
            return self.set_sd(k, (point[0] - m[0]).abs());
        }
        check_finite(
            &format!("component {}'s handle position y", k + 1),
            point[1],
        )?;
        let r = [point[0] - m[0], point[1] - m[1]];
        let len = r[0].hypot(r[1]);
        let cur = Axes::of(&self.covs[k]);
        let u1 = cur.dir1();
        // |cos| of the angle between r and the current axis 1.
        let cos1 = if len > 0.0 {
            ((r[0] * u1[0] + r[1] * u1[1]) / len).abs()
        } else {
            1.0
        };
        // The other axis keeps the sd of the current axis more perpendicular to r.
        let other = if cos1 >= std::f64::consts::FRAC_1_SQRT_2 {
            cur.sd2
        } else {
            cur.sd1
        };
        self.set_axes(
            k,
            Axes {
                sd1: len,
                sd2: other,
                angle: r[1].atan2(r[0]),
            },
        )
    }

    /// Drag a 2D component's rotation handle to `point`: the axes keep their sds and turn
    /// so that the corner `R (sd1, sd2)` of the 1-sd box points at `point`.
    ///
    /// # Errors
    /// 1D data, no component `k`, a non-finite point, or the point at the centre.
    pub fn rotate_to(&mut self, k: usize, point: [f64; 2]) -> Result<(), EditError> {
        self.need_dim("rotate_to (a rotation)", 2)?;
        self.check_index(k)?;
        check_finite(
            &format!("component {}'s rotation handle x", k + 1),
            point[0],
        )?;
        check_finite(
            &format!("component {}'s rotation handle y", k + 1),
            point[1],
        )?;
        let m = self.means[k];
        let r = [point[0] - m[0], point[1] - m[1]];
        if r == [0.0, 0.0] {
            return Err(EditError::NotPositive {
                what: format!(
                    "component {}'s rotation handle distance from its centre",
                    k + 1
                ),
                value: 0.0,
            });
        }
        let cur = Axes::of(&self.covs[k]);
        let corner = cur.sd2.atan2(cur.sd1);
        self.set_axes(
            k,
            Axes {
                angle: r[1].atan2(r[0]) - corner,
                ..cur
            },
        )
    }

    /// Set component `k`'s weight to `w` in `[0, 1]`; the others keep their ratios and
    /// share `1 - w` (if they all have weight 0 they share it equally). With one component
    /// its weight stays 1 (any `w > 0`).
    ///
    /// # Errors
    /// No component `k`, `w` not finite or outside `[0, 1]`, or `w = 0` for the only
    /// component.
    pub fn set_weight(&mut self, k: usize, w: f64) -> Result<(), EditError> {
        self.check_index(k)?;
        if !w.is_finite() {
            return Err(EditError::NotFinite {
                what: format!("component {}'s weight", k + 1),
                value: w,
            });
        }
        if !(0.0..=1.0).contains(&w) {
            return Err(EditError::BadWeight { index: k, value: w });
        }
        let n = self.len();
        if n == 1 {
            if w == 0.0 {
                return Err(EditError::ZeroTotalWeight {
                    why: "a weight of 0 for the only component".into(),
                });
            }
            return Ok(());
        }
        let others: f64 = (0..n).filter(|&j| j != k).map(|j| self.weights[j]).sum();
        let mut new = self.weights.clone();
        for (j, wj) in new.iter_mut().enumerate() {
            *wj = if j == k {
                w
            } else if others > 0.0 {
                *wj * (1.0 - w) / others
            } else {
                (1.0 - w) / (n - 1) as f64
            };
        }
        normalise(&mut new);
        self.weights = new;
        Ok(())
    }

    /// Delete component `k`; the remaining weights renormalise (if they were all 0 they
    /// become equal).
    ///
    /// # Errors
    /// No component `k`, or `k` the only component left.
    pub fn delete(&mut self, k: usize) -> Result<(), EditError> {
        self.check_index(k)?;
        if self.len() == 1 {
            return Err(EditError::LastComponent { index: k });
        }
        self.weights.remove(k);
        self.means.remove(k);
        self.covs.remove(k);
        if self.weights.iter().sum::<f64>() > 0.0 {
            normalise(&mut self.weights);
        } else {
            let n = self.len() as f64;
            self.weights.iter_mut().for_each(|w| *w = 1.0 / n);
        }
        Ok(())
    }

    /// Where component `k`'s handles are (see [`Handles`]).
    ///
    /// # Errors
    /// No component `k`.
    pub fn handles(&self, k: usize) -> Result<Handles, EditError> {
        self.check_index(k)?;
        let centre = self.means[k];
        if self.dim == 1 {
            return Ok(Handles {
                centre,
                axis1: [self.covs[k].xx.sqrt(), 0.0],
                axis2: [0.0, 0.0],
                rotation: [0.0, 0.0],
            });
        }
        let a = Axes::of(&self.covs[k]);
        let u1 = a.dir1();
        let u2 = [-u1[1], u1[0]];
        let axis1 = [a.sd1 * u1[0], a.sd1 * u1[1]];
        let axis2 = [a.sd2 * u2[0], a.sd2 * u2[1]];
        Ok(Handles {
            centre,
            axis1,
            axis2,
            rotation: [axis1[0] + axis2[0], axis1[1] + axis2[1]],
        })
    }

    /// The component whose centre is nearest to `point`, if within `within`. Distances are
    /// measured as `sqrt((dx sx)^2 + (dy sy)^2)` with `scale = [sx, sy]` (pass pixels per
    /// data unit and `within` in pixels, or `[1, 1]` for data units); in 1D only x counts.
    /// Ties go to the later component (drawn on top).
    pub fn nearest(&self, point: [f64; 2], within: f64, scale: [f64; 2]) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (k, m) in self.means.iter().enumerate() {
            let d = self.distance(point, *m, scale);
            if d <= within && best.is_none_or(|(_, b)| d <= b) {
                best = Some((k, d));
            }
        }
        best.map(|(k, _)| k)
    }

    /// Which handle of component `k` is under `point` (within `within`, measured as in
    /// [`EditableMixture::nearest`]): the nearest of the centre, both ends of each axis and
    /// both rotation corners; on a tie the centre wins, then axis 1, axis 2, rotation. In
    /// 1D only the centre and the axis-1 ends (at `mean +/- sd`) exist.
    pub fn handle_at(
        &self,
        k: usize,
        point: [f64; 2],
        within: f64,
        scale: [f64; 2],
    ) -> Option<Handle> {
        let h = self.handles(k).ok()?;
        let c = h.centre;
        let at = |o: [f64; 2], s: f64| [c[0] + s * o[0], c[1] + s * o[1]];
        let mut spots = vec![
            (Handle::Centre, c),
            (Handle::Axis1, at(h.axis1, 1.0)),
            (Handle::Axis1, at(h.axis1, -1.0)),
        ];
        if self.dim == 2 {
            spots.extend([
                (Handle::Axis2, at(h.axis2, 1.0)),
                (Handle::Axis2, at(h.axis2, -1.0)),
                (Handle::Rotation, at(h.rotation, 1.0)),
                (Handle::Rotation, at(h.rotation, -1.0)),
            ]);
        }
        let mut best: Option<(Handle, f64)> = None;
        for (handle, p) in spots {
            let d = self.distance(point, p, scale);
            if d <= within && best.is_none_or(|(_, b)| d < b) {
                best = Some((handle, d));
            }
        }
        best.map(|(h, _)| h)
    }

    /// Apply a drag of `handle` of component `k` to `point`: the centre moves, an axis end
    /// resizes ([`EditableMixture::drag_axis`]), the rotation handle turns
    /// ([`EditableMixture::rotate_to`]).
    ///
    /// # Errors
    /// As the operation it calls.
    pub fn drag(&mut self, k: usize, handle: Handle, point: [f64; 2]) -> Result<(), EditError> {
        match handle {
            Handle::Centre => self.move_to(k, point),
            Handle::Axis1 | Handle::Axis2 => self.drag_axis(k, point),
            Handle::Rotation => self.rotate_to(k, point),
        }
    }

    fn distance(&self, a: [f64; 2], b: [f64; 2], scale: [f64; 2]) -> f64 {
        let dx = (a[0] - b[0]) * scale[0];
        if self.dim == 1 {
            dx.abs()
        } else {
            dx.hypot((a[1] - b[1]) * scale[1])
        }
    }

    fn check_index(&self, k: usize) -> Result<(), EditError> {
        if k < self.len() {
            Ok(())
        } else {
            Err(EditError::NoSuchComponent {
                index: k,
                len: self.len(),
            })
        }
    }

    fn need_dim(&self, what: &'static str, expected: usize) -> Result<(), EditError> {
        if self.dim == expected {
            Ok(())
        } else {
            Err(EditError::WrongDimension {
                what,
                expected,
                found: self.dim,
            })
        }
    }

    /// A centre for component `k`: finite, within [`MAX_ABS_MEAN`]; y is 0 in 1D.
    fn check_point(&self, k: usize, point: [f64; 2]) -> Result<[f64; 2], EditError> {
        let names = ["x", "y"];
        for axis in 0..self.dim {
            let what = format!("component {}'s centre {}", k + 1, names[axis]);
            let v = point[axis];
            check_finite(&what, v)?;
            if v.abs() > MAX_ABS_MEAN {
                return Err(EditError::OutOfRange {
                    what,
                    value: v,
                    limit: format!(
                        "|mean| must be at most {MAX_ABS_MEAN:e} (MAX_ABS_MEAN), where f64 keeps the ELBO's precision"
                    ),
                });
            }
        }
        Ok(if self.dim == 1 {
            [point[0], 0.0]
        } else {
            point
        })
    }

    fn check_cov(&self, k: usize, cov: &Sym2) -> Result<(), EditError> {
        check_scale(cov, self.dim, &format!("component {}'s covariance", k + 1))?;
        let (lo, _) = cov.eigenvalues(self.dim);
        if lo.is_nan() || lo <= 0.0 {
            return Err(EditError::NotPositive {
                what: format!("component {}'s smallest variance", k + 1),
                value: lo,
            });
        }
        Ok(())
    }
}

fn check_finite(what: &str, v: f64) -> Result<(), EditError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(EditError::NotFinite {
            what: what.to_string(),
            value: v,
        })
    }
}

fn check_sd(what: &str, sd: f64) -> Result<(), EditError> {
    check_finite(what, sd)?;
    if sd <= 0.0 {
        return Err(EditError::NotPositive {
            what: what.to_string(),
            value: sd,
        });
    }
    if !(MIN_SD..=MAX_SD).contains(&sd) {
        return Err(EditError::OutOfRange {
            what: what.to_string(),
            value: sd,
            limit: format!(
                "a standard deviation must lie in [{MIN_SD:e}, {MAX_SD:e}] (MIN_SD, MAX_SD), where f64 keeps the ELBO's precision"
            ),
        });
    }
    Ok(())
}

/// Divide by the sum (which the callers keep positive).
fn normalise(w: &mut [f64]) {
    let total: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= total);
}

/// Undo and redo over whole states (the app keeps its data settings here).
///
/// `current` is always present; `push` records a new state (dropping the redo stack),
/// `undo` and `redo` move between states. At most `depth` past states are kept (the
/// oldest are dropped).
#[derive(Debug, Clone)]
pub struct History<T: Clone + PartialEq> {
    past: std::collections::VecDeque<T>,
    current: T,
    future: Vec<T>,
    depth: usize,
}

impl<T: Clone + PartialEq> History<T> {
    /// A history at `initial` with [`HISTORY_DEPTH`] undo steps.
    pub fn new(initial: T) -> Self {
        Self::with_depth(initial, HISTORY_DEPTH)
    }

    /// A history keeping at most `depth` undo steps (at least 1).
    pub fn with_depth(initial: T, depth: usize) -> Self {
        History {
            past: std::collections::VecDeque::new(),
            current: initial,
            future: Vec::new(),
            depth: depth.max(1),
        }
    }

    /// The current state.
    pub fn current(&self) -> &T {
        &self.current
    }

    /// Record `state` as the new current state; the redo stack is dropped. A state equal
    /// to the current one is ignored (returns false).
    pub fn push(&mut self, state: T) -> bool {
        if state == self.current {
            return false;
        }
        let old = std::mem::replace(&mut self.current, state);
        self.past.push_back(old);
        while self.past.len() > self.depth {
            self.past.pop_front();
        }
        self.future.clear();
        true
    }

    /// Go back one state; returns the new current state, or `None` if there is none.
    pub fn undo(&mut self) -> Option<&T> {
        let prev = self.past.pop_back()?;
        let cur = std::mem::replace(&mut self.current, prev);
        self.future.push(cur);
        Some(&self.current)
    }

    /// Go forward one undone state; returns the new current state, or `None`.
    pub fn redo(&mut self) -> Option<&T> {
        let next = self.future.pop()?;
        let cur = std::mem::replace(&mut self.current, next);
        self.past.push_back(cur);
        Some(&self.current)
    }

    /// Whether [`History::undo`] would move.
    pub fn can_undo(&self) -> bool {
        !self.past.is_empty()
    }

    /// Whether [`History::redo`] would move.
    pub fn can_redo(&self) -> bool {
        !self.future.is_empty()
    }

    /// How many undo steps are available.
    pub fn undo_len(&self) -> usize {
        self.past.len()
    }

    /// How many redo steps are available.
    pub fn redo_len(&self) -> usize {
        self.future.len()
    }
}
