//! A small HTTP/1.1 server side: request heads, Content-Length and chunked bodies,
//! keep-alive, gzip answers and Go's path cleaning.
//! Written by hand (no framework) so faults can break the wire exactly as intended.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Stop a server's accept loop: raise `stop`, wake the blocking `accept()` with a
/// connection of our own to `addr` (the loop checks `stop` after each accept), and wait for
/// the thread. False when `stop` was already raised, so a second shutdown does nothing.
pub(crate) fn stop_accept_loop(stop: &AtomicBool, addr: SocketAddr, accept: &mut Option<JoinHandle<()>>) -> bool {
    if stop.swap(true, Ordering::SeqCst) {
        return false;
    }
    let _ = TcpStream::connect(addr);
    if let Some(handle) = accept.take() {
        let _ = handle.join();
    }
    true
}

/// Largest request head accepted (request line + headers).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A server-side connection, plain or TLS.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Conn {
    pub fn new(tcp: TcpStream, tls: Option<&Arc<rustls::ServerConfig>>) -> io::Result<Conn> {
        match tls {
            None => Ok(Conn::Plain(tcp)),
            Some(config) => {
                let session = rustls::ServerConnection::new(config.clone()).map_err(io::Error::other)?;
                Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(session, tcp))))
            }
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }

    /// Make the coming close a TCP reset instead of an orderly end (SO_LINGER 0). No
    /// shutdown here: that would send a FIN; the RST goes out when the last descriptor
    /// of the socket is closed.
    pub fn reset(&self) {
        set_linger_zero(self.tcp());
    }

    /// Close without a TLS close_notify: the peer sees the stream simply end.
    pub fn cut(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

#[cfg(unix)]
pub fn set_linger_zero(tcp: &TcpStream) {
    use std::os::unix::io::AsRawFd;
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: valid socket fd owned by `tcp`; the option struct is correctly sized.
    unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

#[cfg(not(unix))]
pub fn set_linger_zero(_tcp: &TcpStream) {}

/// One parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// origin-form path (an absolute-form target is reduced to its path)
    pub path: String,
    pub version: String,
    /// header names as received, in order
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept open after this request.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.version == "HTTP/1.0" {
            connection.split(',').any(|t| t.trim() == "keep-alive")
        } else {
            !connection.split(',').any(|t| t.trim() == "close")
        }
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// the peer closed (or timed out) between requests: not an error
    Closed,
    Io(io::Error),
    /// malformed request: answer 400 and close
    Bad(String),
    /// head or body above the limit: answer 413 and close
    TooLarge(String),
    /// a transfer coding other than chunked: answer 501 and close (as Go's server does)
    UnsupportedTransferEncoding(String),
}

/// Read one line ending in LF, at most `limit` bytes in total across the head.
fn read_line<R: BufRead>(reader: &mut R, out: &mut Vec<u8>, budget: &mut usize) -> Result<bool, ReadError> {
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        if available.is_empty() {
            return Ok(false);
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if take > *budget {
            return Err(ReadError::TooLarge(format!("request head above {MAX_HEAD_BYTES} bytes")));
        }
        *budget -= take;
        out.extend_from_slice(&available[..take]);
        reader.consume(take);
        if done {
            return Ok(true);
        }
    }
}

/// Read one request; `max_body` bounds the Content-Length. When the client sent
/// `Expect: 100-continue`, `continue_writer` is called before reading the body.
pub fn read_request<R: Read>(
    reader: &mut BufReader<R>,
    max_body: usize,
    mut on_expect_continue: impl FnMut(&mut BufReader<R>) -> io::Result<()>,
) -> Result<Request, ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    let mut line = Vec::new();
    // Tolerate empty lines before a request line (RFC 9112 2.2).
    loop {
        line.clear();
        let got = match read_line(reader, &mut line, &mut budget) {
            Err(ReadError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::UnexpectedEof
                ) =>
            {
                return Err(ReadError::Closed)
            }
            other => other?,
        };
        if !got {
            if line.is_empty() {
                return Err(ReadError::Closed);
            }
            return Err(ReadError::Bad("connection closed inside the request line".into()));
        }
        if !trim_eol(&line).is_empty() {
            break;
        }
    }
    let request_line =
        String::from_utf8(trim_eol(&line).to_vec()).map_err(|_| ReadError::Bad("request line is not UTF-8".into()))?;
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) if !m.is_empty() && !t.is_empty() => (m, t, v),
        _ => return Err(ReadError::Bad(format!("malformed request line {request_line:?}"))),
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ReadError::Bad(format!("unsupported HTTP version {version:?}")));
    }
    let path = origin_form(target);

    let mut headers = Vec::new();
    loop {
        line.clear();
        if !read_line(reader, &mut line, &mut budget)? {
            return Err(ReadError::Bad("connection closed inside the headers".into()));
        }
        let raw = trim_eol(&line);
        if raw.is_empty() {
            break;
        }
        let text = std::str::from_utf8(raw).map_err(|_| ReadError::Bad("header is not UTF-8".into()))?;
        let (name, value) =
            text.split_once(':').ok_or_else(|| ReadError::Bad(format!("malformed header line {text:?}")))?;
        if name.is_empty() || name.contains(' ') {
            return Err(ReadError::Bad(format!("malformed header name {name:?}")));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut request =
        Request { method: method.to_string(), path, version: version.to_string(), headers, body: Vec::new() };
    let expect_continue = request.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if let Some(coding) = request.header("transfer-encoding") {
        if !coding.trim().eq_ignore_ascii_case("chunked") {
            return Err(ReadError::UnsupportedTransferEncoding(format!(
                "unsupported Transfer-Encoding {coding:?} (only chunked)"
            )));
        }
        // Both framings at once is how requests get smuggled: refuse it (RFC 9112 6.3).
        if request.header("content-length").is_some() {
            return Err(ReadError::Bad("both Transfer-Encoding and Content-Length".into()));
        }
        if expect_continue {
            on_expect_continue(reader).map_err(ReadError::Io)?;
        }
        request.body = read_chunked(reader, max_body)?;
        return Ok(request);
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v.parse::<usize>().map_err(|_| ReadError::Bad(format!("invalid Content-Length {v:?}")))?,
    };
    if length > max_body {
        return Err(ReadError::TooLarge(format!("request body of {length} bytes is above the limit of {max_body}")));
    }
    if length > 0 {
        if expect_continue {
            on_expect_continue(reader).map_err(ReadError::Io)?;
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                ReadError::Bad(format!("body shorter than its Content-Length of {length}"))
            } else {
                ReadError::Io(e)
            }
        })?;
        request.body = body;
    }
    Ok(request)
}

