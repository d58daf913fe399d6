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

use std::collections::HashMap;
use std::sync::Arc;

use egui::epaint::text::FontsView;
use egui::text::{Galley, LayoutJob, TextFormat};
use egui::{
    Color32, FontFamily, FontId, Id, Pos2, Rect, Response, Sense, Shape, Stroke, Ui, Vec2, Widget,
    WidgetInfo, pos2, vec2,
};

/// The formula size over the Body text size: Ubuntu Light math reads small beside text.
pub const SCALE_OVER_BODY: f32 = 1.1;
/// A formula too wide for its space is scaled down, but never below this fraction.
pub const MIN_FIT_SCALE: f32 = 0.6;
/// Scripts are this fraction of their base's size...
const SCRIPT_SCALE: f32 = 0.72;
/// ...but never below this fraction of the formula's size.
const MIN_SCRIPT_SCALE: f32 = 0.56;
/// A fraction on the formula's own line sets its parts at this fraction of the size.
const DISPLAY_FRAC_SCALE: f32 = 0.86;
/// Deeper nesting than this is drawn as literal text (no unbounded recursion).
const MAX_DEPTH: usize = 40;
/// Sources longer than this (in chars) are cut: a formula, not a document.
const MAX_CHARS: usize = 4000;

// ------------------------------------------------------------------------------------------
// The tree
// ------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------
// Tokens and matching
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Char(char),
    Cmd(String),
}

fn tokenize(src: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut it = src.chars().take(MAX_CHARS).peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(Tok::Char(if c.is_whitespace() { ' ' } else { c }));
            continue;
        }
        match it.peek().copied() {
            Some(n) if n.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some(&n) = it.peek() {
                    if !n.is_ascii_alphabetic() {
                        break;
                    }
                    name.push(n);
                    it.next();
                }
                out.push(Tok::Cmd(name));
            }
            Some(n) => {
                it.next();
                out.push(Tok::Cmd(n.to_string()));
            }
            None => out.push(Tok::Char('\\')),
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pair {
    Brace,
    Paren,
    Bracket,
    Curly,
    LeftRight,
    Bar,
    DoubleBar,
}

enum Role {
    Open(Pair),
    Close(Pair),
    Toggle(Pair),
    Other,
}

fn role(tok: &Tok) -> Role {
    match tok {
        Tok::Char('{') => Role::Open(Pair::Brace),
        Tok::Char('}') => Role::Close(Pair::Brace),
        Tok::Char('(') => Role::Open(Pair::Paren),
        Tok::Char(')') => Role::Close(Pair::Paren),
        Tok::Char('[') => Role::Open(Pair::Bracket),
        Tok::Char(']') => Role::Close(Pair::Bracket),
        Tok::Char('|') => Role::Toggle(Pair::Bar),
        Tok::Cmd(c) => match c.as_str() {
            "{" | "lbrace" => Role::Open(Pair::Curly),
            "}" | "rbrace" => Role::Close(Pair::Curly),
            "left" => Role::Open(Pair::LeftRight),
            "right" => Role::Close(Pair::LeftRight),
            "|" | "Vert" | "lVert" | "rVert" => Role::Toggle(Pair::DoubleBar),
            _ => Role::Other,
        },
        _ => Role::Other,
    }
}

/// Commands whose next token is a delimiter (not matched on its own).
fn takes_delimiter(tok: &Tok) -> bool {
    matches!(tok, Tok::Cmd(c) if matches!(c.as_str(),
        "left" | "right" | "big" | "Big" | "bigg" | "Bigg" | "bigl" | "bigr" | "Bigl" | "Bigr"
        | "biggl" | "biggr" | "Biggl" | "Biggr"))
}

/// The partner of every matched opener and closer. Matches nest properly: a closer takes
/// the nearest opener of its kind and leaves everything opened after it unmatched.
fn match_pairs(toks: &[Tok]) -> Vec<Option<usize>> {
    let mut mate = vec![None; toks.len()];
    let mut stack: Vec<(usize, Pair)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match role(&toks[i]) {
            Role::Open(p) => stack.push((i, p)),
            Role::Close(p) => {
                if let Some(k) = stack.iter().rposition(|&(_, q)| q == p) {
                    let j = stack[k].0;
                    stack.truncate(k);
                    mate[i] = Some(j);
                    mate[j] = Some(i);
                }
            }
            Role::Toggle(p) => {
                if stack.last().is_some_and(|&(_, q)| q == p) {
                    if let Some((j, _)) = stack.pop() {
                        mate[i] = Some(j);
                        mate[j] = Some(i);
                    }
                } else {
                    stack.push((i, p));
                }
            }
            Role::Other => {}
        }
        if takes_delimiter(&toks[i]) {
            i += 1;
        }
        i += 1;
    }
    mate
}

// ------------------------------------------------------------------------------------------
// Parser
// ------------------------------------------------------------------------------------------

/// Parse a formula (never fails: see [`Parsed`]).
pub fn parse(src: &str) -> Parsed {
    let toks = tokenize(src);
    let mate = match_pairs(&toks);
    let mut p = Parser {
        toks: &toks,
        mate,
        unknown: Vec::new(),
        unbalanced: false,
        depth: 0,
    };
    let nodes = p.list(0, toks.len());
    Parsed {
        nodes,
        unknown: p.unknown,
        unbalanced: p.unbalanced,
    }
}

struct Parser<'a> {
    toks: &'a [Tok],
    mate: Vec<Option<usize>>,
    unknown: Vec<String>,
    unbalanced: bool,
    depth: usize,
}

fn sym(text: impl Into<String>, class: Class, style: Style) -> Node {
    Node::Sym {
        text: text.into(),
        class,
        style,
        limits: false,
    }
}

fn op(text: &str, limits: bool) -> Node {
    Node::Sym {
        text: text.into(),
        class: Class::Op,
        style: Style::Upright,
        limits,
    }
}

/// A plain source character as an atom.
fn char_node(c: char) -> Node {
    match c {
        '+' => sym("+", Class::Bin, Style::Upright),
        '-' | '−' => sym("−", Class::Bin, Style::Upright),
        '*' => sym("∗", Class::Bin, Style::Upright),
        '=' | '<' | '>' | ':' => sym(c, Class::Rel, Style::Upright),
        ',' | ';' => sym(c, Class::Punct, Style::Upright),
        '(' | '[' => sym(c, Class::Open, Style::Upright),
        ')' | ']' | '!' | '?' => sym(c, Class::Close, Style::Upright),
        '\'' => sym("′", Class::Ord, Style::Upright),
        c if c.is_ascii_alphabetic() => sym(c, Class::Ord, Style::Italic),
        c if c.is_alphabetic() => sym(c, Class::Ord, Style::Upright),
        c => sym(c, Class::Ord, Style::Upright),
    }
}

fn greek(name: &str) -> Option<char> {
    Some(match name {
        "alpha" => 'α',
        "beta" => 'β',
        "gamma" => 'γ',
        "delta" => 'δ',
        "epsilon" | "varepsilon" => 'ε',
        "zeta" => 'ζ',
        "eta" => 'η',
        "theta" | "vartheta" => 'θ',
        "iota" => 'ι',
        "kappa" => 'κ',
        "lambda" => 'λ',
        "mu" => 'μ',
        "nu" => 'ν',
        "xi" => 'ξ',
        "pi" | "varpi" => 'π',
        "rho" | "varrho" => 'ρ',
        "sigma" => 'σ',
        "varsigma" => 'ς',
        "tau" => 'τ',
        "upsilon" => 'υ',
        "phi" | "varphi" => 'φ',
        "chi" => 'χ',
        "psi" => 'ψ',
        "omega" => 'ω',
        _ => return None,
    })
}

fn upper_greek(name: &str) -> Option<char> {
    Some(match name {
        "Gamma" => 'Γ',
        "Delta" => 'Δ',
        "Theta" => 'Θ',
        "Lambda" => 'Λ',
        "Xi" => 'Ξ',
        "Pi" => 'Π',
        "Sigma" => 'Σ',
        "Upsilon" => 'Υ',
        "Phi" => 'Φ',
        "Psi" => 'Ψ',
        "Omega" => 'Ω',
        _ => return None,
    })
}

/// A command that is a single symbol.
fn symbol(name: &str) -> Option<Node> {
    // Lowercase Greek upright: Ubuntu Light's slanted alpha reads as an "a".
    if let Some(c) = greek(name) {
        return Some(sym(c, Class::Ord, Style::Upright));
    }
    if let Some(c) = upper_greek(name) {
        return Some(sym(c, Class::Ord, Style::Upright));
    }
    let (text, class) = match name {
        "nabla" => ("∇", Class::Ord),
        "partial" => ("∂", Class::Ord),
        "infty" => ("∞", Class::Ord),
        "ell" => ("ℓ", Class::Ord),
        "prime" => ("′", Class::Ord),
        "ldots" | "dots" => ("…", Class::Ord),
        "cdots" => ("⋯", Class::Inner),
        "%" | "#" | "$" | "&" | "_" => (name, Class::Ord),
        "cdot" => ("·", Class::Bin),
        "times" => ("×", Class::Bin),
        "pm" => ("±", Class::Bin),
        "mp" => ("∓", Class::Bin),
        "circ" => ("∘", Class::Bin),
        "odot" => ("⊙", Class::Bin),
        "ast" => ("∗", Class::Bin),
        "setminus" => ("∖", Class::Bin),
        "le" | "leq" => ("≤", Class::Rel),
        "ge" | "geq" => ("≥", Class::Rel),
        "approx" => ("≈", Class::Rel),
        "propto" => ("∝", Class::Rel),
        "to" | "rightarrow" => ("→", Class::Rel),
        "leftarrow" | "gets" => ("←", Class::Rel),
        "Rightarrow" => ("⇒", Class::Rel),
        "mapsto" => ("↦", Class::Rel),
        "sim" => ("∼", Class::Rel),
        "simeq" => ("≃", Class::Rel),
        "ne" | "neq" => ("≠", Class::Rel),
        "equiv" => ("≡", Class::Rel),
        "in" => ("∈", Class::Rel),
        "mid" => ("|", Class::Rel),
        "ll" => ("≪", Class::Rel),
        "gg" => ("≫", Class::Rel),
        "coloneqq" => ("≔", Class::Rel),
        "{" | "lbrace" => ("{", Class::Open),
        "}" | "rbrace" => ("}", Class::Close),
        "langle" => ("⟨", Class::Open),
        "rangle" => ("⟩", Class::Close),
        "|" | "Vert" | "lVert" | "rVert" => ("‖", Class::Ord),
        "vert" => ("|", Class::Ord),
        _ => return None,
    };
    Some(sym(text, class, Style::Upright))
}

/// Function names set upright as operators: (name, limits below/above).
fn function(name: &str) -> Option<(&'static str, bool)> {
    Some(match name {
        "log" => ("log", false),
        "ln" => ("ln", false),
        "exp" => ("exp", false),
        "sin" => ("sin", false),
        "cos" => ("cos", false),
        "tan" => ("tan", false),
        "det" => ("det", false),
        "dim" => ("dim", false),
        "Pr" => ("Pr", false),
        "min" => ("min", true),
        "max" => ("max", true),
        "lim" => ("lim", true),
        "sup" => ("sup", true),
        "inf" => ("inf", true),
        "argmin" => ("arg min", true),
        "argmax" => ("arg max", true),
        _ => return None,
    })
}

