//! The platform's services and its verification of signed calls, checked on the wire.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use mondoo_platform::{AuthOutcome, Platform, PlatformOptions, TokenSpec, FIXTURE_SPACE, UNAUTHENTICATED};
use serde_json::{json, Value};

fn assert_unauthenticated(answer: &Answer) {
    answer.assert_status(401, 16);
    assert_eq!(answer.json(), json!({"code": 16, "message": UNAUTHENTICATED}));
}

fn last_auth(platform: &Platform) -> AuthOutcome {
    platform.requests().last().expect("a recorded request").auth.clone()
}

#[test]
fn health_check_answers_serving_with_platform_time() {
    let platform = Platform::start(PlatformOptions { api_version: "v-test".into(), ..Default::default() }).unwrap();
    let answer = call(platform.addr(), "Health/Check", None, br#"{"service":""}"#);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let body = answer.json();
    assert_eq!(body["status"], "SERVING");
    assert_eq!(body["apiVersion"], "v-test");
    let time = body["time"].as_str().unwrap();
    let parsed = time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(time.ends_with('Z'), "UTC: {time}");
    assert!((parsed.unix_timestamp() - unix_now()).abs() < 600, "near now: {time}");

    platform.set_clock_offset(-72 * 3600);
    let body = call(platform.addr(), "Health/Check", None, b"{}").json();
    let shifted =
        time::OffsetDateTime::parse(body["time"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap();
    let behind = unix_now() - shifted.unix_timestamp();
    assert!((72 * 3600 - 600..72 * 3600 + 600).contains(&behind), "72 h behind, got {behind} s");
}

#[test]
fn content_types_unknown_methods_and_malformed_json() {
    let platform = start();
    let addr = platform.addr();
    // ranger-rpc matches the media type case-insensitively and ignores its parameters.
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let answer = exchange(addr, &post_bytes("/Health/Check", None, content_type, b"{}")).unwrap();
        assert_eq!(answer.status, 200, "{content_type}");
        assert_eq!(answer.json()["status"], "SERVING");
    }
    let answer = exchange(addr, &post_bytes("/Health/Check", None, "text/plain", b"{}")).unwrap();
    assert_eq!(answer.json(), json!({"code": 3, "message": "unexpected content-type: \"text/plain\""}));
    answer.assert_status(400, 3);
    let answer = call(addr, "AgentManager/NoSuchMethod", None, b"{}");
    assert_eq!(answer.json(), json!({"code": 5, "message": "method not defined"}));
    assert_eq!(answer.status, 404);
    call(addr, "Health/Check/Extra", None, b"{}").assert_status(404, 5);
    call(addr, "Health/Check", None, b"{not json").assert_status(500, 2);

    // A correctly signed but malformed body is authenticated first, then refused as malformed.
    let signer = fixture_signer(&platform);
    let body = b"[1,2";
    let answer = call(addr, "AgentManager/PingPong", Some(&signer.sign(body).unwrap()), body);
    answer.assert_status(500, 2);
    assert_eq!(last_auth(&platform), AuthOutcome::Accepted);
}

#[test]
fn ping_pong_with_fixture_credentials_and_recording() {
    let platform = start();
    let signer = fixture_signer(&platform);
    let bearer = signer.sign(b"{}").unwrap();
    let answer = call(platform.addr(), "AgentManager/PingPong", Some(&bearer), b"{}");
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json(), json!({}));

    let recorded = platform.requests();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!((r.service.as_str(), r.method.as_str(), r.http_method.as_str()), ("AgentManager", "PingPong", "POST"));
    assert_eq!(r.body, b"{}");
    assert_eq!(r.header("authorization"), Some(format!("Bearer {bearer}").as_str()));
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(r.auth, AuthOutcome::Accepted);
    assert_eq!(r.subject.as_deref(), Some(signer.mrn()));
    assert_eq!(r.status, 200);
    platform.clear_requests();
    assert!(platform.requests().is_empty());
}

#[test]
fn unsigned_and_badly_signed_calls_are_401() {
    let platform = start();
    let addr = platform.addr();
    let signer = fixture_signer(&platform);
    let body = br#"{"hello":"world"}"#;

    assert_unauthenticated(&call(addr, "AgentManager/PingPong", None, body));
    assert!(matches!(last_auth(&platform), AuthOutcome::Rejected(_)));

    // A flipped signature byte.
    let good = signer.sign(body).unwrap();
    let (rest, sig) = good.rsplit_once('.').unwrap();
    let mut raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
    raw[10] ^= 0x01;
    let tampered = format!("{rest}.{}", URL_SAFE_NO_PAD.encode(&raw));
    assert_unauthenticated(&call(addr, "Echo/Say", Some(&tampered), body));

    // The same signature DER-encoded, as some JWT libraries wrongly produce.
    let der = format!("{rest}.{}", URL_SAFE_NO_PAD.encode(der_signature(&URL_SAFE_NO_PAD.decode(sig).unwrap())));
    assert_unauthenticated(&call(addr, "Echo/Say", Some(&der), body));
    match last_auth(&platform) {
        AuthOutcome::Rejected(why) => assert!(why.contains("DER") || why.contains("96"), "{why}"),
        other => panic!("DER accepted: {other:?}"),
    }

    // Signed for another body: chash does not match.
    assert_unauthenticated(&call(addr, "Echo/Say", Some(&signer.sign(b"{}").unwrap()), body));

    // Expired: exp = now - 3540, beyond the minute of leeway.
    assert_unauthenticated(&call(addr, "Echo/Say", Some(&signer.sign_at(body, unix_now() - 3600).unwrap()), body));

    // iat two minutes in the future.
    assert_unauthenticated(&call(addr, "Echo/Say", Some(&signer.sign_at(body, unix_now() + 120).unwrap()), body));

    // alg not ES384 (header swapped, signature otherwise intact).
    let (h, tail) = good.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    let es256 = json!({"alg": "ES256", "kid": header["kid"], "typ": "JWT"});
    let swapped = format!("{}.{tail}", URL_SAFE_NO_PAD.encode(es256.to_string()));
    assert_unauthenticated(&call(addr, "Echo/Say", Some(&swapped), body));

    // Unknown kid: a key the platform never issued.
    let stranger = mondoo::Signer::from_pem(
        "//agents.api.mondoo.app/spaces/x/serviceaccounts/stranger",
        fixture_json(&platform, FIXTURE_CREDENTIALS)["private_key"].as_str().unwrap(),
        None,
    )
    .unwrap();
    assert_unauthenticated(&call(addr, "Echo/Say", Some(&stranger.sign(body).unwrap()), body));

    // "Bearer" must be followed by a token.
    let no_token = exchange(addr, &post_bytes("/Echo/Say", Some(""), "application/json", body)).unwrap();
    assert_unauthenticated(&no_token);

    // And after all that, a good bearer still works.
    let answer = call(addr, "Echo/Say", Some(&signer.sign(body).unwrap()), body);
    assert_eq!(answer.json(), json!({"hello": "world", "signed_by": signer.mrn()}));
}

#[test]
fn leeway_and_platform_clock_decide_validity() {
    let platform = start();
    let addr = platform.addr();
    let signer = fixture_signer(&platform);
    // exp = now - 40: expired, but within the minute of leeway.
    let answer = call(addr, "AgentManager/PingPong", Some(&signer.sign_at(b"{}", unix_now() - 100).unwrap()), b"{}");
    assert_eq!(answer.status, 200);

    // Platform 72 h behind: the client's fresh bearer is issued in the platform's future.
    platform.set_clock_offset(-72 * 3600);
    assert_unauthenticated(&ping(addr, &signer));
    // A client that corrects for the skew gets through.
    signer.set_clock_offset(-72 * 3600);
    assert_eq!(ping(addr, &signer).status, 200);
}

#[test]
fn revoked_accounts_are_refused() {
    let platform = start();
    let credentials = platform.create_service_account(FIXTURE_SPACE).unwrap();
    assert_eq!(credentials["space_mrn"], FIXTURE_SPACE);
    assert_eq!(credentials["api_endpoint"], platform.url());
    assert!(credentials["private_key"].as_str().unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
    let signer = signer_of(&credentials);
    assert_eq!(
        mondoo::__private::signer::certificate_public_key(credentials["certificate"].as_str().unwrap()).unwrap(),
        signer.public_key()
    );

    assert_eq!(ping(platform.addr(), &signer).status, 200);
    assert!(platform.revoke(signer.mrn()));
    assert_unauthenticated(&ping(platform.addr(), &signer));
    assert!(!platform.revoke("//agents.api.mondoo.app/nobody"));
}

#[test]
fn static_token_accounts_are_accepted_as_is_and_unknown_or_revoked_tokens_are_401() {
    let platform = start();
    let addr = platform.addr();
    let credentials = platform.create_token_service_account(FIXTURE_SPACE).unwrap();
    assert_eq!(credentials["space_mrn"], FIXTURE_SPACE);
    assert_eq!(credentials["api_endpoint"], platform.url());
    assert!(credentials.get("private_key").is_none() && credentials.get("certificate").is_none());
    let mrn = credentials["mrn"].as_str().unwrap().to_string();
    let token = credentials["token"].as_str().unwrap().to_string();
    assert!(!token.contains('.'), "never mistaken for a JWT: {token}");

    // The token as the bearer, on every service a signed call reaches.
    assert_eq!(call(addr, "AgentManager/PingPong", Some(&token), b"{}").status, 200);
    let r = platform.requests().pop().unwrap();
    assert_eq!((r.auth, r.subject.as_deref()), (AuthOutcome::Accepted, Some(mrn.as_str())));
    let answer = call(addr, "Echo/Say", Some(&token), br#"{"x":1}"#);
    assert_eq!(answer.json(), json!({"x": 1, "signed_by": mrn}));
    let body = register_body();
    let registered = call(addr, "AgentManager/RegisterAgent", Some(&token), &body).json();
    let agent_mrn = registered["agent_mrn"].as_str().unwrap();
    assert!(registered.get("credential").is_none(), "{registered}");
    assert_eq!(platform.agents()[0].service_account, mrn);
    let check_in = serde_json::to_vec(&json!({"mrn": agent_mrn})).unwrap();
    assert_eq!(call(addr, "AgentManager/HealthCheck", Some(&token), &check_in).status, 200);

    // A token the platform never issued, and one whose account was revoked.
    let unknown = format!("{token}x");
    assert_unauthenticated(&call(addr, "AgentManager/PingPong", Some(&unknown), b"{}"));
    assert!(matches!(last_auth(&platform), AuthOutcome::Rejected(why) if why.contains("static token")));
    assert_unauthenticated(&call(addr, "AgentManager/RegisterAgent", Some(&unknown), &body));
    assert!(platform.revoke(&mrn));
    assert_unauthenticated(&call(addr, "AgentManager/PingPong", Some(&token), b"{}"));
    assert!(matches!(last_auth(&platform), AuthOutcome::Rejected(why) if why.contains("revoked")));
}

fn register_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "token": "",
        "name": "test-host",
        "agent_info": {"mrn": "", "version": "0.1.0", "platform_name": "debian", "platform_hostname": "test-host", "labels": {"role": "ci"}}
    }))
    .unwrap()
}

