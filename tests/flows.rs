//! The platform flows against the local platform: what the user sees and what the
//! platform recorded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mondoo::blocking::Client;
use mondoo::{ClientOptions, LogoutOptions, RegisterOptions};
use mondoo::{Code, Config, ConfigFormat, LoadOptions};
use mondoo_platform::{AuthOutcome, ConnectProxy, Fault, FaultSpec, Platform, PlatformOptions, TokenSpec};

mod common;
use common::{load_at, options, testdata, token_login};

fn options_for(platform: &Platform) -> ClientOptions {
    options().with_api_endpoint(platform.url().to_string())
}

/// A fresh login into `dir/mondoo.yml`; returns the client and the config path.
fn login(platform: &Platform, dir: &Path) -> (Client, PathBuf) {
    let path = dir.join("mondoo.yml");
    (token_login(platform, &path, options()), path)
}

fn parsed(path: &Path) -> serde_json::Value {
    Config::load_with(&load_at(path)).unwrap().redacted_json()
}

#[test]
fn platform_without_testdata_makes_its_own_key_and_registers_a_client() {
    // No fixtures at all (what the quickstart starts): the platform makes its own P-384
    // key and self-signed certificate, so it runs from a bare checkout.
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    assert_eq!(platform.testdata(), None);
    let public_key = |pem: &str| mondoo::__private::signer::certificate_public_key(pem).expect("a P-384 certificate");
    let own = public_key(platform.platform_certificate());
    let fixtures = std::fs::read_to_string(testdata("platform/platform-cert.pem")).unwrap();
    assert_ne!(own, public_key(&fixtures), "not the fixtures' key");
    let other = Platform::start(PlatformOptions::default()).unwrap();
    assert_ne!(own, public_key(other.platform_certificate()), "a fresh key per platform");

    // Its tokens are signed with that key.
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    mondoo::__private::signer::verify_with_public_key(&token, b"", &own, platform.now())
        .expect("signed by the platform key");

    // A client registers end to end: token login writes the config, then a signed
    // status round trip, a signed call, a check-in and logout.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options()).unwrap();
    let registration = client.register(Some(&token), &RegisterOptions::default()).unwrap();
    let agents: Vec<String> = platform.agents().into_iter().map(|a| a.mrn).collect();
    assert_eq!(agents, [registration.agent_mrn.as_str()]);
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();
    let report = client.status().unwrap();
    assert!(report.client.authenticated, "{}", report.to_text());
    assert_eq!(report.exit_code(), 0);
    let echoed = client.call("Echo", "Say", &serde_json::json!({"hi": 1})).unwrap();
    assert_eq!(echoed, serde_json::json!({"hi": 1, "signed_by": registration.service_account_mrn}));
    client.checkin().unwrap();
    client.logout(&LogoutOptions::default()).unwrap();
    assert!(platform.agents().is_empty());

    // The fixture account is unknown here: its certificate was issued by the fixtures' key.
    let fixture_config = Config::load_with(&load_at(&testdata("service-account/credentials.json"))).unwrap();
    let report = Client::new(fixture_config, options_for(&platform)).unwrap().status().unwrap();
    assert!(!report.client.authenticated);
    let ping = platform.requests().into_iter().rev().find(|r| r.method == "PingPong").unwrap();
    assert!(matches!(ping.auth, AuthOutcome::Rejected(_)), "{:?}", ping.auth);
}

#[test]
fn status_unregistered() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::empty_at(dir.path().join("mondoo.yml"), mondoo::ConfigSource::None);
    let report = Client::new(config, options_for(&platform)).unwrap().status().unwrap();
    // Display is the text report
    let text = report.to_string();
    assert_eq!(text, report.to_text());
    assert!(text.starts_with("→ no configuration found; a registration writes to "), "{text}");
    assert!(text.contains("→ API Status:\t\tSERVING"), "{text}");
    assert!(text.contains("x client is not registered"), "{text}");
    assert!(!text.contains("authenticated successfully"), "{text}");
    assert_eq!(report.exit_code(), 1);
    // no signed call was attempted
    assert!(platform.requests().iter().all(|r| r.service == "Health"));
}