/// Horizontal space of a spacing command, in em.
fn spacing(name: &str) -> Option<f32> {
    Some(match name {
        "," | "thinspace" => 3.0 / 18.0,
        ":" | ">" | "medspace" => 4.0 / 18.0,
        ";" | "thickspace" => 5.0 / 18.0,
        "!" => -3.0 / 18.0,
        " " => 1.0 / 3.0,
        "quad" => 1.0,
        "qquad" => 2.0,
        _ => return None,
    })
}

fn delimiter_char(tok: Option<&Tok>) -> Option<char> {
    match tok? {
        Tok::Char('.') => None,
        Tok::Char(c) => Some(*c),
        Tok::Cmd(c) => match c.as_str() {
            "|" | "Vert" | "lVert" | "rVert" => Some('‖'),
            "vert" | "lvert" | "rvert" => Some('|'),
            "{" | "lbrace" => Some('{'),
            "}" | "rbrace" => Some('}'),
            "langle" => Some('⟨'),
            "rangle" => Some('⟩'),
            "lfloor" => Some('⌊'),
            "rfloor" => Some('⌋'),
            "lceil" => Some('⌈'),
            "rceil" => Some('⌉'),
            _ => None,
        },
    }
}

fn restyle(node: &mut Node, style: Style) {
    match node {
        Node::Sym { style: s, .. } => {
            if *s != Style::Bold {
                *s = style;
            }
        }
        Node::Group(v) | Node::Fenced { body: v, .. } => {
            v.iter_mut().for_each(|n| restyle(n, style))
        }
        Node::Scripts { base, .. } => restyle(base, style),
        Node::Frac(a, b) => {
            restyle(a, style);
            restyle(b, style);
        }
        Node::Sqrt(b) | Node::Accent(_, b) => restyle(b, style),
        Node::Space(_) => {}
    }
}

/// All the letters of a node, if it is only letters.
fn letters(node: &Node) -> Option<String> {
    match node {
        Node::Sym { text, .. } if text.chars().all(char::is_alphabetic) => Some(text.clone()),
        Node::Group(v) => v.iter().map(letters).collect(),
        _ => None,
    }
}

impl Parser<'_> {
    fn tok(&self, i: usize, end: usize) -> Option<&Tok> {
        if i < end { self.toks.get(i) } else { None }
    }

    fn raw(&self, from: usize, to: usize) -> String {
        let mut s = String::new();
        for t in &self.toks[from..to.min(self.toks.len())] {
            match t {
                Tok::Char(c) => s.push(*c),
                Tok::Cmd(c) if c.chars().all(|c| c.is_ascii_alphabetic()) => {
                    if let Some(g) = greek(c).or_else(|| upper_greek(c)) {
                        s.push(g);
                    } else {
                        s.push_str(c);
                    }
                }
                Tok::Cmd(c) => s.push_str(c),
            }
        }
        s
    }

    /// The atoms of tokens `i..end`.
    fn list(&mut self, mut i: usize, end: usize) -> Vec<Node> {
        if self.depth >= MAX_DEPTH {
            return vec![sym(self.raw(i, end), Class::Ord, Style::Upright)];
        }
        self.depth += 1;
        let mut out: Vec<Node> = Vec::new();
        while i < end {
            match &self.toks[i] {
                Tok::Char(' ') | Tok::Char('&') => i += 1,
                Tok::Char('~') => {
                    out.push(Node::Space(1.0 / 3.0));
                    i += 1;
                }
                Tok::Char(c @ ('^' | '_' | '\'')) => {
                    let c = *c;
                    let base = out.pop().unwrap_or(Node::Group(Vec::new()));
                    let (arg, next) = if c == '\'' {
                        (sym("′", Class::Ord, Style::Upright), i + 1)
                    } else {
                        self.arg(i + 1, end)
                    };
                    out.push(attach(base, arg, c == '_'));
                    i = next;
                }
                _ => {
                    let (node, next) = self.atom(i, end);
                    out.extend(node);
                    i = next.max(i + 1);
                }
            }
        }
        self.depth -= 1;
        out
    }

    /// One argument: a braced group, a command, or a single character.
    fn arg(&mut self, mut i: usize, end: usize) -> (Node, usize) {
        while self.tok(i, end) == Some(&Tok::Char(' ')) {
            i += 1;
        }
        match self.tok(i, end) {
            None => (Node::Group(Vec::new()), i),
            Some(Tok::Char('{')) => match self.mate[i] {
                Some(m) if m < end && m > i => (Node::Group(self.list(i + 1, m)), m + 1),
                _ => {
                    self.unbalanced = true;
                    (sym("{", Class::Ord, Style::Upright), i + 1)
                }
            },
            Some(Tok::Char(c)) => (char_node(*c), i + 1),
            Some(Tok::Cmd(_)) => {
                let (node, next) = self.atom(i, end);
                (node.unwrap_or(Node::Group(Vec::new())), next.max(i + 1))
            }
        }
    }

    /// One atom starting at token `i`; the index after it.
    fn atom(&mut self, i: usize, end: usize) -> (Option<Node>, usize) {
        let Some(tok) = self.tok(i, end) else {
            return (None, end);
        };
        let mate = self.mate[i].filter(|&m| m > i && m < end);
        match tok.clone() {
            Tok::Char('{') => match mate {
                Some(m) => (Some(Node::Group(self.list(i + 1, m))), m + 1),
                None => {
                    self.unbalanced = true;
                    (Some(sym("{", Class::Ord, Style::Upright)), i + 1)
                }
            },
            Tok::Char('}') => {
                self.unbalanced = true;
                (Some(sym("}", Class::Ord, Style::Upright)), i + 1)
            }
            Tok::Char(c @ ('(' | '[' | '|')) if mate.is_some() => {
                let m = mate.unwrap_or(i);
                let close = delimiter_char(self.toks.get(m));
                let body = self.list(i + 1, m);
                (
                    Some(Node::Fenced {
                        open: Some(c),
                        body,
                        close,
                    }),
                    m + 1,
                )
            }
            Tok::Char(c) if c.is_ascii_digit() || c == '.' => {
                let mut j = i;
                let mut s = String::new();
                while let Some(Tok::Char(d)) = self.tok(j, end) {
                    if !(d.is_ascii_digit() || *d == '.') {
                        break;
                    }
                    s.push(*d);
                    j += 1;
                }
                (Some(sym(s, Class::Ord, Style::Upright)), j)
            }
            Tok::Char(c) => (Some(char_node(c)), i + 1),
            Tok::Cmd(name) => self.command(&name, i, end, mate),
        }
    }

    fn command(
        &mut self,
        name: &str,
        i: usize,
        end: usize,
        mate: Option<usize>,
    ) -> (Option<Node>, usize) {
        let next = i + 1;
        if let Some(em) = spacing(name) {
            return (Some(Node::Space(em)), next);
        }
        if matches!(name, "|" | "Vert" | "lVert" | "rVert")
            && let Some(m) = mate
        {
            let body = self.list(next, m);
            let fenced = Node::Fenced {
                open: Some('‖'),
                body,
                close: Some('‖'),
            };
            return (Some(fenced), m + 1);
        }
        if let Some(node) = symbol(name) {
            return (Some(node), next);
        }
        if let Some((text, limits)) = function(name) {
            return (Some(op(text, limits)), next);
        }
        let node = match name {
            "sum" => op("∑", true),
            "prod" => op("∏", true),
            "int" => op("∫", false),
            "frac" | "dfrac" | "tfrac" => {
                let (a, n1) = self.arg(next, end);
                let (b, n2) = self.arg(n1, end);
                return (Some(Node::Frac(Box::new(a), Box::new(b))), n2);
            }
            "sqrt" => {
                let mut j = next;
                if self.tok(j, end) == Some(&Tok::Char('['))
                    && let Some(m) = self.mate[j].filter(|&m| m > j && m < end)
                {
                    j = m + 1; // the root's index is not drawn
                }
                let (a, n) = self.arg(j, end);
                return (Some(Node::Sqrt(Box::new(a))), n);
            }
            "bar" | "overline" | "hat" | "widehat" | "tilde" | "widetilde" | "dot" | "vec" => {
                let accent = match name {
                    "bar" | "overline" => Accent::Bar,
                    "hat" | "widehat" => Accent::Hat,
                    "tilde" | "widetilde" => Accent::Tilde,
                    "dot" => Accent::Dot,
                    _ => Accent::Vec,
                };
                let (a, n) = self.arg(next, end);
                return (Some(Node::Accent(accent, Box::new(a))), n);
            }
            "mathrm" | "rm" | "operatorname" | "mathbf" | "boldsymbol" | "bm" | "mathcal"
            | "mathit" | "mathscr" | "mathsf" => {
                let (mut a, n) = self.arg(next, end);
                let style = match name {
                    "mathbf" | "boldsymbol" | "bm" => Style::Bold,
                    "mathcal" | "mathit" | "mathscr" => Style::Italic,
                    _ => Style::Upright,
                };
                restyle(&mut a, style);
                if name == "operatorname"
                    && let Some(text) = letters(&a)
                {
                    a = op(&text, false);
                }
                return (Some(a), n);
            }
            "mathbb" => {
                let (a, n) = self.arg(next, end);
                let node = match letters(&a) {
                    Some(text) => sym(text, Class::Ord, Style::Bold),
                    None => a,
                };
                return (Some(node), n);
            }
            "text" | "textrm" | "mbox" | "textit" | "textup" => {
                return match self.tok(next, end) {
                    Some(Tok::Char('{')) => {
                        match self.mate[next].filter(|&m| m > next && m < end) {
                            Some(m) => (
                                Some(sym(self.raw(next + 1, m), Class::Ord, Style::Upright)),
                                m + 1,
                            ),
                            None => {
                                self.unbalanced = true;
                                (Some(sym("{", Class::Ord, Style::Upright)), next + 1)
                            }
                        }
                    }
                    _ => {
                        let (a, n) = self.arg(next, end);
                        (Some(a), n)
                    }
                };
            }
            "left" => {
                let open = delimiter_char(self.tok(next, end));
                return match mate {
                    Some(m) => {
                        let close = delimiter_char(self.tok(m + 1, end));
                        let body = self.list(next + 1, m);
                        (Some(Node::Fenced { open, body, close }), m + 2)
                    }
                    None => {
                        self.unbalanced = true;
                        (open.map(char_node), next + 1)
                    }
                };
            }
            "right" => {
                self.unbalanced = true;
                let close = delimiter_char(self.tok(next, end));
                return (close.map(char_node), next + 1);
            }
            "big" | "Big" | "bigg" | "Bigg" | "bigl" | "bigr" | "Bigl" | "Bigr" | "biggl"
            | "biggr" | "Biggl" | "Biggr" => {
                let d = delimiter_char(self.tok(next, end));
                return (d.map(char_node), next + 1);
            }
            "displaystyle" | "textstyle" | "limits" | "nolimits" | "\\" | "strut" => {
                return (None, next);
            }
            _ => {
                self.unknown.push(name.to_string());
                sym(name, Class::Ord, Style::Upright)
            }
        };
        (Some(node), next)
    }
}

