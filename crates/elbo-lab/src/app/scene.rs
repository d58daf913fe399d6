//! Scenes: the whole state of the app as a small versioned JSON file, to prepare a demo
//! and to hand it to students (File > Save scene / Open scene, `elbo-lab --scene FILE`,
//! a dropped file).
//!
//! ```text
//! {"elbo_lab_scene": 1, "title": "...", "caption": ["...", "..."],
//!  "data": {...}, "schedule": {...}, "model": "optimal", "trained_model": null,
//!  "reverse": {...}, "variance": "fixed_small", "samples": 2048, "seed": 0,
//!  "view": "Forward", "t": 1, "speed": 100.0, "toggles": {...}, "dark": true,
//!  "presenter": false, "training": {...}}
//! ```
//! Reading is forgiving but never trusting: each field is read on its own (a field that
//! cannot be read is dropped alone, with a note naming it), the numbers are then put back
//! in range by [`Settings::validated`], again with a note each. A file that is not a scene
//! or that a newer ELBO Lab wrote is refused whole. The window's own state (zoom, side
//! panel) is not part of a scene.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::model::{Model, StatusLine};
use super::settings::{MAX_LABEL_BYTES, Settings, View, ZOOM_RANGE, cut_text};

/// The key that marks a JSON file as a scene; its value is the format version.
pub const SCENE_KEY: &str = "elbo_lab_scene";
/// The scene format this build writes and the newest it reads.
pub const SCENE_VERSION: u64 = 1;
/// The largest scene file read: a hand-drawn mixture at the cap of 20,000 2D components
/// takes about 5 MB of pretty JSON, custom betas far less.
pub const MAX_SCENE_BYTES: u64 = 16 * 1024 * 1024;
/// Longest caption line read from a scene, in bytes (two or three sentences).
pub const MAX_CAPTION_BYTES: usize = 1000;

/// A saved state: the settings, the trained network in use, a title and a caption.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    /// The settings (zoom and side panel are the window's: not read from a scene).
    pub settings: Settings,
    /// A title (a lesson's step title).
    pub title: Option<String>,
    /// Up to two lines saying what to look at.
    pub caption: Vec<String>,
}

/// Why a scene was refused whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SceneError {
    /// The file could not be read.
    #[error("cannot read the scene {path}: {why}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// The text is not JSON.
    #[error("not a scene: the file is not JSON ({0})")]
    NotJson(String),
    /// JSON without the scene key.
    #[error("not a scene: no \"elbo_lab_scene\" version key in this JSON")]
    NotScene,
    /// The version key is not a positive whole number.
    #[error("not a scene: \"elbo_lab_scene\" must be a version number, found {0}")]
    BadVersion(String),
    /// A newer format.
    #[error(
        "this scene has format version {0}, written by a newer ELBO Lab; this one reads up to version {max}: nothing was changed",
        max = SCENE_VERSION
    )]
    Newer(u64),
}

/// The settings fields a scene holds, in the order they are written, with what each must be.
const FIELDS: [(&str, Kind); 15] = [
    ("data", Kind::Object),
    ("schedule", Kind::Object),
    ("model", Kind::Text),
    ("trained_model", Kind::TextOrNull),
    ("reverse", Kind::Object),
    ("variance", Kind::Text),
    ("samples", Kind::Whole),
    ("seed", Kind::Whole),
    ("view", Kind::Text),
    ("t", Kind::Whole),
    ("speed", Kind::Number),
    ("toggles", Kind::Object),
    ("dark", Kind::Bool),
    ("presenter", Kind::Bool),
    ("training", Kind::Object),
];

/// The JSON kind a field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Text,
    TextOrNull,
    Whole,
    Number,
    Bool,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Object => "an object",
            Kind::Text => "a name in quotes",
            Kind::TextOrNull => "a name in quotes or null",
            Kind::Whole => "a whole number",
            Kind::Number => "a number",
            Kind::Bool => "true or false",
        }
    }

    fn admits(self, v: &Value) -> bool {
        match self {
            Kind::Object => v.is_object(),
            Kind::Text => v.is_string(),
            Kind::TextOrNull => v.is_string() || v.is_null(),
            Kind::Whole => v.is_u64(),
            Kind::Number => v.is_number(),
            Kind::Bool => v.is_boolean(),
        }
    }
}

