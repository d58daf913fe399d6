//! The saved state (`app.ron`: egui's memory and the window geometry beside our settings),
//! written so that nothing is lost and checked before the window opens.
//!
//! **Writing.** eframe rewrites its state file in place, so a kill or a power cut during a
//! save leaves a torn file. eframe is therefore pointed at a scratch file of its own
//! ([`StateFiles::scratch`], never read back by us), and [`App::save`](super::App) writes the
//! same map to `app.ron` itself through [`write_state`]: the previous good file is kept as
//! `app.ron.bak`, the new one goes to a temporary file, is flushed to disk and renamed over
//! `app.ron`. At every start [`prepare`] copies the recovered state into the scratch file
//! for eframe to restore.
//!
//! **Reading.** [`recover`] takes `app.ron` when it parses. A file that does not (torn by
//! an older ELBO Lab or another program) is set aside as `app.ron.broken`; every entry of
//! it that is complete, down to single settings, is salvaged and the rest comes from the
//! backup, so a torn file never costs more than what changed since the save before.
//!
//! **Checking.** eframe applies the saved egui zoom factor and window geometry while it
//! creates the window, so a bad value there (a zoom of 0, NaN or 1000; a window of 10^9
//! points or at 10^9 pixels) panics or strands the window before any app code runs.
//! [`sanitise_map`] repairs or drops what fails and returns a note for each repair; the
//! app shows them. Our own settings in the same file are checked by
//! [`super::settings::restore`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use elbo_core::files::{ReadError, read_text_capped, write_atomic};
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

/// The saved state as eframe keeps it: RON text per key.
pub type StateMap = BTreeMap<String, String>;

/// The files of the saved state, all in one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFiles {
    /// `app.ron`: the state, written atomically by us.
    pub main: PathBuf,
    /// `app.ron.bak`: the state of the save before.
    pub backup: PathBuf,
    /// `app.ron.broken`: the last state file that could not be read, kept for the user.
    pub broken: PathBuf,
    /// `eframe.ron`: where eframe writes (in place) and restores from at start.
    pub scratch: PathBuf,
}

impl StateFiles {
    /// The state files in `folder`.
    pub fn in_folder(folder: &Path) -> Self {
        StateFiles {
            main: folder.join("app.ron"),
            backup: folder.join("app.ron.bak"),
            broken: folder.join("app.ron.broken"),
            scratch: folder.join("eframe.ron"),
        }
    }

    /// Where eframe keeps state for the app id `elbo-lab`.
    pub fn of_app() -> Option<Self> {
        eframe::storage_dir("elbo-lab").map(|d| Self::in_folder(&d))
    }
}

/// The state as RON text (eframe's format: a map of strings).
pub fn state_text(map: &StateMap) -> String {
    ron::ser::to_string_pretty(map, ron::ser::PrettyConfig::default()).unwrap_or_default()
}

/// The map in `text`, if it is one.
fn parse_map(text: &str) -> Option<StateMap> {
    ron::from_str(text).ok()
}

/// Write `map` as the state: the current `app.ron`, if it reads, becomes the backup, then
/// the new state replaces it atomically (temporary file, flush, rename).
///
/// # Errors
/// The file system's, naming the file.
pub fn write_state(files: &StateFiles, map: &StateMap) -> Result<(), String> {
    if let Some(folder) = files.main.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("could not create {}: {e}", folder.display()))?;
    }
    if let Ok(current) = read_text_capped(&files.main, MAX_STATE_BYTES)
        && parse_map(&current).is_some()
    {
        write_atomic(&files.backup, current)
            .map_err(|e| format!("could not write {}: {e}", files.backup.display()))?;
    }
    write_atomic(&files.main, state_text(map))
        .map_err(|e| format!("could not write {}: {e}", files.main.display()))
}