#[test]
fn status_registered_and_authenticated_then_rejected() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = login(&platform, dir.path());
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();
    let report = client.status().unwrap();
    let text = report.to_text();
    assert!(
        text.starts_with(&format!("→ loaded configuration from {} using source --config\n", path.display())),
        "{text}"
    );
    for want in [
        "→ client is registered",
        "→ client authenticated successfully",
        "→ Owner:\t\t",
        "→ Client:\t\t//agents.api.mondoo.app/",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert_eq!(report.exit_code(), 0);
    let ping = platform.requests().into_iter().rfind(|r| r.method == "PingPong").unwrap();
    assert_eq!(ping.auth, AuthOutcome::Accepted);

    // The platform forgets the service account: registered, but rejected.
    // the vocabulary's accessors read the same report
    assert_eq!(report.service_account_mrn(), report.client.service_account_mrn.as_deref());
    assert_eq!(report.space_mrn(), client.config().space_mrn().as_deref());
    assert!(report.space_mrn().is_some(), "a registered config names its space");
    assert_eq!(report.api_endpoint(), client.api_endpoint());
    let sa = report.client.service_account_mrn.clone().unwrap();
    assert!(platform.revoke(&sa));
    let report = client.status().unwrap();
    let text = report.to_text();
    assert!(text.contains("→ client is registered"), "{text}");
    assert!(
        text.contains("x could not connect to mondoo platform error=\"rpc error: code = Unauthenticated desc = request permission unauthenticated\""),
        "{text}"
    );
    assert_eq!(report.exit_code(), 1);
    let ping = platform.requests().into_iter().rfind(|r| r.method == "PingPong").unwrap();
    assert!(matches!(ping.auth, AuthOutcome::Rejected(_)), "{:?}", ping.auth);
    assert_eq!(ping.subject.as_deref(), None);
    let json = report.to_json();
    assert_eq!(json["client"]["pingPongError"]["rpc_code"], 16);
    assert_eq!(json["client"]["pingPongError"]["message"], "request permission unauthenticated");
    assert_eq!(json["client"]["registered"], true);
}

#[test]
fn status_warns_about_a_clock_72h_off() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = login(&platform, dir.path());
    // The platform's clock 72 h ahead looks, to the client, like its own clock is behind.
    platform.set_clock_offset(72 * 3600 + 6);
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();
    let report = client.status().unwrap();
    let text = report.to_text();
    let warning =
        text.lines().find(|l| l.starts_with("! possible clock skew detected: ")).unwrap_or_else(|| panic!("{text}"));
    assert!(warning.contains(": 72h0m"), "{warning}");
    // Every signed call is refused by a platform whose clock is that far off.
    assert!(text.contains("x could not connect to mondoo platform"), "{text}");

    // Opt-in skew correction makes the signed calls work again.
    let corrected =
        Client::new(Config::load_with(&load_at(&path)).unwrap(), options().with_correct_clock_skew(true)).unwrap();
    assert!(corrected.call("Echo", "Say", &serde_json::json!({"x": 1})).is_ok());
    let report = corrected.status().unwrap();
    assert!(report.to_text().contains("→ client authenticated successfully"));
}

#[test]
fn a_401_after_a_measured_skew_carries_the_skew_with_the_status_reports_sign() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = login(&platform, dir.path());
    platform.set_clock_offset(72 * 3600);
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();

    // Nothing measured yet: the 401 carries no skew.
    let unmeasured = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!(unmeasured.code(), Code::RpcUnauthenticated);
    assert_eq!(unmeasured.clock_skew_seconds(), None);
    assert_eq!(client.last_clock_skew_seconds(), None);

    // Status measures it (platform − local: the platform is 72 h ahead, so positive) and
    // its refused PingPong carries it.
    let report = client.status().unwrap();
    let measured = report.clock_skew_seconds.unwrap();
    assert!((72.0 * 3600.0 - 5.0..72.0 * 3600.0 + 5.0).contains(&measured), "{measured}");
    assert_eq!(client.last_clock_skew_seconds(), Some(measured));
    let ping = report.client.ping_pong_error.as_ref().unwrap();
    assert_eq!(ping.clock_skew_seconds, Some(measured));
    assert_eq!(report.to_json()["client"]["pingPongError"]["clock_skew_seconds"], serde_json::json!(measured));

    // Every later call as the service account fails with the same skew attached.
    let call = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!((call.code(), call.http_status()), (Code::RpcUnauthenticated, Some(401)));
    assert_eq!(call.clock_skew_seconds(), Some(measured));
    assert!(format!("{call:?}").contains("clock_skew_seconds"), "{call:?}");
    let checkin = client.checkin().unwrap_err();
    assert_eq!(checkin.clock_skew_seconds(), Some(measured));
    // A handle with a deadline shares what the client measured.
    let scoped = client.with_timeout(Duration::from_secs(10)).call("Echo", "Say", &serde_json::json!({}));
    assert_eq!(scoped.unwrap_err().clock_skew_seconds(), Some(measured));

    // The other way round: a platform clock behind the local one is a negative skew.
    platform.set_clock_offset(-72 * 3600);
    let health = client.health().unwrap();
    let behind = health.clock_skew.unwrap().seconds();
    assert!((-72.0 * 3600.0 - 5.0..-72.0 * 3600.0 + 5.0).contains(&behind), "{behind}");
    let call = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!(call.clock_skew_seconds(), Some(behind));
}

