//! Toy data presets (listed by `elbo-lab presets`): every shape is a Gaussian mixture, built from many small
//! isotropic components placed along the shape, so that everything stays exact.
//!
//! Shapes are scaled to roughly unit spread, as diffusion models expect standardised data.

use std::f64::consts::{PI, TAU};
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::mixture::{Component, GaussianMixture, MixtureError};

/// The fewest components a shape may be built from.
pub const MIN_COMPONENTS: usize = 4;
/// The most components a shape may be built from (cost is linear in this).
pub const MAX_COMPONENTS: usize = 1024;

/// An unknown preset name or bad preset parameters.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PresetError {
    /// The name is not a preset.
    #[error("unknown data preset '{0}': run `elbo-lab presets` for the list")]
    Unknown(String),
    /// A parameter out of range.
    #[error("{field} = {value} is out of range ({range})")]
    BadParameter {
        /// Which parameter.
        field: &'static str,
        /// The value.
        value: f64,
        /// The allowed range.
        range: String,
    },
    /// The built mixture was invalid (cannot happen for valid parameters).
    #[error(transparent)]
    Mixture(#[from] MixtureError),
}

/// The built-in toy distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DataPreset {
    /// 1D: two equal, well separated modes.
    #[default]
    Bimodal,
    /// 1D: three modes of unequal weight and width (skewed).
    Skewed,
    /// 1D: a narrow spike beside a broad bump.
    Spike,
    /// 1D: a single standard-ish Gaussian (everything is closed-form).
    Gaussian,
    /// 2D: eight Gaussians on a circle.
    EightGaussians,
    /// 2D: two interleaved half circles.
    TwoMoons,
    /// 2D: a swiss roll.
    SwissRoll,
    /// 2D: two concentric rings.
    Rings,
    /// 2D: a 4x4 checkerboard, half the squares filled.
    Checkerboard,
    /// 2D: a one-armed spiral.
    Spiral,
    /// 2D: a thin line segment (a fine scale: needs many steps).
    Line,
}

impl DataPreset {
    /// Every preset, 1D first.
    pub const ALL: [DataPreset; 11] = [
        DataPreset::Bimodal,
        DataPreset::Skewed,
        DataPreset::Spike,
        DataPreset::Gaussian,
        DataPreset::EightGaussians,
        DataPreset::TwoMoons,
        DataPreset::SwissRoll,
        DataPreset::Rings,
        DataPreset::Checkerboard,
        DataPreset::Spiral,
        DataPreset::Line,
    ];

    /// The name used by the CLI, the app and tests.
    pub fn name(self) -> &'static str {
        match self {
            DataPreset::Bimodal => "bimodal",
            DataPreset::Skewed => "skewed",
            DataPreset::Spike => "spike",
            DataPreset::Gaussian => "gaussian",
            DataPreset::EightGaussians => "eight-gaussians",
            DataPreset::TwoMoons => "two-moons",
            DataPreset::SwissRoll => "swiss-roll",
            DataPreset::Rings => "rings",
            DataPreset::Checkerboard => "checkerboard",
            DataPreset::Spiral => "spiral",
            DataPreset::Line => "line",
        }
    }

    /// One line describing the preset.
    pub fn description(self) -> &'static str {
        match self {
            DataPreset::Bimodal => "two equal modes at -1 and +1, sd 0.25",
            DataPreset::Skewed => "three modes (weights 0.5, 0.3, 0.2) of growing width: skewed",
            DataPreset::Spike => "a narrow spike (sd 0.02) beside a broad bump (sd 0.6)",
            DataPreset::Gaussian => "a single Gaussian N(0.5, 0.8^2): every term is closed-form",
            DataPreset::EightGaussians => "eight Gaussians on a circle of radius 1.4",
            DataPreset::TwoMoons => "two interleaved half circles (sklearn's make_moons shape)",
            DataPreset::SwissRoll => "a swiss roll: a spiral sheet seen from above",
            DataPreset::Rings => "two concentric rings, radii 0.7 and 1.6",
            DataPreset::Checkerboard => "a 4x4 checkerboard with 8 filled squares",
            DataPreset::Spiral => "a one-armed spiral growing outwards",
            DataPreset::Line => "a thin segment from (-1, 0) to (1, 0): a fine scale",
        }
    }

    /// Dimension of the data.
    pub fn dim(self) -> usize {
        match self {
            DataPreset::Bimodal | DataPreset::Skewed | DataPreset::Spike | DataPreset::Gaussian => {
                1
            }
            _ => 2,
        }
    }

    /// Whether the shape is built from an adjustable number of components.
    pub fn has_component_count(self) -> bool {
        self.dim() == 2 && self != DataPreset::EightGaussians
    }

    /// Default number of components for shapes built from many.
    pub fn default_components(self) -> usize {
        match self {
            DataPreset::EightGaussians => 8,
            DataPreset::TwoMoons | DataPreset::Rings | DataPreset::Line => 64,
            DataPreset::SwissRoll | DataPreset::Spiral => 96,
            DataPreset::Checkerboard => 72,
            _ => 0,
        }
    }

    /// Parse a preset name.
    pub fn parse(name: &str) -> Result<Self, PresetError> {
        DataPreset::ALL
            .into_iter()
            .find(|p| p.name() == name.trim())
            .ok_or_else(|| PresetError::Unknown(name.to_string()))
    }
}

