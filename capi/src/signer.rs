//! `mondoo_signer`: the service account's key, signing request bodies into bearers.

use std::ffi::c_char;
use std::sync::Arc;

use crate::boundary::{bytes_arg, c_string, guard, guard_value, Out};
use crate::config::mondoo_config;
use crate::handle::{as_ref, ArcHandle, Handle};
use mondoo::Code;
use mondoo::Signer;

/// A service account's signing key (ES384). The key never leaves it: no function reads
/// it back, and it is wiped from memory when the signer is freed.
///
/// Made by `mondoo_signer_from_config`, freed by `mondoo_signer_free`. Thread-safe: any
/// number of threads may sign with one signer at the same time.
pub struct mondoo_signer {
    _private: [u8; 0],
}

impl Handle for mondoo_signer {
    type Target = Signer;
}
impl ArcHandle for mondoo_signer {}

/// Make a signer from a config's service account (`mrn`, `private_key`, `certificate`).
///
/// Ownership: `config` is borrowed for the call: the signer copies the key and keeps no
/// reference, so `config` may be freed right after. On success `*signer_out` is a new
/// signer owned by the caller, freed with `mondoo_signer_free`.
/// Errors: `MONDOO_RESULT_NOT_REGISTERED` when the config has no service account;
/// `_KEY_WRONG_CURVE` (e.g. a P-256 key: the platform accepts ES384 only),
/// `_KEY_UNSUPPORTED_TYPE`, `_KEY_ENCRYPTED`, `_KEY_INVALID`,
/// `_KEY_CERTIFICATE_MISMATCH`, `_CERTIFICATE_INVALID`; `_NULL_PARAMETER` for a NULL
/// `config` or `signer_out`. On error `*signer_out` is not written and the last error
/// is set. No message holds key material.
/// Thread safety: safe to call concurrently, also with the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_signer_from_config(
    config: *const mondoo_config,
    signer_out: *mut *mut mondoo_signer,
) -> Code {
    guard("mondoo_signer_from_config", || {
        let out = Out::new(signer_out, "signer_out")?;
        let signer = Signer::from_config(as_ref(config, "config")?)?;
        out.write(mondoo_signer::into_raw(Arc::new(signer)));
        Ok(())
    })
}

/// Sign a request body: a fresh bearer (a JWT whose `chash` is the SHA-256 of exactly
/// these bytes) to send as `Authorization: Bearer <bearer>`.
///
/// `body`, `body_len`: the bytes, which may contain NUL bytes; `body` may be NULL only
/// when `body_len` is 0 (an empty body).
///
/// Ownership: `signer` is borrowed for the call; `body` is borrowed for the call (its
/// `body_len` bytes are read, not kept). On success `*bearer_out` is a new string owned
/// by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `signer` or `bearer_out`, or `body`
/// NULL with a non-zero length; `_INVALID_ARGUMENT` for a length above `PTRDIFF_MAX`;
/// `_SIGNING_FAILED`. On error `*bearer_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same signer.
#[no_mangle]
pub unsafe extern "C" fn mondoo_signer_sign(
    signer: *const mondoo_signer,
    body: *const u8,
    body_len: usize,
    bearer_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_signer_sign", || {
        let out = Out::new(bearer_out, "bearer_out")?;
        let signer = as_ref(signer, "signer")?;
        let body = bytes_arg(body, body_len, "body")?;
        let bearer = signer.sign(body)?;
        out.write_string(c_string(bearer, "bearer", Code::SigningFailed)?);
        Ok(())
    })
}

/// Free a signer and wipe its key. NULL is a no-op; freeing twice is undefined
/// behaviour.
///
/// Ownership: takes `signer`; it must not be used after this call.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `signer` during or after this call.
#[no_mangle]
pub unsafe extern "C" fn mondoo_signer_free(signer: *mut mondoo_signer) {
    guard_value("mondoo_signer_free", || drop(mondoo_signer::from_raw(signer)))
}
