//! The two halves of reading a platform answer: status_error for a non-200 body and
//! decode_response for a 200 body. The first two bytes choose the HTTP status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mondoo::__private::rpc::{self, AgentRegistrationConfirmation, Empty, HealthCheckResponse, Mrn};
use mondoo::{Code, ErrorClass};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]) % 1000;
    let body = &data[2..];

    let e = rpc::status_error(status, body);
    assert_eq!(e.class(), ErrorClass::Rpc, "a non-200 answer is always an rpc error: {e:?}");
    assert_eq!(e.http_status(), Some(status));
    // a body that is not a status is quoted, cut to 2 KiB (each invalid byte may grow
    // to a 3-byte U+FFFD); a status body's message is the platform's own text
    if serde_json::from_slice::<serde_json::Value>(body).is_err() {
        assert!(e.message().len() <= 3 * 2048 + 64, "message of {} bytes", e.message().len());
    }
    let _ = e.to_string();

    for r in [
        rpc::decode_response::<AgentRegistrationConfirmation>("AgentManager", "RegisterAgent", body).map(|_| ()),
        rpc::decode_response::<HealthCheckResponse>("Health", "Check", body).map(|_| ()),
        rpc::decode_response::<Mrn>("AgentManager", "UnRegisterAgent", body).map(|_| ()),
        rpc::decode_response::<Empty>("AgentManager", "PingPong", body).map(|_| ()),
        rpc::decode_response::<serde_json::Value>("Echo", "Say", body).map(|_| ()),
    ] {
        if let Err(e) = r {
            assert_eq!(e.code(), Code::ResponseInvalid, "{e:?}");
        }
    }
});
