//! Request signing (protocol section 4): ES384 bearer JWTs bound to the body; and the
//! Platform API bearer (section 7), the same JWT without `chash`.
//!
//! Keys are read from PEM (PKCS#8 or SEC1). The key's type and curve are found by reading
//! the DER algorithm identifiers ourselves, so every refusal (P-256, RSA, encrypted,
//! garbage) gets its own code and a message that names what was found, never key bytes.
//! The same small DER reader pulls the SubjectPublicKeyInfo and the `mrn:` URIs out of a
//! certificate: that is all libmondoo needs from X.509, so it takes no X.509 dependency.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::error::{Code, Error, Result};
use crate::token::{numeric_date, rfc3339};

/// A bearer's lifetime, and the platform's leeway on `exp`, `nbf` and a future `iat`.
pub const BEARER_LIFETIME_SECONDS: i64 = 60;
/// The platform's leeway on `exp`, `nbf` and a future `iat`.
pub const BEARER_LEEWAY_SECONDS: i64 = 60;
/// Length of a raw `r||s` P-384 signature.
const SIGNATURE_LEN: usize = 96;
/// Length of an uncompressed SEC1 P-384 point.
const P384_POINT_LEN: usize = 97;

/// Claims of a verified bearer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BearerClaims {
    /// SHA-256 of the signed body (base64url).
    pub chash: Option<String>,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Issuer.
    pub iss: String,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Subject (the token's service account or client).
    pub sub: String,
}

/// A service account's signing key. Debug never prints the key; key bytes are zeroized
/// on drop (the PEM/DER buffers here; aws-lc clears the key it holds when freeing it).
pub struct Signer {
    mrn: String,
    key: EcdsaKeyPair,
    rng: SystemRandom,
    /// base64url of the fixed header, made once: every bearer starts with it.
    header_b64: String,
    /// The claims' fixed end, `,"sub":<mrn as JSON>}`.
    claims_tail: String,
    clock_offset: AtomicI64,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("mrn", &self.mrn).finish_non_exhaustive()
    }
}

impl Signer {
    /// The signer of a registered config: its `mrn`, `private_key` and (when present)
    /// `certificate`. Errors name the key and the config they came from.
    pub fn from_config(config: &Config) -> Result<Signer> {
        let origin = match config.path() {
            Some(p) => p.display().to_string(),
            None => config.source().as_str().to_string(),
        };
        let located = |e: Error| match config.path() {
            Some(p) => e.with_path(p),
            None => e,
        };
        let mrn = config
            .service_account_mrn()
            .filter(|m| !m.trim().is_empty())
            .ok_or_else(|| located(Error::new(Code::NotRegistered, format!("no mrn in {origin}: not registered"))))?;
        let key = config.private_key().filter(|k| !k.trim().is_empty()).ok_or_else(|| {
            located(Error::new(Code::NotRegistered, format!("no private_key in {origin}: not registered")))
        })?;
        let certificate = config.certificate().filter(|c| !c.trim().is_empty());
        Signer::from_pem(mrn.trim(), &key, certificate.as_deref()).map_err(|e| {
            let field = if e.code() == Code::CertificateInvalid { "certificate" } else { "private_key" };
            located(e.context(format_args!("{field} in {origin}")))
        })
    }

