//! The server: connection loop, fault injection, the services, signed-call verification
//! and the admin endpoints.

// `Handled` is the whole answer of a call, returned once per request: boxing the error
// side of every helper would only add allocations.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::certs::{self, AccountIssuer, TestTls};
use crate::fault::{self, Fault, FaultSpec, Outcome};
use crate::graphql;
use crate::http::{self, Conn, ReadError, Request, Response};
use crate::sts::{ExchangeRecord, StsState};
use crate::wire::{self, Call, Encoding};
use crate::{
    Agent, AuthOutcome, PlatformOptions, RecordedRequest, TokenSpec, LEEWAY_SECONDS, PLATFORM_MRN, UNAUTHENTICATED,
};

/// Idle keep-alive connections are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one handler must not take the whole platform down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Account {
    space_mrn: String,
    /// empty for an account that has a static token instead of a key
    certificate: String,
    /// the static token that authenticates as this account (protocol 1.1 `token`)
    token: Option<String>,
    revoked: bool,
    /// the agent this account was made for by a token registration
    agent: Option<String>,
    /// platform time after which it is refused (a short-lived exchanged account)
    expires_at: Option<i64>,
}

struct MintedToken {
    space: String,
    labels: BTreeMap<String, String>,
    exp: Option<i64>,
    nbf: i64,
}

#[derive(Default)]
pub(crate) struct State {
    accounts: HashMap<String, Account>,
    pub(crate) agents: HashMap<String, Agent>,
    tokens: HashMap<String, MintedToken>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) faults: Vec<FaultSpec>,
    pub(crate) clock_offset: i64,
}

pub(crate) struct Shared {
    pub(crate) url: String,
    options: PlatformOptions,
    /// the fixtures the platform key and the preloaded accounts came from, if any
    pub(crate) testdata: Option<PathBuf>,
    pub(crate) tls: Option<TestTls>,
    pub(crate) ca_file: Option<PathBuf>,
    platform_key_pem: String,
    pub(crate) platform_cert_pem: String,
    issuer: AccountIssuer,
    pub(crate) state: Mutex<State>,
    pub(crate) shutdown: AtomicBool,
    pub(crate) conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
    pub(crate) proxy_url: Mutex<Option<String>>,
    /// the Platform API (GraphQL at `/query`) and its assets and API tokens
    pub(crate) graphql: graphql::Endpoint,
    pub(crate) sts: Mutex<StsState>,
    /// the local OIDC issuer, for the admin routes
    pub(crate) oidc: Mutex<Option<Arc<crate::oidc::Inner>>>,
}

