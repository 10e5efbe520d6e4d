//! SecureTokenService and the local OIDC issuer, with real parts: an OpenSSH ssh-agent
//! with keys made by ssh-keygen, signing through `mondoo::__private::sts`, and identity tokens from
//! the platform's own OIDC issuer.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use common::{call, exchange, ping, signer_of, start, unix_now, Answer};
use mondoo::__private::sts::{self, ExchangeSshRequest, ExchangedCredential, SshClaims};
use mondoo_platform::wire;
use mondoo_platform::{AuthOutcome, FIXTURE_SPACE, UNAUTHENTICATED};
use prost::Message;
use serde_json::{json, Value};

const IDENTITY: &str = "//captain.api.mondoo.app/users/ssh-user";
const AUDIENCE: &str = "mondoo-test-audience";
const WORKLOAD: &str = "repo:mondoohq/libmondoo:ref:refs/heads/main";

use mondoo_platform::ssh_agent::SshAgent as Agent;

fn signed_request(agent: &Agent, subject: &str, resource: &str, now: i64) -> ExchangeSshRequest {
    let claims = SshClaims::new(subject, resource, now).unwrap();
    let signatures = sts::sign_claims_with_agent(agent.socket(), &claims).unwrap();
    ExchangeSshRequest { claims, signatures }
}

fn exchange_ssh(platform: &mondoo_platform::Platform, request: &ExchangeSshRequest) -> Answer {
    call(platform.addr(), "SecureTokenService/ExchangeSSH", None, &serde_json::to_vec(request).unwrap())
}

fn assert_refused(answer: &Answer, http: u16, code: u64) {
    answer.assert_status(http, code);
}

#[test]
fn ssh_exchange_with_every_key_type_then_signed_ping() {
    let platform = start();
    for kind in ["ed25519", "ecdsa", "ecdsa-384", "rsa"] {
        let agent = Agent::start();
        let public_key = agent.add_key(kind);
        let fingerprint = platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &public_key).unwrap();
        let request = signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now());
        assert_eq!(request.signatures.len(), 1);
        assert_eq!(request.signatures[0].kid, agent.fingerprint(kind), "{kind}: kid as ssh-keygen prints it");
        assert_eq!(request.signatures[0].kid, fingerprint);
        if kind == "rsa" {
            // hex of string "rsa-sha2-512": never SHA-1 ssh-rsa
            assert!(request.signatures[0].sig.starts_with("0000000c7273612d736861322d353132"), "{kind}");
        }
        let answer = exchange_ssh(&platform, &request);
        assert_eq!(answer.status, 200, "{kind}: {}", String::from_utf8_lossy(&answer.body));
        let credential = answer.json();
        assert_eq!(credential["parent_mrn"], FIXTURE_SPACE);
        assert_eq!(credential["api_endpoint"], platform.url());
        let signer = signer_of(&credential);
        assert_eq!(ping(platform.addr(), &signer).status, 200, "{kind}: the exchanged account signs calls");

        let record = platform.requests().into_iter().rev().find(|r| r.method == "ExchangeSSH").unwrap();
        let exchange = record.exchange.expect("exchange recorded");
        assert_eq!(exchange.key_fingerprint.as_deref(), Some(fingerprint.as_str()));
        assert_eq!(exchange.subject, IDENTITY);
        assert_eq!(exchange.account_mrn.as_deref(), credential["mrn"].as_str());
    }
}

#[test]
fn ssh_exchange_refusals() {
    let platform = start();
    let agent = Agent::start();
    let public_key = agent.add_key("ed25519");

    // A key the platform does not know: 401 code 16, the reason kept in the record.
    let unknown = exchange_ssh(&platform, &signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now()));
    assert_refused(&unknown, 401, 16);
    assert_eq!(unknown.json()["message"], UNAUTHENTICATED);
    let last = platform.requests().pop().unwrap();
    assert!(matches!(&last.auth, AuthOutcome::Rejected(why) if why.contains("authorized key")), "{:?}", last.auth);

    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &public_key).unwrap();
    // Expired claims (made 10 minutes ago, valid 5).
    assert_refused(
        &exchange_ssh(&platform, &signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now() - 600)),
        401,
        16,
    );
    // Claims signed for one subject, then changed: the signature no longer verifies.
    let mut tampered = signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now());
    tampered.claims.subject = "//captain.api.mondoo.app/users/someone-else".into();
    assert_refused(&exchange_ssh(&platform, &tampered), 401, 16);
    // A good signature by a known key for a subject it is not bound to: 7.
    let other = "//captain.api.mondoo.app/users/other";
    assert_refused(&exchange_ssh(&platform, &signed_request(&agent, other, FIXTURE_SPACE, unix_now())), 403, 7);
    // Malformed: no claims, a time that is not RFC 3339.
    assert_refused(&call(platform.addr(), "SecureTokenService/ExchangeSSH", None, b"{}"), 400, 3);
    let mut bad_time = signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now());
    bad_time.claims.exp = "tomorrow".into();
    assert_refused(&exchange_ssh(&platform, &bad_time), 400, 3);
    // The injectable refusal, once.
    platform.refuse_exchanges(1);
    let good = signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now());
    let refused = exchange_ssh(&platform, &good);
    assert_refused(&refused, 403, 7);
    assert_eq!(refused.json()["message"], "exchange refused");
    assert_eq!(exchange_ssh(&platform, &good).status, 200);
}