/// Put `arg` as the subscript (or superscript) of `base`.
fn attach(base: Node, arg: Node, is_sub: bool) -> Node {
    match base {
        Node::Scripts { base, sub, sup }
            if (is_sub && sub.is_none()) || (!is_sub && sup.is_none()) =>
        {
            if is_sub {
                Node::Scripts {
                    base,
                    sub: Some(Box::new(arg)),
                    sup,
                }
            } else {
                Node::Scripts {
                    base,
                    sub,
                    sup: Some(Box::new(arg)),
                }
            }
        }
        base => {
            let arg = Some(Box::new(arg));
            let (sub, sup) = if is_sub { (arg, None) } else { (None, arg) };
            Node::Scripts {
                base: Box::new(base),
                sub,
                sup,
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Plain text
// ------------------------------------------------------------------------------------------

fn sub_char(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => char::from_u32(0x2080 + (c as u32 - '0' as u32))?,
        '+' => '₊',
        '−' | '-' => '₋',
        '=' => '₌',
        '(' => '₍',
        ')' => '₎',
        'a' => 'ₐ',
        'e' => 'ₑ',
        'o' => 'ₒ',
        'x' => 'ₓ',
        'h' => 'ₕ',
        'k' => 'ₖ',
        'l' => 'ₗ',
        'm' => 'ₘ',
        'n' => 'ₙ',
        'p' => 'ₚ',
        's' => 'ₛ',
        't' => 'ₜ',
        'i' => 'ᵢ',
        'j' => 'ⱼ',
        'r' => 'ᵣ',
        'u' => 'ᵤ',
        'v' => 'ᵥ',
        'β' => 'ᵦ',
        'γ' => 'ᵧ',
        'ρ' => 'ᵨ',
        'φ' => 'ᵩ',
        'χ' => 'ᵪ',
        _ => return None,
    })
}

fn sup_char(c: char) -> Option<char> {
    Some(match c {
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '4'..='9' => char::from_u32(0x2070 + (c as u32 - '0' as u32))?,
        '+' => '⁺',
        '−' | '-' => '⁻',
        '=' => '⁼',
        '(' => '⁽',
        ')' => '⁾',
        'n' => 'ⁿ',
        'i' => 'ⁱ',
        'a' => 'ᵃ',
        'b' => 'ᵇ',
        'c' => 'ᶜ',
        'd' => 'ᵈ',
        'e' => 'ᵉ',
        'f' => 'ᶠ',
        'g' => 'ᵍ',
        'h' => 'ʰ',
        'j' => 'ʲ',
        'k' => 'ᵏ',
        'l' => 'ˡ',
        'm' => 'ᵐ',
        'o' => 'ᵒ',
        'p' => 'ᵖ',
        'r' => 'ʳ',
        's' => 'ˢ',
        't' => 'ᵗ',
        'u' => 'ᵘ',
        'v' => 'ᵛ',
        'w' => 'ʷ',
        'x' => 'ˣ',
        'y' => 'ʸ',
        'z' => 'ᶻ',
        'A' => 'ᴬ',
        'B' => 'ᴮ',
        'D' => 'ᴰ',
        'E' => 'ᴱ',
        'G' => 'ᴳ',
        'H' => 'ᴴ',
        'I' => 'ᴵ',
        'J' => 'ᴶ',
        'K' => 'ᴷ',
        'L' => 'ᴸ',
        'M' => 'ᴹ',
        'N' => 'ᴺ',
        'O' => 'ᴼ',
        'P' => 'ᴾ',
        'R' => 'ᴿ',
        'T' => 'ᵀ',
        'U' => 'ᵁ',
        'V' => 'ⱽ',
        'W' => 'ᵂ',
        'β' => 'ᵝ',
        'γ' => 'ᵞ',
        'δ' => 'ᵟ',
        'θ' => 'ᶿ',
        'φ' => 'ᵠ',
        'χ' => 'ᵡ',
        _ => return None,
    })
}

/// `s` in Unicode sub- or superscript characters, or `mark` and `s` (bracketed if longer
/// than one character) where a character has no such form.
fn script_text(s: &str, mark: char, map: fn(char) -> Option<char>) -> String {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(mapped) = s.chars().map(map).collect::<Option<String>>() {
        return mapped;
    }
    if s.chars().count() == 1 {
        format!("{mark}{s}")
    } else {
        format!("{mark}({s})")
    }
}

/// One token (a letter with its accents and scripts, a number): needs no brackets.
fn is_simple(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "+−-=/,;·×(".contains(c))
}

fn plain_list(nodes: &[Node]) -> String {
    let mut s = String::new();
    let mut prev: Option<Class> = None;
    for (k, node) in nodes.iter().enumerate() {
        let text = plain_node(node);
        let class = match node {
            Node::Sym { class, .. } => Some(*class),
            Node::Scripts { base, .. } => match base.as_ref() {
                Node::Sym { class, .. } => Some(*class),
                _ => None,
            },
            _ => None,
        };
        let unary = class == Some(Class::Bin)
            && matches!(
                prev,
                None | Some(Class::Bin | Class::Op | Class::Rel | Class::Open | Class::Punct)
            );
        match class {
            Some(Class::Rel) => s.push_str(&format!(" {text} ")),
            Some(Class::Bin) if !unary => s.push_str(&format!(" {text} ")),
            Some(Class::Punct) => s.push_str(&format!("{text} ")),
            Some(Class::Op) => {
                s.push_str(&text);
                if k + 1 < nodes.len() {
                    s.push(' ');
                }
            }
            _ => s.push_str(&text),
        }
        if !matches!(node, Node::Space(_)) {
            prev = Some(class.unwrap_or(Class::Ord));
        }
    }
    s
}

fn plain_node(node: &Node) -> String {
    match node {
        Node::Sym { text, style, .. } => {
            if *style == Style::Bold && text == "E" {
                "𝔼".into()
            } else {
                text.clone()
            }
        }
        Node::Group(v) => plain_list(v),
        Node::Scripts { base, sub, sup } => {
            let mut s = plain_node(base);
            if let Some(b) = sub {
                s.push_str(&script_text(&plain_node(b), '_', sub_char));
            }
            if let Some(p) = sup {
                s.push_str(&script_text(&plain_node(p), '^', sup_char));
            }
            s
        }
        Node::Frac(a, b) => {
            let (a, b) = (plain_node(a), plain_node(b));
            let wrap = |x: String| if is_simple(&x) { x } else { format!("({x})") };
            format!("{}/{}", wrap(a), wrap(b))
        }
        Node::Sqrt(b) => {
            let b = plain_node(b);
            if is_simple(&b) {
                format!("√{b}")
            } else {
                format!("√({b})")
            }
        }
        Node::Accent(a, b) => {
            let b = plain_node(b);
            let mark = match a {
                Accent::Bar => '\u{0304}',
                Accent::Hat => '\u{0302}',
                Accent::Tilde => '\u{0303}',
                Accent::Dot => '\u{0307}',
                Accent::Vec => '\u{20D7}',
            };
            if b.chars().count() == 1 {
                format!("{b}{mark}")
            } else {
                format!("({b}){mark}")
            }
        }
        Node::Fenced { open, body, close } => {
            let mut s = String::new();
            s.extend(*open);
            s.push_str(&plain_list(body));
            s.extend(*close);
            s
        }
        Node::Space(em) => {
            if *em > 0.2 {
                " ".into()
            } else {
                String::new()
            }
        }
    }
}

/// The formula as plain Unicode text (sub- and superscript characters where Unicode has
/// them, `_` and `^` where not): for accessibility labels and tooltips.
pub fn plain(src: &str) -> String {
    let text = plain_list(&parse(src).nodes);
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    out
}

// ------------------------------------------------------------------------------------------
// Layout
// ------------------------------------------------------------------------------------------

/// One thing to draw, relative to the formula's baseline at its left edge (y down).
#[derive(Clone, Debug)]
pub enum Item {
    /// Text.
    Text {
        /// The galley's top-left corner.
        pos: Pos2,
        /// The laid-out text (colour: a placeholder replaced when painting).
        galley: Arc<Galley>,
        /// The text.
        text: String,
        /// Its font size (points).
        size: f32,
        /// Its baseline's y.
        baseline: f32,
        /// Drawn twice for a faux bold.
        bold: bool,
    },
    /// A filled rectangle (a fraction bar).
    Rule(Rect),
    /// A polyline (radicals, accents, tall delimiters).
    Stroke {
        /// Its points.
        points: Vec<Pos2>,
        /// Its width (points).
        width: f32,
    },
}

impl Item {
    fn shift(&mut self, d: Vec2) {
        match self {
            Item::Text { pos, baseline, .. } => {
                *pos += d;
                *baseline += d.y;
            }
            Item::Rule(r) => *r = r.translate(d),
            Item::Stroke { points, .. } => points.iter_mut().for_each(|p| *p += d),
        }
    }
}

/// A laid-out formula: its box around the baseline (y = 0) and what to draw.
#[derive(Clone, Debug)]
pub struct Laid {
    /// Width (points).
    pub width: f32,
    /// Height above the baseline (points).
    pub ascent: f32,
    /// Depth below the baseline (points).
    pub descent: f32,
    /// The math axis (the fraction bar's height) above the baseline (points).
    pub axis: f32,
    /// The font size it was laid out at (points).
    pub size: f32,
    /// What to draw.
    pub items: Vec<Item>,
    /// Commands that were not known (drawn as their names).
    pub unknown: Vec<String>,
    /// The [`plain`] text (the widget's accessibility label).
    pub plain: String,
}

impl Laid {
    /// Every text item: (text, font size, baseline y, left x).
    pub fn texts(&self) -> Vec<(String, f32, f32, f32)> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Text {
                    text,
                    size,
                    baseline,
                    pos,
                    ..
                } => Some((text.clone(), *size, *baseline, pos.x)),
                _ => None,
            })
            .collect()
    }

    /// The text item whose text is `text` (the first).
    pub fn text(&self, text: &str) -> Option<(f32, f32, f32)> {
        self.texts()
            .into_iter()
            .find(|t| t.0 == text)
            .map(|t| (t.1, t.2, t.3))
    }

    /// The total height (points).
    pub fn height(&self) -> f32 {
        self.ascent + self.descent
    }
}

#[derive(Clone, Debug, Default)]
struct Bx {
    w: f32,
    asc: f32,
    desc: f32,
    items: Vec<Item>,
    /// Extra room an italic glyph's slant needs on the right (for a superscript).
    italic: f32,
    /// Whether this is one italic letter (its accent is shifted right).
    slanted: bool,
}

impl Bx {
    fn shift(mut self, d: Vec2) -> Self {
        self.items.iter_mut().for_each(|i| i.shift(d));
        self
    }
}

#[derive(Clone, Copy)]
struct Metrics {
    axis: f32,
    x_height: f32,
    rule: f32,
    paren_asc: f32,
    paren_desc: f32,
}

#[derive(Clone, Copy)]
struct St {
    size: f32,
    root: f32,
    display: bool,
}

