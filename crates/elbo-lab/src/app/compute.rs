//! Plot data computed off the UI thread: the ELBO table, the 1D density "river", the 2D
//! density image at t, and the prediction fields of each parameterisation. Plain data
//! out; the views only draw it.

use egui::{Color32, ColorImage};
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

use elbo_core::mixture::GaussianMixture;
use elbo_core::param::{Coeffs, Parameterisation, PerParam};
use elbo_core::schedule::NoiseSchedule;

use super::inputs::Inputs;

/// Samples of the quick first estimate.
pub const PREVIEW_SAMPLES: usize = 256;
/// Columns (timesteps) of the 1D river image at most.
pub const RIVER_COLUMNS: usize = 320;
/// Rows (x values) of the 1D river image.
pub const RIVER_ROWS: usize = 160;
/// Pixels per side of the 2D density image.
pub const DENSITY_PIXELS: usize = 128;
/// Arrows per side of the 2D prediction fields.
pub const ARROW_GRID: usize = 15;
/// Points of 1D curves over x.
pub const CURVE_POINTS: usize = 241;
/// Forward sample paths in the 1D river.
pub const PATHS: usize = 6;
/// Particles shown in 2D, and target scatter points in 1D.
pub const PARTICLES: usize = 400;

/// The density of the 1D forward process over (t, x), one column per shown t.
pub struct River {
    /// The image (x grows upwards, t to the right).
    pub image: ColorImage,
    /// Forward sample paths `(t, x_t)`, one per path.
    pub paths: Vec<Vec<[f64; 2]>>,
}

/// Fixed `(x0, eps)` pairs: particles follow `x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`.
pub struct Particles {
    /// `(n, d)` data samples.
    pub x0: Array2<f64>,
    /// `(n, d)` noise.
    pub eps: Array2<f64>,
}

/// The river image and forward sample paths of 1D data.
pub fn river(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    seed: u64,
    view_box: [[f64; 2]; 2],
) -> River {
    let t_max = schedule.steps();
    let cols = t_max.min(RIVER_COLUMNS);
    let [lo, hi] = view_box[0];
    let xs = Array2::from_shape_fn((RIVER_ROWS, 1), |(r, _)| {
        hi - (r as f64 + 0.5) / RIVER_ROWS as f64 * (hi - lo)
    });
    let mut values = vec![0.0_f32; cols * RIVER_ROWS];
    for c in 0..cols {
        let t = column_t(c, cols, t_max);
        let q = data.forward(schedule.abar(t).sqrt(), schedule.one_minus_abar(t));
        let dens: Vec<f64> = q
            .log_density_batch(xs.view())
            .iter()
            .map(|l| l.exp())
            .collect();
        let max = dens.iter().copied().fold(0.0, f64::max);
        for (r, d) in dens.iter().enumerate() {
            values[r * cols + c] = if max > 0.0 { (d / max) as f32 } else { 0.0 };
        }
    }
    let image = colour_image(cols, RIVER_ROWS, &values);
    let paths = sample_paths(data, schedule, seed);
    River { image, paths }
}

/// The t shown in river column `c` of `cols` (1..=T, evenly spread).
pub fn column_t(c: usize, cols: usize, t_max: usize) -> usize {
    if cols <= 1 {
        return 1;
    }
    1 + ((c as f64 / (cols - 1) as f64) * (t_max - 1) as f64).round() as usize
}

/// Forward Markov chains `x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) z_t` from data samples,
/// thinned to at most 600 points each.
fn sample_paths(data: &GaussianMixture, schedule: &NoiseSchedule, seed: u64) -> Vec<Vec<[f64; 2]>> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(17));
    let (x0, _) = data.sample(PATHS, &mut rng);
    let t_max = schedule.steps();
    let stride = t_max.div_ceil(600).max(1);
    (0..PATHS)
        .map(|p| {
            let mut x = x0[[p, 0]];
            let mut path = vec![[0.0, x]];
            for t in 1..=t_max {
                let z: f64 = StandardNormal.sample(&mut rng);
                x = schedule.alpha(t).sqrt() * x + schedule.beta(t).sqrt() * z;
                if t % stride == 0 || t == t_max {
                    path.push([t as f64, x]);
                }
            }
            path
        })
        .collect()
}

/// The fixed `(x0, eps)` pairs of the particles (and the 1D target scatter), from `seed`.
pub fn particles(data: &GaussianMixture, seed: u64) -> Particles {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(29));
    let (x0, _) = data.sample(PARTICLES, &mut rng);
    let eps =
        Array2::from_shape_simple_fn((PARTICLES, data.dim()), || StandardNormal.sample(&mut rng));
    Particles { x0, eps }
}

