//! One client shared by 8 threads (issue 7, point 5): signing and signed calls at the
//! same time. No deadlock (the threads are joined with a deadline), every bearer
//! verifies against the service account's certificate, and the platform accepted every
//! call. `tests/tsan` runs this file under ThreadSanitizer (std built with it too); the
//! cross-language side runs under `go test -race` in the Go bindings.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use mondoo::__private::signer;
use mondoo::blocking::Client;
use mondoo::ClientOptions;
use mondoo::Config;
use mondoo_platform::{AuthOutcome, Platform, PlatformOptions};

mod common;
use common::{load_at, token_login};

const THREADS: usize = 8;
const ROUNDS: usize = 25;
/// Far beyond what the work takes; reaching it means a thread is stuck.
const DEADLINE: Duration = Duration::from_secs(120);

/// The shared options with room for a loaded machine.
fn options() -> ClientOptions {
    common::options().with_timeout(Duration::from_secs(20))
}

fn registered(platform: &Platform, dir: &Path, opts: ClientOptions) -> Arc<Client> {
    let path = dir.join("mondoo.yml");
    token_login(platform, &path, options());
    Arc::new(Client::new(Config::load_with(&load_at(&path)).unwrap(), opts).unwrap())
}

/// Run `work(thread)` on THREADS threads at once; panics if any is not done by the
/// deadline (a deadlock) or panicked.
fn run_threads(work: impl Fn(usize) + Send + Sync + 'static) {
    let work = Arc::new(work);
    let barrier = Arc::new(std::sync::Barrier::new(THREADS));
    let (done, finished) = mpsc::channel();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (work, barrier, done) = (Arc::clone(&work), Arc::clone(&barrier), done.clone());
            std::thread::spawn(move || {
                barrier.wait(); // all start together, for the most overlap
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(t)));
                let _ = done.send((t, outcome.is_ok()));
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + DEADLINE;
    for _ in 0..THREADS {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match finished.recv_timeout(left) {
            Ok((t, ok)) => assert!(ok, "thread {t} failed (its panic is printed above)"),
            Err(_) => panic!("deadlock: not every thread finished within {DEADLINE:?}"),
        }
    }
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn eight_threads_sign_and_call_through_one_client() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = registered(&platform, dir.path(), options());
    let config = client.config();
    let certificate = config.certificate().expect("the registration wrote a certificate");
    let mrn = config.service_account_mrn().unwrap();
    platform.clear_requests();

    let c = Arc::clone(&client);
    let (cert, sa) = (certificate.clone(), mrn.clone());
    run_threads(move |t| {
        for i in 0..ROUNDS {
            let body = format!(r#"{{"thread":{t},"round":{i}}}"#);
            let bearer = c.sign(body.as_bytes()).unwrap();
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            let claims = signer::verify(&bearer, body.as_bytes(), &cert, now)
                .unwrap_or_else(|e| panic!("thread {t} round {i}: bearer does not verify: {e:?}"));
            assert_eq!(claims.sub, sa);
            assert_eq!(claims.chash.as_deref(), Some(signer::chash(body.as_bytes()).as_str()));

            let answer = c.call("Echo", "Say", &serde_json::json!({"thread": t, "round": i})).unwrap();
            assert_eq!(answer["thread"], t, "answers must not cross between threads");
            assert_eq!(answer["round"], i);
            if i % 5 == 0 {
                c.checkin().unwrap();
            }
        }
    });

    let requests = platform.requests();
    let echoes: Vec<_> = requests.iter().filter(|r| r.service == "Echo").collect();
    assert_eq!(echoes.len(), THREADS * ROUNDS);
    let checkins = requests.iter().filter(|r| r.method == "HealthCheck").count();
    assert_eq!(checkins, THREADS * ROUNDS.div_ceil(5));
    for r in &requests {
        assert_eq!(r.auth, AuthOutcome::Accepted, "{} {}/{}: {:?}", r.status, r.service, r.method, r.auth);
        assert_eq!(r.subject.as_deref(), Some(mrn.as_str()));
        assert_eq!(r.status, 200);
    }
    // every thread's every round arrived once
    let mut seen: Vec<(u64, u64)> = echoes
        .iter()
        .map(|r| {
            let b = r.body_json().unwrap();
            (b["thread"].as_u64().unwrap(), b["round"].as_u64().unwrap())
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), THREADS * ROUNDS);
}

#[test]
fn eight_threads_race_the_clock_skew_correction() {
    // The platform's clock is 2 h ahead: only skew-corrected bearers are accepted. Every
    // thread's first call races to measure the skew; none may sign with a stale offset.
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = registered(&platform, dir.path(), options().with_correct_clock_skew(true));
    platform.set_clock_offset(2 * 3600);
    platform.clear_requests();

    let c = Arc::clone(&client);
    run_threads(move |t| {
        for i in 0..5 {
            c.call("Echo", "Say", &serde_json::json!({"thread": t, "round": i}))
                .unwrap_or_else(|e| panic!("thread {t} round {i}: {e:?}"));
        }
    });
    let requests = platform.requests();
    assert_eq!(requests.iter().filter(|r| r.service == "Echo").count(), THREADS * 5);
    assert!(requests.iter().all(|r| r.service == "Health" || r.auth == AuthOutcome::Accepted));
}

#[test]
fn status_and_logout_racing_calls_never_deadlock() {
    // status and a config rewrite take the client's lock while calls are in flight;
    // calls before the logout succeed; after it they fail as NotRegistered, or (signed
    // just before, answered just after) as Unauthenticated by the platform.
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = registered(&platform, dir.path(), options());
    let c = Arc::clone(&client);
    run_threads(move |t| {
        for i in 0..10 {
            match t {
                0 if i == 5 => c.logout(&mondoo::LogoutOptions::default()).unwrap(),
                1 | 2 => {
                    let report = c.status().unwrap();
                    let _ = report.to_text();
                }
                _ => {
                    if let Err(e) = c.call("Echo", "Say", &serde_json::json!({"t": t})) {
                        let expected = [mondoo::Code::NotRegistered, mondoo::Code::RpcUnauthenticated];
                        assert!(expected.contains(&e.code()), "{e:?}");
                    }
                }
            }
        }
    });
    assert!(!client.config().is_registered());
}
