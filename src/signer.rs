//! Request signing (protocol section 4): ES384 bearer JWTs bound to the body.

use crate::config::Config;
use crate::error::Result;

/// Claims of a verified bearer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BearerClaims {
    pub chash: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub nbf: i64,
    pub sub: String,
}

/// A service account's signing key. Debug never prints the key; key bytes are zeroized
/// on drop.
pub struct Signer {
    _todo: (),
}

impl Signer {
    pub fn from_config(_config: &Config) -> Result<Signer> {
        unimplemented!()
    }
    /// From PEM: PKCS#8 or SEC1 P-384 key; when given, the certificate must hold its
    /// public key.
    pub fn from_pem(_mrn: &str, _private_key_pem: &str, _certificate_pem: Option<&str>) -> Result<Signer> {
        unimplemented!()
    }
    pub fn mrn(&self) -> &str {
        unimplemented!()
    }
    /// A fresh bearer for exactly these body bytes, at now (+ the clock offset).
    pub fn sign(&self, _body: &[u8]) -> Result<String> {
        unimplemented!()
    }
    pub fn sign_at(&self, _body: &[u8], _now: i64) -> Result<String> {
        unimplemented!()
    }
    /// Sign arbitrary JSON claims with header `{"alg":"ES384","kid":mrn,"typ":"JWT"}`
    /// (the local platform mints registration tokens with this).
    pub fn sign_claims(&self, _claims: &serde_json::Value) -> Result<String> {
        unimplemented!()
    }
    /// Seconds added to the local clock when signing (opt-in skew correction).
    pub fn set_clock_offset(&self, _seconds: i64) {
        unimplemented!()
    }
    /// Uncompressed SEC1 public point (97 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        unimplemented!()
    }
}

/// Lowercase hex SHA-256 of `body` (the `chash` claim).
pub fn chash(_body: &[u8]) -> String {
    unimplemented!()
}

/// Verify a bearer as the platform does, with the certificate (PEM) of `kid`.
pub fn verify(_bearer: &str, _body: &[u8], _certificate_pem: &str, _now: i64) -> Result<BearerClaims> {
    unimplemented!()
}

/// The uncompressed P-384 public point in a PEM certificate.
pub fn certificate_public_key(_certificate_pem: &str) -> Result<Vec<u8>> {
    unimplemented!()
}
