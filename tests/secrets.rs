//! Secrets (issue 7, point 6; issue 12, point 7): the private key, the registration token
//! and a service account's static token never appear in an error message, Display,
//! Debug, status report (text or JSON), config JSON or registration result, including
//! errors about a broken key; the library prints nothing; configs are written 0600 in
//! 0700 directories; key and token buffers are zeroized when freed.
//!
//! "Appear" is checked strictly: no 20-character piece of the secret's base64 (nor of
//! the hex of its DER) may show up anywhere in the text.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use mondoo::blocking::Client;
use mondoo::{ClientOptions, RegisterOptions};
use mondoo::{Code, Config, Error, LoadOptions, RegistrationToken, Signer};
use mondoo_platform::{Fault, FaultSpec, Platform, PlatformOptions, TokenSpec};

mod common;
use common::{load_at, options, testdata, token_login};

fn credentials(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(testdata(&format!("service-account/{name}"))).unwrap()).unwrap()
}

/// Every 20-character piece of a secret, to search outputs for.
struct Secret {
    name: &'static str,
    pieces: Vec<String>,
}

const PIECE: usize = 20;

fn pieces_of(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(PIECE).map(|w| w.iter().collect()).collect()
}

impl Secret {
    /// A PEM private key: each base64 line, the joined base64, and the DER's hex.
    fn key(name: &'static str, pem: &str) -> Secret {
        let lines: Vec<&str> =
            pem.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")).collect();
        let joined = lines.concat();
        let der = base64::engine::general_purpose::STANDARD.decode(&joined).unwrap();
        let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
        let mut pieces = pieces_of(&joined);
        for l in &lines {
            pieces.extend(pieces_of(l));
        }
        pieces.extend(pieces_of(&hex));
        pieces.extend(pieces_of(&hex.to_uppercase()));
        pieces.sort();
        pieces.dedup();
        assert!(pieces.len() > 100);
        Secret { name, pieces }
    }

    fn token(name: &'static str, token: &str) -> Secret {
        let mut pieces = pieces_of(token.trim());
        pieces.sort();
        pieces.dedup();
        Secret { name, pieces }
    }

    fn assert_absent(&self, what: &str, text: &str) {
        if let Some(p) = self.pieces.iter().find(|p| text.contains(p.as_str())) {
            panic!("{what} contains a piece of the {} ({p:?}):\n{text}", self.name);
        }
    }
}

/// Every rendering of an error a caller can see.
fn error_texts(e: &Error) -> Vec<String> {
    let mut texts = vec![e.to_string(), format!("{e:?}"), e.message().to_string()];
    texts.extend(e.go_rpc_string());
    texts.push(serde_json::to_string(&mondoo::ErrorReport::from(e)).unwrap());
    texts
}

fn assert_error_clean(what: &str, e: &Error, secrets: &[&Secret]) {
    for text in error_texts(e) {
        for s in secrets {
            s.assert_absent(what, &text);
        }
    }
}

/// The fixture key with damage that a loader must report without quoting the key.
fn broken_variants(pem: &str) -> Vec<(&'static str, String)> {
    let lines: Vec<&str> = pem.lines().collect();
    let body: Vec<&str> = lines[1..lines.len() - 1].to_vec();
    let b64 = body.concat();
    let mid = b64.len() / 2;
    let wrap = |label: &str, b: &str| format!("-----BEGIN {label}-----\n{b}\n-----END {label}-----\n");
    vec![
        ("truncated PEM (no END line)", pem[..pem.len() / 2].to_string()),
        ("truncated base64", wrap("PRIVATE KEY", &b64[..mid])),
        ("bad base64 character", wrap("PRIVATE KEY", &format!("{}!*{}", &b64[..mid], &b64[mid..]))),
        ("base64 without armour", b64.clone()),
        ("PKCS#8 body labelled SEC1", wrap("EC PRIVATE KEY", &b64)),
        ("labelled RSA", wrap("RSA PRIVATE KEY", &b64)),
        ("labelled encrypted", wrap("ENCRYPTED PRIVATE KEY", &b64)),
        ("labelled certificate", wrap("CERTIFICATE", &b64)),
        ("DER bit flipped", {
            let mut der = base64::engine::general_purpose::STANDARD.decode(&b64).unwrap();
            der[30] ^= 0xff;
            wrap("PRIVATE KEY", &base64::engine::general_purpose::STANDARD.encode(der))
        }),
        ("DER cut short", {
            let der = base64::engine::general_purpose::STANDARD.decode(&b64).unwrap();
            wrap("PRIVATE KEY", &base64::engine::general_purpose::STANDARD.encode(&der[..der.len() - 7]))
        }),
        ("two keys glued", format!("{pem}{pem}")),
        ("junk after the key", format!("{pem}\n{}\n", &b64[..40])),
    ]
}

