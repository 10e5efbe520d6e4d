//! An `http://` endpoint that is not loopback sends credentials in clear text (issue 14
//! item 9): status warns about it, in text and JSON, and `require_tls` refuses it before
//! any request with `Code::InsecureEndpoint`. Loopback http stays allowed, with no warning.

use mondoo::blocking::Client;
use mondoo::RegisterOptions;
use mondoo::{Code, Config};
use mondoo_platform::{Platform, PlatformOptions, TokenSpec};

mod common;
use common::{load_at, options, token_login};

/// Not loopback and never resolvable (RFC 6761), so nothing can answer it.
const REMOTE_HTTP: &str = "http://api.mondoo.invalid:8080";

const CLEAR_TEXT_WARNING: &str = "! API endpoint http://api.mondoo.invalid:8080 is http:// and not loopback: the \
                                  client sends credentials in clear text over the network";

/// A registered config at `dir/mondoo.yml`, made through `platform`.
fn registered_config(platform: &Platform, dir: &std::path::Path) -> Config {
    let path = dir.join("mondoo.yml");
    token_login(platform, &path, options());
    Config::load_with(&load_at(&path)).unwrap()
}

#[test]
fn status_warns_about_a_remote_http_endpoint_in_text_and_json() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = registered_config(&platform, dir.path());
    let remote = options().with_api_endpoint(REMOTE_HTTP);
    let report = Client::new(config, remote).unwrap().status().unwrap();
    let text = report.to_text();
    assert!(text.contains(CLEAR_TEXT_WARNING), "{text}");
    assert!(text.contains("use https://, or require_tls to refuse such an endpoint"), "{text}");
    let warnings = report.to_json()["upstream"]["warnings"].clone();
    let warnings: Vec<String> = serde_json::from_value(warnings).unwrap();
    assert!(warnings.iter().any(|w| w.contains("sends credentials in clear text")), "{warnings:?}");
}

#[test]
fn loopback_http_is_allowed_with_require_tls_and_gets_no_warning() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    assert!(platform.url().starts_with("http://127.0.0.1:"), "{}", platform.url());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let strict = options().with_require_tls(true);
    token_login(&platform, &path, strict.clone());
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), strict.clone()).unwrap();
    let report = client.status().unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.to_text());
    assert!(!report.to_text().contains("clear text"), "{}", report.to_text());
    client.checkin().unwrap();
    // `localhost` is loopback too
    let port = platform.addr().port();
    let by_name = strict.with_api_endpoint(format!("http://localhost:{port}"));
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), by_name).unwrap();
    client.checkin().unwrap();
}

#[test]
fn require_tls_refuses_a_remote_http_endpoint_before_any_request() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = registered_config(&platform, dir.path());
    let strict = options().with_api_endpoint(REMOTE_HTTP).with_require_tls(true);
    let client = Client::new(config, strict.clone()).unwrap();
    // an unresolvable host would be a DNS error if anything were sent
    for (what, e) in [
        ("check-in", client.checkin().unwrap_err()),
        ("call", client.call("Echo", "Say", &serde_json::json!({})).unwrap_err()),
        ("service-account login", client.register(None, &RegisterOptions::default()).unwrap_err()),
    ] {
        assert_eq!(e.code(), Code::InsecureEndpoint, "{what}: {e:?}");
        assert!(e.message().contains("POST http://api.mondoo.invalid:8080/"), "{what}: {}", e.message());
        assert!(e.message().contains("require_tls"), "{what}: {}", e.message());
    }
    let report = client.status().unwrap();
    let api_error = report.upstream.api.error.as_ref().expect("Health/Check refused");
    assert_eq!(api_error.code, Code::InsecureEndpoint.value());
    assert!(report.to_text().contains("require_tls refuses it"), "{}", report.to_text());

    // a token whose endpoint is remote http: refused before RegisterAgent is sent
    let token = platform.mint_token(&TokenSpec { api_endpoint: Some(REMOTE_HTTP.into()), ..Default::default() });
    let fresh = dir.path().join("fresh.yml");
    let strict = options().with_require_tls(true);
    let client = Client::new(Config::for_registration(&load_at(&fresh)).unwrap(), strict).unwrap();
    let e = client.register(Some(&token.unwrap()), &RegisterOptions::default()).unwrap_err();
    assert_eq!(e.code(), Code::InsecureEndpoint, "{e:?}");
    assert!(e.message().contains(REMOTE_HTTP), "{}", e.message());
    assert!(!fresh.exists());
}
