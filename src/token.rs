//! Registration tokens (protocol section 2): read offline, never verified.
//!
//! The client has no platform key, so a token is only checked for shape, types and time
//! before any network call; the platform verifies the signature when it is used. Nothing
//! here ever puts the token (or a piece of it) into an error, Debug or Display.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Code, Error, Result};

/// Largest token accepted: real ones are well under 2 KiB; the cap keeps a pasted file
/// from being decoded whole.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// JWS algorithms a registration token may name (RFC 7518 plus EdDSA).
const KNOWN_ALGS: &[&str] = &[
    "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "HS256", "HS384", "HS512", "EdDSA",
];

/// base64url that accepts the segment with or without `=` padding (tokens are copied
/// through tools that sometimes pad).
const B64URL_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The claims libmondoo uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TokenClaims {
    /// Expiry (Unix seconds).
    pub exp: Option<i64>,
    /// Not before (Unix seconds).
    pub nbf: Option<i64>,
    /// Issued at (Unix seconds).
    pub iat: Option<i64>,
    /// Issuer.
    pub iss: Option<String>,
    /// Subject (the token's service account or client).
    pub sub: Option<String>,
    /// The space the agent joins (the `space` claim, an MRN).
    #[serde(rename = "space")]
    pub space_mrn: Option<String>,
    /// The description given when the token was made.
    pub desc: Option<String>,
    /// The API endpoint to register at.
    pub api_endpoint: Option<String>,
    /// Labels the agent gets.
    pub labels: BTreeMap<String, String>,
    /// Who made the token.
    pub owner: Option<String>,
    /// How long the issued certificate is valid.
    pub cert_valid_until: Option<String>,
}

/// A checked registration token. Debug and Display never print the token itself.
#[derive(Clone)]
pub struct RegistrationToken {
    secret: Zeroizing<String>,
    alg: String,
    claims: TokenClaims,
    warnings: Vec<String>,
    api_endpoint: String,
}

impl RegistrationToken {
    /// Check a token now (section 2). `endpoint_override` stands in for an empty
    /// `api_endpoint` claim.
    pub fn inspect(token: &str, endpoint_override: Option<&str>) -> Result<RegistrationToken> {
        RegistrationToken::inspect_at(token, endpoint_override, crate::unix_now())
    }

    /// Check a token at `now` (Unix seconds). Checks run in this order: size, shape,
    /// claim types, expiry, not-before, space, endpoint.
    pub fn inspect_at(token: &str, endpoint_override: Option<&str>, now: i64) -> Result<RegistrationToken> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::new(
                Code::TokenTooLarge,
                format!(
                    "registration token is {} bytes; the limit is {} bytes (is this the right file?)",
                    token.len(),
                    MAX_TOKEN_BYTES
                ),
            ));
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(malformed("it is empty"));
        }
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(malformed(format!("expected three dot-separated parts, found {}", parts.len())));
        }
        let header = decode_json_object(parts[0], "header")?;
        let claims_json = decode_json_object(parts[1], "claims")?;
        if parts[2].is_empty() {
            return Err(malformed("the signature part is empty"));
        }
        if B64URL_ANY_PAD.decode(parts[2]).is_err() {
            return Err(malformed("the signature part is not base64url"));
        }

        let alg = match header.get("alg") {
            Some(Value::String(a)) if KNOWN_ALGS.contains(&a.as_str()) => a.clone(),
            // The alg is a short name chosen by the issuer, not a secret: name it.
            Some(Value::String(a)) => {
                return Err(malformed(format!("unsupported alg {:?} in the header", truncate(a, 16))))
            }
            Some(_) => return Err(malformed("the header's alg is not a string")),
            None => return Err(malformed("the header has no alg")),
        };

        let claims = read_claims(&claims_json)?;
        let mut warnings = Vec::new();

        match claims.exp {
            Some(exp) if now >= exp => {
                return Err(Error::new(Code::TokenExpired, format!("registration token expired at {}", rfc3339(exp))))
            }
            Some(_) => {}
            None => warnings.push("registration token has no expiry".to_string()),
        }
        if let Some(nbf) = claims.nbf {
            if now < nbf {
                return Err(Error::new(
                    Code::TokenNotYetValid,
                    format!("registration token is not valid before {}", rfc3339(nbf)),
                ));
            }
        }
        if claims.space_mrn.as_deref().is_none_or(str::is_empty) {
            return Err(Error::new(
                Code::TokenNoSpace,
                "registration token has no space claim: it cannot register anything; generate a new token in the space",
            ));
        }
        let api_endpoint = match endpoint_override.map(str::trim).filter(|s| !s.is_empty()) {
            Some(e) => e.to_string(),
            None => match claims.api_endpoint.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(e) => e.to_string(),
                None => {
                    return Err(Error::new(
                        Code::TokenNoEndpoint,
                        "registration token has no api_endpoint claim and no API endpoint was given",
                    ))
                }
            },
        };

        Ok(RegistrationToken { secret: Zeroizing::new(token.to_string()), alg, claims, warnings, api_endpoint })
    }

    /// The token's claims.
    pub fn claims(&self) -> &TokenClaims {
        &self.claims
    }
    /// Header `alg`.
    pub fn alg(&self) -> &str {
        &self.alg
    }
    /// Warnings, e.g. "registration token has no expiry".
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// The endpoint to register at: the override, else the token's.
    pub fn api_endpoint(&self) -> &str {
        &self.api_endpoint
    }
    /// The raw token, for the bearer header (crate-only).
    #[allow(dead_code)] // used by the registration flow
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
    /// Claims as JSON (no secret in them): every claim (null when absent), plus `alg`,
    /// the effective `endpoint`, `expires_at` (RFC 3339 or null) and `warnings`.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.claims).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("alg".into(), Value::String(self.alg.clone()));
            m.insert("endpoint".into(), Value::String(self.api_endpoint.clone()));
            m.insert("expires_at".into(), self.claims.exp.map(|e| Value::String(rfc3339(e))).unwrap_or(Value::Null));
            m.insert("warnings".into(), self.warnings.iter().cloned().map(Value::String).collect());
        }
        v
    }
}

