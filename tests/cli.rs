//! The `mondoo` CLI example as a user runs it: output, stderr and exit codes.
//! (`cargo test` builds the examples next to the test binaries.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mondoo_platform::{Fault, FaultSpec, Platform, PlatformOptions, TokenSpec};

fn cli() -> PathBuf {
    // target/debug/deps/cli-HASH -> target/debug/examples/mondoo
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join("mondoo");
    assert!(
        path.exists(),
        "{} missing: plain `cargo test` builds the examples (or `cargo build --example mondoo`)",
        path.display()
    );
    path
}

/// A file of the repository's fixtures (`testdata/`).
fn testdata(rel: &str) -> String {
    format!("{}/{rel}", concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
}

/// Run the CLI with a clean environment (own HOME, no MONDOO_* or proxy variables).
fn run(home: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    run_with_env(home, args, &[], stdin)
}

/// `run` with these variables added to the clean environment.
fn run_with_env(home: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(cli());
    cmd.args(args).env_clear().env("HOME", home).env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn config_show_is_redacted_and_errors_exit_78() {
    let home = tempfile::tempdir().unwrap();
    let creds = testdata("service-account/credentials.json");
    let out = run(home.path(), &["config", "show", "--config", &creds, "--json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["source"], "--config");
    assert_eq!(json["registered"], true);
    assert!(!text(&out.stdout).contains("PRIVATE KEY"));

    // A service account with a static token: registered, and the token shown nowhere.
    let token = "mondoo-static-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
    let token_config = home.path().join("token.yml");
    std::fs::write(&token_config, format!("mrn: //agents.api.mondoo.app/spaces/s/serviceaccounts/t\ntoken: {token}\n"))
        .unwrap();
    for json in [true, false] {
        let mut args = vec!["config", "show", "--config", token_config.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = run(home.path(), &args, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        assert!(!shown.contains(&token[14..40]) && !text(&out.stderr).contains(&token[14..40]), "{shown}");
        if json {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                (json["registered"].clone(), json["config"]["token"].clone()),
                (true.into(), "<redacted>".into())
            );
        } else {
            assert!(shown.contains("registered:          true"), "{shown}");
        }
    }

    let missing = home.path().join("nope.yml");
    let out = run(home.path(), &["config", "show", "--config", missing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(78));
    let err = text(&out.stderr);
    assert!(err.contains("no config at") && err.contains("nope.yml"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");

    // A P-256 key is a configuration error too.
    let out = run(
        home.path(),
        &["sign", "--config", &testdata("service-account/credentials-p256.json"), "--body", "-"],
        Some(b"{}"),
    );
    assert_eq!(out.status.code(), Some(78));
    assert!(text(&out.stderr).contains("P-384"), "{}", text(&out.stderr));
}

#[test]
fn token_inspect_from_argument_file_and_stdin() {
    let home = tempfile::tempdir().unwrap();
    let valid = testdata("tokens/registration-valid.jwt");
    let token = std::fs::read_to_string(&valid).unwrap();
    for (args, stdin) in [
        (vec!["token", "inspect", token.trim()], None),
        (vec!["token", "inspect", "--token-file", valid.as_str()], None),
        (vec!["token", "inspect", "-"], Some(token.as_bytes())),
    ] {
        let out = run(home.path(), &args, stdin);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(claims["space"], "//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456");
    }
    let out =
        run(home.path(), &["token", "inspect", "--token-file", &testdata("tokens/registration-expired.jwt")], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("expired"), "{}", text(&out.stderr));
}

#[test]
fn sign_prints_the_bearer_alone() {
    let home = tempfile::tempdir().unwrap();
    let creds = testdata("service-account/credentials.json");
    let out = run(home.path(), &["sign", "--config", &creds, "--body", "-"], Some(b"{\"a\":1}\0binary"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let bearer = stdout.trim_end_matches('\n');
    assert_eq!(bearer.split('.').count(), 3);
    assert!(!bearer.contains(char::is_whitespace));
    let cert: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    let claims = mondoo::__private::signer::verify(
        bearer,
        b"{\"a\":1}\0binary",
        cert["certificate"].as_str().unwrap(),
        mondoo_now(),
    )
    .unwrap();
    assert_eq!(claims.sub, cert["mrn"]);
}

fn mondoo_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn login_status_checkin_logout_against_the_local_platform() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("etc").join("mondoo.yml");
    let cfg = config.to_str().unwrap();

    // Unregistered: status exits 1.
    let out = run(home.path(), &["status", "--api-endpoint", platform.url()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("x client is not registered"), "{}", text(&out.stdout));

    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let out = run(
        home.path(),
        &["login", "--config", cfg, "--name", "cli-test", "--annotation", "team=sre", "-"],
        Some(token.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("client authenticated successfully"));
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains("name: cli-test") && written.contains("team: sre"), "{written}");

    let out = run(home.path(), &["status", "--config", cfg], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("→ client authenticated successfully"));
    let out = run(home.path(), &["status", "--config", cfg, "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["client"]["registered"], true);
    assert_eq!(json["upstream"]["api"]["status"], "SERVING");

    let out = run(home.path(), &["checkin", "--config", cfg], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(home.path(), &["call", "Echo", "Say", "{\"ping\":true}", "--config", cfg], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"ping\": true"));

    // --timeout bounds the whole command: a slow-drip answer (headers at once, then a byte
    // every 500 ms for 30 s) ends as a timeout at 1 s.
    platform.inject(FaultSpec::new(Fault::SlowDrip { bytes: 60, interval_millis: 500 }).only("Echo/Say"));
    let started = std::time::Instant::now();
    let out = run(home.path(), &["call", "Echo", "Say", "--config", cfg, "--timeout", "1"], None);
    let elapsed = started.elapsed();
    println!("slow-drip answer with --timeout 1: the command ended after {elapsed:?}");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no complete answer within"), "{}", text(&out.stderr));
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");

    let out = run(home.path(), &["logout", "--config", cfg], None);
    assert_eq!(out.status.code(), Some(64), "logout needs --force, a usage error");
    assert!(text(&out.stderr).contains("--force"), "{}", text(&out.stderr));
    let out = run(home.path(), &["logout", "--force", "--config", cfg], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(!after.contains("PRIVATE KEY") && !after.contains("agent_mrn"), "{after}");
    assert!(after.contains("name: cli-test"));
}

#[test]
fn login_token_from_environment_variable() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("mondoo.yml");
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let login = ["login", "--config", config.to_str().unwrap()];
    let out = run_with_env(home.path(), &login, &[("MONDOO_REGISTRATION_TOKEN", &token)], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains(&token) && !text(&out.stderr).contains(&token));
    assert!(std::fs::read_to_string(&config).unwrap().contains("agent_mrn"));
}

#[test]
fn a_non_utf8_environment_variable_is_ignored_not_a_crash() {
    use std::os::unix::ffi::OsStrExt;
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(cli())
        .args(["status", "--api-endpoint", platform.url()])
        .env_clear()
        .env("HOME", home.path())
        .env("NOT_UTF8", std::ffi::OsStr::from_bytes(b"\xff\xfe"))
        .env(std::ffi::OsStr::from_bytes(b"MONDOO_\xff"), "x")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "unregistered, not a panic: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("x client is not registered"));
}

#[test]
fn login_over_tls_through_a_proxy_with_the_ca_from_ssl_cert_file() {
    let platform = Platform::start(PlatformOptions::tls()).unwrap();
    let proxy = mondoo_platform::ConnectProxy::start(false).unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("mondoo.yml");
    let (cfg, proxy_url) = (config.to_str().unwrap(), proxy.url());
    let ca = platform.ca_file().unwrap().to_str().unwrap().to_string();
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let login =
        ["login", "--token", &token, "--api-endpoint", platform.url(), "--api-proxy", &proxy_url, "--config", cfg];

    // Without the test CA the TLS handshake fails: a non-configuration failure, exit 1.
    let out = run(home.path(), &login, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!config.exists());

    // SSL_CERT_FILE (corporate TLS interception) is trusted by the platform verifier.
    let out = run_with_env(home.path(), &login, &[("SSL_CERT_FILE", &ca)], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(proxy.tunnels() >= 2, "RegisterAgent and PingPong went through the proxy: {}", proxy.tunnels());
    assert!(proxy.targets().iter().all(|t| platform.url().ends_with(t.as_str())), "{:?}", proxy.targets());
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains(&format!("api_endpoint: {}", platform.url())), "{written}");
    // the proxy was a flag, not a config key
    assert!(!written.contains("api_proxy"), "{written}");
}

#[test]
fn login_token_file_sign_body_file_and_the_exit_codes_of_status_and_checkin() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("mondoo.yml");
    let cfg = config.to_str().unwrap();

    // check-in before registering (a config without credentials): exit 1, one clear line
    std::fs::write(&config, format!("api_endpoint: {}\n", platform.url())).unwrap();
    let out = run(home.path(), &["checkin", "--config", cfg], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).trim_end().lines().count(), 1, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("register the client"), "{}", text(&out.stderr));

    let token_file = home.path().join("token");
    std::fs::write(&token_file, platform.mint_token(&TokenSpec::default()).unwrap() + "\n").unwrap();
    let login = ["login", "--token-file", token_file.to_str().unwrap(), "--api-endpoint", platform.url()];
    let out = run(home.path(), &[&login[..], &["--config", cfg]].concat(), None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // sign --body FILE: the bearer alone, verified by the platform's check
    let body = home.path().join("body.bin");
    std::fs::write(&body, b"binary\0body").unwrap();
    let out = run(home.path(), &["sign", "--config", cfg, "--body", body.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bearer = text(&out.stdout);
    assert_eq!(bearer.trim_end().matches('.').count(), 2, "{bearer}");
    let written =
        mondoo::Config::load_with(&mondoo::LoadOptions::new().with_path(config.clone()).with_env(Default::default()))
            .unwrap();
    let certificate = written.get("certificate").unwrap();
    mondoo::__private::signer::verify(bearer.trim_end(), b"binary\0body", &certificate, mondoo_now()).unwrap();

    // registered but rejected: status exits 1
    assert!(platform.revoke(&written.get("mrn").unwrap()));
    let out = run(home.path(), &["status", "--config", cfg], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("x could not connect to mondoo platform error="), "{}", text(&out.stdout));

    // a config that does not parse: 78, naming the file
    std::fs::write(&config, "mrn: [unclosed\n").unwrap();
    for command in ["status", "checkin"] {
        let out = run(home.path(), &[command, "--config", cfg], None);
        assert_eq!(out.status.code(), Some(78), "{command}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(cfg), "{command}: {}", text(&out.stderr));
    }
}

#[test]
fn config_show_never_prints_a_password_key_or_token_in_any_field() {
    let home = tempfile::tempdir().unwrap();
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testdata("service-account/credentials.json")).unwrap()).unwrap();
    let pem = creds["private_key"].as_str().unwrap();
    let jwt = std::fs::read_to_string(testdata("tokens/registration-valid.jwt")).unwrap().trim().to_string();
    let indented: String = pem.lines().map(|l| format!("    {l}\n")).collect();
    let config = home.path().join("mondoo.yml");
    std::fs::write(
        &config,
        format!(
            "mrn: //agents.api.mondoo.app/spaces/s/serviceaccounts/x\nprivate_key: |\n{indented}\
             certificate: |\n{indented}privateKey: |\n{indented}nested:\n  private_key: |\n{indented}\
             labels:\n  token: {jwt}\nname: \"{}\"\n\
             api_proxy: http://alice:hunter2-proxy-password@proxy.example:3128\n\
             api_endpoint: https://bob:hunter2-endpoint-password@api.example.com\n\
             space_mrn: \"{jwt}\"\n",
            pem.replace('\n', "\\n")
        ),
    )
    .unwrap();
    let key_line = pem.lines().nth(1).unwrap();
    let jwt_signature = jwt.rsplit('.').next().unwrap();
    for json in [false, true] {
        let mut args = vec!["config", "show", "--config", config.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = run(home.path(), &args, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        for secret in ["hunter2-proxy-password", "hunter2-endpoint-password", key_line, jwt_signature, "PRIVATE KEY"] {
            assert!(!shown.contains(secret), "config show (json: {json}) prints {secret:?}:\n{shown}");
        }
        assert!(shown.contains("redacted@proxy.example:3128"), "{shown}");
        assert!(shown.contains("redacted@api.example.com"), "{shown}");
    }
}

#[test]
fn an_invalid_proxy_is_reported_without_its_password() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("mondoo.yml");
    std::fs::write(&config, "name: x\n").unwrap();
    let cfg = config.to_str().unwrap();
    let bad = "http://alice:hunter2-proxy-password@[::1";
    for (args, env) in [
        (vec!["status", "--config", cfg, "--api-proxy", bad], vec![]),
        (vec!["status", "--config", cfg], vec![("MONDOO_API_PROXY", bad)]),
    ] {
        let out = run_with_env(home.path(), &args, &env, None);
        assert_ne!(out.status.code(), Some(0));
        let err = text(&out.stderr);
        assert!(err.contains("invalid proxy URL") && err.contains("redacted@[::1"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn an_empty_config_path_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let default = home.path().join(".config/mondoo/mondoo.yml");
    std::fs::create_dir_all(default.parent().unwrap()).unwrap();
    std::fs::write(&default, "name: the-default\n").unwrap();
    for args in [vec!["config", "show", "--config", ""], vec!["config", "show", "--config="]] {
        let out = run(home.path(), &args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains("the config path is empty"), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "the default file must not be shown: {}", text(&out.stdout));
    }
}

/// Every command, as `help COMMAND` names it.
const COMMANDS: &[&str] = &["config show", "token inspect", "sign", "login", "status", "logout", "checkin", "call"];

#[test]
fn help_flags_and_the_help_command_print_usage_and_exit_0() {
    let home = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let out = run(home.path(), args, None);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("Usage: mondoo COMMAND"), "{args:?}: {stdout}");
        for command in COMMANDS {
            assert!(stdout.contains(&format!("  {command} ")), "{args:?} lists {command}: {stdout}");
        }
        assert!(stdout.contains("64 usage error"), "{args:?} documents the exit codes: {stdout}");
    }
    for command in COMMANDS {
        let words: Vec<&str> = command.split(' ').collect();
        let usage_line = format!("Usage: mondoo {command} ");
        let ways = [
            [&["help"][..], &words].concat(),
            [&words[..], &["--help"]].concat(),
            [&words[..], &["-h"]].concat(),
            // the first word alone names the command too: `help token`
            vec!["help", words[0]],
        ];
        for args in ways {
            let out = run(home.path(), &args, None);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
            assert!(text(&out.stdout).starts_with(&usage_line), "{args:?}: {}", text(&out.stdout));
        }
    }
    // help wins over everything else on the line: nothing runs, not even a config load
    let out = run(home.path(), &["status", "--config", "/nonexistent/mondoo.yml", "--help"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Usage: mondoo status "), "{}", text(&out.stdout));
}

#[test]
fn usage_errors_exit_64_with_one_line_on_stderr() {
    let home = tempfile::tempdir().unwrap();
    let creds = testdata("service-account/credentials.json");
    let cases: &[(&[&str], &str)] = &[
        (&[], "no command given"),
        (&["frobnicate"], "unknown command \"frobnicate\""),
        (&["help", "frobnicate"], "no command \"frobnicate\""),
        (&["token"], "mondoo token inspect"),
        (&["status", "--verbose"], "unknown option --verbose"),
        (&["status", "-v"], "unknown option -v"),
        (&["status", "--json=yes"], "--json takes no value"),
        (&["status", "--config"], "--config needs a value"),
        (&["status", "extra"], "status takes no arguments, got 1"),
        (&["status", "--body", "x"], "status takes no option --body"),
        (&["status", "--timeout", "soon"], "--timeout \"soon\" is not a number"),
        (&["call", "Echo"], "call takes 2 to 3 arguments, got 1"),
        (&["call", "Echo", "Say", "{not json", "--config", &creds], "the payload is not JSON"),
        (&["sign", "--config", &creds], "sign needs --body"),
        (&["login", "--annotation", "novalue"], "is not K=V"),
        (&["logout"], "confirm with --force"),
    ];
    for (args, expected) in cases {
        let out = run(home.path(), args, None);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(expected), "{args:?}: {stderr}");
        assert!(stderr.contains("(see `mondoo help"), "{args:?} points at help: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
    // A long first word may be a token pasted in the wrong place: it is not echoed.
    let token = std::fs::read_to_string(testdata("tokens/registration-valid.jwt")).unwrap();
    let out = run(home.path(), &[token.trim()], None);
    assert_eq!(out.status.code(), Some(64));
    assert!(!text(&out.stderr).contains(token.trim()), "{}", text(&out.stderr));
}

#[test]
fn token_inspect_of_a_path_points_at_token_file() {
    let home = tempfile::tempdir().unwrap();
    let valid = testdata("tokens/registration-valid.jwt");
    // an existing file: named, with the flag that reads it
    let out = run(home.path(), &["token", "inspect", &valid], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains(&format!("--token-file {valid}")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // a path that does not exist: still a path (a token has no '/'), and not echoed
    let out = run(home.path(), &["token", "inspect", "./tokens/missing.jwt"], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("looks like a file path") && stderr.contains("--token-file"), "{stderr}");
    assert!(!stderr.contains("missing.jwt"), "{stderr}");
    // login takes its token the same way
    let out = run(home.path(), &["login", "--config", home.path().join("m.yml").to_str().unwrap(), &valid], None);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--token-file"), "{}", text(&out.stderr));
    assert!(!home.path().join("m.yml").exists(), "nothing written");
    // a token that is not one, given as text, is still the token check's failure (exit 1)
    let out = run(home.path(), &["token", "inspect", "not-a-token"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not a valid registration token"), "{}", text(&out.stderr));
}

#[test]
fn a_transport_error_names_the_url_once() {
    let home = tempfile::tempdir().unwrap();
    // a port that was bound and released: nothing listens there, the connect is refused
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let creds = testdata("service-account/credentials.json");
    let out = run(home.path(), &["call", "Echo", "Say", "--config", &creds, "--api-endpoint", &endpoint], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("error: POST {endpoint}/Echo/Say: ")), "{stderr}");
    assert_eq!(stderr.matches(&format!("127.0.0.1:{port}")).count(), 1, "the URL once: {stderr}");
    assert!(!stderr.contains("for url"), "{stderr}");
}

#[test]
fn status_and_call_with_a_workload_identity_document() {
    let platform = Platform::start(PlatformOptions::with_fixtures()).unwrap();
    let (audience, workload) = ("cli-audience", "repo:mondoohq/cli:ref:refs/heads/main");
    platform.authorize_workload(platform.oidc().issuer(), audience, workload, mondoo_platform::FIXTURE_SPACE);
    let jwt = platform.oidc().mint(workload, audience, 300).unwrap();
    let home = tempfile::tempdir().unwrap();
    let wif = home.path().join("wif.json");
    let doc = serde_json::json!({"type": "external_account", "audience": audience,
        "issuerUri": platform.oidc().issuer(), "universeDomain": platform.url()});
    std::fs::write(&wif, doc.to_string()).unwrap();
    let cfg = wif.to_str().unwrap();
    let env = [("JWT_TOKEN", jwt.as_str())];
    let out = run_with_env(home.path(), &["status", "--config", cfg], &env, None);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("Auth Method:\t\tworkload_identity") && stdout.contains("Credential Expires:"), "{stdout}");
    let out = run_with_env(home.path(), &["call", "AgentManager", "PingPong", "{}", "--config", cfg], &env, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let query = r#"query($s: String!) { viewer { mrn } space(mrn: $s) { mrn } }"#;
    let variables = serde_json::json!({"s": mondoo_platform::FIXTURE_SPACE}).to_string();
    let graphql =
        run_with_env(home.path(), &["graphql", "--config", cfg, "--variables", &variables, query], &env, None);
    assert_eq!(graphql.status.code(), Some(0), "{}", text(&graphql.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&graphql.stdout).unwrap();
    assert_eq!(answer["data"]["space"]["mrn"], mondoo_platform::FIXTURE_SPACE, "{answer}");
    assert_eq!(Some(answer["data"]["viewer"]["mrn"].as_str().unwrap()), exchanged_account(&platform).as_deref());
    for output in [text(&out.stdout), text(&out.stderr), stdout, text(&graphql.stdout), text(&graphql.stderr)] {
        assert!(!output.contains("PRIVATE KEY") && !output.contains(&jwt), "{output}");
    }
    assert_eq!(std::fs::read_to_string(&wif).unwrap(), doc.to_string(), "the document is never written");
}

/// The service account the platform's last successful exchange made.
fn exchanged_account(platform: &Platform) -> Option<String> {
    platform.requests().iter().rev().filter(|r| r.status == 200).find_map(|r| r.exchange.as_ref()?.account_mrn.clone())
}

#[test]
fn status_call_and_graphql_with_auth_method_ssh_through_a_real_agent() {
    let platform = Platform::start(PlatformOptions::with_fixtures()).unwrap();
    let agent = mondoo_platform::ssh_agent::SshAgent::start();
    let identity = "//captain.api.mondoo.app/users/cli-ssh-user";
    let key = agent.add_key("ed25519");
    platform.authorize_ssh_key(identity, mondoo_platform::FIXTURE_SPACE, &key).unwrap();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("mondoo.yml");
    let config = format!(
        "auth:\n  method: ssh\nmrn: {identity}\nspace_mrn: {}\napi_endpoint: {}\n",
        mondoo_platform::FIXTURE_SPACE,
        platform.url()
    );
    std::fs::write(&path, &config).unwrap();
    let cfg = path.to_str().unwrap();
    let socket = agent.socket().display().to_string();
    let env = [("SSH_AUTH_SOCK", socket.as_str())];

    let status = run_with_env(home.path(), &["status", "--config", cfg], &env, None);
    let stdout = text(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{stdout}{}", text(&status.stderr));
    assert!(stdout.contains("Auth Method:\t\tssh") && stdout.contains("Credential Expires:"), "{stdout}");
    let account = exchanged_account(&platform).expect("status exchanged");
    assert!(stdout.contains(&account), "status names the exchanged account: {stdout}");

    let call = run_with_env(home.path(), &["call", "AgentManager", "PingPong", "{}", "--config", cfg], &env, None);
    assert_eq!(call.status.code(), Some(0), "{}", text(&call.stderr));
    let ping = platform.requests().into_iter().rfind(|r| r.method == "PingPong").unwrap();
    assert_eq!(ping.subject, exchanged_account(&platform), "the call is the exchanged account's");

    let graphql = run_with_env(home.path(), &["graphql", "--config", cfg, "{ viewer { mrn } }"], &env, None);
    assert_eq!(graphql.status.code(), Some(0), "{}", text(&graphql.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&graphql.stdout).unwrap();
    assert_eq!(Some(answer["data"]["viewer"]["mrn"].as_str().unwrap()), exchanged_account(&platform).as_deref());
    let body = home.path().join("body.json");
    std::fs::write(&body, b"{}").unwrap();
    let sign = run_with_env(home.path(), &["sign", "--body", body.to_str().unwrap(), "--config", cfg], &env, None);
    assert_eq!(sign.status.code(), Some(0), "{}", text(&sign.stderr));
    let bearer = text(&sign.stdout);
    let header = bearer.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"].as_str(), exchanged_account(&platform).as_deref(), "signed as the exchanged account");
    let fingerprints: Vec<_> =
        platform.requests().iter().filter_map(|r| r.exchange.as_ref()?.key_fingerprint.clone()).collect();
    assert_eq!(fingerprints, vec![agent.fingerprint("ed25519"); 4], "one exchange per process, with the agent's key");

    // without an agent: the CLI says so and exits non-zero
    let no_agent = run(home.path(), &["call", "AgentManager", "PingPong", "{}", "--config", cfg], None);
    assert_ne!(no_agent.status.code(), Some(0));
    assert!(text(&no_agent.stderr).contains("SSH_AUTH_SOCK"), "{}", text(&no_agent.stderr));
    for output in [stdout, text(&call.stdout), text(&call.stderr), text(&graphql.stdout), text(&graphql.stderr)] {
        assert!(!output.contains("PRIVATE KEY"), "{output}");
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), config, "the config is never written");
}

#[test]
fn graphql_prints_the_answer_and_pages_through_a_connection() {
    let platform = mondoo_platform::Platform::start(mondoo_platform::PlatformOptions::default()).unwrap();
    let space = "//captain.api.mondoo.app/spaces/graphql-cli";
    platform.add_assets(space, 3);
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("mondoo.json");
    std::fs::write(&path, platform.create_service_account(space).unwrap().to_string()).unwrap();
    let config = path.to_str().unwrap();
    let variables = serde_json::json!({"space": space}).to_string();

    let out = run(home.path(), &["graphql", "--config", config, "{ viewer { mrn } }"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(answer["data"]["viewer"]["mrn"].is_string(), "{answer}");

    let query = "query($space: String!, $after: String) { assets(spaceMrn: $space, first: 1, after: $after) \
                 { edges { node { name } } pageInfo { endCursor hasNextPage } } }";
    let out = run(
        home.path(),
        &["graphql", "--config", config, "--variables", &variables, "--paginate", "assets", query],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("\"hasNextPage\"").count(), 3, "{}", text(&out.stdout));

    let out = run(home.path(), &["graphql", "--config", config, "{ nope }"], None);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("\"errors\""), "{}", text(&out.stdout));
}
