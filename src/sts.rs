//! Keyless credentials (protocol section 8), the pieces that need no HTTP: the SSH
//! exchange's claims, canonical string and signatures from the ssh-agent, the WIF
//! document and where its identity token comes from, and the credential an exchange
//! answers. The platform verifies with the same [`canonical_string`] and
//! [`claims_message`], so client and server cannot drift apart.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::{Deserialize, Serialize};
use ssh_agent_client_rs::{Client as AgentClient, Identity};
use ssh_encoding::Encode;
use ssh_key::HashAlg;
use zeroize::Zeroizing;

use crate::rpc::{AgentCredential, Auth, RpcClient};
use crate::{AuthMethod, Code, Config, Error, Result};

/// `alg` of every SSH signature: the key is named by its SHA-256 fingerprint.
pub const SSH_SIGNATURE_ALG: &str = "x5t#S256";
/// How long the SSH claims are valid, as Go sets them (`exp` = now + 5 min).
pub const SSH_CLAIMS_TTL_SECONDS: i64 = 5 * 60;
/// How far ahead of the platform's clock the local one may be before SSH claims (`iat` =
/// local now) count as issued in the platform's future. The platform's own leeway is not
/// published; the local platform allows 60 s, and a `Health/Check` measures the skew to
/// within a round trip.
pub const SSH_CLAIMS_SKEW_TOLERANCE_SECONDS: f64 = 30.0;

/// Whether claims issued now on this machine are outside the platform's time window when
/// its clock is `skew_seconds` (platform minus local) away: issued in its future, or
/// already expired on its clock.
pub fn ssh_claims_outside_window(skew_seconds: f64) -> bool {
    skew_seconds < -SSH_CLAIMS_SKEW_TOLERANCE_SECONDS || skew_seconds > SSH_CLAIMS_TTL_SECONDS as f64
}

/// `response_type` that asks an external-token exchange for a static token.
pub const RESPONSE_TYPE_TOKEN: &str = "TOKEN";

/// What an SSH exchange asserts: `subject` (the identity MRN) wants a credential for
/// `resource` (the scope MRN). Times are RFC 3339 strings, as Go writes them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SshClaims {
    pub subject: String,
    pub resource: String,
    pub exp: String,
    pub iat: String,
}

impl SshClaims {
    /// Claims issued at `now` (Unix seconds), valid for [`SSH_CLAIMS_TTL_SECONDS`].
    pub fn new(subject: &str, resource: &str, now: i64) -> Result<SshClaims> {
        Ok(SshClaims {
            subject: subject.to_string(),
            resource: resource.to_string(),
            exp: rfc3339(now + SSH_CLAIMS_TTL_SECONDS)?,
            iat: rfc3339(now)?,
        })
    }
}

fn rfc3339(unix: i64) -> Result<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .ok_or_else(|| Error::new(Code::InvalidArgument, format!("time {unix} is out of range")))
}

/// The claims as a URL query, keys sorted, plus a newline: what gets hashed, so a
/// signature cannot be moved to claims with swapped values.
pub fn canonical_string(claims: &SshClaims) -> String {
    let pairs =
        [("exp", &claims.exp), ("iat", &claims.iat), ("resource", &claims.resource), ("subject", &claims.subject)];
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", query_escape(v))).collect();
    query.join("&") + "\n"
}

/// Go's `url.QueryEscape`: unreserved bytes stay, space is `+`, the rest `%XX` in upper
/// case. Written out because form_urlencoded differs on `*` and `~`, and one differing
/// byte changes the hash.
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The bytes each key signs: the ASCII of the lowercase hex SHA-256 of the canonical string.
pub fn claims_message(claims: &SshClaims) -> Vec<u8> {
    crate::signer::chash(canonical_string(claims).as_bytes()).into_bytes()
}

/// One key's signature of the claims.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SshSignature {
    /// always [`SSH_SIGNATURE_ALG`]
    pub alg: String,
    /// the key's fingerprint as `ssh-keygen -l` prints it: `SHA256:<unpadded base64>`
    pub kid: String,
    /// hex of the SSH wire signature (string algorithm, string blob)
    pub sig: String,
}

/// The ExchangeSSH request body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExchangeSshRequest {
    pub claims: SshClaims,
    pub signatures: Vec<SshSignature>,
}

/// `SSH_AUTH_SOCK`, the agent socket [`sign_claims_with_agent`] uses.
pub const SSH_AUTH_SOCK: &str = "SSH_AUTH_SOCK";

/// Sign the claims with every key of the agent at `$SSH_AUTH_SOCK`.
pub fn sign_claims_with_env_agent(claims: &SshClaims) -> Result<Vec<SshSignature>> {
    match std::env::var_os(SSH_AUTH_SOCK).filter(|v| !v.is_empty()) {
        Some(socket) => sign_claims_with_agent(Path::new(&socket), claims),
        None => Err(Error::new(
            Code::SshAgentUnavailable,
            "no ssh-agent: SSH_AUTH_SOCK is not set (start one with `eval $(ssh-agent)` and add a key with `ssh-add`)",
        )),
    }
}

