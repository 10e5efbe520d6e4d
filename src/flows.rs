//! The platform flows (protocol section 5): register, status, logout, check-in and
//! signed calls, over one [`Client`] that owns the config, the signer and one HTTP pool.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::error::Result;

/// How a [`Client`] talks to the platform. `Default` is Go's behaviour.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Overrides the config's `api_endpoint` (and, for a token login, the token's).
    pub api_endpoint: Option<String>,
    /// The caller's explicit proxy (`--api-proxy`).
    pub api_proxy: Option<String>,
    /// An extra CA bundle (PEM) trusted beside the system roots.
    pub ca_file: Option<PathBuf>,
    /// Whole-request timeout (default 30 s).
    pub timeout: Duration,
    /// TCP connect + TLS handshake timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Sleeps between RegisterAgent attempts on Aborted (default 5 s, 10 s, 20 s).
    pub retry_delays: Vec<Duration>,
    /// Upper bound of the random jitter added to each sleep (default 5 s).
    pub retry_jitter: Duration,
    /// Correct signing times by the clock skew measured by `Health/Check` (default off).
    pub correct_clock_skew: bool,
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
        }
    }
}

/// What a registration may add (`cnspec login --name --annotation`).
#[derive(Debug, Clone, Default)]
pub struct RegisterOptions {
    pub name: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// Outcome of a registration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Registration {
    pub agent_mrn: String,
    pub service_account_mrn: String,
    pub space_mrn: Option<String>,
    pub api_endpoint: String,
    pub config_path: Option<PathBuf>,
    /// true when the config already had an agent_mrn (nothing was registered)
    pub already_registered: bool,
}

/// What logout keeps.
#[derive(Debug, Clone, Default)]
pub struct LogoutOptions {
    /// keep `mrn`, `private_key`, `certificate` (remove only `agent_mrn`)
    pub keep_service_account: bool,
    /// rewrite the config even when the platform cannot be reached or refuses
    pub force_offline: bool,
}

/// A connection to the platform. Thread-safe: share it (`Arc<Client>`) across threads.
pub struct Client {
    _todo: (),
}

impl Client {
    pub fn new(_config: Config, _options: ClientOptions) -> Result<Client> {
        unimplemented!()
    }
    /// A copy of the current config (it changes on register/logout).
    pub fn config(&self) -> Config {
        unimplemented!()
    }
    /// Register with a token, or (None) with the service account already configured.
    pub fn register(&self, _token: Option<&str>, _options: &RegisterOptions) -> Result<Registration> {
        unimplemented!()
    }
    /// `cnspec status`; fails only on a configuration error (bad key).
    pub fn status(&self) -> Result<StatusReport> {
        unimplemented!()
    }
    /// Unregister and remove the credentials.
    pub fn logout(&self, _options: &LogoutOptions) -> Result<()> {
        unimplemented!()
    }
    /// The agent check-in (`AgentManager/HealthCheck`).
    pub fn checkin(&self) -> Result<()> {
        unimplemented!()
    }
    /// A signed call to any platform service: `POST {endpoint}/{service}/{method}`.
    pub fn call(&self, _service: &str, _method: &str, _payload: &serde_json::Value) -> Result<serde_json::Value> {
        unimplemented!()
    }
    /// A bearer for these body bytes, signed with the configured service account.
    pub fn sign(&self, _body: &[u8]) -> Result<String> {
        unimplemented!()
    }
}

/// `cnspec status` as data; `to_text` gives the seeds' layout, `to_json` Go's shape.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusReport {
    _todo: (),
}

impl StatusReport {
    pub fn to_text(&self) -> String {
        unimplemented!()
    }
    pub fn to_json(&self) -> serde_json::Value {
        unimplemented!()
    }
    /// 0 registered and authenticated, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        unimplemented!()
    }
}
