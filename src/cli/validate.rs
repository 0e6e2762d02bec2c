//! `rootsift validate`: check the certificates found against a policy in Jetstack Paranoia's
//! `.paranoia.yaml` format (with rootsift's additive extensions). Exit 0 when the policy holds, 1
//! when it is violated, 2 when the policy cannot be read or the scan cannot run.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

use rootsift::analyze::policy::{Entry, Policy, Verdict};
use rootsift::report::text::printable;
use rootsift::scan::{Finding, Summary};

use super::inspect::JudgeArgs;
use super::scan::{CertArgs, SourceArgs, collect, written};
use super::{EXIT_ERROR, EXIT_FAILED, EXIT_OK, error_line};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    /// Paranoia's lines: one per violation.
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    source: SourceArgs,

    #[command(flatten)]
    certs: CertArgs,

    #[command(flatten)]
    judge: JudgeArgs,

    /// The policy (Paranoia's `.paranoia.yaml` format).
    #[arg(short, long, value_name = "FILE", default_value = ".paranoia.yaml")]
    config: PathBuf,

    /// Allow any certificate that is not forbidden: the allow list is not checked.
    #[arg(long)]
    permissive: bool,

    /// Exit 0 even when the policy is violated (the violations are still printed), as Paranoia's
    /// --quiet does.
    #[arg(long)]
    quiet: bool,

    /// Output format.
    #[arg(short, long, value_enum, default_value = "text")]
    output: OutputFormat,
}

pub fn run(args: ValidateArgs) -> i32 {
    let text = match std::fs::read_to_string(&args.config) {
        Ok(text) => text,
        Err(e) => {
            error_line(format_args!("policy {}: {e}", args.config.display()));
            return EXIT_ERROR;
        }
    };
    let policy = match Policy::from_yaml(&text) {
        Ok(policy) => policy,
        Err(e) => {
            error_line(format_args!("policy {}: {e}", args.config.display()));
            return EXIT_ERROR;
        }
    };
    let Some(mozilla) = args.judge.mozilla() else {
        return EXIT_ERROR;
    };
    let Some((targets, mut options)) = args.source.resolve() else {
        return EXIT_ERROR;
    };
    args.certs.apply(&mut options);
    let mut collected = collect(&targets, &options);
    // Violations in a stable order (the scan's is the threads'), so a CI log diffs cleanly.
    collected
        .findings
        .sort_by(|a, b| (&a.location, a.offset).cmp(&(&b.location, b.offset)));
    let verdict = policy.evaluate(
        &collected.findings,
        &mozilla,
        args.judge.now(),
        args.permissive,
    );

    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let report = Report {
        policy: &policy,
        verdict: &verdict,
        findings: &collected.findings,
        summary: &collected.summary,
        targets: args.source.names(),
        permissive: args.permissive,
    };
    let result = match args.output {
        OutputFormat::Text => report.text(&mut out),
        OutputFormat::Json => report.json(&mut out),
    }
    .and_then(|()| out.flush());
    let code = if verdict.passed() || args.quiet {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    written(result, &collected.summary, code)
}

struct Report<'a> {
    policy: &'a Policy,
    verdict: &'a Verdict<'a>,
    findings: &'a [Finding],
    summary: &'a Summary,
    targets: &'a [String],
    permissive: bool,
}

impl Report<'_> {
    /// Paranoia's output, line for line where Paranoia has a line, so scripts that read it work.
    fn text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Validating certificates with {}",
            self.policy.describe(self.permissive)
        )?;
        let targets = self.targets.join(", ");
        let outcome = if self.verdict.passed() {
            "no issues found"
        } else {
            "found issues"
        };
        writeln!(
            out,
            "Scanned {} certificates in {targets}, {outcome}.",
            self.findings.len()
        )?;
        for finding in &self.verdict.not_allowed {
            writeln!(
                out,
                "Certificate with SHA256 fingerprint {} in location {} was not allowed ({})",
                finding.cert.sha256_hex().to_ascii_uppercase(),
                printable(&finding.location),
                printable(&finding.cert.subject)
            )?;
        }
        for (finding, entry) in &self.verdict.forbidden {
            let fingerprint = match entry.sha1() {
                Some(_) => format!("SHA1 {}", finding.cert.sha1_hex().to_ascii_uppercase()),
                None => format!("SHA256 {}", finding.cert.sha256_hex().to_ascii_uppercase()),
            };
            writeln!(
                out,
                "Certificate with {fingerprint} in location {} was forbidden! {} (policy line {}: {})",
                printable(&finding.location),
                comment_sentence(entry),
                entry.line(),
                entry.describe()
            )?;
        }
        for entry in &self.verdict.required_absent {
            writeln!(
                out,
                "Certificate matching {} was required, but was not found. {} (policy line {})",
                entry.describe(),
                comment_sentence(entry),
                entry.line()
            )?;
        }
        if self.summary.partials > 0 || self.summary.errors > 0 {
            writeln!(
                out,
                "Note: {} partials and {} unreadable files were not judged (rootsift scan lists them).",
                self.summary.partials, self.summary.errors
            )?;
        }
        Ok(())
    }

    fn json(&self, out: &mut dyn Write) -> io::Result<()> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Located<'a> {
            file_location: &'a str,
            owner: &'a str,
            #[serde(rename = "fingerprintSHA256")]
            fingerprint_sha256: String,
            #[serde(rename = "fingerprintSHA1")]
            fingerprint_sha1: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            rule: Option<Rule<'a>>,
        }
        #[derive(Serialize)]
        struct Rule<'a> {
            line: usize,
            conditions: String,
            comment: Option<&'a str>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Document<'a> {
            passed: bool,
            mode: &'static str,
            policy: String,
            certificates: usize,
            not_allowed: Vec<Located<'a>>,
            forbidden: Vec<Located<'a>>,
            required_absent: Vec<Rule<'a>>,
            partials: u64,
            errors: u64,
        }
        fn rule(entry: &Entry) -> Rule<'_> {
            Rule {
                line: entry.line(),
                conditions: entry.describe(),
                comment: entry.comment(),
            }
        }
        fn located<'a>(finding: &'a Finding, entry: Option<&'a Entry>) -> Located<'a> {
            Located {
                file_location: &finding.location,
                owner: &finding.cert.subject,
                fingerprint_sha256: finding.cert.sha256_hex(),
                fingerprint_sha1: finding.cert.sha1_hex(),
                rule: entry.map(rule),
            }
        }
        let document = Document {
            passed: self.verdict.passed(),
            mode: if self.permissive {
                "permissive"
            } else {
                "strict"
            },
            policy: self.policy.describe(self.permissive),
            certificates: self.findings.len(),
            not_allowed: self
                .verdict
                .not_allowed
                .iter()
                .map(|f| located(f, None))
                .collect(),
            forbidden: self
                .verdict
                .forbidden
                .iter()
                .map(|(f, e)| located(f, Some(e)))
                .collect(),
            required_absent: self
                .verdict
                .required_absent
                .iter()
                .map(|e| rule(e))
                .collect(),
            partials: self.summary.partials,
            errors: self.summary.errors,
        };
        serde_json::to_writer_pretty(&mut *out, &document)?;
        writeln!(out)
    }
}

/// Paranoia's sentence about an entry's comment.
fn comment_sentence(entry: &Entry) -> String {
    match entry.comment() {
        Some(comment) if !comment.is_empty() => format!("Comment: {comment}"),
        _ => "No comment was provided.".to_string(),
    }
}