/// Sign the claims with every key the ssh-agent at `socket` holds (certificates sign
/// with their key). RSA keys sign rsa-sha2-512 (the agent client asks for it), never
/// SHA-1 `ssh-rsa`. Blocking: the agent is a local socket.
pub fn sign_claims_with_agent(socket: &Path, claims: &SshClaims) -> Result<Vec<SshSignature>> {
    sign_claims_with_agent_until(socket, claims, None)
}

/// [`sign_claims_with_agent`], every read and write of the agent's socket ending by
/// `deadline`: an agent that takes the connection and never answers fails with
/// [`Code::Timeout`] naming the socket instead of holding the thread forever.
pub fn sign_claims_with_agent_until(
    socket: &Path,
    claims: &SshClaims,
    deadline: Option<Instant>,
) -> Result<Vec<SshSignature>> {
    if !socket.exists() {
        return Err(Error::new(
            Code::SshAgentUnavailable,
            format!("no ssh-agent: the socket {} (SSH_AUTH_SOCK) does not exist", socket.display()),
        ));
    }
    let mut agent = AgentSocket::connect(socket, deadline)?;
    agent.arm(LISTING_KEYS)?;
    let identities = agent.client.list_all_identities().map_err(|e| agent.error(LISTING_KEYS, e))?;
    if identities.is_empty() {
        return Err(Error::new(
            Code::SshAgentNoKeys,
            format!("the ssh-agent at {} holds no keys: add one with `ssh-add`", socket.display()),
        ));
    }
    let message = claims_message(claims);
    let mut signatures = Vec::with_capacity(identities.len());
    for identity in &identities {
        let key_data = match identity {
            Identity::PublicKey(key) => key.key_data().clone(),
            Identity::Certificate(cert) => cert.public_key().clone(),
        };
        let kid = key_data.fingerprint(HashAlg::Sha256).to_string();
        let what = format!("signing with {kid}");
        agent.arm(&what)?;
        let signature = agent.client.sign_with_ref(identity, &message).map_err(|e| agent.error(&what, e))?;
        let mut wire = Vec::new();
        signature.encode(&mut wire).map_err(|e| {
            Error::new(
                Code::SigningFailed,
                format!("ssh-agent at {}: encoding the signature of {kid}: {e}", socket.display()),
            )
        })?;
        let mut sig = Vec::with_capacity(wire.len() * 2);
        crate::signer::push_hex(&mut sig, &wire);
        signatures.push(SshSignature {
            alg: SSH_SIGNATURE_ALG.to_string(),
            kid,
            sig: String::from_utf8(sig).expect("hex is ASCII"),
        });
    }
    Ok(signatures)
}

/// The first exchange with an agent: a socket that breaks here has no agent behind it.
const LISTING_KEYS: &str = "listing its keys";

/// A connection to an ssh-agent whose every exchange ends by a deadline.
struct AgentSocket<'a> {
    client: AgentClient,
    path: &'a Path,
    deadline: Option<Instant>,
    /// a second handle on the socket, to set its timeouts while the client owns it
    #[cfg(unix)]
    timeouts: std::os::unix::net::UnixStream,
}

impl<'a> AgentSocket<'a> {
    fn connect(path: &'a Path, deadline: Option<Instant>) -> Result<AgentSocket<'a>> {
        let unavailable = |e: &dyn std::fmt::Display| {
            Error::new(
                Code::SshAgentUnavailable,
                format!("no ssh-agent answers at {}: cannot connect: {e}", path.display()),
            )
        };
        #[cfg(unix)]
        {
            let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| unavailable(&e))?;
            let timeouts = stream.try_clone().map_err(|e| unavailable(&e))?;
            Ok(AgentSocket { client: AgentClient::with_read_write(Box::new(stream)), path, deadline, timeouts })
        }
        #[cfg(not(unix))]
        {
            // Elsewhere the caller's async deadline alone bounds the wait.
            Ok(AgentSocket { client: AgentClient::connect(path).map_err(|e| unavailable(&e))?, path, deadline })
        }
    }

    /// Let the next exchange wait only until the deadline.
    fn arm(&mut self, what: &str) -> Result<()> {
        let Some(deadline) = self.deadline else { return Ok(()) };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timeout(what));
        }
        #[cfg(unix)]
        {
            let set =
                self.timeouts.set_read_timeout(Some(left)).and_then(|()| self.timeouts.set_write_timeout(Some(left)));
            set.map_err(|e| {
                Error::new(Code::SigningFailed, format!("ssh-agent at {}: {what}: {e}", self.path.display()))
            })?;
        }
        Ok(())
    }

    fn timeout(&self, what: &str) -> Error {
        Error::new(
            Code::Timeout,
            format!(
                "the ssh-agent at {} (SSH_AUTH_SOCK) did not answer ({what}) before the operation's deadline",
                self.path.display()
            ),
        )
    }

    fn error(&self, what: &str, e: ssh_agent_client_rs::Error) -> Error {
        match &e {
            ssh_agent_client_rs::Error::AgentCommunicationError(io)
                if matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
            {
                self.timeout(what)
            }
            ssh_agent_client_rs::Error::AgentCommunicationError(io) if what == LISTING_KEYS => Error::new(
                Code::SshAgentUnavailable,
                format!("no ssh-agent answers at {}: {what}: {io}", self.path.display()),
            ),
            _ => Error::new(Code::SigningFailed, format!("ssh-agent at {}: {what}: {e}", self.path.display())),
        }
    }
}

