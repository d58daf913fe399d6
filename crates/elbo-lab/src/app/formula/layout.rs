//! Layout: a tree to boxes of width, ascent and descent around a baseline, holding the
//! galleys, rules and strokes to draw, with TeX's spacing between atoms.

use std::collections::HashMap;
use std::sync::Arc;

use egui::epaint::text::FontsView;
use egui::text::{Galley, LayoutJob, TextFormat};
use egui::{Color32, FontFamily, FontId, Pos2, Rect, Vec2, pos2, vec2};

use super::parser::parse;
use super::plain_text::plain;
use super::tree::{Accent, Class, Node, Style};

/// Scripts are this fraction of their base's size...
const SCRIPT_SCALE: f32 = 0.72;
/// ...but never below this fraction of the formula's size.
const MIN_SCRIPT_SCALE: f32 = 0.56;
/// A fraction on the formula's own line sets its parts at this fraction of the size.
const DISPLAY_FRAC_SCALE: f32 = 0.86;

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
