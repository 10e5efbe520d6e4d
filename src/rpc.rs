//! ranger-rpc over HTTP (protocol section 3): one pooled HTTP client, the exact headers,
//! JSON bodies signed byte-for-byte, gzip answers, same-origin 307/308 redirects, the
//! platform's error mapping, and where the proxy comes from (section 1.3).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::time::Instant as TokioInstant;

use base64::Engine;
use reqwest::header::{HeaderValue, CONTENT_ENCODING, LOCATION};
use serde::{Deserialize, Serialize};

use crate::error::{server_text, server_text_of_prefix, Code, Error, Result, SERVER_TEXT_LIMIT};
use crate::signer::Signer;
use crate::sysinfo::SystemInfo;

/// Bodies larger than this, once decoded, are refused (a misbehaving proxy or a gzip
/// bomb must not exhaust memory).
pub const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;
/// How many 307/308 redirects one call follows.
pub const MAX_REDIRECTS: usize = 5;
/// How much of a redirect's body is read (and dropped) so its connection can be reused.
const REDIRECT_BODY_LIMIT: u64 = 64 * 1024;

/// Where the API proxy came from, in precedence order (section 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxySource {
    /// `MONDOO_API_PROXY`
    MondooApiProxyEnv,
    /// the caller's explicit proxy (`--api-proxy`)
    Explicit,
    /// `api_proxy` in the config
    Config,
    /// `HTTPS_PROXY`/`HTTP_PROXY` (honouring `NO_PROXY`)
    Environment,
    /// direct connection
    None,
}

impl ProxySource {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxySource::MondooApiProxyEnv => "$MONDOO_API_PROXY",
            ProxySource::Explicit => "--api-proxy",
            ProxySource::Config => "config api_proxy",
            ProxySource::Environment => "$HTTPS_PROXY",
            ProxySource::None => "none",
        }
    }
}

/// The inputs of proxy selection, resolved per target URL.
#[derive(Debug, Clone, Default)]
pub struct ProxySettings {
    pub mondoo_api_proxy_env: Option<String>,
    pub explicit: Option<String>,
    pub config: Option<String>,
    /// environment variables consulted for the standard proxy (`HTTPS_PROXY`, ...)
    pub env: BTreeMap<String, String>,
}

impl ProxySettings {
    /// Capture from an environment map (the process's or a test's).
    pub fn from_env(env: &BTreeMap<String, String>, explicit: Option<String>, config: Option<String>) -> Self {
        const STANDARD: [&str; 6] = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];
        ProxySettings {
            mondoo_api_proxy_env: non_empty(env.get("MONDOO_API_PROXY").cloned()),
            explicit: non_empty(explicit),
            config: non_empty(config),
            env: STANDARD.iter().filter_map(|k| env.get(*k).map(|v| (k.to_string(), v.clone()))).collect(),
        }
    }

    /// The proxy for `target` and where it came from.
    pub fn resolve(&self, target: &reqwest::Url) -> Result<(Option<reqwest::Url>, ProxySource)> {
        let chosen = [
            (&self.mondoo_api_proxy_env, ProxySource::MondooApiProxyEnv),
            (&self.explicit, ProxySource::Explicit),
            (&self.config, ProxySource::Config),
        ]
        .into_iter()
        .find_map(|(v, src)| v.as_ref().map(|v| (v.clone(), src)));
        if let Some((raw, source)) = chosen {
            return Ok((Some(parse_proxy_url(&raw, source)?), source));
        }
        let pick = |upper: &str, lower: &str| {
            non_empty(self.env.get(upper).cloned()).or_else(|| non_empty(self.env.get(lower).cloned()))
        };
        let standard = if target.scheme() == "https" {
            pick("HTTPS_PROXY", "https_proxy")
        } else {
            pick("HTTP_PROXY", "http_proxy")
        };
        match standard {
            // Like Go's httpproxy: the standard variables never apply to loopback targets.
            Some(raw) if !is_loopback(target) && !self.no_proxy_matches(target) => {
                Ok((Some(parse_proxy_url(&raw, ProxySource::Environment)?), ProxySource::Environment))
            }
            _ => Ok((None, ProxySource::None)),
        }
    }

    fn no_proxy_matches(&self, target: &reqwest::Url) -> bool {
        let list = self.env.get("NO_PROXY").or_else(|| self.env.get("no_proxy"));
        let (Some(list), Some(host)) = (list, bare_host(target)) else { return false };
        list.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
            if entry == "*" {
                return true;
            }
            // entries may carry a port (`host:8080`); Go ignores it for matching the name
            let name = entry.rsplit_once(':').filter(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok());
            let name = name.map(|(h, _)| h).unwrap_or(entry).trim_start_matches('*').to_ascii_lowercase();
            let bare = name.trim_start_matches('.');
            host == bare || host.ends_with(&format!(".{bare}"))
        })
    }
}

/// The target's host, lower case, an IPv6 address without its brackets.
fn bare_host(target: &reqwest::Url) -> Option<String> {
    target.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
}

