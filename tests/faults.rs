//! The fault matrix (issue 7, point 2): one test per way the network or the platform can
//! fail. Each row starts from a registered config, breaks every call, and runs every
//! flow that talks to the platform (token login, service-account login, logout,
//! check-in, a signed call, status). Each must fail with the row's typed error, none may
//! report success, and the config file must be byte-for-byte what it was, with no
//! temporary file left beside it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mondoo::blocking::Client;
use mondoo::{ClientOptions, LogoutOptions, RegisterOptions};
use mondoo::{Code, Config, Error};
use mondoo_platform::{ConnectProxy, Fault, FaultSpec, Platform, PlatformOptions, TokenSpec};

mod common;
use common::{load_at, token_login};

/// Enough for every request a row makes: each one gets the fault.
const EVERY_CALL: u32 = 1000;

/// The shared options, with a short connect timeout for the unreachable rows.
fn options() -> ClientOptions {
    common::options().with_connect_timeout(Duration::from_secs(5))
}

/// The typed error a row expects: the code, and (when the platform answered) its rpc
/// code and HTTP status. `None` for rpc/http means "must be absent".
#[derive(Debug, Clone, Copy)]
struct Expect {
    code: Code,
    rpc_code: Option<i32>,
    http_status: Option<u16>,
}

impl Expect {
    fn local(code: Code) -> Expect {
        Expect { code, rpc_code: None, http_status: None }
    }
    fn rpc(code: Code, http_status: u16) -> Expect {
        Expect { code, rpc_code: code.rpc_code(), http_status: Some(http_status) }
    }
    fn check(&self, what: &str, e: &Error) {
        assert_eq!(e.code(), self.code, "{what}: {e:?}");
        assert_eq!(e.rpc_code(), self.rpc_code, "{what}: rpc code of {e:?}");
        assert_eq!(e.http_status(), self.http_status, "{what}: HTTP status of {e:?}");
        assert!(!e.message().is_empty(), "{what}: empty message");
    }
}

/// A registered config at `dir/mondoo.yml`, made through a healthy platform.
fn registered(platform: &Platform, dir: &Path, ca_file: Option<PathBuf>) -> PathBuf {
    let path = dir.join("mondoo.yml");
    token_login(platform, &path, {
        let mut o = options();
        o.ca_file = ca_file;
        o
    });
    assert!(path.exists());
    path
}

/// Run every platform flow with `client` (whose calls all fail) and check each error,
/// that nothing succeeded, and that the config file did not change.
fn every_flow_fails(client: &Client, token: &str, path: &Path, expect: Expect) {
    let before = std::fs::read(path).unwrap();

    let e = client.register(Some(token), &RegisterOptions::default()).unwrap_err();
    expect.check("token login", &e);
    let e = client.register(None, &RegisterOptions::default()).unwrap_err();
    expect.check("service-account login", &e);
    let e = client.logout(&LogoutOptions::default()).unwrap_err();
    expect.check("logout", &e);
    let e = client.logout(&LogoutOptions::new().with_keep_service_account(true).with_force_offline(false)).unwrap_err();
    expect.check("logout keeping the service account", &e);
    let e = client.checkin().unwrap_err();
    expect.check("check-in", &e);
    let e = client.call("Echo", "Say", &serde_json::json!({"x": 1})).unwrap_err();
    expect.check("signed call", &e);

    // status never fails for a network fault: it reports both failures, and no success
    let report = client.status().expect("status reports network faults instead of failing");
    assert!(report.client.registered);
    assert!(!report.client.authenticated, "status must not report success");
    assert_eq!(report.exit_code(), 1);
    for (what, reported) in
        [("status API check", &report.upstream.api.error), ("status PingPong", &report.client.ping_pong_error)]
    {
        let r = reported.as_ref().unwrap_or_else(|| panic!("{what}: no error reported"));
        assert_eq!(r.code, expect.code.value(), "{what}: {r:?}");
        assert_eq!(r.rpc_code, expect.rpc_code, "{what}: {r:?}");
        assert_eq!(r.http_status, expect.http_status, "{what}: {r:?}");
    }
    let text = report.to_text();
    assert!(!text.contains("authenticated successfully"), "{text}");
    assert!(text.contains("x could not connect to mondoo platform"), "{text}");

    // the client still holds the registered config, and the file is untouched
    assert!(client.config().is_registered());
    assert_eq!(std::fs::read(path).unwrap(), before, "the config file changed");
    let dir = path.parent().unwrap();
    let names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["mondoo.yml"], "left beside the config");
}

/// A row whose fault the platform injects into every request.
fn injected_row(fault: Fault, expect: Expect, tune: impl FnOnce(ClientOptions) -> ClientOptions) {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = registered(&platform, dir.path(), None);
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), tune(options())).unwrap();
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    platform.clear_requests();
    platform.inject(FaultSpec::new(fault).times(EVERY_CALL));
    every_flow_fails(&client, &token, &path, expect);
    // the faults really were what the client saw: consumed by its requests (a slow
    // answer is recorded only once written, so count what was consumed), and no
    // request got a normal answer
    let left = platform.pending_faults().first().map_or(0, |f| f.times);
    assert!(EVERY_CALL - left >= 7, "only {} requests met the fault", EVERY_CALL - left);
    assert!(platform.requests().iter().all(|r| r.fault.is_some()), "a request got a normal answer");
}

#[test]
fn aborted_beyond_the_retry_budget() {
    injected_row(Fault::Aborted, Expect::rpc(Code::RpcAborted, 409), |o| o);
}

