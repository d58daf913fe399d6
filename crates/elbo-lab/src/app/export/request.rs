//! What an export is asked to make (a PNG of a plot, a GIF over a range of t), checked
//! before anything is drawn, and the names it is saved under.

use std::path::PathBuf;

/// The scales a PNG or GIF can be drawn at (pixels per point).
pub const SCALES: [u32; 3] = [1, 2, 3];
/// The most frames a GIF may have.
pub const MAX_FRAMES: usize = 500;
/// The range of the delay between GIF frames, in milliseconds.
pub const DELAY_RANGE: std::ops::RangeInclusive<u32> = 20..=2000;

/// A PNG of one plot.
#[derive(Debug, Clone, PartialEq)]
pub struct PngRequest {
    /// Where to write (".png" is added when the name has no extension).
    pub path: PathBuf,
    /// The plot's id name (`View::plots`; `elbo-lab export --list-plots` lists them).
    pub plot: String,
    /// 1, 2 or 3: the image's pixels per point (drawn at that resolution, never upsampled).
    pub scale: u32,
}

/// An animated GIF over t of a plot that changes with t (`views::tab::T_VARYING_PLOTS`).
#[derive(Debug, Clone, PartialEq)]
pub struct GifRequest {
    /// Where to write (".gif" is added when the name has no extension).
    pub path: PathBuf,
    /// The plot's id name (`View::plots`; `elbo-lab export --list-plots` lists them).
    pub plot: String,
    /// 1, 2 or 3, as for a PNG.
    pub scale: u32,
    /// The first t (1..=T).
    pub from: usize,
    /// The last t (1..=T); below `from` the GIF runs t down (the generative direction).
    pub to: usize,
    /// How many frames (1..=[`MAX_FRAMES`]); t is spread evenly over the range.
    pub frames: usize,
    /// Milliseconds between frames ([`DELAY_RANGE`]).
    pub delay_ms: u32,
}

/// What to export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportRequest {
    /// A PNG of one plot.
    Png(PngRequest),
    /// An animated GIF over t.
    Gif(GifRequest),
}

impl ExportRequest {
    /// The same request writing to `path`.
    pub fn with_path(mut self, path: PathBuf) -> Self {
        match &mut self {
            ExportRequest::Png(r) => r.path = path,
            ExportRequest::Gif(r) => r.path = path,
        }
        self
    }

    /// The file the export writes: the request's path with the format's extension (`.png`
    /// or `.gif`) added when it has another one or none (`slide` and `slide.v2` become
    /// `slide.png` and `slide.v2.png`); a `.gif` asked for as PNG (or the other way round)
    /// takes the right one instead.
    pub fn path(&self) -> PathBuf {
        let (path, ext, other) = match self {
            ExportRequest::Png(r) => (&r.path, "png", "gif"),
            ExportRequest::Gif(r) => (&r.path, "gif", "png"),
        };
        let has = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match has.as_deref() {
            Some(e) if e == ext => path.clone(),
            Some(e) if e == other => path.with_extension(ext),
            _ if path.as_os_str().is_empty() => path.clone(),
            _ => {
                let mut name = path.clone().into_os_string();
                name.push(".");
                name.push(ext);
                PathBuf::from(name)
            }
        }
    }

    /// Whether it asks for a GIF.
    pub fn is_gif(&self) -> bool {
        matches!(self, ExportRequest::Gif(_))
    }

    /// The plot's id name.
    pub fn plot_name(&self) -> &str {
        match self {
            ExportRequest::Png(r) => &r.plot,
            ExportRequest::Gif(r) => &r.plot,
        }
    }

    /// The scale asked for (1, 2 or 3 are valid).
    pub fn scale(&self) -> u32 {
        match self {
            ExportRequest::Png(r) => r.scale,
            ExportRequest::Gif(r) => r.scale,
        }
    }
}

/// The t of each of `frames` frames from `from` to `to`, evenly spread (rounded).
pub fn t_plan(from: usize, to: usize, frames: usize) -> Vec<usize> {
    if frames == 1 {
        return vec![from];
    }
    let (a, b) = (from as f64, to as f64);
    (0..frames)
        .map(|i| (a + (b - a) * i as f64 / (frames - 1) as f64).round() as usize)
        .collect()
}

/// Check a GIF request's frames and t range against T; the t of each frame.
///
/// # Errors
/// One line naming what is wrong.
pub fn check_gif(r: &GifRequest, steps: usize) -> Result<Vec<usize>, String> {
    if r.frames == 0 {
        return Err("a GIF needs at least 1 frame (0 asked)".into());
    }
    if r.frames > MAX_FRAMES {
        return Err(format!("at most {MAX_FRAMES} frames ({} asked)", r.frames));
    }
    for (what, t) in [("from", r.from), ("to", r.to)] {
        if !(1..=steps).contains(&t) {
            return Err(format!("t {what} = {t} is outside 1..={steps}"));
        }
    }
    if r.from == r.to && r.frames > 1 {
        return Err(format!(
            "the t range is empty (from = to = {}): pick two different t",
            r.from
        ));
    }
    Ok(t_plan(r.from, r.to, r.frames))
}

/// The scale as pixels per point.
///
/// # Errors
/// A scale other than 1, 2 or 3.
pub fn check_scale(scale: u32) -> Result<f32, String> {
    if SCALES.contains(&scale) {
        Ok(scale as f32)
    } else {
        Err(format!("the scale must be 1x, 2x or 3x ({scale}x asked)"))
    }
}

/// The file name a save dialog proposes for a request.
pub fn suggested_name(request: &ExportRequest) -> String {
    let p = request.path();
    p.file_name().map_or_else(
        || "elbo-lab".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}