/// A chunked body (RFC 9112 7.1): hex sizes with optional extensions, data, a zero
/// chunk and optional trailers (read and dropped). The decoded body is what the client
/// signed, so it is bounded by `max_body` like a Content-Length body.
fn read_chunked<R: Read>(reader: &mut BufReader<R>, max_body: usize) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD_BYTES;
    let mut line = Vec::new();
    let cut = |e: ReadError| match e {
        ReadError::Closed => ReadError::Bad("connection closed inside a chunked body".into()),
        other => other,
    };
    loop {
        line.clear();
        if !read_line(reader, &mut line, &mut budget).map_err(cut)? {
            return Err(ReadError::Bad("connection closed inside a chunked body".into()));
        }
        let text =
            std::str::from_utf8(trim_eol(&line)).map_err(|_| ReadError::Bad("chunk size is not UTF-8".into()))?;
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Bad(format!("invalid chunk size {size_text:?}")))?;
        if size == 0 {
            break;
        }
        if body.len().saturating_add(size) > max_body {
            return Err(ReadError::TooLarge(format!("chunked request body is above the limit of {max_body}")));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => ReadError::Bad("connection closed inside a chunk".into()),
            _ => ReadError::Io(e),
        })?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).map_err(ReadError::Io)?;
        if &crlf != b"\r\n" {
            return Err(ReadError::Bad("chunk data not followed by CRLF".into()));
        }
    }
    // Trailer fields until the empty line.
    loop {
        line.clear();
        if !read_line(reader, &mut line, &mut budget).map_err(cut)? {
            return Err(ReadError::Bad("connection closed inside the chunked trailer".into()));
        }
        if trim_eol(&line).is_empty() {
            return Ok(body);
        }
    }
}

/// Go's ServeMux path cleaning: `.` and `..` resolved, repeated slashes collapsed, a
/// leading `/` ensured, a trailing `/` kept. The server redirects (307) a request whose
/// path differs from its clean form.
pub fn clean_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut clean = format!("/{}", segments.join("/"));
    if clean != "/" && path.ends_with('/') {
        clean.push('/');
    }
    clean
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `http://host:port/a/b?q` → `/a/b?q`; an origin-form target is returned unchanged.
fn origin_form(target: &str) -> String {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            return match rest.find('/') {
                Some(i) => rest[i..].to_string(),
                None => "/".to_string(),
            };
        }
    }
    target.to_string()
}

