//! `mondoo_registration`: the outcome of a registration (made by
//! `mondoo_client_register_report` in `client.rs`) and its typed accessors.

use std::ffi::c_char;

use crate::boundary::{c_string, guard, guard_value, json_string, path_string, Out};
use crate::handle::{as_ref, BoxHandle, Handle};
use mondoo::Registration;
use mondoo::{Code, Error, Result};

/// The outcome of a registration: the agent and service account it made, the space, the
/// endpoint and the config file written.
///
/// Made by `mondoo_client_register_report`, freed by `mondoo_registration_free`.
/// Immutable: any number of threads may read it.
pub struct mondoo_registration {
    _private: [u8; 0],
}

impl Handle for mondoo_registration {
    type Target = Registration;
}
impl BoxHandle for mondoo_registration {}

/// The registration as the JSON object `mondoo_client_register` returns.
pub(crate) fn registration_json(registration: &Registration) -> Result<serde_json::Value> {
    serde_json::to_value(registration)
        .map_err(|e| Error::new(Code::InvalidArgument, format!("registration cannot be shown as JSON: {e}")))
}

/// One field of a registration into `*out`: read from a live handle, written on success
/// only.
unsafe fn registration_field<T>(
    name: &'static str,
    registration: *const mondoo_registration,
    out: *mut T,
    out_param: &'static str,
    read: impl FnOnce(&Registration) -> Result<T>,
) -> Code {
    guard(name, || {
        let out = Out::new(out, out_param)?;
        let value = read(as_ref(registration, "registration")?)?;
        out.write(value);
        Ok(())
    })
}

/// A text field as an owned C string (NULL when absent).
fn owned_text(value: Option<&str>, what: &str) -> Result<*mut c_char> {
    let value = value.map(|v| c_string(v, what, Code::ResponseInvalid)).transpose()?;
    Ok(value.map_or(std::ptr::null_mut(), |c| c.into_raw()))
}

/// The agent's MRN (`agent_mrn`, now in the config).
///
/// Ownership: `registration` is borrowed for the call. On success `*value_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`); never NULL on success.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `registration` or `value_out`
/// (`*value_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same registration.
#[no_mangle]
pub unsafe extern "C" fn mondoo_registration_agent_mrn(
    registration: *const mondoo_registration,
    value_out: *mut *mut c_char,
) -> Code {
    registration_field("mondoo_registration_agent_mrn", registration, value_out, "value_out", |r| {
        owned_text(Some(&r.agent_mrn), "agent MRN")
    })
}

/// The service account's MRN (`mrn`, now in the config).
///
/// Ownership: `registration` is borrowed for the call. On success `*value_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`); never NULL on success.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `registration` or `value_out`
/// (`*value_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same registration.
#[no_mangle]
pub unsafe extern "C" fn mondoo_registration_service_account_mrn(
    registration: *const mondoo_registration,
    value_out: *mut *mut c_char,
) -> Code {
    registration_field("mondoo_registration_service_account_mrn", registration, value_out, "value_out", |r| {
        owned_text(Some(&r.service_account_mrn), "service account MRN")
    })
}

/// The space the agent was registered into (`space_mrn`).
///
/// Ownership: `registration` is borrowed for the call. On success `*value_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`), or NULL when the
/// platform named no space (absence is not an error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `registration` or `value_out`
/// (`*value_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same registration.
#[no_mangle]
pub unsafe extern "C" fn mondoo_registration_space_mrn(
    registration: *const mondoo_registration,
    value_out: *mut *mut c_char,
) -> Code {
    registration_field("mondoo_registration_space_mrn", registration, value_out, "value_out", |r| {
        owned_text(r.space_mrn.as_deref(), "space MRN")
    })
}

/// The API endpoint the agent is registered at (`api_endpoint`, now in the config).
///
/// Ownership: `registration` is borrowed for the call. On success `*value_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`); never NULL on success.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `registration` or `value_out`
/// (`*value_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same registration.
#[no_mangle]
pub unsafe extern "C" fn mondoo_registration_api_endpoint(
    registration: *const mondoo_registration,
    value_out: *mut *mut c_char,
) -> Code {
    registration_field("mondoo_registration_api_endpoint", registration, value_out, "value_out", |r| {
        owned_text(Some(&r.api_endpoint), "API endpoint")
    })
}

/// The config file the credentials were written to. On Unix the bytes are the path's
/// exact bytes.
///
/// Ownership: `registration` is borrowed for the call. On success `*value_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`), or NULL when nothing
/// was written to a file (absence is not an error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `registration` or `value_out` (on
/// Windows also `_INVALID_UTF8` for a path that is not Unicode). On error `*value_out` is
/// not written and the last error is set.
/// Thread safety: safe to call concurrently on the same registration.
#[no_mangle]
pub unsafe extern "C" fn mondoo_registration_config_path(
    registration: *const mondoo_registration,
    value_out: *mut *mut c_char,
) -> Code {
    registration_field("mondoo_registration_config_path", registration, value_out, "value_out", |r| {
        let path = r.config_path.as_deref().map(|p| path_string(p, "config path")).transpose()?;
        Ok(path.map_or(std::ptr::null_mut(), |c| c.into_raw()))
    })
}

/// Whether the config already held an agent, so nothing was registered (`cnspec login`
/// run twice).
///
/// Ownership: `registration` is borrowed for the call; on success `*already_out` (a
/// `bool` of the caller's) is written; nothing is allocated.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `registration` or `already_out`
/// (`*already_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same registration.
#[no_mangle]
pub unsafe extern "C" fn mondoo_registration_already_registered(
    registration: *const mondoo_registration,
    already_out: *mut bool,
) -> Code {
    registration_field("mondoo_registration_already_registered", registration, already_out, "already_out", |r| {
        Ok(r.already_registered)
    })
}

/// The registration as the JSON object `mondoo_client_register` returns:
/// `{"agent_mrn": string, "service_account_mrn": string, "space_mrn": string|null,
/// "api_endpoint": string, "config_path": string|null, "already_registered": bool}`.
///
/// Ownership: `registration` is borrowed for the call. On success `*json_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `registration` or `json_out`
/// (`*json_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same registration.
#[no_mangle]
pub unsafe extern "C" fn mondoo_registration_to_json(
    registration: *const mondoo_registration,
    json_out: *mut *mut c_char,
) -> Code {
    registration_field("mondoo_registration_to_json", registration, json_out, "json_out", |r| {
        Ok(json_string(&registration_json(r)?)?.into_raw())
    })
}

/// Free a registration. NULL is a no-op; freeing twice is undefined behaviour.
///
/// Ownership: takes `registration`; it must not be used after this call.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `registration` during or after this call.
#[no_mangle]
pub unsafe extern "C" fn mondoo_registration_free(registration: *mut mondoo_registration) {
    guard_value("mondoo_registration_free", || drop(mondoo_registration::from_raw(registration)))
}
