//! Registration tokens, inspected offline.

use std::ffi::c_char;

use crate::boundary::{guard, json_string, opt_str_arg, str_arg, Out};
use mondoo::error::Code;
use mondoo::token::RegistrationToken;

/// Inspect a registration token offline (no request is made) and return its claims.
///
/// `token`: the token text (surrounding whitespace is ignored). `endpoint_override`:
/// the API endpoint to use when the token names none, or NULL.
///
/// Ownership: `token` and `endpoint_override` are borrowed for the call (neither is
/// kept). On success `*claims_json_out` is a new JSON object owned by the caller, freed
/// with `mondoo_string_free`: the claims (`space`, `api_endpoint`, `exp`, `labels`,
/// ...; never the token itself).
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
