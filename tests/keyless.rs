//! Keyless credentials wired into the client (protocol 8): an `auth.method: ssh` config
//! signs with a real OpenSSH ssh-agent's keys, a WIF document exchanges an identity token
//! of the platform's local OIDC issuer; the exchanged account lives in memory, is shared
//! by every call (one exchange for many concurrent calls) and renewed before it expires.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use mondoo::{AuthMethod, Client, ClientOptions, Code, Config, LoadOptions};
use mondoo_platform::{Platform, PlatformOptions, FIXTURE_SPACE};
use serde_json::json;

const IDENTITY: &str = "//captain.api.mondoo.app/users/ssh-user";
const AUDIENCE: &str = "mondoo-keyless-audience";
const WORKLOAD: &str = "repo:mondoohq/libmondoo:ref:refs/heads/main";

use mondoo_platform::ssh_agent::SshAgent as Agent;

fn start() -> Platform {
    Platform::start(PlatformOptions::with_fixtures()).expect("platform starts")
}

fn ssh_config_text(platform: &Platform) -> String {
    format!("auth:\n  method: ssh\nmrn: {IDENTITY}\nspace_mrn: {FIXTURE_SPACE}\napi_endpoint: {}\n", platform.url())
}

/// The config loaded from a file (the explicit-path source).
fn load_file(dir: &Path, text: &str) -> Config {
    let path = dir.join("mondoo.yml");
    std::fs::write(&path, text).unwrap();
    Config::load_with(&LoadOptions::new().with_path(&path).with_env(BTreeMap::new())).unwrap()
}

fn client(config: Config, env: BTreeMap<String, String>) -> Client {
    Client::new(config, ClientOptions::new().with_env(env)).unwrap()
}

fn exchanges(platform: &Platform, method: &str) -> usize {
    platform.requests().iter().filter(|r| r.method == method && r.status == 200).count()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap()
}

#[test]
fn ssh_config_calls_share_one_exchange_and_status_reports_it() {
    let platform = start();
    let agent = Agent::start();
    let ed25519 = agent.add_key("ed25519");
    agent.add_key("ecdsa");
    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &ed25519).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = load_file(dir.path(), &ssh_config_text(&platform));
    assert_eq!(config.auth_method(), Some(AuthMethod::Ssh));
    assert!(config.needs_exchange());
    let before = std::fs::read_to_string(dir.path().join("mondoo.yml")).unwrap();
    let client = client(config, agent.env());

    const CALLS: usize = 16;
    runtime().block_on(async {
        let calls = (0..CALLS).map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call("AgentManager", "PingPong", &json!({})).await })
        });
        for call in futures_join(calls).await {
            call.expect("the exchanged account's call succeeds");
        }
    });
    assert_eq!(exchanges(&platform, "ExchangeSSH"), 1, "{CALLS} concurrent calls, one exchange");
    let accounts: Vec<String> = platform
        .requests()
        .iter()
        .filter(|r| r.method == "PingPong")
        .map(|r| r.subject.clone().expect("accepted"))
        .collect();
    assert_eq!(accounts.len(), CALLS);
    assert!(accounts.iter().all(|a| *a == accounts[0]), "every call used the one exchanged account");

    let blocking = mondoo::blocking::Client::new(client.config(), ClientOptions::new().with_env(agent.env())).unwrap();
    let report = runtime().block_on(client.status()).unwrap();
    assert!(report.client.registered && report.client.authenticated, "{report}");
    assert_eq!(report.client.auth_method.as_deref(), Some("ssh"));
    assert!(report.client.credential_expires.is_some());
    assert_eq!(report.client.service_account_mrn.as_deref(), Some(accounts[0].as_str()));
    let text = report.to_text();
    assert!(text.contains("Auth Method:\t\tssh") && text.contains("Credential Expires:"), "{text}");
    assert_eq!(report.to_json()["client"]["authMethod"], "ssh");

    // "exchange now": a new account, reported without its key
    let exchanged = blocking.exchange().unwrap();
    assert_eq!(exchanged.method, AuthMethod::Ssh);
    assert_eq!(exchanged.scope_mrn.as_deref(), Some(FIXTURE_SPACE));
    assert!(exchanged.expires_at.is_some());
    let shown = format!("{exchanged:?} {}", serde_json::to_string(&exchanged).unwrap());
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert_eq!(blocking.call("AgentManager", "PingPong", &json!({})).unwrap(), json!({}));
    // the config file is never written, and nothing in output holds a key
    assert_eq!(std::fs::read_to_string(dir.path().join("mondoo.yml")).unwrap(), before);
    for shown in [format!("{client:?}"), text, report.to_json().to_string()] {
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }
    // a registration says the account lives in memory only, and writes nothing
    let e = blocking.register(None, &mondoo::RegisterOptions::new()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigUnsupportedAuth);
    assert!(e.message().contains("in memory only"), "{e}");
    assert_eq!(std::fs::read_to_string(dir.path().join("mondoo.yml")).unwrap(), before);
}