#[test]
fn exchanged_credential_expires_with_its_certificate() {
    let platform = start();
    let agent = Agent::start();
    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &agent.add_key("ed25519")).unwrap();
    platform.set_exchange_ttl(120);
    let answer = exchange_ssh(&platform, &signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now()));
    let signer = signer_of(&answer.json());
    assert_eq!(ping(platform.addr(), &signer).status, 200);
    // Three minutes later on the platform clock (the client signs with the same offset).
    platform.set_clock_offset(180);
    signer.set_clock_offset(180);
    let after = ping(platform.addr(), &signer);
    after.assert_status(401, 16);
    let last = platform.requests().pop().unwrap();
    assert!(matches!(&last.auth, AuthOutcome::Rejected(why) if why.contains("expired")), "{:?}", last.auth);
}

#[test]
fn no_agent_and_empty_agent_are_clear_errors() {
    let agent = Agent::start();
    let claims = SshClaims::new(IDENTITY, FIXTURE_SPACE, unix_now()).unwrap();
    let e = sts::sign_claims_with_agent(agent.socket(), &claims).unwrap_err();
    assert!(e.message().contains("holds no keys"), "{e}");
    let gone = agent.dir().join("no-such.sock");
    let e = sts::sign_claims_with_agent(&gone, &claims).unwrap_err();
    assert!(e.message().contains("no ssh-agent"), "{e}");
}

/// A request with `Content-Type` and `Accept` both protobuf.
fn protobuf_call(addr: std::net::SocketAddr, method: &str, body: &[u8]) -> Answer {
    let mut request = format!(
        "POST /SecureTokenService/{method} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/protobuf\r\nAccept: application/protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.write_all(body).unwrap();
    exchange(addr, &request).unwrap()
}

#[test]
fn both_exchanges_speak_protobuf() {
    let platform = start();
    let agent = Agent::start();
    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &agent.add_key("ecdsa")).unwrap();
    let request = signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now());
    let message = wire::ExchangeSshKeyRequest {
        claims: Some(wire::Claims {
            subject: request.claims.subject.clone(),
            exp: request.claims.exp.clone(),
            iat: request.claims.iat.clone(),
            resource: request.claims.resource.clone(),
        }),
        signatures: request
            .signatures
            .iter()
            .map(|s| wire::SshSignature { alg: s.alg.clone(), kid: s.kid.clone(), sig: s.sig.clone() })
            .collect(),
    };
    let answer = protobuf_call(platform.addr(), "ExchangeSSH", &message.encode_to_vec());
    assert_eq!(answer.status, 200);
    let response = wire::ExchangeSshKeyResponse::decode(answer.body.as_slice()).unwrap();
    assert_eq!(response.parent_mrn, FIXTURE_SPACE);
    let signer = mondoo::Signer::from_pem(&response.mrn, &response.private_key, Some(&response.certificate)).unwrap();
    assert_eq!(ping(platform.addr(), &signer).status, 200);

    let issuer = platform.oidc().issuer().to_string();
    platform.authorize_workload(&issuer, AUDIENCE, WORKLOAD, FIXTURE_SPACE);
    let external = wire::ExchangeExternalTokenRequest {
        issuer_uri: issuer,
        audience: AUDIENCE.into(),
        jwt_token: platform.oidc().mint(WORKLOAD, AUDIENCE, 300).unwrap(),
        response_type: String::new(),
    };
    let answer = protobuf_call(platform.addr(), "ExchangeExternalToken", &external.encode_to_vec());
    assert_eq!(answer.status, 200);
    let response = wire::ExchangeExternalTokenResponse::decode(answer.body.as_slice()).unwrap();
    assert!(matches!(sts::decode_base64_credential(&response.base64_credential).unwrap(), ExchangedCredential::Key(_)));
}