#[test]
fn a_skew_measured_against_one_endpoint_is_not_pinned_on_another() {
    // The client measures the skewed platform, then registers with a token of another
    // platform, whose signed PingPong is refused: that error is not about the skew.
    let skewed = Platform::start(PlatformOptions::default()).unwrap();
    skewed.set_clock_offset(72 * 3600);
    let other = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    std::fs::write(&path, format!("api_endpoint: {}\n", skewed.url())).unwrap();
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options()).unwrap();
    assert!(client.health().unwrap().clock_skew.unwrap().seconds() > 71.0 * 3600.0);
    other.inject(FaultSpec::new(Fault::unauthenticated()).only("AgentManager/PingPong"));
    let token = other.mint_token(&TokenSpec::default()).unwrap();
    let e = client.register(Some(&token), &RegisterOptions::default()).unwrap_err();
    assert_eq!(e.code(), Code::RpcUnauthenticated, "{e:?}");
    assert_eq!(e.clock_skew_seconds(), None, "{e:?}");
    // Against the measured endpoint the same client's refusals do carry it.
    skewed.inject(FaultSpec::new(Fault::unauthenticated()).only("AgentManager/PingPong"));
    let client =
        Client::new(Config::load_with(&load_at(&path)).unwrap(), options().with_api_endpoint(skewed.url().to_string()))
            .unwrap();
    client.health().unwrap();
    let e = client.call("AgentManager", "PingPong", &serde_json::json!({})).unwrap_err();
    assert!(e.clock_skew_seconds().unwrap() > 71.0 * 3600.0, "{e:?}");
}

#[test]
fn not_registered_and_config_errors_carry_the_config_path() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // No service account in the file.
    let unregistered = dir.path().join("unregistered.yml");
    std::fs::write(&unregistered, "name: nobody\n").unwrap();
    let client = Client::new(Config::load_with(&load_at(&unregistered)).unwrap(), options_for(&platform)).unwrap();
    for e in [
        client.call("Echo", "Say", &serde_json::json!({})).unwrap_err(),
        client.checkin().unwrap_err(),
        client.sign(b"{}").unwrap_err(),
        client.logout(&LogoutOptions::default()).unwrap_err(),
    ] {
        assert_eq!(e.code(), Code::NotRegistered, "{e:?}");
        assert_eq!(e.path(), Some(unregistered.as_path()), "{e:?}");
        assert!(e.message().contains(&unregistered.display().to_string()), "{e:?}");
    }

    // A service account without an agent: check-in names the file too.
    let (_, registered) = login(&platform, dir.path());
    let mut without_agent = Config::load_with(&load_at(&registered)).unwrap();
    without_agent.remove("agent_mrn");
    without_agent.save().unwrap();
    let client = Client::new(Config::load_with(&load_at(&registered)).unwrap(), options()).unwrap();
    let e = client.checkin().unwrap_err();
    assert_eq!((e.code(), e.path()), (Code::NotRegistered, Some(registered.as_path())), "{e:?}");

    // An api_endpoint in the config that is not an http(s) URL.
    let bad_endpoint = dir.path().join("bad-endpoint.yml");
    std::fs::write(&bad_endpoint, "api_endpoint: ftp://api.example.com\n").unwrap();
    let client = Client::new(Config::load_with(&load_at(&bad_endpoint)).unwrap(), options()).unwrap();
    for e in [client.status().unwrap_err(), client.health().unwrap_err()] {
        assert_eq!(e.code(), Code::ConfigInvalid, "{e:?}");
        assert_eq!(e.path(), Some(bad_endpoint.as_path()), "{e:?}");
    }
    // The same endpoint given by the caller is not the config's fault: no path.
    let client = Client::new(
        Config::load_with(&load_at(&unregistered)).unwrap(),
        options().with_api_endpoint("ftp://api.example.com"),
    )
    .unwrap();
    let e = client.health().unwrap_err();
    assert_eq!((e.code(), e.path()), (Code::ConfigInvalid, None), "{e:?}");

    // A config from MONDOO_CONFIG_BASE64 is in no file: no path.
    let env: BTreeMap<String, String> = [("MONDOO_CONFIG_BASE64".to_string(), "bmFtZTogeA==".to_string())].into();
    let from_env = Config::load_with(&LoadOptions::new().with_env(env)).unwrap();
    let e = Client::new(from_env, options_for(&platform)).unwrap().sign(b"{}").unwrap_err();
    assert_eq!((e.code(), e.path()), (Code::NotRegistered, None), "{e:?}");
}

#[test]
fn expired_token_fails_before_any_request() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let token = platform.mint_token(&TokenSpec { ttl_seconds: -3600, ..Default::default() }).unwrap();
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options()).unwrap();
    let err = client.register(Some(&token), &RegisterOptions::default()).unwrap_err();
    assert_eq!(err.code(), Code::TokenExpired);
    assert!(platform.requests().is_empty());
    assert!(!path.exists());
}

#[test]
fn register_retries_aborted_three_times_then_succeeds() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.inject(FaultSpec::new(Fault::Aborted).times(3).only("AgentManager/RegisterAgent"));
    let dir = tempfile::tempdir().unwrap();
    let (client, path) = login(&platform, dir.path());
    let registers = platform.requests().into_iter().filter(|r| r.method == "RegisterAgent").count();
    assert_eq!(registers, 4);
    assert!(client.config().is_registered());
    assert!(Config::load_with(&load_at(&path)).unwrap().is_registered());
}

