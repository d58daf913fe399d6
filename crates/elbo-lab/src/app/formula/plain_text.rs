//! Plain text: a formula as Unicode text (sub- and superscript characters where Unicode
//! has them), for accessibility labels and tooltips.

use super::parser::parse;
use super::tree::{Accent, Class, Node, Style};

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