fn http_get(url: &str, bearer: Option<&str>) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut request = client.get(url);
    if let Some(b) = bearer {
        request = request.bearer_auth(b);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().unwrap()).unwrap_or(Value::Null))
}

#[test]
fn oidc_issuer_discovery_jwks_and_github_endpoint() {
    let platform = start();
    let oidc = platform.oidc();
    let (status, discovery) = http_get(&format!("{}/.well-known/openid-configuration", oidc.issuer()), None);
    assert_eq!(status, 200);
    assert_eq!(discovery["issuer"], oidc.issuer());
    let (status, jwks) = http_get(discovery["jwks_uri"].as_str().unwrap(), None);
    assert_eq!(status, 200);
    assert_eq!(&jwks, oidc.jwks());
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    // GitHub Actions: the request URL has a query, the client appends the audience.
    let url = sts::github_actions_token_url(&oidc.actions_request_url(), AUDIENCE);
    let (status, _) = http_get(&url, Some("wrong-request-token"));
    assert_eq!(status, 401);
    let (status, answer) = http_get(&url, Some(oidc.actions_request_token()));
    assert_eq!(status, 200);
    let token = answer["value"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (claims["sub"].as_str(), claims["aud"].as_str()),
        (Some(oidc.github_subject().as_str()), Some(AUDIENCE))
    );
    assert_eq!(claims["iss"], oidc.issuer());

    // ... and that token is accepted by ExchangeExternalToken once the workload is bound.
    platform.authorize_workload(oidc.issuer(), AUDIENCE, &oidc.github_subject(), FIXTURE_SPACE);
    let answer = exchange_external(&platform, AUDIENCE, token, "");
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
}

fn exchange_external(platform: &mondoo_platform::Platform, audience: &str, jwt: &str, response_type: &str) -> Answer {
    let body = json!({
        "issuer_uri": platform.oidc().issuer(),
        "audience": audience,
        "jwt_token": jwt,
        "response_type": response_type,
    });
    call(platform.addr(), "SecureTokenService/ExchangeExternalToken", None, body.to_string().as_bytes())
}

#[test]
fn external_token_exchange_both_response_types() {
    let platform = start();
    let oidc = platform.oidc();
    platform.authorize_workload(oidc.issuer(), AUDIENCE, WORKLOAD, FIXTURE_SPACE);

    let answer = exchange_external(&platform, AUDIENCE, &oidc.mint(WORKLOAD, AUDIENCE, 300).unwrap(), "");
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let ExchangedCredential::Key(key) =
        sts::decode_base64_credential(answer.json()["base64_credential"].as_str().unwrap()).unwrap()
    else {
        panic!("a key credential")
    };
    assert_eq!(key.scope_mrn, FIXTURE_SPACE);
    let signer = mondoo::Signer::from_pem(&key.mrn, &key.private_key, Some(&key.certificate)).unwrap();
    assert_eq!(ping(platform.addr(), &signer).status, 200);
    let record = platform.requests().into_iter().find(|r| r.method == "ExchangeExternalToken").unwrap();
    let exchange = record.exchange.unwrap();
    assert_eq!((exchange.subject.as_str(), exchange.issuer.as_deref()), (WORKLOAD, Some(oidc.issuer())));

    let answer = exchange_external(&platform, AUDIENCE, &oidc.mint(WORKLOAD, AUDIENCE, 300).unwrap(), "TOKEN");
    assert_eq!(answer.status, 200);
    let ExchangedCredential::Token(token) =
        sts::decode_base64_credential(answer.json()["base64_credential"].as_str().unwrap()).unwrap()
    else {
        panic!("a token credential")
    };
    let pinged = call(platform.addr(), "AgentManager/PingPong", Some(&token.token), b"{}");
    assert_eq!(pinged.status, 200, "the static token authenticates");
}