impl St {
    fn script(self) -> St {
        St {
            size: (self.size * SCRIPT_SCALE).max(self.root * MIN_SCRIPT_SCALE),
            display: false,
            ..self
        }
    }

    fn frac(self) -> St {
        if self.display {
            St {
                size: self.size * DISPLAY_FRAC_SCALE,
                display: false,
                ..self
            }
        } else {
            self.script()
        }
    }

    fn inline(self) -> St {
        St {
            display: false,
            ..self
        }
    }
}

struct Layouter<'f, 'a> {
    fonts: &'f mut FontsView<'a>,
    ppp: f32,
    metrics: HashMap<u32, Metrics>,
}

/// The vertical ink of a galley relative to its baseline: (baseline from the top, ascent,
/// descent), zero where it has no ink.
fn ink(galley: &Galley) -> (f32, f32, f32) {
    let baseline = galley
        .rows
        .first()
        .map(|r| r.pos.y + r.glyphs.first().map_or(r.size.y * 0.8, |g| g.pos.y))
        .unwrap_or(0.0);
    let b = galley.mesh_bounds;
    if b.is_positive() && b.is_finite() {
        (baseline, baseline - b.min.y, b.max.y - baseline)
    } else {
        (baseline, 0.0, 0.0)
    }
}

/// ASCII stand-ins for symbols no default font has.
fn fallback(c: char) -> Option<&'static str> {
    Some(match c {
        '⟨' => "<",
        '⟩' => ">",
        '≔' => ":=",
        '⋯' => "…",
        '⊙' => "⊙",
        '∗' => "*",
        '⌊' | '⌈' => "[",
        '⌋' | '⌉' => "]",
        _ => return None,
    })
}

impl Layouter<'_, '_> {
    fn galley(&mut self, text: &str, size: f32, style: Style) -> (Arc<Galley>, String) {
        let prop = FontId::new(size, FontFamily::Proportional);
        let mono = FontId::new(size, FontFamily::Monospace);
        let mut font = prop.clone();
        let mut shown = text.to_string();
        if !self.fonts.has_glyphs(&prop, text) {
            if self.fonts.has_glyphs(&mono, text) {
                font = mono;
            } else {
                shown = text
                    .chars()
                    .map(|c| {
                        if self.fonts.has_glyph(&prop, c) {
                            c.to_string()
                        } else {
                            fallback(c).unwrap_or("?").to_string()
                        }
                    })
                    .collect();
            }
        }
        let format = TextFormat {
            font_id: font,
            color: Color32::PLACEHOLDER,
            italics: style == Style::Italic,
            ..Default::default()
        };
        let job = LayoutJob::single_section(shown.clone(), format);
        (self.fonts.layout_job(job), shown)
    }

    fn metrics(&mut self, size: f32) -> Metrics {
        if let Some(m) = self.metrics.get(&size.to_bits()) {
            return *m;
        }
        let (x, _) = self.galley("x", size, Style::Upright);
        let (_, x_height, _) = ink(&x);
        let (plus, _) = self.galley("+", size, Style::Upright);
        let (_, pa, pd) = ink(&plus);
        let (paren, _) = self.galley("(", size, Style::Upright);
        let (_, paren_asc, paren_desc) = ink(&paren);
        let m = Metrics {
            axis: ((pa - pd) / 2.0).max(size * 0.2),
            x_height: x_height.max(size * 0.3),
            rule: (size * 0.055).max(1.0 / self.ppp),
            paren_asc: paren_asc.max(size * 0.6),
            paren_desc: paren_desc.max(size * 0.1),
        };
        self.metrics.insert(size.to_bits(), m);
        m
    }

    fn text(&mut self, text: &str, size: f32, style: Style) -> Bx {
        let (galley, shown) = self.galley(text, size, style);
        let (baseline, asc, desc) = ink(&galley);
        let advance = galley.rect.width();
        let bold = style == Style::Bold;
        let bold_dx = if bold {
            (size * 0.05).max(1.0 / self.ppp)
        } else {
            0.0
        };
        let italic = if style == Style::Italic {
            (galley.mesh_bounds.max.x - advance).clamp(0.0, size * 0.3)
        } else {
            0.0
        };
        Bx {
            w: advance + bold_dx + italic * 0.35,
            asc: asc.max(0.0),
            desc: desc.max(0.0),
            items: vec![Item::Text {
                pos: pos2(0.0, -baseline),
                galley,
                text: shown,
                size,
                baseline: 0.0,
                bold,
            }],
            italic: italic * 0.65,
            slanted: style == Style::Italic && text.chars().count() == 1,
        }
    }

    /// A large operator: bigger on the formula's own line, centred on the axis.
    fn big_op(&mut self, text: &str, st: St) -> Bx {
        let m = self.metrics(st.size);
        let size = if st.display {
            st.size * 1.6
        } else {
            st.size * 1.15
        };
        let b = self.text(text, size, Style::Upright);
        let centre = (b.asc - b.desc) / 2.0;
        let dy = centre - m.axis; // move down by this
        let (asc, desc) = (b.asc - dy, b.desc + dy);
        Bx {
            asc,
            desc: desc.max(0.0),
            ..b.shift(vec2(0.0, dy))
        }
    }

    fn node(&mut self, node: &Node, st: St) -> Bx {
        match node {
            Node::Sym {
                text, class, style, ..
            } => {
                if *class == Class::Op && !text.chars().next().is_some_and(char::is_alphabetic) {
                    self.big_op(text, st)
                } else {
                    self.text(text, st.size, *style)
                }
            }
            Node::Group(v) => {
                let mut b = self.hlist(v, st);
                if v.len() == 1
                    && let Node::Sym { style, .. } = &v[0]
                {
                    b.slanted = *style == Style::Italic;
                } else {
                    b.italic = 0.0;
                }
                b
            }
            Node::Scripts { base, sub, sup } => {
                self.scripts(base, sub.as_deref(), sup.as_deref(), st)
            }
            Node::Frac(a, b) => self.frac(a, b, st),
            Node::Sqrt(b) => self.sqrt(b, st),
            Node::Accent(a, b) => self.accent(*a, b, st),
            Node::Fenced { open, body, close } => self.fenced(*open, body, *close, st),
            Node::Space(em) => Bx {
                w: em * st.size,
                ..Default::default()
            },
        }
    }

    fn hlist(&mut self, nodes: &[Node], st: St) -> Bx {
        let classes = classes(nodes);
        let mu = st.size / 18.0;
        let script = st.size < st.root * 0.8;
        let mut out = Bx::default();
        let mut prev: Option<Class> = None;
        let mut last_italic = 0.0;
        for (node, class) in nodes.iter().zip(&classes) {
            let b = self.node(node, st);
            if let Some((left, _)) = class
                && let Some(p) = prev
            {
                let gap = space(p, *left, script);
                if left_is_upright(node) {
                    out.w += last_italic * 0.5;
                }
                out.w += gap as f32 * mu;
            }
            let x = out.w;
            out.w += b.w;
            out.asc = out.asc.max(b.asc);
            out.desc = out.desc.max(b.desc);
            last_italic = b.italic;
            out.italic = b.italic;
            out.items.extend(b.shift(vec2(x, 0.0)).items);
            if let Some((_, right)) = class {
                prev = Some(*right);
            }
        }
        out.slanted = false;
        out
    }

    fn scripts(&mut self, base: &Node, sub: Option<&Node>, sup: Option<&Node>, st: St) -> Bx {
        let m = self.metrics(st.size);
        let ss = st.script();
        let limits = st.display
            && matches!(
                base,
                Node::Sym {
                    class: Class::Op,
                    limits: true,
                    ..
                }
            );
        let b = self.node(base, st);
        let sub_b = sub.map(|n| self.hlist(std::slice::from_ref(n), ss));
        let sup_b = sup.map(|n| self.hlist(std::slice::from_ref(n), ss));
        if limits {
            return self.limits(b, sub_b, sup_b, st);
        }
        let sm = self.metrics(ss.size);
        let mut out = Bx {
            w: b.w,
            asc: b.asc,
            desc: b.desc,
            italic: 0.0,
            slanted: false,
            items: Vec::new(),
        };
        let mut up = 0.0;
        let mut down = 0.0;
        if let Some(p) = &sup_b {
            up = (b.asc - sm.x_height * 0.9)
                .max(st.size * 0.36)
                .max(p.desc + m.x_height * 0.25);
        }
        if let Some(q) = &sub_b {
            let min = if sup_b.is_some() {
                st.size * 0.24
            } else {
                st.size * 0.16
            };
            down = (b.desc + sm.x_height * 0.2)
                .max(min)
                .max(q.asc - m.x_height * 0.8);
        }
        if let (Some(p), Some(q)) = (&sup_b, &sub_b) {
            let gap = (up - p.desc) - (q.asc - down);
            let need = 3.0 * m.rule + st.size * 0.05;
            if gap < need {
                down += need - gap;
            }
        }
        let x = b.w;
        let mut w = b.w;
        let items_base = b.items.clone();
        if let Some(q) = sub_b {
            w = w.max(x + q.w);
            out.desc = out.desc.max(q.desc + down);
            out.asc = out.asc.max(q.asc - down);
            out.items.extend(q.shift(vec2(x, down)).items);
        }
        if let Some(p) = sup_b {
            let px = x + b.italic;
            w = w.max(px + p.w);
            out.asc = out.asc.max(p.asc + up);
            out.items.extend(p.shift(vec2(px, -up)).items);
        }
        out.items.splice(0..0, items_base);
        out.w = w + st.size * 0.04;
        out
    }

    fn limits(&mut self, b: Bx, sub: Option<Bx>, sup: Option<Bx>, st: St) -> Bx {
        let gap = st.size * 0.2;
        let w =
            b.w.max(sub.as_ref().map_or(0.0, |q| q.w))
                .max(sup.as_ref().map_or(0.0, |p| p.w));
        let mut out = Bx {
            w,
            asc: b.asc,
            desc: b.desc,
            ..Default::default()
        };
        let (bw, basc, bdesc) = (b.w, b.asc, b.desc);
        out.items.extend(b.shift(vec2((w - bw) / 2.0, 0.0)).items);
        if let Some(p) = sup {
            let y = -(basc + gap + p.desc);
            out.asc = basc + gap + p.desc + p.asc;
            let pw = p.w;
            out.items.extend(p.shift(vec2((w - pw) / 2.0, y)).items);
        }
        if let Some(q) = sub {
            let y = bdesc + gap + q.asc;
            out.desc = y + q.desc;
            let qw = q.w;
            out.items.extend(q.shift(vec2((w - qw) / 2.0, y)).items);
        }
        out
    }

