//! Request headers as credentials meet them: `Authorization: Bearer` and
//! `X-Api-Key`, a JWT's header and claims parsed before its signature is
//! checked. Nothing made up may authenticate.
#![no_main]
use flipframe::fuzzing::{PARTNER_TOKEN, authenticate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|head: &[u8]| {
    if authenticate(head) {
        // Only the configured external token can pass without a signature
        // from the dev key, which the fuzzer cannot forge.
        let text = String::from_utf8_lossy(head);
        assert!(text.contains(PARTNER_TOKEN) || text.contains("eyJ"), "{text}");
    }
});
