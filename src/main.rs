//! The `recfuse` binary: everything is in the library (see `recfuse::run`).

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(recfuse::run())
}
