//! The crate's modules depend on each other without a cycle, and the
//! per-request state is private to the session module.
//!
//! The graph is read from the sources: a module depends on another when it
//! names it in a `crate::…` or `super::…` path outside its tests. Run
//! `cargo test --test module_graph -- --nocapture` to print it (one line per
//! module, in dependency order).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name of a source file: `src/keys/source.rs` → `keys::source`,
/// `src/format/mod.rs` → `format`, `src/lib.rs` → `lib`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|p| p != "mod")
        .collect();
    parts.join("::")
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its `#[cfg(test)]` module and comments.
fn non_test_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines()
        .filter(|l| {
            let l = l.trim_start();
            !(l.starts_with("//") || l.starts_with("#[cfg(test)]"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `use crate::{a, b::{c, d}}` written out as `crate::a`, `crate::b::c`,
/// `crate::b::d`, so that grouped imports are read like single ones.
fn expand_groups(code: &str) -> String {
    let mut out = code.to_owned();
    while let Some(open) = out.find("::{") {
        let head_start = out[..open]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let head = out[head_start..open].to_owned();
        // The matching brace.
        let (mut depth, mut close) = (0, open + 2);
        for (i, c) in out[open + 2..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 1 => {
                    close = open + 2 + i;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let inner = &out[open + 3..close];
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(inner[start..i].trim().to_owned());
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(inner[start..].trim().to_owned());
        let expanded: Vec<String> = parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| format!("{head}::{p}"))
            .collect();
        out.replace_range(head_start..=close, &expanded.join("; "));
    }
    out
}

/// The modules this module's code names.
fn dependencies(module: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = &expand_groups(code);
    let mut found = BTreeSet::new();
    let parent = module.rsplit_once("::").map(|(p, _)| p.to_owned());
    for (prefix, base) in [("crate::", None), ("super::", parent.clone())] {
        for (at, _) in code.match_indices(prefix) {
            let path: String = code[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let mut name = base.clone().unwrap_or_default();
            let mut best = None;
            for segment in segments {
                name = if name.is_empty() {
                    segment.to_owned()
                } else {
                    format!("{name}::{segment}")
                };
                if modules.contains(&name) {
                    best = Some(name.clone());
                }
            }
            if prefix == "super::" && best.is_none() {
                best = base.clone();
            }
            if let Some(target) = best
                && target != module
                && !module.starts_with(&format!("{target}::"))
            {
                found.insert(target);
            }
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let texts: BTreeMap<String, String> = files
        .iter()
        .map(|f| (module_of(&src, f), std::fs::read_to_string(f).unwrap()))
        .filter(|(m, _)| !m.ends_with("_test"))
        .collect();
    let modules: BTreeSet<String> = texts.keys().cloned().collect();
    texts
        .iter()
        .filter(|(m, _)| *m != "lib")
        .map(|(m, text)| (m.clone(), dependencies(m, &non_test_code(text), &modules)))
        .collect()
}

#[test]
fn modules_depend_on_each_other_without_a_cycle() {
    let graph = graph();
    // Kahn's algorithm: repeatedly take the modules whose dependencies are all placed.
    let mut placed: Vec<String> = Vec::new();
    let mut left: BTreeMap<String, BTreeSet<String>> = graph.clone();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, deps)| {
                deps.iter()
                    .all(|d| placed.contains(d) || !graph.contains_key(d))
            })
            .map(|(m, _)| m.clone())
            .collect();
        assert!(
            !ready.is_empty(),
            "a cycle among these modules: {:#?}",
            left
        );
        for module in ready {
            left.remove(&module);
            placed.push(module);
        }
    }
    for module in &placed {
        let deps: Vec<&str> = graph[module].iter().map(String::as_str).collect();
        println!("{module:<20} -> {}", deps.join(", "));
    }
    // The cycles 0.1 had, by name, so a rename cannot hide their return.
    for (a, b) in [("keys::keyring", "keys::source"), ("session", "policy")] {
        let ab = graph.get(a).is_some_and(|d| d.contains(b));
        let ba = graph.get(b).is_some_and(|d| d.contains(a));
        assert!(!(ab && ba), "{a} and {b} depend on each other");
    }
}

/// The reader is not fooled: a file that names its neighbour both ways is a cycle.
#[test]
fn the_reader_sees_a_planted_cycle() {
    let modules: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
    assert!(dependencies("a", "use crate::b::Thing;", &modules).contains("b"));
    assert!(dependencies("b", "fn f() { crate::a::g() }", &modules).contains("a"));
    assert!(dependencies("a", "// use crate::b;", &modules).contains("b"));
    assert!(!dependencies("a", &non_test_code("// use crate::b;"), &modules).contains("b"));
    // Grouped imports, nested groups included.
    let modules: BTreeSet<String> = ["a", "b", "c", "d::e"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let deps = dependencies("a", "use crate::{b, c::X, d::{e::Y, Z}};", &modules);
    assert_eq!(
        deps,
        ["b", "c", "d::e"].iter().map(|s| s.to_string()).collect()
    );
}

/// No module outside `session` reaches into the per-request state: the
/// `State` struct is private and has no `pub` field.
#[test]
fn the_session_state_is_private_to_its_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/session.rs");
    let text = std::fs::read_to_string(src).unwrap();
    let start = text.find("struct State {").expect("the State struct");
    let body = &text[start..start + text[start..].find("\n}\n").unwrap()];
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    assert!(
        !text[line_start..start].contains("pub"),
        "State is private: {}",
        &text[line_start..start]
    );
    assert!(
        !body.contains("pub"),
        "no field of State is visible outside: {body}"
    );
}