#[test]
fn broken_keys_are_refused_without_quoting_them() {
    let creds = credentials("credentials.json");
    let pem = creds["private_key"].as_str().unwrap();
    let cert = creds["certificate"].as_str().unwrap();
    let mrn = creds["mrn"].as_str().unwrap();
    let key = Secret::key("fixture private key", pem);
    let dir = tempfile::tempdir().unwrap();

    for (what, broken) in broken_variants(pem) {
        // directly
        for cert in [None, Some(cert)] {
            if let Err(e) = Signer::from_pem(mrn, &broken, cert) {
                assert_error_clean(&format!("from_pem, {what}"), &e, &[&key]);
            }
        }
        // from a config file, through the client
        let path = dir.path().join("broken.yml");
        let mut c = Config::parse("{}").unwrap();
        c.set("mrn", mrn.into());
        c.set("private_key", broken.clone().into());
        c.set_path(path.clone());
        c.save().unwrap();
        let config = Config::load_with(&load_at(&path)).unwrap();
        assert!(format!("{config:?}").len() < 400, "Config Debug stays short");
        let e = match Client::new(config.clone(), options()) {
            Ok(_) => continue, // "two keys glued" may load the first key
            Err(e) => e,
        };
        assert_eq!(e.class(), mondoo::ErrorClass::Key, "{what}: {e:?}");
        assert_eq!(e.path(), Some(path.as_path()), "{what}: the error names the file");
        assert_error_clean(&format!("Client::new, {what}"), &e, &[&key]);
        assert_error_clean(
            &format!("Signer::from_config, {what}"),
            &Signer::from_config(&config).unwrap_err(),
            &[&key],
        );
    }

    // the wrong curve: the P-256 fixture, whose key must not be quoted either
    let p256 = credentials("credentials-p256.json");
    let p256_pem = p256["private_key"].as_str().unwrap();
    let p256_key = Secret::key("P-256 private key", p256_pem);
    let e = Signer::from_pem(mrn, p256_pem, None).unwrap_err();
    assert_eq!(e.code(), Code::KeyWrongCurve);
    assert_error_clean("wrong curve", &e, &[&p256_key, &key]);
    // a valid key with another account's certificate
    let e = Signer::from_pem(mrn, pem, p256["certificate"].as_str()).unwrap_err();
    assert_error_clean("key/certificate mismatch", &e, &[&key]);
}