#[test]
fn register_gives_up_after_four_aborted() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.inject(FaultSpec::new(Fault::Aborted).times(4).only("AgentManager/RegisterAgent"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options()).unwrap();
    let err = client.register(Some(&token), &RegisterOptions::default()).unwrap_err();
    assert_eq!(err.code(), Code::RpcAborted);
    assert!(err.message().contains("4 attempts"), "{}", err.message());
    assert_eq!(platform.requests().iter().filter(|r| r.method == "RegisterAgent").count(), 4);
    assert!(!path.exists(), "nothing is written when registration fails");
}

#[test]
fn html_502_is_a_typed_error_with_the_body() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = login(&platform, dir.path());
    platform.inject(Fault::Html502);
    let err = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!(err.http_status(), Some(502));
    assert_eq!(err.rpc_code(), Some(2));
    assert_eq!(err.code(), Code::RpcUnknown);
    assert!(err.message().contains("<html"), "{}", err.message());
    let echo = platform.requests().into_iter().rfind(|r| r.service == "Echo").unwrap();
    assert_eq!((echo.status, echo.auth, echo.fault), (502, AuthOutcome::NotChecked, Some(Fault::Html502)));
}

#[test]
fn login_keeps_unknown_keys_and_json_stays_json() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // An agent config with keys owned by other tools.
    let yml = dir.path().join("mondoo.yml");
    std::fs::copy(testdata("configs/mondoo.yml"), &yml).unwrap();
    let before = parsed(&yml);
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    // The fixture's api_proxy points nowhere; the caller's explicit proxy wins over it.
    let proxy = ConnectProxy::start(false).unwrap();
    let via_proxy = options().with_api_proxy(proxy.url());
    let client = Client::new(Config::for_registration(&load_at(&yml)).unwrap(), via_proxy.clone()).unwrap();
    let reg = client.register(Some(&token), &RegisterOptions::default()).unwrap();
    let after = parsed(&yml);
    for key in ["scan_interval", "updates_url", "features", "annotations", "api_proxy"] {
        assert_eq!(after[key], before[key], "{key} must survive the rewrite");
    }
    assert_eq!(after["agent_mrn"], reg.agent_mrn);
    assert_eq!(after["api_endpoint"], platform.url());
    assert_ne!(after["mrn"], before["mrn"]);
    assert!(proxy.forwarded() + proxy.tunnels() >= 2, "register and ping went through the proxy");

    // A credentials .json is written back as JSON.
    let json_path = dir.path().join("creds.json");
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testdata("service-account/credentials.json")).unwrap()).unwrap();
    let mut creds = creds;
    creds["api_endpoint"] = serde_json::json!(platform.url());
    creds["custom_tool_key"] = serde_json::json!({"nested": [1, 2]});
    std::fs::write(&json_path, serde_json::to_string_pretty(&creds).unwrap()).unwrap();
    let client = Client::new(Config::for_registration(&load_at(&json_path)).unwrap(), options()).unwrap();
    client.register(Some(&platform.mint_token(&TokenSpec::default()).unwrap()), &RegisterOptions::default()).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).expect("still JSON");
    assert_eq!(written["custom_tool_key"], creds["custom_tool_key"]);
    assert_eq!(Config::load_with(&load_at(&json_path)).unwrap().format(), ConfigFormat::Json);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&json_path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn login_from_base64_without_a_path_fails_clearly() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let b64 = std::fs::read_to_string(testdata("service-account/credentials.json.b64")).unwrap();
    let env: BTreeMap<String, String> = [("MONDOO_CONFIG_BASE64".to_string(), b64)].into();
    let config = Config::for_registration(&LoadOptions::new().with_env(env)).unwrap();
    let client = Client::new(config, options_for(&platform)).unwrap();
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let err = client.register(Some(&token), &RegisterOptions::default()).unwrap_err();
    assert_eq!(err.code(), Code::ConfigNotWritable);
    assert!(err.message().contains("$MONDOO_CONFIG_BASE64"), "{}", err.message());
    assert!(platform.requests().iter().all(|r| r.method != "RegisterAgent"));
}

#[test]
fn register_with_configured_service_account() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.json");
    let mut creds = platform.create_service_account(mondoo_platform::FIXTURE_SPACE).unwrap();
    creds["labels"] = serde_json::json!({"team": "sre"});
    std::fs::write(&path, serde_json::to_string_pretty(&creds).unwrap()).unwrap();
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();
    let reg = client.register(None, &RegisterOptions::default()).unwrap();
    assert!(!reg.already_registered);
    let written = parsed(&path);
    assert_eq!(written["agent_mrn"], reg.agent_mrn);
    assert_eq!(written["mrn"], creds["mrn"], "the service account is kept as it was");
    let request = platform.requests().into_iter().find(|r| r.method == "RegisterAgent").unwrap();
    assert_eq!(request.auth, AuthOutcome::Accepted);
    assert_eq!(request.body_json().unwrap()["agent_info"]["labels"]["team"], "sre");

    // Registering again only pings.
    let again = client.register(None, &RegisterOptions::default()).unwrap();
    assert!(again.already_registered);
    assert_eq!(platform.requests().iter().filter(|r| r.method == "RegisterAgent").count(), 1);
}

