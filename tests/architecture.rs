//! The layering in `ARCHITECTURE.md` is checked, not only drawn: every `crate::MODULE` path in
//! non-test code under `src/` is an edge from the top-level module the file belongs to, and the set
//! of edges must equal the list under "Allowed dependencies" in `ARCHITECTURE.md` (an edge in the
//! code that is not listed fails, and so does a listed edge nothing uses, so the map stays true).
//!
//! One crate with a checked map was chosen over a workspace of crates: the layers are small, they
//! share one fuzz binary and one bench suite, and a workspace would add a `Cargo.toml` per layer
//! while still not forbidding an edge inside one crate; this test forbids them all.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Edges = BTreeMap<String, BTreeSet<String>>;

#[test]
fn module_dependencies_match_architecture_md() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let actual = edges_in(&root.join("src"));
    let doc = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let allowed = allowed_in(&doc);

    let mut problems = Vec::new();
    for (from, tos) in &actual {
        for to in tos {
            if !allowed.get(from).is_some_and(|a| a.contains(to)) {
                problems.push(format!(
                    "{from} uses {to}, which ARCHITECTURE.md does not allow"
                ));
            }
        }
    }
    for (from, tos) in &allowed {
        for to in tos {
            if !actual.get(from).is_some_and(|a| a.contains(to)) {
                problems.push(format!(
                    "ARCHITECTURE.md allows {from} -> {to}, but no code uses it: remove it"
                ));
            }
        }
    }
    let block: Vec<String> = actual
        .iter()
        .map(|(from, tos)| {
            format!(
                "{from} -> {}",
                Vec::from_iter(tos.iter().cloned()).join(" ")
            )
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{}\n\nthe edges the code has:\n{}",
        problems.join("\n"),
        block.join("\n")
    );
}

/// The checker itself: a `crate::` path in a test module, a comment or a string is not an edge;
/// one in code, in a `use` list or after `::{` is.
#[test]
fn the_scanner_sees_code_and_not_tests_comments_or_strings() {
    let source = r##"
//! Uses [`crate::doc`] only in prose.
use crate::{alpha::Thing, beta};
use crate::gamma;
fn f() { let _ = "crate::string"; let _ = r#"crate::raw"#; let _c = '{'; crate::delta::g(); }
// crate::comment
/* crate::block /* nested */ crate::block2 */
#[cfg(test)]
mod tests {
    use crate::test_only;
    fn h() { let _ = '}'; }
}
#[cfg(test)]
mod testing;
fn after<'a>(x: &'a str) -> &'a str { crate::epsilon::e(x) }
"##;
    let (modules, test_children) = uses_in(source, "crate");
    let modules: Vec<_> = modules.into_iter().collect();
    assert_eq!(modules, ["alpha", "beta", "delta", "epsilon", "gamma"]);
    assert_eq!(test_children, ["testing"]);
}

/// `from -> to` for every top-level module of the library (and `cli`, the binary's glue, which
/// reaches the library as `rootsift::`).
fn edges_in(src: &Path) -> Edges {
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    let sources: Vec<(&PathBuf, String)> = files
        .iter()
        .filter(|f| f.strip_prefix(src).ok() != Some(Path::new("lib.rs")))
        .map(|f| (f, fs::read_to_string(f).expect("read source")))
        .collect();
    // Files declared `#[cfg(test)] mod x;` are test code, as are the files below them.
    let mut test_only: Vec<PathBuf> = Vec::new();
    let mut uses = Vec::new();
    for (file, text) in &sources {
        let top = top_module(file.strip_prefix(src).expect("under src"));
        let prefix = if top == "cli" { "rootsift" } else { "crate" };
        let (used, test_children) = uses_in(text, prefix);
        let dir = child_dir(file);
        for child in test_children {
            test_only.push(dir.join(format!("{child}.rs")));
            test_only.push(dir.join(child));
        }
        if !text.contains("#![cfg(test)]") {
            uses.push((file, top, used));
        }
    }
    let mut edges = Edges::new();
    for (file, top, used) in uses {
        if test_only.iter().any(|t| file.starts_with(t)) {
            continue;
        }
        let entry = edges.entry(top.clone()).or_default();
        entry.extend(used.into_iter().filter(|to| *to != top));
    }
    edges.retain(|_, tos| !tos.is_empty());
    edges
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// `src/a.rs` and `src/a/...` belong to `a`; `main.rs` and `cli/` to `cli`.
fn top_module(rel: &Path) -> String {
    let first = rel.components().next().expect("a path under src");
    let name = first.as_os_str().to_string_lossy();
    let name = name.strip_suffix(".rs").unwrap_or(&name);
    if name == "main" {
        "cli".to_string()
    } else {
        name.to_string()
    }
}

/// Where a file's `mod x;` children live: beside `mod.rs`/`main.rs`, else in a folder of its name.
fn child_dir(file: &Path) -> PathBuf {
    let parent = file.parent().expect("a parent");
    match file.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs" | "main.rs" | "lib.rs") => parent.to_path_buf(),
        _ => parent.join(file.file_stem().expect("a stem")),
    }
}

