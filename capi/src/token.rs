//! Registration tokens, inspected offline.

use std::ffi::c_char;

use crate::boundary::{c_string, guard, guard_value, json_string, opt_str_arg, str_arg, Out};
use crate::handle::{as_ref, BoxHandle, Handle};
use mondoo::{Code, Result};
use mondoo::{RegistrationToken, TokenClaims};

/// What an inspected token says (its claims and the endpoint a registration would use);
/// never the token itself.
///
/// Made by `mondoo_token_inspect_report`, freed by `mondoo_token_info_free`. Immutable:
/// any number of threads may read it.
pub struct mondoo_token_info {
    _private: [u8; 0],
}

/// The Rust side of `mondoo_token_info`: the claims without the token, which is wiped
/// as soon as the inspection is done rather than kept as long as the caller keeps this.
pub(crate) struct TokenInfo {
    claims: TokenClaims,
    endpoint: String,
    json: serde_json::Value,
}

impl Handle for mondoo_token_info {
    type Target = TokenInfo;
}
impl BoxHandle for mondoo_token_info {}

/// Inspect a registration token offline (no request is made) and return its claims.
///
/// `token`: the token text (surrounding whitespace is ignored). `endpoint_override`:
/// the API endpoint to use when the token names none, or NULL.
///
/// Ownership: `token` and `endpoint_override` are borrowed for the call (neither is
/// kept). On success `*claims_json_out` is a new JSON object owned by the caller, freed
/// with `mondoo_string_free`; never the token itself. Its keys: the claims `space`,
/// `api_endpoint` (as written), `desc`, `iss`, `sub`, `owner`, `cert_valid_until`
/// (string|null), `exp`, `nbf`, `iat` (Unix seconds|null), `labels` ({string: string});
/// and `alg` (the header's), `endpoint` (where a registration goes: the override, else
/// the claim), `expires_at` (RFC 3339|null) and `warnings` ([string], e.g. "registration
/// token has no expiry"). `mondoo_token_inspect_report` gives the same as a handle.
/// Errors: `MONDOO_RESULT_TOKEN_MALFORMED` (not a JWT), `_TOKEN_EXPIRED` (the message
/// gives the expiry time), `_TOKEN_NOT_YET_VALID`, `_TOKEN_NO_SPACE`,
/// `_TOKEN_NO_ENDPOINT`, `_TOKEN_INVALID_CLAIM`, `_TOKEN_TOO_LARGE`; `_NULL_PARAMETER`
/// (NULL `token` or `claims_json_out`) and `_INVALID_UTF8` for bad arguments. On error
/// `*claims_json_out` is not written and the last error is set. No error message
/// contains the token.
/// Thread safety: safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_inspect(
    token: *const c_char,
    endpoint_override: *const c_char,
    claims_json_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_token_inspect", || {
        let out = Out::new(claims_json_out, "claims_json_out")?;
        let token = str_arg(token, "token")?;
        let endpoint_override = opt_str_arg(endpoint_override, "endpoint_override")?;
        let inspected = RegistrationToken::inspect(token, endpoint_override)?;
        out.write_string(json_string(&inspected.to_json())?);
        Ok(())
    })
}

/// Inspect a registration token offline as `mondoo_token_inspect` does, handing the
/// outcome back as a `mondoo_token_info` to read with `mondoo_token_info_space_mrn`,
/// `_api_endpoint`, `_expires_at`, `_description` and `_labels_json` (or `_to_json`).
///
/// Ownership: `token` and `endpoint_override` are borrowed for the call (neither is kept;
/// the info holds no copy of the token). On success `*info_out` is a new token info owned
/// by the caller, freed with `mondoo_token_info_free`.
/// Errors: as `mondoo_token_inspect` (`MONDOO_RESULT_TOKEN_MALFORMED`, `_TOKEN_EXPIRED`,
/// `_TOKEN_NOT_YET_VALID`, `_TOKEN_NO_SPACE`, `_TOKEN_NO_ENDPOINT`,
/// `_TOKEN_INVALID_CLAIM`, `_TOKEN_TOO_LARGE`; `_NULL_PARAMETER` for a NULL `token` or
/// `info_out`; `_INVALID_UTF8`). On error `*info_out` is not written and the last error
/// is set. No error message contains the token.
/// Thread safety: safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_inspect_report(
    token: *const c_char,
    endpoint_override: *const c_char,
    info_out: *mut *mut mondoo_token_info,
) -> Code {
    guard("mondoo_token_inspect_report", || {
        let out = Out::new(info_out, "info_out")?;
        let token = str_arg(token, "token")?;
        let endpoint_override = opt_str_arg(endpoint_override, "endpoint_override")?;
        let inspected = RegistrationToken::inspect(token, endpoint_override)?;
        let info = TokenInfo {
            claims: inspected.claims().clone(),
            endpoint: inspected.api_endpoint().to_owned(),
            json: inspected.to_json(),
        };
        out.write(mondoo_token_info::into_raw(info));
        Ok(())
    })
}

