//! `rootsift scan`, and the scanning arguments and driver that `inspect` and `validate` share.

use std::io::{self, IsTerminal, Write};

use clap::{Args, ValueEnum};

use rootsift::detect::Limits;
use rootsift::record::{FileError, Finding, Partial, Record, Summary};
use rootsift::report::{self, Format, Reporter, Unique};
use rootsift::scan::{Progress, ScanOptions, scan};
use rootsift::source::Target;

use super::progress::ProgressLine;
use super::{EXIT_ERROR, EXIT_OK, error_line};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Wide,
    Json,
    Jsonl,
    Pem,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    source: SourceArgs,

    #[command(flatten)]
    certs: CertArgs,

    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short, long, value_enum)]
    output: Option<OutputFormat>,

    /// Report each distinct certificate once, with every location it was found at.
    #[arg(long)]
    unique: bool,
}

/// What to scan and how: the arguments `scan`, `inspect`, `validate` and `sigscan fs` share.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Directories, files or images to scan. An image is `docker-archive:PATH[:NAME]`,
    /// `oci:DIR[:TAG]`, `oci-archive:PATH[:TAG]`, `docker://HOST/REPO[:TAG|@DIGEST]`, `-` (a
    /// `docker save` stream on stdin), an image archive or OCI layout given as a bare path, or a
    /// bare reference such as `alpine:3.20` that is not an existing path.
    #[arg(required = true, value_name = "TARGET")]
    targets: Vec<String>,

    #[command(flatten)]
    images: super::image::ImageArgs,

    /// In images, also scan files that a later layer deleted or replaced (reported with their
    /// layer and "shadowed": true).
    #[arg(long)]
    all_layers: bool,

    /// Do not cross into other filesystems below a target directory.
    #[arg(long)]
    one_file_system: bool,

    /// Worker threads [default: one per CPU].
    #[arg(
        short = 'j',
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    threads: usize,

    /// Read every file with read(2), never memory-map (for FUSE and network filesystems).
    #[arg(long)]
    no_mmap: bool,

    /// How many archives deep to open (an archive inside an archive is depth 2).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_archive_depth)]
    archive_depth: u32,

    /// Most bytes decompressed from one file, all nested archive members together (suffixes K, M, G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "4G")]
    max_decompressed: u64,

    /// Largest archive member decompressed into memory (suffixes K, M, G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "512M")]
    max_member_size: u64,
}

/// What certificate searches take besides [`SourceArgs`] (`scan`, `inspect`, `validate`).
#[derive(Debug, Args)]
pub struct CertArgs {
    /// A password to try on PKCS#12 stores, after the empty password and "changeit"; repeatable.
    #[arg(long = "pkcs12-password", value_name = "PASSWORD")]
    pkcs12_passwords: Vec<String>,

    /// Also open compiled classes and source files inside archives (.class, .java, .kt, .scala, …).
    #[arg(long)]
    open_code_members: bool,
}

impl CertArgs {
    /// Adds these options to scan options built by [`SourceArgs::resolve`].
    pub fn apply(&self, options: &mut ScanOptions) {
        options
            .pkcs12_passwords
            .extend(self.pkcs12_passwords.iter().cloned());
        options.limits.open_code_members = self.open_code_members;
    }
}

impl SourceArgs {
    /// The targets as given on the command line.
    pub fn names(&self) -> &[String] {
        &self.targets
    }

    /// Resolves the targets and builds the scan options; prints the error and gives `None` when a
    /// target cannot be resolved.
    pub fn resolve(&self) -> Option<(Vec<Target>, ScanOptions)> {
        let mut targets = Vec::new();
        let images = self.images.options();
        for arg in &self.targets {
            match Target::resolve_with(arg, &images) {
                Ok(t) => targets.push(t),
                Err(e) => {
                    error_line(e);
                    return None;
                }
            }
        }
        let options = ScanOptions {
            limits: Limits {
                max_archive_depth: self.archive_depth,
                max_decompressed: self.max_decompressed,
                max_member_size: self.max_member_size,
                ..Limits::default()
            },
            one_file_system: self.one_file_system,
            threads: self.threads,
            no_mmap: self.no_mmap,
            all_layers: self.all_layers,
            ..ScanOptions::default()
        };
        Some((targets, options))
    }
}

