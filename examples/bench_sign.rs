//! Release-mode signing figures for `bench/run`: one line per figure,
//! `name  ops/s  ratio-to-raw-sign`.
//!
//! Figures are measured in interleaved rounds (every figure once per round) and the
//! median is printed, so a neighbour's load on a shared machine hits the bearer and the
//! raw signing alike and the ratio stays meaningful. `BENCH_ROUNDS` (default 9) and
//! `BENCH_MS` (time per figure per round, default 150) tune it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use base64::Engine as _;
use mondoo::Signer;

const NOW: i64 = 1_900_000_000;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Operations per second of `op`, run for about `budget`.
fn ops_per_sec(budget: Duration, op: &mut dyn FnMut()) -> f64 {
    // Batches amortize the clock reads; the batch grows until it takes ~1 ms.
    let mut batch = 1u64;
    let mut done = 0u64;
    let start = Instant::now();
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            op();
        }
        done += batch;
        if t.elapsed() < Duration::from_millis(1) {
            batch *= 2;
        }
        let total = start.elapsed();
        if total >= budget {
            return done as f64 / total.as_secs_f64();
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let rounds = env_num("BENCH_ROUNDS", 9).max(1) as usize;
    let budget = Duration::from_millis(env_num("BENCH_MS", 150));

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/service-account/credentials.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let creds: serde_json::Value = serde_json::from_str(&text).expect("credentials JSON");
    let (mrn, key, cert) = (
        creds["mrn"].as_str().unwrap(),
        creds["private_key"].as_str().unwrap(),
        creds["certificate"].as_str().unwrap(),
    );
    let signer = Signer::from_pem(mrn, key, Some(cert)).expect("fixture key");

    // Raw: aws-lc signing of exactly a 1 KiB bearer's signing input (header.claims).
    let input = signer.sign_at(&[b'x'; 1024], NOW).unwrap().rsplit_once('.').unwrap().0.to_string();
    let der = base64::engine::general_purpose::STANDARD
        .decode(key.lines().filter(|l| !l.starts_with("-----")).collect::<String>())
        .unwrap();
    let raw = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &der).unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();

    let bodies: Vec<(String, Vec<u8>)> = [(1usize, "1KiB"), (64, "64KiB"), (1024, "1MiB")]
        .iter()
        .map(|&(kib, name)| (format!("bearer_{name}"), vec![b'x'; kib * 1024]))
        .collect();
    let bearer_1k = signer.sign_at(&bodies[0].1, NOW).unwrap();
    let public = signer.public_key();

    let mut figures: Vec<(String, Box<dyn FnMut() + '_>)> = Vec::new();
    figures.push((
        "raw_aws_lc_es384_sign".into(),
        Box::new(|| {
            black_box(raw.sign(&rng, black_box(input.as_bytes())).unwrap());
        }),
    ));
    for (name, body) in &bodies {
        let s = &signer;
        figures.push((
            name.clone(),
            Box::new(move || {
                black_box(s.sign_at(black_box(body), NOW).unwrap());
            }),
        ));
    }
    figures.push((
        "verify_bearer_1KiB".into(),
        Box::new(|| {
            black_box(
                mondoo::__private::signer::verify_with_public_key(&bearer_1k, &bodies[0].1, &public, NOW).unwrap(),
            );
        }),
    ));
    figures.push((
        "key_load_from_pem".into(),
        Box::new(|| {
            black_box(Signer::from_pem(mrn, key, Some(cert)).unwrap());
        }),
    ));

    // rates[figure][round]; ratios are taken within a round, against that round's raw.
    let mut rates = vec![Vec::with_capacity(rounds); figures.len()];
    for _ in 0..rounds {
        for (i, (_, op)) in figures.iter_mut().enumerate() {
            rates[i].push(ops_per_sec(budget, op.as_mut()));
        }
    }
    for (i, (name, _)) in figures.iter().enumerate() {
        let ratio = median(rates[i].iter().zip(&rates[0]).map(|(r, raw)| r / raw).collect());
        println!("{name:<24} {:>12.0}  {ratio:.3}", median(rates[i].clone()));
    }
}