/// A blocking client over the `auth.method: ssh` config of `platform`, written in `dir`,
/// whose environment is `env` (the agent's socket, or none).
fn ssh_client(
    platform: &Platform,
    dir: &std::path::Path,
    env: BTreeMap<String, String>,
    options: ClientOptions,
) -> mondoo::blocking::Client {
    mondoo::blocking::Client::new(load_file(dir, &ssh_config_text(platform)), options.with_env(env)).unwrap()
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[test]
fn an_account_that_ends_within_the_renewal_margin_is_exchanged_again() {
    let platform = start();
    let agent = Agent::start();
    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &agent.add_key("ecdsa")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = ssh_client(&platform, dir.path(), agent.env(), ClientOptions::new());
    // one hour: kept
    client.call("AgentManager", "PingPong", &json!({})).unwrap();
    client.call("AgentManager", "PingPong", &json!({})).unwrap();
    assert_eq!(exchanges(&platform, "ExchangeSSH"), 1);
    // 30 s: inside the one-minute margin, so the next call exchanges again (and so on)
    platform.set_exchange_ttl(30);
    client.exchange().unwrap();
    assert_eq!(exchanges(&platform, "ExchangeSSH"), 2);
    client.call("AgentManager", "PingPong", &json!({})).unwrap();
    assert_eq!(exchanges(&platform, "ExchangeSSH"), 3);
    client.call("AgentManager", "PingPong", &json!({})).unwrap();
    assert_eq!(exchanges(&platform, "ExchangeSSH"), 4);
}

#[test]
fn ssh_faults_have_their_codes() {
    let platform = start();
    let dir = tempfile::tempdir().unwrap();
    let call = |env: BTreeMap<String, String>| {
        let client = ssh_client(&platform, dir.path(), env, ClientOptions::new());
        client.call("AgentManager", "PingPong", &json!({})).unwrap_err()
    };
    assert_eq!(call(BTreeMap::new()).code(), Code::SshAgentUnavailable);
    let gone = BTreeMap::from([("SSH_AUTH_SOCK".to_string(), "/nonexistent/agent.sock".to_string())]);
    assert_eq!(call(gone).code(), Code::SshAgentUnavailable);

    let agent = Agent::start();
    assert_eq!(call(agent.env()).code(), Code::SshAgentNoKeys);

    let ed25519 = agent.add_key("ed25519");
    agent.add_key("ecdsa");
    let unknown = call(agent.env());
    assert_eq!(unknown.code(), Code::SshKeyUnknown, "{unknown}");
    for kind in ["ed25519", "ecdsa"] {
        assert!(unknown.message().contains(&agent.fingerprint(kind)), "{kind}: {unknown}");
    }

    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &ed25519).unwrap();
    platform.refuse_exchanges(1);
    let refused = call(agent.env());
    assert_eq!(refused.code(), Code::ExchangeRefused, "{refused}");
    assert!(refused.message().contains(&agent.fingerprint("ed25519")), "{refused}");
    call_ok(&platform, dir.path(), agent.env());
}

fn call_ok(platform: &Platform, dir: &Path, env: BTreeMap<String, String>) {
    let client =
        mondoo::blocking::Client::new(load_file(dir, &ssh_config_text(platform)), ClientOptions::new().with_env(env))
            .unwrap();
    client.call("AgentManager", "PingPong", &json!({})).unwrap();
}

fn wif_document(platform: &Platform, jwt: Option<&str>) -> String {
    let mut doc = json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "issuerUri": platform.oidc().issuer(),
        "universeDomain": platform.url(),
    });
    if let Some(jwt) = jwt {
        doc["jwtToken"] = json!(jwt);
    }
    doc.to_string()
}