    fn frac(&mut self, a: &Node, b: &Node, st: St) -> Bx {
        let m = self.metrics(st.size);
        let fs = st.frac();
        let num = self.hlist(std::slice::from_ref(a), fs);
        let den = self.hlist(std::slice::from_ref(b), fs);
        let pad = st.size * 0.1;
        let gap = (m.rule * 2.0).max(st.size * 0.09);
        let w = num.w.max(den.w) + 2.0 * pad;
        let bar_top = -m.axis - m.rule / 2.0;
        let bar_bottom = -m.axis + m.rule / 2.0;
        let num_y = bar_top - gap - num.desc;
        let den_y = bar_bottom + gap + den.asc;
        let mut out = Bx {
            w,
            asc: -(num_y - num.asc),
            desc: den_y + den.desc,
            ..Default::default()
        };
        let (nw, dw) = (num.w, den.w);
        out.items
            .extend(num.shift(vec2((w - nw) / 2.0, num_y)).items);
        out.items
            .extend(den.shift(vec2((w - dw) / 2.0, den_y)).items);
        out.items.push(Item::Rule(Rect::from_min_max(
            pos2(pad * 0.4, bar_top),
            pos2(w - pad * 0.4, bar_bottom),
        )));
        out
    }

    fn sqrt(&mut self, body: &Node, st: St) -> Bx {
        let m = self.metrics(st.size);
        let b = self.hlist(std::slice::from_ref(body), st.inline());
        let gap = m.rule + m.x_height * 0.25;
        let line_y = -(b.asc.max(m.x_height) + gap + m.rule / 2.0);
        let bottom = b.desc.max(st.size * 0.05);
        let h = bottom - line_y;
        let sw = st.size * 0.45 + h * 0.08;
        let x_body = sw + st.size * 0.06;
        let w = x_body + b.w + st.size * 0.08;
        let stroke = m.rule;
        let mut out = Bx {
            w: w + st.size * 0.04,
            asc: -line_y + stroke,
            desc: bottom + stroke * 0.5,
            ..Default::default()
        };
        let hook = vec![
            pos2(0.0, line_y + h * 0.62),
            pos2(sw * 0.22, line_y + h * 0.52),
        ];
        let down = vec![pos2(sw * 0.22, line_y + h * 0.52), pos2(sw * 0.5, bottom)];
        let up = vec![pos2(sw * 0.5, bottom), pos2(sw, line_y), pos2(w, line_y)];
        out.items.push(Item::Stroke {
            points: hook,
            width: stroke,
        });
        out.items.push(Item::Stroke {
            points: down,
            width: stroke * 1.8,
        });
        out.items.push(Item::Stroke {
            points: up,
            width: stroke,
        });
        out.items.extend(b.shift(vec2(x_body, 0.0)).items);
        out
    }

    fn accent(&mut self, accent: Accent, body: &Node, st: St) -> Bx {
        let m = self.metrics(st.size);
        let b = self.node(body, st);
        let skew = if b.slanted { st.size * 0.07 } else { 0.0 };
        let cx = (b.w - b.italic * 0.3) / 2.0 + skew;
        let top = b.asc.max(m.x_height);
        let gap = st.size * 0.08;
        let stroke = m.rule;
        let narrow = b.w < st.size * 0.8;
        let (points, height) = match accent {
            Accent::Bar => {
                let hw = (b.w * 0.42).max(st.size * 0.2);
                let y = -(top + gap + stroke / 2.0);
                (vec![pos2(cx - hw, y), pos2(cx + hw, y)], gap + stroke)
            }
            Accent::Hat => {
                let hw = if narrow { st.size * 0.2 } else { b.w * 0.45 };
                let hh = st.size * 0.13;
                let y = -(top + gap);
                (
                    vec![pos2(cx - hw, y), pos2(cx, y - hh), pos2(cx + hw, y)],
                    gap + hh + stroke,
                )
            }
            Accent::Tilde => {
                let hw = if narrow { st.size * 0.22 } else { b.w * 0.45 };
                let amp = st.size * 0.045;
                let y = -(top + gap + amp + stroke / 2.0);
                let points = (0..=16)
                    .map(|k| {
                        let u = k as f32 / 16.0;
                        let x = cx - hw + 2.0 * hw * u;
                        pos2(x, y - amp * (u * std::f32::consts::TAU).sin())
                    })
                    .collect();
                (points, gap + 2.0 * amp + stroke)
            }
            Accent::Dot => {
                let r = (st.size * 0.05).max(1.0 / self.ppp);
                let y = -(top + gap + r);
                let points = (0..=8)
                    .map(|k| {
                        let a = k as f32 / 8.0 * std::f32::consts::TAU;
                        pos2(cx + r * 0.5 * a.cos(), y + r * 0.5 * a.sin())
                    })
                    .collect();
                (points, gap + 2.0 * r)
            }
            Accent::Vec => {
                let hw = if narrow { st.size * 0.22 } else { b.w * 0.45 };
                let y = -(top + gap + st.size * 0.06);
                let head = st.size * 0.08;
                (
                    vec![
                        pos2(cx - hw, y),
                        pos2(cx + hw, y),
                        pos2(cx + hw - head, y - head),
                        pos2(cx + hw, y),
                        pos2(cx + hw - head, y + head),
                    ],
                    gap + st.size * 0.06 + head,
                )
            }
        };
        let width = if accent == Accent::Dot {
            (st.size * 0.05).max(1.0 / self.ppp)
        } else {
            stroke
        };
        let mut out = Bx {
            asc: (top + height).max(b.asc),
            ..b
        };
        out.items.push(Item::Stroke { points, width });
        out
    }

    fn fenced(&mut self, open: Option<char>, body: &[Node], close: Option<char>, st: St) -> Bx {
        let m = self.metrics(st.size);
        let b = self.hlist(body, st);
        let vector = |c: Option<char>| matches!(c, Some('|' | '‖' | '⟨' | '⟩'));
        // Plain-size delimiters unless the content clearly overflows them (a subscript's
        // small overshoot does not count; a fraction or a limit does).
        let fits = b.asc <= m.paren_asc + st.size * 0.12 && b.desc <= m.paren_desc + st.size * 0.25;
        let glyphs = fits && !vector(open) && !vector(close);
        let half = if glyphs {
            0.0
        } else {
            ((b.asc - m.axis).max(b.desc + m.axis) + st.size * 0.08)
                .max((m.paren_asc + m.paren_desc) / 2.0)
        };
        let mut out = Bx::default();
        let put = |me: &mut Self, out: &mut Bx, d: Option<char>, left: bool| {
            let Some(d) = d else {
                out.w += st.size * 0.1;
                return;
            };
            let db = if glyphs {
                me.text(&d.to_string(), st.size, Style::Upright)
            } else {
                me.delimiter(d, left, -m.axis - half, -m.axis + half, st)
            };
            let x = out.w;
            out.w += db.w;
            out.asc = out.asc.max(db.asc);
            out.desc = out.desc.max(db.desc);
            out.items.extend(db.shift(vec2(x, 0.0)).items);
        };
        put(self, &mut out, open, true);
        let x = out.w;
        out.w += b.w;
        out.asc = out.asc.max(b.asc);
        out.desc = out.desc.max(b.desc);
        let italic = b.italic;
        out.items.extend(b.shift(vec2(x, 0.0)).items);
        if close.is_some_and(|c| matches!(c, ')' | ']' | '|' | '‖' | '}')) {
            out.w += italic * 0.5;
        }
        put(self, &mut out, close, false);
        out
    }

    /// A delimiter from `top` to `bottom` (y down): drawn for ( ) [ ] | ‖ ⟨ ⟩, a scaled
    /// glyph for the rest.
    fn delimiter(&mut self, d: char, left: bool, top: f32, bottom: f32, st: St) -> Bx {
        let m = self.metrics(st.size);
        let h = bottom - top;
        let stroke = m.rule * 1.15;
        let mut out = Bx {
            asc: -top,
            desc: bottom.max(0.0),
            ..Default::default()
        };
        let line = |points: Vec<Pos2>| Item::Stroke {
            points,
            width: stroke,
        };
        match d {
            '(' | ')' => {
                let w = st.size * 0.22 + h * 0.05;
                let bulge = w * 0.55;
                let n = 20;
                let points = (0..=n)
                    .map(|k| {
                        let u = k as f32 / n as f32;
                        let dx = bulge * (std::f32::consts::PI * u).sin();
                        let x = if d == '(' { w * 0.8 - dx } else { w * 0.2 + dx };
                        pos2(x, top + h * u)
                    })
                    .collect();
                out.items.push(line(points));
                out.w = w;
            }
            '[' | ']' => {
                let w = st.size * 0.3;
                let (a, b) = if d == '[' {
                    (w * 0.75, w * 0.3)
                } else {
                    (w * 0.25, w * 0.7)
                };
                out.items.push(line(vec![
                    pos2(a, top),
                    pos2(b, top),
                    pos2(b, bottom),
                    pos2(a, bottom),
                ]));
                out.w = w;
            }
            '|' => {
                let w = st.size * 0.22;
                out.items
                    .push(line(vec![pos2(w / 2.0, top), pos2(w / 2.0, bottom)]));
                out.w = w;
            }
            '‖' => {
                let w = st.size * 0.34;
                let s = st.size * 0.065;
                out.items.push(line(vec![
                    pos2(w / 2.0 - s, top),
                    pos2(w / 2.0 - s, bottom),
                ]));
                out.items.push(line(vec![
                    pos2(w / 2.0 + s, top),
                    pos2(w / 2.0 + s, bottom),
                ]));
                out.w = w;
            }
            '⟨' | '⟩' => {
                let w = st.size * 0.3 + h * 0.05;
                let (a, b) = if d == '⟨' {
                    (w * 0.8, w * 0.2)
                } else {
                    (w * 0.2, w * 0.8)
                };
                out.items.push(line(vec![
                    pos2(a, top),
                    pos2(b, (top + bottom) / 2.0),
                    pos2(a, bottom),
                ]));
                out.w = w;
            }
            _ => {
                // Scale the glyph to the height, centred between top and bottom.
                let normal = m.paren_asc + m.paren_desc;
                let size = (st.size * h / normal).min(st.size * 4.0);
                let g = self.text(&d.to_string(), size, Style::Upright);
                let centre = (g.desc - g.asc) / 2.0;
                let dy = (top + bottom) / 2.0 - centre;
                let (gw, gasc, gdesc) = (g.w, g.asc, g.desc);
                out.items.extend(g.shift(vec2(0.0, dy)).items);
                out.w = gw;
                out.asc = out.asc.max(gasc - dy);
                out.desc = out.desc.max(gdesc + dy);
            }
        }
        let _ = left;
        out
    }
}

fn left_is_upright(node: &Node) -> bool {
    match node {
        Node::Sym { style, .. } => *style != Style::Italic,
        Node::Scripts { base, .. } => left_is_upright(base),
        Node::Group(v) => v.first().is_none_or(left_is_upright),
        _ => true,
    }
}

