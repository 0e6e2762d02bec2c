//! `rootsift sigscan fs PATH...`: every code-signing signature in a tree (SigScan's `fs` mode),
//! verified unless `--no-verify`.

use std::io::{self, IsTerminal, Write};

use clap::{Args, Subcommand, ValueEnum};

use rootsift::record::Record;
use rootsift::report::{Reporter, SignaturesJson, SignaturesJsonLines, SignaturesTable};
use rootsift::scan::certificates_in;
use std::sync::Arc;

use rootsift::cert::Certificate;
use rootsift::sign::{SignOptions, trust};

use super::scan::{SourceArgs, stream};
use super::{EXIT_ERROR, error_line, terminal_width};

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

    /// Certificates to trust (PEM, DER, PKCS#7, …): each signature gets `trusted`, whether its
    /// signer chains to one of them.
    #[arg(long, value_name = "FILE")]
    trust_roots: Option<std::path::PathBuf>,
}

/// Every certificate in the file at `path`.
fn load_roots(path: &std::path::Path) -> Result<Vec<Arc<Certificate>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("--trust-roots {}: {e}", path.display()))?;
    let roots = certificates_in(&data);
    if roots.is_empty() {
        return Err(format!(
            "--trust-roots {}: no certificate in it",
            path.display()
        ));
    }
    Ok(roots)
}

pub fn run(command: SigscanCommand) -> i32 {
    let SigscanCommand::Fs(args) = command;
    let roots = match args.trust_roots.as_deref().map(load_roots).transpose() {
        Ok(roots) => roots,
        Err(e) => {
            error_line(e);
            return EXIT_ERROR;
        }
    };
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
        OutputFormat::Table => Box::new(SignaturesTable::new(out, false, terminal_width())),
        OutputFormat::Wide => Box::new(SignaturesTable::new(out, true, terminal_width())),
        OutputFormat::Json => Box::new(SignaturesJson::new(out, args.source.names().to_vec())),
        OutputFormat::Jsonl => Box::new(SignaturesJsonLines::new(out)),
    };
    stream(&targets, &options, reporter.as_mut(), |record| {
        if let (Record::Signature(s), Some(roots)) = (record, &roots) {
            s.trusted = Some(trust::is_trusted(&s.signature, roots));
        }
    })
}
