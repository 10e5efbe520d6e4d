//! A local Mondoo Platform for tests: a real HTTP(S) server on 127.0.0.1 implementing the
//! platform side of the client protocol (`shared/docs/platform-protocol.md` sections 3-5,
//! and 7: the Platform API, GraphQL at `/query`, in [`graphql`]).
//!
//! It mints registration tokens and service-account credentials signed with its platform
//! key (made fresh at startup, or the fixtures' with [`PlatformOptions::with_fixtures`]),
//! verifies signed calls exactly as the real server does, records every request and
//! injects faults on demand. Used in-process by the Rust tests and the
//! quickstart, and as the `mondoo-platform` binary (driven over `/_admin/`) by the C,
//! Python and Go tests.
//!
//! ```no_run
//! use mondoo_platform::{Fault, FaultSpec, Platform, PlatformOptions, TokenSpec, FIXTURE_SPACE};
//! let platform = Platform::start(PlatformOptions::default()).unwrap();
//! let token = platform.mint_token(&TokenSpec::new(FIXTURE_SPACE)).unwrap();
//! platform.inject(FaultSpec::new(Fault::Aborted).times(3).only("AgentManager/RegisterAgent"));
//! // ... register with `token` against platform.url() ...
//! assert!(platform.requests().iter().any(|r| r.method == "RegisterAgent"));
//! ```

mod certs;
pub mod fault;
pub mod graphql;
pub mod http;
pub mod latency;
pub mod oidc;
pub mod proxy;
mod server;
pub mod ssh_agent;
pub mod sts;
pub mod wire;

use std::collections::BTreeMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

pub use fault::{Fault, FaultSpec};
pub use graphql::{Asset, Credential, CredentialKind};
pub use latency::LatencyProxy;
pub use oidc::OidcIssuer;
pub use proxy::ConnectProxy;
pub use sts::ExchangeRecord;

/// The body of every authentication failure (HTTP 401, code 16).
pub const UNAUTHENTICATED: &str = "request permission unauthenticated";
/// `kid` of the registration tokens this platform mints.
pub const PLATFORM_MRN: &str = "//platform.api.mondoo.app/local-test-platform";
/// Subject CN of the certificate a platform started without fixtures makes for its key.
pub const GENERATED_PLATFORM_CN: &str = "local test platform";
/// The space of the fixture service account (`service-account/credentials.json`).
pub const FIXTURE_SPACE: &str = "//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456";
/// Leeway on `exp`/`nbf`, and how far `iat` may be in the future (seconds).
pub const LEEWAY_SECONDS: i64 = 60;

/// How to start a platform.
#[derive(Debug, Clone)]
pub struct PlatformOptions {
    /// serve HTTPS with a certificate from a test CA made at startup
    pub tls: bool,
    /// fixtures directory (`testdata/` layout): the platform key and certificate are read
    /// from it and its service accounts are known from the start. `None` (the default): a
    /// fresh P-384 platform key and self-signed certificate, and no accounts but those
    /// the platform makes itself.
    pub testdata: Option<PathBuf>,
    /// `apiVersion` answered by Health/Check
    pub api_version: String,
    /// `build` answered by Health/Check
    pub build: String,
    /// largest request body accepted (413 above)
    pub max_body_bytes: usize,
    /// serve the services under this path prefix (e.g. `/api`); the URL includes it
    pub path_prefix: String,
    /// also start a [`ConnectProxy`] (see [`Platform::proxy`])
    pub proxy: bool,
    /// where to write the test CA's PEM (TLS only); default a file in the temp dir.
    /// Removed when the platform stops either way.
    pub ca_file: Option<PathBuf>,
    /// gzip every answer with a body when the request's `Accept-Encoding` allows it
    /// (default on; faults are written as they are)
    pub gzip: bool,
}

impl Default for PlatformOptions {
    fn default() -> Self {
        PlatformOptions {
            tls: false,
            testdata: None,
            api_version: "local-test-platform".to_string(),
            build: "local".to_string(),
            max_body_bytes: 16 * 1024 * 1024,
            path_prefix: String::new(),
            proxy: false,
            ca_file: None,
            gzip: true,
        }
    }
}

