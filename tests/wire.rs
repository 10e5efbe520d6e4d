//! What libmondoo puts on the wire and how it reads what comes back (protocol section 3),
//! through the real local platform: the headers of every call, gzip answers and the gzip
//! bomb, 307/308 redirects within the origin and the redirects it refuses, and endpoints
//! with a path prefix.

use std::path::{Path, PathBuf};

use mondoo::__private::sysinfo::SystemInfo;
use mondoo::blocking::Client;
use mondoo::{Code, Config};
use mondoo_platform::{AuthOutcome, Fault, FaultSpec, Platform, PlatformOptions, RecordedRequest};
use serde_json::json;

mod common;
use common::{load_at, options, token_login};

/// A registered config in `dir`, and a client on it whose calls go to `endpoint`.
fn registered_client(platform: &Platform, dir: &Path, endpoint: &str) -> (Client, PathBuf) {
    let path = dir.join("mondoo.yml");
    token_login(platform, &path, options());
    let config = Config::load_with(&load_at(&path)).unwrap();
    let client = Client::new(config, options().with_api_endpoint(endpoint.to_string())).unwrap();
    (client, path)
}

fn ping(client: &Client) -> mondoo::Result<serde_json::Value> {
    client.call("AgentManager", "PingPong", &json!({}))
}

fn bearer(r: &RecordedRequest) -> Option<&str> {
    r.header("authorization").and_then(|v| v.strip_prefix("Bearer "))
}

#[test]
fn every_call_carries_the_headers_of_section_3() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let system = SystemInfo {
        platform_name: "Windows Server".into(),
        platform_release: "2022 R2".into(),
        platform_arch: "x86_64".into(),
        hostname: "build box.example".into(),
        ip: "192.0.2.10".into(),
    };
    let path = dir.path().join("mondoo.yml");
    let opts = options().with_feature_flags(vec![1, 2, 13]).with_system_info(system.clone());
    let client = token_login(&platform, &path, opts);
    client.status().unwrap();
    client.checkin().unwrap();

    let recorded = platform.requests();
    assert_eq!(
        recorded.iter().map(|r| format!("{}/{}", r.service, r.method)).collect::<Vec<_>>(),
        [
            "AgentManager/RegisterAgent",
            "AgentManager/PingPong",
            "Health/Check",
            "AgentManager/PingPong",
            "AgentManager/HealthCheck"
        ]
    );
    let user_agent = format!(
        "libmondoo/{} HN/build-box.example IP/192.0.2.10 PA/x86_64 PN/Windows-Server PR/2022-R2 build/{}",
        mondoo::VERSION,
        mondoo::__private::sysinfo::BUILD
    );
    let request_id = recorded[0].header("x-request-id").unwrap().to_string();
    for r in &recorded {
        let what = format!("{}/{}", r.service, r.method);
        assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
        assert_eq!(r.header("accept"), Some("application/json"), "{what}");
        assert_eq!(r.header("accept-encoding"), Some("gzip"), "{what}");
        assert_eq!(r.header("user-agent"), Some(user_agent.as_str()), "{what}");
        // standard base64 of the feature-flag bytes [1, 2, 13]
        assert_eq!(r.header("mondoo-features"), Some("AQIN"), "{what}");
        assert_eq!(
            r.header("mondoo-platformid"),
            Some("//platformid.api.mondoo.app/hostname/build box.example"),
            "{what}"
        );
        assert_eq!(r.header("x-request-id"), Some(request_id.as_str()), "one id per client: {what}");
        assert_eq!(r.header("authorization").is_some(), r.service != "Health", "{what}");
        assert!(r.gzipped, "the platform answered gzip and the client read it: {what}");
    }
    // The header and the AgentInfo come from the same system information.
    let registered = recorded[0].body_json().unwrap();
    assert_eq!(registered["agent_info"]["platform_id"], "//platformid.api.mondoo.app/hostname/build box.example");
    assert_eq!(registered["agent_info"]["platform_hostname"], "build box.example");
    assert_eq!(recorded[4].body_json().unwrap()["platform_id"], registered["agent_info"]["platform_id"]);
}