#[test]
fn logout_removes_credentials_and_keeps_other_keys() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("mondoo.yml");
    std::fs::copy(testdata("configs/mondoo.yml"), &yml).unwrap();
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let proxy = ConnectProxy::start(false).unwrap();
    let via_proxy = options().with_api_proxy(proxy.url());
    let client = Client::new(Config::for_registration(&load_at(&yml)).unwrap(), via_proxy).unwrap();
    let reg = client.register(Some(&token), &RegisterOptions::default()).unwrap();
    client.logout(&LogoutOptions::default()).unwrap();
    let after = parsed(&yml);
    for gone in ["agent_mrn", "mrn", "private_key", "certificate"] {
        assert!(after.get(gone).is_none(), "{gone} must be removed: {after}");
    }
    for kept in ["scan_interval", "updates_url", "features", "annotations", "space_mrn", "api_endpoint"] {
        assert!(after.get(kept).is_some(), "{kept} must be kept");
    }
    let unregister = platform.requests().into_iter().find(|r| r.method == "UnRegisterAgent").unwrap();
    assert_eq!(unregister.body_json().unwrap()["mrn"], reg.agent_mrn);
    assert!(!client.config().is_registered());
}

#[test]
fn logout_fails_when_unregistering_fails_and_leaves_the_file() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, path) = login(&platform, dir.path());
    let before = std::fs::read(&path).unwrap();
    platform.inject(FaultSpec::new(Fault::status(14, "maintenance")).only("AgentManager/UnRegisterAgent"));
    let err = client.logout(&LogoutOptions::default()).unwrap_err();
    assert_eq!(err.code(), Code::RpcUnavailable);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Forced offline, the credentials go anyway; keeping the service account keeps them.
    platform.inject(FaultSpec::new(Fault::status(14, "maintenance")).only("AgentManager/UnRegisterAgent"));
    client.logout(&LogoutOptions::new().with_force_offline(true).with_keep_service_account(true)).unwrap();
    let after = parsed(&path);
    assert!(after.get("agent_mrn").is_none());
    assert!(after.get("mrn").is_some());
}

#[test]
fn signed_generic_call_and_checkin_round_trip() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = login(&platform, dir.path());
    let answer = client.call("Echo", "Say", &serde_json::json!({"greeting": "hello", "n": 3})).unwrap();
    assert_eq!(answer["greeting"], "hello");
    assert_eq!(answer["signed_by"], serde_json::json!(client.config().service_account_mrn().unwrap()));
    client.checkin().unwrap();
    let echo = platform.requests().into_iter().find(|r| r.service == "Echo").unwrap();
    assert_eq!(echo.header("content-type"), Some("application/json"));
    assert_eq!(echo.header("accept"), Some("application/json"));
    assert!(echo.header("user-agent").unwrap().starts_with("libmondoo/"));
    assert_eq!(echo.header("x-request-id").unwrap().len(), 36);
    let checkin = platform.requests().into_iter().find(|r| r.method == "HealthCheck").unwrap();
    assert_eq!(checkin.auth, AuthOutcome::Accepted);
    assert_eq!(checkin.body_json().unwrap()["mrn"], serde_json::json!(client.config().agent_mrn().unwrap()));
}

#[test]
fn https_with_the_test_ca_as_extra_ca() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    assert!(platform.url().starts_with("https://"));
    let dir = tempfile::tempdir().unwrap();
    let config = Config::empty_at(dir.path().join("mondoo.yml"), mondoo::ConfigSource::None);
    // Without the CA, the handshake fails as a TLS error.
    let err = Client::new(config.clone(), options_for(&platform)).unwrap().health().unwrap_err();
    assert_eq!(err.code(), Code::Tls, "{err:?}");
    let with_ca = {
        let mut o = options_for(&platform);
        o.ca_file = platform.ca_file().map(Path::to_path_buf);
        o
    };
    let health = Client::new(config, with_ca).unwrap().health().unwrap();
    assert_eq!(health.response.status.as_deref(), Some("SERVING"));
}

#[test]
fn api_proxy_carries_the_traffic_and_mondoo_api_proxy_wins() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    let config_proxy = ConnectProxy::start(false).unwrap();
    let env_proxy = ConnectProxy::start(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    std::fs::write(&path, format!("api_proxy: {}\napi_endpoint: {}\n", config_proxy.url(), platform.url())).unwrap();
    let ca = platform.ca_file().map(Path::to_path_buf);
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), {
        let mut o = options();
        o.ca_file = ca.clone();
        o
    })
    .unwrap();
    let report = client.status().unwrap();
    assert_eq!(report.upstream.api.status, "SERVING");
    assert_eq!(report.proxy.source, "config api_proxy");
    assert!(config_proxy.tunnels() >= 1);

    let env: BTreeMap<String, String> = [("MONDOO_API_PROXY".to_string(), env_proxy.url())].into();
    let before = config_proxy.tunnels();
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), {
        let mut o = options().with_env(env);
        o.ca_file = ca;
        o
    })
    .unwrap();
    let report = client.status().unwrap();
    assert_eq!(report.upstream.api.status, "SERVING");
    assert_eq!(report.proxy.source, "$MONDOO_API_PROXY");
    assert!(env_proxy.tunnels() >= 1);
    assert_eq!(config_proxy.tunnels(), before, "the config's proxy is not used");
}

