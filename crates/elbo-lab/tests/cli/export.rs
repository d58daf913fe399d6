//! `elbo-lab export`: the plots listed one a line, a PNG drawn off screen with its title
//! strip and legend over the plot, a GIF whose frames differ and carry their t, a minimal
//! scene meaning the defaults, and clear messages for bad names. Kept small (scale 1, three
//! frames): CI draws on lavapipe, the CPU's Vulkan.

use crate::common::elbo_lab;

/// Okabe-Ito sky blue, the colour of N(0, 1) (the eps) in the density plot's legend.
const SKY_BLUE: [u8; 3] = [86, 180, 233];

fn png(path: &std::path::Path) -> image::RgbaImage {
    image::open(path).expect("a PNG").to_rgba8()
}

/// The RGBA pixels of each frame of a GIF.
fn gif_frames(path: &std::path::Path) -> Vec<((u16, u16), Vec<u8>)> {
    let file = std::fs::File::open(path).expect("the GIF exists");
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(file).expect("a GIF");
    let mut frames = Vec::new();
    while let Some(f) = decoder.read_next_frame().expect("a frame") {
        frames.push(((f.width, f.height), f.buffer.to_vec()));
    }
    frames
}

/// Pixels of rows `rows` of an RGBA buffer `width` wide whose brightness stands out from
/// the first pixel's (the background) by more than 120 of 255: text.
fn text_pixels(rgba: &[u8], width: usize, rows: std::ops::Range<usize>) -> usize {
    let lum = |p: &[u8]| 0.3 * f32::from(p[0]) + 0.59 * f32::from(p[1]) + 0.11 * f32::from(p[2]);
    let bg = lum(&rgba[..4]);
    rgba.chunks_exact(4)
        .skip(rows.start * width)
        .take(rows.len() * width)
        .filter(|p| (lum(p) - bg).abs() > 120.0)
        .count()
}

/// The rows `rows` of an RGBA buffer `width` wide.
fn rows_of(rgba: &[u8], width: usize, rows: std::ops::Range<usize>) -> &[u8] {
    &rgba[rows.start * width * 4..rows.end * width * 4]
}

#[test]
fn list_plots_names_one_plot_a_line() {
    let out = elbo_lab()
        .args(["export", "--list-plots"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 20, "{text}");
    for line in &lines {
        let (name, label) = line.split_once('\t').expect("name<TAB>label");
        assert!(!name.is_empty() && !name.contains(' '), "{line}");
        assert!(!label.is_empty(), "{line}");
    }
    let density = lines
        .iter()
        .find(|l| l.starts_with("density_at_t\t"))
        .expect("the density at t");
    assert!(density.contains("GIF over t"), "{density}");
    let beta = lines
        .iter()
        .find(|l| l.starts_with("schedule_beta\t"))
        .expect("beta");
    assert!(!beta.contains("GIF"), "{beta}");
    // One tab's plots.
    let out = elbo_lab()
        .args(["export", "--list-plots", "--tab", "elbo"])
        .output()
        .expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["terms", "running"]);
    // A bad tab name lists the tabs.
    let out = elbo_lab()
        .args(["export", "--list-plots", "--tab", "nope"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no tab is called \"nope\"") && err.contains("forward, reverse"),
        "{err}"
    );
}

#[test]
fn a_png_has_its_title_and_legend_over_the_plot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("density");
    let out = elbo_lab()
        .args(["export", "--plot", "density_at_t", "--scale", "1", "--out"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The name got its extension; the line says what was written.
    let file = path.with_extension("png");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("wrote ") && said.contains("density.png"),
        "{said}"
    );
    let image = png(&file);
    let (w, h) = image.dimensions();
    assert!(
        (500..=1000).contains(&w) && (250..=800).contains(&h),
        "{w} x {h}"
    );
    assert!(said.contains(&format!("{w} x {h} px")), "{said}");
    let rgba = image.as_raw();
    // The title's text in the top 28 rows (a 20-point heading at scale 1).
    assert!(
        text_pixels(rgba, w as usize, 0..28) > 150,
        "no title in the top strip"
    );
    // The legend under it: the N(0, 1) swatch's sky blue within the top 90 rows.
    let blue = image
        .enumerate_pixels()
        .filter(|(_, y, p)| {
            *y < 90
                && p.0[..3]
                    .iter()
                    .zip(SKY_BLUE)
                    .all(|(a, b)| a.abs_diff(b) < 40)
        })
        .count();
    assert!(blue > 20, "no legend swatch: {blue} sky-blue pixels");
    // Drawn again at 2x, not upsampled: twice the pixels, within one per point.
    let path2 = dir.path().join("density2.png");
    elbo_lab()
        .args(["export", "--plot", "density_at_t", "--scale", "2", "--out"])
        .arg(&path2)
        .assert()
        .success();
    let (w2, h2) = png(&path2).dimensions();
    assert!(
        w2.abs_diff(2 * w) <= 2 && h2.abs_diff(2 * h) <= 4,
        "{w2} x {h2} vs 2 x {w} x {h}"
    );
}

