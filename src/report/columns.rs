//! Aligned columns for the `table` and `wide` formats: every cell made [`printable`], widths in
//! terminal cells (a CJK character takes two), and — on a terminal — rows cut to its width.
//!
//! Fitting shortens the columns that may be cut, widest first, in three steps that stop as soon
//! as the rows fit: the [`Cut::Start`] and [`Cut::End`] columns (paths, subjects, messages) down
//! to [`ROOMY`] cells, then the [`Cut::Last`] ones (fingerprints) down to [`SHORT`], then the first
//! kind down to [`FLOOR`]. So a path keeps a useful length and a fingerprint its first 15 digits
//! (more than docker's 12) even on a narrow terminal. A cut cell shows `…` where text is missing.
//! Without a width, nothing is cut.

use std::borrow::Cow;
use std::io::{self, Write};

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::text::printable;

/// How narrow paths and subjects become before a fingerprint is cut (in terminal cells).
pub const ROOMY: usize = 40;
/// How narrow a fingerprint becomes.
pub const SHORT: usize = 16;
/// The narrowest a path or subject becomes.
pub const FLOOR: usize = 20;

/// How a column may be shortened to fit the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Never: short values of fixed width (dates, parser names, verdicts).
    Never,
    /// At its end (subjects, messages).
    End,
    /// At its start, keeping the end (paths: the file name matters most).
    Start,
    /// At its end, and only once paths and subjects are down to [`ROOMY`] (fingerprints).
    Last,
}

