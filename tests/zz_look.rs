use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_lab::app::App;
use elbo_lab::app::settings::{Settings, View};
use elbo_lab::presets::{DataPreset, DataSpec};

fn shot(name: &str, part: &str, size: [f32; 2], zoom: f32, side: bool) {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(DataPreset::Bimodal);
    s.schedule.steps = 1000;
    s.view = View::Evidence;
    s.side_panel = side;
    let mut h = Harness::builder()
        .with_size([size[0] / zoom, size[1] / zoom])
        .with_pixels_per_point(zoom)
        .wgpu()
        .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
    h.run_steps(3);
    h.get_by_label(part).click();
    h.run_steps(6);
    let img = h.render().expect("render");
    img.save(format!("/tmp/look/{name}.png")).unwrap();
}

#[test]
fn look() {
    std::fs::create_dir_all("/tmp/look").unwrap();
    shot(
        "diff_1280",
        "2. The diffusion model",
        [1280.0, 800.0],
        1.0,
        true,
    );
    shot("logsnr_1280", "3. In log-SNR", [1280.0, 800.0], 1.0, true);
    shot(
        "diff_proj",
        "2. The diffusion model",
        [1024.0, 768.0],
        1.5,
        false,
    );
    shot("logsnr_proj", "3. In log-SNR", [1024.0, 768.0], 1.5, false);
}
