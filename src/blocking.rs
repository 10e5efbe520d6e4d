//! The blocking client: [`Client`] runs the async [`crate::Client`] on a small runtime of
//! its own, for callers without one (the C ABI, Python, Go, plain threads).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Code, Error, Result};
use crate::flows::{ClientOptions, Health, LogoutOptions, RegisterOptions, Registration, StatusReport};
use crate::CancelToken;

/// A connection to the platform whose calls block the calling thread. `Send + Sync`:
/// share it across threads; every clone and every handle made by `with_deadline`,
/// `with_timeout` or `with_cancel` shares one config, signer, connection pool and
/// runtime (one worker thread).
///
/// It must not be called from inside a tokio runtime (blocking there would stall the
/// runtime): such a call fails with `Code::InvalidArgument`; use [`crate::Client`] there.
///
/// ```no_run
/// use std::time::Duration;
/// # fn run() -> mondoo::Result<()> {
/// let config = mondoo::Config::load(None)?;
/// let client = mondoo::blocking::Client::new(config, mondoo::ClientOptions::new())?;
/// let report = client.with_timeout(Duration::from_secs(20)).status()?;
/// print!("{report}");
/// std::process::exit(report.exit_code());
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<OwnedRuntime>,
}

/// The runtime the blocking client drives its calls on.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        // Never waits: dropping the last handle inside async code must not panic.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl Client {
    /// See [`crate::Client::new`].
    pub fn new(config: Config, options: ClientOptions) -> Result<Client> {
        refuse_inside_a_runtime("mondoo::blocking::Client::new")?;
        // One worker: it keeps the pool's connections serviced between calls; callers'
        // threads poll their own calls in `block_on`.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mondoo-client")
            .enable_all()
            .build()
            .map_err(|e| Error::new(Code::Io, format!("cannot start the client's runtime: {e}")).with_source(e))?;
        // reqwest's client registers with the runtime it is built in
        let inner = {
            let _entered = runtime.enter();
            crate::Client::new(config, options)?
        };
        Ok(Client { inner, runtime: Arc::new(OwnedRuntime(Some(runtime))) })
    }

    /// The async client behind this one (same state), for callers that have a runtime.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    fn block_on<T>(&self, what: &str, operation: impl Future<Output = Result<T>>) -> Result<T> {
        refuse_inside_a_runtime(what)?;
        match &self.runtime.0 {
            Some(runtime) => runtime.block_on(operation),
            None => Err(Error::new(Code::Io, format!("{what}: the client's runtime is gone"))),
        }
    }

    /// Run `operation` on this client's runtime (the other modules' blocking twins).
    pub(crate) fn run<T>(&self, what: &str, operation: impl Future<Output = Result<T>>) -> Result<T> {
        self.block_on(what, operation)
    }

    fn with_inner(&self, inner: crate::Client) -> Client {
        Client { inner, runtime: Arc::clone(&self.runtime) }
    }

    /// See [`crate::Client::with_deadline`].
    pub fn with_deadline(&self, deadline: Instant) -> Client {
        self.with_inner(self.inner.with_deadline(deadline))
    }

    /// See [`crate::Client::with_timeout`].
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        self.with_inner(self.inner.with_timeout(timeout))
    }

    /// A handle sharing this client's state whose calls return promptly with
    /// `Code::Canceled` once `cancel` is cancelled (from any thread).
    pub fn with_cancel(&self, cancel: &CancelToken) -> Client {
        self.with_inner(self.inner.with_cancel(cancel))
    }

    /// A copy of the config as it is now (a registration or logout changes it).
    pub fn config(&self) -> Config {
        self.inner.config()
    }

    /// The endpoint the client talks to.
    pub fn api_endpoint(&self) -> String {
        self.inner.api_endpoint()
    }

    /// The clock skew the last `Health/Check` measured (platform minus local, seconds).
    pub fn last_clock_skew_seconds(&self) -> Option<f64> {
        self.inner.last_clock_skew_seconds()
    }

    /// A bearer for `body`, as [`crate::Client::sign`]; a keyless config exchanges first
    /// when it holds no fresh exchanged account ([`crate::Client::sign_exchanging`]).
    pub fn sign(&self, body: &[u8]) -> Result<String> {
        // only a keyless config may need the runtime: signing alone works inside one
        if self.inner.is_keyless() {
            self.block_on("sign", self.inner.sign_exchanging(body))
        } else {
            self.inner.sign(body)
        }
    }

    /// `Health/Check`, as [`crate::Client::health`].
    pub fn health(&self) -> Result<Health> {
        self.block_on("health", self.inner.health())
    }

    /// Register this machine, as [`crate::Client::register`].
    pub fn register(&self, token: Option<&str>, options: &RegisterOptions) -> Result<Registration> {
        self.block_on("register", self.inner.register(token, options))
    }

    /// `cnspec status`, as [`crate::Client::status`].
    pub fn status(&self) -> Result<StatusReport> {
        self.block_on("status", self.inner.status())
    }

    /// Unregister, as [`crate::Client::logout`].
    pub fn logout(&self, options: &LogoutOptions) -> Result<()> {
        self.block_on("logout", self.inner.logout(options))
    }

    /// The agent check-in, as [`crate::Client::checkin`].
    pub fn checkin(&self) -> Result<()> {
        self.block_on("checkin", self.inner.checkin())
    }

    /// Keyless configs: exchange now, as [`crate::Client::exchange`].
    pub fn exchange(&self) -> Result<crate::ExchangeReport> {
        self.block_on("exchange", self.inner.exchange())
    }

    /// A signed JSON call, as [`crate::Client::call`].
    pub fn call(&self, service: &str, method: &str, payload: &serde_json::Value) -> Result<serde_json::Value> {
        self.block_on("call", self.inner.call(service, method, payload))
    }

    /// See [`crate::Client::call_typed`].
    pub fn call_typed<Req, Resp>(&self, service: &str, method: &str, request: &Req) -> Result<Resp>
    where
        Req: serde::Serialize + Sync,
        Resp: for<'de> serde::Deserialize<'de>,
    {
        self.block_on("call", self.inner.call_typed(service, method, request))
    }
}

/// Blocking inside a runtime would stall it (and tokio panics on it): a clear error instead.
fn refuse_inside_a_runtime(what: &str) -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("{what}: the blocking client cannot be used inside a tokio runtime; use mondoo::Client (async)"),
        ));
    }
    Ok(())
}
