//! Registration tokens (protocol section 2): read offline, never verified.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;

/// The claims libmondoo uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenClaims {
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub space: Option<String>,
    pub desc: Option<String>,
    pub api_endpoint: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub owner: Option<String>,
    pub cert_valid_until: Option<String>,
}

/// A checked registration token. Debug and Display never print the token itself.
#[derive(Clone)]
pub struct RegistrationToken {
    _todo: (),
}

impl RegistrationToken {
    /// Check a token now (section 2). `endpoint_override` stands in for an empty
    /// `api_endpoint` claim.
    pub fn inspect(token: &str, endpoint_override: Option<&str>) -> Result<RegistrationToken> {
        RegistrationToken::inspect_at(token, endpoint_override, crate::unix_now())
    }
    pub fn inspect_at(_token: &str, _endpoint_override: Option<&str>, _now: i64) -> Result<RegistrationToken> {
        unimplemented!()
    }
    pub fn claims(&self) -> &TokenClaims {
        unimplemented!()
    }
    /// Header `alg`.
    pub fn alg(&self) -> &str {
        unimplemented!()
    }
    /// Warnings, e.g. "token has no expiry".
    pub fn warnings(&self) -> &[String] {
        unimplemented!()
    }
    /// The endpoint to register at: the override, else the token's.
    pub fn api_endpoint(&self) -> &str {
        unimplemented!()
    }
    /// The raw token, for the bearer header (crate-only).
    pub(crate) fn secret(&self) -> &str {
        unimplemented!()
    }
    /// Claims as JSON (no secret in them).
    pub fn to_json(&self) -> serde_json::Value {
        unimplemented!()
    }
}
