//! The `rootsift` binary: parse arguments, run, map the outcome to an exit code.

#![deny(clippy::undocumented_unsafe_blocks)]

mod cli;

fn main() {
    // A parser bug is contained to its file and reported in `errors`; say it in one line, not a
    // backtrace, unless the user asked for backtraces.
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("rootsift: internal error: {info}")
        }));
    }
    std::process::exit(cli::run());
}