#[test]
fn external_token_refusals() {
    let platform = start();
    let oidc = platform.oidc();
    platform.authorize_workload(oidc.issuer(), AUDIENCE, WORKLOAD, FIXTURE_SPACE);
    // wrong audience: the token was made for another one
    let other_audience = oidc.mint(WORKLOAD, "another-audience", 300).unwrap();
    assert_refused(&exchange_external(&platform, AUDIENCE, &other_audience, ""), 401, 16);
    // expired (beyond the minute of leeway)
    let expired = oidc.mint(WORKLOAD, AUDIENCE, -120).unwrap();
    assert_refused(&exchange_external(&platform, AUDIENCE, &expired, ""), 401, 16);
    let last = platform.requests().pop().unwrap();
    assert!(matches!(&last.auth, AuthOutcome::Rejected(why) if why.contains("expired")), "{:?}", last.auth);
    // a good token for a subject the platform does not know
    let stranger = oidc.mint("repo:someone/else:ref:refs/heads/main", AUDIENCE, 300).unwrap();
    assert_refused(&exchange_external(&platform, AUDIENCE, &stranger, ""), 403, 7);
    // a forged signature
    let good = oidc.mint(WORKLOAD, AUDIENCE, 300).unwrap();
    let forged = format!("{}AAAA", &good[..good.len() - 4]);
    assert_refused(&exchange_external(&platform, AUDIENCE, &forged, ""), 401, 16);
    // malformed: not a JWT, unknown response type
    assert_refused(&exchange_external(&platform, AUDIENCE, "not-a-jwt", ""), 400, 3);
    assert_refused(&exchange_external(&platform, AUDIENCE, &good, "COOKIE"), 400, 3);
    // refused once, then accepted
    platform.refuse_exchanges(1);
    assert_refused(&exchange_external(&platform, AUDIENCE, &good, ""), 403, 7);
    assert_eq!(exchange_external(&platform, AUDIENCE, &good, "").status, 200);
}

fn admin(platform: &mondoo_platform::Platform, what: &str, body: Value) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/_admin/{what}", platform.url()))
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "/_admin/{what}");
    serde_json::from_slice(&response.bytes().unwrap()).unwrap()
}

#[test]
fn admin_routes_drive_both_exchanges() {
    let platform = start();
    let info = admin(&platform, "info", json!({}));
    assert_eq!(info["oidc_issuer"], platform.oidc().issuer());
    assert_eq!(info["actions_request_url"], platform.oidc().actions_request_url());
    assert_eq!(info["metadata_host"], platform.oidc().metadata_host());

    let agent = Agent::start();
    let public_key = agent.add_key("ed25519");
    let bound = admin(
        &platform,
        "authorize-ssh-key",
        json!({"subject_mrn": IDENTITY, "scope_mrn": FIXTURE_SPACE, "public_key": public_key}),
    );
    let request = signed_request(&agent, IDENTITY, FIXTURE_SPACE, unix_now());
    assert_eq!(bound["fingerprint"], request.signatures[0].kid.as_str());
    admin(&platform, "refuse-exchanges", json!({"times": 1}));
    assert_refused(&exchange_ssh(&platform, &request), 403, 7);
    admin(&platform, "exchange-api-endpoint", json!({"api_endpoint": "https://eu.api.example"}));
    assert_eq!(exchange_ssh(&platform, &request).json()["api_endpoint"], "https://eu.api.example");
    admin(&platform, "exchange-api-endpoint", json!({"api_endpoint": null}));
    admin(&platform, "exchange-ttl", json!({"seconds": 30}));
    let credential = exchange_ssh(&platform, &request).json();
    assert_eq!(credential["api_endpoint"], platform.url());
    let signer = signer_of(&credential);
    platform.set_clock_offset(90);
    signer.set_clock_offset(90);
    ping(platform.addr(), &signer).assert_status(401, 16);
    platform.set_clock_offset(0);

    let issuer = admin(
        &platform,
        "authorize-workload",
        json!({"audience": AUDIENCE, "subject": WORKLOAD, "scope_mrn": FIXTURE_SPACE}),
    );
    assert_eq!(issuer["issuer"], platform.oidc().issuer());
    let token = admin(&platform, "oidc-token", json!({"subject": WORKLOAD, "audience": AUDIENCE}));
    let answer = exchange_external(&platform, AUDIENCE, token["token"].as_str().unwrap(), "TOKEN");
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let requests: Value = serde_json::from_slice(
        &reqwest::blocking::get(format!("{}/_admin/requests", platform.url())).unwrap().bytes().unwrap(),
    )
    .unwrap();
    let last = requests.as_array().unwrap().last().unwrap();
    assert_eq!(last["exchange"]["subject"], WORKLOAD);
    assert_eq!(last["exchange"]["issuer"], platform.oidc().issuer());
}

#[test]
fn binary_runs_the_oidc_issuer_alone() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mondoo-platform"))
        .arg("--oidc-only")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let issuer = line.trim();
    let (status, discovery) = http_get(&format!("{issuer}/.well-known/openid-configuration"), None);
    assert_eq!(status, 200);
    assert_eq!(discovery["issuer"], issuer);
    let minted: Value = serde_json::from_slice(
        &reqwest::blocking::Client::new()
            .post(format!("{issuer}/mint"))
            .body(json!({"subject": WORKLOAD, "audience": AUDIENCE}).to_string())
            .send()
            .unwrap()
            .bytes()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(minted["token"].as_str().unwrap().split('.').count(), 3);
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}
