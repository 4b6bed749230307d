#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casework_fuzzing::rule_set(data));
