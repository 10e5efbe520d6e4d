//! A TCP proxy on loopback that adds a fixed one-way delay in each direction, to measure
//! clients over an emulated wide-area link where no kernel netem is available.
//!
//! Every chunk read from one side is written to the other `one_way_delay` after it was
//! read, in order: one queue per direction holds the chunks with their due times, so a
//! stream of chunks is pipelined (a link's latency, not a per-read pause). A new
//! connection also pays the TCP handshake the link would cost: the client's first bytes
//! reach the target no earlier than three one-way delays after it connected (SYN,
//! SYN-ACK, then the data), as they would over a real link.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::http;

/// Bytes read per chunk.
const CHUNK_BYTES: usize = 64 * 1024;

struct Shared {
    target: SocketAddr,
    one_way_delay: Duration,
    connections: AtomicUsize,
    stop: AtomicBool,
    sockets: Mutex<Vec<TcpStream>>,
}

/// A running latency proxy; dropping it stops it and closes its connections.
pub struct LatencyProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl LatencyProxy {
    /// Listen on 127.0.0.1 (random port) and forward every connection to `target`, each
    /// direction delayed by `one_way_delay` (a round trip costs twice that).
    pub fn start(target: SocketAddr, one_way_delay: Duration) -> io::Result<LatencyProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target,
            one_way_delay,
            connections: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            sockets: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let accept = thread::Builder::new().name("mondoo-latency-accept".into()).spawn(move || {
            for client in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let connected_at = Instant::now();
                let conn_shared = accept_shared.clone();
                let _ = thread::Builder::new()
                    .name("mondoo-latency-conn".into())
                    .spawn(move || relay(&conn_shared, client, connected_at));
            }
        })?;
        Ok(LatencyProxy { addr, shared, accept: Some(accept) })
    }

    /// `http://127.0.0.1:PORT`, for an HTTP target.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn one_way_delay(&self) -> Duration {
        self.shared.one_way_delay
    }

    /// Connections accepted so far (a client that reuses its connection opens one).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Stop accepting and close every open connection.
    pub fn shutdown(&mut self) {
        if !http::stop_accept_loop(&self.shared.stop, self.addr, &mut self.accept) {
            return;
        }
        for socket in lock(&self.shared.sockets).drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Connect to the target and pump both directions until both are closed.
fn relay(shared: &Shared, client: TcpStream, connected_at: Instant) {
    let Ok(upstream) = TcpStream::connect(shared.target) else {
        return;
    };
    shared.connections.fetch_add(1, Ordering::SeqCst);
    let delay = shared.one_way_delay;
    // SYN, SYN-ACK, then the client's first bytes: three one-way trips after connect().
    let handshake_done = connected_at + delay * 3;
    let pumps = (|| -> io::Result<_> {
        for socket in [&client, &upstream] {
            socket.set_nodelay(true)?;
            lock(&shared.sockets).push(socket.try_clone()?);
        }
        let to_target = spawn_direction(client.try_clone()?, upstream.try_clone()?, delay, handshake_done)?;
        let to_client = spawn_direction(upstream, client, delay, connected_at)?;
        Ok([to_target, to_client])
    })();
    for pump in pumps.into_iter().flatten() {
        let _ = pump.join();
    }
}

/// A chunk read at some instant, to be written at `due`; empty means end of stream.
struct Chunk {
    due: Instant,
    bytes: Vec<u8>,
}

/// One direction: a reader queues chunks with their due times, a writer delivers each
/// when due. `not_before` holds back delivery (the emulated handshake).
fn spawn_direction(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Duration,
    not_before: Instant,
) -> io::Result<JoinHandle<()>> {
    let (queue, due_chunks) = mpsc::channel::<Chunk>();
    let writer = thread::Builder::new().name("mondoo-latency-write".into()).spawn(move || {
        for chunk in due_chunks {
            let now = Instant::now();
            if chunk.due > now {
                thread::sleep(chunk.due - now);
            }
            if chunk.bytes.is_empty() {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            if to.write_all(&chunk.bytes).is_err() {
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
        }
    })?;
    thread::Builder::new().name("mondoo-latency-read".into()).spawn(move || {
        let mut buf = vec![0u8; CHUNK_BYTES];
        loop {
            let n = match from.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            let due = (Instant::now() + delay).max(not_before);
            if queue.send(Chunk { due, bytes: buf[..n].to_vec() }).is_err() || n == 0 {
                break;
            }
        }
        drop(queue);
        let _ = writer.join();
    })
}
