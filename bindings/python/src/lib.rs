//! `mondoo._native`: the Python face of libmondoo.
//!
//! Every class here wraps a Rust API type and adds nothing to the protocol: conversions,
//! argument checks and releasing the GIL around network calls and signing. The Python
//! package `mondoo` re-exports these and defines the exceptions (see `errors.rs`).

mod errors;
mod json;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mondoo::blocking::Client;
use mondoo::{CancelToken, Code, Config, LoadOptions, RegistrationToken, Signer};
use mondoo::{ClientOptions, Health, LogoutOptions, RegisterOptions, Registration, StatusReport};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use pyo3::IntoPyObjectExt;

use crate::errors::py_err;

/// How long a blocking call waits for its worker before checking for signals again.
const SIGNAL_CHECK_SLICE: Duration = Duration::from_millis(50);

/// Run one call of `client` that talks to the platform on a worker thread and wait for it
/// with the GIL released, in slices, running Python's signal handlers between them: Ctrl-C
/// (SIGINT) raises KeyboardInterrupt within a slice instead of after the request's timeout.
/// The exception a handler raises cancels the call first (its request's connection closed;
/// a register or logout not yet written writes nothing afterwards): it is raised once the
/// worker has stopped, so nothing of the call runs on behind the caller's back.
fn interruptible<T: Send + 'static>(
    py: Python<'_>,
    client: &Client,
    work: impl FnOnce(&Client) -> T + Send + 'static,
) -> PyResult<T> {
    let cancel = CancelToken::new();
    let client = client.with_cancel(&cancel);
    interruptible_with(py, &cancel, move || work(&client))
}

/// [`interruptible`] for work whose client handles were made with `cancel` beforehand
/// (a pager keeps one client for all its pages).
fn interruptible_with<T: Send + 'static>(
    py: Python<'_>,
    cancel: &CancelToken,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
    let (done, result) = sync_channel(1);
    std::thread::Builder::new()
        .name("mondoo-call".into())
        .spawn(move || {
            // the caller may have gone (interrupted): then nobody wants the result
            let _ = done.send(work());
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the call's worker thread: {e}")))?;
    // the receiver moves through the GIL-free closures: it is Send, not Sync
    let wait_slice = move |result: Receiver<T>| {
        let received = result.recv_timeout(SIGNAL_CHECK_SLICE);
        (result, received)
    };
    let mut result = result;
    loop {
        let (receiver, received) = py.detach(move || wait_slice(result));
        result = receiver;
        match received {
            Ok(value) => return Ok(value),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(raised) = py.check_signals() {
                    cancel.cancel();
                    // prompt: the cancelled operation is dropped at its next await
                    py.detach(move || drop(result.recv()));
                    return Err(raised);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("libmondoo's call panicked on its worker thread"))
            }
        }
    }
}

/// What an awaitable of the asyncio API gives: the core's result, turned into the value or
/// the library's exception where pyo3-async-runtimes hands it to the event loop (holding
/// the GIL there, not on a tokio worker).
struct Awaited<T>(mondoo::Result<T>);

impl<'py, T> IntoPyObject<'py> for Awaited<T>
where
    T: IntoPyObject<'py>,
    T::Error: Into<PyErr>,
{
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(value) => value.into_bound_py_any(py),
            Err(e) => Err(errors::to_py_err(py, &e)),
        }
    }
}

/// A JSON answer of `call`, converted to Python objects with the GIL.
struct JsonAnswer(serde_json::Value);

impl<'py> IntoPyObject<'py> for JsonAnswer {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.0)
    }
}

/// `operation` as an asyncio awaitable of the running loop, run on the module's tokio
/// runtime. Cancelling the awaitable (task.cancel(), asyncio.wait_for's timeout) drops the
/// operation where it stands: its request's connection is closed and nothing after that
/// point (a config write) happens.
fn awaitable<'py, T>(
    py: Python<'py>,
    operation: impl Future<Output = mondoo::Result<T>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
    for<'a> <T as IntoPyObject<'a>>::Error: Into<PyErr>,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move { Ok(Awaited(operation.await)) })
}

/// Body bytes of a request to sign: `bytes` as is, `str` as UTF-8.
fn body_bytes<'a>(body: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = body.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = body.cast::<PyString>() {
        return Ok(Cow::Owned(s.to_cow()?.into_owned().into_bytes()));
    }
    Err(PyTypeError::new_err(format!(
        "body must be bytes or str, not {}",
        body.get_type().name().map(|n| n.to_string()).unwrap_or_default()
    )))
}