/// Whether requests to `endpoint` cross the network unencrypted: `http://` to a host that
/// is not loopback (loopback traffic does not leave the machine). An endpoint that does
/// not parse is not judged here: using it fails anyway.
pub fn sends_in_clear_text_to(endpoint: &str) -> bool {
    reqwest::Url::parse(endpoint).is_ok_and(|u| sends_in_clear_text(&u))
}

fn sends_in_clear_text(target: &reqwest::Url) -> bool {
    target.scheme() == "http" && !is_loopback(target)
}

/// `localhost` (and its subdomains) or a loopback IP address.
fn is_loopback(target: &reqwest::Url) -> bool {
    let Some(host) = bare_host(target) else { return false };
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = host.trim_end_matches('.');
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

fn parse_proxy_url(raw: &str, source: ProxySource) -> Result<reqwest::Url> {
    let with_scheme = if raw.contains("://") { raw.to_string() } else { format!("http://{raw}") };
    // the URL is echoed with its password replaced, also when it does not parse
    let shown = crate::config::redact::url_userinfo(raw);
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| Error::new(Code::Proxy, format!("invalid proxy URL {shown:?} from {}: {e}", source.as_str())))?;
    if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(Error::new(Code::Proxy, format!("invalid proxy URL {shown:?} from {}", source.as_str())));
    }
    Ok(url)
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// How an HTTP client is built.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub ca_file: Option<PathBuf>,
    pub proxy: ProxySettings,
    /// the client's feature-flag bytes (`Mondoo-Features`)
    pub feature_flags: Vec<u8>,
    /// the machine as the client reports it; None = gathered on the first request
    pub system_info: Option<SystemInfo>,
    /// refuse a clear-text `http://` URL that is not loopback before sending anything
    pub require_tls: bool,
}

