//! The platform flows (protocol section 5): register, status, logout, check-in and
//! signed calls, over one async [`Client`] that owns the config, the signer and one HTTP
//! pool ([`crate::blocking::Client`] is the same client for callers without a runtime).
//!
//! Cancel safety: dropping an operation's future stops its request (the connection is
//! closed) and leaves the config as it was, or as the operation wrote it: every config
//! write happens between two network steps, in one poll, never across an `.await`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::json;

use crate::config::{Config, ConfigSource};
use crate::error::{server_text, Code, Error, Result};
use crate::rpc::{
    redact_userinfo, AgentInfo, AgentRegistrationConfirmation, AgentRegistrationRequest, Auth, Empty,
    HealthCheckRequest, HealthCheckResponse, HttpOptions, Mrn, ProxySettings, RpcClient,
};
use crate::signer::Signer;
use crate::sysinfo::SystemInfo;
use crate::token::RegistrationToken;
use crate::CancelToken;

/// How a [`Client`] talks to the platform. [`ClientOptions::new`] (= `Default`) is Go's
/// behaviour; change it with the `with_*` methods (the struct may grow, so it cannot be
/// built from a literal outside this crate).
///
/// ```
/// use std::time::Duration;
/// let options = mondoo::ClientOptions::new()
///     .with_api_endpoint("https://eu.api.mondoo.com")
///     .with_timeout(Duration::from_secs(60));
/// assert_eq!(options.timeout, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Overrides the config's `api_endpoint` (and, for a token login, the token's).
    pub api_endpoint: Option<String>,
    /// The caller's explicit proxy (`--api-proxy`).
    pub api_proxy: Option<String>,
    /// An extra CA bundle (PEM) trusted beside the system roots.
    pub ca_file: Option<PathBuf>,
    /// How long one whole operation may take (default 30 s): connect, headers, body,
    /// redirects and registration retries together.
    pub timeout: Duration,
    /// TCP connect + TLS handshake timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Sleeps between RegisterAgent attempts on Aborted (default 5 s, 10 s, 20 s).
    pub retry_delays: Vec<Duration>,
    /// Upper bound of the random jitter added to each sleep (default 5 s).
    pub retry_jitter: Duration,
    /// Correct signing times by the clock skew measured by `Health/Check` (default off).
    pub correct_clock_skew: bool,
    /// Environment consulted for `MONDOO_API_PROXY` and the standard proxy variables;
    /// `None` = the process environment (tests inject their own).
    pub env: Option<BTreeMap<String, String>>,
    /// The client's feature-flag bytes, sent base64 in `Mondoo-Features` (Go's
    /// `mql.Features`; default none: the header is empty).
    pub feature_flags: Vec<u8>,
    /// Refuse an `http://` endpoint that is not loopback before any request
    /// (`Code::InsecureEndpoint`) instead of sending credentials in clear text (default
    /// off: status warns about such an endpoint).
    pub require_tls: bool,
    /// An API token for the Platform API (GraphQL), sent as `Authorization: Bearer`; see
    /// [`Client::graphql`] for where it sits among the other credentials. Never printed.
    pub(crate) api_token: Option<Arc<StaticToken>>,
    /// How long before its expiry a cached Platform API bearer is signed afresh (10 s).
    pub(crate) api_bearer_refresh_margin: Duration,
    /// The machine as the client reports it (AgentInfo, `User-Agent`,
    /// `Mondoo-PlatformID`); `None` = gathered on first use.
    pub(crate) system_info: Option<SystemInfo>,
}

impl ClientOptions {
    /// Go's behaviour (the same as `Default`).
    pub fn new() -> ClientOptions {
        ClientOptions::default()
    }
    /// Sets [`api_endpoint`](Self::api_endpoint).
    pub fn with_api_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.api_endpoint = Some(endpoint.into());
        self
    }
    /// Sets [`api_proxy`](Self::api_proxy).
    pub fn with_api_proxy(mut self, proxy: impl Into<String>) -> Self {
        self.api_proxy = Some(proxy.into());
        self
    }
    /// Sets [`ca_file`](Self::ca_file).
    pub fn with_ca_file(mut self, ca_file: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(ca_file.into());
        self
    }
    /// Sets [`timeout`](Self::timeout).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sets [`retry_delays`](Self::retry_delays).
    pub fn with_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.retry_delays = delays;
        self
    }
    /// Sets [`retry_jitter`](Self::retry_jitter).
    pub fn with_retry_jitter(mut self, jitter: Duration) -> Self {
        self.retry_jitter = jitter;
        self
    }
    /// Sets [`correct_clock_skew`](Self::correct_clock_skew).
    pub fn with_correct_clock_skew(mut self, correct: bool) -> Self {
        self.correct_clock_skew = correct;
        self
    }
    /// Sets [`env`](Self::env): the environment consulted instead of the process's.
    pub fn with_env(mut self, env: BTreeMap<String, String>) -> Self {
        self.env = Some(env);
        self
    }
    /// Sets [`feature_flags`](Self::feature_flags).
    pub fn with_feature_flags(mut self, flags: Vec<u8>) -> Self {
        self.feature_flags = flags;
        self
    }
    /// Sets [`require_tls`](Self::require_tls).
    pub fn with_require_tls(mut self, require: bool) -> Self {
        self.require_tls = require;
        self
    }
    /// Sets the Platform API token (`MONDOO_API_TOKEN` wins over it, as in Go's
    /// terraform provider; see [`Client::graphql`]).
    pub fn with_api_token(mut self, token: impl Into<String>) -> Self {
        self.api_token = Some(Arc::new(StaticToken(zeroize::Zeroizing::new(token.into().trim().to_string()))));
        self
    }
    /// Drops a token set by [`ClientOptions::with_api_token`] (the config's service
    /// account, or `MONDOO_API_TOKEN`, authenticate the Platform API again).
    pub fn without_api_token(mut self) -> Self {
        self.api_token = None;
        self
    }
    /// How long before expiry the cached Platform API bearer is renewed (tests of the
    /// renewal; the protocol's 10 s otherwise).
    #[doc(hidden)]
    pub fn with_api_bearer_refresh_margin(mut self, margin: Duration) -> Self {
        self.api_bearer_refresh_margin = margin;
        self
    }
    /// The machine as reported, instead of gathering it (the workspace's wire tests).
    #[doc(hidden)]
    pub fn with_system_info(mut self, system: SystemInfo) -> Self {
        self.system_info = Some(system);
        self
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_endpoint: None,
            api_proxy: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry_delays: vec![Duration::from_secs(5), Duration::from_secs(10), Duration::from_secs(20)],
            retry_jitter: Duration::from_secs(5),
            correct_clock_skew: false,
            env: None,
            feature_flags: Vec::new(),
            system_info: None,
            require_tls: false,
            api_token: None,
            api_bearer_refresh_margin: Duration::from_secs(API_BEARER_REFRESH_MARGIN_SECONDS),
        }
    }
}

/// What a registration may add (`cnspec login --name --annotation`).
///
/// ```
/// let options = mondoo::RegisterOptions::new().with_name("web-1").with_annotation("team", "ops");
/// assert_eq!(options.name.as_deref(), Some("web-1"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RegisterOptions {
    /// The agent's name (default: the hostname).
    pub name: Option<String>,
    /// Annotations written into the config beside the credentials.
    pub annotations: BTreeMap<String, String>,
}

impl RegisterOptions {
    /// No name, no annotations.
    pub fn new() -> RegisterOptions {
        RegisterOptions::default()
    }
    /// Sets [`name`](Self::name).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Adds one annotation.
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }
    /// Sets [`annotations`](Self::annotations) (replacing any added before).
    pub fn with_annotations(mut self, annotations: BTreeMap<String, String>) -> Self {
        self.annotations = annotations;
        self
    }
}

/// Outcome of a registration.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Registration {
    /// The agent's MRN.
    pub agent_mrn: String,
    /// The MRN of the service account the agent signs with.
    pub service_account_mrn: String,
    /// The space the agent belongs to, when known.
    pub space_mrn: Option<String>,
    /// The endpoint written into the config.
    pub api_endpoint: String,
    /// The config file the credentials were written to.
    pub config_path: Option<PathBuf>,
    /// true when the config already had an agent_mrn (nothing was registered)
    pub already_registered: bool,
}

/// What logout keeps.
///
/// ```
/// let options = mondoo::LogoutOptions::new().with_keep_service_account(true);
/// assert!(options.keep_service_account && !options.force_offline);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LogoutOptions {
    /// keep `mrn`, `private_key`, `certificate` (remove only `agent_mrn`)
    pub keep_service_account: bool,
    /// rewrite the config even when the platform cannot be reached or refuses
    pub force_offline: bool,
}

impl LogoutOptions {
    /// Remove all credentials, and only after the platform agreed.
    pub fn new() -> LogoutOptions {
        LogoutOptions::default()
    }
    /// Sets [`keep_service_account`](Self::keep_service_account).
    pub fn with_keep_service_account(mut self, keep: bool) -> Self {
        self.keep_service_account = keep;
        self
    }
    /// Sets [`force_offline`](Self::force_offline).
    pub fn with_force_offline(mut self, force: bool) -> Self {
        self.force_offline = force;
        self
    }
}

