//! The `recfuse` binary: everything is in the library (see `recfuse::run`).

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    bound_malloc_arenas();
    std::process::ExitCode::from(recfuse::run())
}

/// Output piped into a reader that stops early (`recfuse batch … | head -1`) ends the
/// process quietly, as other command-line tools do, instead of a panic in `println!`
/// (Rust ignores SIGPIPE, so every later write fails).
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: resets one signal's disposition to the default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}

/// glibc's malloc gives threads up to 8 arenas per core and keeps what is freed in each:
/// on the 10 M-event set the process held about 1.2 GiB more than its live heap
/// (BENCHMARKS.md, "Scale"). One arena per core keeps the freed memory reusable.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn bound_malloc_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets a malloc parameter; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_malloc_arenas() {}
