//! Typed accessors of `mondoo_status` (made by `mondoo_client_status_report` in
//! `client.rs`), so C callers read the fields they need without parsing the JSON.

use std::ffi::c_char;

use crate::boundary::{c_string, guard, Out};
use crate::client::mondoo_status;
use crate::handle::{as_ref, BoxHandle};
use crate::last_error::{mondoo_error, ErrorObject};
use mondoo::{Code, Result};
use mondoo::{ErrorReport, StatusReport};

/// One field of a report into `*out`: read from a live report, written on success only.
unsafe fn status_field<T>(
    name: &'static str,
    status: *const mondoo_status,
    out: *mut T,
    out_param: &'static str,
    read: impl FnOnce(&StatusReport) -> Result<T>,
) -> Code {
    guard(name, || {
        let out = Out::new(out, out_param)?;
        let value = read(as_ref(status, "status")?)?;
        out.write(value);
        Ok(())
    })
}

/// An optional text field as an owned C string (NULL when absent).
fn owned_text(value: Option<&str>, what: &str) -> Result<*mut c_char> {
    Ok(value
        .map(|v| c_string(v, what, Code::ResponseInvalid))
        .transpose()?
        .map_or(std::ptr::null_mut(), |c| c.into_raw()))
}

/// An error of the report as a new `mondoo_error` (NULL when there was none).
fn error_object(report: Option<&ErrorReport>) -> *mut mondoo_error {
    report.map_or(std::ptr::null_mut(), |r| mondoo_error::into_raw(ErrorObject::new(r.to_error())))
}

/// Whether the config holds a service account (`client.registered` of the JSON).
///
/// Ownership: `status` is borrowed for the call; on success `*registered_out` (a `bool` of
/// the caller's) is written; nothing is allocated.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `registered_out`
/// (`*registered_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_is_registered(status: *const mondoo_status, registered_out: *mut bool) -> Code {
    status_field("mondoo_status_is_registered", status, registered_out, "registered_out", |r| Ok(r.client.registered))
}

/// Whether the platform accepted the credentials: the signed `AgentManager/PingPong`
/// succeeded (`client.authenticated` of the JSON). False when not registered.
///
/// Ownership: `status` is borrowed for the call; on success `*authenticated_out` (a
/// `bool` of the caller's) is written; nothing is allocated.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `authenticated_out`
/// (`*authenticated_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_is_authenticated(
    status: *const mondoo_status,
    authenticated_out: *mut bool,
) -> Code {
    status_field("mondoo_status_is_authenticated", status, authenticated_out, "authenticated_out", |r| {
        Ok(r.client.authenticated)
    })
}

/// Why the platform did not accept the credentials: the error of the signed PingPong as
/// an error object (read it with `mondoo_error_code`, `mondoo_error_message`,
/// `mondoo_error_rpc_code`, `mondoo_error_http_status`), e.g.
/// `MONDOO_RESULT_RPC_UNAUTHENTICATED` for a revoked service account. `*error_out` is NULL
/// when the PingPong succeeded or was not sent (not registered).
///
/// Ownership: `status` is borrowed for the call. On success `*error_out` is a new error
/// object owned by the caller, freed with `mondoo_error_free` (or NULL); it is not the
/// thread's last error and does not change it.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `error_out`
/// (`*error_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_auth_error(
    status: *const mondoo_status,
    error_out: *mut *mut mondoo_error,
) -> Code {
    status_field("mondoo_status_auth_error", status, error_out, "error_out", |r| {
        Ok(error_object(r.client.ping_pong_error.as_ref()))
    })
}

/// Why the API could not be reached: the error of `Health/Check` as an error object
/// (network codes such as `MONDOO_RESULT_TLS`, or a platform code), NULL when the API
/// answered.
///
/// Ownership: `status` is borrowed for the call. On success `*error_out` is a new error
/// object owned by the caller, freed with `mondoo_error_free` (or NULL); it is not the
/// thread's last error and does not change it.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `error_out`
/// (`*error_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_api_error(
    status: *const mondoo_status,
    error_out: *mut *mut mondoo_error,
) -> Code {
    status_field("mondoo_status_api_error", status, error_out, "error_out", |r| {
        Ok(error_object(r.upstream.api.error.as_ref()))
    })
}

/// The clock skew measured against the platform, in seconds: the API's time minus the
/// local time (negative: the local clock is ahead). NaN when it was not measured (the API
/// was not reached or sent no time).
///
/// Ownership: `status` is borrowed for the call; on success `*seconds_out` (a `double` of
/// the caller's) is written; nothing is allocated.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `seconds_out`
/// (`*seconds_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_clock_skew_seconds(status: *const mondoo_status, seconds_out: *mut f64) -> Code {
    status_field("mondoo_status_clock_skew_seconds", status, seconds_out, "seconds_out", |r| {
        Ok(r.clock_skew_seconds.unwrap_or(f64::NAN))
    })
}

/// The round trip of `Health/Check`, in milliseconds; NaN when the API was not reached.
///
/// Ownership: `status` is borrowed for the call; on success `*ms_out` (a `double` of the
/// caller's) is written; nothing is allocated.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `ms_out` (`*ms_out` not
/// written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_round_trip_ms(status: *const mondoo_status, ms_out: *mut f64) -> Code {
    status_field("mondoo_status_round_trip_ms", status, ms_out, "ms_out", |r| Ok(r.round_trip_ms.unwrap_or(f64::NAN)))
}

/// The API endpoint the report is about (`upstream.api.endpoint` of the JSON).
///
/// Ownership: `status` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`); never NULL on success.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `value_out`
/// (`*value_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_api_endpoint(status: *const mondoo_status, value_out: *mut *mut c_char) -> Code {
    status_field("mondoo_status_api_endpoint", status, value_out, "value_out", |r| {
        owned_text(Some(&r.upstream.api.endpoint), "API endpoint")
    })
}

/// The agent's MRN (`agent_mrn` of the config). NULL when not registered, or when the
/// service account has no agent (which the text and JSON show as "no managed client").
///
/// Ownership: `status` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`), or NULL (absence is not an
/// error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `value_out`
/// (`*value_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_agent_mrn(status: *const mondoo_status, value_out: *mut *mut c_char) -> Code {
    status_field("mondoo_status_agent_mrn", status, value_out, "value_out", |r| owned_text(r.agent_mrn(), "agent MRN"))
}

/// The service account's MRN (`mrn` of the config); NULL when not registered.
///
/// Ownership: `status` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`), or NULL (absence is not an
/// error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `value_out`
/// (`*value_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_service_account_mrn(
    status: *const mondoo_status,
    value_out: *mut *mut c_char,
) -> Code {
    status_field("mondoo_status_service_account_mrn", status, value_out, "value_out", |r| {
        owned_text(r.service_account_mrn(), "service account MRN")
    })
}

/// The space (or organization) the config belongs to (`scope_mrn`, `space_mrn` or
/// `parent_mrn` of the config); NULL when the config names none.
///
/// Ownership: `status` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`), or NULL (absence is not an
/// error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `value_out`
/// (`*value_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_space_mrn(status: *const mondoo_status, value_out: *mut *mut c_char) -> Code {
    status_field("mondoo_status_space_mrn", status, value_out, "value_out", |r| owned_text(r.space_mrn(), "space MRN"))
}