/// A connection to the platform, async. `Send + Sync` and cheap to clone (a clone is a
/// handle on the same config, signer and connection pool); its calls run on whichever
/// tokio runtime polls them, and it never starts or stops a runtime itself.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    /// this handle's HTTP side: the shared pool, with this handle's deadline if any
    rpc: RpcClient,
    /// this handle's operations end with `Code::Canceled` once it is cancelled
    cancel: Option<CancelToken>,
}

/// What every handle on one client shares (see [`Client::with_deadline`]).
struct Shared {
    state: Mutex<State>,
    options: ClientOptions,
    skew_measured: AtomicBool,
    /// the clock skew the last `Health/Check` measured, which errors of later signed
    /// calls to that endpoint carry (a 401 is most often a clock that is off)
    last_skew: Mutex<Option<MeasuredSkew>>,
    /// what a keyless config exchanges (protocol 8); None for a key or token config
    keyless: Option<crate::sts::Keyless>,
    /// the environment of the exchange (`SSH_AUTH_SOCK`, `JWT_TOKEN`, CI variables)
    env: BTreeMap<String, String>,
    /// the exchanged service account, in memory only, shared by every handle; the async
    /// lock makes concurrent calls wait for one exchange instead of starting many
    exchanged: tokio::sync::Mutex<Option<Arc<ExchangedAccount>>>,
    /// the Platform API bearer, shared by every handle and reused until
    /// `api_bearer_refresh_margin` before it expires (protocol section 7)
    api_bearer: Mutex<Option<CachedApiBearer>>,
    /// Platform API bearers signed so far (tests and the benchmark count them)
    api_bearer_signatures: AtomicU64,
}

/// A service account a keyless exchange produced, ready to authenticate calls.
pub(crate) struct ExchangedAccount {
    credential: Credential,
    exchanged: crate::sts::Exchanged,
    /// the answer's `api_endpoint` (normalized), where the account's calls go
    api_endpoint: Option<String>,
}

/// The `api_endpoint` an exchange answered, checked: None when it is empty, an error
/// when it is not an http(s) URL.
fn exchanged_api_endpoint(exchanged: &crate::sts::Exchanged) -> Result<Option<String>> {
    let answered = match &exchanged.credential {
        crate::sts::ExchangedCredential::Key(c) => &c.api_endpoint,
        crate::sts::ExchangedCredential::Token(t) => &t.api_endpoint,
    };
    let Some(answered) = non_empty(answered.trim()) else { return Ok(None) };
    let endpoint = normalize_endpoint(answered);
    crate::rpc::parse_endpoint(&endpoint).map_err(|e| {
        Error::new(
            Code::ResponseInvalid,
            format!("the exchange answered an api_endpoint that cannot be used: {}", e.message()),
        )
    })?;
    Ok(Some(endpoint))
}

impl ExchangedAccount {
    /// Still usable at `now`: more than a minute before its certificate ends.
    fn fresh_at(&self, now: i64) -> bool {
        self.exchanged.expires_at.is_none_or(|end| now < end - crate::sts::RENEW_BEFORE_EXPIRY_SECONDS)
    }

    fn report(&self) -> ExchangeReport {
        ExchangeReport {
            method: self.exchanged.method,
            service_account_mrn: self.exchanged.mrn().to_string(),
            scope_mrn: non_empty(self.exchanged.scope_mrn()).map(String::from),
            expires_at: self.exchanged.expires_at.and_then(rfc3339_utc),
            api_endpoint: self.api_endpoint.as_deref().map(redact_userinfo),
        }
    }
}

/// What a keyless exchange produced ([`Client::exchange`]): never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExchangeReport {
    /// `ssh` or `workload_identity`
    #[serde(serialize_with = "serialize_auth_method")]
    pub method: crate::AuthMethod,
    /// the short-lived service account's MRN
    pub service_account_mrn: String,
    /// its space or organization
    pub scope_mrn: Option<String>,
    /// when its certificate ends (RFC 3339, UTC); None for a credential without one
    pub expires_at: Option<String>,
    /// the `api_endpoint` the exchange answered, where the account's calls go (unless the
    /// caller set one); None when it answered none (the config's is used)
    pub api_endpoint: Option<String>,
}

fn serialize_auth_method<S: serde::Serializer>(m: &crate::AuthMethod, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

fn rfc3339_utc(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix).ok()?.format(&time::format_description::well_known::Rfc3339).ok()
}

/// The protocol's reuse rule: a Platform API bearer is renewed 10 s before it expires.
const API_BEARER_REFRESH_MARGIN_SECONDS: u64 = 10;

/// A Platform API bearer and the key it was signed with (a new key, after a
/// registration, must not reuse the old key's bearer).
struct CachedApiBearer {
    signer: Arc<Signer>,
    bearer: Arc<crate::signer::ApiBearer>,
}

/// How a Platform API request authenticates.
pub(crate) enum ApiAuth {
    /// an API token or a static service-account token, as is
    Token(Arc<StaticToken>),
    /// the service account's bearer without `chash`, cached
    Bearer(Arc<crate::signer::ApiBearer>),
}

impl ApiAuth {
    pub(crate) fn auth(&self) -> Auth<'_> {
        match self {
            ApiAuth::Token(token) => Auth::Bearer(&token.0),
            ApiAuth::Bearer(bearer) => Auth::Bearer(bearer.token()),
        }
    }
}

/// A clock skew measured against one endpoint: platform time minus local time.
#[derive(Debug, Clone, PartialEq)]
struct MeasuredSkew {
    endpoint: String,
    seconds: f64,
}

/// What register and logout change, behind one lock.
struct State {
    config: Config,
    signer: Option<Arc<Signer>>,
    /// the service account's static token, which authenticates calls instead of the key
    /// when the config has one (protocol 1.1 `token`)
    token: Option<Arc<StaticToken>>,
}

impl State {
    /// How calls authenticate: the static token when there is one (as Go's statictoken
    /// plugin wins over signing), else the key.
    fn credential(&self) -> Option<Credential> {
        match (&self.token, &self.signer) {
            (Some(token), _) => Some(Credential::Token(Arc::clone(token))),
            (None, Some(signer)) => Some(Credential::Key(Arc::clone(signer))),
            (None, None) => None,
        }
    }
}

/// How calls authenticate as the service account.
#[derive(Clone)]
enum Credential {
    /// every request signed with the key (protocol section 4)
    Key(Arc<Signer>),
    /// `Authorization: Bearer <token>`, unsigned (ranger's statictoken)
    Token(Arc<StaticToken>),
}

impl Credential {
    fn auth(&self) -> Auth<'_> {
        match self {
            Credential::Key(signer) => Auth::Signed(signer),
            Credential::Token(token) => Auth::Bearer(&token.0),
        }
    }
}

/// A service account's static API token: never printed, wiped when dropped.
pub(crate) struct StaticToken(zeroize::Zeroizing<String>);

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Client").field("config", &state.config).field("options", &self.shared.options).finish()
    }
}

