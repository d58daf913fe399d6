//! The saved state eframe restores before the app exists (`app.ron`: egui's memory and the
//! window geometry beside our settings), checked before the window opens.
//!
//! eframe applies the saved egui zoom factor and window geometry while it creates the
//! window, so a bad value there (a zoom of 0, NaN or 1000; a window of 10^9 points or at
//! 10^9 pixels) panics or strands the window before any app code runs. [`sanitise_file`]
//! reads the file, repairs or drops what fails, writes it back and returns a note for each
//! repair; the app shows them. Our own settings in the same file are checked by
//! [`super::settings::restore`].

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::settings::ZOOM_RANGE;

/// eframe's key of egui's memory.
pub const EGUI_MEMORY_KEY: &str = "egui";
/// eframe's key of the window geometry.
pub const WINDOW_KEY: &str = "window";
/// A state file larger than this is not ours to read: it is set aside.
pub const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;
/// Smallest restored window side, in points (below it the window is a thin strip).
pub const MIN_WINDOW_POINTS: f32 = 400.0;
/// Largest restored window side, in points.
pub const MAX_WINDOW_POINTS: f32 = 16_384.0;
/// Largest restored window position, in pixels from the origin of the desktop.
pub const MAX_WINDOW_PIXELS: f32 = 32_768.0;

/// Where eframe keeps the app's state (`app.ron`), for the app id `elbo-lab`.
pub fn state_file() -> Option<PathBuf> {
    eframe::storage_dir("elbo-lab").map(|d| d.join("app.ron"))
}

/// Check the state file at `path` (a missing file is fine), repair it in place and say
/// what was repaired.
pub fn sanitise_file(path: &Path) -> Vec<String> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut text = String::new();
    let read = file.take(MAX_STATE_BYTES + 1).read_to_string(&mut text);
    let mut notes = Vec::new();
    let repaired = match read {
        Ok(n) if (n as u64) <= MAX_STATE_BYTES => match sanitise_text(&text) {
            Ok((fixed, more)) => {
                notes.extend(more);
                (fixed != text).then_some(fixed)
            }
            Err(e) => {
                notes.push(format!(
                    "the saved state could not be read ({e}); defaults used"
                ));
                Some(String::new())
            }
        },
        _ => {
            notes.push("the saved state is unreadable or too large; defaults used".to_owned());
            Some(String::new())
        }
    };
    if let Some(fixed) = repaired {
        let outcome = if fixed.is_empty() {
            std::fs::rename(path, path.with_extension("ron.broken"))
        } else {
            std::fs::write(path, fixed)
        };
        if let Err(e) = outcome {
            notes.push(format!("could not repair {}: {e}", path.display()));
        }
    }
    notes
}

/// The state file's text with egui's memory and the window geometry checked.
///
/// # Errors
/// When the text is not eframe's map of strings.
pub fn sanitise_text(text: &str) -> Result<(String, Vec<String>), String> {
    let mut kv: HashMap<String, String> = ron::from_str(text).map_err(|e| e.to_string())?;
    let mut notes = Vec::new();
    if let Some(memory) = kv.get(EGUI_MEMORY_KEY) {
        match sanitise_memory(memory) {
            Ok((fixed, more)) => {
                notes.extend(more);
                kv.insert(EGUI_MEMORY_KEY.to_owned(), fixed);
            }
            Err(e) => {
                notes.push(format!(
                    "egui's saved memory could not be read ({e}); reset"
                ));
                kv.remove(EGUI_MEMORY_KEY);
            }
        }
    }
    if let Some(window) = kv.get(WINDOW_KEY) {
        match sanitise_window(window) {
            Ok((fixed, more)) => {
                notes.extend(more);
                kv.insert(WINDOW_KEY.to_owned(), fixed);
            }
            Err(e) => {
                notes.push(format!(
                    "the saved window geometry was unusable ({e}); default window"
                ));
                kv.remove(WINDOW_KEY);
            }
        }
    }
    let out = ron::ser::to_string_pretty(&kv, ron::ser::PrettyConfig::default())
        .map_err(|e| e.to_string())?;
    Ok((
        if notes.is_empty() {
            text.to_owned()
        } else {
            out
        },
        notes,
    ))
}