/// Seconds from Python as a Duration; `what` names the argument in the error.
fn seconds(value: f64, what: &str, allow_zero: bool) -> PyResult<Duration> {
    if !value.is_finite() || value < 0.0 || (!allow_zero && value == 0.0) {
        let want = if allow_zero { "a finite number >= 0" } else { "a finite number > 0" };
        return Err(PyValueError::new_err(format!("{what} must be {want} (seconds), got {value}")));
    }
    Duration::try_from_secs_f64(value).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

fn opt_path(path: Option<&std::path::Path>) -> Option<String> {
    path.map(|p| p.display().to_string())
}

// ---------------------------------------------------------------------------------------
// Config

/// A loaded mondoo configuration. Never shows the private key or a static token.
#[pyclass(module = "mondoo._native", name = "Config", frozen)]
pub struct PyConfig {
    inner: Config,
}

#[pymethods]
impl PyConfig {
    /// Load with cnspec's precedence: `path`, else $MONDOO_CONFIG_BASE64,
    /// $MONDOO_CONFIG_PATH, the home and the system file; no file is an unregistered config.
    #[staticmethod]
    #[pyo3(signature = (path=None))]
    fn load(py: Python<'_>, path: Option<PathBuf>) -> PyResult<Self> {
        let mut options = LoadOptions::new();
        options.path = path;
        let inner = py.detach(|| Config::load_with(&options)).map_err(py_err)?;
        Ok(PyConfig { inner })
    }

    /// The config a registration writes: like `load`, but a missing `path` (or
    /// $MONDOO_CONFIG_PATH) is a new file that `Client.register` creates.
    #[staticmethod]
    #[pyo3(signature = (path=None))]
    fn for_registration(py: Python<'_>, path: Option<PathBuf>) -> PyResult<Self> {
        let mut options = LoadOptions::new();
        options.path = path;
        let inner = py.detach(|| Config::for_registration(&options)).map_err(py_err)?;
        Ok(PyConfig { inner })
    }

    /// Where it came from: "--config", "$MONDOO_CONFIG_PATH", "$MONDOO_CONFIG_BASE64",
    /// "default" or "none".
    #[getter]
    fn source(&self) -> &'static str {
        self.inner.source().as_str()
    }
    /// The file read, or the file a registration will write; None for base64 configs.
    #[getter]
    fn path(&self) -> Option<String> {
        opt_path(self.inner.path())
    }
    /// "yaml" or "json".
    #[getter]
    fn format(&self) -> &'static str {
        self.inner.format().as_str()
    }
    /// A service account is configured: mrn with a private_key or a static token.
    #[getter]
    fn registered(&self) -> bool {
        self.inner.is_registered()
    }
    /// The space (or organization): scope_mrn, else space_mrn, else parent_mrn.
    #[getter]
    fn space_mrn(&self) -> Option<String> {
        self.inner.space_mrn()
    }
    /// The API endpoint, normalized; https://us.api.mondoo.com when the config names none.
    #[getter]
    fn api_endpoint(&self) -> String {
        self.inner.api_endpoint()
    }
    /// The agent's MRN, once the machine is registered as an agent.
    #[getter]
    fn agent_mrn(&self) -> Option<String> {
        self.inner.agent_mrn()
    }
    /// The service account's MRN.
    #[getter]
    fn service_account_mrn(&self) -> Option<String> {
        self.inner.service_account_mrn()
    }
    /// The document as in the file, with private_key and token replaced by "<redacted>".
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.inner.redacted_json())
    }
    fn __repr__(&self) -> String {
        format!(
            "Config(source={:?}, path={}, registered={}, service_account_mrn={}, api_endpoint={:?})",
            self.source(),
            py_repr_opt(self.path().as_deref()),
            if self.registered() { "True" } else { "False" },
            py_repr_opt(self.inner.service_account_mrn().as_deref()),
            self.inner.api_endpoint(),
        )
    }
}

fn py_repr_opt(s: Option<&str>) -> String {
    match s {
        Some(s) => format!("{s:?}"),
        None => "None".into(),
    }
}

// ---------------------------------------------------------------------------------------
// Registration tokens

/// A registration token, checked offline (shape, claims, time); never shows the token.
#[pyclass(module = "mondoo._native", name = "Token", frozen)]
pub struct PyToken {
    inner: RegistrationToken,
}

#[pymethods]
impl PyToken {
    /// The header's signing algorithm, e.g. "ES384".
    #[getter]
    fn alg(&self) -> &str {
        self.inner.alg()
    }
    /// The space the token registers into.
    #[getter]
    fn space_mrn(&self) -> Option<String> {
        self.inner.claims().space_mrn.clone()
    }
    /// Where the registration goes: the override given, else the token's claim.
    #[getter]
    fn api_endpoint(&self) -> &str {
        self.inner.api_endpoint()
    }
    /// Unix seconds, or None for a token without expiry.
    #[getter]
    fn expires(&self) -> Option<i64> {
        self.inner.claims().exp
    }
    /// Unix seconds before which the token is not valid (nbf), or None.
    #[getter]
    fn not_before(&self) -> Option<i64> {
        self.inner.claims().nbf
    }
    /// Unix seconds when the token was issued (iat), or None.
    #[getter]
    fn issued_at(&self) -> Option<i64> {
        self.inner.claims().iat
    }
    /// Who issued the token (iss), or None.
    #[getter]
    fn issuer(&self) -> Option<String> {
        self.inner.claims().iss.clone()
    }
    /// The token's subject (sub), or None.
    #[getter]
    fn subject(&self) -> Option<String> {
        self.inner.claims().sub.clone()
    }
    /// The description given when the token was made (desc), or None.
    #[getter]
    fn description(&self) -> Option<String> {
        self.inner.claims().desc.clone()
    }
    /// Who made the token (owner), or None.
    #[getter]
    fn owner(&self) -> Option<String> {
        self.inner.claims().owner.clone()
    }
    /// The labels the token gives the assets it registers.
    #[getter]
    fn labels(&self) -> BTreeMap<String, String> {
        self.inner.claims().labels.clone()
    }
    /// E.g. "registration token has no expiry".
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings().to_vec()
    }
    /// Every claim (None when absent) plus alg, endpoint, expires_at and warnings.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.inner.to_json())
    }
    fn __repr__(&self) -> String {
        format!("<Token {}>", self.inner)
    }
}

/// Check a registration token offline; raises TokenError saying why it cannot be used.
#[pyfunction]
#[pyo3(signature = (token, *, api_endpoint=None))]
fn inspect_token(token: &str, api_endpoint: Option<&str>) -> PyResult<PyToken> {
    RegistrationToken::inspect(token, api_endpoint).map(|inner| PyToken { inner }).map_err(py_err)
}

// ---------------------------------------------------------------------------------------
// Signer

/// Signs request bodies as the configured service account (ES384 bearers).
#[pyclass(module = "mondoo._native", name = "Signer", frozen)]
pub struct PySigner {
    inner: Arc<Signer>,
}