    /// From PEM: PKCS#8 or SEC1 P-384 key; when given, the certificate must hold its
    /// public key.
    pub fn from_pem(mrn: &str, private_key_pem: &str, certificate_pem: Option<&str>) -> Result<Signer> {
        if mrn.is_empty() {
            return Err(Error::new(Code::InvalidArgument, "the service account mrn is empty"));
        }
        let key = load_p384_key(private_key_pem)?;
        if let Some(cert) = certificate_pem {
            let info = read_certificate(cert)?;
            let ours = key.public_key().as_ref();
            if info.spki.curve_name() != "P-384" {
                return Err(Error::new(
                    Code::KeyCertificateMismatch,
                    format!("the certificate holds a {} key, not this P-384 key", info.spki.curve_name()),
                ));
            }
            if info.spki.point != ours {
                return Err(Error::new(
                    Code::KeyCertificateMismatch,
                    "the private key does not match the certificate's public key",
                ));
            }
        }
        let header = format!(r#"{{"alg":"ES384","kid":{},"typ":"JWT"}}"#, json_string(mrn));
        Ok(Signer {
            mrn: mrn.to_string(),
            key,
            rng: SystemRandom::new(),
            header_b64: URL_SAFE_NO_PAD.encode(header),
            claims_tail: format!(r#","sub":{}}}"#, json_string(mrn)),
            clock_offset: AtomicI64::new(0),
        })
    }

    /// The service account's MRN (the bearer's `sub`).
    pub fn mrn(&self) -> &str {
        &self.mrn
    }

    /// A fresh bearer for exactly these body bytes, at now (+ the clock offset).
    ///
    /// ```no_run
    /// # fn run() -> mondoo::Result<()> {
    /// let signer = mondoo::Signer::from_config(&mondoo::Config::load(None)?)?;
    /// let body = br#"{"mrn":"//agents.api.mondoo.app/spaces/s/agents/a"}"#;
    /// let bearer = signer.sign(body)?;
    /// // sent as `Authorization: Bearer <bearer>` with exactly these body bytes
    /// # let _ = bearer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn sign(&self, body: &[u8]) -> Result<String> {
        let now = crate::unix_now().saturating_add(self.clock_offset.load(Ordering::Relaxed));
        self.sign_at(body, now)
    }

    /// The bearer for `body` as made at `now` (Unix seconds).
    pub fn sign_at(&self, body: &[u8], now: i64) -> Result<String> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
        self.sign_claims_bytes(&self.bearer_claims(Some(digest.as_ref()), now))
    }

    /// A Platform API (GraphQL) bearer made now (+ the clock offset): protocol section 7.
    pub fn api_bearer(&self) -> Result<ApiBearer> {
        let now = crate::unix_now().saturating_add(self.clock_offset.load(Ordering::Relaxed));
        self.api_bearer_at(now)
    }

    /// The Platform API bearer as made at `now`: the request bearer's header and claims
    /// without `chash`, so it is not bound to one body and may be reused until it expires.
    pub fn api_bearer_at(&self, now: i64) -> Result<ApiBearer> {
        let token = self.sign_claims_bytes(&self.bearer_claims(None, now))?;
        Ok(ApiBearer { token: Zeroizing::new(token), expires_at: now.saturating_add(BEARER_LIFETIME_SECONDS) })
    }

