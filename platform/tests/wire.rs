//! HTTP framing the real server accepts or answers, on the wire: chunked request bodies,
//! Go's 307 to the clean path, gzip answers, and the redirect and gzip-bomb faults.

mod common;

use std::io::{BufReader, Read, Write};

use common::*;
use mondoo_platform::{AuthOutcome, Fault, FaultSpec, Platform, PlatformOptions};

/// A request with these headers (no Content-Length unless given) and raw body bytes.
fn raw_request(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `body` as chunks of at most `size` bytes, then the last chunk.
fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(size) {
        out.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("a gzip body");
    out
}

#[test]
fn chunked_bodies_are_read_and_verified_over_the_decoded_bytes() {
    let platform = start();
    let signer = fixture_signer(&platform);
    let body = br#"{"hello":"chunked world","n":12345}"#;
    let bearer = format!("Bearer {}", signer.sign(body).unwrap());
    let headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), ("Authorization", &bearer)];
    let answer = exchange(platform.addr(), &raw_request("/Echo/Say", &headers, &chunked(body, 7))).unwrap();
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["hello"], "chunked world");
    let recorded = platform.requests();
    assert_eq!(recorded[0].body, body, "the decoded body is recorded");
    assert_eq!(recorded[0].auth, AuthOutcome::Accepted);

    // Two chunked requests on one kept-alive connection, the second protobuf.
    let mut conn = connect(platform.addr());
    let ping = format!("Bearer {}", signer.sign(b"").unwrap());
    conn.write_all(&raw_request("/Health/Check", &[("Transfer-Encoding", "chunked")], &chunked(b"{}", 1))).unwrap();
    let proto_headers =
        [("Content-Type", "application/protobuf"), ("Transfer-Encoding", "chunked"), ("Authorization", &ping)];
    conn.write_all(&raw_request("/AgentManager/PingPong", &proto_headers, &chunked(b"", 1))).unwrap();
    let mut reader = BufReader::new(conn);
    assert_eq!(read_answer(&mut reader).unwrap().json()["status"], "SERVING");
    let pong = read_answer(&mut reader).unwrap();
    assert_eq!((pong.status, pong.header("content-type")), (200, Some("application/protobuf")));

    // Another transfer coding is not implemented, as in Go's server.
    let answer =
        exchange(platform.addr(), &raw_request("/Health/Check", &[("Transfer-Encoding", "gzip")], b"")).unwrap();
    answer.assert_status(501, 12);
}

#[test]
fn unclean_paths_are_redirected_307_to_the_clean_path() {
    let platform = start();
    for (raw, clean) in [
        ("//Health/Check", "/Health/Check"),
        ("/a/../Health/Check", "/Health/Check"),
        ("/./AgentManager//PingPong?x=1", "/AgentManager/PingPong?x=1"),
    ] {
        let answer =
            exchange(platform.addr(), &raw_request(raw, &[("Content-Type", "application/json")], b"")).unwrap();
        assert_eq!(answer.status, 307, "{raw}");
        assert_eq!(answer.header("location"), Some(clean), "{raw}");
        assert!(answer.body.is_empty());
    }
    let recorded = platform.requests();
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|r| r.status == 307 && r.auth == AuthOutcome::NotChecked));
    assert_eq!(recorded[1].path, "/a/../Health/Check");
}

#[test]
fn answers_are_gzipped_when_the_client_asks() {
    let platform = start();
    let gzip_request = |accept_encoding: &str| {
        raw_request(
            "/Health/Check",
            &[("Content-Type", "application/json"), ("Accept-Encoding", accept_encoding), ("Content-Length", "2")],
            b"{}",
        )
    };
    let answer = exchange(platform.addr(), &gzip_request("gzip")).unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
    let decoded: serde_json::Value = serde_json::from_slice(&gunzip(&answer.body)).unwrap();
    assert_eq!(decoded["status"], "SERVING");
    // Errors too.
    let answer = exchange(
        platform.addr(),
        &raw_request("/AgentManager/PingPong", &[("Accept-Encoding", "gzip, deflate"), ("Content-Length", "0")], b""),
    )
    .unwrap();
    assert_eq!((answer.status, answer.header("content-encoding")), (401, Some("gzip")));
    assert_eq!(gunzip(&answer.body), br#"{"code":16,"message":"request permission unauthenticated"}"#);
    // Not without asking, and not when refused.
    for refused in ["identity", "gzip;q=0"] {
        let answer = exchange(platform.addr(), &gzip_request(refused)).unwrap();
        assert_eq!(answer.header("content-encoding"), None, "{refused}");
        assert_eq!(answer.json()["status"], "SERVING");
    }
    let plain = Platform::start(PlatformOptions { gzip: false, ..Default::default() }).unwrap();
    let answer = exchange(plain.addr(), &gzip_request("gzip")).unwrap();
    assert_eq!(answer.header("content-encoding"), None);
    assert_eq!(answer.json()["status"], "SERVING");
}

#[test]
fn redirect_fault_answers_location_with_an_empty_body() {
    let platform = start();
    platform.inject(FaultSpec::new(Fault::Redirect { http_status: 308, location: "/v2/Health/Check".into() }).times(2));
    for _ in 0..2 {
        let answer = call(platform.addr(), "Health/Check", None, b"{}");
        assert_eq!((answer.status, answer.header("location")), (308, Some("/v2/Health/Check")));
        assert_eq!(answer.header("content-length"), Some("0"));
    }
    assert_eq!(call(platform.addr(), "Health/Check", None, b"{}").status, 200);
    let recorded = platform.requests();
    assert_eq!(recorded.iter().map(|r| r.status).collect::<Vec<_>>(), [308, 308, 200]);
    platform.inject(Fault::Redirect { http_status: 302, location: "http://elsewhere.invalid/x".into() });
    let answer = call(platform.addr(), "Health/Check", None, b"{}");
    assert_eq!((answer.status, answer.header("location")), (302, Some("http://elsewhere.invalid/x")));
}

#[test]
fn gzip_bomb_fault_is_small_on_the_wire_and_large_decoded() {
    let platform = start();
    let decoded_bytes = 9 * 1024 * 1024;
    platform.inject(Fault::GzipBomb { decoded_bytes });
    let answer = call(platform.addr(), "Health/Check", None, b"{}");
    assert_eq!((answer.status, answer.header("content-encoding")), (200, Some("gzip")));
    assert!(answer.body.len() < 64 * 1024, "{} bytes on the wire", answer.body.len());
    let decoded = gunzip(&answer.body);
    assert_eq!(decoded.len(), decoded_bytes);
    assert!(decoded.starts_with(br#"{"pad":"xxx"#));
}
