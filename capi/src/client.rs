//! `mondoo_client` and its options: register, status, logout, check-in and signed calls
//! against the platform.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::boundary::{bytes_arg, c_string, guard, guard_value, json_string, opt_str_arg, str_arg, Out};
use crate::config::mondoo_config;
use crate::handle::{as_mut, as_ref, ArcHandle, BoxHandle, Handle};
use crate::registration::{mondoo_registration, registration_json};
use mondoo::blocking::Client;
use mondoo::{ClientOptions, Code, Config, Error, LogoutOptions, RegisterOptions, Registration, Result, StatusReport};

/// Options of a client (a builder): endpoint, proxy, extra CA, timeouts, the retry
/// schedule of registration and clock-skew correction. Defaults are the Go client's.
///
/// Made by `mondoo_client_options_new`, freed by `mondoo_client_options_free`; a client
/// copies it, so it may be freed right after `mondoo_client_new`. Not thread-safe:
/// one thread at a time may set options.
pub struct mondoo_client_options {
    _private: [u8; 0],
}

impl Handle for mondoo_client_options {
    type Target = ClientOptions;
}
impl BoxHandle for mondoo_client_options {}

/// A connection to the platform: the config, the signer and one HTTP connection pool,
/// reused by every call.
///
/// Made by `mondoo_client_new`, freed by `mondoo_client_free`. Thread-safe: any number
/// of threads may use one client at the same time.
pub struct mondoo_client {
    _private: [u8; 0],
}

impl Handle for mondoo_client {
    type Target = Client;
}
impl ArcHandle for mondoo_client {}

/// A status report (what `cnspec status` shows), made by `mondoo_client_status_report`
/// and freed by `mondoo_status_free`. Immutable: any number of threads may read it.
pub struct mondoo_status {
    _private: [u8; 0],
}

impl Handle for mondoo_status {
    type Target = StatusReport;
}
impl BoxHandle for mondoo_status {}

/// New client options with the defaults: the config's endpoint and proxy, system CAs,
/// 30 s request and 10 s connect timeouts, registration retried after 5, 10 and 20 s
/// (plus up to 5 s of jitter), no clock-skew correction.
///
/// Ownership: on success `*options_out` is new options owned by the caller, freed with
/// `mondoo_client_options_free`.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options_out` is NULL (not written; last
/// error set).
/// Thread safety: safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_new(options_out: *mut *mut mondoo_client_options) -> Code {
    guard("mondoo_client_options_new", || {
        let out = Out::new(options_out, "options_out")?;
        out.write(mondoo_client_options::into_raw(ClientOptions::default()));
        Ok(())
    })
}

/// Free client options. NULL is a no-op; freeing twice is undefined behaviour.
///
/// Ownership: takes `options`; it must not be used after this call. Clients made with
/// them keep their own copy, so they stay valid.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `options` during or after this call.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_free(options: *mut mondoo_client_options) {
    guard_value("mondoo_client_options_free", || drop(mondoo_client_options::from_raw(options)))
}

/// Set one option from the C arguments; the shared shape of every setter.
unsafe fn set_option(
    name: &'static str,
    options: *mut mondoo_client_options,
    set: impl FnOnce(&mut ClientOptions) -> Result<()>,
) -> Code {
    guard(name, || set(as_mut(options, "options")?))
}

fn positive_ms(ms: u64, param: &str) -> Result<Duration> {
    if ms == 0 {
        return Err(Error::new(Code::InvalidArgument, format!("parameter `{param}` must be more than 0 ms")));
    }
    Ok(Duration::from_millis(ms))
}

/// Use this API endpoint instead of the config's (and, for a token registration, the
/// token's). NULL goes back to the config's.
///
/// Ownership: `options` is borrowed for the call and updated in place;
/// `api_endpoint` (or NULL) is copied, so the caller's string may be
/// freed or reused right after the call.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; `_INVALID_UTF8` when
/// `api_endpoint` is not UTF-8. On error the options are unchanged and the last
/// error is set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_api_endpoint(
    options: *mut mondoo_client_options,
    api_endpoint: *const c_char,
) -> Code {
    set_option("mondoo_client_options_set_api_endpoint", options, |o| {
        o.api_endpoint = opt_str_arg(api_endpoint, "api_endpoint")?.map(str::to_owned);
        Ok(())
    })
}

