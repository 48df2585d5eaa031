use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::thread::JoinHandle;

use super::progress::{Progress, ProgressSnapshot};

/// The state of a job, as seen by the code that started it.
#[derive(Debug)]
pub enum JobStatus<T> {
    /// Still running.
    Running(ProgressSnapshot),
    /// Finished with a value (which may itself be an error).
    Finished(T),
    /// The job's thread panicked; the message is kept so the UI can show it.
    Panicked(String),
}

/// One job on its own thread, with its progress handle and result channel.
pub struct JobHandle<T> {
    name: String,
    progress: Progress,
    receiver: Receiver<Result<T, String>>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> JobHandle<T> {
    /// Starts `work` on a new named thread. A panic inside `work` is caught and reported
    /// as [`JobStatus::Panicked`] instead of taking the application down.
    pub fn spawn(
        name: impl Into<String>,
        progress: Progress,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> std::io::Result<Self> {
        let name = name.into();
        let (sender, receiver) = channel();
        let thread_progress = progress.clone();
        // The one place a thread is started (clippy.toml disallows it elsewhere).
        #[allow(clippy::disallowed_methods)]
        let thread = std::thread::Builder::new().name(format!("job:{name}")).spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&thread_progress)))
                .map_err(|payload| panic_message(payload.as_ref()));
            let _ = sender.send(result);
            // Wake the UI so it notices the result.
            thread_progress.start_stage("finished", 0);
        })?;
        Ok(Self { name, progress, receiver, thread: Some(thread) })
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The job's progress handle (to read progress or cancel).
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Non-blocking check for the result. After `Finished`/`Panicked` was returned once,
    /// later calls report `Panicked("result already taken")`.
    pub fn poll(&mut self) -> JobStatus<T> {
        match self.receiver.try_recv() {
            Ok(result) => {
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
                match result {
                    Ok(v) => JobStatus::Finished(v),
                    Err(msg) => JobStatus::Panicked(msg),
                }
            }
            Err(TryRecvError::Empty) => JobStatus::Running(self.progress.snapshot()),
            Err(TryRecvError::Disconnected) => JobStatus::Panicked("job ended without a result".to_owned()),
        }
    }

    /// Blocks until the job ends (CLI and tests).
    pub fn wait(mut self) -> Result<T, String> {
        let result = self.receiver.recv().map_err(|_| "job ended without a result".to_owned()).and_then(|r| r);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        result
    }
}

/// Turns a panic payload into a readable message.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// Keeps track of named jobs; a second job with a name that is still running is refused
/// ([`JobRunner::start`]) unless the caller supersedes it ([`JobRunner::replace`]).
pub struct JobRunner<T> {
    jobs: BTreeMap<String, JobHandle<T>>,
    /// Superseded jobs: cancelled, still winding down; their results are discarded.
    retired: Vec<JobHandle<T>>,
}

impl<T> Default for JobRunner<T> {
    fn default() -> Self {
        Self { jobs: BTreeMap::new(), retired: Vec::new() }
    }
}

