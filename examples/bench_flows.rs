//! Flow benchmarks against the in-process local platform (loopback HTTP), run by
//! `bench/run`: a status round trip (Health/Check + signed PingPong) with a warm client,
//! and a full login (token check, RegisterAgent, credential check, atomic config write,
//! signed PingPong) with a fresh client each time.
//!
//! Prints one line per figure: `name  ops/s  ms/op`.

use std::time::{Duration, Instant};

use mondoo::blocking::Client;
use mondoo::{ClientOptions, RegisterOptions};
use mondoo::{Config, LoadOptions};
use mondoo_platform::{Platform, PlatformOptions, TokenSpec};

fn options() -> ClientOptions {
    ClientOptions::new().with_env(Default::default())
}

/// Run `op` for at least `min_time` (and at least `min_ops` times), after a warm-up.
fn measure(name: &str, min_ops: u32, min_time: Duration, mut op: impl FnMut()) {
    for _ in 0..3 {
        op();
    }
    let start = Instant::now();
    let mut n = 0u32;
    while n < min_ops || start.elapsed() < min_time {
        op();
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{name:<28} {:>10.1} ops/s  {:>8.3} ms/op", n as f64 / secs, secs * 1000.0 / n as f64);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::var_os("MONDOO_BENCH_QUICK").is_some();
    let min_time = Duration::from_millis(if quick { 300 } else { 3000 });
    let platform = Platform::start(PlatformOptions::default())?;
    let dir = tempfile_dir()?;

    let warm_path = dir.join("warm.yml");
    let load = |path: &std::path::Path| LoadOptions::new().with_path(path.to_path_buf()).with_env(Default::default());
    let token = platform.mint_token(&TokenSpec::default())?;
    Client::new(Config::for_registration(&load(&warm_path))?, options())?
        .register(Some(&token), &RegisterOptions::default())?;
    let client = Client::new(Config::load_with(&load(&warm_path))?, options())?;
    measure("flows.status_warm_client", 20, min_time, || {
        let report = client.status().expect("status");
        assert_eq!(report.exit_code(), 0, "{}", report.to_text());
        platform.clear_requests();
    });

    let mut i = 0u32;
    measure("flows.login_full", 10, min_time, || {
        i += 1;
        let path = dir.join(format!("login-{i}.yml"));
        let token = platform.mint_token(&TokenSpec::default()).expect("token");
        let client = Client::new(Config::for_registration(&load(&path)).expect("config"), options()).expect("client");
        client.register(Some(&token), &RegisterOptions::default()).expect("login");
        platform.clear_requests();
    });
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("libmondoo-bench-flows-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
