//! The SecureTokenService (protocol section 8): keyless clients exchange an SSH-agent
//! signature or an external identity token for a new short-lived service account.
//!
//! Refusal codes (the real server's source is not public; chosen from gRPC semantics and
//! ranger's convention that every authentication failure is 16):
//! - 3 InvalidArgument: a malformed request (missing claims or fields, a time that is not
//!   RFC 3339, a signature that is not hex SSH wire format, a JWT that is not a JWT, an
//!   unknown `response_type`)
//! - 16 Unauthenticated (body "request permission unauthenticated", the reason in the
//!   request record): no signature from an authorized key, expired or future claims, an
//!   identity token from an unknown issuer, with a bad signature, the wrong audience, or
//!   expired / not yet valid
//! - 7 PermissionDenied: the proof is good but names no identity bound here (unknown
//!   subject, a key not bound to the subject, another scope), or the exchange was refused
//!   ([`crate::Platform::refuse_exchanges`])

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use mondoo::__private::sts::{claims_message, SshClaims, SshSignature, RESPONSE_TYPE_TOKEN, SSH_SIGNATURE_ALG};
use serde::Serialize;
use serde_json::{Map, Value};
use signature::Verifier;
use ssh_key::{Algorithm, HashAlg, PublicKey, Signature};

use crate::LEEWAY_SECONDS;

/// Default validity of an exchanged credential's certificate.
pub const DEFAULT_EXCHANGE_TTL_SECONDS: i64 = 3600;
/// Claims that claim to be valid for longer than this are refused: Go asks for 5 minutes.
const MAX_CLAIMS_VALIDITY_SECONDS: i64 = 15 * 60;

/// An exchange as the platform saw it (in [`crate::RecordedRequest::exchange`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeRecord {
    /// the claims' subject (SSH) or the identity token's `sub` (external)
    pub subject: String,
    /// SSH: the fingerprint of the key whose signature verified
    pub key_fingerprint: Option<String>,
    /// external: the identity token's issuer
    pub issuer: Option<String>,
    /// the service account made, when the exchange succeeded
    pub account_mrn: Option<String>,
}

struct SshKeyBinding {
    subject_mrn: String,
    scope_mrn: String,
    fingerprint: String,
    key: PublicKey,
}

struct WorkloadBinding {
    issuer: String,
    audience: String,
    subject: String,
    scope_mrn: String,
}

/// What the SecureTokenService knows; cleared by a platform reset.
pub(crate) struct StsState {
    ssh_keys: Vec<SshKeyBinding>,
    workloads: Vec<WorkloadBinding>,
    /// (issuer, JWKS) of the identity providers the platform trusts
    issuers: Vec<(String, Value)>,
    refusals: u32,
    pub(crate) credential_ttl_seconds: i64,
    /// `api_endpoint` of the exchanged credentials instead of the platform's URL
    pub(crate) answered_api_endpoint: Option<String>,
}

impl Default for StsState {
    fn default() -> Self {
        StsState {
            ssh_keys: Vec::new(),
            workloads: Vec::new(),
            issuers: Vec::new(),
            refusals: 0,
            credential_ttl_seconds: DEFAULT_EXCHANGE_TTL_SECONDS,
            answered_api_endpoint: None,
        }
    }
}

/// Why an exchange was refused: the ranger code, the message sent, and the reason kept
/// in the record (for a 16 the message is the generic one).
pub(crate) struct Refusal {
    pub code: u32,
    pub message: String,
    pub record: Option<Box<ExchangeRecord>>,
}

fn refuse(code: u32, message: impl Into<String>, record: Option<ExchangeRecord>) -> Refusal {
    Refusal { code, message: message.into(), record: record.map(Box::new) }
}

/// Who an exchange authenticated and for which scope.
pub(crate) struct Verified {
    pub scope_mrn: String,
    pub record: ExchangeRecord,
}

impl StsState {
    /// Bind an OpenSSH public key (`ssh-ed25519 AAAA... comment`) to an identity and scope.
    pub(crate) fn authorize_ssh_key(&mut self, subject: &str, scope: &str, openssh: &str) -> Result<String, String> {
        let key = PublicKey::from_openssh(openssh.trim()).map_err(|e| format!("not an OpenSSH public key: {e}"))?;
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        self.ssh_keys.push(SshKeyBinding {
            subject_mrn: subject.to_string(),
            scope_mrn: scope.to_string(),
            fingerprint: fingerprint.clone(),
            key,
        });
        Ok(fingerprint)
    }