#[pymethods]
impl PySigner {
    /// The signer of a registered config; raises NotRegisteredError or KeyMaterialError.
    #[staticmethod]
    fn from_config(config: &PyConfig) -> PyResult<Self> {
        Signer::from_config(&config.inner).map(|s| PySigner { inner: Arc::new(s) }).map_err(py_err)
    }
    /// The service account's MRN (the bearer's kid and sub).
    #[getter]
    fn mrn(&self) -> &str {
        self.inner.mrn()
    }
    /// A fresh bearer for exactly these body bytes (a str is signed as UTF-8).
    fn sign(&self, py: Python<'_>, body: &Bound<'_, PyAny>) -> PyResult<String> {
        let body = body_bytes(body)?;
        let signer = &self.inner;
        py.detach(|| signer.sign(&body)).map_err(py_err)
    }
    fn __repr__(&self) -> String {
        format!("Signer(mrn={:?})", self.inner.mrn())
    }
}

// ---------------------------------------------------------------------------------------
// Client

/// A connection to the Mondoo Platform. Thread-safe; a context manager.
///
/// The calls that talk to the platform (register, status, logout, checkin, health, call)
/// run on a worker thread and can be interrupted: Ctrl-C raises KeyboardInterrupt at once
/// (within about 50 ms), after cancelling the request: its connection is closed and a
/// register or logout that had not written the config yet does not write it.
#[pyclass(module = "mondoo._native", name = "Client", frozen)]
pub struct PyClient {
    /// None once closed. Calls clone the Arc, so close() while another thread is in a
    /// call only drops the client after that call returns.
    inner: Mutex<Option<Arc<Client>>>,
}

impl PyClient {
    fn client(&self) -> PyResult<Arc<Client>> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| Python::attach(errors::closed_client_error))
    }

    /// The async core behind the client (same config, signer and pool), for the asyncio API.
    fn async_client(&self) -> PyResult<mondoo::Client> {
        Ok(self.client()?.as_async().clone())
    }
}

/// Client options from the keyword arguments `Client()` and `Client.for_registration()` share.
#[allow(clippy::too_many_arguments)]
fn client_options(
    api_endpoint: Option<String>,
    api_proxy: Option<String>,
    ca_file: Option<PathBuf>,
    timeout: f64,
    connect_timeout: f64,
    correct_clock_skew: bool,
    retry_delays: Option<Vec<f64>>,
    retry_jitter: Option<f64>,
    env: Option<BTreeMap<String, String>>,
    require_tls: bool,
    api_token: Option<SecretString>,
) -> PyResult<ClientOptions> {
    // Unset arguments keep the defaults (no feature flags, the machine gathered on first use).
    let mut options = ClientOptions::new()
        .with_timeout(seconds(timeout, "timeout", false)?)
        .with_connect_timeout(seconds(connect_timeout, "connect_timeout", false)?)
        .with_correct_clock_skew(correct_clock_skew)
        .with_require_tls(require_tls);
    options.api_endpoint = api_endpoint;
    options.api_proxy = api_proxy;
    options.ca_file = ca_file;
    options.env = env;
    if let Some(delays) = retry_delays {
        options.retry_delays = delays.into_iter().map(|d| seconds(d, "retry_delays", true)).collect::<PyResult<_>>()?;
    }
    if let Some(jitter) = retry_jitter {
        options.retry_jitter = seconds(jitter, "retry_jitter", true)?;
    }
    if let Some(token) = api_token {
        options = options.with_api_token(token.as_str());
    }
    Ok(options)
}

/// Where a client's config comes from.
enum ConfigSource {
    Given(Config),
    /// a path that must exist (protocol 1.2: an explicit path is never silently empty)
    Path(PathBuf),
    /// the config a registration writes: a missing path (or $MONDOO_CONFIG_PATH) is new
    ForRegistration(Option<PathBuf>),
    Search,
}

impl PyClient {
    fn open(py: Python<'_>, source: ConfigSource, options: ClientOptions) -> PyResult<Self> {
        let client = py
            .detach(move || {
                let config = match source {
                    ConfigSource::Given(c) => c,
                    ConfigSource::Path(path) => Config::load_with(&LoadOptions::new().with_path(path))?,
                    ConfigSource::ForRegistration(path) => Config::for_registration(
                        &path.map_or_else(LoadOptions::new, |p| LoadOptions::new().with_path(p)),
                    )?,
                    ConfigSource::Search => Config::load(None)?,
                };
                Client::new(config, options)
            })
            .map_err(py_err)?;
        Ok(PyClient { inner: Mutex::new(Some(Arc::new(client))) })
    }
}