impl Client {
    /// A client over `config`; a registered config's key (and static token) is checked
    /// now (a bad one is a configuration error naming the file).
    ///
    /// ```no_run
    /// # async fn run() -> mondoo::Result<()> {
    /// let config = mondoo::Config::load(None)?;
    /// let client = mondoo::Client::new(config, mondoo::ClientOptions::new())?;
    /// let report = client.status().await?;
    /// print!("{report}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(config: Config, options: ClientOptions) -> Result<Client> {
        let env = options.env.clone().unwrap_or_else(crate::process_env);
        let proxy = ProxySettings::from_env(&env, options.api_proxy.clone(), config.api_proxy());
        let rpc = RpcClient::new(&HttpOptions {
            timeout: options.timeout,
            connect_timeout: options.connect_timeout,
            ca_file: options.ca_file.clone(),
            proxy,
            feature_flags: options.feature_flags.clone(),
            system_info: options.system_info.clone(),
            require_tls: options.require_tls,
        })?;
        let keyless = crate::sts::Keyless::from_config(&config).map_err(|e| config.locate(e))?;
        // a keyless config's own keys (if any) are not used: the exchange wins
        let (signer, token) =
            if keyless.is_some() { (None, None) } else { (signer_for(&config)?, token_for(&config)?) };
        let shared = Shared {
            state: Mutex::new(State { config, signer, token }),
            options,
            skew_measured: AtomicBool::new(false),
            last_skew: Mutex::new(None),
            keyless,
            env,
            exchanged: tokio::sync::Mutex::new(None),
            api_bearer: Mutex::new(None),
            api_bearer_signatures: AtomicU64::new(0),
        };
        Ok(Client { shared: Arc::new(shared), rpc, cancel: None })
    }

    /// A handle on the same client (config, signer, connection pool) whose operations
    /// end by `deadline`: each request's timeout is cut to the time left, a retry sleep
    /// that would pass it is not taken, and a call past it fails with `Code::Timeout`
    /// before anything is sent. For a caller's deadline (Go's `context`) on one operation.
    pub fn with_deadline(&self, deadline: Instant) -> Client {
        Client { rpc: self.rpc.with_deadline(deadline), ..self.clone() }
    }

    /// [`Client::with_deadline`] `timeout` from now.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        self.with_deadline(Instant::now() + timeout)
    }

    /// A handle on the same client whose operations end promptly with `Code::Canceled`
    /// once `cancel` is cancelled (also when it already is). An operation cancelled
    /// before its config write does not write it afterwards.
    pub fn with_cancel(&self, cancel: &CancelToken) -> Client {
        Client { cancel: Some(cancel.clone()), ..self.clone() }
    }

    /// Run one operation: every request of it ends by the operation's deadline (the
    /// client's `timeout` from now, or the caller's deadline if earlier), and it stops
    /// at once when this handle's cancel token is cancelled (its future is dropped).
    async fn operation<'a, T, Fut>(&'a self, what: &str, run: impl FnOnce(Client) -> Fut) -> Result<T>
    where
        Fut: Future<Output = Result<T>> + 'a,
    {
        let op = Client { rpc: self.rpc.for_operation(), ..self.clone() };
        match &self.cancel {
            None => run(op).await,
            Some(cancel) => cancel.run(what, run(op)).await,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere must not make the client unusable: the state is replaced whole.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The machine as the platform sees it: the same for AgentInfo and the headers.
    fn system(&self) -> &SystemInfo {
        self.rpc.system()
    }

    /// A copy of the current config (it changes on register/logout).
    pub fn config(&self) -> Config {
        self.lock().config.clone()
    }

    /// The endpoint calls go to: the caller's override, else the config's.
    pub fn api_endpoint(&self) -> String {
        match &self.shared.options.api_endpoint {
            Some(e) => normalize_endpoint(e),
            None => self.lock().config.api_endpoint(),
        }
    }

    /// [`Client::api_endpoint`], checked: one from the config that is not an http(s) URL
    /// is a configuration error naming the config's file.
    fn endpoint(&self) -> Result<String> {
        let endpoint = self.api_endpoint();
        match crate::rpc::parse_endpoint(&endpoint) {
            Err(e) if self.shared.options.api_endpoint.is_none() => Err(self.lock().config.locate(e)),
            Err(e) => Err(e),
            Ok(_) => Ok(endpoint),
        }
    }

    /// The key, for [`Client::sign`]: a static token cannot sign.
    fn signer(&self) -> Result<Arc<Signer>> {
        let state = self.lock();
        match (&state.signer, &state.token) {
            (Some(signer), _) => Ok(Arc::clone(signer)),
            (None, Some(_)) => {
                let from = state.config.error_path().map(|p| format!(" in {}", p.display())).unwrap_or_default();
                Err(state.config.locate(Error::new(
                    Code::NotRegistered,
                    format!("the service account{from} has a static token and no private_key: signing needs the key"),
                )))
            }
            (None, None) => Err(not_registered(&state.config)),
        }
    }

    fn credential(&self) -> Result<Credential> {
        let state = self.lock();
        state.credential().ok_or_else(|| not_registered(&state.config))
    }

    /// The credential for a call to `endpoint`: a key with the measured clock skew applied
    /// when asked for (a static token is not time-bound).
    async fn credential_for_call(&self, endpoint: &str) -> Result<Credential> {
        self.credential_with(endpoint, None).await
    }

    /// [`Client::credential_for_call`] with the exchanged account the operation already
    /// holds (from [`Client::account_endpoint`]): one exchange per operation at most, even
    /// for an account that is stale as soon as it is made.
    async fn credential_with(&self, endpoint: &str, exchanged: Option<Arc<ExchangedAccount>>) -> Result<Credential> {
        let credential = match (&self.shared.keyless, exchanged) {
            (Some(_), Some(account)) => account.credential.clone(),
            // exchanged where the config says (its calls may go elsewhere: account_endpoint)
            (Some(_), None) => self.exchanged_account(&self.endpoint()?, false).await?.credential.clone(),
            (None, _) => self.credential()?,
        };
        if let Credential::Key(signer) = &credential {
            if self.shared.options.correct_clock_skew && !self.shared.skew_measured.load(Ordering::Acquire) {
                if let Ok(health) = self.health_at(endpoint).await {
                    if let Some(skew) = health.clock_skew {
                        signer.set_clock_offset(skew.as_secs_f64().round() as i64 * skew.sign());
                    }
                    self.shared.skew_measured.store(true, Ordering::Release);
                }
            }
        }
        Ok(credential)
    }

    /// Where the service account's calls go: the caller's endpoint, else for a keyless
    /// config the `api_endpoint` its exchange answered (protocol 8: the answer is a
    /// service account, and a service account's calls go to its endpoint; Go sets the
    /// config's endpoint from it), else the config's. Exchanges first when needed.
    /// The exchanged account comes along, for [`Client::credential_with`].
    async fn account_endpoint(&self) -> Result<(String, Option<Arc<ExchangedAccount>>)> {
        let endpoint = self.endpoint()?;
        if self.shared.keyless.is_none() {
            return Ok((endpoint, None));
        }
        let account = self.exchanged_account(&endpoint, false).await?;
        Ok((self.exchanged_calls_endpoint(endpoint, &account), Some(account)))
    }

    /// Where an exchanged account's calls go: the caller's endpoint (already in
    /// `configured`) wins, else the `api_endpoint` its exchange answered, else `configured`.
    fn exchanged_calls_endpoint(&self, configured: String, account: &ExchangedAccount) -> String {
        match (&self.shared.options.api_endpoint, &account.api_endpoint) {
            (None, Some(answered)) => answered.clone(),
            _ => configured,
        }
    }

    /// The keyless config's service account: the one in memory while it is fresh (more
    /// than a minute before its certificate ends), else a new exchange at `endpoint`;
    /// `force` exchanges anyway. One exchange at a time: concurrent callers wait for it
    /// and share its result. The exchange runs on this operation's deadline.
    async fn exchanged_account(&self, endpoint: &str, force: bool) -> Result<Arc<ExchangedAccount>> {
        let Some(keyless) = &self.shared.keyless else {
            let state = self.lock();
            return Err(not_registered(&state.config));
        };
        let mut slot = self.shared.exchanged.lock().await;
        if let Some(account) = slot.as_ref().filter(|a| !force && a.fresh_at(crate::unix_now())) {
            return Ok(Arc::clone(account));
        }
        let exchanged = match crate::sts::exchange(&self.rpc, endpoint, keyless, &self.shared.env).await {
            Ok(exchanged) => exchanged,
            Err(e) if e.code() == Code::SshKeyUnknown => return Err(self.explain_ssh_refusal(endpoint, e).await),
            Err(e) => return Err(e),
        };
        let credential = match &exchanged.credential {
            crate::sts::ExchangedCredential::Key(c) => {
                let certificate = non_empty(&c.certificate);
                Credential::Key(Arc::new(Signer::from_pem(&c.mrn, &c.private_key, certificate)?))
            }
            crate::sts::ExchangedCredential::Token(t) => {
                Credential::Token(Arc::new(StaticToken(zeroize::Zeroizing::new(t.token.to_string()))))
            }
        };
        let api_endpoint = exchanged_api_endpoint(&exchanged)?;
        let account = Arc::new(ExchangedAccount { credential, exchanged, api_endpoint });
        *slot = Some(Arc::clone(&account));
        Ok(account)
    }

    /// ExchangeSSH answers an unknown key and claims outside their time window alike (16
    /// Unauthenticated with the generic message, as every authentication failure): a
    /// `Health/Check` tells them apart. When the platform's clock puts the claims (valid
    /// from the local now for 5 minutes) outside its window, the error says so with the
    /// measured skew; otherwise it stays "no key is authorized", with the skew attached.
    async fn explain_ssh_refusal(&self, endpoint: &str, refused: Error) -> Error {
        let Some(skew) = self.health_at(endpoint).await.ok().and_then(|h| h.clock_skew) else {
            return refused;
        };
        let seconds = skew.seconds();
        if !crate::sts::ssh_claims_outside_window(seconds) {
            return refused.with_clock_skew(seconds);
        }
        let direction = if seconds < 0.0 { "behind" } else { "ahead of" };
        let again = Error::new(
            Code::ExchangeClockSkew,
            format!(
                "ExchangeSSH: the platform refused the claims, and its clock is {:.0} s {direction} this machine's: \
                 the claims (valid for {} s from this machine's time) are outside its window; fix the local clock \
                 (NTP) and try again ({refused})",
                seconds.abs(),
                crate::sts::SSH_CLAIMS_TTL_SECONDS,
            ),
        )
        .with_clock_skew(seconds);
        match refused.http_status() {
            Some(status) => again.with_http_status(status),
            None => again,
        }
    }

    /// Keyless configs: exchange now (also when the service account in memory is still
    /// fresh) and say what came back: method, service account, scope, expiry, never the
    /// key. Later calls use the new account. `NotRegistered` for a config with a key or
    /// token of its own.
    pub async fn exchange(&self) -> Result<ExchangeReport> {
        self.operation("exchange", |op| async move {
            let endpoint = op.endpoint()?;
            Ok(op.exchanged_account(&endpoint, true).await?.report())
        })
        .await
    }

    /// The Platform API's URL (protocol section 7): the caller's endpoint, else
    /// `MONDOO_API_ENDPOINT`, else the config's, with `/query` appended unless there.
    /// A keyless config's exchanged account comes along (for [`Client::graphql_auth`]).
    pub(crate) async fn graphql_url(&self) -> Result<(reqwest::Url, Option<Arc<ExchangedAccount>>)> {
        let env_endpoint = || self.env_var("MONDOO_API_ENDPOINT").map(|e| normalize_endpoint(&e));
        let (endpoint, exchanged) = match &self.shared.options.api_endpoint {
            Some(e) => (normalize_endpoint(e), None),
            None => match env_endpoint() {
                Some(e) => (e, None),
                None => self.account_endpoint().await?,
            },
        };
        let endpoint = endpoint.trim_end_matches('/');
        let url = if endpoint.ends_with("/query") { endpoint.to_string() } else { format!("{endpoint}/query") };
        Ok((crate::rpc::parse_endpoint(&url)?, exchanged))
    }

    /// A variable of the environment the client was made with (the caller's, else the
    /// process's at `Client::new`), the one proxy and keyless settings come from too.
    fn env_var(&self, name: &str) -> Option<String> {
        self.shared.env.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// The Platform API credential, first match wins (protocol section 7): a config from
    /// `MONDOO_CONFIG_BASE64` or `MONDOO_CONFIG_PATH`, `MONDOO_API_TOKEN`, the caller's
    /// API token, then the config (explicit or default). A service account's key goes
    /// through [`Client::credential_for_call`] (clock skew, other credential kinds) and
    /// its bearer is cached.
    pub(crate) async fn graphql_auth(
        &self,
        endpoint: &str,
        exchanged: Option<Arc<ExchangedAccount>>,
    ) -> Result<ApiAuth> {
        let from_env_config = matches!(self.lock().config.source(), ConfigSource::Base64Env | ConfigSource::EnvPath);
        if !from_env_config {
            if let Some(token) = self.env_var("MONDOO_API_TOKEN") {
                return Ok(ApiAuth::Token(Arc::new(StaticToken(zeroize::Zeroizing::new(token)))));
            }
            if let Some(token) = &self.shared.options.api_token {
                return Ok(ApiAuth::Token(Arc::clone(token)));
            }
        }
        match self.credential_with(endpoint, exchanged).await? {
            Credential::Token(token) => Ok(ApiAuth::Token(token)),
            Credential::Key(signer) => Ok(ApiAuth::Bearer(self.cached_api_bearer(&signer)?)),
        }
    }

    /// The shared bearer of `signer`, signed afresh only within the refresh margin of its
    /// expiry (on the signer's clock, skew correction included).
    fn cached_api_bearer(&self, signer: &Arc<Signer>) -> Result<Arc<crate::signer::ApiBearer>> {
        let now = crate::unix_now().saturating_add(signer.clock_offset());
        let margin = self.shared.options.api_bearer_refresh_margin.as_secs().min(i64::MAX as u64) as i64;
        let mut cache = self.shared.api_bearer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = cache.as_ref() {
            if Arc::ptr_eq(&cached.signer, signer) && now < cached.bearer.expires_at().saturating_sub(margin) {
                return Ok(Arc::clone(&cached.bearer));
            }
        }
        let bearer = Arc::new(signer.api_bearer()?);
        self.shared.api_bearer_signatures.fetch_add(1, Ordering::Relaxed);
        *cache = Some(CachedApiBearer { signer: Arc::clone(signer), bearer: Arc::clone(&bearer) });
        Ok(bearer)
    }

    /// How many Platform API bearers this client (all its handles) signed.
    pub(crate) fn api_bearer_signatures(&self) -> u64 {
        self.shared.api_bearer_signatures.load(Ordering::Relaxed)
    }

    /// One Platform API request: `body` (the GraphQL JSON) to `/query`, as one operation
    /// (deadline, cancellation); the answer's bytes on 200.
    pub(crate) async fn graphql_post(&self, body: &[u8]) -> Result<Vec<u8>> {
        self.operation("graphql", |op| async move {
            let (url, exchanged) = op.graphql_url().await?;
            let base = url.as_str().trim_end_matches("/query").to_string();
            let auth = op.graphql_auth(&base, exchanged).await?;
            op.rpc.with_user_agent(crate::graphql::USER_AGENT).post_raw(url, "GraphQL", body, auth.auth()).await
        })
        .await
    }

    /// `Health/Check`, timed, with the skew between the API's clock and ours.
    pub async fn health(&self) -> Result<Health> {
        self.operation("health", |op| async move { op.health_at(&op.endpoint()?).await }).await
    }

    async fn health_at(&self, endpoint: &str) -> Result<Health> {
        let sent = SystemTime::now();
        let started = Instant::now();
        let response: HealthCheckResponse =
            self.rpc.call(endpoint, "Health", "Check", &HealthCheckRequest::default(), Auth::None).await?;
        let round_trip = started.elapsed();
        let api_time = response.time.as_deref().and_then(parse_rfc3339);
        let clock_skew = api_time.map(|t| SignedDuration::between(sent, t));
        if let Some(skew) = clock_skew {
            let measured = MeasuredSkew { endpoint: endpoint.to_string(), seconds: skew.seconds() };
            *self.shared.last_skew.lock().unwrap_or_else(|p| p.into_inner()) = Some(measured);
        }
        Ok(Health { response, round_trip, clock_skew })
    }

    /// The clock skew the last `Health/Check` measured (status, [`Client::health`], or
    /// skew correction): platform time minus local time, in seconds, the sign of
    /// [`StatusReport::clock_skew_seconds`]. None until one was measured.
    pub fn last_clock_skew_seconds(&self) -> Option<f64> {
        self.shared.last_skew.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|m| m.seconds)
    }

    /// A call authenticated as the service account, whose error carries the clock skew
    /// last measured against `endpoint`: a caller sees "401, and the platform's clock is
    /// 72 h ahead" without parsing anything.
    async fn account_call<Req: Serialize, Resp: for<'de> serde::Deserialize<'de>>(
        &self,
        endpoint: &str,
        service: &str,
        method: &str,
        request: &Req,
        auth: Auth<'_>,
    ) -> Result<Resp> {
        self.rpc.call(endpoint, service, method, request, auth).await.map_err(|e| self.with_measured_skew(endpoint, e))
    }

    /// `e` carrying the clock skew last measured against `endpoint`, if any.
    fn with_measured_skew(&self, endpoint: &str, e: Error) -> Error {
        let skew = self.shared.last_skew.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match skew {
            Some(m) if m.endpoint == endpoint && e.clock_skew_seconds().is_none() => e.with_clock_skew(m.seconds),
            _ => e,
        }
    }

    /// Register with a token, or (None) with the service account already configured.
    pub async fn register(&self, token: Option<&str>, options: &RegisterOptions) -> Result<Registration> {
        self.operation("register", |op| async move {
            match token {
                Some(token) => op.register_with_token(token, options).await,
                None => op.register_with_service_account(options).await,
            }
        })
        .await
    }

    async fn register_with_token(&self, raw_token: &str, options: &RegisterOptions) -> Result<Registration> {
        // A token login takes its endpoint from the caller's override, else the token.
        let token = RegistrationToken::inspect(raw_token, self.shared.options.api_endpoint.as_deref())?;
        let endpoint = normalize_endpoint(token.api_endpoint());
        let mut config = self.config();
        ensure_writable(&config)?;
        let name = self.client_name(&config, options);
        let request = AgentRegistrationRequest {
            token: token.secret().to_string(),
            name,
            agent_info: self.system().agent_info("", BTreeMap::new()),
        };
        let confirmation: AgentRegistrationConfirmation = self
            .with_retry(|| {
                self.rpc.call(&endpoint, "AgentManager", "RegisterAgent", &request, Auth::Bearer(token.secret()))
            })
            .await?;
        let credential = confirmation.credential.ok_or_else(|| {
            Error::new(Code::ResponseInvalid, "AgentManager/RegisterAgent answered without a credential")
        })?;
        // Check the credential before it is written: an unusable key must not replace a config.
        let signer = Signer::from_pem(&credential.mrn, &credential.private_key, non_empty(&credential.certificate))
            .map_err(|e| e.context("the platform's credential"))?;
        let written_endpoint =
            endpoint_for_config(if credential.api_endpoint.is_empty() { &endpoint } else { &credential.api_endpoint });
        let space =
            if credential.parent_mrn.is_empty() { credential.scope_mrn.clone() } else { credential.parent_mrn.clone() };
        config.set("agent_mrn", json!(confirmation.agent_mrn));
        config.set("api_endpoint", json!(written_endpoint));
        config.set("space_mrn", json!(space));
        config.set("mrn", json!(credential.mrn));
        config.set("private_key", json!(credential.private_key));
        config.set("certificate", json!(credential.certificate));
        if let Some(name) = &options.name {
            config.set("name", json!(name));
        }
        if !options.annotations.is_empty() {
            config.set("annotations", json!(options.annotations));
        }
        // An old scope would otherwise win over the new space; another auth method or an
        // old static token over the key.
        config.remove("scope_mrn");
        config.remove("auth");
        config.remove("token");
        config.save().map_err(|e| orphaned_agent(e, &config))?;
        let signer = Arc::new(signer);
        let registration = Registration {
            agent_mrn: confirmation.agent_mrn,
            service_account_mrn: credential.mrn,
            space_mrn: non_empty(&space).map(String::from),
            api_endpoint: written_endpoint.clone(),
            config_path: config.path().map(|p| p.to_path_buf()),
            already_registered: false,
        };
        {
            let mut state = self.lock();
            state.config = config;
            state.signer = Some(Arc::clone(&signer));
            state.token = None;
        }
        // libmondoo pings the endpoint it wrote: later calls use that one.
        self.ping_after_registration(&written_endpoint, &Credential::Key(signer), &registration).await?;
        Ok(registration)
    }

    async fn register_with_service_account(&self, options: &RegisterOptions) -> Result<Registration> {
        if let Some(keyless) = &self.shared.keyless {
            let config = self.config();
            return Err(config.locate(Error::new(
                Code::ConfigUnsupportedAuth,
                format!(
                    "this config authenticates keyless (auth method {}): each run exchanges a short-lived service \
                     account that lives in memory only and is never written; there is nothing to register and \
                     the config was left unchanged (register with a token to give the client a key of its own)",
                    keyless.method()
                ),
            )));
        }
        let mut config = self.config();
        let credential = self.credential()?;
        let endpoint = self.endpoint()?;
        let mut registration = Registration {
            agent_mrn: config.agent_mrn().unwrap_or_default(),
            service_account_mrn: config.service_account_mrn().map(|m| m.trim().to_string()).unwrap_or_default(),
            space_mrn: config.space_mrn(),
            api_endpoint: endpoint.clone(),
            config_path: config.path().map(|p| p.to_path_buf()),
            already_registered: true,
        };
        if registration.agent_mrn.is_empty() {
            ensure_writable(&config)?;
            let request = AgentRegistrationRequest {
                token: String::new(),
                name: self.client_name(&config, options),
                agent_info: self.system().agent_info("", config.labels()),
            };
            let for_call = self.credential_for_call(&endpoint).await?;
            let confirmation: AgentRegistrationConfirmation = self
                .with_retry(|| self.account_call(&endpoint, "AgentManager", "RegisterAgent", &request, for_call.auth()))
                .await?;
            if confirmation.agent_mrn.is_empty() {
                return Err(Error::new(
                    Code::ResponseInvalid,
                    "AgentManager/RegisterAgent answered without an agent_mrn",
                ));
            }
            // The server does not send credentials again: only the agent MRN is new.
            config.set("agent_mrn", json!(confirmation.agent_mrn));
            config.save().map_err(|e| orphaned_agent(e, &config))?;
            registration.agent_mrn = confirmation.agent_mrn;
            registration.already_registered = false;
            self.lock().config = config;
        }
        self.ping_after_registration(&endpoint, &credential, &registration).await?;
        Ok(registration)
    }

    async fn ping_after_registration(
        &self,
        endpoint: &str,
        credential: &Credential,
        registration: &Registration,
    ) -> Result<()> {
        self.account_call::<_, Empty>(endpoint, "AgentManager", "PingPong", &Empty {}, credential.auth())
            .await
            .map(|_| ())
            .map_err(|e| {
                let where_ = registration
                    .config_path
                    .as_ref()
                    .map(|p| format!(" (config written to {})", p.display()))
                    .unwrap_or_default();
                let agent = server_text(&registration.agent_mrn);
                e.context(format!("registered as {agent}{where_}, but the signed PingPong failed"))
            })
    }

    fn client_name(&self, config: &Config, options: &RegisterOptions) -> String {
        options
            .name
            .clone()
            .or_else(|| config.name())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.system().hostname.clone())
    }

    /// RegisterAgent's retry on Aborted: one call per delay plus one, sleeping each delay
    /// plus up to `retry_jitter`; any other error fails at once.
    async fn with_retry<T, Fut: Future<Output = Result<T>>>(&self, mut call: impl FnMut() -> Fut) -> Result<T> {
        let mut delays = self.shared.options.retry_delays.iter();
        loop {
            match call().await {
                Err(e) if e.code() == Code::RpcAborted => match delays.next() {
                    Some(delay) => {
                        let sleep = *delay + jitter(self.shared.options.retry_jitter);
                        if !self.rpc.time_left_allows(sleep) {
                            return Err(e.context(
                                "AgentManager/RegisterAgent aborted and the deadline leaves no time to retry",
                            ));
                        }
                        tokio::time::sleep(sleep).await
                    }
                    None => {
                        let attempts = self.shared.options.retry_delays.len() + 1;
                        return Err(
                            e.context(format!("AgentManager/RegisterAgent still aborted after {attempts} attempts"))
                        );
                    }
                },
                other => return other,
            }
        }
    }

    /// `cnspec status`; fails only when the config cannot be used.
    pub async fn status(&self) -> Result<StatusReport> {
        self.operation("status", |op| async move { op.status_now().await }).await
    }

    async fn status_now(&self) -> Result<StatusReport> {
        let (config, signer, credential) = {
            let state = self.lock();
            (state.config.clone(), state.signer.clone(), state.credential())
        };
        let mut endpoint = self.endpoint()?;
        // a keyless config is registered once its exchange succeeds (status shows why not)
        let mut exchange_error = None;
        let mut exchanged = None;
        let (registered, credential) = if self.shared.keyless.is_some() {
            match self.exchanged_account(&endpoint, false).await {
                Ok(account) => {
                    let credential = account.credential.clone();
                    // the account's calls (and so status's) go where the exchange said
                    endpoint = self.exchanged_calls_endpoint(endpoint, &account);
                    exchanged = Some(account);
                    (true, Some(credential))
                }
                Err(e) => {
                    exchange_error = Some(ErrorReport::from(&e));
                    (false, None)
                }
            }
        } else {
            (config.service_account_mrn().is_some_and(|m| !m.is_empty()), credential)
        };
        let (proxy_url, proxy_source) = self.rpc.proxy_for(&endpoint)?;
        let system = self.system().clone();
        let local_time = now_rfc3339_local();
        let mut warnings = Vec::new();
        let mut api = ApiStatus { endpoint: redact_userinfo(&endpoint), ..Default::default() };
        let mut clock_skew_seconds = None;
        let mut round_trip_ms = None;
        if crate::rpc::sends_in_clear_text_to(&endpoint) {
            let refusal = if self.shared.options.require_tls {
                "require_tls refuses it"
            } else {
                "use https://, or require_tls to refuse such an endpoint"
            };
            warnings.push(format!(
                "API endpoint {} is http:// and not loopback: the client sends credentials in clear text over \
                 the network ({refusal})",
                redact_userinfo(&endpoint)
            ));
        }
        let signer = match (&credential, &signer) {
            (Some(Credential::Key(s)), None) => Some(Arc::clone(s)),
            _ => signer,
        };
        let ping = async {
            match (&credential, registered) {
                (Some(credential), true) => Some(
                    self.rpc
                        .call::<_, Empty>(&endpoint, "AgentManager", "PingPong", &Empty {}, credential.auth())
                        .await
                        .map(|_| ()),
                ),
                _ => None,
            }
        };
        // One round trip: Health/Check and the signed PingPong at once, unless the
        // PingPong's bearer must wait for the skew Health/Check measures.
        let correct_skew = |health: &Result<Health>| {
            if let (true, Ok(Health { clock_skew: Some(skew), .. }), Some(s)) =
                (self.shared.options.correct_clock_skew, health, &signer)
            {
                s.set_clock_offset(skew.as_secs_f64().round() as i64 * skew.sign());
                self.shared.skew_measured.store(true, Ordering::Release);
            }
        };
        let skew_first = self.shared.options.correct_clock_skew && !self.shared.skew_measured.load(Ordering::Acquire);
        let (health, ping) = if skew_first {
            let health = self.health_at(&endpoint).await;
            correct_skew(&health);
            (health, ping.await)
        } else {
            let (health, ping) = tokio::join!(self.health_at(&endpoint), ping);
            correct_skew(&health);
            (health, ping)
        };
        // as if measured before the PingPong: its error carries the skew
        let ping_pong_error = ping
            .and_then(Result::err)
            .map(|e| ErrorReport::from(&self.with_measured_skew(&endpoint, e)))
            .or(exchange_error);
        let auth_method = config.auth_method().map(|m| m.as_str().to_string());
        let exchange_report = exchanged.as_ref().map(|a| a.report());
        match health {
            Ok(health) => {
                // the server's words, made safe to print
                let shown = |field: &Option<String>| field.as_deref().map(server_text);
                api.status = shown(&health.response.status).unwrap_or_else(|| "UNKNOWN".into());
                api.timestamp = shown(&health.response.time).unwrap_or_default();
                api.version = shown(&health.response.api_version).unwrap_or_default();
                api.build = shown(&health.response.build).unwrap_or_default();
                round_trip_ms = Some(health.round_trip.as_secs_f64() * 1000.0);
                match health.clock_skew {
                    Some(skew) => {
                        clock_skew_seconds = Some(skew.seconds());
                        if skew.duration > Duration::from_secs(30) {
                            warnings.push(format!("possible clock skew detected: {}", skew.go_string()));
                        }
                    }
                    None => warnings.push("cannot run clock skew check".to_string()),
                }
                if health.round_trip > Duration::from_secs(5) {
                    warnings.push(format!("detected very long round-trip times: {}", go_duration(health.round_trip)));
                }
            }
            Err(e) => api.error = Some(ErrorReport::from(&e)),
        }
        Ok(StatusReport {
            config_source: config.source().as_str().to_string(),
            config_path: config.path().map(|p| p.display().to_string()),
            proxy: ProxyReport {
                url: proxy_url.map(|u| redact_userinfo(&u)),
                source: proxy_source.as_str().to_string(),
            },
            client: ClientStatus {
                timestamp: local_time,
                version: crate::VERSION.to_string(),
                build: crate::sysinfo::BUILD.to_string(),
                platform: PlatformInfo {
                    name: system.platform_name.clone(),
                    release: system.platform_release.clone(),
                    arch: system.platform_arch.clone(),
                },
                hostname: system.hostname.clone(),
                ip: system.ip.clone(),
                agent_mrn: if registered {
                    Some(config.agent_mrn().filter(|m| !m.is_empty()).unwrap_or_else(|| NO_MANAGED_CLIENT.into()))
                } else {
                    None
                },
                service_account_mrn: match &exchange_report {
                    Some(r) => Some(r.service_account_mrn.clone()),
                    None if registered => config.service_account_mrn(),
                    None => None,
                },
                space_mrn: match &exchange_report {
                    Some(r) => r.scope_mrn.clone(),
                    None => config.space_mrn(),
                },
                auth_method,
                credential_expires: exchange_report.as_ref().and_then(|r| r.expires_at.clone()),
                labels: config.labels(),
                registered,
                authenticated: registered && ping_pong_error.is_none() && credential.is_some(),
                ping_pong_error,
            },
            upstream: UpstreamStatus { api, warnings },
            round_trip_ms,
            clock_skew_seconds,
        })
    }

    /// Unregister and remove the credentials (protocol 5.3, the libmondoo rule).
    pub async fn logout(&self, options: &LogoutOptions) -> Result<()> {
        self.operation("logout", |op| async move { op.logout_now(options).await }).await
    }

    async fn logout_now(&self, options: &LogoutOptions) -> Result<()> {
        let mut config = self.config();
        if let Some(keyless) = &self.shared.keyless {
            return Err(config.locate(Error::new(
                Code::ConfigUnsupportedAuth,
                format!(
                    "this config authenticates keyless (auth method {}): nothing to log out — no agent was \
                     registered and the exchanged service account lives in this process's memory only, expiring \
                     on its own; stop using the config (or remove the key or binding it exchanges with) instead",
                    keyless.method()
                ),
            )));
        }
        ensure_writable(&config)?;
        let (signer, token) = {
            let state = self.lock();
            state.credential().ok_or_else(|| not_registered(&state.config))?;
            (state.signer.clone(), state.token.clone())
        };
        let endpoint = self.endpoint()?;
        let agent_mrn = config.agent_mrn().unwrap_or_default();
        let unregistered = async {
            let credential = self.credential_for_call(&endpoint).await?;
            self.account_call::<_, Empty>(&endpoint, "AgentManager", "PingPong", &Empty {}, credential.auth()).await?;
            if !agent_mrn.is_empty() {
                self.account_call::<_, Mrn>(
                    &endpoint,
                    "AgentManager",
                    "UnRegisterAgent",
                    &Mrn { mrn: agent_mrn.clone() },
                    credential.auth(),
                )
                .await?;
            }
            Ok::<(), Error>(())
        }
        .await;
        if let Err(e) = unregistered {
            if !options.force_offline {
                return Err(e.context("could not unregister from the platform; the config was left unchanged"));
            }
        }
        config.remove("agent_mrn");
        if !options.keep_service_account {
            for key in ["mrn", "private_key", "certificate", "token"] {
                config.remove(key);
            }
        }
        config.save()?;
        let mut state = self.lock();
        if !options.keep_service_account {
            state.signer = None;
            state.token = None;
        } else {
            state.signer = signer;
            state.token = token;
        }
        state.config = config;
        Ok(())
    }

    /// The agent check-in (`AgentManager/HealthCheck` with this agent's info).
    pub async fn checkin(&self) -> Result<()> {
        self.operation("checkin", |op| async move { op.checkin_now().await }).await
    }

    async fn checkin_now(&self) -> Result<()> {
        let config = self.config();
        let agent_mrn = config.agent_mrn().filter(|m| !m.is_empty()).ok_or_else(|| {
            let from = config.error_path().map(|p| format!(" in {}", p.display())).unwrap_or_default();
            let message = format!("no agent_mrn configured{from}: register the client before checking in");
            config.locate(Error::new(Code::NotRegistered, message))
        })?;
        let (endpoint, exchanged) = self.account_endpoint().await?;
        let credential = self.credential_with(&endpoint, exchanged).await?;
        let info: AgentInfo = self.system().agent_info(&agent_mrn, config.labels());
        self.account_call::<_, Empty>(&endpoint, "AgentManager", "HealthCheck", &info, credential.auth()).await?;
        Ok(())
    }

    /// A call to any platform service as the service account, `POST
    /// {endpoint}/{service}/{method}`: signed with its key, or with its static token.
    pub async fn call(&self, service: &str, method: &str, payload: &serde_json::Value) -> Result<serde_json::Value> {
        self.call_typed(service, method, payload).await
    }

    /// [`Client::call`] with typed messages: `request` serialized to JSON, the answer
    /// parsed as `Resp` (missing fields default when `Resp` says so).
    ///
    /// ```no_run
    /// #[derive(serde::Serialize)]
    /// struct Ping {}
    /// #[derive(serde::Deserialize)]
    /// struct Pong {}
    /// # async fn run(client: mondoo::Client) -> mondoo::Result<()> {
    /// let _pong: Pong = client.call_typed("AgentManager", "PingPong", &Ping {}).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_typed<Req, Resp>(&self, service: &str, method: &str, request: &Req) -> Result<Resp>
    where
        Req: Serialize + Sync,
        Resp: for<'de> serde::Deserialize<'de>,
    {
        self.operation("call", |op| async move {
            let (endpoint, exchanged) = op.account_endpoint().await?;
            let credential = op.credential_with(&endpoint, exchanged).await?;
            op.account_call(&endpoint, service, method, request, credential.auth()).await
        })
        .await
    }

    /// A bearer for these body bytes, signed with the configured service account's key
    /// (`NotRegistered` for a service account with a static token only). A keyless config
    /// signs with the exchanged account in memory; this call does not exchange (it is not
    /// async), so before the first exchange it is `NotRegistered` saying so: use
    /// [`Client::sign_exchanging`], or exchange first.
    pub fn sign(&self, body: &[u8]) -> Result<String> {
        if let Some(keyless) = &self.shared.keyless {
            let slot = self.shared.exchanged.try_lock().map_err(|_| {
                Error::new(Code::NotRegistered, "an exchange of this keyless config is under way: sign after it")
            })?;
            return match slot.as_ref().filter(|a| a.fresh_at(crate::unix_now())) {
                Some(account) => exchanged_signer(account)?.sign(body),
                None => Err(Error::new(
                    Code::NotRegistered,
                    format!(
                        "this config authenticates keyless (auth method {}) and holds no exchanged service account \
                         yet: exchange first (any call does), or sign with sign_exchanging",
                        keyless.method()
                    ),
                )),
            };
        }
        self.signer()?.sign(body)
    }

    /// Whether the config authenticates keyless (an exchange gives its service account).
    pub(crate) fn is_keyless(&self) -> bool {
        self.shared.keyless.is_some()
    }

    /// [`Client::sign`], and for a keyless config with the exchanged service account,
    /// exchanging first when none in memory is fresh (the same account calls use).
    pub async fn sign_exchanging(&self, body: &[u8]) -> Result<String> {
        if self.shared.keyless.is_none() {
            return self.sign(body);
        }
        self.operation("sign", |op| async move {
            let endpoint = op.endpoint()?;
            let account = op.exchanged_account(&endpoint, false).await?;
            exchanged_signer(&account)?.sign(body)
        })
        .await
    }
}

