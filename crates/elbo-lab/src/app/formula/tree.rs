//! The tree a formula parses into: atoms with their spacing class, glyph style and
//! accents, and the parse's report of what was wrong with the source.

/// TeX's atom classes, which decide the spacing between neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// An ordinary symbol: a variable, a digit.
    Ord,
    /// A large operator or a function name (`\sum`, `\log`).
    Op,
    /// A binary operator (`+`, `\cdot`).
    Bin,
    /// A relation (`=`, `\le`).
    Rel,
    /// An opening delimiter.
    Open,
    /// A closing delimiter.
    Close,
    /// Punctuation (`,`).
    Punct,
    /// A fraction or fenced group.
    Inner,
}

/// How a symbol's glyphs are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Italic (single-letter variables).
    Italic,
    /// Upright (digits, operators, function names, text).
    Upright,
    /// Faux bold (upright, drawn twice with a small offset).
    Bold,
}

/// An accent drawn above its base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accent {
    /// `\bar`, `\overline`.
    Bar,
    /// `\hat`, `\widehat`.
    Hat,
    /// `\tilde`, `\widetilde`.
    Tilde,
    /// `\dot`.
    Dot,
    /// `\vec`.
    Vec,
}

/// A parsed formula.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Text set as one atom.
    Sym {
        /// The characters.
        text: String,
        /// Its spacing class.
        class: Class,
        /// Its glyph style.
        style: Style,
        /// An operator whose scripts go below and above on the formula's own line.
        limits: bool,
    },
    /// A braced group: one atom of class Ord.
    Group(Vec<Node>),
    /// A base with a subscript and/or a superscript.
    Scripts {
        /// The base.
        base: Box<Node>,
        /// The subscript.
        sub: Option<Box<Node>>,
        /// The superscript.
        sup: Option<Box<Node>>,
    },
    /// `\frac{num}{den}`.
    Frac(Box<Node>, Box<Node>),
    /// `\sqrt{body}`.
    Sqrt(Box<Node>),
    /// An accent over a body.
    Accent(Accent, Box<Node>),
    /// Delimiters sized to their content (`None` is `\left.`).
    Fenced {
        /// The opening delimiter.
        open: Option<char>,
        /// The content.
        body: Vec<Node>,
        /// The closing delimiter.
        close: Option<char>,
    },
    /// Horizontal space, in em.
    Space(f32),
}

/// A parse: the tree and what was wrong with the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The formula, as a list of atoms.
    pub nodes: Vec<Node>,
    /// Commands that are not known (drawn as their names).
    pub unknown: Vec<String>,
    /// Whether a brace or `\left`/`\right` had no partner (drawn literally).
    pub unbalanced: bool,
}
