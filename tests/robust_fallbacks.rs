//! Fallbacks with a visible notice: a missing or corrupt model leaves the workbench
//! running without the `semantic` signal; an unusable cache directory or a GPU that is
//! not there only costs speed, and the user is told.
//!
//! These tests change `RECFUSE_CACHE_DIR`, which is process-wide: they live in their own
//! test binary and each one holds [`ENV_LOCK`] while it runs.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use recfuse::embed::cache::CACHE_DIR_ENV;
use recfuse::score::SignalId;
use recfuse::session::{Command, NoticeLevel, Session, Workbench};

static ENV_LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ENV_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Points the embedding cache at `dir`. Callers hold [`ENV_LOCK`], and every test here
/// waits for its jobs to end, so no other thread reads the environment meanwhile.
fn set_cache_dir(dir: &Path) {
    // SAFETY: see above; the tests of this binary are serialised by ENV_LOCK.
    unsafe { std::env::set_var(CACHE_DIR_ENV, dir) };
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad").join(name)
}

fn bundled_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/all-MiniLM-L6-v2")
}

fn small_session() -> Session {
    let mut s = Session::default();
    s.data.catalogue = Some(fixture("catalogue.csv"));
    s.data.behaviour = fixture("events.csv");
    s.rules.clear();
    s
}

/// Starts the workbench with embedding on and steps it until no job runs.
fn run_to_idle(session: Session) -> Workbench {
    let mut wb = Workbench::new(session);
    wb.set_embedding_enabled(true);
    wb.handle(Command::Reload);
    let start = Instant::now();
    loop {
        wb.poll();
        if wb.jobs().running().is_empty() && (wb.engine().is_some() || wb.data_error().is_some()) {
            return wb;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "jobs still running: {:?}", wb.jobs().running());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn warnings(wb: &Workbench) -> Vec<String> {
    wb.notices().iter().filter(|n| n.level == NoticeLevel::Warning).map(|n| n.text.clone()).collect()
}

/// The list is there, made without the semantic signal, and the reason is the model's.
fn assert_runs_without_semantic(wb: &Workbench, reason_mentions: &str) {
    let engine = wb.engine().expect("signals fitted");
    assert!(!engine.models.scorers.contains_key(&SignalId::SEMANTIC));
    let reason = engine.models.unavailable.get(&SignalId::SEMANTIC).cloned().unwrap_or_default();
    assert!(reason.contains(reason_mentions), "semantic unavailable because '{reason}'");
    assert!(!wb.list().is_empty(), "the list must still appear");
    for entry in wb.list() {
        assert!(entry.contributions.iter().all(|(s, v)| *s != SignalId::SEMANTIC || *v == 0.0));
    }
    let warned = warnings(wb);
    assert!(
        warned.iter().any(|w| w.contains("semantic signal unavailable") && w.contains(reason_mentions)),
        "{warned:?}"
    );
    assert!(wb.data_error().is_none());
}

#[test]
fn a_missing_model_folder_leaves_the_app_without_semantic() {
    let _guard = lock();
    let cache = tempfile::tempdir().expect("tempdir");
    set_cache_dir(cache.path());
    let mut session = small_session();
    session.model.model_dir = Some(cache.path().join("no-such-model"));
    let wb = run_to_idle(session);
    assert_runs_without_semantic(&wb, "no-such-model");
    assert!(wb.model().is_none());
}

#[test]
fn a_corrupt_model_leaves_the_app_without_semantic() {
    let _guard = lock();
    let dir = tempfile::tempdir().expect("tempdir");
    set_cache_dir(&dir.path().join("cache"));
    let model = dir.path().join("broken-model");
    std::fs::create_dir(&model).expect("mkdir");
    for name in ["config.json", "tokenizer.json", "sentence_bert_config.json"] {
        std::fs::copy(bundled_model().join(name), model.join(name)).expect("copy");
    }
    let weights = std::fs::read(bundled_model().join("model.safetensors")).expect("read weights");
    std::fs::write(model.join("model.safetensors"), weights.get(..4096).unwrap_or(&[])).expect("truncate");
    let mut session = small_session();
    session.model.model_dir = Some(model);
    let wb = run_to_idle(session);
    assert_runs_without_semantic(&wb, "model.safetensors");
}

#[test]
fn an_unusable_cache_directory_and_a_missing_gpu_only_cost_speed() {
    let _guard = lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let plain_file = dir.path().join("not-a-directory");
    std::fs::write(&plain_file, b"x").expect("write");
    // A cache "directory" below a regular file cannot be created, even by root.
    set_cache_dir(&plain_file.join("cache"));
    let mut session = small_session();
    session.model.device = "cuda".to_owned();
    let wb = run_to_idle(session);
    let warned = warnings(&wb);
    assert!(
        warned.iter().any(|w| w.contains("embedding cache unavailable") && w.contains("not-a-directory")),
        "{warned:?}"
    );
    assert!(warned.iter().any(|w| w.contains("CUDA:0 unavailable") && w.contains("using CPU")), "{warned:?}");
    assert_eq!(wb.model().map(|m| m.device.as_str()), Some("CPU"));
    let engine = wb.engine().expect("signals fitted");
    assert!(engine.models.scorers.contains_key(&SignalId::SEMANTIC), "{:?}", engine.models.unavailable);
    assert_eq!(wb.vectors().map(|v| v.data.len()), Some(3 * 384));
    assert_eq!(std::fs::read(&plain_file).expect("read"), b"x");
}

#[test]
fn cli_embed_with_cuda_in_a_cpu_build_uses_the_cpu_and_says_so() {
    let _guard = lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("texts.json");
    let output = dir.path().join("vectors.json");
    std::fs::write(&input, br#"["a ceramic mug", "a paper lantern"]"#).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recfuse"))
        .args(["embed", "--device", "cuda", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(CACHE_DIR_ENV, dir.path().join("cache"))
        .output()
        .expect("run recfuse");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    if cfg!(feature = "cuda") {
        return; // A CUDA build on a GPU machine may really use the GPU.
    }
    assert!(stderr.contains("CUDA:0 unavailable") && stderr.contains("using CPU"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&output).expect("output")).expect("json");
    assert_eq!(v["device"], "CPU");
    assert_eq!(v["dim"], 384);
    assert_eq!(v["embeddings"].as_array().map(Vec::len), Some(2));
}

/// With `--device auto` (the default) in a build without GPU support, using the CPU is the
/// expected outcome: the user gets a note, not a warning. (A GPU asked for by name still warns:
/// see `an_unusable_cache_directory_and_a_missing_gpu_only_cost_speed`.)
#[test]
fn the_cpu_chosen_automatically_is_a_note_not_a_warning() {
    if cfg!(any(feature = "cuda", feature = "metal")) {
        return;
    }
    let _guard = lock();
    let dir = tempfile::tempdir().expect("tempdir");
    set_cache_dir(dir.path());
    let session = small_session();
    assert_eq!(session.model.device, "auto");
    let wb = run_to_idle(session);
    assert!(wb.vectors().is_some(), "the catalogue is embedded on the CPU");
    let notes: Vec<&str> =
        wb.notices().iter().filter(|n| n.level == NoticeLevel::Info).map(|n| n.text.as_str()).collect();
    assert!(notes.iter().any(|n| n.contains("no GPU support") && n.contains("using CPU")), "{:?}", wb.notices());
    assert!(warnings(&wb).is_empty(), "{:?}", wb.notices());
}