/// Send requests through this proxy (`http://host:port`), as `--api-proxy` does; the
/// `MONDOO_API_PROXY` environment variable still wins. NULL goes back to the config's
/// `api_proxy` and the standard proxy variables. The URL is checked by
/// `mondoo_client_new` (`MONDOO_RESULT_PROXY` there).
///
/// Ownership: `options` is borrowed for the call and updated in place;
/// `api_proxy` (or NULL) is copied, so the caller's string may be
/// freed or reused right after the call.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; `_INVALID_UTF8` when
/// `api_proxy` is not UTF-8. On error the options are unchanged and the last
/// error is set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_api_proxy(
    options: *mut mondoo_client_options,
    api_proxy: *const c_char,
) -> Code {
    set_option("mondoo_client_options_set_api_proxy", options, |o| {
        o.api_proxy = opt_str_arg(api_proxy, "api_proxy")?.map(str::to_owned);
        Ok(())
    })
}

/// Authenticate Platform API calls (`mondoo_client_graphql`, the pager) with this API
/// token (`Authorization: Bearer <token>`) instead of the config's service account;
/// `MONDOO_API_TOKEN` in the environment still wins, as in Go's terraform provider. NULL
/// drops a token set before. Other calls (status, signed RPC) are not affected.
///
/// Ownership: `options` is borrowed for the call and updated in place; `api_token` (or
/// NULL) is copied (and the copy wiped when the options and clients made from them are
/// freed), so the caller's string may be wiped or freed right after the call.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; `_INVALID_UTF8` when
/// `api_token` is not UTF-8. On error the options are unchanged and the last error is set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_api_token(
    options: *mut mondoo_client_options,
    api_token: *const c_char,
) -> Code {
    set_option("mondoo_client_options_set_api_token", options, |o| {
        let token = opt_str_arg(api_token, "api_token")?;
        let current = std::mem::take(o);
        *o = match token {
            Some(token) => current.with_api_token(token),
            None => current.without_api_token(),
        };
        Ok(())
    })
}

/// Trust the CA certificates in this PEM file beside the system roots. NULL trusts the
/// system roots only. The file is read by `mondoo_client_new` (`MONDOO_RESULT_TLS` there
/// when it cannot be read or holds no certificate), not by this call.
///
/// Ownership: `options` is borrowed for the call and updated in place;
/// `ca_file` (or NULL) is copied (the path, not the file), so the caller's string may be
/// freed or reused right after the call.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; `_INVALID_UTF8` when
/// `ca_file` is not UTF-8. On error the options are unchanged and the last
/// error is set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_ca_file(
    options: *mut mondoo_client_options,
    ca_file: *const c_char,
) -> Code {
    set_option("mondoo_client_options_set_ca_file", options, |o| {
        o.ca_file = opt_str_arg(ca_file, "ca_file")?.map(PathBuf::from);
        Ok(())
    })
}

/// Bound every request (connect, send, read the answer) by `timeout_ms` (default 30000).
///
/// Ownership: `options` is borrowed for the call and updated in place; nothing else is
/// passed by pointer.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; `_INVALID_ARGUMENT`
/// when `timeout_ms` is 0. On error the options are unchanged and the last error is
/// set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_timeout_ms(
    options: *mut mondoo_client_options,
    timeout_ms: u64,
) -> Code {
    set_option("mondoo_client_options_set_timeout_ms", options, |o| {
        o.timeout = positive_ms(timeout_ms, "timeout_ms")?;
        Ok(())
    })
}

