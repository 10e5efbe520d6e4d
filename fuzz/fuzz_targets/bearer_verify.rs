//! signer::verify with the fixture service account's certificate: the input is
//! `bearer \n body`. A forged bearer must never verify; nothing may panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mondoo::__private::signer;
use mondoo::Code;

/// The instant the fixture bearer was made for (2100-01-01).
const NOW: i64 = 4_102_444_800;

struct Fixture {
    certificate: String,
    point: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/service-account/credentials.json");
        let text = std::fs::read_to_string(path).expect("fixture testdata/service-account/credentials.json");
        let creds: serde_json::Value = serde_json::from_str(&text).expect("credentials.json is JSON");
        let certificate = creds["certificate"].as_str().expect("certificate").to_string();
        let point = signer::certificate_public_key(&certificate).expect("fixture certificate");
        Fixture { certificate, point }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (bearer, body) = text.split_once('\n').unwrap_or((text, ""));
    let f = fixture();
    let by_cert = signer::verify(bearer, body.as_bytes(), &f.certificate, NOW);
    let by_point = signer::verify_with_public_key(bearer, body.as_bytes(), &f.point, NOW);
    for result in [&by_cert, &by_point] {
        if let Err(e) = result {
            assert_eq!(e.code(), Code::BearerInvalid, "{e:?}");
        }
    }
    // The fuzzer cannot forge ES384: anything that verifies must be the fixture bearer
    // (or a re-encoding of its parts the verifier accepts), with the fixture's claims.
    if let Ok(claims) = by_cert {
        assert_eq!(claims.chash.as_deref(), Some(signer::chash(body.as_bytes()).as_str()));
    }
});
