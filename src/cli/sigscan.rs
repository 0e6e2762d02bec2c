//! `rootsift sigscan fs PATH...`: every code-signing signature in a tree (SigScan's `fs` mode),
//! verified unless `--no-verify`.

use std::io::{self, IsTerminal, Write};

use clap::{Args, Subcommand, ValueEnum};

use rootsift::report::{Reporter, SignaturesJson, SignaturesJsonLines, SignaturesTable};
use rootsift::scan::{Progress, Record, scan};
use rootsift::sign::SignOptions;

use super::progress::ProgressLine;
use super::scan::{SourceArgs, written};
use super::{EXIT_ERROR, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum SigscanCommand {
    /// Every Authenticode (PE/EFI), JAR and kernel-module signature under directories and files.
    Fs(FsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Wide,
    Json,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct FsArgs {
    #[command(flatten)]
    source: SourceArgs,

    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short, long, value_enum)]
    output: Option<OutputFormat>,

    /// Parse signatures without checking digests and signatures (`verified` is then null).
    #[arg(long)]
    no_verify: bool,
}

pub fn run(command: SigscanCommand) -> i32 {
    let SigscanCommand::Fs(args) = command;
    let Some((targets, mut options)) = args.source.resolve() else {
        return EXIT_ERROR;
    };
    options.certificates = false;
    options.signatures = Some(SignOptions {
        verify: !args.no_verify,
    });
    let stdout = io::stdout();
    let format = match args.output {
        Some(format) => format,
        None if stdout.is_terminal() => OutputFormat::Table,
        None => OutputFormat::Json,
    };
    let out: Box<dyn Write> = Box::new(io::BufWriter::with_capacity(64 << 10, stdout.lock()));
    let mut reporter: Box<dyn Reporter> = match format {
        OutputFormat::Table => Box::new(SignaturesTable::new(out, false)),
        OutputFormat::Wide => Box::new(SignaturesTable::new(out, true)),
        OutputFormat::Json => Box::new(SignaturesJson::new(out, args.source.names().to_vec())),
        OutputFormat::Jsonl => Box::new(SignaturesJsonLines::new(out)),
    };
    let progress: &'static Progress = Box::leak(Box::default());
    let line = ProgressLine::start(progress);
    let mut failure: Option<io::Error> = None;
    let summary = scan(&targets, &options, progress, |record| {
        if failure.is_some() {
            return;
        }
        let result = match &record {
            Record::Signature(s) => reporter.signature(s),
            Record::Error(e) => reporter.error(e),
            Record::Certificate(_) | Record::Partial(_) => Ok(()),
        };
        failure = result.err();
    });
    drop(line);
    let result = match failure {
        Some(e) => Err(e),
        None => reporter.finish(&summary),
    };
    written(result, EXIT_OK)
}
