//! Keyless credentials (protocol section 8), the pieces that need no HTTP: the SSH
//! exchange's claims, canonical string and signatures from the ssh-agent, the WIF
//! document and where its identity token comes from, and the credential an exchange
//! answers. The platform verifies with the same [`canonical_string`] and
//! [`claims_message`], so client and server cannot drift apart.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};
use ssh_agent_client_rs::{Client as AgentClient, Identity};
use ssh_encoding::Encode;
use ssh_key::HashAlg;
use zeroize::Zeroizing;

use crate::rpc::AgentCredential;
use crate::{Code, Config, Error, Result};

/// `alg` of every SSH signature: the key is named by its SHA-256 fingerprint.
pub const SSH_SIGNATURE_ALG: &str = "x5t#S256";
/// How long the SSH claims are valid, as Go sets them (`exp` = now + 5 min).
pub const SSH_CLAIMS_TTL_SECONDS: i64 = 5 * 60;
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
            Code::SigningFailed,
            "no ssh-agent: SSH_AUTH_SOCK is not set (start one with `eval $(ssh-agent)` and add a key with `ssh-add`)",
        )),
    }
}

/// Sign the claims with every key the ssh-agent at `socket` holds (certificates sign
/// with their key). RSA keys sign rsa-sha2-512 (the agent client asks for it), never
/// SHA-1 `ssh-rsa`. Blocking: the agent is a local socket.
pub fn sign_claims_with_agent(socket: &Path, claims: &SshClaims) -> Result<Vec<SshSignature>> {
    let agent_error = |what: &str, e: &dyn std::fmt::Display| {
        Error::new(Code::SigningFailed, format!("ssh-agent at {}: {what}: {e}", socket.display()))
    };
    if !socket.exists() {
        return Err(Error::new(
            Code::SigningFailed,
            format!("no ssh-agent: the socket {} (SSH_AUTH_SOCK) does not exist", socket.display()),
        ));
    }
    let mut agent = AgentClient::connect(socket).map_err(|e| agent_error("cannot connect", &e))?;
    let identities = agent.list_all_identities().map_err(|e| agent_error("cannot list keys", &e))?;
    if identities.is_empty() {
        return Err(Error::new(
            Code::SigningFailed,
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
        let signature =
            agent.sign_with_ref(identity, &message).map_err(|e| agent_error(&format!("signing with {kid}"), &e))?;
        let mut wire = Vec::new();
        signature.encode(&mut wire).map_err(|e| agent_error(&format!("encoding the signature of {kid}"), &e))?;
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
        let invalid = |why: String| Error::new(Code::ConfigInvalid, format!("WIF document: {why}"));
        match doc.get("type").as_deref() {
            Some("external_account") => {}
            Some(other) => return Err(invalid(format!("`type` is {other:?}, expected \"external_account\""))),
            None => return Err(invalid("no `type` (expected \"external_account\")".to_string())),
        }
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
    /// GitHub Actions: `GET {request_url}&audience=X` with `Authorization: Bearer {request_token}`
    GithubActions { request_url: String, request_token: Zeroizing<String> },
    /// the GCP metadata server's identity endpoint
    GcpMetadata,
    /// Azure's instance metadata service (IMDS)
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
            IdentityTokenSource::AzureImds => f.write_str("AzureImds"),
        }
    }
}

pub const ENV_JWT_TOKEN: &str = "JWT_TOKEN";
pub const ENV_ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const ENV_ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// The sources to try, in order, for the identity token: the document's `jwtToken`, else
/// `$JWT_TOKEN` (either alone: a given token is never replaced by a fetched one), else
/// what the environment offers: GitHub Actions when both of its variables are set, then
/// the GCP metadata server, then Azure IMDS (the metadata endpoints cannot be told apart
/// without asking them, so the fetcher tries each in turn).
pub fn identity_token_sources(wif: &WifConfig, env: &BTreeMap<String, String>) -> Vec<IdentityTokenSource> {
    let nonempty = |name: &str| env.get(name).filter(|v| !v.trim().is_empty());
    if let Some(token) = &wif.jwt_token {
        return vec![IdentityTokenSource::Document(token.clone())];
    }
    if let Some(token) = nonempty(ENV_JWT_TOKEN) {
        return vec![IdentityTokenSource::Environment(Zeroizing::new(token.clone()))];
    }
    let mut sources = Vec::new();
    if let (Some(url), Some(token)) =
        (nonempty(ENV_ACTIONS_ID_TOKEN_REQUEST_URL), nonempty(ENV_ACTIONS_ID_TOKEN_REQUEST_TOKEN))
    {
        sources.push(IdentityTokenSource::GithubActions {
            request_url: url.clone(),
            request_token: Zeroizing::new(token.clone()),
        });
    }
    sources.push(IdentityTokenSource::GcpMetadata);
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
        assert_eq!(e.code(), Code::SigningFailed);
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
        assert_eq!(
            identity_token_sources(&wif, &env),
            vec![IdentityTokenSource::GcpMetadata, IdentityTokenSource::AzureImds]
        );
        env.insert(ENV_ACTIONS_ID_TOKEN_REQUEST_URL.to_string(), "https://gh/token?x=1".to_string());
        // one GitHub variable alone is not GitHub Actions
        assert_eq!(identity_token_sources(&wif, &env).len(), 2);
        env.insert(ENV_ACTIONS_ID_TOKEN_REQUEST_TOKEN.to_string(), "request-secret".to_string());
        let sources = identity_token_sources(&wif, &env);
        assert!(
            matches!(&sources[0], IdentityTokenSource::GithubActions { request_url, .. } if request_url == "https://gh/token?x=1")
        );
        assert_eq!(sources[1..], [IdentityTokenSource::GcpMetadata, IdentityTokenSource::AzureImds]);
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
