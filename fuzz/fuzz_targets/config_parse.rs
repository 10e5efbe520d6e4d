//! Config::parse on arbitrary text, then every reader of the parsed document: none may
//! panic, and an error must carry a config code. libmondoo's own JSON reader (which
//! unescapes strings itself so no copy of a key is left unwiped) must agree with
//! serde_json on every document: the same value, key order and error position.
//!
//! Nesting (issue 14, F2): the JSON scan's depth is exact (checked against serde_json's
//! value), the cheap YAML bound is never below what libyaml's events reach (whenever the
//! exact scan finds a document too deep, the bound must say so, or the scan would have
//! been skipped), and any input put inside one level more than the limit is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mondoo::__private::config::structure::{self, Finding, MAX_NESTING};
use mondoo::{Code, Config, ErrorClass};

fn json_depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let too_deep = matches!(structure::scan_json(text), Err(Finding::TooDeep(_)));
        assert_eq!(too_deep, json_depth(&value) > MAX_NESTING, "JSON depth {}", json_depth(&value));
    }
    if let Err(Finding::TooDeep(_)) = structure::scan_yaml(text) {
        assert!(structure::yaml_nesting_bound(text) > MAX_NESTING, "the YAML bound is below the depth");
    }
    let deeper = format!("x: {}{text}", "[".repeat(MAX_NESTING));
    assert!(Config::parse(&deeper).is_err(), "one level more than the limit was accepted");
    match (mondoo::__private::config::json_text::parse(text), serde_json::from_str::<serde_json::Value>(text)) {
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
            let _ = config.space_mrn();
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