fn wif_call(config: Config, env: BTreeMap<String, String>) -> mondoo::Result<serde_json::Value> {
    let client = mondoo::blocking::Client::new(config, ClientOptions::new().with_env(env))?;
    client.call("AgentManager", "PingPong", &json!({}))
}

#[test]
fn wif_document_from_every_source_and_token_source() {
    let platform = start();
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, WORKLOAD, FIXTURE_SPACE);
    let jwt = platform.oidc().mint(WORKLOAD, AUDIENCE, 300).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // jwtToken in a file
    let config = load_file(dir.path(), &wif_document(&platform, Some(&jwt)));
    assert_eq!(config.auth_method(), Some(AuthMethod::WorkloadIdentity));
    assert_eq!(config.api_endpoint(), platform.url(), "universeDomain is the endpoint");
    wif_call(config, BTreeMap::new()).unwrap();

    // MONDOO_CONFIG_BASE64, token from $JWT_TOKEN
    let encoded = base64::engine::general_purpose::STANDARD.encode(wif_document(&platform, None));
    let from_env = Config::load_with(
        &LoadOptions::new().with_env(BTreeMap::from([("MONDOO_CONFIG_BASE64".to_string(), encoded.clone())])),
    )
    .unwrap();
    wif_call(from_env.clone(), BTreeMap::from([("JWT_TOKEN".to_string(), jwt.clone())])).unwrap();

    // MONDOO_CONFIG_PATH, token from the GitHub Actions endpoint of the local issuer
    let path = dir.path().join("wif.json");
    std::fs::write(&path, wif_document(&platform, None)).unwrap();
    let from_path = Config::load_with(
        &LoadOptions::new().with_env(BTreeMap::from([("MONDOO_CONFIG_PATH".to_string(), path.display().to_string())])),
    )
    .unwrap();
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, &platform.oidc().github_subject(), FIXTURE_SPACE);
    // no metadata server here: the GitHub source must answer
    let mut github = no_metadata_servers(&closed_port());
    github.extend([
        ("ACTIONS_ID_TOKEN_REQUEST_URL".to_string(), platform.oidc().actions_request_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_string(), platform.oidc().actions_request_token().to_string()),
    ]);
    wif_call(from_path, github.clone()).unwrap();
    assert_eq!(exchanges(&platform, "ExchangeExternalToken"), 3);

    // no token anywhere: the typed error says what was tried
    let mut nowhere = github;
    nowhere.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_string(), "wrong-request-token".to_string());
    let e = wif_call(from_env, nowhere).unwrap_err();
    assert_eq!(e.code(), Code::IdentityTokenUnavailable, "{e}");
    assert!(!e.to_string().contains("wrong-request-token"), "{e}");
}

#[test]
fn wif_faults_have_their_codes() {
    let platform = start();
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, WORKLOAD, FIXTURE_SPACE);
    let dir = tempfile::tempdir().unwrap();
    let with_token = |jwt: &str| wif_call(load_file(dir.path(), &wif_document(&platform, Some(jwt))), BTreeMap::new());

    let expired = platform.oidc().mint(WORKLOAD, AUDIENCE, -600).unwrap();
    assert_eq!(with_token(&expired).unwrap_err().code(), Code::IdentityTokenExpired);
    let elsewhere = platform.oidc().mint(WORKLOAD, "another-audience", 300).unwrap();
    let e = with_token(&elsewhere).unwrap_err();
    assert_eq!(e.code(), Code::IdentityTokenAudience, "{e}");
    let unbound = platform.oidc().mint("repo:someone/else", AUDIENCE, 300).unwrap();
    assert_eq!(with_token(&unbound).unwrap_err().code(), Code::ExchangeRefused);
    let good = platform.oidc().mint(WORKLOAD, AUDIENCE, 300).unwrap();
    platform.refuse_exchanges(1);
    let refused = with_token(&good).unwrap_err();
    assert_eq!(refused.code(), Code::ExchangeRefused);
    assert!(!refused.to_string().contains(&good), "the identity token is never shown");
    with_token(&good).unwrap();
    assert_eq!(exchanges(&platform, "ExchangeExternalToken"), 1);
}

/// `127.0.0.1:PORT` where nothing listens: a connection is refused at once.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