#[pymethods]
impl PyClient {
    /// `config`: a Config; a path to an existing file (else ConfigNotFoundError: use
    /// `Client.for_registration` to register into a new file); or None for the default search.
    #[new]
    #[pyo3(signature = (
        config=None, *, api_endpoint=None, api_proxy=None, ca_file=None, timeout=30.0,
        connect_timeout=10.0, correct_clock_skew=false, retry_delays=None, retry_jitter=None, env=None,
        require_tls=false, api_token=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        api_endpoint: Option<String>,
        api_proxy: Option<String>,
        ca_file: Option<PathBuf>,
        timeout: f64,
        connect_timeout: f64,
        correct_clock_skew: bool,
        retry_delays: Option<Vec<f64>>,
        retry_jitter: Option<f64>,
        env: Option<BTreeMap<String, String>>,
        require_tls: bool,
        api_token: Option<String>,
    ) -> PyResult<Self> {
        let options = client_options(
            api_endpoint,
            api_proxy,
            ca_file,
            timeout,
            connect_timeout,
            correct_clock_skew,
            retry_delays,
            retry_jitter,
            env,
            require_tls,
            api_token.map(SecretString),
        )?;
        let source = match config {
            None => ConfigSource::Search,
            Some(obj) if obj.is_none() => ConfigSource::Search,
            Some(obj) => match obj.cast::<PyConfig>() {
                Ok(c) => ConfigSource::Given(c.get().inner.clone()),
                Err(_) => ConfigSource::Path(obj.extract::<PathBuf>().map_err(|_| {
                    PyTypeError::new_err("config must be a mondoo.Config, a path (str or os.PathLike) or None")
                })?),
            },
        };
        PyClient::open(py, source, options)
    }

    /// A client to register with (`cnspec login --config path`): the config at `path`, or
    /// a new file there that `register()` writes; None for $MONDOO_CONFIG_PATH or the
    /// default search. Takes the options of `Client()`.
    #[staticmethod]
    #[pyo3(signature = (
        path=None, *, api_endpoint=None, api_proxy=None, ca_file=None, timeout=30.0,
        connect_timeout=10.0, correct_clock_skew=false, retry_delays=None, retry_jitter=None, env=None,
        require_tls=false, api_token=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn for_registration(
        py: Python<'_>,
        path: Option<PathBuf>,
        api_endpoint: Option<String>,
        api_proxy: Option<String>,
        ca_file: Option<PathBuf>,
        timeout: f64,
        connect_timeout: f64,
        correct_clock_skew: bool,
        retry_delays: Option<Vec<f64>>,
        retry_jitter: Option<f64>,
        env: Option<BTreeMap<String, String>>,
        require_tls: bool,
        api_token: Option<String>,
    ) -> PyResult<Self> {
        let options = client_options(
            api_endpoint,
            api_proxy,
            ca_file,
            timeout,
            connect_timeout,
            correct_clock_skew,
            retry_delays,
            retry_jitter,
            env,
            require_tls,
            api_token.map(SecretString),
        )?;
        PyClient::open(py, ConfigSource::ForRegistration(path), options)
    }

    /// A copy of the current config (register and logout change it).
    #[getter]
    fn config(&self) -> PyResult<PyConfig> {
        Ok(PyConfig { inner: self.client()?.config() })
    }

    /// The endpoint calls go to.
    #[getter]
    fn api_endpoint(&self) -> PyResult<String> {
        Ok(self.client()?.api_endpoint())
    }

    /// True once close() ran (or the with block ended).
    #[getter]
    fn closed(&self) -> bool {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Register with a token, or (None) with the configured service account; writes the
    /// config file. Interruptible: see `Client`.
    #[pyo3(signature = (token=None, *, name=None, annotations=None))]
    fn register(
        &self,
        py: Python<'_>,
        token: Option<String>,
        name: Option<String>,
        annotations: Option<BTreeMap<String, String>>,
    ) -> PyResult<PyRegistration> {
        let client = self.client()?;
        let (token, options) = register_arguments(token, name, annotations);
        interruptible(py, &client, move |c| c.register(token.as_ref().map(SecretString::as_str), &options))?
            .map(|inner| PyRegistration { inner })
            .map_err(py_err)
    }

    /// `cnspec status`: raises only when the config cannot be used; str() is the text.
    fn status(&self, py: Python<'_>) -> PyResult<PyStatus> {
        let client = self.client()?;
        interruptible(py, &client, Client::status)?.map(|inner| PyStatus { inner }).map_err(py_err)
    }

    /// Unregister and remove the credentials from the config file.
    #[pyo3(signature = (*, keep_service_account=false, force_offline=false))]
    fn logout(&self, py: Python<'_>, keep_service_account: bool, force_offline: bool) -> PyResult<()> {
        let client = self.client()?;
        let options =
            LogoutOptions::new().with_keep_service_account(keep_service_account).with_force_offline(force_offline);
        interruptible(py, &client, move |c| c.logout(&options))?.map_err(py_err)
    }

    /// The agent check-in.
    fn checkin(&self, py: Python<'_>) -> PyResult<()> {
        let client = self.client()?;
        interruptible(py, &client, Client::checkin)?.map_err(py_err)
    }

    /// The platform's Health/Check, timed, with the clock skew.
    fn health(&self, py: Python<'_>) -> PyResult<PyHealth> {
        let client = self.client()?;
        interruptible(py, &client, Client::health)?.map(|inner| PyHealth { inner }).map_err(py_err)
    }

    /// A signed call: POST {api_endpoint}/{service}/{method} with `payload` as JSON.
    #[pyo3(signature = (service, method, payload=None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        service: String,
        method: String,
        payload: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client()?;
        let payload = call_payload(payload)?;
        let answer = interruptible(py, &client, move |c| c.call(&service, &method, &payload))?.map_err(py_err)?;
        json::to_py(py, &answer)
    }

    /// A Platform API (GraphQL) request: `data` of the answer; GraphQLError when the answer
    /// has `errors` (unless `allow_partial` and there is data). Interruptible.
    #[pyo3(signature = (query, variables=None, *, allow_partial=false))]
    fn graphql<'py>(
        &self,
        py: Python<'py>,
        query: String,
        variables: Option<&Bound<'py, PyAny>>,
        allow_partial: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client()?;
        let variables = graphql_variables(variables)?;
        let response = interruptible(py, &client, move |c| c.graphql(&query, variables))?.map_err(py_err)?;
        GraphQlAnswer { response, allow_partial }.into_pyobject(py)
    }

    /// The pages of the Relay connection at `path` in the answers to `query`: an iterator of
    /// the connection objects, one request per page. Each page is interruptible. The
    /// default limit of 100 pages bounds a query that never ends, far above a listing's
    /// needs (written out in the signature so `help()` and stubtest show it).
    #[pyo3(signature = (query, variables=None, *, path, page_limit=100))]
    fn paginate(
        &self,
        query: &str,
        variables: Option<&Bound<'_, PyAny>>,
        path: &str,
        page_limit: usize,
    ) -> PyResult<PyGraphQlPages> {
        let client = self.client()?;
        let variables = graphql_variables(variables)?;
        let cancel = CancelToken::new();
        let pages = client.with_cancel(&cancel).graphql_pages(query, variables, path, page_limit).map_err(py_err)?;
        Ok(PyGraphQlPages { state: Mutex::new(PagesState::Ready(Box::new(pages))), cancel })
    }

    /// Keyless configs: exchange now at the SecureTokenService and say what came back.
    fn exchange(&self, py: Python<'_>) -> PyResult<PyExchangeReport> {
        let client = self.client()?;
        interruptible(py, &client, Client::exchange)?.map(|inner| PyExchangeReport { inner }).map_err(py_err)
    }

    // The asyncio API (`mondoo.aio.Client` awaits these): the same calls on the async core,
    // on the module's tokio runtime; each returns an asyncio future of the running loop.

    #[pyo3(signature = (token=None, *, name=None, annotations=None))]
    fn _register_async<'py>(
        &self,
        py: Python<'py>,
        token: Option<String>,
        name: Option<String>,
        annotations: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.async_client()?;
        let (token, options) = register_arguments(token, name, annotations);
        awaitable(py, async move {
            let registration = client.register(token.as_ref().map(SecretString::as_str), &options).await;
            registration.map(|inner| PyRegistration { inner })
        })
    }

    fn _status_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.async_client()?;
        awaitable(py, async move { client.status().await.map(|inner| PyStatus { inner }) })
    }

    #[pyo3(signature = (*, keep_service_account=false, force_offline=false))]
    fn _logout_async<'py>(
        &self,
        py: Python<'py>,
        keep_service_account: bool,
        force_offline: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.async_client()?;
        let options =
            LogoutOptions::new().with_keep_service_account(keep_service_account).with_force_offline(force_offline);
        awaitable(py, async move { client.logout(&options).await })
    }

    fn _checkin_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.async_client()?;
        awaitable(py, async move { client.checkin().await })
    }

    fn _health_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.async_client()?;
        awaitable(py, async move { client.health().await.map(|inner| PyHealth { inner }) })
    }

    #[pyo3(signature = (service, method, payload=None))]
    fn _call_async<'py>(
        &self,
        py: Python<'py>,
        service: String,
        method: String,
        payload: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.async_client()?;
        let payload = call_payload(payload)?;
        awaitable(py, async move { client.call(&service, &method, &payload).await.map(JsonAnswer) })
    }

    #[pyo3(signature = (query, variables=None, *, allow_partial=false))]
    fn _graphql_async<'py>(
        &self,
        py: Python<'py>,
        query: String,
        variables: Option<&Bound<'py, PyAny>>,
        allow_partial: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.async_client()?;
        let variables = graphql_variables(variables)?;
        awaitable(py, async move {
            client.graphql(&query, variables).await.map(|response| GraphQlAnswer { response, allow_partial })
        })
    }

    #[pyo3(signature = (query, variables=None, *, path, page_limit=100))]
    fn _paginate_async(
        &self,
        query: &str,
        variables: Option<&Bound<'_, PyAny>>,
        path: &str,
        page_limit: usize,
    ) -> PyResult<PyAsyncGraphQlPages> {
        let client = self.async_client()?;
        let variables = graphql_variables(variables)?;
        let stream = client.graphql_pages(query, variables, path, page_limit).map_err(py_err)?;
        Ok(PyAsyncGraphQlPages { stream: Arc::new(tokio::sync::Mutex::new(Box::pin(stream))) })
    }

    fn _exchange_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.async_client()?;
        awaitable(py, async move { client.exchange().await.map(|inner| PyExchangeReport { inner }) })
    }

    /// A bearer for these body bytes, signed as the configured service account.
    fn sign(&self, py: Python<'_>, body: &Bound<'_, PyAny>) -> PyResult<String> {
        let client = self.client()?;
        let body = body_bytes(body)?;
        py.detach(|| client.sign(&body)).map_err(py_err)
    }

    /// Drop the client and its connection pool; later calls raise ClientClosedError.
    fn close(&self, py: Python<'_>) {
        let taken = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Dropping the HTTP client joins its runtime thread: not while holding the GIL.
        py.detach(move || drop(taken));
    }

    /// The client itself; leaving the block closes it.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Close the client; an exception raised in the block propagates.
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        exc_value: &Bound<'_, PyAny>,
        traceback: &Bound<'_, PyAny>,
    ) {
        let _ = (exc_type, exc_value, traceback);
        self.close(py);
    }

    fn __repr__(&self) -> String {
        match self.client() {
            Ok(c) => {
                let config = c.config();
                format!(
                    "Client(api_endpoint={:?}, config_path={}, registered={})",
                    c.api_endpoint(),
                    py_repr_opt(opt_path(config.path()).as_deref()),
                    if config.is_registered() { "True" } else { "False" }
                )
            }
            Err(_) => "Client(closed)".into(),
        }
    }
}