impl fmt::Debug for RegistrationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationToken")
            .field("alg", &self.alg)
            .field("claims", &self.claims)
            .field("api_endpoint", &self.api_endpoint)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RegistrationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "registration token ({}) for space {}", self.alg, self.claims.space_mrn.as_deref().unwrap_or("?"))?;
        match self.claims.exp {
            Some(exp) => write!(f, ", expires {}", rfc3339(exp))?,
            None => f.write_str(", no expiry")?,
        }
        write!(f, ", endpoint {}", self.api_endpoint)
    }
}

fn malformed(why: impl fmt::Display) -> Error {
    Error::new(Code::TokenMalformed, format!("not a valid registration token: {why}"))
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn decode_json_object(part: &str, what: &str) -> Result<Map<String, Value>> {
    let bytes = Zeroizing::new(
        B64URL_ANY_PAD.decode(part).map_err(|_| malformed(format!("the {what} part is not base64url")))?,
    );
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(malformed(format!("the {what} is not a JSON object"))),
        Err(_) => Err(malformed(format!("the {what} is not JSON"))),
    }
}

fn invalid_claim(name: &str, expected: &str) -> Error {
    Error::new(Code::TokenInvalidClaim, format!("registration token claim {name} must be {expected}"))
}

/// A JWT NumericDate: a JSON number of seconds, possibly fractional (whole seconds are
/// kept, as Go's jwt library does).
pub(crate) fn numeric_date(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    // The bounds keep the cast exact; no real date is near them.
    (f.is_finite() && f.abs() < 9.0e15).then(|| f.trunc() as i64)
}

/// Unix seconds as RFC 3339 UTC, e.g. `2024-01-02T00:00:00Z`.
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("unix time {unix}"))
}

/// Read the claims libmondoo uses, checking their types. JSON `null` counts as absent,
/// as with Go's decoder; other claims are ignored.
fn read_claims(m: &Map<String, Value>) -> Result<TokenClaims> {
    let get = |name: &str| m.get(name).filter(|v| !v.is_null());
    let date = |name: &str| -> Result<Option<i64>> {
        get(name).map(|v| numeric_date(v).ok_or_else(|| invalid_claim(name, "a number (Unix seconds)"))).transpose()
    };
    let string = |name: &str| -> Result<Option<String>> {
        get(name).map(|v| v.as_str().map(str::to_string).ok_or_else(|| invalid_claim(name, "a string"))).transpose()
    };

    let mut labels = BTreeMap::new();
    if let Some(v) = get("labels") {
        let obj = v.as_object().ok_or_else(|| invalid_claim("labels", "an object of strings"))?;
        for (k, v) in obj {
            let s = v.as_str().ok_or_else(|| invalid_claim(&format!("labels.{k}"), "a string"))?;
            labels.insert(k.clone(), s.to_string());
        }
    }

    let cert_valid_until = string("cert_valid_until")?;
    if let Some(s) = &cert_valid_until {
        if time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_err() {
            return Err(invalid_claim("cert_valid_until", "an RFC 3339 time string"));
        }
    }

    Ok(TokenClaims {
        exp: date("exp")?,
        nbf: date("nbf")?,
        iat: date("iat")?,
        iss: string("iss")?,
        sub: string("sub")?,
        space_mrn: string("space")?,
        desc: string("desc")?,
        api_endpoint: string("api_endpoint")?,
        labels,
        owner: string("owner")?,
        cert_valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_take_whole_seconds() {
        assert_eq!(numeric_date(&serde_json::json!(1704153600)), Some(1704153600));
        assert_eq!(numeric_date(&serde_json::json!(1704153600.9)), Some(1704153600));
        assert_eq!(numeric_date(&serde_json::json!("1704153600")), None);
        assert_eq!(numeric_date(&serde_json::json!(1e300)), None);
    }

    #[test]
    fn rfc3339_is_utc_with_z() {
        assert_eq!(rfc3339(1704153600), "2024-01-02T00:00:00Z");
    }
}