fn read_fixture(dir: &Path, rel: &str) -> io::Result<String> {
    let path = dir.join(rel);
    std::fs::read_to_string(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read fixture {}: {e}", path.display())))
}

impl Shared {
    pub(crate) fn new(options: PlatformOptions, addr: SocketAddr) -> io::Result<Shared> {
        let testdata = options.testdata.clone();
        let (platform_key_pem, platform_cert_pem) = match &testdata {
            Some(dir) => {
                (read_fixture(dir, "platform/platform-key.pem")?, read_fixture(dir, "platform/platform-cert.pem")?)
            }
            // Nothing to read: a platform of its own, so it runs from a bare checkout.
            None => certs::platform_identity(crate::GENERATED_PLATFORM_CN)?,
        };
        let issuer = AccountIssuer::new(&platform_key_pem, &subject_cn(&platform_cert_pem))?;
        let (tls, ca_file) = if options.tls {
            let tls = certs::test_tls()?;
            let file = options.ca_file.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("mondoo-platform-ca-{}-{}.pem", std::process::id(), addr.port()))
            });
            std::fs::write(&file, &tls.ca_pem).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot write the test CA to {}: {e}", file.display()))
            })?;
            (Some(tls), Some(file))
        } else {
            (None, None)
        };
        let scheme = if options.tls { "https" } else { "http" };
        let prefix = options.path_prefix.trim_end_matches('/');
        let prefix =
            if prefix.is_empty() || prefix.starts_with('/') { prefix.to_string() } else { format!("/{prefix}") };
        let shared = Shared {
            url: format!("{scheme}://{addr}{prefix}"),
            options: PlatformOptions { path_prefix: prefix, ..options },
            testdata,
            tls,
            ca_file,
            platform_key_pem,
            platform_cert_pem,
            issuer,
            state: Mutex::new(State::default()),
            shutdown: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            proxy_url: Mutex::new(None),
            graphql: graphql::Endpoint::new(),
            sts: Mutex::new(StsState::default()),
            oidc: Mutex::new(None),
        };
        shared.reset()?;
        Ok(shared)
    }

    pub(crate) fn reset(&self) -> io::Result<()> {
        let mut accounts = HashMap::new();
        // The fixture accounts' certificates were issued by the fixture platform key: only
        // a platform started with the fixtures knows them.
        if let Some(dir) = &self.testdata {
            for rel in ["service-account/credentials.json", "service-account/credentials-org.json"] {
                let text = read_fixture(dir, rel)?;
                let doc: Value = serde_json::from_str(&text).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("fixture {rel} is not JSON: {e}"))
                })?;
                let field = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let space = [field("space_mrn"), field("scope_mrn"), field("parent_mrn")]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .unwrap_or_default();
                // The org fixture is the same account with another scope: the first file wins.
                accounts.entry(field("mrn")).or_insert(Account {
                    space_mrn: space,
                    certificate: field("certificate"),
                    token: None,
                    revoked: false,
                    agent: None,
                    expires_at: None,
                });
            }
        }
        lock(&self.sts).reset();
        let mut state = lock(&self.state);
        *state = State { accounts, ..State::default() };
        self.graphql.reset();
        Ok(())
    }

    /// Platform clock in nanoseconds since the epoch (real clock + offset).
    fn now_nanos(&self) -> i128 {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0);
        real + lock(&self.state).clock_offset as i128 * 1_000_000_000
    }

    pub(crate) fn now_secs(&self) -> i64 {
        self.now_nanos().div_euclid(1_000_000_000) as i64
    }

    pub(crate) fn mint_token(&self, spec: &TokenSpec) -> io::Result<String> {
        let now = self.now_secs();
        let nbf = now + spec.nbf_offset;
        let exp = if spec.no_exp { None } else { Some(now + spec.ttl_seconds) };
        let mut claims = Map::new();
        claims.insert("iss".into(), "mondoo/ams".into());
        claims
            .insert("sub".into(), if spec.space.is_empty() { PLATFORM_MRN.into() } else { spec.space.clone().into() });
        claims.insert("iat".into(), now.into());
        claims.insert("nbf".into(), nbf.into());
        if !spec.space.is_empty() {
            claims.insert("space".into(), spec.space.clone().into());
        }
        if !spec.desc.is_empty() {
            claims.insert("desc".into(), spec.desc.clone().into());
        }
        claims.insert("api_endpoint".into(), spec.api_endpoint.clone().unwrap_or_else(|| self.url.clone()).into());
        claims.insert("owner".into(), "//captain.api.mondoo.app/users/local-test-platform".into());
        if !spec.labels.is_empty() {
            claims.insert("labels".into(), serde_json::to_value(&spec.labels).unwrap_or_default());
        }
        if let Some(exp) = exp {
            claims.insert("exp".into(), exp.into());
        }
        let signer = mondoo::Signer::from_pem(PLATFORM_MRN, &self.platform_key_pem, Some(&self.platform_cert_pem))
            .map_err(|e| io::Error::other(format!("loading the platform key: {e}")))?;
        let token = signer
            .sign_claims(&Value::Object(claims))
            .map_err(|e| io::Error::other(format!("signing a registration token: {e}")))?;
        lock(&self.state)
            .tokens
            .insert(token.clone(), MintedToken { space: spec.space.clone(), labels: spec.labels.clone(), exp, nbf });
        Ok(token)
    }

    /// New account in `space_mrn`, valid for `ttl` seconds (None: no end); returns (mrn,
    /// private key PEM, certificate PEM).
    fn new_account(
        &self,
        space_mrn: &str,
        agent: Option<String>,
        ttl: Option<i64>,
    ) -> io::Result<(String, String, String)> {
        let mrn = format!("//agents.api.mondoo.app/spaces/{}/serviceaccounts/{}", last_segment(space_mrn), new_id());
        let (key, cert) = self.issuer.issue(&mrn, ttl)?;
        let expires_at = ttl.map(|t| self.now_secs() + t);
        lock(&self.state).accounts.insert(
            mrn.clone(),
            Account {
                space_mrn: space_mrn.to_string(),
                certificate: cert.clone(),
                token: None,
                revoked: false,
                agent,
                expires_at,
            },
        );
        Ok((mrn, key, cert))
    }

    pub(crate) fn create_service_account(&self, space_mrn: &str) -> io::Result<Value> {
        self.create_service_account_for(space_mrn, None)
    }

    /// A service account as the console's credentials JSON, valid for `ttl` seconds.
    pub(crate) fn create_service_account_for(&self, space_mrn: &str, ttl: Option<i64>) -> io::Result<Value> {
        if space_mrn.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "create_service_account: space_mrn is empty"));
        }
        let (mrn, key, cert) = self.new_account(space_mrn, None, ttl)?;
        Ok(json!({
            "mrn": mrn,
            "space_mrn": space_mrn,
            "private_key": key,
            "certificate": cert,
            "api_endpoint": self.url,
        }))
    }

    /// New account in `space_mrn` that authenticates with a static token instead of a key,
    /// as a token-type exchange answers it (protocol section 8): mrn, space_mrn, token,
    /// api_endpoint.
    pub(crate) fn create_token_service_account(&self, space_mrn: &str) -> io::Result<Value> {
        self.create_token_service_account_for(space_mrn, None)
    }

    /// A static-token service account, valid for `ttl` seconds (None: no end).
    pub(crate) fn create_token_service_account_for(&self, space_mrn: &str, ttl: Option<i64>) -> io::Result<Value> {
        if space_mrn.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "create_token_service_account: space_mrn is empty",
            ));
        }
        let mrn = format!("//agents.api.mondoo.app/spaces/{}/serviceaccounts/{}", last_segment(space_mrn), new_id());
        // Two ids: 48 random characters, and no dots, so it is never mistaken for a JWT.
        let token = format!("mondoo-static-{}{}", new_id(), new_id());
        let expires_at = ttl.map(|t| self.now_secs() + t);
        lock(&self.state).accounts.insert(
            mrn.clone(),
            Account {
                space_mrn: space_mrn.to_string(),
                certificate: String::new(),
                token: Some(token.clone()),
                revoked: false,
                agent: None,
                expires_at,
            },
        );
        Ok(json!({
            "mrn": mrn,
            "space_mrn": space_mrn,
            "token": token,
            "api_endpoint": self.url,
        }))
    }

    pub(crate) fn revoke(&self, mrn: &str) -> bool {
        match lock(&self.state).accounts.get_mut(mrn) {
            Some(account) => {
                account.revoked = true;
                true
            }
            None => false,
        }
    }

    fn record(&self, request: RecordedRequest) {
        lock(&self.state).requests.push(request);
    }

    /// Take one use of the first queued fault matching this call.
    fn take_fault(&self, service: &str, method: &str) -> Option<Fault> {
        let mut state = lock(&self.state);
        let index = state.faults.iter().position(|f| f.matches(service, method))?;
        let spec = &mut state.faults[index];
        let fault = spec.fault.clone();
        spec.times = spec.times.saturating_sub(1);
        if spec.times == 0 {
            state.faults.remove(index);
        }
        Some(fault)
    }
}

