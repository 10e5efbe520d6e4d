//! Crash consistency of config writes (issue 7, point 3).
//!
//! A child process (this test binary, re-run with `MONDOO_CRASH_WRITER`) rewrites one
//! config in a loop, alternating document A (through `Config::save`) and document B
//! (through `config::write_atomic`). The parent SIGKILLs it at a random moment, over
//! and over, and after each kill checks that the file parses and is byte-for-byte A or
//! B, never a mix, a truncation or nothing.
//!
//! Temporary files: a kill between creating the temp file and renaming it leaves it
//! behind (nothing can prevent that). "Not for long" is defined as: the next successful
//! write to the same config removes temp files whose writer is dead, so they never
//! accumulate.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mondoo::{Config, LoadOptions};

/// Kills the test must survive.
const KILLS: usize = 1000;
/// A safety bound on the whole loop (a normal run takes a fraction of it).
const DEADLINE: Duration = Duration::from_secs(240);
/// Set in the child: the config path it writes.
const CHILD_ENV: &str = "MONDOO_CRASH_WRITER";

/// A registered config with a PEM key: large enough (a few KiB) that a torn write
/// would show. Both documents differ in every key's value and in length.
fn document(which: char) -> String {
    let key_line = format!("  {}\n", "MIIG".repeat(16));
    let key = format!(
        "-----BEGIN PRIVATE KEY-----\n{}-----END PRIVATE KEY-----\n",
        key_line.repeat(if which == 'A' { 40 } else { 55 })
    );
    let indented: String = key.lines().map(|l| format!("  {}\n", l.trim_start())).collect();
    format!(
        "agent_mrn: //agents.api.mondoo.app/spaces/s/agents/{which}{which}{which}\n\
         api_endpoint: https://{}.api.mondoo.com\n\
         mrn: //agents.api.mondoo.app/spaces/s/serviceaccounts/{which}\n\
         space_mrn: //captain.api.mondoo.app/spaces/s\n\
         private_key: |\n{indented}\
         scan_interval:\n  timer: {}\n",
        if which == 'A' { "us" } else { "eu" },
        if which == 'A' { 60 } else { 3600 },
    )
}

fn load_at(path: &Path) -> LoadOptions {
    LoadOptions::new().with_path(path.to_path_buf()).with_env(BTreeMap::new())
}

/// The bytes `Config::save` writes for `text` (its canonical form).
fn saved_bytes(text: &str, scratch: &Path) -> Vec<u8> {
    let mut c = Config::parse(text).unwrap();
    c.set_path(scratch.to_path_buf());
    c.save().unwrap();
    std::fs::read(scratch).unwrap()
}

/// Temp files `write_atomic` leaves beside `path` (`.NAME.tmp-…`).
fn temp_files(path: &Path) -> Vec<PathBuf> {
    let prefix = format!(".{}.tmp", path.file_name().unwrap().to_string_lossy());
    let mut found: Vec<PathBuf> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&prefix))
        .collect();
    found.sort();
    found
}

/// A small xorshift: random kill moments without a dependency; the seed is printed so
/// a failing run can be repeated (`MONDOO_CRASH_SEED`).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The child: write A and B alternately until killed. Prints `ready` after its first
/// write, so every kill lands while it is writing.
#[test]
fn crash_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return; // not the child: nothing to do
    };
    let mut a = Config::parse(&document('A')).unwrap();
    a.set_path(path.clone());
    let b = document('B');
    let mut first = true;
    loop {
        mondoo::__private::config::write_atomic(&path, saved_b(&b)).unwrap();
        if first {
            println!("ready");
            first = false;
        }
        a.save().unwrap();
    }
}

/// B's canonical bytes, computed once per child.
fn saved_b(b: &str) -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        saved_bytes(b, &dir.path().join("b.yml"))
    })
}

/// A private link to (or copy of) this test binary in `dir`: other cargo runs in the
/// same target directory may replace the original while the test still spawns writers.
fn private_exe(dir: &Path) -> PathBuf {
    let exe = dir.join("writer-exe");
    let me = std::env::current_exe().unwrap();
    if std::fs::hard_link(&me, &exe).is_err() {
        std::fs::copy(&me, &exe).unwrap();
    }
    exe
}

