//! No raw TeX where a user reads plain text: every string literal of the app (labels,
//! tooltips, legends, plot titles, notes) is checked for TeX's sub- and superscript braces
//! (`L_{t-1}`, `x^{2}`) outside the `$...$` spans that the formula widget typesets. Plain
//! text says `L(t-1)`, `x(t-1)`, `sum(t = 2..T)`. The app's test `windows::no_raw_tex_on_screen`
//! checks what every tab and the help window actually show.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of `code` (plain and raw), with their line numbers.
fn literals(code: &str) -> Vec<(usize, String)> {
    let bytes: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == '\n' {
            line += 1;
        }
        // A line comment: skip it (its text is for the next engineer).
        if c == '/' && bytes.get(i + 1) == Some(&'/') {
            while i < bytes.len() && bytes[i] != '\n' {
                i += 1;
            }
            continue;
        }
        // A char literal such as '"' or '\'' is not a string.
        if c == '\'' && bytes.get(i + 2) == Some(&'\'') {
            i += 3;
            continue;
        }
        if c == '\'' && bytes.get(i + 1) == Some(&'\\') && bytes.get(i + 3) == Some(&'\'') {
            i += 4;
            continue;
        }
        let raw = c == 'r' && matches!(bytes.get(i + 1), Some('"' | '#'));
        if c == '"' || raw {
            let mut hashes = 0;
            let mut j = i + usize::from(raw);
            while bytes.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if bytes.get(j) != Some(&'"') {
                i += 1;
                continue;
            }
            j += 1;
            let start_line = line;
            let mut text = String::new();
            while j < bytes.len() {
                let d = bytes[j];
                if d == '\n' {
                    line += 1;
                }
                if !raw && d == '\\' {
                    text.push(d);
                    if let Some(&e) = bytes.get(j + 1) {
                        text.push(e);
                    }
                    j += 2;
                    continue;
                }
                if d == '"' && (0..hashes).all(|k| bytes.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                text.push(d);
                j += 1;
            }
            out.push((start_line, text));
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// What in `text` is raw TeX meant as plain text, if anything.
fn raw_tex(text: &str) -> Option<String> {
    // Text handed to the formula widget whole (\text, \mathrm) is typeset.
    if text.contains("\\text") || text.contains("\\math") {
        return None;
    }
    let mut plain = String::new();
    for (k, part) in text.split('$').enumerate() {
        // Odd parts lie inside $...$: typeset.
        if k % 2 == 0 {
            plain.push_str(part);
            plain.push(' ');
        }
    }
    if plain.contains("_{{") || plain.contains("^{") {
        return Some(plain);
    }
    // `_{...}` with more than a name inside (`_{t-1}`, not a format argument `_{k}`).
    let mut rest = plain.as_str();
    while let Some(at) = rest.find("_{") {
        let inner = &rest[at + 2..];
        let end = inner.find('}').unwrap_or(inner.len());
        if inner[..end]
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || c == '_'))
        {
            return Some(plain);
        }
        rest = &inner[end..];
    }
    None
}

#[test]
fn no_string_of_the_app_shows_raw_tex() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        // The typesetter and its catalogue handle TeX by design.
        if file.components().any(|c| c.as_os_str() == "formula") {
            continue;
        }
        let source = std::fs::read_to_string(&file).expect("readable");
        let code = source.split("#[cfg(test)]").next().unwrap_or(&source);
        for (line, text) in literals(code) {
            if let Some(plain) = raw_tex(&text) {
                found.push(format!("{}:{line}: {plain}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "raw TeX in plain text:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checker_finds_raw_tex_and_leaves_the_rest() {
    assert!(raw_tex("each L_{t-1} of the ELBO").is_some());
    assert!(raw_tex("L_{{t-1}} in a format string").is_some());
    assert!(raw_tex("sigma^{2}").is_some());
    assert!(raw_tex("a plot id over_t_{k}").is_none());
    assert!(raw_tex("typeset: $L_{t-1}$ and $x_{t-1}$").is_none());
    assert!(raw_tex(r"\text{bits/dim}").is_none());
    assert!(raw_tex("plain L(t-1) and x_t").is_none());
    let lits = literals("let a = \"x_{t-1}\"; // \"L_{t-1}\"\nlet b = r#\"y\"#; let c = '\"';");
    let texts: Vec<&str> = lits.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["x_{t-1}", "y"]);
}
