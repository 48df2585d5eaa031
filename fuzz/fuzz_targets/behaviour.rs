//! `load_dataset` on an arbitrary behaviour file against a tiny fixed catalogue.
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use recfuse::data::{DataSources, EventWeights, load_dataset};
use recfuse::jobs::Progress;

const CATALOGUE: &[u8] = b"item_id,title,price,category\nA,Mug,3.5,Kitchen\nB,Plate,2,Kitchen > Plates\nC,Lamp,N/A,Home\n1,One,1,\n";

fuzz_target!(|data: &[u8]| {
    static CATALOGUE_PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    let catalogue = CATALOGUE_PATH.get_or_init(|| {
        let p = common::scratch_dir().join("fixed_catalogue.csv");
        let _ = std::fs::write(&p, CATALOGUE);
        p
    });
    let Some(behaviour) = common::write_input("behaviour", data) else { return };
    let sources = DataSources { catalogue: Some(catalogue.clone()), behaviour, ..DataSources::default() };
    if let Ok(dataset) = load_dataset(&sources, &EventWeights::default(), &Progress::new()) {
        let _ = dataset.report.to_json();
        let _ = dataset.behaviour.event_type_histogram();
    }
});
