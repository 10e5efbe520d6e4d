//! An HTTP proxy on loopback for tests: CONNECT tunnels (what clients use for https://)
//! and absolute-URI forwarding (what clients use for http:// targets), both counted,
//! or a refusing proxy that answers 403 to everything.

use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::http::{self, ReadError, Response};

/// Largest request body the proxy forwards.
const MAX_FORWARD_BODY: usize = 64 * 1024 * 1024;

struct ProxyShared {
    refuse: bool,
    tunnels: AtomicUsize,
    forwarded: AtomicUsize,
    refused: AtomicUsize,
    targets: Mutex<Vec<String>>,
    shutdown: AtomicBool,
    conns: Mutex<Vec<TcpStream>>,
}

/// A running proxy; dropping it stops it.
pub struct ConnectProxy {
    addr: SocketAddr,
    shared: Arc<ProxyShared>,
    accept: Option<JoinHandle<()>>,
}

impl ConnectProxy {
    /// Start on 127.0.0.1, port 0. With `refuse`, every request gets 403.
    pub fn start(refuse: bool) -> io::Result<ConnectProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(ProxyShared {
            refuse,
            tunnels: AtomicUsize::new(0),
            forwarded: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            targets: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            conns: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let accept = thread::Builder::new().name("mondoo-proxy-accept".into()).spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.shutdown.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Ok(clone) = stream.try_clone() {
                    lock(&accept_shared.conns).push(clone);
                }
                let conn_shared = accept_shared.clone();
                let _ =
                    thread::Builder::new().name("mondoo-proxy-conn".into()).spawn(move || serve(conn_shared, stream));
            }
        })?;
        Ok(ConnectProxy { addr, shared, accept: Some(accept) })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// CONNECT tunnels established.
    pub fn tunnels(&self) -> usize {
        self.shared.tunnels.load(Ordering::SeqCst)
    }

    /// Plain-HTTP requests forwarded (absolute-URI form).
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Requests answered 403 (refuse mode).
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// `host:port` of every tunnel or forward, in order.
    pub fn targets(&self) -> Vec<String> {
        lock(&self.shared.targets).clone()
    }

    /// Stop accepting and close every open connection.
    pub fn shutdown(&mut self) {
        if !http::stop_accept_loop(&self.shared.shutdown, self.addr, &mut self.accept) {
            return;
        }
        for conn in lock(&self.shared.conns).drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn serve(shared: Arc<ProxyShared>, client: TcpStream) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(match client.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut client_w = client;
    let request = match http::read_request(&mut reader, MAX_FORWARD_BODY, |r| {
        r.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
    }) {
        Ok(r) => r,
        Err(ReadError::Closed) | Err(ReadError::Io(_)) => return,
        Err(_) => {
            let _ = http::write_response(&mut client_w, &plain(400, "bad proxy request"), true);
            return;
        }
    };
    if shared.refuse {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        let _ = http::write_response(&mut client_w, &plain(403, "proxy refuses this request"), true);
        return;
    }
    if request.method.eq_ignore_ascii_case("CONNECT") {
        tunnel(&shared, reader, client_w, &request.path);
    } else {
        forward(&shared, reader, client_w, &request);
    }
}

fn plain(status: u16, text: &str) -> Response {
    Response::new(status, Some("text/plain"), text.as_bytes().to_vec())
}

/// Connect to the target, or answer the client 502 as a proxy does.
fn connect_or_502(client: &mut TcpStream, target: &str) -> Option<TcpStream> {
    match TcpStream::connect(target) {
        Ok(s) => Some(s),
        Err(_) => {
            let _ = http::write_response(client, &plain(502, "proxy cannot reach the target"), true);
            None
        }
    }
}

/// CONNECT host:port: answer 200 and copy bytes both ways until either side closes.
fn tunnel(shared: &ProxyShared, reader: BufReader<TcpStream>, mut client: TcpStream, target: &str) {
    let Some(upstream) = connect_or_502(&mut client, target) else { return };
    if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
        return;
    }
    shared.tunnels.fetch_add(1, Ordering::SeqCst);
    lock(&shared.targets).push(target.to_string());
    let _ = client.set_read_timeout(None);
    // The reader may hold bytes the client sent right after the CONNECT head.
    let buffered = reader.buffer().to_vec();
    pipe_both(reader.into_inner(), client, upstream, &buffered);
}

/// `POST http://host:port/path`: one request to the target with `Connection: close`,
/// then the answer copied back and the client connection closed.
fn forward(shared: &ProxyShared, _reader: BufReader<TcpStream>, mut client: TcpStream, request: &http::Request) {
    let Some(host) = request.header("host").map(str::to_string) else {
        let _ = http::write_response(&mut client, &plain(400, "no Host header"), true);
        return;
    };
    let target = if host.contains(':') { host.clone() } else { format!("{host}:80") };
    let Some(mut upstream) = connect_or_502(&mut client, &target) else { return };
    shared.forwarded.fetch_add(1, Ordering::SeqCst);
    lock(&shared.targets).push(target);
    let mut head = format!("{} {} {}\r\n", request.method, request.path, request.version);
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "connection" || lower == "proxy-connection" || lower.starts_with("proxy-") {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(head.as_bytes()).and_then(|_| upstream.write_all(&request.body)).is_err() {
        return;
    }
    let _ = io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
}

fn pipe_both(client_r: TcpStream, client_w: TcpStream, upstream: TcpStream, already_read: &[u8]) {
    let Ok(mut upstream_w) = upstream.try_clone() else {
        return;
    };
    if !already_read.is_empty() && upstream_w.write_all(already_read).is_err() {
        return;
    }
    let mut up_r = upstream;
    let mut cw = client_w;
    let back = thread::spawn(move || {
        let _ = io::copy(&mut up_r, &mut cw);
        let _ = cw.shutdown(Shutdown::Write);
    });
    let mut cr = client_r;
    let _ = cr.set_read_timeout(None);
    let _ = io::copy(&mut cr, &mut upstream_w);
    let _ = upstream_w.shutdown(Shutdown::Write);
    let _ = back.join();
}