    /// The claims of a bearer made at `now`, with `chash` when bound to a body's SHA-256.
    /// Written by hand in the fixed order, into a buffer sized once, so signing costs
    /// little beyond ECDSA.
    fn bearer_claims(&self, body_sha256: Option<&[u8]>, now: i64) -> Vec<u8> {
        let mut claims = Vec::with_capacity(160 + self.claims_tail.len());
        claims.push(b'{');
        if let Some(digest) = body_sha256 {
            claims.extend_from_slice(br#""chash":""#);
            push_hex(&mut claims, digest);
            claims.extend_from_slice(br#"","#);
        }
        claims.extend_from_slice(br#""exp":"#);
        push_i64(&mut claims, now.saturating_add(BEARER_LIFETIME_SECONDS));
        claims.extend_from_slice(br#","iat":"#);
        push_i64(&mut claims, now);
        claims.extend_from_slice(br#","iss":"mondoo/ams","nbf":"#);
        push_i64(&mut claims, now);
        claims.extend_from_slice(self.claims_tail.as_bytes());
        claims
    }

    /// Sign arbitrary JSON claims with header `{"alg":"ES384","kid":mrn,"typ":"JWT"}`
    /// (the local platform mints registration tokens with this).
    pub fn sign_claims(&self, claims: &serde_json::Value) -> Result<String> {
        if !claims.is_object() {
            return Err(Error::new(Code::InvalidArgument, "JWT claims must be a JSON object"));
        }
        let bytes = serde_json::to_vec(claims)
            .map_err(|e| Error::new(Code::InvalidArgument, format!("claims cannot be serialized: {e}")))?;
        self.sign_claims_bytes(&bytes)
    }

    fn sign_claims_bytes(&self, claims: &[u8]) -> Result<String> {
        let claims_b64_len = claims.len().div_ceil(3) * 4;
        let mut jwt = String::with_capacity(self.header_b64.len() + 1 + claims_b64_len + 1 + 128);
        jwt.push_str(&self.header_b64);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut jwt);
        let sig = self
            .key
            .sign(&self.rng, jwt.as_bytes())
            .map_err(|_| Error::new(Code::SigningFailed, "ES384 signing failed in aws-lc"))?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut jwt);
        Ok(jwt)
    }

    /// Seconds added to the local clock when signing (opt-in skew correction).
    pub fn set_clock_offset(&self, seconds: i64) {
        self.clock_offset.store(seconds, Ordering::Relaxed);
    }

    /// The clock offset in use (0 unless set).
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    /// Uncompressed SEC1 public point (97 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }
}

/// A Platform API bearer (protocol section 7): an ES384 JWT for `Authorization: Bearer`,
/// valid until `expires_at`. The token is zeroized on drop and never printed by Debug.
pub struct ApiBearer {
    token: Zeroizing<String>,
    expires_at: i64,
}

impl ApiBearer {
    /// The JWT, for `Authorization: Bearer <token>`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Its `exp` claim (Unix seconds, the signer's clock).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl fmt::Debug for ApiBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiBearer").field("token", &"<redacted>").field("expires_at", &self.expires_at).finish()
    }
}

/// Lowercase hex SHA-256 of `body` (the `chash` claim).
pub fn chash(body: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
    let mut out = Vec::with_capacity(64);
    push_hex(&mut out, digest.as_ref());
    String::from_utf8(out).expect("hex is ASCII")
}

/// Verify a bearer as the platform does, with the certificate (PEM) of `kid`. When the
/// certificate names its service account (a `mrn:` URI), `kid` must be that mrn. The
/// claims are returned so the caller can check `sub`.
pub fn verify(bearer: &str, body: &[u8], certificate_pem: &str, now: i64) -> Result<BearerClaims> {
    let cert = read_certificate(certificate_pem).map_err(|e| bearer_invalid(format_args!("{}", e.message())))?;
    let point = cert.spki.p384_point().map_err(|e| bearer_invalid(format_args!("{}", e.message())))?;
    verify_inner(bearer, body, point, now, &cert.mrns)
}

/// Verify a bearer with the signer's public point (uncompressed SEC1, 97 bytes), for a
/// platform that caches keys by `kid`.
pub fn verify_with_public_key(bearer: &str, body: &[u8], public_point: &[u8], now: i64) -> Result<BearerClaims> {
    verify_inner(bearer, body, public_point, now, &[])
}

/// The uncompressed P-384 public point in a PEM certificate.
pub fn certificate_public_key(certificate_pem: &str) -> Result<Vec<u8>> {
    Ok(read_certificate(certificate_pem)?.spki.p384_point()?.to_vec())
}

fn bearer_invalid(why: impl fmt::Display) -> Error {
    Error::new(Code::BearerInvalid, format!("invalid bearer: {why}"))
}

fn verify_inner(bearer: &str, body: &[u8], point: &[u8], now: i64, cert_mrns: &[String]) -> Result<BearerClaims> {
    let bearer = bearer.strip_prefix("Bearer ").unwrap_or(bearer).trim();
    let mut parts = bearer.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bearer_invalid("not three dot-separated parts"));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD.decode(part).map_err(|_| bearer_invalid(format_args!("{what} is not unpadded base64url")))
    };

    let header: Value =
        serde_json::from_slice(&decode(h, "header")?).map_err(|_| bearer_invalid("header is not JSON"))?;
    match header.get("alg").and_then(Value::as_str) {
        Some("ES384") => {}
        Some(other) => return Err(bearer_invalid(format_args!("alg {other:?} is not ES384"))),
        None => return Err(bearer_invalid("header has no alg")),
    }
    let kid = match header.get("kid").and_then(Value::as_str) {
        Some(k) if !k.is_empty() => k,
        _ => return Err(bearer_invalid("header has no kid")),
    };
    if !cert_mrns.is_empty() && !cert_mrns.iter().any(|m| m == kid) {
        return Err(bearer_invalid(format_args!("kid {kid} is not the certificate's service account")));
    }