/// The saved state, recovered as well as it can be, with a note for what was lost or
/// taken from the backup (see the module's documentation). A damaged `app.ron` is set
/// aside as `app.ron.broken`.
pub fn recover(files: &StateFiles) -> (StateMap, Vec<String>) {
    let backup = || {
        read_text_capped(&files.backup, MAX_STATE_BYTES)
            .ok()
            .and_then(|t| parse_map(&t))
    };
    let main = match read_text_capped(&files.main, MAX_STATE_BYTES) {
        Ok(text) => match parse_map(&text) {
            Some(map) => return (map, Vec::new()),
            None => Err(text),
        },
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return match backup() {
                Some(map) => (
                    map,
                    vec![
                        "the saved state was missing; its backup (the save before) was used".into(),
                    ],
                ),
                None => (StateMap::new(), Vec::new()),
            };
        }
        Err(e) => Ok(e),
    };
    set_aside(files);
    let older = backup();
    let from_backup = if older.is_some() {
        "the rest from the backup of the save before"
    } else {
        "defaults for the rest (no backup)"
    };
    match main {
        Ok(why) => (
            older.unwrap_or_default(),
            vec![format!(
                "the saved state could not be read ({why}); set aside as {}; {from_backup}",
                files.broken.display()
            )],
        ),
        Err(text) => {
            let salvaged = salvage(&text);
            let kept = salvaged.count();
            let map = salvaged.over(older.unwrap_or_default());
            (
                map,
                vec![format!(
                    "the saved state was damaged (cut short?) and set aside as {}: {kept} setting(s) read from it, {from_backup}",
                    files.broken.display()
                )],
            )
        }
    }
}

/// Move a state file that cannot be read out of the way (removed when it cannot be
/// moved).
fn set_aside(files: &StateFiles) {
    if std::fs::rename(&files.main, &files.broken).is_err() {
        let _ = std::fs::remove_file(&files.main);
    }
}

/// Recover the saved state, check it, give eframe its copy (the scratch file) and write the
/// repaired state back; the notes say what was repaired.
pub fn prepare(files: &StateFiles) -> Vec<String> {
    let (mut map, mut notes) = recover(files);
    notes.extend(sanitise_map(&mut map));
    // Something was recovered or repaired: the repaired state is the file from now on.
    if !notes.is_empty()
        && let Err(e) = write_state(files, &map)
    {
        notes.push(e);
    }
    let outcome = if map.is_empty() {
        match std::fs::remove_file(&files.scratch) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    } else {
        write_atomic(&files.scratch, state_text(&map))
    };
    if let Err(e) = outcome {
        notes.push(format!(
            "could not prepare {}: {e}",
            files.scratch.display()
        ));
    }
    notes
}

// ------------------------------------------------------------------------------------------
// Salvage: the complete entries of a RON map or struct whose text is cut short
// ------------------------------------------------------------------------------------------

/// What could be read from a damaged state file: its complete entries, and of the entry
/// cut in the middle, if it is a struct (our settings), its complete fields.
#[derive(Debug, Default)]
struct Salvaged {
    complete: StateMap,
    /// The key of the entry cut short and the complete fields of its value.
    partial: Option<(String, Vec<(String, String)>)>,
}

impl Salvaged {
    /// How many entries, and fields of the entry cut short, were read.
    fn count(&self) -> usize {
        self.complete.len() + self.partial.as_ref().map_or(0, |(_, f)| f.len())
    }

    /// The salvaged entries over `older`: a complete entry replaces the older one, the
    /// entry cut short replaces the older one's fields that it holds whole.
    fn over(self, mut older: StateMap) -> StateMap {
        if let Some((key, fields)) = self.partial
            && !fields.is_empty()
        {
            let mut merged: Vec<(String, String)> =
                older.get(&key).map(|t| entries(t).0).unwrap_or_default();
            for (name, text) in fields {
                match merged.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = text,
                    None => merged.push((name, text)),
                }
            }
            let body: Vec<String> = merged.into_iter().map(|(_, t)| t).collect();
            older.insert(key, format!("({})", body.join(",")));
        }
        older.extend(self.complete);
        older
    }
}

