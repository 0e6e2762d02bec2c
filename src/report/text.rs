//! Text meant for a person's terminal: what may be printed of a string that came from the
//! scanned tree, and counted nouns.
//!
//! File names, certificate subjects and error messages come from input: a name holding ESC can
//! rewrite the screen, a newline can forge a line (a `#` comment in `pem` output, a row in a
//! table). Every text format passes such strings through [`printable`]; JSON needs nothing, its
//! strings are escaped by the encoder.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is: C0 and C1 controls and DEL, the line and
/// paragraph separators, and the bidirectional overrides and isolates that reorder what is shown
/// ("Trojan Source").
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every character that must not reach a terminal written as an escape: `\n`, `\r`,
/// `\t`, `\xHH` for the other ASCII and C1 controls, `\u{HHHH}` for the rest. A backslash is
/// written `\\` when the string needs escaping at all, so an escaped name cannot pass for
/// another; strings with nothing to escape (nearly all) are returned as they are.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unprintable) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if unprintable(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if unprintable(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `1 certificate`, `2 certificates`: `noun` is the singular; the plural adds `s`, or replaces
/// a final `y` with `ies`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if let Some(stem) = noun.strip_suffix('y') {
        format!("{n} {stem}ies")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_untouched() {
        for s in ["/etc/ssl/certs/ca.pem", "CN=Ünïcødé 証明書", "a\\b", ""] {
            assert!(matches!(printable(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable("\x1b[2Jx\\y"), "\\x1b[2Jx\\\\y");
        assert_eq!(printable("\r\t\x7f\u{85}"), "\\r\\t\\x7f\\x85");
        assert_eq!(printable("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(printable("a\u{2028}b"), "a\\u{2028}b");
        assert!(!printable("\u{1b}\u{9b}\u{2066}").chars().any(unprintable));
    }

    #[test]
    fn nouns_are_counted() {
        assert_eq!(count(1, "certificate"), "1 certificate");
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(2, "entry"), "2 entries");
        assert_eq!(count(1, "entry"), "1 entry");
    }
}