/// Every metadata endpoint (GCP, Azure MSI, Azure IMDS) at `closed`, so a test never
/// waits on or reaches the real ones of the machine it runs on.
fn no_metadata_servers(closed: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("GCE_METADATA_HOST".to_string(), closed.to_string()),
        ("MSI_ENDPOINT".to_string(), format!("http://{closed}/oauth2/token")),
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(), format!("http://{closed}")),
    ])
}

/// The GitHub Actions variables naming the local issuer's endpoint.
fn github_actions_env(platform: &Platform) -> [(String, String); 2] {
    [
        ("ACTIONS_ID_TOKEN_REQUEST_URL".to_string(), platform.oidc().actions_request_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_string(), platform.oidc().actions_request_token().to_string()),
    ]
}

/// A metadata server that takes the connection and never answers: only the identity
/// fetch timeout ends the wait. The listener must live as long as the test needs it.
fn black_hole() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// The exchanges the platform accepted, by the identity token's subject.
fn exchanged_subjects(platform: &Platform) -> Vec<String> {
    platform
        .requests()
        .iter()
        .filter(|r| r.method == "ExchangeExternalToken" && r.status == 200)
        .filter_map(|r| r.exchange.as_ref().map(|e| e.subject.clone()))
        .collect()
}

fn wif_from_environment(platform: &Platform, dir: &Path) -> Config {
    load_file(dir, &wif_document(platform, None))
}

#[test]
fn wif_identity_token_from_gcp_metadata() {
    let platform = start();
    let subject = mondoo_platform::oidc::GCP_METADATA_SUBJECT;
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, subject, FIXTURE_SPACE);
    let dir = tempfile::tempdir().unwrap();
    let env = BTreeMap::from([("GCE_METADATA_HOST".to_string(), platform.oidc().metadata_host())]);
    wif_call(wif_from_environment(&platform, dir.path()), env).unwrap();
    assert_eq!(exchanged_subjects(&platform), [subject]);
}

#[test]
fn gcp_metadata_is_tried_before_github_actions() {
    let platform = start();
    let gcp_subject = mondoo_platform::oidc::GCP_METADATA_SUBJECT;
    for subject in [gcp_subject.to_string(), platform.oidc().github_subject()] {
        platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, &subject, FIXTURE_SPACE);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut env = BTreeMap::from(github_actions_env(&platform));
    env.insert("GCE_METADATA_HOST".to_string(), platform.oidc().metadata_host());
    wif_call(wif_from_environment(&platform, dir.path()), env).unwrap();
    assert_eq!(exchanged_subjects(&platform), [gcp_subject]);
}

#[test]
fn wif_identity_token_from_the_azure_msi_endpoint_before_github_actions_and_imds() {
    let platform = start();
    let subject = mondoo_platform::oidc::AZURE_MSI_SUBJECT;
    for subject in
        [subject.to_string(), mondoo_platform::oidc::AZURE_IMDS_SUBJECT.to_string(), platform.oidc().github_subject()]
    {
        platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, &subject, FIXTURE_SPACE);
    }
    let dir = tempfile::tempdir().unwrap();
    // GCP unreachable; the MSI endpoint, GitHub Actions and IMDS all answer
    let mut env = BTreeMap::from(github_actions_env(&platform));
    env.extend([
        ("GCE_METADATA_HOST".to_string(), closed_port()),
        ("MSI_ENDPOINT".to_string(), platform.oidc().msi_endpoint()),
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(), platform.oidc().issuer().to_string()),
    ]);
    wif_call(wif_from_environment(&platform, dir.path()), env).unwrap();
    assert_eq!(exchanged_subjects(&platform), [subject]);
}

#[test]
fn wif_identity_token_from_azure_imds_when_the_others_are_unreachable() {
    let platform = start();
    let subject = mondoo_platform::oidc::AZURE_IMDS_SUBJECT;
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, subject, FIXTURE_SPACE);
    let dir = tempfile::tempdir().unwrap();
    let mut env = no_metadata_servers(&closed_port());
    env.insert("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(), platform.oidc().issuer().to_string());
    wif_call(wif_from_environment(&platform, dir.path()), env).unwrap();
    assert_eq!(exchanged_subjects(&platform), [subject]);
}

/// A GET over a plain TCP connection: the status code and the body.
fn raw_get(host: &str, path: &str, headers: &[&str]) -> (u16, String) {
    raw_request(host, "GET", path, headers, "")
}

