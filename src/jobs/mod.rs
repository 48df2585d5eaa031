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