/// How a call authenticates.
pub enum Auth<'a> {
    None,
    /// a ready bearer (a registration token)
    Bearer(&'a str),
    /// a fresh bearer signed over the exact body
    Signed(&'a Signer),
}

/// What every request says about the client (section 3's headers).
struct ClientIdentity {
    /// gathered on first use: it resolves the host name, which a client that only signs
    /// never needs
    system: OnceLock<SystemInfo>,
    headers: OnceLock<IdentityHeaders>,
    /// `Mondoo-Features`: standard base64 of the feature-flag bytes, empty for none
    features: HeaderValue,
}

struct IdentityHeaders {
    user_agent: HeaderValue,
    platform_id: HeaderValue,
}

impl ClientIdentity {
    fn new(feature_flags: &[u8], system: Option<SystemInfo>) -> ClientIdentity {
        let features = base64::engine::general_purpose::STANDARD.encode(feature_flags);
        ClientIdentity {
            system: system.map(OnceLock::from).unwrap_or_default(),
            headers: OnceLock::new(),
            // base64 is always a valid header value
            features: HeaderValue::from_str(&features).unwrap_or(HeaderValue::from_static("")),
        }
    }

    fn system(&self) -> &SystemInfo {
        self.system.get_or_init(SystemInfo::gather)
    }

    fn headers(&self) -> &IdentityHeaders {
        self.headers.get_or_init(|| {
            let system = self.system();
            IdentityHeaders {
                user_agent: header_value(&system.user_agent()),
                platform_id: header_value(&system.platform_id()),
            }
        })
    }
}

/// `Authorization: Bearer <token>` for a token given as is (a registration token, a
/// static token): marked sensitive, so the HTTP stack never shows it, and built in a
/// buffer wiped afterwards.
fn bearer_header(token: &str) -> Result<HeaderValue> {
    let text = zeroize::Zeroizing::new(format!("Bearer {token}"));
    let mut value = HeaderValue::from_str(&text).map_err(|_| {
        Error::new(Code::InvalidArgument, "the bearer token holds a character an HTTP header cannot carry")
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `text` as a header value, control characters (which no header may carry) dropped.
fn header_value(text: &str) -> HeaderValue {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    HeaderValue::from_str(&clean).unwrap_or(HeaderValue::from_static(""))
}

/// One pooled HTTP client speaking ranger-rpc. Cheap to share across threads; async, on
/// whichever tokio runtime polls its calls.
#[derive(Clone)]
pub struct RpcClient {
    http: reqwest::Client,
    proxy: Arc<ProxySettings>,
    /// the proxy-free client for metadata servers, shared by every handle of this pool
    direct: Arc<DirectClient>,
    request_id: String,
    identity: Arc<ClientIdentity>,
    /// every request ends by then (the caller's deadline, or the current operation's), if set
    deadline: Option<Instant>,
    /// how long one whole operation may take (see [`RpcClient::for_operation`])
    timeout: Duration,
    /// see [`HttpOptions::require_tls`]
    require_tls: bool,
    /// `User-Agent` for this handle's POSTs instead of the ranger-rpc one (the Platform
    /// API's client names itself differently, protocol section 7)
    user_agent: Option<HeaderValue>,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient").field("request_id", &self.request_id).finish()
    }
}

impl RpcClient {
    pub fn new(options: &HttpOptions) -> Result<RpcClient> {
        // Check every configured proxy URL now, so a typo fails at construction with its source.
        for (value, source) in [
            (&options.proxy.mondoo_api_proxy_env, ProxySource::MondooApiProxyEnv),
            (&options.proxy.explicit, ProxySource::Explicit),
            (&options.proxy.config, ProxySource::Config),
        ] {
            if let Some(v) = value {
                parse_proxy_url(v, source)?;
            }
        }
        let proxy = Arc::new(options.proxy.clone());
        let chooser = Arc::clone(&proxy);
        let certs = match &options.ca_file {
            Some(ca) => read_ca_file(ca)?,
            None => Vec::new(),
        };
        let http = http_client(
            options.connect_timeout,
            &certs,
            // One chooser for every request: the same resolution status reports.
            Some(reqwest::Proxy::custom(move |url| chooser.resolve(url).ok().and_then(|(p, _)| p))),
        )?;
        let direct = Arc::new(DirectClient { connect_timeout: options.connect_timeout, certs, http: OnceLock::new() });
        Ok(RpcClient {
            http,
            proxy,
            direct,
            request_id: new_request_id(),
            identity: Arc::new(ClientIdentity::new(&options.feature_flags, options.system_info.clone())),
            deadline: None,
            timeout: options.timeout,
            require_tls: options.require_tls,
            user_agent: None,
        })
    }

    /// The same pool, its POSTs sending `User-Agent: user_agent`.
    pub fn with_user_agent(&self, user_agent: &'static str) -> RpcClient {
        RpcClient { user_agent: Some(HeaderValue::from_static(user_agent)), ..self.clone() }
    }

    /// The same pool, with every request ending by `deadline`.
    pub fn with_deadline(&self, deadline: Instant) -> RpcClient {
        RpcClient { deadline: Some(deadline), ..self.clone() }
    }

    /// This handle for one operation: every request of it (redirects, retries included)
    /// ends by the earlier of the caller's deadline and `timeout` from now.
    pub fn for_operation(&self) -> RpcClient {
        let operation_end = Instant::now() + self.timeout;
        let deadline = self.deadline.map_or(operation_end, |d| d.min(operation_end));
        RpcClient { deadline: Some(deadline), ..self.clone() }
    }

    /// When every request of this handle must end, if it is bounded.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether waiting `wait` still leaves time before the deadline.
    pub fn time_left_allows(&self, wait: Duration) -> bool {
        self.deadline.is_none_or(|d| Instant::now() + wait < d)
    }

    /// Where the proxy for `endpoint` comes from (for status).
    pub fn proxy_for(&self, endpoint: &str) -> Result<(Option<String>, ProxySource)> {
        let url = parse_endpoint(endpoint)?;
        let (p, src) = self.proxy.resolve(&url)?;
        Ok((p.map(|u| u.to_string()), src))
    }

    /// The machine as this client reports it (AgentInfo and the `User-Agent`).
    pub fn system(&self) -> &SystemInfo {
        self.identity.system()
    }

    /// `POST {endpoint}/{service}/{method}` with these exact body bytes; the answer's
    /// body on 200 (gzip decoded), else the platform's error. A 307/308 to the same
    /// origin is followed with the same body and a bearer signed afresh, at most
    /// [`MAX_REDIRECTS`] times; any other redirect is an error.
    ///
    /// The whole exchange (connect, headers, body, redirects) ends by the deadline, with
    /// `Code::Timeout`; dropping the future closes the connection.
    pub async fn call_raw(
        &self,
        endpoint: &str,
        service: &str,
        method: &str,
        body: &[u8],
        auth: Auth<'_>,
    ) -> Result<Vec<u8>> {
        let url = join_url(endpoint, service, method)?;
        self.post_raw(url, &format!("{service}/{method}"), body, auth).await
    }

    /// [`RpcClient::call_raw`] to a whole URL (the Platform API's `/query`): the same
    /// headers, TLS, proxy, redirect, size and deadline rules; `what` names the call in
    /// errors.
    pub async fn post_raw(&self, url: reqwest::Url, what: &str, body: &[u8], auth: Auth<'_>) -> Result<Vec<u8>> {
        if self.require_tls && sends_in_clear_text(&url) {
            // redirects stay on this origin, so checking the first URL covers them
            return Err(Error::new(
                Code::InsecureEndpoint,
                format!(
                    "POST {}: refused before sending: require_tls is set and this http:// endpoint is not \
                     loopback, so credentials would cross the network in clear text; use https://",
                    redact_userinfo(url.as_str())
                ),
            ));
        }
        let Some(deadline) = self.deadline else {
            return self.exchange(url, what, body, &auth).await;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let shown = redact_userinfo(url.as_str());
        if left.is_zero() {
            return Err(Error::new(Code::Timeout, format!("POST {shown}: the operation's deadline has passed")));
        }
        tokio::time::timeout_at(TokioInstant::from_std(deadline), self.exchange(url, what, body, &auth))
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    Code::Timeout,
                    format!("POST {shown}: no complete answer within the operation's time ({left:.1?} were left)"),
                ))
            })
    }

    /// [`RpcClient::call_raw`] without the deadline: the request and its redirects.
    async fn exchange(&self, mut url: reqwest::Url, what: &str, body: &[u8], auth: &Auth<'_>) -> Result<Vec<u8>> {
        let mut redirects = 0;
        loop {
            let response = self.send(&url, body, auth).await?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                let bytes = read_answer(response, &url, what).await?;
                if status != 200 {
                    return Err(status_error(status, &bytes));
                }
                return Ok(bytes);
            }
            let next = redirect_target(&response, &url)?;
            drain(response).await;
            let refuse = |why: String| {
                Err(Error::new(Code::ResponseInvalid, format!("POST {url}: HTTP {status} redirect to {next}: {why}"))
                    .with_http_status(status))
            };
            if (301..=303).contains(&status) {
                // HTTP clients turn a POST into a GET on these: never a silent change of method.
                return refuse("only 307 and 308 redirects keep the POST and its body".into());
            }
            if next.origin() != url.origin() {
                return refuse("another origin: not followed, no credential leaves the configured origin".into());
            }
            if redirects == MAX_REDIRECTS {
                return refuse(format!("more than {MAX_REDIRECTS} redirects"));
            }
            redirects += 1;
            url = next;
        }
    }

    /// One POST of `body` to `url`, with every header of section 3 and a fresh bearer.
    async fn send(&self, url: &reqwest::Url, body: &[u8], auth: &Auth<'_>) -> Result<reqwest::Response> {
        let request = self.http.post(url.clone());
        let identity = self.identity.headers();
        let mut request = request
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("Accept-Encoding", "gzip")
            .header("User-Agent", self.user_agent.as_ref().unwrap_or(&identity.user_agent).clone())
            .header("X-Request-ID", &self.request_id)
            .header("Mondoo-Features", self.identity.features.clone())
            .header("Mondoo-PlatformID", identity.platform_id.clone())
            .body(body.to_vec());
        match auth {
            Auth::None => {}
            Auth::Bearer(token) => request = request.header("Authorization", bearer_header(token)?),
            Auth::Signed(signer) => request = request.header("Authorization", format!("Bearer {}", signer.sign(body)?)),
        }
        request.send().await.map_err(|e| transport_error(e, url, &self.proxy))
    }

    /// `GET url` with these headers (values marked sensitive: they may be bearer tokens),
    /// for a token endpoint outside ranger-rpc: the answer's body on 200 (size-limited),
    /// else an error with the HTTP status. Ends by the earlier of the deadline and
    /// `timeout`; proxy and TLS as every other request. No redirects.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Vec<u8>> {
        self.fetch_with(&self.http, Some(&self.proxy), url, headers, None, timeout).await
    }

    /// [`RpcClient::get`] without any proxy, for the instance's own metadata server: it
    /// is link-local, so through a proxy the request fails or, worse, reaches the
    /// proxy host's metadata server and returns another machine's identity.
    pub async fn get_direct(&self, url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Vec<u8>> {
        let direct = self.direct.client()?;
        self.fetch_with(direct, None, url, headers, None, timeout).await
    }

    /// [`RpcClient::get_direct`] as a `POST` of `form` (`application/x-www-form-urlencoded`),
    /// for a metadata token endpoint that takes its parameters that way (Azure's MSI endpoint).
    pub async fn post_form_direct(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        let direct = self.direct.client()?;
        self.fetch_with(direct, None, url, headers, Some(form), timeout).await
    }

    /// The body of [`RpcClient::get`] on `http` (a `POST` of `form` when given); `proxy`
    /// is what that client resolves proxies with (None: it connects directly), for error
    /// messages.
    async fn fetch_with(
        &self,
        http: &reqwest::Client,
        proxy: Option<&ProxySettings>,
        url: &str,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        let method = if form.is_some() { "POST" } else { "GET" };
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            Error::new(Code::InvalidArgument, format!("{method} {}: not a URL: {e}", redact_query(url)))
        })?;
        let what = format!("{method} {}", redact_query(url));
        let end = Instant::now() + timeout;
        let deadline = self.deadline.map_or(end, |d| d.min(end));
        let mut request = match form {
            None => http.get(parsed.clone()),
            Some(fields) => {
                let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
                http.post(parsed.clone()).header("Content-Type", "application/x-www-form-urlencoded").body(body)
            }
        };
        request = request.header("User-Agent", self.identity.headers().user_agent.clone());
        for (name, value) in headers {
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| Error::new(Code::InvalidArgument, format!("{what}: header {name} cannot be sent")))?;
            value.set_sensitive(true);
            request = request.header(*name, value);
        }
        let fetch = async {
            let response = request.send().await.map_err(|e| transport_error_of(e, &what, &parsed, proxy))?;
            let status = response.status().as_u16();
            let bytes = read_answer(response, &parsed, &what).await?;
            if status != 200 {
                return Err(
                    Error::new(Code::ResponseInvalid, format!("{what}: HTTP {status}")).with_http_status(status)
                );
            }
            Ok(bytes)
        };
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::timeout_at(TokioInstant::from_std(deadline), fetch)
            .await
            .unwrap_or_else(|_| Err(Error::new(Code::Timeout, format!("{what}: no complete answer within {left:.1?}"))))
    }

    /// A JSON call: serialize `request`, parse the answer (missing fields default).
    pub async fn call<Req: Serialize, Resp: for<'de> Deserialize<'de>>(
        &self,
        endpoint: &str,
        service: &str,
        method: &str,
        request: &Req,
        auth: Auth<'_>,
    ) -> Result<Resp> {
        let body = serde_json::to_vec(request)
            .map_err(|e| Error::new(Code::InvalidArgument, format!("cannot encode {service}/{method} request: {e}")))?;
        let answer = self.call_raw(endpoint, service, method, &body, auth).await?;
        decode_response(service, method, &answer)
    }
}