#[test]
fn without_feature_flags_the_features_header_is_empty_and_the_machine_is_gathered() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = token_login(&platform, &dir.path().join("mondoo.yml"), options());
    client.health().unwrap();
    let system = SystemInfo::gather();
    for r in platform.requests() {
        assert_eq!(r.header("mondoo-features"), Some(""), "present and empty: {}", r.method);
        assert_eq!(r.header("mondoo-platformid"), Some(system.platform_id().as_str()));
        assert_eq!(r.header("user-agent"), Some(system.user_agent().as_str()));
    }
    let registered = platform.requests()[0].body_json().unwrap();
    assert_eq!(registered["agent_info"]["platform_id"], system.platform_id());
}

#[test]
fn gzip_answers_are_decoded_and_the_limit_applies_to_the_decoded_body() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = registered_client(&platform, dir.path(), platform.url());

    // 9 MiB once inflated, a few KiB on the wire: refused, with a clear error.
    platform.inject(Fault::GzipBomb { decoded_bytes: 9 * 1024 * 1024 });
    let e = client.health().unwrap_err();
    assert_eq!(e.code(), Code::ResponseTooLarge, "{e:?}");
    assert!(e.message().contains("larger than 8388608 bytes once gzip-decoded"), "{}", e.message());
    assert_eq!(e.http_status(), Some(200));

    // 7 MiB inflated is within the limit: read and parsed (the pad is an unknown field).
    platform.inject(Fault::GzipBomb { decoded_bytes: 7 * 1024 * 1024 });
    client.health().unwrap();
    assert!(platform.requests().iter().rev().take(2).all(|r| r.gzipped));

    // A gzipped error answer is decoded before it is read as a status.
    platform.revoke(client.config().service_account_mrn().as_deref().unwrap());
    let e = ping(&client).unwrap_err();
    assert_eq!((e.code(), e.http_status()), (Code::RpcUnauthenticated, Some(401)));
    assert_eq!(e.message(), "request permission unauthenticated");
    assert!(platform.requests().last().unwrap().gzipped);
}

#[test]
fn same_origin_307_and_308_are_followed_with_the_body_and_a_fresh_bearer() {
    let platform = Platform::start(PlatformOptions { path_prefix: "/api".into(), ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let origin = format!("http://{}", platform.addr());
    // The client calls the origin without the prefix; the platform moved under /api.
    let (client, _) = registered_client(&platform, dir.path(), &origin);
    platform.clear_requests();
    platform.inject(Fault::Redirect { http_status: 307, location: "/api/Echo/Say".into() });
    let answer = client.call("Echo", "Say", &json!({"n": 1})).unwrap();
    assert_eq!(answer["n"], 1);
    platform.inject(Fault::Redirect { http_status: 308, location: format!("{origin}/api/Echo/Say") });
    client.call("Echo", "Say", &json!({"n": 2})).unwrap();

    let recorded = platform.requests();
    assert_eq!(
        recorded.iter().map(|r| (r.path.as_str(), r.status)).collect::<Vec<_>>(),
        [("/Echo/Say", 307), ("/api/Echo/Say", 200), ("/Echo/Say", 308), ("/api/Echo/Say", 200),]
    );
    for pair in recorded.chunks(2) {
        assert_eq!(pair[0].body, pair[1].body, "the same body again");
        assert_eq!(pair[0].header("content-type"), pair[1].header("content-type"));
        assert_ne!(bearer(&pair[0]), bearer(&pair[1]), "a bearer signed afresh for the second hop");
        assert_eq!(pair[1].auth, AuthOutcome::Accepted);
    }
}

#[test]
fn at_most_five_redirects_are_followed() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = registered_client(&platform, dir.path(), platform.url());
    let redirect = || Fault::Redirect { http_status: 307, location: "/AgentManager/PingPong".into() };

    platform.clear_requests();
    platform.inject(FaultSpec::new(redirect()).times(5));
    ping(&client).unwrap();
    assert_eq!(platform.requests().len(), 6, "five redirects, then the answer");

    platform.clear_requests();
    platform.inject(FaultSpec::new(redirect()).times(100));
    let e = ping(&client).unwrap_err();
    assert_eq!((e.code(), e.http_status()), (Code::ResponseInvalid, Some(307)), "{e:?}");
    assert!(e.message().contains("more than 5 redirects"), "{}", e.message());
    assert_eq!(platform.requests().len(), 6, "the sixth redirect is not followed");
    platform.clear_faults();
}

#[test]
fn a_redirect_to_another_origin_is_an_error_and_never_carries_authorization() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let elsewhere = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = registered_client(&platform, dir.path(), platform.url());
    let from = format!("{}/AgentManager/PingPong", platform.url());
    for target in [
        format!("{}/AgentManager/PingPong", elsewhere.url()),
        // the same port under another host name is another origin too
        format!("http://localhost:{}/AgentManager/PingPong", platform.addr().port()),
        format!("https://{}/AgentManager/PingPong", platform.addr()),
    ] {
        platform.clear_requests();
        platform.inject(Fault::Redirect { http_status: 307, location: target.clone() });
        let e = ping(&client).unwrap_err();
        assert_eq!((e.code(), e.http_status()), (Code::ResponseInvalid, Some(307)), "{e:?}");
        assert!(e.message().contains(&from) && e.message().contains(&target), "names both URLs: {}", e.message());
        assert!(e.message().contains("another origin"), "{}", e.message());
        assert_eq!(platform.requests().len(), 1, "not followed to {target}");
    }
    assert!(elsewhere.requests().is_empty(), "nothing reached the other origin");
}

