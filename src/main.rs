//! The `recfuse` binary: a sub-command runs headless; no sub-command opens the workbench.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = recfuse::cli::Cli::parse();
    match cli.command {
        Some(command) => std::process::ExitCode::from(recfuse::cli::run(command)),
        #[cfg(feature = "gui")]
        None => std::process::ExitCode::from(recfuse::ui::run_workbench()),
        #[cfg(not(feature = "gui"))]
        None => {
            eprintln!("this build has no window (built without the `gui` feature); see `recfuse --help`");
            std::process::ExitCode::from(2)
        }
    }
}