/// The reqwest client every [`RpcClient`] request goes through: HTTP/1.1, no automatic
/// redirects or gzip (both handled by the caller, so the size limit applies to the
/// decoded body), the CA file's certificates added, and `proxy` or a direct connection.
fn http_client(
    connect_timeout: Duration,
    certs: &[reqwest::Certificate],
    proxy: Option<reqwest::Proxy>,
) -> Result<reqwest::Client> {
    // No per-request timeout here: the whole operation is bounded instead (`for_operation`).
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .no_gzip()
        // never the standard variables as reqwest reads them: only `proxy`, if given
        .no_proxy();
    if let Some(proxy) = proxy {
        builder = builder.proxy(proxy);
    }
    if !certs.is_empty() {
        builder = builder.tls_certs_merge(certs.iter().cloned());
    }
    builder
        .build()
        .map_err(|e| Error::new(Code::Tls, format!("cannot build the HTTP client: {}", error_chain(&e))).with_source(e))
}

/// The certificates of a PEM CA bundle; an unreadable file or one without a certificate
/// is an error naming it.
fn read_ca_file(ca: &std::path::Path) -> Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(ca)
        .map_err(|e| Error::new(Code::Tls, format!("cannot read CA file {}: {e}", ca.display())).with_path(ca))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        Error::new(Code::Tls, format!("CA file {} holds no usable PEM certificate: {e}", ca.display())).with_path(ca)
    })?;
    if certs.is_empty() {
        return Err(Error::new(Code::Tls, format!("CA file {} holds no PEM certificate", ca.display())).with_path(ca));
    }
    Ok(certs)
}

