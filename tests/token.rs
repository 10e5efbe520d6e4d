//! Registration token inspection (protocol section 2) against the repository's fixtures.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mondoo::{Code, RegistrationToken};
use serde_json::json;

/// A file of the repository's fixtures (`testdata/`).
fn testdata(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).join(rel)
}

fn fixture(name: &str) -> String {
    let p = testdata(&format!("tokens/{name}"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// 2030-01-01: after the expired fixture, before the valid one's exp (2100).
const NOW: i64 = 1893456000;

/// An unsigned-looking token with these claims (signature is never checked).
fn token_with(claims: serde_json::Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES384","typ":"JWT"}"#);
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{h}.{c}.c2lnbmF0dXJl")
}

fn base_claims() -> serde_json::Value {
    json!({"space": "//captain.api.mondoo.app/spaces/s1", "api_endpoint": "https://us.api.mondoo.com", "exp": NOW + 3600})
}

#[test]
fn valid_fixture_claims_are_read() {
    let raw = fixture("registration-valid.jwt");
    let t = RegistrationToken::inspect_at(&raw, None, NOW).expect("valid token");
    let c = t.claims();
    assert_eq!(t.alg(), "ES384");
    assert_eq!(c.space_mrn.as_deref(), Some("//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456"));
    assert_eq!(c.api_endpoint.as_deref(), Some("https://us.api.mondoo.com"));
    assert_eq!(c.exp, Some(4102444800));
    assert_eq!(c.iat, Some(1704067200));
    assert_eq!(c.nbf, Some(1704067200));
    assert_eq!(c.iss.as_deref(), Some("mondoo/ams"));
    assert_eq!(c.desc.as_deref(), Some("fixture token"));
    assert_eq!(c.owner.as_deref(), Some("//captain.api.mondoo.app/users/fixture"));
    assert_eq!(c.labels.get("env").map(String::as_str), Some("test"));
    assert_eq!(t.api_endpoint(), "https://us.api.mondoo.com");
    assert!(t.warnings().is_empty());

    // Whitespace around the token (a file with a newline, a pasted value) is fine.
    let padded = format!("  \n{}\n\n", raw.trim());
    assert_eq!(RegistrationToken::inspect_at(&padded, None, NOW).unwrap().claims(), c);

    // Neither Debug, Display nor the JSON view carries the token or its signature.
    let sig = raw.trim().rsplit('.').next().unwrap();
    let body = raw.trim().split('.').nth(1).unwrap();
    for shown in [format!("{t:?}"), t.to_string(), t.to_json().to_string()] {
        assert!(!shown.contains(sig) && !shown.contains(body), "token leaked: {shown}");
    }
    let j = t.to_json();
    assert_eq!(j["space"], json!("//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456"));
    assert_eq!(j["expires_at"], json!("2100-01-01T00:00:00Z"));
    assert_eq!(j["alg"], json!("ES384"));
}

#[test]
fn expired_fixture_names_its_expiry() {
    let e = RegistrationToken::inspect_at(&fixture("registration-expired.jwt"), None, NOW).unwrap_err();
    assert_eq!(e.code(), Code::TokenExpired);
    assert_eq!(e.message(), "registration token expired at 2024-01-02T00:00:00Z");
}

#[test]
fn expired_fixture_is_valid_before_its_expiry() {
    // 2024-01-01T12:00:00Z, between its iat/nbf and exp.
    RegistrationToken::inspect_at(&fixture("registration-expired.jwt"), None, 1704110400).unwrap();
}

#[test]
fn nospace_fixture_is_refused() {
    let e = RegistrationToken::inspect_at(&fixture("registration-nospace.jwt"), None, NOW).unwrap_err();
    assert_eq!(e.code(), Code::TokenNoSpace);
    assert!(e.message().contains("space"), "{}", e.message());
}

#[test]
fn not_a_jwt_fixture_is_malformed_and_not_echoed() {
    let raw = fixture("not-a-jwt.txt");
    let e = RegistrationToken::inspect_at(&raw, None, NOW).unwrap_err();
    assert_eq!(e.code(), Code::TokenMalformed);
    assert!(e.message().starts_with("not a valid registration token: "), "{}", e.message());
    for piece in raw.trim().split('.') {
        assert!(!e.message().contains(piece), "token text echoed: {}", e.message());
    }
}

#[test]
fn shapes_that_are_not_tokens() {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES384"}"#);
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&base_claims()).unwrap());
    let cases = [
        ("".to_string(), "empty"),
        ("   ".to_string(), "empty"),
        ("a.b".to_string(), "three"),
        (format!("{h}.{c}.sig.extra"), "three"),
        (format!("{h}.{c}."), "signature"),
        (format!("{h}.{c}.***"), "signature"),
        (format!("{h}.@@@.c2ln"), "claims part is not base64url"),
        (format!("{}.{c}.c2ln", URL_SAFE_NO_PAD.encode(b"not json")), "header is not JSON"),
        (format!("{}.{c}.c2ln", URL_SAFE_NO_PAD.encode(b"[1]")), "header is not a JSON object"),
        (format!("{h}.{}.c2ln", URL_SAFE_NO_PAD.encode(b"\"x\"")), "claims is not a JSON object"),
        (format!("{}.{c}.c2ln", URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT"}"#)), "no alg"),
        (format!("{}.{c}.c2ln", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#)), "unsupported alg"),
        (format!("{}.{c}.c2ln", URL_SAFE_NO_PAD.encode(br#"{"alg":7}"#)), "alg is not a string"),
    ];
    for (tok, why) in cases {
        let e = RegistrationToken::inspect_at(&tok, None, NOW).unwrap_err();
        assert_eq!(e.code(), Code::TokenMalformed, "{tok:?}: {e:?}");
        assert!(e.message().contains(why), "{tok:?}: expected {why:?} in {:?}", e.message());
    }
}

#[test]
fn padded_base64_is_accepted() {
    let claims = serde_json::to_vec(&base_claims()).unwrap();
    let std_pad = base64::engine::general_purpose::URL_SAFE;
    let tok = format!(
        "{}.{}.{}",
        std_pad.encode(br#"{"alg":"ES384","typ":"JWT"}"#),
        std_pad.encode(&claims),
        std_pad.encode(b"si")
    );
    assert!(tok.contains('='), "the test must use padding: {tok}");
    RegistrationToken::inspect_at(&tok, None, NOW).unwrap();
}

#[test]
fn every_known_alg_is_accepted() {
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&base_claims()).unwrap());
    for alg in [
        "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "HS256", "HS384", "HS512",
        "EdDSA",
    ] {
        let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}"}}"#));
        let t = RegistrationToken::inspect_at(&format!("{h}.{c}.c2ln"), None, NOW).unwrap();
        assert_eq!(t.alg(), alg);
    }
}

#[test]
fn not_yet_valid_says_when() {
    let mut c = base_claims();
    c["nbf"] = json!(NOW + 86400);
    c["exp"] = json!(NOW + 2 * 86400);
    let e = RegistrationToken::inspect_at(&token_with(c.clone()), None, NOW).unwrap_err();
    assert_eq!(e.code(), Code::TokenNotYetValid);
    assert_eq!(e.message(), "registration token is not valid before 2030-01-02T00:00:00Z");
    // At nbf it is valid.
    RegistrationToken::inspect_at(&token_with(c), None, NOW + 86400).unwrap();
}

#[test]
fn expiry_is_exclusive() {
    let mut c = base_claims();
    c["exp"] = json!(NOW);
    assert_eq!(
        RegistrationToken::inspect_at(&token_with(c.clone()), None, NOW).unwrap_err().code(),
        Code::TokenExpired
    );
    RegistrationToken::inspect_at(&token_with(c), None, NOW - 1).unwrap();
}

#[test]
fn wrong_claim_types_name_the_claim_and_type() {
    let cases = [
        ("exp", json!("tomorrow"), "claim exp must be a number"),
        ("nbf", json!(true), "claim nbf must be a number"),
        ("iat", json!([1]), "claim iat must be a number"),
        ("space", json!(42), "claim space must be a string"),
        ("api_endpoint", json!({"a": 1}), "claim api_endpoint must be a string"),
        ("iss", json!(1), "claim iss must be a string"),
        ("sub", json!(1), "claim sub must be a string"),
        ("desc", json!(1), "claim desc must be a string"),
        ("owner", json!(1), "claim owner must be a string"),
        ("labels", json!(["a"]), "claim labels must be an object of strings"),
        ("labels", json!({"env": 1}), "claim labels.env must be a string"),
        ("cert_valid_until", json!(1700000000), "claim cert_valid_until must be a string"),
        ("cert_valid_until", json!("next year"), "claim cert_valid_until must be an RFC 3339 time string"),
    ];
    for (name, value, want) in cases {
        let mut c = base_claims();
        c[name] = value;
        let e = RegistrationToken::inspect_at(&token_with(c), None, NOW).unwrap_err();
        assert_eq!(e.code(), Code::TokenInvalidClaim, "{name}: {e:?}");
        assert!(e.message().contains(want), "{name}: expected {want:?} in {:?}", e.message());
    }
}

#[test]
fn float_dates_and_rfc3339_cert_validity_are_read() {
    let mut c = base_claims();
    c["exp"] = json!((NOW + 10) as f64 + 0.75);
    c["iat"] = json!(NOW as f64 - 0.5);
    c["cert_valid_until"] = json!("2031-05-06T07:08:09Z");
    c["unknown_claim"] = json!({"ignored": true});
    c["desc"] = serde_json::Value::Null;
    let t = RegistrationToken::inspect_at(&token_with(c), None, NOW).unwrap();
    assert_eq!(t.claims().exp, Some(NOW + 10));
    assert_eq!(t.claims().iat, Some(NOW - 1)); // whole seconds: the fraction is dropped
    assert_eq!(t.claims().cert_valid_until.as_deref(), Some("2031-05-06T07:08:09Z"));
    assert_eq!(t.claims().desc, None);
}

#[test]
fn missing_expiry_is_a_warning() {
    let mut c = base_claims();
    c.as_object_mut().unwrap().remove("exp");
    let t = RegistrationToken::inspect_at(&token_with(c), None, NOW).unwrap();
    assert_eq!(t.warnings(), ["registration token has no expiry".to_string()]);
    assert_eq!(t.to_json()["warnings"], json!(["registration token has no expiry"]));
}

#[test]
fn endpoint_override() {
    // The override wins over the claim.
    let t = RegistrationToken::inspect_at(&token_with(base_claims()), Some("https://eu.api.mondoo.com"), NOW).unwrap();
    assert_eq!(t.api_endpoint(), "https://eu.api.mondoo.com");
    assert_eq!(t.claims().api_endpoint.as_deref(), Some("https://us.api.mondoo.com"));

    // An empty claim needs the override.
    let mut c = base_claims();
    c["api_endpoint"] = json!("");
    let e = RegistrationToken::inspect_at(&token_with(c.clone()), None, NOW).unwrap_err();
    assert_eq!(e.code(), Code::TokenNoEndpoint);
    let e = RegistrationToken::inspect_at(&token_with(c.clone()), Some("  "), NOW).unwrap_err();
    assert_eq!(e.code(), Code::TokenNoEndpoint);
    let t = RegistrationToken::inspect_at(&token_with(c.clone()), Some("http://127.0.0.1:8989"), NOW).unwrap();
    assert_eq!(t.api_endpoint(), "http://127.0.0.1:8989");

    // So does a missing one.
    c.as_object_mut().unwrap().remove("api_endpoint");
    assert_eq!(RegistrationToken::inspect_at(&token_with(c), None, NOW).unwrap_err().code(), Code::TokenNoEndpoint);
}

#[test]
fn empty_space_is_no_space() {
    let mut c = base_claims();
    c["space"] = json!("");
    assert_eq!(RegistrationToken::inspect_at(&token_with(c), None, NOW).unwrap_err().code(), Code::TokenNoSpace);
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = format!("{}{}", token_with(base_claims()), " ".repeat(64 * 1024));
    let e = RegistrationToken::inspect_at(&big, None, NOW).unwrap_err();
    assert_eq!(e.code(), Code::TokenTooLarge);
    assert!(e.message().contains("65536"), "{}", e.message());
}

#[test]
fn inspect_uses_the_clock() {
    // exp in 2100: valid today, through the real clock.
    RegistrationToken::inspect(&fixture("registration-valid.jwt"), None).unwrap();
    let e = RegistrationToken::inspect(&fixture("registration-expired.jwt"), None).unwrap_err();
    assert_eq!(e.code(), Code::TokenExpired);
}