#[test]
fn broken_documents_holding_a_key_are_reported_without_it() {
    let pem = credentials("credentials.json")["private_key"].as_str().unwrap().to_string();
    let key = Secret::key("fixture private key", &pem);
    let indented: String = pem.lines().map(|l| format!("  {l}\n")).collect();
    let flat = pem.replace('\n', "\\n");
    let documents = [
        format!("mrn: x\nprivate_key: |\n{indented} bad: [\n"),
        format!("mrn: x\nprivate_key: \"{flat}\n"),
        format!("mrn: x\nprivate_key: |\n{indented}\tmore: tab\n"),
        format!("{{\"mrn\": \"x\", \"private_key\": \"{flat}\""),
        format!("{{\"mrn\": \"x\", \"private_key\": \"{flat}\", }}]"),
        format!("{{\"mrn\": \"x\", \"private_key\": {{\"nested\": \"{flat}\"}}}}"),
        format!("- {flat}\n"),
        format!("private_key: &a \"{flat}\"\nmrn: *b\n"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, doc) in documents.iter().enumerate() {
        if let Err(e) = Config::parse(doc) {
            assert_error_clean(&format!("Config::parse #{i}"), &e, &[&key]);
        }
        let path = dir.path().join(if doc.starts_with('{') { "c.json" } else { "c.yml" });
        std::fs::write(&path, doc).unwrap();
        match Config::load_with(&load_at(&path)) {
            Err(e) => assert_error_clean(&format!("Config::load_with #{i}"), &e, &[&key]),
            Ok(c) => {
                if let Err(e) = Signer::from_config(&c) {
                    assert_error_clean(&format!("Signer::from_config #{i}"), &e, &[&key]);
                }
            }
        }
        // the same document from MONDOO_CONFIG_BASE64
        let env: BTreeMap<String, String> =
            [("MONDOO_CONFIG_BASE64".to_string(), base64::engine::general_purpose::STANDARD.encode(doc))].into();
        if let Err(e) = Config::load_with(&LoadOptions::new().with_env(env)) {
            assert_error_clean(&format!("base64 config #{i}"), &e, &[&key]);
        }
    }
}

#[test]
fn config_signer_and_client_never_show_the_key() {
    let creds = credentials("credentials.json");
    let pem = creds["private_key"].as_str().unwrap();
    let key = Secret::key("fixture private key", pem);
    let path = testdata("service-account/credentials.json");
    let config = Config::load_with(&load_at(&path)).unwrap();
    assert!(config.get_value("private_key").is_none());
    assert_eq!(config.redacted_json()["private_key"], "<redacted>");
    let signer = Signer::from_config(&config).unwrap();
    let client = Client::new(config.clone(), options()).unwrap();
    // the key given by MONDOO_PRIVATE_KEY instead
    let env: BTreeMap<String, String> = [("MONDOO_PRIVATE_KEY".to_string(), pem.to_string())].into();
    let from_env = Config::parse("mrn: //x/serviceaccounts/y\n").unwrap().with_env(&env);
    assert!(from_env.is_registered());
    let b64_env: BTreeMap<String, String> = [(
        "MONDOO_CONFIG_BASE64".to_string(),
        std::fs::read_to_string(testdata("service-account/credentials.json.b64")).unwrap(),
    )]
    .into();
    let from_b64 = Config::load_with(&LoadOptions::new().with_env(b64_env)).unwrap();

    let shown = [
        ("Config Debug", format!("{config:?}")),
        ("Config redacted JSON", config.redacted_json().to_string()),
        ("Config from env Debug", format!("{from_env:?}")),
        ("Config from env JSON", from_env.redacted_json().to_string()),
        ("Config from base64 Debug", format!("{from_b64:?}")),
        ("Config from base64 JSON", from_b64.redacted_json().to_string()),
        ("Signer Debug", format!("{signer:?}")),
        ("Signer Debug (alternate)", format!("{signer:#?}")),
        ("Client Debug", format!("{client:#?}")),
        ("Client config Debug", format!("{:?}", client.config())),
        ("bearer", client.sign(b"{}").unwrap()),
    ];
    for (what, text) in &shown {
        key.assert_absent(what, text);
    }
}

#[test]
fn status_and_registration_never_show_the_key_or_token() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let token_text = platform.mint_token(&TokenSpec::default()).unwrap();
    let token = Secret::token("registration token", &token_text);
    let client = Client::new(Config::for_registration(&load_at(&path)).unwrap(), options()).unwrap();
    let registration = client.register(Some(&token_text), &RegisterOptions::default()).unwrap();
    // the key the platform issued, as written to the config
    let written: serde_yaml_value::Doc = serde_yaml_value::read(&path);
    let key = Secret::key("issued private key", &written.private_key);

    let mut shown = vec![
        ("Registration Debug", format!("{registration:?}")),
        ("Registration JSON", serde_json::to_string(&registration).unwrap()),
        ("Client Debug", format!("{client:?}")),
    ];
    let report = client.status().unwrap();
    assert!(report.client.authenticated);
    shown.push(("status text", report.to_text()));
    shown.push(("status JSON", report.to_json().to_string()));
    shown.push(("status Debug", format!("{report:?}")));
    // rejected: the report carries the platform's error
    platform.revoke(&registration.service_account_mrn);
    let report = client.status().unwrap();
    assert!(report.client.ping_pong_error.is_some());
    shown.push(("rejected status text", report.to_text()));
    shown.push(("rejected status JSON", report.to_json().to_string()));
    for (what, text) in &shown {
        key.assert_absent(what, text);
        token.assert_absent(what, text);
    }
}