/// Everything a scan produced, held in memory (for commands that judge the whole set).
pub struct Collected {
    /// Certificates, in scan order.
    pub findings: Vec<Finding>,
    /// Partials.
    pub partials: Vec<Partial>,
    /// Unreadable files.
    pub errors: Vec<FileError>,
    /// Totals.
    pub summary: Summary,
}

/// Runs a scan with the progress line and keeps every record.
pub fn collect(targets: &[Target], options: &ScanOptions) -> Collected {
    let progress: &'static Progress = Box::leak(Box::default());
    let line = ProgressLine::start(progress);
    let (mut findings, mut partials, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let summary = scan(targets, options, progress, |record| match record {
        Record::Certificate(f) => findings.push(f),
        Record::Partial(p) => partials.push(p),
        Record::Error(e) => errors.push(e),
        Record::Signature(_) => {}
    });
    drop(line);
    Collected {
        findings,
        partials,
        errors,
        summary,
    }
}

/// Ends the program at once, quietly, when the reader of a streamed report went away (`| head`),
/// as ripgrep does: nothing more would be read. The exit code is 0, or 2 when a target already
/// failed. Any other write error is returned, to be reported when the scan is over.
pub fn unless_closed(
    result: io::Result<()>,
    progress: &Progress,
    line: &mut Option<ProgressLine>,
) -> Option<io::Error> {
    let e = result.err()?;
    if e.kind() != io::ErrorKind::BrokenPipe {
        return Some(e);
    }
    drop(line.take());
    let failed = progress
        .failed_targets
        .load(std::sync::atomic::Ordering::Relaxed)
        > 0;
    std::process::exit(if failed { EXIT_ERROR } else { EXIT_OK });
}

/// Turns the result of writing a report into an exit code (a closed pipe is not an error): `code`,
/// unless a target could not be scanned at all (an image whose layer failed): then an error.
pub fn written(result: io::Result<()>, summary: &Summary, code: i32) -> i32 {
    let code = if summary.failed_targets > 0 {
        error_line(format_args!(
            "{} target(s) could not be scanned; their errors are in the report",
            summary.failed_targets
        ));
        EXIT_ERROR
    } else {
        code
    };
    match result {
        Ok(()) => code,
        // The reader went away (`| head`): not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            error_line(format_args!("writing output: {e}"));
            EXIT_ERROR
        }
    }
}

pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 512M, 4G)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("`{s}` is too large"))
}

pub fn run(args: ScanArgs) -> i32 {
    let Some((targets, mut options)) = args.source.resolve() else {
        return EXIT_ERROR;
    };
    args.certs.apply(&mut options);
    let stdout = io::stdout();
    let format = match args.output {
        Some(OutputFormat::Table) => Format::Table,
        Some(OutputFormat::Wide) => Format::Wide,
        Some(OutputFormat::Json) => Format::Json,
        Some(OutputFormat::Jsonl) => Format::JsonLines,
        Some(OutputFormat::Pem) => Format::Pem,
        None if stdout.is_terminal() => Format::Table,
        None => Format::Json,
    };
    let out: Box<dyn Write> = Box::new(io::BufWriter::with_capacity(64 << 10, stdout.lock()));
    let mut reporter = report::reporter(format, out, super::terminal_width());
    if args.unique {
        reporter = Box::new(Unique::new(reporter));
    }
    stream(&targets, &options, reporter.as_mut(), |_| {})
}

/// Runs a scan with the progress line, handing each record (after `adjust`) to `reporter` as it
/// arrives; a closed pipe ends the program quietly. Returns the exit code.
pub fn stream(
    targets: &[Target],
    options: &ScanOptions,
    reporter: &mut dyn Reporter,
    mut adjust: impl FnMut(&mut Record),
) -> i32 {
    let progress: &'static Progress = Box::leak(Box::default());
    let mut line = Some(ProgressLine::start(progress));
    let mut failure: Option<io::Error> = None;
    let summary = scan(targets, options, progress, |mut record| {
        if failure.is_none() {
            adjust(&mut record);
            failure = unless_closed(reporter.record(&record), progress, &mut line);
        }
    });
    drop(line);
    let result = match failure {
        Some(e) => Err(e),
        None => reporter.finish(&summary),
    };
    written(result, &summary, EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("10"), Ok(10));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999G").is_err());
    }
}
