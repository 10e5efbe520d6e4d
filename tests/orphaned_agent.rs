//! Check before you register (issue 14 F5): login verifies that it can write the config
//! before `RegisterAgent`, so a config that cannot be written leaves no agent behind; if
//! the write still fails after registering, the error names the agent, says how to
//! unregister it, and carries its credentials, which work.

use std::path::Path;
use std::time::{Duration, Instant};

use mondoo::blocking::Client;
use mondoo::{Code, Config};
use mondoo::{LogoutOptions, RegisterOptions};
use mondoo_platform::{Fault, FaultSpec, Platform, PlatformOptions, TokenSpec};

mod common;
use common::{load_at, options};

fn register_agent_requests(platform: &Platform) -> usize {
    platform.requests().iter().filter(|r| r.service == "AgentManager" && r.method == "RegisterAgent").count()
}

fn token_login_at(platform: &Platform, path: &Path) -> mondoo::Result<mondoo::Registration> {
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let client = Client::new(Config::for_registration(&load_at(path)).unwrap(), options()).unwrap();
    client.register(Some(&token), &RegisterOptions::default())
}

#[test]
fn an_unwritable_config_fails_login_before_register_agent() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // a directory that is a file's path: nothing can be created under it, also as root
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    // (a writable place first: the check leaves neither a file nor a directory it made)
    let platform_down = Platform::start(PlatformOptions::default()).unwrap();
    platform_down.inject(FaultSpec::new(Fault::status(14, "down")).times(100));
    let fresh = dir.path().join("new").join("deeper").join("mondoo.yml");
    token_login_at(&platform_down, &fresh).unwrap_err();
    assert!(!dir.path().join("new").exists(), "a failed login left the directories the check made");
    let e = token_login_at(&platform, &blocker.join("mondoo.yml")).unwrap_err();
    assert_eq!(e.code(), Code::Io, "{e:?}");
    assert!(e.message().contains("checked before contacting the platform"), "{}", e.message());
    assert_eq!(register_agent_requests(&platform), 0, "RegisterAgent was sent");
    assert!(platform.agents().is_empty());

    // a directory every user can write (write_checks refuses it)
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let e = token_login_at(&platform, &shared.join("mondoo.yml")).unwrap_err();
    assert_eq!(e.code(), Code::ConfigNotWritable, "{e:?}");
    assert_eq!(register_agent_requests(&platform), 0, "RegisterAgent was sent");

    // a dangling link into a directory that is a file's path
    let dangling = dir.path().join("dangling.yml");
    std::os::unix::fs::symlink(blocker.join("mondoo.yml"), &dangling).unwrap();
    token_login_at(&platform, &dangling).unwrap_err();
    assert_eq!(register_agent_requests(&platform), 0, "RegisterAgent was sent");
    assert!(platform.agents().is_empty());
    // and the check left nothing behind
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    names.sort();
    assert_eq!(names, ["dangling.yml", "file", "shared"]);
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
}

/// Once RegisterAgent has arrived (its delaying fault is used, so the check before it
/// passed), a file takes the config directory's name: the write after it fails.
fn replace_dir_with_a_file_once_register_agent_arrived(platform: &Platform, config_dir: &std::path::Path) {
    let started = Instant::now();
    while !platform.pending_faults().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "RegisterAgent never arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    // the check removed the directory it made; a file takes its name
    let _ = std::fs::remove_dir_all(config_dir);
    std::fs::write(config_dir, "now a file").unwrap();
}