/// egui's memory with a zoom factor the app offers.
fn sanitise_memory(text: &str) -> Result<(String, Vec<String>), String> {
    let mut memory: egui::Memory = ron::from_str(text).map_err(|e| e.to_string())?;
    let zoom = memory.options.zoom_factor;
    if zoom.is_finite() && ZOOM_RANGE.contains(&zoom) {
        return Ok((text.to_owned(), Vec::new()));
    }
    memory.options.zoom_factor = 1.0;
    let fixed = ron::to_string(&memory).map_err(|e| e.to_string())?;
    Ok((
        fixed,
        vec![format!(
            "saved zoom factor {zoom} is outside {:?}; reset to 1",
            ZOOM_RANGE
        )],
    ))
}

/// egui-winit 0.37's `WindowSettings` as saved (its fields are private there).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedWindow {
    normal_geometry: SavedGeometry,
    fullscreen: bool,
    maximized: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedGeometry {
    outer_position_pixels: Option<egui::Pos2>,
    scale_factor: f32,
    inner_size_points: egui::Vec2,
}

/// The window geometry, checked: an absurd size or scale factor drops it (the default
/// window opens), an absurd position drops the position only.
fn sanitise_window(text: &str) -> Result<(String, Vec<String>), String> {
    let mut w: SavedWindow = ron::from_str(text).map_err(|e| e.to_string())?;
    let g = &mut w.normal_geometry;
    let size_ok = |v: f32| v.is_finite() && (MIN_WINDOW_POINTS..=MAX_WINDOW_POINTS).contains(&v);
    if !(size_ok(g.inner_size_points.x) && size_ok(g.inner_size_points.y)) {
        return Err(format!(
            "size {} x {} points",
            g.inner_size_points.x, g.inner_size_points.y
        ));
    }
    if !(g.scale_factor.is_finite() && (0.25..=8.0).contains(&g.scale_factor)) {
        return Err(format!("scale factor {}", g.scale_factor));
    }
    let mut notes = Vec::new();
    if let Some(p) = g.outer_position_pixels {
        let pos_ok = |v: f32| v.is_finite() && v.abs() <= MAX_WINDOW_PIXELS;
        if !(pos_ok(p.x) && pos_ok(p.y)) {
            g.outer_position_pixels = None;
            notes.push(format!(
                "saved window position ({}, {}) is off any screen; dropped",
                p.x, p.y
            ));
        }
    }
    if notes.is_empty() {
        return Ok((text.to_owned(), notes));
    }
    Ok((ron::to_string(&w).map_err(|e| e.to_string())?, notes))
}