/// A form POST over a plain TCP connection: the status code and the body.
fn raw_post_form(host: &str, path: &str, headers: &[&str], form: &str) -> (u16, String) {
    let length = format!("Content-Length: {}", form.len());
    let headers = [headers, &["Content-Type: application/x-www-form-urlencoded", &length]].concat();
    raw_request(host, "POST", path, &headers, form)
}

fn raw_request(host: &str, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n{body}").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[test]
fn metadata_fakes_refuse_requests_without_their_header() {
    let platform = start();
    let host = platform.oidc().metadata_host();
    let gcp = format!("/computeMetadata/v1/instance/service-accounts/default/identity?audience={AUDIENCE}");
    let (status, body) = raw_get(&host, &gcp, &[]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Metadata-Flavor"), "{body}");
    assert_eq!(raw_get(&host, &gcp, &["Metadata-Flavor: google-ish"]).0, 403);
    // as the Go client asks (no format) and as Google's libraries do (format=full)
    for path in [gcp.clone(), format!("{gcp}&format=full")] {
        let (status, jwt) = raw_get(&host, &path, &["Metadata-Flavor: Google"]);
        assert_eq!(status, 200, "{path}");
        assert_eq!(jwt.split('.').count(), 3, "the raw JWT: {jwt}");
    }

    let resource = format!("resource={AUDIENCE}");
    let (status, body) = raw_post_form(&host, "/oauth2/token", &[], &resource);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("metadata header"), "{body}");
    let (status, body) = raw_post_form(&host, "/oauth2/token", &["Metadata: true"], "");
    assert_eq!(status, 400, "without a resource: {body}");
    let (status, body) = raw_post_form(&host, "/oauth2/token", &["Metadata: true"], &resource);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["access_token"].as_str().unwrap().split('.').count(), 3);

    let azure = format!("/metadata/identity/oauth2/token?api-version=2018-02-01&resource={AUDIENCE}");
    let (status, body) = raw_get(&host, &azure, &[]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("metadata header"), "{body}");
    let (status, body) = raw_get(&host, &azure, &["Metadata: true"]);
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["access_token"].as_str().unwrap().split('.').count(), 3);
}

#[test]
fn no_identity_token_names_each_source_and_why_it_failed() {
    let platform = start();
    let dir = tempfile::tempdir().unwrap();
    // each source fails differently: a metadata server that never answers (only the
    // identity fetch timeout ends it), an MSI endpoint that is not one (404), a refused
    // request token, nothing listening
    let (_silent, silent) = black_hole();
    let closed = closed_port();
    let env = BTreeMap::from([
        ("ACTIONS_ID_TOKEN_REQUEST_URL".to_string(), platform.oidc().actions_request_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_string(), "not-the-request-token".to_string()),
        ("GCE_METADATA_HOST".to_string(), silent.clone()),
        ("MSI_ENDPOINT".to_string(), format!("{}/no-msi-here", platform.oidc().issuer())),
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(), format!("http://{closed}")),
    ]);
    let e = wif_call(wif_from_environment(&platform, dir.path()), env).unwrap_err();
    assert_eq!(e.code(), Code::IdentityTokenUnavailable, "{e}");
    let message = e.message();
    let failure = |source: &str| {
        let start = message.find(&format!("{source}: ")).unwrap_or_else(|| panic!("{source} missing: {message}"));
        message[start..].split(';').next().unwrap().to_string()
    };
    let gcp = failure("GCP metadata");
    assert!(gcp.contains(&silent) && gcp.contains("no complete answer"), "{message}");
    let msi = failure("Azure MSI");
    assert!(msi.contains("POST http://") && msi.contains("/no-msi-here") && msi.contains("404"), "{message}");
    assert!(failure("GitHub Actions").contains("401"), "{message}");
    assert!(failure("Azure IMDS").contains(&closed), "{message}");
    // tried in the Go client's order, IMDS last
    let at = |source: &str| message.find(&format!("{source}: ")).unwrap();
    assert!(at("GCP metadata") < at("Azure MSI") && at("Azure MSI") < at("GitHub Actions"), "{message}");
    assert!(at("GitHub Actions") < at("Azure IMDS"), "{message}");
    assert!(!message.contains("not-the-request-token"), "{message}");
    assert_eq!((message.matches("POST http://").count(), message.matches("GET http://").count()), (1, 3), "{message}");
    assert_eq!(exchanges(&platform, "ExchangeExternalToken"), 0);
}