/// 1D densities over the x grid: `(q_t, p0)` as `(x, density)` points.
pub type Densities = (Vec<[f64; 2]>, Vec<[f64; 2]>);

/// What the parameterisation columns show at one t.
pub struct Field {
    /// What it was computed from.
    pub inputs: Inputs,
    /// The timestep.
    pub t: usize,
    /// 1D: `q_t(x)` and `p0(x)` over the x grid.
    pub density_1d: Option<Densities>,
    /// 2D: the density image of `q_t`.
    pub density_2d: Option<ColorImage>,
    /// Per parameterisation: 1D the prediction over x_t; 2D arrows `(origin, tip)` on a
    /// grid, with the factor the vectors were scaled by.
    pub predictions: PerParam<Prediction>,
}

/// One parameterisation's prediction at t.
#[derive(Default)]
pub struct Prediction {
    /// 1D: `(x_t, prediction)`.
    pub curve: Vec<[f64; 2]>,
    /// 2D: arrow origins.
    pub origins: Vec<[f64; 2]>,
    /// 2D: arrow tips.
    pub tips: Vec<[f64; 2]>,
    /// 2D: the factor the vectors were multiplied by to fit the grid (x0 arrows show
    /// `x0_hat - x_t`).
    pub scale: f64,
}

/// The density and predictions at t (1..=T).
pub fn field(inputs: &Inputs, t: usize) -> Field {
    let data = &*inputs.data;
    let schedule = &*inputs.schedule;
    let t = t.clamp(1, schedule.steps());
    let c = Coeffs::at(schedule, t);
    let q = data.forward(c.sqrt_abar, schedule.one_minus_abar(t));
    let vb = inputs.view_box;
    if data.dim() == 1 {
        let [lo, hi] = vb[0];
        let xs = Array2::from_shape_fn((CURVE_POINTS, 1), |(i, _)| {
            lo + i as f64 / (CURVE_POINTS - 1) as f64 * (hi - lo)
        });
        let qd = q.log_density_batch(xs.view());
        let pd = data.log_density_batch(xs.view());
        let curve = |ls: &[f64]| -> Vec<[f64; 2]> {
            ls.iter()
                .enumerate()
                .map(|(i, l)| [xs[[i, 0]], l.exp()])
                .collect()
        };
        let x0_hat = inputs.model.predict_x0(schedule, t, xs.view());
        let preds = convert(&c, &xs, &x0_hat);
        let predictions = preds.map(|_, p| Prediction {
            curve: (0..CURVE_POINTS).map(|i| [xs[[i, 0]], p[[i, 0]]]).collect(),
            scale: 1.0,
            ..Prediction::default()
        });
        Field {
            inputs: inputs.clone(),
            t,
            density_1d: Some((curve(&qd), curve(&pd))),
            density_2d: None,
            predictions,
        }
    } else {
        let n = DENSITY_PIXELS;
        let pts = pixel_centres(vb, n);
        let dens: Vec<f64> = q
            .log_density_batch(pts.view())
            .iter()
            .map(|l| l.exp())
            .collect();
        let max = dens.iter().copied().fold(0.0, f64::max);
        let values: Vec<f32> = dens
            .iter()
            .map(|d| {
                if max > 0.0 {
                    (d / max).sqrt() as f32
                } else {
                    0.0
                }
            })
            .collect();
        let image = colour_image(n, n, &values);
        let g = ARROW_GRID;
        let spacing = ((vb[0][1] - vb[0][0]) / g as f64).min((vb[1][1] - vb[1][0]) / g as f64);
        let grid = Array2::from_shape_fn((g * g, 2), |(i, axis)| {
            let (row, col) = (i / g, i % g);
            let k = if axis == 0 { col } else { row };
            vb[axis][0] + (k as f64 + 0.5) / g as f64 * (vb[axis][1] - vb[axis][0])
        });
        let x0_hat = inputs.model.predict_x0(schedule, t, grid.view());
        let preds = convert(&c, &grid, &x0_hat);
        let origins: Vec<[f64; 2]> = grid.rows().into_iter().map(|r| [r[0], r[1]]).collect();
        let predictions = preds.map(|param, p| {
            let is_x0 = param == Parameterisation::X0;
            // x0 arrows show x0_hat - x_t (towards the predicted clean point); every
            // field is scaled so its longest arrow fits one grid cell.
            let vectors = if is_x0 { &p - &grid } else { p.clone() };
            let longest = vectors
                .rows()
                .into_iter()
                .map(|r| r[0].hypot(r[1]))
                .filter(|l| l.is_finite())
                .fold(0.0, f64::max);
            let scale = if longest > 0.0 {
                0.9 * spacing / longest
            } else {
                1.0
            };
            let tips = origins
                .iter()
                .zip(vectors.rows())
                .map(|(o, v)| [o[0] + scale * v[0], o[1] + scale * v[1]])
                .collect();
            Prediction {
                curve: Vec::new(),
                origins: origins.clone(),
                tips,
                scale,
            }
        });
        Field {
            inputs: inputs.clone(),
            t,
            density_1d: None,
            density_2d: Some(image),
            predictions,
        }
    }
}