/// Each node's (left, right) spacing class, after TeX's rules turning a binary operator
/// with no left operand into an ordinary symbol; `None` for space.
fn classes(nodes: &[Node]) -> Vec<Option<(Class, Class)>> {
    fn of(node: &Node) -> Option<(Class, Class)> {
        match node {
            Node::Sym { class, .. } => Some((*class, *class)),
            Node::Scripts { base, .. } => of(base),
            Node::Frac(..) => Some((Class::Inner, Class::Inner)),
            Node::Fenced { .. } => Some((Class::Open, Class::Close)),
            Node::Space(_) => None,
            _ => Some((Class::Ord, Class::Ord)),
        }
    }
    let mut out: Vec<Option<(Class, Class)>> = nodes.iter().map(of).collect();
    let mut prev: Option<usize> = None;
    for k in 0..out.len() {
        let Some((left, _)) = out[k] else { continue };
        if left == Class::Bin {
            let prev_class = prev.and_then(|p| out[p]).map(|c| c.1);
            if matches!(
                prev_class,
                None | Some(Class::Bin | Class::Op | Class::Rel | Class::Open | Class::Punct)
            ) {
                out[k] = Some((Class::Ord, Class::Ord));
            }
        }
        if matches!(left, Class::Rel | Class::Close | Class::Punct)
            && let Some(p) = prev
            && out[p].is_some_and(|c| c.1 == Class::Bin)
        {
            out[p] = Some((Class::Ord, Class::Ord));
        }
        prev = Some(k);
    }
    if let Some(p) = prev
        && out[p].is_some_and(|c| c.1 == Class::Bin)
    {
        out[p] = Some((Class::Ord, Class::Ord));
    }
    out
}

/// TeX's spacing between neighbours, in mu (1/18 em): 3 thin, 4 medium, 5 thick; the
/// medium and thick spaces (and some thin ones) vanish in scripts.
fn space(left: Class, right: Class, script: bool) -> u8 {
    use Class::*;
    // (space, also in scripts)
    let (mu, in_script) = match (left, right) {
        (Ord, Op) | (Op, Ord) | (Op, Op) | (Close, Op) | (Inner, Op) => (3, true),
        (Ord, Inner)
        | (Close, Inner)
        | (Inner, Ord)
        | (Inner, Open)
        | (Inner, Punct)
        | (Inner, Inner)
        | (Punct, _) => (3, false),
        (Ord, Bin) | (Bin, _) | (Close, Bin) | (Inner, Bin) | (Op, Bin) => (4, false),
        (Ord | Op | Close | Inner, Rel) | (Rel, Ord | Op | Open | Inner | Bin) => (5, false),
        _ => (0, true),
    };
    if script && !in_script { 0 } else { mu }
}

/// Lay out `src` at font size `size` (points) without the cache.
pub fn layout_uncached(fonts: &mut FontsView<'_>, src: &str, size: f32, ppp: f32) -> Laid {
    let parsed = parse(src);
    let size = if size.is_finite() {
        size.clamp(4.0, 200.0)
    } else {
        15.0
    };
    let mut l = Layouter {
        fonts,
        ppp: if ppp.is_finite() && ppp > 0.0 {
            ppp
        } else {
            1.0
        },
        metrics: HashMap::new(),
    };
    let st = St {
        size,
        root: size,
        display: true,
    };
    let b = l.hlist(&parsed.nodes, st);
    let m = l.metrics(size);
    Laid {
        width: b.w,
        ascent: b.asc,
        descent: b.desc,
        axis: m.axis,
        size,
        items: b.items,
        unknown: parsed.unknown,
        plain: plain(src),
    }
}

// ------------------------------------------------------------------------------------------
// Cache and widget
// ------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    src: String,
    size: u32,
    ppp: u32,
}

/// Laid-out formulas in egui's memory, with the pass each was last used in.
#[derive(Clone, Default)]
struct FormulaCache {
    entries: HashMap<Key, (Arc<Laid>, u64)>,
    /// The font atlas fill when last seen: it only drops when the atlas was cleared, which
    /// leaves cached galleys pointing at glyphs that are gone.
    fill: f32,
    options: Option<egui::epaint::text::TextOptions>,
}

/// Entries above this are dropped unless used in this pass or the last.
const CACHE_CAP: usize = 400;

fn cache_id() -> Id {
    Id::unique("elbo_lab::app::formula::cache")
}

/// The layout of `src` at font size `size` (points), from the cache when it is there.
pub fn layout(ctx: &egui::Context, src: &str, size: f32) -> Arc<Laid> {
    let ppp = ctx.pixels_per_point();
    let pass = ctx.cumulative_pass_nr();
    let key = Key {
        src: src.to_owned(),
        size: size.to_bits(),
        ppp: ppp.to_bits(),
    };
    let (fill, options) = ctx.fonts(|f| (f.font_atlas_fill_ratio(), *f.options()));
    let hit = ctx.data_mut(|d| {
        let cache = d.get_temp_mut_or_default::<FormulaCache>(cache_id());
        if fill < cache.fill || cache.options != Some(options) {
            cache.entries.clear();
        }
        cache.fill = fill;
        cache.options = Some(options);
        cache.entries.get_mut(&key).map(|(laid, used)| {
            *used = pass;
            laid.clone()
        })
    });
    if let Some(laid) = hit {
        return laid;
    }
    let laid = Arc::new(ctx.fonts_mut(|f| layout_uncached(f, src, size, ppp)));
    ctx.data_mut(|d| {
        let cache = d.get_temp_mut_or_default::<FormulaCache>(cache_id());
        if cache.entries.len() >= CACHE_CAP {
            cache.entries.retain(|_, (_, used)| *used + 1 >= pass);
        }
        cache.entries.insert(key, (laid.clone(), pass));
    });
    laid
}

/// How many formulas are in the cache (for tests).
pub fn cached_count(ctx: &egui::Context) -> usize {
    ctx.data_mut(|d| {
        d.get_temp_mut_or_default::<FormulaCache>(cache_id())
            .entries
            .len()
    })
}

/// The default formula size for a ui: the Body text size times [`SCALE_OVER_BODY`], at
/// least 14 points.
pub fn base_size(ui: &Ui) -> f32 {
    let body = egui::TextStyle::Body.resolve(ui.style()).size;
    (body * SCALE_OVER_BODY).max(14.0)
}

/// A typeset formula as a widget: `ui.add(Formula::new(src))`. See [`show`].
#[must_use = "add it with `ui.add(..)`"]
pub struct Formula<'a> {
    src: &'a str,
    size: Option<f32>,
    color: Option<Color32>,
    fit: bool,
}

impl<'a> Formula<'a> {
    /// A formula in the LaTeX subset of this module.
    pub fn new(src: &'a str) -> Self {
        Formula {
            src,
            size: None,
            color: None,
            fit: true,
        }
    }

    /// Keep the natural size even where the available width is less (a grid cell, whose
    /// width is last frame's column width, would otherwise shrink a wider entry).
    pub fn natural(mut self) -> Self {
        self.fit = false;
        self
    }

    /// Its font size in points (default [`base_size`]).
    pub fn size(mut self, size: f32) -> Self {
        self.size = Some(size);
        self
    }

    /// Its colour (default the ui's text colour).
    pub fn color(mut self, color: Color32) -> Self {
        self.color = Some(color);
        self
    }
}

impl Widget for Formula<'_> {
    fn ui(self, ui: &mut Ui) -> Response {
        let base = self.size.unwrap_or_else(|| base_size(ui));
        let mut laid = layout(ui.ctx(), self.src, base);
        let available = ui.available_width();
        if self.fit && laid.width > available && available > 1.0 {
            // Quantised so a slowly resizing panel does not fill the cache.
            let scale = (available / laid.width).max(MIN_FIT_SCALE);
            let size = (base * scale * 4.0).floor() / 4.0;
            laid = layout(ui.ctx(), self.src, size);
        }
        let row = ui.text_style_height(&egui::TextStyle::Body);
        // Symmetric about the math axis, so text beside it (centred) sits on the axis.
        let half = (laid.ascent - laid.axis)
            .max(laid.descent + laid.axis)
            .max(row / 2.0)
            + 1.0;
        let (rect, response) =
            ui.allocate_exact_size(vec2(laid.width.ceil(), (2.0 * half).ceil()), Sense::hover());
        response
            .widget_info(|| WidgetInfo::labeled(egui::Role::Label, ui.is_enabled(), &laid.plain));
        if ui.is_rect_visible(rect) {
            let color = self.color.unwrap_or_else(|| ui.visuals().text_color());
            let origin = pos2(rect.left(), rect.center().y + laid.axis);
            paint(ui.painter(), &laid, origin, color);
        }
        response
    }
}

fn round_to_pixel(p: Pos2, ppp: f32) -> Pos2 {
    pos2((p.x * ppp).round() / ppp, (p.y * ppp).round() / ppp)
}

/// Paint a layout with its baseline's left end at `origin`.
pub fn paint(painter: &egui::Painter, laid: &Laid, origin: Pos2, color: Color32) {
    let ppp = painter.pixels_per_point();
    let origin = round_to_pixel(origin, ppp);
    for item in &laid.items {
        match item {
            Item::Text {
                pos,
                galley,
                bold,
                size,
                ..
            } => {
                let at = round_to_pixel(origin + pos.to_vec2(), ppp);
                painter.galley(at, galley.clone(), color);
                if *bold {
                    let dx = (size * 0.05).max(1.0 / ppp);
                    painter.galley(at + vec2(dx, 0.0), galley.clone(), color);
                }
            }
            Item::Rule(r) => {
                let r = r.translate(origin.to_vec2());
                // Whole pixels, at least one: a crisp bar at every zoom.
                let top = (r.min.y * ppp).round();
                let bottom = (r.max.y * ppp).round().max(top + 1.0);
                let rect = Rect::from_x_y_ranges(r.x_range(), top / ppp..=bottom / ppp);
                painter.rect_filled(rect, 0.0, color);
            }
            Item::Stroke { points, width } => {
                let pts: Vec<Pos2> = points.iter().map(|p| origin + p.to_vec2()).collect();
                painter.add(Shape::line(pts, Stroke::new(*width, color)));
            }
        }
    }
}

/// Add a typeset formula: one widget sized to its content, never wrapped (scaled down to
/// the available width if too wide), in the ui's text colour, its [`plain`] text as its
/// accessibility label.
///
/// Live values go beside it as text:
/// ```ignore
/// ui.horizontal(|ui| {
///     formula::show(ui, formula::catalogue::NELBO);
///     ui.label("= 2.04 ± 0.39 nats");
/// });
/// ```
pub fn show(ui: &mut Ui, src: &str) -> Response {
    ui.add(Formula::new(src))
}

/// Text with inline formulas between `$` signs, as one widget wrapped between words at the
/// available width: `"the weight $w_t$ of $\\bar\\alpha_t$"`. Words are at the Body
/// size, formulas at [`base_size`], all on a common baseline; a formula never breaks. Its
/// accessibility label is the [`plain`] text of the whole. A `$` without a partner is
/// drawn as text; text without `$` is ordinary wrapped text.
pub fn rich(ui: &mut Ui, src: &str) -> Response {
    let laid = layout_rich(ui, src, ui.available_width().max(1.0));
    let (rect, response) = ui.allocate_exact_size(laid.size, Sense::hover());
    response.widget_info(|| WidgetInfo::labeled(egui::Role::Label, ui.is_enabled(), &laid.plain));
    if ui.is_rect_visible(rect) {
        laid.paint(ui.painter(), rect.min, ui.visuals().text_color());
    }
    response
}

/// A piece of a [`RichLaid`] line: its left x and its layout.
type Placed = (f32, Arc<Laid>);

/// Text with inline formulas laid out in lines (see [`rich`]).
pub struct RichLaid {
    /// Each line: its pieces (left x, layout) and its top y.
    lines: Vec<(f32, Vec<Placed>)>,
    /// The box it takes (points).
    pub size: Vec2,
    /// The whole as plain text (formulas by [`plain`]).
    pub plain: String,
}