fn signer_for(config: &Config) -> Result<Option<Arc<Signer>>> {
    if config.service_account_mrn().is_some() && config.private_key().is_some() {
        Ok(Some(Arc::new(Signer::from_config(config)?)))
    } else {
        Ok(None)
    }
}

/// The static token of a service account (`mrn` with `token`); one that no HTTP header
/// can carry is a configuration error naming the file and the key, never the value.
fn token_for(config: &Config) -> Result<Option<Arc<StaticToken>>> {
    let (Some(_), Some(token)) = (config.service_account_mrn(), config.token()) else { return Ok(None) };
    let token = zeroize::Zeroizing::new(token.trim().to_string());
    if token.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        let at =
            config.error_path().map(|p| p.display().to_string()).unwrap_or_else(|| config.source().as_str().into());
        return Err(config.locate(Error::new(
            Code::ConfigInvalid,
            format!("{at}: key `token` must be printable ASCII without spaces (it is sent in an HTTP header)"),
        )));
    }
    Ok(Some(Arc::new(StaticToken(token))))
}

/// The key of an exchanged account: a static-token account (`response_type: TOKEN`)
/// has none.
fn exchanged_signer(account: &ExchangedAccount) -> Result<&Signer> {
    match &account.credential {
        Credential::Key(signer) => Ok(signer),
        Credential::Token(_) => Err(Error::new(
            Code::NotRegistered,
            format!(
                "the exchanged service account {} has a static token and no key: signing needs a key",
                account.exchanged.mrn()
            ),
        )),
    }
}

