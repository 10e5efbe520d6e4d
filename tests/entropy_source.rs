//! aws-lc is built without its CPU-jitter entropy source (`.cargo/config.toml` sets
//! `AWS_LC_SYS_NO_JITTER_ENTROPY`): the jitter collector costs every process tens of
//! milliseconds of CPU before its first signature (README, "Latency"). Fails when that
//! setting is lost, or overridden with `AWS_LC_SYS_NO_JITTER_ENTROPY=0`.

#[test]
fn aws_lc_seeds_from_the_os_not_cpu_jitter() {
    // Draw first: the entropy source is chosen when the DRBG is first seeded.
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    aws_lc_rs::rand::fill(&mut a).unwrap();
    aws_lc_rs::rand::fill(&mut b).unwrap();
    assert_ne!(a, b);
    // SAFETY: a query without arguments.
    let jitter = unsafe { aws_lc_sys::FIPS_is_entropy_cpu_jitter() };
    assert_eq!(jitter, 0, "aws-lc was built with CPU-jitter entropy (AWS_LC_SYS_NO_JITTER_ENTROPY not set)");
}
