//! `mondoo_cancel`: cancel client calls in flight from any thread (a binding's context,
//! a signal handler's helper thread, a UI's cancel button).

use std::sync::Arc;

use crate::boundary::{guard, guard_value, Out};
use crate::client::mondoo_client;
use crate::handle::{as_ref, ArcHandle, Handle};
use mondoo::CancelToken;
use mondoo::Code;

/// A cancel handle: `mondoo_cancel_cancel` ends every call made through the client
/// handles derived from it with `mondoo_client_with_cancel`, promptly, with
/// `MONDOO_RESULT_CANCELED`; calls started afterwards fail the same way before anything is
/// sent. Once cancelled it stays so: make a new one for later calls.
///
/// Made by `mondoo_cancel_new`, freed by `mondoo_cancel_free`. Thread-safe: any thread
/// may cancel it while others run calls under it.
pub struct mondoo_cancel {
    _private: [u8; 0],
}

impl Handle for mondoo_cancel {
    type Target = CancelToken;
}
impl ArcHandle for mondoo_cancel {}

/// A new cancel handle, not cancelled.
///
/// Ownership: on success `*cancel_out` is a new handle owned by the caller, freed with
/// `mondoo_cancel_free`.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `cancel_out` is NULL (not written; last
/// error set).
/// Thread safety: safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_cancel_new(cancel_out: *mut *mut mondoo_cancel) -> Code {
    guard("mondoo_cancel_new", || {
        let out = Out::new(cancel_out, "cancel_out")?;
        out.write(mondoo_cancel::into_raw(Arc::new(CancelToken::new())));
        Ok(())
    })
}

/// Cancel: every call running through a client handle made with this cancel handle ends
/// promptly with `MONDOO_RESULT_CANCELED` (its request's connection is closed; a register
/// or logout cancelled before its config write never writes the config afterwards), and
/// later calls through such handles fail with it before sending anything. Cancelling
/// twice is fine.
///
/// Ownership: `cancel` is borrowed for the call.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `cancel` is NULL (last error set).
/// Thread safety: safe from any thread, also while other threads run calls under it.
#[no_mangle]
pub unsafe extern "C" fn mondoo_cancel_cancel(cancel: *const mondoo_cancel) -> Code {
    guard("mondoo_cancel_cancel", || {
        as_ref(cancel, "cancel")?.cancel();
        Ok(())
    })
}

/// Whether `mondoo_cancel_cancel` was called on this handle.
///
/// Ownership: `cancel` is borrowed for the call.
/// Errors: none: returns false when `cancel` is NULL; the last error is left alone.
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_cancel_is_cancelled(cancel: *const mondoo_cancel) -> bool {
    guard_value("mondoo_cancel_is_cancelled", || as_ref(cancel, "cancel").is_ok_and(CancelToken::is_cancelled))
}

/// Free a cancel handle. Client handles made with it keep their own reference, so they
/// stay valid (and can no longer be cancelled by anyone but a copy). NULL is a no-op;
/// freeing twice is undefined behaviour.
///
/// Ownership: takes `cancel`; it must not be used after this call.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `cancel` during or after this call (a thread
/// about to call `mondoo_cancel_cancel` must be done before it is freed).
#[no_mangle]
pub unsafe extern "C" fn mondoo_cancel_free(cancel: *mut mondoo_cancel) {
    guard_value("mondoo_cancel_free", || drop(mondoo_cancel::from_raw(cancel)))
}

/// A handle on the same client (config, signer, connection pool, and any deadline of
/// `client`) whose calls end promptly with `MONDOO_RESULT_CANCELED` once `cancel` is
/// cancelled, from any thread. Combine with `mondoo_client_with_timeout` (either order)
/// for a caller's context with both a deadline and a cancel (Go's `context`). A register
/// or logout through it changes the config every handle sees; one cancelled before it
/// wrote the config never writes it afterwards.
///
/// Ownership: `client` and `cancel` are borrowed for the call; the new handle keeps its
/// own reference to the cancellation, so `cancel` may be freed before it. On success
/// `*client_out` is a new handle owned by the caller, freed with `mondoo_client_free`,
/// independently of `client`.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `client`, `cancel` or `client_out`.
/// On error `*client_out` is not written and the last error is set.
/// Thread safety: safe to call from any thread, on a client shared by many.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_with_cancel(
    client: *const mondoo_client,
    cancel: *const mondoo_cancel,
    client_out: *mut *mut mondoo_client,
) -> Code {
    guard("mondoo_client_with_cancel", || {
        let out = Out::new(client_out, "client_out")?;
        let client = as_ref(client, "client")?;
        let cancel = as_ref(cancel, "cancel")?;
        out.write(mondoo_client::into_raw(Arc::new(client.with_cancel(cancel))));
        Ok(())
    })
}
