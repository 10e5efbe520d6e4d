//! Text a server chooses never reaches a terminal raw (issue 14 F9): a status body's
//! `message`, a non-status body and the Health/Check fields status shows have their
//! control characters escaped and are cut to 2 KiB, in errors, in the status text and in
//! its JSON.

use mondoo::blocking::Client;
use mondoo::Config;
use mondoo_platform::{Fault, FaultSpec, Platform, PlatformOptions};

mod common;
use common::{load_at, options, token_login};

/// An escape sequence that clears the screen and retitles the terminal, a C1 CSI and DEL.
const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\u{7f}";

/// A registered client against a fresh platform.
fn registered_client(platform: &Platform, dir: &std::path::Path) -> Client {
    let path = dir.join("mondoo.yml");
    token_login(platform, &path, options());
    Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap()
}

/// No control character at all (the escapes are printable), and nothing longer than the
/// 2 KiB of server text plus the library's own words around it.
fn assert_terminal_safe(what: &str, text: &str, max_len: usize) {
    assert!(!text.chars().any(char::is_control), "{what}: control character in {text:?}");
    assert!(text.len() <= max_len, "{what}: {} bytes: {text:?}", text.len());
    println!("{what}: {} bytes", text.len());
}

#[test]
fn a_status_message_with_escape_sequences_is_escaped() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = registered_client(&platform, dir.path());
    let body = serde_json::json!({"code": 7, "message": format!("denied{HOSTILE}end")}).to_string();
    platform.inject(Fault::Body { http_status: 403, body });
    let e = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!(e.rpc_code(), Some(7));
    assert_terminal_safe("message", e.message(), 2048);
    assert_terminal_safe("display", &e.to_string(), 2048 + 100);
    assert!(e.message().contains("denied\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{9b}31m\\u{7f}end"), "{}", e.message());
}

#[test]
fn a_5000_character_status_message_is_cut_to_2_kib() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = registered_client(&platform, dir.path());
    let message = format!("{}{}", "x".repeat(4990), HOSTILE);
    let body = serde_json::json!({"code": 13, "message": message}).to_string();
    platform.inject(Fault::Body { http_status: 500, body });
    let e = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!(e.rpc_code(), Some(13));
    assert_terminal_safe("message", e.message(), 2048 + 40);
    assert!(e.message().starts_with(&"x".repeat(2000)), "{}", e.message());
    assert!(e.message().ends_with(&format!(" …(cut: {} bytes in all)", message.len())), "{}", e.message());
}

#[test]
fn a_long_hostile_non_status_body_is_escaped_and_cut() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = registered_client(&platform, dir.path());
    let body = HOSTILE.repeat(500);
    platform.inject(Fault::Body { http_status: 502, body: body.clone() });
    let e = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_terminal_safe("message", e.message(), 2048 + 80);
    assert!(e.message().ends_with(&format!(" …(cut: {} bytes in all)", body.len())), "{}", e.message());
}

#[test]
fn status_shows_hostile_server_text_escaped_in_text_and_json() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = registered_client(&platform, dir.path());
    // Health/Check answers hostile fields; PingPong a hostile 5,000-character error
    let health = serde_json::json!({
        "status": format!("SERVING{HOSTILE}"),
        "time": format!("2026-01-01T00:00:00Z{HOSTILE}"),
        "apiVersion": format!("v1{HOSTILE}"),
        "build": "b".repeat(5000),
    });
    platform.inject(FaultSpec::new(Fault::Body { http_status: 200, body: health.to_string() }).only("Health/Check"));
    let ping = serde_json::json!({"code": 16, "message": format!("{HOSTILE}{}", "y".repeat(5000))});
    platform
        .inject(FaultSpec::new(Fault::Body { http_status: 401, body: ping.to_string() }).only("AgentManager/PingPong"));
    let report = client.status().unwrap();
    assert!(platform.pending_faults().is_empty(), "a fault was not used: {:?}", platform.pending_faults());

    let api = &report.upstream.api;
    assert_eq!(api.status, "SERVING\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{9b}31m\\u{7f}");
    assert!(api.build.len() <= 2048 + 40 && api.build.contains("…(cut: 5000 bytes in all)"), "{}", api.build);
    let ping_error = report.client.ping_pong_error.as_ref().expect("PingPong failed");
    assert_terminal_safe("PingPong message", &ping_error.message, 2048 + 40);
    assert_terminal_safe("PingPong error", &ping_error.error, 2048 + 100);

    // the text has its own tabs and newlines; nothing else
    let text = report.to_text();
    for line in text.lines() {
        assert_terminal_safe("status line", &line.replace('\t', " "), 2048 + 200);
    }
    assert!(text.contains("SERVING\\u{1b}[2J"), "{text}");
    let json = report.to_json().to_string();
    assert!(!json.contains("\\u001b") && !json.contains('\u{1b}'), "an ESC reached the JSON: {json}");
}