/// Start a writer and return once it has written once (it prints `ready`).
fn spawn_writer(exe: &Path, path: &Path) -> Child {
    let mut child = Command::new(exe)
        .args(["--exact", "crash_child_writer", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("re-run this test binary as the writer");
    // the test harness prints its own lines first
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the writer exited before its first write");
        if line.trim() == "ready" {
            break;
        }
    }
    child
}

fn kill9(child: &mut Child) {
    // SAFETY: kill(2) on the pid of a child we have not reaped yet.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    child.wait().unwrap();
}

#[test]
fn sigkill_during_writes_leaves_old_or_new_config() {
    let dir = tempfile::tempdir().unwrap();
    let exe_dir = tempfile::tempdir().unwrap();
    let exe = private_exe(exe_dir.path());
    let path = dir.path().join("mondoo.yml");
    let a = saved_bytes(&document('A'), &dir.path().join("a.yml"));
    let b = saved_bytes(&document('B'), &dir.path().join("b.yml"));
    std::fs::remove_file(dir.path().join("a.yml")).unwrap();
    std::fs::remove_file(dir.path().join("b.yml")).unwrap();
    assert_ne!(a, b);
    std::fs::write(&path, &a).unwrap();

    let seed = std::env::var("MONDOO_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("crash test seed: {seed} (MONDOO_CRASH_SEED repeats it)");
    let mut rng = Rng(seed);

    let started = Instant::now();
    let (mut saw_a, mut saw_b, mut mid_write) = (0usize, 0usize, 0usize);
    let mut most_temps = 0usize;
    for kill in 1..=KILLS {
        assert!(started.elapsed() < DEADLINE, "only {} kills in {DEADLINE:?}", kill - 1);
        let mut child = spawn_writer(&exe, &path);
        // 0..4 ms into the loop: a few writes, then a kill at an arbitrary point of one
        std::thread::sleep(Duration::from_micros(rng.next() % 4000));
        kill9(&mut child);

        let now = std::fs::read(&path).unwrap();
        if now == a {
            saw_a += 1;
        } else if now == b {
            saw_b += 1;
        } else {
            panic!(
                "kill {kill}: the config is neither A nor B ({} bytes):\n{}",
                now.len(),
                String::from_utf8_lossy(&now)
            );
        }
        let config = Config::load_with(&load_at(&path)).unwrap_or_else(|e| panic!("kill {kill}: {e:?}"));
        assert!(config.is_registered());
        let temps = temp_files(&path);
        if !temps.is_empty() {
            mid_write += 1;
        }
        most_temps = most_temps.max(temps.len());
        // clear the leftovers ourselves so each kill is judged alone; whether the
        // library removes them is `stale_temp_files_do_not_accumulate`
        for t in temps {
            std::fs::remove_file(t).unwrap();
        }
    }
    eprintln!(
        "crash test: survived {KILLS} SIGKILLs in {:.1?} (file was A {saw_a}x, B {saw_b}x; \
         {mid_write} kills landed between temp-file creation and rename)",
        started.elapsed()
    );
    // Both documents were seen: the kills really interrupted a writer in its loop.
    assert!(saw_a > 0 && saw_b > 0, "A {saw_a}x, B {saw_b}x");
    assert!(most_temps <= 1, "one writer leaves at most one temp file per kill");
}

#[test]
fn stale_temp_files_do_not_accumulate() {
    let dir = tempfile::tempdir().unwrap();
    let exe_dir = tempfile::tempdir().unwrap();
    let exe = private_exe(exe_dir.path());
    let path = dir.path().join("mondoo.yml");
    std::fs::write(&path, document('A')).unwrap();
    // Writers that die mid-write (each later writer's successful save already cleans
    // up after the earlier ones, so some of these may be gone by now).
    for killed in 0..50u64 {
        let mut child = spawn_writer(&exe, &path);
        std::thread::sleep(Duration::from_micros(200 * (killed % 10)));
        kill9(&mut child);
    }
    // What a writer killed between creating its temp file and the rename leaves, for
    // certain: a temp file naming a pid that no longer runs (an exited child's).
    let mut exited = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = exited.id();
    exited.wait().unwrap();
    let dead = dir.path().join(format!(".mondoo.yml.tmp-{dead_pid}-7-0"));
    std::fs::write(&dead, document('B')).unwrap();
    let stale = temp_files(&path);
    assert!(stale.contains(&dead));
    // A live writer's temp file must be left alone: fake one with our own pid.
    let live = dir.path().join(format!(".mondoo.yml.tmp-{}-999999-0", std::process::id()));
    std::fs::write(&live, "in flight").unwrap();

    // The next successful write removes what dead writers left.
    let mut c = Config::load_with(&load_at(&path)).unwrap();
    c.set("name", "after-the-crashes".into());
    c.save().unwrap();
    let left = temp_files(&path);
    assert_eq!(left, vec![live.clone()], "only the live writer's temp file may remain (stale: {stale:?})");
}
