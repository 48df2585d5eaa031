//! The import graph of `src/` (ARCHITECTURE.md, "Which way imports go"): no module
//! imports a higher layer, layers of equal rank do not import each other, and no two
//! files import each other in a circle. Read from `use` statements and `crate::`/`super::`
//! paths in the source, so it checks what the code says, not what the docs claim.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer: a module may import only modules of a lower layer.
const LAYERS: &[(&str, u32)] = &[
    ("jobs", 0),
    ("limits", 0),
    ("data", 1),
    ("embed", 1),
    ("score", 2),
    ("fusion", 3),
    ("rank", 4),
    ("eval", 5),
    ("session", 6),
    ("ui", 7),
    ("cli", 7),
];

type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `[a, b]`; `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).expect("file under src/").with_extension("");
    let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// Source without comments and string literals (so that doc text is not read as code).
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && next.is_some_and(|n| n != '\\') && b.get(i + 2) == Some(&'\'') {
            // A char literal such as '"'.
            out.push(' ');
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let prefix: Vec<String> =
            tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&inner[start..]);
        let mut out = Vec::new();
        for p in parts.into_iter().filter(|p| !p.trim().is_empty()) {
            for tail in expand(p) {
                let mut path = prefix.clone();
                path.extend(tail);
                out.push(path);
            }
        }
        out
    } else {
        let tree = tree.split(" as ").next().unwrap_or(tree);
        vec![tree.split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()]
    }
}

/// Every path the file names: `use` trees and inline `crate::…` / `super::…` paths.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        out.extend(expand(&rest[..end]));
    }
    for prefix in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                out.push(rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect());
            }
            rest = &rest[end.max(1)..];
        }
    }
    out
}

/// The module a path refers to: the longest prefix that is a module file.
fn resolve(from: &Module, is_mod_file: bool, path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let mut base: Module = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") => {
            // `super` of `a/b.rs` is `a`; of `a/b/mod.rs` (module a::b) it is `a` too.
            let mut m = from.clone();
            m.pop();
            m
        }
        Some("self") => from.clone(),
        Some(first) => {
            // A bare path is relative to the current module (a child module), else external.
            let mut child = from.clone();
            child.push(first.to_owned());
            if !modules.contains(&child) {
                return None;
            }
            let mut full = from.clone();
            full.extend(path.iter().cloned());
            return longest_module(&full, modules);
        }
        None => return None,
    };
    let _ = is_mod_file;
    let mut i = 1;
    while path.get(i).map(String::as_str) == Some("super") {
        base.pop();
        i += 1;
    }
    base.extend(path.iter().skip(i).cloned());
    longest_module(&base, modules)
}

/// Paths written through a module imported by name: `name::x::y` → `module + [x, y]`.
fn alias_paths(code: &str, module: &Module) -> Vec<Module> {
    let Some(name) = module.last() else { return Vec::new() };
    let needle = format!("{name}::");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(&needle) {
        let before = rest[..at].chars().last();
        rest = &rest[at + needle.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
        let mut path = module.clone();
        path.extend(rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_owned));
        out.push(path);
    }
    out
}

fn longest_module(path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| modules.contains(m))
}

struct Graph {
    /// Edges between module files (parent → own descendant edges, i.e. re-exports, left out).
    edges: BTreeMap<Module, BTreeSet<Module>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        if from.first().map(String::as_str) == Some("main") || file.ends_with("main.rs") {
            continue;
        }
        let code = strip(&std::fs::read_to_string(file).expect("readable source"));
        let is_mod_file = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let mut targets = Vec::new();
        for path in paths_in(&code) {
            let Some(to) = resolve(&from, is_mod_file, &path, &modules) else { continue };
            // `use super::panels;` imports a module: later `panels::status::show` names a file.
            if to.len() + 1 >= path.len()
                && to.last() == path.last()
                && path.first().map(String::as_str) != Some("self")
            {
                for tail in alias_paths(&code, &to) {
                    if let Some(deeper) = longest_module(&tail, &modules) {
                        targets.push(deeper);
                    }
                }
            }
            targets.push(to);
        }
        for to in targets {
            if to == from || to.starts_with(&from) {
                continue;
            }
            edges.entry(from.clone()).or_default().insert(to);
        }
    }
    Graph { edges }
}

fn layer(m: &Module) -> Option<(&'static str, u32)> {
    let top = m.first()?;
    LAYERS.iter().find(|(name, _)| name == top).copied()
}

fn show(m: &Module) -> String {
    if m.is_empty() { "lib".to_owned() } else { m.join("::") }
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let missing: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&src, f))
        .filter(|m| !m.is_empty() && m.first().map(String::as_str) != Some("main"))
        .filter(|m| layer(m).is_none())
        .map(|m| m[0].clone())
        .collect();
    assert!(missing.is_empty(), "top-level modules without a layer in this test and ARCHITECTURE.md: {missing:?}");
}

#[test]
fn imports_only_go_down_the_layers() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        let Some((from_top, from_rank)) = layer(from) else { continue };
        for to in tos {
            let Some((to_top, to_rank)) = layer(to) else { continue };
            if from_top != to_top && to_rank >= from_rank {
                wrong.push(format!(
                    "{} → {} ({from_top} is layer {from_rank}, {to_top} is {to_rank})",
                    show(from),
                    show(to)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that go up or sideways:\n{}", wrong.join("\n"));
}

#[test]
fn no_two_files_import_each_other_in_a_circle() {
    let g = graph();
    // Tarjan's strongly connected components; any component of two or more is a circle.
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        next: usize,
        circles: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(tos) = s.g.edges.get(v) {
            for w in tos {
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(show(w));
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.circles.push(component);
            }
        }
    }
    let mut s = State {
        g: &g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    let nodes: Vec<&Module> = g.edges.keys().collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let text: Vec<String> = s.circles.iter().map(|c| c.join(" ⇄ ")).collect();
    assert!(text.is_empty(), "files that import each other in a circle:\n{}", text.join("\n"));
}

#[test]
fn the_checker_sees_a_planted_upward_import() {
    // The parser itself: a use tree with braces, nesting and `super`.
    let code = strip(
        "use crate::{data::{Catalogue, read::x}, session::Workbench};\n// use crate::ui::Nope;\nlet s = \"crate::cli\";",
    );
    let paths = paths_in(&code);
    assert!(paths.contains(&vec!["crate".into(), "data".into(), "read".into(), "x".into()]));
    assert!(paths.contains(&vec!["crate".into(), "session".into(), "Workbench".into()]));
    assert!(!paths.iter().any(|p| p.iter().any(|s| s == "ui" || s == "cli")), "comments and strings are not code");
    let modules: BTreeSet<Module> =
        [vec!["score".to_owned()], vec!["score".to_owned(), "als".to_owned()], vec!["session".to_owned()]]
            .into_iter()
            .collect();
    let from = vec!["score".to_owned(), "als".to_owned()];
    let to = resolve(&from, false, &["crate".into(), "session".into(), "Engine".into()], &modules);
    assert_eq!(to, Some(vec!["session".to_owned()]));
    assert_eq!(layer(&vec!["score".to_owned()]).map(|l| l.1), Some(2));
    assert_eq!(resolve(&from, false, &["super".into(), "Scorer".into()], &modules), Some(vec!["score".to_owned()]));
}