#[test]
fn one_connection_pool_is_reused_across_calls() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = login(&platform, dir.path());
    platform.clear_requests();
    for i in 0..5 {
        client.call("Echo", "Say", &serde_json::json!({ "i": i })).unwrap();
    }
    let peers = || platform.requests().iter().map(|r| r.peer).collect::<std::collections::BTreeSet<_>>();
    // login's concurrent requests may leave two connections pooled (which one a call
    // checks out depends on when hyper hands the last one back); five calls open no more
    assert!(peers().len() <= 2, "every call on a kept-alive connection: {:?}", peers());
    // status sends Health/Check and PingPong at once: a second connection, then both kept
    for _ in 0..3 {
        client.status().unwrap();
    }
    assert!(peers().len() <= 2, "status reuses the pooled connections: {:?}", peers());
}

#[test]
fn a_deadline_bounds_an_operation_and_keeps_the_shared_state() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = login(&platform, dir.path());
    platform.inject(Fault::Slow { millis: 3000 });
    let err = client.with_timeout(Duration::from_millis(200)).call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!(err.code(), Code::Timeout, "{err:?}");
    // A deadline already past fails before anything is sent.
    platform.clear_requests();
    let past = client.with_deadline(std::time::Instant::now());
    assert_eq!(past.call("Echo", "Say", &serde_json::json!({})).unwrap_err().code(), Code::Timeout);
    assert!(platform.requests().is_empty());
    // The derived handle shares the config: a logout through it is seen by the original.
    client.with_timeout(Duration::from_secs(10)).logout(&LogoutOptions::default()).unwrap();
    assert!(!client.config().is_registered());
}

#[test]
fn a_deadline_stops_registration_retries() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.inject(FaultSpec::new(Fault::Aborted).times(4).only("AgentManager/RegisterAgent"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let slow_retries = options().with_retry_delays(vec![Duration::from_secs(5); 3]);
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), slow_retries).unwrap();
    let err =
        client.with_timeout(Duration::from_secs(2)).register(Some(&token), &RegisterOptions::default()).unwrap_err();
    assert_eq!(err.code(), Code::RpcAborted);
    assert!(err.message().contains("deadline"), "{}", err.message());
    assert_eq!(platform.requests().iter().filter(|r| r.method == "RegisterAgent").count(), 1);
    assert!(!path.exists());
}

#[test]
fn status_warns_when_the_api_time_does_not_parse_and_when_the_round_trip_is_long() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = login(&platform, dir.path());
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();

    let bad_time = r#"{"status":"SERVING","time":"yesterday","apiVersion":"1"}"#;
    platform.inject(FaultSpec::new(Fault::Body { http_status: 200, body: bad_time.into() }).only("Health/Check"));
    let report = client.status().unwrap();
    let text = report.to_text();
    assert!(text.contains("\n! cannot run clock skew check\n"), "{text}");
    assert!(text.contains("→ client authenticated successfully"), "{text}");
    assert_eq!(report.clock_skew_seconds, None);

    // above the 5 s threshold (section 5.2); the client's timeout is 10 s
    platform.inject(FaultSpec::new(Fault::Slow { millis: 5_200 }).only("Health/Check"));
    let report = client.status().unwrap();
    let text = report.to_text();
    let warning =
        text.lines().find(|l| l.starts_with("! detected very long round-trip times: 5.")).unwrap_or_else(|| {
            panic!("{text}");
        });
    assert!(warning.ends_with('s'), "{warning}");
    assert!(report.round_trip_ms.unwrap() > 5_000.0);
    assert!(!text.contains("clock skew"), "{text}");
}

#[test]
fn client_defaults_are_the_protocols() {
    let defaults = ClientOptions::default();
    assert_eq!(defaults.timeout, Duration::from_secs(30));
    assert_eq!(defaults.connect_timeout, Duration::from_secs(10));
    let schedule = [5, 10, 20].map(Duration::from_secs);
    assert_eq!(defaults.retry_delays, schedule, "RegisterAgent retry schedule on Aborted");
    assert_eq!(defaults.retry_jitter, Duration::from_secs(5));
    assert!(!defaults.correct_clock_skew, "skew correction is opt-in");
    assert_eq!((defaults.api_endpoint, defaults.api_proxy, defaults.ca_file, defaults.env), (None, None, None, None));
}

