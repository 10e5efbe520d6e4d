//! RegistrationToken::inspect_at on arbitrary text, with and without an endpoint
//! override: a token or a token error, never a panic, and a token's Debug/Display/JSON
//! never contain the token itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mondoo::{ErrorClass, RegistrationToken};

/// 2030-01-01: a fixed "now", so a run is reproducible.
const NOW: i64 = 1_893_456_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for endpoint in [None, Some("https://override.example")] {
        match RegistrationToken::inspect_at(text, endpoint, NOW) {
            Ok(token) => {
                let trimmed = text.trim();
                for shown in [format!("{token:?}"), token.to_string(), token.to_json().to_string()] {
                    assert!(!shown.contains(trimmed), "the token leaked into {shown}");
                }
            }
            Err(e) => assert_eq!(e.class(), ErrorClass::Token, "{e:?}"),
        }
    }
});