fn not_registered(config: &Config) -> Error {
    let from = match config.error_path() {
        Some(p) => format!(" in {}", p.display()),
        None => String::new(),
    };
    config.locate(Error::new(
        Code::NotRegistered,
        format!("client is not registered: no service account (mrn with private_key or token){from}"),
    ))
}

/// How much a registration may add to a config (key, certificate, MRNs, endpoint), for
/// the test write made before registering.
const REGISTRATION_GROWTH: usize = 16 * 1024;

/// The config can be written back, checked before anything is changed on the platform
/// (a registration must not leave an agent behind whose credentials cannot be stored).
fn ensure_writable(config: &Config) -> Result<()> {
    if config.path().is_none() {
        return Err(Error::new(
            Code::ConfigNotWritable,
            format!(
                "the config came from {} and cannot be written back: give a config path to write to",
                config.source().as_str()
            ),
        ));
    }
    config.check_writable(REGISTRATION_GROWTH).map_err(|e| e.context("checked before contacting the platform"))
}

/// A registration whose config could not be written after all: the error names the agent
/// now registered, says how to remove it, and carries its credentials.
fn orphaned_agent(e: Error, config: &Config) -> Error {
    // the MRN is the server's text: shown only escaped
    let agent = server_text(&config.agent_mrn().unwrap_or_default());
    e.context(format!(
        "agent {agent} was registered, but its credentials could not be written; they are kept in this error \
         (the CLI's --save-credentials-on-failure PATH writes them): save them and use the file as the config, \
         or unregister the agent with `logout --force` using that file as the config"
    ))
    .with_orphaned_credentials(credentials_document(config))
}