/// What a JSON value is, in a few words.
fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => {
            let short: String = s.chars().take(24).collect();
            format!("the text \"{short}\"")
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

impl Scene {
    /// A scene of these settings, without title or caption.
    pub fn of(settings: &Settings) -> Self {
        Scene {
            settings: settings.clone(),
            title: None,
            caption: Vec::new(),
        }
    }

    /// The scene as pretty JSON, the version key first.
    pub fn to_json(&self) -> String {
        let mut out = Map::new();
        if let Some(title) = &self.title {
            out.insert("title".into(), Value::from(title.clone()));
        }
        if !self.caption.is_empty() {
            out.insert("caption".into(), Value::from(self.caption.clone()));
        }
        let settings = serde_json::to_value(&self.settings).unwrap_or(Value::Null);
        for (name, _) in FIELDS {
            let value = if name == "trained_model" {
                serde_json::to_value(self.settings.trained_model).unwrap_or(Value::Null)
            } else {
                settings.get(name).cloned().unwrap_or(Value::Null)
            };
            out.insert(name.into(), value);
        }
        // serde_json orders keys by name: the version key is put first by hand, so that
        // the file says what it is on its first line.
        let body = serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default();
        let rest = body.strip_prefix('{').unwrap_or(&body);
        format!("{{\n  \"{SCENE_KEY}\": {SCENE_VERSION},{rest}")
    }

    /// Read a scene from JSON text: field by field, then validated. Returns the scene and
    /// a note for each field dropped or value reset; refuses text that is not a scene or
    /// is of a newer version. Fields absent from the text keep their defaults.
    pub fn parse(text: &str) -> Result<(Scene, Vec<String>), SceneError> {
        let text = elbo_core::files::strip_bom(text);
        let value: Value = serde_json::from_str(text).map_err(|e| {
            let mut why = e.to_string();
            why.truncate(120);
            SceneError::NotJson(why)
        })?;
        let Value::Object(map) = value else {
            return Err(SceneError::NotScene);
        };
        let version = match map.get(SCENE_KEY) {
            None => return Err(SceneError::NotScene),
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => n,
                _ => return Err(SceneError::BadVersion(found(v))),
            },
        };
        if version > SCENE_VERSION {
            return Err(SceneError::Newer(version));
        }
        let mut notes = Vec::new();
        let mut scene = Scene::default();
        let s = &mut scene.settings;
        for (key, value) in &map {
            let name = key.as_str();
            let Some(&(_, kind)) = FIELDS.iter().find(|(f, _)| *f == name) else {
                match name {
                    SCENE_KEY => {}
                    "title" => match value.as_str() {
                        Some(t) => {
                            scene.title = Some(capped(name, t.trim(), MAX_LABEL_BYTES, &mut notes))
                        }
                        None => notes.push(dropped(name, "a text in quotes", value)),
                    },
                    "caption" => match caption(value) {
                        Some(lines) => {
                            scene.caption = lines
                                .iter()
                                .map(|l| capped(name, l, MAX_CAPTION_BYTES, &mut notes))
                                .collect();
                        }
                        None => notes.push(dropped(name, "one or two lines of text", value)),
                    },
                    _ => notes.push(format!("scene: ignored unknown field '{name}'")),
                }
                continue;
            };
            if !kind.admits(value) {
                notes.push(dropped(name, kind.expected(), value));
                continue;
            }
            let ok = match name {
                "data" => read(value, &mut s.data),
                "schedule" => read(value, &mut s.schedule),
                "model" => read(value, &mut s.model),
                "trained_model" => read(value, &mut s.trained_model),
                "reverse" => read(value, &mut s.reverse),
                "variance" => read(value, &mut s.variance),
                "samples" => read(value, &mut s.samples),
                "seed" => read(value, &mut s.seed),
                "view" => read(value, &mut s.view),
                "t" => read(value, &mut s.t),
                "speed" => read(value, &mut s.speed),
                "toggles" => read(value, &mut s.toggles),
                "dark" => read(value, &mut s.dark),
                "presenter" => read(value, &mut s.presenter),
                "training" => read(value, &mut s.training),
                _ => Ok(()),
            };
            if let Err(why) = ok {
                notes.push(format!("scene: dropped '{name}' ({why})"));
            }
        }
        let (settings, fixed) = std::mem::take(&mut scene.settings).validated();
        scene.settings = settings;
        notes.extend(fixed.into_iter().map(|n| {
            let n = n.strip_prefix("saved ").unwrap_or(&n).to_owned();
            format!("scene: {n}")
        }));
        Ok((scene, notes))
    }

    /// Read a scene file (at most [`MAX_SCENE_BYTES`]).
    pub fn load(path: &Path) -> Result<(Scene, Vec<String>), SceneError> {
        let text = elbo_core::files::read_text_capped(path, MAX_SCENE_BYTES).map_err(|e| {
            SceneError::Read {
                path: path.display().to_string(),
                why: e.to_string(),
            }
        })?;
        Scene::parse(&text)
    }

    /// Write the scene to a file.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        elbo_core::files::write_atomic(path, self.to_json())
            .map_err(|e| format!("could not write the scene {}: {e}", path.display()))
    }
}

