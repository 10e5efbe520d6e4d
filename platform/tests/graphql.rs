//! The Platform API (protocol section 7) over plain HTTP with reqwest: GraphQL at
//! `{url}/query`, authenticated with a service-account bearer from `mondoo::Signer` or
//! with an API token the platform minted.

mod common;

use std::collections::BTreeSet;

use common::signer_of;
use mondoo_platform::{AuthOutcome, CredentialKind, Platform, PlatformOptions, RecordedRequest, UNAUTHENTICATED};
use serde_json::{json, Value};

const SPACE: &str = "//captain.api.mondoo.app/spaces/graphql-space-1";
const OTHER_SPACE: &str = "//captain.api.mondoo.app/spaces/graphql-space-2";

const ASSETS_QUERY: &str = "query Assets($space: String!, $first: Int, $after: String) {
  assets(spaceMrn: $space, first: $first, after: $after) {
    totalCount
    edges { cursor node { mrn name platform annotations { key value } } }
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
  }
}";

/// A platform under a path prefix (the endpoint must keep it), with a service account in
/// `SPACE` and one in `OTHER_SPACE`; returns the platform and the first account's signer.
fn platform() -> (Platform, mondoo::Signer) {
    let platform = Platform::start(PlatformOptions { path_prefix: "/api".into(), ..Default::default() }).unwrap();
    let signer = signer_of(&platform.create_service_account(SPACE).unwrap());
    platform.create_service_account(OTHER_SPACE).unwrap();
    (platform, signer)
}

struct Answer {
    status: u16,
    body: Value,
}

fn post(platform: &Platform, bearer: Option<&str>, body: &[u8]) -> Answer {
    let mut request = reqwest::blocking::Client::new()
        .post(format!("{}/query", platform.url()))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(bearer) = bearer {
        request = request.header("Authorization", format!("Bearer {bearer}"));
    }
    let response = request.send().expect("the platform answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    Answer { status, body }
}

fn query(platform: &Platform, bearer: &str, query: &str, variables: Value) -> Answer {
    post(platform, Some(bearer), json!({"query": query, "variables": variables}).to_string().as_bytes())
}

/// `data` of a 200 answer without errors.
fn data(answer: Answer) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.get("errors").is_none(), "unexpected errors: {}", answer.body);
    answer.body["data"].clone()
}

