//! Where `login` may write its config (issue 14, F3), as users run it: the CLI example
//! logs in against the local platform, as root (this process) and as `nobody` (a child
//! whose privileges `setpriv` drops). A symbolic link another user planted is not
//! followed, a directory others can write is refused, and the writer's own places work.
//! The rules themselves are unit-tested in src/config/write_checks.rs.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mondoo_platform::{Platform, PlatformOptions, TokenSpec};

const NOBODY: u32 = 65534;
const OTHER: u32 = 4242;

fn cli() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join("mondoo");
    assert!(path.exists(), "{} missing: `cargo test` builds the examples", path.display());
    path
}

/// `mondoo login --config CONFIG -` with a fresh token on stdin, as `uid` (this process's
/// user, or another one through `setpriv`), with `home` as HOME and a clean environment.
fn login(platform: &Platform, config: &Path, home: &Path, uid: Option<u32>) -> Output {
    let token = platform.mint_token(&TokenSpec::default()).unwrap();
    let mut cmd = match uid {
        Some(uid) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}")).arg(format!("--regid={uid}")).arg("--clear-groups").arg("--").arg(cli());
            c
        }
        None => Command::new(cli()),
    };
    cmd.args(["login", "--config", config.to_str().unwrap(), "-"]);
    cmd.env_clear().env("HOME", home).env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("setpriv (util-linux) runs the CLI as another user");
    child.stdin.take().unwrap().write_all(token.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
}

/// A directory `name` under `base` with this owner and mode.
fn dir(base: &Path, name: &str, owner: u32, mode: u32) -> PathBuf {
    let d = base.join(name);
    std::fs::create_dir(&d).unwrap();
    chown(&d, owner);
    chmod(&d, mode);
    d
}

fn base() -> tempfile::TempDir {
    assert_eq!(unsafe { libc::geteuid() }, 0, "these tests play several users: run them as root (CI does)");
    let base = tempfile::tempdir().unwrap();
    chmod(base.path(), 0o755); // so `nobody` can reach what is inside
    base
}

#[test]
fn root_does_not_follow_a_link_another_user_planted_in_a_sticky_directory() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let base = base();
    let victim_dir = dir(base.path(), "root-only", 0, 0o700);
    let victim = victim_dir.join("victim");
    std::fs::write(&victim, "precious: true\n").unwrap();
    // /tmp-like: root's, sticky, world-writable; the link is another user's
    let shared = dir(base.path(), "shared", 0, 0o1777);
    let planted = shared.join("mondoo.yml");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    chown(&planted, OTHER);

    let out = login(&platform, &planted, base.path(), None);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("refusing to write config") && err.contains("symbolic link owned by uid 4242"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious: true\n");
    assert!(std::fs::symlink_metadata(&planted).unwrap().file_type().is_symlink());

    // root's own link in the same place is followed, as before
    std::fs::remove_file(&planted).unwrap();
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let out = login(&platform, &planted, base.path(), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&victim).unwrap().contains("private_key"));
}

#[test]
fn an_unprivileged_user_writes_only_where_nobody_else_can() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let base = base();
    let home = dir(base.path(), "home", NOBODY, 0o700);

    // its own directory: works, and the file is its own, 0600
    let own = dir(base.path(), "own", NOBODY, 0o700);
    let config = own.join("mondoo.yml");
    let out = login(&platform, &config, &home, Some(NOBODY));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let meta = std::fs::metadata(&config).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o600));

    // world-writable, not sticky: anyone could swap the file
    let open = dir(base.path(), "open", 0, 0o777);
    let out = login(&platform, &open.join("mondoo.yml"), &home, Some(NOBODY));
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("is writable by every user (mode 0777)"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0, "nothing written, no temp file left");

    // sticky but root's (/tmp): not the user's own
    let tmp = dir(base.path(), "tmp", 0, 0o1777);
    let out = login(&platform, &tmp.join("mondoo.yml"), &home, Some(NOBODY));
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("or a sticky one you own"), "{}", stderr(&out));

    // sticky and its own: fine
    let sticky_own = dir(base.path(), "sticky-own", NOBODY, 0o1777);
    let out = login(&platform, &sticky_own.join("mondoo.yml"), &home, Some(NOBODY));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // a link in its own directory, planted by another user, to a file it owns
    let target = own.join("real.yml");
    std::fs::write(&target, "name: mine\n").unwrap();
    chown(&target, NOBODY);
    let link = own.join("link.yml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    chown(&link, OTHER);
    let out = login(&platform, &link, &home, Some(NOBODY));
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("belong to you (uid 65534) or root"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "name: mine\n");
    // the same link as its own is followed
    chown(&link, NOBODY);
    let out = login(&platform, &link, &home, Some(NOBODY));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&target).unwrap().contains("private_key"));
}