/// `text` cut to `max` bytes, with a note naming the field when it was longer.
fn capped(name: &str, text: &str, max: usize, notes: &mut Vec<String>) -> String {
    if text.len() > max {
        notes.push(format!(
            "scene: '{name}' is {} bytes long, over the {max}-byte limit; cut short",
            text.len()
        ));
    }
    cut_text(text, max)
}

/// A note for a field of the wrong kind.
fn dropped(name: &str, expected: &str, value: &Value) -> String {
    format!(
        "scene: dropped '{name}' (expected {expected}, found {})",
        found(value)
    )
}

/// One field read into its slot; on failure the slot keeps its value.
fn read<T: DeserializeOwned>(value: &Value, slot: &mut T) -> Result<(), String> {
    match serde_json::from_value::<T>(value.clone()) {
        Ok(v) => {
            *slot = v;
            Ok(())
        }
        Err(e) => {
            let mut why = e.to_string();
            why.truncate(160);
            Err(why)
        }
    }
}

/// A caption: one text, or a list of one or two texts.
fn caption(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) if items.len() <= 2 => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// Whether text looks like a scene (a JSON object with the scene key): how a dropped file
/// is told from data and schedules.
pub fn looks_like_scene(head: &str) -> bool {
    head.trim_start().starts_with('{') && head.contains(&format!("\"{SCENE_KEY}\""))
}

/// What the command line asks of the app at start (`--scene`, `--tab`, `--zoom`,
/// `--presenter`), applied after the saved state is restored, in that order.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// A scene already read (with the notes of what it dropped) and where it came from.
    pub scene: Option<(PathBuf, Scene, Vec<String>)>,
    /// The tab to open.
    pub view: Option<View>,
    /// The zoom factor (already checked against the offered range).
    pub zoom: Option<f32>,
    /// Start in presenter mode.
    pub presenter: bool,
}

impl Model {
    /// Apply what the command line asked for (see [`Launch`]); returns whether a scene
    /// was opened (which ends a lesson).
    pub fn launch(&mut self, launch: Launch) -> bool {
        let opened = launch.scene.is_some();
        if let Some((path, scene, notes)) = launch.scene {
            self.show_scene(&path, scene, notes);
        }
        if let Some(view) = launch.view {
            self.settings.view = view;
        }
        if let Some(zoom) = launch
            .zoom
            .filter(|z| z.is_finite() && ZOOM_RANGE.contains(z))
        {
            self.settings.zoom = zoom;
        }
        if launch.presenter {
            self.settings.presenter = true;
        }
        opened
    }

    /// Take a scene's settings as the app's: the window's zoom and side panel stay.
    pub fn set_scene_settings(&mut self, mut settings: Settings) {
        settings.zoom = self.settings.zoom;
        settings.side_panel = self.settings.side_panel;
        // The overlaid schedules are the user's comparison, not part of a scene.
        settings.overlays = std::mem::take(&mut self.settings.overlays);
        self.settings = settings;
        self.playing = false;
    }

