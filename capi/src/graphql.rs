//! The Platform API (GraphQL): one call with its answer as a handle, and a page iterator.

use std::ffi::c_char;

use crate::boundary::{c_string, guard, json_string, opt_str_arg, str_arg, Out};
use crate::client::mondoo_client;
use crate::handle::{as_mut, as_ref, BoxHandle, Handle};
use mondoo::{Code, Error, GraphQlPages, GraphQlResponse, Result};

/// A Platform API answer (`data` and `errors`), from `mondoo_client_graphql`.
pub struct mondoo_graphql_response {
    _private: [u8; 0],
}

impl Handle for mondoo_graphql_response {
    type Target = GraphQlResponse;
}
impl BoxHandle for mondoo_graphql_response {}

/// The pages of a Relay connection, from `mondoo_graphql_pager_new`.
pub struct mondoo_graphql_pager {
    _private: [u8; 0],
}

impl Handle for mondoo_graphql_pager {
    type Target = GraphQlPages;
}
impl BoxHandle for mondoo_graphql_pager {}

fn variables(json: Option<&str>) -> Result<Option<serde_json::Value>> {
    json.map(|text| {
        serde_json::from_str(text)
            .map_err(|e| Error::new(Code::InvalidArgument, format!("parameter `variables_json` is not JSON: {e}")))
    })
    .transpose()
}

/// One Platform API request (`POST {api_endpoint}/query`), authenticated as the Rust
/// core's `Client::graphql` says: a config from `MONDOO_CONFIG_BASE64`/`_PATH`, else
/// `MONDOO_API_TOKEN`, else the config's service account (its bearer cached and shared).
/// An answer with `errors` is a success here: read them with the accessors.
///
/// `query`: the GraphQL document; `variables_json`: a JSON object, or NULL for none.
///
/// Ownership: `client`, `query` and `variables_json` are borrowed for the call. On
/// success `*response_out` is a new answer owned by the caller, freed with
/// `mondoo_graphql_response_free`.
/// Errors: `MONDOO_RESULT_INVALID_ARGUMENT` when `variables_json` is not a JSON object;
/// `_NOT_REGISTERED` without any credential; network codes; platform codes for a non-200
/// answer (`_RPC_UNAUTHENTICATED` for 401, with `mondoo_error_http_status`);
/// `_NULL_PARAMETER` (NULL `client`, `query` or `response_out`), `_INVALID_UTF8`. On error
/// `*response_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same client.
#[no_mangle]
pub unsafe extern "C" fn mondoo_client_graphql(
    client: *const mondoo_client,
    query: *const c_char,
    variables_json: *const c_char,
    response_out: *mut *mut mondoo_graphql_response,
) -> Code {
    guard("mondoo_client_graphql", || {
        let out = Out::new(response_out, "response_out")?;
        let client = as_ref(client, "client")?;
        let query = str_arg(query, "query")?;
        let variables = variables(opt_str_arg(variables_json, "variables_json")?)?;
        let response = client.graphql(query, variables)?;
        out.write(mondoo_graphql_response::into_raw(response));
        Ok(())
    })
}

/// The answer as JSON: `{"data": ..., "errors": [...]}` (`errors` only when there are
/// some).
///
/// Ownership: `response` is borrowed for the call. On success `*json_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `response` or `json_out` (not
/// written; last error set).
/// Thread safety: safe to call concurrently on the same answer.
#[no_mangle]
pub unsafe extern "C" fn mondoo_graphql_response_json(
    response: *const mondoo_graphql_response,
    json_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_graphql_response_json", || {
        let out = Out::new(json_out, "json_out")?;
        out.write_string(json_string(&as_ref(response, "response")?.to_json())?);
        Ok(())
    })
}

/// Whether the answer carries `errors`; false for a NULL `response`.
///
/// Ownership: `response` is borrowed for the call.
/// Errors: none (a NULL `response` reads as no errors).
/// Thread safety: safe to call concurrently on the same answer.
#[no_mangle]
pub unsafe extern "C" fn mondoo_graphql_response_has_errors(response: *const mondoo_graphql_response) -> bool {
    crate::boundary::guard_value("mondoo_graphql_response_has_errors", || {
        as_ref(response, "response").map(GraphQlResponse::has_errors).unwrap_or(false)
    })
}

