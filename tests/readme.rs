//! The README is true to the binary.
//!
//! - Every command in a ```` ```console ```` block (a line starting `$ `) is run with bash, offline
//!   (`unshare -n`), in the directory `scripts/demo.sh` builds from the fixtures, and what it
//!   prints (stdout and stderr) must have the shape the README shows under it: line for line, with
//!   numbers, hex and base64 runs standing for any such run, a run of spaces for any run, and `…`
//!   for any text (a line that is only `…` stands for any number of lines). Fingerprints and dates
//!   of the fixtures differ from machine to machine; names, paths, columns, messages and counts of
//!   lines do not.
//! - Every option that `--help` lists for a command is documented in the README.
//!
//! Blocks that cannot run here (a registry, a mount, the host's `/`) are ```` ```text ````.

mod common;

use std::path::Path;
use std::process::Command;

use regex::Regex;

/// Where the README's examples say they run.
const DEMO: &str = "/tmp/rootsift-demo";

struct Example {
    /// The README line of the command.
    line: usize,
    command: String,
    expected: Vec<String>,
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The commands of the ```console blocks, each with the lines shown under it.
fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    for (i, line) in readme.lines().enumerate() {
        if let Some(info) = line.strip_prefix("```") {
            in_console = !in_console && info.trim() == "console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            out.push(Example {
                line: i + 1,
                command: command.to_string(),
                expected: Vec::new(),
            });
        } else if let Some(example) = out.last_mut() {
            example.expected.push(line.to_string());
        }
    }
    out
}

/// A README output line as a pattern over an actual line: `…` is any text; a run of 40 or more
/// base64 characters mixing upper and lower case and digits is any base64; within other words,
/// 8 or more hex digits (with a digit among them) are any hex, and a run of digits any digits;
/// a run of spaces is any run of spaces; the rest is literal.
fn shape(line: &str) -> Regex {
    static HEX: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"[0-9a-fA-F]{8,}|[0-9]+").unwrap());
    let hex = &*HEX;
    let mut pattern = String::from("^");
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let word = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
        if c == '…' {
            pattern.push_str(".*");
            i += 1;
        } else if c == ' ' {
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            pattern.push_str(" +");
        } else if word(c) {
            let start = i;
            while i < chars.len() && word(chars[i]) {
                i += 1;
            }
            while i < chars.len() && chars[i] == '=' {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let base64 = run.len() >= 40
                && run.chars().any(|c| c.is_ascii_uppercase())
                && run.chars().any(|c| c.is_ascii_lowercase())
                && run.chars().any(|c| c.is_ascii_digit());
            if base64 {
                pattern.push_str("[A-Za-z0-9+/]+=*");
                continue;
            }
            let mut at = 0;
            for m in hex.find_iter(&run) {
                pattern.push_str(&regex::escape(&run[at..m.start()]));
                let text = m.as_str();
                if text.bytes().all(|b| b.is_ascii_digit()) {
                    pattern.push_str("[0-9]+");
                } else if text.bytes().any(|b| b.is_ascii_digit()) {
                    pattern.push_str("[0-9a-fA-F]+");
                } else {
                    pattern.push_str(&regex::escape(text));
                }
                at = m.end();
            }
            pattern.push_str(&regex::escape(&run[at..]));
        } else {
            pattern.push_str(&regex::escape(&c.to_string()));
            i += 1;
        }
    }
    pattern.push('$');
    Regex::new(&pattern).unwrap()
}

