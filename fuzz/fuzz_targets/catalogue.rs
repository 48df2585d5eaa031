//! The catalogue loader on arbitrary bytes in every supported file format.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use recfuse::data::{ColumnMapping, load_catalogue};

fuzz_target!(|data: &[u8]| {
    let Some(path) = common::write_input("catalogue", data) else { return };
    if let Ok((catalogue, report)) = load_catalogue(&path, &ColumnMapping::default()) {
        // Touch what the rest of the app reads, so that inconsistent columns show up here.
        for i in 0..catalogue.len() as u32 {
            let _ = (catalogue.title(i), catalogue.price(i), catalogue.top_category(i));
        }
        let _ = report.drop_summary();
    }
});
