//! Each fault's shape on the wire, and how faults are queued and consumed.

mod common;

use std::io::{BufReader, Write};
use std::time::Duration;

use common::*;
use mondoo_platform::{Fault, FaultSpec, Platform};
use serde_json::json;

fn health(platform: &Platform) -> Answer {
    call(platform.addr(), "Health/Check", None, b"{}")
}

fn health_request() -> Vec<u8> {
    post_bytes("/Health/Check", None, "application/json", b"{}")
}

/// A health check on a fresh connection, read as raw bytes until the server ends it.
fn health_raw(platform: &Platform) -> (Vec<u8>, std::io::Result<()>) {
    let mut s = connect(platform.addr());
    s.write_all(&health_request()).unwrap();
    read_all(s)
}

#[test]
fn aborted_n_times_then_normal() {
    let platform = start();
    platform.inject(FaultSpec::new(Fault::Aborted).times(2));
    for _ in 0..2 {
        let answer = health(&platform);
        answer.assert_status(409, 10);
        assert!(!answer.json()["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(health(&platform).status, 200);
    let recorded = platform.requests();
    assert_eq!(recorded.iter().filter(|r| r.fault == Some(Fault::Aborted)).count(), 2);
    assert_eq!(recorded[0].status, 409);
}

#[test]
fn only_filter_leaves_other_calls_alone() {
    let platform = start();
    platform.inject(FaultSpec::new(Fault::unauthenticated()).only("AgentManager/PingPong"));
    assert_eq!(health(&platform).status, 200);
    assert_eq!(platform.pending_faults().len(), 1);
    let answer = call(platform.addr(), "AgentManager/PingPong", None, b"{}");
    assert_eq!(answer.json(), json!({"code": 16, "message": "request permission unauthenticated"}));
    assert!(platform.pending_faults().is_empty());
}

#[test]
fn status_faults_carry_code_and_mapped_http_status() {
    let platform = start();
    for (code, http) in [(7, 403), (8, 429), (14, 503), (16, 401)] {
        platform.inject(Fault::status(code, "injected"));
        let answer = health(&platform);
        answer.assert_status(http, code as u64);
        assert_eq!(answer.json()["message"], "injected");
    }
    platform.inject(Fault::Status { http_status: 500, code: 2, message: "odd".into() });
    health(&platform).assert_status(500, 2);
}

#[test]
fn html_502_and_empty_500() {
    let platform = start();
    platform.inject(Fault::Html502);
    let answer = health(&platform);
    assert_eq!(answer.status, 502);
    assert_eq!(answer.header("content-type"), Some("text/html"));
    assert!(String::from_utf8(answer.body).unwrap().starts_with("<html>"));

    platform.inject(Fault::Empty500);
    let answer = health(&platform);
    assert_eq!(answer.status, 500);
    assert!(answer.body.is_empty());
    assert_eq!(answer.header("content-length"), Some("0"));
}

#[test]
fn truncated_json_promises_more_than_it_sends() {
    let platform = start();
    platform.inject(Fault::TruncatedJson);
    let (bytes, _) = health_raw(&platform);
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"));
    let declared: usize = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap().parse().unwrap();
    assert!(body.len() < declared, "{} of {declared}", body.len());
    assert!(serde_json::from_str::<serde_json::Value>(body).is_err());
}

#[test]
fn huge_body_has_exactly_the_size_asked() {
    let platform = start();
    let size = 10 * 1024 * 1024;
    platform.inject(Fault::HugeBody { bytes: size });
    let answer = health(&platform);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.len(), size);
    assert_eq!(&answer.body[..8], br#"{"pad":""#);
}

#[test]
fn reset_mid_answer() {
    let platform = start();
    platform.inject(Fault::Reset);
    let (bytes, ended) = health_raw(&platform);
    let err = ended.expect_err("the connection is reset, not closed in order");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    // Whatever arrived before the reset is an incomplete answer.
    let text = String::from_utf8_lossy(&bytes);
    if let Some((_, body)) = text.split_once("\r\n\r\n") {
        assert!(body.len() < 4096);
    }
    // The platform is fine afterwards.
    assert_eq!(health(&platform).status, 200);
}

#[test]
fn slow_answer_outlasts_a_short_client_timeout_then_answers_normally() {
    let platform = start();
    platform.inject(Fault::Slow { millis: 3000 });
    let mut s = connect(platform.addr());
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    s.write_all(&health_request()).unwrap();
    let err = read_answer(&mut BufReader::new(s)).expect_err("no answer within the client's timeout");
    assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{err}");

    // A slow answer is a normal answer once it comes.
    platform.inject(Fault::Slow { millis: 50 });
    assert_eq!(health(&platform).status, 200);
    assert_eq!(platform.requests().last().unwrap().fault, Some(Fault::Slow { millis: 50 }));
}

#[test]
fn faults_are_consumed_in_order_and_can_be_cleared() {
    let platform = start();
    platform.inject(Fault::Aborted);
    platform.inject(Fault::Html502);
    platform.inject(Fault::Empty500);
    assert_eq!(health(&platform).status, 409);
    assert_eq!(health(&platform).status, 502);
    platform.clear_faults();
    assert_eq!(health(&platform).status, 200);
}