#[test]
fn token_login_replaces_an_old_scope_and_keeps_other_keys() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    std::fs::write(&path, "scope_mrn: //captain.api.mondoo.app/spaces/old-space\nfeatures:\n  - a\n").unwrap();
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options()).unwrap();
    let registration = client.register(Some(&token), &RegisterOptions::default()).unwrap();
    let written = Config::load_with(&load_at(&path)).unwrap();
    assert_eq!(written.get("scope_mrn"), None, "an old scope would win over the new space");
    assert_eq!(written.get("space_mrn").as_deref(), Some(mondoo_platform::FIXTURE_SPACE));
    assert_eq!(written.space_mrn().as_deref(), Some(mondoo_platform::FIXTURE_SPACE));
    assert_eq!(registration.space_mrn.as_deref(), Some(mondoo_platform::FIXTURE_SPACE));
    assert_eq!(parsed(&path)["features"], serde_json::json!(["a"]));
}

#[test]
fn token_login_writes_the_registering_endpoint_when_the_credential_has_none() {
    let platform = Platform::start(PlatformOptions { path_prefix: "/api".into(), ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    // A RegisterAgent answer whose credential names no endpoint (a real, known account).
    let account = platform.create_service_account(mondoo_platform::FIXTURE_SPACE).unwrap();
    let answer = serde_json::json!({
        "agent_mrn": "//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/agents/no-endpoint",
        "credential": {
            "mrn": account["mrn"], "parent_mrn": mondoo_platform::FIXTURE_SPACE,
            "private_key": account["private_key"], "certificate": account["certificate"],
        },
    });
    let body = answer.to_string();
    platform.inject(FaultSpec::new(Fault::Body { http_status: 200, body }).only("AgentManager/RegisterAgent"));
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options_for(&platform)).unwrap();
    let registration = client.register(Some(&token), &RegisterOptions::default()).unwrap();
    // written with a trailing `/`: the endpoint has a path prefix, which cnspec keeps only so
    let written = format!("{}/", platform.url());
    assert_eq!(registration.api_endpoint, written);
    assert_eq!(Config::load_with(&load_at(&path)).unwrap().get("api_endpoint"), Some(written));
    // and the PingPong went to that endpoint, signed by the new account
    let ping = platform.requests().into_iter().rfind(|r| r.method == "PingPong").unwrap();
    assert_eq!((ping.path.as_str(), ping.auth), ("/api/AgentManager/PingPong", AuthOutcome::Accepted));
    assert_eq!(ping.subject.as_ref(), account["mrn"].as_str().map(String::from).as_ref());
}

#[test]
fn token_login_reports_a_failed_ping_and_keeps_the_written_config() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.inject(FaultSpec::new(Fault::unauthenticated()).only("AgentManager/PingPong"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options()).unwrap();
    let err = client.register(Some(&token), &RegisterOptions::default()).unwrap_err();
    assert_eq!((err.code(), err.rpc_code(), err.http_status()), (Code::RpcUnauthenticated, Some(16), Some(401)));
    assert!(err.message().contains("but the signed PingPong failed"), "{}", err.message());
    assert!(err.message().contains(&path.display().to_string()), "{}", err.message());
    // registered on the platform, so the credentials are kept for the next try
    let written = Config::load_with(&load_at(&path)).unwrap();
    assert!(written.is_registered());
    assert_eq!(platform.agents().len(), 1);
}

/// A service account that carries a static token instead of a key (protocol 1.1
/// `token`), as its credentials file: `{mrn, space_mrn, token, api_endpoint}`.
fn token_credentials(platform: &Platform, dir: &Path) -> (PathBuf, String, String) {
    let creds = platform.create_token_service_account(mondoo_platform::FIXTURE_SPACE).unwrap();
    let path = dir.join("token-credentials.json");
    std::fs::write(&path, serde_json::to_string_pretty(&creds).unwrap()).unwrap();
    (path, creds["mrn"].as_str().unwrap().to_string(), creds["token"].as_str().unwrap().to_string())
}

fn raw_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_static_token_authenticates_status_registration_checkin_and_calls_unsigned() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (path, mrn, token) = token_credentials(&platform, dir.path());
    let config = Config::load_with(&load_at(&path)).unwrap();
    assert!(config.is_registered(), "mrn + token is registered");
    let client = Client::new(config, options()).unwrap();

    let report = client.status().unwrap();
    let text = report.to_text();
    assert!(text.contains("→ client is registered\n"), "{text}");
    assert!(text.contains("→ client authenticated successfully\n"), "{text}");
    assert_eq!(report.client.service_account_mrn.as_deref(), Some(mrn.as_str()));
    assert_eq!(report.exit_code(), 0);
    // The token itself is the bearer: ranger's statictoken, no signature.
    let ping = platform.requests().into_iter().find(|r| r.method == "PingPong").unwrap();
    assert_eq!(ping.header("authorization"), Some(format!("Bearer {token}").as_str()));
    assert_eq!((ping.auth, ping.subject.as_deref()), (AuthOutcome::Accepted, Some(mrn.as_str())));

    let answer = client.call("Echo", "Say", &serde_json::json!({"n": 1})).unwrap();
    assert_eq!((answer["n"].clone(), answer["signed_by"].clone()), (serde_json::json!(1), serde_json::json!(mrn)));

    // Registering the service account as an agent, then checking in, with the token.
    let registration = client.register(None, &RegisterOptions::default()).unwrap();
    assert_eq!(registration.service_account_mrn, mrn);
    assert!(!registration.already_registered);
    let written = raw_file(&path);
    assert_eq!(written["agent_mrn"], serde_json::json!(registration.agent_mrn));
    assert_eq!(written["token"], serde_json::json!(token), "the token stays in the file");
    client.checkin().unwrap();
    let agent = platform.agents().into_iter().find(|a| a.mrn == registration.agent_mrn).unwrap();
    assert_eq!((agent.service_account.as_str(), agent.check_ins), (mrn.as_str(), 1));
    for r in platform.requests().iter().filter(|r| r.service != "Health") {
        assert_eq!(r.header("authorization"), Some(format!("Bearer {token}").as_str()), "{}/{}", r.service, r.method);
        assert_eq!(r.auth, AuthOutcome::Accepted, "{}/{}", r.service, r.method);
    }

    // A token cannot sign: there is no key.
    let e = client.sign(b"{}").unwrap_err();
    assert_eq!((e.code(), e.path()), (Code::NotRegistered, Some(path.as_path())), "{e:?}");
    assert!(e.message().contains("static token"), "{e:?}");

    // Logout unregisters with the token and removes it with the rest of the credentials.
    client.logout(&LogoutOptions::default()).unwrap();
    let after = raw_file(&path);
    for gone in ["agent_mrn", "mrn", "token"] {
        assert!(after.get(gone).is_none(), "{gone} must be removed: {after}");
    }
    assert!(platform.agents().is_empty());
    assert!(!client.config().is_registered());
}

