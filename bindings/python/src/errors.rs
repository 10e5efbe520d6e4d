//! The one mapping from a libmondoo error to a Python exception.
//!
//! The exception classes live in Python (`mondoo/errors.py`) so users can subclass,
//! pickle and document them like any Python exception; this file only picks the class
//! for an error's class and fills in the structured fields.

use mondoo::{Code, Error, ErrorClass};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

/// The Python exception class (in `mondoo.errors`) of each error class.
pub(crate) fn exception_name(class: ErrorClass) -> &'static str {
    match class {
        // An error carrying `Ok` would be a library bug: report it as one.
        ErrorClass::Ok | ErrorClass::Internal => "InternalError",
        ErrorClass::Config => "ConfigError",
        ErrorClass::NotRegistered => "NotRegisteredError",
        ErrorClass::Token => "TokenError",
        ErrorClass::Key => "KeyMaterialError",
        ErrorClass::Network => "NetworkError",
        ErrorClass::Rpc => "RpcError",
        // a class a newer core added and this module does not know yet
        _ => "MondooError",
    }
}

/// The class for one error: its class's, or a subclass of it for the codes Python code
/// catches on their own (a missing config file; a timeout, which is also a builtin
/// `TimeoutError`; a cancelled operation; a GraphQL answer with `errors`).
pub(crate) fn exception_name_for(e: &Error) -> &'static str {
    match e.code() {
        Code::ConfigNotFound => "ConfigNotFoundError",
        Code::Timeout => "NetworkTimeoutError",
        Code::Canceled => "CanceledError",
        Code::GraphqlErrors => "GraphQLError",
        _ => exception_name(e.class()),
    }
}

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    Ok(ERRORS_MODULE.get_or_try_init(py, || py.import("mondoo.errors").map(Bound::unbind))?.bind(py))
}

/// `ClientClosedError` for a method called on a closed client. It carries
/// `MONDOO_RESULT_INVALID_ARGUMENT`'s code: the closed client is the bad argument.
pub(crate) fn closed_client_error(py: Python<'_>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", Code::InvalidArgument.value())?;
        kwargs.set_item("code_name", Code::InvalidArgument.name())?;
        let instance =
            errors_module(py)?.getattr("ClientClosedError")?.call(("the client is closed",), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|import_failure| import_failure)
}

/// The Python exception for `e`, with `code`, `code_name`, `path`, `clock_skew_seconds`
/// and the fields of its class (`rpc_code`/`rpc_status`/`http_status`,
/// `expired`/`malformed`; for a Platform API answer with errors, its `errors` and `data`).
pub(crate) fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    if let Some(answer) = e.graphql_response() {
        return graphql_error(py, e, &answer.errors, answer.data.as_ref());
    }
    match build(py, e, |_| Ok(())) {
        Ok(err) => err,
        // The errors module failed to import or construct: still raise, with the message.
        Err(import_failure) => import_failure,
    }
}

/// `GraphQLError` for a GraphQL answer with `errors`: `e`'s fields plus the answer's
/// `errors` (each with message, path, locations, extensions) and its partial `data`.
fn graphql_error(
    py: Python<'_>,
    e: &Error,
    errors: &[mondoo::GraphQlError],
    data: Option<&serde_json::Value>,
) -> PyErr {
    let add = |kwargs: &Bound<'_, PyDict>| -> PyResult<()> {
        let entries: Vec<serde_json::Value> = errors
            .iter()
            .map(|error| {
                serde_json::json!({
                    "message": error.message,
                    "path": error.path,
                    "locations": error.locations.iter()
                        .map(|l| serde_json::json!({"line": l.line, "column": l.column}))
                        .collect::<Vec<_>>(),
                    "extensions": error.extensions,
                })
            })
            .collect();
        kwargs.set_item("errors", crate::json::to_py(py, &serde_json::Value::Array(entries))?)?;
        match data {
            Some(data) => kwargs.set_item("data", crate::json::to_py(py, data)?),
            None => kwargs.set_item("data", py.None()),
        }
    };
    build(py, e, add).unwrap_or_else(|import_failure| import_failure)
}

fn build(py: Python<'_>, e: &Error, extra: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>) -> PyResult<PyErr> {
    let class = errors_module(py)?.getattr(exception_name_for(e))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", e.code().value())?;
    kwargs.set_item("code_name", e.code().name())?;
    kwargs.set_item("path", e.path().map(|p| p.display().to_string()))?;
    kwargs.set_item("clock_skew_seconds", e.clock_skew_seconds())?;
    if let Some(credentials) = e.orphaned_credentials() {
        kwargs.set_item("orphaned_credentials", credentials.as_str())?;
    }
    match e.class() {
        ErrorClass::Rpc => {
            kwargs.set_item("rpc_code", e.rpc_code())?;
            kwargs.set_item("rpc_status", e.rpc_code().map(Code::rpc_name))?;
            kwargs.set_item("http_status", e.http_status())?;
        }
        ErrorClass::Token => {
            kwargs.set_item("expired", e.code() == Code::TokenExpired)?;
            kwargs.set_item("malformed", e.code() == Code::TokenMalformed)?;
        }
        ErrorClass::Network => {
            kwargs.set_item("timeout", e.code() == Code::Timeout)?;
        }
        _ => {}
    }
    extra(&kwargs)?;
    let instance = class.call((e.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

/// `.map_err(py_err)` for results of the Rust API.
pub(crate) fn py_err(e: Error) -> PyErr {
    Python::attach(|py| to_py_err(py, &e))
}
