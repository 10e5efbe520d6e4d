//! The latency proxy: a round trip through it costs at least twice the one-way delay (a
//! new connection one more round trip, its handshake), bytes arrive intact and in order,
//! and chunks in flight are pipelined, not delayed one after another.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use mondoo_platform::LatencyProxy;

const ONE_WAY: Duration = Duration::from_millis(25);

/// A TCP server on loopback that echoes every connection's bytes back.
fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            thread::spawn(move || {
                let mut back = conn.try_clone().unwrap();
                let _ = std::io::copy(&mut conn, &mut back);
            });
        }
    });
    addr
}

fn round_trip(conn: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    conn.write_all(message).unwrap();
    let mut answer = vec![0u8; message.len()];
    conn.read_exact(&mut answer).unwrap();
    answer
}

#[test]
fn a_round_trip_costs_twice_the_delay_and_a_new_connection_one_more() {
    let proxy = LatencyProxy::start(echo_server(), ONE_WAY).unwrap();
    let rtt = ONE_WAY * 2;

    let started = Instant::now();
    let mut conn = TcpStream::connect(proxy.addr()).unwrap();
    conn.set_nodelay(true).unwrap();
    assert_eq!(round_trip(&mut conn, b"hello"), b"hello");
    let first = started.elapsed();

    let started = Instant::now();
    assert_eq!(round_trip(&mut conn, b"again"), b"again");
    let second = started.elapsed();
    println!("first round trip (with handshake) {first:?}, second {second:?}, rtt {rtt:?}");
    assert!(first >= rtt * 2, "connect + first round trip took {first:?}, want >= {:?}", rtt * 2);
    assert!(second >= rtt, "a round trip took {second:?}, want >= {rtt:?}");
    assert_eq!(proxy.connections(), 1);
}

#[test]
fn bytes_arrive_intact_and_in_order() {
    let proxy = LatencyProxy::start(echo_server(), ONE_WAY).unwrap();
    let sent: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut conn = TcpStream::connect(proxy.addr()).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let to_send = sent.clone();
    let sending = thread::spawn(move || {
        for piece in to_send.chunks(7_919) {
            writer.write_all(piece).unwrap();
        }
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut received = Vec::new();
    conn.read_to_end(&mut received).unwrap();
    sending.join().unwrap();
    assert_eq!(received.len(), sent.len());
    assert!(received == sent, "bytes changed or reordered in the proxy");
}

#[test]
fn chunks_in_flight_are_pipelined_not_delayed_one_by_one() {
    let proxy = LatencyProxy::start(echo_server(), ONE_WAY).unwrap();
    let mut conn = TcpStream::connect(proxy.addr()).unwrap();
    conn.set_nodelay(true).unwrap();
    assert_eq!(round_trip(&mut conn, b"warm"), b"warm");

    // 40 small writes, spaced so each is its own chunk: a proxy that slept per read would
    // need 40 one-way delays (1 s) for them; a link delivers them all about one round
    // trip after they were sent.
    let started = Instant::now();
    for i in 0..40u8 {
        conn.write_all(&[i]).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    let mut answer = [0u8; 40];
    conn.read_exact(&mut answer).unwrap();
    let elapsed = started.elapsed();
    println!("40 chunks echoed in {elapsed:?} (one-way delay {ONE_WAY:?})");
    assert_eq!(answer.to_vec(), (0..40u8).collect::<Vec<_>>());
    assert!(elapsed >= ONE_WAY * 2, "{elapsed:?}");
    assert!(elapsed < ONE_WAY * 32, "chunks were delayed one after another: {elapsed:?}");
}
