//! Session files: parsing arbitrary text, and writing back what parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recfuse::session::Session;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(session) = Session::from_json(text) {
        // Whatever parsed must serialise and parse back to the same settings.
        if let Ok(json) = serde_json::to_string(&session) {
            let again = Session::from_json(&json);
            assert!(again.is_ok(), "a parsed session does not round-trip: {json}");
        }
    }
});