#[test]
fn token_login_gives_up_after_one_call_per_delay_plus_one() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = registered(&platform, dir.path(), None);
    let before = std::fs::read(&path).unwrap();
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    platform.clear_requests();
    platform.inject(FaultSpec::new(Fault::Aborted).times(EVERY_CALL).only("AgentManager/RegisterAgent"));
    let e = client.register(Some(&token), &RegisterOptions::default()).unwrap_err();
    Expect::rpc(Code::RpcAborted, 409).check("token login", &e);
    assert!(e.message().contains("4 attempts"), "{}", e.message());
    assert_eq!(platform.requests().len(), 4, "3 retry delays: 4 attempts, nothing else");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn unauthenticated_401() {
    injected_row(Fault::unauthenticated(), Expect::rpc(Code::RpcUnauthenticated, 401), |o| o);
}

#[test]
fn permission_denied_403() {
    injected_row(Fault::status(7, "not allowed"), Expect::rpc(Code::RpcPermissionDenied, 403), |o| o);
}

#[test]
fn resource_exhausted_429() {
    injected_row(Fault::status(8, "slow down"), Expect::rpc(Code::RpcResourceExhausted, 429), |o| o);
}

#[test]
fn bare_429_without_a_status_body() {
    // a proxy's 429 with no ranger status: the HTTP status is kept, the code is Unknown
    let fault = Fault::Status { http_status: 429, code: 0, message: String::new() };
    injected_row(fault, Expect { code: Code::RpcUnknown, rpc_code: Some(2), http_status: Some(429) }, |o| o);
}

#[test]
fn html_502_from_a_proxy() {
    injected_row(Fault::Html502, Expect { code: Code::RpcUnknown, rpc_code: Some(2), http_status: Some(502) }, |o| o);
}

#[test]
fn unavailable_503() {
    injected_row(Fault::status(14, "maintenance"), Expect::rpc(Code::RpcUnavailable, 503), |o| o);
}

#[test]
fn empty_500() {
    injected_row(Fault::Empty500, Expect::rpc(Code::RpcInternal, 500), |o| o);
}

#[test]
fn truncated_json_body() {
    injected_row(Fault::TruncatedJson, Expect::local(Code::Network), |o| o);
}

#[test]
fn truncated_json_body_in_a_complete_answer() {
    // framed correctly (Content-Length matches), but the JSON document is cut off
    let fault = Fault::Body { http_status: 200, body: r#"{"agent_mrn":"//agents.api.mondoo.app/spa"#.into() };
    let expect = Expect { code: Code::ResponseInvalid, rpc_code: None, http_status: Some(200) };
    injected_row(fault, expect, |o| o);
}

#[test]
fn body_of_10_mib() {
    const {
        assert!(
            mondoo::__private::rpc::MAX_RESPONSE_BYTES < 10 * 1024 * 1024,
            "the limit must be below the fault's size"
        )
    };
    let expect = Expect { code: Code::ResponseTooLarge, rpc_code: None, http_status: Some(200) };
    injected_row(Fault::HugeBody { bytes: 10 * 1024 * 1024 }, expect, |o| o);
}

#[test]
fn connection_reset_mid_answer() {
    injected_row(Fault::Reset, Expect::local(Code::Network), |o| o);
}

#[test]
fn answer_slower_than_the_timeout() {
    injected_row(Fault::Slow { millis: 5_000 }, Expect::local(Code::Timeout), |o| {
        o.with_timeout(Duration::from_millis(300))
    });
}

#[test]
fn dns_failure() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = registered(&platform, dir.path(), None);
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let opts = options().with_api_endpoint("https://nonexistent.invalid");
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), opts).unwrap();
    platform.clear_requests();
    every_flow_fails(&client, &token, &path, Expect::local(Code::Dns));
    assert!(platform.requests().is_empty());
}

#[test]
fn proxy_that_refuses_connect() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    let ca = platform.ca_file().map(Path::to_path_buf);
    let dir = tempfile::tempdir().unwrap();
    let path = registered(&platform, dir.path(), ca.clone());
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let proxy = ConnectProxy::start(true).unwrap();
    let opts = {
        let mut o = options().with_api_proxy(proxy.url());
        o.ca_file = ca;
        o
    };
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), opts).unwrap();
    platform.clear_requests();
    every_flow_fails(&client, &token, &path, Expect::local(Code::Proxy));
    assert!(proxy.refused() >= 1);
    assert_eq!(proxy.tunnels(), 0);
    assert!(platform.requests().is_empty(), "nothing got through the proxy");
}

#[test]
fn proxy_that_is_down() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = registered(&platform, dir.path(), None);
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    // a port that was just free: nothing listens there
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy = format!("http://sre:proxy-secret@127.0.0.1:{port}");
    let opts = options().with_api_proxy(proxy);
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), opts).unwrap();
    platform.clear_requests();
    every_flow_fails(&client, &token, &path, Expect::local(Code::Proxy));
    let e = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    let via = format!("via proxy http://redacted@127.0.0.1:{port}/ (from --api-proxy)");
    assert!(e.message().contains(&via), "{}", e.message());
    assert!(!e.message().contains("proxy-secret") && !format!("{e:?}").contains("proxy-secret"), "{e:?}");
    assert!(platform.requests().is_empty());
}

#[test]
fn tls_certificate_from_an_unknown_ca() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = registered(&platform, dir.path(), platform.ca_file().map(Path::to_path_buf));
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    // the same platform, without its CA: the system roots do not know it
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();
    platform.clear_requests();
    every_flow_fails(&client, &token, &path, Expect::local(Code::Tls));
    assert!(platform.requests().is_empty(), "no request was served over an untrusted connection");
}
