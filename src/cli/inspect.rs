//! `rootsift inspect`: every certificate found, judged offline (expiry, Mozilla removals, weak keys
//! and signatures, trust-store hygiene), as a table, JSON, SARIF or CycloneDX.

use std::io::{self, IsTerminal, Write};

use clap::{Args, ValueEnum};

use rootsift::analyze::Level;
use rootsift::analyze::checks::{CheckOptions, judge_all, parse_time, parse_window};
use rootsift::analyze::mozilla::MozillaData;
use rootsift::report::InspectContext;
use rootsift::report::inspect::{self, Inspection};
use rootsift::report::{cyclonedx, sarif};

use super::scan::{CertArgs, SourceArgs, collect, written};
use super::{EXIT_ERROR, EXIT_FAILED, EXIT_OK, error_line};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
    Sarif,
    Cyclonedx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Exit 1 when any certificate has an error-level issue.
    Error,
    /// Exit 1 when any certificate has any issue.
    Warning,
}

/// Options that judge certificates, shared with `validate`.
#[derive(Debug, Args)]
pub struct JudgeArgs {
    /// The clock to judge validity against (YYYY-MM-DD or RFC 3339) [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    now: Option<i64>,

    /// Mozilla's removed-CA report (CCADB's RemovedCACertificateReportCSVFormat), merged over the
    /// embedded data.
    #[arg(long, value_name = "FILE")]
    mozilla_data: Option<std::path::PathBuf>,
}

impl JudgeArgs {
    /// The clock, in seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        })
    }

    /// The embedded Mozilla data, with `--mozilla-data` merged in; prints the error and gives
    /// `None` when that file cannot be used.
    pub fn mozilla(&self) -> Option<std::borrow::Cow<'static, MozillaData>> {
        let embedded = MozillaData::embedded();
        let Some(path) = &self.mozilla_data else {
            return Some(std::borrow::Cow::Borrowed(embedded));
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                error_line(format_args!("--mozilla-data {}: {e}", path.display()));
                return None;
            }
        };
        match embedded.with_ccadb_csv(&bytes) {
            Ok(data) => Some(std::borrow::Cow::Owned(data)),
            Err(e) => {
                error_line(format_args!("--mozilla-data {}: {e}", path.display()));
                None
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    source: SourceArgs,

    #[command(flatten)]
    certs: CertArgs,

    #[command(flatten)]
    judge: JudgeArgs,

    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short, long, value_enum)]
    output: Option<OutputFormat>,

    /// How close to expiry counts as expiring soon (days, or with a unit: 180d, 26w, 6m, 1y).
    #[arg(long, value_name = "WINDOW", value_parser = parse_window, default_value = "180d")]
    expiry_window: i64,

    /// Exit 1 when an issue of this level or worse is found.
    #[arg(long, value_enum, value_name = "LEVEL")]
    fail_on: Option<FailOn>,
}

pub fn run(args: InspectArgs) -> i32 {
    let Some(mozilla) = args.judge.mozilla() else {
        return EXIT_ERROR;
    };
    let Some((targets, mut options)) = args.source.resolve() else {
        return EXIT_ERROR;
    };
    args.certs.apply(&mut options);
    let now = args.judge.now();
    let collected = collect(&targets, &options);
    let judged = judge_all(
        collected.findings,
        &CheckOptions {
            now,
            expiry_window: args.expiry_window,
            mozilla: &mozilla,
        },
    );
    let source = mozilla.source().to_string();
    let context = InspectContext {
        targets: args.source.names(),
        now,
        mozilla_date: mozilla.date(),
        mozilla_source: &source,
    };
    let inspection = Inspection {
        judged: &judged,
        partials: &collected.partials,
        errors: &collected.errors,
        summary: &collected.summary,
        context: &context,
    };

    let stdout = io::stdout();
    let format = match args.output {
        Some(format) => format,
        None if stdout.is_terminal() => OutputFormat::Table,
        None => OutputFormat::Json,
    };
    let mut out = io::BufWriter::with_capacity(64 << 10, stdout.lock());
    let result = match format {
        OutputFormat::Table => inspect::write_table(&mut out, &inspection),
        OutputFormat::Json => inspect::write_json(&mut out, &inspection),
        OutputFormat::Sarif => sarif::write(&mut out, &judged, &context),
        OutputFormat::Cyclonedx => cyclonedx::write(&mut out, &judged, &context),
    }
    .and_then(|()| out.flush());

    let threshold = match args.fail_on {
        None => None,
        Some(FailOn::Error) => Some(Level::Error),
        Some(FailOn::Warning) => Some(Level::Warning),
    };
    let failed = threshold.is_some_and(|t| judged.iter().any(|j| j.worst() >= Some(t)));
    written(
        result,
        &collected.summary,
        if failed { EXIT_FAILED } else { EXIT_OK },
    )
}