#[test]
fn an_agent_that_never_answers_fails_at_the_client_timeout_naming_its_socket() {
    let platform = start();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("silent-agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    // takes each connection and keeps it open without a byte in return
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let env = BTreeMap::from([("SSH_AUTH_SOCK".to_string(), socket.display().to_string())]);
    let client =
        ssh_client(&platform, dir.path(), env, ClientOptions::new().with_timeout(std::time::Duration::from_secs(2)));
    for result in [client.call("AgentManager", "PingPong", &json!({})).map(|_| ()), client.exchange().map(|_| ())] {
        let e = result.unwrap_err();
        assert_eq!(e.code(), Code::Timeout, "{e}");
        assert!(e.message().contains("ssh-agent") && e.message().contains(&socket.display().to_string()), "{e}");
    }
    assert_eq!(platform.requests().iter().filter(|r| r.method == "ExchangeSSH").count(), 0);
}

#[test]
fn ssh_claims_outside_the_platform_clock_window_say_clock_skew_not_unknown_key() {
    let platform = start();
    let agent = Agent::start();
    let dir = tempfile::tempdir().unwrap();
    let call = || {
        let client = ssh_client(&platform, dir.path(), agent.env(), ClientOptions::new());
        client.call("AgentManager", "PingPong", &json!({})).unwrap_err()
    };
    // both refusals are the same generic 401 on the wire
    let unauthorized = agent.add_key("ed25519");
    let unknown = call();
    assert_eq!(unknown.code(), Code::SshKeyUnknown, "{unknown}");
    assert!(unknown.clock_skew_seconds().is_some_and(|s| s.abs() < 5.0), "{unknown:?}");

    // an authorized key, but the platform's clock an hour behind: claims from its future
    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &unauthorized).unwrap();
    platform.set_clock_offset(-3600);
    let behind = call();
    assert_eq!(behind.code(), Code::ExchangeClockSkew, "{behind}");
    assert_eq!(behind.http_status(), Some(401));
    assert!(behind.message().contains("behind") && behind.message().contains("clock"), "{behind}");
    assert!(behind.clock_skew_seconds().is_some_and(|s| (s + 3600.0).abs() < 5.0), "{behind:?}");

    // an hour ahead: claims that expired on its clock
    platform.set_clock_offset(3600);
    let ahead = call();
    assert_eq!(ahead.code(), Code::ExchangeClockSkew, "{ahead}");
    assert!(ahead.message().contains("ahead of"), "{ahead}");

    platform.set_clock_offset(0);
    call_ok(&platform, dir.path(), agent.env());
    let records: Vec<_> = platform.requests().into_iter().filter(|r| r.method == "ExchangeSSH").collect();
    assert_eq!(records.iter().map(|r| r.status).collect::<Vec<_>>(), [401, 401, 401, 200]);
}

/// POST a body with a bearer over a plain TCP connection: the status and the answer.
fn raw_post(url: &str, path: &str, body: &[u8], bearer: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json\r\n\
         Authorization: Bearer {bearer}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap();
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

#[test]
fn sign_on_a_keyless_config_signs_as_the_exchanged_account() {
    let platform = start();
    let agent = Agent::start();
    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &agent.add_key("ed25519")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = load_file(dir.path(), &ssh_config_text(&platform));
    let body = br#"{"said":"hello"}"#;

    // the async client's plain sign cannot exchange: it says what to do
    let client = client(config.clone(), agent.env());
    let e = client.sign(body).unwrap_err();
    assert_eq!(e.code(), Code::NotRegistered, "{e}");
    assert!(e.message().contains("keyless") && e.message().contains("exchange first"), "{e}");
    let bearer = runtime().block_on(client.sign_exchanging(body)).unwrap();
    let account = runtime().block_on(client.exchange()).unwrap().service_account_mrn;
    // the account in memory now: plain sign uses it (the exchange above replaced the first)
    let again = client.sign(body).unwrap();
    assert_ne!(bearer, again);
    let (status, answer) = raw_post(platform.url(), "/Echo/Say", body, &again);
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["signed_by"], account.as_str(), "{answer}");

    // the blocking client exchanges on need, as the C ABI and the bindings use it
    let blocking = mondoo::blocking::Client::new(config, ClientOptions::new().with_env(agent.env())).unwrap();
    let bearer = blocking.sign(body).unwrap();
    let (status, answer) = raw_post(platform.url(), "/Echo/Say", body, &bearer);
    assert_eq!(status, 200, "{answer}");
    let signer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert!(signer["signed_by"].as_str().unwrap().contains("/serviceaccounts/"), "{signer}");
    assert_eq!(exchanges(&platform, "ExchangeSSH"), 3);
}

