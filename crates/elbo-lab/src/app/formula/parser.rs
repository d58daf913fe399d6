//! The parser: tokens to a [`Node`] tree (never failing: unknown commands and unbalanced
//! delimiters are drawn literally and reported in the [`Parsed`]).

use super::tokens::{Tok, match_pairs, tokenize};
use super::tree::{Accent, Class, Node, Parsed, Style};

/// Deeper nesting than this is drawn as literal text (no unbounded recursion).
const MAX_DEPTH: usize = 40;

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