#[test]
fn a_static_token_never_shows() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let creds = platform.create_token_service_account(mondoo_platform::FIXTURE_SPACE).unwrap();
    let token_text = creds["token"].as_str().unwrap().to_string();
    let mrn = creds["mrn"].as_str().unwrap().to_string();
    let token = Secret::token("static token", &token_text);
    let path = dir.path().join("token.yml");
    std::fs::write(
        &path,
        format!(
            "mrn: {mrn}
token: {token_text}
api_endpoint: {}
",
            platform.url()
        ),
    )
    .unwrap();

    let config = Config::load_with(&load_at(&path)).unwrap();
    assert!(config.is_registered());
    // No public reader hands it out.
    assert_eq!(config.get("token"), None);
    assert_eq!(config.get("TOKEN"), None);
    assert_eq!(config.get_value("token"), None);
    assert_eq!(config.file_value("token"), None);
    assert_eq!(config.redacted_json()["token"], "<redacted>");
    // The token given by MONDOO_TOKEN instead.
    let env: BTreeMap<String, String> = [("MONDOO_TOKEN".to_string(), token_text.clone())].into();
    let from_env = Config::parse(&format!(
        "mrn: {mrn}
api_endpoint: {}
",
        platform.url()
    ))
    .unwrap()
    .with_env(&env);
    assert!(from_env.is_registered());
    assert_eq!(from_env.env_value("token"), None);

    let client = Client::new(config.clone(), options()).unwrap();
    let report = client.status().unwrap();
    assert!(report.client.authenticated, "{}", report.to_text());
    let env_client = Client::new(from_env.clone(), options()).unwrap();
    assert!(env_client.status().unwrap().client.authenticated);
    let answer = client.call("Echo", "Say", &serde_json::json!({"x": 1})).unwrap();
    let registration = client.register(None, &RegisterOptions::default()).unwrap();
    let mut shown = vec![
        ("Config Debug", format!("{config:#?}")),
        ("Config redacted JSON", config.redacted_json().to_string()),
        ("Config from env Debug", format!("{from_env:?}")),
        ("Config from env JSON", from_env.redacted_json().to_string()),
        ("Client Debug", format!("{client:#?}")),
        ("Client config JSON", client.config().redacted_json().to_string()),
        ("status text", report.to_text()),
        ("status JSON", report.to_json().to_string()),
        ("status Debug", format!("{report:?}")),
        ("call answer", answer.to_string()),
        ("Registration Debug", format!("{registration:?}")),
        ("Registration JSON", serde_json::to_string(&registration).unwrap()),
    ];
    let mut errors = vec![("sign", client.sign(b"{}").unwrap_err())];
    // refused: the report and the errors carry the platform's error, not the token
    assert!(platform.revoke(&mrn));
    let refused = client.status().unwrap();
    assert!(refused.client.ping_pong_error.is_some());
    shown.push(("refused status text", refused.to_text()));
    shown.push(("refused status JSON", refused.to_json().to_string()));
    errors.push(("refused call", client.call("Echo", "Say", &serde_json::json!({})).unwrap_err()));
    errors.push(("refused check-in", client.checkin().unwrap_err()));
    // a token no header can carry, refused when loaded
    let spaced = format!("{} {}", &token_text[..30], &token_text[30..]);
    std::fs::write(
        &path,
        format!(
            "mrn: {mrn}
token: {spaced}
"
        ),
    )
    .unwrap();
    let e = Client::new(Config::load_with(&load_at(&path)).unwrap(), options()).unwrap_err();
    assert_eq!(e.code(), Code::ConfigInvalid);
    errors.push(("unusable token", e));
    for (what, text) in &shown {
        token.assert_absent(what, text);
    }
    for (what, e) in &errors {
        assert_error_clean(what, e, &[&token]);
    }
}

#[test]
fn registration_errors_never_show_the_token() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    let new_client =
        |opts: ClientOptions| Client::new(Config::for_registration(&load_at(&path)).unwrap(), opts).unwrap();
    let token_text = platform.mint_token(&TokenSpec::default()).unwrap();
    let token = Secret::token("registration token", &token_text);
    let register = |client: &Client, t: &str| client.register(Some(t), &RegisterOptions::default()).unwrap_err();

    let mut errors: Vec<(&str, Error)> = Vec::new();
    for (what, fault) in [
        ("401", FaultSpec::new(Fault::unauthenticated())),
        ("aborted 4x", FaultSpec::new(Fault::Aborted).times(4)),
        ("HTML 502", FaultSpec::new(Fault::Html502)),
        ("truncated", FaultSpec::new(Fault::TruncatedJson)),
        ("reset", FaultSpec::new(Fault::Reset)),
    ] {
        platform.inject(fault.only("AgentManager/RegisterAgent"));
        errors.push((what, register(&new_client(options()), &token_text)));
    }
    // the platform refuses a token whose signature was tampered with
    let (head, sig) = token_text.rsplit_once('.').unwrap();
    let tampered = format!("{head}.{}", sig.chars().rev().collect::<String>());
    let tampered_secret = Secret::token("tampered token", &tampered);
    let e = register(&new_client(options()), &tampered);
    assert_eq!(e.code(), Code::RpcUnauthenticated, "{e:?}");
    assert_error_clean("tampered token", &e, &[&token, &tampered_secret]);
    // no network at all
    let dns = options().with_api_endpoint("https://nonexistent.invalid");
    errors.push(("DNS", register(&new_client(dns), &token_text)));
    for (what, e) in &errors {
        assert_error_clean(what, e, &[&token]);
    }
    assert!(!path.exists(), "no registration succeeded");

    // offline refusals: expired, no space, malformed in every part
    for spec in [TokenSpec { ttl_seconds: -60, ..Default::default() }, TokenSpec::new("")] {
        let t = platform.mint_token(&spec).unwrap();
        let e = RegistrationToken::inspect(&t, None).unwrap_err();
        assert_error_clean("offline refusal", &e, &[&Secret::token("token", &t)]);
    }
    let parts: Vec<&str> = token_text.split('.').collect();
    let malformed = [
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!("{}!.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}*.{}", parts[0], &parts[1][..parts[1].len() - 3], parts[2]),
        format!("{}.{}.", parts[0], parts[1]),
        format!("{}.{}.{}", parts[1], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], parts[0], parts[2]),
        format!("Bearer {token_text}"),
        token_text.replace('.', " "),
    ];
    for m in &malformed {
        let e = RegistrationToken::inspect(m, None).unwrap_err();
        assert_eq!(e.class(), mondoo::ErrorClass::Token, "{e:?}");
        assert_error_clean("malformed token", &e, &[&token, &Secret::token("malformed token", m)]);
    }
    // a good token's own renderings
    let t = RegistrationToken::inspect(&token_text, None).unwrap();
    for (what, text) in [("Debug", format!("{t:?}")), ("Display", t.to_string()), ("JSON", t.to_json().to_string())] {
        token.assert_absent(what, &text);
    }
}