/// Whether `actual` has the shape of `expected`; else the first line that differs.
fn compare(expected: &[String], actual: &[String]) -> Result<(), String> {
    // Each README line's pattern, made once (`None`: a line that is only `…`).
    let shapes: Vec<Option<Regex>> = expected
        .iter()
        .map(|e| (e.trim() != "…").then(|| shape(e)))
        .collect();
    fn go(expected: &[Option<Regex>], actual: &[String]) -> Option<(usize, usize)> {
        match expected.first() {
            None if actual.is_empty() => None,
            None => Some((0, 0)),
            Some(None) => {
                // Any number of lines.
                let mut worst = Some((0, 0));
                for skip in 0..=actual.len() {
                    match go(&expected[1..], &actual[skip..]) {
                        None => return None,
                        Some((ei, ai)) => worst = Some((ei + 1, ai + skip)),
                    }
                }
                worst
            }
            Some(_) if actual.is_empty() => Some((0, 0)),
            Some(Some(e)) if e.is_match(actual[0].trim_end()) => {
                go(&expected[1..], &actual[1..]).map(|(ei, ai)| (ei + 1, ai + 1))
            }
            Some(_) => Some((0, 0)),
        }
    }
    match go(&shapes, actual) {
        None => Ok(()),
        Some((ei, ai)) => Err(format!(
            "README line +{ei}: {:?}\n   actual line {ai}: {:?}",
            expected.get(ei).map_or("(end)", |s| s.as_str()),
            actual.get(ai).map_or("(end)", |s| s.as_str())
        )),
    }
}

#[test]
fn the_shape_matcher_is_strict_where_it_must_be() {
    let ok = |e: &[&str], a: &[&str]| {
        compare(
            &e.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &a.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert!(
        ok(
            &["Found 12 certificates in 0.00s"],
            &["Found 3 certificates in 1.25s"]
        )
        .is_ok()
    );
    assert!(ok(&["Found 12 certificates"], &["Found 12 partials"]).is_err());
    assert!(ok(&["a  b"], &["a b"]).is_ok());
    assert!(ok(&["sha256 16af57a9f676b0ab"], &["sha256 73c176434f1bc6d5"]).is_ok());
    assert!(ok(&["x", "…", "z"], &["x", "1", "2", "z"]).is_ok());
    assert!(ok(&["x", "z"], &["x", "1", "z"]).is_err());
    assert!(ok(&["x"], &["x", "y"]).is_err());
    assert!(ok(&["/opt/app.war"], &["/opt/app.jar"]).is_err());
    assert!(
        ok(
            &["MIIC3zCCAcegAwIBAgIUS1x+hFXUgq8E8JroUNwjmI7Kv4QwDQYJKoZIhvcNAQEL"],
            &["MIIC3zCCAcegAwIBAgIUQk27Ucv69ozQCPzHovWaJGPXBDswDQYJKoZIhvcNAQEL"]
        )
        .is_ok()
    );
}

#[test]
fn every_console_example_runs_as_shown() {
    let fixtures = common::fixtures();
    let demo = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(demo.path())
        .env("ROOTSIFT_FIXTURES", fixtures.as_os_str())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/demo.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = Path::new(env!("CARGO_BIN_EXE_rootsift")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let examples = examples(&readme());
    assert!(
        examples.len() >= 15,
        "only {} console examples",
        examples.len()
    );
    let mut failures = Vec::new();
    for example in &examples {
        let out = Command::new("unshare")
            .args(["-n", "bash", "-c"])
            .arg(format!("{} 2>&1", example.command))
            .current_dir(demo.path())
            .env("PATH", &path)
            .env_remove("COLUMNS")
            .env("XDG_CACHE_HOME", demo.path().join(".cache"))
            .output()
            .unwrap();
        let printed =
            String::from_utf8_lossy(&out.stdout).replace(&demo.path().display().to_string(), DEMO);
        let actual: Vec<String> = printed.lines().map(str::to_string).collect();
        if let Err(why) = compare(&example.expected, &actual) {
            failures.push(format!(
                "README.md:{}: $ {}\n   {why}\n--- printed ---\n{printed}",
                example.line, example.command
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_option_is_documented() {
    let readme = readme();
    let option = Regex::new(r"(?m)^\s+(?:-\w, )?(--[a-z0-9-]+)").unwrap();
    let mut missing = Vec::new();
    for command in [
        &["scan"][..],
        &["inspect"],
        &["validate"],
        &["sigscan", "fs"],
        &["mount"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rootsift"))
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for m in option.captures_iter(&help) {
            let flag = &m[1];
            let documented =
                readme.contains(&format!("`{flag}")) || readme.contains(&format!(", {flag}"));
            if flag != "--help" && flag != "--version" && !documented {
                missing.push(format!("{} {flag}", command.join(" ")));
            }
        }
    }
    assert!(missing.is_empty(), "options not in the README: {missing:?}");
}
