//! Faults: queued answers that break the protocol or the wire on purpose.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::http::{self, Conn, Response};
use crate::wire::{self, Encoding};

/// What to do instead of (or before) answering a request normally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// 409 `{"code":10,"message":"..."}` (the platform asks the client to retry).
    Aborted,
    /// Any ranger status: HTTP status, gRPC code and message.
    Status { http_status: u16, code: u32, message: String },
    /// A proxy's HTML 502 page.
    Html502,
    /// 500 with an empty body.
    Empty500,
    /// 200 whose Content-Length promises more than is sent, then the connection closes.
    TruncatedJson,
    /// A well-framed answer with this status and exactly this (JSON-typed) body, e.g. a
    /// cut-off JSON document or a Health/Check with a time that does not parse.
    Body { http_status: u16, body: String },
    /// 200 with a JSON body of exactly `bytes` bytes.
    HugeBody { bytes: usize },
    /// Part of an answer, then a TCP reset (SO_LINGER 0).
    Reset,
    /// Sleep this long, then answer normally.
    Slow { millis: u64 },
    /// A redirect (301, 302, 303, 307, 308) to `location`, a path or an absolute URL,
    /// with an empty body. Several uses in a row make a loop.
    Redirect { http_status: u16, location: String },
    /// 200 with `Content-Encoding: gzip` whose body inflates to `decoded_bytes` bytes of
    /// JSON (a few KiB on the wire for megabytes decoded): a gzip bomb.
    GzipBomb { decoded_bytes: usize },
    /// 200 with its headers at once, then a JSON body of `bytes` bytes written one byte
    /// every `interval_millis` (a stalled or throttled link), then the connection closes.
    SlowDrip { bytes: usize, interval_millis: u64 },
}

impl Fault {
    /// A ranger status with the HTTP status the server maps `code` to.
    pub fn status(code: u32, message: &str) -> Fault {
        Fault::Status { http_status: http_status_for(code), code, message: message.to_string() }
    }

    /// 401 `{"code":16,"message":"request permission unauthenticated"}`.
    pub fn unauthenticated() -> Fault {
        Fault::status(16, crate::UNAUTHENTICATED)
    }
}

/// The server's mapping of gRPC code to HTTP status (protocol section 3).
pub fn http_status_for(code: u32) -> u16 {
    match code {
        0 => 200,
        1 => 408,
        2 => 500,
        3 => 400,
        4 => 504,
        5 => 404,
        6 => 409,
        7 => 403,
        8 => 429,
        9 => 412,
        10 => 409,
        11 => 400,
        12 => 501,
        13 => 500,
        14 => 503,
        15 => 500,
        16 => 401,
        _ => 500,
    }
}

/// A fault with how often it fires and for which call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    #[serde(flatten)]
    pub fault: Fault,
    /// how many requests it is applied to (default 1)
    #[serde(default = "one")]
    pub times: u32,
    /// only requests to this `Service/Method` (default: any service call)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    pub fn new(fault: Fault) -> FaultSpec {
        FaultSpec { fault, times: 1, only: None }
    }
    pub fn times(mut self, n: u32) -> FaultSpec {
        self.times = n;
        self
    }
    /// Restrict to one call, e.g. `"AgentManager/RegisterAgent"`.
    pub fn only(mut self, service_method: &str) -> FaultSpec {
        self.only = Some(service_method.trim_matches('/').to_string());
        self
    }
    pub(crate) fn matches(&self, service: &str, method: &str) -> bool {
        match &self.only {
            None => true,
            Some(only) => only.split_once('/').is_some_and(|(s, m)| s == service && m == method),
        }
    }
}

impl From<Fault> for FaultSpec {
    fn from(fault: Fault) -> FaultSpec {
        FaultSpec::new(fault)
    }
}

pub const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// What the connection loop does after a fault.
pub enum Outcome {
    /// a complete answer was written; keep the connection if the client wants it
    Answered,
    /// the connection must not be used again
    Closed,
}

impl Fault {
    /// The HTTP status the fault answers with (0 when the connection is cut before a
    /// status line, and for `Slow`, which answers normally).
    pub fn http_status(&self) -> u16 {
        match self {
            Fault::Aborted => 409,
            Fault::Status { http_status, .. }
            | Fault::Body { http_status, .. }
            | Fault::Redirect { http_status, .. } => *http_status,
            Fault::Html502 => 502,
            Fault::Empty500 => 500,
            Fault::HugeBody { .. }
            | Fault::TruncatedJson
            | Fault::Reset
            | Fault::GzipBomb { .. }
            | Fault::SlowDrip { .. } => 200,
            Fault::Slow { .. } => 0,
        }
    }
}