/// The registered agent's credentials as a JSON config of their own, built in a buffer
/// wiped when dropped (reserved up front, so it never reallocates and leaves a copy).
fn credentials_document(config: &Config) -> zeroize::Zeroizing<String> {
    #[derive(Serialize)]
    struct Credentials<'a> {
        agent_mrn: Option<String>,
        mrn: Option<String>,
        space_mrn: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        private_key: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        certificate: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<&'a str>,
        api_endpoint: String,
    }
    let key = config.private_key();
    let token = config.token();
    let document = Credentials {
        agent_mrn: config.agent_mrn(),
        mrn: config.service_account_mrn(),
        space_mrn: config.space_mrn(),
        private_key: key.as_deref().map(String::as_str),
        certificate: config.certificate().filter(|c| !c.is_empty()),
        token: token.as_deref().map(String::as_str),
        api_endpoint: config.api_endpoint(),
    };
    let mut buffer = zeroize::Zeroizing::new(Vec::with_capacity(64 * 1024));
    let _ = serde_json::to_writer_pretty(&mut *buffer, &document);
    buffer.push(b'\n');
    // serde_json writes UTF-8 only
    zeroize::Zeroizing::new(String::from_utf8(std::mem::take(&mut *buffer)).unwrap_or_default())
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The endpoint as a config stores it: normalized, and with a trailing `/` when it has a
/// path prefix, because Go resolves `./Service` against it and keeps the prefix only
/// then (`https://h/prefix` would lose `prefix` in cnspec). libmondoo reads either form.
pub(crate) fn endpoint_for_config(endpoint: &str) -> String {
    let normalized = normalize_endpoint(endpoint);
    match reqwest::Url::parse(&normalized) {
        Ok(url) if url.path() != "/" && !url.path().is_empty() => format!("{normalized}/"),
        _ => normalized,
    }
}

