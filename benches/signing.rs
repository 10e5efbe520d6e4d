//! Request-signing cost: full bearers over 1 KiB, 64 KiB and 1 MiB bodies, against raw
//! aws-lc-rs ES384 signing of an input the size of a bearer's signing input, and key
//! loading. `bench/run` prints the same figures as ops/s with ratios.

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mondoo::Signer;

struct Account {
    mrn: String,
    key: String,
    cert: String,
}

fn account() -> Account {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/service-account/credentials.json");
    let text = std::fs::read_to_string(path).expect("fixture credentials");
    let c: serde_json::Value = serde_json::from_str(&text).unwrap();
    Account {
        mrn: c["mrn"].as_str().unwrap().into(),
        key: c["private_key"].as_str().unwrap().into(),
        cert: c["certificate"].as_str().unwrap().into(),
    }
}

fn signing(c: &mut Criterion) {
    let a = account();
    let signer = Signer::from_pem(&a.mrn, &a.key, Some(&a.cert)).unwrap();
    const NOW: i64 = 1_900_000_000;

    // Raw: aws-lc signing of a bearer's own signing input (header.claims), nothing else.
    let bearer = signer.sign_at(&[b'x'; 1024], NOW).unwrap();
    let input = bearer.rsplit_once('.').unwrap().0.to_string();
    let der = base64::engine::general_purpose::STANDARD
        .decode(a.key.lines().filter(|l| !l.starts_with("-----")).collect::<String>())
        .unwrap();
    let raw = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &der).unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    c.bench_function("raw_aws_lc_es384_sign", |b| b.iter(|| raw.sign(&rng, input.as_bytes()).unwrap()));

    let mut g = c.benchmark_group("bearer");
    for size in [1024usize, 64 * 1024, 1024 * 1024] {
        let body = vec![b'x'; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| {
            b.iter(|| signer.sign_at(body, NOW).unwrap())
        });
    }
    g.finish();

    c.bench_function("key_load_from_pem", |b| b.iter(|| Signer::from_pem(&a.mrn, &a.key, Some(&a.cert)).unwrap()));
}

criterion_group!(benches, signing);
criterion_main!(benches);