/// An answer to write.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<&'static str>,
    /// further headers (`Location`, `Content-Encoding`)
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: Option<&'static str>, body: Vec<u8>) -> Response {
        Response { status, content_type, headers: Vec::new(), body }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status, Some("application/json"), serde_json::to_vec(value).unwrap_or_default())
    }

    /// A redirect with an empty body, as Go's `http.Redirect` answers a POST.
    pub fn redirect(status: u16, location: &str) -> Response {
        Response { headers: vec![("Location", location.to_string())], ..Response::new(status, None, Vec::new()) }
    }

    /// The body gzip-compressed, with `Content-Encoding: gzip`.
    pub fn gzipped(mut self) -> Response {
        self.body = gzip(&self.body);
        self.headers.push(("Content-Encoding", "gzip".to_string()));
        self
    }
}

/// `bytes` as one gzip member.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Whether an `Accept-Encoding` value accepts gzip (a `gzip` or `*` entry whose q is not 0).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|value| {
        value.split(',').any(|entry| {
            let mut parts = entry.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q == 0.0)
            });
            (coding == "gzip" || coding == "x-gzip" || coding == "*") && !refused
        })
    })
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Status line and headers; `content_length` may differ from the bytes that follow
/// (the truncated-body fault).
pub fn head(status: u16, content_type: Option<&str>, content_length: usize, close: bool) -> Vec<u8> {
    head_with(status, content_type, &[], content_length, close)
}

pub fn head_with(
    status: u16,
    content_type: Option<&str>,
    headers: &[(&str, String)],
    content_length: usize,
    close: bool,
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    if let Some(ct) = content_type {
        out.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {content_length}\r\n"));
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

pub fn write_response<W: Write>(w: &mut W, response: &Response, close: bool) -> io::Result<()> {
    let mut bytes = head_with(response.status, response.content_type, &response.headers, response.body.len(), close);
    bytes.extend_from_slice(&response.body);
    w.write_all(&bytes)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_head_body_and_absolute_form() {
        let raw = b"\r\nPOST http://127.0.0.1:1/Health/Check HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}";
        let mut reader = BufReader::new(&raw[..]);
        let req = read_request(&mut reader, 10, |_| Ok(())).unwrap();
        assert_eq!(req.path, "/Health/Check");
        assert_eq!(req.header("Content-Length"), Some("2"));
        assert_eq!(req.body, b"{}");
        assert!(req.keep_alive());
        assert!(matches!(read_request(&mut reader, 10, |_| Ok(())), Err(ReadError::Closed)));
    }

    #[test]
    fn refuses_oversized_bodies_and_other_transfer_codings() {
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        assert!(matches!(read_request(&mut reader, 10, |_| Ok(())), Err(ReadError::TooLarge(_))));
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        assert!(matches!(read_request(&mut reader, 10, |_| Ok(())), Err(ReadError::UnsupportedTransferEncoding(_))));
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        assert!(matches!(read_request(&mut reader, 10, |_| Ok(())), Err(ReadError::Bad(_))));
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        assert!(matches!(read_request(&mut reader, 10, |_| Ok(())), Err(ReadError::TooLarge(_))));
    }

    #[test]
    fn reads_chunked_bodies_with_extensions_and_trailers() {
        let raw = b"POST / HTTP/1.1\r\ntransfer-encoding: Chunked\r\n\r\n3;ext=1\r\n{\"a\r\nA\r\n\":\"0123456\r\n2\r\n\"}\r\n0\r\nX-Trailer: t\r\n\r\nGET";
        let mut reader = BufReader::new(&raw[..]);
        let req = read_request(&mut reader, 100, |_| Ok(())).unwrap();
        assert_eq!(req.body, br#"{"a":"0123456"}"#);
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "GET", "the next request starts right after the trailer");
        let cut = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
        assert!(matches!(read_request(&mut BufReader::new(&cut[..]), 100, |_| Ok(())), Err(ReadError::Bad(_))));
    }

    #[test]
    fn cleans_paths_like_go() {
        for (raw, clean) in [
            ("/Health/Check", "/Health/Check"),
            ("//Health/Check", "/Health/Check"),
            ("/a/../Health/Check", "/Health/Check"),
            ("/./Health//Check", "/Health/Check"),
            ("/a/b/..", "/a"),
            ("/a/", "/a/"),
            ("/..", "/"),
            ("", "/"),
        ] {
            assert_eq!(clean_path(raw), clean, "{raw:?}");
        }
    }

    #[test]
    fn accept_encoding_gzip() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("br, GZIP;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(None));
    }
}