    let sig = decode(s, "signature")?;
    if sig.len() != SIGNATURE_LEN {
        return Err(bearer_invalid(format_args!(
            "signature is {} bytes; ES384 needs raw r||s of {SIGNATURE_LEN} bytes (DER is rejected)",
            sig.len()
        )));
    }
    let signing_input = &bearer[..h.len() + 1 + c.len()];
    signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
        .verify(signing_input.as_bytes(), &sig)
        .map_err(|_| bearer_invalid("signature does not verify with the certificate's key"))?;

    let claims: Value =
        serde_json::from_slice(&decode(c, "claims")?).map_err(|_| bearer_invalid("claims are not JSON"))?;
    let date = |name: &str| {
        claims
            .get(name)
            .and_then(numeric_date)
            .ok_or_else(|| bearer_invalid(format_args!("claim {name} is missing or not a number")))
    };
    let string = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bearer_invalid(format_args!("claim {name} is missing or not a string")))
    };
    let (exp, nbf, iat) = (date("exp")?, date("nbf")?, date("iat")?);
    if now > exp.saturating_add(BEARER_LEEWAY_SECONDS) {
        return Err(bearer_invalid(format_args!("expired at {} (now {})", rfc3339(exp), rfc3339(now))));
    }
    if nbf > now.saturating_add(BEARER_LEEWAY_SECONDS) {
        return Err(bearer_invalid(format_args!("not valid before {} (now {})", rfc3339(nbf), rfc3339(now))));
    }
    if iat > now.saturating_add(BEARER_LEEWAY_SECONDS) {
        return Err(bearer_invalid(format_args!("issued in the future at {} (now {})", rfc3339(iat), rfc3339(now))));
    }
    let chash_claim = match claims.get("chash") {
        None | Some(Value::Null) => None,
        Some(Value::String(given)) => {
            let want = chash(body);
            aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), want.as_bytes())
                .map_err(|_| bearer_invalid("chash does not match the body"))?;
            Some(given.clone())
        }
        Some(_) => return Err(bearer_invalid("claim chash is not a string")),
    };
    Ok(BearerClaims { chash: chash_claim, exp, iat, iss: string("iss")?, nbf, sub: string("sub")? })
}

// ---------------------------------------------------------------------------------------
// Small writers for the hand-made claims.

pub(crate) fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 0xf) as usize]);
    }
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

// ---------------------------------------------------------------------------------------
// PEM.

struct PemBlock {
    label: String,
    /// `Proc-Type: 4,ENCRYPTED` (OpenSSL's legacy encrypted PEM).
    encrypted_header: bool,
    base64: Zeroizing<String>,
}

impl PemBlock {
    fn der(&self) -> Option<Zeroizing<Vec<u8>>> {
        // Standard alphabet; padding optional, as hand-edited PEM sometimes loses it.
        const LENIENT: GeneralPurpose = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        LENIENT.decode(self.base64.as_bytes()).ok().map(Zeroizing::new)
    }
}

/// Every `-----BEGIN X-----` ... `-----END X-----` block in `text`, in order.
fn pem_blocks(text: &str) -> Vec<PemBlock> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].trim().to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else {
            break;
        };
        // Sized up front so growing never leaves a copy of key text in freed memory.
        let mut base64 = Zeroizing::new(String::with_capacity(body_end));
        let mut encrypted_header = false;
        for line in body_start[..body_end].lines() {
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("Proc-Type") && value.to_ascii_uppercase().contains("ENCRYPTED") {
                    encrypted_header = true;
                }
                continue;
            }
            base64.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
        blocks.push(PemBlock { label, encrypted_header, base64 });
        rest = &body_start[body_end + end_marker.len()..];
    }
    blocks
}

// ---------------------------------------------------------------------------------------
// Keys.

fn key_error(code: Code, msg: impl Into<String>) -> Error {
    Error::new(code, msg)
}

fn wrong_curve(found: &str) -> Error {
    key_error(Code::KeyWrongCurve, format!("the platform accepts P-384 (ES384) keys only (found {found})"))
}