/// The proxy-free client of [`RpcClient::get_direct`], built on its first use (most
/// clients never read a metadata server) with the pool's connect timeout and CAs.
struct DirectClient {
    connect_timeout: Duration,
    certs: Vec<reqwest::Certificate>,
    http: OnceLock<reqwest::Client>,
}

impl DirectClient {
    fn client(&self) -> Result<&reqwest::Client> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        // Two first uses at once may both build; one is kept, the other dropped.
        let built = http_client(self.connect_timeout, &self.certs, None)?;
        Ok(self.http.get_or_init(|| built))
    }
}

/// The answer's body, gzip decoded, refused above [`MAX_RESPONSE_BYTES`] once decoded.
/// Read chunk by chunk, so neither a huge body nor a gzip bomb is ever held whole.
async fn read_answer(mut response: reqwest::Response, url: &reqwest::Url, what: &str) -> Result<Vec<u8>> {
    let status = response.status().as_u16();
    let encoding = response
        .headers()
        .get(CONTENT_ENCODING)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "identity");
    let too_large = |gzipped: bool| {
        let decoded = if gzipped { " once gzip-decoded" } else { "" };
        Error::new(
            Code::ResponseTooLarge,
            format!("{what}: answer larger than {MAX_RESPONSE_BYTES} bytes{decoded} refused"),
        )
        .with_http_status(status)
    };
    // A gzip stream that does not decode is a bad answer; a body that stops early is the
    // transport's failure.
    let gzip_error = |e: std::io::Error| {
        if matches!(e.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput) {
            Error::new(Code::ResponseInvalid, format!("{what}: the gzip answer does not decode: {e}"))
                .with_http_status(status)
        } else {
            reading_failed(e, url)
        }
    };
    let gzipped = match encoding.as_deref() {
        None => false,
        Some("gzip" | "x-gzip") => true,
        Some(other) => {
            return Err(Error::new(
                Code::ResponseInvalid,
                format!("{what}: answer has Content-Encoding {other:?}; libmondoo asked for gzip only"),
            )
            .with_http_status(status))
        }
    };
    // Several gzip members in a row are one body, as Go's gzip reader reads them.
    let mut gunzip = flate2::write::MultiGzDecoder::new(BoundedBuffer::default());
    let mut plain = BoundedBuffer::default();
    while let Some(chunk) = response.chunk().await.map_err(|e| reading_failed(e.without_url(), url))? {
        let written = if gzipped { gunzip.write_all(&chunk) } else { plain.write_all(&chunk) };
        match written {
            Ok(()) => {}
            Err(_) if gunzip.get_ref().overflowed || plain.overflowed => return Err(too_large(gzipped)),
            Err(e) => return Err(gzip_error(e)),
        }
    }
    if !gzipped {
        return Ok(plain.bytes);
    }
    match gunzip.try_finish() {
        Ok(()) => Ok(std::mem::take(&mut gunzip.get_mut().bytes)),
        Err(_) if gunzip.get_ref().overflowed => Err(too_large(true)),
        Err(e) => Err(gzip_error(e)),
    }
}