/// The modules named right after `prefix::` in code that is not under `#[cfg(test)]`, and the
/// names of child modules declared `#[cfg(test)] mod x;`.
fn uses_in(source: &str, prefix: &str) -> (BTreeSet<String>, Vec<String>) {
    let code = without_comments_and_literals(source);
    let code = code.as_bytes();
    let mut uses = BTreeSet::new();
    let mut test_children = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if code[i..].starts_with(b"#[cfg(test)]") {
            i += "#[cfg(test)]".len();
            let (end, child) = skip_item(code, i);
            test_children.extend(child);
            i = end;
            continue;
        }
        let boundary = i == 0 || !is_ident(code[i - 1]) && code[i - 1] != b'$';
        if boundary && code[i..].starts_with(prefix.as_bytes()) {
            let mut j = i + prefix.len();
            if code[j..].starts_with(b"::") {
                j += 2;
                if code.get(j) == Some(&b'{') {
                    uses.extend(braced_heads(code, j));
                } else {
                    let name = ident_at(code, j);
                    if !name.is_empty() {
                        uses.insert(name);
                    }
                }
            }
            i = j;
            continue;
        }
        i += 1;
    }
    (uses, test_children)
}

/// Skips the item after an attribute: to its `;` or the end of its braces. Returns where it ends
/// and, for `mod x;`, the child's name.
fn skip_item(code: &[u8], mut i: usize) -> (usize, Option<String>) {
    let start = i;
    let mut depth = 0usize;
    while i < code.len() {
        match code[i] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (i + 1, None);
                }
            }
            b';' if depth == 0 => {
                let item = String::from_utf8_lossy(&code[start..i]);
                let child = item
                    .split_whitespace()
                    .skip_while(|w| *w != "mod")
                    .nth(1)
                    .map(str::to_string);
                return (i + 1, child);
            }
            _ => {}
        }
        i += 1;
    }
    (i, None)
}

/// The first identifier of each path in `{a::b, c, d::{e}}` starting at the `{` at `i`.
fn braced_heads(code: &[u8], i: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut expect_head = false;
    let mut j = i;
    while j < code.len() {
        match code[j] {
            b'{' => {
                depth += 1;
                expect_head = depth == 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            b',' if depth == 1 => expect_head = true,
            c if expect_head && is_ident(c) => {
                let name = ident_at(code, j);
                j += name.len();
                if name != "self" {
                    heads.push(name);
                }
                expect_head = false;
                continue;
            }
            _ => {}
        }
        j += 1;
    }
    heads
}

fn ident_at(code: &[u8], i: usize) -> String {
    let end = code[i..]
        .iter()
        .position(|&c| !is_ident(c))
        .map_or(code.len(), |n| i + n);
    String::from_utf8_lossy(&code[i..end]).into_owned()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The source with comments, string and character literals blanked (newlines kept).
fn without_comments_and_literals(source: &str) -> String {
    let s: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && s.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, s[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('#' | '"'))
            && (i == 0 || !is_ident(s[i - 1] as u8))
        {
            let hashes = s[i + 1..].iter().take_while(|&&h| h == '#').count();
            if s.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += hashes + 2;
            while i < s.len() {
                if s[i] == '"'
                    && s[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, s[i]);
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < s.len() && s[i] != '"' {
                if s[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = s.get(i) {
                    blank(&mut out, ch);
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (next == Some('\\') || s.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\u{7f}'); a lifetime ('a) has no closing quote.
            i += 2;
            while i < s.len() && s[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The "Allowed dependencies" block of ARCHITECTURE.md: lines `from -> to to to`.
fn allowed_in(doc: &str) -> Edges {
    let section = doc
        .split("## Allowed dependencies")
        .nth(1)
        .expect("ARCHITECTURE.md has an \"## Allowed dependencies\" section");
    let block = section
        .split("```")
        .nth(1)
        .expect("a fenced block in that section");
    let mut edges = Edges::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (from, tos) = line
            .split_once("->")
            .unwrap_or_else(|| panic!("not `a -> b c`: {line}"));
        let tos = tos.split_whitespace().map(str::to_string);
        edges
            .entry(from.trim().to_string())
            .or_default()
            .extend(tos);
    }
    edges
}
