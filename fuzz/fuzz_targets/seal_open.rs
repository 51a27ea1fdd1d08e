//! Fuzz target `seal_open`: see `fuzz/README.md` and `tests/fuzz_props/mod.rs`.
#![no_main]

#[path = "../../tests/fuzz_props/mod.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::seal_open(data);
});