/// Bound the TCP connect and TLS handshake by `timeout_ms` (default 10000).
///
/// Ownership: `options` is borrowed for the call and updated in place; nothing else is
/// passed by pointer.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; `_INVALID_ARGUMENT`
/// when `timeout_ms` is 0. On error the options are unchanged and the last error is
/// set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_connect_timeout_ms(
    options: *mut mondoo_client_options,
    timeout_ms: u64,
) -> Code {
    set_option("mondoo_client_options_set_connect_timeout_ms", options, |o| {
        o.connect_timeout = positive_ms(timeout_ms, "timeout_ms")?;
        Ok(())
    })
}

/// The sleeps between registration attempts when the platform answers Aborted: one
/// retry per entry (default 5000, 10000, 20000). `delays_ms` may be NULL only when
/// `delays_len` is 0 (no retry).
///
/// Ownership: `options` is borrowed for the call and updated in place; `delays_ms` is
/// borrowed for the call: its `delays_len` values are copied, so the array may be freed
/// right after.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL, or `delays_ms` is
/// NULL with a non-zero length; `_INVALID_ARGUMENT` for a length too large to be an
/// array. On error the options are unchanged and the last error is set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_retry_delays_ms(
    options: *mut mondoo_client_options,
    delays_ms: *const u64,
    delays_len: usize,
) -> Code {
    set_option("mondoo_client_options_set_retry_delays_ms", options, |o| {
        let delays: &[u64] = if delays_len == 0 {
            &[]
        } else if delays_ms.is_null() {
            return Err(Error::new(
                Code::NullParameter,
                format!("parameter `delays_ms` is NULL but its length is {delays_len}"),
            ));
        } else if delays_len > isize::MAX as usize / std::mem::size_of::<u64>() {
            return Err(Error::new(Code::InvalidArgument, "parameter `delays_len` is too large"));
        } else {
            std::slice::from_raw_parts(delays_ms, delays_len)
        };
        o.retry_delays = delays.iter().copied().map(Duration::from_millis).collect();
        Ok(())
    })
}

/// The upper bound of the random jitter added to each retry sleep (default 5000; 0 for
/// none).
///
/// Ownership: `options` is borrowed for the call and updated in place; nothing else is
/// passed by pointer.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; no value is refused.
/// On error the options are unchanged and the last error is set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_retry_jitter_ms(
    options: *mut mondoo_client_options,
    jitter_ms: u64,
) -> Code {
    set_option("mondoo_client_options_set_retry_jitter_ms", options, |o| {
        o.retry_jitter = Duration::from_millis(jitter_ms);
        Ok(())
    })
}

/// Correct signing times by the clock skew measured against the platform (default
/// false: bearers carry the local time, as the Go client's do).
///
/// Ownership: `options` is borrowed for the call and updated in place; nothing else is
/// passed by pointer.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; no value is refused.
/// On error the options are unchanged and the last error is set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_correct_clock_skew(
    options: *mut mondoo_client_options,
    correct: bool,
) -> Code {
    set_option("mondoo_client_options_set_correct_clock_skew", options, |o| {
        o.correct_clock_skew = correct;
        Ok(())
    })
}

/// Refuse an `http://` endpoint that is not loopback (default false): every request to
/// one fails with `MONDOO_RESULT_INSECURE_ENDPOINT` before anything is sent, instead of
/// sending credentials in clear text. Loopback `http://` stays allowed. Without it, the
/// status report warns about such an endpoint.
///
/// Ownership: `options` is borrowed for the call and updated in place; nothing else is
/// passed by pointer.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` when `options` is NULL; no value is refused.
/// On error the options are unchanged and the last error is set.
/// Thread safety: not thread-safe on the same options (one thread at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_options_set_require_tls(
    options: *mut mondoo_client_options,
    require_tls: bool,
) -> Code {
    set_option("mondoo_client_options_set_require_tls", options, |o| {
        o.require_tls = require_tls;
        Ok(())
    })
}