#[cfg(unix)]
#[test]
fn configs_are_written_0600_in_0700_directories() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("home");
    std::fs::create_dir(&base).unwrap();
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = base.join(".config").join("mondoo").join("mondoo.yml");
    token_login(&platform, &path, options());
    assert_eq!(mode(&path), 0o600, "config file");
    assert_eq!(mode(path.parent().unwrap()), 0o700, "created directory mondoo/");
    assert_eq!(mode(&base.join(".config")), 0o700, "created directory .config/");
    assert_eq!(mode(&base), 0o755, "an existing directory is left as it was");

    // an existing world-readable file is narrowed on rewrite
    let open = dir.path().join("open.yml");
    std::fs::write(&open, "name: x\n").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut c = Config::load_with(&load_at(&open)).unwrap();
    c.set("name", "y".into());
    c.save().unwrap();
    assert_eq!(mode(&open), 0o600);
    // and a stricter one is not widened
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o400)).unwrap();
    c.save().unwrap();
    assert_eq!(mode(&open), 0o400);
}

#[test]
fn the_library_prints_nothing() {
    // Secrets cannot leak into logs the library never writes: no print or log macro
    // outside test modules.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.clone()];
    let mut checked = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        // doc comments' examples are the caller's code, not the library's
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("///") && !line.trim_start().starts_with("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        for bad in ["println!", "eprintln!", "print!(", "eprint!(", "dbg!(", "log::", "tracing::"] {
            assert!(!code.contains(bad), "{} uses {bad}", p.display());
        }
        checked += 1;
    }
    assert!(checked > 5);
}

// ---- zeroization ----------------------------------------------------------------------
//
// A global allocator that, while a thread is "watching", looks into every block that
// thread frees for a marker taken from the secret. A block freed with the secret still
// in it was not zeroized. The search runs in C (memmem) because the block may hold
// bytes never written, which Rust code must not read.
//
// Every block this process allocates is zeroed, watching or not, so a block only ever
// holds what its owners wrote into it. Without that, a block made before the watch
// (say, a config's map with room for one more entry) could reuse memory that earlier
// code in the process (another test, a parser's known gap) freed with the key in it
// unwiped, and the stale key bytes in its never-written capacity would be counted when
// the watched work frees it: a failure that came and went with the heap's history
// (`stale_bytes_of_an_earlier_free_are_not_counted`).

struct ScanningAllocator;

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static MARKERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static FOUND: Cell<usize> = const { Cell::new(0) };
}

unsafe impl std::alloc::GlobalAlloc for ScanningAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // Always zeroed (see above): a reused block cannot carry stale bytes of an
        // earlier unwiped free into the count, whenever it was made. (`realloc` is the
        // trait's default: alloc here, copy, dealloc below, so a grown buffer's old block
        // is scanned too.)
        std::alloc::System.alloc_zeroed(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        std::alloc::System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if WATCHING.try_with(Cell::get).unwrap_or(false) {
            let _ = MARKERS.try_with(|m| {
                if let Ok(markers) = m.try_borrow() {
                    for marker in markers.iter() {
                        // SAFETY: ptr is a live block of layout.size() bytes (it is being
                        // freed now, not yet returned); memmem only reads within it.
                        let hit = libc::memmem(ptr.cast(), layout.size(), marker.as_ptr().cast(), marker.len());
                        if !hit.is_null() {
                            let _ = FOUND.try_with(|f| f.set(f.get() + 1));
                        }
                    }
                }
            });
        }
        std::alloc::System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: ScanningAllocator = ScanningAllocator;

/// How many freed blocks still held one of `markers` while `work` ran on this thread.
fn freed_with_secret(markers: Vec<Vec<u8>>, work: impl FnOnce()) -> usize {
    MARKERS.with(|m| *m.borrow_mut() = markers);
    FOUND.with(|f| f.set(0));
    WATCHING.with(|w| w.set(true));
    work();
    WATCHING.with(|w| w.set(false));
    MARKERS.with(|m| m.borrow_mut().clear());
    FOUND.with(Cell::get)
}

/// Markers of a P-384 PKCS#8 PEM key, both inside the private scalar (DER bytes 35..83;
/// the rest of the DER holds the public point, which may be copied freely): a run of
/// its DER and the base64 text of a run of it, as the PEM's second line holds it.
fn key_markers(pem: &str) -> Vec<Vec<u8>> {
    let lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(lines.concat()).unwrap();
    assert_eq!(&der[33..35], &[0x04, 0x30], "the scalar's OCTET STRING header");
    vec![lines[1].as_bytes()[20..44].to_vec(), der[40..64].to_vec()]
}

#[test]
fn stale_bytes_of_an_earlier_free_are_not_counted() {
    // Why config_key_buffers_are_zeroized_on_drop failed after other tests: a block made
    // before the watch reused memory freed earlier with the key in it, and the key bytes
    // left in the part of the block its owner never wrote were counted when the block was
    // freed under the watch. An unwiped copy is freed here outside the watch, then a
    // buffer of the same size (the allocator hands the same memory back first) is made
    // and left empty; freeing it under the watch must count nothing.
    let pem = credentials("credentials.json")["private_key"].as_str().unwrap().to_string();
    let markers = key_markers(&pem);
    drop(std::hint::black_box(pem.clone()));
    let never_written: Vec<u8> = std::hint::black_box(Vec::with_capacity(pem.len()));
    let n = freed_with_secret(markers, || drop(never_written));
    assert_eq!(n, 0, "a block holding only stale bytes of an earlier free was counted");
}

#[test]
fn scanner_sees_an_unzeroized_copy() {
    // The detector itself must be able to fail: a plain String copy of the key is found.
    let pem = credentials("credentials.json")["private_key"].as_str().unwrap().to_string();
    let n = freed_with_secret(key_markers(&pem), || drop(std::hint::black_box(pem.clone())));
    assert!(n >= 1);
    let n = freed_with_secret(key_markers(&pem), || drop(zeroize::Zeroizing::new(std::hint::black_box(pem.clone()))));
    assert_eq!(n, 0, "a Zeroizing copy is wiped before it is freed");
}

/// The fixture key as a `Zeroizing` string, read without leaving an unwiped copy behind
/// (serde_json's scratch buffers would): the key is unescaped by hand and blanked out of
/// the text before the rest is parsed. Returns (key, certificate, mrn).
fn fixture_key() -> (zeroize::Zeroizing<String>, String, String) {
    let mut text =
        zeroize::Zeroizing::new(std::fs::read_to_string(testdata("service-account/credentials.json")).unwrap());
    let open = "\"private_key\": \"";
    let start = text.find(open).expect("private_key in credentials.json") + open.len();
    let end = start + text[start..].find('"').unwrap();
    let mut pem = zeroize::Zeroizing::new(String::with_capacity(end - start));
    let mut chars = text[start..end].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => pem.push(if chars.next() == Some('n') { '\n' } else { '?' }),
            c => pem.push(c),
        }
    }
    assert!(pem.capacity() >= pem.len() && pem.starts_with("-----BEGIN"));
    // same length: overwritten in place, no reallocation
    text.replace_range(start..end, &"x".repeat(end - start));
    let creds: serde_json::Value = serde_json::from_str(&text).unwrap();
    (pem, creds["certificate"].as_str().unwrap().to_string(), creds["mrn"].as_str().unwrap().to_string())
}