    /// Open a scene file: refused whole (the state unchanged) or taken with notes.
    /// Returns whether it was opened (which ends a lesson).
    pub fn open_scene(&mut self, path: &Path) -> bool {
        match Scene::load(path) {
            Ok((scene, notes)) => {
                self.show_scene(path, scene, notes);
                true
            }
            Err(e) => {
                self.notes.status = Some(StatusLine::error(e.to_string()));
                false
            }
        }
    }

    fn show_scene(&mut self, path: &Path, mut scene: Scene, mut notes: Vec<String>) {
        // Data or a schedule the scene names but that do not build (a bad drawing, a file
        // that is gone, a preset with 10^9 components) are refused here, and the current
        // ones stay, as the note says.
        if let Err(e) = super::model::build_data(&scene.settings.data) {
            notes.push(format!(
                "the scene's data were refused ({e}); the current data stay"
            ));
            scene.settings.data = self.settings.data.clone();
        }
        let steps = match scene.settings.schedule.spec().build() {
            Ok(schedule) => schedule.steps(),
            Err(e) => {
                notes.push(format!(
                    "the scene's schedule was refused ({e}); the current schedule stays"
                ));
                scene.settings.schedule = self.settings.schedule.clone();
                scene.settings.schedule_config = self.settings.schedule_config.clone();
                self.steps()
            }
        };
        if scene.settings.t > steps {
            notes.push(format!(
                "scene: t = {} is beyond T = {steps}; t = {steps} is shown",
                scene.settings.t
            ));
            scene.settings.t = steps;
        }
        self.set_scene_settings(scene.settings);
        let name = scene
            .title
            .map_or_else(|| path.display().to_string(), |t| format!("'{t}'"));
        let status = if notes.is_empty() {
            format!("opened the scene {name}")
        } else {
            format!(
                "opened the scene {name}; {} field(s) dropped or reset (see the notes)",
                notes.len()
            )
        };
        self.notes.status = Some(StatusLine::new(status, !notes.is_empty()));
        self.notes.restored.extend(notes);
    }

    /// Save the current state as a scene file (with the title and caption of `lesson`, the
    /// scene of the lesson step shown, if any).
    pub fn save_scene(&mut self, path: &Path, lesson: Option<Scene>) {
        let mut scene = Scene::of(&self.settings);
        if let Some(lesson) = lesson {
            scene.title = lesson.title;
            scene.caption = lesson.caption;
        }
        self.notes.status = Some(match scene.save(path) {
            Ok(()) => StatusLine::info(format!("saved the scene {}", path.display())),
            Err(e) => StatusLine::error(e),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::settings::View;
    use elbo_core::param::Parameterisation;

    #[test]
    fn round_trip_keeps_every_field() {
        let mut s = Settings {
            seed: 9,
            view: View::Schedule,
            t: 17,
            dark: false,
            presenter: true,
            ..Settings::default()
        };
        s.trained_model = Some(Parameterisation::Eps);
        let scene = Scene {
            settings: s,
            title: Some("T".into()),
            caption: vec!["a".into(), "b".into()],
        };
        let (back, notes) = Scene::parse(&scene.to_json()).expect("a scene");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(back, scene);
    }

    #[test]
    fn a_bad_field_is_dropped_alone() {
        let text = r#"{"elbo_lab_scene": 1, "samples": "many", "seed": 5, "zzz": 1}"#;
        let (scene, notes) = Scene::parse(text).expect("a scene");
        assert_eq!(scene.settings.seed, 5);
        assert_eq!(scene.settings.samples, Settings::default().samples);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("'samples'") && notes[0].contains("a whole number"));
        assert!(notes[1].contains("'zzz'"));
    }

    #[test]
    fn refused_whole() {
        assert!(matches!(Scene::parse("{"), Err(SceneError::NotJson(_))));
        assert_eq!(Scene::parse("{\"a\": 1}"), Err(SceneError::NotScene));
        assert_eq!(Scene::parse("[1]"), Err(SceneError::NotScene));
        assert_eq!(
            Scene::parse("{\"elbo_lab_scene\": 2}"),
            Err(SceneError::Newer(2))
        );
        assert!(matches!(
            Scene::parse("{\"elbo_lab_scene\": \"one\"}"),
            Err(SceneError::BadVersion(_))
        ));
    }
}
