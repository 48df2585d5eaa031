//! A guard around third-party readers that may panic on malformed input.

thread_local! {
    /// Whether this thread is inside [`guard_reader_panics`].
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How many [`guard_reader_panics`] calls are running, on any thread.
static ACTIVE_GUARDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs a third-party reader that may panic on malformed input (polars' Parquet reader
/// `expect`s well-formed Thrift, and panics on column types this build leaves out) and
/// turns such a panic into `Err(message)`.
///
/// The panic hook is wrapped once so that a guarded panic is not printed as if the
/// program had crashed: one on this thread, or on a polars worker thread while a guarded
/// read runs (rayon hands that panic back to the caller, where it is caught here).
/// Other panics still reach the previous hook.
pub(super) fn guard_reader_panics<T>(read: impl FnOnce() -> T) -> Result<T, String> {
    use std::sync::atomic::Ordering;
    static WRAP_HOOK: std::sync::Once = std::sync::Once::new();
    WRAP_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_worker = ACTIVE_GUARDS.load(Ordering::SeqCst) > 0
                && std::thread::current().name().is_some_and(|n| n.starts_with("polars"));
            if !GUARDED.with(std::cell::Cell::get) && !on_worker {
                previous(info);
            }
        }));
    });
    ACTIVE_GUARDS.fetch_add(1, Ordering::SeqCst);
    let was_guarded = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(was_guarded));
    ACTIVE_GUARDS.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| crate::jobs::panic_message(payload.as_ref()))
}