#[test]
fn logout_of_a_keyless_config_says_there_is_nothing_to_log_out() {
    let platform = start();
    let agent = Agent::start();
    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &agent.add_key("ecdsa")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = ssh_client(&platform, dir.path(), agent.env(), ClientOptions::new());
    let before = std::fs::read_to_string(dir.path().join("mondoo.yml")).unwrap();
    client.call("AgentManager", "PingPong", &json!({})).unwrap();
    for options in [mondoo::LogoutOptions::new(), mondoo::LogoutOptions::new().with_force_offline(true)] {
        let e = client.logout(&options).unwrap_err();
        assert_eq!(e.code(), Code::ConfigUnsupportedAuth, "{e}");
        assert!(e.message().contains("keyless") && e.message().contains("nothing to log out"), "{e}");
        assert!(e.message().contains("auth method ssh"), "{e}");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("mondoo.yml")).unwrap(), before);
    assert!(!platform.requests().iter().any(|r| r.method == "UnRegisterAgent"));
    // the client still works: the refusal changed nothing
    client.call("AgentManager", "PingPong", &json!({})).unwrap();
}

/// Host header of the recorded requests of `method`.
fn hosts(platform: &Platform, method: &str) -> Vec<String> {
    platform
        .requests()
        .iter()
        .filter(|r| r.method == method)
        .map(|r| r.header("host").unwrap_or_default().to_string())
        .collect()
}

#[test]
fn calls_of_the_exchanged_account_go_to_the_api_endpoint_the_exchange_answered() {
    let platform = start();
    let agent = Agent::start();
    platform.authorize_ssh_key(IDENTITY, FIXTURE_SPACE, &agent.add_key("ed25519")).unwrap();
    // the same platform under another name: the Host header tells which one a call used
    let configured = platform.url().trim_end_matches('/').to_string();
    let answered = configured.replace("127.0.0.1", "localhost");
    let (configured_host, answered_host) =
        (configured.trim_start_matches("http://").to_string(), answered.trim_start_matches("http://").to_string());
    platform.set_exchange_api_endpoint(Some(&answered));
    let dir = tempfile::tempdir().unwrap();
    let config = load_file(dir.path(), &ssh_config_text(&platform));
    let client = mondoo::blocking::Client::new(config.clone(), ClientOptions::new().with_env(agent.env())).unwrap();

    client.call("AgentManager", "PingPong", &json!({})).unwrap();
    client.graphql("{ viewer { mrn } }", None).unwrap().into_data().unwrap();
    let report = client.status().unwrap();
    assert_eq!(report.upstream.api.endpoint.trim_end_matches('/'), answered, "{report}");
    assert_eq!(client.exchange().unwrap().api_endpoint.as_deref().map(|e| e.trim_end_matches('/')), Some(&*answered));
    // exchanges at the configured endpoint, the account's calls at the answered one
    assert!(
        hosts(&platform, "ExchangeSSH").iter().all(|h| *h == configured_host),
        "{:?}",
        hosts(&platform, "ExchangeSSH")
    );
    for method in ["PingPong", "query", "Check"] {
        let seen = hosts(&platform, method);
        assert!(!seen.is_empty() && seen.iter().all(|h| *h == answered_host), "{method}: {seen:?}");
    }

    // the caller's endpoint wins over the answer
    let pinned = mondoo::blocking::Client::new(
        config.clone(),
        ClientOptions::new().with_env(agent.env()).with_api_endpoint(configured.clone()),
    )
    .unwrap();
    pinned.call("AgentManager", "PingPong", &json!({})).unwrap();
    assert_eq!(hosts(&platform, "PingPong").last(), Some(&configured_host));

    // an answer that is not an http(s) URL is refused, not followed
    platform.set_exchange_api_endpoint(Some("ftp://elsewhere.example"));
    let refused = mondoo::blocking::Client::new(config, ClientOptions::new().with_env(agent.env())).unwrap();
    let e = refused.call("AgentManager", "PingPong", &json!({})).unwrap_err();
    assert_eq!(e.code(), Code::ResponseInvalid, "{e}");
    assert!(e.message().contains("api_endpoint"), "{e}");
}

