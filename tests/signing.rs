//! Request signing (protocol section 4): the fixture vector (made by a second
//! implementation, testdata/generate.py), our bearers checked by our verifier, and every key
//! refusal. That a second implementation accepts our bearers is checked where Python is
//! installed: bindings/python/tests/test_second_implementation.py (tests/run-all's Python
//! section), so `cargo test` needs nothing but Rust.

use std::path::{Path, PathBuf};

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use mondoo::__private::signer::{self, chash, verify, verify_with_public_key, BearerClaims};
use mondoo::{Code, Config, LoadOptions, Signer};
use serde_json::{json, Value};

/// A file of the repository's fixtures (`testdata/`).
fn testdata(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).join(rel)
}

fn read(rel: &str) -> String {
    let p = testdata(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn credentials(name: &str) -> Value {
    serde_json::from_str(&read(&format!("service-account/{name}"))).unwrap()
}

struct Account {
    mrn: String,
    key: String,
    cert: String,
}

fn account() -> Account {
    let c = credentials("credentials.json");
    Account {
        mrn: c["mrn"].as_str().unwrap().into(),
        key: c["private_key"].as_str().unwrap().into(),
        cert: c["certificate"].as_str().unwrap().into(),
    }
}

fn signer() -> Signer {
    let a = account();
    Signer::from_pem(&a.mrn, &a.key, Some(&a.cert)).expect("fixture key loads")
}

/// The vector's instant: 2100-01-01T00:00:00Z.
const VECTOR_NOW: i64 = 4102444800;
const NOW: i64 = 1_900_000_000;

fn vector() -> Value {
    serde_json::from_str(&read("vectors/es384-bearer.json")).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn segment(bearer: &str, i: usize) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(bearer.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

/// A bearer with any header and claims, signed with the fixture key straight through
/// aws-lc (so the verifier can be fed what our signer never makes).
fn forge(header: &str, claims: &str, der_signature: bool) -> String {
    let a = account();
    let der = pem_der(&a.key);
    let alg = if der_signature { &ECDSA_P384_SHA384_ASN1_SIGNING } else { &ECDSA_P384_SHA384_FIXED_SIGNING };
    let key = EcdsaKeyPair::from_pkcs8(alg, &der).unwrap();
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let sig = key.sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

fn header_of(mrn: &str) -> String {
    format!(r#"{{"alg":"ES384","kid":{},"typ":"JWT"}}"#, serde_json::to_string(mrn).unwrap())
}

fn claims_json(chash: Option<&str>, exp: i64, iat: i64, nbf: i64, sub: &str) -> String {
    let mut m = serde_json::Map::new();
    if let Some(c) = chash {
        m.insert("chash".into(), json!(c));
    }
    m.insert("exp".into(), json!(exp));
    m.insert("iat".into(), json!(iat));
    m.insert("iss".into(), json!("mondoo/ams"));
    m.insert("nbf".into(), json!(nbf));
    m.insert("sub".into(), json!(sub));
    serde_json::to_string(&m).unwrap()
}

fn assert_bearer_invalid(r: mondoo::Result<BearerClaims>, why: &str) {
    let e = r.expect_err("bearer must be refused");
    assert_eq!(e.code(), Code::BearerInvalid, "{e:?}");
    assert!(e.message().contains(why), "expected {why:?} in {:?}", e.message());
}

// ------------------------------------------------------------------------------- vector

#[test]
fn vector_verifies_with_the_account_certificate_at_its_iat() {
    let v = vector();
    let a = account();
    let claims = verify(v["bearer"].as_str().unwrap(), &b64(&v["body_base64"]), &a.cert, VECTOR_NOW).unwrap();
    assert_eq!(claims.sub, a.mrn);
    assert_eq!(claims.iss, "mondoo/ams");
    assert_eq!((claims.iat, claims.nbf, claims.exp), (VECTOR_NOW, VECTOR_NOW, VECTOR_NOW + 60));
    assert_eq!(claims.chash.as_deref(), v["chash_hex_sha256"].as_str());
}

#[test]
fn vector_with_tampered_body_fails() {
    let v = vector();
    let r = verify(v["bearer"].as_str().unwrap(), &b64(&v["tampered_body_base64"]), &account().cert, VECTOR_NOW);
    assert_bearer_invalid(r, "chash does not match the body");
}

#[test]
fn vector_outside_its_lifetime_fails() {
    let v = vector();
    let (bearer, body, cert) = (v["bearer"].as_str().unwrap(), b64(&v["body_base64"]), account().cert);
    // exp = iat + 60, plus 60 s leeway: valid through iat + 120.
    verify(bearer, &body, &cert, VECTOR_NOW + 120).unwrap();
    assert_bearer_invalid(verify(bearer, &body, &cert, VECTOR_NOW + 121), "expired at 2100-01-01T00:01:00Z");
    // nbf = iat, minus 60 s leeway.
    verify(bearer, &body, &cert, VECTOR_NOW - 60).unwrap();
    assert_bearer_invalid(verify(bearer, &body, &cert, VECTOR_NOW - 61), "not valid before");
}

#[test]
fn chash_matches_the_fixture() {
    let v = vector();
    assert_eq!(chash(b""), v["empty_body_chash"].as_str().unwrap());
    assert_eq!(chash(&b64(&v["body_base64"])), v["chash_hex_sha256"].as_str().unwrap());
}

// ------------------------------------------------------------------------------- our bearers

#[test]
fn bearer_has_the_exact_header_and_claims() {
    let a = account();
    let body = b"{\"x\":1}";
    let bearer = signer().sign_at(body, NOW).unwrap();
    assert!(!bearer.contains('=') && !bearer.contains('+') && !bearer.contains('/'), "{bearer}");
    assert_eq!(segment(&bearer, 0), header_of(&a.mrn));
    assert_eq!(
        segment(&bearer, 1),
        format!(
            r#"{{"chash":"{}","exp":{},"iat":{NOW},"iss":"mondoo/ams","nbf":{NOW},"sub":{}}}"#,
            chash(body),
            NOW + 60,
            serde_json::to_string(&a.mrn).unwrap()
        )
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(bearer.split('.').nth(2).unwrap()).unwrap().len(), 96);
}

#[test]
fn bearer_verifies_with_our_verifier() {
    let a = account();
    let s = signer();
    let body: Vec<u8> = (0..=255u8).chain([0, 0, 0]).collect(); // binary, with NULs
    let bearer = s.sign_at(&body, NOW).unwrap();
    let claims = verify(&bearer, &body, &a.cert, NOW).unwrap();
    assert_eq!(
        claims,
        BearerClaims {
            chash: Some(chash(&body)),
            exp: NOW + 60,
            iat: NOW,
            iss: "mondoo/ams".into(),
            nbf: NOW,
            sub: a.mrn.clone(),
        }
    );
    // Through the cached public key too, and the key is the certificate's.
    assert_eq!(s.public_key(), signer::certificate_public_key(&a.cert).unwrap());
    assert_eq!(s.public_key().len(), 97);
    verify_with_public_key(&bearer, &body, &s.public_key(), NOW).unwrap();
    // A different body fails.
    assert_bearer_invalid(verify(&bearer, b"other", &a.cert, NOW), "chash");
}

#[test]
fn sign_uses_the_clock_and_the_offset() {
    let a = account();
    let s = signer();
    let bearer = s.sign(b"now").unwrap();
    let claims = verify(&bearer, b"now", &a.cert, unix_now()).unwrap();
    assert_eq!(claims.exp - claims.iat, 60);

    s.set_clock_offset(3600);
    let before = unix_now();
    let bearer = s.sign(b"later").unwrap();
    let after = unix_now();
    let claims = verify_with_public_key(&bearer, b"later", &s.public_key(), after + 3600).unwrap();
    assert!((before + 3600..=after + 3600).contains(&claims.iat), "iat {} not shifted by the offset", claims.iat);
}

#[test]
fn api_bearer_is_the_request_bearer_without_chash() {
    let a = account();
    let s = signer();
    let bearer = s.api_bearer_at(NOW).unwrap();
    assert_eq!(bearer.expires_at(), NOW + 60);
    let token = bearer.token();
    assert_eq!(segment(token, 0), header_of(&a.mrn));
    assert_eq!(segment(token, 1), claims_json(None, NOW + 60, NOW, NOW, &a.mrn));
    // Not bound to a body: any body verifies, and the claims have no chash.
    for body in [&b""[..], b"{\"query\":\"{ viewer { mrn } }\"}"] {
        let claims = verify(token, body, &a.cert, NOW).unwrap();
        assert_eq!(claims.chash, None);
        assert_eq!((claims.sub.as_str(), claims.iss.as_str(), claims.exp), (a.mrn.as_str(), "mondoo/ams", NOW + 60));
    }
    assert_bearer_invalid(verify(token, b"", &a.cert, NOW + 121), "expired");
}

#[test]
fn api_bearer_uses_the_clock_and_the_offset_and_hides_its_token() {
    let s = signer();
    s.set_clock_offset(-3600);
    let before = unix_now();
    let bearer = s.api_bearer().unwrap();
    let after = unix_now();
    assert!((before - 3600 + 60..=after - 3600 + 60).contains(&bearer.expires_at()), "{bearer:?}");
    let shown = format!("{bearer:?}");
    assert!(!shown.contains(bearer.token()) && shown.contains("redacted"), "{shown}");
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn sign_claims_keeps_the_header_and_claim_order() {
    let s = signer();
    let claims = json!({"iss": "mondoo/ams", "space": "//captain/spaces/s", "exp": 4102444800i64, "api_endpoint": "http://127.0.0.1:1"});
    let token = s.sign_claims(&claims).unwrap();
    assert_eq!(segment(&token, 0), header_of(s.mrn()));
    assert_eq!(segment(&token, 1), claims.to_string());
    // It reads as a registration token.
    let t = mondoo::RegistrationToken::inspect_at(&token, None, NOW).unwrap();
    assert_eq!(t.claims().space_mrn.as_deref(), Some("//captain/spaces/s"));
    assert_eq!(s.sign_claims(&json!([1])).unwrap_err().code(), Code::InvalidArgument);
}

// ------------------------------------------------------------------------------- verify refuses

#[test]
fn verify_refuses_what_the_platform_refuses() {
    let a = account();
    let body = b"body";
    let c = chash(body);
    let good = claims_json(Some(&c), NOW + 60, NOW, NOW, &a.mrn);
    // The forged control verifies, so each refusal below is for its one difference.
    verify(&forge(&header_of(&a.mrn), &good, false), body, &a.cert, NOW).unwrap();

    let es256 = format!(r#"{{"alg":"ES256","kid":{},"typ":"JWT"}}"#, serde_json::to_string(&a.mrn).unwrap());
    assert_bearer_invalid(verify(&forge(&es256, &good, false), body, &a.cert, NOW), "alg \"ES256\" is not ES384");
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode(&good));
    assert_bearer_invalid(verify(&none, body, &a.cert, NOW), "is not ES384");
    assert_bearer_invalid(verify(&forge(r#"{"alg":"ES384","typ":"JWT"}"#, &good, false), body, &a.cert, NOW), "no kid");
    // DER signature.
    assert_bearer_invalid(verify(&forge(&header_of(&a.mrn), &good, true), body, &a.cert, NOW), "DER is rejected");
    // iat more than 60 s ahead (exp and nbf fine).
    let future_iat = claims_json(Some(&c), NOW + 120, NOW + 61, NOW, &a.mrn);
    assert_bearer_invalid(
        verify(&forge(&header_of(&a.mrn), &future_iat, false), body, &a.cert, NOW),
        "issued in the future",
    );
    let edge_iat = claims_json(Some(&c), NOW + 120, NOW + 60, NOW, &a.mrn);
    verify(&forge(&header_of(&a.mrn), &edge_iat, false), body, &a.cert, NOW).unwrap();
    // Missing times.
    assert_bearer_invalid(
        verify(&forge(&header_of(&a.mrn), r#"{"iss":"mondoo/ams","sub":"x"}"#, false), body, &a.cert, NOW),
        "claim exp is missing",
    );
    // No chash: accepted (the platform checks it only when present).
    let no_chash = claims_json(None, NOW + 60, NOW, NOW, &a.mrn);
    assert_eq!(verify(&forge(&header_of(&a.mrn), &no_chash, false), b"anything", &a.cert, NOW).unwrap().chash, None);
    // kid must be the certificate's service account; the raw-key path has no certificate.
    let other_kid = forge(&header_of("//agents.api.mondoo.app/spaces/x/serviceaccounts/other"), &good, false);
    assert_bearer_invalid(verify(&other_kid, body, &a.cert, NOW), "is not the certificate's service account");
    verify_with_public_key(&other_kid, body, &signer().public_key(), NOW).unwrap();
}

#[test]
fn verify_refuses_altered_bearers() {
    let a = account();
    let bearer = signer().sign_at(b"b", NOW).unwrap();
    let parts: Vec<&str> = bearer.split('.').collect();
    // Claims swapped for others with the same signature.
    let other_claims = URL_SAFE_NO_PAD.encode(claims_json(Some(&chash(b"b")), NOW + 60, NOW, NOW, "//someone/else"));
    let swapped = format!("{}.{}.{}", parts[0], other_claims, parts[2]);
    assert_bearer_invalid(verify(&swapped, b"b", &a.cert, NOW), "signature does not verify");
    // Padding is not JWS.
    assert_bearer_invalid(verify(&format!("{bearer}=="), b"b", &a.cert, NOW), "unpadded base64url");
    assert_bearer_invalid(verify("a.b", b"b", &a.cert, NOW), "three");
    // Signed by another P-384 key.
    let other = Signer::from_pem(&a.mrn, OTHER_P384_SEC1_WITH_PARAMS, None).unwrap();
    let foreign = other.sign_at(b"b", NOW).unwrap();
    assert_bearer_invalid(verify(&foreign, b"b", &a.cert, NOW), "signature does not verify");
    // A certificate that is not one.
    assert_bearer_invalid(verify(&bearer, b"b", "not a certificate", NOW), "certificate");
}

// ------------------------------------------------------------------------------- keys

fn refused(key_pem: &str, cert: Option<&str>) -> mondoo::Error {
    Signer::from_pem(&account().mrn, key_pem, cert).expect_err("key must be refused")
}

/// Nothing of the key's PEM, armour or base64, may appear in what we print.
fn assert_no_key_material(shown: &str, key_pem: &str) {
    assert!(!shown.contains("PRIVATE KEY"), "PEM armour in {shown:?}");
    let b64: String = key_pem.lines().filter(|l| !l.starts_with("-----") && !l.contains(':')).collect();
    for i in (0..b64.len().saturating_sub(12)).step_by(4) {
        let piece = &b64[i..i + 12];
        assert!(!shown.contains(piece), "key base64 {piece:?} in {shown:?}");
    }
}

#[test]
fn pkcs8_and_sec1_forms_of_the_fixture_key_load() {
    let a = account();
    let pkcs8 = Signer::from_pem(&a.mrn, &a.key, Some(&a.cert)).unwrap();
    let want = signer::certificate_public_key(&a.cert).unwrap();
    // The same key in SEC1 form, with and without its public key (written by the fixtures' generator).
    for rel in ["service-account/private-key-sec1.pem", "service-account/private-key-sec1-no-public.pem"] {
        let pem = read(rel);
        assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----"), "{rel} is SEC1");
        let s = Signer::from_pem(&a.mrn, &pem, Some(&a.cert)).unwrap_or_else(|e| panic!("{rel}: {e:?}"));
        assert_eq!(s.public_key(), want);
        verify(&s.sign_at(b"x", NOW).unwrap(), b"x", &a.cert, NOW).unwrap();
    }
    assert_eq!(pkcs8.public_key(), want);
    assert_eq!(pkcs8.mrn(), a.mrn);
    // A certificate is optional; an EC PARAMETERS block before the key is skipped.
    Signer::from_pem(&a.mrn, &a.key, None).unwrap();
    Signer::from_pem(&a.mrn, OTHER_P384_SEC1_WITH_PARAMS, None).unwrap();
    // Whitespace around the PEM (YAML block scalars, pasted values) is fine.
    Signer::from_pem(&a.mrn, &format!("\n  {}\n", a.key), Some(&a.cert)).unwrap();
}

#[test]
fn p256_key_is_refused_with_the_curve_named() {
    let c = credentials("credentials-p256.json");
    let e = refused(c["private_key"].as_str().unwrap(), None);
    assert_eq!(e.code(), Code::KeyWrongCurve);
    assert_eq!(e.message(), "the platform accepts P-384 (ES384) keys only (found P-256)");
    let e = refused(c["private_key"].as_str().unwrap(), c["certificate"].as_str());
    assert_eq!(e.code(), Code::KeyWrongCurve);
    let e = refused(P521_SEC1, None);
    assert_eq!(e.code(), Code::KeyWrongCurve);
    assert_eq!(e.message(), "the platform accepts P-384 (ES384) keys only (found P-521)");
}

#[test]
fn rsa_and_other_key_types_are_unsupported() {
    for (pem, name) in [(RSA_PKCS8, "RSA"), (RSA_TRADITIONAL, "RSA"), (ED25519_PKCS8, "Ed25519")] {
        let e = refused(pem, None);
        assert_eq!(e.code(), Code::KeyUnsupportedType, "{name}: {e:?}");
        assert!(e.message().starts_with(&format!("{name} keys are not supported")), "{}", e.message());
        assert!(e.message().contains("P-384 (ES384)"), "{}", e.message());
        assert_no_key_material(&format!("{e:?} {e}"), pem);
    }
}

#[test]
fn encrypted_keys_are_refused() {
    for pem in [ENCRYPTED_PKCS8, ENCRYPTED_SEC1] {
        let e = refused(pem, None);
        assert_eq!(e.code(), Code::KeyEncrypted, "{e:?}");
        assert!(e.message().contains("encrypted"), "{}", e.message());
        assert_no_key_material(&format!("{e:?} {e}"), pem);
    }
}

#[test]
fn garbage_is_an_invalid_key() {
    let a = account();
    let damaged = a.key.replacen("MIG2", "M!G2", 1);
    let truncated_der = "-----BEGIN PRIVATE KEY-----\nMIG2AgEAMBAGByqGSM49AgEG\n-----END PRIVATE KEY-----\n";
    let cases: [(&str, &str); 6] = [
        ("", "no PEM private key found"),
        ("hello", "no PEM private key found"),
        (&a.cert, "expected a PEM private key, found a CERTIFICATE"),
        (&damaged, "base64 is damaged"),
        (truncated_der, "not a valid PKCS#8"),
        ("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----", "not a valid SEC1"),
    ];
    for (pem, why) in cases {
        let e = refused(pem, None);
        assert_eq!(e.code(), Code::KeyInvalid, "{why}: {e:?}");
        assert!(e.message().contains(why), "expected {why:?} in {:?}", e.message());
        assert_no_key_material(&format!("{e:?} {e}"), &a.key);
    }
}

#[test]
fn certificate_problems_have_their_own_codes() {
    let a = account();
    let e = refused(&a.key, Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
    assert_eq!(e.code(), Code::CertificateInvalid);
    let e = refused(&a.key, Some("not a certificate"));
    assert_eq!(e.code(), Code::CertificateInvalid);
    assert!(e.message().contains("no PEM certificate"), "{}", e.message());

    // The platform's own certificate: a P-384 key, but not this one.
    let e = refused(&a.key, Some(&read("platform/platform-cert.pem")));
    assert_eq!(e.code(), Code::KeyCertificateMismatch);
    assert_eq!(e.message(), "the private key does not match the certificate's public key");
    // The P-256 account's certificate: another curve altogether.
    let p256 = credentials("credentials-p256.json");
    let e = refused(&a.key, p256["certificate"].as_str());
    assert_eq!(e.code(), Code::KeyCertificateMismatch);
    assert!(e.message().contains("P-256"), "{}", e.message());
    assert_no_key_material(&format!("{e:?} {e}"), &a.key);
}

#[test]
fn debug_never_shows_the_key() {
    let a = account();
    let s = signer();
    let shown = format!("{s:?}");
    assert_eq!(shown, format!("Signer {{ mrn: {:?}, .. }}", a.mrn));
    assert_no_key_material(&shown, &a.key);
}

// ------------------------------------------------------------------------------- from_config

fn config_file(doc: &Value) -> (tempfile::TempDir, PathBuf, Config) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    let opts = LoadOptions::new().with_path(path.clone()).with_env(Default::default());
    let config = Config::load_with(&opts).unwrap();
    (dir, path, config)
}

#[test]
fn from_config_signs_as_the_account() {
    let (_dir, _path, config) = config_file(&credentials("credentials.json"));
    let s = Signer::from_config(&config).unwrap();
    assert_eq!(s.mrn(), account().mrn);
    verify(&s.sign_at(b"cfg", NOW).unwrap(), b"cfg", &account().cert, NOW).unwrap();
}

#[test]
fn from_config_errors_name_the_key_and_the_file() {
    let p256 = credentials("credentials-p256.json");
    let (_dir, path, config) = config_file(&p256);
    let e = Signer::from_config(&config).unwrap_err();
    assert_eq!(e.code(), Code::KeyWrongCurve);
    assert_eq!(
        e.message(),
        format!("private_key in {}: the platform accepts P-384 (ES384) keys only (found P-256)", path.display())
    );
    assert_eq!(e.path(), Some(path.as_path()));

    let mut bad_cert = credentials("credentials.json");
    bad_cert["certificate"] = json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    let (_dir, path, config) = config_file(&bad_cert);
    let e = Signer::from_config(&config).unwrap_err();
    assert_eq!(e.code(), Code::CertificateInvalid);
    assert!(e.message().starts_with(&format!("certificate in {}: ", path.display())), "{}", e.message());

    let mut mismatch = credentials("credentials.json");
    mismatch["certificate"] = json!(read("platform/platform-cert.pem"));
    let (_dir, path, config) = config_file(&mismatch);
    let e = Signer::from_config(&config).unwrap_err();
    assert_eq!(e.code(), Code::KeyCertificateMismatch);
    assert!(e.message().starts_with(&format!("private_key in {}: ", path.display())), "{}", e.message());
    assert_no_key_material(&format!("{e:?} {e}"), mismatch["private_key"].as_str().unwrap());
}

#[test]
fn from_config_without_credentials_is_not_registered() {
    let mut doc = credentials("credentials.json");
    doc.as_object_mut().unwrap().remove("private_key");
    let config = Config::parse(&doc.to_string()).unwrap();
    let e = Signer::from_config(&config).unwrap_err();
    assert_eq!(e.code(), Code::NotRegistered);
    assert!(e.message().contains("no private_key"), "{}", e.message());
}

// ------------------------------------------------------------------------------- test keys
// Made once with openssl (the encrypted ones may hold an earlier fixture key); test keys only,
// never credentials.

const ENCRYPTED_PKCS8: &str = "\
-----BEGIN ENCRYPTED PRIVATE KEY-----\n\
MIIBHDBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQIhO/XIXypZTsCAggA\n\
MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBAv+RTXz05kZmTcGl2OpJcsBIHA\n\
gwY698HFbqnWzN9z4q7CNGCNutbyVVYXxpM++p+lGsapq7VRaCe6CElxKIJpX9Z4\n\
1oxBopLkcw6aSa1Bywq2TXodResK0tO1kWDrrTW/V7a/7sUXrq7I6X5NHM+NPu3D\n\
xwoUmxmf1IM5Hvcfecnns4GhMcYJFZBMTsgTHPBQ33MseNSAnAo49ZnUUsFJBI61\n\
uVOxTa3RZ3vEfv5htnUQMyFl4r1ahcydxyorec6BVFjurRE0L9YWmQrkKPaot/eY\n\
-----END ENCRYPTED PRIVATE KEY-----\n\
";

const ENCRYPTED_SEC1: &str = "\
-----BEGIN EC PRIVATE KEY-----\n\
Proc-Type: 4,ENCRYPTED\n\
DEK-Info: AES-256-CBC,7D0F43486A21F83622B70C87374D1FD7\n\
\n\
pvj+CIGrSJ+/5JXhxI/11iYNV6q6VSSCmPOPQk+zpra+CctmSeNYPLdWwmlFTZPS\n\
ZVbERlzZH50Onk4shja2l0Xj+UvuPdzj7qpCV1lpB0xlktQ03mgfYhxMkdY7ZMt8\n\
mJAyrG7qh5JFwo0A37K0wdFV25gIIcValB9TTlDy8uDnEgeNe0vsl6vcTC+vhFpX\n\
VshYDcFZDuC70xp15MPNO8Ci2b3I9rl4urjvEoJ92JE=\n\
-----END EC PRIVATE KEY-----\n\
";

const RSA_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAMO9WQ9nkWP3MFHb\n\
AnOHIbOEjHq5ATrF7sVA5X7Qa/sNgDpGs6UpKegxI/vJ2OI/Q1kFfcc9fuPzW3z2\n\
9yiwZUf8S+YvvZz/p0BatsaILYnGyGl4AOQcltyaadRE7lIr3ked9177DZpA3B++\n\
3qIqbmQpaGw14meeUH5HzqL+QrppAgMBAAECgYA678diKQgQ9nvZGb2aNYUDPZTi\n\
2tOw86oaQJkZXv40YHNMmL88qrFQlYNFLBievvezVUDy/eQ4FK1maiIvYTWNOOsu\n\
4jU41tCc0qyDM6ITThsSHVi3hLWMXJtVSP18OZTLxwxPCOTQFgubUCW9Tyh0kp5a\n\
VKa5bBAN4rMxplnb0QJBAPRUlyZseTM8u/D6FJR1cAKgqT0Tdhu5zRVN8zZnK70z\n\
TGkBM/BoFWVrRU5SWAALCo3jq0wZALFJe3pOfpiG+Z0CQQDNFqQ9P00UJufZTVxd\n\
sYzME7epl0oZ3Kumett2C0Qt0IwHVXEyrw31sIi2M0z4GBVDhboqyB3ju36ikjw4\n\
2kA9AkAiZU4qAJdHWUNz9yCyjZ3JIOjySi0UViHC4AhfHkMQDYqyNZMkQuLQNju5\n\
fOoah3Ni6iwROGvaiWeynh5ARrAZAkEAtUYo/3XfJEvLLFhjpvETmSJoeT8fIULa\n\
ebkoF+uXZMNrsePEvV7bgOl7vUgU5UksKlWeGshtGuiT4xBMqJfIpQJBAIRcmrxB\n\
dKlyHVdjwwsPl7lRXkGXA6l/Q9+PBB6e+4hUu4Sb4LrJDU9g8bdz/ZfNvEQuJKRh\n\
7aRsqCMpfGEmzWo=\n\
-----END PRIVATE KEY-----\n\
";

const RSA_TRADITIONAL: &str = "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIICXQIBAAKBgQDDvVkPZ5Fj9zBR2wJzhyGzhIx6uQE6xe7FQOV+0Gv7DYA6RrOl\n\
KSnoMSP7ydjiP0NZBX3HPX7j81t89vcosGVH/EvmL72c/6dAWrbGiC2JxshpeADk\n\
HJbcmmnURO5SK95Hnfde+w2aQNwfvt6iKm5kKWhsNeJnnlB+R86i/kK6aQIDAQAB\n\
AoGAOu/HYikIEPZ72Rm9mjWFAz2U4trTsPOqGkCZGV7+NGBzTJi/PKqxUJWDRSwY\n\
nr73s1VA8v3kOBStZmoiL2E1jTjrLuI1ONbQnNKsgzOiE04bEh1Yt4S1jFybVUj9\n\
fDmUy8cMTwjk0BYLm1AlvU8odJKeWlSmuWwQDeKzMaZZ29ECQQD0VJcmbHkzPLvw\n\
+hSUdXACoKk9E3Ybuc0VTfM2Zyu9M0xpATPwaBVla0VOUlgACwqN46tMGQCxSXt6\n\
Tn6YhvmdAkEAzRakPT9NFCbn2U1cXbGMzBO3qZdKGdyrpnrbdgtELdCMB1VxMq8N\n\
9bCItjNM+BgVQ4W6Ksgd47t+opI8ONpAPQJAImVOKgCXR1lDc/cgso2dySDo8kot\n\
FFYhwuAIXx5DEA2KsjWTJELi0DY7uXzqGodzYuosEThr2olnsp4eQEawGQJBALVG\n\
KP913yRLyyxYY6bxE5kiaHk/HyFC2nm5KBfrl2TDa7HjxL1e24Dpe71IFOVJLCpV\n\
nhrIbRrok+MQTKiXyKUCQQCEXJq8QXSpch1XY8MLD5e5UV5BlwOpf0PfjwQenvuI\n\
VLuEm+C6yQ1PYPG3c/2XzbxELiSkYe2kbKgjKXxhJs1q\n\
-----END RSA PRIVATE KEY-----\n\
";

const ED25519_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEIJvPccm9LSopnmjzYwr7cw33S8961mST4V5W4HYjWp9C\n\
-----END PRIVATE KEY-----\n\
";

const P521_SEC1: &str = "\
-----BEGIN EC PRIVATE KEY-----\n\
MIHcAgEBBEIA1QBCQlZ1b+j2p3bc8tMYoD65nKulpAyJVN4SyyQhExeJptGtroEz\n\
qwzXphgNhVoqajHyEHsEoVQDweg/GkhpG7+gBwYFK4EEACOhgYkDgYYABADr6nZN\n\
L3aFX5sJugjTqqyWsaUm9o84ka7fLlKys2MAUVQ1S+G+BYuEql2/Np+DlI6DwQhB\n\
Tp3jdy4V8ddsFIjiFQG76aYjahWt/jYTtyTnG72yOtyNdqy8HwyFUV5WpLllYRJ+\n\
vMhkh3+H8Hz4cEYZWouG+FgiBkgySrw4wvY0t8vHkQ==\n\
-----END EC PRIVATE KEY-----\n\
";

const OTHER_P384_SEC1_WITH_PARAMS: &str = "\
-----BEGIN EC PARAMETERS-----\n\
BgUrgQQAIg==\n\
-----END EC PARAMETERS-----\n\
-----BEGIN EC PRIVATE KEY-----\n\
MIGkAgEBBDAfnJuk6aIgfpES5qMLYSjOqSUrRWMtk65JFpVv81WYHUbOMGsBMT6K\n\
gtju0y6Ys+ugBwYFK4EEACKhZANiAASQPUpeeEMh5OajZXpKlrNl+WwrWkCE+k45\n\
casRH8pByFIMoeBCgPBYDJYxsyHuaxUKIjQvD3rYJiPx4ApQlkYhEqSWy0roC5Yf\n\
ZdZKEbv8+8MbtkMc474RFisLNvUp9FY=\n\
-----END EC PRIVATE KEY-----\n\
";
