//! Tokens and matching: the source as characters and commands, and the partner of every
//! brace, parenthesis, bracket, bar and `\left`/`\right`.

/// Sources longer than this (in chars) are cut: a formula, not a document.
const MAX_CHARS: usize = 4000;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Char(char),
    Cmd(String),
}

pub(super) fn tokenize(src: &str) -> Vec<Tok> {
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
pub(super) fn match_pairs(toks: &[Tok]) -> Vec<Option<usize>> {
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
