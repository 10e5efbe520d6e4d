//! A deliberately plain HTTP/1.1 client on std::net for the platform tests, so the
//! server is checked against bytes on the wire and not against another HTTP stack.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

pub const FIXTURE_CREDENTIALS: &str = "service-account/credentials.json";

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("answer {} is not JSON ({e}): {:?}", self.status, String::from_utf8_lossy(&self.body))
        })
    }
    /// Assert a ranger status body.
    pub fn assert_status(&self, http: u16, code: u64) {
        assert_eq!(self.status, http, "body: {}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.json()["code"], code, "body: {}", String::from_utf8_lossy(&self.body));
    }
}

/// Bytes of a POST request with the headers a conforming client sends.
pub fn post_bytes(path: &str, bearer: Option<&str>, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nAccept: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(b) = bearer {
        head.push_str(&format!("Authorization: Bearer {b}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Read one answer (status line, headers, Content-Length body).
pub fn read_answer<R: BufRead>(r: &mut R) -> io::Result<Answer> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').expect("header line");
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let mut answer = Answer { status, headers, body: Vec::new() };
    let length: usize = answer.header("content-length").map(|v| v.parse().unwrap()).unwrap_or(0);
    let mut body = vec![0u8; length];
    r.read_exact(&mut body)?;
    answer.body = body;
    Ok(answer)
}

/// A platform with default options.
/// A platform with the repository's fixtures, so the fixture account's calls are accepted.
pub fn start() -> mondoo_platform::Platform {
    mondoo_platform::Platform::start(mondoo_platform::PlatformOptions::with_fixtures()).expect("platform starts")
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to the platform");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// One request on a fresh connection.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> io::Result<Answer> {
    let mut s = connect(addr);
    s.write_all(request)?;
    read_answer(&mut BufReader::new(s))
}

pub fn call(addr: SocketAddr, service_method: &str, bearer: Option<&str>, body: &[u8]) -> Answer {
    exchange(addr, &post_bytes(&format!("/{service_method}"), bearer, "application/json", body)).expect("exchange")
}

/// `AgentManager/PingPong` with an empty body, signed by `signer`.
pub fn ping(addr: SocketAddr, signer: &mondoo::Signer) -> Answer {
    call(addr, "AgentManager/PingPong", Some(&signer.sign(b"{}").unwrap()), b"{}")
}

/// Every byte until the server closes, and how reading ended.
pub fn read_all(mut s: TcpStream) -> (Vec<u8>, io::Result<()>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Err(e)),
        }
    }
}

pub fn fixture_json(platform: &mondoo_platform::Platform, rel: &str) -> Value {
    let dir = platform.testdata().expect("a platform started with the fixtures");
    let text = std::fs::read_to_string(dir.join(rel)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The signer of a credentials document (console credentials or a RegisterAgent credential).
pub fn signer_of(credentials: &Value) -> mondoo::Signer {
    mondoo::Signer::from_pem(
        credentials["mrn"].as_str().unwrap(),
        credentials["private_key"].as_str().unwrap(),
        credentials["certificate"].as_str(),
    )
    .expect("credentials load")
}

pub fn fixture_signer(platform: &mondoo_platform::Platform) -> mondoo::Signer {
    signer_of(&fixture_json(platform, FIXTURE_CREDENTIALS))
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