#[test]
fn moved_found_and_see_other_are_errors_not_a_change_of_method() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = registered_client(&platform, dir.path(), platform.url());
    for status in [301, 302, 303] {
        platform.clear_requests();
        platform.inject(Fault::Redirect { http_status: status, location: "/AgentManager/PingPong".into() });
        let e = ping(&client).unwrap_err();
        assert_eq!((e.code(), e.http_status()), (Code::ResponseInvalid, Some(status)), "{e:?}");
        assert!(e.message().contains(&format!("HTTP {status} redirect to {}/AgentManager/PingPong", platform.url())));
        assert!(e.message().contains("only 307 and 308"), "{}", e.message());
        assert_eq!(platform.requests().len(), 1, "{status} not followed");
    }
    // A redirect without a Location says so.
    platform.inject(Fault::Redirect { http_status: 307, location: String::new() });
    let e = ping(&client).unwrap_err();
    assert!(e.message().contains("redirect without a Location"), "{}", e.message());
}

#[test]
fn the_platforms_307_to_the_clean_path_is_followed() {
    let platform = Platform::start(PlatformOptions { path_prefix: "/api".into(), ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // `//api` is not clean: Go's ServeMux (and the platform) answer 307 to `/api/...`.
    let unclean = format!("http://{}//api", platform.addr());
    let (client, _) = registered_client(&platform, dir.path(), &unclean);
    platform.clear_requests();
    let report = client.status().unwrap();
    assert!(report.client.authenticated, "{}", report.to_text());
    let recorded = platform.requests();
    // status sends both calls at once: each call's requests are in order, the two interleave
    for call in ["Health/Check", "AgentManager/PingPong"] {
        assert_eq!(
            recorded.iter().filter(|r| r.path.ends_with(call)).map(|r| (r.path.as_str(), r.status)).collect::<Vec<_>>(),
            [(format!("//api/{call}").as_str(), 307), (format!("/api/{call}").as_str(), 200)]
        );
    }
    assert_eq!(recorded.len(), 4);
}

#[test]
fn a_prefixed_endpoint_is_written_with_a_trailing_slash_and_still_works() {
    let platform = Platform::start(PlatformOptions { path_prefix: "/api/v1".into(), ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    token_login(&platform, &path, options());
    let written = format!("{}/", platform.url());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("api_endpoint: {written}\n")), "{text}");
    // cnspec resolves `./Service` against it, which keeps the prefix only with the slash.
    let base = reqwest::Url::parse(&written).unwrap();
    assert_eq!(base.join("./AgentManager").unwrap().path(), "/api/v1/AgentManager");

    // The same file works for libmondoo: one `/` between the prefix and the service.
    platform.clear_requests();
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();
    let report = client.status().unwrap();
    assert!(report.client.authenticated, "{}", report.to_text());
    assert_eq!(report.upstream.api.endpoint, platform.url());
    // (status sends both calls at once: in either order)
    let mut paths: Vec<String> = platform.requests().iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/api/v1/AgentManager/PingPong", "/api/v1/Health/Check"]);

    // Without a prefix nothing changes: no trailing slash.
    let plain = Platform::start(PlatformOptions::default()).unwrap();
    let plain_path = dir.path().join("plain.yml");
    token_login(&plain, &plain_path, options());
    let text = std::fs::read_to_string(&plain_path).unwrap();
    assert!(text.contains(&format!("api_endpoint: {}\n", plain.url())), "{text}");
}