/// One field of a token info into `*out`: read from a live handle, written on success
/// only.
unsafe fn token_info_field<T>(
    name: &'static str,
    info: *const mondoo_token_info,
    out: *mut T,
    out_param: &'static str,
    read: impl FnOnce(&TokenInfo) -> Result<T>,
) -> Code {
    guard(name, || {
        let out = Out::new(out, out_param)?;
        let value = read(as_ref(info, "info")?)?;
        out.write(value);
        Ok(())
    })
}

/// A text field as an owned C string (NULL when absent).
fn owned_text(value: Option<&str>, what: &str) -> Result<*mut c_char> {
    let value = value.map(|v| c_string(v, what, Code::TokenInvalidClaim)).transpose()?;
    Ok(value.map_or(std::ptr::null_mut(), |c| c.into_raw()))
}

/// The space the token registers into (the `space` claim).
///
/// Ownership: `info` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`); never NULL on success (a
/// token without a space is refused by the inspection).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `info` or `value_out`;
/// `_TOKEN_INVALID_CLAIM` when the claim holds a NUL byte. On error `*value_out` is not
/// written and the last error is set.
/// Thread safety: safe to call concurrently on the same info.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_info_space_mrn(
    info: *const mondoo_token_info,
    value_out: *mut *mut c_char,
) -> Code {
    token_info_field("mondoo_token_info_space_mrn", info, value_out, "value_out", |i| {
        owned_text(i.claims.space_mrn.as_deref(), "space claim")
    })
}

/// The API endpoint a registration with the token goes to: the override given to the
/// inspection, else the `api_endpoint` claim.
///
/// Ownership: `info` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`); never NULL on success.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `info` or `value_out`;
/// `_TOKEN_INVALID_CLAIM` when the value holds a NUL byte. On error `*value_out` is not
/// written and the last error is set.
/// Thread safety: safe to call concurrently on the same info.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_info_api_endpoint(
    info: *const mondoo_token_info,
    value_out: *mut *mut c_char,
) -> Code {
    token_info_field("mondoo_token_info_api_endpoint", info, value_out, "value_out", |i| {
        owned_text(Some(&i.endpoint), "API endpoint")
    })
}

/// When the token expires, in Unix seconds (the `exp` claim); 0 for a token without
/// expiry (an inspected token's expiry is always after now, so 0 is never a real one).
///
/// Ownership: `info` is borrowed for the call; on success `*unix_seconds_out` (an
/// `int64_t` of the caller's) is written; nothing is allocated.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `info` or `unix_seconds_out`
/// (`*unix_seconds_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same info.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_info_expires_at(
    info: *const mondoo_token_info,
    unix_seconds_out: *mut i64,
) -> Code {
    token_info_field("mondoo_token_info_expires_at", info, unix_seconds_out, "unix_seconds_out", |i| {
        Ok(i.claims.exp.unwrap_or(0))
    })
}

/// The token's description (the `desc` claim), as the platform shows it.
///
/// Ownership: `info` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`), or NULL when the token has no
/// description (absence is not an error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `info` or `value_out`;
/// `_TOKEN_INVALID_CLAIM` when the claim holds a NUL byte. On error `*value_out` is not
/// written and the last error is set.
/// Thread safety: safe to call concurrently on the same info.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_info_description(
    info: *const mondoo_token_info,
    value_out: *mut *mut c_char,
) -> Code {
    token_info_field("mondoo_token_info_description", info, value_out, "value_out", |i| {
        owned_text(i.claims.desc.as_deref(), "desc claim")
    })
}

/// The labels the token gives the assets it registers, as a JSON object of strings
/// (`{}` when none).
///
/// Ownership: `info` is borrowed for the call. On success `*json_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `info` or `json_out` (`*json_out`
/// not written; last error set).
/// Thread safety: safe to call concurrently on the same info.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_info_labels_json(
    info: *const mondoo_token_info,
    json_out: *mut *mut c_char,
) -> Code {
    token_info_field("mondoo_token_info_labels_json", info, json_out, "json_out", |i| {
        let labels = serde_json::Map::from_iter(
            i.claims.labels.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))),
        );
        Ok(json_string(&serde_json::Value::Object(labels))?.into_raw())
    })
}

/// Everything the inspection found, as the JSON object `mondoo_token_inspect` returns
/// (its keys are listed there).
///
/// Ownership: `info` is borrowed for the call. On success `*json_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `info` or `json_out` (`*json_out`
/// not written; last error set).
/// Thread safety: safe to call concurrently on the same info.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_info_to_json(info: *const mondoo_token_info, json_out: *mut *mut c_char) -> Code {
    token_info_field("mondoo_token_info_to_json", info, json_out, "json_out", |i| Ok(json_string(&i.json)?.into_raw()))
}

/// Free a token info. NULL is a no-op; freeing twice is undefined behaviour.
///
/// Ownership: takes `info`; it must not be used after this call.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `info` during or after this call.
#[no_mangle]
pub unsafe extern "C" fn mondoo_token_info_free(info: *mut mondoo_token_info) {
    guard_value("mondoo_token_info_free", || drop(mondoo_token_info::from_raw(info)))
}
