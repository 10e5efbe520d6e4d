//! Every service and error path in protobuf, and the choice between protobuf and JSON,
//! checked on the wire against bytes written out here: requests are encoded by hand
//! and answers are read with a small protobuf reader of this file, never with the
//! platform's own `prost` messages.

mod common;

use std::collections::BTreeMap;

use common::*;
use mondoo_platform::{AuthOutcome, Fault, Platform, PlatformOptions, TokenSpec, FIXTURE_SPACE, UNAUTHENTICATED};
use serde_json::json;

const PROTOBUF: &str = "application/protobuf";

// ---- a protobuf encoder and reader, independent of the platform's ----

fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A length-delimited field (wire type 2).
fn field(number: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = varint(number << 3 | 2);
    out.extend(varint(bytes.len() as u64));
    out.extend_from_slice(bytes);
    out
}

/// A string field; proto3 leaves out the empty string.
fn string(number: u64, value: &str) -> Vec<u8> {
    if value.is_empty() {
        Vec::new()
    } else {
        field(number, value.as_bytes())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Wire {
    Varint(u64),
    Bytes(Vec<u8>),
}

fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[*at];
        *at += 1;
        n |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return n;
        }
    }
    panic!("varint longer than 10 bytes");
}

/// Every field of a message in order: (number, value). Only varints and
/// length-delimited fields occur in these messages.
fn fields(bytes: &[u8]) -> Vec<(u64, Wire)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = read_varint(bytes, &mut at);
        let value = match key & 7 {
            0 => Wire::Varint(read_varint(bytes, &mut at)),
            2 => {
                let len = read_varint(bytes, &mut at) as usize;
                at += len;
                Wire::Bytes(bytes[at - len..at].to_vec())
            }
            other => panic!("wire type {other} in {bytes:02x?}"),
        };
        out.push((key >> 3, value));
    }
    out
}

/// The length-delimited fields of a message that are UTF-8, by number (the last one
/// wins, as in protobuf); nested messages read with [`message_field`].
fn strings(bytes: &[u8]) -> BTreeMap<u64, String> {
    fields(bytes)
        .into_iter()
        .filter_map(|(n, v)| match v {
            Wire::Bytes(b) => String::from_utf8(b).ok().map(|s| (n, s)),
            Wire::Varint(_) => None,
        })
        .collect()
}

