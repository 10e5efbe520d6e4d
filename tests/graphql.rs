//! The Platform API client (protocol section 7) against the local platform: both
//! credential kinds, variables, `errors` and partial data, the pager, a revoked account,
//! the bearer cache (signatures counted), TLS and the proxy.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{load_at, options};
use futures_util::StreamExt;
use mondoo::blocking::Client;
use mondoo::{ClientOptions, Code, Config};
use mondoo_platform::{CredentialKind, Platform, PlatformOptions};
use serde_json::{json, Value};

const SPACE: &str = "//captain.api.mondoo.app/spaces/graphql-client-1";

const ASSETS_PAGE: &str = "query($space: String!, $first: Int, $after: String) {
  assets(spaceMrn: $space, first: $first, after: $after) {
    totalCount edges { node { name } } pageInfo { endCursor hasNextPage } } }";

/// A client over a fresh service account in `SPACE` written as a config file.
fn account_client(platform: &Platform, options: ClientOptions) -> (Client, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.json");
    let creds = platform.create_service_account(SPACE).unwrap();
    std::fs::write(&path, creds.to_string()).unwrap();
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options).unwrap();
    (client, creds["mrn"].as_str().unwrap().to_string(), dir)
}

fn graphql_requests(platform: &Platform) -> Vec<mondoo_platform::RecordedRequest> {
    platform.requests().into_iter().filter(|r| r.service == "GraphQL").collect()
}

fn distinct_bearers(platform: &Platform) -> usize {
    graphql_requests(platform)
        .into_iter()
        .filter_map(|r| r.credential.map(|c| c.bearer_sha256))
        .collect::<BTreeSet<_>>()
        .len()
}

#[test]
fn service_account_query_with_variables_reuses_one_bearer() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.add_assets(SPACE, 2);
    let (client, mrn, _dir) = account_client(&platform, options());
    for _ in 0..3 {
        let data = client
            .graphql("query($s: String!) { viewer { mrn } space(mrn: $s) { mrn } }", Some(json!({"s": SPACE})))
            .unwrap()
            .into_data()
            .unwrap();
        assert_eq!(data["viewer"]["mrn"], mrn.as_str());
        assert_eq!(data["space"]["mrn"], SPACE);
    }
    let recorded = graphql_requests(&platform);
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|r| r.path == "/query"));
    assert!(recorded.iter().all(|r| r.credential.as_ref().unwrap().kind == CredentialKind::ServiceAccount));
    assert_eq!(distinct_bearers(&platform), 1, "one bearer for three calls within its window");
    assert_eq!(mondoo::__private::graphql::api_bearer_signatures(client.as_async()), 1);
    // Handles share the cache.
    client.with_timeout(Duration::from_secs(5)).graphql("{ viewer { mrn } }", None).unwrap();
    assert_eq!(mondoo::__private::graphql::api_bearer_signatures(client.as_async()), 1);
}

#[test]
fn the_bearer_is_renewed_within_its_refresh_margin() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    // a margin as long as the bearer's lifetime: every bearer is already due for renewal
    let (client, _, _dir) =
        account_client(&platform, options().with_api_bearer_refresh_margin(Duration::from_secs(60)));
    for _ in 0..3 {
        client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
    }
    assert_eq!(mondoo::__private::graphql::api_bearer_signatures(client.as_async()), 3);
    assert_eq!(graphql_requests(&platform).len(), 3);
}

#[test]
fn an_api_token_from_the_environment_wins_over_an_explicit_config() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let token = platform.mint_api_token(SPACE);
    let env = BTreeMap::from([("MONDOO_API_TOKEN".to_string(), token.clone())]);
    let (client, _, _dir) = account_client(&platform, options().with_env(env));
    let data = client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
    assert!(data["viewer"]["mrn"].is_string());
    let recorded = graphql_requests(&platform);
    assert_eq!(recorded[0].credential.as_ref().unwrap().kind, CredentialKind::ApiToken);
    assert_eq!(mondoo::__private::graphql::api_bearer_signatures(client.as_async()), 0);

    // An explicit API token without a config.
    let client = Client::new(
        Config::empty_at("/nonexistent/mondoo.yml", mondoo::ConfigSource::None),
        options().with_api_endpoint(platform.url()).with_api_token(token),
    )
    .unwrap();
    client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
}

#[test]
fn errors_and_partial_data_are_typed() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let (client, _, _dir) = account_client(&platform, options());
    let other = "//captain.api.mondoo.app/spaces/not-mine";
    let answer = client
        .graphql("query($s: String!) { viewer { mrn } space(mrn: $s) { mrn } }", Some(json!({"s": other})))
        .unwrap();
    assert!(answer.has_errors(), "{:?}", answer);
    assert_eq!(answer.errors[0].path, vec![json!("space")]);
    assert!(!answer.errors[0].locations.is_empty());
    let e = answer.clone().into_data().unwrap_err();
    assert_eq!(e.code(), Code::GraphqlErrors);
    assert_eq!(e.graphql_response(), Some(&answer), "the error carries the whole answer");
    let partial = answer.into_partial_data().unwrap();
    assert!(partial["viewer"]["mrn"].is_string() && partial["space"].is_null(), "{partial}");

    let syntax = client.graphql("{ viewer { ", None).unwrap();
    assert!(syntax.has_errors() && syntax.data.is_none());
}

#[test]
fn typed_queries_decode_into_structs() {
    #[derive(serde::Serialize)]
    struct Vars<'a> {
        space: &'a str,
        first: i32,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        assets: Assets,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Assets {
        total_count: u64,
    }
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.add_assets(SPACE, 4);
    let (client, _, _dir) = account_client(&platform, options());
    let data: Data = client.graphql_typed(ASSETS_PAGE, &Vars { space: SPACE, first: 1 }).unwrap();
    assert_eq!(data.assets.total_count, 4);
}