/// A registration or API token, wiped from memory when dropped.
struct SecretString(String);
impl SecretString {
    fn as_str(&self) -> &str {
        &self.0
    }
}
impl Drop for SecretString {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

/// The arguments of `register` (sync and async) as the core takes them.
fn register_arguments(
    token: Option<String>,
    name: Option<String>,
    annotations: Option<BTreeMap<String, String>>,
) -> (Option<SecretString>, RegisterOptions) {
    let mut options = RegisterOptions::new().with_annotations(annotations.unwrap_or_default());
    options.name = name;
    (token.map(SecretString), options)
}

/// The JSON body of `call` (sync and async): `payload`, or `{}` for None.
fn call_payload(payload: Option<&Bound<'_, PyAny>>) -> PyResult<serde_json::Value> {
    match payload {
        Some(p) => json::from_py(p),
        None => Ok(serde_json::Value::Object(Default::default())),
    }
}

// ---------------------------------------------------------------------------------------
// The Platform API (GraphQL)

/// GraphQL variables from Python: a mapping (checked to be an object by the core) or None.
fn graphql_variables(variables: Option<&Bound<'_, PyAny>>) -> PyResult<Option<serde_json::Value>> {
    match variables {
        Some(v) if !v.is_none() => json::from_py(v).map(Some),
        _ => Ok(None),
    }
}

/// A GraphQL answer as Python gets it: `data`, or GraphQLError carrying the answer's
/// `errors` and partial `data` (converted with the GIL, where the exception is raised).
struct GraphQlAnswer {
    response: mondoo::GraphQlResponse,
    allow_partial: bool,
}

impl<'py> IntoPyObject<'py> for GraphQlAnswer {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let GraphQlAnswer { response, allow_partial } = self;
        // the error carries the answer: GraphQLError gets its errors and partial data
        let data = if allow_partial { response.into_partial_data() } else { response.into_data() };
        match data {
            Ok(data) => json::to_py(py, &data),
            Err(e) => Err(errors::to_py_err(py, &e)),
        }
    }
}