#[test]
fn token_registration_round_trip() {
    let platform = start();
    let addr = platform.addr();
    let mut spec = TokenSpec::new(FIXTURE_SPACE);
    spec.labels.insert("env".into(), "test".into());
    let token = platform.mint_token(&spec).unwrap();

    // What the client reads from the token without verifying it.
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["space"], FIXTURE_SPACE);
    assert_eq!(claims["api_endpoint"], platform.url());
    assert_eq!(claims["labels"], json!({"env": "test"}));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    // Signed by the platform key: it verifies with the platform certificate's public key.
    let point = mondoo::__private::signer::certificate_public_key(platform.platform_certificate()).unwrap();
    mondoo::__private::signer::verify_with_public_key(&token, b"", &point, unix_now())
        .expect("token signed by the platform key");

    let body = register_body();
    let answer = call(addr, "AgentManager/RegisterAgent", Some(&token), &body);
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let registered = answer.json();
    let agent_mrn = registered["agent_mrn"].as_str().unwrap().to_string();
    assert!(agent_mrn.starts_with("//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/agents/"), "{agent_mrn}");
    let credential = &registered["credential"];
    assert_eq!(credential["parent_mrn"], FIXTURE_SPACE);
    assert_eq!(credential["api_endpoint"], platform.url());
    assert!(credential.get("scope_mrn").is_none(), "zero values are omitted");
    let agent_signer = signer_of(credential);

    let agents = platform.agents();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].name, "test-host");
    assert_eq!(agents[0].labels.get("env").map(String::as_str), Some("test"));
    assert_eq!(agents[0].labels.get("role").map(String::as_str), Some("ci"));
    let r = platform.requests().pop().unwrap();
    assert_eq!((r.auth.clone(), r.subject.as_deref()), (AuthOutcome::Accepted, Some(FIXTURE_SPACE)));

    // The new credential signs calls.
    assert_eq!(ping(addr, &agent_signer).status, 200);
    let check_in = serde_json::to_vec(&json!({"mrn": agent_mrn, "version": "0.1.0"})).unwrap();
    let answer = call(addr, "AgentManager/HealthCheck", Some(&agent_signer.sign(&check_in).unwrap()), &check_in);
    assert_eq!(answer.status, 200);
    assert_eq!(platform.agents()[0].check_ins, 1);
    let unknown = serde_json::to_vec(&json!({"mrn": "//agents.api.mondoo.app/spaces/x/agents/none"})).unwrap();
    call(addr, "AgentManager/HealthCheck", Some(&agent_signer.sign(&unknown).unwrap()), &unknown).assert_status(404, 5);

    // Unregistering removes the agent and the credentials made for it.
    let bye = serde_json::to_vec(&json!({"mrn": agent_mrn})).unwrap();
    let answer = call(addr, "AgentManager/UnRegisterAgent", Some(&agent_signer.sign(&bye).unwrap()), &bye);
    assert_eq!(answer.json(), json!({"mrn": agent_mrn}));
    assert!(platform.agents().is_empty());
    assert_unauthenticated(&ping(addr, &agent_signer));
}

