//! `flipframe::fuzzing::run("upload_body", …)`: the checks live in the library so the
//! regression test over saved inputs (tests/fuzz_regressions.rs) runs them too.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flipframe::fuzzing::run("upload_body", data));
