//! RecFuse: a workbench for e-commerce search and recommendation.
//!
//! The crate is a library with a thin binary (`src/main.rs`). Engine modules
//! ([`data`], [`embed`], [`score`], [`fusion`], [`eval`]) never depend on the GUI;
//! [`session`] ties them together behind commands; [`ui`] draws and sends commands;
//! [`jobs`] is the only place that starts threads; `cli` runs the same engine headless
//! (see [`run`]). ARCHITECTURE.md has the layers and which way imports go.

// No reachable panics in library code: no unwrap/expect, no unchecked indexing. Tests may.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]
// Functions stay short (clippy.toml: 100 lines); unused or needlessly public code is found.
#![warn(clippy::too_many_lines, unreachable_pub)]

mod cli;
pub mod data;
pub mod embed;
pub mod eval;
pub mod fusion;
pub mod jobs;
pub mod limits;
pub mod rank;
pub mod score;
pub mod session;
#[cfg(feature = "gui")]
pub mod ui;

/// The `recfuse` program: parses the command line, runs a sub-command headless, or opens
/// the workbench window when there is none. Returns the process exit code.
pub fn run() -> u8 {
    use clap::Parser as _;
    match cli::Cli::parse().command {
        Some(command) => cli::run(command),
        #[cfg(feature = "gui")]
        None => ui::run_workbench(),
        #[cfg(not(feature = "gui"))]
        None => {
            eprintln!("this build has no window (built without the `gui` feature); see `recfuse --help`");
            2
        }
    }
}

/// Parses command-line arguments (without the program name) as `recfuse` does and applies
/// the option checks that need no data; nothing is read or run. For the `cli_args` fuzz
/// target: any input must give `Ok` or a message, never a panic.
#[doc(hidden)]
pub fn check_args(args: &[String]) -> Result<(), String> {
    cli::check_args(args)
}