#[test]
fn signer_buffers_are_zeroized_on_drop() {
    let (pem, cert, mrn) = fixture_key();
    let n = freed_with_secret(key_markers(&pem), || {
        let signer = Signer::from_pem(&mrn, &pem, Some(&cert)).unwrap();
        let bearer = signer.sign(b"{}").unwrap();
        drop(bearer);
        drop(signer);
    });
    assert_eq!(n, 0, "Signer::from_pem/sign/drop freed {n} block(s) still holding key material");
}

#[test]
fn token_buffers_are_zeroized_on_drop() {
    let raw = zeroize::Zeroizing::new(std::fs::read_to_string(testdata("tokens/registration-valid.jwt")).unwrap());
    let token = zeroize::Zeroizing::new(raw.trim().to_string());
    let sig = token.rsplit('.').next().unwrap();
    let claims = token.split('.').nth(1).unwrap();
    let markers = vec![sig.as_bytes()[4..28].to_vec(), claims.as_bytes()[4..28].to_vec()];
    let n = freed_with_secret(markers, || {
        let t = RegistrationToken::inspect_at(&token, None, 1_800_000_000).unwrap();
        let _ = t.to_json();
        drop(t);
    });
    assert_eq!(n, 0, "RegistrationToken freed {n} block(s) still holding the token");
}

