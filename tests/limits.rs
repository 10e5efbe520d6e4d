//! Timeouts and size limits (issue 7, point 7): every network call is bounded by the
//! client's timeout, answers are read with a size limit, and oversized tokens and
//! configs are refused with a clear error before anything else is done with them.
//! Fuzzing regressions live here too (see the end of the file).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use mondoo::__private::rpc::MAX_RESPONSE_BYTES;
use mondoo::__private::token::MAX_TOKEN_BYTES;
use mondoo::blocking::Client;
use mondoo::{ClientOptions, RegisterOptions};
use mondoo::{Code, Config, LoadOptions, RegistrationToken};
use mondoo_platform::{Fault, FaultSpec, Platform, PlatformOptions, TokenSpec};

mod common;
use common::{load_at, options, testdata, token_login};

/// A client registered with `platform`, built with `opts`.
fn registered_client(platform: &Platform, dir: &Path, opts: ClientOptions) -> Client {
    let path = dir.join("mondoo.yml");
    token_login(platform, &path, options());
    Client::new(Config::load_with(&load_at(&path)).unwrap(), opts).unwrap()
}

// ---- timeouts -------------------------------------------------------------------------

#[test]
fn every_call_is_bounded_by_the_timeout() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let short = options().with_timeout(Duration::from_millis(300));
    let client = registered_client(&platform, dir.path(), short);
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    // Each answer is 20 s late; a call that waited for it would still get an answer
    // (Slow answers normally afterwards), so getting Timeout proves the bound held.
    platform.inject(FaultSpec::new(Fault::Slow { millis: 20_000 }).times(100));

    let calls: Vec<(&str, mondoo::Result<()>)> = vec![
        ("health", client.health().map(|_| ())),
        ("signed call", client.call("Echo", "Say", &serde_json::json!({})).map(|_| ())),
        ("check-in", client.checkin()),
        ("token login", client.register(Some(&token), &RegisterOptions::default()).map(|_| ())),
    ];
    for (what, result) in calls {
        let e = result.expect_err(what);
        assert_eq!(e.code(), Code::Timeout, "{what}: {e:?}");
    }
    let report = client.status().unwrap();
    assert_eq!(report.upstream.api.error.as_ref().map(|e| e.code), Some(Code::Timeout.value()));
    assert_eq!(report.client.ping_pong_error.as_ref().map(|e| e.code), Some(Code::Timeout.value()));
}

#[test]
fn a_server_that_never_accepts_is_bounded() {
    // A listener that never accepts or answers, its backlog filled so that the next
    // connect hangs in the handshake (bounded by the connect timeout); if the kernel
    // still accepts it, nothing ever answers (bounded by the request timeout).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut hogs = Vec::new();
    for _ in 0..512 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50)) {
            Ok(s) => hogs.push(s),
            Err(_) => break,
        }
    }
    let opts = options()
        .with_api_endpoint(format!("http://{addr}"))
        .with_connect_timeout(Duration::from_millis(300))
        .with_timeout(Duration::from_millis(600));
    let config = Config::empty_at(tempfile::tempdir().unwrap().path().join("m.yml"), mondoo::ConfigSource::None);
    let e = Client::new(config, opts).unwrap().health().unwrap_err();
    assert_eq!(e.code(), Code::Timeout, "{e:?}");
    drop(hogs);
}

// ---- response size --------------------------------------------------------------------

#[test]
fn response_limit_is_exact() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = registered_client(&platform, dir.path(), options());
    let limit = MAX_RESPONSE_BYTES as usize;

    platform.inject(FaultSpec::new(Fault::HugeBody { bytes: limit }).only("Echo/Say"));
    let answer = client.call("Echo", "Say", &serde_json::json!({})).expect("an answer of exactly the limit is read");
    assert_eq!(answer["pad"].as_str().map(str::len), Some(limit - 10));

    platform.inject(FaultSpec::new(Fault::HugeBody { bytes: limit + 1 }).only("Echo/Say"));
    let e = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!(e.code(), Code::ResponseTooLarge, "{e:?}");
    assert_eq!(e.http_status(), Some(200));
    assert!(e.message().contains("Echo/Say"), "{}", e.message());
}

#[test]
fn oversized_error_bodies_are_refused_too() {
    // The limit applies before the status is looked at: a 64 MiB error page is not read whole.
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let config = Config::empty_at(tempfile::tempdir().unwrap().path().join("m.yml"), mondoo::ConfigSource::None);
    let client = Client::new(config, options().with_api_endpoint(platform.url())).unwrap();
    platform.inject(Fault::HugeBody { bytes: 64 * 1024 * 1024 });
    let e = client.health().unwrap_err();
    assert_eq!(e.code(), Code::ResponseTooLarge, "{e:?}");
}

#[test]
fn status_error_keeps_at_most_2_kib_of_a_body() {
    let page = format!("<html>{}</html>", "é".repeat(5000));
    let e = mondoo::__private::rpc::status_error(502, page.as_bytes());
    assert_eq!(e.code(), Code::RpcUnknown);
    assert!(e.message().len() < 2048 + 64, "{} bytes", e.message().len());
    // cut on a character boundary: still valid text, no replacement character
    assert!(!e.message().contains('\u{fffd}'));
}