impl RichLaid {
    /// Paint with the box's top-left corner at `origin`.
    pub fn paint(&self, painter: &egui::Painter, origin: Pos2, color: Color32) {
        for (baseline, pieces) in &self.lines {
            for (x, laid) in pieces {
                paint(painter, laid, origin + vec2(*x, *baseline), color);
            }
        }
    }
}

/// Lay out text with inline `$` formulas (see [`rich`]) in lines of at most `width` points.
pub fn layout_rich(ui: &Ui, src: &str, width: f32) -> RichLaid {
    let body = egui::TextStyle::Body.resolve(ui.style()).size;
    let math = base_size(ui);
    // Pieces (layout, whether a space precedes it): a line may break only at a space.
    let mut pieces: Vec<(Arc<Laid>, bool)> = Vec::new();
    let mut plain_text = String::new();
    let mut space = false;
    for (k, part) in split_dollars(src).into_iter().enumerate() {
        if k % 2 == 1 {
            let mut laid = layout(ui.ctx(), part, math);
            if laid.width > width && width > 1.0 {
                // Too wide for a line of its own: smaller, as the widget does.
                let scale = (width / laid.width).max(MIN_FIT_SCALE);
                laid = layout(ui.ctx(), part, (math * scale * 4.0).floor() / 4.0);
            }
            pieces.push((laid, space));
            plain_text.push_str(&plain(part));
            space = false;
            continue;
        }
        plain_text.push_str(part);
        let mut rest = part;
        while !rest.is_empty() {
            let trimmed = rest.trim_start();
            space |= trimmed.len() < rest.len();
            let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
            if end > 0 {
                // Braces and backslashes would end or start a command: not ours in text.
                let word: String = trimmed[..end]
                    .chars()
                    .filter(|c| !matches!(c, '{' | '}' | '\\'))
                    .collect();
                pieces.push((layout(ui.ctx(), &format!("\\text{{{word}}}"), body), space));
                space = false;
            }
            rest = &trimmed[end..];
        }
    }
    let gap = body * 0.28;
    let row = ui.text_style_height(&egui::TextStyle::Body);
    // Lines of (x, piece), with their ascent and descent.
    let mut lines: Vec<(Vec<Placed>, f32, f32)> = Vec::new();
    let mut x = 0.0_f32;
    let mut used = 0.0_f32;
    let mut k = 0;
    while k < pieces.len() {
        // A word: this piece and the ones glued to it (no space between).
        let mut end = k + 1;
        while end < pieces.len() && !pieces[end].1 {
            end += 1;
        }
        let w: f32 = pieces[k..end].iter().map(|p| p.0.width).sum();
        let lead = if x > 0.0 { gap } else { 0.0 };
        let line = match lines.last_mut() {
            Some(line) if x == 0.0 || x + lead + w <= width => {
                x += lead;
                line
            }
            _ => {
                x = 0.0;
                lines.push((Vec::new(), row * 0.75, row * 0.25));
                let last = lines.len() - 1;
                &mut lines[last]
            }
        };
        for (laid, _) in &pieces[k..end] {
            line.0.push((x, laid.clone()));
            line.1 = line.1.max(laid.ascent);
            line.2 = line.2.max(laid.descent);
            x += laid.width;
        }
        used = used.max(x);
        k = end;
    }
    let mut top = 0.0;
    let mut placed = Vec::with_capacity(lines.len());
    for (pieces, ascent, descent) in lines {
        placed.push((top + ascent, pieces));
        top += ascent + descent;
    }
    RichLaid {
        lines: placed,
        size: vec2(used.ceil(), top.max(row).ceil()),
        plain: plain_text,
    }
}

/// `src` split at `$` signs into text, formula, text, ...; a last `$` without its partner
/// stays in the text.
fn split_dollars(src: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = src.split('$').collect();
    if parts.len().is_multiple_of(2) {
        // An odd number of `$`: glue the unpaired tail back as text.
        let start = src.rfind('$').unwrap_or(src.len());
        parts.pop();
        parts.pop();
        let before = &src[..start];
        let from = before.rfind('$').map_or(0, |i| i + 1);
        parts.push(&src[from..]);
    }
    parts
}

/// The app's formulas in LaTeX, following Luo 2022 ("Understanding Diffusion Models: A
/// Unified Perspective"); equation numbers are Luo's unless said otherwise.
pub mod catalogue {
    use elbo_core::param::Parameterisation;
    use elbo_core::schedule::BetaSchedule;

    /// The negative ELBO as a sum of terms (eq. 58).
    pub const NELBO: &str = r"\mathrm{NELBO} = L_0 + \sum_{t=2}^{T} L_{t-1} + L_T";
    /// The reconstruction term (eq. 58), with the decoder N(x_0; mu_theta(x_1, 1), beta_1 I).
    pub const L0: &str = r"L_0 = -\mathbb{E}_{q(x_1|x_0)} \log \mathcal{N}\left(x_0; \mu_\theta(x_1, 1), \beta_1 I\right)";
    /// The prior matching term (eq. 58), exact for Gaussian-mixture data.
    pub const LT: &str = r"L_T = D_{\mathrm{KL}}\left(q(x_T|x_0) \,\|\, \mathcal{N}(0, I)\right)";
    /// The denoising matching terms (eq. 58) summed.
    pub const DENOISING_SUM: &str = r"\sum_{t=2}^{T} L_{t-1}";
    /// One denoising matching term: the mean part (eq. 58 with eq. 89) and the variance
    /// part `(d/2)(r - 1 - log r)` when the reverse variance is not the posterior's.
    pub const L_T_MINUS_1: &str = r"L_{t-1} = \mathbb{E}\,\frac{\|\tilde{\mu}_t(x_t, x_0) - \mu_\theta(x_t, t)\|^2}{2\sigma_t^2} + \frac{d}{2}\left(r - 1 - \log r\right)";
    /// The variance ratio in the variance part of [`L_T_MINUS_1`].
    pub const VARIANCE_RATIO: &str = r"r = \frac{\tilde{\sigma}_t^2}{\sigma_t^2}";
    /// A denoising matching term as the weighted x0 error (eq. 99 with eq. 108).
    pub const L_T_MINUS_1_WEIGHTED: &str =
        r"L_{t-1} = w_{x_0}(t)\, \mathrm{MSE}_{x_0} + \text{var. part}";
    /// The mean squared error of the x0 prediction.
    pub const MSE_X0: &str = r"\mathrm{MSE}_{x_0} = \mathbb{E}\,\|\hat{x}_0(x_t, t) - x_0\|^2";
    /// A weighted squared error (the same term in every parameterisation).
    pub const W_TIMES_MSE: &str = r"w(t) \times \mathrm{MSE}";
    /// Bits per dimension.
    pub const BITS_PER_DIM: &str = r"\text{bits/dim} = \frac{\mathrm{NELBO}}{d \ln 2}";
    /// The data entropy.
    pub const ENTROPY: &str = r"H(p_0) = -\mathbb{E}_{p_0} \log p_0(x_0)";
    /// The gap between the NELBO and the data entropy (>= 0).
    pub const GAP: &str = r"\text{gap} = \mathrm{NELBO} - H(p_0) \ge 0";
    /// The first form of the ELBO: consistency terms (eq. 45).
    pub const NELBO_CONSISTENCY: &str = r"\mathrm{NELBO} = L_0 + \sum_{t=1}^{T-1} C_t + D_{\mathrm{KL}}\left(q(x_T|x_{T-1}) \,\|\, p(x_T)\right)";
    /// One consistency term (eq. 45), as the app estimates it (at the trajectory's x_t).
    pub const CONSISTENCY_TERM: &str = r"C_t = \mathbb{E}_{q(x_{t-1}, x_t, x_{t+1}|x_0)}\left[\log q(x_t|x_{t-1}) - \log p_\theta(x_t|x_{t+1})\right]";

    /// The forward marginal (eq. 70).
    pub const FORWARD: &str =
        r"x_t = \sqrt{\bar{\alpha}_t}\, x_0 + \sqrt{1 - \bar{\alpha}_t}\, \epsilon";
    /// One forward step (eq. 31).
    pub const FORWARD_STEP: &str =
        r"x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{1 - \alpha_t}\, \epsilon";
    /// The forward marginal of mixture data: a mixture again.
    pub const MARGINAL_MIXTURE: &str = r"q_t(x) = \sum_k \pi_k\, \mathcal{N}\left(x; \sqrt{\bar{\alpha}_t}\, m_k, \bar{\alpha}_t S_k + (1 - \bar{\alpha}_t) I\right)";

    /// alpha_t from beta_t.
    pub const ALPHA: &str = r"\alpha_t = 1 - \beta_t";
    /// The cumulative product (eq. 61-70).
    pub const ABAR: &str = r"\bar{\alpha}_t = \prod_{s=1}^{t} (1 - \beta_s)";
    /// The signal-to-noise ratio (eq. 109).
    pub const SNR: &str = r"\mathrm{SNR}(t) = \frac{\bar{\alpha}_t}{1 - \bar{\alpha}_t}";
    /// The log-SNR.
    pub const LOG_SNR: &str =
        r"\lambda_t = \log \mathrm{SNR}(t) = \log \bar{\alpha}_t - \log(1 - \bar{\alpha}_t)";
    /// The posterior variance (eq. 85).
    pub const POSTERIOR_VARIANCE: &str =
        r"\tilde{\sigma}_t^2 = \frac{1 - \bar{\alpha}_{t-1}}{1 - \bar{\alpha}_t}\, \beta_t";
    /// The posterior mean (eq. 84).
    pub const POSTERIOR_MEAN: &str = r"\tilde{\mu}_t(x_t, x_0) = \frac{\sqrt{\alpha_t}\,(1 - \bar{\alpha}_{t-1})\, x_t + \sqrt{\bar{\alpha}_{t-1}}\, \beta_t\, x_0}{1 - \bar{\alpha}_t}";
    /// The linear preset (DDPM).
    pub const SCHEDULE_LINEAR: &str = r"\beta_t = \beta_{\text{start}} + \frac{t - 1}{T - 1}\left(\beta_{\text{end}} - \beta_{\text{start}}\right)";
    /// The scaled_linear preset (Stable Diffusion).
    pub const SCHEDULE_SCALED_LINEAR: &str = r"\beta_t = \left(\sqrt{\beta_{\text{start}}} + \frac{t - 1}{T - 1}\left(\sqrt{\beta_{\text{end}}} - \sqrt{\beta_{\text{start}}}\right)\right)^2";
    /// The squaredcos_cap_v2 preset (Nichol and Dhariwal's cosine schedule).
    pub const SCHEDULE_COSINE: &str = r"\beta_t = \min\left(1 - \frac{f(t/T)}{f((t-1)/T)},\ 0.999\right), \quad f(u) = \cos^2\left(\frac{u + 0.008}{1.008} \cdot \frac{\pi}{2}\right)";
    /// The sigmoid preset.
    pub const SCHEDULE_SIGMOID: &str = r"\beta_t = \beta_{\text{start}} + \left(\beta_{\text{end}} - \beta_{\text{start}}\right) \operatorname{sigmoid}\left(-6 + 12\, \frac{t - 1}{T - 1}\right)";
    /// Rescaling to zero terminal SNR (Lin et al. 2024, Algorithm 1).
    pub const RESCALE_ZERO_SNR: &str = r"\sqrt{\bar{\alpha}_t} \leftarrow \left(\sqrt{\bar{\alpha}_t} - \sqrt{\bar{\alpha}_T}\right) \frac{\sqrt{\bar{\alpha}_1}}{\sqrt{\bar{\alpha}_1} - \sqrt{\bar{\alpha}_T}}";