/// From the x0-prediction, the four predictions per row of `xt`:
/// `eps_hat = (x_t - sqrt(abar) x0_hat) / sqrt(1 - abar)`, `s_hat = -eps_hat / sqrt(1 - abar)`,
/// `v_hat = sqrt(abar) eps_hat - sqrt(1 - abar) x0_hat`.
fn convert(c: &Coeffs, xt: &Array2<f64>, x0_hat: &Array2<f64>) -> PerParam<Array2<f64>> {
    let eps = ndarray::Zip::from(xt)
        .and(x0_hat)
        .map_collect(|&x, &x0| c.eps_from_x0(x, x0));
    let score = eps.mapv(|e| c.score_from_eps(e));
    let v = ndarray::Zip::from(x0_hat)
        .and(&eps)
        .map_collect(|&x0, &e| c.v(x0, e));
    PerParam {
        x0: x0_hat.clone(),
        eps,
        score,
        v,
    }
}

/// 1D target scatter at t: `(x_t_i, target_i)` of parameterisation `p` for 1D particles
/// (empty for particles of another dimension).
pub fn targets_1d(
    particles: &Particles,
    schedule: &NoiseSchedule,
    t: usize,
    p: Parameterisation,
) -> Vec<[f64; 2]> {
    if particles.x0.ncols() != 1 {
        return Vec::new();
    }
    let c = Coeffs::at(schedule, t.clamp(1, schedule.steps()));
    particles
        .x0
        .column(0)
        .iter()
        .zip(particles.eps.column(0))
        .map(|(&x0, &eps)| {
            let xt = c.noise(x0, eps);
            let target = match p {
                Parameterisation::X0 => x0,
                Parameterisation::Eps => eps,
                Parameterisation::Score => c.score_from_eps(eps),
                Parameterisation::V => c.v(x0, eps),
            };
            [xt, target]
        })
        .collect()
}

/// Viridis-like colour for a value in [0, 1].
pub fn colormap(v: f32) -> Color32 {
    const STOPS: [[f32; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = v * (STOPS.len() - 1) as f32;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f32;
    let c = |k: usize| (STOPS[i][k] + f * (STOPS[i + 1][k] - STOPS[i][k])).round() as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

/// A colour image of `width x height` values in [0, 1], row-major from the top.
pub fn colour_image(width: usize, height: usize, values: &[f32]) -> ColorImage {
    let pixels = values.iter().map(|&v| colormap(v)).collect();
    ColorImage::new([width, height], pixels)
}

/// The centres of an `n x n` image's pixels over the view box, row by row from the top
/// (image order), as an `(n * n, 2)` array of points.
pub fn pixel_centres(vb: [[f64; 2]; 2], n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n * n, 2), |(i, axis)| {
        let (row, col) = (i / n, i % n);
        if axis == 0 {
            vb[0][0] + (col as f64 + 0.5) / n as f64 * (vb[0][1] - vb[0][0])
        } else {
            vb[1][1] - (row as f64 + 0.5) / n as f64 * (vb[1][1] - vb[1][0])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::inputs::tests::preset_inputs as inputs;
    use elbo_core::presets::DataPreset;

    #[test]
    fn field_is_finite_at_the_edges() {
        for preset in [DataPreset::Bimodal, DataPreset::TwoMoons] {
            for steps in [1, 50] {
                let inp = inputs(preset, steps);
                for t in [1, steps] {
                    let f = field(&inp, t);
                    for (_, p) in f.predictions.iter() {
                        assert!(p.curve.iter().flatten().all(|v| v.is_finite()));
                        assert!(p.tips.iter().flatten().all(|v| v.is_finite()));
                    }
                }
            }
        }
    }

    #[test]
    fn river_columns_span_one_to_t() {
        assert_eq!(column_t(0, 320, 1000), 1);
        assert_eq!(column_t(319, 320, 1000), 1000);
        assert_eq!(column_t(0, 1, 1), 1);
        let inp = inputs(DataPreset::Bimodal, 1);
        let r = river(&inp.data, &inp.schedule, 0, inp.view_box);
        assert_eq!(r.image.size, [1, RIVER_ROWS]);
    }

    #[test]
    fn colormap_ends() {
        assert_eq!(colormap(0.0), Color32::from_rgb(68, 1, 84));
        assert_eq!(colormap(1.0), Color32::from_rgb(253, 231, 37));
        assert_eq!(colormap(f32::NAN), colormap(0.0));
    }
}
