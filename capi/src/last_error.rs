//! The calling thread's last error and the owned error object that carries it to C.
//!
//! Every fallible export clears the thread's last error when it starts and sets it when
//! it fails, so after a call `mondoo_error_last()` returns that call's error or NULL.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use crate::boundary::{c_string, guard_value, path_string, Out};
use crate::handle::{as_ref, BoxHandle, Handle};
use mondoo::{Code, Error, Result};

thread_local! {
    static LAST_ERROR: RefCell<Option<Error>> = const { RefCell::new(None) };
}

// `try_with`: during thread teardown the slot may be gone; the error is then dropped
// rather than panicking inside the boundary.
pub(crate) fn set(error: Error) {
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some(error));
}

pub(crate) fn clear() {
    let _ = LAST_ERROR.try_with(|slot| slot.borrow_mut().take());
}

fn take() -> Option<Error> {
    LAST_ERROR.try_with(|slot| slot.borrow_mut().take()).ok().flatten()
}

fn peek_message() -> Option<String> {
    LAST_ERROR.try_with(|slot| slot.borrow().as_ref().map(|e| e.to_string())).ok().flatten()
}

/// An error taken from `mondoo_error_last`: its code, message and structured fields
/// (rpc code, HTTP status, config path, measured clock skew). Owned by the caller, who
/// frees it with `mondoo_error_free`. Not tied to a thread once taken.
pub struct mondoo_error {
    _private: [u8; 0],
}

/// The Rust side of `mondoo_error`: the C strings are made once so the accessors can
/// hand out pointers that live as long as the object.
pub(crate) struct ErrorObject {
    error: Error,
    message: CString,
    path: Option<CString>,
    graphql_response: Option<CString>,
}

impl Handle for mondoo_error {
    type Target = ErrorObject;
}
impl BoxHandle for mondoo_error {}

impl ErrorObject {
    pub(crate) fn new(error: Error) -> ErrorObject {
        // A message with a NUL byte in it is still shown, with the NUL made visible.
        let message = CString::new(error.to_string().replace('\0', "\\0")).unwrap_or_default();
        let path = error.path().and_then(|p| path_string(p, "error path").ok());
        // serde_json escapes NUL, so the answer always makes a C string.
        let graphql_response = error.graphql_response().and_then(|r| CString::new(r.to_json().to_string()).ok());
        ErrorObject { error, message, path, graphql_response }
    }
}

/// Take the calling thread's last error as an owned object.
///
/// Returns NULL when the most recent fallible call on this thread succeeded (or none
/// was made). Taking it clears it: a second call returns NULL.
///
/// Ownership: the caller owns the returned object and frees it with `mondoo_error_free`.
/// Errors: none: NULL means there is no last error (an internal panic also gives NULL).
/// Thread safety: reads only the calling thread's error; safe to call from any thread.
#[no_mangle]
pub extern "C" fn mondoo_error_last() -> *mut mondoo_error {
    guard_value("mondoo_error_last", || match take() {
        Some(error) => mondoo_error::into_raw(ErrorObject::new(error)),
        None => std::ptr::null_mut(),
    })
}

/// The result code of an error.
///
/// Ownership: `error` is borrowed for the call (read, not kept, not freed).
/// Errors: none: returns `MONDOO_RESULT_NULL_PARAMETER` when `error` is NULL, without
/// setting the last error.
/// Thread safety: safe to call concurrently on the same object (it is only read).
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_code(error: *const mondoo_error) -> Code {
    guard_value("mondoo_error_code", || as_ref(error, "error").map_or(Code::NullParameter, |e| e.error.code()))
}

/// The error's message: what failed and where, never a secret. For an error answered by
/// the platform it reads as Go prints it (`rpc error: code = Unauthenticated desc = ...`).
///
/// Ownership: `error` is borrowed for the call. The returned string belongs to `error`:
/// it stays valid until `mondoo_error_free(error)`; do not free it.
/// Errors: none: returns NULL when `error` is NULL (the last error is not set); never NULL
/// otherwise.
/// Thread safety: safe to call concurrently on the same object.
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_message(error: *const mondoo_error) -> *const c_char {
    guard_value("mondoo_error_message", || as_ref(error, "error").map_or(std::ptr::null(), |e| e.message.as_ptr()))
}

/// The gRPC status code the platform answered (1..16).
///
/// Ownership: `error` is borrowed for the call (read, not kept, not freed).
/// Errors: none: returns -1 when the error did not come from the platform or `error` is
/// NULL (the last error is not set).
/// Thread safety: safe to call concurrently on the same object.
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_rpc_code(error: *const mondoo_error) -> i32 {
    guard_value("mondoo_error_rpc_code", || as_ref(error, "error").ok().and_then(|e| e.error.rpc_code()).unwrap_or(-1))
}

/// The HTTP status of the answer that caused the error.
///
/// Ownership: `error` is borrowed for the call (read, not kept, not freed).
/// Errors: none: returns -1 when there was no answer or `error` is NULL (the last error
/// is not set).
/// Thread safety: safe to call concurrently on the same object.
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_http_status(error: *const mondoo_error) -> i32 {
    guard_value("mondoo_error_http_status", || {
        as_ref(error, "error").ok().and_then(|e| e.error.http_status()).map_or(-1, i32::from)
    })
}