/// `https://` added when there is no scheme; trailing slashes trimmed.
pub(crate) fn normalize_endpoint(endpoint: &str) -> String {
    let e = endpoint.trim().trim_end_matches('/');
    if e.contains("://") {
        e.to_string()
    } else {
        format!("https://{e}")
    }
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let mut b = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut b);
    Duration::from_nanos(u64::from_le_bytes(b) % (max.as_nanos() as u64 + 1))
}

fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let nanos = t.unix_timestamp_nanos();
    if nanos >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_nanos(nanos as u64))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_nanos(nanos.unsigned_abs() as u64))
    }
}

fn now_rfc3339_local() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A duration with a sign: API time minus local time (positive: the platform's clock is
/// ahead of the local one).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SignedDuration {
    /// The magnitude.
    pub duration: Duration,
    /// true when the platform's clock is behind the local one.
    pub negative: bool,
}

impl SignedDuration {
    fn between(earlier: SystemTime, later: SystemTime) -> SignedDuration {
        match later.duration_since(earlier) {
            Ok(d) => SignedDuration { duration: d, negative: false },
            Err(e) => SignedDuration { duration: e.duration(), negative: true },
        }
    }
    fn sign(&self) -> i64 {
        if self.negative {
            -1
        } else {
            1
        }
    }
    fn as_secs_f64(&self) -> f64 {
        self.duration.as_secs_f64()
    }
    /// Signed seconds: positive when the platform's clock is ahead of the local one.
    pub fn seconds(&self) -> f64 {
        self.as_secs_f64() * self.sign() as f64
    }
    /// Go's `time.Duration.String()`, with the sign.
    pub fn go_string(&self) -> String {
        let s = go_duration(self.duration);
        if self.negative && s != "0s" {
            format!("-{s}")
        } else {
            s
        }
    }
}

/// Go's `time.Duration.String()` for a non-negative duration: `72h0m6.277868s`, `1.5s`,
/// `250ms`, `0s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_fraction(nanos / scale, nanos % scale, scale));
    }
    let total_secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let (h, m, s) = (total_secs / 3600, (total_secs % 3600) / 60, total_secs % 60);
    let secs = format!("{}s", trim_fraction(s, frac, 1_000_000_000));
    if h > 0 {
        format!("{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{m}m{secs}")
    } else {
        secs
    }
}

fn trim_fraction(whole: u128, frac: u128, scale: u128) -> String {
    if frac == 0 {
        return whole.to_string();
    }
    let digits = scale.to_string().len() - 1;
    let f = format!("{frac:0digits$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// `Health/Check` as measured by the client.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Health {
    /// What the platform answered.
    pub response: HealthCheckResponse,
    /// From sending the request to the whole response.
    pub round_trip: Duration,
    /// API time minus local send time; None when the API time does not parse
    pub clock_skew: Option<SignedDuration>,
}

/// An error as reports carry it: code, rpc code, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ErrorReport {
    /// the library's result code
    pub code: u32,
    /// gRPC name of the rpc code, e.g. `Unauthenticated`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc_status: Option<String>,
    /// the gRPC status code the platform answered with, if any
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc_code: Option<i32>,
    /// the HTTP status of the failed response, if any
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// the error's message, without the code
    pub message: String,
    /// the whole error as printed, e.g. `rpc error: code = Unauthenticated desc = ...`
    pub error: String,
    /// the file the error is about
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// the clock skew measured before the failed call: platform time minus local time
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew_seconds: Option<f64>,
}

impl From<&Error> for ErrorReport {
    fn from(e: &Error) -> Self {
        ErrorReport {
            code: e.code().value(),
            rpc_status: e.rpc_code().map(|c| Code::rpc_name(c).to_string()),
            rpc_code: e.rpc_code(),
            http_status: e.http_status(),
            message: e.message().to_string(),
            error: e.to_string(),
            path: e.path().map(|p| p.display().to_string()),
            clock_skew_seconds: e.clock_skew_seconds(),
        }
    }
}

impl ErrorReport {
    /// The error the report was made from, again (code, rpc code, HTTP status, message),
    /// for bindings that hand errors out as objects rather than as JSON.
    pub fn to_error(&self) -> Error {
        let error = match self.rpc_code {
            Some(rpc_code) => Error::rpc(rpc_code, self.http_status, self.message.clone()),
            // Reports are made from errors, so the code is always known; `Io` stands in
            // for one from a newer library rather than failing.
            None => Error::new(Code::from_value(self.code).unwrap_or(Code::Io), self.message.clone()),
        };
        match (self.rpc_code, self.http_status) {
            (None, Some(status)) => error.with_http_status(status),
            _ => error,
        }
    }
}

/// The machine's OS as status reports it.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct PlatformInfo {
    /// OS name, e.g. `ubuntu`
    pub name: String,
    /// OS release, e.g. `22.04`
    pub release: String,
    /// CPU architecture, e.g. `x86_64`
    pub arch: String,
}

/// The `client` object of Go's status JSON, plus `authenticated`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ClientStatus {
    /// local time of the report (RFC 3339)
    pub timestamp: String,
    /// the agent's MRN (or "no managed client" for a service account without one);
    /// JSON key `mrn`, as Go's
    #[serde(rename = "mrn", skip_serializing_if = "Option::is_none")]
    pub agent_mrn: Option<String>,
    /// the service account's MRN; JSON key `service_account`, as Go's
    #[serde(rename = "service_account", skip_serializing_if = "Option::is_none")]
    pub service_account_mrn: Option<String>,
    /// the owner (space or organization) of the service account; JSON key `parentMrn`,
    /// as Go's
    #[serde(rename = "parentMrn", skip_serializing_if = "Option::is_none")]
    pub space_mrn: Option<String>,
    /// the library's version
    pub version: String,
    /// the library's build id, if it was built with one
    #[serde(skip_serializing_if = "String::is_empty")]
    pub build: String,
    /// the agent's labels
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// the machine's OS
    pub platform: PlatformInfo,
    /// the machine's IP address
    pub ip: String,
    /// the machine's hostname
    pub hostname: String,
    /// the config holds credentials
    pub registered: bool,
    /// the platform accepted the credentials (`AgentManager/PingPong`)
    pub authenticated: bool,
    /// Go loses this (`{}`); libmondoo keeps its code and message. For a keyless config
    /// also a failed exchange.
    #[serde(rename = "pingPongError", skip_serializing_if = "Option::is_none")]
    pub ping_pong_error: Option<ErrorReport>,
    /// how the client authenticates ([`crate::AuthMethod::as_str`]): `key`,
    /// `static_token`, `ssh`, `workload_identity`; None without credentials
    #[serde(rename = "authMethod", skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    /// keyless: when the exchanged service account's certificate ends (RFC 3339, UTC)
    #[serde(rename = "credentialExpires", skip_serializing_if = "Option::is_none")]
    pub credential_expires: Option<String>,
}

