//! Fuzz target `chunk_header`: see `fuzz/README.md` and `tests/fuzz_props/mod.rs`.
#![no_main]

mod alloc_probe;
#[path = "../../tests/fuzz_props/mod.rs"]
mod props;

#[global_allocator]
static ALLOC: alloc_probe::Counting = alloc_probe::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::chunk_header(data, &alloc_probe::Probe);
});