impl fmt::Display for DataPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A preset with its parameters: what the UI edits and the CLI names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// The shape.
    pub preset: DataPreset,
    /// Components for shapes built from many (ignored by the others); 0 means the default.
    pub components: usize,
    /// Multiplies every component's standard deviation (1 = the preset's own).
    pub width: f64,
}

impl Default for DataSpec {
    fn default() -> Self {
        DataSpec::new(DataPreset::default())
    }
}

impl DataSpec {
    /// The preset with its default parameters.
    pub fn new(preset: DataPreset) -> Self {
        DataSpec {
            preset,
            components: 0,
            width: 1.0,
        }
    }

    /// The component count this spec builds (the default where `components` is 0).
    pub fn component_count(&self) -> usize {
        if self.preset.has_component_count() && self.components != 0 {
            self.components
        } else {
            self.preset.default_components()
        }
    }

    /// Build the mixture.
    pub fn build(&self) -> Result<GaussianMixture, PresetError> {
        if !(self.width.is_finite() && (0.05..=20.0).contains(&self.width)) {
            return Err(PresetError::BadParameter {
                field: "width",
                value: self.width,
                range: "0.05 to 20".into(),
            });
        }
        let n = self.component_count();
        if self.preset.has_component_count() && !(MIN_COMPONENTS..=MAX_COMPONENTS).contains(&n) {
            return Err(PresetError::BadParameter {
                field: "components",
                value: n as f64,
                range: format!("{MIN_COMPONENTS} to {MAX_COMPONENTS}"),
            });
        }
        let w = self.width;
        let comps = match self.preset {
            DataPreset::Bimodal => vec![c1(0.5, -1.0, 0.25 * w), c1(0.5, 1.0, 0.25 * w)],
            DataPreset::Skewed => vec![
                c1(0.5, -1.0, 0.2 * w),
                c1(0.3, 0.3, 0.35 * w),
                c1(0.2, 1.5, 0.6 * w),
            ],
            DataPreset::Spike => vec![c1(0.3, -0.8, 0.02 * w), c1(0.7, 0.5, 0.6 * w)],
            DataPreset::Gaussian => vec![c1(1.0, 0.5, 0.8 * w)],
            DataPreset::EightGaussians => (0..8)
                .map(|i| {
                    let a = TAU * i as f64 / 8.0;
                    c2(1.0, 1.4 * a.cos(), 1.4 * a.sin(), 0.1 * w)
                })
                .collect(),
            DataPreset::TwoMoons => {
                let half = n / 2;
                let upper = along_curve(n - half, |u| {
                    let a = PI * u;
                    (a.cos() - 0.5, a.sin() - 0.25)
                });
                let lower = along_curve(half, |u| {
                    let a = PI * u;
                    (0.5 - a.cos(), 0.25 - a.sin())
                });
                upper
                    .into_iter()
                    .chain(lower)
                    .map(|(x, y)| c2(1.0, x, y, 0.07 * w))
                    .collect()
            }
            DataPreset::SwissRoll => along_curve(n, |u| {
                let a = 1.5 * PI + 3.0 * PI * u;
                (a * a.cos() / 6.0, a * a.sin() / 6.0)
            })
            .into_iter()
            .map(|(x, y)| c2(1.0, x, y, 0.08 * w))
            .collect(),
            DataPreset::Rings => {
                // Components in proportion to circumference, so density is even.
                let (r1, r2) = (0.7, 1.6);
                let n1 = ((n as f64) * r1 / (r1 + r2)).round().max(2.0) as usize;
                let ring = |m: usize, r: f64| {
                    (0..m).map(move |i| {
                        let a = TAU * i as f64 / m as f64;
                        (r * a.cos(), r * a.sin())
                    })
                };
                ring(n1, r1)
                    .chain(ring(n.saturating_sub(n1).max(2), r2))
                    .map(|(x, y)| c2(1.0, x, y, 0.07 * w))
                    .collect()
            }
            DataPreset::Checkerboard => {
                // 8 filled unit squares on [-2, 2]^2, each filled with a g x g grid.
                let g = ((n as f64 / 8.0).sqrt().round() as usize).max(1);
                let sd = 0.45 / g as f64;
                let mut out = Vec::with_capacity(8 * g * g);
                for row in 0..4 {
                    for col in 0..4 {
                        if (row + col) % 2 == 1 {
                            continue;
                        }
                        for i in 0..g {
                            for j in 0..g {
                                let x = -2.0 + col as f64 + (i as f64 + 0.5) / g as f64;
                                let y = -2.0 + row as f64 + (j as f64 + 0.5) / g as f64;
                                out.push(c2(1.0, x, y, sd * w));
                            }
                        }
                    }
                }
                out
            }
            DataPreset::Spiral => along_curve(n, |u| {
                let a = 0.6 + 3.4 * PI * u;
                let r = 0.15 * a;
                (r * a.cos(), r * a.sin())
            })
            .into_iter()
            .map(|(x, y)| c2(1.0, x, y, 0.06 * w))
            .collect(),
            DataPreset::Line => along_curve(n, |u| (2.0 * u - 1.0, 0.0))
                .into_iter()
                .map(|(x, y)| c2(1.0, x, y, 0.02 * w))
                .collect(),
        };
        Ok(GaussianMixture::new(&comps)?)
    }
}

