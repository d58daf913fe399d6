//! The GIF writer and the thread that encodes an export (a GIF as its frames arrive, or a
//! PNG) into its file.

use std::io::Write;

use elbo_core::files::AtomicFile;
use std::sync::mpsc::{Receiver, Sender, channel};

use image::RgbaImage;

use super::request::DELAY_RANGE;

/// An animated GIF written frame by frame: loops forever, `delay_ms` between frames (GIF
/// counts in hundredths of a second), every frame the first frame's size.
pub struct GifWriter<W: Write> {
    writer: Option<W>,
    encoder: Option<gif::Encoder<W>>,
    delay_ms: u32,
    size: [u32; 2],
    frames: usize,
}

impl<W: Write> GifWriter<W> {
    /// Start a GIF on `writer` (nothing is written before the first frame).
    pub fn new(writer: W, delay_ms: u32) -> Self {
        GifWriter {
            writer: Some(writer),
            encoder: None,
            delay_ms: delay_ms.clamp(*DELAY_RANGE.start(), *DELAY_RANGE.end()),
            size: [0, 0],
            frames: 0,
        }
    }

    /// Append a frame (the first one sets the GIF's size; the others must have it).
    pub fn add(&mut self, frame: RgbaImage) -> Result<(), String> {
        let (w, h) = frame.dimensions();
        let too_big = |v: u32| {
            u16::try_from(v).map_err(|_| {
                format!("a GIF frame is at most 65535 px wide and high ({w} x {h} px)")
            })
        };
        let (w16, h16) = (too_big(w)?, too_big(h)?);
        if let Some(writer) = self.writer.take() {
            let mut encoder =
                gif::Encoder::new(writer, w16, h16, &[]).map_err(|e| e.to_string())?;
            encoder
                .set_repeat(gif::Repeat::Infinite)
                .map_err(|e| e.to_string())?;
            self.encoder = Some(encoder);
            self.size = [w, h];
        }
        if [w, h] != self.size {
            return Err(format!(
                "frame {} is {w} x {h} px, the GIF {} x {} px",
                self.frames + 1,
                self.size[0],
                self.size[1]
            ));
        }
        let encoder = self
            .encoder
            .as_mut()
            .ok_or("the GIF was already finished")?;
        let mut pixels = frame.into_raw();
        // Speed 10 of 1..=30: a good palette for plots in a fraction of speed 1's time.
        let mut f = gif::Frame::from_rgba_speed(w16, h16, &mut pixels, 10);
        f.delay = (self.delay_ms / 10).max(1) as u16;
        encoder.write_frame(&f).map_err(|e| e.to_string())?;
        self.frames += 1;
        Ok(())
    }

    /// The frames written so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Write the GIF's end; give back the writer.
    pub fn finish(mut self) -> Result<W, String> {
        match self.encoder.take() {
            Some(encoder) => encoder.into_inner().map_err(|e| e.to_string()),
            None => Err("a GIF needs at least one frame".into()),
        }
    }
}

/// What an [`Encoder`] is sent.
pub enum EncoderMessage {
    /// The next frame.
    Frame(RgbaImage),
    /// Every frame is in: write the file's end and put it in place.
    Finish,
}

/// What an [`Encoder`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One PNG image (the first frame).
    Png,
    /// An animated GIF with this delay between frames.
    Gif {
        /// Milliseconds between frames.
        delay_ms: u32,
    },
}

/// The thread that encodes an export's frames into its file.
pub struct Encoder {
    /// Where the frames go.
    pub frames: Sender<EncoderMessage>,
    /// The number of frames written, or why not, once the file is in place.
    pub done: Receiver<Result<usize, String>>,
}

impl Encoder {
    /// Encode the frames sent to it into `file`, committed (renamed over its target) only
    /// when every frame is in: a cancelled or failed export (the sender dropped before
    /// [`EncoderMessage::Finish`]) leaves the target as it was.
    ///
    /// # Errors
    /// When the thread cannot start.
    pub fn spawn(file: AtomicFile, format: Format) -> Result<Self, String> {
        let (tx, rx) = channel::<EncoderMessage>();
        let (done_tx, done) = channel();
        std::thread::Builder::new()
            .name("elbo-lab-export-file".into())
            .spawn(move || {
                let result = match format {
                    Format::Gif { delay_ms } => write_gif(file, delay_ms, &rx),
                    Format::Png => write_png(file, &rx),
                };
                let _ = done_tx.send(result);
            })
            .map_err(|e| format!("could not start the file writer: {e}"))?;
        Ok(Encoder { frames: tx, done })
    }

    /// Stop without committing: the thread sees the frames end, drops the unfinished
    /// file (its temporary beside the target) and says so; wait for that (a frame being
    /// encoded finishes first), so nothing is left beside the target once this returns.
    pub fn abandon(self) {
        drop(self.frames);
        let _ = self.done.recv_timeout(ABANDON_WAIT);
    }
}

/// How long [`Encoder::abandon`] waits for the file's thread (one frame's encoding).
const ABANDON_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn write_gif(
    file: AtomicFile,
    delay_ms: u32,
    rx: &Receiver<EncoderMessage>,
) -> Result<usize, String> {
    let mut gif = GifWriter::new(file, delay_ms);
    loop {
        match rx.recv() {
            Ok(EncoderMessage::Frame(f)) => gif.add(f)?,
            Ok(EncoderMessage::Finish) => break,
            Err(_) => return Err("cancelled".to_owned()),
        }
    }
    let frames = gif.frames();
    gif.finish()?.commit().map_err(|e| e.to_string())?;
    Ok(frames)
}

fn write_png(mut file: AtomicFile, rx: &Receiver<EncoderMessage>) -> Result<usize, String> {
    let mut image = None;
    loop {
        match rx.recv() {
            Ok(EncoderMessage::Frame(f)) => image = Some(f),
            Ok(EncoderMessage::Finish) => break,
            Err(_) => return Err("cancelled".to_owned()),
        }
    }
    let image = image.ok_or("a PNG needs its image")?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    file.write_all(bytes.get_ref()).map_err(|e| e.to_string())?;
    file.commit().map_err(|e| e.to_string())?;
    Ok(1)
}