/// Read the complete entries of a damaged state file.
fn salvage(text: &str) -> Salvaged {
    let (found, rest) = entries(text);
    let mut out = Salvaged::default();
    for (_, entry) in found {
        if let Some((key, value)) = key_value(&entry)
            && let Ok(value) = ron::from_str::<String>(&value)
        {
            out.complete.insert(key, value);
        }
    }
    // The entry cut short: `"key": "(field:..., field:...` (a string cut in its middle).
    if let Some(rest) = rest
        && let Some((key, value)) = key_value(rest)
        && let Some(inner) = cut_string(&value)
    {
        out.partial = Some((key, entries(&inner).0));
    }
    out
}

/// `"key": value` split at its colon, the key unquoted.
fn key_value(entry: &str) -> Option<(String, String)> {
    let colon = top_level_colon(entry)?;
    let key: String = ron::from_str(entry[..colon].trim()).ok()?;
    Some((key, entry[colon + 1..].trim().to_owned()))
}

/// The byte index of the first `:` outside strings and brackets.
fn top_level_colon(entry: &str) -> Option<usize> {
    let mut scan = Scanner::default();
    entry
        .char_indices()
        .find(|&(_, c)| scan.step(c) && scan.depth == 0 && c == ':')
        .map(|(i, _)| i)
}

/// The text of a RON string literal cut short (without its closing quote): what it holds
/// up to the cut, a dangling escape dropped.
fn cut_string(literal: &str) -> Option<String> {
    if !literal.starts_with('"') {
        return None;
    }
    let mut body = literal.to_owned();
    for _ in 0..12 {
        if let Ok(text) = ron::from_str::<String>(&format!("{body}\"")) {
            return Some(text);
        }
        body.pop()?;
    }
    None
}

/// Where a scan through RON text stands: inside a string or char literal, after an escape,
/// how deep in brackets.
#[derive(Debug, Default)]
struct Scanner {
    quote: Option<char>,
    escaped: bool,
    depth: usize,
}

impl Scanner {
    /// Take one character; true when it is structure (outside any literal).
    fn step(&mut self, c: char) -> bool {
        if let Some(q) = self.quote {
            if self.escaped {
                self.escaped = false;
            } else if c == '\\' {
                self.escaped = true;
            } else if c == q {
                self.quote = None;
            }
            return false;
        }
        match c {
            '"' | '\'' => {
                self.quote = Some(c);
                false
            }
            '(' | '[' | '{' => {
                self.depth += 1;
                true
            }
            ')' | ']' | '}' => {
                self.depth = self.depth.saturating_sub(1);
                true
            }
            _ => true,
        }
    }
}

/// The complete top-level entries of a RON map `{k: v, ...}` or struct `(f: v, ...)`,
/// each with its name (the key's text before the colon, trimmed), and the text of the
/// entry cut short after them, if any. An entry counts as complete only when a comma or
/// the closing bracket follows it, so a number cut in its middle (`t: 12` of `t: 125`)
/// is never taken.
fn entries(text: &str) -> (Vec<(String, String)>, Option<&str>) {
    let text = text.trim_start();
    let Some(open) = text.chars().next().filter(|c| matches!(c, '(' | '{')) else {
        return (Vec::new(), None);
    };
    let body = &text[open.len_utf8()..];
    let mut scan = Scanner {
        depth: 1,
        ..Scanner::default()
    };
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in body.char_indices() {
        if !scan.step(c) {
            continue;
        }
        let ends = (c == ',' && scan.depth == 1) || scan.depth == 0;
        if ends {
            let entry = body[start..i].trim();
            if !entry.is_empty() {
                let name = top_level_colon(entry).map_or("", |k| entry[..k].trim());
                out.push((name.to_owned(), entry.to_owned()));
            }
            start = i + c.len_utf8();
            if scan.depth == 0 {
                return (out, None);
            }
        }
    }
    let rest = body[start..].trim();
    (out, (!rest.is_empty()).then_some(rest))
}