/// A body buffer that refuses to grow past [`MAX_RESPONSE_BYTES`] (the write fails and
/// `overflowed` says why).
#[derive(Default)]
struct BoundedBuffer {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl Write for BoundedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if (self.bytes.len() + data.len()) as u64 > MAX_RESPONSE_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("answer too large"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a redirect points: its `Location`, resolved against the URL it answered.
fn redirect_target(response: &reqwest::Response, url: &reqwest::Url) -> Result<reqwest::Url> {
    let status = response.status().as_u16();
    let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").trim();
    if location.is_empty() {
        return Err(Error::new(
            Code::ResponseInvalid,
            format!("POST {url}: HTTP {status} redirect without a Location"),
        )
        .with_http_status(status));
    }
    url.join(location).map_err(|e| {
        Error::new(Code::ResponseInvalid, format!("POST {url}: HTTP {status} redirect to {location:?}, not a URL: {e}"))
            .with_http_status(status)
    })
}

/// Read a little of a redirect's body so the connection goes back to the pool.
async fn drain(mut response: reqwest::Response) {
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len() as u64;
        if read >= REDIRECT_BODY_LIMIT {
            break;
        }
    }
}

/// Parse a 200 answer; an empty body is the empty message.
pub fn decode_response<Resp: for<'de> Deserialize<'de>>(service: &str, method: &str, body: &[u8]) -> Result<Resp> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| {
        Error::new(Code::ResponseInvalid, format!("{service}/{method}: answer is not the expected JSON: {e}"))
            .with_http_status(200)
    })
}