#[test]
fn an_unknown_or_revoked_static_token_gets_401() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (path, mrn, _) = token_credentials(&platform, dir.path());

    let unknown = dir.path().join("unknown.yml");
    std::fs::write(
        &unknown,
        format!("mrn: {mrn}\ntoken: never-issued-by-this-platform\napi_endpoint: {}\n", platform.url()),
    )
    .unwrap();
    let client = Client::new(Config::load_with(&load_at(&unknown)).unwrap(), options()).unwrap();
    let report = client.status().unwrap();
    assert!(report.client.registered && !report.client.authenticated);
    let refused = report.client.ping_pong_error.unwrap();
    assert_eq!((refused.rpc_code, refused.http_status), (Some(16), Some(401)));
    let e = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!((e.code(), e.http_status()), (Code::RpcUnauthenticated, Some(401)));

    // The issued token works until its account is revoked.
    let client = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap();
    client.call("Echo", "Say", &serde_json::json!({})).unwrap();
    assert!(platform.revoke(&mrn));
    let e = client.call("Echo", "Say", &serde_json::json!({})).unwrap_err();
    assert_eq!((e.code(), e.rpc_code(), e.http_status()), (Code::RpcUnauthenticated, Some(16), Some(401)));
    assert_eq!(client.status().unwrap().exit_code(), 1);
}

#[test]
fn static_token_configs_are_checked_when_loaded_and_replaced_by_a_token_login() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // mrn with neither a key nor a token is still a configuration error, naming both.
    let neither = dir.path().join("neither.yml");
    std::fs::write(&neither, "mrn: //agents.api.mondoo.app/x\n").unwrap();
    let e = Config::load_with(&load_at(&neither)).unwrap_err();
    assert_eq!((e.code(), e.path()), (Code::ConfigInvalid, Some(neither.as_path())));
    assert!(e.message().contains("`private_key` (or `token`)"), "{e:?}");
    // A token no HTTP header can carry fails at Client::new, naming the file and the key.
    let spaced = dir.path().join("spaced.yml");
    std::fs::write(&spaced, "mrn: //agents.api.mondoo.app/x\ntoken: two words\n").unwrap();
    let e = Client::new(Config::load_with(&load_at(&spaced)).unwrap(), options()).unwrap_err();
    assert_eq!((e.code(), e.path()), (Code::ConfigInvalid, Some(spaced.as_path())), "{e:?}");
    assert!(e.message().contains("`token`") && !e.message().contains("two words"), "{e:?}");

    // A token login over a static-token config: the new key replaces the token.
    let (path, _, _) = token_credentials(&platform, dir.path());
    let client = token_login(&platform, &path, options());
    assert!(raw_file(&path).get("token").is_none(), "{}", raw_file(&path));
    client.call("Echo", "Say", &serde_json::json!({})).unwrap();
    let echo = platform.requests().into_iter().rfind(|r| r.service == "Echo").unwrap();
    assert_eq!(echo.header("authorization").unwrap().matches('.').count(), 2, "a signed JWT bearer");
}
