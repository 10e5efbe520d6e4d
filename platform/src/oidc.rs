//! A local OIDC issuer on loopback: the identity provider that workload identity
//! federation (protocol section 8, WIF) trusts. It signs ES256 identity tokens with a key
//! made at startup and serves what a relying party reads:
//!
//! - `GET /.well-known/openid-configuration`: `{issuer, jwks_uri, ...}`
//! - `GET /jwks`: its public key as a JWK set
//! - `GET /github/token?api-version=2.0&audience=X` with `Authorization: Bearer <request
//!   token>`: `{"value": "<jwt>"}`, as GitHub Actions' `ACTIONS_ID_TOKEN_REQUEST_URL`
//!   answers (subject [`OidcIssuer::github_subject`]); a wrong request token gets 401
//! - `POST /mint` `{subject, audience, ttl_seconds}`: `{"token"}` (loopback clients only,
//!   like the platform's admin routes)
//!
//! It also plays the cloud metadata services a workload reads its identity token from,
//! minting the token for the requested audience:
//!
//! - GCP: `GET /computeMetadata/v1/instance/service-accounts/default/identity?audience=X`
//!   (with or without `&format=full`) with `Metadata-Flavor: Google` answers the raw JWT
//!   (subject [`GCP_METADATA_SUBJECT`]); without the header 403, as the real server does.
//!   Point a client at it with `GCE_METADATA_HOST` = [`OidcIssuer::metadata_host`].
//! - Azure MSI endpoint: `POST /oauth2/token` with the form `resource=X` and `Metadata: true`
//!   answers `{"access_token": JWT, "token_type": "Bearer", ...}` (subject
//!   [`AZURE_MSI_SUBJECT`]); without the header or the resource 400. Point a client at it
//!   with `MSI_ENDPOINT` = [`OidcIssuer::msi_endpoint`].
//! - Azure IMDS: `GET /metadata/identity/oauth2/token?api-version=V&resource=X` with
//!   `Metadata: true` answers `{"access_token": JWT, "token_type": "Bearer", ...}`
//!   (subject [`AZURE_IMDS_SUBJECT`]); without the header 400. Point a client at it with
//!   `AZURE_POD_IDENTITY_AUTHORITY_HOST` = [`OidcIssuer::issuer`].

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::http::{self, Conn, Request, Response};
use crate::server::lock;

/// `sub` of the tokens the GitHub Actions endpoint mints unless told otherwise.
pub const DEFAULT_GITHUB_SUBJECT: &str = "repo:mondoohq/example:ref:refs/heads/main";
/// `sub` of the tokens the GCP metadata identity endpoint mints (GCP puts the service
/// account's numeric unique ID there).
pub const GCP_METADATA_SUBJECT: &str = "112233445566778899000";
/// `sub` of the tokens the Azure IMDS endpoint mints (Azure puts the managed identity's
/// object ID there).
pub const AZURE_IMDS_SUBJECT: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
/// `sub` of the tokens the Azure MSI endpoint mints (another managed identity's object
/// ID, so a test can tell which Azure endpoint answered).
pub const AZURE_MSI_SUBJECT: &str = "7a6b5c4d-3e2f-4011-8a9b-0c1d2e3f4a5b";
/// Lifetime of the identity tokens the GitHub Actions and metadata endpoints mint.
const FETCHED_TOKEN_TTL_SECONDS: i64 = 300;

pub(crate) struct Inner {
    issuer: String,
    kid: String,
    signing_key: EncodingKey,
    jwks: Value,
    actions_request_token: String,
    github_subject: Mutex<String>,
    shutdown: AtomicBool,
}