/// Make a client. No request is made yet.
///
/// `config`: the config to use, or NULL to load one with the default search (see
/// `mondoo_config_load`). `options`: NULL for the defaults.
///
/// Ownership: `config` and `options` are borrowed for the call and copied: the client
/// keeps no reference, so both may be freed right after. On success `*client_out` is a
/// new client owned by the caller, freed with `mondoo_client_free`.
/// Errors: the configuration codes of `mondoo_config_load` when `config` is NULL;
/// key codes (`MONDOO_RESULT_KEY_WRONG_CURVE`, ...) for a bad service account;
/// `_TLS` for an unreadable CA file (with the file in `mondoo_error_path`); `_PROXY` for
/// a bad proxy URL; `_NULL_PARAMETER` when `client_out` is NULL. On error `*client_out`
/// is not written and the last error is set.
/// Thread safety: safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_new(
    config: *const mondoo_config,
    options: *const mondoo_client_options,
    client_out: *mut *mut mondoo_client,
) -> Code {
    guard("mondoo_client_new", || {
        let out = Out::new(client_out, "client_out")?;
        let options = if options.is_null() { ClientOptions::default() } else { as_ref(options, "options")?.clone() };
        let config = if config.is_null() { Config::load(None)? } else { as_ref(config, "config")?.clone() };
        let client = Client::new(config, options)?;
        out.write(mondoo_client::into_raw(Arc::new(client)));
        Ok(())
    })
}

/// A handle on the same client (config, signer, connection pool) whose operations end
/// within `timeout_ms` from now: each request's timeout is cut to the time left, a
/// registration retry that would pass the deadline is not taken, and a call made after
/// it fails with `MONDOO_RESULT_TIMEOUT` before anything is sent. For a caller's
/// per-operation deadline (Go's `context`). A register or logout through it changes the
/// config every handle sees.
///
/// Ownership: `client` is borrowed for the call. On success `*client_out` is a new handle
/// owned by the caller, freed with `mondoo_client_free`; the two handles share state but
/// are freed independently, in any order.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `client` or `client_out`;
/// `_INVALID_ARGUMENT` when `timeout_ms` is 0. On error `*client_out` is not written and
/// the last error is set.
/// Thread safety: safe to call from any thread, on a client shared by many.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_with_timeout(
    client: *const mondoo_client,
    timeout_ms: u64,
    client_out: *mut *mut mondoo_client,
) -> Code {
    guard("mondoo_client_with_timeout", || {
        let out = Out::new(client_out, "client_out")?;
        let client = as_ref(client, "client")?;
        if timeout_ms == 0 {
            return Err(Error::new(Code::InvalidArgument, "mondoo_client_with_timeout: timeout_ms must be above 0"));
        }
        let scoped = client.with_timeout(Duration::from_millis(timeout_ms));
        out.write(mondoo_client::into_raw(Arc::new(scoped)));
        Ok(())
    })
}

/// Free a client handle. The connection pool closes when the last handle on it (see
/// `mondoo_client_with_timeout`) is freed. NULL is a no-op; freeing twice is undefined
/// behaviour.
///
/// Ownership: takes `client`; it must not be used after this call. Other handles made
/// with `mondoo_client_with_timeout` stay valid.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `client` during or after this call.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_free(client: *mut mondoo_client) {
    guard_value("mondoo_client_free", || drop(mondoo_client::from_raw(client)))
}

/// Register with the C arguments of `mondoo_client_register` and `_register_report`.
unsafe fn register(
    client: *const mondoo_client,
    token: *const c_char,
    name: *const c_char,
    annotations_json: *const c_char,
) -> Result<Registration> {
    let client = as_ref(client, "client")?;
    let token = opt_str_arg(token, "token")?;
    let name = opt_str_arg(name, "name")?;
    let annotations = match opt_str_arg(annotations_json, "annotations_json")? {
        None => BTreeMap::new(),
        Some(text) => serde_json::from_str::<BTreeMap<String, String>>(text).map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("parameter `annotations_json` must be a JSON object of strings: {e}"),
            )
        })?,
    };
    let mut options = RegisterOptions::new().with_annotations(annotations);
    options.name = name.map(str::to_owned);
    client.register(token, &options)
}