/// Where to move a window whose outer rectangle `outer` (points) is far off a monitor of
/// `monitor` points, or None. Only the monitor's size is known, not where it sits on a
/// desktop of several, so only a window more than two monitors away from this one's
/// origin counts as stranded (a neighbouring monitor's window is left where it is).
pub fn onscreen_position(outer: egui::Rect, monitor: egui::Vec2) -> Option<egui::Pos2> {
    let stranded = outer.left() > 3.0 * monitor.x
        || outer.right() < -2.0 * monitor.x
        || outer.top() > 3.0 * monitor.y
        || outer.bottom() < -2.0 * monitor.y;
    stranded.then_some(egui::pos2(0.0, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(zoom: &str, window: Option<&str>) -> String {
        let mut memory = egui::Memory::default();
        memory.options.zoom_factor = 1.25;
        let memory = ron::to_string(&memory)
            .expect("memory serialises")
            .replace("zoom_factor:1.25", &format!("zoom_factor:{zoom}"));
        let mut kv = HashMap::new();
        kv.insert(EGUI_MEMORY_KEY.to_owned(), memory);
        if let Some(w) = window {
            kv.insert(WINDOW_KEY.to_owned(), w.to_owned());
        }
        ron::to_string(&kv).expect("map serialises")
    }

    fn zoom_of(text: &str) -> f32 {
        let kv: HashMap<String, String> = ron::from_str(text).expect("map");
        let m: egui::Memory = ron::from_str(&kv[EGUI_MEMORY_KEY]).expect("memory");
        m.options.zoom_factor
    }

    #[test]
    fn a_bad_saved_zoom_is_reset() {
        let good = state("1.25", None);
        let (text, notes) = sanitise_text(&good).expect("reads");
        assert!(notes.is_empty());
        assert_eq!(zoom_of(&text), 1.25);
        for bad in ["0.0", "NaN", "1000.0", "-2.0", "inf"] {
            let (text, notes) = sanitise_text(&state(bad, None)).expect("reads");
            assert_eq!(zoom_of(&text), 1.0, "zoom {bad}");
            assert_eq!(notes.len(), 1, "zoom {bad}: {notes:?}");
        }
    }

    fn window(x: f32, y: f32, w: f32, h: f32, scale: f32) -> String {
        ron::to_string(&SavedWindow {
            normal_geometry: SavedGeometry {
                outer_position_pixels: Some(egui::pos2(x, y)),
                scale_factor: scale,
                inner_size_points: egui::vec2(w, h),
            },
            fullscreen: false,
            maximized: false,
        })
        .expect("serialises")
    }

    #[test]
    fn absurd_window_geometry_is_dropped() {
        let ok = window(10.0, 20.0, 1280.0, 800.0, 1.0);
        let (text, notes) = sanitise_text(&state("1.0", Some(&ok))).expect("reads");
        assert!(notes.is_empty(), "{notes:?}");
        let kv: HashMap<String, String> = ron::from_str(&text).expect("map");
        assert_eq!(kv[WINDOW_KEY], ok);
        for (bad, drops_all) in [
            (window(10.0, 20.0, 1e9, 800.0, 1.0), true),
            (window(10.0, 20.0, 1280.0, 3.0, 1.0), true),
            (window(10.0, 20.0, f32::NAN, 800.0, 1.0), true),
            (window(10.0, 20.0, 1280.0, 800.0, 0.0), true),
            (window(1e9, -1e9, 1280.0, 800.0, 1.0), false),
        ] {
            let (text, notes) = sanitise_text(&state("1.0", Some(&bad))).expect("reads");
            assert_eq!(notes.len(), 1, "{bad}: {notes:?}");
            let kv: HashMap<String, String> = ron::from_str(&text).expect("map");
            if drops_all {
                assert!(!kv.contains_key(WINDOW_KEY), "{bad}");
            } else {
                let w: SavedWindow = ron::from_str(&kv[WINDOW_KEY]).expect("window");
                assert!(w.normal_geometry.outer_position_pixels.is_none());
                assert_eq!(
                    w.normal_geometry.inner_size_points,
                    egui::vec2(1280.0, 800.0)
                );
            }
        }
    }

    #[test]
    fn unreadable_files_are_set_aside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("app.ron");
        std::fs::write(&path, "not ron at all {{{").expect("write");
        let notes = sanitise_file(&path);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(!path.exists());
        assert!(path.with_extension("ron.broken").exists());
        // A good file is left byte for byte.
        let good = state("1.5", Some(&window(0.0, 0.0, 1024.0, 768.0, 1.0)));
        std::fs::write(&path, &good).expect("write");
        assert!(sanitise_file(&path).is_empty());
        assert_eq!(std::fs::read_to_string(&path).expect("read"), good);
        // A missing file is no problem.
        assert!(sanitise_file(&dir.path().join("none.ron")).is_empty());
    }

    #[test]
    fn stranded_windows_come_back() {
        let monitor = egui::vec2(1280.0, 800.0);
        let on = egui::Rect::from_min_size(egui::pos2(100.0, 50.0), egui::vec2(800.0, 600.0));
        assert_eq!(onscreen_position(on, monitor), None);
        // A window on the monitor to the right stays.
        let beside = egui::Rect::from_min_size(egui::pos2(1500.0, 50.0), egui::vec2(800.0, 600.0));
        assert_eq!(onscreen_position(beside, monitor), None);
        let off = egui::Rect::from_min_size(egui::pos2(5000.0, 50.0), egui::vec2(800.0, 600.0));
        assert_eq!(onscreen_position(off, monitor), Some(egui::pos2(0.0, 0.0)));
        let above = egui::Rect::from_min_size(egui::pos2(0.0, -3000.0), egui::vec2(800.0, 600.0));
        assert!(onscreen_position(above, monitor).is_some());
    }
}
