//! Line and column numbers in a text file as editors show them, converted from libyaml's.
//!
//! libyaml (behind `yaml_serde`) follows YAML 1.1 and breaks lines at LF, CR, CR LF, NEL
//! (U+0085), LS (U+2028) and PS (U+2029). Editors, `grep -n` and `sed -n Np` break lines at LF,
//! CR LF and (most editors) a lone CR only: NEL, LS and PS are characters of their line. Error
//! positions in a policy are given in the editors' convention, so "line 3" is the line a user
//! opens; [`Lines`] converts. Columns are 1-based and count characters (Unicode scalar values), as
//! libyaml's do.

/// Whether `c` ends a line for libyaml (CR LF is one break; the caller skips the CR).
fn yaml_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether `c` ends a line in an editor (CR LF is one break; the caller skips the CR).
fn editor_break(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// Where each of libyaml's lines of a text starts, in the editors' convention.
#[derive(Debug, Clone)]
pub struct Lines {
    /// For libyaml's line `i + 1`: the editor line it is on (1-based) and how many characters of
    /// that editor line come before it.
    starts: Vec<(usize, usize)>,
    /// The editor line the text ends on and that line's length in characters.
    end: (usize, usize),
}

impl Lines {
    /// Reads the line structure of `text` (one pass).
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![(1, 0)];
        let (mut line, mut column) = (1, 0);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\r' && chars.peek() == Some(&'\n') {
                column += 1;
                continue;
            }
            if editor_break(c) {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
            if yaml_break(c) {
                starts.push((line, column));
            }
        }
        Lines {
            starts,
            end: (line, column),
        }
    }

    /// The editor's `(line, column)` for libyaml's 1-based `(line, column)`. A position past the
    /// end of the text (libyaml puts an error at the end of input on the line after the last when
    /// the text does not end with a line break) is the end of the last line.
    pub fn position(&self, yaml_line: usize, yaml_column: usize) -> (usize, usize) {
        match self.starts.get(yaml_line.max(1) - 1) {
            Some(&(line, before)) => (line, before + yaml_column.max(1)),
            None => (self.end.0, self.end.1 + 1),
        }
    }

    /// The editor line of libyaml's 1-based line `yaml_line`.
    pub fn line(&self, yaml_line: usize) -> usize {
        self.position(yaml_line, 1).0
    }
}

/// The lines of `text` as an editor shows them: split at LF, CR LF and a lone CR, without the
/// breaks.
pub fn editor_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\n', '\r']) {
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_cr_and_crlf_break_lines_for_both() {
        let lines = Lines::new("a\nbb\r\nccc\rd");
        assert_eq!(lines.position(1, 1), (1, 1));
        assert_eq!(lines.position(2, 2), (2, 2));
        assert_eq!(lines.position(3, 3), (3, 3));
        assert_eq!(lines.position(4, 1), (4, 1));
        // Past the end: the end of the last line.
        assert_eq!(lines.position(5, 1), (4, 2));
    }

    #[test]
    fn nel_ls_and_ps_are_characters_of_their_line() {
        for sep in ['\u{85}', '\u{2028}', '\u{2029}'] {
            let text = format!("ab{sep}cd\nef");
            let lines = Lines::new(&text);
            // libyaml's line 2 (`cd`) starts after `ab` and the separator, on editor line 1.
            assert_eq!(lines.position(2, 1), (1, 4), "{sep:?}");
            assert_eq!(lines.position(2, 2), (1, 5), "{sep:?}");
            assert_eq!(lines.position(3, 2), (2, 2), "{sep:?}");
            assert_eq!(lines.line(3), 2);
        }
    }

    #[test]
    fn the_fuzzers_policy_stays_within_its_lines() {
        // Three editor lines, five for libyaml: it made "line 5 of a 3-line policy".
        let text = include_str!("../../fuzz/regressions/policy/line-separator-positions.yaml");
        let lines = Lines::new(text);
        assert_eq!(editor_lines(text).count(), 3);
        for yaml_line in 1..=6 {
            assert!(lines.line(yaml_line) <= 3, "{yaml_line}");
        }
    }

    #[test]
    fn editor_lines_split_like_an_editor() {
        let got: Vec<_> = editor_lines("a\r\nb\rc\n\nd\u{2028}e").collect();
        assert_eq!(got, ["a", "b", "c", "", "d\u{2028}e"]);
        assert_eq!(editor_lines("").count(), 1);
        assert_eq!(editor_lines("x\n").collect::<Vec<_>>(), ["x", ""]);
    }
}