/// The first error's message (the server's text as sent), or NULL when there is none.
///
/// Ownership: `response` is borrowed for the call. On success `*message_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`), or NULL.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `response` or `message_out` (not
/// written; last error set).
/// Thread safety: safe to call concurrently on the same answer.
#[no_mangle]
pub unsafe extern "C" fn mondoo_graphql_response_first_error_message(
    response: *const mondoo_graphql_response,
    message_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_graphql_response_first_error_message", || {
        let out = Out::new(message_out, "message_out")?;
        let message = as_ref(response, "response")?.first_error_message();
        out.write_opt_string(message.map(|m| c_string(m, "error message", Code::ResponseInvalid)).transpose()?);
        Ok(())
    })
}

/// Free an answer. NULL is a no-op.
///
/// Ownership: takes `response`, which must not be used again.
/// Errors: none.
/// Thread safety: not while another thread uses the same answer.
#[no_mangle]
pub unsafe extern "C" fn mondoo_graphql_response_free(response: *mut mondoo_graphql_response) {
    crate::boundary::guard_value("mondoo_graphql_response_free", || drop(mondoo_graphql_response::from_raw(response)))
}

/// A page iterator over the Relay connection at `path` (dotted, e.g. `"space.assets"`)
/// in the answers to `query`, which takes `$after: String` and selects `pageInfo {
/// endCursor hasNextPage }`. Nothing is sent until `mondoo_graphql_pager_next`.
///
/// `variables_json`: a JSON object or NULL; `page_limit`: at least 1; more pages than
/// that is an error from `mondoo_graphql_pager_next`, never a silent truncation.
///
/// Ownership: `client` is borrowed (the pager keeps its own reference); `query`,
/// `variables_json` and `path` are borrowed for the call (copied, not kept). On success `*pager_out` is a new pager owned by the caller, freed with
/// `mondoo_graphql_pager_free`.
/// Errors: `MONDOO_RESULT_INVALID_ARGUMENT` (variables not a JSON object, an empty path
/// segment, `page_limit` 0), `_NULL_PARAMETER` (NULL `client`, `query`, `path` or
/// `pager_out`), `_INVALID_UTF8`. On error `*pager_out` is not written and the last error
/// is set.
/// Thread safety: safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn mondoo_graphql_pager_new(
    client: *const mondoo_client,
    query: *const c_char,
    variables_json: *const c_char,
    path: *const c_char,
    page_limit: usize,
    pager_out: *mut *mut mondoo_graphql_pager,
) -> Code {
    guard("mondoo_graphql_pager_new", || {
        let out = Out::new(pager_out, "pager_out")?;
        let client = as_ref(client, "client")?;
        let query = str_arg(query, "query")?;
        let path = str_arg(path, "path")?;
        let variables = variables(opt_str_arg(variables_json, "variables_json")?)?;
        let pages = client.graphql_pages(query, variables, path, page_limit)?;
        out.write(mondoo_graphql_pager::into_raw(pages));
        Ok(())
    })
}

/// The next page: `*page_json_out` is the connection object of that page as JSON, or NULL
/// when the pages are done (after the page whose `hasNextPage` was false).
///
/// Ownership: `pager` is borrowed for the call. On success `*page_json_out` is a new
/// string owned by the caller (free it with `mondoo_string_free`), or NULL when done.
/// Errors: `MONDOO_RESULT_GRAPHQL_ERRORS` for an answer with `errors`,
/// `_INVALID_ARGUMENT` past the page limit, `_RESPONSE_INVALID` when the answer has no
/// connection at the path; as `mondoo_client_graphql` otherwise. An error ends the pages
/// (the next call reports done). On error `*page_json_out` is not written and the last
/// error is set.
/// Thread safety: not while another thread uses the same pager.
#[no_mangle]
pub unsafe extern "C" fn mondoo_graphql_pager_next(
    pager: *mut mondoo_graphql_pager,
    page_json_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_graphql_pager_next", || {
        let out = Out::new(page_json_out, "page_json_out")?;
        let pager = as_mut(pager, "pager")?;
        match pager.next().transpose()? {
            Some(page) => out.write_string(json_string(&page)?),
            None => out.write(std::ptr::null_mut()),
        }
        Ok(())
    })
}

/// Free a pager. NULL is a no-op.
///
/// Ownership: takes `pager`, which must not be used again.
/// Errors: none.
/// Thread safety: not while another thread uses the same pager.
#[no_mangle]
pub unsafe extern "C" fn mondoo_graphql_pager_free(pager: *mut mondoo_graphql_pager) {
    crate::boundary::guard_value("mondoo_graphql_pager_free", || drop(mondoo_graphql_pager::from_raw(pager)))
}