/// The subject CN of a PEM certificate, so issued certificates name the platform
/// certificate as issuer. A minimal DER scan (first CN = issuer = subject of a
/// self-signed certificate) instead of a full X.509 parser dependency.
fn subject_cn(cert_pem: &str) -> String {
    const FALLBACK: &str = "test platform";
    let body: String = cert_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.trim()) else {
        return FALLBACK.to_string();
    };
    let oid = [0x06, 0x03, 0x55, 0x04, 0x03];
    if let Some(i) = der.windows(oid.len()).position(|w| w == oid) {
        let rest = &der[i + oid.len()..];
        if rest.len() >= 2 && rest[1] < 0x80 && rest.len() >= 2 + rest[1] as usize {
            if let Ok(cn) = std::str::from_utf8(&rest[2..2 + rest[1] as usize]) {
                return cn.to_string();
            }
        }
    }
    FALLBACK.to_string()
}

pub(crate) fn last_segment(mrn: &str) -> &str {
    mrn.trim_end_matches('/').rsplit('/').next().unwrap_or(mrn)
}

/// 24 random alphanumeric characters.
pub(crate) fn new_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 24];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Uniqueness is all that matters here.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst) ^ std::process::id() as u64;
        bytes[..8].copy_from_slice(&n.to_le_bytes());
    }
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

pub(crate) fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.conns).insert(id, clone);
        }
        let conn_shared = shared.clone();
        let spawned = std::thread::Builder::new().name("mondoo-platform-conn".into()).spawn(move || {
            serve_connection(&conn_shared, stream);
            lock(&conn_shared.conns).remove(&id);
        });
        if spawned.is_err() {
            lock(&shared.conns).remove(&id);
        }
    }
}

fn status_body(code: u32, message: &str) -> Value {
    json!({"code": code, "message": message})
}

fn status_response(code: u32, message: &str) -> Response {
    Response::json(fault::http_status_for(code), &status_body(code, message))
}

fn serve_connection(shared: &Arc<Shared>, tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(IDLE_TIMEOUT));
    let peer = tcp.peer_addr().ok();
    let Ok(conn) = Conn::new(tcp, shared.tls.as_ref().map(|t| &t.server_config)) else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let request = match http::read_request(&mut reader, shared.options.max_body_bytes, |r| {
            let w = r.get_mut();
            w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            w.flush()
        }) {
            Ok(r) => r,
            Err(ReadError::Closed) | Err(ReadError::Io(_)) => return,
            Err(ReadError::Bad(message)) => {
                let _ = http::write_response(reader.get_mut(), &status_response(3, &message), true);
                return;
            }
            Err(ReadError::TooLarge(message)) => {
                let response = Response::json(413, &status_body(8, &message));
                let _ = http::write_response(reader.get_mut(), &response, true);
                return;
            }
            Err(ReadError::UnsupportedTransferEncoding(message)) => {
                let response = Response::json(501, &status_body(12, &message));
                let _ = http::write_response(reader.get_mut(), &response, true);
                return;
            }
        };
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let close = !request.keep_alive();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            shared.handle(&request, reader.get_mut(), close, peer)
        }));
        match outcome {
            Ok(Ok(Outcome::Answered)) if !close => continue,
            Ok(_) => return,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_string());
                let message = format!("internal error in the local platform: {what}");
                let _ = http::write_response(reader.get_mut(), &status_response(13, &message), true);
                return;
            }
        }
    }
}

/// What a service answers, before it is encoded for the client.
enum Answer {
    /// 200 with this proto JSON message
    Message(Value),
    /// a ranger status
    Status { http_status: u16, code: u32, message: String },
}

/// The result of a service call before it is written.
struct Handled {
    answer: Answer,
    auth: AuthOutcome,
    subject: Option<String>,
    /// a SecureTokenService exchange: who and with what
    exchange: Option<Box<ExchangeRecord>>,
}

impl Handled {
    fn status(code: u32, message: &str) -> Handled {
        Handled::status_with_http(fault::http_status_for(code), code, message)
    }
    fn status_with_http(http_status: u16, code: u32, message: &str) -> Handled {
        Handled {
            answer: Answer::Status { http_status, code, message: message.to_string() },
            auth: AuthOutcome::NotChecked,
            subject: None,
            exchange: None,
        }
    }
    fn rejected(reason: String) -> Handled {
        Handled { auth: AuthOutcome::Rejected(reason), ..Handled::status(16, UNAUTHENTICATED) }
    }
    /// 200 for a call that needs no authentication.
    fn unauthenticated(value: Value) -> Handled {
        Handled { answer: Answer::Message(value), auth: AuthOutcome::NotChecked, subject: None, exchange: None }
    }
    fn ok(value: Value, subject: String) -> Handled {
        Handled {
            answer: Answer::Message(omit_zero(value)),
            auth: AuthOutcome::Accepted,
            subject: Some(subject),
            exchange: None,
        }
    }
}

/// A service request with what its headers and path say about it.
struct Incoming<'a> {
    request: &'a Request,
    /// None for the JSON-only test service (Echo/Say)
    call: Option<Call>,
    encoding: Encoding,
}

