//! Config::parse on arbitrary text, then every reader of the parsed document: none may
//! panic, and an error must carry a config code. libmondoo's own JSON reader (which
//! unescapes strings itself so no copy of a key is left unwiped) must agree with
//! serde_json on every document: the same value, key order and error position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mondoo::{Code, Config, ErrorClass};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match (mondoo::config::json_text::parse(text), serde_json::from_str::<serde_json::Value>(text)) {
        (Ok(ours), Ok(theirs)) => {
            assert_eq!(ours, theirs);
            assert_eq!(ours.to_string(), theirs.to_string(), "key order");
        }
        (Err(ours), Err(theirs)) => assert_eq!((ours.line(), ours.column()), (theirs.line(), theirs.column())),
        (ours, theirs) => panic!("json_text {ours:?} but serde_json {theirs:?}"),
    }
    match Config::parse(text) {
        Ok(config) => {
            let _ = config.validate();
            let _ = config.api_endpoint();
            let _ = config.scope_mrn();
            let _ = config.features();
            let _ = config.labels();
            let _ = config.annotations();
            let _ = config.is_registered();
            let _ = config.redacted_json();
            let _ = format!("{config:?}");
            // the signer reads the key and certificate out of whatever the document holds
            let _ = mondoo::Signer::from_config(&config);
        }
        Err(e) => {
            assert!(e.class() == ErrorClass::Config || e.code() == Code::ConfigParse, "unexpected code {:?}", e.code())
        }
    }
});
