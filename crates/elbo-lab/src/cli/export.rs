//! `elbo-lab export` (issue 24): one plot of the app as a PNG, or as a GIF over t, drawn off
//! screen by the same renderer as the app's "Export for slides" dialog: the plot with its
//! title (and its t, for a plot that changes with t), its legend and its axes.
//!
//! ```text
//! elbo-lab export --list-plots [--tab T]
//! elbo-lab export [--scene FILE] [--tab T] --plot NAME --out F.png [--scale 2] [--t T]
//! elbo-lab export [--scene FILE] [--tab T] --plot NAME --out F.gif --t-from A --t-to B --frames N [--delay-ms D]
//! ```
//! Without `--scene` the app's defaults apply (a scene `{"elbo_lab_scene": 1}` means the
//! same). The file is written whole or not at all; `--out` replaces a file that is there.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;

use std::io::Write;

use elbo_core::files::AtomicFile;

use crate::app::export::{
    ExportRequest, ExportRun, GifRequest, GifWriter, Offscreen, PngRequest, find_plot,
};
use crate::app::jobs::{AppOptions, Mode};
use crate::app::model::Model;
use crate::app::scene::{Launch, Scene};
use crate::app::settings::{Settings, View};
use crate::app::training::Training;
use crate::app::views::Tabs;
use crate::app::views::tab::varies_with_t;

use super::output::note;

/// How many times in a row a frame may find its results still missing (they are computed
/// inline, so this only guards against a result that never comes).
const MAX_WAITS: usize = 3;

/// `elbo-lab export`.
#[derive(Debug, Args)]
pub struct ExportCmd {
    /// A scene file (`{"elbo_lab_scene": 1, ...}`, as File > Save scene writes): the data,
    /// schedule, model, t and toggles to draw with. Without it the app's defaults.
    #[arg(long)]
    scene: Option<PathBuf>,
    /// The tab (forward, reverse, elbo, params, step, schedule, training, evidence): the plots
    /// `--list-plots` lists, and the tab `--plot` must belong to.
    #[arg(long)]
    tab: Option<String>,
    /// The plot to draw, by its name (the first word of each line of `--list-plots`).
    #[arg(long, required_unless_present = "list_plots")]
    plot: Option<String>,
    /// Where to write: a `.png`, or a `.gif` for a GIF over t (a name without either gets
    /// `.png`, or `.gif` with `--frames`, `--t-from` or `--t-to`).
    #[arg(long, required_unless_present = "list_plots")]
    out: Option<PathBuf>,
    /// Pixels per point: 1, 2 or 3 (drawn at that resolution, never upsampled).
    #[arg(long, default_value_t = 2)]
    scale: u32,
    /// The t of a PNG (default: the scene's t).
    #[arg(long)]
    t: Option<usize>,
    /// A GIF's first t (default 1).
    #[arg(long)]
    t_from: Option<usize>,
    /// A GIF's last t (default T); below `--t-from` the GIF runs t down.
    #[arg(long)]
    t_to: Option<usize>,
    /// A GIF's frame count, t spread evenly over the range (default 20).
    #[arg(long)]
    frames: Option<usize>,
    /// Milliseconds between a GIF's frames (20 to 2000).
    #[arg(long, default_value_t = 100)]
    delay_ms: u32,
    /// List the plots (of `--tab`, or of every tab), one a line: the name, a tab, the
    /// label (its tab, and "GIF over t" where the plot changes with t).
    #[arg(long)]
    list_plots: bool,
}

/// Run `elbo-lab export`.
pub fn run(cmd: ExportCmd) -> Result<()> {
    let tab = cmd.tab.as_deref().map(parse_tab).transpose()?;
    if cmd.list_plots {
        print!("{}", plot_list(tab));
        return Ok(());
    }
    let (Some(plot), Some(out)) = (cmd.plot.clone(), cmd.out.clone()) else {
        bail!("--plot and --out are needed (or --list-plots)");
    };
    let (view, _) = find_plot(&plot).map_err(|e| anyhow!(e))?;
    if let Some(tab) = tab
        && tab != view
    {
        let theirs: Vec<String> = tab.plots().into_iter().map(|(n, _)| n).collect();
        bail!(
            "the plot \"{plot}\" belongs to the {} tab, not {}; the {} tab's plots: {}",
            view.slug(),
            tab.slug(),
            tab.slug(),
            theirs.join(", ")
        );
    }
    let mut model = model_of(cmd.scene.as_ref())?;
    let steps = model.steps();
    if let Some(t) = cmd.t {
        if !(1..=steps).contains(&t) {
            bail!("--t {t} is outside 1..={steps}");
        }
        model.settings.t = t;
    }
    let request = request_of(&cmd, plot, out, steps)?;
    let path = request.path();
    let dark = model.settings.dark;
    let run = ExportRun::new(
        request,
        model,
        AppOptions::new(Mode::Inline),
        None,
        style(dark),
    )
    .map_err(|e| anyhow!(e))?;
    let off = Offscreen::new().map_err(|e| anyhow!(e))?;
    let (frames, (w, h)) = draw_to(run, off, &path)?;
    if frames > 1 {
        println!("wrote {} ({frames} frames, {w} x {h} px)", path.display());
    } else {
        println!("wrote {} ({w} x {h} px)", path.display());
    }
    Ok(())
}