#[test]
fn the_pager_walks_every_page_and_stops_after_the_last() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.add_assets(SPACE, 9);
    let (client, _, _dir) = account_client(&platform, options());
    let pages: Vec<Value> = client
        .graphql_pages(ASSETS_PAGE, Some(json!({"space": SPACE, "first": 2})), "assets", 10)
        .unwrap()
        .collect::<mondoo::Result<_>>()
        .unwrap();
    assert_eq!(pages.len(), 5);
    assert_eq!(pages.last().unwrap()["pageInfo"]["hasNextPage"], false);
    let names: Vec<&str> = pages
        .iter()
        .flat_map(|p| p["edges"].as_array().unwrap())
        .map(|e| e["node"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 9);
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 9, "no page repeated");
    assert_eq!(graphql_requests(&platform).len(), 5);

    // A limit below the page count is an error after the limit, not a silent truncation.
    let limited: Vec<mondoo::Result<Value>> =
        client.graphql_pages(ASSETS_PAGE, Some(json!({"space": SPACE, "first": 2})), "assets", 3).unwrap().collect();
    assert_eq!(limited.len(), 4);
    assert!(limited[..3].iter().all(Result::is_ok));
    assert_eq!(limited[3].as_ref().unwrap_err().code(), Code::InvalidArgument);
}

#[test]
fn a_page_with_errors_ends_the_pager_with_the_whole_answer() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let (client, _, _dir) = account_client(&platform, options());
    let not_mine = "//captain.api.mondoo.app/spaces/not-mine";
    let pages: Vec<mondoo::Result<Value>> = client
        .graphql_pages(ASSETS_PAGE, Some(json!({"space": not_mine, "first": 2})), "assets", 10)
        .unwrap()
        .collect();
    assert_eq!(pages.len(), 1, "an error ends the pages");
    let e = pages[0].as_ref().unwrap_err();
    assert_eq!(e.code(), Code::GraphqlErrors);
    let answer = e.graphql_response().expect("the pager's error carries the answer");
    assert_eq!(answer.errors[0].path, vec![json!("assets")]);
    assert!(e.message().contains(&answer.errors[0].message), "{e}");
}

#[test]
fn the_async_pager_is_a_stream() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.add_assets(SPACE, 7);
    let (client, _, _dir) = account_client(&platform, options());
    let config = client.config();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let pages = runtime.block_on(async {
        let client = mondoo::Client::new(config, options()).unwrap();
        let stream =
            client.graphql_pages(ASSETS_PAGE, Some(json!({"space": SPACE, "first": 2})), "assets", 10).unwrap();
        stream.collect::<Vec<_>>().await
    });
    assert_eq!(pages.len(), 4);
    assert!(pages.iter().all(Result::is_ok));
}

#[test]
fn a_revoked_service_account_gets_401() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let (client, mrn, _dir) = account_client(&platform, options());
    client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
    assert!(platform.revoke(&mrn));
    let e = client.graphql("{ viewer { mrn } }", None).unwrap_err();
    assert_eq!(e.code(), Code::RpcUnauthenticated, "{e}");
    assert_eq!(e.http_status(), Some(401));
}

#[test]
fn tls_and_the_proxy_apply_as_to_every_call() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    let ca = platform.ca_file().unwrap().to_path_buf();
    let (client, _, _dir) = account_client(&platform, options().with_ca_file(&ca));
    assert!(client.api_endpoint().starts_with("https://"));
    client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();

    // Without the platform's CA the handshake fails.
    let (untrusting, _, _dir2) = account_client(&platform, options());
    assert_eq!(untrusting.graphql("{ viewer { mrn } }", None).unwrap_err().code(), Code::Tls);
}

#[test]
fn the_endpoint_override_gets_query_appended_once() {
    let platform = Platform::start(PlatformOptions { path_prefix: "/api".into(), ..Default::default() }).unwrap();
    let (client, _, _dir) = account_client(&platform, options().with_api_endpoint(format!("{}/query", platform.url())));
    client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
    let env = BTreeMap::from([("MONDOO_API_ENDPOINT".to_string(), platform.url().to_string())]);
    let (client, _, _dir2) = account_client(&platform, options().with_env(env));
    client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
    assert!(graphql_requests(&platform).iter().all(|r| r.path == "/api/query"));
}

#[test]
fn the_proxy_carries_the_query() {
    let platform = Platform::start(PlatformOptions { proxy: true, ..PlatformOptions::tls() }).unwrap();
    let proxy = platform.proxy().unwrap();
    let ca = platform.ca_file().unwrap().to_path_buf();
    let (client, _, _dir) = account_client(&platform, options().with_ca_file(&ca).with_api_proxy(proxy.url()));
    client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
    assert!(proxy.tunnels() >= 1, "the query went through the proxy");
}

#[test]
fn platform_api_requests_name_the_graphql_client_and_rpc_calls_keep_theirs() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let (client, _mrn, _dir) = account_client(&platform, options());
    client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
    client.call("AgentManager", "PingPong", &json!({})).unwrap();
    let graphql = graphql_requests(&platform);
    assert_eq!(graphql.len(), 1);
    let expected = format!("mondoo-graphql-client/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(graphql[0].header("user-agent"), Some(expected.as_str()));
    let ping = platform.requests().into_iter().find(|r| r.method == "PingPong").unwrap();
    let rpc_agent = ping.header("user-agent").unwrap().to_string();
    assert!(rpc_agent.starts_with(&format!("libmondoo/{} ", env!("CARGO_PKG_VERSION"))), "{rpc_agent}");
}