#[test]
fn bad_registration_tokens_are_401() {
    let platform = start();
    let addr = platform.addr();
    let body = register_body();
    let expired = platform.mint_token(&TokenSpec { ttl_seconds: -3600, ..Default::default() }).unwrap();
    assert_unauthenticated(&call(addr, "AgentManager/RegisterAgent", Some(&expired), &body));
    let later = platform.mint_token(&TokenSpec { nbf_offset: 3600, ..Default::default() }).unwrap();
    assert_unauthenticated(&call(addr, "AgentManager/RegisterAgent", Some(&later), &body));
    let no_space = platform.mint_token(&TokenSpec::new("")).unwrap();
    assert_unauthenticated(&call(addr, "AgentManager/RegisterAgent", Some(&no_space), &body));
    // Another platform's token (the fixture, signed by the same key but never minted here).
    let foreign = std::fs::read_to_string(platform.testdata().unwrap().join("tokens/registration-valid.jwt")).unwrap();
    assert_unauthenticated(&call(addr, "AgentManager/RegisterAgent", Some(foreign.trim()), &body));
    assert_unauthenticated(&call(addr, "AgentManager/RegisterAgent", None, &body));
    assert!(platform.agents().is_empty());
    // A token without exp is accepted.
    let forever = platform.mint_token(&TokenSpec { no_exp: true, ..Default::default() }).unwrap();
    assert_eq!(call(addr, "AgentManager/RegisterAgent", Some(&forever), &body).status, 200);
}

