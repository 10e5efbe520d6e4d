//! Config::parse on arbitrary text, then every reader of the parsed document: none may
//! panic, and an error must carry a config code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mondoo::{Code, Config, ErrorClass};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
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
        Err(e) => assert!(
            e.class() == ErrorClass::Config || e.code() == Code::ConfigParse,
            "unexpected code {:?}",
            e.code()
        ),
    }
});