/// Drop zero values (empty string, false, 0, empty object/array, null) from objects,
/// as proto JSON does.
fn omit_zero(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, omit_zero(v))).filter(|(_, v)| !is_zero(v)).collect())
        }
        other => other,
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

const SERVICES: &[(&str, &str)] = &[
    ("Health", "Check"),
    ("AgentManager", "RegisterAgent"),
    ("AgentManager", "PingPong"),
    ("AgentManager", "HealthCheck"),
    ("AgentManager", "UnRegisterAgent"),
    ("SecureTokenService", "ExchangeSSH"),
    ("SecureTokenService", "ExchangeExternalToken"),
    ("Echo", "Say"),
];

/// A bearer's JOSE header and claims, decoded without verification.
fn jwt_part(token: &str, index: usize) -> Option<Value> {
    let part = token.split('.').nth(index)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn bearer(request: &Request) -> Option<&str> {
    let value = request.header("authorization")?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then_some(token)
}

impl Shared {
    fn handle(&self, request: &Request, conn: &mut Conn, close: bool, peer: Option<SocketAddr>) -> io::Result<Outcome> {
        let (path, query) = match request.path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (request.path.as_str(), None),
        };
        let prefix = &self.options.path_prefix;
        if let Some(admin) = path.strip_prefix("/_admin/") {
            let response = self.admin(admin, request, peer);
            http::write_response(conn, &response, close)?;
            return Ok(Outcome::Answered);
        }
        let (service, method) = path
            .strip_prefix(prefix.as_str())
            .and_then(|p| p.strip_prefix('/'))
            .and_then(|p| p.split_once('/'))
            .filter(|(s, m)| !s.is_empty() && !m.is_empty() && !m.contains('/'))
            .unwrap_or(("", ""));
        let graphql_query = path.strip_prefix(prefix.as_str()) == Some("/query");
        let (service, method) = if graphql_query { (graphql::SERVICE, graphql::METHOD) } else { (service, method) };
        let mut record = RecordedRequest {
            http_method: request.method.clone(),
            path: request.path.clone(),
            service: service.to_string(),
            method: method.to_string(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            auth: AuthOutcome::NotChecked,
            subject: None,
            status: 0,
            fault: None,
            peer,
            gzipped: false,
            credential: None,
            exchange: None,
        };
        // Go's ServeMux sends an unclean path (`//x`, `/a/../x`) to its clean form first.
        let clean = http::clean_path(path);
        if clean != path {
            let location = match query {
                Some(q) => format!("{clean}?{q}"),
                None => clean,
            };
            record.status = 307;
            self.record(record);
            http::write_response(conn, &Response::redirect(307, &location), close)?;
            return Ok(Outcome::Answered);
        }
        let content_type = request.header("content-type");
        let answer_encoding = wire::answer_encoding(content_type, request.header("accept"));
        if let Some(fault) = self.take_fault(service, method) {
            record.fault = Some(fault.clone());
            if let Fault::Slow { millis } = fault {
                std::thread::sleep(Duration::from_millis(millis));
            } else {
                record.status = fault.http_status();
                record.gzipped = matches!(fault, Fault::GzipBomb { .. });
                // Recorded before writing: the client may be gone by then.
                self.record(record);
                return fault::write_fault(conn, &fault, answer_encoding, close);
            }
        }
        let (mut response, auth, subject) = if graphql_query {
            let served = self.graphql.serve(request, self);
            record.credential = served.credential;
            (served.response, served.auth, served.subject)
        } else {
            let handled = self.dispatch(request, service, method);
            record.exchange = handled.exchange.map(|e| *e);
            (self.encode(handled.answer, Call::of(service, method), answer_encoding), handled.auth, handled.subject)
        };
        if self.options.gzip && !response.body.is_empty() && http::accepts_gzip(request.header("accept-encoding")) {
            response = response.gzipped();
            record.gzipped = true;
        }
        record.auth = auth;
        record.subject = subject;
        record.status = response.status;
        self.record(record);
        http::write_response(conn, &response, close)?;
        Ok(Outcome::Answered)
    }

    /// The answer in the encoding the client asked for.
    fn encode(&self, answer: Answer, call: Option<Call>, encoding: Encoding) -> Response {
        let status = |http_status: u16, code: u32, message: &str| {
            Response::new(http_status, Some(encoding.content_type()), wire::status_body(encoding, code, message))
        };
        match (answer, encoding, call) {
            (Answer::Status { http_status, code, message }, _, _) => status(http_status, code, &message),
            (Answer::Message(value), Encoding::Json, _) => Response::json(200, &value),
            (Answer::Message(value), Encoding::Protobuf, Some(call)) => match call.response_from_json(&value) {
                Ok(bytes) => Response::new(200, Some(encoding.content_type()), bytes),
                // ranger's answer when a response does not encode
                Err(_) => status(500, 13, "error encoding response"),
            },
            (Answer::Message(_), Encoding::Protobuf, None) => status(500, 13, "error encoding response"),
        }
    }

    fn dispatch(&self, request: &Request, service: &str, method: &str) -> Handled {
        if !SERVICES.contains(&(service, method)) {
            return Handled::status(5, "method not defined");
        }
        if request.method != "POST" {
            let message = format!("{} {service}/{method}: only POST is supported", request.method);
            return Handled::status_with_http(405, 12, &message);
        }
        let encoding = match wire::request_encoding(request.header("content-type")) {
            Ok(encoding) => encoding,
            Err(message) => return Handled::status(3, &message),
        };
        let call = Call::of(service, method);
        if call.is_none() && encoding == Encoding::Protobuf {
            return Handled::status(12, &format!("{service}/{method} is a JSON-only test service: send JSON"));
        }
        let incoming = Incoming { request, call, encoding };
        if call == Some(Call::HealthCheck) {
            if let Err(h) = parse_body(&incoming) {
                return h;
            }
            return Handled::unauthenticated(omit_zero(self.health()));
        }
        if call == Some(Call::RegisterAgent) {
            return self.register_agent(&incoming);
        }
        if service == "SecureTokenService" {
            return self.secure_token_service(&incoming, method);
        }
        let (subject, body) = match self.signed_body(&incoming) {
            Ok(signed) => signed,
            Err(handled) => return handled,
        };
        match (service, method) {
            ("AgentManager", "PingPong") => Handled::ok(json!({}), subject),
            ("AgentManager", "HealthCheck") => self.agent_check_in(body, subject),
            ("AgentManager", "UnRegisterAgent") => self.unregister(body, subject),
            ("Echo", "Say") => {
                let mut map = body;
                map.insert("signed_by".into(), subject.clone().into());
                Handled {
                    answer: Answer::Message(Value::Object(map)),
                    auth: AuthOutcome::Accepted,
                    subject: Some(subject),
                    exchange: None,
                }
            }
            _ => Handled::status(5, "method not defined"),
        }
    }

    fn health(&self) -> Value {
        let nanos = self.now_nanos();
        let time = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default();
        json!({
            "status": "SERVING",
            "time": time,
            "apiVersion": self.options.api_version,
            "build": self.options.build,
        })
    }

    /// Verify a signed call as the platform does (protocol section 4); Ok = `sub`.
    /// A signed call's subject and JSON body, or the answer that refuses it (401 for a
    /// bad bearer, the body error once authenticated).
    fn signed_body(&self, incoming: &Incoming<'_>) -> Result<(String, Map<String, Value>), Handled> {
        // Verified over the bytes received, whichever the encoding.
        let subject = self.verify_signed(incoming.request).map_err(Handled::rejected)?;
        match parse_body(incoming) {
            Ok(body) => Ok((subject, body)),
            Err(h) => Err(with_subject(h, subject)),
        }
    }

    /// The account a static token authenticates (Ok(None): not a static token).
    fn static_token_subject(&self, token: &str) -> Result<Option<String>, String> {
        let now = self.now_secs();
        let state = lock(&self.state);
        match state.accounts.iter().find(|(_, a)| a.token.as_deref() == Some(token)) {
            None => Ok(None),
            Some((mrn, a)) if a.revoked => Err(format!("service account {mrn} (static token) is revoked")),
            Some((mrn, a)) if a.expires_at.is_some_and(|e| e < now) => {
                Err(format!("service account {mrn} (static token) expired"))
            }
            Some((mrn, _)) => Ok(Some(mrn.clone())),
        }
    }

    /// A call as a service account: its static token, or a bearer signed with its key.
    fn verify_signed(&self, request: &Request) -> Result<String, String> {
        let token = bearer(request).ok_or("no Authorization: Bearer header")?;
        if let Some(subject) = self.static_token_subject(token)? {
            return Ok(subject);
        }
        if token.split('.').count() != 3 {
            return Err("bearer is neither a known static token nor a JWT".to_string());
        }
        let header = jwt_part(token, 0).ok_or("bearer header is not base64url JSON")?;
        if header.get("alg").and_then(Value::as_str) != Some("ES384") {
            return Err(format!("alg {} is not ES384", header.get("alg").unwrap_or(&Value::Null)));
        }
        let kid = header.get("kid").and_then(Value::as_str).ok_or("bearer has no kid")?.to_string();
        let now = self.now_secs();
        let certificate = {
            let state = lock(&self.state);
            match state.accounts.get(&kid) {
                None => return Err(format!("unknown kid {kid}")),
                Some(a) if a.revoked => return Err(format!("service account {kid} is revoked")),
                Some(a) if a.expires_at.is_some_and(|e| e < now) => {
                    return Err(format!("service account {kid} expired (short-lived exchanged credential)"))
                }
                Some(a) => a.certificate.clone(),
            }
        };
        let claims = mondoo::__private::signer::verify(token, &request.body, &certificate, now)
            .map_err(|e| format!("verification failed: {e}"))?;
        // The checks below repeat what `verify` must do, so the platform's verdict does
        // not rest on the library under test alone.
        if claims.sub != kid {
            return Err(format!("sub {} differs from kid {kid}", claims.sub));
        }
        if claims.iat > now + LEEWAY_SECONDS {
            return Err(format!("iat {} is more than {LEEWAY_SECONDS} s after platform time {now}", claims.iat));
        }
        if claims.exp + LEEWAY_SECONDS < now {
            return Err(format!("expired at {} (platform time {now})", claims.exp));
        }
        if claims.nbf > now + LEEWAY_SECONDS {
            return Err(format!("not valid before {} (platform time {now})", claims.nbf));
        }
        Ok(claims.sub)
    }

    fn register_agent(&self, incoming: &Incoming<'_>) -> Handled {
        let request = incoming.request;
        let Some(token) = bearer(request) else {
            return Handled::rejected("no Authorization: Bearer header".into());
        };
        let kid = jwt_part(token, 0).and_then(|h| h.get("kid").and_then(Value::as_str).map(str::to_string));
        let signed_by_account = kid.as_ref().is_some_and(|k| lock(&self.state).accounts.contains_key(k));
        let static_token = lock(&self.state).accounts.values().any(|a| a.token.as_deref() == Some(token));
        if signed_by_account || static_token {
            // Service-account registration: the account already has credentials.
            let (subject, body) = match self.signed_body(incoming) {
                Ok(signed) => signed,
                Err(handled) => return handled,
            };
            let space = lock(&self.state).accounts.get(&subject).map(|a| a.space_mrn.clone()).unwrap_or_default();
            let agent_mrn = self.add_agent(&space, &subject, &body, BTreeMap::new());
            return Handled::ok(json!({"agent_mrn": agent_mrn}), subject);
        }

        let now = self.now_secs();
        let (space, labels) = {
            let state = lock(&self.state);
            let Some(minted) = state.tokens.get(token) else {
                return Handled::rejected(
                    "bearer is neither a minted registration token nor signed by a known service account".into(),
                );
            };
            if let Some(exp) = minted.exp {
                if exp + LEEWAY_SECONDS < now {
                    return Handled::rejected(format!("registration token expired at {exp} (platform time {now})"));
                }
            }
            if minted.nbf > now + LEEWAY_SECONDS {
                return Handled::rejected(format!(
                    "registration token not valid before {} (platform time {now})",
                    minted.nbf
                ));
            }
            if minted.space.is_empty() {
                return Handled::rejected("registration token has no space".into());
            }
            (minted.space.clone(), minted.labels.clone())
        };
        let body = match parse_body(incoming) {
            Ok(b) => b,
            Err(h) => return with_subject(h, space),
        };
        let agent_mrn = format!("//agents.api.mondoo.app/spaces/{}/agents/{}", last_segment(&space), new_id());
        let (account_mrn, key, cert) = match self.new_account(&space, Some(agent_mrn.clone()), None) {
            Ok(a) => a,
            Err(e) => return Handled::status(13, &format!("issuing agent credentials: {e}")),
        };
        let agent_mrn = self.add_agent_with_mrn(agent_mrn, &space, &account_mrn, &body, labels);
        Handled::ok(
            json!({
                "agent_mrn": agent_mrn,
                "credential": {
                    "mrn": account_mrn,
                    "parent_mrn": space,
                    "private_key": key,
                    "certificate": cert,
                    "api_endpoint": self.url,
                }
            }),
            space,
        )
    }

    fn add_agent(
        &self,
        space: &str,
        account: &str,
        body: &Map<String, Value>,
        labels: BTreeMap<String, String>,
    ) -> String {
        let mrn = format!("//agents.api.mondoo.app/spaces/{}/agents/{}", last_segment(space), new_id());
        self.add_agent_with_mrn(mrn, space, account, body, labels)
    }

    fn add_agent_with_mrn(
        &self,
        mrn: String,
        space: &str,
        account: &str,
        body: &Map<String, Value>,
        mut labels: BTreeMap<String, String>,
    ) -> String {
        let info = body.get("agent_info").cloned().unwrap_or(Value::Null);
        if let Some(Value::Object(extra)) = info.get("labels") {
            for (k, v) in extra {
                if let Some(v) = v.as_str() {
                    labels.insert(k.clone(), v.to_string());
                }
            }
        }
        let agent = Agent {
            mrn: mrn.clone(),
            space_mrn: space.to_string(),
            name: body.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            service_account: account.to_string(),
            labels,
            info,
            check_ins: 0,
        };
        lock(&self.state).agents.insert(mrn.clone(), agent);
        mrn
    }

    /// The agent named by `mrn`, if the signing account may act on it.
    fn owned_agent(&self, body: &Map<String, Value>, subject: &str) -> Result<String, Handled> {
        let mrn = body.get("mrn").and_then(Value::as_str).unwrap_or("");
        if mrn.is_empty() {
            return Err(Handled::status(3, "mrn is required"));
        }
        let state = lock(&self.state);
        let Some(agent) = state.agents.get(mrn) else {
            return Err(Handled::status(5, &format!("agent {mrn} not found")));
        };
        let account_space = state.accounts.get(subject).map(|a| a.space_mrn.as_str()).unwrap_or("");
        if agent.space_mrn != account_space {
            return Err(Handled::status(7, &format!("{subject} may not act on agent {mrn}")));
        }
        Ok(mrn.to_string())
    }

    fn agent_check_in(&self, body: Map<String, Value>, subject: String) -> Handled {
        let mrn = match self.owned_agent(&body, &subject) {
            Ok(m) => m,
            Err(h) => return with_subject(h, subject),
        };
        if let Some(agent) = lock(&self.state).agents.get_mut(&mrn) {
            agent.check_ins += 1;
            agent.info = Value::Object(body);
        }
        Handled::ok(json!({}), subject)
    }

    fn unregister(&self, body: Map<String, Value>, subject: String) -> Handled {
        let mrn = match self.owned_agent(&body, &subject) {
            Ok(m) => m,
            Err(h) => return with_subject(h, subject),
        };
        let mut state = lock(&self.state);
        state.agents.remove(&mrn);
        // The credentials made for this agent at registration go with it.
        for account in state.accounts.values_mut() {
            if account.agent.as_deref() == Some(mrn.as_str()) {
                account.revoked = true;
            }
        }
        drop(state);
        Handled::ok(json!({"mrn": mrn}), subject)
    }
}

impl graphql::ServiceAccounts for Shared {
    fn verify_service_account(&self, request: &Request) -> Result<(String, String), String> {
        let mrn = self.verify_signed(request)?;
        let space = lock(&self.state).accounts.get(&mrn).map(|a| a.space_mrn.clone()).unwrap_or_default();
        Ok((mrn, space))
    }

    fn account_spaces(&self) -> std::collections::BTreeSet<String> {
        lock(&self.state).accounts.values().map(|a| a.space_mrn.clone()).collect()
    }
}

impl Shared {
    /// ExchangeSSH / ExchangeExternalToken (unauthenticated calls; the proof is the body).
    fn secure_token_service(&self, incoming: &Incoming<'_>, method: &str) -> Handled {
        let body = match parse_body(incoming) {
            Ok(body) => body,
            Err(h) => return h,
        };
        let now = self.now_secs();
        let ((verified, wants_token), ttl, answered_api_endpoint) = {
            let mut sts = lock(&self.sts);
            let verified = match method {
                "ExchangeSSH" => sts.verify_ssh(&body, now).map(|v| (v, false)),
                _ => sts.verify_external(&body, now),
            };
            match verified {
                Ok(v) => (v, sts.credential_ttl_seconds, sts.answered_api_endpoint.clone()),
                Err(refusal) => {
                    let subject = refusal.record.as_ref().map(|r| r.subject.clone()).filter(|s| !s.is_empty());
                    let mut handled = if refusal.code == 16 {
                        Handled::rejected(refusal.message)
                    } else {
                        Handled::status(refusal.code, &refusal.message)
                    };
                    handled.subject = subject;
                    handled.exchange = refusal.record;
                    return handled;
                }
            }
        };
        let scope = verified.scope_mrn.clone();
        let made = if wants_token {
            self.create_token_service_account_for(&scope, Some(ttl))
        } else {
            self.create_service_account_for(&scope, Some(ttl))
        };
        let mut account = match made {
            Ok(account) => account,
            Err(e) => return Handled::status(13, &format!("creating the service account: {e}")),
        };
        if let (Some(endpoint), Some(map)) = (answered_api_endpoint, account.as_object_mut()) {
            map.insert("api_endpoint".into(), Value::String(endpoint));
        }
        let mut record = verified.record;
        record.account_mrn = account.get("mrn").and_then(Value::as_str).map(str::to_string);
        let answer = if method == "ExchangeSSH" {
            // ExchangeSSHKeyResponse: the scope goes as parent_mrn.
            if let Some(map) = account.as_object_mut() {
                if let Some(space) = map.remove("space_mrn") {
                    map.insert("parent_mrn".into(), space);
                }
            }
            account
        } else {
            let text = serde_json::to_vec(&account).unwrap_or_default();
            json!({"base64_credential": base64::engine::general_purpose::STANDARD.encode(text)})
        };
        let subject = record.subject.clone();
        let mut handled = Handled::ok(answer, subject);
        handled.exchange = Some(Box::new(record));
        handled
    }
}

/// An authenticated call answered with an error keeps its accepted auth in the record.
fn with_subject(mut handled: Handled, subject: String) -> Handled {
    handled.auth = AuthOutcome::Accepted;
    handled.subject = Some(subject);
    handled
}

/// The body as a proto JSON object, from JSON or from the call's protobuf message; a body
/// that does not decode is 500/code 2 as the real server answers. An empty JSON body is
/// the empty message (ranger's generated servers skip decoding it).
fn parse_body(incoming: &Incoming<'_>) -> Result<Map<String, Value>, Handled> {
    let body = &incoming.request.body;
    let decoded = match (incoming.encoding, incoming.call) {
        (Encoding::Json, _) if body.is_empty() => Ok(json!({})),
        (Encoding::Json, _) => serde_json::from_slice::<Value>(body).map_err(|e| e.to_string()),
        (Encoding::Protobuf, Some(call)) => call.request_to_json(body).map(omit_zero),
        (Encoding::Protobuf, None) => Err("no protobuf message for this call".to_string()),
    };
    match decoded {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Handled::status(2, "malformed request: the body is not a JSON object")),
        Err(e) => Err(Handled::status(2, &format!("malformed request: {e}"))),
    }
}