/// A running issuer. Dropping it stops it.
pub struct OidcIssuer {
    inner: Arc<Inner>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl OidcIssuer {
    /// Bind 127.0.0.1:0, make a P-256 key and serve.
    pub fn start() -> io::Result<OidcIssuer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| io::Error::other(format!("generating the OIDC issuer key: {e}")))?;
        let signing_key = EncodingKey::from_ec_pem(key.serialize_pem().as_bytes())
            .map_err(|e| io::Error::other(format!("loading the OIDC issuer key: {e}")))?;
        // Uncompressed SEC1 point: 0x04 || x || y, 32 bytes each for P-256.
        let point = key.public_key_raw();
        if point.len() != 65 {
            return Err(io::Error::other("unexpected P-256 public key encoding"));
        }
        let kid = b64url(&aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, point).as_ref()[..12]);
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": b64url(&point[1..33]), "y": b64url(&point[33..]),
        }]});
        let inner = Arc::new(Inner {
            issuer: format!("http://{addr}"),
            kid,
            signing_key,
            jwks,
            actions_request_token: format!("actions-request-{}", crate::server::new_id()),
            github_subject: Mutex::new(DEFAULT_GITHUB_SUBJECT.to_string()),
            shutdown: AtomicBool::new(false),
        });
        let accept_inner = inner.clone();
        let accept = std::thread::Builder::new()
            .name("mondoo-oidc-accept".into())
            .spawn(move || accept_loop(accept_inner, listener))?;
        Ok(OidcIssuer { inner, addr, accept: Some(accept) })
    }

    /// `http://127.0.0.1:PORT`: the `iss` of its tokens and the base of its endpoints.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The JWK set `GET /jwks` serves.
    pub fn jwks(&self) -> &Value {
        &self.inner.jwks
    }

    /// An ES256 identity token: `iss` = [`OidcIssuer::issuer`], `sub`, `aud`, `iat` = `nbf`
    /// = now, `exp` = now + `ttl_seconds` (negative: already expired).
    pub fn mint(&self, subject: &str, audience: &str, ttl_seconds: i64) -> io::Result<String> {
        self.inner.mint(subject, audience, ttl_seconds)
    }

    /// What GitHub Actions puts in `ACTIONS_ID_TOKEN_REQUEST_URL` (it already has a query,
    /// the client appends `&audience=X`).
    pub fn actions_request_url(&self) -> String {
        self.inner.actions_request_url()
    }

    /// `127.0.0.1:PORT`: what `GCE_METADATA_HOST` names to reach the GCP metadata fake
    /// (a host and port, no scheme, as Google's client libraries read it).
    pub fn metadata_host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT/oauth2/token`: what `MSI_ENDPOINT` names to reach the Azure
    /// MSI endpoint fake.
    pub fn msi_endpoint(&self) -> String {
        format!("{}{AZURE_MSI_TOKEN_PATH}", self.issuer())
    }

    /// What GitHub Actions puts in `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub fn actions_request_token(&self) -> &str {
        &self.inner.actions_request_token
    }

    /// `sub` of the tokens the GitHub Actions endpoint mints.
    pub fn github_subject(&self) -> String {
        lock(&self.inner.github_subject).clone()
    }

    pub fn set_github_subject(&self, subject: &str) {
        *lock(&self.inner.github_subject) = subject.to_string();
    }

    pub(crate) fn inner(&self) -> Arc<Inner> {
        self.inner.clone()
    }

    pub fn shutdown(&mut self) {
        http::stop_accept_loop(&self.inner.shutdown, self.addr, &mut self.accept);
    }
}

