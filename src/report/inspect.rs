//! `inspect` reports in `json` and `table`: every certificate with its issues. (`sarif` and
//! `cyclonedx` have their own modules.)
//!
//! `json` is `scan`'s document with an `issues` list on each certificate entry (one entry per
//! location, as `scan` writes them), plus `inspection` (the clock and the Mozilla data used) and issue
//! counts in `summary`. `table` groups by certificate: only certificates with issues, most serious
//! first, each with every location it was found at.

use std::io::{self, Write};

use serde::Serialize;

use super::InspectContext;
use super::json::{CertificateJson, ErrorJson, PartialJson, SummaryJson};
use super::table::{write_errors, write_partials};
use super::text::{count, printable};
use crate::analyze::{Issue, Judged, Level};
use crate::cert::rfc3339;
use crate::record::{FileError, Partial, Summary};

/// What an inspect run produced.
pub struct Inspection<'a> {
    /// Each distinct certificate with its locations and issues.
    pub judged: &'a [Judged],
    /// Partials of the scan.
    pub partials: &'a [Partial],
    /// Unreadable files.
    pub errors: &'a [FileError],
    /// The scan's totals.
    pub summary: &'a Summary,
    /// The clock and data the checks used.
    pub context: &'a InspectContext<'a>,
}

impl Inspection<'_> {
    /// How many issues of each level, over distinct certificates: (errors, warnings).
    pub fn counts(&self) -> (usize, usize) {
        let issues = self.judged.iter().flat_map(|j| &j.issues);
        issues.fold((0, 0), |(e, w), i| match i.level {
            Level::Error => (e + 1, w),
            Level::Warning => (e, w + 1),
        })
    }
}

#[derive(Serialize)]
struct InspectedJson<'a> {
    #[serde(flatten)]
    certificate: CertificateJson<'a>,
    issues: &'a [Issue],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InspectionJson<'a> {
    now: String,
    mozilla_data: MozillaJson<'a>,
}

#[derive(Serialize)]
struct MozillaJson<'a> {
    date: &'a str,
    source: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InspectSummaryJson {
    #[serde(flatten)]
    scan: SummaryJson,
    certificates_with_issues: usize,
    issue_errors: usize,
    issue_warnings: usize,
}

#[derive(Serialize)]
struct DocumentJson<'a> {
    certificates: Vec<InspectedJson<'a>>,
    partials: Vec<PartialJson<'a>>,
    errors: Vec<ErrorJson<'a>>,
    inspection: InspectionJson<'a>,
    summary: InspectSummaryJson,
}

/// Writes the `json` document.
pub fn write_json(out: &mut dyn Write, inspection: &Inspection<'_>) -> io::Result<()> {
    let (errors, warnings) = inspection.counts();
    let document = DocumentJson {
        certificates: inspection
            .judged
            .iter()
            .flat_map(|j| {
                j.findings.iter().map(|f| InspectedJson {
                    certificate: CertificateJson::new(f, &[]),
                    issues: &j.issues,
                })
            })
            .collect(),
        partials: inspection.partials.iter().map(PartialJson::from).collect(),
        errors: inspection.errors.iter().map(ErrorJson::from).collect(),
        inspection: InspectionJson {
            now: rfc3339(inspection.context.now),
            mozilla_data: MozillaJson {
                date: inspection.context.mozilla_date,
                source: inspection.context.mozilla_source,
            },
        },
        summary: InspectSummaryJson {
            scan: SummaryJson::from(inspection.summary),
            certificates_with_issues: inspection
                .judged
                .iter()
                .filter(|j| !j.issues.is_empty())
                .count(),
            issue_errors: errors,
            issue_warnings: warnings,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    out.flush()
}

/// Writes the `table` view: certificates with issues, grouped, most serious first.
pub fn write_table(out: &mut dyn Write, inspection: &Inspection<'_>) -> io::Result<()> {
    let mut flagged: Vec<&Judged> = inspection
        .judged
        .iter()
        .filter(|j| !j.issues.is_empty())
        .collect();
    flagged.sort_by(|a, b| {
        b.worst()
            .cmp(&a.worst())
            .then_with(|| a.cert.subject.cmp(&b.cert.subject))
    });
    for j in &flagged {
        let c = &j.cert;
        writeln!(out, "{}", printable(&c.subject))?;
        writeln!(
            out,
            "  sha256 {}  valid {} to {}",
            c.sha256_hex(),
            rfc3339(c.not_before),
            rfc3339(c.not_after)
        )?;
        let kind_width = j
            .issues
            .iter()
            .map(|i| i.kind.as_str().len())
            .max()
            .unwrap_or(0);
        for issue in &j.issues {
            writeln!(
                out,
                "  {:<7}  {:<kind_width$}  {}",
                issue.level.as_str(),
                issue.kind.as_str(),
                printable(&issue.message)
            )?;
        }
        let mut locations: Vec<&str> = j.findings.iter().map(|f| f.location.as_str()).collect();
        locations.sort_unstable();
        locations.dedup();
        for (i, location) in locations.iter().enumerate() {
            let label = if i == 0 { "found at" } else { "" };
            writeln!(out, "  {label:<8} {}", printable(location))?;
        }
        writeln!(out)?;
    }
    if !inspection.partials.is_empty() {
        write_partials(out, inspection.partials, None)?;
        writeln!(out)?;
    }
    if !inspection.errors.is_empty() {
        write_errors(out, inspection.errors, None)?;
        writeln!(out)?;
    }
    let (errors, warnings) = inspection.counts();
    let s = inspection.summary;
    writeln!(
        out,
        "{} of {} have issues ({}, {}); {} found in {}, {}, {} unreadable",
        flagged.len(),
        count(inspection.judged.len() as u64, "distinct certificate"),
        count(errors as u64, "error"),
        count(warnings as u64, "warning"),
        count(s.certificates, "certificate"),
        count(s.files, "file"),
        count(s.partials, "partial"),
        s.errors
    )?;
    writeln!(
        out,
        "Checked at {} against {} ({})",
        rfc3339(inspection.context.now),
        inspection.context.mozilla_source,
        inspection.context.mozilla_date
    )?;
    out.flush()
}
