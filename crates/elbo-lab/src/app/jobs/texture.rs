//! Images computed off the UI thread, uploaded when a view first draws them.

use std::sync::OnceLock;

use egui::{ColorImage, TextureHandle, TextureOptions};

/// An image a job computed: it travels with the result, and is uploaded to the GPU the
/// first time a view draws it (so polling a job needs no egui context).
pub struct LazyTexture {
    name: &'static str,
    image: ColorImage,
    texture: OnceLock<TextureHandle>,
}

impl LazyTexture {
    /// An image not yet uploaded; `name` is egui's debug name of the texture.
    pub fn new(name: &'static str, image: ColorImage) -> Self {
        LazyTexture {
            name,
            image,
            texture: OnceLock::new(),
        }
    }

    /// The image as computed.
    pub fn image(&self) -> &ColorImage {
        &self.image
    }

    /// The texture, uploaded (with linear filtering) on the first call.
    pub fn texture(&self, ctx: &egui::Context) -> &TextureHandle {
        self.texture
            .get_or_init(|| ctx.load_texture(self.name, self.image.clone(), TextureOptions::LINEAR))
    }
}