/// The platform's error for a non-200 answer: the status body's code when there is one,
/// else the HTTP status mapped (section 3). Never success. The server's text is kept only
/// as `server_text` makes it: escaped and cut to 2 KiB.
pub fn status_error(http_status: u16, body: &[u8]) -> Error {
    #[derive(Deserialize)]
    struct StatusBody {
        code: i64,
        #[serde(default)]
        message: String,
    }
    if let Ok(status) = serde_json::from_slice::<StatusBody>(body) {
        if (1..=16).contains(&status.code) {
            return Error::rpc(status.code as i32, Some(http_status), server_text(&status.message));
        }
    }
    let rpc_code = match http_status {
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        408 => 1,
        500 => 13,
        501 => 12,
        503 => 14,
        _ => 2,
    };
    // cut before decoding so a huge body is not copied whole
    let text = String::from_utf8_lossy(cut_utf8(body, SERVER_TEXT_LIMIT));
    let reason = reqwest::StatusCode::from_u16(http_status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let message = if text.trim().is_empty() {
        format!("HTTP {http_status} {reason} with an empty body")
    } else {
        let shown = text.trim();
        let whole_len = if body.len() > SERVER_TEXT_LIMIT { body.len() } else { shown.len() };
        format!("HTTP {http_status} {reason}: {}", server_text_of_prefix(shown, whole_len))
    };
    Error::rpc(rpc_code, Some(http_status), message)
}

/// The longest prefix of `bytes` of at most `limit` bytes that does not split a UTF-8
/// character.
fn cut_utf8(bytes: &[u8], limit: usize) -> &[u8] {
    if bytes.len() <= limit {
        return bytes;
    }
    let mut end = limit;
    // step back over continuation bytes (10xxxxxx) to a character start
    while end > 0 && (bytes[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

pub(crate) fn parse_endpoint(endpoint: &str) -> Result<reqwest::Url> {
    reqwest::Url::parse(endpoint)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            let shown = crate::config::redact::url_userinfo(endpoint);
            Error::new(Code::ConfigInvalid, format!("api_endpoint {shown:?} is not an http(s) URL"))
        })
}

/// `{endpoint}/{service}/{method}`, keeping any path prefix of the endpoint and joining
/// with exactly one `/` (Go drops the prefix; see README).
pub fn join_url(endpoint: &str, service: &str, method: &str) -> Result<reqwest::Url> {
    parse_endpoint(endpoint)?;
    for (what, part) in [("service", service), ("method", method)] {
        if part.is_empty() || part.contains(['/', '?', '#']) || part.chars().any(char::is_whitespace) {
            return Err(Error::new(Code::InvalidArgument, format!("invalid rpc {what} name {part:?}")));
        }
    }
    let joined = format!("{}/{}/{}", endpoint.trim_end_matches('/'), service, method);
    reqwest::Url::parse(&joined).map_err(|e| {
        Error::new(Code::InvalidArgument, format!("invalid URL {}: {e}", crate::config::redact::url_userinfo(&joined)))
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// A failed request: its class from the error chain; through a proxy, the message names
/// the proxy (credentials redacted) and a refused connection is the proxy's failure.
fn transport_error(e: reqwest::Error, url: &reqwest::Url, proxy: &ProxySettings) -> Error {
    transport_error_of(e, &format!("POST {}", redact_userinfo(url.as_str())), url, Some(proxy))
}

/// [`transport_error`] of a request `request` names (method and URL as it may be shown);
/// `proxy` None: the request went directly, whatever the settings say.
fn transport_error_of(e: reqwest::Error, request: &str, url: &reqwest::Url, proxy: Option<&ProxySettings>) -> Error {
    // The message starts with the request: reqwest's own "for url (...)" would say it twice
    // (and a host name would take part in the classification below).
    let e = e.without_url();
    let chain = error_chain(&e);
    let lower = chain.to_ascii_lowercase();
    let via = match proxy.map(|p| p.resolve(url)) {
        Some(Ok((Some(p), source))) => Some((p, source)),
        _ => None,
    };
    let code = if e.is_timeout() || lower.contains("timed out") {
        Code::Timeout
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
    {
        Code::Dns
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        Code::Tls
    } else if lower.contains("proxy") || lower.contains("tunnel") || (via.is_some() && e.is_connect()) {
        Code::Proxy
    } else {
        Code::Network
    };
    let via = via
        .map(|(p, source)| format!(" via proxy {} (from {})", redact_userinfo(p.as_str()), source.as_str()))
        .unwrap_or_default();
    Error::new(code, format!("{request}{via}: {chain}")).with_source(e)
}

/// The URL with any user name and password replaced by `redacted`.
pub(crate) fn redact_userinfo(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("redacted");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The body of an answer stopped arriving (or stopped making sense to the transport).
fn reading_failed(e: impl std::error::Error + Send + Sync + 'static, url: &reqwest::Url) -> Error {
    let chain = error_chain(&e);
    let code = if chain.to_ascii_lowercase().contains("timed out") { Code::Timeout } else { Code::Network };
    Error::new(code, format!("POST {}: reading the answer failed: {chain}", redact_userinfo(url.as_str())))
        .with_source(e)
}

/// A random UUID v4, one per client (`X-Request-ID`).
fn new_request_id() -> String {
    let mut b = [0u8; 16];
    // A failing system RNG leaves zeros: the id is for correlation, not security.
    let _ = aws_lc_rs::rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

// ---- messages (JSON names as the platform's protojson writes them) ----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HealthCheckRequest {
    pub service: String,
}

/// What `Health/Check` answers (public as [`crate::Health::response`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HealthCheckResponse {
    /// SERVING, NOT_SERVING, SERVICE_UNKNOWN; missing = UNKNOWN
    pub status: Option<String>,
    /// the platform's time (RFC 3339)
    pub time: Option<String>,
    /// the platform's API version
    #[serde(rename = "apiVersion")]
    pub api_version: Option<String>,
    /// the platform's build
    pub build: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentInfo {
    pub mrn: String,
    pub version: String,
    pub build: String,
    pub platform_name: String,
    pub platform_release: String,
    pub platform_arch: String,
    pub platform_ip: String,
    pub platform_hostname: String,
    pub labels: BTreeMap<String, String>,
    pub platform_id: String,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentRegistrationRequest {
    pub token: String,
    pub name: String,
    pub agent_info: AgentInfo,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentCredential {
    pub mrn: String,
    pub parent_mrn: String,
    pub private_key: String,
    pub certificate: String,
    pub api_endpoint: String,
    pub scope_mrn: String,
}

impl std::fmt::Debug for AgentCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCredential")
            .field("mrn", &self.mrn)
            .field("parent_mrn", &self.parent_mrn)
            .field("api_endpoint", &self.api_endpoint)
            .field("scope_mrn", &self.scope_mrn)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentRegistrationConfirmation {
    pub agent_mrn: String,
    pub credential: Option<AgentCredential>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Mrn {
    pub mrn: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_body_code_wins_over_http_status() {
        let e = status_error(409, br#"{"code":10,"message":"try again"}"#);
        assert_eq!(e.code(), Code::RpcAborted);
        assert_eq!(e.http_status(), Some(409));
        let e = status_error(500, br#"{"code":6,"message":"exists"}"#);
        assert_eq!(e.code(), Code::RpcAlreadyExists);
    }

    #[test]
    fn non_status_bodies_map_the_http_status_and_keep_the_body() {
        let cases =
            [(400, 3), (401, 16), (403, 7), (404, 5), (408, 1), (500, 13), (501, 12), (503, 14), (502, 2), (429, 2)];
        for (http, rpc) in cases {
            let e = status_error(http, b"<html><body>Bad Gateway</body></html>");
            assert_eq!(e.rpc_code(), Some(rpc), "HTTP {http}");
            assert_eq!(e.http_status(), Some(http));
            assert!(e.message().contains("<html><body>Bad Gateway"), "{}", e.message());
        }
        let e = status_error(500, b"");
        assert!(e.message().contains("empty body"));
    }

    #[test]
    fn error_body_is_cut_at_2_kib_on_a_utf8_boundary() {
        let body = "é".repeat(3000); // 2 bytes each
        let e = status_error(502, body.as_bytes());
        let kept = e.message().split_once(": ").unwrap().1.split_once(" …(cut: ").unwrap().0;
        assert!(kept.len() <= 2048);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(cut_utf8("aé".as_bytes(), 2), b"a");
    }

    #[test]
    fn urls_keep_the_endpoint_prefix_with_one_slash() {
        assert_eq!(join_url("https://h/prefix/", "Health", "Check").unwrap().as_str(), "https://h/prefix/Health/Check");
        assert_eq!(
            join_url("https://h", "AgentManager", "PingPong").unwrap().as_str(),
            "https://h/AgentManager/PingPong"
        );
        assert!(join_url("https://h", "a/b", "c").is_err());
        assert!(join_url("ftp://h", "a", "c").is_err());
    }

    fn settings(pairs: &[(&str, &str)], explicit: Option<&str>, config: Option<&str>) -> ProxySettings {
        let env = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ProxySettings::from_env(&env, explicit.map(String::from), config.map(String::from))
    }

    #[test]
    fn proxy_precedence_and_sources() {
        let target = reqwest::Url::parse("https://api.example.com").unwrap();
        let all = settings(
            &[("MONDOO_API_PROXY", "http://env:1"), ("HTTPS_PROXY", "http://std:4")],
            Some("http://flag:2"),
            Some("http://cfg:3"),
        );
        assert_eq!(all.resolve(&target).unwrap().1, ProxySource::MondooApiProxyEnv);
        let s = settings(
            &[("MONDOO_API_PROXY", ""), ("HTTPS_PROXY", "http://std:4")],
            Some("http://flag:2"),
            Some("http://cfg:3"),
        );
        assert_eq!(s.resolve(&target).unwrap().1, ProxySource::Explicit);
        let s = settings(&[("HTTPS_PROXY", "http://std:4")], None, Some("http://cfg:3"));
        assert_eq!(s.resolve(&target).unwrap().1, ProxySource::Config);
        let s = settings(&[("https_proxy", "http://std:4")], None, None);
        let (p, src) = s.resolve(&target).unwrap();
        assert_eq!((p.unwrap().as_str(), src), ("http://std:4/", ProxySource::Environment));
        let s = settings(&[("HTTPS_PROXY", "http://std:4"), ("NO_PROXY", "localhost,.example.com")], None, None);
        assert_eq!(s.resolve(&target).unwrap(), (None, ProxySource::None));
        let s = settings(&[], None, None);
        assert_eq!(s.resolve(&target).unwrap(), (None, ProxySource::None));
    }

    #[test]
    fn standard_proxy_variables_skip_loopback_but_mondoo_proxies_do_not() {
        let env = settings(&[("HTTP_PROXY", "http://std:4"), ("HTTPS_PROXY", "http://std:4")], None, None);
        for loopback in ["http://127.0.0.1:8080", "https://localhost", "http://[::1]:9", "http://api.localhost."] {
            let target = reqwest::Url::parse(loopback).unwrap();
            assert_eq!(env.resolve(&target).unwrap(), (None, ProxySource::None), "{loopback}");
        }
        let remote = reqwest::Url::parse("http://127.0.0.2.example.com").unwrap();
        assert_eq!(env.resolve(&remote).unwrap().1, ProxySource::Environment);
        let configured = settings(&[], None, Some("http://cfg:3"));
        let target = reqwest::Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(configured.resolve(&target).unwrap().1, ProxySource::Config);
    }

    #[test]
    fn unparseable_proxy_is_an_error_naming_its_source() {
        let target = reqwest::Url::parse("https://api.example.com").unwrap();
        let err = settings(&[], None, Some("http://[::1")).resolve(&target).unwrap_err();
        assert_eq!(err.code(), Code::Proxy);
        assert!(err.message().contains("config api_proxy"), "{}", err.message());
    }

    #[test]
    fn request_ids_are_uuid_v4() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_request_id());
    }
}

/// A URL for messages: without its query (it may carry a token) and userinfo.
pub(crate) fn redact_query(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or("");
    redact_userinfo(base)
}
