//! Platform API throughput, run by `bench/run graphql`: GraphQL calls per second with a
//! warm client (the service-account bearer cached) against the in-process local
//! platform on loopback, from one thread and from several sharing one client, and the
//! bearers signed per call. Prints `name calls/s signatures/call`.
//!
//! `BENCH_CALLS` (default 2000) calls per measurement; `BENCH_THREADS` (default 4).

use std::time::Instant;

use mondoo::blocking::Client;
use mondoo::{ClientOptions, Config, LoadOptions};
use mondoo_platform::{Platform, PlatformOptions};

const SPACE: &str = "//captain.api.mondoo.app/spaces/bench-graphql";
const QUERY: &str = "{ viewer { mrn name } }";

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls = env_count("BENCH_CALLS", 2000);
    let threads = env_count("BENCH_THREADS", 4);
    let platform = Platform::start(PlatformOptions::default())?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("mondoo.json");
    std::fs::write(&path, platform.create_service_account(SPACE)?.to_string())?;
    let config = Config::load_with(&LoadOptions::new().with_path(path).with_env(Default::default()))?;
    let client = Client::new(config, ClientOptions::new().with_env(Default::default()))?;
    client.graphql(QUERY, None)?.into_data()?; // warm: connection and bearer
    let signed_before = mondoo::__private::graphql::api_bearer_signatures(client.as_async());

    let started = Instant::now();
    for _ in 0..calls {
        client.graphql(QUERY, None)?.into_data()?;
    }
    let one = calls as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    std::thread::scope(|scope| -> Result<(), mondoo::Error> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let client = client.clone();
                scope.spawn(move || -> Result<(), mondoo::Error> {
                    for _ in 0..calls / threads {
                        client.graphql(QUERY, None)?.into_data()?;
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| mondoo::Error::new(mondoo::Code::Panic, "a bench thread panicked"))??;
        }
        Ok(())
    })?;
    let total = (calls / threads) * threads;
    let many = total as f64 / started.elapsed().as_secs_f64();
    let signed = mondoo::__private::graphql::api_bearer_signatures(client.as_async()) - signed_before;
    let per_call = signed as f64 / (calls + total) as f64;
    println!("graphql.warm.1thread {one:.0} {per_call:.5}");
    println!("graphql.warm.{threads}threads {many:.0} {per_call:.5}");
    Ok(())
}