impl PlatformOptions {
    /// Defaults with HTTPS.
    pub fn tls() -> Self {
        PlatformOptions { tls: true, ..Default::default() }
    }

    /// Defaults with the repository's fixtures ([`default_testdata`]): the fixture
    /// platform key, and the fixture service accounts known, so calls signed with
    /// `service-account/credentials.json` are accepted.
    pub fn with_fixtures() -> Self {
        PlatformOptions { testdata: Some(default_testdata()), ..Default::default() }
    }
}

/// The repository's fixtures directory, `testdata/`.
pub fn default_testdata() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata"))
}

/// What a registration token says. Times are relative to the platform clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenSpec {
    /// `space` claim; empty = no `space` claim (a bad token)
    pub space: String,
    /// `exp` = now + ttl; negative makes an expired token
    pub ttl_seconds: i64,
    pub labels: BTreeMap<String, String>,
    /// `api_endpoint` claim; `None` = the platform's URL, `Some("")` = an empty claim
    pub api_endpoint: Option<String>,
    /// `nbf` = now + nbf_offset (positive = not yet valid)
    pub nbf_offset: i64,
    /// leave out `exp`
    pub no_exp: bool,
    pub desc: String,
}

impl Default for TokenSpec {
    fn default() -> Self {
        TokenSpec {
            space: FIXTURE_SPACE.to_string(),
            ttl_seconds: 3600,
            labels: BTreeMap::new(),
            api_endpoint: None,
            nbf_offset: 0,
            no_exp: false,
            desc: "minted by the local test platform".to_string(),
        }
    }
}

impl TokenSpec {
    pub fn new(space: &str) -> Self {
        TokenSpec { space: space.to_string(), ..Default::default() }
    }
}

/// How a request's authentication went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum AuthOutcome {
    /// the call needs none, or was answered before authentication (fault, 404, ...)
    NotChecked,
    Accepted,
    /// answered 401; why (for test diagnostics, never sent to the client)
    Rejected(String),
}

/// One request as the platform saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub http_method: String,
    pub path: String,
    /// `Service` of `/Service/Method` (empty when the path has another shape)
    pub service: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub auth: AuthOutcome,
    /// `sub` of an accepted bearer, or the space of an accepted registration token
    pub subject: Option<String>,
    /// HTTP status answered (0 when the connection was cut before a status line)
    pub status: u16,
    pub fault: Option<Fault>,
    /// the client's address: equal ports mean one kept-alive connection
    pub peer: Option<SocketAddr>,
    /// whether the answer went out gzip-encoded
    pub gzipped: bool,
    /// the credential of an accepted Platform API (`/query`) request
    pub credential: Option<Credential>,
    /// a SecureTokenService exchange: the subject, the SSH key or issuer, the account made
    pub exchange: Option<ExchangeRecord>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// An agent registered with the platform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    pub mrn: String,
    pub space_mrn: String,
    pub name: String,
    /// the service account that registered it, or the one made for it
    pub service_account: String,
    pub labels: BTreeMap<String, String>,
    /// last `agent_info` (RegisterAgent) or HealthCheck body
    pub info: serde_json::Value,
    pub check_ins: u32,
}

/// A running local platform. Dropping it stops it.
pub struct Platform {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
    proxy: Option<ConnectProxy>,
    oidc: OidcIssuer,
}