#[test]
fn config_key_buffers_are_zeroized_on_drop() {
    // A config holding the key (in the document and in MONDOO_PRIVATE_KEY), its copies,
    // the key read back and a signer made from it: all wiped when dropped.
    let (pem, _, mrn) = fixture_key();
    let markers = key_markers(&pem);
    let mut env = BTreeMap::new();
    env.insert("MONDOO_PRIVATE_KEY".to_string(), String::clone(&pem));
    let mut config = Config::parse("{}").unwrap().with_env(&env);
    for v in env.values_mut() {
        zeroize::Zeroize::zeroize(v);
    }
    config.set("mrn", mrn.into());
    let mut value = serde_json::Value::String(String::clone(&pem));
    config.set("private_key", value.clone());
    if let serde_json::Value::String(s) = &mut value {
        zeroize::Zeroize::zeroize(s);
    }
    let n = freed_with_secret(markers, || {
        let copy = config.clone();
        let signer = Signer::from_config(&copy).unwrap();
        drop(signer);
        drop(copy);
        let mut c = config;
        c.remove("private_key"); // removed values are scrubbed too
        drop(c);
    });
    assert_eq!(n, 0, "a config, its clone and its signer freed {n} block(s) still holding the key");
}

#[test]
fn static_token_buffers_are_zeroized_on_drop() {
    // A config holding a static token, a client made from it (which keeps its own copy)
    // and the token read back by a removal: all wiped when dropped.
    let token = zeroize::Zeroizing::new(format!("mondoo-static-{}", "Zq7Xw2Kp9Lm4Rt8Vb3Nc6Hd1Jf5Gs0Ya".repeat(2)));
    let markers = vec![token.as_bytes()[14..38].to_vec()];
    let mut config = Config::parse("mrn: //agents.api.mondoo.app/spaces/x/serviceaccounts/y\n").unwrap();
    let mut value = serde_json::Value::String(String::clone(&token));
    config.set("token", value.clone());
    if let serde_json::Value::String(s) = &mut value {
        zeroize::Zeroize::zeroize(s);
    }
    let n = freed_with_secret(markers, || {
        let client = Client::new(config.clone(), options()).unwrap();
        drop(client);
        let mut c = config;
        c.remove("token");
        drop(c);
    });
    assert_eq!(n, 0, "a config and its client freed {n} block(s) still holding the static token");
}

#[test]
fn config_parse_temporaries_are_zeroized() {
    let (pem, _, _) = fixture_key();
    let markers = key_markers(&pem);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.json");
    std::fs::copy(testdata("service-account/credentials.json"), &path).unwrap();
    let n = freed_with_secret(markers, || {
        let config = Config::load_with(&load_at(&path)).unwrap();
        drop(config);
    });
    // Every copy is wiped: the file text (read into buffers wiped when they grow), the
    // parsed JSON, and the escaped strings, which libmondoo unescapes itself instead of
    // leaving them in serde_json's scratch buffer (config/json_text.rs). This was 5
    // blocks at first, then 3 (serde_json's scratch and the growing read buffer).
    assert_eq!(n, 0, "loading a JSON config freed {n} block(s) still holding the key");
}

#[test]
fn yaml_config_parse_temporaries_are_bounded() {
    // A YAML config with the key as a block literal (what Go's yaml.v3 writes), built in
    // one Zeroizing buffer so no unwiped copy of the key is freed before the watch.
    let (pem, _, _) = fixture_key();
    let mut text = zeroize::Zeroizing::new(String::with_capacity(pem.len() * 2 + 64));
    text.push_str("mrn: //agents.api.mondoo.app/x\nprivate_key: |\n");
    for line in pem.lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.yml");
    std::fs::write(&path, text.as_bytes()).unwrap();
    let n = freed_with_secret(key_markers(&pem), || {
        let config = Config::load_with(&load_at(&path)).unwrap();
        assert!(config.is_registered());
        drop(config);
    });
    // libmondoo wipes its own copies; what remains is inside serde_yaml_ng, out of reach:
    // libyaml's decoded input buffer and raw buffer, its growing block-scalar buffer, and
    // serde_yaml_ng's event scalars (5 blocks today). More would mean a copy of
    // libmondoo's own is no longer wiped.
    assert!(n <= 5, "loading a YAML config freed {n} block(s) still holding the key (parser buffers allow 5)");
}

/// Reading the private key back out of a written YAML config (what the platform issued).
mod serde_yaml_value {
    use std::path::Path;