/// A workload-identity-federation file (`type: external_account`).
#[derive(Clone, PartialEq, Eq)]
pub struct WifConfig {
    pub audience: String,
    pub issuer_uri: String,
    /// `jwtToken`: an identity token given in the file
    pub jwt_token: Option<Zeroizing<String>>,
    /// `universeDomain`: the API endpoint, when present
    pub universe_domain: Option<String>,
}

impl std::fmt::Debug for WifConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WifConfig")
            .field("audience", &self.audience)
            .field("issuer_uri", &self.issuer_uri)
            .field("jwt_token", &self.jwt_token.as_ref().map(|_| "<redacted>"))
            .field("universe_domain", &self.universe_domain)
            .finish()
    }
}

impl WifConfig {
    /// Read a WIF document (JSON or YAML; keys case-insensitive, as every config).
    pub fn parse(text: &str) -> Result<WifConfig> {
        let doc = Config::parse(text)?;
        match doc.get("type").as_deref() {
            Some("external_account") => {}
            Some(other) => {
                return Err(Error::new(
                    Code::ConfigInvalid,
                    format!("WIF document: `type` is {other:?}, expected \"external_account\""),
                ))
            }
            None => {
                return Err(Error::new(Code::ConfigInvalid, "WIF document: no `type` (expected \"external_account\")"))
            }
        }
        WifConfig::from_config(&doc)
    }

    /// The WIF fields of a loaded config (`type: external_account`, or `auth.method: wif`).
    pub fn from_config(doc: &Config) -> Result<WifConfig> {
        let invalid = |why: String| Error::new(Code::ConfigInvalid, format!("WIF document: {why}"));
        let required = |key: &str| {
            doc.get(key).filter(|v| !v.trim().is_empty()).ok_or_else(|| invalid(format!("`{key}` is missing or empty")))
        };
        let optional = |key: &str| doc.get(key).filter(|v| !v.trim().is_empty());
        Ok(WifConfig {
            audience: required("audience")?,
            issuer_uri: required("issuerUri")?,
            jwt_token: optional("jwtToken").map(Zeroizing::new),
            universe_domain: optional("universeDomain"),
        })
    }
}

/// Where the identity token of a WIF exchange comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum IdentityTokenSource {
    /// `jwtToken` of the WIF document
    Document(Zeroizing<String>),
    /// `$JWT_TOKEN`
    Environment(Zeroizing<String>),
    /// the GCP metadata server's identity endpoint
    GcpMetadata,
    /// Azure's MSI endpoint (`$MSI_ENDPOINT`, else `http://localhost:50342/oauth2/token`):
    /// `POST resource=X` with `Metadata: true`, as the Go client asks it
    AzureMsi,
    /// GitHub Actions: `GET {request_url}&audience=X` with `Authorization: Bearer {request_token}`
    GithubActions { request_url: String, request_token: Zeroizing<String> },
    /// Azure's instance metadata service (IMDS): tried last, a libmondoo addition for the
    /// Azure VMs that have no MSI endpoint
    AzureImds,
}

impl std::fmt::Debug for IdentityTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityTokenSource::Document(_) => f.write_str("Document(<redacted>)"),
            IdentityTokenSource::Environment(_) => f.write_str("Environment(<redacted>)"),
            IdentityTokenSource::GithubActions { request_url, .. } => {
                f.debug_struct("GithubActions").field("request_url", request_url).finish_non_exhaustive()
            }
            IdentityTokenSource::GcpMetadata => f.write_str("GcpMetadata"),
            IdentityTokenSource::AzureMsi => f.write_str("AzureMsi"),
            IdentityTokenSource::AzureImds => f.write_str("AzureImds"),
        }
    }
}

pub const ENV_JWT_TOKEN: &str = "JWT_TOKEN";
pub const ENV_ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const ENV_ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// The sources to try, in order, for the identity token: the document's `jwtToken`, else
/// `$JWT_TOKEN` (either alone: a given token is never replaced by a fetched one), else
/// what the environment offers in the Go client's order (mql, providers-sdk/v1/upstream/
/// sts.go, `fetchIdentityToken`): the GCP metadata server, Azure's MSI endpoint, GitHub
/// Actions when both of its variables are set; then Azure IMDS, which Go does not try but
/// most Azure VMs only have (the metadata endpoints cannot be told apart without asking
/// them, so the fetcher tries each in turn).
pub fn identity_token_sources(wif: &WifConfig, env: &BTreeMap<String, String>) -> Vec<IdentityTokenSource> {
    let nonempty = |name: &str| env.get(name).filter(|v| !v.trim().is_empty());
    if let Some(token) = &wif.jwt_token {
        return vec![IdentityTokenSource::Document(token.clone())];
    }
    if let Some(token) = nonempty(ENV_JWT_TOKEN) {
        return vec![IdentityTokenSource::Environment(Zeroizing::new(token.clone()))];
    }
    let mut sources = vec![IdentityTokenSource::GcpMetadata, IdentityTokenSource::AzureMsi];
    if let (Some(url), Some(token)) =
        (nonempty(ENV_ACTIONS_ID_TOKEN_REQUEST_URL), nonempty(ENV_ACTIONS_ID_TOKEN_REQUEST_TOKEN))
    {
        sources.push(IdentityTokenSource::GithubActions {
            request_url: url.clone(),
            request_token: Zeroizing::new(token.clone()),
        });
    }
    sources.push(IdentityTokenSource::AzureImds);
    sources
}