/// A platform whose loopback proxy the WIF clients below are told to use.
fn start_with_proxy() -> Platform {
    Platform::start(PlatformOptions { proxy: true, ..PlatformOptions::with_fixtures() }).expect("platform starts")
}

/// `host:port` of every request the platform's proxy forwarded or tunnelled, after a WIF
/// call whose client has that proxy as its explicit proxy (`ClientOptions::api_proxy`,
/// which applies to every target, loopback included).
fn wif_call_through_proxy(platform: &Platform, env: BTreeMap<String, String>) -> mondoo::Result<Vec<String>> {
    let proxy = platform.proxy().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = ClientOptions::new().with_env(env).with_api_proxy(proxy.url());
    let client = mondoo::blocking::Client::new(wif_from_environment(platform, dir.path()), options)?;
    client.call("AgentManager", "PingPong", &json!({}))?;
    Ok(proxy.targets())
}

fn platform_host(platform: &Platform) -> String {
    platform.url().trim_start_matches("http://").to_string()
}

#[test]
fn metadata_servers_are_reached_directly_while_the_exchange_goes_through_the_proxy() {
    let platform = start_with_proxy();
    let metadata = platform.oidc().metadata_host();
    let gcp_subject = mondoo_platform::oidc::GCP_METADATA_SUBJECT;
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, gcp_subject, FIXTURE_SPACE);
    let gcp = BTreeMap::from([("GCE_METADATA_HOST".to_string(), metadata.clone())]);
    let targets = wif_call_through_proxy(&platform, gcp).unwrap();
    assert!(targets.contains(&platform_host(&platform)), "the exchange and the call went via the proxy: {targets:?}");
    assert!(!targets.contains(&metadata), "the GCP metadata GET went via the proxy: {targets:?}");

    let azure_subject = mondoo_platform::oidc::AZURE_IMDS_SUBJECT;
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, azure_subject, FIXTURE_SPACE);
    let mut azure = no_metadata_servers(&closed_port());
    azure.insert("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(), platform.oidc().issuer().to_string());
    let targets = wif_call_through_proxy(&platform, azure).unwrap();
    assert!(!targets.contains(&metadata), "the Azure IMDS GET went via the proxy: {targets:?}");

    let msi_subject = mondoo_platform::oidc::AZURE_MSI_SUBJECT;
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, msi_subject, FIXTURE_SPACE);
    let mut msi = no_metadata_servers(&closed_port());
    msi.insert("MSI_ENDPOINT".to_string(), platform.oidc().msi_endpoint());
    let targets = wif_call_through_proxy(&platform, msi).unwrap();
    assert!(!targets.contains(&metadata), "the Azure MSI POST went via the proxy: {targets:?}");
    assert_eq!(exchanged_subjects(&platform), [gcp_subject, azure_subject, msi_subject]);
}

#[test]
fn the_github_actions_token_goes_through_the_proxy() {
    let platform = start_with_proxy();
    platform.authorize_workload(platform.oidc().issuer(), AUDIENCE, &platform.oidc().github_subject(), FIXTURE_SPACE);
    let mut env = no_metadata_servers(&closed_port());
    env.extend(github_actions_env(&platform));
    let targets = wif_call_through_proxy(&platform, env).unwrap();
    assert_eq!(targets.first(), Some(&platform.oidc().metadata_host()), "token GET first, via the proxy: {targets:?}");
    assert!(targets.contains(&platform_host(&platform)), "{targets:?}");
}

#[test]
fn a_failed_metadata_fetch_does_not_name_the_proxy_it_never_used() {
    let platform = start();
    let dir = tempfile::tempdir().unwrap();
    // the explicit proxy is dead too: through it, each fetch would be that proxy's failure
    let dead_proxy = format!("http://{}", closed_port());
    let closed = closed_port();
    let options = ClientOptions::new().with_env(no_metadata_servers(&closed)).with_api_proxy(&dead_proxy);
    let client = mondoo::blocking::Client::new(wif_from_environment(&platform, dir.path()), options).unwrap();
    let e = client.call("AgentManager", "PingPong", &json!({})).unwrap_err();
    assert_eq!(e.code(), Code::IdentityTokenUnavailable, "{e}");
    assert_eq!(e.message().matches(&closed).count(), 3, "{e}");
    assert!(!e.message().contains("proxy"), "{e}");
}
