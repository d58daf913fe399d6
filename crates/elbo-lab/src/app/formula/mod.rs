//! Formulas typeset like the paper's, with egui's own text layout and painter.
//!
//! A small TeX-like typesetter for the LaTeX subset the app's formulas use:
//! ```text
//! source --tokenize--> tokens --match braces/parens/bars--> Node tree --layout--> Laid
//!        (boxes of width, ascent, descent around a baseline; galleys, rules and strokes)
//! Laid --paint--> the ui's painter, in the ui's text colour, at the ui's pixels_per_point
//! ```
//! Supported: letters (italic), digits and operators (upright), `_` and `^` (nested, stacked
//! when both), `\frac`, `\sqrt`, Greek letters, the accents `\bar \hat \tilde \dot \vec`
//! (drawn above the glyph: the default fonts have no combining accents), `\mathbb{E}` (a
//! bold E: the default fonts have no double-struck letters), `\mathrm \text
//! \operatorname`, function names (`\log \ln \exp \min \max ...`), `\sum \prod` with limits
//! below and above on a formula's own line, `\left( \right)` and plain `( ) [ ] | \|`
//! sized to their content, spacing commands and the usual relations and binary operators.
//! Bad input never panics: an unknown command is drawn as its name (and listed by
//! [`parse`]), an unbalanced brace or delimiter is drawn as itself.
//!
//! [`show`] adds a formula as one widget (never wrapped; scaled down to the available width
//! if it does not fit), with its [`plain`] text as its accessibility label. Layouts are
//! cached in egui's memory by source, size and pixels_per_point; the colour is applied when
//! painting, so a theme switch costs no layout.

pub mod catalogue;
mod layout;
mod parser;
mod plain_text;
pub mod steps;
mod tokens;
mod tree;
mod widget;

pub use layout::{Item, Laid, layout_uncached};
pub use parser::parse;
pub use plain_text::plain;
pub use tree::{Accent, Class, Node, Parsed, Style};
pub use widget::{
    Formula, MIN_FIT_SCALE, RichLaid, SCALE_OVER_BODY, base_size, cached_count, layout,
    layout_rich, paint, rich, show,
};
