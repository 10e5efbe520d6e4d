//! The C ABI: a thin layer that converts C arguments into the Rust API's and its errors
//! into result codes. No logic lives here.
//!
//! Conventions (the README's "API conventions" section says the same for C users):
//!
//! * **Results.** Every fallible function returns a `mondoo_result` (`crate::Code`:
//!   stable values grouped by area in blocks of a thousand). `MONDOO_RESULT_OK` is 0.
//!   Only frees, `mondoo_version`, `mondoo_result_name`, `mondoo_result_class`,
//!   `mondoo_cancel_is_cancelled`, `mondoo_error_last` and the accessors of a
//!   `mondoo_error` return something else.
//! * **Fields, not JSON.** What a C caller reads has an accessor: a `_report` variant
//!   (`mondoo_client_status_report`, `mondoo_client_register_report`,
//!   `mondoo_token_inspect_report`) hands back a handle (`mondoo_status`,
//!   `mondoo_registration`, `mondoo_token_info`) whose accessors read one field each.
//!   The JSON forms stay, with their keys documented on the function.
//! * **Argument order.** The handle first, then inputs, then outputs; a buffer is
//!   followed by its length.
//! * **Outputs** are written only on success; on failure they are left untouched.
//! * **Errors.** A failing call sets the calling thread's last error; every fallible
//!   call clears it first. `mondoo_error_last` takes it as an owned `mondoo_error` with
//!   the code, a message naming what and where, and the structured fields (rpc code,
//!   HTTP status, path, clock skew). Messages never contain keys or tokens.
//! * **Panics** never cross the boundary: they become `MONDOO_RESULT_PANIC`.
//! * **Caller mistakes** are results, not crashes: a NULL pointer where one is required
//!   is `MONDOO_RESULT_NULL_PARAMETER`, text that is not UTF-8 `MONDOO_RESULT_INVALID_UTF8`,
//!   each naming the parameter. Parameters documented as "or NULL" are optional.
//! * **Ownership.** Handles are opaque; each `_new`/`_load`/`_from_config`/`_report` has a
//!   `_free`.
//!   Returned `char *` strings are owned by the caller and freed with
//!   `mondoo_string_free`. `_free(NULL)` is a no-op; freeing twice is undefined.
//! * **Pointers** given to libmondoo are NULL or valid: handles it made and not yet
//!   freed, NUL-terminated strings, buffers of at least the given length. A dangling
//!   pointer cannot be detected; NULL always can.
//! * **Threads.** `mondoo_config`, `mondoo_signer`, `mondoo_client`, `mondoo_status`,
//!   `mondoo_registration`, `mondoo_token_info` and `mondoo_cancel` may be used by many
//!   threads at once (`mondoo_cancel_cancel` from any thread while calls run);
//!   `mondoo_client_options` is a single-thread builder.

// The handle types carry their C names (`mondoo_config`), which cbindgen copies as is.
#![allow(non_camel_case_types)]
// The exports' safety contract is the same for all and stated above (valid handles from
// libmondoo, NUL-terminated strings, buffers of the given length), not once per function.
#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, CString};

// Internals: the panic boundary with the argument checks, and the handle trait.
mod boundary;
mod handle;

// The exports, in the order the header lists them (cbindgen follows this order).
mod last_error;

mod config;

mod token;

mod signer;

mod client;

mod cancel;

mod status;

mod registration;

mod graphql;

pub use cancel::mondoo_cancel;
pub use client::{mondoo_client, mondoo_client_options, mondoo_status};
pub use config::mondoo_config;
pub use graphql::{mondoo_graphql_pager, mondoo_graphql_response};
pub use last_error::mondoo_error;
pub use registration::mondoo_registration;
pub use signer::mondoo_signer;
pub use token::mondoo_token_info;

use boundary::guard_value;
use mondoo::{Code, ErrorClass};

/// The library version, e.g. `"0.1.0"`; equal to `MONDOO_VERSION_STRING` of the header
/// it was built with.
///
/// Ownership: returns a static string owned by libmondoo, valid for the whole process; do
/// not free it.
/// Errors: none: it cannot fail, never returns NULL and leaves the last error alone.
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn mondoo_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a result code, e.g. `"MONDOO_RESULT_TOKEN_EXPIRED"`, or
/// `"MONDOO_RESULT_UNKNOWN"` for a value that is no code.
///
/// Ownership: returns a static string owned by libmondoo, valid for the whole process; do
/// not free it.
/// Errors: none: a value that is no code gives `"MONDOO_RESULT_UNKNOWN"`; the last error
/// is left alone (only an internal panic gives NULL, and sets it).
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn mondoo_result_name(result: u32) -> *const c_char {
    guard_value("mondoo_result_name", || {
        Code::from_value(result).map_or(c"MONDOO_RESULT_UNKNOWN", Code::c_name).as_ptr()
    })
}

/// The area a result code belongs to (`MONDOO_ERROR_CLASS_CONFIG`, `_NETWORK`, ...): the
/// one table (the core's) every binding maps its exception classes or sentinel errors
/// from. A value that is no code (a header newer than the library) gives
/// `MONDOO_ERROR_CLASS_INTERNAL`.
///
/// Ownership: nothing is passed by pointer.
/// Errors: none: it cannot fail and leaves the last error alone.
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn mondoo_result_class(result: u32) -> ErrorClass {
    guard_value("mondoo_result_class", || Code::from_value(result).map_or(ErrorClass::Internal, Code::class))
}

/// Free a string returned by libmondoo (a bearer, a JSON text, a config field). NULL is
/// a no-op; freeing twice, or freeing a string libmondoo did not return, is undefined
/// behaviour.
///
/// The string's bytes are overwritten with zeros before its memory is released.
///
/// Ownership: takes `string` (a `char *` that libmondoo returned through an out-parameter);
/// it must not be used after this call. Not for the `const char *` strings of
/// `mondoo_version`, `mondoo_result_name` or the `mondoo_error_*` accessors.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: safe from any thread, for a string no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn mondoo_string_free(string: *mut c_char) {
    guard_value("mondoo_string_free", || {
        if !string.is_null() {
            // wiped before it is freed: some strings carry a key (orphaned credentials)
            let mut bytes = CString::from_raw(string).into_bytes_with_nul();
            zeroize::Zeroize::zeroize(&mut bytes);
        }
    })
}