/// Where a blocking pager is: between pages, fetching one (on a worker thread), or done.
enum PagesState {
    Ready(Box<mondoo::GraphQlPages>),
    Fetching,
    Done,
}

/// The pages of a Relay connection (`Client.paginate`): each item is the connection
/// object of one page (`edges`/`nodes`, `pageInfo`, `totalCount`, as the query selects).
#[pyclass(module = "mondoo._native", name = "GraphQLPages", frozen)]
pub struct PyGraphQlPages {
    state: Mutex<PagesState>,
    /// the pager's client handle was made with it: an interrupted page cancels its request
    cancel: CancelToken,
}

impl PyGraphQlPages {
    fn set(&self, state: PagesState) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }
}

#[pymethods]
impl PyGraphQlPages {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let taken = std::mem::replace(&mut *self.state.lock().unwrap_or_else(|p| p.into_inner()), PagesState::Fetching);
        let mut pages = match taken {
            PagesState::Ready(pages) => pages,
            PagesState::Fetching => {
                return Err(PyRuntimeError::new_err("another thread is fetching a page of this iterator"))
            }
            PagesState::Done => {
                self.set(PagesState::Done);
                return Ok(None);
            }
        };
        let fetched = interruptible_with(py, &self.cancel, move || {
            let page = pages.next();
            (pages, page)
        });
        match fetched {
            Ok((pages, Some(Ok(page)))) => {
                self.set(PagesState::Ready(pages));
                json::to_py(py, &page).map(Some)
            }
            Ok((pages, end)) => {
                self.set(PagesState::Done);
                // the last handle of a closed client joins its runtime thread: not with the GIL
                py.detach(move || drop(pages));
                end.transpose().map(|_| None).map_err(py_err)
            }
            Err(interrupted) => {
                // the request was cancelled: the pager cannot go on from a page it never got
                self.set(PagesState::Done);
                Err(interrupted)
            }
        }
    }

    fn __repr__(&self) -> String {
        match &*self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            PagesState::Ready(pages) => format!("<GraphQLPages {pages:?}>"),
            PagesState::Fetching => "<GraphQLPages fetching>".into(),
            PagesState::Done => "<GraphQLPages done>".into(),
        }
    }
}

type PageStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = mondoo::Result<serde_json::Value>> + Send>>;

/// The asyncio pager (`mondoo.aio.Client.paginate` iterates it): the core's page stream.
#[pyclass(module = "mondoo._native", name = "AsyncGraphQLPages", frozen)]
pub struct PyAsyncGraphQlPages {
    stream: Arc<tokio::sync::Mutex<PageStream>>,
}

#[pymethods]
impl PyAsyncGraphQlPages {
    /// An awaitable of the next page (the connection object), None after the last one.
    fn next_page<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        use futures_util::StreamExt;
        let stream = Arc::clone(&self.stream);
        awaitable(py, async move {
            let mut stream = stream.lock().await;
            stream.next().await.transpose().map(|page| page.map(JsonAnswer))
        })
    }
}

// ---------------------------------------------------------------------------------------
// Keyless exchange

/// What `Client.exchange` got: the short-lived service account, never its key.
#[pyclass(module = "mondoo._native", name = "ExchangeReport", frozen)]
pub struct PyExchangeReport {
    inner: mondoo::ExchangeReport,
}