fn load_p384_key(pem: &str) -> Result<EcdsaKeyPair> {
    let blocks = pem_blocks(pem);
    let Some(block) = blocks.iter().find(|b| b.label.ends_with("PRIVATE KEY")) else {
        return Err(match blocks.first() {
            Some(b) => key_error(Code::KeyInvalid, format!("expected a PEM private key, found a {}", b.label)),
            None => key_error(Code::KeyInvalid, "no PEM private key found (expected a PKCS#8 or SEC1 PEM block)"),
        });
    };
    let unsupported = |what: &str| {
        key_error(
            Code::KeyUnsupportedType,
            format!("{what} keys are not supported: the platform accepts P-384 (ES384) keys only"),
        )
    };
    let encrypted = || {
        key_error(
            Code::KeyEncrypted,
            "the private key is encrypted; give the unencrypted key (decrypt it with `openssl pkey -in KEY -out NEW_KEY`)",
        )
    };
    let sec1 = match block.label.as_str() {
        "ENCRYPTED PRIVATE KEY" => return Err(encrypted()),
        "RSA PRIVATE KEY" => return Err(unsupported("RSA")),
        "DSA PRIVATE KEY" => return Err(unsupported("DSA")),
        "OPENSSH PRIVATE KEY" => {
            return Err(key_error(
                Code::KeyUnsupportedType,
                "OpenSSH keys are not supported: give a P-384 key as PKCS#8 or SEC1 PEM (ssh-keygen -p -m PKCS8 converts one)",
            ))
        }
        _ if block.encrypted_header => return Err(encrypted()),
        "PRIVATE KEY" => false,
        "EC PRIVATE KEY" => true,
        // Name the type without the armour words, which messages never carry.
        other => {
            let kind = other.trim_end_matches("PRIVATE KEY").trim();
            return Err(key_error(Code::KeyUnsupportedType, format!("unsupported PEM key type {kind:?}")));
        }
    };
    let der = block.der().ok_or_else(|| key_error(Code::KeyInvalid, "the PEM private key's base64 is damaged"))?;

    let invalid = |what: &str| key_error(Code::KeyInvalid, format!("the private key is not a valid {what}"));
    let alg = &signature::ECDSA_P384_SHA384_FIXED_SIGNING;
    if sec1 {
        let curve = sec1_curve(&der).ok_or_else(|| invalid("SEC1 EC private key"))?;
        if curve != Curve::P384 {
            return Err(wrong_curve(&curve.name()));
        }
        EcdsaKeyPair::from_private_key_der(alg, &der).map_err(|_| invalid("P-384 key (aws-lc refused it)"))
    } else {
        match pkcs8_algorithm(&der).ok_or_else(|| invalid("PKCS#8 private key"))? {
            KeyAlgorithm::Ec(Curve::P384) => {}
            KeyAlgorithm::Ec(other) => return Err(wrong_curve(&other.name())),
            KeyAlgorithm::Other(name) => return Err(unsupported(&name)),
        }
        EcdsaKeyPair::from_pkcs8(alg, &der).map_err(|_| invalid("P-384 key (aws-lc refused it)"))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
    /// Another named curve, by OID.
    Oid(String),
    /// A key with no curve named and a scalar of this many bytes.
    Unnamed(usize),
}

impl Curve {
    fn from_oid(oid: &[u8]) -> Curve {
        match oid {
            oid::PRIME256V1 => Curve::P256,
            oid::SECP384R1 => Curve::P384,
            oid::SECP521R1 => Curve::P521,
            oid::SECP256K1 => Curve::Secp256k1,
            other => Curve::Oid(oid::dotted(other)),
        }
    }
    fn name(&self) -> String {
        match self {
            Curve::P256 => "P-256".into(),
            Curve::P384 => "P-384".into(),
            Curve::P521 => "P-521".into(),
            Curve::Secp256k1 => "secp256k1".into(),
            Curve::Oid(o) => format!("the curve with OID {o}"),
            Curve::Unnamed(n) => format!("an unnamed curve with {}-bit keys", n * 8),
        }
    }
}

enum KeyAlgorithm {
    Ec(Curve),
    /// A non-EC key type, by name.
    Other(String),
}

fn algorithm_name(alg_oid: &[u8]) -> String {
    match alg_oid {
        oid::RSA_ENCRYPTION => "RSA".into(),
        oid::RSASSA_PSS => "RSA-PSS".into(),
        oid::ED25519 => "Ed25519".into(),
        oid::ED448 => "Ed448".into(),
        oid::X25519 => "X25519".into(),
        oid::DSA => "DSA".into(),
        other => format!("algorithm {}", oid::dotted(other)),
    }
}

/// The key algorithm of a PKCS#8 `PrivateKeyInfo`:
/// `SEQUENCE { INTEGER version, AlgorithmIdentifier, OCTET STRING key, ... }`.
fn pkcs8_algorithm(der: &[u8]) -> Option<KeyAlgorithm> {
    let mut info = Der::new(Der::new(der).expect(tag::SEQUENCE)?);
    info.expect(tag::INTEGER)?;
    let mut alg_id = Der::new(info.expect(tag::SEQUENCE)?);
    let private_key = info.expect(tag::OCTET_STRING)?;
    let alg = alg_id.expect(tag::OID)?;
    if alg != oid::EC_PUBLIC_KEY {
        return Some(KeyAlgorithm::Other(algorithm_name(alg)));
    }
    match alg_id.read() {
        Some((tag::OID, curve)) => Some(KeyAlgorithm::Ec(Curve::from_oid(curve))),
        // Parameters absent or not a named curve: ask the inner SEC1 key.
        _ => sec1_curve(private_key).map(KeyAlgorithm::Ec),
    }
}

/// The curve of a SEC1 `ECPrivateKey`:
/// `SEQUENCE { INTEGER 1, OCTET STRING key, [0] OID curve OPTIONAL, [1] BIT STRING OPTIONAL }`.
fn sec1_curve(der: &[u8]) -> Option<Curve> {
    let mut key = Der::new(Der::new(der).expect(tag::SEQUENCE)?);
    key.expect(tag::INTEGER)?;
    let scalar = key.expect(tag::OCTET_STRING)?;
    while let Some((t, content)) = key.read() {
        if t == tag::CONTEXT_0 {
            return Some(Curve::from_oid(Der::new(content).expect(tag::OID)?));
        }
    }
    Some(match scalar.len() {
        48 => Curve::P384,
        n => Curve::Unnamed(n),
    })
}

// ---------------------------------------------------------------------------------------
// Certificates.

struct SubjectPublicKey {
    alg: Vec<u8>,
    curve: Option<Curve>,
    point: Vec<u8>,
}

impl SubjectPublicKey {
    fn curve_name(&self) -> String {
        match (&self.curve, self.alg.as_slice()) {
            (Some(c), oid::EC_PUBLIC_KEY) => c.name(),
            _ => algorithm_name(&self.alg),
        }
    }
    fn p384_point(&self) -> Result<&[u8]> {
        if self.curve != Some(Curve::P384) || self.alg != oid::EC_PUBLIC_KEY {
            return Err(Error::new(
                Code::CertificateInvalid,
                format!(
                    "the certificate holds a {} key; the platform accepts P-384 (ES384) keys only",
                    self.curve_name()
                ),
            ));
        }
        if self.point.len() != P384_POINT_LEN || self.point[0] != 4 {
            return Err(Error::new(
                Code::CertificateInvalid,
                "the certificate's P-384 public key is not an uncompressed point",
            ));
        }
        Ok(&self.point)
    }
}

struct CertificateInfo {
    spki: SubjectPublicKey,
    /// Service-account mrns named by `mrn:` URIs in subjectAltName, without the prefix.
    mrns: Vec<String>,
    /// `validity.notAfter` as Unix seconds, when it reads as UTCTime or GeneralizedTime
    not_after: Option<i64>,
}

/// When a PEM certificate stops being valid (`notAfter`, Unix seconds); None when its
/// validity does not read.
pub(crate) fn certificate_not_after(certificate_pem: &str) -> Result<Option<i64>> {
    Ok(read_certificate(certificate_pem)?.not_after)
}

/// `Time ::= CHOICE { utcTime YYMMDDHHMMSSZ, generalTime YYYYMMDDHHMMSSZ }` (RFC 5280
/// 4.1.2.5: always UTC with seconds; UTCTime years 50..99 are 19xx).
fn der_time(tag_value: u8, content: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(content).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag_value {
        0x17 if text.len() == 12 => {
            let yy: i32 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| rest.get(i..i + 2)?.parse::<u8>().ok();
    let month = time::Month::try_from(field(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, field(2)?).ok()?;
    let at = date.with_hms(field(4)?, field(6)?, field(8)?).ok()?;
    Some(at.assume_utc().unix_timestamp())
}

fn cert_invalid(why: &str) -> Error {
    Error::new(Code::CertificateInvalid, format!("the certificate is not valid: {why}"))
}

fn read_certificate(pem: &str) -> Result<CertificateInfo> {
    let blocks = pem_blocks(pem);
    let block = blocks
        .iter()
        .find(|b| b.label == "CERTIFICATE")
        .ok_or_else(|| cert_invalid("no PEM certificate found (expected -----BEGIN CERTIFICATE-----)"))?;
    let der = block.der().ok_or_else(|| cert_invalid("its base64 is damaged"))?;
    parse_certificate(&der).ok_or_else(|| cert_invalid("its DER could not be read as X.509"))
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }` with
/// `TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serial, signature, issuer,
/// validity, subject, subjectPublicKeyInfo, [1], [2], [3] extensions OPTIONAL }`.
fn parse_certificate(der: &[u8]) -> Option<CertificateInfo> {
    let mut cert = Der::new(Der::new(der).expect(tag::SEQUENCE)?);
    let mut tbs = Der::new(cert.expect(tag::SEQUENCE)?);
    if tbs.peek_tag()? == tag::CONTEXT_0 {
        tbs.read()?;
    }
    tbs.expect(tag::INTEGER)?; // serial
    tbs.expect(tag::SEQUENCE)?; // signature algorithm
    tbs.expect(tag::SEQUENCE)?; // issuer
    let mut validity = Der::new(tbs.expect(tag::SEQUENCE)?);
    let _not_before = validity.read()?;
    let not_after = validity.read().and_then(|(t, c)| der_time(t, c));
    tbs.expect(tag::SEQUENCE)?; // subject
    let mut spki = Der::new(tbs.expect(tag::SEQUENCE)?);
    let mut alg_id = Der::new(spki.expect(tag::SEQUENCE)?);
    let alg = alg_id.expect(tag::OID)?.to_vec();
    let curve = match alg_id.read() {
        Some((tag::OID, c)) => Some(Curve::from_oid(c)),
        _ => None,
    };
    let bits = spki.expect(tag::BIT_STRING)?;
    let (&unused, point) = bits.split_first()?;
    if unused != 0 {
        return None;
    }

    let mut mrns = Vec::new();
    while let Some((t, content)) = tbs.read() {
        if t == tag::CONTEXT_3 {
            mrns = san_mrns(content).unwrap_or_default();
        }
    }
    Some(CertificateInfo { spki: SubjectPublicKey { alg, curve, point: point.to_vec() }, mrns, not_after })
}

/// `mrn:` URIs in the subjectAltName extension of `[3] { SEQUENCE OF Extension }`.
fn san_mrns(explicit: &[u8]) -> Option<Vec<String>> {
    let mut exts = Der::new(Der::new(explicit).expect(tag::SEQUENCE)?);
    let mut mrns = Vec::new();
    while let Some(ext) = exts.expect(tag::SEQUENCE) {
        let mut ext = Der::new(ext);
        if ext.expect(tag::OID)? != oid::SUBJECT_ALT_NAME {
            continue;
        }
        if ext.peek_tag()? == tag::BOOLEAN {
            ext.read()?;
        }
        let mut names = Der::new(Der::new(ext.expect(tag::OCTET_STRING)?).expect(tag::SEQUENCE)?);
        while let Some((t, name)) = names.read() {
            // uniformResourceIdentifier [6] IA5String
            if t == tag::CONTEXT_PRIM_6 {
                if let Some(m) = std::str::from_utf8(name).ok().and_then(|u| u.strip_prefix("mrn:")) {
                    mrns.push(m.to_string());
                }
            }
        }
    }
    Some(mrns)
}

// ---------------------------------------------------------------------------------------
// A minimal DER reader: definite lengths, single-byte tags; enough for PKCS#8, SEC1 and
// the parts of X.509 above. Every read is bounds-checked and returns None on bad input.

mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    pub const CONTEXT_0: u8 = 0xa0;
    pub const CONTEXT_3: u8 = 0xa3;
    pub const CONTEXT_PRIM_6: u8 = 0x86;
}

mod oid {
    // DER contents of the OIDs used here.
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]; // 1.2.840.10045.2.1
    pub const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]; // 1.2.840.10045.3.1.7
    pub const SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22]; // 1.3.132.0.34
    pub const SECP521R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23]; // 1.3.132.0.35
    pub const SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a]; // 1.3.132.0.10
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]; // 1.2.840.113549.1.1.1
    pub const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a]; // 1.2.840.113549.1.1.10
    pub const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01]; // 1.2.840.10040.4.1
    pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70]; // 1.3.101.112
    pub const ED448: &[u8] = &[0x2b, 0x65, 0x71]; // 1.3.101.113
    pub const X25519: &[u8] = &[0x2b, 0x65, 0x6e]; // 1.3.101.110
    pub const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11]; // 2.5.29.17

    /// Dotted form of an OID's DER contents, for messages.
    pub fn dotted(der: &[u8]) -> String {
        let mut arcs: Vec<u64> = Vec::new();
        let mut v: u64 = 0;
        for &b in der {
            v = (v << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                if arcs.is_empty() {
                    let first = (v / 40).min(2);
                    arcs.push(first);
                    arcs.push(v - first * 40);
                } else {
                    arcs.push(v);
                }
                v = 0;
            }
            if v > u64::MAX >> 8 {
                return "(unreadable)".into();
            }
        }
        arcs.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
    }
}

