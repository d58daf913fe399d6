//! No import circle inside the app: the modules of `src/app` form a graph of "uses" edges
//! (a `use` or a path in the code that names another module or an item of it) without a
//! cycle, so each layer can be read, tested and changed without the ones above it.
//!
//! Layers, from the bottom: settings, inputs, command, model and the jobs; the tabs and
//! panels on a read-only `views::ctx::ViewCtx`; `views` lays them out; `app/mod.rs` (the
//! shell) sits on top. A parent module that uses its children may not be used by them:
//! what children share lives in a child of its own (`jobs/job.rs`, `views/ctx.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source of a file without comments, string and char literals, and its tests.
fn code_of(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal (a lifetime has no closing quote).
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    match out.find("#[cfg(test)]") {
        Some(at) => out[..at].to_owned(),
        None => out,
    }
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Every path a module's code names: each leaf of its `use` trees, and each `a::b` path
/// elsewhere.
fn paths_of(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = String::new();
    let mut cursor = 0;
    let bytes = code.as_bytes();
    while let Some(at) = code[cursor..].find("use ") {
        let start = cursor + at;
        let word_start =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let Some(end) = code[start..].find(';').map(|e| start + e) else {
            break;
        };
        if word_start {
            rest.push_str(&code[cursor..start]);
            expand_use(&[], code[start + 4..end].trim(), &mut paths);
            cursor = end + 1;
        } else {
            rest.push_str(&code[cursor..start + 4]);
            cursor = start + 4;
        }
    }
    rest.push_str(&code[cursor..]);
    // Paths in the code: identifiers joined by `::`, not preceded by `::`.
    let chars: Vec<char> = rest.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            let mut segments = Vec::new();
            let mut j = i;
            loop {
                let s = j;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                segments.push(chars[s..j].iter().collect::<String>());
                if chars.get(j) == Some(&':')
                    && chars.get(j + 1) == Some(&':')
                    && chars.get(j + 2).is_some_and(|c| is_ident(*c))
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if segments.len() > 1 {
                paths.push(segments);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    paths
}

/// The leaves of a `use` tree (`a::{b, c::{d, e}}` gives a::b, a::c::d, a::c::e).
fn expand_use(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let mut base = prefix.to_vec();
        base.extend(head);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut item = String::new();
        for c in inner.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                expand_use(&base, &item, out);
                item.clear();
            } else {
                item.push(c);
            }
        }
        if !item.trim().is_empty() {
            expand_use(&base, &item, out);
        }
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap_or(tree);
        let mut path = prefix.to_vec();
        path.extend(tree.split("::").map(|s| s.trim().to_owned()));
        out.push(path);
    }
}

/// The modules under `src/app` (as `app::views::elbo`) and their files.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.join("app")];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).expect("a source folder");
        for entry in entries.map(|e| e.expect("an entry").path()) {
            if entry.is_dir() {
                stack.push(entry);
            } else if entry.extension().is_some_and(|e| e == "rs") {
                let relative = entry.strip_prefix(src).expect("under src");
                let mut parts: Vec<String> = relative
                    .with_extension("")
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                found.insert(parts.join("::"), entry);
            }
        }
    }
    found
}

/// The module a path written in `module` leads into, if it is one of `known` other than
/// `module` itself.
fn target(module: &str, path: &[String], known: &BTreeMap<String, PathBuf>) -> Option<String> {
    let here: Vec<String> = module.split("::").map(str::to_owned).collect();
    let (mut base, mut rest) = match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &path[1..]),
        Some("super" | "self") => (here.clone(), path),
        Some(first) if known.contains_key(&format!("{module}::{first}")) => (here.clone(), path),
        _ => return None,
    };
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    (1..=base.len())
        .rev()
        .map(|k| base[..k].join("::"))
        .find(|m| known.contains_key(m))
        .filter(|m| m != module)
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

fn edges_of(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let known = modules(src);
    known
        .iter()
        .map(|(module, file)| {
            let source = std::fs::read_to_string(file).expect("a source file");
            let targets = paths_of(&code_of(&source))
                .iter()
                .filter_map(|p| target(module, p, &known))
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

#[test]
fn the_app_modules_have_no_import_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges_of(&src);
    assert!(edges.len() > 40, "found only {} modules", edges.len());
    // The checker sees what it must: the shell uses the model, the tabs their context.
    assert!(edges["app"].contains("app::model"));
    assert!(edges["app::views::elbo"].contains("app::views::ctx"));
    let found = cycles(&edges);
    let report: Vec<String> = found
        .iter()
        .map(|c| {
            let arrows: Vec<String> = c
                .iter()
                .map(|m| {
                    let inside: Vec<&str> = edges[m]
                        .iter()
                        .filter(|t| c.contains(t))
                        .map(String::as_str)
                        .collect();
                    format!("  {m} -> {}", inside.join(", "))
                })
                .collect();
            arrows.join("\n")
        })
        .collect();
    assert!(found.is_empty(), "import circles:\n{}", report.join("\n\n"));
}

#[test]
fn the_checker_finds_a_circle_and_reads_use_trees() {
    let mut out = Vec::new();
    expand_use(&[], "super::{a::{B, c}, d as e}", &mut out);
    let joined: Vec<String> = out.iter().map(|p| p.join("::")).collect();
    assert_eq!(joined, ["super::a::B", "super::a::c", "super::d"]);
    let code = code_of(
        "use x; // super::y\nlet s = \"super::z\"; f(super::w::V);\n#[cfg(test)]\nuse super::t;",
    );
    let paths: Vec<String> = paths_of(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(paths, ["x", "super::w::V"]);
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c"]]);
}
