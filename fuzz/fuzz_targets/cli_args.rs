//! Command lines: the input, split on newlines, is the argument list of `recfuse`; parsing
//! and every option check that needs no data must end in `Ok` or a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let args: Vec<String> = text.split('\n').take(64).map(str::to_owned).collect();
    let _ = recfuse::check_args(&args);
});