#[test]
fn service_account_registration_answers_agent_mrn_only() {
    let platform = start();
    let signer = fixture_signer(&platform);
    let body = register_body();
    let answer = call(platform.addr(), "AgentManager/RegisterAgent", Some(&signer.sign(&body).unwrap()), &body);
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let json = answer.json();
    let agent_mrn = json["agent_mrn"].as_str().unwrap();
    assert!(agent_mrn.starts_with("//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/agents/"), "{agent_mrn}");
    assert!(json.get("credential").is_none());
    assert_eq!(platform.agents()[0].service_account, signer.mrn());

    // The org account (scope_mrn only) is known too.
    let org = signer_of(&fixture_json(&platform, "service-account/credentials-org.json"));
    assert_eq!(ping(platform.addr(), &org).status, 200);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    use std::io::{BufReader, Write};
    let platform = start();
    let stream = connect(platform.addr());
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    for _ in 0..3 {
        writer.write_all(&post_bytes("/Health/Check", None, "application/json", b"{}")).unwrap();
        assert_eq!(read_answer(&mut reader).unwrap().status, 200);
    }
    assert_eq!(platform.requests().len(), 3);
}

#[test]
fn oversized_requests_get_413() {
    let platform = Platform::start(PlatformOptions { max_body_bytes: 1024, ..Default::default() }).unwrap();
    let answer =
        exchange(platform.addr(), &post_bytes("/Health/Check", None, "application/json", &[b' '; 2048])).unwrap();
    assert_eq!(answer.status, 413);
    assert!(platform.requests().is_empty());
}

#[test]
fn path_prefix_is_part_of_the_url() {
    let platform = Platform::start(PlatformOptions { path_prefix: "api/v1".into(), ..Default::default() }).unwrap();
    assert!(platform.url().ends_with("/api/v1"), "{}", platform.url());
    let ok = exchange(platform.addr(), &post_bytes("/api/v1/Health/Check", None, "application/json", b"{}")).unwrap();
    assert_eq!(ok.status, 200);
    call(platform.addr(), "Health/Check", None, b"{}").assert_status(404, 5);
}

/// ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }` of a raw 96-byte r||s signature.
fn der_signature(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_none_or(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let mut body = integer(&raw[..48]);
    body.extend(integer(&raw[48..]));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}