// ---- tokens ---------------------------------------------------------------------------

#[test]
fn tokens_above_64_kib_are_refused_before_decoding() {
    let valid = std::fs::read_to_string(testdata("tokens/registration-valid.jwt")).unwrap();
    let valid = valid.trim();
    // padding with whitespace that trim() would remove still counts: the limit is on input
    let at_limit = format!("{valid}{}", " ".repeat(MAX_TOKEN_BYTES - valid.len()));
    RegistrationToken::inspect_at(&at_limit, None, 1_800_000_000).expect("exactly the limit is accepted");
    let over = format!("{at_limit} ");
    let e = RegistrationToken::inspect_at(&over, None, 1_800_000_000).unwrap_err();
    assert_eq!(e.code(), Code::TokenTooLarge);
    assert!(e.message().contains("65536"), "{}", e.message());

    // a huge token of valid shape: refused for its size, not parsed
    let claims =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000)));
    let big = format!("eyJhbGciOiJFUzM4NCJ9.{claims}.AAAA");
    assert_eq!(RegistrationToken::inspect(&big, None).unwrap_err().code(), Code::TokenTooLarge);
}

#[test]
fn an_oversized_token_never_reaches_the_platform() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options()).unwrap();
    let token = "a".repeat(MAX_TOKEN_BYTES + 1);
    let e = client.register(Some(&token), &RegisterOptions::default()).unwrap_err();
    assert_eq!(e.code(), Code::TokenTooLarge);
    assert!(platform.requests().is_empty());
    assert!(!path.exists());
}

// ---- configs --------------------------------------------------------------------------

fn big_yaml(bytes: usize) -> String {
    let mut text = String::from("mrn: //x\nprivate_key: y\npad: ");
    text.push_str(&"x".repeat(bytes.saturating_sub(text.len() + 1)));
    text.push('\n');
    assert_eq!(text.len(), bytes);
    text
}

#[test]
fn configs_above_1_mib_are_refused() {
    let max = mondoo::__private::config::MAX_CONFIG_BYTES as usize;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");

    std::fs::write(&path, big_yaml(max)).unwrap();
    Config::load_with(&load_at(&path)).expect("exactly 1 MiB is accepted");

    std::fs::write(&path, big_yaml(max + 1)).unwrap();
    let e = Config::load_with(&load_at(&path)).unwrap_err();
    assert_eq!(e.code(), Code::ConfigTooLarge);
    assert_eq!(e.path(), Some(path.as_path()));
    assert!(e.message().contains(&path.display().to_string()), "{}", e.message());

    // the same through the registration path and MONDOO_CONFIG_PATH
    assert_eq!(Config::for_registration(&load_at(&path)).unwrap_err().code(), Code::ConfigTooLarge);
    let env: BTreeMap<String, String> = [("MONDOO_CONFIG_PATH".to_string(), path.display().to_string())].into();
    let e = Config::load_with(&LoadOptions::new().with_env(env)).unwrap_err();
    assert_eq!(e.code(), Code::ConfigTooLarge);
}

#[test]
fn base64_configs_above_1_mib_are_refused() {
    let max = mondoo::__private::config::MAX_CONFIG_BYTES as usize;
    let b64 = |text: String| base64::engine::general_purpose::STANDARD.encode(text);
    let load = |value: String| {
        let env: BTreeMap<String, String> = [("MONDOO_CONFIG_BASE64".to_string(), value)].into();
        Config::load_with(&LoadOptions::new().with_env(env))
    };
    load(b64(big_yaml(max))).expect("exactly 1 MiB is accepted");
    let e = load(b64(big_yaml(max + 1))).unwrap_err();
    assert_eq!(e.code(), Code::ConfigTooLarge);
    assert!(e.message().contains("$MONDOO_CONFIG_BASE64"), "{}", e.message());
    // far too large: refused before decoding
    assert_eq!(load("A".repeat(8 * max)).unwrap_err().code(), Code::ConfigTooLarge);
}

#[test]
fn a_config_file_that_is_a_device_or_endless_is_bounded() {
    // /dev/zero reports size 0 and never ends: the read must stop at the limit.
    #[cfg(target_os = "linux")]
    {
        let e = Config::load_with(&load_at(Path::new("/dev/zero"))).unwrap_err();
        assert_eq!(e.code(), Code::ConfigTooLarge, "{e:?}");
    }
}

// ---- fuzzing regressions --------------------------------------------------------------
// Each input a fuzz target (fuzz/fuzz_targets) once crashed on becomes a test here.

#[test]
fn config_text_given_directly_is_limited_too() {
    let limit = mondoo::__private::config::MAX_CONFIG_BYTES as usize;
    let at_limit = format!("name: x\npad: \"{}\"\n", "a".repeat(limit - 16));
    assert_eq!(at_limit.len(), limit);
    assert!(Config::parse(&at_limit).is_ok());
    let over = format!("{at_limit} ");
    assert_eq!(Config::parse(&over).unwrap_err().code(), Code::ConfigTooLarge);
}