/// Register this machine (`cnspec login`) and write the credentials into the config
/// file (atomically, keeping every other key). `mondoo_client_register_report` does the
/// same and gives a handle with accessors instead of JSON.
///
/// `token`: a registration token, or NULL to register with the service account already
/// in the config. `name`: the asset name, or NULL for the host name.
/// `annotations_json`: a JSON object of string values (`{"env":"prod"}`), or NULL.
///
/// Ownership: `client` is borrowed for the call; `token`, `name` and `annotations_json`
/// are borrowed for the call (what is kept, such as the name, is copied). On success
/// `*registration_json_out` is a new JSON object owned by the caller, freed with
/// `mondoo_string_free`: `{"agent_mrn": string, "service_account_mrn": string,
/// "space_mrn": string|null, "api_endpoint": string, "config_path": string|null,
/// "already_registered": bool}`.
/// Errors: token codes (`MONDOO_RESULT_TOKEN_EXPIRED`, ...: checked before any request),
/// `_NOT_REGISTERED` (no token and no service account), `_CONFIG_NOT_WRITABLE`,
/// network codes, platform codes (`_RPC_*`, with `mondoo_error_rpc_code` and
/// `_http_status`); `_INVALID_ARGUMENT` for annotations that are not a JSON object of
/// strings; `_NULL_PARAMETER` (NULL `client` or `registration_json_out`),
/// `_INVALID_UTF8`. On error `*registration_json_out` is not written and the last error
/// is set.
/// Thread safety: safe to call from any thread; concurrent registrations through one
/// client each run in full, the last one's credentials stay in the config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_register(
    client: *const mondoo_client,
    token: *const c_char,
    name: *const c_char,
    annotations_json: *const c_char,
    registration_json_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_client_register", || {
        let out = Out::new(registration_json_out, "registration_json_out")?;
        let registration = register(client, token, name, annotations_json)?;
        out.write_string(json_string(&registration_json(&registration)?)?);
        Ok(())
    })
}

/// Register as `mondoo_client_register` does, handing the outcome back as a
/// `mondoo_registration` to read with `mondoo_registration_agent_mrn`,
/// `_service_account_mrn`, `_space_mrn`, `_api_endpoint`, `_config_path` and
/// `_already_registered` (or `_to_json`).
///
/// Ownership: `client`, `token`, `name` and `annotations_json` are borrowed for the call
/// (what is kept, such as the name, is copied). On success `*registration_out` is a new
/// registration owned by the caller, freed with `mondoo_registration_free`.
/// Errors: as `mondoo_client_register` (token, configuration, network and platform
/// codes; `MONDOO_RESULT_NULL_PARAMETER` for a NULL `client` or `registration_out`;
/// `_INVALID_UTF8`, `_INVALID_ARGUMENT`). On error `*registration_out` is not written and
/// the last error is set.
/// Thread safety: as `mondoo_client_register`: safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_register_report(
    client: *const mondoo_client,
    token: *const c_char,
    name: *const c_char,
    annotations_json: *const c_char,
    registration_out: *mut *mut mondoo_registration,
) -> Code {
    guard("mondoo_client_register_report", || {
        let out = Out::new(registration_out, "registration_out")?;
        let registration = register(client, token, name, annotations_json)?;
        out.write(mondoo_registration::into_raw(registration));
        Ok(())
    })
}

/// Status (`cnspec status --output json`): the config, the platform's health and
/// whether the platform accepts the credentials, as a JSON object.
/// `mondoo_client_status_report` gives the same as a handle with accessors.
///
/// A platform that is down or refuses the credentials is reported inside the JSON
/// (with the error's code and message), not as a failure of this call. The object (keys
/// marked `?` are left out when empty; more keys may be added):
/// `{"client": {"registered": bool, "authenticated": bool, "mrn"?: agent MRN or
/// "no managed client", "service_account"?: string, "parentMrn"?: string, "labels"?:
/// {string: string}, "hostname", "ip", "timestamp", "version", "build"?: string,
/// "platform": {"name", "release", "arch"}, "pingPongError"?: ERROR},
/// "upstream": {"api": {"endpoint", "status", "timestamp", "version", "build"?: string,
/// "error"?: ERROR}, "warnings"?: [string]}, "config_source": string, "config_path":
/// string|null, "proxy": {"url"?: string, "source": string}, "round_trip_ms": number|null,
/// "clock_skew_seconds": number|null}`, where ERROR is `{"code": mondoo_result value,
/// "message": string, "error": the whole message as printed, "rpc_code"?: number,
/// "rpc_status"?: string, "http_status"?: number}`.
///
/// Ownership: `client` is borrowed for the call. On success `*status_json_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`).
/// Errors: configuration and key codes (a config that cannot be used at all);
/// `MONDOO_RESULT_NULL_PARAMETER` for a NULL `client` or `status_json_out`. On error
/// `*status_json_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same client.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_status(client: *const mondoo_client, status_json_out: *mut *mut c_char) -> Code {
    guard("mondoo_client_status", || {
        let out = Out::new(status_json_out, "status_json_out")?;
        let report = as_ref(client, "client")?.status()?;
        out.write_string(json_string(&report.to_json())?);
        Ok(())
    })
}