#[test]
fn a_write_failing_after_register_agent_names_the_agent_and_hands_over_working_credentials() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    let path = config_dir.join("mondoo.yml");
    // RegisterAgent is answered 2 s late; once it has arrived (the check before it passed),
    // a file takes the config directory's name, so the write after it fails
    platform.inject(FaultSpec::new(Fault::Slow { millis: 2000 }).only("AgentManager/RegisterAgent"));
    let e = std::thread::scope(|scope| {
        let saboteur = scope.spawn(|| replace_dir_with_a_file_once_register_agent_arrived(&platform, &config_dir));
        let e = token_login_at(&platform, &path).unwrap_err();
        saboteur.join().unwrap();
        e
    });

    let agents = platform.agents();
    assert_eq!(agents.len(), 1, "one agent registered");
    let agent = &agents[0].mrn;
    assert!(e.message().contains(&format!("agent {agent} was registered")), "{}", e.message());
    assert!(e.message().contains("logout"), "says how to unregister: {}", e.message());
    assert!(!format!("{e:?}").contains("PRIVATE KEY") && !e.to_string().contains("PRIVATE KEY"));

    // the credentials work: they sign calls the platform accepts, check in, and log out
    let document = e.orphaned_credentials().expect("the error carries the credentials");
    let saved = dir.path().join("saved.json");
    std::fs::write(&saved, document.as_bytes()).unwrap();
    let config = Config::load_with(&load_at(&saved)).unwrap();
    assert_eq!(config.agent_mrn().as_deref(), Some(agent.as_str()));
    let client = Client::new(config, options()).unwrap();
    let echoed = client.call("Echo", "Say", &serde_json::json!({"after": "orphan"})).unwrap();
    assert_eq!(echoed["after"], "orphan");
    client.checkin().unwrap();
    assert_eq!(platform.agents()[0].check_ins, 1);
    client.logout(&LogoutOptions::default()).unwrap();
    assert!(platform.agents().is_empty(), "the agent was unregistered");
}

/// The CLI example built beside the tests.
fn cli() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join("mondoo");
    assert!(path.exists(), "{} missing: `cargo test` builds the examples", path.display());
    path
}

#[test]
fn the_cli_saves_orphaned_credentials_to_a_new_0600_file() {
    use std::os::unix::fs::PermissionsExt;
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    let saved = dir.path().join("saved.json");
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    platform.inject(FaultSpec::new(Fault::Slow { millis: 2000 }).only("AgentManager/RegisterAgent"));
    let out = std::thread::scope(|scope| {
        let saboteur = scope.spawn(|| replace_dir_with_a_file_once_register_agent_arrived(&platform, &config_dir));
        let out = std::process::Command::new(cli())
            .args(["login", "--config", config_dir.join("mondoo.yml").to_str().unwrap(), "--token", &token])
            .args(["--save-credentials-on-failure", saved.to_str().unwrap()])
            .env_clear()
            .env("HOME", dir.path())
            .output()
            .unwrap();
        saboteur.join().unwrap();
        out
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let agent = platform.agents()[0].mrn.clone();
    assert!(stderr.contains(&format!("agent {agent} was registered")), "{stderr}");
    assert!(stderr.contains(&format!("saved to {}", saved.display())), "{stderr}");
    assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
    let client = Client::new(Config::load_with(&load_at(&saved)).unwrap(), options()).unwrap();
    client.checkin().unwrap();
}

/// A full filesystem (issue 14 F5): the CLI logs in to a config on a 64 KiB tmpfs that is
/// already full, in a mount namespace of its own (`unshare`, as root or through a user
/// namespace), and fails at the check, before `RegisterAgent`.
#[test]
fn a_full_filesystem_fails_login_before_register_agent() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mount_point = dir.path().join("full");
    std::fs::create_dir(&mount_point).unwrap();
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    // `unshare -r` maps the caller to root in a new user namespace, which may mount a tmpfs
    let script = r#"mount -t tmpfs -o size=64k tmpfs "$1" || exit 90
head -c 1048576 /dev/zero > "$1/filler" 2>/dev/null
[ "$(df --output=avail "$1" | tail -1)" -eq 0 ] || exit 91
exec "$2" login --config "$1/mondoo.yml" --token "$3""#;
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--user", "--map-root-user", "sh", "-c", script, "sh"])
        .arg(&mount_point)
        .arg(cli())
        .arg(&token)
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(90), "could not mount a tmpfs in a new namespace: {stderr}");
    assert_ne!(out.status.code(), Some(91), "the tmpfs did not fill up: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("checked before contacting the platform"), "{stderr}");
    assert_eq!(register_agent_requests(&platform), 0, "RegisterAgent was sent");
    assert!(platform.agents().is_empty());
}