// ---- admin endpoints ----

impl Shared {
    fn admin(&self, what: &str, request: &Request, peer: Option<SocketAddr>) -> Response {
        if !peer.is_some_and(|p| p.ip().is_loopback()) {
            return Response::json(403, &status_body(7, "admin endpoints answer loopback clients only"));
        }
        match self.admin_inner(what, request) {
            Ok(v) => Response::json(200, &v),
            Err((status, message)) => Response::json(status, &json!({"error": message})),
        }
    }

    fn admin_inner(&self, what: &str, request: &Request) -> Result<Value, (u16, String)> {
        let body = || -> Result<Value, (u16, String)> {
            if request.body.is_empty() {
                return Ok(json!({}));
            }
            serde_json::from_slice(&request.body).map_err(|e| (400, format!("admin body is not JSON: {e}")))
        };
        let internal = |e: io::Error| (500, e.to_string());
        match what {
            "token" => {
                let spec: TokenSpec = serde_json::from_value(body()?).map_err(|e| (400, format!("token spec: {e}")))?;
                Ok(json!({"token": self.mint_token(&spec).map_err(internal)?}))
            }
            "service-account" => {
                let body = body()?;
                let space = body.get("space_mrn").and_then(Value::as_str).unwrap_or(crate::FIXTURE_SPACE);
                self.create_service_account(space).map_err(internal)
            }
            "token-service-account" => {
                let body = body()?;
                let space = body.get("space_mrn").and_then(Value::as_str).unwrap_or(crate::FIXTURE_SPACE);
                self.create_token_service_account(space).map_err(internal)
            }
            "revoke" => {
                let body = body()?;
                let mrn = body.get("mrn").and_then(Value::as_str).unwrap_or("");
                if self.revoke(mrn) {
                    Ok(json!({}))
                } else {
                    Err((404, format!("no service account {mrn}")))
                }
            }
            "fault" => {
                let specs: Vec<FaultSpec> = match body()? {
                    Value::Array(list) => serde_json::from_value(Value::Array(list)),
                    one => serde_json::from_value(one).map(|s| vec![s]),
                }
                .map_err(|e| (400, format!("fault spec: {e}")))?;
                lock(&self.state).faults.extend(specs);
                Ok(json!({}))
            }
            "clock" => {
                let offset = body()?
                    .get("offset_seconds")
                    .and_then(Value::as_i64)
                    .ok_or((400, "expected {\"offset_seconds\": N}".to_string()))?;
                lock(&self.state).clock_offset = offset;
                Ok(json!({}))
            }
            "requests" => {
                let state = lock(&self.state);
                Ok(Value::Array(state.requests.iter().map(request_json).collect()))
            }
            "agents" => {
                let state = lock(&self.state);
                let mut agents: Vec<&Agent> = state.agents.values().collect();
                agents.sort_by(|a, b| a.mrn.cmp(&b.mrn));
                serde_json::to_value(agents).map_err(|e| (500, e.to_string()))
            }
            "authorize-ssh-key" => {
                let body = body()?;
                let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let fingerprint = lock(&self.sts)
                    .authorize_ssh_key(&field("subject_mrn"), &field("scope_mrn"), &field("public_key"))
                    .map_err(|e| (400, e))?;
                Ok(json!({"fingerprint": fingerprint}))
            }
            "authorize-workload" => {
                let body = body()?;
                let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let issuer = match field("issuer") {
                    i if i.is_empty() => lock(&self.oidc).as_ref().map(|o| o.issuer().to_string()).unwrap_or_default(),
                    i => i,
                };
                lock(&self.sts).authorize_workload(&issuer, &field("audience"), &field("subject"), &field("scope_mrn"));
                Ok(json!({"issuer": issuer}))
            }
            "oidc-token" => {
                let body = body()?;
                let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let ttl = body.get("ttl_seconds").and_then(Value::as_i64).unwrap_or(300);
                let oidc = lock(&self.oidc).clone().ok_or((500, "no OIDC issuer".to_string()))?;
                Ok(json!({"token": oidc.mint(&field("subject"), &field("audience"), ttl).map_err(internal)?}))
            }
            "refuse-exchanges" => {
                let times = body()?.get("times").and_then(Value::as_u64).unwrap_or(1);
                lock(&self.sts).refuse_next(times as u32);
                Ok(json!({}))
            }
            "exchange-api-endpoint" => {
                let endpoint = body()?.get("api_endpoint").and_then(Value::as_str).map(str::to_string);
                lock(&self.sts).answered_api_endpoint = endpoint;
                Ok(json!({}))
            }
            "exchange-ttl" => {
                let seconds = body()?
                    .get("seconds")
                    .and_then(Value::as_i64)
                    .ok_or((400, "expected {\"seconds\": N}".to_string()))?;
                lock(&self.sts).credential_ttl_seconds = seconds;
                Ok(json!({}))
            }
            "reset" => {
                self.reset().map_err(internal)?;
                Ok(json!({}))
            }
            "info" => Ok(json!({
                "url": self.url,
                "ca_pem": self.tls.as_ref().map(|t| t.ca_pem.clone()),
                "ca_file": self.ca_file.as_ref().map(|p| p.display().to_string()),
                "proxy_url": lock(&self.proxy_url).clone(),
                "platform_mrn": PLATFORM_MRN,
                "platform_certificate": self.platform_cert_pem,
                "testdata": self.testdata.as_ref().map(|p| p.display().to_string()),
                "fixture_space": crate::FIXTURE_SPACE,
                "oidc_issuer": lock(&self.oidc).as_ref().map(|o| o.issuer().to_string()),
                "actions_request_url": lock(&self.oidc).as_ref().map(|o| o.actions_request_url()),
                "actions_request_token": lock(&self.oidc).as_ref().map(|o| o.actions_request_token().to_string()),
                "metadata_host": lock(&self.oidc).as_ref().map(|o| o.metadata_host()),
            })),
            other => match self.graphql.admin(other, &body()?) {
                Some(answer) => answer,
                None => Err((404, format!("no admin endpoint {other:?}"))),
            },
        }
    }
}

