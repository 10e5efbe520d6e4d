//! Latency benchmarks, run by `bench/run cold` and `bench/run link`: fresh `status`
//! processes (what a shell script or a cron job pays) and status over an emulated
//! wide-area link, against the in-process local platform.
//!
//! ```text
//! bench_latency [--runs N] [--rtt-ms MS] [--client NAME=PROGRAM]...
//! ```
//!
//! Registers once, then for every `--client` (a program taking `status --config FILE
//! [--api-endpoint URL]`, e.g. the `mondoo` CLI example or the Go client's `gostatus`)
//! runs N fresh processes on loopback and N through a [`LatencyProxy`] with the given
//! round-trip time, and a warm in-process libmondoo client's status through the proxy.
//! The last `--client` is the reference the others' cold figures are divided by.
//! Prints one line per figure: medians of wall and CPU time (user + system, from
//! `getrusage` of the waited-for child), and round trips = wall / RTT on the link.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mondoo::blocking::Client;
use mondoo::{ClientOptions, RegisterOptions};
use mondoo::{Config, LoadOptions};
use mondoo_platform::{LatencyProxy, Platform, PlatformOptions, TokenSpec};

struct Args {
    runs: usize,
    rtt: Duration,
    clients: Vec<(String, PathBuf)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { runs: 20, rtt: Duration::from_millis(50), clients: Vec::new() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--runs" => args.runs = value.parse().map_err(|e| format!("--runs: {e}"))?,
            "--rtt-ms" => args.rtt = Duration::from_millis(value.parse().map_err(|e| format!("--rtt-ms: {e}"))?),
            "--client" => {
                let (name, program) = value.split_once('=').ok_or("--client wants NAME=PROGRAM")?;
                args.clients.push((name.to_string(), PathBuf::from(program)));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.runs == 0 || args.clients.is_empty() {
        return Err("usage: bench_latency [--runs N] [--rtt-ms MS] --client NAME=PROGRAM...".into());
    }
    Ok(args)
}

/// Wall and CPU time of one waited-for child process.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

fn children_cpu() -> Duration {
    // SAFETY: getrusage writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One fresh `PROGRAM status --config FILE [--api-endpoint URL]`, in an empty environment.
fn status_process(program: &Path, home: &Path, config: &Path, endpoint: Option<&str>) -> Result<Timing, String> {
    let mut cmd = Command::new(program);
    cmd.arg("status").arg("--config").arg(config);
    if let Some(url) = endpoint {
        cmd.args(["--api-endpoint", url]);
    }
    cmd.env_clear().env("HOME", home).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let cpu_before = children_cpu();
    let started = Instant::now();
    let output = cmd.output().map_err(|e| format!("{}: {e}", program.display()))?;
    let wall = started.elapsed();
    let cpu = children_cpu().saturating_sub(cpu_before);
    if !output.status.success() {
        return Err(format!(
            "{} status failed ({}): {}{}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(Timing { wall, cpu })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median wall and CPU of `runs` fresh processes (after one untimed run that warms the
/// page cache).
fn cold(program: &Path, runs: usize, home: &Path, config: &Path, endpoint: Option<&str>) -> Result<Timing, String> {
    status_process(program, home, config, endpoint)?;
    let timings = (0..runs).map(|_| status_process(program, home, config, endpoint)).collect::<Result<Vec<_>, _>>()?;
    Ok(Timing {
        wall: median(timings.iter().map(|t| t.wall).collect()),
        cpu: median(timings.iter().map(|t| t.cpu).collect()),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("bench_latency: {e}");
        std::process::exit(64)
    });
    let platform = Platform::start(PlatformOptions::default())?;
    let home = std::env::temp_dir().join(format!("libmondoo-bench-latency-{}", std::process::id()));
    std::fs::create_dir_all(&home)?;
    let config = home.join("mondoo.yml");
    let load = LoadOptions::new().with_path(config.clone()).with_env(Default::default());
    let options = ClientOptions::new().with_env(Default::default());
    let token = platform.mint_token(&TokenSpec::default())?;
    Client::new(Config::for_registration(&load)?, options.clone())?
        .register(Some(&token), &RegisterOptions::default())?;

    let one_way = args.rtt / 2;
    let proxy = LatencyProxy::start(platform.addr(), one_way)?;
    let rtt_ms = ms(args.rtt);
    let runs = args.runs;
    let mut local = Vec::new();
    for (name, program) in &args.clients {
        let timing = cold(program, runs, &home, &config, None)?;
        println!(
            "cold.{name:<24} wall {:>7.1} ms  cpu {:>7.1} ms  ({runs} processes, loopback)",
            ms(timing.wall),
            ms(timing.cpu)
        );
        local.push((name, timing));
        let linked = cold(program, runs, &home, &config, Some(&proxy.url()))?;
        println!(
            "link{rtt_ms:.0}.cold.{name:<18} wall {:>7.1} ms  = {:.2} round trips  ({runs} processes)",
            ms(linked.wall),
            ms(linked.wall) / rtt_ms
        );
    }
    // Every client against the last one given (the reference, e.g. Go).
    if let Some((reference, base)) = local.last().filter(|_| local.len() > 1) {
        for (name, timing) in &local[..local.len() - 1] {
            println!(
                "cold.{:<24} wall {:>7.2}x     cpu {:>7.2}x",
                format!("{name}/{reference}"),
                ms(timing.wall) / ms(base.wall),
                ms(timing.cpu) / ms(base.cpu)
            );
        }
    }

    // Warm: one libmondoo client, its connection open, status after status over the link.
    let client = Client::new(Config::load_with(&load)?, options.with_api_endpoint(proxy.url()))?;
    let mut walls = Vec::new();
    for i in 0..=runs {
        let started = Instant::now();
        let report = client.status()?;
        if report.exit_code() != 0 {
            return Err(format!("status over the link failed:\n{}", report.to_text()).into());
        }
        if i > 0 {
            walls.push(started.elapsed());
        }
    }
    let warm = median(walls);
    println!(
        "link{rtt_ms:.0}.warm.libmondoo           wall {:>7.1} ms  = {:.2} round trips  (one client, {runs} statuses)",
        ms(warm),
        ms(warm) / rtt_ms
    );
    drop(proxy);
    std::fs::remove_dir_all(&home).ok();
    Ok(())
}