/// The file the error is about: the config for every configuration error and for
/// `MONDOO_RESULT_NOT_REGISTERED` (none for a config from `MONDOO_CONFIG_BASE64`), or a
/// key or CA file.
///
/// Ownership: `error` is borrowed for the call. The returned string belongs to `error`:
/// it stays valid until `mondoo_error_free(error)`; do not free it.
/// Errors: none: returns NULL when the error names no file or `error` is NULL (the last
/// error is not set).
/// Thread safety: safe to call concurrently on the same object.
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_path(error: *const mondoo_error) -> *const c_char {
    guard_value("mondoo_error_path", || {
        as_ref(error, "error").ok().and_then(|e| e.path.as_ref()).map_or(std::ptr::null(), |p| p.as_ptr())
    })
}

/// The clock skew measured against the platform before the call failed, in seconds:
/// platform time minus local time, so positive when the platform's clock is ahead of the
/// local one (the local clock is behind) — the sign of the status report's
/// `clock_skew_seconds`. Set on the errors of calls made as the service account once the
/// client measured the skew (a status report, or clock-skew correction); a 401 with a
/// skew beyond a minute means the local clock needs fixing.
///
/// Ownership: `error` is borrowed for the call (read, not kept, not freed).
/// Errors: none: returns NaN when no skew was measured or `error` is NULL (the last error
/// is not set).
/// Thread safety: safe to call concurrently on the same object.
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_clock_skew_seconds(error: *const mondoo_error) -> f64 {
    guard_value("mondoo_error_clock_skew_seconds", || {
        as_ref(error, "error").ok().and_then(|e| e.error.clock_skew_seconds()).unwrap_or(f64::NAN)
    })
}

/// The credentials of an agent that was registered when its config could not be written
/// afterwards (`mondoo_client_register` failed after `RegisterAgent`; the message names
/// the agent): a JSON document with `agent_mrn`, `mrn`, `space_mrn`, `private_key` (or
/// `token`), `certificate` and `api_endpoint` that is itself a usable config. Save it
/// (mode 0600) to keep the agent, or load it as the config and log out to unregister it.
///
/// Ownership: `error` is borrowed for the call. On success `*json_out` is a new string
/// owned by the caller, freed (and wiped) with `mondoo_string_free`, or NULL when the
/// error carries no credentials. It holds the private key: never log it.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `error` or `json_out` is NULL. On error
/// `*json_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same object.
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_orphaned_credentials_json(
    error: *const mondoo_error,
    json_out: *mut *mut c_char,
) -> Code {
    crate::boundary::guard("mondoo_error_orphaned_credentials_json", || {
        let error = as_ref(error, "error")?;
        let out = Out::new(json_out, "json_out")?;
        let document = error.error.orphaned_credentials();
        // Room for the NUL up front: CString::new then never reallocates, which would
        // leave an unwiped copy of the key. serde_json escapes NUL, so this cannot fail.
        let document = document
            .map(|d| {
                let mut bytes = Vec::with_capacity(d.len() + 1);
                bytes.extend_from_slice(d.as_bytes());
                c_string(bytes, "credentials", Code::Io)
            })
            .transpose()?;
        out.write_opt_string(document);
        Ok(())
    })
}

/// The Platform API answer a `MONDOO_RESULT_GRAPHQL_ERRORS` error is about, as JSON
/// (`{"data": ..., "errors": [{"message", "path", "locations", "extensions"}]}`): set on
/// the errors of `mondoo_graphql_pager_next` for a page that came with `errors`, so the
/// caller sees every entry and the partial data, not only the first message.
///
/// Ownership: `error` is borrowed for the call. The returned string belongs to `error`:
/// it stays valid until `mondoo_error_free(error)`; do not free it.
/// Errors: none: returns NULL when the error carries no answer or `error` is NULL (the
/// last error is not set).
/// Thread safety: safe to call concurrently on the same object.
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_graphql_response_json(error: *const mondoo_error) -> *const c_char {
    guard_value("mondoo_error_graphql_response_json", || {
        as_ref(error, "error")
            .ok()
            .and_then(|e| e.graphql_response.as_ref())
            .map_or(std::ptr::null(), |json| json.as_ptr())
    })
}

/// Free an error object. NULL is a no-op; freeing twice is undefined behaviour.
///
/// Ownership: takes `error`; it and the strings its accessors returned must not be used
/// after this call.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `error` during or after this call.
#[no_mangle]
pub unsafe extern "C" fn mondoo_error_free(error: *mut mondoo_error) {
    guard_value("mondoo_error_free", || drop(mondoo_error::from_raw(error)))
}

/// Copy the calling thread's last error message without taking the error.
///
/// This call does not clear or replace the last error when it succeeds.
///
/// Ownership: on success `*message_out` is a new string owned by the caller (free it with
/// `mondoo_string_free`), or NULL when there is no last error.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `message_out` is NULL; that failure
/// replaces the last error, as every failure does.
/// Thread safety: reads only the calling thread's error; safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_last_error_message(message_out: *mut *mut c_char) -> Code {
    guard_value("mondoo_last_error_message", || {
        let run = || -> Result<()> {
            let out = Out::new(message_out, "message_out")?;
            let message = peek_message().map(|m| c_string(m.replace('\0', "\\0"), "message", Code::Io)).transpose()?;
            out.write_opt_string(message);
            Ok(())
        };
        // Not through `guard`: that would clear the very error being read. Its own
        // failure (NULL `message_out`) does replace the last error, as any failure does.
        match run() {
            Ok(()) => Code::Ok,
            Err(e) => {
                let code = e.code();
                set(e.context("mondoo_last_error_message"));
                code
            }
        }
    })
}
