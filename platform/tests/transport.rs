//! TLS with the test CA, the CONNECT proxy, the admin endpoints and the binary.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use common::*;
use mondoo_platform::{ConnectProxy, Platform, PlatformOptions};
use serde_json::{json, Value};

fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

fn tls_client(roots_pem: Option<&str>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = roots_pem {
        roots.add(rustls::pki_types::CertificateDer::from(pem_der(pem))).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn tls_exchange(
    config: Arc<rustls::ClientConfig>,
    tcp: TcpStream,
    host: &str,
    request: &[u8],
) -> std::io::Result<Answer> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
    let session = rustls::ClientConnection::new(config, name).unwrap();
    let mut stream = rustls::StreamOwned::new(session, tcp);
    stream.write_all(request)?;
    read_answer(&mut BufReader::new(stream))
}

#[test]
fn tls_handshake_with_the_test_ca() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    assert!(platform.url().starts_with("https://127.0.0.1:"));
    let ca = platform.ca_pem().unwrap().to_string();
    assert_eq!(std::fs::read_to_string(platform.ca_file().unwrap()).unwrap(), ca);

    let request = post_bytes("/Health/Check", None, "application/json", b"{}");
    for host in ["127.0.0.1", "localhost"] {
        let answer = tls_exchange(tls_client(Some(&ca)), connect(platform.addr()), host, &request).unwrap();
        assert_eq!(answer.json()["status"], "SERVING");
    }
    // A client that does not trust the test CA fails the handshake.
    let err = tls_exchange(tls_client(None), connect(platform.addr()), "127.0.0.1", &request).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    assert_eq!(platform.requests().len(), 2);

    let ca_file = platform.ca_file().unwrap().to_path_buf();
    drop(platform);
    assert!(!ca_file.exists(), "the CA file goes with the platform");
}

#[test]
fn connect_tunnels_are_counted() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    let proxy = ConnectProxy::start(false).unwrap();
    assert!(proxy.url().starts_with("http://127.0.0.1:"));
    let mut tcp = TcpStream::connect(proxy.addr()).unwrap();
    let target = platform.addr().to_string();
    write!(tcp, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        assert_eq!(tcp.read(&mut b).unwrap(), 1);
        head.push(b[0]);
    }
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 200"));
    let request = post_bytes("/Health/Check", None, "application/json", b"{}");
    let answer = tls_exchange(tls_client(platform.ca_pem()), tcp, "127.0.0.1", &request).unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(proxy.tunnels(), 1);
    assert_eq!(proxy.targets(), vec![target]);
    assert_eq!(proxy.forwarded(), 0);
}

#[test]
fn absolute_uri_requests_are_forwarded_and_counted() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let proxy = ConnectProxy::start(false).unwrap();
    let body = b"{}";
    let request = format!(
        "POST {}/Health/Check HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nProxy-Connection: keep-alive\r\n\r\n{{}}",
        platform.url(),
        platform.addr(),
        body.len()
    );
    let answer = exchange(proxy.addr(), request.as_bytes()).unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(proxy.forwarded(), 1);
    assert_eq!(proxy.tunnels(), 0);
    let recorded = platform.requests();
    assert_eq!(recorded[0].path, "/Health/Check");
    assert!(recorded[0].header("proxy-connection").is_none());
}