/// The `upstream.api` object of Go's status JSON: what `Health/Check` answered.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct ApiStatus {
    /// the API endpoint asked
    pub endpoint: String,
    /// the health status, e.g. `SERVING`
    pub status: String,
    /// the platform's time
    pub timestamp: String,
    /// the platform's API version
    pub version: String,
    /// the platform's build
    #[serde(skip_serializing_if = "String::is_empty")]
    pub build: String,
    /// why `Health/Check` failed
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// The `upstream` object of Go's status JSON.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UpstreamStatus {
    /// the API's health
    pub api: ApiStatus,
    /// what the user should know (clock skew, a clear-text endpoint, ...)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The proxy the client uses for the API, and where that choice came from.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProxyReport {
    /// the proxy's URL (credentials redacted); none for a direct connection
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// where the proxy came from, e.g. `config api_proxy`, or `none`
    pub source: String,
}

fn unregistered_hint(config_path: Option<&str>) -> String {
    let at = config_path.map(|p| format!(" at {p}")).unwrap_or_default();
    format!(
        "The Mondoo Platform credentials provided{at} didn't successfully authenticate with Mondoo Platform. \
         Please re-authenticate with Mondoo Platform. To learn how, read \
         https://mondoo.com/docs/cnspec/cnspec-adv-install/registration/."
    )
}

/// What status shows as the client of a service account that has no agent (`agent_mrn`).
const NO_MANAGED_CLIENT: &str = "no managed client";

/// `cnspec status` as data; `Display` (and `to_text`) gives the seeds' layout, `to_json`
/// Go's shape.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StatusReport {
    /// this machine and its credentials
    pub client: ClientStatus,
    /// the platform
    pub upstream: UpstreamStatus,
    /// where the config came from ([`crate::ConfigSource::as_str`])
    pub config_source: String,
    /// the config file, if any
    pub config_path: Option<String>,
    /// the proxy used
    pub proxy: ProxyReport,
    /// `Health/Check`'s round trip, when it answered
    pub round_trip_ms: Option<f64>,
    /// Platform (API) time minus local time, in seconds: positive when the platform's
    /// clock is ahead of the local one (the local clock is behind). Errors carry the same
    /// value and sign ([`Error::clock_skew_seconds`]).
    pub clock_skew_seconds: Option<f64>,
}

impl StatusReport {
    /// The seeds' layout: `→ Key:\tvalue`, `x` for failures, `!` for warnings.
    pub fn to_text(&self) -> String {
        let c = &self.client;
        let api = &self.upstream.api;
        let mut out = String::new();
        let mut line = |mark: &str, text: String| {
            out.push_str(mark);
            out.push(' ');
            out.push_str(&text);
            out.push('\n');
        };
        match (&self.config_path, self.config_source.as_str()) {
            (Some(p), "none") => line("→", format!("no configuration found; a registration writes to {p}")),
            (None, "none") => line("→", "no configuration found".into()),
            (Some(p), source) => line("→", format!("loaded configuration from {p} using source {source}")),
            (None, source) => line("→", format!("loaded configuration using source {source}")),
        }
        line("→", format!("Platform:\t\t{}", c.platform.name));
        line("→", format!("Version:\t\t{}", c.platform.release));
        line("→", format!("Hostname:\t\t{}", c.hostname));
        line("→", format!("IP:\t\t\t{}", c.ip));
        line("→", format!("Time:\t\t\t{}", c.timestamp));
        line("→", format!("Version:\t\t{} (libmondoo)", c.version));
        line("→", format!("API ConnectionConfig:\t{}", api.endpoint));
        if self.proxy.source != "none" {
            line(
                "→",
                format!("API Proxy:\t\t{} (from {})", self.proxy.url.as_deref().unwrap_or(""), self.proxy.source),
            );
        }
        match &api.error {
            Some(e) => line("x", format!("API Status:\t\tcould not reach the API: {}", e.error)),
            None => {
                line("→", format!("API Status:\t\t{}", api.status));
                line("→", format!("API Time:\t\t{}", api.timestamp));
                line("→", format!("API Version:\t\t{}", api.version));
            }
        }
        if let Some(owner) = &c.space_mrn {
            line("→", format!("Owner:\t\t{owner}"));
        }
        if let Some(method @ ("ssh" | "workload_identity")) = c.auth_method.as_deref() {
            line("→", format!("Auth Method:\t\t{method} (keyless, exchanged in memory)"));
            if let Some(expires) = &c.credential_expires {
                line("→", format!("Credential Expires:\t{expires}"));
            }
        }
        if c.registered {
            line("→", format!("Client:\t\t{}", c.agent_mrn.as_deref().unwrap_or("")));
            line("→", format!("Service Account:\t{}", c.service_account_mrn.as_deref().unwrap_or("")));
            line("→", "client is registered".into());
        } else {
            line("x", "client is not registered".into());
        }
        match (&c.ping_pong_error, c.authenticated) {
            (_, true) => line("→", "client authenticated successfully".into()),
            (Some(e), false) => line("x", format!("could not connect to mondoo platform error={:?}", e.error)),
            // the seeds' words for an unregistered client
            (None, false) if !c.registered => line("x", unregistered_hint(self.config_path.as_deref())),
            (None, false) => line("x", "could not connect to mondoo platform".into()),
        }
        for w in &self.upstream.warnings {
            line("!", w.clone());
        }
        out
    }

    /// Go's shape (`client`, `upstream`) plus `config`, `proxy` and the measurements.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| json!({ "error": e.to_string() }))
    }

    /// 0 registered and authenticated, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.client.registered && self.client.authenticated {
            0
        } else {
            1
        }
    }
}

/// The text `cnspec status` prints (the same as [`StatusReport::to_text`]).
impl std::fmt::Display for StatusReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl StatusReport {
    /// The agent's MRN; None when unregistered or when the service account has no agent
    /// (which the text and JSON show as "no managed client").
    pub fn agent_mrn(&self) -> Option<&str> {
        self.client.agent_mrn.as_deref().filter(|m| *m != NO_MANAGED_CLIENT)
    }
    /// The service account's MRN; None when unregistered.
    pub fn service_account_mrn(&self) -> Option<&str> {
        self.client.service_account_mrn.as_deref()
    }
    /// The space (or organization) the config belongs to, or None.
    pub fn space_mrn(&self) -> Option<&str> {
        self.client.space_mrn.as_deref()
    }
    /// The API endpoint the report is about.
    pub fn api_endpoint(&self) -> &str {
        &self.upstream.api.endpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSource;

    #[test]
    fn go_duration_strings() {
        assert_eq!(go_duration(Duration::from_nanos(259_206_277_868_000)), "72h0m6.277868s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(go_duration(Duration::from_secs(61)), "1m1s");
        assert_eq!(go_duration(Duration::from_nanos(1500)), "1.5µs");
        assert_eq!(go_duration(Duration::ZERO), "0s");
        let neg = SignedDuration { duration: Duration::from_secs(3600), negative: true };
        assert_eq!(neg.go_string(), "-1h0m0s");
    }

    #[test]
    fn endpoints_are_normalized() {
        assert_eq!(normalize_endpoint("us.api.mondoo.com/"), "https://us.api.mondoo.com");
        assert_eq!(normalize_endpoint("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(endpoint_for_config("https://h/prefix"), "https://h/prefix/");
        assert_eq!(endpoint_for_config("https://h/a/b//"), "https://h/a/b/");
        assert_eq!(endpoint_for_config("https://h/"), "https://h");
        assert_eq!(endpoint_for_config("us.api.mondoo.com"), "https://us.api.mondoo.com");
    }

    #[test]
    fn rfc3339_with_fraction_and_offset_parses() {
        let t = parse_rfc3339("2023-01-14T00:19:46.123Z").unwrap();
        let u = parse_rfc3339("2023-01-13T16:19:46.123-08:00").unwrap();
        assert_eq!(t, u);
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn jitter_stays_within_bound() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(5)) <= Duration::from_millis(5));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn an_error_report_gives_back_its_error() {
        let rpc = Error::rpc(16, Some(401), "request permission unauthenticated");
        let again = ErrorReport::from(&rpc).to_error();
        assert_eq!(again, rpc);
        assert_eq!(again.to_string(), rpc.to_string());

        let network = Error::new(Code::Tls, "invalid peer certificate").with_http_status(502);
        assert_eq!(ErrorReport::from(&network).to_error(), network);
    }

    #[test]
    fn an_orphaned_agent_error_shows_the_servers_agent_mrn_escaped() {
        let mut config = Config::empty_at("/nonexistent/mondoo.yml", ConfigSource::Explicit);
        config.set("agent_mrn", json!("//agents/\u{1b}]0;owned\u{7}"));
        let e = orphaned_agent(Error::new(Code::Io, "cannot write"), &config);
        assert!(!e.message().chars().any(char::is_control), "{:?}", e.message());
        assert!(e.message().contains("agent //agents/\\u{1b}]0;owned\\u{7} was registered"), "{}", e.message());
        assert!(e.orphaned_credentials().is_some());
    }

    #[test]
    fn proxy_credentials_are_redacted() {
        assert_eq!(redact_userinfo("http://user:secret@proxy:3128/"), "http://redacted@proxy:3128/");
    }
}