    pub(crate) fn authorize_workload(&mut self, issuer: &str, audience: &str, subject: &str, scope: &str) {
        self.workloads.push(WorkloadBinding {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            subject: subject.to_string(),
            scope_mrn: scope.to_string(),
        });
    }

    pub(crate) fn trust_issuer(&mut self, issuer: &str, jwks: Value) {
        self.issuers.retain(|(i, _)| i != issuer);
        self.issuers.push((issuer.to_string(), jwks));
    }

    pub(crate) fn refuse_next(&mut self, times: u32) {
        self.refusals = times;
    }

    /// Keep what outlives a reset (the trusted issuers: the local one runs on).
    pub(crate) fn reset(&mut self) {
        let issuers = std::mem::take(&mut self.issuers);
        *self = StsState { issuers, ..StsState::default() };
    }

    fn take_refusal(&mut self) -> bool {
        if self.refusals == 0 {
            return false;
        }
        self.refusals -= 1;
        true
    }

    /// Verify an ExchangeSSH request at platform time `now`.
    pub(crate) fn verify_ssh(&mut self, body: &Map<String, Value>, now: i64) -> Result<Verified, Refusal> {
        let claims: SshClaims = body
            .get("claims")
            .cloned()
            .and_then(|c| serde_json::from_value(c).ok())
            .ok_or_else(|| refuse(3, "claims are missing", None))?;
        let signatures: Vec<SshSignature> = body
            .get("signatures")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| refuse(3, format!("signatures: {e}"), None))?
            .unwrap_or_default();
        for (name, value) in [("subject", &claims.subject), ("resource", &claims.resource)] {
            if value.is_empty() {
                return Err(refuse(3, format!("claims.{name} is empty"), None));
            }
        }
        let record = |fingerprint: Option<String>| ExchangeRecord {
            subject: claims.subject.clone(),
            key_fingerprint: fingerprint,
            issuer: None,
            account_mrn: None,
        };
        let time = |name: &str, value: &str| {
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|_| refuse(3, format!("claims.{name} {value:?} is not RFC 3339"), Some(record(None))))
        };
        let (exp, iat) = (time("exp", &claims.exp)?, time("iat", &claims.iat)?);
        if signatures.is_empty() {
            return Err(refuse(3, "no signatures", Some(record(None))));
        }
        if self.take_refusal() {
            return Err(refuse(7, "exchange refused", Some(record(None))));
        }
        if exp + LEEWAY_SECONDS < now {
            return Err(refuse(16, format!("claims expired at {exp} (platform time {now})"), Some(record(None))));
        }
        if iat > now + LEEWAY_SECONDS {
            return Err(refuse(16, format!("claims issued at {iat}, after platform time {now}"), Some(record(None))));
        }
        if exp - iat > MAX_CLAIMS_VALIDITY_SECONDS {
            return Err(refuse(16, format!("claims valid {} s, more than allowed", exp - iat), Some(record(None))));
        }
        let message = claims_message(&claims);
        let mut verified_keys = Vec::new();
        for signature in &signatures {
            if signature.alg != SSH_SIGNATURE_ALG {
                continue;
            }
            let wire = hex::decode(&signature.sig)
                .map_err(|_| refuse(3, format!("signature of {} is not hex", signature.kid), Some(record(None))))?;
            let sig = Signature::try_from(wire.as_slice()).map_err(|_| {
                refuse(3, format!("signature of {} is not an SSH signature", signature.kid), Some(record(None)))
            })?;
            // SHA-1 `ssh-rsa` is not accepted: RSA must sign rsa-sha2-256 or rsa-sha2-512.
            if matches!(sig.algorithm(), Algorithm::Rsa { hash: None }) {
                continue;
            }
            for binding in self.ssh_keys.iter().filter(|b| b.fingerprint == signature.kid) {
                if binding.key.key_data().verify(&message, &sig).is_ok() {
                    verified_keys.push(binding);
                }
            }
        }
        let Some(first) = verified_keys.first() else {
            return Err(refuse(16, "no signature verifies with an authorized key", Some(record(None))));
        };
        let fingerprint = Some(first.fingerprint.clone());
        match verified_keys.iter().find(|b| b.subject_mrn == claims.subject && b.scope_mrn == claims.resource) {
            Some(binding) => {
                Ok(Verified { scope_mrn: binding.scope_mrn.clone(), record: record(Some(binding.fingerprint.clone())) })
            }
            None => Err(refuse(
                7,
                format!("the signing key is not bound to {} for {}", claims.subject, claims.resource),
                Some(record(fingerprint)),
            )),
        }
    }

    /// Verify an ExchangeExternalToken request at platform time `now`; Ok also says
    /// whether a token credential was asked for.
    pub(crate) fn verify_external(&mut self, body: &Map<String, Value>, now: i64) -> Result<(Verified, bool), Refusal> {
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (issuer, audience, jwt) = (field("issuer_uri"), field("audience"), field("jwt_token"));
        for (name, value) in [("issuer_uri", &issuer), ("audience", &audience), ("jwt_token", &jwt)] {
            if value.is_empty() {
                return Err(refuse(3, format!("{name} is empty"), None));
            }
        }
        let wants_token = match field("response_type").as_str() {
            "" => false,
            RESPONSE_TYPE_TOKEN => true,
            other => return Err(refuse(3, format!("unknown response_type {other:?}"), None)),
        };
        let header = jsonwebtoken::decode_header(&jwt).map_err(|e| refuse(3, format!("jwt_token: {e}"), None))?;
        let unverified_sub = unverified_subject(&jwt);
        let record = |subject: String| ExchangeRecord {
            subject,
            key_fingerprint: None,
            issuer: Some(issuer.clone()),
            account_mrn: None,
        };
        if self.take_refusal() {
            return Err(refuse(7, "exchange refused", Some(record(unverified_sub))));
        }
        let unauthenticated = |why: String| refuse(16, why, Some(record(unverified_sub.clone())));
        let jwks = self
            .issuers
            .iter()
            .find(|(i, _)| *i == issuer)
            .map(|(_, jwks)| jwks.clone())
            .ok_or_else(|| unauthenticated(format!("unknown issuer {issuer}")))?;
        let jwks: JwkSet = serde_json::from_value(jwks).map_err(|e| unauthenticated(format!("issuer JWKS: {e}")))?;
        let jwk = match &header.kid {
            Some(kid) => jwks.find(kid),
            None => jwks.keys.first(),
        }
        .ok_or_else(|| unauthenticated(format!("no key {:?} in the issuer's JWKS", header.kid)))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| unauthenticated(format!("issuer key: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Times are checked below against the platform clock, not the process clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = jsonwebtoken::decode::<Value>(&jwt, &key, &validation)
            .map_err(|e| unauthenticated(format!("identity token: {e}")))?
            .claims;
        let number = |k: &str| claims.get(k).and_then(Value::as_i64);
        let subject = claims.get("sub").and_then(Value::as_str).unwrap_or("").to_string();
        match (number("exp"), number("nbf"), number("iat")) {
            (Some(exp), _, _) if exp + LEEWAY_SECONDS < now => {
                return Err(unauthenticated(format!("identity token expired at {exp} (platform time {now})")))
            }
            (_, Some(nbf), _) if nbf > now + LEEWAY_SECONDS => {
                return Err(unauthenticated(format!("identity token not valid before {nbf}")))
            }
            (_, _, Some(iat)) if iat > now + LEEWAY_SECONDS => {
                return Err(unauthenticated(format!("identity token issued at {iat}, in the future")))
            }
            (None, _, _) => return Err(unauthenticated("identity token has no numeric exp".to_string())),
            _ => {}
        }
        match self.workloads.iter().find(|w| w.issuer == issuer && w.audience == audience && w.subject == subject) {
            Some(w) => Ok((Verified { scope_mrn: w.scope_mrn.clone(), record: record(subject) }, wants_token)),
            None => Err(refuse(7, format!("no workload {subject} of {issuer} for {audience}"), Some(record(subject)))),
        }
    }
}

/// `sub` of a JWT read without verification, only to say who a refused request claimed to be.
fn unverified_subject(jwt: &str) -> String {
    use base64::Engine;
    jwt.split('.')
        .nth(1)
        .and_then(|c| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("sub").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}