#[test]
fn refusing_proxy_answers_403() {
    let proxy = ConnectProxy::start(true).unwrap();
    let answer = exchange(proxy.addr(), b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n").unwrap();
    assert_eq!(answer.status, 403);
    assert_eq!((proxy.tunnels(), proxy.refused()), (0, 1));
}

fn admin(platform_addr: std::net::SocketAddr, what: &str, body: Value) -> Answer {
    exchange(
        platform_addr,
        &post_bytes(&format!("/_admin/{what}"), None, "application/json", body.to_string().as_bytes()),
    )
    .unwrap()
}

#[test]
fn admin_endpoints_drive_the_platform() {
    let platform = Platform::start(PlatformOptions { proxy: true, ..PlatformOptions::with_fixtures() }).unwrap();
    let addr = platform.addr();

    let info = admin(addr, "info", json!({})).json();
    assert_eq!(info["url"], platform.url());
    assert_eq!(info["proxy_url"], platform.proxy().unwrap().url());
    assert_eq!(info["ca_pem"], Value::Null);
    let testdata = mondoo_platform::default_testdata();
    assert_eq!(info["testdata"], testdata.display().to_string());
    let fixture_cert = std::fs::read_to_string(testdata.join("platform/platform-cert.pem")).unwrap();
    assert_eq!(info["platform_certificate"], fixture_cert, "the fixtures' platform certificate");

    let token = admin(addr, "token", json!({"space": mondoo_platform::FIXTURE_SPACE, "ttl_seconds": 600})).json()
        ["token"]
        .as_str()
        .unwrap()
        .to_string();
    let body = br#"{"name":"admin-test"}"#;
    let registered = call(addr, "AgentManager/RegisterAgent", Some(&token), body);
    assert_eq!(registered.status, 200);

    let credentials = admin(addr, "service-account", json!({"space_mrn": mondoo_platform::FIXTURE_SPACE})).json();
    let signer = signer_of(&credentials);
    assert_eq!(ping(addr, &signer).status, 200);
    assert_eq!(admin(addr, "revoke", json!({"mrn": signer.mrn()})).status, 200);
    assert_eq!(ping(addr, &signer).status, 401);
    assert_eq!(admin(addr, "revoke", json!({"mrn": "//nobody"})).status, 404);

    assert_eq!(admin(addr, "fault", json!({"kind": "aborted", "times": 2, "only": "Health/Check"})).status, 200);
    assert_eq!(admin(addr, "fault", json!([{"kind": "html502"}])).status, 200);
    assert_eq!(platform.pending_faults().len(), 2);
    assert_eq!(admin(addr, "fault", json!({"kind": "nonsense"})).status, 400);

    assert_eq!(admin(addr, "clock", json!({"offset_seconds": -3600})).status, 200);
    assert_eq!(platform.clock_offset(), -3600);

    let requests = admin(addr, "requests", json!({})).json();
    let list = requests.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["method"], "RegisterAgent");
    assert_eq!(list[0]["auth"], "accepted");
    assert_eq!(list[2]["auth"], "rejected");
    let first_body =
        base64::engine::general_purpose::STANDARD.decode(list[0]["body_base64"].as_str().unwrap()).unwrap();
    assert_eq!(first_body, body);
    assert_eq!(admin(addr, "agents", json!({})).json().as_array().unwrap().len(), 1);

    assert_eq!(admin(addr, "reset", json!({})).status, 200);
    assert!(platform.requests().is_empty() && platform.agents().is_empty() && platform.pending_faults().is_empty());
    assert_eq!(platform.clock_offset(), 0);
    // Reset restores the accounts: the revoked one is gone, the fixture one works.
    assert_eq!(ping(addr, &signer).status, 401);
    let fixture = fixture_signer(&platform);
    assert_eq!(ping(addr, &fixture).status, 200);
    assert_eq!(admin(addr, "nope", json!({})).status, 404);
}

#[test]
fn binary_prints_its_url_and_stops_when_stdin_closes() {
    let dir = std::env::temp_dir().join(format!("mondoo-platform-bin-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mondoo-platform"))
        .args(["--tls", "--proxy", "--ca-out"])
        .arg(&ca_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let addr: std::net::SocketAddr = url.trim_start_matches("https://").parse().unwrap();

    let request = post_bytes("/_admin/info", None, "application/json", b"{}");
    assert!(tls_exchange(tls_client(None), connect(addr), "127.0.0.1", &request).is_err(), "unknown CA refused");
    let ca = std::fs::read_to_string(&ca_file).expect("CA written before the URL line");
    let info = tls_exchange(tls_client(Some(&ca)), connect(addr), "127.0.0.1", &request).unwrap().json();
    assert_eq!(info["url"], url);
    assert_eq!(info["ca_pem"], ca);
    assert_eq!(info["ca_file"], ca_file.display().to_string());
    assert!(info["proxy_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    // Without --testdata: no fixtures, a platform certificate of its own.
    assert_eq!(info["testdata"], Value::Null);
    let own = info["platform_certificate"].as_str().unwrap();
    assert!(own.starts_with("-----BEGIN CERTIFICATE-----"), "{own}");
    let fixture = mondoo_platform::default_testdata().join("platform/platform-cert.pem");
    assert_ne!(own, std::fs::read_to_string(fixture).unwrap());

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(!ca_file.exists(), "the CA file goes with the platform");
    let _ = std::fs::remove_dir(&dir);
}