#[pymethods]
impl PyExchangeReport {
    /// "ssh" or "workload_identity".
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.method.as_str()
    }
    /// The short-lived service account's MRN.
    #[getter]
    fn service_account_mrn(&self) -> &str {
        &self.inner.service_account_mrn
    }
    /// Its space or organization, or None.
    #[getter]
    fn scope_mrn(&self) -> Option<String> {
        self.inner.scope_mrn.clone()
    }
    /// When its certificate ends (RFC 3339, UTC), or None for a credential without one.
    #[getter]
    fn expires_at(&self) -> Option<String> {
        self.inner.expires_at.clone()
    }
    /// Where the account's calls go: the `api_endpoint` the exchange answered, or None
    /// when it answered none (the config's is used).
    #[getter]
    fn api_endpoint(&self) -> Option<String> {
        self.inner.api_endpoint.clone()
    }
    /// method, service_account_mrn, scope_mrn, expires_at, api_endpoint.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = serde_json::to_value(&self.inner).map_err(|e| PyValueError::new_err(e.to_string()))?;
        json::to_py(py, &value)
    }
    fn __repr__(&self) -> String {
        format!(
            "ExchangeReport(method={:?}, service_account_mrn={:?}, scope_mrn={}, expires_at={}, api_endpoint={})",
            self.method(),
            self.inner.service_account_mrn,
            py_repr_opt(self.inner.scope_mrn.as_deref()),
            py_repr_opt(self.inner.expires_at.as_deref()),
            py_repr_opt(self.inner.api_endpoint.as_deref()),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Results

/// The outcome of Client.register.
#[pyclass(module = "mondoo._native", name = "Registration", frozen)]
pub struct PyRegistration {
    inner: Registration,
}

#[pymethods]
impl PyRegistration {
    /// The agent's MRN, now in the config.
    #[getter]
    fn agent_mrn(&self) -> &str {
        &self.inner.agent_mrn
    }
    /// The service account's MRN, now in the config.
    #[getter]
    fn service_account_mrn(&self) -> &str {
        &self.inner.service_account_mrn
    }
    /// The space the agent was registered into, or None when the platform named none.
    #[getter]
    fn space_mrn(&self) -> Option<String> {
        self.inner.space_mrn.clone()
    }
    /// The API endpoint the agent is registered at.
    #[getter]
    fn api_endpoint(&self) -> &str {
        &self.inner.api_endpoint
    }
    /// The config file the credentials were written to; None when there is no file.
    #[getter]
    fn config_path(&self) -> Option<String> {
        opt_path(self.inner.config_path.as_deref())
    }
    /// True when the config already had an agent (nothing was registered).
    #[getter]
    fn already_registered(&self) -> bool {
        self.inner.already_registered
    }
    /// agent_mrn, service_account_mrn, space_mrn, api_endpoint, config_path, already_registered.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = serde_json::to_value(&self.inner).map_err(|e| PyValueError::new_err(e.to_string()))?;
        json::to_py(py, &value)
    }
    fn __repr__(&self) -> String {
        format!(
            "Registration(agent_mrn={:?}, space_mrn={}, already_registered={})",
            self.inner.agent_mrn,
            py_repr_opt(self.inner.space_mrn.as_deref()),
            if self.inner.already_registered { "True" } else { "False" }
        )
    }
}

/// The platform's Health/Check as the client measured it.
#[pyclass(module = "mondoo._native", name = "Health", frozen)]
pub struct PyHealth {
    inner: Health,
}

#[pymethods]
impl PyHealth {
    /// The serving status, e.g. "SERVING"; "UNKNOWN" when the platform named none.
    #[getter]
    fn status(&self) -> String {
        shown(&self.inner.response.status).unwrap_or_else(|| "UNKNOWN".into())
    }
    /// The API's version, or None.
    #[getter]
    fn api_version(&self) -> Option<String> {
        shown(&self.inner.response.api_version)
    }
    /// The API's build, or None.
    #[getter]
    fn build(&self) -> Option<String> {
        shown(&self.inner.response.build)
    }
    /// The platform's time as it sent it (RFC 3339), or None.
    #[getter]
    fn time(&self) -> Option<String> {
        shown(&self.inner.response.time)
    }
    /// The call's round trip in milliseconds.
    #[getter]
    fn round_trip_ms(&self) -> f64 {
        self.inner.round_trip.as_secs_f64() * 1000.0
    }
    /// Platform time minus local time, seconds (as Status.clock_skew_seconds); None when
    /// the platform's time did not parse.
    #[getter]
    fn clock_skew_seconds(&self) -> Option<f64> {
        self.inner.clock_skew.map(|skew| skew.seconds())
    }
    /// status, api_version, build, time, round_trip_ms, clock_skew_seconds.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = serde_json::json!({
            "status": self.status(),
            "api_version": self.api_version(),
            "build": self.build(),
            "time": self.time(),
            "round_trip_ms": self.round_trip_ms(),
            "clock_skew_seconds": self.clock_skew_seconds(),
        });
        json::to_py(py, &value)
    }
    fn __repr__(&self) -> String {
        format!("<Health status={:?} round_trip_ms={:.1}>", self.status(), self.round_trip_ms())
    }
}

/// A text the platform sent, safe to show (control characters escaped, length capped).
fn shown(text: &Option<String>) -> Option<String> {
    text.as_deref().map(mondoo::server_text)
}

/// `cnspec status` as data; str() gives the seeds' text, to_dict() Go's JSON shape.
#[pyclass(module = "mondoo._native", name = "Status", frozen)]
pub struct PyStatus {
    inner: StatusReport,
}