/// Keyless configs (`auth.method: ssh`, a `type: external_account` document): exchange at
/// the SecureTokenService now, even when the service account in memory is still fresh,
/// and report what came back as JSON: `{"method": "ssh"|"workload_identity",
/// "service_account_mrn": string, "scope_mrn": string|null, "expires_at": RFC 3339
/// string|null, "api_endpoint": string|null}` (`api_endpoint`: where the account's calls
/// go, as the exchange answered; null: the config's). Never the key. Later calls of the client use the new account (every
/// call exchanges on first need anyway; this is only for "exchange now").
///
/// Ownership: `client` is borrowed for the call. On success `*report_json_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NOT_REGISTERED` for a config with a key or token of its own;
/// `MONDOO_RESULT_SSH_AGENT_UNAVAILABLE`, `_SSH_AGENT_NO_KEYS`, `_SSH_KEY_UNKNOWN`,
/// `_IDENTITY_TOKEN_EXPIRED`, `_IDENTITY_TOKEN_AUDIENCE`, `_IDENTITY_TOKEN_UNAVAILABLE`,
/// `_EXCHANGE_REFUSED`, `_EXCHANGE_CLOCK_SKEW`, `_TIMEOUT` (an ssh-agent that does not answer),
/// network codes; `MONDOO_RESULT_NULL_PARAMETER` for a NULL `client`
/// or `report_json_out`. On error `*report_json_out` is not written and the last error is
/// set.
/// Thread safety: safe to call concurrently on the same client (one exchange at a time).
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_exchange(
    client: *const mondoo_client,
    report_json_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_client_exchange", || {
        let out = Out::new(report_json_out, "report_json_out")?;
        let report = as_ref(client, "client")?.exchange()?;
        let value = serde_json::to_value(&report)
            .map_err(|e| Error::new(Code::InvalidArgument, format!("exchange report: {e}")))?;
        out.write_string(json_string(&value)?);
        Ok(())
    })
}

/// Status as a report object, to render as text (the seeds' layout) and JSON from one
/// round trip, to read the exit code `cnspec status` would give, and to read its fields
/// with `mondoo_status_is_registered`, `_is_authenticated`, `_auth_error`, `_api_error`,
/// `_clock_skew_seconds`, `_round_trip_ms`, `_api_endpoint`, `_agent_mrn` and
/// `_service_account_mrn`.
///
/// Ownership: `client` is borrowed for the call; the report keeps no reference to it. On
/// success `*status_out` is a new report owned by the caller, freed with
/// `mondoo_status_free`.
/// Errors: as `mondoo_client_status`: configuration and key codes;
/// `MONDOO_RESULT_NULL_PARAMETER` for a NULL `client` or `status_out`. On error
/// `*status_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same client.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_status_report(
    client: *const mondoo_client,
    status_out: *mut *mut mondoo_status,
) -> Code {
    guard("mondoo_client_status_report", || {
        let out = Out::new(status_out, "status_out")?;
        let report = as_ref(client, "client")?.status()?;
        out.write(mondoo_status::into_raw(report));
        Ok(())
    })
}