/// A column: its header and how it may be cut.
pub type Column = (&'static str, Cut);

/// Writes `rows` under `header`, aligned, two spaces between columns; the last column is not
/// padded. With `width`, cuts cells so that lines fit it where the columns allow.
pub fn write_columns(
    out: &mut dyn Write,
    header: &[Column],
    rows: &[Vec<String>],
    width: Option<usize>,
) -> io::Result<()> {
    let cells: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| printable(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|(name, _)| name.width()).collect();
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    if let Some(limit) = width {
        fit(&mut widths, header, limit);
    }
    let last = header.len().saturating_sub(1);
    let mut line = String::new();
    let names = header.iter().map(|(name, _)| Cow::Borrowed(*name));
    for row in std::iter::once(names.collect::<Vec<_>>()).chain(cells) {
        line.clear();
        for (i, cell) in row.iter().enumerate().take(header.len()) {
            let cut = cut_to(cell, widths[i], header[i].1);
            line.push_str(&cut);
            if i < last {
                let pad = widths[i].saturating_sub(cut.width()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Shrinks the cut columns' widths until the line fits `limit`, step by step (see the module).
fn fit(widths: &mut [usize], header: &[Column], limit: usize) {
    let gaps = 2 * widths.len().saturating_sub(1);
    let text = &[Cut::Start, Cut::End][..];
    for (kinds, floor) in [(text, ROOMY), (&[Cut::Last][..], SHORT), (text, FLOOR)] {
        let cuttable: Vec<usize> = (0..widths.len())
            .filter(|&i| kinds.contains(&header[i].1))
            .collect();
        let floor_of = |i: usize| floor.max(header[i].0.width());
        loop {
            let total: usize = widths.iter().sum::<usize>() + gaps;
            if total <= limit {
                return;
            }
            // The widest column that can still give; each round takes at least one cell, so the
            // rounds are bounded by the sum of the widths.
            let Some(&widest) = cuttable
                .iter()
                .filter(|&&i| widths[i] > floor_of(i))
                .max_by_key(|&&i| widths[i])
            else {
                break;
            };
            let next = cuttable
                .iter()
                .filter(|&&i| i != widest)
                .map(|&i| widths[i])
                .max()
                .unwrap_or(0);
            // Down to the next widest, or by the excess, whichever is less (at least one cell).
            let room = widths[widest] - floor_of(widest);
            let by = (total - limit)
                .min(widths[widest].saturating_sub(next))
                .clamp(1, room);
            widths[widest] -= by;
        }
    }
}

/// `cell` shortened to `width` cells the way `cut` says, with `…` where text was left out.
fn cut_to(cell: &str, width: usize, cut: Cut) -> Cow<'_, str> {
    if cell.width() <= width || cut == Cut::Never || width == 0 {
        return Cow::Borrowed(cell);
    }
    let room = width - 1; // for the ellipsis
    let mut kept = 0;
    let take = |c: &char| {
        kept += c.width().unwrap_or(0);
        kept <= room
    };
    Cow::Owned(match cut {
        Cut::Start => {
            let mut tail: Vec<char> = cell.chars().rev().take_while(take).collect();
            tail.reverse();
            // Start at a path separator when one is near: `…/ssl/certs/x`, not `…tc/ssl/certs/x`.
            if let Some(slash) = tail.iter().position(|&c| c == '/')
                && slash > 0
                && slash <= tail.len() / 3
            {
                tail.drain(..slash);
            }
            std::iter::once('…').chain(tail).collect()
        }
        _ => cell
            .chars()
            .take_while(take)
            .chain(std::iter::once('…'))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(header: &[Column], rows: &[&[&str]], width: Option<usize>) -> String {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect();
        let mut out = Vec::new();
        write_columns(&mut out, header, &rows, width).unwrap();
        String::from_utf8(out).unwrap()
    }

    const HEADER: &[Column] = &[
        ("FILE LOCATION", Cut::Start),
        ("PARSER", Cut::Never),
        ("SUBJECT", Cut::End),
        ("SHA-256", Cut::Last),
    ];

    #[test]
    fn without_a_width_nothing_is_cut() {
        let long = "x".repeat(300);
        let out = render(HEADER, &[&[&long, "pem", &long, &"a".repeat(64)]], None);
        assert!(out.lines().nth(1).unwrap().len() > 600);
        assert!(!out.contains('…'));
    }

    #[test]
    fn rows_fit_the_width_cutting_paths_and_subjects_first() {
        let path = format!("/{}ca.pem", "deep/".repeat(40));
        let subject = format!("CN={}", "Long Name ".repeat(20));
        let sha = "a".repeat(64);
        let out = render(HEADER, &[&[&path, "pem", &subject, &sha]], Some(160));
        for line in out.lines() {
            assert!(line.width() <= 160, "{} cells: {line}", line.width());
        }
        let row = out.lines().nth(1).unwrap();
        assert!(
            row.starts_with("…/deep/") && row.contains("/ca.pem  "),
            "{row}"
        );
        assert!(row.contains("CN=Long Name"), "{row}");
        assert!(
            row.ends_with(&sha),
            "the fingerprint is whole while others can give: {row}"
        );
    }

    #[test]
    fn fingerprints_give_after_paths_and_subjects_are_roomy_and_nothing_goes_below_floors() {
        let sha = "b".repeat(64);
        let row = |width| {
            let out = render(
                HEADER,
                &[&[&"p".repeat(100), "pem", &"s".repeat(100), &sha]],
                Some(width),
            );
            out.lines().nth(1).unwrap().to_string()
        };
        // Room for paths and subjects of ROOMY cells and the whole fingerprint.
        let roomy = 2 * ROOMY + "PARSER".len() + 64 + 3 * 2;
        assert!(row(roomy).ends_with(&sha));
        assert_eq!(row(roomy).width(), roomy);
        // Narrower: the fingerprint gives first, down to SHORT.
        let narrower = row(roomy - 10);
        assert!(
            narrower.ends_with(&format!("{}…", "b".repeat(64 - 11))),
            "{narrower}"
        );
        let short = 2 * ROOMY + "PARSER".len() + SHORT + 3 * 2;
        assert!(row(short).ends_with(&format!("{}…", "b".repeat(SHORT - 1))));
        // Narrower still: paths and subjects down to FLOOR, and no further.
        let tiny = row(40);
        assert_eq!(
            tiny.width(),
            2 * FLOOR + "PARSER".len() + SHORT + 3 * 2,
            "{tiny}"
        );
    }

    #[test]
    fn cells_are_escaped_and_wide_characters_counted() {
        let out = render(
            &[("A", Cut::Never), ("B", Cut::Never)],
            &[&["x\n\x1b[31m", "1"], &["証明書", "2"]],
            None,
        );
        assert_eq!(out, "A            B\nx\\n\\x1b[31m  1\n証明書       2\n");
    }
}
