//! `mondoo-platform`: the local test platform as a process, for the C, Python and Go tests.
//! Prints its URL on one line, then serves until stdin closes (or SIGTERM).
//! Driven over `/_admin/` (see platform/README.md).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use mondoo_platform::{OidcIssuer, Platform, PlatformOptions};

const USAGE: &str = "usage: mondoo-platform [--tls] [--proxy] [--testdata DIR] [--api-version V] [--path-prefix P] [--ca-out FILE] [--no-gzip] [--no-stdin] [--oidc-only]
       mondoo-platform --graphql-schema

Starts the local Mondoo test platform on 127.0.0.1 (random port), prints its URL on one
line and serves until stdin closes (with --no-stdin: until killed or SIGTERM). With
--tls the test CA's PEM is written to FILE (--ca-out) before the URL is printed, so
clients can trust it; it is removed on exit. With --testdata DIR (the repository's
testdata/ layout) the platform key is DIR's and DIR's service accounts are known;
without it the platform makes a fresh key and knows no account it did not make itself.
Answers are gzipped for clients that ask (Accept-Encoding: gzip) unless --no-gzip.
Admin endpoints under /_admin/ (see platform/README.md). --graphql-schema prints the
Platform API's schema (SDL, served at /query) and exits. With --oidc-only, only the local
OIDC issuer runs and its issuer URL is printed (discovery, JWKS, GitHub Actions token and
/mint endpoints; see platform/README.md).";

fn main() -> ExitCode {
    let mut options = PlatformOptions::default();
    let mut wait_for_stdin = true;
    let mut oidc_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| match args.next() {
            Some(v) => Ok(v),
            None => Err(format!("{name} needs a value")),
        };
        let parsed = match arg.as_str() {
            "--tls" => {
                options.tls = true;
                Ok(())
            }
            "--proxy" => {
                options.proxy = true;
                Ok(())
            }
            "--no-gzip" => {
                options.gzip = false;
                Ok(())
            }
            "--no-stdin" => {
                wait_for_stdin = false;
                Ok(())
            }
            "--oidc-only" => {
                oidc_only = true;
                Ok(())
            }
            "--testdata" => value("--testdata").map(|v| options.testdata = Some(PathBuf::from(v))),
            "--api-version" => value("--api-version").map(|v| options.api_version = v),
            "--path-prefix" => value("--path-prefix").map(|v| options.path_prefix = v),
            "--ca-out" => value("--ca-out").map(|v| options.ca_file = Some(PathBuf::from(v))),
            "--graphql-schema" => {
                println!("{}", mondoo_platform::graphql::schema_sdl().trim_end());
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(message) = parsed {
            eprintln!("mondoo-platform: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    }

    if oidc_only {
        let issuer = match OidcIssuer::start() {
            Ok(i) => i,
            Err(e) => {
                eprintln!("mondoo-platform: cannot start the OIDC issuer: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut stdout = std::io::stdout();
        if writeln!(stdout, "{}", issuer.issuer()).and_then(|_| stdout.flush()).is_err() {
            return ExitCode::FAILURE;
        }
        wait_for_exit(wait_for_stdin);
        drop(issuer);
        return ExitCode::SUCCESS;
    }

    let platform = match Platform::start(options) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mondoo-platform: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(unix)]
    if let Some(file) = platform.ca_file() {
        on_sigterm_remove(file);
    }
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{}", platform.url()).and_then(|_| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }

    wait_for_exit(wait_for_stdin);
    drop(platform);
    ExitCode::SUCCESS
}

/// Until stdin closes, or forever (SIGTERM ends the process).
fn wait_for_exit(wait_for_stdin: bool) {
    if wait_for_stdin {
        // Parent gone or done: stdin reaches EOF and the platform stops.
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    } else {
        loop {
            std::thread::park();
        }
    }
}

/// On SIGTERM, remove the CA temp file and exit (unlink and _exit are async-signal-safe).
#[cfg(unix)]
fn on_sigterm_remove(file: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    use std::sync::OnceLock;
    static CA_FILE: OnceLock<std::ffi::CString> = OnceLock::new();
    let Ok(path) = std::ffi::CString::new(file.as_os_str().as_bytes()) else {
        return;
    };
    let _ = CA_FILE.set(path);
    extern "C" fn handler(_: libc::c_int) {
        if let Some(path) = CA_FILE.get() {
            // SAFETY: a valid NUL-terminated path; unlink is async-signal-safe.
            unsafe { libc::unlink(path.as_ptr()) };
        }
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: installing a handler that only calls async-signal-safe functions.
    unsafe { libc::signal(libc::SIGTERM, handler as extern "C" fn(libc::c_int) as libc::sighandler_t) };
}