/// The report as text, as `cnspec status` prints it (`→ Key:\tvalue` lines, `x` for
/// failures, `!` for warnings).
///
/// Ownership: `status` is borrowed for the call. On success `*text_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `text_out` (not
/// written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_to_text(status: *const mondoo_status, text_out: *mut *mut c_char) -> Code {
    guard("mondoo_status_to_text", || {
        let out = Out::new(text_out, "text_out")?;
        let text = as_ref(status, "status")?.to_text();
        out.write_string(c_string(text, "status text", Code::ResponseInvalid)?);
        Ok(())
    })
}

/// The report as the JSON object `mondoo_client_status` returns (its keys are listed
/// there).
///
/// Ownership: `status` is borrowed for the call. On success `*json_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `json_out` (not
/// written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_to_json(status: *const mondoo_status, json_out: *mut *mut c_char) -> Code {
    guard("mondoo_status_to_json", || {
        let out = Out::new(json_out, "json_out")?;
        out.write_string(json_string(&as_ref(status, "status")?.to_json())?);
        Ok(())
    })
}

/// The exit code `cnspec status` would give: 0 registered and authenticated, 1
/// otherwise.
///
/// Ownership: `status` is borrowed for the call; on success `*exit_code_out` (an
/// `int32_t` of the caller's) is written; nothing is allocated.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `status` or `exit_code_out`
/// (`*exit_code_out` not written; last error set).
/// Thread safety: safe to call concurrently on the same report.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_exit_code(status: *const mondoo_status, exit_code_out: *mut i32) -> Code {
    guard("mondoo_status_exit_code", || {
        let out = Out::new(exit_code_out, "exit_code_out")?;
        out.write(as_ref(status, "status")?.exit_code());
        Ok(())
    })
}

/// Free a status report. NULL is a no-op; freeing twice is undefined behaviour.
///
/// Ownership: takes `status`; it must not be used after this call.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `status` during or after this call.
#[no_mangle]
pub unsafe extern "C" fn mondoo_status_free(status: *mut mondoo_status) {
    guard_value("mondoo_status_free", || drop(mondoo_status::from_raw(status)))
}

/// Log out (`cnspec logout`): unregister the agent at the platform and remove the
/// credentials from the config file, keeping every other key.
///
/// `keep_service_account`: remove only `agent_mrn`, keep `mrn`, `private_key`,
/// `certificate` and `token`. `force_offline`: rewrite the config even when the platform cannot be
/// reached or refuses.
///
/// Ownership: `client` is borrowed for the call (it stays valid and now holds the
/// logged-out config); nothing is returned through a pointer.
/// Errors: `MONDOO_RESULT_NOT_REGISTERED`, `_CONFIG_NOT_WRITABLE`, network and platform
/// codes (unless `force_offline`), `_NULL_PARAMETER` for a NULL `client`. On error the
/// last error is set; the config file is either unchanged or fully rewritten, never
/// half-written.
/// Thread safety: safe to call concurrently on the same client.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_logout(
    client: *const mondoo_client,
    keep_service_account: bool,
    force_offline: bool,
) -> Code {
    guard("mondoo_client_logout", || {
        as_ref(client, "client")?.logout(
            &LogoutOptions::new().with_keep_service_account(keep_service_account).with_force_offline(force_offline),
        )
    })
}

/// The agent check-in (`AgentManager/HealthCheck`), as a running agent sends it.
///
/// Ownership: `client` is borrowed for the call; nothing is returned through a pointer.
/// Errors: `MONDOO_RESULT_NOT_REGISTERED`, network and platform codes (with
/// `mondoo_error_rpc_code` and `_http_status`), `_NULL_PARAMETER` for a NULL `client`;
/// the last error is set.
/// Thread safety: safe to call concurrently on the same client.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_checkin(client: *const mondoo_client) -> Code {
    guard("mondoo_client_checkin", || as_ref(client, "client")?.checkin())
}