impl<T: Send + 'static> JobRunner<T> {
    /// Starts a job unless one with the same name is running. Returns `false` when refused.
    pub fn start(
        &mut self,
        name: &str,
        progress: Progress,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> std::io::Result<bool> {
        if self.jobs.contains_key(name) {
            return Ok(false);
        }
        let handle = JobHandle::spawn(name, progress, work)?;
        self.jobs.insert(name.to_owned(), handle);
        Ok(true)
    }

    /// Starts a job, superseding one of the same name: the running one is cancelled and
    /// its result, whenever it comes, is discarded. Returns `false` only when refused.
    pub fn replace(
        &mut self,
        name: &str,
        progress: Progress,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> std::io::Result<bool> {
        self.retire(name);
        self.start(name, progress, work)
    }

    /// Cancels the named job and forgets it: its name is free at once and its result,
    /// whenever it comes, is discarded.
    pub fn retire(&mut self, name: &str) {
        if let Some(job) = self.jobs.remove(name) {
            job.progress().cancel();
            self.retired.push(job);
        }
    }

    /// Superseded jobs that have not ended yet.
    pub fn retired_count(&self) -> usize {
        self.retired.len()
    }

    /// Whether a job with this name is running.
    pub fn is_running(&self, name: &str) -> bool {
        self.jobs.contains_key(name)
    }

    /// Requests cancellation of the named job.
    pub fn cancel(&self, name: &str) {
        if let Some(job) = self.jobs.get(name) {
            job.progress().cancel();
        }
    }

    /// Progress of every running job, sorted by name.
    pub fn running(&self) -> Vec<(String, ProgressSnapshot)> {
        self.jobs.iter().map(|(n, j)| (n.clone(), j.progress().snapshot())).collect()
    }

    /// Collects finished jobs: `(name, Ok(value))` or `(name, Err(panic message))`.
    pub fn poll_finished(&mut self) -> Vec<(String, Result<T, String>)> {
        // Superseded jobs are joined once they end; what they return is dropped.
        self.retired.retain_mut(|job| matches!(job.poll(), JobStatus::Running(_)));
        let mut finished = Vec::new();
        let names: Vec<String> = self.jobs.keys().cloned().collect();
        for name in names {
            let Some(job) = self.jobs.get_mut(&name) else { continue };
            match job.poll() {
                JobStatus::Running(_) => {}
                JobStatus::Finished(v) => finished.push((name.clone(), Ok(v))),
                JobStatus::Panicked(m) => finished.push((name.clone(), Err(m))),
            }
            if !matches!(finished.last(), Some((n, _)) if *n == name) {
                continue;
            }
            self.jobs.remove(&name);
        }
        finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_reports_its_message_and_the_caller_lives_on() {
        let mut handle =
            JobHandle::spawn("boom", Progress::new(), |_: &Progress| -> u32 { panic!("the signal produced garbage") })
                .unwrap();
        let status = loop {
            match handle.poll() {
                JobStatus::Running(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                other => break other,
            }
        };
        match status {
            JobStatus::Panicked(message) => assert_eq!(message, "the signal produced garbage"),
            other => panic!("expected a panicked status, got {other:?}"),
        }
        // The same runner keeps working afterwards.
        let ok = JobHandle::spawn("fine", Progress::new(), |_: &Progress| 7u32).unwrap();
        assert_eq!(ok.wait(), Ok(7));
    }

    #[test]
    fn a_second_job_with_a_running_name_is_refused() {
        let mut runner: JobRunner<u32> = JobRunner::default();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        assert!(runner.start("fit", Progress::new(), move |_| rx.recv().map(|_| 1).unwrap_or(0)).unwrap());
        assert!(!runner.start("fit", Progress::new(), |_| 2).unwrap());
        tx.send(()).unwrap();
    }

    #[test]
    fn a_replaced_job_is_cancelled_and_only_the_new_result_is_reported() {
        let mut runner: JobRunner<u32> = JobRunner::default();
        let (tx, rx) = std::sync::mpsc::channel::<bool>();
        // The old job waits until it sees its cancellation, then reports 1.
        assert!(
            runner
                .start("embed", Progress::new(), move |p| {
                    while !p.is_cancelled() {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                    let _ = tx.send(true);
                    1
                })
                .unwrap()
        );
        assert!(runner.replace("embed", Progress::new(), |_| 2).unwrap());
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)), Ok(true), "the old job was not cancelled");
        let mut results = Vec::new();
        let start = std::time::Instant::now();
        while results.is_empty() || runner.retired_count() > 0 {
            assert!(start.elapsed().as_secs() < 5);
            results.extend(runner.poll_finished().into_iter().map(|(n, r)| (n, r.unwrap())));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(results, vec![("embed".to_owned(), 2)]);
    }
}