fn message_field(bytes: &[u8], number: u64) -> Vec<u8> {
    fields(bytes)
        .into_iter()
        .find_map(|(n, v)| match v {
            Wire::Bytes(b) if n == number => Some(b),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no field {number} in {bytes:02x?}"))
}

/// `google.rpc.Status{code, message}` as ranger writes it.
fn status_bytes(code: u8, message: &str) -> Vec<u8> {
    let mut out = vec![0x08, code];
    out.extend(string(2, message));
    out
}

// ---- requests ----

fn request(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A protobuf call as the Go client makes it: protobuf in, protobuf asked for.
fn proto_call(platform: &Platform, service_method: &str, bearer: Option<&str>, body: &[u8]) -> Answer {
    let auth = bearer.map(|b| format!("Bearer {b}"));
    let mut headers = vec![("Content-Type", PROTOBUF), ("Accept", PROTOBUF)];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    exchange(platform.addr(), &request(&format!("/{service_method}"), &headers, body)).unwrap()
}

fn assert_proto_status(answer: &Answer, http: u16, code: u8, message: &str) {
    assert_eq!(answer.status, http, "body {:02x?}", answer.body);
    assert_eq!(answer.header("content-type"), Some(PROTOBUF));
    assert_eq!(answer.body, status_bytes(code, message));
}

fn agent_info(mrn: &str, hostname: &str, labels: &[(&str, &str)], platform_id: &str) -> Vec<u8> {
    let mut out = string(1, mrn);
    out.extend(string(2, "9.9.9"));
    out.extend(string(4, "debian"));
    out.extend(string(5, "12"));
    out.extend(string(6, "x86_64"));
    out.extend(string(7, "192.0.2.7"));
    out.extend(string(8, hostname));
    for (k, v) in labels {
        // a map entry is a message {1: key, 2: value}
        let mut entry = string(1, k);
        entry.extend(string(2, v));
        out.extend(field(18, &entry));
    }
    out.extend(string(20, platform_id));
    out
}

#[test]
fn the_hand_encoder_matches_known_wire_bytes() {
    // AgentInfo{platform_hostname: "h", labels: {"a": "b"}, platform_id: "p"}: tags 8,
    // 18 and 20 need one, two and two key bytes.
    let mut bytes = string(8, "h");
    bytes.extend(field(18, &[string(1, "a"), string(2, "b")].concat()));
    bytes.extend(string(20, "p"));
    assert_eq!(bytes, [0x42, 0x01, b'h', 0x92, 0x01, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, b'b', 0xa2, 0x01, 0x01, b'p']);
    assert_eq!(status_bytes(5, "method not defined")[..4], [0x08, 0x05, 0x12, 0x12]);
}

#[test]
fn health_check_in_protobuf_and_json_by_content_type_and_accept() {
    let platform =
        Platform::start(PlatformOptions { api_version: "v-test".into(), build: "b1".into(), ..Default::default() })
            .unwrap();
    // HealthCheckRequest{service: ""} is zero bytes in protobuf.
    let answer = proto_call(&platform, "Health/Check", None, b"");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some(PROTOBUF));
    let time = strings(&answer.body)[&2].clone();
    time::OffsetDateTime::parse(&time, &time::format_description::well_known::Rfc3339).expect("RFC 3339 time");
    // status=SERVING (1), time, apiVersion, build, in field order.
    let expected = [vec![0x08, 0x01], string(2, &time), string(3, "v-test"), string(4, "b1")].concat();
    assert_eq!(answer.body, expected);

    // Without Accept the answer is in the request's encoding, for each protobuf type.
    for content_type in ["application/protobuf", "application/octet-stream", "application/grpc+proto"] {
        let answer =
            exchange(platform.addr(), &request("/Health/Check", &[("Content-Type", content_type)], b"")).unwrap();
        assert_eq!((answer.status, answer.header("content-type")), (200, Some(PROTOBUF)), "{content_type}");
        assert_eq!(fields(&answer.body)[0], (1, Wire::Varint(1)));
    }
    // Accept decides over the request's encoding, both ways.
    let json_answer = exchange(
        platform.addr(),
        &request("/Health/Check", &[("Content-Type", PROTOBUF), ("Accept", "application/json")], b""),
    )
    .unwrap();
    assert_eq!(json_answer.header("content-type"), Some("application/json"));
    assert_eq!(json_answer.json()["apiVersion"], "v-test");
    let proto_answer = exchange(
        platform.addr(),
        &request("/Health/Check", &[("Content-Type", "application/json"), ("Accept", PROTOBUF)], br#"{"service":""}"#),
    )
    .unwrap();
    assert_eq!(proto_answer.header("content-type"), Some(PROTOBUF));
    assert_eq!(strings(&proto_answer.body)[&3], "v-test");
    // No Content-Type and no Accept: JSON, and an empty body is the empty message.
    let bare = exchange(platform.addr(), &request("/Health/Check", &[], b"")).unwrap();
    assert_eq!((bare.status, bare.header("content-type")), (200, Some("application/json")));
    assert_eq!(bare.json()["status"], "SERVING");
    // A protobuf request with a field set: service=1.
    let answer = proto_call(&platform, "Health/Check", None, &string(1, "AgentManager"));
    assert_eq!(answer.status, 200);
}

#[test]
fn error_bodies_are_google_rpc_status_for_protobuf_clients() {
    let platform = start();
    assert_proto_status(&proto_call(&platform, "AgentManager/NoSuchMethod", None, b""), 404, 5, "method not defined");
    assert_proto_status(&proto_call(&platform, "AgentManager/PingPong", None, b""), 401, 16, UNAUTHENTICATED);
    // The exact bytes a Go client's proto.Unmarshal reads: code=16, message.
    let answer = proto_call(&platform, "AgentManager/PingPong", None, b"");
    assert_eq!(answer.body[..4], [0x08, 0x10, 0x12, 0x22]);
    // A body that is not the message: field 1 claims 100 bytes that are not there.
    let answer = proto_call(&platform, "Health/Check", None, &[0x0a, 0x64, b'x']);
    assert_eq!((answer.status, answer.header("content-type")), (500, Some(PROTOBUF)));
    assert_eq!(fields(&answer.body)[0], (1, Wire::Varint(2)));
    assert!(strings(&answer.body)[&2].starts_with("malformed request"), "{:?}", strings(&answer.body));
    // An unknown media type, answered in protobuf when protobuf is accepted.
    let answer = exchange(
        platform.addr(),
        &request("/Health/Check", &[("Content-Type", "text/plain"), ("Accept", PROTOBUF)], b""),
    )
    .unwrap();
    assert_proto_status(&answer, 400, 3, "unexpected content-type: \"text/plain\"");
    // The JSON-only test service has no protobuf messages.
    let signer = fixture_signer(&platform);
    let answer = proto_call(&platform, "Echo/Say", Some(&signer.sign(b"").unwrap()), b"");
    assert_proto_status(&answer, 501, 12, "Echo/Say is a JSON-only test service: send JSON");
    // Queued statuses follow the client's encoding too.
    platform.inject(Fault::Aborted);
    assert_proto_status(
        &proto_call(&platform, "Health/Check", None, b""),
        409,
        10,
        "the request was aborted, please retry",
    );
    platform.inject(Fault::status(14, "down for maintenance"));
    assert_proto_status(&proto_call(&platform, "Health/Check", None, b""), 503, 14, "down for maintenance");
    platform.inject(Fault::status(14, "down for maintenance"));
    let answer = call(platform.addr(), "Health/Check", None, b"{}");
    assert_eq!(answer.json(), json!({"code": 14, "message": "down for maintenance"}));
}

#[test]
fn signed_calls_are_verified_over_the_protobuf_bytes() {
    let platform = start();
    let signer = fixture_signer(&platform);
    // Ping{} is the empty body; chash is the SHA-256 of no bytes.
    let answer = proto_call(&platform, "AgentManager/PingPong", Some(&signer.sign(b"").unwrap()), b"");
    assert_eq!((answer.status, answer.header("content-type")), (200, Some(PROTOBUF)));
    assert!(answer.body.is_empty(), "Pong{{}} is empty: {:02x?}", answer.body);
    assert_eq!(platform.requests().last().unwrap().auth, AuthOutcome::Accepted);
    // Signed for the JSON of the same message: not these bytes, so 401.
    let answer = proto_call(&platform, "AgentManager/PingPong", Some(&signer.sign(b"{}").unwrap()), b"");
    assert_proto_status(&answer, 401, 16, UNAUTHENTICATED);
    // A non-empty body (an unknown field 15, which Ping ignores) signed over its bytes.
    let body = string(15, "padding");
    let answer = proto_call(&platform, "AgentManager/PingPong", Some(&signer.sign(&body).unwrap()), &body);
    assert_eq!(answer.status, 200);
    let answer = proto_call(&platform, "AgentManager/PingPong", Some(&signer.sign(&body[1..]).unwrap()), &body);
    assert_eq!(answer.status, 401);
}

#[test]
fn token_registration_check_in_and_unregister_in_protobuf() {
    let platform = start();
    let mut spec = TokenSpec::new(FIXTURE_SPACE);
    spec.labels.insert("env".into(), "prod".into());
    let token = platform.mint_token(&spec).unwrap();
    let info = agent_info("", "box.example", &[("team", "blue")], "//platformid.api.mondoo.app/hostname/box.example");
    let body = [string(1, &token), string(2, "proto-agent"), field(3, &info)].concat();
    let answer = proto_call(&platform, "AgentManager/RegisterAgent", Some(&token), &body);
    assert_eq!((answer.status, answer.header("content-type")), (200, Some(PROTOBUF)), "{:02x?}", answer.body);

    // AgentRegistrationConfirmation{agent_mrn=1, credential=2{mrn, parent_mrn, private_key, certificate, api_endpoint}}
    let agent_mrn = strings(&answer.body)[&1].clone();
    assert!(agent_mrn.starts_with("//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/agents/"), "{agent_mrn}");
    let credential = strings(&message_field(&answer.body, 2));
    assert_eq!(credential[&2], FIXTURE_SPACE);
    assert_eq!(credential[&5], platform.url());
    assert!(credential[&3].contains("PRIVATE KEY"));
    assert!(!credential.contains_key(&6), "scope_mrn is empty and left out");
    let credentials = json!({"mrn": credential[&1], "private_key": credential[&3], "certificate": credential[&4]});
    let agent_signer = signer_of(&credentials);

    // What the platform decoded from the hand-made bytes.
    let agents = platform.agents();
    let agent = agents.iter().find(|a| a.mrn == agent_mrn).expect("the new agent");
    assert_eq!(agent.name, "proto-agent");
    assert_eq!(agent.info["platform_hostname"], "box.example");
    assert_eq!(agent.info["platform_id"], "//platformid.api.mondoo.app/hostname/box.example");
    assert_eq!(agent.info["labels"], json!({"team": "blue"}));
    assert_eq!(agent.info["platform_release"], "12");
    assert!(agent.info.get("mrn").is_none(), "the empty mrn reads as absent: {}", agent.info);
    assert_eq!(agent.labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(agent.labels.get("team").map(String::as_str), Some("blue"));

    // The new credential signs protobuf calls.
    let answer = proto_call(&platform, "AgentManager/PingPong", Some(&agent_signer.sign(b"").unwrap()), b"");
    assert_eq!(answer.status, 200);
    let check_in = agent_info(&agent_mrn, "box.example", &[], "//platformid.api.mondoo.app/hostname/box.example");
    let answer =
        proto_call(&platform, "AgentManager/HealthCheck", Some(&agent_signer.sign(&check_in).unwrap()), &check_in);
    assert_eq!((answer.status, answer.body.len()), (200, 0), "AgentCheckinResponse{{}}");
    assert_eq!(platform.agents().iter().find(|a| a.mrn == agent_mrn).unwrap().check_ins, 1);

    // An unknown agent: NotFound as a Status.
    let stranger = agent_info("//agents.api.mondoo.app/spaces/x/agents/none", "h", &[], "");
    let answer =
        proto_call(&platform, "AgentManager/HealthCheck", Some(&agent_signer.sign(&stranger).unwrap()), &stranger);
    assert_eq!((answer.status, fields(&answer.body)[0].clone()), (404, (1, Wire::Varint(5))));

    // UnRegisterAgent(Mrn{mrn=1}) → Confirmation{mrn=1}
    let mrn = string(1, &agent_mrn);
    let answer = proto_call(&platform, "AgentManager/UnRegisterAgent", Some(&agent_signer.sign(&mrn).unwrap()), &mrn);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, string(1, &agent_mrn));
    assert!(platform.agents().iter().all(|a| a.mrn != agent_mrn));
    // Its credential went with it.
    let answer = proto_call(&platform, "AgentManager/PingPong", Some(&agent_signer.sign(b"").unwrap()), b"");
    assert_proto_status(&answer, 401, 16, UNAUTHENTICATED);
}

#[test]
fn service_account_registration_in_protobuf_answers_the_agent_mrn_only() {
    let platform = start();
    let signer = fixture_signer(&platform);
    let body = [string(2, "sa-agent"), field(3, &agent_info("", "sa.example", &[], ""))].concat();
    let answer = proto_call(&platform, "AgentManager/RegisterAgent", Some(&signer.sign(&body).unwrap()), &body);
    assert_eq!(answer.status, 200);
    let got = fields(&answer.body);
    assert_eq!(got.len(), 1, "only agent_mrn: {got:?}");
    let agent_mrn = strings(&answer.body)[&1].clone();
    assert!(platform.agents().iter().any(|a| a.mrn == agent_mrn && a.name == "sa-agent"));
    // A bad token in protobuf is the same 401 Status.
    let body = string(1, "not-a-token");
    assert_proto_status(
        &proto_call(&platform, "AgentManager/RegisterAgent", Some("not-a-token"), &body),
        401,
        16,
        UNAUTHENTICATED,
    );
}