#[test]
fn a_gif_has_frames_that_differ_and_carry_their_t() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("forward.gif");
    let out = elbo_lab()
        .args([
            "export",
            "--plot",
            "density_at_t",
            "--scale",
            "1",
            "--t-from",
            "1",
            "--t-to",
            "1000",
            "--frames",
            "3",
            "--delay-ms",
            "200",
            "--out",
        ])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 frames"));
    let frames = gif_frames(&path);
    assert_eq!(frames.len(), 3);
    let (w, h) = frames[0].0;
    assert!(frames.iter().all(|(size, _)| *size == (w, h)));
    let width = usize::from(w);
    for i in 0..3 {
        for j in i + 1..3 {
            assert_ne!(frames[i].1, frames[j].1, "frames {i} and {j} are the same");
            // The title line differs too: it says "t = 1", "t = 500", "t = 1000" (the
            // plot's label is the same in every frame).
            assert_ne!(
                rows_of(&frames[i].1, width, 0..28),
                rows_of(&frames[j].1, width, 0..28),
                "the titles of frames {i} and {j} are the same"
            );
        }
    }
    for (_, rgba) in &frames {
        assert!(
            text_pixels(rgba, width, 0..28) > 150,
            "a frame without title"
        );
    }
    // The title's t is drawn from the frame's t: the first frame's title strip is the
    // PNG's at t = 1 (up to the GIF's palette), and not the PNG's at t = 1000.
    let first = dir.path().join("t1.png");
    elbo_lab()
        .args([
            "export",
            "--plot",
            "density_at_t",
            "--scale",
            "1",
            "--t",
            "1",
            "--out",
        ])
        .arg(&first)
        .assert()
        .success();
    let last = dir.path().join("t1000.png");
    elbo_lab()
        .args([
            "export",
            "--plot",
            "density_at_t",
            "--scale",
            "1",
            "--t",
            "1000",
        ])
        .arg("--out")
        .arg(&last)
        .assert()
        .success();
    // Which pixels of the title line (the top 28 rows, the left 400 columns) are text.
    let text_mask = |rgba: &[u8], width: usize| -> Vec<bool> {
        let lum =
            |p: &[u8]| 0.3 * f32::from(p[0]) + 0.59 * f32::from(p[1]) + 0.11 * f32::from(p[2]);
        let bg = lum(&rgba[..4]);
        (0..28)
            .flat_map(|y| (0..400).map(move |x| (y * width + x) * 4))
            .map(|i| (lum(&rgba[i..i + 4]) - bg).abs() > 120.0)
            .collect()
    };
    let mismatch = |a: &[bool], b: &[bool]| a.iter().zip(b).filter(|(x, y)| x != y).count();
    let gif_first = text_mask(&frames[0].1, width);
    let (p1, p1000) = (png(&first), png(&last));
    let at_1 = text_mask(p1.as_raw(), p1.width() as usize);
    let at_1000 = text_mask(p1000.as_raw(), p1000.width() as usize);
    assert!(
        mismatch(&gif_first, &at_1) < mismatch(&gif_first, &at_1000),
        "the first frame's title is not the one of t = 1"
    );
}

#[test]
fn a_minimal_scene_means_the_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scene = dir.path().join("minimal.json");
    std::fs::write(&scene, r#"{"elbo_lab_scene": 1}"#).expect("write");
    let with = dir.path().join("with.png");
    let without = dir.path().join("without.png");
    elbo_lab()
        .args(["export", "--plot", "river", "--scale", "1", "--scene"])
        .arg(&scene)
        .arg("--out")
        .arg(&with)
        .assert()
        .success();
    elbo_lab()
        .args(["export", "--plot", "river", "--scale", "1", "--out"])
        .arg(&without)
        .assert()
        .success();
    assert!(
        png(&with) == png(&without),
        "the minimal scene drew another picture"
    );
}

#[test]
fn bad_names_and_requests_are_clear_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("x.png");
    let run = |args: &[&str]| {
        let out = elbo_lab()
            .arg("export")
            .args(args)
            .arg("--out")
            .arg(&out_path)
            .output()
            .expect("runs");
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    let err = run(&["--plot", "densty"]);
    assert!(
        err.contains("no plot is called \"densty\"") && err.contains("density_at_t"),
        "{err}"
    );
    let err = run(&["--plot", "terms", "--tab", "forward"]);
    assert!(
        err.contains("belongs to the elbo tab") && err.contains("river"),
        "{err}"
    );
    let err = run(&["--plot", "river", "--frames", "3"]);
    assert!(err.contains(".gif"), "{err}");
    let err = run(&["--plot", "river", "--scale", "5"]);
    assert!(err.contains("1x, 2x or 3x"), "{err}");
    let gif = dir.path().join("x.gif");
    let out = elbo_lab()
        .args([
            "export",
            "--plot",
            "schedule_beta",
            "--frames",
            "3",
            "--out",
        ])
        .arg(&gif)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("does not change with t"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "nothing written"
    );
}