/// A call to any platform service as the service account: `POST
/// {endpoint}/{service}/{method}` with the JSON in `request_json` as the body, signed with
/// its key (or with `Authorization: Bearer <token>` for a service account with a static
/// `token`), answering the platform's JSON.
///
/// `service`: e.g. `"mondoo.policy.PolicyHub"`; `method`: e.g. `"List"`;
/// `request_json`: `request_json_len` bytes of UTF-8 JSON, not NUL-terminated (a NUL
/// byte in them is refused as not JSON, never cut at); NULL or length 0 sends `{}`, the
/// empty request.
///
/// Ownership: `client` is borrowed for the call; `service`, `method` and `request_json`
/// are borrowed for the call (not kept; `request_json_len` bytes are read). On success
/// `*response_json_out` is a new string owned by the caller (free it with
/// `mondoo_string_free`): the answer as compact JSON, which holds no NUL byte.
/// Errors: `MONDOO_RESULT_INVALID_ARGUMENT` when `request_json` is not JSON (or not
/// UTF-8); `_NOT_REGISTERED`; network codes (`_NETWORK`, `_TIMEOUT`, `_TLS`, `_PROXY`,
/// `_DNS`, ...); platform codes with `mondoo_error_rpc_code`, `_http_status` and, once the client
/// measured it, `mondoo_error_clock_skew_seconds`;
/// `_NULL_PARAMETER` (NULL `client`, `service`, `method` or `response_json_out`, or
/// `request_json` NULL with a non-zero length), `_INVALID_UTF8` (`service`, `method`). On
/// error `*response_json_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same client.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_call(
    client: *const mondoo_client,
    service: *const c_char,
    method: *const c_char,
    request_json: *const u8,
    request_json_len: usize,
    response_json_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_client_call", || {
        let out = Out::new(response_json_out, "response_json_out")?;
        let client = as_ref(client, "client")?;
        let service = str_arg(service, "service")?;
        let method = str_arg(method, "method")?;
        let body = bytes_arg(request_json, request_json_len, "request_json")?;
        let request: serde_json::Value = if body.is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_slice(body)
                .map_err(|e| Error::new(Code::InvalidArgument, format!("parameter `request_json` is not JSON: {e}")))?
        };
        let response = client.call(service, method, &request)?;
        out.write_string(json_string(&response)?);
        Ok(())
    })
}

/// A bearer for these body bytes, signed with the client's service account (with the
/// clock-skew correction when enabled); a keyless config signs with its exchanged
/// account, exchanging first when none in memory is fresh (and then fails as
/// `mondoo_client_exchange` does). `body` may be NULL only when `body_len` is 0.
///
/// Ownership: `client` is borrowed for the call; `body` is borrowed for the call (its
/// `body_len` bytes are read, not kept). On success `*bearer_out` is a new string owned
/// by the caller (free it with `mondoo_string_free`).
/// Errors: as `mondoo_signer_sign` (`MONDOO_RESULT_NULL_PARAMETER` for a NULL `client` or
/// `bearer_out`, or `body` NULL with a non-zero length; `_INVALID_ARGUMENT`;
/// `_SIGNING_FAILED`), plus `_NOT_REGISTERED` when the config has no service account
/// or one with a static token and no key (a token cannot sign).
/// On error `*bearer_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same client.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_sign(
    client: *const mondoo_client,
    body: *const u8,
    body_len: usize,
    bearer_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_client_sign", || {
        let out = Out::new(bearer_out, "bearer_out")?;
        let client = as_ref(client, "client")?;
        let body = bytes_arg(body, body_len, "body")?;
        let bearer = client.sign(body)?;
        out.write_string(c_string(bearer, "bearer", Code::SigningFailed)?);
        Ok(())
    })
}

/// The client's current config (it changes on register and logout) as redacted JSON,
/// like `mondoo_config_to_json`.
///
/// Ownership: `client` is borrowed for the call. On success `*json_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `client` or `json_out` (not written;
/// last error set).
/// Thread safety: safe to call concurrently on the same client.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_config_json(client: *const mondoo_client, json_out: *mut *mut c_char) -> Code {
    guard("mondoo_client_config_json", || {
        let out = Out::new(json_out, "json_out")?;
        out.write_string(json_string(&as_ref(client, "client")?.config().redacted_json())?);
        Ok(())
    })
}
