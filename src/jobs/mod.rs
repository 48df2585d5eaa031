//! Background jobs: the only place in RecFuse that spawns threads.
//!
//! Engine code reports progress and checks for cancellation through a [`Progress`]
//! handle; it never knows whether a GUI, a CLI progress bar or nothing at all is
//! watching. [`JobRunner`] starts named jobs on their own threads and refuses a second
//! job with the same name while the first is still running.

mod progress;
mod runner;

pub use progress::{Cancelled, Progress, ProgressSnapshot};
pub use runner::{JobHandle, JobRunner, JobStatus, panic_message};

/// Runs `f` for every index in `0..n` on the rayon pool of the calling job.
///
/// Engine code uses this instead of touching threads itself; it exists so that the
/// "threads only in `jobs`" rule has a single, documented exception: data-parallel loops.
pub fn parallel_map<T: Send, F: Fn(usize) -> T + Sync + Send>(n: usize, f: F) -> Vec<T> {
    use rayon::prelude::*;
    (0..n).into_par_iter().map(f).collect()
}
