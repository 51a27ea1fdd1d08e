//! Fuzz target `service`: an arbitrary `Cookie` header (one header line per
//! `\n`-separated part) through `SessionLayer` around a handler that reads the
//! session: never a panic, never a 5xx, no `Set-Cookie` without a valid
//! session, and any re-sealed cookie opens to the same session. The property
//! lives in `tests/fuzz_service/mod.rs`, shared with the corpus replay test.
#![no_main]

#[path = "../../tests/fuzz_service/mod.rs"]
mod fuzz_service;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_service::service(data);
});