#[pymethods]
impl PyStatus {
    /// The config holds a service account.
    #[getter]
    fn registered(&self) -> bool {
        self.inner.client.registered
    }
    /// The signed PingPong succeeded.
    #[getter]
    fn authenticated(&self) -> bool {
        self.inner.client.authenticated
    }
    /// 0 registered and authenticated, 1 otherwise (as cnspec exits).
    #[getter]
    fn exit_code(&self) -> i32 {
        self.inner.exit_code()
    }
    /// Where the config came from, as Config.source says it.
    #[getter]
    fn config_source(&self) -> &str {
        &self.inner.config_source
    }
    /// The config file read (or that a registration would write), or None.
    #[getter]
    fn config_path(&self) -> Option<String> {
        self.inner.config_path.clone()
    }
    /// The API endpoint the report is about.
    #[getter]
    fn api_endpoint(&self) -> &str {
        &self.inner.upstream.api.endpoint
    }
    /// Health/Check's status (e.g. "SERVING"), None when the API was not reached.
    #[getter]
    fn api_status(&self) -> Option<String> {
        self.inner.upstream.api.error.is_none().then(|| self.inner.upstream.api.status.clone())
    }
    /// The API's version, None when the API was not reached.
    #[getter]
    fn api_version(&self) -> Option<String> {
        self.inner.upstream.api.error.is_none().then(|| self.inner.upstream.api.version.clone())
    }
    /// The agent MRN ("no managed client" for a service account without agent).
    #[getter]
    fn agent_mrn(&self) -> Option<String> {
        self.inner.client.agent_mrn.clone()
    }
    /// The service account's MRN, None when not registered.
    #[getter]
    fn service_account_mrn(&self) -> Option<String> {
        self.inner.client.service_account_mrn.clone()
    }
    /// The config's scope (scope_mrn, space_mrn or parent_mrn), or None.
    #[getter]
    fn space_mrn(&self) -> Option<String> {
        self.inner.client.space_mrn.clone()
    }
    /// This machine's host name.
    #[getter]
    fn hostname(&self) -> &str {
        &self.inner.client.hostname
    }
    /// libmondoo's version.
    #[getter]
    fn version(&self) -> &str {
        &self.inner.client.version
    }
    /// "! ..." lines of the text: clock skew, long round trips.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.upstream.warnings.clone()
    }
    /// Platform (API) time minus local time, seconds: positive when the platform's clock
    /// is ahead of the local one. Errors' `clock_skew_seconds` has the same sign.
    #[getter]
    fn clock_skew_seconds(&self) -> Option<f64> {
        self.inner.clock_skew_seconds
    }
    /// Health/Check's round trip in milliseconds, None when the API was not reached.
    #[getter]
    fn round_trip_ms(&self) -> Option<f64> {
        self.inner.round_trip_ms
    }
    /// The proxy requests go through (credentials redacted), or None.
    #[getter]
    fn proxy_url(&self) -> Option<String> {
        self.inner.proxy.url.clone()
    }
    /// Why Health/Check failed: code, rpc_code, http_status, message, error; or None.
    #[getter]
    fn api_error<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.error_dict(py, self.inner.upstream.api.error.as_ref())
    }
    /// Why the signed PingPong failed (same keys as api_error); or None.
    #[getter]
    fn ping_pong_error<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.error_dict(py, self.inner.client.ping_pong_error.as_ref())
    }
    /// The report in Go's JSON shape (client, upstream) plus config, proxy and measurements.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.inner.to_json())
    }
    fn __str__(&self) -> String {
        self.inner.to_text()
    }
    fn __repr__(&self) -> String {
        format!(
            "<Status registered={} authenticated={} api_endpoint={:?}>",
            if self.registered() { "True" } else { "False" },
            if self.authenticated() { "True" } else { "False" },
            self.api_endpoint()
        )
    }
}

impl PyStatus {
    fn error_dict<'py>(&self, py: Python<'py>, e: Option<&mondoo::ErrorReport>) -> PyResult<Bound<'py, PyAny>> {
        match e {
            Some(e) => {
                let value = serde_json::to_value(e).map_err(|e| PyValueError::new_err(e.to_string()))?;
                json::to_py(py, &value)
            }
            None => Ok(py.None().into_bound(py)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers for tests and the benchmark

/// Every result code as (value, C name), in value order.
#[pyfunction]
fn all_codes() -> Vec<(u32, &'static str)> {
    Code::ALL.iter().map(|c| (c.value(), c.name())).collect()
}

/// The exception the library raises for an error with this code (not raised).
#[pyfunction]
#[pyo3(signature = (code, message="test error"))]
fn _error_for_code(py: Python<'_>, code: u32, message: &str) -> PyResult<Py<pyo3::exceptions::PyBaseException>> {
    let code = Code::from_value(code).ok_or_else(|| PyValueError::new_err(format!("{code} is not a result code")))?;
    Ok(errors::to_py_err(py, &mondoo::Error::new(code, message)).into_value(py))
}

/// Seconds the Rust signer takes for `n` bearers of `body`, with no Python in between.
#[pyfunction]
fn _bench_sign_rust(py: Python<'_>, signer: &PySigner, n: u64, body: &Bound<'_, PyAny>) -> PyResult<f64> {
    let body = body_bytes(body)?;
    let signer = &signer.inner;
    py.detach(|| {
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(signer.sign(std::hint::black_box(&body))?);
        }
        Ok(started.elapsed().as_secs_f64())
    })
    .map_err(py_err)
}

/// libmondoo's native module; use the `mondoo` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The asyncio API's runtime, started on its first call (a process that never awaits
    // has no thread of it, and can fork): one worker is plenty for network waits.
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.worker_threads(1).thread_name("mondoo-aio").enable_all();
    pyo3_async_runtimes::tokio::init(runtime);
    m.add("VERSION", mondoo::VERSION)?;
    m.add_class::<PyConfig>()?;
    m.add_class::<PyToken>()?;
    m.add_class::<PySigner>()?;
    m.add_class::<PyClient>()?;
    m.add_class::<PyRegistration>()?;
    m.add_class::<PyStatus>()?;
    m.add_class::<PyHealth>()?;
    m.add_class::<PyGraphQlPages>()?;
    m.add_class::<PyAsyncGraphQlPages>()?;
    m.add_class::<PyExchangeReport>()?;
    m.add_function(wrap_pyfunction!(inspect_token, m)?)?;
    m.add_function(wrap_pyfunction!(all_codes, m)?)?;
    m.add_function(wrap_pyfunction!(_error_for_code, m)?)?;
    m.add_function(wrap_pyfunction!(_bench_sign_rust, m)?)?;
    Ok(())
}