/// The state file's text with egui's memory and the window geometry checked (see
/// [`sanitise_map`]); the text itself when nothing needed repair.
///
/// # Errors
/// When the text is not eframe's map of strings.
pub fn sanitise_text(text: &str) -> Result<(String, Vec<String>), String> {
    let mut kv: StateMap = ron::from_str(text).map_err(|e| e.to_string())?;
    let notes = sanitise_map(&mut kv);
    Ok((
        if notes.is_empty() {
            text.to_owned()
        } else {
            state_text(&kv)
        },
        notes,
    ))
}

/// Check egui's memory and the window geometry in `kv`: repair what can be repaired, drop
/// what cannot, and say what was done.
pub fn sanitise_map(kv: &mut StateMap) -> Vec<String> {
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
    notes
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
    use crate::app::settings::Settings;

    fn state(zoom: &str, window: Option<&str>) -> String {
        let mut memory = egui::Memory::default();
        memory.options.zoom_factor = 1.25;
        let memory = ron::to_string(&memory)
            .expect("memory serialises")
            .replace("zoom_factor:1.25", &format!("zoom_factor:{zoom}"));
        let mut kv = StateMap::new();
        kv.insert(EGUI_MEMORY_KEY.to_owned(), memory);
        if let Some(w) = window {
            kv.insert(WINDOW_KEY.to_owned(), w.to_owned());
        }
        ron::to_string(&kv).expect("map serialises")
    }

    fn zoom_of(text: &str) -> f32 {
        let kv: StateMap = ron::from_str(text).expect("map");
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
        let kv: StateMap = ron::from_str(&text).expect("map");
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
            let kv: StateMap = ron::from_str(&text).expect("map");
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

    /// Two saves: `old` then `new` (each a map with egui's memory, a window and settings).
    fn two_saves(dir: &Path) -> (StateFiles, StateMap, StateMap, Settings, Settings) {
        use crate::app::settings::View;
        let files = StateFiles::in_folder(dir);
        let old_settings = Settings {
            seed: 1,
            t: 10,
            samples: 4096,
            view: View::Elbo,
            ..Settings::default()
        };
        let mut new_settings = Settings {
            seed: 2,
            t: 125,
            samples: 8192,
            view: View::Schedule,
            dark: false,
            speed: 40.0,
            zoom: 1.5,
            overlays: vec![PathBuf::from("/tmp/a config.json")],
            ..Settings::default()
        };
        new_settings.schedule.steps = 250;
        new_settings.data.bandwidth = 0.3;
        let map = |s: &Settings, zoom: &str, x: f32| {
            let mut m: StateMap =
                ron::from_str(&state(zoom, Some(&window(x, 20.0, 1280.0, 800.0, 1.0))))
                    .expect("map");
            m.insert(
                crate::app::STORAGE_KEY.to_owned(),
                ron::to_string(s).expect("settings"),
            );
            m
        };
        let (old, new) = (
            map(&old_settings, "1.25", 10.0),
            map(&new_settings, "1.5", 30.0),
        );
        write_state(&files, &old).expect("first save");
        write_state(&files, &new).expect("second save");
        (files, old, new, old_settings, new_settings)
    }

    /// Each field of `s` as JSON, by name.
    fn fields(s: &Settings) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(s).expect("json") {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("settings are an object"),
        }
    }

    #[test]
    fn a_save_keeps_the_one_before_as_a_backup() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (files, old, new, ..) = two_saves(dir.path());
        let read = |p: &Path| parse_map(&std::fs::read_to_string(p).expect("read")).expect("map");
        assert_eq!(read(&files.main), new);
        assert_eq!(read(&files.backup), old);
        assert_eq!(recover(&files), (new, Vec::new()));
    }

    /// A state file cut at any byte loses at most what changed since the save before:
    /// every setting is the newest save's or the one before's, never a default that
    /// neither held, and every entry written whole before the cut is the newest's.
    #[test]
    fn a_torn_state_file_never_costs_more_than_the_last_save() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (files, old, new, old_settings, new_settings) = two_saves(dir.path());
        let text = std::fs::read_to_string(&files.main).expect("read");
        let (old_f, new_f) = (fields(&old_settings), fields(&new_settings));
        let mut newest_seen = 0;
        for cut in 0..text.len() {
            std::fs::write(&files.main, &text[..cut]).expect("tear");
            let (map, notes) = recover(&files);
            assert_eq!(notes.len(), 1, "cut {cut}: {notes:?}");
            assert!(files.broken.exists() && !files.main.exists(), "cut {cut}");
            for key in [EGUI_MEMORY_KEY, WINDOW_KEY] {
                assert!(
                    map[key] == old[key] || map[key] == new[key],
                    "cut {cut}: {key}"
                );
            }
            let (got, _) =
                crate::app::settings::restore(map.get(crate::app::STORAGE_KEY).map(String::as_str));
            let got_f = fields(&got);
            let mut newest = 0;
            for (name, value) in &got_f {
                assert!(
                    *value == old_f[name] || *value == new_f[name],
                    "cut {cut}: '{name}' is {value}, neither {} nor {}",
                    old_f[name],
                    new_f[name]
                );
                newest += usize::from(*value == new_f[name] && new_f[name] != old_f[name]);
            }
            // More of the file never gives fewer of the newest settings.
            assert!(newest >= newest_seen, "cut {cut}: {newest} < {newest_seen}");
            newest_seen = newest;
        }
        // Only the closing bracket lost: everything is the newest save's.
        std::fs::write(&files.main, text.trim_end().trim_end_matches('}')).expect("tear");
        let (map, _) = recover(&files);
        assert_eq!(map, new);
        assert!(newest_seen >= 9, "{newest_seen} of the 9 changed settings");
    }

    #[test]
    fn a_missing_or_unreadable_state_file_falls_back_to_the_backup() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (files, old, ..) = two_saves(dir.path());
        std::fs::remove_file(&files.main).expect("remove");
        let (map, notes) = recover(&files);
        assert_eq!(map, old);
        assert!(notes[0].contains("backup"), "{notes:?}");
        // Not UTF-8 at all: set aside whole, the backup used.
        std::fs::write(&files.main, [0xff, 0xfe, 0x00]).expect("write");
        let (map, notes) = recover(&files);
        assert_eq!(map, old);
        assert!(notes[0].contains("not UTF-8"), "{notes:?}");
        assert!(files.broken.exists());
        // Nothing at all: a first start, no notes.
        let empty = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            recover(&StateFiles::in_folder(empty.path())),
            (StateMap::new(), Vec::new())
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_state_file_that_is_a_fifo_never_blocks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = StateFiles::in_folder(dir.path());
        let made = std::process::Command::new("mkfifo")
            .arg(&files.main)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let (map, notes) = recover(&files);
        assert!(map.is_empty());
        assert!(notes[0].contains("named pipe"), "{notes:?}");
    }

    #[test]
    fn prepare_gives_eframe_the_recovered_and_checked_state() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (files, _, new, ..) = two_saves(dir.path());
        assert!(prepare(&files).is_empty());
        let scratch = parse_map(&std::fs::read_to_string(&files.scratch).expect("read"));
        assert_eq!(scratch, Some(new.clone()));
        // A bad zoom is repaired in both files.
        let mut bad = new;
        bad.insert(
            EGUI_MEMORY_KEY.into(),
            ron::from_str::<StateMap>(&state("0.0", None)).expect("map")[EGUI_MEMORY_KEY].clone(),
        );
        write_state(&files, &bad).expect("save");
        assert_eq!(prepare(&files).len(), 1);
        for path in [&files.main, &files.scratch] {
            assert_eq!(zoom_of(&std::fs::read_to_string(path).expect("read")), 1.0);
        }
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
