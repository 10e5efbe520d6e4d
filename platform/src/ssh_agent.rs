//! An OpenSSH `ssh-agent` for tests of the SSH exchange (protocol 8): the real agent on a
//! socket of its own, keys made by `ssh-keygen` and added by `ssh-add`, killed when dropped.
//! Shared by the platform's SecureTokenService tests and the client's keyless tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `ssh-agent -D -a SOCKET`; panics (it is test support) when OpenSSH fails.
pub struct SshAgent {
    child: Child,
    dir: tempfile::TempDir,
    socket: PathBuf,
}

impl SshAgent {
    /// Start the agent and wait (up to 20 s) for its socket.
    pub fn start() -> SshAgent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("OpenSSH ssh-agent runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "ssh-agent made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        SshAgent { child, dir, socket }
    }

    /// The agent's socket (what `SSH_AUTH_SOCK` names).
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A directory that lives as long as the agent (its keys are there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// An environment with `SSH_AUTH_SOCK` pointing at this agent.
    pub fn env(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("SSH_AUTH_SOCK".to_string(), self.socket.display().to_string())])
    }

    /// A new key of `kind` (ed25519, ecdsa, ecdsa-384, rsa) added to the agent; its
    /// OpenSSH public key.
    pub fn add_key(&self, kind: &str) -> String {
        let path = self.dir.path().join(format!("id_{kind}"));
        let (key_type, bits): (&str, &[&str]) = match kind {
            "ecdsa-384" => ("ecdsa", &["-b", "384"]),
            "rsa" => ("rsa", &["-b", "2048"]),
            other => (other, &[]),
        };
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", key_type])
            .args(bits)
            .args(["-N", "", "-C", kind, "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ssh-keygen -t {kind}");
        self.add_key_file(&path);
        std::fs::read_to_string(path.with_extension("pub")).unwrap()
    }

    /// `ssh-add` the private key at `path`.
    pub fn add_key_file(&self, path: &Path) {
        let status = Command::new("ssh-add")
            .arg("-q")
            .arg(path)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ssh-add {}", path.display());
    }

    /// The fingerprint `ssh-keygen -l -E sha256` prints for the key of `kind`.
    pub fn fingerprint(&self, kind: &str) -> String {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(self.dir.path().join(format!("id_{kind}.pub")))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().split_whitespace().nth(1).unwrap().to_string()
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
