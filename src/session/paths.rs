//! Where the bundled assets and sample data are found at run time.

use std::path::{Path, PathBuf};

use crate::data::DataSources;

/// Finds `relative` (e.g. `sample_data/online_retail`) next to the executable or one of
/// its parents (so `target/release/recfuse` finds the repository's folders), under the
/// crate's manifest directory, or under the current directory.
pub fn find_asset(relative: &str) -> Option<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf);
        for _ in 0..5 {
            let Some(d) = dir else { break };
            roots.push(d.clone());
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    roots.into_iter().map(|r| r.join(relative)).find(|p| p.exists())
}

/// The bundled sample: UCI Online Retail, one customer in ten.
pub fn sample_sources() -> DataSources {
    let dir = find_asset("sample_data/online_retail").unwrap_or_else(|| PathBuf::from("sample_data/online_retail"));
    DataSources {
        catalogue: Some(dir.join("catalogue.csv")),
        behaviour: dir.join("events.csv"),
        ..DataSources::default()
    }
}
