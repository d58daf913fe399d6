//! A headless GPU target: a wgpu device of its own, an egui context of its own and
//! egui-wgpu's renderer drawing into a texture that is read back as an image. Exports draw
//! here, never in the window.

use std::time::Duration;

use eframe::egui_wgpu::{Renderer, RendererOptions, ScreenDescriptor};
use eframe::wgpu;
use image::RgbaImage;

/// The colour format the exports are drawn in (8-bit RGBA, egui blending in gamma space as
/// in the window).
const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// How long one frame may take on the GPU (lavapipe, the software Vulkan of CI, takes
/// well under a second for the largest export).
const GPU_WAIT: Duration = Duration::from_secs(30);

/// The first adapter of the primary backends (Vulkan, Metal, DX12), else of any (OpenGL,
/// which may look for a display): `WGPU_BACKEND` chooses instead when set.
fn adapter() -> Result<wgpu::Adapter, String> {
    let mut why = String::new();
    let primary = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    for backends in [primary, wgpu::Backends::all()] {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        if std::env::var_os("WGPU_BACKEND").is_none_or(|v| v.is_empty()) {
            desc.backends = backends;
        }
        let instance = wgpu::Instance::new(desc);
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        };
        match pollster::block_on(instance.request_adapter(&options)) {
            Ok(adapter) => return Ok(adapter),
            Err(e) => why = e.to_string(),
        }
    }
    Err(format!(
        "no GPU adapter for off-screen drawing ({why}); install a Vulkan driver (on Debian/Ubuntu: mesa-vulkan-drivers, which includes the CPU renderer lavapipe)"
    ))
}

/// A wgpu device, an egui context and egui's renderer, drawing off screen.
pub struct Offscreen {
    device: wgpu::Device,
    queue: wgpu::Queue,
    renderer: Renderer,
    /// The context exports lay out in (its memory, fonts and textures are its own).
    pub ctx: egui::Context,
    /// The adapter's name and backend, for messages.
    pub adapter: String,
}

impl Offscreen {
    /// A device on the first adapter wgpu offers (a GPU, or a software one such as Mesa's
    /// lavapipe), with no window or display.
    ///
    /// # Errors
    /// One line saying that no GPU adapter was found, or why the device could not start.
    pub fn new() -> Result<Self, String> {
        let adapter = adapter()?;
        let info = adapter.get_info();
        let name = format!("{} ({:?})", info.name, info.backend);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("elbo-lab export"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| format!("the GPU adapter {name} could not start a device: {e}"))?;
        // No dithering: identical drawings give identical pixels (GIF frames compress, and
        // a frame that did not change is seen as such).
        let renderer = Renderer::new(
            &device,
            FORMAT,
            RendererOptions {
                dithering: false,
                ..Default::default()
            },
        );
        let ctx = egui::Context::default();
        ctx.all_styles_mut(|style| {
            // Every pass is a finished picture: nothing animates in.
            style.animation_time = 0.0;
            style.scroll_animation = egui::style::ScrollAnimation::none();
        });
        Ok(Offscreen {
            device,
            queue,
            renderer,
            ctx,
            adapter: name,
        })
    }

    /// Run one pass of `ctx` over a screen of `size` points at `pixels_per_point`, drawing
    /// `ui`; its textures reach the renderer. Returns the pass's output.
    pub fn pass(
        &mut self,
        size: egui::Vec2,
        pixels_per_point: f32,
        ui: impl FnMut(&mut egui::Ui),
    ) -> egui::FullOutput {
        let mut input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, size)),
            ..Default::default()
        };
        if let Some(viewport) = input.viewports.get_mut(&egui::ViewportId::ROOT) {
            viewport.native_pixels_per_point = Some(pixels_per_point);
        }
        let mut output = self.ctx.run_ui(input, ui);
        self.textures(&mut output.textures_delta);
        output
    }

    fn textures(&mut self, delta: &mut egui::TexturesDelta) {
        for (id, images) in std::mem::take(&mut delta.set) {
            for image in &images {
                self.renderer
                    .update_texture(&self.device, &self.queue, id, image);
            }
        }
        for id in std::mem::take(&mut delta.free) {
            self.renderer.free_texture(&id);
        }
    }

    /// Draw `output` (of the last [`Offscreen::pass`]) and read it back.
    ///
    /// # Errors
    /// When the GPU does not finish or the image cannot be read back.
    pub fn render(&mut self, output: egui::FullOutput) -> Result<RgbaImage, String> {
        let ppp = output.pixels_per_point;
        let size = self.ctx.content_rect().size() * ppp;
        let [w, h] = [
            size.x.round().max(1.0) as u32,
            size.y.round().max(1.0) as u32,
        ];
        let screen = ScreenDescriptor {
            pixels_per_point: ppp,
            size_in_pixels: [w, h],
        };
        let primitives = self.ctx.tessellate(output.shapes, ppp);
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("elbo-lab export frame"),
            size: wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("elbo-lab export"),
            });
        let buffers = self.renderer.update_buffers(
            &self.device,
            &self.queue,
            &mut encoder,
            &primitives,
            &screen,
        );
        {
            let mut pass = encoder
                .begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("elbo-lab export"),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: &view,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                            store: wgpu::StoreOp::Store,
                        },
                        depth_slice: None,
                    })],
                    ..Default::default()
                })
                .forget_lifetime();
            self.renderer.render(&mut pass, &primitives, &screen);
        }
        // Rows of the read-back buffer are padded to wgpu's alignment.
        let row = 4 * w;
        let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let padded = row.div_ceil(align) * align;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("elbo-lab export read-back"),
            size: u64::from(padded) * u64::from(h),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_texture_to_buffer(
            texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded),
                    rows_per_image: None,
                },
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        let submission = self
            .queue
            .submit(buffers.into_iter().chain(std::iter::once(encoder.finish())));
        let (tx, rx) = std::sync::mpsc::channel();
        buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| drop(tx.send(r)));
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: Some(GPU_WAIT),
            })
            .map_err(|e| format!("the GPU did not finish the frame: {e}"))?;
        rx.recv()
            .map_err(|e| format!("the frame was not read back: {e}"))?
            .map_err(|e| format!("the frame was not read back: {e}"))?;
        let pixels: Vec<u8> = {
            let data = buffer
                .slice(..)
                .get_mapped_range()
                .map_err(|e| format!("the frame was not read back: {e}"))?;
            data.chunks_exact(padded as usize)
                .flat_map(|r| &r[..row as usize])
                .copied()
                .collect()
        };
        buffer.unmap();
        texture.destroy();
        RgbaImage::from_raw(w, h, pixels).ok_or_else(|| "the frame has no pixels".to_owned())
    }
}
