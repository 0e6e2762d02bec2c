//! Command-line definitions and the glue from arguments to the library. No logic a library user
//! would need lives here.
//!
//! Exit codes: 0 done and nothing failed; 1 a check failed; 2 error (usage, unreadable target).

mod image;
mod inspect;
mod mount;
mod progress;
mod scan;
mod sigscan;
mod validate;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

use rootsift::report::text::printable;

/// Find every certificate (trust anchor) and code-signing signature in a root filesystem.
#[derive(Debug, Parser)]
#[command(
    name = "rootsift",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Exit codes: 0 done and nothing failed; 1 a check failed; 2 error (usage, unreadable target).\n\
                  Files that cannot be read inside a scan are listed under `errors` and do not change the exit code."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Find every certificate in directories and files (Paranoia's export).
    Scan(scan::ScanArgs),
    /// Judge every certificate found: expiry, Mozilla removals, weak keys and signatures, trust-store hygiene.
    Inspect(inspect::InspectArgs),
    /// Check the certificates found against a policy (Paranoia's .paranoia.yaml); exit 1 if violated.
    Validate(validate::ValidateArgs),
    /// Find code-signing signatures (SigScan's modes; `fs`: directories and files).
    #[command(subcommand)]
    Sigscan(sigscan::SigscanCommand),
    /// Mount an image read-only (FUSE); its layers are fetched when first needed.
    Mount(mount::MountArgs),
    /// Print the version and the date of the embedded Mozilla root store data.
    Version,
}

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the check failed (`validate`'s policy, `inspect --fail-on`).
pub const EXIT_FAILED: i32 = 1;
/// Exit code: an error stopped the command (usage, unreadable target, output failure).
pub const EXIT_ERROR: i32 = 2;

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Sigscan(command) => sigscan::run(command),
        Command::Mount(args) => mount::run(args),
        Command::Version => {
            let mozilla = rootsift::analyze::mozilla::MozillaData::embedded();
            println!("rootsift {}", env!("CARGO_PKG_VERSION"));
            println!("Mozilla root store data: {}", mozilla.source());
            EXIT_OK
        }
    }
}

/// Prints one clear error line to stderr. Messages can quote input (a file name, a registry's
/// answer): control characters are escaped, so it stays one line and cannot drive the terminal.
pub fn error_line(message: impl std::fmt::Display) {
    let message = message.to_string();
    eprintln!("rootsift: error: {}", printable(&message));
}

/// The width of the terminal standard output is, or `None` when it is not one (`table` is then
/// never cut). `COLUMNS` stands in when the terminal does not say.
pub fn terminal_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(&stdout)
        .map(|(terminal_size::Width(w), _)| usize::from(w))
        .filter(|&w| w > 0)
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
}