/// The GitHub Actions token URL for `audience`: the request URL already has a query.
pub fn github_actions_token_url(request_url: &str, audience: &str) -> String {
    let separator = if request_url.contains('?') { '&' } else { '?' };
    format!("{request_url}{separator}audience={}", query_escape(audience))
}

/// The ExchangeExternalToken request body.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExchangeExternalTokenRequest {
    pub issuer_uri: String,
    pub audience: String,
    pub jwt_token: String,
    /// empty, or [`RESPONSE_TYPE_TOKEN`]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub response_type: String,
}

impl std::fmt::Debug for ExchangeExternalTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeExternalTokenRequest")
            .field("issuer_uri", &self.issuer_uri)
            .field("audience", &self.audience)
            .field("response_type", &self.response_type)
            .finish_non_exhaustive()
    }
}

/// A static API token credential (protocol 1.1 `token`): never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenCredential {
    pub mrn: String,
    pub scope_mrn: String,
    pub token: Zeroizing<String>,
    pub api_endpoint: String,
}

impl std::fmt::Debug for TokenCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCredential")
            .field("mrn", &self.mrn)
            .field("scope_mrn", &self.scope_mrn)
            .field("api_endpoint", &self.api_endpoint)
            .finish_non_exhaustive()
    }
}

/// What an external-token exchange answers.
#[derive(Debug, Clone)]
pub enum ExchangedCredential {
    /// a service account with a key (the default response type)
    Key(AgentCredential),
    /// a service account with a static token (`response_type: "TOKEN"`)
    Token(TokenCredential),
}

/// Decode `base64_credential`: standard base64 of `{mrn, space_mrn, private_key,
/// certificate, api_endpoint}` or of `{mrn, space_mrn, token, api_endpoint}`.
/// `space_mrn` becomes the scope (and `parent_mrn`, as Go maps it). A key credential's
/// key must load and match its certificate.
pub fn decode_base64_credential(base64_credential: &str) -> Result<ExchangedCredential> {
    let invalid = |why: &str| Error::new(Code::ResponseInvalid, format!("exchanged credential: {why}"));
    let compact: String = base64_credential.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| invalid("not standard base64"))?,
    );
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Document {
        mrn: String,
        space_mrn: String,
        scope_mrn: String,
        parent_mrn: String,
        private_key: Zeroizing<String>,
        certificate: String,
        token: Zeroizing<String>,
        api_endpoint: String,
    }
    let doc: Document = serde_json::from_slice(&bytes).map_err(|_| invalid("not a JSON object"))?;
    if doc.mrn.is_empty() {
        return Err(invalid("no mrn"));
    }
    let scope = [&doc.space_mrn, &doc.scope_mrn, &doc.parent_mrn]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_default();
    if !doc.token.is_empty() {
        return Ok(ExchangedCredential::Token(TokenCredential {
            mrn: doc.mrn,
            scope_mrn: scope,
            token: doc.token,
            api_endpoint: doc.api_endpoint,
        }));
    }
    if doc.private_key.is_empty() {
        return Err(invalid("neither private_key nor token"));
    }
    let certificate = (!doc.certificate.is_empty()).then_some(doc.certificate.as_str());
    crate::Signer::from_pem(&doc.mrn, &doc.private_key, certificate).map_err(|e| e.context("exchanged credential"))?;
    Ok(ExchangedCredential::Key(AgentCredential {
        mrn: doc.mrn,
        parent_mrn: scope.clone(),
        private_key: doc.private_key.to_string(),
        certificate: doc.certificate,
        api_endpoint: doc.api_endpoint,
        scope_mrn: scope,
    }))
}

// ---- the exchange (protocol 8): what a client with no key of its own does first ----

/// What a keyless config exchanges at the SecureTokenService.
#[derive(Debug, Clone)]
pub enum Keyless {
    /// `auth.method: ssh`: `subject` (the identity MRN) for `resource` (the scope MRN)
    Ssh { subject: String, resource: String },
    /// a WIF document
    Wif(WifConfig),
}

impl Keyless {
    /// The exchange a config needs; None for a config with a key or token of its own.
    pub fn from_config(config: &Config) -> Result<Option<Keyless>> {
        match config.auth_method() {
            Some(AuthMethod::Ssh) => Ok(Some(Keyless::Ssh {
                subject: config.service_account_mrn().map(|m| m.trim().to_string()).unwrap_or_default(),
                resource: config.space_mrn().map(|m| m.trim().to_string()).unwrap_or_default(),
            })),
            Some(AuthMethod::WorkloadIdentity) => Ok(Some(Keyless::Wif(WifConfig::from_config(config)?))),
            _ => Ok(None),
        }
    }

    pub fn method(&self) -> AuthMethod {
        match self {
            Keyless::Ssh { .. } => AuthMethod::Ssh,
            Keyless::Wif(_) => AuthMethod::WorkloadIdentity,
        }
    }
}

