//! libFuzzer target: every input is one call of an exported lossfn function through the C ABI,
//! built and checked by the fuzz driver shared with `tests/fuzz_smoke.rs`.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/fuzz_driver/mod.rs"]
mod fuzz_driver;

fuzz_target!(|data: &[u8]| {
    fuzz_driver::run(data);
});