impl Drop for OidcIssuer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(crate) fn actions_request_url(&self) -> String {
        format!("{}/github/token?api-version=2.0", self.issuer)
    }

    /// `127.0.0.1:PORT`: the issuer's address, for `GCE_METADATA_HOST`.
    pub(crate) fn metadata_host(&self) -> String {
        self.issuer.trim_start_matches("http://").to_string()
    }

    pub(crate) fn actions_request_token(&self) -> &str {
        &self.actions_request_token
    }

    pub(crate) fn mint(&self, subject: &str, audience: &str, ttl_seconds: i64) -> io::Result<String> {
        let now = unix_now();
        let claims = json!({
            "iss": self.issuer, "sub": subject, "aud": audience,
            "iat": now, "nbf": now, "exp": now + ttl_seconds,
        });
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.signing_key)
            .map_err(|e| io::Error::other(format!("signing an identity token: {e}")))
    }

    /// An Azure token endpoint's answer (IMDS and MSI answer alike): a token for
    /// `resource` as `subject`.
    fn azure_token_answer(&self, subject: &str, resource: &str) -> Response {
        match self.mint(subject, resource, FETCHED_TOKEN_TTL_SECONDS) {
            Ok(token) => {
                let expires_on = unix_now() + FETCHED_TOKEN_TTL_SECONDS;
                Response::json(
                    200,
                    &json!({
                        "access_token": token,
                        "expires_in": FETCHED_TOKEN_TTL_SECONDS.to_string(),
                        "expires_on": expires_on.to_string(),
                        "resource": resource,
                        "token_type": "Bearer",
                    }),
                )
            }
            Err(e) => Response::json(500, &json!({"error": e.to_string()})),
        }
    }

    fn handle(&self, request: &Request, peer: Option<SocketAddr>) -> Response {
        let (path, query) = request.path.split_once('?').unwrap_or((request.path.as_str(), ""));
        let error = |status: u16, message: &str| Response::json(status, &json!({"error": message}));
        match (request.method.as_str(), path) {
            ("GET", "/.well-known/openid-configuration") => Response::json(
                200,
                &json!({
                    "issuer": self.issuer,
                    "jwks_uri": format!("{}/jwks", self.issuer),
                    "id_token_signing_alg_values_supported": ["ES256"],
                    "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"],
                    "claims_supported": ["sub", "aud", "exp", "iat", "iss", "nbf"],
                }),
            ),
            ("GET", "/jwks") => Response::json(200, &self.jwks),
            ("GET", "/github/token") => {
                let expected = format!("Bearer {}", self.actions_request_token);
                if request.header("authorization") != Some(expected.as_str()) {
                    return error(401, "bad request token");
                }
                let Some(audience) = query_value(query, "audience") else {
                    return error(400, "no audience");
                };
                let subject = lock(&self.github_subject).clone();
                match self.mint(&subject, &audience, FETCHED_TOKEN_TTL_SECONDS) {
                    Ok(token) => Response::json(200, &json!({"value": token})),
                    Err(e) => error(500, &e.to_string()),
                }
            }
            ("GET", GCP_IDENTITY_PATH) => {
                // The real metadata server refuses a request without the header (it
                // guards against SSRF) with 403 and a text body.
                if request.header("metadata-flavor") != Some("Google") {
                    return text(403, "Missing required header: \"Metadata-Flavor\"");
                }
                let Some(audience) = query_value(query, "audience") else {
                    return text(400, "non-empty audience parameter required");
                };
                match self.mint(GCP_METADATA_SUBJECT, &audience, FETCHED_TOKEN_TTL_SECONDS) {
                    Ok(token) => text(200, &token),
                    Err(e) => text(500, &e.to_string()),
                }
            }
            ("GET", AZURE_IMDS_TOKEN_PATH) => {
                if request.header("metadata") != Some("true") {
                    return Response::json(
                        400,
                        &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
                    );
                }
                let (Some(_), Some(resource)) = (query_value(query, "api-version"), query_value(query, "resource"))
                else {
                    return Response::json(
                        400,
                        &json!({"error": "invalid_request", "error_description": "api-version and resource are required"}),
                    );
                };
                self.azure_token_answer(AZURE_IMDS_SUBJECT, &resource)
            }
            ("POST", AZURE_MSI_TOKEN_PATH) => {
                if request.header("metadata") != Some("true") {
                    return Response::json(
                        400,
                        &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
                    );
                }
                // the form body has the query's encoding
                let form = String::from_utf8_lossy(&request.body);
                let Some(resource) = query_value(&form, "resource") else {
                    return Response::json(
                        400,
                        &json!({"error": "invalid_request", "error_description": "resource is required"}),
                    );
                };
                self.azure_token_answer(AZURE_MSI_SUBJECT, &resource)
            }
            ("POST", "/mint") => {
                if !peer.is_some_and(|p| p.ip().is_loopback()) {
                    return error(403, "loopback clients only");
                }
                let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
                let ttl = body.get("ttl_seconds").and_then(Value::as_i64).unwrap_or(300);
                match self.mint(field("subject"), field("audience"), ttl) {
                    Ok(token) => Response::json(200, &json!({"token": token})),
                    Err(e) => error(500, &e.to_string()),
                }
            }
            _ => error(404, "not found"),
        }
    }
}

/// The GCP metadata server's identity endpoint for the default service account.
const GCP_IDENTITY_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/identity";
/// Azure IMDS's managed-identity token endpoint.
const AZURE_IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// Azure's MSI endpoint's token path (Cloud Shell, the legacy VM MSI extension).
const AZURE_MSI_TOKEN_PATH: &str = "/oauth2/token";

fn text(status: u16, body: &str) -> Response {
    Response::new(status, Some("text/plain; charset=utf-8"), body.as_bytes().to_vec())
}

/// The decoded, non-empty value of `name` in a query string.
fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
        .filter(|v| !v.is_empty())
}

/// Query values as GitHub's clients send them: `%XX` and `+` for space.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    for stream in listener.incoming() {
        if inner.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let conn_inner = inner.clone();
        let _ = std::thread::Builder::new().name("mondoo-oidc-conn".into()).spawn(move || serve(&conn_inner, stream));
    }
}

fn serve(inner: &Inner, tcp: TcpStream) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    let peer = tcp.peer_addr().ok();
    let Ok(conn) = Conn::new(tcp, None) else { return };
    let mut reader = BufReader::new(conn);
    while let Ok(request) = http::read_request(&mut reader, 64 * 1024, |_| Ok(())) {
        let close = !request.keep_alive();
        let response = inner.handle(&request, peer);
        if http::write_response(reader.get_mut(), &response, close).is_err() || close {
            return;
        }
    }
}