fn error_codes(answer: &Answer) -> Vec<(String, String)> {
    let errors = answer.body["errors"].as_array().unwrap_or_else(|| panic!("no errors in {}", answer.body));
    errors
        .iter()
        .map(|e| {
            (
                e["path"][0].as_str().unwrap_or("").to_string(),
                e["extensions"]["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn last_query(platform: &Platform) -> RecordedRequest {
    let request = platform.requests().pop().expect("a recorded request");
    assert_eq!((request.service.as_str(), request.method.as_str()), ("GraphQL", "query"));
    request
}

#[test]
fn service_account_bearer_reads_viewer_space_and_assets_with_variables() {
    let (platform, signer) = platform();
    platform.add_assets(SPACE, 3);
    platform.add_assets(OTHER_SPACE, 2);
    let bearer = signer.api_bearer().unwrap();
    let got = data(query(
        &platform,
        bearer.token(),
        "query($space: String!) { viewer { mrn name } space(mrn: $space) { mrn name }
           assets(spaceMrn: $space, first: 2) { totalCount edges { node { name platform } } } }",
        json!({"space": SPACE}),
    ));
    let name = signer.mrn().rsplit('/').next().unwrap();
    assert_eq!(got["viewer"], json!({"mrn": signer.mrn(), "name": name}));
    assert_eq!(got["space"], json!({"mrn": SPACE, "name": "graphql-space-1"}));
    assert_eq!(got["assets"]["totalCount"], 3, "only the space's own assets");
    assert_eq!(
        got["assets"]["edges"],
        json!([{"node": {"name": "asset-0001", "platform": "ubuntu"}}, {"node": {"name": "asset-0002", "platform": "windows"}}])
    );

    let recorded = last_query(&platform);
    assert_eq!(recorded.path, "/api/query");
    assert_eq!(recorded.auth, AuthOutcome::Accepted);
    assert_eq!(recorded.subject.as_deref(), Some(signer.mrn()));
    let credential = recorded.credential.expect("the credential is recorded");
    assert_eq!(credential.kind, CredentialKind::ServiceAccount);
    assert_eq!(credential.subject, signer.mrn());
    assert_eq!(credential.issued_at, Some(bearer.expires_at() - 60));
    assert_eq!(credential.bearer_sha256, mondoo::__private::signer::chash(bearer.token().as_bytes()));
}

#[test]
fn one_bearer_serves_many_requests_and_the_record_counts_distinct_bearers() {
    let (platform, signer) = platform();
    let now = platform.now();
    let first = signer.api_bearer_at(now).unwrap();
    let second = signer.api_bearer_at(now - 1).unwrap();
    for bearer in [&first, &first, &first, &second] {
        data(query(&platform, bearer.token(), "{ viewer { mrn } }", json!({})));
    }
    let hashes: Vec<String> =
        platform.requests().into_iter().map(|r| r.credential.expect("recorded").bearer_sha256).collect();
    assert_eq!(hashes.len(), 4);
    assert_eq!(hashes.iter().collect::<BTreeSet<_>>().len(), 2, "two bearers = two signatures");
    assert!(hashes.iter().all(|h| !h.contains(first.token()) && h.len() == 64));
}

#[test]
fn api_token_authenticates_until_revoked() {
    let (platform, _) = platform();
    platform.add_assets(SPACE, 1);
    let token = platform.mint_api_token(SPACE);
    assert!(!token.contains('.') && token.len() >= 40, "opaque and random, not a JWT");
    let got = data(query(
        &platform,
        &token,
        "query($s: String!) { viewer { mrn } assets(spaceMrn: $s) { totalCount } }",
        json!({"s": SPACE}),
    ));
    let token_mrn = got["viewer"]["mrn"].as_str().unwrap().to_string();
    assert!(token_mrn.starts_with("//captain.api.mondoo.app/spaces/graphql-space-1/apitokens/"), "{token_mrn}");
    assert_eq!(got["assets"]["totalCount"], 1);
    let credential = last_query(&platform).credential.unwrap();
    assert_eq!(
        (credential.kind, credential.subject.as_str(), credential.issued_at),
        (CredentialKind::ApiToken, token_mrn.as_str(), None)
    );
    assert_eq!(credential.bearer_sha256, mondoo::__private::signer::chash(token.as_bytes()));

    assert!(platform.revoke_api_token(&token));
    assert_unauthenticated(&platform, Some(&token), "revoked");
    assert!(!platform.revoke_api_token("no-such-token"));
}

#[test]
fn errors_come_with_codes_paths_and_partial_data() {
    let (platform, signer) = platform();
    platform.add_assets(SPACE, 2);
    let bearer = signer.api_bearer().unwrap();
    let ask = |q: &str, variables: Value| query(&platform, bearer.token(), q, variables);

    // Unknown space: null and NOT_FOUND; another space: PERMISSION_DENIED; the assets in
    // the same query still come back (partial data).
    let answer = ask(
        "query($mine: String!, $theirs: String!) { unknown: space(mrn: \"//captain.api.mondoo.app/spaces/nope\") { mrn }
           space(mrn: $theirs) { mrn } assets(spaceMrn: $mine) { totalCount } }",
        json!({"mine": SPACE, "theirs": OTHER_SPACE}),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["data"], json!({"unknown": null, "space": null, "assets": {"totalCount": 2}}));
    let mut codes = error_codes(&answer);
    codes.sort();
    assert_eq!(codes, [("space".to_string(), "PERMISSION_DENIED".to_string()), ("unknown".into(), "NOT_FOUND".into())]);
    assert!(answer.body["errors"][0]["locations"].is_array(), "{}", answer.body);

    // Another space's assets are refused as a whole (the field is not nullable).
    let answer = ask(ASSETS_QUERY, json!({"space": OTHER_SPACE}));
    assert_eq!(answer.body["data"], Value::Null);
    assert_eq!(error_codes(&answer), [("assets".to_string(), "PERMISSION_DENIED".to_string())]);

    // Bad paging arguments.
    let answer = ask(ASSETS_QUERY, json!({"space": SPACE, "first": 101}));
    assert_eq!(error_codes(&answer), [("assets".to_string(), "BAD_USER_INPUT".to_string())]);
    let answer = ask(ASSETS_QUERY, json!({"space": SPACE, "after": "not a cursor"}));
    assert_eq!(error_codes(&answer), [("assets".to_string(), "BAD_USER_INPUT".to_string())]);

    // A query that does not parse or names no such field: 200 with errors, no data.
    for bad in ["{ viewer { mrn }", "{ nosuchfield }"] {
        let answer = ask(bad, json!({}));
        assert_eq!(answer.status, 200, "{bad}");
        assert!(answer.body["errors"][0]["message"].is_string(), "{bad}: {}", answer.body);
        assert!(answer.body["data"].is_null(), "{bad}: {}", answer.body);
    }

    // A body that is not a GraphQL request at all: 400 after authentication.
    for body in [&b"{not json"[..], b"[1,2]"] {
        let answer = post(&platform, Some(bearer.token()), body);
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(answer.body["code"], 3);
        assert_eq!(last_query(&platform).auth, AuthOutcome::Accepted);
    }
}

#[test]
fn paging_walks_every_asset_once_in_order() {
    let (platform, signer) = platform();
    let seeded: Vec<String> = platform.add_assets(SPACE, 23).into_iter().map(|a| a.mrn).collect();
    platform.add_assets(OTHER_SPACE, 5);
    let bearer = signer.api_bearer().unwrap();
    let (mut after, mut seen, mut pages) = (Value::Null, Vec::new(), 0);
    loop {
        let got =
            data(query(&platform, bearer.token(), ASSETS_QUERY, json!({"space": SPACE, "first": 5, "after": after})));
        let connection = &got["assets"];
        assert_eq!(connection["totalCount"], 23);
        let edges = connection["edges"].as_array().unwrap();
        let info = &connection["pageInfo"];
        assert_eq!(info["hasPreviousPage"], pages > 0);
        assert_eq!(info["startCursor"], edges[0]["cursor"]);
        assert_eq!(info["endCursor"], edges.last().unwrap()["cursor"]);
        seen.extend(edges.iter().map(|e| e["node"]["mrn"].as_str().unwrap().to_string()));
        pages += 1;
        if info["hasNextPage"] == false {
            break;
        }
        assert_eq!(edges.len(), 5);
        after = info["endCursor"].clone();
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, seeded, "every asset once, in the order added");

    // After the last cursor: an empty page without cursors.
    let got = data(query(
        &platform,
        bearer.token(),
        ASSETS_QUERY,
        json!({"space": SPACE, "after": after_last(&platform, &bearer)}),
    ));
    assert_eq!(got["assets"]["edges"], json!([]));
    assert_eq!(got["assets"]["pageInfo"]["endCursor"], Value::Null);
    assert_eq!(got["assets"]["pageInfo"]["hasNextPage"], false);
}

/// The cursor of the space's last asset.
fn after_last(platform: &Platform, bearer: &mondoo::ApiBearer) -> Value {
    let got = data(query(platform, bearer.token(), ASSETS_QUERY, json!({"space": SPACE, "first": 100})));
    got["assets"]["pageInfo"]["endCursor"].clone()
}

#[test]
fn mutation_replaces_annotations() {
    let (platform, signer) = platform();
    let asset = platform.add_assets(SPACE, 1).remove(0);
    let bearer = signer.api_bearer().unwrap();
    let mutation = "mutation($input: UpdateAssetAnnotationsInput!) {
        updateAssetAnnotations(input: $input) { mrn name annotations { key value } } }";
    let input =
        json!({"mrn": asset.mrn, "annotations": [{"key": "team", "value": "sre"}, {"key": "env", "value": "prod"}]});
    let got = data(query(&platform, bearer.token(), mutation, json!({"input": input})));
    assert_eq!(
        got["updateAssetAnnotations"],
        json!({"mrn": asset.mrn, "name": "asset-0001", "annotations": [{"key": "env", "value": "prod"}, {"key": "team", "value": "sre"}]})
    );
    let held = &platform.assets(SPACE)[0];
    assert_eq!(held.annotations.get("team").map(String::as_str), Some("sre"));

    // Replaced, not merged; and read back through the connection.
    let input = json!({"mrn": asset.mrn, "annotations": [{"key": "owner", "value": "me"}]});
    data(query(&platform, bearer.token(), mutation, json!({"input": input})));
    let got = data(query(&platform, bearer.token(), ASSETS_QUERY, json!({"space": SPACE})));
    assert_eq!(got["assets"]["edges"][0]["node"]["annotations"], json!([{"key": "owner", "value": "me"}]));

    // An unknown asset, and another space's asset.
    let input = json!({"mrn": "//assets.api.mondoo.app/spaces/x/assets/none", "annotations": []});
    let answer = query(&platform, bearer.token(), mutation, json!({"input": input}));
    assert_eq!(error_codes(&answer), [("updateAssetAnnotations".to_string(), "NOT_FOUND".to_string())]);
    let theirs = platform.add_assets(OTHER_SPACE, 1).remove(0);
    let input = json!({"mrn": theirs.mrn, "annotations": [{"key": "k", "value": "v"}]});
    let answer = query(&platform, bearer.token(), mutation, json!({"input": input}));
    assert_eq!(error_codes(&answer), [("updateAssetAnnotations".to_string(), "PERMISSION_DENIED".to_string())]);
    assert!(platform.assets(OTHER_SPACE)[0].annotations.is_empty());
}

/// 401 with exactly the platform's body, and a recorded reason (never sent) containing `why`.
fn assert_unauthenticated(platform: &Platform, bearer: Option<&str>, why: &str) {
    let answer = post(platform, bearer, br#"{"query": "{ viewer { mrn } }"}"#);
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body, json!({"code": 16, "message": UNAUTHENTICATED}));
    let recorded = last_query(platform);
    assert!(recorded.credential.is_none());
    match recorded.auth {
        AuthOutcome::Rejected(reason) => assert!(reason.contains(why), "expected {why:?} in {reason:?}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn everything_else_is_401() {
    let (platform, signer) = platform();
    let now = platform.now();
    assert_unauthenticated(&platform, None, "no Authorization");
    assert_unauthenticated(&platform, Some("mondoo-api-unknown"), "neither");

    // Signed with another account's key under this account's mrn.
    let other_key = platform.create_service_account(OTHER_SPACE).unwrap()["private_key"].as_str().unwrap().to_string();
    let forged = mondoo::Signer::from_pem(signer.mrn(), &other_key, None).unwrap();
    assert_unauthenticated(&platform, Some(forged.api_bearer().unwrap().token()), "signature");

    // Expired beyond the minute of leeway, on the platform clock.
    assert_unauthenticated(&platform, Some(signer.api_bearer_at(now - 200).unwrap().token()), "expired");
    platform.set_clock_offset(3600);
    assert_unauthenticated(&platform, Some(signer.api_bearer_at(now).unwrap().token()), "expired");
    platform.set_clock_offset(0);

    // A request bearer bound to another body (section 4's chash) is refused; one bound to
    // this very body is a valid signed bearer and accepted.
    let body = br#"{"query": "{ viewer { mrn } }"}"#;
    let answer = post(&platform, Some(&signer.sign(b"another body").unwrap()), body);
    assert_eq!(answer.status, 401);
    let answer = post(&platform, Some(&signer.sign(body).unwrap()), body);
    assert_eq!(answer.status, 200, "{}", answer.body);

    // A revoked account: the bearer that worked a moment ago no longer does.
    let bearer = signer.api_bearer().unwrap();
    data(query(&platform, bearer.token(), "{ viewer { mrn } }", json!({})));
    assert!(platform.revoke(signer.mrn()));
    assert_unauthenticated(&platform, Some(bearer.token()), "revoked");
}

#[test]
fn admin_routes_seed_assets_mint_tokens_and_list_credentials() {
    let (platform, _) = platform();
    let base = platform.url().trim_end_matches("/api").to_string();
    let admin = |what: &str, body: Value| -> (u16, Value) {
        let response = reqwest::blocking::Client::new()
            .post(format!("{base}/_admin/{what}"))
            .body(body.to_string())
            .send()
            .unwrap();
        (response.status().as_u16(), serde_json::from_slice(&response.bytes().unwrap()).unwrap())
    };
    let (status, assets) = admin("assets", json!({"space_mrn": SPACE, "count": 4}));
    assert_eq!(status, 200);
    assert_eq!(assets.as_array().unwrap().len(), 4);
    assert_eq!(assets[3]["name"], "asset-0004");
    let (_, assets) = admin("assets", json!({"space_mrn": SPACE, "count": 1}));
    assert_eq!(assets.as_array().unwrap().len(), 5, "adds to the space's assets");

    let (status, minted) = admin("api-token", json!({"space_mrn": SPACE}));
    assert_eq!(status, 200);
    let token = minted["token"].as_str().unwrap();
    let got = data(query(&platform, token, "{ viewer { mrn } }", json!({})));
    assert_eq!(got["viewer"]["mrn"], minted["mrn"]);

    let (_, requests) = admin("requests", json!({}));
    let last = requests.as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["service"].as_str(), last["method"].as_str()), (Some("GraphQL"), Some("query")));
    assert_eq!(last["credential"]["kind"], "api-token");
    assert_eq!(last["credential"]["subject"], minted["mrn"]);
    assert_eq!(last["credential"]["bearer_sha256"], mondoo::__private::signer::chash(token.as_bytes()));

    let (status, _) = admin("revoke-api-token", json!({"mrn": minted["mrn"]}));
    assert_eq!(status, 200);
    assert_unauthenticated(&platform, Some(token), "revoked");
    let (status, _) = admin("revoke-api-token", json!({"token": "nope"}));
    assert_eq!(status, 404);

    // reset forgets assets and tokens.
    platform.reset().unwrap();
    assert!(platform.assets(SPACE).is_empty());
    assert_unauthenticated(&platform, Some(token), "neither");
}

#[test]
fn readme_lists_the_schema() {
    let readme = include_str!("../README.md");
    let sdl = mondoo_platform::graphql::schema_sdl();
    let start = readme.find("```graphql\n").expect("platform/README.md has a ```graphql block") + "```graphql\n".len();
    let end = start + readme[start..].find("```").unwrap();
    assert_eq!(readme[start..end].trim(), sdl.trim(), "update platform/README.md with schema_sdl()'s output");
}

#[test]
fn only_post_and_faults_apply_to_graphql_query() {
    let (platform, signer) = platform();
    let bearer = signer.api_bearer().unwrap();
    let response = reqwest::blocking::Client::new()
        .get(format!("{}/query", platform.url()))
        .header("Authorization", format!("Bearer {}", bearer.token()))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);

    platform.inject(mondoo_platform::FaultSpec::new(mondoo_platform::Fault::Aborted).only("GraphQL/query"));
    let answer = query(&platform, bearer.token(), "{ viewer { mrn } }", json!({}));
    assert_eq!((answer.status, answer.body["code"].as_u64()), (409, Some(10)), "{}", answer.body);
    assert!(last_query(&platform).fault.is_some());
    data(query(&platform, bearer.token(), "{ viewer { mrn } }", json!({})));
}