impl Platform {
    /// Bind 127.0.0.1:0 and serve.
    pub fn start(options: PlatformOptions) -> io::Result<Platform> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(server::Shared::new(options.clone(), addr)?);
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("mondoo-platform-accept".into())
            .spawn(move || server::accept_loop(accept_shared, listener))?;
        let proxy = if options.proxy { Some(ConnectProxy::start(false)?) } else { None };
        if let Some(p) = &proxy {
            *server::lock(&shared.proxy_url) = Some(p.url());
        }
        // The local identity provider, trusted by the SecureTokenService from the start.
        let oidc = OidcIssuer::start()?;
        server::lock(&shared.sts).trust_issuer(oidc.issuer(), oidc.jwks().clone());
        *server::lock(&shared.oidc) = Some(oidc.inner());
        let platform = Platform { shared, addr, accept: Some(accept), proxy, oidc };
        Ok(platform)
    }

    /// `http(s)://127.0.0.1:PORT` plus the path prefix, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM of the test CA that issued the server certificate (TLS only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// The test CA written to a temporary file, removed when the platform stops (TLS only).
    pub fn ca_file(&self) -> Option<&Path> {
        self.shared.ca_file.as_deref()
    }

    /// The proxy started with `PlatformOptions::proxy`.
    pub fn proxy(&self) -> Option<&ConnectProxy> {
        self.proxy.as_ref()
    }

    /// The fixtures directory it was started with, if any.
    pub fn testdata(&self) -> Option<&Path> {
        self.shared.testdata.as_deref()
    }

    /// PEM of the platform certificate: its key signs the registration tokens and the
    /// service-account certificates.
    pub fn platform_certificate(&self) -> &str {
        &self.shared.platform_cert_pem
    }

    /// A registration token signed ES384 with the platform key (kid [`PLATFORM_MRN`]).
    pub fn mint_token(&self, spec: &TokenSpec) -> io::Result<String> {
        self.shared.mint_token(spec)
    }

    /// New service account in `space_mrn` (P-384 key, certificate from the platform key),
    /// as the console's credentials JSON: mrn, space_mrn, private_key, certificate, api_endpoint.
    pub fn create_service_account(&self, space_mrn: &str) -> io::Result<serde_json::Value> {
        self.shared.create_service_account(space_mrn)
    }

    /// New service account in `space_mrn` that carries a static token instead of a key, as
    /// a token-type exchange answers it: mrn, space_mrn, token, api_endpoint. Calls with
    /// `Authorization: Bearer <token>` are accepted as that account wherever a signed call
    /// is; an unknown token gets 401 code 16.
    pub fn create_token_service_account(&self, space_mrn: &str) -> io::Result<serde_json::Value> {
        self.shared.create_token_service_account(space_mrn)
    }

    /// Revoke a service account: later calls signed with it (or with its static token) get
    /// 401. Returns whether it existed.
    pub fn revoke(&self, mrn: &str) -> bool {
        self.shared.revoke(mrn)
    }

    /// Add `count` assets to `space_mrn` for the Platform API (`asset-0001`, ... in the
    /// space); returns the new ones.
    pub fn add_assets(&self, space_mrn: &str, count: usize) -> Vec<Asset> {
        self.shared.graphql.add_assets(space_mrn, count)
    }

    /// The space's assets, in the order added (with their current annotations).
    pub fn assets(&self, space_mrn: &str) -> Vec<Asset> {
        self.shared.graphql.assets(space_mrn)
    }

    /// A new Platform API token for `space_mrn`: an opaque random string, accepted as
    /// `Authorization: Bearer <token>` at `/query` until revoked.
    pub fn mint_api_token(&self, space_mrn: &str) -> String {
        self.shared.graphql.mint_api_token(space_mrn).0
    }

    /// Revoke an API token (given as itself or its mrn): later `/query` calls with it get
    /// 401. Returns whether it existed.
    pub fn revoke_api_token(&self, token_or_mrn: &str) -> bool {
        self.shared.graphql.revoke_api_token(token_or_mrn)
    }

    /// Queue a fault; faults are consumed one request at a time, in order.
    pub fn inject(&self, fault: impl Into<FaultSpec>) {
        server::lock(&self.shared.state).faults.push(fault.into());
    }

    pub fn clear_faults(&self) {
        server::lock(&self.shared.state).faults.clear();
    }

    /// Faults not yet consumed.
    pub fn pending_faults(&self) -> Vec<FaultSpec> {
        server::lock(&self.shared.state).faults.clone()
    }

    /// Shift the platform clock (Health/Check `time` and verification) by `seconds`.
    /// `-72 * 3600` makes every client clock look 72 h ahead.
    pub fn set_clock_offset(&self, seconds: i64) {
        server::lock(&self.shared.state).clock_offset = seconds;
    }

    pub fn clock_offset(&self) -> i64 {
        server::lock(&self.shared.state).clock_offset
    }

    /// The platform clock, whole Unix seconds.
    pub fn now(&self) -> i64 {
        self.shared.now_secs()
    }

    /// Every service request so far (admin calls are not recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        server::lock(&self.shared.state).requests.clone()
    }

    pub fn clear_requests(&self) {
        server::lock(&self.shared.state).requests.clear();
    }

    pub fn agents(&self) -> Vec<Agent> {
        let state = server::lock(&self.shared.state);
        let mut agents: Vec<Agent> = state.agents.values().cloned().collect();
        agents.sort_by(|a, b| a.mrn.cmp(&b.mrn));
        agents
    }

    /// Back to the start: the fixture accounts only (none without fixtures), no agents,
    /// tokens, requests, faults or clock offset.
    pub fn reset(&self) -> io::Result<()> {
        self.shared.reset()
    }

    /// The local OIDC issuer (started with the platform, trusted by ExchangeExternalToken).
    pub fn oidc(&self) -> &OidcIssuer {
        &self.oidc
    }

    /// Bind an SSH public key (OpenSSH format) to the identity `subject_mrn` for
    /// `scope_mrn`: ExchangeSSH claims with that subject and resource, signed by that key,
    /// get a service account in the scope. Returns the key's SHA256 fingerprint.
    pub fn authorize_ssh_key(
        &self,
        subject_mrn: &str,
        scope_mrn: &str,
        public_key_openssh: &str,
    ) -> io::Result<String> {
        server::lock(&self.shared.sts)
            .authorize_ssh_key(subject_mrn, scope_mrn, public_key_openssh)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }

    /// Bind the workload `subject` of `issuer`'s tokens for `audience` to `scope_mrn`
    /// (ExchangeExternalToken).
    pub fn authorize_workload(&self, issuer: &str, audience: &str, subject: &str, scope_mrn: &str) {
        server::lock(&self.shared.sts).authorize_workload(issuer, audience, subject, scope_mrn);
    }

    /// Trust another identity provider's tokens (its JWKS) besides the local issuer.
    pub fn trust_issuer(&self, issuer: &str, jwks: serde_json::Value) {
        server::lock(&self.shared.sts).trust_issuer(issuer, jwks);
    }

    /// Refuse the next `times` exchanges (7 PermissionDenied "exchange refused").
    pub fn refuse_exchanges(&self, times: u32) {
        server::lock(&self.shared.sts).refuse_next(times);
    }

    /// Validity of the certificates (and static tokens) of exchanged credentials; default
    /// [`sts::DEFAULT_EXCHANGE_TTL_SECONDS`]. Calls with one are refused after it.
    pub fn set_exchange_ttl(&self, seconds: i64) {
        server::lock(&self.shared.sts).credential_ttl_seconds = seconds;
    }

    /// The `api_endpoint` exchanged credentials carry (None, the default: this
    /// platform's URL), to play a platform that sends a keyless client's calls elsewhere.
    pub fn set_exchange_api_endpoint(&self, endpoint: Option<&str>) {
        server::lock(&self.shared.sts).answered_api_endpoint = endpoint.map(str::to_string);
    }

    /// Stop serving and close every connection (also done on drop).
    pub fn shutdown(&mut self) {
        if !http::stop_accept_loop(&self.shared.shutdown, self.addr, &mut self.accept) {
            return;
        }
        for conn in server::lock(&self.shared.conns).drain() {
            let _ = conn.1.shutdown(Shutdown::Both);
        }
        if let Some(p) = self.proxy.as_mut() {
            p.shutdown();
        }
        self.oidc.shutdown();
        if let Some(file) = &self.shared.ca_file {
            let _ = std::fs::remove_file(file);
        }
    }

    /// Whether [`Platform::shutdown`] ran.
    pub fn is_shut_down(&self) -> bool {
        self.shared.shutdown.load(Ordering::SeqCst)
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.shutdown();
    }
}