/// A service account an exchange produced, with when its certificate ends.
#[derive(Debug, Clone)]
pub struct Exchanged {
    pub credential: ExchangedCredential,
    /// `notAfter` of the certificate (Unix seconds); None for a static token, which
    /// carries no expiry
    pub expires_at: Option<i64>,
    pub method: AuthMethod,
}

impl Exchanged {
    pub fn mrn(&self) -> &str {
        match &self.credential {
            ExchangedCredential::Key(c) => &c.mrn,
            ExchangedCredential::Token(t) => &t.mrn,
        }
    }
    pub fn scope_mrn(&self) -> &str {
        match &self.credential {
            ExchangedCredential::Key(c) => &c.scope_mrn,
            ExchangedCredential::Token(t) => &t.scope_mrn,
        }
    }
}

/// How long before its certificate ends an exchanged credential is exchanged again.
pub const RENEW_BEFORE_EXPIRY_SECONDS: i64 = 60;

/// How long each place an identity token may come from gets to answer (2 s, as the Go
/// client): a metadata server that is not there must not eat the operation's time.
pub const IDENTITY_FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// `GCE_METADATA_HOST`: the GCP metadata server's host, as Google's client libraries read it.
pub const ENV_GCE_METADATA_HOST: &str = "GCE_METADATA_HOST";
const GCP_METADATA_HOST: &str = "metadata.google.internal";
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST`: the Azure IMDS authority (scheme, host, port), as
/// Azure's own SDKs read it (azure-identity's `ImdsCredential` joins it with the token path).
pub const ENV_AZURE_IMDS_AUTHORITY_HOST: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
const AZURE_IMDS_AUTHORITY: &str = "http://169.254.169.254";
const AZURE_IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// `MSI_ENDPOINT`: Azure's MSI token endpoint, which Azure sets where it serves one
/// (Cloud Shell, the legacy VM MSI extension).
pub const ENV_MSI_ENDPOINT: &str = "MSI_ENDPOINT";
/// The MSI endpoint the Go client asks when `MSI_ENDPOINT` is unset.
const AZURE_MSI_ENDPOINT: &str = "http://localhost:50342/oauth2/token";

/// Exchange at `{endpoint}/SecureTokenService/...` through `rpc` (its proxy, TLS and
/// deadline). `env` holds `SSH_AUTH_SOCK`, `JWT_TOKEN` and the CI variables.
pub(crate) async fn exchange(
    rpc: &RpcClient,
    endpoint: &str,
    keyless: &Keyless,
    env: &BTreeMap<String, String>,
) -> Result<Exchanged> {
    match keyless {
        Keyless::Ssh { subject, resource } => exchange_ssh(rpc, endpoint, subject, resource, env).await,
        Keyless::Wif(wif) => exchange_external(rpc, endpoint, wif, env).await,
    }
}

/// An rpc error of an exchange as a keyless code, keeping its HTTP status and the
/// platform's words.
fn retyped(e: Error, code: Code, what: String) -> Error {
    let again = Error::new(code, format!("{what}: {e}"));
    match e.http_status() {
        Some(status) => again.with_http_status(status),
        None => again,
    }
}

async fn exchange_ssh(
    rpc: &RpcClient,
    endpoint: &str,
    subject: &str,
    resource: &str,
    env: &BTreeMap<String, String>,
) -> Result<Exchanged> {
    let socket = env.get(SSH_AUTH_SOCK).filter(|v| !v.is_empty()).map(std::path::PathBuf::from).ok_or_else(|| {
        Error::new(
            Code::SshAgentUnavailable,
            "auth method ssh needs an ssh-agent: SSH_AUTH_SOCK is not set (start one with `eval $(ssh-agent)` \
                 and add a key with `ssh-add`)",
        )
    })?;
    let claims = SshClaims::new(subject, resource, crate::unix_now())?;
    // The agent is a blocking socket: kept off the runtime's threads.
    // The socket's own timeouts end the blocking thread by the deadline; the async
    // timeout makes sure the operation returns then whatever the thread does.
    let signing_claims = claims.clone();
    let deadline = rpc.deadline();
    let shown = socket.display().to_string();
    let signing = tokio::task::spawn_blocking(move || sign_claims_with_agent_until(&socket, &signing_claims, deadline));
    let joined = match deadline {
        Some(deadline) => {
            tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), signing).await.map_err(|_| {
                Error::new(
                    Code::Timeout,
                    format!("the ssh-agent at {shown} (SSH_AUTH_SOCK) did not answer before the operation's deadline"),
                )
            })?
        }
        None => signing.await,
    };
    let signatures =
        joined.map_err(|e| Error::new(Code::SigningFailed, format!("signing with the ssh-agent stopped: {e}")))??;
    let tried = signatures.iter().map(|s| s.kid.as_str()).collect::<Vec<_>>().join(", ");
    let request = ExchangeSshRequest { claims, signatures: signatures.clone() };
    let answer: AgentCredential = rpc
        .call(endpoint, "SecureTokenService", "ExchangeSSH", &request, Auth::None)
        .await
        .map_err(|e| match e.code() {
        Code::RpcUnauthenticated => retyped(
            e,
            Code::SshKeyUnknown,
            format!("ExchangeSSH: no key the ssh-agent holds is authorized (tried {tried})"),
        ),
        Code::RpcPermissionDenied => retyped(
            e,
            Code::ExchangeRefused,
            format!("ExchangeSSH for {subject} in {resource} was refused (keys tried: {tried})"),
        ),
        _ => e.context("SecureTokenService/ExchangeSSH"),
    })?;
    let scope = if answer.parent_mrn.is_empty() { answer.scope_mrn.clone() } else { answer.parent_mrn.clone() };
    let credential = AgentCredential { scope_mrn: scope.clone(), parent_mrn: scope, ..answer };
    key_credential(credential, AuthMethod::Ssh)
}

/// A key credential checked (the key loads and matches its certificate) with its expiry.
fn key_credential(credential: AgentCredential, method: AuthMethod) -> Result<Exchanged> {
    if credential.mrn.is_empty() || credential.private_key.is_empty() {
        return Err(Error::new(Code::ResponseInvalid, "the exchange answered without an mrn and private_key"));
    }
    let certificate = (!credential.certificate.is_empty()).then_some(credential.certificate.as_str());
    crate::Signer::from_pem(&credential.mrn, &credential.private_key, certificate)
        .map_err(|e| e.context("exchanged credential"))?;
    let expires_at = match certificate {
        Some(pem) => crate::signer::certificate_not_after(pem)?,
        None => None,
    };
    Ok(Exchanged { credential: ExchangedCredential::Key(credential), expires_at, method })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExchangeExternalTokenResponse {
    base64_credential: Zeroizing<String>,
}

async fn exchange_external(
    rpc: &RpcClient,
    endpoint: &str,
    wif: &WifConfig,
    env: &BTreeMap<String, String>,
) -> Result<Exchanged> {
    let (token, source) = identity_token(rpc, wif, env).await?;
    check_identity_token(&token, &wif.audience, &source, crate::unix_now())?;
    let request = ExchangeExternalTokenRequest {
        issuer_uri: wif.issuer_uri.clone(),
        audience: wif.audience.clone(),
        jwt_token: token.to_string(),
        response_type: String::new(),
    };
    let request = Zeroizing::new(serde_json::to_vec(&request).unwrap_or_default());
    let answer = rpc
        .call_raw(endpoint, "SecureTokenService", "ExchangeExternalToken", &request, Auth::None)
        .await
        .map_err(|e| match e.code() {
            Code::RpcUnauthenticated | Code::RpcPermissionDenied => retyped(
                e,
                Code::ExchangeRefused,
                format!(
                    "ExchangeExternalToken: the identity token ({source}) of {} for audience {} was not accepted",
                    wif.issuer_uri, wif.audience
                ),
            ),
            _ => e.context("SecureTokenService/ExchangeExternalToken"),
        })?;
    let answer = Zeroizing::new(answer);
    let response: ExchangeExternalTokenResponse =
        crate::rpc::decode_response("SecureTokenService", "ExchangeExternalToken", &answer)?;
    match decode_base64_credential(&response.base64_credential)? {
        ExchangedCredential::Key(credential) => key_credential(credential, AuthMethod::WorkloadIdentity),
        token @ ExchangedCredential::Token(_) => {
            Ok(Exchanged { credential: token, expires_at: None, method: AuthMethod::WorkloadIdentity })
        }
    }
}

/// Before sending it: an identity token that has expired or names another audience gets
/// its own error here (the platform answers both with the same 16 Unauthenticated).
pub fn check_identity_token(token: &str, audience: &str, source: &str, now: i64) -> Result<()> {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|c| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .ok_or_else(|| {
            Error::new(Code::IdentityTokenUnavailable, format!("the identity token ({source}) is not a JWT"))
        })?;
    if let Some(exp) = claims.get("exp").and_then(serde_json::Value::as_i64) {
        if exp + IDENTITY_TOKEN_LEEWAY_SECONDS < now {
            let at = rfc3339(exp).unwrap_or_else(|_| exp.to_string());
            return Err(Error::new(
                Code::IdentityTokenExpired,
                format!("the identity token ({source}) expired at {at}: get a fresh one"),
            ));
        }
    }
    let audiences: Vec<String> = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => vec![a.clone()],
        Some(serde_json::Value::Array(list)) => list.iter().filter_map(|a| a.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    if !audiences.is_empty() && !audiences.iter().any(|a| a == audience) {
        return Err(Error::new(
            Code::IdentityTokenAudience,
            format!(
                "the identity token ({source}) is for audience {}, the WIF document's audience is {audience}",
                crate::error::server_text(&audiences.join(", "))
            ),
        ));
    }
    Ok(())
}

/// Clock difference tolerated on an identity token's `exp`, as the platform allows.
const IDENTITY_TOKEN_LEEWAY_SECONDS: i64 = 60;

/// The identity token and where it came from (for messages), trying each source of
/// [`identity_token_sources`] in turn.
async fn identity_token(
    rpc: &RpcClient,
    wif: &WifConfig,
    env: &BTreeMap<String, String>,
) -> Result<(Zeroizing<String>, String)> {
    let mut failures = Vec::new();
    for source in identity_token_sources(wif, env) {
        let fetched = match &source {
            IdentityTokenSource::Document(token) => return Ok((token.clone(), "jwtToken of the WIF document".into())),
            IdentityTokenSource::Environment(token) => return Ok((token.clone(), format!("${ENV_JWT_TOKEN}"))),
            IdentityTokenSource::GithubActions { request_url, request_token } => {
                let url = github_actions_token_url(request_url, &wif.audience);
                let bearer = Zeroizing::new(format!("Bearer {}", request_token.as_str()));
                // an internet URL: through the proxy like every other call
                let body = rpc.get(&url, &[("Authorization", &bearer)], IDENTITY_FETCH_TIMEOUT).await;
                body.and_then(|b| json_field(b, "value"))
            }
            IdentityTokenSource::GcpMetadata => {
                let host = env_value(env, ENV_GCE_METADATA_HOST).unwrap_or(GCP_METADATA_HOST);
                let url = format!(
                    "http://{host}/computeMetadata/v1/instance/service-accounts/default/identity?audience={}",
                    query_escape(&wif.audience)
                );
                // the instance's own link-local server: never through a proxy (see get_direct)
                let body = rpc.get_direct(&url, &[("Metadata-Flavor", "Google")], IDENTITY_FETCH_TIMEOUT).await;
                body.and_then(|b| {
                    let text = Zeroizing::new(
                        String::from_utf8(b)
                            .map_err(|_| Error::new(Code::ResponseInvalid, "the answer is not text"))?,
                    );
                    Ok(Zeroizing::new(text.trim().to_string()))
                })
            }
            IdentityTokenSource::AzureMsi => {
                let url = env_value(env, ENV_MSI_ENDPOINT).unwrap_or(AZURE_MSI_ENDPOINT);
                // a local endpoint like the metadata servers: never through a proxy
                let body = rpc
                    .post_form_direct(
                        url,
                        &[("Metadata", "true")],
                        &[("resource", &wif.audience)],
                        IDENTITY_FETCH_TIMEOUT,
                    )
                    .await;
                body.and_then(|b| json_field(b, "access_token"))
            }
            IdentityTokenSource::AzureImds => {
                let authority = env_value(env, ENV_AZURE_IMDS_AUTHORITY_HOST)
                    .map(|h| h.trim_end_matches('/'))
                    .filter(|h| !h.is_empty())
                    .unwrap_or(AZURE_IMDS_AUTHORITY);
                let url = format!(
                    "{authority}{AZURE_IMDS_TOKEN_PATH}?api-version=2018-02-01&resource={}",
                    query_escape(&wif.audience)
                );
                let body = rpc.get_direct(&url, &[("Metadata", "true")], IDENTITY_FETCH_TIMEOUT).await;
                body.and_then(|b| json_field(b, "access_token"))
            }
        };
        match fetched {
            Ok(token) if !token.is_empty() => return Ok((token, source_name(&source).to_string())),
            Ok(_) => failures.push(format!("{}: an empty token", source_name(&source))),
            Err(e) => failures.push(format!("{}: {e}", source_name(&source))),
        }
    }
    Err(Error::new(
        Code::IdentityTokenUnavailable,
        format!(
            "no identity token for the WIF exchange: no jwtToken in the document, no ${ENV_JWT_TOKEN}, and none \
             from the environment ({})",
            failures.join("; ")
        ),
    ))
}

fn source_name(source: &IdentityTokenSource) -> &'static str {
    match source {
        IdentityTokenSource::Document(_) => "jwtToken",
        IdentityTokenSource::Environment(_) => "$JWT_TOKEN",
        IdentityTokenSource::GithubActions { .. } => "GitHub Actions",
        IdentityTokenSource::GcpMetadata => "GCP metadata",
        IdentityTokenSource::AzureMsi => "Azure MSI",
        IdentityTokenSource::AzureImds => "Azure IMDS",
    }
}

/// A variable of the client's environment, trimmed; None when unset or blank.
fn env_value<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The string `field` of a JSON answer (the token of a GitHub Actions, MSI or IMDS
/// answer); the answer is wiped when done.
fn json_field(body: Vec<u8>, field: &str) -> Result<Zeroizing<String>> {
    let body = Zeroizing::new(body);
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| Error::new(Code::ResponseInvalid, format!("the answer is not JSON with `{field}`")))?;
    match value.get(field).and_then(serde_json::Value::as_str) {
        Some(token) => Ok(Zeroizing::new(token.to_string())),
        None => Err(Error::new(Code::ResponseInvalid, format!("the answer has no `{field}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SshClaims {
        SshClaims {
            subject: "//captain.api.mondoo.app/users/a b*~".into(),
            resource: "//captain.api.mondoo.app/spaces/s".into(),
            exp: "2026-01-01T00:05:00Z".into(),
            iat: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn canonical_string_is_sorted_query_encoding_with_newline() {
        assert_eq!(
            canonical_string(&claims()),
            "exp=2026-01-01T00%3A05%3A00Z&iat=2026-01-01T00%3A00%3A00Z\
             &resource=%2F%2Fcaptain.api.mondoo.app%2Fspaces%2Fs\
             &subject=%2F%2Fcaptain.api.mondoo.app%2Fusers%2Fa+b%2A~\n"
        );
        let message = claims_message(&claims());
        assert_eq!(message.len(), 64);
        assert!(message.iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let mut swapped = claims();
        std::mem::swap(&mut swapped.subject, &mut swapped.resource);
        assert_ne!(claims_message(&swapped), message);
    }

    #[test]
    fn new_claims_last_five_minutes() {
        let c = SshClaims::new("sub", "res", 1_767_225_600).unwrap();
        assert_eq!(c.iat, "2026-01-01T00:00:00Z");
        assert_eq!(c.exp, "2026-01-01T00:05:00Z");
    }

    #[test]
    fn missing_agent_socket_is_a_clear_error() {
        let e = sign_claims_with_agent(Path::new("/nonexistent/agent.sock"), &claims()).unwrap_err();
        assert_eq!(e.code(), Code::SshAgentUnavailable);
        assert!(e.message().contains("no ssh-agent") && e.message().contains("/nonexistent/agent.sock"), "{e}");
    }

    #[test]
    fn wif_document_and_token_sources() {
        let text = r#"{"type":"external_account","audience":"aud","issuerUri":"https://issuer","universeDomain":"https://api"}"#;
        let wif = WifConfig::parse(text).unwrap();
        assert_eq!(wif.audience, "aud");
        assert_eq!(wif.issuer_uri, "https://issuer");
        assert_eq!(wif.universe_domain.as_deref(), Some("https://api"));
        assert!(wif.jwt_token.is_none());

        let mut env = BTreeMap::new();
        let metadata_only =
            vec![IdentityTokenSource::GcpMetadata, IdentityTokenSource::AzureMsi, IdentityTokenSource::AzureImds];
        assert_eq!(identity_token_sources(&wif, &env), metadata_only);
        env.insert(ENV_ACTIONS_ID_TOKEN_REQUEST_URL.to_string(), "https://gh/token?x=1".to_string());
        // one GitHub variable alone is not GitHub Actions
        assert_eq!(identity_token_sources(&wif, &env), metadata_only);
        env.insert(ENV_ACTIONS_ID_TOKEN_REQUEST_TOKEN.to_string(), "request-secret".to_string());
        // the Go client's order (GCP, Azure MSI, GitHub Actions), then IMDS
        let sources = identity_token_sources(&wif, &env);
        assert_eq!(sources[..2], [IdentityTokenSource::GcpMetadata, IdentityTokenSource::AzureMsi]);
        assert!(
            matches!(&sources[2], IdentityTokenSource::GithubActions { request_url, .. } if request_url == "https://gh/token?x=1")
        );
        assert_eq!(sources[3..], [IdentityTokenSource::AzureImds]);
        assert!(!format!("{sources:?}").contains("request-secret"));
        env.insert(ENV_JWT_TOKEN.to_string(), "env-jwt".to_string());
        assert_eq!(
            identity_token_sources(&wif, &env),
            vec![IdentityTokenSource::Environment(Zeroizing::new("env-jwt".into()))]
        );

        let inline =
            WifConfig::parse("type: external_account\naudience: a\nissueruri: i\njwtToken: doc-jwt\n").unwrap();
        assert!(!format!("{inline:?}").contains("doc-jwt"));
        assert_eq!(
            identity_token_sources(&inline, &env),
            vec![IdentityTokenSource::Document(Zeroizing::new("doc-jwt".into()))]
        );

        assert_eq!(
            github_actions_token_url("https://gh/t?api-version=2.0", "a b"),
            "https://gh/t?api-version=2.0&audience=a+b"
        );
        assert_eq!(github_actions_token_url("https://gh/t", "x"), "https://gh/t?audience=x");
    }

    #[test]
    fn wif_document_errors_name_the_key() {
        for (text, what) in [
            (r#"{"type":"service_account","audience":"a","issuerUri":"i"}"#, "`type`"),
            (r#"{"audience":"a","issuerUri":"i"}"#, "no `type`"),
            (r#"{"type":"external_account","issuerUri":"i"}"#, "`audience`"),
            (r#"{"type":"external_account","audience":"a","issuerUri":" "}"#, "`issuerUri`"),
        ] {
            let e = WifConfig::parse(text).unwrap_err();
            assert_eq!(e.code(), Code::ConfigInvalid);
            assert!(e.message().contains(what), "{text}: {e}");
        }
    }

    #[test]
    fn token_credential_decodes_and_never_prints_its_token() {
        let doc =
            r#"{"mrn":"//m/sa/1","space_mrn":"//m/spaces/s","token":"static-secret","api_endpoint":"https://api"}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(doc);
        let ExchangedCredential::Token(t) = decode_base64_credential(&encoded).unwrap() else { panic!("not a token") };
        assert_eq!(
            (t.mrn.as_str(), t.scope_mrn.as_str(), t.token.as_str()),
            ("//m/sa/1", "//m/spaces/s", "static-secret")
        );
        assert!(!format!("{t:?}").contains("static-secret"));
        assert_eq!(decode_base64_credential("%%%").unwrap_err().code(), Code::ResponseInvalid);
        let no_secret = base64::engine::general_purpose::STANDARD.encode(r#"{"mrn":"m"}"#);
        assert!(decode_base64_credential(&no_secret).unwrap_err().message().contains("neither"));
    }
}