struct Der<'a> {
    buf: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(buf: &'a [u8]) -> Der<'a> {
        Der { buf }
    }

    fn peek_tag(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    /// The next element's tag and contents.
    fn read(&mut self) -> Option<(u8, &'a [u8])> {
        let (&t, rest) = self.buf.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            // 0x80 is BER's indefinite length, not DER; four length bytes are plenty.
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        let (content, after) = rest.split_at(len);
        self.buf = after;
        Some((t, content))
    }

    /// The next element's contents, when it has tag `want`.
    fn expect(&mut self, want: u8) -> Option<&'a [u8]> {
        match self.read()? {
            (t, content) if t == want => Some(content),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_written_like_json() {
        for v in [0i64, 7, 60, 4102444800, -1, -4102444800, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_i64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }

    #[test]
    fn oids_print_dotted() {
        assert_eq!(oid::dotted(oid::SECP384R1), "1.3.132.0.34");
        assert_eq!(oid::dotted(oid::PRIME256V1), "1.2.840.10045.3.1.7");
        assert_eq!(oid::dotted(oid::RSA_ENCRYPTION), "1.2.840.113549.1.1.1");
    }

    #[test]
    fn der_reader_refuses_truncated_and_indefinite_lengths() {
        assert_eq!(Der::new(&[0x30, 0x03, 0x02, 0x01]).read(), None);
        assert_eq!(Der::new(&[0x30, 0x80, 0x00, 0x00]).read(), None);
        assert_eq!(Der::new(&[0x30, 0x81]).read(), None);
        assert_eq!(Der::new(&[0x04, 0x81, 0x01, 0xff]).read(), Some((0x04, &[0xffu8][..])));
    }

    #[test]
    fn pem_blocks_skip_headers_and_find_labels() {
        let text = "junk\n-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n\
                    -----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let blocks = pem_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "EC PARAMETERS");
        assert!(!blocks[0].encrypted_header);
        assert_eq!(blocks[1].label, "EC PRIVATE KEY");
        assert!(blocks[1].encrypted_header);
        assert_eq!(blocks[1].base64.as_str(), "AAAA");
    }
}