/// Write the fault's answer; ranger statuses (`Aborted`, `Status`) in the encoding the
/// request asked for. `Slow` is handled by the caller (it answers normally).
pub fn write_fault(conn: &mut Conn, fault: &Fault, encoding: Encoding, close: bool) -> std::io::Result<Outcome> {
    let status = |http_status: u16, code: u32, message: &str| {
        Response::new(http_status, Some(encoding.content_type()), wire::status_body(encoding, code, message))
    };
    match fault {
        Fault::Slow { .. } => unreachable!("slow is applied before the normal answer"),
        Fault::Aborted => {
            http::write_response(conn, &status(409, 10, "the request was aborted, please retry"), close)?;
            Ok(Outcome::Answered)
        }
        Fault::Status { http_status, code, message } => {
            http::write_response(conn, &status(*http_status, *code, message), close)?;
            Ok(Outcome::Answered)
        }
        Fault::Html502 => {
            let response = Response::new(502, Some("text/html"), HTML_502.as_bytes().to_vec());
            http::write_response(conn, &response, close)?;
            Ok(Outcome::Answered)
        }
        Fault::Body { http_status, body } => {
            let response = Response::new(*http_status, Some("application/json"), body.as_bytes().to_vec());
            http::write_response(conn, &response, close)?;
            Ok(Outcome::Answered)
        }
        Fault::Empty500 => {
            http::write_response(conn, &Response::new(500, None, Vec::new()), close)?;
            Ok(Outcome::Answered)
        }
        Fault::Redirect { http_status, location } => {
            http::write_response(conn, &Response::redirect(*http_status, location), close)?;
            Ok(Outcome::Answered)
        }
        Fault::GzipBomb { decoded_bytes } => {
            let response = Response::new(200, Some("application/json"), huge_json(*decoded_bytes)).gzipped();
            http::write_response(conn, &response, close)?;
            Ok(Outcome::Answered)
        }
        Fault::TruncatedJson => {
            let partial = br#"{"agent_mrn":"//agents.api.mondoo.app/spa"#;
            let mut bytes = http::head(200, Some("application/json"), partial.len() + 64, true);
            bytes.extend_from_slice(partial);
            conn.write_all(&bytes)?;
            conn.flush()?;
            conn.cut();
            Ok(Outcome::Closed)
        }
        Fault::HugeBody { bytes } => {
            http::write_response(conn, &Response::new(200, Some("application/json"), huge_json(*bytes)), close)?;
            Ok(Outcome::Answered)
        }
        Fault::SlowDrip { bytes, interval_millis } => {
            let body = huge_json(*bytes);
            conn.write_all(&http::head(200, Some("application/json"), body.len(), true))?;
            conn.flush()?;
            for byte in body {
                std::thread::sleep(std::time::Duration::from_millis(*interval_millis));
                // a client that gave up closed the connection: the write fails, we stop
                conn.write_all(&[byte])?;
                conn.flush()?;
            }
            conn.cut();
            Ok(Outcome::Closed)
        }
        Fault::Reset => {
            let partial = br#"{"status":"SERV"#;
            let mut bytes = http::head(200, Some("application/json"), 4096, false);
            bytes.extend_from_slice(partial);
            conn.write_all(&bytes)?;
            conn.flush()?;
            conn.reset();
            Ok(Outcome::Closed)
        }
    }
}

/// `{"pad":"xxx…"}` of exactly `n` bytes (at least the 10 bytes of an empty pad).
fn huge_json(n: usize) -> Vec<u8> {
    let frame = br#"{"pad":""}"#;
    let pad = n.saturating_sub(frame.len());
    let mut out = Vec::with_capacity(frame.len() + pad);
    out.extend_from_slice(br#"{"pad":""#);
    out.resize(out.len() + pad, b'x');
    out.extend_from_slice(br#""}"#);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_json_shape() {
        let spec: FaultSpec =
            serde_json::from_str(r#"{"kind":"aborted","times":3,"only":"AgentManager/RegisterAgent"}"#).unwrap();
        assert_eq!(spec, FaultSpec::new(Fault::Aborted).times(3).only("AgentManager/RegisterAgent"));
        let spec: FaultSpec =
            serde_json::from_str(r#"{"kind":"status","http_status":503,"code":14,"message":"down"}"#).unwrap();
        assert_eq!(spec.fault, Fault::status(14, "down"));
        assert_eq!(spec.times, 1);
        assert!(spec.matches("Health", "Check"));
        let spec: FaultSpec = serde_json::from_str(r#"{"kind":"body","http_status":200,"body":"{\"a\""}"#).unwrap();
        assert_eq!(spec.fault, Fault::Body { http_status: 200, body: r#"{"a""#.into() });
        assert_eq!(huge_json(100).len(), 100);
        let spec: FaultSpec =
            serde_json::from_str(r#"{"kind":"redirect","http_status":307,"location":"/Health/Check","times":6}"#)
                .unwrap();
        assert_eq!(spec.fault, Fault::Redirect { http_status: 307, location: "/Health/Check".into() });
        assert_eq!(spec.times, 6);
        let spec: FaultSpec = serde_json::from_str(r#"{"kind":"gzip_bomb","decoded_bytes":9437184}"#).unwrap();
        assert_eq!(spec.fault, Fault::GzipBomb { decoded_bytes: 9 * 1024 * 1024 });
        let spec: FaultSpec = serde_json::from_str(r#"{"kind":"slow_drip","bytes":60,"interval_millis":500}"#).unwrap();
        assert_eq!(spec.fault, Fault::SlowDrip { bytes: 60, interval_millis: 500 });
    }
}