fn c1(weight: f64, mean: f64, sd: f64) -> Component {
    Component {
        weight,
        mean: vec![mean],
        cov: vec![vec![sd * sd]],
    }
}

fn c2(weight: f64, x: f64, y: f64, sd: f64) -> Component {
    let v = sd * sd;
    Component {
        weight,
        mean: vec![x, y],
        cov: vec![vec![v, 0.0], vec![0.0, v]],
    }
}

/// `n` points evenly spaced by arc length along the curve `f(u)`, `u` in [0, 1], ends included.
fn along_curve(n: usize, f: impl Fn(f64) -> (f64, f64)) -> Vec<(f64, f64)> {
    const FINE: usize = 4096;
    let pts: Vec<(f64, f64)> = (0..=FINE).map(|i| f(i as f64 / FINE as f64)).collect();
    let mut cum = Vec::with_capacity(pts.len());
    let mut acc = 0.0;
    cum.push(0.0);
    for w in pts.windows(2) {
        acc += (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
        cum.push(acc);
    }
    let mut out = Vec::with_capacity(n);
    let mut j = 0;
    for i in 0..n {
        let target = if n == 1 {
            0.0
        } else {
            acc * i as f64 / (n - 1) as f64
        };
        while j + 1 < FINE && cum[j + 1] < target {
            j += 1;
        }
        let span = cum[j + 1] - cum[j];
        let frac = if span > 0.0 {
            ((target - cum[j]) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        out.push((
            pts[j].0 + frac * (pts[j + 1].0 - pts[j].0),
            pts[j].1 + frac * (pts[j + 1].1 - pts[j].1),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_builds_with_its_dimension() {
        for p in DataPreset::ALL {
            let m = DataSpec::new(p).build().expect("preset builds");
            assert_eq!(m.dim(), p.dim(), "{p}");
        }
    }

    #[test]
    fn two_moons_has_64_components() {
        let m = DataSpec::new(DataPreset::TwoMoons).build().expect("builds");
        assert_eq!(m.len(), 64);
    }

    #[test]
    fn arc_length_spacing_is_even() {
        let pts = along_curve(11, |u| (10.0 * u * u, 0.0));
        for (i, p) in pts.iter().enumerate() {
            assert!((p.0 - i as f64).abs() < 1e-2, "{i}: {p:?}");
        }
    }
}