    pub struct Doc {
        pub private_key: String,
    }

    pub fn read(path: &Path) -> Doc {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        Doc { private_key: v["private_key"].as_str().unwrap().to_string() }
    }
}

// ---- issue 14, F4/F10: secrets outside `private_key` ------------------------------------

/// A config with the key and a token pasted into the wrong fields, and passwords in its
/// URLs: what each rendering of it may show.
fn config_with_misplaced_secrets(pem: &str, jwt: &str) -> String {
    let indented = |s: &str, by: usize| s.lines().map(|l| format!("{}{l}\n", " ".repeat(by))).collect::<String>();
    let flat = pem.replace('\n', "\\n");
    format!(
        "mrn: //agents.api.mondoo.app/spaces/s/serviceaccounts/x\n\
         private_key: |\n{k2}\
         certificate: |\n{k2}\
         privateKey: |\n{k2}\
         name: \"{flat}\"\n\
         labels:\n  stolen: |\n{k4}  token: {jwt}\n\
         nested:\n  private_key: |\n{k4}\
         api_proxy: http://alice:hunter2-proxy-password@proxy.example:3128\n\
         api_endpoint: https://bob:hunter2-endpoint-password@api.example.com\n\
         updates_url: https://carol:hunter2-updates-password@updates.example.com/x\n\
         agent_mrn: \"{jwt}\"\n",
        k2 = indented(pem, 2),
        k4 = indented(pem, 4),
    )
}

const URL_PASSWORDS: [&str; 3] = ["hunter2-proxy-password", "hunter2-endpoint-password", "hunter2-updates-password"];

#[test]
fn keys_tokens_and_url_passwords_in_any_field_are_never_shown() {
    let pem = credentials("credentials.json")["private_key"].as_str().unwrap().to_string();
    let key = Secret::key("fixture private key", &pem);
    let jwt = std::fs::read_to_string(testdata("tokens/registration-valid.jwt")).unwrap().trim().to_string();
    let token = Secret::token("registration token", &jwt);
    let config = Config::parse(&config_with_misplaced_secrets(&pem, &jwt)).unwrap();
    // the test's own input holds every secret (the check can fail)
    assert!(config.get("name").unwrap().contains("PRIVATE KEY") && config.get("agent_mrn").unwrap() == jwt);

    let json = config.redacted_json();
    for field in ["private_key", "certificate", "privateKey", "name", "agent_mrn"] {
        assert_eq!(json[field], "<redacted>", "{field}: {json}");
    }
    assert_eq!(json["labels"]["stolen"], "<redacted>");
    assert_eq!(json["labels"]["token"], "<redacted>");
    assert_eq!(json["nested"]["private_key"], "<redacted>");
    assert_eq!(json["api_proxy"], "http://redacted@proxy.example:3128/");
    assert_eq!(json["api_endpoint"], "https://redacted@api.example.com/");
    assert_eq!(json["mrn"], "//agents.api.mondoo.app/spaces/s/serviceaccounts/x", "plain values are kept");

    let mut shown = vec![("Config Debug", format!("{config:?}")), ("Config JSON", json.to_string())];
    // an invalid proxy is echoed in its error without the password, from each source
    let bad_proxy = "http://alice:hunter2-proxy-password@[::1";
    let env: BTreeMap<String, String> = [("MONDOO_API_PROXY".to_string(), bad_proxy.to_string())].into();
    for options in [
        options().with_env(env),
        options().with_api_proxy(bad_proxy.to_string()),
        options().with_api_proxy("alice:hunter2-proxy-password@proxy:x".to_string()),
    ] {
        let e = Client::new(Config::parse("{}").unwrap(), options).unwrap_err();
        assert_eq!(e.code(), Code::Proxy, "{e}");
        assert!(e.message().contains("alice") || e.message().contains("redacted"), "{e}");
        shown.extend(error_texts(&e).into_iter().map(|t| ("invalid proxy error", t)));
    }
    // an endpoint that is not http(s), with a password
    let client =
        Client::new(Config::parse("{}").unwrap(), options().with_api_endpoint("ftp://bob:hunter2-endpoint-password@x"));
    match client {
        Ok(client) => {
            let e = client.health().unwrap_err();
            shown.extend(error_texts(&e).into_iter().map(|t| ("invalid endpoint error", t)));
        }
        Err(e) => shown.extend(error_texts(&e).into_iter().map(|t| ("invalid endpoint error", t))),
    }
    for (what, text) in &shown {
        key.assert_absent(what, text);
        token.assert_absent(what, text);
        for password in URL_PASSWORDS {
            assert!(!text.contains(password), "{what} shows {password}: {text}");
        }
    }
}
