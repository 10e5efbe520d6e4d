//! The platform and the proxy as seen by reqwest, the HTTP client libmondoo uses.

use mondoo_platform::{ConnectProxy, Fault, Platform, PlatformOptions};

fn client(platform: &Platform, proxy: Option<&ConnectProxy>) -> reqwest::blocking::Client {
    let mut builder = reqwest::blocking::Client::builder().no_proxy();
    if let Some(pem) = platform.ca_pem() {
        builder = builder.tls_certs_merge([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()]);
    }
    if let Some(p) = proxy {
        builder = builder.proxy(reqwest::Proxy::all(p.url()).unwrap());
    }
    builder.build().unwrap()
}

fn health(client: &reqwest::blocking::Client, platform: &Platform) -> reqwest::Result<reqwest::blocking::Response> {
    client
        .post(format!("{}/Health/Check", platform.url()))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body("{}")
        .send()
}

#[test]
fn https_with_the_extra_ca_reuses_one_connection() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    let client = client(&platform, None);
    for _ in 0..3 {
        assert_eq!(health(&client, &platform).unwrap().status(), 200);
    }
    let peers: Vec<_> = platform.requests().iter().map(|r| r.peer).collect();
    assert_eq!(peers.len(), 3);
    assert!(peers.iter().all(|p| *p == peers[0]), "keep-alive: {peers:?}");
}

#[test]
fn https_through_the_proxy_is_a_tunnel_and_http_is_forwarded() {
    let tls_platform = Platform::start(PlatformOptions::tls()).unwrap();
    let proxy = ConnectProxy::start(false).unwrap();
    assert_eq!(health(&client(&tls_platform, Some(&proxy)), &tls_platform).unwrap().status(), 200);
    assert_eq!((proxy.tunnels(), proxy.forwarded()), (1, 0));

    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let http_client = client(&platform, Some(&proxy));
    assert_eq!(health(&http_client, &platform).unwrap().status(), 200);
    assert_eq!(health(&http_client, &platform).unwrap().status(), 200);
    assert_eq!((proxy.tunnels(), proxy.forwarded()), (1, 2));
}

#[test]
fn refusing_proxy_fails_the_request() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    let proxy = ConnectProxy::start(true).unwrap();
    assert!(health(&client(&platform, Some(&proxy)), &platform).is_err());
    assert_eq!(proxy.refused(), 1);
    assert!(platform.requests().is_empty());
}

#[test]
fn broken_answers_are_errors_for_reqwest() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let client = client(&platform, None);
    platform.inject(Fault::TruncatedJson);
    assert!(health(&client, &platform).and_then(|r| r.bytes()).is_err());
    platform.inject(Fault::Reset);
    assert!(health(&client, &platform).and_then(|r| r.bytes()).is_err());
    assert_eq!(health(&client, &platform).unwrap().status(), 200);
}