    /// The x0-prediction weight (eq. 108).
    pub const W_X0: &str =
        r"w_{x_0}(t) = \frac{\bar{\alpha}_{t-1}\, \beta_t^2}{2\sigma_t^2\, (1 - \bar{\alpha}_t)^2}";
    /// The noise-prediction weight (eq. 130).
    pub const W_EPS: &str =
        r"w_{\epsilon}(t) = \frac{\beta_t^2}{2\sigma_t^2\, \alpha_t\, (1 - \bar{\alpha}_t)}";
    /// The score-prediction weight (eq. 148).
    pub const W_SCORE: &str = r"w_{s}(t) = \frac{\beta_t^2}{2\sigma_t^2\, \alpha_t}";
    /// The v-prediction weight.
    pub const W_V: &str = r"w_{v}(t) = w_{x_0}(t)\, (1 - \bar{\alpha}_t)";
    /// x0 from the noise (eq. 115).
    pub const X0_FROM_EPS: &str = r"\hat{x}_0 = \frac{x_t - \sqrt{1 - \bar{\alpha}_t}\, \hat{\epsilon}}{\sqrt{\bar{\alpha}_t}}";
    /// The noise from x0.
    pub const EPS_FROM_X0: &str = r"\hat{\epsilon} = \frac{x_t - \sqrt{\bar{\alpha}_t}\, \hat{x}_0}{\sqrt{1 - \bar{\alpha}_t}}";
    /// Tweedie's formula (eq. 133).
    pub const TWEEDIE: &str = r"\sqrt{\bar{\alpha}_t}\, \mathbb{E}[x_0|x_t] = x_t + (1 - \bar{\alpha}_t)\, \nabla_{x_t} \log q(x_t)";
    /// The score from the noise (eq. 151).
    pub const SCORE_FROM_EPS: &str =
        r"\nabla_{x_t} \log q(x_t) = -\frac{\epsilon}{\sqrt{1 - \bar{\alpha}_t}}";
    /// The v target (Salimans and Ho 2022).
    pub const V_TARGET: &str =
        r"v = \sqrt{\bar{\alpha}_t}\, \epsilon - \sqrt{1 - \bar{\alpha}_t}\, x_0";
    /// The reverse model's mean from its x0 prediction (eq. 94).
    pub const MODEL_MEAN: &str =
        r"\mu_\theta(x_t, t) = \tilde{\mu}_t\left(x_t, \hat{x}_0(x_t, t)\right)";

    /// One DDPM ancestral step (Ho et al. 2020, Algorithm 2).
    pub const DDPM_STEP: &str =
        r"x_s = \tilde{\mu}(x_t, \hat{x}_0) + \sigma z, \quad z \sim \mathcal{N}(0, I)";
    /// One DDIM step (Song et al. 2021, eq. 12).
    pub const DDIM_STEP: &str = r"x_s = \sqrt{\bar{\alpha}_s}\, \hat{x}_0 + \sqrt{1 - \bar{\alpha}_s - \sigma^2}\, \hat{\epsilon} + \sigma z";
    /// DDIM's noise level (Song et al. 2021, eq. 16).
    pub const DDIM_SIGMA: &str = r"\sigma^2 = \eta^2\, \frac{1 - \bar{\alpha}_s}{1 - \bar{\alpha}_t} \left(1 - \frac{\bar{\alpha}_t}{\bar{\alpha}_s}\right)";

    /// Labels for live values (`formula = value`).
    pub mod label {
        /// beta_t.
        pub const BETA: &str = r"\beta_t";
        /// alpha-bar_t.
        pub const ABAR: &str = r"\bar{\alpha}_t";
        /// 1 - alpha-bar_t.
        pub const ONE_MINUS_ABAR: &str = r"1 - \bar{\alpha}_t";
        /// alpha-bar_T.
        pub const ABAR_T: &str = r"\bar{\alpha}_T";
        /// SNR(t).
        pub const SNR: &str = r"\mathrm{SNR}(t)";
        /// The log-SNR.
        pub const LOG_SNR: &str = r"\log \mathrm{SNR}(t)";
        /// The posterior variance.
        pub const POSTERIOR_VARIANCE: &str = r"\tilde{\sigma}_t^2";
        /// The reconstruction term.
        pub const L0: &str = r"L_0";
        /// The denoising terms summed.
        pub const DENOISING_SUM: &str = r"\sum_{t=2}^{T} L_{t-1}";
        /// The prior term.
        pub const LT: &str = r"L_T";
        /// The NELBO.
        pub const NELBO: &str = r"\mathrm{NELBO}";
        /// The data entropy.
        pub const ENTROPY: &str = r"H(p_0)";
        /// The x0 weight times the x0 error.
        pub const W_MSE_X0: &str = r"w_{x_0}\, \mathrm{MSE}_{x_0}";
        /// The weight (current parameterisation).
        pub const W: &str = r"w(t)";
        /// The MSE.
        pub const MSE: &str = r"\mathrm{MSE}";
        /// sqrt(abar_t), the signal coefficient.
        pub const SIGNAL: &str = r"\sqrt{\bar{\alpha}_t}";
        /// sqrt(1 - abar_t), the noise coefficient.
        pub const NOISE: &str = r"\sqrt{1 - \bar{\alpha}_t}";
    }

    /// A preset's beta formula.
    pub fn schedule(preset: BetaSchedule) -> &'static str {
        match preset {
            BetaSchedule::Linear => SCHEDULE_LINEAR,
            BetaSchedule::ScaledLinear => SCHEDULE_SCALED_LINEAR,
            BetaSchedule::SquaredcosCapV2 => SCHEDULE_COSINE,
            BetaSchedule::Sigmoid => SCHEDULE_SIGMOID,
        }
    }

    /// A parameterisation's ELBO weight.
    pub fn weight(p: Parameterisation) -> &'static str {
        match p {
            Parameterisation::X0 => W_X0,
            Parameterisation::Eps => W_EPS,
            Parameterisation::Score => W_SCORE,
            Parameterisation::V => W_V,
        }
    }

    /// Every formula with its name and where it is from, for tests and overviews.
    pub const ALL: &[(&str, &str, &str)] = &[
        ("NELBO", NELBO, "Luo eq. 58"),
        ("L0", L0, "Luo eq. 58"),
        ("LT", LT, "Luo eq. 58"),
        ("DENOISING_SUM", DENOISING_SUM, "Luo eq. 58"),
        ("L_T_MINUS_1", L_T_MINUS_1, "Luo eq. 58, 89"),
        ("VARIANCE_RATIO", VARIANCE_RATIO, ""),
        (
            "L_T_MINUS_1_WEIGHTED",
            L_T_MINUS_1_WEIGHTED,
            "Luo eq. 99, 108",
        ),
        ("MSE_X0", MSE_X0, ""),
        ("W_TIMES_MSE", W_TIMES_MSE, ""),
        ("BITS_PER_DIM", BITS_PER_DIM, ""),
        ("ENTROPY", ENTROPY, ""),
        ("GAP", GAP, ""),
        ("NELBO_CONSISTENCY", NELBO_CONSISTENCY, "Luo eq. 45"),
        ("CONSISTENCY_TERM", CONSISTENCY_TERM, "Luo eq. 45"),
        ("FORWARD", FORWARD, "Luo eq. 70"),
        ("FORWARD_STEP", FORWARD_STEP, "Luo eq. 31"),
        ("MARGINAL_MIXTURE", MARGINAL_MIXTURE, ""),
        ("ALPHA", ALPHA, ""),
        ("ABAR", ABAR, "Luo eq. 61-70"),
        ("SNR", SNR, "Luo eq. 109"),
        ("LOG_SNR", LOG_SNR, ""),
        ("POSTERIOR_VARIANCE", POSTERIOR_VARIANCE, "Luo eq. 85"),
        ("POSTERIOR_MEAN", POSTERIOR_MEAN, "Luo eq. 84"),
        ("SCHEDULE_LINEAR", SCHEDULE_LINEAR, "diffusers linear"),
        (
            "SCHEDULE_SCALED_LINEAR",
            SCHEDULE_SCALED_LINEAR,
            "diffusers scaled_linear",
        ),
        (
            "SCHEDULE_COSINE",
            SCHEDULE_COSINE,
            "diffusers squaredcos_cap_v2",
        ),
        ("SCHEDULE_SIGMOID", SCHEDULE_SIGMOID, "diffusers sigmoid"),
        (
            "RESCALE_ZERO_SNR",
            RESCALE_ZERO_SNR,
            "Lin et al. 2024, Alg. 1",
        ),
        ("W_X0", W_X0, "Luo eq. 108"),
        ("W_EPS", W_EPS, "Luo eq. 130"),
        ("W_SCORE", W_SCORE, "Luo eq. 148"),
        ("W_V", W_V, ""),
        ("X0_FROM_EPS", X0_FROM_EPS, "Luo eq. 115"),
        ("EPS_FROM_X0", EPS_FROM_X0, "Luo eq. 115"),
        ("TWEEDIE", TWEEDIE, "Luo eq. 133"),
        ("SCORE_FROM_EPS", SCORE_FROM_EPS, "Luo eq. 151"),
        ("V_TARGET", V_TARGET, ""),
        ("MODEL_MEAN", MODEL_MEAN, "Luo eq. 94"),
        ("DDPM_STEP", DDPM_STEP, "Ho et al. 2020, Alg. 2"),
        ("DDIM_STEP", DDIM_STEP, "Song et al. 2021, eq. 12"),
        ("DDIM_SIGMA", DDIM_SIGMA, "Song et al. 2021, eq. 16"),
        ("label::BETA", label::BETA, ""),
        ("label::ABAR", label::ABAR, ""),
        ("label::ONE_MINUS_ABAR", label::ONE_MINUS_ABAR, ""),
        ("label::ABAR_T", label::ABAR_T, ""),
        ("label::SNR", label::SNR, ""),
        ("label::LOG_SNR", label::LOG_SNR, ""),
        ("label::POSTERIOR_VARIANCE", label::POSTERIOR_VARIANCE, ""),
        ("label::L0", label::L0, ""),
        ("label::DENOISING_SUM", label::DENOISING_SUM, ""),
        ("label::LT", label::LT, ""),
        ("label::NELBO", label::NELBO, ""),
        ("label::ENTROPY", label::ENTROPY, ""),
        ("label::W_MSE_X0", label::W_MSE_X0, ""),
        ("label::W", label::W, ""),
        ("label::MSE", label::MSE, ""),
        ("label::SIGNAL", label::SIGNAL, ""),
        ("label::NOISE", label::NOISE, ""),
    ];
}