fn request_json(r: &RecordedRequest) -> Value {
    let headers: Vec<Value> = r.headers.iter().map(|(k, v)| json!([k, v])).collect();
    let (outcome, reason) = match &r.auth {
        AuthOutcome::NotChecked => ("not_checked", None),
        AuthOutcome::Accepted => ("accepted", None),
        AuthOutcome::Rejected(why) => ("rejected", Some(why.clone())),
    };
    json!({
        "http_method": r.http_method,
        "path": r.path,
        "service": r.service,
        "method": r.method,
        "headers": headers,
        "body_base64": base64::engine::general_purpose::STANDARD.encode(&r.body),
        "auth": outcome,
        "auth_reason": reason,
        "subject": r.subject,
        "status": r.status,
        "fault": r.fault.as_ref().and_then(|f| serde_json::to_value(f).ok()),
        "peer": r.peer.map(|p| p.to_string()),
        "gzipped": r.gzipped,
        "credential": r.credential,
        "exchange": r.exchange,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omits_zero_values() {
        let v = omit_zero(json!({"a": "", "b": 0, "c": false, "d": {}, "e": "x", "f": {"g": ""}}));
        assert_eq!(v, json!({"e": "x"}));
    }

    #[test]
    fn reads_platform_cn() {
        let pem = std::fs::read_to_string(crate::default_testdata().join("platform/platform-cert.pem")).unwrap();
        assert_eq!(subject_cn(&pem), "test platform");
        // and a generated one's, which issued certificates then name as their issuer
        let (_, generated) = certs::platform_identity(crate::GENERATED_PLATFORM_CN).unwrap();
        assert_eq!(subject_cn(&generated), crate::GENERATED_PLATFORM_CN);
    }
}
