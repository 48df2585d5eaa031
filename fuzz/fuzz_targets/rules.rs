//! Rules files: parsing arbitrary text as a rules array, the checks `--rules` and sessions
//! apply, scoping, descriptions, and writing back what was accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recfuse::fusion::{ListFor, Rule, check_rules, rules_for};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(rules) = serde_json::from_str::<Vec<Rule>>(text) else { return };
    if check_rules(&rules).is_err() {
        return;
    }
    for rule in &rules {
        let _ = rule.describe();
    }
    let segments = [("country".to_owned(), "France".to_owned())];
    let _ = rules_for(&rules, ListFor::Shopper("u1"), &segments);
    let _ = rules_for(&rules, ListFor::Search { query: "red mug", shopper: Some("u1") }, &segments);
    // Accepted rules must serialise and be accepted again.
    if let Ok(json) = serde_json::to_string(&rules) {
        let again: Vec<Rule> = serde_json::from_str(&json).expect("accepted rules round-trip");
        assert!(check_rules(&again).is_ok(), "accepted rules are refused after a round trip: {json}");
    }
});