/// The tab called `name`, or a message listing the tabs.
fn parse_tab(name: &str) -> Result<View> {
    View::from_name(name).ok_or_else(|| {
        let tabs: Vec<&str> = View::ALL.iter().map(|v| v.slug()).collect();
        anyhow!("no tab is called \"{name}\"; the tabs: {}", tabs.join(", "))
    })
}

/// One line a plot: `name<TAB>label (tab[, GIF over t])`.
fn plot_list(tab: Option<View>) -> String {
    let views = tab.map_or_else(|| View::ALL.to_vec(), |v| vec![v]);
    let mut text = String::new();
    for view in views {
        for (name, label) in view.plots() {
            let gif = if varies_with_t(&name) {
                ", GIF over t"
            } else {
                ""
            };
            text.push_str(&format!("{name}\t{label} ({}{gif})\n", view.slug()));
        }
    }
    text
}

/// The model of the defaults, or of a scene (its notes, of fields dropped, on standard
/// error).
fn model_of(scene: Option<&PathBuf>) -> Result<Model> {
    let mut model = Model::new(Settings::default());
    if let Some(path) = scene {
        let (scene, notes) = Scene::load(path)
            .with_context(|| format!("cannot use the scene {}", path.display()))?;
        for n in &notes {
            note(&format!("note: {n}\n"));
        }
        model.launch(Launch {
            scene: Some((path.clone(), scene, notes)),
            ..Launch::default()
        });
        for n in &model.notes.restored {
            note(&format!("note: {n}\n"));
        }
    }
    model.sync_inputs(&|_, _| None);
    Ok(model)
}

/// What `cmd` asks for: a GIF when `--out` ends in `.gif` (or has no extension and a t
/// range or frame count is given), a PNG otherwise.
fn request_of(cmd: &ExportCmd, plot: String, out: PathBuf, steps: usize) -> Result<ExportRequest> {
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let ranged = cmd.frames.is_some() || cmd.t_from.is_some() || cmd.t_to.is_some();
    let gif = match ext.as_deref() {
        Some("gif") => true,
        Some("png") => false,
        None => ranged,
        Some(other) => bail!("--out must end in .png or .gif (.{other} given)"),
    };
    if !gif && ranged {
        bail!("--t-from, --t-to and --frames make a GIF: give --out a .gif name");
    }
    Ok(if gif {
        ExportRequest::Gif(GifRequest {
            path: out,
            plot,
            scale: cmd.scale,
            from: cmd.t_from.unwrap_or(1),
            to: cmd.t_to.unwrap_or(steps),
            frames: cmd.frames.unwrap_or(20),
            delay_ms: cmd.delay_ms,
        })
    } else {
        ExportRequest::Png(PngRequest {
            path: out,
            plot,
            scale: cmd.scale,
        })
    })
}

/// The app's text sizes in the light or dark theme.
fn style(dark: bool) -> std::sync::Arc<egui::Style> {
    let ctx = egui::Context::default();
    let theme = if dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    };
    ctx.set_theme(theme);
    crate::app::install_text_styles(&ctx);
    ctx.style_of(theme)
}

/// Draw every frame of `run` and write them to `path` (a GIF, or the PNG of its one
/// frame); the frame count and size.
fn draw_to(
    mut run: ExportRun,
    mut off: Offscreen,
    path: &std::path::Path,
) -> Result<(usize, (u32, u32))> {
    let training = Training::new(&off.ctx.clone(), Mode::Inline);
    let mut tabs = Tabs::default();
    let gif = run.request().is_gif();
    let delay = match run.request() {
        ExportRequest::Gif(r) => r.delay_ms,
        ExportRequest::Png(_) => 0,
    };
    // Opened first: a path that cannot be written fails before the drawing.
    let file =
        AtomicFile::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let (mut writer, png_file) = if gif {
        (Some(GifWriter::new(file, delay)), None)
    } else {
        (None, Some(file))
    };
    let mut png = None;
    let mut waits = 0;
    while let Some(t) = run.next_t() {
        match run
            .step(&mut off, &mut tabs, &training)
            .map_err(|e| anyhow!(e))?
        {
            Some(frame) => {
                waits = 0;
                match &mut writer {
                    Some(w) => w.add(frame).map_err(|e| anyhow!(e))?,
                    None => png = Some(frame),
                }
            }
            None => {
                waits += 1;
                if waits > MAX_WAITS {
                    bail!("the results for t = {t} never came");
                }
            }
        }
    }
    let size = run.size().unwrap_or_default();
    if let Some(w) = writer {
        let frames = w.frames();
        w.finish()
            .map_err(|e| anyhow!(e))?
            .commit()
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok((frames, size));
    }
    let (Some(image), Some(mut file)) = (png, png_file) else {
        bail!("nothing was drawn");
    };
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .context("cannot encode the PNG")?;
    file.write_all(bytes.get_ref())
        .and_then(|()| file.commit())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((1, size))
}
